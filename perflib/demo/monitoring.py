"""Performance monitoring (绩效监控): each project indicator's progress in July 2023, July 2022 and
December 2022, following the money paid so far except where the two deliberately disagree.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .calibration import AS_OF_MONTH, DEVIATION_REASONS, KEY_MONITORED, YEAR
from .money import effective
from .targets import num_text

ROUNDS = ((2022, 7), (2022, 12), (YEAR, AS_OF_MONTH))   # (year, as-of month) of each monitoring round


def draw_monitoring(rng: np.random.Generator, p: pd.DataFrame, proj_targets: pd.DataFrame,
                    payments: pd.DataFrame, actuals: pd.DataFrame) -> pd.DataFrame:
    """Target progress per project indicator in each round; December reports the self-evaluation
    ``actuals``."""
    frames = []
    eff = effective(p)
    budget = dict(zip(zip(p["project_id"], p["year"]), eff.to_numpy(float)))
    key_names = {n for _, n, _ in KEY_MONITORED}
    key_ids = set(p.loc[(p["year"] == YEAR) & p["project_name"].isin(key_names)
                        & (p["group"] == "key_monitored"), "project_id"])
    year_end = dict(zip(zip(actuals["project_id"], actuals["year"], actuals["indicator"]),
                        actuals["actual_value"]))
    for year, month in ROUNDS:
        t = proj_targets[proj_targets["year"] == year].copy()
        pay = payments[(payments["year"] == year)
                       & (pd.to_datetime(payments["pay_date"]).dt.month <= month)]
        spent = pay.groupby("project_id")["amount_fen"].sum()
        pids = t["project_id"].unique()
        rate = np.array([spent.get(pid, 0) / budget[(pid, year)] if budget[(pid, year)] else 0
                         for pid in pids])
        progress = dict(zip(pids, _progress(rng, rate, month)))
        rows = []
        for pid, ind, d, v, unit in t[["project_id", "indicator", "direction", "target_value",
                                       "unit"]].itertuples(index=False):
            val, reason, likelihood = _report(rng, progress[pid], month, d, v, unit,
                                              year_end.get((pid, year, ind)))
            rows.append(dict(project_id=pid, year=year, as_of_month=month, indicator=ind,
                             actual_value=val, deviation_reason=reason, likelihood=likelihood,
                             key_monitored=(year == YEAR and pid in key_ids)))
        frames.append(pd.DataFrame(rows))
    return pd.concat(frames, ignore_index=True)


def _progress(rng: np.random.Generator, rate: np.ndarray, month: int) -> np.ndarray:
    """Each project's target progress (0–1) from its spending ``rate``: money ahead of targets for
    a few, targets ahead of money for a few; complete in December (drawn all the same)."""
    prog = np.clip(rate + rng.normal(0, 0.07, len(rate)), 0, 1)
    u = rng.random(len(rate))
    money_ahead = (u < 0.06) & (rate > 0.45)
    targets_ahead = (u > 0.94) & (rate < 0.35)
    prog[money_ahead] = rate[money_ahead] * rng.uniform(0.2, 0.45, money_ahead.sum())
    prog[targets_ahead] = np.clip(rate[targets_ahead] + rng.uniform(0.35, 0.6,
                                                                  targets_ahead.sum()), 0, 1)
    if month == 12:
        prog = np.ones(len(rate))
    return prog


def _report(rng: np.random.Generator, g: float, month: int, d: str, v: str, unit: str,
            year_end: str | None) -> tuple[str | None, str | None, str]:
    """One indicator's monitoring row at progress ``g``: value to date, deviation reason and the
    likelihood of reaching the target (lagging indicators explain themselves)."""
    tp = month / 12
    if month == 12:
        val = year_end
    elif d == "定性":
        val = "优" if g >= tp else ("良" if g >= tp - 0.2 else "中")
    elif d == "≥" and unit != "%":
        val = num_text(round(float(v) * g))
    elif d == "≤":
        val = num_text(round(float(v) * rng.uniform(0.85, 1.0), 1))
    elif d == "=":
        val = num_text(float(v) if g >= tp - 0.1 else round(float(v) * g / tp))
    else:
        val = num_text(round(min(100.0, float(v) * rng.uniform(0.93, 1.06)), 1))
    lag = g < tp - 0.15
    if month == 12:
        lag = False
    reason = DEVIATION_REASONS[rng.choice(5, p=[0.35, 0.15, 0.15, 0.2, 0.15])] if lag \
        else (None if rng.random() > 0.02 else "其他")
    if lag:
        likelihood = ("有可能", "确定能", "完全不可能")[rng.choice(3, p=[0.65, 0.28, 0.07])]
    else:
        likelihood = "确定能" if rng.random() > 0.03 else "有可能"
    if rng.random() < 0.01:
        val = None
    return val, reason, likelihood
