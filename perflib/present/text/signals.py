"""The 信号冲突 (conflicting signals) sentences and the table's 说明 column, drafted from
:func:`perflib.analysis.signals.conflicting_signals`. A sentence counts rows and states the rules
that chose them; it never says more than the rows show."""
from __future__ import annotations

import pandas as pd

from ...analysis.signals import KIND_COST_FULL, KIND_KEY_SLOW, KIND_SELF_LOW_EXEC, signal_facts
from ...store import CLASSIFIED_NAME
from ..formats import name_list, pct, wan


def _money(x) -> str:
    return "—" if x is None or pd.isna(x) else f"{wan(x, 2, grouped=True)} 万元"


def signal_detail(r) -> str:
    """Both figures of one conflict (a row of the signals frame)."""
    if r.kind == KIND_KEY_SLOW:
        text = (f"{int(r.evaluation_year)} 年重点评价{r.grade}（{r.score:.2f} 分）；"
                f"监控截至 {int(r.as_of_month)} 月底执行率 {pct(r.execution_rate)}，预警{r.band}，"
                f"预计结转结余 {_money(r.projected_unspent)}")
        if pd.notna(r.unspent_share):
            text += f"（占预算数 {pct(r.unspent_share)}）"
        return text
    if r.kind == KIND_SELF_LOW_EXEC:
        return (f"{int(r.evaluation_year)} 年度自评 {r.score:.2f} 分（{r.grade}）；"
                f"全年预算执行率 {pct(r.execution_rate)}（预算数 {_money(r.budget)}）")
    if r.kind == KIND_COST_FULL:
        return (f"{int(r.evaluation_year)} 年度自评 {r.score:.2f} 分；{r.project_type}单位成本 "
                f"{r.unit_cost:,.2f} 元，高于支出标准 {r.standard:,.2f} 元")
    return ""


def signals_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The conflicts with their ``detail`` worded (view ``evaluation.signals``)."""
    return frame.assign(detail=[signal_detail(r) for r in frame.itertuples(index=False)])


def _counts(frame: pd.DataFrame) -> dict[str, int]:
    return {k: int((frame["kind"] == k).sum()) for k in (KIND_KEY_SLOW, KIND_SELF_LOW_EXEC, KIND_COST_FULL)}


def signals_paragraph(frame: pd.DataFrame, year: int, month: int | None, rules) -> str:
    """What the conflict table holds, kind by kind, with the rules that chose the rows."""
    y, n = int(year), _counts(frame)
    grades = "或".join(rules.value("key_evaluation.conflict_grades"))
    share = rules.value("key_evaluation.conflict_unspent_share")
    low = rules.value("self_evaluation.conflict_low_execution")
    full = rules.value("self_evaluation.full_marks_min")
    if month is None:
        first = f"{y}年没有支付数据，未对照重点评价与执行监控"
    else:
        first = (f"{y}年重点评价为{grades}、但截至{month}月底监控为红色或预计结转结余不低于预算数"
                 f"{pct(share, 0)}的项目{n[KIND_KEY_SLOW]}个")
    parts = [first,
             f"{y - 1}年度自评为优、但全年预算执行率低于{pct(low, 0)}的项目{n[KIND_SELF_LOW_EXEC]}个",
             f"{y - 1}年单位成本高于支出标准、但自评{full:g}分的项目{n[KIND_COST_FULL]}个"]
    text = "对照评价结果与资金执行、成本情况：" + "；".join(parts) + "。"
    if len(frame):
        text += "下表列出每个项目两方面的数字及下一年度预算安排（重点评价项目为申请数和安排数，其他项目为下一年度年初预算数）。"
    return text


def overview_summary(frame: pd.DataFrame, year: int, month: int | None, rules) -> str:
    """The overview's short summary: counts per kind, and the well-graded key evaluations that are
    slow by name (classified projects never named), with how many got their request in full."""
    y, n = int(year), _counts(frame)
    if not len(frame):
        return "对照评价结果与资金执行、成本情况，未发现评价结果与执行或成本信号相互矛盾的项目。"
    text = "对照评价结果与资金执行、成本情况，发现信号相互矛盾的项目：" + "；".join(
        f"{k}{v}个" for k, v in n.items() if v) + "。"
    key = frame[frame["kind"] == KIND_KEY_SLOW]
    if len(key):
        names = [x for x in key["project_name"].astype(str) if x != CLASSIFIED_NAME]
        full = signal_facts(frame)["signals.key_slow_in_full"]
        who = name_list(names, limit=3) if names else ""
        text += (f"其中{who}重点评价为{'或'.join(sorted(set(key['grade'])))}的项目{len(key)}个，"
                 f"截至{month}月底监控为红色或预计结转结余不低于预算数"
                 f"{pct(rules.value('key_evaluation.conflict_unspent_share'), 0)}；"
                 f"这{len(key)}个项目中{full}个的{y + 1}年安排数等于申请数。")
    return text + "详见评价报告「信号冲突」一节。"
