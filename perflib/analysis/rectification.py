"""整改跟踪: the rectification ledger (整改台账) of a year, and the ledger perflib starts from its reports.

Definitions (report year Y, as-of date D):

* the items of Y are the ledger rows whose 年度 (the year the problem was found) is Y; restricted to
  a level-1 department, those of its units (部门编码's top department, ``Store.departments``);
* done: 整改状态 = 已整改; open: 未整改 or 整改中;
* overdue: open with a 整改期限 strictly before D (an open item without a deadline is not overdue:
  it is a finding, ``rectification_deadline_missing``); D is the ``as_of`` parameter when given,
  else the export date of the ledger file of the latest load that brought the ledger (the day the
  departments' statuses were written down, ``Store.table_export_date``); without either, overdue is
  not judged (None);
* done on time: done with a 完成日期 not after its 整改期限 (an item without either date is not
  counted); the on-time share = done on time ÷ items;
* recurrence: an item whose project has a key evaluation of the year after the item's year with
  主要问题 filled in; report Y lists the items of Y − 1 that recur in Y's key evaluations and the
  items of Y that recur in Y + 1's (when the data hold them).

:func:`problems_found` lists the problems Y's reports find, one ledger row each, for ``perflib
ledger``: 自评虚高 (the self-evaluations evaluated in Y), red monitoring at Y's last complete month,
key evaluations of Y with 主要问题, and 信号冲突. Classified projects come redacted from the Store:
their surrogate code stands in the problem id and the finding, the project column stays empty.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ..schema import RECTIFICATION_DONE, RECTIFICATION_SOURCES, TABLES
from ..store import CLASSIFIED_PREFIX
from . import evaluation as ev
from . import monitoring as mon
from . import signals as sig
from .coverage import resolve_dept

ITEM_COLUMNS = ["problem_id", "source", "project_id", "project_name", "dept_code", "dept_name",
                "level1_code", "level1_name", "year", "finding", "measure", "deadline", "status",
                "date_done", "evidence", "budget_consequence"]
COUNT_COLUMNS = ["items", "done", "open", "overdue", "on_time"]


def ledger_as_of(store, as_of=None) -> dt.date | None:
    """The as-of date of overdue: ``as_of`` (a date or ISO text) when given, else the ledger's
    export date (None without a load of the ledger)."""
    if as_of is not None and not (isinstance(as_of, float) and as_of != as_of) and str(as_of).strip():
        return as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of).strip())
    return store.table_export_date("rectifications")


def classify(ledger: pd.DataFrame, as_of: dt.date | None) -> pd.DataFrame:
    """``ledger`` rows with booleans ``done``, ``open``, ``overdue`` (NA when ``as_of`` is None),
    ``on_time`` and ``days_overdue`` (as_of − deadline for overdue items)."""
    df = ledger.copy()
    deadline = pd.to_datetime(df["deadline"]).dt.date
    done_at = pd.to_datetime(df["date_done"]).dt.date
    df["deadline"], df["date_done"] = deadline, done_at
    df["done"] = df["status"] == RECTIFICATION_DONE
    df["open"] = ~df["done"]
    has_deadline = deadline.notna()
    if as_of is None:
        df["overdue"] = pd.Series(pd.NA, index=df.index, dtype="boolean")
        df["days_overdue"] = np.nan
    else:
        late = has_deadline & deadline.map(lambda d: d is not None and d == d and d < as_of)
        df["overdue"] = (df["open"] & late).astype(bool)
        df["days_overdue"] = [float((as_of - d).days) if o else np.nan for d, o in zip(deadline, df["overdue"])]
    df["on_time"] = (df["done"] & has_deadline & done_at.notna()
                     & pd.Series([bool(a <= b) if a == a and b == b and a is not None and b is not None else False
                                  for a, b in zip(done_at, deadline)], index=df.index))
    return df


def items(store, year: int, as_of: dt.date | None, dept: str | None = None) -> pd.DataFrame:
    """The classified ledger items of ``year`` (optionally one level-1 department's), with their
    departments and project names (redacted), ordered by department, source and problem id."""
    ledger = store.table("rectifications", int(year))
    depts = store.departments()[["dept_code", "dept_name", "level1_code", "level1_name"]]
    df = ledger.merge(depts, on="dept_code", how="left")
    names = store.projects()[["project_id", "project_name"]].drop_duplicates("project_id")
    df = df.merge(names, on="project_id", how="left")
    code = resolve_dept(store, dept)
    if code is not None:
        df = df[df["level1_code"] == code]
    order = {s: i for i, s in enumerate(RECTIFICATION_SOURCES)}
    df = df.assign(_s=df["source"].map(order)).sort_values(["level1_code", "_s", "problem_id"], kind="stable")
    return classify(df.drop(columns="_s")[ITEM_COLUMNS].reset_index(drop=True), as_of)


def _counts(g) -> pd.DataFrame:
    return pd.DataFrame({"items": g.size(), "done": g["done"].sum(), "open": g["open"].sum(),
                         "overdue": g["overdue"].sum(min_count=1), "on_time": g["on_time"].sum()})


def by_department_source(df: pd.DataFrame) -> pd.DataFrame:
    """Per level-1 department and source: items, done, open, overdue (NA when not judged), done on
    time and the on-time share; departments by code, sources in the schema's order."""
    if df.empty:
        return pd.DataFrame(columns=["level1_code", "level1_name", "source", *COUNT_COLUMNS, "on_time_share"])
    out = _counts(df.groupby(["level1_code", "level1_name", "source"], dropna=False, sort=False)).reset_index()
    order = {s: i for i, s in enumerate(RECTIFICATION_SOURCES)}
    out = out.assign(_s=out["source"].map(order)).sort_values(["level1_code", "_s"], kind="stable").drop(columns="_s")
    for c in ("items", "done", "open", "on_time"):
        out[c] = out[c].astype(int)
    out["on_time_share"] = out["on_time"] / out["items"]
    return out.reset_index(drop=True)


def by_source(df: pd.DataFrame) -> pd.DataFrame:
    """Per source (every source of the schema, zero rows included): the counts of
    :func:`by_department_source`."""
    g = df.groupby("source")
    out = _counts(g).reindex(list(RECTIFICATION_SOURCES))
    for c in ("items", "done", "open", "on_time"):
        out[c] = out[c].fillna(0).astype(int)
    if df["overdue"].isna().all():
        out["overdue"] = pd.NA
    else:
        out["overdue"] = out["overdue"].fillna(0).astype(int)
    out["on_time_share"] = out["on_time"] / out["items"].where(out["items"] > 0)
    out.index.name = "source"
    return out.reset_index()


def overdue_list(df: pd.DataFrame) -> pd.DataFrame:
    """Overdue items, the longest overdue first."""
    if df["overdue"].isna().all():
        return df.iloc[0:0]
    out = df[df["overdue"].astype(bool)]
    return out.sort_values(["days_overdue", "problem_id"], ascending=[False, True], kind="stable").reset_index(drop=True)


def recurrences(df: pd.DataFrame, next_key: pd.DataFrame) -> pd.DataFrame:
    """Items whose project has a key evaluation of the next year with 主要问题 (``next_key``: the
    key_evaluations rows of Y + 1), with that evaluation's ``next_findings``."""
    k = next_key[next_key["findings"].notna() & (next_key["findings"].astype(str).str.strip() != "")]
    k = k[["project_id", "findings"]].rename(columns={"findings": "next_findings"}).drop_duplicates("project_id")
    out = df[df["project_id"].notna()].merge(k, on="project_id", how="inner")
    return out.reset_index(drop=True)


def rectification_facts(df: pd.DataFrame, recurring: pd.DataFrame, as_of: dt.date | None) -> dict:
    """rectification.* facts (SPEC names items, done, overdue; the rest are this report's)."""
    n = int(len(df))
    on_time = int(df["on_time"].sum())
    return {
        "rectification.items": n,
        "rectification.done": int(df["done"].sum()),
        "rectification.open": int(df["open"].sum()),
        "rectification.overdue": None if as_of is None else int(df["overdue"].astype(bool).sum()),
        "rectification.on_time": on_time,
        "rectification.on_time_share": on_time / n if n else None,
        "rectification.recurring": int(len(recurring)),
        "rectification.as_of": None if as_of is None else as_of.isoformat(),
    }


def rectification(store, year: int, as_of=None, dept: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(items, recurrences, facts) of ``year`` from a Store (see the module for every definition)."""
    date, y = ledger_as_of(store, as_of), int(year)
    df = items(store, y, date, dept)
    rec = pd.concat([recurrences(items(store, y - 1, date, dept), store.table("key_evaluations", y)),
                     recurrences(df, store.table("key_evaluations", y + 1))], ignore_index=True)
    return df, rec, rectification_facts(df, rec, date)


# --- the ledger perflib starts (perflib ledger) -----------------------------------------------------
LEDGER_PREFIX = {"inflated": "ZPXG", "red": "JKHS", "key": "ZDPJ", sig.KIND_KEY_SLOW: "XHCT1",
                 sig.KIND_SELF_LOW_EXEC: "XHCT2", sig.KIND_COST_FULL: "XHCT3"}
SIGNAL_SOURCE = {sig.KIND_KEY_SLOW: "重点评价", sig.KIND_SELF_LOW_EXEC: "自评复核", sig.KIND_COST_FULL: "自评复核"}


def _rows(frame: pd.DataFrame, prefix: str, source: str, year: int, findings) -> pd.DataFrame:
    pid = frame["project_id"].astype(str)
    return pd.DataFrame({"problem_id": [f"{prefix}-{p}-{int(year)}" for p in pid], "source": source,
                         "project_id": frame["project_id"].to_numpy(), "year": int(year),
                         "finding": list(findings)})


def problems_found(store, year: int, rules) -> pd.DataFrame:
    """Long: one ledger row (the 整改台账's columns) per problem year ``year``'s reports find,
    status 未整改, measure and deadline empty for the departments to fill in; ids are
    prefix-project-year, stable across runs. See the module for the four kinds."""
    y = int(year)
    parts = []
    se = ev.self_evaluation(store, y, rules).projects
    hit = se[se["inflated"]]
    parts.append(_rows(hit, LEDGER_PREFIX["inflated"], "自评复核", y, [
        f"{y - 1} 年度绩效自评得分 {r:.2f} 分，复核得分 {c:.2f} 分，高出 {r - c:.2f} 分（自评虚高）"
        for r, c in zip(hit["reported_score"], hit["recomputed_score"])]))
    month = mon.last_complete_month(store, y, rules)
    if month is not None:
        ex = mon.project_execution(store, y, month, rules)
        red = ex[ex["band"] == mon.RED]
        parts.append(_rows(red, LEDGER_PREFIX["red"], "重点监控", y, [
            f"截至 {month} 月底预算执行率 {rate:.2%}，低于时间进度 {tp:.2%}（红色预警）" if rate == rate
            else f"截至 {month} 月底执行为红色预警" for rate, tp in zip(ex.loc[red.index, "execution_rate"],
                                                              ex.loc[red.index, "time_progress"])]))
    key = ev.key_evaluations(store, y, rules)
    key = key[key["findings"].notna() & (key["findings"].astype(str).str.strip() != "")] if "findings" in key else key.iloc[0:0]
    parts.append(_rows(key, LEDGER_PREFIX["key"], "重点评价", y,
                       [f"{y} 年重点评价（{g}）发现的主要问题：{f}" for g, f in zip(key["grade"], key["findings"])]))
    signals, _ = sig.signals_from_store(store, y, rules)
    for kind in sig.KINDS:
        s = signals[signals["kind"] == kind]
        parts.append(_rows(s, LEDGER_PREFIX[kind], SIGNAL_SOURCE[kind], y,
                           [f"信号冲突：{kind}（{int(e)} 年度）" for e in s["evaluation_year"]]))
    out = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else \
        pd.DataFrame(columns=["problem_id", "source", "project_id", "year", "finding"])
    dept_of = pd.concat([store.projects(y), store.projects(y - 1)])[["project_id", "dept_code"]]
    out = out.merge(dept_of.drop_duplicates("project_id"), on="project_id", how="left")
    secret = out["project_id"].astype(str).str.startswith(CLASSIFIED_PREFIX)
    out["finding"] = np.where(secret, out["project_id"].astype(str) + "：" + out["finding"].astype(str), out["finding"])
    out["project_id"] = out["project_id"].where(~secret, None)
    out["status"] = "未整改"
    for c in ("measure", "deadline", "date_done", "evidence", "budget_consequence"):
        out[c] = None
    out = out.drop_duplicates("problem_id").sort_values("problem_id", kind="stable").reset_index(drop=True)
    return out[[c.name for c in TABLES["rectifications"].columns]]
