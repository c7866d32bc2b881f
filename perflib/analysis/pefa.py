"""PEFA outturn scores of a street office (PI-1 支出总额执行, PI-2.1 支出结构偏差（功能分类）, PI-2.2
支出结构偏差（经济分类）, PI-3.1 收入总额执行), part of the 街道级政府财政运行综合绩效评价
(:mod:`perflib.analysis.fiscal`); thresholds from the rules' ``fiscal`` section. PI-2.3 (contingency)
and PI-3.2 (revenue composition) are not computed: the labels say 2.1 and 3.1, never the whole PI.

Over the ``window`` completed years ending at the evaluated year E: PI-1 = 一般公共预算支出 /
一般公共预算支出预算数 and PI-3.1 = 一般公共预算收入 / 一般公共预算收入预算数, graded by bands with
*inclusive* bounds (lo ≤ ratio ≤ hi); PI-2.1 composition variance = Σ|outturnᵢ − adjᵢ| / Σ adjᵢ with
adjᵢ = budgetᵢ × Σ outturn / Σ budget over the functional heads (支出预算数:/支出决算数: rows; a head
present on one side only counts 0 on the other), graded *strictly below* each limit; PI-2.2 the same
over the economic classes (经济分类预算数:/经济分类决算数: rows) with the same limits, and *not
applicable* (不适用) when the street has no such rows in the window. A grade is awarded when at least
``required`` of the ``window`` years fall in its band; a year without data does not count; failing
every band gives D (with fewer years of data than ``required``: D, marked 数据不足). Ratios are
rounded to ``grading_decimals`` places before grading so 105/100 is exactly on the 1.05 bound.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import RulesError
from ..schema import ECON_BUDGET_PREFIX, ECON_OUTTURN_PREFIX, HEAD_BUDGET_PREFIX, HEAD_OUTTURN_PREFIX

PEFA_NAMES = {
    "PI-1": "支出总额执行（决算/预算）",
    "PI-2.1": "支出结构偏差（按功能分类，调整后预算法）",
    "PI-2.2": "支出结构偏差（按经济分类，调整后预算法）",
    "PI-3.1": "收入总额执行（决算/预算）",
}
NOT_APPLICABLE = "不适用"


def pefa_years(rules) -> tuple[int, int]:
    py = rules.value("fiscal.pefa_years")
    window, required = int(py["window"]), int(py["required"])
    if not 1 <= required <= window:
        raise RulesError(f"规则 fiscal.pefa_years 应满足 1 ≤ required ≤ window，实际为 {py}")
    return window, required


# --- grading ------------------------------------------------------------------------------------------
def _round(x: float, decimals: int) -> float:
    return float(np.round(x, decimals))


def grade_in_bands(ratio: float, bands: dict[str, list[float]], decimals: int = 10) -> str | None:
    """The best grade whose band holds ``ratio`` (inclusive: lo ≤ ratio ≤ hi); below every band: the
    grade after the last (D); missing ratio → None."""
    if ratio is None or pd.isna(ratio):
        return None
    r = _round(ratio, decimals)
    for grade in sorted(bands):
        lo, hi = bands[grade]
        if lo <= r <= hi:
            return grade
    return fail_grade(bands)


def grade_below(variance: float, limits: dict[str, float], decimals: int = 10) -> str | None:
    """The best grade whose limit ``variance`` is strictly below; otherwise D; missing → None."""
    if variance is None or pd.isna(variance):
        return None
    v = _round(variance, decimals)
    for grade in sorted(limits):
        if v < limits[grade]:
            return grade
    return fail_grade(limits)


def fail_grade(bands: dict) -> str:
    """The grade below the banded ones (D after A–C)."""
    return chr(ord(max(bands)) + 1)


def overall_grade(yearly: list[str | None], grades, required: int) -> str:
    """The best grade reached or bettered in at least ``required`` years (a year without data
    counts as not reached); else the failing grade (D)."""
    grades = sorted(grades)
    for g in grades:
        if sum(1 for y in yearly if isinstance(y, str) and y <= g) >= required:
            return g
    return chr(ord(grades[-1]) + 1)


def composition_variance(budget: pd.Series, outturn: pd.Series) -> float:
    """PEFA PI-2.1 variance over heads: adjᵢ = budgetᵢ × Σoutturn/Σbudget;
    Σ|outturnᵢ − adjᵢ| / Σadjᵢ. Missing on one side counts 0; Σbudget ≤ 0 or Σadj = 0 → NaN."""
    heads = budget.index.union(outturn.index)
    b = budget.reindex(heads).astype("float64")
    o = outturn.reindex(heads).astype("float64")
    both_missing = b.isna() & o.isna()
    b, o = b[~both_missing].fillna(0.0), o[~both_missing].fillna(0.0)
    if b.empty or b.sum() <= 0:
        return float("nan")
    adj = b * (o.sum() / b.sum())
    if adj.sum() <= 0:
        return float("nan")
    return float((o - adj).abs().sum() / adj.sum())


def head_lines(wide: pd.DataFrame, code: str, year: int, prefixes=(HEAD_BUDGET_PREFIX, HEAD_OUTTURN_PREFIX)
               ) -> pd.DataFrame:
    """Budget and outturn per expenditure head of one street-year, with the adjusted budget and
    its deviation (the PI-2.1 working; with the 经济分类 ``prefixes``, PI-2.2's); index = head."""
    key = (str(code), int(year))
    if key not in wide.index:
        return pd.DataFrame(columns=["budget", "outturn", "adjusted", "deviation"])
    row = wide.loc[key]
    b_prefix, o_prefix = prefixes
    budget = row[[c for c in row.index if c.startswith(b_prefix)]].dropna()
    budget.index = [c[len(b_prefix):] for c in budget.index]
    outturn = row[[c for c in row.index if c.startswith(o_prefix)]].dropna()
    outturn.index = [c[len(o_prefix):] for c in outturn.index]
    heads = list(dict.fromkeys([*budget.index, *outturn.index]))
    df = pd.DataFrame({"budget": budget.reindex(heads).fillna(0.0), "outturn": outturn.reindex(heads).fillna(0.0)},
                      index=pd.Index(heads, name="head"))
    total_b = df["budget"].sum()
    df["adjusted"] = df["budget"] * (df["outturn"].sum() / total_b) if total_b > 0 else np.nan
    df["deviation"] = (df["outturn"] - df["adjusted"]).abs()
    return df


@dataclass
class PefaScore:
    """One PEFA indicator of one street: the yearly measure and grade, and the overall grade."""

    code: str                   # "PI-1" | "PI-2.1" | "PI-2.2" | "PI-3.1"
    name: str
    yearly: pd.DataFrame        # columns year, value, grade (value: ratio or variance; NaN = no data)
    grade: str
    required: int
    window: int
    met: int                    # years in the awarded grade's band (0 for D)
    insufficient: bool = False  # fewer years with data than ``required``
    grades: tuple[str, ...] = ("A", "B", "C")  # the banded grades, best first

    @property
    def applicable(self) -> bool:
        """False when the data carry nothing this indicator measures (PI-2.2 without 经济分类)."""
        return self.grade != NOT_APPLICABLE

    @property
    def weak(self) -> bool:
        """The lowest banded grade or the failing one (C or D): a finding for the report."""
        return self.applicable and self.grade >= self.grades[-1]

    def describe(self) -> str:
        """e.g. 「B（近 3 年中 2 年达到）」, 「D（数据不足）」 or 「不适用（…）」."""
        if not self.applicable:
            return f"{NOT_APPLICABLE}（数据中没有按经济分类的预算数和决算数）"
        if self.insufficient:
            return f"{self.grade}（数据不足）"
        if self.met:
            return f"{self.grade}（近 {self.window} 年中 {self.met} 年达到）"
        return f"{self.grade}（近 {self.window} 年中达到 {self.grades[-1]} 级区间的不足 {self.required} 年）"


def _pefa(code: str, values: dict[int, float], grader, grades, window: int, required: int) -> PefaScore:
    years = sorted(values)
    yearly_grades = [grader(values[y]) for y in years]
    yearly = pd.DataFrame({"year": years, "value": [values[y] for y in years],
                           "grade": pd.Series(yearly_grades, dtype=object)})
    grade = overall_grade(yearly_grades, grades, required)
    met = int(sum(1 for g in yearly_grades if g is not None and g <= grade)) if grade in grades else 0
    n_data = int(yearly["value"].notna().sum())
    return PefaScore(code, PEFA_NAMES[code], yearly, grade, required, window, met, n_data < required,
                     tuple(sorted(grades)))


def not_applicable(code: str, years: list[int], window: int, required: int, grades) -> PefaScore:
    """A PEFA indicator the data cannot measure: every year without a value, grade 不适用."""
    yearly = pd.DataFrame({"year": years, "value": [float("nan")] * len(years),
                           "grade": pd.Series([None] * len(years), dtype=object)})
    return PefaScore(code, PEFA_NAMES[code], yearly, NOT_APPLICABLE, required, window, 0, False,
                     tuple(sorted(grades)))


def pefa_scores(wide: pd.DataFrame, code: str, year: int, rules) -> list[PefaScore]:
    """PI-1, PI-2.1, PI-2.2 and PI-3.1 of one street over the ``window`` years ending at ``year``
    (PI-2.2 不适用 when the street has no 经济分类 rows in those years)."""
    window, required = pefa_years(rules)
    decimals = int(rules.value("fiscal.grading_decimals"))
    b1, b2, b3 = (rules.value(f"fiscal.{k}") for k in ("pi1_bands", "pi2_bands", "pi3_bands"))
    years = list(range(int(year) - window + 1, int(year) + 1))
    code = str(code)

    def cell(y: int, name: str) -> float:
        key = (code, y)
        if key in wide.index and name in wide.columns:
            return float(wide.at[key, name])
        return float("nan")

    def ratio(y: int, num: str, den: str) -> float:
        n, d = cell(y, num), cell(y, den)
        return n / d if (not np.isnan(d) and d > 0 and not np.isnan(n)) else float("nan")

    def variance(y: int, prefixes=(HEAD_BUDGET_PREFIX, HEAD_OUTTURN_PREFIX)) -> float:
        lines = head_lines(wide, code, y, prefixes)
        return composition_variance(lines["budget"], lines["outturn"]) if not lines.empty else float("nan")

    econ = (ECON_BUDGET_PREFIX, ECON_OUTTURN_PREFIX)
    pi1 = {y: ratio(y, "一般公共预算支出", "一般公共预算支出预算数") for y in years}
    pi21 = {y: variance(y) for y in years}
    pi22 = {y: variance(y, econ) for y in years}
    pi31 = {y: ratio(y, "一般公共预算收入", "一般公共预算收入预算数") for y in years}
    has_econ = any(not head_lines(wide, code, y, econ).empty for y in years)
    return [
        _pefa("PI-1", pi1, lambda r: grade_in_bands(r, b1, decimals), b1, window, required),
        _pefa("PI-2.1", pi21, lambda v: grade_below(v, b2, decimals), b2, window, required),
        (_pefa("PI-2.2", pi22, lambda v: grade_below(v, b2, decimals), b2, window, required) if has_econ
         else not_applicable("PI-2.2", years, window, required, b2)),
        _pefa("PI-3.1", pi31, lambda r: grade_in_bands(r, b3, decimals), b3, window, required),
    ]


def pefa_bands(rules) -> dict:
    """The bands of each PEFA code as the rules give them (PI-2.2 shares PI-2.1's limits)."""
    return {"PI-1": rules.value("fiscal.pi1_bands"), "PI-2.1": rules.value("fiscal.pi2_bands"),
            "PI-2.2": rules.value("fiscal.pi2_bands"), "PI-3.1": rules.value("fiscal.pi3_bands")}


def pefa_table(scores: list[PefaScore]) -> pd.DataFrame:
    """The PEFA scores, one row per indicator: ``code``, ``name``, per year ``ratio_<Y>`` (the measure,
    a fraction; missing when no data) and ``grade_<Y>``, and ``overall`` (the grade and why)."""
    rows = []
    for s in scores:
        row: dict[str, Any] = {"code": s.code, "name": s.name}
        for y, v, g in s.yearly[["year", "value", "grade"]].itertuples(index=False):
            row[f"ratio_{y}"] = np.nan if pd.isna(v) else float(v)
            row[f"grade_{y}"] = g
        row["overall"] = s.describe()
        rows.append(row)
    return pd.DataFrame(rows)


def pefa_band_table(rules) -> pd.DataFrame:
    """The bands applied, stated with their boundaries (for the report)."""
    window, required = pefa_years(rules)
    rows = []
    for code, key, kind in (("PI-1", "pi1_bands", "in"), ("PI-2.1", "pi2_bands", "below"),
                            ("PI-2.2", "pi2_bands", "below"), ("PI-3.1", "pi3_bands", "in")):
        bands = rules.value(f"fiscal.{key}")
        for g in sorted(bands):
            b = bands[g]
            text = (f"{b[0] * 100:g}% ≤ 比率 ≤ {b[1] * 100:g}%（含边界）" if kind == "in"
                    else f"偏差 < {b * 100:g}%（不含边界）")
            rows.append({"code": code, "grade": g, "band": text,
                         "rule": f"近 {window} 年中至少 {required} 年落在区间内"})
        rows.append({"code": code, "grade": fail_grade(bands), "band": "未达到 C 级",
                     "rule": f"或有数据的年度少于 {required} 年（数据不足）"})
    return pd.DataFrame(rows)
