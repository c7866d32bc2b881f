"""Target-review charts (:mod:`perflib.analysis.target_review`): projects failing each rule."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator

from ...analysis.target_review import FAILED, REVISE
from .base import setup_theme

CONSEQUENCE_COLORS = {FAILED: "#c0504d", REVISE: "#e0b040"}


def plot_rule_failures(by_rule: pd.DataFrame, title: str | None = None):
    """One bar per review rule (in the rules' order, top to bottom): the projects failing it,
    coloured by the conclusion the rule leads to. ``by_rule``: :func:`~perflib.analysis.target_review.rule_summary`."""
    setup_theme()
    rows = by_rule.iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(rows) + 1.6))
    colors = [CONSEQUENCE_COLORS.get(c, "#3b6ea5") for c in rows["consequence"]]
    bars = ax.barh(rows["rule"], rows["projects"], color=colors, height=0.6)
    ax.bar_label(bars, labels=[f"{int(v):,}" for v in rows["projects"]], padding=2, fontsize=9)
    ax.set_xlim(0, max(int(rows["projects"].max()) if len(rows) else 0, 1) * 1.15)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("未通过该规则的项目数（个）")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in CONSEQUENCE_COLORS.values()]
    ax.legend(handles, [f"导致{k}" for k in CONSEQUENCE_COLORS], loc="upper center", bbox_to_anchor=(0.5, -0.12),
              ncol=2, fontsize=9, frameon=False)
    ax.set_title(title or "各审核规则未通过的项目数")
    fig.tight_layout()
    return fig
