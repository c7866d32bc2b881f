"""Which years the store holds, table by table: a comparison with a year (or a range of years) the
data do not hold is never stated; the sentence says that year is not in the data instead.
"""
from __future__ import annotations

from ..schema import TABLES


def years_held(store, table: str) -> set[int]:
    """The years for which the store holds rows of ``table``."""
    if table not in TABLES:
        raise KeyError(f"no table {table!r}")
    return {int(y) for y in store.sql(f"SELECT DISTINCT year FROM {table} WHERE year IS NOT NULL")["year"]}


def holds_year(store, year: int, *tables: str) -> bool:
    """Whether the store holds ``year`` in every one of ``tables`` (default: projects)."""
    return all(int(year) in years_held(store, t) for t in (tables or ("projects",)))
