"""(Re)create the bad-input corpus ``tests/data/bad_inputs/<case>/``, deterministically.

Each case is a whole export folder a reviewer can ingest as it is
(``perflib ingest tests/data/bad_inputs/<case> --db /tmp/x.duckdb``): the small valid export of
``tests/conftest.py`` (every table as a UTF-8 csv) with one file replaced or added, as a budget
system or a tired analyst would produce it. What each case must end with (exit 2 and the located
message, or a correct load and what it loads as) is in ``tests/README.md`` and asserted by
``tests/ingest/test_bad_inputs.py``.

Usage: ``python tests/data/make_bad_inputs.py [CASE ...]`` (no names = every case). The password-
protected workbook needs ``msoffcrypto-tool`` to be re-made; without it the committed file is kept.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import shutil
import sys
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE / "bad_inputs"
sys.path.insert(0, str(HERE.parent))  # tests/: the conftest helpers
os.environ["OPENPYXL_LXML"] = "False"  # the same bytes with or without lxml installed (see conftest)

import pandas as pd  # noqa: E402

from conftest import small_frames, write_export, write_table  # noqa: E402
from perflib.schema import TABLES  # noqa: E402

D = Decimal
FIXED_TIME = (2024, 1, 1, 0, 0, 0)
PASSWORD = "perflib"

CASES: dict[str, Callable[[Path, dict], None]] = {}


def case(slug: str):
    def register(fn):
        assert slug not in CASES, slug
        CASES[slug] = fn
        return fn
    return register


# --- helpers -------------------------------------------------------------------------------------

def setcell(df: pd.DataFrame, i: int, col: str, value) -> None:
    df[col] = df[col].astype(object)
    df.loc[i, col] = value


def headers_of(table: str, df: pd.DataFrame) -> list[str]:
    return [TABLES[table].column(c).header for c in df.columns]


def csv_text(rows: list[list], delimiter: str = ",") -> str:
    out = io.StringIO()
    w = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for r in rows:
        w.writerow(["" if v is None else (v.isoformat() if isinstance(v, dt.date) else str(v)) for v in r])
    return out.getvalue()


def table_rows(table: str, df: pd.DataFrame, *, xlsx: bool = False) -> list[list]:
    """The data rows of ``df`` as written by the conftest helpers (money as float in xlsx)."""
    rows = []
    for rec in df.itertuples(index=False):
        row = []
        for v in rec:
            if v is None or (isinstance(v, float) and v != v):
                v = None
            elif isinstance(v, Decimal) and xlsx:
                v = float(v)
            row.append(v)
        rows.append(row)
    return rows


def workbook(path: Path, sheets: list[dict]) -> Path:
    """Write an xlsx with openpyxl: each sheet ``{"title", "rows", "merge": [...], "state": ...}``."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for spec in sheets:
        ws = wb.create_sheet(spec["title"])
        for r in spec["rows"]:
            ws.append(list(r))
        for rng in spec.get("merge", ()):
            ws.merge_cells(rng)
        if spec.get("state"):
            ws.sheet_state = spec["state"]
    wb.save(path)
    return path


def normalise_xlsx(path: Path) -> None:
    """Fixed timestamps in the zip and in docProps/core.xml, so that re-running gives the same file."""
    data = path.read_bytes()
    try:
        zin = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return  # deliberately not a workbook
    out = io.BytesIO()
    with zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in sorted(zin.infolist(), key=lambda i: i.filename):
            body = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z", b"2024-01-01T00:00:00Z", body)
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            zout.writestr(zi, body)
    path.write_bytes(out.getvalue())


# --- columns and headers -------------------------------------------------------------------------

@case("missing_column")
def _(d, f):
    """项目.csv without the 年初预算数 column."""
    f["projects"] = f["projects"].drop(columns=["budget_amount"])


@case("renamed_column")
def _(d, f):
    """项目.csv where 年初预算数 is headed 预算金额 (another system's name)."""
    p = f.pop("projects")
    write_table(d / "项目.csv", "projects", p, headers={"budget_amount": "预算金额"})


@case("duplicated_column")
def _(d, f):
    """支出明细.csv with the 支付金额 column twice."""
    p = f.pop("payments")
    p["again"] = p["amount"]
    write_table(d / "支出明细.csv", "payments", p, headers={"again": "支付金额"})


@case("duplicated_column_other_unit")
def _(d, f):
    """项目.xlsx with 年初预算数 and 年初预算数（万元） side by side."""
    p = f.pop("projects")
    p["wan"] = [v / 10_000 for v in p["budget_amount"]]
    write_table(d / "项目.xlsx", "projects", p, headers={"wan": "年初预算数（万元）"})


@case("english_headers")
def _(d, f):
    """项目.csv with the canonical English column names instead of the Chinese headers."""
    p = f.pop("projects")
    write_table(d / "项目.csv", "projects", p, headers={c: c for c in p.columns})


@case("title_rows_above_header")
def _(d, f):
    """项目.xlsx as Excel exports it: a merged title, a 单位：万元 line and a blank row above the header."""
    p = f.pop("projects")
    wan = p.copy()
    for c in ("budget_amount", "adjusted_amount"):
        wan[c] = [None if v is None else float(v / 10_000) for v in p[c]]
    rows = [["2023年度项目支出预算表"] + [None] * 10, ["编制单位：某区财政局", None, None, None, None, None, None,
                                                 None, None, "单位：万元", None],
            [None] * 11, headers_of("projects", p)] + table_rows("projects", wan, xlsx=True)
    workbook(d / "项目.xlsx", [{"title": "项目", "rows": rows, "merge": ["A1:K1", "A2:C2", "J2:K2"]}])


@case("merged_group_header_row")
def _(d, f):
    """项目.xlsx with a merged group row (基本信息 / 预算信息 / 标识) above the real header row."""
    p = f.pop("projects")
    group = ["基本信息", None, None, None, None, "预算信息", None, None, None, "标识", None]
    rows = [group, headers_of("projects", p)] + table_rows("projects", p, xlsx=True)
    workbook(d / "项目.xlsx", [{"title": "项目", "rows": rows, "merge": ["A1:E1", "F1:I1", "J1:K1"]}])


@case("two_row_header")
def _(d, f):
    """重点评价.xlsx with a two-row header: 得分 merged over 决策/过程/产出/效益, 下年度 over 申请数/安排数,
    the other headers merged down over both rows."""
    k = f.pop("key_evaluations")
    top = ["项目编码", "年度", "评价领域", "得分", None, None, None, "下年度", None, "主要问题"]
    sub = [None, None, None, "决策", "过程", "产出", "效益", "申请数", "安排数", None]
    merges = ["A1:A2", "B1:B2", "C1:C2", "D1:G1", "H1:I1", "J1:J2"]
    rows = [top, sub] + table_rows("key_evaluations", k, xlsx=True)
    workbook(d / "重点评价.xlsx", [{"title": "重点评价", "rows": rows, "merge": merges}])


@case("two_row_header_with_unit")
def _(d, f):
    """项目.xlsx: 预算数（万元） merged over 年初/调整后 (the unit on the group cell applies to both)."""
    p = f.pop("projects")
    wan = p.copy()
    for c in ("budget_amount", "adjusted_amount"):
        wan[c] = [None if v is None else float(v / 10_000) for v in p[c]]
    head = headers_of("projects", p)
    top = head[:7] + ["预算数（万元）", None] + head[9:]
    sub = [None] * 7 + ["年初", "调整后"] + [None, None]
    merges = [f"{c}1:{c}2" for c in "ABCDEFGJK"] + ["H1:I1"]
    rows = [top, sub] + table_rows("projects", wan, xlsx=True)
    workbook(d / "项目.xlsx", [{"title": "项目", "rows": rows, "merge": merges}])


@case("repeated_header_rows")
def _(d, f):
    """支出明细.csv made by pasting two exports together: the header line repeats in the middle."""
    p = f.pop("payments")
    head = headers_of("payments", p)
    rows = table_rows("payments", p)
    (d / "支出明细.csv").write_text(csv_text([head] + rows[:2] + [head] + rows[2:]), encoding="utf-8")


@case("unknown_file_name")
def _(d, f):
    """An extra copy named 项目-副本.csv (Windows' copy name) beside 项目.csv."""
    write_table(d / "项目-副本.csv", "projects", f["projects"])


@case("same_table_twice")
def _(d, f):
    """项目 saved twice, as 项目.csv and 项目.xlsx."""
    write_table(d / "项目.xlsx", "projects", f["projects"])


@case("notes_sheet_in_workbook")
def _(d, f):
    """项目.xlsx with a 填表说明 sheet (instructions) before the data sheet."""
    p = f.pop("projects")
    notes = [["填表说明"], ["1. 金额单位为元"], ["2. 是否涉密填 是/否"]]
    rows = [headers_of("projects", p)] + table_rows("projects", p, xlsx=True)
    workbook(d / "项目.xlsx", [{"title": "填表说明", "rows": notes}, {"title": "项目", "rows": rows}])


@case("hidden_helper_sheet")
def _(d, f):
    """项目.xlsx with a hidden 代码表 sheet (the lists behind the drop-downs)."""
    p = f.pop("projects")
    codes = [["预算类型", "资金来源"], ["一般公共预算", "本级"], ["政府性基金预算", "上级转移支付"]]
    rows = [headers_of("projects", p)] + table_rows("projects", p, xlsx=True)
    workbook(d / "项目.xlsx", [{"title": "项目", "rows": rows},
                              {"title": "代码表", "rows": codes, "state": "hidden"}])


@case("hidden_table_sheet")
def _(d, f):
    """One workbook 导出数据.xlsx whose 支出明细 sheet is hidden (the 项目 sheet is visible)."""
    p = f.pop("projects")
    pay = f.pop("payments")
    workbook(d / "导出数据.xlsx", [
        {"title": "项目", "rows": [headers_of("projects", p)] + table_rows("projects", p, xlsx=True)},
        {"title": "支出明细", "rows": [headers_of("payments", pay)] + table_rows("payments", pay, xlsx=True),
         "state": "hidden"},
    ])


@case("only_notes_and_hidden_sheets")
def _(d, f):
    """成本构成.xlsx holding a 填表说明 sheet and the data on a hidden sheet named Sheet2."""
    c = f.pop("costs")
    workbook(d / "成本构成.xlsx", [
        {"title": "填表说明", "rows": [["填表说明"], ["金额单位为元"]]},
        {"title": "Sheet2", "rows": [headers_of("costs", c)] + table_rows("costs", c, xlsx=True),
         "state": "hidden"},
    ])


# --- wrong types ---------------------------------------------------------------------------------

@case("money_in_words")
def _(d, f):
    """项目.csv: 年初预算数 of P002 2022 written as 五十万."""
    setcell(f["projects"], 1, "budget_amount", "五十万")


@case("year_with_decimals")
def _(d, f):
    """支出明细.csv: 年度 2023.5."""
    setcell(f["payments"], 2, "year", "2023.5")


@case("year_overflows_integer")
def _(d, f):
    """项目.csv: 年度 typed as thirty nines (found by the reader fuzzing: it crashed the reader)."""
    setcell(f["projects"], 0, "year", "9" * 30)


@case("date_in_money_cell")
def _(d, f):
    """项目.xlsx: a date cell where 年初预算数 should be (Excel auto-formatted it)."""
    p = f.pop("projects")
    setcell(p, 3, "budget_amount", dt.datetime(2023, 8, 1))
    write_table(d / "项目.xlsx", "projects", p)


@case("bool_not_yes_no")
def _(d, f):
    """项目.csv: 是否涉密 written as 待定."""
    setcell(f["projects"], 4, "is_classified", "待定")


@case("code_in_scientific_notation")
def _(d, f):
    """项目.csv opened and re-saved in Excel: a long 项目编码 became 3.70112E+17 (digits lost)."""
    p = f["projects"]
    setcell(p, 4, "project_id", "3.70112E+17")


@case("score_as_text")
def _(d, f):
    """重点评价.csv: 决策得分 written as 十八分."""
    setcell(f["key_evaluations"], 0, "score_decision", "十八分")


# --- amounts -------------------------------------------------------------------------------------

@case("negative_amount")
def _(d, f):
    """支出明细.csv: a payment of -200,000.00 元 (a refund typed as a payment)."""
    setcell(f["payments"], 2, "amount", "-200000.00")


@case("absurd_amount")
def _(d, f):
    """支出明细.csv: a payment of 1e15 元 (1,000,000,000,000,000 元 — digits typed twice)."""
    setcell(f["payments"], 4, "amount", "1000000000000000.00")


@case("amount_overflows_storage")
def _(d, f):
    """项目.xlsx: 年初预算数 1e17 元 (does not fit DECIMAL(18,2))."""
    p = f.pop("projects")
    setcell(p, 2, "budget_amount", 1e17)
    write_table(d / "项目.xlsx", "projects", p)


@case("amount_in_scientific_notation")
def _(d, f):
    """支出明细.csv saved by Excel with a narrow column: 1.2E+06 instead of 1200000.00."""
    setcell(f["payments"], 3, "amount", "4.0E+05")


@case("wan_yuan_suffix_in_cells")
def _(d, f):
    """支出明细.csv (header in 元): one amount typed as 12万元."""
    setcell(f["payments"], 4, "amount", "12万元")


@case("yuan_suffix_in_cells")
def _(d, f):
    """支出明细.csv (header in 元): amounts typed with 元 and ¥ (the column's own unit) — legitimately odd."""
    pay = f["payments"]
    setcell(pay, 0, "amount", "300,000.00元")
    setcell(pay, 4, "amount", "¥120,000.00")


@case("unit_column_mixed")
def _(d, f):
    """支出明细.csv with a 单位 column: 元 on every row but one, which says 万元 (amount 12)."""
    pay = f.pop("payments")
    setcell(pay, 4, "amount", "12")
    pay["unit"] = ["元", "元", "元", "元", "万元", "元"]
    write_table(d / "支出明细.csv", "payments", pay, headers={"unit": "单位"})


@case("unit_column_consistent")
def _(d, f):
    """支出明细.csv with a 单位 column saying 元 on every row (the header's unit) — loads."""
    pay = f.pop("payments")
    pay["unit"] = ["元"] * len(pay)
    write_table(d / "支出明细.csv", "payments", pay, headers={"unit": "单位"})


# --- keys and references -------------------------------------------------------------------------

@case("duplicate_key")
def _(d, f):
    """项目.csv: P001 2023 listed twice (the second with another amount)."""
    p = f["projects"]
    extra = p.iloc[[2]].copy()
    extra["budget_amount"] = [D("1250000.00")]
    f["projects"] = pd.concat([p, extra], ignore_index=True)


@case("unknown_department")
def _(d, f):
    """项目.csv: P002 2022 belongs to department 109, which is not in 部门.csv."""
    setcell(f["projects"], 1, "dept_code", "109")


@case("payment_of_unknown_project")
def _(d, f):
    """支出明细.csv: a payment to P009, which is not a 2023 project."""
    setcell(f["payments"], 4, "project_id", "P009")


# --- dates ---------------------------------------------------------------------------------------

@case("payment_before_its_year")
def _(d, f):
    """支出明细.csv: a 2023 payment dated 2022-12-31."""
    setcell(f["payments"], 2, "pay_date", "2022-12-31")


@case("payment_in_the_future")
def _(d, f):
    """支出明细.csv: a payment dated 2099-06-30 (after the day of the ingest)."""
    pay = f["payments"]
    setcell(pay, 5, "year", 2099)
    setcell(pay, 5, "pay_date", "2099-06-30")


@case("dates_in_six_formats")
def _(d, f):
    """支出明细.csv: the dates written 2022-03-15, 2022/12/20, 2023年2月10日, 20230731, 2023.5.6 and as
    the Excel serial 45107 (2023-06-30) — legitimately odd, loads."""
    pay = f["payments"]
    for i, text in enumerate(["2022-03-15", "2022/12/20", "2023年2月10日", "20230731", "2023.5.6", "45107"]):
        setcell(pay, i, "pay_date", text)


@case("date_day_first")
def _(d, f):
    """支出明细.csv: 31/07/2023 (day first; 07/08/2023 would be ambiguous, so neither is guessed)."""
    setcell(f["payments"], 3, "pay_date", "31/07/2023")


@case("date_month_only")
def _(d, f):
    """支出明细.csv: 2023年7月 (no day)."""
    setcell(f["payments"], 3, "pay_date", "2023年7月")


@case("date_impossible")
def _(d, f):
    """支出明细.csv: 2023-02-30."""
    setcell(f["payments"], 2, "pay_date", "2023-02-30")


# --- encodings -----------------------------------------------------------------------------------

@case("gbk_csv")
def _(d, f):
    """项目.csv saved as GBK (Excel on a Chinese Windows) — loads."""
    write_table(d / "项目.csv", "projects", f.pop("projects"), encoding="gbk")


@case("utf8_bom_csv")
def _(d, f):
    """项目.csv as UTF-8 with a byte-order mark — loads."""
    write_table(d / "项目.csv", "projects", f.pop("projects"), encoding="utf-8-sig")


@case("utf16_tab_text")
def _(d, f):
    """项目.csv saved by Excel as 'Unicode 文本' (UTF-16 with BOM, tab-separated) — loads."""
    p = f.pop("projects")
    rows = [headers_of("projects", p)] + table_rows("projects", p)
    (d / "项目.csv").write_bytes(csv_text(rows, delimiter="\t").encode("utf-16"))


@case("utf8_with_a_gbk_row")
def _(d, f):
    """项目.csv in UTF-8 where one row was pasted from a GBK file (its bytes are GBK)."""
    p = f.pop("projects")
    rows = [headers_of("projects", p)] + table_rows("projects", p)
    lines = csv_text(rows).splitlines(keepends=True)
    data = b"".join(ln.encode("gbk") if i == 5 else ln.encode("utf-8") for i, ln in enumerate(lines))
    (d / "项目.csv").write_bytes(data)


@case("mojibake_gbk_read_as_latin1")
def _(d, f):
    """项目.csv: a GBK file opened as Latin-1/ANSI and re-saved as UTF-8 (ÏîÄ¿±àÂë…)."""
    p = f.pop("projects")
    text = csv_text([headers_of("projects", p)] + table_rows("projects", p))
    (d / "项目.csv").write_text(text.encode("gbk").decode("latin-1"), encoding="utf-8")


@case("mojibake_utf8_read_as_gbk")
def _(d, f):
    """项目.csv: a UTF-8 file opened as GBK and re-saved as UTF-8 (椤圭洰缂栫爜…)."""
    p = f.pop("projects")
    text = csv_text([headers_of("projects", p)] + table_rows("projects", p))
    (d / "项目.csv").write_text(text.encode("utf-8").decode("gb18030", errors="replace"), encoding="utf-8")


@case("mojibake_replacement_chars")
def _(d, f):
    """项目.csv: a GBK file opened as UTF-8 in an editor and saved (every Chinese character lost to �)."""
    p = f.pop("projects")
    text = csv_text([headers_of("projects", p)] + table_rows("projects", p))
    (d / "项目.csv").write_text(text.encode("gbk").decode("utf-8", errors="replace"), encoding="utf-8")


# --- files ---------------------------------------------------------------------------------------

@case("empty_file")
def _(d, f):
    """部门.csv of 0 bytes."""
    f.pop("departments")
    (d / "部门.csv").write_bytes(b"")


@case("blank_lines_only")
def _(d, f):
    """成本构成.csv holding only a BOM, commas and line breaks."""
    f.pop("costs")
    (d / "成本构成.csv").write_bytes("\ufeff,,,\r\n,,,\r\n\r\n".encode("utf-8"))


@case("header_only")
def _(d, f):
    """成本构成.csv with the header and no rows."""
    f["costs"] = f["costs"].iloc[0:0]


@case("html_table_as_xlsx")
def _(d, f):
    """项目.xlsx that is really an HTML table (what some budget systems call an Excel export) — loads."""
    p = f.pop("projects")
    head = "".join(f"<th>{h}</th>" for h in headers_of("projects", p))
    body = []
    for r in table_rows("projects", p):
        cells = "".join(f"<td>{'' if v is None else (f'{v:,.2f}' if isinstance(v, Decimal) else v)}</td>"
                        for v in r)
        body.append(f"<tr>{cells}</tr>")
    html = ('<html xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta charset="utf-8">'
            "<title>项目</title></head><body><table border=1>"
            '<tr><td colspan="11">2023年度项目支出预算表（单位：元）</td></tr>'
            f"<tr>{head}</tr>{''.join(body)}</table></body></html>")
    (d / "项目.xlsx").write_text(html, encoding="utf-8")


@case("html_table_as_xls")
def _(d, f):
    """支出明细.xls that is really an HTML table in GBK (an old system's 'Excel' export) — loads."""
    pay = f.pop("payments")
    head = "".join(f"<td><b>{h}</b></td>" for h in headers_of("payments", pay))
    body = "".join("<tr>" + "".join(f"<td>{'' if v is None else v}</td>" for v in r) + "</tr>"
                   for r in table_rows("payments", pay))
    html = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk"></head>'
            f"<body><table><tr>{head}</tr>{body}</table></body></html>")
    (d / "支出明细.xls").write_bytes(html.encode("gbk"))


@case("csv_named_xlsx")
def _(d, f):
    """项目.xlsx that is a CSV text file renamed."""
    p = f.pop("projects")
    text = csv_text([headers_of("projects", p)] + table_rows("projects", p))
    (d / "项目.xlsx").write_bytes(text.encode("utf-8"))


@case("password_protected_xlsx")
def _(d, f):
    """项目.xlsx protected with an opening password (an encrypted OLE2 file, not a zip)."""
    p = f.pop("projects")
    target = d / "项目.xlsx"
    kept = ROOT / "password_protected_xlsx" / "项目.xlsx"
    try:
        import msoffcrypto  # noqa: F401
        from msoffcrypto.format.ooxml import OOXMLFile
    except ImportError:
        if kept.resolve() != target.resolve():
            shutil.copyfile(kept, target)
        return
    plain = d / "_plain.xlsx"
    write_table(plain, "projects", p)
    normalise_xlsx(plain)
    import random

    from msoffcrypto.method import ecma376_agile

    rng = random.Random(9)
    real = ecma376_agile._random_buffer
    ecma376_agile._random_buffer = lambda n: bytes(rng.getrandbits(8) for _ in range(n))  # fixed salts
    try:
        with open(plain, "rb") as fh, open(target, "wb") as out:
            OOXMLFile(fh).encrypt(PASSWORD, out)
    finally:
        ecma376_agile._random_buffer = real
    plain.unlink()
    # the OLE2 directory entries carry the time of writing (FILETIME at offsets 100 and 108 of each
    # 128-byte entry): set them to a fixed time
    data = bytearray(target.read_bytes())
    root = data.find("Root Entry".encode("utf-16-le"))
    fixed = (133485408000000000).to_bytes(8, "little")  # 2024-01-01 as a FILETIME
    for stamp in {bytes(data[root + 100:root + 108]), bytes(data[root + 108:root + 116])} - {bytes(8)}:
        data = bytearray(bytes(data).replace(stamp, fixed))
    target.write_bytes(bytes(data))


@case("corrupt_xlsx")
def _(d, f):
    """项目.xlsx cut off halfway (an interrupted download or copy)."""
    p = f.pop("projects")
    target = d / "项目.xlsx"
    write_table(target, "projects", p)
    normalise_xlsx(target)
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])


@case("old_binary_xls")
def _(d, f):
    """部门.xls in the old binary (BIFF/OLE2) format, which perflib does not read."""
    f.pop("departments")
    header = bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 16 + bytes.fromhex("3E000300FEFF0900")
    (d / "部门.xls").write_bytes(header + b"\x00" * (512 - len(header)) + b"Workbook".ljust(64, b"\x00"))


# --- totals --------------------------------------------------------------------------------------

@case("total_row_matches")
def _(d, f):
    """支出明细.csv ending with a 合计 row equal to the column sum — loads without it."""
    pay = f.pop("payments")
    write_table(d / "支出明细.csv", "payments", pay, extra_rows=[["合计", "", "", "1700000.50"]])


@case("total_row_mismatch")
def _(d, f):
    """支出明细.csv ending with a 合计 row 100 元 off."""
    pay = f.pop("payments")
    write_table(d / "支出明细.csv", "payments", pay, extra_rows=[["合计", "", "", "1700100.50"]])


@case("subtotal_rows_in_the_middle")
def _(d, f):
    """支出明细.csv with a 小计 row after each year's payments."""
    pay = f.pop("payments")
    head = headers_of("payments", pay)
    rows = table_rows("payments", pay)
    (d / "支出明细.csv").write_text(csv_text(
        [head] + rows[:2] + [["小计", None, None, "950000.00"]] + rows[2:]
        + [["小计", None, None, "750000.50"]]), encoding="utf-8")


@case("total_row_in_wan_yuan_xlsx")
def _(d, f):
    """项目.xlsx in 万元 whose last row is 合 计 with the column totals — loads without it."""
    p = f.pop("projects")
    wan = p.copy()
    for c in ("budget_amount", "adjusted_amount"):
        wan[c] = [None if v is None else float(v / 10_000) for v in p[c]]
    head = headers_of("projects", p)
    head[7], head[8] = "年初预算数（万元）", "调整后预算数（万元）"
    total = ["合 计"] + [None] * 6 + [384.000025, 175.00005, None, None]
    rows = [head] + table_rows("projects", wan, xlsx=True) + [total]
    workbook(d / "项目.xlsx", [{"title": "项目", "rows": rows}])


# --- formulas and Excel errors -------------------------------------------------------------------

@case("formulas_never_calculated")
def _(d, f):
    """项目.xlsx written by a program: 调整后预算数 of P001 2023 is =H4+100000.5, never calculated by Excel
    (no cached value: openpyxl's data_only reading sees an empty cell)."""
    p = f.pop("projects")
    rows = [headers_of("projects", p)] + table_rows("projects", p, xlsx=True)
    rows[3][8] = "=H4+100000.5"
    workbook(d / "项目.xlsx", [{"title": "项目", "rows": rows}])


@case("formulas_with_values")
def _(d, f):
    """项目.xlsx saved by Excel: 调整后预算数 of P001 2023 is =H4+100000.5 (value 1,300,000.50) and 年初预算数 of
    P002 2023 is =400000*2 (value 800,000) — loads the values."""
    import xlsxwriter

    p = f.pop("projects")
    rows = [headers_of("projects", p)] + table_rows("projects", p, xlsx=True)
    wb = xlsxwriter.Workbook(str(d / "项目.xlsx"))
    ws = wb.add_worksheet("项目")
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            if v is not None:
                ws.write(i, j, v)
    ws.write_formula("I4", "=H4+100000.5", None, 1300000.5)
    ws.write_formula("H5", "=400000*2", None, 800000)
    wb.close()


@case("excel_error_values")
def _(d, f):
    """项目.xlsx with #N/A in 年初预算数 (a failed VLOOKUP) and #DIV/0! in 调整后预算数 (cached results)."""
    import xlsxwriter

    p = f.pop("projects")
    rows = [headers_of("projects", p)] + table_rows("projects", p, xlsx=True)
    wb = xlsxwriter.Workbook(str(d / "项目.xlsx"))
    ws = wb.add_worksheet("项目")
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            if v is not None:
                ws.write(i, j, v)
    ws.write_formula("H3", "=VLOOKUP(A3,预算!A:B,2,FALSE)", None, "#N/A")
    ws.write_formula("I5", "=H5/0", None, "#DIV/0!")
    wb.close()


@case("excel_error_in_csv")
def _(d, f):
    """绩效目标.csv exported from a sheet with a broken formula: 三级指标 is #REF!."""
    setcell(f["targets"], 3, "indicator", "#REF!")


# --- csv syntax ----------------------------------------------------------------------------------

@case("unbalanced_quote")
def _(d, f):
    """支出明细.csv where a cell opens a quote that never closes (the rest of the file becomes one cell)."""
    pay = f.pop("payments")
    rows = [headers_of("payments", pay)] + table_rows("payments", pay)
    lines = csv_text(rows).splitlines(keepends=True)
    lines[3] = '"' + lines[3]
    (d / "支出明细.csv").write_text("".join(lines), encoding="utf-8")


@case("semicolon_separated")
def _(d, f):
    """支出明细.csv separated by semicolons with decimal points (a European-locale Excel) — loads."""
    pay = f.pop("payments")
    rows = [headers_of("payments", pay)] + table_rows("payments", pay)
    (d / "支出明细.csv").write_text(csv_text(rows, delimiter=";"), encoding="utf-8")


@case("fullwidth_and_grouped_numbers")
def _(d, f):
    """支出明细.csv with full-width digits, thousands separators and spaces — loads."""
    pay = f["payments"]
    setcell(pay, 0, "amount", "３００，０００．００")
    setcell(pay, 1, "amount", "650,000.00")
    setcell(pay, 2, "amount", " 200 000.00 ")


# --- findings: content gaps that load (stored in table findings) ---------------------------------

@case("qualitative_target_blank")
def _(d, f):
    """绩效目标.csv: the 定性 indicator 群众健身条件改善 has no 指标值 — loads, a finding."""
    setcell(f["targets"], 1, "target_value", None)


@case("qualitative_target_blank_xlsx_titled")
def _(d, f):
    """绩效目标.xlsx (sheet 绩效目标, a title row above the header) with the 定性 indicator's 指标值
    empty — loads, a finding located at row 3 of the sheet."""
    t = f.pop("targets")
    setcell(t, 1, "target_value", None)
    workbook(d / "绩效目标.xlsx", [{"title": "绩效目标", "rows": [
        ["2023 年度绩效目标表"], headers_of("targets", t), *table_rows("targets", t, xlsx=True)]}])


@case("target_without_unit")
def _(d, f):
    """绩效目标.csv: the ≥ indicator 新建运动场地 has no 计量单位 — loads, a finding."""
    setcell(f["targets"], 0, "unit", None)


@case("target_without_weight")
def _(d, f):
    """绩效目标.csv: the project indicator 引进人才数 has no 分值 — loads, a finding."""
    setcell(f["targets"], 3, "weight", None)


@case("target_without_level2")
def _(d, f):
    """绩效目标.csv: 群众满意度 has no 二级指标 — loads, a finding."""
    setcell(f["targets"], 2, "level2", None)


@case("monitoring_without_actual")
def _(d, f):
    """绩效监控.csv: 群众满意度 has no 执行值 in month 7 — loads, a finding."""
    setcell(f["monitoring"], 1, "actual_value", None)


@case("deviation_reason_blank")
def _(d, f):
    """绩效监控.csv: 引进人才数 is 有可能 but has no 偏差原因 — loads, a finding."""
    setcell(f["monitoring"], 2, "deviation_reason", None)


@case("monitoring_without_reason_column")
def _(d, f):
    """绩效监控.csv without the optional 偏差原因 column — loads, one finding at the header row (not
    one per 有可能 row)."""
    f["monitoring"] = f["monitoring"].drop(columns=["deviation_reason"])


@case("self_eval_without_satisfaction")
def _(d, f):
    """绩效自评.csv: P001 2022 has no 满意度 (P002 has none in the tidy export either) — loads."""
    setcell(f["self_evaluations"], 0, "satisfaction", None)


@case("self_eval_indicator_without_value")
def _(d, f):
    """自评指标.csv: 引进人才数 has no 实际完成值 — loads, a finding."""
    setcell(f["self_eval_indicators"], 1, "actual_value", None)


@case("key_evaluation_without_findings")
def _(d, f):
    """重点评价.csv: no 主要问题 — loads, a finding."""
    setcell(f["key_evaluations"], 0, "findings", None)


@case("key_evaluation_without_domain")
def _(d, f):
    """重点评价.csv: no 评价领域 — loads, a finding."""
    setcell(f["key_evaluations"], 0, "domain", None)


@case("key_score_above_maximum")
def _(d, f):
    """重点评价.csv: 决策得分 25 where the dimension's full marks are 20 (rules) — loads, a finding."""
    setcell(f["key_evaluations"], 0, "score_decision", 25)


@case("output_without_quality_score_xlsx")
def _(d, f):
    """产出数量.xlsx (sheet 产出数量): 运动场地 has no 质量得分 either — loads, a finding per row."""
    o = f.pop("outputs")
    setcell(o, 0, "quality_score", None)
    workbook(d / "产出数量.xlsx", [{"title": "产出数量", "rows": [
        headers_of("outputs", o), *table_rows("outputs", o, xlsx=True)]}])


@case("department_without_sector")
def _(d, f):
    """部门.csv: 区科技局 has no 行业领域 — loads, a finding."""
    setcell(f["departments"], 2, "sector", None)


@case("departments_without_sector_column")
def _(d, f):
    """部门.csv without the 行业领域 column (no analysis reads it) — loads, no finding for it."""
    f["departments"] = f["departments"].drop(columns=["sector"])


@case("projects_without_adjusted_column")
def _(d, f):
    """项目.csv without the optional 调整后预算数 column — loads (execution on 年初预算数), one finding."""
    f["projects"] = f["projects"].drop(columns=["adjusted_amount"])


@case("many_gaps_at_once")
def _(d, f):
    """Gaps in four tables at once (定性 value, unit, 执行值, 实际完成值) — loads, every one found."""
    setcell(f["targets"], 1, "target_value", None)
    setcell(f["targets"], 2, "unit", None)
    setcell(f["monitoring"], 0, "actual_value", None)
    setcell(f["self_eval_indicators"], 0, "actual_value", None)


def build(slugs: list[str] | None = None, root: Path = ROOT) -> list[Path]:
    """Write the named cases (default: all) under ``root``; returns their folders."""
    out = []
    for slug in slugs or list(CASES):
        folder = root / slug
        if folder.exists():
            keep = None
            if slug == "password_protected_xlsx":  # re-made only with msoffcrypto installed
                keep = (folder / "项目.xlsx").read_bytes() if (folder / "项目.xlsx").exists() else None
            shutil.rmtree(folder)
            folder.mkdir(parents=True)
            if keep is not None:
                (folder / "项目.xlsx").write_bytes(keep)
        folder.mkdir(parents=True, exist_ok=True)
        frames = small_frames()
        CASES[slug](folder, frames)
        write_export(folder, frames)
        for x in folder.glob("*.xlsx"):
            normalise_xlsx(x)
        out.append(folder)
    return out


if __name__ == "__main__":
    names = sys.argv[1:]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        sys.exit(f"unknown case(s): {', '.join(unknown)}")
    for folder in build(names or None):
        print(folder.relative_to(HERE.parent.parent))
    print(f"{len(names or CASES)} case(s) written")
