"""双监控 on a small hand-made store: execution vs time progress, bands at their exact boundaries,
months 1 and 12, zero budget, key projects (answers worked out by hand in each test)."""
from __future__ import annotations

import datetime as dt
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from perflib.analysis import monitoring as mon
from perflib.present.text import monitoring as mon_text
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
    def mo(pid, month, indicator, actual, likelihood="确定能", reason=None, key=False):
        return dict(project_id=pid, year=2023, as_of_month=month, indicator=indicator,
                    actual_value=actual, deviation_reason=reason, likelihood=likelihood,
                    key_monitored=key)

    monitoring = pd.DataFrame([
        mo("M1", 5, "培训人次", "2"),                                  # older snapshot
        mo("M1", 7, "培训人次", "8"), mo("M1", 7, "满意度", "良"), mo("M1", 7, "覆盖率", "150"),
        mo("M2", 7, "培训人次", "5", "有可能", "制度保障", key=True),
        mo("M2", 7, "单位成本", "120", key=True),
        mo("M3", 7, "建设进度", "1", "完全不可能", "经费保障"),
        mo("M6", 7, "完成量", "80"),
    ])

    def tg(pid, level1, indicator, direction, value, unit=None, level2=None):
        return dict(project_id=pid, dept_code="100", year=2023, level1=level1, level2=level2,
                    indicator=indicator, direction=direction, target_value=value, unit=unit,
                    weight=None)

    targets = pd.DataFrame([
        tg("M1", "产出指标", "培训人次", "≥", "10", "人次"),
        tg("M1", "满意度指标", "满意度", "定性", "优"),
        tg("M1", "效益指标", "覆盖率", "≥", "50", "%"),
        tg("M2", "产出指标", "培训人次", "≥", "10", "人次"),
        tg("M2", "成本指标", "单位成本", "≤", "100", "元"),
        tg("M3", "产出指标", "建设进度", "≥", "10", "%", level2="数量指标"),  # level2 wins over %
        tg("M6", "产出指标", "完成量", "≥", "100", "件"),
    ])
    # prior year: M1 again (own profile: 500 of 1000 by July → share 0.5) and P9 (only in 2022)
    projects = pd.concat([projects, pd.DataFrame([
        _project("M1", "100", 1000.0, year=2022),
        _project("P9", "200", 1000.0, year=2022),
    ])], ignore_index=True)
    payments = pd.concat([payments, pd.DataFrame([
        _pay("M1", "2022-03-01", 200.0, 2022), _pay("M1", "2022-07-20", 300.0, 2022),
        _pay("M1", "2022-11-30", 500.0, 2022),
        _pay("P9", "2022-06-01", 900.0, 2022), _pay("P9", "2022-12-20", 100.0, 2022),
    ])], ignore_index=True)
    return dict(departments=departments, projects=projects, payments=payments,
                monitoring=monitoring, targets=targets)


@pytest.fixture(scope="module")
def store():
    s = Store.from_frames(frames())
    yield s
    s.close()


FACT_NAMES = {
    "monitoring.as_of_month", "monitoring.projects", "monitoring.budget", "monitoring.spent",
    "monitoring.execution_rate", "monitoring.time_progress", "monitoring.red", "monitoring.yellow",
    "monitoring.green", "monitoring.key_projects", "monitoring.key_amount", "monitoring.over_budget",
    "monitoring.by_source",
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


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**22), st.integers(0, 10**22)), min_size=1, max_size=20),
       st.integers(1, 12), st.sampled_from(["int64", "uint64", "object", "list"]))
def test_bands_and_over_budget_are_exact_at_any_size_and_in_any_integer_array(pairs, month, kind):
    """int64 arithmetic where it cannot overflow (the fast path), Python ints beyond: the same
    answers as exact fractions either way, whatever array the fen come in."""
    def arr(values):
        if kind == "list":
            return list(values)
        if kind in ("int64", "uint64") and max(values) >= (2**63 if kind == "int64" else 2**64):
            return np.asarray(values, dtype=object)
        return np.asarray(values, dtype=kind)
    spent = [sp for sp, _ in pairs]
    budget = [b for _, b in pairs]
    assert list(mon.bands(arr(spent), arr(budget), month, RULES)) == [_oracle(sp, b, month) for sp, b in pairs]
    rate = Fraction(str(RULES.value("monitoring.over_execution_rate")))
    assert list(mon.over_budget(arr(spent), arr(budget), RULES)) == [
        Fraction(sp) > Fraction(b) * rate for sp, b in pairs]


def test_the_int64_path_stops_where_a_product_could_overflow():
    """Values at the edge of the fast path and just past it give the exact answers (one pair that
    would overflow int64 arithmetic if it were taken: 2**62 fen × 240 is far beyond 2**63)."""
    for value in (2**55, 2**58, 2**62, 2**63 - 1):
        spent = np.asarray([value, value - 1, 0], dtype=np.int64)
        budget = np.asarray([value, value, value], dtype=np.int64)
        got = mon.bands(spent, budget, 7, RULES)
        assert list(got) == [_oracle(int(a), int(b), 7) for a, b in zip(spent, budget)]


@given(st.integers(1, 12), st.integers(1, 10**9))
def test_boundary_budgets_land_where_the_rule_says(month, budget_fen):
    # spent chosen so that gap is exactly −10 pp / −20 pp whenever that is a whole number of fen
    for pp, band in ((Fraction(-1, 10), mon.GREEN), (Fraction(-2, 10), mon.YELLOW)):
        spent = (Fraction(month, 12) + pp) * budget_fen
        if spent >= 0 and spent.denominator == 1:
            assert mon.band_exact(int(spent), budget_fen, month, RULES) == band
            assert mon.bands([int(spent)], [budget_fen], month, RULES)[0] == band


# --- monthly curves -------------------------------------------------------------------------
def test_monthly_curve_district_and_prior_year(store):
    monthly = mon.monthly_execution(store, 2023, 7, RULES)
    curve = mon.execution_curve(monthly).set_index(["year", "month"])
    assert curve.loc[(2023, 7), "cum_spent"] == pytest.approx(4079.98)
    assert curve.loc[(2023, 1), "cum_spent"] == pytest.approx(179.99)
    assert curve.loc[(2023, 7), "cum_rate"] == pytest.approx(4079.98 / 6800)
    assert (2023, 8) not in curve.index                     # nothing drawn past the as-of month
    # 2022: budgets M1 1000 + P9 1000; by July 200 + 300 + 900 = 1400; December all 2000
    assert curve.loc[(2022, 7), "cum_rate"] == pytest.approx(0.7)
    assert curve.loc[(2022, 12), "cum_rate"] == pytest.approx(1.0)
    assert curve.loc[(2022, 6), "time_progress"] == pytest.approx(0.5)


def test_monthly_curve_per_department(store):
    monthly = mon.monthly_execution(store, 2023, 7, RULES, dept="100")
    assert set(monthly["level1_code"]) == {"100"}
    c = mon.execution_curve(monthly).set_index(["year", "month"])
    assert c.loc[(2023, 7), "budget"] == 4400.0              # M1 1200 + M2 1200 + M6 2000
    assert c.loc[(2023, 7), "cum_spent"] == pytest.approx(3040.0)
    assert c.loc[(2022, 7), "cum_rate"] == pytest.approx(0.5)  # only M1 in 2022


def test_prior_years_are_read_narrow_for_the_curves_and_the_trend(demo_db):
    """The monthly curves and the 历年同期 table read a prior year's projects narrow (the budget
    columns they use), not its whole frame (a province's year is ~100 MB whole), and give the frames
    the whole frames give."""
    from perflib.analysis import trends

    narrow, whole = Store(demo_db), Store(demo_db)
    full = Store.projects
    whole.projects = lambda year=None, columns=None: full(whole, year)  # as before: the whole frame
    year = narrow.latest_year()
    d = narrow.departments()
    for dept in (None, d.loc[d["is_level1"], "dept_code"].iloc[0], "no-such-unit"):
        for f in (mon.monthly_execution, trends.execution_by_year):
            pd.testing.assert_frame_equal(f(narrow, year, 7, RULES, dept), f(whole, year, 7, RULES, dept),
                                          check_exact=True)
    held = set(narrow._cache)
    assert ("projects", (year - 1,)) not in held
    assert ("projects", (year - 1,), mon.BUDGET_COLUMNS) in held
    narrow.close()
    whole.close()


def test_a_years_payments_by_project_are_read_once_per_store_for_the_month_and_the_trend(demo_db, monkeypatch):
    """The month's execution and the 历年同期 row of the same year share one query of the payments
    (a province's ~0.07 s), and give what each read alone gives."""
    from perflib.analysis import trends

    shared, alone = Store(demo_db), Store(demo_db)
    year = shared.latest_year()
    asked = []
    real = Store.sql
    monkeypatch.setattr(Store, "sql", lambda self, q, params=None: (asked.append((self, q, list(params or []))),
                                                                    real(self, q, params))[1])
    pe = mon.project_execution(shared, year, 7, RULES)
    by_year = trends.execution_by_year(shared, year, 7, RULES)
    spent_queries = [p for st, q, p in asked if st is shared and "spent_fen FROM payments" in " ".join(q.split())
                     and "econ_code" not in q]
    assert spent_queries.count([year, mon.month_end(year, 7)]) == 1
    monkeypatch.setattr(Store, "sql", real)
    independent = alone.sql("SELECT project_id, CAST(round(sum(amount) * 100) AS BIGINT) AS spent_fen FROM payments "
                            "WHERE year = ? AND pay_date <= ? GROUP BY project_id", [year, mon.month_end(year, 7)])
    got = mon.spent_by_project(shared, year, 7)
    assert mon.spent_by_project(shared, year, 7) is got
    pd.testing.assert_frame_equal(got.sort_values("project_id").reset_index(drop=True),
                                  alone.redact_frame(independent).sort_values("project_id").reset_index(drop=True))
    row = by_year.set_index("year").loc[year]
    assert row["spent"] == pytest.approx(pe["spent_fen"].sum() / 100.0, abs=0.005)
    assert int(row["projects"]) == len(pe)
    shared.close()
    alone.close()


def test_the_target_side_paragraph_takes_the_summaries_the_report_shows(store):
    ind = mon.target_progress(store, 2023, 7, RULES)
    pp = mon.project_target_progress(ind)
    pe = mon.project_execution(store, 2023, 7, RULES)
    made = mon_text.target_side_text(ind, pp, pe, RULES)
    given = mon_text.target_side_text(ind, pp, pe, RULES, likelihood=mon.likelihood_summary(ind),
                                      disagreement=mon.money_target_disagreement(pe, pp, RULES))
    assert given == made and "资金快、目标慢 1 个，目标快、资金慢 1 个" in made


def test_slowest_departments_leave_out_zero_budget(store):
    s = mon.execution_summary(mon.project_execution(store, 2023, 7, RULES),
                              ["level1_code", "level1_name"])
    slow = mon.slowest_departments(s, n=1)
    # 100: 3040/4400 = 0.69; 200: (459.99 + 579.99)/2400 = 0.433
    assert list(slow["level1_code"]) == ["200"]
    assert slow["execution_rate"].iloc[0] == pytest.approx(1039.98 / 2400)


# --- projection -----------------------------------------------------------------------------
def test_projection_own_profile_district_fallback_and_caps(store):
    p = mon.year_end_projection(store, 2023, 7, RULES).set_index("project_id")
    # M1 has its own 2022 profile: 500 of 1000 by July → share 0.5; 580 / 0.5 = 1160 of 1200
    assert p.loc["M1", "profile"] == mon.PROFILE_PROJECT
    assert p.loc["M1", "share"] == pytest.approx(0.5)
    assert p.loc["M1", "projected_spent"] == pytest.approx(1160.0)
    assert p.loc["M1", "projected_unspent"] == pytest.approx(40.0)
    # M2 has no 2022 data: district profile (500 + 900) / 2000 = 0.7
    assert p.loc["M2", "profile"] == mon.PROFILE_DISTRICT
    assert p.loc["M2", "share"] == pytest.approx(0.7)
    assert p.loc["M2", "projected_spent"] == pytest.approx(460 / 0.7)
    assert p.loc["M2", "projected_unspent"] == pytest.approx(1200 - 460 / 0.7)
    # M6: 2000 / 0.7 exceeds the budget → capped at the budget, nothing unspent
    assert p.loc["M6", "projected_spent"] == pytest.approx(2000.0)
    assert p.loc["M6", "projected_unspent"] == 0.0
    # zero budget: nothing projected, no rate
    assert p.loc["M5", "projected_spent"] == 0.0 and np.isnan(p.loc["M5", "projected_rate"])
    total = mon.projection_summary(p.reset_index()).iloc[0]
    assert total["projected_unspent"] == pytest.approx(
        40 + (1200 - 460 / 0.7) + (1200 - 459.99 / 0.7) + (1200 - 579.99 / 0.7))


def test_projection_leaves_out_classified_and_unknown_prior_year_payments():
    """The district's prior-year profile counts only that year's unclassified projects: neither the
    payments of a project classified that year (S2) nor payments whose code no project holds (Z9)
    enter it."""
    fr = frames()
    fr["projects"] = pd.concat([fr["projects"], pd.DataFrame([
        _project("S2", "100", 1000.0, year=2022, classified=True),
    ])], ignore_index=True)
    fr["payments"] = pd.concat([fr["payments"], pd.DataFrame([
        _pay("S2", "2022-01-10", 1000.0, 2022),
        _pay("Z9", "2022-02-01", 500.0, 2022),
    ])], ignore_index=True)
    with Store.from_frames(fr) as s:
        p = mon.year_end_projection(s, 2023, 7, RULES).set_index("project_id")
    assert p.loc["M1", "profile"] == mon.PROFILE_PROJECT and p.loc["M1", "share"] == pytest.approx(0.5)
    # the district's profile as without S2 and Z9: (500 + 900) / (1000 + 1000)
    assert p.loc["M2", "profile"] == mon.PROFILE_DISTRICT
    assert p.loc["M2", "share"] == pytest.approx(0.7)


def test_projection_in_december_is_what_was_spent(store):
    p = mon.year_end_projection(store, 2023, 12, RULES)
    assert (p["share"] == 1.0).all()
    assert np.allclose(p["projected_spent"], p["spent"])


def test_projection_without_prior_year_uses_time_progress():
    fr = frames()
    fr["projects"] = fr["projects"][fr["projects"]["year"] == 2023]
    fr["payments"] = fr["payments"][fr["payments"]["year"] == 2023]
    s = Store.from_frames(fr)
    p = mon.year_end_projection(s, 2023, 7, RULES).set_index("project_id")
    assert p.loc["M1", "profile"] == mon.PROFILE_LINEAR
    assert p.loc["M1", "share"] == pytest.approx(7 / 12)
    assert p.loc["M2", "projected_spent"] == pytest.approx(460 * 12 / 7)


# --- target side ----------------------------------------------------------------------------
def test_indicator_completion_rules():
    d = pd.Series(["≥", "≤", "≤", "定性", "定性", "=", "≥", "≥"])
    t = pd.Series(["10", "100", "100", "优", "优", "4", "0", "10"])
    a = pd.Series(["8", "90", "125", "良", "尚可", "4", "3", None])
    c = mon.indicator_completion(d, t, a, RULES)
    assert list(c[:3]) == pytest.approx([0.8, 1.0, 0.8])
    assert c[3] == pytest.approx(0.8)                      # 良 → 0.8 (qualitative_tiers)
    assert np.isnan(c[4]) and np.isnan(c[6]) and np.isnan(c[7])
    assert c[5] == 1.0


def test_target_progress_uses_latest_snapshot(store):
    ind = mon.target_progress(store, 2023, 7, RULES)
    m1 = ind[ind["project_id"] == "M1"].set_index("indicator")
    assert m1.loc["培训人次", "completion"] == pytest.approx(0.8)
    assert m1.loc["覆盖率", "completion"] == pytest.approx(3.0)
    earlier = mon.target_progress(store, 2023, 6, RULES)
    e1 = earlier[earlier["project_id"] == "M1"]
    assert list(e1["snapshot_month"]) == [5]
    assert e1["completion"].iloc[0] == pytest.approx(0.2)
    assert set(earlier["project_id"]) == {"M1"}           # nobody else reported before July


def test_cumulative_indicators():
    ind = pd.DataFrame({
        "level2": [None, None, None, None, "数量指标", "质量指标", ""],
        "direction": ["≥", "≥", "定性", "≤", "≥", "≥", "="],
        "target_value": ["10", "95", "优", "100", "80", "10", "3"],
        "unit": ["人次", "%", None, "元", "%", "个", None],
    })
    assert list(mon.cumulative_mask(ind)) == [True, False, False, False, True, False, True]


def test_project_target_progress(store):
    pp = mon.project_target_progress(mon.target_progress(store, 2023, 7, RULES)).set_index("project_id")
    # M1: cumulative 培训人次 0.8; level-type 满意度 良 0.8 and 覆盖率 150 % (capped at 1)
    assert pp.loc["M1", "target_progress"] == pytest.approx(0.8)
    assert pp.loc["M1", "attainment"] == pytest.approx((0.8 + 1.0) / 2)
    assert pp.loc["M2", "target_progress"] == pytest.approx(0.5)
    assert pp.loc["M2", "attainment"] == pytest.approx(100 / 120)
    assert pp.loc["M2", "likelihood"] == "有可能" and pp.loc["M2", "deviation_reasons"] == "制度保障"
    assert pp.loc["M3", "impossible"] == 1 and pp.loc["M3", "likelihood"] == "完全不可能"


def test_worst_likelihood_ignores_blanks_and_unknown_words():
    ind = pd.DataFrame({
        "project_id": ["A", "A", "A", "B", "B", "C"],
        "snapshot_month": [7] * 6,
        "deviation_reason": [None, "人员", "", None, None, None],
        "completion": [0.5, 1.2, None, 0.9, 0.3, 0.4],
        "cumulative": [True, True, False, False, True, True],
        "likelihood": ["确定能", None, "有可能", "说不清", None, None],
    })
    pp = mon.project_target_progress(ind).set_index("project_id")
    assert pp.loc["A", "likelihood"] == "有可能" and pp.loc["A", "impossible"] == 0
    assert pd.isna(pp.loc["B", "likelihood"]) and pd.isna(pp.loc["C", "likelihood"])
    assert pp.loc["A", "target_progress"] == pytest.approx((0.5 + 1.0) / 2)
    assert pp.loc["B", "attainment"] == pytest.approx(0.9) and pp.loc["A", "deviation_reasons"] == "人员"
    assert pp["indicators"].tolist() == [3, 2, 1]


def test_money_and_targets_disagree(store):
    pe = mon.project_execution(store, 2023, 7, RULES)
    pp = mon.project_target_progress(mon.target_progress(store, 2023, 7, RULES))
    d = mon.money_target_disagreement(pe, pp, RULES).set_index("project_id")
    # M1 0.8 − 0.4833 = +0.32 → targets ahead; M2 0.5 − 0.3833 = +0.12 → agree;
    # M3 0.1 − 0.3833 = −0.28 → money ahead; M6 0.8 − 1.0 = −0.20 exactly → not a disagreement
    assert d.loc["M1", "disagreement"] == mon.TARGETS_FAST
    assert d.loc["M3", "disagreement"] == mon.MONEY_FAST
    assert "M2" not in d.index and "M6" not in d.index


def test_deviation_and_likelihood_summaries(store):
    ind = mon.target_progress(store, 2023, 7, RULES)
    dv = mon.deviation_summary(ind).set_index("deviation_reason")
    assert dict(dv["indicators"]) == {"制度保障": 1, "经费保障": 1}
    lk = mon.likelihood_summary(ind).set_index("likelihood")
    assert list(lk.index) == ["确定能", "有可能", "完全不可能"]
    assert list(lk["indicators"]) == [5, 1, 1]


def test_key_project_report_and_findings(store):
    k = mon_text.with_findings(mon.key_project_report(store, 2023, 7, RULES))
    assert list(k["project_id"]) == ["M2"]
    f = k["findings"].iloc[0]
    assert "执行率 38.33%" in f and "低于时间进度 20.00 个百分点" in f and "黄色" in f
    assert "数量指标完成度 50.00%" in f and "质量时效等指标达成度 83.33%" in f
    assert "有可能" in f and "制度保障" in f


def test_red_action_list(store):
    pe = mon.project_execution(store, 2023, 7, RULES)
    proj = mon.year_end_projection(store, 2023, 7, RULES, execution=pe)
    a = mon.red_action_list(pe, proj)
    assert list(a["project_id"]) == ["M3"]
    assert a["level1_name"].iloc[0] == "区科技局"
    assert a["gap"].iloc[0] == pytest.approx(459.99 / 1200 - 7 / 12)
    assert a["projected_unspent"].iloc[0] == pytest.approx(1200 - 459.99 / 0.7)


def test_classified_never_in_monitoring_outputs(store):
    pe = mon.project_execution(store, 2023, 7, RULES)
    proj = mon.year_end_projection(store, 2023, 7, RULES, execution=pe)
    for df in (pe, proj):
        assert not df["project_name"].isin(["某专项保障经费"]).any()
        assert "S1" not in set(df["project_id"])


def test_disagreement_boundary_survives_float_rounding():
    # 0.7 − 0.9 is −0.20000000000000007 in binary floats: still exactly the threshold, not a lag
    pe = pd.DataFrame({"project_id": ["a", "b", "c", "d"], "execution_rate": [0.9, 0.9, 0.1, 0.1]})
    pp = pd.DataFrame({"project_id": ["a", "b", "c", "d"], "target_progress": [0.7, 0.69, 0.3, 0.31]})
    assert 0.7 - 0.9 < -0.2
    d = mon.money_target_disagreement(pe, pp, RULES).set_index("project_id")
    assert dict(d["disagreement"]) == {"b": mon.MONEY_FAST, "d": mon.TARGETS_FAST}


def test_monitoring_plots_draw_with_cjk_glyphs(store):
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from perflib.present.charts import base, monitoring as plots

    pe = mon.project_execution(store, 2023, 7, RULES)
    by_dept = mon.execution_summary(pe, ["level1_code", "level1_name"])
    monthly = mon.monthly_execution(store, 2023, 7, RULES)
    proj = mon.projection_summary(mon.year_end_projection(store, 2023, 7, RULES, execution=pe),
                                  ["level1_code", "level1_name"])
    figs = [plots.plot_execution_curve(mon.execution_curve(monthly), 2023),
            plots.plot_department_curves(monthly, ["100", "200"], 2023),
            plots.plot_band_counts(by_dept), plots.plot_execution_scatter(pe, RULES),
            plots.plot_projected_unspent(proj)]
    for fig in figs:
        assert isinstance(fig, Figure)
        assert base.check_glyphs(fig) == []
    curve_lines = figs[0].axes[0].get_lines()
    assert len(curve_lines) == 3                          # time progress, prior year, this year
    assert list(curve_lines[2].get_xdata()) == list(range(1, 8))
    plt.close("all")


def test_monitoring_text(store):
    f = mon.monitoring_facts(store, 2023, 7, RULES)
    p = mon_text.monitoring_text(f, 2023, RULES, key_names=["项目M2"],
                            projection={"budget": 6800.0, "projected_spent": 5000.0, "projected_unspent": 1800.0})
    assert "涉及项目支出 6 个" in p[0] and "1-7 月底" in p[0] and f"执行率为 {4079.98 / 6800 * 100:.2f}%" in p[0]
    assert "红色 1 个、黄色 2 个、绿色 2 个" in p[1]
    assert "≥ −10 个百分点为绿色" in p[1] and "< −20 个百分点为红色" in p[1]
    assert "「项目M2」 1 个项目" in p[2]
    assert "预计结转结余 0 万元" in p[3]
    jan = mon_text.monitoring_text(mon.monitoring_facts(store, 2023, 1, RULES), 2023, RULES)
    assert "1 月底" in jan[0] and len(jan) == 2 + 1


def test_resolve_month(store):
    assert mon.resolve_month(store, 2023, None, RULES) == 12      # last payment 2023-12-31
    assert mon.resolve_month(store, 2023, "7", RULES) == 7
    with pytest.raises(ParameterError):
        mon.resolve_month(store, 2019, None, RULES)


# --- the notebook on the demo store (session fixture ``demo_db`` from conftest) ----------------
def _facts(out, stem):
    import json

    return json.loads((out / f"{stem}.facts.json").read_text(encoding="utf-8"))["facts"]


@pytest.mark.slow
def test_monitoring_notebook_on_demo_reproduces_the_seed(demo_db, tmp_path):
    import duckdb
    import openpyxl

    from perflib.cli import main

    out = tmp_path / "reports"
    # as_of_month left open: the last complete month of 2023 (July in the demo: payments to 31 July)
    assert main(["run", "monitoring", "--db", str(demo_db), "--out", str(out), "--no-progress"]) == 0
    html_files = list((out / "2023").glob("monitoring*.html"))
    assert len(html_files) == 1
    stem = html_files[0].with_suffix("")
    f = _facts(out, stem.relative_to(out))
    assert f["monitoring.as_of_month"] == 7
    assert f["monitoring.projects"] == 609
    assert f["monitoring.budget"] == 9_369_470_000.00          # 936,947 万元
    assert f["monitoring.spent"] == 2_948_750_000.00           # 294,875 万元
    assert round(f["monitoring.execution_rate"], 4) == 0.3147
    assert f["monitoring.key_projects"] == 3 and f["monitoring.key_amount"] == 6_200_000.00
    con = duckdb.connect(str(demo_db), read_only=True)
    rows = con.execute("""
        SELECT p.project_id, coalesce(p.adjusted_amount, p.budget_amount) AS b,
               coalesce((SELECT sum(amount) FROM payments x WHERE x.project_id = p.project_id
                         AND x.year = 2023 AND x.pay_date <= DATE '2023-07-31'), 0) AS s
        FROM projects p WHERE p.year = 2023 AND NOT p.is_classified""").fetchall()
    con.close()
    from decimal import Decimal

    red = yellow = green = 0
    for _, b, s in rows:                          # bands in exact decimals, written independently
        gap = Decimal(s) / Decimal(b) - Decimal(7) / Decimal(12) if b else None
        if gap is None:
            continue
        if gap >= Decimal("-0.10"):
            green += 1
        elif gap >= Decimal("-0.20"):
            yellow += 1
        else:
            red += 1
    assert (f["monitoring.red"], f["monitoring.yellow"], f["monitoring.green"]) == (red, yellow, green)
    assert red > 0 and yellow > 0 and green > 0
    html = html_files[0].read_text(encoding="utf-8")
    assert "资金规模为 936947 万元，1-7 月底实现支出 294875 万元，执行率为 31.47%" in html
    wb = openpyxl.load_workbook(stem.with_suffix(".xlsx"), read_only=True)
    assert "红色预警清单" in wb.sheetnames
    ws = wb["红色预警清单"]
    assert ws.max_row - 1 == red                  # one row per red project under the header
    wb.close()


def test_the_demo_keeps_its_monitoring_month(demo_db):
    """Payments of 2023 end on 31 July: July, and nothing after it (the seed's 1-7 月); 2022's
    end on Friday 30 December and the export is later: December."""
    with Store(demo_db) as s:
        assert mon.last_complete_month(s, 2023, RULES) == 7
        assert mon.last_complete_month(s, 2022, RULES) == 12
        with pytest.raises(ParameterError, match="2023 年支付数据只到 7 月 31 日.*不能生成截至 12 月底的监控报告"):
            mon.resolve_month(s, 2023, 12, RULES)
        from perflib.analysis.overview import overview_facts

        assert overview_facts(s, 2023, RULES)["monitoring.as_of_month"] == 7


@pytest.mark.slow
def test_monitoring_renders_for_every_month_of_a_full_year(demo_db, tmp_path, monkeypatch):
    import duckdb

    con = duckdb.connect(str(demo_db), read_only=True)
    monthly = dict(con.execute("""
        SELECT month(pa.pay_date), sum(pa.amount) FROM payments pa
        JOIN projects p ON p.project_id = pa.project_id AND p.year = pa.year
        WHERE pa.year = 2022 AND NOT p.is_classified GROUP BY 1""").fetchall())
    con.close()
    out = tmp_path / "reports"
    # one run of twelve reports (one zygote, two workers) instead of twelve runs: each month is
    # planned exactly as `perflib run monitoring --year 2022 -p as_of_month=M` plans it
    from perflib.run import runner

    plan = runner.plan_jobs

    def every_month(notebooks, **kw):
        return [job for m in range(1, 13) for job in plan(notebooks, **dict(kw, params={"as_of_month": str(m)}))]

    monkeypatch.setattr(runner, "plan_jobs", every_month)
    summary = runner.run_reports(["monitoring"], db=demo_db, year=2022, out=out, jobs=2, progress=False)
    monkeypatch.undo()
    assert summary.exit_code == 0, summary.describe()
    assert len(summary.results) == 12 and all(r.status == "ok" for r in summary.results)
    for m in range(1, 13):
        files = [p for p in (out / "2022").glob("monitoring*.facts.json") if f"-{m:02d}月" in p.name]
        assert len(files) == 1, m
        f = _facts(out, files[0].relative_to(out).with_suffix("").with_suffix(""))
        assert f["monitoring.as_of_month"] == m
        assert f["monitoring.time_progress"] == pytest.approx(m / 12)
        expected = sum(float(v) for k, v in monthly.items() if k <= m)
        assert f["monitoring.spent"] == pytest.approx(expected, abs=0.01)
        assert files[0].with_name(files[0].name.replace(".facts.json", ".html")).exists()


# --- vectorised helpers (province scale) -----------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="0123456789.,%+-eE abc良", max_size=8),
                          st.floats(allow_nan=False, allow_infinity=False).map(str)), max_size=30))
def test_to_number_agrees_with_pandas_to_numeric(values):
    s = pd.Series(values, dtype=object)
    expected = pd.to_numeric(s.astype("string").str.replace(",", "", regex=False).str.rstrip("%"),
                             errors="coerce").astype("float64")
    got = mon._to_number(s)
    assert list(got.index) == list(s.index)
    assert ((got == expected) | (got.isna() & expected.isna())).all()


def test_join_by_keeps_each_projects_order():
    keys = pd.Series(["P2", "P1", "P2", "P3", "P1"], name="project_id")
    values = pd.Series(["人员", "资金", "政策", "其他", "天气"])
    got = mon._join_by(keys, values, "、")
    assert got.to_dict() == {"P1": "资金、天气", "P2": "人员、政策", "P3": "其他"}
    assert mon._join_by(keys.iloc[:0], values.iloc[:0], "、").empty


@pytest.mark.parametrize("month", [1, 7, 12])
def test_facts_from_a_given_execution_frame_equal_the_facts_computed_alone(store, month):
    execution = mon.project_execution(store, 2023, month, RULES)
    assert mon.monitoring_facts(store, 2023, month, RULES, execution=execution) == \
        mon.monitoring_facts(store, 2023, month, RULES)


@pytest.mark.parametrize("values", [[None, None], [], [float("nan")], ["1", None]])
def test_to_number_of_empty_and_all_missing_columns(values):
    got = mon._to_number(pd.Series(values, dtype=object))
    assert got.dtype == "float64" and len(got) == len(values)
    assert got.isna().tolist() == [v is None or v != v for v in values]


# --- which months the data cover (issue 15) ------------------------------------------------------
def _payments_store(dates, export_date=None, loaded_at="2026-01-05 10:00:00"):
    """A store whose 2023 payments fall on ``dates``; ``export_date`` recorded in ``loads`` as
    ingest does (one payments file), None: the column left NULL (a load recorded before it existed)."""
    f = frames()
    f["payments"] = pd.DataFrame([_pay("M1", d, 10.0) for d in dates])
    s = Store.from_frames(f)
    if export_date is not None or loaded_at is not None:
        s.con.execute("INSERT INTO loads (load_id, loaded_at, file, table_name, export_date) "
                      "VALUES (1, ?, '支出明细.csv', 'payments', ?)", [loaded_at, export_date])
    return s


@pytest.mark.parametrize("dates, export_date, expected", [
    (["2023-01-03", "2023-07-31"], None, 7),                     # payments run to 31 July
    (["2023-01-03", "2023-07-31", "2023-08-15"], None, 7),       # one payment in mid-August
    (["2023-01-03", "2023-08-28"], "2023-09-03", 8),             # export after August, Aug 29–31 quiet
    (["2023-01-03", "2023-08-28"], "2023-08-31", 7),             # exported on 31 Aug: not after it
    (["2023-01-03", "2023-08-15"], "2023-09-03", 7),             # 16 days short of the month end
    (["2023-01-03", "2023-08-24"], "2023-09-03", 8),             # 7 days short: the rule's limit
    (["2023-01-03", "2023-08-23"], "2023-09-03", 7),             # 8 days short
    (["2023-01-05"], "2023-01-20", None),                        # January not over yet
])
def test_last_complete_month(dates, export_date, expected):
    with _payments_store(dates, export_date, loaded_at=None if export_date is None else "2026-01-05") as s:
        assert mon.last_complete_month(s, 2023, RULES) == expected


def test_export_date_falls_back_to_the_load_date_and_the_rule_can_switch_it_off(tmp_path):
    dates = ["2023-01-03", "2023-08-28"]
    with _payments_store(dates, None, loaded_at="2023-09-02 08:00:00") as s:  # old loads row
        assert s.payments_export_date() == dt.date(2023, 9, 2)
        assert mon.last_complete_month(s, 2023, RULES) == 8
        assert mon.last_complete_month(s, 2023, _with(tmp_path, month_complete_gap_days=0)) == 7
    with _payments_store(dates, None, loaded_at=None) as s:                    # nothing recorded
        assert s.payments_export_date() is None
        assert mon.last_complete_month(s, 2023, RULES) == 7


def _with(tmp_path, **values):
    """The default rules with some ``monitoring`` values replaced (a user's rules file)."""
    import yaml

    p = tmp_path / "rules.yaml"
    p.write_text(yaml.safe_dump({"monitoring": values}), encoding="utf-8")
    return load_rules(p)


def test_a_month_the_data_do_not_cover_is_refused_with_the_last_payment_date():
    with _payments_store(["2023-01-03", "2023-07-31"]) as s:
        with pytest.raises(ParameterError) as e:
            mon.resolve_month(s, 2023, 12, RULES)
        assert str(e.value).startswith("2023 年支付数据只到 7 月 31 日（导出日期 2026 年 1 月 5 日），"
                                       "不能生成截至 12 月底的监控报告")
        assert "as_of_month=7" in str(e.value)
        assert mon.resolve_month(s, 2023, 7, RULES) == 7 and mon.resolve_month(s, 2023, None, RULES) == 7
    with _payments_store(["2023-01-05"], "2023-01-20") as s:
        with pytest.raises(ParameterError, match="还没有完整的月份"):
            mon.resolve_month(s, 2023, None, RULES)


# --- execution above budget (issue 15) ---------------------------------------------------------
def test_over_budget_flag_against_a_hand_count(tmp_path):
    f = frames()
    f["projects"] = pd.DataFrame([
        _project("O1", "100", 1000.0),                  # 1000.01 spent → over
        _project("O2", "100", 1000.0),                  # exactly 1000 → not over
        _project("O3", "200", 0.0),                     # no budget, 5 spent → over
        _project("O4", "200", 0.0),                     # no budget, nothing spent → not over
        _project("O5", "200", 500.0, adjusted=1500.0),  # 1200 of the adjusted 1500 → not over
        _project("O6", "100", 100.0, classified=True),  # classified: not monitored
    ])
    f["payments"] = pd.DataFrame([
        _pay("O1", "2023-03-01", 600.0), _pay("O1", "2023-07-31", 400.01),
        _pay("O2", "2023-05-01", 1000.0), _pay("O3", "2023-02-01", 5.0),
        _pay("O5", "2023-06-01", 1200.0), _pay("O6", "2023-06-01", 200.0),
        _pay("O2", "2023-08-01", 1.0),  # after July: not in a July report
    ])
    with Store.from_frames(f) as s:
        pe = mon.project_execution(s, 2023, 7, RULES).set_index("project_id")
        assert set(pe.index[pe["over_budget"]]) == {"O1", "O3"}
        assert mon.monitoring_facts(s, 2023, 7, RULES, execution=pe.reset_index())["monitoring.over_budget"] == 2
        assert set(pe.index[mon.project_execution(s, 2023, 8, RULES)
                            .set_index("project_id")["over_budget"]]) == {"O1", "O2", "O3"}
        loose = mon.project_execution(s, 2023, 7, _with(tmp_path, over_execution_rate=1.2)).set_index("project_id")
        assert set(loose.index[loose["over_budget"]]) == {"O3"}
        text = mon_text.monitoring_text(mon.monitoring_facts(s, 2023, 7, RULES), 2023, RULES)
        assert any("支出超过预算（执行率高于 100.00%，或无预算而有支出）的项目 2 个" in p for p in text)


def test_no_over_budget_sentence_without_such_projects(store):
    f = mon.monitoring_facts(store, 2023, 7, RULES)
    assert f["monitoring.over_budget"] == 0              # M6: 2000 of the adjusted 2000 is exactly 100 %
    assert not any("超过预算" in p for p in mon_text.monitoring_text(f, 2023, RULES))


# --- the key-monitoring round (rule key_round_months, 财预〔2019〕136号: January to July) ---------------
def test_key_round_is_computed_to_july():
    assert [mon.key_round_month(m, RULES) for m in (1, 5, 7, 8, 12)] == [1, 5, 7, 7, 7]
    f = frames()
    f["payments"] = pd.concat([f["payments"], pd.DataFrame([_pay("M2", "2023-09-01", 100.0)])])
    with Store.from_frames(f) as s:
        dec_exec = mon.project_execution(s, 2023, 12, RULES)
        dec = mon.key_project_report(s, 2023, 12, RULES, execution=dec_exec)  # the report passes its own
        may = mon.key_project_report(s, 2023, 5, RULES)
        assert list(dec["project_id"]) == ["M2"]
        assert dec_exec.set_index("project_id").loc["M2", "spent"] == 560.0     # the December table
        assert dec["spent"].tolist() == [460.0]                                # the round: to 31 July
        assert dec["time_progress"].tolist() == [pytest.approx(7 / 12)]
        assert may["spent"].tolist() == [460.0] and may["time_progress"].tolist() == [pytest.approx(5 / 12)]
    assert "1—7 月" in mon_text.key_round_text(12, RULES) and "早于" in mon_text.key_round_text(12, RULES)
    assert "只到 5 月底" in mon_text.key_round_text(5, RULES)


# --- issue 20: the fast paths equal the plain computations they replace -------------------------
def test_target_progress_equals_a_plain_merge_and_sort_on_the_demo(demo_db):
    """target_progress gathers the indicator rows once in report order; the result is the frame a
    plain merge of the projects with the snapshot rows, then a sort, gives (whole district and one
    department), with completion and the cumulative mask computed from the raw columns."""
    with Store(demo_db) as s:
        month = mon.last_complete_month(s, 2023, RULES)
        for dept in (None, s.departments().query("is_level1")["dept_code"].iloc[0]):
            got = mon.target_progress(s, 2023, month, RULES, dept)
            rows = s.redact_frame(s.sql(mon._TARGET_PROGRESS_SQL, [2023, month, 2023]))
            projects = s.projects(2023)
            projects = projects[~projects["is_classified"]]
            if dept is not None:
                projects = projects[projects["level1_code"] == dept]
            projects = projects[["project_id", "project_name", "dept_name", "level1_code", "level1_name", "budget"]]
            want = projects.merge(rows, on="project_id", how="inner")
            want["completion"] = mon.indicator_completion(want["direction"], want["target_value"],
                                                          want["actual_value"], RULES)
            want["cumulative"] = mon.cumulative_mask(want)
            want = want.sort_values(["level1_code", "project_id", "indicator"]).reset_index(drop=True)
            assert len(got) > 10
            pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_values_joined_per_key_equal_a_plain_python_join():
    """``_join_by`` (Arrow: sorted by key, a list per run of keys) gives each key's values joined in
    their order, keys sorted, for keys and values of any length and order."""
    import random

    rng = random.Random(3)
    for n in (0, 1, 2, 7, 300):
        keys = [rng.choice(["P1", "P10", "P2", "项目甲", "项目乙", "a"]) for _ in range(n)]
        values = [rng.choice(["经费保障", "制度保障", "x", "人员保障、其他"]) for _ in range(n)]
        want: dict[str, list[str]] = {}
        for k, v in zip(keys, values):
            want.setdefault(k, []).append(v)
        got = mon._join_by(pd.Series(keys, dtype="str", name="project_id"), pd.Series(values, dtype="str"), "、")
        assert list(got.index) == sorted(want) and got.index.name == "project_id"
        assert got.to_dict() == {k: "、".join(v) for k, v in want.items()}


def test_indicator_values_read_as_numbers_as_pandas_reads_them():
    """``_to_number`` (Arrow for plain decimals, pandas only for texts holding a digit or an inf)
    equals pandas' ``to_numeric`` of every value with its thousands commas and trailing % dropped."""
    odd = [" 100 ", "１００", "٣", "inf", "-Infinity", "INF", "Inf%", "infinite", "nan", "NaN", "明显提升", "良",
           "1e3", "1,000", "50%", "≥90", "100人次", "", "  ", None, "+.5", "0x10", "1_000", "12.", "-0", "1e400"]
    values = pd.Series(odd, dtype="str")
    want = [float("nan") if v is None else
            float(pd.to_numeric(pd.Series([v.replace(",", "").rstrip("%")], dtype=object), errors="coerce")[0])
            for v in odd]
    got = mon._to_number(values)
    assert got.dtype == "float64" and len(got) == len(odd)
    for v, g, w in zip(odd, got, want):
        assert (np.isnan(g) and np.isnan(w)) or g == w, (v, g, w)
