"""Evaluation: self-evaluation scores recomputed from indicators, key evaluations (重点评价), and
evaluation results applied to next year's budget (结果应用).

The self-evaluation scoring follows 财预〔2020〕10号 as the rules file states it (section
``self_evaluation``); every weight, ratio and threshold comes from the rules. The choices the
official text leaves open are stated here and in each function's docstring:

* **Fiscal year.** The report of year Y recomputes the self-evaluations of fiscal year Y−1 (the
  evaluation of Y−1 happens in Y, as in the seed), against that year's project-level targets
  (绩效目标 of Y−1) and the actual values of 自评指标 of Y−1. Key evaluations are those of year Y.
* **Execution score** = min(全年执行数 / budget, ``execution_cap``) × ``weight_execution``, budget =
  调整后预算数 or 年初预算数 where none. A zero budget has no execution rate (NaN, shown as 「无预算」,
  never inf); it scores ``zero_budget_execution_share`` × weight (default 0) and is flagged.
* **Levels.** 产出指标 (with 成本指标, counted as ``cost_indicator_level``, default 产出指标), 效益指标,
  满意度指标 carry ``weight_output/effect/satisfaction`` points. A level's points are split over its
  indicators in proportion to their 分值; if any indicator of the level lacks 分值 (or they sum to 0),
  the level's points are split equally among all its indicators.
* **满意度 from the 自评 table.** With ``satisfaction_from_column`` (default on), a project with no
  满意度指标 rows but a 满意度 value (0–100) in 绩效自评 scores that level as value/100 × its points.
* **Missing level.** A level with no indicator (and, for 满意度, no usable 满意度 value) moves its
  points to the present levels among ``missing_level_to``, pro rata to their own points; when none
  of those is present, to every present level pro rata. A project with no indicator row at all
  cannot be recomputed (score NaN, listed as 「无绩效指标，未复核」, outside the mean and the grades).
* **Indicator ratio**: see :mod:`perflib.analysis.indicators`.
* **Score** = execution score + Σ indicator points, clipped to 0–100 and rounded to 0.01 (as 自评表
  report it) before grading. Grades: 优 ≥ ``grades.excellent``, 良 ≥ ``grades.good``, 中 ≥
  ``grades.fair``, 差 below (all lower bounds inclusive).
* **Flags.** 自评虚高: reported − recomputed > ``inflation_margin`` (strictly greater; exactly the
  margin is not flagged). 目标偏低: a ≥ indicator with actual / target > ``overachievement_ratio`` or a ≤
  indicator with actual > 0 and target / actual > the ratio (strictly greater; an actual of 0 on a ≤
  indicator is its natural ideal and is not flagged). 满分低执行: reported ≥ ``full_marks_min``
  (default 100, i.e. literally full marks) with an execution rate < ``full_marks_low_execution``
  (strictly below). 缺少实际值, 指标值无法识别, 无预算 as described above.

Key evaluations: each dimension's maximum is the evaluation's own (columns 决策满分 … 效益满分, where
given) or else the rules' default ``key_evaluation.weight_*`` (财预〔2020〕10号 names the four
dimensions and leaves the split to the scheme). A score above its maximum counts at the maximum and
is a finding (``key_score_above_maximum``, :func:`key_score_findings`), never an error. Total = Σ
counted scores, put on the 100-point scale (× 100 / Σ maxima) when the maxima do not add to 100.
Grade as above. Suggested cut rate by grade from ``key_evaluation.suggested_cut``; for the grades in
``suggested_cut_floor_grades`` (default 差: "≥ 30 % or cancel") it is a minimum. 审减 (``cut``) =
next_request − next_approved, cut rate = cut / next_request (a zero request gives NaN, 「无申请数」).
The change against this year's budget (``budget_change``) = next_approved − budget (调整后预算数, or
年初预算数 where none), its rate over that budget. The decision departs from the suggestion when
|actual − suggested| > ``decision_tolerance`` (strictly; one-sided — only cutting less — for floor grades).

Over-achievement deduction (``self_evaluation.overachievement_deduction`` = d, default 0 = off): an
over-achieved indicator (achievement > ``overachievement_ratio`` = r) scores points × ratio ×
max(0, 1 − d × (achievement − r)).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..exceptions import RulesError
from .indicators import BAD_ACTUAL, BAD_TARGET, BAD_TIER, EPS_DIGITS, MISSING_ACTUAL, indicator_ratios

LEVEL_OUTPUT = "产出指标"
LEVEL_EFFECT = "效益指标"
LEVEL_SATISFACTION = "满意度指标"
LEVEL_COST = "成本指标"
SCORED_LEVELS = (LEVEL_OUTPUT, LEVEL_EFFECT, LEVEL_SATISFACTION)
LEVEL_RULE = {LEVEL_OUTPUT: "weight_output", LEVEL_EFFECT: "weight_effect",
              LEVEL_SATISFACTION: "weight_satisfaction"}
LEVEL_SCORE_COLUMN = {LEVEL_OUTPUT: "output_score", LEVEL_EFFECT: "effect_score",
                      LEVEL_SATISFACTION: "satisfaction_score"}
GRADES = ("优", "良", "中", "差")
KEY_DIMENSIONS = {"score_decision": "decision", "score_process": "process",
                  "score_output": "output", "score_effect": "effect"}
KEY_DIMENSION_LABELS = {"score_decision": "决策", "score_process": "过程", "score_output": "产出",
                        "score_effect": "效益"}
KEY_MAX_COLUMNS = {col: f"max_{key}" for col, key in KEY_DIMENSIONS.items()}
KIND_SCORE_ABOVE_MAX = "key_score_above_maximum"  # schema.FINDING_KINDS

# Indicator statuses (shown to users).

# Flag kinds (shown to users).
FLAG_INFLATED = "自评虚高"
FLAG_OVERACHIEVED = "目标偏低（超额完成）"
FLAG_FULL_LOW_EXEC = "满分但执行率偏低"
FLAG_MISSING = "缺少实际完成值"
FLAG_UNREADABLE = "指标值无法识别"
FLAG_NO_BUDGET = "无预算"
FLAG_NOT_RECOMPUTED = "无绩效指标，未复核"

# Decisions on the key-evaluation budget cut (shown to users).
DECISION_OK = "符合建议"
DECISION_TOO_LITTLE = "压减不足"
DECISION_TOO_MUCH = "压减超出建议"
DECISION_NO_REQUEST = "无申请数"


# --------------------------------------------------------------------------------------------
# rules
# --------------------------------------------------------------------------------------------
def check_rules(rules) -> None:
    """Validate the rules this module reads beyond what the loader checks; raise RulesError naming the key."""
    def fail(key: str, msg: str) -> None:
        raise RulesError(f"规则 {key}：{msg}")

    cap = rules.value("self_evaluation.execution_cap")
    if not 0 < cap <= 1:
        fail("self_evaluation.execution_cap", f"应在 0（不含）与 1 之间，实际为 {cap}（大于 1 会使总分超过 100）")
    share = rules.value("self_evaluation.zero_budget_execution_share")
    if not 0 <= share <= 1:
        fail("self_evaluation.zero_budget_execution_share", f"应在 0 与 1 之间，实际为 {share}")
    for tier, v in rules.value("self_evaluation.qualitative_tiers").items():
        if not 0 <= v <= 1:
            fail("self_evaluation.qualitative_tiers", f"档次「{tier}」的得分比例应在 0 与 1 之间，实际为 {v}")
    to = rules.value("self_evaluation.missing_level_to")
    bad = [x for x in to if x not in SCORED_LEVELS]
    if bad:
        fail("self_evaluation.missing_level_to", f"应取自 {'、'.join(SCORED_LEVELS)}，实际有「{'、'.join(bad)}」")
    lvl = rules.value("self_evaluation.cost_indicator_level")
    if lvl not in SCORED_LEVELS:
        fail("self_evaluation.cost_indicator_level", f"应为 {'、'.join(SCORED_LEVELS)} 之一，实际为「{lvl}」")
    if rules.value("self_evaluation.overachievement_deduction") < 0:
        fail("self_evaluation.overachievement_deduction", "不能为负数")
    if rules.value("self_evaluation.overachievement_ratio") <= 0:
        fail("self_evaluation.overachievement_ratio", "应为正数")
    cut = rules.value("key_evaluation.suggested_cut")
    missing = [g for g in GRADES if g not in cut]
    if missing:
        fail("key_evaluation.suggested_cut", f"缺少等级「{'、'.join(missing)}」的建议压减比例")
    for g, v in cut.items():
        if not 0 <= v <= 1:
            fail("key_evaluation.suggested_cut", f"等级「{g}」的建议压减比例应在 0 与 1 之间，实际为 {v}")
    floors = rules.value("key_evaluation.suggested_cut_floor_grades")
    bad = [g for g in floors if g not in GRADES]
    if bad:
        fail("key_evaluation.suggested_cut_floor_grades", f"应取自 {'、'.join(GRADES)}，实际有「{'、'.join(bad)}」")
    if rules.value("key_evaluation.decision_tolerance") < 0:
        fail("key_evaluation.decision_tolerance", "不能为负数")


def level_weights(rules) -> dict[str, float]:
    """Points of each indicator level (产出/效益/满意度) from the rules."""
    return {lvl: float(rules.value(f"self_evaluation.{key}")) for lvl, key in LEVEL_RULE.items()}


# --------------------------------------------------------------------------------------------
# grades
# --------------------------------------------------------------------------------------------
def grade_of(score: float | None, rules) -> str | None:
    """Grade of one score: 优 ≥ excellent, 良 ≥ good, 中 ≥ fair, else 差 (lower bounds inclusive); None for NaN."""
    return _grade(score, rules.value("grades.excellent"), rules.value("grades.good"), rules.value("grades.fair"))


def _grade(score, excellent, good, fair) -> str | None:
    if score is None or (isinstance(score, float) and math.isnan(score)) or pd.isna(score):
        return None
    return "优" if score >= excellent else "良" if score >= good else "中" if score >= fair else "差"


def grades_of(scores: pd.Series, rules) -> pd.Series:
    """Grades of a Series of scores (object dtype, None where the score is NaN); thresholds read once."""
    t = (rules.value("grades.excellent"), rules.value("grades.good"), rules.value("grades.fair"))
    return pd.Series([_grade(s, *t) for s in scores], index=scores.index, dtype=object)


# --------------------------------------------------------------------------------------------
# execution and level points
# --------------------------------------------------------------------------------------------
def execution_scores(spent, budget, rules) -> pd.DataFrame:
    """Execution rate (NaN for a zero or missing budget) and execution score per project.

    score = min(spent / budget, ``execution_cap``) × ``weight_execution``; a zero budget scores
    ``zero_budget_execution_share`` × weight.
    """
    spent = np.asarray(pd.Series(spent, dtype="float64"), dtype=float)
    budget = np.asarray(pd.Series(budget, dtype="float64"), dtype=float)
    weight = float(rules.value("self_evaluation.weight_execution"))
    cap = float(rules.value("self_evaluation.execution_cap"))
    zero_share = float(rules.value("self_evaluation.zero_budget_execution_share"))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rate = np.where(budget > 0, spent / budget, np.nan)
    score = np.where(np.isnan(rate), zero_share * weight, np.clip(np.minimum(rate, cap), 0, None) * weight)
    return pd.DataFrame({"execution_rate": rate, "execution_score": score})


def level_points(present: pd.DataFrame, rules) -> pd.DataFrame:
    """Points each level carries once the points of missing levels are redistributed.

    Parameters
    ----------
    present : one boolean column per level of ``SCORED_LEVELS``, one row per project.

    Returns
    -------
    Same shape, floats: a present level's own points plus its pro-rata share of the missing levels'
    points (receivers: present levels among ``missing_level_to``, else every present level); absent
    levels get 0; a row with no present level is all NaN (not recomputable).
    """
    base = level_weights(rules)
    to = set(rules.value("self_evaluation.missing_level_to"))
    cols = list(SCORED_LEVELS)
    p = present.reindex(columns=cols, fill_value=False).fillna(False).astype(bool).to_numpy()
    w = np.array([base[c] for c in cols])
    own = p * w
    missing = ((~p) * w).sum(axis=1)
    in_to = np.array([c in to for c in cols])
    receivers = p & in_to
    none_in_to = ~receivers.any(axis=1)
    receivers = np.where(none_in_to[:, None], p, receivers)
    recv_w = receivers * w
    recv_sum = recv_w.sum(axis=1)
    n_recv = receivers.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(recv_sum[:, None] > 0, recv_w / recv_sum[:, None],
                         receivers / np.where(n_recv > 0, n_recv, 1)[:, None])
    out = own + missing[:, None] * share
    out = np.where(p.any(axis=1)[:, None], out, np.nan)
    return pd.DataFrame(out, columns=cols, index=present.index)


# --------------------------------------------------------------------------------------------
# self-evaluation recomputation
# --------------------------------------------------------------------------------------------
@dataclass
class SelfEvaluation:
    """Recomputed self-evaluations: ``projects`` (one row per self-evaluated project: scores, grades,
    difference from the reported score), ``indicators`` (one per indicator: target, actual, points,
    score, status), ``flags`` (one per project and issue an auditor should look at, with numbers)."""

    projects: pd.DataFrame
    indicators: pd.DataFrame
    flags: pd.DataFrame

    @property
    def scored(self) -> pd.DataFrame:
        """Projects that could be recomputed (at least one indicator)."""
        return self.projects[self.projects["recomputable"]]


KEY = ["project_id", "year"]
PROJECT_INFO = ["project_name", "dept_code", "dept_name", "level1_code", "level1_name", "budget"]
FLAG_COLUMNS = ["project_id", "project_name", "level1_name", "flag", "reported_score", "recomputed_score",
                "execution_rate", "spent_amount", "difference", "threshold", "indicator", "direction",
                "target_value", "actual_value", "unit", "achievement", "items"]
# A flag's numbers: ``difference`` (reported − recomputed) and ``threshold`` (the rule applied: the
# inflation margin, the low-execution rate or the over-achievement ratio); for an over-achieved
# indicator its ``indicator``, ``direction``, ``target_value``, ``actual_value``, ``unit`` and
# ``achievement``; ``items``: the indicators missing an actual value (names), or the unreadable ones
# as (indicator, status, target_value, actual_value). present/text/evaluation.py words them.


def _project_base(self_evals: pd.DataFrame, projects: pd.DataFrame, rules) -> pd.DataFrame:
    """Self-evaluated projects with their budget, departments and execution score (one row each)."""
    se = self_evals[KEY + ["spent_amount", "satisfaction", "reported_score"]].copy()
    info_cols = [c for c in PROJECT_INFO if c in projects.columns]
    base = se.merge(projects[KEY + info_cols], on=KEY, how="left").reset_index(drop=True)
    for c in PROJECT_INFO:
        if c not in base.columns:
            base[c] = np.nan if c == "budget" else None
    base["spent_amount"] = base["spent_amount"].astype("float64")
    base["budget"] = base["budget"].astype("float64")
    base["satisfaction"] = pd.to_numeric(base["satisfaction"], errors="coerce").astype("float64")
    base["reported_score"] = pd.to_numeric(base["reported_score"], errors="coerce").astype("float64")
    ex = execution_scores(base["spent_amount"], base["budget"], rules)
    base["execution_rate"] = ex["execution_rate"].to_numpy()
    base["execution_score"] = ex["execution_score"].to_numpy()
    return base


def _scored_indicators(base: pd.DataFrame, targets: pd.DataFrame, actuals: pd.DataFrame, rules) -> pd.DataFrame:
    """The scored levels' indicators of the base projects with their achievement ratio and their
    share of their level's points (by weight; equal shares when any weight is missing or all are 0)."""
    cost_level = rules.value("self_evaluation.cost_indicator_level")
    tcols = ["project_id", "year", "level1", "level2", "indicator", "direction", "target_value", "unit", "weight"]
    tg = targets[[c for c in tcols if c in targets.columns]].copy()
    for c in tcols:
        if c not in tg.columns:
            tg[c] = None
    tg = tg[tg["project_id"].notna()]
    tg = tg.merge(base[KEY], on=KEY, how="inner")
    act = actuals[KEY + ["indicator", "actual_value"]].drop_duplicates(KEY + ["indicator"])
    ind = tg.merge(act, on=KEY + ["indicator"], how="left").reset_index(drop=True)
    ind["level"] = ind["level1"].astype(object).where(ind["level1"] != LEVEL_COST, cost_level)
    ind = ind[ind["level"].isin(SCORED_LEVELS)].reset_index(drop=True)
    r = indicator_ratios(ind["direction"], ind["target_value"], ind["actual_value"], rules)
    for c in r.columns:
        ind[c] = r[c].to_numpy()
    ind["weight"] = pd.to_numeric(ind["weight"], errors="coerce").astype("float64")

    grp = ind.groupby(KEY + ["level"], sort=False)["weight"]
    n_in_level = grp.transform("size").astype(float)
    w_sum = grp.transform("sum")
    any_missing = ind["weight"].isna().groupby([ind[c] for c in KEY + ["level"]], sort=False).transform("any")
    any_missing = any_missing.astype(bool)
    equal = any_missing | ~(w_sum > 0)
    ind["share"] = np.where(equal, 1.0 / n_in_level, ind["weight"] / w_sum.where(w_sum > 0, 1.0))
    return ind


def _levels_present(base: pd.DataFrame, ind: pd.DataFrame, rules):
    """Which scored levels each project has (the satisfaction level may come from the 自评表 column),
    and the points each level carries after redistribution: (present, sat_from_column,
    any_indicator, points)."""
    use_column = bool(rules.value("self_evaluation.satisfaction_from_column"))
    has_rows = ind.groupby(KEY + ["level"]).size().unstack("level").reindex(columns=list(SCORED_LEVELS))
    has_rows = has_rows.notna()
    present = base[KEY].merge(has_rows.reset_index(), on=KEY, how="left")
    present = present.reindex(columns=KEY + list(SCORED_LEVELS))
    present[list(SCORED_LEVELS)] = present[list(SCORED_LEVELS)].astype("boolean").fillna(False).astype(bool)
    any_indicator = present[list(SCORED_LEVELS)].any(axis=1)
    sat_from_column = (use_column & any_indicator & ~present[LEVEL_SATISFACTION]
                       & base["satisfaction"].notna())
    present[LEVEL_SATISFACTION] = present[LEVEL_SATISFACTION] | sat_from_column
    points = level_points(present[list(SCORED_LEVELS)], rules)
    points.index = pd.MultiIndex.from_frame(base[KEY])
    return present, sat_from_column, any_indicator, points


def overachievement_deduction(ind: pd.DataFrame, rules) -> pd.Series:
    """Share (0–1) of each indicator's points deducted for over-achievement: d × (achievement − r)
    for over-achieved indicators, capped at 1; 0 elsewhere and whenever d is 0 (the default)."""
    d = float(rules.value("self_evaluation.overachievement_deduction"))
    r = float(rules.value("self_evaluation.overachievement_ratio"))
    over = ind["overachieved"].astype(bool)
    excess = (ind["achievement"].astype("float64") - r).clip(lower=0).fillna(0.0)
    return (d * excess).clip(upper=1.0).where(over, 0.0).round(EPS_DIGITS)


def _project_scores(base: pd.DataFrame, ind: pd.DataFrame, rules) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each project's level scores, recomputed total, grade and indicator counts; and the indicators
    with their points and scores."""
    present, sat_from_column, any_indicator, points = _levels_present(base, ind, rules)
    lp = points.reset_index().melt(id_vars=KEY, var_name="level", value_name="level_points")
    ind = ind.merge(lp, on=KEY + ["level"], how="left")
    ind["points"] = ind["level_points"] * ind["share"]
    ind["deduction"] = overachievement_deduction(ind, rules)
    ind["score"] = ind["points"] * ind["ratio"] * (1.0 - ind["deduction"])

    lvl_scores = ind.groupby(KEY + ["level"])["score"].sum().unstack("level")
    lvl_scores = lvl_scores.reindex(columns=list(SCORED_LEVELS))
    out = base.merge(lvl_scores.reset_index(), on=KEY, how="left")
    for lvl in SCORED_LEVELS:
        out[LEVEL_SCORE_COLUMN[lvl]] = out[lvl].astype("float64").fillna(0.0)
        out = out.drop(columns=lvl)
    sat_pts = points[LEVEL_SATISFACTION].to_numpy()
    col_score = np.clip(base["satisfaction"].to_numpy() / 100.0, 0, 1) * sat_pts
    out["satisfaction_score"] = np.where(sat_from_column, col_score, out["satisfaction_score"])
    out["satisfaction_source"] = np.where(
        present[LEVEL_SATISFACTION] & ~sat_from_column, "满意度指标",
        np.where(sat_from_column, "自评表满意度", "缺失（分值已再分配）"))
    for lvl in SCORED_LEVELS:
        out[f"{LEVEL_SCORE_COLUMN[lvl]}_max"] = points[lvl].to_numpy()

    out["recomputable"] = any_indicator.to_numpy()
    total = (out["execution_score"] + out["output_score"] + out["effect_score"] + out["satisfaction_score"])
    total = total.clip(0, 100).round(2)
    out["recomputed_score"] = total.where(out["recomputable"])
    for c in ("output_score", "effect_score", "satisfaction_score"):
        out[c] = out[c].where(out["recomputable"])
    out["difference"] = (out["reported_score"] - out["recomputed_score"]).round(2)
    out["grade"] = grades_of(out["recomputed_score"], rules)
    out["reported_grade"] = grades_of(out["reported_score"], rules)
    counts = ind.assign(_miss=(ind["status"] == MISSING_ACTUAL).astype("int64")).groupby(KEY).agg(
        indicators=("indicator", "size"), missing_actuals=("_miss", "sum"), overachieved=("overachieved", "sum"))
    out = out.merge(counts.reset_index(), on=KEY, how="left")
    for c in ("indicators", "missing_actuals", "overachieved"):
        out[c] = out[c].fillna(0).astype(int)
    return out, ind


def score_self_evaluations(self_evals: pd.DataFrame, projects: pd.DataFrame, targets: pd.DataFrame,
                           actuals: pd.DataFrame, rules) -> SelfEvaluation:
    """Recompute every self-evaluated project's score from its indicators (rules in the module docstring).

    Parameters
    ----------
    self_evals : 绩效自评 rows (project_id, year, spent_amount, satisfaction, reported_score).
    projects : projects of the same year(s) with ``budget`` and department names (``Store.projects``).
    targets : 绩效目标 rows (project-level rows are used; department-level rows ignored).
    actuals : 自评指标 rows (project_id, year, indicator, actual_value). Actuals without a matching
        target are ignored (there is nothing to score them against).
    """
    check_rules(rules)
    base = _project_base(self_evals, projects, rules)
    ind = _scored_indicators(base, targets, actuals, rules)
    out, ind = _project_scores(base, ind, rules)

    flags = _self_eval_flags(out, ind, rules)
    out["inflated"] = out["project_id"].isin(flags.loc[flags["flag"] == FLAG_INFLATED, "project_id"])
    nflags = flags.groupby("project_id").size()
    out["flags"] = out["project_id"].map(nflags).fillna(0).astype(int)

    ind_cols = KEY + ["level", "level1", "level2", "indicator", "direction", "target_value", "unit",
                      "weight", "actual_value", "achievement", "ratio", "points", "deduction", "score",
                      "status", "overachieved"]
    ind = ind.merge(base[KEY + ["project_name", "level1_name"]], on=KEY, how="left")
    ind = ind[ind_cols[:2] + ["project_name", "level1_name"] + ind_cols[2:]]
    return SelfEvaluation(projects=out, indicators=ind, flags=flags)


def _self_eval_flags(out: pd.DataFrame, ind: pd.DataFrame, rules) -> pd.DataFrame:
    """One row per (project, issue) with the numbers behind it (rules in the module docstring)."""
    margin = float(rules.value("self_evaluation.inflation_margin"))
    over_ratio = float(rules.value("self_evaluation.overachievement_ratio"))
    full_min = float(rules.value("self_evaluation.full_marks_min"))
    low_exec = float(rules.value("self_evaluation.full_marks_low_execution"))
    rows: list[dict] = []
    # each project's first row in a dict (a frame lookup per flag: a minute for a province's ~300,000)
    cols = ["project_name", "level1_name", "reported_score", "recomputed_score", "execution_rate", "spent_amount"]
    info = {}  # reversed, so that the first row of a project is the one kept
    info.update(reversed(list(zip(out["project_id"], zip(*(out[c].to_numpy(dtype=object) for c in cols))))))

    def add(pid, flag, **numbers):
        name, level1, reported, recomputed, rate, spent = info[pid]
        rows.append({"project_id": pid, "project_name": name, "level1_name": level1, "flag": flag,
                     "reported_score": reported, "recomputed_score": recomputed, "execution_rate": rate,
                     "spent_amount": spent, **numbers})

    checked = ["project_id", "recomputable", "reported_score", "recomputed_score", "execution_rate"]
    for rec in out[checked].itertuples(index=False):
        if not rec.recomputable:
            add(rec.project_id, FLAG_NOT_RECOMPUTED)
            continue
        diff = rec.reported_score - rec.recomputed_score
        if round(diff, 6) > margin:
            add(rec.project_id, FLAG_INFLATED, difference=diff, threshold=margin)
    for rec in out[checked].itertuples(index=False):
        if pd.isna(rec.execution_rate):
            add(rec.project_id, FLAG_NO_BUDGET)
        elif rec.reported_score >= full_min and round(rec.execution_rate, EPS_DIGITS) < low_exec:
            add(rec.project_id, FLAG_FULL_LOW_EXEC, threshold=low_exec)
    over_cols = ["project_id", "indicator", "direction", "target_value", "actual_value", "unit", "achievement"]
    for rec in ind.loc[ind["overachieved"], over_cols].itertuples(index=False):
        add(rec.project_id, FLAG_OVERACHIEVED, threshold=over_ratio, indicator=rec.indicator,
            direction=rec.direction, target_value=rec.target_value, actual_value=rec.actual_value,
            unit=rec.unit if isinstance(rec.unit, str) else "", achievement=rec.achievement)
    missing = ind[ind["status"] == MISSING_ACTUAL].groupby("project_id")["indicator"].apply(list)
    for pid, names in missing.items():
        add(pid, FLAG_MISSING, items=list(names))
    bad = ind[ind["status"].isin([BAD_TARGET, BAD_ACTUAL, BAD_TIER])]
    for pid, g in bad.groupby("project_id"):
        add(pid, FLAG_UNREADABLE, items=[(r.indicator, r.status, r.target_value, r.actual_value)
                                         for r in g.itertuples(index=False)])
    return pd.DataFrame(rows, columns=FLAG_COLUMNS)


def score_project(indicators: pd.DataFrame, spent: float, budget: float, rules, *,
                  satisfaction: float | None = None, reported_score: float | None = None,
                  project_id: str = "P") -> pd.Series:
    """Recompute one project's score from a small indicator table (level1, indicator, direction,
    target_value, weight, actual_value); a convenience over :func:`score_self_evaluations`."""
    ind = indicators.copy()
    ind["project_id"] = project_id
    ind["year"] = 0
    se = pd.DataFrame({"project_id": [project_id], "year": [0], "spent_amount": [float(spent)],
                       "satisfaction": [satisfaction if satisfaction is not None else np.nan],
                       "reported_score": [reported_score if reported_score is not None else np.nan]})
    pr = pd.DataFrame({"project_id": [project_id], "year": [0], "project_name": [project_id],
                       "level1_name": [""], "budget": [float(budget)]})
    actuals = ind[["project_id", "year", "indicator", "actual_value"]]
    res = score_self_evaluations(se, pr, ind.drop(columns=["actual_value"]), actuals, rules)
    return res.projects.iloc[0]


# --------------------------------------------------------------------------------------------
# store access and filters
# --------------------------------------------------------------------------------------------
def filter_dept(df: pd.DataFrame, dept: str | None) -> pd.DataFrame:
    """Rows of a department: ``dept`` matches the code or name of the unit or of its level-1 department."""
    if dept is None or (isinstance(dept, str) and dept.strip() == ""):
        return df
    d = str(dept).strip()
    mask = pd.Series(False, index=df.index)
    for c in ("dept_code", "dept_name", "level1_code", "level1_name"):
        if c in df.columns:
            mask |= df[c].astype(object).astype(str).str.strip().eq(d)
    return df[mask]


def self_evaluation(store, year: int, rules, dept: str | None = None) -> SelfEvaluation:
    """Recomputed self-evaluations of fiscal year ``year − 1`` (evaluated in ``year``) from a Store,
    scored once per store, year, department and rules (the overview's sections ask three times)."""
    def score():
        fy = int(year) - 1
        projects = filter_dept(store.projects(fy), dept)
        se = store.table("self_evaluations", fy)
        se = se[se["project_id"].isin(projects["project_id"])]
        return score_self_evaluations(se, projects, store.table("targets", fy),
                                      store.table("self_eval_indicators", fy), rules)
    done = store.memo(("self_evaluation", int(year), dept), rules, score)  # copies: the caller may change them
    return SelfEvaluation(*(f.copy(deep=False) for f in (done.projects, done.indicators, done.flags)))


def grade_counts(scores: pd.DataFrame) -> dict[str, int]:
    """{优: n, 良: n, 中: n, 差: n} over recomputed projects (every grade present, 0 when none)."""
    g = scores.loc[scores["recomputable"], "grade"] if "recomputable" in scores else scores["grade"]
    vc = g.value_counts()
    return {k: int(vc.get(k, 0)) for k in GRADES}


def grades_by_department(result: SelfEvaluation) -> pd.DataFrame:
    """Per level-1 department: self-evaluated projects, recomputed ones, their mean reported and
    recomputed scores (both over the recomputed projects, so they compare), grade counts, 自评虚高."""
    p = result.projects.copy()
    p["level1_name"] = p["level1_name"].astype(object).fillna("（未知部门）")
    g = p.groupby("level1_name", sort=True)
    out = pd.DataFrame({
        "projects": g.size(),
        "recomputed": g["recomputable"].sum().astype(int),
        "mean_reported": p["reported_score"].where(p["recomputable"]).groupby(p["level1_name"]).mean(),
        "mean_recomputed": g["recomputed_score"].mean(),
    })
    counts = p[p["recomputable"]].groupby(["level1_name", "grade"]).size().unstack("grade")
    counts = counts.reindex(columns=list(GRADES)).reindex(out.index).fillna(0).astype(int)
    out = out.join(counts)
    out["inflated"] = g["inflated"].sum().astype(int)
    return out.reset_index().sort_values(["recomputed", "projects"], ascending=False, kind="stable")


def self_evaluation_summary(result: SelfEvaluation) -> dict:
    """The self-evaluation facts (SPEC names) plus ``selfeval.recomputed``."""
    s = result.scored
    mean = float(s["recomputed_score"].mean()) if len(s) else None
    return {
        "selfeval.mean_score": round(mean, 2) if mean is not None else None,
        "selfeval.grades": grade_counts(result.projects),
        "selfeval.inflated": int(result.projects["inflated"].sum()),
        "selfeval.recomputed": int(len(s)),
    }


# --------------------------------------------------------------------------------------------
# key evaluations and results applied to the budget
# --------------------------------------------------------------------------------------------
def key_maxima(key_evals: pd.DataFrame, rules) -> pd.DataFrame:
    """Each evaluation's maximum points per dimension (columns ``max_*``): the data's 决策满分 …
    效益满分 where given, else the rules' ``key_evaluation.weight_*``; ``max_from_data``: whether
    any maximum came with the data."""
    out = pd.DataFrame(index=key_evals.index)
    from_data = pd.Series(False, index=key_evals.index)
    for col, key in KEY_DIMENSIONS.items():
        m = KEY_MAX_COLUMNS[col]
        given = (pd.to_numeric(key_evals[m], errors="coerce").astype("float64") if m in key_evals
                 else pd.Series(np.nan, index=key_evals.index))
        out[m] = given.fillna(float(rules.value(f"key_evaluation.weight_{key}")))
        from_data |= given.notna()
    out["max_from_data"] = from_data
    return out


def key_score_findings(scored: pd.DataFrame) -> pd.DataFrame:
    """One row per (evaluation, dimension) whose score exceeds its maximum (finding kind
    ``key_score_above_maximum``): project, dimension, score, maximum and where the maximum came from."""
    rows = []
    for col, label in KEY_DIMENSION_LABELS.items():
        m = KEY_MAX_COLUMNS[col]
        hit = scored[scored[col].round(EPS_DIGITS) > scored[m].round(EPS_DIGITS)]
        for r in hit.itertuples(index=False):
            rows.append({"kind": KIND_SCORE_ABOVE_MAX, "project_id": r.project_id, "year": r.year,
                         "project_name": r.project_name, "dimension": label, "score": getattr(r, col),
                         "maximum": getattr(r, m), "max_from_data": bool(r.max_from_data)})
    cols = ["kind", "project_id", "year", "project_name", "dimension", "score", "maximum", "max_from_data"]
    return pd.DataFrame(rows, columns=cols)


def score_key_evaluations(key_evals: pd.DataFrame, projects: pd.DataFrame, rules) -> pd.DataFrame:
    """Key evaluations with maxima, total score, grade, 审减, change against this year's budget,
    suggested cut and departure (rules in the module docstring).

    ``cut`` = next_request − next_approved (审减); ``cut_rate`` = cut / next_request (NaN for a zero
    request); ``budget_change`` = next_approved − budget, ``budget_change_rate`` over budget (NaN
    for none); ``above_maximum``: dimensions scored above their maximum (counted at it);
    ``suggested_cut_rate`` from ``suggested_cut`` by grade; ``departure`` = cut_rate − suggested;
    ``decision`` whether the cut conforms (within ``decision_tolerance``, inclusive) or cuts too
    little / too much (one-sided for floor grades).
    """
    check_rules(rules)
    suggested = rules.value("key_evaluation.suggested_cut")
    floors = set(rules.value("key_evaluation.suggested_cut_floor_grades"))
    tol = float(rules.value("key_evaluation.decision_tolerance"))
    info_cols = [c for c in PROJECT_INFO if c in projects.columns]
    k = key_evals.drop(columns=[c for c in KEY_MAX_COLUMNS.values() if c in key_evals])
    k = k.merge(projects[KEY + info_cols], on=KEY, how="left").reset_index(drop=True)
    k = pd.concat([k, key_maxima(key_evals.reset_index(drop=True), rules)], axis=1)
    for c in list(KEY_DIMENSIONS) + ["next_request", "next_approved", "budget"]:
        k[c] = k[c].astype("float64")
    counted = pd.concat([k[c].clip(lower=0, upper=k[KEY_MAX_COLUMNS[c]]) for c in KEY_DIMENSIONS], axis=1)
    k["above_maximum"] = sum((k[c].round(EPS_DIGITS) > k[KEY_MAX_COLUMNS[c]].round(EPS_DIGITS)).astype(int)
                             for c in KEY_DIMENSIONS)
    max_total = k[list(KEY_MAX_COLUMNS.values())].sum(axis=1)
    k["total_score"] = (counted.sum(axis=1) * 100.0 / max_total.where(max_total > 0)).round(2)
    k["grade"] = grades_of(k["total_score"], rules)
    k["cut"] = (k["next_request"] - k["next_approved"]).round(2)
    k["cut_rate"] = (k["cut"] / k["next_request"].where(k["next_request"] > 0)).astype("float64")
    k["budget_change"] = (k["next_approved"] - k["budget"]).round(2)
    k["budget_change_rate"] = (k["budget_change"] / k["budget"].where(k["budget"] > 0)).astype("float64")
    k["suggested_cut_rate"] = k["grade"].map(suggested).astype("float64")
    k["suggested_is_floor"] = k["grade"].isin(floors)
    k["departure"] = (k["cut_rate"] - k["suggested_cut_rate"]).round(EPS_DIGITS)
    dep = k["departure"]
    decision = np.where(dep < -tol, DECISION_TOO_LITTLE,
                        np.where((dep > tol) & ~k["suggested_is_floor"], DECISION_TOO_MUCH, DECISION_OK))
    k["decision"] = np.where(k["cut_rate"].isna(), DECISION_NO_REQUEST, decision)
    k["departs"] = k["decision"].isin([DECISION_TOO_LITTLE, DECISION_TOO_MUCH])
    return k.sort_values("total_score", ascending=False, kind="stable").reset_index(drop=True)


def key_evaluations(store, year: int, rules, dept: str | None = None) -> pd.DataFrame:
    """Scored key evaluations of ``year`` from a Store (optionally one department's)."""
    projects = filter_dept(store.projects(int(year)), dept)
    ke = store.table("key_evaluations", int(year))
    ke = ke[ke["project_id"].isin(projects["project_id"])]
    return score_key_evaluations(ke, projects, rules)


def key_evaluation_totals(scored: pd.DataFrame) -> dict:
    """keyeval.* facts: projects, amount (Σ this year's budget), request, cut (审减 = request −
    approved), cut_rate (cut / request; None if 0), approved, budget_change (approved − amount) and
    budget_change_rate (over amount; None if 0)."""
    request = round(float(scored["next_request"].sum()), 2)
    cut = round(float(scored["cut"].sum()), 2)
    amount = round(float(scored["budget"].sum()), 2)
    approved = round(float(scored["next_approved"].sum()), 2)
    change = round(approved - amount, 2)
    return {
        "keyeval.projects": int(len(scored)),
        "keyeval.amount": amount,
        "keyeval.request": request,
        "keyeval.cut": cut,
        "keyeval.cut_rate": (cut / request) if request > 0 else None,
        "keyeval.approved": approved,
        "keyeval.budget_change": change,
        "keyeval.budget_change_rate": (change / amount) if amount > 0 else None,
    }


def cut_by_grade(scored: pd.DataFrame, rules) -> pd.DataFrame:
    """Per grade: projects, Σ budget, Σ request, Σ approved, Σ 审减 (cut), change against this
    year's budget, cut rate, suggested cut rate, departures."""
    suggested = rules.value("key_evaluation.suggested_cut")
    g = scored.groupby("grade")
    out = pd.DataFrame({"projects": g.size(), "budget": g["budget"].sum(), "request": g["next_request"].sum(),
                        "approved": g["next_approved"].sum(), "cut": g["cut"].sum(),
                        "departs": g["departs"].sum()}).reindex(list(GRADES))
    out[["projects", "departs"]] = out[["projects", "departs"]].fillna(0).astype(int)
    out[["budget", "request", "approved", "cut"]] = out[["budget", "request", "approved", "cut"]].fillna(0.0)
    out["budget_change"] = out["approved"] - out["budget"]
    out["cut_rate"] = out["cut"] / out["request"].where(out["request"] > 0)
    out["suggested_cut_rate"] = [suggested[x] for x in out.index]
    out.index.name = "grade"
    return out.reset_index()


def key_domains(scored: pd.DataFrame) -> pd.DataFrame:
    """Per evaluation domain: projects, Σ budget, mean total score; largest budget first."""
    d = scored.assign(domain=scored["domain"].astype(object).fillna("未注明"))
    g = d.groupby("domain")
    out = pd.DataFrame({"projects": g.size(), "budget": g["budget"].sum(),
                        "mean_score": g["total_score"].mean()})
    return out.sort_values("budget", ascending=False, kind="stable").reset_index()


# --------------------------------------------------------------------------------------------
# facts and text
# --------------------------------------------------------------------------------------------
def evaluation_facts(store, year: int, rules, dept: str | None = None) -> dict:
    """Every fact of the evaluation report (SPEC names; money in 元, rates as fractions)."""
    facts = self_evaluation_summary(self_evaluation(store, year, rules, dept))
    facts.update(key_evaluation_totals(key_evaluations(store, year, rules, dept)))
    return facts

# --------------------------------------------------------------------------------------------
# tables for reports (rows chosen and ordered here; columns, headers and formats: present/labels.py)
# --------------------------------------------------------------------------------------------
FLAG_ORDER = (FLAG_INFLATED, FLAG_FULL_LOW_EXEC, FLAG_OVERACHIEVED, FLAG_MISSING, FLAG_UNREADABLE,
              FLAG_NO_BUDGET, FLAG_NOT_RECOMPUTED)


def flags_table(result: SelfEvaluation, include_not_recomputed: bool = False) -> pd.DataFrame:
    """Flagged projects with the reason and the numbers behind it, the most serious kinds first.
    Projects not recomputed (no indicators) are left out unless asked for: they are counted in
    :func:`flags_paragraph` and listed by the coverage report."""
    f = result.flags
    if not include_not_recomputed:
        f = f[f["flag"] != FLAG_NOT_RECOMPUTED]
    rank = {k: i for i, k in enumerate(FLAG_ORDER)}
    f = f.assign(_rank=f["flag"].map(rank)).sort_values(["_rank", "project_id"], kind="stable")
    return f.drop(columns="_rank").reset_index(drop=True)


def key_evaluation_table(scored: pd.DataFrame) -> pd.DataFrame:
    """Key evaluations with their ``findings`` (missing when the export has none)."""
    return scored if "findings" in scored else scored.assign(findings=None)


def budget_application_table(scored: pd.DataFrame) -> pd.DataFrame:
    """Results applied to next year's budget per project (``suggested_is_floor``: whether the
    suggested cut rate is a floor or a target; the view words it)."""
    return scored


