"""Concurrent runs and loads on the same folder and database.

* Two ``perflib run`` into the same ``reports/`` at the same time (one of them with two workers)
  both finish with exit 0; every report is valid (each file parses), its four files come from one
  run (the same 生成时间 in the page, the facts, the workbook and the notebook), the index lists every
  report once, and no temp file is left. While they run, a reader keeps opening every visible file:
  it never sees a partial one. How: every file is written to a hidden temp file and renamed over the
  old one (atomic), a report's four files are published under a per-report lock, and the index is
  merged under a lock (SECURITY.md).
* ``perflib ingest`` while reports are rendered from the same database: the run finishes on the data
  it started with; the load completes.
* Two ``perflib ingest`` into the same database at once: the lock serialises them, both finish, the
  database is complete.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import duckdb
import nbformat
import openpyxl
import pandas as pd
import pytest
from conftest import small_frames, write_export
from conftest import write_notebook as report_notebook

pytestmark = pytest.mark.slow  # end-to-end: outside the fast lane (`-m "not slow"`)

PARAMS = "db = None\nyear = None\nrules = None\nartifacts_dir = None\n"
BODY = '''from perflib.present.notebook import open_report
import time

rep = open_report("probe", db=db, year=year, rules=rules, artifacts_dir=artifacts_dir)
rep.heading("并发测试报告", 1)
rep.heading("项目")
rep.table(rep.store.projects(rep.year)[["project_id", "project_name", "budget"]], "项目表", sheet="项目")
time.sleep(0.5)
rep.text("共 %d 个项目" % len(rep.store.projects(rep.year)))
rep.facts({"probe.projects": len(rep.store.projects(rep.year))})
'''
NAMES = ("alpha", "beta", "gamma", "delta")
SUFFIXES = (".html", ".ipynb", ".facts.json", ".xlsx")


def write_notebook(path: Path, body: str = BODY) -> Path:
    return report_notebook(path, PARAMS, body)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from perflib.ingest import ingest

    base = tmp_path_factory.mktemp("concurrency")
    db = base / "perf.duckdb"
    ingest(write_export(base / "export", small_frames()), db)
    nbdir = base / "notebooks"
    nbdir.mkdir()
    for name in NAMES:
        write_notebook(nbdir / f"{name}.ipynb")
    return {"base": base, "db": db, "nbdir": nbdir}


def start_run(env, out: Path, *extra: str, db: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "perflib.cli", "run", *NAMES, "--db", str(db or env["db"]), "--out", str(out),
         "--no-progress", *extra],
        env=dict(os.environ, PERFLIB_NOTEBOOKS_DIR=str(env["nbdir"])),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def parse(path: Path):
    """Open one report file as its reader would; raises if it is partial or broken."""
    data = path.read_bytes()
    if path.suffix == ".html":
        text = data.decode("utf-8")
        assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>"), path
        return text
    if path.suffix == ".ipynb":
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
        return nb
    if path.suffix == ".json":
        return json.loads(data)
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            assert z.testzip() is None
        return openpyxl.load_workbook(path, read_only=True)
    raise AssertionError(f"unexpected visible file {path}")


def hidden(path: Path, out: Path) -> bool:
    """A dot file or inside a dot folder (temp files, locks, the index state): not for readers."""
    return any(part.startswith(".") for part in path.relative_to(out).parts)


class Reader(threading.Thread):
    """Opens every visible report file again and again while the runs write."""

    def __init__(self, out: Path):
        super().__init__(daemon=True)
        self.out, self.stop, self.opened, self.errors = out, threading.Event(), 0, []

    def run(self):
        while not self.stop.is_set():
            for p in list(self.out.rglob("*")) if self.out.exists() else []:
                if hidden(p, self.out) or not p.is_file():
                    continue
                try:
                    parse(p)
                    self.opened += 1
                except FileNotFoundError:
                    continue  # replaced between listing and opening
                except Exception as exc:  # noqa: BLE001 - a partial file: recorded, the test fails
                    self.errors.append(f"{p.name}: {exc!r}")
            time.sleep(0.02)


def _rendered_at(out: Path, name: str) -> dict[str, str]:
    """The render time stated by a report's page, facts and workbook."""
    base = out / "2023" / name
    html = parse(base.with_suffix(".html"))
    page_time = re.search(r"<dt>生成时间</dt><dd>([^<]+)</dd>", html).group(1)
    facts_time = parse(Path(str(base) + ".facts.json"))["rendered_at"]
    wb = parse(base.with_suffix(".xlsx"))
    info = {row[0]: row[1] for row in wb["说明"].iter_rows(values_only=True) if row and row[0]}
    wb.close()
    return {"html": page_time, "facts": facts_time, "xlsx": info["生成时间"]}


def test_two_runs_into_the_same_folder_both_finish_with_valid_reports(env):
    out = env["base"] / "reports"
    reader = Reader(out)
    reader.start()
    try:
        a = start_run(env, out)
        b = start_run(env, out, "--jobs", "2")
        out_a, err_a = a.communicate(timeout=600)
        out_b, err_b = b.communicate(timeout=600)
    finally:
        reader.stop.set()
        reader.join(10)
    assert a.returncode == 0, err_a[-3000:]
    assert b.returncode == 0, err_b[-3000:]
    assert "成功 4，失败 0" in out_a and "成功 4，失败 0" in out_b
    assert reader.errors == [] and reader.opened > 0
    for name in NAMES:
        times = _rendered_at(out, name)
        assert times["html"] == times["facts"] == times["xlsx"], (name, times)  # one run's four files
        facts = parse(out / "2023" / f"{name}.facts.json")
        assert facts["facts"] == {"probe.projects": 4}
    visible = sorted(str(p.relative_to(out)) for p in out.rglob("*") if not hidden(p, out))
    assert visible == sorted(["2023", "index.html"] + [f"2023/{n}{s}" for n in NAMES for s in SUFFIXES])
    assert not list(out.rglob("*.tmp"))
    state = json.loads((out / ".index.json").read_text("utf-8"))
    assert sorted(state) == [f"2023/{n}" for n in sorted(NAMES)]
    assert all(e["status"] == "ok" for e in state.values())
    index = parse(out / "index.html")
    rows = re.findall(r"<tr>\s*<td>2023</td>(.*?)</tr>", index, re.S)
    assert len(rows) == len(NAMES)  # one row per report, whichever run wrote it last
    for name in NAMES:
        assert sum(f'href="2023/{name}.html"' in r for r in rows) == 1


def test_ingest_while_a_run_reads_the_database(env):
    from perflib.ingest import ingest

    db = env["base"] / "live.duckdb"
    db.write_bytes(env["db"].read_bytes())
    frames = small_frames()
    extra = frames["projects"].iloc[[-1]].copy()
    extra["project_id"], extra["is_classified"], extra["project_name"] = "P005", "否", "新增项目"
    frames["projects"] = pd.concat([frames["projects"], extra], ignore_index=True)
    src = write_export(env["base"] / "export-v2", frames)
    out = env["base"] / "reports-live"
    run = start_run(env, out, db=db)
    time.sleep(3.0)  # the run has planned its reports and started rendering from the old data
    summary = ingest(src, db)
    stdout, stderr = run.communicate(timeout=600)
    assert run.returncode == 0, stderr[-3000:]
    assert summary.load_id == 2
    counts = {parse(out / "2023" / f"{n}.facts.json")["facts"]["probe.projects"] for n in NAMES}
    assert counts <= {4, 5}  # each report saw one whole database, the old or the new
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM projects WHERE year = 2023").fetchone()[0] == 5
    finally:
        con.close()


def test_two_ingests_at_once_are_serialised(env):
    db = env["base"] / "twice.duckdb"
    src = env["base"] / "export"
    code = "import sys; from perflib.ingest import ingest; print(ingest(sys.argv[1], sys.argv[2]).load_id)"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(src), str(db)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [r[1][-2000:] for r in results]
    # one load made the database; the other found the very same files already loaded (no new load)
    assert sorted(r[0].strip() for r in results) == ["1", "None"]
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM projects").fetchone()[0] == 6
        assert con.execute("SELECT count(DISTINCT load_id) FROM loads").fetchone()[0] == 1
    finally:
        con.close()
