"""Sentences about funding sources (资金来源): the stricter execution expectations of 直达资金 and
专项债券 (monitoring) and the fund sources target coverage counts (coverage)."""
from __future__ import annotations

import pandas as pd

from ..formats import money_words, pct


def strict_text(strict: pd.DataFrame) -> str:
    """One sentence per strictly watched group: its execution against the expected rate."""
    if strict.empty:
        return "规则 monitoring.strict_sources 没有列出执行进度要求更严的资金。"
    parts = []
    for _, r in strict.iterrows():
        if r["projects"] == 0:
            parts.append(f"{r['group']}：本期没有此类项目")
            continue
        plus = "即时间进度" if r["margin"] == 0 else f"时间进度加 {r['margin'] * 100:+.0f} 个百分点"
        verdict = "达到" if r["execution_rate"] >= r["expected_rate"] - 1e-12 else "未达到"
        parts.append(f"{r['group']}项目 {int(r['projects'])} 个、预算 {money_words(r['budget'])}，执行率 "
                     f"{pct(r['execution_rate'])}，{verdict}要求的 {pct(r['expected_rate'])}（{plus}），其中 {int(r['below'])} 个项目未达要求")
    return ("执行进度要求更严的资金（规则 monitoring.strict_sources）：" + "；".join(parts) + "。")


def scope_sources_text(sources) -> str:
    """Which fund sources the target coverage rate counts."""
    return (f"绩效目标覆盖率的分母为{'、'.join(sources)}资金安排的项目（规则 coverage.scope_fund_sources，不含涉密项目和"
            "特殊资金）；其他资金来源的项目列出编制目标的情况，不计入覆盖率。")
