"""绩效运行监控 / 双监控 (seed section 六): budget execution against time progress, warning bands,
year-end projection, target progress and key monitored projects.

Rules (SPEC and ``rules.yaml`` section ``monitoring``):

* monitored projects: every non-classified project of year Y; budget = 调整后预算数, or 年初预算数
  where none; spent = payments of year Y dated up to the last day of ``as_of_month``;
* execution rate = spent / budget; time progress = as_of_month / ``months_in_year``;
  gap = execution rate − time progress;
* bands, exactly as the rules state: green gap ≥ ``green_min_gap``; yellow ``yellow_min_gap`` ≤ gap
  < ``green_min_gap``; red gap < ``yellow_min_gap``. The comparison is done in exact rational
  arithmetic on money in fen (分) and the rule values read as decimals, so a gap of exactly −10 pp
  (e.g. 0.4833… − 0.5833…) is green and exactly −20 pp is yellow, with no float tolerance;
* a project with zero budget has no execution rate (NaN, shown 「无预算」), no gap and band
  「无预算」; it is counted in neither red, yellow nor green (and its payments still count in the
  district's spent);
* year-end projection (结转结余风险): see :func:`year_end_projection`.

Payments are aggregated inside DuckDB (GROUP BY project or month), never loaded row by row.
"""
from __future__ import annotations

import calendar
import datetime as dt
from fractions import Fraction

import numpy as np
import pandas as pd

from .coverage import _fact, _restrict, resolve_dept
from .sources import by_source_fact, execution_by_source
from ..exceptions import ParameterError
from ..pandas_speed import arrow_strings, merge_on_unique

GREEN, YELLOW, RED, NO_BUDGET = "绿色", "黄色", "红色", "无预算"
BANDS = (RED, YELLOW, GREEN, NO_BUDGET)

MONEY_FAST, TARGETS_FAST = "资金快、目标慢", "目标快、资金慢"

# Target progress comes from float indicator values; comparisons against the lag threshold treat a
# difference within this many fractions of the threshold as on it (stated numerical tolerance).
TARGET_GAP_TOLERANCE = 1e-9

PROFILE_PROJECT = "本项目上年支出进度"
PROFILE_DISTRICT = "全区上年平均支出进度"
PROFILE_LINEAR = "时间进度（上年无支出数据）"


# --- parameters ---------------------------------------------------------------------------------
def check_month(as_of_month) -> int:
    """``as_of_month`` as an int in 1–12, or ParameterError."""
    try:
        m = int(as_of_month)
        ok = float(as_of_month) == m
    except (TypeError, ValueError):
        ok = False
    if not ok or not 1 <= m <= 12:
        raise ParameterError(f"as_of_month 应为 1–12 的整数，实际为「{as_of_month}」")
    return m


def month_end(year: int, month: int) -> dt.date:
    return dt.date(int(year), int(month), calendar.monthrange(int(year), int(month))[1])


def time_progress(as_of_month: int, rules) -> float:
    """Months elapsed / months in the year (rules ``monitoring.months_in_year``)."""
    return check_month(as_of_month) / float(rules.value("monitoring.months_in_year"))


# --- bands ----------------------------------------------------------------------------------
def _frac(x) -> Fraction:
    """A rule value as the decimal it is written as (−0.1 → −1/10, not the nearest binary float)."""
    return Fraction(str(x)) if isinstance(x, float) else Fraction(x)


def band_exact(spent_fen: int, budget_fen: int, as_of_month: int, rules) -> str:
    """The warning band of one project from spent and budget in fen, in exact arithmetic."""
    if budget_fen == 0:
        return NO_BUDGET
    gap = (Fraction(int(spent_fen), int(budget_fen))
           - Fraction(int(as_of_month)) / _frac(rules.value("monitoring.months_in_year")))
    if gap >= _frac(rules.value("monitoring.green_min_gap")):
        return GREEN
    if gap >= _frac(rules.value("monitoring.yellow_min_gap")):
        return YELLOW
    return RED


_INT64_SAFE = 1 << 62  # |x| below this: a sum or difference of two such products stays in int64


def _exact_ints(spent_fen, budget_fen, bound: int) -> tuple[np.ndarray, np.ndarray]:
    """Spent and budget in fen as int64 arrays when no value times ``bound`` (the largest factor the
    comparison multiplies by) can leave int64, else as arrays of Python ints (exact at any size, but
    ~30 times slower: a province's 156,000 projects took 0.22 s a call)."""
    s, b = np.asarray(spent_fen), np.asarray(budget_fen)
    if s.dtype.kind in "iu" and b.dtype.kind in "iu" and s.ndim == b.ndim == 1:
        top = max((abs(int(v)) for a in (s, b) if len(a) for v in (a.min(), a.max())), default=0)
        if bound < _INT64_SAFE and top * bound < _INT64_SAFE:
            return s.astype(np.int64), b.astype(np.int64)
    return (np.asarray([int(v) for v in spent_fen], dtype=object),
            np.asarray([int(v) for v in budget_fen], dtype=object))


def bands(spent_fen, budget_fen, as_of_month: int, rules) -> np.ndarray:
    """Vectorised :func:`band_exact` (exact integer arithmetic: int64 where it cannot overflow,
    Python ints otherwise)."""
    months = _frac(rules.value("monitoring.months_in_year"))
    g = _frac(rules.value("monitoring.green_min_gap"))
    y = _frac(rules.value("monitoring.yellow_min_gap"))
    # gap ≥ t  ⇔  s/b − m/M ≥ p/q  ⇔  s·M_d·q·… : bring everything to one integer inequality per
    # threshold. With M = Mn/Md, t = p/q and b > 0: s·Mn·q − m·Md·b·q ≥ p·Mn·b  (all × Mn·q·b).
    mn, md = months.numerator, months.denominator
    m = int(as_of_month)
    bound = max(max(abs(mn * t.denominator) + abs(m * md * t.denominator), abs(t.numerator * mn))
                for t in (g, y))  # the largest factor a fen is multiplied by below
    s, b = _exact_ints(spent_fen, budget_fen, bound)
    out = np.full(len(s), RED, dtype=object)
    if len(s) == 0:
        return out

    def at_least(t: Fraction) -> np.ndarray:
        p, q = t.numerator, t.denominator
        lhs = s * (mn * q) - b * (m * md * q)
        rhs = b * (p * mn)
        return np.asarray(lhs >= rhs, dtype=bool)

    out[at_least(y)] = YELLOW
    out[at_least(g)] = GREEN
    out[np.asarray(b == 0, dtype=bool)] = NO_BUDGET
    return out


# --- project execution ------------------------------------------------------------------------
def _fen(x: pd.Series) -> pd.Series:
    return np.round(x.astype("float64") * 100).astype("int64")


def project_execution(store, year: int, as_of_month: int, rules, dept: str | None = None) -> pd.DataFrame:
    """Monitored projects of ``year`` with spent up to the end of ``as_of_month`` and their band.

    Columns: project columns of ``Store.projects`` (budget …) plus ``spent``, ``execution_rate``
    (NaN for a zero budget), ``time_progress``, ``gap``, ``band``, ``budget_fen``, ``spent_fen``.

    Example: ``project_execution(store, 2023, last_complete_month(store, 2023, rules), rules)``
    """
    year, m = int(year), check_month(as_of_month)
    projects = store.projects(year)
    projects = _restrict(projects[~projects["is_classified"]], dept).reset_index(drop=True)
    df = merge_on_unique(projects, spent_by_project(store, year, m), "project_id")
    df["spent_fen"] = df["spent_fen"].fillna(0).astype("int64")
    df["budget_fen"] = _fen(df["budget"])
    df["spent"] = df["spent_fen"] / 100.0
    tp = time_progress(m, rules)
    df["execution_rate"] = df["spent"] / df["budget"].where(df["budget_fen"] > 0)
    df["time_progress"] = tp
    df["gap"] = df["execution_rate"] - tp
    df["band"] = bands(df["spent_fen"], df["budget_fen"], m, rules)
    df["over_budget"] = over_budget(df["spent_fen"], df["budget_fen"], rules)
    return df


_SPENT_SQL = """
SELECT project_id, CAST(round(sum(amount) * 100) AS BIGINT) AS spent_fen FROM payments
WHERE year = ? AND pay_date <= ? GROUP BY project_id
"""


def spent_by_project(store, year: int, as_of_month: int) -> pd.DataFrame:
    """``project_id``, ``spent_fen``: each project's payments of ``year`` dated up to the end of
    ``as_of_month`` (redacted), read once per store: the month's execution and the 历年同期 row of
    the same year ask for the same sums. Shared: the caller must not change it in place."""
    year, m = int(year), check_month(as_of_month)
    return store.memo(("spent_by_project", year, m), None,
                      lambda: store.redact_frame(store.sql(_SPENT_SQL, [year, month_end(year, m)])))


def over_budget(spent_fen, budget_fen, rules) -> np.ndarray:
    """Spent above budget × ``monitoring.over_execution_rate`` (exact, in fen; a zero budget with
    any spending is over it)."""
    r = _frac(rules.value("monitoring.over_execution_rate"))
    s, b = _exact_ints(spent_fen, budget_fen, max(abs(r.denominator), abs(r.numerator)))
    return np.asarray(s * r.denominator > b * r.numerator, dtype=bool)


def execution_summary(frame: pd.DataFrame, by: str | list[str] | None = None) -> pd.DataFrame:
    """Projects, budget, spent, execution rate and band counts of a :func:`project_execution`
    frame, overall or grouped ``by`` (e.g. ``level1_name`` or ``budget_kind``). The group's rate is
    Σ spent / Σ budget (NaN when Σ budget is 0); its gap uses the same time progress."""
    f = frame.assign(_n=1, **{f"_{b}": (frame["band"] == b).astype(int) for b in BANDS})
    agg = {"_n": "projects", "budget": "budget", "spent": "spent",
           **{f"_{b}": b for b in BANDS}}
    if by is None:
        out = f[list(agg)].sum().to_frame().T.rename(columns=agg)
    else:
        out = f.groupby(by, dropna=False)[list(agg)].sum().rename(columns=agg).reset_index()
    for c in ("projects", *BANDS):
        out[c] = out[c].astype(int)
    tp = float(frame["time_progress"].iloc[0]) if len(frame) else float("nan")
    out["execution_rate"] = out["spent"] / out["budget"].where(out["budget"] > 0)
    out["time_progress"] = tp
    out["gap"] = out["execution_rate"] - tp
    return out


def key_projects(store, year: int, dept: str | None = None) -> pd.DataFrame:
    """Projects marked 是否重点监控 in the monitoring table for ``year`` (any month), with budget."""
    marked = store.redact_frame(store.sql(
        "SELECT project_id, max(as_of_month) AS marked_month FROM monitoring "
        "WHERE year = ? AND key_monitored GROUP BY project_id", [int(year)]))
    projects = _restrict(store.projects(int(year)), dept)
    return projects.merge(marked, on="project_id", how="inner").reset_index(drop=True)


# --- facts ----------------------------------------------------------------------------------
def monitoring_facts(store, year: int, as_of_month: int, rules, dept=None,
                     execution: pd.DataFrame | None = None) -> dict:
    """SPEC's monitoring facts for ``year`` as of the end of ``as_of_month`` (optionally one level-1
    department and its sub-units). Money in 元, rates as fractions, undefined rates ``None``.
    ``execution``: :func:`project_execution` for the same arguments when the caller has it already."""
    year, m = int(year), check_month(as_of_month)
    dept = resolve_dept(store, dept)
    pe = execution if execution is not None else project_execution(store, year, m, rules, dept)
    s = execution_summary(pe).iloc[0] if len(pe) else None
    keys = key_projects(store, year, dept)
    budget = float(pe["budget"].sum()) if len(pe) else 0.0
    spent = float(pe["spent"].sum()) if len(pe) else 0.0
    return {
        "monitoring.as_of_month": m,
        "monitoring.projects": int(len(pe)),
        "monitoring.budget": round(budget, 2),
        "monitoring.spent": round(spent, 2),
        "monitoring.execution_rate": _fact(spent / budget if budget else float("nan")),
        "monitoring.time_progress": time_progress(m, rules),
        "monitoring.red": int(s[RED]) if s is not None else 0,
        "monitoring.yellow": int(s[YELLOW]) if s is not None else 0,
        "monitoring.green": int(s[GREEN]) if s is not None else 0,
        "monitoring.over_budget": int(pe["over_budget"].sum()) if len(pe) else 0,
        "monitoring.key_projects": int(len(keys)),
        "monitoring.key_amount": round(float(keys["budget"].sum()), 2) if len(keys) else 0.0,
        "monitoring.by_source": by_source_fact(execution_by_source(pe)),
    }


# --- monthly curves ---------------------------------------------------------------------------
# what a year's execution by department needs of its projects (a prior year read narrow, not whole)
BUDGET_COLUMNS = ("project_id", "level1_code", "level1_name", "budget", "is_classified")

_MONTHLY_SQL = """
SELECT pa.year, pr.dept_code, CAST(month(pa.pay_date) AS INTEGER) AS month,
       CAST(round(sum(pa.amount) * 100) AS BIGINT) AS spent_fen
FROM payments pa
JOIN projects pr ON pr.project_id = pa.project_id AND pr.year = pa.year
WHERE pa.year IN (?, ?) AND NOT coalesce(pr.is_classified, false)
GROUP BY pa.year, pr.dept_code, month(pa.pay_date)
"""


def monthly_execution(store, year: int, as_of_month: int, rules, dept: str | None = None) -> pd.DataFrame:
    """Cumulative execution by month for ``year`` (months 1…as_of_month) and ``year − 1`` (1…12),
    per level-1 department: columns ``year``, ``month``, ``level1_code``, ``level1_name``,
    ``budget`` (Σ budget of the department's monitored projects that year), ``spent`` (in the
    month), ``cum_spent``, ``cum_rate`` (NaN for a zero budget) and ``time_progress``.

    Payments are summed in DuckDB by year, unit and month; only departments × months reach pandas.
    """
    year, m = int(year), check_month(as_of_month)
    months_in_year = float(rules.value("monitoring.months_in_year"))
    depts = store.departments()[["dept_code", "level1_code", "level1_name"]]
    raw = store.sql(_MONTHLY_SQL, [year, year - 1]).merge(depts, on="dept_code", how="left")
    raw = raw.groupby(["year", "level1_code", "month"], as_index=False)["spent_fen"].sum()
    frames = []
    for y, last in ((year - 1, 12), (year, m)):
        pr = store.projects(y, columns=BUDGET_COLUMNS)  # the columns used, then the rows
        pr = _restrict(pr[["level1_code", "level1_name", "budget"]][~pr["is_classified"]], dept)
        budget = pr.groupby(["level1_code", "level1_name"], as_index=False)["budget"].sum()
        if budget.empty:
            continue
        grid = budget.merge(pd.DataFrame({"month": range(1, last + 1)}), how="cross")
        grid["year"] = y
        grid = grid.merge(raw[raw["year"] == y], on=["year", "level1_code", "month"], how="left")
        grid["spent"] = grid["spent_fen"].fillna(0) / 100.0
        grid = grid.drop(columns="spent_fen").sort_values(["level1_code", "month"])
        grid["cum_spent"] = grid.groupby("level1_code")["spent"].cumsum()
        frames.append(grid)
    cols = ["year", "month", "level1_code", "level1_name", "budget", "spent", "cum_spent"]
    out = pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)
    out["cum_rate"] = out["cum_spent"] / out["budget"].where(out["budget"] > 0)
    out["time_progress"] = out["month"] / months_in_year
    return out.reset_index(drop=True)


def execution_curve(monthly: pd.DataFrame, level1_codes=None) -> pd.DataFrame:
    """The cumulative execution curve of the district (or of the given level-1 departments taken
    together) from :func:`monthly_execution`: one row per year and month."""
    f = monthly if level1_codes is None else monthly[monthly["level1_code"].isin(list(level1_codes))]
    out = f.groupby(["year", "month"], as_index=False)[["budget", "spent", "cum_spent"]].sum()
    out["cum_rate"] = out["cum_spent"] / out["budget"].where(out["budget"] > 0)
    tp = f.groupby("month")["time_progress"].first()
    out["time_progress"] = out["month"].map(tp)
    return out


def slowest_departments(dept_summary: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The ``n`` level-1 departments with the lowest execution rate (zero-budget ones left out),
    from ``execution_summary(project_execution(...), ["level1_code", "level1_name"])``."""
    f = dept_summary[dept_summary["budget"] > 0]
    return f.sort_values(["execution_rate", "budget"], ascending=[True, False]).head(int(n)).reset_index(drop=True)


# --- year-end projection ---------------------------------------------------------------------
# summed by project first, then the classified and unknown codes left out (a semi-join of the sums,
# not a join of every payment: 2× faster on a province's year of payments, the same rows)
_PRIOR_PROFILE_SQL = """
SELECT project_id,
       CAST(round(coalesce(sum(amount) FILTER (WHERE month(pay_date) <= $1), 0) * 100) AS BIGINT) AS prior_cum_fen,
       CAST(round(sum(amount) * 100) AS BIGINT) AS prior_total_fen
FROM payments WHERE year = $2 GROUP BY project_id
HAVING project_id IN (SELECT project_id FROM projects WHERE year = $2 AND NOT coalesce(is_classified, false))
"""


def year_end_projection(store, year: int, as_of_month: int, rules, dept: str | None = None,
                        execution: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each monitored project's projected year-end spending and unspent balance (结转结余风险).

    Method: the share of a year's spending made by the end of ``as_of_month`` is taken from the
    prior year (Y−1) — the project's own payments when the same project code has prior-year
    payments with a positive share by that month (``profile`` 「本项目上年支出进度」); otherwise the
    district's average profile, i.e. all monitored projects' prior-year payments by that month over
    their prior-year total (「全区上年平均支出进度」); when the prior year has no payments at all,
    time progress (「时间进度（上年无支出数据）」). Projected spending = spent ÷ share, kept between
    what is already spent and the budget; projected unspent = budget − projected spending. In
    December the share is 1, so the projection is what was spent.

    Columns added to :func:`project_execution`'s: ``profile``, ``share``, ``projected_spent``,
    ``projected_unspent``, ``projected_rate`` (NaN for a zero budget).
    """
    year, m = int(year), check_month(as_of_month)
    pe = execution if execution is not None else project_execution(store, year, m, rules, dept)
    prior = store.redact_frame(store.sql(_PRIOR_PROFILE_SQL, [m, year - 1]))
    total_fen = int(prior["prior_total_fen"].sum()) if len(prior) else 0
    cum_fen = int(prior["prior_cum_fen"].sum()) if len(prior) else 0
    if total_fen > 0 and cum_fen > 0:
        district_share, district_label = cum_fen / total_fen, PROFILE_DISTRICT
    else:
        district_share, district_label = time_progress(m, rules), PROFILE_LINEAR
    df = merge_on_unique(pe, prior, "project_id")  # each project's prior-year figures, by lookup
    own = (df["prior_total_fen"].fillna(0) > 0) & (df["prior_cum_fen"].fillna(0) > 0)
    df["share"] = np.where(own, df["prior_cum_fen"] / df["prior_total_fen"].where(own), district_share)
    df["profile"] = np.where(own, PROFILE_PROJECT, district_label)
    raw = df["spent"] / df["share"]
    df["projected_spent"] = np.minimum(np.maximum(raw, df["spent"]), np.maximum(df["budget"], df["spent"]))
    df["projected_unspent"] = (df["budget"] - df["projected_spent"]).clip(lower=0.0)
    df["projected_rate"] = df["projected_spent"] / df["budget"].where(df["budget_fen"] > 0)
    return df.drop(columns=["prior_cum_fen", "prior_total_fen"])


def projection_summary(projection: pd.DataFrame, by: str | list[str] | None = None) -> pd.DataFrame:
    """Budget, spent, projected spending and projected unspent balance, overall or grouped."""
    cols = ["budget", "spent", "projected_spent", "projected_unspent"]
    if by is None:
        out = projection[cols].sum().to_frame().T
        out.insert(0, "projects", len(projection))
    else:
        out = projection.groupby(by, dropna=False)[cols].sum().reset_index()
        out.insert(len(out.columns) - len(cols), "projects",
                   projection.groupby(by, dropna=False).size().to_numpy())
    out["projected_rate"] = out["projected_spent"] / out["budget"].where(out["budget"] > 0)
    return out


# --- target side of 双监控 ----------------------------------------------------------------------
_TARGET_PROGRESS_SQL = """
WITH snap AS (
    SELECT project_id, max(as_of_month) AS snapshot_month FROM monitoring
    WHERE year = ? AND as_of_month <= ? GROUP BY project_id
)
SELECT mo.project_id, mo.as_of_month AS snapshot_month, mo.indicator, t.level1, t.level2, t.direction,
       t.target_value, t.unit, mo.actual_value, mo.deviation_reason, mo.likelihood,
       coalesce(mo.key_monitored, false) AS key_monitored
FROM monitoring mo
JOIN snap s ON s.project_id = mo.project_id AND s.snapshot_month = mo.as_of_month
LEFT JOIN targets t ON t.year = mo.year AND t.project_id = mo.project_id AND t.indicator = mo.indicator
WHERE mo.year = ?
"""


# each indicator row of the report's projects, sorted by (level1_code, project_id, indicator), with the
# position of its project in ``report_projects`` (its text columns are taken from the frame after the sort:
# carried through DuckDB's sort they raised a province report's peak by ~0.1 GB)
_TARGET_PROGRESS_BY_PROJECT = f"""
WITH r AS ({_TARGET_PROGRESS_SQL})
SELECT p.position, r.* EXCLUDE (project_id) FROM r JOIN report_projects p ON p.project_id = r.project_id
ORDER BY p.level1_code NULLS LAST, r.project_id, r.indicator"""


_PLAIN_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_MAYBE_NUMBER = r"\p{Nd}|(?i:inf)"  # a decimal digit of any script, or inf/infinity in any case


def _to_number(s: pd.Series) -> pd.Series:
    """Indicator values as numbers (thousands commas and a trailing % dropped; NaN when not a
    number). Plain decimals are parsed by Arrow in one pass (a province has ~500,000 indicator
    values); anything else goes through ``pd.to_numeric`` as before."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.chunked_array([arrow_strings(s)]).cast(pa.large_string())
    arr = pc.utf8_rtrim(pc.replace_substring(arr, ",", ""), "%")
    plain = pc.fill_null(pc.match_substring_regex(arr, _PLAIN_NUMBER), False)
    out = pd.Series(pc.cast(pc.if_else(plain, arr, None), pa.float64()).to_numpy(),
                    index=s.index, dtype="float64")
    # the rest through pandas, but only texts that hold a digit or an "inf" can be numbers there:
    # most of them are 定性 words (a province's ~50,000 per column; 0.05 s to ask pandas about)
    rest = ~plain.to_numpy() & pc.fill_null(pc.match_substring_regex(arr, _MAYBE_NUMBER), False).to_numpy()
    if rest.any():
        text = pd.Series(arr.filter(pa.chunked_array([rest])).to_pylist(), index=s.index[rest], dtype=object)
        out[rest] = pd.to_numeric(text, errors="coerce").astype("float64")
    return out


def indicator_completion(direction: pd.Series, target: pd.Series, actual: pd.Series, rules,
                         target_number: pd.Series | None = None) -> pd.Series:
    """Completion of each indicator so far, as a fraction of its target.

    ≥ and =: actual / target; ≤ (a ceiling): 1 when actual ≤ target, else target / actual; 定性: the
    tier of the actual value (优/良/中/差) from ``self_evaluation.qualitative_tiers``. NaN when the
    actual value is missing or not comparable (a target or actual of 0 where it would divide).
    ``target_number``: the targets as numbers when the caller has them already.
    """
    tiers = rules.value("self_evaluation.qualitative_tiers")
    t = _to_number(target) if target_number is None else target_number
    a = _to_number(actual)
    d = direction.astype("string")
    out = pd.Series(np.nan, index=direction.index, dtype="float64")
    ge = d.isin(["≥", "="]).fillna(False).astype(bool) & (t != 0)
    out[ge] = (a / t)[ge]
    le = (d == "≤").fillna(False).astype(bool)
    le_ok = le & (a <= t)
    out[le_ok] = 1.0
    le_over = le & (a > t) & (a != 0)
    out[le_over] = (t / a)[le_over]
    ql = (d == "定性").fillna(False).astype(bool)
    out[ql] = actual[ql].astype("string").str.strip().map(tiers).astype("float64")
    return out


QUANTITY_LEVEL2 = "数量指标"


def cumulative_mask(indicators: pd.DataFrame, target_number: pd.Series | None = None) -> pd.Series:
    """Indicators whose actual value accumulates over the year, so that its completion so far is
    comparable with the execution rate: 二级指标 = 数量指标; where 二级指标 is empty, a ≥ or =
    indicator with a numeric target whose unit is not %. Level-type indicators (合格率, 满意度, 定性,
    ≤ ceilings) say how well, not how far, and are reported as attainment instead.
    ``target_number``: the targets as numbers when the caller has them already."""
    level2 = indicators["level2"].astype("string").str.strip()
    has_level2 = level2.notna() & (level2 != "")
    numeric = (_to_number(indicators["target_value"]) if target_number is None else target_number).notna()
    unit = indicators["unit"].astype("string").str.strip().fillna("")
    fallback = indicators["direction"].isin(["≥", "="]) & numeric & ~unit.isin(["%", "％"])
    out = (has_level2 & (level2 == QUANTITY_LEVEL2)) | (~has_level2 & fallback)
    return out.fillna(False).astype(bool)


def target_progress(store, year: int, as_of_month: int, rules, dept: str | None = None) -> pd.DataFrame:
    """Indicator progress from the latest monitoring snapshot of each project up to ``as_of_month``,
    with the indicator's target, ``completion`` (see :func:`indicator_completion`), ``cumulative``
    (see :func:`cumulative_mask`), deviation reason and likelihood of completion; project columns
    joined (redacted)."""
    year, m = int(year), check_month(as_of_month)
    projects = store.projects(year)
    projects = _restrict(projects[~projects["is_classified"]], dept)[
        ["project_id", "project_name", "dept_name", "level1_code", "level1_name", "budget"]]
    # the report's projects joined and sorted in DuckDB (in pandas, gathering a province's ~460,000
    # rows, string columns and all, took 2 s); classified projects are not among them
    keys = projects[["project_id", "level1_code"]].assign(position=np.arange(len(projects)))
    rows = store.sql_joined(_TARGET_PROGRESS_BY_PROJECT, [year, m, year], report_projects=keys)
    at = rows.pop("position").to_numpy()
    df = store.redact_frame(pd.concat([projects.take(at).reset_index(drop=True), rows], axis=1))
    target = _to_number(df["target_value"])
    df["completion"] = indicator_completion(df["direction"], df["target_value"], df["actual_value"], rules,
                                            target_number=target)
    df["cumulative"] = cumulative_mask(df, target_number=target)
    return df


LIKELIHOOD_ORDER = {"确定能": 0, "有可能": 1, "完全不可能": 2}


def project_target_progress(indicators: pd.DataFrame) -> pd.DataFrame:
    """Per project: ``target_progress`` = mean of min(completion, 1) over its cumulative
    indicators with a known completion (an over-achieved indicator does not make up for a lagging
    one; NaN when it has none — then money and targets are not compared); ``attainment`` = the
    same over its level-type indicators; ``indicators``, ``impossible`` (indicators 完全不可能),
    ``likelihood`` (the worst one), ``deviation_reasons`` (distinct, joined with 「、」) and
    ``snapshot_month``."""
    capped = indicators["completion"].clip(upper=1.0)
    likelihood = indicators["likelihood"]
    rank = pd.Series(np.nan, index=indicators.index)  # LIKELIHOOD_ORDER's rank (a map of each value: 0.3 s)
    for name, r in LIKELIHOOD_ORDER.items():
        rank[(likelihood == name).fillna(False).to_numpy(dtype=bool)] = r
    # only the columns used: the others (project and target text) would be moved by every step below
    f = indicators[["project_id", "snapshot_month", "deviation_reason"]].assign(
        _c=capped.where(indicators["cumulative"]), _l=capped.where(~indicators["cumulative"]),
        _imp=(rank == LIKELIHOOD_ORDER["完全不可能"]).astype(int), _lk=rank)
    g = f.groupby("project_id")
    out = pd.DataFrame({
        "target_progress": g["_c"].mean(),
        "attainment": g["_l"].mean(),
        "indicators": g.size(),
        "impossible": g["_imp"].sum().astype(int),
        "snapshot_month": g["snapshot_month"].max(),
    })
    inv = {v: k for k, v in LIKELIHOOD_ORDER.items()}
    out["likelihood"] = g["_lk"].max().map(inv)
    reasons = f.dropna(subset=["deviation_reason"])
    reasons = reasons[reasons["deviation_reason"].astype("string").str.strip() != ""]
    reasons = reasons.drop_duplicates(["project_id", "deviation_reason"])
    out["deviation_reasons"] = _join_by(reasons["project_id"], reasons["deviation_reason"], "、")
    out["deviation_reasons"] = out["deviation_reasons"].fillna("")
    return out.reset_index()


def _join_by(keys: pd.Series, values: pd.Series, sep: str) -> pd.Series:
    """``values`` joined with ``sep`` per key, in their order (one vectorised pass: a Python join per
    group takes seconds for the ~50,000 projects of a province)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if keys.empty:
        return pd.Series([], dtype=object, index=pd.Index([], name=keys.name))
    # in Arrow: the rows sorted by key (a stable sort: each key's values keep their order), a list
    # per run of equal keys, each list joined (the keys as Python objects sorted 0.2 s a province)
    k, v = arrow_strings(keys.astype(str)), arrow_strings(values.astype(str))
    order = pc.sort_indices(k)
    k, v = k.take(order), v.take(order)
    starts = np.flatnonzero(np.r_[True, pc.not_equal(k[1:], k[:-1]).to_numpy(zero_copy_only=False)])
    lists = pa.ListArray.from_arrays(pa.array(np.r_[starts, len(k)], pa.int32()), v)
    joined = pc.binary_join(lists, pa.scalar(sep, v.type))
    return pd.Series(joined.to_numpy(zero_copy_only=False).astype(object),
                     index=pd.Index(k.take(pa.array(starts)).to_numpy(zero_copy_only=False).astype(object),
                                    name=keys.name))


def money_target_disagreement(execution: pd.DataFrame, progress: pd.DataFrame, rules) -> pd.DataFrame:
    """Projects where money and targets disagree (rule ``monitoring.target_lag_gap`` = g):
    target progress − execution rate < −g → 「资金快、目标慢」 (money spent, targets lagging);
    > g → 「目标快、资金慢」. Exactly ±g is not a disagreement (strict, as the rule states; float
    differences within :data:`TARGET_GAP_TOLERANCE` of ±g count as on it). Projects without a
    known target progress or budget are left out."""
    g = float(rules.value("monitoring.target_lag_gap"))
    df = execution.merge(progress, on="project_id", how="inner")
    df["progress_gap"] = df["target_progress"] - df["execution_rate"]
    lag = df["progress_gap"] < -g - TARGET_GAP_TOLERANCE
    lead = df["progress_gap"] > g + TARGET_GAP_TOLERANCE
    df["disagreement"] = np.select([lag, lead], [MONEY_FAST, TARGETS_FAST], default="")
    df = df[df["disagreement"] != ""]
    return df.sort_values(["disagreement", "progress_gap"]).reset_index(drop=True)


def deviation_summary(indicators: pd.DataFrame) -> pd.DataFrame:
    """Indicators and projects per deviation reason (empty reasons left out)."""
    f = indicators.dropna(subset=["deviation_reason"])
    f = f[f["deviation_reason"].astype("string").str.strip() != ""]
    out = f.groupby("deviation_reason").agg(indicators=("indicator", "size"),
                                            projects=("project_id", "nunique"))
    return out.sort_values("indicators", ascending=False).reset_index()


def likelihood_summary(indicators: pd.DataFrame) -> pd.DataFrame:
    """Indicators and projects per likelihood of completion, in the order 确定能/有可能/完全不可能."""
    out = indicators.groupby("likelihood").agg(indicators=("indicator", "size"),
                                               projects=("project_id", "nunique"))
    out = out.reindex(list(LIKELIHOOD_ORDER)).fillna(0).astype(int)
    return out.rename_axis("likelihood").reset_index()


# --- key projects and the action list -----------------------------------------------------------
def key_project_report(store, year: int, as_of_month: int, rules, dept: str | None = None,
                       execution: pd.DataFrame | None = None,
                       progress: pd.DataFrame | None = None) -> pd.DataFrame:
    """Key monitored projects (重点监控) with budget, spent, rate, band and target progress, as of
    the end of :func:`key_round_month` (the findings line is drafted by
    ``perflib.present.text.monitoring.with_findings``). ``execution``/``progress``: the report's
    frames for ``as_of_month``, used when the round month is that month."""
    year, m = int(year), key_round_month(as_of_month, rules)
    if m != int(as_of_month):
        execution = progress = None
    pe = execution if execution is not None else project_execution(store, year, m, rules, dept)
    if progress is None:
        progress = project_target_progress(target_progress(store, year, m, rules, dept))
    keys = key_projects(store, year, dept)[["project_id"]]
    cols = ["project_id", "project_name", "dept_name", "level1_name", "budget", "spent",
            "execution_rate", "time_progress", "gap", "band"]
    df = keys.merge(pe[cols], on="project_id", how="inner").merge(progress, on="project_id", how="left")
    return df.sort_values("budget", ascending=False).reset_index(drop=True)

def red_action_list(execution: pd.DataFrame, projection: pd.DataFrame | None = None) -> pd.DataFrame:
    """Red projects by department for sending out: 主管部门, 预算单位, project, budget kind, budget,
    spent, execution rate, time progress, gap (and projected unspent when a projection is given);
    departments in order, the worst gap first within each."""
    red = execution[execution["band"] == RED]
    cols = ["level1_name", "dept_name", "project_id", "project_name", "budget_kind", "budget",
            "spent", "execution_rate", "time_progress", "gap"]
    out = red[cols + ["level1_code"]]
    if projection is not None:
        out = out.merge(projection[["project_id", "projected_unspent"]], on="project_id", how="left")
        cols = cols + ["projected_unspent"]
    out = out.sort_values(["level1_code", "gap", "project_id"])
    return out[cols].reset_index(drop=True)


# --- which months the data cover -----------------------------------------------------------------
def month_complete(year: int, month: int, last_payment: dt.date | None, export_date: dt.date | None,
                   rules) -> bool:
    """Whether the payments of ``year`` cover ``month`` entirely (rule
    ``monitoring.month_complete_gap_days`` = g): the last payment lies on or after the month's last
    day; or the export was written after the month's last day and the last payment lies within g
    days of it (the month's last days fell on a weekend or holiday). A month with the last payment
    further back is not complete whatever the export date: the export then lacks payments."""
    if last_payment is None:
        return False
    end = month_end(year, month)
    if last_payment >= end:
        return True
    gap = int(rules.value("monitoring.month_complete_gap_days"))
    return export_date is not None and export_date > end and (end - last_payment).days <= gap


def last_complete_month(store, year: int, rules) -> int | None:
    """The last month of ``year`` the payments cover entirely (:func:`month_complete`, with the
    store's last payment date of ``year`` and its export date); None when no month is complete.
    The default monitoring month of the report, the runner and the overview.

    Example: ``last_complete_month(Store("data/perf.duckdb"), 2023, load_rules())`` → 7 on the demo
    """
    last, export = store.last_payment_date(int(year)), store.payments_export_date()
    if last is None:
        return None
    for m in range(min(last.month + 1, 12), 0, -1):
        if month_complete(int(year), m, last, export, rules):
            return m
    return None


def check_month_covered(store, year: int, as_of_month: int, rules) -> int:
    """``as_of_month`` when the data cover it entirely (:func:`month_complete`); else
    ParameterError naming the last payment date (and the export date when it was recorded)."""
    year, m = int(year), check_month(as_of_month)
    last, export = store.last_payment_date(year), store.payments_export_date()
    if month_complete(year, m, last, export, rules):
        return m
    if last is None:
        raise ParameterError(f"{year} 年没有支付数据，不能生成截至 {m} 月底的监控报告")
    exported = f"（导出日期 {export.year} 年 {export.month} 月 {export.day} 日）" if export else ""
    done = last_complete_month(store, year, rules)
    hint = f"；支付数据完整的最后一个月为 {done} 月，可用 -p as_of_month={done}" if done else ""
    raise ParameterError(f"{year} 年支付数据只到 {last.month} 月 {last.day} 日{exported}，"
                         f"不能生成截至 {m} 月底的监控报告{hint}")


def resolve_month(store, year: int, as_of_month, rules) -> int:
    """``as_of_month`` checked against the data (:func:`check_month_covered`), or (None) the last
    complete month (:func:`last_complete_month`); ParameterError when there is none."""
    if as_of_month is None or (isinstance(as_of_month, str) and not as_of_month.strip()):
        m = last_complete_month(store, year, rules)
        if m is None:
            last = store.last_payment_date(int(year))
            what = (f"支付数据只到 {last.month} 月 {last.day} 日，还没有完整的月份" if last
                    else "没有支出明细")
            raise ParameterError(f"{year} 年{what}，无法确定监控月份")
        return m
    return check_month_covered(store, year, as_of_month, rules)


def key_round_month(as_of_month: int, rules) -> int:
    """The month the key-monitoring round (重点监控) is computed to: ``monitoring.key_round_months``
    (财预〔2019〕136号: the concentrated round covers January to July), or ``as_of_month`` when earlier."""
    return min(check_month(as_of_month), int(rules.value("monitoring.key_round_months")))
