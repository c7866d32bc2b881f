"""Re-ingesting an unchanged export without reading it: the files' sha256 against the last load's.

A load records, per file, its sha256 and (column ``check_sha256`` of ``loads``) a fingerprint of
everything else its checks depended on: the rules, ``--strict``, the perflib version and the source
of the ingest code and the schema (:func:`check_fingerprint`). If the export folder holds exactly
the files of the last load (same names, same sha256, hence the same bytes and size), the fingerprint
is the same and today is not before that load's day, a full ingest would validate the same rows
against the same kept rows with the same checks and change nothing (the database is then not
rewritten and no ``loads`` entry added, as :func:`perflib.ingest.load.ingest` has always done for an
unchanged export): so nothing is parsed. The day matters because two checks compare dates with
today (a payment or a rectification not after today): both refuse, never grade, so an export that
passed on the last load's day passes on every later day; a clock set back takes the full path.
Anything else (a file added, removed, renamed or changed by one byte; other rules; a store without
the fingerprint) takes the full path.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

from .. import __version__
from ..exceptions import Problem
from ..files import sha256_file
from .folder import links_inside
from .sources import is_ignored

__all__ = ["check_fingerprint", "folder_files", "unchanged_load", "UnchangedLoad"]

HASH_THREADS = 2          # hashlib releases the GIL: two files hash at once
_PACKAGE = Path(__file__).resolve().parent.parent


def check_fingerprint(rules, strict: bool) -> str:
    """sha256 of what an ingest's outcome depends on besides the files: the rules (their sha256),
    ``strict``, the perflib version and the source of ``perflib/ingest``, ``schema.py`` and
    ``store.py`` (a changed check or column takes the full path)."""
    h = hashlib.sha256(f"{rules.sha256}|strict={bool(strict)}|{__version__}".encode())
    sources = [_PACKAGE / "schema.py", _PACKAGE / "store.py", _PACKAGE / "exceptions.py",
               *sorted((_PACKAGE / "ingest").rglob("*.py"))]
    for p in sources:
        h.update(p.relative_to(_PACKAGE).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def folder_files(src: Path) -> dict[str, Path] | None:
    """The data files of an export folder as :func:`perflib.ingest.folder.read_export` offers them
    to its readers (path in the folder → file), or None when the folder needs the full path to be
    reported on (missing, not a folder, a link out of it)."""
    if not src.is_dir():
        return None
    inside = src.resolve()
    out: dict[str, Path] = {}
    for path in sorted((p for p in src.iterdir() if p.is_file() or p.is_symlink()), key=lambda p: p.name):
        if is_ignored(path):
            continue
        if path.is_symlink() and not links_inside(path, inside):
            return None
        if path.is_file():
            out[path.relative_to(src).as_posix()] = path
    return out


class UnchangedLoad:
    """What the last load recorded, for the summary of an unchanged re-ingest."""

    def __init__(self, rows: list[tuple], totals: dict[str, int], findings: list[Problem]):
        self.rows = rows              # (file, sheet, table_name, sha256, row_count) of the last load
        self.totals = totals
        self.findings = findings


def unchanged_load(src: Path, db: Path, fingerprint: str, table_order) -> UnchangedLoad | None:
    """The last load of ``db`` if the folder ``src`` holds exactly its files (names and sha256) and
    it was checked with ``fingerprint`` on or before today; else None (take the full path). Call it
    holding the store's lock."""
    files = folder_files(src)
    if not files:
        return None
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        return None                  # the full path reports it
    try:
        cols = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'loads'").fetchall()}
        if "check_sha256" not in cols:
            return None
        last = con.execute("SELECT max(load_id) FROM loads").fetchone()[0]
        if last is None:
            return None
        log = con.execute("SELECT file, sheet, table_name, sha256, row_count, check_sha256, loaded_at "
                          "FROM loads WHERE load_id = ? ORDER BY rowid", [last]).fetchall()
        if any(r[5] != fingerprint for r in log) or dt.date.today() < min(r[6] for r in log).date():
            return None
        recorded = {r[0]: r[3] for r in log}
        if len({(r[0], r[3]) for r in log}) != len(recorded) or set(recorded) != set(files):
            return None
        names = sorted(files)
        with ThreadPoolExecutor(HASH_THREADS) as pool:
            for name, sha in zip(names, pool.map(lambda n: sha256_file(files[n]), names)):
                if sha != recorded[name]:
                    return None
        have = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        totals = {n: con.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for n in table_order if n in have}
        findings = []
        if "findings" in have:
            findings = [Problem(file=f, sheet=s, row=r, column=c, value=v, message=m, kind=k, table=t,
                                key=key or "", dept_code=d, project_id=p, year=y)
                        for k, t, y, key, d, p, f, s, r, c, v, m in con.execute(
                            "SELECT kind, table_name, year, record_key, dept_code, project_id, file, sheet, "
                            "row_number, column_header, value, message FROM findings WHERE load_id = ? "
                            "ORDER BY rowid", [last]).fetchall()]
        return UnchangedLoad([r[:5] for r in log], totals, findings)
    except duckdb.Error:
        return None
    finally:
        con.close()
