"""信号冲突 (conflicting signals): projects whose evaluation says one thing and whose money says
another, each row with both figures and the next year's budget decision.

Kinds (thresholds from the rules file; every comparison stated as inclusive or strict):

* **key evaluation good, execution slow** (:data:`KIND_KEY_SLOW`): a key evaluation of year Y graded
  in ``key_evaluation.conflict_grades`` (default 优, 良) whose project is red in the monitoring of
  Y (:func:`perflib.analysis.monitoring.project_execution`) or whose projected year-end unspent
  balance (:func:`perflib.analysis.monitoring.year_end_projection`) is ≥
  ``key_evaluation.conflict_unspent_share`` of its budget (inclusive). Decision: the key
  evaluation's 下年度申请数 / 安排数 (for Y+1).
* **self-evaluation 优, low execution** (:data:`KIND_SELF_LOW_EXEC`): a self-evaluation of fiscal
  year Y−1 whose reported score is graded 优 (``grades.excellent``) while its full-year execution
  rate is < ``self_evaluation.conflict_low_execution`` (strictly). Decision: the project's
  年初预算数 of Y (no 申请数 in the data for it).
* **cost above standard, self-evaluation full marks** (:data:`KIND_COST_FULL`): a project-year of
  Y−1 whose unit cost is above its type's expenditure standard of Y−1
  (:func:`perflib.analysis.cost.analyse_type`, strictly above) and whose self-evaluation of Y−1
  reports ≥ ``self_evaluation.full_marks_min``. Decision: as for the previous kind.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import cost as cost_analysis
from . import evaluation as ev
from . import monitoring as mon
from .coverage import resolve_dept
from .indicators import EPS_DIGITS

KIND_KEY_SLOW = "重点评价优良但执行偏慢"
KIND_SELF_LOW_EXEC = "自评为优但执行率偏低"
KIND_COST_FULL = "成本高于支出标准但自评满分"
KINDS = (KIND_KEY_SLOW, KIND_SELF_LOW_EXEC, KIND_COST_FULL)
FACT_NAMES = {KIND_KEY_SLOW: "signals.key_slow", KIND_SELF_LOW_EXEC: "signals.selfeval_low_execution",
              KIND_COST_FULL: "signals.cost_full_marks"}

COLUMNS = ["kind", "project_id", "project_name", "level1_name", "evaluation_year", "score", "grade",
           "budget", "execution_rate", "band", "as_of_month", "projected_unspent", "unspent_share",
           "unit_cost", "standard", "project_type", "decision_year", "next_request", "next_approved"]


def _frame(rows: pd.DataFrame, **values) -> pd.DataFrame:
    out = rows.assign(**values)
    for c in COLUMNS:
        if c not in out:
            out[c] = np.nan
    return out[COLUMNS].reset_index(drop=True)


def key_slow(key: pd.DataFrame, projection: pd.DataFrame | None, year: int, as_of_month: int | None,
             rules) -> pd.DataFrame:
    """Key evaluations of ``year`` graded well whose monitoring is red or whose projected unspent
    balance is large (``projection``: :func:`monitoring.year_end_projection` of ``year``)."""
    if projection is None or key.empty:
        return _frame(key.iloc[0:0])
    good = key[key["grade"].isin(rules.value("key_evaluation.conflict_grades"))]
    share_min = float(rules.value("key_evaluation.conflict_unspent_share"))
    mcols = ["project_id", "budget", "spent", "execution_rate", "band", "projected_unspent"]
    m = good.drop(columns=["budget"]).merge(projection[mcols], on="project_id", how="inner")
    m["unspent_share"] = m["projected_unspent"] / m["budget"].where(m["budget"] > 0)
    hit = (m["band"] == mon.RED) | (m["unspent_share"].round(EPS_DIGITS) >= share_min)
    m = m[hit]
    return _frame(m, kind=KIND_KEY_SLOW, evaluation_year=int(year), score=m["total_score"],
                  as_of_month=as_of_month, decision_year=int(year) + 1)


def _next_budget(rows: pd.DataFrame, next_projects: pd.DataFrame) -> pd.Series:
    """年初预算数 of the following year for each row's project (NaN when it has none)."""
    nb = next_projects.drop_duplicates("project_id").set_index("project_id")["budget_amount"]
    return rows["project_id"].map(nb).astype("float64")


def selfeval_low_execution(selfeval: pd.DataFrame, next_projects: pd.DataFrame, fiscal_year: int,
                           rules) -> pd.DataFrame:
    """Self-evaluations of ``fiscal_year`` reported 优 with an execution rate below the threshold
    (``selfeval``: ``SelfEvaluation.projects``; ``next_projects``: projects of the next year)."""
    low = float(rules.value("self_evaluation.conflict_low_execution"))
    excellent = float(rules.value("grades.excellent"))
    rate = selfeval["execution_rate"].round(EPS_DIGITS)
    m = selfeval[(selfeval["reported_score"] >= excellent) & rate.notna() & (rate < low)]
    return _frame(m, kind=KIND_SELF_LOW_EXEC, evaluation_year=int(fiscal_year), score=m["reported_score"],
                  grade=m["reported_grade"], decision_year=int(fiscal_year) + 1,
                  next_approved=_next_budget(m, next_projects))


def cost_full_marks(cost_rows: pd.DataFrame, selfeval: pd.DataFrame, next_projects: pd.DataFrame,
                    fiscal_year: int, rules) -> pd.DataFrame:
    """Project-years of ``fiscal_year`` above their expenditure standard whose self-evaluation has
    full marks (``cost_rows``: project_id, project_type, unit_cost, standard of that year)."""
    full = float(rules.value("self_evaluation.full_marks_min"))
    above = cost_rows[cost_rows["unit_cost"].round(EPS_DIGITS) > cost_rows["standard"].round(EPS_DIGITS)]
    se = selfeval[selfeval["reported_score"] >= full]
    se_cols = ["project_id", "project_name", "level1_name", "reported_score", "reported_grade", "budget",
               "execution_rate"]
    m = above[["project_id", "project_type", "unit_cost", "standard"]].merge(se[se_cols], on="project_id")
    return _frame(m, kind=KIND_COST_FULL, evaluation_year=int(fiscal_year), score=m["reported_score"],
                  grade=m["reported_grade"], decision_year=int(fiscal_year) + 1,
                  next_approved=_next_budget(m, next_projects))


def conflicting_signals(key: pd.DataFrame, projection: pd.DataFrame | None, as_of_month: int | None,
                        selfeval: pd.DataFrame, cost_rows: pd.DataFrame, next_projects: pd.DataFrame,
                        year: int, rules) -> pd.DataFrame:
    """Every conflict of the three kinds for the report of ``year`` (key evaluations and monitoring
    of Y; self-evaluations and costs of Y−1; ``next_projects``: projects of Y), kinds in order,
    largest budget first within a kind."""
    parts = [key_slow(key, projection, year, as_of_month, rules),
             selfeval_low_execution(selfeval, next_projects, int(year) - 1, rules),
             cost_full_marks(cost_rows, selfeval, next_projects, int(year) - 1, rules)]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    order = {k: i for i, k in enumerate(KINDS)}
    out = out.assign(_k=out["kind"].map(order)).sort_values(["_k", "budget", "project_id"],
                                                            ascending=[True, False, True], kind="stable")
    return out.drop(columns="_k").reset_index(drop=True)


def cost_rows_above(analyses: dict) -> pd.DataFrame:
    """Project-years of each analysed type's own year with a unit cost and a standard
    (``analyses``: :func:`perflib.analysis.cost.analyse_all_types`)."""
    frames = []
    for t, a in analyses.items():
        if not a.has_standard:
            continue
        r = a.rows[(a.rows["year"] == a.year) & a.rows["unit_cost"].notna()]
        frames.append(pd.DataFrame({"project_id": r["project_id"], "project_type": t,
                                    "unit_cost": r["unit_cost"], "standard": a.standard}))
    cols = ["project_id", "project_type", "unit_cost", "standard"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def signals_from_store(store, year: int, rules, dept: str | None = None) -> tuple[pd.DataFrame, int | None]:
    """:func:`conflicting_signals` for the report of ``year`` read from a Store, and the monitoring
    month used (None when year Y has no payments: the first kind is then not checked)."""
    y = int(year)
    key = ev.key_evaluations(store, y, rules, dept)
    code = resolve_dept(store, dept)
    month = mon.last_complete_month(store, y, rules)  # the monitoring report's default month
    projection = None if month is None else mon.year_end_projection(store, y, month, rules, code)
    se = ev.self_evaluation(store, y, rules, dept).projects
    cost_rows = cost_rows_above(cost_analysis.analyse_all_types(store, y - 1, rules))
    frame = conflicting_signals(key, projection, month, se, cost_rows, store.projects(y), y, rules)
    return frame, month


def signal_facts(frame: pd.DataFrame) -> dict:
    """Projects per kind (fact names of :data:`FACT_NAMES`) and ``signals.key_slow_in_full``: of
    the first kind, those whose 安排数 equals (or exceeds) their 申请数 (nothing cut at review)."""
    out = {FACT_NAMES[k]: int((frame["kind"] == k).sum()) for k in KINDS}
    key = frame[frame["kind"] == KIND_KEY_SLOW]
    out["signals.key_slow_in_full"] = int((key["next_approved"].astype("float64").round(2)
                                           >= key["next_request"].astype("float64").round(2)).sum())
    return out
