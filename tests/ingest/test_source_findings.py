"""Funding-source columns (issue 17): a transfer without 转移支付级次 and a bond without 债券类型 are
findings, found alike by both readers; an export without the three columns loads with no finding
about them."""
from __future__ import annotations

import duckdb
import pandas as pd

from conftest import small_frames, write_export
from perflib.ingest import ingest
from perflib.ingest.bulk import BulkReader
from perflib.ingest.checks import examine
from perflib.ingest.folder import read_export
from perflib.ingest.reader import PythonReader

NEW = ("transfer_level", "bond_type", "fund_nature")


def _frames_with_sources():
    f = small_frames()
    p = f["projects"].copy()
    bond = p.iloc[[1]].assign(project_id="P005", fund_source="政府债券", project_name="片区改造专项债券项目")
    p = pd.concat([p, bond], ignore_index=True)
    # P002 2023 is 上级转移支付 without its level; P005 2022 is 政府债券 without its type
    p["transfer_level"] = [None] * len(p)
    p["bond_type"] = [None] * len(p)
    p["fund_nature"] = ["年初", "追加", "调剂", None, "结转", "年初", "年初"]
    f["projects"] = p
    return f


def _kinds(db) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT kind, record_key, column_header FROM findings "
                           "WHERE table_name = 'projects' ORDER BY kind").fetchall()
    finally:
        con.close()


def test_missing_level_and_bond_type_are_findings(tmp_path):
    db = tmp_path / "perf.duckdb"
    ingest(write_export(tmp_path / "x", _frames_with_sources()), db)
    got = _kinds(db)
    assert ("bond_type_missing", "P005|2022", "债券类型") in got
    assert ("transfer_level_missing", "P002|2023", "转移支付级次") in got
    assert len([g for g in got if g[0] in ("bond_type_missing", "transfer_level_missing")]) == 2
    con = duckdb.connect(str(db), read_only=True)
    natures = dict(con.execute("SELECT project_id || '|' || year, fund_nature FROM projects").fetchall())
    con.close()
    assert natures["P002|2022"] == "追加" and natures["P002|2023"] is None


def test_filled_values_are_no_finding_and_synonyms_map(tmp_path):
    f = _frames_with_sources()
    p = f["projects"]
    p.loc[p["project_id"] == "P002", "transfer_level"] = "省"
    p.loc[p["project_id"] == "P005", "bond_type"] = "专项债"      # 专项债 → 专项债券
    db = tmp_path / "perf.duckdb"
    ingest(write_export(tmp_path / "x", f), db)
    assert not [g for g in _kinds(db) if g[0] in ("bond_type_missing", "transfer_level_missing")]
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT bond_type FROM projects WHERE project_id = 'P005'").fetchone()[0] == "专项债券"
    con.close()


def test_both_readers_find_the_same_source_findings(tmp_path):
    folder = write_export(tmp_path / "x", _frames_with_sources())
    py = examine(read_export(folder, strict=False, readers=[PythonReader()]))
    bk = read_export(folder, strict=False, readers=[BulkReader(min_bytes=0), PythonReader()])
    con = duckdb.connect()
    try:
        if bk.staged is not None:
            bk.staged.load(con)
        bk = list(examine(bk))
    finally:
        con.close()
    mine = [p for p in py if p.kind in ("bond_type_missing", "transfer_level_missing")]
    assert len(mine) == 2 and py == bk


def test_export_without_the_columns_loads_without_findings_about_them(tmp_path):
    f = small_frames()
    assert not set(NEW) & set(f["projects"].columns)
    db = tmp_path / "perf.duckdb"
    ingest(write_export(tmp_path / "x", f), db)
    assert not _kinds(db) or all(k[0] == "optional_column_missing" and k[2] not in ("转移支付级次", "债券类型", "资金性质")
                                 for k in _kinds(db))
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM projects WHERE transfer_level IS NOT NULL OR bond_type IS NOT NULL "
                       "OR fund_nature IS NOT NULL").fetchone()[0] == 0
    con.close()
