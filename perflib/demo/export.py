"""Writing a ``DemoData`` as the budget system's export folder (``write_export``): Chinese headers,
是/否, money in 元 or 万元, some tables as xlsx and some as csv (one GBK), a 合计 row, and the
reproducible csv/xlsx writers the province writer shares.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..schema import TABLES
from .calibration import FEN, FIXED_TIMESTAMP, YEARS
from .district import DemoData
from .rectification import LEDGER_AS_OF
from .money import fen_text


def export_frame(df: pd.DataFrame, table: str, *, text_money: bool, bool_words: bool = True,
                 wan_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Canonical frame → the user-facing frame (Chinese headers, 是/否, money in 元 or 万元)."""
    out = pd.DataFrame(index=df.index)
    for c in TABLES[table].columns:
        if c.kind == "money":
            fen = df[c.name + "_fen"]
            header = c.header
            if c.name in wan_columns:
                header = f"{c.header}（万元）"
                vals = fen.astype("Float64") / (10_000 * FEN)
                out[header] = vals.astype(object).where(fen.notna(), None)
            elif text_money:
                mask = fen.notna()
                txt = pd.Series([None] * len(fen), index=fen.index, dtype=object)
                if mask.any():
                    txt[mask] = fen_text(fen[mask].astype("int64")).to_numpy()
                out[header] = txt
            else:
                vals = fen.astype("Float64") / FEN
                out[header] = vals.astype(object).where(fen.notna(), None)
        elif c.kind == "bool":
            if c.name in df:
                out[c.header] = df[c.name].map({True: "是", False: "否"}) if bool_words else df[c.name]
        elif c.name in df:
            out[c.header] = df[c.name]
    return out


def write_csv(df: pd.DataFrame, path: Path, encoding: str) -> None:
    """A frame as csv in ``encoding`` (GBK with CRLF line ends, as the budget system writes it)."""
    text = df.to_csv(index=False, lineterminator="\r\n" if encoding == "gbk" else "\n")
    path.write_bytes(text.encode(encoding))


def write_xlsx(sheets: dict[str, pd.DataFrame], path: Path, total_row: dict[str, dict] | None = None
               ) -> None:
    """Write sheets with xlsxwriter; fixed document dates so the file is reproducible."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                         "strings_to_urls": False})
    wb.set_properties({"title": path.stem, "author": "预算管理一体化系统", "created": FIXED_TIMESTAMP})
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for sheet, df in sheets.items():
        ws = wb.add_worksheet(sheet)
        for j, col in enumerate(df.columns):
            ws.write_string(0, j, str(col), head)
            values = df[col].tolist()
            width = max(8, min(40, len(str(col)) * 2 + 2))
            ws.set_column(j, j, width)
            for i, v in enumerate(values, start=1):
                _write_cell(ws, i, j, v, date_fmt)
        if total_row and sheet in total_row:
            i = len(df) + 1
            for j, col in enumerate(df.columns):
                if col in total_row[sheet]:
                    v = total_row[sheet][col]
                    if isinstance(v, str):
                        ws.write_string(i, j, v, head)
                    else:
                        ws.write_number(i, j, v, head)
        ws.freeze_panes(1, 0)
    wb.close()


def _write_cell(ws, i: int, j: int, v, date_fmt) -> None:
    """One value as a typed cell: dates as date cells, booleans as 是/否, numbers as numbers;
    missing values leave the cell empty."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return
    if isinstance(v, (dt.date, dt.datetime)):
        ws.write_datetime(i, j, dt.datetime(v.year, v.month, v.day), date_fmt)
    elif isinstance(v, (bool, np.bool_)):
        ws.write_string(i, j, "是" if v else "否")
    elif isinstance(v, (int, np.integer)):
        ws.write_number(i, j, int(v))
    elif isinstance(v, (float, np.floating)):
        ws.write_number(i, j, float(v))
    else:
        ws.write_string(i, j, str(v))


def write_export(data: DemoData, out_dir: Path) -> list[Path]:
    """Write the tables as a budget-system export folder; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []

    depts = export_frame(data.departments, "departments", text_money=False)
    p = out_dir / "部门.xlsx"
    write_xlsx({"部门": depts}, p)
    files.append(p)

    proj = export_frame(data.projects, "projects", text_money=False, wan_columns=("budget_amount",))
    wan_header = "年初预算数（万元）"
    adj_header = TABLES["projects"].column("adjusted_amount").header
    total = {
        proj.columns[0]: "合计",
        wan_header: int(data.projects["budget_amount_fen"].sum()) / (10_000 * FEN),
        adj_header: int(data.projects["adjusted_amount_fen"].dropna().sum()) / FEN,
    }
    p = out_dir / "项目.xlsx"
    write_xlsx({"项目": proj}, p, total_row={"项目": total})
    files.append(p)

    targets = export_frame(data.targets, "targets", text_money=True)
    p = out_dir / "绩效目标.csv"
    write_csv(targets, p, "gbk")
    files.append(p)

    # payments: the archived first year as a workbook with real date cells, the rest as csv text
    pay = data.payments
    first = pay["year"] == YEARS[0]
    p = out_dir / f"{YEARS[0]}年支出明细.xlsx"
    write_xlsx({"支出明细": export_frame(pay[first], "payments", text_money=False)}, p)
    files.append(p)
    later = pay[~first].copy()
    later["pay_date"] = pd.to_datetime(later["pay_date"]).dt.strftime("%Y-%m-%d")
    p = out_dir / "支出明细.csv"
    write_csv(export_frame(later, "payments", text_money=True), p, "utf-8")
    files.append(p)

    p = out_dir / "绩效监控.csv"
    write_csv(export_frame(data.monitoring, "monitoring", text_money=True), p, "utf-8-sig")
    files.append(p)

    se = export_frame(data.self_evaluations, "self_evaluations", text_money=False)
    sei = export_frame(data.self_eval_indicators, "self_eval_indicators", text_money=False)
    p = out_dir / "绩效自评.xlsx"
    write_xlsx({"绩效自评": se, "自评指标": sei}, p)
    files.append(p)

    p = out_dir / "重点评价.xlsx"
    write_xlsx({"重点评价": export_frame(data.key_evaluations, "key_evaluations", text_money=False)}, p)
    files.append(p)

    p = out_dir / "成本构成.csv"
    write_csv(export_frame(data.costs, "costs", text_money=True), p, "utf-8-sig")
    files.append(p)

    p = out_dir / "产出数量.csv"
    write_csv(export_frame(data.outputs, "outputs", text_money=True), p, "utf-8")
    files.append(p)

    p = out_dir / "街道财政.xlsx"
    write_xlsx({"街道财政": export_frame(data.street_fiscal, "street_fiscal", text_money=False)}, p)
    files.append(p)

    p = out_dir / "下年预算.csv"
    write_csv(export_frame(data.next_budgets, "next_budgets", text_money=True), p, "utf-8")
    files.append(p)

    p = out_dir / "事前评估.xlsx"
    write_xlsx({"事前评估": export_frame(data.ex_ante, "ex_ante", text_money=False)}, p)
    files.append(p)

    # the ledger's modification date is its export date: the as-of date of its overdue items
    p = out_dir / "整改台账.xlsx"
    write_xlsx({"整改台账": export_frame(data.rectifications, "rectifications", text_money=False)}, p)
    stamp = dt.datetime.combine(LEDGER_AS_OF, dt.time(18, 0)).timestamp()
    os.utime(p, (stamp, stamp))
    files.append(p)
    return files
