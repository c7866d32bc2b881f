"""Chart base shared by every report: one seaborn theme, a CJK font that exists on a fresh machine,
and money axes in 万元/亿元.

Each analysis module's charts live beside this file in a module of the same name (``coverage.py``,
``monitoring.py``, ``evaluation.py``, ``cost.py``, ``fiscal.py``), as plots by stage. Plot functions
take analysis results (DataFrames) and return a matplotlib ``Figure``; they never read files or
compute figures of their own. ``charts/__init__.py`` stays empty: incremental runs hash the modules a
notebook imports.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib import font_manager
from matplotlib.ticker import FuncFormatter, MaxNLocator

# Fonts tried in order when installed on the system; otherwise the font shipped by mplfonts (PyPI).
CJK_FONT_CANDIDATES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
)
BUNDLED_FONT_FILES = ("NotoSansCJKsc-Regular.otf", "SimHei.ttf")

MONEY_DIVISORS = {"元": 1, "万元": 10_000, "亿元": 100_000_000}

# One palette for all reports; the status colours are used by monitoring's traffic lights.
PALETTE = "deep"
STATUS_COLORS = {"green": "#2e7d32", "yellow": "#f9a825", "red": "#c62828"}

_font_name: str | None = None


def _bundled_font_paths() -> list[Path]:
    try:
        import mplfonts
    except ImportError:  # pragma: no cover - mplfonts is a dependency
        return []
    base = Path(mplfonts.__file__).parent / "fonts"
    return [base / f for f in BUNDLED_FONT_FILES if (base / f).exists()]


def cjk_font_name() -> str:
    """The family name of a CJK font matplotlib can use, registering the bundled one if needed.

    A system font from :data:`CJK_FONT_CANDIDATES` wins; otherwise mplfonts' Noto Sans CJK SC is
    registered by file path (no font cache rebuild, no system install needed).
    """
    global _font_name
    if _font_name is not None:
        return _font_name
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONT_CANDIDATES:
        if name in installed:
            _font_name = name
            return name
    for path in _bundled_font_paths():
        font_manager.fontManager.addfont(str(path))
        _font_name = font_manager.FontProperties(fname=str(path)).get_name()
        return _font_name
    raise RuntimeError("找不到可用的中文字体：请安装 mplfonts 或系统中文字体（如 Noto Sans CJK SC）")


# Charts with one bar per department or project draw at most this many (the province has 11,550
# level-1 departments and 1,800 projects of a type): more would make an unreadable, minutes-long
# figure. The district demo's charts stay whole (77 departments, ≤ 30 projects of a type).
MAX_BARS = 100
# Per-project charts of one project type (two bars or a stacked bar per project, labelled) get
# fewer: 100 projects made a 3,700-pixel-high picture that took seconds to draw.
MAX_PROJECT_BARS = 40
# A legend at loc="best" is placed by testing each corner against every plotted point: about a
# second per drawing for a province's 90,000 projects. Above this many points it goes in a corner.
BEST_LEGEND_MAX_POINTS = 2000


def legend_loc(points: int, corner: str) -> str:
    """``"best"`` for a chart of a few points (a district), else ``corner``."""
    return "best" if points <= BEST_LEGEND_MAX_POINTS else corner


# seaborn's theme for set_theme(context="notebook", style="whitegrid", palette="deep"), written out:
# importing seaborn imports scipy.stats, 1.3 s at the start of every report kernel (and of the
# runner's zygote) for two calls. tests/present/test_plots.py checks these equal what seaborn sets.
DEEP = [
    (0.2980392156862745, 0.4470588235294118, 0.6901960784313725), (0.8666666666666667, 0.5176470588235295, 0.3215686274509804),
    (0.3333333333333333, 0.6588235294117647, 0.40784313725490196), (0.7686274509803922, 0.3058823529411765, 0.3215686274509804),
    (0.5058823529411764, 0.4470588235294118, 0.7019607843137254), (0.5764705882352941, 0.47058823529411764, 0.3764705882352941),
    (0.8549019607843137, 0.5450980392156862, 0.7647058823529411), (0.5490196078431373, 0.5490196078431373, 0.5490196078431373),
    (0.8, 0.7254901960784313, 0.4549019607843137), (0.39215686274509803, 0.7098039215686275, 0.803921568627451),
]
_SEABORN_STYLE = {  # sns.axes_style("whitegrid"), but for image.cmap ("rocket" is seaborn's own; no image is drawn)
    "axes.axisbelow": True, "axes.edgecolor": ".8", "axes.facecolor": "white", "axes.grid": True,
    "axes.labelcolor": ".15", "axes.spines.bottom": True, "axes.spines.left": True,
    "axes.spines.right": True, "axes.spines.top": True, "figure.facecolor": "white",
    "grid.color": ".8", "grid.linestyle": "-", "lines.solid_capstyle": "round", "patch.edgecolor": "w",
    "patch.force_edgecolor": True, "text.color": ".15", "xtick.bottom": False, "xtick.color": ".15",
    "xtick.direction": "out", "xtick.top": False, "ytick.color": ".15", "ytick.direction": "out",
    "ytick.left": False, "ytick.right": False,
}
_SEABORN_CONTEXT = {  # sns.plotting_context("notebook")
    "axes.labelsize": 12, "axes.linewidth": 1.25, "axes.titlesize": 12, "font.size": 12,
    "grid.linewidth": 1, "legend.fontsize": 11, "legend.title_fontsize": 12, "lines.linewidth": 1.5,
    "lines.markersize": 6, "patch.linewidth": 1, "xtick.labelsize": 11, "xtick.major.size": 6,
    "xtick.major.width": 1.25, "xtick.minor.size": 4, "xtick.minor.width": 1, "ytick.labelsize": 11,
    "ytick.major.size": 6, "ytick.major.width": 1.25, "ytick.minor.size": 4, "ytick.minor.width": 1,
}
_COLOR_CODES = {"b": DEEP[0], "g": DEEP[2], "r": DEEP[3], "m": DEEP[4], "y": DEEP[8], "c": DEEP[9],
                "k": (0.1, 0.1, 0.1)}  # seaborn's set_color_codes("deep")


def setup_theme() -> str:
    """Apply the reports' one theme (seaborn's whitegrid/notebook/deep) with a CJK font; returns the
    font family used."""
    import matplotlib as mpl
    from cycler import cycler

    font = cjk_font_name()
    mpl.rcParams.update(_SEABORN_CONTEXT)
    mpl.rcParams.update(_SEABORN_STYLE)
    mpl.rcParams.update({
        "axes.prop_cycle": cycler("color", DEEP),
        "font.sans-serif": [font, "DejaVu Sans"],
        "font.family": "sans-serif",
        "axes.unicode_minus": False,  # the CJK font may lack U+2212
        "figure.figsize": (8, 4.5),
        "figure.dpi": 100,
        "savefig.dpi": 110,
        "axes.titleweight": "normal",  # the bundled CJK font has one weight
    })
    for code, rgb in _COLOR_CODES.items():
        mpl.colors.colorConverter.colors[code] = rgb
    return font


def palette_colors(n: int) -> list[tuple[float, float, float]]:
    """``n`` colours of the theme's palette, repeating after its ten (as seaborn's color_palette)."""
    return [DEEP[i % len(DEEP)] for i in range(max(int(n), 0))]


def format_money(value: float, unit: str = "万元", digits: int = 2) -> str:
    """``value`` in 元 shown in ``unit`` with thousands separators, e.g. 123456789 → '12,345.68'."""
    if unit not in MONEY_DIVISORS:
        raise ValueError(f"unit must be one of {list(MONEY_DIVISORS)}, got {unit!r}")
    return f"{value / MONEY_DIVISORS[unit]:,.{digits}f}"


def money_axis(ax, unit: str = "万元", axis: str = "y", digits: int = 0, label: str | None = None):
    """Show an axis holding 元 values in 万元 or 亿元 (tick labels divided, unit in the label)."""
    if unit not in MONEY_DIVISORS:
        raise ValueError(f"unit must be one of {list(MONEY_DIVISORS)}, got {unit!r}")
    fmt = FuncFormatter(lambda v, _pos: format_money(v, unit, digits))
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(fmt)
    text = f"{label}（{unit}）" if label else unit
    (ax.set_ylabel if axis == "y" else ax.set_xlabel)(text)
    return ax


def percent_axis(ax, axis: str = "y", digits: int = 0):
    """Show an axis holding fractions (0.3147) as percentages (31%)."""
    fmt = FuncFormatter(lambda v, _pos: f"{v * 100:.{digits}f}%")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)
    return ax


def new_figure(title: str | None = None, figsize=None):
    """A themed figure with one axes (and an optional Chinese title)."""
    setup_theme()
    fig, ax = plt.subplots(figsize=figsize)
    if title:
        ax.set_title(title)
    return fig, ax


def stacked_count_bars(parts: pd.DataFrame, category: str, series, xlabel: str, title: str,
                       legend: dict | None = None):
    """Horizontal stacked bars of counts, one per row of ``parts`` (first row on top), one segment
    per ``series`` item ``(column, label, colour)``, each bar labelled with its total."""
    setup_theme()
    parts = parts.iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(parts) + 1.6))
    left = pd.Series(0, index=parts.index)
    for col, label, color in series:
        ax.barh(parts[category], parts[col], left=left, color=color, height=0.6, label=label)
        left = left + parts[col]
    for y, total in enumerate(left):
        ax.text(total, y, f" {int(total)}", va="center", fontsize=9)
    ax.set_xlim(0, max(int(left.max()) if len(left) else 0, 1) * 1.15)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(**(legend or {"loc": "lower right", "fontsize": 9}))
    fig.tight_layout()
    return fig


def check_glyphs(fig) -> list[str]:
    """Draw ``fig`` and return the missing-glyph warnings it raised (empty when every glyph exists)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    return [str(w.message) for w in caught
            if "missing from" in str(w.message) or "Glyph" in str(w.message)]
