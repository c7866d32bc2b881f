"""Chinese sentences of the 绩效目标审核 report: what the figures of
:mod:`perflib.analysis.target_review` show, and no more."""
from __future__ import annotations

import pandas as pd

from ..formats import money_words


def summary_text(facts: dict, summary: pd.DataFrame, year: int, scope: str = "全区") -> str:
    """The headline paragraph: projects reviewed and their conclusions, with the money of each."""
    n = int(facts["targets_review.projects"])
    if n == 0:
        return f"{scope}{year} 年没有编制项目绩效目标的项目，本报告没有可审核的绩效目标。"
    parts = []
    for key, word in (("passed", "通过"), ("revise", "修改后通过"), ("failed", "不通过")):
        k = int(facts[f"targets_review.{key}"])
        parts.append(f"{word} {k} 个（涉及年初预算 {money_words(float(summary[f'{key}_amount'].sum()))}）")
    return (f"按规则对{scope}{year} 年编制了项目绩效目标的 {n} 个项目（年初预算 "
            f"{money_words(float(summary['amount'].sum()))}）逐项审核绩效目标：" + "，".join(parts) + "。")


def rules_text(by_rule: pd.DataFrame) -> str:
    """Which rules the projects failed most (only rules some project failed)."""
    hit = by_rule[by_rule["projects"] > 0].sort_values("projects", ascending=False, kind="stable")
    if hit.empty:
        return "各项审核规则均没有未通过的项目。"
    items = "；".join(f"{r.rule} {int(r.projects)} 个（审核结论为{r.consequence}）" for r in hit.itertuples())
    return f"未通过各审核规则的项目数（一个项目可能未通过多条规则）：{items}。"


def departments_text(summary: pd.DataFrame) -> str:
    """How many departments have a 不通过 or a 修改后通过 project."""
    n = len(summary)
    failed = int((summary["failed"] > 0).sum())
    revise = int((summary["revise"] > 0).sum())
    return (f"涉及 {n} 个一级部门，其中有审核不通过项目的 {failed} 个，有需修改后通过项目的 {revise} 个；"
            "各部门的审核意见见 xlsx 中以部门命名的工作表，可据此退回部门修改。")
