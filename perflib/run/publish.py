"""Publishing a report: its files (``.html``, ``.ipynb``, ``.facts.json``, ``.xlsx``) rendered from
an executed notebook, scanned for classified names and published as one unit (:mod:`.units`: all
four appear together or none do) under a per-report lock; failure pages; the index (``index.html``
and its state ``.index.json``) and the incremental cache.

A failed report never replaces the last good one: it gets ``<name>.failed.html`` instead. Every
write goes through :mod:`perflib.files`, looked up per call (fault tests patch it).
"""
from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

from .. import __version__
from .. import files
from ..rules import now_text
from . import documents, editions, units
from .ahead import WorkbookAhead
from .execute import Execution, read_artifacts
from .leaks import StreamScan, holds_secret, leak_error, mask, scrub
from .pdf import PDF, add_pdf
from .plan import Job, ReportResult, labelled, params_text

log = logging.getLogger("perflib.runner")
INDEX_STATE = ".index.json"
REPORT_SUFFIXES = (".ipynb", ".facts.json", ".xlsx", ".html")  # the order they are published in


def publish_report(job: Job, execution: Execution, rules, rendered_at: str,
                   ahead: WorkbookAhead | None = None) -> tuple[str | None, str | None]:
    """Render the executed job's files and publish them, or, when it failed (in its notebook, in
    rendering, or with a classified name in an output), its failure page: (error or None, title).
    ``ahead``: the workbook's sheets written while the cells ran (:mod:`.ahead`)."""
    error, title, nb = execution.error, None, execution.nb
    if error is None:
        try:
            facts, tables, meta = read_artifacts(execution.artifacts)
            from ..present.html import first_heading, notebook_body

            title = meta.get("title") or first_heading(notebook_body(nb)) or job.notebook
            version = units.new_version()
            found: dict[str, list[int]] = {}  # the workbook is scanned while it is written
            outputs = report_files(job, nb, facts, tables, meta, rules=rules, title=title,
                                   rendered_at=rendered_at, publication=version, scanned=found, ahead=ahead)
            outputs.update(documents.report_members(job, tables, meta, rules))  # overview.docx
            pdf_info = add_pdf(job, outputs, title=title, rendered_at=rendered_at, rules=rules)
            notices = documents.notice_members(job, rules)  # --notices: {file name: .docx}
            # the text drawn in the charts too: their PNG pixels would hide a name from this scan
            everything = dict(outputs, 图表文字="\n".join(meta.get("figure_text") or []).encode("utf-8"), **pdf_info,
                              **{f"{documents.NOTICES_DIR}/{n}": d for n, d in notices.items()})
            error = leak_error(everything, job.secrets, scanned=found)
            if error is None:
                unit_meta = {"rendered_at": rendered_at, "notebook": job.notebook,
                             "classified_sha256": secrets_digest(job.secrets)}
                write_report(Path(job.out), job.stem, outputs, version=version, meta=unit_meta,
                             edition=lambda folder, key: _edition(job, folder, key, outputs, version))
                documents.publish_notices(job, notices, unit_meta)
        except Exception as exc:  # noqa: BLE001 - a rendering bug fails this report only
            log.debug("render failed", exc_info=True)
            error = f"报告渲染失败：{type(exc).__name__}: {exc}"
    if error is not None:
        if nb is not None:
            _mark_running_cell(nb)
        good = Path(job.out) / f"{job.stem}.html"
        shown = published_kind(Path(job.out), job.stem) == "report"
        write_failure_page(job, error, nb=nb, title=title, as_of=job.as_of, inputs=job.inputs, rules=rules,
                           last_good=good.name if shown else None, rendered_at=rendered_at)
    return error, title


def warm_up() -> None:
    """Load what publishing a report needs: the page's and the workbook's writers, the modules that
    read a notebook's artifacts (what :func:`perflib.run.runner.run_job` does while the kernel runs
    the cells, when this process only waits: the first report then renders ~0.3 s sooner)."""
    import pyarrow  # noqa: F401 - the artifacts' frames hold Arrow arrays

    from ..present import html, notebook, xlsx  # noqa: F401

    html.warm_up()


def report_files(job: Job, nb, facts: dict, tables: list, meta: dict, *, rules, title: str,
                 rendered_at: str, publication: str = "", scanned: dict[str, list[int]] | None = None,
                 ahead: WorkbookAhead | None = None) -> dict[str, bytes]:
    """{suffix: bytes} of a report: the page, the executed notebook, the facts and the workbook
    (the notebook's metadata names its ``rendered_at`` and ``publication``: the unit version).
    ``scanned``: a dict that gets the classified names found in the workbook's XML as it was
    written (``{".xlsx": indexes}``, :class:`~perflib.run.leaks.StreamScan`) for :func:`leak_error`.
    ``ahead``: the workbook begun while the cells ran, completed here when it holds these tables."""
    import nbformat

    from ..present.html import render_report, xlsx_bytes

    page = render_report(nb, notebook=job.notebook, params=dict(labelled(job.display), 年度=job.year),
                         as_of=job.as_of, inputs=job.inputs, rules=rules, title=title,
                         rules_sections=meta.get("rules_sections"), rendered_at=rendered_at)
    facts_doc = {
        "notebook": job.notebook,
        "parameters": dict(job.params, year=job.year),
        "perflib_version": __version__,
        "inputs": job.inputs,
        "rules_sha256": rules.sha256,
        "rendered_at": rendered_at,
        "load_id": job.load_id,  # the store's load the report was drawn from (table loads)
        "facts": facts,
        # each fact's 口径 (perflib.present.scopes), recorded by the notebook beside the facts
        "scopes": {k: v for k, v in (meta.get("scopes") or {}).items() if k in facts},
    }
    nb.metadata["perflib"] = {"rendered_at": rendered_at, "publication": publication}
    info = {"报告": title, "年度": job.year, **labelled(job.display),
            "数据截至": job.as_of, "生成时间": rendered_at, "perflib 版本": __version__}
    return {
        ".html": page.encode("utf-8"),
        ".ipynb": nbformat.writes(nb).encode("utf-8"),
        ".facts.json": json.dumps(facts_doc, ensure_ascii=False, indent=2).encode("utf-8"),
        ".xlsx": _workbook(tables, info, job.secrets, scanned, ahead),
    }


def _workbook(tables: list, info: dict, secrets: list[str], scanned: dict[str, list[int]] | None,
              ahead: WorkbookAhead | None = None) -> bytes:
    """The report's .xlsx; with ``scanned``, its XML is scanned for ``secrets`` as it is written
    (what ``ahead`` wrote was scanned as it wrote it)."""
    from ..present.html import xlsx_bytes

    book = ahead.book_for(tables) if ahead is not None and scanned is not None else None
    if book is not None:
        data = xlsx_bytes(tables, info, book=book)
        scanned[".xlsx"] = ahead.found()
        return data
    if scanned is None or not secrets:
        return xlsx_bytes(tables, info)
    with StreamScan(secrets) as scan:
        data = xlsx_bytes(tables, info, observe=scan.feed)
    scanned[".xlsx"] = scan.found()
    return data


def write_report(out: Path, stem: str, outputs: dict[str, bytes], *, meta: dict | None = None,
                 version: str | None = None, edition=None) -> str:
    """Publish a report's files ({suffix: bytes}) as one unit (:func:`units.publish_unit`: all four
    switched in by one rename), under the report's lock so that two runs into one folder take turns;
    then a failure page of an earlier run is removed. Returns the version published.

    ``edition(folder, key)``, called under the lock, may complete ``outputs`` against the edition
    shown now and returns (private members of the unit, the index summary kept in its manifest)."""
    folder, key = split_stem(out, stem)
    with units.lock(folder, key):
        private, changed = edition(folder, key) if edition is not None else ({}, None)
        extra = [s for s in outputs if s not in REPORT_SUFFIXES]  # .pdf (perflib.run.pdf), .docx (perflib.run.documents)
        contents = {key + suffix: outputs[suffix] for suffix in (*extra, *REPORT_SUFFIXES)}
        unit_meta = dict(meta or {}, kind="report", stem=stem)
        if edition is not None:
            unit_meta["changes"] = changed
        version = units.publish_unit(folder, key, contents, unit_meta, version=version, private=private)
        (folder / f"{key}.failed.html").unlink(missing_ok=True)
    return version


def _edition(job: Job, folder: Path, key: str, outputs: dict[str, bytes], version: str):
    """``changes`` against the report's current edition, and its history (:mod:`.editions`)."""
    from ..present.changes import headline_of

    return editions.stamp(folder, key, outputs, version, job.secrets, headline_of(job.notebook))


def split_stem(out: Path, stem: str) -> tuple[Path, str]:
    """(folder, unit key) of a report: ``2023/overview`` → (``out/2023``, ``overview``)."""
    path = Path(out) / stem
    return path.parent, path.name


def published_kind(out: Path, stem: str) -> str | None:
    """What ``<stem>.html`` shows now: "report", "notice" (withdrawn) or None (nothing)."""
    folder, key = split_stem(out, stem)
    m = units.manifest(folder, key)
    if m is not None:
        return "notice" if m.get("kind") == "notice" else "report"
    return "report" if (folder / f"{key}.html").is_file() else None


def secrets_digest(secrets: list[str]) -> str:
    """sha256 of the sorted classified names and codes: which set a file was scanned against."""
    import hashlib

    return hashlib.sha256("\n".join(sorted(secrets)).encode("utf-8")).hexdigest()



def _mark_running_cell(nb) -> None:
    """For a timeout/dead kernel (no error output): show the cell papermill marked as running."""
    from ..present.html import failing_cell

    if failing_cell(nb) is not None:
        return
    for cell in nb.cells:
        pm = cell.get("metadata", {}).get("papermill", {})
        if cell.cell_type == "code" and pm.get("status") == "running":
            cell.setdefault("outputs", []).append({
                "output_type": "error", "ename": "执行中断", "evalue": "此单元格未能执行完毕（超时或内核退出）",
                "traceback": []})
            return




# --- failure pages ---------------------------------------------------------------------------------
def write_failure_page(job: Job, error: str, **context: Any) -> None:
    """Write ``<stem>.failed.html`` with classified names masked. ``context``: what
    :func:`perflib.present.html.render_failure` shows besides the error (the executed ``nb`` with
    its failing cell, ``title``, ``rules``, ``last_good``, ``rendered_at``…)."""
    from ..present.html import render_failure

    target = Path(job.out) / f"{job.stem}.failed.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    page = render_failure(notebook=job.notebook, params=dict(labelled(job.display), 年度=job.year),
                          error=error, **context)
    files.atomic_write_text(target, mask(page, job.secrets))


def failed_result(job: Job, error: str, seconds: float = 0.0) -> ReportResult:
    """A failed result for ``job`` with its failure page written (for errors outside the notebook:
    a bug of ours, a worker process or Dask worker that died)."""
    error = mask(error, job.secrets)
    rendered_at = now_text(job.timezone)
    try:
        write_failure_page(job, error, rendered_at=rendered_at)
    except Exception:  # noqa: BLE001 - nothing more we can do for this report
        log.exception("%s: could not write the failure page", job.stem)
    return ReportResult(notebook=job.notebook, stem=job.stem, year=job.year, display=job.display,
                        status="failed", seconds=round(seconds, 2), rendered_at=rendered_at, error=error,
                        fingerprint=job.fingerprint)


# --- the index and the incremental cache -----------------------------------------------------------
def update_index(out: Path, results: list[ReportResult], timezone: str | None = None,
                 secrets: list[str] | None = None) -> Path:
    """Merge the run's results into ``.index.json`` and rewrite ``index.html`` atomically (its
    time in ``timezone``, the run's ``report.timezone``).

    Each entry describes what its report's names show at this moment: the published version (its
    manifest: publication, time, files: complete by construction, :mod:`.units`), a withdrawal
    notice (status ``withdrawn``), or a failure page. Text fields are masked with ``secrets``, and entries whose file name holds one are left out
    (:func:`index_without_secrets`). ``.index.json`` is written before
    ``index.html``; the next run rewrites both (:func:`perflib.run.withdraw.prepare_output`).
    """
    from filelock import FileLock

    from ..present.html import render_index

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out / ".index.lock"), timeout=120):
        state_path = out / INDEX_STATE
        try:
            state = json.loads(state_path.read_text("utf-8")) if state_path.exists() else {}
        except json.JSONDecodeError:
            state = {}
        for r in results:
            state[r.stem] = _index_entry(state.get(r.stem, {}), r)
        state = index_without_secrets(state, list(secrets or []))
        entries = []
        for stem in list(state):
            row = _index_row(out, stem, state[stem])
            if row is None:  # its files were removed by hand: it disappears from the index
                del state[stem]
                continue
            state[stem] = _masked({k: v for k, v in row.items() if k not in INDEX_ROW_ONLY}, secrets or [])
            entries.append(_masked(row, secrets or []))
        files.atomic_write_text(state_path, json.dumps(state, ensure_ascii=False, indent=1))
        files.atomic_write_text(out / "index.html", render_index(entries, updated_at=now_text(timezone)))
    return out / "index.html"


INDEX_ROW_ONLY = ("stem", "html", "failed_html", "notice_html", "files")
UNMASKED = ("fingerprint", "tables", "publication", "timing")


def _index_row(out: Path, stem: str, entry: dict) -> dict | None:
    """A report's row of the index (its ``.index.json`` entry plus links), from what its names show
    now; None when none of its files is there any more."""
    folder, key = split_stem(out, stem)
    kind = published_kind(out, stem)
    failed = (folder / f"{key}.failed.html").exists()
    if kind is None and not failed:
        return None
    e = dict(entry)
    m = units.manifest(folder, key) if kind is not None else None
    row = dict(e, stem=stem, html=None, notice_html=None, files=[])
    if kind == "notice":
        for k in ("title", "fingerprint", "tables", "last_good_at", "publication", "timing", "changes"):
            row.pop(k, None)
        row["status"] = "withdrawn"
        row["withdrawn_at"] = (m or {}).get("withdrawn_at") or e.get("withdrawn_at", "")
        row["notice_html"] = f"{stem}.html"
    elif kind == "report":
        row["html"] = f"{stem}.html"
        row.pop("withdrawn_at", None)
        if m is not None and m.get("kind") == "report":
            row["publication"] = m.get("version")
            row["changes"] = m.get("changes")
            row["last_good_at"] = m.get("rendered_at") or e.get("last_good_at", "")
        shown = set(m.get("files", {})) if m is not None else None
        row["files"] = [(label, f"{stem}{suffix}") for label, suffix in
                        (("HTML", ".html"), ("PDF", PDF), ("Word", ".docx"), ("xlsx", ".xlsx"), ("facts", ".facts.json"),
                         ("ipynb", ".ipynb"))
                        if (shown is None and (folder / f"{key}{suffix}").exists())
                        or (shown is not None and f"{key}{suffix}" in shown)]
        row["files"] += documents.index_links(out, stem)
    row["failed_html"] = f"{stem}.failed.html" if failed and row.get("status") != "ok" else None
    return row


def _masked(value: Any, secrets: list[str], key: str = "") -> Any:
    """``value`` with every classified name or code masked in its text (hashes are left alone)."""
    if not secrets or key in UNMASKED:
        return value
    if isinstance(value, str):
        return mask(value, secrets)
    if isinstance(value, dict):
        return {k: _masked(v, secrets, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_masked(v, secrets) for v in value)
    return value


def index_without_secrets(state: dict, secrets: list[str]) -> dict:
    """The index state with every classified name or code masked where people read it (parameters,
    title, error) and entries whose file name holds one left out (SECURITY.md §14)."""
    if not secrets:
        return state
    dropped = [stem for stem in state if holds_secret(stem, secrets)]
    if dropped:
        log.warning("报告目录中有 %d 份报告的文件名含涉密项目的名称或编码，未列入目录", len(dropped))
    return {stem: {k: scrub(v, secrets) if k in ("params", "params_text", "title", "error") else v
                   for k, v in e.items()}
            for stem, e in state.items() if stem not in dropped}


def _index_entry(prev: dict, r: ReportResult) -> dict:
    """A report's entry in ``.index.json`` after this run (``prev``: its entry before)."""
    entry = dict(prev)
    entry.update({"notebook": r.notebook, "year": r.year, "params": r.display,
                  "params_text": params_text(r.display), "status": "ok" if r.ok else "failed",
                  "rendered_at": r.rendered_at, "seconds": r.seconds, "error": r.error})
    if r.title:
        entry["title"] = r.title
    if r.ok:
        entry["last_good_at"] = r.rendered_at if r.status == "ok" else prev.get("last_good_at", r.rendered_at)
        entry["fingerprint"] = r.fingerprint
        if r.status == "ok":  # what it read, for the next incremental run
            entry["tables"] = r.tables or {}
    else:
        entry.pop("fingerprint", None)
        entry.pop("tables", None)
    entry["skipped"] = r.status == "cached"  # the index says "unchanged", with when and how long
    if r.status != "cached":
        entry["timing"] = r.timing
    return entry


def cached_result(job: Job) -> ReportResult | None:
    """The previous result if this exact report (code, data, rules, parameters) is already rendered."""
    out = Path(job.out)
    state_path = out / INDEX_STATE
    if not state_path.exists():
        return None
    try:
        entry = json.loads(state_path.read_text("utf-8")).get(job.stem)
    except json.JSONDecodeError:
        return None
    if not entry or entry.get("fingerprint") != job.fingerprint or entry.get("status") != "ok":
        return None
    read = entry.get("tables")
    if not isinstance(read, dict) or any(job.tables.get(t) != fp for t, fp in read.items()):
        return None  # a table it read has changed (or an older index that did not record them)
    if not all((out / f"{job.stem}{s}").exists()
               for s in (".html", ".ipynb", ".facts.json", ".xlsx", *documents.expected_suffixes(job))):
        return None
    if job.pdf and not (out / f"{job.stem}{PDF}").exists():
        return None  # a PDF is asked for and this report has none yet: render it (with its PDF)
    return ReportResult(notebook=job.notebook, stem=job.stem, year=job.year, display=job.display,
                        status="cached", seconds=_rendered_seconds(entry), rendered_at=entry.get("rendered_at", ""),
                        title=entry.get("title"), fingerprint=job.fingerprint)


def longest_first(out: Path, jobs: list[Job]) -> list[Job]:
    """``jobs`` in the order that keeps the workers busy to the end of a run: the longest first, as
    long as each took when last rendered into ``out`` (the index); a report never rendered there as
    long as the mean of its notebook's, or, with none, before all of them — single reports before
    the many short ones of a fan-out (fiscal, one per street), which fill the end."""
    try:
        state = json.loads((Path(out) / INDEX_STATE).read_text("utf-8"))
    except (OSError, ValueError):
        state = {}
    known: dict[str, float] = {}
    by_notebook: dict[str, list[float]] = {}
    for job in jobs:
        entry = state.get(job.stem) if isinstance(state, dict) else None
        seconds = _rendered_seconds(entry) if isinstance(entry, dict) else 0.0
        if seconds > 0:
            known[job.stem] = seconds
            by_notebook.setdefault(job.notebook, []).append(seconds)
    fan = Counter(job.notebook for job in jobs)

    def expected(job: Job) -> float:
        if job.stem in known:
            return known[job.stem]
        seen = by_notebook.get(job.notebook)
        return sum(seen) / len(seen) if seen else float("inf")

    order = sorted(range(len(jobs)), key=lambda i: (-expected(jobs[i]), fan[jobs[i].notebook], i))
    return [jobs[i] for i in order]


def _rendered_seconds(entry: dict) -> float:
    """How long the skipped report took when it was rendered (its entry's seconds, else its timing)."""
    seconds = entry.get("seconds") or (entry.get("timing") or {}).get("total") or 0.0
    return round(float(seconds), 2)
