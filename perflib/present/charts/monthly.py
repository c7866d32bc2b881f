"""Charts of the 本月变化 section (:mod:`perflib.analysis.monthly`) and the multi-year view
(:mod:`perflib.analysis.trends`)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .base import STATUS_COLORS, money_axis, percent_axis, setup_theme

_BAND_COLORS = {"红色": STATUS_COLORS["red"], "黄色": STATUS_COLORS["yellow"], "绿色": STATUS_COLORS["green"]}


def plot_band_moves(bands, previous: int, month: int, title: str | None = None):
    """Projects per band at the end of the month before and of the month, with how many entered and
    left each band. ``bands``: :func:`perflib.analysis.monthly.band_moves`."""
    setup_theme()
    f = bands[bands["band"].isin(list(_BAND_COLORS))].reset_index(drop=True)
    x = np.arange(len(f))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    w = 0.2
    series = ((f"{previous} 月底", "previous", "#bdbdbd"), (f"{month} 月底", "current", None),
              ("本月进入", "entered", "#5c6bc0"), ("本月离开", "left", "#ffb74d"))
    for i, (label, col, color) in enumerate(series):
        colors = [(_BAND_COLORS[b] if color is None else color) for b in f["band"]]
        bars = ax.bar(x + (i - 1.5) * w, f[col], width=w, color=colors, label=label)
        ax.bar_label(bars, fontsize=7, padding=1)
    ax.set_xticks(x, list(f["band"]))
    ax.set_ylabel("项目数")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(title or "各预警等级项目数与本月进出")
    fig.tight_layout()
    return fig


def plot_by_year(frame, value: str, year_col: str = "year", kind: str = "rate", title: str | None = None,
                 label: str = ""):
    """One figure per year as bars (money in 万元, counts) or a line with points (rates), years as
    integers on the x axis; only the years the frame holds. ``kind``: rate, money or count."""
    setup_theme()
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    years = [int(y) for y in frame[year_col]]
    vals = [float(v) for v in frame[value]]
    if kind == "rate":
        ax.plot(years, vals, marker="o", lw=2, color="#c62828")
        for y, v in zip(years, vals):
            if np.isfinite(v):
                ax.annotate(f"{v * 100:.2f}%", (y, v), textcoords="offset points", xytext=(0, 6),
                            ha="center", fontsize=8)
        percent_axis(ax)
        ax.set_ylabel(label)
        top = max([v for v in vals if np.isfinite(v)] or [1.0])
        ax.set_ylim(0, max(1.0, top * 1.15))
    else:
        bars = ax.bar(years, vals, color="#4c72b0", width=0.6)
        if kind == "money":
            money_axis(ax, "万元", label=label)
            ax.bar_label(bars, labels=[f"{v / 1e4:,.0f}" for v in vals], fontsize=8, padding=1)
        else:
            ax.set_ylabel(label)
            ax.bar_label(bars, labels=[f"{int(v):,}" for v in vals], fontsize=8, padding=1)
    ax.set_xticks(years, [str(y) for y in years])
    if len(years) == 1:
        ax.set_xlim(years[0] - 1, years[0] + 1)
    ax.set_xlabel("年度")
    ax.set_title(title or "")
    fig.tight_layout()
    return fig
