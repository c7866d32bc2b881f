"""The evaluation report's sentences (self-evaluation review, key evaluations and their use in the
next year's budget, seed sections 三 and 四): drafted from the results of
:mod:`perflib.analysis.evaluation`, numbers worded by :mod:`perflib.present.formats`."""
from __future__ import annotations

import pandas as pd

from ...analysis.evaluation import (DECISION_TOO_LITTLE, DECISION_TOO_MUCH, FLAG_FULL_LOW_EXEC,
                                    FLAG_INFLATED, FLAG_MISSING, FLAG_NO_BUDGET, FLAG_NOT_RECOMPUTED,
                                    FLAG_OVERACHIEVED, FLAG_UNREADABLE, GRADES, SelfEvaluation,
                                    key_domains, key_evaluation_totals, self_evaluation_summary)
from ...analysis.evaluation import flags_table as raw_flags_table
from ...store import CLASSIFIED_NAME
from ..formats import pct, plain_list, yi


def report_title(year: int, dept: str | None = None, store=None) -> str:
    """The evaluation report's title (with the department's name when filtered)."""
    name = ""
    if dept is not None and store is not None:
        d = store.departments()
        hit = d[(d["dept_code"].astype(str) == str(dept)) | (d["dept_name"].astype(str) == str(dept))]
        name = str(hit["dept_name"].iloc[0]) if len(hit) else str(dept)
    elif dept is not None:
        name = str(dept)
    return f"{int(year)} 年{name}预算绩效评价与结果应用报告"


def key_evaluation_paragraph(scored: pd.DataFrame, year: int, *, named: int = 3) -> str:
    """The seed's section 四 sentence drafted from the data.

    Domains are listed by their Σ budget (largest first); the projects named are the largest
    (by budget) of each of the first ``named`` domains, as the seed names one project per domain;
    classified projects are never named.
    """
    y = int(year)
    if scored.empty:
        return f"{y}年未开展财政重点绩效评价（数据中没有{y}年的重点评价记录）。"
    t = key_evaluation_totals(scored)
    domains = [d for d in key_domains(scored)["domain"] if d != "未注明"]
    ordered = scored[scored["project_name"].astype(object) != CLASSIFIED_NAME]
    ordered = ordered.assign(domain=ordered["domain"].astype(object).fillna("未注明"))
    ordered = ordered.sort_values("budget", ascending=False, kind="stable")
    names = []
    for d in key_domains(scored)["domain"]:
        hit = ordered.loc[ordered["domain"] == d, "project_name"]
        if len(hit) and len(names) < named:
            names.append(str(hit.iloc[0]))
    if len(names) < named:  # fewer domains than names wanted: the next largest projects
        names += [str(n) for n in ordered["project_name"] if str(n) not in names][: named - len(names)]
    text = f"{y}年重点绩效评价"
    if domains:
        text += f"在项目选取上聚焦{plain_list(domains)}等领域，"
    text += "最终选定"
    if names:
        text += plain_list([f"“{n}”" for n in names]) + "等"
    text += f"{t['keyeval.projects']}个项目开展重点绩效评价，涉及项目资金{yi(t['keyeval.amount'], 2)}亿元。"
    if t["keyeval.cut_rate"] is None:
        text += f"重点评价项目没有{y + 1}年预算申请数，无法计算压减情况。"
    else:
        text += (f"评价结果与预算安排进行了实质性挂钩，根据{y}年财政重点绩效评价结果，"
                 f"{y + 1}年相关项目预算审减（申请数减安排数）{yi(t['keyeval.cut'], 2)}亿元，"
                 f"审减率{pct(t['keyeval.cut_rate'])}。")
    text += budget_change_sentence(t, y)
    return text


def budget_change_sentence(totals: dict, year: int) -> str:
    """The change of next year's approved budget against this year's budget (keyeval.* facts)."""
    y = int(year)
    if totals["keyeval.budget_change_rate"] is None:
        return f"这些项目{y}年预算数为0，无法与{y + 1}年安排数比较。"
    change = totals["keyeval.budget_change"]
    head = (f"与{y}年预算数（调整后预算数，无调整的按年初预算数）{yi(totals['keyeval.amount'], 2)}亿元相比，"
            f"{y + 1}年安排数{yi(totals['keyeval.approved'], 2)}亿元，")
    if change == 0:
        return head + "持平。"
    word = "增加" if change > 0 else "减少"
    size = f"{yi(abs(change), 2)}亿元" if abs(change) >= 5e5 else f"{abs(change):,.2f}元"  # never 「0.00亿元」
    return head + f"{word}{size}（{pct(abs(totals['keyeval.budget_change_rate']))}）。"


def self_evaluation_paragraph(result: SelfEvaluation, year: int, rules) -> str:
    """A sentence on the recomputed self-evaluation scores of fiscal year ``year − 1``."""
    s = self_evaluation_summary(result)
    n_all = len(result.projects)
    fy = int(year) - 1
    if n_all == 0:
        return f"数据中没有{fy}年度项目的绩效自评记录。"
    if s["selfeval.recomputed"] == 0:
        return f"{fy}年度绩效自评共{n_all}个项目，均无可用于复核的绩效指标。"
    g = s["selfeval.grades"]
    margin = rules.value("self_evaluation.inflation_margin")
    return (f"按绩效指标完成情况复核{fy}年度绩效自评项目{s['selfeval.recomputed']}个（自评项目共{n_all}个），"
            f"复核平均得分{s['selfeval.mean_score']:.2f}分，其中优{g['优']}个、良{g['良']}个、中{g['中']}个、差{g['差']}个；"
            f"自评得分高于复核得分超过{margin:g}分（自评虚高）的项目{s['selfeval.inflated']}个。")


def _num(x) -> str:
    """A reported score as the flag list writes it: up to 4 decimals, no trailing zeros; 「—」 if none."""
    if x is None or pd.isna(x):
        return "—"
    return f"{x:,.4f}".rstrip("0").rstrip(".")


def flag_detail(f) -> str:
    """The 说明 of one flag (a row of :attr:`SelfEvaluation.flags`): the numbers behind it and the
    threshold applied."""
    kind = f.flag
    if kind == FLAG_NOT_RECOMPUTED:
        return f"无绩效目标指标，无法复核自评得分（自评 {_num(f.reported_score)} 分）"
    if kind == FLAG_INFLATED:
        return (f"自评 {f.reported_score:.2f} 分，复核 {f.recomputed_score:.2f} 分，"
                f"高出 {f.difference:.2f} 分（阈值：高出超过 {f.threshold:g} 分）")
    if kind == FLAG_NO_BUDGET:
        return f"全年预算数为 0，执行率无法计算（执行数 {f.spent_amount:,.2f} 元）"
    if kind == FLAG_FULL_LOW_EXEC:
        return (f"自评 {f.reported_score:g} 分，预算执行率 {f.execution_rate:.2%}"
                f"（阈值：低于 {f.threshold:.0%}）")
    if kind == FLAG_OVERACHIEVED:
        unit = f.unit if isinstance(f.unit, str) else ""
        return (f"指标「{f.indicator}」目标 {f.direction} {f.target_value}{unit}，完成 {f.actual_value}{unit}，"
                f"完成程度 {f.achievement:.1%}（阈值：超过 {f.threshold:.0%}）")
    if kind == FLAG_MISSING:
        return f"{len(f.items)} 个指标缺少实际完成值（按 0 分计）：{'、'.join(map(str, f.items))}"
    if kind == FLAG_UNREADABLE:
        return "；".join(f"「{i}」{st}（目标 {t}，完成 {a}）" for i, st, t, a in f.items) + "，按 0 分计"
    return ""


def flags_table(result: SelfEvaluation, include_not_recomputed: bool = False) -> pd.DataFrame:
    """:func:`perflib.analysis.evaluation.flags_table` with each flag's ``detail`` worded (view
    ``evaluation.flags``)."""
    f = raw_flags_table(result, include_not_recomputed)
    return f.assign(detail=[flag_detail(r) for r in f.itertuples(index=False)])


def flags_paragraph(result: SelfEvaluation, rules) -> str:
    """What the auditor's checks found, by kind, with the thresholds applied."""
    f = result.flags
    if f.empty:
        return "复核未发现需要关注的问题。"
    per = f.groupby("flag")["project_id"].nunique()
    n_over = int((f["flag"] == FLAG_OVERACHIEVED).sum())
    margin = rules.value("self_evaluation.inflation_margin")
    ratio = rules.value("self_evaluation.overachievement_ratio")
    low = rules.value("self_evaluation.full_marks_low_execution")
    full = rules.value("self_evaluation.full_marks_min")
    parts = []
    if per.get(FLAG_INFLATED, 0):
        parts.append(f"自评得分高于复核得分超过{margin:g}分（自评虚高）的项目{per[FLAG_INFLATED]}个")
    if n_over:
        parts.append(f"实际完成值超过目标值{ratio:.0%}（目标可能定得过低）的指标{n_over}个，涉及项目{per[FLAG_OVERACHIEVED]}个")
    if per.get(FLAG_FULL_LOW_EXEC, 0):
        parts.append(f"自评{full:g}分但预算执行率低于{low:.0%}的项目{per[FLAG_FULL_LOW_EXEC]}个")
    if per.get(FLAG_MISSING, 0):
        parts.append(f"有指标缺少实际完成值的项目{per[FLAG_MISSING]}个")
    if per.get(FLAG_UNREADABLE, 0):
        parts.append(f"指标值或完成值无法识别的项目{per[FLAG_UNREADABLE]}个")
    if per.get(FLAG_NO_BUDGET, 0):
        parts.append(f"全年预算数为0的项目{per[FLAG_NO_BUDGET]}个")
    if per.get(FLAG_NOT_RECOMPUTED, 0):
        parts.append(f"没有绩效目标指标、无法复核的项目{per[FLAG_NOT_RECOMPUTED]}个")
    return "复核发现：" + "；".join(parts) + "。各项目的问题及相关数字见下表。"


def budget_application_paragraph(scored: pd.DataFrame, year: int, rules) -> str:
    """Results applied to next year's budget: totals, by grade, and departures from the suggestion."""
    y = int(year)
    if scored.empty:
        return f"{y}年没有重点评价项目，不涉及评价结果与{y + 1}年预算安排的挂钩。"
    t = key_evaluation_totals(scored)
    tol = rules.value("key_evaluation.decision_tolerance")
    g = scored["grade"].value_counts()
    grades_text = "、".join(f"{k}{int(g.get(k, 0))}个" for k in GRADES)
    text = (f"{y}年重点评价项目{t['keyeval.projects']}个，评价等级{grades_text}。"
            f"相关项目{y + 1}年申请预算{yi(t['keyeval.request'], 2)}亿元，")
    if t["keyeval.cut_rate"] is None:
        return text + "申请数为0，无法计算压减率。"
    text += (f"安排{yi(t['keyeval.approved'], 2)}亿元，审减（申请数减安排数）{yi(t['keyeval.cut'], 2)}亿元，"
             f"审减率{pct(t['keyeval.cut_rate'])}。")
    text += budget_change_sentence(t, y)
    too_little = int((scored["decision"] == DECISION_TOO_LITTLE).sum())
    too_much = int((scored["decision"] == DECISION_TOO_MUCH).sum())
    if too_little or too_much:
        text += (f"审减率与按等级建议的压减比例相比（容差{tol * 100:g}个百分点），压减不足的项目{too_little}个，"
                 f"压减超出建议的项目{too_much}个，其余项目的安排符合建议。")
    else:
        text += f"各项目的审减率均在按等级建议压减比例的容差（{tol * 100:g}个百分点）以内。"
    return text


def key_maxima_paragraph(scored: pd.DataFrame, findings: pd.DataFrame, rules) -> str:
    """Where the dimension maxima came from, and the scores above a maximum (counted at it)."""
    if scored.empty:
        return ""
    n_data = int(scored["max_from_data"].sum())
    w = "/".join(f"{rules.value('key_evaluation.weight_' + k):g}" for k in ("decision", "process", "output", "effect"))
    if n_data == len(scored):
        text = "各项目决策、过程、产出、效益四个维度的满分按数据中各评价方案给出的分值计。"
    elif n_data:
        text = (f"{n_data}个项目的维度满分按数据中评价方案给出的分值计，其余{len(scored) - n_data}个项目"
                f"按规则文件的默认分值（决策/过程/产出/效益 {w}）计。")
    else:
        text = f"数据未给出各维度满分，按规则文件的默认分值（决策/过程/产出/效益 {w}）计。"
    if findings.empty:
        return text + "没有维度得分超过其满分。"
    return (text + f"有{findings['project_id'].nunique()}个项目共{len(findings)}处维度得分超过该维度满分，"
            "按满分计入总分，见下表。")
