"""Issue 19: editions per period, ``changes`` against the previous edition, data revisions.

Two loads of the demo: the first without July 2023's payments, the second with them and one March
payment revised. Monitoring run after each: June's and July's editions both stay published; June's
second edition lists exactly the facts that moved; the revision is recorded with both totals (summed
independently over the two exports) and the report's 数据修订 note shows them.
"""
from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from perflib.cli import main
from perflib.ingest import ingest
from perflib.run import editions
from perflib.run.publish import split_stem
from perflib.run.units import current_version, manifest

REVISED = Decimal("12345.67")


def test_fact_changes_lists_exactly_what_moved():
    old = {"a": 1, "b": 2.5, "c": "x", "d": [1, 2], "gone": 3, "same": 0.1}
    new = {"a": 1.0, "b": 3.0, "c": "y", "d": [1, 2], "new": True, "same": 0.1}
    got = editions.fact_changes(old, new)
    assert got == {"b": {"old": 2.5, "new": 3.0, "diff": 0.5}, "c": {"old": "x", "new": "y", "diff": None},
                   "gone": {"old": 3, "new": None, "diff": None}, "new": {"old": None, "new": True, "diff": None}}
    assert editions.changes_doc(None, new, 2) is None


def _exports(demo_dir: Path, root: Path) -> tuple[Path, Path, dict]:
    """(export without July 2023, export with July and one March payment raised by REVISED, the row)."""
    a, b = root / "a", root / "b"
    for d in (a, b):
        shutil.copytree(demo_dir, d)
    pay = pd.read_csv(demo_dir / "支出明细.csv", dtype=str, encoding="utf-8-sig")
    july = pay["支付日期"].str.startswith("2023-07")
    pay[~july].to_csv(a / "支出明细.csv", index=False, encoding="utf-8-sig")
    i = pay.index[pay["支付日期"].str.startswith("2023-03")][0]
    row = pay.loc[i].to_dict()
    pay.loc[i, "支付金额"] = str(Decimal(pay.loc[i, "支付金额"]) + REVISED)
    pay.to_csv(b / "支出明细.csv", index=False, encoding="utf-8-sig")
    return a, b, row


def _march(export: Path) -> Decimal:
    """2023-03's payments summed straight from the export's csv (independent of perflib)."""
    con = duckdb.connect()
    v = con.execute("SELECT sum(CAST(\"支付金额\" AS DECIMAL(18,2))) FROM read_csv(?, all_varchar=true) "
                    "WHERE \"支付日期\" LIKE '2023-03%'", [str(export / "支出明细.csv")]).fetchone()[0]
    return Decimal(v)


def test_a_revised_month_is_recorded_and_listed(demo_ingest, tmp_path, capsys):
    demo = demo_ingest["export"]  # the seed-0 demo export, written once per run (read-only: copied)
    a, b, _ = _exports(demo, tmp_path)
    db = tmp_path / "perf.duckdb"
    ingest(a, db)
    summary = ingest(b, db)
    assert summary.revisions == 1  # July is new data, not a revision; 2021–2022 unchanged
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT table_name, year, period, record_key, old_total, new_total, old_load_id, "
                       "new_load_id FROM revisions").fetchall()
    con.close()
    old, new = _march(a), _march(b)
    assert new - old == REVISED
    assert rows == [("payments", 2023, "2023-03", None, float(old), float(new), 1, 2)]
    assert main(["revisions", "--db", str(db), "--year", "2023"]) == 0
    out = capsys.readouterr().out
    assert f"{old:,.2f} 元" in out and f"{new:,.2f} 元" in out and "+12,345.67 元" in out
    assert main(["revisions", "--db", str(db), "--year", "2022"]) == 0
    assert "没有2022 年的数据修订" in capsys.readouterr().out
    ingest(b, db)  # the same files again: nothing new
    assert len(duckdb.connect(str(db), read_only=True).execute("SELECT * FROM revisions").fetchall()) == 1


@pytest.mark.slow
def test_editions_per_month_changes_and_the_revision_note(demo_ingest, tmp_path):
    from perflib.run.runner import run_reports

    demo = demo_ingest["export"]  # the seed-0 demo export, written once per run (read-only: copied)
    a, b, _ = _exports(demo, tmp_path)
    db, out = tmp_path / "perf.duckdb", tmp_path / "reports"
    ingest(a, db)
    assert run_reports(["monitoring"], db=db, out=out, progress=False, params={"as_of_month": "6"}).exit_code == 0
    june = out / "2023" / "monitoring-06月.facts.json"
    first = json.loads(june.read_text("utf-8"))
    assert first["changes"] is None and first["load_id"] == 1
    folder, key = split_stem(out, "2023/monitoring-06月")
    version = current_version(folder, key)
    again = run_reports(["monitoring"], db=db, out=out, progress=False, params={"as_of_month": "6"})
    assert [r.status for r in again.results] == ["cached"]
    assert current_version(folder, key) == version and len(editions.history_lines(folder, key)) == 1

    ingest(b, db)
    assert run_reports(["monitoring"], db=db, out=out, progress=False).exit_code == 0  # default: July
    july = json.loads((out / "2023" / "monitoring-07月.facts.json").read_text("utf-8"))
    assert july["changes"] is None and july["facts"]["monitoring.as_of_month"] == 7
    assert run_reports(["monitoring"], db=db, out=out, progress=False, params={"as_of_month": "6"}).exit_code == 0
    second = json.loads(june.read_text("utf-8"))
    moved = {k for k in first["facts"] if json.dumps(first["facts"][k]) != json.dumps(second["facts"][k])}
    assert moved and "monitoring.spent" in moved
    ch = second["changes"]
    assert set(ch["facts"]) == moved
    assert ch["since"] == first["rendered_at"] and (ch["previous_load_id"], ch["load_id"]) == (1, 2)
    for k in moved:
        o, n = first["facts"][k], second["facts"][k]
        assert ch["facts"][k]["old"] == o and ch["facts"][k]["new"] == n
        if isinstance(o, (int, float)) and isinstance(n, (int, float)):
            assert ch["facts"][k]["diff"] == pytest.approx(n - o)
        else:  # a breakdown ({资金来源: {…}}, {年度: …}) or a missing value has no single difference
            assert ch["facts"][k]["diff"] is None
    # the spent figure moved by exactly the revised payment (this one is in an open project of the demo)
    assert Decimal(str(ch["facts"]["monitoring.spent"]["diff"])).quantize(Decimal("0.01")) == REVISED
    assert len(editions.history_lines(folder, key)) == 2
    assert manifest(folder, key)["changes"]["count"] == len(moved)
    # both months stay published, listed newest first, with what changed
    for m in ("06", "07"):
        assert (out / "2023" / f"monitoring-{m}月.html").exists()
    index = (out / "index.html").read_text("utf-8")
    assert index.index("monitoring-07月.html") < index.index("monitoring-06月.html")
    assert f"{len(moved)} 项数据变化" in index and "首次发布" in index
    old, new = _march(a), _march(b)
    page = (out / "2023" / "monitoring-06月.html").read_text("utf-8")
    assert "数据修订" in page and f"{old:,.2f} 元" in page and f"{new:,.2f} 元" in page
