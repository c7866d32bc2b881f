"""Execution by classification on a hand-made store: the 功能分类 (类 → 款) and 经济分类 drill-downs
equal sums worked out by hand and add up to the monitoring totals; PI-2.2 from the projects' and
payments' 经济分类 codes equals the composition variance worked out by hand; without codes
everything falls under 未填 and the sections say which data they need."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from perflib.analysis import classification as cls
from perflib.analysis import fiscal
from perflib.analysis import monitoring as mon
from perflib.present.text import classification as cls_text
from perflib.rules import load_rules
from perflib.store import Store

D = dt.date
RULES = load_rules()


def _frames(with_codes: bool = True) -> dict[str, pd.DataFrame]:
    depts = pd.DataFrame([("101", "区教体局", None, False), ("10101", "区实验小学", "101", False),
                          ("201", "东风街道办事处", None, True)],
                         columns=["dept_code", "dept_name", "parent_code", "is_street"])
    # project, dept, budget, func_code, econ_code, classified
    rows = [("P1", "101", 1_000_000.00, "2050201", "30227", False),
            ("P2", "10101", 500_000.00, "2050202", "30213", False),
            ("P3", "201", 300_000.00, "2120501", "30227", False),
            ("P4", "201", 200_000.00, None, "31005", False),
            ("P5", "101", 900_000.00, "2050201", "30227", True)]   # classified: not monitored
    projects = pd.DataFrame([dict(project_id=p, year=y, dept_code=d, project_name=f"项目{p}",
                                  budget_kind="一般公共预算", fund_source="本级", budget_amount=b,
                                  func_code=f if with_codes else None, econ_code=e if with_codes else None,
                                  is_classified=c, is_special=False)
                             for y in (2022, 2023) for p, d, b, f, e, c in rows])
    # project, date, amount, econ_code
    pays = [("P1", D(2023, 3, 1), 100_000.10, "30227"), ("P1", D(2023, 5, 1), 50_000.00, "30201"),
            ("P1", D(2023, 8, 1), 70_000.00, "30227"),   # after the monitoring month
            ("P2", D(2023, 4, 1), 200_000.00, "30213"), ("P3", D(2023, 6, 30), 90_000.00, None),
            ("P4", D(2023, 2, 1), 40_000.00, "31005"), ("P5", D(2023, 2, 1), 10_000.00, "30227"),
            ("P3", D(2022, 6, 1), 250_000.00, "30227"), ("P4", D(2022, 6, 1), 230_000.00, "31005")]
    payments = pd.DataFrame([dict(project_id=p, year=d.year, pay_date=d, amount=a,
                                  econ_code=e if with_codes else None) for p, d, a, e in pays])
    return {"departments": depts, "projects": projects, "payments": payments}


@pytest.fixture
def store():
    return Store.from_frames(_frames())


def test_function_drilldown_by_hand(store):
    ex = mon.project_execution(store, 2023, 7, RULES)
    by_class = cls.function_summary(ex).set_index("func_class")
    # 205 教育支出: P1 + P2; 212: P3; 未填: P4. Spent to 31 July: P1 150000.10, P2 200000, P3 90000, P4 40000.
    assert list(by_class.index) == ["205", "212", "未填"]
    assert by_class.loc["205", "func_class_name"] == "教育支出"
    assert by_class.loc["205", "budget"] == 1_500_000.00
    assert by_class.loc["205", "spent"] == pytest.approx(350_000.10, abs=1e-9)
    assert by_class.loc["205", "execution_rate"] == pytest.approx(350_000.10 / 1_500_000.00)
    assert by_class.loc["未填", "projects"] == 1 and by_class.loc["未填", "spent"] == 40_000.00
    items = cls.function_summary(ex, "item").set_index("func_item")
    assert items.loc["20502", "func_item_name"] == "普通教育"
    assert items.loc["20502", "budget"] == 1_500_000.00


def test_drilldowns_sum_to_the_monitoring_totals(store):
    ex = mon.project_execution(store, 2023, 7, RULES)
    facts = mon.monitoring_facts(store, 2023, 7, RULES, execution=ex)
    for level in ("class", "item"):
        f = cls.function_summary(ex, level)
        assert round(f["budget"].sum(), 2) == facts["monitoring.budget"]
        assert round(f["spent"].sum(), 2) == facts["monitoring.spent"]
        assert f["projects"].sum() == facts["monitoring.projects"]
    econ = cls.econ_summary(store, 2023, 7, ex)
    assert round(econ["spent"].sum(), 2) == facts["monitoring.spent"]
    assert round(cls.econ_class_summary(econ)["spent"].sum(), 2) == facts["monitoring.spent"]
    assert econ["share"].sum() == pytest.approx(1.0)


def test_econ_drilldown_by_hand(store):
    ex = mon.project_execution(store, 2023, 7, RULES)
    econ = cls.econ_class_summary(cls.econ_summary(store, 2023, 7, ex)).set_index("econ_class")
    # 302: 100000.10 + 50000 + 200000 (P5 classified, the August payment later); 310: 40000; 未填: P3's 90000
    assert econ.loc["302", "spent"] == pytest.approx(350_000.10, abs=1e-9)
    assert econ.loc["302", "econ_class_name"] == "商品和服务支出"
    assert econ.loc["310", "spent"] == 40_000.00
    assert econ.loc["未填", "spent"] == 90_000.00
    assert econ.loc["302", "share"] == pytest.approx(350_000.10 / 480_000.10)
    assert list(econ.index)[-1] == "未填"


def test_pi22_from_payments_by_hand(store):
    lines = cls.street_econ_lines(store, "201", [2022, 2023])
    got = {(y, i): v for y, i, v in zip(lines["year"], lines["indicator"], lines["value"])}
    # street 201: P3 (30227) 300000, P4 (31005) 200000 budget each year
    assert got[(2022, "经济分类预算数:商品和服务支出")] == 300_000.0
    assert got[(2022, "经济分类决算数:资本性支出")] == 230_000.0
    assert (2023, "经济分类决算数:商品和服务支出") not in got  # P3's 2023 payment has no code
    wide = cls.with_payment_econ(fiscal.fiscal_wide(store.table("street_fiscal")), lines)
    from perflib.analysis.pefa import head_lines, composition_variance
    h = head_lines(wide, "201", 2022, ("经济分类预算数:", "经济分类决算数:"))
    # by hand: budget 300000/200000, outturn 250000/230000; adj = b × 480000/500000 = 288000/192000;
    # variance = (|250000−288000| + |230000−192000|) / 480000
    assert composition_variance(h["budget"], h["outturn"]) == pytest.approx(76_000 / 480_000)
    assert lines.loc[lines["year"] == 2023, "coded_share"].iloc[0] == pytest.approx(40_000 / 130_000)


def test_without_codes_everything_is_uncoded_and_the_text_says_what_is_needed():
    s = Store.from_frames(_frames(with_codes=False))
    ex = mon.project_execution(s, 2023, 7, RULES)
    assert not cls.has_codes(ex, "func_code")
    assert list(cls.function_summary(ex)["func_class"]) == ["未填"]
    assert set(cls.econ_summary(s, 2023, 7, ex)["econ_class"]) == {"未填"}
    assert cls.street_econ_lines(s, "201", [2022, 2023]).empty
    assert "功能分类" in cls_text.NEEDS_FUNC and "经济分类" in cls_text.NEEDS_ECON
    assert "不适用" in cls_text.pi22_source_text("", float("nan"))
