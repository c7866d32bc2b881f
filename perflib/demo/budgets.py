"""Money of the project-years: budgets (年初预算数, 调整后预算数), what each project spends in its year,
and the payment rows (支出明细) that add up to it, all calibrated exactly to the seed's totals.
"""
from __future__ import annotations

import calendar
import datetime as dt

import numpy as np
import pandas as pd

from .calibration import (
    AS_OF_MONTH,
    FEN,
    KEY_MONITORED,
    KEYEVAL_AMOUNT,
    MONITORING_BUDGET,
    MONITORING_SPENT,
    MONTH_PROFILE,
    SELFEVAL,
    TARGETS_AMOUNT_RANGE,
    YEAR,
)
from .money import effective, scale_to_total, scale_to_total_signed, split_groups

WAN = 10_000 * FEN


# --- budgets ----------------------------------------------------------------------------------
def set_budgets(rng: np.random.Generator, p: pd.DataFrame, pilot_costs: pd.DataFrame) -> int:
    """Set ``budget_amount_fen`` and ``adjusted_amount_fen`` of every project-year so that every
    calibrated sum is exact; returns the 2023 targets' Σ 年初预算数 (fen)."""
    p["budget_amount_fen"] = np.int64(0)
    p["adjusted_amount_fen"] = pd.array([pd.NA] * len(p), dtype="Int64")
    # cost pilots: budget ≈ the year's total cost
    pil = p["group"] == "pilot"
    cost_total = pilot_costs.groupby(["project_id", "year"])["amount_fen"].sum()
    idx = list(zip(p.loc[pil, "project_id"], p.loc[pil, "year"]))
    raw = np.array([cost_total[i] for i in idx], dtype=float) * rng.uniform(1.0, 1.06, pil.sum())
    p.loc[pil, "budget_amount_fen"] = (np.rint(raw / (100 * FEN)) * 100 * FEN).astype(np.int64)
    # 2021 and 2022: evaluated projects carry the self-evaluation totals
    for year, (count, (lo, hi)) in SELFEVAL.items():
        y = p["year"] == year
        ev = y & p["evaluated"] & (p["group"] != "classified")
        assert ev.sum() == count, (year, ev.sum())
        total = int(rng.integers(lo // 100, hi // 100)) * 100 * FEN
        fixed = int(p.loc[ev & pil, "budget_amount_fen"].sum())
        _set_effective(rng, p, ev & ~pil, total - fixed, 0.25, sigma=1.3)
        _free_budget(rng, p, y & ~p["evaluated"] & (p["group"] != "classified"), 100, 600)
    target_amount = _budgets_2023(rng, p)
    g = p["group"]
    for year in (2021, 2022):
        _free_budget(rng, p, (p["year"] == year) & (g == "classified"), 100, 500)
    return target_amount


def _budgets_2023(rng: np.random.Generator, p: pd.DataFrame) -> int:
    """2023: key monitored and key evaluated projects as the seed has them, the eligible free
    projects carrying Σ 年初预算数, adjustments on about a third of them, the others carrying the
    rest of the monitored budget; returns the targets' Σ 年初预算数 (fen)."""
    y = p["year"] == YEAR
    g = p["group"]
    km = y & (g == "key_monitored")
    p.loc[km, "budget_amount_fen"] = [dict((n, b) for _, n, b in KEY_MONITORED)[nm] * FEN
                                      for nm in p.loc[km, "project_name"]]
    ke = y & (g == "key_eval")
    p.loc[ke, "budget_amount_fen"] = scale_to_total(
        rng.lognormal(0, 0.7, ke.sum()), KEYEVAL_AMOUNT * FEN, step=WAN)
    free = y & (g == "eligible_t")
    target_amount = int(rng.integers(TARGETS_AMOUNT_RANGE[0], TARGETS_AMOUNT_RANGE[1])) * FEN \
        + int(rng.integers(0, 100))
    fixed = int(p.loc[y & (g != "eligible_t") & (g != "other") & (g != "classified"),
                      "budget_amount_fen"].sum())
    p.loc[free, "budget_amount_fen"] = scale_to_total(
        rng.lognormal(0.0, 1.2, size=int(free.sum())), target_amount - fixed)
    # 追加/调剂 on about a third of the free eligible projects, net Σ exactly d_adj
    d_adj = int(rng.integers(15_000, 25_000)) * WAN
    idx_free = np.flatnonzero(free.to_numpy())
    chosen = idx_free[rng.random(len(idx_free)) < 0.33]
    base = p["budget_amount_fen"].to_numpy()[chosen].astype(float)
    raw = base * rng.uniform(-0.15, 0.45, len(chosen))
    delta = scale_to_total_signed(raw, d_adj, 100 * FEN)
    adjusted = base.astype(np.int64) + delta
    assert (adjusted > 0).all()
    col = p["adjusted_amount_fen"].copy()
    col.iloc[chosen] = adjusted
    p["adjusted_amount_fen"] = col
    # the 98 others carry the rest of the monitored budget
    eligible_effective = int(effective(p.loc[y & (g != "other") & (g != "classified")]).sum())
    rest = MONITORING_BUDGET * FEN - eligible_effective
    assert rest > 100_000_000 * FEN, rest
    _set_effective(rng, p, y & (g == "other"), rest, 0.3, sigma=1.0)
    _free_budget(rng, p, y & (g == "classified"), 100, 500)
    return target_amount


def _set_effective(rng: np.random.Generator, p: pd.DataFrame, mask: pd.Series, total: int,
                   adj_share: float, sigma: float = 1.2, step: int = 100 * FEN) -> None:
    """Effective budgets (adjusted or initial) of ``mask`` summing exactly to ``total``."""
    n = int(mask.sum())
    eff = scale_to_total(rng.lognormal(0.0, sigma, size=n), total, step)
    has_adj = rng.random(n) < adj_share
    factor = rng.uniform(0.8, 1.35, n)
    initial = np.where(has_adj, (np.rint(eff / factor / step) * step).astype(np.int64), eff)
    p.loc[mask, "budget_amount_fen"] = initial
    adj = pd.array(np.where(has_adj, eff, 0), dtype="Int64")
    adj[~has_adj] = pd.NA
    p.loc[mask, "adjusted_amount_fen"] = adj


def _free_budget(rng: np.random.Generator, p: pd.DataFrame, mask: pd.Series, low: float,
                 high: float, sigma: float = 1.0) -> None:
    """Uncalibrated 年初预算数 of ``mask``: lognormal, in whole 万元 and above 1 万元."""
    n = int(mask.sum())
    amt_wan = rng.lognormal(0.0, sigma, size=n) * rng.uniform(low, high)   # 万元
    p.loc[mask, "budget_amount_fen"] = (np.rint(amt_wan * 100) * 100 * FEN).astype(np.int64) + WAN


# --- spending -----------------------------------------------------------------------------------
def plan_spending(rng: np.random.Generator, p: pd.DataFrame) -> None:
    """Set ``spent_plan_fen``, the amount each project spends in its year (fen): full years mostly
    well executed; 2023 to July in red/yellow/green bands, calibrated to the seed exactly."""
    eff = effective(p).to_numpy(dtype=float)
    spent = np.zeros(len(p), dtype=np.int64)
    # full years: mostly well executed, some low
    full = (p["year"] < YEAR).to_numpy()
    r = np.where(rng.random(len(p)) < 0.8, rng.uniform(0.88, 1.0, len(p)),
                 rng.uniform(0.35, 0.88, len(p)))
    r = np.where(rng.random(len(p)) < 0.02, 0.0, r)
    spent[full] = np.floor(eff[full] * r[full]).astype(np.int64)
    # 2023 to July: bands by size, then calibrate the red projects' rates
    y = (p["year"] == YEAR).to_numpy()
    g = p["group"].to_numpy()
    idx = np.flatnonzero(y & (g != "classified"))
    b = eff[idx]
    band, rate = _bands_2023(rng, b, g[idx], p["project_name"].to_numpy()[idx])
    spent[idx] = _calibrate_2023(b, band, rate, g[idx])
    cls = y & (g == "classified")
    spent[cls] = np.floor(eff[cls] * rng.uniform(0.2, 0.6, cls.sum())).astype(np.int64)
    p["spent_plan_fen"] = spent


def _bands_2023(rng: np.random.Generator, b: np.ndarray, g: np.ndarray, names: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Band (red/yellow/green, more red for bigger budgets ``b``) and spending rate of each monitored
    2023 project; key evaluations are red, the key monitored projects as the seed tells them."""
    rank = pd.Series(b).rank(pct=True).to_numpy()
    n = len(b)
    u = rng.random(n)
    p_red = np.where(rank > 0.75, 0.70, np.where(rank > 0.4, 0.40, 0.25))
    p_yellow = np.where(rank > 0.75, 0.20, np.where(rank > 0.4, 0.25, 0.20))
    band = np.where(u < p_red, "red", np.where(u < p_red + p_yellow, "yellow", "green"))
    band[g == "key_eval"] = "red"
    rate = np.select([band == "red", band == "yellow"],
                     [rng.uniform(0.03, 0.36, n), rng.uniform(0.392, 0.475, n)],
                     rng.uniform(0.495, 0.92, n))
    near_full = (band == "green") & (rng.random(n) < 0.03)
    rate[near_full] = rng.uniform(0.96, 1.0, near_full.sum())
    zero = (band == "red") & (rng.random(n) < 0.035) & (g != "key_eval")
    rate[zero] = 0.0
    # key monitored: lagging sports venues, on-track talent programme, slow innovation fund
    for name, value in (("运动场地建设资金", 0.22), ("人才工程项目", 0.55), ("科技创新发展资金", 0.18)):
        k = np.flatnonzero(names == name)
        rate[k] = value
        band[k] = "red" if value < 0.38 else "green"
    return band, rate


def _calibrate_2023(b: np.ndarray, band: np.ndarray, rate: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Spending (fen) of the monitored 2023 projects summing exactly to the seed's 294,875 万元: the
    red projects' rates are scaled (capped at 37.5 %), moving projects between red and green if the
    room is too small or too large. No random draws. ``band`` and ``rate`` are modified."""
    target = MONITORING_SPENT * FEN
    cap = 0.375
    adjustable = (band == "red") & (rate > 0)
    for _ in range(200):
        fixed_sum = float((rate[~adjustable] * b[~adjustable]).sum())
        need = target - fixed_sum
        lo_cap = float((0.01 * b[adjustable]).sum())
        hi_cap = float((cap * b[adjustable]).sum())
        if need > hi_cap * 0.97:      # too little room: move the biggest green project to red
            cand = np.flatnonzero((band == "green") & (g == "eligible_t"))
            j = cand[np.argmax(b[cand])]
            band[j], rate[j], adjustable[j] = "red", 0.3, True
            continue
        if need < lo_cap * 1.5:       # too much: move the biggest red project to green
            cand = np.flatnonzero(adjustable & (g == "eligible_t"))
            j = cand[np.argmax(b[cand])]
            band[j], rate[j], adjustable[j] = "green", 0.6, False
            continue
        break
    else:  # pragma: no cover - the generator's shape makes this unreachable
        raise RuntimeError("could not calibrate 2023 spending")
    base_rate = rate[adjustable]
    lo, hi = 0.0, 50.0
    for _ in range(200):
        f = (lo + hi) / 2
        s = (np.clip(base_rate * f, 0.01, cap) * b[adjustable]).sum()
        if s < need:
            lo = f
        else:
            hi = f
    rate[adjustable] = np.clip(base_rate * (lo + hi) / 2, 0.01, cap)
    s_fen = np.floor(rate * b).astype(np.int64)
    adj_idx = np.flatnonzero(adjustable)
    big = adj_idx[np.argmax(b[adj_idx])]
    s_fen[big] += target - int(s_fen.sum())
    assert s_fen[big] <= b[big] * 0.38 and s_fen.sum() == target
    return s_fen


# --- payments -----------------------------------------------------------------------------------
def draw_payments(rng: np.random.Generator, p: pd.DataFrame) -> pd.DataFrame:
    """Payment rows (several a month, back-loaded, on working days), summing exactly to each
    project's ``spent_plan_fen``."""
    has = p["spent_plan_fen"].to_numpy() > 0
    pid = p["project_id"].to_numpy()[has]
    year = p["year"].to_numpy()[has]
    total = p["spent_plan_fen"].to_numpy()[has]
    months = np.where(year == YEAR, AS_OF_MONTH, 12)
    pj = np.repeat(np.arange(len(pid)), months)
    month = np.concatenate([np.arange(1, m + 1) for m in months])
    mw = rng.gamma(MONTH_PROFILE[month - 1] * 3.0, 1.0)
    lam = np.clip(np.log10(np.maximum(total, 1) / FEN) - 4.5, 0.2, 2.5)
    n = 1 + rng.poisson(lam[pj])
    row_pm = np.repeat(np.arange(len(pj)), n)
    w = mw[row_pm] * rng.gamma(2.0, 1.0, len(row_pm)) / n[row_pm]
    proj = pj[row_pm]
    mon = month[row_pm]
    yr = year[proj]
    # a uniformly drawn working day of the month (no weekends, 元旦, 劳动节, 国庆节)
    first = (yr - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (mon - 1)
    hol = _holidays(range(int(yr.min()), int(yr.max()) + 1))
    first_day = first.astype("datetime64[D]")
    n_work = np.busday_count(first_day, (first + 1).astype("datetime64[D]"), holidays=hol)
    k = np.floor(rng.random(len(row_pm)) * n_work).astype(int)
    order = np.lexsort((k, mon, proj))
    proj, mon, k, w, yr = proj[order], mon[order], k[order], w[order], yr[order]
    first_day = first_day[order]
    amount = split_groups(proj, w, total)
    dates = np.busday_offset(first_day, k, roll="forward", holidays=hol)
    # the data are as of the last day of the as-of month: the latest 2023 payment is on it
    cur = np.flatnonzero(yr == YEAR)
    if len(cur):
        dates[cur[np.argmax(dates[cur])]] = np.datetime64(
            dt.date(YEAR, AS_OF_MONTH, calendar.monthrange(YEAR, AS_OF_MONTH)[1]))
    df = pd.DataFrame({
        "project_id": pid[proj], "year": yr,
        "pay_date": pd.Series(dates).dt.date,
        "amount_fen": amount,
    })
    df = df[df["amount_fen"] > 0]
    return df.sort_values(["year", "pay_date", "project_id"], kind="stable").reset_index(drop=True)


def _holidays(years) -> np.ndarray:
    """Fixed-date public holidays (元旦, 劳动节, 国庆节) on which the treasury makes no payment."""
    days = []
    for y in years:
        days += [f"{y}-01-01", f"{y}-05-01", f"{y}-05-02", f"{y}-05-03"]
        days += [f"{y}-10-0{d}" for d in range(1, 8)]
    return np.array(days, dtype="datetime64[D]")
