"""本月变化 (issue 19) on a hand-made store: the state as of month m−1 recomputed independently from
the payments (exact fractions), bands entered and left, movers, projects without payment, the
district's and each department's gap change; month 1 has no month before."""
from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pandas as pd
import pytest

from perflib.analysis import monitoring as mon
from perflib.analysis import monthly
from perflib.present.text import monthly as monthly_text
from perflib.rules import load_rules
from perflib.store import Store

RULES = load_rules()
YEAR, MONTH = 2023, 5


def _project(pid, dept, amount, classified=False):
    return dict(project_id=pid, year=YEAR, dept_code=dept, project_name=f"项目{pid}", project_type=None,
                budget_kind="一般公共预算", fund_source="本级", budget_amount=amount, adjusted_amount=None,
                is_classified=classified, is_special=False)


def _pay(pid, month, amount, day=15):
    return dict(project_id=pid, year=YEAR, pay_date=pd.Timestamp(dt.date(YEAR, month, day)), amount=amount)


# budgets of 1200: time progress is 100 a month. April: green ≥ 280, yellow [160, 280), red < 160;
# May: green ≥ 380, yellow [260, 380), red < 260.
PROJECTS = [
    _project("A", "100", 1200.0),   # 300 | 500: green → green
    _project("B", "100", 1200.0),   # 300 | 300: green → yellow; last payment January (4 months)
    _project("C", "101", 1200.0),   # 200 | 200: yellow → red; stalled
    _project("D", "200", 1200.0),   # 0 | 400: red → green
    _project("E", "200", 1200.0),   # 100 | 100: red → red; last payment April (1 month)
    _project("F", "200", 0.0),      # zero budget: 无预算 both months, never stalled
    _project("G", "200", 1200.0),   # 170 | 170: yellow → red; last payment March (exactly 2 months)
    _project("H", "100", 1200.0),   # 380 − 100 refund in April = 280 | 280: green → yellow; last > 0 in March
    _project("I", "100", 1200.0),   # 280 | 380: exactly −10 pp both months: green → green
    _project("S", "100", 1200.0, classified=True),
]
PAYMENTS = [
    _pay("A", 1, 300.0), _pay("A", 5, 200.0), _pay("A", 6, 50.0),
    _pay("B", 1, 300.0),
    _pay("C", 1, 200.0),
    _pay("D", 5, 400.0, day=31),
    _pay("E", 4, 100.0, day=30),
    _pay("G", 3, 170.0),
    _pay("H", 3, 380.0), _pay("H", 4, -100.0),
    _pay("I", 2, 280.0), _pay("I", 5, 100.0, day=1),
    _pay("S", 5, 999.0),
]


def frames():
    departments = pd.DataFrame({"dept_code": ["100", "101", "200"], "dept_name": ["区教体局", "区实验小学", "区科技局"],
                                "parent_code": [None, "100", None], "sector": [None] * 3, "is_street": [False] * 3})
    return dict(departments=departments, projects=pd.DataFrame(PROJECTS), payments=pd.DataFrame(PAYMENTS))


@pytest.fixture(scope="module")
def store():
    s = Store.from_frames(frames())
    yield s
    s.close()


# --- the independent computation (plain Python over the fixture lists, exact fractions) -------------
LEVEL1 = {"100": "100", "101": "100", "200": "200"}


def _spent(pid, month) -> Fraction:
    end = dt.date(YEAR, month, 31 if month in (1, 3, 5, 7, 8, 10, 12) else 30 if month != 2 else 28)
    return sum((Fraction(str(p["amount"])) for p in PAYMENTS
                if p["project_id"] == pid and p["pay_date"].date() <= end), Fraction(0))


def _monitored():
    return [p for p in PROJECTS if not p["is_classified"]]


def _band(pid, budget, month):
    if budget == 0:
        return "无预算"
    gap = _spent(pid, month) / Fraction(str(budget)) - Fraction(month, 12)
    return "绿色" if gap >= Fraction(-1, 10) else "黄色" if gap >= Fraction(-2, 10) else "红色"


def _gap(pid, budget, month):
    return _spent(pid, month) / Fraction(str(budget)) - Fraction(month, 12)


def expected_moves(month):
    out = {}
    for band in ("红色", "黄色", "绿色", "无预算"):
        now = {p["project_id"] for p in _monitored() if _band(p["project_id"], p["budget_amount"], month) == band}
        before = {p["project_id"] for p in _monitored() if _band(p["project_id"], p["budget_amount"], month - 1) == band}
        out[band] = (before, now)
    return out


def expected_stalled(month, k):
    out = set()
    for p in _monitored():
        if p["budget_amount"] == 0:
            continue
        months = [q["pay_date"].month for q in PAYMENTS if q["project_id"] == p["project_id"]
                  and q["amount"] > 0 and q["pay_date"].month <= month]
        if month - max(months, default=0) >= k:
            out.add(p["project_id"])
    return out


# --- tests ------------------------------------------------------------------------------------------
def test_bands_entered_and_left_against_month_before(store):
    mc = monthly.month_changes(store, YEAR, MONTH, RULES)
    assert mc.previous == MONTH - 1
    b = mc.bands.set_index("band")
    for band, (before, now) in expected_moves(MONTH).items():
        assert b.at[band, "previous"] == len(before) and b.at[band, "current"] == len(now), band
        assert b.at[band, "entered"] == len(now - before), band
        assert b.at[band, "left"] == len(before - now), band
    # worked by hand: C and G turn red, D leaves red; S (classified) is not monitored
    turned = set(monthly.newly_red(mc)["project_id"])
    assert turned == {"C", "G"} == expected_moves(MONTH)["红色"][1] - expected_moves(MONTH)["红色"][0]
    f = monthly.change_facts(mc)
    assert (f["monitoring.entered_red"], f["monitoring.left_red"]) == (2, 1)
    assert (f["monitoring.entered_green"], f["monitoring.left_green"]) == (1, 2)
    assert (f["monitoring.entered_yellow"], f["monitoring.left_yellow"]) == (2, 2)
    assert f["monitoring.previous_month"] == 4
    assert set(f) == set(monthly.CHANGE_FACTS)


def test_previous_state_equals_the_report_of_that_month(store):
    # m−1 is computed from the store exactly as a report of month m−1 would be
    mc = monthly.month_changes(store, YEAR, MONTH, RULES)
    prev = mon.monitoring_facts(store, YEAR, MONTH - 1, RULES)
    b = mc.bands.set_index("band")
    assert (b.at["红色", "previous"], b.at["黄色", "previous"], b.at["绿色", "previous"]) == (
        prev["monitoring.red"], prev["monitoring.yellow"], prev["monitoring.green"])
    assert monthly.change_facts(mc)["monitoring.execution_rate_prev"] == pytest.approx(prev["monitoring.execution_rate"])


def test_district_and_department_gap_change(store):
    mc = monthly.month_changes(store, YEAR, MONTH, RULES)
    mons = _monitored()
    budget = sum(Fraction(str(p["budget_amount"])) for p in mons)
    gap = {m: sum(_spent(p["project_id"], m) for p in mons) / budget - Fraction(m, 12) for m in (MONTH - 1, MONTH)}
    assert mc.district["gap_change"] == pytest.approx(float(gap[MONTH] - gap[MONTH - 1]))
    assert monthly.change_facts(mc)["monitoring.gap_change"] == pytest.approx(float(gap[MONTH] - gap[MONTH - 1]))
    dep = mc.departments.set_index("level1_code")
    for code in ("100", "200"):
        mine = [p for p in mons if LEVEL1[p["dept_code"]] == code]
        b = sum(Fraction(str(p["budget_amount"])) for p in mine)
        g = {m: sum(_spent(p["project_id"], m) for p in mine) / b - Fraction(m, 12) for m in (MONTH - 1, MONTH)}
        assert dep.at[code, "gap_change"] == pytest.approx(float(g[MONTH] - g[MONTH - 1]))
        before, now = expected_moves(MONTH)["红色"]
        ids = {p["project_id"] for p in mine}
        assert dep.at[code, "entered_red"] == len((now - before) & ids)
        assert dep.at[code, "left_red"] == len((before - now) & ids)
        assert dep.at[code, "stalled"] == len(expected_stalled(MONTH, 2) & ids)
    assert dep.at["100", "red"] == 1 and dep.at["200", "red_prev"] == 2  # C | D and E


def test_projects_without_payment(store):
    mc = monthly.month_changes(store, YEAR, MONTH, RULES)
    k = int(RULES.value("monitoring.stalled_months"))
    assert set(mc.stalled["project_id"]) == expected_stalled(MONTH, k) == {"B", "C", "G", "H"}
    st = mc.stalled.set_index("project_id")
    assert st.at["G", "months_without_payment"] == 2 and st.at["B", "months_without_payment"] == 4
    assert st.at["H", "last_payment_month"] == 3  # the April refund is not a payment


def test_largest_movers(store):
    mc = monthly.month_changes(store, YEAR, MONTH, RULES, n_movers=2)
    got = mc.projects.set_index("project_id")["gap_change"].dropna()
    for p in _monitored():
        if p["budget_amount"]:
            pid, b = p["project_id"], p["budget_amount"]
            assert got[pid] == pytest.approx(float(_gap(pid, b, MONTH) - _gap(pid, b, MONTH - 1)))
    up = mc.movers[mc.movers["direction"] == monthly.UP]["project_id"].tolist()
    down = mc.movers[mc.movers["direction"] == monthly.DOWN]["project_id"].tolist()
    assert up == ["D", "A"]            # +25 pp, +1/12 (I: +100 in May is exactly time progress, 0)
    assert down == ["B", "C"]          # every project without a May payment falls by 1/12


def test_month_one_has_no_month_before(store):
    assert monthly.month_changes(store, YEAR, 1, RULES) is None
    f = monthly.change_facts(None)
    assert set(f) == set(monthly.CHANGE_FACTS) and all(v is None for v in f.values())
    assert monthly_text.changes_text(None, YEAR, "区级", RULES) == [monthly_text.no_previous_text(YEAR)]
    assert "没有上月" in monthly_text.no_previous_text(YEAR)


def test_sentences_state_the_counts(store):
    mc = monthly.month_changes(store, YEAR, MONTH, RULES)
    text = "".join(monthly_text.changes_text(mc, YEAR, "区级", RULES))
    assert "本月新转红色 2 个、脱离红色 1 个" in text
    assert "连续 2 个月及以上没有支付的项目 4 个" in text


# --- the notebook on the demo store (session fixture ``demo_db`` from conftest) ----------------
@pytest.mark.slow
def test_monitoring_notebook_states_the_changes_on_demo(demo_db, tmp_path):
    import json
    from decimal import Decimal

    import duckdb

    from perflib.cli import main

    out = tmp_path / "reports"
    assert main(["run", "monitoring", "-p", "as_of_month=7", "--db", str(demo_db), "--out", str(out),
                 "--no-progress"]) == 0
    assert main(["run", "monitoring", "-p", "as_of_month=1", "--db", str(demo_db), "--out", str(out),
                 "--no-progress"]) == 0
    july = json.loads((out / "2023" / "monitoring-07月.facts.json").read_text("utf-8"))["facts"]
    jan = json.loads((out / "2023" / "monitoring-01月.facts.json").read_text("utf-8"))["facts"]
    assert all(jan[k] is None for k in monthly.CHANGE_FACTS)
    assert "没有上月可以比较" in (out / "2023" / "monitoring-01月.html").read_text("utf-8")
    con = duckdb.connect(str(demo_db), read_only=True)
    rows = con.execute("""
        SELECT p.project_id, coalesce(p.adjusted_amount, p.budget_amount) AS b,
               coalesce((SELECT sum(amount) FROM payments x WHERE x.project_id = p.project_id
                         AND x.year = 2023 AND x.pay_date <= DATE '2023-06-30'), 0) AS s6,
               coalesce((SELECT sum(amount) FROM payments x WHERE x.project_id = p.project_id
                         AND x.year = 2023 AND x.pay_date <= DATE '2023-07-31'), 0) AS s7
        FROM projects p WHERE p.year = 2023 AND NOT p.is_classified""").fetchall()
    con.close()

    def band(s, b, m):
        gap = Decimal(s) / Decimal(b) - Decimal(m) / Decimal(12)
        return "green" if gap >= Decimal("-0.10") else "yellow" if gap >= Decimal("-0.20") else "red"

    moves = {"entered": {}, "left": {}}
    for _, b, s6, s7 in rows:
        if not b:
            continue
        before, now = band(s6, b, 6), band(s7, b, 7)
        if before != now:
            moves["entered"][now] = moves["entered"].get(now, 0) + 1
            moves["left"][before] = moves["left"].get(before, 0) + 1
    for k in ("red", "yellow", "green"):
        assert july[f"monitoring.entered_{k}"] == moves["entered"].get(k, 0), k
        assert july[f"monitoring.left_{k}"] == moves["left"].get(k, 0), k
    assert july["monitoring.previous_month"] == 6
    assert july["monitoring.execution_rate_prev"] == pytest.approx(
        float(sum(Decimal(r[2]) for r in rows) / sum(Decimal(r[1]) for r in rows)))
