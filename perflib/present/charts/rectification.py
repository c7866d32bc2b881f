"""Rectification charts (:mod:`perflib.analysis.rectification`): problems per source by status."""
from __future__ import annotations

import pandas as pd

from .base import stacked_count_bars

# the three states a problem is in on the ledger's date, in the order they are stacked
STATUS_PARTS = (("done", "已整改", "#4c9a62"), ("open_in_time", "未完成（未逾期）", "#e0b040"),
                ("overdue", "逾期未整改", "#c0504d"))


def status_parts(by_source: pd.DataFrame) -> pd.DataFrame:
    """Per source: done, open within the deadline (or not judged) and overdue, which add up to the
    items. ``by_source``: :func:`perflib.analysis.rectification.by_source`."""
    overdue = pd.to_numeric(by_source["overdue"], errors="coerce").fillna(0).astype(int)
    return pd.DataFrame({"source": by_source["source"], "done": by_source["done"].astype(int),
                         "open_in_time": by_source["open"].astype(int) - overdue, "overdue": overdue})


def plot_status_by_source(by_source: pd.DataFrame, title: str | None = None):
    """Stacked bars, one per source of the schema: done, open within the deadline and overdue
    problems, each bar labelled with its item count."""
    return stacked_count_bars(status_parts(by_source), "source", STATUS_PARTS, "问题数（个）",
                              title or "各来源问题整改情况",
                              {"loc": "upper center", "bbox_to_anchor": (0.5, -0.2), "ncol": 3, "fontsize": 9,
                               "frameon": False})
