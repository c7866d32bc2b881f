"""Chart base shared by every report: one seaborn theme, a CJK font that exists on a fresh machine,
and money axes in 万元/亿元.

Analysis modules append their own plot functions at the end of this file, each in a delimited
section ``# ---- <module> ----``. Plot functions take analysis results (DataFrames) and return a
matplotlib ``Figure``; they never read files or compute figures of their own.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.ticker import FuncFormatter

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


def setup_theme() -> str:
    """Apply the reports' one seaborn theme with a CJK font; returns the font family used."""
    import seaborn as sns

    font = cjk_font_name()
    sns.set_theme(
        context="notebook",
        style="whitegrid",
        palette=PALETTE,
        font=font,
        rc={
            "font.sans-serif": [font, "DejaVu Sans"],
            "font.family": "sans-serif",
            "axes.unicode_minus": False,  # the CJK font may lack U+2212
            "figure.figsize": (8, 4.5),
            "figure.dpi": 100,
            "savefig.dpi": 110,
            "axes.titleweight": "normal",  # the bundled CJK font has one weight
        },
    )
    return font


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


def check_glyphs(fig) -> list[str]:
    """Draw ``fig`` and return the missing-glyph warnings it raised (empty when every glyph exists)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    return [str(w.message) for w in caught
            if "missing from" in str(w.message) or "Glyph" in str(w.message)]
