"""The 口径 (scope) of every fact: one Chinese sentence per fact name saying which projects, which
budget kind, which amount and which date it counts, kept in this one place for every report.

A report records them beside its facts (``.facts.json`` ``scopes``) and shows them in a 口径说明
block under the section that states the figures, so that no figure is read wider than it is (e.g.
target coverage counts only 本级, non-classified, non-special projects). The sentences follow the
definitions of :mod:`perflib.analysis` (SPEC "Definitions"); ``{year}``, ``{unit}`` … are filled
from the report's year and parameters by :func:`scope_sentences`.
"""
from __future__ import annotations

import calendar
from typing import Any, Iterable

BUDGET = "调整后预算数（无调整的按年初预算数）"

SCOPES: dict[str, str] = {
    # coverage (seed sections 二, 三); overview and coverage report
    "targets.projects": ("{unit}{year} 年的全部项目（不限资金来源和预算类型，含涉密和特殊资金项目）中，"
                         "至少有一条项目级绩效目标的项目个数。"),
    "targets.projects_prev": "与 targets.projects 同一口径，年度为 {prev} 年（数据中没有该年时为 0）。",
    "targets.amount": "{year} 年有项目级绩效目标的项目（口径同 targets.projects）的年初预算数合计，单位元。",
    "targets.coverage_count": ("{unit}纳入绩效目标管理范围的 {year} 年项目（本级资金安排，不含涉密项目和特殊资金；"
                               "上级转移支付等非本级资金项目不在分母内）中，编制了项目级绩效目标的项目个数占比。"),
    "targets.coverage_amount": ("与 targets.coverage_count 同一范围（{year} 年本级、非涉密、非特殊资金项目），"
                                "按年初预算数计算的已编制绩效目标资金占比。"),
    "departments.level1": "{unit}部门表中没有上级部门的一级预算部门个数（含街道办事处）。",
    "departments.with_targets": ("上述一级预算部门中，以本部门编码编制了 {year} 年部门整体绩效目标"
                                 "（项目编码为空的目标）的部门个数。"),
    "selfeval.projects": ("{unit}{fy} 年度（于 {year} 年开展自评）的全部项目中有绩效自评记录的项目个数，"
                          "不论是否编制了绩效目标，不限资金来源和预算类型。"),
    "selfeval.amount": "selfeval.projects 所计项目 {fy} 年度的" + BUDGET + "合计，单位元。",
    "selfeval.projects_prev": "与 selfeval.projects 同一口径，为 {fy_prev} 年度的项目（数据中没有该年度时为 0）。",
    "selfeval.amount_prev": "与 selfeval.amount 同一口径，为 {fy_prev} 年度的项目。",
    # evaluation (seed sections 三, 四)
    "selfeval.recomputed": ("{unit}{fy} 年度有绩效自评记录的项目中，能按绩效目标和实际完成值重新计算得分（复核）"
                            "的项目个数。"),
    "selfeval.mean_score": "selfeval.recomputed 所计项目的复核得分平均值（保留两位小数）。",
    "selfeval.grades": "selfeval.recomputed 所计项目按复核得分划分的优、良、中、差个数（等级区间见规则 grades）。",
    "selfeval.inflated": ("{fy} 年度有绩效自评记录的项目中，自评得分高于复核得分超过规则 "
                          "self_evaluation.inflation_margin 分（自评虚高）的项目个数。"),
    "keyeval.projects": "{unit}重点评价表中评价年度为 {year} 年的项目个数。",
    "keyeval.amount": "keyeval.projects 所计项目 {year} 年的" + BUDGET + "合计，单位元。",
    "keyeval.request": "keyeval.projects 所计项目的 {next} 年预算申请数合计，单位元。",
    "keyeval.cut": ("keyeval.projects 所计项目的 {next} 年预算申请数减 {next} 年预算安排数之和（审核审减额），"
                    "单位元；不是与 {year} 年预算相比的压减。"),
    "keyeval.cut_rate": "keyeval.cut ÷ keyeval.request（{next} 年预算审减率）。",
    # monitoring (seed section 六)
    "monitoring.as_of_month": "执行监控统计截至的月份：{year} 年 {month} 月底。",
    "monitoring.projects": "{unit}{year} 年的全部非涉密项目个数（不限资金来源和预算类型）。",
    "monitoring.budget": "monitoring.projects 所计项目 {year} 年的" + BUDGET + "合计，单位元。",
    "monitoring.spent": "monitoring.projects 所计项目支付日期不晚于 {year} 年 {month} 月 {month_end} 日的支付金额合计，单位元。",
    "monitoring.execution_rate": "monitoring.spent ÷ monitoring.budget（截至 {year} 年 {month} 月底的预算执行率）。",
    "monitoring.time_progress": "时间进度：{month} ÷ 规则 monitoring.months_in_year。",
    "monitoring.red": ("monitoring.projects 所计项目中，截至 {month} 月底执行率与时间进度之差落在红色预警区间"
                       "（阈值见规则 monitoring）的项目个数。"),
    "monitoring.yellow": "同 monitoring.red 的口径，落在黄色预警区间的项目个数。",
    "monitoring.green": "同 monitoring.red 的口径，落在绿色区间的项目个数。",
    "monitoring.key_projects": "{unit}{year} 年绩效监控表中任一月份标记为重点监控的项目个数（含涉密项目）。",
    "monitoring.key_amount": "monitoring.key_projects 所计项目 {year} 年的" + BUDGET + "合计，单位元。",
    # cost (seed section 七), per project type
    "cost.projects": "{year} 年「{project_type}」类有产出数量记录的项目个数。",
    "cost.unit_cost_median": ("{year} 年「{project_type}」类能算出单位成本（成本要素合计 ÷ 产出数量，"
                              "按该类主要计量单位）的项目的单位成本中位数，单位元。"),
    "cost.standard": ("「{project_type}」类支出标准：试点年度（规则 cost.pilot_years）中数据所有的同类可比项目年度"
                      "单位成本的规则分位数（cost.standard_percentile）；可比项目年度少于 cost.min_peers 时为空。"),
    "cost.savings": ("测算可压减（按支出标准估算，不是实际压减的预算）：{year} 年「{project_type}」类可比项目"
                     " Σ max(0, 单位成本 − 支出标准) × 产出数量，单位元。"),
    "cost.outliers": ("{year} 年「{project_type}」类可比项目中，单位成本的稳健 z 值绝对值超过规则 cost.outlier_z"
                      " 的项目个数。"),
    "cost.standards": "{year} 年有产出数据的项目类型中制定出支出标准的类型个数。",
    "cost.savings_total": "测算可压减（估算）：制定出支出标准的各项目类型的 cost.savings 之和，单位元。",
    # fiscal (seed section 五), per street
    "fiscal.index": ("本报告所评街道的综合绩效指数：各指标在参评街道间标准化为 0–100 分后按规则 fiscal.indicators "
                     "的权重加权汇总，满分 100 分。"),
    "fiscal.rank": "本报告所评街道的综合绩效指数在参评街道中的名次（1 为最高）。",
    "fiscal.streets": "参评街道个数：部门表中标记为街道、且有评价年度街道财政数据的单位。",
    "fiscal.pi1": "本报告所评街道 PEFA PI-1（支出总额执行）的等级，按规则 fiscal.pi1_bands 判定。",
    "fiscal.evaluated": "参评街道的名称（部门表中标记为街道、且有 {year} 年街道财政数据的单位）。",
    "fiscal.index_by_street": "各参评街道 {year} 年的综合绩效指数（两位小数），口径同街道报告的 fiscal.index。",
}


class _Blank(dict):
    """Format mapping that leaves an unknown placeholder visible instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def scope_context(year: int, params: dict[str, Any] | None = None, facts: dict[str, Any] | None = None,
                  unit_name: str | None = None) -> dict[str, Any]:
    """The values the sentences name: the year and its neighbours, the unit a report is restricted to
    (``unit_name``: a level-1 department's name, None for the whole district), the monitoring month
    (from the facts), the project type."""
    y = int(year)
    params, facts = params or {}, facts or {}
    ctx: dict[str, Any] = {"year": y, "prev": y - 1, "next": y + 1, "fy": y - 1, "fy_prev": y - 2,
                           "unit": f"「{unit_name}」及其下属单位" if unit_name else "全区"}
    month = facts.get("monitoring.as_of_month") or params.get("as_of_month")
    if month:
        m = int(month)
        ctx.update(month=m, month_end=calendar.monthrange(y, m)[1])
    if params.get("project_type"):
        ctx["project_type"] = params["project_type"]
    return ctx


def scope_sentence(fact: str, context: dict[str, Any]) -> str | None:
    """The scope sentence of ``fact`` filled from ``context``; None for a fact without one."""
    template = SCOPES.get(fact)
    return None if template is None else template.format_map(_Blank(context))


def scope_sentences(facts: Iterable[str], context: dict[str, Any]) -> dict[str, str]:
    """{fact: sentence} for the facts that have a sentence."""
    out = {}
    for f in facts:
        s = scope_sentence(f, context)
        if s is not None:
            out[f] = s
    return out
