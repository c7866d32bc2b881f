"""Reading export folders: every oddity of real budget-system exports, from fixtures built here."""
from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings, strategies as st

from conftest import small_frames, write_export
from perflib.exceptions import InputError
from perflib.ingest.cells import parse_date, parse_money
from perflib.ingest.folder import read_export
from perflib.ingest.sources import match_table_name


def write_csv(path: Path, rows: list[list], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path


DEPT_HEAD = ["部门编码", "部门名称", "上级部门编码"]
DEPTS = [["101", "区教体局", ""], ["102", "区科技局", ""]]
PROJ_HEAD = ["项目编码", "年度", "部门编码", "项目名称", "预算类型", "资金来源", "年初预算数"]


def proj_row(pid, amount, year=2023, dept="101"):
    return [pid, year, dept, f"项目{pid}", "一般公共预算", "本级", amount]


def problems_text(exc: InputError) -> str:
    return "\n".join(str(p) for p in exc.problems)


# --- file recognition ----------------------------------------------------------------------------

@pytest.mark.parametrize("name, table", [
    ("项目", "projects"), ("projects", "projects"), ("Projects", "projects"), ("项目信息", "projects"),
    ("2023年项目", "projects"), ("2023年度项目", "projects"), ("项目2023", "projects"),
    ("项目_2023年", "projects"), ("支出明细-001", "payments"), ("支出明细(2)", "payments"),
    ("支出明细（2）", "payments"), ("payments_2023", "payments"), ("绩效监控-2023-07", "monitoring"),
    ("2022 自评指标", "self_eval_indicators"), ("街道财政", "street_fiscal"),
])
def test_file_names_recognised(name, table):
    assert match_table_name(name).name == table


@pytest.mark.parametrize("name", ["杂项", "Sheet1", "项目说明书", "2023"])
def test_unrelated_names_not_recognised(name):
    assert match_table_name(name) is None


def test_split_files_of_one_table_are_concatenated(tmp_path):
    write_csv(tmp_path / "部门.csv", [DEPT_HEAD, *DEPTS])
    write_csv(tmp_path / "2023年项目-001.csv", [PROJ_HEAD, proj_row("P1", "10"), proj_row("P2", "20")])
    write_csv(tmp_path / "2023年项目-002.csv", [PROJ_HEAD, proj_row("P3", "30")])
    e = read_export(tmp_path)
    df = e.tables["projects"]
    assert list(df["project_id"]) == ["P1", "P2", "P3"]
    assert list(df["_file"]) == ["2023年项目-001.csv"] * 2 + ["2023年项目-002.csv"]
    assert list(df["_row"]) == [2, 3, 2]
    assert sorted((f.path, f.rows) for f in e.files if f.table == "projects") == [
        ("2023年项目-001.csv", 2), ("2023年项目-002.csv", 1)]


def test_one_workbook_with_a_sheet_per_table(tmp_path):
    write_xlsx(tmp_path / "导出数据.xlsx", {
        "部门": [DEPT_HEAD, *DEPTS],
        "项目": [PROJ_HEAD, proj_row("P1", 100)],
        "Sheet3": [],  # an empty default sheet is ignored
    })
    e = read_export(tmp_path)
    assert set(e.tables) == {"departments", "projects"}
    sheets = {(f.table, f.sheet) for f in e.files}
    assert sheets == {("departments", "部门"), ("projects", "项目")}
    shas = {f.sha256 for f in e.files}
    assert len(shas) == 1  # both sheets come from one file


def test_several_workbooks_and_csv_mixed(tmp_path):
    write_xlsx(tmp_path / "部门.xlsx", {"Sheet1": [DEPT_HEAD, *DEPTS]})  # sheet name unknown → file name
    write_csv(tmp_path / "项目.csv", [PROJ_HEAD, proj_row("P1", "5")])
    e = read_export(tmp_path)
    assert len(e.tables["departments"]) == 2
    assert e.tables["departments"]["_sheet"].tolist() == ["Sheet1", "Sheet1"]
    assert len(e.tables["projects"]) == 1


def test_unknown_files_reported_and_hidden_files_ignored(tmp_path):
    write_csv(tmp_path / "部门.csv", [DEPT_HEAD, *DEPTS])
    write_csv(tmp_path / "杂项.csv", [["a", "b"], ["1", "2"]])
    (tmp_path / "旧数据.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (tmp_path / "~$部门.xlsx").write_bytes(b"lock")
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    (tmp_path / "README.txt").write_text("notes", encoding="utf-8")
    (tmp_path / "子文件夹").mkdir()
    with pytest.raises(InputError) as ei:
        read_export(tmp_path)
    files = sorted(p.file for p in ei.value.problems)
    assert files == ["旧数据.xls", "杂项.csv"]
    text = problems_text(ei.value)
    assert "无法识别文件对应哪张表" in text and "请另存为 .xlsx 或 .csv" in text
    e = read_export(tmp_path, strict=False)
    assert sorted(e.ignored) == [".DS_Store", "README.txt", "~$部门.xlsx"]


def test_unknown_sheet_in_workbook_reported(tmp_path):
    write_xlsx(tmp_path / "导出.xlsx", {"部门": [DEPT_HEAD, *DEPTS], "备注": [["随便写写"]]})
    with pytest.raises(InputError) as ei:
        read_export(tmp_path)
    (p,) = ei.value.problems
    assert (p.file, p.sheet) == ("导出.xlsx", "备注")
    assert "无法识别工作表「备注」对应哪张表" in p.message


def test_missing_and_empty_folder_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="找不到导出数据文件夹"):
        read_export(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="是空的"):
        read_export(tmp_path / "empty")
    (tmp_path / "only_hidden").mkdir()
    (tmp_path / "only_hidden" / ".DS_Store").write_bytes(b"")
    with pytest.raises(InputError, match="没有 .xlsx 或 .csv 数据文件"):
        read_export(tmp_path / "only_hidden")


# --- headers -------------------------------------------------------------------------------------

def test_chinese_canonical_and_untidy_headers(tmp_path):
    head = [" 项目编码 ", "year", "部门 编码", "*项目名称", "预算类型", "fund_source", "年初预算数（元）"]
    write_csv(tmp_path / "项目.csv", [head, proj_row("P1", "12.5")])
    e = read_export(tmp_path, strict=False)
    df = e.tables["projects"]
    assert df.loc[0, "project_id"] == "P1" and df.loc[0, "fund_source"] == "本级"
    assert df.loc[0, "budget_amount"] == Decimal("12.50")
    src = e.files_of("projects")[0]
    assert src.headers["budget_amount"] == "年初预算数（元）"
    assert src.headers["project_id"] == "项目编码"  # stripped, as written


@pytest.mark.parametrize("header, cell, expected", [
    ("年初预算数", "1234.56", "1234.56"),
    ("年初预算数(元)", "1234.56", "1234.56"),
    ("年初预算数(万元)", "1.234567", "12345.67"),
    ("年初预算数（万元）", "88.123456", "881234.56"),
    ("年初预算数（亿元）", "0.0000000001", "0.01"),
    ("年初预算数（亿元）", "24.15", "2415000000.00"),
    ("年初预算数 （ 万元 ）", "3", "30000.00"),
])
def test_money_units_convert_exactly_to_yuan(tmp_path, header, cell, expected):
    head = PROJ_HEAD[:-1] + [header]
    write_csv(tmp_path / "项目.csv", [head, proj_row("P1", cell)])
    e = read_export(tmp_path)
    assert e.tables["projects"].loc[0, "budget_amount"] == Decimal(expected)
    assert e.files_of("projects")[0].units["budget_amount"] == (header.split("(")[-1].split("（")[-1]
                                                               .strip(" )）") if "元" in header[5:] else "元")


def test_money_unit_in_xlsx_float_cells_exact(tmp_path):
    # 万元 values with six decimals stored as Excel doubles still give exact fen
    write_xlsx(tmp_path / "项目.xlsx", {"项目": [PROJ_HEAD[:-1] + ["年初预算数（万元）"],
                                                proj_row("P1", 12345.6789), proj_row("P2", 0.01),
                                                proj_row("P3", 936947)]})
    df = read_export(tmp_path).tables["projects"]
    assert df["budget_amount"].tolist() == [Decimal("123456789.00"), Decimal("100.00"),
                                            Decimal("9369470000.00")]


def test_unit_stated_above_header_applies(tmp_path):
    write_csv(tmp_path / "项目.csv", [["2023年项目支出预算表"], ["单位：万元"], [], PROJ_HEAD,
                                    proj_row("P1", "2.5")])
    e = read_export(tmp_path)
    df = e.tables["projects"]
    assert df.loc[0, "budget_amount"] == Decimal("25000.00")
    assert df.loc[0, "_row"] == 5
    assert e.files_of("projects")[0].header_row == 4


# --- cell values ---------------------------------------------------------------------------------

def test_thousands_separators_fullwidth_digits_and_punctuation(tmp_path):
    write_csv(tmp_path / "项目.csv", [
        PROJ_HEAD + ["调整后预算数"],
        proj_row("P1", "1,234,567.89") + ["１２３，４５６．７８"],
        proj_row("Ｐ２", "  ¥2,000 ") + ["３００"],
        ["P3", "２０２３", "１０１", "项目三", "一般公共预算", "本级", "0.1"],
    ])
    df = read_export(tmp_path).tables["projects"]
    assert df["budget_amount"].tolist() == [Decimal("1234567.89"), Decimal("2000.00"), Decimal("0.10")]
    assert df["adjusted_amount"].tolist() == [Decimal("123456.78"), Decimal("300.00"), None]
    assert df["project_id"].tolist() == ["P1", "P2", "P3"]  # full-width code normalised
    assert df["year"].tolist() == [2023, 2023, 2023]
    assert df["dept_code"].tolist() == ["101", "101", "101"]


def test_misplaced_thousands_separator_is_a_problem(tmp_path):
    write_csv(tmp_path / "项目.csv", [PROJ_HEAD, proj_row("P1", "12,34.5")])
    with pytest.raises(InputError) as ei:
        read_export(tmp_path)
    (p,) = ei.value.problems
    assert (p.row, p.column, p.value) == (2, "年初预算数", "12,34.5")


def test_booleans_in_chinese_and_english(tmp_path):
    head = PROJ_HEAD + ["是否涉密", "是否特殊资金"]
    rows = [proj_row(f"P{i}", "1") + [a, b] for i, (a, b) in enumerate(
        [("是", "否"), ("true", "FALSE"), ("Y", "n"), ("1", "0"), ("", "√")])]
    write_csv(tmp_path / "项目.csv", [head, *rows])
    df = read_export(tmp_path).tables["projects"]
    assert df["is_classified"].tolist() == [True, True, True, True, False]  # empty → default 否
    assert df["is_special"].tolist() == [False, False, False, False, True]


def test_xlsx_bool_and_numeric_code_cells(tmp_path):
    write_xlsx(tmp_path / "项目.xlsx", {"项目": [PROJ_HEAD + ["是否涉密"],
                                                [1001, 2023.0, 101, "x", "一般公共预算", "本级", 5, True]]})
    df = read_export(tmp_path).tables["projects"]
    assert df.loc[0, "project_id"] == "1001" and df.loc[0, "dept_code"] == "101"
    assert df.loc[0, "year"] == 2023 and bool(df.loc[0, "is_classified"]) is True


def test_leading_zero_codes_kept_in_csv(tmp_path):
    write_csv(tmp_path / "部门.csv", [DEPT_HEAD, ["001", "区委办", ""], ["00101", "机要局", "001"]])
    df = read_export(tmp_path).tables["departments"]
    assert df["dept_code"].tolist() == ["001", "00101"]
    assert df["parent_code"].tolist() == [None, "001"]


PAY_HEAD = ["项目编码", "年度", "支付日期", "支付金额"]


def test_date_formats_csv(tmp_path):
    cells = ["2023-07-31", "2023/7/31", "2023年7月31日", "45138", "2023.07.31", "20230731",
             "2023-07-31 00:00:00", "２０２３－０７－３１"]
    write_csv(tmp_path / "支出明细.csv", [PAY_HEAD, *[["P1", 2023, c, 1] for c in cells]])
    df = read_export(tmp_path).tables["payments"]
    assert df["pay_date"].tolist() == [dt.date(2023, 7, 31)] * len(cells)


def test_date_cells_xlsx(tmp_path):
    write_xlsx(tmp_path / "支出明细.xlsx", {"支出明细": [PAY_HEAD,
        ["P1", 2023, dt.datetime(2023, 7, 31, 0, 0), 1],
        ["P1", 2023, dt.date(2023, 1, 2), 1],
        ["P1", 2023, 45138, 1],          # an Excel serial number left unformatted
        ["P1", 2023, "2023/7/31", 1]]})
    df = read_export(tmp_path).tables["payments"]
    assert df["pay_date"].tolist() == [dt.date(2023, 7, 31), dt.date(2023, 1, 2),
                                       dt.date(2023, 7, 31), dt.date(2023, 7, 31)]


@pytest.mark.parametrize("cell", ["2023-02-30", "31/07/2023", "七月", "2023-13-01"])
def test_bad_dates_reported(tmp_path, cell):
    write_csv(tmp_path / "支出明细.csv", [PAY_HEAD, ["P1", 2023, "2023-01-01", 1], ["P1", 2023, cell, 1]])
    with pytest.raises(InputError) as ei:
        read_export(tmp_path)
    (p,) = ei.value.problems
    assert (p.file, p.row, p.column, p.value) == ("支出明细.csv", 3, "支付日期", cell)
    assert "日期" in p.expected


def test_blank_rows_skipped_row_numbers_kept(tmp_path):
    write_csv(tmp_path / "项目.csv", [PROJ_HEAD, proj_row("P1", "1"), [], ["", " ", ""],
                                    proj_row("P2", "2"), []])
    df = read_export(tmp_path).tables["projects"]
    assert df["project_id"].tolist() == ["P1", "P2"]
    assert df["_row"].tolist() == [2, 5]


def test_xlsx_row_numbers_as_in_excel(tmp_path):
    write_xlsx(tmp_path / "项目.xlsx", {"项目": [[], ["项目表"], PROJ_HEAD, proj_row("P1", 1), [None],
                                                proj_row("P2", "x")]})
    with pytest.raises(InputError) as ei:
        read_export(tmp_path)
    (p,) = ei.value.problems
    assert (p.file, p.sheet, p.row, p.column, p.value) == ("项目.xlsx", "项目", 6, "年初预算数", "x")


def test_enum_synonyms_normalised(tmp_path):
    frames = small_frames()
    t = frames["targets"].copy()
    t["direction"] = [">=", "定性指标", "＞＝", "大于等于", "≥", "＝"]
    t["level1"] = ["产出", "效益指标", "满意度", "产出指标", "产出", "产出"]
    write_export(tmp_path, {"targets": t})
    df = read_export(tmp_path).tables["targets"]
    assert df["direction"].tolist() == ["≥", "定性", "≥", "≥", "≥", "="]
    assert df["level1"].tolist() == ["产出指标", "效益指标", "满意度指标", "产出指标", "产出指标", "产出指标"]


def test_indicator_values_numbers_canonical_text_kept(tmp_path):
    frames = small_frames()
    t = frames["targets"].copy()
    t["target_value"] = ["3.0", "有效改善", "90%", "２０", "1,000", "100"]
    write_export(tmp_path, {"targets": t})
    df = read_export(tmp_path).tables["targets"]
    assert df["target_value"].tolist() == ["3", "有效改善", "90", "20", "1000", "100"]


# --- totals --------------------------------------------------------------------------------------

def test_trailing_total_row_checked_and_dropped(tmp_path):
    write_csv(tmp_path / "项目.csv", [PROJ_HEAD + ["调整后预算数"],
                                    proj_row("P1", "1,000.10") + ["5"],
                                    proj_row("P2", "2000.20") + [""],
                                    ["合计", "", "", "", "", "", "3,000.30", "5"]])
    e = read_export(tmp_path)
    assert e.tables["projects"]["project_id"].tolist() == ["P1", "P2"]
    assert e.files_of("projects")[0].total_row == 4
    assert e.files_of("projects")[0].rows == 2


def test_total_row_label_in_later_column_and_in_wan_yuan(tmp_path):
    head = PROJ_HEAD[:-1] + ["年初预算数（万元）"]
    write_xlsx(tmp_path / "项目.xlsx", {"项目": [head, proj_row("P1", 1.5), proj_row("P2", 2.25),
                                                [None, None, None, "总  计", None, None, 3.75]]})
    df = read_export(tmp_path).tables["projects"]
    assert df["budget_amount"].tolist() == [Decimal("15000.00"), Decimal("22500.00")]


def test_total_row_mismatch_names_row_column_and_both_numbers(tmp_path):
    head = PROJ_HEAD[:-1] + ["年初预算数（万元）"]
    write_csv(tmp_path / "项目.csv", [head, proj_row("P1", "1.5"), proj_row("P2", "2.25"),
                                    ["合计", "", "", "", "", "", "4"]])
    with pytest.raises(InputError) as ei:
        read_export(tmp_path)
    (p,) = ei.value.problems
    assert (p.file, p.row, p.column) == ("项目.csv", 4, "年初预算数（万元）")
    assert "4 万元" in p.message and "3.75 万元" in p.message and "0.25 万元" in p.message


# --- encodings -----------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_detected(tmp_path, encoding):
    rows = [DEPT_HEAD, ["101", "区教体局", ""], ["201", "东风街道办事处", ""], ["301", "䶮字单位", ""]]
    if encoding == "gbk":
        rows = rows[:-1]  # 䶮 is outside GBK
    write_csv(tmp_path / "部门.csv", rows, encoding=encoding)
    e = read_export(tmp_path)
    df = e.tables["departments"]
    assert df["dept_name"].tolist()[:2] == ["区教体局", "东风街道办事处"]
    assert df.columns[0] == "dept_code"  # no BOM left in the first header
    assert e.files_of("departments")[0].encoding == ("utf-8" if encoding.startswith("utf") else "gb18030")


def test_gbk_csv_written_by_helper(tmp_path):
    write_export(tmp_path, xlsx=("projects",), gbk=("payments", "targets"))
    e = read_export(tmp_path)
    assert len(e.tables["payments"]) == 6
    assert "群众满意度" in e.tables["targets"]["indicator"].tolist()


def test_tab_separated_csv(tmp_path):
    (tmp_path / "部门.csv").write_text("部门编码\t部门名称\t上级部门编码\n101\t区教体局\t\n", encoding="utf-8")
    assert read_export(tmp_path).tables["departments"]["dept_name"].tolist() == ["区教体局"]


def test_excel_error_cells_are_problems(tmp_path):
    write_xlsx(tmp_path / "项目.xlsx", {"项目": [PROJ_HEAD, proj_row("P1", "#N/A"), proj_row("P2", "#DIV/0!"),
                                                proj_row("P3", 1)]})
    with pytest.raises(InputError) as ei:
        read_export(tmp_path)
    probs = ei.value.problems
    assert [(p.row, p.column, p.value) for p in probs] == [(2, "年初预算数", "#N/A"), (3, "年初预算数", "#DIV/0!")]
    assert all("Excel 错误值" in p.message for p in probs)


def test_multiline_quoted_csv_rows_numbered_as_in_editor(tmp_path):
    text = ("项目编码,年度,部门编码,项目名称,预算类型,资金来源,年初预算数\n"
            'P1,2023,101,"第一行\n第二行",一般公共预算,本级,1\n'
            "P2,2023,101,项目二,一般公共预算,本级,bad\n")
    (tmp_path / "项目.csv").write_text(text, encoding="utf-8")
    e = read_export(tmp_path, strict=False)
    assert e.tables["projects"]["_row"].tolist() == [2, 4]
    assert [(p.row, p.value) for p in e.problems] == [(4, "bad")]


def test_origin_columns_and_source_files(export_dir):
    e = read_export(export_dir)
    for name, df in e.tables.items():
        assert {"_file", "_sheet", "_row"} <= set(df.columns)
        assert (df["_row"] >= 2).all()
    proj = [f for f in e.files if f.table == "projects"]
    assert [(f.path, f.sheet, f.rows) for f in proj] == [("项目.xlsx", "项目", 6)]
    import hashlib
    assert proj[0].sha256 == hashlib.sha256((export_dir / "项目.xlsx").read_bytes()).hexdigest()


# --- properties ----------------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(cents=st.integers(min_value=0, max_value=10**15), unit=st.sampled_from(["元", "万元", "亿元"]),
       grouped=st.booleans(), fullwidth=st.booleans())
def test_money_text_roundtrips_exactly(cents, unit, grouped, fullwidth):
    factor = {"元": 1, "万元": 10_000, "亿元": 100_000_000}[unit]
    amount = Decimal(cents) / 100
    shown = amount / factor  # exact: at most 10 decimals
    text = f"{shown:,f}" if grouped else f"{shown:f}"
    if fullwidth:
        text = text.translate(str.maketrans("0123456789.,", "０１２３４５６７８９．，"))
    assert parse_money(text, unit) == amount


@settings(max_examples=200, deadline=None)
@given(day=st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2100, 12, 31)),
       style=st.sampled_from(["iso", "slash", "cn", "serial", "compact"]))
def test_date_text_roundtrips(day, style):
    text = {
        "iso": day.isoformat(),
        "slash": f"{day.year}/{day.month}/{day.day}",
        "cn": f"{day.year}年{day.month}月{day.day}日",
        "serial": str((day - dt.date(1899, 12, 30)).days),
        "compact": day.strftime("%Y%m%d"),
    }[style]
    assert parse_date(text) == day
