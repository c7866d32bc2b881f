"""Charts of the newer reports: rectification (done + open within the deadline + overdue bars that
add up to the items the table states) and target review (projects failing each rule)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

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


def test_target_review_chart_has_a_bar_per_rule_with_its_count():
    from perflib.present.charts import targets as target_charts

    by_rule = pd.DataFrame({"rule": ["缺少产出指标", "定量指标不可衡量", "模板指标"],
                            "consequence": ["不通过", "修改后通过", "修改后通过"], "projects": [2, 40, 0],
                            "amount": [1.0, 2.0, 0.0]})
    ax = target_charts.plot_rule_failures(by_rule).axes[0]
    got = {t.get_text(): p.get_width() for t, p in zip(ax.get_yticklabels(), ax.patches)}
    assert got == {"缺少产出指标": 2, "定量指标不可衡量": 40, "模板指标": 0}
    colors = {t.get_text(): to_hex(p.get_facecolor()) for t, p in zip(ax.get_yticklabels(), ax.patches)}
    assert colors == {"缺少产出指标": "#c0504d", "定量指标不可衡量": "#e0b040", "模板指标": "#e0b040"}
