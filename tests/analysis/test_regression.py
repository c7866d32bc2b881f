"""The straight-line fit of :mod:`perflib.analysis.regression`: scipy.stats.linregress's figures
without importing scipy.stats."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from perflib.analysis.regression import linregress


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1e7, allow_subnormal=False), st.floats(0, 1e9, allow_subnormal=False)),
                min_size=3, max_size=40),
       st.booleans())
@example([(1.0, 5.0), (2.0, 5.0), (3.0, 5.0)], False)          # costs all equal: r and p undefined
@example([(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)], False)          # a perfect line: r clipped to 1
@example([(100.0, 5300.0), (100.0, 5310.0), (400.0, 6200.0)], True)
def test_linregress_equals_scipys(points, integers):
    """The fit perflib computes without importing scipy.stats gives scipy.stats.linregress's slope,
    intercept, r and p-value exactly (NaN where it gives NaN)."""
    from scipy import stats

    x = np.array([round(q) if integers else q for q, _ in points], dtype=float)
    y = np.array([c for _, c in points], dtype=float)
    assume(x.max() > x.min())                      # what cost_regression asks for (≥ 2 quantities)
    with np.errstate(all="ignore"):                # both divide by ~0 for x that differ by rounding only
        ref = stats.linregress(x, y)
        ours = linregress(pd.Series(x), pd.Series(y))
    np.testing.assert_array_equal(ours, [ref.slope, ref.intercept, ref.rvalue, ref.pvalue])


def test_a_cost_report_imports_no_scipy_stats():
    """The cost report's kernel does not load scipy.stats (0.8 s of every distribution) for its fit."""
    import subprocess
    import sys

    code = ("import sys; from perflib.analysis import cost, regression; import pandas as pd; "
            "regression.linregress(pd.Series([1.0, 2.0, 4.0]), pd.Series([3.0, 5.0, 4.0])); "
            "print('scipy.stats' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
