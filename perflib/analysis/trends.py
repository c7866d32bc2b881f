"""The multi-year view (issue 19): the same figure for every year the store holds, because the seed
always states 比上年.

* execution at the same month of each year: for every year y ≤ Y that the store holds in both
  projects and payments and whose payments cover the month entirely
  (:func:`perflib.analysis.monitoring.month_complete`), the monitoring definitions of year y as of
  the end of that month (non-classified projects, budget = 调整后预算数 or 年初预算数, payments of
  year y dated up to the month's last day);
* targets: for every year y ≤ Y held in projects and targets, the coverage definitions of
  :func:`perflib.analysis.coverage.coverage_summary` (projects with project-level targets, their
  年初预算数, coverage by count and amount);
* self-evaluation: for every fiscal year fy ≤ Y − 1 held in projects and self_evaluations, the
  definitions of :func:`perflib.analysis.coverage.selfeval_summary` (evaluated projects, budget).

A year the store does not hold (or, for one department, a year in which it has no project, or no
self-evaluated project) is absent from the frame, never a row of zeros.
"""
from __future__ import annotations

import pandas as pd

from .coverage import _restrict, coverage_summary, project_targets, selfeval_projects, selfeval_summary
from .monitoring import BUDGET_COLUMNS, check_month, month_complete, spent_by_project, time_progress
from .years import years_held

def execution_years(store, year: int, as_of_month: int, rules) -> list[int]:
    """Years ≤ ``year`` with projects and payments whose payments cover ``as_of_month`` entirely."""
    m = check_month(as_of_month)
    export = store.payments_export_date()
    held = years_held(store, "projects") & years_held(store, "payments")
    return sorted(y for y in held if y <= int(year)
                  and month_complete(y, m, store.last_payment_date(y), export, rules))


def execution_by_year(store, year: int, as_of_month: int, rules, dept: str | None = None) -> pd.DataFrame:
    """One row per year of :func:`execution_years`: ``year``, ``projects``, ``budget``, ``spent``
    (to the end of ``as_of_month`` of that year), ``execution_rate`` (NaN for a zero budget),
    ``time_progress`` and ``gap``."""
    m = check_month(as_of_month)
    tp = time_progress(m, rules)
    rows = []
    for y in execution_years(store, year, m, rules):
        pr = store.projects(y, columns=BUDGET_COLUMNS)
        pr = _restrict(pr[["project_id", "level1_code", "budget"]][~pr["is_classified"]], dept)
        if pr.empty:  # the department held no project that year: absent, not zero
            continue
        spent = spent_by_project(store, y, m)
        # one row per project code in both (the store's keys): the projects' payments picked by code
        # rather than merged (a merge factorised a province's ~320,000 Arrow string codes per year)
        spent_fen = spent.loc[spent["project_id"].isin(pr["project_id"]), "spent_fen"]
        budget, spent_yuan = float(pr["budget"].sum()), float(spent_fen.fillna(0).sum()) / 100.0
        rate = spent_yuan / budget if budget else float("nan")
        rows.append({"year": y, "projects": int(len(pr)), "budget": budget, "spent": spent_yuan,
                     "execution_rate": rate, "time_progress": tp, "gap": rate - tp})
    cols = ["year", "projects", "budget", "spent", "execution_rate", "time_progress", "gap"]
    return pd.DataFrame(rows, columns=cols)


def targets_by_year(store, year: int, dept: str | None = None, rules=None) -> pd.DataFrame:
    """One row per year ≤ ``year`` held in projects and targets: ``year``, ``with_targets``,
    ``amount`` (their 年初预算数), ``eligible``, ``coverage_count``, ``coverage_amount``; eligible
    as in :func:`perflib.analysis.coverage.coverage_facts` with the same ``rules`` (the fund sources
    in scope), so that the year's row states the report's coverage."""
    held = years_held(store, "projects") & years_held(store, "targets")
    frames = []
    for y in sorted(y for y in held if y <= int(year)):
        s = coverage_summary(project_targets(store, y, dept, rules))
        if int(s["projects"].iloc[0]) == 0:
            continue
        s.insert(0, "year", y)
        frames.append(s)
    if not frames:
        return pd.DataFrame(columns=["year", "with_targets", "amount", "coverage_count", "coverage_amount"])
    return pd.concat(frames, ignore_index=True)


def selfeval_by_year(store, year: int, dept: str | None = None) -> pd.DataFrame:
    """One row per fiscal year ≤ ``year`` − 1 held in projects and self_evaluations:
    ``fiscal_year``, ``projects`` (evaluated), ``amount`` (their budget), ``required``,
    ``required_evaluated``, ``coverage``."""
    held = years_held(store, "projects") & years_held(store, "self_evaluations")
    frames = []
    for fy in sorted(y for y in held if y <= int(year) - 1):
        s = selfeval_summary(selfeval_projects(store, fy, dept))
        if int(s["projects"].iloc[0]) == 0:  # no self-evaluation of the unit that year
            continue
        s.insert(0, "fiscal_year", fy)
        frames.append(s)
    if not frames:
        return pd.DataFrame(columns=["fiscal_year", "projects", "amount", "required", "coverage"])
    return pd.concat(frames, ignore_index=True)


def trend_facts(execution: pd.DataFrame | None = None, targets: pd.DataFrame | None = None,
                selfeval: pd.DataFrame | None = None) -> dict:
    """The multi-year facts ({"2022": value, …}, years as strings for JSON) of the frames given."""
    out = {}

    def by_year(frame, key, col, digits=None):
        vals = {}
        for y, v in zip(frame[key], frame[col]):
            v = None if pd.isna(v) else (round(float(v), digits) if digits is not None else float(v))
            vals[str(int(y))] = v
        return vals

    if execution is not None:
        out["monitoring.execution_rate_by_year"] = by_year(execution, "year", "execution_rate")
    if targets is not None:
        out["targets.projects_by_year"] = {str(int(y)): int(v) for y, v in zip(targets["year"], targets["with_targets"])}
        out["targets.amount_by_year"] = by_year(targets, "year", "amount", 2)
    if selfeval is not None:
        out["selfeval.projects_by_year"] = {str(int(y)): int(v)
                                            for y, v in zip(selfeval["fiscal_year"], selfeval["projects"])}
        out["selfeval.amount_by_year"] = by_year(selfeval, "fiscal_year", "amount", 2)
    return out
