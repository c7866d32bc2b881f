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
    values given as a column, an index, a list, a set, an object array or numbers: the same answer
    either way."""
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
    # Python containers (a set, a list, an object array) with missing values of every kind, and
    # containers holding other types, which pandas' own path filters: the same answer
    codes = list(pool[: int(rng.integers(0, 60))])
    for values in (set(codes), codes + [None], codes + [np.nan], codes + [pd.NA], [None],
                   np.array(codes + [None], dtype=object), codes + [1], [b"P0001", "P0002"], [1.5, 2],
                   np.array([], dtype=object), [np.str_("P0003"), "P0004"]):
        want = _original_isin(s.array, np.array(list(values), dtype=object))
        assert np.array_equal(s.isin(values).to_numpy(), want), values
    if s.isna().any():  # a missing value is in a value set that holds one, as in pandas
        assert s[s.isna()].isin(pd.Series([None, "P0001"], dtype="str")).all()


@pytest.mark.parametrize("env, expected", [(None, "system"), ("jemalloc", "jemalloc"), ("mimalloc", "mimalloc")])
def test_perflib_has_arrow_allocate_from_the_system_unless_a_pool_is_chosen(env, expected):
    """Importing perflib.store switches Arrow to the C library's allocator (mimalloc, pyarrow's
    default, was 25–35 % slower on the province reports); ARROW_DEFAULT_MEMORY_POOL still decides."""
    import os
    import subprocess
    import sys

    import pyarrow as pa

    if expected != "system" and not hasattr(pa, f"{expected}_memory_pool"):
        pytest.fail(f"this pyarrow has no {expected} pool")
    environ = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if env:
        environ["ARROW_DEFAULT_MEMORY_POOL"] = env
    code = ("import pyarrow as pa; before = pa.default_memory_pool().backend_name; import perflib.store; "
            "print(before, pa.default_memory_pool().backend_name)")
    out = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True)
    before, after = out.stdout.split()
    assert after == expected
    if env:
        assert before == env
    else:
        assert before != "system"  # pyarrow's own default, which perflib replaces


def test_department_columns_looked_up_equal_the_merge(demo_db):
    """``merge_on_unique`` (a project frame's department columns) gives what the merge gives: the
    demo's years whole and narrow, a code that is no department, a missing code, and departments
    with a repeated code (then it is the merge)."""
    from perflib.pandas_speed import merge_on_unique
    from perflib.store import Store

    s = Store(demo_db)
    depts = s.departments()[["dept_code", "dept_name", "level1_code", "level1_name"]]
    for year in s.years():
        for only in (None, {"project_id", "dept_code", "budget_amount"}):
            df = s._table("projects", year, only)
            pd.testing.assert_frame_equal(merge_on_unique(df, depts, "dept_code"), df.merge(depts, on="dept_code", how="left"),
                                          check_exact=True)
    s.close()
    rows = pd.DataFrame({"n": [1, 2, 3, 4], "dept_code": pd.Series(["A", None, "Z", "B"], dtype="str")})
    d = pd.DataFrame({"dept_code": pd.Series(["A", "B"], dtype="str"), "dept_name": pd.Series(["甲", None], dtype="str"),
                      "level1_code": pd.Series(["A", "A"], dtype="str"), "level1_name": pd.Series(["甲", "甲"], dtype="str")})
    got = merge_on_unique(rows, d, "dept_code")
    pd.testing.assert_frame_equal(got, rows.merge(d, on="dept_code", how="left"), check_exact=True)
    assert got["dept_name"].tolist()[0] == "甲" and got["dept_name"].isna().tolist() == [False, True, True, True]
    twice = pd.concat([d, d.assign(dept_name="乙")], ignore_index=True)  # a repeated code: the merge's rows
    pd.testing.assert_frame_equal(merge_on_unique(rows, twice, "dept_code"), rows.merge(twice, on="dept_code", how="left"),
                                  check_exact=True)


@pytest.mark.parametrize("case", ["unique", "repeated", "empty", "none_known", "null_code"])
def test_prior_lookup_equals_the_left_merge(case):
    """``merge_on_unique`` as year_end_projection's prior-year lookup (an Arrow hash of the codes)
    gives exactly what ``pe.merge(prior, on="project_id", how="left")`` gives; repeated codes take
    the merge itself."""
    pe = pd.DataFrame({"project_id": ["P3", "P1", "P9", "P2", "P1x"], "spent": [1.0, 2.0, 3.0, 4.0, 5.0]})
    prior = pd.DataFrame({"project_id": ["P1", "P2", "P3", "P7"], "prior_cum_fen": [10, 0, 30, 70],
                          "prior_total_fen": [100, 200, 300, 700]})
    if case == "repeated":
        prior = pd.concat([prior, prior.iloc[[0]]], ignore_index=True)
    elif case == "empty":
        prior = prior.iloc[0:0]
    elif case == "none_known":
        prior = prior.assign(project_id=["Q1", "Q2", "Q3", "Q4"])
    elif case == "null_code":
        prior = prior.assign(project_id=pd.Series(["P1", None, "P3", "P7"], dtype="str"))
    expected = pe.merge(prior, on="project_id", how="left")
    got = pandas_speed.merge_on_unique(pe, prior, "project_id")
    assert list(got.columns) == list(expected.columns) and len(got) == len(expected)
    for c in expected.columns:
        assert got[c].astype(object).where(got[c].notna(), None).tolist() == \
            expected[c].astype(object).where(expected[c].notna(), None).tolist(), c
