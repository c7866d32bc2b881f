"""The overview (情况说明): section drafting from data, and the notebook through ``perflib run``.

Expected figures are worked out by hand from the small export of ``conftest.small_frames`` or
computed here with plain SQL, never taken from the library.
"""
from __future__ import annotations

import json
import re

import duckdb
import pytest
from conftest import small_frames, typed_frames, write_export

from perflib.analysis import overview as overview_facts
from perflib.present import formats
from perflib.present.text import overview
from perflib.cli import main
from perflib.rules import load_rules
from perflib.store import Store

SCRIPT_NAME = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    from perflib.ingest import ingest

    base = tmp_path_factory.mktemp("overview")
    f = small_frames()
    p = f["projects"]
    # P001 is key-monitored in 2023: its name is listed in section 六, so plant the script there
    p.loc[(p["project_id"] == "P001") & (p["year"] == 2023), "project_name"] = SCRIPT_NAME
    path = base / "perf.duckdb"
    ingest(write_export(base / "export", f), path)
    return path


@pytest.fixture(scope="module")
def store(db):
    with Store(db) as st:
        yield st


@pytest.fixture(scope="module")
def rules():
    return load_rules()


# --- wording helpers ------------------------------------------------------------------------------
def test_money_and_rate_wording_as_the_seed_writes_it():
    assert formats.yi(8_812_345_678) == "88"
    assert formats.yi(2_415_000_000, 2) == "24.15"
    assert formats.wan(9_369_470_000) == "936947"
    assert formats.money_words(8_800_000_000) == "88 亿元"
    assert formats.money_words(6_200_000) == "620 万元"
    # one headline rule for money (coverage and overview alike): whole 亿 from 10 亿, 2 decimals below
    assert formats.money_words(530_000_000) == "5.30 亿元"
    assert formats.money_change(24_240_000_000, 2_940_000_000) == "增加 213 亿元"
    assert formats.name_list(["甲", "乙"], limit=None, quote=("「", "」"), last="和") == "「甲」和「乙」"
    assert formats.plain_list(["甲", "乙", "丙"]) == "甲、乙和丙"
    assert formats.pct(float("nan"), missing="缺失") == "缺失"
    assert formats.pct(0.3147) == "31.47%"
    assert formats.pct(None) == "—"
    assert formats.name_list(["甲", "乙", "丙"]) == "“甲”、“乙” 和 “丙”"
    assert formats.name_list(["甲", "乙", "丙", "丁"]) == "“甲”、“乙”、“丙” 等"
    assert formats.change(0, " 3 个") == "持平"
    assert formats.change(-3, " 3 个") == "减少 3 个"


def test_district_name_only_when_the_data_shows_it():
    f = small_frames()
    with Store.from_frames(typed_frames(f)) as st:
        assert overview.district_name(st) == "本区"  # 区教体局 … carry no district name
    d = f["departments"]
    d["dept_name"] = ["历城区教体局", "历城区实验小学", "历城区科技局", "历城区财政局", "东风街道办事处"]
    with Store.from_frames(typed_frames(f)) as st:
        assert overview.district_name(st) == "历城区"
        assert overview.title(st, 2023) == "历城区 2023 年预算绩效管理工作开展情况说明"


# --- sections on the small export -----------------------------------------------------------------
def test_section_2_targets(store, rules, db):
    with duckdb.connect(str(db), read_only=True) as con:
        n = con.execute("SELECT count(DISTINCT project_id) FROM targets WHERE year=2023 AND project_id IS NOT NULL").fetchone()[0]
        prev = con.execute("SELECT count(DISTINCT project_id) FROM targets WHERE year=2022 AND project_id IS NOT NULL").fetchone()[0]
    assert (n, prev) == (2, 1)  # by hand: P001, P002 in 2023; P001 in 2022
    sec = overview.section_2(store, 2023, rules)
    # P001 1,200,000 + P002 800,000 (年初预算数) = 200 万元
    assert "2023 年全区编制部门预算绩效目标 2 个，比上年增加 1 个，涉及资金 200 万元。" in sec.text
    # level-1: 101, 102, 103, 201; only 101 has a department-level target
    assert "全区 4 家一级预算部门中，1 家编制了 2023 年部门整体绩效目标" in sec.text
    assert sec.facts["targets.projects"] == 2 and sec.facts["departments.with_targets"] == 1


def test_section_3_self_evaluation(store, rules):
    sec = overview.section_3(store, 2023, rules)
    # fiscal 2022: P001 (1,000,000) and P002 (adjusted 450,000) self-evaluated = 145 万元; 2021: none
    assert "今年对 2022 年度" in sec.text
    # fiscal 2021 is not in the small store (no projects, no self-evaluations): no comparison stated
    assert "涉及项目支出 2 个，绩效自评资金 145 万元（2021 年度的绩效自评不在数据中，无法与上年比较）。" in sec.text
    assert "比上年" not in sec.text
    assert {k: sec.facts[k] for k in ("selfeval.projects", "selfeval.amount", "selfeval.projects_prev",
                                      "selfeval.amount_prev")} == {
        "selfeval.projects": 2, "selfeval.amount": 1_450_000.0,
        "selfeval.projects_prev": 0, "selfeval.amount_prev": 0.0}
    # Recomputed by hand (财预〔2020〕10号 defaults): P001 FY2022 spent 950,000 of 1,000,000 → 9.5;
    # its only indicator (产出, ≥ 2, actual 2) is met and takes 产出 50 + the missing 效益 30 = 80;
    # 满意度 from the 满意度 column 92 → 9.2; total 98.7 (优), reported 91 (not inflated).
    # P002 has no FY2022 targets, so it is not recomputed.
    assert sec.facts["selfeval.recomputed"] == 1
    assert sec.facts["selfeval.mean_score"] == pytest.approx(98.7)
    assert sec.facts["selfeval.grades"] == {"优": 1, "良": 0, "中": 0, "差": 0}
    assert sec.facts["selfeval.inflated"] == 0
    assert "复核平均得分98.70分" in sec.text


def test_section_6_monitoring(store, rules, db):
    with duckdb.connect(str(db), read_only=True) as con:
        budget, n = con.execute(
            "SELECT sum(coalesce(adjusted_amount, budget_amount)), count(*) FROM projects "
            "WHERE year=2023 AND NOT is_classified").fetchone()
        spent = con.execute(
            "SELECT sum(pa.amount) FROM payments pa JOIN projects p USING (project_id, year) "
            "WHERE pa.year=2023 AND NOT p.is_classified AND pa.pay_date <= DATE '2023-07-31'").fetchone()[0]
    sec = overview.section_6(store, 2023, rules)
    assert n == 3 and float(budget) == pytest.approx(2_350_000.75) and float(spent) == pytest.approx(720_000.50)
    assert ("2023 年区级项目支出绩效跟踪监控工作，涉及项目支出 3 个，资金规模为 235 万元，"
            "1-7 月底实现支出 72 万元，执行率为 30.64%。") in sec.text
    assert sec.facts["monitoring.execution_rate"] == pytest.approx(float(spent) / float(budget))
    # P001 is the one key-monitored project: 1,300,000.50 = 130 万元
    assert "1 个项目开展财政重点绩效监控工作，涉及项目资金 130 万元" in sec.text
    assert [t.title for t in sec.tables] == ["重点监控项目"]


def test_every_section_has_a_heading_text_and_plain_facts(store, rules):
    secs = overview.draft(store, 2023, rules)
    assert [s.heading[0] for s in secs] == list("二三四五六七")
    for s in secs:
        assert s.text.strip()
        json.dumps(s.facts)  # JSON-ready values only
    facts = overview_facts.overview_facts(store, 2023, rules)
    assert {"targets.projects", "selfeval.projects", "monitoring.spent"} <= set(facts)
    drafted = {}
    for s in secs:
        drafted.update(s.facts)
    assert facts == drafted  # the analysis gathers exactly the facts the sentences state


# --- the notebook through perflib run --------------------------------------------------------------
@pytest.fixture(scope="module")
def rendered(db, tmp_path_factory):
    out = tmp_path_factory.mktemp("overview-out") / "reports"
    code = main(["run", "overview", "--db", str(db), "--out", str(out), "--no-progress"])
    return code, out


@pytest.mark.slow
def test_overview_run_facts_match_independent_sql(rendered, db):
    code, out = rendered
    assert code == 0
    doc = json.loads((out / "2023" / "overview.facts.json").read_text("utf-8"))
    assert doc["notebook"] == "overview" and doc["parameters"] == {"year": 2023}
    f = doc["facts"]
    with duckdb.connect(str(db), read_only=True) as con:
        q = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        assert f["targets.projects"] == q(
            "SELECT count(DISTINCT project_id) FROM targets WHERE year=2023 AND project_id IS NOT NULL")
        assert f["targets.amount"] == pytest.approx(float(q(
            "SELECT sum(budget_amount) FROM projects WHERE year=2023 AND project_id IN "
            "(SELECT project_id FROM targets WHERE year=2023 AND project_id IS NOT NULL)")))
        assert f["departments.level1"] == q("SELECT count(*) FROM departments WHERE parent_code IS NULL")
        assert f["selfeval.projects"] == q("SELECT count(*) FROM self_evaluations WHERE year=2022")
        assert f["monitoring.projects"] == q("SELECT count(*) FROM projects WHERE year=2023 AND NOT is_classified")
        assert f["monitoring.spent"] == pytest.approx(float(q(
            "SELECT sum(pa.amount) FROM payments pa JOIN projects p USING (project_id, year) "
            "WHERE pa.year=2023 AND NOT p.is_classified AND pa.pay_date <= DATE '2023-07-31'")))
        assert f["monitoring.key_projects"] == q(
            "SELECT count(DISTINCT project_id) FROM monitoring WHERE year=2023 AND key_monitored")


@pytest.mark.slow
def test_overview_html_offline_without_code_and_escaped(rendered):
    _, out = rendered
    html = (out / "2023" / "overview.html").read_text("utf-8")
    low = html.lower()
    assert '<script src="http' not in low and '<link href="http' not in low and 'src="http' not in low
    assert not re.search(r"""(src|href)\s*=\s*["']?//""", low)
    assert "open_report" not in html and "overview.section_" not in html  # no code cell
    assert SCRIPT_NAME not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "本区 2023 年预算绩效管理工作开展情况说明" in html
    for heading in ("二、绩效目标全覆盖", "三、绩效自评全覆盖", "六、开展 2023 年项目支出绩效运行监控工作"):
        assert heading in html
    assert "数据截至" in html and "2023-07-31" in html
    assert len(html.encode("utf-8")) < 2_000_000


# --- the demo store: the seed's figures ------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(demo_db, tmp_path_factory):
    db = demo_db  # conftest: the seed-0 demo export ingested once per session (read-only)
    out = tmp_path_factory.mktemp("overview-demo") / "reports"
    code = main(["run", "overview", "--db", str(db), "--out", str(out), "--no-progress"])
    doc = json.loads((out / "2023" / "overview.facts.json").read_text("utf-8"))
    html = (out / "2023" / "overview.html").read_text("utf-8")
    return {"db": db, "code": code, "facts": doc["facts"], "html": html, "out": out}


def _demo_sql(db):
    """The seed figures computed here with plain SQL, independently of perflib's analysis code."""
    with duckdb.connect(str(db), read_only=True) as con:
        q = lambda sql: con.execute(sql).fetchone()  # noqa: E731
        with_targets = ("SELECT DISTINCT project_id FROM targets WHERE year = {y} AND project_id IS NOT NULL")
        budget = "coalesce(adjusted_amount, budget_amount)"
        r = {}
        r["targets.projects"], r["targets.amount"] = q(
            f"SELECT count(*), sum(budget_amount) FROM projects WHERE year = 2023 "
            f"AND project_id IN ({with_targets.format(y=2023)})")
        r["targets.projects_prev"] = q(f"SELECT count(*) FROM projects WHERE year = 2022 "
                                       f"AND project_id IN ({with_targets.format(y=2022)})")[0]
        r["departments.level1"], r["departments.with_targets"] = q(
            "SELECT count(*), count(*) FILTER (WHERE dept_code IN (SELECT dept_code FROM targets "
            "WHERE year = 2023 AND project_id IS NULL)) FROM departments WHERE parent_code IS NULL")
        for key, y in (("selfeval", 2022), ("selfeval_prev", 2021)):
            n, amt = q(f"SELECT count(*), sum({budget}) FROM projects WHERE year = {y} AND project_id IN "
                       f"(SELECT project_id FROM self_evaluations WHERE year = {y})")
            r[f"{key}.projects"], r[f"{key}.amount"] = n, amt
        r["monitoring.projects"], r["monitoring.budget"] = q(
            f"SELECT count(*), sum({budget}) FROM projects WHERE year = 2023 AND NOT is_classified")
        r["monitoring.spent"] = q(
            "SELECT sum(pa.amount) FROM payments pa JOIN projects p USING (project_id, year) "
            "WHERE pa.year = 2023 AND NOT p.is_classified AND pa.pay_date <= DATE '2023-07-31'")[0]
        r["monitoring.key_projects"], r["monitoring.key_amount"] = q(
            f"SELECT count(*), sum({budget}) FROM projects WHERE year = 2023 AND project_id IN "
            "(SELECT project_id FROM monitoring WHERE year = 2023 AND key_monitored)")
        r["keyeval.projects"], r["keyeval.request"], r["keyeval.cut"] = q(
            "SELECT count(*), sum(next_request), sum(next_request - next_approved) FROM key_evaluations "
            "WHERE year = 2023")
        r["keyeval.amount"] = q(
            f"SELECT sum({budget}) FROM projects WHERE year = 2023 AND project_id IN "
            "(SELECT project_id FROM key_evaluations WHERE year = 2023)")[0]
    return {k: float(v) if v is not None and not isinstance(v, int) else v for k, v in r.items()}


@pytest.mark.slow
def test_demo_overview_facts_equal_independent_sql_and_the_seed(demo):
    assert demo["code"] == 0
    f, s = demo["facts"], _demo_sql(demo["db"])
    for key in ("targets.projects", "targets.projects_prev", "departments.level1",
                "departments.with_targets", "selfeval.projects", "monitoring.projects",
                "monitoring.key_projects", "keyeval.projects"):
        assert f[key] == s[key], key
    for key in ("targets.amount", "selfeval.amount", "monitoring.budget", "monitoring.spent",
                "monitoring.key_amount", "keyeval.amount", "keyeval.request", "keyeval.cut"):
        assert f[key] == pytest.approx(s[key], abs=0.01), key
    assert f["selfeval.projects_prev"] == s["selfeval_prev.projects"]
    assert f["selfeval.amount_prev"] == pytest.approx(s["selfeval_prev.amount"], abs=0.01)
    # the seed's figures (SPEC: what the demo data must reproduce)
    assert (f["targets.projects"], f["targets.projects_prev"]) == (511, 391)
    assert round(f["targets.amount"] / 1e8) == 88
    assert (f["departments.level1"], f["departments.with_targets"]) == (77, 77)
    assert (f["selfeval.projects"], round(f["selfeval.amount"] / 1e8)) == (2157, 242)
    assert (f["selfeval.projects_prev"], round(f["selfeval.amount_prev"] / 1e8)) == (315, 29)
    assert f["monitoring.projects"] == 609
    assert round(f["monitoring.budget"] / 1e4) == 936947 and round(f["monitoring.spent"] / 1e4) == 294875
    assert round(f["monitoring.execution_rate"] * 100, 2) == 31.47
    assert (f["monitoring.key_projects"], round(f["monitoring.key_amount"] / 1e4)) == (3, 620)
    assert f["keyeval.projects"] == 16 and round(f["keyeval.amount"] / 1e8, 2) == 24.15
    assert round(f["keyeval.cut"] / 1e8, 2) == 1.92 and round(f["keyeval.cut_rate"] * 100, 2) == 18.43
    assert f["cost.standards"] == 5 and round(f["cost.savings_total"] / 1e4) == 727


@pytest.mark.slow
def test_demo_overview_sentences_read_as_the_seed(demo):
    html = demo["html"]
    assert "2023 年全区编制部门预算绩效目标 511 个，比上年增加 120 个，涉及资金 88 亿元。" in html
    assert "将全区 77 家一级预算部门全部纳入部门整体绩效管理" in html
    assert "涉及项目支出 2157 个，绩效自评资金 242 亿元，比上年增加项目支出 1842 个" in html
    assert ("涉及项目支出 609 个，资金规模为 936947 万元，1-7 月底实现支出 294875 万元，执行率为 31.47%。"
            in html)
    assert "3 个项目开展财政重点绩效监控工作，涉及项目资金 620 万元" in html
    assert "东风街道" in html
    assert "待补充" not in html
    assert render_offline(html)
    assert len(html.encode("utf-8")) < 2_000_000


def render_offline(html: str) -> bool:
    from perflib.present.html import network_references

    low = html.lower()
    return (not network_references(html) and '<script src="http' not in low
            and '<link href="http' not in low and "open_report" not in html)
