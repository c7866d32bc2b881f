"""Staging in the database being built: :class:`BulkExport` reads each big file with DuckDB into
``_stage_<table>`` (cells of certain form typed in SQL, the rest by the Python converters), puts the
Python reader's frames beside them, settles the records that might not be data with the Python
reader's own functions, and answers what the loader asks (counts, years, partitions, problems)
before :meth:`BulkExport.install` makes each staged table the table itself.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ...exceptions import Problem
from ...schema import TABLE_ORDER, TABLES, Column, Table
from ..cells import convert_cell, converter, expected_text, is_empty
from ..checks import sort_problems
from ..findings import column_findings
from ..model import Export, ReadLog, SourceFile, Unreadable, partition_columns
from ..reader import check_total, drop_subtotals, read_part
from ..sources import (
    RawTable, is_blank_row, read_csv_bytes, total_label_at, without_repeated_headers,
)
from .common import LIMIT, MEMORY_LIMIT, ProblemList, timed
from .scan import Scan
from .sql import FITS, arrow_values, ident, literal, quote, suspicious_sql, typed_sql
from .validate import Validator

__all__ = ["BulkExport", "BulkPart", "Segment"]


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



@dataclass
class Segment:
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

    def __init__(self, export: Export, parts: dict[str, BulkPart], workspace=None):
        self.export = export
        self.parts = parts
        self.workspace = workspace             # the planning's background thread and temp files
        self.segments: dict[str, list[Segment]] = {}
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
            segs: list[Segment] = []
            for k, sf in enumerate(files):
                part = self.parts.get(sf.path)
                if part is not None and part.source is sf:
                    if not part.fatal:
                        with timed("load", sf.path):
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
                with timed("stage", f"{sf.path}#{sf.sheet}" if sf.sheet else sf.path):
                    self._insert_frame(name, sub, bad)
                segs.append(Segment(start, start + len(sub), sf.path, sf.sheet, rank[k],
                                     rows=sub["_row"].to_numpy()))
            self.segments[name] = segs

    def _next(self, name: str) -> int:
        """The rowid the next inserted row gets."""
        r = self.con.execute(f"SELECT max(rowid) FROM {self.stage(name)}").fetchall()[0][0]
        return 0 if r is None else int(r) + 1

    def _put_aside(self, name: str, column: Column, values: list) -> tuple[list, list]:
        """Values beyond the store's type (a validation problem anyway) kept aside: returns the
        values with those replaced by None and the (position, value) pairs set aside."""
        fits = FITS.get(column.kind)
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
            arrays[c.name] = arrow_values(c, values)
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
            return (f"SELECT * FROM read_csv({quote(part.read_path)}, header = false, "
                    f"skip = {part.skip_lines}, all_varchar = true, auto_detect = false, "
                    f"delim = {quote(part.delimiter)}, quote = '\"', escape = '\"', columns = {columns}, "
                    f"null_padding = true, strict_mode = true)"), cells
        select = ", ".join(f"CAST({ident(c)} AS VARCHAR) AS c{j}" for j, c in enumerate(part.parquet_columns))
        return f"SELECT {select} FROM read_parquet({quote(part.read_path)})", cells

    def _load_part(self, name: str, part: BulkPart, rank: int) -> list[Segment]:
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
                fast = typed_sql(x, c, part.source.units.get(c.name))
                typed.append(f"CASE WHEN {x} IS NULL THEN {literal(c.default, c)} ELSE {fast} END AS t_{c.name}")
                left.append(f"({x} IS NOT NULL AND t_{c.name} IS NULL)")
            else:
                typed.append(f"{literal(c.default, c)} AS t_{c.name}")
        j0 = min(part.mapping.values()) if part.mapping else None
        k0 = str(part.header[j0]).strip() if j0 is not None else None
        flag = f"CASE WHEN {suspicious_sql(cells, j0, k0)} THEN true ELSE {' OR '.join(left) or 'false'} END"
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
        seg = Segment(start, stop, part.source.path, None, rank, part=part)
        with timed("settle", part.source.path):
            self._settle(name, part, seg, source, cells)
        return [seg]

    def _take_scan(self, part: BulkPart, scan: Scan) -> bool:
        """Apply the background pass over a part's file; False if the Python reader must read it."""
        self._replace_source(part, dataclasses.replace(part.source, sha256=scan.sha256))
        if scan.decline:
            return False
        part.read_path, part.lines = scan.path, scan.lines
        part.empty_after = [n for n in scan.empty_lines if n > part.skip_lines]
        return True

    def _python_part(self, name: str, part: BulkPart, rank: int) -> list[Segment]:
        """Read a part with the Python reader after all (exact, slower), its problems included."""
        rel = part.source.path
        self.export.problems[:] = [p for p in self.export.problems if p.file != rel]
        log = ReadLog()
        try:
            sheet = read_csv_bytes(part.original.read_bytes(), rel, part.source.sha256)
        except Unreadable as exc:
            log.problem(rel, str(exc), row=exc.row, column=exc.column)
            self.problems.extend(log.problems)
            self.export.unread_tables.add(name)
            self.export.files[:] = [f for f in self.export.files if f is not part.source]
            return []
        got = read_part(sheet, part.table, log)
        self.problems.extend(log.problems)
        self.export.unread_tables.update(log.unread)
        self._replace_source(part, got.source)
        if not len(got.frame.columns) or not len(got.frame):
            return []
        start = self._next(name)
        self._insert_frame(name, got.frame, got.bad)
        return [Segment(start, start + len(got.frame), rel, None, rank, rows=got.frame["_row"].to_numpy())]

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

    def _settle(self, name: str, part: BulkPart, seg: Segment, source: str, cells: list[str]) -> None:
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
        # nothing flagged: _raw is empty, so neither it nor the fallbacks below need a query
        susp = con.execute(f"SELECT j, [{', '.join(cells)}] FROM _raw WHERE {suspicious_sql(cells, j0, k0)} "
                           f"ORDER BY j").fetchall() if flagged else []
        rows = {seg.start + int(j): (seg.row(seg.start + int(j)), tuple(rec)) for j, rec in susp}
        gone = [rid for rid, (_, r) in rows.items() if is_blank_row(r)]
        for rid in gone:
            del rows[rid]
        if part.mapping and rows:
            kept = {n for n, _ in without_repeated_headers(list(rows.values()), part.header, part.mapping)}
            repeated = [rid for rid, (n, _) in rows.items() if n not in kept]
            for rid in repeated:
                del rows[rid]
            gone += repeated
        self._delete(name, gone, seg.start)
        last = con.execute(f"SELECT max(rowid) FROM {stage} WHERE {rng}").fetchall()[0][0]
        total = None
        if last is not None and int(last) in rows and \
                total_label_at(rows[int(last)][1], table, part.mapping, subtotal=False) is not None:
            total = rows.pop(int(last))
            self._delete(name, [int(last)], seg.start)
        log = ReadLog()
        sheet = RawTable(part.source.path, None, [], part.source.sha256, part.source.encoding)
        if rows:
            kept = {n for n, _ in drop_subtotals(log, sheet, table, list(rows.values()), part.mapping,
                                                 part.source.headers)}
            self._delete(name, [rid for rid, (n, _) in rows.items() if n not in kept], seg.start)
        self.problems.extend(log.problems)
        n = con.execute(f"SELECT count(*) FROM {stage} WHERE {rng}").fetchall()[0][0]
        if n == 0:
            self.problems.extend(part.no_data)
            self.export.unread_tables.add(name)
        for c in table.columns if flagged else ():
            if c.name in part.mapping:
                self._fallback(name, part, seg, c, cells[part.mapping[c.name]])
        if total is not None:
            self._check_total(name, part, seg, total)
        self._replace_source(part, dataclasses.replace(
            part.source, rows=int(n), total_row=total[0] if total else None))

    def _check_total(self, name: str, part: BulkPart, seg: Segment, total: tuple) -> None:
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
        log = ReadLog()
        sheet = RawTable(part.source.path, None, [], part.source.sha256)
        check_total(log, sheet, part.table, total, frame, part.mapping, part.source.headers,
                    part.source.units)
        self.problems.extend(log.problems)

    def _fallback(self, name: str, part: BulkPart, seg: Segment, column: Column, x: str) -> None:
        """Convert with the Python converter the distinct raw texts SQL left in one column."""
        con = self.con
        stage = self.stage(name)
        unit = part.source.units.get(column.name)
        left = f"{x} IS NOT NULL AND ({typed_sql(x, column, unit)}) IS NULL"
        values = [r[0] for r in con.execute(f"SELECT DISTINCT {x} FROM _raw WHERE {left}").fetchall()]
        if not values:
            return
        convert = converter(column, unit)
        empty = (True, column.default)
        results = [empty if is_empty(v) else convert_cell(convert, v) for v in values]
        good = [(v, r) for v, (ok, r) in zip(values, results) if ok]
        bad = [(v, r) for v, (ok, r) in zip(values, results) if not ok]
        if good:
            vals, big = self._put_aside(name, column, [r for _, r in good])
            con.register("_fb", pa.table({"raw": pa.array([v for v, _ in good], pa.string()),
                                          "val": arrow_values(column, vals)}))
            left_r = f"r.{x} IS NOT NULL AND ({typed_sql('r.' + x, column, unit)}) IS NULL"
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
                                             value=v.strip(), expected=expected_text(column, unit)))

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
        with timed("install", name):
            self._install(con, name)
        return True

    def _install(self, con, name: str) -> None:
        con.execute(f"DROP TABLE {name}")
        con.execute(f"ALTER TABLE {self.stage(name)} RENAME TO {name}")
        con.execute(f"ALTER TABLE {name} DROP COLUMN _x")

    # --- validation ---------------------------------------------------------------------------
    def validate(self, existing=None, maxima: dict[str, float] | None = None) -> ProblemList:
        """Every problem, errors and findings, as :func:`perflib.ingest.checks.examine` finds them
        (package docstring); ``maxima``: the bounds of the findings' score rules."""
        v = Validator(self, existing, maxima)
        with timed("validate", "all tables"):
            v.run()
        problems = ProblemList(sort_problems([*self.export.problems, *self.problems, *v.problems,
                                              *v.findings, *column_findings(self.export)]))
        problems.total = len(problems) + self.extra + v.extra
        return problems

