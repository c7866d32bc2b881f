"""成本预算绩效 charts (:mod:`perflib.analysis.cost`): cost structure, unit-cost distribution, regression,
cost-effectiveness and savings against the budget cut.

Each function takes analysis results (DataFrames) and returns a matplotlib ``Figure``; theme, CJK
font and money axes come from :mod:`perflib.present.charts.base`.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from .base import MAX_PROJECT_BARS, STATUS_COLORS, legend_loc, money_axis, percent_axis, setup_theme


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
    """Per project: the estimate (测算可压减) beside the budget actually cut next year (实际压减)."""
    import numpy as np

    setup_theme()
    df = table.copy()
    df = df[(df["saving"].fillna(0) > 0) | (df["actual_cut"].fillna(0) > 0)]
    if len(df) > MAX_PROJECT_BARS:  # province scale: the projects with the largest saving or cut
        size = df["saving"].fillna(0).abs().combine(df["actual_cut"].fillna(0).abs(), max)
        df = df.loc[size.sort_values(ascending=False, kind="stable").index[:MAX_PROJECT_BARS]].sort_index()
        title = title or f"测算可压减与实际压减（两者最大的 {MAX_PROJECT_BARS} 个项目）"
    fig, ax = plt.subplots(figsize=(9, max(3.5, 0.35 * len(df) + 1.5)))
    y = np.arange(len(df))
    ax.barh(y - 0.2, df["saving"].fillna(0), height=0.4, color="#1f4e79", label="按支出标准测算可压减")
    ax.barh(y + 0.2, df["actual_cut"].fillna(0), height=0.4, color="#f9a825", label="下年预算实际压减")
    ax.set_yticks(y, [str(n)[:18] for n in df["label" if "label" in df.columns else "project_name"]])
    ax.axvline(0, color="#555555", linewidth=0.8)
    money_axis(ax, _cost_money_unit(list(df["saving"].fillna(0)) + list(df["actual_cut"].fillna(0))),
               axis="x", digits=1)
    ax.legend(loc="lower right")
    ax.set_title(title or "测算可压减与实际压减")
    fig.tight_layout()
    return fig
