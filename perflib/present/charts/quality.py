"""Data-quality charts (:mod:`perflib.analysis.quality`): findings per kind."""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from ...schema import FINDING_KINDS
from .base import setup_theme


def plot_findings_by_kind(facts: dict, title: str | None = None):
    """Findings per kind, every kind of :data:`perflib.schema.FINDING_KINDS` listed (a kind without
    findings shows 0). ``facts``: :func:`perflib.analysis.quality.quality_facts`."""
    setup_theme()
    counts = facts["quality.findings_by_kind"]
    kinds = list(FINDING_KINDS) + [k for k in counts if k not in FINDING_KINDS]
    labels = [FINDING_KINDS[k].label if k in FINDING_KINDS else k for k in kinds]
    values = [int(counts.get(k, 0)) for k in kinds]
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(kinds) + 1.4))
    bars = ax.barh(labels[::-1], values[::-1], color="#3b6ea5", height=0.7)
    ax.bar_label(bars, labels=[f"{v:,}" for v in values[::-1]], padding=2, fontsize=9)
    ax.set_xlim(0, max(max(values, default=0), 1) * 1.15)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("提示数（处）")
    ax.set_title(title or "各类数据质量提示数")
    fig.tight_layout()
    return fig
