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
# runner's zygote) for two calls. tests/test_plots.py checks these equal what seaborn sets.
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


def check_glyphs(fig) -> list[str]:
    """Draw ``fig`` and return the missing-glyph warnings it raised (empty when every glyph exists)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    return [str(w.message) for w in caught
            if "missing from" in str(w.message) or "Glyph" in str(w.message)]


# ---- cost ----
def _cost_money_unit(values) -> str:
    """万元 for ordinary amounts, 亿元 when the largest is ≥ 1 亿元."""
    import numpy as np

    v = np.asarray(list(values), dtype=float)
    v = v[np.isfinite(v)]
    return "亿元" if len(v) and np.abs(v).max() >= 1e8 else "万元"


def plot_cost_structure(per_project, overall, year: int, title: str | None = None):
    """Stacked shares of cost elements: each project of ``year`` (left) and the type per year (right).

    ``per_project`` / ``overall``: the frames of :func:`perflib.analysis.cost.cost_structure`.
    """
    import pandas as pd

    setup_theme()
    elements = sorted(set(overall["element"]) | set(per_project["element"]))
    cur = per_project[per_project["year"] == year]
    ids = cur["project_id"].unique()
    if len(ids) > MAX_PROJECT_BARS:  # province scale: the projects with the largest cost
        top = cur.groupby("project_id")["amount"].sum().nlargest(MAX_PROJECT_BARS).index
        cur = cur[cur["project_id"].isin(top)]
    n = max(len(cur["project_id"].unique()), 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, max(3.5, 0.32 * n + 1.5)),
                                   gridspec_kw={"width_ratios": [2, 1]})
    name_col = "label" if "label" in cur.columns else "project_name"
    wide = cur.pivot_table(index=name_col, columns="element", values="share", aggfunc="sum")
    wide = wide.reindex(columns=elements).fillna(0)
    if len(wide):
        wide.plot.barh(stacked=True, ax=ax1, legend=False, width=0.75)
    ax1.set_title(f"{year} 年各项目成本结构"
                  + (f"（成本最大的 {MAX_PROJECT_BARS} 个项目）" if len(ids) > MAX_PROJECT_BARS else ""))
    ax1.set_ylabel("")
    percent_axis(ax1, axis="x")
    ax1.set_xlim(0, 1)
    tot = overall.pivot_table(index="year", columns="element", values="share", aggfunc="sum")
    tot = tot.reindex(columns=elements).fillna(0)
    tot.index = [f"{int(y)}" for y in tot.index]
    tot.plot.bar(stacked=True, ax=ax2, legend=False, width=0.6, rot=0)
    ax2.set_title("全类型各年成本结构")
    ax2.set_xlabel("")
    percent_axis(ax2)
    ax2.set_ylim(0, 1)
    handles, labels = ax2.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 5), frameon=False,
               bbox_to_anchor=(0.5, -0.02))
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def plot_unit_cost_distribution(rows, standard: float, unit: str | None, title: str | None = None):
    """Peer unit costs per pilot year (box + points), outliers in red, the standard as a line.

    ``rows``: ``TypeAnalysis.rows`` (columns year, unit_cost, is_peer, is_outlier).
    """
    import math

    import numpy as np

    setup_theme()
    peers = rows[rows["is_peer"]].copy()
    peers["年度"] = peers["year"].astype(int).astype(str)
    order = sorted(peers["年度"].unique())
    fig, ax = plt.subplots(figsize=(8, 4.5))
    if len(peers):
        groups = [peers.loc[peers["年度"] == y, "unit_cost"].to_numpy(float) for y in order]
        ax.boxplot(groups, positions=range(len(order)), widths=0.5, showfliers=False, patch_artist=True,
                   boxprops={"facecolor": "#d6e4f0", "edgecolor": "#7f7f7f"},
                   medianprops={"color": "#7f7f7f"}, whiskerprops={"color": "#7f7f7f"},
                   capprops={"color": "#7f7f7f"})
        pos = peers["年度"].map({y: i for i, y in enumerate(order)}).to_numpy(float)
        # deterministic jitter so that equal values stay visible
        jitter = ((np.arange(len(peers)) % 7) - 3) * 0.04
        normal = ~peers["is_outlier"].to_numpy(bool)
        ax.scatter(pos[normal] + jitter[normal], peers["unit_cost"].to_numpy(float)[normal], color="#1f4e79",
                   s=22, zorder=3, label="项目年度")
        if (~normal).any():
            ax.scatter(pos[~normal], peers["unit_cost"].to_numpy(float)[~normal], color=STATUS_COLORS["red"],
                       s=55, marker="D", label="异常值（稳健 z 值超过阈值）", zorder=4)
        ax.set_xticks(range(len(order)), order)
    if standard is not None and math.isfinite(standard):
        ax.axhline(standard, color=STATUS_COLORS["green"], linestyle="--", linewidth=1.5,
                   label=f"支出标准 {standard:,.2f} 元/{unit}")
    ax.set_xlabel("年度")
    ax.set_ylabel(f"单位成本（元/{unit}）" if unit else "单位成本（元）")
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        seen = {}
        for h, l in zip(handles, labels):
            seen.setdefault(l, h)
        ax.legend(seen.values(), seen.keys(), loc=legend_loc(len(peers), "upper right"))
    ax.set_title(title or "同类项目单位成本分布")
    fig.tight_layout()
    return fig


def plot_cost_regression(peers, fixed: float, variable: float, unit: str | None,
                         title: str | None = None):
    """Total cost against output quantity for the peers, with the fitted line (fixed + variable)."""
    import math

    import numpy as np

    setup_theme()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.scatter(peers["quantity"], peers["total_cost"], color="#1f4e79", alpha=0.8, label="项目年度")
    if math.isfinite(fixed) and math.isfinite(variable) and len(peers):
        xs = np.linspace(0, float(peers["quantity"].max()) * 1.05, 50)
        ax.plot(xs, fixed + variable * xs, color=STATUS_COLORS["red"], linewidth=1.5,
                label="回归线（固定部分 + 单位变动成本 × 产出）")
        ax.legend(loc="upper left")
    ax.set_xlabel(f"产出数量（{unit}）" if unit else "产出数量")
    money_axis(ax, _cost_money_unit(peers["total_cost"]), label="总成本", digits=1)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
    ax.set_title(title or "成本驱动：总成本与产出数量")
    fig.tight_layout()
    return fig


def plot_cost_effectiveness(effectiveness, standard: float, quality_median: float, unit: str | None,
                            title: str | None = None):
    """Quality against unit cost: efficient frontier joined, cheap-and-low-quality marked.

    ``effectiveness``: the frame of :func:`perflib.analysis.cost.cost_effectiveness`.
    """
    import math

    setup_theme()
    df = effectiveness.dropna(subset=["unit_cost", "quality_score"])
    fig, ax = plt.subplots(figsize=(8, 4.8))
    other = df[~df["efficient"] & ~df["cheap_low_quality"]]
    ax.scatter(other["unit_cost"], other["quality_score"], color="#7f7f7f", label="其他项目")
    front = df[df["efficient"]].sort_values("unit_cost")
    if len(front):
        ax.plot(front["unit_cost"], front["quality_score"], color=STATUS_COLORS["green"], marker="o",
                linewidth=1.5, label="有效前沿（无项目更便宜且质量更高）")
    cheap = df[df["cheap_low_quality"]]
    if len(cheap):
        ax.scatter(cheap["unit_cost"], cheap["quality_score"], color=STATUS_COLORS["red"], marker="x",
                   s=70, label="低价低质", zorder=3)
    if standard is not None and math.isfinite(standard):
        ax.axvline(standard, color="#1f4e79", linestyle="--", linewidth=1, label="支出标准")
    if quality_median is not None and math.isfinite(quality_median):
        ax.axhline(quality_median, color="#9e9e9e", linestyle=":", linewidth=1, label="质量得分中位数")
    named = df if len(df) <= MAX_PROJECT_BARS else df[df["efficient"] | df["cheap_low_quality"]].head(MAX_PROJECT_BARS)
    for r in named.itertuples():  # province scale: only the frontier and cheap-and-low-quality named
        ax.annotate(str(getattr(r, "label", r.project_name))[:14], (r.unit_cost, r.quality_score), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel(f"单位成本（元/{unit}）" if unit else "单位成本（元）")
    ax.set_ylabel("质量得分")
    if len(df):
        ax.legend(loc=legend_loc(len(df), "lower right"), fontsize=8)
    ax.set_title(title or "成本效益：质量得分与单位成本")
    fig.tight_layout()
    return fig


def plot_savings_vs_cut(table, title: str | None = None):
    """Per project: savings if held to the standard beside the budget actually cut next year."""
    import numpy as np

    setup_theme()
    df = table.copy()
    df = df[(df["saving"].fillna(0) > 0) | df["budget_cut"].notna()]
    if len(df) > MAX_PROJECT_BARS:  # province scale: the projects with the largest saving or cut
        size = df["saving"].fillna(0).abs().combine(df["budget_cut"].fillna(0).abs(), max)
        df = df.loc[size.sort_values(ascending=False, kind="stable").index[:MAX_PROJECT_BARS]].sort_index()
        title = title or f"测算节约与实际压减（节约或压减最大的 {MAX_PROJECT_BARS} 个项目）"
    fig, ax = plt.subplots(figsize=(9, max(3.5, 0.35 * len(df) + 1.5)))
    y = np.arange(len(df))
    ax.barh(y - 0.2, df["saving"].fillna(0), height=0.4, color="#1f4e79", label="按支出标准测算可节约")
    ax.barh(y + 0.2, df["budget_cut"].fillna(0), height=0.4, color="#f9a825", label="下年度预算实际压减")
    ax.set_yticks(y, [str(n)[:18] for n in df["label" if "label" in df.columns else "project_name"]])
    ax.axvline(0, color="#555555", linewidth=0.8)
    money_axis(ax, _cost_money_unit(list(df["saving"].fillna(0)) + list(df["budget_cut"].fillna(0))),
               axis="x", digits=1)
    ax.legend(loc="lower right")
    ax.set_title(title or "测算节约与实际压减")
    fig.tight_layout()
    return fig


# ---- fiscal ----
FISCAL_HIGHLIGHT = "#c62828"
FISCAL_BASE = "#1f4e79"
FISCAL_PEER = "#9e9e9e"


def plot_fiscal_scores(comparison, street_name: str, title: str | None = None):
    """One street's indicator scores (0–100) beside the peer median score, one bar pair per indicator.

    ``comparison`` is :meth:`perflib.analysis.fiscal.FiscalIndex.comparison`'s table (指标, score,
    peer_median_score); a missing score is drawn as an empty bar and labelled 缺失."""
    import numpy as np

    setup_theme()
    df = comparison.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(9, max(3.5, 0.45 * len(df) + 1.5)))
    y = np.arange(len(df))[::-1]
    own = df["score"].astype(float)
    ax.barh(y + 0.2, own.fillna(0), height=0.4, color=FISCAL_BASE, label=street_name)
    ax.barh(y - 0.2, df["peer_median_score"].astype(float).fillna(0), height=0.4, color=FISCAL_PEER,
            label="参评街道中位数")
    for yi, v in zip(y, own):
        ax.annotate("缺失" if np.isnan(v) else f"{v:.0f}", (0 if np.isnan(v) else v, yi + 0.2),
                    xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks(y, [str(n) for n in df["指标"]])
    ax.set_xlim(0, 110)
    ax.set_xlabel("指标得分（0–100，同级街道极差标准化）")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title or f"{street_name}各指标得分与参评街道中位数")
    fig.tight_layout()
    return fig


def plot_fiscal_ranking(ranking, highlight: str | None = None, title: str | None = None):
    """Every evaluated street's composite index, best first, the chosen street highlighted and the
    median marked. ``ranking`` is :meth:`perflib.analysis.fiscal.FiscalIndex.ranking`'s table."""
    import numpy as np

    setup_theme()
    df = ranking[ranking["综合绩效指数"].notna()].sort_values("综合绩效指数", ascending=True)
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.4 * len(df) + 1.2)))
    colors = [FISCAL_HIGHLIGHT if n == highlight else FISCAL_BASE for n in df["街道"]]
    ax.barh(np.arange(len(df)), df["综合绩效指数"], color=colors)
    for i, v in enumerate(df["综合绩效指数"]):
        ax.annotate(f"{v:.2f}", (v, i), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    if len(df):
        med = float(df["综合绩效指数"].median())
        ax.axvline(med, color=FISCAL_PEER, linestyle="--", linewidth=1, label=f"中位数 {med:.2f}")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_yticks(np.arange(len(df)), list(df["街道"]))
    ax.set_xlim(0, 110)
    ax.set_xlabel("综合绩效指数（0–100）")
    ax.set_title(title or "街道财政运行综合绩效指数排名")
    fig.tight_layout()
    return fig


def plot_fiscal_pefa(scores, bands: dict, title: str | None = None):
    """PEFA PI-1/PI-2/PI-3 of one street by year: the yearly measure against the grade bands.

    ``scores``: :func:`perflib.analysis.fiscal.pefa_scores`' list; ``bands``: {"PI-1": pi1_bands,
    "PI-2": pi2_bands, "PI-3": pi3_bands} from the rules (PI-1/PI-3 intervals, PI-2 upper limits)."""
    import numpy as np

    setup_theme()
    fig, axes = plt.subplots(1, len(scores), figsize=(4 * len(scores), 3.8), squeeze=False)
    shades = ("#c8e6c9", "#fff9c4", "#ffe0b2")
    for ax, s in zip(axes[0], scores):
        yearly = s.yearly
        x = np.arange(len(yearly))
        vals = yearly["value"].astype(float)
        b = bands[s.code]
        grades = sorted(b)
        if isinstance(b[grades[0]], (list, tuple)):
            for g, shade in reversed(list(zip(grades, shades))):
                ax.axhspan(b[g][0], b[g][1], color=shade, alpha=0.9, zorder=0)
                ax.text(-0.45, b[g][1], f"{g} 级区间", fontsize=7, va="top", ha="left")
            ax.axhline(1.0, color="#555555", linewidth=0.8)
            ax.plot(x, vals, marker="o", color=FISCAL_BASE, zorder=3)
            ax.set_ylabel("决算/预算")
        else:
            ax.bar(x, vals.fillna(0), color=FISCAL_BASE, zorder=3)
            for g in grades:
                ax.axhline(b[g], color=FISCAL_PEER, linestyle="--", linewidth=0.8)
                ax.text(-0.45, b[g], f"{g} 级上限", fontsize=7, va="bottom", ha="left")
            ax.set_ylabel("支出结构偏差")
        for xi, v, g in zip(x, vals, yearly["grade"]):
            label = "无数据" if np.isnan(v) else f"{v * 100:.1f}% {g}"
            ax.annotate(label, (xi, 0 if np.isnan(v) else v), xytext=(0, 5), textcoords="offset points",
                        ha="center", fontsize=7)
        percent_axis(ax)
        ax.set_xlim(-0.5, len(yearly) - 0.5)
        ax.set_xticks(x, [f"{y}年" for y in yearly["year"]])
        ax.set_title(f"{s.code} 综合 {s.grade}", fontsize=10)
    fig.suptitle(title or "PEFA 支出与收入执行评分")
    fig.tight_layout()
    return fig


# ---- coverage ----
def plot_coverage_by_department(by_dept, title: str | None = None):
    """Target coverage by count per level-1 department (horizontal bars, lowest first); departments
    with nothing eligible are left out. ``by_dept``: :func:`perflib.analysis.coverage.coverage_by_department`."""
    setup_theme()
    f = by_dept[by_dept["eligible"] > 0].sort_values(["coverage_count", "level1_name"], ascending=[False, True])
    if len(f) > MAX_BARS:  # province scale: the departments with the lowest coverage
        f = f.tail(MAX_BARS)
        title = title or f"各部门绩效目标覆盖率（覆盖率最低的 {MAX_BARS} 个部门）"
    n = max(len(f), 1)
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.22 * n + 1.2)))
    colors = [STATUS_COLORS["green"] if v >= 1 else STATUS_COLORS["red"] for v in f["coverage_count"]]
    bars = ax.barh(f["level1_name"].astype(str), f["coverage_count"], color=colors, height=0.7)
    ax.bar_label(bars, labels=[f"{v * 100:.0f}%" for v in f["coverage_count"]], padding=2,
                 fontsize=7 if n > 30 else 9)
    ax.set_xlim(0, 1.12)
    percent_axis(ax, axis="x")
    ax.set_xlabel("绩效目标覆盖率（按项目数）")
    ax.margins(y=0.01)
    ax.tick_params(axis="y", labelsize=8 if n > 30 else 10)
    ax.set_title(title or "各部门绩效目标覆盖率")
    fig.tight_layout()
    return fig


def plot_selfeval_by_budget_kind(table, fiscal_year: int, title: str | None = None):
    """Self-evaluated money per budget kind, fiscal year ``fiscal_year`` against the year before.
    ``table``: :func:`perflib.analysis.coverage.selfeval_by_budget_kind`."""
    import numpy as np

    setup_theme()
    fig, ax = plt.subplots(figsize=(8, 4.2))
    x = np.arange(len(table))
    unit = "亿元" if max(table["amount"].max(), table["amount_prev"].max(), 0) >= 1e8 else "万元"
    ax.bar(x - 0.2, table["amount_prev"], width=0.4, label=f"{fiscal_year - 1} 年度", color="#9fb7d3")
    ax.bar(x + 0.2, table["amount"], width=0.4, label=f"{fiscal_year} 年度", color="#3b6ea5")
    ax.set_xticks(x, table["budget_kind"].astype(str))
    money_axis(ax, unit, label="自评资金")
    ax.legend(frameon=False)
    ax.set_title(title or "绩效自评资金（分预算类型）")
    fig.tight_layout()
    return fig


# ---- monitoring ----
_BAND_COLORS = {"绿色": STATUS_COLORS["green"], "黄色": STATUS_COLORS["yellow"],
                "红色": STATUS_COLORS["red"], "无预算": "#9e9e9e"}


def plot_execution_curve(curve, year: int, title: str | None = None):
    """Cumulative execution rate by month: ``year`` (to the as-of month), the prior year, and the
    time-progress line. ``curve``: :func:`perflib.analysis.monitoring.execution_curve`."""
    setup_theme()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    prev = curve[curve["year"] == year - 1]
    cur = curve[curve["year"] == year]
    months = list(range(1, 13))
    tp = curve.drop_duplicates("month").set_index("month")["time_progress"]
    m12 = [m / 12 for m in months]
    ax.plot(months, [tp.get(m, v) for m, v in zip(months, m12)], ls="--", color="#7f7f7f", label="时间进度")
    if len(prev):
        ax.plot(prev["month"], prev["cum_rate"], marker="o", ms=3, color="#9fb7d3", label=f"{year - 1} 年")
    if len(cur):
        ax.plot(cur["month"], cur["cum_rate"], marker="o", ms=4, lw=2.2, color="#c62828", label=f"{year} 年")
    ax.set_xticks(months, [f"{m}月" for m in months])
    ax.set_ylim(0, 1.05)
    percent_axis(ax)
    ax.set_ylabel("累计预算执行率")
    ax.legend(frameon=False)
    ax.set_title(title or "累计预算执行率与时间进度")
    fig.tight_layout()
    return fig


def plot_department_curves(monthly, level1_codes, year: int, title: str | None = None):
    """Cumulative execution of a few level-1 departments in ``year`` (solid) and the prior year
    (dotted, same colour) against time progress. ``monthly``: :func:`perflib.analysis.monitoring.monthly_execution`."""
    setup_theme()
    fig, ax = plt.subplots(figsize=(8.5, 4.8))
    months = list(range(1, 13))
    ax.plot(months, [m / 12 for m in months], ls="--", color="#7f7f7f", label="时间进度")
    palette = palette_colors(max(len(level1_codes), 1))
    for color, code in zip(palette, level1_codes):
        d = monthly[monthly["level1_code"] == code]
        name = str(d["level1_name"].iloc[0]) if len(d) else str(code)
        cur, prev = d[d["year"] == year], d[d["year"] == year - 1]
        ax.plot(cur["month"], cur["cum_rate"], marker="o", ms=3, color=color, label=name)
        if len(prev):
            ax.plot(prev["month"], prev["cum_rate"], ls=":", color=color)
    ax.set_xticks(months, [f"{m}月" for m in months])
    ax.set_ylim(0, 1.05)
    percent_axis(ax)
    ax.set_ylabel("累计预算执行率（虚点线为上年）")
    ax.legend(frameon=False, fontsize=8, ncol=2)
    ax.set_title(title or "执行最慢部门的累计执行率")
    fig.tight_layout()
    return fig


def plot_band_counts(dept_summary, n: int = 15, title: str | None = None):
    """Projects per warning band for the ``n`` departments with most red projects (stacked bars).
    ``dept_summary``: ``execution_summary(..., ["level1_code", "level1_name"])``."""
    setup_theme()
    f = dept_summary.sort_values(["红色", "黄色"], ascending=False).head(int(n)).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.3 * len(f) + 1.2)))
    left = None
    for band in ("红色", "黄色", "绿色"):
        ax.barh(f["level1_name"].astype(str), f[band], left=left, color=_BAND_COLORS[band], label=band,
                height=0.7)
        left = f[band] if left is None else left + f[band]
    ax.set_xlabel("项目数")
    ax.legend(frameon=False, loc="lower right")
    ax.set_title(title or "各部门预警项目数（红色最多的部门）")
    fig.tight_layout()
    return fig


def plot_execution_scatter(execution, rules, title: str | None = None):
    """Each project's execution rate against its budget (log scale), coloured by band, with the
    time progress and the band floors drawn from the rules."""
    setup_theme()
    fig, ax = plt.subplots(figsize=(8, 4.8))
    f = execution[execution["budget"] > 0]
    for band in ("绿色", "黄色", "红色"):
        d = f[f["band"] == band]
        # no marker edge (the theme strokes each marker with its face colour: 3× the drawing time
        # for a province's 90,000 projects); the size makes up for the edge
        ax.scatter(d["budget"], d["execution_rate"], s=20, linewidths=0, alpha=0.7, color=_BAND_COLORS[band],
                   label=band)
    if len(execution):
        tp = float(execution["time_progress"].iloc[0])
        ax.axhline(tp, color="#424242", ls="--", lw=1, label="时间进度")
        ax.axhline(tp + float(rules.value("monitoring.green_min_gap")), color=STATUS_COLORS["green"], ls=":", lw=1)
        ax.axhline(tp + float(rules.value("monitoring.yellow_min_gap")), color=STATUS_COLORS["red"], ls=":", lw=1)
    ax.set_xscale("log")
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: format_money(v, "万元", 0)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("预算数（万元，对数刻度）")
    percent_axis(ax)
    ax.set_ylabel("预算执行率")
    ax.legend(frameon=False, fontsize=8, loc=legend_loc(len(f), "upper left"))
    ax.set_title(title or "项目预算执行率与预算规模")
    fig.tight_layout()
    return fig


def plot_projected_unspent(by_dept, n: int = 10, title: str | None = None):
    """Projected year-end unspent balance of the ``n`` departments with the largest one.
    ``by_dept``: ``projection_summary(..., ["level1_code", "level1_name"])``."""
    setup_theme()
    f = by_dept.sort_values("projected_unspent", ascending=False).head(int(n)).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.32 * len(f) + 1.2)))
    unit = "亿元" if len(f) and f["projected_unspent"].max() >= 1e8 else "万元"
    ax.barh(f["level1_name"].astype(str), f["projected_unspent"], color="#8e6c8a", height=0.7)
    money_axis(ax, unit, axis="x", label="预计年末结转结余")
    ax.set_title(title or "预计年末结转结余最多的部门")
    fig.tight_layout()
    return fig


# ---- evaluation ----
GRADE_ORDER = ("优", "良", "中", "差")
GRADE_COLORS = {"优": "#2e7d32", "良": "#66bb6a", "中": "#f9a825", "差": "#c62828"}


def _grade_lines(ax, rules, axis: str = "x") -> None:
    """Dashed lines at the grade boundaries (中/良/优 lower bounds) with their labels."""
    for key, label in (("fair", "中"), ("good", "良"), ("excellent", "优")):
        v = rules.value(f"grades.{key}")
        line = ax.axvline if axis == "x" else ax.axhline
        line(v, color="grey", linestyle="--", linewidth=0.8)
        if axis == "x":
            ax.text(v, 0.98, f"{label} ≥ {v:g} ", transform=ax.get_xaxis_transform(), ha="right", va="top",
                    fontsize=8, color="grey")


def plot_selfeval_scores(projects, rules, title: str | None = None):
    """Histogram of recomputed vs reported self-evaluation scores, with the grade boundaries.

    ``projects``: ``SelfEvaluation.projects`` of :mod:`perflib.analysis.evaluation` (recomputable rows used).
    """
    import numpy as np

    fig, ax = new_figure(title or "绩效自评得分分布（复核与自评）")
    p = projects[projects["recomputable"]]
    bins = np.arange(0, 102.5, 2.5)
    ax.hist(p["recomputed_score"].dropna(), bins=bins, alpha=0.7, label="复核得分")
    ax.hist(p["reported_score"].dropna(), bins=bins, histtype="step", linewidth=1.5, label="自评得分")
    _grade_lines(ax, rules)
    low = min(p["recomputed_score"].min(), p["reported_score"].min()) if len(p) else 0
    low = min(float(rules.value("grades.fair")) - 5, float(np.floor(low / 10) * 10)) if np.isfinite(low) else 0
    ax.set_xlim(max(low, 0), 100)
    ax.set_xlabel("得分")
    ax.set_ylabel("项目数")
    ax.legend(loc="center left")
    fig.tight_layout()
    return fig


def plot_grades_by_department(by_dept, top: int = 15, title: str | None = None):
    """Stacked horizontal bars of recomputed grades per level-1 department (the ``top`` with most
    recomputed projects). ``by_dept``: :func:`perflib.analysis.evaluation.grades_by_department`."""
    d = by_dept[by_dept["recomputed"] > 0].sort_values("recomputed", ascending=False).head(top)
    d = d.iloc[::-1]
    fig, ax = new_figure(title or "各部门复核等级分布", figsize=(8, max(3, 0.35 * len(d) + 1.5)))
    import numpy as np

    left = np.zeros(len(d))
    for g in GRADE_ORDER:
        vals = d[g].to_numpy(dtype=float) if g in d else np.zeros(len(d))
        ax.barh(d["level1_name"].astype(str), vals, left=left, color=GRADE_COLORS[g], label=g)
        left = left + vals
    ax.set_xlabel("项目数")
    ax.legend(title="复核等级", loc="lower right", ncols=4)
    fig.tight_layout()
    return fig


def plot_reported_vs_recomputed(projects, rules, title: str | None = None):
    """Reported against recomputed score per project; points above the margin line are 自评虚高."""
    import numpy as np

    margin = float(rules.value("self_evaluation.inflation_margin"))
    fig, ax = new_figure(title or "自评得分与复核得分", figsize=(6.5, 6))
    p = projects[projects["recomputable"]]
    ok = p[~p["inflated"]]
    bad = p[p["inflated"]]
    ax.scatter(ok["recomputed_score"], ok["reported_score"], s=14, alpha=0.6, label="差异在阈值内")
    ax.scatter(bad["recomputed_score"], bad["reported_score"], s=18, color=GRADE_COLORS["差"],
               label=f"自评虚高（高出 > {margin:g} 分）")
    x = np.array([0, 100])
    ax.plot(x, x, color="grey", linewidth=0.8)
    ax.plot(x, x + margin, color=GRADE_COLORS["差"], linestyle="--", linewidth=0.8)
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 102)
    ax.set_xlabel("复核得分")
    ax.set_ylabel("自评得分")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def plot_key_scores(scored, rules, title: str | None = None):
    """Key evaluations: stacked dimension scores (决策/过程/产出/效益) per project with grade lines.
    ``scored``: :func:`perflib.analysis.evaluation.score_key_evaluations`."""
    import numpy as np

    dims = (("score_decision", "决策"), ("score_process", "过程"), ("score_output", "产出"), ("score_effect", "效益"))
    k = scored.sort_values("total_score").reset_index(drop=True)
    fig, ax = new_figure(title or "重点评价各维度得分", figsize=(8.5, max(3, 0.4 * len(k) + 1.5)))
    labels = [f"{n}（{g or '—'}）" for n, g in zip(k["project_name"].astype(str), k["grade"])]
    left = np.zeros(len(k))
    for col, label in dims:
        vals = k[col].to_numpy(dtype=float)
        ax.barh(labels, vals, left=left, label=f"{label}（满分 {rules.value('key_evaluation.weight_' + col[6:]):g}）")
        left = left + vals
    _grade_lines(ax, rules)
    ax.set_xlim(0, 100)
    ax.set_xlabel("得分")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def plot_grade_cut(scored, rules, title: str | None = None):
    """Grade against next year's cut rate: one point per project, the suggested cut of each grade as
    a bar with its tolerance band; departures from the suggestion in red."""
    import numpy as np

    tol = float(rules.value("key_evaluation.decision_tolerance"))
    suggested = rules.value("key_evaluation.suggested_cut")
    floors = set(rules.value("key_evaluation.suggested_cut_floor_grades"))
    fig, ax = new_figure(title or "评价等级与下年度压减率")
    xs = {g: i for i, g in enumerate(GRADE_ORDER)}
    for g, i in xs.items():
        s = suggested[g]
        top = 1.0 if g in floors else s + tol
        ax.fill_between([i - 0.3, i + 0.3], max(s - tol, 0), top, color="grey", alpha=0.15, linewidth=0)
        ax.plot([i - 0.3, i + 0.3], [s, s], color="black", linewidth=1.5)
    k = scored[scored["cut_rate"].notna()]
    rng = np.random.default_rng(0)
    jitter = rng.uniform(-0.15, 0.15, len(k))
    x = k["grade"].map(xs).to_numpy(dtype=float) + jitter
    colors = np.where(k["departs"], GRADE_COLORS["差"], "#1565c0")
    ax.scatter(x, k["cut_rate"], c=colors, s=40, zorder=3)
    ax.scatter([], [], c="#1565c0", label="符合建议")
    ax.scatter([], [], c=GRADE_COLORS["差"], label="偏离建议")
    ax.plot([], [], color="black", label=f"建议压减率（灰带 ±{tol:.0%}；{'、'.join(sorted(floors))}为下限）")
    ax.set_xticks(range(len(GRADE_ORDER)), list(GRADE_ORDER))
    ax.set_xlabel("评价等级")
    ax.set_ylabel("压减率")
    percent_axis(ax)
    ax.set_ylim(-0.02, max(0.6, float(k["cut_rate"].max()) + 0.05) if len(k) else 0.6)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig
