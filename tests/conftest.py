"""Shared test helpers: a small, valid export folder built in code.

Stable API (other test modules rely on it; extend, don't change):

- ``small_frames()`` → ``{table: DataFrame}`` with canonical column names and values as an analyst
  would type them (money in 元 as ``Decimal``, dates as ``datetime.date``, booleans as 是/否). Every
  table of the schema is present; the data is consistent (references hold, keys unique).
- ``write_table(path, table, df, ...)`` writes one table as ``.csv`` or ``.xlsx`` with the Chinese
  headers (``headers=`` overrides some: ``{"budget_amount": "年初预算数（万元）"}``; then divide
  that column by 10,000 yourself, or pass ``scale={"budget_amount": 10_000}``).
- ``write_export(folder, frames=None, xlsx=(), gbk=())`` writes every table of ``frames`` (default
  ``small_frames()``) as ``<中文表名>.csv`` (UTF-8), or ``.xlsx`` for tables named in ``xlsx``, or
  GBK csv for those in ``gbk``; returns the folder.
- ``write_notebook(path, params, body, note=None)`` writes a report notebook (a ``parameters`` cell,
  a body cell, an optional markdown note) for runner tests.
- fixtures: ``export_dir`` (the small export written to ``tmp_path/export``), ``db_path``
  (``tmp_path/perf.duckdb``, not created), ``ingested_db`` (``export_dir`` ingested into
  ``db_path``), ``sha256_of(path)`` helper; ``demo_db`` (session-scoped: ``perflib demo`` seed 0
  written once and ingested into a DuckDB file; treat it as read-only; ``demo_ingest`` gives its
  export folder and findings count too); ``planted_db`` (a copy of
  ``demo_db`` with data-quality findings planted: {"db", "classified"}).

Small export facts (worked out by hand, used by the tests):
departments 5 (101 区教体局, 10101 区实验小学 under 101, 102 区科技局, 103 区财政局, 201 东风街道办事处
street); projects 2022: P001, P002; 2023: P001, P002, P003, P004 (P004 classified); payments 6
(2022: 2, 2023: 4); monitoring 2023 month 7: 3 rows; targets 6 (one department-level).
"""
from __future__ import annotations

import os

# openpyxl serialises workbooks differently when lxml is installed (python-docx brings it): the
# committed bad-input corpus is compared byte for byte with its generator's output, so every
# workbook the tests write is written by openpyxl's own writer, whatever else is installed.
os.environ["OPENPYXL_LXML"] = "False"

# the test processes import nbformat as the CLI and its workers do: without jsonschema's IRI
# checker, whose grammar compiles at import (1.3 s in each xdist worker); nothing validates IRIs
from perflib.run.executors import lighten_imports  # noqa: E402

lighten_imports()

import csv
import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from perflib.schema import TABLES

D = Decimal


def pytest_configure(config):
    """Under ``--dist loadscope`` xdist hands the modules out in the order collected (below). Its
    default (``--loadscope-reorder``) sorts them by how many tests they hold, which put the long
    modules of few tests last (the blanked demo, the fuzz reader, the editions, the benchmarks): one
    worker finished them alone for minutes while the other had nothing left."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


@pytest.hookimpl(trylast=True)  # after -m has deselected: the fast lane keeps its order
def pytest_collection_modifyitems(config, items):
    """Modules holding slow (end-to-end) tests first, each module's tests in their own order: under
    ``-n 2 --dist loadscope`` the two workers then take the long modules while both are free and
    fill the end with the many short ones, instead of one worker finishing the last long module
    alone (longest first, as ``perflib run`` schedules reports). The fast lane is unchanged."""
    slow = {item.module.__name__ for item in items if item.get_closest_marker("slow") is not None
            and getattr(item, "module", None) is not None}
    if slow:
        items.sort(key=lambda item: getattr(item, "module", None) is None or item.module.__name__ not in slow)


def small_frames() -> dict[str, pd.DataFrame]:
    """A small consistent export, one frame per table (canonical column names)."""
    f = {}
    f["departments"] = pd.DataFrame([
        ("101", "区教体局", None, "教育", "否"),
        ("10101", "区实验小学", "101", "教育", "否"),
        ("102", "区科技局", None, "科学技术", "否"),
        ("103", "区财政局", None, "一般公共服务", "否"),
        ("201", "东风街道办事处", None, "街道", "是"),
    ], columns=["dept_code", "dept_name", "parent_code", "sector", "is_street"])
    f["projects"] = pd.DataFrame([
        ("P001", 2022, "101", "运动场地建设资金", "场馆运行", "一般公共预算", "本级", D("1000000.00"), None, "否", "否"),
        ("P002", 2022, "102", "人才工程项目", None, "一般公共预算", "本级", D("500000.00"), D("450000.00"), "否", "否"),
        ("P001", 2023, "101", "运动场地建设资金", "场馆运行", "一般公共预算", "本级", D("1200000.00"), D("1300000.50"), "否", "否"),
        ("P002", 2023, "102", "人才工程项目", None, "政府性基金预算", "上级转移支付", D("800000.00"), None, "否", "否"),
        ("P003", 2023, "10101", "校舍维修", "物业管理", "一般公共预算", "本级", D("250000.25"), None, "否", "是"),
        ("P004", 2023, "103", "某专项保障经费", None, "一般公共预算", "本级", D("90000.00"), None, "是", "否"),
    ], columns=["project_id", "year", "dept_code", "project_name", "project_type", "budget_kind",
                "fund_source", "budget_amount", "adjusted_amount", "is_classified", "is_special"])
    f["targets"] = pd.DataFrame([
        ("P001", "101", 2023, "产出指标", "数量指标", "新建运动场地", "≥", "3", "个", 20),
        ("P001", "101", 2023, "效益指标", "社会效益指标", "群众健身条件改善", "定性", "有效改善", None, 30),
        ("P001", "101", 2023, "满意度指标", "服务对象满意度指标", "群众满意度", "≥", "90", "%", 10),
        ("P002", "102", 2023, "产出指标", "数量指标", "引进人才数", "≥", "20", "人", 50),
        ("P001", "101", 2022, "产出指标", "数量指标", "新建运动场地", "≥", "2", "个", 50),
        (None, "101", 2023, "产出指标", "数量指标", "学校覆盖率", "=", "100", "%", None),
    ], columns=["project_id", "dept_code", "year", "level1", "level2", "indicator", "direction",
                "target_value", "unit", "weight"])
    f["payments"] = pd.DataFrame([
        ("P001", 2022, dt.date(2022, 3, 15), D("300000.00")),
        ("P001", 2022, dt.date(2022, 12, 20), D("650000.00")),
        ("P001", 2023, dt.date(2023, 2, 10), D("200000.00")),
        ("P001", 2023, dt.date(2023, 7, 31), D("400000.50")),
        ("P002", 2023, dt.date(2023, 5, 6), D("120000.00")),
        ("P004", 2023, dt.date(2023, 6, 30), D("30000.00")),
    ], columns=["project_id", "year", "pay_date", "amount"])
    f["monitoring"] = pd.DataFrame([
        ("P001", 2023, 7, "新建运动场地", "2", None, "确定能", "是"),
        ("P001", 2023, 7, "群众满意度", "85", "其他", "有可能", "是"),
        ("P002", 2023, 7, "引进人才数", "5", "人员保障", "有可能", "否"),
    ], columns=["project_id", "year", "as_of_month", "indicator", "actual_value", "deviation_reason",
                "likelihood", "key_monitored"])
    f["self_evaluations"] = pd.DataFrame([
        ("P001", 2022, D("950000.00"), 92, 91),
        ("P002", 2022, D("430000.00"), None, 85),
    ], columns=["project_id", "year", "spent_amount", "satisfaction", "reported_score"])
    f["self_eval_indicators"] = pd.DataFrame([
        ("P001", 2022, "新建运动场地", "2"),
        ("P002", 2022, "引进人才数", "18"),
    ], columns=["project_id", "year", "indicator", "actual_value"])
    f["key_evaluations"] = pd.DataFrame([
        ("P001", 2023, "教育", 18, 17, 26, 25, D("1500000.00"), D("1200000.00"), "绩效目标不够细化"),
    ], columns=["project_id", "year", "domain", "score_decision", "score_process", "score_output",
                "score_effect", "next_request", "next_approved", "findings"])
    f["costs"] = pd.DataFrame([
        ("P001", 2023, "人员成本", D("300000.00")),
        ("P001", 2023, "委托业务费", D("700000.00")),
        ("P003", 2023, "商品和服务支出", D("240000.00")),
    ], columns=["project_id", "year", "cost_element", "amount"])
    f["outputs"] = pd.DataFrame([
        ("P001", 2023, "运动场地", "个", 3, 95),
        ("P003", 2023, "维修面积", "平方米", 1200, None),
    ], columns=["project_id", "year", "output_name", "unit", "quantity", "quality_score"])
    f["street_fiscal"] = pd.DataFrame([
        ("201", 2023, "一般公共预算收入", 52000000),
        ("201", 2023, "一般公共预算支出", 61000000),
    ], columns=["dept_code", "year", "indicator", "value"])
    return f


def count_calls(monkeypatch, module, name: str) -> list:
    """Wrap ``module.<name>`` (it still runs) so that each call appends to the list returned: how
    often a memoised analysis is really made."""
    calls: list = []
    original = getattr(module, name)
    monkeypatch.setattr(module, name, lambda *a, **k: calls.append(1) or original(*a, **k))
    return calls


def typed_frames(f):
    """small_frames as typed values for Store.from_frames (是/否 → bool, Decimal → float)."""
    out = {}
    for name, df in f.items():
        df = df.copy()
        for c in df.columns:
            if df[c].isin(["是", "否"]).any():
                df[c] = df[c].map({"是": True, "否": False}).astype(bool)
            elif df[c].map(lambda v: v.__class__.__name__ == "Decimal").any():
                df[c] = df[c].astype(float)
        out[name] = df
    return out


def _cell(v):
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def write_table(path: Path, table: str, df: pd.DataFrame, *, headers: dict | None = None,
                scale: dict | None = None, encoding: str = "utf-8", sheet: str | None = None,
                extra_rows: list | None = None) -> Path:
    """Write one table with Chinese headers as csv (``encoding``) or xlsx (by ``path`` suffix).

    ``scale`` divides a money column (e.g. 10,000 for a 万元 header); ``extra_rows`` are appended
    verbatim (lists of cells, e.g. a 合计 row)."""
    path = Path(path)
    headers = headers or {}
    scale = scale or {}
    t = TABLES[table]
    cols = list(df.columns)
    head = [headers[c] if c in headers else t.column(c).header for c in cols]
    rows = []
    for rec in df.itertuples(index=False):
        row = []
        for c, v in zip(cols, rec):
            if c in scale and v is not None and not (isinstance(v, float) and v != v):
                v = Decimal(v) / Decimal(scale[c])
            row.append(v)
        rows.append(row)
    rows += extra_rows or []
    if path.suffix == ".xlsx":
        import openpyxl

        if path.exists():
            wb = openpyxl.load_workbook(path)
            ws = wb.create_sheet(sheet or t.label)
        else:
            wb = openpyxl.Workbook()
            ws = wb.active
            ws.title = sheet or t.label
        ws.append(head)
        for row in rows:
            ws.append([None if (v is None or (isinstance(v, float) and v != v)) else
                       (float(v) if isinstance(v, Decimal) else v) for v in row])
        wb.save(path)
    else:
        with open(path, "w", encoding=encoding, newline="") as fh:
            w = csv.writer(fh)
            w.writerow(head)
            for row in rows:
                w.writerow([_cell(v) for v in row])
    return path


def write_export(folder: Path, frames: dict | None = None, *, xlsx=(), gbk=()) -> Path:
    """Write every table of ``frames`` (default: the small export) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frames = small_frames() if frames is None else frames
    for name, df in frames.items():
        label = TABLES[name].label
        if name in xlsx:
            write_table(folder / f"{label}.xlsx", name, df)
        else:
            write_table(folder / f"{label}.csv", name, df, encoding="gbk" if name in gbk else "utf-8")
    return folder


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def export_dir(tmp_path) -> Path:
    """The small valid export (projects as xlsx, the rest csv) in ``tmp_path/export``."""
    return write_export(tmp_path / "export", xlsx=("projects",))


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "perf.duckdb"


@pytest.fixture
def ingested_db(export_dir, db_path) -> Path:
    from perflib.ingest import ingest

    ingest(export_dir, db_path)
    return db_path


def build_once(tmp_path_factory, name: str, build) -> dict:
    """``build(folder)`` run once per test run; returns its JSON-ready result (a dict).

    In one process this is a plain session fixture's body. Under pytest-xdist (``make test`` runs
    ``-n 2``) every worker asks for it: the first builds it in a folder shared by the run under a
    file lock, the others wait and read its result (the pattern of the xdist docs), so the demo is
    generated, ingested and rendered once, not once per worker. What it builds is read-only."""
    import json
    import shutil

    from filelock import FileLock

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return build(tmp_path_factory.mktemp(name))
    shared = tmp_path_factory.getbasetemp().parent
    root, done = shared / name, shared / f"{name}.json"
    with FileLock(str(shared / f"{name}.lock")):
        if done.exists():
            return json.loads(done.read_text("utf-8"))
        shutil.rmtree(root, ignore_errors=True)  # a build that failed in another worker
        root.mkdir()
        result = build(root)
        done.write_text(json.dumps(result, ensure_ascii=False), "utf-8")
        return result


@pytest.fixture(scope="session")
def demo_ingest(tmp_path_factory) -> dict:
    """The default demo export (seed 0) written and ingested once per test run (read-only):
    {"export": folder, "db": DuckDB file, "findings": the number of findings the ingest returned}."""
    def build(root: Path) -> dict:
        from perflib.demo import write_demo
        from perflib.ingest import ingest

        src = write_demo(root / "export", seed=0)
        db = root / "perf.duckdb"
        summary = ingest(src, db)
        return {"export": str(src), "db": str(db), "findings": len(summary.findings)}

    done = build_once(tmp_path_factory, "demo", build)
    return dict(done, export=Path(done["export"]), db=Path(done["db"]))


@pytest.fixture(scope="session")
def demo_db(demo_ingest) -> Path:
    """The default demo export (seed 0) ingested once per test run; do not write to it."""
    return demo_ingest["db"]


# --- findings (issue 14): a hand-made store's departments, projects and findings rows ----------------
FINDINGS_DEPARTMENTS = pd.DataFrame({
    "dept_code": ["100", "101", "200", "300"],
    "dept_name": ["区教体局", "区实验小学", "区科技局", "东风街道办事处"],
    "parent_code": [None, "100", None, None],
    "sector": ["教育", "教育", None, "街道"],
    "is_street": [False, False, False, True],
})


def _findings_project(pid, year, dept, classified=False, name=None):
    return dict(project_id=pid, year=year, dept_code=dept, project_name=name or f"项目{pid}",
                project_type=None, budget_kind="一般公共预算", fund_source="本级", budget_amount=100.0,
                adjusted_amount=None, is_classified=classified, is_special=False)


FINDINGS_PROJECTS = pd.DataFrame([
    _findings_project("A1", 2023, "101"), _findings_project("A2", 2023, "200"), _findings_project("A1", 2022, "101"),
    _findings_project("B1", 2022, "200"), _findings_project("S1", 2023, "100", classified=True, name="某专项保障经费"),
])

# (kind, table, year, record_key, dept_code, project_id, file, sheet, row, column, value, message)
FINDINGS_ROWS = [
    ("qualitative_target_missing", "targets", 2023, "A1|2023|群众满意度", "101", "A1", "绩效目标.xlsx", "绩效目标", 5, "指标值", None, "定性指标未填指标值"),
    ("qualitative_target_missing", "targets", 2023, "|100|2023|部门履职", "100", None, "绩效目标.xlsx", "绩效目标", 9, "指标值", None, "定性指标未填指标值"),
    ("target_unit_missing", "targets", 2023, "A2|2023|设备数", "200", "A2", "绩效目标.xlsx", "绩效目标", 7, "计量单位", None, "未填计量单位"),
    ("target_unit_missing", "targets", 2022, "A1|2022|培训人次", "101", "A1", "绩效目标.xlsx", "绩效目标", 12, "计量单位", None, "上年：不属 2023"),
    ("deviation_reason_missing", "monitoring", 2023, "A2|2023|7|设备数", None, "A2", "绩效监控.csv", None, 3, "偏差原因", None, "偏差未说明原因"),
    ("satisfaction_missing", "self_evaluations", 2022, "B1|2022", None, "B1", "绩效自评.csv", None, 2, "满意度", None, "自评 2022：属 2023 年"),
    ("satisfaction_missing", "self_evaluations", 2023, "A1|2023", None, "A1", "绩效自评.csv", None, 4, "满意度", None, "自评 2023：属 2024 年"),
    ("sector_missing", "departments", None, "200", "200", None, "部门.csv", None, 4, "行业领域", None, "部门未填行业领域"),
    ("optional_column_missing", "payments", None, None, None, None, "支出明细.csv", None, 1, "经济分类", None, "缺少可选列"),
    ("target_weight_missing", "targets", 2023, "S1|2023|保障任务", None, "S1", "绩效目标.xlsx", "绩效目标", 20, "分值", "S1",
     "项目 S1 某专项保障经费 的指标未填分值"),
]


def insert_findings(con, rows, load_id=1):
    """INSERT rows (without load_id) into table findings, exactly as its DDL has it."""
    from perflib.store import FINDINGS_COLUMNS

    cols = FINDINGS_COLUMNS
    if not rows:
        return
    con.executemany(f"INSERT INTO findings ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                    [(load_id, *r) for r in rows])



# --- findings (issue 14): the demo store with data-quality findings planted -----------------------
@pytest.fixture(scope="session")
def planted_db(demo_db, tmp_path_factory) -> dict:
    """A copy of the demo store (read-only) with findings planted on real rows: 定性 targets of
    2022–2023 (every 7th), monitoring rows of 2023 (every 5th, no dept_code), self-evaluations of
    2021–2022 (every 4th), departments (every 9th, no year), one file-wide gap (payments) and a
    target of a classified project whose code and name are in its key, value and message.
    Returns {"db", "classified": (code, name, dept_code)}."""
    import shutil

    import duckdb

    db = tmp_path_factory.mktemp("planted") / "perf.duckdb"
    shutil.copy(demo_db, db)
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM findings")
    con.execute("""
        INSERT INTO findings
        SELECT 1, 'qualitative_target_missing', 'targets', year, project_id || '|' || indicator, dept_code,
               project_id, '绩效目标.xlsx', '绩效目标', CAST(rn + 1 AS INTEGER), '指标值', NULL, '定性指标未填指标值'
        FROM (SELECT *, row_number() OVER (ORDER BY year, dept_code, project_id, indicator) AS rn
              FROM targets WHERE direction = '定性' AND year IN (2022, 2023)) WHERE rn % 7 = 0;
        INSERT INTO findings
        SELECT 1, 'deviation_reason_missing', 'monitoring', year, project_id || '|' || indicator, NULL,
               project_id, '绩效监控.csv', NULL, CAST(rn + 1 AS INTEGER), '偏差原因', NULL, '偏差未说明原因'
        FROM (SELECT *, row_number() OVER (ORDER BY project_id, as_of_month, indicator) AS rn
              FROM monitoring WHERE year = 2023) WHERE rn % 5 = 0;
        INSERT INTO findings
        SELECT 1, 'satisfaction_missing', 'self_evaluations', year, project_id, NULL, project_id,
               '绩效自评.csv', NULL, CAST(rn + 1 AS INTEGER), '满意度', NULL, '自评未填满意度'
        FROM (SELECT *, row_number() OVER (ORDER BY year, project_id) AS rn FROM self_evaluations
              WHERE year IN (2021, 2022)) WHERE rn % 4 = 0;
        INSERT INTO findings
        SELECT 1, 'sector_missing', 'departments', NULL, dept_code, dept_code, NULL, '部门.csv', NULL,
               CAST(rn + 1 AS INTEGER), '行业领域', NULL, '部门未填行业领域'
        FROM (SELECT *, row_number() OVER (ORDER BY dept_code) AS rn FROM departments) WHERE rn % 9 = 0;
        INSERT INTO findings VALUES (1, 'optional_column_missing', 'payments', NULL, NULL, NULL, NULL,
               '支出明细.csv', NULL, 1, '经济分类', NULL, '缺少可选列');
    """)
    pid, name, dept = con.execute("SELECT project_id, project_name, dept_code FROM projects "
                                  "WHERE is_classified AND year = 2023 ORDER BY project_id LIMIT 1").fetchone()
    con.execute("INSERT INTO findings VALUES (1, 'target_weight_missing', 'targets', 2023, ?, NULL, ?, "
                "'绩效目标.xlsx', '绩效目标', 999, '分值', ?, ?)",
                [f"{pid}|保障任务", pid, name, f"项目 {pid}（{name}）的指标未填分值"])
    con.close()
    return {"db": db, "classified": (pid, name, dept)}


def write_notebook(path: Path, params: str, body: str, note: str | None = None) -> Path:
    """A report notebook as the runner expects one: a ``parameters``-tagged cell, a code cell with
    ``body`` and, if given, a markdown ``note``; the python3 kernelspec."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    cells = [new_code_cell(params, metadata={"tags": ["parameters"]}), new_code_cell(body)]
    if note:
        cells.append(new_markdown_cell(note))
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}), str(path))
    return path

# --- hostile demo and the full demo suite (session-scoped; tests/run/test_classified.py, test_browser.py) --
# Names that carry HTML/JS/markdown/formula payloads, planted into the demo data where reports show them
# (tables, narrative text, page headers, file names). None may run, fetch or become a formula.
XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_IMG = '<img src=x onerror="window.__xss=1">'
MD_IMAGE = "![x](http://tracker.invalid/x.png)"
MD_LINK = "[详情](javascript:window.__xss=1)"
FORMULA = '=HYPERLINK("http://tracker.invalid/f","点我")'
HOSTILE = {
    # (table, key column, key value, column, new value)
    "street": ("departments", "dept_name", "鲍山街道办事处", "dept_name", f"鲍山街道办事处{XSS_IMG}"),
    "dept": ("departments", "dept_name", "区金融服务中心", "dept_name", f"区金融服务中心{XSS_SCRIPT}"),
    "key_monitored": ("projects", "project_name", "运动场地建设资金", "project_name", f"运动场地建设资金{MD_IMAGE}"),
    "key_evaluated": ("projects", "project_name", "文旅消费惠民券", "project_name", f"文旅消费惠民券{MD_LINK}"),
    "formula": ("projects", "project_id", "370112-2023-0001", "project_name", FORMULA),
    # a fan-out value whose file name keeps URL specials: links to it must still work
    "project_type": ("projects", "project_type", "道路保洁", "project_type", "道路保洁#1 50%"),
}
# classified projects of the seed-0 demo given rows in every table (the demo alone gives them only
# projects and payments): a twin of a 公务接待 project, a key evaluation, key monitoring
CLASSIFIED_TWIN = "370112-2021-0072"  # classified 2021–2023 (某专项保障经费)
TWIN_OF = "370112-2021-0001"          # 公务接待费: targets, monitoring, self-evaluations, outputs, costs
CLASSIFIED_KEYEVAL = "370112-2023-0122"


def hostile_demo_data():
    """Seed-0 demo tables with the HOSTILE names and classified projects present in every table."""
    import dataclasses

    from perflib.demo import build_demo

    data = build_demo(0)
    frames = {f.name: getattr(data, f.name).copy() for f in dataclasses.fields(data) if f.name != "notes"}
    for table, key, value, column, new in HOSTILE.values():
        df = frames[table]
        hit = df[key] == value
        assert hit.any(), (table, key, value)
        df.loc[hit, column] = new
    proj = frames["projects"]
    assert proj.loc[proj["project_id"].isin([CLASSIFIED_TWIN, CLASSIFIED_KEYEVAL]), "is_classified"].all()
    twin_type = proj.loc[proj["project_id"] == TWIN_OF, "project_type"].iloc[0]
    proj.loc[proj["project_id"] == CLASSIFIED_TWIN, "project_type"] = twin_type
    twin_dept = proj.loc[proj["project_id"] == CLASSIFIED_TWIN, "dept_code"].iloc[0]
    twin_years = set(proj.loc[proj["project_id"] == CLASSIFIED_TWIN, "year"])
    for name in ("targets", "monitoring", "self_evaluations", "self_eval_indicators", "outputs", "costs"):
        df = frames[name]
        rows = df[(df["project_id"] == TWIN_OF) & df["year"].isin(twin_years)].copy()
        assert len(rows), name
        rows["project_id"] = CLASSIFIED_TWIN
        if "dept_code" in rows.columns:
            rows["dept_code"] = twin_dept
        if name == "monitoring":
            rows["key_monitored"] = True
        frames[name] = pd.concat([df, rows], ignore_index=True)
    ke = frames["key_evaluations"]
    extra = ke.iloc[[0]].copy()
    extra["project_id"] = CLASSIFIED_KEYEVAL
    extra["findings"] = "涉密项目的评价发现"
    frames["key_evaluations"] = pd.concat([ke, extra], ignore_index=True)
    return dataclasses.replace(data, **frames)


@pytest.fixture(scope="session")
def hostile_demo(tmp_path_factory) -> dict:
    """The hostile demo export ingested into a DuckDB file: {"root", "export", "db"} (read-only)."""
    def build(root: Path) -> dict:
        from perflib.demo import write_export as write_demo_export
        from perflib.ingest import ingest

        export = root / "export"
        write_demo_export(hostile_demo_data(), export)
        db = root / "perf.duckdb"
        ingest(export, db)
        return {"root": str(root), "export": str(export), "db": str(db)}

    return {k: Path(v) for k, v in build_once(tmp_path_factory, "hostile", build).items()}


# Loaded by every Python process of the run (PYTHONPATH): records the text drawn in each saved figure,
# one JSON line per figure, into $PERFLIB_TEST_FIGURE_TEXT/<pid>.jsonl (figures are PNG: no other way
# to see their text). Patches matplotlib.figure.Figure.savefig when that module is first imported.
FIGURE_TEXT_HOOK = r'''
import importlib.abc, importlib.util, json, os, sys

_OUT = os.environ.get("PERFLIB_TEST_FIGURE_TEXT")


def _patch(module):
    original = module.Figure.savefig

    def savefig(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        try:
            from matplotlib.text import Text
            texts = [t.get_text() for t in self.findobj(Text) if t.get_text()]
            with open(os.path.join(_OUT, f"{os.getpid()}.jsonl"), "a", encoding="utf-8") as fh:
                fh.write(json.dumps(texts, ensure_ascii=False) + "\n")
        except Exception as exc:  # the hook must never break a report
            print("figure text hook:", exc, file=sys.stderr)
        return result

    module.Figure.savefig = savefig


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "matplotlib.figure":
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        exec_module = spec.loader.exec_module

        def patched(module):
            exec_module(module)
            _patch(module)

        spec.loader.exec_module = patched
        return spec


if _OUT:
    sys.meta_path.insert(0, _Finder())
'''


@pytest.fixture(scope="session")
def demo_suite(hostile_demo, tmp_path_factory) -> dict:
    """Every notebook rendered once on the hostile demo by ``perflib run`` in a subprocess, with its
    log (stdout, stderr, cell output via --log-output) captured and the text of every figure recorded.

    Returns {"out", "db", "returncode", "log", "figure_text" (list of lists of str), "seconds"}."""
    import json

    keep = os.environ.get("PERFLIB_TEST_SUITE_DIR")  # developer aid: render once, reuse across runs
    if keep:
        root = Path(keep)
        root.mkdir(parents=True, exist_ok=True)
        if (root / "suite.json").exists():
            return dict(json.loads((root / "suite.json").read_text("utf-8")), out=root / "reports",
                        db=hostile_demo["db"])
        result = _render_demo_suite(hostile_demo["db"], root)
        (root / "suite.json").write_text(json.dumps(result, ensure_ascii=False), "utf-8")
    else:
        result = build_once(tmp_path_factory, "suite",
                            lambda root: dict(_render_demo_suite(hostile_demo["db"], root), out=str(root / "reports")))
    return dict(result, out=root / "reports" if keep else Path(result["out"]), db=hostile_demo["db"])


def _render_demo_suite(db: Path, root: Path) -> dict:
    """``perflib run`` of every report on ``db`` into ``root/reports``, figure texts recorded."""
    import json
    import subprocess
    import sys
    import time

    hook = root / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(FIGURE_TEXT_HOOK, "utf-8")
    texts = root / "figure_text"
    texts.mkdir(exist_ok=True)
    out = root / "reports"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])),
               PERFLIB_TEST_FIGURE_TEXT=str(texts), PYTHONUNBUFFERED="1")
    env.pop("PERFLIB_NOTEBOOKS_DIR", None)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "perflib.cli", "run", "--db", str(db), "--out", str(out),
         "--no-progress", "--log-output", "--jobs", "2"],
        env=env, capture_output=True, text=True, timeout=1200)
    seconds = time.monotonic() - started
    figures = []
    for p in sorted(texts.glob("*.jsonl")):
        figures += [json.loads(line) for line in p.read_text("utf-8").splitlines() if line.strip()]
    return {"returncode": proc.returncode, "log": proc.stdout + "\n" + proc.stderr,
            "figure_text": figures, "seconds": seconds}


@pytest.fixture(scope="session")
def demo_reports(demo_db, tmp_path_factory) -> Path:
    """Every notebook rendered once on the default demo (seed 0) by ``perflib run --jobs 2`` in a
    subprocess; returns the output folder (read-only). The facts snapshot and page tests read it."""
    def build(out: Path) -> dict:
        import subprocess
        import sys

        env = dict(os.environ)
        env.pop("PERFLIB_NOTEBOOKS_DIR", None)
        proc = subprocess.run(
            [sys.executable, "-m", "perflib.cli", "run", "--db", str(demo_db), "--out", str(out),
             "--no-progress", "--jobs", "2"], env=env, capture_output=True, text=True, timeout=1200)
        return {"out": str(out), "returncode": proc.returncode, "log": proc.stdout + proc.stderr}

    result = build_once(tmp_path_factory, "demo_reports", build)
    assert result["returncode"] == 0, result["log"]
    return Path(result["out"])
