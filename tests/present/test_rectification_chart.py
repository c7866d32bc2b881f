"""The rectification report's chart: per source, done + open within the deadline + overdue bars
that add up to the items the table states."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from perflib.present.charts import rectification as charts  # noqa: E402


def _by_source(overdue):
    return pd.DataFrame({"source": ["重点评价", "审计", "其他"], "items": [7, 3, 0], "done": [2, 3, 0],
                         "open": [5, 0, 0], "overdue": overdue, "on_time": [1, 2, 0]})


def test_bars_stack_to_the_items_per_source():
    frame = _by_source(pd.array([4, 0, 0], dtype="Int64"))
    fig = charts.plot_status_by_source(frame)
    ax = fig.axes[0]
    widths: dict[str, float] = {}
    for patch, label in zip(ax.patches, [t.get_text() for t in ax.get_yticklabels()] * 3):
        widths[label] = widths.get(label, 0) + patch.get_width()
    assert widths == {"重点评价": 7, "审计": 3, "其他": 0}
    # the overdue series is the third, stacked last: 4 for 重点评价 (bars are drawn bottom-up)
    overdue = [p.get_width() for p in ax.containers[2]]
    assert overdue[::-1] == [4, 0, 0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["已整改", "未完成（未逾期）", "逾期未整改"]


def test_without_an_as_of_date_nothing_is_called_overdue():
    parts = charts.status_parts(_by_source(pd.array([pd.NA] * 3, dtype="Int64")))
    assert parts["overdue"].tolist() == [0, 0, 0]
    assert (parts["done"] + parts["open_in_time"] + parts["overdue"]).tolist() == [7, 3, 0]
