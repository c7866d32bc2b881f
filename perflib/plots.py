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


# ---- cost ----
def _cost_money_unit(values) -> str:
    """万元 for ordinary amounts, 亿元 when the largest is ≥ 1 亿元."""
    import numpy as np

    v = np.asarray(list(values), dtype=float)
    v = v[np.isfinite(v)]
    return "亿元" if len(v) and np.abs(v).max() >= 1e8 else "万元"


def plot_cost_structure(per_project, overall, year: int, title: str | None = None):
    """Stacked shares of cost elements: each project of ``year`` (left) and the type per year (right).

    ``per_project`` / ``overall``: the frames of :func:`perflib.cost.cost_structure`.
    """
    import pandas as pd

    setup_theme()
    elements = sorted(set(overall["element"]) | set(per_project["element"]))
    cur = per_project[per_project["year"] == year]
    n = max(len(cur["project_id"].unique()), 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, max(3.5, 0.32 * n + 1.5)),
                                   gridspec_kw={"width_ratios": [2, 1]})
    wide = cur.pivot_table(index="project_name", columns="element", values="share", aggfunc="sum")
    wide = wide.reindex(columns=elements).fillna(0)
    if len(wide):
        wide.plot.barh(stacked=True, ax=ax1, legend=False, width=0.75)
    ax1.set_title(f"{year} 年各项目成本结构")
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
        ax.legend(seen.values(), seen.keys(), loc="best")
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

    ``effectiveness``: the frame of :func:`perflib.cost.cost_effectiveness`.
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
    for r in df.itertuples():
        ax.annotate(str(r.project_name)[:10], (r.unit_cost, r.quality_score), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel(f"单位成本（元/{unit}）" if unit else "单位成本（元）")
    ax.set_ylabel("质量得分")
    if len(df):
        ax.legend(loc="best", fontsize=8)
    ax.set_title(title or "成本效益：质量得分与单位成本")
    fig.tight_layout()
    return fig


def plot_savings_vs_cut(table, title: str | None = None):
    """Per project: savings if held to the standard beside the budget actually cut next year."""
    import numpy as np

    setup_theme()
    df = table.copy()
    df = df[(df["saving"].fillna(0) > 0) | df["budget_cut"].notna()]
    fig, ax = plt.subplots(figsize=(9, max(3.5, 0.35 * len(df) + 1.5)))
    y = np.arange(len(df))
    ax.barh(y - 0.2, df["saving"].fillna(0), height=0.4, color="#1f4e79", label="按支出标准测算可节约")
    ax.barh(y + 0.2, df["budget_cut"].fillna(0), height=0.4, color="#f9a825", label="下年度预算实际压减")
    ax.set_yticks(y, [str(n)[:14] for n in df["project_name"]])
    ax.axvline(0, color="#555555", linewidth=0.8)
    money_axis(ax, _cost_money_unit(list(df["saving"].fillna(0)) + list(df["budget_cut"].fillna(0))),
               axis="x", digits=1)
    ax.legend(loc="lower right")
    ax.set_title(title or "测算节约与实际压减")
    fig.tight_layout()
    return fig


# ---- coverage ----
def plot_coverage_by_department(by_dept, title: str | None = None):
    """Target coverage by count per level-1 department (horizontal bars, lowest first); departments
    with nothing eligible are left out. ``by_dept``: :func:`perflib.coverage.coverage_by_department`."""
    setup_theme()
    f = by_dept[by_dept["eligible"] > 0].sort_values(["coverage_count", "level1_name"], ascending=[False, True])
    n = max(len(f), 1)
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.22 * n + 1.2)))
    colors = [STATUS_COLORS["green"] if v >= 1 else STATUS_COLORS["red"] for v in f["coverage_count"]]
    bars = ax.barh(f["level1_name"].astype(str), f["coverage_count"], color=colors, height=0.7)
    ax.bar_label(bars, labels=[f"{v * 100:.0f}%" for v in f["coverage_count"]], padding=2,
                 fontsize=7 if n > 30 else 9)
    ax.set_xlim(0, 1.12)
    percent_axis(ax, axis="x")
    ax.set_xlabel("绩效目标覆盖率（按项目数）")
    ax.tick_params(axis="y", labelsize=8 if n > 30 else 10)
    ax.set_title(title or "各部门绩效目标覆盖率")
    fig.tight_layout()
    return fig


def plot_selfeval_by_budget_kind(table, fiscal_year: int, title: str | None = None):
    """Self-evaluated money per budget kind, fiscal year ``fiscal_year`` against the year before.
    ``table``: :func:`perflib.coverage.selfeval_by_budget_kind`."""
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
    time-progress line. ``curve``: :func:`perflib.monitoring.execution_curve`."""
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
    (dotted, same colour) against time progress. ``monthly``: :func:`perflib.monitoring.monthly_execution`."""
    import seaborn as sns

    setup_theme()
    fig, ax = plt.subplots(figsize=(8.5, 4.8))
    months = list(range(1, 13))
    ax.plot(months, [m / 12 for m in months], ls="--", color="#7f7f7f", label="时间进度")
    palette = sns.color_palette(PALETTE, max(len(level1_codes), 1))
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
        ax.scatter(d["budget"], d["execution_rate"], s=14, alpha=0.7, color=_BAND_COLORS[band], label=band)
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
    ax.legend(frameon=False, fontsize=8)
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
