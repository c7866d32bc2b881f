"""整改台账 at ingest: an optional table; dates that cannot be are errors (both readers), a done item
without 完成日期 and an open one without 整改期限 are findings; a surrogate-free ledger loads."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from conftest import small_frames, write_export
from perflib.exceptions import InputError
from perflib.ingest import check, ingest
from perflib.ingest.bulk import BulkReader
from perflib.ingest.checks import examine
from perflib.ingest.folder import read_export
from perflib.ingest.reader import PythonReader

D = dt.date
COLUMNS = ["problem_id", "source", "project_id", "dept_code", "year", "finding", "measure", "deadline",
           "status", "date_done"]


def _ledger(*rows) -> pd.DataFrame:
    base = [("R1", "重点评价", "P001", "101", 2023, "目标不细化", "修订目标", D(2024, 3, 31), "已整改", D(2024, 3, 1)),
            ("R2", "审计", None, "102", 2023, "制度不健全", None, D(2024, 6, 30), "整改中", None)]
    return pd.DataFrame(base + list(rows), columns=COLUMNS)


def _export(tmp_path: Path, ledger: pd.DataFrame, xlsx=("rectifications",)) -> Path:
    frames = small_frames()
    frames["rectifications"] = ledger
    return write_export(tmp_path / "export", frames, xlsx=xlsx)


def _both(folder: Path):
    py = examine(read_export(folder, strict=False, readers=[PythonReader()]))
    bk = read_export(folder, strict=False, readers=[BulkReader(min_bytes=0), PythonReader()])
    con = duckdb.connect()
    try:
        if bk.staged is not None:
            bk.staged.load(con)
        return list(py), list(examine(bk))
    finally:
        con.close()


def test_a_valid_ledger_loads_with_its_dates(tmp_path):
    db = tmp_path / "perf.duckdb"
    summary = ingest(_export(tmp_path, _ledger()), db)
    assert not [p for p in summary.findings if p.table == "rectifications"]
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT problem_id, project_id, deadline, date_done FROM rectifications ORDER BY 1").fetchall()
    con.close()
    assert rows == [("R1", "P001", D(2024, 3, 31), D(2024, 3, 1)), ("R2", None, D(2024, 6, 30), None)]


@pytest.mark.parametrize("row, column, words", [
    (("R3", "审计", "P001", "101", 2023, "x", None, D(2024, 1, 31), "已整改", D(2022, 12, 31)),
     "完成日期", "完成日期早于发现问题的年度 2023 年"),
    (("R3", "审计", "P001", "101", 2023, "x", None, D(2024, 1, 31), "整改中", D(2024, 1, 5)),
     "完成日期", "整改状态为「整改中」却填了完成日期"),
    (("R3", "审计", "P001", "101", 2023, "x", None, D(2022, 6, 30), "未整改", None),
     "整改期限", "整改期限早于发现问题的年度 2023 年"),
    (("R3", "审计", "P001", "101", 2023, "x", None, D(2024, 1, 31), "已整改", D(2099, 1, 1)),
     "完成日期", "完成日期晚于今天"),
    (("R3", "督查", "P001", "101", 2023, "x", None, D(2024, 1, 31), "未整改", None), "问题来源", "不是允许的取值"),
    (("R3", "审计", "NOPE", "101", 2023, "x", None, D(2024, 1, 31), "未整改", None), "项目编码", "NOPE"),
    (("R1", "审计", "P001", "101", 2023, "x", None, D(2024, 1, 31), "未整改", None), "问题编号", "重复"),
])
def test_impossible_rows_are_errors_located_by_both_readers(tmp_path, row, column, words):
    folder = _export(tmp_path, _ledger(row), xlsx=())
    py, bk = _both(folder)
    errors = [p for p in py if p.kind is None]
    assert len(errors) == 1 and errors[0].column == column and words in str(errors[0])
    assert errors[0].file == "整改台账.csv" and errors[0].row == 4
    assert py == bk
    with pytest.raises(InputError):
        ingest(folder, tmp_path / "perf.duckdb")
    assert not (tmp_path / "perf.duckdb").exists()


def test_missing_dates_are_findings_by_both_readers(tmp_path):
    extra = [("R3", "审计", "P001", "101", 2023, "x", None, None, "已整改", None),
             ("R4", "其他", "P002", "102", 2023, "y", None, None, "未整改", None),
             ("R5", "其他", "P002", "102", 2023, "z", None, None, "整改中", None)]
    folder = _export(tmp_path, _ledger(*extra), xlsx=())
    py, bk = _both(folder)
    kinds = [(p.kind, p.row, p.column) for p in py if p.kind and p.table == "rectifications"]
    assert kinds == [("rectification_date_missing", 4, "完成日期"),
                     ("rectification_deadline_missing", 5, "整改期限"),
                     ("rectification_deadline_missing", 6, "整改期限")]
    assert py == bk
    checked = check(folder)
    assert checked.ok
    summary = ingest(folder, tmp_path / "perf.duckdb")
    assert sorted(p.kind for p in summary.findings if p.table == "rectifications") == [
        "rectification_date_missing", "rectification_deadline_missing", "rectification_deadline_missing"]


def test_an_export_without_the_ledger_loads_and_reads_it_empty(tmp_path):
    from perflib.store import Store

    db = tmp_path / "perf.duckdb"
    ingest(write_export(tmp_path / "export"), db)
    with Store(db) as s:
        assert s.table("rectifications").empty
        assert s.table_export_date("rectifications") is None
