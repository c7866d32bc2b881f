"""Files → raw tables: which table a file or sheet stands for, the encodings (UTF-8, GBK, UTF-16,
mixed), xlsx/xlsm workbooks, HTML tables saved as .xls, csv delimiters and broken quotes, and in the
rows read: the header row (units above it, two-row headers, garbled encodings) and 合计/小计 rows.

File readers are registered by suffix (:func:`register`, :func:`handler_for`), as papermill's
``iorw`` registers its I/O handlers by scheme; nothing here converts a cell (see :mod:`.cells`).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Iterable, Mapping

from ..schema import (
    INT, MONEY, MONEY_UNITS, MONTH, NUMBER, TABLES, TOTAL_LABELS, YEAR, Table,
)
from .cells import is_empty, nfkc
from .model import Unreadable

__all__ = [
    "RawTable", "FileHandler", "register", "handler_for", "read_csv_bytes", "read_workbook_file",
    "match_table_name", "is_ignored", "is_notes_name", "parse_header", "header_key", "header_index",
    "find_header", "two_row_header", "garbled_header", "total_label_at", "without_repeated_headers",
    "is_blank_row", "non_ascii_lines", "UNIT_RE", "UNIT_COLUMN_KEYS", "CELL_MONEY_UNITS",
    "HEADER_SEARCH_ROWS", "CSV_SUFFIXES", "EXCEL_SUFFIXES", "HTML_EXCEL_SUFFIXES",
]

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
HTML_EXCEL_SUFFIXES = (".xls",)  # read only when the file is really an HTML table (or a renamed .xlsx)
CSV_SUFFIXES = (".csv",)
# Files that are never data: OS metadata, Office lock files, notes beside the exports.
IGNORED_FILE_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
HEADER_SEARCH_ROWS = 10


# --- names ---------------------------------------------------------------------------------------

_YEAR_PREFIX = re.compile(r"^\d{4}\s*年?度?\s*[-_.\s]*")
_SPLIT_SUFFIX = re.compile(r"[-_.\s]*(?:\(\s*[^()]*\d[^()]*\)|\d+\s*年?度?)$")


def _name_candidates(name: str) -> Iterable[str]:
    text = nfkc(name)
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
            if key in (re.sub(r"\s+", "", nfkc(n)).lower() for n in t.names):
                return t
    return None


_NOTES_NAME = re.compile(r"^(?:填表|编制|导出)?(?:说明|须知|注意事项)|^readme", re.I)


def is_notes_name(name: str) -> bool:
    """A sheet of instructions beside the data (填表说明, 说明, 须知, README…)."""
    return bool(_NOTES_NAME.match(nfkc(name)))


def is_ignored(path: Path) -> bool:
    """A file that is never data: hidden, an Office lock file (``~$…``), OS metadata, README/说明."""
    name = path.name
    low = name.lower()
    return (name.startswith(("~$", ".", "~")) or low in IGNORED_FILE_NAMES
            or low.startswith("readme") or low.startswith("说明"))


# --- headers -------------------------------------------------------------------------------------

UNIT_RE = re.compile(r"^(.*?)\(\s*(?:单位\s*[:：]?\s*)?([^()]*?)\s*\)$")
_PREAMBLE_UNIT_RE = re.compile(r"单位\s*[:：]\s*(元|万元|亿元)")


def header_key(text: str) -> str:
    """A header as compared: NFKC, no whitespace, no leading ``*`` (required-column mark), lower case."""
    return re.sub(r"\s+", "", nfkc(text)).lstrip("*").lower()


@lru_cache(maxsize=None)
def header_index(table: Table) -> Mapping[str, str]:
    """Header key → canonical column name, for the Chinese header and the English name of each column
    (made once per table: every header cell of every file is looked up in it; read-only)."""
    index: dict[str, str] = {}
    for c in table.columns:
        index[header_key(c.header)] = c.name
        index[header_key(c.name)] = c.name
    return MappingProxyType(index)


def parse_header(text: str, table: Table) -> tuple[str | None, str | None]:
    """``(canonical column, unit)`` for a header as written; ``(None, None)`` if not a column of
    ``table``. The unit is what a bracketed suffix says (``年初预算数（万元）`` → 万元), else None."""
    if text is None:
        return None, None
    raw = str(text)
    key = header_key(raw)
    if not key:
        return None, None
    index = header_index(table)
    if key in index:
        return index[key], None
    m = UNIT_RE.match(key)
    if m and m.group(1) in index:
        return index[m.group(1)], m.group(2)
    return None, None



# --- files ---------------------------------------------------------------------------------------

@dataclass
class RawTable:
    """Raw rows of one csv file or worksheet: (row number as the user sees it, cell values)."""

    file: str
    sheet: str | None
    rows: list[tuple[int, tuple]]
    sha256: str
    encoding: str | None = None
    hidden: bool = False
    # (row, column index) → formula, of formula cells that hold no computed value
    uncached: dict = field(default_factory=dict)


def non_ascii_lines(data: bytes):
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
    for i, ok in non_ascii_lines(data):
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
            raise Unreadable(f"编码混杂：文件是 UTF-8 编码，但第 {lines} 行不是（像是从 GBK 编码的文件粘贴来的），"
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
        raise Unreadable("无法识别文件编码（请另存为 UTF-8 或 GBK 编码的 CSV）")
    return str(best), best.encoding


def read_csv_bytes(data: bytes, rel: str, sha: str) -> RawTable:
    """A csv file's records (encoding and delimiter found from the bytes); raises :class:`Unreadable`
    for a mixed encoding, a broken record or a quote never closed."""
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
        raise Unreadable(f"第 {line + 1} 行附近 CSV 格式有误（{exc}）", row=line + 1) from None
    if rows:
        start, last = rows[-1]
        width = max(2, len(rows[0][1]))
        swallowed = max((c.count("\n") for c in last
                         if any(ln.count(delimiter) >= width - 1 for ln in c.split("\n")[1:])), default=0)
        if swallowed:  # a quote opened and never closed: the rest of the file became one cell
            raise Unreadable(f"第 {start} 行有一个没有配对的引号（\"），从这里到文件末尾的 {swallowed + 1} 行"
                       f"被读成了一个单元格；请删除或补全这个引号", row=start)
    return RawTable(rel, None, rows, sha, encoding)


# The most rows one worksheet may declare or hold: Excel's own limit per sheet, so no workbook saved by
# Excel (and no province export) exceeds it, while a small zip that unzips to millions of rows (an
# "xlsx bomb") is stopped by its declared dimension before a row is read, or at this row otherwise.
XLSX_MAX_ROWS = 1_048_576
_TOO_MANY_ROWS = ("工作表「{}」{}超过 {:,} 行（Excel 每个工作表的上限），不予读取：文件可能已损坏或被篡改；"
                  "请在 Excel 中打开核对后另存，或改为 .csv 导出")

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
            raise Unreadable(_BROKEN_WORKBOOK.format(type(exc).__name__)) from None
        out = []
        try:
            for ws in wb.worksheets:
                declared = ws.max_row if getattr(ws, "reset_dimensions", None) else None
                if declared is not None and declared > XLSX_MAX_ROWS:
                    raise Unreadable(_TOO_MANY_ROWS.format(ws.title, f"声明的区域有 {declared:,} 行，",
                                                           XLSX_MAX_ROWS))
                if getattr(ws, "reset_dimensions", None):
                    ws.reset_dimensions()  # some exporters write a wrong dimension; read every cell
                rows = []
                for i, r in enumerate(ws.iter_rows(values_only=True), 1):
                    if i > XLSX_MAX_ROWS:
                        raise Unreadable(_TOO_MANY_ROWS.format(ws.title, "", XLSX_MAX_ROWS), row=i)
                    rows.append((i, tuple(r)))
                out.append((ws.title, getattr(ws, "sheet_state", "visible"), rows))
        except Unreadable:
            raise
        except Exception as exc:  # a damaged part inside a readable zip (bad XML, CRC error, …)
            raise Unreadable(_BROKEN_WORKBOOK.format(type(exc).__name__)) from None
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


def _read_xlsx(data: bytes, rel: str, sha: str) -> list[RawTable]:
    sheets = [RawTable(rel, title, rows, sha, hidden=state != "visible")
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


def _read_html(data: bytes, rel: str, sha: str) -> RawTable:
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
        raise Unreadable("无法识别网页表格的编码；请在 Excel 中打开后另存为 .xlsx")
    parser = _HtmlTable()
    try:
        parser.feed(text)
        parser.close()
    except Exception as exc:
        raise Unreadable(f"网页表格无法解析（{type(exc).__name__}）；请在 Excel 中打开后另存为 .xlsx") from None
    parser._end_row()
    rows = [(i, r) for i, r in enumerate(parser.rows, 1)]
    return RawTable(rel, None, rows, sha, "utf-8" if encoding == "utf-8-sig" else encoding)


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


def read_workbook_file(data: bytes, rel: str, sha: str, suffix: str) -> list[RawTable]:
    """A .xlsx/.xlsm/.xls file read by what it holds, not by its name: a zip is a workbook; an HTML
    table (what some budget systems export as "Excel") is read as a table; an encrypted or an old
    binary workbook, or text, is refused with what to do."""
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, rel, sha)
    if data.startswith(OLE2_MAGIC[:4]):
        if _ENCRYPTED_MARK in data:
            raise Unreadable("工作簿设置了打开密码（已加密），无法读取：请在 Excel 中打开，去掉密码（文件 → 信息 → "
                       "保护工作簿 → 用密码进行加密，清空密码）后保存")
        raise Unreadable("是旧版 Excel 97-2003 二进制格式（.xls），无法读取：请另存为 .xlsx 或 .csv"
                   "（在 Excel 中打开 → 另存为 → Excel 工作簿）")
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise Unreadable("文件是空的（没有任何内容）")
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<") and re.search(rb"<table[\s>]", data, re.I):
        return [_read_html(data, rel, sha)]
    if _is_text(data[:4096]) and not head.startswith(b"<"):
        raise Unreadable(f"扩展名是 {suffix}，但内容是纯文本（像是 CSV）：请把扩展名改为 .csv，"
                   f"或在 Excel 中打开后另存为 .xlsx")
    raise Unreadable(_BROKEN_WORKBOOK.format("不是 Excel 工作簿"))


def is_blank_row(row: tuple) -> bool:
    """Every cell of ``row`` is empty."""
    for v in row:
        if v is None or v == "":
            continue
        if not is_empty(v):
            return False
    return True


# --- header rows, total rows ---------------------------------------------------------------------

def _is_total_label(v) -> bool:
    if not isinstance(v, str):
        return False
    key = re.sub(r"\s+", "", nfkc(v)).rstrip(":")
    return key in {re.sub(r"\s+", "", t) for t in TOTAL_LABELS}


_SUBTOTAL_LABELS = frozenset({"小计"})
UNIT_COLUMN_KEYS = frozenset({"单位", "金额单位", "货币单位", "计量单位"})
CELL_MONEY_UNITS = frozenset({*MONEY_UNITS, "千元"})
_TOTAL_VALUE_KINDS = (MONEY, NUMBER, INT, YEAR, MONTH)
_PLACEHOLDERS = frozenset({"-", "--", "—", "——", "/", "\\", "－"})


def total_label_at(row: tuple, table: Table, mapping: dict[str, int], *,
                    subtotal: bool = True) -> int | None:
    """Column index of the 合计 (or, with ``subtotal``, 小计) label when ``row`` is a total row: the
    label is its first filled cell, and the other filled cells of known columns are numbers (or
    dashes). A data row whose code happens to read 合计 is not a total (it is reported as data,
    never silently dropped)."""
    first = next((j for j, v in enumerate(row) if not is_empty(v)), None)
    if first is None:
        return None
    v = row[first]
    is_sub = subtotal and isinstance(v, str) and re.sub(r"\s+", "", nfkc(v)) in _SUBTOTAL_LABELS
    if not (_is_total_label(v) or is_sub):
        return None
    numeric = {j for c, j in mapping.items() if table.column(c).kind in _TOTAL_VALUE_KINDS}
    known = set(mapping.values())
    for j, v in enumerate(row):
        if j == first or is_empty(v) or j not in known or j in numeric:
            continue
        if not (isinstance(v, str) and v.strip() in _PLACEHOLDERS):
            return None
    return first


def without_repeated_headers(data: list, header: tuple, mapping: dict[str, int]) -> list:
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
    key = nfkc(parent)
    m = UNIT_RE.match(key)
    base, unit = (m.group(1), m.group(2)) if m else (key, None)
    out = []
    for name in (child + base, base + child):
        out.append(f"{name}({unit})" if unit else name)
    return out


def two_row_header(top: tuple, sub: tuple, table: Table) -> tuple | None:
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
        if not is_empty(t):
            parent = None if names[j] else str(t).strip()
        if is_empty(s):
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


def garbled_header(header: tuple, table: Table) -> tuple[str, str] | None:
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


def find_header(sheet: RawTable, table: Table) -> tuple[int, str | None]:
    """Position (in ``sheet.rows``) of the header row and a unit stated above it (单位：万元)."""
    index = header_index(table)
    need = min(2, len(table.columns))
    seen = 0
    first_nonblank = None
    unit = None
    for pos, (_, row) in enumerate(sheet.rows):
        if is_blank_row(row):
            continue
        if first_nonblank is None:
            first_nonblank = pos
        hits = 0
        for v in row:
            if isinstance(v, str):
                key = header_key(v)
                m = UNIT_RE.match(key)
                if key in index or (m and m.group(1) in index):
                    hits += 1
        if hits >= need:
            return pos, unit
        for v in row:
            if isinstance(v, str):
                m = _PREAMBLE_UNIT_RE.search(nfkc(v))
                if m:
                    unit = m.group(1)
        seen += 1
        if seen >= HEADER_SEARCH_ROWS:
            break
    return (first_nonblank if first_nonblank is not None else 0), None


# --- the registry of file readers ---------------------------------------------------------------

FileHandler = Callable[[bytes, str, str, str], list[RawTable]]
"""``handler(data, rel, sha256, suffix)`` → the raw tables of one file (raises :class:`Unreadable`)."""

_HANDLERS: dict[str, FileHandler] = {}


def register(suffix: str, handler: FileHandler) -> None:
    """Read files ending in ``suffix`` (lower case, with the dot) with ``handler``."""
    _HANDLERS[suffix.lower()] = handler


def handler_for(suffix: str) -> FileHandler | None:
    """The handler registered for ``suffix``, or None: the file is not a data file."""
    return _HANDLERS.get(suffix.lower())


register(".csv", lambda data, rel, sha, suffix: [read_csv_bytes(data, rel, sha)])
for _suffix in EXCEL_SUFFIXES + HTML_EXCEL_SUFFIXES:
    register(_suffix, read_workbook_file)
