"""The 整改跟踪 report through ``perflib run`` on the demo, against a pandas count over the demo's
整改台账.xlsx; an export without the ledger still loads and renders it (saying which data it needs);
and the round trip: ``perflib ledger`` output filled in here, ingested back, shown done and overdue."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from perflib.cli import main
from perflib.ingest import ingest

pytestmark = pytest.mark.slow  # end-to-end: outside the fast lane (`-m "not slow"`)

YEAR = 2023
AS_OF = dt.date(2024, 6, 30)
LEDGER_FILE = "整改台账.xlsx"


def _count(ledger: pd.DataFrame, year: int, as_of: dt.date) -> dict:
    """The facts counted from the workbook's Chinese columns alone."""
    y = ledger[ledger["年度"].astype(int) == year]
    deadline = pd.to_datetime(y["整改期限"]).dt.date
    done_at = pd.to_datetime(y["完成日期"]).dt.date
    done = y["整改状态"] == "已整改"
    overdue = [(not d) and isinstance(t, dt.date) and t < as_of for d, t in zip(done, deadline)]
    on_time = [bool(d) and isinstance(a, dt.date) and isinstance(t, dt.date) and a <= t
               for d, a, t in zip(done, done_at, deadline)]
    return {"rectification.items": len(y), "rectification.done": int(done.sum()),
            "rectification.open": int((~done).sum()), "rectification.overdue": int(sum(overdue)),
            "rectification.on_time": int(sum(on_time))}


def _facts(out: Path, name: str = "rectification") -> dict:
    return json.loads((out / str(YEAR) / f"{name}.facts.json").read_text("utf-8"))["facts"]


def _html(out: Path, name: str) -> str:
    return next((out / str(YEAR)).glob(f"{name}*.html")).read_text("utf-8")


def test_demo_report_counts_equal_a_count_over_the_ledger_file(demo_db, demo_reports):
    ledger = pd.read_excel(demo_db.parent / "export" / LEDGER_FILE, sheet_name="整改台账", dtype={"项目编码": str})
    # conftest's demo suite (every report on demo_db, latest year 2023, exit 0 asserted there) holds the
    # rectification and overview pages `perflib run rectification overview --year 2023` writes
    out = demo_reports
    facts = _facts(out)
    want = _count(ledger, YEAR, AS_OF)
    assert {k: facts[k] for k in want} == want
    assert facts["rectification.as_of"] == AS_OF.isoformat()
    # every section shows something: some done, some overdue, one recurrence
    assert want["rectification.done"] and want["rectification.overdue"] and facts["rectification.recurring"] == 1
    html = _html(out, "rectification")
    assert f"已整改 {want['rectification.done']} 个" in html and "逾期未整改问题" in html
    overview = _facts(out, "overview")
    assert {k: overview[k] for k in ("rectification.items", "rectification.done", "rectification.overdue")} == {
        k: want[k] for k in ("rectification.items", "rectification.done", "rectification.overdue")}
    assert f"已整改{want['rectification.done']}个" in _html(out, "overview")
    assert "问题整改等工作已全面完成" not in _html(out, "overview")


def _export_without_ledger(demo_db, folder: Path) -> Path:
    shutil.copytree(demo_db.parent / "export", folder, copy_function=shutil.copy2)
    (folder / LEDGER_FILE).unlink()
    return folder


def test_an_export_without_the_ledger_renders_saying_what_it_needs(demo_db, tmp_path):
    db = tmp_path / "perf.duckdb"
    ingest(_export_without_ledger(demo_db, tmp_path / "export"), db)
    out = tmp_path / "out"
    assert main(["run", "rectification", "overview", "--db", str(db), "--out", str(out), "--year", str(YEAR),
                 "--no-progress"]) == 0
    assert "需要「整改台账」表" in _html(out, "rectification")
    assert _facts(out)["rectification.items"] == 0
    overview = _html(out, "overview")
    assert "整改台账" not in overview and "问题整改等工作已全面完成" not in overview
    assert not any(k.startswith("rectification.") for k in _facts(out, "overview"))


def _fill(path: Path) -> pd.DataFrame:
    """Fill in the ledger as departments would: by row number, a third done on time, a sixth done
    late, the rest 整改中 with deadlines before and after the as-of date."""
    df = pd.read_excel(path, sheet_name="整改台账", dtype={"问题编号": str, "项目编码": str, "部门编码": str})
    assert (df["整改状态"] == "未整改").all() and df["整改措施"].isna().all() and df["整改期限"].isna().all()
    deadlines, statuses, dones = [], [], []
    for i in range(len(df)):
        k = i % 6
        deadline = dt.date(2024, 3, 31) if k < 4 else dt.date(2024, 9, 30)
        status = "已整改" if k in (0, 1, 2) else "整改中"
        done = {0: dt.date(2024, 3, 1), 1: dt.date(2024, 3, 31), 2: dt.date(2024, 4, 15)}.get(k)
        deadlines.append(deadline), statuses.append(status), dones.append(done)
    df["整改期限"], df["整改状态"], df["完成日期"] = deadlines, statuses, dones
    df["整改措施"] = "已制定整改方案"
    return df


def test_ledger_round_trip(demo_db, tmp_path, capsys):
    drafts = tmp_path / "drafts"
    assert main(["ledger", "--year", str(YEAR), "--out", str(drafts), "--db", str(demo_db)]) == 0
    assert "整改台账-2023.xlsx" in capsys.readouterr().out
    draft = drafts / "整改台账-2023.xlsx"
    rows = pd.read_excel(draft, sheet_name="整改台账", dtype=str)
    assert len(rows) > 0 and rows["问题编号"].is_unique
    assert set(rows["问题来源"]) <= {"重点评价", "重点监控", "自评复核"}
    # the draft shows classified projects only by surrogate, never by code or name
    with duckdb.connect(str(demo_db), read_only=True) as con:
        secret = {str(v) for r in con.execute(
            "SELECT project_id, project_name FROM projects WHERE is_classified").fetchall() for v in r}
    text = " ".join(rows.fillna("").astype(str).to_numpy().ravel())
    assert not any(s in text for s in secret)
    # ids are stable: a second run writes the same rows
    assert main(["ledger", "--year", str(YEAR), "--out", str(tmp_path / "again"), "--db", str(demo_db)]) == 0
    assert pd.read_excel(tmp_path / "again" / "整改台账-2023.xlsx", dtype=str).equals(rows)

    filled = _fill(draft)
    export = _export_without_ledger(demo_db, tmp_path / "export")
    path = export / "整改台账-2023.xlsx"
    with pd.ExcelWriter(path) as xw:
        filled.to_excel(xw, sheet_name="整改台账", index=False)
    stamp = dt.datetime.combine(AS_OF, dt.time(12)).timestamp()
    os.utime(path, (stamp, stamp))  # the day the departments reported: the as-of date of overdue
    db = tmp_path / "perf.duckdb"
    ingest(export, db)
    out = tmp_path / "out"
    assert main(["run", "rectification", "--db", str(db), "--out", str(out), "--year", str(YEAR),
                 "--no-progress"]) == 0
    facts = _facts(out)
    want = _count(filled, YEAR, AS_OF)
    assert {k: facts[k] for k in want} == want
    assert want["rectification.done"] == sum(1 for i in range(len(filled)) if i % 6 < 3)
    assert want["rectification.overdue"] == sum(1 for i in range(len(filled)) if i % 6 == 3)
    assert want["rectification.on_time"] == sum(1 for i in range(len(filled)) if i % 6 < 2)
