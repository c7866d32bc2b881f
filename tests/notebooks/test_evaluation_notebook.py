"""The evaluation notebook through ``perflib run`` on the demo store: its facts equal the seed's
figures (16 projects, 24.15 亿元, cut 1.92 亿元, 18.43 %) and an independent recomputation of the
self-evaluation scores written in plain SQL on the demo DuckDB (not perflib.analysis.evaluation)."""
from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from perflib.cli import main

pytestmark = pytest.mark.slow  # end-to-end: outside the fast lane (`-m "not slow"`)


YEAR = 2023

# The scoring of 财预〔2020〕10号 as SPEC states it, written independently in SQL: execution 10,
# 产出 50 (成本指标 counted in 产出), 效益 30, 满意度 10 (from the 满意度 column when no 满意度
# indicator); a missing level's points go to the present ones of 产出/效益 pro rata (else to the
# present levels); points within a level by 分值 (equal split if any is missing); ≥ a/t, ≤ t/a,
# = min/max, 定性 优 1 良 0.8 中 0.6 差 0; missing actual 0; total rounded to 0.01.
SCORES_SQL = """
WITH se AS (
    SELECT s.project_id, s.year, s.spent_amount::DOUBLE AS spent, s.satisfaction, s.reported_score,
           coalesce(p.adjusted_amount, p.budget_amount)::DOUBLE AS budget
    FROM self_evaluations s JOIN projects p USING (project_id, year) WHERE s.year = ?),
ind AS (
    SELECT t.project_id, t.year,
           CASE WHEN t.level1 = '成本指标' THEN '产出指标' ELSE t.level1 END AS lvl,
           t.direction, t.weight, a.actual_value,
           TRY_CAST(replace(t.target_value, '%', '') AS DOUBLE) AS tv,
           TRY_CAST(replace(a.actual_value, '%', '') AS DOUBLE) AS av
    FROM targets t JOIN se USING (project_id, year)
    LEFT JOIN self_eval_indicators a USING (project_id, year, indicator)
    WHERE t.project_id IS NOT NULL),
ratio AS (
    SELECT *, CASE
        WHEN actual_value IS NULL OR trim(actual_value) = '' THEN 0
        WHEN direction = '定性' THEN CASE trim(actual_value) WHEN '优' THEN 1 WHEN '良' THEN 0.8
                                                            WHEN '中' THEN 0.6 ELSE 0 END
        WHEN av IS NULL OR tv IS NULL THEN 0
        WHEN direction = '≥' THEN CASE WHEN av >= tv THEN 1 WHEN tv > 0 THEN greatest(av / tv, 0) ELSE 0 END
        WHEN direction = '≤' THEN CASE WHEN av <= tv THEN 1 ELSE greatest(tv / av, 0) END
        WHEN direction = '=' THEN CASE WHEN av = tv THEN 1 WHEN av > 0 AND tv > 0
                                       THEN least(av, tv) / greatest(av, tv) ELSE 0 END
        ELSE 0 END AS r
    FROM ind),
lv AS (
    SELECT project_id, year, lvl, count(*) AS n, count(weight) AS nw, sum(weight) AS wsum
    FROM ratio GROUP BY ALL),
pres AS (
    SELECT se.project_id, se.year,
           bool_or(lv.lvl = '产出指标') AS po, bool_or(lv.lvl = '效益指标') AS pe,
           bool_or(lv.lvl = '满意度指标') AS ps_ind
    FROM se JOIN lv USING (project_id, year) GROUP BY ALL),
pts AS (
    SELECT pres.*, (NOT ps_ind AND se.satisfaction IS NOT NULL) AS s_col,
           (ps_ind OR se.satisfaction IS NOT NULL) AS ps
    FROM pres JOIN se USING (project_id, year)),
lp AS (
    SELECT *,
        50 * (1 - po::INT) + 30 * (1 - pe::INT) + 10 * (1 - ps::INT) AS missing,
        CASE WHEN po OR pe THEN 50 * po::INT + 30 * pe::INT ELSE 10 END AS recv
    FROM pts),
levelpts AS (
    SELECT project_id, year, s_col,
        CASE WHEN po THEN 50 + missing * 50.0 / recv ELSE 0 END AS p_o,
        CASE WHEN pe THEN 30 + missing * 30.0 / recv ELSE 0 END AS p_e,
        CASE WHEN ps THEN 10 + CASE WHEN po OR pe THEN 0 ELSE missing END ELSE 0 END AS p_s
    FROM lp),
earned AS (
    SELECT r.project_id, r.year,
        sum(r.r * CASE r.lvl WHEN '产出指标' THEN l.p_o WHEN '效益指标' THEN l.p_e ELSE l.p_s END
            * CASE WHEN lv.nw = lv.n AND lv.wsum > 0 THEN r.weight / lv.wsum ELSE 1.0 / lv.n END) AS pts
    FROM ratio r JOIN lv USING (project_id, year, lvl) JOIN levelpts l USING (project_id, year)
    GROUP BY ALL)
SELECT se.project_id, se.reported_score,
    round(CASE WHEN budget > 0 THEN least(spent / budget, 1) * 10 ELSE 0 END + e.pts
          + CASE WHEN l.s_col THEN least(greatest(se.satisfaction / 100, 0), 1) * l.p_s ELSE 0 END, 2) AS score
FROM se JOIN earned e USING (project_id, year) JOIN levelpts l USING (project_id, year)
"""


@pytest.fixture(scope="module")
def runs(demo_db, demo_reports, tmp_path_factory):
    """(exit of the whole-district report, exit of the 区卫健局 report, the folder of the first, the
    folder of the second). The whole-district report is conftest's demo suite's (``perflib run`` of
    every report on ``demo_db``, latest year 2023, exit 0 asserted there), rendered once per run."""
    out = tmp_path_factory.mktemp("evaluation_reports")
    rc_dept = main(["run", "evaluation", "--db", str(demo_db), "--out", str(out), "--year", str(YEAR),
                    "-p", "dept=区卫健局", "--no-progress"])
    return 0, rc_dept, demo_reports / str(YEAR), out / str(YEAR)


def _facts(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))["facts"]


def test_key_evaluation_facts_equal_the_seed(runs, demo_db):
    rc, _, out, _ = runs
    assert rc == 0
    facts = _facts(out / "evaluation.facts.json")
    con = duckdb.connect(str(demo_db), read_only=True)
    n, amount, request, cut = con.execute(
        "SELECT count(*), sum(coalesce(p.adjusted_amount, p.budget_amount)), sum(k.next_request), "
        "sum(k.next_request - k.next_approved) FROM key_evaluations k JOIN projects p USING (project_id, year) "
        "WHERE k.year = ?", [YEAR]).fetchone()
    con.close()
    assert facts["keyeval.projects"] == n == 16
    assert facts["keyeval.amount"] == pytest.approx(float(amount)) and round(float(amount) / 1e8, 2) == 24.15
    assert facts["keyeval.request"] == pytest.approx(float(request))
    assert facts["keyeval.cut"] == pytest.approx(float(cut)) and round(float(cut) / 1e8, 2) == 1.92
    assert facts["keyeval.cut_rate"] == pytest.approx(float(cut) / float(request))
    assert round(facts["keyeval.cut_rate"] * 100, 2) == 18.43


def test_self_evaluation_facts_equal_an_independent_sql_recomputation(runs, demo_db):
    _, _, out, _ = runs
    facts = _facts(out / "evaluation.facts.json")
    con = duckdb.connect(str(demo_db), read_only=True)
    df = con.execute(SCORES_SQL, [YEAR - 1]).df()
    con.close()
    assert len(df) > 0
    assert facts["selfeval.recomputed"] == len(df)
    assert facts["selfeval.mean_score"] == pytest.approx(df["score"].mean(), abs=0.006)
    grades = {"优": int((df["score"] >= 90).sum()), "良": int(((df["score"] >= 80) & (df["score"] < 90)).sum()),
              "中": int(((df["score"] >= 60) & (df["score"] < 80)).sum()), "差": int((df["score"] < 60).sum())}
    assert facts["selfeval.grades"] == grades
    assert facts["selfeval.inflated"] == int(((df["reported_score"] - df["score"]).round(6) > 5).sum())
    assert facts["selfeval.inflated"] > 0   # the demo plants inflated self-evaluations


def test_report_outputs_and_seed_wording(runs):
    _, _, out, _ = runs
    html = (out / "evaluation.html").read_text(encoding="utf-8")
    assert "涉及项目资金24.15亿元" in html
    assert "2024年相关项目预算审减（申请数减安排数）1.92亿元，审减率18.43%" in html
    assert "与2023年预算数（调整后预算数，无调整的按年初预算数）24.15亿元相比" in html
    assert "“唐冶（三甲）医院”" in html
    for heading in ("一、绩效自评复核", "二、需要关注的自评问题", "三、财政重点评价", "四、评价结果应用",
                    "五、信号冲突"):
        assert heading in html
    assert 'src="http' not in html and "Traceback" not in html
    assert (out / "evaluation.xlsx").exists()


def test_department_report(runs, demo_db):
    _, rc, _, out = runs
    assert rc == 0
    files = sorted(out.glob("evaluation-*.facts.json"))
    assert len(files) == 1
    facts = _facts(files[0])
    con = duckdb.connect(str(demo_db), read_only=True)
    n, cut = con.execute(
        "SELECT count(*), coalesce(sum(k.next_request - k.next_approved), 0) FROM key_evaluations k "
        "JOIN projects p USING (project_id, year) JOIN departments d USING (dept_code) "
        "LEFT JOIN departments d1 ON d1.dept_code = d.parent_code "
        "WHERE k.year = ? AND (d.dept_name = '区卫健局' OR d1.dept_name = '区卫健局')", [YEAR]).fetchone()
    con.close()
    assert facts["keyeval.projects"] == n > 0
    assert facts["keyeval.cut"] == pytest.approx(float(cut))


def test_budget_change_scope_and_signals_facts(runs, demo_db):
    _, _, out, _ = runs
    facts = _facts(out / "evaluation.facts.json")
    con = duckdb.connect(str(demo_db), read_only=True)
    approved, budget = con.execute(
        "SELECT sum(k.next_approved), sum(coalesce(p.adjusted_amount, p.budget_amount)) FROM key_evaluations k "
        "JOIN projects p USING (project_id, year) WHERE k.year = ?", [YEAR]).fetchone()
    evaluated, with_targets = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM targets t WHERE t.year = s.year "
        "AND t.project_id = s.project_id)) FROM self_evaluations s WHERE s.year = ?", [YEAR - 1]).fetchone()
    con.close()
    assert facts["keyeval.approved"] == pytest.approx(float(approved))
    assert facts["keyeval.budget_change"] == pytest.approx(float(approved) - float(budget))
    # the contradiction, side by side: 2,157 self-evaluated, 391 with targets, 391 recomputed
    assert evaluated == 2157 and facts["selfeval.with_targets"] == with_targets == 391
    assert facts["selfeval.recomputed"] == 391
    assert facts["signals.key_slow"] >= 2
    wb = pd.read_excel(out / "evaluation.xlsx", sheet_name="信号冲突", header=None).astype(str)
    text = " ".join(str(v) for v in wb.to_numpy().ravel())
    for name in ("农村人居环境整治提升", "夜间经济消费季活动"):   # 优 in 2023, red at 6.7–6.9 % by July
        assert name in text


# A third-party scheme scored 15/15/35/35 (决策满分 … 效益满分 in the data): the report renders and
# lists a finding only where a score exceeds its maximum (P002 决策 18 > 15).
def test_a_15_15_35_35_scheme_renders_with_findings_only_above_a_maximum(tmp_path):
    from conftest import small_frames, write_export
    from perflib.ingest import ingest

    f = small_frames()
    f["key_evaluations"] = pd.DataFrame([
        ("P001", 2023, "教育", 14, 15, 33, 34, D("1500000.00"), D("1200000.00"), "绩效目标不够细化", 15, 15, 35, 35),
        ("P002", 2023, "科技", 18, 12, 30, 30, D("900000.00"), D("900000.00"), "无", 15, 15, 35, 35),
        ("P003", 2023, "教育", 15, 15, 35, 35, D("300000.00"), D("250000.00"), "无", 15, 15, 35, 35),
    ], columns=["project_id", "year", "domain", "score_decision", "score_process", "score_output",
                "score_effect", "next_request", "next_approved", "findings", "max_decision", "max_process",
                "max_output", "max_effect"])
    db = tmp_path / "perf.duckdb"
    ingest(write_export(tmp_path / "export", f), db)
    out = tmp_path / "reports"
    assert main(["run", "evaluation", "--db", str(db), "--out", str(out), "--year", "2023", "--no-progress"]) == 0
    html = (out / "2023" / "evaluation.html").read_text(encoding="utf-8")
    assert "各项目决策、过程、产出、效益四个维度的满分按数据中各评价方案给出的分值计。" in html
    assert "有1个项目共1处维度得分超过该维度满分" in html
    sheet = pd.read_excel(out / "2023" / "evaluation.xlsx", sheet_name="得分超满分")
    assert sheet["项目编码"].astype(str).tolist() == ["P002"] and sheet["维度"].tolist() == ["决策"]
    assert sheet["得分"].tolist() == [18] and sheet["该维度满分"].tolist() == [15]
    key = pd.read_excel(out / "2023" / "evaluation.xlsx", sheet_name="重点评价").set_index("项目编码")
    # P001 14+15+33+34 = 96; P002 15 (18 counted at 15)+12+30+30 = 87; P003 100
    assert key["总分（百分制）"].to_dict() == {"P003": 100, "P001": 96, "P002": 87}


APPLICATION_KEY_SQL = """
SELECT count(*) AS projects, sum(p.budget_amount)::DOUBLE AS budget,
       sum(coalesce(n.budget, k.next_approved))::DOUBLE AS next_budget,
       count(*) FILTER (WHERE coalesce(n.budget, k.next_approved) < p.budget_amount) AS cut_projects
FROM key_evaluations k JOIN projects p ON p.project_id = k.project_id AND p.year = k.year
LEFT JOIN next_budgets n ON n.project_id = k.project_id AND n.year = k.year + 1
WHERE k.year = ?
"""

APPLICATION_COST_SQL = """
SELECT count(*) AS projects, sum(p.budget_amount)::DOUBLE AS budget, sum(n.budget)::DOUBLE AS next_budget,
       count(*) FILTER (WHERE n.budget < p.budget_amount) AS cut_projects
FROM projects p JOIN next_budgets n ON n.project_id = p.project_id AND n.year = p.year + 1
WHERE p.year = ? AND p.project_id IN ({ids})
"""


def test_application_section_against_sql(runs, demo_db):
    """结果应用 (issue 17): the key-evaluation stage's facts, and the cost stage's money for the
    projects the report lists, equal plain SQL on the demo; in every stage some flagged projects are
    cut next year and some are not, and some do not follow the rules' suggestion."""
    rc_all, _, out, _ = runs
    assert rc_all == 0
    facts = _facts(out / "evaluation.facts.json")
    html = (out / "evaluation.html").read_text(encoding="utf-8")
    assert "六、结果应用" in html and "各环节结果应用汇总" in html
    with duckdb.connect(str(demo_db), read_only=True) as con:
        k = con.execute(APPLICATION_KEY_SQL, [YEAR]).df().iloc[0]
        xlsx = pd.read_excel(out / "evaluation.xlsx", sheet_name="结果应用项目")
        above = xlsx[xlsx["环节"] == "成本分析"]["项目编码"].astype(str).tolist()
        ids = ", ".join(f"'{i}'" for i in above)
        c = con.execute(APPLICATION_COST_SQL.format(ids=ids), [YEAR]).df().iloc[0]
    assert facts["application.keyeval.projects"] == k["projects"] == 16
    assert facts["application.keyeval.budget"] == pytest.approx(k["budget"], abs=0.01)
    assert facts["application.keyeval.next_budget"] == pytest.approx(k["next_budget"], abs=0.01)
    assert facts["application.keyeval.change"] == pytest.approx(k["next_budget"] - k["budget"], abs=0.01)
    assert facts["application.keyeval.cut_projects"] == k["cut_projects"]
    assert facts["application.cost.projects"] == len(above) == c["projects"]
    assert facts["application.cost.next_budget"] == pytest.approx(c["next_budget"], abs=0.01)
    assert facts["application.cost.cut_projects"] == c["cut_projects"]
    for stage in ("selfeval", "monitoring", "keyeval", "cost"):
        n, cut = facts[f"application.{stage}.with_next"], facts[f"application.{stage}.cut_projects"]
        assert 0 < cut < n, (stage, n, cut)
        assert facts[f"application.{stage}.matched"] < facts[f"application.{stage}.projects"]


def test_application_section_without_next_budgets(demo_db, tmp_path):
    """No 下年预算 table: the evaluation report renders, the monitoring and cost stages have no
    next-year money and the section says which data it needs."""
    import shutil

    db = tmp_path / "old.duckdb"
    shutil.copy(demo_db, db)
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE next_budgets")
    out = tmp_path / "out"
    assert main(["run", "evaluation", "--db", str(db), "--out", str(out), "--year", str(YEAR),
                 "--no-progress"]) == 0
    facts = _facts(out / str(YEAR) / "evaluation.facts.json")
    assert facts["application.monitoring.projects"] > 0 and facts["application.monitoring.with_next"] == 0
    assert facts["application.monitoring.change"] is None and facts["application.cost.change"] is None
    html = (out / str(YEAR) / "evaluation.html").read_text(encoding="utf-8")
    assert "需要「下年预算」表" in html and "六、结果应用" in html
