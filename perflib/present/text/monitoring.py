"""The monitoring report's sentences (seed section 六): drafted from the facts and frames of
:mod:`perflib.analysis.monitoring`, numbers worded by :mod:`perflib.present.formats`."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...analysis.monitoring import (MONEY_FAST, NO_BUDGET, TARGETS_FAST, key_round_month,
                                    likelihood_summary, money_target_disagreement)
from ..formats import name_list, pct, ratio_pct, wan
from . import revisions as revision_text

PROJECTION_METHOD = (
    "年末预计支出 = 截至监控月末已支出 ÷ 上年同期累计支出占上年全年支出的比例。同一项目编码上年有支出且"
    "同期已有支出的，用该项目上年的逐月进度；否则用全区上年平均进度（全区上年同期累计支出 ÷ 全区上年全年支出）；"
    "上年全区都没有支出数据的，用时间进度。预计数不低于已支出、不超过预算；预计结转结余 = 预算 − 预计全年支出。"
)


def finding(r) -> str:
    """One key project's monitoring findings line (a row of
    :func:`perflib.analysis.monitoring.key_project_report`)."""
    if r.band == NO_BUDGET:
        parts = ["无预算，未计算执行率"]
    else:
        diff = r.gap * 100
        rel = f"高于时间进度 {diff:.2f} 个百分点" if diff >= 0 else f"低于时间进度 {-diff:.2f} 个百分点"
        parts = [f"执行率 {pct(r.execution_rate)}，{rel}（{r.band}）"]
    tp = getattr(r, "target_progress", np.nan)
    if pd.notna(tp):
        parts.append(f"数量指标完成度 {pct(tp)}")
    at = getattr(r, "attainment", np.nan)
    if pd.notna(at):
        parts.append(f"质量时效等指标达成度 {pct(at)}")
    lk = getattr(r, "likelihood", None)
    if isinstance(lk, str) and lk:
        parts.append(f"完成可能性：{lk}")
    dr = getattr(r, "deviation_reasons", "")
    if isinstance(dr, str) and dr:
        parts.append(f"偏差原因：{dr}")
    return "；".join(parts)


def with_findings(key: pd.DataFrame) -> pd.DataFrame:
    """The key project report with its drafted Chinese ``findings`` column (监控发现)."""
    return key.assign(findings=[finding(r) for r in key.itertuples(index=False)])


def band_rule_text(rules) -> str:
    """The bands as the rules state them, for printing beside the counts."""
    g = f"{float(rules.value('monitoring.green_min_gap')) * 100:g}".replace("-", "−")
    y = f"{float(rules.value('monitoring.yellow_min_gap')) * 100:g}".replace("-", "−")
    return (f"执行进度差（执行率 − 时间进度）≥ {g} 个百分点为绿色，{y} 个百分点 ≤ 差 < {g} 个百分点为黄色，"
            f"< {y} 个百分点为红色；预算为 0 的项目不计执行率，列为「无预算」")


def monitoring_text(facts: dict, year: int, rules, scope: str = "区级",
                    key_names: list[str] | None = None, projection: dict | None = None) -> list[str]:
    """The report's paragraphs for section 六, drafted from
    :func:`perflib.analysis.monitoring.monitoring_facts` (and, when given, key project names and the
    projection totals ``budget``/``projected_spent``/``projected_unspent``)."""
    y, m = int(year), int(facts["monitoring.as_of_month"])
    period = "1 月底" if m == 1 else f"1-{m} 月底"
    p1 = (f"{y} 年{scope}项目支出绩效跟踪监控工作，涉及项目支出 {facts['monitoring.projects']} 个，"
          f"资金规模为 {wan(facts['monitoring.budget'])} 万元，{period}实现支出 "
          f"{wan(facts['monitoring.spent'])} 万元，执行率为 "
          f"{pct(facts['monitoring.execution_rate'], missing='—（无预算）')}，时间进度为 "
          f"{pct(facts['monitoring.time_progress'])}。")
    p2 = (f"按执行进度预警：红色 {facts['monitoring.red']} 个、黄色 {facts['monitoring.yellow']} 个、"
          f"绿色 {facts['monitoring.green']} 个（{band_rule_text(rules)}）。")
    out = [p1, p2]
    over = facts.get("monitoring.over_budget", 0)
    if over:
        out.append(f"截至 {m} 月底支出超过预算（执行率高于 {pct(float(rules.value('monitoring.over_execution_rate')))}，"
                   f"或无预算而有支出）的项目 {over} 个，见项目执行表「支出超预算」列，应核实是否已按程序调整预算。")
    k = facts["monitoring.key_projects"]
    if k:
        names = name_list(key_names, limit=None, quote=("「", "」"), last="和") if key_names else ""
        out.append(f"选取了{names} {k} 个项目开展财政重点绩效监控，涉及项目资金 "
                   f"{wan(facts['monitoring.key_amount'])} 万元。{key_round_text(m, rules)}")
    else:
        out.append(f"{y} 年监控表中没有标记为重点监控的项目。")
    if projection is not None and m < 12:
        out.append(f"按上年逐月支出进度（上年没有支出数据的按时间进度）推算，年末预计支出 {wan(projection['projected_spent'])} 万元，"
                   f"预计结转结余 {wan(projection['projected_unspent'])} 万元（预计全年执行率 "
                   f"{ratio_pct(projection['projected_spent'], projection['budget'])}）。")
    return out


def key_round_text(as_of_month: int, rules) -> str:
    """Which months the key-monitoring table covers (rule ``monitoring.key_round_months``)."""
    r, full = key_round_month(as_of_month, rules), int(rules.value("monitoring.key_round_months"))
    period = "1 月" if r == 1 else f"1—{r} 月"
    if r < int(as_of_month):
        return f"重点监控按集中监控轮次统计 {period}的执行情况（早于本报告的截至月份）。"
    if r < full:
        return f"集中监控轮次覆盖 1—{full} 月，本报告数据只到 {r} 月底，重点监控项目按 {period}统计。"
    return f"重点监控项目按集中监控轮次统计 {period}的执行情况。"


def target_side_text(indicators: pd.DataFrame, progress: pd.DataFrame, execution: pd.DataFrame, rules,
                     likelihood: pd.DataFrame | None = None, disagreement: pd.DataFrame | None = None) -> str:
    """One paragraph on the target side of 双监控: indicators reported, likelihood, disagreements.
    ``likelihood``, ``disagreement``: :func:`likelihood_summary` and :func:`money_target_disagreement`
    of the same frames when the caller shows them too (a province's take ~0.15 s to make)."""
    if indicators.empty:
        return "截至监控月份，绩效监控表中没有本年度的指标执行情况。"
    lk = (likelihood_summary(indicators) if likelihood is None else likelihood).set_index("likelihood")["indicators"]
    d = money_target_disagreement(execution, progress, rules) if disagreement is None else disagreement
    g = float(rules.value("monitoring.target_lag_gap")) * 100
    n_money = int((d["disagreement"] == MONEY_FAST).sum())
    n_target = int((d["disagreement"] == TARGETS_FAST).sum())
    return (f"{progress['project_id'].nunique()} 个项目填报了 {len(indicators)} 个指标的执行情况，其中完成可能性为"
            f"「确定能」{int(lk.get('确定能', 0))} 个、「有可能」{int(lk.get('有可能', 0))} 个、"
            f"「完全不可能」{int(lk.get('完全不可能', 0))} 个。数量指标完成度与预算执行率相差超过 {g:g} 个百分点的项目："
            f"资金快、目标慢 {n_money} 个，目标快、资金慢 {n_target} 个。")


def revision_note(revisions: pd.DataFrame, year: int) -> str | None:
    """The 数据修订 note of the monitoring report: revisions of the year's payments (per month) and
    project budgets recorded by later loads, before and after (None when there are none)."""
    return revision_text.revision_note(revisions, year, tables=("payments", "projects"))
