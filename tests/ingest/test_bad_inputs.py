"""The bad-input corpus (``tests/data/bad_inputs/``) through ``perflib ingest``: every case ends either
in exit 2 with a message naming file, row and column (and the database byte-for-byte unchanged), or in
a correct load whose values are checked here by hand. The table in ``tests/README.md`` states the
same outcomes; a test keeps the two in agreement.
"""
from __future__ import annotations

import datetime as dt
import filecmp
import io
import re
import shutil
import sys
import zipfile
from xml.etree import ElementTree
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from conftest import sha256_of, write_export
from perflib.cli import main
from perflib.ingest import ingest
from perflib.schema import TABLE_ORDER

HERE = Path(__file__).resolve().parents[1]
CORPUS = HERE / "data" / "bad_inputs"
README = HERE / "README.md"
D = Decimal


@dataclass(frozen=True)
class Refused:
    """A located problem the message must hold: file, sheet, row, column (None = not applicable)."""

    file: str
    row: int | None
    column: str | None
    part: str
    sheet: str | None = None

    def found_in(self, line: str) -> bool:
        return (f"文件 {self.file}，" in line or line.endswith(f"文件 {self.file}")
                or f"文件 {self.file}：" in line) \
            and (self.sheet is None or f"工作表 {self.sheet}" in line) \
            and (self.row is None or f"第 {self.row} 行" in line) \
            and (self.column is None or f"列「{self.column}」" in line) \
            and self.part in line


def R(file, row, column, part, sheet=None) -> Refused:
    return Refused(file, row, column, part, sheet)


# case → (the located problems the message must list, how many problems it lists in all)
REFUSED: dict[str, tuple[list[Refused], int]] = {
    "missing_column": ([R("项目.csv", 1, "年初预算数", "缺少必需的列「年初预算数」")], 1),
    "renamed_column": ([R("项目.csv", 1, "年初预算数", "文件中未识别的列：预算金额")], 1),
    "duplicated_column": ([R("支出明细.csv", 1, "支付金额", "列重复")], 1),
    "duplicated_column_other_unit": ([R("项目.xlsx", 1, "年初预算数（万元）", "列重复", "项目")], 1),
    "unknown_file_name": ([R("项目-副本.csv", None, None, "无法识别文件对应哪张表")], 1),
    "same_table_twice": ([R("项目.xlsx", r, "项目编码", f"与文件 项目.csv 第 {r} 行重复", "项目")
                          for r in range(2, 8)], 6),
    "only_notes_and_hidden_sheets": ([R("成本构成.xlsx", None, None, "工作簿中没有数据工作表")], 1),
    "money_in_words": ([R("项目.csv", 3, "年初预算数", "不是数值")], 1),
    "year_with_decimals": ([R("支出明细.csv", 4, "年度", "不是整数")], 1),
    # and the four rows that point at P001 2022 (its year is unreadable)
    "year_overflows_integer": ([R("项目.csv", 2, "年度", "取值过大，不是有效的整数"),
                                R("支出明细.csv", 2, "项目编码", "「P001」在 2022 年的「项目」表中不存在")], 5),
    "date_in_money_cell": ([R("项目.xlsx", 5, "年初预算数", "不是数值", "项目")], 1),
    "bool_not_yes_no": ([R("项目.csv", 6, "是否涉密", "不是 是/否")], 1),
    # the two rows that point at P003 (now unreadable) are named too
    "code_in_scientific_notation": ([R("项目.csv", 6, "项目编码", "科学计数法"),
                                     R("成本构成.csv", 4, "项目编码", "项目编码「P003」")], 3),
    "score_as_text": ([R("重点评价.csv", 2, "决策得分", "不是数值")], 1),
    "negative_amount": ([R("支出明细.csv", 4, "支付金额", "不能为负数")], 1),
    "absurd_amount": ([R("支出明细.csv", 6, "支付金额", "超过 1 万亿元")], 1),
    "amount_overflows_storage": ([R("项目.xlsx", 4, "年初预算数", "超过 1 万亿元", "项目")], 1),
    "amount_in_scientific_notation": ([R("支出明细.csv", 5, "支付金额", "科学计数法")], 1),
    "wan_yuan_suffix_in_cells": ([R("支出明细.csv", 6, "支付金额", "带单位「万元」，与本列的单位「元」不一致")], 1),
    "unit_column_mixed": ([R("支出明细.csv", 6, "单位", "「单位」为「万元」，与金额列的单位（元")], 1),
    "duplicate_key": ([R("项目.csv", 8, "项目编码", "与文件 项目.csv 第 4 行重复")], 1),
    "unknown_department": ([R("项目.csv", 3, "部门编码", "部门编码「109」在「部门」表中不存在")], 1),
    "payment_of_unknown_project": ([R("支出明细.csv", 6, "项目编码", "「P009」在 2023 年的「项目」表中不存在")], 1),
    "payment_before_its_year": ([R("支出明细.csv", 4, "支付日期", "不在所属年度 2023 年内")], 1),
    "payment_in_the_future": ([R("支出明细.csv", 7, "支付日期", "晚于今天"),
                               R("支出明细.csv", 7, "项目编码", "在 2099 年的「项目」表中不存在")], 2),
    "date_day_first": ([R("支出明细.csv", 5, "支付日期", "不是可识别的日期")], 1),
    "date_month_only": ([R("支出明细.csv", 5, "支付日期", "不是可识别的日期")], 1),
    "date_impossible": ([R("支出明细.csv", 4, "支付日期", "不是有效的日期")], 1),
    "utf8_with_a_gbk_row": ([R("项目.csv", 6, "项目名称", "编码混杂")], 1),
    "mojibake_gbk_read_as_latin1": ([R("项目.csv", 1, "ÏîÄ¿±àÂë", "表头是乱码，文件编码出错")], 1),
    "mojibake_utf8_read_as_gbk": ([R("项目.csv", 1, "椤圭洰缂栫爜", "表头是乱码，文件编码出错")], 1),
    "mojibake_replacement_chars": ([R("项目.csv", 1, None, "乱码字符「\ufffd」，文件编码出错")], 1),
    "empty_file": ([R("部门.csv", None, None, "文件是空的")], 1),
    "blank_lines_only": ([R("成本构成.csv", None, None, "文件是空的")], 1),
    "header_only": ([R("成本构成.csv", 1, None, "没有数据行")], 1),
    "csv_named_xlsx": ([R("项目.xlsx", None, None, "内容是纯文本")], 1),
    "password_protected_xlsx": ([R("项目.xlsx", None, None, "设置了打开密码")], 1),
    "corrupt_xlsx": ([R("项目.xlsx", None, None, "文件已损坏或不完整")], 1),
    "old_binary_xls": ([R("部门.xls", None, None, "旧版 Excel 97-2003")], 1),
    "total_row_mismatch": ([R("支出明细.csv", 8, "支付金额", "合计行与各行之和不一致")], 1),
    "subtotal_rows_in_the_middle": ([R("支出明细.csv", 4, "项目编码", "「小计」行在表格中间"),
                                     R("支出明细.csv", 9, "项目编码", "「小计」行在表格中间")], 2),
    "formulas_never_calculated": ([R("项目.xlsx", 4, "调整后预算数", "公式，但没有计算结果", "项目")], 1),
    "excel_error_values": ([R("项目.xlsx", 3, "年初预算数", "Excel 错误值 #N/A", "项目"),
                            R("项目.xlsx", 5, "调整后预算数", "Excel 错误值 #DIV/0!", "项目")], 2),
    "excel_error_in_csv": ([R("绩效目标.csv", 5, "三级指标", "Excel 错误值 #REF!")], 1),
    "unbalanced_quote": ([R("支出明细.csv", 4, None, "没有配对的引号")], 1),
}

PAY_DATES = [dt.date(2022, 3, 15), dt.date(2022, 12, 20), dt.date(2023, 2, 10), dt.date(2023, 5, 6),
             dt.date(2023, 6, 30), dt.date(2023, 7, 31)]
PAY_TOTAL = D("1700000.50")  # 300,000 + 650,000 + 200,000 + 400,000.50 + 120,000 + 30,000
BUDGETS = [("P001", 2022, D("1000000.00"), None), ("P001", 2023, D("1200000.00"), D("1300000.50")),
           ("P002", 2022, D("500000.00"), D("450000.00")), ("P002", 2023, D("800000.00"), None),
           ("P003", 2023, D("250000.25"), None), ("P004", 2023, D("90000.00"), None)]
Q_BUDGETS = "SELECT project_id, year, budget_amount, adjusted_amount FROM projects ORDER BY 1, 2"
Q_PAYMENTS = "SELECT count(*), sum(amount) FROM payments"
Q_DATES = "SELECT pay_date FROM payments ORDER BY 1"
Q_NAMES = "SELECT project_id, project_name FROM projects WHERE year = 2023 ORDER BY 1"
NAMES = [("P001", "运动场地建设资金"), ("P002", "人才工程项目"), ("P003", "校舍维修"), ("P004", "某专项保障经费")]

# case → hand-written checks: (SQL, expected rows); and the whole database must equal the one the
# plain small export gives
LOADS: dict[str, list[tuple[str, list]]] = {
    "english_headers": [(Q_BUDGETS, BUDGETS), (Q_NAMES, NAMES)],
    "title_rows_above_header": [(Q_BUDGETS, BUDGETS)],  # 万元 from the 单位：万元 line, back in 元
    "merged_group_header_row": [(Q_BUDGETS, BUDGETS), (Q_NAMES, NAMES)],
    "two_row_header": [("SELECT score_decision, score_process, score_output, score_effect, next_request, "
                        "next_approved, findings FROM key_evaluations",
                        [(18.0, 17.0, 26.0, 25.0, D("1500000.00"), D("1200000.00"), "绩效目标不够细化")])],
    "two_row_header_with_unit": [(Q_BUDGETS, BUDGETS)],
    "repeated_header_rows": [(Q_PAYMENTS, [(6, PAY_TOTAL)]), (Q_DATES, [(d,) for d in PAY_DATES])],
    "notes_sheet_in_workbook": [(Q_BUDGETS, BUDGETS)],
    "hidden_helper_sheet": [(Q_BUDGETS, BUDGETS)],
    "hidden_table_sheet": [(Q_PAYMENTS, [(6, PAY_TOTAL)]),
                           ("SELECT sheet, row_count FROM loads WHERE file = '导出数据.xlsx' ORDER BY 1",
                            [("支出明细", 6), ("项目", 6)])],
    "yuan_suffix_in_cells": [(Q_PAYMENTS, [(6, PAY_TOTAL)]),
                             ("SELECT amount FROM payments WHERE project_id = 'P002'", [(D("120000.00"),)])],
    "unit_column_consistent": [(Q_PAYMENTS, [(6, PAY_TOTAL)])],
    "dates_in_six_formats": [(Q_DATES, [(d,) for d in PAY_DATES])],
    "gbk_csv": [(Q_NAMES, NAMES)],
    "utf8_bom_csv": [(Q_NAMES, NAMES), (Q_BUDGETS, BUDGETS)],
    "utf16_tab_text": [(Q_NAMES, NAMES), (Q_BUDGETS, BUDGETS)],
    "html_table_as_xlsx": [(Q_NAMES, NAMES), (Q_BUDGETS, BUDGETS),
                           ("SELECT count(*) FROM projects WHERE project_type IS NULL", [(3,)])],
    "html_table_as_xls": [(Q_PAYMENTS, [(6, PAY_TOTAL)]), (Q_DATES, [(d,) for d in PAY_DATES])],
    "total_row_matches": [(Q_PAYMENTS, [(6, PAY_TOTAL)])],
    "total_row_in_wan_yuan_xlsx": [(Q_BUDGETS, BUDGETS)],
    "formulas_with_values": [(Q_BUDGETS, BUDGETS)],
    "semicolon_separated": [(Q_PAYMENTS, [(6, PAY_TOTAL)])],
    "fullwidth_and_grouped_numbers": [
        ("SELECT amount FROM payments ORDER BY pay_date LIMIT 3",
         [(D("300000.00"),), (D("650000.00"),), (D("200000.00"),)]),
        (Q_PAYMENTS, [(6, PAY_TOTAL)])],
}

# Findings: (kind, file, sheet, row, column header) as stored in table ``findings``, worked out by
# hand from the generator. The tidy small export has three of its own (BASE); a finding case loads
# with BASE (its files renamed where the case rewrote them) plus its own.
F = tuple
BASE = {F(("target_weight_missing", "绩效目标.csv", None, 7, "分值")),
        F(("satisfaction_missing", "绩效自评.csv", None, 3, "满意度")),
        F(("quality_score_missing", "产出数量.csv", None, 3, "质量得分"))}
TARGETS_XLSX = ("绩效目标.xlsx", "绩效目标")
FOUND: dict[str, set] = {
    "qualitative_target_blank": BASE | {("qualitative_target_missing", "绩效目标.csv", None, 3, "指标值")},
    "qualitative_target_blank_xlsx_titled": (BASE - {("target_weight_missing", "绩效目标.csv", None, 7, "分值")}) | {
        ("target_weight_missing", *TARGETS_XLSX, 8, "分值"),
        ("qualitative_target_missing", *TARGETS_XLSX, 4, "指标值")},
    "target_without_unit": BASE | {("target_unit_missing", "绩效目标.csv", None, 2, "计量单位")},
    "target_without_weight": BASE | {("target_weight_missing", "绩效目标.csv", None, 5, "分值")},
    "target_without_level2": BASE | {("target_level2_missing", "绩效目标.csv", None, 4, "二级指标")},
    "monitoring_without_actual": BASE | {("monitoring_actual_missing", "绩效监控.csv", None, 3, "执行值")},
    "deviation_reason_blank": BASE | {("deviation_reason_missing", "绩效监控.csv", None, 4, "偏差原因")},
    "monitoring_without_reason_column": BASE | {("optional_column_missing", "绩效监控.csv", None, 1, "偏差原因")},
    "self_eval_without_satisfaction": BASE | {("satisfaction_missing", "绩效自评.csv", None, 2, "满意度")},
    "self_eval_indicator_without_value": BASE | {("selfeval_actual_missing", "自评指标.csv", None, 3, "实际完成值")},
    "key_evaluation_without_findings": BASE | {("key_findings_missing", "重点评价.csv", None, 2, "主要问题")},
    "key_evaluation_without_domain": BASE | {("key_domain_missing", "重点评价.csv", None, 2, "评价领域")},
    "key_score_above_maximum": BASE | {("key_score_above_maximum", "重点评价.csv", None, 2, "决策得分")},
    "output_without_quality_score_xlsx": (BASE - {("quality_score_missing", "产出数量.csv", None, 3, "质量得分")}) | {
        ("quality_score_missing", "产出数量.xlsx", "产出数量", 2, "质量得分"),
        ("quality_score_missing", "产出数量.xlsx", "产出数量", 3, "质量得分")},
    "department_without_sector": BASE | {("sector_missing", "部门.csv", None, 4, "行业领域")},
    "departments_without_sector_column": BASE,  # 行业领域 is read by no analysis: no finding
    "projects_without_adjusted_column": BASE | {("optional_column_missing", "项目.csv", None, 1, "调整后预算数")},
    "many_gaps_at_once": BASE | {("qualitative_target_missing", "绩效目标.csv", None, 3, "指标值"),
                                 ("target_unit_missing", "绩效目标.csv", None, 4, "计量单位"),
                                 ("monitoring_actual_missing", "绩效监控.csv", None, 2, "执行值"),
                                 ("selfeval_actual_missing", "自评指标.csv", None, 2, "实际完成值")},
}
Q_FOUND = "SELECT kind, file, sheet, row_number, column_header FROM findings"

CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def shared_db(tmp_path_factory) -> Path:
    """The small export loaded once; every refused case must leave it byte-for-byte as it is."""
    root = tmp_path_factory.mktemp("bad_inputs")
    db = root / "db" / "perf.duckdb"
    ingest(write_export(root / "base"), db)
    return db


def rows_of(db: Path) -> dict[str, list]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLE_ORDER}
    finally:
        con.close()


def test_corpus_has_forty_cases_each_with_a_stated_outcome():
    assert len(CASES) >= 40
    assert set(REFUSED).isdisjoint(LOADS) and set(FOUND).isdisjoint([*REFUSED, *LOADS])
    assert sorted([*REFUSED, *LOADS, *FOUND]) == CASES
    assert len(FOUND) >= 15
    for case in CASES:  # each is a whole export folder (the small export's eleven tables)
        assert len(list((CORPUS / case).iterdir())) >= 10, case


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_with_located_message_and_database_unchanged(case, shared_db, capsys):
    expected, count = REFUSED[case]
    before = sha256_of(shared_db)
    listing = sorted(p.name for p in shared_db.parent.iterdir())

    assert main(["ingest", str(CORPUS / case), "--db", str(shared_db)]) == 2

    err = capsys.readouterr().err
    head, *lines = err.splitlines()
    assert f"导入数据有 {count} 处问题，未写入数据库（原数据库保持不变）" in head, err
    problems = [ln for ln in lines if re.match(r"\s+\d+\. 文件 ", ln)]
    assert len(problems) == count, err
    for want in expected:
        assert any(want.found_in(ln) for ln in problems), (want, err)
    assert "Traceback" not in err
    assert sha256_of(shared_db) == before
    assert sorted(p.name for p in shared_db.parent.iterdir()) == listing  # no stray temp file


@pytest.fixture(scope="module")
def base_rows(tmp_path_factory) -> dict[str, list]:
    root = tmp_path_factory.mktemp("base_rows")
    db = root / "perf.duckdb"
    ingest(write_export(root / "export"), db)
    return rows_of(db)


@pytest.mark.parametrize("case", sorted(LOADS))
def test_odd_but_legitimate_input_loads_correctly(case, tmp_path, base_rows, capsys):
    db = tmp_path / "perf.duckdb"
    assert main(["ingest", str(CORPUS / case), "--db", str(db)]) == 0, capsys.readouterr().err
    con = duckdb.connect(str(db), read_only=True)
    try:
        for sql, want in LOADS[case]:
            assert con.execute(sql).fetchall() == want, sql
        loaded = {r[0] for r in con.execute("SELECT DISTINCT file FROM loads").fetchall()}
    finally:
        con.close()
    assert loaded == {p.name for p in (CORPUS / case).iterdir()}  # every file of the folder was read
    assert rows_of(db) == base_rows  # the same database as the tidy export gives


def stored_findings(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(Q_FOUND).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("case", sorted(FOUND))
def test_gap_loads_with_the_finding_stored_where_it_is(case, tmp_path, capsys):
    db = tmp_path / "perf.duckdb"
    assert main(["ingest", str(CORPUS / case), "--db", str(db)]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    found = stored_findings(db)
    assert len(found) == len(set(found))  # one finding per gap
    assert set(found) == FOUND[case]
    assert f"数据质量提示 {len(found)} 处" in out


def test_the_stored_finding_names_its_record(tmp_path):
    db = tmp_path / "perf.duckdb"
    ingest(CORPUS / "qualitative_target_blank", db)
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT kind, table_name, year, record_key, dept_code, project_id, value, message, "
                           "load_id FROM findings ORDER BY file, row_number").fetchall()
    finally:
        con.close()
    assert ("qualitative_target_missing", "targets", 2023, "2023|101|P001|群众健身条件改善", "101", "P001",
            None, "定性指标未填指标值", 1) in rows
    # the department-level target: no project, an empty part in the key
    assert ("target_weight_missing", "targets", 2023, "2023|101||学校覆盖率", "101", None, None,
            "指标未填分值", 1) in rows
    # self-evaluations have no department column: the report joins projects
    assert ("satisfaction_missing", "self_evaluations", 2022, "P002|2022", None, "P002", None,
            "自评未填满意度", 1) in rows


def test_key_score_finding_keeps_the_score(tmp_path):
    db = tmp_path / "perf.duckdb"
    ingest(CORPUS / "key_score_above_maximum", db)
    con = duckdb.connect(str(db), read_only=True)
    try:
        got = con.execute("SELECT value, message, record_key FROM findings WHERE kind = 'key_score_above_maximum'"
                          ).fetchall()
        score = con.execute("SELECT score_decision FROM key_evaluations").fetchall()
    finally:
        con.close()
    assert got == [("25", "重点评价得分超过该维度满分（满分 20 分，按满分计）", "P001|2023")]
    assert score == [(25.0,)]  # stored as written


def test_readme_table_states_every_case_and_its_outcome():
    text = README.read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        m = re.match(r"^\|\s*`([a-z0-9_]+)`\s*\|(.*)\|\s*$", line)
        if m and m.group(1) in CASES:
            rows[m.group(1)] = m.group(2)
    assert sorted(rows) == CASES
    assert f"Totals: {len(CASES)} cases — {len(REFUSED)} refused" in text
    assert f"{len(LOADS)} loaded correctly" in text
    assert f"{len(FOUND)} loaded with findings" in text
    for case, cells in rows.items():
        outcome = cells.split("|")[-1]
        if case in REFUSED:
            assert "exit 2" in outcome, case
            want = REFUSED[case][0][0]  # the table names the same file, row and column
            assert want.file in cells, case
            assert want.row is None or re.search(rf"rows? {want.row}\b", cells), case
            assert want.column is None or want.column in cells, case
        else:
            assert "loads" in outcome, case


def _same_workbook(a: Path, b: Path) -> bool:
    try:
        za, zb = zipfile.ZipFile(io.BytesIO(a.read_bytes())), zipfile.ZipFile(io.BytesIO(b.read_bytes()))
    except zipfile.BadZipFile:
        return a.read_bytes() == b.read_bytes()
    with za, zb:
        return za.namelist() == zb.namelist() and all(_same_part(za.read(n), zb.read(n)) for n in za.namelist())


def _same_part(a: bytes, b: bytes) -> bool:
    """Two parts of a workbook hold the same: equal bytes, or equal XML trees (tags with their
    namespaces, attributes, text): openpyxl serialises the same tree differently with and without
    lxml installed (``<a/>`` or ``<a />``, entities, where a namespace is declared)."""
    if a == b:
        return True
    try:
        ta, tb = ElementTree.fromstring(a), ElementTree.fromstring(b)
    except ElementTree.ParseError:
        return False
    return _same_tree(ta, tb)


def _same_tree(a, b) -> bool:
    return (a.tag == b.tag and a.attrib == b.attrib and (a.text or "").strip() == (b.text or "").strip()
            and len(a) == len(b) and all(_same_tree(x, y) for x, y in zip(a, b)))


def test_generator_recreates_the_committed_corpus(tmp_path):
    """``tests/data/make_bad_inputs.py`` is deterministic and the committed files are its output."""
    sys.path.insert(0, str(HERE / "data"))
    try:
        import make_bad_inputs
    finally:
        sys.path.remove(str(HERE / "data"))
    made = make_bad_inputs.build(root=tmp_path)
    assert sorted(p.name for p in made) == CASES
    for folder in made:
        committed = CORPUS / folder.name
        names = sorted(p.name for p in folder.iterdir())
        assert names == sorted(p.name for p in committed.iterdir()), folder.name
        for name in names:
            mine, theirs = folder / name, committed / name
            if name.endswith(".xlsx") and not name.startswith("~"):
                assert _same_workbook(mine, theirs), f"{folder.name}/{name}"
            else:
                assert filecmp.cmp(mine, theirs, shallow=False), f"{folder.name}/{name}"
    shutil.rmtree(tmp_path, ignore_errors=True)
