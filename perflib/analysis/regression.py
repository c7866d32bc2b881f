"""A straight-line fit with its p-value (the cost report's regression of total cost on quantity)."""
from __future__ import annotations

import numpy as np


def linregress(x, y) -> tuple[float, float, float, float]:
    """(slope, intercept, r, two-sided p) of y on x, computed as ``scipy.stats.linregress`` does
    (n ≥ 3, x not constant): importing ``scipy.stats`` loads every distribution, 0.8 s of a cost
    report's kernel start, for this one fit. The p-value is SciPy's Student t survival function
    (``scipy.special.stdtr``, what linregress calls); a test checks equality with linregress."""
    from scipy import special

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    xmean, ymean = x.mean(), y.mean()
    ssxm, ssxym, _, ssym = np.cov(x, y, bias=1).flat
    if ssxm == 0.0 or ssym == 0.0:
        r = float("nan") if ssxym == 0 else 0.0
    else:
        r = ssxym / np.sqrt(ssxm * ssym)
        if r > 1.0:  # rounding: -1 ≤ r ≤ 1
            r = 1.0
        elif r < -1.0:
            r = -1.0
    slope = ssxym / ssxm
    intercept = ymean - slope * xmean
    df = len(x) - 2
    tiny = 1.0e-20
    t = r * np.sqrt(df / ((1.0 - r + tiny) * (1.0 + r + tiny)))
    return float(slope), float(intercept), float(r), float(2 * special.stdtr(df, -np.abs(t)))
