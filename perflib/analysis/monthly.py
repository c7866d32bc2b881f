"""本月变化 (issue 19): what moved in the monitoring report's month against the month before.

The previous state is computed from the store as of the end of month m−1 with exactly the rules of
:func:`perflib.analysis.monitoring.project_execution` (whether or not a report of m−1 was ever
published; later revisions of m−1's payments are therefore included). Definitions:

* a project *enters* a band when its band at m is that band and its band at m−1 was another one; it
  *leaves* a band the other way round (zero-budget projects are 「无预算」 in both months and never
  move);
* gap change = gap at m − gap at m−1 (execution rate − time progress, so a project without a payment
  in month m moves by −1/months_in_year); the largest movers are the projects with the largest rise
  and the largest fall of it (ties: larger budget first);
* a project *without payment* for k months: its last payment (a payment of year Y with amount > 0,
  dated up to the end of m) lies in month m − k (k = m when it has none). Projects with a budget and
  k ≥ rule ``monitoring.stalled_months`` are listed;
* the district's (and each level-1 department's) execution gap = Σ spent / Σ budget − time progress.

For month 1 there is no month m−1: :func:`month_changes` returns None and the facts are None.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .coverage import _fact
from .monitoring import (BANDS, GREEN, RED, YELLOW, check_month, execution_summary,
                         month_end, project_execution)
from ..pandas_speed import merge_on_unique

MOVING_BANDS = (RED, YELLOW, GREEN)
UP, DOWN = "上升", "下降"
_KEEP = ["project_id", "project_name", "dept_name", "level1_code", "level1_name", "budget_kind", "budget"]


@dataclass
class MonthChanges:
    """The 本月变化 of month ``month`` against ``previous`` (= month − 1)."""

    month: int
    previous: int
    projects: pd.DataFrame     # one row per monitored project, both months side by side
    bands: pd.DataFrame        # per band: previous, current, entered, left
    movers: pd.DataFrame       # largest rise and fall of the gap
    stalled: pd.DataFrame      # projects without payment for ≥ stalled_months months
    departments: pd.DataFrame  # per level-1 department
    district: dict             # execution_rate/gap at both months and gap_change


def project_changes(current: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Two :func:`project_execution` frames (month m and m−1) side by side: ``spent_prev``,
    ``execution_rate_prev``, ``gap_prev``, ``band_prev`` beside the month's columns, and
    ``gap_change`` = gap − gap_prev, computed as the month's payments ÷ budget − the month's time
    progress (NaN for a zero budget)."""
    prev = previous[["project_id", "spent", "spent_fen", "execution_rate", "time_progress", "gap", "band"]].rename(
        columns={"spent": "spent_prev", "spent_fen": "_fen_prev", "execution_rate": "execution_rate_prev",
                 "time_progress": "_tp_prev", "gap": "gap_prev", "band": "band_prev"})
    cols = _KEEP + ["budget_fen", "spent_fen", "spent", "execution_rate", "time_progress", "gap", "band"]
    out = current[cols].merge(prev, on="project_id", how="left")
    # from the month's payments in fen, so that equal payments give exactly equal changes (ties stay ties)
    moved = (out["spent_fen"] - out["_fen_prev"]) / out["budget_fen"].where(out["budget_fen"] > 0)
    out["gap_change"] = moved - (out["time_progress"] - out["_tp_prev"])
    return out.drop(columns=["_fen_prev", "_tp_prev"])


def band_moves(changes: pd.DataFrame) -> pd.DataFrame:
    """Per band (红色/黄色/绿色/无预算): projects in it at m−1 (``previous``) and at m (``current``),
    projects that ``entered`` and that ``left`` it."""
    rows = []
    for b in BANDS:
        now, before = changes["band"] == b, changes["band_prev"] == b
        rows.append({"band": b, "previous": int(before.sum()), "current": int(now.sum()),
                     "entered": int((now & ~before).sum()), "left": int((before & ~now).sum())})
    out = pd.DataFrame(rows)
    out["change"] = out["current"] - out["previous"]
    return out


def largest_movers(changes: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` projects with the largest rise and the ``n`` with the largest fall of the execution
    gap (``direction`` 上升/下降; ties: larger budget, then project code first)."""
    f = changes.dropna(subset=["gap_change"])
    up = f[f["gap_change"] > 0].sort_values(["gap_change", "budget", "project_id"],
                                            ascending=[False, False, True]).head(int(n))
    down = f[f["gap_change"] < 0].sort_values(["gap_change", "budget", "project_id"],
                                              ascending=[True, False, True]).head(int(n))
    out = pd.concat([up.assign(direction=UP), down.assign(direction=DOWN)], ignore_index=True)
    return out


_LAST_PAYMENT_SQL = """
SELECT project_id, CAST(max(month(pay_date)) AS INTEGER) AS last_payment_month
FROM payments WHERE year = ? AND pay_date <= ? AND amount > 0 GROUP BY project_id
"""


def months_without_payment(store, year: int, as_of_month: int, execution: pd.DataFrame) -> pd.DataFrame:
    """``execution`` (a :func:`project_execution` frame) with ``last_payment_month`` (0: none up to
    the end of ``as_of_month``) and ``months_without_payment`` = as_of_month − last_payment_month."""
    m = check_month(as_of_month)
    last = store.redact_frame(store.sql(_LAST_PAYMENT_SQL, [int(year), month_end(year, m)]))
    out = merge_on_unique(execution, last, "project_id")
    out["last_payment_month"] = out["last_payment_month"].fillna(0).astype(int)
    out["months_without_payment"] = m - out["last_payment_month"]
    return out


def stalled_projects(store, year: int, as_of_month: int, rules, execution: pd.DataFrame) -> pd.DataFrame:
    """Projects with a budget and no payment for at least rule ``monitoring.stalled_months`` months
    up to the end of ``as_of_month``, longest first (then larger budget)."""
    k = int(rules.value("monitoring.stalled_months"))
    f = months_without_payment(store, year, as_of_month, execution)
    f = f[(f["budget_fen"] > 0) & (f["months_without_payment"] >= k)]
    return f.sort_values(["months_without_payment", "budget", "project_id"],
                         ascending=[False, False, True]).reset_index(drop=True)


def department_changes(current: pd.DataFrame, previous: pd.DataFrame, changes: pd.DataFrame,
                       stalled: pd.DataFrame) -> pd.DataFrame:
    """Per level-1 department: budget, spent and execution gap at m−1 and m, ``gap_change``, red
    projects at both months, ``entered_red``, ``left_red`` and ``stalled`` projects."""
    by = ["level1_code", "level1_name"]
    cur = execution_summary(current, by)
    prev = execution_summary(previous, by)[by + ["spent", "execution_rate", "gap", RED]].rename(
        columns={"spent": "spent_prev", "execution_rate": "execution_rate_prev", "gap": "gap_prev",
                 RED: "red_prev"})
    out = cur[by + ["projects", "budget", "spent", "execution_rate", "gap", RED]].rename(columns={RED: "red"})
    out = out.merge(prev, on=by, how="left")
    out["gap_change"] = out["gap"] - out["gap_prev"]
    moves = changes.assign(entered_red=(changes["band"] == RED) & (changes["band_prev"] != RED),
                           left_red=(changes["band_prev"] == RED) & (changes["band"] != RED))
    counts = moves.groupby("level1_code")[["entered_red", "left_red"]].sum().astype(int)
    out = out.merge(counts, left_on="level1_code", right_index=True, how="left")
    out = out.merge(stalled.groupby("level1_code").size().rename("stalled"), left_on="level1_code",
                    right_index=True, how="left")
    for c in ("entered_red", "left_red", "stalled", "red", "red_prev"):
        out[c] = out[c].fillna(0).astype(int)
    return out.sort_values(["gap_change", "level1_code"]).reset_index(drop=True)


def _district(frame: pd.DataFrame) -> tuple[float, float]:
    budget, spent = float(frame["budget"].sum()), float(frame["spent"].sum())
    rate = spent / budget if budget else float("nan")
    tp = float(frame["time_progress"].iloc[0]) if len(frame) else float("nan")
    return rate, rate - tp


def month_changes(store, year: int, as_of_month: int, rules, dept: str | None = None,
                  execution: pd.DataFrame | None = None, n_movers: int = 10) -> MonthChanges | None:
    """The 本月变化 of ``as_of_month`` against the month before (None for month 1).
    ``execution``: :func:`project_execution` for the same arguments when the caller has it."""
    m = check_month(as_of_month)
    if m == 1:
        return None
    cur = execution if execution is not None else project_execution(store, year, m, rules, dept)
    prev = project_execution(store, year, m - 1, rules, dept)
    changes = project_changes(cur, prev)
    stalled = stalled_projects(store, year, m, rules, cur)
    rate, gap = _district(cur)
    rate_prev, gap_prev = _district(prev)
    district = {"execution_rate": rate, "gap": gap, "execution_rate_prev": rate_prev, "gap_prev": gap_prev,
                "gap_change": gap - gap_prev}
    return MonthChanges(month=m, previous=m - 1, projects=changes, bands=band_moves(changes),
                        movers=largest_movers(changes, n_movers), stalled=stalled,
                        departments=department_changes(cur, prev, changes, stalled), district=district)


CHANGE_FACTS = ("monitoring.previous_month", "monitoring.entered_red", "monitoring.left_red",
                "monitoring.entered_yellow", "monitoring.left_yellow", "monitoring.entered_green",
                "monitoring.left_green", "monitoring.stalled", "monitoring.execution_rate_prev",
                "monitoring.gap_change")
_BAND_KEYS = {RED: "red", YELLOW: "yellow", GREEN: "green"}


def change_facts(mc: MonthChanges | None) -> dict:
    """The 本月变化 facts (all None for month 1, which has no month before)."""
    if mc is None:
        return {k: None for k in CHANGE_FACTS}
    b = mc.bands.set_index("band")
    out = {"monitoring.previous_month": int(mc.previous)}
    for band, key in _BAND_KEYS.items():
        out[f"monitoring.entered_{key}"] = int(b.at[band, "entered"])
        out[f"monitoring.left_{key}"] = int(b.at[band, "left"])
    out["monitoring.stalled"] = int(len(mc.stalled))
    out["monitoring.execution_rate_prev"] = _fact(mc.district["execution_rate_prev"])
    out["monitoring.gap_change"] = _fact(mc.district["gap_change"])
    return out


def newly_red(mc: MonthChanges | None) -> pd.DataFrame:
    """The projects that turned red this month (empty for month 1)."""
    if mc is None:
        return pd.DataFrame(columns=_KEEP + ["band", "band_prev"])
    p = mc.projects
    return p[(p["band"] == RED) & (p["band_prev"] != RED)].reset_index(drop=True)

