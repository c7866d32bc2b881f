"""perflib run --jobs N and the kernels behind it: parallel reports identical to sequential ones,
kernels forked from a preloaded zygote identical to fresh ones, kernels in the notebook's folder
over IPC (no chdir in the parent, no TCP ports), one retry on a kernel dead at start, a dying worker
failing its reports and not the run, quiet logs and a progress bar with counts.

Kernel starts are slow: the demo reports are rendered once per mode for the whole module, the
mechanics are checked with a tiny probe notebook on the small export.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
from pathlib import Path

import openpyxl
import pytest
from conftest import write_export, write_notebook

from perflib.run import plan, runner
from perflib.cli import main
from perflib.exceptions import ParameterError

pytestmark = pytest.mark.slow  # end-to-end: outside the fast lane (`-m "not slow"`)

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
DEMO_REQUEST = dict(notebooks=["fiscal", "cost"],
                    params=[("street", "东风街道办事处"), ("project_type", "道路保洁")])
DEMO_STEMS = ["2023/fiscal-东风街道办事处", "2023/cost-道路保洁"]

PARAMS = "db = None\nyear = None\nrules = None\nartifacts_dir = None\nn = 1\n"
PROBE = '''import json, os, sys
preloaded = "perflib.present.notebook" in sys.modules  # imported by the zygote, not yet by this notebook
frozen = __import__("gc").get_freeze_count()  # the zygote's objects, moved out of the collector's reach
from ipykernel.connect import get_connection_info
transport = json.loads(get_connection_info())["transport"]
from perflib.present.notebook import open_report

rep = open_report("probe", db=db, year=year, rules=rules, artifacts_dir=artifacts_dir)
rep.heading("探针报告", 1)
with open(f"/proc/{os.getppid()}/cmdline") as fh:  # the zygote, or what it became once retired
    parent = fh.read().split("\\0")
from ipykernel.debugger import _is_debugpy_available
import pyarrow
rep.facts({"probe.cwd": os.getcwd(), "probe.preloaded": preloaded, "probe.transport": transport,
           "probe.frozen": frozen, "probe.n": n, "probe.projects": int(len(rep.store.projects(rep.year))),
           "probe.pid": os.getpid(), "probe.parent": parent, "probe.debugger": _is_debugpy_available,
           "probe.arrow_pool": pyarrow.default_memory_pool().backend_name})
'''
KILLER = '''import os, signal
manager = int(os.environ["JPY_PARENT_PID"])  # the worker process that started this kernel
if manager != protect:
    os.kill(manager, signal.SIGKILL)
'''


def normalised_html(path: Path) -> str:
    """A report page without what legitimately differs between two renders: the render time and
    papermill's random id for the injected-parameters cell."""
    text = path.read_text("utf-8")
    text = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}", "<time>", text)
    text = re.sub(r'(celltag_injected-parameters" id=")cell-id=[0-9a-f]+', r"\1<id>", text)
    return re.sub(r'id="cell-id=[0-9a-f]+"( class="[^"]*celltag_injected-parameters)', r'id="<id>"\1', text)


def facts_without_time(path: Path) -> dict:
    doc = json.loads(path.read_text("utf-8"))
    assert doc.pop("rendered_at")
    return doc


def xlsx_values(path: Path) -> dict:
    wb = openpyxl.load_workbook(path, read_only=True)
    out = {}
    for ws in wb.worksheets:
        out[ws.title] = [row for row in ws.iter_rows(values_only=True) if row and row[0] != "生成时间"]
    return out


def notebook_outputs(path: Path) -> list:
    """Cells' sources and outputs (the injected artifacts_dir is a temporary folder per report)."""
    text = re.sub(r'artifacts_dir = \\"[^"\\]*\\"', "artifacts_dir = <tmp>", path.read_text("utf-8"))
    return [(c["source"], c.get("outputs")) for c in json.loads(text)["cells"]]


def assert_same_reports(a: Path, b: Path, stems: list[str]) -> None:
    for stem in stems:
        assert normalised_html(a / f"{stem}.html") == normalised_html(b / f"{stem}.html"), stem
        assert facts_without_time(a / f"{stem}.facts.json") == facts_without_time(b / f"{stem}.facts.json")
        assert xlsx_values(a / f"{stem}.xlsx") == xlsx_values(b / f"{stem}.xlsx")
        assert notebook_outputs(a / f"{stem}.ipynb") == notebook_outputs(b / f"{stem}.ipynb")


# --- the demo reports: sequential in fresh kernels vs two workers forking from the zygote --------
@pytest.fixture(scope="module")
def demo_runs(demo_db, tmp_path_factory):
    base = tmp_path_factory.mktemp("parallel")
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("PERFLIB_PRELOAD", "0")  # the reference: ordinary kernel starts, one at a time
        seq = runner.run_reports(**DEMO_REQUEST, db=demo_db, out=base / "seq", progress=False,
                                 notebooks_dir=NOTEBOOKS)
        mp.delenv("PERFLIB_PRELOAD")
        par = runner.run_reports(**DEMO_REQUEST, db=demo_db, out=base / "par", jobs=2, progress=False,
                                 notebooks_dir=NOTEBOOKS)
    finally:
        mp.undo()
    return {"seq": seq, "par": par, "base": base}


def test_parallel_run_renders_the_same_reports_as_a_sequential_one(demo_runs):
    seq, par = demo_runs["seq"], demo_runs["par"]
    assert seq.exit_code == par.exit_code == 0
    assert [r.stem for r in seq.results] == [r.stem for r in par.results] == DEMO_STEMS
    assert all(r.status == "ok" for r in seq.results + par.results)
    # same facts, page (figures included, byte for byte), tables and notebook outputs
    assert_same_reports(demo_runs["base"] / "seq", demo_runs["base"] / "par", DEMO_STEMS)


def test_each_report_records_where_its_time_went(demo_runs):
    state = json.loads((demo_runs["base"] / "par" / ".index.json").read_text("utf-8"))
    for stem in DEMO_STEMS:
        t = state[stem]["timing"]
        assert set(t) >= {"kernel", "execute", "cells", "render", "total"}
        assert all(v > 0 for v in t.values())
        assert t["cells"] <= t["execute"] + 0.05  # the cells run between kernel ready and the end
        assert t["kernel"] + t["execute"] + t["render"] <= t["total"] + 0.05
        # the tables each report read are recorded for the next incremental run
        assert {"projects", "departments"} <= set(state[stem]["tables"])
    assert "street_fiscal" in state["2023/fiscal-东风街道办事处"]["tables"]
    assert "costs" in state["2023/cost-道路保洁"]["tables"]
    assert "street_fiscal" not in state["2023/cost-道路保洁"]["tables"]


# --- mechanics on the small export ----------------------------------------------------------------
@pytest.fixture(scope="module")
def small(tmp_path_factory):
    from perflib.ingest import ingest

    base = tmp_path_factory.mktemp("kernels")
    db = base / "perf.duckdb"
    ingest(write_export(base / "export"), db)
    nbdir = base / "notebooks"
    nbdir.mkdir()
    write_notebook(nbdir / "probe.ipynb", PARAMS, PROBE)
    write_notebook(nbdir / "killer.ipynb", PARAMS + "protect = 0\n", KILLER)
    return {"base": base, "db": db, "nbdir": nbdir}


def probe_facts(out: Path) -> dict:
    return json.loads((out / "2023" / "probe.facts.json").read_text("utf-8"))["facts"]


@pytest.mark.parametrize("preload", ["1", "0"])
def test_kernel_runs_in_the_notebook_folder_over_ipc_and_the_parent_never_chdirs(small, tmp_path, monkeypatch,
                                                                                 preload):
    monkeypatch.setenv("PERFLIB_PRELOAD", preload)

    cwd = os.getcwd()
    real_chdir = os.chdir

    def no_chdir(path):  # papermill "changes" to the current folder around its file reads: harmless
        if Path(path).resolve() != Path(cwd).resolve():
            raise AssertionError(f"os.chdir({path!r}) in the process that runs reports")
        real_chdir(path)

    monkeypatch.setattr(os, "chdir", no_chdir)
    summary = runner.run_reports(["probe"], db=small["db"], out=tmp_path, progress=False,
                                 notebooks_dir=small["nbdir"])
    assert summary.exit_code == 0 and os.getcwd() == cwd
    facts = probe_facts(tmp_path)
    assert facts["probe.cwd"] == str(small["nbdir"].resolve())
    assert facts["probe.transport"] == "ipc"  # no TCP port to race for
    assert facts["probe.preloaded"] is (preload == "1")  # forked from the zygote, or a fresh start
    assert (facts["probe.frozen"] > 100_000) is (preload == "1")  # what the zygote imported is frozen
    assert facts["probe.projects"] == 4  # P001–P004 in 2023 (small export)
    assert facts["probe.debugger"] is (preload == "0")  # a zygote's kernels import no debugpy
    assert facts["probe.arrow_pool"] == "system"  # perflib.pandas_speed's choice, in the kernel too


FLAKY = '''import os, sys
conn, counter, fail_times = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(counter, "a") as fh:
    fh.write("start\\n")
with open(counter) as fh:
    starts = len(fh.read().split())
if starts <= fail_times:
    sys.exit(3)  # dies before answering kernel_info
os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", conn])
'''


def flaky_kernel(tmp_path: Path, monkeypatch, fail_times: int) -> Path:
    """A kernel spec "flaky" whose first ``fail_times`` starts die at once; returns its start log."""
    script = tmp_path / "flaky.py"
    script.write_text(FLAKY, "utf-8")
    counter = tmp_path / "starts.txt"
    spec = tmp_path / "jupyter" / "kernels" / "flaky"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(script), "{connection_file}", str(counter), str(fail_times)],
        "display_name": "flaky", "language": "python"}), "utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return counter


def test_a_kernel_dead_at_start_is_started_once_more(small, tmp_path, monkeypatch, caplog):
    counter = flaky_kernel(tmp_path, monkeypatch, fail_times=1)
    job = plan.plan_jobs(["probe"], db=small["db"], out=tmp_path / "out", notebooks_dir=small["nbdir"])[0]
    job.kernel_name = "flaky"
    with caplog.at_level(logging.WARNING, logger="perflib.runner"):
        res = runner.run_job(job)
    assert res.status == "ok", res.error
    assert counter.read_text().split() == ["start", "start"]
    assert res.timing["retried"] == 1
    assert any("内核启动失败，重试一次" in r.getMessage() for r in caplog.records)
    assert probe_facts(tmp_path / "out")["probe.n"] == 1


def test_a_kernel_that_keeps_dying_fails_its_report_after_one_retry(small, tmp_path, monkeypatch):
    counter = flaky_kernel(tmp_path, monkeypatch, fail_times=5)
    job = plan.plan_jobs(["probe"], db=small["db"], out=tmp_path / "out", notebooks_dir=small["nbdir"])[0]
    job.kernel_name = "flaky"
    res = runner.run_job(job)
    assert res.status == "failed" and "Kernel died" in res.error
    assert counter.read_text().split() == ["start", "start"]  # two starts, no more
    assert (tmp_path / "out" / "2023" / "probe.failed.html").exists()


def test_a_worker_that_dies_fails_its_reports_not_the_run(small, tmp_path):
    summary = runner.run_reports(["killer", "probe"], db=small["db"], out=tmp_path, jobs=2, progress=False,
                                 params=[("protect", str(os.getpid()))], notebooks_dir=small["nbdir"])
    by_stem = {r.stem: r for r in summary.results}
    killer = by_stem["2023/killer-" + str(os.getpid())]
    assert killer.status == "failed" and "工作进程意外退出" in killer.error
    assert summary.exit_code == 1
    assert (tmp_path / f"{killer.stem}.failed.html").exists()
    state = json.loads((tmp_path / ".index.json").read_text("utf-8"))
    assert state[killer.stem]["status"] == "failed"


def test_logs_one_line_per_report_and_no_kernel_or_papermill_noise(small, tmp_path, caplog, capfd, monkeypatch):
    monkeypatch.setenv("PERFLIB_NOTEBOOKS_DIR", str(small["nbdir"]))
    with caplog.at_level(logging.DEBUG):
        code = main(["run", "probe", "--db", str(small["db"]), "--out", str(tmp_path), "--no-progress"])
    assert code == 0
    err = capfd.readouterr().err
    assert "without encryption" not in err and "Ctrl-C will not work" not in err
    assert not [r for r in caplog.records if r.name.startswith("papermill") and r.levelno >= logging.INFO]
    lines = [r.getMessage() for r in caplog.records if r.name == "perflib.runner" and r.levelno == logging.INFO]
    assert len(lines) == 1 and re.search(r"^probe n=1 成功 \d+\.\ds（内核启动 \d+\.\ds，单元格 \d+\.\ds，渲染 \d+\.\ds）$",
                                         lines[0]), lines


def test_progress_bar_counts_done_failed_and_skipped(small, tmp_path, capsys):
    args = dict(db=small["db"], out=tmp_path, notebooks_dir=small["nbdir"], progress=True)
    runner.run_reports(["probe"], **args)
    first = capsys.readouterr().err
    assert "生成报告" in first and "成功 1 失败 0 跳过 0" in first
    runner.run_reports(["probe"], **args)
    again = capsys.readouterr().err
    assert "成功 0 失败 0 跳过 1" in again


def test_the_zygote_spawned_while_planning_is_the_one_used_and_is_killed_when_nothing_runs(
        small, tmp_path, monkeypatch):
    """The zygote starts before planning (its imports overlap it): a run uses that one, and a run
    that finds everything up to date (or a bad request) stops it at once."""
    from perflib.run import kernels

    monkeypatch.setenv("PERFLIB_PRELOAD", "1")
    spawned, killed = [], []
    real_spawn, real_kill = kernels.Zygote.spawn, kernels.Zygote.kill
    monkeypatch.setattr(kernels.Zygote, "spawn", lambda self: spawned.append(self) or real_spawn(self))
    monkeypatch.setattr(kernels.Zygote, "kill", lambda self: killed.append(self) or real_kill(self))
    args = dict(db=small["db"], out=tmp_path, notebooks_dir=small["nbdir"])
    assert runner.run_reports(["probe"], **args).exit_code == 0
    assert len(spawned) == 1 and killed == []          # one zygote, the early one, used and closed
    assert probe_facts(tmp_path)
    assert runner.run_reports(["probe"], **args).exit_code == 0   # nothing changed: all skipped
    assert len(spawned) == 2 and killed == [spawned[1]] and spawned[1].proc is None
    with pytest.raises(ParameterError):
        runner.run_reports(["probe"], params={"no_such_parameter": "1"}, **args)
    assert len(spawned) == 3 and killed[-1] is spawned[2] and spawned[2].proc is None


def _state(pid: int) -> str | None:
    """A process's state letter (``Z``: a zombie nobody reaped), None when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def test_the_zygote_retires_once_the_runs_kernels_are_forked_and_reaps_them(small, tmp_path, monkeypatch):
    """The run tells its zygote how many kernels it will ask for: the first of two reports (one at a
    time) forks from the zygote still serving; once the last is forked the zygote gives its memory
    back by becoming a bare interpreter that stays the kernels' parent; every kernel is reaped, none
    is left to the machine's init."""
    monkeypatch.setenv("PERFLIB_PRELOAD", "1")
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    for name in ("probe", "probe_b"):
        write_notebook(nbdir / f"{name}.ipynb", PARAMS, PROBE)
    out = tmp_path / "out"
    summary = runner.run_reports(["probe", "probe_b"], db=small["db"], out=out, jobs=1, progress=False,
                                 notebooks_dir=nbdir)
    assert summary.exit_code == 0
    facts = [json.loads((out / "2023" / f"{n}.facts.json").read_text("utf-8"))["facts"] for n in ("probe", "probe_b")]
    assert all(f["probe.preloaded"] for f in facts)  # both forked from the preloaded zygote
    kinds = sorted("zygote" if "zygote" in f["probe.parent"] else
                   "retired" if f["probe.parent"][1:4] == ["-I", "-S", "-c"] else " ".join(f["probe.parent"])
                   for f in facts)
    assert kinds == ["retired", "zygote"]
    assert [_state(f["probe.pid"]) for f in facts] == [None, None]


def test_a_launcher_whose_run_was_killed_before_the_zygote_listened_gives_up_at_once(tmp_path, monkeypatch):
    """A run killed while its zygote was still starting takes the zygote with it (the socket is
    never bound, or refuses): the run's orphaned launcher stops instead of trying for its 30 s and
    then starting an ordinary kernel that nobody will use."""
    from perflib.run import kernels

    monkeypatch.setenv("JPY_PARENT_PID", "4242")  # the manager, as jupyter_client names it
    parents = iter([4242, 4242, 1])  # the launcher's parent at its start, at its first try, then gone

    def fallback(argv):
        pytest.fail(f"started a kernel for a dead run: {argv}")

    monkeypatch.setattr(kernels.os, "getppid", lambda: next(parents, 1))
    monkeypatch.setattr(kernels, "_fallback", fallback)
    tries = []

    def sleep(seconds):
        tries.append(seconds)
        if len(tries) > 3:
            pytest.fail("kept trying for a dead run")

    monkeypatch.setattr(kernels.time, "sleep", sleep)
    assert kernels.launch(str(tmp_path / "never.sock"), ["-f", "k.json"], wait=3600) == 1
    assert tries == [0.05]  # one try while the run lived, none after


def test_a_launcher_whose_manager_died_before_it_started_gives_up_at_once(tmp_path, monkeypatch):
    """A run stopped just as a worker started a kernel: the worker (the kernel manager) is gone
    before its launcher's interpreter looks at its parent, which is already init. The launcher
    knows its manager from ``JPY_PARENT_PID`` and stops at once; it used to wait its 30 s for a
    zygote that had gone with the run, then start a kernel nobody would use (CI saw one alive
    30 s after a run was stopped)."""
    from perflib.run import kernels

    monkeypatch.setenv("JPY_PARENT_PID", "4242")
    monkeypatch.setattr(kernels.os, "getppid", lambda: 1)
    monkeypatch.setattr(kernels, "_fallback", lambda argv: pytest.fail(f"started a kernel for a dead run: {argv}"))
    monkeypatch.setattr(kernels.time, "sleep", lambda s: pytest.fail("waited for a dead run's zygote"))
    monkeypatch.setattr(kernels.socket, "socket", lambda *a: pytest.fail("asked a dead run's zygote"))
    assert kernels.launch(str(tmp_path / "z.sock"), ["-f", "k.json"], wait=3600) == 1


def test_a_zygote_whose_run_died_before_it_started_imports_nothing(monkeypatch):
    """The zygote learns the run's pid from its spec: a run already gone when the zygote first
    looks (it was handed to init) stops it before its first import, not seconds of imports later."""
    from perflib.run import kernels

    class Exited(Exception):
        pass

    def exit_(code):
        raise Exited(code)

    imported = []
    monkeypatch.setattr(kernels.os, "getppid", lambda: 1)
    monkeypatch.setattr(kernels.os, "_exit", exit_)
    monkeypatch.setattr(kernels.importlib, "import_module", imported.append)
    with pytest.raises(Exited):
        kernels._preload(["pandas", "matplotlib"], parent=4242)
    assert imported == []
    kernels._preload(["pandas"], parent=1)  # the run lives (still our parent): everything is imported
    assert imported == ["pandas"]


def test_a_kernel_asked_of_a_retired_zygote_starts_the_ordinary_way_at_once(tmp_path, monkeypatch):
    """A launcher that finds the zygote retired (a report's retry after its kernel died at start)
    does not wait for a socket that will never come back."""
    from perflib.run import kernels

    address = str(tmp_path / "z.sock")
    Path(address + kernels.RETIRED).touch()

    class Fallback(Exception):
        pass

    def fallback(argv):
        raise Fallback(argv)

    monkeypatch.setattr(kernels, "_fallback", fallback)
    monkeypatch.setattr(kernels.time, "sleep", lambda s: pytest.fail("waited for a retired zygote"))
    with pytest.raises(Fallback):
        kernels.launch(address, ["-f", "k.json"], wait=3600)
    assert kernels._retire_budget(b"retire-after 3\n", None) == 3
    assert kernels._retire_budget(b"retire-after x\nnoise\n", 2) == 2
