"""The DuckDB bulk reader (``perflib.ingest.bulk``) gives what the Python reader gives: the same database
contents and the same problems, word for word, in the same order, on the same inputs. Each test
reads the same folder both ways (the bulk path forced for every CSV file) and compares; the SQL fast
paths are checked property-wise against the Python converters.
"""
from __future__ import annotations

import csv
import io
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perflib.ingest import bulk
from perflib.demo import write_demo
from perflib.exceptions import InputError
from perflib.ingest.bulk import BulkReader
from perflib.ingest.bulk.scan import LineStats
from perflib.ingest.bulk.sql import typed_sql
from perflib.ingest.cells import convert_cell, converter, is_empty
from perflib.ingest.folder import read_export
from perflib.ingest.load import _to_arrow, ingest
from perflib.ingest.reader import PythonReader
from perflib.schema import TABLE_ORDER, TABLES, Column
from perflib.ingest.checks import MAX_LISTED, validate

HERE = Path(__file__).resolve().parents[1]
CORPUS = HERE / "data" / "bad_inputs"
NEVER = 1 << 62


def readers(min_bytes: int) -> list:
    """The ingest's readers, the bulk reader taking CSV files of at least ``min_bytes``."""
    return [BulkReader(min_bytes=min_bytes), PythonReader()]


# --- helpers ----------------------------------------------------------------------------------
def read_both(folder: Path, monkeypatch) -> tuple[tuple, tuple]:
    """(problems, tables) read by the Python path and by the bulk path (every CSV through DuckDB),
    tables as sorted frames with the store's types."""
    py = read_export(folder, strict=False, readers=readers(NEVER))
    py_problems = validate(py)
    bk = read_export(folder, strict=False, readers=readers(0))
    con = duckdb.connect()
    if bk.staged is not None:
        bk.staged.load(con)
    bk_problems = validate(bk)
    out = []
    for export, problems in ((py, py_problems), (bk, bk_problems)):
        tables = {}
        if not problems:
            for name in export.tables:
                cols = [c.name for c in TABLES[name].columns]
                if export.staged is not None:
                    df = con.sql(f"SELECT {', '.join(cols)} FROM {export.staged.stage(name)}").to_arrow_table()
                else:
                    df = _to_arrow(TABLES[name], export.tables[name])
                tables[name] = _sorted_frame(pa.table(df).to_pandas(), cols)
        out.append((list(problems), getattr(problems, "total", len(problems)), tables))
    con.close()
    return out[0], out[1]


def _sorted_frame(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    df = df[cols].astype(object).where(df[cols].notna(), None)
    key = pd.DataFrame({c: [repr(v) for v in df[c].tolist()] for c in cols})
    order = key.sort_values(cols, kind="stable").index
    return df.loc[order].reset_index(drop=True)


def assert_same(py, bk):
    assert [str(p) for p in bk[0]] == [str(p) for p in py[0]]
    assert bk[0] == py[0] and bk[1] == py[1]
    assert bk[2].keys() == py[2].keys()
    for name in py[2]:
        pd.testing.assert_frame_equal(bk[2][name], py[2][name], check_dtype=False, obj=name)


def db_contents(db: Path) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(db), read_only=True)
    out = {}
    for name in TABLE_ORDER:
        cols = [c.name for c in TABLES[name].columns]
        types = con.execute("SELECT column_name, data_type FROM information_schema.columns "
                            "WHERE table_name = ? ORDER BY ordinal_position", [name]).fetchall()
        assert [t[0] for t in types] == cols
        out[name] = (types, _sorted_frame(con.sql(f"SELECT * FROM {name}").to_arrow_table().to_pandas(), cols))
    out["loads"] = con.execute("SELECT load_id, file, sheet, table_name, sha256, row_count FROM loads "
                               "ORDER BY ALL").fetchall()
    con.close()
    return out


def ingest_both(src: Path, tmp_path: Path, monkeypatch) -> tuple:
    """Full ``ingest`` both ways: ("ok", contents) or ("err", problems, message)."""
    out = []
    for mode, threshold in (("py", NEVER), ("bulk", 0)):
        db = tmp_path / f"{mode}.duckdb"
        try:
            ingest(src, db, readers=readers(threshold))
            out.append(("ok", db_contents(db)))
        except InputError as exc:
            out.append(("err", exc.problems, str(exc)))
    return tuple(out)


def assert_same_ingest(py, bk):
    assert bk[0] == py[0]
    if py[0] == "err":
        assert [str(p) for p in bk[1]] == [str(p) for p in py[1]]
        assert bk[2] == py[2]
        return
    for name in py[1]:
        if name == "loads":
            assert bk[1][name] == py[1][name]
            continue
        assert bk[1][name][0] == py[1][name][0], name
        pd.testing.assert_frame_equal(bk[1][name][1], py[1][name][1], check_dtype=False, obj=name)


# --- the bad-input corpus and the demo ---------------------------------------------------------
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and any(
    f.suffix.lower() == ".csv" for f in p.iterdir()))


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_corpus_case_same_both_ways(case, monkeypatch):
    """Every case of the bad-input corpus with a CSV file: the same problems (or the same rows)."""
    py, bk = read_both(CORPUS / case, monkeypatch)
    assert_same(py, bk)


def test_district_demo_same_database(demo_db, tmp_path, monkeypatch):
    """The district demo export (GBK targets, BOM, 合计 row, 万元 column, xlsx parts of the same table)
    ingested with every CSV read by DuckDB gives the database the Python reader gave."""
    db = tmp_path / "bulk.duckdb"
    bulk.TIMINGS.clear()
    ingest(demo_db.parent / "export", db, readers=readers(0))
    settled = {what for phase, what, *_ in bulk.TIMINGS if phase == "settle"}
    assert settled == {p.name for p in (demo_db.parent / "export").glob("*.csv")}   # none declined
    a, b = db_contents(demo_db), db_contents(db)
    for name in TABLE_ORDER:
        assert b[name][0] == a[name][0], name
        pd.testing.assert_frame_equal(b[name][1], a[name][1], check_dtype=False, obj=name)
    assert b["loads"] == a["loads"]


class _Queries:
    """A DuckDB connection that records the SQL it is given."""

    def __init__(self, con):
        self.con, self.seen = con, []

    def execute(self, query, *args, **kwargs):
        self.seen.append(str(query))
        return self.con.execute(query, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.con, name)


@pytest.mark.parametrize("case, flagged", [("total_row_matches", True), ("negative_amount", False)])
def test_the_raw_cells_are_read_again_only_where_records_are_flagged(case, flagged):
    """Where SQL flagged no record of a file (nothing left for Python, no row that may not be data)
    the staged raw cells are empty, so settling asks DuckDB nothing about them; a 合计 row is flagged
    and makes it look at them."""
    export = read_export(CORPUS / case, strict=False, readers=readers(0))
    con = _Queries(duckdb.connect())
    export.staged.load(con)
    raw = [q for q in con.seen if "FROM _raw" in q]
    assert bool(raw) == flagged, raw[:3]
    con.con.close()


def _set_cell(path: Path, header: str, value: str, line: int = 1) -> None:
    """The cell of ``header`` on ``line`` (0: the header row) of a UTF-8 CSV set to ``value``."""
    def edit(lines):
        cells = lines[line].split(",")
        cells[lines[0].split(",").index(header)] = value
        lines[line] = ",".join(cells)
    _edit_csv(path, "utf-8-sig", edit)


def test_an_unreadable_cell_is_one_problem_not_also_an_empty_one(export_dir, monkeypatch):
    """A cell the reader could not read is reported as unreadable, and not once more as empty: not
    as a required cell left empty (支付金额), nor as a gap found (满意度, satisfaction_missing). The
    same problems both ways."""
    _set_cell(export_dir / "支出明细.csv", "支付金额", "12x.50")
    _set_cell(export_dir / "绩效自评.csv", "满意度", "九十")
    py, bk = read_both(export_dir, monkeypatch)
    assert_same(py, bk)
    for file, column, value in (("支出明细.csv", "支付金额", "12x.50"), ("绩效自评.csv", "满意度", "九十")):
        at = [p for p in bk[0] if p.file == file and p.row == 2 and p.column == column]
        assert len(at) == 1 and value in str(at[0]), [str(p) for p in at]


# --- province shape, with faults planted ------------------------------------------------------
@pytest.fixture(scope="module")
def small_province(tmp_path_factory) -> Path:
    """One district of the province demo; payments split every 40,000 rows."""
    root = tmp_path_factory.mktemp("small_province")
    return write_demo(root / "export", seed=3, scale="province", districts=1, file_rows=40_000)


def _edit_csv(path: Path, encoding: str, edit) -> None:
    text = path.read_bytes().decode(encoding)
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(newline)
    edit(lines)
    path.write_bytes(newline.join(lines).encode(encoding))


@pytest.mark.slow
def test_province_same_database(small_province, tmp_path, monkeypatch):
    bulk.TIMINGS.clear()
    py, bk = ingest_both(small_province, tmp_path, monkeypatch)
    settled = {what for phase, what, *_ in bulk.TIMINGS if phase == "settle"}
    assert settled == {p.name for p in small_province.glob("*.csv")}
    assert py[0] == "ok"
    assert_same_ingest(py, bk)


@pytest.mark.slow
def test_province_faults_same_problems(small_province, tmp_path, monkeypatch):
    """Faults of every kind planted in the big files: the bulk path words and locates each exactly
    as the Python path does (and the bad row near the end of the last payments file by its line)."""
    src = tmp_path / "export"
    shutil.copytree(small_province, src)
    pay = sorted(src.glob("支出明细-*.csv"))
    last = pay[-1]

    def payments(lines):
        n = len(lines) - 2                     # the last data line (the file ends with a newline)
        p, y, d, a = lines[n].split(",")
        lines[n] = f"{p},{y},{d},12x.5"       # unreadable amount near the end
        p, y, d, a = lines[n - 1].split(",")
        lines[n - 1] = f"{p},{y},{int(y) - 1}-06-30,{a}"   # a date outside its year
        p, y, d, a = lines[5].split(",")
        lines[5] = f"{p},{y},{d.replace('-', '/')},\"1,234.50\""   # other accepted forms
        lines[6] = f"  {lines[6]}"                           # a code with spaces before it
        lines[7] = lines[7].replace(lines[7].split(",")[0], "37ZZZZ-2023-9999")   # unknown project
        lines[8] = lines[8].rsplit(",", 1)[0] + ",-5"                 # negative
        lines[9] = lines[9].rsplit(",", 1)[0] + ",１２３．４"            # full-width digits
        lines.insert(12, "")                                          # an empty line
        lines.insert(20, ",,,")                                       # a blank row
        lines.insert(30, lines[0])                                    # the header repeated
        lines.insert(40, "小计,,,100")                                 # a subtotal in the middle
    _edit_csv(last, "utf-8", payments)

    def projects(lines):
        lines[3] = lines[2]                                           # duplicate key
        cells = lines[4].split(",")
        cells[7] = "abc"                                              # 万元 column unreadable
        lines[4] = ",".join(cells)
        cells = lines[-2].split(",")                                  # the 合计 row off by 1 万元
        cells[7] = str(Decimal(cells[7]) + 1)
        lines[-2] = ",".join(cells)
    _edit_csv(src / "项目.csv", "utf-8", projects)

    def targets(lines):
        cells = lines[2].split(",")
        cells[6], cells[7] = "≥", "较好"                                # quantitative, not a number
        lines[2] = ",".join(cells)
        cells = lines[3].split(",")
        cells[3] = "产出"                                              # a synonym: accepted
        lines[3] = ",".join(cells)
    _edit_csv(src / "绩效目标.csv", "gbk", targets)

    bulk.TIMINGS.clear()
    py, bk = ingest_both(src, tmp_path, monkeypatch)
    assert py[0] == "err"
    assert_same_ingest(py, bk)
    settled = {what for phase, what, *_ in bulk.TIMINGS if phase == "settle"}
    assert {last.name, "项目.csv", "绩效目标.csv"} <= settled      # read by DuckDB, not handed back
    text = bk[2]
    n_last = len(last.read_bytes().decode().split("\n")) - 1
    assert f"文件 {last.name}，第 {n_last} 行，列「支付金额」：取值不是数值；值为「12x.5」" in text
    assert f"文件 {last.name}，第 {n_last - 1} 行，列「支付日期」：支付日期不在所属年度" in text
    assert "小计" in text and "合计行与各行之和不一致" in text and "应唯一" in text


def test_many_problems_message_and_count(small_province, tmp_path, monkeypatch):
    """Thousands of bad cells: the message lists the first MAX_LISTED and counts all, as the Python
    path does."""
    src = tmp_path / "export"
    shutil.copytree(small_province, src)

    def spoil(lines):
        for i in range(1, 1500):
            lines[i] = lines[i].rsplit(",", 1)[0] + ",n/a"
    _edit_csv(sorted(src.glob("支出明细-*.csv"))[0], "utf-8", spoil)
    py, bk = ingest_both(src, tmp_path, monkeypatch)
    assert py[0] == "err" and bk[2] == py[2]
    assert bk[2].splitlines()[0].startswith("导入数据有 1499 处问题")
    assert f"另有 {1499 - MAX_LISTED} 处问题未列出" in bk[2]


def test_quoted_line_break_goes_to_python_reader(tmp_path, monkeypatch, export_dir):
    """A record spanning lines (a quoted line break): DuckDB's reading would differ, so the file is
    read by the Python reader; results are the same either way."""
    f = export_dir / "绩效目标.csv"
    text = f.read_text(encoding="utf-8-sig").splitlines()
    cells = next(csv.reader([text[2]]))
    cells[5] = "群众健身\n条件改善"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    text[2] = buf.getvalue().rstrip("\n")
    f.write_text("\n".join(text) + "\n", encoding="utf-8")
    py, bk = read_both(export_dir, monkeypatch)
    assert_same(py, bk)


# --- Parquet ----------------------------------------------------------------------------------
def test_parquet_input(export_dir, tmp_path, monkeypatch):
    """A table given as Parquet (Chinese or canonical column names, typed or text columns) loads the
    same rows as its CSV; a bad value is named by row (column names = row 1)."""
    ref_db = tmp_path / "ref.duckdb"
    ingest(export_dir, ref_db)
    pay = pd.read_csv(export_dir / "支出明细.csv", dtype=str, encoding="utf-8-sig")
    typed = pa.table({"project_id": pay["项目编码"], "year": pay["年度"].astype("int32"),
                      "pay_date": pd.to_datetime(pay["支付日期"]).dt.date,
                      "amount": [Decimal(v) for v in pay["支付金额"]]})
    (export_dir / "支出明细.csv").unlink()
    pq.write_table(typed, export_dir / "支出明细.parquet")
    tgt = pd.read_csv(export_dir / "绩效目标.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    (export_dir / "绩效目标.csv").unlink()
    pq.write_table(pa.Table.from_pandas(tgt, preserve_index=False), export_dir / "绩效目标.parquet")
    db = tmp_path / "pq.duckdb"
    ingest(export_dir, db)
    a, b = db_contents(ref_db), db_contents(db)
    for name in TABLE_ORDER:
        pd.testing.assert_frame_equal(b[name][1], a[name][1], check_dtype=False, obj=name)
    bad = tgt.copy()
    bad.loc[2, "分值"] = "一百"
    pq.write_table(pa.Table.from_pandas(bad, preserve_index=False), export_dir / "绩效目标.parquet")
    with pytest.raises(InputError) as err:
        ingest(export_dir, tmp_path / "bad.duckdb")
    assert "文件 绩效目标.parquet，第 4 行，列「分值」：取值不是数值；值为「一百」" in str(err.value)


# --- the SQL fast paths against the Python converters ------------------------------------------
ALPHABET = "0123456789-+.,/ _eE%¥元万年月日#!'\"\t\u3000０１９．－是否有效提升a×√"
SAMPLES = st.lists(st.text(alphabet=ALPHABET, max_size=12), min_size=1, max_size=60)
KINDS = [("payments", "amount", "元"), ("projects", "budget_amount", "万元"), ("payments", "year", None),
         ("monitoring", "as_of_month", None), ("payments", "pay_date", None),
         ("payments", "project_id", None), ("projects", "project_name", None),
         ("projects", "is_special", None), ("targets", "direction", None), ("targets", "weight", None),
         ("targets", "target_value", None), ("key_evaluations", "next_request", "亿元")]


@given(SAMPLES)
@settings(max_examples=60, deadline=None)
def test_fast_paths_agree_with_python(values):
    """Wherever the SQL fast path gives a value, the Python converter gives the same one."""
    con = duckdb.connect()
    con.register("v", pa.table({"x": pa.array(values, pa.string())}))
    for table, name, unit in KINDS:
        col: Column = TABLES[table].column(name)
        got = con.execute(f"SELECT x, {typed_sql('x', col, unit)} FROM v").fetchall()
        convert = converter(col, unit)
        for raw, fast in got:
            if fast is None:
                continue
            assert not is_empty(raw), (name, raw)
            ok, want = convert_cell(convert, raw)
            assert ok, (name, raw, fast, want)
            if isinstance(want, float):
                assert fast == want or (fast != fast and want != want), (name, raw)
            else:
                assert fast == want, (name, raw, fast, want)
    con.close()


def test_fast_paths_take_the_common_forms():
    """The forms an export usually holds do take the fast path (else the bulk reader is slow)."""
    con = duckdb.connect()
    cases = [("payments", "amount", "元", "146808.46"), ("projects", "budget_amount", "万元", "10.30"),
             ("payments", "amount", "元", "1,234.50"), ("payments", "year", None, "2023"),
             ("payments", "pay_date", None, "2023-07-31"), ("payments", "project_id", None, "370112-2023-0001"),
             ("projects", "project_name", None, "学生资助资金（直达资金）"), ("projects", "is_special", None, "否"),
             ("targets", "weight", None, "18.0"), ("targets", "target_value", None, "96.7"),
             ("targets", "target_value", None, "有效提升"), ("targets", "direction", None, "≥")]
    for table, name, unit, text in cases:
        col = TABLES[table].column(name)
        con.register("v", pa.table({"x": pa.array([text], pa.string())}))
        assert con.execute(f"SELECT {typed_sql('x', col, unit)} FROM v").fetchall()[0][0] is not None, \
            (name, text)
        con.unregister("v")
    con.close()


@given(st.lists(st.sampled_from([b"a", b"bc", b"\n", b"\r\n", b",", b"x\n", b"\n\n"]), max_size=40),
       st.integers(1, 9))
@settings(max_examples=300, deadline=None)
def test_line_stats(parts, chunk):
    """Lines and zero-length lines (which DuckDB skips) as Python's csv module counts lines, however
    the bytes are chunked."""
    data = b"".join(parts)
    stats = LineStats()
    for i in range(0, len(data), chunk):
        stats.feed(data[i:i + chunk])
    lines, empty, decline = stats.finish()
    text = data.decode()
    rdr = csv.reader(io.StringIO(text, newline=""))
    for _ in rdr:
        pass
    assert lines == rdr.line_num
    physical = text.split("\n")
    if physical and physical[-1] == "":
        physical = physical[:-1]
    assert empty == [i for i, ln in enumerate(physical, 1) if ln in ("", "\r")]
    assert decline is None
