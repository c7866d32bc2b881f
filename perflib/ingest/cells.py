"""One cell → one typed value: money with its unit (元/万元/亿元), numbers, integers, dates, 是/否,
codes, allowed values and indicator values, as the budget system's exports write them (full-width
digits, thousands separators, Excel serial dates, 1.2E+06 refused).

:func:`converter` gives the function for a column; :func:`convert_cell` applies one and words the
problem; both readers convert every cell through them, so a value reads the same either way.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Callable

import pandas as pd

from ..schema import (
    BOOL, CODE, DATE, ENUM, ENUM_SYNONYMS, FALSE_WORDS, INT, MONEY, MONEY_UNITS, MONTH, NUMBER,
    TRUE_WORDS, VALUE, YEAR, Column,
)
from .model import Unreadable

__all__ = [
    "EXCEL_ERRORS", "nfkc", "is_empty", "decimal_from_text", "parse_money", "parse_date",
    "normalize_enum", "converter", "convert_cell", "typed_series", "expected_text",
]

EXCEL_ERRORS = frozenset({
    "#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
    "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#UNKNOWN!", "#CONNECT!", "#BUSY!",
})
CENT = Decimal("0.01")


def nfkc(text: str) -> str:
    """``text`` in NFKC form (full-width digits and letters made plain), stripped."""
    return unicodedata.normalize("NFKC", text).strip()


# --- cell parsing --------------------------------------------------------------------------------

def is_empty(v) -> bool:
    """None, NaN, or text of only whitespace."""
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


def decimal_from_text(text: str, *, percent: bool = False) -> Decimal:
    """The exact number a text cell writes (¥, spaces, thousands separators, with ``percent`` a
    trailing %); raises :class:`Unreadable`."""
    t = nfkc(text).replace(" ", "").replace("¥", "").replace("￥", "")
    if percent and t.endswith("%"):
        t = t[:-1]
    if _GROUPED_RE.match(t):
        t = t.replace(",", "")
    if not _NUMBER_RE.match(t):
        raise Unreadable(_SCIENTIFIC_MESSAGE if _SCIENTIFIC_RE.match(t) else "不是数值")
    return Decimal(t)


def _decimal(v, *, percent: bool = False) -> Decimal:
    if isinstance(v, bool):
        raise Unreadable("不是数值")
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, float):
        if math.isinf(v):
            raise Unreadable("不是有限数值")
        return Decimal(repr(v))
    if isinstance(v, Decimal):
        return v
    if isinstance(v, str):
        return decimal_from_text(v, percent=percent)
    raise Unreadable("不是数值")


def parse_money(v, unit: str | None = None) -> Decimal:
    """A money cell in 元, exact to the fen (the header's unit 元/万元/亿元 applied). A cell may repeat
    its column's unit (``300,000.00元``); another unit in a cell (``12万元`` in a 元 column) is refused,
    never converted cell by cell."""
    unit = unit or "元"
    if isinstance(v, str) and v.rstrip().endswith("元"):
        m = _MONEY_SUFFIX_RE.match(nfkc(v))
        if m and m.group(2) != unit:
            raise Unreadable(f"带单位「{m.group(2)}」，与本列的单位「{unit}」不一致（不逐格换算单位）；请去掉单位，"
                       f"把整列换算为同一单位，单位写在表头，如「年初预算数（万元）」")
        if m:
            v = m.group(1)
    factor = MONEY_UNITS[unit]
    return (_decimal(v) * factor).quantize(CENT, rounding=ROUND_HALF_UP)


def _number(v) -> float:
    return float(_decimal(v, percent=True))


def _integer(v, suffixes: tuple[str, ...] = ()) -> int:
    if isinstance(v, str):
        t = nfkc(v)
        for s in suffixes:
            if t.endswith(s):
                t = t[: -len(s)].strip()
                break
        v = t
    d = _decimal(v)
    if d != d.to_integral_value():
        raise Unreadable("不是整数")
    if not -2**63 <= d < 2**63:  # beyond a 64-bit integer column (found by the reader fuzzing)
        raise Unreadable("过大，不是有效的整数")
    return int(d)


_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def _serial_date(x: float) -> dt.date:
    if not 1 <= x < 2958466:
        raise Unreadable("不是有效的日期")
    return _EXCEL_EPOCH + dt.timedelta(days=int(x))


def parse_date(v) -> dt.date:
    """A date cell: a real date/datetime, an Excel serial number, or 2023-07-31 / 2023/7/31 /
    2023年7月31日 / 20230731 text."""
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, bool):
        raise Unreadable("不是日期")
    if isinstance(v, (int, float)):
        return _serial_date(float(v))
    if isinstance(v, str):
        t = re.sub(r"\s+", " ", nfkc(v))
        for pat in _DATE_PATTERNS:
            m = pat.match(t)
            if m:
                y, mo, d = (int(g) for g in m.groups()[:3])
                try:
                    return dt.date(y, mo, d)
                except ValueError:
                    raise Unreadable("不是有效的日期") from None
        if _NUMBER_RE.match(t):
            return _serial_date(float(t))
    raise Unreadable("不是可识别的日期")


_TRUE = {w.lower() for w in TRUE_WORDS}
_FALSE = {w.lower() for w in FALSE_WORDS}


def _bool(v) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and v in (0, 1):
        return bool(v)
    if isinstance(v, str):
        t = nfkc(v).lower()
        if t in _TRUE:
            return True
        if t in _FALSE:
            return False
    raise Unreadable("不是 是/否")


def _plain_number_text(d: Decimal) -> str:
    d = d.normalize()
    text = format(d, "f")
    return "0" if text in ("-0", "") else text


def _code(v) -> str:
    if isinstance(v, bool):
        raise Unreadable("不是编码")
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, (dt.date, dt.datetime)):
        raise Unreadable("是日期，不是编码")
    text = nfkc(str(v))
    if _SCIENTIFIC_RE.match(text) and "." in text:
        raise Unreadable(_SCIENTIFIC_MESSAGE.replace("数值或文本", "文本"))
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
        _ENUM_MAP[re.sub(r"\s+", "", nfkc(_s))] = _canon


def normalize_enum(v) -> str:
    """An allowed-value cell with spaces removed and synonyms mapped (``>=`` → ``≥``, ``产出`` →
    ``产出指标``); values not allowed are kept as written for validation to report."""
    t = re.sub(r"\s+", "", str(v).strip())
    if t in _ENUM_MAP:
        return _ENUM_MAP[t]
    n = re.sub(r"\s+", "", nfkc(t))
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
        return _plain_number_text(decimal_from_text(t, percent=True))
    except (Unreadable, InvalidOperation):
        return t


def converter(column: Column, unit: str | None) -> Callable[[object], object]:
    """The function reading a non-empty cell of ``column`` (money in ``unit``); it raises
    :class:`Unreadable` (or a decimal/value error) for a cell it cannot read."""
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


def typed_series(kind: str, values: list) -> pd.Series:
    """A column of parsed values in its pandas dtype (money Decimal/None in object columns, dates
    ``datetime.date``/None, ints nullable Int64, bools nullable boolean, numbers float)."""
    if kind in (INT, YEAR, MONTH):
        return pd.Series(values, dtype="Int64")
    if kind == BOOL:
        return pd.Series(values, dtype="boolean")
    if kind == NUMBER:
        return pd.Series([math.nan if v is None else v for v in values], dtype="float64")
    return pd.Series(values, dtype=object)


def convert_cell(convert: Callable[[object], object], v) -> tuple[bool, object]:
    """``(True, value)`` of a non-empty cell converted by ``convert``, or ``(False, message)``: the
    Chinese problem text (an Excel error value, or why the value is not of its column's kind)."""
    if isinstance(v, str) and v.strip() in EXCEL_ERRORS:
        return False, f"单元格是 Excel 错误值 {v.strip()}（公式出错）"
    try:
        return True, convert(v)
    except (Unreadable, InvalidOperation, ValueError, OverflowError) as exc:
        reason = str(exc) if isinstance(exc, Unreadable) else "无法识别"
        return False, f"取值{reason}"


def expected_text(col: Column, unit: str | None) -> str:
    """What a cell of ``col`` should hold, in Chinese (with the column's unit if not 元)."""
    text = col.expected()
    if col.kind == MONEY and unit and unit != "元":
        text += f"（本列单位：{unit}）"
    return text
