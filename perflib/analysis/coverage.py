"""绩效目标全覆盖, 部门整体绩效目标 and 绩效自评全覆盖 (seed sections 二 and 三).

Definitions (SPEC, Y = the report year):

* eligible project (纳入绩效目标管理范围): fund source among rules ``coverage.scope_fund_sources``
  (default 本级 only), not classified (涉密), not special (特殊资金);
* a project "has targets" when the targets table has at least one project-level row
  (项目编码 not empty) for it in that year;
* ``targets.projects`` counts every project of Y with targets (eligible or not), ``targets.amount``
  sums their 年初预算数; ``targets.coverage_count`` = eligible projects with targets / eligible
  projects, ``targets.coverage_amount`` the same by 年初预算数. With no eligible project (or an
  eligible amount of 0) a coverage rate is undefined: NaN in frames, ``None`` in facts (「无适用项目」);
* self-evaluation happens in Y for fiscal year Y−1: ``selfeval.*`` counts projects of fiscal year Y−1
  with a self-evaluation row and sums their budget (调整后预算数, or 年初预算数 where none).
  Projects that must be self-evaluated are those of fiscal year Y−1 with project-level targets (the
  seed: "对 2022 年度所有编制部门预算绩效目标的预算单位及项目支出开展了绩效自评").

Per-project target summaries are aggregated in DuckDB (GROUP BY), so the targets table is never
loaded whole into pandas.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from ..schema import BUDGET_KINDS

ELIGIBLE_FUND_SOURCE = "本级"
NO_ELIGIBLE = "无适用项目"

REASON_NO_TARGET = "未编制项目绩效目标"
REASON_NO_DEPT_TARGET = "未编制部门整体绩效目标"
REASON_NO_SELFEVAL = "编制了绩效目标但未开展绩效自评"
QUALITY_NO_OUTPUT = "缺少产出指标"
QUALITY_NO_EFFECT = "缺少效益指标"
QUALITY_NO_QUANT = "缺少定量指标"
QUALITY_REPEATED = "定量指标值与上年完全相同"
QUALITY_UNMEASURABLE = "有未填指标值的指标"  # cannot be measured (finding qualitative_target_missing)
QUALITY_LABELS = (QUALITY_NO_OUTPUT, QUALITY_NO_EFFECT, QUALITY_NO_QUANT, QUALITY_REPEATED, QUALITY_UNMEASURABLE)
UNMEASURABLE_SQL = "(target_value IS NULL OR trim(target_value) = '')"


# --- departments -----------------------------------------------------------------------------
def resolve_dept(store, dept) -> str | None:
    """The level-1 department code a ``dept`` parameter names (its code or its name), or None.

    Raises ParameterError naming the known level-1 departments when ``dept`` matches none.
    """
    if dept is None or (isinstance(dept, float) and math.isnan(dept)) or str(dept).strip() == "":
        return None
    d = store.departments()
    level1 = d[d["is_level1"]]
    key = str(dept).strip()
    hit = level1[(level1["dept_code"] == key) | (level1["dept_name"] == key)]
    if hit.empty:
        sub = d[(d["dept_code"] == key) | (d["dept_name"] == key)]
        hint = ""
        if not sub.empty:
            hint = f"（它是下级单位，所属一级部门为 {sub['level1_code'].iloc[0]} {sub['level1_name'].iloc[0]}）"
        sample = "、".join(f"{c} {n}" for c, n in zip(level1["dept_code"][:10], level1["dept_name"][:10]))
        raise ParameterError(f"dept 参数「{dept}」不是一级预算部门的编码或名称{hint}。可用的如：{sample} …")
    return str(hit["dept_code"].iloc[0])

def _restrict(df: pd.DataFrame, dept: str | None) -> pd.DataFrame:
    if dept is None:
        return df
    return df[df["level1_code"] == dept].reset_index(drop=True)


def _ratio(num: float, den: float) -> float:
    """num / den, NaN when den is 0 (an undefined rate is never inf)."""
    return float(num) / float(den) if den else float("nan")


def _fact(x):
    """A fact value for JSON: NaN → None, numpy scalars → Python numbers, money rounded to the fen."""
    if x is None:
        return None
    if isinstance(x, (np.integer, int)) and not isinstance(x, bool):
        return int(x)
    x = float(x)
    return None if math.isnan(x) else x


# --- project-level targets ---------------------------------------------------------------------
_TARGET_SUMMARY_SQL = """
WITH cur AS (
    SELECT project_id, level1, indicator, direction, target_value, unit,
           direction <> '定性' AND TRY_CAST(target_value AS DOUBLE) IS NOT NULL AS quant
    FROM targets WHERE year = ? AND project_id IS NOT NULL
), prev AS (
    SELECT project_id, indicator, direction, target_value, unit
    FROM targets WHERE year = ? AND project_id IS NOT NULL
)
SELECT c.project_id,
       count(*) AS n_indicators,
       bool_or(c.level1 = '产出指标') AS has_output,
       bool_or(c.level1 = '效益指标') AS has_effect,
       count(*) FILTER (WHERE c.quant) AS n_quant,
       count(*) FILTER (WHERE c.quant AND p.project_id IS NOT NULL) AS n_quant_repeated,
       count(*) FILTER (WHERE c.target_value IS NULL OR trim(c.target_value) = '') AS n_unmeasurable
FROM cur c
LEFT JOIN prev p
  ON p.project_id = c.project_id AND p.indicator = c.indicator AND p.direction = c.direction
 AND p.target_value = c.target_value AND coalesce(p.unit, '') = coalesce(c.unit, '')
GROUP BY c.project_id
"""


def scope_fund_sources(rules=None) -> tuple[str, ...]:
    """The fund sources whose projects are in the coverage scope (rules ``coverage.scope_fund_sources``;
    the default rules when ``rules`` is None)."""
    if rules is None:
        from ..rules import load_rules
        rules = load_rules()
    return tuple(rules.value("coverage.scope_fund_sources"))


def project_targets(store, year: int, dept: str | None = None, rules=None) -> pd.DataFrame:
    """Every project of ``year`` with its eligibility and a summary of its project-level targets.

    Columns: the project columns of ``Store.projects`` plus ``eligible``, ``has_target``,
    ``n_indicators``, ``has_output``, ``has_effect``, ``n_quant`` (indicators with ≥/≤/= and a
    numeric value), ``n_quant_repeated`` (of those, how many repeat the same project's indicator
    of the previous year with the same direction, value and unit) and ``n_unmeasurable``
    (indicators without a target value: a 定性 one without text cannot be measured).

    Made once per store, year, department and rules (the coverage report asks for a year's up to
    five times: a province's merge of 330,000 codes is 0.3 s each); the caller gets a copy.
    """
    def make() -> pd.DataFrame:
        projects = _restrict(store.projects(year), dept)
        summary = store.redact_frame(store.sql(_TARGET_SUMMARY_SQL, [int(year), int(year) - 1]))
        df = projects.merge(summary, on="project_id", how="left")
        df["n_indicators"] = df["n_indicators"].fillna(0).astype(int)
        df["n_quant"] = df["n_quant"].fillna(0).astype(int)
        df["n_quant_repeated"] = df["n_quant_repeated"].fillna(0).astype(int)
        df["n_unmeasurable"] = df["n_unmeasurable"].fillna(0).astype(int)
        for c in ("has_output", "has_effect"):
            df[c] = df[c].astype("boolean").fillna(False).astype(bool)
        df["has_target"] = df["n_indicators"] > 0
        df["eligible"] = eligible_mask(df, scope_fund_sources(rules))
        return df

    return store.memo(("coverage.project_targets", int(year), dept), rules, make).copy(deep=False)


def eligible_mask(projects: pd.DataFrame, sources=(ELIGIBLE_FUND_SOURCE,)) -> pd.Series:
    """Projects inside 绩效目标管理范围: funds of ``sources`` (default 本级), not classified, not special."""
    return (projects["fund_source"].isin(list(sources))
            & ~projects["is_classified"].astype(bool)
            & ~projects["is_special"].astype(bool))


def coverage_summary(frame: pd.DataFrame, by: str | list[str] | None = None) -> pd.DataFrame:
    """Target coverage of a :func:`project_targets` frame, overall or grouped ``by`` columns.

    Columns: ``projects`` (all), ``with_targets`` (all with targets), ``amount`` (their 年初预算数),
    ``eligible``, ``eligible_with_targets``, ``eligible_amount``, ``covered_amount``,
    ``coverage_count``, ``coverage_amount`` (NaN where nothing is eligible).
    """
    f = frame.assign(
        _t=frame["has_target"].astype(int),
        _ta=frame["budget_amount"].where(frame["has_target"], 0.0),
        _e=frame["eligible"].astype(int),
        _et=(frame["eligible"] & frame["has_target"]).astype(int),
        _ea=frame["budget_amount"].where(frame["eligible"], 0.0),
        _ca=frame["budget_amount"].where(frame["eligible"] & frame["has_target"], 0.0),
        _n=1,
    )
    cols = {"_n": "projects", "_t": "with_targets", "_ta": "amount", "_e": "eligible",
            "_et": "eligible_with_targets", "_ea": "eligible_amount", "_ca": "covered_amount"}
    if by is None:
        out = f[list(cols)].sum().to_frame().T.rename(columns=cols)
    else:
        out = f.groupby(by, dropna=False)[list(cols)].sum().rename(columns=cols).reset_index()
    for c in ("projects", "with_targets", "eligible", "eligible_with_targets"):
        out[c] = out[c].astype(int)
    out["coverage_count"] = out["eligible_with_targets"] / out["eligible"].where(out["eligible"] > 0)
    out["coverage_amount"] = out["covered_amount"] / out["eligible_amount"].where(out["eligible_amount"] > 0)
    return out


def coverage_by_department(store, year: int, dept: str | None = None, rules=None) -> pd.DataFrame:
    """Target coverage per level-1 department for ``year`` (Chinese-free canonical columns).

    Example: ``coverage_by_department(Store("data/perf.duckdb"), 2023)``
    """
    f = project_targets(store, year, dept, rules)
    out = coverage_summary(f, ["level1_code", "level1_name"])
    return out.sort_values(["coverage_count", "level1_code"], na_position="last").reset_index(drop=True)


def coverage_by_budget_kind(store, year: int, dept: str | None = None, rules=None) -> pd.DataFrame:
    """Target coverage per budget kind (the four budgets, each listed even when empty)."""
    f = project_targets(store, year, dept, rules)
    out = coverage_summary(f, "budget_kind").set_index("budget_kind")
    kinds = list(BUDGET_KINDS) + [k for k in out.index if k not in BUDGET_KINDS]
    out = out.reindex(kinds)
    for c in ("projects", "with_targets", "eligible", "eligible_with_targets"):
        out[c] = out[c].fillna(0).astype(int)
    for c in ("amount", "eligible_amount", "covered_amount"):
        out[c] = out[c].fillna(0.0)
    return out.rename_axis("budget_kind").reset_index()


def coverage_year_over_year(store, year: int, dept: str | None = None, rules=None) -> pd.DataFrame:
    """Overall target coverage of ``year`` and ``year − 1`` side by side, one row per year."""
    rows = []
    for y in (int(year) - 1, int(year)):
        s = coverage_summary(project_targets(store, y, dept, rules))
        s.insert(0, "year", y)
        rows.append(s)
    return pd.concat(rows, ignore_index=True)


# --- department-level targets ---------------------------------------------------------------
def department_targets(store, year: int, dept: str | None = None) -> pd.DataFrame:
    """Level-1 departments with ``has_dept_target``: a department-level target (empty 项目编码)
    recorded under the department's own code for ``year``, ``n_indicators`` of it and
    ``n_unmeasurable`` (of those, indicators without a target value)."""
    d = store.departments()
    level1 = d[d["is_level1"]][["dept_code", "dept_name", "is_street"]].copy()
    if dept is not None:
        level1 = level1[level1["dept_code"] == dept]
    counts = store.sql(
        f"SELECT dept_code, count(*) AS n_indicators, count(*) FILTER (WHERE {UNMEASURABLE_SQL}) AS n_unmeasurable "
        "FROM targets WHERE year = ? AND project_id IS NULL GROUP BY dept_code", [int(year)])
    out = level1.merge(counts, on="dept_code", how="left")
    out["n_indicators"] = out["n_indicators"].fillna(0).astype(int)
    out["n_unmeasurable"] = out["n_unmeasurable"].fillna(0).astype(int)
    out["has_dept_target"] = out["n_indicators"] > 0
    return out.sort_values("dept_code").reset_index(drop=True)


# --- self-evaluation ------------------------------------------------------------------------
def selfeval_projects(store, fiscal_year: int, dept: str | None = None) -> pd.DataFrame:
    """Projects of ``fiscal_year`` with ``evaluated`` (a self-evaluation row for that fiscal year)
    and ``has_target`` (project-level targets for it: these must be self-evaluated). Made once per
    store, fiscal year and department (asked for up to four times a report); the caller gets a copy."""
    def make() -> pd.DataFrame:
        projects = _restrict(store.projects(fiscal_year), dept)
        ev = store.redact_frame(store.sql(
            "SELECT DISTINCT project_id, true AS evaluated FROM self_evaluations WHERE year = ?",
            [int(fiscal_year)]))
        tg = store.redact_frame(store.sql(
            "SELECT DISTINCT project_id, true AS has_target FROM targets WHERE year = ? "
            "AND project_id IS NOT NULL", [int(fiscal_year)]))
        df = projects.merge(ev, on="project_id", how="left").merge(tg, on="project_id", how="left")
        for c in ("evaluated", "has_target"):
            df[c] = df[c].astype("boolean").fillna(False).astype(bool)
        return df

    return store.memo(("coverage.selfeval_projects", int(fiscal_year), dept), None, make).copy(deep=False)


def selfeval_summary(frame: pd.DataFrame, by: str | list[str] | None = None) -> pd.DataFrame:
    """Self-evaluation coverage of a :func:`selfeval_projects` frame, overall or grouped.

    ``projects``/``amount``: evaluated projects and their budget; ``required``: projects with
    targets; ``required_evaluated``; ``coverage`` = required_evaluated / required (NaN if none).
    """
    f = frame.assign(
        _n=1,
        _e=frame["evaluated"].astype(int),
        _a=frame["budget"].where(frame["evaluated"], 0.0),
        _r=frame["has_target"].astype(int),
        _re=(frame["has_target"] & frame["evaluated"]).astype(int),
    )
    cols = {"_n": "all_projects", "_e": "projects", "_a": "amount", "_r": "required",
            "_re": "required_evaluated"}
    if by is None:
        out = f[list(cols)].sum().to_frame().T.rename(columns=cols)
    else:
        out = f.groupby(by, dropna=False)[list(cols)].sum().rename(columns=cols).reset_index()
    for c in ("all_projects", "projects", "required", "required_evaluated"):
        out[c] = out[c].astype(int)
    out["coverage"] = out["required_evaluated"] / out["required"].where(out["required"] > 0)
    return out


SCOPE_EVALUATED = "开展绩效自评的项目"
SCOPE_WITH_TARGETS = "其中：编制了项目绩效目标"
SCOPE_RECOMPUTABLE = "其中：有可复核的绩效指标（复核得分）"


def selfeval_scope(frame: pd.DataFrame, recomputable: pd.DataFrame) -> pd.DataFrame:
    """Self-evaluated projects side by side with those of them that had project-level targets and
    those of these whose score could be recomputed: one row per stage (``stage``, ``projects``,
    ``amount`` = Σ budget, ``share_projects``/``share_amount`` of the self-evaluated).

    ``frame``: :func:`selfeval_projects` of the fiscal year; ``recomputable``: ``project_id`` and
    ``recomputable`` per self-evaluated project (``SelfEvaluation.projects`` of
    :mod:`perflib.analysis.evaluation`), so both reports count the same projects.
    """
    ok = set(recomputable.loc[recomputable["recomputable"].astype(bool), "project_id"])
    ev = frame[frame["evaluated"]]
    wt = ev[ev["has_target"]]
    rc = wt[wt["project_id"].isin(ok)]
    rows = [(SCOPE_EVALUATED, ev), (SCOPE_WITH_TARGETS, wt), (SCOPE_RECOMPUTABLE, rc)]
    out = pd.DataFrame({"stage": [s for s, _ in rows], "projects": [int(len(f)) for _, f in rows],
                        "amount": [round(float(f["budget"].sum()), 2) for _, f in rows]})
    out["share_projects"] = out["projects"] / (len(ev) if len(ev) else np.nan)
    total = out["amount"].iloc[0]
    out["share_amount"] = out["amount"] / (total if total else np.nan)
    return out


def recomputable_projects(store, year: int, rules, dept: str | None = None) -> pd.DataFrame:
    """``project_id`` and ``recomputable`` of each project self-evaluated for fiscal year ``year − 1``:
    the evaluation report's ``recomputable`` (a project-level target on a scored level, 成本指标
    counted as ``self_evaluation.cost_indicator_level``) found by two queries instead of scoring
    every indicator (:func:`perflib.analysis.evaluation.self_evaluation`), which a province takes
    seconds to do; a test keeps the two equal."""
    from .evaluation import LEVEL_COST, SCORED_LEVELS, filter_dept

    fy = int(year) - 1
    projects = filter_dept(store.projects(fy), dept)
    se = store.redact_frame(store.sql("SELECT DISTINCT project_id FROM self_evaluations WHERE year = ?", [fy]))
    se = se[se["project_id"].isin(projects["project_id"])].reset_index(drop=True)
    levels = ", ".join("?" for _ in SCORED_LEVELS)
    scored = store.redact_frame(store.sql(
        "SELECT DISTINCT project_id FROM targets WHERE year = ? AND project_id IS NOT NULL AND "
        f"(CASE WHEN level1 = ? THEN ? ELSE level1 END) IN ({levels})",
        [fy, LEVEL_COST, rules.value("self_evaluation.cost_indicator_level"), *SCORED_LEVELS]))
    return se.assign(recomputable=se["project_id"].isin(scored["project_id"]).astype(bool))


def selfeval_scope_facts(scope: pd.DataFrame) -> dict:
    """Facts of :func:`selfeval_scope`: ``selfeval.with_targets`` (+ ``_amount``) and
    ``selfeval.recomputed`` (+ ``_amount``; the evaluation report's count of recomputed projects) —
    the same numbers in every report that shows them."""
    s = scope.set_index("stage")
    return {"selfeval.with_targets": int(s.at[SCOPE_WITH_TARGETS, "projects"]),
            "selfeval.with_targets_amount": float(s.at[SCOPE_WITH_TARGETS, "amount"]),
            "selfeval.recomputed": int(s.at[SCOPE_RECOMPUTABLE, "projects"]),
            "selfeval.recomputed_amount": float(s.at[SCOPE_RECOMPUTABLE, "amount"])}


def selfeval_without_targets(frame: pd.DataFrame) -> pd.DataFrame:
    """Projects self-evaluated without any project-level target (a coverage finding: the score has
    nothing to be checked against), largest budget first."""
    f = frame[frame["evaluated"] & ~frame["has_target"]]
    cols = ["level1_name", "dept_name", "project_id", "project_name", "budget_kind", "budget"]
    return f.sort_values(["budget", "project_id"], ascending=[False, True])[cols].reset_index(drop=True)


def selfeval_by_budget_kind(store, year: int, dept: str | None = None) -> pd.DataFrame:
    """Self-evaluation carried out in ``year`` (fiscal year Y−1) against the year before (Y−2),
    per budget kind: columns ``budget_kind``, ``projects``, ``amount``, ``projects_prev``,
    ``amount_prev``, ``projects_change``, ``amount_change``."""
    cur = selfeval_summary(selfeval_projects(store, int(year) - 1, dept), "budget_kind")
    prev = selfeval_summary(selfeval_projects(store, int(year) - 2, dept), "budget_kind")
    out = pd.DataFrame({"budget_kind": list(BUDGET_KINDS)})
    out = out.merge(cur[["budget_kind", "projects", "amount"]], on="budget_kind", how="outer")
    prev = prev[["budget_kind", "projects", "amount"]].rename(
        columns={"projects": "projects_prev", "amount": "amount_prev"})
    out = out.merge(prev, on="budget_kind", how="left")
    for c in ("projects", "projects_prev"):
        out[c] = out[c].fillna(0).astype(int)
    for c in ("amount", "amount_prev"):
        out[c] = out[c].fillna(0.0)
    out["projects_change"] = out["projects"] - out["projects_prev"]
    out["amount_change"] = out["amount"] - out["amount_prev"]
    order = {k: i for i, k in enumerate(BUDGET_KINDS)}
    return out.sort_values("budget_kind", key=lambda s: s.map(order).fillna(99)).reset_index(drop=True)


# --- quality and breaks -----------------------------------------------------------------------
def target_quality(frame: pd.DataFrame) -> pd.DataFrame:
    """Projects with targets whose targets have a quality problem, with the problems listed.

    Checks: no 产出指标; no 效益指标; no quantitative indicator (≥/≤/= with a numeric value); every
    quantitative indicator repeats the previous year's (same project, indicator, direction, value,
    unit); an indicator without a target value (a 定性 one without text: it cannot be measured;
    ingest records it as finding ``qualitative_target_missing``). Only projects with targets are
    checked. Column ``problems`` joins the findings with 「；」.
    """
    f = frame[frame["has_target"]].copy()
    flags = {
        QUALITY_NO_OUTPUT: ~f["has_output"],
        QUALITY_NO_EFFECT: ~f["has_effect"],
        QUALITY_NO_QUANT: f["n_quant"] == 0,
        QUALITY_REPEATED: (f["n_quant"] > 0) & (f["n_quant_repeated"] == f["n_quant"]),
        QUALITY_UNMEASURABLE: f["n_unmeasurable"] > 0,
    }
    text = pd.Series("", index=f.index, dtype=object)
    for label, hit in flags.items():
        text = text.where(~hit, text + "；" + label)
    f["problems"] = text.str.lstrip("；")
    f = f[f["problems"] != ""]
    return f.sort_values(["level1_code", "dept_code", "project_id"]).reset_index(drop=True)


def target_quality_by_department(quality: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Per level-1 department: projects with targets and how many have each quality problem."""
    base = frame[frame["has_target"]].groupby(["level1_code", "level1_name"]).size().rename("with_targets")
    out = base.to_frame()
    for label in QUALITY_LABELS:
        hit = quality[quality["problems"].str.contains(label, regex=False)]
        out[label] = hit.groupby(["level1_code", "level1_name"]).size().reindex(out.index).fillna(0).astype(int)
    out["unmeasurable_indicators"] = (quality.groupby(["level1_code", "level1_name"])["n_unmeasurable"].sum()
                                      .reindex(out.index).fillna(0).astype(int))
    out["problem_projects"] = (quality.groupby(["level1_code", "level1_name"]).size()
                               .reindex(out.index).fillna(0).astype(int))
    out = out.reset_index()
    return out[out["problem_projects"] > 0].sort_values(
        ["problem_projects", "level1_code"], ascending=[False, True]).reset_index(drop=True)


def coverage_breaks(store, year: int, dept: str | None = None, rules=None) -> pd.DataFrame:
    """Every department and project breaking full coverage in ``year``, each with its reason.

    Rows: eligible projects of Y without project-level targets (「未编制项目绩效目标」); level-1
    departments without a department-level target for Y (「未编制部门整体绩效目标」); projects of
    fiscal year Y−1 with targets but no self-evaluation (「编制了绩效目标但未开展绩效自评」).
    Columns: ``kind`` (项目/部门/自评), ``fiscal_year``, ``level1_name``, ``dept_name``,
    ``project_id``, ``project_name``, ``budget_amount``, ``reason``.
    """
    rows = []
    pt = project_targets(store, year, dept, rules)
    miss = pt[pt["eligible"] & ~pt["has_target"]]
    rows.append(pd.DataFrame({
        "kind": "项目绩效目标", "fiscal_year": int(year), "level1_name": miss["level1_name"],
        "dept_name": miss["dept_name"], "project_id": miss["project_id"],
        "project_name": miss["project_name"], "budget_amount": miss["budget_amount"],
        "reason": REASON_NO_TARGET}))
    dt = department_targets(store, year, dept)
    dm = dt[~dt["has_dept_target"]]
    rows.append(pd.DataFrame({
        "kind": "部门整体绩效目标", "fiscal_year": int(year), "level1_name": dm["dept_name"],
        "dept_name": dm["dept_name"], "project_id": None, "project_name": None,
        "budget_amount": np.nan, "reason": REASON_NO_DEPT_TARGET}))
    se = selfeval_projects(store, int(year) - 1, dept)
    sm = se[se["has_target"] & ~se["evaluated"]]
    rows.append(pd.DataFrame({
        "kind": "绩效自评", "fiscal_year": int(year) - 1, "level1_name": sm["level1_name"],
        "dept_name": sm["dept_name"], "project_id": sm["project_id"],
        "project_name": sm["project_name"], "budget_amount": sm["budget_amount"],
        "reason": REASON_NO_SELFEVAL}))
    rows = [r for r in rows if not r.empty]
    cols = ["kind", "fiscal_year", "level1_name", "dept_name", "project_id", "project_name",
            "budget_amount", "reason"]
    if not rows:
        return pd.DataFrame(columns=cols)
    return pd.concat(rows, ignore_index=True)[cols]


# --- facts ----------------------------------------------------------------------------------
def coverage_facts(store, year: int, rules=None, dept=None) -> dict:
    """SPEC's coverage facts for ``year`` (optionally one level-1 department and its sub-units).

    Money in 元 (float, rounded to the fen), rates as fractions; an undefined rate is ``None``.
    ``rules`` sets the scope's fund sources (``coverage.scope_fund_sources``), recorded as
    ``targets.scope_sources``.

    Example: ``coverage_facts(Store("data/perf.duckdb"), 2023, dept="区教体局")["targets.coverage_count"]``
    """
    year = int(year)
    dept = resolve_dept(store, dept)
    cur = coverage_summary(project_targets(store, year, dept, rules)).iloc[0]
    prev = coverage_summary(project_targets(store, year - 1, dept, rules)).iloc[0]
    dt = department_targets(store, year, dept)
    se = selfeval_summary(selfeval_projects(store, year - 1, dept)).iloc[0]
    se_prev = selfeval_summary(selfeval_projects(store, year - 2, dept)).iloc[0]
    return {
        "targets.projects": int(cur["with_targets"]),
        "targets.projects_prev": int(prev["with_targets"]),
        "targets.amount": round(float(cur["amount"]), 2),
        "targets.coverage_count": _fact(cur["coverage_count"]),
        "targets.coverage_amount": _fact(cur["coverage_amount"]),
        "departments.level1": int(len(dt)),
        "departments.with_targets": int(dt["has_dept_target"].sum()),
        "selfeval.projects": int(se["projects"]),
        "selfeval.amount": round(float(se["amount"]), 2),
        "selfeval.projects_prev": int(se_prev["projects"]),
        "selfeval.amount_prev": round(float(se_prev["amount"]), 2),
        "targets.scope_sources": list(scope_fund_sources(rules)),
    }


