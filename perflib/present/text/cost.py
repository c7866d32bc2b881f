"""The cost report's sentences (seed section 七): unit costs, standards, savings, cost-effectiveness,
the budget cut and the closed loop, and the overview's section 七, drafted from the results of
:mod:`perflib.analysis.cost`, numbers worded by :mod:`perflib.present.formats`."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...analysis.cost import (LOOP_STEPS, CostRegression, TypeAnalysis, cost_data_and_analyses,
                              type_cuts, type_facts, types_overview_facts,
                              types_table)
from ...analysis.cost import standard_table as raw_standard_table
from ...rules import Rules
from ..formats import wan, year_span


def wan_text(x: float) -> str:
    """An amount in the cost report's words: 「1,234.56 万元」."""
    return f"{wan(x, 2, grouped=True)} 万元"


def cost_data_years(analysis: TypeAnalysis) -> list[int]:
    """The pilot years in which the type has a computable unit cost (the data's years, not the
    rules' window: a year before the cost data start is never named)."""
    rows = analysis.rows
    return sorted({int(y) for y in rows.loc[rows["unit_cost"].notna(), "year"]}) if len(rows) else []


def cost_years(analysis: TypeAnalysis) -> str:
    """:func:`cost_data_years` as text (「2021—2023」), the report year when there is none."""
    return year_span(cost_data_years(analysis)) or str(analysis.year)


def percentile_name(p: float) -> str:
    """0.5 → 「中位数（第 50 百分位）」, 0.25 → 「第 25 百分位」."""
    pct = f"{p * 100:g}"
    return f"中位数（第 {pct} 百分位）" if p == 0.5 else f"第 {pct} 百分位"


def note_texts(analysis: TypeAnalysis) -> list[str]:
    """The conditions of :attr:`TypeAnalysis.notes` in words (several units, too few peers, projects
    left out of the savings), in order."""
    a, out = analysis, []
    for kind, v in a.notes:
        if kind == "units":
            out.append(f"「{a.project_type}」的产出有多个计量单位（{'、'.join(v['units'])}），"
                       f"只以「{v['unit']}」计的项目年度纳入同类比较，其余已标注。")
        elif kind == "few_peers":
            out.append(f"「{a.project_type}」在 {cost_years(a)} 年只有 "
                       f"{v['peers']} 个可比项目年度，少于规则要求的 {v['min_peers']} 个，暂不制定支出标准。")
        elif kind == "unusable":
            out.append(f"{v['year']} 年有 {len(v['items'])} 个项目无法计算单位成本或单位不一致，未计入测算可压减额："
                       + "；".join(f"{label}（{problem}）" for label, problem in v["items"]))
    return out


def standard_table(analysis: TypeAnalysis) -> pd.DataFrame:
    """:func:`perflib.analysis.cost.standard_table` with ``basis`` in words (view ``cost.standard``)."""
    t = raw_standard_table(analysis)
    name = percentile_name(analysis.percentile)
    q = analysis.quality_median
    words = {"rule": f"全部可比项目年度的{name}（规则口径，用于测算）",
             "quality": (f"质量得分不低于中位数（{q:g} 分）的项目年度的{name}（质量调整，仅供参考）"
                         if np.isfinite(q) else "质量调整口径（无质量得分，不适用）")}
    return t.assign(basis=t["basis"].map(words))


def regression_text(reg: CostRegression) -> str:
    """The fixed and variable part of the type's costs in Chinese words (or why there is none)."""
    if reg.reason:
        why = (f"可比项目年度只有 {reg.n} 个（至少需要 3 个）" if reg.reason == "few_peers"
               else "各项目年度的产出数量相同")
        return f"{why}，无法做成本—产出回归。"
    fixed_wan = reg.fixed / 10_000
    head = (f"以 {reg.n} 个项目年度回归总成本对产出数量：总成本 ≈ {fixed_wan:,.1f} 万元 + "
            f"{reg.variable:,.2f} 元/{reg.unit} × 产出数量（R² = {reg.r_squared:.2f}）。")
    if reg.fixed >= 0:
        body = (f"即不随产出变化的固定部分约 {fixed_wan:,.1f} 万元，约占平均总成本的 "
                f"{reg.fixed_share:.0%}；每多 1 {reg.unit}产出，成本约增加 {reg.variable:,.2f} 元。")
    else:
        body = (f"截距为负，说明在样本范围内成本基本随产出同比例变化（看不出固定部分）；"
                f"每多 1 {reg.unit}产出，成本约增加 {reg.variable:,.2f} 元。")
    fit = ("产出数量能解释大部分成本差异。" if reg.r_squared > 0.5 else
           "产出数量只能解释少部分成本差异，其余来自价格、服务标准等其他因素。")
    return head + body + fit


def summary_text(analysis: TypeAnalysis) -> str:
    """The type's headline in Chinese: projects, unit, peers, median, standard, savings, outliers."""
    a = analysis
    f = type_facts(a)
    span = cost_years(a)
    u = a.unit or "单位产出"
    parts = [f"{a.year} 年「{a.project_type}」类有产出数据的项目 {f['cost.projects']} 个"]
    if a.unit is None:
        parts.append("，但没有一个项目能算出单位成本，无法开展同类比较。")
        return "".join(parts)
    parts.append(f"，产出计量单位为「{a.unit}」。{span} 年共有 {len(a.peers)} 个可比项目年度")
    if f["cost.unit_cost_median"] is not None:
        parts.append(f"，{a.year} 年单位成本中位数为 {f['cost.unit_cost_median']:,.2f} 元/{u}")
    parts.append("。")
    if a.has_standard:
        parts.append(f"按同类项目单位成本的{percentile_name(a.percentile)}，支出标准为 "
                     f"{a.standard:,.2f} 元/{u}")
        if np.isfinite(a.quality_standard):
            parts.append(f"（只看质量得分不低于中位数 {a.quality_median:g} 分的项目，为 "
                         f"{a.quality_standard:,.2f} 元/{u}，仅供参考）")
        above = int((a.current["saving"].fillna(0) > 0).sum())
        parts.append(f"；{a.year} 年有 {above} 个项目高于标准，按标准测算可压减 {wan_text(a.savings)}"
                     "（测算数，不是预算实际压减额）。")
    else:
        parts.append(f"可比项目年度少于 {a.min_peers} 个，暂不制定支出标准。")
    if a.outliers:
        names = "、".join(a.current.loc[a.current["is_outlier"], "label"].astype(str))
        parts.append(f"单位成本异常的项目 {a.outliers} 个：{names}，建议重点核实其成本与产出数据。")
    else:
        parts.append(f"{a.year} 年没有单位成本异常的项目。")
    return "".join(parts)


def effectiveness_text(effectiveness: pd.DataFrame, cap_policy: str | None = None) -> str:
    """Who is on the efficient frontier and who is cheap but of low quality. ``cap_policy``: the
    spending caps that bind this type (rules ``cost.capped_types``, e.g. 公务接待 under the 三公经费
    rules), cited instead of the peer standard. A low unit cost is never an argument against a cut."""
    if effectiveness.empty or effectiveness["quality_score"].isna().all():
        return "本类项目没有质量得分，无法做成本效益比较。"
    eff = effectiveness["efficient"]
    front = "、".join(effectiveness.loc[eff, "label"].astype(str))
    text = f"处在有效前沿（没有别的项目单位成本更低且质量更高）的项目 {int(eff.sum())} 个：{front}"
    bench = effectiveness.loc[eff & ~effectiveness["cheap_low_quality"], "label"].astype(str)
    if int(eff.sum()) != len(bench):
        text += (f"；其中可作为标杆（不属于低价低质）的：{'、'.join(bench) if len(bench) else '无'}")
    text += "。"
    cheap = effectiveness.loc[effectiveness["cheap_low_quality"], "label"].astype(str)
    if len(cheap):
        text += (f"单位成本低于支出标准但质量得分低于中位数的项目：{'、'.join(cheap)}——不作为成本标杆；"
                 "其质量问题应通过明确服务内容和绩效目标解决，不以提高单价弥补，"
                 "也不影响对高于标准部分的压减。")
    else:
        text += "没有“低价低质”的项目。"
    if cap_policy:
        text += (f"本类支出受{cap_policy}约束：支出标准（同类项目单位成本的分位数）只是内部参照，"
                 "不能替代规定的开支上限；任何项目超出上限的部分都应压减，低于上限和支出标准的项目不需要提高单价。")
    return text


def budget_cut_text(table: pd.DataFrame, year: int) -> str:
    """The estimate (测算可压减) against the budget actually cut next year, in words, with the
    definition of the actual cut; says which data it needs when next year's budgets are absent."""
    saving = float(table["saving"].fillna(0).sum())
    have = table[table["next_budget"].notna()]
    head = f"按支出标准测算可压减 {wan_text(saving)}（测算数）。"
    if have.empty:
        return (head + f"数据中没有这些项目 {year + 1} 年的预算（需要「下年预算」表，或项目表中 {year + 1} 年的记录），"
                "无法计算实际压减额。")
    cut = float(have["actual_cut"].sum())
    raised = int((have["budget_change"] < 0).sum())
    text = (head + f"{len(table)} 个项目中 {len(have)} 个有 {year + 1} 年预算，实际压减 {wan_text(cut)}"
            f"（实际压减 = Σ max(0, {year} 年年初预算数 − {year + 1} 年年初预算数)，只计有 {year + 1} 年预算的项目；"
            f"这些项目的测算可压减为 {wan_text(float(have['saving'].fillna(0).sum()))}）。")
    if raised:
        text += f"其中 {raised} 个项目 {year + 1} 年预算高于 {year} 年，不计入实际压减。"
    missing = len(table) - len(have)
    if missing:
        text += f"另有 {missing} 个项目没有 {year + 1} 年预算，未计入。"
    return text


def loop_text(loop: pd.DataFrame) -> str:
    """How many projects have cost evidence for each of the five steps."""
    n = len(loop)
    if n == 0:
        return "本年度没有该类项目。"
    counts = "，".join(f"{s} {int(loop[s].sum())} 个" for s in LOOP_STEPS)
    full = int((loop["steps"] == len(LOOP_STEPS)).sum())
    return (f"{n} 个项目中，各环节有成本证据的项目数：{counts}；五个环节证据齐全的 {full} 个。"
            "缺失的证据逐项列在下表，是下一步补齐成本数据的清单。")


def overview_section(store, year: int, rules: Rules) -> tuple[str, dict, pd.DataFrame]:
    """Section 七 of the overview: (Chinese paragraph worded as the seed, facts, per-type table).

    Facts: ``cost.standards``, ``cost.savings_total`` and ``cost.actual_cut_total`` as
    :func:`perflib.analysis.cost.cost_overview_facts` defines them.
    """
    data, analyses = cost_data_and_analyses(store, year, rules)
    cuts = type_cuts(analyses, data)
    with_std = [a for a in analyses.values() if a.has_standard]
    facts = types_overview_facts(analyses, cuts)
    if not analyses:
        return (f"数据中没有 {year} 年项目的产出数量，无法开展成本绩效分析和支出标准测算。", facts,
                types_table(analyses, cuts))
    names = "、".join(analyses)
    span = year_span(y for a in analyses.values() for y in cost_data_years(a)) or str(year)
    several = len({y for a in analyses.values() for y in cost_data_years(a)}) > 1
    basis = "在各年度成本效益分析的基础上" if several else "在成本效益分析的基础上"  # one year of data: no "各年度"
    text = (f"{span}年对{names}等 {len(analyses)} 类项目开展成本绩效分析，"
            f"寻找项目成本管控点，优化成本结构。{year}年{basis}共研究制定了"
            f"分行业、分领域支出标准{facts['cost.standards']}个")
    if with_std:
        text += (f"（{'、'.join(a.project_type for a in with_std)}），并将支出标准应用于预算编制，"
                 f"按支出标准测算可压减相关项目预算资金{wan(facts['cost.savings_total'])}万元（测算数）")
        if facts["cost.actual_cut_total"] is None:
            text += (f"；数据中没有这些项目{year + 1}年的预算（需要「下年预算」表），"
                     "实际压减额无法计算。")
        else:
            text += (f"；按{year + 1}年年初预算，这些项目实际压减{wan(facts['cost.actual_cut_total'])}万元"
                     f"（各项目{year}年年初预算数高于{year + 1}年的差额之和，只计有{year + 1}年预算的项目）。")
    else:
        text += "。"
    lacking = [a.project_type for a in analyses.values() if not a.has_standard]
    if lacking:
        text += (f"{'、'.join(lacking)}的可比项目年度不足 {int(rules.value('cost.min_peers'))} 个，"
                 "暂未制定支出标准。")
    return text, facts, types_table(analyses, cuts)
