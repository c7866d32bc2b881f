"""Load an export folder into the DuckDB store: validated, atomic, idempotent.

The new database is built complete in a temporary file beside the target (the rows of the previous
database that this load keeps, then the new rows), checkpointed, closed and moved over the target
with ``os.replace``. Until that instant the previous database is untouched; after it, readers see
the new one. Any failure or kill leaves the previous file byte-for-byte as it was.

What a load replaces: for each table it brings, the rows of the years it brings (a re-export of 2023
replaces 2023 and keeps 2022); ``monitoring`` per (year, 监控月份) so monthly snapshots accumulate;
``departments`` wholesale. Loading the same files again changes nothing, and if the files (their
names and sha256) are exactly those of the last load, checked under the same rules and code, the
database is not rewritten and no ``loads`` entry is added; the files are then not even parsed, only
hashed (:mod:`.unchanged`).
"""
from __future__ import annotations

import datetime as dt
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import duckdb
import pandas as pd
import pyarrow as pa
from filelock import FileLock, Timeout

from .. import __version__
from ..exceptions import Problem, StoreError
from ..files import fsync_dir, os_error_text, unwritable
from ..schema import (
    BOOL, DATE, INT, MONEY, MONTH, NUMBER, OPTIONAL_TABLES, TABLE_ORDER, TABLES, YEAR, Table,
)
from ..store import create_schema
from .checks import ValidationFailed, examine
from .findings import describe_findings, findings_arrow, grade, score_maxima, severity_of
from .folder import default_readers, read_export
from .model import Export, Reader, SourceFile, partition_columns
from .revisions import record_revisions
from .unchanged import check_fingerprint, unchanged_load

__all__ = ["ingest", "IngestSummary", "check", "CheckSummary", "replaced_partitions", "partition_columns", "DatabaseRows", "TEMP_MARK"]

TEMP_MARK = ".ingest-tmp"
LOCK_TIMEOUT = 600.0


def replaced_partitions(export: Export) -> dict[str, pd.DataFrame | None]:
    """For each table the export brings: the distinct partition values it replaces (a frame with
    the partition columns), or None when it replaces the whole table (departments)."""
    if export.staged is not None:
        return export.staged.partitions()
    out: dict[str, pd.DataFrame | None] = {}
    for name, df in export.tables.items():
        cols = partition_columns(TABLES[name])
        if not cols:
            out[name] = None
            continue
        values = [df[c].tolist() for c in cols]  # Python sets: these frames are small (the bulk reader has its own)
        distinct = dict.fromkeys(key for key in zip(*values) if not any(pd.isna(v) for v in key))
        out[name] = pd.DataFrame(list(distinct), columns=list(cols), dtype="int64")
    return out


class DatabaseRows:
    """The rows of the previous database that a load keeps (``ExistingRows`` for validation).

    Works on an open connection where the previous database is attached as ``old`` (or on none,
    for a first load).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection | None, export: Export, label: str):
        self.con = con
        self.label = label
        self.parts = replaced_partitions(export)
        self.old_tables: set[str] = set()
        self._keys: dict[tuple, pd.DataFrame] = {}
        if con is not None:
            rows = con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'old'"
            ).fetchall()
            self.old_tables = {r[0] for r in rows}
            for name, parts in self.parts.items():
                if parts is not None:
                    con.register(f"_parts_{name}", parts)

    def surviving(self, table: str) -> str | None:
        """SQL ``FROM … WHERE`` selecting the kept rows of ``table`` (aliased ``t``), or None."""
        if self.con is None or table not in self.old_tables:
            return None
        if table not in self.parts:
            return f"old.{table} t"
        parts = self.parts[table]
        if parts is None:
            return None
        cond = " AND ".join(f"p.{c} = t.{c}" for c in parts.columns)
        return f"old.{table} t WHERE NOT EXISTS (SELECT 1 FROM _parts_{table} p WHERE {cond})"

    def keys(self, table: str, columns: tuple[str, ...]) -> pd.DataFrame:
        """The distinct ``columns`` of the kept rows of ``table``, read once per load (eight tables
        reference the projects' key); the caller must not change the frame."""
        key = (table, tuple(columns))
        if key not in self._keys:
            src = self.surviving(table)
            if src is None:
                self._keys[key] = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
            else:
                cols = ", ".join(f"t.{c}" for c in columns)
                rows = self.con.execute(f"SELECT DISTINCT {cols} FROM {src} ORDER BY ALL").fetchall()
                self._keys[key] = pd.DataFrame.from_records(rows, columns=list(columns))  # (.df() costs more)
        return self._keys[key]


@dataclass
class IngestSummary:
    """What a load did: the files read, rows per table, and the rows the database now holds."""

    db_path: Path
    src_dir: Path
    files: list[SourceFile]
    rows: dict[str, int]
    years: dict[str, list[int]]
    totals: dict[str, int] = field(default_factory=dict)
    load_id: int | None = None
    unchanged: bool = False
    findings: list[Problem] = field(default_factory=list)  # the content gaps loaded (table findings)
    revisions: int = 0  # figures of periods already loaded that this load changed (table revisions)

    def describe(self) -> str:
        """A short Chinese summary for the command line."""
        n_files = len({f.path for f in self.files})
        if self.unchanged:
            head = (f"导入的 {n_files} 个文件与上次导入的完全相同（sha256 一致），"
                    f"数据库未改动：{self.db_path}")
        else:
            head = f"已导入 {n_files} 个文件到 {self.db_path}（第 {self.load_id} 次导入）："
        lines = [head]
        for name in TABLE_ORDER:
            if name not in self.rows:
                continue
            t = TABLES[name]
            years = self.years.get(name) or []
            extra = f"，年度 {'、'.join(str(y) for y in years)}" if years else ""
            lines.append(f"  {t.label}（{name}）：{self.rows[name]:,} 行{extra}")
        if self.totals:
            held = "，".join(f"{TABLES[n].label} {c:,} 行" for n, c in self.totals.items() if c)
            lines.append(f"数据库现有：{held}")
        if self.revisions:
            lines.append(f"本次导入修订了此前已导入期间的数据 {self.revisions} 处（见 perflib revisions）")
        lines.append(describe_findings(self.findings))
        return "\n".join(lines)


def _arrow_column(kind: str, series: pd.Series) -> pa.Array:
    values = [None if (v is None or v is pd.NA or (isinstance(v, float) and v != v)) else v
              for v in series.tolist()]
    if kind == MONEY:
        return pa.array(values, type=pa.decimal128(18, 2))
    if kind == DATE:
        return pa.array(values, type=pa.date32())
    if kind in (INT,):
        return pa.array(values, type=pa.int64())
    if kind in (YEAR, MONTH):
        return pa.array(values, type=pa.int32())
    if kind == NUMBER:
        return pa.array(values, type=pa.float64())
    if kind == BOOL:
        return pa.array(values, type=pa.bool_())
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def _to_arrow(table: Table, df: pd.DataFrame) -> pa.Table:
    return pa.table({c.name: _arrow_column(c.kind, df[c.name]) for c in table.columns})


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def _remove_stale_temps(db: Path) -> None:
    """Temp files of an ingest that was killed (we hold the lock, so none is in use)."""
    for p in db.parent.glob(f".{db.name}.*{TEMP_MARK}*"):
        try:
            p.unlink()
        except OSError:
            pass


def _attach_old(con: duckdb.DuckDBPyConnection, db: Path) -> None:
    try:
        con.execute("ATTACH ? AS old (READ_ONLY)", [str(db)])
    except duckdb.Error as exc:
        raise StoreError(f"无法读取现有数据库 {db}（{exc}）。如有其他程序正在写入它，请关闭后重试；"
                         f"如文件已损坏，请移走它后重新导入全部数据。") from None
    have = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'old'").fetchall()}
    missing = [t for t in (*TABLE_ORDER, "loads") if t not in have and t not in OPTIONAL_TABLES]
    if missing:
        raise StoreError(f"{db} 不是 perflib 数据库（缺少表：{'、'.join(missing)}），未做任何改动。")


def _old_columns(con, table: str) -> set[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'old' AND table_name = ?",
        [table]).fetchall()
    return {r[0] for r in rows}


def _loads_columns(con) -> list[str]:
    rows = con.execute("SELECT column_name FROM information_schema.columns WHERE table_catalog <> 'old' "
                       "AND table_name = 'loads' ORDER BY ordinal_position").fetchall()
    return [r[0] for r in rows]


def _modified_date(path: Path) -> dt.date | None:
    """A source file's modification date (machine-local): the export date recorded in ``loads``."""
    try:
        return dt.date.fromtimestamp(path.stat().st_mtime)
    except OSError:
        return None


def _same_as_last_load(con, export: Export, fingerprint: str) -> bool:
    """The export's files (names and sha256) are those of the last load, checked with the same
    ``fingerprint`` (:func:`.unchanged.check_fingerprint`; a store from before it never matches)."""
    if "check_sha256" not in _old_columns(con, "loads"):
        return False
    row = con.execute("SELECT max(load_id) FROM old.loads").fetchone()
    if row is None or row[0] is None:
        return False
    rows = con.execute("SELECT DISTINCT file, sha256, check_sha256 FROM old.loads WHERE load_id = ?",
                       [row[0]]).fetchall()
    return ({(f, s) for f, s, _ in rows} == {(f.path, f.sha256) for f in export.files}
            and all(c == fingerprint for _, _, c in rows))


def _keep_findings(con, export: Export, rows: DatabaseRows) -> None:
    """The previous load's findings about rows this load keeps: those of tables it does not bring,
    and of partitions it does not replace (a partition column other than ``year`` is read from the
    record key); the findings of a replaced partition, and a brought table's column findings
    (record_key empty), go with the data they describe."""
    if "findings" not in rows.old_tables:
        return
    for name in TABLE_ORDER:
        table = TABLES[name]
        where = f"f.table_name = '{name}'"
        if name in rows.parts:
            parts = rows.parts[name]
            if parts is None:
                continue
            cond = " AND ".join(
                f"p.{c} = f.year" if c == "year" else
                f"p.{c} = TRY_CAST(split_part(f.record_key, '|', {table.key.index(c) + 1}) AS INTEGER)"
                for c in parts.columns)
            where += f" AND f.record_key <> '' AND NOT EXISTS (SELECT 1 FROM _parts_{name} p WHERE {cond})"
        con.execute(f"INSERT INTO findings SELECT f.* FROM old.findings f WHERE {where}")


def _build(con, export: Export, rows: DatabaseRows, has_old: bool, src: Path,
           findings: list[Problem] = (), summary: IngestSummary | None = None, fingerprint: str | None = None) -> int:
    """Fill the fresh database on ``con``: kept old rows, new rows, the loads log, the findings
    (kept and new), the data revisions against the old database (:mod:`.revisions`). Returns load_id.
    One transaction: a commit per statement costs more than the rows of a small export (the file
    is new and replaces the database by a rename, so atomicity does not depend on it)."""
    con.execute("BEGIN")
    create_schema(con)
    for name in TABLE_ORDER:
        table = TABLES[name]
        cols = [c.name for c in table.columns]
        staged = export.staged is not None and export.staged.install(con, name)  # new rows already there
        src_sql = rows.surviving(name) if has_old else None
        if src_sql is not None:
            have = _old_columns(con, name)
            select = ", ".join(f"t.{c}" if c in have else f"NULL AS {c}" for c in cols)
            con.execute(f"INSERT INTO {name} ({', '.join(cols)}) SELECT {select} FROM {src_sql}")
        df = export.tables.get(name)
        if df is not None and len(df) and not staged:
            con.register("_new", _to_arrow(table, df))
            con.execute(f"INSERT INTO {name} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM _new")
            con.unregister("_new")
    load_id = 1
    if has_old:  # loads recorded before a column existed (export_date) keep it NULL
        have = [c for c in _loads_columns(con) if c in _old_columns(con, "loads")]
        con.execute(f"INSERT INTO loads ({', '.join(have)}) SELECT {', '.join(have)} FROM old.loads")
        load_id = (con.execute("SELECT max(load_id) FROM loads").fetchone()[0] or 0) + 1
    now = dt.datetime.now().replace(microsecond=0)
    log = [(load_id, now, str(src.resolve()), f.path, f.sheet, f.table, f.sha256, f.rows, __version__,
            _modified_date(src / f.path), fingerprint) for f in export.files]
    if log:
        con.executemany("INSERT INTO loads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", log)
    if has_old:
        _keep_findings(con, export, rows)
        added = record_revisions(con, load_id, now, rows.old_tables)
        if summary is not None:
            summary.revisions = added
    if findings:
        con.register("_findings", findings_arrow(findings, load_id))
        con.execute("INSERT INTO findings SELECT * FROM _findings")
        con.unregister("_findings")
    con.execute("COMMIT")
    return load_id


def _years(export: Export) -> dict[str, list[int]]:
    out = {}
    for name, df in export.tables.items():
        if "year" in df.columns:
            out[name] = sorted(int(y) for y in df["year"].dropna().unique())
    return out


def _store_write_errors(fn):
    """``ingest`` with an unwritable store refused before anything is read, and a disk that is full
    or read-only while the new database is written turned into a :class:`StoreError` (exit 2, a
    Chinese message, no traceback); the body has already removed its temp file, so the previous
    database is as it was (SECURITY.md §15)."""
    import functools

    @functools.wraps(fn)
    def guarded(src_dir, db_path, **kwargs):
        db = Path(db_path)
        kept = "本次导入未写入，原数据库保持不变"
        blocked = unwritable(db)
        if blocked is not None:
            what = "数据库文件" if blocked == db.absolute() else "数据库所在的文件夹"
            raise StoreError(f"无法写入数据库 {db}：{what} {blocked} 是只读的（没有写入权限）；{kept}。"
                             "请取消只读或用 --db 指定可写的位置")
        try:
            return fn(src_dir, db_path, **kwargs)
        except OSError as exc:
            raise StoreError(f"导入未完成：{os_error_text(exc)}（数据库 {db}）；{kept}") from None
        except duckdb.Error as exc:
            text = str(exc)
            for marker, reason in (("No space left", "磁盘空间不足"), ("Disk quota", "磁盘配额已用完"),
                                   ("Permission denied", "没有写入权限"), ("Read-only file system", "所在文件系统只读")):
                if marker in text:
                    raise StoreError(f"无法写入数据库 {db}：{reason}（{db.absolute().parent}）；{kept}") from None
            if isinstance(exc, (duckdb.IOException, duckdb.FatalException)):
                raise StoreError(f"无法写入数据库 {db}：磁盘读写出错（{text}）；{kept}") from None
            raise

    return guarded


@_store_write_errors
def ingest(src_dir: str | Path, db_path: str | Path, *, lock_timeout: float = LOCK_TIMEOUT,
           readers: Sequence[Reader] | None = None, rules=None, strict: bool = False) -> IngestSummary:
    """Validate the export folder ``src_dir`` and load it into the DuckDB file ``db_path``.

    ``readers``: how the files are read (default :func:`perflib.ingest.folder.default_readers`).
    ``rules``: the rules (``ingest.severity`` grades each finding kind; default rules if None);
    ``strict``: every finding refuses the export like an error. The findings that do not are loaded
    into table ``findings`` with the data, in the same atomic swap.

    Raises
    ------
    InputError : the folder has errors (every error listed; the database is not touched).
    StoreError : the database cannot be read or written, or another ingest holds it too long.
    """
    src = Path(src_dir)
    db = Path(db_path)
    rules = _rules(rules)
    fingerprint = check_fingerprint(rules, strict)
    if readers is None and db.is_file():
        same = _unchanged(src, db, fingerprint, lock_timeout)
        if same is not None:
            return same
    export = read_export(src, strict=False, readers=default_readers() if readers is None else readers)
    if db.exists() and not db.is_file():
        raise StoreError(f"数据库路径 {db} 不是文件")
    db.parent.mkdir(parents=True, exist_ok=True)
    lock = _lock(db, lock_timeout)
    try:
        _remove_stale_temps(db)
        has_old = db.exists()
        tmp = db.with_name(f".{db.name}.{uuid.uuid4().hex[:12]}{TEMP_MARK}")
        summary = IngestSummary(db_path=db, src_dir=src, files=export.files,
                                rows={n: len(df) for n, df in export.tables.items()},
                                years=_years(export))
        con = None
        try:
            con = duckdb.connect(str(tmp))
            if has_old:
                _attach_old(con, db)
            if export.staged is not None:  # big files: DuckDB reads them into this database
                export.staged.load(con)
                summary.rows, summary.years = export.staged.row_counts(), export.staged.years()
            rows = DatabaseRows(con if has_old else None, export, f"数据库 {db}")
            errors, summary.findings = grade(examine(export, rows, score_maxima(rules)),
                                             severity_of(rules), strict)
            if errors:
                raise ValidationFailed(errors)
            if has_old and _same_as_last_load(con, export, fingerprint):
                summary.unchanged = True
                summary.totals = {n: con.execute(f"SELECT count(*) FROM old.{n}").fetchone()[0]
                                  for n in TABLE_ORDER if n in rows.old_tables}
                con.close()
                con = None
                _remove(tmp)
                return summary
            summary.load_id = _build(con, export, rows, has_old, src, summary.findings, summary, fingerprint)
            summary.totals = {n: con.execute(f"SELECT count(*) FROM {n}").fetchone()[0]
                              for n in TABLE_ORDER}
            if has_old:
                con.execute("DETACH old")
            con.execute("CHECKPOINT")
            con.close()
            con = None
            os.replace(tmp, db)
            stale_wal = db.with_name(db.name + ".wal")  # the old file's log must not replay on the new
            if stale_wal.exists():
                stale_wal.unlink()
            fsync_dir(db.parent)
            return summary
        except BaseException:
            if con is not None:
                try:
                    con.close()
                except Exception:
                    pass
            _remove(tmp)
            raise
    finally:
        lock.release()


def _lock(db: Path, timeout: float) -> FileLock:
    lock = FileLock(str(db) + ".lock", timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise StoreError(f"另一个导入正在写入 {db}（等待 {timeout:g} 秒仍未结束），请稍后重试") from None
    return lock


def _unchanged(src: Path, db: Path, fingerprint: str, lock_timeout: float) -> IngestSummary | None:
    """The summary of an unchanged re-ingest found by hashing alone (:mod:`.unchanged`), or None."""
    lock = _lock(db, lock_timeout)
    try:
        last = unchanged_load(src, db, fingerprint, TABLE_ORDER)
    finally:
        lock.release()
    if last is None:
        return None
    files = [SourceFile(path=f, sha256=h, table=t, sheet=s, rows=n) for f, s, t, h, n in last.rows]
    rows: dict[str, int] = {}
    for f in files:
        rows[f.table] = rows.get(f.table, 0) + int(f.rows or 0)
    return IngestSummary(db_path=db, src_dir=src, files=files, rows=rows, years={}, totals=last.totals,
                         unchanged=True, findings=last.findings)


def _rules(rules):
    from ..rules import load_rules

    return load_rules() if rules is None else rules


@dataclass
class CheckSummary:
    """What :func:`check` found: the files read, rows and years per table, the errors (the same
    list, in the same order, that ``ingest`` into a new database would refuse the folder with) and
    the findings it would load."""

    src_dir: Path
    files: list[SourceFile]
    rows: dict[str, int]
    years: dict[str, list[int]]
    problems: list[Problem]
    findings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No error: ``ingest`` into a new database would load the folder."""
        return not self.problems

    def describe(self) -> str:
        """Errors (as ``ingest`` lists them), then the findings summary, in Chinese."""
        n_files = len({f.path for f in self.files})
        if self.problems:
            head = str(ValidationFailed(self.problems, summary=(
                f"检查了 {n_files} 个文件：有 {max(len(self.problems), getattr(self.problems, 'total', 0))} "
                f"处错误，导入时会被拒绝（请改正后再导入）：")))
        else:
            head = f"检查了 {n_files} 个文件：没有错误，可以导入。"
        return head + "\n" + describe_findings(self.findings)


def check(src_dir: str | Path, *, readers: Sequence[Reader] | None = None, rules=None,
          strict: bool = False) -> CheckSummary:
    """Read and check the export folder ``src_dir`` as :func:`ingest` does, writing no store;
    findings graded as ``ingest`` would grade them (``rules``, ``strict``).

    References are checked within the export only (as for a first load). Big files are staged by
    DuckDB in a temporary database that is removed afterwards.

    Raises
    ------
    InputError : the folder is missing or holds no data file.
    """
    src = Path(src_dir)
    rules = _rules(rules)
    export = read_export(src, strict=False, readers=default_readers() if readers is None else readers)
    rows = {n: len(df) for n, df in export.tables.items()}
    years = _years(export)
    maxima = score_maxima(rules)
    if export.staged is None:
        problems = examine(export, None, maxima)
    else:
        with tempfile.TemporaryDirectory(prefix="perflib-check-") as tmp:
            con = duckdb.connect(str(Path(tmp) / "check.duckdb"))
            try:
                export.staged.load(con)
                rows, years = export.staged.row_counts(), export.staged.years()
                problems = examine(export, None, maxima)
            finally:
                con.close()
    errors, findings = grade(problems, severity_of(rules), strict)
    return CheckSummary(src_dir=src, files=export.files, rows=rows, years=years, problems=errors,
                        findings=findings)
