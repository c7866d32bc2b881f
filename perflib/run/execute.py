"""Executing one :class:`~perflib.run.plan.Job`: its notebook, parameterized, in its own kernel.

The pipeline, as papermill's own ``execute.py`` reads: make a private work folder, inject the
parameters (the job's own plus ``db``, ``year``, ``rules`` and the folder the notebook records its
facts and tables in), execute with papermill in a kernel forked from a preloaded zygote (started
once more if it dies before the first cell), and hand back the executed notebook and what it
recorded, or the reason it failed. Nothing here publishes: :mod:`perflib.run.publish` does.
"""
from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

from .plan import KERNEL_NAME, Job

log = logging.getLogger("perflib.runner")
Alongside = Callable[[Path, threading.Event], None]  # see _Alongside


@dataclass
class Execution:
    """An executed job: the notebook as papermill left it (None when it wrote nothing), the folder
    of what the notebook recorded, why it failed (None: it ran through), the seconds it took
    (kernel start, execution, cells) and the store tables its queries read (None: unrecorded)."""

    nb: Any
    artifacts: Path
    error: str | None
    timing: dict[str, float]
    tables_read: set[str] | None


@contextmanager
def execute_job(job: Job, while_cells: Alongside | None = None) -> Iterator[Execution]:
    """Execute ``job``'s notebook; the :class:`Execution` is valid inside the ``with`` block (its
    work folder is removed after it). Never raises for a notebook failure: it is the ``error``.
    ``while_cells(artifacts, stop)``: work for this process while the kernel runs the cells
    (:class:`_Alongside`), told by ``stop`` when they are over."""
    import nbformat

    work = Path(tempfile.mkdtemp(prefix="perflib-run-"))
    try:
        adir = work / "artifacts"
        adir.mkdir()
        executed = work / "executed.ipynb"
        parameters = dict(job.params, db=job.db, year=job.year, rules=job.rules, artifacts_dir=str(adir))
        error, timing, tables_read = _execute_notebook(job, parameters, executed, work, while_cells)
        nb = nbformat.read(str(executed), as_version=4) if executed.exists() else None
        yield Execution(nb=nb, artifacts=adir, error=error, timing=timing, tables_read=tables_read)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _execute_notebook(job: Job, parameters: dict, executed: Path, work: Path,
                      while_cells: Alongside | None = None
                      ) -> tuple[str | None, dict[str, float], set[str] | None]:
    """Run the notebook with papermill in its own kernel: (error or None, timing, tables read).

    The kernel runs in the notebook's folder (nbclient's ``resources`` path: no ``os.chdir`` in
    this process, which may run other reports in other threads), talks over IPC sockets in a
    private runtime directory, and is started once more if it dies before the first cell.
    """
    import papermill

    from ..store import TABLES_READ_ENV
    from .deps import read_tables_file
    from .kernels import kernel_manager_class

    quiet_papermill(job.log_output)
    tables_file = work / "tables-read.txt"
    zygote = _zygote_for(job)
    error: str | None = None
    timing: dict[str, float] = {}
    for attempt in (1, 2):
        tables_file.unlink(missing_ok=True)
        executed.unlink(missing_ok=True)
        marks: dict[str, float] = {}
        t0 = time.monotonic()
        manager = kernel_manager_class(zygote=zygote, env={TABLES_READ_ENV: str(tables_file)},
                                       log_path=work / "kernel.log")
        try:
            with _Alongside(while_cells, Path(parameters["artifacts_dir"])) as alongside:
                papermill.execute_notebook(
                    job.path, str(executed), parameters=parameters, kernel_name=job.kernel_name,
                    progress_bar=False, log_output=job.log_output, execution_timeout=job.timeout,
                    engine_name=_engine(), kernel_manager_class=manager,
                    resources={"metadata": {"path": str(Path(job.path).parent)}},
                    on_notebook_start=lambda **_: marks.setdefault("ready", time.monotonic()),
                    on_cell_start=lambda **_: _first_cell(marks, alongside.start),
                )
            error = None
        except Exception as exc:  # noqa: BLE001 - any notebook failure becomes a failure page
            if attempt == 1 and _died_at_start(exc, "first_cell" in marks):
                log.warning("%s：内核启动失败，重试一次（%s: %s）%s", job.stem, type(exc).__name__, exc,
                            _kernel_log_tail(work / "kernel.log"))
                continue
            error = _failure_reason(exc)
            if "DeadKernel" in type(exc).__name__ or "Kernel died" in str(exc):
                log.debug("%s: kernel output%s", job.stem, _kernel_log_tail(work / "kernel.log"))
        end = time.monotonic()
        ready = marks.get("ready", end)
        timing = {"kernel": ready - t0, "execute": end - ready, "cells": _cells_seconds(executed)}
        if attempt == 2:
            timing["retried"] = 1.0
        break
    return error, timing, read_tables_file(tables_file)


class _Alongside:
    """``work(artifacts, stop)`` in a thread from :meth:`start` (the first cell) on, while this
    process only waits for the kernel's messages (it imports nothing then: checked by
    tests/run/test_execute.py); when the ``with`` block ends ``stop`` is set and the thread joined,
    before the notebook's result is read, so it never runs beside anything else of this process.
    ``work`` must not raise into the report: its errors are logged and ignored."""

    def __init__(self, work: Alongside | None, artifacts: Path):
        self.work = work
        self.artifacts = artifacts
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        if self.work is not None and self.thread is None:
            self.thread = threading.Thread(target=self._run, name="perflib-alongside", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        try:
            self.work(self.artifacts, self.stop)
        except Exception:  # noqa: BLE001 - a head start only; publishing does the work anyway
            log.debug("work alongside the cells failed", exc_info=True)

    def __enter__(self) -> _Alongside:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()


def _first_cell(marks: dict[str, float], started: Callable[[], None]) -> None:
    """papermill's ``on_cell_start``: the first cell's time, and ``started()`` once."""
    if "first_cell" not in marks:
        marks["first_cell"] = time.monotonic()
        started()


def _died_at_start(exc: BaseException, cells_started: bool) -> bool:
    """A kernel that died (or never answered) before the first cell ran: worth one more start."""
    if cells_started:
        return False
    name = type(exc).__name__
    text = str(exc)
    return name == "DeadKernelError" or (isinstance(exc, RuntimeError) and (
        "Kernel died before replying" in text or "Kernel didn't respond" in text))


def _failure_reason(exc: BaseException) -> str:
    """Why a notebook failed, as its failure page and the log say it."""
    name = type(exc).__name__
    if "Timeout" in name:
        return f"单元格执行超时（{name}）"
    if "DeadKernel" in name:
        return "内核意外退出（DeadKernelError）"
    if name == "PapermillExecutionError":
        return f"单元格出错：{getattr(exc, 'ename', '')}: {getattr(exc, 'evalue', '')}"
    return f"{name}: {exc}"


def _cells_seconds(executed: Path) -> float:
    """Seconds the kernel spent in the cells (papermill's per-cell durations)."""
    try:
        nb = json.loads(executed.read_text("utf-8"))
    except (OSError, ValueError):
        return 0.0
    return sum(float(c.get("metadata", {}).get("papermill", {}).get("duration") or 0)
               for c in nb.get("cells", []))


def _kernel_log_tail(path: Path, lines: int = 20) -> str:
    """The last lines of a kernel's own output (for the log of a kernel that died)."""
    try:
        text = path.read_text("utf-8", errors="replace").strip()
    except OSError:
        return ""
    return ("\n" + "\n".join(text.splitlines()[-lines:])) if text else ""


_ENGINE = "perflib"


@lru_cache(maxsize=1)
def _engine() -> str:
    """papermill's nbclient engine, registered under our name, that writes the executed notebook
    when execution is over instead of twice per cell (papermill keeps the file up to date for
    someone watching it; here nobody reads it before the end, and a report's notebook grows with
    its figures and tables: 20–30 whole rewrites of it, 0.1–0.4 s a report)."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    class WrittenAtTheEnd(NotebookExecutionManager):
        over = False

        def save(self, **kwargs):
            if self.over:
                super().save(**kwargs)

        def notebook_complete(self, **kwargs):
            self.over = True  # also after a failure: the failure page shows the cells run so far
            super().notebook_complete(**kwargs)

    class StoppedWhenDone(PapermillNotebookClient):
        def papermill_execute_cells(self):
            super().papermill_execute_cells()
            # every cell ran and replied, and its output is in (IOPub idle): the kernel is stopped
            # then rather than asked to wind down (0.1 s of every report); after a failure or a
            # timeout it still is asked, as before
            if not self.nb.metadata.get("papermill", {}).get("exception"):
                self.shutdown_kernel = "immediate"

    class PerflibEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None, **kwargs):
            # papermill's NBClientEngine.execute_managed_notebook with the client above
            kwargs = remove_args(["input_path"], **kwargs)
            final = merge_kwargs(remove_args(["timeout", "startup_timeout"], **kwargs),
                                 timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
                                 startup_timeout=start_timeout, kernel_name=kernel_name, log=logger,
                                 log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file)
            return StoppedWhenDone(nb_man, **final).execute()

        @classmethod
        def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,
                             autosave_cell_every=30, **kwargs):
            # papermill's Engine.execute_notebook with the manager above
            nb_man = WrittenAtTheEnd(nb, output_path=output_path, progress_bar=progress_bar,
                                     log_output=log_output, autosave_cell_every=autosave_cell_every)
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

    papermill_engines.register(_ENGINE, PerflibEngine)
    return _ENGINE


# --- kernels forked from a zygote ------------------------------------------------------------------
def quiet_papermill(log_output: bool) -> None:
    """papermill's per-report INFO lines (input/output paths, "Executing notebook with kernel")
    go to DEBUG unless cell output is asked for in the log (``--log-output``)."""
    logging.getLogger("papermill").setLevel(logging.INFO if log_output else logging.WARNING)


def preload_off() -> bool:
    """``PERFLIB_PRELOAD=0``: kernels start the ordinary way, without a zygote."""
    return os.environ.get("PERFLIB_PRELOAD", "1").strip().lower() in ("0", "false", "no", "off")


def preloading(job: Job) -> bool:
    """Whether this job's kernel forks from a zygote: our Python kernel, unless ``PERFLIB_PRELOAD=0``."""
    return not preload_off() and job.kernel_name == KERNEL_NAME


def _zygote_for(job: Job) -> str | None:
    """The zygote socket this job's kernel forks from: the run's, or this worker's own (Dask);
    None for ordinary kernel starts."""
    if not preloading(job):
        return None
    if job.zygote:
        return job.zygote
    from .kernels import shared_zygote

    return shared_zygote(job.preload, job.code_key)


# --- what the notebook recorded --------------------------------------------------------------------
def read_artifacts(adir: Path) -> tuple[dict, list[tuple[str, str, Any, int]], dict]:
    """(facts, tables as ``(title, sheet, frame, total rows)``, meta) a notebook recorded; the frame
    may hold fewer rows than the total (``report.xlsx_max_rows``); no ``rows`` recorded → all."""
    from ..present.notebook import FACTS_FILE, META_FILE

    facts = json.loads((adir / FACTS_FILE).read_text("utf-8")) if (adir / FACTS_FILE).exists() else {}
    meta = json.loads((adir / META_FILE).read_text("utf-8")) if (adir / META_FILE).exists() else {}
    tables = []
    for t in recorded_tables(adir):
        frame = load_table(adir, t)
        tables.append((t["title"], t["sheet"], frame, int(t.get("rows", len(frame)))))
    return facts, tables, meta


def recorded_tables(adir: Path) -> list[dict]:
    """The tables a notebook has recorded so far, in order (``file``, ``title``, ``sheet``,
    ``rows``): the list names a table only once its file is written, and is replaced whole."""
    from ..present.notebook import TABLES_FILE

    listed = Path(adir) / TABLES_FILE
    return json.loads(listed.read_text("utf-8")) if listed.exists() else []


def load_table(adir: Path, entry: dict) -> Any:
    """The frame of one table of :func:`recorded_tables`."""
    with open(Path(adir) / "tables" / entry["file"], "rb") as fh:
        return pickle.load(fh)
