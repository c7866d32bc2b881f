"""SQL snippets of the bulk reader: literals, the typed *fast path* of a raw text cell (only forms
whose Python result is certain), the test for records that might not be data, and Arrow arrays of
typed values for DuckDB.
"""
from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pyarrow as pa

from ...schema import (
    BOOL, CODE, DATE, ENUM, INT, MONEY, MONEY_UNITS, MONTH, NUMBER, TEXT, VALUE, YEAR, Column,
)

__all__ = ["quote", "ident", "literal", "typed_sql", "suspicious_sql", "arrow_values", "FITS"]

# A first character that is surely no whitespace (Python's str.isspace(): all below '!' or below
# '一'), nor the start of an Excel error value (#REF!…): ASCII '$'…'~' or a character from '一' on.
_EDGE_OK = ("(({x} >= '$' AND {x} < chr(127)) OR {x} >= '一' OR ({x} >= '\u2010' AND {x} < '\u2028') "
            "OR ({x} >= '\u2030' AND {x} < '\u205f') OR ({x} >= '\u3001' AND {x} < '一'))")
# what the store's types hold; a value the Python reader reads beyond them (validation refuses it)
# is kept aside in _big_<table> so that the checks word it as the Python path does
FITS = {MONEY: lambda v: abs(v) < Decimal(10) ** 16, YEAR: lambda v: -2**31 <= v < 2**31,
         MONTH: lambda v: -2**31 <= v < 2**31, INT: lambda v: -2**63 <= v < 2**63}


def quote(text) -> str:
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def ident(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def literal(value, column: Column) -> str:
    """A column's default value as a typed SQL literal."""
    if value is None:
        return f"CAST(NULL AS {column.sql_type})"
    if column.kind == BOOL:
        return "true" if value else "false"
    return f"CAST({quote(value)} AS {column.sql_type})"


def typed_sql(x: str, column: Column, unit: str | None) -> str:
    """SQL: the typed value of the raw text ``x`` where its Python conversion is certain, else NULL.

    Each form accepted gives exactly what :func:`perflib.ingest.cells.converter` gives (test_bulk checks
    it property-wise against the Python converters); all other texts go to Python."""
    kind = column.kind
    last = f"right({x}, 1)"
    if kind == CODE:   # ASCII: NFKC leaves it; no edge spaces; not 1.2E+17 (refused by the reader)
        return (f"CASE WHEN strlen({x}) = length({x}) AND {x} >= '$' AND {last} >= '!' AND NOT "
                f"(contains({x}, '.') AND (contains({x}, 'e') OR contains({x}, 'E'))) THEN {x} END")
    if kind == TEXT:
        return (f"CASE WHEN {_EDGE_OK.format(x=x)} AND ({last} >= '!' AND {last} < chr(127) "
                f"OR {_EDGE_OK.format(x=last)}) THEN {x} END")
    if kind == ENUM:
        return f"CASE WHEN {x} IN ({', '.join(quote(a) for a in column.allowed)}) THEN {x} END"
    if kind == BOOL:
        return f"CASE WHEN {x} = '是' THEN true WHEN {x} = '否' THEN false END"
    if kind in (YEAR, MONTH, INT):
        t = column.sql_type
        return f"CASE WHEN TRY_CAST({x} AS {t})::VARCHAR = {x} THEN TRY_CAST({x} AS {t}) END"
    if kind == DATE:
        return (f"CASE WHEN strlen({x}) = 10 AND TRY_CAST({x} AS DATE)::VARCHAR = {x} "
                f"THEN TRY_CAST({x} AS DATE) END")
    no_exp = f"NOT (contains({x}, 'e') OR contains({x}, 'E') OR contains({x}, '_'))"
    if kind == MONEY:
        factor = MONEY_UNITS[unit or "元"]
        scale = 2 + len(str(factor)) - 1
        if factor == 1:
            cast = "TRY_CAST({v} AS DECIMAL(18,2))"
        else:
            cast = f"TRY_CAST(TRY_CAST({{v}} AS DECIMAL(38,{scale})) * {factor} AS DECIMAL(18,2))"
        grouped = r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?"
        ungrouped = f"replace({x}, ',', '')"
        return (f"CASE WHEN {no_exp} THEN coalesce({cast.format(v=x)}, "
                f"CASE WHEN contains({x}, ',') AND regexp_full_match({x}, '{grouped}') "
                f"THEN {cast.format(v=ungrouped)} END) END")
    if kind == NUMBER:
        return (f"CASE WHEN {no_exp} AND TRY_CAST({x} AS DECIMAL(38,10)) IS NOT NULL "
                f"THEN TRY_CAST({x} AS DOUBLE) END")
    if kind == VALUE:   # canonical numbers stay as written; text starting with a CJK ideograph too
        return (f"CASE WHEN NOT ({x} >= '#' AND {x} < '$') THEN CASE WHEN TRY_CAST({x} AS BIGINT)::VARCHAR = {x} THEN {x} "
                f"WHEN TRY_CAST({x} AS DOUBLE)::VARCHAR = {x} AND NOT suffix({x}, '.0') THEN {x} "
                f"WHEN {x} >= '一' AND {x} < 'ꀀ' AND ({last} >= '!' AND {last} < chr(127) OR {last} >= '一') "
                f"THEN {x} END END")
    raise ValueError(kind)  # pragma: no cover


def _maybe_empty(x: str) -> str:
    """SQL: cell ``x`` may be empty (false means surely not)."""
    return f"({x} IS NULL OR NOT {_EDGE_OK.format(x=x)})"


def suspicious_sql(cells: list[str], j0: int | None, k0: str | None) -> str:
    """SQL: the record might not be a data row (blank, a repeated header, a 合计/小计 row): its first
    cell may be empty or holds 计, or its first mapped cell holds the header's text. Nested CASEs
    so that the costlier tests run on the few rows the cheap ones leave."""
    c0 = cells[0]
    all_empty = " AND ".join(_maybe_empty(c) for c in cells)
    joined = "concat(" + ", ".join(cells) + ")"
    header = f"coalesce(contains({cells[j0]}, {quote(k0)}), false)" if j0 is not None and k0 else "false"
    return (f"CASE WHEN coalesce(contains({c0}, '计'), false) THEN true "
            f"WHEN {_maybe_empty(c0)} THEN ({all_empty}) OR contains({joined}, '计') "
            f"ELSE {header} END")


def _arrow_type(column: Column) -> pa.DataType:
    return {MONEY: pa.decimal128(18, 2), DATE: pa.date32(), INT: pa.int64(), YEAR: pa.int32(),
            MONTH: pa.int32(), NUMBER: pa.float64(), BOOL: pa.bool_()}.get(column.kind, pa.string())


def arrow_values(column: Column, values: list) -> pa.Array:
    """Typed values (None/NaN/NA for empty) as an Arrow array of the column's store type."""
    clean = [None if (v is None or v is pd.NA or (isinstance(v, float) and v != v)) else v
             for v in values]
    if column.kind in (CODE, TEXT, ENUM, VALUE):
        clean = [None if v is None else str(v) for v in clean]
    elif column.kind in (INT, YEAR, MONTH):
        clean = [None if v is None else int(v) for v in clean]
    elif column.kind == BOOL:
        clean = [None if v is None else bool(v) for v in clean]
    return pa.array(clean, type=_arrow_type(column))

