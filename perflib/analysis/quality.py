"""数据质量: the findings of a year's data (content gaps that loaded, :data:`perflib.schema.FINDING_KINDS`)
by department and kind, located as the analyst finds them in the export.

Definitions:

* the data of report year Y are each table's rows of year Y, except the self-evaluation tables
  (``self_evaluations``, ``self_eval_indicators``), whose rows of fiscal year Y−1 are the ones
  evaluated in Y (the seed's calendar, as ``selfeval.*`` counts them); rows without a year (a
  department, a whole file lacking an optional column) belong to every year (:func:`data_year`);
* a finding's department is its own ``dept_code``, else that of its project in the finding's year;
  its level-1 department is the department's top (``Store.departments``); a finding with neither
  (a whole file) belongs to no department and is listed under :data:`NO_DEPT`;
* restricted to a level-1 department, the findings are those of that department's units and those
  that belong to no department (a file-wide gap concerns every department's rows);
* :data:`REPORT_TABLES`: the input tables whose year-Y data each report's figures use, the one
  place that says so; :func:`findings_count` counts a report's findings from it.

Classified projects are redacted by the Store (surrogate code, 涉密项目) before anything here sees them.
"""
from __future__ import annotations

from typing import Iterable

import pandas as pd

from ..schema import FINDING_KINDS, TABLE_ORDER, TABLES

NO_DEPT = "未对应到部门（整个文件）"

# self-evaluation of fiscal year Y−1 is carried out in Y: its rows of Y−1 are year Y's data
PREVIOUS_YEAR_TABLES = ("self_evaluations", "self_eval_indicators")

# Input tables whose year-Y data each report's figures use (projects and departments: every report).
REPORT_TABLES: dict[str, tuple[str, ...]] = {
    "coverage": ("departments", "projects", "targets", "self_evaluations"),
    "monitoring": ("departments", "projects", "payments", "monitoring", "targets"),
    # the targets it scores the self-evaluations against are of Y−1: the Y−1 data-quality report's
    "evaluation": ("departments", "projects", "self_evaluations", "self_eval_indicators", "key_evaluations"),
    "cost": ("departments", "projects", "payments", "costs", "outputs"),
    # payments: PI-2.2 from their 经济分类 where the 街道财政 table has none
    "fiscal": ("departments", "projects", "street_fiscal", "targets", "self_evaluations", "payments"),
}
REPORT_TABLES["rectification"] = ("departments", "projects", "rectifications", "key_evaluations")
REPORT_TABLES["overview"] = tuple(dict.fromkeys(t for ts in REPORT_TABLES.values() for t in ts))

LIST_COLUMNS = ["level1_code", "level1_name", "dept_code", "dept_name", "kind", "table_name", "year",
                "project_id", "project_name", "file", "sheet", "row_number", "column_header", "value",
                "message", "record_key"]


def data_year(table: str, year: int) -> int:
    """The data year of ``table`` that belongs to report year ``year``."""
    return int(year) - 1 if table in PREVIOUS_YEAR_TABLES else int(year)


def findings(store, year: int, dept: str | None = None, tables: Iterable[str] | None = None) -> pd.DataFrame:
    """The findings of report year ``year``'s data (see the module), optionally of one level-1
    department and of some ``tables`` only, with their departments and projects (redacted).

    Columns :data:`LIST_COLUMNS`, ordered by department, kind (as :data:`FINDING_KINDS` lists them),
    file, sheet and row."""
    year = int(year)
    raw = store.findings({year, year - 1})
    wanted = set(tables) if tables is not None else None
    keep = raw["year"].isna() | (raw["year"] == raw["table_name"].map(lambda t: data_year(t, year)))
    if wanted is not None:
        keep &= raw["table_name"].isin(wanted)
    df = raw[keep.astype(bool)].reset_index(drop=True)
    df = _with_departments(store, df)
    if dept is not None:
        df = df[(df["level1_code"] == dept) | df["level1_code"].isna()]
    order = {k: i for i, k in enumerate(FINDING_KINDS)}
    df = df.assign(_k=df["kind"].map(order).fillna(len(order)), _d=df["level1_code"].isna())
    df = df.sort_values(["_d", "level1_code", "_k", "file", "sheet", "row_number", "column_header"],
                        na_position="last", kind="stable")
    return df[LIST_COLUMNS].reset_index(drop=True)


def _with_departments(store, df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with each finding's department (own code, else its project's) and level-1 department."""
    df = df.copy()
    years = sorted({int(y) for y in df["year"].dropna()})
    projects = store.projects(years)[["project_id", "year", "dept_code", "project_name"]] if years else \
        pd.DataFrame(columns=["project_id", "year", "dept_code", "project_name"])
    projects = projects.rename(columns={"dept_code": "_pdept"})
    df["year"] = df["year"].astype("Int64")
    projects["year"] = projects["year"].astype("Int64")
    df = df.merge(projects, on=["project_id", "year"], how="left")
    df["dept_code"] = df["dept_code"].where(df["dept_code"].notna(), df["_pdept"])
    depts = store.departments()[["dept_code", "dept_name", "level1_code", "level1_name"]]
    return df.drop(columns="_pdept").merge(depts, on="dept_code", how="left")


def by_department(found: pd.DataFrame) -> pd.DataFrame:
    """Findings per level-1 department (``findings``) and per kind (one column named by each kind
    that occurs, in :data:`FINDING_KINDS` order); findings of no department on a last row
    (:data:`NO_DEPT`). Departments with the most findings first."""
    kinds = [k for k in FINDING_KINDS if k in set(found["kind"])]
    kinds += sorted(set(found["kind"]) - set(kinds))
    f = found.assign(level1_code=found["level1_code"].fillna(""),
                     level1_name=found["level1_name"].where(found["level1_code"].notna(), NO_DEPT))
    table = pd.crosstab([f["level1_code"], f["level1_name"]], f["kind"]) if len(f) else pd.DataFrame()
    table = table.reindex(columns=kinds, fill_value=0)
    table.insert(0, "findings", table.sum(axis=1) if len(kinds) else 0)
    out = table.reset_index()
    if out.empty:
        return pd.DataFrame(columns=["level1_code", "level1_name", "findings", *kinds])
    out["_none"] = out["level1_code"] == ""
    out = out.sort_values(["_none", "findings", "level1_code"], ascending=[True, False, True])
    out["level1_code"] = out["level1_code"].replace("", None)
    out = out.drop(columns="_none").reset_index(drop=True)
    out.columns.name = None
    for k in ["findings", *kinds]:
        out[k] = out[k].astype(int)
    return out


def by_kind(found: pd.DataFrame) -> pd.DataFrame:
    """Per kind that occurs: ``kind``, ``table_name``, ``findings``, the level-1 ``departments`` and
    the ``projects`` (distinct project-years) they concern, in :data:`FINDING_KINDS` order."""
    cols = ["kind", "table_name", "findings", "departments", "projects"]
    if found.empty:
        return pd.DataFrame(columns=cols)
    f = found.assign(_py=found["project_id"].astype("string") + "|" + found["year"].astype("string"))
    out = f.groupby(["kind", "table_name"], dropna=False).agg(
        findings=("kind", "size"), departments=("level1_code", "nunique"), projects=("_py", "nunique"))
    out = out.reset_index()
    order = {k: i for i, k in enumerate(FINDING_KINDS)}
    out = out.sort_values(["kind", "table_name"], key=lambda s: s.map(order).fillna(len(order))
                          if s.name == "kind" else s, kind="stable")
    return out[cols].reset_index(drop=True)


def quality_facts(found: pd.DataFrame) -> dict:
    """The report's facts: ``quality.findings_total``, ``quality.findings_departments`` (level-1
    departments with at least one finding), ``quality.findings_projects`` (project-years with one),
    ``quality.findings_by_kind`` ({kind: n} over the kinds that occur)."""
    counts = found["kind"].value_counts()
    order = [k for k in FINDING_KINDS if k in counts.index] + sorted(set(counts.index) - set(FINDING_KINDS))
    projects = found.dropna(subset=["project_id"])
    return {
        "quality.findings_total": int(len(found)),
        "quality.findings_departments": int(found["level1_code"].dropna().nunique()),
        "quality.findings_projects": int(len(projects[["project_id", "year"]].drop_duplicates())),
        "quality.findings_by_kind": {k: int(counts[k]) for k in order},
    }


def scope(year: int, tables: Iterable[str] | None = None) -> pd.DataFrame:
    """The data year of report year ``year`` for each of ``tables`` (default: every input table
    with a year column), as ``table_name``, ``year``."""
    if tables is None:
        tables = [t for t in TABLE_ORDER if any(c.name == "year" for c in TABLES[t].columns)]
    return pd.DataFrame([(t, data_year(t, year)) for t in tables], columns=["table_name", "year"])


def level1_code(store, dept) -> str | None:
    """The level-1 department a report's ``dept`` parameter names (code or name), or None (the
    whole district, or a value that names none: the report itself says so)."""
    if dept is None or str(dept).strip() in ("", "nan", "None"):
        return None
    d = store.departments()
    hit = d[d["is_level1"] & ((d["dept_code"] == str(dept).strip()) | (d["dept_name"] == str(dept).strip()))]
    return str(hit["dept_code"].iloc[0]) if len(hit) else None


def findings_count(store, year: int, tables: Iterable[str], dept: str | None = None) -> int:
    """Findings in the given input tables' data of report year ``year`` (optionally one level-1
    department): what a report that reads those tables uses."""
    tables = list(tables)
    if not tables:
        return 0
    if dept is None:  # no department needed: count without joining projects
        return store.findings_count([(t, data_year(t, year)) for t in tables])
    return int(len(findings(store, year, dept, tables)))
