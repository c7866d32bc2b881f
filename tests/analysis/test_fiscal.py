"""Street fiscal evaluation: indicator formulas, min–max normalisation, weighted index and rank,
PEFA PI-1/PI-2.1/PI-2.2/PI-3.1 grading (band boundaries included), the evaluated year (last final
决算), the debt veto, findings, year over year, section 五.

Expected numbers are worked out by hand in the comments next to each assertion.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from perflib.analysis import fiscal, pefa
from perflib.present.text import fiscal as fiscal_text
from perflib.exceptions import ParameterError, RulesError
from perflib.present.notebook import Report
from perflib.rules import load_rules
from perflib.store import Store

M = 1_000_000  # fixture money in 百万元 steps, stored in 元

DEPARTMENTS = pd.DataFrame({
    "dept_code": ["101", "201", "201001", "202", "203"],
    "dept_name": ["区教体局", "东风街道办事处", "东风街道社区服务中心", "全福街道办事处", "华山街道办事处"],
    "parent_code": [None, None, "201", None, None],
    "is_street": [False, True, False, True, True],
})

# street -> year -> indicator -> value (in M 元)
FISCAL = {
    "201": {
        2021: {"一般公共预算收入": 97, "一般公共预算收入预算数": 100, "一般公共预算支出": 110,
               "一般公共预算支出预算数": 100, "支出预算数:一般公共服务支出": 60, "支出预算数:城乡社区支出": 40,
               "支出决算数:一般公共服务支出": 66, "支出决算数:城乡社区支出": 44},
        2022: {"一般公共预算收入": 106, "一般公共预算收入预算数": 100, "一般公共预算支出": 84,
               "一般公共预算支出预算数": 100, "税收收入": 74.2, "行政成本": 10,
               "支出预算数:一般公共服务支出": 60, "支出预算数:城乡社区支出": 40,
               "支出决算数:一般公共服务支出": 50.4, "支出决算数:城乡社区支出": 33.6},
        2023: {"一般公共预算收入": 93, "一般公共预算收入预算数": 100, "一般公共预算支出": 95,
               "一般公共预算支出预算数": 100, "税收收入": 74.4, "行政成本": 9.5,
               "三保支出需求": 40, "三保支出": 38, "债务余额": 46.5, "结转结余": 9.5,
               "支出预算数:一般公共服务支出": 60, "支出预算数:城乡社区支出": 40,
               "支出决算数:一般公共服务支出": 66, "支出决算数:城乡社区支出": 29},
    },
    "202": {
        2021: {"一般公共预算支出": 115, "一般公共预算支出预算数": 100, "一般公共预算收入": 100,
               "一般公共预算收入预算数": 100},
        2022: {"一般公共预算支出": 116, "一般公共预算支出预算数": 100, "一般公共预算收入": 100,
               "一般公共预算收入预算数": 100, "税收收入": 50, "行政成本": 30},
        2023: {"一般公共预算收入": 200, "一般公共预算收入预算数": 200, "税收收入": 120,
               "一般公共预算支出": 210, "一般公共预算支出预算数": 200, "行政成本": 42,
               "三保支出需求": 50, "三保支出": 50, "债务余额": 0, "结转结余": 21},
    },
    "203": {
        2023: {"一般公共预算收入": 100, "一般公共预算收入预算数": 100, "税收收入": 70,
               "一般公共预算支出": 120, "一般公共预算支出预算数": 100, "行政成本": 18,
               "三保支出需求": 0, "三保支出": 10},
    },
    # not a street: its rows must never make it a peer
    "101": {2023: {"一般公共预算收入": 1000, "税收收入": 10, "一般公共预算支出": 1000,
                   "一般公共预算支出预算数": 1000, "行政成本": 1}},
}


def fiscal_frame(data=FISCAL) -> pd.DataFrame:
    rows = [{"dept_code": code, "year": y, "indicator": k, "value": float(v) * M}
            for code, years in data.items() for y, inds in years.items() for k, v in inds.items()]
    return pd.DataFrame(rows)


def _project(pid, year, dept, fund="本级", classified=False, special=False):
    return {"project_id": pid, "year": year, "dept_code": dept, "project_name": f"项目{pid}",
            "budget_kind": "一般公共预算", "fund_source": fund, "budget_amount": 1000.0,
            "is_classified": classified, "is_special": special}


PROJECTS = pd.DataFrame([
    _project("P1", 2023, "201"), _project("P2", 2023, "201001"),            # eligible, street 201
    _project("P3", 2023, "201", fund="上级转移支付"),                          # not 本级
    _project("P4", 2023, "201", classified=True), _project("P5", 2023, "201", special=True),
    _project("P1", 2022, "201"), _project("P2", 2022, "201001"),
    _project("P6", 2023, "203"),
    _project("P7", 2023, "101"),                                              # not a street
])


def _target(pid, year, dept):
    return {"project_id": pid, "dept_code": dept, "year": year, "level1": "产出指标", "level2": "数量指标",
            "indicator": "完成数量", "direction": "≥", "target_value": "1", "unit": "个", "weight": 50}


TARGETS = pd.DataFrame([_target("P1", 2023, "201"), _target("P3", 2023, "201"), _target("P4", 2023, "201"),
                        _target("P6", 2023, "203"), _target("P2", 2022, "201001"),
                        _target(None, 2023, "201")])
SELF_EVALS = pd.DataFrame([
    {"project_id": "P1", "year": 2022, "spent_amount": 900.0, "satisfaction": 90.0, "reported_score": 90.0},
    {"project_id": "P2", "year": 2023, "spent_amount": 900.0, "satisfaction": 90.0, "reported_score": 90.0},
])


@pytest.fixture(scope="module")
def store():
    return Store.from_frames({"departments": DEPARTMENTS, "projects": PROJECTS, "targets": TARGETS,
                              "self_evaluations": SELF_EVALS, "street_fiscal": fiscal_frame()})


@pytest.fixture(scope="module")
def rules():
    return load_rules()


@pytest.fixture(scope="module")
def three_rules(tmp_path_factory):
    """A user rules file with three indicators: tax share 50 (higher), execution 30 (target_one),
    administrative cost share 20 (lower), and no debt veto (so 201's debt does not change the ranks
    worked out below; the veto has its own tests)."""
    p = tmp_path_factory.mktemp("rules") / "three.yaml"
    p.write_text(yaml.safe_dump({"fiscal": {"debt_veto": {"value": False}, "indicators": {"value": {
        "tax_share": {"name": "税收占比", "weight": 50, "direction": "higher", "group": "收入质量"},
        "budget_execution": {"name": "支出执行率", "weight": 30, "direction": "target_one", "group": "支出管理"},
        "admin_cost_share": {"name": "行政成本占比", "weight": 20, "direction": "lower", "group": "支出管理"},
    }}}}, allow_unicode=True), encoding="utf-8")
    return load_rules(p)


# --- PEFA grading at the band boundaries -----------------------------------------------------------
PI1 = {"A": [0.95, 1.05], "B": [0.90, 1.10], "C": [0.85, 1.15]}
PI2 = {"A": 0.05, "B": 0.10, "C": 0.15}
PI3 = {"A": [0.97, 1.06], "B": [0.94, 1.12], "C": [0.92, 1.16]}


def test_default_bands_are_specs(rules):
    assert rules.value("fiscal.pi1_bands") == PI1
    assert rules.value("fiscal.pi2_bands") == PI2
    assert rules.value("fiscal.pi3_bands") == PI3
    assert rules.value("fiscal.pefa_years") == {"window": 3, "required": 2}


@pytest.mark.parametrize("ratio, grade", [
    (0.95, "A"), (1.05, "A"), (1.0, "A"),               # both A bounds are inclusive
    (0.9499999, "B"), (1.0500001, "B"), (0.90, "B"), (1.10, "B"),
    (0.8999999, "C"), (1.1000001, "C"), (0.85, "C"), (1.15, "C"),
    (0.8499999, "D"), (1.1500001, "D"), (0.0, "D"), (2.0, "D"),
    (105 / 100, "A"), (95 / 100, "A"), (115 * M / (100 * M), "C"), (0.1 + 0.85, "A"),
])
def test_pi1_inclusive_bounds(ratio, grade):
    assert pefa.grade_in_bands(ratio, PI1) == grade


@pytest.mark.parametrize("ratio, grade", [
    (0.97, "A"), (1.06, "A"), (0.9699999, "B"), (1.0600001, "B"), (0.94, "B"), (1.12, "B"),
    (0.92, "C"), (1.16, "C"), (0.9199999, "D"), (1.1600001, "D"),
])
def test_pi3_inclusive_bounds(ratio, grade):
    assert pefa.grade_in_bands(ratio, PI3) == grade


@pytest.mark.parametrize("variance, grade", [
    (0.0, "A"), (0.0499999, "A"), (0.05, "B"),           # strictly below: exactly 5 % is B
    (0.0999999, "B"), (0.10, "C"), (0.1499999, "C"), (0.15, "D"), (0.9, "D"),
])
def test_pi2_strictly_below(variance, grade):
    assert pefa.grade_below(variance, PI2) == grade


def test_missing_measure_has_no_grade():
    assert pefa.grade_in_bands(float("nan"), PI1) is None
    assert pefa.grade_below(float("nan"), PI2) is None


@pytest.mark.parametrize("yearly, grade", [
    (["A", "A", "D"], "A"),
    (["A", "B", "D"], "B"),      # A once, at least B twice
    (["C", "C", "A"], "C"),
    (["D", "D", "A"], "D"),
    (["A", None, None], "D"),    # a year without data does not count
    (["B", None, "A"], "B"),
])
def test_two_of_three_rule(yearly, grade):
    assert pefa.overall_grade(yearly, ["A", "B", "C"], required=2) == grade


def test_composition_variance_hand_worked():
    # budget 50/30/20, outturn 55/30/25: Σo = 110, adj = b × 1.1 = 55/33/22, |dev| = 0+3+3 = 6 → 6/110
    b = pd.Series({"a": 50.0, "b": 30.0, "c": 20.0})
    o = pd.Series({"a": 55.0, "b": 30.0, "c": 25.0})
    assert pefa.composition_variance(b, o) == pytest.approx(6 / 110)
    assert pefa.grade_below(6 / 110, PI2) == "B"
    # 100/100 budget, 105/95 outturn: adj = 100/100, |dev| = 10 → exactly 5 % → B (strict)
    v = pefa.composition_variance(pd.Series({"a": 100.0, "b": 100.0}), pd.Series({"a": 105.0, "b": 95.0}))
    assert v == pytest.approx(0.05)
    assert pefa.grade_below(v, PI2) == "B"
    v10 = pefa.composition_variance(pd.Series({"a": 100.0, "b": 100.0}), pd.Series({"a": 110.0, "b": 90.0}))
    assert pefa.grade_below(v10, PI2) == "C"
    # proportional outturn: no composition variance even though the total is off
    assert pefa.composition_variance(pd.Series({"a": 60.0, "b": 40.0}),
                                       pd.Series({"a": 30.0, "b": 20.0})) == pytest.approx(0.0)
    # a head with budget but no outturn counts outturn 0: Σo = 200, adj 100/100, |dev| 100+100 → 1.0
    assert pefa.composition_variance(pd.Series({"a": 100.0, "b": 100.0}),
                                       pd.Series({"a": 200.0})) == pytest.approx(1.0)
    # zero budget: no measure (never inf)
    assert math.isnan(pefa.composition_variance(pd.Series({"a": 0.0}), pd.Series({"a": 5.0})))


def test_pefa_scores_hand_worked(rules):
    wide = fiscal.fiscal_wide(fiscal_frame())
    s1 = {s.code: s for s in pefa.pefa_scores(wide, "201", 2023, rules)}
    # PI-1: 2021 110/100 = 1.10 → B, 2022 84/100 → D, 2023 95/100 → A: A once, ≥B twice → B
    assert list(s1["PI-1"].yearly["grade"]) == ["B", "D", "A"]
    assert s1["PI-1"].yearly["value"].tolist() == pytest.approx([1.10, 0.84, 0.95])
    assert s1["PI-1"].grade == "B" and s1["PI-1"].met == 2 and not s1["PI-1"].insufficient
    # PI-2.1: 2021 and 2022 proportional → 0 (A); 2023 adj 57/38, |dev| 9+9 = 18 over 95 → D → A overall
    assert s1["PI-2.1"].yearly["value"].tolist() == pytest.approx([0.0, 0.0, 18 / 95])
    assert list(s1["PI-2.1"].yearly["grade"]) == ["A", "A", "D"]
    assert s1["PI-2.1"].grade == "A"
    # PI-2.2: no 经济分类 rows → 不适用 (not D, not a weakness)
    assert s1["PI-2.2"].grade == "不适用" and not s1["PI-2.2"].applicable and not s1["PI-2.2"].weak
    assert "不适用" in s1["PI-2.2"].describe()
    # PI-3.1: 0.97 (A, on the bound), 1.06 (A, on the bound), 0.93 (C) → A
    assert list(s1["PI-3.1"].yearly["grade"]) == ["A", "A", "C"]
    assert s1["PI-3.1"].grade == "A"
    assert set(s1) == {"PI-1", "PI-2.1", "PI-2.2", "PI-3.1"}   # never a bare "PI-2" / "PI-3"
    # 202: 1.15 (C), 1.16 (D), 1.05 (A) → C twice → C
    s2 = pefa.pefa_scores(wide, "202", 2023, rules)[0]
    assert list(s2.yearly["grade"]) == ["C", "D", "A"] and s2.grade == "C"
    # 203: one year only (1.2 → D) → D with 数据不足
    s3 = pefa.pefa_scores(wide, "203", 2023, rules)[0]
    assert s3.grade == "D" and s3.insufficient and "数据不足" in s3.describe()


def test_pefa_window_from_rules(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("fiscal:\n  pefa_years: {value: {window: 3, required: 1}}\n", encoding="utf-8")
    r = load_rules(p)
    wide = fiscal.fiscal_wide(fiscal_frame())
    # with 1 of 3 years required, 201's PI-1 (B, D, A) earns A
    assert pefa.pefa_scores(wide, "201", 2023, r)[0].grade == "A"


def test_pefa_table_states_grades(rules):
    wide = fiscal.fiscal_wide(fiscal_frame())
    raw = fiscal.pefa_table(pefa.pefa_scores(wide, "201", 2023, rules))
    assert raw.loc[0, "ratio_2021"] == pytest.approx(1.1) and raw.loc[0, "grade_2021"] == "B"
    tab = fiscal_text.pefa_table(pefa.pefa_scores(wide, "201", 2023, rules))
    assert list(tab["code"]) == ["PI-1", "PI-2.1", "PI-2.2", "PI-3.1"]
    assert tab.loc[2, "overall"].startswith("不适用") and tab.loc[2, "year_2023"] == "无数据"
    assert tab.loc[0, "year_2021"] == "110.00%（B）"
    assert tab.loc[0, "overall"].startswith("B")
    assert list(Report.prepare_table(tab, "fiscal.pefa").columns) == ["指标", "内容", "2021年", "2022年", "2023年",
                                                                      "综合等级"]
    bands = fiscal.pefa_band_table(rules)
    assert "95% ≤ 比率 ≤ 105%（含边界）" in set(bands["band"])
    assert "偏差 < 5%（不含边界）" in set(bands["band"])
    assert list(dict.fromkeys(bands["code"])) == ["PI-1", "PI-2.1", "PI-2.2", "PI-3.1"]


# --- normalisation and the index -------------------------------------------------------------------
def test_normalise_min_max_with_directions():
    values = pd.DataFrame({"h": [0.6, 0.8, 0.7], "l": [0.6, 0.8, 0.7], "t": [0.9, 1.05, 1.2],
                           "same": [0.3, 0.3, 0.3], "gap": [0.2, np.nan, 0.4]}, index=["a", "b", "c"])
    s = fiscal.normalise(values, {"h": "higher", "l": "lower", "t": "target_one", "same": "higher",
                                  "gap": "higher"}, equal_score=100)
    assert s["h"].tolist() == pytest.approx([0, 100, 50])
    assert s["l"].tolist() == pytest.approx([100, 0, 50])
    # distances |x−1| = 0.10, 0.05, 0.20 → lower is better: (0.20−0.10)/0.15 = 2/3
    assert s["t"].tolist() == pytest.approx([200 / 3, 100, 0])
    assert s["same"].tolist() == [100, 100, 100]
    assert s.loc["a", "gap"] == 0 and s.loc["c", "gap"] == 100 and np.isnan(s.loc["b", "gap"])


def test_target_one_is_symmetric():
    s = fiscal.normalise(pd.DataFrame({"t": [0.9, 1.1, 1.0]}), {"t": "target_one"})
    assert s["t"].tolist() == pytest.approx([0, 0, 100])


def test_composite_index_weights_missing_and_ties():
    scores = pd.DataFrame({"a": [100, 0, 50, 100, 50], "b": [50, np.nan, 100, np.nan, 100]},
                          index=["x", "y", "z", "w", "v"], dtype="float64")
    r = fiscal.composite_index(scores, {"a": 60, "b": 40}, "redistribute")
    # x: (60·100 + 40·50)/100 = 80; y: 0/60 = 0; z: (3000+4000)/100 = 70; w: 6000/60 = 100; v = z = 70
    assert r["index"].tolist() == pytest.approx([80, 0, 70, 100, 70])
    assert r["rank"].tolist() == [2, 5, 3, 1, 3]          # ties share the better rank
    assert r["weight_available"].tolist() == [100, 60, 100, 60, 100]
    z = fiscal.composite_index(scores, {"a": 60, "b": 40}, "zero")
    # w: 6000/100 = 60 — a missing indicator scores 0
    assert z.loc["w", "index"] == pytest.approx(60)
    assert z.loc["x", "index"] == pytest.approx(80)
    none = fiscal.composite_index(pd.DataFrame({"a": [np.nan]}, index=["q"]), {"a": 1})
    assert np.isnan(none.loc["q", "index"]) and pd.isna(none.loc["q", "rank"])
    with pytest.raises(RulesError):
        fiscal.composite_index(scores, {"a": 60, "b": 40}, "ignore")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 5, allow_nan=False), min_size=2, max_size=8),
       st.sampled_from(["higher", "lower", "target_one"]))
def test_normalise_property(xs, direction):
    s = fiscal.normalise(pd.DataFrame({"k": xs}), {"k": direction})["k"]
    assert ((s >= -1e-9) & (s <= 100 + 1e-9)).all()
    key = pd.Series(xs) if direction != "target_one" else (pd.Series(xs) - 1).abs()
    best = key.idxmax() if direction == "higher" else key.idxmin()
    assert s[best] == pytest.approx(100)
    if not np.isclose(key.max(), key.min(), rtol=0, atol=1e-12):
        worst = key.idxmin() if direction == "higher" else key.idxmax()
        assert s[worst] == pytest.approx(0)


def test_peers_are_streets_with_data_for_the_year():
    peers = fiscal.peer_streets(DEPARTMENTS, fiscal_frame(), 2023)
    assert list(peers["dept_code"]) == ["201", "202", "203"]    # 101 has data but is no street
    assert list(fiscal.peer_streets(DEPARTMENTS, fiscal_frame(), 2022)["dept_code"]) == ["201", "202"]


def test_indicator_values_formulas():
    wide = fiscal.fiscal_wide(fiscal_frame())
    v = fiscal.indicator_values(wide, 2023, ["201", "202", "203"])
    assert v.loc["201", "tax_share"] == pytest.approx(74.4 / 93)
    assert v.loc["201", "revenue_growth"] == pytest.approx(93 / 106 - 1)
    assert v.loc["202", "revenue_growth"] == pytest.approx(1.0)
    assert np.isnan(v.loc["203", "revenue_growth"])            # no 2022 data
    assert v.loc["201", "budget_execution"] == pytest.approx(0.95)
    assert v.loc["201", "three_guarantees"] == pytest.approx(0.95)
    assert np.isnan(v.loc["203", "three_guarantees"])           # zero need → missing, not inf
    assert v.loc["201", "admin_cost_share"] == pytest.approx(0.1)
    assert v.loc["201", "admin_cost_change"] == pytest.approx(-0.05)
    assert v.loc["202", "admin_cost_change"] == pytest.approx(0.4)
    assert v.loc["201", "debt_ratio"] == pytest.approx(0.5)
    assert v.loc["202", "debt_ratio"] == 0
    assert v.loc["201", "balance_ratio"] == pytest.approx(93 / 95)
    assert v.loc["201", "carryover_share"] == pytest.approx(0.1)
    assert np.isnan(v.loc["201", "target_coverage"])            # no coverage given
    assert not np.isinf(v.to_numpy(dtype=float)).any()


def test_project_coverage(store):
    cov = fiscal.project_coverage(store.table("projects"), store.table("targets"),
                                  store.table("self_evaluations"), store.table("departments"),
                                  ["201", "202", "203"], 2023)
    # 201 in 2023: eligible P1 (street) and P2 (its child unit); P3 not 本级, P4 涉密, P5 特殊 → 1/2 targets
    assert cov.loc["201", "eligible_projects"] == 2 and cov.loc["201", "target_projects"] == 1
    assert cov.loc["201", "target_coverage"] == pytest.approx(0.5)
    # fiscal year 2022 evaluated in 2023: P1 has a self-evaluation, P2 not (its 2023 one is a later year)
    assert cov.loc["201", "selfeval_coverage"] == pytest.approx(0.5)
    assert np.isnan(cov.loc["202", "target_coverage"])          # no projects → missing
    assert cov.loc["203", "target_coverage"] == 1.0 and np.isnan(cov.loc["203", "selfeval_coverage"])


@pytest.mark.parametrize("which", ["hand-made", "demo"])
def test_store_coverage_joined_in_duckdb_equals_project_coverage(store, demo_db, which):
    """street_index takes the coverage from one DuckDB query; it equals project_coverage on the
    tables themselves, street by street and year by year (classified, 非本级 and 特殊 projects out)."""
    s = store if which == "hand-made" else Store(demo_db)
    depts = s.table("departments")
    years = [2023] if which == "hand-made" else [2021, 2022, 2023]
    for year in years:
        codes = list(fiscal.peer_streets(depts, s.table("street_fiscal"), year)["dept_code"])
        assert codes
        expected = fiscal.project_coverage(s.table("projects"), s.table("targets"), s.table("self_evaluations"),
                                           depts, codes, year)
        got = fiscal.store_project_coverage(s, depts, codes, year)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        assert expected["eligible_projects"].sum() > 0


def test_index_hand_worked(store, three_rules):
    fi = fiscal.street_index(store, 2023, three_rules)
    # tax share 0.8 / 0.6 / 0.7 → 100 / 0 / 50; execution |x−1| 0.05 / 0.05 / 0.2 → 100 / 100 / 0;
    # admin share 0.1 / 0.2 / 0.15 (lower) → 100 / 0 / 50
    assert fi.scores.loc["201"].tolist() == pytest.approx([100, 100, 100])
    assert fi.scores.loc["202"].tolist() == pytest.approx([0, 100, 0])
    assert fi.scores.loc["203"].tolist() == pytest.approx([50, 0, 50])
    # index: 201 = 100; 202 = 0.3·100 = 30; 203 = 0.5·50 + 0.2·50 = 35
    assert fi.result.loc[["201", "202", "203"], "index"].tolist() == pytest.approx([100, 30, 35])
    assert fi.result.loc[["201", "202", "203"], "rank"].tolist() == [1, 3, 2]
    assert fi.n_streets == 3
    ranking = fi.ranking()
    assert list(ranking["dept_name"]) == ["东风街道办事处", "华山街道办事处", "全福街道办事处"]
    shown = Report.prepare_table(ranking, "fiscal.ranking")
    assert list(shown.columns[:4]) == ["街道编码", "街道", "综合绩效指数", "排名"]
    cmp = fi.comparison("203")
    assert cmp.set_index("key").loc["tax_share", "peer_median_score"] == pytest.approx(50)
    assert cmp["contribution"].sum() == pytest.approx(35)


def test_index_default_framework_redistributes(store, rules):
    fi = fiscal.street_index(store, 2023, rules)
    assert fi.n_streets == 3
    w = fi.framework["weight"]
    # the index is the weighted mean of the scores each street has (independent recomputation)
    for code in ("201", "202", "203"):
        s = fi.scores.loc[code]
        have = s.notna()
        assert fi.result.loc[code, "index"] == pytest.approx((s[have] * w[have]).sum() / w[have].sum())
        assert 0 <= fi.result.loc[code, "index"] <= 100
    # 203 lacks revenue growth, admin cost change, debt, carry-over, 三保 (zero need), self-evaluation
    # (debt is a veto item, not scored: the framework's weights sum to 90)
    assert "debt_ratio" not in fi.framework.index and fi.framework["weight"].sum() == 90
    assert fi.result.loc["203", "weight_available"] == 90 - 10 - 5 - 5 - 15 - 5
    assert fi.values.loc["201", "target_coverage"] == pytest.approx(0.5)


def test_rules_errors(tmp_path, store):
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump({"fiscal": {"indicators": {"value": {
        "happiness": {"name": "幸福感", "weight": 10, "direction": "higher", "group": "其他"}}}}},
        allow_unicode=True), encoding="utf-8")
    with pytest.raises(RulesError, match="happiness"):
        fiscal.street_index(store, 2023, load_rules(p))
    p.write_text("fiscal:\n  missing_indicator: {value: ignore}\n", encoding="utf-8")
    with pytest.raises(RulesError, match="missing_indicator"):
        fiscal.street_index(store, 2023, load_rules(p))


def test_missing_zero_mode(tmp_path, store):
    p = tmp_path / "zero.yaml"
    p.write_text("fiscal:\n  missing_indicator: {value: zero}\n", encoding="utf-8")
    fi = fiscal.street_index(store, 2023, load_rules(p))
    s, w = fi.scores.loc["203"], fi.framework["weight"]
    assert fi.result.loc["203", "index"] == pytest.approx((s.fillna(0) * w).sum() / w.sum())


# --- streets: parameter, evaluation, findings, year over year, section 五 ---------------------------
def test_resolve_street():
    assert fiscal.resolve_street(DEPARTMENTS, "201") == ("201", "东风街道办事处")
    assert fiscal.resolve_street(DEPARTMENTS, "东风街道办事处") == ("201", "东风街道办事处")
    assert fiscal.resolve_street(DEPARTMENTS, "东风街道") == ("201", "东风街道办事处")
    for bad in (None, "", "街道", "999", "区教体局"):
        with pytest.raises(ParameterError):
            fiscal.resolve_street(DEPARTMENTS, bad)
    with pytest.raises(ParameterError, match="东风街道办事处"):   # lists the choices
        fiscal.resolve_street(DEPARTMENTS, "203", candidates=["201"])


def test_facts(store, three_rules, rules):
    facts = fiscal.fiscal_facts(store, 2023, "东风街道", three_rules)
    assert facts == {"fiscal.year": 2023, "fiscal.index": 100.0, "fiscal.rank": 1, "fiscal.streets": 3,
                     "fiscal.pi1": "B", "fiscal.veto": False}
    f2 = fiscal.fiscal_facts(store, 2023, "202", three_rules)
    assert f2 == {"fiscal.year": 2023, "fiscal.index": 30.0, "fiscal.rank": 3, "fiscal.streets": 3,
                  "fiscal.pi1": "C", "fiscal.veto": False}
    assert fiscal.fiscal_facts(store, 2023, "203", rules)["fiscal.pi1"] == "D"
    with pytest.raises(ParameterError):
        fiscal.fiscal_facts(store, 2020, "201", rules)


def test_year_over_year_and_findings(store, three_rules):
    ev = fiscal.evaluate_street(store, 2023, "202", three_rules)
    assert ev.previous is not None and ev.previous.year == 2022
    # 2022 peers 201, 202: tax 0.7 / 0.5 → 100 / 0; execution |x−1| 0.16 / 0.16 → equal → 100 / 100;
    # admin share 10/84 / 30/116 → 100 / 0; 202 = 0.3·100 = 30, rank 2 of 2
    assert ev.previous.result.loc["202", "index"] == pytest.approx(30)
    assert ev.previous.result.loc["202", "rank"] == 2
    raw = ev.year_over_year().set_index("key")
    assert raw.loc["index", "change"] == pytest.approx(0) and raw.loc["tax_share", "change"] == pytest.approx(0.1)
    yoy = Report.prepare_table(fiscal_text.year_over_year_table(ev), "fiscal.year_over_year")
    assert list(yoy.columns) == ["项目", "2022年", "2023年", "变化"]
    assert yoy.loc[0, "2022年"] == "30.00" and yoy.loc[0, "2023年"] == "30.00" and yoy.loc[0, "变化"] == "持平"
    assert yoy.loc[1, "2022年"] == "2/2" and yoy.loc[1, "2023年"] == "3/3"
    assert yoy.set_index("项目").loc["税收占比", "变化"] == "上升 10.00 个百分点"   # 50 % → 60 %
    text = fiscal_text.street_findings(ev, three_rules)
    assert text.startswith("本报告评价 2023 年度（已完成决算的最近一个年度")
    assert "。全福街道办事处2023年财政运行综合绩效指数为30.00分，在参评的3个街道中排名第3位" in text
    assert "与2022年评价相比，综合绩效指数持平，排名由第2位变为第3位" in text
    # weak: tax share (0) and admin cost share (0); PEFA PI-1 C → suggestions
    assert "税收占比为60.00%" in text and "压缩和控制行政成本" in text
    assert "提高税收收入占比" in text and "减少决算与年初预算的偏离" in text
    assert "支出总额执行（PI-1）评为C" in text
    # 203 has no earlier evaluation
    ev3 = fiscal.evaluate_street(store, 2023, "203", three_rules)
    assert ev3.previous is None and ev3.year_over_year() is None and fiscal_text.year_over_year_table(ev3) is None
    text3 = fiscal_text.street_findings(ev3, three_rules)
    assert "评价相比" not in text3
    # one year of data only: PEFA D（数据不足）, and the suggestion is to complete the data
    assert "支出总额执行（PI-1）评为D（数据不足）" in text3 and "保证近三年数据完整" in text3
    assert "减少决算与年初预算的偏离" not in text3


def test_head_lines(store):
    lines = pefa.head_lines(fiscal.fiscal_wide(store.table("street_fiscal")), "201", 2023)
    assert lines.loc["一般公共服务支出", "adjusted"] == pytest.approx(57 * M)
    assert lines["deviation"].sum() == pytest.approx(18 * M)


def test_overview_section(store, three_rules):
    text, facts, ranking = fiscal_text.overview_section(store, 2023, three_rules)
    assert text.startswith("在总结 2022 年度街道级政府财政运行综合绩效评价工作的基础上，")
    assert ("选取东风街道办事处、全福街道办事处、华山街道办事处（共 3 个街道）开展 2023 年"
            "街道级政府财政运行综合绩效评价工作") in text
    assert "东风街道办事处 100.00 分，华山街道办事处 35.00 分，全福街道办事处 30.00 分" in text
    assert "压缩和控制行政成本" in text
    assert facts["fiscal.streets"] == 3
    assert facts["fiscal.index_by_street"] == {"东风街道办事处": 100.0, "华山街道办事处": 35.0, "全福街道办事处": 30.0}
    assert list(ranking["rank"]) == [1, 2, 3]
    # 2022: no 2021 peers with data except 201/202 (both have 2021 rows) → the basis clause stays;
    # 2021: nothing in 2020 → no basis clause
    t21, f21, _ = fiscal_text.overview_section(store, 2021, three_rules)
    assert t21.startswith("选取东风街道办事处、全福街道办事处（共 2 个街道）开展 2021 年") and f21["fiscal.streets"] == 2
    empty, f0, _ = fiscal_text.overview_section(store, 2019, three_rules)
    assert "暂无" in empty and f0["fiscal.streets"] == 0


def test_findings_threshold_is_strict(store, three_rules):
    # 203: tax share 0.7 is the peers' midpoint → score exactly 50 = fiscal.weak_score → not a weakness
    # (strictly below); execution 120 % scores 0 → a weakness with the over-spending suggestion.
    ev = fiscal.evaluate_street(store, 2023, "华山街道", three_rules)
    assert ev.index.scores.loc["203", "tax_share"] == 50
    text = fiscal_text.street_findings(ev, three_rules)
    problems = text.split("存在的主要问题：")[1].split("。")[0]
    assert "支出执行率为120.00%" in problems and "税收占比" not in problems
    assert "杜绝无预算、超预算支出" in text


# --- plots -----------------------------------------------------------------------------------------
def test_plots_draw_chinese_without_missing_glyphs(store, rules):
    import matplotlib.pyplot as plt

    from perflib.present.charts import base, fiscal as plots

    ev = fiscal.evaluate_street(store, 2023, "201", rules)
    bands = pefa.pefa_bands(rules)
    f1 = plots.plot_fiscal_scores(ev.index.comparison("201"), ev.name)
    f2 = plots.plot_fiscal_ranking(ev.index.ranking(), ev.name)
    f3 = plots.plot_fiscal_pefa([s for s in ev.pefa if s.applicable], bands)
    for f in (f1, f2, f3):
        assert base.check_glyphs(f) == []
    # one bar per indicator for the street and one for the median; one bar per street, highlighted
    assert len(f1.axes[0].patches) == 2 * len(ev.index.framework)
    bars = f2.axes[0].patches
    assert len(bars) == 3
    assert sum(1 for b in bars if b.get_facecolor()[:3] != bars[0].get_facecolor()[:3]) in (1, 2)
    assert len(f3.axes) == 3
    plt.close("all")


def test_report_tables(store, three_rules, rules):
    ev = fiscal.evaluate_street(store, 2023, "201", three_rules)
    shown = Report.prepare_table(fiscal.indicator_table(ev), "fiscal.indicators")
    tab = shown.set_index("指标").loc[["税收占比", "支出执行率", "行政成本占比"]]
    assert list(tab["本街道取值（%）"]) == pytest.approx([80.0, 95.0, 10.0])
    assert list(tab["计入指数的分值"]) == pytest.approx([50.0, 30.0, 20.0])    # sums to the index 100
    heads = Report.prepare_table(fiscal.heads_table(ev), "fiscal.heads")
    assert heads.set_index("功能科目").loc["城乡社区支出", "调整后预算数（万元）"] == pytest.approx(3800)
    fw = Report.prepare_table(fiscal_text.framework_table(rules), "fiscal.framework")
    assert len(fw) == 10 and fw["权重"].sum() == 90 and set(fw["性质"]) == {"假设（可配置）"}
    assert "年以前没有" in fiscal_text.year_over_year_text(fiscal.evaluate_street(store, 2023, "203", rules))
    assert "上一次评价为2022年" in fiscal_text.year_over_year_text(ev)
    text = fiscal_text.method_text(rules)
    assert "含上下限" in text and "严格低于" in text and "至少 2 年" in text and "按比例分配" in text


def test_overview_section_5_uses_the_fiscal_module(store, rules):
    from perflib.present.text import overview

    sec = overview.section_5(store, 2023, rules)
    assert "待补充" not in sec.text
    assert "选取东风街道办事处、全福街道办事处、华山街道办事处（共 3 个街道）开展 2023 年" in sec.text
    assert sec.facts["fiscal.streets"] == 3
    fi = fiscal.street_index(store, 2023, rules)
    for code, name in (("201", "东风街道办事处"), ("202", "全福街道办事处"), ("203", "华山街道办事处")):
        assert f"{name} {fi.result.loc[code, 'index']:.2f} 分" in sec.text
    assert sec.tables and len(sec.tables[0].frame) == 3


def test_runner_fans_out_over_the_streets_evaluated_that_year(store):
    from perflib.run.plan import PARAMETERS

    kind = PARAMETERS["street"]
    assert [c for c, _ in kind.choices(store, 2023)] == ["201", "202", "203"]
    assert [c for c, _ in kind.choices(store, 2022)] == ["201", "202"]      # 203 has no 2022 data
    assert kind.resolve(store, 2023, "东风街道") == ("201", "东风街道办事处")
    with pytest.raises(ParameterError):
        kind.resolve(store, 2022, "华山街道办事处")


def test_single_street_is_flagged(rules):
    frames = {"departments": DEPARTMENTS,
              "street_fiscal": fiscal_frame({"201": {2023: {**FISCAL["201"][2023], "债务余额": 0}}})}
    st1 = Store.from_frames(frames)
    ev = fiscal.evaluate_street(st1, 2023, "201", rules)
    assert ev.facts["fiscal.streets"] == 1 and ev.facts["fiscal.rank"] == 1
    assert ev.facts["fiscal.index"] == 100.0            # every indicator it has: fiscal.equal_values_score
    assert "当年仅 1 个街道参评" in fiscal_text.street_findings(ev, rules)
    text, facts, _ = fiscal_text.overview_section(st1, 2023, rules)
    assert text.startswith("选取东风街道办事处开展 2023 年街道级政府财政运行综合绩效评价工作。")


# --- the evaluated year: the last one with a final 决算 ----------------------------------------------
def _payments(*dates):
    return pd.DataFrame([{"project_id": "P1", "year": int(d[:4]), "pay_date": pd.Timestamp(d), "amount": 100.0}
                         for d in dates])


def test_year_still_running_evaluates_the_last_completed_year(three_rules):
    """Payments of 2023 stop on 31 July: 2023 is not over, its 决算 not final → the 2023 report
    evaluates 2022 (whose payments reach December), index and PEFA window included."""
    st_ = Store.from_frames({"departments": DEPARTMENTS, "projects": PROJECTS, "targets": TARGETS,
                             "self_evaluations": SELF_EVALS, "street_fiscal": fiscal_frame(),
                             "payments": _payments("2022-12-20", "2023-07-31")})
    basis = fiscal.store_evaluated_year(st_, 2023, three_rules)
    assert (basis.requested, basis.year, basis.skipped) == (2023, 2022, [(2023, "running", 7)])
    ev = fiscal.evaluate_street(st_, 2023, "201", three_rules)
    assert ev.year == 2022 and ev.facts["fiscal.year"] == 2022
    # independent: the 2022 index (peers 201, 202; see test_year_over_year_and_findings: 202 → 30)
    assert ev.index.year == 2022 and ev.facts["fiscal.streets"] == 2
    assert ev.index.result.loc["202", "index"] == pytest.approx(30)
    # PEFA over 2020–2022: PI-1 of 201 is 1.10 (B) in 2021 and 0.84 (D) in 2022, 2020 without data
    pi1 = ev.pefa[0]
    assert list(pi1.yearly["year"]) == [2020, 2021, 2022] and pi1.grade == "D"
    text = fiscal_text.street_findings(ev, three_rules)
    assert text.startswith("本报告评价 2022 年度") and "2023 年支付数据只到 7 月，年度尚未结束，决算未完成" in text
    sec, facts, _ = fiscal_text.overview_section(st_, 2023, three_rules)
    assert "2023 年选取东风街道办事处、全福街道办事处（共 2 个街道）开展街道级政府财政运行综合绩效评价工作，评价 2022 年度" in sec
    assert facts["fiscal.year"] == 2022 and facts["fiscal.streets"] == 2
    # a December payment makes 2023 final again
    st2 = Store.from_frames({"departments": DEPARTMENTS, "street_fiscal": fiscal_frame(), "projects": PROJECTS,
                             "payments": _payments("2023-12-28")})
    assert fiscal.store_evaluated_year(st2, 2023, three_rules).year == 2023


def test_incomplete_outturn_evaluates_the_previous_year(three_rules):
    """No payments: a year is final when every street with data has both 决算 figures."""
    data = {k: {y: dict(v) for y, v in years.items()} for k, years in FISCAL.items()}
    del data["203"][2023]["一般公共预算支出"]
    sf = fiscal_frame(data)
    basis = fiscal.evaluated_year(sf, DEPARTMENTS, 2023, lambda y: None, 12)
    assert basis.year == 2022 and basis.skipped == [(2023, "incomplete", ["华山街道办事处"])]
    assert fiscal.evaluated_year(sf, DEPARTMENTS, 2022, lambda y: None, 12).year == 2022
    none = fiscal.evaluated_year(sf, DEPARTMENTS, 2019, lambda y: None, 12)
    assert none.year is None and none.skipped == []
    st_ = Store.from_frames({"departments": DEPARTMENTS, "street_fiscal": sf})
    with pytest.raises(ParameterError, match="决算已完成"):
        fiscal.evaluate_street(st_, 2019, "201", three_rules)
    text, facts, _ = fiscal_text.overview_section(st_, 2019, three_rules)
    assert "暂无决算已完成" in text and facts == {"fiscal.streets": 0}
    ev = fiscal.evaluate_street(st_, 2023, "201", three_rules)
    assert "2023 年有 1 个街道缺少决算数（一般公共预算收入或支出）：华山街道办事处" in fiscal_text.street_findings(ev, three_rules)


# --- the debt veto ---------------------------------------------------------------------------------
def test_debt_is_a_veto_not_a_scored_indicator(store, rules, tmp_path):
    """201 owes 46.5 百万元 in 2023 (streets may not borrow): 一票否决 — index shown, no rank; debt is
    not scored, the index is the weighted mean over the other indicators; 202 (debt 0) and 203 (no
    debt row) are ranked among themselves."""
    assert rules.value("fiscal.debt_veto") is True
    assert "第三十五条" in rules.entry("fiscal.debt_veto").source
    fi = fiscal.street_index(store, 2023, rules)
    assert "debt_ratio" not in fi.framework.index
    r = fi.result
    assert r["veto"].to_dict() == {"201": True, "202": False, "203": False}
    assert r.loc["201", "debt"] == pytest.approx(46.5 * M)
    assert pd.isna(r.loc["201", "rank"])
    # independent recomputation of each index without the debt indicator, and of the ranks of 202/203
    w = {k: v["weight"] for k, v in rules.value("fiscal.indicators").items() if k != "debt_ratio"}
    idx = {}
    for code in ("201", "202", "203"):
        s = fi.scores.loc[code].dropna()
        idx[code] = sum(s[k] * w[k] for k in s.index) / sum(w[k] for k in s.index)
        assert r.loc[code, "index"] == pytest.approx(idx[code])
    order = sorted(("202", "203"), key=lambda c: -idx[c])
    assert [int(r.loc[c, "rank"]) for c in order] == [1, 2]
    assert fi.vetoed == ["东风街道办事处"]
    ev = fiscal.evaluate_street(store, 2023, "201", rules)
    assert ev.facts["fiscal.veto"] is True and ev.facts["fiscal.rank"] is None
    text = fiscal_text.street_findings(ev, rules)
    assert "年末债务余额为4,650.00万元" in text and "一票否决，不参与排名" in text and "街道不得举借债务" in text
    assert "制定化解方案" in text
    assert "一票否决" in fiscal_text.method_text(rules)
    shown = Report.prepare_table(fi.ranking(), "fiscal.ranking")
    assert "债务一票否决" in shown.columns
    sec, facts, _ = fiscal_text.overview_section(store, 2023, rules)
    assert facts["fiscal.vetoed"] == ["东风街道办事处"] and "东风街道办事处年末有债务余额" in sec
    assert f"东风街道办事处 {r.loc['201', 'index']:.2f} 分（一票否决）" in sec
    # the year-over-year sentence compares no rank the vetoed street does not have
    assert "与2022年评价相比，综合绩效指数" in text and "排名由" not in text
    # switched off: debt is scored again as before and 201 is ranked
    p = tmp_path / "noveto.yaml"
    p.write_text("fiscal:\n  debt_veto: {value: false}\n", encoding="utf-8")
    off = fiscal.street_index(store, 2023, load_rules(p))
    assert "debt_ratio" in off.framework.index and "veto" not in off.result.columns
    assert not pd.isna(off.result.loc["201", "rank"])


# --- PEFA PI-2.2 by economic classification ----------------------------------------------------------
def test_pi22_by_economic_classification(rules):
    """经济分类 rows for 201 (百万元): budget 50/50 each year; outturn 2021 57/49 → Σo 106, adj 53/53,
    |dev| 4+4 = 8 → 8/106 (B); 2022 52/48 → 4/100 (A); 2023 60/35 → Σo 95, adj 47.5/47.5, |dev| 25 →
    25/95 (D). A once, ≥B twice → B. 202 has no such rows → 不适用."""
    data = {k: {y: dict(v) for y, v in years.items()} for k, years in FISCAL.items()}
    for y, (a, b) in {2021: (57, 49), 2022: (52, 48), 2023: (60, 35)}.items():
        data["201"][y].update({"经济分类预算数:工资福利支出": 50, "经济分类预算数:商品和服务支出": 50,
                               "经济分类决算数:工资福利支出": a, "经济分类决算数:商品和服务支出": b})
    wide = fiscal.fiscal_wide(fiscal_frame(data))
    s = {x.code: x for x in pefa.pefa_scores(wide, "201", 2023, rules)}["PI-2.2"]
    assert s.yearly["value"].tolist() == pytest.approx([8 / 106, 4 / 100, 25 / 95])
    assert list(s.yearly["grade"]) == ["B", "A", "D"] and s.grade == "B" and s.applicable
    assert {x.code: x for x in pefa.pefa_scores(wide, "202", 2023, rules)}["PI-2.2"].grade == "不适用"
    st_ = Store.from_frames({"departments": DEPARTMENTS, "street_fiscal": fiscal_frame(data)})
    ev = fiscal.evaluate_street(st_, 2023, "201", rules)
    econ = Report.prepare_table(fiscal.heads_table(ev, econ=True), "fiscal.econ").set_index("经济分类")
    assert econ.loc["商品和服务支出", "调整后预算数（万元）"] == pytest.approx(4750)
    assert "支出结构偏差（PI-2.2）评为B（近 3 年中 2 年达到）" in fiscal_text.street_findings(ev, rules)
    ev2 = fiscal.evaluate_street(st_, 2023, "202", rules)
    assert "PI-2.2（按经济分类的支出结构偏差）不适用" in fiscal_text.street_findings(ev2, rules)
