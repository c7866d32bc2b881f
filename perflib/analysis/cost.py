"""成本预算绩效 (seed section 七): unit costs, peer benchmarks, expenditure standards and savings
per project type.

Definitions (SPEC; every threshold from ``rules.cost``):

* **unit cost** of a project-year = Σ its cost elements (成本构成) / its output quantity (产出数量).
  A project-year with several output rows of one unit uses the sum of their quantities (quality =
  quantity-weighted mean); several units within one project-year cannot be divided and are flagged.
* **peers** of a type = its project-years within the *pilot years* (the ``cost.pilot_years`` years
  ending at Y) whose unit cost is valid and whose output unit is the type's unit. The type's unit is
  the most frequent unit among its pilot-year rows (ties: the one more frequent in Y, then the first
  in sort order); rows in another unit are flagged 「计量单位不一致」 and left out, never divided.
* **expenditure standard** (支出标准) = ``numpy.quantile(peer unit costs, cost.standard_percentile)``
  (numpy's default linear method); a type gets one only with ≥ ``cost.min_peers`` peers (inclusive;
  a peer is a project-year, so three venues over three pilot years are nine peers).
* **savings** (测算可压减, an estimate) = Σ over the type's year-Y peers of max(0, unit cost −
  standard) × quantity. It says what the standard *would* cut, not what the budget did.
* **actual cut** (实际压减) = Σ over the type's year-Y projects with outputs that have a next-year
  budget of max(0, 年初预算数(Y) − 下年预算数(Y+1)). 下年预算数 is the project's row of table
  ``next_budgets`` for Y+1, else its Y+1 row of ``projects`` (年初预算数); a project with neither is
  left out and listed. None when no such project has one (the data do not hold next year's budgets).
* **outliers**: robust z = ``cost.mad_scale`` × (x − median) / MAD over the peers; |z| >
  ``cost.outlier_z`` (strictly greater) is an outlier. MAD = 0 (more than half the peers share one
  unit cost): z = (x − median) / (``cost.meanad_scale`` × mean absolute deviation) instead; when
  that is 0 too (all peers equal) every z is 0. Never inf.
* **quality-adjusted standard** (shown beside the plain one; facts use the plain one): the same
  percentile over the peers whose quality score is ≥ the peers' median quality score, so that a
  standard is not set by cheap-and-bad projects; needs ≥ ``cost.min_peers`` such peers.

Zero quantity, missing cost elements, missing quantity or mismatched units give a row flag with a
Chinese message (column ``problem``) and a NaN unit cost, so no inf ever reaches a report.
"""
from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from ..rules import Rules
from ..store import CLASSIFIED_PREFIX
from .regression import linregress

LOOP_STEPS = ("入库分析", "编制细化", "审核核定", "执行控制", "完成评价")

# What each step of the seed's closed loop needs in the data (shown in the report beside the table).
LOOP_EVIDENCE = {
    "入库分析": "有产出数量（可算单位成本）",
    "编制细化": "有成本构成明细",
    "审核核定": "有下年度预算（可对照支出标准核定）",
    "执行控制": "有当年支付记录",
    "完成评价": "有当年度绩效自评",
}

# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------
def pilot_years(year: int, rules: Rules) -> list[int]:
    """The ``cost.pilot_years`` years ending at ``year`` (inclusive), ascending."""
    n = int(rules.value("cost.pilot_years"))
    if n < 1:
        raise ParameterError(f"规则 cost.pilot_years 应为正整数，实际为 {n}")
    return list(range(year - n + 1, year + 1))


@dataclass
class CostData:
    """The store's cost inputs for the pilot years of ``year`` (redacted, canonical columns).

    ``projects`` covers the pilot years and year + 1; ``next_budgets`` the 下年预算 rows of year + 1
    (both for the budget actually cut next year).
    """

    year: int
    pilot_years: list[int]
    projects: pd.DataFrame
    costs: pd.DataFrame
    outputs: pd.DataFrame
    next_budgets: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {"project_id": pd.Series([], dtype=object), "year": pd.Series([], dtype="int64"),
         "budget": pd.Series([], dtype="float64")}))


def load_cost_data(store, year: int, rules: Rules) -> CostData:
    """Read projects, cost elements and outputs of the pilot years (and Y + 1 projects) from a Store.

    Example: ``data = load_cost_data(Store("data/perf.duckdb"), 2023, load_rules())``
    """
    years = pilot_years(year, rules)
    wanted = [y for y in years + [year + 1] if y in set(store.years())]
    projects = store.projects(wanted) if wanted else store.projects([year])
    keep = ["project_id", "year", "project_name", "dept_code", "dept_name", "project_type",
            "budget_amount", "adjusted_amount", "budget"]
    projects = projects[[c for c in keep if c in projects.columns]].copy()
    return CostData(year=year, pilot_years=years, projects=projects,
                    costs=store.table("costs", years), outputs=store.table("outputs", years),
                    next_budgets=store.table("next_budgets", year + 1))


# --------------------------------------------------------------------------------------------
# Unit costs
# --------------------------------------------------------------------------------------------
def with_labels(projects: pd.DataFrame) -> pd.DataFrame:
    """Add ``label``: the project name, with the department in brackets where several projects of
    the frame share one name (e.g. 公务接待费（区教体局）); redacted projects stay 涉密项目."""
    out = projects.copy()
    name = out["project_name"].astype(str)
    ambiguous = name.map(out.groupby(name)["project_id"].nunique()) > 1
    redacted = out["project_id"].astype(str).str.startswith(CLASSIFIED_PREFIX)
    dept = out["dept_name"].astype(object).where(out["dept_name"].notna(), "") if "dept_name" in out \
        else pd.Series("", index=out.index)
    out["label"] = name.where(~ambiguous | redacted | (dept == ""), name + "（" + dept.astype(str) + "）")
    return out


def project_year_table(projects: pd.DataFrame, costs: pd.DataFrame, outputs: pd.DataFrame,
                       project_type: str, years: list[int]) -> pd.DataFrame:
    """One row per project-year of ``project_type`` in ``years`` (with or without cost data): total
    cost, output (name, unit, quantity, quality), unit cost and a Chinese ``problem`` flag.

    Rules: total cost = Σ cost elements (NaN when the project-year has none); several output rows
    of one unit are summed (quality = quantity-weighted mean of the scores given); several units in
    one project-year, zero or missing quantity, or no cost elements → ``unit_cost`` NaN and a
    ``problem`` message. Never inf.
    """
    typed = projects[(projects["project_type"] == project_type) & projects["year"].isin(years)]
    cols = ["project_id", "year", "project_name", "dept_name", "project_type"]
    typed = typed[[c for c in cols if c in typed.columns]].drop_duplicates(["project_id", "year"])
    typed = with_labels(typed)
    keys = typed[["project_id", "year"]]

    c = costs.merge(keys, on=["project_id", "year"])
    total = (c.groupby(["project_id", "year"], as_index=False)["amount"].sum()
             .rename(columns={"amount": "total_cost"}))

    o = outputs.merge(keys, on=["project_id", "year"]).copy()
    o["_qw"] = o["quality_score"] * o["quantity"]
    o["_qn"] = o["quantity"].where(o["quality_score"].notna())
    grouped = o.groupby(["project_id", "year"])
    out = grouped.agg(
        n_units=("unit", "nunique"),
        quantity=("quantity", lambda s: s.sum(min_count=len(s))),
        _qw=("_qw", "sum"),
        _qn=("_qn", "sum"),
        _qcount=("quality_score", "count"),
    ).reset_index()
    at = pd.MultiIndex.from_frame(out[["project_id", "year"]])
    out.insert(2, "output_name", _distinct_texts(o, "output_name", dropna=False).reindex(at).to_numpy())
    out.insert(3, "unit", _distinct_texts(o, "unit", dropna=True).reindex(at).fillna("").to_numpy())
    out["quality_score"] = np.where((out["_qcount"] > 0) & (out["_qn"] > 0),
                                    out["_qw"] / out["_qn"].where(out["_qn"] > 0), np.nan)
    # a score given on zero quantity: plain mean of the scores
    plain = grouped["quality_score"].mean().reset_index(name="_qmean")
    out = out.merge(plain, on=["project_id", "year"], how="left")
    out["quality_score"] = out["quality_score"].where(out["quality_score"].notna(), out["_qmean"])
    out = out.drop(columns=["_qw", "_qn", "_qcount", "_qmean"])

    rows = typed.merge(total, on=["project_id", "year"], how="left").merge(
        out, on=["project_id", "year"], how="left")
    rows = rows.copy()
    rows["has_outputs"] = rows["n_units"].notna()

    problem = pd.Series("", index=rows.index, dtype=object)
    qty = rows["quantity"].astype(float)
    problem[~rows["has_outputs"]] = "无产出数量数据，无法计算单位成本"
    problem[~rows["has_outputs"] & rows["total_cost"].isna()] = "无成本构成和产出数量数据"
    problem[rows["has_outputs"] & (rows["n_units"] > 1)] = "同一项目年度的产出有多个计量单位，无法合并计算单位成本"
    single = rows["has_outputs"] & (rows["n_units"] <= 1)
    problem[single & qty.isna()] = "产出数量为空，无法计算单位成本"
    problem[single & (qty == 0)] = "产出数量为 0，无法计算单位成本（不以 0 作除数）"
    problem[(problem == "") & rows["total_cost"].isna()] = "无成本构成数据，无法计算单位成本"
    rows["problem"] = problem
    ok = problem == ""
    rows["unit_cost"] = np.where(ok, rows["total_cost"] / qty.where(ok & (qty > 0)), np.nan)
    rows = rows.drop(columns=["n_units"])
    return rows.sort_values(["year", "project_id"]).reset_index(drop=True)


def _distinct_texts(frame: pd.DataFrame, column: str, *, dropna: bool) -> pd.Series:
    """Per (project_id, year) of ``frame``: the distinct values of ``column`` as text, sorted and
    joined with 「、」 (a missing value as ``str`` writes it unless ``dropna``), indexed by the
    two keys; a key with nothing to join is absent. One sort for all keys (a join per group:
    1.3 s for a province type's 5,400 project-years)."""
    f = frame[["project_id", "year", column]]
    if dropna:
        f = f[f[column].notna()]
    f = f.drop_duplicates()
    text = pd.Series(list(map(str, f[column])), index=f.index, dtype=object)
    f = f.assign(_text=text).sort_values("_text", kind="stable")
    return f.groupby(["project_id", "year"], sort=False)["_text"].agg("、".join)


def type_unit(rows: pd.DataFrame, year: int) -> str | None:
    """The output unit of a type: the most frequent unit among its computable rows (ties: the more
    frequent in ``year``, then the first in sort order); None when no row is computable."""
    ok = rows[rows["unit_cost"].notna()]
    if ok.empty:
        return None
    counts = ok.groupby("unit").size().rename("n").to_frame()
    counts["n_year"] = ok[ok["year"] == year].groupby("unit").size()
    counts["n_year"] = counts["n_year"].fillna(0)
    counts = counts.reset_index().sort_values(["n", "n_year", "unit"], ascending=[False, False, True])
    return str(counts["unit"].iloc[0])


def mark_unit_mismatch(rows: pd.DataFrame, unit: str | None) -> pd.DataFrame:
    """Flag computable rows whose unit differs from the type's unit (unit cost set to NaN)."""
    out = rows.copy()
    if unit is None:
        out["is_peer"] = False
        return out
    bad = out["unit_cost"].notna() & (out["unit"] != unit)
    out.loc[bad, "problem"] = out.loc[bad, "unit"].map(
        lambda u: f"计量单位「{u}」与同类项目的「{unit}」不一致，未纳入单位成本比较")
    out.loc[bad, "unit_cost"] = np.nan
    out["is_peer"] = out["unit_cost"].notna()
    return out


# --------------------------------------------------------------------------------------------
# Standards, outliers, savings
# --------------------------------------------------------------------------------------------
def percentile_standard(unit_costs, percentile: float, min_peers: int) -> float:
    """``numpy.quantile`` (linear) of the unit costs, or NaN with fewer than ``min_peers`` values."""
    values = pd.Series(unit_costs, dtype="float64").dropna().to_numpy()
    if len(values) < int(min_peers) or len(values) == 0:
        return float("nan")
    return float(np.quantile(values, percentile))


def robust_z(values, mad_scale: float, meanad_scale: float) -> pd.Series:
    """Robust z-scores (Iglewicz & Hoaglin): ``mad_scale × (x − median) / MAD``.

    MAD = 0: ``(x − median) / (meanad_scale × mean absolute deviation)``; both 0 → all z = 0.
    NaN inputs stay NaN and are not part of the median/MAD. Never inf.
    """
    s = pd.Series(values, dtype="float64")
    x = s.dropna()
    if x.empty:
        return pd.Series(np.nan, index=s.index)
    med = float(np.median(x))
    dev = (s - med).abs()
    mad = float(np.median(dev.dropna()))
    if mad > 0:
        return mad_scale * (s - med) / mad
    meanad = float(dev.dropna().mean())
    if meanad > 0:
        return (s - med) / (meanad_scale * meanad)
    return (s - med) * 0.0


def savings_of(rows: pd.DataFrame, standard: float) -> pd.Series:
    """Per row max(0, unit cost − standard) × quantity (0 where no unit cost; NaN with no standard)."""
    if standard is None or not np.isfinite(standard):
        return pd.Series(np.nan, index=rows.index)
    excess = (rows["unit_cost"] - standard).clip(lower=0)
    return (excess * rows["quantity"]).where(rows["unit_cost"].notna(), 0.0)


@dataclass
class TypeAnalysis:
    """Everything the cost report says about one project type in year Y.

    ``rows``: every project-year of the type in the pilot years with outputs or costs (columns of
    :func:`project_year_table` plus ``is_peer``, ``robust_z``, ``is_outlier``, ``excess``,
    ``saving`` (year-Y rows only)). ``standard`` NaN when the type has too few peers.
    """

    project_type: str
    year: int
    pilot_years: list[int]
    unit: str | None
    rows: pd.DataFrame
    standard: float
    quality_standard: float
    quality_median: float
    percentile: float
    min_peers: int
    # conditions the report states, as (kind, values): ("units", {"units", "unit"}): several output
    # units, only ``unit`` compared; ("few_peers", {"peers", "min_peers"}): no standard;
    # ("unusable", {"year", "items": [(label, problem)]}): year-Y projects left out of the savings.
    # present/text/cost.py words them.
    notes: list[tuple[str, dict]] = field(default_factory=list)

    @property
    def peers(self) -> pd.DataFrame:
        return self.rows[self.rows["is_peer"]]

    @property
    def current(self) -> pd.DataFrame:
        """Year-Y project-years that have outputs (SPEC: 'its projects of year Y with outputs')."""
        return self.rows[(self.rows["year"] == self.year) & self.rows["has_outputs"]]

    @property
    def has_standard(self) -> bool:
        return bool(np.isfinite(self.standard))

    @property
    def savings(self) -> float:
        if not self.has_standard:
            return float("nan")
        return float(self.current["saving"].fillna(0).sum())

    @property
    def outliers(self) -> int:
        return int(self.current["is_outlier"].sum())


def analyse_type(data: CostData, project_type: str, rules: Rules) -> TypeAnalysis:
    """Unit costs, the type's unit, standard (plain and quality-adjusted), outliers and savings.

    Example: ``a = analyse_type(load_cost_data(store, 2023, rules), "道路保洁", rules); a.standard``
    """
    year = data.year
    percentile = float(rules.value("cost.standard_percentile"))
    min_peers = int(rules.value("cost.min_peers"))
    rows = project_year_table(data.projects, data.costs, data.outputs, project_type, data.pilot_years)
    notes: list[tuple[str, dict]] = []
    unit = type_unit(rows, year)
    units = sorted(set(rows.loc[rows["unit_cost"].notna(), "unit"]))
    if len(units) > 1:
        notes.append(("units", {"units": units, "unit": unit}))
    rows = mark_unit_mismatch(rows, unit)
    peers = rows[rows["is_peer"]]
    standard = percentile_standard(peers["unit_cost"], percentile, min_peers)
    if not np.isfinite(standard):
        notes.append(("few_peers", {"peers": len(peers), "min_peers": min_peers}))
    q = peers["quality_score"].dropna()
    quality_median = float(np.median(q)) if len(q) else float("nan")
    if len(q):
        good = peers[peers["quality_score"] >= quality_median]
        quality_standard = percentile_standard(good["unit_cost"], percentile, min_peers)
    else:
        quality_standard = float("nan")

    z = robust_z(peers["unit_cost"], rules.value("cost.mad_scale"), rules.value("cost.meanad_scale"))
    rows["robust_z"] = z.reindex(rows.index)
    rows["is_outlier"] = (rows["robust_z"].abs() > float(rules.value("cost.outlier_z"))).fillna(False)
    rows["excess"] = np.where(np.isfinite(standard), (rows["unit_cost"] - standard).clip(lower=0), np.nan)
    in_year = rows["year"] == year
    rows["saving"] = savings_of(rows, standard).where(in_year)
    bad = rows[in_year & rows["has_outputs"] & ~rows["is_peer"]]
    if len(bad):
        notes.append(("unusable", {"year": year, "items": [(r.label, r.problem) for r in bad.itertuples()]}))
    return TypeAnalysis(project_type=project_type, year=year, pilot_years=data.pilot_years, unit=unit,
                        rows=rows, standard=standard, quality_standard=quality_standard,
                        quality_median=quality_median, percentile=percentile, min_peers=min_peers,
                        notes=notes)


def sensitivity_table(analysis: TypeAnalysis, percentiles) -> pd.DataFrame:
    """Standard, year-Y projects above it and savings for each percentile (the rule's one included)."""
    ps = sorted(set(float(p) for p in percentiles) | {analysis.percentile})
    peers = analysis.peers
    cur = analysis.current[analysis.current["is_peer"]]
    out = []
    for p in ps:
        std = percentile_standard(peers["unit_cost"], p, analysis.min_peers)
        sav = savings_of(cur, std)
        out.append({"percentile": p, "standard": std, "peers": len(peers),
                    "above": int((cur["unit_cost"] > std).sum()) if np.isfinite(std) else 0,
                    "savings": float(sav.sum()) if np.isfinite(std) else float("nan"),
                    "is_rule": p == analysis.percentile})
    return pd.DataFrame(out)


# --------------------------------------------------------------------------------------------
# Cost structure, drivers, cost-effectiveness
# --------------------------------------------------------------------------------------------
def cost_structure(data: CostData, project_type: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shares of each cost element: per project-year (long: project, year, element, amount, share)
    and overall per year (Σ over the type's projects). Shares of a zero total are NaN."""
    typed = data.projects[(data.projects["project_type"] == project_type)
                          & data.projects["year"].isin(data.pilot_years)]
    typed = with_labels(typed.drop_duplicates(["project_id", "year"]))[
        ["project_id", "year", "project_name", "label"]]
    c = data.costs.merge(typed, on=["project_id", "year"]).rename(columns={"cost_element": "element"})
    per = c.groupby(["project_id", "project_name", "label", "year", "element"], as_index=False)["amount"].sum()
    tot = per.groupby(["project_id", "year"])["amount"].transform("sum")
    per["share"] = per["amount"] / tot.where(tot > 0)
    overall = per.groupby(["year", "element"], as_index=False)["amount"].sum()
    ytot = overall.groupby("year")["amount"].transform("sum")
    overall["share"] = overall["amount"] / ytot.where(ytot > 0)
    return per.sort_values(["year", "project_id", "element"]).reset_index(drop=True), \
        overall.sort_values(["year", "element"]).reset_index(drop=True)


@dataclass
class CostRegression:
    """Ordinary least squares of total cost (元) on output quantity over the type's peers."""

    n: int
    fixed: float           # intercept: cost that does not move with output (元)
    variable: float        # slope: 元 per unit of output
    r_squared: float
    p_value: float
    fixed_share: float     # intercept / mean total cost
    unit: str | None
    reason: str = ""     # why there is no regression: "few_peers" (< 3), "same_quantity"; else empty


def cost_regression(analysis: TypeAnalysis) -> CostRegression:
    """Regress total cost on quantity (:func:`linregress`) over the peers of the pilot years.

    Needs at least 3 peers with at least 2 different quantities (otherwise a ``reason``, no fit).
    """
    p = analysis.peers
    if len(p) < 3 or p["quantity"].nunique() < 2:
        return CostRegression(len(p), float("nan"), float("nan"), float("nan"), float("nan"),
                              float("nan"), analysis.unit, reason="few_peers" if len(p) < 3 else "same_quantity")
    slope, intercept, r, p_value = linregress(p["quantity"].astype(float), p["total_cost"].astype(float))
    mean_cost = float(p["total_cost"].mean())
    return CostRegression(n=len(p), fixed=intercept, variable=slope, r_squared=r ** 2, p_value=p_value,
                          fixed_share=intercept / mean_cost if mean_cost > 0 else float("nan"),
                          unit=analysis.unit)


def efficient_frontier(frame: pd.DataFrame) -> pd.Series:
    """True for rows not dominated by another row with unit cost ≤ and quality ≥, one of them strict
    (lower unit cost and higher quality is better). Rows lacking either value are False."""
    ok = frame["unit_cost"].notna() & frame["quality_score"].notna()
    uc = frame.loc[ok, "unit_cost"].to_numpy(float)
    q = frame.loc[ok, "quality_score"].to_numpy(float)
    dominated = ((uc[None, :] <= uc[:, None]) & (q[None, :] >= q[:, None])
                 & ((uc[None, :] < uc[:, None]) | (q[None, :] > q[:, None]))).any(axis=1)
    out = pd.Series(False, index=frame.index)
    out[ok] = ~dominated
    return out


def cost_effectiveness(analysis: TypeAnalysis) -> pd.DataFrame:
    """Year-Y peers with quality against unit cost: the efficient frontier, and 低价低质 (unit cost
    below the standard while quality is below the peers' median quality) so that cheap-and-bad is
    not mistaken for efficient."""
    cur = analysis.current[analysis.current["is_peer"]].copy()
    cur["efficient"] = efficient_frontier(cur)
    if analysis.has_standard and np.isfinite(analysis.quality_median):
        cur["cheap_low_quality"] = ((cur["unit_cost"] < analysis.standard)
                                    & (cur["quality_score"] < analysis.quality_median))
    else:
        cur["cheap_low_quality"] = False
    cols = ["project_id", "project_name", "dept_name", "label", "unit_cost", "quality_score", "efficient",
            "cheap_low_quality"]
    return cur[cols].sort_values("unit_cost").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Savings against the budget actually cut, and the five-step closed loop
# --------------------------------------------------------------------------------------------
NEXT_SOURCES = {"next_budgets": "下年预算表", "projects": "项目表"}


def next_year_budgets(data: CostData) -> pd.DataFrame:
    """下年预算数 per project code for year Y + 1: ``project_id``, ``next_budget`` (元), ``next_source``
    (``next_budgets`` — the 下年预算 table, preferred — or ``projects`` — the project's Y + 1 row)."""
    nb = data.next_budgets
    nb = nb[nb["year"] == data.year + 1][["project_id", "budget"]].rename(columns={"budget": "next_budget"})
    nb = nb.assign(next_source="next_budgets")
    pr = data.projects[data.projects["year"] == data.year + 1][["project_id", "budget_amount"]].rename(
        columns={"budget_amount": "next_budget"}).assign(next_source="projects")
    pr = pr[~pr["project_id"].isin(set(nb["project_id"]))]
    out = pd.concat([nb, pr], ignore_index=True)
    out["next_budget"] = out["next_budget"].astype("float64")
    return out.drop_duplicates("project_id").reset_index(drop=True)


def savings_vs_budget(analysis: TypeAnalysis, data: CostData) -> pd.DataFrame:
    """Year-Y projects with outputs: the estimate (``saving``, 测算可压减) beside the budget actually
    cut: ``budget_amount`` (年初预算数 of Y), ``next_budget`` (下年预算数 of Y + 1, see
    :func:`next_year_budgets`; NaN where the data hold none), ``budget_change`` (budget − next budget,
    negative = raised), ``actual_cut`` (max(0, budget_change)) and ``cut_minus_saving``."""
    cur = analysis.current[["project_id", "project_name", "dept_name", "label", "unit_cost", "saving"]]
    this = data.projects[data.projects["year"] == analysis.year][["project_id", "budget_amount"]]
    out = cur.merge(this, on="project_id", how="left").merge(next_year_budgets(data), on="project_id",
                                                             how="left")
    out["budget_amount"] = out["budget_amount"].astype("float64")
    out["budget_change"] = out["budget_amount"] - out["next_budget"]
    out["actual_cut"] = out["budget_change"].clip(lower=0)
    out["cut_minus_saving"] = out["actual_cut"] - out["saving"]
    return out.reset_index(drop=True)


def actual_cut(table: pd.DataFrame) -> float | None:
    """Σ ``actual_cut`` of :func:`savings_vs_budget`'s projects that have a next-year budget, to the
    fen; None when none has one."""
    have = table[table["next_budget"].notna()]
    return None if have.empty else float(round(have["actual_cut"].sum(), 2))


def closed_loop(store, analysis: TypeAnalysis) -> pd.DataFrame:
    """For each year-Y project of the type: which of the five steps its data supports, and what
    cost evidence is missing (see :data:`LOOP_EVIDENCE`)."""
    y = analysis.year
    cur = analysis.rows[analysis.rows["year"] == y][
        ["project_id", "project_name", "dept_name", "has_outputs", "total_cost", "quantity"]].copy()
    pay = store.redact_frame(store.sql(
        "SELECT project_id, sum(amount) AS paid FROM payments WHERE year = ? GROUP BY project_id", [y]))
    selfeval = store.table("self_evaluations", y)[["project_id"]]
    nxt = pd.concat([store.table("projects", y + 1)[["project_id"]],
                     store.table("next_budgets", y + 1)[["project_id"]]], ignore_index=True)
    ids = cur["project_id"]
    cur["入库分析"] = cur["has_outputs"] & (cur["quantity"].fillna(0) > 0)
    cur["编制细化"] = cur["total_cost"].notna()
    cur["审核核定"] = ids.isin(set(nxt["project_id"]))
    paid = dict(zip(pay["project_id"], pay["paid"].astype(float)))
    cur["执行控制"] = ids.map(lambda i: paid.get(i, 0.0) > 0)
    cur["完成评价"] = ids.isin(set(selfeval["project_id"]))
    cur["missing"] = cur[list(LOOP_STEPS)].apply(
        lambda r: "、".join(LOOP_EVIDENCE[s].removeprefix("有") for s in LOOP_STEPS if not r[s]) or "—",
        axis=1)
    cur["steps"] = cur[list(LOOP_STEPS)].sum(axis=1).astype(int)
    return cur[["project_id", "project_name", "dept_name", *LOOP_STEPS, "steps", "missing"]] \
        .reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Facts
# --------------------------------------------------------------------------------------------
def _num(x: float, digits: int | None = None) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return float(round(x, digits)) if digits is not None else float(x)


def type_facts(analysis: TypeAnalysis, cut: float | None = None) -> dict:
    """SPEC fact names of one type: projects (year-Y project-years with outputs), unit-cost median of
    year Y, standard (None without one), savings (测算可压减) in 元 rounded to the fen (None without a
    standard), outliers (year-Y project-years with |robust z| > cost.outlier_z against the pilot-year
    peers), actual_cut (实际压减, :func:`actual_cut`; None without next year's budgets)."""
    cur = analysis.current
    uc = cur["unit_cost"].dropna()
    return {
        "cost.projects": int(len(cur)),
        "cost.unit_cost_median": _num(float(np.median(uc))) if len(uc) else None,
        "cost.standard": _num(analysis.standard),
        "cost.savings": _num(analysis.savings, 2),  # 元, to the fen
        "cost.outliers": analysis.outliers,
        "cost.actual_cut": cut,
    }


def check_project_type(store, year: int, project_type: str) -> None:
    """Raise a ParameterError naming the types available when ``project_type`` has no outputs in Y."""
    types = store.project_types(year)
    if project_type is None or str(project_type).strip() == "":
        raise ParameterError(f"请指定项目类型参数 project_type；{year} 年可选："
                             f"{'、'.join(types) if types else '（无）'}")
    if project_type not in types:
        raise ParameterError(f"{year} 年没有项目类型「{project_type}」的产出数据；可选："
                             f"{'、'.join(types) if types else '（无）'}")


def cost_facts(store, year: int, project_type: str, rules: Rules) -> dict:
    """The cost facts of one project type in year ``year`` (SPEC names; money in 元)."""
    check_project_type(store, year, project_type)
    data = load_cost_data(store, year, rules)
    a = analyse_type(data, project_type, rules)
    return type_facts(a, actual_cut(savings_vs_budget(a, data)))


def analyse_all_types(store, year: int, rules: Rules) -> dict[str, TypeAnalysis]:
    """:func:`analyse_type` for every project type with outputs in ``year`` (one read of the store)."""
    return cost_data_and_analyses(store, year, rules)[1]


def cost_data_and_analyses(store, year: int, rules: Rules) -> tuple[CostData, dict[str, TypeAnalysis]]:
    """:func:`load_cost_data` and :func:`analyse_type` of every type with outputs in ``year``, made
    once per store, year and rules (the overview's sections ask for them more than once); each call
    gets copies it may change."""
    def make():
        data = load_cost_data(store, year, rules)
        return data, analyse_types(data, store.project_types(year), rules)

    data, done = store.memo(("cost.analyse_all_types", int(year)), rules, make)
    frames = {f: getattr(data, f).copy(deep=False) for f in ("projects", "costs", "outputs", "next_budgets")}
    return (replace(data, pilot_years=list(data.pilot_years), **frames),
            {t: replace(a, pilot_years=list(a.pilot_years), rows=a.rows.copy(deep=False), notes=deepcopy(a.notes))
             for t, a in done.items()})


def analyse_types(data: CostData, types, rules: Rules) -> dict[str, TypeAnalysis]:
    """:func:`analyse_type` for each of ``types`` on one :class:`CostData`."""
    return {t: analyse_type(data, t, rules) for t in types}


def type_cuts(analyses: dict[str, TypeAnalysis], data: CostData) -> dict[str, float | None]:
    """:func:`actual_cut` of each type (None where none of its projects has a next-year budget)."""
    return {t: actual_cut(savings_vs_budget(a, data)) for t, a in analyses.items()}


def cost_overview_facts(store, year: int, rules: Rules) -> dict:
    """Overview facts: ``cost.standards`` = types with a standard; ``cost.savings_total`` = Σ their
    savings (元, 测算可压减); ``cost.actual_cut_total`` = Σ their actual cuts (None without data)."""
    data, analyses = cost_data_and_analyses(store, year, rules)
    return types_overview_facts(analyses, type_cuts(analyses, data))


def types_overview_facts(analyses: dict[str, TypeAnalysis], cuts: dict[str, float | None] | None = None
                         ) -> dict:
    """Σ of the per-type ``cost.savings`` facts (each to the fen) over the types with a standard, and
    Σ of the same types' ``cost.actual_cut`` (None when none of them has next year's budgets)."""
    with_std = [t for t, a in analyses.items() if a.has_standard]
    have = [cuts[t] for t in with_std if cuts and cuts.get(t) is not None]
    return {"cost.standards": len(with_std),
            "cost.savings_total": float(round(sum(type_facts(analyses[t])["cost.savings"] for t in with_std), 2)),
            "cost.actual_cut_total": float(round(sum(have), 2)) if have else None}


# --------------------------------------------------------------------------------------------
# Report tables (rows chosen and ordered here; headers, formats and words: present/)
# --------------------------------------------------------------------------------------------

def unit_cost_table(analysis: TypeAnalysis) -> pd.DataFrame:
    """Every project-year of the pilot years (cost, output, unit cost, z, flags), latest year and
    highest unit cost first.

    Example: ``unit_cost_table(analyse_type(load_cost_data(store, 2023, rules), "道路保洁", rules))``
    """
    df = analysis.rows.sort_values(["year", "unit_cost"], ascending=[False, False])
    return df.drop(columns=[c for c in ("label",) if c in df.columns]).reset_index(drop=True)


def quartiles(analysis: TypeAnalysis) -> pd.DataFrame:
    """Peer unit-cost quartiles per pilot year and over all pilot years (numpy linear quantiles):
    ``period`` (a year, or the span 2021—2023), ``peers``, ``min``, ``q1``, ``median``, ``q3``, ``max``."""
    peers = analysis.peers
    groups = [(str(y), peers[peers["year"] == y]["unit_cost"]) for y in analysis.pilot_years]
    groups.append((f"{analysis.pilot_years[0]}—{analysis.pilot_years[-1]}", peers["unit_cost"]))
    out = []
    for label, s in groups:
        v = s.dropna().to_numpy(float)
        q = np.quantile(v, [0, 0.25, 0.5, 0.75, 1]) if len(v) else [np.nan] * 5
        out.append({"period": label, "peers": len(v), "min": q[0], "q1": q[1], "median": q[2],
                    "q3": q[3], "max": q[4]})
    return pd.DataFrame(out)


def structure_table(overall: pd.DataFrame) -> pd.DataFrame:
    """Overall cost structure per year, wide: one row per ``element``, ``amount_<year>`` and
    ``share_<year>`` per year."""
    amount = overall.pivot_table(index="element", columns="year", values="amount", aggfunc="sum")
    share = overall.pivot_table(index="element", columns="year", values="share", aggfunc="sum")
    out = pd.DataFrame(index=amount.index)
    for y in amount.columns:
        out[f"amount_{int(y)}"] = amount[y]
        out[f"share_{int(y)}"] = share[y]
    return out.reset_index()


def structure_by_project(per_project: pd.DataFrame) -> pd.DataFrame:
    """Cost structure per project-year, wide: ``total_cost`` and each element's share
    (``share:<element>``), pilot years."""
    share = per_project.pivot_table(index=["project_id", "project_name", "year"], columns="element",
                                    values="share", aggfunc="sum")
    share.columns = [f"share:{c}" for c in share.columns]
    total = per_project.groupby(["project_id", "project_name", "year"])["amount"].sum().rename("total_cost")
    out = pd.concat([total, share], axis=1).reset_index()
    return out.sort_values(["year", "project_id"], ascending=[False, True]).reset_index(drop=True)


def standard_table(analysis: TypeAnalysis) -> pd.DataFrame:
    """The plain SPEC standard (used by the facts) beside the quality-adjusted one (reference only):
    ``basis`` ("rule": every peer; "quality": peers with a quality score ≥ ``quality_median``),
    ``percentile``, ``quality_median``, ``peers``, ``standard``, ``unit``."""
    a = analysis
    good = a.peers[a.peers["quality_score"] >= a.quality_median] if np.isfinite(a.quality_median) \
        else a.peers.iloc[0:0]
    return pd.DataFrame([
        {"basis": "rule", "percentile": a.percentile, "quality_median": a.quality_median,
         "peers": len(a.peers), "standard": a.standard, "unit": a.unit},
        {"basis": "quality", "percentile": a.percentile, "quality_median": a.quality_median,
         "peers": len(good), "standard": a.quality_standard, "unit": a.unit},
    ])

# --------------------------------------------------------------------------------------------
# Overview section 七
# --------------------------------------------------------------------------------------------
def types_table(analyses: dict[str, TypeAnalysis], cuts: dict[str, float | None] | None = None
                ) -> pd.DataFrame:
    """One row per project type: unit, peers, year-Y projects, median unit cost, standard, outliers,
    savings (测算可压减) and actual cut (实际压减; NaN without next year's budgets)."""
    rows = []
    for t, a in analyses.items():
        f = type_facts(a, (cuts or {}).get(t))
        rows.append({"project_type": t, "unit": a.unit, "peers": len(a.peers), "projects": f["cost.projects"],
                     "unit_cost_median": f["cost.unit_cost_median"], "standard": f["cost.standard"],
                     "outliers": f["cost.outliers"], "savings": f["cost.savings"],
                     "actual_cut": np.nan if f["cost.actual_cut"] is None else f["cost.actual_cut"]})
    return pd.DataFrame(rows, columns=["project_type", "unit", "peers", "projects", "unit_cost_median",
                                       "standard", "outliers", "savings", "actual_cut"])
