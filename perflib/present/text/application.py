"""结果应用 (issue 17) in words and tables: what the next year's 年初预算 did to the projects each
stage flagged (:mod:`perflib.analysis.application`), for the evaluation report and the overview."""
from __future__ import annotations

import pandas as pd

from ...analysis import application as ap
from ..formats import money_words, pct

STAGE_NAMES = {ap.SELFEVAL: "绩效自评", ap.MONITORING: "执行监控", ap.KEYEVAL: "财政重点评价",
               ap.COST: "成本分析"}
SOURCE_NAMES = {"next_budgets": "下年预算表", "projects": "项目表", ap.SOURCE_KEYEVAL: "重点评价安排数"}
NEEDS = ("需要「下年预算」表（项目编码、年度、下年预算数、新增或延续），或项目表中下一年度的项目及其年初预算数；"
         "重点评价另可用其「下年度安排数」。")


def stage_names(app: ap.Application, rules) -> dict[str, str]:
    """Each stage's flag in words, with its years and thresholds (from the rules)."""
    (fy, fn) = app.years[ap.SELFEVAL]
    y, n = app.years[ap.MONITORING]
    grades = "、".join(rules.value("application.selfeval_grades"))
    share = pct(rules.value("application.monitoring_unspent_share"), 0)
    month = f"截至{app.as_of_month}月底" if app.as_of_month else "（无完整监控月份）"
    return {ap.SELFEVAL: f"{fy}年度绩效自评复核为{grades}（对照{fn}年预算）",
            ap.MONITORING: f"{y}年执行监控{month}红色预警且预计结转结余不低于预算数{share}（对照{n}年预算）",
            ap.KEYEVAL: f"{y}年财政重点评价（按等级，对照{n}年预算）",
            ap.COST: f"{y}年单位成本高于支出标准（对照{n}年预算）"}


def summary_table(app: ap.Application) -> pd.DataFrame:
    """The per-stage summary with the stage's Chinese name and the group (「合计」 on a stage total)."""
    s = app.summary.copy()
    s.insert(0, "stage_name", s["stage"].map(STAGE_NAMES))
    s["group"] = s["group"].astype(object).where(s["group"].notna(), "合计")
    return s.drop(columns=["stage"])


def projects_table(app: ap.Application) -> pd.DataFrame:
    """The per-project frame with the stage's and the source's Chinese names."""
    p = app.projects.copy()
    p.insert(0, "stage_name", p["stage"].map(STAGE_NAMES))
    p["next_source"] = p["next_source"].map(SOURCE_NAMES)
    return p.drop(columns=["stage"])


def _stage_clause(r, name: str) -> str:
    if not r.projects:
        return f"{name}：无此类项目"
    text = f"{name}：{r.projects}个项目，本年年初预算{money_words(r.budget)}"
    if not r.with_next:
        return text + "，数据中均无下一年度预算"
    part = "" if r.with_next == r.projects else f"其中{r.with_next}个有下一年度预算，"
    moved = (f"较本年{'减少' if r.change < 0 else '增加'}{money_words(abs(r.change))}（{pct(abs(r.change_rate))}）"
             if round(r.change, 2) else "与本年持平")
    return (text + f"；{part}下年安排{money_words(r.next_budget)}，{moved}，"
            f"{r.cut_projects}个压减，{r.matched}个符合规则建议")


def application_paragraph(app: ap.Application, rules) -> str:
    """The evaluation report's 结果应用 paragraph: per stage the flagged projects, this and next
    year's money, the change and how many follow the rules' suggestion; says which data are needed
    when no flagged project has a next-year budget."""
    names = stage_names(app, rules)
    totals = app.summary[app.summary["group"].isna()]
    text = "；".join(_stage_clause(r, names[r.stage]) for r in totals.itertuples(index=False)) + "。"
    missing = [STAGE_NAMES[r.stage] for r in totals.itertuples(index=False) if r.projects and not r.with_next]
    if missing:
        text += (f"{'、'.join(missing)}发现的项目在数据中没有下一年度的预算，无法判断其结果是否应用到预算安排，"
                 + NEEDS)
    return text


def overview_sentence(facts: dict, year: int) -> str:
    """The overview's sentence: per stage the flagged projects and the actual change next year
    (``application.*`` facts)."""
    parts = []
    for stage in ap.STAGES:
        n = facts.get(f"application.{stage}.projects") or 0
        if not n:
            continue
        change = facts.get(f"application.{stage}.change")
        if change is None:
            parts.append(f"{STAGE_NAMES[stage]}发现的{n}个项目数据中尚无下一年度预算")
            continue
        moved = (f"合计{'减少' if change < 0 else '增加'}{money_words(abs(change))}" if round(change, 2)
                 else "合计与本年持平")
        who = "的" if stage == ap.KEYEVAL else "发现的"
        with_next = facts.get(f"application.{stage}.with_next")
        held = f"{with_next}个有下一年度预算，其中" if with_next is not None and with_next < n else ""
        parts.append(f"{STAGE_NAMES[stage]}{who}{n}个项目中{held}{facts[f'application.{stage}.cut_projects']}个"
                     f"下年预算压减、{moved}，"
                     f"{facts[f'application.{stage}.matched']}个符合规则建议")
    if not parts:
        return ""
    return "各环节结果应用到下年预算：" + "；".join(parts) + "。详见评价报告「结果应用」一节。"
