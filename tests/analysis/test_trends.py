"""The multi-year view (issue 19): execution at the same month of each year, targets and
self-evaluation by year; years the store does not hold are absent, not zero. Checked against
independent SQL on a hand-made store and on the demo."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from perflib.analysis import trends
from perflib.rules import load_rules
from perflib.store import Store

RULES = load_rules()


def _project(pid, year, amount, adjusted=None, classified=False):
    return dict(project_id=pid, year=year, dept_code="100", project_name=f"项目{pid}", project_type=None,
                budget_kind="一般公共预算", fund_source="本级", budget_amount=amount, adjusted_amount=adjusted,
                is_classified=classified, is_special=False)


def _pay(pid, year, month, amount, day=15):
    return dict(project_id=pid, year=year, pay_date=pd.Timestamp(dt.date(year, month, day)), amount=amount)


def _target(pid, year):
    return dict(project_id=pid, dept_code="100", year=year, level1="产出指标", level2=None, indicator="数量",
                direction="≥", target_value="1", unit="个", weight=None)


def frames():
    projects = pd.DataFrame([
        _project("P1", 2020, 1000.0), _project("P2", 2020, 500.0),      # 2020: payments stop in March
        _project("P1", 2021, 1000.0, adjusted=2000.0),                  # 2021: no targets, no payments
        _project("P1", 2022, 1000.0), _project("P3", 2022, 3000.0), _project("S", 2022, 700.0, classified=True),
        _project("P1", 2023, 4000.0), _project("P3", 2023, 2000.0),
    ])
    payments = pd.DataFrame([
        _pay("P1", 2020, 3, 100.0, day=31),
        _pay("P1", 2022, 2, 300.0), _pay("P3", 2022, 5, 600.0, day=31), _pay("P3", 2022, 6, 50.0),
        _pay("P1", 2022, 12, 10.0, day=31), _pay("S", 2022, 1, 70.0),
        _pay("P1", 2023, 5, 1000.0, day=31),
    ])
    targets = pd.DataFrame([_target("P1", 2020), _target("P1", 2022), _target("P3", 2022), _target("P1", 2023)])
    self_evaluations = pd.DataFrame([
        dict(project_id="P1", year=2020, spent_amount=900.0, satisfaction=None, reported_score=90),
        dict(project_id="P2", year=2020, spent_amount=400.0, satisfaction=None, reported_score=80),
        dict(project_id="P3", year=2022, spent_amount=2900.0, satisfaction=None, reported_score=85),
    ])
    departments = pd.DataFrame({"dept_code": ["100"], "dept_name": ["区教体局"], "parent_code": [None],
                                "sector": [None], "is_street": [False]})
    return dict(departments=departments, projects=projects, payments=payments, targets=targets,
                self_evaluations=self_evaluations)


@pytest.fixture(scope="module")
def store():
    s = Store.from_frames(frames())
    yield s
    s.close()


def test_years_without_data_are_absent(store):
    ex = trends.execution_by_year(store, 2023, 5, RULES)
    assert list(ex["year"]) == [2022, 2023]          # 2020 stops in March, 2021 has no payments
    tg = trends.targets_by_year(store, 2023)
    assert list(tg["year"]) == [2020, 2022, 2023]    # 2021 has projects but no targets at all
    se = trends.selfeval_by_year(store, 2023)
    assert list(se["fiscal_year"]) == [2020, 2022]   # fiscal years ≤ 2022 with self-evaluations
    assert list(trends.execution_by_year(store, 2020, 3, RULES)["year"]) == [2020]  # never a later year


def test_figures_by_year_against_sql(store):
    q = store.con.execute
    ex = trends.execution_by_year(store, 2023, 5, RULES).set_index("year")
    for y in (2022, 2023):
        b, s = q("""SELECT sum(coalesce(adjusted_amount, budget_amount)),
                           coalesce(sum((SELECT sum(amount) FROM payments x WHERE x.project_id = p.project_id
                                         AND x.year = p.year AND x.pay_date <= make_date(p.year, 5, 31))), 0)
                    FROM projects p WHERE year = ? AND NOT is_classified""", [y]).fetchone()
        assert ex.at[y, "budget"] == pytest.approx(float(b)) and ex.at[y, "spent"] == pytest.approx(float(s))
        assert ex.at[y, "execution_rate"] == pytest.approx(float(s) / float(b))
    assert ex.at[2022, "spent"] == 900.0 and ex.at[2023, "execution_rate"] == pytest.approx(1000 / 6000)
    tg = trends.targets_by_year(store, 2023).set_index("year")
    for y in tg.index:
        n, amount = q("""SELECT count(*), sum(budget_amount) FROM projects p WHERE year = ? AND EXISTS
                         (SELECT 1 FROM targets t WHERE t.year = p.year AND t.project_id = p.project_id)""",
                      [int(y)]).fetchone()
        assert (tg.at[y, "with_targets"], tg.at[y, "amount"]) == (n, pytest.approx(float(amount)))
    se = trends.selfeval_by_year(store, 2023).set_index("fiscal_year")
    for y in se.index:
        n, amount = q("""SELECT count(*), sum(coalesce(p.adjusted_amount, p.budget_amount))
                         FROM self_evaluations s JOIN projects p USING (project_id, year) WHERE s.year = ?""",
                      [int(y)]).fetchone()
        assert (se.at[y, "projects"], se.at[y, "amount"]) == (n, pytest.approx(float(amount)))
    facts = trends.trend_facts(ex.reset_index(), tg.reset_index(), se.reset_index())
    assert facts["targets.projects_by_year"] == {"2020": 1, "2022": 2, "2023": 1}
    assert facts["selfeval.amount_by_year"] == {"2020": 1500.0, "2022": 3000.0}
    assert set(facts["monitoring.execution_rate_by_year"]) == {"2022", "2023"}


@pytest.mark.slow
def test_demo_by_year_against_sql(demo_db):
    import duckdb

    store = Store(demo_db)
    try:
        ex = trends.execution_by_year(store, 2023, 7, RULES).set_index("year")
        tg = trends.targets_by_year(store, 2023).set_index("year")
        se = trends.selfeval_by_year(store, 2023).set_index("fiscal_year")
    finally:
        store.close()
    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        years = [r[0] for r in con.execute("""SELECT DISTINCT year FROM payments WHERE year <= 2023
                                              AND year IN (SELECT year FROM projects) ORDER BY 1""").fetchall()]
        assert list(ex.index) == years
        for y in years:
            b, s = con.execute("""SELECT sum(coalesce(adjusted_amount, budget_amount)),
                                  sum(coalesce((SELECT sum(amount) FROM payments x WHERE x.project_id = p.project_id
                                       AND x.year = p.year AND x.pay_date <= make_date(p.year, 7, 31)), 0))
                                  FROM projects p WHERE year = ? AND NOT is_classified""", [y]).fetchone()
            assert ex.at[y, "execution_rate"] == pytest.approx(float(s) / float(b), abs=1e-12)
        assert round(ex.at[2023, "execution_rate"], 4) == 0.3147   # the seed's figure, the same definition
        for y in tg.index:
            n, amount = con.execute("""SELECT count(*), sum(budget_amount) FROM projects p WHERE year = ? AND EXISTS
                                       (SELECT 1 FROM targets t WHERE t.year = p.year AND t.project_id = p.project_id)""",
                                    [int(y)]).fetchone()
            assert tg.at[y, "with_targets"] == n and tg.at[y, "amount"] == pytest.approx(float(amount), abs=0.005)
        assert (tg.at[2023, "with_targets"], tg.at[2022, "with_targets"]) == (511, 391)
        for y in se.index:
            n, amount = con.execute("""SELECT count(*), sum(coalesce(p.adjusted_amount, p.budget_amount))
                                       FROM self_evaluations s JOIN projects p USING (project_id, year)
                                       WHERE s.year = ?""", [int(y)]).fetchone()
            assert se.at[y, "projects"] == n and se.at[y, "amount"] == pytest.approx(float(amount), abs=0.005)
        assert (se.at[2022, "projects"], se.at[2021, "projects"]) == (2157, 315)
    finally:
        con.close()


def test_a_department_without_projects_that_year_has_no_row():
    f = frames()
    f["departments"] = pd.DataFrame({"dept_code": ["100", "200"], "dept_name": ["区教体局", "区科技局"],
                                     "parent_code": [None, None], "sector": [None] * 2, "is_street": [False] * 2})
    extra = _project("Q", 2023, 800.0)
    extra["dept_code"] = "200"
    f["projects"] = pd.concat([f["projects"], pd.DataFrame([extra])], ignore_index=True)
    s = Store.from_frames(f)
    try:
        assert list(trends.execution_by_year(s, 2023, 5, RULES, "200")["year"]) == [2023]
        assert list(trends.targets_by_year(s, 2023, "200")["year"]) == [2023]
        assert trends.selfeval_by_year(s, 2023, "200").empty
        assert list(trends.execution_by_year(s, 2023, 5, RULES, "100")["year"]) == [2022, 2023]
    finally:
        s.close()
