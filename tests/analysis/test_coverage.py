"""Coverage of 绩效目标 / 部门整体目标 / 绩效自评 on a small hand-made store (answers worked out by hand)."""
from __future__ import annotations

import pandas as pd
import pytest

from perflib.analysis import coverage as cov
from perflib.present import formats
from perflib.present.text import coverage as cov_text
from perflib.exceptions import ParameterError
from perflib.rules import load_rules
from perflib.store import Store


def _project(pid, year, dept, amount, *, adjusted=None, kind="一般公共预算", source="本级",
             classified=False, special=False, name=None):
    return dict(project_id=pid, year=year, dept_code=dept, project_name=name or f"项目{pid}",
                project_type=None, budget_kind=kind, fund_source=source, budget_amount=amount,
                adjusted_amount=adjusted, is_classified=classified, is_special=special)


def _target(pid, dept, year, level1, indicator, direction, value, unit=None):
    return dict(project_id=pid, dept_code=dept, year=year, level1=level1, level2=None,
                indicator=indicator, direction=direction, target_value=value, unit=unit, weight=None)


def frames():
    departments = pd.DataFrame({
        "dept_code": ["100", "101", "200", "300"],
        "dept_name": ["区教体局", "区实验小学", "区科技局", "东风街道办事处"],
        "parent_code": [None, "100", None, None],
        "sector": [None] * 4,
        "is_street": [False, False, False, True],
    })
    projects = pd.DataFrame([
        # 2023
        _project("A1", 2023, "101", 1000.0, adjusted=1200.0),                   # eligible, targets
        _project("A2", 2023, "100", 2000.0, kind="政府性基金预算"),               # eligible, targets
        _project("A3", 2023, "200", 3000.0),                                    # eligible, NO targets
        _project("A4", 2023, "200", 500.0, source="上级转移支付"),                # not eligible, targets
        _project("A5", 2023, "200", 700.0, special=True),                       # not eligible
        _project("S1", 2023, "100", 400.0, classified=True, name="某专项保障经费"),  # classified
        # 2022
        _project("A1", 2022, "101", 1000.0, adjusted=1100.0),                   # targets, evaluated
        _project("B1", 2022, "200", 800.0),                                     # no targets, evaluated
        _project("C1", 2022, "101", 50.0),                                      # targets, NOT evaluated
        # 2021
        _project("D1", 2021, "200", 300.0),                                     # evaluated
    ])
    targets = pd.DataFrame([
        _target("A1", "101", 2023, "产出指标", "培训人次", "≥", "10", "人次"),
        _target("A1", "101", 2023, "效益指标", "群众满意度提升", "定性", "明显提升"),
        _target("A2", "100", 2023, "效益指标", "社会效益", "定性", "良好"),
        _target("A4", "200", 2023, "产出指标", "设备数量", "≥", "5", "台"),
        _target("A4", "200", 2023, "效益指标", "使用率", "≥", "90", "%"),
        _target("A1", "101", 2022, "产出指标", "培训人次", "≥", "10", "人次"),   # same as 2023
        _target("C1", "101", 2022, "产出指标", "场次", "≥", "3", "场"),
        # department-level targets 2023: 100 and 300 (level 1), 101 (sub-unit: does not count)
        _target(None, "100", 2023, "产出指标", "部门履职", "定性", "完成"),
        _target(None, "101", 2023, "产出指标", "学校履职", "定性", "完成"),
        _target(None, "300", 2023, "效益指标", "街道履职", "定性", "完成"),
        _target(None, "300", 2023, "产出指标", "街道产出", "≥", "1", "项"),
    ])
    self_evaluations = pd.DataFrame([
        dict(project_id="A1", year=2022, spent_amount=900.0, satisfaction=90.0, reported_score=88.0),
        dict(project_id="B1", year=2022, spent_amount=700.0, satisfaction=None, reported_score=80.0),
        dict(project_id="D1", year=2021, spent_amount=300.0, satisfaction=95.0, reported_score=92.0),
    ])
    return dict(departments=departments, projects=projects, targets=targets,
                self_evaluations=self_evaluations)


@pytest.fixture
def store():
    s = Store.from_frames(frames())
    yield s
    s.close()


FACT_NAMES = {
    "targets.projects", "targets.projects_prev", "targets.amount", "targets.coverage_count",
    "targets.coverage_amount", "departments.level1", "departments.with_targets",
    "selfeval.projects", "selfeval.amount", "selfeval.projects_prev", "selfeval.amount_prev",
    "targets.scope_sources",
}


def test_coverage_facts_district(store):
    f = cov.coverage_facts(store, 2023, load_rules())
    assert set(f) == FACT_NAMES
    assert f["targets.projects"] == 3                   # A1, A2, A4 (A4 counts though not eligible)
    assert f["targets.amount"] == 3500.0                # 年初预算数 1000 + 2000 + 500 (not adjusted)
    assert f["targets.projects_prev"] == 2              # A1, C1 in 2022
    assert f["targets.coverage_count"] == pytest.approx(2 / 3)      # A1, A2 of eligible A1, A2, A3
    assert f["targets.coverage_amount"] == pytest.approx(3000 / 6000)
    assert f["departments.level1"] == 3                 # 100, 200, 300
    assert f["departments.with_targets"] == 2           # 100, 300 (101 is a sub-unit)
    assert f["selfeval.projects"] == 2                  # FY2022: A1, B1
    assert f["selfeval.amount"] == 1900.0               # A1 adjusted 1100 + B1 800
    assert f["selfeval.projects_prev"] == 1             # FY2021: D1
    assert f["selfeval.amount_prev"] == 300.0


def test_coverage_facts_for_one_department_include_sub_units(store):
    f = cov.coverage_facts(store, 2023, load_rules(), dept="100")
    assert f["targets.projects"] == 2                   # A1 (sub-unit 101) and A2
    assert f["targets.amount"] == 3000.0
    assert f["targets.coverage_count"] == 1.0 and f["targets.coverage_amount"] == 1.0
    assert f["departments.level1"] == 1 and f["departments.with_targets"] == 1
    assert f["selfeval.projects"] == 1 and f["selfeval.amount"] == 1100.0
    assert f["selfeval.projects_prev"] == 0 and f["selfeval.amount_prev"] == 0.0
    # by name too
    assert cov.coverage_facts(store, 2023, load_rules(), dept="区教体局") == f


def test_department_with_nothing_eligible_has_no_coverage_rate(store):
    f = cov.coverage_facts(store, 2023, load_rules(), dept="300")
    assert f["targets.projects"] == 0
    assert f["targets.coverage_count"] is None and f["targets.coverage_amount"] is None
    assert f["departments.with_targets"] == 1


def test_unknown_or_sub_unit_dept_is_a_parameter_error(store):
    with pytest.raises(ParameterError, match="区教体局"):
        cov.coverage_facts(store, 2023, load_rules(), dept="101")
    with pytest.raises(ParameterError):
        cov.coverage_facts(store, 2023, load_rules(), dept="999")


def test_coverage_by_budget_kind_lists_all_four(store):
    t = cov.coverage_by_budget_kind(store, 2023).set_index("budget_kind")
    assert list(t.index[:4]) == ["一般公共预算", "政府性基金预算", "国有资本经营预算", "社会保险基金预算"]
    g = t.loc["一般公共预算"]
    # 一般: A1 (eligible, targets), A3 (eligible, none), A4 (targets, not eligible), A5, S1
    assert g["projects"] == 5 and g["with_targets"] == 2 and g["eligible"] == 2
    assert g["coverage_count"] == pytest.approx(0.5)
    assert g["coverage_amount"] == pytest.approx(1000 / 4000)
    assert t.loc["政府性基金预算", "coverage_count"] == 1.0
    assert t.loc["国有资本经营预算", "projects"] == 0
    assert pd.isna(t.loc["国有资本经营预算", "coverage_count"])


def test_coverage_by_department(store):
    t = cov.coverage_by_department(store, 2023).set_index("level1_code")
    assert t.loc["100", "eligible"] == 2 and t.loc["100", "coverage_count"] == 1.0
    assert t.loc["200", "eligible"] == 1 and t.loc["200", "coverage_count"] == 0.0
    assert t.index[0] == "200"                          # lowest coverage first


def test_year_over_year(store):
    t = cov.coverage_year_over_year(store, 2023).set_index("year")
    assert t.loc[2022, "with_targets"] == 2 and t.loc[2023, "with_targets"] == 3
    # 2022 eligible: A1, B1, C1; with targets A1, C1
    assert t.loc[2022, "coverage_count"] == pytest.approx(2 / 3)
    assert t.loc[2022, "coverage_amount"] == pytest.approx(1050 / 1850)


def test_breaks_list_each_reason(store):
    b = cov.coverage_breaks(store, 2023)
    got = {(r.kind, r.project_id or r.dept_name, r.reason) for r in b.itertuples()}
    assert got == {
        ("项目绩效目标", "A3", cov.REASON_NO_TARGET),
        ("部门整体绩效目标", "区科技局", cov.REASON_NO_DEPT_TARGET),
        ("绩效自评", "C1", cov.REASON_NO_SELFEVAL),
    }
    assert b.loc[b["project_id"] == "C1", "fiscal_year"].item() == 2022


def test_target_quality(store):
    frame = cov.project_targets(store, 2023)
    q = cov.target_quality(frame).set_index("project_id")
    assert set(q.index) == {"A1", "A2"}
    assert q.loc["A1", "problems"] == cov.QUALITY_REPEATED
    assert q.loc["A2", "problems"] == "；".join([cov.QUALITY_NO_OUTPUT, cov.QUALITY_NO_QUANT])
    by = cov.target_quality_by_department(cov.target_quality(frame), frame).set_index("level1_code")
    assert by.loc["100", "problem_projects"] == 2 and by.loc["100", cov.QUALITY_NO_OUTPUT] == 1
    assert "200" not in by.index                         # A4's targets are fine


def test_unmeasurable_indicators_are_a_target_quality_problem():
    """A 定性 indicator without target text (finding qualitative_target_missing; also a blank one)
    cannot be measured: counted per project, per department and for department-level targets."""
    fr = frames()
    t = fr["targets"]
    t.loc[(t["project_id"] == "A4") & (t["indicator"] == "使用率"), "target_value"] = None   # A4: fine before
    extra = pd.DataFrame([
        _target("A4", "200", 2023, "效益指标", "社会影响", "定性", "  "),        # blank text: not measurable
        _target("A2", "100", 2023, "效益指标", "群众认可", "定性", None),
        _target(None, "300", 2023, "效益指标", "街道形象", "定性", None),       # department-level
        _target(None, "100", 2023, "效益指标", "部门形象", "定性", None),
        _target(None, "100", 2023, "效益指标", "部门作风", "定性", ""),
        _target("A4", "200", 2022, "效益指标", "上年指标", "定性", None),        # another year: not counted
    ])
    fr["targets"] = pd.concat([t, extra], ignore_index=True)
    s = Store.from_frames(fr)
    frame = cov.project_targets(s, 2023)
    counts = frame.set_index("project_id")["n_unmeasurable"]
    assert counts["A4"] == 2 and counts["A2"] == 1 and counts["A1"] == 0 and counts["A3"] == 0
    q = cov.target_quality(frame).set_index("project_id")
    assert q.loc["A4", "problems"] == cov.QUALITY_UNMEASURABLE
    assert q.loc["A2", "problems"].endswith("；" + cov.QUALITY_UNMEASURABLE)
    assert cov.QUALITY_UNMEASURABLE not in q.loc["A1", "problems"]
    by = cov.target_quality_by_department(cov.target_quality(frame), frame).set_index("level1_code")
    assert by.loc["200", cov.QUALITY_UNMEASURABLE] == 1 and by.loc["200", "unmeasurable_indicators"] == 2
    assert by.loc["100", cov.QUALITY_UNMEASURABLE] == 1 and by.loc["100", "unmeasurable_indicators"] == 1
    dt = cov.department_targets(s, 2023).set_index("dept_code")
    assert dt.loc["100", "n_unmeasurable"] == 2 and dt.loc["300", "n_unmeasurable"] == 1
    assert dt.loc["200", "n_unmeasurable"] == 0
    text = cov_text.quality_text(cov.target_quality(frame), frame, cov.department_targets(s, 2023))
    assert f"{cov.QUALITY_UNMEASURABLE} 2 个" in text           # A2 and A4
    assert "项目绩效目标中共有 3 个指标未填指标值，无法衡量是否完成" in text
    assert "2 家部门的 3 个指标未填指标值" in text
    clean = cov_text.quality_text(cov.target_quality(cov.project_targets(Store.from_frames(frames()), 2023)),
                                  cov.project_targets(Store.from_frames(frames()), 2023),
                                  cov.department_targets(Store.from_frames(frames()), 2023))
    assert "未填指标值" not in clean


def test_changed_value_is_not_repeated(store):
    fr = frames()
    fr["targets"].loc[(fr["targets"]["project_id"] == "A1") & (fr["targets"]["year"] == 2022),
                      "target_value"] = "8"
    s = Store.from_frames(fr)
    q = cov.target_quality(cov.project_targets(s, 2023))
    assert "A1" not in set(q["project_id"])


def test_selfeval_by_budget_kind(store):
    t = cov.selfeval_by_budget_kind(store, 2023).set_index("budget_kind")
    assert t.loc["一般公共预算", "projects"] == 2 and t.loc["一般公共预算", "amount"] == 1900.0
    assert t.loc["一般公共预算", "projects_prev"] == 1
    assert t.loc["一般公共预算", "projects_change"] == 1
    assert t.loc["一般公共预算", "amount_change"] == 1600.0
    assert t["projects"].sum() == 2


def test_classified_projects_never_named(store):
    frame = cov.project_targets(store, 2023)
    assert "某专项保障经费" not in set(frame["project_name"])
    assert "S1" not in set(frame["project_id"])


def test_coverage_plots_draw_with_cjk_glyphs(store):
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from perflib.present.charts import base, coverage as plots

    by_dept = cov.coverage_by_department(store, 2023)
    figs = [plots.plot_coverage_by_department(by_dept),
            plots.plot_selfeval_by_budget_kind(cov.selfeval_by_budget_kind(store, 2023), 2022)]
    for fig in figs:
        assert isinstance(fig, Figure)
        assert base.check_glyphs(fig) == []
    # one bar per department with something eligible (100 and 200; 300 has nothing eligible)
    assert len(figs[0].axes[0].patches) == 2
    plt.close("all")


def test_texts_state_the_figures():
    f = {"targets.projects": 511, "targets.projects_prev": 391, "targets.amount": 8_803_000_000.0,
         "targets.coverage_count": 1.0, "targets.coverage_amount": None, "departments.level1": 77,
         "departments.with_targets": 77, "selfeval.projects": 2157, "selfeval.amount": 24_200_000_000.0,
         "selfeval.projects_prev": 315, "selfeval.amount_prev": 2_900_000_000.0}
    p1, p2, p3 = cov_text.coverage_text(f, 2023)
    assert "编制部门预算绩效目标 511 个，比上年增加 120 个，涉及资金 88 亿元" in p1
    assert "按金额为 —（无适用项目）" in p1
    assert "77 家一级预算部门全部编制了 2023 年部门整体绩效目标" in p2
    assert "涉及项目支出 2157 个，绩效自评资金 242 亿元" in p3
    assert "增加 1842 个" in p3 and "增加 213 亿元" in p3
    f.update({"departments.with_targets": 75, "targets.projects_prev": 600})
    _, p2, _ = cov_text.coverage_text(f, 2023)
    assert "77 家一级预算部门中 75 家" in p2 and "2 家尚未编制" in p2
    assert "比上年减少 89 个" in cov_text.coverage_text(f, 2023)[0]


def test_change_text_uses_the_amounts_as_written():
    # 242.4 亿 and 29.4 亿 are written 242 and 29: the sentence says +213, not +213.0 or +212
    assert formats.money_change(24_240_000_000, 2_940_000_000) == "增加 213 亿元"
    assert formats.money_change(5.0, 5.0) == "持平"
    assert formats.count_change(3, 5) == "减少 2"


# --- the notebook on the demo store (session fixture ``demo_db`` from conftest) ----------------
@pytest.mark.slow
def test_coverage_notebook_on_demo_reproduces_the_seed(demo_db, tmp_path):
    import json

    import duckdb

    from perflib.cli import main

    out = tmp_path / "reports"
    assert main(["run", "coverage", "--db", str(demo_db), "--out", str(out), "--no-progress"]) == 0
    payload = json.loads((out / "2023" / "coverage.facts.json").read_text(encoding="utf-8"))
    facts = payload["facts"]
    assert set(FACT_NAMES) <= set(facts)
    # the seed's figures
    assert facts["targets.projects"] == 511 and facts["targets.projects_prev"] == 391
    assert facts["targets.projects"] - facts["targets.projects_prev"] == 120
    assert round(facts["targets.amount"] / 1e8) == 88
    assert facts["departments.level1"] == 77 and facts["departments.with_targets"] == 77
    assert facts["selfeval.projects"] == 2157 and round(facts["selfeval.amount"] / 1e8) == 242
    assert facts["selfeval.projects_prev"] == 315 and round(facts["selfeval.amount_prev"] / 1e8) == 29
    # independent SQL on the demo DuckDB
    con = duckdb.connect(str(demo_db), read_only=True)
    q = lambda sql: con.execute(sql).fetchone()  # noqa: E731
    n, amount = q("""SELECT count(*), sum(budget_amount) FROM projects p WHERE year = 2023 AND EXISTS
                     (SELECT 1 FROM targets t WHERE t.year = 2023 AND t.project_id = p.project_id)""")
    assert facts["targets.projects"] == n and facts["targets.amount"] == pytest.approx(float(amount), abs=0.005)
    elig, covered = q("""SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM targets t
                         WHERE t.year = 2023 AND t.project_id = p.project_id)) FROM projects p
                         WHERE year = 2023 AND fund_source = '本级' AND NOT is_classified AND NOT is_special""")
    assert facts["targets.coverage_count"] == pytest.approx(covered / elig)
    se_n, se_amt = q("""SELECT count(*), sum(coalesce(p.adjusted_amount, p.budget_amount))
                        FROM self_evaluations s JOIN projects p USING (project_id, year) WHERE s.year = 2022""")
    assert facts["selfeval.projects"] == se_n
    assert facts["selfeval.amount"] == pytest.approx(float(se_amt), abs=0.005)
    l1, l1t = q("""SELECT count(*), count(*) FILTER (WHERE dept_code IN (SELECT dept_code FROM targets
                   WHERE year = 2023 AND project_id IS NULL)) FROM departments WHERE parent_code IS NULL""")
    assert (facts["departments.level1"], facts["departments.with_targets"]) == (l1, l1t)
    con.close()
    html = (out / "2023" / "coverage.html").read_text(encoding="utf-8")
    assert "比上年增加 120 个，涉及资金 88 亿元" in html
    assert "绩效自评资金 242 亿元" in html
    assert (out / "2023" / "coverage.xlsx").exists()


# --- recomputable projects without scoring ---------------------------------------------------------

def _scorer_recomputable(store, year, rules, dept=None) -> dict:
    from perflib.analysis import evaluation as ev

    p = ev.self_evaluation(store, year, rules, dept).projects
    return dict(zip(p["project_id"], p["recomputable"].astype(bool)))


def test_recomputable_projects_by_hand(tmp_path):
    """A1 has a 产出指标 target, E1 only a 成本指标 one (counted as the rules' level), F1 only a level
    that is not scored, B1 none; the classified S2 is recomputable under its alias."""
    import yaml

    f = frames()
    f["projects"] = pd.concat([f["projects"], pd.DataFrame([
        _project("E1", 2022, "200", 10.0), _project("F1", 2022, "200", 20.0),
        _project("S2", 2022, "100", 30.0, classified=True, name="某涉密经费")])], ignore_index=True)
    f["targets"] = pd.concat([f["targets"], pd.DataFrame([
        _target("E1", "200", 2022, "成本指标", "单价", "≤", "5", "元"),
        _target("F1", "200", 2022, "其他指标", "某指标", "≥", "1", "项"),
        _target("S2", "100", 2022, "效益指标", "某效益", "定性", "良好")])], ignore_index=True)
    f["self_evaluations"] = pd.concat([f["self_evaluations"], pd.DataFrame([
        dict(project_id=p, year=2022, spent_amount=5.0, satisfaction=None, reported_score=70.0)
        for p in ("E1", "F1", "S2")])], ignore_index=True)
    with Store.from_frames(f) as s:
        alias = s.classified["S2"]
        for rules in (load_rules(), None):
            if rules is None:
                p = tmp_path / "rules.yaml"
                p.write_text(yaml.safe_dump({"self_evaluation": {"cost_indicator_level": "效益指标"}},
                                            allow_unicode=True), "utf-8")
                rules = load_rules(p)
            got = cov.recomputable_projects(s, 2023, rules)
            assert dict(zip(got["project_id"], got["recomputable"])) == {
                "A1": True, "B1": False, "E1": True, "F1": False, alias: True}
            assert dict(zip(got["project_id"], got["recomputable"])) == _scorer_recomputable(s, 2023, rules)
        only = cov.recomputable_projects(s, 2023, load_rules(), dept="200")
        assert sorted(only["project_id"]) == ["B1", "E1", "F1"]


def test_recomputable_projects_equal_the_scorers_on_the_demos(demo_db, hostile_demo):
    """The coverage report's recomputable count is the evaluation report's: equal, project by
    project, to what scoring every indicator finds, district-wide and per department."""
    rules = load_rules()
    for db in (demo_db, hostile_demo["db"]):
        with Store(db) as s:
            year = s.latest_year()
            depts = list(s.departments().query("is_level1")["dept_code"][:3])
            for dept in [None] + depts:
                got = cov.recomputable_projects(s, year, rules, dept)
                mine = dict(zip(got["project_id"], got["recomputable"]))
                assert len(mine) == len(got)
                assert mine == _scorer_recomputable(s, year, rules, dept), (db, dept)
                if dept is None:
                    assert 0 < sum(mine.values()) < len(mine)  # both kinds are there


def test_project_and_selfeval_frames_are_made_once_per_store_and_handed_out_as_copies(demo_db, monkeypatch):
    """The coverage report asks for a year's project frame up to five times (facts, 分预算类型,
    与上年比较, 分部门, 历年, 质量, 未覆盖清单): made once per store, year, department and rules; a
    caller changing its copy changes nothing for the next."""
    from conftest import count_calls

    made = count_calls(monkeypatch, cov, "eligible_mask")  # once per project frame made
    rules = load_rules()
    with Store(demo_db) as s:
        queries = count_calls(monkeypatch, s, "sql")
        first = cov.project_targets(s, 2023, None, rules)
        expected = first.copy()
        first["eligible"] = False
        first.loc[:, "n_indicators"] = -1
        again = cov.project_targets(s, 2023, None, rules)
        pd.testing.assert_frame_equal(again, expected)
        assert len(made) == 1 and len(queries) == 1
        cov.coverage_facts(s, 2023, rules)
        cov.coverage_by_department(s, 2023, None, rules)
        assert len(made) == 2  # 2022 for the facts' previous year; 2023 not made again
        cov.project_targets(s, 2023, "区教体局", rules)
        cov.project_targets(s, 2023, None, load_rules())  # other rules: made anew
        assert len(made) == 4
        se = cov.selfeval_projects(s, 2022)
        n = len(queries)
        se["evaluated"] = False
        with Store(demo_db) as fresh:
            pd.testing.assert_frame_equal(cov.selfeval_projects(s, 2022), cov.selfeval_projects(fresh, 2022))
        assert len(queries) == n  # this store did not query again
        assert cov.selfeval_projects(s, 2022)["evaluated"].any()


def test_the_targets_trend_states_the_reports_coverage_under_the_rules_scope(demo_db, tmp_path):
    """With ``coverage.scope_fund_sources`` widened, the 历年 table's row of the year has the
    coverage the report's facts state (it used the default scope before)."""
    import yaml

    from perflib.analysis import trends

    default = load_rules()
    with Store(demo_db) as s:
        sources = sorted(set(s.projects(2023)["fund_source"].dropna()))
    assert len(sources) > 1
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"coverage": {"scope_fund_sources": sources}}, allow_unicode=True), "utf-8")
    wide = load_rules(path)
    assert tuple(wide.value("coverage.scope_fund_sources")) != tuple(default.value("coverage.scope_fund_sources"))
    with Store(demo_db) as s:
        for rules in (default, wide):
            facts = cov.coverage_facts(s, 2023, rules)
            row = trends.targets_by_year(s, 2023, None, rules).set_index("year").loc[2023]
            assert row["coverage_count"] == pytest.approx(facts["targets.coverage_count"], abs=1e-9)
            assert row["coverage_amount"] == pytest.approx(facts["targets.coverage_amount"], abs=1e-9)
        assert (cov.coverage_facts(s, 2023, wide)["targets.coverage_count"]
                != cov.coverage_facts(s, 2023, default)["targets.coverage_count"])
