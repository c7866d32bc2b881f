"""The workbook written while the notebook runs (`perflib.run.ahead.WorkbookAhead`): it follows the
tables list the kernel grows, and the workbook publishing completes from it is the one written
whole, cell for cell, scanned for the same classified names."""
from __future__ import annotations

import io
import json
import pickle
import threading
import time

import openpyxl
import pandas as pd

from perflib.files import atomic_write_text
from perflib.present.html import xlsx_bytes
from perflib.present.notebook import TABLES_FILE
from perflib.run import leaks
from perflib.run.ahead import WorkbookAhead

SECRETS = ["某专项保障经费", "370101-2023-0004"]


def _tables() -> list[tuple]:
    """(title, sheet, frame, total rows), as publishing reads them (perflib.run.execute.read_artifacts)."""
    projects = pd.DataFrame({"项目名称": [f"项目{i}" for i in range(300)], "预算数": [i * 1.25 for i in range(300)]})
    depts = pd.DataFrame({"部门": ["区教体局", "区卫健局"], "项目数": [2, 3], "执行率": [0.5, float("nan")]})
    named = pd.DataFrame({"项目名称": ["某专项保障经费"], "预算数": [1.0]})
    return [("项目表", "项目", projects, 500), ("部门表", "部门", depts, 2), ("另表", "项目", named, 1)]


def _record(adir, tables, pause: float = 0.0) -> None:
    """What the notebook's ``rep.table`` does for each table of ``tables`` not recorded yet: the
    table's file first, then the list naming it, replaced whole (atomically, as the notebook does)."""
    (adir / "tables").mkdir(parents=True, exist_ok=True)
    listed = json.loads((adir / TABLES_FILE).read_text("utf-8")) if (adir / TABLES_FILE).exists() else []
    for k, (title, sheet, frame, total) in enumerate(tables[len(listed):], len(listed) + 1):
        time.sleep(pause)
        file = f"table_{k:03d}.pkl"
        (adir / "tables" / file).write_bytes(pickle.dumps(frame))
        listed.append({"file": file, "title": title, "sheet": sheet, "rows": total})
        atomic_write_text(adir / TABLES_FILE, json.dumps(listed, ensure_ascii=False), durable=False)


def _cells(data: bytes) -> dict:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}


def _follow(ahead: WorkbookAhead, adir, record) -> None:
    stop = threading.Event()
    follower = threading.Thread(target=ahead.follow, args=(adir, stop))
    follower.start()
    record()
    stop.set()  # the cells are over
    follower.join(timeout=60)
    assert not follower.is_alive()


def test_the_workbook_completed_from_the_sheets_written_ahead_is_the_whole_one(tmp_path):
    tables = _tables()
    ahead = WorkbookAhead(SECRETS)
    seen: list[int] = []

    def record():
        _record(tmp_path, tables[:2], pause=0.25)  # the follower writes these while they come
        seen.append(len(ahead.written))
        _record(tmp_path, tables)  # the last one just before the cells end

    _follow(ahead, tmp_path, record)
    assert seen[0] >= 1 and ahead.written == [("项目", 300), ("部门", 2), ("项目", 1)]
    book = ahead.book_for(tables)
    assert book is not None
    info = {"报告": "探针", "生成时间": "2026-12-04 12:00"}
    data = xlsx_bytes(tables, info, book=book)
    whole = xlsx_bytes(tables, info)
    assert _cells(data) == _cells(whole)
    assert list(_cells(data)) == ["说明", "项目", "部门", "项目_2"]
    # the scan of what was written ahead and at the end finds what a scan of the file finds
    assert ahead.found() == leaks.find_leaks(leaks.xlsx_text(data), SECRETS) == [0]


def test_a_name_in_the_sheet_written_last_is_found_too(tmp_path):
    tables = _tables()
    ahead = WorkbookAhead(["区卫健局"])
    _follow(ahead, tmp_path, lambda: _record(tmp_path, tables[:1]))
    data = xlsx_bytes(tables, {"报告": "探针"}, book=ahead.book_for(tables))  # 部门 added at publishing
    assert ahead.found() == [0] == leaks.find_leaks(leaks.xlsx_text(data), ["区卫健局"])


def test_other_tables_than_those_written_ahead_get_no_book(tmp_path):
    tables = _tables()
    ahead = WorkbookAhead(SECRETS)
    _follow(ahead, tmp_path, lambda: _record(tmp_path, tables))
    assert ahead.book_for(tables) is not None
    assert ahead.book_for(tables[:2]) is None  # fewer
    other = list(tables)
    other[1] = ("部门表", "部门", tables[1][2].head(1), 1)
    assert ahead.book_for(other) is None  # not the same rows
    assert WorkbookAhead(SECRETS).book_for(tables) is None  # nothing written ahead
    ahead.close()


def test_a_table_that_cannot_be_read_leaves_the_workbook_to_publishing(tmp_path):
    tables = _tables()

    def record():
        _record(tmp_path, tables)
        (tmp_path / "tables" / "table_002.pkl").write_bytes(b"not a pickle")

    ahead = WorkbookAhead(SECRETS)
    stop = threading.Event()
    stop.set()
    record()
    ahead.follow(tmp_path, stop)  # does not raise
    assert ahead.broken and ahead.book_for(tables) is None
    ahead.close()


def test_tables_recorded_while_a_sheet_is_written_are_written_next_without_waiting_for_a_poll(tmp_path, monkeypatch):
    """The follower looks at the list again as soon as it has written something: the tables the
    cells recorded meanwhile are not left until the next poll (at a province's end, the report
    waited for them)."""
    from perflib.present import xlsx

    tables = _tables()
    _record(tmp_path, tables[:1])

    class Stop(threading.Event):
        waits = 0

        def wait(self, timeout=None):
            type(self).waits += 1
            return super().wait(timeout)

    stop = Stop()
    real_add = xlsx.WorkbookWriter.add

    def add(self, position, name, df):  # the cells go on while the sheet is written
        real_add(self, position, name, df)
        if position == 2:
            _record(tmp_path, tables)  # the two others
        if position == 4:
            stop.set()  # and the cells are over after the last

    monkeypatch.setattr(xlsx.WorkbookWriter, "add", add)
    ahead = WorkbookAhead(SECRETS)
    ahead.follow(tmp_path, stop)
    assert [sheet for sheet, _ in ahead.written] == ["项目", "部门", "项目"]
    assert Stop.waits == 1  # the first look only; before, one poll after each sheet written
    ahead.close()
