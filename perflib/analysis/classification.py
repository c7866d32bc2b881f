"""Execution by classification: the monitoring totals by 功能分类 (类 → 款) and by 经济分类, and the
PEFA PI-2.2 working from the projects' and payments' 经济分类 codes.

Definitions:

* 功能分类 ``projects.func_code`` (7 digits 类·款·项): 类 = its first 3 digits, 款 = its first 5;
  经济分类 ``payments.econ_code`` / ``projects.econ_code`` (3-digit 类, 5-digit 款): 类 = first 3
  digits. Names from :data:`perflib.schema.FUNC_NAMES` / ``ECON_NAMES`` (《2024年政府收支分类科目》).
* A project or payment without a code is grouped under 「未填」, so every drill-down sums to the
  monitoring totals exactly (money summed in fen).
* PI-2.2 from payments (where the 街道财政 table has no 经济分类 rows for the street): budget per
  经济分类 类 = Σ 年初预算数 of the street's non-classified projects by ``projects.econ_code``;
  outturn = Σ payments of the year by ``payments.econ_code``. Uncoded projects and payments are left
  out (their share is reported); only years where both sides carry codes count.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .monitoring import check_month, month_end
from ..schema import ECON_BUDGET_PREFIX, ECON_NAMES, ECON_OUTTURN_PREFIX, FUNC_NAMES

UNCODED = "未填"
FUNC_CLASS, FUNC_ITEM, ECON_CLASS = 3, 5, 3  # digits of 类 and 款


def code_prefix(codes: pd.Series, digits: int) -> pd.Series:
    """The first ``digits`` characters of each code (stripped); empty or missing → 「未填」."""
    s = codes.astype("string").str.strip()
    out = s.str.slice(0, digits)
    return out.where(s.notna() & (s.str.len() >= digits), UNCODED).astype(object)


def code_name(code: str, names: dict) -> str:
    """The national code list's name for ``code``; 「未填」 for no code; the code itself when unlisted."""
    if code == UNCODED:
        return "未填分类"
    return names.get(str(code), str(code))


def _rate(spent: pd.Series, budget: pd.Series) -> pd.Series:
    return spent / budget.where(budget > 0)


def function_summary(execution: pd.DataFrame, level: str = "class") -> pd.DataFrame:
    """Projects, budget, spent and execution rate of a :func:`monitoring.project_execution` frame by
    功能分类 类 (``level="class"``) or 类 and 款 (``level="item"``); sorted by code, 未填 last."""
    f = execution.assign(
        func_class=code_prefix(execution.get("func_code", pd.Series(None, index=execution.index)), FUNC_CLASS),
        func_item=code_prefix(execution.get("func_code", pd.Series(None, index=execution.index)), FUNC_ITEM),
        _n=1)
    keys = ["func_class"] if level == "class" else ["func_class", "func_item"]
    out = f.groupby(keys, dropna=False).agg(projects=("_n", "sum"), budget_fen=("budget_fen", "sum"),
                                            spent_fen=("spent_fen", "sum")).reset_index()
    out["func_class_name"] = out["func_class"].map(lambda c: code_name(c, FUNC_NAMES))
    if level != "class":
        out["func_item_name"] = out["func_item"].map(lambda c: code_name(c, FUNC_NAMES))
    out["budget"] = out.pop("budget_fen") / 100.0
    out["spent"] = out.pop("spent_fen") / 100.0
    out["execution_rate"] = _rate(out["spent"], out["budget"])
    out["projects"] = out["projects"].astype(int)
    out = out.sort_values(keys, key=lambda s: s.map(lambda c: (c == UNCODED, c))).reset_index(drop=True)
    names = ["func_class", "func_class_name"] + ([] if level == "class" else ["func_item", "func_item_name"])
    return out[names + ["projects", "budget", "spent", "execution_rate"]]


def econ_summary(store, year: int, as_of_month: int, execution: pd.DataFrame) -> pd.DataFrame:
    """Spent up to the end of ``as_of_month`` on the projects of ``execution`` by 经济分类 类 and 款
    (from ``payments.econ_code``), with each 款's share of the total; 未填 last."""
    m = check_month(as_of_month)
    rows = store.redact_frame(store.sql(
        "SELECT project_id, econ_code, CAST(round(sum(amount) * 100) AS BIGINT) AS spent_fen FROM payments "
        "WHERE year = ? AND pay_date <= ? GROUP BY project_id, econ_code", [int(year), month_end(int(year), m)]))
    rows = rows[rows["project_id"].isin(execution["project_id"])]
    rows = rows.assign(econ_class=code_prefix(rows["econ_code"], ECON_CLASS),
                       econ_item=code_prefix(rows["econ_code"], 5))
    out = rows.groupby(["econ_class", "econ_item"]).agg(spent_fen=("spent_fen", "sum")).reset_index()
    out["econ_class_name"] = out["econ_class"].map(lambda c: code_name(c, ECON_NAMES))
    out["econ_item_name"] = out["econ_item"].map(lambda c: code_name(c, ECON_NAMES))
    total = int(out["spent_fen"].sum())
    out["spent"] = out.pop("spent_fen") / 100.0
    out["share"] = out["spent"] / (total / 100.0) if total else np.nan
    out = out.sort_values(["econ_class", "econ_item"], key=lambda s: s.map(lambda c: (c == UNCODED, c)))
    return out[["econ_class", "econ_class_name", "econ_item", "econ_item_name", "spent", "share"]
               ].reset_index(drop=True)


def econ_class_summary(items: pd.DataFrame) -> pd.DataFrame:
    """:func:`econ_summary` rolled up to 经济分类 类."""
    out = items.groupby(["econ_class", "econ_class_name"], sort=False)[["spent", "share"]].sum().reset_index()
    return out


def has_codes(frame: pd.DataFrame, column: str) -> bool:
    """Whether any row of ``frame`` carries a code in ``column``."""
    return column in frame.columns and bool(frame[column].astype("string").str.strip().fillna("").ne("").any())


def payments_have_econ(store, year: int) -> bool:
    """Whether any payment of ``year`` carries a 经济分类 code."""
    n = store.sql("SELECT count(*) AS n FROM payments WHERE year = ? AND nullif(trim(econ_code), '') IS NOT NULL",
                  [int(year)])
    return bool(int(n["n"].iloc[0]))


# --- PEFA PI-2.2 from the projects' and payments' codes ------------------------------------------------
def street_econ_lines(store, code: str, years) -> pd.DataFrame:
    """Long rows (dept_code, year, indicator, value) in the 街道财政 vocabulary (经济分类预算数:<类>,
    经济分类决算数:<类>) for street ``code``'s units, from ``projects.econ_code`` (年初预算数) and
    ``payments.econ_code``; only years where both sides carry codes. Columns also ``coded_share``:
    the coded share of the year's payments of those projects."""
    depts = store.departments()
    units = set(depts.loc[(depts["level1_code"] == str(code)) | (depts["dept_code"] == str(code)), "dept_code"])
    years = [int(y) for y in years]
    cols = ["dept_code", "year", "indicator", "value", "coded_share"]
    if not units or not years or not store.has_column("projects", "econ_code"):
        return pd.DataFrame(columns=cols)
    marks = ", ".join("?" for _ in years)
    q_units = ", ".join("?" for _ in units)
    budget = store.sql(
        f"SELECT year, substr(trim(econ_code), 1, 3) AS cls, sum(budget_amount) AS v FROM projects "
        f"WHERE year IN ({marks}) AND dept_code IN ({q_units}) AND NOT coalesce(is_classified, false) "
        f"AND nullif(trim(econ_code), '') IS NOT NULL GROUP BY 1, 2", [*years, *sorted(units)])
    outturn = store.sql(
        f"SELECT pa.year, substr(trim(pa.econ_code), 1, 3) AS cls, sum(pa.amount) AS v "
        f"FROM payments pa JOIN projects pr "
        f"ON pr.project_id = pa.project_id AND pr.year = pa.year WHERE pa.year IN ({marks}) "
        f"AND pr.dept_code IN ({q_units}) AND NOT coalesce(pr.is_classified, false) GROUP BY 1, 2",
        [*years, *sorted(units)])
    rows = []
    for y in years:
        b = budget[budget["year"] == y]
        o = outturn[outturn["year"] == y]
        coded = o[o["cls"].notna() & (o["cls"] != "")]
        if b.empty or coded.empty:
            continue
        total = float(o["v"].astype(float).sum())
        share = float(coded["v"].astype(float).sum()) / total if total else np.nan
        for prefix, frame in ((ECON_BUDGET_PREFIX, b), (ECON_OUTTURN_PREFIX, coded)):
            for cls, v in zip(frame["cls"], frame["v"]):
                rows.append((str(code), y, prefix + code_name(str(cls), ECON_NAMES), float(v), share))
    return pd.DataFrame(rows, columns=cols)


def with_payment_econ(wide: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """``wide`` (fiscal.fiscal_wide) with the 经济分类 columns of ``lines`` (:func:`street_econ_lines`)
    added for their (street, year) rows."""
    if lines.empty:
        return wide
    add = lines.pivot_table(index=["dept_code", "year"], columns="indicator", values="value", aggfunc="sum")
    add.columns = [str(c) for c in add.columns]
    out = wide.reindex(wide.index.union(add.index))
    for c in add.columns:
        if c not in out.columns:
            out[c] = np.nan
        out.loc[add.index, c] = add[c].astype("float64")
    return out.astype("float64")
