"""perflib run: parameter validation before any kernel, fan-out, atomic outputs, failure pages,
the index, the incremental cache and the classified-leak guard.

The notebook runs are done once per module (kernel starts are slow) and the outputs are checked by
several tests.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from conftest import small_frames, write_export, write_notebook

from perflib.run import leaks, plan, runner
from perflib.cli import main

pytestmark = pytest.mark.slow  # end-to-end: outside the fast lane (`-m "not slow"`)

CLASSIFIED_NAME = "某专项保障经费"  # P004 of the small export is classified
CLASSIFIED_CODE = "P004"
SCRIPT_NAME = "<script>alert(1)</script>"

PARAMS_CELL = '''db = None
year = None
rules = None
artifacts_dir = None
dept = None
as_of_month = None
n = 1
'''
PROBE_BODY = '''from perflib.present.notebook import open_report
rep = open_report("probe", db=db, year=year, rules=rules, artifacts_dir=artifacts_dir, dept=dept)
rep.heading("探针报告", 1)
rep.heading("第一节")
rep.facts({"probe.n": n, "probe.dept": dept, "probe.month": as_of_month, "probe.year": rep.year})
rep.table(rep.store.projects(rep.year)[["project_id", "project_name", "budget"]], "项目表", sheet="项目")
rep.text("正文段落")
'''
FAIL_BODY = PROBE_BODY + 'raise ValueError("故意出错 <b>x</b>")\n'
LEAK_BODY = '''from perflib.present.notebook import open_report
from perflib.store import Store

rep = open_report("leaky", db=db, year=year, rules=rules, artifacts_dir=artifacts_dir)
rep.text("、".join(sorted(Store(db, redact=False).classified_names())))
'''
# a classified name in the workbook only (a sheet not shown on the page): found by the scan that
# reads the workbook's XML as it is written
LEAK_SHEET_BODY = '''import pandas as pd
from perflib.present.notebook import open_report
from perflib.store import Store

rep = open_report("leaky_sheet", db=db, year=year, rules=rules, artifacts_dir=artifacts_dir)
rep.text("正文段落")
rep.sheet(pd.DataFrame({"名称": sorted(Store(db, redact=False).classified_names())}), "名单")
'''
SLOW_BODY = '''import time
time.sleep(120)
'''
TYPED_PARAMS = '''db = None
year = None
rules = None
artifacts_dir = None
project_type = None
street = None
'''


def planted_frames():
    f = small_frames()
    p = f["projects"]
    p.loc[(p["project_id"] == "P002") & (p["year"] == 2023), "project_name"] = SCRIPT_NAME
    return f


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from perflib.ingest import ingest

    base = tmp_path_factory.mktemp("runner")
    db = base / "perf.duckdb"
    ingest(write_export(base / "export", planted_frames()), db)
    nbdir = base / "notebooks"
    nbdir.mkdir()
    write_notebook(nbdir / "probe.ipynb", PARAMS_CELL, PROBE_BODY)
    write_notebook(nbdir / "typed.ipynb", TYPED_PARAMS, "pass\n")
    return {"base": base, "db": db, "nbdir": nbdir, "out": base / "reports"}


def _no_kernel(*a, **k):  # papermill.execute_notebook replacement: a kernel start is a test failure
    raise AssertionError("a kernel was started")


@pytest.fixture(scope="module")
def runs(env):
    """Run 1: probe ok. Run 1b: same request again (served from the cache, no kernel).
    Run 2 (two worker processes): probe now fails, plus a leaking and a timing-out notebook."""
    import papermill

    real_execute = papermill.execute_notebook
    mp = pytest.MonkeyPatch()
    mp.setenv("PERFLIB_NOTEBOOKS_DIR", str(env["nbdir"]))
    # perflib's own files take part in the cache key; pin it (other work may edit the tree meanwhile)
    mp.setattr(plan, "_code_fingerprint", lambda *notebook: "pinned")
    out, db = env["out"], env["db"]
    try:
        code1 = main(["run", "probe", "--db", str(db), "--out", str(out), "--no-progress"])
        good = {s: (out / "2023" / f"probe-07月{s}").read_bytes() for s in (".html", ".ipynb", ".facts.json", ".xlsx")}
        state1 = json.loads((out / ".index.json").read_text("utf-8"))
        mp.setattr(papermill, "execute_notebook", _no_kernel)
        cached = runner.run_reports(["probe"], db=db, out=out, progress=False)
        mp.setattr(papermill, "execute_notebook", real_execute)
        write_notebook(env["nbdir"] / "probe.ipynb", PARAMS_CELL, FAIL_BODY)
        write_notebook(env["nbdir"] / "leaky.ipynb", PARAMS_CELL.replace("n = 1\n", ""), LEAK_BODY)
        write_notebook(env["nbdir"] / "leaky_sheet.ipynb", PARAMS_CELL.replace("n = 1\n", ""), LEAK_SHEET_BODY)
        write_notebook(env["nbdir"] / "slow.ipynb", "db = None\nyear = None\nrules = None\nartifacts_dir = None\n",
                       SLOW_BODY)
        code2 = main(["run", "probe", "leaky", "leaky_sheet", "slow", "--db", str(db), "--out", str(out), "--no-progress",
                      "--timeout", "6", "--jobs", "2"])  # parallel worker processes
    finally:
        mp.undo()
    return {"code1": code1, "good": good, "cached": cached, "code2": code2, "state1": state1}


# --- validation before any kernel ---------------------------------------------------------------
@pytest.mark.parametrize("argv, message", [
    (["nosuch"], "没有名为"),
    (["probe", "-p", "bogus=1"], "没有参数"),
    (["probe", "-p", "n=abc"], "整数"),
    (["probe", "-p", "as_of_month=13"], "1–12"),
    (["probe", "-p", "as_of_month=七月"], "1–12"),
    (["probe", "-p", "dept=不存在的局"], "不存在的局"),
    (["probe", "-p", "dept=10101"], "10101"),  # a sub-unit, not a level-1 department
    (["probe", "--year", "1999"], "1999"),
    (["probe", "-p", "db=/tmp/x"], "--db"),
    (["probe", "--each", "n"], "--each"),
    (["typed", "-p", "project_type=火箭发射"], "火箭发射"),
    (["typed", "-p", "street=不存在街道"], "不存在街道"),
])
def test_bad_parameters_exit_2_before_any_kernel(env, monkeypatch, capsys, argv, message):
    import papermill

    monkeypatch.setenv("PERFLIB_NOTEBOOKS_DIR", str(env["nbdir"]))
    monkeypatch.setattr(papermill, "execute_notebook", _no_kernel)
    out = env["base"] / "bad-out"
    code = main(["run", *argv, "--db", str(env["db"]), "--out", str(out), "--no-progress"])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()  # nothing written


def test_missing_database_and_bad_rules_exit_2(env, monkeypatch, capsys):
    import papermill

    monkeypatch.setenv("PERFLIB_NOTEBOOKS_DIR", str(env["nbdir"]))
    monkeypatch.setattr(papermill, "execute_notebook", _no_kernel)
    assert main(["run", "probe", "--db", str(env["base"] / "none.duckdb"), "--no-progress"]) == 2
    bad = env["base"] / "bad.yaml"
    bad.write_text("monitoring:\n  no_such_rule: 1\n", encoding="utf-8")
    assert main(["run", "probe", "--db", str(env["db"]), "--rules", str(bad), "--no-progress"]) == 2
    assert "no_such_rule" in capsys.readouterr().err


# --- fan-out and naming (planning only) ------------------------------------------------------------
def test_required_parameters_fan_out_over_the_data(env):
    jobs = plan.plan_jobs(["typed"], db=env["db"], notebooks_dir=env["nbdir"])
    # small export: 2023 project types with outputs = 场馆运行 (P001), 物业管理 (P003); one street 201
    got = sorted((j.params["project_type"], j.params["street"]) for j in jobs)
    assert got == [("场馆运行", "201"), ("物业管理", "201")]
    stems = sorted(j.stem for j in jobs)
    assert stems == ["2023/typed-场馆运行-东风街道办事处", "2023/typed-物业管理-东风街道办事处"]


def test_optional_dept_stays_open_unless_each(env):
    jobs = plan.plan_jobs(["probe"], db=env["db"], notebooks_dir=env["nbdir"])
    assert len(jobs) == 1 and jobs[0].params["dept"] is None and jobs[0].stem == "2023/probe-07月"  # named by its month (issue 19)
    assert jobs[0].params["as_of_month"] == 7  # last payment month of 2023 in the small export
    each = plan.plan_jobs(["probe"], db=env["db"], each=["dept"], notebooks_dir=env["nbdir"])
    assert sorted(j.params["dept"] for j in each) == ["101", "102", "103", "201"]
    assert "2023/probe-区教体局-07月" in {j.stem for j in each}


def test_names_resolve_to_codes_and_label_the_file(env):
    jobs = plan.plan_jobs(["probe"], db=env["db"], params=[("dept", "区科技局"), ("as_of_month", "3")],
                            notebooks_dir=env["nbdir"])
    assert jobs[0].params["dept"] == "102" and jobs[0].params["as_of_month"] == 3
    assert jobs[0].stem == "2023/probe-区科技局-03月"
    streets = plan.plan_jobs(["typed"], db=env["db"], params=[("street", "东风街道")],
                               notebooks_dir=env["nbdir"])
    assert {j.params["street"] for j in streets} == {"201"}


def test_year_defaults_to_latest_and_can_be_chosen(env):
    assert plan.plan_jobs(["probe"], db=env["db"], notebooks_dir=env["nbdir"])[0].year == 2023
    j = plan.plan_jobs(["probe"], db=env["db"], year=2022, notebooks_dir=env["nbdir"])[0]
    assert j.year == 2022 and j.stem == "2022/probe-11月"


def test_safe_label_keeps_chinese_and_drops_path_characters():
    assert plan.safe_label("东风街道办事处") == "东风街道办事处"
    assert "/" not in plan.safe_label("../../etc/passwd") and ".." not in plan.safe_label("../x")


# --- a good run -----------------------------------------------------------------------------------
def test_good_run_writes_four_files_and_facts_schema(env, runs):
    assert runs["code1"] == 0
    facts = json.loads(runs["good"][".facts.json"])
    assert set(facts) == {"notebook", "parameters", "perflib_version", "inputs", "rules_sha256", "load_id", "changes",
                          "rendered_at", "facts", "scopes"}
    assert facts["scopes"] == {}  # probe facts have no 口径 sentence (perflib.present.scopes)
    assert facts["notebook"] == "probe"
    assert facts["facts"] == {"probe.n": 1, "probe.dept": None, "probe.month": 7, "probe.year": 2023}
    assert facts["parameters"]["year"] == 2023
    from perflib.rules import load_rules
    from perflib.store import Store

    with Store(env["db"]) as st:
        assert facts["inputs"] == st.inputs() and len(facts["inputs"]) >= 11
    assert facts["rules_sha256"] == load_rules().sha256


def test_good_html_is_offline_escaped_and_without_code(runs):
    html = runs["good"][".html"].decode("utf-8")
    for bad in ('<script src="http', "<link href=\"http", 'src="http', "src='http", "cdn"):
        assert bad not in html.lower()
    assert "open_report(" not in html and "rep.table" not in html  # no code cell input
    assert "In&nbsp;[" not in html  # no prompts
    assert SCRIPT_NAME not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "探针报告" in html and "目录" in html and 'href="#' in html  # title and table of contents
    assert "sha256" in html and "monitoring.green_min_gap" in html  # footer: inputs and rules
    assert len(runs["good"][".html"]) < 2_000_000


def test_xlsx_has_chinese_headers_and_collapsed_classified_rows(runs, tmp_path):
    import openpyxl

    p = tmp_path / "t.xlsx"
    p.write_bytes(runs["good"][".xlsx"])
    wb = openpyxl.load_workbook(p)
    assert "项目" in wb.sheetnames
    rows = list(wb["项目"].values)
    assert rows[0] == ("项目编码", "项目名称", "预算数")
    names = [r[1] for r in rows[1:]]
    assert "涉密项目（合计）" in names
    # small export 2023: P004 (classified) budget 90,000 alone on the total line
    total = [r for r in rows[1:] if r[1] == "涉密项目（合计）"][0]
    assert total[2] == pytest.approx(90000.0)


def test_the_workbook_was_written_while_the_cells_ran(runs):
    """The probe's one table became its sheet before publishing (perflib.run.ahead), and the
    published workbook holds it under its header."""
    assert runs["state1"]["2023/probe-07月"]["timing"]["sheets_ahead"] == 1
    book = openpyxl.load_workbook(io.BytesIO(runs["good"][".xlsx"]), read_only=True)
    assert book.sheetnames == ["说明", "项目"]


def test_cached_rerun_starts_no_kernel(runs):
    assert [r.status for r in runs["cached"].results] == ["cached"]
    assert runs["cached"].exit_code == 0


# --- failures -------------------------------------------------------------------------------------
def test_failed_report_exit_1_failure_page_and_last_good_kept(env, runs):
    out = env["out"] / "2023"
    assert runs["code2"] == 1
    for suffix, data in runs["good"].items():
        assert (out / f"probe-07月{suffix}").read_bytes() == data  # untouched
    page = (out / "probe-07月.failed.html").read_text("utf-8")
    assert "故意出错" in page and "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert "raise ValueError" in page  # the failing cell's source
    assert "Traceback" in page or "ValueError" in page
    assert "probe-07月.html" in page  # links the last good report


def test_timeout_becomes_a_failure_page(env, runs):
    page = (env["out"] / "2023" / "slow.failed.html").read_text("utf-8")
    assert "超时" in page and "time.sleep(120)" in page
    assert not (env["out"] / "2023" / "slow.html").exists()


def test_index_lists_status_and_links(env, runs):
    index = (env["out"] / "index.html").read_text("utf-8")
    assert 'href="2023/probe-07月.failed.html"' in index and 'href="2023/probe-07月.html"' in index
    state = json.loads((env["out"] / ".index.json").read_text("utf-8"))
    assert state["2023/probe-07月"]["status"] == "failed"
    assert state["2023/slow"]["status"] == "failed"
    assert not list(env["out"].rglob("*.tmp"))  # no temporary file left behind


def _all_text(folder: Path) -> str:
    parts = []
    for p in folder.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            if p.suffix == ".xlsx":
                with zipfile.ZipFile(p) as z:
                    data = b"".join(z.read(n) for n in z.namelist())
            parts.append(data.decode("utf-8", errors="ignore"))
    return "\n".join(parts)


def test_classified_names_appear_in_no_output_file(env, runs):
    text = _all_text(env["out"])
    assert CLASSIFIED_NAME not in text
    assert not re.search(rf"(?<![0-9A-Za-z+/]){CLASSIFIED_CODE}(?![0-9A-Za-z+/])", text)
    # the leaking notebook was stopped by the runner's scan, not published
    assert not (env["out"] / "2023" / "leaky.html").exists()
    page = (env["out"] / "2023" / "leaky-07月.failed.html").read_text("utf-8")
    assert "涉密" in page
    # a name in the workbook alone: the workbook is named, nothing of the report published
    page = (env["out"] / "2023" / "leaky_sheet-07月.failed.html").read_text("utf-8")
    assert "涉密项目的名称或编码（.xlsx）" in page
    assert not list((env["out"] / "2023").glob("leaky_sheet*.xlsx"))


def test_leak_scan_matches_codes_as_whole_tokens():
    assert leaks.find_leaks(b"x P004 y", ["P004"]) == [0]
    assert leaks.find_leaks(b"P0041", ["P004"]) == []
    assert leaks.find_leaks("&lt;秘&gt;".encode(), ["<秘>"]) == [0]


def test_unexpected_error_fails_one_report_and_the_run_goes_on(env, monkeypatch, tmp_path):
    calls = []

    def broken(job):
        calls.append(job.stem)
        raise OSError("磁盘已满")

    monkeypatch.setattr(runner, "run_job", broken)
    summary = runner.run_reports(["probe"], db=env["db"], out=tmp_path, each=["dept"], progress=False,
                                 notebooks_dir=env["nbdir"])
    assert len(calls) == 4 and summary.exit_code == 1
    assert all(r.status == "failed" and "磁盘已满" in r.error for r in summary.results)
    page = (tmp_path / "2023" / "probe-区教体局-07月.failed.html").read_text("utf-8")
    assert "磁盘已满" in page
    assert "probe-区教体局-07月.failed.html" in (tmp_path / "index.html").read_text("utf-8")


def test_times_shown_are_in_the_rules_timezone(env, runs, monkeypatch, tmp_path, capsys):
    """rendered_at (facts.json, page, failure page) and the index's time are in report.timezone:
    Beijing time by default, a user's rules file's zone otherwise; an unknown zone exits 2."""
    facts = json.loads(runs["good"][".facts.json"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0800", facts["rendered_at"])
    assert facts["rendered_at"] in runs["good"][".html"].decode("utf-8")
    index = (env["out"] / "index.html").read_text("utf-8")
    assert "+0800" in index and "+0000" not in index

    kathmandu = tmp_path / "tz.yaml"
    kathmandu.write_text("report:\n  timezone: Asia/Kathmandu\n", encoding="utf-8")

    def broken(job):
        raise OSError("磁盘已满")

    monkeypatch.setattr(runner, "run_job", broken)  # a failure page without a kernel
    summary = runner.run_reports(["probe"], db=env["db"], out=tmp_path / "out", rules=kathmandu,
                                 progress=False, notebooks_dir=env["nbdir"])
    assert summary.results[0].rendered_at.endswith(" +0545")
    page = (tmp_path / "out" / "2023" / "probe-07月.failed.html").read_text("utf-8")
    assert summary.results[0].rendered_at in page
    index = (tmp_path / "out" / "index.html").read_text("utf-8")
    assert "+0545" in index and "+0800" not in index

    bad = tmp_path / "bad-tz.yaml"
    bad.write_text("report:\n  timezone: Asia/Beijing\n", encoding="utf-8")
    monkeypatch.setenv("PERFLIB_NOTEBOOKS_DIR", str(env["nbdir"]))
    assert main(["run", "probe", "--db", str(env["db"]), "--rules", str(bad), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "report.timezone" in err and "Asia/Beijing" in err


# --- refused arguments (issue 22): exit 2 with a Chinese message before anything runs ------------
@pytest.mark.parametrize("argv, words", [
    (["--jobs", "0"], ["--jobs", "0", "正整数"]),
    (["--jobs", "-5"], ["--jobs", "-5", "正整数"]),
    (["--timeout", "0"], ["--timeout", "0", "正整数"]),
    (["--timeout", "-30"], ["--timeout", "-30", "正整数"]),
], ids=["jobs-0", "jobs-neg", "timeout-0", "timeout-neg"])
def test_refused_jobs_and_timeout_exit_2_before_anything_runs(env, monkeypatch, capsys, argv, words):
    import papermill

    monkeypatch.setenv("PERFLIB_NOTEBOOKS_DIR", str(env["nbdir"]))
    monkeypatch.setattr(papermill, "execute_notebook", _no_kernel)
    monkeypatch.setattr(runner, "_early_zygote", lambda *a, **k: pytest.fail("a kernel process was started"))
    out = env["base"] / "refused-out"
    code = main(["run", "probe", "--db", str(env["db"]), "--out", str(out), "--no-progress", *argv])
    err = capsys.readouterr().err
    assert code == 2
    for w in words:
        assert w in err
    assert "Traceback" not in err
    assert not out.exists()  # nothing written


@pytest.mark.parametrize("below", ["", "sub"], ids=["file", "below-a-file"])
def test_out_naming_an_existing_file_exits_2_and_writes_nothing(env, monkeypatch, capsys, below):
    import papermill

    monkeypatch.setenv("PERFLIB_NOTEBOOKS_DIR", str(env["nbdir"]))
    monkeypatch.setattr(papermill, "execute_notebook", _no_kernel)
    monkeypatch.setattr(runner, "_early_zygote", lambda *a, **k: pytest.fail("a kernel process was started"))
    folder = env["base"] / f"out-file-{below or 'plain'}"
    folder.mkdir()
    target = folder / "reports.txt"
    target.write_text("不是文件夹", encoding="utf-8")
    out = target / below if below else target
    code = main(["run", "probe", "--db", str(env["db"]), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert str(target) in err and "文件" in err
    assert "Traceback" not in err
    assert target.read_text(encoding="utf-8") == "不是文件夹"
    assert sorted(p.name for p in folder.iterdir()) == ["reports.txt"]  # nothing written beside it
