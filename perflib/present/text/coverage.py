"""The coverage report's sentences (seed sections 二 and 三): drafted from the facts and frames of
:mod:`perflib.analysis.coverage`, numbers worded by :mod:`perflib.present.formats`."""
from __future__ import annotations

import pandas as pd

from ...analysis.coverage import QUALITY_LABELS
from ...analysis.years import holds_year
from ..formats import count_change, money_change, money_words, pct

NO_RATE = "—（无适用项目）"


def scope_name(store, dept: str | None, whole: str = "全区") -> str:
    """What a report covers: ``whole`` (the district) or the level-1 department's name."""
    if dept is None:
        return whole
    d = store.departments()
    hit = d.loc[d["dept_code"] == dept, "dept_name"]
    return str(hit.iloc[0]) if len(hit) else str(dept)


def _held(store, year: int, table: str, prev_count: int) -> bool:
    """Whether a comparison with ``year`` may be stated: the store holds that year's projects and
    ``table`` rows (without a store: only when the previous count is not 0, a missing year's mark)."""
    if store is None:
        return prev_count > 0
    return holds_year(store, year, "projects", table)


def coverage_text(facts: dict, year: int, scope: str = "全区", *, store=None) -> list[str]:
    """The report's paragraphs for sections 二 and 三, drafted from
    :func:`perflib.analysis.coverage.coverage_facts`. A comparison with a year the store does not
    hold is not stated (the sentence says that year is not in the data)."""
    y = int(year)
    n, n_prev = facts["targets.projects"], facts["targets.projects_prev"]
    if _held(store, y - 1, "targets", n_prev):
        delta = count_change(n, n_prev)
        delta = f"，比上年{delta} 个" if delta != "持平" else "，与上年持平"
        tail = ""
    else:
        delta, tail = "", f"（{y - 1} 年的项目绩效目标不在数据中，无法与上年比较）"
    p1 = (f"{y} 年{scope}编制部门预算绩效目标 {n} 个{delta}，涉及资金 {money_words(facts['targets.amount'])}{tail}。"
          f"纳入绩效目标管理范围（本级资金，不含涉密和特殊资金）的项目绩效目标覆盖率按项目数为 "
          f"{pct(facts['targets.coverage_count'], missing=NO_RATE)}，按金额为 "
          f"{pct(facts['targets.coverage_amount'], missing=NO_RATE)}。")
    l1, wt = facts["departments.level1"], facts["departments.with_targets"]
    if l1 and wt == l1:
        p2 = f"{l1} 家一级预算部门全部编制了 {y} 年部门整体绩效目标，实现了部门整体绩效管理全覆盖。"
    else:
        p2 = f"{l1} 家一级预算部门中 {wt} 家编制了 {y} 年部门整体绩效目标，{l1 - wt} 家尚未编制。"
    sp, sp_prev = facts["selfeval.projects"], facts["selfeval.projects_prev"]
    sa, sa_prev = facts["selfeval.amount"], facts["selfeval.amount_prev"]
    dp = count_change(sp, sp_prev)
    da = money_change(sa, sa_prev)
    p3 = f"{y} 年对 {y - 1} 年度项目支出开展绩效自评，涉及项目支出 {sp} 个，绩效自评资金 {money_words(sa)}"
    if _held(store, y - 2, "self_evaluations", sp_prev):
        p3 += (f"，比上年{'项目支出' + dp + ' 个' if dp != '持平' else '项目支出持平'}，"
               f"绩效自评资金{da if da != '持平' else '持平'}。")
    else:
        p3 += f"（{y - 2} 年度的绩效自评不在数据中，无法与上年比较）。"
    return [p1, p2, p3]


def quality_text(quality: pd.DataFrame, frame: pd.DataFrame, dept_targets: pd.DataFrame | None = None) -> str:
    """Sentences on target quality: how many projects with targets have each problem, and how many
    indicators (project-level, and department-level from ``dept_targets``) have no target value
    and so cannot be measured."""
    n = int(frame["has_target"].sum())
    dept_n = int(dept_targets["n_unmeasurable"].sum()) if dept_targets is not None else 0
    dept_line = ""
    if dept_n:
        k = int((dept_targets["n_unmeasurable"] > 0).sum())
        dept_line = f"部门整体绩效目标中，{k} 家部门的 {dept_n} 个指标未填指标值，无法衡量是否完成。"
    if n == 0:
        return "本年度没有编制项目绩效目标的项目，未做目标质量检查。" + dept_line
    if quality.empty:
        return (f"已编制绩效目标的 {n} 个项目均有产出和效益指标、有定量指标，定量指标值未照搬上年，"
                "且各指标均填写了指标值。" + dept_line)
    parts = []
    for label in QUALITY_LABELS:
        k = int(quality["problems"].str.contains(label, regex=False).sum())
        if k:
            parts.append(f"{label} {k} 个")
    text = f"已编制绩效目标的 {n} 个项目中，{len(quality)} 个存在目标质量问题：" + "，".join(parts) + "。"
    unmeasurable = int(quality["n_unmeasurable"].sum())
    if unmeasurable:
        text += f"项目绩效目标中共有 {unmeasurable} 个指标未填指标值，无法衡量是否完成。"
    return text + dept_line


def breaks_text(breaks: pd.DataFrame) -> str:
    """One sentence counting what breaks full coverage, by reason."""
    if breaks.empty:
        return "项目绩效目标、部门整体绩效目标和绩效自评均已实现全覆盖。"
    counts = breaks.groupby("reason", sort=False).size()
    return "尚未实现全覆盖：" + "；".join(f"{r} {int(k)} 项" for r, k in counts.items()) + "。"


def selfeval_scope_paragraph(scope: pd.DataFrame, fiscal_year: int) -> str:
    """Self-evaluated, of which with targets, of which recomputable — one sentence, the same in the
    coverage and the evaluation report (:func:`perflib.analysis.coverage.selfeval_scope`)."""
    fy = int(fiscal_year)
    n, wt, rc = (int(x) for x in scope["projects"])
    a, a_wt, a_rc = (float(x) for x in scope["amount"])
    if n == 0:
        return f"数据中没有{fy}年度项目的绩效自评记录。"
    text = (f"{fy}年度开展绩效自评的项目{n}个，涉及资金{money_words(a)}；其中编制了项目绩效目标的{wt}个"
            f"（占{pct(wt / n)}），涉及资金{money_words(a_wt)}；这些项目中有可复核的绩效指标、"
            f"自评得分可按指标完成情况重新计算的{rc}个，涉及资金{money_words(a_rc)}。")
    if n > wt:
        text += f"其余{n - wt}个自评项目没有项目绩效目标，自评得分无法对照目标复核。"
    return text
