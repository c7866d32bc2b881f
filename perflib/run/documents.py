"""The Word documents published with a report (issue 16): the runner's hooks, kept here so that
``publish.py`` only calls three functions.

- :func:`report_members`: extra files of the report's own unit ({suffix: bytes}), published with its
  ``.html`` by the same rename: ``overview.docx``, built from the outline and tables the overview
  notebook recorded (:mod:`perflib.present.docx`; the notebook stays as it is).
- :func:`notice_members`: with ``--notices``, the notices of a whole-district ``monitoring`` or
  ``evaluation`` report ({file name: bytes}), built from the store after the kernel has finished
  (:mod:`perflib.present.notices`); :func:`publish_notices` publishes them as one unit of their own in
  ``<year>/notices/`` right after the report, under the report's lock. A run with ``--each dept``
  writes them from the whole-district report only (one file per department, never two owners).
- :func:`attach`: puts the request (``--notices``, the bureau's texts, the template's sha256) on the
  jobs and into their fingerprints, so incremental runs skip them only when nothing changed.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any, Iterable

from .. import files
from . import units

NOTICES_DIR = "notices"
NOTICE_NOTEBOOKS = ("monitoring", "evaluation")
DOCX_NOTEBOOKS = ("overview",)


def attach(jobs: Iterable, *, notices: bool = False, texts: dict[str, str] | None = None, rules=None) -> None:
    """Record on each job what documents it writes (``job.documents``) and fold that into its
    fingerprint. ``texts``: {一/八: path} from ``--text``, else rules ``report.docx_sections``; the
    files are read here (ParameterError, exit 2, when one cannot be), so that every worker sees the same."""
    from ..present.docx import bureau_sections, read_bureau_text, template_path

    given = dict(texts or {})
    if not given and rules is not None:
        try:
            given = dict(rules.value("report.docx_sections") or {})
        except KeyError:
            given = {}
    sections = {k: read_bureau_text(v) for k, v in bureau_sections(given).items()}
    template = template_path(rules)
    template_sha = files.sha256_file(template) if template.is_file() else str(template)
    for job in jobs:
        doc: dict[str, Any] = {}
        if job.notebook in DOCX_NOTEBOOKS:
            doc = {"texts": sections, "template": str(template), "template_sha256": template_sha}
        elif notices and job.notebook in NOTICE_NOTEBOOKS and not job.params.get("dept"):
            doc = {"notices": True, "template": str(template), "template_sha256": template_sha}
        if doc:
            job.documents = doc
            job.fingerprint = hashlib.sha256(json.dumps(
                [job.fingerprint, doc], ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _today(job, rules) -> dt.date:
    """Today in the bureau's time zone (the date the documents carry)."""
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(job.timezone or rules.value("report.timezone"))).date()


def report_members(job, tables: list, meta: dict, rules) -> dict[str, bytes]:
    """{suffix: bytes} the report's unit holds besides its four files: ``.docx`` for the overview."""
    if job.notebook not in DOCX_NOTEBOOKS or not meta.get("outline", {}).get("sections"):
        return {}
    from ..present.docx import overview_document, tables_from_artifacts

    outline = dict(meta["outline"], title=meta.get("title", ""))
    docs = getattr(job, "documents", None) or {}
    data = overview_document(outline, tables_from_artifacts(tables), texts=docs.get("texts"),
                             template=docs.get("template"), issuer=outline.get("bureau", ""),
                             day=_today(job, rules))
    return {".docx": data}


def notice_members(job, rules) -> dict[str, bytes]:
    """{file name: bytes} of the job's notices (none unless it was asked for them)."""
    if not (getattr(job, "documents", None) or {}).get("notices"):
        return {}
    from ..present import notices
    from ..store import Store

    store = Store(Path(job.db))
    try:
        if job.notebook == "monitoring":
            return notices.monitoring_notices(store, job.year, int(job.params["as_of_month"]), rules,
                                              _today(job, rules))
        return notices.evaluation_notices(store, job.year, rules, _today(job, rules))
    finally:
        store.close()


def notices_folder(job) -> tuple[Path, str]:
    """(folder, unit key) of a job's notices: ``<out>/<year>/notices``, keyed by the report's name."""
    stem = Path(job.out) / job.stem
    return stem.parent / NOTICES_DIR, stem.name


def publish_notices(job, contents: dict[str, bytes], meta: dict) -> None:
    """Publish the job's notices as one unit (all of this run's, none of an earlier run's left)."""
    if not (getattr(job, "documents", None) or {}).get("notices"):
        return
    folder, key = notices_folder(job)
    folder.mkdir(parents=True, exist_ok=True)
    with units.lock(folder, key):
        units.publish_unit(folder, key, dict(contents), dict(meta, kind="notices", stem=job.stem))


def index_links(out: Path, stem: str) -> list[tuple[str, str]]:
    """(label, link relative to ``out``) of the notices a report published, for the index."""
    path = Path(out) / stem
    folder = path.parent / NOTICES_DIR
    shown = units.current_files(folder, path.name) if folder.is_dir() else {}
    rel = Path(stem).parent / NOTICES_DIR
    return [(f"通知：{Path(n).stem}", str(rel / n)) for n in sorted(shown)]


def expected_suffixes(job) -> tuple[str, ...]:
    """Suffixes beyond the four a cached report must still have on disk."""
    return (".docx",) if job.notebook in DOCX_NOTEBOOKS else ()
