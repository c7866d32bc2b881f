"""结果应用 chart (:mod:`perflib.analysis.application`): per stage, the flagged projects by what the
next year's budget did against the rules' suggestion."""
from __future__ import annotations

from .base import new_figure

DECISION_COLORS = {"符合建议": "#2e7d32", "压减不足": "#c62828", "压减超出建议": "#f9a825",
                   "无申请数": "#9e9e9e", "本年无预算数": "#bdbdbd", "下年无预算记录": "#e0e0e0"}


def plot_application(projects, stage_names: dict, title: str | None = None):
    """Stacked horizontal bars: flagged projects per stage, split by decision (符合建议 …)."""
    import pandas as pd

    fig, ax = new_figure(title or "各环节发现问题项目的下年预算安排")
    counts = (projects.groupby(["stage", "decision"]).size().unstack(fill_value=0)
              if len(projects) else pd.DataFrame())
    stages = list(stage_names)
    left = [0] * len(stages)
    for decision, color in DECISION_COLORS.items():
        if decision not in counts.columns:
            continue
        vals = [int(counts[decision].get(s, 0)) for s in stages]
        ax.barh(range(len(stages)), vals, left=left, color=color, label=decision)
        left = [a + b for a, b in zip(left, vals)]
    ax.set_yticks(range(len(stages)), [stage_names[s] for s in stages])
    ax.invert_yaxis()
    ax.set_xlabel("项目数")
    if len(projects):
        ax.legend(loc="lower right", fontsize=8)
    else:
        ax.text(0.5, 0.5, "无发现问题的项目", transform=ax.transAxes, ha="center", va="center")
    fig.tight_layout()
    return fig
