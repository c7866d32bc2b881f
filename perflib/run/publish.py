"""Publishing a report: its files (``.html``, ``.ipynb``, ``.facts.json``, ``.xlsx``) rendered from
an executed notebook, scanned for classified names and written atomically under a per-report lock;
failure pages; the index (``index.html`` and its state ``.index.json``) and the incremental cache.

A failed report never replaces the last good one: it gets ``<name>.failed.html`` instead. Every
write goes through :mod:`perflib.files`, looked up per call (fault tests patch it).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from .. import __version__
from .. import files
from ..rules import now_text
from .execute import Execution, read_artifacts
from .leaks import holds_secret, leak_error, mask, scrub
from .plan import Job, ReportResult, labelled, params_text

log = logging.getLogger("perflib.runner")
INDEX_STATE = ".index.json"
REPORT_SUFFIXES = (".ipynb", ".facts.json", ".xlsx", ".html")  # the order they are published in


def publish_report(job: Job, execution: Execution, rules, rendered_at: str) -> tuple[str | None, str | None]:
    """Render the executed job's files and publish them, or, when it failed (in its notebook, in
    rendering, or with a classified name in an output), its failure page: (error or None, title)."""
    error, title, nb = execution.error, None, execution.nb
    if error is None:
        try:
            facts, tables, meta = read_artifacts(execution.artifacts)
            from ..present.html import first_heading, notebook_body

            title = meta.get("title") or first_heading(notebook_body(nb)) or job.notebook
            outputs = report_files(job, nb, facts, tables, meta, rules=rules, title=title,
                                   rendered_at=rendered_at)
            # the text drawn in the charts too: their PNG pixels would hide a name from this scan
            scanned = dict(outputs, 图表文字="\n".join(meta.get("figure_text") or []).encode("utf-8"))
            error = leak_error(scanned, job.secrets)
            if error is None:
                write_report(Path(job.out), job.stem, outputs)
        except Exception as exc:  # noqa: BLE001 - a rendering bug fails this report only
            log.debug("render failed", exc_info=True)
            error = f"报告渲染失败：{type(exc).__name__}: {exc}"
    if error is not None:
        if nb is not None:
            _mark_running_cell(nb)
        good = Path(job.out) / f"{job.stem}.html"
        write_failure_page(job, error, nb=nb, title=title, as_of=job.as_of, inputs=job.inputs, rules=rules,
                           last_good=good.name if good.exists() else None, rendered_at=rendered_at)
    return error, title


def report_files(job: Job, nb, facts: dict, tables: list, meta: dict, *, rules, title: str,
                 rendered_at: str) -> dict[str, bytes]:
    """{suffix: bytes} of a report: the page, the executed notebook, the facts and the workbook."""
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
        "facts": facts,
    }
    info = {"报告": title, "年度": job.year, **labelled(job.display),
            "数据截至": job.as_of, "生成时间": rendered_at, "perflib 版本": __version__}
    return {
        ".html": page.encode("utf-8"),
        ".ipynb": nbformat.writes(nb).encode("utf-8"),
        ".facts.json": json.dumps(facts_doc, ensure_ascii=False, indent=2).encode("utf-8"),
        ".xlsx": xlsx_bytes(tables, info),
    }


def write_report(out: Path, stem: str, outputs: dict[str, bytes]) -> None:
    """Write a report's files atomically, companions first and the page last (once the ``.html``
    is there, so is the rest), under a per-report lock so that two runs into one folder never mix
    their files; a failure page of an earlier run is removed."""
    base = Path(out) / stem
    with publish_lock(out, stem):
        for suffix in REPORT_SUFFIXES:
            files.atomic_write_bytes(Path(str(base) + suffix), outputs[suffix])
        Path(str(base) + ".failed.html").unlink(missing_ok=True)


def publish_lock(out: Path, stem: str):
    """The lock a report's files are published under (hidden ``.locks/`` of the output folder)."""
    from filelock import FileLock

    locks = Path(out) / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    return FileLock(str(locks / (stem.replace("/", "__") + ".lock")), timeout=120)



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
                 secrets: list[str] = ()) -> Path:
    """Merge the run's results into ``.index.json`` and rewrite ``index.html`` atomically (its
    time in ``timezone``, the run's ``report.timezone``); no entry shows a ``secret``
    (:func:`index_without_secrets`)."""
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
        # entries whose files were removed by hand disappear from the index
        for stem in list(state):
            if not (out / f"{stem}.html").exists() and not (out / f"{stem}.failed.html").exists():
                del state[stem]
        state = index_without_secrets(state, list(secrets))
        files.atomic_write_text(state_path, json.dumps(state, ensure_ascii=False, indent=1))
        entries = []
        for stem, e in state.items():
            good = (out / f"{stem}.html").exists()
            failed = (out / f"{stem}.failed.html").exists()
            row = dict(e, stem=stem)
            row["html"] = f"{stem}.html" if good else None
            row["failed_html"] = f"{stem}.failed.html" if failed and e.get("status") != "ok" else None
            row["files"] = [(label, f"{stem}{suffix}") for label, suffix in
                            (("HTML", ".html"), ("xlsx", ".xlsx"), ("facts", ".facts.json"), ("ipynb", ".ipynb"))
                            if (out / f"{stem}{suffix}").exists()]
            entries.append(row)
        files.atomic_write_text(out / "index.html", render_index(entries, updated_at=now_text(timezone)))
    return out / "index.html"


def index_without_secrets(state: dict, secrets: list[str]) -> dict:
    """The index state with every classified name or code masked where people read it (parameters,
    title, error) and entries whose file name holds one left out (SECURITY.md §13)."""
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
    if not all((out / f"{job.stem}{s}").exists() for s in (".html", ".ipynb", ".facts.json", ".xlsx")):
        return None
    return ReportResult(notebook=job.notebook, stem=job.stem, year=job.year, display=job.display,
                        status="cached", seconds=0.0, rendered_at=entry.get("rendered_at", ""),
                        title=entry.get("title"), fingerprint=job.fingerprint)


