"""Ex-ante assessment chart (:mod:`perflib.analysis.ex_ante`): assessments per conclusion, split into
those the funding follows and those it departs from."""
from __future__ import annotations

import pandas as pd

from .base import stacked_count_bars

PARTS = (("consistent", "预算安排与结论一致", "#4c9a62"), ("mismatch", "与结论不符", "#c0504d"))


def plot_conclusions(summary: pd.DataFrame, title: str | None = None):
    """Stacked bars, one per conclusion: assessments the funding follows and those it departs from,
    each bar labelled with its count. ``summary``: :func:`perflib.analysis.ex_ante.conclusion_summary`."""
    parts = pd.DataFrame({"conclusion": summary["conclusion"],
                          "mismatch": summary["mismatch"].astype(int),
                          "consistent": summary["projects"].astype(int) - summary["mismatch"].astype(int)})
    return stacked_count_bars(parts, "conclusion", PARTS, "评估项目数（个）", title or "事前评估结论与预算安排")
