"""perflib run --dask: each report a task on a Dask cluster (a LocalCluster started here: two worker
processes, one thread each), producing the reports and facts of a sequential run; clear errors
without dask or without a scheduler; and nothing of Dask imported by a run without --dask.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_export, write_notebook
from test_parallel import assert_same_reports

from perflib.run import plan, runner
from perflib.cli import main
from perflib.exceptions import ParameterError

pytestmark = pytest.mark.slow  # end-to-end: outside the fast lane (`-m "not slow"`)

PARAMS = "db = None\nyear = None\nrules = None\nartifacts_dir = None\ndept = None\n"
PROBE = '''import matplotlib.pyplot as plt
from perflib.present.notebook import open_report
rep = open_report("probe", db=db, year=year, rules=rules, artifacts_dir=artifacts_dir, dept=dept)
rep.heading("探针报告", 1)
projects = rep.store.projects(rep.year)
if dept is not None:
    projects = projects[projects["level1_code"] == dept]
rep.facts({"probe.projects": int(len(projects)), "probe.budget": float(projects["budget"].sum()), "probe.dept": dept})
rep.table(projects[["project_id", "project_name", "budget"]], "项目表", sheet="项目")
fig, ax = plt.subplots(figsize=(4, 3))
ax.bar(projects["project_id"], projects["budget"])
rep.figure(fig, "预算")
'''
STEMS = ["2023/probe-区教体局", "2023/probe-区科技局", "2023/probe-区财政局", "2023/probe-东风街道办事处"]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    from perflib.ingest import ingest

    base = tmp_path_factory.mktemp("dask")
    db = base / "perf.duckdb"
    ingest(write_export(base / "export"), db)
    nbdir = base / "notebooks"
    nbdir.mkdir()
    write_notebook(nbdir / "probe.ipynb", PARAMS, PROBE)
    return {"base": base, "db": db, "nbdir": nbdir}


@pytest.fixture(scope="module")
def runs(small):
    from distributed import LocalCluster

    request = dict(notebooks=["probe"], each=["dept"], db=small["db"], notebooks_dir=small["nbdir"],
                   progress=False)
    mp = pytest.MonkeyPatch()
    mp.setattr(plan, "_code_fingerprint", lambda *notebook: "pinned")  # others may edit the tree meanwhile
    try:
        seq = runner.run_reports(**request, out=small["base"] / "seq")
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            dsk = runner.run_reports(**request, out=small["base"] / "dask", dask=cluster.scheduler_address)
            again = runner.run_reports(**request, out=small["base"] / "dask", dask=cluster.scheduler_address)
    finally:
        mp.undo()
    return {"seq": seq, "dask": dsk, "again": again}


def test_dask_run_renders_the_same_reports_as_a_sequential_one(small, runs):
    assert runs["seq"].exit_code == runs["dask"].exit_code == 0
    assert [r.stem for r in runs["seq"].results] == [r.stem for r in runs["dask"].results] == STEMS
    assert all(r.status == "ok" for r in runs["dask"].results)
    assert_same_reports(small["base"] / "seq", small["base"] / "dask", STEMS)
    # 区教体局 (101) owns P001 and, through its unit 10101, P003: 1,300,000.50 + 250,000.25
    facts = json.loads((small["base"] / "dask" / f"{STEMS[0]}.facts.json").read_text("utf-8"))["facts"]
    assert facts["probe.projects"] == 2 and facts["probe.budget"] == pytest.approx(1_550_000.75)


def test_dask_results_are_indexed_and_skipped_next_time(small, runs):
    state = json.loads((small["base"] / "dask" / ".index.json").read_text("utf-8"))
    assert [state[s]["status"] for s in STEMS] == ["ok"] * 4
    assert all(state[s]["timing"]["kernel"] > 0 and "projects" in state[s]["tables"] for s in STEMS)
    assert [r.status for r in runs["again"].results] == ["cached"] * 4


def test_without_dask_installed_the_option_is_a_clear_error(small, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed → ImportError
    with pytest.raises(ParameterError, match="dask"):
        runner.run_reports(["probe"], db=small["db"], out=tmp_path, dask="tcp://127.0.0.1:8786",
                           notebooks_dir=small["nbdir"])
    monkeypatch.setenv("PERFLIB_NOTEBOOKS_DIR", str(small["nbdir"]))
    assert main(["run", "probe", "--db", str(small["db"]), "--out", str(tmp_path), "--dask", "tcp://127.0.0.1:8786"]) == 2
    assert "pip install" in capsys.readouterr().err
    assert not (tmp_path / "2023").exists()


def test_an_unreachable_scheduler_exits_2_before_any_report(small, tmp_path, monkeypatch, capsys):
    import dask

    monkeypatch.setenv("PERFLIB_NOTEBOOKS_DIR", str(small["nbdir"]))
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        code = main(["run", "probe", "--db", str(small["db"]), "--out", str(tmp_path), "--no-progress",
                     "--dask", "tcp://127.0.0.1:9"])
    assert code == 2
    assert "无法连接 Dask 调度器 tcp://127.0.0.1:9" in capsys.readouterr().err
    assert not (tmp_path / "2023").exists()


def test_a_run_without_dask_imports_nothing_of_dask(small, tmp_path):
    code = f"""
import sys
from perflib.run import runner

summary = runner.run_reports(["probe"], db={str(small["db"])!r}, out={str(tmp_path)!r},
                             notebooks_dir={str(small["nbdir"])!r}, progress=False)
assert summary.exit_code == 0, summary.describe()
print(sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed")))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert (Path(tmp_path) / "2023" / "probe.html").exists()  # it did render, with a kernel
