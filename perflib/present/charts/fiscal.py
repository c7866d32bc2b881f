"""街道财政运行 charts (:mod:`perflib.analysis.fiscal`): indicator scores against the peers, the ranking
and the PEFA ratios with their grade bands.

Each function takes analysis results (DataFrames) and returns a matplotlib ``Figure``; theme, CJK
font and money axes come from :mod:`perflib.present.charts.base`.
"""
from __future__ import annotations

import matplotlib.pyplot as plt

from .base import MAX_BARS, percent_axis, setup_theme


FISCAL_HIGHLIGHT = "#c62828"
FISCAL_BASE = "#1f4e79"
FISCAL_PEER = "#9e9e9e"


def plot_fiscal_scores(comparison, street_name: str, title: str | None = None):
    """One street's indicator scores (0–100) beside the peer median score, one bar pair per indicator.

    ``comparison`` is :meth:`perflib.analysis.fiscal.FiscalIndex.comparison`'s table (indicator, score,
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
    ax.set_yticks(y, [str(n) for n in df["indicator"]])
    ax.set_xlim(0, 110)
    ax.set_xlabel("指标得分（0–100，同级街道极差标准化）")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title or f"{street_name}各指标得分与参评街道中位数")
    fig.tight_layout()
    return fig


def plot_fiscal_ranking(ranking, highlight: str | None = None, title: str | None = None):
    """Every evaluated street's composite index, best first (at province scale the MAX_BARS around the
    chosen street), the chosen street highlighted and the median of all marked. ``ranking`` is
    :meth:`perflib.analysis.fiscal.FiscalIndex.ranking`'s table."""
    import numpy as np

    setup_theme()
    df = ranking[ranking["index"].notna()].sort_values("index", ascending=True)
    med = float(df["index"].median()) if len(df) else float("nan")  # of every street, drawn or not
    df, title = _ranking_window(df, highlight, title)
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.4 * len(df) + 1.2)))
    colors = [FISCAL_HIGHLIGHT if n == highlight else FISCAL_BASE for n in df["dept_name"]]
    ax.barh(np.arange(len(df)), df["index"], color=colors)
    for i, v in enumerate(df["index"]):
        ax.annotate(f"{v:.2f}", (v, i), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    if len(df):
        ax.axvline(med, color=FISCAL_PEER, linestyle="--", linewidth=1, label=f"中位数 {med:.2f}")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_yticks(np.arange(len(df)), list(df["dept_name"]))
    ax.set_xlim(0, 110)
    ax.set_xlabel("综合绩效指数（0–100）")
    ax.set_title(title or "街道财政运行综合绩效指数排名")
    fig.tight_layout()
    return fig


def _ranking_window(df, highlight: str | None, title: str | None):
    """At most :data:`MAX_BARS` streets of ``df`` (sorted by index, ascending): all of them, or at
    province scale the run of MAX_BARS around ``highlight`` (the best ones without it), with a title
    saying which part of the ranking is drawn (1,800 bars took 17 s and could not be read)."""
    total = len(df)
    if total <= MAX_BARS:
        return df, title
    names = list(df["dept_name"])
    at = names.index(highlight) if highlight in names else total - 1
    start = min(max(at - MAX_BARS // 2, 0), total - MAX_BARS)
    best_first = (total - (start + MAX_BARS) + 1, total - start)  # positions counted from the best
    return df.iloc[start:start + MAX_BARS], title or (
        f"街道财政运行综合绩效指数排名（共 {total:,} 个街道，图示指数第 {best_first[0]:,}–{best_first[1]:,} 位）")


def plot_fiscal_pefa(scores, bands: dict, title: str | None = None):
    """PEFA PI-1/PI-2.1/PI-2.2/PI-3.1 of one street by year: the yearly measure against the grade bands.

    ``scores``: the applicable ones of :func:`perflib.analysis.pefa.pefa_scores`; ``bands``:
    :func:`perflib.analysis.pefa.pefa_bands` (PI-1/PI-3.1 intervals, PI-2.1/PI-2.2 upper limits)."""
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
