"""Executors: where a run's reports are executed (here one after another, in local worker
processes, or on a Dask cluster), chosen by name from a small registry.

As papermill's engines (``register(name, engine)``, ``get_engine(name)``) and ploomber's executors:
an executor is handed the work (:class:`Work`: a picklable callable that renders one job and never
raises, what to do with each result, and how to fail a job whose worker died) and the jobs; it
never imports the runner. ``serial`` and ``processes`` are registered here; ``dask`` is registered
by :mod:`perflib.run.dask`, imported only when it is asked for (nothing of Dask is imported
otherwise).
"""
from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from ..exceptions import ParameterError

log = logging.getLogger("perflib.runner")


@dataclass(frozen=True)
class Work:
    """What an executor is handed besides the jobs.

    ``run(job) -> result``: renders one job and never raises (a module-level function: picklable
    for worker processes and Dask); ``done(result)``: called in this process with each result as
    it arrives; ``lost(job, reason) -> result``: the failed result (failure page written) of a job
    whose worker died or whose task failed outside ``run``.
    """

    run: Callable[[Any], Any]
    done: Callable[[Any], None]
    lost: Callable[[Any, str], Any]


class Executor:
    """Base class: ``check()`` refuses early (before any report, :class:`ParameterError`) what
    cannot work; calling the executor runs the jobs."""

    def check(self) -> None:
        """Nothing to check by default."""

    def __call__(self, work: Work, jobs: list) -> None:
        raise NotImplementedError


class Serial(Executor):
    """Each report in turn, in this process (each its own kernel)."""

    def __init__(self, **_: Any):
        pass

    def __call__(self, work: Work, jobs: list) -> None:
        for job in jobs:
            work.done(work.run(job))


def lighten_imports() -> None:
    """Skip jsonschema's optional IRI checker (``rfc3987_syntax`` compiles a grammar at import:
    ~2.5 s of CPU in every process that imports nbformat, papermill or nbconvert; nothing here
    validates IRIs). Only for processes perflib owns: the CLI and its worker processes."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)


PARENT_POLL = 0.5  # seconds between a worker's looks at whether its run still lives


def _init_worker(level: int, parent: int) -> None:
    """Worker processes log like the parent (spawned processes start unconfigured) and end with
    their run; Ctrl-C (sent to the whole terminal group) ends them at once, without a traceback:
    the run says 「已中断」 once."""
    _end_with(parent)
    signal.signal(signal.SIGINT, _interrupted)
    lighten_imports()
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                            stream=sys.stderr)


def _interrupted(_signum, _frame) -> None:
    """A worker's Ctrl-C: its run reports the interruption; the worker ends, saying nothing."""
    os._exit(130)


def _end_with(parent: int) -> None:
    """End this worker as soon as its run (process ``parent``) is gone. A run killed by a
    scheduler (SIGKILL, or SIGTERM, which the runner does not catch) cannot stop its workers, and
    they would wait for work on the pool's queue for ever: the queue's pipe stays open in the
    siblings. The worker's kernel launchers then stop its kernel (they watch the worker)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL)
        os._exit(1)

    threading.Thread(target=watch, name="perflib-run-watch", daemon=True).start()


class Processes(Executor):
    """Each report in one of ``workers`` spawned worker processes (each report its own kernel);
    one report alone runs here. A worker that dies (killed, out of memory) fails its reports, not
    the run."""

    def __init__(self, workers: int = 2, **_: Any):
        self.workers = workers

    def __call__(self, work: Work, jobs: list) -> None:
        if self.workers <= 1 or len(jobs) <= 1:
            return Serial()(work, jobs)
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        ctx = mp.get_context("spawn")  # no forked DuckDB handles, kernel sockets or threads
        level = logging.getLogger().getEffectiveLevel()
        with ProcessPoolExecutor(max_workers=min(self.workers, len(jobs)), mp_context=ctx,
                                 initializer=_init_worker, initargs=(level, os.getpid())) as pool:
            futures = {pool.submit(work.run, j): j for j in jobs}
            for fut in as_completed(futures):
                try:
                    res = fut.result()
                except Exception as exc:  # noqa: BLE001 - BrokenProcessPool and the like
                    res = work.lost(futures[fut], f"工作进程意外退出（{type(exc).__name__}: {exc}）")
                work.done(res)


# --- the registry ----------------------------------------------------------------------------------
_EXECUTORS: dict[str, Callable[..., Executor]] = {}
_LAZY = {"dask": "perflib.run.dask"}  # registered by their module, imported on first use


def register(name: str, executor: Callable[..., Executor]) -> None:
    """Make ``executor`` (a class or factory taking the run's options as keywords) known as ``name``."""
    _EXECUTORS[name] = executor


def get_executor(name: str, **options: Any) -> Executor:
    """The executor registered as ``name``, made with ``options`` (``workers=``, ``address=``)."""
    if name not in _EXECUTORS and name in _LAZY:
        importlib.import_module(_LAZY[name])
    try:
        factory = _EXECUTORS[name]
    except KeyError:
        known = "、".join(sorted({*_EXECUTORS, *_LAZY}))
        raise ParameterError(f"没有名为「{name}」的执行方式；可用：{known}") from None
    return factory(**options)


register("serial", Serial)
register("processes", Processes)
