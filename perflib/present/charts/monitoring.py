"""Monitoring charts (:mod:`perflib.analysis.monitoring`): cumulative execution curves, warning bands,
the execution scatter and the projected unspent funds.

Each function takes analysis results (DataFrames) and returns a matplotlib ``Figure``; theme, CJK
font and money axes come from :mod:`perflib.present.charts.base`.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from .base import (STATUS_COLORS, format_money, legend_loc, money_axis, palette_colors, percent_axis, setup_theme)


_BAND_COLORS = {"绿色": STATUS_COLORS["green"], "黄色": STATUS_COLORS["yellow"],
                "红色": STATUS_COLORS["red"], "无预算": "#9e9e9e"}


def plot_execution_curve(curve, year: int, title: str | None = None):
    """Cumulative execution rate by month: ``year`` (to the as-of month), the prior year, and the
    time-progress line. ``curve``: :func:`perflib.analysis.monitoring.execution_curve`."""
    setup_theme()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    prev = curve[curve["year"] == year - 1]
    cur = curve[curve["year"] == year]
    months = list(range(1, 13))
    tp = curve.drop_duplicates("month").set_index("month")["time_progress"]
    m12 = [m / 12 for m in months]
    ax.plot(months, [tp.get(m, v) for m, v in zip(months, m12)], ls="--", color="#7f7f7f", label="时间进度")
    if len(prev):
        ax.plot(prev["month"], prev["cum_rate"], marker="o", ms=3, color="#9fb7d3", label=f"{year - 1} 年")
    if len(cur):
        ax.plot(cur["month"], cur["cum_rate"], marker="o", ms=4, lw=2.2, color="#c62828", label=f"{year} 年")
    ax.set_xticks(months, [f"{m}月" for m in months])
    ax.set_ylim(0, 1.05)
    percent_axis(ax)
    ax.set_ylabel("累计预算执行率")
    ax.legend(frameon=False)
    ax.set_title(title or "累计预算执行率与时间进度")
    fig.tight_layout()
    return fig


def plot_department_curves(monthly, level1_codes, year: int, title: str | None = None):
    """Cumulative execution of a few level-1 departments in ``year`` (solid) and the prior year
    (dotted, same colour) against time progress. ``monthly``: :func:`perflib.analysis.monitoring.monthly_execution`."""
    setup_theme()
    fig, ax = plt.subplots(figsize=(8.5, 4.8))
    months = list(range(1, 13))
    ax.plot(months, [m / 12 for m in months], ls="--", color="#7f7f7f", label="时间进度")
    palette = palette_colors(max(len(level1_codes), 1))
    for color, code in zip(palette, level1_codes):
        d = monthly[monthly["level1_code"] == code]
        name = str(d["level1_name"].iloc[0]) if len(d) else str(code)
        cur, prev = d[d["year"] == year], d[d["year"] == year - 1]
        ax.plot(cur["month"], cur["cum_rate"], marker="o", ms=3, color=color, label=name)
        if len(prev):
            ax.plot(prev["month"], prev["cum_rate"], ls=":", color=color)
    ax.set_xticks(months, [f"{m}月" for m in months])
    ax.set_ylim(0, 1.05)
    percent_axis(ax)
    ax.set_ylabel("累计预算执行率（虚点线为上年）")
    ax.legend(frameon=False, fontsize=8, ncol=2)
    ax.set_title(title or "执行最慢部门的累计执行率")
    fig.tight_layout()
    return fig


def plot_band_counts(dept_summary, n: int = 15, title: str | None = None):
    """Projects per warning band for the ``n`` departments with most red projects (stacked bars).
    ``dept_summary``: ``execution_summary(..., ["level1_code", "level1_name"])``."""
    setup_theme()
    f = dept_summary.sort_values(["红色", "黄色"], ascending=False).head(int(n)).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.3 * len(f) + 1.2)))
    left = None
    for band in ("红色", "黄色", "绿色"):
        ax.barh(f["level1_name"].astype(str), f[band], left=left, color=_BAND_COLORS[band], label=band,
                height=0.7)
        left = f[band] if left is None else left + f[band]
    ax.set_xlabel("项目数")
    ax.legend(frameon=False, loc="lower right")
    ax.set_title(title or "各部门预警项目数（红色最多的部门）")
    fig.tight_layout()
    return fig


def plot_execution_scatter(execution, rules, title: str | None = None):
    """Each project's execution rate against its budget (log scale), coloured by band, with the
    time progress and the band floors drawn from the rules."""
    setup_theme()
    fig, ax = plt.subplots(figsize=(8, 4.8))
    f = execution[execution["budget"] > 0]
    for band in ("绿色", "黄色", "红色"):
        d = f[f["band"] == band]
        # markers of one size and colour: drawn as a line's markers, which Agg stamps from one
        # rendered marker (a scatter draws each as a path: 2× the time for a province's 90,000
        # projects, the same pixels); no edge (the theme strokes each marker with its face colour);
        # the size (20 pt², a scatter's s=20) makes up for the edge
        ax.plot(d["budget"], d["execution_rate"], linestyle="none", marker="o", markersize=20 ** 0.5,
                markeredgewidth=0, alpha=0.7, color=_BAND_COLORS[band], label=band)
    if len(execution):
        tp = float(execution["time_progress"].iloc[0])
        ax.axhline(tp, color="#424242", ls="--", lw=1, label="时间进度")
        ax.axhline(tp + float(rules.value("monitoring.green_min_gap")), color=STATUS_COLORS["green"], ls=":", lw=1)
        ax.axhline(tp + float(rules.value("monitoring.yellow_min_gap")), color=STATUS_COLORS["red"], ls=":", lw=1)
    ax.set_xscale("log")
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: format_money(v, "万元", 0)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("预算数（万元，对数刻度）")
    percent_axis(ax)
    ax.set_ylabel("预算执行率")
    ax.legend(frameon=False, fontsize=8, loc=legend_loc(len(f), "upper left"))
    ax.set_title(title or "项目预算执行率与预算规模")
    fig.tight_layout()
    return fig


def plot_projected_unspent(by_dept, n: int = 10, title: str | None = None):
    """Projected year-end unspent balance of the ``n`` departments with the largest one.
    ``by_dept``: ``projection_summary(..., ["level1_code", "level1_name"])``."""
    setup_theme()
    f = by_dept.sort_values("projected_unspent", ascending=False).head(int(n)).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.32 * len(f) + 1.2)))
    unit = "亿元" if len(f) and f["projected_unspent"].max() >= 1e8 else "万元"
    ax.barh(f["level1_name"].astype(str), f["projected_unspent"], color="#8e6c8a", height=0.7)
    money_axis(ax, unit, axis="x", label="预计年末结转结余")
    ax.set_title(title or "预计年末结转结余最多的部门")
    fig.tight_layout()
    return fig
