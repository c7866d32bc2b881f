"""Read an export folder (xlsx/csv with Chinese headers) into typed tables with canonical columns.

The budget system's exports are untidy: GBK csv, full-width digits, money in 万元, 是/否, Excel
serial dates, a trailing 合计 row. This module turns them into one DataFrame per input table (see
``perflib.schema``) with exact values, and remembers where every row came from (file, sheet, row as
the user sees it) so that every problem can be named where the user can find it.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from .exceptions import InputError, Problem
from .schema import (
    BOOL, CODE, DATE, ENUM, ENUM_SYNONYMS, FALSE_WORDS, INT, MONEY, MONEY_UNITS, MONTH,
    NUMBER, TABLE_ORDER, TABLES, TOTAL_LABELS, TRUE_WORDS, VALUE, YEAR, Column, Table,
)

__all__ = [
    "Export", "SourceFile", "read_export", "match_table_name", "ORIGIN_COLUMNS", "EXCEL_ERRORS",
    "parse_money", "parse_date", "parse_header",
]

ORIGIN_COLUMNS = ("_file", "_sheet", "_row")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv",)
EXCEL_ERRORS = frozenset({
    "#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
    "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#UNKNOWN!", "#CONNECT!", "#BUSY!",
})
# Files that are never data: OS metadata, Office lock files, notes beside the exports.
IGNORED_FILE_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
HEADER_SEARCH_ROWS = 10
CENT = Decimal("0.01")
TOTAL_TOLERANCE = Decimal("0.01")  # one fen: float noise in an xlsx total cell is not a mismatch


@dataclass(frozen=True)
class SourceFile:
    """One file (or one sheet of a workbook) that was read as (part of) a table.

    ``path`` is relative to the export folder (posix separators); ``sha256`` is of the whole file's
    bytes (a workbook's sheets share it); ``rows`` counts data rows (blank and 合计 rows excluded);
    ``headers`` maps canonical column names to the header as written in the file.
    """

    path: str
    sha256: str
    table: str
    sheet: str | None
    rows: int
    header_row: int = 1
    headers: dict = field(default_factory=dict, compare=False, hash=False)
    units: dict = field(default_factory=dict, compare=False, hash=False)
    encoding: str | None = None
    total_row: int | None = None


@dataclass
class Export:
    """An export folder, read: typed tables plus where each row came from.

    ``tables`` holds only the tables the folder brings (a payments-only folder has only
    ``payments``); each frame has every canonical column of its table (absent optional columns
    filled with their default) and the origin columns ``_file``, ``_sheet``, ``_row``.
    ``problems`` are those found while reading (unknown files, missing headers, unreadable cells…);
    :func:`perflib.validation.validate` adds the checks across rows and tables.
    """

    src_dir: Path
    tables: dict[str, pd.DataFrame]
    files: list[SourceFile]
    problems: list[Problem] = field(default_factory=list)
    # (table, frame index, column) of cells already reported while reading (not re-reported empty)
    bad_cells: set = field(default_factory=set)
    ignored: list[str] = field(default_factory=list)

    def header(self, table: str, file: str, sheet: str | None, column: str) -> str:
        """The header of ``column`` as written in that file/sheet (the Chinese header if absent)."""
        for f in self.files:
            if f.table == table and f.path == file and f.sheet == sheet:
                return f.headers.get(column, TABLES[table].column(column).header)
        return TABLES[table].column(column).header

    def files_of(self, table: str) -> list[SourceFile]:
        return [f for f in self.files if f.table == table]

    @property
    def sha256s(self) -> frozenset[str]:
        return frozenset(f.sha256 for f in self.files)


# --- names ---------------------------------------------------------------------------------------

def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


_YEAR_PREFIX = re.compile(r"^\d{4}\s*年?度?\s*[-_.\s]*")
_SPLIT_SUFFIX = re.compile(r"[-_.\s]*(?:\(\s*[^()]*\d[^()]*\)|\d+\s*年?度?)$")


def _name_candidates(name: str) -> Iterable[str]:
    text = _nfkc(name)
    yield text
    for _ in range(4):
        shorter = _SPLIT_SUFFIX.sub("", _YEAR_PREFIX.sub("", text)).strip(" -_.")
        if not shorter or shorter == text:
            return
        text = shorter
        yield text


def match_table_name(name: str) -> Table | None:
    """The table a file or sheet name stands for: its Chinese label, an alias or the English name,
    tolerating a year prefix/suffix (``2023年项目``, ``项目2023``) and split-file numbers
    (``支出明细-001``, ``支出明细(2)``)."""
    for cand in _name_candidates(name):
        key = re.sub(r"\s+", "", cand).lower()
        for t in TABLES.values():
            if key in (re.sub(r"\s+", "", _nfkc(n)).lower() for n in t.names):
                return t
    return None


def _is_ignored(path: Path) -> bool:
    name = path.name
    low = name.lower()
    return (name.startswith(("~$", ".", "~")) or low in IGNORED_FILE_NAMES
            or low.startswith("readme") or low.startswith("说明"))


# --- headers -------------------------------------------------------------------------------------

_UNIT_RE = re.compile(r"^(.*?)\(\s*(?:单位\s*[:：]?\s*)?([^()]*?)\s*\)$")
_PREAMBLE_UNIT_RE = re.compile(r"单位\s*[:：]\s*(元|万元|亿元)")


def _header_key(text: str) -> str:
    return re.sub(r"\s+", "", _nfkc(text)).lstrip("*").lower()


def _header_index(table: Table) -> dict[str, str]:
    index: dict[str, str] = {}
    for c in table.columns:
        index[_header_key(c.header)] = c.name
        index[_header_key(c.name)] = c.name
    return index


def parse_header(text: str, table: Table) -> tuple[str | None, str | None]:
    """``(canonical column, unit)`` for a header as written; ``(None, None)`` if not a column of
    ``table``. The unit is what a bracketed suffix says (``年初预算数（万元）`` → 万元), else None."""
    if text is None:
        return None, None
    raw = str(text)
    key = _header_key(raw)
    if not key:
        return None, None
    index = _header_index(table)
    if key in index:
        return index[key], None
    m = _UNIT_RE.match(key)
    if m and m.group(1) in index:
        return index[m.group(1)], m.group(2)
    return None, None


# --- cell parsing --------------------------------------------------------------------------------

class _Bad(Exception):
    """A cell that cannot be read as its column's kind (message says why, in Chinese)."""


def _is_empty(v) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if isinstance(v, str) and not v.strip():
        return True
    return False


_NUMBER_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
_GROUPED_RE = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$")


def _decimal_from_text(text: str, *, percent: bool = False) -> Decimal:
    t = _nfkc(text).replace(" ", "").replace("¥", "").replace("￥", "")
    if percent and t.endswith("%"):
        t = t[:-1]
    if _GROUPED_RE.match(t):
        t = t.replace(",", "")
    if not _NUMBER_RE.match(t):
        raise _Bad("不是数值")
    return Decimal(t)


def _decimal(v, *, percent: bool = False) -> Decimal:
    if isinstance(v, bool):
        raise _Bad("不是数值")
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, float):
        if math.isinf(v):
            raise _Bad("不是有限数值")
        return Decimal(repr(v))
    if isinstance(v, Decimal):
        return v
    if isinstance(v, str):
        return _decimal_from_text(v, percent=percent)
    raise _Bad("不是数值")


def parse_money(v, unit: str | None = None) -> Decimal:
    """A money cell in 元, exact to the fen (the header's unit 元/万元/亿元 applied)."""
    factor = MONEY_UNITS[unit or "元"]
    return (_decimal(v) * factor).quantize(CENT, rounding=ROUND_HALF_UP)


def _number(v) -> float:
    return float(_decimal(v, percent=True))


def _integer(v, suffixes: tuple[str, ...] = ()) -> int:
    if isinstance(v, str):
        t = _nfkc(v)
        for s in suffixes:
            if t.endswith(s):
                t = t[: -len(s)].strip()
                break
        v = t
    d = _decimal(v)
    if d != d.to_integral_value():
        raise _Bad("不是整数")
    return int(d)


_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def _serial_date(x: float) -> dt.date:
    if not 1 <= x < 2958466:
        raise _Bad("不是有效的日期")
    return _EXCEL_EPOCH + dt.timedelta(days=int(x))


def parse_date(v) -> dt.date:
    """A date cell: a real date/datetime, an Excel serial number, or 2023-07-31 / 2023/7/31 /
    2023年7月31日 / 20230731 text."""
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, bool):
        raise _Bad("不是日期")
    if isinstance(v, (int, float)):
        return _serial_date(float(v))
    if isinstance(v, str):
        t = re.sub(r"\s+", " ", _nfkc(v))
        for pat in _DATE_PATTERNS:
            m = pat.match(t)
            if m:
                y, mo, d = (int(g) for g in m.groups()[:3])
                try:
                    return dt.date(y, mo, d)
                except ValueError:
                    raise _Bad("不是有效的日期") from None
        if _NUMBER_RE.match(t):
            return _serial_date(float(t))
    raise _Bad("不是可识别的日期")


_TRUE = {w.lower() for w in TRUE_WORDS}
_FALSE = {w.lower() for w in FALSE_WORDS}


def _bool(v) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and v in (0, 1):
        return bool(v)
    if isinstance(v, str):
        t = _nfkc(v).lower()
        if t in _TRUE:
            return True
        if t in _FALSE:
            return False
    raise _Bad("不是 是/否")


def _plain_number_text(d: Decimal) -> str:
    d = d.normalize()
    text = format(d, "f")
    return "0" if text in ("-0", "") else text


def _code(v) -> str:
    if isinstance(v, bool):
        raise _Bad("不是编码")
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, (dt.date, dt.datetime)):
        raise _Bad("是日期，不是编码")
    return _nfkc(str(v))


def _text(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v).strip()


_ENUM_MAP: dict[str, str] = {}
for _canon, _syns in ENUM_SYNONYMS.items():
    for _s in (_canon, *_syns):
        _ENUM_MAP[re.sub(r"\s+", "", _s)] = _canon
        _ENUM_MAP[re.sub(r"\s+", "", _nfkc(_s))] = _canon


def normalize_enum(v) -> str:
    """An allowed-value cell with spaces removed and synonyms mapped (``>=`` → ``≥``, ``产出`` →
    ``产出指标``); values not allowed are kept as written for validation to report."""
    t = re.sub(r"\s+", "", str(v).strip())
    if t in _ENUM_MAP:
        return _ENUM_MAP[t]
    n = re.sub(r"\s+", "", _nfkc(t))
    return _ENUM_MAP.get(n, n)


def _value(v) -> str:
    """An indicator value: numbers in a plain canonical form (``95``, ``0.5``, ``95%`` → ``95``),
    text as written (trimmed)."""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, (int, float, Decimal)):
        return _plain_number_text(_decimal(v))
    if isinstance(v, (dt.date, dt.datetime)):
        return _text(v)
    t = str(v).strip()
    try:
        return _plain_number_text(_decimal_from_text(t, percent=True))
    except (_Bad, InvalidOperation):
        return t


def _converter(column: Column, unit: str | None) -> Callable[[object], object]:
    kind = column.kind
    if kind == MONEY:
        return lambda v: parse_money(v, unit)
    if kind == NUMBER:
        return _number
    if kind == YEAR:
        return lambda v: _integer(v, ("年度", "年"))
    if kind == MONTH:
        return lambda v: _integer(v, ("月份", "月"))
    if kind == INT:
        return _integer
    if kind == DATE:
        return parse_date
    if kind == BOOL:
        return _bool
    if kind == CODE:
        return _code
    if kind == ENUM:
        return normalize_enum
    if kind == VALUE:
        return _value
    return _text


def _empty_series(kind: str, n: int) -> pd.Series:
    return _typed_series(kind, [None] * n)


def _typed_series(kind: str, values: list) -> pd.Series:
    """A column of parsed values in its pandas dtype (money Decimal/None in object columns, dates
    ``datetime.date``/None, ints nullable Int64, bools nullable boolean, numbers float)."""
    if kind in (INT, YEAR, MONTH):
        return pd.Series(values, dtype="Int64")
    if kind == BOOL:
        return pd.Series(values, dtype="boolean")
    if kind == NUMBER:
        return pd.Series([math.nan if v is None else v for v in values], dtype="float64")
    return pd.Series(values, dtype=object)


# --- reading files -------------------------------------------------------------------------------

@dataclass
class _Sheet:
    """Raw rows of one csv file or worksheet: (row number as the user sees it, cell values)."""

    file: str
    sheet: str | None
    rows: list[tuple[int, tuple]]
    sha256: str
    encoding: str | None = None


def _decode(data: bytes) -> tuple[str, str]:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc), ("utf-8" if enc == "utf-8-sig" else "gb18030")
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes  # only for the rare file that is neither

    best = from_bytes(data).best()
    if best is None:
        raise _Bad("无法识别文件编码（请另存为 UTF-8 或 GBK 编码的 CSV）")
    return str(best), best.encoding


def _read_csv(data: bytes, rel: str, sha: str) -> _Sheet:
    text, encoding = _decode(data)
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = max((",", "\t", ";"), key=first.count) if first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, tuple]] = []
    line = 0
    try:
        for record in reader:
            start = line + 1
            line = reader.line_num
            rows.append((start, tuple(record)))
    except csv.Error as exc:
        raise _Bad(f"第 {line + 1} 行附近 CSV 格式有误（{exc}）") from None
    return _Sheet(rel, None, rows, sha, encoding)


def _read_xlsx(data: bytes, rel: str, sha: str) -> list[_Sheet]:
    import openpyxl  # imported lazily: a csv-only folder does not need it
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException, …
            raise _Bad(f"无法作为 Excel 工作簿打开（{type(exc).__name__}）；请确认是 .xlsx 格式") from None
    sheets = []
    try:
        for ws in wb.worksheets:
            if getattr(ws, "reset_dimensions", None):
                ws.reset_dimensions()  # some exporters write a wrong dimension; read every cell
            rows = [(i, tuple(r)) for i, r in enumerate(ws.iter_rows(values_only=True), 1)]
            sheets.append(_Sheet(rel, ws.title, rows, sha))
    finally:
        wb.close()
    return sheets


def _blank(row: tuple) -> bool:
    for v in row:
        if v is None or v == "":
            continue
        if not _is_empty(v):
            return False
    return True


# --- one sheet → one table part ------------------------------------------------------------------

def _is_total_label(v) -> bool:
    if not isinstance(v, str):
        return False
    key = re.sub(r"\s+", "", _nfkc(v)).rstrip(":")
    return key in {re.sub(r"\s+", "", t) for t in TOTAL_LABELS}


def _fmt_money(amount: Decimal, unit: str) -> str:
    value = amount / MONEY_UNITS[unit]
    return f"{value:,.{2 if unit == '元' else 6}f}".rstrip("0").rstrip(".") + f" {unit}"


@dataclass
class _Part:
    table: Table
    frame: pd.DataFrame
    source: SourceFile
    bad: list[tuple[int, str]]  # (position in frame, column) of cells reported while reading


class _Reader:
    def __init__(self, src_dir: Path):
        self.src_dir = src_dir
        self.problems: list[Problem] = []

    def problem(self, file: str, message: str, **kw) -> None:
        self.problems.append(Problem(file=file, message=message, **kw))

    def _find_header(self, sheet: _Sheet, table: Table) -> tuple[int, str | None]:
        """Position (in ``sheet.rows``) of the header row and a unit stated above it (单位：万元)."""
        index = _header_index(table)
        need = min(2, len(table.columns))
        seen = 0
        first_nonblank = None
        unit = None
        for pos, (_, row) in enumerate(sheet.rows):
            if _blank(row):
                continue
            if first_nonblank is None:
                first_nonblank = pos
            hits = 0
            for v in row:
                if isinstance(v, str):
                    key = _header_key(v)
                    m = _UNIT_RE.match(key)
                    if key in index or (m and m.group(1) in index):
                        hits += 1
            if hits >= need:
                return pos, unit
            for v in row:
                if isinstance(v, str):
                    m = _PREAMBLE_UNIT_RE.search(_nfkc(v))
                    if m:
                        unit = m.group(1)
            seen += 1
            if seen >= HEADER_SEARCH_ROWS:
                break
        return (first_nonblank if first_nonblank is not None else 0), None

    def read_part(self, sheet: _Sheet, table: Table) -> _Part | None:
        where = dict(sheet=sheet.sheet)
        hpos, preamble_unit = self._find_header(sheet, table)
        header_rownum, header = sheet.rows[hpos]
        # map columns
        mapping: dict[str, int] = {}
        headers: dict[str, str] = {}
        units: dict[str, str] = {}
        unknown: list[str] = []
        fatal = False
        for j, h in enumerate(header):
            if _is_empty(h):
                continue
            written = str(h).strip()
            name, unit = parse_header(written, table)
            if name is None:
                unknown.append(written)
                continue
            col = table.column(name)
            if name in mapping:
                self.problem(sheet.file, f"列重复：「{headers[name]}」和「{written}」都对应「{col.header}」",
                             row=header_rownum, column=written, expected="每列只出现一次", **where)
                fatal = True
                continue
            if unit is not None:
                if col.kind != MONEY:
                    pass  # a unit on a non-money column (产出数量（个）) is only a label
                elif unit not in MONEY_UNITS:
                    self.problem(sheet.file, f"无法识别的金额单位「{unit}」", row=header_rownum,
                                 column=written, value=unit, expected="元、万元 或 亿元", **where)
                    fatal = True
                    unit = None
                else:
                    units[name] = unit
            elif col.kind == MONEY:
                units[name] = preamble_unit or "元"
            mapping[name] = j
            headers[name] = written
        for col in table.columns:
            if col.required and col.name not in mapping:
                extra = f"（文件中未识别的列：{'、'.join(unknown)}）" if unknown else ""
                self.problem(sheet.file, f"缺少必需的列「{col.header}」{extra}", row=header_rownum,
                             column=col.header, expected=f"表头「{col.header}」（或英文名 {col.name}）",
                             **where)
                fatal = True
        data = [(n, r) for n, r in sheet.rows[hpos + 1:] if not _blank(r)]
        total = None
        if data:
            n, r = data[-1]
            first = next((v for v in r if not _is_empty(v)), None)
            if _is_total_label(first):
                total = data.pop()
        source = SourceFile(path=sheet.file, sha256=sheet.sha256, table=table.name, sheet=sheet.sheet,
                            rows=len(data), header_row=header_rownum, headers=headers, units=units,
                            encoding=sheet.encoding, total_row=total[0] if total else None)
        if fatal:
            return _Part(table, pd.DataFrame(), source, [])
        if not data:
            self.problem(sheet.file, "没有数据行（只有表头）", row=header_rownum,
                         expected=f"「{table.label}」表的数据", **where)
        rownums = [n for n, _ in data]
        columns: dict[str, pd.Series] = {}
        bad: list[tuple[int, str]] = []
        for col in table.columns:
            if col.name not in mapping:
                fill = col.default
                columns[col.name] = _typed_series(col.kind, [fill] * len(data))
                continue
            j = mapping[col.name]
            convert = _converter(col, units.get(col.name))
            empty = (True, col.default)
            cache: dict = {(type(None), None): empty, (str, ""): empty}
            out = []
            for pos, (n, r) in enumerate(data):
                v = r[j] if j < len(r) else None
                key = (type(v), v)
                hit = cache.get(key)
                if hit is None:
                    hit = empty if _is_empty(v) else self._convert(convert, v)
                    cache[key] = hit
                ok, result = hit
                if ok:
                    out.append(result)
                else:
                    out.append(None)
                    bad.append((pos, col.name))
                    shown = v if not isinstance(v, str) else v.strip()
                    self.problem(sheet.file, result, row=n, column=headers[col.name], value=shown,
                                 expected=_expected(col, units.get(col.name)), **where)
            columns[col.name] = _typed_series(col.kind, out)
        frame = pd.DataFrame(columns)
        frame["_file"] = pd.Series([sheet.file] * len(data), dtype=object)
        frame["_sheet"] = pd.Series([sheet.sheet] * len(data), dtype=object)
        frame["_row"] = pd.Series(rownums, dtype="int64")
        if total is not None:
            self._check_total(sheet, table, total, frame, mapping, headers, units)
        return _Part(table, frame, source, bad)

    @staticmethod
    def _convert(convert, v) -> tuple[bool, object]:
        if isinstance(v, str) and v.strip() in EXCEL_ERRORS:
            return False, f"单元格是 Excel 错误值 {v.strip()}（公式出错）"
        try:
            return True, convert(v)
        except (_Bad, InvalidOperation, ValueError, OverflowError) as exc:
            reason = str(exc) if isinstance(exc, _Bad) else "无法识别"
            return False, f"取值{reason}"

    def _check_total(self, sheet, table, total, frame, mapping, headers, units) -> None:
        n, r = total
        for name in table.money_columns:
            if name not in mapping:
                continue
            j = mapping[name]
            v = r[j] if j < len(r) else None
            if _is_empty(v):
                continue
            unit = units.get(name, "元")
            ok, stated = self._convert(lambda x: parse_money(x, unit), v)
            if not ok:
                self.problem(sheet.file, f"合计行的{stated}", row=n, column=headers[name], value=v,
                             expected=_expected(table.column(name), unit), sheet=sheet.sheet)
                continue
            computed = sum((x for x in frame[name] if x is not None), Decimal("0.00"))
            if abs(computed - stated) > TOTAL_TOLERANCE:
                self.problem(
                    sheet.file,
                    f"合计行与各行之和不一致：合计行为 {_fmt_money(stated, unit)}，"
                    f"各行相加为 {_fmt_money(computed, unit)}（相差 {_fmt_money(stated - computed, unit)}）",
                    row=n, column=headers[name], value=v if not isinstance(v, str) else v.strip(),
                    expected=f"各行之和 {_fmt_money(computed, unit)}", sheet=sheet.sheet)


def _expected(col: Column, unit: str | None) -> str:
    text = col.expected()
    if col.kind == MONEY and unit and unit != "元":
        text += f"（本列单位：{unit}）"
    return text


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_export(src_dir: str | Path, *, strict: bool = True) -> Export:
    """Read every table of an export folder.

    Parameters
    ----------
    src_dir : the folder of ``.xlsx``/``.csv`` files (top level only; hidden files, Office lock
        files ``~$…`` and ``README*`` are ignored).
    strict : raise :class:`InputError` if reading found any problem (default). ``ingest`` passes
        False and lets :func:`perflib.validation.validate` report reading and data problems together.

    Raises
    ------
    InputError : the folder is missing or holds no data file (always), or anything could not be
        read (when ``strict``), listing every problem found.
    """
    src = Path(src_dir)
    if not src.exists():
        raise InputError([Problem(file=str(src), message="文件夹不存在")],
                         summary=f"找不到导出数据文件夹 {src}：")
    if not src.is_dir():
        raise InputError([Problem(file=str(src), message="不是文件夹", expected="存放导出文件的文件夹")],
                         summary=f"{src} 不是文件夹：")
    reader = _Reader(src)
    parts: list[_Part] = []
    ignored: list[str] = []
    candidates = sorted((p for p in src.iterdir() if p.is_file()), key=lambda p: p.name)
    data_files = 0
    for path in candidates:
        rel = path.relative_to(src).as_posix()
        if _is_ignored(path):
            ignored.append(rel)
            continue
        suffix = path.suffix.lower()
        if suffix not in EXCEL_SUFFIXES + CSV_SUFFIXES:
            hint = "请另存为 .xlsx 或 .csv" if suffix in (".xls", ".et", ".ods", ".txt", ".tsv") else \
                "导出文件夹中只应有 .xlsx 或 .csv 数据文件"
            reader.problem(rel, f"无法识别的文件（{hint}）", value=path.name,
                           expected="以表名命名的 .xlsx 或 .csv 文件，如 项目.xlsx")
            continue
        data_files += 1
        data = path.read_bytes()
        sha = _sha256(data)
        try:
            sheets = _read_xlsx(data, rel, sha) if suffix in EXCEL_SUFFIXES else [_read_csv(data, rel, sha)]
        except _Bad as exc:
            reader.problem(rel, str(exc))
            continue
        file_table = match_table_name(path.stem)
        nonempty = [s for s in sheets if any(not _blank(r) for _, r in s.rows)]
        if not nonempty:
            reader.problem(rel, "文件是空的（没有任何内容）")
            continue
        for sheet in nonempty:
            table = (match_table_name(sheet.sheet) if sheet.sheet else None) or file_table
            if table is None:
                where = f"工作表「{sheet.sheet}」" if sheet.sheet else "文件"
                names = "、".join(TABLES[t].label for t in TABLE_ORDER)
                reader.problem(rel, f"无法识别{where}对应哪张表", sheet=sheet.sheet,
                               value=sheet.sheet or path.name,
                               expected=f"文件名或工作表名为表名之一：{names}")
                continue
            part = reader.read_part(sheet, table)
            if part is not None:
                parts.append(part)
    if data_files == 0 and not reader.problems:
        raise InputError([Problem(file=str(src), message="文件夹中没有 .xlsx 或 .csv 数据文件")],
                         summary=f"导出数据文件夹 {src} 是空的：")
    tables: dict[str, pd.DataFrame] = {}
    bad_cells: set = set()
    files: list[SourceFile] = []
    for name in TABLE_ORDER:
        mine = [p for p in parts if p.table.name == name]
        if not mine:
            continue
        frames = []
        offset = 0
        for p in mine:
            files.append(p.source)
            if p.frame.empty and not len(p.frame.columns):
                continue
            frames.append(p.frame)
            bad_cells.update((name, offset + pos, col) for pos, col in p.bad)
            offset += len(p.frame)
        if frames:
            df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
        else:
            df = _empty_frame(TABLES[name])
        tables[name] = df
    export = Export(src_dir=src, tables=tables, files=files, problems=reader.problems,
                    bad_cells=bad_cells, ignored=ignored)
    if strict and export.problems:
        raise InputError(export.problems)
    return export


def _empty_frame(table: Table) -> pd.DataFrame:
    df = pd.DataFrame({c.name: _empty_series(c.kind, 0) for c in table.columns})
    df["_file"] = pd.Series([], dtype=object)
    df["_sheet"] = pd.Series([], dtype=object)
    df["_row"] = pd.Series([], dtype="int64")
    return df

