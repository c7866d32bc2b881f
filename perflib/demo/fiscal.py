"""Street fiscal indicators (街道财政): revenue, expenditure by head, 三保, debt … of every street office,
2020–2023, with each street's own budget discipline (东风街道, the seed's evaluated street, in the middle).
Streets may not borrow (预算法第三十五条): only a few carry a debt (the report's 一票否决 case), the rest 0;
every other street also reports expenditure by economic class (PEFA PI-2.2), the others show 不适用.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import (ECON_BUDGET_PREFIX, ECON_OUTTURN_PREFIX, EXPENDITURE_HEADS, HEAD_BUDGET_PREFIX,
                      HEAD_OUTTURN_PREFIX)
from .money import split_groups


def draw_street_fiscal(rng: np.random.Generator, depts: pd.DataFrame) -> pd.DataFrame:
    """Fiscal indicators of every street office, 2020–2023 (元, integers)."""
    streets = depts[depts["is_street"]]
    # discipline: how closely outturns follow budgets (东风 in the middle)
    bias = rng.permutation(np.array([0.0, 0.01, -0.03, 0.04, -0.06, 0.07, -0.09, 0.02, -0.02,
                                     0.09, -0.12, 0.05]))
    noise = rng.permutation(np.array([0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.12, 0.14,
                                      0.17, 0.2, 0.25]))
    rows = []
    for (code, name), b, nz in zip(streets[["dept_code", "dept_name"]].itertuples(index=False),
                                   bias, noise):
        rev_budget = rng.uniform(2e8, 7e8)
        tax_share = rng.uniform(0.6, 0.88)
        debt = rng.uniform(0.1, 1.2)
        admin = rng.uniform(0.04, 0.09)
        if name == "东风街道办事处":   # the seed's evaluated street: a middle case
            b, nz, tax_share, debt, admin = -0.075, 0.09, 0.74, 0.65, 0.065
        indebted = debt > 0.95  # a few streets with (illegal) debt; the draws stay as they were
        head_shares = rng.dirichlet(np.array([14, 6, 8, 4, 14, 6, 4, 30, 8, 6], float) * 3)
        for year in (2020, 2021, 2022, 2023):
            rev_budget *= rng.uniform(0.96, 1.12)
            revenue = rev_budget * np.clip(1 + b * 0.8 + rng.normal(0, 0.03), 0.9, 1.12)
            exp_budget = int(rev_budget * rng.uniform(0.75, 0.95))
            heads_budget = split_groups(np.zeros(10, dtype=int), head_shares, np.array([exp_budget]))
            ratio = np.clip(1 + b + rng.normal(0, 0.025), 0.85, 1.12)
            # composition varies by head; the aggregate outturn is exactly ratio × budget
            mix = heads_budget * np.clip(1 + rng.normal(0, nz, 10), 0.4, 1.8)
            head_out = split_groups(np.zeros(10, dtype=int), mix,
                                     np.array([int(round(exp_budget * ratio))]))
            expenditure = int(head_out.sum())
            need = expenditure * rng.uniform(0.3, 0.45)
            vals = {
                "一般公共预算收入预算数": int(rev_budget),
                "一般公共预算收入": int(revenue),
                "税收收入": int(revenue * np.clip(tax_share + rng.normal(0, 0.02), 0.61, 0.89)),
                "一般公共预算支出预算数": exp_budget,
                "一般公共预算支出": expenditure,
                "三保支出需求": int(need),
                "三保支出": int(need * rng.uniform(0.92, 1.0)),
                "行政成本": int(expenditure * admin * rng.uniform(0.9, 1.1)),
                "债务余额": int(revenue * debt * 0.1 * rng.uniform(0.9, 1.1)) * int(indebted),
                "结转结余": int(expenditure * rng.uniform(0.02, 0.12)),
            }
            for k, v in vals.items():
                rows.append(dict(dept_code=code, year=year, indicator=k, value=float(v)))
            for h, vb, vo in zip(EXPENDITURE_HEADS, heads_budget, head_out):
                rows.append(dict(dept_code=code, year=year, indicator=HEAD_BUDGET_PREFIX + h,
                                 value=float(vb)))
                rows.append(dict(dept_code=code, year=year, indicator=HEAD_OUTTURN_PREFIX + h,
                                 value=float(vo)))
    return pd.DataFrame(rows)


ECON_CLASSES = ("工资福利支出", "商品和服务支出", "对个人和家庭的补助", "资本性支出")


def draw_street_econ(seed: int, street_fiscal: pd.DataFrame) -> pd.DataFrame:
    """Expenditure by economic class (经济分类预算数:/经济分类决算数:, the optional rows of PEFA
    PI-2.2) for every other street (the rest show PI-2.2 as 不适用): budget and outturn split the
    street's 一般公共预算支出预算数 and 一般公共预算支出 exactly. A stream of its own (``seed``, 22)
    so that no other table changes."""
    rng = np.random.default_rng([int(seed), 22])
    sf = street_fiscal
    codes = sorted(sf["dept_code"].unique())[::2]
    rows = []
    for code in codes:
        shares = rng.dirichlet(np.array([45, 25, 20, 10], float))
        for year in sorted(sf.loc[sf["dept_code"] == code, "year"].unique()):
            v = sf[(sf["dept_code"] == code) & (sf["year"] == year)].set_index("indicator")["value"]
            budget = split_groups(np.zeros(4, dtype=int), shares, np.array([int(v["一般公共预算支出预算数"])]))
            mix = shares * np.clip(1 + rng.normal(0, 0.08, 4), 0.5, 1.5)
            outturn = split_groups(np.zeros(4, dtype=int), mix, np.array([int(v["一般公共预算支出"])]))
            for c, b, o in zip(ECON_CLASSES, budget, outturn):
                rows.append(dict(dept_code=code, year=int(year), indicator=ECON_BUDGET_PREFIX + c, value=float(b)))
                rows.append(dict(dept_code=code, year=int(year), indicator=ECON_OUTTURN_PREFIX + c, value=float(o)))
    return pd.DataFrame(rows, columns=["dept_code", "year", "indicator", "value"])
