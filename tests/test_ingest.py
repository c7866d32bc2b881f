"""Ingest: a valid folder lands in DuckDB exactly; loads replace by (table, year), monitoring
accumulates by month, re-ingest is idempotent, and any failure leaves the previous file untouched."""
from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

import duckdb
import pandas as pd
import pytest

from conftest import sha256_of, small_frames, write_export, write_table
from perflib.cli import main
from perflib.exceptions import InputError, StoreError
from perflib.ingest import TEMP_MARK, ingest
from perflib.schema import TABLE_ORDER, TABLES
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
