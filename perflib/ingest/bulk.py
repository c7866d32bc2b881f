"""DuckDB-native reading and validation of large export files (province scale).

The Python reader (:mod:`perflib.ingest.reader`) converts cell by cell; at 15 million payment rows that
takes minutes and many GiB. Here DuckDB reads big CSV files (and every Parquet file) as text,
converts them to typed columns with SQL inside the database being built, and validation runs as SQL
queries. The results and messages are the Python path's, by construction:

* a cell takes the SQL *fast path* only where its text has a form whose Python result is certain
  (``2023``, ``2023-07-31``, ``1234.56``, an ASCII code, text with no surrounding whitespace);
  every other non-empty cell keeps its raw text, and the distinct raw texts are converted by the
  very same Python converters (:func:`perflib.ingest.reader._converter`), then written back;
* rows that might not be data (blank, a repeated header, a 合计/小计 row: those whose first cell is
  empty or holds 计, or that repeat the header's first cell) are handed with their raw cells to the
  Python reader's own functions, which decide and word the problems;
* the header is recognised by the Python reader itself (on the file's first lines), and the row
  checks (required, allowed values, ranges, keys, payment dates…) run the Python validator on the
  few rows that SQL finds offending, so every message is worded by the same code;
* anything DuckDB might read differently from Python's ``csv`` module (quoted line breaks, spaces
  around quotes, NUL bytes, bare CR line ends, rows wider than expected, mixed encodings) sends the
  file back to the Python reader.

Rows keep the line number a user sees in a text editor (for Parquet the column names are row 1), so
a bad row near the end of a 15 M-row file is named by file and line. Problems are collected by
query: the first :data:`LIMIT` of each kind and the count of all, so that the message (which lists
the first :data:`perflib.ingest.checks.MAX_LISTED`) is the Python path's however many rows are wrong.
"""
from __future__ import annotations

import bisect
import codecs
import concurrent.futures
import contextlib
import csv
import dataclasses
import datetime as dt
import hashlib
import io
import shutil
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..exceptions import Problem
from .reader import (
    CSV_SUFFIXES, Export, SourceFile, _blank, _converter, _expected, _header_key, _is_empty,
    _mixed_utf8_lines, _non_ascii_lines, _Part, _Reader, _Sheet, _total_label_at, _two_row_header,
    _typed_series, _UNIT_COLUMN_KEYS, _without_repeated_headers, match_table_name,
)
from ..schema import (
    BOOL, CODE, DATE, ENUM, INT, MONEY, MONEY_UNITS, MONTH, NUMBER, TABLE_ORDER, TABLES, TEXT,
    VALUE, YEAR, Column, Table,
)

__all__ = ["BULK_MIN_BYTES", "PARQUET_SUFFIXES", "BulkReader", "BulkExport", "ProblemList"]

BULK_MIN_BYTES = 4 << 20         # CSV files at least this large are read by DuckDB (Parquet always)
PARQUET_SUFFIXES = (".parquet",)
MEMORY_LIMIT = "1GB"             # DuckDB's share of the ingest process; more spills to disk
EXTRA_COLUMNS = 2                # columns read beyond the widest of the first lines
PREFIX_BYTES = 1 << 20           # bytes searched for the header row
CHUNK_BYTES = 16 << 20
LIMIT = 200                      # detail rows fetched per check (validation.MAX_LISTED)

# A first character that is surely no whitespace (Python's str.isspace(): all below '!' or below
# '一'), nor the start of an Excel error value (#REF!…): ASCII '$'…'~' or a character from '一' on.
_EDGE_OK = ("(({x} >= '$' AND {x} < chr(127)) OR {x} >= '一' OR ({x} >= '\u2010' AND {x} < '\u2028') "
            "OR ({x} >= '\u2030' AND {x} < '\u205f') OR ({x} >= '\u3001' AND {x} < '一'))")
# what the store's types hold; a value the Python reader reads beyond them (validation refuses it)
# is kept aside in _big_<table> so that the checks word it as the Python path does
_FITS = {MONEY: lambda v: abs(v) < Decimal(10) ** 16, YEAR: lambda v: -2**31 <= v < 2**31,
         MONTH: lambda v: -2**31 <= v < 2**31, INT: lambda v: -2**63 <= v < 2**63}


TIMINGS: list[tuple[str, str, float, float]] = []   # (phase, file/table, wall s, CPU s): benchmarks


@contextlib.contextmanager
def _timed(phase: str, what: str):
    """Record the wall and CPU (all threads) time of a phase in :data:`TIMINGS`."""
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        TIMINGS.append((phase, what, time.perf_counter() - wall, time.process_time() - cpu))


class ProblemList(list):
    """Problems found, sorted, with ``total``: how many there are in all (the list holds at least
    the first :data:`LIMIT` of each kind, which is more than an error message shows)."""

    total: int = 0


# ---------------------------------------------------------------------------------------------
# SQL snippets
# ---------------------------------------------------------------------------------------------
def _q(text) -> str:
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value, column: Column) -> str:
    """A column's default value as a typed SQL literal."""
    if value is None:
        return f"CAST(NULL AS {column.sql_type})"
    if column.kind == BOOL:
        return "true" if value else "false"
    return f"CAST({_q(value)} AS {column.sql_type})"


def _fast(x: str, column: Column, unit: str | None) -> str:
    """SQL: the typed value of the raw text ``x`` where its Python conversion is certain, else NULL.

    Each form accepted gives exactly what :func:`perflib.ingest.reader._converter` gives (test_bulk checks
    it property-wise against the Python converters); all other texts go to Python."""
    kind = column.kind
    last = f"right({x}, 1)"
    if kind == CODE:   # ASCII: NFKC leaves it; no edge spaces; not 1.2E+17 (refused by the reader)
        return (f"CASE WHEN strlen({x}) = length({x}) AND {x} >= '$' AND {last} >= '!' AND NOT "
                f"(contains({x}, '.') AND (contains({x}, 'e') OR contains({x}, 'E'))) THEN {x} END")
    if kind == TEXT:
        return (f"CASE WHEN {_EDGE_OK.format(x=x)} AND ({last} >= '!' AND {last} < chr(127) "
                f"OR {_EDGE_OK.format(x=last)}) THEN {x} END")
    if kind == ENUM:
        return f"CASE WHEN {x} IN ({', '.join(_q(a) for a in column.allowed)}) THEN {x} END"
    if kind == BOOL:
        return f"CASE WHEN {x} = '是' THEN true WHEN {x} = '否' THEN false END"
    if kind in (YEAR, MONTH, INT):
        t = column.sql_type
        return f"CASE WHEN TRY_CAST({x} AS {t})::VARCHAR = {x} THEN TRY_CAST({x} AS {t}) END"
    if kind == DATE:
        return (f"CASE WHEN strlen({x}) = 10 AND TRY_CAST({x} AS DATE)::VARCHAR = {x} "
                f"THEN TRY_CAST({x} AS DATE) END")
    no_exp = f"NOT (contains({x}, 'e') OR contains({x}, 'E') OR contains({x}, '_'))"
    if kind == MONEY:
        factor = MONEY_UNITS[unit or "元"]
        scale = 2 + len(str(factor)) - 1
        if factor == 1:
            cast = "TRY_CAST({v} AS DECIMAL(18,2))"
        else:
            cast = f"TRY_CAST(TRY_CAST({{v}} AS DECIMAL(38,{scale})) * {factor} AS DECIMAL(18,2))"
        grouped = r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?"
        ungrouped = f"replace({x}, ',', '')"
        return (f"CASE WHEN {no_exp} THEN coalesce({cast.format(v=x)}, "
                f"CASE WHEN contains({x}, ',') AND regexp_full_match({x}, '{grouped}') "
                f"THEN {cast.format(v=ungrouped)} END) END")
    if kind == NUMBER:
        return (f"CASE WHEN {no_exp} AND TRY_CAST({x} AS DECIMAL(38,10)) IS NOT NULL "
                f"THEN TRY_CAST({x} AS DOUBLE) END")
    if kind == VALUE:   # canonical numbers stay as written; text starting with a CJK ideograph too
        return (f"CASE WHEN NOT ({x} >= '#' AND {x} < '$') THEN CASE WHEN TRY_CAST({x} AS BIGINT)::VARCHAR = {x} THEN {x} "
                f"WHEN TRY_CAST({x} AS DOUBLE)::VARCHAR = {x} AND NOT suffix({x}, '.0') THEN {x} "
                f"WHEN {x} >= '一' AND {x} < 'ꀀ' AND ({last} >= '!' AND {last} < chr(127) OR {last} >= '一') "
                f"THEN {x} END END")
    raise ValueError(kind)  # pragma: no cover


def _maybe_empty(x: str) -> str:
    """SQL: cell ``x`` may be empty (false means surely not)."""
    return f"({x} IS NULL OR NOT {_EDGE_OK.format(x=x)})"


def _suspicious(cells: list[str], j0: int | None, k0: str | None) -> str:
    """SQL: the record might not be a data row (blank, a repeated header, a 合计/小计 row): its first
    cell may be empty or holds 计, or its first mapped cell holds the header's text. Nested CASEs
    so that the costlier tests run on the few rows the cheap ones leave."""
    c0 = cells[0]
    all_empty = " AND ".join(_maybe_empty(c) for c in cells)
    joined = "concat(" + ", ".join(cells) + ")"
    header = f"coalesce(contains({cells[j0]}, {_q(k0)}), false)" if j0 is not None and k0 else "false"
    return (f"CASE WHEN coalesce(contains({c0}, '计'), false) THEN true "
            f"WHEN {_maybe_empty(c0)} THEN ({all_empty}) OR contains({joined}, '计') "
            f"ELSE {header} END")


def _arrow_type(column: Column) -> pa.DataType:
    return {MONEY: pa.decimal128(18, 2), DATE: pa.date32(), INT: pa.int64(), YEAR: pa.int32(),
            MONTH: pa.int32(), NUMBER: pa.float64(), BOOL: pa.bool_()}.get(column.kind, pa.string())


def _arrow_values(column: Column, values: list) -> pa.Array:
    clean = [None if (v is None or v is pd.NA or (isinstance(v, float) and v != v)) else v
             for v in values]
    if column.kind in (CODE, TEXT, ENUM, VALUE):
        clean = [None if v is None else str(v) for v in clean]
    elif column.kind in (INT, YEAR, MONTH):
        clean = [None if v is None else int(v) for v in clean]
    elif column.kind == BOOL:
        clean = [None if v is None else bool(v) for v in clean]
    return pa.array(clean, type=_arrow_type(column))


# ---------------------------------------------------------------------------------------------
# Planning: what DuckDB must read, found by looking at the beginning of each file
# ---------------------------------------------------------------------------------------------
@dataclass
class _Scan:
    """What one streaming pass over a CSV file found."""

    sha256: str
    encoding: str | None          # "utf-8" or "gb18030"
    path: Path                    # the UTF-8 file DuckDB reads (a transcode for GBK files)
    lines: int = 0                # physical lines, as Python's csv module counts them
    empty_lines: list[int] = field(default_factory=list)   # zero-length lines (DuckDB skips them)
    decline: str | None = None    # why the Python reader must take the file instead


@dataclass
class BulkPart:
    """One file (part of a table) that DuckDB reads."""

    table: Table
    source: SourceFile
    kind: str                     # "csv" or "parquet"
    read_path: Path
    original: Path
    header: tuple                 # the header row as the reader understood it (two rows joined)
    mapping: dict[str, int]       # canonical column → position in the record
    width: int                    # columns DuckDB reads
    skip_lines: int = 0           # physical lines before the first data record
    delimiter: str = ","
    lines: int = 0
    empty_after: list[int] = field(default_factory=list)
    parquet_columns: list[str] = field(default_factory=list)
    no_data: list[Problem] = field(default_factory=list)
    fatal: bool = False
    scan: concurrent.futures.Future | None = None   # the full pass over the file, in the background
    start_scan: object = None                       # starts it (in the order the parts are loaded)

    def encoding_known(self) -> bool:
        """DuckDB may read the file before its background pass ends (UTF-8 CSV, Parquet); a GBK
        file must first be transcoded."""
        return self.kind == "csv" and self.source.encoding != "utf-8"


class BulkReader:
    """Routes big CSV files and every Parquet file of an export folder to DuckDB (module doc).

    :func:`perflib.ingest.reader.read_export` asks :meth:`wants` for each file and lets :meth:`plan`
    recognise its header; nothing is read in full until :meth:`BulkExport.load` runs in ingest.
    """

    def __init__(self, src: Path, reader: _Reader, min_bytes: int | None = None):
        self.src = src
        self.reader = reader
        self.min_bytes = BULK_MIN_BYTES if min_bytes is None else min_bytes
        self.parts: dict[str, BulkPart] = {}
        self._tmp: Path | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def background(self, fn, *args) -> concurrent.futures.Future:
        """Run ``fn`` in the one background thread: full passes over files (sha256, line counts,
        GBK transcoding) overlap with DuckDB reading the files before them."""
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="perflib-scan")
            weakref.finalize(self, self._pool.shutdown, False, cancel_futures=True)
        return self._pool.submit(fn, *args)

    def tmpdir(self) -> Path:
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="perflib-bulk-"))
            weakref.finalize(self, shutil.rmtree, str(self._tmp), True)
        return self._tmp

    def wants(self, path: Path) -> bool:
        suffix = path.suffix.lower()
        if suffix in PARQUET_SUFFIXES:
            return True
        return suffix in CSV_SUFFIXES and path.stat().st_size >= self.min_bytes

    def plan(self, path: Path, rel: str) -> list[_Part] | None:
        """The marker part standing for ``path`` in the reader's list (header problems are reported
        now), or None if the Python reader should read the file after all."""
        with _timed("plan", rel):
            if path.suffix.lower() in PARQUET_SUFFIXES:
                return self._plan_parquet(path, rel)
            return self._plan_csv(path, rel)

    def _plan_csv(self, path: Path, rel: str) -> list[_Part] | None:
        """Recognise the header from the first megabyte; the full pass over the file (sha256, line
        count, zero-length lines, GBK transcoding) runs in the background until ``load`` needs it."""
        table = match_table_name(path.stem)
        if table is None:
            return None            # the Python reader words the problem
        with open(path, "rb") as fh:
            head = fh.read(PREFIX_BYTES)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return None            # UTF-16: the Python reader
        at_end = len(head) < PREFIX_BYTES
        if not at_end:
            head = head[: head.rfind(b"\n") + 1]
        try:
            text, utf8 = head.decode("utf-8-sig"), True
        except UnicodeDecodeError:
            try:
                text, utf8 = head.decode("gb18030"), False
            except UnicodeDecodeError:
                return None
        first = next((ln for ln in text.splitlines() if ln.strip()), "")
        if not first:
            return None
        delimiter = max((",", "\t", ";"), key=first.count)
        rows, line = [], 0
        try:
            rdr = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
            for record in rdr:
                rows.append((line + 1, tuple(record)))
                line = rdr.line_num
        except csv.Error:
            return None
        if all(_blank(r) for _, r in rows):
            return None            # an empty file: the Python reader says so
        got = self._plan_header(rel, "", "utf-8" if utf8 else "gb18030", rows, table, at_end)
        if got is None:
            return None
        bulk, start = got
        bulk.read_path, bulk.original, bulk.delimiter = path, path, delimiter
        bulk.skip_lines = rows[start][0] - 1 if start < len(rows) else line
        bulk.width = max(len(r) for _, r in rows) + EXTRA_COLUMNS
        bulk.start_scan = lambda: self.background(_scan_csv, path, self.tmpdir(), utf8)
        return self._commit(rel, bulk)

    def _plan_parquet(self, path: Path, rel: str) -> list[_Part] | None:
        import duckdb

        sha = ""
        table = match_table_name(path.stem)
        if table is None:
            names = "、".join(TABLES[t].label for t in TABLE_ORDER)
            self.reader.problem(rel, "无法识别文件对应哪张表", value=path.name,
                                expected=f"文件名或工作表名为表名之一：{names}")
            return []
        con = duckdb.connect()
        try:
            cols = [r[0] for r in con.execute(
                "DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()]
        except duckdb.Error as exc:
            self.reader.problem(rel, f"无法作为 Parquet 文件读取（{str(exc).splitlines()[0][:80]}）",
                                expected="Parquet 格式的数据文件（以表名命名，列名为中文表头或英文名）")
            self.reader.unread.add(table.name)
            return []
        finally:
            con.close()
        got = self._plan_header(rel, sha, None, [(1, tuple(cols))], table, True, parquet=True)
        if got is None:
            self.reader.problem(rel, "Parquet 文件的列名无法与表头对应", expected="中文表头或英文列名")
            return []
        bulk = got[0]
        bulk.kind = "parquet"
        bulk.read_path = bulk.original = path
        bulk.start_scan = lambda: self.background(lambda: _Scan(_sha256_file(path), None, path))
        bulk.parquet_columns = cols
        bulk.width = len(cols)
        return self._commit(rel, bulk)

    def _plan_header(self, rel, sha, encoding, rows, table, at_end, *, parquet: bool = False
                     ) -> tuple[BulkPart, int] | None:
        """Recognise the header exactly as the Python reader does: its own ``read_part`` runs on the
        first rows with a stand-in data row (no "no data" problem yet). Returns the part and the
        position in ``rows`` where data starts."""
        scratch = _Reader(self.src)
        hpos, _ = scratch._find_header(_Sheet(rel, None, rows, sha, encoding), table)
        nonblank = sum(1 for _, r in rows if not _blank(r))
        if not at_end and (nonblank < 12 or hpos + 1 >= len(rows)):
            return None
        header = rows[hpos][1]
        start = hpos + 1
        if start < len(rows):
            combined = _two_row_header(header, rows[start][1], table)
            if combined is not None:
                header, start = combined, start + 1
        stand_in = (-1, tuple("x" for _ in header))
        part = scratch.read_part(_Sheet(rel, None, rows[:start] + [stand_in], sha, encoding), table)
        problems = [p for p in scratch.problems if p.row != -1]
        empty = _Reader(self.src)
        empty.read_part(_Sheet(rel, None, rows[:start], sha, encoding), table)
        fatal = len(part.frame.columns) == 0
        mapping: dict[str, int] = {}
        for name, written in part.source.headers.items():
            j = next((j for j, h in enumerate(header) if not _is_empty(h) and str(h).strip() == written),
                     None)
            if j is None:
                return None
            mapping[name] = j
        units_column = any(isinstance(h, str) and _header_key(h) in _UNIT_COLUMN_KEYS
                           and j not in mapping.values() for j, h in enumerate(header))
        if units_column and any(c in mapping for c in table.money_columns) and not parquet:
            return None            # a 单位 column checked row by row: the Python reader does it
        source = dataclasses.replace(part.source, rows=0, total_row=None)
        bulk = BulkPart(table=table, source=source, kind="csv", read_path=Path(), original=Path(),
                        header=tuple(header), mapping=mapping, width=len(header),
                        no_data=[p for p in empty.problems if p not in problems], fatal=fatal)
        self._pending = (problems, scratch.unread if fatal else set())
        return bulk, start

    def _commit(self, rel: str, bulk: BulkPart) -> list[_Part]:
        problems, unread = self._pending
        self.reader.problems.extend(problems)
        self.reader.unread.update(unread)
        self.parts[rel] = bulk
        return [_Part(bulk.table, pd.DataFrame(), bulk.source, [])]

    def finish(self, export: Export) -> "BulkExport | None":
        if not self.parts:
            return None
        order = [self.parts[sf.path] for name in TABLE_ORDER for sf in export.files_of(name)
                 if sf.path in self.parts and self.parts[sf.path].source is sf]
        order = [p for p in order if not p.fatal and p.start_scan]
        # the background passes in the order load() needs them, GBK files (transcoded before DuckDB
        # can read them) first
        for part in sorted(order, key=lambda p: not p.encoding_known()):
            part.scan = part.start_scan()
        return BulkExport(export, self)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while data := fh.read(CHUNK_BYTES):
            h.update(data)
    return h.hexdigest()


def _scan_csv(path: Path, tmpdir: Path, utf8: bool) -> _Scan:
    """One streaming pass: sha256 and line statistics. A file whose first megabyte is UTF-8 is read as
    UTF-8 (DuckDB rejects any invalid byte later, and the Python reader then takes the file);
    otherwise it is GB18030, transcoded to a temp UTF-8 file, unless it is mostly UTF-8 with some
    GBK lines (the Python reader names those)."""
    h = hashlib.sha256()
    stats = _LineStats()
    with open(path, "rb") as fh:
        if utf8:
            while data := fh.read(CHUNK_BYTES):
                h.update(data)
                stats.feed(data)
            scan = _Scan(h.hexdigest(), "utf-8", path)
        else:
            target = tmpdir / f"{path.stem}-{id(path):x}.csv"
            dec = codecs.getincrementaldecoder("gb18030")()
            good = bad = 0
            tail = b""
            remaining = _count_lines(path)    # bounds how many lines could still be UTF-8
            try:
                with open(target, "wb") as fout:
                    while data := fh.read(CHUNK_BYTES):
                        h.update(data)
                        block = tail + data
                        cut = block.rfind(b"\n") + 1
                        tail = block[cut:]
                        if bad <= good + remaining:    # else "mostly UTF-8" can no longer hold
                            good, bad = _utf8_lines(block[:cut], good, bad)
                        remaining -= block.count(b"\n", 0, cut)
                        text = dec.decode(data).encode("utf-8")
                        stats.feed(text)
                        fout.write(text)
                    good, bad = _utf8_lines(tail, good, bad)
                    text = dec.decode(b"", final=True).encode("utf-8")
                    stats.feed(text)
                    fout.write(text)
            except UnicodeDecodeError:
                target.unlink(missing_ok=True)
                return _Scan(h.hexdigest(), None, path, decline="encoding")
            if bad and good > bad:       # mostly UTF-8 with some GBK lines: the reader names them
                target.unlink(missing_ok=True)
                return _Scan(h.hexdigest(), None, path, decline="mixed")
            scan = _Scan(h.hexdigest(), "gb18030", target)
    scan.lines, scan.empty_lines, scan.decline = stats.finish()
    return scan


def _count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as fh:
        while data := fh.read(CHUNK_BYTES):
            n += data.count(b"\n")
    return n + 1


def _utf8_lines(block: bytes, good: int, bad: int) -> tuple[int, int]:
    """Count non-ASCII lines that are / are not UTF-8 (as ``loading._mixed_utf8_lines`` does)."""
    if block.isascii():
        return good, bad
    for _, ok in _non_ascii_lines(block):
        good, bad = (good + 1, bad) if ok else (good, bad + 1)
    return good, bad


class _LineStats:
    """Fed a file's bytes chunk by chunk: counts lines (as Python's csv module does), finds the
    zero-length ones (DuckDB skips them), and notes what DuckDB could split or unquote differently
    from Python (NUL bytes, bare CR line ends, spaces around quotes)."""

    def __init__(self):
        self.lines = 0            # newlines before the current chunk
        self.line_start = 0       # byte offset where the current line began
        self.prev = b"\n"         # the last two bytes before this chunk (a line ends before the file)
        self.base = 0
        self.empty: list[int] = []
        self.decline: str | None = None

    def feed(self, data: bytes) -> None:
        if self.decline or not data:
            return
        if b"\x00" in data:
            self.decline = "NUL"
        n_cr = data.count(b"\r")
        if n_cr and n_cr != data.count(b"\r\n") + data.endswith(b"\r"):
            self.decline = "CR"
        if b'"' in data and (b' "' in data or b'" ' in data or b'\t"' in data or b'"\t' in data):
            self.decline = "quotes"
        edge = self.prev + data[:2]
        base = self.base
        if b"\n\n" in data or b"\n\r\n" in data or b"\n\n" in edge or b"\n\r\n" in edge:
            arr = np.frombuffer(data, dtype=np.uint8)
            nl = np.flatnonzero(arr == 10) + base
            if len(nl):
                starts = np.r_[self.line_start, nl[:-1] + 1]
                length = nl - starts
                before = nl - 1 - base
                last = np.where(before >= 0, arr[np.maximum(before, 0)], self.prev[-1])
                zero = (length == 0) | ((length == 1) & (last == 13))
                self.empty.extend(int(self.lines + k + 1) for k in np.flatnonzero(zero))
                self.line_start = int(nl[-1]) + 1
        else:
            k = data.rfind(b"\n")
            if k >= 0:
                self.line_start = base + k + 1
        self.lines += data.count(b"\n")
        self.prev = (self.prev + data[-2:])[-2:]
        self.base += len(data)

    def finish(self) -> tuple[int, list[int], str | None]:
        lines = self.lines + (1 if self.base > self.line_start else 0)   # a last line without newline
        return lines, self.empty, self.decline


# ---------------------------------------------------------------------------------------------
# Loading inside the database being built
# ---------------------------------------------------------------------------------------------
@dataclass
class _Segment:
    """Rowids ``start``..``stop``-1 of a staging table came from one file or sheet."""

    start: int
    stop: int
    file: str
    sheet: str | None
    rank: int                     # position of (file, sheet) in the order problems are sorted
    rows: np.ndarray | None = None     # the user's row number of each rowid (Python-read parts)
    part: BulkPart | None = None

    def row(self, rowid: int) -> int:
        j = rowid - self.start
        if self.rows is not None:
            return int(self.rows[j])
        p = self.part
        if p.kind == "parquet":
            return j + 2
        extra = 0          # records DuckDB skipped (zero-length lines) shift the lines after them
        for i, e in enumerate(p.empty_after):
            if e - p.skip_lines - 1 - i <= j:
                extra += 1
            else:
                break
        return p.skip_lines + 1 + j + extra


class BulkExport:
    """An export with big parts: every table it brings is staged in the ingest's database as
    ``_stage_<table>`` and validated there with SQL (see the module docstring)."""

    def __init__(self, export: Export, reader: BulkReader):
        self.export = export
        self.reader = reader
        self.parts = reader.parts
        self.segments: dict[str, list[_Segment]] = {}
        self.problems: list[Problem] = []      # reading problems found while loading
        self.extra = 0                         # problems counted beyond those listed
        self.con = None

    @staticmethod
    def stage(name: str) -> str:
        return f"_stage_{name}"

    def load(self, con) -> None:
        """Stage every table of the export in ``con`` (the database being built): big parts read
        and converted by DuckDB, the rest from the Python reader's frames."""
        self.con = con
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        con.execute("SET enable_progress_bar = false")
        con.execute("SET preserve_insertion_order = true")
        for name in TABLE_ORDER:
            if name not in self.export.tables:
                continue
            table = TABLES[name]
            cols = ", ".join(f"{c.name} {c.sql_type}" for c in table.columns)
            con.execute(f"CREATE TABLE {self.stage(name)} ({cols}, _x BOOLEAN)")
            con.execute(f"CREATE TEMP TABLE _bad_{name} (rid BIGINT, col VARCHAR)")
            con.execute(f"CREATE TEMP TABLE _big_{name} (rid BIGINT, col VARCHAR, v VARCHAR)")
            files = self.export.files_of(name)
            order = sorted(range(len(files)), key=lambda k: (files[k].path, files[k].sheet or ""))
            rank = {k: r for r, k in enumerate(order)}
            frame = self.export.tables[name]
            segs: list[_Segment] = []
            for k, sf in enumerate(files):
                part = self.parts.get(sf.path)
                if part is not None and part.source is sf:
                    if not part.fatal:
                        with _timed("load", sf.path):
                            segs.extend(self._load_part(name, part, rank[k]))
                    continue
                if not len(frame):
                    continue
                sheet = frame["_sheet"]
                mask = (frame["_file"] == sf.path) & (sheet.isna() if sf.sheet is None else sheet == sf.sheet)
                pos = np.flatnonzero(mask.to_numpy(dtype=bool))
                if not len(pos):
                    continue
                lo, hi = int(pos[0]), int(pos[-1])
                sub = frame.iloc[lo: hi + 1]
                bad = [(p - lo, col) for (t, p, col) in self.export.bad_cells if t == name and lo <= p <= hi]
                start = self._next(name)
                with _timed("stage", f"{sf.path}#{sf.sheet}" if sf.sheet else sf.path):
                    self._insert_frame(name, sub, bad)
                segs.append(_Segment(start, start + len(sub), sf.path, sf.sheet, rank[k],
                                     rows=sub["_row"].to_numpy()))
            self.segments[name] = segs

    def _next(self, name: str) -> int:
        """The rowid the next inserted row gets."""
        r = self.con.execute(f"SELECT max(rowid) FROM {self.stage(name)}").fetchall()[0][0]
        return 0 if r is None else int(r) + 1

    def _put_aside(self, name: str, column: Column, values: list) -> tuple[list, list]:
        """Values beyond the store's type (a validation problem anyway) kept aside: returns the
        values with those replaced by None and the (position, value) pairs set aside."""
        fits = _FITS.get(column.kind)
        if fits is None:
            return values, []
        aside = [(i, v) for i, v in enumerate(values) if v is not None and v is not pd.NA
                 and not (isinstance(v, float) and v != v) and not fits(v)]
        if not aside:
            return values, []
        values = list(values)
        for i, _ in aside:
            values[i] = None
        return values, aside

    def _record_aside(self, name: str, column: Column, pairs: list[tuple[int, object]]) -> None:
        if pairs:
            self.con.executemany(f"INSERT INTO _big_{name} VALUES (?, ?, ?)",
                                 [(rid, column.name, str(v)) for rid, v in pairs])
            self.con.executemany(f"INSERT INTO _bad_{name} VALUES (?, ?)",
                                 [(rid, column.name) for rid, _ in pairs])

    def _insert_frame(self, name: str, df: pd.DataFrame, bad: list[tuple[int, str]]) -> None:
        """Rows the Python reader read (typed); ``bad``: (position in ``df``, column) of the cells
        it could not read (they are not reported again as empty)."""
        table = TABLES[name]
        start = self._next(name)
        arrays, aside = {}, []
        for c in table.columns:
            values, big = self._put_aside(name, c, df[c.name].tolist())
            arrays[c.name] = _arrow_values(c, values)
            aside.append((c, [(start + i, v) for i, v in big]))
        self.con.register("_frame", pa.table(arrays))
        cols = ", ".join(c.name for c in table.columns)
        self.con.execute(f"INSERT INTO {self.stage(name)} SELECT {cols}, false FROM _frame")
        self.con.unregister("_frame")
        if bad:
            self.con.executemany(f"INSERT INTO _bad_{name} VALUES (?, ?)",
                                 [(start + pos, col) for pos, col in bad])
        for c, pairs in aside:
            self._record_aside(name, c, pairs)

    def _source_sql(self, part: BulkPart) -> tuple[str, list[str]]:
        """SQL of the part's records as text cells ``c0``…, and the cell names."""
        cells = [f"c{j}" for j in range(part.width)]
        if part.kind == "csv":
            columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in cells) + "}"
            return (f"SELECT * FROM read_csv({_q(part.read_path)}, header = false, "
                    f"skip = {part.skip_lines}, all_varchar = true, auto_detect = false, "
                    f"delim = {_q(part.delimiter)}, quote = '\"', escape = '\"', columns = {columns}, "
                    f"null_padding = true, strict_mode = true)"), cells
        select = ", ".join(f"CAST({_ident(c)} AS VARCHAR) AS c{j}" for j, c in enumerate(part.parquet_columns))
        return f"SELECT {select} FROM read_parquet({_q(part.read_path)})", cells

    def _load_part(self, name: str, part: BulkPart, rank: int) -> list[_Segment]:
        """Read one big file into the staging table: cells of certain form converted in SQL, the
        record flagged (``_x``) where a cell is left for Python or the row may not be data. The
        Python reader reads the file instead when DuckDB's reading might differ (an error, or
        records that are not one per line)."""
        import duckdb

        table = TABLES[name]
        stage = self.stage(name)
        start = self._next(name)
        scan = part.scan.result() if part.encoding_known() else None
        if scan is not None and not self._take_scan(part, scan):
            return self._python_part(name, part, rank)
        source, cells = self._source_sql(part)
        typed, left = [], []
        for c in table.columns:
            if c.name in part.mapping:
                x = cells[part.mapping[c.name]]
                fast = _fast(x, c, part.source.units.get(c.name))
                typed.append(f"CASE WHEN {x} IS NULL THEN {_literal(c.default, c)} ELSE {fast} END AS t_{c.name}")
                left.append(f"({x} IS NOT NULL AND t_{c.name} IS NULL)")
            else:
                typed.append(f"{_literal(c.default, c)} AS t_{c.name}")
        j0 = min(part.mapping.values()) if part.mapping else None
        k0 = str(part.header[j0]).strip() if j0 is not None else None
        flag = f"CASE WHEN {_suspicious(cells, j0, k0)} THEN true ELSE {' OR '.join(left) or 'false'} END"
        sql = (f"INSERT INTO {stage} SELECT {', '.join('t_' + c.name for c in table.columns)}, {flag} "
               f"FROM (SELECT {', '.join(typed)}, {', '.join(cells)} FROM ({source}))")
        try:
            self.con.execute(sql)
        except duckdb.Error:
            if scan is None:
                self._take_scan(part, part.scan.result())
            return self._python_part(name, part, rank)
        stop = self._next(name)
        if scan is None and not self._take_scan(part, part.scan.result()):
            self.con.execute(f"DELETE FROM {stage} WHERE rowid >= {start}")
            return self._python_part(name, part, rank)
        if part.kind == "csv" and stop - start != part.lines - part.skip_lines - len(part.empty_after):
            self.con.execute(f"DELETE FROM {stage} WHERE rowid >= {start}")
            return self._python_part(name, part, rank)
        seg = _Segment(start, stop, part.source.path, None, rank, part=part)
        with _timed("settle", part.source.path):
            self._settle(name, part, seg, source, cells)
        return [seg]

    def _take_scan(self, part: BulkPart, scan: _Scan) -> bool:
        """Apply the background pass over a part's file; False if the Python reader must read it."""
        self._replace_source(part, dataclasses.replace(part.source, sha256=scan.sha256))
        if scan.decline:
            return False
        part.read_path, part.lines = scan.path, scan.lines
        part.empty_after = [n for n in scan.empty_lines if n > part.skip_lines]
        return True

    def _python_part(self, name: str, part: BulkPart, rank: int) -> list[_Segment]:
        """Read a part with the Python reader after all (exact, slower), its problems included."""
        from .reader import _Bad, _read_csv

        rel = part.source.path
        self.export.problems[:] = [p for p in self.export.problems if p.file != rel]
        reader = _Reader(self.reader.src)
        try:
            sheet = _read_csv(part.original.read_bytes(), rel, part.source.sha256)
        except _Bad as exc:
            reader.problem(rel, str(exc), row=exc.row, column=exc.column)
            self.problems.extend(reader.problems)
            self.export.unread_tables.add(name)
            self.export.files[:] = [f for f in self.export.files if f is not part.source]
            return []
        got = reader.read_part(sheet, part.table)
        self.problems.extend(reader.problems)
        self.export.unread_tables.update(reader.unread)
        self._replace_source(part, got.source)
        if not len(got.frame.columns) or not len(got.frame):
            return []
        start = self._next(name)
        self._insert_frame(name, got.frame, got.bad)
        return [_Segment(start, start + len(got.frame), rel, None, rank, rows=got.frame["_row"].to_numpy())]

    def _replace_source(self, part: BulkPart, new: SourceFile) -> None:
        files = self.export.files
        for i, f in enumerate(files):
            if f is part.source:
                files[i] = new
        part.source = new

    def _delete(self, name: str, rowids: list[int], start: int) -> None:
        """Drop staged rows (and their raw cells)."""
        if rowids:
            self.con.register("_gone", pa.table({"rid": pa.array(rowids, pa.int64())}))
            self.con.execute(f"DELETE FROM {self.stage(name)} WHERE rowid IN (SELECT rid FROM _gone)")
            self.con.execute(f"DELETE FROM _raw WHERE j + {start} IN (SELECT rid FROM _gone)")
            self.con.unregister("_gone")

    def _settle(self, name: str, part: BulkPart, seg: _Segment, source: str, cells: list[str]) -> None:
        """Re-read the raw cells of the flagged records; the rows the Python reader would not take
        as data (blank, repeated header, the 合计 row, 小计 rows in the middle) are decided by its own
        functions; the cells SQL left are converted in Python; the 合计 row is checked against the
        column sums; the part's row count is recorded."""
        con = self.con
        stage = self.stage(name)
        table = part.table
        rng = f"rowid >= {seg.start} AND rowid < {seg.stop}"
        flagged = con.execute(f"SELECT count(*) FROM {stage} WHERE {rng} AND _x").fetchall()[0][0]
        if flagged:
            con.execute(f"CREATE OR REPLACE TEMP TABLE _raw AS SELECT * FROM (SELECT row_number() OVER () - 1 "
                        f"AS j, * FROM ({source})) WHERE j + {seg.start} IN "
                        f"(SELECT rowid FROM {stage} WHERE {rng} AND _x)")
        else:
            con.execute(f"CREATE OR REPLACE TEMP TABLE _raw (j BIGINT, {', '.join(c + ' VARCHAR' for c in cells)})")
        j0 = min(part.mapping.values()) if part.mapping else None
        k0 = str(part.header[j0]).strip() if j0 is not None else None
        susp = con.execute(f"SELECT j, [{', '.join(cells)}] FROM _raw WHERE {_suspicious(cells, j0, k0)} "
                           f"ORDER BY j").fetchall()
        rows = {seg.start + int(j): (seg.row(seg.start + int(j)), tuple(rec)) for j, rec in susp}
        gone = [rid for rid, (_, r) in rows.items() if _blank(r)]
        for rid in gone:
            del rows[rid]
        if part.mapping and rows:
            kept = {n for n, _ in _without_repeated_headers(list(rows.values()), part.header, part.mapping)}
            repeated = [rid for rid, (n, _) in rows.items() if n not in kept]
            for rid in repeated:
                del rows[rid]
            gone += repeated
        self._delete(name, gone, seg.start)
        last = con.execute(f"SELECT max(rowid) FROM {stage} WHERE {rng}").fetchall()[0][0]
        total = None
        if last is not None and int(last) in rows and \
                _total_label_at(rows[int(last)][1], table, part.mapping, subtotal=False) is not None:
            total = rows.pop(int(last))
            self._delete(name, [int(last)], seg.start)
        reader = _Reader(self.reader.src)
        sheet = _Sheet(part.source.path, None, [], part.source.sha256, part.source.encoding)
        if rows:
            kept = {n for n, _ in reader._drop_subtotals(sheet, table, list(rows.values()), part.mapping,
                                                          part.source.headers)}
            self._delete(name, [rid for rid, (n, _) in rows.items() if n not in kept], seg.start)
        self.problems.extend(reader.problems)
        n = con.execute(f"SELECT count(*) FROM {stage} WHERE {rng}").fetchall()[0][0]
        if n == 0:
            self.problems.extend(part.no_data)
            self.export.unread_tables.add(name)
        for c in table.columns:
            if c.name in part.mapping:
                self._fallback(name, part, seg, c, cells[part.mapping[c.name]])
        if total is not None:
            self._check_total(name, part, seg, total)
        self._replace_source(part, dataclasses.replace(
            part.source, rows=int(n), total_row=total[0] if total else None))

    def _check_total(self, name: str, part: BulkPart, seg: _Segment, total: tuple) -> None:
        """The Python reader's 合计 check, on column sums computed in SQL."""
        money = [c for c in part.table.money_columns if c in part.mapping]
        if not money:
            return
        sums = self.con.execute(
            f"SELECT {', '.join(f'sum({c})' for c in money)} FROM {self.stage(name)} "
            f"WHERE rowid >= {seg.start} AND rowid < {seg.stop}").fetchall()[0]
        big = self.con.execute(f"SELECT col, v FROM _big_{name} WHERE rid >= {seg.start} "
                               f"AND rid < {seg.stop}").fetchall()
        sums = [(s if s is not None else Decimal("0.00")) + sum((Decimal(v) for col, v in big if col == c),
                                                              Decimal("0.00"))
                for c, s in zip(money, sums)]
        frame = pd.DataFrame({c: pd.Series([s], dtype=object) for c, s in zip(money, sums)})
        reader = _Reader(self.reader.src)
        sheet = _Sheet(part.source.path, None, [], part.source.sha256)
        reader._check_total(sheet, part.table, total, frame, part.mapping, part.source.headers,
                            part.source.units)
        self.problems.extend(reader.problems)

    def _fallback(self, name: str, part: BulkPart, seg: _Segment, column: Column, x: str) -> None:
        """Convert with the Python converter the distinct raw texts SQL left in one column."""
        con = self.con
        stage = self.stage(name)
        unit = part.source.units.get(column.name)
        left = f"{x} IS NOT NULL AND ({_fast(x, column, unit)}) IS NULL"
        values = [r[0] for r in con.execute(f"SELECT DISTINCT {x} FROM _raw WHERE {left}").fetchall()]
        if not values:
            return
        convert = _converter(column, unit)
        empty = (True, column.default)
        results = [empty if _is_empty(v) else _Reader._convert(convert, v) for v in values]
        good = [(v, r) for v, (ok, r) in zip(values, results) if ok]
        bad = [(v, r) for v, (ok, r) in zip(values, results) if not ok]
        if good:
            vals, big = self._put_aside(name, column, [r for _, r in good])
            con.register("_fb", pa.table({"raw": pa.array([v for v, _ in good], pa.string()),
                                          "val": _arrow_values(column, vals)}))
            left_r = f"r.{x} IS NOT NULL AND ({_fast('r.' + x, column, unit)}) IS NULL"
            con.execute(f"UPDATE {stage} SET {column.name} = f.val FROM _raw r JOIN _fb f ON r.{x} = f.raw "
                        f"WHERE {stage}.rowid = r.j + {seg.start} AND {left_r}")
            con.unregister("_fb")
            if big:
                raws = {good[i][0]: v for i, v in big}
                con.register("_fb", pa.table({"raw": pa.array(list(raws), pa.string())}))
                rids = con.execute(f"SELECT r.j + {seg.start}, r.{x} FROM _raw r JOIN _fb f ON r.{x} = f.raw"
                                   ).fetchall()
                con.unregister("_fb")
                self._record_aside(name, column, [(int(rid), raws[v]) for rid, v in rids])
        if bad:
            con.register("_fb", pa.table({"raw": pa.array([v for v, _ in bad], pa.string()),
                                          "msg": pa.array([m for _, m in bad], pa.string())}))
            con.execute(f"INSERT INTO _bad_{name} SELECT r.j + {seg.start}, '{column.name}' FROM _raw r "
                        f"JOIN _fb f ON r.{x} = f.raw")
            found = con.execute(f"SELECT r.j, r.{x}, f.msg FROM _raw r JOIN _fb f ON r.{x} = f.raw "
                                f"ORDER BY r.j LIMIT {LIMIT}").fetchall()
            if len(found) == LIMIT:
                self.extra += con.execute(f"SELECT count(*) FROM _raw r JOIN _fb f ON r.{x} = f.raw"
                                          ).fetchall()[0][0] - LIMIT
            con.unregister("_fb")
            header = part.source.headers[column.name]
            for j, v, msg in found:
                self.problems.append(Problem(file=part.source.path, message=msg, sheet=None,
                                             row=seg.row(seg.start + int(j)), column=header,
                                             value=v.strip(), expected=_expected(column, unit)))

    # --- what ingest asks ---------------------------------------------------------------------
    def row_counts(self) -> dict[str, int]:
        return {n: int(self.con.execute(f"SELECT count(*) FROM {self.stage(n)}").fetchall()[0][0])
                for n in self.export.tables}

    def years(self) -> dict[str, list[int]]:
        out = {}
        for n in self.export.tables:
            if any(c.name == "year" for c in TABLES[n].columns):
                out[n] = [int(r[0]) for r in self.con.execute(
                    f"SELECT DISTINCT year FROM {self.stage(n)} WHERE year IS NOT NULL ORDER BY 1").fetchall()]
        return out

    def partitions(self) -> dict[str, pd.DataFrame | None]:
        """What ``ingest.replaced_partitions`` gives for the Python path, from the staged rows."""
        from .load import partition_columns

        out: dict[str, pd.DataFrame | None] = {}
        for n in self.export.tables:
            cols = partition_columns(TABLES[n])
            if not cols:
                out[n] = None
                continue
            where = " AND ".join(f"{c} IS NOT NULL" for c in cols)
            df = self.con.execute(f"SELECT DISTINCT {', '.join(cols)} FROM {self.stage(n)} "
                                  f"WHERE {where}").df()
            out[n] = df.astype("int64").reset_index(drop=True)
        return out

    def install(self, con, name: str) -> bool:
        """Make the staged rows of ``name`` the table itself, without copying them: drop the empty
        table, rename the staging table, drop its flag column. False if the export does not bring
        the table."""
        if name not in self.export.tables:
            return False
        with _timed("install", name):
            self._install(con, name)
        return True

    def _install(self, con, name: str) -> None:
        con.execute(f"DROP TABLE {name}")
        con.execute(f"ALTER TABLE {self.stage(name)} RENAME TO {name}")
        con.execute(f"ALTER TABLE {name} DROP COLUMN _x")

    # --- validation ---------------------------------------------------------------------------
    def validate(self, existing=None) -> ProblemList:
        """Every problem, as :func:`perflib.ingest.checks.validate` finds them (module docstring)."""
        from .checks import _sorted

        v = _Validator(self, existing)
        with _timed("validate", "all tables"):
            v.run()
        problems = ProblemList(_sorted([*self.export.problems, *self.problems, *v.problems]))
        problems.total = len(problems) + self.extra + v.extra
        return problems


class _Validator:
    """The checks of :func:`perflib.ingest.checks.validate` over the staged tables: SQL finds the
    offending rows, the Python checker words them (references and streets are worded here with the
    validator's own helpers)."""

    def __init__(self, bulk: BulkExport, existing):
        from .checks import _Checker

        self.bulk = bulk
        self.con = bulk.con
        self.existing = existing
        self.problems: list[Problem] = []
        self.extra = 0
        self._checker_class = _Checker

    def run(self) -> None:
        for name in TABLE_ORDER:
            if not self.bulk.segments.get(name):
                continue
            with _timed("check", name):
                self.row_checks(TABLES[name])
        with _timed("check", "references"):
            self.references()
        with _timed("check", "streets"):
            self.streets()

    # --- helpers ----------------------------------------------------------------------------
    def order_sql(self, name: str) -> str:
        """ORDER BY over ``rid`` in the order problems are sorted (file, sheet, row)."""
        segs = self.bulk.segments[name]
        if all(a.rank < b.rank for a, b in zip(segs, segs[1:])):
            return "rid"
        case = " ".join(f"WHEN rid < {s.stop} THEN {s.rank}" for s in segs)
        return f"CASE {case} ELSE 0 END, rid"

    def segment(self, name: str, rid: int) -> _Segment:
        segs = self.bulk.segments[name]
        return segs[bisect.bisect_right([s.start for s in segs], rid) - 1]

    def first(self, name: str, where: str, count: int | None = None) -> list[int]:
        """Rowids of the first LIMIT rows (problem order) of the staged table matching ``where``;
        the rest (``count`` in all, if known) are counted in ``extra``."""
        base = f"SELECT s.rowid AS rid FROM {self.bulk.stage(name)} s WHERE {where}"
        rids = [r[0] for r in self.con.execute(
            f"SELECT rid FROM ({base}) ORDER BY {self.order_sql(name)} LIMIT {LIMIT}").fetchall()]
        if len(rids) == LIMIT:
            if count is None:
                count = self.con.execute(f"SELECT count(*) FROM ({base})").fetchall()[0][0]
            self.extra += count - LIMIT
        return rids

    def frame(self, name: str, rids: list[int]) -> tuple[pd.DataFrame, set]:
        """The staged rows ``rids`` as the Python reader's frame (dtypes, origin columns) and the
        bad cells among them, keyed by frame position."""
        table = TABLES[name]
        rids = sorted(set(rids))      # the Python reader's frame order (keys: the first is first)
        self.con.register("_rids", pa.table({"rid": pa.array(rids, pa.int64()),
                                             "k": pa.array(range(len(rids)), pa.int64())}))
        cols = ", ".join(f"s.{c.name}" for c in table.columns)
        rows = self.con.execute(f"SELECT {cols} FROM {self.bulk.stage(name)} s JOIN _rids r "
                                f"ON s.rowid = r.rid ORDER BY r.k").fetchall()
        bad_rows = self.con.execute(f"SELECT r.k, b.col FROM _bad_{name} b JOIN _rids r "
                                    f"ON b.rid = r.rid").fetchall()
        big = self.con.execute(f"SELECT r.k, b.col, b.v FROM _big_{name} b JOIN _rids r ON b.rid = r.rid"
                               ).fetchall()
        values = {c.name: [r[i] for r in rows] for i, c in enumerate(table.columns)}
        for k, col, v in big:       # values beyond the store's types, as the Python reader read them
            values[col][int(k)] = Decimal(v) if table.column(col).kind == MONEY else int(v)
        df = pd.DataFrame({c.name: _typed_series(c.kind, values[c.name]) for c in table.columns})
        segs = [self.segment(name, r) for r in rids]
        df["_file"] = pd.Series([s.file for s in segs], dtype=object)
        df["_sheet"] = pd.Series([s.sheet for s in segs], dtype=object)
        df["_row"] = pd.Series([s.row(r) for s, r in zip(segs, rids)], dtype="int64")
        self.con.unregister("_rids")
        return df, {(name, int(k), col) for k, col in bad_rows}

    def checker(self, bad: set):
        export = dataclasses.replace(self.bulk.export, bad_cells=bad)
        return self._checker_class(export, self.existing)

    # --- row checks: required, allowed values, ranges, amounts, keys, dates, targets ----------
    def row_checks(self, table: Table) -> None:
        from .checks import MONEY_LIMIT, QUANTITATIVE_DIRECTIONS, _as_kind

        name = table.name
        conds = []
        for col in table.columns:
            c = f"s.{col.name}"
            if not col.nullable:
                conds.append(f"{c} IS NULL AND NOT EXISTS (SELECT 1 FROM _bad_{name} b "
                              f"WHERE b.rid = s.rowid AND b.col = '{col.name}')")
            if col.kind == ENUM:
                conds.append(f"{c} NOT IN ({', '.join(_q(a) for a in col.allowed)})")
            if col.kind in (MONEY, NUMBER, INT, YEAR, MONTH):
                if col.minimum is not None:
                    conds.append(f"{c} < {_as_kind(col.minimum, col.kind)}")
                if col.maximum is not None:
                    conds.append(f"{c} > {_as_kind(col.maximum, col.kind)}")
            if col.kind == MONEY:
                conds.append(f"abs({c}) >= {MONEY_LIMIT}")
        if name == "payments":
            conds.append(f"year(s.pay_date) <> s.year OR s.pay_date > DATE '{dt.date.today().isoformat()}'")
        if name == "targets":
            dirs = ", ".join(_q(d) for d in QUANTITATIVE_DIRECTIONS)
            conds.append(f"s.direction IN ({dirs}) AND s.target_value IS NOT NULL "
                         r"AND NOT regexp_full_match(s.target_value, '-?[0-9]+(\.[0-9]+)?')")
        rids: set[int] = set()
        conds = [f"coalesce(({c}), false)" for c in conds]
        counts = self.con.execute(          # one scan counts every check; most are 0
            f"SELECT {', '.join(f'count(*) FILTER (WHERE {c})' for c in conds)} "
            f"FROM {self.bulk.stage(name)} s").fetchall()[0] if conds else []
        for cond, n in zip(conds, counts):
            if n:
                rids.update(self.first(name, cond, n))
        rids.update(r[0] for r in self.con.execute(f"SELECT DISTINCT rid FROM _big_{name}").fetchall())
        if rids:
            df, bad = self.frame(name, sorted(rids))
            checker = self.checker(bad)
            checker.cells(table, df)
            if name == "payments":
                checker.payments(table, df)
            if name == "targets":
                checker.targets(table, df)
            self.problems.extend(checker.problems)
        self.keys(table)

    def keys(self, table: Table) -> None:
        if not table.key:
            return
        name = table.name
        stage = self.bulk.stage(name)
        key = ", ".join(table.key)
        if not self.con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {stage} GROUP BY {key} "
                                f"HAVING count(*) > 1)").fetchall()[0][0]:
            return
        firsts = f"SELECT rowid AS rid, min(rowid) OVER (PARTITION BY {key}) AS f FROM {stage}"
        base = f"SELECT rid, f FROM ({firsts}) WHERE rid <> f"
        rows = self.con.execute(f"SELECT rid, f FROM ({base}) ORDER BY {self.order_sql(name)} "
                                f"LIMIT {LIMIT}").fetchall()
        if len(rows) == LIMIT:
            self.extra += self.con.execute(f"SELECT count(*) FROM ({base})").fetchall()[0][0] - LIMIT
        df, _ = self.frame(name, [r for pair in rows for r in pair])
        checker = self.checker(set())
        checker.keys(table, df)
        self.problems.extend(checker.problems)

    # --- references and streets ---------------------------------------------------------------
    def known_sql(self, ref) -> str:
        """The distinct key tuples of a reference's target: this export's rows and the rows the
        database keeps (those with an empty key column left out)."""
        tcols = ", ".join(ref.target_columns)
        notnull = " AND ".join(f"{c} IS NOT NULL" for c in ref.target_columns)
        parts = []
        if ref.target in self.bulk.export.tables:
            parts.append(f"SELECT {tcols} FROM {self.bulk.stage(ref.target)} WHERE {notnull}")
        src = self.existing.surviving(ref.target) if self.existing is not None else None
        if src is not None:
            joiner = " AND " if " WHERE " in src else " WHERE "
            tt = ", ".join(f"t.{c}" for c in ref.target_columns)
            parts.append(f"SELECT {tt} FROM {src}{joiner}" +
                         " AND ".join(f"t.{c} IS NOT NULL" for c in ref.target_columns))
        if not parts:
            types = ", ".join(f"CAST(NULL AS VARCHAR) AS {c}" for c in ref.target_columns)
            return f"SELECT {types} WHERE false"
        return " UNION ".join(parts)

    def references(self) -> None:
        from .checks import _key_words, _missing_message, dangling_problem

        unread = self.bulk.export.unread_tables
        for name in TABLE_ORDER:
            table = TABLES[name]
            for ref in table.references:
                if ref.target in unread:
                    continue
                target_label = TABLES[ref.target].label
                known = f"({self.known_sql(ref)})"
                if self.bulk.segments.get(name):
                    cond = " AND ".join(f"k.{tc} = s.{c}" for c, tc in zip(ref.columns, ref.target_columns))
                    notnull = " AND ".join(f"s.{c} IS NOT NULL" for c in ref.columns)
                    rids = self.first(name, f"{notnull} AND NOT EXISTS (SELECT 1 FROM {known} k WHERE {cond})")
                    if rids:
                        df, _ = self.frame(name, rids)
                        checker = self.checker(set())
                        for i in range(len(df)):
                            key = tuple(df[c].iat[i] for c in ref.columns)
                            key = tuple(int(v) if isinstance(v, (np.integer,)) else v for v in key)
                            checker.at(table, df, i, ref.columns[0], _missing_message(table, ref, key),
                                       key[0], f"「{target_label}」表（本次导入或数据库中已有）中存在的"
                                               f"{_key_words(ref)}")
                        self.problems.extend(checker.problems)
                if self.existing is not None and ref.target in self.bulk.export.tables:
                    src = self.existing.surviving(name)
                    if src is None:
                        continue
                    joiner = " AND " if " WHERE " in src else " WHERE "
                    cols = ", ".join(f"t.{c}" for c in ref.columns)
                    old = (f"SELECT DISTINCT {cols} FROM {src}{joiner}" +
                           " AND ".join(f"t.{c} IS NOT NULL" for c in ref.columns))
                    cond = " AND ".join(f"k.{tc} = o.{c}" for c, tc in zip(ref.columns, ref.target_columns))
                    q = f"SELECT * FROM ({old}) o WHERE NOT EXISTS (SELECT 1 FROM {known} k WHERE {cond})"
                    keys = self.con.execute(f"{q} ORDER BY ALL LIMIT {LIMIT}").fetchall()
                    if len(keys) == LIMIT:
                        self.extra += self.con.execute(f"SELECT count(*) FROM ({q})").fetchall()[0][0] - LIMIT
                    for key in keys:
                        self.problems.append(dangling_problem(self.existing.label, table, ref, key))

    def streets(self) -> None:
        if not self.bulk.segments.get("street_fiscal"):
            return
        if "departments" in self.bulk.export.unread_tables:
            return
        table = TABLES["street_fiscal"]
        if "departments" in self.bulk.export.tables:
            flags = (f"SELECT dept_code, coalesce(is_street, false) AS s, dept_name AS name FROM "
                     f"(SELECT dept_code, is_street, dept_name, row_number() OVER "
                     f"(PARTITION BY dept_code ORDER BY rowid DESC) AS _n "
                     f"FROM {self.bulk.stage('departments')} WHERE dept_code IS NOT NULL) WHERE _n = 1")
        elif self.existing is not None and self.existing.surviving("departments") is not None:
            src = self.existing.surviving("departments")
            flags = (f"SELECT t.dept_code AS dept_code, coalesce(t.is_street, false) AS s, "
                     f"CAST(NULL AS VARCHAR) AS name FROM {src}")
        else:
            return
        rids = self.first("street_fiscal", f"s.dept_code IN (SELECT dept_code FROM ({flags}) WHERE NOT s)")
        if not rids:
            return
        names = dict(self.con.execute(f"SELECT dept_code, name FROM ({flags})").fetchall())
        df, _ = self.frame("street_fiscal", rids)
        checker = self.checker(set())
        for i, code in enumerate(df["dept_code"].tolist()):
            name = names.get(code)
            checker.at(table, df, i, "dept_code",
                       f"「{name or code}」不是街道（「部门」表中该部门的「是否街道」不是 是）", code,
                       "「部门」表中「是否街道」为 是 的街道编码")
        self.problems.extend(checker.problems)
