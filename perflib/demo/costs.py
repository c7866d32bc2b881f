"""The cost pilots' cost elements and outputs (成本构成, 产出数量), calibrated so that the seed's cost
savings over the five standards come to exactly 727 万元. Drawn before the budgets, which follow them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .calibration import COST_ELEMENTS, COST_SAVINGS_TOTAL, COST_TYPES, FEN, YEAR
from .money import split_groups


@dataclass
class PilotCosts:
    """Cost elements of every pilot project-year (``costs``, fen) and, per (project_id, year), the
    output quantity, quality score and pilot type."""

    costs: pd.DataFrame
    quantities: dict[tuple, int]
    quality: dict[tuple, float]
    ptype: dict[tuple, str]

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The 成本构成 and 产出数量 tables (canonical columns)."""
        rows = []
        for (pid, year), q in self.quantities.items():
            ct = COST_TYPES[self.ptype[(pid, year)]]
            rows.append(dict(project_id=pid, year=year, output_name=ct.output, unit=ct.unit,
                             quantity=int(q), quality_score=self.quality[(pid, year)]))
        outputs = pd.DataFrame(rows).sort_values(["year", "project_id"]).reset_index(drop=True)
        costs = self.costs.copy()
        return costs.sort_values(["year", "project_id"], kind="stable").reset_index(drop=True), outputs


def draw_pilot_costs(rng: np.random.Generator, p: pd.DataFrame) -> PilotCosts:
    """Quantities, unit costs and cost elements of every pilot project-year (type by type), with
    two clear outliers, calibrated so that the savings (SPEC) sum to 727 万元."""
    pil = p[p["group"] == "pilot"].sort_values(["project_type", "project_id", "year"])
    rows = []
    quantities = {}
    quality = {}
    for ptype, grp in pil.groupby("project_type", sort=True):
        ct = COST_TYPES[ptype]
        ids = grp["project_id"].unique()
        level = {pid: 1 + rng.normal(0, ct.spread) for pid in ids}
        base_q = {pid: rng.uniform(*ct.quantity) for pid in ids}
        recs = []
        for pid, year in zip(grp["project_id"], grp["year"]):
            q = base_q[pid] * rng.uniform(0.95, 1.06) * (1 + 0.02 * (year - 2021))
            q = max(int(round(q / ct.quantity_step)) * ct.quantity_step, ct.quantity_step)
            uc = ct.unit_cost * level[pid] * (1 + rng.normal(0, ct.spread / 3))
            recs.append([pid, year, q, uc, False])
        df = pd.DataFrame(recs, columns=["project_id", "year", "q", "uc", "outlier"])
        # two clear outliers: an over-spending reception unit in 2023, a mis-keyed property area
        if ptype == "公务接待":
            k = df.index[df["year"] == YEAR][int(rng.integers((df["year"] == YEAR).sum()))]
            df.loc[k, ["uc", "outlier"]] = [df.loc[k, "uc"] * 2.2, True]
        if ptype == "物业管理":
            k = df.index[df["year"] == 2021][int(rng.integers((df["year"] == 2021).sum()))]
            df.loc[k, ["uc", "outlier"]] = [df.loc[k, "uc"] * 0.4, True]
        df["cost"] = np.rint(df["uc"] * df["q"] * FEN).astype(np.int64)
        df = _calibrate_savings(df, COST_SAVINGS_TOTAL * ct.savings_share)
        for pid, year, q in df[["project_id", "year", "q"]].itertuples(index=False):
            quantities[(pid, year)] = q
            quality[(pid, year)] = round(float(np.clip(rng.normal(84, 7), 60, 100)), 1)
        shares = np.array(ct.shares)
        for pid, year, c in df[["project_id", "year", "cost"]].itertuples(index=False):
            w = rng.dirichlet(shares[shares > 0] * 60)
            elems = [e for e, s in zip(COST_ELEMENTS, shares) if s > 0]
            amounts = split_groups(np.zeros(len(w), dtype=int), w, np.array([c]))
            for e, a in zip(elems, amounts):
                rows.append(dict(project_id=pid, year=year, cost_element=e, amount_fen=int(a)))
    return PilotCosts(costs=pd.DataFrame(rows), quantities=quantities, quality=quality,
                      ptype=dict(zip(zip(pil["project_id"], pil["year"]), pil["project_type"])))


def _calibrate_savings(df: pd.DataFrame, target: float) -> pd.DataFrame:
    """Adjust 2023 costs of one pilot type so that its savings (SPEC) equal ``target`` 元.

    standard = median of all unit costs (2021–2023, linear quantile); savings = Σ over 2023 of
    max(0, unit cost − standard) × quantity. If the natural savings exceed the target, the 2023
    above-standard costs are first shrunk toward the standard; then one above-standard 2023 project
    (not an outlier) absorbs the exact difference. It stays above the median's order statistics,
    so the standard does not move.
    """
    df = df.copy()
    y = (df["year"] == YEAR).to_numpy()
    for _ in range(100):
        uc = df["cost"].to_numpy(float) / FEN / df["q"].to_numpy(float)
        std = float(np.quantile(uc, 0.5))
        above = y & (uc > std)
        savings = float(((uc - std) * df["q"].to_numpy(float))[above].sum())
        if savings > target * 0.9:
            shrink = above & ~df["outlier"].to_numpy()
            new_uc = std + (uc - std) * 0.7
            df.loc[shrink, "cost"] = np.rint(new_uc[shrink] * df["q"].to_numpy(float)[shrink] * FEN
                                             ).astype(np.int64)
            continue
        n = len(uc)
        upper = np.sort(uc)[int(np.ceil(0.5 * (n - 1)))]
        cand = np.flatnonzero(y & ~df["outlier"].to_numpy())
        k = cand[np.argmax(uc[cand])]
        if not uc[k] > upper:
            df.loc[df.index[k], "cost"] = int(round(np.max(uc) * 1.03 * df["q"].iloc[k] * FEN))
            continue
        delta = int(round((target - savings) * FEN))
        df.loc[df.index[k], "cost"] = int(df["cost"].iloc[k]) + delta
        uc = df["cost"].to_numpy(float) / FEN / df["q"].to_numpy(float)
        assert abs(float(np.quantile(uc, 0.5)) - std) < 1e-9
        return df
    raise RuntimeError("could not calibrate cost savings")  # pragma: no cover


def draw_next_budgets(seed: int, projects: pd.DataFrame) -> pd.DataFrame:
    """下年预算: the 2024 年初预算 of every 2023 cost-pilot project (all 延续), in fen, rounded to 100 元.

    Most are cut by 0–15 % against 2023, a few rise, so the actual cut (Σ positive 2023 − 2024
    differences) differs from the estimate (测算可压减, 727 万元). Drawn from a stream of its own
    (``seed``, 2024) so that no table drawn before it changes.
    """
    rng = np.random.default_rng([int(seed), YEAR + 1])
    pil = projects[(projects["group"] == "pilot") & (projects["year"] == YEAR)].sort_values("project_id")
    factor = rng.uniform(0.85, 1.03, len(pil))
    step = 100 * FEN
    budget = np.rint(pil["budget_amount_fen"].to_numpy(float) * factor / step).astype(np.int64) * step
    return pd.DataFrame({"project_id": pil["project_id"].to_numpy(), "year": YEAR + 1,
                         "budget_fen": budget, "new_or_continuing": "延续"}).reset_index(drop=True)
