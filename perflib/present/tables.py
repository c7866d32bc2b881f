"""One table look for every report table, on the page and in the xlsx.

:func:`layout` turns an analysis frame into the table as shown: a :class:`~perflib.present.labels.View`
(or a list of columns) chooses the columns and their order, headers become Chinese, raw values are
put in the shown unit (万元, 百分点) and every column gets one :class:`~perflib.present.labels.Kind`,
decided per column (never per value). :func:`cell_texts` formats a whole column in that kind (one
number of decimals, one unit suffix; missing values are :data:`~perflib.present.labels.MISSING`);
:func:`table_html` draws the table; :func:`number_formats` gives the xlsx writer its Excel formats.
Columns a view does not name get their kind guessed from their header and dtype (年度 → year,
（元） → money, 率 → rate …), so a frame with Chinese headers still shows one format per column.
"""
from __future__ import annotations

import datetime as dt
import decimal
import html
import math
import re
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .labels import (BOOL, CODE, COUNT, DATE, KINDS, MISSING, MONEY, MONTH, NUMBER, RATE, SCORE,
                     TEXT, VIEWS, YEAR, Z, Column, Kind, View, column, lookup)

KINDS_ATTR = "perflib_kinds"  # frame.attrs key: {header: kind name}, kept in the pickled table for the xlsx

_YEAR = re.compile(r"(年度|年份|^year$|_year$|^fiscal_year$)", re.IGNORECASE)
_MONTH = re.compile(r"(月份|^month$|_month$)", re.IGNORECASE)
_SHOWN_PERCENT = re.compile(r"(（%）|\(%\)|％|百分点|（pp）)")
_RATE = re.compile(r"(率|占比|进度|比例|rate|share|progress)", re.IGNORECASE)
_MONEY = re.compile(r"(（元）|（万元）|（亿元）|金额|预算|资金|支出数|执行数|申请数|安排数|成本|"
                    r"amount|budget|spent|cost)", re.IGNORECASE)
_COUNT = re.compile(r"(数$|个数|项目数|数量|^n_|count|projects$)", re.IGNORECASE)
_SCORE = re.compile(r"(得分|分值|总分|^决策$|^过程$|^产出$|^效益$|score)", re.IGNORECASE)
_Z = re.compile(r"(z ?值|robust_z)", re.IGNORECASE)
_CODE = re.compile(r"(编码|代码|_code$|_id$)", re.IGNORECASE)


def guess_kind(name: Any, s: pd.Series) -> Kind:
    """The kind of a column no view names, from its header and dtype (values taken as shown)."""
    label = str(name)
    if pd.api.types.is_bool_dtype(s.dtype):
        return BOOL
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return DATE
    if not pd.api.types.is_numeric_dtype(s.dtype):
        values = s.dropna()
        if len(values) and all(isinstance(v, (bool, np.bool_)) for v in values):
            return BOOL
        if len(values) and all(isinstance(v, (dt.date, pd.Timestamp)) for v in values):
            return DATE
        if len(values) and all(isinstance(v, (int, float, np.integer, np.floating, decimal.Decimal))
                               and not isinstance(v, (bool, np.bool_)) for v in values):
            return guess_kind(name, pd.to_numeric(values.astype("float64")))
        return CODE if _CODE.search(label) else TEXT
    if _YEAR.search(label) and not _MONEY.search(label):
        return YEAR
    if _MONTH.search(label):
        return MONTH
    if _Z.search(label):
        return Z
    if _SHOWN_PERCENT.search(label):
        return SCORE  # already in percent (points): two decimals, no scaling
    if _RATE.search(label) and pd.api.types.is_float_dtype(s.dtype):
        return RATE
    if _MONEY.search(label):
        return MONEY
    if _SCORE.search(label):
        return SCORE
    finite = s[np.isfinite(s.astype("float64"))] if len(s) else s
    integral = bool(len(finite)) and bool((finite.astype("float64") % 1 == 0).all())
    if pd.api.types.is_integer_dtype(s.dtype) or (integral and _COUNT.search(label)):
        return COUNT
    return NUMBER


def resolve_view(columns: View | str | Sequence | None) -> View | None:
    """A view from its name in :data:`~perflib.present.labels.VIEWS`, a list of column names /
    ``(name, label)`` / ``(name, label, kind)`` / :class:`Column` entries, or as given."""
    if columns is None or isinstance(columns, View):
        return columns
    if isinstance(columns, str):
        try:
            return VIEWS[columns]
        except KeyError:
            raise KeyError(f"no table view named {columns!r}; known: {sorted(VIEWS)}") from None
    cols = []
    for c in columns:
        if isinstance(c, Column):
            cols.append(c)
        else:
            c = (c,) if isinstance(c, str) else tuple(c)
            cols.append(column(*c))
    return View(tuple(cols))


def layout(df: pd.DataFrame, columns: View | str | Sequence | None = None) -> tuple[pd.DataFrame, list[Kind]]:
    """(the table as shown, each column's kind): the view's columns with Chinese headers and values
    in the shown unit; without a view every column, labelled by ``labels.LABELS``/``labels.PATTERNS`` where it is named
    there (its kind guessed from the header otherwise)."""
    view = resolve_view(columns)
    named = view.named() if view is not None else {}
    if view is None or view.every:
        chosen = [named.get(c) or lookup(c) or c for c in df.columns
                  if view is None or c not in view.drop]
    else:
        missing = [c.name for c in view.columns if c.name not in df.columns]
        if missing:
            raise KeyError(f"table has no column(s) {missing}; it has {list(df.columns)}")
        chosen = list(view.columns)
    data: dict[str, pd.Series] = {}
    kinds: list[Kind] = []
    for c in chosen:
        if isinstance(c, Column):
            s = df[c.name]
            kind = c.kind
            if kind.words:  # a coded value shown as its word (a value without a word as it is)
                words = dict(kind.words)
                s, kind = s.map(lambda v: words.get(v, v)), TEXT
            elif kind.scale != 1.0:
                s = (pd.to_numeric(s, errors="coerce").astype("float64") * kind.scale).round(kind.decimals)
            header = c.header
        else:
            s, header = df[c], str(c) if not isinstance(c, str) else c
            kind = guess_kind(c, s)
        if header in data:
            raise ValueError(f"two columns of the table would both be headed {header!r}")
        data[header] = s.reset_index(drop=True)
        kinds.append(kind.shown())
    out = pd.DataFrame(data) if data else pd.DataFrame(index=range(len(df)))
    return out, kinds


def with_kinds(df: pd.DataFrame, kinds: Iterable[Kind]) -> pd.DataFrame:
    """The frame with its columns' kinds recorded in ``attrs`` (they travel with a pickled table)."""
    df.attrs[KINDS_ATTR] = {str(c): k.name for c, k in zip(df.columns, kinds)}
    return df


def kinds_of(df: pd.DataFrame) -> list[Kind]:
    """The kinds recorded by :func:`with_kinds`, or guessed from the headers."""
    known = df.attrs.get(KINDS_ATTR) or {}
    return [KINDS[known[str(c)]] if str(c) in known else guess_kind(c, df[c]) for c in df.columns]


def number_formats(df: pd.DataFrame) -> list[str | None]:
    """Per column, the Excel number format of its kind (None: the writer's default)."""
    return [k.xlsx for k in kinds_of(df)]


# --- cells -----------------------------------------------------------------------------------------
def _missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, (float, np.floating)):
        return not math.isfinite(float(v))
    if isinstance(v, str):
        return not v.strip()
    return False


def number_text(value: float, kind: Kind) -> str:
    """One number in a numeric kind: its decimals, separators and % sign (the value as shown)."""
    f = float(value) * (100.0 if kind.percent else 1.0)
    nd = kind.decimals or 0
    text = f"{f:,.{nd}f}" if kind.separators else f"{f:.{nd}f}"
    if text.lstrip("-").strip("0.,") == "":
        text = text.lstrip("-")  # no −0.00
    return text + ("%" if kind.percent else "")


def cell_text(value: Any, kind: Kind) -> tuple[str, str]:
    """(display text, sort key) of one cell in its column's kind."""
    if _missing(value):
        return MISSING, ""
    if kind.numeric and not isinstance(value, (bool, np.bool_, str)):
        try:
            f = float(value)
        except (TypeError, ValueError):
            return str(value), ""
        return number_text(f, kind), repr(f)
    if isinstance(value, (bool, np.bool_)):
        return ("是" if value else "否"), ("1" if value else "0")
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        text = value.strftime("%Y-%m-%d")
        return text, text
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value)), repr(float(value))  # a code or year kept in a float column
    return str(value), ""


def cell_texts(s: pd.Series, kind: Kind) -> list[tuple[str, str]]:
    """Every cell of one column in its kind."""
    return [cell_text(v, kind) for v in s.tolist()]


# --- HTML ------------------------------------------------------------------------------------------
def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _th(header: str, kind: Kind) -> str:
    return (f'<th data-type="{"num" if kind.numeric else "text"}" data-kind="{kind.name}">'
            f"{esc(header)}</th>")


def table_html(df: pd.DataFrame, kinds: Sequence[Kind], title: str, rows: pd.DataFrame | None = None,
               note: str = "") -> str:
    """A sortable/searchable (by the page's inline script) HTML table; every value escaped.

    ``df``: the whole table (its length is the row count); ``rows``: the rows shown (default all);
    ``note``: HTML of a note under the table (already escaped)."""
    shown = df if rows is None else rows
    head = "".join(_th(str(c), k) for c, k in zip(df.columns, kinds))
    columns = [cell_texts(shown.iloc[:, j], k) for j, k in enumerate(kinds)]
    classes = [f' class="k-{k.name}"' for k in kinds]
    body = []
    for i in range(len(shown)):
        cells = []
        for j, col in enumerate(columns):
            text, key = col[i]
            attr = f' data-v="{esc(key)}"' if key else ""
            cells.append(f"<td{classes[j]}{attr}>{esc(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="perf-table-wrap"><p class="perf-caption">{esc(title)}</p>'
        f'<div class="perf-table-scroll"><table class="perf-table" data-rows="{len(shown)}">'
        f'<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>{note}</div>'
    )


__all__ = ["KINDS_ATTR", "guess_kind", "resolve_view", "layout", "with_kinds", "kinds_of", "number_formats",
           "number_text", "cell_text", "cell_texts", "esc", "table_html", "MONEY", "RATE", "COUNT", "YEAR",
           "MONTH", "SCORE", "Z", "TEXT", "CODE", "NUMBER", "DATE", "BOOL"]
