"""结果应用 (issue 17): what happened in the next year's 年初预算 to the projects each stage flagged.

Stages (the report of year Y; thresholds and suggested cut rates from the rules file):

* **self-evaluation** (``selfeval``): recomputed self-evaluations of fiscal year Y−1 (the latest
  self-evaluated year, evaluated in Y) whose 复核等级 is in ``application.selfeval_grades``
  (default 中, 差); this year = Y−1, next year = Y. Suggested cut by grade
  ``application.selfeval_suggested_cut`` (a minimum).
* **monitoring** (``monitoring``): monitored projects of Y red at the monitoring month
  (:func:`perflib.analysis.monitoring.last_complete_month`) whose projected unspent balance
  (:func:`perflib.analysis.monitoring.year_end_projection`) is ≥ ``application.monitoring_unspent_share``
  of their budget (inclusive); this year = Y, next year = Y+1. Suggested cut
  ``application.monitoring_suggested_cut`` (a minimum).
* **key evaluation** (``keyeval``): every key evaluation of Y, by grade; this year = Y, next = Y+1.
  The rules' suggested cut (``key_evaluation.suggested_cut``) is a rate of the 下年度申请数, so the
  decision is the key-evaluation section's own (审减率 against it,
  :func:`perflib.analysis.evaluation.score_key_evaluations`); the change against this year's
  年初预算数 is shown beside it.
* **cost** (``cost``): year-Y projects with outputs whose unit cost is strictly above their type's
  expenditure standard (测算可压减 > 0, :mod:`perflib.analysis.cost`); this year = Y, next = Y+1.
  Suggested cut = 测算可压减 ÷ 年初预算数 (a minimum).

Money this year = the project's 年初预算数 of that year; next year's money = its row of table
``next_budgets`` for the next year, else its 年初预算数 in ``projects`` of the next year, else (key
evaluations only) the evaluation's 下年度安排数. A project with none has no next-year budget in the
data: it is counted and listed (「下年无预算记录」) but left out of every next-year sum and change.
change = next − this (negative = cut); cut rate = −change ÷ this (NaN for a zero budget). For the
other stages the decision is 压减不足 when cut rate < suggested − tolerance (strictly,
``application.decision_tolerance``), else 符合建议 (their suggestions are minima).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import cost as cost_analysis
from . import evaluation as ev
from . import monitoring as mon
from .coverage import resolve_dept
from .indicators import EPS_DIGITS

SELFEVAL, MONITORING, KEYEVAL, COST = "selfeval", "monitoring", "keyeval", "cost"
STAGES = (SELFEVAL, MONITORING, KEYEVAL, COST)
GROUP_MONITORING = "红色预警且预计结余较大"   # shown to users
GROUP_COST = "单位成本高于支出标准"
DECISION_NO_NEXT = "下年无预算记录"
DECISION_NO_BUDGET = "本年无预算数"
DECISIONS = (ev.DECISION_OK, ev.DECISION_TOO_LITTLE, ev.DECISION_TOO_MUCH, ev.DECISION_NO_REQUEST,
             DECISION_NO_BUDGET, DECISION_NO_NEXT)
SOURCE_KEYEVAL = "key_evaluations"

PROJECT_COLUMNS = ["stage", "group", "project_id", "project_name", "level1_name", "year", "next_year",
                   "budget", "next_budget", "next_source", "change", "cut_rate", "suggested_cut_rate",
                   "floor", "decision", "matches"]
SUMMARY_COLUMNS = ["stage", "group", "projects", "with_next", "budget", "budget_with_next", "next_budget",
                   "change", "change_rate", "cut_projects", "suggested_cut", "matched", "departs"]
FLAG_COLUMNS = ["project_id", "group", "suggested_cut_rate", "floor"]


@dataclass
class Application:
    """``projects``: one row per flagged project and stage (:data:`PROJECT_COLUMNS`); ``summary``:
    per stage and group, then a stage total (group None); ``years``: stage → (this year, next year);
    ``as_of_month``: the monitoring month (None: the monitoring stage was not checked)."""

    projects: pd.DataFrame
    summary: pd.DataFrame
    years: dict
    as_of_month: int | None

    @property
    def has_next(self) -> bool:
        """Whether any flagged project has a next-year budget in the data."""
        return bool(self.projects["next_budget"].notna().any())


# --- next year's budgets ----------------------------------------------------------------------
def next_budgets_of(next_budgets: pd.DataFrame, next_projects: pd.DataFrame, year: int) -> pd.DataFrame:
    """年初预算数 of ``year`` per project code: ``project_id``, ``next_budget`` (元), ``next_source``
    (``next_budgets`` — the 下年预算 table, preferred — or ``projects``)."""
    nb = next_budgets[next_budgets["year"] == int(year)][["project_id", "budget"]]
    nb = nb.rename(columns={"budget": "next_budget"}).assign(next_source="next_budgets")
    pr = next_projects[next_projects["year"] == int(year)][["project_id", "budget_amount"]]
    pr = pr.rename(columns={"budget_amount": "next_budget"}).assign(next_source="projects")
    pr = pr[~pr["project_id"].isin(set(nb["project_id"]))]
    out = pd.concat([nb, pr], ignore_index=True)
    out["next_budget"] = out["next_budget"].astype("float64")
    return out.drop_duplicates("project_id").reset_index(drop=True)


# --- the flagged projects of each stage -------------------------------------------------------
def selfeval_flagged(se_projects: pd.DataFrame, rules) -> pd.DataFrame:
    """Recomputed self-evaluations whose grade is in ``application.selfeval_grades``."""
    grades = list(rules.value("application.selfeval_grades"))
    cut = rules.value("application.selfeval_suggested_cut")
    rec = se_projects["recomputable"] if "recomputable" in se_projects else True
    m = se_projects[rec & se_projects["grade"].isin(grades)]
    return pd.DataFrame({"project_id": m["project_id"], "group": m["grade"],
                         "suggested_cut_rate": m["grade"].map(cut).astype("float64"), "floor": True})


def monitoring_flagged(projection: pd.DataFrame | None, rules) -> pd.DataFrame:
    """Red projects whose projected unspent balance is ≥ the rules' share of their budget."""
    if projection is None or projection.empty:
        return pd.DataFrame(columns=FLAG_COLUMNS)
    share_min = float(rules.value("application.monitoring_unspent_share"))
    share = projection["projected_unspent"] / projection["budget"].where(projection["budget"] > 0)
    m = projection[(projection["band"] == mon.RED) & (share.round(EPS_DIGITS) >= share_min)]
    return pd.DataFrame({"project_id": m["project_id"], "group": GROUP_MONITORING,
                         "suggested_cut_rate": float(rules.value("application.monitoring_suggested_cut")),
                         "floor": True})


def keyeval_flagged(key: pd.DataFrame, rules) -> pd.DataFrame:
    """Every key evaluation (:func:`perflib.analysis.evaluation.key_evaluations`), by grade, with the
    key-evaluation rules' suggested cut and the section's own decision on its 审减 (``decision``)."""
    floors = set(rules.value("key_evaluation.suggested_cut_floor_grades"))
    return pd.DataFrame({"project_id": key["project_id"], "group": key["grade"],
                         "suggested_cut_rate": key["suggested_cut_rate"].astype("float64"),
                         "floor": key["grade"].isin(floors), "decision": key["decision"]})


def cost_flagged(current: pd.DataFrame, base_projects: pd.DataFrame) -> pd.DataFrame:
    """Projects with 测算可压减 > 0 (``current``: project_id, saving); suggested cut = saving ÷ 年初预算数."""
    m = current[current["saving"].fillna(0) > 0][["project_id", "saving"]]
    budget = m["project_id"].map(base_projects.drop_duplicates("project_id").set_index("project_id")
                                 ["budget_amount"]).astype("float64")
    rate = (m["saving"] / budget.where(budget > 0)).clip(upper=1.0)
    return pd.DataFrame({"project_id": m["project_id"], "group": GROUP_COST,
                         "suggested_cut_rate": rate.astype("float64"), "floor": True})


# --- tracing ----------------------------------------------------------------------------------
def trace(stage: str, flagged: pd.DataFrame, base_projects: pd.DataFrame, nxt: pd.DataFrame,
          year: int, tolerance: float, fallback: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per flagged project: this year's 年初预算数 (``base_projects`` of ``year``), next year's
    (``nxt``: :func:`next_budgets_of`; ``fallback``: project_id, next_budget for those without),
    the change and the decision against the suggestion (:data:`PROJECT_COLUMNS`)."""
    base = base_projects[base_projects["year"] == int(year)].drop_duplicates("project_id")
    cols = [c for c in ("project_id", "project_name", "level1_name", "budget_amount") if c in base]
    out = flagged.merge(base[cols], on="project_id", how="left").merge(nxt, on="project_id", how="left")
    if fallback is not None and len(fallback):
        fb = fallback.drop_duplicates("project_id").set_index("project_id")["next_budget"].astype("float64")
        out["next_budget"] = out["next_budget"].astype("float64")
        miss = out["next_budget"].isna() & out["project_id"].map(fb).notna()
        if miss.any():
            out.loc[miss, "next_budget"] = out.loc[miss, "project_id"].map(fb).to_numpy(dtype=float)
            out.loc[miss, "next_source"] = SOURCE_KEYEVAL
    out["stage"], out["year"], out["next_year"] = stage, int(year), int(year) + 1
    out["budget"] = out["budget_amount"].astype("float64")
    out["next_budget"] = out["next_budget"].astype("float64")
    out["change"] = (out["next_budget"] - out["budget"]).round(2)
    out["cut_rate"] = (-out["change"] / out["budget"].where(out["budget"] > 0)).astype("float64")
    dep = (out["cut_rate"] - out["suggested_cut_rate"]).round(EPS_DIGITS)
    floor = out["floor"].astype(bool)
    decision = np.where(dep < -tolerance, ev.DECISION_TOO_LITTLE,
                        np.where(~floor & (dep > tolerance), ev.DECISION_TOO_MUCH, ev.DECISION_OK))
    decision = np.where(out["cut_rate"].isna() | out["suggested_cut_rate"].isna(), DECISION_NO_BUDGET, decision)
    if "decision" in flagged:  # key evaluations: the decision on the 审减 (request − approved)
        decision = out["decision"].to_numpy(dtype=object)
    out["decision"] = np.where(out["next_budget"].isna(), DECISION_NO_NEXT, decision)
    judged = out["decision"].isin([ev.DECISION_OK, ev.DECISION_TOO_LITTLE, ev.DECISION_TOO_MUCH])
    out["matches"] = pd.array(np.where(judged, out["decision"] == ev.DECISION_OK, None), dtype="boolean")
    for c in ("project_name", "level1_name", "next_source"):
        if c not in out:
            out[c] = None
    return out[PROJECT_COLUMNS].reset_index(drop=True)


def _summary_row(stage, group, g: pd.DataFrame) -> dict:
    have = g[g["next_budget"].notna() & g["budget"].notna()]
    b_next = float(have["budget"].sum())
    change = round(float(have["next_budget"].sum()) - b_next, 2)
    return {"stage": stage, "group": group, "projects": int(len(g)), "with_next": int(len(have)),
            "budget": round(float(g["budget"].fillna(0).sum()), 2), "budget_with_next": round(b_next, 2),
            "next_budget": round(float(have["next_budget"].sum()), 2), "change": change,
            "change_rate": change / b_next if b_next > 0 else np.nan,
            "cut_projects": int((have["change"] < 0).sum()),
            "suggested_cut": round(float((have["suggested_cut_rate"] * have["budget"]).sum()), 2),
            "matched": int((g["decision"] == ev.DECISION_OK).sum()),
            "departs": int(g["decision"].isin([ev.DECISION_TOO_LITTLE, ev.DECISION_TOO_MUCH]).sum())}


def summarise(projects: pd.DataFrame) -> pd.DataFrame:
    """Per stage (in :data:`STAGES` order): a row per group (grade order for grades), then the
    stage's total (``group`` None); a stage without flagged projects has only its total (zeros)."""
    order = {g: i for i, g in enumerate(ev.GRADES)}
    rows = []
    for stage in STAGES:
        s = projects[projects["stage"] == stage]
        groups = sorted(s["group"].dropna().unique(), key=lambda g: (order.get(g, 99), str(g)))
        if len(groups) > 1:
            rows += [_summary_row(stage, g, s[s["group"] == g]) for g in groups]
        rows.append(_summary_row(stage, None, s))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def application_facts(summary: pd.DataFrame) -> dict:
    """``application.<stage>.{projects, with_next, cut_projects, matched, budget, next_budget,
    change}`` from each stage's total row (money None when no project has a next-year budget)."""
    out = {}
    for r in summary[summary["group"].isna()].itertuples(index=False):
        p = f"application.{r.stage}"
        out.update({f"{p}.projects": r.projects, f"{p}.with_next": r.with_next,
                    f"{p}.cut_projects": r.cut_projects, f"{p}.matched": r.matched,
                    f"{p}.budget": r.budget,
                    f"{p}.next_budget": r.next_budget if r.with_next else None,
                    f"{p}.change": r.change if r.with_next else None})
    return out


# --- from a store -----------------------------------------------------------------------------
def application_from_store(store, year: int, rules, dept: str | None = None) -> Application:
    """Every stage of the report of ``year`` traced into the next year's 年初预算 (module docstring)."""
    y = int(year)
    code = resolve_dept(store, dept)
    tol = float(rules.value("application.decision_tolerance"))
    nb_table = store.table("next_budgets", [y, y + 1])
    projects = {yy: ev.filter_dept(store.projects(yy), dept) for yy in (y - 1, y)}
    nxt = {yy: next_budgets_of(nb_table, store.projects(yy), yy) for yy in (y, y + 1)}
    parts = []
    se = ev.self_evaluation(store, y, rules, dept).projects
    parts.append(trace(SELFEVAL, selfeval_flagged(se, rules), projects[y - 1], nxt[y], y - 1, tol))
    month = mon.last_complete_month(store, y, rules)
    projection = None if month is None else mon.year_end_projection(store, y, month, rules, code)
    parts.append(trace(MONITORING, monitoring_flagged(projection, rules), projects[y], nxt[y + 1], y, tol))
    key = ev.key_evaluations(store, y, rules, dept)
    fallback = key[["project_id", "next_approved"]].rename(columns={"next_approved": "next_budget"})
    parts.append(trace(KEYEVAL, keyeval_flagged(key, rules), projects[y], nxt[y + 1], y,
                       float(rules.value("key_evaluation.decision_tolerance")), fallback))
    analyses = cost_analysis.analyse_all_types(store, y, rules)
    current = [a.current[["project_id", "saving"]] for a in analyses.values() if a.has_standard]
    current = pd.concat(current, ignore_index=True) if current else pd.DataFrame(columns=["project_id", "saving"])
    current = current[current["project_id"].isin(set(projects[y]["project_id"]))]
    parts.append(trace(COST, cost_flagged(current, projects[y]), projects[y], nxt[y + 1], y, tol))
    frame = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) \
        else pd.DataFrame(columns=PROJECT_COLUMNS)
    frame = frame.sort_values(["stage", "budget"], ascending=[True, False], kind="stable",
                              key=lambda s: s.map({k: i for i, k in enumerate(STAGES)}) if s.name == "stage" else s)
    frame = frame.reset_index(drop=True)
    years = {SELFEVAL: (y - 1, y), MONITORING: (y, y + 1), KEYEVAL: (y, y + 1), COST: (y, y + 1)}
    return Application(frame, summarise(frame), years, month)
