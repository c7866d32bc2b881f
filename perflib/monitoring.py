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
import math
from fractions import Fraction

import numpy as np
import pandas as pd

from .coverage import _fact, _restrict, resolve_dept
from .exceptions import ParameterError

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


def bands(spent_fen, budget_fen, as_of_month: int, rules) -> np.ndarray:
    """Vectorised :func:`band_exact` (integer arithmetic on Python ints, so no overflow)."""
    months = _frac(rules.value("monitoring.months_in_year"))
    g = _frac(rules.value("monitoring.green_min_gap"))
    y = _frac(rules.value("monitoring.yellow_min_gap"))
    # gap ≥ t  ⇔  s/b − m/M ≥ p/q  ⇔  s·M_d·q·… : bring everything to one integer inequality per
    # threshold. With M = Mn/Md, t = p/q and b > 0: s·Mn·q − m·Md·b·q ≥ p·Mn·b  (all × Mn·q·b).
    mn, md = months.numerator, months.denominator
    s = np.asarray([int(v) for v in spent_fen], dtype=object)
    b = np.asarray([int(v) for v in budget_fen], dtype=object)
    m = int(as_of_month)
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
    """
    year, m = int(year), check_month(as_of_month)
    projects = store.projects(year)
    projects = _restrict(projects[~projects["is_classified"]], dept).reset_index(drop=True)
    spent = store.redact_frame(store.sql(
        "SELECT project_id, CAST(round(sum(amount) * 100) AS BIGINT) AS spent_fen FROM payments "
        "WHERE year = ? AND pay_date <= ? GROUP BY project_id", [year, month_end(year, m)]))
    df = projects.merge(spent, on="project_id", how="left")
    df["spent_fen"] = df["spent_fen"].fillna(0).astype("int64")
    df["budget_fen"] = _fen(df["budget"])
    df["spent"] = df["spent_fen"] / 100.0
    tp = time_progress(m, rules)
    df["execution_rate"] = df["spent"] / df["budget"].where(df["budget_fen"] > 0)
    df["time_progress"] = tp
    df["gap"] = df["execution_rate"] - tp
    df["band"] = bands(df["spent_fen"], df["budget_fen"], m, rules)
    return df


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
def monitoring_facts(store, year: int, as_of_month: int, rules, dept=None) -> dict:
    """SPEC's monitoring facts for ``year`` as of the end of ``as_of_month`` (optionally one level-1
    department and its sub-units). Money in 元, rates as fractions, undefined rates ``None``."""
    year, m = int(year), check_month(as_of_month)
    dept = resolve_dept(store, dept)
    pe = project_execution(store, year, m, rules, dept)
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
        "monitoring.key_projects": int(len(keys)),
        "monitoring.key_amount": round(float(keys["budget"].sum()), 2) if len(keys) else 0.0,
    }
