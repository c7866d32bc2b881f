"""Evaluation: the self-evaluation scoring engine, flags, grades, key evaluations and budget cuts.

Every expected number below is worked out by hand in the comments next to it (default rules:
execution 10, 产出 50, 效益 30, 满意度 10; grades 90/80/60; margin 5; over-achievement 1.2; full
marks 100 with execution < 0.6; key evaluation 20/20/30/30, cut 优 0 良 0 中 0.10 差 ≥ 0.30, tolerance 0.05).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from perflib.analysis import evaluation as ev
from perflib.present.text import evaluation as ev_text
from perflib.exceptions import RulesError
from perflib.rules import load_rules
from perflib.store import CLASSIFIED_NAME, Store


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def _rules_with(tmp_path, data):
    p = tmp_path / "rules.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_rules(p)


def _ind(rows):
    """rows: (level1, indicator, direction, target, weight, actual)."""
    return pd.DataFrame(rows, columns=["level1", "indicator", "direction", "target_value", "weight", "actual_value"])


# A complete project: every level present, all indicators met → 100 with full execution.
FULL = [
    ("产出指标", "数量", "≥", "100", 30, "100"),
    ("产出指标", "质量", "≥", "95", 20, "96"),
    ("效益指标", "效益", "定性", "显著", 30, "优"),
    ("满意度指标", "满意度", "≥", "90", 10, "92"),
]


# ------------------------------------------------------------------------------------------
# indicator kinds
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("direction, target, actual, ratio", [
    ("≥", "100", "100", 1.0),       # met exactly
    ("≥", "100", "150", 1.0),       # over-met: still full, never above
    ("≥", "100", "80", 0.8),        # 80/100
    ("≥", "95%", "76%", 0.8),       # percentages: 76/95
    ("≥", "１，２００", "600", 0.5),  # full-width digits and separators: 600/1200
    ("≥", "0", "-5", 0.0),          # target ≤ 0 not met → 0
    ("≤", "10", "10", 1.0),         # met exactly
    ("≤", "10", "0", 1.0),          # actual 0 → full
    ("≤", "10", "20", 0.5),         # 10/20
    ("≤", "10", "40", 0.25),        # 10/40
    ("=", "100", "100", 1.0),       # equal
    ("=", "100", "80", 0.8),        # min/max = 80/100
    ("=", "100", "125", 0.8),       # min/max = 100/125
    ("=", "100", "0", 0.0),         # not both positive → 0
    ("定性", "好", "优", 1.0),
    ("定性", "好", "良", 0.8),
    ("定性", "好", "中", 0.6),
    ("定性", "好", "差", 0.0),
    ("定性", "好", "优秀", 1.0),     # starts with a tier
    ("定性", "好", "良好", 0.8),
    ("定性", "好", "较差", 0.0),     # ends with a tier
])
def test_indicator_ratio_per_kind(rules, direction, target, actual, ratio):
    r = ev.indicator_ratios(pd.Series([direction]), [target], [actual], rules).iloc[0]
    assert r["ratio"] == pytest.approx(ratio)
    assert r["status"] == ""


@pytest.mark.parametrize("direction, target, actual, status", [
    ("≥", "100", None, ev.MISSING_ACTUAL),
    ("≥", "100", "", ev.MISSING_ACTUAL),
    ("定性", "好", None, ev.MISSING_ACTUAL),
    ("≥", "100", "约八十", ev.BAD_ACTUAL),
    ("≥", "较多", "80", ev.BAD_TARGET),
    ("定性", "好", "还行", ev.BAD_TIER),
])
def test_unusable_indicators_score_zero_with_a_reason(rules, direction, target, actual, status):
    r = ev.indicator_ratios(pd.Series([direction]), [target], [actual], rules).iloc[0]
    assert r["ratio"] == 0.0
    assert r["status"] == status


def test_overachievement_is_strictly_above_the_ratio(rules):
    r = ev.indicator_ratios(pd.Series(["≥", "≥", "≤", "≤", "≤", "=", "定性"]),
                            ["100", "100", "12", "12", "12", "100", "好"],
                            ["120", "121", "10", "9", "0", "200", "优"], rules)
    # 120/100 = 1.2 (not > 1.2); 121/100 = 1.21 flagged; ≤: 12/10 = 1.2 no, 12/9 = 1.33 yes;
    # ≤ with actual 0 not flagged; = and 定性 never.
    assert r["overachieved"].tolist() == [False, True, False, True, False, False, False]


# ------------------------------------------------------------------------------------------
# project scores and redistribution
# ------------------------------------------------------------------------------------------
def test_complete_project_all_met_scores_100(rules):
    s = ev.score_project(_ind(FULL), spent=100, budget=100, rules=rules)
    assert s["recomputed_score"] == 100.0
    assert s["grade"] == "优"


def test_hand_worked_project(rules):
    rows = [
        ("产出指标", "数量", "≥", "100", 30, "80"),    # 30 × 0.8 = 24
        ("产出指标", "成本", "≤", "10", 20, "20"),     # 20 × 10/20 = 10
        ("效益指标", "效益", "定性", "显著", 30, "良"),  # 30 × 0.8 = 24
        ("满意度指标", "满意度", "≥", "90%", 10, "95%"),  # 10
    ]
    s = ev.score_project(_ind(rows), spent=50, budget=100, rules=rules, reported_score=95)
    # execution 0.5 × 10 = 5 → 5 + 34 + 24 + 10 = 73
    assert s["execution_score"] == pytest.approx(5.0)
    assert s["output_score"] == pytest.approx(34.0)
    assert s["effect_score"] == pytest.approx(24.0)
    assert s["satisfaction_score"] == pytest.approx(10.0)
    assert s["recomputed_score"] == 73.0
    assert s["grade"] == "中"
    assert s["difference"] == 22.0 and s["inflated"]


def test_points_split_by_weight_and_equally_when_a_weight_is_missing(rules):
    # 产出 50 split 40:10 by 分值; the second indicator half met → 10 × 0.5 = 5 lost → 产出 45
    rows = [("产出指标", "a", "≥", "100", 40, "100"), ("产出指标", "b", "≥", "100", 10, "50"),
            ("效益指标", "c", "≥", "1", 30, "1"), ("满意度指标", "d", "≥", "1", 10, "1")]
    s = ev.score_project(_ind(rows), 100, 100, rules)
    assert s["output_score"] == pytest.approx(45.0)
    # one 分值 missing → the level's 50 split equally 25/25 → 25 + 12.5 = 37.5
    rows[0] = ("产出指标", "a", "≥", "100", None, "100")
    s = ev.score_project(_ind(rows), 100, 100, rules)
    assert s["output_score"] == pytest.approx(37.5)


def test_cost_indicators_count_as_output(rules):
    rows = [("产出指标", "a", "≥", "100", 25, "100"), ("成本指标", "成本", "≤", "10", 25, "20"),
            ("效益指标", "c", "≥", "1", 30, "1"), ("满意度指标", "d", "≥", "1", 10, "1")]
    s = ev.score_project(_ind(rows), 100, 100, rules)
    # 产出 50 = 25 + 25 × 10/20 = 37.5
    assert s["output_score"] == pytest.approx(37.5)
    assert s["recomputed_score"] == pytest.approx(10 + 37.5 + 30 + 10)


def test_missing_satisfaction_moves_pro_rata_to_output_and_effect(rules):
    rows = [("产出指标", "a", "≥", "100", 50, "50"), ("效益指标", "c", "≥", "1", 30, "1")]
    s = ev.score_project(_ind(rows), 100, 100, rules)
    # 10 points → 产出 50/80 × 10 = 6.25, 效益 3.75: 产出 56.25 × 0.5 = 28.125, 效益 33.75
    assert s["output_score_max"] == pytest.approx(56.25)
    assert s["effect_score_max"] == pytest.approx(33.75)
    assert s["satisfaction_score"] == 0
    assert s["satisfaction_source"] == "缺失（分值已再分配）"
    assert s["recomputed_score"] == pytest.approx(round(10 + 28.125 + 33.75, 2))


def test_satisfaction_level_from_the_self_evaluation_column(rules, tmp_path):
    rows = [("产出指标", "a", "≥", "100", 50, "100"), ("效益指标", "c", "≥", "1", 30, "1")]
    s = ev.score_project(_ind(rows), 100, 100, rules, satisfaction=80)
    # 满意度 80/100 × 10 = 8; 产出/效益 keep 50/30
    assert s["satisfaction_score"] == pytest.approx(8.0)
    assert s["output_score_max"] == pytest.approx(50.0)
    assert s["satisfaction_source"] == "自评表满意度"
    assert s["recomputed_score"] == pytest.approx(98.0)
    # switched off by the rules: redistributed instead → 10 + 56.25 + 33.75 = 100
    off = _rules_with(tmp_path, {"self_evaluation": {"satisfaction_from_column": False}})
    s = ev.score_project(_ind(rows), 100, 100, off, satisfaction=80)
    assert s["recomputed_score"] == pytest.approx(100.0)
    assert s["satisfaction_score"] == 0


def test_satisfaction_indicator_rows_take_precedence_over_the_column(rules):
    s = ev.score_project(_ind(FULL), 100, 100, rules, satisfaction=20)
    assert s["satisfaction_score"] == pytest.approx(10.0)


def test_missing_effect_moves_to_output_only(rules):
    rows = [("产出指标", "a", "≥", "100", 50, "50"), ("满意度指标", "d", "≥", "1", 10, "1")]
    s = ev.score_project(_ind(rows), 100, 100, rules)
    # 效益 30 → the only present level of [产出, 效益]: 产出 80 × 0.5 = 40; 满意度 10
    assert s["output_score_max"] == pytest.approx(80.0)
    assert s["effect_score_max"] == 0
    assert s["recomputed_score"] == pytest.approx(10 + 40 + 10)


def test_two_levels_missing(rules):
    # 效益 and 满意度 missing → 产出 carries 90
    s = ev.score_project(_ind([("产出指标", "a", "≥", "100", 50, "90")]), 100, 100, rules)
    assert s["output_score_max"] == pytest.approx(90.0)
    assert s["recomputed_score"] == pytest.approx(10 + 81)
    # 产出 and 效益 missing → none of missing_level_to present → 满意度 carries 90
    s = ev.score_project(_ind([("满意度指标", "d", "≥", "90", 10, "45")]), 100, 100, rules)
    assert s["satisfaction_score_max"] == pytest.approx(90.0)
    assert s["recomputed_score"] == pytest.approx(10 + 45)


def test_missing_level_to_from_rules(tmp_path):
    mine = _rules_with(tmp_path, {"self_evaluation": {"missing_level_to": ["效益指标"]}})
    rows = [("产出指标", "a", "≥", "100", 50, "100"), ("效益指标", "c", "≥", "10", 30, "5")]
    s = ev.score_project(_ind(rows), 100, 100, mine)
    # 满意度 10 → 效益 only: 效益 40 × 0.5 = 20; total 10 + 50 + 20 = 80
    assert s["effect_score_max"] == pytest.approx(40.0)
    assert s["recomputed_score"] == pytest.approx(80.0)


def test_level_points_table(rules):
    present = pd.DataFrame({"产出指标": [True, True, False, False, True],
                            "效益指标": [True, False, True, False, True],
                            "满意度指标": [False, False, True, False, True]})
    pts = ev.level_points(present, rules)
    assert pts.iloc[0].tolist() == pytest.approx([56.25, 33.75, 0.0])
    assert pts.iloc[1].tolist() == pytest.approx([90.0, 0.0, 0.0])
    assert pts.iloc[2].tolist() == pytest.approx([0.0, 80.0, 10.0])  # 产出 50 → 效益
    assert pts.iloc[3].isna().all()
    assert pts.iloc[4].tolist() == pytest.approx([50.0, 30.0, 10.0])


def test_missing_actual_scores_zero_and_is_flagged(rules):
    rows = list(FULL)
    rows[1] = ("产出指标", "质量", "≥", "95", 20, None)
    s = ev.score_project(_ind(rows), 100, 100, rules)
    assert s["recomputed_score"] == pytest.approx(80.0)  # 20 points lost
    assert s["missing_actuals"] == 1


def test_execution_score_cap_and_zero_budget(rules, tmp_path):
    e = ev.execution_scores([120, 60, 0, 5], [100, 100, 100, 0], rules)
    assert e["execution_score"].tolist() == pytest.approx([10.0, 6.0, 0.0, 0.0])
    assert e["execution_rate"].iloc[:3].tolist() == pytest.approx([1.2, 0.6, 0.0])
    assert math.isnan(e["execution_rate"].iloc[3])  # zero budget → NaN, never inf
    assert not np.isinf(e["execution_rate"]).any()
    half = _rules_with(tmp_path, {"self_evaluation": {"zero_budget_execution_share": 0.5}})
    assert ev.execution_scores([5], [0], half)["execution_score"].iloc[0] == pytest.approx(5.0)


def test_project_without_indicators_is_not_recomputed(rules):
    se = pd.DataFrame({"project_id": ["A"], "year": [2022], "spent_amount": [10.0],
                       "satisfaction": [90.0], "reported_score": [95.0]})
    pr = pd.DataFrame({"project_id": ["A"], "year": [2022], "project_name": ["甲"], "level1_name": ["区某局"],
                       "budget": [10.0]})
    empty_t = pd.DataFrame(columns=["project_id", "year", "level1", "indicator", "direction", "target_value", "weight"])
    empty_a = pd.DataFrame(columns=["project_id", "year", "indicator", "actual_value"])
    res = ev.score_self_evaluations(se, pr, empty_t, empty_a, rules)
    row = res.projects.iloc[0]
    assert not row["recomputable"] and math.isnan(row["recomputed_score"]) and row["grade"] is None
    assert res.flags["flag"].tolist() == [ev.FLAG_NOT_RECOMPUTED]
    assert ev.self_evaluation_summary(res)["selfeval.mean_score"] is None


# ------------------------------------------------------------------------------------------
# grades and flags at their boundaries
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("score, grade", [
    (100, "优"), (90, "优"), (89.99, "良"), (80, "良"), (79.99, "中"), (60, "中"), (59.99, "差"), (0, "差"),
])
def test_grade_boundaries(rules, score, grade):
    assert ev.grade_of(score, rules) == grade


def test_grade_of_nan_is_none(rules):
    assert ev.grade_of(float("nan"), rules) is None


def test_recomputed_score_exactly_at_boundaries_gets_the_upper_grade(rules):
    # execution 0.6 → 6 points; everything else met → 96; a ≥ indicator of 20 points at 0.7 → 14 (−6) → 90
    for frac, expected_score, grade in [(0.7, 90.0, "优"), (0.2, 80.0, "良"), (0.0, 76.0, "中")]:
        rows = list(FULL)
        rows[1] = ("产出指标", "质量", "≥", "100", 20, str(100 * frac))
        s = ev.score_project(_ind(rows), 60, 100, rules)
        assert s["recomputed_score"] == pytest.approx(expected_score)
        assert s["grade"] == grade
    # 60 exactly: execution 0 and 效益 lost (30) → 0 + 50 + 0 + 10 = 60 → 中
    rows = list(FULL)
    rows[2] = ("效益指标", "效益", "定性", "显著", 30, "差")
    s = ev.score_project(_ind(rows), 0, 100, rules)
    assert s["recomputed_score"] == 60.0 and s["grade"] == "中"


def _flags(s_rows, spent, budget, reported, rules):
    ind = _ind(s_rows).assign(project_id="P", year=0)
    se = pd.DataFrame({"project_id": ["P"], "year": [0], "spent_amount": [spent], "satisfaction": [None],
                       "reported_score": [reported]})
    pr = pd.DataFrame({"project_id": ["P"], "year": [0], "project_name": ["甲"], "level1_name": ["区某局"],
                       "budget": [budget]})
    res = ev.score_self_evaluations(se, pr, ind.drop(columns="actual_value"),
                                    ind[["project_id", "year", "indicator", "actual_value"]], rules)
    f = res.flags
    return f.assign(detail=[ev_text.flag_detail(r) for r in f.itertuples(index=False)])


def test_inflation_margin_is_strict(rules):
    # recomputed 100 − 10 = 90 (execution 0 of 10 points)
    assert ev.FLAG_INFLATED not in _flags(FULL, 0, 100, 95.0, rules)["flag"].tolist()   # +5 exactly
    f = _flags(FULL, 0, 100, 95.01, rules)                                               # +5.01
    assert ev.FLAG_INFLATED in f["flag"].tolist()
    detail = f.loc[f["flag"] == ev.FLAG_INFLATED, "detail"].item()
    assert "95.01" in detail and "90.00" in detail and "5.01" in detail


def test_full_marks_with_low_execution(rules):
    assert ev.FLAG_FULL_LOW_EXEC in _flags(FULL, 59, 100, 100, rules)["flag"].tolist()      # 0.59 < 0.6
    assert ev.FLAG_FULL_LOW_EXEC not in _flags(FULL, 60, 100, 100, rules)["flag"].tolist()  # 0.60 not below
    assert ev.FLAG_FULL_LOW_EXEC not in _flags(FULL, 10, 100, 99.5, rules)["flag"].tolist()  # not full marks


def test_zero_budget_and_overachievement_and_missing_are_flagged(rules):
    rows = list(FULL)
    rows[0] = ("产出指标", "数量", "≥", "100", 30, "130")   # 1.3 > 1.2
    rows[1] = ("产出指标", "质量", "≥", "95", 20, None)
    f = _flags(rows, 5, 0, 80, rules)
    kinds = f["flag"].tolist()
    assert ev.FLAG_NO_BUDGET in kinds and ev.FLAG_OVERACHIEVED in kinds and ev.FLAG_MISSING in kinds
    over = f.loc[f["flag"] == ev.FLAG_OVERACHIEVED, "detail"].item()
    assert "数量" in over and "130.0%" in over
    assert "质量" in f.loc[f["flag"] == ev.FLAG_MISSING, "detail"].item()


# ------------------------------------------------------------------------------------------
# properties
# ------------------------------------------------------------------------------------------
DIRECTIONS = st.sampled_from(["≥", "≤", "="])
VALUES = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
LEVELS = st.sampled_from(["产出指标", "效益指标", "满意度指标", "成本指标"])


@st.composite
def projects(draw):
    n = draw(st.integers(min_value=1, max_value=6))
    rows = []
    for i in range(n):
        kind = draw(st.sampled_from(["≥", "≤", "=", "定性"]))
        weight = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=50)))
        if kind == "定性":
            target, actual = "好", draw(st.one_of(st.none(), st.sampled_from(["优", "良", "中", "差", "?"])))
        else:
            target = str(draw(VALUES))
            actual = draw(st.one_of(st.none(), VALUES.map(str)))
        rows.append((draw(LEVELS), f"i{i}", kind, target, weight, actual))
    spent = draw(VALUES)
    budget = draw(VALUES)
    sat = draw(st.one_of(st.none(), st.floats(min_value=0, max_value=100)))
    return rows, spent, budget, sat


@settings(max_examples=40, deadline=None)
@given(projects())
def test_score_stays_within_0_and_100(rules, project):
    rows, spent, budget, sat = project
    s = ev.score_project(_ind(rows), spent, budget, rules, satisfaction=sat)
    assert 0 <= s["recomputed_score"] <= 100
    assert s["grade"] in ev.GRADES


@settings(max_examples=40, deadline=None)
@given(projects(), st.data(), st.floats(min_value=0, max_value=1))
def test_moving_an_actual_toward_its_target_never_lowers_the_score(rules, project, data, step):
    rows, spent, budget, sat = project
    quantitative = [i for i, r in enumerate(rows) if r[2] != "定性" and r[5] is not None]
    if not quantitative:
        rows.append(("产出指标", "extra", data.draw(DIRECTIONS), "100", 10, "50"))
        quantitative = [len(rows) - 1]
    i = data.draw(st.sampled_from(quantitative))
    level, name, kind, target, weight, actual = rows[i]
    t, a = float(target), float(actual)
    closer = a + step * (t - a)
    before = ev.score_project(_ind(rows), spent, budget, rules, satisfaction=sat)["recomputed_score"]
    moved = list(rows)
    moved[i] = (level, name, kind, target, weight, repr(closer))
    after = ev.score_project(_ind(moved), spent, budget, rules, satisfaction=sat)["recomputed_score"]
    assert after >= before - 1e-9


@settings(max_examples=25, deadline=None)
@given(projects(), st.data())
def test_a_better_qualitative_tier_never_lowers_the_score(rules, project, data):
    rows, spent, budget, sat = project
    rows.append(("效益指标", "定性项", "定性", "好", 10, None))
    order = ["差", "中", "良", "优"]
    lo = data.draw(st.integers(min_value=0, max_value=3))
    hi = data.draw(st.integers(min_value=lo, max_value=3))
    worse = rows[:-1] + [rows[-1][:5] + (order[lo],)]
    better = rows[:-1] + [rows[-1][:5] + (order[hi],)]
    a = ev.score_project(_ind(worse), spent, budget, rules, satisfaction=sat)["recomputed_score"]
    b = ev.score_project(_ind(better), spent, budget, rules, satisfaction=sat)["recomputed_score"]
    assert b >= a - 1e-9


# ------------------------------------------------------------------------------------------
# rules validation
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data, key", [
    ({"self_evaluation": {"execution_cap": 1.2}}, "execution_cap"),
    ({"self_evaluation": {"missing_level_to": ["产出"]}}, "missing_level_to"),
    ({"self_evaluation": {"cost_indicator_level": "成本"}}, "cost_indicator_level"),
    ({"self_evaluation": {"qualitative_tiers": {"优": 1.5}}}, "qualitative_tiers"),
    ({"key_evaluation": {"suggested_cut": {"优": 0.0, "良": 0.0, "中": 0.1}}}, "suggested_cut"),
    ({"key_evaluation": {"suggested_cut_floor_grades": ["很差"]}}, "suggested_cut_floor_grades"),
])
def test_bad_evaluation_rules_name_the_key(tmp_path, data, key):
    with pytest.raises(RulesError, match=key):
        ev.check_rules(_rules_with(tmp_path, data))


# ------------------------------------------------------------------------------------------
# key evaluations and the budget cut
# ------------------------------------------------------------------------------------------
def _key_frame():
    # scores → totals: K1 18+18+28+28 = 92 优; K2 16+16+25+25 = 82 良; K3 15+15+20+20 = 70 中;
    # K4 10+10+15+15 = 50 差; K5 12+12+18+18 = 60 中 (boundary); K6 20+20+30+30 = 100 优, no request.
    return pd.DataFrame({
        "project_id": ["K1", "K2", "K3", "K4", "K5", "K6"],
        "year": [2023] * 6,
        "domain": ["拉动消费", "基金运作", "乡村振兴", "公共卫生", "公共卫生", "拉动消费"],
        "score_decision": [18, 16, 15, 10, 12, 20],
        "score_process": [18, 16, 15, 10, 12, 20],
        "score_output": [28, 25, 20, 15, 18, 30],
        "score_effect": [28, 25, 20, 15, 18, 30],
        "next_request": [1000.0, 2000.0, 1000.0, 1000.0, 1000.0, 0.0],
        # cuts: 0 (0 %), 200 (10 % vs 0 % → too much), 150 (15 %: 10 % + 5 % exactly → conforms),
        #       500 (50 % ≥ 30 % floor → conforms), 0 (0 % vs 10 % → too little), 0 (no request)
        "next_approved": [1000.0, 1800.0, 850.0, 500.0, 1000.0, 0.0],
        "findings": ["无"] * 6,
    })


def _key_projects():
    return pd.DataFrame({"project_id": ["K1", "K2", "K3", "K4", "K5", "K6"], "year": [2023] * 6,
                         "project_name": ["甲", "乙", "丙", "丁", "戊", "己"], "level1_name": ["区某局"] * 6,
                         "budget": [100.0, 200.0, 300.0, 400.0, 500.0, 600.0]})


def test_key_evaluation_scores_grades_and_decisions(rules):
    k = ev.score_key_evaluations(_key_frame(), _key_projects(), rules).set_index("project_id")
    assert k["total_score"].to_dict() == {"K6": 100, "K1": 92, "K2": 82, "K3": 70, "K5": 60, "K4": 50}
    assert k["grade"].to_dict() == {"K6": "优", "K1": "优", "K2": "良", "K3": "中", "K5": "中", "K4": "差"}
    assert k.loc["K3", "cut_rate"] == pytest.approx(0.15)
    assert k["decision"].to_dict() == {"K6": ev.DECISION_NO_REQUEST, "K1": ev.DECISION_OK,
                                       "K2": ev.DECISION_TOO_MUCH, "K3": ev.DECISION_OK,
                                       "K5": ev.DECISION_TOO_LITTLE, "K4": ev.DECISION_OK}
    assert math.isnan(k.loc["K6", "cut_rate"])
    assert bool(k.loc["K4", "suggested_is_floor"]) and k.loc["K4", "suggested_cut_rate"] == 0.30


def test_floor_grade_cut_below_the_floor_departs(rules):
    f = _key_frame()
    f.loc[3, "next_approved"] = 760.0   # 差: cut 24 % < 30 % − 5 % → too little
    k = ev.score_key_evaluations(f, _key_projects(), rules).set_index("project_id")
    assert k.loc["K4", "decision"] == ev.DECISION_TOO_LITTLE
    f.loc[3, "next_approved"] = 750.0   # 25 % = 30 % − 5 % exactly → conforms
    k = ev.score_key_evaluations(f, _key_projects(), rules).set_index("project_id")
    assert k.loc["K4", "decision"] == ev.DECISION_OK


def test_key_totals(rules):
    k = ev.score_key_evaluations(_key_frame(), _key_projects(), rules)
    t = ev.key_evaluation_totals(k)
    # request 6000, cut 0 + 200 + 150 + 500 + 0 + 0 = 850, rate 850/6000; budget 2100
    # approved 6000 − 850 = 5150; change against this year's budget 5150 − 2100 = 3050 (3050/2100)
    assert t == {"keyeval.projects": 6, "keyeval.amount": 2100.0, "keyeval.request": 6000.0,
                 "keyeval.cut": 850.0, "keyeval.cut_rate": pytest.approx(850 / 6000),
                 "keyeval.approved": 5150.0, "keyeval.budget_change": 3050.0,
                 "keyeval.budget_change_rate": pytest.approx(3050 / 2100)}
    by = ev.cut_by_grade(k, rules).set_index("grade")
    assert by.loc["中", "request"] == 2000 and by.loc["中", "cut"] == 150
    assert by.loc["差", "cut_rate"] == pytest.approx(0.5)


def test_key_score_above_its_maximum_counts_at_it_and_is_a_finding(rules):
    f = _key_frame()
    f.loc[0, "score_decision"] = 25   # 决策 max 20 (rules): counts 20 → K1 20+18+28+28 = 94
    k = ev.score_key_evaluations(f, _key_projects(), rules).set_index("project_id")
    assert k.loc["K1", "total_score"] == 94.0 and k.loc["K1", "above_maximum"] == 1
    found = ev.key_score_findings(k.reset_index())
    assert found[["project_id", "dimension", "score", "maximum"]].values.tolist() == [["K1", "决策", 25.0, 20.0]]
    assert set(found["kind"]) == {"key_score_above_maximum"}
    from perflib.schema import FINDING_KINDS
    assert ev.KIND_SCORE_ABOVE_MAX in FINDING_KINDS


def test_key_paragraph_words_like_the_seed(rules):
    k = ev.score_key_evaluations(_key_frame(), _key_projects(), rules)
    text = ev_text.key_evaluation_paragraph(k, 2023)
    # domains by Σ budget: 公共卫生 900 (丁 400, 戊 500), 拉动消费 700 (甲 100, 己 600), 乡村振兴 300 (丙),
    # 基金运作 200 (乙); named: the largest of each of the first three domains: 戊, 己, 丙
    assert text.startswith("2023年重点绩效评价在项目选取上聚焦公共卫生、拉动消费、乡村振兴和基金运作等领域，"
                           "最终选定“戊”、“己”和“丙”等6个项目开展重点绩效评价，涉及项目资金0.00亿元。")
    assert "2024年相关项目预算审减（申请数减安排数）0.00亿元，审减率14.17%。" in text
    assert ev_text.key_evaluation_paragraph(k.iloc[0:0], 2023).startswith("2023年未开展")


# ------------------------------------------------------------------------------------------
# from a store: facts, department filter, redaction
# ------------------------------------------------------------------------------------------
def _store():
    departments = pd.DataFrame({"dept_code": ["100", "101", "200"], "dept_name": ["区教体局", "区实验小学", "区科技局"],
                                "parent_code": [None, "100", None]})
    projects = pd.DataFrame({
        "project_id": ["A", "B", "C", "S", "A", "K"],
        "year": [2022, 2022, 2022, 2022, 2023, 2023],
        "dept_code": ["101", "200", "200", "200", "101", "200"],
        "project_name": ["运动场地建设", "人才工程", "科技创新", "某专项保障经费", "运动场地建设", "科技园区"],
        "budget_kind": ["一般公共预算"] * 6, "fund_source": ["本级"] * 6,
        "budget_amount": [100.0, 200.0, 50.0, 10.0, 300.0, 1000.0],
        "adjusted_amount": [None, 250.0, None, None, None, None],
        "is_classified": [False, False, False, True, False, False],
    })
    targets = pd.DataFrame({
        "project_id": ["A", "A", "A", "B", "B", None],
        "dept_code": ["101", "101", "101", "200", "200", "200"],
        "year": [2022] * 6,
        "level1": ["产出指标", "效益指标", "满意度指标", "产出指标", "效益指标", "产出指标"],
        "indicator": ["数量", "效益", "满意度", "数量", "效益", "部门目标"],
        "direction": ["≥", "定性", "≥", "≥", "≥", "≥"],
        "target_value": ["100", "显著", "90", "10", "1", "1"],
        "weight": [50, 30, 10, 50, 30, None],
    })
    actuals = pd.DataFrame({"project_id": ["A", "A", "A", "B", "B"], "year": [2022] * 5,
                            "indicator": ["数量", "效益", "满意度", "数量", "效益"],
                            "actual_value": ["100", "优", "95", "5", "1"]})
    self_evals = pd.DataFrame({"project_id": ["A", "B", "C", "S"], "year": [2022] * 4,
                               "spent_amount": [100.0, 125.0, 50.0, 10.0], "satisfaction": [None, 80.0, 90.0, None],
                               "reported_score": [100.0, 95.0, 90.0, 90.0]})
    key = pd.DataFrame({"project_id": ["A", "K"], "year": [2023, 2023], "domain": ["公共卫生", "基金运作"],
                        "score_decision": [18, 10], "score_process": [18, 10], "score_output": [27, 15],
                        "score_effect": [27, 15], "next_request": [400.0, 600.0], "next_approved": [400.0, 420.0]})
    return Store.from_frames({"departments": departments, "projects": projects, "targets": targets,
                              "self_eval_indicators": actuals, "self_evaluations": self_evals,
                              "key_evaluations": key})


def test_facts_from_a_store(rules):
    store = _store()
    facts = ev.evaluation_facts(store, 2023, rules)
    # FY2022: A = 10 + 50 + 30 + 10 = 100 优. B: execution 125/250 → 5; no 满意度 indicator but a
    # 满意度 value 80 → 8; 产出 50 × 5/10 = 25; 效益 30 → 5 + 25 + 30 + 8 = 68 中, reported 95 → +27 > 5
    # → inflated. C and S have no indicators → not recomputed. The department-level target is ignored.
    assert facts["selfeval.recomputed"] == 2
    assert facts["selfeval.mean_score"] == pytest.approx((100 + 68) / 2)
    assert facts["selfeval.grades"] == {"优": 1, "良": 0, "中": 1, "差": 0}
    assert facts["selfeval.inflated"] == 1
    # key 2023: A 90 优 (cut 0), K 50 差 (cut 180 of 600 = 30 %); amount 300 + 1000
    assert facts["keyeval.projects"] == 2 and facts["keyeval.amount"] == 1300.0
    assert facts["keyeval.request"] == 1000.0 and facts["keyeval.cut"] == 180.0
    assert facts["keyeval.cut_rate"] == pytest.approx(0.18)


def test_department_filter_and_redaction(rules):
    store = _store()
    edu = ev.evaluation_facts(store, 2023, rules, dept="区教体局")   # level-1 name covers 区实验小学
    assert edu["selfeval.recomputed"] == 1 and edu["selfeval.mean_score"] == 100.0
    assert edu["keyeval.projects"] == 1 and edu["keyeval.cut"] == 0.0
    assert ev.evaluation_facts(store, 2023, rules, dept="200")["keyeval.projects"] == 1
    res = ev.self_evaluation(store, 2023, rules)
    names = set(res.projects["project_name"]) | set(res.flags["project_name"])
    assert "某专项保障经费" not in names and CLASSIFIED_NAME in names
    assert not res.projects["project_id"].isin(["S"]).any()
    by = ev.grades_by_department(res).set_index("level1_name")
    assert by.loc["区科技局", "projects"] == 3 and by.loc["区科技局", "recomputed"] == 1
    assert by.loc["区科技局", "中"] == 1 and by.loc["区教体局", "优"] == 1


# ------------------------------------------------------------------------------------------
# plots
# ------------------------------------------------------------------------------------------
def test_plots_draw_with_chinese_glyphs(rules):
    import matplotlib.figure

    from perflib.present.charts import base, evaluation as plots

    store = _store()
    res = ev.self_evaluation(store, 2023, rules)
    key = ev.key_evaluations(store, 2023, rules)
    figs = [plots.plot_selfeval_scores(res.projects, rules),
            plots.plot_grades_by_department(ev.grades_by_department(res)),
            plots.plot_reported_vs_recomputed(res.projects, rules),
            plots.plot_key_scores(key, rules),
            plots.plot_grade_cut(key, rules)]
    for fig in figs:
        assert isinstance(fig, matplotlib.figure.Figure)
        assert base.check_glyphs(fig) == []
    # the grade–cut chart plots one point per project with a request, at its cut rate
    ax = figs[-1].axes[0]
    from matplotlib.collections import PathCollection

    ys = sorted(float(y) for coll in ax.collections if isinstance(coll, PathCollection)
                for _, y in coll.get_offsets())
    assert ys == pytest.approx([0.0, 0.3])


def test_overview_section_4_uses_the_evaluation_module(rules):
    from perflib.present.text import overview

    sec = overview.section_4(_store(), 2023, rules)
    # 2 projects, funds 300 + 1000 元, cut 180 of 1000 → 18.00 %
    # approved 400 + 420 = 820 against this year's 1300: −480 (−36.92 %)
    key_facts = {k: v for k, v in sec.facts.items() if k.startswith("keyeval.")}
    assert key_facts == {"keyeval.projects": 2, "keyeval.amount": 1300.0, "keyeval.request": 1000.0,
                         "keyeval.cut": 180.0, "keyeval.cut_rate": pytest.approx(0.18),
                         "keyeval.approved": 820.0, "keyeval.budget_change": -480.0,
                         "keyeval.budget_change_rate": pytest.approx(-480 / 1300)}
    # the section also states the conflicting signals and every stage's 结果应用 (issue 17)
    assert {k.split(".")[0] for k in sec.facts} == {"keyeval", "signals", "application"}
    assert sec.facts["application.keyeval.projects"] == 2
    assert "等2个项目开展重点绩效评价" in sec.text and "审减率18.00%" in sec.text
    assert "待补充" not in sec.text
    assert list(sec.tables[0].frame["project_name"]) == ["运动场地建设", "科技园区"]


def test_flags_table_orders_by_seriousness_and_leaves_out_unrecomputed(rules):
    res = ev.self_evaluation(_store(), 2023, rules)
    t = ev.flags_table(res)
    assert t["flag"].tolist() == [ev.FLAG_INFLATED]          # B only; C and S not recomputed
    full = ev.flags_table(res, include_not_recomputed=True)
    assert full["flag"].tolist() == [ev.FLAG_INFLATED, ev.FLAG_NOT_RECOMPUTED, ev.FLAG_NOT_RECOMPUTED]
    assert "没有绩效目标指标、无法复核的项目2个" in ev_text.flags_paragraph(res, rules)


# ------------------------------------------------------------------------------------------
# key evaluations: maxima from the data (the scheme's split), 审减 and the change against the budget
# ------------------------------------------------------------------------------------------
def _scheme_frame():
    """A 15/15/35/35 scheme. S1 15+15+35+35 = 100 优; S2 14+13+30+28 = 85 良; S3 18 (above 15)
    +15+35+35 → 15+15+35+35 = 100, one finding; S4 without maxima (rules 20/20/30/30): 18+18+28+28 = 92."""
    f = pd.DataFrame({
        "project_id": ["S1", "S2", "S3", "S4"], "year": [2023] * 4, "domain": ["乡村振兴"] * 4,
        "score_decision": [15.0, 14.0, 18.0, 18.0], "score_process": [15.0, 13.0, 15.0, 18.0],
        "score_output": [35.0, 30.0, 35.0, 28.0], "score_effect": [35.0, 28.0, 35.0, 28.0],
        "next_request": [100.0, 200.0, 300.0, 400.0], "next_approved": [100.0, 150.0, 300.0, 380.0],
        "max_decision": [15.0, 15.0, 15.0, None], "max_process": [15.0, 15.0, 15.0, None],
        "max_output": [35.0, 35.0, 35.0, None], "max_effect": [35.0, 35.0, 35.0, None],
    })
    p = pd.DataFrame({"project_id": ["S1", "S2", "S3", "S4"], "year": [2023] * 4,
                      "project_name": ["甲", "乙", "丙", "丁"], "level1_name": ["区某局"] * 4,
                      "budget": [80.0, 300.0, 0.0, 500.0]})
    return f, p


def test_key_scheme_maxima_come_from_the_data(rules):
    f, p = _scheme_frame()
    k = ev.score_key_evaluations(f, p, rules).set_index("project_id")
    assert k["total_score"].to_dict() == {"S1": 100.0, "S3": 100.0, "S4": 92.0, "S2": 85.0}
    assert k["max_output"].to_dict() == {"S1": 35.0, "S3": 35.0, "S4": 30.0, "S2": 35.0}
    assert k["max_from_data"].to_dict() == {"S1": True, "S3": True, "S4": False, "S2": True}
    found = ev.key_score_findings(k.reset_index())
    # only S3's 决策 18 > 15; S4's 决策 18 ≤ its rules maximum 20 is no finding
    assert found[["project_id", "dimension", "score", "maximum", "max_from_data"]].values.tolist() == \
        [["S3", "决策", 18.0, 15.0, True]]


def test_key_partial_maxima_and_a_scheme_not_totalling_100(rules):
    f, p = _scheme_frame()
    f = f.iloc[[0]].copy()
    f[["max_process", "max_output", "max_effect"]] = [None, None, None]
    # 决策 max 15 from the data, the rest 20/30/30 from the rules: Σ max 95; scores 15+15+30+30 = 90
    # (35 > 30 twice → 2 findings, counted at 30) → 90 × 100 / 95 = 94.74
    f[["score_output", "score_effect"]] = [35.0, 35.0]
    k = ev.score_key_evaluations(f, p, rules)
    assert k.loc[0, "total_score"] == pytest.approx(round(90 * 100 / 95, 2))
    assert k.loc[0, "above_maximum"] == 2 and len(ev.key_score_findings(k)) == 2


def test_key_review_cut_and_change_against_this_years_budget(rules):
    f, p = _scheme_frame()
    k = ev.score_key_evaluations(f, p, rules).set_index("project_id")
    # 审减 = request − approved; change = approved − this year's budget (rate over it; none for 0)
    assert k["cut"].to_dict() == {"S1": 0.0, "S3": 0.0, "S4": 20.0, "S2": 50.0}
    assert k["budget_change"].to_dict() == {"S1": 20.0, "S3": 300.0, "S4": -120.0, "S2": -150.0}
    assert k.loc["S1", "budget_change_rate"] == pytest.approx(0.25)
    assert math.isnan(k.loc["S3", "budget_change_rate"])
    t = ev.key_evaluation_totals(k.reset_index())
    # approved 930, this year's budget 880 → +50 (50/880)
    assert t["keyeval.cut"] == 70.0 and t["keyeval.approved"] == 930.0
    assert t["keyeval.budget_change"] == 50.0 and t["keyeval.budget_change_rate"] == pytest.approx(50 / 880)
    text = ev_text.budget_application_paragraph(k.reset_index(), 2023, rules)
    assert "审减（申请数减安排数）0.00亿元，审减率7.00%。" in text    # 70 / 1000
    assert "2024年安排数0.00亿元，增加50.00元（5.68%）。" in text        # 50 / 880
    by = ev.cut_by_grade(k.reset_index(), rules).set_index("grade")
    # 优 S1, S3, S4: budget 580, approved 780 → +200
    assert by.loc["优", "budget_change"] == 200.0 and by.loc["良", "budget_change"] == -150.0


def test_key_maxima_paragraph(rules):
    f, p = _scheme_frame()
    k = ev.score_key_evaluations(f, p, rules)
    text = ev_text.key_maxima_paragraph(k, ev.key_score_findings(k), rules)
    assert text.startswith("3个项目的维度满分按数据中评价方案给出的分值计，其余1个项目按规则文件的默认分值")
    assert text.endswith("有1个项目共1处维度得分超过该维度满分，按满分计入总分，见下表。")


# ------------------------------------------------------------------------------------------
# optional deduction for over-achievement
# ------------------------------------------------------------------------------------------
OVER = [
    ("产出指标", "数量", "≥", "100", 30, "150"),   # achievement 1.5 > 1.2: over-achieved
    ("产出指标", "质量", "≥", "95", 20, "96"),
    ("效益指标", "效益", "定性", "显著", 30, "优"),
    ("满意度指标", "满意度", "≥", "90", 10, "92"),
]


@pytest.mark.parametrize("deduction, expected", [
    (0, 100.0),     # off (default): full marks and only a flag
    (0.5, 95.5),    # 数量 30 points × (1 − 0.5 × (1.5 − 1.2)) = 25.5 → 10 + 25.5 + 20 + 30 + 10
    (5, 70.0),      # 5 × 0.3 = 1.5, capped at 1: 数量 loses all 30 points
])
def test_overachievement_deduction(tmp_path, deduction, expected):
    r = _rules_with(tmp_path, {"self_evaluation": {"overachievement_deduction": deduction}})
    s = ev.score_project(_ind(OVER), spent=100, budget=100, rules=r)
    assert s["recomputed_score"] == pytest.approx(expected)


def test_overachievement_deduction_is_off_by_default(rules):
    assert rules.value("self_evaluation.overachievement_deduction") == 0
    assert ev.score_project(_ind(OVER), spent=100, budget=100, rules=rules)["recomputed_score"] == 100.0


# ------------------------------------------------------------------------------------------
# self-evaluation coverage side by side (the coverage and the evaluation report show the same)
# ------------------------------------------------------------------------------------------
def test_selfeval_scope_side_by_side(rules):
    from perflib.analysis import coverage as cov
    from perflib.present.text import coverage as cov_text

    store = _store()
    fr = {t: store.table(t) for t in ("departments", "projects", "targets", "self_eval_indicators",
                                      "self_evaluations", "key_evaluations")}
    fr["departments"] = fr["departments"][["dept_code", "dept_name", "parent_code"]]
    fr["projects"] = pd.DataFrame({  # the same projects, unredacted
        "project_id": ["A", "B", "C", "S", "A", "K"], "year": [2022, 2022, 2022, 2022, 2023, 2023],
        "dept_code": ["101", "200", "200", "200", "101", "200"],
        "project_name": ["运动场地建设", "人才工程", "科技创新", "某专项保障经费", "运动场地建设", "科技园区"],
        "budget_kind": ["一般公共预算"] * 6, "fund_source": ["本级"] * 6,
        "budget_amount": [100.0, 200.0, 50.0, 10.0, 300.0, 1000.0],
        "adjusted_amount": [None, 250.0, None, None, None, None],
        "is_classified": [False, False, False, True, False, False]})
    # C gets a target of a level the recomputation does not score: with targets, not recomputable
    extra = pd.DataFrame({"project_id": ["C"], "dept_code": ["200"], "year": [2022], "level1": ["管理指标"],
                          "indicator": ["制度"], "direction": ["定性"], "target_value": ["健全"], "weight": [None]})
    fr["targets"] = pd.concat([_store_targets(), extra], ignore_index=True)
    fr["self_eval_indicators"] = store.table("self_eval_indicators")
    s = Store.from_frames(fr)
    se = ev.self_evaluation(s, 2023, rules)
    frame = cov.selfeval_projects(s, 2022)
    scope = cov.selfeval_scope(frame, se.projects)
    # self-evaluated A 100, B 250 (adjusted), C 50, S 10 = 410; with targets A, B, C = 400;
    # recomputable A, B = 350
    assert scope["projects"].tolist() == [4, 3, 2] and scope["amount"].tolist() == [410.0, 400.0, 350.0]
    assert scope["share_projects"].tolist() == pytest.approx([1, 0.75, 0.5])
    facts = cov.selfeval_scope_facts(scope)
    assert facts == {"selfeval.with_targets": 3, "selfeval.with_targets_amount": 400.0,
                     "selfeval.recomputed": 2, "selfeval.recomputed_amount": 350.0}
    assert facts["selfeval.recomputed"] == ev.self_evaluation_summary(se)["selfeval.recomputed"]
    without = cov.selfeval_without_targets(frame)
    assert without["budget"].tolist() == [10.0] and without["project_name"].tolist() == [CLASSIFIED_NAME]
    text = cov_text.selfeval_scope_paragraph(scope, 2022)
    assert text.startswith("2022年度开展绩效自评的项目4个") and "其中编制了项目绩效目标的3个（占75.00%）" in text
    assert "重新计算的2个" in text and text.endswith("其余1个自评项目没有项目绩效目标，自评得分无法对照目标复核。")


def _store_targets():
    return _store().table("targets")


# --- issue 20: the fast paths equal the per-value computations they replace ------------------------
@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(min_value=-10, max_value=110), st.just(float("nan"))), max_size=30))
def test_grades_of_equals_grade_of_each_score(scores):
    s = pd.Series(scores, dtype=object)
    rules = load_rules()
    assert list(ev.grades_of(s, rules)) == [ev.grade_of(v, rules) for v in scores]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="0123456789.,%，％ 　abc良１２", max_size=6)), max_size=30))
def test_indicator_numbers_parsed_per_distinct_value_equal_parsing_each(values):
    from perflib.analysis import indicators

    for s in (pd.Series(values, dtype=object), pd.Series(values, dtype="string")):
        want = [indicators._parse_number(v) for v in s]
        got = indicators.to_number(s)
        assert list(got.index) == list(s.index)
        assert all((g == w) or (math.isnan(g) and math.isnan(w)) for g, w in zip(got, want))
