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
* **Indicator ratio** (share of the indicator's points earned, always within 0–1):
  ≥: actual ≥ target → 1, else actual / target (target ≤ 0 and not met → 0);
  ≤: actual ≤ target → 1 (so actual 0 → full), else target / actual;
  =: actual equal to target (relative tolerance 1e-9) → 1, else min(a, t) / max(a, t) when both are
  positive, otherwise 0;
  定性: the tier of the actual in ``qualitative_tiers`` (优/良/中/差; a text starting with or ending in
  a tier name, e.g. 优秀 or 较差, counts as that tier).
  A missing actual → 0 points and flagged; a target or actual that is not a number (for ≥/≤/=) or not
  a tier (定性) → 0 points and flagged. Negative ratios are clipped to 0.
* **Score** = execution score + Σ indicator points, clipped to 0–100 and rounded to 0.01 (as 自评表
  report it) before grading. Grades: 优 ≥ ``grades.excellent``, 良 ≥ ``grades.good``, 中 ≥
  ``grades.fair``, 差 below (all lower bounds inclusive).
* **Flags.** 自评虚高: reported − recomputed > ``inflation_margin`` (strictly greater; exactly the
  margin is not flagged). 目标偏低: a ≥ indicator with actual / target > ``overachievement_ratio`` or a ≤
  indicator with actual > 0 and target / actual > the ratio (strictly greater; an actual of 0 on a ≤
  indicator is its natural ideal and is not flagged). 满分低执行: reported ≥ ``full_marks_min``
  (default 100, i.e. literally full marks) with an execution rate < ``full_marks_low_execution``
  (strictly below). 缺少实际值, 指标值无法识别, 无预算 as described above.

Key evaluations: total = Σ of the four dimension scores, each of which must lie within 0 and its
weight in ``key_evaluation`` (the weights are the maxima; a score above raises :class:`InputError`).
Grade as above. Suggested cut rate by grade from ``key_evaluation.suggested_cut``; for the grades in
``suggested_cut_floor_grades`` (default 差: "≥ 30 % or cancel") it is a minimum. Actual cut =
next_request − next_approved, cut rate = cut / next_request (a zero request gives NaN, 「无申请数」).
The decision departs from the suggestion when |actual − suggested| > ``decision_tolerance``
(strictly; one-sided — only cutting less — for floor grades).
"""
from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..exceptions import InputError, Problem, RulesError

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

# Indicator statuses (shown to users).
OK = ""
MISSING_ACTUAL = "缺少实际完成值"
BAD_TARGET = "指标值无法识别"
BAD_ACTUAL = "完成值无法识别"
BAD_TIER = "定性档次无法识别"

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

_EPS_DIGITS = 9  # comparisons against thresholds are made on values rounded to 1e-9


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
    if score is None or (isinstance(score, float) and math.isnan(score)) or pd.isna(score):
        return None
    if score >= rules.value("grades.excellent"):
        return "优"
    if score >= rules.value("grades.good"):
        return "良"
    if score >= rules.value("grades.fair"):
        return "中"
    return "差"


def grades_of(scores: pd.Series, rules) -> pd.Series:
    """Grades of a Series of scores (object dtype, None where the score is NaN)."""
    return pd.Series([grade_of(s, rules) for s in scores], index=scores.index, dtype=object)


# --------------------------------------------------------------------------------------------
# parsing indicator values
# --------------------------------------------------------------------------------------------
def _parse_number(value) -> float:
    """A number from an indicator cell: full-width digits, thousands separators and a trailing % allowed."""
    if value is None:
        return math.nan
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    if pd.isna(value):
        return math.nan
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "").replace(" ", "")
    if text.endswith("%"):
        text = text[:-1]
    try:
        return float(text)
    except ValueError:
        return math.nan


def to_number(values: pd.Series) -> pd.Series:
    """Parse a Series of indicator values into floats (NaN where not a number)."""
    return pd.Series([_parse_number(v) for v in values], index=values.index, dtype="float64")


def _is_blank(value) -> bool:
    if value is None:
        return True
    try:
        if pd.isna(value):
            return True
    except (TypeError, ValueError):
        return False
    return str(value).strip() == ""


def qualitative_tier(actual, tiers: dict[str, float]) -> str | None:
    """The tier name of a 定性 actual: exact, or a text starting with / ending in a tier name (优秀, 较差)."""
    if _is_blank(actual):
        return None
    text = unicodedata.normalize("NFKC", str(actual)).strip()
    if text in tiers:
        return text
    for t in tiers:
        if text.startswith(t):
            return t
    for t in tiers:
        if text.endswith(t):
            return t
    return None


# --------------------------------------------------------------------------------------------
# indicator ratios
# --------------------------------------------------------------------------------------------
def indicator_ratios(direction: pd.Series, target, actual, rules) -> pd.DataFrame:
    """Share (0–1) of each indicator's points earned, with status and achievement.

    Parameters
    ----------
    direction : ≥ / ≤ / = / 定性 per indicator.
    target, actual : the raw values (text or numbers), aligned with ``direction``.

    Returns
    -------
    DataFrame with ``ratio`` (0–1), ``status`` ('' or the reason the indicator earns 0),
    ``achievement`` (actual/target for ≥, target/actual for ≤, NaN otherwise) and
    ``overachieved`` (achievement > ``overachievement_ratio``, strictly; see module docstring).
    """
    direction = pd.Series(direction).reset_index(drop=True).astype(object)
    target = pd.Series(target, dtype=object).reset_index(drop=True)
    actual = pd.Series(actual, dtype=object).reset_index(drop=True)
    tiers = rules.value("self_evaluation.qualitative_tiers")
    over_ratio = float(rules.value("self_evaluation.overachievement_ratio"))

    t = to_number(target).to_numpy()
    a = to_number(actual).to_numpy()
    d = direction.to_numpy(dtype=object)
    blank = np.array([_is_blank(v) for v in actual], dtype=bool)
    n = len(d)
    ratio = np.zeros(n)
    achievement = np.full(n, np.nan)
    status = np.array([OK] * n, dtype=object)

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ge = d == "≥"
        met = a >= t
        r_ge = np.where(met, 1.0, np.where(t > 0, a / t, 0.0))
        ratio = np.where(ge, r_ge, ratio)
        achievement = np.where(ge & (t > 0), a / t, achievement)

        le = d == "≤"
        met = a <= t
        r_le = np.where(met, 1.0, np.where(a > 0, t / a, 0.0))
        ratio = np.where(le, r_le, ratio)
        achievement = np.where(le & (a > 0), t / a, achievement)

        eq = d == "="
        equal = np.isclose(a, t, rtol=1e-9, atol=0.0) | (a == t)
        both_pos = (a > 0) & (t > 0)
        r_eq = np.where(equal, 1.0, np.where(both_pos, np.minimum(a, t) / np.maximum(a, t), 0.0))
        ratio = np.where(eq, r_eq, ratio)

    quantitative = ge | le | eq
    ratio = np.where(quantitative & (np.isnan(t) | np.isnan(a)), 0.0, ratio)
    status = np.where(quantitative & ~blank & np.isnan(a), BAD_ACTUAL, status)
    status = np.where(quantitative & np.isnan(t), BAD_TARGET, status)

    qual = d == "定性"
    tier_names = [qualitative_tier(v, tiers) if q else None for v, q in zip(actual, qual)]
    r_q = np.array([float(tiers[x]) if x is not None else 0.0 for x in tier_names], dtype=float)
    ratio = np.where(qual, r_q, ratio)
    no_tier = np.array([x is None for x in tier_names], dtype=bool)
    status = np.where(qual & ~blank & no_tier, BAD_TIER, status)

    # a direction outside ≥ ≤ = 定性 cannot be scored (ingest rejects it; defensive)
    unknown = ~(quantitative | qual)
    status = np.where(unknown & ~blank, BAD_TARGET, status)
    ratio = np.where(unknown, 0.0, ratio)

    status = np.where(blank, MISSING_ACTUAL, status)
    ratio = np.where(blank, 0.0, ratio)
    ratio = np.clip(np.nan_to_num(ratio, nan=0.0), 0.0, 1.0)
    with np.errstate(over="ignore", invalid="ignore"):
        overachieved = (np.round(np.nan_to_num(achievement, nan=0.0), _EPS_DIGITS) > over_ratio) & (status == OK)
    return pd.DataFrame({"ratio": ratio, "status": status, "achievement": achievement,
                         "overachieved": overachieved})


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
    """Recomputed self-evaluations.

    ``projects``: one row per self-evaluated project (scores, grades, difference from the reported
    score). ``indicators``: one row per indicator (target, actual, points, score, status).
    ``flags``: one row per project and issue an auditor should look at (kind, detail with numbers).
    """

    projects: pd.DataFrame
    indicators: pd.DataFrame
    flags: pd.DataFrame

    @property
    def scored(self) -> pd.DataFrame:
        """Projects that could be recomputed (at least one indicator)."""
        return self.projects[self.projects["recomputable"]]


KEY = ["project_id", "year"]
PROJECT_INFO = ["project_name", "dept_code", "dept_name", "level1_code", "level1_name", "budget"]
FLAG_COLUMNS = ["project_id", "project_name", "level1_name", "flag", "detail", "reported_score",
                "recomputed_score", "execution_rate"]


def _fmt_num(x: float) -> str:
    if x is None or pd.isna(x):
        return "—"
    return f"{x:,.4f}".rstrip("0").rstrip(".")


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
    weights = level_weights(rules)
    cost_level = rules.value("self_evaluation.cost_indicator_level")
    use_column = bool(rules.value("self_evaluation.satisfaction_from_column"))

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

    # --- indicators -----------------------------------------------------------------------
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

    # --- levels present, redistribution -------------------------------------------------------
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

    # indicator points and scores
    lp = points.reset_index().melt(id_vars=KEY, var_name="level", value_name="level_points")
    ind = ind.merge(lp, on=KEY + ["level"], how="left")
    ind["points"] = ind["level_points"] * ind["share"]
    ind["score"] = ind["points"] * ind["ratio"]

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
    counts = ind.groupby(KEY).agg(indicators=("indicator", "size"),
                                  missing_actuals=("status", lambda s: int((s == MISSING_ACTUAL).sum())),
                                  overachieved=("overachieved", "sum"))
    out = out.merge(counts.reset_index(), on=KEY, how="left")
    for c in ("indicators", "missing_actuals", "overachieved"):
        out[c] = out[c].fillna(0).astype(int)

    flags = _self_eval_flags(out, ind, rules)
    out["inflated"] = out["project_id"].isin(flags.loc[flags["flag"] == FLAG_INFLATED, "project_id"])
    nflags = flags.groupby("project_id").size()
    out["flags"] = out["project_id"].map(nflags).fillna(0).astype(int)

    ind_cols = KEY + ["level", "level1", "level2", "indicator", "direction", "target_value", "unit",
                      "weight", "actual_value", "achievement", "ratio", "points", "score", "status",
                      "overachieved"]
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
    info = out.set_index("project_id")

    def add(pid, flag, detail):
        p = info.loc[pid]
        if isinstance(p, pd.DataFrame):
            p = p.iloc[0]
        rows.append({"project_id": pid, "project_name": p["project_name"], "level1_name": p["level1_name"],
                     "flag": flag, "detail": detail, "reported_score": p["reported_score"],
                     "recomputed_score": p["recomputed_score"], "execution_rate": p["execution_rate"]})

    for rec in out.itertuples(index=False):
        if not rec.recomputable:
            add(rec.project_id, FLAG_NOT_RECOMPUTED,
                f"无绩效目标指标，无法复核自评得分（自评 {_fmt_num(rec.reported_score)} 分）")
            continue
        diff = rec.reported_score - rec.recomputed_score
        if round(diff, 6) > margin:
            add(rec.project_id, FLAG_INFLATED,
                f"自评 {rec.reported_score:.2f} 分，复核 {rec.recomputed_score:.2f} 分，"
                f"高出 {diff:.2f} 分（阈值：高出超过 {margin:g} 分）")
    for rec in out.itertuples(index=False):
        if pd.isna(rec.execution_rate):
            add(rec.project_id, FLAG_NO_BUDGET,
                f"全年预算数为 0，执行率无法计算（执行数 {rec.spent_amount:,.2f} 元）")
        elif rec.reported_score >= full_min and round(rec.execution_rate, _EPS_DIGITS) < low_exec:
            add(rec.project_id, FLAG_FULL_LOW_EXEC,
                f"自评 {rec.reported_score:g} 分，预算执行率 {rec.execution_rate:.2%}"
                f"（阈值：低于 {low_exec:.0%}）")
    for rec in ind[ind["overachieved"]].itertuples(index=False):
        unit = rec.unit if isinstance(rec.unit, str) else ""
        add(rec.project_id, FLAG_OVERACHIEVED,
            f"指标「{rec.indicator}」目标 {rec.direction} {rec.target_value}{unit}，完成 {rec.actual_value}{unit}，"
            f"完成程度 {rec.achievement:.1%}（阈值：超过 {over_ratio:.0%}）")
    missing = ind[ind["status"] == MISSING_ACTUAL].groupby("project_id")["indicator"].apply(list)
    for pid, names in missing.items():
        add(pid, FLAG_MISSING, f"{len(names)} 个指标缺少实际完成值（按 0 分计）：{'、'.join(map(str, names))}")
    bad = ind[ind["status"].isin([BAD_TARGET, BAD_ACTUAL, BAD_TIER])]
    for pid, g in bad.groupby("project_id"):
        detail = "；".join(f"「{r.indicator}」{r.status}（目标 {r.target_value}，完成 {r.actual_value}）"
                          for r in g.itertuples(index=False))
        add(pid, FLAG_UNREADABLE, detail + "，按 0 分计")
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
    """Recomputed self-evaluations of fiscal year ``year − 1`` (evaluated in ``year``) from a Store."""
    fy = int(year) - 1
    projects = filter_dept(store.projects(fy), dept)
    se = store.table("self_evaluations", fy)
    se = se[se["project_id"].isin(projects["project_id"])]
    return score_self_evaluations(se, projects, store.table("targets", fy),
                                  store.table("self_eval_indicators", fy), rules)


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
        "mean_reported": p["reported_score"].where(p["recomputable"]).groupby(p["level1_name"]).mean().round(2),
        "mean_recomputed": g["recomputed_score"].mean().round(2),
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
def validate_key_scores(key_evals: pd.DataFrame, rules) -> None:
    """Every dimension score within 0 and its rules weight (the weights are the maxima); else InputError."""
    problems = []
    for col, key in KEY_DIMENSIONS.items():
        cap = float(rules.value(f"key_evaluation.weight_{key}"))
        bad = key_evals[(key_evals[col] > cap) | (key_evals[col] < 0) | key_evals[col].isna()]
        for r in bad.itertuples(index=False):
            problems.append(Problem(
                file="重点评价", column=f"{KEY_DIMENSION_LABELS[col]}得分", value=getattr(r, col),
                message=f"项目 {r.project_id}（{r.year} 年）的{KEY_DIMENSION_LABELS[col]}得分超出规则分值",
                expected=f"0–{cap:g} 分（规则 key_evaluation.weight_{key}）"))
    if problems:
        raise InputError(problems, summary=f"重点评价有 {len(problems)} 处得分超出规则分值：")


def score_key_evaluations(key_evals: pd.DataFrame, projects: pd.DataFrame, rules) -> pd.DataFrame:
    """Key evaluations with total score, grade, budget cut, suggested cut and departure.

    ``cut`` = next_request − next_approved; ``cut_rate`` = cut / next_request (NaN for a zero
    request); ``suggested_cut_rate`` from ``suggested_cut`` by grade; ``departure`` = cut_rate −
    suggested; ``decision`` says whether the cut conforms (within ``decision_tolerance``, inclusive)
    or cuts too little / too much (one-sided for floor grades).
    """
    check_rules(rules)
    validate_key_scores(key_evals, rules)
    suggested = rules.value("key_evaluation.suggested_cut")
    floors = set(rules.value("key_evaluation.suggested_cut_floor_grades"))
    tol = float(rules.value("key_evaluation.decision_tolerance"))
    info_cols = [c for c in PROJECT_INFO if c in projects.columns]
    k = key_evals.merge(projects[KEY + info_cols], on=KEY, how="left").reset_index(drop=True)
    for c in list(KEY_DIMENSIONS) + ["next_request", "next_approved", "budget"]:
        k[c] = k[c].astype("float64")
    k["total_score"] = k[list(KEY_DIMENSIONS)].sum(axis=1).round(2)
    k["grade"] = grades_of(k["total_score"], rules)
    k["cut"] = (k["next_request"] - k["next_approved"]).round(2)
    k["cut_rate"] = (k["cut"] / k["next_request"].where(k["next_request"] > 0)).astype("float64")
    k["suggested_cut_rate"] = k["grade"].map(suggested).astype("float64")
    k["suggested_is_floor"] = k["grade"].isin(floors)
    k["departure"] = (k["cut_rate"] - k["suggested_cut_rate"]).round(_EPS_DIGITS)
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
    """keyeval.* facts: projects, amount (Σ budget), request, cut, cut_rate (cut / request; None if 0)."""
    request = round(float(scored["next_request"].sum()), 2)
    cut = round(float(scored["cut"].sum()), 2)
    return {
        "keyeval.projects": int(len(scored)),
        "keyeval.amount": round(float(scored["budget"].sum()), 2),
        "keyeval.request": request,
        "keyeval.cut": cut,
        "keyeval.cut_rate": (cut / request) if request > 0 else None,
    }


def cut_by_grade(scored: pd.DataFrame, rules) -> pd.DataFrame:
    """Per grade: projects, Σ request, Σ cut, cut rate, suggested cut rate, departures."""
    suggested = rules.value("key_evaluation.suggested_cut")
    g = scored.groupby("grade")
    out = pd.DataFrame({"projects": g.size(), "request": g["next_request"].sum(), "cut": g["cut"].sum(),
                        "departs": g["departs"].sum()}).reindex(list(GRADES))
    out[["projects", "departs"]] = out[["projects", "departs"]].fillna(0).astype(int)
    out[["request", "cut"]] = out[["request", "cut"]].fillna(0.0)
    out["cut_rate"] = out["cut"] / out["request"].where(out["request"] > 0)
    out["suggested_cut_rate"] = [suggested[x] for x in out.index]
    out.index.name = "grade"
    return out.reset_index()


def key_domains(scored: pd.DataFrame) -> pd.DataFrame:
    """Per evaluation domain: projects, Σ budget, mean total score; largest budget first."""
    d = scored.assign(domain=scored["domain"].astype(object).fillna("未注明"))
    g = d.groupby("domain")
    out = pd.DataFrame({"projects": g.size(), "budget": g["budget"].sum(),
                        "mean_score": g["total_score"].mean().round(2)})
    return out.sort_values("budget", ascending=False, kind="stable").reset_index()


# --------------------------------------------------------------------------------------------
# facts and text
# --------------------------------------------------------------------------------------------
def evaluation_facts(store, year: int, rules, dept: str | None = None) -> dict:
    """Every fact of the evaluation report (SPEC names; money in 元, rates as fractions)."""
    facts = self_evaluation_summary(self_evaluation(store, year, rules, dept))
    facts.update(key_evaluation_totals(key_evaluations(store, year, rules, dept)))
    return facts


def _yi(x: float) -> str:
    return f"{x / 1e8:.2f}"


def _join_cn(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return "、".join(items[:-1]) + "和" + items[-1]


def key_evaluation_paragraph(scored: pd.DataFrame, year: int, *, named: int = 3) -> str:
    """The seed's section 四 sentence drafted from the data.

    Domains are listed by their Σ budget (largest first); the projects named are the largest
    (by budget) of each of the first ``named`` domains, as the seed names one project per domain;
    classified projects are never named.
    """
    from ..store import CLASSIFIED_NAME

    y = int(year)
    if scored.empty:
        return f"{y}年未开展财政重点绩效评价（数据中没有{y}年的重点评价记录）。"
    t = key_evaluation_totals(scored)
    domains = [d for d in key_domains(scored)["domain"] if d != "未注明"]
    ordered = scored[scored["project_name"].astype(object) != CLASSIFIED_NAME]
    ordered = ordered.assign(domain=ordered["domain"].astype(object).fillna("未注明"))
    ordered = ordered.sort_values("budget", ascending=False, kind="stable")
    names = []
    for d in key_domains(scored)["domain"]:
        hit = ordered.loc[ordered["domain"] == d, "project_name"]
        if len(hit) and len(names) < named:
            names.append(str(hit.iloc[0]))
    if len(names) < named:  # fewer domains than names wanted: the next largest projects
        names += [str(n) for n in ordered["project_name"] if str(n) not in names][: named - len(names)]
    text = f"{y}年重点绩效评价"
    if domains:
        text += f"在项目选取上聚焦{_join_cn(domains)}等领域，"
    text += "最终选定"
    if names:
        text += _join_cn([f"“{n}”" for n in names]) + "等"
    text += f"{t['keyeval.projects']}个项目开展重点绩效评价，涉及项目资金{_yi(t['keyeval.amount'])}亿元。"
    if t["keyeval.cut_rate"] is None:
        text += f"重点评价项目没有{y + 1}年预算申请数，无法计算压减情况。"
    else:
        text += (f"评价结果与预算安排进行了实质性挂钩，根据{y}年财政重点绩效评价结果，"
                 f"共压减{y + 1}年相关项目支出预算资金{_yi(t['keyeval.cut'])}亿元，"
                 f"压减率{t['keyeval.cut_rate'] * 100:.2f}%。")
    return text


def self_evaluation_paragraph(result: SelfEvaluation, year: int, rules) -> str:
    """A sentence on the recomputed self-evaluation scores of fiscal year ``year − 1``."""
    s = self_evaluation_summary(result)
    n_all = len(result.projects)
    fy = int(year) - 1
    if n_all == 0:
        return f"数据中没有{fy}年度项目的绩效自评记录。"
    if s["selfeval.recomputed"] == 0:
        return f"{fy}年度绩效自评共{n_all}个项目，均无可用于复核的绩效指标。"
    g = s["selfeval.grades"]
    margin = rules.value("self_evaluation.inflation_margin")
    return (f"按绩效指标完成情况复核{fy}年度绩效自评项目{s['selfeval.recomputed']}个（自评项目共{n_all}个），"
            f"复核平均得分{s['selfeval.mean_score']:.2f}分，其中优{g['优']}个、良{g['良']}个、中{g['中']}个、差{g['差']}个；"
            f"自评得分高于复核得分超过{margin:g}分（自评虚高）的项目{s['selfeval.inflated']}个。")


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
    """Results applied to next year's budget per project, with ``suggestion``: whether the suggested
    cut rate is a floor (不低于) or a target (约为)."""
    return scored.assign(suggestion=np.where(scored["suggested_is_floor"], "不低于", "约为"))


def report_title(year: int, dept: str | None = None, store=None) -> str:
    """The evaluation report's title (with the department's name when filtered)."""
    name = ""
    if dept is not None and store is not None:
        d = store.departments()
        hit = d[(d["dept_code"].astype(str) == str(dept)) | (d["dept_name"].astype(str) == str(dept))]
        name = str(hit["dept_name"].iloc[0]) if len(hit) else str(dept)
    elif dept is not None:
        name = str(dept)
    return f"{int(year)} 年{name}预算绩效评价与结果应用报告"


def flags_paragraph(result: SelfEvaluation, rules) -> str:
    """What the auditor's checks found, by kind, with the thresholds applied."""
    f = result.flags
    if f.empty:
        return "复核未发现需要关注的问题。"
    per = f.groupby("flag")["project_id"].nunique()
    n_over = int((f["flag"] == FLAG_OVERACHIEVED).sum())
    margin = rules.value("self_evaluation.inflation_margin")
    ratio = rules.value("self_evaluation.overachievement_ratio")
    low = rules.value("self_evaluation.full_marks_low_execution")
    full = rules.value("self_evaluation.full_marks_min")
    parts = []
    if per.get(FLAG_INFLATED, 0):
        parts.append(f"自评得分高于复核得分超过{margin:g}分（自评虚高）的项目{per[FLAG_INFLATED]}个")
    if n_over:
        parts.append(f"实际完成值超过目标值{ratio:.0%}（目标可能定得过低）的指标{n_over}个，涉及项目{per[FLAG_OVERACHIEVED]}个")
    if per.get(FLAG_FULL_LOW_EXEC, 0):
        parts.append(f"自评{full:g}分但预算执行率低于{low:.0%}的项目{per[FLAG_FULL_LOW_EXEC]}个")
    if per.get(FLAG_MISSING, 0):
        parts.append(f"有指标缺少实际完成值的项目{per[FLAG_MISSING]}个")
    if per.get(FLAG_UNREADABLE, 0):
        parts.append(f"指标值或完成值无法识别的项目{per[FLAG_UNREADABLE]}个")
    if per.get(FLAG_NO_BUDGET, 0):
        parts.append(f"全年预算数为0的项目{per[FLAG_NO_BUDGET]}个")
    if per.get(FLAG_NOT_RECOMPUTED, 0):
        parts.append(f"没有绩效目标指标、无法复核的项目{per[FLAG_NOT_RECOMPUTED]}个")
    return "复核发现：" + "；".join(parts) + "。各项目的问题及相关数字见下表。"


def budget_application_paragraph(scored: pd.DataFrame, year: int, rules) -> str:
    """Results applied to next year's budget: totals, by grade, and departures from the suggestion."""
    y = int(year)
    if scored.empty:
        return f"{y}年没有重点评价项目，不涉及评价结果与{y + 1}年预算安排的挂钩。"
    t = key_evaluation_totals(scored)
    tol = rules.value("key_evaluation.decision_tolerance")
    g = scored["grade"].value_counts()
    grades_text = "、".join(f"{k}{int(g.get(k, 0))}个" for k in GRADES)
    text = (f"{y}年重点评价项目{t['keyeval.projects']}个，评价等级{grades_text}。"
            f"相关项目{y + 1}年申请预算{_yi(t['keyeval.request'])}亿元，")
    if t["keyeval.cut_rate"] is None:
        return text + "申请数为0，无法计算压减率。"
    text += (f"安排{_yi(t['keyeval.request'] - t['keyeval.cut'])}亿元，压减{_yi(t['keyeval.cut'])}亿元，"
             f"压减率{t['keyeval.cut_rate'] * 100:.2f}%。")
    too_little = int((scored["decision"] == DECISION_TOO_LITTLE).sum())
    too_much = int((scored["decision"] == DECISION_TOO_MUCH).sum())
    if too_little or too_much:
        text += (f"与按等级建议的压减比例相比（容差{tol * 100:g}个百分点），压减不足的项目{too_little}个，"
                 f"压减超出建议的项目{too_much}个，其余项目的安排符合建议。")
    else:
        text += f"各项目的压减比例均在按等级建议比例的容差（{tol * 100:g}个百分点）以内。"
    return text
