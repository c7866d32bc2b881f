"""The ex-ante chart: per conclusion, consistent + mismatched bars that add up to the assessments
the summary table states."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from perflib.present.charts import ex_ante as charts  # noqa: E402


def test_bars_stack_to_the_assessments_per_conclusion():
    summary = pd.DataFrame({"conclusion": ["支持", "调整后支持", "不支持"], "projects": [9, 4, 3],
                            "suggested_amount": [1.0, 2.0, None], "funded": [1.0, 3.0, 5.0], "mismatch": [0, 1, 2]})
    ax = charts.plot_conclusions(summary).axes[0]
    mismatch = [p.get_width() for p in ax.containers[1]][::-1]   # bars are drawn bottom-up
    consistent = [p.get_width() for p in ax.containers[0]][::-1]
    assert mismatch == [0, 1, 2] and consistent == [9, 3, 1]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["预算安排与结论一致", "与结论不符"]
