"""Ex-ante assessment chart (:mod:`perflib.analysis.ex_ante`): assessments per conclusion, split into
those the funding follows and those it departs from."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator

from .base import setup_theme

PARTS = (("consistent", "预算安排与结论一致", "#4c9a62"), ("mismatch", "与结论不符", "#c0504d"))


def plot_conclusions(summary: pd.DataFrame, title: str | None = None):
    """Stacked bars, one per conclusion: assessments the funding follows and those it departs from,
    each bar labelled with its count. ``summary``: :func:`perflib.analysis.ex_ante.conclusion_summary`."""
    setup_theme()
    parts = pd.DataFrame({"conclusion": summary["conclusion"],
                          "mismatch": summary["mismatch"].astype(int),
                          "consistent": summary["projects"].astype(int) - summary["mismatch"].astype(int)}
                         ).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(parts) + 1.6))
    left = pd.Series(0, index=parts.index)
    for col, label, color in PARTS:
        ax.barh(parts["conclusion"], parts[col], left=left, color=color, height=0.6, label=label)
        left = left + parts[col]
    for y, total in enumerate(left):
        ax.text(total, y, f" {int(total)}", va="center", fontsize=9)
    ax.set_xlim(0, max(int(left.max()) if len(left) else 0, 1) * 1.15)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("评估项目数（个）")
    ax.set_title(title or "事前评估结论与预算安排")
    ax.legend(loc="lower right", fontsize=9)
    fig.tight_layout()
    return fig
