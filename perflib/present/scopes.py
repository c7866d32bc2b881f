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
import re
from typing import Any, Iterable

from ..schema import FUND_SOURCES

DEFAULT_SCOPE_SOURCES = ("本级",)  # rules coverage.scope_fund_sources by default, for a report without the fact

# where the overview says its scopes and rules are: on the page, and in the Word document
PAGE_SOURCES = "各项数字均由数据计算生成，口径见各节「口径说明」，所依规则见文末。"
DOCUMENT_SOURCES = "各项数字均由数据计算生成，口径和所依规则见同名网页报告（overview.html）的「口径说明」和附录。"

BUDGET = "调整后预算数（无调整的按年初预算数）"

SCOPES: dict[str, str] = {
    # coverage (seed sections 二, 三); overview and coverage report
    "targets.projects": ("{unit}{year} 年的全部项目（不限资金来源和预算类型，含涉密和特殊资金项目）中，"
                         "至少有一条项目级绩效目标的项目个数。"),
    "targets.projects_prev": "与 targets.projects 同一口径，年度为 {prev} 年（数据中没有该年时为 0）。",
    "targets.amount": "{year} 年有项目级绩效目标的项目（口径同 targets.projects）的年初预算数合计，单位元。",
    "targets.coverage_count": ("{unit}纳入绩效目标管理范围的 {year} 年项目（{scope_sources}资金安排，不含涉密项目和特殊资金；"
                               "{scope_excluded}不在分母内，范围见规则 coverage.scope_fund_sources）中，"
                               "编制了项目级绩效目标的项目个数占比。"),
    "targets.coverage_amount": ("与 targets.coverage_count 同一范围（{year} 年{scope_sources}、非涉密、非特殊资金项目），"
                                "按年初预算数计算的已编制绩效目标资金占比。"),
    "targets.scope_sources": ("纳入绩效目标覆盖率分母的资金来源（规则 coverage.scope_fund_sources）：{scope_sources}；"
                              "{scope_excluded}不在分母内。"),
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
    "monitoring.by_source": ("monitoring.projects 所计项目按资金来源（本级、上级转移支付、政府债券、直达资金）分列的"
                             "项目个数、" + BUDGET + "合计和截至 {year} 年 {month} 月底的支付金额合计（元）。"),
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
    "fiscal.index": ("本报告所评街道评价年度的综合绩效指数：各指标在参评街道间标准化为 0–100 分后按规则 "
                     "fiscal.indicators 的权重加权汇总，满分 100 分；债务余额按规则 fiscal.debt_veto 为一票否决项时不计分，"
                     "其余权重按比例放大。"),
    "fiscal.rank": ("本报告所评街道的综合绩效指数在未被一票否决的参评街道中的名次（1 为最高）；"
                    "被一票否决的街道没有名次。"),
    "fiscal.streets": "参评街道个数：部门表中标记为街道、且有评价年度街道财政数据的单位。",
    "fiscal.pi1": "本报告所评街道 PEFA PI-1（支出总额执行）的等级，按规则 fiscal.pi1_bands 判定。",
    "fiscal.evaluated": "参评街道的名称（部门表中标记为街道、且有评价年度街道财政数据的单位）。",
    "fiscal.index_by_street": "各参评街道评价年度的综合绩效指数（两位小数），口径同街道报告的 fiscal.index。",
    "fiscal.year": ("街道财政运行综合绩效评价所评的年度：不晚于 {year} 年、各街道一般公共预算收入和支出决算数齐全"
                    "且支付数据已到年末（规则 fiscal.final_outturn_month）的最近一年。"),
    "fiscal.veto": ("本报告所评街道评价年度末有政府债务余额（街道不得举借债务，预算法第三十五条）时为是："
                    "按规则 fiscal.debt_veto 一票否决，指数照列但不参加排名。"),
    "fiscal.vetoed": "评价年度末债务余额大于 0、按规则 fiscal.debt_veto 一票否决（不参加排名）的街道名称。",
    # cost: the actual cut, from next year's budgets
    "cost.actual_cut": ("实际压减：{year} 年「{project_type}」类有产出数量、且数据中有 {next} 年预算（下年预算表，"
                        "否则项目表中 {next} 年的年初预算数）的项目，Σ max(0, {year} 年年初预算数 − {next} 年预算数)，单位元；"
                        "没有下年预算数据时为空。"),
    "cost.actual_cut_total": "实际压减：制定出支出标准的各项目类型的 cost.actual_cut 之和，单位元。",
    # key evaluations: approved and the change against this year's budget
    "keyeval.approved": "keyeval.projects 所计项目的 {next} 年预算安排数合计，单位元。",
    "keyeval.budget_change": ("keyeval.projects 所计项目 {next} 年预算安排数减 {year} 年" + BUDGET
                              + "之和（与本年预算相比的增减，负数为压减），单位元。"),
    "keyeval.budget_change_rate": "keyeval.budget_change ÷ keyeval.amount。",
    # self-evaluation side by side (coverage and evaluation)
    "selfeval.with_targets": ("selfeval.projects 所计项目中，{fy} 年编制了项目级绩效目标的项目个数"
                              "（其余为未编制目标的自评项目，见覆盖情况报告清单）。"),
    "selfeval.with_targets_amount": "selfeval.with_targets 所计项目 {fy} 年度的" + BUDGET + "合计，单位元。",
    "selfeval.recomputed_amount": "selfeval.recomputed 所计项目 {fy} 年度的" + BUDGET + "合计，单位元。",
    # monitoring
    "monitoring.over_budget": ("monitoring.projects 所计项目中，截至 {month} 月底支出超过" + BUDGET
                               + "乘规则 monitoring.over_execution_rate 的项目个数（预算为 0 而有支出的也计入）。"),
    # 本月变化 (monitoring report, issue 19): against the state as of the end of the month before
    "monitoring.previous_month": ("本月变化比较的上月：{year} 年 {prev_month} 月底（按数据库现有数据重新计算，"
                                  "含之后导入的补录和修订；监控月份为 1 月时为空）。"),
    "monitoring.entered_red": ("monitoring.projects 所计项目中，截至 {month} 月底为红色预警、截至 {prev_month} 月底"
                               "不是红色的项目个数（1 月为空）。"),
    "monitoring.left_red": "同 monitoring.entered_red 的口径，截至 {prev_month} 月底为红色、截至 {month} 月底不再是红色的项目个数。",
    "monitoring.entered_yellow": "同 monitoring.entered_red 的口径，本月新进入黄色预警区间的项目个数。",
    "monitoring.left_yellow": "同 monitoring.left_red 的口径，本月离开黄色预警区间的项目个数。",
    "monitoring.entered_green": "同 monitoring.entered_red 的口径，本月新进入绿色区间的项目个数。",
    "monitoring.left_green": "同 monitoring.left_red 的口径，本月离开绿色区间的项目个数。",
    "monitoring.stalled": ("monitoring.projects 所计项目中有预算、截至 {month} 月底已连续规则 monitoring.stalled_months "
                           "个月及以上没有支付（支付金额大于 0 的 {year} 年支付记录）的项目个数（1 月为空）。"),
    "monitoring.execution_rate_prev": "与 monitoring.execution_rate 同一口径，截至 {year} 年 {prev_month} 月底的预算执行率。",
    "monitoring.gap_change": ("执行进度差（monitoring.execution_rate − monitoring.time_progress）截至 {month} 月底"
                              "与截至 {prev_month} 月底之差，正数为差距缩小。"),
    # multi-year view (issue 19)
    "monitoring.execution_rate_by_year": ("数据库中每一年度（不晚于 {year} 年、支付数据覆盖到该年 {month} 月底的年度；"
                                          "没有数据的年度不列）与 monitoring.execution_rate 同一口径、截至该年 {month} 月底的预算执行率。"),
    "targets.projects_by_year": "数据库中每一年度（不晚于 {year} 年、有项目和绩效目标数据的年度）与 targets.projects 同一口径的项目个数。",
    "targets.amount_by_year": "与 targets.projects_by_year 同一年度，与 targets.amount 同一口径的年初预算数合计，单位元。",
    "selfeval.projects_by_year": ("数据库中每一预算年度（不晚于 {fy} 年度、有项目和绩效自评数据的年度）与 selfeval.projects "
                                  "同一口径的自评项目个数。"),
    "selfeval.amount_by_year": "与 selfeval.projects_by_year 同一年度，与 selfeval.amount 同一口径的资金合计，单位元。",
    # conflicting signals (evaluation report, overview)
    "signals.key_slow": ("{unit}{year} 年重点评价等级在规则 key_evaluation.conflict_grades 之内，但截至监控月份执行"
                         "为红色预警、或预计年末结余占预算比例超过规则 key_evaluation.conflict_unspent_share 的项目个数。"),
    "signals.key_slow_in_full": "signals.key_slow 所计项目中，{next} 年预算安排数不低于申请数（审核未审减）的项目个数。",
    "signals.selfeval_low_execution": ("{fy} 年度复核等级为优、但全年执行数 ÷ " + BUDGET
                                       + "低于规则 self_evaluation.conflict_low_execution 的项目个数。"),
    "signals.cost_full_marks": "{fy} 年度自评得分为满分、但单位成本高于同类支出标准的项目个数（成本分析的类型与试点年度）。",
    # data quality
    "quality.findings_total": ("{unit}本报告年度所用数据中导入时记录的数据质量提示（不拒绝导入的内容缺项）处数："
                               "{year} 年的数据，自评类为 {fy} 年度，不属于某一年度的（部门表、整列缺失）也计入。"),
    "quality.findings_departments": "quality.findings_total 所计提示涉及的一级预算部门个数（下级单位计入其一级部门）。",
    "quality.findings_projects": "quality.findings_total 所计提示涉及的项目个数。",
    "quality.findings_by_kind": "quality.findings_total 按提示类别（见 docs/input-format.md）分列的处数。",
    # target review (绩效目标审核, 财预〔2021〕101号)
    "targets_review.projects": ("{unit}{year} 年至少有一条项目级绩效目标的项目（口径同 targets.projects，含涉密项目，"
                                "涉密项目以代号列示）中，按规则 target_review 审核了绩效目标的项目个数。"),
    "targets_review.passed": "targets_review.projects 所计项目中，各条审核规则均通过、审核结论为「通过」的项目个数。",
    "targets_review.revise": ("targets_review.projects 所计项目中，有审核规则未通过、但都不在规则 target_review.fail_rules"
                              " 之内，审核结论为「修改后通过」的项目个数。"),
    "targets_review.failed": ("targets_review.projects 所计项目中，规则 target_review.fail_rules 所列规则（默认：缺少产出指标、"
                              "缺少效益指标）至少一条未通过，审核结论为「不通过」的项目个数。"),
    # ex-ante assessment (事前绩效评估, 中发〔2018〕34号)
    "ex_ante.new_projects": ("{unit}{year} 年的新增项目（下年预算表标为 新增，或项目编码不见于以前年度项目表；不含涉密项目）"
                             "中，年初预算数不低于规则 ex_ante.amount_threshold 的项目个数；数据无法判断新增与否时为空。"),
    "ex_ante.missing": ("ex_ante.new_projects 所计项目中，事前评估表没有 {year} 年度评估结论的项目个数；"
                        "没有事前评估表（或表中没有任何评估）时为空。"),
    "ex_ante.mismatch": ("{unit}事前评估表中 {year} 年度的评估（不含涉密项目）里，结论为 不支持 而 {year} 年安排了年初预算，"
                         "或结论为 调整后支持 而年初预算数超过建议安排数的项目个数；没有事前评估表时为空。"),
    # rectification (整改跟踪; overview section 四)
    "rectification.items": "{unit}整改台账中发现年度为 {year} 年的问题个数（每个问题编号一个）。",
    "rectification.done": "rectification.items 所计问题中整改状态为 已整改 的个数。",
    "rectification.open": "rectification.items 所计问题中整改状态为 未整改 或 整改中 的个数。",
    "rectification.overdue": ("rectification.open 所计问题中整改期限早于 rectification.as_of 的个数"
                              "（未填整改期限的不计；没有台账导出日期又未指定 as_of 时不判断）。"),
    "rectification.on_time": "rectification.done 所计问题中完成日期不晚于整改期限的个数（缺任一日期的不计）。",
    "rectification.on_time_share": "rectification.on_time ÷ rectification.items。",
    "rectification.recurring": ("{prev} 年发现的问题中项目在 {year} 年重点评价中又有主要问题的个数，"
                                "加上 {year} 年发现的问题中项目在 {next} 年重点评价中又有主要问题的个数（数据中有该年时）。"),
    "rectification.as_of": "判断逾期的日期：报告参数 as_of，未指定时为整改台账文件的导出日期（文件修改日期）。",
}

# The Chinese name of each fact, as the 口径说明 block and the sentences that refer to it show it.
FACT_LABELS: dict[str, str] = {
    "targets.projects": "编制绩效目标的项目数", "targets.projects_prev": "上年编制绩效目标的项目数",
    "targets.amount": "编制绩效目标的项目资金", "targets.coverage_count": "绩效目标覆盖率（按项目数）",
    "targets.coverage_amount": "绩效目标覆盖率（按资金）", "departments.level1": "一级预算部门数",
    "departments.with_targets": "编制部门整体绩效目标的部门数",
    "selfeval.projects": "绩效自评项目数", "selfeval.amount": "绩效自评资金",
    "selfeval.projects_prev": "上年度绩效自评项目数", "selfeval.amount_prev": "上年度绩效自评资金",
    "selfeval.recomputed": "可复核的自评项目数", "selfeval.mean_score": "复核平均得分",
    "selfeval.grades": "复核等级分布", "selfeval.inflated": "自评虚高项目数",
    "selfeval.with_targets": "有绩效目标的自评项目数", "selfeval.with_targets_amount": "有绩效目标的自评项目资金",
    "selfeval.recomputed_amount": "可复核的自评项目资金",
    "keyeval.projects": "重点评价项目数", "keyeval.amount": "重点评价项目资金", "keyeval.request": "下年度预算申请数",
    "keyeval.cut": "审减额", "keyeval.cut_rate": "审减率", "keyeval.approved": "下年度预算安排数",
    "keyeval.budget_change": "下年度安排与本年预算相比的增减", "keyeval.budget_change_rate": "与本年预算相比的增减率",
    "monitoring.as_of_month": "监控月份", "monitoring.projects": "监控项目数", "monitoring.budget": "监控项目资金",
    "monitoring.spent": "已支出", "monitoring.execution_rate": "预算执行率", "monitoring.time_progress": "时间进度",
    "monitoring.red": "红色预警项目数", "monitoring.yellow": "黄色预警项目数", "monitoring.green": "绿色项目数",
    "monitoring.key_projects": "重点监控项目数", "monitoring.key_amount": "重点监控项目资金",
    "monitoring.over_budget": "支出超预算项目数", "monitoring.by_source": "分资金来源的监控项目与执行",
    "targets.scope_sources": "绩效目标覆盖范围的资金来源",
    "monitoring.previous_month": "比较月份（上月）", "monitoring.entered_red": "本月新转红色项目数",
    "monitoring.left_red": "本月脱离红色项目数", "monitoring.entered_yellow": "本月新转黄色项目数",
    "monitoring.left_yellow": "本月离开黄色项目数", "monitoring.entered_green": "本月新转绿色项目数",
    "monitoring.left_green": "本月离开绿色项目数", "monitoring.stalled": "连续无支付项目数",
    "monitoring.execution_rate_prev": "上月末预算执行率", "monitoring.gap_change": "执行进度差变化",
    "monitoring.execution_rate_by_year": "历年同期预算执行率", "targets.projects_by_year": "历年编制绩效目标的项目数",
    "targets.amount_by_year": "历年编制绩效目标的项目资金", "selfeval.projects_by_year": "历年绩效自评项目数",
    "selfeval.amount_by_year": "历年绩效自评资金",
    "cost.projects": "成本分析项目数", "cost.unit_cost_median": "单位成本中位数", "cost.standard": "支出标准",
    "cost.savings": "测算可压减", "cost.outliers": "单位成本异常项目数", "cost.standards": "制定的支出标准数",
    "cost.savings_total": "测算可压减合计", "cost.actual_cut": "实际压减", "cost.actual_cut_total": "实际压减合计",
    "fiscal.index": "综合绩效指数", "fiscal.rank": "排名", "fiscal.streets": "参评街道数", "fiscal.pi1": "PEFA PI-1 等级",
    "fiscal.evaluated": "参评街道", "fiscal.index_by_street": "各街道综合绩效指数", "fiscal.year": "评价年度",
    "fiscal.veto": "债务一票否决", "fiscal.vetoed": "债务一票否决的街道",
    "signals.key_slow": "评价优良但执行慢的重点评价项目数", "signals.key_slow_in_full": "其中下年预算未审减的项目数",
    "signals.selfeval_low_execution": "自评优但执行率低的项目数", "signals.cost_full_marks": "成本高于标准但自评满分的项目数",
    "quality.findings_total": "数据质量提示数", "quality.findings_departments": "涉及一级部门数",
    "quality.findings_projects": "涉及项目数", "quality.findings_by_kind": "分类别提示数",
    "targets_review.projects": "审核绩效目标的项目数", "targets_review.passed": "审核通过的项目数",
    "targets_review.revise": "修改后通过的项目数", "targets_review.failed": "审核不通过的项目数",
    "rectification.items": "整改问题数", "rectification.done": "已整改问题数", "rectification.open": "未完成整改问题数",
    "rectification.overdue": "逾期未整改问题数", "rectification.on_time": "按期整改问题数",
    "rectification.on_time_share": "按期整改率", "rectification.recurring": "问题重现数",
    "rectification.as_of": "逾期判断日期",
    "ex_ante.new_projects": "达到事前评估金额标准的新增项目数", "ex_ante.missing": "未开展事前评估的新增项目数",
    "ex_ante.mismatch": "预算安排与事前评估结论不符的项目数",
}

# 结果应用 (issue 17): the same seven facts for each stage the evaluation report traces into the next
# year's 年初预算 (perflib.analysis.application); stage → (what it flags, this year, next year, its rule)
_APPLICATION = {
    "selfeval": ("绩效自评", "{fy} 年度（于 {year} 年开展自评）绩效自评可复核、复核等级在规则 application.selfeval_grades "
                 "之内的项目", "{fy}", "{year}", "按复核等级的建议压减率（规则 application.selfeval_suggested_cut）"),
    "monitoring": ("执行监控", "{year} 年执行监控截至监控月份为红色预警、且预计年末结转结余不低于预算数的规则 "
                   "application.monitoring_unspent_share 的项目（不含涉密项目）", "{year}", "{next}",
                   "建议压减率（规则 application.monitoring_suggested_cut）"),
    "keyeval": ("财政重点评价", "{year} 年财政重点评价的全部项目（各等级）", "{year}", "{next}", None),
    "cost": ("成本分析", "{year} 年有产出数据、单位成本高于其类型支出标准（测算可压减大于 0）的项目", "{year}", "{next}",
             "建议压减率（测算可压减 ÷ 本年年初预算数）"),
}
for _s, (_name, _what, _this, _next, _rule) in _APPLICATION.items():
    _p = f"application.{_s}"
    _src = (f"下年预算表中 {_next} 年的预算数，没有的按项目表 {_next} 年的年初预算数"
            + ("，再没有的按重点评价的下年度安排数" if _s == "keyeval" else ""))
    SCOPES.update({
        f"{_p}.projects": "{unit}" + _what + "个数。",
        f"{_p}.with_next": f"{_p}.projects 所计项目中数据里有 {_next} 年年初预算数的项目个数（{_src}）。",
        f"{_p}.budget": f"{_p}.projects 所计项目 {_this} 年的年初预算数合计，单位元。",
        f"{_p}.next_budget": f"{_p}.with_next 所计项目 {_next} 年的年初预算数合计（{_src}），单位元；没有这样的项目时为空。",
        f"{_p}.change": (f"{_p}.with_next 所计项目 {_next} 年年初预算数合计减去其 {_this} 年年初预算数合计"
                         "（负数为压减），单位元；没有这样的项目时为空。"),
        f"{_p}.cut_projects": f"{_p}.with_next 所计项目中 {_next} 年年初预算数低于 {_this} 年的项目个数。",
        f"{_p}.matched": (f"{_p}.projects 所计项目中，审减率（下年度申请数 − 安排数）÷ 申请数符合规则 "
                          "key_evaluation.suggested_cut 按等级建议的比例（容差 key_evaluation.decision_tolerance；"
                          "key_evaluation.suggested_cut_floor_grades 的等级为下限）的项目个数。" if _s == "keyeval" else
                          f"{_p}.with_next 所计项目中，压减率（{_this} 年 − {_next} 年年初预算数）÷ {_this} 年年初预算数"
                          f"不低于{_rule}减去容差（规则 application.decision_tolerance）的项目个数。"),
    })
    _who = f"{_name}项目" if _s == "keyeval" else f"{_name}发现问题项目"
    FACT_LABELS.update({
        f"{_p}.projects": f"{_who}数（结果应用）", f"{_p}.with_next": f"{_who}中有下年预算的项目数",
        f"{_p}.budget": f"{_who}的本年年初预算", f"{_p}.next_budget": f"{_who}的下年年初预算",
        f"{_p}.change": f"{_who}下年预算增减", f"{_p}.cut_projects": f"{_who}中下年压减的项目数",
        f"{_p}.matched": f"{_who}中符合建议的项目数",
    })


def fact_label(fact: str) -> str:
    """The Chinese name of ``fact`` (the fact name itself when it has none)."""
    return FACT_LABELS.get(fact, fact)


def _named(sentence: str) -> str:
    """``sentence`` with every fact name in it replaced by 「its Chinese name」 (longest names first,
    so that keyeval.cut_rate is not read as keyeval.cut)."""
    for fact in sorted(FACT_LABELS, key=len, reverse=True):
        if fact in sentence:
            sentence = re.sub(rf" ?(?<![\w.]){re.escape(fact)}(?![\w]) ?", f"「{FACT_LABELS[fact]}」", sentence)
    return sentence


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
    sources = facts.get("targets.scope_sources") or list(DEFAULT_SCOPE_SOURCES)
    ctx["scope_sources"] = "、".join(sources)
    excluded = [s for s in FUND_SOURCES if s not in sources]
    ctx["scope_excluded"] = ("、".join(excluded) + "的项目") if excluded else "没有哪类资金的项目"
    month = facts.get("monitoring.as_of_month") or params.get("as_of_month")
    if month:
        m = int(month)
        ctx.update(month=m, month_end=calendar.monthrange(y, m)[1], prev_month=m - 1 if m > 1 else "—")
    if params.get("project_type"):
        ctx["project_type"] = params["project_type"]
    return ctx


def scope_sentence(fact: str, context: dict[str, Any]) -> str | None:
    """The scope sentence of ``fact`` filled from ``context``; None for a fact without one."""
    template = SCOPES.get(fact)
    return None if template is None else _named(template.format_map(_Blank(context)))


def scope_sentences(facts: Iterable[str], context: dict[str, Any]) -> dict[str, str]:
    """{fact: sentence} for the facts that have a sentence."""
    out = {}
    for f in facts:
        s = scope_sentence(f, context)
        if s is not None:
            out[f] = s
    return out
