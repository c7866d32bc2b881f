"""Evaluation charts (:mod:`perflib.analysis.evaluation`): recomputed self-evaluation scores, grades by
department, reported against recomputed, key-evaluation scores and the budget cut by grade.

Each function takes analysis results (DataFrames) and returns a matplotlib ``Figure``; theme, CJK
font and money axes come from :mod:`perflib.present.charts.base`.
"""
from __future__ import annotations


from .base import new_figure, percent_axis


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
    maxima = k[["max_" + c[6:] for c, _ in dims]].to_numpy(dtype=float)
    scale = 100.0 / maxima.sum(axis=1)  # each evaluation on the 100-point scale of its total score
    for j, (col, label) in enumerate(dims):
        m = maxima[:, j]
        vals = np.minimum(k[col].to_numpy(dtype=float), m) * scale  # a score above its maximum counts at it
        same = len(m) and np.allclose(m, m[0]) and np.allclose(scale, 1.0)
        ax.barh(labels, vals, left=left, label=f"{label}（满分 {m[0]:g}）" if same else f"{label}（按各方案满分折算）")
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
    fig, ax = new_figure(title or "评价等级与下年度审减率")
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
    ax.set_ylabel("审减率（申请数−安排数）÷申请数")
    percent_axis(ax)
    ax.set_ylim(-0.02, max(0.6, float(k["cut_rate"].max()) + 0.05) if len(k) else 0.6)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig
