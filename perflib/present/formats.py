"""Number-to-text formatters for the reports' narrative: money in 元/万元/亿元 as the seed document
writes it, rates as %, changes (增加/减少/持平), name lists (「…等」) and scores.

One function per job; every sentence of :mod:`perflib.present.text` words its numbers with these, so
the same kind of number reads the same in every report. Tables are formatted elsewhere
(``present/labels.py``, ``present/tables.py``).
"""
from __future__ import annotations

import math

from .labels import MISSING as DASH  # the one missing-value marker, in sentences as in tables

WAN = 10_000
YI = 100_000_000


def _missing(x) -> bool:
    """None or NaN."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def yi(amount: float, digits: int = 0) -> str:
    """元 → 亿元 number as the seed writes it: 8_800_000_000 → '88', digits=2 → '24.15'."""
    return f"{amount / YI:.{digits}f}"


def wan(amount: float, digits: int = 0, grouped: bool = False) -> str:
    """元 → 万元 number: without thousands separators as the seed writes it (「936947 万元」), or
    ``grouped`` with them (「1,234.56」)."""
    return f"{amount / WAN:,.{digits}f}" if grouped else f"{amount / WAN:.{digits}f}"


def money_parts(x: float, digits: int | None = None) -> tuple[str, float, str]:
    """(number text, divisor, unit) of an amount in a sentence: 亿元 from 1 亿 up (whole 亿 from
    10 亿, as the seed writes 88 亿元; 2 decimals below), else whole 万元."""
    a = abs(float(x))
    if a >= 1e9:
        d, unit, nd = 1e8, "亿元", 0
    elif a >= 1e8:
        d, unit, nd = 1e8, "亿元", 2
    else:
        d, unit, nd = 1e4, "万元", 0
    nd = nd if digits is None else digits
    return f"{x / d:.{nd}f}", d, unit


def money_words(amount: float, digits: int | None = None) -> str:
    """An amount as a headline sentence writes it (:func:`money_parts`): 「88 亿元」, 「24.15 亿元」,
    「620 万元」."""
    text, _, unit = money_parts(amount, digits)
    return f"{text} {unit}"


def pct(rate: float | None, digits: int = 2, missing: str = DASH) -> str:
    """A fraction as a percentage: 0.3147 → '31.47%'; ``missing`` when None or NaN."""
    return missing if _missing(rate) else f"{rate * 100:.{digits}f}%"


def ratio_pct(num: float, den: float, digits: int = 2, missing: str = DASH) -> str:
    """num / den as a percentage, ``missing`` when den is 0."""
    return missing if not den else pct(num / den, digits)


def score(x: float | None, digits: int = 2, missing: str = DASH) -> str:
    """A score (or index) with ``digits`` decimals: 87.456 → '87.46'."""
    return missing if _missing(x) else f"{x:.{digits}f}"


def change(diff: float, unit_text: str, up: str = "增加", down: str = "减少", flat_below: float = 0.0) -> str:
    """「增加 120 个」/「减少 3 个」/「持平」 for a signed difference whose size the caller has
    already worded as ``unit_text``; 「持平」 when 0 or (``flat_below``) smaller in size."""
    if diff == 0 or abs(diff) < flat_below:
        return "持平"
    return f"{up if diff > 0 else down}{unit_text}"


def count_change(cur: int, prev: int) -> str:
    """「增加 N」/「减少 N」/「持平」 between two counts."""
    diff = int(cur) - int(prev)
    return change(diff, f" {abs(diff)}")


def money_change(cur: float, prev: float, unit_of: float | None = None) -> str:
    """「增加 X 亿元」/「减少 X 万元」/「持平」: the difference of two amounts as they are written
    (rounded in the unit of the larger one, or of ``unit_of``), so a sentence's figures add up."""
    text, d, unit = money_parts(max(abs(cur), abs(prev)) if unit_of is None else unit_of)
    nd = len(text.split(".")[1]) if "." in text else 0
    diff = round(cur / d, nd) - round(prev / d, nd)
    if round(diff, nd) == 0:
        return "持平"
    return change(diff, f" {abs(diff):.{nd}f} {unit}")


def name_list(names, limit: int | None = 3, quote: tuple[str, str] = ("“", "”"), sep: str = "、",
              last: str = " 和 ", more: str = " 等") -> str:
    """Names joined as a sentence lists them: 「“A”、“B” 和 “C”」; past ``limit`` names only the
    first ``limit`` and ``more`` (「“A”、“B”、“C” 等」). Empty names are skipped."""
    names = [str(n) for n in names if n is not None and str(n) != ""]
    if not names:
        return ""
    quoted = [f"{quote[0]}{n}{quote[1]}" for n in names]
    if limit is not None and len(quoted) > limit:
        return sep.join(quoted[:limit]) + more
    return quoted[0] if len(quoted) == 1 else sep.join(quoted[:-1]) + last + quoted[-1]


def plain_list(items) -> str:
    """Items as the evaluation report lists them: 「A、B和C」 (no quotes, no spaces, no limit)."""
    return name_list(items, limit=None, quote=("", ""), last="和")


def year_span(years) -> str:
    """Years as a sentence names them: 「2021—2023」 when consecutive, 「2021、2023」 otherwise,
    「2023」 for one (no 年: the caller adds it); the years come from the data, not from a window."""
    ys = sorted({int(y) for y in years})
    if not ys:
        return ""
    if len(ys) == 1:
        return str(ys[0])
    if ys == list(range(ys[0], ys[-1] + 1)):
        return f"{ys[0]}—{ys[-1]}"
    return "、".join(str(y) for y in ys)
