"""papermill as :mod:`perflib.run.execute` drives it: the executed notebook is written once, when
execution is over, and still after a failure (the failure page shows the cells run so far)."""
from __future__ import annotations

import subprocess
import sys
import time

import nbformat
import papermill
import papermill.engines
import pytest
from conftest import write_notebook
from nbformat.v4 import new_code_cell, new_notebook

from perflib.run import execute, kernels

PROBE_PARAMS = 'db = None\nyear = None\nrules = None\nartifacts_dir = None\n'
PROBE_BODY = '''from perflib.present.notebook import open_report
import matplotlib.pyplot as plt
rep = open_report("probe", db=db, year=year, rules=rules, artifacts_dir=artifacts_dir)
rep.heading("探针报告", 1)
rep.table(rep.store.projects(rep.year)[["project_id", "project_name", "budget"]], "项目表", sheet="项目")
fig, ax = plt.subplots()
ax.plot([1, 2], [3, 4])
rep.figure(fig, "图")
rep.text("正文段落")
'''


def _notebook(path, *sources):
    nb = new_notebook(cells=[new_code_cell(s) for s in sources],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, str(path))
    return path


def _writes(monkeypatch) -> list[str]:
    written: list[str] = []
    real = papermill.engines.write_ipynb

    def counting(nb, path):
        written.append(str(path))
        return real(nb, path)
    monkeypatch.setattr(papermill.engines, "write_ipynb", counting)
    return written


def test_the_executed_notebook_is_written_once_with_every_output(tmp_path, monkeypatch):
    written = _writes(monkeypatch)
    src = _notebook(tmp_path / "in.ipynb", "print('一')", "x = 2", "x + 3")
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(str(src), str(out), engine_name=execute._engine(), progress_bar=False,
                               kernel_manager_class=kernels.kernel_manager_class())
    assert written == [str(out)]          # papermill's own engine writes it 2 × 3 cells + 2 times
    nb = nbformat.read(str(out), as_version=4)
    assert [o["text"] for o in nb.cells[0].outputs] == ["一\n"]
    assert nb.cells[2].outputs[0]["data"]["text/plain"] == "5"


def test_after_a_failing_cell_the_cells_run_so_far_are_written(tmp_path, monkeypatch):
    written = _writes(monkeypatch)
    src = _notebook(tmp_path / "in.ipynb", "print('前')", "1 / 0", "print('后')")
    out = tmp_path / "out.ipynb"
    with pytest.raises(papermill.PapermillExecutionError):
        papermill.execute_notebook(str(src), str(out), engine_name=execute._engine(), progress_bar=False,
                                   kernel_manager_class=kernels.kernel_manager_class())
    assert written == [str(out)]
    nb = nbformat.read(str(out), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [o["text"] for o in code[0].outputs] == ["前\n"]
    assert code[1].outputs[0]["ename"] == "ZeroDivisionError" and code[2].outputs == []


def test_a_kernel_that_ran_every_cell_is_stopped_and_one_after_a_failure_asked_to_shut_down(tmp_path, monkeypatch):
    """Once every cell has replied (its outputs are in) the kernel is stopped at once instead of
    being asked to wind down; after a failing cell it is still asked, and the outputs are the same."""
    manager = kernels.kernel_manager_class()
    asked: list[bool] = []
    real = manager.shutdown_kernel

    async def shutdown(self, now=False, restart=False):
        asked.append(now)
        return await real(self, now=now, restart=restart)

    monkeypatch.setattr(manager, "shutdown_kernel", shutdown)
    ok = _notebook(tmp_path / "ok.ipynb", "print('一')", "x = 2", "x + 3")
    papermill.execute_notebook(str(ok), str(tmp_path / "ok-out.ipynb"), engine_name=execute._engine(),
                               progress_bar=False, kernel_manager_class=manager)
    nb = nbformat.read(str(tmp_path / "ok-out.ipynb"), as_version=4)
    assert nb.cells[2].outputs[0]["data"]["text/plain"] == "5" and nb.metadata["language_info"]["name"] == "python"
    bad = _notebook(tmp_path / "bad.ipynb", "print('前')", "1 / 0")
    with pytest.raises(papermill.PapermillExecutionError):
        papermill.execute_notebook(str(bad), str(tmp_path / "bad-out.ipynb"), engine_name=execute._engine(),
                                   progress_bar=False, kernel_manager_class=manager)
    assert asked == [True, False]


def test_a_stopped_kernel_is_looked_at_every_few_milliseconds_not_every_tenth_of_a_second(tmp_path, monkeypatch):
    """jupyter_client waits for a killed kernel's end by looking every 0.1 s; a report's kernel is
    stopped once its cells are over, so the runner's manager looks every ``SHUTDOWN_POLL``."""
    from jupyter_client.manager import KernelManager

    looks: list[float] = []
    real = KernelManager._async_wait

    async def wait(self, pollinterval=0.1):
        looks.append(pollinterval)
        return await real(self, pollinterval=pollinterval)

    monkeypatch.setattr(KernelManager, "_async_wait", wait)
    src = _notebook(tmp_path / "in.ipynb", "x = 1")
    papermill.execute_notebook(str(src), str(tmp_path / "out.ipynb"), engine_name=execute._engine(), progress_bar=False,
                               kernel_manager_class=kernels.kernel_manager_class())
    assert looks and all(p <= kernels.SHUTDOWN_POLL for p in looks)


# --- work alongside the cells (perflib.run.execute._Alongside: the runner's render warm-up) ---------
def _job(path):
    """What :func:`execute.execute_job` reads of a job, for a plain notebook and an ordinary kernel."""
    from types import SimpleNamespace

    return SimpleNamespace(path=str(path), kernel_name="python3", timeout=60, log_output=False, stem="probe",
                           preload=(), code_key="", zygote=None, params={}, db="", year=0, rules=None)


def test_work_alongside_runs_while_the_cells_run_is_over_before_the_result_and_fails_nothing(
        tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("PERFLIB_PRELOAD", "0")
    done = tmp_path / "cells-done"
    src = _notebook(tmp_path / "in.ipynb", "import time\ntime.sleep(1.0)",
                    f"open({str(done)!r}, 'w').close()")
    events: list[tuple[str, bool]] = []
    folders: list = []

    def work(artifacts, stop):
        folders.append(artifacts)
        events.append(("start", done.exists()))
        time.sleep(0.3)
        events.append(("end", done.exists()))
        stop.wait(30)  # told when the cells are over
        events.append(("stopped", done.exists()))
        raise RuntimeError("预热失败")  # a head start only: the report does not fail with it

    with caplog.at_level("DEBUG", logger="perflib.runner"):
        with execute.execute_job(_job(src), while_cells=work) as ex:
            seen = list(events)  # what the caller sees once execution is over
            assert folders == [ex.artifacts]  # the folder the notebook records its tables in
    assert ex.error is None and ex.nb is not None and done.exists()
    # started after the kernel was up, while the first cell slept; stopped once the cells were
    # over; joined before the result
    assert seen == [("start", False), ("end", False), ("stopped", True)]
    assert any("alongside" in r.getMessage() and r.exc_info for r in caplog.records)


def test_no_work_alongside_when_the_notebook_fails_before_any_cell(tmp_path, monkeypatch):
    monkeypatch.setenv("PERFLIB_PRELOAD", "0")
    src = tmp_path / "in.ipynb"
    src.write_text("not a notebook", encoding="utf-8")
    calls: list[int] = []
    with execute.execute_job(_job(src), while_cells=lambda *_: calls.append(1)) as ex:
        assert ex.error is not None
    assert calls == []


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_the_page_rendered_after_the_warm_up_is_the_same(tmp_path):
    """publish.warm_up only imports and compiles: a page rendered after it equals one rendered cold
    (each in a fresh process)."""
    from nbformat.v4 import new_output

    cells = [new_code_cell("HTML('<p>正文</p>')", outputs=[new_output(
                 "display_data", data={"text/html": "<p>正文</p>", "text/plain": "正文"})]),
             new_code_cell("1 + 1", outputs=[new_output("execute_result", data={"text/plain": "2"},
                                                        execution_count=2)])]
    out = tmp_path / "out.ipynb"
    nbformat.write(new_notebook(cells=cells), str(out))  # as an executed notebook holds them
    pages = []
    for warm in (False, True):
        code = (
            "import sys\n"
            "from perflib.run.executors import lighten_imports; lighten_imports()  # as perflib run does\n"
            "import nbformat\n"
            + ("from perflib.run.publish import warm_up; warm_up()\n" if warm else "")
            + "from perflib.present.html import render_report\n"
            f"nb = nbformat.read({str(out)!r}, as_version=4)\n"
            "page = render_report(nb, notebook='probe', params={'年度': 2023}, as_of='2023-12-31', inputs={},\n"
            "                     rules=None, title='探针', rendered_at='2026-12-04 12:00')\n"
            "sys.stdout.buffer.write(page.encode('utf-8'))\n"
        )
        done = _python(code)
        assert done.returncode == 0, done.stderr
        pages.append(done.stdout)
    assert "正文" in pages[0] and pages[0] == pages[1]


def test_perflib_run_starts_its_zygote_before_importing_pandas(tmp_path):
    """The kernels' zygote imports for a second or more; perflib run spawns it before anything
    imports pandas (finding the store, the runner and its dependency scan need none), so that
    both imports overlap."""
    code = (
        "import sys\n"
        "import perflib.run.runner as runner\n"
        "def early(*args, **kwargs):\n"
        "    print('PANDAS', 'pandas' in sys.modules, 'STORE', 'perflib.store' in sys.modules)\n"
        "    sys.exit(0)\n"
        "runner._early_zygote = early\n"
        "from perflib.cli import main\n"
        f"main(['run', 'monitoring', '--db', {str(tmp_path / 'none.duckdb')!r}, '--out', {str(tmp_path / 'out')!r}])\n"
    )
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["PANDAS", "False", "STORE", "False"]


@pytest.mark.slow
def test_perflib_run_imports_nothing_while_the_cells_run(ingested_db, tmp_path):
    """What makes the work alongside the cells safe: the runner's own thread only waits for the
    kernel then (no import that could race the warm-up's). A real run of a report, in a fresh
    process, with the work alongside (warm-up, workbook ahead) switched off so that only the runner's
    own imports are seen."""
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_notebook(nbs / "probe.ipynb", PROBE_PARAMS, PROBE_BODY)
    code = (
        "import sys\n"
        "import papermill.clientwrap as clientwrap\n"
        "import perflib.run.runner as runner\n"
        "runner.work_alongside = lambda ahead: None\n"
        "real = clientwrap.PapermillNotebookClient.papermill_execute_cells\n"
        "def cells(self):\n"
        "    before = set(sys.modules)\n"
        "    try:\n"
        "        return real(self)\n"
        "    finally:\n"
        "        print('NEW', sorted(set(sys.modules) - before))\n"
        "clientwrap.PapermillNotebookClient.papermill_execute_cells = cells\n"
        "summary = runner.run_reports(['probe'], db=sys.argv[1], out=sys.argv[2], notebooks_dir=sys.argv[3])\n"
        "print('EXIT', summary.exit_code)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(ingested_db), str(tmp_path / "out"), str(nbs)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-3:] == ["NEW []", "EXIT 0", ""], done.stdout + done.stderr


def test_the_runner_warms_up_on_its_main_thread_only(tmp_path, monkeypatch):
    """In a process that runs reports in a thread pool (a Dask worker) another report may be
    publishing beside it: no work alongside there."""
    import threading
    from types import SimpleNamespace

    from perflib.run import runner

    asked: list = []

    class Stop(Exception):
        pass

    def execute_job(job, while_cells=None):
        asked.append(while_cells)
        raise Stop

    monkeypatch.setattr(runner, "execute_job", execute_job)
    job = SimpleNamespace(out=str(tmp_path), stem="2023/probe", rules=None, secrets=[])
    with pytest.raises(Stop):
        runner.run_job(job)
    errors: list = []

    def in_thread():
        try:
            runner.run_job(job)
        except Stop as exc:
            errors.append(exc)
    worker = threading.Thread(target=in_thread)
    worker.start()
    worker.join()
    assert callable(asked[0]) and asked[1:] == [None] and len(errors) == 1
