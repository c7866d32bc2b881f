"""The fiscal report's sentences (街道级政府财政运行综合绩效评价, seed section 五): findings and
suggestions, the year-over-year note, the method, and the overview's section 五, drafted from the
results of :mod:`perflib.analysis.fiscal`, numbers worded by :mod:`perflib.present.formats`."""
from __future__ import annotations

import pandas as pd

from ...analysis.fiscal import (FORMULAS, EvaluatedYear, FiscalIndex, StreetEvaluation, debt_veto,
                                missing_mode, street_overview, street_overview_facts)
from ...analysis.fiscal import framework_table as raw_framework_table
from ...analysis.pefa import PefaScore, pefa_years
from ..formats import change, pct, score

# Suggestions drafted for a weak indicator (score below fiscal.weak_score) or a C/D PEFA grade.
SUGGESTIONS = {
    "tax_share": "优化收入结构，提高税收收入占比，夯实财政收入质量",
    "revenue_growth": "培植和涵养税源，促进一般公共预算收入稳定增长",
    "budget_execution_low": "提高预算编制的科学性和准确性，加快支出执行进度",
    "budget_execution_high": "严格预算约束，杜绝无预算、超预算支出",
    "three_guarantees": "坚持“三保”支出优先顺序，足额保障工资、运转和基本民生支出",
    "admin_cost_share": "坚持过紧日子，压缩和控制行政成本",
    "admin_cost_change": "坚持过紧日子，压缩和控制行政成本",
    "debt_ratio": "严控新增债务，防范化解债务风险",
    "debt_veto": "街道不得举借债务（预算法第三十五条），应查明债务形成原因，制定化解方案并按规定整改",
    "balance_ratio": "强化收支管理责任，增强财政统筹平衡能力",
    "carryover_share": "加大结转结余资金统筹盘活力度，提高财政资金使用效益",
    "target_coverage": "实现项目绩效目标全覆盖，提高绩效目标编报质量",
    "selfeval_coverage": "实现项目绩效自评全覆盖，强化自评结果应用",
    "PI-1": "提高支出预算编制的准确性，减少决算与年初预算的偏离",
    "PI-2.1": "严格按功能科目执行预算，减少科目间预算调剂",
    "PI-2.2": "严格按经济分类执行预算，减少经济分类科目间的调剂",
    "PI-3.1": "提高收入预测的准确性，科学编制收入预算",
    "data": "完善街道财政预决算（含分功能科目）数据的报送，保证近三年数据完整，以便开展 PEFA 评分",
}
CLOSING = ("通过开展街道级政府财政运行综合绩效评价，促进街道级财政部门强化收支管理责任，压缩和控制行政成本，"
           "提升财政资金使用效益和效率，确保财政统筹平衡能力不断增强。")
MISSING = "缺失"
DEBT_VETO_TEXT = ("街道不得举借债务（预算法第三十五条）：债务余额不作为计分指标（其余指标权重按比例放大），"
                  "年末债务余额大于 0 的街道一票否决、不参与排名（其综合指数仍列示），其余街道之间排名。")
COVERAGE_TEXT = {
    "targets": "当年有项目级绩效目标的合格项目数 ÷ 当年合格项目数（本级、非涉密、非特殊资金）",
    "self_evaluations": "上年度已开展绩效自评的合格项目数 ÷ 上年度合格项目数（本级、非涉密、非特殊资金）",
}


def formula_text(key: str) -> str:
    """The Chinese formula of an indicator (:data:`perflib.analysis.fiscal.FORMULAS`), as printed in
    the report's indicator table."""
    kind, a, b = FORMULAS[key]
    if kind == "ratio":
        return f"{a} ÷ {b}"
    if kind == "growth":
        return f"本年{a} ÷ 上年{a} − 1"
    return COVERAGE_TEXT[a]


def framework_table(rules) -> pd.DataFrame:
    """:func:`perflib.analysis.fiscal.framework_table` with each indicator's ``formula`` in words
    (view ``fiscal.framework``)."""
    fw = raw_framework_table(rules)
    return fw.assign(formula=[formula_text(k) for k in fw["key"]])


def _rank(v) -> str:
    """A rank as text, 「—」 when there is none."""
    return "—" if v is None or pd.isna(v) else str(int(v))


def basis_text(basis: EvaluatedYear | None) -> str:
    """Which year the report evaluates and why (the later years' 决算 not final), in Chinese."""
    if basis is None or basis.year is None:
        return ""
    text = f"本报告评价 {basis.year} 年度（已完成决算的最近一个年度；PEFA 只对已完成的财政年度评分）。"
    reasons = []
    for y, kind, detail in basis.skipped:
        if kind == "running":
            reasons.append(f"{y} 年支付数据只到 {detail} 月，年度尚未结束，决算未完成")
        else:
            reasons.append(f"{y} 年有 {len(detail)} 个街道缺少决算数（一般公共预算收入或支出）："
                           + "、".join(detail))
    if reasons:
        text += "未评价更近的年度：" + "；".join(reasons) + "。"
    return text


def _suggestions(bad: pd.DataFrame, pefa: list[PefaScore], vetoed: bool = False) -> list[str]:
    """The suggestions for the debt veto, the weak indicators and PEFA grades, each once, in order."""
    out: list[str] = [SUGGESTIONS["debt_veto"]] if vetoed else []
    for r in bad.itertuples():
        key = r.key
        if key == "budget_execution":
            key = "budget_execution_high" if r.value > 1 else "budget_execution_low"
        out.append(SUGGESTIONS[key])
    for s in pefa:
        if s.insufficient:
            out.append(SUGGESTIONS["data"])
        elif s.weak and s.code in SUGGESTIONS:
            out.append(SUGGESTIONS[s.code])
    return list(dict.fromkeys(out))


def findings_text(fi: FiscalIndex, code: str, pefa: list[PefaScore], rules,
                  previous: FiscalIndex | None = None) -> str:
    """A Chinese findings-and-suggestions paragraph drafted from the scores (seed section 五's tone)."""
    code = str(code)
    name = fi.name_of(code)
    weak, strong = float(rules.value("fiscal.weak_score")), float(rules.value("fiscal.strong_score"))
    idx, rank = fi.result.at[code, "index"], fi.result.at[code, "rank"]
    median = fi.result["index"].median(skipna=True)
    parts = []
    vetoed = "veto" in fi.result.columns and bool(fi.result.at[code, "veto"])
    if pd.isna(idx):
        parts.append(f"{name}{fi.year}年财政运行指标数据不足，未能计算综合绩效指数。")
    elif vetoed:
        parts.append(f"{name}{fi.year}年末债务余额为{fi.result.at[code, 'debt'] / 10_000:,.2f}万元。街道不得举借债务"
                     f"（预算法第三十五条），按规则一票否决，不参与排名；综合绩效指数为{score(idx)}分，仅供参考"
                     f"（参评街道中位数{score(median)}分）。")
    else:
        parts.append(f"{name}{fi.year}年财政运行综合绩效指数为{score(idx)}分，在参评的{fi.n_streets}个街道中"
                     f"排名第{int(rank)}位（参评街道中位数{score(median)}分）。")
        if fi.vetoed:
            parts.append(f"另有{len(fi.vetoed)}个街道因有债务余额一票否决、不参与排名。")
    if fi.n_streets == 1 and not pd.isna(idx):
        parts.append(f"当年仅 1 个街道参评，各指标无法在街道间比较，有数据的指标均按规则计"
                     f"{rules.value('fiscal.equal_values_score'):g}分，综合绩效指数仅供参考。")
    if previous is not None and previous.has(code) and not pd.isna(previous.result.at[code, "index"]) \
            and not pd.isna(idx):
        d = idx - previous.result.at[code, "index"]
        r0 = previous.result.at[code, "rank"]
        trend = change(d, f"{abs(d):.2f}分", "上升", "下降", flat_below=0.005)
        if pd.isna(r0) or pd.isna(rank):   # a street vetoed in either year has no rank to compare
            parts.append(f"与{previous.year}年评价相比，综合绩效指数{trend}。")
        else:
            parts.append(f"与{previous.year}年评价相比，综合绩效指数{trend}，排名由第{_rank(r0)}位"
                         f"变为第{_rank(rank)}位。")
    grades = "，".join(f"{s.name.split('（')[0]}（{s.code}）评为{s.describe()}" for s in pefa if s.applicable)
    if grades:
        parts.append(f"按 PEFA 方法，{grades}。")
    na = [s.code for s in pefa if not s.applicable]
    if na:
        parts.append(f"{'、'.join(na)}（按经济分类的支出结构偏差）不适用：数据中没有按经济分类的预算数和决算数"
                     "（街道财政表「经济分类预算数:」「经济分类决算数:」指标）。")
    cmp = fi.comparison(code)
    good = cmp[(cmp["score"] >= strong) & cmp["differentiated"]]
    bad = cmp[(cmp["score"] < weak) & cmp["differentiated"]]
    missing = cmp[cmp["value"].isna()]
    if len(good):
        parts.append("优势方面：" + "、".join(
            f"{r.indicator}{pct(r.value, missing=MISSING)}" for r in good.itertuples()) + "，处于参评街道前列。")
    if len(bad):
        parts.append("存在的主要问题：" + "；".join(
            f"{r.indicator}为{pct(r.value, missing=MISSING)}，参评街道中位数为"
            f"{pct(r.peer_median_value, missing=MISSING)}（得分{score(r.score, 1)}）"
            for r in bad.itertuples()) + "。")
    if len(missing):
        parts.append("以下指标缺少数据、未参与计分：" + "、".join(missing["indicator"]) + "。")
    suggestions = _suggestions(bad, pefa, vetoed)
    if suggestions:
        parts.append("建议：" + "；".join(f"（{i}）{t}" for i, t in enumerate(suggestions, 1)) + "。")
    else:
        parts.append("各项指标均未低于短板线，建议保持现有收支管理水平，持续巩固评价成果。")
    parts.append(CLOSING)
    return "".join(parts)


def street_findings(ev: StreetEvaluation, rules) -> str:
    """:func:`findings_text` of one evaluated street (against its previous evaluation)."""
    return basis_text(ev.basis) + findings_text(ev.index, ev.code, ev.pefa, rules, ev.previous)


def _delta(d, unit: str) -> str:
    """「上升 1.23 分」/「下降 …」/「持平」 (below 0.005)/「—」 (missing) for a change in the table."""
    if d is None or pd.isna(d):
        return "—"
    return change(d, f" {abs(d):.2f} {unit}", "上升", "下降", flat_below=0.005)


def year_over_year_table(ev: StreetEvaluation) -> pd.DataFrame | None:
    """The year-over-year table as shown (view ``fiscal.year_over_year``): ``item``, ``year_<Y0>``,
    ``year_<Y1>`` and ``change`` as text (index with 2 decimals, rank as 「r/n」, rates in %), from
    :meth:`perflib.analysis.fiscal.StreetEvaluation.year_over_year`; None without an earlier evaluation."""
    yoy = ev.year_over_year()
    if yoy is None:
        return None
    y0, y1 = f"year_{ev.previous.year}", f"year_{ev.year}"
    rows = []
    for r in yoy.itertuples(index=False):
        if r.kind == "index":
            rows.append({"item": r.name, y0: score(r.previous, missing=MISSING), y1: score(r.current, missing=MISSING),
                         "change": _delta(r.change, "分")})
        elif r.kind == "rank":
            rows.append({"item": r.name, y0: f"{_rank(r.previous)}/{ev.previous.n_streets}",
                         y1: f"{_rank(r.current)}/{ev.index.n_streets}", "change": ""})
        else:
            rows.append({"item": r.name, y0: pct(r.previous, missing=MISSING), y1: pct(r.current, missing=MISSING),
                         "change": _delta(r.change * 100, "个百分点")})
    return pd.DataFrame(rows, columns=["item", y0, y1, "change"])


def pefa_table(scores: list[PefaScore]) -> pd.DataFrame:
    """The PEFA table as shown (view ``fiscal.pefa``): per year ``year_<Y>`` the measure with its grade
    (「93.14%（B）」, or 无数据), from :func:`perflib.analysis.fiscal.pefa_table`."""
    from ...analysis.fiscal import pefa_table as raw_pefa_table

    tab = raw_pefa_table(scores)
    out = tab[["code", "name"]].copy()
    for c in tab.columns:
        if c.startswith("ratio_"):
            y = c[len("ratio_"):]
            out[f"year_{y}"] = [("无数据" if pd.isna(v) else f"{pct(v)}（{g}）")
                                for v, g in zip(tab[c], tab[f"grade_{y}"])]
    out["overall"] = tab["overall"]
    return out


def year_over_year_text(ev: StreetEvaluation) -> str:
    """A sentence introducing the year-over-year table, or saying there is no earlier evaluation."""
    if ev.previous is None or not ev.previous.has(ev.code):
        return f"{ev.name}在{ev.year}年以前没有街道财政运行数据，无上年评价可比。"
    return (f"{ev.name}上一次评价为{ev.previous.year}年（当年参评街道{ev.previous.n_streets}个）。"
            f"下表比较两次评价的综合绩效指数、排名和各项指标取值；指标得分按各年参评街道分别标准化。")


def method_text(rules) -> str:
    """The methods applied, in Chinese, with every boundary stated (printed in the report)."""
    window, required = pefa_years(rules)
    mode = missing_mode(rules)
    missing = ("该指标权重按比例分配给其余有数据的指标（综合指数 = Σ 权重 × 得分 ÷ 有数据指标的权重之和）"
               if mode == "redistribute" else "该指标计 0 分（综合指数 = Σ 权重 × 得分 ÷ 全部权重之和）")
    return (
        f"参评街道：是否街道为“是”且当年有街道财政数据的全部街道。"
        f"指标标准化：在参评街道间按极差法换算为 0–100 分，越高越好的指标得分 = 100 ×（取值 − 最小值）÷（最大值 − 最小值），"
        f"越低越好的指标得分 = 100 ×（最大值 − 取值）÷（最大值 − 最小值），越接近 100% 越好的指标以 |取值 − 100%| 按越低越好计分；"
        f"各街道取值全部相同时均计 {rules.value('fiscal.equal_values_score'):g} 分。"
        f"指标缺失（无数据，或分母缺失、为 0）时，{missing}。排名按综合指数从高到低，并列者名次相同。"
        f"绩效目标覆盖率按当年、绩效自评覆盖率按上年度（当年开展的是上年度项目自评）计算，口径为街道及其下属单位的本级、非涉密、非特殊资金项目。"
        f"评价年度：报告年度及以前、决算已完成的最近一个年度——各参评街道均有一般公共预算收入和支出的决算数，"
        f"且该年度的支付数据已到 {int(rules.value('fiscal.final_outturn_month'))} 月（或数据中没有该年度的支付记录）。"
        f"PEFA 评分看评价年度及以前近 {window} 年：PI-1、PI-3.1 的比率落在区间内（含上下限）即达到该等级，"
        f"PI-2.1（按功能分类）、PI-2.2（按经济分类）的支出结构偏差须严格低于上限；"
        f"某等级在至少 {required} 年达到即评为该等级，否则为 D；缺数据的年度不计为达到；"
        f"数据中没有按经济分类的预算数和决算数时 PI-2.2 不适用。PI-2.3、PI-3.2 不评。"
        f"{DEBT_VETO_TEXT if debt_veto(rules) else ''}"
        f"指标得分低于 {rules.value('fiscal.weak_score'):g} 分列为问题，不低于 {rules.value('fiscal.strong_score'):g} 分列为优势"
        f"（仅限参评街道间取值有差异的指标）。"
    )


def overview_section(store, year: int, rules) -> tuple[str, dict, pd.DataFrame]:
    """Section 五 of the yearly 情况说明: the evaluated streets (all streets with 街道财政 data for Y)
    and their index, worded as the seed words it. Returns (paragraph, facts, ranking table); facts
    as :func:`perflib.analysis.fiscal.street_overview_facts` defines them."""
    year = int(year)
    fi, had_prev, basis = street_overview(store, year, rules)
    facts = street_overview_facts(fi)
    if fi.n_streets == 0:
        why = "".join(f"{y} 年支付数据只到 {d} 月、决算未完成；" if k == "running" else f"{y} 年部分街道缺少决算数；"
                      for y, k, d in basis.skipped)
        return (f"{why}{year} 年及以前暂无决算已完成的街道级财政运行数据，未开展街道级政府财政运行综合绩效评价。",
                facts, pd.DataFrame())
    e = fi.year
    ranked = fi.result.sort_values(["rank", "dept_name"], na_position="last")
    names = "、".join(fi.streets["dept_name"])
    vetoed = set(fi.vetoed)
    scores = "，".join(f"{r.dept_name} {score(r.index)} 分{'（一票否决）' if r.dept_name in vetoed else ''}"
                      for r in ranked.itertuples() if not pd.isna(r.index))
    prior = f"在总结 {e - 1} 年度街道级政府财政运行综合绩效评价工作的基础上，" if had_prev else ""
    count = f"（共 {fi.n_streets} 个街道）" if fi.n_streets > 1 else ""
    if e == year:
        text = f"{prior}选取{names}{count}开展 {year} 年街道级政府财政运行综合绩效评价工作。"
    else:
        text = (f"{prior}{year} 年选取{names}{count}开展街道级政府财政运行综合绩效评价工作，评价 {e} 年度"
                f"（{year} 年决算尚未完成，评价已完成决算的最近一个年度）。")
    if scores:
        text += f"{e} 年度综合绩效指数（满分 100 分）：{scores}。"
    if fi.vetoed:
        text += (f"{'、'.join(fi.vetoed)}年末有债务余额，街道不得举借债务（预算法第三十五条），"
                 "按规则一票否决、不参与排名。")
    text += CLOSING
    return text, facts, fi.ranking()
