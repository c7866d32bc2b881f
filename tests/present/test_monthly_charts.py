"""The 本月变化 and multi-year charts: Chinese glyphs render, only the years given are on the axis."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from perflib.present.charts import base  # noqa: E402
from perflib.present.charts import monthly as charts  # noqa: E402


def test_band_moves_chart():
    bands = pd.DataFrame({"band": ["红色", "黄色", "绿色", "无预算"], "previous": [2, 2, 4, 1],
                          "current": [3, 2, 3, 1], "entered": [2, 2, 1, 0], "left": [1, 2, 2, 0]})
    fig = charts.plot_band_moves(bands, 4, 5)
    assert base.check_glyphs(fig) == []
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["红色", "黄色", "绿色"]
    plt.close(fig)


def test_by_year_chart_names_only_the_years_held():
    frame = pd.DataFrame({"year": [2020, 2022, 2023], "execution_rate": [0.3, float("nan"), 0.35],
                          "amount": [1e8, 2e8, 3e8]})
    for kind, col in (("rate", "execution_rate"), ("money", "amount")):
        fig = charts.plot_by_year(frame, col, kind=kind, label="测试", title="历年")
        assert base.check_glyphs(fig) == []
        assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["2020", "2022", "2023"]
        plt.close(fig)
