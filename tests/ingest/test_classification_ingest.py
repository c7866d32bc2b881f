"""事前评估 and the 功能分类/经济分类 columns at ingest: both readers (the bulk DuckDB path and the
Python row path) load them to the same rows; a bad 评估结论 is an error naming the column in both; an
export without them loads with the columns empty and the table absent-but-readable."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pandas as pd
import pytest

from conftest import small_frames, write_export
from perflib.exceptions import InputError
from perflib.ingest import ingest
from perflib.ingest.bulk import BulkReader
from perflib.ingest.reader import PythonReader
from perflib.store import Store

D = dt.date


def _frames(conclusion: str = "调整后支持") -> dict[str, pd.DataFrame]:
    f = small_frames()
    f["projects"] = f["projects"].assign(func_code=["2050201", None, "2050201", "2060101", "2050202", "2010301"],
                                         econ_code=["31005", "30227", "31005", None, "30213", "30201"])
    f["payments"] = f["payments"].assign(econ_code=["31005", "31005", "31005", None, "30227", "30201"])
    f["ex_ante"] = pd.DataFrame([
        ("P002", 2023, D(2022, 9, 1), conclusion, Decimal("700000.00"), "评价中心"),
        ("N001", 2024, D(2023, 9, 2), "不支持", None, None),
    ], columns=["project_id", "year", "assess_date", "conclusion", "suggested_amount", "assessor"])
    return f


READERS = {"python": lambda: [PythonReader()], "bulk": lambda: [BulkReader(min_bytes=0), PythonReader()]}


def _rows(db, query):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("xlsx", [(), ("ex_ante", "projects")])
def test_both_readers_load_the_same_rows(tmp_path, xlsx):
    folder = write_export(tmp_path / "export", _frames(), xlsx=xlsx)
    got = {}
    for name, readers in READERS.items():
        db = tmp_path / f"{name}.duckdb"
        ingest(folder, db, readers=readers())
        got[name] = (
            _rows(db, "SELECT project_id, year, assess_date, conclusion, suggested_amount, assessor FROM ex_ante ORDER BY 1"),
            _rows(db, "SELECT project_id, year, func_code, econ_code FROM projects ORDER BY 1, 2"),
            _rows(db, "SELECT project_id, pay_date, econ_code FROM payments ORDER BY 1, 2"),
        )
    assert got["python"] == got["bulk"]
    ex, projects, payments = got["python"]
    assert ex == [("N001", 2024, D(2023, 9, 2), "不支持", None, None),
                  ("P002", 2023, D(2022, 9, 1), "调整后支持", Decimal("700000.00"), "评价中心")]
    assert ("P001", 2023, "2050201", "31005") in projects and ("P002", 2022, None, "30227") in projects
    assert ("P002", D(2023, 5, 6), "30227") in payments


@pytest.mark.parametrize("reader", sorted(READERS))
def test_a_bad_conclusion_is_an_error_in_both_readers(tmp_path, reader):
    folder = write_export(tmp_path / "export", _frames(conclusion="原则同意"))
    with pytest.raises(InputError) as exc:
        ingest(folder, tmp_path / "perf.duckdb", readers=READERS[reader]())
    assert "评估结论" in str(exc.value) and "原则同意" in str(exc.value)


@pytest.mark.parametrize("reader", sorted(READERS))
def test_an_export_without_them_loads(tmp_path, reader):
    folder = write_export(tmp_path / "export", small_frames())
    db = tmp_path / "perf.duckdb"
    summary = ingest(folder, db, readers=READERS[reader]())
    # no finding for the absent new columns (they are optional and counted by no analysis' findings)
    assert not [p for p in summary.findings if p.column in ("功能分类", "经济分类")]
    assert _rows(db, "SELECT count(*), count(func_code), count(econ_code) FROM projects")[0][1:] == (0, 0)
    with Store(db) as s:
        assert s.table("ex_ante").empty
