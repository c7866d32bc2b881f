"""Ingest: a valid folder lands in DuckDB exactly; loads replace by (table, year), monitoring
accumulates by month, re-ingest is idempotent, and any failure leaves the previous file untouched."""
from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal

import duckdb
import pandas as pd
import pytest

from conftest import sha256_of, small_frames, write_export
from perflib.cli import main
from perflib.exceptions import StoreError
from perflib.ingest.load import TEMP_MARK, ingest
from perflib.schema import TABLE_ORDER
from perflib.store import Store


def contents(db) -> dict[str, list[tuple]]:
    """Every input table's rows, sorted (order-independent comparison of two databases)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for name in TABLE_ORDER:
            rows = con.execute(f"SELECT * FROM {name}").fetchall()
            out[name] = sorted(rows, key=repr)
        return out
    finally:
        con.close()


def q(db, sql, params=None):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_small_export_lands_exactly(ingested_db):
    # counts by hand from conftest.small_frames
    assert q(ingested_db, "SELECT count(*) FROM departments") == [(5,)]
    assert q(ingested_db, "SELECT count(*) FROM projects WHERE year = 2023") == [(4,)]
    assert q(ingested_db, "SELECT count(*) FROM payments") == [(6,)]
    # money is exact DECIMAL in 元: 1,300,000.50 and 250,000.25 survive to the fen
    assert q(ingested_db, "SELECT adjusted_amount FROM projects WHERE project_id='P001' AND year=2023") \
        == [(Decimal("1300000.50"),)]
    assert q(ingested_db, "SELECT sum(budget_amount) FROM projects WHERE year = 2023") \
        == [(Decimal("2340000.25"),)]  # 1,200,000 + 800,000 + 250,000.25 + 90,000
    assert q(ingested_db, "SELECT typeof(budget_amount) FROM projects LIMIT 1") == [("DECIMAL(18,2)",)]
    # dates, booleans, defaults
    assert q(ingested_db, "SELECT max(pay_date) FROM payments WHERE year = 2023") == [(dt.date(2023, 7, 31),)]
    assert q(ingested_db, "SELECT dept_code FROM departments WHERE is_street") == [("201",)]
    assert q(ingested_db, "SELECT project_id FROM projects WHERE is_classified") == [("P004",)]
    # department-level target keeps an empty project code
    assert q(ingested_db, "SELECT count(*) FROM targets WHERE project_id IS NULL") == [(1,)]


def test_loads_log_records_every_file(export_dir, db_path):
    ingest(export_dir, db_path)
    log = q(db_path, "SELECT file, table_name, sha256, row_count, load_id FROM loads ORDER BY file")
    files = sorted(p.name for p in export_dir.iterdir())
    assert [r[0] for r in log] == files
    for file, table, sha, rows, load_id in log:
        assert sha == sha256_of(export_dir / file)
        assert load_id == 1
    assert dict((r[1], r[3]) for r in log)["projects"] == 6


def test_store_reads_ingested_db(ingested_db):
    with Store(ingested_db) as store:
        assert store.years() == [2022, 2023]
        projects = store.projects(2023)
        assert len(projects) == 4
        assert "某专项保障经费" not in set(projects["project_name"])


def test_ingest_twice_same_contents(export_dir, db_path):
    ingest(export_dir, db_path)
    first = contents(db_path)
    summary = ingest(export_dir, db_path)
    assert contents(db_path) == first
    assert summary.unchanged
    # same files as the last load: no second loads entry
    assert q(db_path, "SELECT count(DISTINCT load_id) FROM loads") == [(1,)]


def test_ingest_twice_after_other_load_same_contents(tmp_path, db_path):
    """A → B → B: the second B changes nothing in the tables (a new loads entry is not required)."""
    a = write_export(tmp_path / "a")
    frames = small_frames()
    frames["payments"] = frames["payments"].iloc[2:4]  # a 2023 re-export of payments only
    b = write_export(tmp_path / "b", {"payments": frames["payments"]})
    ingest(a, db_path)
    ingest(b, db_path)
    after_b = contents(db_path)
    ingest(b, db_path)
    assert contents(db_path) == after_b


def test_reexport_of_a_year_replaces_that_year_only(tmp_path, db_path):
    ingest(write_export(tmp_path / "a"), db_path)
    frames = small_frames()
    p = frames["projects"]
    p2023 = p[p["year"] == 2023].copy()
    p2023.loc[p2023["project_id"] == "P003", "budget_amount"] = Decimal("260000.00")
    ingest(write_export(tmp_path / "b", {"projects": p2023}), db_path)
    rows = q(db_path, "SELECT project_id, year, budget_amount FROM projects ORDER BY year, project_id")
    assert rows == [
        ("P001", 2022, Decimal("1000000.00")), ("P002", 2022, Decimal("500000.00")),
        ("P001", 2023, Decimal("1200000.00")), ("P002", 2023, Decimal("800000.00")),
        ("P003", 2023, Decimal("260000.00")), ("P004", 2023, Decimal("90000.00")),
    ]
    # other tables untouched
    assert q(db_path, "SELECT count(*) FROM payments") == [(6,)]
    assert q(db_path, "SELECT max(load_id), count(DISTINCT load_id) FROM loads") == [(2, 2)]


def monitoring_rows(month: int, progress: str) -> pd.DataFrame:
    return pd.DataFrame([
        ("P001", 2023, month, "新建运动场地", progress, None, "确定能", "否"),
        ("P002", 2023, month, "引进人才数", progress, None, "有可能", "否"),
    ], columns=["project_id", "year", "as_of_month", "indicator", "actual_value", "deviation_reason",
                "likelihood", "key_monitored"])


def test_monitoring_snapshots_accumulate_by_month(tmp_path, ingested_db):
    db = ingested_db  # holds July 2023: 3 rows
    ingest(write_export(tmp_path / "aug", {"monitoring": monitoring_rows(8, "3")}), db)
    assert q(db, "SELECT as_of_month, count(*) FROM monitoring GROUP BY 1 ORDER BY 1") == [(7, 3), (8, 2)]
    # a new July snapshot replaces July only
    ingest(write_export(tmp_path / "jul", {"monitoring": monitoring_rows(7, "1")}), db)
    assert q(db, "SELECT as_of_month, count(*) FROM monitoring GROUP BY 1 ORDER BY 1") == [(7, 2), (8, 2)]
    assert q(db, "SELECT DISTINCT actual_value FROM monitoring WHERE as_of_month = 7") == [("1",)]
    assert q(db, "SELECT DISTINCT actual_value FROM monitoring WHERE as_of_month = 8") == [("3",)]


def test_departments_replaced_wholesale(tmp_path, ingested_db):
    d = small_frames()["departments"]
    extra = pd.DataFrame([("104", "区卫健局", None, "卫生健康", "否")], columns=d.columns)
    ingest(write_export(tmp_path / "d", {"departments": pd.concat([d, extra], ignore_index=True)}),
           ingested_db)
    assert q(ingested_db, "SELECT count(*) FROM departments") == [(6,)]
    ingest(write_export(tmp_path / "d2", {"departments": d}), ingested_db)
    assert q(ingested_db, "SELECT count(*) FROM departments") == [(5,)]
    assert q(ingested_db, "SELECT count(*) FROM departments WHERE dept_code = '104'") == [(0,)]


def test_failure_during_build_leaves_db_and_no_temp(tmp_path, ingested_db, monkeypatch):
    import perflib.ingest.load as ing

    frames = small_frames()
    src = write_export(tmp_path / "n", {"payments": frames["payments"].iloc[:2]})
    before = sha256_of(ingested_db)
    listing = sorted(p.name for p in ingested_db.parent.iterdir())
    real = ing._build

    def boom(con, *a, **kw):
        real(con, *a, **kw)  # the temp db is fully written…
        raise RuntimeError("disk full")  # …then something fails before the switch

    monkeypatch.setattr(ing, "_build", boom)
    with pytest.raises(RuntimeError):
        ingest(src, ingested_db)
    assert sha256_of(ingested_db) == before
    assert sorted(p.name for p in ingested_db.parent.iterdir()) == listing


KILL_SCRIPT = """
import os, signal, sys
import perflib.ingest.load as ing
real = ing._build
def build_then_die(con, *a, **kw):
    real(con, *a, **kw)
    con.execute("CHECKPOINT")
    os.kill(os.getpid(), signal.SIGKILL)
ing._build = build_then_die
ing.ingest(sys.argv[1], sys.argv[2])
"""


def test_sigkill_mid_ingest_leaves_db_and_next_ingest_works(tmp_path, ingested_db):
    import subprocess
    import sys

    before = sha256_of(ingested_db)
    before_contents = contents(ingested_db)
    frames = small_frames()
    pay2022 = frames["payments"].iloc[:2].copy()
    pay2022["amount"] = [Decimal("1.00"), Decimal("2.00")]
    src = write_export(tmp_path / "k", {"payments": pay2022})
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(src), str(ingested_db)],
                          capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()
    assert sha256_of(ingested_db) == before
    leftovers = [p.name for p in ingested_db.parent.iterdir() if TEMP_MARK in p.name]
    assert leftovers  # the killed process could not clean up…
    summary = ingest(src, ingested_db)  # …and the next ingest is not bothered by it
    assert summary.load_id == 2
    assert not [p for p in ingested_db.parent.iterdir() if TEMP_MARK in p.name]
    # payments of 2022 were replaced by the two new 2022 rows; 2023 rows kept
    assert q(ingested_db, "SELECT year, sum(amount) FROM payments GROUP BY 1 ORDER BY 1") == [
        (2022, Decimal("3.00")), (2023, Decimal("750000.50"))]  # 200,000 + 400,000.50 + 120,000 + 30,000
    after = contents(ingested_db)
    assert {k: v for k, v in after.items() if k != "payments"} == \
        {k: v for k, v in before_contents.items() if k != "payments"}


def test_concurrent_ingest_waits_for_lock(tmp_path, ingested_db):
    from filelock import FileLock

    before = sha256_of(ingested_db)
    frames = small_frames()
    src = write_export(tmp_path / "l", {"payments": frames["payments"]})
    with FileLock(str(ingested_db) + ".lock"):
        with pytest.raises(StoreError, match="另一个导入正在写入"):
            ingest(src, ingested_db, lock_timeout=0.2)
    assert sha256_of(ingested_db) == before


def test_not_a_perflib_database_is_left_alone(tmp_path, export_dir, capsys):
    db = tmp_path / "other.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t (x INTEGER)")
    con.close()
    before = sha256_of(db)
    assert main(["ingest", str(export_dir), "--db", str(db)]) == 2
    assert "不是 perflib 数据库" in capsys.readouterr().err
    assert sha256_of(db) == before
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"not a database at all" * 100)
    assert main(["ingest", str(export_dir), "--db", str(junk)]) == 2
    assert junk.read_bytes() == b"not a database at all" * 100


def test_cli_ingest_prints_summary(export_dir, db_path, capsys):
    assert main(["ingest", str(export_dir), "--db", str(db_path)]) == 0
    out = capsys.readouterr().out
    assert "已导入 11 个文件" in out and str(db_path) in out
    assert "项目（projects）：6 行，年度 2022、2023" in out
    assert main(["ingest", str(export_dir), "--db", str(db_path)]) == 0
    assert "数据库未改动" in capsys.readouterr().out


def test_db_directory_created(export_dir, tmp_path):
    db = tmp_path / "new" / "dir" / "perf.duckdb"
    ingest(export_dir, db)
    assert q(db, "SELECT count(*) FROM projects") == [(6,)]


def test_demo_export_ingests(demo_db):
    """The demo generator's folder (mixed xlsx/csv, GBK, 万元, 合计 row) loads without problems."""
    assert q(demo_db, "SELECT count(*) > 0 FROM projects WHERE year = 2023") == [(True,)]
    assert q(demo_db, "SELECT count(DISTINCT table_name) FROM loads") == [(len(TABLE_ORDER),)]


def test_check_reads_and_checks_without_a_store(tmp_path, export_dir, monkeypatch):
    """``check`` finds what ``ingest`` into a new database would refuse, word for word, and writes
    nothing; the bulk reader (every CSV through DuckDB) gives the same."""
    from perflib.exceptions import InputError
    from perflib.ingest import check
    from perflib.ingest.bulk import BulkReader
    from perflib.ingest.reader import PythonReader

    monkeypatch.chdir(tmp_path)
    good = check(export_dir)
    assert good.ok and good.rows["projects"] > 0 and good.files
    bad = tmp_path / "bad"
    shutil.copytree(export_dir, bad)
    path = bad / "支出明细.csv"
    text = path.read_text(encoding="utf-8-sig").splitlines()
    cells = text[1].split(",")
    cells[text[0].split(",").index("支付金额")] = "12x"
    text[1] = ",".join(cells)
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        ingest(bad, tmp_path / "new.duckdb")
    for readers in (None, [BulkReader(min_bytes=0), PythonReader()]):
        found = check(bad, readers=readers)
        assert not found.ok
        assert [str(p) for p in found.problems] == [str(p) for p in exc.value.problems]
    assert not list(tmp_path.glob("*.duckdb"))
