"""绩效目标审核 (财预〔2021〕101号): every project's targets for year Y checked against the rules
before the budget is approved, a conclusion per project and a summary per department.

Definitions (Y = the report year; every threshold from ``rules.target_review``):

* reviewed projects: projects of Y with at least one project-level target (the projects
  ``targets.projects`` counts); money is their 年初预算数 (the budget the targets are set for);
* each rule is a pure check over frames returning the failing projects with a Chinese reason
  (columns ``project_id``, ``rule``, ``reason``):

  - ``no_output`` / ``no_effect``: no 产出指标 / 效益指标 (coverage's ``has_output``/``has_effect``);
  - ``no_satisfaction``: no 满意度指标 on a project with 年初预算数 ≥ ``satisfaction_min_amount``;
  - ``no_cost``: no 成本指标 on a project with 年初预算数 ≥ ``cost_min_amount``;
  - ``unmeasurable``: a quantitative indicator (≥ ≤ =) without a numeric value or without a unit,
    or an indicator without a direction (ingest finding ``target_unit_missing`` is the unit part);
  - ``qualitative_text``: a 定性 indicator without target text (finding ``qualitative_target_missing``);
  - ``below_actual``: a continuing project (a project of Y−1 too) whose ≥ target is lower than the
    Y−1 actual (self_eval_indicators of Y−1, same project and indicator name), or whose ≤ target is
    higher than it;
  - ``over_standard``: a project of a type with an expenditure standard (:mod:`.cost`, pilot years
    ending at Y) whose 年初预算数 exceeds Σ its 产出/数量指标 targets in the type's unit × the standard
    by more than ``cost_tolerance``;
  - ``boilerplate``: an indicator of ``boilerplate_levels`` whose text, direction, value and unit are
    the same in more than ``boilerplate_min_projects`` projects belonging to two or more level-1
    departments;

* conclusion: 不通过 when a rule of ``fail_rules`` fails, else 修改后通过 when any rule fails, else 通过.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..rules import Rules
from . import cost
from .coverage import project_targets
from .indicators import to_number

PASSED, REVISE, FAILED = "通过", "修改后通过", "不通过"
CONCLUSIONS = (PASSED, REVISE, FAILED)
OUTPUT, EFFECT, SATISFACTION, COST = "产出指标", "效益指标", "满意度指标", "成本指标"
QUANTITATIVE = ("≥", "≤", "=")
QUALITATIVE = "定性"
QUANTITY_LEVEL2 = "数量指标"

# rule key → its title in the report (the rules file's fail_rules names these keys)
RULES: dict[str, str] = {
    "no_output": "缺少产出指标",
    "no_effect": "缺少效益指标",
    "no_satisfaction": "缺少满意度指标",
    "no_cost": "缺少成本指标",
    "unmeasurable": "定量指标不可衡量",
    "qualitative_text": "定性指标无目标内容",
    "below_actual": "目标低于上年实际",
    "over_standard": "预算超过数量×支出标准",
    "boilerplate": "套用模板指标",
}
ISSUE_COLUMNS = ["project_id", "rule", "reason"]


def _blank(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype(str).str.strip() == "")


def _issues(project_ids, rule: str, reasons) -> pd.DataFrame:
    ids = list(project_ids)
    reasons = [reasons] * len(ids) if isinstance(reasons, str) else list(reasons)
    return pd.DataFrame({"project_id": ids, "rule": rule, "reason": reasons},
                        columns=ISSUE_COLUMNS)


def _per_project(rows: pd.DataFrame, rule: str, text: pd.Series) -> pd.DataFrame:
    """One issue per project: the row texts of its failing indicators joined with 「、」."""
    if rows.empty:
        return _issues([], rule, [])
    joined = text.groupby(rows["project_id"]).agg(lambda s: "、".join(dict.fromkeys(s)))
    return _issues(joined.index, rule, joined.values)


def _money(x: float) -> str:
    return f"{x:,.2f} 元"


def _num(x: float) -> str:
    return f"{x:,.2f}".rstrip("0").rstrip(".")


# --- the checks (pure) ------------------------------------------------------------------------
def check_levels(projects: pd.DataFrame, targets: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """Missing level-1 indicators: 产出 and 效益 always (coverage's ``has_output``/``has_effect``),
    满意度 and 成本 for projects at or above the rules' 年初预算数 thresholds."""
    out = [_issues(projects.loc[~projects["has_output"], "project_id"], "no_output", RULES["no_output"]),
           _issues(projects.loc[~projects["has_effect"], "project_id"], "no_effect", RULES["no_effect"])]
    for rule, level, key in (("no_satisfaction", SATISFACTION, "satisfaction_min_amount"),
                             ("no_cost", COST, "cost_min_amount")):
        floor = float(rules.value(f"target_review.{key}"))
        having = set(targets.loc[targets["level1"] == level, "project_id"])
        hit = projects[(projects["budget_amount"] >= floor) & ~projects["project_id"].isin(having)]
        why = RULES[rule] if floor <= 0 else f"年初预算数不低于 {_money(floor)}的项目须设置"
        out.append(_issues(hit["project_id"], rule, [why] * len(hit)))
    return pd.concat(out, ignore_index=True)


def check_measurable(targets: pd.DataFrame) -> pd.DataFrame:
    """Quantitative indicators (≥ ≤ =) without a numeric value or a unit, and indicators without a
    direction: what cannot be measured at year end."""
    quant = targets["direction"].isin(QUANTITATIVE)
    no_value = quant & to_number(targets["target_value"]).isna()
    no_unit = quant & _blank(targets["unit"])
    no_dir = ~targets["direction"].isin(QUANTITATIVE + (QUALITATIVE,))
    bad = targets[no_value | no_unit | no_dir]
    parts = pd.Series("", index=bad.index, dtype=object)
    for mask, what in ((no_dir, "未填指标方向"), (no_value, "指标值不是数值"), (no_unit, "未填计量单位")):
        m = mask.reindex(bad.index)
        parts = parts.where(~m, parts + "，" + what)
    text = "「" + bad["indicator"].astype(str) + "」" + parts.str.lstrip("，")
    return _per_project(bad, "unmeasurable", text)


def check_qualitative_text(targets: pd.DataFrame) -> pd.DataFrame:
    """定性 indicators without target text (the rows of ingest finding ``qualitative_target_missing``)."""
    bad = targets[(targets["direction"] == QUALITATIVE) & _blank(targets["target_value"])]
    return _per_project(bad, "qualitative_text", "「" + bad["indicator"].astype(str) + "」未填目标内容")


def check_below_actual(targets: pd.DataFrame, actuals: pd.DataFrame, continuing) -> pd.DataFrame:
    """Continuing projects' ≥ targets below last year's actual, ≤ targets above it (same project and
    indicator name; both values numeric). ``actuals``: self_eval_indicators of Y−1."""
    t = targets[targets["project_id"].isin(set(continuing)) & targets["direction"].isin(("≥", "≤"))]
    a = actuals[["project_id", "indicator", "actual_value"]].drop_duplicates(["project_id", "indicator"])
    m = t.merge(a, on=["project_id", "indicator"], how="inner")
    tv, av = to_number(m["target_value"]), to_number(m["actual_value"])
    low = ((m["direction"] == "≥") & (tv < av)) | ((m["direction"] == "≤") & (tv > av))
    bad = m[low.fillna(False)]
    word = {"≥": "低于", "≤": "高于"}
    text = pd.Series([f"「{r.indicator}」目标值 {_num(tv[i])} {word[r.direction]}上年实际完成值 {_num(av[i])}"
                      for i, r in zip(bad.index, bad.itertuples())], index=bad.index, dtype=object)
    return _per_project(bad, "below_actual", text)


def check_over_standard(projects: pd.DataFrame, targets: pd.DataFrame, standards: pd.DataFrame,
                        tolerance: float) -> pd.DataFrame:
    """Projects whose 年初预算数 exceeds (1 + tolerance) × Σ 数量指标 targets (in the type's unit) ×
    the type's standard. ``standards``: ``project_type``, ``unit``, ``standard`` (types with one)."""
    p = projects[["project_id", "project_type", "budget_amount"]].merge(standards, on="project_type")
    q = targets[(targets["level1"] == OUTPUT) & (targets["level2"] == QUANTITY_LEVEL2)
                & targets["direction"].isin(("≥", "="))]
    q = q.assign(qty=to_number(q["target_value"]))
    p = p.merge(q[["project_id", "unit", "qty"]], on=["project_id", "unit"], how="inner")
    p = p.groupby(["project_id", "project_type", "budget_amount", "unit", "standard"],
                  as_index=False)["qty"].sum(min_count=1)
    p = p[p["qty"] > 0]
    p["allowed"] = p["qty"] * p["standard"]
    bad = p[p["budget_amount"] > p["allowed"] * (1 + float(tolerance)) + 0.005]
    share = f"{1 + float(tolerance):.0%}"
    text = [f"年初预算数 {_money(r.budget_amount)} 超过数量指标 {_num(r.qty)} {r.unit} × 支出标准 "
            f"{_money(r.standard)}/{r.unit} = {_money(r.allowed)} 的 {share}" for r in bad.itertuples()]
    return _issues(bad["project_id"], "over_standard", text)


def boilerplate_indicators(targets: pd.DataFrame, projects: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """Indicators (text, direction, value, unit) of ``boilerplate_levels`` found in more than
    ``boilerplate_min_projects`` projects of two or more level-1 departments, with ``projects`` and
    ``departments`` counts."""
    levels = list(rules.value("target_review.boilerplate_levels"))
    n_min = int(rules.value("target_review.boilerplate_min_projects"))
    keys = ["indicator", "direction", "target_value", "unit"]
    t = targets[targets["level1"].isin(levels) & ~_blank(targets["indicator"])]
    t = t.merge(projects[["project_id", "level1_code"]], on="project_id")
    t = t.assign(**{k: t[k].fillna("") for k in keys})
    g = t.groupby(keys).agg(projects=("project_id", "nunique"), departments=("level1_code", "nunique"))
    g = g[(g["projects"] > n_min) & (g["departments"] >= 2)].reset_index()
    return g.sort_values(["projects"] + keys, ascending=[False] + [True] * 4).reset_index(drop=True)


def check_boilerplate(targets: pd.DataFrame, projects: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """Projects using a :func:`boilerplate_indicators` indicator, naming each and how many projects share it."""
    common = boilerplate_indicators(targets, projects, rules)
    keys = ["indicator", "direction", "target_value", "unit"]
    t = targets.assign(**{k: targets[k].fillna("") for k in keys})
    t = t[t["level1"].isin(list(rules.value("target_review.boilerplate_levels")))]
    hit = t.merge(common, on=keys)
    text = ("「" + hit["indicator"] + " " + hit["direction"] + " " + hit["target_value"] + hit["unit"]
            + "」与 " + hit["projects"].astype(str) + " 个项目（" + hit["departments"].astype(str)
            + " 个一级部门）相同")
    return _per_project(hit, "boilerplate", text)


# --- inputs, conclusions and summaries --------------------------------------------------------
@dataclass
class ReviewInputs:
    """What the checks read, district-wide (boilerplate is judged across departments).

    ``projects``: :func:`perflib.analysis.coverage.project_targets` rows with targets;
    ``targets``: project-level target rows of Y; ``actuals``: self_eval_indicators of Y−1;
    ``continuing``: project codes of Y−1; ``standards``: ``project_type``, ``unit``, ``standard``.
    """

    year: int
    projects: pd.DataFrame
    targets: pd.DataFrame
    actuals: pd.DataFrame
    continuing: set
    standards: pd.DataFrame


def load_inputs(store, year: int, rules: Rules) -> ReviewInputs:
    """Read the review's inputs for ``year`` from a Store (redacted: classified projects appear under
    their surrogate code and name)."""
    year = int(year)
    frame = project_targets(store, year, rules=rules)
    projects = frame[frame["has_target"]].reset_index(drop=True)
    targets = store.table("targets", year)
    targets = targets[targets["project_id"].notna()].reset_index(drop=True)
    actuals = store.table("self_eval_indicators", year - 1)
    continuing = set(store.projects(year - 1)["project_id"]) if year - 1 in set(store.years()) else set()
    analyses = cost.analyse_all_types(store, year, rules) if store.project_types(year) else {}
    standards = pd.DataFrame(
        [(t, a.unit, float(a.standard)) for t, a in analyses.items() if a.has_standard and a.unit],
        columns=["project_type", "unit", "standard"])
    return ReviewInputs(year, projects, targets, actuals, continuing, standards)


def run_checks(inputs: ReviewInputs, rules: Rules) -> pd.DataFrame:
    """Every failing (project, rule) with its reason, in :data:`RULES` order."""
    p, t = inputs.projects, inputs.targets
    t = t[t["project_id"].isin(set(p["project_id"]))]
    parts = [check_levels(p, t, rules), check_measurable(t), check_qualitative_text(t),
             check_below_actual(t, inputs.actuals, inputs.continuing),
             check_over_standard(p, t, inputs.standards, float(rules.value("target_review.cost_tolerance"))),
             check_boilerplate(t, p, rules)]
    out = pd.concat([x for x in parts if not x.empty] or [_issues([], "", [])], ignore_index=True)
    order = {k: i for i, k in enumerate(RULES)}
    return out.sort_values(["project_id", "rule"], key=lambda s: s.map(order) if s.name == "rule" else s,
                           kind="stable").reset_index(drop=True)


def conclusions(projects: pd.DataFrame, issues: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """``projects`` with ``conclusion`` (通过 / 修改后通过 / 不通过), ``n_issues``, ``failed_rules``
    (rule titles) and ``reasons`` (「rule title：reason」 joined with 「；」)."""
    fail = set(rules.value("target_review.fail_rules"))
    unknown = fail - set(RULES)
    if unknown:
        from ..exceptions import RulesError

        raise RulesError(f"规则 target_review.fail_rules 中的「{'、'.join(sorted(unknown))}」不是审核规则；"
                         f"可用的有：{'、'.join(RULES)}")
    i = issues.assign(title=issues["rule"].map(RULES), fails=issues["rule"].isin(fail))
    i = i.assign(line=np.where(i["title"] == i["reason"], i["title"], i["title"] + "：" + i["reason"]))
    g = i.groupby("project_id").agg(n_issues=("rule", "size"), any_fail=("fails", "any"),
                                    failed_rules=("title", "、".join), reasons=("line", "；".join))
    out = projects.merge(g, left_on="project_id", right_index=True, how="left")
    out["n_issues"] = out["n_issues"].fillna(0).astype(int)
    out["any_fail"] = out["any_fail"].astype("boolean").fillna(False).astype(bool)
    out["conclusion"] = np.where(out["any_fail"], FAILED, np.where(out["n_issues"] > 0, REVISE, PASSED))
    out["failed_rules"] = out["failed_rules"].fillna("")
    out["reasons"] = out["reasons"].fillna("")
    return out.drop(columns=["any_fail"])


@dataclass
class TargetReview:
    """The review of one year: ``projects`` (one row each, with conclusion and reasons), ``issues``
    (one row per failing project and rule), ``boilerplate`` (the shared indicators)."""

    year: int
    projects: pd.DataFrame
    issues: pd.DataFrame
    boilerplate: pd.DataFrame

    def restrict(self, dept: str | None) -> "TargetReview":
        """The review of one level-1 department (the checks still judged district-wide)."""
        if dept is None:
            return self
        p = self.projects[self.projects["level1_code"] == dept].reset_index(drop=True)
        i = self.issues[self.issues["project_id"].isin(set(p["project_id"]))].reset_index(drop=True)
        return TargetReview(self.year, p, i, self.boilerplate)


def review(store, year: int, rules: Rules, dept: str | None = None) -> TargetReview:
    """Review every project's targets of ``year`` (optionally one level-1 department's).

    Example: ``review(Store("data/perf.duckdb"), 2023, load_rules()).projects["conclusion"]``
    """
    inputs = load_inputs(store, year, rules)
    issues = run_checks(inputs, rules)
    projects = conclusions(inputs.projects, issues, rules)
    projects = projects.sort_values(["level1_code", "dept_code", "project_id"]).reset_index(drop=True)
    t = inputs.targets[inputs.targets["project_id"].isin(set(inputs.projects["project_id"]))]
    common = boilerplate_indicators(t, inputs.projects, rules)
    return TargetReview(int(year), projects, issues, common).restrict(dept)


def department_summary(projects: pd.DataFrame) -> pd.DataFrame:
    """Per level-1 department: reviewed projects and 年初预算数, and both by conclusion
    (``passed``/``revise``/``failed`` and ``*_amount``), most failures first."""
    f = projects.assign(_n=1)
    cols = {"projects": ("_n", "sum"), "amount": ("budget_amount", "sum")}
    for key, c in zip(("passed", "revise", "failed"), CONCLUSIONS):
        hit = f["conclusion"] == c
        f[f"_{key}"] = hit.astype(int)
        f[f"_{key}_a"] = f["budget_amount"].where(hit, 0.0)
        cols[key] = (f"_{key}", "sum")
        cols[f"{key}_amount"] = (f"_{key}_a", "sum")
    out = f.groupby(["level1_code", "level1_name"], dropna=False).agg(**cols).reset_index()
    for c in ("projects", "passed", "revise", "failed"):
        out[c] = out[c].astype(int)
    for c in ("amount", "passed_amount", "revise_amount", "failed_amount"):
        out[c] = out[c].astype(float).round(2)
    return out.sort_values(["failed", "revise", "level1_code"], ascending=[False, False, True]).reset_index(drop=True)


def rule_summary(projects: pd.DataFrame, issues: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """Per rule: its title, the conclusion it leads to, and the projects failing it (with their 年初预算数)."""
    fail = set(rules.value("target_review.fail_rules"))
    budget = projects.set_index("project_id")["budget_amount"]
    i = issues[issues["project_id"].isin(budget.index)]
    rows = []
    for rule, title in RULES.items():
        ids = set(i.loc[i["rule"] == rule, "project_id"])
        rows.append({"rule": title, "consequence": FAILED if rule in fail else REVISE,
                     "projects": len(ids), "amount": round(float(budget[list(ids)].sum()), 2)})
    return pd.DataFrame(rows)


def review_facts(result: TargetReview) -> dict:
    """SPEC facts: ``targets_review.projects`` (reviewed), ``.passed``, ``.revise``, ``.failed``."""
    c = result.projects["conclusion"]
    return {"targets_review.projects": int(len(c)),
            "targets_review.passed": int((c == PASSED).sum()),
            "targets_review.revise": int((c == REVISE).sum()),
            "targets_review.failed": int((c == FAILED).sum())}


def comments(projects: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """{level-1 department name: its projects' review comments} for the sheets sent back, in
    department code order; 不通过 first, then 修改后通过, then 通过."""
    order = {c: i for i, c in enumerate((FAILED, REVISE, PASSED))}
    cols = ["dept_name", "project_id", "project_name", "budget_amount", "conclusion", "reasons"]
    out = {}
    for (code, name), g in projects.groupby(["level1_code", "level1_name"], sort=True, dropna=False):
        g = g.sort_values(["conclusion", "project_id"], key=lambda s: s.map(order) if s.name == "conclusion" else s)
        out[str(name)] = g[cols].reset_index(drop=True)
    return out
