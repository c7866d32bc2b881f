"""What changed since a report's previous edition, as the index shows it (issue 19): the headline
figure of each notebook (one mapping) and the index cell's Chinese text."""
from __future__ import annotations

from .formats import DASH, pct, score

# the figure the index names for each report: its one headline (a fact of its .facts.json)
HEADLINES: dict[str, str] = {
    "monitoring": "monitoring.execution_rate",
    "coverage": "targets.coverage_amount",
    "evaluation": "selfeval.mean_score",
    "overview": "monitoring.execution_rate",
    "quality": "quality.findings_total",
    "cost": "cost.standard",
    "fiscal": "fiscal.index",
}
HEADLINE_NAMES = {"monitoring.execution_rate": "执行率", "targets.coverage_amount": "目标覆盖率（金额）",
                  "selfeval.mean_score": "自评平均分", "quality.findings_total": "数据质量提示",
                  "cost.standard": "成本标准", "fiscal.index": "综合指数"}
RATES = ("monitoring.execution_rate", "targets.coverage_amount")


def headline_of(notebook: str) -> str | None:
    """The fact the index shows for a report of ``notebook`` (None: no headline)."""
    return HEADLINES.get(notebook)


def _value(fact: str, v) -> str:
    if v is None:
        return DASH
    if fact in RATES:
        return pct(v)
    if fact == "quality.findings_total":
        return f"{int(v):,} 处"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return score(v)
    return str(v)


def _diff(fact: str, d) -> str:
    if d is None:
        return ""
    sign = "+" if d > 0 else "−" if d < 0 else "±"
    if fact in RATES:
        return f"（{sign}{abs(d) * 100:.2f} 个百分点）"
    if fact == "quality.findings_total":
        return f"（{sign}{abs(int(d)):,} 处）"
    return f"（{sign}{score(abs(d))}）"


def change_text(summary: dict | None) -> str:
    """The index's 较上一版 cell: 首次发布, 数据未变化, or how many facts moved and the headline's move."""
    if not summary:
        return "首次发布"
    n = int(summary.get("count") or 0)
    if n == 0:
        return f"与上一版（{summary.get('since', '')}）相比数据未变化"
    text = f"较上一版（{summary.get('since', '')}）{n} 项数据变化"
    h = summary.get("headline")
    if h:
        name = HEADLINE_NAMES.get(h["fact"], h["fact"])
        text += f"；{name} {_value(h['fact'], h.get('old'))} → {_value(h['fact'], h.get('new'))}{_diff(h['fact'], h.get('diff'))}"
    return text

