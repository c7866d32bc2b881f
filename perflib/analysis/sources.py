"""Funding sources (资金来源, issue 17): the headline figures of coverage, monitoring and
self-evaluation broken down by 本级 / 上级转移支付 / 政府债券 / 直达资金, and the execution of the
money the rules watch more strictly (直达资金, 专项债券: rules ``monitoring.strict_sources``).

Every breakdown lists the four sources in schema order (each even when empty), then any other
value the data hold. A strict group is a fund source or a bond type (债券类型); its expected
execution rate is time progress + the group's margin, and a project is below it when its own
execution rate − time progress < margin (a zero budget is never below).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import FUND_SOURCES

SOURCE = "fund_source"


def _in_order(out: pd.DataFrame, counts: tuple[str, ...], amounts: tuple[str, ...]) -> pd.DataFrame:
    """``out`` (indexed by fund source) with every source of the schema listed, in schema order."""
    extra = [s for s in out.index if s not in FUND_SOURCES]
    out = out.reindex(list(FUND_SOURCES) + extra)
    for c in counts:
        out[c] = out[c].fillna(0).astype(int)
    for c in amounts:
        out[c] = out[c].fillna(0.0)
    return out.rename_axis(SOURCE).reset_index()


def execution_by_source(execution: pd.DataFrame) -> pd.DataFrame:
    """Monitoring by fund source, from a ``monitoring.project_execution`` frame: ``projects``,
    ``budget``, ``spent``, ``execution_rate`` (Σ spent / Σ budget, NaN when Σ budget is 0) and
    ``time_progress``, ``gap``."""
    f = execution.assign(_n=1)
    out = f.groupby(SOURCE)[["_n", "budget", "spent"]].sum().rename(columns={"_n": "projects"})
    out = _in_order(out, ("projects",), ("budget", "spent"))
    tp = float(execution["time_progress"].iloc[0]) if len(execution) else float("nan")
    out["execution_rate"] = out["spent"] / out["budget"].where(out["budget"] > 0)
    out["time_progress"] = tp
    out["gap"] = out["execution_rate"] - tp
    return out


def by_source_fact(by_source: pd.DataFrame) -> dict:
    """``monitoring.by_source``: {资金来源: {projects, budget, spent}} (money in 元, to the fen)."""
    return {str(r[SOURCE]): {"projects": int(r["projects"]), "budget": round(float(r["budget"]), 2),
                             "spent": round(float(r["spent"]), 2)}
            for _, r in by_source.iterrows()}


def strict_groups(rules) -> dict[str, float]:
    """{fund source or bond type: margin} of rules ``monitoring.strict_sources``."""
    return {str(k): float(v) for k, v in (rules.value("monitoring.strict_sources") or {}).items()}


def _member(execution: pd.DataFrame, group: str) -> pd.Series:
    mask = execution[SOURCE] == group
    if "bond_type" in execution.columns:
        mask |= execution["bond_type"] == group
    return mask.fillna(False).astype(bool)


def strict_execution(execution: pd.DataFrame, rules) -> pd.DataFrame:
    """The strictly watched groups' execution against their expectation, one row per group of
    rules ``monitoring.strict_sources``: ``group``, ``margin``, ``projects``, ``budget``, ``spent``,
    ``execution_rate``, ``time_progress``, ``expected_rate`` (time progress + margin), ``gap``
    (execution rate − expected rate), ``below`` (projects whose own gap to time progress is below
    the margin) and ``below_budget`` (their budget)."""
    tp = float(execution["time_progress"].iloc[0]) if len(execution) else float("nan")
    rows = []
    for group, margin in strict_groups(rules).items():
        g = execution[_member(execution, group)]
        budget, spent = float(g["budget"].sum()), float(g["spent"].sum())
        rate = spent / budget if budget > 0 else float("nan")
        low = g[(g["budget_fen"] > 0) & (g["execution_rate"] - tp < margin - 1e-12)]
        rows.append(dict(group=group, margin=margin, projects=int(len(g)), budget=budget, spent=spent,
                         execution_rate=rate, time_progress=tp, expected_rate=tp + margin,
                         gap=rate - (tp + margin), below=int(len(low)),
                         below_budget=float(low["budget"].sum())))
    cols = ["group", "margin", "projects", "budget", "spent", "execution_rate", "time_progress",
            "expected_rate", "gap", "below", "below_budget"]
    return pd.DataFrame(rows, columns=cols)


def strict_projects(execution: pd.DataFrame, rules) -> pd.DataFrame:
    """The projects of the strictly watched groups below their expectation (``group`` and
    ``expected_rate`` added), largest shortfall first."""
    tp = float(execution["time_progress"].iloc[0]) if len(execution) else float("nan")
    parts = []
    for group, margin in strict_groups(rules).items():
        g = execution[_member(execution, group)]
        low = g[(g["budget_fen"] > 0) & (g["execution_rate"] - tp < margin - 1e-12)].copy()
        low.insert(0, "group", group)
        low["expected_rate"] = tp + margin
        parts.append(low)
    if not parts:
        return execution.head(0).assign(group=None, expected_rate=np.nan)
    out = pd.concat(parts, ignore_index=True)
    out["shortfall"] = out["expected_rate"] - out["execution_rate"]
    return out.sort_values(["shortfall", "project_id"], ascending=[False, True]).reset_index(drop=True)


def coverage_by_source(frame: pd.DataFrame, scope_sources) -> pd.DataFrame:
    """Target coverage by fund source, from a ``coverage.project_targets`` frame: ``projects``,
    ``with_targets``, ``amount`` (their 年初预算数), ``in_scope`` (the source is one of
    ``scope_sources``, ``coverage.scope_fund_sources``), ``eligible``, ``eligible_with_targets``, ``coverage_count`` (NaN outside the
    scope or with nothing eligible)."""
    f = frame.assign(_n=1, _t=frame["has_target"].astype(int),
                     _ta=frame["budget_amount"].where(frame["has_target"], 0.0),
                     _e=frame["eligible"].astype(int),
                     _et=(frame["eligible"] & frame["has_target"]).astype(int))
    cols = {"_n": "projects", "_t": "with_targets", "_ta": "amount", "_e": "eligible",
            "_et": "eligible_with_targets"}
    out = f.groupby(SOURCE)[list(cols)].sum().rename(columns=cols)
    out = _in_order(out, ("projects", "with_targets", "eligible", "eligible_with_targets"), ("amount",))
    out["in_scope"] = out[SOURCE].isin(list(scope_sources))
    out["coverage_count"] = out["eligible_with_targets"] / out["eligible"].where(out["eligible"] > 0)
    return out


def selfeval_by_source(frame: pd.DataFrame) -> pd.DataFrame:
    """Self-evaluation by fund source, from a ``coverage.selfeval_projects`` frame: ``projects``
    (evaluated) and ``amount`` (their budget), ``required`` (with targets), ``required_evaluated``,
    ``coverage`` (NaN where none is required)."""
    f = frame.assign(_e=frame["evaluated"].astype(int), _a=frame["budget"].where(frame["evaluated"], 0.0),
                     _r=frame["has_target"].astype(int),
                     _re=(frame["has_target"] & frame["evaluated"]).astype(int))
    cols = {"_e": "projects", "_a": "amount", "_r": "required", "_re": "required_evaluated"}
    out = f.groupby(SOURCE)[list(cols)].sum().rename(columns=cols)
    out = _in_order(out, ("projects", "required", "required_evaluated"), ("amount",))
    out["coverage"] = out["required_evaluated"] / out["required"].where(out["required"] > 0)
    return out
