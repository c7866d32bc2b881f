"""Publishing a set of files as one unit: all of them appear together, or none do, whatever fails
and whenever the process is killed (the layout of Kubernetes' ``AtomicWriter``).

A unit ``key`` of ``folder`` with files ``names`` (a report: ``x.html``, ``x.ipynb``, ...)::

    folder/<name>                        -> .published/<key>/current/<name>   one symlink per name
    folder/.published/<key>/current      -> <version>                         switched by one rename(2)
    folder/.published/<key>/<version>/   the files of one publication and its .manifest.json

A publication writes a fresh version folder (invisible: nothing points at it), fsyncs it, makes the
per-name links (they point through ``current``, so they show nothing new yet), then switches
``current`` with one ``rename(2)``: the commit. Before it, readers see the old version whole; after
it, the new one whole. Old versions are removed after the switch; :func:`recover` removes what a
killed publication left (versions never switched in, links to nothing). Every operation that changes
the file system goes through :func:`_step`, where tests inject failures and kills.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets as _random
import shutil
import time
from pathlib import Path
from typing import Iterator

from .. import files

STORE = ".published"
CURRENT = "current"
MANIFEST = ".manifest.json"
LOCK_TIMEOUT = 120


def _step(op: str, path: Path) -> None:
    """Called before every change to the file system (``op`` on ``path``); tests replace it to fail
    or die between any two operations."""


def new_version() -> str:
    """A fresh version name: time, pid and 8 random hex digits (sorts by time)."""
    return f"v{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{_random.token_hex(4)}"


def store_of(folder: Path, key: str) -> Path:
    return Path(folder) / STORE / key


def lock(folder: Path, key: str, timeout: float = LOCK_TIMEOUT):
    """The lock a unit is changed under (``.published/.locks/<sha256 of key>.lock``: the file name
    holds no report name, so a withdrawn report's name is not left behind in it)."""
    from filelock import FileLock

    locks = Path(folder) / STORE / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
    return FileLock(str(locks / f"{digest}.lock"), timeout=timeout)


def link_target(key: str, name: str) -> str:
    """What ``folder/<name>`` points at (relative, so a copied folder keeps working)."""
    return f"{STORE}/{key}/{CURRENT}/{name}"


def current_version(folder: Path, key: str) -> Path | None:
    """The version folder the unit shows now, or None (never published, or withdrawn without notice)."""
    cur = store_of(folder, key) / CURRENT
    try:
        target = os.readlink(cur)
    except OSError:
        return None
    version = cur.parent / target
    return version if version.is_dir() else None


def manifest(folder: Path, key: str) -> dict | None:
    """The manifest of the unit's current version (``kind``, ``version``, ``files``: sha256 by name,
    and what the publisher recorded), or None."""
    version = current_version(folder, key)
    if version is None:
        return None
    try:
        return json.loads((version / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return None


def current_files(folder: Path, key: str) -> dict[str, Path]:
    """{name: path inside the current version} of the unit's files (read these to see one version)."""
    version = current_version(folder, key)
    m = manifest(folder, key)
    if version is None or m is None:
        return {}
    return {name: version / name for name in m.get("files", {})}


def publish_unit(folder: Path, key: str, contents: dict[str, bytes], meta: dict,
                 version: str | None = None, private: dict[str, bytes] | None = None) -> str:
    """Publish ``contents`` ({file name: bytes}, written in this order) as the unit's new version
    with ``meta`` in its manifest; returns the version. Call under :func:`lock`. ``private``
    ({hidden file name: bytes}, such as a report's history of facts) is written into the version
    folder and switched with it, but gets no link (the manifest lists it under ``private``).

    Long: the steps, each a separate file-system operation (see the module docstring): write the
    version folder, fsync it, adopt the per-name links, switch ``current`` (the commit), fsync the
    store, then tidy (old versions, links of names this version does not have). Before the switch a
    failure removes the new version, leaves the old one shown and raises; after it the new one is
    shown and a failure to tidy is left to :func:`recover`.
    """
    folder = Path(folder)
    store = store_of(folder, key)
    version = version or new_version()
    vdir = store / version
    _step("mkdir", vdir)
    vdir.mkdir(parents=True)
    try:
        for name, data in {**contents, **(private or {})}.items():
            _step("write", vdir / name)
            files.atomic_write_bytes(vdir / name, data)
        doc = dict(meta, version=version, files={n: files.sha256_bytes(d) for n, d in contents.items()})
        if private:
            doc["private"] = {n: files.sha256_bytes(d) for n, d in private.items()}
        _step("write", vdir / MANIFEST)
        files.atomic_write_text(vdir / MANIFEST, json.dumps(doc, ensure_ascii=False, indent=1))
        files.fsync_dir(vdir)
        _adopt(folder, key, list(contents))
        _switch(store, version)
    except BaseException:
        if current_version(folder, key) != vdir:
            shutil.rmtree(vdir, ignore_errors=True)
        raise
    try:
        _tidy(folder, key)
    except Exception:  # noqa: BLE001 - published; what is left over is removed by recover()
        pass
    return version


def _adopt(folder: Path, key: str, names: list[str]) -> None:
    """Make ``folder/<name>`` the link through ``current`` for each name. A regular file there (an
    older perflib's report, or a file written over the link) first becomes a version of its own, so
    that no name shows a file of another publication than its siblings at any moment."""
    regular = [n for n in names if (folder / n).exists() and not (folder / n).is_symlink()]
    if regular:
        _adopt_regular_files(folder, key, regular)
    for name in names:
        link = folder / name
        if link.is_symlink() and os.readlink(link) == link_target(key, name):
            continue
        _place_link(folder, key, name)


def _adopt_regular_files(folder: Path, key: str, regular: list[str]) -> None:
    """Turn regular files at the unit's names into a version (hard links; the shown files do not
    change) switched in before the names become links."""
    store = store_of(folder, key)
    version = new_version()
    vdir = store / version
    shown = current_files(folder, key)
    _step("mkdir", vdir)
    vdir.mkdir(parents=True)
    names = sorted(set(shown) | set(regular))
    for name in names:
        source = folder / name if name in regular else shown[name]
        _step("link", vdir / name)
        try:
            os.link(source, vdir / name)
        except OSError:
            shutil.copy2(source, vdir / name)
    doc = {"kind": "adopted", "version": version,
           "files": {n: files.sha256_file(vdir / n) for n in names}}
    _step("write", vdir / MANIFEST)
    files.atomic_write_text(vdir / MANIFEST, json.dumps(doc, ensure_ascii=False, indent=1))
    files.fsync_dir(vdir)
    _switch(store, version)
    for name in regular:
        _place_link(folder, key, name)


def _place_link(folder: Path, key: str, name: str) -> None:
    """Put the link ``folder/<name>`` in place with one rename (made first inside the store)."""
    tmp = store_of(folder, key) / f".link.{os.getpid()}.{_random.token_hex(4)}.tmp"
    _step("symlink", tmp)
    os.symlink(link_target(key, name), tmp)
    try:
        _step("rename", folder / name)
        os.replace(tmp, folder / name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    files.fsync_dir(folder)


def _switch(store: Path, version: str) -> None:
    """Point ``current`` at ``version`` with one rename(2) of a new link over it: the commit."""
    tmp = store / f".current.{os.getpid()}.{_random.token_hex(4)}.tmp"
    _step("symlink", tmp)
    os.symlink(version, tmp)
    try:
        _step("rename", store / CURRENT)
        os.replace(tmp, store / CURRENT)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    files.fsync_dir(store)


def _tidy(folder: Path, key: str) -> None:
    """After a switch (or a killed publication): remove the versions not shown, the store's temp
    links, and links of names the shown version does not have (they point at nothing). Without a
    shown version, the whole unit goes (its links point at nothing too)."""
    store = store_of(folder, key)
    if not store.is_dir():
        return
    shown = current_version(folder, key)
    have = set(current_files(folder, key)) if shown is not None else set()
    for p in sorted(store.iterdir()):
        if p.name == CURRENT and shown is not None:
            continue
        if p == shown:
            continue
        _step("remove", p)
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    for link in _links_into(folder, key):
        if link.name not in have:
            _step("remove", link)
            link.unlink(missing_ok=True)
    if shown is None:
        _step("remove", store)
        shutil.rmtree(store, ignore_errors=True)


def _links_into(folder: Path, key: str) -> Iterator[Path]:
    """The links in ``folder`` that go through this unit's ``current``."""
    prefix = f"{STORE}/{key}/{CURRENT}/"
    for p in Path(folder).iterdir():
        if p.is_symlink():
            try:
                target = os.readlink(p)
            except OSError:
                continue
            if target.startswith(prefix) and "/" not in target[len(prefix):]:
                yield p


def remove_unit(folder: Path, key: str) -> None:
    """Remove a unit: its links first (readers then see no file), then its store. Under :func:`lock`."""
    folder = Path(folder)
    store = store_of(folder, key)
    if store.is_dir():
        cur = store / CURRENT
        if cur.is_symlink():
            _step("remove", cur)
            cur.unlink()  # every name disappears at once
        files.fsync_dir(store)
    for link in list(_links_into(folder, key)):
        _step("remove", link)
        link.unlink(missing_ok=True)
    if store.exists():
        _step("remove", store)
        shutil.rmtree(store, ignore_errors=True)


def units_under(root: Path) -> Iterator[tuple[Path, str]]:
    """(folder, key) of every unit stored under ``root`` (any depth, outside hidden folders)."""
    root = Path(root)
    if not root.is_dir():
        return
    for folder, dirs, _ in os.walk(root):
        here = Path(folder)
        if STORE in dirs:
            for p in sorted((here / STORE).iterdir()):
                if p.is_dir() and not p.is_symlink() and not p.name.startswith("."):
                    yield here, p.name
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))


def recover(root: Path) -> list[str]:
    """Finish what killed publications left under ``root``: for each unit not locked by a live
    publisher, remove versions never switched in (and old ones), temp links, and links to nothing.
    Returns the units tidied ("folder/key" relative to ``root``). Publications are never half
    visible, so there is nothing to roll forward: this only removes what no reader sees."""
    from filelock import Timeout

    done = []
    for folder, key in list(units_under(root)):
        try:
            with lock(folder, key, timeout=0):
                _tidy(folder, key)
        except Timeout:
            continue  # being published right now by another run: it tidies after itself
        done.append(str((folder / key).relative_to(root)))
    return done
