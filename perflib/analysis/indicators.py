"""Indicator ratios of the self-evaluation recomputation (财预〔2020〕10号 as the rules file states it):
one indicator's target and actual value → the share (0–1) of its points earned, with a status
(why a value could not be read) and the achievement ratio behind the 目标偏低 flag. The ratio
rules (the rest of the recomputation is in :mod:`perflib.analysis.evaluation`):

  ≥: actual ≥ target → 1, else actual / target (target ≤ 0 and not met → 0);
  ≤: actual ≤ target → 1 (so actual 0 → full), else target / actual;
  =: actual equal to target (relative tolerance 1e-9) → 1, else min(a, t) / max(a, t) when both are
  positive, otherwise 0;
  定性: the tier of the actual in ``qualitative_tiers`` (优/良/中/差; a text starting with or ending in
  a tier name, e.g. 优秀 or 较差, counts as that tier).
  A missing actual → 0 points and flagged; a target or actual that is not a number (for ≥/≤/=) or not
  a tier (定性) → 0 points and flagged. Negative ratios are clipped to 0.
"""
from __future__ import annotations

import math
import unicodedata

import numpy as np
import pandas as pd

# An indicator's status: read (OK) or why it earns 0 points.
OK = ""
MISSING_ACTUAL = "缺少实际完成值"
BAD_TARGET = "指标值无法识别"
BAD_ACTUAL = "完成值无法识别"
BAD_TIER = "定性档次无法识别"
EPS_DIGITS = 9  # comparisons against thresholds are made on values rounded to 1e-9


# --------------------------------------------------------------------------------------------
# parsing indicator values
# --------------------------------------------------------------------------------------------
def _parse_number(value) -> float:
    """A number from an indicator cell: full-width digits, thousands separators and a trailing % allowed."""
    if value is None:
        return math.nan
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    if pd.isna(value):
        return math.nan
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "").replace(" ", "")
    if text.endswith("%"):
        text = text[:-1]
    try:
        return float(text)
    except ValueError:
        return math.nan


def to_number(values: pd.Series) -> pd.Series:
    """Parse a Series of indicator values into floats (NaN where not a number). Text columns are
    parsed once per distinct value (a province has ~700,000 values, most of them repeated)."""
    if isinstance(values.dtype, pd.StringDtype) or (
            values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")):
        codes, uniques = pd.factorize(values)
        parsed = np.array([_parse_number(v) for v in uniques] + [math.nan], dtype="float64")
        return pd.Series(parsed[codes], index=values.index, dtype="float64")  # code −1 (missing) → NaN
    return pd.Series([_parse_number(v) for v in values], index=values.index, dtype="float64")


def _is_blank(value) -> bool:
    if value is None:
        return True
    try:
        if pd.isna(value):
            return True
    except (TypeError, ValueError):
        return False
    return str(value).strip() == ""


def qualitative_tier(actual, tiers: dict[str, float]) -> str | None:
    """The tier name of a 定性 actual: exact, or a text starting with / ending in a tier name (优秀, 较差)."""
    if _is_blank(actual):
        return None
    text = unicodedata.normalize("NFKC", str(actual)).strip()
    if text in tiers:
        return text
    for t in tiers:
        if text.startswith(t):
            return t
    for t in tiers:
        if text.endswith(t):
            return t
    return None


# --------------------------------------------------------------------------------------------
# indicator ratios
# --------------------------------------------------------------------------------------------
def indicator_ratios(direction: pd.Series, target, actual, rules) -> pd.DataFrame:
    """Share (0–1) of each indicator's points earned, with status and achievement.

    Parameters
    ----------
    direction : ≥ / ≤ / = / 定性 per indicator.
    target, actual : the raw values (text or numbers), aligned with ``direction``.

    Returns
    -------
    DataFrame with ``ratio`` (0–1), ``status`` ('' or the reason the indicator earns 0),
    ``achievement`` (actual/target for ≥, target/actual for ≤, NaN otherwise) and
    ``overachieved`` (achievement > ``overachievement_ratio``, strictly; see module docstring).
    """
    direction = pd.Series(direction).reset_index(drop=True).astype(object)
    target = pd.Series(target, dtype=object).reset_index(drop=True)
    actual = pd.Series(actual, dtype=object).reset_index(drop=True)
    tiers = rules.value("self_evaluation.qualitative_tiers")
    over_ratio = float(rules.value("self_evaluation.overachievement_ratio"))

    t = to_number(target).to_numpy()
    a = to_number(actual).to_numpy()
    d = direction.to_numpy(dtype=object)
    blank = np.array([_is_blank(v) for v in actual], dtype=bool)
    n = len(d)
    ratio = np.zeros(n)
    achievement = np.full(n, np.nan)
    status = np.array([OK] * n, dtype=object)

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ge = d == "≥"
        met = a >= t
        r_ge = np.where(met, 1.0, np.where(t > 0, a / t, 0.0))
        ratio = np.where(ge, r_ge, ratio)
        achievement = np.where(ge & (t > 0), a / t, achievement)

        le = d == "≤"
        met = a <= t
        r_le = np.where(met, 1.0, np.where(a > 0, t / a, 0.0))
        ratio = np.where(le, r_le, ratio)
        achievement = np.where(le & (a > 0), t / a, achievement)

        eq = d == "="
        equal = np.isclose(a, t, rtol=1e-9, atol=0.0) | (a == t)
        both_pos = (a > 0) & (t > 0)
        r_eq = np.where(equal, 1.0, np.where(both_pos, np.minimum(a, t) / np.maximum(a, t), 0.0))
        ratio = np.where(eq, r_eq, ratio)

    quantitative = ge | le | eq
    ratio = np.where(quantitative & (np.isnan(t) | np.isnan(a)), 0.0, ratio)
    status = np.where(quantitative & ~blank & np.isnan(a), BAD_ACTUAL, status)
    status = np.where(quantitative & np.isnan(t), BAD_TARGET, status)

    qual = d == "定性"
    tier_names = [qualitative_tier(v, tiers) if q else None for v, q in zip(actual, qual)]
    r_q = np.array([float(tiers[x]) if x is not None else 0.0 for x in tier_names], dtype=float)
    ratio = np.where(qual, r_q, ratio)
    no_tier = np.array([x is None for x in tier_names], dtype=bool)
    status = np.where(qual & ~blank & no_tier, BAD_TIER, status)

    # a direction outside ≥ ≤ = 定性 cannot be scored (ingest rejects it; defensive)
    unknown = ~(quantitative | qual)
    status = np.where(unknown & ~blank, BAD_TARGET, status)
    ratio = np.where(unknown, 0.0, ratio)

    status = np.where(blank, MISSING_ACTUAL, status)
    ratio = np.where(blank, 0.0, ratio)
    ratio = np.clip(np.nan_to_num(ratio, nan=0.0), 0.0, 1.0)
    with np.errstate(over="ignore", invalid="ignore"):
        overachieved = (np.round(np.nan_to_num(achievement, nan=0.0), EPS_DIGITS) > over_ratio) & (status == OK)
    return pd.DataFrame({"ratio": ratio, "status": status, "achievement": achievement,
                         "overachieved": overachieved})
