"""Chart base: a CJK font on a fresh machine (no missing glyph), one theme, money axes."""
from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from perflib.present.charts import base as plots  # noqa: E402

CHINESE = "预算执行率与时间进度（万元）东风街道办事处 −10%"


def _glyph_warnings(fig) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    return [str(w.message) for w in caught if "missing from" in str(w.message) or "Glyph" in str(w.message)]


def test_chinese_title_renders_without_missing_glyphs():
    font = plots.setup_theme()
    fig, ax = plt.subplots()
    ax.set_title(CHINESE)
    ax.set_xlabel("部门")
    ax.bar(["区教体局", "区科技局"], [3.2e8, -1.5e8])
    plots.money_axis(ax, "亿元", label="预算数")
    assert _glyph_warnings(fig) == []
    assert plt.rcParams["font.sans-serif"][0] == font
    assert plots.check_glyphs(fig) == []
    plt.close(fig)


def test_bundled_font_works_without_any_system_cjk_font():
    """What a fresh machine with only pip has: mplfonts' Noto Sans CJK SC, registered by path."""
    paths = plots._bundled_font_paths()
    assert paths, "mplfonts ships no CJK font"
    font_manager.fontManager.addfont(str(paths[0]))
    prop = font_manager.FontProperties(fname=str(paths[0]))
    fig, ax = plt.subplots()
    ax.set_title(CHINESE, fontproperties=prop)
    ax.set_ylabel("执行数（万元）", fontproperties=prop)
    assert _glyph_warnings(fig) == []
    plt.close(fig)


def test_without_a_system_font_the_bundled_one_is_chosen(monkeypatch):
    monkeypatch.setattr(plots, "_font_name", None)
    monkeypatch.setattr(plots, "CJK_FONT_CANDIDATES", ("No Such Font",))
    name = plots.cjk_font_name()
    bundled = font_manager.FontProperties(fname=str(plots._bundled_font_paths()[0])).get_name()
    assert name == bundled
    fig, ax = plt.subplots()
    ax.set_title(CHINESE, fontfamily=name)
    assert _glyph_warnings(fig) == []
    plt.close(fig)


def test_a_font_without_cjk_would_be_caught():
    """The glyph check itself can fail: DejaVu Sans lacks CJK glyphs."""
    fig, ax = plt.subplots()
    ax.set_title("预算", fontfamily="DejaVu Sans")
    assert _glyph_warnings(fig)
    plt.close(fig)


@pytest.mark.parametrize("unit, value, digits, text", [
    ("万元", 123_456_789, 2, "12,345.68"),
    ("亿元", 2_415_000_000, 2, "24.15"),
    ("元", 1234.5, 0, "1,234"),
])
def test_format_money(unit, value, digits, text):
    assert plots.format_money(value, unit, digits) == text


def test_money_axis_divides_ticks_and_labels_unit():
    plots.setup_theme()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 3e8])
    plots.money_axis(ax, "亿元", label="预算数")
    assert ax.get_ylabel() == "预算数（亿元）"
    assert ax.yaxis.get_major_formatter()(2e8, 0) == "2"
    plots.money_axis(ax, "万元", axis="x")
    assert ax.get_xlabel() == "万元" and ax.xaxis.get_major_formatter()(2e8, 0) == "20,000"
    with pytest.raises(ValueError):
        plots.money_axis(ax, "美元")
    plt.close(fig)


def test_percent_axis():
    fig, ax = plt.subplots()
    plots.percent_axis(ax, digits=1)
    assert ax.yaxis.get_major_formatter()(0.3147, 0) == "31.5%"
    plt.close(fig)


_THEME_PROBE = """
import json, sys, matplotlib
matplotlib.use("Agg")
import matplotlib as mpl
from perflib.present.charts import base as plots
font = plots.cjk_font_name()
if sys.argv[1] == "seaborn":
    import seaborn as sns
    sns.set_theme(context="notebook", style="whitegrid", palette=plots.PALETTE, font=font, rc={
        "font.sans-serif": [font, "DejaVu Sans"], "font.family": "sans-serif", "axes.unicode_minus": False,
        "figure.figsize": (8, 4.5), "figure.dpi": 100, "savefig.dpi": 110, "axes.titleweight": "normal"})
    palette = [list(c) for c in sns.color_palette(plots.PALETTE, 13)]
else:
    plots.setup_theme()
    palette = [list(c) for c in plots.palette_colors(13)]
rc = {k: repr(v) for k, v in mpl.rcParams.items() if k != "image.cmap"}
codes = {c: list(mpl.colors.to_rgb(c)) for c in "bgrmyck"}
print(json.dumps({"rc": rc, "codes": codes, "palette": palette, "seaborn": "seaborn" in sys.modules,
                  "scipy": "scipy.stats" in sys.modules}))
"""


def test_the_theme_is_seaborns_without_importing_seaborn():
    """setup_theme writes seaborn's whitegrid/notebook/deep theme out (importing seaborn costs every
    kernel 1.3 s, through scipy.stats): every rcParam, colour code and palette colour must be what
    seaborn itself sets (image.cmap aside: seaborn's own colormap; no report draws an image)."""
    import json
    import subprocess
    import sys

    def probe(mode):
        out = subprocess.run([sys.executable, "-c", _THEME_PROBE, mode], capture_output=True, text=True,
                             check=True)
        return json.loads(out.stdout)

    ours, theirs = probe("perflib"), probe("seaborn")
    assert not ours["seaborn"] and not ours["scipy"]
    assert theirs["seaborn"]
    diff = {k: (ours["rc"].get(k), v) for k, v in theirs["rc"].items() if ours["rc"].get(k) != v}
    assert diff == {}
    assert ours["codes"] == theirs["codes"] and ours["palette"] == theirs["palette"]


def test_the_execution_scatter_draws_the_pixels_a_scatter_of_its_points_draws():
    """The projects' points are a line's markers (stamped: 2× faster at a province's 90,000) and
    paint what ``ax.scatter`` of the same points, size 20 pt², no edge, alpha 0.7, paints."""
    import numpy as np
    import pandas as pd

    from perflib.present.charts import monitoring as mon_charts
    from perflib.rules import load_rules

    rng = np.random.default_rng(7)
    n = 600
    ex = pd.DataFrame({"budget": 10 ** rng.uniform(4, 8, n), "execution_rate": rng.uniform(0, 1.1, n),
                       "band": rng.choice(["绿色", "黄色", "红色"], n), "time_progress": 7 / 12})

    def pixels(fig):
        fig.axes[0].get_legend().remove()  # a legend handle is drawn by each artist its own way
        fig.set_dpi(110)
        fig.canvas.draw()
        drawn = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)
        plt.close(fig)
        return drawn

    fig = mon_charts.plot_execution_scatter(ex, load_rules())
    ax = fig.axes[0]
    marks = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert [m.get_label() for m in marks] == ["绿色", "黄色", "红色"] and sum(len(m.get_xdata()) for m in marks) == n
    drawn = pixels(fig)
    fig = mon_charts.plot_execution_scatter(ex, load_rules())  # the same chart, its points as a scatter
    ax = fig.axes[0]
    for line in [line for line in ax.get_lines() if line.get_marker() == "o"]:
        ax.scatter(line.get_xdata(), line.get_ydata(), s=20, linewidths=0, alpha=0.7, color=line.get_color())
        line.remove()
    assert np.abs(pixels(fig) - drawn).max() <= 2
