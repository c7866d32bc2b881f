"""Check an export, read, against the schema and against the database it will be loaded into.

Every problem is found and reported at once (not only the first), each located where the analyst
can find it: file, sheet, row as seen in Excel, the column header as written, the bad value and what
was expected, in Chinese.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Iterable, Protocol

import numpy as np
import pandas as pd

from ..exceptions import InputError, PerflibError, Problem
from .cells import decimal_from_text
from .findings import column_findings, required_exemption, row_findings, score_maxima
from .model import Export
from ..store import CLASSIFIED_PREFIX
from ..schema import (
    ENUM, INT, MONEY, MONTH, NUMBER, RECTIFICATION_DONE, TABLE_ORDER, TABLES, YEAR, Reference, Table,
)

__all__ = ["validate", "examine", "ExistingRows", "ValidationFailed", "Checker", "TABLE_RULES", "MAX_LISTED",
           "QUANTITATIVE_DIRECTIONS", "MONEY_LIMIT", "as_kind", "key_words", "missing_message",
           "dangling_problem", "sort_problems", "MIN_CLASSIFIED_NAME", "reserved_code", "short_secret"]

MAX_LISTED = 200  # problems listed in the error message; the rest are counted
# The largest amount one cell may hold: 1 万亿元 (10^12 元). A whole province's yearly budget is of
# that order, so a single project, payment or cost above it is a unit or typing error; the bound also
# keeps every amount (and sums of millions of them) far inside the store's DECIMAL(18,2).
MONEY_LIMIT = Decimal("1000000000000")
QUANTITATIVE_DIRECTIONS = ("≥", "≤", "=")
# The fewest characters a classified project's name may have. The leak guard (perflib/run/leaks.py)
# finds a name anywhere in an output, as a substring (Chinese has no word boundaries to match on), so a
# name of two or three characters is an ordinary word (项目, 资金, 体育馆, 绩效目标) that headings, labels
# and other projects' names hold: the guard then stops report after report. Four characters is the
# length of the redaction name 涉密项目 itself and of the shortest specific project names.
MIN_CLASSIFIED_NAME = 4


def reserved_code(code) -> bool:
    """Whether a project code begins with the redaction label (``涉密项目-``, the prefix of the
    surrogates the store gives classified projects): such a code would be folded into the
    涉密项目（合计） line, or be taken by the leak guard for another project's surrogate."""
    return isinstance(code, str) and code.startswith(CLASSIFIED_PREFIX)


def short_secret(name, classified) -> bool:
    """Whether a classified project's name is too short for the leak guard to scan safely."""
    return (not _na(classified) and bool(classified) and isinstance(name, str)
            and len(name) < MIN_CLASSIFIED_NAME)


class ExistingRows(Protocol):
    """What validation needs from the database a load goes into: rows that survive the load."""

    label: str  # how to name the database in a problem (e.g. "数据库 data/perf.duckdb")

    def keys(self, table: str, columns: tuple[str, ...]) -> pd.DataFrame:
        """Distinct ``columns`` (a frame) over the rows of ``table`` that this load keeps."""


class ValidationFailed(InputError):
    """An :class:`InputError` whose message lists at most :data:`MAX_LISTED` problems (all of them
    stay in ``.problems``), so that a badly wrong folder still gives a readable report."""

    def __init__(self, problems: list[Problem], summary: str | None = None):
        self.problems = list(problems)
        n = max(len(self.problems), getattr(problems, "total", 0))  # bulk: only the first are listed
        head = summary or f"导入数据有 {n} 处问题，未写入数据库（原数据库保持不变）："
        lines = [head] + [f"  {i}. {p}" for i, p in enumerate(self.problems[:MAX_LISTED], 1)]
        if n > MAX_LISTED:
            lines.append(f"  …… 另有 {n - MAX_LISTED} 处问题未列出（请先改正以上问题后重新导入）")
        PerflibError.__init__(self, "\n".join(lines))


def _na(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and v != v)


def _clean(v):
    return None if _na(v) else v


def _shown(v):
    if isinstance(v, Decimal):
        return f"{v:,.2f}"
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


class Checker:
    """The checks, each worded where the analyst finds the row; both readers run them (the bulk
    reader on the rows its SQL finds offending): :meth:`cells` (required, allowed values, ranges,
    amounts), :meth:`keys`, the per-table rules of :data:`TABLE_RULES`, :meth:`references` and
    :meth:`streets`. Problems collect in ``problems``."""

    def __init__(self, export: Export, existing: ExistingRows | None):
        self.export = export
        self.existing = existing
        self.problems: list[Problem] = []

    def at(self, table: Table, df: pd.DataFrame, i: int, column: str | None, message: str,
           value=None, expected: str | None = None) -> None:
        file, sheet, row = df.at[i, "_file"], _clean(df.at[i, "_sheet"]), int(df.at[i, "_row"])
        header = self.export.header(table.name, file, sheet, column) if column else None
        self.problems.append(Problem(file=file, sheet=sheet, row=row, column=header, message=message,
                                     value=_shown(value), expected=expected))

    def place(self, table: Table, df: pd.DataFrame, i: int) -> str:
        sheet = _clean(df.at[i, "_sheet"])
        where = f"文件 {df.at[i, '_file']}" + (f" 工作表 {sheet}" if sheet else "")
        return f"{where} 第 {int(df.at[i, '_row'])} 行"

    # --- cell checks ----------------------------------------------------------------------------
    def cells(self, table: Table, df: pd.DataFrame) -> None:
        bad = self.export.bad_cells
        for col in table.columns:
            series = df[col.name]
            present = series.notna()
            if not col.nullable:
                empty = ~present
                exempt = required_exemption(table.name, col.name)
                if exempt is not None:  # a finding there (a 定性 target without 指标值), not an error
                    empty &= ~df[exempt[0]].isin(list(exempt[1]))
                for i in _positions(empty):
                    if (table.name, i, col.name) not in bad:
                        self.at(table, df, i, col.name, "必填项为空", expected=col.expected())
            if col.kind == ENUM:
                wrong = present & ~series.isin(list(col.allowed))
                for i in _positions(wrong):
                    self.at(table, df, i, col.name, "不是允许的取值", series.iat[i], col.expected())
            if col.kind in (MONEY, NUMBER, INT, YEAR, MONTH) and (
                    col.minimum is not None or col.maximum is not None):
                values = series[present]
                if col.minimum is not None:
                    lo = as_kind(col.minimum, col.kind)
                    msg = "不能为负数" if col.minimum == 0 else f"小于允许的最小值 {col.minimum:g}"
                    for i in _positions(_flags(values, lambda v: v < lo), len(df)):
                        self.at(table, df, i, col.name, msg, series.iat[i], col.expected())
                if col.maximum is not None:
                    hi = as_kind(col.maximum, col.kind)
                    for i in _positions(_flags(values, lambda v: v > hi), len(df)):
                        self.at(table, df, i, col.name, f"超过允许的最大值 {col.maximum:g}", series.iat[i],
                                col.expected())
            if col.kind == MONEY:
                values = series[present]
                for i in _positions(_flags(values, lambda v: abs(v) >= MONEY_LIMIT), len(df)):
                    self.at(table, df, i, col.name, "金额达到或超过 1 万亿元，不可信（请检查单位 元/万元 "
                            "或是否多输了数字）", series.iat[i], f"{col.expected()}，小于 1 万亿元")

    # --- unique keys ----------------------------------------------------------------------------
    def keys(self, table: Table, df: pd.DataFrame) -> None:
        if not table.key or df.empty:
            return
        key = list(table.key)
        later = df.duplicated(subset=key, keep="first")
        if not later.any():
            return
        groups = df.groupby(key, dropna=False, sort=False).ngroup()
        first_of = {}
        for i, g in enumerate(groups.tolist()):
            first_of.setdefault(g, i)
        names = "+".join(table.column(c).header for c in table.key)
        for i in _positions(later):
            j = first_of[groups.iat[i]]
            shown = "，".join(f"{table.column(c).header}={'（空）' if _na(df[c].iat[i]) else df[c].iat[i]}"
                             for c in table.key)
            self.at(table, df, i, table.key[0], f"与{self.place(table, df, j)}重复（{names} 应唯一）",
                    shown, f"每个 {names} 只出现一行")

    # --- table-specific rules -------------------------------------------------------------------
    def payments(self, table: Table, df: pd.DataFrame) -> None:
        """A payment lies in its year, and not after today (the day of the load is the latest date
        an export can know a payment of; a later one was typed wrong or is only planned)."""
        dates, years = df["pay_date"].tolist(), df["year"].tolist()
        today = dt.date.today()
        for i, (d, y) in enumerate(zip(dates, years)):
            if _na(d) or _na(y):
                continue
            y = int(y)
            if d.year != y:
                self.at(table, df, i, "pay_date", f"支付日期不在所属年度 {y} 年内", d.isoformat(),
                        f"{y}-01-01 至 {y}-12-31 之间的日期（与「年度」一致）")
            elif d > today:
                self.at(table, df, i, "pay_date", f"支付日期晚于今天（{today.isoformat()}），尚未发生的支付不能导入",
                        d.isoformat(), f"不晚于 {today.isoformat()} 的实际支付日期")

    def targets(self, table: Table, df: pd.DataFrame) -> None:
        for i, (direction, value) in enumerate(zip(df["direction"].tolist(), df["target_value"].tolist())):
            if direction in QUANTITATIVE_DIRECTIONS and not _na(value) and not _numeric(value):
                self.at(table, df, i, "target_value", f"指标方向为「{direction}」的定量指标，指标值应为数值",
                        value, "数值（如 95；百分比写 95 并在计量单位中写 %），文字目标请把指标方向写为 定性")

    def projects(self, table: Table, df: pd.DataFrame) -> None:
        """A project code does not begin with the redaction label; a classified project's name is
        long enough for the leak guard (:data:`MIN_CLASSIFIED_NAME`)."""
        for i, code in enumerate(df["project_id"].tolist()):
            if reserved_code(code):
                self.at(table, df, i, "project_id",
                        f"项目编码以「{CLASSIFIED_PREFIX}」开头：这是报告中涉密项目的替代编码所用的保留标记，"
                        f"该项目会被并入「涉密项目（合计）」行，使合计不再等于涉密项目的金额", code,
                        f"不以「{CLASSIFIED_PREFIX}」开头的项目编码")
        for i, (name, flag) in enumerate(zip(df["project_name"].tolist(), df["is_classified"].tolist())):
            if short_secret(name, flag):
                self.at(table, df, i, "project_name",
                        f"涉密项目的名称只有 {len(name)} 个字，太短：防泄密检查在报告全文中查找涉密项目名称，"
                        f"这样短的名称是常用词，会使大量报告因疑似泄密而无法生成", name,
                        f"至少 {MIN_CLASSIFIED_NAME} 个字的完整项目名称")

    def rectifications(self, table: Table, df: pd.DataFrame) -> None:
        """A 完成日期 only on a done item, not before 1 January of the year the problem was found
        and not after today; a 整改期限 not before that 1 January (a date the ledger cannot hold)."""
        today = dt.date.today()
        rows = zip(df["year"].tolist(), df["status"].tolist(), df["date_done"].tolist(), df["deadline"].tolist())
        for i, (y, status, done, deadline) in enumerate(rows):
            if _na(y):
                continue
            start = dt.date(int(y), 1, 1)
            if not _na(done):
                if not _na(status) and status != RECTIFICATION_DONE:
                    self.at(table, df, i, "date_done", f"整改状态为「{status}」却填了完成日期", done.isoformat(),
                            "整改状态为 已整改 时才填完成日期（未完成的问题完成日期为空）")
                elif done < start:
                    self.at(table, df, i, "date_done", f"完成日期早于发现问题的年度 {int(y)} 年", done.isoformat(),
                            f"不早于 {start.isoformat()} 的日期")
                elif done > today:
                    self.at(table, df, i, "date_done", f"完成日期晚于今天（{today.isoformat()}），尚未完成的整改不能记为已整改",
                            done.isoformat(), f"不晚于 {today.isoformat()} 的实际完成日期")
            if not _na(deadline) and deadline < start:
                self.at(table, df, i, "deadline", f"整改期限早于发现问题的年度 {int(y)} 年", deadline.isoformat(),
                        f"不早于 {start.isoformat()} 的日期")

    def table_rules(self, table: Table, df: pd.DataFrame) -> None:
        """The rules of :data:`TABLE_RULES` that apply to ``table``."""
        for rule in TABLE_RULES.get(table.name, ()):
            getattr(self, rule)(table, df)

    # --- references -----------------------------------------------------------------------------
    def target_keys(self, ref: Reference) -> set[tuple[str, ...]]:
        """Distinct key tuples of the reference's target, in this export or kept in the database,
        as strings (so that Int64 years from a file and INTEGER years from DuckDB compare equal).
        A Python set: the exports that take this path are small, where pandas merges cost more."""
        keys: set[tuple[str, ...]] = set()
        target = self.export.tables.get(ref.target)
        if target is not None and len(target):
            keys.update(_key_texts(target, ref.target_columns)[1])
        if self.existing is not None:
            old = self.existing.keys(ref.target, ref.target_columns)
            if len(old):
                keys.update(_key_texts(old, ref.target_columns)[1])
        return keys

    def references(self) -> None:
        unread = getattr(self.export, "unread_tables", set())
        target_sets: dict[tuple, set[tuple[str, ...]]] = {}  # seven references share the projects' key

        def known_of(ref: Reference) -> set[tuple[str, ...]]:
            at = (ref.target, tuple(ref.target_columns))
            if at not in target_sets:
                target_sets[at] = self.target_keys(ref)
            return target_sets[at]

        for name in TABLE_ORDER:
            table = TABLES[name]
            for ref in table.references:
                if ref.target in unread:
                    continue  # its file could not be read: that problem is reported, not each row
                df = self.export.tables.get(name)
                target_label = TABLES[ref.target].label
                if df is not None and len(df):
                    for i, key in _missing(df, ref.columns, known_of(ref)):
                        self.at(table, df, i, ref.columns[0], missing_message(table, ref, key),
                                key[0], f"「{target_label}」表（本次导入或数据库中已有）中存在的"
                                        f"{key_words(ref)}")
                # rows already in the database that this load would leave dangling
                if self.existing is not None and ref.target in self.export.tables:
                    old = self.existing.keys(name, ref.columns)
                    for _, key in _missing(old, ref.columns, known_of(ref)):
                        self.problems.append(dangling_problem(self.existing.label, table, ref, key))

    def streets(self) -> None:
        df = self.export.tables.get("street_fiscal")
        if df is None or df.empty:
            return
        table = TABLES["street_fiscal"]
        depts = self.export.tables.get("departments")
        if "departments" in getattr(self.export, "unread_tables", set()):
            return
        flags: dict = {}
        if depts is not None:
            flags = {c: bool(s) if not _na(s) else False
                     for c, s in zip(depts["dept_code"].tolist(), depts["is_street"].tolist()) if not _na(c)}
        elif self.existing is not None:
            old = self.existing.keys("departments", ("dept_code", "is_street"))
            flags = {c: bool(s) if not _na(s) else False
                     for c, s in zip(old["dept_code"].tolist(), old["is_street"].tolist())}
        names = {}
        if depts is not None:
            names = dict(zip(depts["dept_code"].tolist(), depts["dept_name"].tolist()))
        for i, code in enumerate(df["dept_code"].tolist()):
            if _na(code) or code not in flags or flags[code]:
                continue  # a missing department is reported as a reference problem
            name = names.get(code)
            self.at(table, df, i, "dept_code",
                    f"「{name or code}」不是街道（「部门」表中该部门的「是否街道」不是 是）", code,
                    "「部门」表中「是否街道」为 是 的街道编码")


# The rules one table has beyond the cell and key checks: Checker method names, by table.
TABLE_RULES: dict[str, tuple[str, ...]] = {"payments": ("payments",), "targets": ("targets",),
                                           "projects": ("projects",), "rectifications": ("rectifications",)}


def _positions(mask: pd.Series, n: int | None = None) -> list[int]:
    """Positions (0-based, as in the frame) where ``mask`` is true; ``mask`` may be a subset
    (its index labels are then positions of a RangeIndex frame)."""
    if n is not None:
        return [int(i) for i in mask.index[mask.to_numpy(dtype=bool)]]
    return [int(i) for i in (mask.to_numpy(dtype=bool)).nonzero()[0]]


def _flags(values: pd.Series, test) -> pd.Series:
    if values.dtype == object:
        return pd.Series([bool(test(v)) for v in values.tolist()], index=values.index, dtype=bool)
    return test(values).fillna(False).astype(bool)


def _key_texts(frame: pd.DataFrame, columns) -> tuple[list[int], list[tuple[str, ...]]]:
    """Positions of the rows of ``frame`` whose ``columns`` are all filled, and those keys as
    tuples of strings (``tolist`` gives integer columns as Python ints, so 2023 reads "2023" from
    an Int64 file column and an INTEGER database column alike)."""
    empty = np.logical_or.reduce([frame[c].isna().to_numpy(dtype=bool) for c in columns])
    texts = [[str(v) for v in frame[c].tolist()] for c in columns]
    if not empty.any():
        return list(range(len(frame))), list(zip(*texts))
    positions = (~empty).nonzero()[0].tolist()
    return positions, [tuple(t[i] for t in texts) for i in positions]


def _missing(df: pd.DataFrame, columns: tuple[str, ...], known: set[tuple[str, ...]]) -> list[tuple[int, tuple]]:
    """(position, key) of rows of ``df`` whose non-empty ``columns`` are not among ``known``."""
    if df is None or not len(df):
        return []
    positions, keys = _key_texts(df, columns)
    absent = [i for i, key in zip(positions, keys) if key not in known]
    if not absent:
        return []
    sub = df[list(columns)]
    return [(i, tuple(_clean(v) for v in sub.iloc[i].tolist())) for i in absent]


def as_kind(bound: float, kind: str):
    """A column's bound (from the schema) as a value of the column's kind (Decimal, int, float)."""
    if kind == MONEY:
        return Decimal(str(bound))
    if kind in (INT, YEAR, MONTH):
        return int(bound)
    return float(bound)


def _numeric(value) -> bool:
    try:
        decimal_from_text(str(value), percent=True)
        return True
    except Exception:
        return False


def key_words(ref: Reference) -> str:
    """The headers of a reference's target key, joined with + (项目编码+年度)."""
    t = TABLES[ref.target]
    return "+".join(t.column(c).header for c in ref.target_columns)


def _describe_key(ref: Reference, key: tuple) -> str:
    t = TABLES[ref.target]
    parts = [f"{t.column(c).header}「{v}」" for c, v in zip(ref.target_columns, key)]
    return "、".join(parts)


def missing_message(table: Table, ref: Reference, key: tuple) -> str:
    """The message for a row whose reference ``key`` is not in the target table."""
    target = TABLES[ref.target]
    if len(key) == 2 and ref.target_columns[1] == "year":
        return f"{target.column(ref.target_columns[0]).header}「{key[0]}」在 {key[1]} 年的「{target.label}」表中不存在"
    return f"{_describe_key(ref, key)}在「{target.label}」表中不存在"


def dangling_problem(label: str, table: Table, ref: Reference, key: tuple) -> Problem:
    """A row the database keeps (``label``: where it came from) whose reference ``key`` this load
    would remove: its target table is replaced by one without that key."""
    target_label = TABLES[ref.target].label
    return Problem(
        file=label, sheet=None, row=None, column=table.column(ref.columns[0]).header,
        message=f"数据库中已有的「{table.label}」数据引用了"
                f"{_describe_key(ref, key)}，本次导入的「{target_label}」表中没有它",
        value=key[0],
        expected=f"本次导入的「{target_label}」表包含该{key_words(ref)}，或同时导入新的「{table.label}」表")


def examine(export: Export, existing: ExistingRows | None = None, maxima: dict[str, float] | None = None
            ) -> list[Problem]:
    """Every problem of ``export``, errors and findings (``Problem.kind`` set), sorted: those found
    while reading plus required values, allowed values, ranges, unique keys, payment dates within
    their year, numeric targets, street codes, referential integrity against ``existing`` (the
    database rows the load keeps; None = the export is the whole database), and the content gaps of
    :mod:`.findings` (``maxima``: the bounds of its score rules, default rules if None)."""
    maxima = score_maxima() if maxima is None else maxima
    if export.staged is not None:  # rows staged by a reader (DuckDB): it runs the same checks in SQL
        return export.staged.validate(existing, maxima)
    checker = Checker(export, existing)
    found: list[Problem] = []
    for name in TABLE_ORDER:
        df = export.tables.get(name)
        if df is None or df.empty:
            continue
        table = TABLES[name]
        checker.cells(table, df)
        checker.keys(table, df)
        checker.table_rules(table, df)
        found += row_findings(export, table, df, maxima)
    checker.references()
    checker.streets()
    return sort_problems([*export.problems, *checker.problems, *found, *column_findings(export)])


def validate(export: Export, existing: ExistingRows | None = None) -> list[Problem]:
    """The errors of ``export`` (problems without a finding kind; see :func:`examine`). Never
    raises for data problems; an empty list means nothing but findings stands in the way."""
    problems = examine(export, existing)
    errors = [p for p in problems if p.kind is None]
    total = getattr(problems, "total", None)
    if total is not None:
        kept = type(problems)(errors)
        kept.total = total - (len(problems) - len(errors))
        return kept
    return errors


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Problems in the order they are listed: by file, sheet, row (stable otherwise)."""
    return sorted(problems, key=lambda p: (p.file, p.sheet or "", p.row if p.row is not None else -1))
