"""The 整改台账 workbook ``perflib ledger`` writes: the problems a year's reports find
(:func:`perflib.analysis.rectification.problems_found`) in the ledger's own input format (the
schema's Chinese headers, one sheet 整改台账), so that departments fill in 整改措施, 整改期限,
整改状态 and 完成日期 and the bureau ingests it back unchanged in shape.
"""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd

from ..files import atomic_write_bytes
from ..schema import DATE, TABLES

SHEET = "整改台账"


def ledger_name(year: int) -> str:
    return f"整改台账-{int(year)}.xlsx"


def ledger_bytes(rows: pd.DataFrame) -> bytes:
    """The workbook of ``rows`` (the rectifications table's canonical columns): text cells written
    as text (never a formula), dates as date cells, empty cells left empty."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False,
                                   "strings_to_formulas": False, "strings_to_urls": False})
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws = wb.add_worksheet(SHEET)
    for j, col in enumerate(TABLES["rectifications"].columns):
        ws.write_string(0, j, col.header, head)
        ws.set_column(j, j, 40 if col.name in ("finding", "measure") else 16)
        for i, v in enumerate(rows[col.name].tolist(), start=1):
            if v is None or v is pd.NA or (isinstance(v, float) and v != v):
                continue
            if col.kind == DATE:
                d = pd.Timestamp(v).date()
                ws.write_datetime(i, j, dt.datetime(d.year, d.month, d.day), date_fmt)
            elif col.name == "year":
                ws.write_number(i, j, int(v))
            else:
                ws.write_string(i, j, str(v))
    ws.freeze_panes(1, 0)
    wb.close()
    return buf.getvalue()


def write_ledger(rows: pd.DataFrame, out_dir: str | Path, year: int) -> Path:
    """Write ``整改台账-<year>.xlsx`` into ``out_dir`` (created if needed) atomically; its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / ledger_name(year)
    atomic_write_bytes(path, ledger_bytes(rows))
    return path
