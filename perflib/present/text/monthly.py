"""Sentences of the monitoring report's 本月变化 section and of the multi-year (历年) tables of the
coverage and monitoring reports, drafted from :mod:`perflib.analysis.monthly` and
:mod:`perflib.analysis.trends`."""
from __future__ import annotations

import pandas as pd

from ...analysis.monitoring import GREEN, RED, YELLOW
from ..formats import money_words, name_list, pct, wan, year_span


def _points(gap: float) -> str:
    """A signed gap in 百分点 with a proper minus: −26.86 个百分点."""
    return f"{gap * 100:.2f}".replace("-", "−") + " 个百分点"


def no_previous_text(year: int) -> str:
    """What the section says for month 1."""
    return f"本报告截至 {int(year)} 年 1 月底，本年没有上月可以比较，不列示本月变化。"


def changes_text(mc, year: int, scope: str, rules) -> list[str]:
    """The 本月变化 paragraphs (a :class:`perflib.analysis.monthly.MonthChanges`, None for month 1)."""
    if mc is None:
        return [no_previous_text(year)]
    m, p, d = mc.month, mc.previous, mc.district
    step = 1.0 / float(rules.value("monitoring.months_in_year"))
    diff = d["gap_change"]
    if pd.isna(diff):
        moved = "无预算，未计算执行进度差"
    else:
        way = "缩小" if diff > 0 else "扩大" if diff < 0 else "持平"
        moved = (f"执行进度差由 {_points(d['gap_prev'])} 变为 {_points(d['gap'])}，"
                 + (f"差距{way} {abs(diff) * 100:.2f} 个百分点" if diff else "差距持平"))
    out = [f"与截至 {p} 月底的状态相比（按数据库现有数据重新计算，含之后补录和修订的支付），{scope}预算执行率由 "
           f"{pct(d['execution_rate_prev'])} 变为 {pct(d['execution_rate'])}，{moved}"
           f"（时间进度每月增加 {step * 100:.2f} 个百分点）。"]
    b = mc.bands.set_index("band")
    out.append(
        f"本月新转红色 {int(b.at[RED, 'entered'])} 个、脱离红色 {int(b.at[RED, 'left'])} 个；"
        f"新转黄色 {int(b.at[YELLOW, 'entered'])} 个、离开黄色 {int(b.at[YELLOW, 'left'])} 个；"
        f"新转绿色 {int(b.at[GREEN, 'entered'])} 个、离开绿色 {int(b.at[GREEN, 'left'])} 个。红色预警项目由 "
        f"{int(b.at[RED, 'previous'])} 个变为 {int(b.at[RED, 'current'])} 个。")
    k = int(rules.value("monitoring.stalled_months"))
    st = mc.stalled
    if len(st):
        out.append(f"有预算但截至 {m} 月底已连续 {k} 个月及以上没有支付的项目 {len(st)} 个，涉及预算 "
                   f"{money_words(float(st['budget'].sum()))}，见「连续无支付项目」表，应督促主管部门说明原因。")
    else:
        out.append(f"没有连续 {k} 个月及以上没有支付的有预算项目。")
    dep = mc.departments.dropna(subset=["gap_change"])
    worse = dep[dep["gap_change"] < 0].sort_values("gap_change").head(3)
    if len(worse) and len(mc.departments) > 1:
        names = name_list([f"{r.level1_name}（{_points(r.gap_change)}）" for r in worse.itertuples()],
                          quote=("", ""))
        out.append(f"执行进度差扩大最多的部门：{names}。")
    return out


def trend_text(frame: pd.DataFrame, what: str, value: str, year_col: str = "year", unit: str = "") -> str:
    """One sentence naming the years held and the figure of each: 「2021—2023 年同期执行率：2021 年
    37.36%、…」. ``value``: the column; rates (``unit`` 「%」) as percentages, money in 万元, counts as
    they are. A frame with no year says so."""
    if frame.empty:
        return f"数据库中没有可比较的年度{what}数据。"
    parts = []
    for y, v in zip(frame[year_col], frame[value]):
        if unit == "%":
            t = pct(v)
        elif unit == "万元":
            t = f"{wan(float(v))} 万元"
        else:
            t = f"{int(v)} 个"
        parts.append(f"{int(y)} 年 {t}")
    years = year_span(frame[year_col])
    return f"数据库中 {years} 年的{what}：" + "、".join(parts) + "（没有数据的年度不列）。"
