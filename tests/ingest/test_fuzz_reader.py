"""Property-based fuzzing of the reader, through ``perflib ingest``: random corruptions of a valid
export (cells replaced by random bytes or text, blanks, huge numbers, formulas, wrong dates, Excel
error values, units, header names; headers renamed; bytes of a whole file inserted, overwritten or
flipped) never produce a traceback — only exit 0, or exit 2 with every problem located in a file —
and never a partial load: on exit 2 the database is byte-for-byte unchanged, on exit 0 every row of
the export landed.

The examples are derandomized (the same ones on every run, so CI is reproducible); the number run
and how they ended are counted and checked at the end (``pytest -s`` prints them).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import re
import shutil
import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
from hypothesis import HealthCheck, given, seed, settings, strategies as st

import pytest
from conftest import sha256_of, small_frames, write_export, write_table
from perflib.cli import main
from perflib.ingest import ingest
from perflib.ingest.cells import EXCEL_ERRORS
from perflib.schema import TABLE_ORDER, TABLES

pytestmark = pytest.mark.slow  # end-to-end: outside the fast lane (`-m "not slow"`)


# 100 examples keep this test under a minute (~45 s of CPU) on this 2-core machine. For a longer
# hunt with other examples: PERFLIB_FUZZ_EXAMPLES=2000 PERFLIB_FUZZ_SEED=7 pytest -s tests/ingest/test_fuzz_reader.py
MAX_EXAMPLES = int(os.environ.get("PERFLIB_FUZZ_EXAMPLES", "100"))
FUZZ_SEED = os.environ.get("PERFLIB_FUZZ_SEED")
XLSX_TABLES = ("projects", "monitoring")
GBK_TABLES = ("departments",)
# rows each table holds after loading the small export (an optional table it lacks, e.g. 下年预算: 0)
BASE_ROWS = {name: len(small_frames().get(name, ())) for name in TABLE_ORDER}

_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

# --- strategies ----------------------------------------------------------------------------------

HUGE = st.sampled_from(["1e308", "9" * 30, "-1e20", "1E+400", "inf", "-inf", "NaN", "-0", "1e15",
                        "100000000000000000", "0.000000001", "１２３", "1,2345", "(1,000.00)"])
FORMULAS = st.sampled_from(["=SUM(A1:A3)", "=1/0", "=H2*2", "=A1", "=VLOOKUP(A2,B:C,2,FALSE)"])
BAD_DATES = st.sampled_from(["2023-13-45", "31/12/2023", "0000-00-00", "2023年", "45107.5", "99999999",
                             "2023-02-29", "1899-12-30", "2101-01-01", "7/31/2023", "2023/07/31 25:61"])
WORDS = st.sampled_from(["合计", "小计", "总计", "12万元", "3亿元", "单位", "项目编码", "年度", "是", "否",
                         "#N/A", "—", "\n", '"', ",", ";", "\t", "=", "\ufeff", "\ufffd", "ÏîÄ¿"])
CELL = st.one_of(
    HUGE, FORMULAS, WORDS,  # listed first: hypothesis draws (and shrinks towards) early branches more
    st.none(), st.just(""), st.just("   "),
    st.text(max_size=12),
    st.binary(max_size=8).map(lambda b: b.decode("latin-1")),
    st.integers(min_value=-10**30, max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-10**18, max_value=10**18),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)),
    BAD_DATES, st.sampled_from(sorted(EXCEL_ERRORS)),
)
# every table, the ones with money, dates and xlsx files more often
TABLE = st.sampled_from([*(t for t in TABLE_ORDER if BASE_ROWS[t]),  # the tables the small export has
                         "projects", "projects", "payments", "payments", "monitoring"])


@st.composite
def cell_corruptions(draw):
    """1–3 (table, row, column, value); row None = the header cell of that column."""
    out = []
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        name = draw(TABLE)
        cols = [c.name for c in TABLES[name].columns]
        col = draw(st.sampled_from(cols))
        last = BASE_ROWS[name] - 1  # the last row (where a 合计 row would be) more often
        row = draw(st.one_of(st.integers(min_value=0, max_value=last), st.just(last), st.none()))
        out.append((name, row, col, draw(CELL)))
    return ("cells", out)


@st.composite
def byte_corruptions(draw):
    """One file's bytes: insert, overwrite or flip at a relative position (never truncated)."""
    name = draw(TABLE)
    how = draw(st.sampled_from(["insert", "overwrite", "flip"]))
    at = draw(st.floats(min_value=0, max_value=1))
    data = draw(st.binary(min_size=1, max_size=6))
    return ("bytes", (name, how, at, data))


CORRUPTION = st.one_of(cell_corruptions(), cell_corruptions(), byte_corruptions())


# --- applying one ----------------------------------------------------------------------------------

def _fit(value, table: str):
    """What the writer can put in that file: text legal in XML for xlsx, GBK-encodable for GBK."""
    if isinstance(value, str):
        if table in XLSX_TABLES:
            value = _ILLEGAL_XLSX.sub("", value)
        if table in GBK_TABLES:
            value = value.encode("gbk", errors="replace").decode("gbk")
    elif isinstance(value, Decimal) and table in XLSX_TABLES:
        value = float(value)
    elif isinstance(value, int) and table in XLSX_TABLES and abs(value) > 10**15:
        value = float(value)
    return value


def _empty(v) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip())


def write_corrupted(folder: Path, corruption) -> dict[tuple[str, str], int]:
    """Write the corrupted export; returns the most NULLs each (table, column) may load with: its
    empty cells (a column whose header was renamed may load as all NULL)."""
    kind, detail = corruption
    frames = small_frames()
    headers: dict[str, dict[str, str]] = {}
    if kind == "cells":
        for name, row, col, value in detail:
            value = _fit(value, name)
            if row is None:
                headers.setdefault(name, {})[col] = "" if value is None else str(value)
            else:
                df = frames[name]
                if col not in df.columns:  # an optional column the small export lacks: now it has one
                    df[col] = None
                df[col] = df[col].astype(object)
                df.loc[row, col] = value
    folder.mkdir(parents=True)
    for name, df in frames.items():
        label = TABLES[name].label
        path = folder / f"{label}.{'xlsx' if name in XLSX_TABLES else 'csv'}"
        write_table(path, name, df, headers=headers.get(name),
                    encoding="gbk" if name in GBK_TABLES else "utf-8")
    nulls = {(name, c): int(sum(_empty(v) for v in df[c].tolist()))
             for name, df in frames.items() for c in df.columns}
    for name, renamed in headers.items():
        for c in renamed:
            nulls[(name, c)] = len(frames[name])
    if kind == "bytes":
        name, how, at, data = detail
        path = next(folder.glob(f"{TABLES[name].label}.*"))
        raw = bytearray(path.read_bytes())
        i = min(int(at * len(raw)), len(raw) - 1)
        if how == "insert":
            raw[i:i] = data
        elif how == "overwrite":
            raw[i:i + len(data)] = data
        else:
            raw[i] ^= data[0] or 0xFF
        path.write_bytes(bytes(raw))
    return nulls


def row_counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLE_ORDER}
    finally:
        con.close()


def null_counts(db: Path) -> dict[tuple[str, str], int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for t in TABLE_ORDER:
            cols = [c.name for c in TABLES[t].columns]
            row = con.execute(f"SELECT {', '.join(f'count(*) - count({c})' for c in cols)} FROM {t}").fetchone()
            out.update({(t, c): n for c, n in zip(cols, row)})
        return out
    finally:
        con.close()


# --- the property ----------------------------------------------------------------------------------

def test_random_corruptions_never_crash_or_half_load(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    # the database every example loads into: the small export with other amounts (so that a load
    # of the corrupted export always changes it, and an unchanged file proves nothing was written)
    base_frames = small_frames()
    base_frames["payments"]["amount"] = [a + Decimal("0.01") for a in base_frames["payments"]["amount"]]
    base_db = root / "base.duckdb"
    ingest(write_export(root / "base", base_frames), base_db)
    stats: Counter = Counter()

    @settings(max_examples=MAX_EXAMPLES, derandomize=FUZZ_SEED is None, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(corruption=CORRUPTION)
    def one(corruption):
        with tempfile.TemporaryDirectory(dir=root) as tmp:
            tmp = Path(tmp)
            folder = tmp / "export"
            allowed_nulls = write_corrupted(folder, corruption)
            db = tmp / "db" / "perf.duckdb"
            db.parent.mkdir()
            shutil.copyfile(base_db, db)
            before = sha256_of(db)
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(["ingest", str(folder), "--db", str(db)])  # any exception fails the test
            stats["examples"] += 1
            stats[f"{corruption[0]}: exit {code}"] += 1
            assert code in (0, 2), err.getvalue()
            listing = sorted(p.name for p in db.parent.iterdir())
            assert not [n for n in listing if "ingest-tmp" in n], listing  # no temp file left
            if code == 2:
                text = err.getvalue()
                lines = text.splitlines()
                assert "未写入数据库" in lines[0], text
                problems = [ln for ln in lines[1:] if re.match(r"\s+\d+\. ", ln)]
                assert problems, text
                assert all(re.match(r"\s+\d+\. 文件 \S", ln) for ln in problems), text
                assert "Traceback" not in text
                assert sha256_of(db) == before
            else:
                assert sha256_of(db) != before  # the load happened, whole
                if corruption[0] == "cells":
                    assert row_counts(db) == BASE_ROWS
                    # a filled cell never loads as NULL (no silent loss, e.g. an uncalculated formula)
                    for key, n in null_counts(db).items():
                        # a column the export does not have at all (an optional one) is NULL throughout
                        most = allowed_nulls.get(key, BASE_ROWS[key[0]])
                        assert n <= most, (key, n, most)

    if FUZZ_SEED is not None:
        one = seed(int(FUZZ_SEED))(one)
    one()
    print(f"\nfuzz cases run: {stats['examples']} — " +
          ", ".join(f"{k}: {v}" for k, v in sorted(stats.items()) if k != "examples"))
    assert stats["examples"] >= MAX_EXAMPLES  # every example ran to the end (shrinking adds some)
    assert stats["cells: exit 2"] and stats["cells: exit 0"] and stats["bytes: exit 2"]
