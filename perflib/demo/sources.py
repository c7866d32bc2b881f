"""The projects' funding details (issue 17): 转移支付级次, 债券类型 and 资金性质, drawn on a stream of
their own (``seed``, 18) after every other draw, so no figure of the seed changes.

A transfer's level is the one its name already states (中央财政…/省级…/市级…). Bond lines are
专项债券 (their names say so), except about a quarter of the bond project lines, which become
一般债券 and are renamed accordingly. 资金性质 is mostly 年初, some 追加, 调剂 and 结转 (the seed's
monitoring "含追加和调剂项目").
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import FUND_BOND, FUND_TRANSFER
from .calibration import TRANSFER_PREFIXES

LEVEL_OF_PREFIX = dict(zip(TRANSFER_PREFIXES, ("中央", "省", "市")))
GENERAL_BOND_SHARE = 0.25
NATURES = ("年初", "追加", "调剂", "结转")
NATURE_WEIGHTS = (0.82, 0.08, 0.04, 0.06)
SPECIAL_BOND, GENERAL_BOND = "专项债券", "一般债券"


def draw_fund_details(seed: int, projects: pd.DataFrame) -> None:
    """Set ``transfer_level``, ``bond_type`` and ``fund_nature`` on ``projects`` (in place); a
    project line keeps its level and bond type over the years."""
    rng = np.random.default_rng([int(seed), 18])
    level = pd.Series(None, index=projects.index, dtype=object)
    transfer = projects["fund_source"] == FUND_TRANSFER
    for prefix, lv in LEVEL_OF_PREFIX.items():
        level[transfer & projects["project_name"].str.startswith(prefix)] = lv
    lacking = transfer & level.isna()   # a transfer whose name names no level: drawn
    level[lacking] = rng.choice(list(LEVEL_OF_PREFIX.values()), int(lacking.sum()))
    projects["transfer_level"] = level

    bond = projects["fund_source"] == FUND_BOND
    lines = sorted(projects.loc[bond, "project_id"].unique())
    general = set(rng.choice(lines, int(round(len(lines) * GENERAL_BOND_SHARE)), replace=False)) if lines else set()
    is_general = bond & projects["project_id"].isin(general)
    projects["bond_type"] = pd.Series(None, index=projects.index, dtype=object)
    projects.loc[bond, "bond_type"] = SPECIAL_BOND
    projects.loc[is_general, "bond_type"] = GENERAL_BOND
    projects.loc[is_general, "project_name"] = projects.loc[is_general, "project_name"].str.replace(
        SPECIAL_BOND, GENERAL_BOND, regex=False)

    projects["fund_nature"] = rng.choice(NATURES, len(projects), p=NATURE_WEIGHTS)
