"""The DuckDB store: its tables (from ``schema``) and the query layer that analyses and notebooks use.

Notebooks never write SQL strings: they call :class:`Store` methods, which return DataFrames with
canonical column names, money as float 元, department names joined, and classified (涉密) projects
redacted: their code becomes a surrogate ``涉密项目-NN`` and their name ``涉密项目`` in every table, so
that joins still work but no output can show what they are.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import duckdb
import pandas as pd

from . import pandas_speed
from .exceptions import StoreError
from .schema import OPTIONAL_TABLES, TABLE_ORDER, TABLES, TRACKED_TABLES

pandas_speed.install()  # every analysis reads its frames through here

CLASSIFIED_NAME = "涉密项目"
CLASSIFIED_TOTAL_LABEL = "涉密项目（合计）"
CLASSIFIED_PREFIX = "涉密项目-"

LOADS_DDL = """
CREATE TABLE IF NOT EXISTS loads (
    load_id     INTEGER,
    loaded_at   TIMESTAMP,
    source_dir  VARCHAR,
    file        VARCHAR,
    sheet       VARCHAR,
    table_name  VARCHAR,
    sha256      VARCHAR,
    row_count   BIGINT,
    perflib_version VARCHAR,
    export_date DATE,
    check_sha256 VARCHAR
)
"""
# export_date (added for issue 15, NULL in loads recorded before it): the source file's modification
# date (machine-local), i.e. when the finance system wrote the export (or, for a copied file, when it
# was copied: never before the export). Monitoring counts a month as complete when the export was
# written after its end (perflib.analysis.monitoring.last_complete_month).
# check_sha256 (issue 20, NULL before it): what the load's checks depended on besides the files (rules,
# --strict, perflib's ingest code and schema; perflib.ingest.unchanged): an export whose files and
# fingerprint match the last load's is re-ingested by hashing alone.

# Graded problems of the current data that did not block the load (schema.FINDING_KINDS): one row per
# finding, located as the analyst finds it in the export, replaced with each load like the rows of
# the table and year (partition) it describes.
FINDINGS_DDL = """
CREATE TABLE IF NOT EXISTS findings (
    load_id       INTEGER,
    kind          VARCHAR,
    table_name    VARCHAR,
    year          INTEGER,
    record_key    VARCHAR,
    dept_code     VARCHAR,
    project_id    VARCHAR,
    file          VARCHAR,
    sheet         VARCHAR,
    row_number    INTEGER,
    column_header VARCHAR,
    value         VARCHAR,
    message       VARCHAR
)
"""
# Data revisions (issue 19): a load that changes a figure of a period an earlier load already covered
# (payments of a month already covered, per year × month; a project's budget; a re-graded self or key
# evaluation) records the figure before and after, and the two loads (perflib.ingest.load).
REVISIONS_DDL = """
CREATE TABLE IF NOT EXISTS revisions (
    table_name  VARCHAR,
    year        INTEGER,
    period      VARCHAR,
    measure     VARCHAR,
    record_key  VARCHAR,
    old_total   DOUBLE,
    new_total   DOUBLE,
    old_load_id INTEGER,
    new_load_id INTEGER,
    recorded_at TIMESTAMP
)
"""
REVISIONS_COLUMNS: tuple[str, ...] = tuple(
    line.split()[0] for line in REVISIONS_DDL.split("(", 1)[1].rsplit(")", 1)[0].split(",\n"))
FINDINGS_COLUMNS: tuple[str, ...] = tuple(
    line.split()[0] for line in FINDINGS_DDL.split("(", 1)[1].rsplit(")", 1)[0].split(",\n"))


def table_ddl(name: str) -> str:
    """``CREATE TABLE`` for one input table, columns typed as the schema says (money DECIMAL in 元)."""
    t = TABLES[name]
    cols = ",\n    ".join(f"{c.name} {c.sql_type}" for c in t.columns)
    return f"CREATE TABLE IF NOT EXISTS {t.name} (\n    {cols}\n)"


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every input table, ``loads``, ``findings`` and ``revisions`` (idempotent)."""
    for name in TABLE_ORDER:
        con.execute(table_ddl(name))
    con.execute(LOADS_DDL)
    con.execute(FINDINGS_DDL)
    con.execute(REVISIONS_DDL)


# tables a file store reads once and hands out as copies: one row per department or street and
# year, small at any scale, and read whole several times by one report (the fiscal one: ten times)
SMALL_TABLES = frozenset({"departments", "street_fiscal"})
# the columns of Store.projects: the stored ones, the budget used, the department's names
_PROJECT_STORED = tuple(c.name for c in TABLES["projects"].columns)
_DEPT_DERIVED = frozenset({"dept_name", "level1_code", "level1_name"})
PROJECT_COLUMNS = (*_PROJECT_STORED, "budget", "dept_name", "level1_code", "level1_name")


# --- tables a report reads (recorded in the kernel for incremental runs) -------------------------
TABLES_READ_ENV = "PERFLIB_TABLES_READ"


@lru_cache(maxsize=1)
def _table_pattern() -> re.Pattern:
    return re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, TRACKED_TABLES)) + r")(?![A-Za-z0-9_])")


def tables_in(query: str) -> set[str]:
    """Store tables a SQL text names (as whole words; an alias that happens to be a table name
    counts too: a dependency too many only costs a re-render)."""
    return set(_table_pattern().findall(query or ""))


class TracingConnection:
    """A DuckDB connection that appends the tables each query names to a file (one name a line).

    The store wraps its connection in this when ``PERFLIB_TABLES_READ`` is set (``perflib run``
    sets it for each report's kernel); everything else is delegated unchanged.
    """

    def __init__(self, con, path: str | os.PathLike):
        self._con = con
        self._path = str(path)
        self._seen: set[str] = set()

    def _note(self, query) -> None:
        new = tables_in(query if isinstance(query, str) else str(query)) - self._seen
        if new:
            self._seen |= new
            with open(self._path, "a", encoding="utf-8") as fh:
                fh.write("".join(f"{t}\n" for t in sorted(new)))

    def execute(self, query, *args, **kwargs):
        self._note(query)
        return self._con.execute(query, *args, **kwargs)

    def sql(self, query, *args, **kwargs):
        self._note(query)
        return self._con.sql(query, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._con, name)


def traced(con):
    """``con`` wrapped in a :class:`TracingConnection` when the runner asks for it, else ``con``."""
    path = os.environ.get(TABLES_READ_ENV)
    return TracingConnection(con, path) if path else con


# DuckDB's allocator returns what a large query freed to the system in the background (a province's
# indicator query: 797 → 473 MiB held after it). A SET, not a connect() config: DuckDB refuses a
# second connection to the same file with another configuration (perflib run fingerprints the store)
_BACKGROUND_FREE = "SET allocator_background_threads = true"
# DuckDB keeps the table blocks a query read cached until its memory limit presses: ~125 MiB between
# the queries of a province's monitoring report, on top of the frames. A store that lets its cache go
# evicts it after a query once it holds more than this (a district's never does: no cost there).
# Province monitoring: peak PSS 0.99–1.02 → 0.94–0.95 GiB, no slower; 64 MiB: 0.91–0.94 GiB but
# +0.5 s (the queries read evicted blocks again); 112 MiB: 0.97–1.01 GiB
CACHE_KEPT = 96 << 20
CACHE_LEFT = "32MB"  # the memory limit set for an instant to evict it (then the default again)
_CACHED_BLOCKS = "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'BASE_TABLE'"


class Store:
    """Read access to a perflib DuckDB store.

    Example: ``store = Store("data/perf.duckdb"); store.projects(store.latest_year())``

    Parameters
    ----------
    path : the ``.duckdb`` file; opened read-only so that several reports can read it at once.
    redact : replace classified projects' codes and names (default True; only ingest and tests
        that check redaction itself turn it off).
    let_cache_go : after a query, evict DuckDB's cached blocks when they hold more than
        :data:`CACHE_KEPT` (a report's kernel: the only user of its database in the process; the
        eviction lowers the whole database's memory limit for an instant, which a query another
        thread runs on the same file then would feel).
    """

    def __init__(self, path: str | Path | None = None, *, redact: bool = True,
                 con: duckdb.DuckDBPyConnection | None = None, let_cache_go: bool = False):
        self.redact = redact
        self.let_cache_go = let_cache_go
        self._tables: set[str] | None = None  # a file store's table names, read once
        if con is not None:
            self.con = con
            self.path = None
        else:
            p = Path(path) if path is not None else None
            if p is None or not p.exists():
                shown = p.resolve() if p is not None else "（未指定）"
                raise StoreError(f"数据库不存在：{shown}。请先运行 perflib ingest 导入数据，或用 --db、"
                                 "环境变量 PERFLIB_DB 或参数单元格的 db 指向已有的数据库。")
            try:
                self.con = duckdb.connect(str(p), read_only=True)
            except duckdb.Error as exc:
                raise StoreError(f"无法打开数据库 {p}：{exc}") from None
            with contextlib.suppress(duckdb.Error):  # a DuckDB without the setting: memory held longer
                self.con.execute(_BACKGROUND_FREE)
            if os.environ.get(TABLES_READ_ENV):  # perflib run: record the tables a report reads
                self.con = traced(self.con)
            self.path = p
            missing = [t for t in TABLE_ORDER if t not in OPTIONAL_TABLES and not self._has_table(t)]
            if missing:
                raise StoreError(f"{p} 不是 perflib 数据库（缺少表：{'、'.join(missing)}）")
        self._classified: dict[str, str] | None = None
        self._columns: dict[str, set[str]] | None = None
        # a file store is opened read-only, so what it returns cannot change while it is open: the
        # department tree and each year's projects are read once (a report asks for them 5–10 times)
        self._cache: dict[tuple, pd.DataFrame] | None = {} if self.path is not None else None
        self._memo: dict[tuple, tuple] | None = {} if self.path is not None else None

    def _cached(self, key: tuple, make) -> pd.DataFrame:
        if self._cache is None:
            return make()
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key].copy()

    def memo(self, key: tuple, rules, make):
        """``make()`` once per ``key`` and ``rules`` object for this store (a file store; one built
        from frames makes anew): an analysis several sections of a report ask for. The caller gets
        the very object made and must not change it in place."""
        if self._memo is None:
            return make()
        held = self._memo.get(key)
        if held is None or held[0] is not rules:  # the rules object is held, so its id is not reused
            held = self._memo[key] = (rules, make())
        return held[1]

    # --- construction for tests and notebooks --------------------------------------------------
    @classmethod
    def from_frames(cls, frames: dict[str, pd.DataFrame], *, redact: bool = True) -> "Store":
        """An in-memory store holding the given tables (canonical columns; absent tables empty)."""
        con = duckdb.connect(":memory:")
        create_schema(con)
        for name, df in frames.items():
            if name not in TABLES:
                raise KeyError(f"unknown table {name!r}")
            cols = [c.name for c in TABLES[name].columns]
            full = df.copy()
            for c in TABLES[name].columns:
                if c.name not in full.columns:
                    full[c.name] = c.default if c.default is not None else None
            full = full[cols]
            con.register("_frame", full)
            con.execute(f"INSERT INTO {name} SELECT {', '.join(cols)} FROM _frame")
            con.unregister("_frame")
        return cls(con=con, redact=redact)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- raw access -----------------------------------------------------------------------------
    def _has_table(self, name: str) -> bool:
        if self.path is not None:  # read-only: its tables cannot change while it is open; one query
            if self._tables is None:
                self._tables = {r[0] for r in self.con.execute(
                    "SELECT table_name FROM information_schema.tables").fetchall()}
            return name in self._tables
        q = "SELECT count(*) FROM information_schema.tables WHERE table_name = ?"
        return self.con.execute(q, [name]).fetchone()[0] > 0

    def _columns_of(self, name: str) -> set[str]:
        """The columns table ``name`` has in this database (one made by an older perflib may lack an
        optional column added since)."""
        if self._columns is None:
            self._columns = {}
        if name not in self._columns:
            rows = self.con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                                    [name]).fetchall()
            self._columns[name] = {r[0] for r in rows}
        return self._columns[name]

    def has_column(self, table: str, column: str) -> bool:
        """Whether ``table`` has ``column`` in this database (False for a database made before an
        optional column was added)."""
        return column in self._columns_of(table)

    def sql(self, query: str, params: Iterable | None = None) -> pd.DataFrame:
        """Run a read query (for aggregation pushed into DuckDB). Project-level results must pass
        through :meth:`redact_frame` before they reach a report."""
        return self._frame(query, params)

    def _frame(self, query: str, params: Iterable | None = None) -> pd.DataFrame:
        """A read query's rows as pandas (:func:`arrow_frame`), then the cache let go if due."""
        df = arrow_frame(self._relation(query, params))
        if self.let_cache_go and self.path is not None:
            held = 0
            with contextlib.suppress(duckdb.Error):  # a DuckDB without duckdb_memory(): cache kept
                held = self.con.execute(_CACHED_BLOCKS).fetchall()[0][0]
            if held > CACHE_KEPT:
                try:
                    self.con.execute(f"SET memory_limit = '{CACHE_LEFT}'")  # below the cache: DuckDB drops it
                finally:
                    self.con.execute("RESET memory_limit")
        return df

    def _relation(self, query: str, params: Iterable | None = None):
        """A read query as a DuckDB relation: its rows go straight to Arrow when fetched (a DB-API
        ``execute`` result first materialises them, then copies them: +257 MiB for a province's
        458,085 indicator rows)."""
        finish = getattr(self.con, "abort", None)  # DuckDB ≥ 2 keeps an execute() result read with
        if finish is not None:                     # fetchone() open, and refuses sql() until it is ended
            finish()
        return self.con.sql(query, params=list(params) if params is not None else None)

    def sql_joined(self, query: str, params: Iterable | None = None, **frames: pd.DataFrame) -> pd.DataFrame:
        """:meth:`sql` with pandas ``frames`` visible to ``query`` under their keyword names (a join
        and sort over a large table done in DuckDB rather than by gathering rows in pandas)."""
        import pyarrow as pa

        registered = []
        try:
            for name, df in frames.items():
                self.con.register(name, pa.Table.from_pandas(df, preserve_index=False))
                registered.append(name)
            return self.sql(query, params)
        finally:
            for name in registered:
                self.con.unregister(name)

    # --- redaction ------------------------------------------------------------------------------
    @property
    def classified(self) -> dict[str, str]:
        """Map of every classified project code to its surrogate (stable across tables and years)."""
        if self._classified is None:
            ids = self.con.execute(
                "SELECT DISTINCT project_id FROM projects WHERE is_classified ORDER BY project_id"
            ).fetchall()
            self._classified = {pid: f"{CLASSIFIED_PREFIX}{i:02d}" for i, (pid,) in enumerate(ids, 1)}
        return self._classified

    def classified_names(self) -> set[str]:
        """Every name and code of a classified project (for leak checks on outputs)."""
        rows = self.con.execute(
            "SELECT DISTINCT project_id, project_name FROM projects WHERE is_classified"
        ).fetchall()
        return {str(v) for row in rows for v in row if v}

    def redact_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """Replace classified projects' codes and names in ``df`` (columns project_id/project_name)."""
        if not self.redact or "project_id" not in df.columns or not self.classified:
            return df
        mask = df["project_id"].isin(list(self.classified))
        if not mask.any():
            if "is_classified" not in df.columns:
                return df
        out = df.copy()
        if "project_name" in out.columns:
            out.loc[mask, "project_name"] = CLASSIFIED_NAME
        out.loc[mask, "project_id"] = out.loc[mask, "project_id"].map(self.classified)
        return out

    # --- tables ---------------------------------------------------------------------------------
    def table(self, name: str, year: int | Iterable[int] | None = None) -> pd.DataFrame:
        """One input table (canonical columns), optionally for one year or several, redacted."""
        if name not in TABLES:
            raise KeyError(f"unknown table {name!r}; known: {', '.join(TABLE_ORDER)}")
        if year is None and name in SMALL_TABLES:
            return self._cached(("table", name), lambda: self._table(name, None))
        return self._table(name, year)

    def _table(self, name: str, year: int | Iterable[int] | None, only: Iterable[str] | None = None) -> pd.DataFrame:
        """``only``: these columns of the table (in its order), read narrow."""
        cols = [c.name for c in TABLES[name].columns]
        wanted = None if only is None else set(only)
        columns = [c for c in TABLES[name].columns if wanted is None or c.name in wanted]
        if name in OPTIONAL_TABLES and not self._has_table(name):  # a database older than the table
            return _fix_types(self._frame(
                f"SELECT {', '.join(f'CAST(NULL AS {c.sql_type}) AS {c.name}' for c in columns)}"
                " WHERE false"), name)
        present = self._columns_of(name)
        # an optional column a database made by an older perflib lacks reads as empty
        query = "SELECT " + ", ".join(
            c.name if c.name in present or c.required else f"CAST(NULL AS {c.sql_type}) AS {c.name}"
            for c in columns) + f" FROM {name}"
        params: list = []
        if year is not None and "year" in cols:
            years = [int(year)] if isinstance(year, (int,)) or hasattr(year, "__index__") else [int(y) for y in year]
            query += f" WHERE year IN ({', '.join('?' for _ in years)})"
            params = years
        order = [k for k in TABLES[name].key if k] or cols[:2]
        query += " ORDER BY " + ", ".join(order)
        df = _fix_types(self._frame(query, params), name)
        return self.redact_frame(df)

    def departments(self) -> pd.DataFrame:
        """Departments with ``level1_code``/``level1_name``: the level-1 department each belongs to."""
        return self._cached(("departments",), self._departments)

    def _departments(self) -> pd.DataFrame:
        df = self.table("departments")
        codes = df["dept_code"].tolist()  # Python lists: iterating the Arrow columns costs 2× more
        parent = dict(zip(codes, df["parent_code"].tolist()))
        names = dict(zip(codes, df["dept_name"].tolist()))

        def top(code: str) -> str:
            seen = set()
            while parent.get(code) and parent[code] in parent and code not in seen:
                seen.add(code)
                code = parent[code]
            return code

        level1 = [top(c) for c in codes]
        df["level1_code"] = pd.Series(level1, index=df.index, dtype=df["dept_code"].dtype)
        df["level1_name"] = pd.Series([names[c] for c in level1], index=df.index, dtype=df["dept_name"].dtype)
        df["is_level1"] = df["parent_code"].isna()
        return df

    def projects(self, year: int | Iterable[int] | None = None, columns: Iterable[str] | None = None
                 ) -> pd.DataFrame:
        """Projects with department names and ``budget`` = 调整后预算数, or 年初预算数 where none.

        ``columns``: only these columns of that frame, in this order, and the same values; read
        narrow unless the whole frame is held already (a prior year's budgets by department need 5
        of its ~30 columns: a province's year is 96 MB whole)."""
        years = None if year is None else (
            (int(year),) if hasattr(year, "__index__") else tuple(sorted({int(y) for y in year})))
        if columns is None:
            return self._cached(("projects", years), lambda: self._projects(year))
        cols = list(dict.fromkeys(columns))
        unknown = [c for c in cols if c not in PROJECT_COLUMNS]
        if unknown:
            raise KeyError(f"unknown project columns {unknown!r}")
        whole = self._cache.get(("projects", years)) if self._cache is not None else None
        if whole is not None:
            return whole[cols].copy()
        return self._cached(("projects", years, tuple(cols)), lambda: self._projects(year, cols))

    def _projects(self, year, cols: list[str] | None = None) -> pd.DataFrame:
        only = None
        if cols is not None:  # the stored columns these derive from; project_id for the redaction
            only = {"project_id", *(c for c in cols if c in _PROJECT_STORED)}
            if "budget" in cols:
                only |= {"adjusted_amount", "budget_amount"}
            if _DEPT_DERIVED & set(cols):
                only.add("dept_code")
        df = self.table("projects", year) if only is None else self._table("projects", year, only)
        if cols is None or "budget" in cols:
            df["budget"] = df["adjusted_amount"].where(df["adjusted_amount"].notna(), df["budget_amount"])
        if cols is None or _DEPT_DERIVED & set(cols):
            depts = self.departments()[["dept_code", "dept_name", "level1_code", "level1_name"]]
            df = pandas_speed.merge_on_unique(df, depts, "dept_code")
        return df if cols is None else df[cols]

    def years(self) -> list[int]:
        """Years that have projects, ascending."""
        return [r[0] for r in self.con.execute("SELECT DISTINCT year FROM projects ORDER BY year").fetchall()]

    def latest_year(self) -> int | None:
        ys = self.years()
        return ys[-1] if ys else None

    def last_payment_date(self, year: int) -> dt.date | None:
        """The data's as-of date for a year: its last payment date."""
        v = self.con.execute("SELECT max(pay_date) FROM payments WHERE year = ?", [year]).fetchone()[0]
        return v

    def last_payment_month(self, year: int) -> int | None:
        d = self.last_payment_date(year)
        return d.month if d else None

    def payments_export_date(self) -> dt.date | None:
        """The export date of the payments: the newest ``export_date`` among the payments files of
        the latest load that brought payments (the load date for loads recorded before that column
        existed); None without such a load."""
        return self.table_export_date("payments")

    def table_export_date(self, table: str) -> dt.date | None:
        """The export date of ``table`` (as :meth:`payments_export_date` for payments)."""
        if not self._has_table("loads"):
            return None
        cols = {r[0] for r in self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'loads'").fetchall()}
        date = "coalesce(export_date, CAST(loaded_at AS DATE))" if "export_date" in cols else "CAST(loaded_at AS DATE)"
        return self.con.execute(
            f"SELECT max({date}) FROM loads WHERE table_name = ? AND load_id = "
            "(SELECT max(load_id) FROM loads WHERE table_name = ?)", [table, table]).fetchone()[0]

    def streets(self) -> pd.DataFrame:
        """Street offices (是否街道 = 是) that have fiscal indicators, with their names."""
        return self.sql(
            "SELECT DISTINCT d.dept_code, d.dept_name FROM departments d "
            "JOIN street_fiscal s USING (dept_code) WHERE d.is_street ORDER BY d.dept_code"
        )

    def project_types(self, year: int) -> list[str]:
        """Project types of a year that have outputs (the types a cost report can be drawn for)."""
        rows = self.con.execute(
            "SELECT DISTINCT p.project_type FROM projects p JOIN outputs o USING (project_id, year) "
            "WHERE p.year = ? AND p.project_type IS NOT NULL ORDER BY 1", [year]
        ).fetchall()
        return [r[0] for r in rows]

    def findings(self, years: Iterable[int] | None = None) -> pd.DataFrame:
        """Stored findings (table ``findings``), all or those of the data ``years`` plus the
        year-less ones (a department, a whole file), redacted: a classified project's code becomes
        its surrogate in ``project_id`` and, like its name, in ``record_key``, ``value`` and
        ``message``. A store without the table (made before findings existed) has none."""
        cols = list(FINDINGS_COLUMNS)
        if not self._has_table("findings"):
            return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
        query, params = f"SELECT {', '.join(cols)} FROM findings", []
        if years is not None:
            ys = sorted({int(y) for y in years})
            query += f" WHERE year IS NULL OR year IN ({', '.join('?' for _ in ys) or 'NULL'})"
            params = ys
        df = self.sql(query + " ORDER BY table_name, year, file, sheet, row_number, column_header, kind", params)
        return self._redact_findings(df)

    def _redact_findings(self, df: pd.DataFrame) -> pd.DataFrame:
        if not self.redact or df.empty or not self.classified:
            return df
        names = dict(self.con.execute(
            "SELECT DISTINCT project_id, project_name FROM projects WHERE is_classified").fetchall())
        # longest first, so that a code inside a longer code or name is not replaced half-way
        words = sorted({*self.classified, *(n for n in names.values() if n)}, key=len, reverse=True)
        pattern = re.compile("|".join(map(re.escape, words)))
        swap = {**{n: CLASSIFIED_NAME for n in names.values() if n}, **self.classified}
        finder = _word_finder(words)

        def redact(v):
            # the regular expression only for texts that contain a word (one Aho–Corasick pass
            # finds them): a province has ~150,000 findings and few name a classified project
            if isinstance(v, str) and next(finder.iter(v), None) is not None:
                return pattern.sub(lambda m: swap[m.group(0)], v)
            return v

        out = df.copy()
        for c in ("record_key", "value", "message"):
            out[c] = out[c].map(redact)
        hit = out["project_id"].isin(list(self.classified))
        out.loc[hit, "project_id"] = out.loc[hit, "project_id"].map(self.classified)
        return out

    def findings_count(self, table_years: Iterable[tuple[str, int]]) -> int:
        """How many stored findings belong to the given (input table, data year) pairs, a table's
        year-less ones (a department, a whole file) included: counted in DuckDB (a count needs no
        redaction, and a province has ~150,000 findings)."""
        pairs = sorted({(str(t), int(y)) for t, y in table_years})
        if not pairs or not self._has_table("findings"):
            return 0
        cond = " OR ".join("(table_name = ? AND (year IS NULL OR year = ?))" for _ in pairs)
        return int(self.con.execute(f"SELECT count(*) FROM findings WHERE {cond}",
                                    [v for p in pairs for v in p]).fetchone()[0])

    def revisions(self, year: int | None = None, dept: str | None = None) -> pd.DataFrame:
        """Recorded data revisions (table ``revisions``), all or those of ``year``, oldest first.
        With ``dept`` (a level-1 department code), the project-level ones are those of its projects
        (district totals, such as a month's payments, are kept). Redacted: the revisions of classified
        projects are summed into one line keyed 涉密项目（合计）. A store without the table has none."""
        cols = list(REVISIONS_COLUMNS)
        if not self._has_table("revisions"):
            return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
        where, params = [], []
        if year is not None:
            where.append("year = ?")
            params.append(int(year))
        query = f"SELECT {', '.join(cols)} FROM revisions" + (f" WHERE {' AND '.join(where)}" if where else "")
        df = self.sql(query + " ORDER BY new_load_id, table_name, year, period, measure, record_key", params)
        if dept is not None and not df.empty:
            d = self.departments()
            level1 = dict(zip(d["dept_code"], d["level1_code"]))
            owners = self.sql("SELECT DISTINCT project_id, dept_code FROM projects")
            mine = {p for p, c in zip(owners["project_id"], owners["dept_code"]) if level1.get(c) == str(dept)}
            df = df[df["record_key"].isna() | df["record_key"].isin(mine)]
        if not self.redact or df.empty or not self.classified:
            return df.reset_index(drop=True)
        hit = df["record_key"].isin(list(self.classified))
        if not hit.any():
            return df.reset_index(drop=True)
        keys = ["table_name", "year", "period", "measure", "old_load_id", "new_load_id"]
        secret = (df[hit].groupby(keys, as_index=False, dropna=False)
                  .agg(old_total=("old_total", "sum"), new_total=("new_total", "sum"), recorded_at=("recorded_at", "max"))
                  .assign(record_key=CLASSIFIED_TOTAL_LABEL))
        return pd.concat([df[~hit], secret[cols]], ignore_index=True)

    def latest_load_id(self) -> int | None:
        """The id of the latest load (table ``loads``), or None."""
        if not self._has_table("loads"):
            return None
        n = self.con.execute("SELECT max(load_id) FROM loads").fetchone()[0]
        return None if n is None else int(n)

    def loads(self) -> pd.DataFrame:
        return self.sql("SELECT * FROM loads ORDER BY load_id, file, sheet")

    def inputs(self) -> dict[str, str]:
        """Source files of the latest load and their sha256 (for report footers and facts)."""
        if not self._has_table("loads"):
            return {}
        rows = self.con.execute(
            "SELECT DISTINCT file, sha256 FROM loads WHERE load_id = (SELECT max(load_id) FROM loads) "
            "ORDER BY file"
        ).fetchall()
        return {f: h for f, h in rows}


def _word_finder(words: Iterable[str]):
    """An Aho–Corasick automaton that finds whether a text contains any of ``words``."""
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for w in words:
        automaton.add_word(w, w)
    automaton.make_automaton()
    return automaton


def arrow_frame(result) -> pd.DataFrame:
    """A DuckDB result or relation as pandas through Arrow, with the dtypes DuckDB's ``.df()`` gives
    (DECIMAL → float64, DATE → datetime64[us], an integer or boolean column holding NULLs → nullable
    Int/boolean) at 2–3× its speed on large results: strings go to arrow-backed ``str`` without Python
    objects."""
    import warnings

    import pyarrow as pa
    import pyarrow.compute as pc

    with warnings.catch_warnings():  # an execute() result warns of its extra copy (Store.sql passes relations)
        warnings.simplefilter("ignore")
        tbl = result.to_arrow_table()
    nullable = {}
    for i, f in enumerate(tbl.schema):
        t = f.type
        if pa.types.is_decimal(t):
            tbl = tbl.set_column(i, f.name, pc.cast(tbl.column(i), pa.float64()))
        elif pa.types.is_date(t):
            tbl = tbl.set_column(i, f.name, pc.cast(tbl.column(i), pa.timestamp("us")))
        elif pa.types.is_timestamp(t) and t.unit != "us":
            tbl = tbl.set_column(i, f.name, pc.cast(tbl.column(i), pa.timestamp("us", t.tz)))
        elif (pa.types.is_integer(t) or pa.types.is_boolean(t)) and tbl.column(i).null_count:
            nullable[i] = t
    df = tbl.to_pandas()
    for i, t in nullable.items():
        df.isetitem(i, pd.array(tbl.column(i).to_pandas(), dtype=_NULLABLE.get(str(t), "Int64")))
    return df


_NULLABLE = {"int8": "Int8", "int16": "Int16", "int32": "Int32", "int64": "Int64", "uint8": "UInt8",
             "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64", "bool": "boolean"}


def _fix_types(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """DuckDB → pandas: money stays float 元, dates become datetime64, codes stay strings."""
    for c in TABLES[name].columns:
        if c.name not in df.columns:
            continue
        if c.kind == "money":
            df[c.name] = df[c.name].astype("float64")
        elif c.kind == "date":
            df[c.name] = pd.to_datetime(df[c.name])
        elif c.kind == "bool":
            df[c.name] = df[c.name].astype("boolean").fillna(False).astype(bool)
    return df
