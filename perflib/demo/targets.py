"""Performance targets (绩效目标): indicators of every project with targets (产出 50, 效益 30, 满意度 10
points) and the level-1 departments' own targets; and indicator values as people write them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import TABLES
from .calibration import (
    COST_TYPES,
    DEPT_INDICATORS,
    EFFECT_INDICATORS,
    FEN,
    QUALITY_INDICATORS,
    QUANTITY_INDICATORS,
    SATISFACTION_INDICATORS,
    TIMELINESS_INDICATORS,
)
from .money import effective
from .projects import Departments


def nice(x: float) -> int:
    """Round a target value to two significant digits (as people write targets)."""
    if x <= 0:
        return 0
    mag = 10 ** max(int(np.floor(np.log10(x))) - 1, 0)
    return int(round(x / mag) * mag)


def num_text(x: float) -> str:
    """A number as an indicator value: integers without decimals, others with up to 2."""
    if abs(x - round(x)) < 1e-9:
        return str(int(round(x)))
    return f"{x:.2f}".rstrip("0").rstrip(".")


def draw_targets(rng: np.random.Generator, p: pd.DataFrame, depts: Departments,
                 pilot_quantities: dict[tuple, int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The 绩效目标 table (project-level targets of eligible projects with targets, then
    department-level targets) and the project-level targets alone."""
    rows = []
    with_t = p[p["group"].isin(["eligible_t", "pilot", "key_monitored", "key_eval"])]
    eff = effective(with_t).to_numpy(float) / (10_000 * FEN)
    for (pid, year, dept, ptype), bw in zip(
            with_t[["project_id", "year", "dept_code", "project_type"]].itertuples(index=False), eff):
        ptype = ptype if isinstance(ptype, str) else None
        q = pilot_quantities.get((pid, year)) if ptype else None
        for ind in _project_indicators(rng, depts.sector_of[dept], ptype, q, bw):
            rows.append(dict(project_id=pid, dept_code=dept, year=year, **ind))
    proj_targets = pd.DataFrame(rows)
    targets = pd.concat([proj_targets, _department_targets(rng, depts.table)], ignore_index=True)
    targets["weight"] = targets["weight"].astype("Float64")
    cols = [c.name for c in TABLES["targets"].columns]
    return targets[cols], proj_targets


def _department_targets(rng: np.random.Generator, depts: pd.DataFrame) -> pd.DataFrame:
    """Department-level targets: every level-1 department in 2023, most in 2022, many in 2021."""
    level1 = depts[depts["parent_code"].isna()]["dept_code"].to_numpy()
    drows = []
    for year, share in ((2021, 0.8), (2022, 0.94), (2023, 1.0)):
        chosen = level1 if share >= 1 else level1[rng.random(len(level1)) < share]
        for dept in chosen:
            for level1_, level2, name, d, v, unit, wt in DEPT_INDICATORS:
                if v is None:
                    v = str(int(rng.integers(8, 40)))
                if level1_ == "成本指标" and rng.random() < 0.5:
                    continue
                drows.append(dict(project_id=None, dept_code=dept, year=year, level1=level1_,
                                  level2=level2, indicator=name, direction=d, target_value=v,
                                  unit=unit, weight=float(wt) if wt else None))
    return pd.DataFrame(drows)


def _project_indicators(rng: np.random.Generator, sector: str, project_type: str | None,
                        quantity: float | None, budget_wan: float) -> list[dict]:
    """Indicators of one project: 产出 50, 效益 30, 满意度 10 points (some without 满意度)."""
    out = []
    if project_type is not None:
        ct = COST_TYPES[project_type]
        q_ind = [(ct.output, ct.unit, nice(quantity * 0.95))]
    else:
        pool = QUANTITY_INDICATORS[sector]
        k = 1 if rng.random() < 0.6 or len(pool) < 2 else 2
        picks = rng.choice(len(pool), size=k, replace=False)
        scale = np.clip(np.log10(max(budget_wan, 1)) / 3.5, 0.05, 1.0)
        q_ind = []
        for i in picks:
            name, unit, lo, hi = pool[i]
            q_ind.append((name, unit, max(nice(lo + (hi - lo) * scale * rng.uniform(0.5, 1.0)), 1)))
    for name, unit, value in q_ind:
        out.append(dict(level1="产出指标", level2="数量指标", indicator=name, direction="≥",
                        target_value=str(value), unit=unit))
    qn, qd, qv = QUALITY_INDICATORS[rng.integers(len(QUALITY_INDICATORS))]
    out.append(dict(level1="产出指标", level2="质量指标", indicator=qn, direction=qd,
                    target_value=str(qv), unit="%"))
    tn, td, tv = TIMELINESS_INDICATORS[rng.integers(len(TIMELINESS_INDICATORS))]
    out.append(dict(level1="产出指标", level2="时效指标", indicator=tn, direction=td,
                    target_value=str(tv), unit="%"))
    if rng.random() < 0.25:
        out.append(dict(level1="成本指标", level2="经济成本指标", indicator="预算成本控制率",
                        direction="≤", target_value="100", unit="%"))
    for row, wt in zip(out, _weights(50, len(out), rng)):
        row["weight"] = wt
    k = 1 if rng.random() < 0.5 else 2
    picks = rng.choice(len(EFFECT_INDICATORS), size=k, replace=False)
    for row_i, wt in zip(picks, _weights(30, k, rng)):
        name, level2, d, v, unit = EFFECT_INDICATORS[row_i]
        out.append(dict(level1="效益指标", level2=level2, indicator=name, direction=d,
                        target_value=v, unit=unit, weight=wt))
    if rng.random() < 0.85:
        name, v = SATISFACTION_INDICATORS[rng.integers(len(SATISFACTION_INDICATORS))]
        out.append(dict(level1="满意度指标", level2="服务对象满意度指标", indicator=name,
                        direction="≥", target_value=str(v), unit="%", weight=10))
    return out


def _weights(points: int, n: int, rng: np.random.Generator) -> list[float]:
    """``n`` whole-number weights summing to ``points`` (roughly even, a little varied)."""
    if n == 1:
        return [float(points)]
    raw = rng.uniform(0.8, 1.2, n)
    w = np.floor(raw / raw.sum() * points).astype(int)
    w[0] += points - w.sum()
    return [float(x) for x in w]
