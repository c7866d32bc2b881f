"""Validation: bad inputs give located Chinese messages, exit code 2, and leave the database as it was."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import sha256_of, small_frames, write_export, write_table
from perflib.cli import main
from perflib.exceptions import InputError
from perflib.ingest import ingest
from perflib.ingest.folder import read_export
from perflib.ingest.checks import MAX_LISTED, ValidationFailed, validate


def setcell(df: pd.DataFrame, i: int, col: str, value) -> None:
    df[col] = df[col].astype(object)
    df.loc[i, col] = value


# Each case mutates the small export (frames dict, folder) and names the located problem it must
# produce: (file, row or None, column header or None, a part of the message).
def _missing_column(f, d):
    f["projects"] = f["projects"].drop(columns=["budget_amount"])


def _duplicate_column(f, d):
    p = f.pop("projects")
    p["dup"] = p["budget_amount"]
    write_table(d / "项目.xlsx", "projects", p, headers={"dup": "年初预算数（万元）"})


def _unknown_unit(f, d):
    p = f.pop("projects")
    write_table(d / "项目.xlsx", "projects", p, headers={"budget_amount": "年初预算数（千元）"})


def _total_mismatch(f, d):
    pay = f.pop("payments")
    write_table(d / "支出明细.csv", "payments", pay, extra_rows=[["合计", "", "", "1700000.00"]])


def _unknown_file(f, d):
    (d / "杂项.csv").write_text("a,b\n1,2\n", encoding="utf-8")


def _dup_key(f, d):
    p = f["projects"]
    f["projects"] = pd.concat([p, p.iloc[[0]]], ignore_index=True)


def _empty_file(f, d):
    f.pop("departments")
    (d / "部门.csv").write_bytes(b"")


def _header_only(f, d):
    f["costs"] = f["costs"].iloc[0:0]


CASES = {
    "missing required column": (_missing_column, ("项目.xlsx", 1, "年初预算数", "缺少必需的列")),
    "duplicated column": (_duplicate_column, ("项目.xlsx", 1, "年初预算数（万元）", "列重复")),
    "unknown money unit": (_unknown_unit, ("项目.xlsx", 1, "年初预算数（千元）", "无法识别的金额单位「千元」")),
    "money not a number": (lambda f, d: setcell(f["projects"], 1, "budget_amount", "一百万"),
                           ("项目.xlsx", 3, "年初预算数", "不是数值")),
    "negative money": (lambda f, d: setcell(f["payments"], 0, "amount", "-5"),
                       ("支出明细.csv", 2, "支付金额", "不能为负数")),
    "impossible date": (lambda f, d: setcell(f["payments"], 2, "pay_date", "2023-02-30"),
                        ("支出明细.csv", 4, "支付日期", "不是有效的日期")),
    "payment outside its year": (lambda f, d: setcell(f["payments"], 1, "pay_date", dt.date(2023, 1, 5)),
                                 ("支出明细.csv", 3, "支付日期", "不在所属年度 2022 年内")),
    "value not allowed": (lambda f, d: setcell(f["projects"], 0, "budget_kind", "一般预算"),
                          ("项目.xlsx", 2, "预算类型", "不是允许的取值")),
    "duplicate key": (_dup_key, ("项目.xlsx", 8, "项目编码", "与文件 项目.xlsx 工作表 项目 第 2 行重复")),
    "payment of unknown project": (lambda f, d: setcell(f["payments"], 4, "project_id", "P999"),
                                   ("支出明细.csv", 6, "项目编码", "项目编码「P999」在 2023 年的「项目」表中不存在")),
    "project of unknown department": (lambda f, d: setcell(f["projects"], 1, "dept_code", "999"),
                                      ("项目.xlsx", 3, "部门编码", "部门编码「999」在「部门」表中不存在")),
    "unknown parent department": (lambda f, d: setcell(f["departments"], 1, "parent_code", "998"),
                                  ("部门.csv", 3, "上级部门编码", "部门编码「998」在「部门」表中不存在")),
    "required cell empty": (lambda f, d: setcell(f["projects"], 2, "project_name", None),
                            ("项目.xlsx", 4, "项目名称", "必填项为空")),
    "bad yes/no": (lambda f, d: setcell(f["projects"], 0, "is_classified", "也许"),
                   ("项目.xlsx", 2, "是否涉密", "不是 是/否")),
    "excel error cell": (lambda f, d: setcell(f["projects"], 0, "budget_amount", "#N/A"),
                         ("项目.xlsx", 2, "年初预算数", "Excel 错误值 #N/A")),
    "total row mismatch": (_total_mismatch, ("支出明细.csv", 8, "支付金额", "合计行与各行之和不一致")),
    "unknown file": (_unknown_file, ("杂项.csv", None, None, "无法识别文件对应哪张表")),
    "month out of range": (lambda f, d: setcell(f["monitoring"], 0, "as_of_month", 13),
                           ("绩效监控.csv", 2, "监控月份", "超过允许的最大值 12")),
    "text target for ≥": (lambda f, d: setcell(f["targets"], 0, "target_value", "三个"),
                          ("绩效目标.csv", 2, "指标值", "定量指标，指标值应为数值")),
    "street fiscal of a non-street": (lambda f, d: setcell(f["street_fiscal"], 0, "dept_code", "101"),
                                      ("街道财政.csv", 2, "街道编码", "「区教体局」不是街道")),
    "year not a number": (lambda f, d: setcell(f["street_fiscal"], 1, "year", "二〇二三"),
                          ("街道财政.csv", 3, "年度", "不是数值")),
    "score above 100": (lambda f, d: setcell(f["self_evaluations"], 0, "reported_score", 105),
                        ("绩效自评.csv", 2, "自评得分", "超过允许的最大值 100")),
    "empty file": (_empty_file, ("部门.csv", None, None, "文件是空的")),
    "header only": (_header_only, ("成本构成.csv", 1, None, "没有数据行")),
    "year-less payment date": (lambda f, d: setcell(f["payments"], 3, "pay_date", None),
                               ("支出明细.csv", 5, "支付日期", "必填项为空")),
}


@pytest.fixture
def base_db(tmp_path) -> Path:
    db = tmp_path / "db" / "perf.duckdb"
    ingest(write_export(tmp_path / "base"), db)
    return db


@pytest.fixture(scope="module")
def shared_db(tmp_path_factory) -> Path:
    """One database for all the refused loads below (each checks it stays byte-for-byte the same)."""
    root = tmp_path_factory.mktemp("shared")
    db = root / "db" / "perf.duckdb"
    ingest(write_export(root / "base"), db)
    return db


def located(problem_line: str, file, row, column, part) -> bool:
    return (f"文件 {file}" in problem_line and (row is None or f"第 {row} 行" in problem_line)
            and (column is None or f"列「{column}」" in problem_line) and part in problem_line)


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exit_2_located_message_db_unchanged(case, tmp_path, shared_db, capsys):
    base_db = shared_db
    mutate, (file, row, column, part) = CASES[case]
    frames = small_frames()
    folder = tmp_path / "bad"
    folder.mkdir()
    mutate(frames, folder)
    write_export(folder, frames, xlsx=("projects",))
    before = sha256_of(base_db)
    listing = sorted(p.name for p in base_db.parent.iterdir())

    assert main(["ingest", str(folder), "--db", str(base_db)]) == 2

    err = capsys.readouterr().err
    assert "未写入数据库" in err
    lines = err.splitlines()
    assert any(located(ln, file, row, column, part) for ln in lines), err
    assert sha256_of(base_db) == before
    assert sorted(p.name for p in base_db.parent.iterdir()) == listing  # no stray temp file


def test_at_least_fifteen_distinct_bad_inputs():
    assert len(CASES) >= 15
    assert len({c[1][3] for c in CASES.values()}) >= 15


def test_problem_carries_value_and_expected(tmp_path):
    frames = small_frames()
    setcell(frames["payments"], 0, "amount", "-5")
    write_export(tmp_path, frames)
    problems = validate(read_export(tmp_path, strict=False))
    (p,) = problems
    assert (p.file, p.sheet, p.row, p.column) == ("支出明细.csv", None, 2, "支付金额")
    assert p.value == "-5.00"
    assert "不小于 0" in p.expected and "金额" in p.expected
    assert str(p).startswith("文件 支出明细.csv，第 2 行，列「支付金额」：不能为负数")


def test_every_problem_reported_at_once(tmp_path):
    frames = small_frames()
    setcell(frames["payments"], 0, "amount", "abc")                  # reading problem
    setcell(frames["projects"], 0, "fund_source", "省级")              # allowed values
    setcell(frames["monitoring"], 2, "likelihood", "不好说")            # allowed values, other file
    setcell(frames["costs"], 1, "project_id", "P404")                 # reference
    frames["departments"] = pd.concat([frames["departments"], frames["departments"].iloc[[4]]],
                                      ignore_index=True)             # duplicate key
    write_export(tmp_path, frames, xlsx=("projects",))
    problems = validate(read_export(tmp_path, strict=False))
    got = sorted((p.file, p.row, p.column) for p in problems)
    assert got == sorted([("支出明细.csv", 2, "支付金额"), ("项目.xlsx", 2, "资金来源"),
                          ("绩效监控.csv", 4, "完成可能性"), ("成本构成.csv", 3, "项目编码"),
                          ("部门.csv", 7, "部门编码")])


def test_validate_does_not_raise_and_empty_for_valid(export_dir):
    assert validate(read_export(export_dir)) == []


def test_header_written_in_file_is_named(tmp_path):
    """The column is named as the file writes it (English header, unit suffix)."""
    frames = small_frames()
    p = frames.pop("projects")
    setcell(p, 0, "budget_amount", Decimal("-1"))
    write_table(tmp_path / "projects.csv", "projects", p, headers={"budget_amount": "budget_amount",
                                                                  "adjusted_amount": "调整后预算数(万元)"})
    write_export(tmp_path, frames)
    problems = validate(read_export(tmp_path, strict=False))
    assert [(p.file, p.row, p.column) for p in problems] == [("projects.csv", 2, "budget_amount")]


def test_problem_list_is_capped_but_counts_all(tmp_path):
    frames = small_frames()
    n = MAX_LISTED + 50
    frames["payments"] = pd.DataFrame({"project_id": ["P001"] * n, "year": [2023] * n,
                                       "pay_date": ["2022-01-01"] * n, "amount": ["1"] * n})
    write_export(tmp_path, frames)
    problems = validate(read_export(tmp_path, strict=False))
    assert len(problems) == n
    message = str(ValidationFailed(problems))
    assert f"导入数据有 {n} 处问题" in message
    assert f"{MAX_LISTED}. 文件" in message and f"{MAX_LISTED + 1}. 文件" not in message
    assert "另有 50 处问题未列出" in message
    assert isinstance(ValidationFailed(problems), InputError)


def test_department_level_targets_skip_project_reference(tmp_path):
    frames = small_frames()
    t = frames["targets"]
    assert t["project_id"].isna().sum() == 1  # the department-level target
    write_export(tmp_path, frames)
    assert validate(read_export(tmp_path)) == []


def test_payments_only_load_checked_against_database(tmp_path, base_db, capsys):
    """A payments-only folder may refer to projects already in the database, not to others."""
    ok = tmp_path / "ok"
    frames = small_frames()
    write_export(ok, {"payments": frames["payments"].iloc[2:5]})
    assert main(["ingest", str(ok), "--db", str(base_db)]) == 0

    bad = tmp_path / "bad2"
    pay = frames["payments"].iloc[2:5].reset_index(drop=True)
    setcell(pay, 2, "project_id", "P005")
    write_export(bad, {"payments": pay})
    before = sha256_of(base_db)
    assert main(["ingest", str(bad), "--db", str(base_db)]) == 2
    err = capsys.readouterr().err
    assert "文件 支出明细.csv，第 4 行，列「项目编码」：项目编码「P005」在 2023 年的「项目」表中不存在" in err
    assert sha256_of(base_db) == before


def test_load_that_orphans_database_rows_is_refused(tmp_path, base_db, capsys):
    """Re-exporting 2023 projects without P002 would leave 2023 payments of P002 dangling."""
    frames = small_frames()
    p = frames["projects"]
    p2023 = p[(p["year"] == 2023) & (p["project_id"] != "P002")]
    folder = write_export(tmp_path / "p", {"projects": p2023})
    before = sha256_of(base_db)
    assert main(["ingest", str(folder), "--db", str(base_db)]) == 2
    err = capsys.readouterr().err
    assert "数据库中已有的「支出明细」数据引用了项目编码「P002」、年度「2023」" in err
    assert "数据库中已有的「绩效监控」数据引用了项目编码「P002」" in err
    assert sha256_of(base_db) == before


def test_missing_folder_exit_2(tmp_path, capsys):
    assert main(["ingest", str(tmp_path / "nope"), "--db", str(tmp_path / "x.duckdb")]) == 2
    assert "找不到导出数据文件夹" in capsys.readouterr().err
    assert not (tmp_path / "x.duckdb").exists()


PAYMENTS_BASE = small_frames()["payments"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad=st.sets(st.integers(min_value=0, max_value=len(PAYMENTS_BASE) - 1), min_size=1),
       kind=st.sampled_from(["negative", "wrong_year", "not_a_number"]))
def test_exactly_the_corrupted_rows_are_reported(tmp_path_factory, bad, kind):
    """Whatever rows are corrupted, validation names exactly those rows (Excel row = index + 2)."""
    folder = tmp_path_factory.mktemp("prop")
    frames = small_frames()
    pay = frames["payments"]
    for i in bad:
        if kind == "negative":
            setcell(pay, i, "amount", "-1")
        elif kind == "wrong_year":
            setcell(pay, i, "pay_date", dt.date(2030, 1, 1))
        else:
            setcell(pay, i, "amount", "十元")
    write_export(folder, frames)
    problems = validate(read_export(folder, strict=False))
    column = "支付日期" if kind == "wrong_year" else "支付金额"
    assert sorted((p.file, p.row, p.column) for p in problems) == \
        sorted(("支出明细.csv", i + 2, column) for i in bad)


def test_reference_lookup_equals_a_merge_whatever_the_integer_dtype():
    """``_missing`` (a Python set of key strings) finds exactly the rows an independent left merge
    leaves unmatched: rows with an empty key part skipped, Int64 years from a file equal to INTEGER
    years from the database, the key given back with the row's own values."""
    from perflib.ingest.checks import _missing

    rng = np.random.default_rng(7)
    n = 300
    rows = pd.DataFrame({
        "project_id": pd.array([None if v == 0 else f"P{v:03d}" for v in rng.integers(0, 40, n)],
                               dtype="string[pyarrow]"),
        "year": pd.array([None if v == 0 else 2020 + int(v) for v in rng.integers(0, 5, n)], dtype="Int64"),
    })
    target = pd.DataFrame({"project_id": [f"P{v:03d}" for v in range(1, 40, 2)] * 2,
                           "year": np.array([2021] * 20 + [2023] * 20, dtype="int32")})
    known = {(p, str(y)) for p, y in zip(target["project_id"], target["year"].tolist())}

    got = _missing(rows, ("project_id", "year"), known)

    merged = rows.astype(object).merge(target.astype(object).assign(hit=True), how="left",
                                       on=["project_id", "year"])
    want = [i for i in range(n) if rows.iloc[i].notna().all() and merged["hit"].isna().iloc[i]]
    assert [i for i, _ in got] == want and 0 < len(want) < n
    assert all(key == (rows["project_id"].iloc[i], rows["year"].iloc[i]) for i, key in got)
    assert _missing(rows.iloc[0:0], ("project_id", "year"), known) == []
