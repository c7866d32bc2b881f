"""Planning the bulk reader's work: :class:`BulkReader` recognises the header of each big file from
its beginning, exactly as the Python reader does (its own functions run on those rows), and keeps a
:class:`BulkPart` per file; its full pass over the file starts in the background.
"""
from __future__ import annotations

import concurrent.futures
import csv
import dataclasses
import io
import os
import re
import shutil
import tempfile
import weakref
from pathlib import Path

import pandas as pd

from ...files import sha256_file
from ...schema import TABLE_ORDER, TABLES
from ..cells import is_empty
from ..model import Export, Part, ReadLog
from ..reader import read_part
from ..sources import (
    CSV_SUFFIXES, UNIT_COLUMN_KEYS, RawTable, find_header, header_key, is_blank_row, match_table_name,
    two_row_header,
)
from .common import BULK_MIN_BYTES, CHUNK_BYTES, EXTRA_COLUMNS, PARQUET_SUFFIXES, PREFIX_BYTES, timed
from .scan import Scan, scan_csv
from .stage import BulkExport, BulkPart

__all__ = ["BulkReader", "BulkPart", "Workspace", "PLAIN_PATH"]

# a path DuckDB reads as itself: no glob (* ? [ ] { }), no ~, no URL scheme
PLAIN_PATH = re.compile(r"/[A-Za-z0-9_./-]*")


class Workspace:
    """One folder's background thread (full passes over files: sha256, line counts, GBK
    transcoding, overlapping with DuckDB reading the files before them) and temp directory, both
    released when the workspace is no longer used."""

    def __init__(self):
        self._tmp: Path | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._links = 0

    def background(self, fn, *args) -> concurrent.futures.Future:
        """Run ``fn`` in the one background thread."""
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="perflib-scan")
            weakref.finalize(self, self._pool.shutdown, False, cancel_futures=True)
        return self._pool.submit(fn, *args)

    def tmpdir(self) -> Path:
        """A temp directory (links DuckDB reads, GBK files transcoded to UTF-8), removed with the
        workspace; its path holds no character DuckDB treats as a pattern."""
        if self._tmp is None:
            for base in (None, "/tmp", "/var/tmp"):
                tmp = Path(tempfile.mkdtemp(prefix="perflib-bulk-", dir=base))
                if PLAIN_PATH.fullmatch(str(tmp)):
                    break
                tmp.rmdir()
            else:
                raise RuntimeError(f"no temp directory without glob characters for DuckDB: {tmp}")
            self._tmp = tmp
            weakref.finalize(self, shutil.rmtree, str(self._tmp), True)
        return self._tmp

    def exact(self, path: Path, suffix: str) -> Path:
        """A name for ``path`` that DuckDB reads as exactly that file.

        DuckDB expands ``* ? [ ]`` (and ``~``, ``**``) in every path it is given, a list literal
        included, and documents no escape; so it is never given a user's path: it gets
        ``<tmpdir>/f<n><suffix>`` (ASCII letters and digits only), a hard link to the file (no copy;
        it keeps the very file the sha256 is taken of), or a symbolic link where the temp directory is
        on another file system."""
        self._links += 1
        link = self.tmpdir() / f"f{self._links}{suffix}"
        target = path.resolve()          # the file itself (os.link may link a symbolic link as such)
        try:
            os.link(target, link)
        except OSError:
            os.symlink(target, link)
        return link


class BulkReader:
    """The DuckDB reader (:class:`perflib.ingest.model.Reader`): takes big CSV files and every
    Parquet file of an export folder (see the package docstring).

    :meth:`read` only recognises a file's header (from its first megabyte) and reports header
    problems; nothing is read in full until the loader calls :meth:`BulkExport.load` on the database
    being built (:meth:`finish` returns that :class:`~perflib.ingest.model.Staged`). A file it
    cannot be sure to read as the Python reader would is left to the next reader (None).
    """

    def __init__(self, min_bytes: int | None = None):
        self.min_bytes = BULK_MIN_BYTES if min_bytes is None else min_bytes
        self.src = Path()
        self.log = ReadLog()
        self.parts: dict[str, BulkPart] = {}
        self.workspace = Workspace()

    def begin(self, src: Path, log: ReadLog) -> None:
        self.src, self.log = src, log
        self.parts = {}
        self.workspace = Workspace()

    def takes(self, path: Path) -> bool:
        return self.wants(path)

    def read(self, path: Path, rel: str) -> list[Part] | None:
        return self.plan(path, rel)

    def wants(self, path: Path) -> bool:
        suffix = path.suffix.lower()
        if suffix in PARQUET_SUFFIXES:
            return True
        return suffix in CSV_SUFFIXES and path.stat().st_size >= self.min_bytes

    def plan(self, path: Path, rel: str) -> list[Part] | None:
        """The marker part standing for ``path`` in the reader's list (header problems are reported
        now), or None if the Python reader should read the file after all."""
        with timed("plan", rel):
            if path.suffix.lower() in PARQUET_SUFFIXES:
                return self._plan_parquet(path, rel)
            return self._plan_csv(path, rel)

    def _plan_csv(self, path: Path, rel: str) -> list[Part] | None:
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
        if all(is_blank_row(r) for _, r in rows):
            return None            # an empty file: the Python reader says so
        got = self._plan_header(rel, "", "utf-8" if utf8 else "gb18030", rows, table, at_end)
        if got is None:
            return None
        bulk, start = got
        ws = self.workspace
        exact = ws.exact(path, ".csv")
        bulk.read_path, bulk.original, bulk.delimiter = exact, path, delimiter
        bulk.skip_lines = rows[start][0] - 1 if start < len(rows) else line
        bulk.width = max(len(r) for _, r in rows) + EXTRA_COLUMNS
        bulk.start_scan = lambda: ws.background(scan_csv, exact, ws.tmpdir(), utf8)
        return self._commit(rel, bulk)

    def _plan_parquet(self, path: Path, rel: str) -> list[Part] | None:
        import duckdb

        sha = ""
        table = match_table_name(path.stem)
        if table is None:
            names = "、".join(TABLES[t].label for t in TABLE_ORDER)
            self.log.problem(rel, "无法识别文件对应哪张表", value=path.name,
                                expected=f"文件名或工作表名为表名之一：{names}")
            return []
        ws = self.workspace
        exact = ws.exact(path, ".parquet")
        con = duckdb.connect()
        try:
            cols = [r[0] for r in con.execute(
                "DESCRIBE SELECT * FROM read_parquet(?)", [str(exact)]).fetchall()]
        except duckdb.Error as exc:
            reason = str(exc).replace(str(exact), str(path)).splitlines()[0][:80]   # the user's name
            self.log.problem(rel, f"无法作为 Parquet 文件读取（{reason}）",
                                expected="Parquet 格式的数据文件（以表名命名，列名为中文表头或英文名）")
            self.log.unread.add(table.name)
            return []
        finally:
            con.close()
        got = self._plan_header(rel, sha, None, [(1, tuple(cols))], table, True, parquet=True)
        if got is None:
            self.log.problem(rel, "Parquet 文件的列名无法与表头对应", expected="中文表头或英文列名")
            return []
        bulk = got[0]
        bulk.kind = "parquet"
        bulk.read_path, bulk.original = exact, path
        bulk.start_scan = lambda: ws.background(lambda: Scan(sha256_file(exact, CHUNK_BYTES), None, exact))
        bulk.parquet_columns = cols
        bulk.width = len(cols)
        return self._commit(rel, bulk)

    def _plan_header(self, rel, sha, encoding, rows, table, at_end, *, parquet: bool = False
                     ) -> tuple[BulkPart, int] | None:
        """Recognise the header exactly as the Python reader does: its own ``read_part`` runs on the
        first rows with a stand-in data row (no "no data" problem yet). Returns the part and the
        position in ``rows`` where data starts."""
        scratch = ReadLog()
        hpos, _ = find_header(RawTable(rel, None, rows, sha, encoding), table)
        nonblank = sum(1 for _, r in rows if not is_blank_row(r))
        if not at_end and (nonblank < 12 or hpos + 1 >= len(rows)):
            return None
        header = rows[hpos][1]
        start = hpos + 1
        if start < len(rows):
            combined = two_row_header(header, rows[start][1], table)
            if combined is not None:
                header, start = combined, start + 1
        stand_in = (-1, tuple("x" for _ in header))
        part = read_part(RawTable(rel, None, rows[:start] + [stand_in], sha, encoding), table, scratch)
        problems = [p for p in scratch.problems if p.row != -1]
        empty = ReadLog()
        read_part(RawTable(rel, None, rows[:start], sha, encoding), table, empty)
        fatal = len(part.frame.columns) == 0
        mapping: dict[str, int] = {}
        for name, written in part.source.headers.items():
            j = next((j for j, h in enumerate(header) if not is_empty(h) and str(h).strip() == written),
                     None)
            if j is None:
                return None
            mapping[name] = j
        units_column = any(isinstance(h, str) and header_key(h) in UNIT_COLUMN_KEYS
                           and j not in mapping.values() for j, h in enumerate(header))
        if units_column and any(c in mapping for c in table.money_columns) and not parquet:
            return None            # a 单位 column checked row by row: the Python reader does it
        source = dataclasses.replace(part.source, rows=0, total_row=None)
        bulk = BulkPart(table=table, source=source, kind="csv", read_path=Path(), original=Path(),
                        header=tuple(header), mapping=mapping, width=len(header),
                        no_data=[p for p in empty.problems if p not in problems], fatal=fatal)
        self._pending = (problems, scratch.unread if fatal else set())
        return bulk, start

    def _commit(self, rel: str, bulk: BulkPart) -> list[Part]:
        problems, unread = self._pending
        self.log.problems.extend(problems)
        self.log.unread.update(unread)
        self.parts[rel] = bulk
        return [Part(bulk.table, pd.DataFrame(), bulk.source, [])]

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
        return BulkExport(export, self.parts, self.workspace)

