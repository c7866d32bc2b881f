"""What the bureau discloses on the government portal (绩效信息公开) for a year Y: per level-1
department its 绩效目标 (the project targets of Y and the department-level targets of Y), the
绩效自评 results (self-evaluations of fiscal year Y−1, or of the latest earlier year that has any)
and the 重点评价 results of Y.

Classified projects (是否涉密) are absent entirely (not redacted: no row at all), and only public
columns are returned: no column the schema marks ``internal`` (reasons, reviewers' notes, evidence).

Items (「公开绩效信息 N 条」): one per project target table (a project of Y with at least one
project-level target), one per department-level target table (a department with department-level
targets for Y), one per self-evaluation and one per key evaluation.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..schema import TABLES
from .evaluation import grades_of, key_evaluations

TARGET_COLUMNS = ("level1", "level2", "indicator", "direction", "target_value", "unit", "weight")
DEPT_COLUMNS = ("level1_code", "level1_name", "dept_code", "dept_name")
KEY_SCORES = ("score_decision", "score_process", "score_output", "score_effect")
ITEM_KINDS = ("project_targets", "dept_targets", "self_evaluations", "key_evaluations")


@dataclass
class Disclosure:
    """The public content of one year's disclosure package (frames with canonical English columns)."""

    year: int
    selfeval_year: int | None  # the fiscal year whose self-evaluations are disclosed (None: none)
    departments: pd.DataFrame  # level-1 departments: level1_code, level1_name
    targets: pd.DataFrame  # project-level targets of Y, non-classified projects
    dept_targets: pd.DataFrame  # department-level targets of Y
    self_evaluations: pd.DataFrame  # one row per self-evaluated project of selfeval_year
    key_evaluations: pd.DataFrame  # one row per key evaluation of Y

    def items(self) -> dict[str, int]:
        """Disclosed items by kind (the module docstring's definition)."""
        return {
            "project_targets": int(self.targets["project_id"].nunique()),
            "dept_targets": int(self.dept_targets["dept_code"].nunique()),
            "self_evaluations": int(len(self.self_evaluations)),
            "key_evaluations": int(len(self.key_evaluations)),
        }

    def total_items(self) -> int:
        return sum(self.items().values())


def _public(table: str, cols) -> list[str]:
    """``cols`` of ``table`` that are not internal (a guard: asking for an internal one is a bug)."""
    internal = {c.name for c in TABLES[table].columns if c.internal}
    bad = internal & set(cols)
    if bad:
        raise ValueError(f"internal columns of {table} asked for disclosure: {sorted(bad)}")
    return list(cols)


def selfeval_year_for(store, year: int) -> int | None:
    """Y−1 when it has self-evaluations, else the latest earlier year that has some, else None."""
    years = [int(y) for (y,) in store.sql(
        "SELECT DISTINCT year FROM self_evaluations WHERE year < ? ORDER BY year", [int(year)]).itertuples(index=False)]
    if int(year) - 1 in years:
        return int(year) - 1
    return years[-1] if years else None


def _open(df: pd.DataFrame, store) -> pd.DataFrame:
    """``df`` without any row of a classified project (the store shows them under surrogates)."""
    hidden = set(store.classified) | set(store.classified.values())
    return df[~df["project_id"].isin(hidden)].reset_index(drop=True)


def disclosure(store, year: int, rules) -> Disclosure:
    """The public content of year ``year``'s disclosure package (see the module docstring)."""
    year = int(year)
    depts = store.departments()
    level1 = (depts.loc[depts["is_level1"], ["dept_code", "dept_name"]]
              .rename(columns={"dept_code": "level1_code", "dept_name": "level1_name"})
              .sort_values("level1_code").reset_index(drop=True))
    dept_info = depts[list(DEPT_COLUMNS)]

    projects = _open(store.projects(year), store)
    t = store.table("targets", year)
    proj_targets = _open(t[t["project_id"].notna()], store)
    proj_targets = proj_targets[proj_targets["project_id"].isin(projects["project_id"])]
    targets = (proj_targets[["project_id", *_public("targets", TARGET_COLUMNS)]]
               .merge(projects[["project_id", "project_name", *DEPT_COLUMNS]], on="project_id", how="left"))
    targets = targets.sort_values(["level1_code", "dept_code", "project_id"], kind="stable").reset_index(drop=True)

    dt_ = t[t["project_id"].isna()][["dept_code", *_public("targets", TARGET_COLUMNS)]]
    dept_targets = dt_.merge(dept_info, on="dept_code", how="left").sort_values(
        ["level1_code", "dept_code"], kind="stable").reset_index(drop=True)

    sy = selfeval_year_for(store, year)
    if sy is not None:
        sp = _open(store.projects(sy), store)
        se = _open(store.table("self_evaluations", sy), store)
        se = se[["project_id", *_public("self_evaluations", ("spent_amount", "satisfaction", "reported_score"))]]
        se = se.merge(sp[["project_id", "project_name", "budget", *DEPT_COLUMNS]], on="project_id", how="inner")
        se["spent_amount"] = se["spent_amount"].astype("float64")
        se["budget"] = se["budget"].astype("float64")
        se["execution_rate"] = se["spent_amount"] / se["budget"].where(se["budget"] > 0)
        se["grade"] = grades_of(se["reported_score"].astype("float64"), rules)
        se = se.sort_values(["level1_code", "dept_code", "project_id"], kind="stable").reset_index(drop=True)
    else:
        se = pd.DataFrame(columns=["project_id", "project_name", *DEPT_COLUMNS, "budget", "spent_amount",
                                   "execution_rate", "satisfaction", "reported_score", "grade"])

    ke = _open(key_evaluations(store, year, rules), store)
    _public("key_evaluations", ("domain", *KEY_SCORES))
    ke = ke[["project_id", "project_name", "dept_code", "domain", "budget", *KEY_SCORES, "total_score", "grade"]]
    ke = ke.merge(dept_info.drop(columns=["dept_name"]), on="dept_code", how="left").merge(
        depts[["dept_code", "dept_name"]], on="dept_code", how="left")
    ke = ke.sort_values(["level1_code", "dept_code", "project_id"], kind="stable").reset_index(drop=True)
    return Disclosure(year=year, selfeval_year=sy, departments=level1, targets=targets,
                      dept_targets=dept_targets, self_evaluations=se, key_evaluations=ke)
