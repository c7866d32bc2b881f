"""双监控 on a small hand-made store: execution vs time progress, bands at their exact boundaries,
months 1 and 12, zero budget, key projects (answers worked out by hand in each test)."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from perflib import monitoring as mon
from perflib.exceptions import ParameterError
from perflib.rules import load_rules
from perflib.store import Store

RULES = load_rules()


def _project(pid, dept, amount, *, adjusted=None, year=2023, kind="一般公共预算", classified=False,
             name=None):
    return dict(project_id=pid, year=year, dept_code=dept, project_name=name or f"项目{pid}",
                project_type=None, budget_kind=kind, fund_source="本级", budget_amount=amount,
                adjusted_amount=adjusted, is_classified=classified, is_special=False)


def _pay(pid, date, amount, year=2023):
    return dict(project_id=pid, year=year, pay_date=pd.Timestamp(date), amount=amount)


def frames():
    departments = pd.DataFrame({
        "dept_code": ["100", "101", "200"],
        "dept_name": ["区教体局", "区实验小学", "区科技局"],
        "parent_code": [None, "100", None],
        "sector": [None] * 3,
        "is_street": [False] * 3,
    })
    projects = pd.DataFrame([
        _project("M1", "100", 1200.0),                  # 580 by July: gap exactly −10 pp → green
        _project("M2", "101", 1200.0),                  # 460: exactly −20 pp → yellow
        _project("M3", "200", 1200.0),                  # 459.99: just below −20 pp → red
        _project("M4", "200", 1200.0, kind="政府性基金预算"),  # 579.99: just below −10 pp → yellow
        _project("M5", "200", 0.0),                     # zero budget → 无预算
        _project("M6", "100", 1000.0, adjusted=2000.0),  # 2000 spent: 100 % → green
        _project("S1", "100", 500.0, classified=True, name="某专项保障经费"),
    ])
    payments = pd.DataFrame([
        _pay("M1", "2023-01-15", 100.0), _pay("M1", "2023-07-31", 480.0),
        _pay("M1", "2023-08-01", 100.0), _pay("M1", "2023-12-31", 20.0),
        _pay("M2", "2023-03-10", 460.0),
        _pay("M3", "2023-07-31", 459.99),
        _pay("M4", "2023-01-31", 79.99), _pay("M4", "2023-06-30", 500.0),
        _pay("M6", "2023-02-01", 2000.0),
        _pay("S1", "2023-05-05", 50.0),
    ])
    monitoring = pd.DataFrame([
        dict(project_id="M2", year=2023, as_of_month=7, indicator="培训人次", actual_value="5",
             deviation_reason=None, likelihood="确定能", key_monitored=True),
        dict(project_id="M1", year=2023, as_of_month=7, indicator="培训人次", actual_value="8",
             deviation_reason=None, likelihood="确定能", key_monitored=False),
    ])
    return dict(departments=departments, projects=projects, payments=payments,
                monitoring=monitoring)


@pytest.fixture(scope="module")
def store():
    s = Store.from_frames(frames())
    yield s
    s.close()


FACT_NAMES = {
    "monitoring.as_of_month", "monitoring.projects", "monitoring.budget", "monitoring.spent",
    "monitoring.execution_rate", "monitoring.time_progress", "monitoring.red", "monitoring.yellow",
    "monitoring.green", "monitoring.key_projects", "monitoring.key_amount",
}


def test_facts_july(store):
    f = mon.monitoring_facts(store, 2023, 7, RULES)
    assert set(f) == FACT_NAMES
    assert f["monitoring.as_of_month"] == 7
    assert f["monitoring.projects"] == 6                      # S1 classified is out
    assert f["monitoring.budget"] == 6800.0                   # 4 × 1200 + 0 + 2000 (adjusted)
    assert f["monitoring.spent"] == 4079.98                   # 580 + 460 + 459.99 + 579.99 + 2000
    assert f["monitoring.execution_rate"] == pytest.approx(4079.98 / 6800)
    assert f["monitoring.time_progress"] == pytest.approx(7 / 12)
    assert (f["monitoring.red"], f["monitoring.yellow"], f["monitoring.green"]) == (1, 2, 2)
    assert f["monitoring.key_projects"] == 1 and f["monitoring.key_amount"] == 1200.0


def test_bands_at_exact_boundaries(store):
    pe = mon.project_execution(store, 2023, 7, RULES).set_index("project_id")
    assert pe.loc["M1", "band"] == mon.GREEN      # gap = 580/1200 − 7/12 = −0.10 exactly: green (≥)
    assert pe.loc["M4", "band"] == mon.YELLOW     # a fen less: yellow
    assert pe.loc["M2", "band"] == mon.YELLOW     # gap = −0.20 exactly: yellow (≥ yellow_min_gap)
    assert pe.loc["M3", "band"] == mon.RED        # a fen less: red
    assert pe.loc["M6", "band"] == mon.GREEN


def test_zero_budget_project_has_no_rate_and_no_band(store):
    pe = mon.project_execution(store, 2023, 7, RULES).set_index("project_id")
    assert np.isnan(pe.loc["M5", "execution_rate"]) and np.isnan(pe.loc["M5", "gap"])
    assert pe.loc["M5", "band"] == mon.NO_BUDGET
    assert not np.isinf(pe["execution_rate"]).any()
    s = mon.execution_summary(pe.reset_index(), "level1_code").set_index("level1_code")
    assert s.loc["200", mon.NO_BUDGET] == 1


def test_only_zero_budget_gives_no_rate():
    fr = frames()
    fr["projects"] = fr["projects"][fr["projects"]["project_id"] == "M5"]
    fr["payments"] = fr["payments"].iloc[0:0]
    fr["monitoring"] = fr["monitoring"].iloc[0:0]
    s = Store.from_frames(fr)
    f = mon.monitoring_facts(s, 2023, 7, RULES)
    assert f["monitoring.projects"] == 1 and f["monitoring.budget"] == 0.0
    assert f["monitoring.execution_rate"] is None
    assert f["monitoring.red"] + f["monitoring.yellow"] + f["monitoring.green"] == 0


def test_month_1(store):
    f = mon.monitoring_facts(store, 2023, 1, RULES)
    assert f["monitoring.time_progress"] == pytest.approx(1 / 12)
    assert f["monitoring.spent"] == 100.0 + 79.99       # M1 15 Jan, M4 31 Jan
    pe = mon.project_execution(store, 2023, 1, RULES).set_index("project_id")
    # M1: 100/1200 − 1/12 = 0 → green; M2: 0 − 1/12 ≈ −8.3 pp → green; M4: 79.99/1200 − 1/12 → green
    assert pe.loc["M2", "band"] == mon.GREEN
    # M6: 0 of 2000 − 1/12 → green too (−8.3 pp ≥ −10 pp)
    assert f["monitoring.red"] == 0 and f["monitoring.green"] == 5


def test_month_12_counts_every_payment_of_the_year(store):
    f = mon.monitoring_facts(store, 2023, 12, RULES)
    assert f["monitoring.time_progress"] == 1.0
    assert f["monitoring.spent"] == 4079.98 + 100.0 + 20.0
    f11 = mon.monitoring_facts(store, 2023, 11, RULES)
    assert f11["monitoring.spent"] == 4079.98 + 100.0    # the 31 Dec payment is not in November
    pe = mon.project_execution(store, 2023, 12, RULES).set_index("project_id")
    # M1 700/1200 − 1 = −41.7 pp → red; M6 2000/2000 − 1 = 0 → green
    assert pe.loc["M1", "band"] == mon.RED and pe.loc["M6", "band"] == mon.GREEN


@pytest.mark.parametrize("bad", [0, 13, "七", 7.5, None])
def test_bad_month_is_a_parameter_error(store, bad):
    with pytest.raises(ParameterError):
        mon.monitoring_facts(store, 2023, bad, RULES)


def test_dept_filter_includes_sub_units(store):
    f = mon.monitoring_facts(store, 2023, 7, RULES, dept="100")
    assert f["monitoring.projects"] == 3                 # M1, M2 (sub-unit 101), M6
    assert f["monitoring.budget"] == 4400.0
    assert f["monitoring.spent"] == 3040.0
    assert f["monitoring.key_projects"] == 1
    f2 = mon.monitoring_facts(store, 2023, 7, RULES, dept="200")
    assert f2["monitoring.key_projects"] == 0 and f2["monitoring.key_amount"] == 0.0


def test_rules_move_the_boundaries(tmp_path, store):
    p = tmp_path / "r.yaml"
    p.write_text("monitoring:\n  green_min_gap: {value: -0.05}\n  yellow_min_gap: {value: -0.10}\n",
                 encoding="utf-8")
    pe = mon.project_execution(store, 2023, 7, load_rules(p)).set_index("project_id")
    assert pe.loc["M1", "band"] == mon.YELLOW            # −10 pp is now exactly the yellow floor
    assert pe.loc["M4", "band"] == mon.RED


def _oracle(spent_fen, budget_fen, month):
    if budget_fen == 0:
        return mon.NO_BUDGET
    gap = Fraction(spent_fen, budget_fen) - Fraction(month, 12)
    if gap >= Fraction(-1, 10):
        return mon.GREEN
    if gap >= Fraction(-2, 10):
        return mon.YELLOW
    return mon.RED


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**12), st.integers(0, 10**12)), min_size=1, max_size=20),
       st.integers(1, 12))
def test_vectorised_bands_match_exact_fractions(pairs, month):
    spent = [s for s, _ in pairs]
    budget = [b for _, b in pairs]
    got = mon.bands(spent, budget, month, RULES)
    assert list(got) == [_oracle(s, b, month) for s, b in pairs]


@given(st.integers(1, 12), st.integers(1, 10**9))
def test_boundary_budgets_land_where_the_rule_says(month, budget_fen):
    # spent chosen so that gap is exactly −10 pp / −20 pp whenever that is a whole number of fen
    for pp, band in ((Fraction(-1, 10), mon.GREEN), (Fraction(-2, 10), mon.YELLOW)):
        spent = (Fraction(month, 12) + pp) * budget_fen
        if spent >= 0 and spent.denominator == 1:
            assert mon.band_exact(int(spent), budget_fen, month, RULES) == band
            assert mon.bands([int(spent)], [budget_fen], month, RULES)[0] == band
