"""街道级政府财政运行综合绩效评价: indicator values, peer normalisation, a weighted index, and PEFA
outturn scores (PI-1, PI-2, PI-3) for street offices, drafted into Chinese findings.

Methods (all thresholds and weights from the rules' ``fiscal`` section):

* **Peers** of year Y: departments with 是否街道 = 是 that have 街道财政 rows for Y ("evaluated").
* **Indicators** (per street and year, from the 街道财政 table unless stated; see :data:`FORMULAS`):
  a ratio whose denominator is missing or ≤ 0 is *missing* (never inf); a growth rate needs the
  previous year's value (> 0). Coverage indicators use the street's *eligible* projects (本级, not
  涉密, not 特殊资金) of the street's dept_code and every unit under it: 绩效目标覆盖率 = eligible
  projects of Y with ≥ 1 project-level target / eligible projects of Y; 绩效自评覆盖率 = eligible
  projects of fiscal year Y−1 with a self-evaluation / eligible projects of Y−1 (the evaluation of
  Y−1 happens in Y, as SPEC's ``selfeval.*``); no eligible project → missing.
* **Normalisation** across the peers (min–max to 0–100): higher → 100·(x−min)/(max−min);
  lower → 100·(max−x)/(max−min); target_one → d = |x−1| scored as lower. min/max over peers with a
  value; all peers equal → ``fiscal.equal_values_score``; a missing value stays missing.
* **Index** = Σ wᵢ·sᵢ / Σ wᵢ over indicators the street has (``missing_indicator: redistribute``:
  the weight of a missing indicator is redistributed pro rata), or over all indicators with missing
  ones scoring 0 (``zero``). No indicator at all → index missing. Rank 1 = highest index; ties share
  the better rank (1, 2, 2, 4); a street without index is unranked.
* **PEFA** (PI-1, PI-2.1, PI-2.2, PI-3.1): :mod:`perflib.analysis.pefa`.
* **Evaluated year**: the report for year Y evaluates the latest year E ≤ Y whose 决算 is complete
  (:func:`evaluated_year`): every street with 街道财政 rows for E has both 决算 figures (一般公共预算
  收入, 一般公共预算支出), and the year is over in the data — the store holds no payments of E, or
  they reach month ``fiscal.final_outturn_month`` (12: a year whose payments stop in July is still
  running). PEFA scores completed years only.
* **Debt veto** (``fiscal.debt_veto``, 预算法第三十五条: streets may not borrow): the indicator
  ``debt_ratio`` is not scored (the index re-normalises over the other weights); a street whose
  债务余额 of E is > 0 is 一票否决: its index is shown, it is not ranked (rank missing) and the
  others are ranked among themselves.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import ParameterError, RulesError
from ..schema import ECON_BUDGET_PREFIX, ECON_OUTTURN_PREFIX
from . import classification
from .pefa import PefaScore, head_lines, pefa_scores, pefa_years
from .pefa import pefa_band_table, pefa_table  # noqa: F401  (the fiscal notebook's and text's names)

# --- indicator formulas ----------------------------------------------------------------------------
# kind "ratio": numerator / denominator of the same year; "growth": value(Y) / value(Y−1) − 1;
# "coverage": from the projects/targets/self_evaluations tables (see project_coverage).
FORMULAS: dict[str, tuple[str, str, str | None]] = {
    "tax_share": ("ratio", "税收收入", "一般公共预算收入"),
    "revenue_growth": ("growth", "一般公共预算收入", None),
    "budget_execution": ("ratio", "一般公共预算支出", "一般公共预算支出预算数"),
    "three_guarantees": ("ratio", "三保支出", "三保支出需求"),
    "admin_cost_share": ("ratio", "行政成本", "一般公共预算支出"),
    "admin_cost_change": ("growth", "行政成本", None),
    "debt_ratio": ("ratio", "债务余额", "一般公共预算收入"),
    "balance_ratio": ("ratio", "一般公共预算收入", "一般公共预算支出"),
    "carryover_share": ("ratio", "结转结余", "一般公共预算支出"),
    "target_coverage": ("coverage", "targets", None),
    "selfeval_coverage": ("coverage", "self_evaluations", None),
}
MISSING_MODES = ("redistribute", "zero")
# Scores are rounded to this many decimals so float noise (0.7 − 0.6 = 0.0999…) cannot put a score a
# hair below a findings threshold; far below any meaningful precision of a 0–100 score.
SCORE_DECIMALS = 9
ELIGIBLE_FUND_SOURCE = "本级"
DEBT_KEY = "debt_ratio"          # the indicator the debt veto replaces
DEBT_INDICATOR = "债务余额"
OUTTURN_INDICATORS = ("一般公共预算收入", "一般公共预算支出")  # the 决算 figures a final year has



# --- rules -----------------------------------------------------------------------------------------
def debt_veto(rules) -> bool:
    """Whether street debt is a veto item (rules ``fiscal.debt_veto``) rather than a scored indicator."""
    return bool(rules.value("fiscal.debt_veto"))


def indicator_framework(rules) -> pd.DataFrame:
    """The indicator framework of the rules as a table (index = indicator key), checked against
    :data:`FORMULAS` (an indicator the code cannot compute is a rules error); without ``debt_ratio``
    when debt is a veto item."""
    ind = dict(rules.value("fiscal.indicators"))
    if debt_veto(rules):
        ind.pop(DEBT_KEY, None)
    unknown = [k for k in ind if k not in FORMULAS]
    if unknown:
        raise RulesError(f"规则 fiscal.indicators 含无法计算的指标：{'、'.join(unknown)}"
                         f"（可用：{'、'.join(FORMULAS)}）")
    rows = []
    for key, spec in ind.items():
        weight = float(spec["weight"])
        if weight < 0:
            raise RulesError(f"规则 fiscal.indicators.{key}.weight 不能为负数，实际为 {weight:g}")
        rows.append({
            "key": key, "name": spec["name"], "group": spec.get("group", ""), "weight": weight,
            "direction": spec["direction"],
            "source": spec.get("source", ""), "status": spec.get("status", ""),
        })
    df = pd.DataFrame(rows).set_index("key")
    if df["weight"].sum() <= 0:
        raise RulesError("规则 fiscal.indicators 的权重之和应大于 0")
    return df


def missing_mode(rules) -> str:
    mode = rules.value("fiscal.missing_indicator")
    if mode not in MISSING_MODES:
        raise RulesError(f"规则 fiscal.missing_indicator 应为 {' / '.join(MISSING_MODES)}，实际为「{mode}」")
    return mode


# --- inputs ----------------------------------------------------------------------------------------
def fiscal_wide(street_fiscal: pd.DataFrame) -> pd.DataFrame:
    """The 街道财政 long table pivoted to one row per (dept_code, year), one column per 指标."""
    if street_fiscal.empty:
        idx = pd.MultiIndex.from_arrays([[], []], names=["dept_code", "year"])
        return pd.DataFrame(index=idx, dtype="float64")
    df = street_fiscal.assign(value=pd.to_numeric(street_fiscal["value"], errors="coerce").astype("float64"),
                              year=street_fiscal["year"].astype(int),
                              dept_code=street_fiscal["dept_code"].astype(str))
    wide = df.groupby(["dept_code", "year", "indicator"])["value"].first().unstack("indicator")
    wide.columns = [str(c) for c in wide.columns]
    return wide.astype("float64")


def peer_streets(departments: pd.DataFrame, street_fiscal: pd.DataFrame, year: int) -> pd.DataFrame:
    """Streets evaluated in ``year``: 是否街道 = 是 and 街道财政 rows for that year (dept_code, dept_name)."""
    codes = set(street_fiscal.loc[street_fiscal["year"].astype(int) == int(year), "dept_code"].astype(str))
    streets = departments[departments["is_street"].astype(bool) & departments["dept_code"].astype(str).isin(codes)]
    return (streets[["dept_code", "dept_name"]].astype({"dept_code": str})
            .sort_values("dept_code").reset_index(drop=True))


@dataclass
class EvaluatedYear:
    """The year a report for ``requested`` evaluates, and why the later years were not evaluated:
    ``skipped`` = [(year, kind, detail)] newest first, kind ``running`` (detail: the last month of
    the year's payments) or ``incomplete`` (detail: the streets lacking a 决算 figure)."""

    requested: int
    year: int | None
    skipped: list[tuple[int, str, Any]] = field(default_factory=list)


def outturn_gap(street_fiscal: pd.DataFrame, departments: pd.DataFrame, year: int,
                last_payment_month: int | None, final_month: int) -> tuple[str, Any] | None:
    """Why the 决算 of ``year`` is not final — ("none", None): no street data; ("running", month):
    the year's payments stop before ``final_month``; ("incomplete", [street names]): streets without
    both 决算 figures — or None when it is final."""
    streets = peer_streets(departments, street_fiscal, year)
    if streets.empty:
        return ("none", None)
    if last_payment_month is not None and int(last_payment_month) < int(final_month):
        return ("running", int(last_payment_month))
    wide = fiscal_wide(street_fiscal)
    lacking = []
    for code, name in streets.itertuples(index=False):
        row = wide.loc[(code, int(year))] if (code, int(year)) in wide.index else pd.Series(dtype="float64")
        if any(pd.isna(row.get(k, np.nan)) for k in OUTTURN_INDICATORS):
            lacking.append(name)
    return ("incomplete", lacking) if lacking else None


def evaluated_year(street_fiscal: pd.DataFrame, departments: pd.DataFrame, year: int,
                   last_payment_month, final_month: int) -> EvaluatedYear:
    """The latest year ≤ ``year`` whose 决算 is final (:func:`outturn_gap`); ``last_payment_month``
    maps a year to the month of its last payment (None: no payments). ``year`` None when none is."""
    years = sorted({int(y) for y in street_fiscal["year"]} if len(street_fiscal) else set(), reverse=True)
    skipped = []
    for y in [y for y in years if y <= int(year)]:
        gap = outturn_gap(street_fiscal, departments, y, last_payment_month(y), final_month)
        if gap is None:
            return EvaluatedYear(int(year), y, skipped)
        if gap[0] != "none":
            skipped.append((y, *gap))
    return EvaluatedYear(int(year), None, skipped)


def store_evaluated_year(store, year: int, rules) -> EvaluatedYear:
    """:func:`evaluated_year` on a Store (payments' last month per year from the store)."""
    return evaluated_year(store.table("street_fiscal"), store.table("departments"), int(year),
                          store.last_payment_month, int(rules.value("fiscal.final_outturn_month")))


def _street_of_unit(departments: pd.DataFrame, street_codes) -> dict[str, str]:
    """Map every unit code to the street it belongs to (the street itself or any unit below it)."""
    parent = dict(zip(departments["dept_code"].astype(str),
                      departments["parent_code"].where(departments["parent_code"].notna(), None)))
    streets = set(map(str, street_codes))
    out: dict[str, str] = {}
    for code in parent:
        seen, c = set(), code
        while c is not None and c not in seen:
            if c in streets:
                out[code] = c
                break
            seen.add(c)
            c = parent.get(c)
            c = str(c) if c is not None else None
    return out


def _eligible(projects: pd.DataFrame) -> pd.Series:
    return ((projects["fund_source"] == ELIGIBLE_FUND_SOURCE)
            & ~projects["is_classified"].astype(bool) & ~projects["is_special"].astype(bool))


def project_coverage(projects: pd.DataFrame, targets: pd.DataFrame, self_evaluations: pd.DataFrame,
                     departments: pd.DataFrame, street_codes, year: int) -> pd.DataFrame:
    """Targets coverage (year Y) and self-evaluation coverage (fiscal year Y−1) of each street's
    eligible projects; index dept_code (the street), counts and rates (missing when no project)."""
    with_target = set(zip(targets.loc[targets["project_id"].notna(), "project_id"].astype(str),
                          targets.loc[targets["project_id"].notna(), "year"].astype(int)))
    with_eval = set(zip(self_evaluations["project_id"].astype(str), self_evaluations["year"].astype(int)))
    keys = list(zip(projects["project_id"].astype(str), projects["year"].astype(int)))
    flagged = projects.assign(has_target=[k in with_target for k in keys], has_eval=[k in with_eval for k in keys])
    return _coverage_counts(flagged, departments, street_codes, year)


# each project of years Y and Y−1 with whether it has a target / a self-evaluation of its own year, as
# project_coverage flags them (classified projects are never eligible, so never read)
_COVERAGE_SQL = """
SELECT p.year, p.dept_code, p.fund_source, p.is_classified, p.is_special,
       EXISTS (SELECT 1 FROM targets t WHERE t.project_id = p.project_id AND t.year = p.year) AS has_target,
       EXISTS (SELECT 1 FROM self_evaluations e WHERE e.project_id = p.project_id AND e.year = p.year) AS has_eval
FROM projects p WHERE p.year IN (?, ?) AND NOT p.is_classified"""


def store_project_coverage(store, departments: pd.DataFrame, street_codes, year: int) -> pd.DataFrame:
    """:func:`project_coverage` of a Store, its per-project flags joined in DuckDB (a province's
    420,000 projects and 520,000 targets took 2 s as Python sets, and 2 s more to read)."""
    year = int(year)
    return _coverage_counts(store.sql(_COVERAGE_SQL, [year, year - 1]), departments, street_codes, year)


def _coverage_counts(projects: pd.DataFrame, departments: pd.DataFrame, street_codes, year: int) -> pd.DataFrame:
    """The coverage table from projects carrying ``has_target`` / ``has_eval``."""
    unit_map = _street_of_unit(departments, street_codes)
    year = int(year)
    p = projects.assign(street=projects["dept_code"].astype(str).map(unit_map))
    p = p[p["street"].notna() & _eligible(p)]
    cur = p[p["year"].astype(int) == year].groupby("street").agg(
        eligible_projects=("year", "size"), target_projects=("has_target", "sum"))
    prev = p[p["year"].astype(int) == year - 1].groupby("street").agg(
        selfeval_eligible=("year", "size"), selfeval_projects=("has_eval", "sum"))
    out = pd.DataFrame(index=pd.Index(sorted(map(str, street_codes)), name="dept_code"))
    out = out.join(cur).join(prev)
    for c in ("eligible_projects", "target_projects", "selfeval_eligible", "selfeval_projects"):
        out[c] = out[c].fillna(0).astype(int)
    out["target_coverage"] = _ratio(out["target_projects"], out["eligible_projects"])
    out["selfeval_coverage"] = _ratio(out["selfeval_projects"], out["selfeval_eligible"])
    return out


def _ratio(num, den):
    """num / den, missing where den is missing or ≤ 0 (never inf)."""
    num = pd.to_numeric(num, errors="coerce").astype("float64")
    den = pd.to_numeric(den, errors="coerce").astype("float64")
    return (num / den.where(den > 0)).astype("float64")


def indicator_values(wide: pd.DataFrame, year: int, codes, coverage: pd.DataFrame | None = None,
                     keys=None) -> pd.DataFrame:
    """Raw indicator values (fractions) per street for ``year``; index dept_code, columns keys.

    ``wide`` is :func:`fiscal_wide`'s output; ``coverage`` is :func:`project_coverage`'s (without it
    the coverage indicators are missing)."""
    keys = list(keys) if keys is not None else list(FORMULAS)
    codes = [str(c) for c in codes]
    year = int(year)

    def year_frame(y: int) -> pd.DataFrame:
        if wide.empty or y not in wide.index.get_level_values("year"):
            return pd.DataFrame(index=pd.Index(codes, name="dept_code"))
        return wide.xs(y, level="year").reindex(codes)

    cur, prev = year_frame(year), year_frame(year - 1)
    nan = pd.Series(np.nan, index=pd.Index(codes, name="dept_code"), dtype="float64")

    def col(frame: pd.DataFrame, name: str) -> pd.Series:
        return frame[name].astype("float64") if name in frame.columns else nan

    out = pd.DataFrame(index=pd.Index(codes, name="dept_code"))
    for key in keys:
        kind, a, b = FORMULAS[key]
        if kind == "ratio":
            out[key] = _ratio(col(cur, a), col(cur, b))
        elif kind == "growth":
            out[key] = _ratio(col(cur, a), col(prev, a)) - 1.0
        else:
            name = "target_coverage" if a == "targets" else "selfeval_coverage"
            out[key] = (coverage[name].reindex(codes).astype("float64")
                        if coverage is not None and name in coverage.columns else nan)
    return out


# --- normalisation and index -----------------------------------------------------------------------
def normalise(values: pd.DataFrame, directions: dict[str, str], equal_score: float = 100.0) -> pd.DataFrame:
    """Min–max scores 0–100 across the peers (rows), per indicator (columns) and its direction.

    higher: 100·(x−min)/(max−min); lower: 100·(max−x)/(max−min); target_one: the distance |x−1|
    scored as lower. All peers equal → ``equal_score``; a missing value stays missing."""
    scores = pd.DataFrame(index=values.index)
    for key in values.columns:
        direction = directions[key]
        x = values[key].astype("float64")
        if direction == "target_one":
            x = (x - 1.0).abs()
            direction = "lower"
        if direction not in ("higher", "lower"):
            raise RulesError(f"指标 {key} 的方向应为 higher / lower / target_one，实际为「{directions[key]}」")
        lo, hi = x.min(skipna=True), x.max(skipna=True)
        if x.notna().sum() == 0:
            s = x * np.nan
        elif np.isclose(hi, lo, rtol=0.0, atol=1e-12):
            s = x.where(x.isna(), float(equal_score))
        elif direction == "higher":
            s = 100.0 * (x - lo) / (hi - lo)
        else:
            s = 100.0 * (hi - x) / (hi - lo)
        scores[key] = s.astype("float64").round(SCORE_DECIMALS)
    return scores


def composite_index(scores: pd.DataFrame, weights: dict[str, float], missing: str = "redistribute") -> pd.DataFrame:
    """Weighted composite 0–100 per street with its rank (1 = best; ties share the better rank).

    ``missing="redistribute"``: Σ wᵢsᵢ / Σ wᵢ over the indicators the street has;
    ``"zero"``: a missing indicator scores 0 (Σ over all weights). No indicator → index missing."""
    if missing not in MISSING_MODES:
        raise RulesError(f"fiscal.missing_indicator 应为 {' / '.join(MISSING_MODES)}，实际为「{missing}」")
    w = pd.Series({k: float(weights[k]) for k in scores.columns}, dtype="float64")
    have = scores.notna()
    weighted = scores.fillna(0.0).mul(w, axis=1).sum(axis=1)
    used = have.mul(w, axis=1).sum(axis=1)
    total = used if missing == "redistribute" else pd.Series(w.sum(), index=scores.index)
    index = (weighted / total.where(total > 0)).where(have.any(axis=1))
    out = pd.DataFrame({"index": index.astype("float64"), "weight_available": used.astype("float64")})
    out["rank"] = out["index"].rank(ascending=False, method="min").astype("Int64")
    return out


@dataclass
class FiscalIndex:
    """The street index of one year: peers, raw values, scores, index and rank, and the framework."""

    year: int
    streets: pd.DataFrame          # dept_code, dept_name of the peers
    framework: pd.DataFrame        # index key: name, group, weight, direction, source, status
    values: pd.DataFrame           # index dept_code, columns indicator keys (fractions)
    scores: pd.DataFrame           # same shape, 0–100
    result: pd.DataFrame           # index dept_code: index, weight_available, rank, dept_name, debt, veto
    coverage: pd.DataFrame | None = None
    missing: str = "redistribute"
    debt_veto: bool = False

    @property
    def vetoed(self) -> list[str]:
        """Names of the streets vetoed for debt (债务余额 > 0), in code order."""
        if "veto" not in self.result:
            return []
        return [self.name_of(c) for c in sorted(self.result.index[self.result["veto"].astype(bool)])]

    @property
    def n_streets(self) -> int:
        return len(self.streets)

    @cached_property
    def _names(self) -> dict[str, str]:
        """dept_code → dept_name of the peers, built once (the text asks for hundreds of names of a
        province's 1,800 streets; a dict per name took 2 s)."""
        return dict(zip(self.streets["dept_code"].tolist(), self.streets["dept_name"].tolist()))

    def name_of(self, code: str) -> str:
        return self._names.get(str(code), str(code))

    def has(self, code: str) -> bool:
        return str(code) in self._names

    def ranking(self) -> pd.DataFrame:
        """All peers by rank: ``dept_code``, ``dept_name``, ``index``, ``rank`` and per indicator group
        ``group_score:<group>`` (the weighted mean score of the group's indicators the street has)."""
        r = self.result.copy()
        tab = pd.DataFrame({"dept_name": r["dept_name"], "index": r["index"], "rank": r["rank"]}, index=r.index)
        if self.debt_veto:
            tab["debt"] = r["debt"]
            tab["veto"] = r["veto"].astype(bool)
        for group in dict.fromkeys(self.framework["group"]):
            keys = [k for k in self.framework.index if self.framework.at[k, "group"] == group and k in self.scores]
            if keys:
                w = self.framework.loc[keys, "weight"]
                s = self.scores[keys]
                num = s.fillna(0).mul(w, axis=1).sum(axis=1)
                den = s.notna().mul(w, axis=1).sum(axis=1)
                tab[f"group_score:{group}"] = num / den.where(den > 0)
        tab = tab.rename_axis("dept_code").reset_index()
        return tab.sort_values(["rank", "dept_code"], na_position="last").reset_index(drop=True)

    def comparison(self, code: str) -> pd.DataFrame:
        """One street's indicators against the peer median: ``key``, ``indicator`` (name), ``group``,
        ``weight``, ``direction`` (higher/lower/target_one), ``value``, ``score``, their peer medians,
        ``contribution`` and ``differentiated``."""
        code = str(code)
        fw = self.framework
        med_v = self.values.median(skipna=True)
        med_s = self.scores.median(skipna=True)
        # an indicator differentiates the peers when at least two of them have different values
        spread = self.values.max(skipna=True) - self.values.min(skipna=True)
        differentiated = (self.values.notna().sum() >= 2) & (spread.abs() > 1e-12)
        v, s = self.values.loc[code], self.scores.loc[code]
        used = self.result.at[code, "weight_available"] if self.missing == "redistribute" else fw["weight"].sum()
        contrib = (s.fillna(0) * fw["weight"].reindex(s.index)) / used if used > 0 else s * np.nan
        return pd.DataFrame({
            "key": fw.index, "indicator": fw["name"].values, "group": fw["group"].values,
            "weight": fw["weight"].values, "direction": fw["direction"].values,
            "value": v.reindex(fw.index).values, "peer_median_value": med_v.reindex(fw.index).values,
            "score": s.reindex(fw.index).values, "peer_median_score": med_s.reindex(fw.index).values,
            "contribution": contrib.reindex(fw.index).values,
            "differentiated": differentiated.reindex(fw.index).fillna(False).astype(bool).values,
        })


def compute_index(street_fiscal: pd.DataFrame, departments: pd.DataFrame, year: int, rules,
                  coverage: pd.DataFrame | None = None) -> FiscalIndex:
    """The index of ``year`` for every evaluated street, from DataFrames (see the module doc)."""
    framework = indicator_framework(rules)
    mode = missing_mode(rules)
    streets = peer_streets(departments, street_fiscal, year)
    codes = list(streets["dept_code"])
    values = indicator_values(fiscal_wide(street_fiscal), year, codes, coverage, keys=framework.index)
    scores = normalise(values, framework["direction"].to_dict(), rules.value("fiscal.equal_values_score"))
    result = composite_index(scores, framework["weight"].to_dict(), mode)
    result["dept_name"] = result.index.map(dict(zip(streets["dept_code"], streets["dept_name"])))
    veto = debt_veto(rules)
    if veto:
        apply_debt_veto(result, street_debt(street_fiscal, year, codes))
    return FiscalIndex(int(year), streets, framework, values, scores, result, coverage, mode, veto)


def street_debt(street_fiscal: pd.DataFrame, year: int, codes) -> pd.Series:
    """债务余额 of each street in ``year`` (元; missing where not reported), index dept_code."""
    wide = fiscal_wide(street_fiscal)
    idx = pd.Index([str(c) for c in codes], name="dept_code")
    if wide.empty or DEBT_INDICATOR not in wide.columns or int(year) not in wide.index.get_level_values("year"):
        return pd.Series(np.nan, index=idx, dtype="float64")
    return wide.xs(int(year), level="year")[DEBT_INDICATOR].reindex(idx).astype("float64")


def apply_debt_veto(result: pd.DataFrame, debt: pd.Series) -> None:
    """一票否决 (in place): ``debt`` and ``veto`` (债务余额 > 0) per street; vetoed streets lose their
    rank, the others are re-ranked among themselves (1 = best, ties share the better rank)."""
    result["debt"] = debt.reindex(result.index).astype("float64")
    result["veto"] = (result["debt"] > 0).fillna(False).astype(bool)
    ok = result["index"].where(~result["veto"])
    result["rank"] = ok.rank(ascending=False, method="min").astype("Int64")


def street_index(store, year: int, rules) -> FiscalIndex:
    """The index of ``year`` for every evaluated street of a :class:`~perflib.store.Store`."""
    year = int(year)
    sf = store.table("street_fiscal")
    depts = store.table("departments")
    codes = list(peer_streets(depts, sf, year)["dept_code"])
    coverage = store_project_coverage(store, depts, codes, year)
    return compute_index(sf, depts, year, rules, coverage)


# --- streets: parameters, year over year, findings -------------------------------------------------
def resolve_street(departments: pd.DataFrame, street: str | None, candidates=None) -> tuple[str, str]:
    """(dept_code, dept_name) of a street given by code or name (full name, or a unique part such as
    「东风街道」); ``candidates`` limits the choice (e.g. the evaluated streets). ParameterError if none."""
    d = departments[departments["is_street"].astype(bool)][["dept_code", "dept_name"]].astype(str)
    if candidates is not None:
        d = d[d["dept_code"].isin([str(c) for c in candidates])]
    listing = "、".join(d["dept_name"]) or "（无）"
    if street is None or str(street).strip() == "":
        raise ParameterError(f"请指定街道（street，街道编码或名称），可选：{listing}")
    s = str(street).strip()
    for col in ("dept_code", "dept_name"):
        hit = d[d[col] == s]
        if len(hit) == 1:
            return hit.iloc[0]["dept_code"], hit.iloc[0]["dept_name"]
    hit = d[d["dept_name"].str.contains(s, regex=False)]
    if len(hit) == 1:
        return hit.iloc[0]["dept_code"], hit.iloc[0]["dept_name"]
    if len(hit) > 1:
        raise ParameterError(f"街道「{s}」不唯一，匹配到：{'、'.join(hit['dept_name'])}")
    raise ParameterError(f"没有街道「{s}」的财政运行数据，可选：{listing}")


def previous_evaluation_year(street_fiscal: pd.DataFrame, code: str, year: int) -> int | None:
    """The latest year before ``year`` in which the street has 街道财政 data (was evaluated)."""
    ys = street_fiscal.loc[(street_fiscal["dept_code"].astype(str) == str(code))
                           & (street_fiscal["year"].astype(int) < int(year)), "year"]
    return int(ys.max()) if len(ys) else None


def year_over_year(current: FiscalIndex, previous: FiscalIndex, code: str) -> pd.DataFrame:
    """One street's index, rank and indicators in an earlier evaluation year against this one: one row
    per ``key`` ("index", "rank", then the indicator keys) with its ``name``, ``kind`` (index / rank /
    rate), ``previous`` and ``current`` values (ranks as integers, rates as fractions) and ``change``
    (current − previous; missing for the rank)."""
    code = str(code)
    i0, i1 = previous.result.at[code, "index"], current.result.at[code, "index"]
    rows = [{"key": "index", "name": "综合绩效指数", "kind": "index", "previous": i0, "current": i1,
             "change": i1 - i0},
            {"key": "rank", "name": "排名", "kind": "rank", "previous": previous.result.at[code, "rank"],
             "current": current.result.at[code, "rank"], "change": np.nan}]
    for key in current.framework.index:
        v0 = previous.values.at[code, key] if key in previous.values.columns else np.nan
        v1 = current.values.at[code, key]
        rows.append({"key": key, "name": current.framework.at[key, "name"], "kind": "rate",
                     "previous": v0, "current": v1, "change": v1 - v0})
    return pd.DataFrame(rows)


# --- facts and the overview's section 五 ------------------------------------------------------------
@dataclass
class StreetEvaluation:
    """Everything the fiscal notebook shows for one street and year."""

    code: str
    name: str
    year: int
    index: FiscalIndex
    pefa: list[PefaScore]
    previous: FiscalIndex | None = None
    heads: pd.DataFrame = field(default_factory=pd.DataFrame)
    econ: pd.DataFrame = field(default_factory=pd.DataFrame)
    basis: EvaluatedYear | None = None   # the report's year, and why later years were not evaluated
    # where PI-2.2's figures come from: 街道财政 rows, payments' 经济分类 codes, or "" (不适用)
    econ_source: str = ""
    econ_coded_share: float = float("nan")  # payments' coded share (econ_source == payments)

    @property
    def vetoed(self) -> bool:
        r = self.index.result
        return bool(r.at[self.code, "veto"]) if "veto" in r.columns else False

    @property
    def facts(self) -> dict:
        """``fiscal.year`` (the evaluated year), ``fiscal.index``, ``fiscal.rank`` (None when vetoed),
        ``fiscal.streets``, ``fiscal.pi1`` and ``fiscal.veto`` (debt > 0 under ``fiscal.debt_veto``)."""
        r = self.index.result
        idx = r.at[self.code, "index"]
        rank = r.at[self.code, "rank"]
        return {
            "fiscal.year": int(self.year),
            "fiscal.index": None if pd.isna(idx) else round(float(idx), 2),
            "fiscal.rank": None if pd.isna(rank) else int(rank),
            "fiscal.streets": int(self.index.n_streets),
            "fiscal.pi1": self.pefa[0].grade,
            "fiscal.veto": self.vetoed,
        }

    def year_over_year(self) -> pd.DataFrame | None:
        if self.previous is None or not self.previous.has(self.code):
            return None
        return year_over_year(self.index, self.previous, self.code)


def evaluate_street(store, year: int, street: str, rules) -> StreetEvaluation:
    """Index, rank, PEFA scores and the previous evaluation for one street (code or name), of the
    last year ≤ ``year`` with a final 决算 (:func:`store_evaluated_year`)."""
    basis = store_evaluated_year(store, int(year), rules)
    if basis.year is None:
        raise ParameterError(f"{int(year)}年及以前没有决算已完成的街道财政运行数据（街道财政表），无法评价")
    year = basis.year
    fi = street_index(store, year, rules)
    depts = store.table("departments")
    code, name = resolve_street(depts, street, candidates=fi.streets["dept_code"])
    sf = store.table("street_fiscal")
    wide = fiscal_wide(sf)
    prev_year = previous_evaluation_year(sf, code, year)
    previous = street_index(store, prev_year, rules) if prev_year is not None else None
    wide, source, share = econ_source(store, wide, code, year, rules)
    return StreetEvaluation(code, name, year, fi, pefa_scores(wide, code, year, rules), previous,
                            head_lines(wide, code, year),
                            head_lines(wide, code, year, (ECON_BUDGET_PREFIX, ECON_OUTTURN_PREFIX)), basis,
                            source, share)


ECON_FROM_STREET, ECON_FROM_PAYMENTS = "street_fiscal", "payments"


def econ_source(store, wide: pd.DataFrame, code: str, year: int, rules) -> tuple[pd.DataFrame, str, float]:
    """PI-2.2's data for street ``code``: its 街道财政 经济分类 rows where it has any in the PEFA
    window, else those built from the projects' and payments' 经济分类 codes
    (:func:`classification.street_econ_lines`), else none. Returns (wide, source, coded share)."""
    window, _ = pefa_years(rules)
    years = list(range(int(year) - window + 1, int(year) + 1))
    econ = (ECON_BUDGET_PREFIX, ECON_OUTTURN_PREFIX)
    if any(not head_lines(wide, code, y, econ).empty for y in years):
        return wide, ECON_FROM_STREET, float("nan")
    lines = classification.street_econ_lines(store, code, years)
    if lines.empty:
        return wide, "", float("nan")
    share = float(lines.loc[lines["year"] == lines["year"].max(), "coded_share"].iloc[0])
    return classification.with_payment_econ(wide, lines), ECON_FROM_PAYMENTS, share


def fiscal_facts(store, year: int, street: str, rules) -> dict:
    """SPEC's fiscal facts for one street: ``fiscal.index`` (0–100), ``fiscal.rank`` (1 = best),
    ``fiscal.streets`` (evaluated streets of the year), ``fiscal.pi1`` (PEFA grade A–D)."""
    return evaluate_street(store, year, street, rules).facts

def street_overview(store, year: int, rules) -> tuple[FiscalIndex, bool, EvaluatedYear]:
    """The overview's section 五 data for the report year ``year``: the index of the evaluated year
    E (:func:`store_evaluated_year`) over every street with 街道财政 data for E, whether any street
    was evaluated in E−1, and the basis (E None: no street is evaluated, the index is empty)."""
    basis = store_evaluated_year(store, int(year), rules)
    if basis.year is None:
        fi = compute_index(store.table("street_fiscal").iloc[0:0], store.table("departments"), int(year), rules)
        return fi, False, basis
    fi = street_index(store, basis.year, rules)
    had_prev = len(peer_streets(store.table("departments"), store.table("street_fiscal"), basis.year - 1)) > 0
    return fi, had_prev, basis


def street_overview_facts(fi: FiscalIndex) -> dict:
    """Section 五's facts: ``fiscal.streets``, and with streets ``fiscal.year`` (the evaluated year),
    ``fiscal.evaluated`` (their names), ``fiscal.index_by_street`` (name → index rounded to 2
    decimals, ranked) and ``fiscal.vetoed`` (names of the streets vetoed for debt)."""
    if fi.n_streets == 0:
        return {"fiscal.streets": 0}
    ranked = fi.result.sort_values(["rank", "dept_name"], na_position="last")
    return {
        "fiscal.year": int(fi.year),
        "fiscal.streets": int(fi.n_streets),
        "fiscal.evaluated": list(fi.streets["dept_name"]),
        "fiscal.index_by_street": {r.dept_name: round(float(r.index), 2)
                                   for r in ranked.itertuples() if not pd.isna(r.index)},
        "fiscal.vetoed": fi.vetoed,
    }


# --- report tables and method text -----------------------------------------------------------------
def framework_table(rules) -> pd.DataFrame:
    """The indicator framework as printed in the report: ``key``, ``indicator``, ``group``,
    ``weight``, ``direction`` (higher/lower/target_one), ``source`` and ``status`` (in words)."""
    from ..rules import STATUS_LABELS

    fw = indicator_framework(rules)
    return pd.DataFrame({
        "key": fw.index, "indicator": fw["name"].values, "group": fw["group"].values,
        "weight": fw["weight"].values, "direction": fw["direction"].values,
        "source": fw["source"].values, "status": [STATUS_LABELS.get(s, s) for s in fw["status"]],
    })


def indicator_table(ev: StreetEvaluation) -> pd.DataFrame:
    """One street's indicators: ``value`` and ``peer_median_value`` (fractions), ``score`` and
    ``peer_median_score`` (0–100), and the weighted points (``contribution``) each adds to the index."""
    cmp = ev.index.comparison(ev.code)
    return pd.DataFrame({
        "indicator": cmp["indicator"], "group": cmp["group"], "weight": cmp["weight"],
        "direction": cmp["direction"],
        "value": cmp["value"], "peer_median_value": cmp["peer_median_value"], "score": cmp["score"],
        "peer_median_score": cmp["peer_median_score"], "contribution": cmp["contribution"],
    }).reset_index(drop=True)


def heads_table(ev: StreetEvaluation, econ: bool = False) -> pd.DataFrame:
    """PI-2.1 working for the evaluated year per functional ``head`` (``econ``: PI-2.2's, per economic
    class): ``budget``, ``outturn``, ``adjusted`` budget and absolute ``deviation``, in 元."""
    h = ev.econ if econ else ev.heads
    columns = ["head", "budget", "outturn", "adjusted", "deviation"]
    if h.empty:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame({"head": h.index.astype(str), "budget": h["budget"].values,
                         "outturn": h["outturn"].values, "adjusted": h["adjusted"].values,
                         "deviation": h["deviation"].values}, columns=columns)
