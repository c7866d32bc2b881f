"""Getting the output folder ready before a run publishes anything: what killed publications left is
tidied (:func:`perflib.run.units.recover`), every published report that names a project classified
since it was published is withdrawn (its files removed, a notice page in its place), and the index
is rewritten. See SECURITY.md ("A report naming a project classified later is withdrawn").

The change is detected without keeping any classified name: ``.classified-check.json`` in the output
folder holds the sha256 of the sorted classified names and codes every report there was last checked
against. When the store's set has another sha256, every report's files are scanned again for every
name and code (not only the new ones: a folder written from another store is covered too).
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from .. import files
from ..rules import now_text
from . import units
from .leaks import find_leaks, leak_error, mask
from .plan import labelled
from .publish import INDEX_STATE, REPORT_SUFFIXES, secrets_digest, split_stem, update_index

log = logging.getLogger("perflib.runner")
CHECK_RECORD = ".classified-check.json"
NOTICE = "该报告因所涉项目密级变化已撤回"


def prepare_output(out: Path, secrets: list[str], timezone: str | None = None) -> list[str]:
    """Before anything of a run is published into ``out``: tidy killed publications and the temp files
    of killed writers, withdraw the reports that name a classified project, rewrite the index.
    Returns the stems withdrawn (those whose own name holds a classified name are removed and not
    returned)."""
    out = Path(out)
    if not out.is_dir():
        return []
    for tidied in units.recover(out):
        log.debug("tidied %s", tidied)
    for p in files.sweep_temps(out):  # half-written temp files of a killed run (see SECURITY.md)
        log.info("删除了被中断的运行留下的临时文件 %s", p)
    withdrawn = withdraw_classified(out, secrets, timezone)
    if (out / INDEX_STATE).exists() or withdrawn:
        update_index(out, [], timezone=timezone, secrets=secrets)
    return withdrawn


def withdraw_classified(out: Path, secrets: list[str], timezone: str | None = None) -> list[str]:
    """Withdraw every report under ``out`` whose files (or failure page, or name) hold a classified
    name or code, unless the folder was already checked against this very set of secrets."""
    out = Path(out)
    digest = secrets_digest(secrets)
    record = out / CHECK_RECORD
    try:
        if json.loads(record.read_text("utf-8")).get("classified_sha256") == digest:
            return []
    except (OSError, ValueError, AttributeError):
        pass
    at = now_text(timezone)
    withdrawn = []
    for stem in published_stems(out):
        folder, key = split_stem(out, stem)
        with units.lock(folder, key):
            if leak_error(report_files(folder, key), secrets) is None:
                continue
            if withdraw_report(out, stem, secrets, at):
                withdrawn.append(stem)
                log.warning("已撤回报告 %s：%s（%s）", stem, NOTICE, at)
            else:
                log.warning("已撤回并删除一份报告：其名称含涉密项目的名称或编码，不再列出（%s）", at)
    _record_checked(out, digest, at)
    return withdrawn


def mark_checked(out: Path, secrets: list[str], timezone: str | None = None) -> None:
    """After a run into a folder that did not exist before it: every report there was published by
    the run, each scanned against ``secrets`` first, so the folder is recorded as checked against
    them (the next run does not scan it all again). A folder with a record already is left alone."""
    if Path(out).is_dir() and not (Path(out) / CHECK_RECORD).exists():
        _record_checked(Path(out), secrets_digest(secrets), now_text(timezone))


def _record_checked(out: Path, digest: str, at: str) -> None:
    """``CHECK_RECORD``: the folder's reports were all checked against the set hashed to ``digest``."""
    files.atomic_write_text(out / CHECK_RECORD, json.dumps({"classified_sha256": digest, "checked_at": at}))


def published_stems(out: Path) -> list[str]:
    """Every report stem with a file under ``out``: units, the index's entries, failure pages and
    report pages of an older perflib (regular files)."""
    out = Path(out)
    stems = {str((folder / key).relative_to(out)) for folder, key in units.units_under(out)}
    try:
        stems |= set(json.loads((out / INDEX_STATE).read_text("utf-8")))
    except (OSError, ValueError, TypeError):
        pass
    for folder, dirs, names in os.walk(out):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if name.startswith(".") or not name.endswith(".html") or (folder == str(out) and name == "index.html"):
                continue
            stem = name.removesuffix(".html").removesuffix(".failed")
            stems.add(str((Path(folder) / stem).relative_to(out)))
    return sorted(stems)


def report_files(folder: Path, key: str) -> dict[str, bytes]:
    """{what: bytes} of everything a report has under its names (the shown version, a failure page)
    and its name itself, for :func:`leak_error`."""
    found = {"文件名": key.encode("utf-8")}
    for suffix in (*REPORT_SUFFIXES, ".failed.html"):
        try:
            found[suffix] = (folder / f"{key}{suffix}").read_bytes()
        except OSError:
            continue
    # the unit's other files (overview.docx, the notices of <year>/notices: perflib.run.documents),
    # by name: leak_error reads a .docx inside its zip
    read = {f"{key}{s}" for s in found}
    for name, path in units.current_files(folder, key).items():
        if name not in read:
            try:
                found[name] = path.read_bytes()
            except OSError:
                continue
    return found


def withdraw_report(out: Path, stem: str, secrets: list[str], at: str) -> bool:
    """Replace a report's files by a notice page, all at once (one unit switch), then remove its
    failure page (which would link to it as the last good report) and any older regular files.
    A report whose name holds a secret is removed with no notice (its name would tell): False."""
    folder, key = split_stem(out, stem)
    if find_leaks(stem.encode("utf-8"), secrets):
        units.remove_unit(folder, key)
        _remove_regular(folder, key)
        return False
    page = notice_page(out, stem, secrets, at)
    units.publish_unit(folder, key, {f"{key}.html": page.encode("utf-8")},
                       {"kind": "notice", "stem": stem, "withdrawn_at": at})
    _remove_regular(folder, key)
    return True


def _remove_regular(folder: Path, key: str) -> None:
    """Remove the failure page and companions that are regular files (an older perflib's layout)."""
    (folder / f"{key}.failed.html").unlink(missing_ok=True)
    for suffix in REPORT_SUFFIXES:
        p = folder / f"{key}{suffix}"
        if p.exists() and not p.is_symlink():
            p.unlink()


def notice_page(out: Path, stem: str, secrets: list[str], at: str) -> str:
    """The page put in a withdrawn report's place: that it was withdrawn and when, its notebook,
    year and parameters, and nothing that names the project."""
    from ..present.html import render_page

    entry = _index_entry(out, stem)
    notebook = str(entry.get("notebook") or Path(stem).name)
    params = {k: mask(str(v), secrets) for k, v in labelled(entry.get("params") or {}).items()
              if v is not None}
    if entry.get("year"):
        params["年度"] = entry["year"]
    body = (f'<h2 id="withdrawn">报告已撤回</h2><p class="perf-failed">{NOTICE}。</p>'
            f"<p>撤回时间：{at}</p><p>该报告所涉项目的密级在报告发布后发生变化，原报告的网页、"
            "数据文件和表格已删除。重新生成成功后，此处将显示新的报告。</p>")
    page = render_page(body=body, title="报告已撤回", notebook=notebook, params=params, as_of=None,
                       inputs={}, rules=None, rendered_at=at, kind="withdrawn", status_note="已撤回")
    if leak_error({".html": page.encode("utf-8")}, secrets) is not None:  # a label held a name
        page = render_page(body=body, title="报告已撤回", notebook=notebook, params={}, as_of=None,
                           inputs={}, rules=None, rendered_at=at, kind="withdrawn", status_note="已撤回")
    return page


def _index_entry(out: Path, stem: str) -> dict:
    try:
        entry = json.loads((Path(out) / INDEX_STATE).read_text("utf-8")).get(stem)
    except (OSError, ValueError, AttributeError):
        return {}
    return entry if isinstance(entry, dict) else {}

