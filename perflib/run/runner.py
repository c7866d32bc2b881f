"""``perflib run``: plan the reports (:mod:`~perflib.run.plan`), skip those unchanged since the
last run, execute each in its own kernel (:mod:`~perflib.run.execute`) on the chosen executor
(:mod:`~perflib.run.executors`), publish each report atomically (:mod:`~perflib.run.publish`:
``.html``, ``.ipynb``, ``.facts.json``, ``.xlsx``) and the index.

Everything that can be checked without a kernel is checked first (:class:`ParameterError`, exit 2).
A failed report never replaces the last good one: it gets ``<name>.failed.html`` instead, the others
still render, and the run exits 1.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..exceptions import ParameterError
from ..files import unwritable
from ..memory import trim_memory
from ..rules import load_rules, now_text
from .ahead import WorkbookAhead
from .execute import execute_job, preload_off, preloading, quiet_papermill
from .executors import Work, get_executor, lighten_imports
from .leaks import mask, masked_logging
from .plan import (Job, ReportResult, available_notebooks, default_notebooks_dir, params_text,
                   plan_jobs)
from .pdf import pdf_request
from .documents import attach as attach_documents
from .publish import cached_result, failed_result, longest_first, publish_report, update_index, warm_up
from .withdraw import mark_checked, prepare_output

log = logging.getLogger("perflib.runner")


@dataclass
class RunSummary:
    """The results of a run, in the order they were planned, and the output folder."""

    results: list[ReportResult]
    out: Path
    withdrawn: list[str] = field(default_factory=list)  # stems withdrawn before this run published
    notices: list[str] = field(default_factory=list)  # reports left out on purpose, and why

    @property
    def exit_code(self) -> int:
        return 0 if all(r.ok for r in self.results) else 1

    @property
    def failed(self) -> list[ReportResult]:
        return [r for r in self.results if not r.ok]

    def describe(self) -> str:
        n_ok = sum(r.ok for r in self.results)
        n_cached = sum(r.status == "cached" for r in self.results)
        skipped = f"（其中 {n_cached} 份未变化，沿用已有报告）" if n_cached else ""
        lines = [f"共生成 {len(self.results)} 份报告：成功 {n_ok}，失败 {len(self.failed)}{skipped}。"]
        if self.withdrawn:
            lines.append(f"因所涉项目密级变化，撤回了 {len(self.withdrawn)} 份已发布的报告（已替换为撤回说明）："
                         + "、".join(self.withdrawn))
        lines += [f"  未生成：{n}" for n in self.notices]
        for r in self.failed:
            lines.append(f"  失败：{r.stem}（{r.error}）→ {self.out / (r.stem + '.failed.html')}")
        for r in self.results:
            if r.notebook == "overview" and r.ok:
                lines.append(f"情况说明：{(self.out / (r.stem + '.html')).absolute()}")  # the name, not the version it links to
        lines.append(f"报告目录：{(self.out / 'index.html').absolute()}")
        return "\n".join(lines)


# --- one report, in whichever process executes it ---------------------------------------------------
def run_job(job: Job) -> ReportResult:
    """Execute one notebook and publish its outputs (or its failure page); never raises for a
    notebook failure."""
    started = time.monotonic()
    (Path(job.out) / job.stem).parent.mkdir(parents=True, exist_ok=True)
    rules = load_rules(job.rules)
    # while the kernel runs the cells this process only waits: it loads what publishing needs and
    # writes the workbook's sheets then; only where nothing else of this process runs beside it
    # (not in a Dask worker's thread pool)
    alone = threading.current_thread() is threading.main_thread()
    ahead = WorkbookAhead(job.secrets) if alone else None
    try:
        with execute_job(job, while_cells=work_alongside(ahead) if alone else None) as execution:
            rendered_at = now_text(job.timezone)
            render_started = time.monotonic()
            error, title = publish_report(job, execution, rules, rendered_at, ahead=ahead)
            timing = dict(execution.timing, render=time.monotonic() - render_started)
    finally:
        if ahead is not None:
            ahead.close()
    if ahead is not None:
        timing["sheets_ahead"] = len(ahead.written)
    timing["total"] = time.monotonic() - started
    read = sorted(execution.tables_read or ())
    return ReportResult(notebook=job.notebook, stem=job.stem, year=job.year, display=job.display,
                        status="failed" if error is not None else "ok",
                        seconds=round(time.monotonic() - started, 2), rendered_at=rendered_at, title=title,
                        error=mask(error, job.secrets) if error else None, fingerprint=job.fingerprint,
                        tables={t: job.tables.get(t, "") for t in read},
                        timing={k: round(v, 3) for k, v in timing.items()})


def work_alongside(ahead: WorkbookAhead):
    """What this process does while the kernel runs the cells: load what publishing needs, then
    write the workbook's sheets as the notebook records its tables (:mod:`.ahead`)."""
    def work(artifacts: Path, stop: threading.Event) -> None:
        warm_up()
        ahead.follow(artifacts, stop)
    return work


def run_job_safely(job: Job) -> ReportResult:
    """:func:`run_job`, with any unexpected error (disk full, a bug of ours) turned into a failed
    result for this report, so that the other reports of the run still render. What every
    executor runs."""
    started = time.monotonic()
    with masked_logging(job.secrets):  # in whichever process runs it: cell output logged too
        try:
            return run_job(job)
        except Exception as exc:  # noqa: BLE001
            log.exception("%s: unexpected error", job.stem)
            return failed_result(job, f"{type(exc).__name__}: {exc}", seconds=time.monotonic() - started)


# --- the run --------------------------------------------------------------------------------------
def check_run_arguments(*, out: Path, jobs: int, timeout: int) -> None:
    """Refuse ``--jobs``/``--timeout`` below 1 and an ``--out`` that is (or lies below) an existing
    file or that cannot be written (a read-only folder), with :class:`ParameterError` (exit 2), before anything is written or started."""
    for flag, value, what in (("--jobs", jobs, "并行生成的报告数"), ("--timeout", timeout, "每个单元格的超时秒数")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ParameterError(f"{flag} 应为正整数（{what}，至少为 1），实际为 {value}")
    for folder in (out, *out.parents):
        if folder.exists() or folder.is_symlink():
            if not folder.is_dir():
                raise ParameterError(f"--out 指定的报告文件夹无法使用：「{folder}」是一个已有的文件，不是文件夹；"
                                     "请指定一个文件夹（不存在时会自动创建）")
            break
    blocked = unwritable(out, is_dir=True)
    if blocked is not None:
        raise ParameterError(f"--out 指定的报告文件夹无法写入：「{blocked}」是只读的（没有写入权限）；"
                             "未生成任何报告。请取消只读或指定一个可写的文件夹")


def run_reports(notebooks: Iterable[str] | None = None, *, db: str | Path = "data/perf.duckdb",
                year: int | None = None, params: Iterable[tuple[str, str]] | dict | None = None,
                each: Iterable[str] = (), out: str | Path = "reports", jobs: int = 1,
                dask: str | None = None, rules: str | Path | None = None, force: bool = False,
                timeout: int = 600, log_output: bool = False, progress: bool | None = None,
                notebooks_dir: str | Path | None = None, pdf: bool | None = None, notices: bool = False,
                texts: Iterable[tuple[str, str]] | dict | None = None) -> RunSummary:
    """Render reports; returns the results (``summary.exit_code`` is 0 or 1).

    Bad requests raise :class:`ParameterError` (exit 2) before any kernel starts. ``jobs`` > 1 runs
    reports in parallel processes; ``dask`` sends them to a dask.distributed scheduler instead.
    ``force`` re-renders reports whose code, data, rules and parameters are unchanged. ``pdf``: each
    report also as PDF (None: as the rules' ``report.pdf`` says; :mod:`perflib.run.pdf`).
    ``notices``/``texts``: the Word documents (:func:`perflib.run.documents.attach`).
    """
    out = Path(out)
    check_run_arguments(out=out, jobs=jobs, timeout=timeout)
    quiet_papermill(log_output)
    if dask:
        executor = get_executor("dask", address=dask)
    else:
        executor = get_executor("processes" if jobs > 1 else "serial", workers=jobs)
    executor.check()  # ParameterError (exit 2): e.g. dask.distributed not installed
    early = None if dask else _early_zygote(notebooks, notebooks_dir)
    left_out: list[str] = []  # reports not made on purpose (classified values), and why
    try:
        planned = plan_jobs(notebooks, db=Path(db), year=year, params=params, each=each, out=out,
                            rules=Path(rules) if rules else None, timeout=timeout, log_output=log_output,
                            notebooks_dir=Path(notebooks_dir) if notebooks_dir else None, notices=left_out)
        attach_documents(planned, notices=notices, rules=load_rules(Path(rules) if rules else None),
                         texts=dict(texts.items() if isinstance(texts, dict) else (texts or [])))
        secrets = planned[0].secrets if planned else _classified(Path(db))
        if planned:
            printing = pdf_request(pdf, load_rules(Path(rules) if rules else None), Path(db))
            for job in planned:
                job.pdf = printing
        timezone = planned[0].timezone if planned else None
        # before anything is published: killed publications tidied, reports naming a project
        # classified since withdrawn, the index rewritten (see SECURITY.md)
        fresh = not out.exists()
        withdrawn = prepare_output(out, secrets, timezone)
        results: list[ReportResult] = []
        todo: list[Job] = []
        for job in planned:
            hit = None if force else cached_result(job)
            if hit is not None:
                results.append(hit)
                log.info("%s %s 跳过（未变化，沿用已有报告）", job.notebook, params_text(job.display))
            else:
                todo.append(job)
        todo = longest_first(out, todo)  # results are listed in the planned order again below
        trim_memory()  # what planning freed, before the kernels grow
        show = (sys.stderr.isatty() if progress is None else progress) and len(planned) > 0
        with masked_logging(secrets):
            try:
                _execute(executor, todo, results, zygote=not dask, early=early, show=show, total=len(planned),
                         after=lambda res: _index_one(out, res, timezone, secrets))
            finally:
                if results:
                    update_index(out, results, timezone=timezone, secrets=secrets)
                if fresh:  # what it holds was all published, and scanned, by this run
                    mark_checked(out, secrets, timezone)
        order = {j.stem: i for i, j in enumerate(planned)}
        results.sort(key=lambda r: order.get(r.stem, 0))
        return RunSummary(results=results, out=out, withdrawn=withdrawn, notices=left_out)
    finally:
        # the zygote spawned before planning, unless this run took it over (and closed it): a
        # refused request, nothing to render, or an error on the way
        if early is not None and early.proc is not None:
            early.kill()


def _classified(db: Path) -> list[str]:
    """The store's classified names and codes (for a run that planned no report)."""
    from ..store import Store

    store = Store(db, redact=False)
    try:
        return sorted(store.classified_names(), key=len, reverse=True)
    finally:
        store.close()


def _index_one(out: Path, res: ReportResult, timezone: str | None, secrets: list[str]) -> None:
    """The index right after a report is published: its entry then describes what its names show."""
    try:
        update_index(out, [res], timezone=timezone, secrets=secrets)
    except Exception:  # noqa: BLE001 - the index is rewritten once more at the end of the run
        log.debug("index not updated after %s", res.stem, exc_info=True)


def _execute(executor, todo: list[Job], results: list[ReportResult], *, zygote: bool, early,
             show: bool, total: int, after=None) -> None:
    """Hand ``todo`` to ``executor``, adding each result to ``results`` as it arrives, logging it
    and counting it on the progress bar (shown when ``show``), then calling ``after(result)``. ``zygote``: local kernels fork from
    the run's zygote (``early``: the one spawned before planning, taken over when it fits)."""
    from contextlib import nullcontext

    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    counts = {"成功": 0, "失败": 0, "跳过": len(results)}
    bar = tqdm(total=total, initial=len(results), desc="生成报告", unit="份",
               disable=not show, file=sys.stderr, dynamic_ncols=True)
    bar.set_postfix_str(_counts_text(counts), refresh=False)

    def done(res: ReportResult) -> None:
        results.append(res)
        counts["成功" if res.ok else "失败"] += 1
        level = logging.INFO if res.ok else logging.ERROR
        log.log(level, "%s %s %s %.1fs%s%s", res.notebook, params_text(res.display),
                "成功" if res.ok else "失败", res.seconds, _timing_text(res.timing),
                f"：{res.error}" if res.error else "")
        bar.set_postfix_str(_counts_text(counts), refresh=False)
        bar.update(1)
        if after is not None:
            after(res)

    started = None
    try:
        # with a bar on the terminal, log lines are printed above it instead of through it
        with logging_redirect_tqdm(tqdm_class=tqdm) if show else nullcontext():
            if zygote:
                started = _start_zygote(todo, early)
            executor(Work(run=run_job_safely, done=done, lost=failed_result), todo)
    finally:
        if started is not None:
            started.close()
        bar.close()


def _counts_text(counts: dict[str, int]) -> str:
    return " ".join(f"{k} {v}" for k, v in counts.items())


TIMING_LABELS = (("kernel", "内核启动"), ("cells", "单元格"), ("render", "渲染"))


def _timing_text(timing: dict[str, float]) -> str:
    shown = [f"{label} {timing[k]:.1f}s" for k, label in TIMING_LABELS if k in timing]
    if timing.get("retried"):
        shown.append("内核重启 1 次")
    return f"（{'，'.join(shown)}）" if shown else ""


def _early_zygote(notebooks: Iterable[str] | None, notebooks_dir: str | Path | None):
    """A zygote spawned before the run is planned, so that its imports (seconds) overlap the
    planning (about a second on a province store); its modules come from the notebooks asked for.
    None when preloading is off or a name is unknown (planning then says so)."""
    if preload_off():
        return None
    from .deps import preload_modules
    from .kernels import Zygote

    try:
        found = available_notebooks(Path(notebooks_dir) if notebooks_dir else default_notebooks_dir())
        names = list(notebooks) if notebooks else sorted(found)
        if not names or any(n not in found for n in names):
            return None
        return Zygote(preload_modules([found[n] for n in names])).spawn()
    except (OSError, RuntimeError, ValueError, SyntaxError) as exc:
        log.debug("no early zygote (%s)", exc)
        return None


def _start_zygote(todo: list[Job], early=None):
    """The run's zygote (one process that has imported what the notebooks import; every kernel of
    this run forks from it), or None: nothing to run, ``PERFLIB_PRELOAD=0``, or it failed.
    ``early``: the one :func:`_early_zygote` spawned, used when it preloads what the jobs need."""
    needed = sorted({m for j in todo for m in j.preload})
    if not todo or not preloading(todo[0]):
        return None  # an early zygote is stopped by run_reports
    from .kernels import Zygote

    try:
        if early is not None and set(needed) <= set(early.modules):
            zygote = early.wait_bound()
        else:
            if early is not None:
                early.kill()
            zygote = Zygote(needed).start()
    except (OSError, RuntimeError) as exc:
        log.debug("no zygote (%s); kernels start the ordinary way", exc)
        return None
    for j in todo:
        j.zygote = zygote.address
    # once it has forked the kernels of this run it gives its memory back (see Zygote.retire_after)
    zygote.retire_after(sum(1 for j in todo if preloading(j)))
    return zygote


def run_from_cli(args) -> int:
    """``perflib run``: the argparse namespace → exit code (0 ok, 1 a report failed)."""
    lighten_imports()
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                            stream=sys.stderr)
    summary = run_reports(
        args.notebooks or None, db=args.db, year=args.year, params=args.params, each=args.each,
        out=args.out, jobs=args.jobs, dask=args.dask, rules=args.rules, force=args.force,
        timeout=args.timeout, log_output=args.log_output, pdf=getattr(args, "pdf", None),
        notices=getattr(args, "notices", False), texts=getattr(args, "texts", None),
        progress=False if args.no_progress else (True if getattr(args, "progress", False) else None),
    )
    print(summary.describe())
    return summary.exit_code
