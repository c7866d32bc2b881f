"""A fast ``.xlsx`` writer: a minimal SpreadsheetML package built column-wise with pyarrow.

Why: ``pandas.to_excel`` (xlsxwriter) writes ~0.07 M cells/s and xlsxwriter's own ``write_row``
~0.13 M; a province report's tables hold millions of cells. Here every column is formatted and
escaped in one vectorised pass (pyarrow compute), rows are joined element-wise and the sheet XML is
streamed into the zip in chunks: ~2–2.5 M cells/s on this machine (8.6 M cells of a province
monitoring report in 3.3–4.8 s instead of 123 s; deflate at level 1 is about half of it).

What a cell becomes:

* NaN / None / NaT / ±inf → no cell (Excel has no infinity);
* bool → ``t="b"``; ints and floats → numbers, written with the shortest text that reads back
  as the same double (``0.1 + 0.2`` stays ``0.30000000000000004``);
* datetimes (time zone dropped: the wall-clock time is kept) and dates → day serials with a date
  style (``yyyy-mm-dd``, or ``yyyy-mm-dd hh:mm:ss`` when a column has times of day);
* everything else → text, a string cell (``t="s"``) pointing into the workbook's shared strings
  (each distinct text written once: a province monitoring workbook's 1.35 M text cells hold 75,809
  texts, and inline strings made its XML 111 MB instead of 72 MB): no text can become a formula, a
  number or a link. ``&``, ``<`` and ``>`` are escaped; characters XML 1.0 forbids (control
  characters other than tab/newline/carriage return, U+FFFE, U+FFFF, lone surrogates) are replaced
  by U+FFFD (�); a carriage return is written as ``&#13;`` so that it survives XML line-end
  normalisation; text with leading/trailing whitespace is marked ``xml:space="preserve"``.

The header row (inline strings) is bold and frozen; column widths follow the header and the first
200 values. A report table carries its columns' kinds (``perflib.present.tables.with_kinds``): their numbers get
the kind's Excel format (``#,##0.00`` money, ``0.00%`` rates, ``0`` years, ``#,##0`` counts).
"""
from __future__ import annotations

import datetime as dt
import decimal
import io
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Optional
from xml.sax.saxutils import escape as _xml_escape

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

Observer = Optional[Callable[[str, "bytes | memoryview"], None]]  # see write_xlsx
MAX_ROWS = 1_048_576  # Excel's rows per sheet, header included
MAX_COLUMNS = 16_384
COMPRESS_LEVEL = 1  # zlib level: 1 vs 3 gave the same size within ~10 %, 1 is ~1.5× faster
CHUNK_ROWS = 65_536  # rows formatted at a time (bounds memory; the XML is streamed into the zip)

STYLE_HEADER, STYLE_DATE, STYLE_DATETIME = 1, 2, 3
_EXCEL_EPOCH = np.datetime64("1899-12-30")
_FORBIDDEN = "[\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x{FFFE}\\x{FFFF}]"  # RE2 (pyarrow) syntax
_FORBIDDEN_PY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
REPLACEMENT = "\ufffd"
_PRESERVE = ' xml:space="preserve"'
_SELECTED = ' tabSelected="1"'

_NS = ('xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')
_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CT_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml"

# Number formats a table's columns may carry (their kinds, perflib.present.labels), by Excel's
# built-in format ids; each has its own cell style after the four fixed ones.
NUMBER_FORMATS = {"0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0.00%": 10}
FORMAT_STYLE = {fmt: 4 + i for i, fmt in enumerate(NUMBER_FORMATS)}

_STYLES = (
    _DECL + f'<styleSheet {_NS}>'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    f'<cellXfs count="{4 + len(NUMBER_FORMATS)}"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    + "".join(f'<xf numFmtId="{i}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
              for i in NUMBER_FORMATS.values()) +
    '</cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>'
)


def column_letter(index: int) -> str:
    """Excel column letters of a 0-based column index (0 → A, 26 → AA)."""
    out = ""
    n = index + 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def clean_text(text: str) -> str:
    """A text as the writer stores it: characters XML 1.0 forbids replaced by U+FFFD."""
    return _FORBIDDEN_PY.sub(REPLACEMENT, text)


def column_width(header: str, values: Iterable) -> float:
    """Column width from the header and (the first 200) values: min 8, 1.6 per character, max 60."""
    width = max([len(str(header))] + [len(str(v)) for v in values])
    return min(max(8, width * 1.6), 60)


# --- columns → (kind, value text) ------------------------------------------------------------------
# A column becomes one or more parts (kind, value-text array with null where the part has no cell);
# a mixed object column has several parts, one per kind of value, that never overlap.
_NUM, _BOOL, _DATE, _DATETIME, _TEXT = "n", "b", "d", "dt", "s"


def _text_array(values) -> pa.Array:
    """Strings (nulls kept) as a large_string arrow array; lone surrogates replaced in Python."""
    try:
        arr = pa.array(values, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, UnicodeEncodeError, TypeError):
        arr = pa.array([None if v is None else clean_text(v) for v in values], type=pa.large_string())
    return arr


def _float_text(values: np.ndarray) -> pa.Array:
    values = np.asarray(values, dtype="float64")
    return pc.cast(pa.array(values, mask=~np.isfinite(values)), pa.large_string())


def _date_parts(values) -> list[tuple[str, pa.Array]]:
    """Datetime64 values (naive wall time) → Excel day serials (1900 leap-year bug included)."""
    v = np.asarray(values)
    if not np.issubdtype(v.dtype, np.datetime64):
        v = v.astype("datetime64[us]")
    nat = np.isnat(v)
    days = (v - _EXCEL_EPOCH) / np.timedelta64(1, "D")
    whole = np.floor(days)
    days = np.where((whole > 0) & (whole <= 60), days - 1, days)  # Excel's fictitious 1900-02-29
    kind = _DATE if np.all((days[~nat] % 1) == 0) else _DATETIME
    return [(kind, _float_text(np.where(nat, np.nan, days)))]


def _object_parts(s: pd.Series) -> list[tuple[str, pa.Array]]:
    """An object column: one part per kind of value found (numbers, bools, dates, text)."""
    kinds = {"b": [], "n": [], "d": [], "s": []}
    values = s.to_numpy(dtype=object, na_value=None)
    label = np.empty(len(values), dtype="<U1")
    for i, v in enumerate(values):
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
            label[i] = ""
        elif isinstance(v, (bool, np.bool_)):
            label[i] = "b"
        elif isinstance(v, (int, float, np.integer, np.floating, decimal.Decimal)):
            label[i] = "n"
        elif isinstance(v, (dt.date, np.datetime64)):  # datetime and pd.Timestamp are dates too
            label[i] = "d"
        else:
            label[i] = "s"
    parts: list[tuple[str, pa.Array]] = []
    for k in kinds:
        mask = label == k
        if not mask.any():
            continue
        if k == "b":
            arr = pa.array(np.where(mask, values, None).tolist(), type=pa.bool_())
            parts.append((_BOOL, pc.if_else(arr, _lit("1"), _lit("0"))))
        elif k == "n":
            nums = np.array([float(v) if m else np.nan for v, m in zip(values, mask)], dtype="float64")
            ints = [v for v, m in zip(values, mask) if m and isinstance(v, (int, np.integer))]
            if ints and all(abs(int(v)) < 2**53 for v in ints) and len(ints) == mask.sum():
                arr = pa.array([int(v) if m else None for v, m in zip(values, mask)], type=pa.int64())
                parts.append((_NUM, pc.cast(arr, pa.large_string())))
            else:
                parts.append((_NUM, _float_text(nums)))
        elif k == "d":
            stamps = [pd.Timestamp(v).tz_localize(None) if m and getattr(pd.Timestamp(v), "tz", None)
                      else (pd.Timestamp(v) if m else pd.NaT) for v, m in zip(values, mask)]
            parts.extend(_date_parts(pd.DatetimeIndex(stamps).as_unit("us").to_numpy()))
        else:
            parts.append((_TEXT, _text_array([str(v) if m else None for v, m in zip(values, mask)])))
    return parts


def _column_parts(s: pd.Series) -> list[tuple[str, pa.Array]]:
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _column_parts(s.astype(object))
    if pd.api.types.is_bool_dtype(dtype):
        arr = pa.array(s, type=pa.bool_(), from_pandas=True)
        return [(_BOOL, pc.if_else(arr, _lit("1"), _lit("0")))]
    if pd.api.types.is_integer_dtype(dtype):
        return [(_NUM, pc.cast(pa.array(s, from_pandas=True), pa.large_string()))]
    if pd.api.types.is_float_dtype(dtype):
        return [(_NUM, _float_text(s.to_numpy(dtype="float64", na_value=np.nan)))]
    if isinstance(dtype, pd.DatetimeTZDtype):
        return _date_parts(s.dt.tz_localize(None).to_numpy())
    if pd.api.types.is_datetime64_dtype(dtype):
        return _date_parts(s.to_numpy())
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return [(_TEXT, _text_array(s))]
    if pd.api.types.is_object_dtype(dtype):
        inferred = pd.api.types.infer_dtype(s, skipna=True)
        if inferred in ("string", "empty"):
            return [(_TEXT, _text_array(s.to_numpy(dtype=object, na_value=None)))]
        return _object_parts(s)
    # timedelta, period, interval, complex …: shown as text
    return [(_TEXT, _text_array([None if pd.isna(v) else str(v) for v in s]))]


_NEEDS_ESCAPE = "[&<>\\r" + _FORBIDDEN[1:]


def _escape(arr: pa.Array) -> tuple[pa.Array, pa.Array | None]:
    """(escaped text, per-row xml:space attribute or None when no text has edge whitespace)."""
    edge = pc.match_substring_regex(arr, r"^[ \t\n\r]|[ \t\n\r]$")
    space = pc.if_else(edge, _lit(_PRESERVE), _lit("")) if pc.any(edge).as_py() else None
    if pc.any(pc.match_substring_regex(arr, _NEEDS_ESCAPE)).as_py():
        arr = pc.replace_substring_regex(arr, _FORBIDDEN, REPLACEMENT)
        arr = pc.replace_substring(arr, "&", "&amp;")
        arr = pc.replace_substring(arr, "<", "&lt;")
        arr = pc.replace_substring(arr, ">", "&gt;")
        arr = pc.replace_substring(arr, "\r", "&#13;")
    return arr, space


def _join(*parts, null_handling: str = "emit_null") -> pa.Array:
    """Element-wise concatenation of large_string arrays and Python strings."""
    args = [pa.scalar(p, pa.large_string()) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*args, pa.scalar("", pa.large_string()), null_handling=null_handling)


def _lit(text: str) -> pa.Scalar:
    return pa.scalar(text, pa.large_string())


_OPEN = {_NUM: ">", _BOOL: ' t="b">', _DATE: f' s="{STYLE_DATE}">', _DATETIME: f' s="{STYLE_DATETIME}">',
         **{f"{_NUM}{style}": f' s="{style}">' for style in FORMAT_STYLE.values()}}


def _cell_pieces(kind: str, text: pa.Array, opening) -> list:
    """The pieces whose element-wise concatenation is the cell XML of one part of a column."""
    if kind == _TEXT:  # ``text``: the index of the cell's string in the shared strings
        return [opening, ' t="s"><v>', text, "</v></c>"]
    return [opening, _OPEN[kind], "<v>", text, "</v></c>"]


def _merged(pieces: list) -> list:
    """Adjacent literal strings merged (fewer arguments for the row join)."""
    out: list = []
    for p in pieces:
        if isinstance(p, str) and out and isinstance(out[-1], str):
            out[-1] += p
        else:
            out.append(p)
    return out


def _chunk_xml(columns: list[list[tuple[str, pa.Array]]], start: int, stop: int) -> pa.Array:
    """The ``<row>`` XML of rows ``start:stop`` (0-based data rows) as one large_string array.

    A column without missing values in the chunk goes straight into the row join as literal pieces
    plus its value text; a cell that follows a missing one names its column (``r="C7"``)."""
    size = stop - start
    rows = pa.array(np.arange(start + 2, stop + 2)).cast(pa.large_string())
    pieces: list = ['<row r="', rows, '">']
    previous_missing = None
    for j, parts in enumerate(columns):
        sliced = [(k, t.slice(start, size)) for k, t in parts]
        if previous_missing is None and len(sliced) == 1 and sliced[0][1].null_count == 0:
            pieces += _cell_pieces(*sliced[0], "<c")
            continue
        opening = "<c"
        if previous_missing is not None:
            opening = pc.if_else(previous_missing, _join(f'<c r="{column_letter(j)}', rows, '"'), _lit("<c"))
        column = None
        for kind, text in sliced:
            cell = _join(*_merged(_cell_pieces(kind, text, opening)))
            column = cell if column is None else pc.coalesce(column, cell)
        if column is None:
            column = pa.nulls(size, pa.large_string())
        previous_missing = pc.is_null(column) if column.null_count else None
        pieces.append(pc.fill_null(column, _lit("")))
    pieces.append("</row>")
    return _join(*_merged(pieces))


def _buffer_of(arr: pa.Array) -> memoryview:
    """The concatenated bytes of a null-free large_string array, without copying."""
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)
    start, end = int(offsets[arr.offset]), int(offsets[arr.offset + len(arr)])
    return memoryview(arr.buffers()[2])[start:end]


def _text_xml(text: str) -> str:
    """``<t>`` of one text cell (the rules of :func:`_escape`, for a single Python string)."""
    space = _PRESERVE if text != text.strip(" \t\n\r") else ""
    return f"<t{space}>{_xml_escape(clean_text(text)).replace(chr(13), '&#13;')}</t>"


def _header_xml(columns: list[str]) -> str:
    cells = "".join(f'<c r="{column_letter(i)}1" s="{STYLE_HEADER}" t="inlineStr"><is>{_text_xml(t)}</is></c>'
                    for i, t in enumerate(columns))
    return f'<row r="1">{cells}</row>' if columns else ""


def _number_styles(df: pd.DataFrame) -> list[int | None]:
    """Per column, the cell style of the number format its kind carries (a report table laid out by
    :mod:`perflib.present.tables` records its kinds in ``attrs``); None: Excel's General."""
    from .tables import KINDS_ATTR, number_formats

    if not df.attrs.get(KINDS_ATTR):
        return [None] * df.shape[1]
    return [FORMAT_STYLE.get(f) if f else None for f in number_formats(df)]


def _sheet_columns(df: pd.DataFrame) -> list[list[tuple[str, pa.Array]]]:
    """Per column, its parts (kind, value text); a number takes its column's number style."""
    styles = _number_styles(df)
    columns = []
    for j in range(df.shape[1]):
        parts = []
        for kind, text in _column_parts(df.iloc[:, j]):
            if kind == _NUM and styles[j] is not None:
                kind = f"{_NUM}{styles[j]}"
            elif kind == _TEXT:  # each distinct text once (a column repeats its department names …)
                text = pc.dictionary_encode(text)
            parts.append((kind, text))
        columns.append(parts)
    return columns


def _index_texts(columns: list[list[tuple[str, pa.Array]]], known: pa.Array) -> pa.Array:
    """``known`` (the distinct texts of the sheets before, in order of first appearance) followed by
    this sheet's new ones; each text part of ``columns`` (dictionary-encoded) is replaced, in place,
    by its cells' positions in the result as text."""
    where = [(parts, i) for parts in columns for i, (kind, _) in enumerate(parts) if kind == _TEXT]
    if not where:
        return known
    texts = pa.chunked_array([parts[i][1].dictionary for parts, i in where], type=pa.large_string())
    new = pc.unique(texts)
    if len(known):
        new = pc.filter(new, pc.invert(pc.is_in(new, value_set=known)))
    strings = pa.concat_arrays([known, new])  # pc.unique of a chunked array is one array
    at = pc.index_in(texts.combine_chunks(), value_set=strings)  # one lookup table for every column
    offset = 0
    for parts, i in where:
        encoded = parts[i][1]
        size = len(encoded.dictionary)
        parts[i] = (_TEXT, pc.cast(pc.take(at.slice(offset, size), encoded.indices), pa.large_string()))
        offset += size
    return strings


def _write_shared_strings(zf: zipfile.ZipFile, strings: pa.Array, count: int, observe: Observer) -> None:
    text, space = _escape(strings)
    pieces = ["<si><t", space, ">", text, "</t></si>"] if space is not None else ["<si><t>", text, "</t></si>"]
    body = _buffer_of(_join(*_merged(pieces))) if len(strings) else b""
    member = "xl/sharedStrings.xml"
    with zf.open(member, "w", force_zip64=len(body) > 1 << 30) as out:
        for data in ((_DECL + f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                      f'count="{count}" uniqueCount="{len(strings)}">').encode("utf-8"), body, b"</sst>"):
            _write(out, member, data, observe)


def _write(out, member: str, data, observe: Observer) -> None:
    """``data`` into the open zip member ``out``, and to ``observe`` (when given) as well."""
    out.write(data)
    if observe is not None:
        observe(member, data)


def _put(zf: zipfile.ZipFile, member: str, text: str, observe: Observer) -> None:
    """A small member written whole (and shown to ``observe``)."""
    data = text.encode("utf-8")
    zf.writestr(member, data)
    if observe is not None:
        observe(member, data)


def _write_sheet(zf: zipfile.ZipFile, member: str, df: pd.DataFrame, columns: list, selected: bool,
                 widths: bool, observe: Observer = None, chunk_rows: int | None = None) -> int:
    """Write one sheet (its text cells point into the shared strings); the number of text cells."""
    n, m = df.shape
    headers = [str(c) for c in df.columns]
    last = f"{column_letter(max(m, 1) - 1)}{n + 1}"
    cols = ""
    if widths and m:
        cols = "<cols>" + "".join(
            f'<col min="{i + 1}" max="{i + 1}" width="{column_width(h, df.iloc[:200, i].tolist()):g}" '
            f'customWidth="1"/>' for i, h in enumerate(headers)) + "</cols>"
    head = (
        _DECL + f'<worksheet {_NS}><dimension ref="A1:{last}"/>'
        f'<sheetViews><sheetView{_SELECTED if selected else ""} workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/>{cols}<sheetData>{_header_xml(headers)}'
    )
    texts = sum(len(t) - t.null_count for parts in columns for kind, t in parts if kind == _TEXT)
    step = chunk_rows or CHUNK_ROWS
    starts = list(range(0, n, step))
    # the next chunk is formatted (pyarrow, GIL released) while this one is deflated (zlib, likewise)
    with zf.open(member, "w", force_zip64=n * m > 20_000_000) as out, \
            ThreadPoolExecutor(max_workers=1) as pool:
        _write(out, member, head.encode("utf-8"), observe)
        pending = [pool.submit(_chunk_xml, columns, s, min(s + step, n)) for s in starts[:1]]
        for i in range(len(starts)):
            chunk = pending.pop(0).result()
            if i + 1 < len(starts):
                nxt = starts[i + 1]
                pending.append(pool.submit(_chunk_xml, columns, nxt, min(nxt + step, n)))
            _write(out, member, _buffer_of(chunk), observe)
        _write(out, member, b"</sheetData></worksheet>", observe)
    return texts


def write_xlsx(sheets: list[tuple[str, pd.DataFrame]], *, widths: bool = True, observe: Observer = None) -> bytes:
    """An .xlsx of ``(sheet name, table)``: headers bold and frozen, no index, values as documented
    in this module. ~2–2.5 M cells/s (xlsxwriter via pandas: ~0.07 M).

    Parameters
    ----------
    sheets : sheet names must already be valid and unique (see ``render.sheet_names``).
    widths : set column widths from the header and the first 200 values.
    observe : called as ``observe(member, data)`` with the uncompressed bytes of every member, in
        the order they are written (a member's bytes may come in several calls): the classified-name
        scan reads the workbook's XML this way while it is compressed, instead of unzipping it after.

    Raises
    ------
    ValueError : a table with more rows (plus header) or columns than Excel holds, or a bad sheet name.
    """
    check_sheet_names([name for name, _ in sheets])
    for name, df in sheets:
        check_sheet_size(name, df)
    book = WorkbookWriter(widths=widths, observe=observe)
    for position, (name, df) in enumerate(sheets, 1):
        book.add(position, name, df)
    return book.finish([name for name, _ in sheets])


def check_sheet_names(names: list[str]) -> None:
    """ValueError unless every name is a valid Excel sheet name and no two are equal (ignoring case)."""
    seen: set[str] = set()
    for name in names:
        if not name or len(name) > 31 or _SHEET_BAD.search(name) or name.lower() in seen \
                or _FORBIDDEN_PY.search(name) or name.startswith("'") or name.endswith("'"):
            raise ValueError(f"工作表名无效或重复：{name!r}")
        seen.add(name.lower())


def check_sheet_size(name: str, df: pd.DataFrame) -> None:
    """ValueError when ``df`` has more rows (plus the header) or columns than an Excel sheet holds."""
    if len(df) + 1 > MAX_ROWS:
        raise ValueError(f"工作表「{name}」有 {len(df):,} 行，超过 Excel 每表 {MAX_ROWS - 1:,} 行数据的上限")
    if df.shape[1] > MAX_COLUMNS:
        raise ValueError(f"工作表「{name}」有 {df.shape[1]:,} 列，超过 Excel 每表 {MAX_COLUMNS:,} 列的上限")


class WorkbookWriter:
    """An .xlsx written a sheet at a time, in any order: :meth:`add` encodes and compresses a sheet
    at once (showing its XML to ``observe``), :meth:`finish` writes the shared strings and the
    workbook's own parts (after the sheets: a zip's parts may come in any order) and returns the
    bytes. :func:`write_xlsx` adds every sheet in order; perflib's runner adds a report's tables
    while its notebook still runs. ``chunk_rows``: rows formatted at a time (bounds the memory)."""

    def __init__(self, *, widths: bool = True, observe: Observer = None, chunk_rows: int | None = None):
        self.widths, self.observe, self.chunk_rows = widths, observe, chunk_rows
        self._buf = io.BytesIO()
        self._zf = zipfile.ZipFile(self._buf, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL)
        self._strings = pa.array([], type=pa.large_string())  # distinct texts, in order of first use
        self._texts = 0  # text cells, all sheets
        self.positions: list[int] = []  # 1-based positions of the sheets written

    def add(self, position: int, name: str, df: pd.DataFrame) -> None:
        """Write ``df`` as the sheet at ``position`` (1 is the first tab); ``name`` for messages."""
        if position < 1 or position in self.positions:
            raise ValueError(f"工作表位置无效或重复：{position}")
        check_sheet_size(name, df)
        columns = _sheet_columns(df)
        self._strings = _index_texts(columns, self._strings)
        self._texts += _write_sheet(self._zf, f"xl/worksheets/sheet{position}.xml", df, columns, position == 1,
                                    self.widths, self.observe, self.chunk_rows)
        self.positions.append(position)

    def finish(self, names: list[str]) -> bytes:
        """The workbook, its sheets named ``names`` in tab order (every position 1…n written)."""
        if sorted(self.positions) != list(range(1, len(names) + 1)):
            raise ValueError(f"工作表不全：已写 {sorted(self.positions)}，应为 1–{len(names)}")
        check_sheet_names(names)
        zf, observe, n = self._zf, self.observe, len(names)
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_CT_MAIN}.worksheet+xml"/>'
            for i in range(1, n + 1))
        overrides += f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT_MAIN}.sharedStrings+xml"/>'
        _put(zf, "[Content_Types].xml", (
            _DECL + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT_MAIN}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_CT_MAIN}.styles+xml"/>'
            f"{overrides}</Types>"), observe)
        _put(zf, "_rels/.rels", (
            _DECL + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"), observe)
        entries = "".join(
            f'<sheet name="{_xml_escape(name, {chr(34): "&quot;"})}" sheetId="{i}" r:id="rId{i}"/>'
            for i, name in enumerate(names, 1))
        _put(zf, "xl/workbook.xml", (
            _DECL + f'<workbook {_NS}><bookViews><workbookView activeTab="0"/></bookViews>'
            f"<sheets>{entries}</sheets></workbook>"), observe)
        rels = "".join(
            f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, n + 1))
        _put(zf, "xl/_rels/workbook.xml.rels", (
            _DECL + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'{rels}<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId{n + 2}" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>"), observe)
        _put(zf, "xl/styles.xml", _STYLES, observe)
        _write_shared_strings(zf, self._strings, self._texts, observe)
        zf.close()
        return self._buf.getvalue()

    def discard(self) -> None:
        """Drop a workbook that will not be finished (its buffer closed with it)."""
        self._zf.close()
        self._buf.close()
