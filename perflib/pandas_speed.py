"""pandas slow paths made fast, for the frames perflib reads from DuckDB (strings backed by Arrow).

pandas 3's ``ArrowStringArray.isin`` builds a Python ``pyarrow.scalar`` for every value it is
given before one ``pyarrow.compute.is_in``: ``projects["project_id"].isin(other["project_id"])``
over a province's ~330,000 projects takes 2.3 s, the ``is_in`` itself 0.15 s. When the values are
themselves an Arrow-backed string array (a column of another frame, the usual case here), their
Arrow array is the value set as it is; a set, list or object array of Python strings is converted
by Arrow in one call (a set of 300,000 codes: 3.4 s → 0.3 s). Either way the same strings and the
same missing values, so the answer is the same (``tests/test_pandas_speed.py`` compares the two).
Values holding any other type take pandas' own path. :func:`install` is called when
:mod:`perflib.store` is imported, once per process.

:func:`merge_on_unique` is a left merge on a unique string key done by lookup rather than by
factorising both sides.

It also has Arrow allocate from the C library (:func:`use_system_allocator`) unless
``ARROW_DEFAULT_MEMORY_POOL`` names a pool: with pyarrow's default, mimalloc, the province reports'
notebook cells took 25–35 % longer here and peaked higher (``benchmarks/README.md``).
"""
from __future__ import annotations

import numpy as np

__all__ = ["arrow_strings", "install", "installed", "merge_on_unique", "use_system_allocator"]

_ORIGINAL = {}


def arrow_strings(values) -> "pa.Array":
    """The Arrow string array behind ``values`` (a Series, or a pandas array), its chunks combined:
    taken through the ``__arrow_array__`` protocol, without a Python object per value (``pa.array``
    of a string Series goes through objects: about a second per million values)."""
    import pandas as pd
    import pyarrow as pa

    if isinstance(values, pd.Series):
        values = values.astype("string").array
    arr = pa.array(values)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def merge_on_unique(df, right, on: str):
    """``df.merge(right, on=on, how="left")`` when ``right``'s keys are unique strings: each row's
    columns of ``right`` looked up by position (Arrow's ``index_in``, then ``take``), which a merge
    factorising a province year's ~330,000 codes took 2–4× longer to do; the merge otherwise."""
    import pandas as pd
    import pyarrow.compute as pc

    if not (pd.api.types.is_string_dtype(df[on]) and pd.api.types.is_string_dtype(right[on])):
        return df.merge(right, on=on, how="left")
    keys = arrow_strings(right[on])
    # missing or repeated keys: the merge (Arrow's unique: 2× faster than its count_distinct, 1.4×
    # than pandas' is_unique on a province year's ~320,000 codes)
    if keys.null_count or len(pc.unique(keys)) != len(keys):
        return df.merge(right, on=on, how="left")
    at = pc.fill_null(pc.index_in(arrow_strings(df[on]), value_set=keys), -1).to_numpy()
    out = df.copy(deep=False)
    for c in right.columns.drop(on):
        out[c] = pd.Series(right[c].array.take(at, allow_fill=True), index=df.index, name=c)
    return out.reset_index(drop=True)


def _value_set(values):
    """``values`` as an Arrow string array when they are all strings or missing, else None.

    A column or index backed by Arrow strings is taken as it is; a list, set or object array of
    Python strings is converted by Arrow in one call (pandas makes one scalar per value: 3.4 s for
    a set of 300,000 codes). Anything holding another type gives None: pandas' own path then keeps
    only its strings, as before."""
    import pyarrow as pa
    from pandas.arrays import ArrowStringArray

    if isinstance(values, ArrowStringArray):
        return arrow_strings(values)
    if not isinstance(values, np.ndarray) or values.dtype != object or values.ndim != 1:
        return None
    try:
        arr = pa.array(values, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    return arr if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type) else None


def _fast_isin(self, values):
    """``ArrowStringArray.isin`` with the value set built by Arrow (:func:`_value_set`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    value_set = _value_set(values)
    if value_set is None:
        return _ORIGINAL["isin"](self, values)
    if not len(value_set):
        return np.zeros(len(self), dtype=bool)
    mine = pa.array(self)  # through the __arrow_array__ protocol
    return np.array(pc.is_in(mine, value_set=value_set.cast(mine.type)), dtype=np.bool_)


def use_system_allocator() -> None:
    """Arrow's buffers from the C library's allocator, unless ``ARROW_DEFAULT_MEMORY_POOL`` chooses
    a pool (then pyarrow has already used it). Buffers made before keep the pool that made them."""
    import os

    import pyarrow as pa

    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        pa.set_memory_pool(pa.system_memory_pool())


def install() -> None:
    """Replace ``ArrowStringArray.isin`` by :func:`_fast_isin` and use the system allocator
    (idempotent)."""
    from pandas.arrays import ArrowStringArray

    use_system_allocator()
    if "isin" not in _ORIGINAL:
        _ORIGINAL["isin"] = ArrowStringArray.isin
        ArrowStringArray.isin = _fast_isin


def installed() -> bool:
    from pandas.arrays import ArrowStringArray

    return ArrowStringArray.isin is _fast_isin
