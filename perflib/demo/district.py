"""The district demo: ``build_demo(seed)`` runs the generator's steps in order on one random stream
and returns ``DemoData``, the tables with canonical columns and money in integer fen.

Whatever the seed, the SPEC computations on the result give exactly the seed report's figures; the
order of the steps is the order of the random draws, so changing it changes every table.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..schema import TABLES
from .application import draw_other_next_budgets
from .classification import draw_classification, draw_ex_ante
from .budgets import draw_payments, plan_spending, set_budgets
from .calibration import FEN
from .costs import draw_next_budgets, draw_pilot_costs
from .evaluation import draw_key_evaluations, draw_self_evaluations
from .fiscal import draw_street_econ, draw_street_fiscal
from .monitoring import draw_monitoring
from .rectification import draw_rectifications
from .projects import ProjectBook, add_pilot_lines, add_project_sets, assign_codes, make_departments
from .sources import draw_fund_details
from .targets import draw_targets


@dataclass
class DemoData:
    """The generated tables with canonical column names; money columns in integer fen (``*_fen``)."""

    departments: pd.DataFrame
    projects: pd.DataFrame
    targets: pd.DataFrame
    payments: pd.DataFrame
    monitoring: pd.DataFrame
    self_evaluations: pd.DataFrame
    self_eval_indicators: pd.DataFrame
    key_evaluations: pd.DataFrame
    costs: pd.DataFrame
    outputs: pd.DataFrame
    street_fiscal: pd.DataFrame
    next_budgets: pd.DataFrame
    rectifications: pd.DataFrame
    ex_ante: pd.DataFrame
    notes: dict = field(default_factory=dict)

    def frames(self) -> dict[str, pd.DataFrame]:
        """Canonical tables with money as float 元 (e.g. for ``Store.from_frames``)."""
        out = {}
        for name in TABLES:
            df = getattr(self, name).copy()
            for c in TABLES[name].money_columns:
                fen = df.pop(c + "_fen")
                df[c] = fen.astype("float64") / FEN
            for c in TABLES[name].columns:  # an optional column the demo does not carry: empty
                if c.name not in df.columns and not c.required:
                    df[c.name] = None
            out[name] = df[[c.name for c in TABLES[name].columns]]
        return out


def build_demo(seed: int = 0) -> DemoData:
    """Generate the district-scale demo tables (canonical columns, money in fen)."""
    rng = np.random.default_rng(seed)
    depts = make_departments()
    book = ProjectBook(rng, depts)
    n_pilot = add_pilot_lines(book)
    add_project_sets(book, n_pilot)
    projects = assign_codes(book.rows)
    pilots = draw_pilot_costs(rng, projects)
    notes = {"targets_amount_fen": set_budgets(rng, projects, pilots.costs)}
    plan_spending(rng, projects)
    payments = draw_payments(rng, projects)
    spent = payments.groupby(["project_id", "year"])["amount_fen"].sum()
    projects["spent_fen"] = [int(spent.get((p, y), 0)) for p, y in
                             zip(projects["project_id"], projects["year"])]
    targets, proj_targets = draw_targets(rng, projects, depts, pilots.quantities)
    selfevals = draw_self_evaluations(rng, projects, proj_targets)
    notes["selfeval_inflated"] = selfevals.inflated
    monitoring = draw_monitoring(rng, projects, proj_targets, payments, selfevals.actuals)
    keyevals = draw_key_evaluations(rng, projects)
    costs, outputs = pilots.tables()
    street = draw_street_fiscal(rng, depts.table)
    street = pd.concat([street, draw_street_econ(seed, street)], ignore_index=True)
    pilot_next = draw_next_budgets(seed, projects)
    next_budgets = pd.concat([pilot_next, draw_other_next_budgets(seed, projects, keyevals, pilot_next)],
                             ignore_index=True)
    rectifications = draw_rectifications(seed, projects, keyevals)
    draw_fund_details(seed, projects)   # a stream of its own, after every other draw
    projects["func_code"], projects["econ_code"], payments["econ_code"] = draw_classification(
        seed, projects, depts.table, payments)
    cols = [c.name for c in TABLES["projects"].columns if c.kind != "money"]
    return DemoData(
        departments=depts.table.drop(columns="weight"),
        projects=projects[cols + ["budget_amount_fen", "adjusted_amount_fen"]].copy(),
        targets=targets,
        payments=payments,
        monitoring=monitoring,
        self_evaluations=selfevals.table,
        self_eval_indicators=selfevals.indicators,
        key_evaluations=keyevals,
        costs=costs,
        outputs=outputs,
        street_fiscal=street,
        next_budgets=next_budgets,
        rectifications=rectifications,
        ex_ante=draw_ex_ante(seed, projects),
        notes=notes,
    )
