"""绩效目标审核: each rule on hand-made frames (failing and passing), the conclusions, the department
summary against an independent pandas count, and the whole review on a hand-made store."""
from __future__ import annotations

import pandas as pd
import pytest
import yaml

from perflib.analysis import target_review as tr
from perflib.exceptions import RulesError
from perflib.rules import load_rules
from perflib.store import Store


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def _rules(tmp_path, **values):
    p = tmp_path / "rules.yaml"
    p.write_text(yaml.safe_dump({"target_review": values}, allow_unicode=True), encoding="utf-8")
    return load_rules(str(p))


def _t(pid, level1, indicator, direction, value, unit=None, level2=None, dept="100", year=2023):
    return dict(project_id=pid, dept_code=dept, year=year, level1=level1, level2=level2, indicator=indicator,
                direction=direction, target_value=value, unit=unit, weight=None)


def _p(pid, amount, *, out=True, eff=True, level1="100", ptype=None):
    return dict(project_id=pid, budget_amount=amount, has_output=out, has_effect=eff, level1_code=level1,
                project_type=ptype)


def _ids(issues, rule=None):
    if rule is not None:
        issues = issues[issues["rule"] == rule]
    return sorted(issues["project_id"])


# --- levels ---------------------------------------------------------------------------------------
def test_levels_output_effect_satisfaction_and_cost(rules):
    projects = pd.DataFrame([_p("A", 6_000_000.0), _p("B", 1_000_000.0, out=False),
                             _p("C", 4_999_999.99, eff=False), _p("D", 5_000_000.0)])
    targets = pd.DataFrame([
        _t("A", "满意度指标", "满意度", "≥", "90", "%"), _t("A", "成本指标", "成本控制", "≤", "100", "%"),
        _t("B", "满意度指标", "满意度", "≥", "90", "%"),
        _t("D", "成本指标", "成本控制", "≤", "100", "%")])
    issues = tr.check_levels(projects, targets, rules)
    assert _ids(issues, "no_output") == ["B"]
    assert _ids(issues, "no_effect") == ["C"]
    assert _ids(issues, "no_satisfaction") == ["C", "D"]  # threshold 0: every project
    assert _ids(issues, "no_cost") == []  # C is 1 分 below 5,000,000; A and D have one
    projects.loc[3, "project_id"] = "E"  # 5,000,000 exactly, no cost indicator → required (≥)
    assert _ids(tr.check_levels(projects, targets, rules), "no_cost") == ["E"]


def test_satisfaction_threshold_from_the_rules(tmp_path):
    r = _rules(tmp_path, satisfaction_min_amount=2_000_000)
    projects = pd.DataFrame([_p("A", 1_999_999.0), _p("B", 2_000_000.0)])
    issues = tr.check_levels(projects, pd.DataFrame([_t("X", "产出指标", "x", "≥", "1", "个")]), r)
    assert _ids(issues, "no_satisfaction") == ["B"]
    assert "2,000,000.00 元的项目须设置" in issues.loc[issues["rule"] == "no_satisfaction", "reason"].iloc[0]


# --- measurable and qualitative text ----------------------------------------------------------------
def test_measurable_quantitative_needs_value_unit_direction():
    targets = pd.DataFrame([
        _t("OK", "产出指标", "人次", "≥", "1,000", "人次"), _t("OK", "效益指标", "提升", "定性", "明显"),
        _t("U", "产出指标", "完成率", "=", "100", None), _t("V", "产出指标", "数量", "≥", "若干", "个"),
        _t("D", "产出指标", "质量", None, "95", "%"), _t("W", "产出指标", "数量", "≤", "", " ")])
    issues = tr.check_measurable(targets)
    assert _ids(issues) == ["D", "U", "V", "W"]
    reason = dict(zip(issues["project_id"], issues["reason"]))
    assert reason["U"] == "「完成率」未填计量单位"
    assert reason["V"] == "「数量」指标值不是数值"
    assert reason["D"] == "「质量」未填指标方向"
    assert reason["W"] == "「数量」指标值不是数值，未填计量单位"


def test_qualitative_without_text_matches_the_ingest_finding():
    targets = pd.DataFrame([
        _t("A", "效益指标", "机制", "定性", "健全"), _t("B", "效益指标", "机制", "定性", None),
        _t("B", "效益指标", "能力", "定性", "  "), _t("C", "产出指标", "数量", "≥", None, "个")])
    issues = tr.check_qualitative_text(targets)
    assert _ids(issues) == ["B"]  # C is quantitative: unmeasurable, not this rule
    assert issues["reason"].iloc[0] == "「机制」未填目标内容、「能力」未填目标内容"
    # the same rows as finding qualitative_target_missing: direction 定性 and an empty 指标值
    blank = targets["target_value"].isna() | (targets["target_value"].astype(str).str.strip() == "")
    assert sorted(set(targets.loc[(targets["direction"] == "定性") & blank, "project_id"])) == _ids(issues)


# --- below last year's actual ------------------------------------------------------------------------
def test_below_actual_for_continuing_projects_only():
    targets = pd.DataFrame([
        _t("A", "产出指标", "人次", "≥", "90", "人次"),      # actual 92.6 → below
        _t("A", "产出指标", "场次", "≥", "10", "场"),        # actual 10 → equal: passes
        _t("A", "效益指标", "投诉率", "≤", "5", "%"),        # actual 3 → above: flagged
        _t("A", "效益指标", "能耗", "≤", "2", "%"),          # actual 3 → passes
        _t("A", "产出指标", "完成率", "=", "100", "%"),      # = is not judged
        _t("N", "产出指标", "人次", "≥", "1", "人次"),       # new project
        _t("A", "效益指标", "提升", "定性", "明显")])
    actuals = pd.DataFrame({"project_id": ["A", "A", "A", "A", "A", "N", "A"],
                            "indicator": ["人次", "场次", "投诉率", "能耗", "完成率", "人次", "提升"],
                            "actual_value": ["92.6", "10", "3", "3", "90", "50", "优"]})
    issues = tr.check_below_actual(targets, actuals, {"A"})
    assert _ids(issues) == ["A"]
    assert issues["reason"].iloc[0] == ("「人次」目标值 90 低于上年实际完成值 92.6、"
                                        "「投诉率」目标值 5 高于上年实际完成值 3")
    assert tr.check_below_actual(targets, actuals, set()).empty


# --- quantity × standard -------------------------------------------------------------------------------
def test_budget_against_quantity_times_standard():
    projects = pd.DataFrame([_p("HI", 1_200.0, ptype="保洁"), _p("EQ", 1_100.0, ptype="保洁"),
                             _p("UNIT", 5_000.0, ptype="保洁"), _p("NOSTD", 9_999.0, ptype="其他")])
    q = dict(level2="数量指标")
    targets = pd.DataFrame([
        _t("HI", "产出指标", "面积", "≥", "6", "万平方米", **q), _t("HI", "产出指标", "面积2", "≥", "4", "万平方米", **q),
        _t("EQ", "产出指标", "面积", "≥", "10", "万平方米", **q),
        _t("UNIT", "产出指标", "次数", "≥", "10", "次", **q),          # other unit: not comparable
        _t("NOSTD", "产出指标", "面积", "≥", "1", "万平方米", **q)])
    standards = pd.DataFrame({"project_type": ["保洁"], "unit": ["万平方米"], "standard": [100.0]})
    issues = tr.check_over_standard(projects, targets, standards, 0.1)
    assert _ids(issues) == ["HI"]  # 1,200 > 10 × 100 × 1.1; EQ at exactly 110 % passes
    assert "1,200.00 元" in issues["reason"].iloc[0] and "= 1,000.00 元" in issues["reason"].iloc[0]
    assert _ids(tr.check_over_standard(projects, targets, standards, 0.25)) == []


# --- boilerplate -----------------------------------------------------------------------------------
def test_boilerplate_needs_more_than_n_projects_in_two_departments(tmp_path):
    r = _rules(tmp_path, boilerplate_min_projects=2)
    projects = pd.DataFrame([_p(p, 1.0, level1=d) for p, d in
                             (("A", "100"), ("B", "100"), ("C", "200"), ("D", "300"), ("E", "300"))])
    same = ("产出指标", "资金拨付及时率", "≥", "95", "%")
    targets = pd.DataFrame(
        [_t(p, *same) for p in "ABC"]                                   # 3 projects, 2 departments → flagged
        + [_t(p, "效益指标", "政策知晓率", "≥", "90", "%") for p in "DE"]   # 2 projects: not more than 2
        + [_t("D", "效益指标", "政策知晓率", "≥", "80", "%")]               # other value
        + [_t(p, "满意度指标", "满意度", "≥", "90", "%") for p in "ABCDE"])  # satisfaction not checked
    issues = tr.check_boilerplate(targets, projects, r)
    assert _ids(issues) == ["A", "B", "C"]
    assert issues["reason"].iloc[0] == "「资金拨付及时率 ≥ 95%」与 3 个项目（2 个一级部门）相同"
    one_dept = projects.assign(level1_code="100")
    assert tr.check_boilerplate(targets, one_dept, r).empty


# --- conclusions and summaries ---------------------------------------------------------------------
def test_conclusions_follow_fail_rules(rules, tmp_path):
    projects = pd.DataFrame([_p("A", 1.0), _p("B", 2.0), _p("C", 3.0)])
    issues = pd.DataFrame({"project_id": ["B", "B", "C"], "rule": ["no_output", "boilerplate", "no_cost"],
                           "reason": ["缺少产出指标", "「x」与 3 个项目相同", "缺少成本指标"]})
    out = tr.conclusions(projects, issues, rules).set_index("project_id")
    assert out["conclusion"].to_dict() == {"A": "通过", "B": "不通过", "C": "修改后通过"}
    assert out.at["B", "reasons"] == "缺少产出指标；套用模板指标：「x」与 3 个项目相同"
    assert out.at["A", "reasons"] == "" and out.at["B", "n_issues"] == 2
    stricter = _rules(tmp_path, fail_rules=["no_output", "no_cost"])
    assert tr.conclusions(projects, issues, stricter).set_index("project_id").at["C", "conclusion"] == "不通过"
    with pytest.raises(RulesError, match="不是审核规则"):
        tr.conclusions(projects, issues, _rules(tmp_path, fail_rules=["no_such_rule"]))


def _store():
    departments = pd.DataFrame({"dept_code": ["100", "101", "200", "300"],
                                "dept_name": ["区教体局", "区实验小学", "区科技局", "区卫健局"],
                                "parent_code": [None, "100", None, None], "sector": [None] * 4,
                                "is_street": [False] * 4})

    def proj(pid, year, dept, amount, classified=False):
        return dict(project_id=pid, year=year, dept_code=dept, project_name=f"项目{pid}", project_type=None,
                    budget_kind="一般公共预算", fund_source="本级", budget_amount=amount, adjusted_amount=None,
                    is_classified=classified, is_special=False)

    projects = pd.DataFrame([proj("P1", 2023, "101", 6_000_000.0), proj("P2", 2023, "200", 1_000_000.0),
                             proj("P3", 2023, "300", 2_000_000.0), proj("S1", 2023, "100", 500_000.0, True),
                             proj("P4", 2023, "300", 300.0),  # no targets: not reviewed
                             proj("P1", 2022, "101", 5_000_000.0), proj("P3", 2022, "300", 2_000_000.0)])
    sat = ("满意度指标", "满意度", "≥", "90", "%")
    targets = pd.DataFrame([
        _t("P1", "产出指标", "培训人次", "≥", "10", "人次", dept="101"), _t("P1", "效益指标", "提升", "定性", "明显", dept="101"),
        _t("P1", "成本指标", "成本控制", "≤", "100", "%", dept="101"), _t("P1", *sat, dept="101"),
        _t("P2", "效益指标", "知晓率", "≥", "90", "%", dept="200"), _t("P2", *sat, dept="200"),
        _t("P3", "产出指标", "场次", "≥", "十个", "场", dept="300"), _t("P3", "效益指标", "投诉率", "≤", "5", "%", dept="300"),
        _t("S1", "产出指标", "保障次数", "≥", "3", "次"), _t("S1", "效益指标", "保障", "定性", "有力"), _t("S1", *sat),
    ])
    actuals = pd.DataFrame({"project_id": ["P1", "P3"], "year": [2022, 2022], "indicator": ["培训人次", "投诉率"],
                            "actual_value": ["8", "3"]})
    return Store.from_frames(dict(departments=departments, projects=projects, targets=targets,
                                  self_eval_indicators=actuals))


def test_review_on_a_hand_made_store(rules):
    store = _store()
    result = tr.review(store, 2023, rules)
    got = result.projects.set_index("project_id")["conclusion"].to_dict()
    surrogate = store.classified["S1"]
    assert got == {"P1": "通过", "P2": "不通过", "P3": "修改后通过", surrogate: "通过"}
    assert "S1" not in set(result.issues["project_id"]) | set(result.projects["project_id"])
    p3 = result.projects.set_index("project_id").at["P3", "reasons"]
    assert p3 == ("缺少满意度指标；定量指标不可衡量：「场次」指标值不是数值；"
                  "目标低于上年实际：「投诉率」目标值 5 高于上年实际完成值 3")
    assert tr.review_facts(result) == {"targets_review.projects": 4, "targets_review.passed": 2,
                                       "targets_review.revise": 1, "targets_review.failed": 1}
    one = tr.review(store, 2023, rules, dept="300")
    assert tr.review_facts(one)["targets_review.projects"] == 1
    summary = tr.department_summary(result.projects).set_index("level1_name")
    assert summary.loc["区教体局", ["projects", "passed", "amount", "passed_amount"]].tolist() == [2, 2, 6_500_000.0, 6_500_000.0]
    assert summary.loc["区科技局", ["failed", "failed_amount"]].tolist() == [1, 1_000_000.0]
    sheets = tr.comments(result.projects)
    assert list(sheets) == ["区教体局", "区科技局", "区卫健局"]
    assert sheets["区教体局"]["project_name"].tolist().count("项目S1") == 0


def test_department_summary_equals_an_independent_count(demo_db, rules):
    result = tr.review(Store(demo_db), 2023, rules)
    p = result.projects
    summary = tr.department_summary(p).set_index("level1_code").sort_index()
    counts = pd.crosstab(p["level1_code"], p["conclusion"]).reindex(columns=list(tr.CONCLUSIONS), fill_value=0)
    money = p.pivot_table(index="level1_code", columns="conclusion", values="budget_amount", aggfunc="sum",
                          fill_value=0.0).reindex(columns=list(tr.CONCLUSIONS), fill_value=0.0)
    for key, c in zip(("passed", "revise", "failed"), tr.CONCLUSIONS):
        assert summary[key].tolist() == counts.loc[summary.index, c].tolist()
        assert summary[f"{key}_amount"].tolist() == pytest.approx(money.loc[summary.index, c].tolist(), abs=0.005)
    assert summary["projects"].sum() == len(p) == tr.review_facts(result)["targets_review.projects"]
    facts = tr.review_facts(result)
    assert facts["targets_review.passed"] + facts["targets_review.revise"] + facts["targets_review.failed"] == len(p)
