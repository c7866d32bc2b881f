"""事前绩效评估 (ex-ante assessment): new projects above the rules' threshold without an assessment,
and each assessment's conclusion against what was funded (中发〔2018〕34号; rules ``ex_ante``).

Definitions, for budget year Y (the report's year):

* new project (新增): a non-classified project of year Y marked 新增 in the 下年预算 table for Y;
  where that table does not mark it, one whose 项目编码 appears in no earlier year of the project
  table; when the project table has no earlier year either, new-ness is unknown and no project is
  listed (``basis`` says which rule applied);
* funded = the project's 年初预算数 of year Y (0 when the assessed project is not in the project table);
* missing (``ex_ante.missing``): new projects with 年初预算数 ≥ ``ex_ante.amount_threshold`` and no row
  in 事前评估 for Y;
* mismatch: 不支持 but funded (> 0), or 调整后支持 funded above the suggested amount (建议安排数).
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .coverage import _restrict

NEW, CONTINUING = "新增", "延续"
BASIS_NEXT, BASIS_HISTORY, BASIS_MIXED = "next_budgets", "history", "mixed"
CONSISTENT = "一致"
REJECTED_FUNDED = "不支持仍安排"
ABOVE_SUGGESTED = "超过建议安排数"
NO_SUGGESTION = "未填建议安排数"
NOT_FUNDED = "未安排预算"
MISMATCHES = (REJECTED_FUNDED, ABOVE_SUGGESTED)


@dataclass
class ExAnteReview:
    """The ex-ante section's frames for one year (and optionally one level-1 department)."""

    year: int
    threshold: float
    basis: str                     # BASIS_* or "" when new-ness cannot be told
    new_projects: pd.DataFrame     # every new project of the year, with ``above`` and ``assessed``
    missing: pd.DataFrame          # new projects above the threshold without an assessment
    assessments: pd.DataFrame      # every assessment of the year with ``funded`` and ``check``
    has_table: bool                # the 事前评估 table holds any row at all

    @property
    def mismatches(self) -> pd.DataFrame:
        return self.assessments[self.assessments["check"].isin(MISMATCHES)].reset_index(drop=True)


def new_project_flags(store, year: int) -> tuple[pd.Series, str]:
    """{project_id → True/False (新增)} for the projects of ``year`` and the basis used."""
    year = int(year)
    projects = store.projects(year)
    marks = store.table("next_budgets", year)
    marks = marks[marks["new_or_continuing"].notna()]
    marked = dict(zip(marks["project_id"], marks["new_or_continuing"] == NEW))
    earlier_years = [y for y in store.years() if y < year]
    earlier = set(store.projects(earlier_years)["project_id"]) if earlier_years else set()
    flags, used = {}, set()
    for pid in projects["project_id"]:
        if pid in marked:
            flags[pid] = bool(marked[pid])
            used.add(BASIS_NEXT)
        elif earlier_years:
            flags[pid] = pid not in earlier
            used.add(BASIS_HISTORY)
    basis = used.pop() if len(used) == 1 else (BASIS_MIXED if used else "")
    return pd.Series(flags, dtype=bool), basis


def review(store, year: int, rules, dept: str | None = None) -> ExAnteReview:
    """New projects, missing assessments and conclusion-vs-funding checks for ``year``."""
    year = int(year)
    threshold = float(rules.value("ex_ante.amount_threshold"))
    all_projects = store.projects(year)
    classified = set(all_projects.loc[all_projects["is_classified"], "project_id"])
    projects = _restrict(all_projects[~all_projects["is_classified"]], dept).reset_index(drop=True)
    flags, basis = new_project_flags(store, year)
    table = store.table("ex_ante")
    ex = table[table["year"] == year]
    ex = ex[~ex["project_id"].isin(classified)]
    cols = ["project_id", "project_name", "dept_code", "dept_name", "level1_code", "level1_name",
            "budget_amount"]
    is_new = projects["project_id"].map(lambda pid: bool(flags.get(pid, False)))
    new = projects[is_new.astype(bool)][cols].copy()
    new["above"] = new["budget_amount"].astype(float) >= threshold
    new["assessed"] = new["project_id"].isin(set(ex["project_id"]))
    new = new.merge(ex[["project_id", "conclusion"]], on="project_id", how="left")
    missing = new[new["above"] & ~new["assessed"]].sort_values(
        ["budget_amount", "project_id"], ascending=[False, True]).reset_index(drop=True)
    a = ex.merge(projects[cols], on="project_id", how="left" if dept is None else "inner")
    a["funded"] = a["budget_amount"].astype(float).fillna(0.0)
    a["check"] = [_check(c, s, f, known) for c, s, f, known in
                  zip(a["conclusion"], a["suggested_amount"], a["funded"], a["budget_amount"].notna())]
    a["excess"] = [f - float(s) if ch == ABOVE_SUGGESTED else (f if ch == REJECTED_FUNDED else 0.0)
                   for ch, s, f in zip(a["check"], a["suggested_amount"], a["funded"])]
    order = ["project_id", "project_name", "level1_code", "level1_name", "assess_date", "assessor",
             "conclusion", "suggested_amount", "funded", "check", "excess"]
    a = a[order].sort_values(["check", "project_id"], key=lambda s: s.map(_check_order) if s.name == "check" else s)
    return ExAnteReview(year, threshold, basis, new.reset_index(drop=True), missing, a.reset_index(drop=True),
                        has_table=len(table) > 0)


def _check_order(check: str) -> int:
    return {REJECTED_FUNDED: 0, ABOVE_SUGGESTED: 1, NO_SUGGESTION: 2, NOT_FUNDED: 3, CONSISTENT: 4}.get(check, 5)


def _check(conclusion: str, suggested, funded: float, in_budget: bool) -> str:
    """One assessment's conclusion against what was funded (see the module docstring)."""
    if conclusion == "不支持":
        return REJECTED_FUNDED if funded > 0 else CONSISTENT
    if not in_budget or funded <= 0:
        return NOT_FUNDED
    if conclusion == "调整后支持":
        if suggested is None or pd.isna(suggested):
            return NO_SUGGESTION
        return ABOVE_SUGGESTED if funded > float(suggested) + 0.005 else CONSISTENT
    return CONSISTENT


def ex_ante_facts(r: ExAnteReview) -> dict:
    """``ex_ante.new_projects`` (new projects at or above the threshold), ``ex_ante.missing`` (of
    those, without an assessment) and ``ex_ante.mismatch`` (assessments whose conclusion the funding
    departs from); None where the data cannot tell (no 事前评估 rows, or new-ness unknown)."""
    known = bool(r.basis)
    return {
        "ex_ante.new_projects": int(r.new_projects["above"].sum()) if known else None,
        "ex_ante.missing": int(len(r.missing)) if known and r.has_table else None,
        "ex_ante.mismatch": int(len(r.mismatches)) if r.has_table else None,
    }


def conclusion_summary(r: ExAnteReview) -> pd.DataFrame:
    """Assessments per conclusion: count, suggested and funded amounts, and mismatches."""
    a = r.assessments
    if a.empty:
        return pd.DataFrame(columns=["conclusion", "projects", "suggested_amount", "funded", "mismatch"])
    out = a.assign(_n=1, _m=a["check"].isin(MISMATCHES).astype(int)).groupby("conclusion").agg(
        projects=("_n", "sum"), suggested_amount=("suggested_amount", lambda v: v.sum(min_count=1)), funded=("funded", "sum"),
        mismatch=("_m", "sum")).reset_index()
    order = {"支持": 0, "调整后支持": 1, "不支持": 2}
    return out.sort_values("conclusion", key=lambda s: s.map(order)).reset_index(drop=True)
