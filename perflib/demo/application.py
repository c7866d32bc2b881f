"""下年预算 beyond the cost pilots: the 2024 年初预算 of most other 2023 projects and a few new ones,
so that the evaluation report's 结果应用 section has something to trace (issue 17).

Drawn from a stream of its own (``seed``, 2024, 17) after every other table, so that no table drawn
before it — and none of the pilot rows the cost report uses — changes.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .calibration import AS_OF_MONTH, CITY_CODE, FEN, YEAR
from .money import effective

STEP = 100 * FEN          # budgets in whole 百元
SHARE_WITH_ROW = 0.9      # most continuing projects have a 2024 row; the others end
NEW_PROJECTS = 12         # 新增 projects of 2024 (codes 370112-2024-…)
SLOW_RATE = AS_OF_MONTH / 12 - 0.25   # spent by July below this: a red, slow project in the demo


def draw_other_next_budgets(seed: int, projects: pd.DataFrame, keyevals: pd.DataFrame,
                            pilot_rows: pd.DataFrame) -> pd.DataFrame:
    """2024 rows (fen) for the non-classified 2023 projects outside ``pilot_rows``: key-evaluated
    projects get their 下年度安排数; slow projects are cut in about half the cases and kept or raised
    in the others; the rest move by −10 %…+8 %; about a tenth end (no row); plus a few 新增 rows."""
    rng = np.random.default_rng([int(seed), YEAR + 1, 17])
    p = projects[(projects["year"] == YEAR) & ~projects["is_classified"].astype(bool)
                 & ~projects["project_id"].isin(set(pilot_rows["project_id"]))]
    p = p.sort_values("project_id").reset_index(drop=True)
    n = len(p)
    base = p["budget_amount_fen"].to_numpy(float)
    eff = effective(p).to_numpy(float)
    rate = np.divide(p["spent_fen"].to_numpy(float), eff, out=np.ones(n), where=eff > 0)
    slow = rate < SLOW_RATE
    factor = rng.uniform(0.90, 1.08, n)
    cut_slow = rng.random(n) < 0.5
    factor = np.where(slow & cut_slow, rng.uniform(0.55, 0.85, n), factor)
    factor = np.where(slow & ~cut_slow, rng.uniform(0.98, 1.15, n), factor)
    budget = np.rint(base * factor / STEP).astype(np.int64) * STEP
    approved = dict(zip(keyevals["project_id"], keyevals["next_approved_fen"]))
    key = p["project_id"].isin(set(approved)).to_numpy()
    budget[key] = [int(approved[i]) for i in p.loc[key, "project_id"]]
    keep = (rng.random(n) < SHARE_WITH_ROW) | key | slow
    cont = pd.DataFrame({"project_id": p.loc[keep, "project_id"].to_numpy(), "year": YEAR + 1,
                         "budget_fen": budget[keep], "new_or_continuing": "延续"})
    new_budget = np.rint(rng.lognormal(0.0, 0.8, NEW_PROJECTS) * 80 * 10_000 * FEN / STEP).astype(np.int64) * STEP
    new = pd.DataFrame({"project_id": [f"{CITY_CODE}-{YEAR + 1}-{i:04d}" for i in range(1, NEW_PROJECTS + 1)],
                        "year": YEAR + 1, "budget_fen": new_budget, "new_or_continuing": "新增"})
    return pd.concat([cont, new], ignore_index=True)
