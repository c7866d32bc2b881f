"""Coverage charts (:mod:`perflib.analysis.coverage`): target coverage by department and self-evaluation
funds by budget kind.

Each function takes analysis results (DataFrames) and returns a matplotlib ``Figure``; theme, CJK
font and money axes come from :mod:`perflib.present.charts.base`.
"""
from __future__ import annotations

import matplotlib.pyplot as plt

from .base import MAX_BARS, STATUS_COLORS, money_axis, percent_axis, setup_theme


def plot_coverage_by_department(by_dept, title: str | None = None):
    """Target coverage by count per level-1 department (horizontal bars, lowest first); departments
    with nothing eligible are left out. ``by_dept``: :func:`perflib.analysis.coverage.coverage_by_department`."""
    setup_theme()
    f = by_dept[by_dept["eligible"] > 0].sort_values(["coverage_count", "level1_name"], ascending=[False, True])
    if len(f) > MAX_BARS:  # province scale: the departments with the lowest coverage
        f = f.tail(MAX_BARS)
        title = title or f"各部门绩效目标覆盖率（覆盖率最低的 {MAX_BARS} 个部门）"
    n = max(len(f), 1)
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.22 * n + 1.2)))
    colors = [STATUS_COLORS["green"] if v >= 1 else STATUS_COLORS["red"] for v in f["coverage_count"]]
    bars = ax.barh(f["level1_name"].astype(str), f["coverage_count"], color=colors, height=0.7)
    ax.bar_label(bars, labels=[f"{v * 100:.0f}%" for v in f["coverage_count"]], padding=2,
                 fontsize=7 if n > 30 else 9)
    ax.set_xlim(0, 1.12)
    percent_axis(ax, axis="x")
    ax.set_xlabel("绩效目标覆盖率（按项目数）")
    ax.margins(y=0.01)
    ax.tick_params(axis="y", labelsize=8 if n > 30 else 10)
    ax.set_title(title or "各部门绩效目标覆盖率")
    fig.tight_layout()
    return fig


def plot_selfeval_by_budget_kind(table, fiscal_year: int, title: str | None = None):
    """Self-evaluated money per budget kind, fiscal year ``fiscal_year`` against the year before.
    ``table``: :func:`perflib.analysis.coverage.selfeval_by_budget_kind`."""
    import numpy as np

    setup_theme()
    fig, ax = plt.subplots(figsize=(8, 4.2))
    x = np.arange(len(table))
    unit = "亿元" if max(table["amount"].max(), table["amount_prev"].max(), 0) >= 1e8 else "万元"
    ax.bar(x - 0.2, table["amount_prev"], width=0.4, label=f"{fiscal_year - 1} 年度", color="#9fb7d3")
    ax.bar(x + 0.2, table["amount"], width=0.4, label=f"{fiscal_year} 年度", color="#3b6ea5")
    ax.set_xticks(x, table["budget_kind"].astype(str))
    money_axis(ax, unit, label="自评资金")
    ax.legend(frameon=False)
    ax.set_title(title or "绩效自评资金（分预算类型）")
    fig.tight_layout()
    return fig
