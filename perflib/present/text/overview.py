"""Drafting the yearly 情况说明 (the seed report) from the data: one function per seed section 二–七.

Each ``section_N(store, year, rules)`` returns a :class:`Section`: a Chinese paragraph worded as the
seed words it, the SPEC facts its sentences state (money in 元, rates as fractions, gathered as
:mod:`perflib.analysis.overview` defines them) and any tables to show. The overview notebook only
displays them. Sections 一 (制度建设) and 八 (宣传与信息公开) have no data and are not drafted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ...analysis.application import application_facts, application_from_store
from ...analysis.coverage import coverage_facts, selfeval_projects
from ...analysis.evaluation import key_evaluation_totals, key_evaluations, self_evaluation, self_evaluation_summary
from ...analysis.monitoring import key_projects, last_complete_month, monitoring_facts
from ...analysis.overview import SELFEVAL_KEYS, TARGET_KEYS, rectification_overview_facts
from ...analysis.signals import signal_facts, signals_from_store
from ...analysis.years import holds_year
from ...schema import BUDGET_KINDS
from ..formats import change, money_change, money_words, name_list, pct, wan
from .. import names
from ..scopes import PAGE_SOURCES
from . import application as application_text
from . import cost as cost_text
from . import evaluation as evaluation_text
from . import fiscal as fiscal_text
from . import rectification as rectification_text
from . import signals as signals_text

DISTRICT_FALLBACK = names.DISTRICT_FALLBACK


@dataclass
class SectionTable:
    title: str
    frame: pd.DataFrame
    sheet: str | None = None
    columns: str | None = None  # the view of perflib.present.labels that shows the frame


@dataclass
class Section:
    """One drafted section: its paragraph(s), the facts they state, tables to show."""

    key: str
    heading: str
    text: str
    facts: dict[str, Any] = field(default_factory=dict)
    tables: list[SectionTable] = field(default_factory=list)


def district_name(store, rules=None) -> str:
    """The district's name: rules ``report.district``, else the data, else 「本区」 (:mod:`perflib.present.names`)."""
    return names.district_name(store, rules)


def title(store, year: int, rules=None) -> str:
    return f"{district_name(store, rules)} {int(year)} 年预算绩效管理工作开展情况说明"


def introduction(store, year: int, rules=None) -> str:
    """The opening sentence (the as-of date comes from the data; the bureau named when the rules
    or the data name it)."""
    as_of = store.last_payment_date(int(year))
    tail = f"（支出数据截至 {as_of.year} 年 {as_of.month} 月 {as_of.day} 日）" if as_of is not None else ""
    bureau = names.bureau_name(store, rules)
    who = "" if bureau.startswith(DISTRICT_FALLBACK) else bureau
    return (f"{who}根据预算管理系统导出数据，现将 {int(year)} 年预算绩效管理工作开展情况说明如下{tail}。"
            + PAGE_SOURCES)


# Where the page says its figures' scope and rules are; the Word document has neither block and says
# instead where they are (perflib.present.docx).


# --- sections ------------------------------------------------------------------------------------
def section_2(store, year: int, rules) -> Section:
    """二、绩效目标全覆盖: project targets of Y vs Y−1, their funds, coverage of eligible projects,
    and department-level targets of the level-1 departments."""
    f = coverage_facts(store, int(year), rules)
    facts = {k: f[k] for k in TARGET_KEYS}
    y = int(year)
    n, prev = facts["targets.projects"], facts["targets.projects_prev"]
    amount = money_words(facts["targets.amount"])
    if holds_year(store, y - 1, "projects", "targets"):
        s1 = f"{y} 年全区编制部门预算绩效目标 {n} 个，比上年{change(n - prev, f' {abs(n - prev)} 个')}，涉及资金 {amount}。"
    else:
        s1 = f"{y} 年全区编制部门预算绩效目标 {n} 个，涉及资金 {amount}（{y - 1} 年的项目绩效目标不在数据中，无法与上年比较）。"
    cc, ca = facts["targets.coverage_count"], facts["targets.coverage_amount"]
    if cc is None:
        s2 = "除涉密或特殊资金安排外，本年没有纳入绩效目标管理范围的本级项目。"
    elif cc >= 1 and (ca is None or ca >= 1):
        s2 = ("除涉密或特殊资金安排外，本级资金安排的项目全部编制了绩效目标（上级转移支付等非本级资金项目"
              "不在此口径内），随同部门预算一同批复，并将批复的绩效目标作为开展绩效监控、财政重点评价的依据。")
    else:
        s2 = (f"除涉密或特殊资金安排外，纳入绩效目标管理范围的本级项目中，编制绩效目标的项目按个数占 "
              f"{pct(cc)}，按资金占 {pct(ca)}，尚未实现全覆盖。")
    lv, wt = facts["departments.level1"], facts["departments.with_targets"]
    if lv and wt == lv:
        s3 = (f"{y} 年将全区 {lv} 家一级预算部门全部纳入部门整体绩效管理，并编制了 {y} 年部门整体绩效目标，"
              "实现了部门整体绩效管理的全覆盖。")
    elif lv:
        s3 = (f"全区 {lv} 家一级预算部门中，{wt} 家编制了 {y} 年部门整体绩效目标，"
              f"覆盖率 {pct(wt / lv)}，尚有 {lv - wt} 家未编制。")
    else:
        s3 = "数据中没有一级预算部门。"
    return Section("2", "二、绩效目标全覆盖", s1 + s2 + s3, facts)


def section_3(store, year: int, rules) -> Section:
    """三、绩效自评全覆盖: self-evaluation carried out in Y of fiscal year Y−1, against the year before."""
    f = coverage_facts(store, int(year), rules)
    facts = {k: f[k] for k in SELFEVAL_KEYS}
    y = int(year)
    n, amt = facts["selfeval.projects"], facts["selfeval.amount"]
    dn = n - facts["selfeval.projects_prev"]
    evaluated = selfeval_projects(store, y - 1)
    kinds = [k for k in evaluated.loc[evaluated["evaluated"], "budget_kind"].dropna().unique()]
    kinds = [k for k in BUDGET_KINDS if k in kinds] + [k for k in kinds if k not in BUDGET_KINDS]
    if n == 0:
        return Section("3", "三、绩效自评全覆盖", f"数据中没有 {y - 1} 年度项目的绩效自评记录。", facts)
    if len(kinds) == len(BUDGET_KINDS):
        cover = "涵盖一般公共预算、政府性基金预算、国有资本经营预算和社会保险基金预算四本预算。"
    else:
        cover = f"涵盖{'、'.join(kinds)}。"
    head = f"{cover}今年对 {y - 1} 年度的项目支出开展了绩效自评。涉及项目支出 {n} 个，绩效自评资金 {money_words(amt)}"
    if holds_year(store, y - 2, "projects", "self_evaluations"):
        text = (f"{head}，比上年{change(dn, f'项目支出 {abs(dn)} 个')}，"
                f"绩效自评资金{money_change(amt, facts['selfeval.amount_prev'])}。")
    else:
        text = f"{head}（{y - 2} 年度的绩效自评不在数据中，无法与上年比较）。"
    # the quality of those self-evaluations: scores recomputed from the indicators (evaluation module)
    scored = self_evaluation(store, y, rules)
    facts.update(self_evaluation_summary(scored))
    text += evaluation_text.self_evaluation_paragraph(scored, y, rules)
    return Section("3", "三、绩效自评全覆盖", text, facts)


def section_4(store, year: int, rules) -> Section:
    """四、强化财政重点评价结果应用: the key evaluations of Y (domains, projects, funds) and the cut
    of the Y+1 budgets they led to, drafted by :mod:`perflib.present.text.evaluation` (keyeval.* facts)."""
    from ...analysis.evaluation import budget_application_table

    key = key_evaluations(store, int(year), rules)
    facts = key_evaluation_totals(key)
    tables = []
    if len(key):
        tables.append(SectionTable("重点评价结果应用", budget_application_table(key), "重点评价结果应用",
                                   "evaluation.budget_application"))
    text = evaluation_text.key_evaluation_paragraph(key, int(year))
    rect = rectification_overview_facts(store, int(year))
    if rect:
        facts.update(rect)
        text += rectification_text.overview_sentence(rect, int(year))
    # the conflicting signals (the evaluation report's 信号冲突): stated in the section, so the Word
    # document built from the sections says them as the page does
    conflicts, conflict_month = signals_from_store(store, int(year), rules)
    facts.update(signal_facts(conflicts))
    text += "\n\n" + signals_text.overview_summary(conflicts, int(year), conflict_month, rules)
    # every stage traced into the next year's budget (the evaluation report's 结果应用)
    app_facts = application_facts(application_from_store(store, int(year), rules).summary)
    facts.update(app_facts)
    sentence = application_text.overview_sentence(app_facts, int(year))
    if sentence:
        text += "\n\n" + sentence
    return Section("4", "四、强化财政重点评价结果应用", text, facts, tables)


def section_5(store, year: int, rules) -> Section:
    """五、开展财政运行综合绩效评价工作: the evaluated streets (every street with 街道财政 data for Y)
    and their composite index, drafted by :func:`perflib.present.text.fiscal.overview_section` (fiscal.* facts)."""
    text, facts, ranking = fiscal_text.overview_section(store, int(year), rules)
    tables = [SectionTable("街道财政运行综合绩效指数", ranking, "街道财政运行评价", "fiscal.ranking")] if len(ranking) else []
    return Section("5", "五、开展财政运行综合绩效评价工作", text, facts, tables)


def section_6(store, year: int, rules, as_of_month: int | None = None) -> Section:
    """六、项目支出绩效运行监控: projects, funds, spending to the end of ``as_of_month`` (default: the
    last complete month, :func:`~perflib.analysis.monitoring.last_complete_month`), execution rate, warning bands and the key monitored projects."""
    y = int(year)
    m = as_of_month if as_of_month is not None else last_complete_month(store, y, rules)
    if m is None:
        return Section("6", f"六、开展 {y} 年项目支出绩效运行监控工作",
                       f"数据中没有 {y} 年完整月份的支付记录，无法开展执行监控测算。")
    facts = monitoring_facts(store, y, int(m), rules)
    text = (f"{y} 年区级项目支出绩效跟踪监控工作，涉及项目支出 {facts['monitoring.projects']} 个，"
            f"资金规模为 {wan(facts['monitoring.budget'])} 万元，1-{m} 月底实现支出 "
            f"{wan(facts['monitoring.spent'])} 万元，执行率为 {pct(facts['monitoring.execution_rate'])}。"
            f"按执行率与时间进度（{pct(facts['monitoring.time_progress'])}）之差预警，"
            f"绿色 {facts['monitoring.green']} 个、黄色 {facts['monitoring.yellow']} 个、"
            f"红色 {facts['monitoring.red']} 个。")
    by_source = facts.get("monitoring.by_source") or {}
    if len(by_source) > 1:  # the seed's 六 names the sources the monitored money comes from
        text += "按资金来源分，" + "，".join(
            f"{src} {v['projects']} 个项目、资金 {wan(v['budget'])} 万元、支出 {wan(v['spent'])} 万元"
            for src, v in by_source.items()) + "。"
    keys = key_projects(store, y)
    k = facts["monitoring.key_projects"]
    if k:
        text += (f"\n\n在各预算单位绩效监控的基础上，选取了 {name_list(list(keys['project_name']))} "
                 f"{k} 个项目开展财政重点绩效监控工作，涉及项目资金 {wan(facts['monitoring.key_amount'])} 万元。")
    else:
        text += "\n\n本年数据中没有标记为重点监控的项目。"
    tables = []
    if len(keys):
        tables.append(SectionTable("重点监控项目", keys, "重点监控项目", "overview.key_projects"))
    return Section("6", f"六、开展 {y} 年项目支出绩效运行监控工作", text, facts, tables)


def section_7(store, year: int, rules) -> Section:
    """七、成本预算绩效管理: expenditure standards of the cost pilots, the savings they would give
    (测算可压减) and the actual cut where next year's budgets are in the data
    (``perflib.present.text.cost.overview_section``: cost.standards, cost.savings_total, cost.actual_cut_total)."""
    text, facts, table = cost_text.overview_section(store, int(year), rules)
    tables = [SectionTable("分领域支出标准、测算可压减与实际压减", table, "支出标准", "cost.types")] if len(table) else []
    return Section("7", "七、全面实施成本预算绩效管理工作", text, facts, tables)


OUT_OF_SCOPE = ("一（制度体系建设）和八（宣传与绩效信息公开）的内容不在预算管理系统导出数据的范围内，"
                "本说明不作测算，由业务科室另行补充。")

SECTIONS = (section_2, section_3, section_4, section_5, section_6, section_7)


def draft(store, year: int, rules) -> list[Section]:
    """Every drafted section, in the seed's order."""
    return [s(store, year, rules) for s in SECTIONS]
