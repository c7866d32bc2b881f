"""The one table of report column labels, units and number formats, and every table's view.

Analysis returns plain frames with canonical English column names and raw numbers (money in 元,
rates as fractions). This module says how each column is shown: its Chinese header and its
:class:`Kind` (unit, scale, decimals, Excel number format). :data:`LABELS` holds the default for
every canonical name (the input tables' headers from :mod:`perflib.schema`, then the derived
columns); :data:`VIEWS` holds each report table's column choice, order and any header that differs
from the default (the auditors know these headers: they are kept as the reports had them).
:mod:`perflib.present.tables` applies them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .. import schema

MISSING = "—"  # the one marker of a missing value on every page (the xlsx leaves the cell empty)


@dataclass(frozen=True)
class Kind:
    """How the values of one column are shown.

    ``scale``: raw value × scale = the number shown (万元: 1e-4; percentage points: 100);
    ``suffix``: the unit added to the header (（万元）); ``decimals``/``separators``/``percent``:
    the page's text; ``xlsx``: the Excel number format (None: text, dates and bools as they are);
    ``words``: (value, word) pairs: the column's coded values shown as words, as text."""

    name: str
    decimals: int | None = None
    separators: bool = False
    percent: bool = False
    scale: float = 1.0
    suffix: str = ""
    xlsx: str | None = None
    words: tuple[tuple[object, str], ...] = ()  # (raw value, the word shown), e.g. (True, "不低于")

    @property
    def numeric(self) -> bool:
        return self.decimals is not None

    def shown(self) -> "Kind":
        """The same format for values already in the shown unit (no scaling, no header suffix)."""
        return replace(self, scale=1.0, suffix="")


MONEY = Kind("money", 2, True, xlsx="#,##0.00")  # 元
WAN = Kind("wan", 2, True, scale=1e-4, suffix="（万元）", xlsx="#,##0.00")  # raw 元 shown in 万元
YI = Kind("yi", 2, True, scale=1e-8, suffix="（亿元）", xlsx="#,##0.00")  # raw 元 shown in 亿元
RATE = Kind("rate", 2, percent=True, xlsx="0.00%")  # a fraction shown as 12.34%
POINTS = Kind("points", 2, scale=100.0, suffix="（百分点）", xlsx="0.00")  # a fraction difference in 百分点
PERCENT = Kind("percent", 2, scale=100.0, suffix="（%）", xlsx="0.00")  # a fraction shown as 12.34 under （%）
SCORE = Kind("score", 2, xlsx="0.00")
Z = Kind("z", 2, xlsx="0.00")  # robust z value
NUMBER = Kind("number", 2, True, xlsx="#,##0.00")
COUNT = Kind("count", 0, True, xlsx="#,##0")
YEAR = Kind("year", 0, xlsx="0")  # never a thousands separator
MONTH = Kind("month", 0, xlsx="0")
CODE = Kind("code")  # project and department codes: text, never wrapped
TEXT = Kind("text")
DATE = Kind("date")
BOOL = Kind("bool")  # 是/否
DIRECTION_LABELS = {"higher": "越高越好", "lower": "越低越好", "target_one": "越接近 100% 越好"}
DIRECTION = Kind("direction", words=tuple(DIRECTION_LABELS.items()))  # a fiscal indicator's direction
FLOOR = Kind("floor", words=((True, "不低于"), (False, "约为")))  # a suggested cut rate: floor or target

KINDS = {k.name: k for k in (MONEY, WAN, YI, RATE, POINTS, PERCENT, SCORE, Z, NUMBER, COUNT, YEAR, MONTH,
                             CODE, TEXT, DATE, BOOL)}


@dataclass(frozen=True)
class Column:
    """One column of a view: the frame's column ``name``, its Chinese ``label`` and its kind."""

    name: str
    label: str
    kind: Kind = TEXT

    @property
    def header(self) -> str:
        """The header shown: the label with the kind's unit (unless the label already says it)."""
        s = self.kind.suffix
        return self.label if not s or self.label.endswith(s) else self.label + s


@dataclass(frozen=True)
class View:
    """A table's columns: ``columns`` shown in this order; with ``every``, every column of the
    frame in the frame's order, labelled by ``columns`` where named there and by :data:`LABELS`
    otherwise (``drop``: columns never shown)."""

    columns: tuple[Column, ...]
    every: bool = False
    drop: tuple[str, ...] = ()

    def named(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}


_SCHEMA_KINDS = {schema.CODE: CODE, schema.TEXT: TEXT, schema.ENUM: TEXT, schema.VALUE: TEXT,
                 schema.INT: COUNT, schema.YEAR: YEAR, schema.MONTH: MONTH, schema.MONEY: MONEY,
                 schema.NUMBER: NUMBER, schema.DATE: DATE, schema.BOOL: BOOL}


def _defaults() -> dict[str, Column]:
    out: dict[str, Column] = {}
    for table in schema.TABLES.values():
        for c in table.columns:
            out.setdefault(c.name, Column(c.name, c.header, _SCHEMA_KINDS.get(c.kind, TEXT)))
    derived = [
        ("year", "年度", YEAR), ("amount", "金额", MONEY), ("indicator", "指标", TEXT),
        ("unit", "计量单位", TEXT), ("budget", "预算数", MONEY), ("dept_name", "部门名称", TEXT),
        ("level1_code", "一级部门编码", CODE), ("level1_name", "一级部门", TEXT), ("spent", "支出数", MONEY),
        ("execution_rate", "预算执行率", RATE), ("time_progress", "时间进度", RATE),
        ("gap", "执行进度差", POINTS), ("status", "预警等级", TEXT), ("projects", "项目数", COUNT),
        ("count", "数量", COUNT), ("share", "占比", RATE), ("score", "得分", SCORE), ("grade", "等级", TEXT),
        ("unit_cost", "单位成本", MONEY), ("standard", "支出标准", MONEY), ("savings", "节约资金", MONEY),
        ("cut", "核减金额", MONEY), ("cut_rate", "核减率", RATE),
        ("reported_score", "自评得分", SCORE), ("satisfaction", "满意度", SCORE),
        ("score_decision", "决策得分", SCORE), ("score_process", "过程得分", SCORE),
        ("score_output", "产出得分", SCORE), ("score_effect", "效益得分", SCORE),
        ("quality_score", "质量得分", SCORE), ("weight", "分值", SCORE),
    ]
    for name, label, kind in derived:
        out[name] = Column(name, label, kind)
    return out


LABELS: dict[str, Column] = _defaults()


def column(name: str, label: str | None = None, kind: Kind | None = None) -> Column:
    """A view's column: ``label``/``kind`` given, or the defaults of :data:`LABELS` (text when unknown)."""
    d = LABELS.get(name)
    return Column(name, label or (d.label if d else name), kind or (d.kind if d else TEXT))


def _v(*specs, every: bool = False, drop: tuple[str, ...] = ()) -> View:
    """A view from ``(name, label, kind)`` / ``(name, label)`` / ``name`` entries."""
    cols = []
    for s in specs:
        s = (s,) if isinstance(s, str) else s
        cols.append(column(*s))
    return View(tuple(cols), every=every, drop=drop)


# --- coverage ---------------------------------------------------------------------------------------
QUALITY_PROBLEMS = ("缺少产出指标", "缺少效益指标", "缺少定量指标", "定量指标值与上年完全相同", "有未填指标值的指标")
_COVERAGE = (
    ("projects", "项目数", COUNT), ("with_targets", "编制绩效目标项目数", COUNT),
    ("amount", "绩效目标涉及资金", WAN), ("eligible", "纳入范围项目数", COUNT),
    ("eligible_with_targets", "纳入范围且已编制", COUNT), ("coverage_count", "覆盖率（按项目数）", PERCENT),
    ("eligible_amount", "纳入范围资金", WAN), ("coverage_amount", "覆盖率（按金额）", PERCENT),
)
_PROJECT = (("level1_name", "主管部门"), ("dept_name", "预算单位"), ("project_id", "项目编码", CODE),
            ("project_name", "项目名称"))

VIEWS: dict[str, View] = {
    "coverage.by_budget_kind": _v(("budget_kind", "预算类型"), *_COVERAGE),
    "coverage.by_year": _v(("year", "年度", YEAR), *_COVERAGE),
    "coverage.by_department": _v(("level1_name", "一级部门"), *_COVERAGE),
    "coverage.department_targets": _v(
        ("dept_code", "部门编码", CODE), ("dept_name", "部门名称"), ("is_street", "是否街道", BOOL),
        ("has_dept_target", "已编制部门整体绩效目标", BOOL), ("n_indicators", "指标数", COUNT),
        ("n_unmeasurable", "未填指标值的指标数", COUNT)),
    "coverage.selfeval": _v(
        ("budget_kind", "预算类型"), ("projects", "自评项目数", COUNT), ("amount", "自评资金", WAN),
        ("projects_prev", "上年自评项目数", COUNT), ("amount_prev", "上年自评资金", WAN),
        ("projects_change", "项目数增减", COUNT), ("amount_change", "资金增减", WAN)),
    "coverage.quality": _v(
        *_PROJECT, ("budget_amount", "年初预算数", WAN), ("n_indicators", "指标数", COUNT),
        ("n_quant", "定量指标数", COUNT), ("n_quant_repeated", "与上年相同的定量指标数", COUNT),
        ("n_unmeasurable", "未填指标值的指标数", COUNT), ("problems", "问题")),
    "coverage.quality_by_department": _v(
        ("level1_name", "一级部门"), ("with_targets", "编制目标项目数", COUNT),
        ("problem_projects", "有问题项目数", COUNT), *((p, p, COUNT) for p in QUALITY_PROBLEMS),
        ("unmeasurable_indicators", "未填指标值的指标数", COUNT)),
    "coverage.selfeval_scope": _v(
        ("stage", "口径"), ("projects", "项目数", COUNT), ("amount", "涉及资金（元）", MONEY),
        ("share_projects", "占自评项目数", RATE), ("share_amount", "占自评资金", RATE)),
    "coverage.selfeval_without_targets": _v(
        *_PROJECT, ("budget_kind", "预算类型"), ("budget", "预算数（元）", MONEY)),
    "coverage.breaks": _v(
        ("kind", "类别"), ("fiscal_year", "预算年度", YEAR), ("level1_name", "主管部门"),
        ("dept_name", "预算单位"), ("project_id", "项目编码", CODE), ("project_name", "项目名称"),
        ("budget_amount", "年初预算数", WAN), ("reason", "原因")),
}

# --- monitoring -------------------------------------------------------------------------------------
_BANDS = (("红色", "红色", COUNT), ("黄色", "黄色", COUNT), ("绿色", "绿色", COUNT), ("无预算", "无预算", COUNT))
_EXECUTION = (("projects", "项目数", COUNT), ("budget", "预算数", WAN), ("spent", "支出数", WAN),
              ("execution_rate", "预算执行率", PERCENT), ("time_progress", "时间进度", PERCENT),
              ("gap", "执行进度差", POINTS), *_BANDS)
_MON_PROJECT = (*_PROJECT, ("budget_kind", "预算类型"), ("budget", "预算数", WAN), ("spent", "支出数", WAN),
                ("execution_rate", "预算执行率", PERCENT))
_PROJECTION = (("projects", "项目数", COUNT), ("budget", "预算数", WAN), ("spent", "已支出", WAN),
               ("projected_spent", "预计全年支出", WAN), ("projected_unspent", "预计结转结余", WAN),
               ("projected_rate", "预计全年执行率", PERCENT))
_MON_SHORT = (("level1_name", "主管部门"), ("project_id", "项目编码", CODE), ("project_name", "项目名称"))
VIEWS.update({
    "monitoring.by_budget_kind": _v(("budget_kind", "预算类型"), *_EXECUTION),
    "monitoring.by_department": _v(("level1_name", "一级部门"), *_EXECUTION),
    "monitoring.projects": _v(*_MON_PROJECT, ("gap", "执行进度差", POINTS), ("band", "预警等级"),
                              ("over_budget", "支出超预算", BOOL)),
    "monitoring.red_actions": _v(*_MON_PROJECT, ("time_progress", "时间进度", PERCENT),
                                 ("gap", "执行进度差", POINTS), ("projected_unspent", "预计结转结余", WAN)),
    "monitoring.project_projection": _v(
        *_PROJECT, ("budget_kind", "预算类型"), ("budget", "预算数", WAN), ("spent", "支出数", WAN),
        ("profile", "推算依据"), ("share", "上年同期支出占比", PERCENT),
        ("projected_spent", "预计全年支出", WAN), ("projected_unspent", "预计结转结余", WAN),
        ("projected_rate", "预计全年执行率", PERCENT)),
    "monitoring.projection_by_department": _v(("level1_name", "一级部门"), *_PROJECTION),
    "monitoring.likelihood": _v(("likelihood", "完成可能性"), ("indicators", "指标数", COUNT),
                                ("projects", "项目数", COUNT)),
    "monitoring.deviation": _v(("deviation_reason", "偏差原因"), ("indicators", "指标数", COUNT),
                               ("projects", "项目数", COUNT)),
    "monitoring.indicators": _v(
        *_MON_SHORT, ("snapshot_month", "监控月份", MONTH), ("indicator", "三级指标"),
        ("direction", "指标方向"), ("target_value", "指标值"), ("unit", "计量单位"),
        ("actual_value", "执行值"), ("completion", "完成度", PERCENT),
        ("cumulative", "累计型（数量）指标", BOOL), ("likelihood", "完成可能性"),
        ("deviation_reason", "偏差原因")),
    "monitoring.disagreement": _v(
        *_MON_SHORT, ("budget", "预算数", WAN), ("execution_rate", "预算执行率", PERCENT),
        ("target_progress", "数量指标完成度", PERCENT), ("progress_gap", "完成度−执行率", POINTS),
        ("disagreement", "类型"), ("likelihood", "完成可能性"), ("deviation_reasons", "偏差原因")),
    "monitoring.key_projects": _v(
        *_MON_SHORT, ("budget", "预算数", WAN), ("spent", "支出数", WAN),
        ("execution_rate", "预算执行率", PERCENT), ("band", "预警等级"),
        ("target_progress", "数量指标完成度", PERCENT), ("findings", "监控发现")),
})

# --- evaluation -------------------------------------------------------------------------------------
_EV_PROJECT = (("project_id", "项目编码", CODE), ("project_name", "项目名称"), ("level1_name", "主管部门"))
VIEWS.update({
    "evaluation.grades_by_department": _v(
        ("level1_name", "主管部门"), ("projects", "自评项目数", COUNT), ("recomputed", "复核项目数", COUNT),
        ("mean_reported", "复核项目平均自评得分", SCORE), ("mean_recomputed", "平均复核得分", SCORE),
        ("inflated", "自评虚高项目数", COUNT), every=True),
    "evaluation.flags": _v(*_EV_PROJECT, ("flag", "问题类型"), ("detail", "说明"),
                           ("reported_score", "自评得分", SCORE), ("recomputed_score", "复核得分", SCORE)),
    "evaluation.self_evaluation": _v(
        *_EV_PROJECT, ("budget", "全年预算数（元）", MONEY), ("spent_amount", "全年执行数（元）", MONEY),
        ("execution_rate", "执行率", RATE), ("execution_score", "预算执行得分", SCORE),
        ("output_score", "产出得分", SCORE), ("effect_score", "效益得分", SCORE),
        ("satisfaction_score", "满意度得分", SCORE), ("satisfaction_source", "满意度来源"),
        ("recomputed_score", "复核得分", SCORE), ("grade", "复核等级"), ("reported_score", "自评得分", SCORE),
        ("reported_grade", "自评等级"), ("difference", "自评−复核", SCORE), ("flags", "问题数", COUNT)),
    "evaluation.key_domains": _v(("domain", "评价领域"), ("projects", "项目数", COUNT),
                                 ("budget", "项目资金（元）", MONEY), ("mean_score", "平均总分", SCORE)),
    "evaluation.key_evaluations": _v(
        *_EV_PROJECT, ("domain", "评价领域"), ("budget", "项目资金（元）", MONEY),
        ("score_decision", "决策", SCORE), ("max_decision", "决策满分", SCORE),
        ("score_process", "过程", SCORE), ("max_process", "过程满分", SCORE),
        ("score_output", "产出", SCORE), ("max_output", "产出满分", SCORE),
        ("score_effect", "效益", SCORE), ("max_effect", "效益满分", SCORE),
        ("max_from_data", "满分来自数据", BOOL), ("above_maximum", "超过满分的维度数", COUNT),
        ("total_score", "总分（百分制）", SCORE), ("grade", "等级"), ("findings", "主要问题")),
    "evaluation.key_score_findings": _v(
        ("project_id", "项目编码", CODE), ("project_name", "项目名称"), ("dimension", "维度"),
        ("score", "得分", SCORE), ("maximum", "该维度满分", SCORE), ("max_from_data", "满分来自数据", BOOL)),
    "evaluation.cut_by_grade": _v(
        ("grade", "等级"), ("projects", "项目数", COUNT), ("budget", "本年预算数（元）", MONEY),
        ("request", "下年度申请数（元）", MONEY), ("approved", "下年度安排数（元）", MONEY),
        ("cut", "审减额（申请数−安排数，元）", MONEY), ("cut_rate", "审减率", RATE),
        ("budget_change", "安排数较本年预算增减（元）", MONEY), ("suggested_cut_rate", "建议压减率", RATE),
        ("departs", "偏离建议项目数", COUNT)),
    "evaluation.budget_application": _v(
        ("project_id", "项目编码", CODE), ("project_name", "项目名称"), ("grade", "等级"),
        ("budget", "本年预算数（元）", MONEY),
        ("next_request", "下年度申请数（元）", MONEY), ("next_approved", "下年度安排数（元）", MONEY),
        ("cut", "审减额（申请数−安排数，元）", MONEY), ("cut_rate", "审减率", RATE),
        ("budget_change", "安排数较本年预算增减（元）", MONEY), ("budget_change_rate", "较本年预算增减率", RATE),
        ("suggested_cut_rate", "建议压减率", RATE),
        ("suggested_is_floor", "建议性质", FLOOR), ("departure", "审减率偏离建议", RATE), ("decision", "结论")),
    "evaluation.selfeval_scope": _v(
        ("stage", "口径"), ("projects", "项目数", COUNT), ("amount", "涉及资金（元）", MONEY),
        ("share_projects", "占自评项目数", RATE), ("share_amount", "占自评资金", RATE)),
    "evaluation.application_summary": _v(
        ("stage_name", "环节"), ("group", "分组"), ("projects", "项目数", COUNT),
        ("with_next", "有下年预算的项目数", COUNT), ("budget", "本年年初预算数（元）", MONEY),
        ("budget_with_next", "其中有下年预算的（元）", MONEY), ("next_budget", "下年年初预算数（元）", MONEY),
        ("change", "下年较本年增减（元）", MONEY), ("change_rate", "增减率", RATE),
        ("cut_projects", "压减项目数", COUNT), ("suggested_cut", "按建议应压减（元）", MONEY),
        ("matched", "符合建议项目数", COUNT), ("departs", "偏离建议项目数", COUNT)),
    "evaluation.application": _v(
        ("stage_name", "环节"), ("group", "分组"), *_EV_PROJECT, ("year", "本年", YEAR),
        ("next_year", "下年", YEAR), ("budget", "本年年初预算数（元）", MONEY),
        ("next_budget", "下年年初预算数（元）", MONEY), ("next_source", "下年预算来源"),
        ("change", "下年较本年增减（元）", MONEY), ("cut_rate", "压减率", RATE),
        ("suggested_cut_rate", "建议压减率", RATE), ("floor", "建议性质", FLOOR), ("decision", "结论")),
    "evaluation.signals": _v(
        ("kind", "冲突类型"), *_EV_PROJECT, ("evaluation_year", "评价年度", YEAR), ("detail", "两方面情况"),
        ("decision_year", "安排年度", YEAR), ("next_request", "申请数（元）", MONEY),
        ("next_approved", "安排数（元）", MONEY)),
})

# --- cost -------------------------------------------------------------------------------------------
# The cost report's headers for every column its tables may carry (tables show the frame's columns
# in the frame's order; the chart-only ``label`` column is never shown).
_COST = (
    ("project_id", "项目编码", CODE), ("project_name", "项目名称"), ("dept_name", "部门"),
    ("year", "年度", YEAR), ("project_type", "项目类型"), ("output_name", "产出名称"), ("unit", "计量单位"),
    ("quantity", "产出数量", NUMBER), ("quality_score", "质量得分", SCORE), ("total_cost", "总成本（元）", MONEY),
    ("unit_cost", "单位成本（元）", MONEY), ("robust_z", "稳健z值", Z), ("is_outlier", "是否异常", BOOL),
    ("is_peer", "纳入同类比较", BOOL), ("problem", "数据问题"), ("excess", "超标准单位成本（元）", MONEY),
    ("saving", "测算可压减（元）", MONEY), ("standard", "支出标准（元）", MONEY), ("percentile", "分位数", NUMBER),
    ("peers", "样本数", COUNT), ("above", "超标准项目数", COUNT), ("savings", "测算可压减合计（元）", MONEY),
    ("budget_amount", "本年年初预算数（元）", MONEY), ("next_budget", "下年年初预算数（元）", MONEY),
    ("budget_change", "本年 − 下年预算数（元）", MONEY), ("actual_cut", "实际压减（元）", MONEY),
    ("next_source", "下年预算来源"), ("cut_minus_saving", "实际压减 − 测算可压减（元）", MONEY),
    ("efficient", "有效前沿", BOOL), ("cheap_low_quality", "低价低质", BOOL), ("element", "成本要素"),
    ("amount", "金额（元）", MONEY), ("share", "占比", RATE), ("missing", "缺少的成本证据"),
    ("is_rule", "规则采用", BOOL), ("steps", "有证据的环节数", COUNT),
)
_COST_UNIT_COSTS = ("project_id", "project_name", "dept_name", "year", "total_cost", "output_name", "unit",
                    "quantity", "quality_score", "unit_cost", "robust_z", "is_outlier", "saving", "problem")
_cost = {c[0]: c for c in _COST}
VIEWS.update({
    "cost": _v(*_COST, every=True, drop=("label",)),
    "cost.unit_costs": _v(*(_cost[c] for c in _COST_UNIT_COSTS)),
    "cost.quartiles": _v(("period", "年度"), ("peers", "样本数", COUNT), ("min", "最小值", MONEY),
                         ("q1", "下四分位数", MONEY), ("median", "中位数", MONEY),
                         ("q3", "上四分位数", MONEY), ("max", "最大值", MONEY)),
    "cost.structure": _v(("element", "成本要素"), every=True),  # amount_<year>, share_<year>: PATTERNS
    "cost.standard": _v(("basis", "口径"), ("peers", "样本数", COUNT), ("standard", "支出标准（元）", MONEY),
                        ("unit", "计量单位")),
    "cost.types": _v(("project_type", "项目类型"), ("unit", "计量单位"), ("peers", "可比项目年度", COUNT),
                     ("projects", "本年项目数", COUNT), ("unit_cost_median", "单位成本中位数（元）", MONEY),
                     ("standard", "支出标准（元）", MONEY), ("outliers", "异常值个数", COUNT),
                     ("savings", "测算可压减（元）", MONEY), ("actual_cut", "实际压减（元）", MONEY)),
})

# --- fiscal -----------------------------------------------------------------------------------------
_INDICATOR = (("indicator", "指标"), ("group", "分组"), ("weight", "权重", SCORE), ("direction", "方向", DIRECTION))
VIEWS.update({
    "fiscal.indicators": _v(*_INDICATOR, ("value", "本街道取值", PERCENT),
                            ("peer_median_value", "参评街道中位数", PERCENT), ("score", "指标得分", SCORE),
                            ("peer_median_score", "参评街道中位数得分", SCORE),
                            ("contribution", "计入指数的分值", SCORE)),
    "fiscal.ranking": _v(("dept_code", "街道编码", CODE), ("dept_name", "街道"), ("index", "综合绩效指数", SCORE),
                         ("rank", "排名", COUNT), ("debt", "债务余额", WAN), ("veto", "债务一票否决", BOOL),
                         every=True),  # group_score:<group>: PATTERNS
    "fiscal.pefa": _v(("code", "指标"), ("name", "内容"), ("overall", "综合等级"), every=True),  # year_<Y>
    "fiscal.year_over_year": _v(("item", "项目"), ("change", "变化"), every=True),  # year_<Y>
    "fiscal.pefa_bands": _v(("code", "指标"), ("grade", "等级"), ("band", "区间"), ("rule", "判定")),
    "fiscal.heads": _v(("head", "功能科目"), ("budget", "预算数", WAN), ("outturn", "决算数", WAN),
                       ("adjusted", "调整后预算数", WAN), ("deviation", "偏差绝对值", WAN)),
    "fiscal.econ": _v(("head", "经济分类"), ("budget", "预算数", WAN), ("outturn", "决算数", WAN),
                      ("adjusted", "调整后预算数", WAN), ("deviation", "偏差绝对值", WAN)),
    "fiscal.framework": _v(*_INDICATOR, ("formula", "计算公式"), ("source", "依据"), ("status", "性质")),
})

# --- overview ---------------------------------------------------------------------------------------
VIEWS["overview.key_projects"] = _v(("project_id", "项目编码", CODE), ("project_name", "项目名称"),
                                    ("dept_name", "主管部门"), ("budget", "预算数（元）", MONEY))

# --- quality (数据质量) ---------------------------------------------------------------------------------
FINDING_KIND = Kind("finding_kind", words=tuple((k.name, k.label) for k in schema.FINDING_KINDS.values()))
ROW = Kind("row", 0, xlsx="0")  # a row number in the export, as Excel shows it (no separator)
KINDS[ROW.name] = ROW
TABLE_NAME = Kind("table_name", words=tuple((t.name, t.label) for t in schema.TABLES.values()))
for _k in schema.FINDING_KINDS.values():  # by-department tables have a count column per kind
    LABELS.setdefault(_k.name, Column(_k.name, _k.label, COUNT))
VIEWS.update({
    "quality.by_department": _v(("level1_name", "一级部门"), ("findings", "提示数", COUNT), every=True,
                                drop=("level1_code",)),
    "quality.by_kind": _v(("kind", "提示类别", FINDING_KIND), ("table_name", "所在表", TABLE_NAME),
                          ("findings", "提示数", COUNT), ("departments", "涉及一级部门数", COUNT),
                          ("projects", "涉及项目数", COUNT)),
    "quality.list": _v(("level1_name", "主管部门"), ("dept_name", "单位"), ("kind", "提示类别", FINDING_KIND),
                       ("table_name", "所在表", TABLE_NAME), ("year", "年度", YEAR),
                       ("project_id", "项目编码", CODE), ("project_name", "项目名称"), ("file", "文件"),
                       ("sheet", "工作表"), ("row_number", "行号", ROW), ("column_header", "列"),
                       ("value", "值"), ("message", "说明")),
    "quality.scope": _v(("table_name", "数据表", TABLE_NAME), ("year", "所用数据年度", YEAR)),
})

# --- rectification (整改跟踪) ------------------------------------------------------------------------
_RECT_COUNTS = (("items", "问题数", COUNT), ("done", "已整改", COUNT), ("open", "未完成", COUNT),
                ("overdue", "逾期未整改", COUNT), ("on_time", "按期整改", COUNT),
                ("on_time_share", "按期整改率（%）", PERCENT))
_RECT_ITEM = (("level1_name", "主管部门"), ("dept_name", "单位"), ("problem_id", "问题编号", CODE),
              ("source", "问题来源"), ("project_id", "项目编码", CODE), ("project_name", "项目名称"),
              ("finding", "问题描述"))
VIEWS.update({
    "rectification.by_department": _v(("level1_name", "一级部门"), ("source", "问题来源"), *_RECT_COUNTS),
    "rectification.by_source": _v(("source", "问题来源"), *_RECT_COUNTS),
    "rectification.overdue": _v(*_RECT_ITEM, ("status", "整改状态"), ("deadline", "整改期限", DATE),
                                ("days_overdue", "逾期天数", COUNT)),
    "rectification.recurring": _v(*_RECT_ITEM, ("year", "发现年度", YEAR), ("status", "整改状态"),
                                  ("next_findings", "次年重点评价发现的主要问题")),
})

# Columns named by a pattern (a year or a cost element in the name): regex → (label template, kind).
PATTERNS: tuple[tuple[re.Pattern, str, Kind], ...] = (
    (re.compile(r"^amount_(\d{4})$"), "{0}年金额（元）", MONEY),
    (re.compile(r"^share_(\d{4})$"), "{0}年占比", RATE),
    (re.compile(r"^share:(.+)$"), "{0}占比", RATE),
    (re.compile(r"^year_(\d{4})$"), "{0}年", TEXT),
    (re.compile(r"^group_score:(.+)$"), "{0}得分", SCORE),
)


def lookup(name: str) -> Column | None:
    """The default column of a canonical name (:data:`LABELS`, then :data:`PATTERNS`), or None."""
    if name in LABELS:
        return LABELS[name]
    for rx, template, kind in PATTERNS:
        m = rx.match(str(name))
        if m:
            return Column(name, template.format(*m.groups()), kind)
    return None

# --- target review (绩效目标审核) ----------------------------------------------------------------
_BY_CONCLUSION = (("passed", "通过", COUNT), ("passed_amount", "通过项目资金", WAN), ("revise", "修改后通过", COUNT),
                  ("revise_amount", "修改后通过项目资金", WAN), ("failed", "不通过", COUNT),
                  ("failed_amount", "不通过项目资金", WAN))
VIEWS.update({
    "targets.by_department": _v(("level1_name", "一级部门"), ("projects", "审核项目数", COUNT),
                                ("amount", "年初预算数", WAN), *_BY_CONCLUSION),
    "targets.by_rule": _v(("rule", "审核规则"), ("consequence", "未通过时的结论"), ("projects", "未通过项目数", COUNT),
                          ("amount", "涉及年初预算数", WAN)),
    "targets.projects": _v(*_PROJECT, ("budget_amount", "年初预算数（元）", MONEY), ("conclusion", "审核结论"),
                           ("reasons", "审核意见")),
    "targets.boilerplate": _v(("indicator", "三级指标"), ("direction", "指标方向"), ("target_value", "指标值"),
                              ("unit", "计量单位"), ("projects", "项目数", COUNT), ("departments", "一级部门数", COUNT)),
    "targets.comments": _v(("dept_name", "预算单位"), ("project_id", "项目编码", CODE), ("project_name", "项目名称"),
                           ("budget_amount", "年初预算数（元）", MONEY), ("conclusion", "审核结论"),
                           ("reasons", "审核意见（请据此修改后报送）")),
})

# --- funding sources (资金来源, analysis/sources.py) ---------------------------------------------------
VIEWS.update({
    "sources.execution": _v(("fund_source", "资金来源"), ("projects", "项目数", COUNT), ("budget", "预算数", WAN),
                            ("spent", "支出数", WAN), ("execution_rate", "预算执行率", PERCENT),
                            ("time_progress", "时间进度", PERCENT), ("gap", "执行进度差", POINTS)),
    "sources.strict": _v(("group", "资金"), ("margin", "要求的执行进度差（不低于）", POINTS),
                         ("projects", "项目数", COUNT), ("budget", "预算数", WAN), ("spent", "支出数", WAN),
                         ("execution_rate", "预算执行率", PERCENT), ("expected_rate", "要求执行率", PERCENT),
                         ("gap", "与要求之差", POINTS), ("below", "未达要求项目数", COUNT),
                         ("below_budget", "未达要求项目预算", WAN)),
    "sources.strict_projects": _v(("group", "资金"), *_MON_PROJECT, ("expected_rate", "要求执行率", PERCENT),
                                  ("shortfall", "低于要求", POINTS)),
    "sources.coverage": _v(("fund_source", "资金来源"), ("in_scope", "纳入覆盖范围", BOOL),
                           ("projects", "项目数", COUNT), ("with_targets", "编制绩效目标项目数", COUNT),
                           ("amount", "绩效目标涉及资金", WAN), ("eligible", "纳入范围项目数", COUNT),
                           ("eligible_with_targets", "纳入范围且已编制", COUNT),
                           ("coverage_count", "覆盖率（按项目数）", PERCENT)),
    "sources.selfeval": _v(("fund_source", "资金来源"), ("projects", "自评项目数", COUNT), ("amount", "自评资金", WAN),
                           ("required", "有绩效目标项目数", COUNT), ("required_evaluated", "其中开展自评", COUNT),
                           ("coverage", "自评覆盖率", PERCENT)),
})

# --- 本月变化 and the multi-year view (issue 19) ------------------------------------------------
VIEWS.update({
    "monitoring.change_bands": _v(("band", "预警等级"), ("previous", "上月末项目数", COUNT),
                                  ("current", "本月末项目数", COUNT), ("entered", "本月进入", COUNT),
                                  ("left", "本月离开", COUNT), ("change", "增减", COUNT)),
    "monitoring.change_departments": _v(
        ("level1_name", "一级部门"), ("projects", "项目数", COUNT), ("budget", "预算数", WAN),
        ("spent_prev", "上月末支出数", WAN), ("spent", "本月末支出数", WAN),
        ("execution_rate_prev", "上月末执行率", PERCENT), ("execution_rate", "本月末执行率", PERCENT),
        ("gap_prev", "上月末执行进度差", POINTS), ("gap", "本月末执行进度差", POINTS),
        ("gap_change", "执行进度差变化", POINTS), ("red_prev", "上月末红色", COUNT), ("red", "本月末红色", COUNT),
        ("entered_red", "新转红色", COUNT), ("left_red", "脱离红色", COUNT), ("stalled", "连续无支付项目数", COUNT)),
    "monitoring.change_movers": _v(
        ("direction", "变化方向", TEXT), *_PROJECT, ("budget", "预算数", WAN),
        ("execution_rate_prev", "上月末执行率", PERCENT), ("execution_rate", "本月末执行率", PERCENT),
        ("gap_change", "执行进度差变化", POINTS), ("band_prev", "上月末预警等级"), ("band", "本月末预警等级")),
    "monitoring.stalled": _v(
        *_PROJECT, ("budget", "预算数", WAN), ("spent", "支出数", WAN), ("execution_rate", "预算执行率", PERCENT),
        ("last_payment_month", "最后一笔支付月份（0 为无支付）", MONTH),
        ("months_without_payment", "连续无支付月数", COUNT), ("band", "预警等级")),
    "monitoring.by_year": _v(("year", "年度", YEAR), ("projects", "项目数", COUNT), ("budget", "预算数", WAN),
                             ("spent", "同期支出数", WAN), ("execution_rate", "同期执行率", PERCENT),
                             ("time_progress", "时间进度", PERCENT), ("gap", "执行进度差", POINTS)),
    "coverage.targets_by_year": _v(("year", "年度", YEAR), ("with_targets", "编制绩效目标项目数", COUNT),
                                   ("amount", "绩效目标涉及资金", WAN), ("eligible", "纳入范围项目数", COUNT),
                                   ("coverage_count", "覆盖率（按项目数）", PERCENT),
                                   ("coverage_amount", "覆盖率（按金额）", PERCENT)),
    "coverage.selfeval_by_year": _v(("fiscal_year", "预算年度", YEAR), ("projects", "自评项目数", COUNT),
                                    ("amount", "自评资金", WAN), ("required", "编制目标的项目数（应自评）", COUNT),
                                    ("required_evaluated", "其中已自评", COUNT),
                                    ("coverage", "自评覆盖率", PERCENT)),
})

# --- execution by classification (功能分类 / 经济分类) and ex-ante assessment (事前绩效评估) ----------------
_FUNC_EXEC = (("projects", "项目数", COUNT), ("budget", "预算数", WAN), ("spent", "支出数", WAN),
              ("execution_rate", "预算执行率", PERCENT))
VIEWS.update({
    "monitoring.by_function": _v(("func_class", "功能分类（类）", CODE), ("func_class_name", "类名称"), *_FUNC_EXEC),
    "monitoring.by_function_item": _v(("func_class", "功能分类（类）", CODE), ("func_class_name", "类名称"),
                                      ("func_item", "功能分类（款）", CODE), ("func_item_name", "款名称"), *_FUNC_EXEC),
    "monitoring.by_econ": _v(("econ_class", "经济分类（类）", CODE), ("econ_class_name", "类名称"),
                             ("spent", "支出数", WAN), ("share", "占比", PERCENT)),
    "monitoring.by_econ_item": _v(("econ_class", "经济分类（类）", CODE), ("econ_class_name", "类名称"),
                                  ("econ_item", "经济分类（款）", CODE), ("econ_item_name", "款名称"),
                                  ("spent", "支出数", WAN), ("share", "占比", PERCENT)),
    "targets.ex_ante_missing": _v(*_PROJECT, ("budget_amount", "年初预算数（元）", MONEY)),
    "targets.ex_ante_summary": _v(("conclusion", "评估结论"), ("projects", "项目数", COUNT),
                                  ("suggested_amount", "建议安排数", WAN), ("funded", "年初预算数", WAN),
                                  ("mismatch", "与结论不符的项目数", COUNT)),
    "targets.ex_ante": _v(("level1_name", "主管部门"), ("project_id", "项目编码", CODE), ("project_name", "项目名称"),
                          ("assess_date", "评估日期", DATE), ("assessor", "评估机构"), ("conclusion", "评估结论"),
                          ("suggested_amount", "建议安排数（元）", MONEY), ("funded", "年初预算数（元）", MONEY),
                          ("check", "比较结果"), ("excess", "超出金额（元）", MONEY)),
})
