"""The checks of :mod:`perflib.ingest.checks` over the staged tables: SQL finds the offending rows
(the first :data:`~perflib.ingest.bulk.common.LIMIT` of each kind, and counts the rest), and the
very same :class:`~perflib.ingest.checks.Checker` words them, so that both readers report alike.
"""
from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from ...exceptions import Problem
from ...schema import ENUM, INT, MONEY, MONTH, NUMBER, RECTIFICATION_DONE, TABLE_ORDER, TABLES, YEAR, Table
from ...store import CLASSIFIED_PREFIX
from ..cells import typed_series
from ..findings import files_lacking, gaps_of, make_findings, required_exemption
from ..checks import (
    MIN_CLASSIFIED_NAME, MONEY_LIMIT, QUANTITATIVE_DIRECTIONS, Checker, as_kind, dangling_problem, key_words,
    missing_message,
)
from .common import LIMIT, timed
from .sql import quote


class StagedSegment(Protocol):
    """Rowids ``start``..``stop``-1 of a staging table that came from one file or sheet
    (:class:`perflib.ingest.bulk.stage.Segment`)."""

    start: int
    stop: int
    file: str
    sheet: str | None
    rank: int

    def row(self, rowid: int) -> int: ...


class StagedExport(Protocol):
    """What the validator reads of a staged export (:class:`perflib.ingest.bulk.stage.BulkExport`):
    the connection, the export, each table's segments and its staging table's name."""

    con: object
    export: object
    segments: dict[str, list[StagedSegment]]

    def stage(self, name: str) -> str: ...

__all__ = ["Validator"]


class Validator:
    """The checks of :func:`perflib.ingest.checks.validate` over the staged tables: SQL finds the
    offending rows, the Python checker words them (references and streets are worded here with the
    validator's own helpers)."""

    def __init__(self, bulk: StagedExport, existing, maxima: dict[str, float] | None = None):
        self.bulk = bulk
        self.con = bulk.con
        self.existing = existing
        self.maxima = maxima or {}
        self.problems: list[Problem] = []
        self.findings: list[Problem] = []
        self.extra = 0
        self._bad_columns: dict[str, set[str]] = {}

    def run(self) -> None:
        for name in TABLE_ORDER:
            if not self.bulk.segments.get(name):
                continue
            with timed("check", name):
                self.row_checks(TABLES[name])
            with timed("findings", name):
                self.gaps(TABLES[name])
        with timed("check", "references"):
            self.references()
        with timed("check", "streets"):
            self.streets()

    # --- helpers ----------------------------------------------------------------------------
    def order_sql(self, name: str) -> str:
        """ORDER BY over ``rid`` in the order problems are sorted (file, sheet, row)."""
        segs = self.bulk.segments[name]
        if all(a.rank < b.rank for a, b in zip(segs, segs[1:])):
            return "rid"
        case = " ".join(f"WHEN rid < {s.stop} THEN {s.rank}" for s in segs)
        return f"CASE {case} ELSE 0 END, rid"

    def segment(self, name: str, rid: int) -> StagedSegment:
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

    def readable(self, name: str, column: str) -> str:
        """SQL to append to a row condition: the row's ``column`` cell was read (a cell the readers
        could not read is reported as such, not again as empty); empty when every cell of the column
        was read (most columns: no anti-join for DuckDB to plan and run)."""
        if column not in self._unreadable(name):
            return ""
        return f" AND NOT EXISTS (SELECT 1 FROM _bad_{name} b WHERE b.rid = s.rowid AND b.col = '{column}')"

    def _unreadable(self, name: str) -> set[str]:
        if name not in self._bad_columns:  # _bad_<table> is complete once the export is staged
            rows = self.con.execute(f"SELECT DISTINCT col FROM _bad_{name}").fetchall()
            self._bad_columns[name] = {r[0] for r in rows}
        return self._bad_columns[name]

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
        df = pd.DataFrame({c.name: typed_series(c.kind, values[c.name]) for c in table.columns})
        segs = [self.segment(name, r) for r in rids]
        df["_file"] = pd.Series([s.file for s in segs], dtype=object)
        df["_sheet"] = pd.Series([s.sheet for s in segs], dtype=object)
        df["_row"] = pd.Series([s.row(r) for s, r in zip(segs, rids)], dtype="int64")
        self.con.unregister("_rids")
        return df, {(name, int(k), col) for k, col in bad_rows}

    def checker(self, bad: set):
        export = dataclasses.replace(self.bulk.export, bad_cells=bad)
        return Checker(export, self.existing)

    # --- row checks: required, allowed values, ranges, amounts, keys, dates, targets ----------
    def row_checks(self, table: Table) -> None:
        name = table.name
        conds = []
        for col in table.columns:
            c = f"s.{col.name}"
            if not col.nullable:
                exempt = required_exemption(name, col.name)
                spare = "" if exempt is None else \
                    f" AND NOT coalesce(s.{exempt[0]} IN ({', '.join(quote(v) for v in exempt[1])}), false)"
                conds.append(f"{c} IS NULL{self.readable(name, col.name)}{spare}")
            if col.kind == ENUM:
                conds.append(f"{c} NOT IN ({', '.join(quote(a) for a in col.allowed)})")
            if col.kind in (MONEY, NUMBER, INT, YEAR, MONTH):
                if col.minimum is not None:
                    conds.append(f"{c} < {as_kind(col.minimum, col.kind)}")
                if col.maximum is not None:
                    conds.append(f"{c} > {as_kind(col.maximum, col.kind)}")
            if col.kind == MONEY:
                conds.append(f"abs({c}) >= {MONEY_LIMIT}")
        if name == "payments":
            conds.append(f"year(s.pay_date) <> s.year OR s.pay_date > DATE '{dt.date.today().isoformat()}'")
        if name == "targets":
            dirs = ", ".join(quote(d) for d in QUANTITATIVE_DIRECTIONS)
            conds.append(f"s.direction IN ({dirs}) AND s.target_value IS NOT NULL "
                         r"AND NOT regexp_full_match(s.target_value, '-?[0-9]+(\.[0-9]+)?')")
        if name == "rectifications":
            conds.append(f"s.date_done IS NOT NULL AND (s.status <> {quote(RECTIFICATION_DONE)} "
                         f"OR year(s.date_done) < s.year OR s.date_done > DATE '{dt.date.today().isoformat()}')")
            conds.append("year(s.deadline) < s.year")
        if name == "projects":
            conds.append(f"starts_with(s.project_id, {quote(CLASSIFIED_PREFIX)})")
            conds.append(f"s.is_classified AND length(s.project_name) < {MIN_CLASSIFIED_NAME}")
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
            checker.table_rules(table, df)
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

    # --- findings: every row of each gap, found in one query per rule -------------------------
    def locate(self, name: str, rids: np.ndarray) -> tuple[list, list, np.ndarray]:
        """(files, sheets, rows as the user sees them) of staged rowids, computed per segment."""
        segs = self.bulk.segments[name]
        which = np.searchsorted(np.array([s.start for s in segs]), rids, side="right") - 1
        rows = np.zeros(len(rids), dtype=np.int64)
        for k in np.unique(which):
            seg, at = segs[k], np.flatnonzero(which == k)
            j = rids[at] - seg.start
            if seg.rows is not None:
                rows[at] = seg.rows[j]
            elif seg.part.kind == "parquet":
                rows[at] = j + 2
            else:  # as Segment.row: records DuckDB skipped (empty lines) shift those after them
                p = seg.part
                steps = np.array([e - p.skip_lines - 1 - i for i, e in enumerate(p.empty_after)], dtype=np.int64)
                rows[at] = p.skip_lines + 1 + j + np.searchsorted(steps, j, side="right")
        return [segs[k].file for k in which], [segs[k].sheet for k in which], rows

    def gaps(self, table: Table) -> None:
        """The findings of ``table``'s rows (:mod:`perflib.ingest.findings`): SQL selects them, all
        of them (they are stored), and the shared builder words them."""
        name = table.name
        has = {c.name for c in table.columns}
        for gap in gaps_of(name):
            c = f"s.{gap.column}"
            limit = (f"CAST(s.{gap.maximum} AS DOUBLE)" if gap.above and gap.maximum in has else "NULL")
            cond = (f"{c} > coalesce({limit}, {self.maxima[gap.above]!r})" if gap.above
                    else f"{c} IS NULL")
            if gap.when:
                cond += f" AND s.{gap.when[0]} IN ({', '.join(quote(v) for v in gap.when[1])})"
            cond += self.readable(name, gap.column)
            lacking = files_lacking(self.bulk.export, name, gap.column)
            for seg in self.bulk.segments[name]:   # files without the column: one finding, not each row
                if (seg.file, seg.sheet) in lacking:
                    cond += f" AND NOT (s.rowid >= {seg.start} AND s.rowid < {seg.stop})"
            keys = [f"CAST(s.{k} AS VARCHAR)" for k in table.key] or ["NULL"]
            extra = [f"s.{k}" if k in has else "NULL" for k in ("dept_code", "project_id", "year")]
            got = self.con.execute(
                f"SELECT s.rowid, {', '.join(keys)}, {', '.join(extra)}, s.{gap.column}, {limit} "
                f"FROM {self.bulk.stage(name)} s WHERE {cond} ORDER BY s.rowid").fetchall()
            if not got:
                continue
            cols = list(zip(*got))
            n = len(table.key)
            files, sheets, rows = self.locate(name, np.array(cols[0], dtype=np.int64))
            keys_ = list(zip(*cols[1:1 + n])) if n else [()] * len(got)
            self.findings.extend(make_findings(gap, self.bulk.export, self.maxima, files, sheets, rows,
                                               keys_, cols[1 + n], cols[2 + n], cols[3 + n], cols[4 + n],
                                               cols[5 + n]))

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
                            checker.at(table, df, i, ref.columns[0], missing_message(table, ref, key),
                                       key[0], f"「{target_label}」表（本次导入或数据库中已有）中存在的"
                                               f"{key_words(ref)}")
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
