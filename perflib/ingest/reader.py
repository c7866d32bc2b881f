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
from html.parser import HTMLParser
import math
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from ..exceptions import InputError, Problem
from ..files import sha256_bytes
from ..schema import (
    BOOL, CODE, DATE, ENUM, ENUM_SYNONYMS, FALSE_WORDS, INT, MONEY, MONEY_UNITS, MONTH,
    NUMBER, TABLE_ORDER, TABLES, TOTAL_LABELS, TRUE_WORDS, VALUE, YEAR, Column, Table,
)

__all__ = [
    "Export", "SourceFile", "read_export", "match_table_name", "ORIGIN_COLUMNS", "EXCEL_ERRORS",
    "parse_money", "parse_date", "parse_header",
]

ORIGIN_COLUMNS = ("_file", "_sheet", "_row")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
HTML_EXCEL_SUFFIXES = (".xls",)  # read only when the file is really an HTML table (or a renamed .xlsx)
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
    :func:`perflib.ingest.checks.validate` adds the checks across rows and tables.
    """

    src_dir: Path
    tables: dict[str, pd.DataFrame]
    files: list[SourceFile]
    problems: list[Problem] = field(default_factory=list)
    # (table, frame index, column) of cells already reported while reading (not re-reported empty)
    bad_cells: set = field(default_factory=set)
    ignored: list[str] = field(default_factory=list)
    # tables with a file, sheet or header that could not be read: checks of references into them
    # would only repeat that problem row by row, so validation skips them
    unread_tables: set = field(default_factory=set)
    # big files read by DuckDB (perflib.ingest.bulk.BulkExport; ``read_export(bulk=True)``), else None
    bulk: object = field(default=None, compare=False, repr=False)

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


_NOTES_NAME = re.compile(r"^(?:填表|编制|导出)?(?:说明|须知|注意事项)|^readme", re.I)


def _is_notes_name(name: str) -> bool:
    """A sheet of instructions beside the data (填表说明, 说明, 须知, README…)."""
    return bool(_NOTES_NAME.match(_nfkc(name)))


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
    """A cell that cannot be read as its column's kind (message says why, in Chinese); for a whole
    file, ``row``/``column`` locate the trouble where known."""

    def __init__(self, message: str = "", row: int | None = None, column: str | None = None):
        super().__init__(message)
        self.row = row
        self.column = column


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
# 1.2E+06, 3.70112E+17: how Excel shows a long number in a narrow General cell; saved to CSV like
# that, the digits beyond the shown ones are gone, so the value is refused rather than guessed.
_SCIENTIFIC_RE = re.compile(r"^[+-]?\d+(?:\.\d+)?[eE][+-]?\d+$")
_SCIENTIFIC_MESSAGE = ("是科学计数法（Excel 显示长数字时的写法，另存为 CSV 后多出的位数已丢失）；"
                       "请把该列设为数值或文本格式后重新导出")
_MONEY_SUFFIX_RE = re.compile(r"^(.*?)\s*(万元|亿元|千元|元)$")


def _decimal_from_text(text: str, *, percent: bool = False) -> Decimal:
    t = _nfkc(text).replace(" ", "").replace("¥", "").replace("￥", "")
    if percent and t.endswith("%"):
        t = t[:-1]
    if _GROUPED_RE.match(t):
        t = t.replace(",", "")
    if not _NUMBER_RE.match(t):
        raise _Bad(_SCIENTIFIC_MESSAGE if _SCIENTIFIC_RE.match(t) else "不是数值")
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
    """A money cell in 元, exact to the fen (the header's unit 元/万元/亿元 applied). A cell may repeat
    its column's unit (``300,000.00元``); another unit in a cell (``12万元`` in a 元 column) is refused,
    never converted cell by cell."""
    unit = unit or "元"
    if isinstance(v, str) and v.rstrip().endswith("元"):
        m = _MONEY_SUFFIX_RE.match(_nfkc(v))
        if m and m.group(2) != unit:
            raise _Bad(f"带单位「{m.group(2)}」，与本列的单位「{unit}」不一致（不逐格换算单位）；请去掉单位，"
                       f"把整列换算为同一单位，单位写在表头，如「年初预算数（万元）」")
        if m:
            v = m.group(1)
    factor = MONEY_UNITS[unit]
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
    if not -2**63 <= d < 2**63:  # beyond a 64-bit integer column (found by the reader fuzzing)
        raise _Bad("过大，不是有效的整数")
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
    text = _nfkc(str(v))
    if _SCIENTIFIC_RE.match(text) and "." in text:
        raise _Bad(_SCIENTIFIC_MESSAGE.replace("数值或文本", "文本"))
    return text


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
    hidden: bool = False
    # (row, column index) → formula, of formula cells that hold no computed value
    uncached: dict = field(default_factory=dict)


def _non_ascii_lines(data: bytes):
    """``(line number, whether it decodes as UTF-8)`` for each line (1-based) holding non-ASCII bytes."""
    for i, line in enumerate(data.split(b"\n"), 1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            yield i, True
        except UnicodeDecodeError:
            yield i, False


def _mixed_utf8_lines(data: bytes) -> list[int]:
    """Line numbers (1-based) that are not UTF-8 in a file that is otherwise UTF-8 with Chinese text
    (a row pasted from a GBK file); empty when the file is not mostly UTF-8."""
    good, bad = 0, []
    for i, ok in _non_ascii_lines(data):
        if ok:
            good += 1
        else:
            bad.append(i)
    return bad if bad and good > len(bad) else []


def _garbled_column(data: bytes, line: int) -> str | None:
    """The header (first line) of the first field of ``line`` that is not UTF-8."""
    lines = data.split(b"\n")
    head = lines[0].decode("utf-8", errors="replace").lstrip("\ufeff").replace("\r", "")
    delimiter = max((",", "\t", ";"), key=head.count)
    try:
        names = next(csv.reader([head], delimiter=delimiter), [])
        bad = lines[line - 1].decode("utf-8", errors="replace").replace("\r", "")
        cells = next(csv.reader([bad], delimiter=delimiter), [])
    except csv.Error:  # a line that is not a whole record (a quoted cell spanning lines)
        return None
    j = next((j for j, c in enumerate(cells) if "\ufffd" in c), None)
    return names[j].strip() if j is not None and j < len(names) else None


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode 文本": UTF-16 with a BOM
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        bad = _mixed_utf8_lines(data)
        if bad:
            lines = "、".join(str(i) for i in bad[:5]) + ("等" if len(bad) > 5 else "")
            raise _Bad(f"编码混杂：文件是 UTF-8 编码，但第 {lines} 行不是（像是从 GBK 编码的文件粘贴来的），"
                       f"按任一编码读取都会出现乱码；请在 Excel 或编辑器中把这些行重新输入或整体另存为 UTF-8",
                       row=bad[0], column=_garbled_column(data, bad[0]))
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
        raise _Bad(f"第 {line + 1} 行附近 CSV 格式有误（{exc}）", row=line + 1) from None
    if rows:
        start, last = rows[-1]
        width = max(2, len(rows[0][1]))
        swallowed = max((c.count("\n") for c in last
                         if any(ln.count(delimiter) >= width - 1 for ln in c.split("\n")[1:])), default=0)
        if swallowed:  # a quote opened and never closed: the rest of the file became one cell
            raise _Bad(f"第 {start} 行有一个没有配对的引号（\"），从这里到文件末尾的 {swallowed + 1} 行"
                       f"被读成了一个单元格；请删除或补全这个引号", row=start)
    return _Sheet(rel, None, rows, sha, encoding)


_BROKEN_WORKBOOK = "无法作为 Excel 工作簿打开（文件已损坏或不完整：{}）；请重新导出，或在 Excel 中打开后另存为 .xlsx"


def _workbook_rows(data: bytes, *, data_only: bool) -> list[tuple[str, str, list]]:
    """(title, state, rows) of every worksheet; rows numbered from 1 as in Excel."""
    import openpyxl  # imported lazily: a csv-only folder does not need it
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)
        except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException, …
            raise _Bad(_BROKEN_WORKBOOK.format(type(exc).__name__)) from None
        out = []
        try:
            for ws in wb.worksheets:
                if getattr(ws, "reset_dimensions", None):
                    ws.reset_dimensions()  # some exporters write a wrong dimension; read every cell
                rows = [(i, tuple(r)) for i, r in enumerate(ws.iter_rows(values_only=True), 1)]
                out.append((ws.title, getattr(ws, "sheet_state", "visible"), rows))
        except Exception as exc:  # a damaged part inside a readable zip (bad XML, CRC error, …)
            raise _Bad(_BROKEN_WORKBOOK.format(type(exc).__name__)) from None
        finally:
            wb.close()
    return out


_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _has_formulas(data: bytes) -> bool:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            if not name.startswith("xl/worksheets/"):
                continue
            tail = b""
            with zf.open(name) as fh:
                while chunk := fh.read(1 << 20):
                    if _FORMULA_TAG.search(tail + chunk):
                        return True
                    tail = chunk[-8:]
    return False


def _read_xlsx(data: bytes, rel: str, sha: str) -> list[_Sheet]:
    sheets = [_Sheet(rel, title, rows, sha, hidden=state != "visible")
              for title, state, rows in _workbook_rows(data, data_only=True)]
    try:
        formulas = _has_formulas(data)
    except Exception:
        formulas = False
    if formulas:
        # A formula never calculated (a workbook written by a program, not saved by Excel) has no
        # value: reading values only, it looks empty. Find those cells to name them.
        for sheet, (_, _, frows) in zip(sheets, _workbook_rows(data, data_only=False)):
            for (n, values), (_, formulas_row) in zip(sheet.rows, frows):
                for j, f in enumerate(formulas_row):
                    is_formula = (isinstance(f, str) and f.startswith("=")) or \
                        type(f).__name__ in ("ArrayFormula", "DataTableFormula")
                    if is_formula and (j >= len(values) or values[j] is None):
                        sheet.uncached[(n, j)] = getattr(f, "text", f)
    return sheets


class _HtmlTable(HTMLParser):
    """The rows of the tables of an HTML page (what some systems save as an "Excel" .xls/.xlsx)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows: list[tuple] = []
        self.row: list | None = None
        self.cell: list | None = None
        self.span = 1

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._end_row()
            self.row = []
        elif tag in ("td", "th"):
            self._end_cell()
            if self.row is None:
                self.row = []
            self.cell = []
            try:
                self.span = min(max(int(dict(attrs).get("colspan") or 1), 1), 1000)
            except ValueError:
                self.span = 1
        elif tag == "br" and self.cell is not None:
            self.cell.append("\n")

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._end_cell()
        elif tag in ("tr", "table"):
            self._end_row()

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)

    def _end_cell(self):
        if self.cell is not None and self.row is not None:
            self.row.append("".join(self.cell).strip())
            self.row.extend([""] * (self.span - 1))
        self.cell = None

    def _end_row(self):
        self._end_cell()
        if self.row is not None:
            self.rows.append(tuple(self.row))
        self.row = None


def _read_html(data: bytes, rel: str, sha: str) -> _Sheet:
    m = re.search(rb"charset\s*=\s*[\"']?([\w-]+)", data[:4096], re.I)
    declared = m.group(1).decode("ascii").lower() if m else None
    if declared in ("gbk", "gb2312", "gb18030", "x-gbk"):
        declared = "gb18030"
    text = None
    for enc in ([declared] if declared else []) + ["utf-8-sig", "gb18030"]:
        try:
            text = data.decode(enc)
            encoding = enc
            break
        except (UnicodeDecodeError, LookupError):
            continue
    if text is None:
        raise _Bad("无法识别网页表格的编码；请在 Excel 中打开后另存为 .xlsx")
    parser = _HtmlTable()
    try:
        parser.feed(text)
        parser.close()
    except Exception as exc:
        raise _Bad(f"网页表格无法解析（{type(exc).__name__}）；请在 Excel 中打开后另存为 .xlsx") from None
    parser._end_row()
    rows = [(i, r) for i, r in enumerate(parser.rows, 1)]
    return _Sheet(rel, None, rows, sha, "utf-8" if encoding == "utf-8-sig" else encoding)


OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")


def _is_text(head: bytes) -> bool:
    """The start of a file is text (UTF-8 or GBK, no NUL bytes), not a binary format."""
    if b"\x00" in head:
        return False
    for enc in ("utf-8", "gb18030"):
        for cut in range(4):  # the sample may end inside a character
            try:
                head[:len(head) - cut].decode(enc)
                return True
            except UnicodeDecodeError:
                continue
    return False
_ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")


def _read_workbook_file(data: bytes, rel: str, sha: str, suffix: str) -> list[_Sheet]:
    """A .xlsx/.xlsm/.xls file read by what it holds, not by its name: a zip is a workbook; an HTML
    table (what some budget systems export as "Excel") is read as a table; an encrypted or an old
    binary workbook, or text, is refused with what to do."""
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, rel, sha)
    if data.startswith(OLE2_MAGIC[:4]):
        if _ENCRYPTED_MARK in data:
            raise _Bad("工作簿设置了打开密码（已加密），无法读取：请在 Excel 中打开，去掉密码（文件 → 信息 → "
                       "保护工作簿 → 用密码进行加密，清空密码）后保存")
        raise _Bad("是旧版 Excel 97-2003 二进制格式（.xls），无法读取：请另存为 .xlsx 或 .csv"
                   "（在 Excel 中打开 → 另存为 → Excel 工作簿）")
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise _Bad("文件是空的（没有任何内容）")
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<") and re.search(rb"<table[\s>]", data, re.I):
        return [_read_html(data, rel, sha)]
    if _is_text(data[:4096]) and not head.startswith(b"<"):
        raise _Bad(f"扩展名是 {suffix}，但内容是纯文本（像是 CSV）：请把扩展名改为 .csv，"
                   f"或在 Excel 中打开后另存为 .xlsx")
    raise _Bad(_BROKEN_WORKBOOK.format("不是 Excel 工作簿"))


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


_SUBTOTAL_LABELS = frozenset({"小计"})
_UNIT_COLUMN_KEYS = frozenset({"单位", "金额单位", "货币单位", "计量单位"})
_CELL_MONEY_UNITS = frozenset({*MONEY_UNITS, "千元"})
_TOTAL_VALUE_KINDS = (MONEY, NUMBER, INT, YEAR, MONTH)
_PLACEHOLDERS = frozenset({"-", "--", "—", "——", "/", "\\", "－"})


def _total_label_at(row: tuple, table: Table, mapping: dict[str, int], *,
                    subtotal: bool = True) -> int | None:
    """Column index of the 合计 (or, with ``subtotal``, 小计) label when ``row`` is a total row: the
    label is its first filled cell, and the other filled cells of known columns are numbers (or
    dashes). A data row whose code happens to read 合计 is not a total (it is reported as data,
    never silently dropped)."""
    first = next((j for j, v in enumerate(row) if not _is_empty(v)), None)
    if first is None:
        return None
    v = row[first]
    is_sub = subtotal and isinstance(v, str) and re.sub(r"\s+", "", _nfkc(v)) in _SUBTOTAL_LABELS
    if not (_is_total_label(v) or is_sub):
        return None
    numeric = {j for c, j in mapping.items() if table.column(c).kind in _TOTAL_VALUE_KINDS}
    known = set(mapping.values())
    for j, v in enumerate(row):
        if j == first or _is_empty(v) or j not in known or j in numeric:
            continue
        if not (isinstance(v, str) and v.strip() in _PLACEHOLDERS):
            return None
    return first


def _without_repeated_headers(data: list, header: tuple, mapping: dict[str, int]) -> list:
    """Rows that repeat the header (two exports pasted one after the other) are not data."""
    keys = {j: str(header[j]).strip() for j in mapping.values()}
    j0 = min(keys)
    k0 = keys[j0]

    def repeats(r: tuple) -> bool:
        v = r[j0] if j0 < len(r) else None
        if not isinstance(v, str) or v.strip() != k0:
            return False
        return all(j < len(r) and isinstance(r[j], str) and r[j].strip() == k for j, k in keys.items())

    return [(n, r) for n, r in data if not repeats(r)]


def _joined_names(parent: str, child: str) -> list[str]:
    """Header names a group cell and a cell under it may stand for: 决策+得分, 下年度+申请数, and with the
    group's unit (预算数（万元） over 年初 → 年初预算数（万元））."""
    key = _nfkc(parent)
    m = _UNIT_RE.match(key)
    base, unit = (m.group(1), m.group(2)) if m else (key, None)
    out = []
    for name in (child + base, base + child):
        out.append(f"{name}({unit})" if unit else name)
    return out


def _two_row_header(top: tuple, sub: tuple, table: Table) -> tuple | None:
    """The header of a two-row header (a group cell merged over the cells below it), or None when
    ``top`` is complete or ``sub`` is not the second header row."""
    names = [parse_header(str(v), table)[0] if isinstance(v, str) else None for v in top]
    have = {n for n in names if n}
    if all(c.name in have for c in table.columns if c.required):
        return None
    width = max(len(top), len(sub))
    out = list(top) + [None] * (width - len(top))
    parent = None
    gained = 0
    for j in range(width):
        t = top[j] if j < len(top) else None
        s = sub[j] if j < len(sub) else None
        if not _is_empty(t):
            parent = None if names[j] else str(t).strip()
        if _is_empty(s):
            continue
        if not isinstance(s, str) or parent is None:
            return None  # a value under a complete header: ``sub`` is data
        name = next((c for c in _joined_names(parent, s.strip()) if parse_header(c, table)[0]), None)
        if name is None:
            return None
        out[j] = name
        gained += 1
    return tuple(out) if gained else None


_MOJIBAKE_REPAIRS = (
    ("GBK 编码的文件被当作 ANSI/Latin-1 打开后又保存", lambda t: t.encode("cp1252").decode("gb18030")),
    ("GBK 编码的文件被当作 ANSI/Latin-1 打开后又保存", lambda t: t.encode("latin-1").decode("gb18030")),
    ("UTF-8 编码的文件被当作 GBK 打开后又保存", lambda t: t.encode("gb18030").decode("utf-8", errors="replace")),
)


def _mojibake(header: tuple, table: Table) -> tuple[str, str] | None:
    """(message, header as written) when a header row that names no column is text garbled by a
    wrong encoding (ÏîÄ¿±àÂë, 椤圭洰缂栫爜, �…): one clear "encoding" problem instead of every column
    reported missing."""
    texts = [str(v).strip() for v in header if isinstance(v, str) and v.strip()]
    if not texts:
        return None
    joined = "\x1f".join(texts)
    for how, repair in _MOJIBAKE_REPAIRS:
        try:
            fixed = repair(joined).split("\x1f")
        except (UnicodeError, ValueError):
            continue
        if len(fixed) != len(texts):
            continue
        known = [(t, f) for t, f in zip(texts, fixed) if parse_header(f, table)[0]]
        if len(known) >= 2:
            t, f = known[0]
            return (f"表头是乱码，文件编码出错（{how}）：如「{t}」原本是「{f}」；文件中的中文已被破坏，"
                    f"请改用原始导出文件，或从系统重新导出", t)
    if "\ufffd" in joined:
        return ("表头含有乱码字符「\ufffd」，文件编码出错（曾被按错误的编码打开又保存，中文已无法恢复）："
                "请改用原始导出文件，或从系统重新导出", texts[0])
    latin = sum("\u00c0" <= ch <= "\u00ff" for ch in joined)
    if latin >= 3 and latin * 3 >= len(joined):
        return ("表头像是乱码（文件编码出错：中文被当作西文字符保存了）：请改用原始导出文件，或从系统重新导出",
                texts[0])
    return None


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
        self.unread: set[str] = set()

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
        start = hpos + 1
        if start < len(sheet.rows):
            combined = _two_row_header(header, sheet.rows[start][1], table)
            if combined is not None:  # 得分 over 决策/过程/…: the names joined, data after both rows
                header, start = combined, start + 1
        # map columns
        mapping: dict[str, int] = {}
        headers: dict[str, str] = {}
        units: dict[str, str] = {}
        unknown: list[str] = []
        unknown_at: dict[int, str] = {}
        fatal = False
        for j, h in enumerate(header):
            if _is_empty(h):
                continue
            written = str(h).strip()
            name, unit = parse_header(written, table)
            if name is None:
                unknown.append(written)
                unknown_at[j] = written
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
        missing = [col for col in table.columns if col.required and col.name not in mapping]
        garbled = _mojibake(header, table) if missing and not mapping else None
        if garbled:  # one clear problem, not every column "missing"
            self.problem(sheet.file, garbled[0], row=header_rownum, column=garbled[1], **where)
            fatal = True
            missing = []
        for col in missing:
            extra = f"（文件中未识别的列：{'、'.join(unknown)}）" if unknown else ""
            self.problem(sheet.file, f"缺少必需的列「{col.header}」{extra}", row=header_rownum,
                         column=col.header, expected=f"表头「{col.header}」（或英文名 {col.name}）",
                         **where)
            fatal = True
        data = [(n, r) for n, r in sheet.rows[start:] if not _blank(r)]
        if mapping and data:
            data = _without_repeated_headers(data, header, mapping)
        total = None
        if data and _total_label_at(data[-1][1], table, mapping, subtotal=False) is not None:
            total = data.pop()
        if data and not fatal:
            data = self._drop_subtotals(sheet, table, data, mapping, headers)
        source = SourceFile(path=sheet.file, sha256=sheet.sha256, table=table.name, sheet=sheet.sheet,
                            rows=len(data), header_row=header_rownum, headers=headers, units=units,
                            encoding=sheet.encoding, total_row=total[0] if total else None)
        if fatal:
            self.unread.add(table.name)
            return _Part(table, pd.DataFrame(), source, [])
        if not data:
            self.problem(sheet.file, "没有数据行（只有表头）", row=header_rownum,
                         expected=f"「{table.label}」表的数据", **where)
            self.unread.add(table.name)
        self._check_unit_column(sheet, table, data, unknown_at, mapping, units)
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
            formulas = {n: f for (n, jj), f in sheet.uncached.items() if jj == j}
            for pos, (n, r) in enumerate(data):
                v = r[j] if j < len(r) else None
                if formulas and n in formulas and _is_empty(v):
                    out.append(None)
                    bad.append((pos, col.name))
                    self.problem(sheet.file, "单元格是公式，但没有计算结果（文件由程序生成、从未在 Excel 中计算并"
                                 "保存过，只读数值时为空）", row=n, column=headers[col.name],
                                 value=formulas[n], expected="请在 Excel 中打开并保存该文件，或把公式复制后"
                                 "选择性粘贴为数值", **where)
                    continue
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

    def _drop_subtotals(self, sheet, table, data, mapping, headers) -> list:
        """Data rows without 小计/合计 rows in the middle of the table, each reported (only the last
        row may be a total, which is checked against the column sums)."""
        kept = []
        names = {j: headers[c] for c, j in mapping.items()}
        for n, r in data:
            head = r[0] if r else None
            if not _is_empty(head) and not (isinstance(head, str) and "计" in head):
                kept.append((n, r))  # fast path: every total label (合计, 总计, 小计) has 计
                continue
            j = _total_label_at(r, table, mapping)
            if j is None:
                kept.append((n, r))
                continue
            label = str(r[j]).strip()
            self.problem(sheet.file, f"「{label}」行在表格中间：小计/合计行不能作为数据导入（只有最后一行可以是"
                         f"合计行，并会与各行之和核对）", row=n, column=names.get(j), value=label,
                         expected="删除表格中间的小计/合计行", sheet=sheet.sheet)
        return kept

    def _check_unit_column(self, sheet, table, data, unknown_at, mapping, units) -> None:
        """A 单位 column beside the money columns (元 on some rows, 万元 on others) is not applied row
        by row: a row whose unit differs from its money columns' unit is a problem."""
        money = {units.get(c, "元") for c in table.money_columns if c in mapping}
        if not money or not data:
            return
        for j, written in unknown_at.items():
            if _header_key(written) not in _UNIT_COLUMN_KEYS:
                continue
            for n, r in data:
                v = r[j] if j < len(r) else None
                if _is_empty(v):
                    continue
                u = re.sub(r"\s+", "", _nfkc(str(v))).strip("()（）")
                if u not in _CELL_MONEY_UNITS or {u} == money:
                    continue
                shown = "、".join(sorted(money))
                self.problem(sheet.file, f"本行的「{written}」为「{u}」，与金额列的单位（{shown}，按表头）不一致："
                             f"不逐行换算单位", row=n, column=written, value=u,
                             expected=f"本行金额换算为{shown}，或把整列统一后把单位写在表头（如「支付金额（万元）」）",
                             sheet=sheet.sheet)

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




def read_export(src_dir: str | Path, *, strict: bool = True, bulk: bool = False) -> Export:
    """Read every table of an export folder.

    Parameters
    ----------
    src_dir : the folder of ``.xlsx``/``.csv`` files (top level only; hidden files, Office lock
        files ``~$…`` and ``README*`` are ignored).
    strict : raise :class:`InputError` if reading found any problem (default). ``ingest`` passes
        False and lets :func:`perflib.ingest.checks.validate` report reading and data problems together.
    bulk : let DuckDB read big CSV files and every Parquet file (:mod:`perflib.ingest.bulk`; ``ingest``
        does): ``Export.bulk`` then stages and validates them inside the database being built.

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
    router = None
    if bulk:
        from .bulk import BulkReader

        router = BulkReader(src, reader)
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
        if router is not None and router.wants(path):
            planned = router.plan(path, rel)
            if planned is not None:
                data_files += 1
                parts.extend(planned)
                continue
        if suffix not in EXCEL_SUFFIXES + CSV_SUFFIXES + HTML_EXCEL_SUFFIXES:
            hint = "请另存为 .xlsx 或 .csv" if suffix in (".et", ".ods", ".txt", ".tsv") else \
                "导出文件夹中只应有 .xlsx 或 .csv 数据文件"
            reader.problem(rel, f"无法识别的文件（{hint}）", value=path.name,
                           expected="以表名命名的 .xlsx 或 .csv 文件，如 项目.xlsx")
            continue
        data_files += 1
        data = path.read_bytes()
        sha = sha256_bytes(data)
        file_table = match_table_name(path.stem)
        try:
            sheets = [_read_csv(data, rel, sha)] if suffix in CSV_SUFFIXES else \
                _read_workbook_file(data, rel, sha, suffix)
        except _Bad as exc:
            reader.problem(rel, str(exc), row=exc.row, column=exc.column)
            if file_table is not None:
                reader.unread.add(file_table.name)
            continue
        nonempty = [s for s in sheets if any(not _blank(r) for _, r in s.rows)]
        if not nonempty:
            reader.problem(rel, "文件是空的（没有任何内容）")
            if file_table is not None:
                reader.unread.add(file_table.name)
            continue
        for sheet in nonempty:
            sheet_table = match_table_name(sheet.sheet) if sheet.sheet else None
            if sheet_table is None and sheet.sheet and (sheet.hidden or _is_notes_name(sheet.sheet)):
                ignored.append(f"{rel}#{sheet.sheet}")  # instructions, or a hidden list behind drop-downs
                continue
            table = sheet_table or file_table
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
        if all(f"{rel}#{sheet.sheet}" in ignored for sheet in nonempty):
            reader.problem(rel, "工作簿中没有数据工作表（只有说明或隐藏的工作表）",
                           value="、".join(str(sheet.sheet) for sheet in nonempty),
                           expected="以表名命名的可见工作表，如「项目」")
            if file_table is not None:
                reader.unread.add(file_table.name)
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
                    bad_cells=bad_cells, ignored=ignored, unread_tables=set(reader.unread))
    if router is not None:
        export.bulk = router.finish(export)
    if strict and export.problems:
        raise InputError(export.problems)
    return export


def _empty_frame(table: Table) -> pd.DataFrame:
    df = pd.DataFrame({c.name: _empty_series(c.kind, 0) for c in table.columns})
    df["_file"] = pd.Series([], dtype=object)
    df["_sheet"] = pd.Series([], dtype=object)
    df["_row"] = pd.Series([], dtype="int64")
    return df

