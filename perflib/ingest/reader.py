"""The Python reader: an export's files read cell by cell into typed frames (district exports).

:class:`PythonReader` implements :class:`perflib.ingest.model.Reader` for every data file a suffix
is registered for in :mod:`.sources`; :func:`read_part` turns one raw table (a csv file or a sheet)
into one table's :class:`~perflib.ingest.model.Part`, with every problem located where the user sees
it (file, sheet, row, the header as written). The DuckDB bulk reader calls these same functions on
the rows it cannot decide in SQL, so that both readers word every problem alike.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pandas as pd

from ..files import sha256_bytes
from ..schema import MONEY, MONEY_UNITS, TABLE_ORDER, TABLES, Column, Table
from .cells import convert_cell, converter, expected_text, is_empty, nfkc, parse_money, typed_series
from .model import Export, Part, ReadLog, SourceFile, Staged, Unreadable
from .sources import (
    CELL_MONEY_UNITS, UNIT_COLUMN_KEYS, RawTable, find_header, garbled_header,
    handler_for, header_key, is_blank_row, is_notes_name, match_table_name, parse_header,
    total_label_at, two_row_header, without_repeated_headers,
)

__all__ = ["PythonReader", "read_part", "drop_subtotals", "check_total", "TOTAL_TOLERANCE"]

TOTAL_TOLERANCE = Decimal("0.01")  # one fen: float noise in an xlsx total cell is not a mismatch


def _fmt_money(amount: Decimal, unit: str) -> str:
    value = amount / MONEY_UNITS[unit]
    return f"{value:,.{2 if unit == '元' else 6}f}".rstrip("0").rstrip(".") + f" {unit}"


@dataclass
class _Header:
    """A header row understood: canonical column → position, header as written, money unit; the
    headers not recognised; whether the part cannot be read (a duplicate column, a bad unit, a
    required column missing, a garbled header)."""

    mapping: dict[str, int] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    unknown_at: dict[int, str] = field(default_factory=dict)
    fatal: bool = False


def _map_header(sheet: RawTable, table: Table, header: tuple, rownum: int, preamble_unit: str | None,
                log: ReadLog) -> _Header:
    """Map the columns of ``header`` (row ``rownum``), reporting duplicate columns, unknown money
    units, a garbled header or each required column missing."""
    where = dict(sheet=sheet.sheet)
    h = _Header()
    mapping, headers, units = h.mapping, h.headers, h.units
    for j, cell in enumerate(header):
        if is_empty(cell):
            continue
        written = str(cell).strip()
        name, unit = parse_header(written, table)
        if name is None:
            h.unknown_at[j] = written
            continue
        col = table.column(name)
        if name in mapping:
            log.problem(sheet.file, f"列重复：「{headers[name]}」和「{written}」都对应「{col.header}」",
                        row=rownum, column=written, expected="每列只出现一次", **where)
            h.fatal = True
            continue
        if unit is not None:
            if col.kind != MONEY:
                pass  # a unit on a non-money column (产出数量（个）) is only a label
            elif unit not in MONEY_UNITS:
                log.problem(sheet.file, f"无法识别的金额单位「{unit}」", row=rownum,
                            column=written, value=unit, expected="元、万元 或 亿元", **where)
                h.fatal = True
                unit = None
            else:
                units[name] = unit
        elif col.kind == MONEY:
            units[name] = preamble_unit or "元"
        mapping[name] = j
        headers[name] = written
    missing = [col for col in table.columns if col.required and col.name not in mapping]
    garbled = garbled_header(header, table) if missing and not mapping else None
    if garbled:  # one clear problem, not every column "missing"
        log.problem(sheet.file, garbled[0], row=rownum, column=garbled[1], **where)
        h.fatal = True
        missing = []
    unknown = list(h.unknown_at.values())
    for col in missing:
        extra = f"（文件中未识别的列：{'、'.join(unknown)}）" if unknown else ""
        log.problem(sheet.file, f"缺少必需的列「{col.header}」{extra}", row=rownum,
                    column=col.header, expected=f"表头「{col.header}」（或英文名 {col.name}）",
                    **where)
        h.fatal = True
    return h


def _convert_column(sheet: RawTable, col: Column, j: int, unit: str | None, header: str, data: list,
                    log: ReadLog, bad: list, ) -> pd.Series:
    """The cells of column ``j`` of ``data`` converted (each distinct value once), each cell that
    cannot be read reported and noted in ``bad`` as (position, column)."""
    convert = converter(col, unit)
    empty = (True, col.default)
    cache: dict = {(type(None), None): empty, (str, ""): empty}
    out = []
    formulas = {n: f for (n, jj), f in sheet.uncached.items() if jj == j}
    for pos, (n, r) in enumerate(data):
        v = r[j] if j < len(r) else None
        if formulas and n in formulas and is_empty(v):
            out.append(None)
            bad.append((pos, col.name))
            log.problem(sheet.file, "单元格是公式，但没有计算结果（文件由程序生成、从未在 Excel 中计算并"
                        "保存过，只读数值时为空）", row=n, column=header,
                        value=formulas[n], expected="请在 Excel 中打开并保存该文件，或把公式复制后"
                        "选择性粘贴为数值", sheet=sheet.sheet)
            continue
        key = (type(v), v)
        hit = cache.get(key)
        if hit is None:
            hit = empty if is_empty(v) else convert_cell(convert, v)
            cache[key] = hit
        ok, result = hit
        if ok:
            out.append(result)
        else:
            out.append(None)
            bad.append((pos, col.name))
            shown = v if not isinstance(v, str) else v.strip()
            log.problem(sheet.file, result, row=n, column=header, value=shown,
                        expected=expected_text(col, unit), sheet=sheet.sheet)
    return typed_series(col.kind, out)


def read_part(sheet: RawTable, table: Table, log: ReadLog) -> Part:
    """One raw table read as a part of ``table``: the header found and mapped, repeated headers,
    blank and 小计 rows dropped, a last 合计 row checked against the column sums, every cell
    converted. A part whose header cannot be used has an empty frame (its table is marked unread)."""
    hpos, preamble_unit = find_header(sheet, table)
    header_rownum, header = sheet.rows[hpos]
    start = hpos + 1
    if start < len(sheet.rows):
        combined = two_row_header(header, sheet.rows[start][1], table)
        if combined is not None:  # 得分 over 决策/过程/…: the names joined, data after both rows
            header, start = combined, start + 1
    h = _map_header(sheet, table, header, header_rownum, preamble_unit, log)
    mapping, headers, units = h.mapping, h.headers, h.units
    data = [(n, r) for n, r in sheet.rows[start:] if not is_blank_row(r)]
    if mapping and data:
        data = without_repeated_headers(data, header, mapping)
    total = None
    if data and total_label_at(data[-1][1], table, mapping, subtotal=False) is not None:
        total = data.pop()
    if data and not h.fatal:
        data = drop_subtotals(log, sheet, table, data, mapping, headers)
    source = SourceFile(path=sheet.file, sha256=sheet.sha256, table=table.name, sheet=sheet.sheet,
                        rows=len(data), header_row=header_rownum, headers=headers, units=units,
                        encoding=sheet.encoding, total_row=total[0] if total else None)
    if h.fatal:
        log.unread.add(table.name)
        return Part(table, pd.DataFrame(), source, [])
    if not data:
        log.problem(sheet.file, "没有数据行（只有表头）", row=header_rownum,
                    expected=f"「{table.label}」表的数据", sheet=sheet.sheet)
        log.unread.add(table.name)
    _check_unit_column(log, sheet, table, data, h.unknown_at, mapping, units)
    columns: dict[str, pd.Series] = {}
    bad: list[tuple[int, str]] = []
    for col in table.columns:
        if col.name not in mapping:
            columns[col.name] = typed_series(col.kind, [col.default] * len(data))
        else:
            columns[col.name] = _convert_column(sheet, col, mapping[col.name], units.get(col.name),
                                                headers[col.name], data, log, bad)
    frame = pd.DataFrame(columns)
    frame["_file"] = pd.Series([sheet.file] * len(data), dtype=object)
    frame["_sheet"] = pd.Series([sheet.sheet] * len(data), dtype=object)
    frame["_row"] = pd.Series([n for n, _ in data], dtype="int64")
    if total is not None:
        check_total(log, sheet, table, total, frame, mapping, headers, units)
    return Part(table, frame, source, bad)


def drop_subtotals(log: ReadLog, sheet: RawTable, table: Table, data: list, mapping: dict,
                   headers: dict) -> list:
    """Data rows without 小计/合计 rows in the middle of the table, each reported (only the last
    row may be a total, which is checked against the column sums)."""
    kept = []
    names = {j: headers[c] for c, j in mapping.items()}
    for n, r in data:
        head = r[0] if r else None
        if not is_empty(head) and not (isinstance(head, str) and "计" in head):
            kept.append((n, r))  # fast path: every total label (合计, 总计, 小计) has 计
            continue
        j = total_label_at(r, table, mapping)
        if j is None:
            kept.append((n, r))
            continue
        label = str(r[j]).strip()
        log.problem(sheet.file, f"「{label}」行在表格中间：小计/合计行不能作为数据导入（只有最后一行可以是"
                     f"合计行，并会与各行之和核对）", row=n, column=names.get(j), value=label,
                     expected="删除表格中间的小计/合计行", sheet=sheet.sheet)
    return kept

def _check_unit_column(log: ReadLog, sheet, table, data, unknown_at, mapping, units) -> None:
    """A 单位 column beside the money columns (元 on some rows, 万元 on others) is not applied row
    by row: a row whose unit differs from its money columns' unit is a problem."""
    money = {units.get(c, "元") for c in table.money_columns if c in mapping}
    if not money or not data:
        return
    for j, written in unknown_at.items():
        if header_key(written) not in UNIT_COLUMN_KEYS:
            continue
        for n, r in data:
            v = r[j] if j < len(r) else None
            if is_empty(v):
                continue
            u = re.sub(r"\s+", "", nfkc(str(v))).strip("()（）")
            if u not in CELL_MONEY_UNITS or {u} == money:
                continue
            shown = "、".join(sorted(money))
            log.problem(sheet.file, f"本行的「{written}」为「{u}」，与金额列的单位（{shown}，按表头）不一致："
                         f"不逐行换算单位", row=n, column=written, value=u,
                         expected=f"本行金额换算为{shown}，或把整列统一后把单位写在表头（如「支付金额（万元）」）",
                         sheet=sheet.sheet)

def check_total(log: ReadLog, sheet: RawTable, table: Table, total: tuple, frame: pd.DataFrame,
                mapping: dict, headers: dict, units: dict) -> None:
    n, r = total
    for name in table.money_columns:
        if name not in mapping:
            continue
        j = mapping[name]
        v = r[j] if j < len(r) else None
        if is_empty(v):
            continue
        unit = units.get(name, "元")
        ok, stated = convert_cell(lambda x: parse_money(x, unit), v)
        if not ok:
            log.problem(sheet.file, f"合计行的{stated}", row=n, column=headers[name], value=v,
                         expected=expected_text(table.column(name), unit), sheet=sheet.sheet)
            continue
        computed = sum((x for x in frame[name] if x is not None), Decimal("0.00"))
        if abs(computed - stated) > TOTAL_TOLERANCE:
            log.problem(
                sheet.file,
                f"合计行与各行之和不一致：合计行为 {_fmt_money(stated, unit)}，"
                f"各行相加为 {_fmt_money(computed, unit)}（相差 {_fmt_money(stated - computed, unit)}）",
                row=n, column=headers[name], value=v if not isinstance(v, str) else v.strip(),
                expected=f"各行之和 {_fmt_money(computed, unit)}", sheet=sheet.sheet)


class PythonReader:
    """The Python reader (:class:`perflib.ingest.model.Reader`): takes every file, reads those whose
    suffix has a handler in :mod:`.sources`, and reports any other file as not a data file. Exact
    and simple; at province scale the bulk reader takes the big files first."""

    def __init__(self):
        self.log = ReadLog()

    def begin(self, src: Path, log: ReadLog) -> None:
        self.log = log

    def takes(self, path: Path) -> bool:
        return True

    def read(self, path: Path, rel: str) -> list[Part]:
        log = self.log
        suffix = path.suffix.lower()
        handler = handler_for(suffix)
        if handler is None:
            hint = "请另存为 .xlsx 或 .csv" if suffix in (".et", ".ods", ".txt", ".tsv") else \
                "导出文件夹中只应有 .xlsx 或 .csv 数据文件"
            log.problem(rel, f"无法识别的文件（{hint}）", value=path.name,
                        expected="以表名命名的 .xlsx 或 .csv 文件，如 项目.xlsx")
            return []
        data = path.read_bytes()
        file_table = match_table_name(path.stem)
        try:
            sheets = handler(data, rel, sha256_bytes(data), suffix)
        except Unreadable as exc:
            log.problem(rel, str(exc), row=exc.row, column=exc.column)
            if file_table is not None:
                log.unread.add(file_table.name)
            return []
        nonempty = [s for s in sheets if any(not is_blank_row(r) for _, r in s.rows)]
        if not nonempty:
            log.problem(rel, "文件是空的（没有任何内容）")
            if file_table is not None:
                log.unread.add(file_table.name)
            return []
        return self._read_sheets(path, rel, nonempty, file_table)

    def _read_sheets(self, path: Path, rel: str, sheets: list[RawTable], file_table: Table | None
                     ) -> list[Part]:
        """The parts of a file's non-empty sheets; sheets of instructions and hidden sheets (the
        lists behind drop-downs) are ignored, a sheet that names no table is reported."""
        log = self.log
        parts = []
        ignored = log.ignored
        before = len(ignored)
        for sheet in sheets:
            sheet_table = match_table_name(sheet.sheet) if sheet.sheet else None
            if sheet_table is None and sheet.sheet and (sheet.hidden or is_notes_name(sheet.sheet)):
                ignored.append(f"{rel}#{sheet.sheet}")  # instructions, or a hidden list behind drop-downs
                continue
            table = sheet_table or file_table
            if table is None:
                where = f"工作表「{sheet.sheet}」" if sheet.sheet else "文件"
                names = "、".join(TABLES[t].label for t in TABLE_ORDER)
                log.problem(rel, f"无法识别{where}对应哪张表", sheet=sheet.sheet,
                            value=sheet.sheet or path.name,
                            expected=f"文件名或工作表名为表名之一：{names}")
                continue
            parts.append(read_part(sheet, table, log))
        if len(ignored) - before == len(sheets):
            log.problem(rel, "工作簿中没有数据工作表（只有说明或隐藏的工作表）",
                        value="、".join(str(sheet.sheet) for sheet in sheets),
                        expected="以表名命名的可见工作表，如「项目」")
            if file_table is not None:
                log.unread.add(file_table.name)
        return parts

    def finish(self, export: Export) -> Staged | None:
        return None
