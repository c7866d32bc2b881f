"""perflib.pandas_speed: the fast ``isin`` of Arrow-backed strings answers exactly as pandas' own."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from perflib import pandas_speed


def _original_isin(arr, values):
    return pandas_speed._ORIGINAL["isin"](arr, values)


def test_importing_the_store_installs_it():
    import perflib.store  # noqa: F401

    assert pandas_speed.installed()


@pytest.mark.parametrize("seed", range(6))
def test_isin_of_a_string_column_equals_pandas_own(seed):
    """Random codes with missing values, duplicates, several Arrow chunks, empty value sets, and
    values given as a column, an index, a list, a set or numbers: the same answer either way."""
    import perflib.store  # noqa: F401

    rng = np.random.default_rng(seed)
    pool = [f"P{i:04d}" for i in range(200)] + ["", " P0001", "项目甲", "涉密"]

    def column(n, missing):
        vals = [None if rng.random() < missing else pool[rng.integers(len(pool))] for _ in range(n)]
        parts = np.array_split(np.array(vals, dtype=object), rng.integers(1, 4))
        return pd.concat([pd.Series(list(p), dtype="str") for p in parts], ignore_index=True)

    s = column(int(rng.integers(0, 400)), 0.1)
    for values in (column(int(rng.integers(0, 300)), 0.2 * (seed % 2)), column(0, 0.0),
                   pd.Index(column(50, 0.3))):
        want = _original_isin(s.array, values.array)
        got = s.isin(values).to_numpy()
        assert got.dtype == bool and np.array_equal(got, want)
        assert np.array_equal(s.isin(list(values)).to_numpy(), _original_isin(s.array, list(values)))
    assert np.array_equal(s.isin({"P0001", "项目甲"}).to_numpy(), s.eq("P0001").fillna(False).to_numpy()
                          | s.eq("项目甲").fillna(False).to_numpy())
    assert not s.isin(pd.Series([1, 2], dtype="int64")).any()
    if s.isna().any():  # a missing value is in a value set that holds one, as in pandas
        assert s[s.isna()].isin(pd.Series([None, "P0001"], dtype="str")).all()
