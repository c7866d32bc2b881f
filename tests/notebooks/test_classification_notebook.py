"""Execution by classification and ex-ante assessment through ``perflib run``: on the demo, the
monitoring workbook's 功能分类 and 经济分类 sheets add up to the report's facts, and the fiscal report of
a street without 街道财政 经济分类 rows grades PI-2.2 from the payments; an export without the new
table and columns still renders, its sections saying which data they need."""
from __future__ import annotations

import json

import openpyxl
import pytest

from conftest import small_frames, write_export
from perflib.analysis import fiscal
from perflib.cli import main
from perflib.ingest import ingest
from perflib.present.text import classification as cls_text
from perflib.rules import load_rules
from perflib.store import Store

pytestmark = pytest.mark.slow

YEAR, MONTH = 2023, 7


def _sheet(book, name) -> list[dict]:
    rows = list(book[name].iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


@pytest.fixture(scope="module")
def monitoring_out(demo_reports):
    """The demo suite's monitoring report (``perflib run`` on ``demo_db``, latest year 2023, whose
    default month is the last complete one, July): the same page ``run monitoring -p as_of_month=7``
    renders, read instead of rendered once more."""
    out = demo_reports / str(YEAR)
    assert [p.name for p in out.glob("monitoring*.facts.json")] == [f"monitoring-{MONTH:02d}月.facts.json"]
    return out


def test_monitoring_drilldowns_add_up_to_the_facts(monitoring_out):
    stem = next(monitoring_out.glob("monitoring*.facts.json")).name.removesuffix(".facts.json")
    facts = json.loads((monitoring_out / f"{stem}.facts.json").read_text("utf-8"))["facts"]
    book = openpyxl.load_workbook(monitoring_out / f"{stem}.xlsx", read_only=True)
    # the workbook holds 万元 to 2 decimals: each row is within 50 元 of its exact value (the exact
    # sums are tested in tests/analysis/test_classification.py)
    for sheet in ("分功能分类", "分功能分类款"):
        rows = _sheet(book, sheet)
        assert sum(r["项目数"] for r in rows) == facts["monitoring.projects"]
        tol = 50 * len(rows)
        assert sum(r["预算数（万元）"] for r in rows) * 1e4 == pytest.approx(facts["monitoring.budget"], abs=tol)
        assert sum(r["支出数（万元）"] for r in rows) * 1e4 == pytest.approx(facts["monitoring.spent"], abs=tol)
    for sheet in ("分经济分类", "分经济分类款"):
        rows = _sheet(book, sheet)
        assert sum(r["支出数（万元）"] for r in rows) * 1e4 == pytest.approx(facts["monitoring.spent"], abs=50 * len(rows))
    assert {r["类名称"] for r in _sheet(book, "分功能分类")} >= {"教育支出", "一般公共服务支出"}


def test_demo_streets_without_econ_rows_grade_pi22_from_payments(demo_db):
    store, rules = Store(demo_db), load_rules()
    sources = {}
    for code in store.streets()["dept_code"]:
        ev = fiscal.evaluate_street(store, YEAR, code, rules)
        sources[code] = ev.econ_source
        assert ev.pefa[2].applicable
    assert set(sources.values()) == {fiscal.ECON_FROM_STREET, fiscal.ECON_FROM_PAYMENTS}


def test_an_export_without_the_new_data_renders_and_says_what_it_needs(tmp_path):
    folder = write_export(tmp_path / "export", small_frames())
    db = tmp_path / "perf.duckdb"
    ingest(folder, db)
    out = tmp_path / "reports"
    rc = main(["run", "monitoring", "targets", "--db", str(db), "--out", str(out), "--year", str(YEAR),
               "-p", f"as_of_month={MONTH}", "--no-progress", "--no-pdf"])
    assert rc == 0
    page = next((out / str(YEAR)).glob("monitoring*.html")).read_text("utf-8")
    assert "本节需要项目表的「功能分类」列" in page and "本节需要支出明细表的「经济分类」列" in page
    targets = (out / str(YEAR) / "targets.html").read_text("utf-8")
    assert "本节需要「事前评估」表" in targets
    facts = json.loads((out / str(YEAR) / "targets.facts.json").read_text("utf-8"))["facts"]
    assert facts["ex_ante.missing"] is None and facts["ex_ante.mismatch"] is None
    assert cls_text.NEEDS_EX_ANTE.startswith("数据中没有事前评估")


def test_demo_drilldowns_sum_exactly_to_the_monitoring_totals(demo_db):
    from perflib.analysis import classification as cls
    from perflib.analysis import monitoring as mon

    store, rules = Store(demo_db), load_rules()
    ex = mon.project_execution(store, YEAR, MONTH, rules)
    facts = mon.monitoring_facts(store, YEAR, MONTH, rules, execution=ex)
    for level in ("class", "item"):
        f = cls.function_summary(ex, level)
        assert round(f["budget"].sum(), 2) == facts["monitoring.budget"]
        assert round(f["spent"].sum(), 2) == facts["monitoring.spent"]
    assert round(cls.econ_summary(store, YEAR, MONTH, ex)["spent"].sum(), 2) == facts["monitoring.spent"]
