"""What a rendered report depends on, so that an incremental ``perflib run`` re-renders exactly the
reports whose inputs changed.

A report depends on: its notebook file; its parameters (as resolved against the data); the rules
file; perflib's version and the source of the perflib modules its notebook imports (transitively,
imports inside functions included) plus the executing and rendering side (run/: plan, execute,
publish, leaks, executors, runner; present/: html, notebook, xlsx; templates);
the data date shown in its header (last payment date of the year), the set of classified projects
and the latest load's input files (all shown in or guarding every report); and the *content* of
each store table the notebook's queries named while it ran (recorded by the store when
``PERFLIB_TABLES_READ`` is set, fingerprinted as a row count plus an order-independent sum of row
hashes). The granularity is the table: a re-ingest that changes ``costs`` for one year re-renders
every report that read ``costs``, and no other.
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from ..files import atomic_write_text
from ..schema import TRACKED_TABLES

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # perflib/
# the parent side of every report: executing, rendering, publishing
RENDER_MODULES = ("perflib", "perflib.run.runner", "perflib.run.plan", "perflib.run.execute",
                  "perflib.run.publish", "perflib.run.leaks", "perflib.run.executors",
                  "perflib.present.html", "perflib.present.notebook", "perflib.present.xlsx",
                  "perflib.run.deps", "perflib.run.kernels")
RENDER_SUFFIXES = (".j2", ".html", ".css", ".js")


def read_tables_file(path: Path) -> set[str] | None:
    """Table names recorded by a kernel (None: nothing recorded: the notebook opened no store)."""
    path = Path(path)
    if not path.exists():
        return None
    return {line.strip() for line in path.read_text("utf-8").splitlines() if line.strip()}


# --- table content fingerprints (in the parent, before any kernel) ------------------------------
FINGERPRINT_CACHE = ".store-fingerprints.json"


def _file_identity(db: Path) -> list:
    """What changes whenever the store's content can have changed: the file's inode, size and
    modification time (ingest swaps in a new file; a write checkpoints into it), and its WAL's."""
    out = []
    for p in (db, db.with_name(db.name + ".wal")):
        try:
            st = p.stat()
            out.append([p.name, st.st_ino, st.st_size, st.st_mtime_ns])
        except FileNotFoundError:
            out.append([p.name, None])
    return out


def table_fingerprints(db: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> dict[str, str]:
    """{table: fingerprint of its content} for every table of the store (row count, sum of row
    hashes, column names and types, DuckDB version); a few ms for the district demo, ~1.5 s for a
    province (15 M payments). With ``cache_dir`` (the run's output folder) they are kept in
    ``.store-fingerprints.json`` there and reused while the store file is unchanged (same inode,
    size and modification time, no WAL change), so a run with nothing to do stays quick."""
    db = Path(db).resolve()
    key = str(db)
    identity = _file_identity(db)
    cache = Path(cache_dir) / FINGERPRINT_CACHE if cache_dir is not None else None
    known: dict = {}
    if cache is not None:
        try:
            known = json.loads(cache.read_text("utf-8"))
            entry = known.get(key) or {}
            if entry.get("identity") == identity and entry.get("duckdb") == _duckdb_version():
                return dict(entry["tables"])
        except (OSError, ValueError, AttributeError, KeyError, TypeError):
            known = {}
    out = _compute_fingerprints(db)
    # kept only in an output folder that exists already: a request refused while planning creates
    # nothing (and a first run's folder gets its cache on the next run)
    if cache is not None and cache.parent.is_dir() and _file_identity(db) == identity:
        known = known if isinstance(known, dict) else {}
        known[key] = {"identity": identity, "duckdb": _duckdb_version(), "tables": out}
        try:
            atomic_write_text(cache, json.dumps(known, ensure_ascii=False, indent=1))
        except OSError:  # a read-only output folder only costs the recomputation next time
            pass
    return out


def _duckdb_version() -> str:
    import duckdb

    return duckdb.__version__


def _compute_fingerprints(db: Path) -> dict[str, str]:
    import duckdb

    out: dict[str, str] = {}
    con = duckdb.connect(str(db), read_only=True)
    try:
        present = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
        for name in TRACKED_TABLES:
            if name not in present:
                continue
            cols = con.execute("SELECT column_name, data_type FROM information_schema.columns "
                               "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
                               [name]).fetchall()
            n, total = con.execute(f"SELECT count(*), sum(hash(t))::HUGEINT FROM {name} t").fetchone()
            h = hashlib.sha256(json.dumps([duckdb.__version__, cols, n, str(total)]).encode())
            out[name] = h.hexdigest()[:32]
    finally:
        con.close()
    return out


# --- perflib code a notebook uses ----------------------------------------------------------------
def _code_cells(path: Path) -> list[str]:
    nb = json.loads(Path(path).read_text("utf-8"))
    out = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else src
            # IPython magics and shell escapes are not Python
            out.append("\n".join("" if line.lstrip().startswith(("%", "!")) else line
                                 for line in src.splitlines()))
    return out


def _imports(tree: ast.AST, package: str | None) -> set[str]:
    """Absolute module names a tree imports anywhere (function bodies included); ``from a import b``
    yields ``a`` and ``a.b`` (b may be a module)."""
    out: set[str] = set()
    for node in _walk_statements(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if not package:
                    continue
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1])
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            if mod:
                out.add(mod)
                out.update(f"{mod}.{a.name}" for a in node.names if a.name != "*")
    return out


def _walk_statements(tree: ast.AST):
    """Every statement, at any depth (imports are statements: expressions need no visit)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, name, None)
            if isinstance(children, list):
                todo.extend(c for c in children if isinstance(c, (ast.stmt, ast.excepthandler, ast.match_case)))


def _perflib_file(module: str) -> Path | None:
    if module != "perflib" and not module.startswith("perflib."):
        return None
    rel = module.split(".")[1:]
    if not rel:
        return PACKAGE_DIR / "__init__.py"
    f = PACKAGE_DIR.joinpath(*rel).with_suffix(".py")
    if f.is_file():
        return f
    f = PACKAGE_DIR.joinpath(*rel, "__init__.py")
    return f if f.is_file() else None


def import_closure(roots: Iterable[str]) -> tuple[list[Path], set[str]]:
    """The perflib source files reachable from ``roots`` (module names) through imports, and every
    module name met on the way (perflib's and third-party ones: what a kernel will import)."""
    todo = list(roots)
    seen: set[str] = set()
    files: dict[Path, None] = {}
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.add(mod)
        f = _perflib_file(mod)
        if f is None:
            continue
        files[f] = None
        parent = mod.rsplit(".", 1)[0] if mod.count(".") else mod
        pkg = mod if f.name == "__init__.py" else parent
        st = f.stat()
        todo.extend(_IMPORTS.imports(str(f), pkg, st.st_mtime_ns, st.st_size) - seen)
    _IMPORTS.save()
    return sorted(files), seen


class _ImportsCache:
    """:func:`_file_imports` kept across runs in the user's cache folder (``$XDG_CACHE_HOME`` or
    ``~/.cache``: ``perflib/imports.json``), per file version (path, modification time, size):
    parsing perflib's sources took ~0.15 s of every ``perflib run`` before its first kernel. A cache
    that cannot be read is ignored, one that cannot be written only costs the parsing next time."""

    def __init__(self) -> None:
        import threading

        self.known: dict[str, list] | None = None
        self.changed = False
        self.lock = threading.Lock()  # a Dask worker's threads may plan at once

    @staticmethod
    def path() -> Path:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(base) / "perflib" / "imports.json"

    def _load(self) -> dict[str, list]:
        if self.known is None:
            try:
                known = json.loads(self.path().read_text("utf-8"))
                self.known = known if isinstance(known, dict) else {}
            except (OSError, ValueError):
                self.known = {}
        return self.known

    def imports(self, path: str, package: str, mtime_ns: int, size: int) -> frozenset[str]:
        with self.lock:
            return self._imports(path, package, mtime_ns, size)

    def _imports(self, path: str, package: str, mtime_ns: int, size: int) -> frozenset[str]:
        known = self._load()
        key = f"{path}\0{package}"
        entry = known.get(key)
        if isinstance(entry, list) and len(entry) == 3 and entry[:2] == [mtime_ns, size]:
            return frozenset(entry[2])
        found = _file_imports(path, package, mtime_ns, size)
        known[key] = [mtime_ns, size, sorted(found)]
        self.changed = True
        return found

    def save(self) -> None:
        with self.lock:
            if not self.changed or self.known is None:
                return
            self.changed = False
            text = json.dumps(self.known, ensure_ascii=False)
        try:
            target = self.path()
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(target, text, durable=False)  # a cache: a crash only costs a parse
        except OSError:
            pass


_IMPORTS = _ImportsCache()


@lru_cache(maxsize=512)
def _file_imports(path: str, package: str, _mtime_ns: int, _size: int) -> frozenset[str]:
    """Modules a source file imports (cached per file version: a run parses each module once)."""
    try:
        tree = ast.parse(Path(path).read_text("utf-8"))
    except (SyntaxError, ValueError):
        return frozenset()  # the kernel will fail on it; its bytes are still part of the fingerprint
    return frozenset(_imports(tree, package))


def notebook_modules(path: Path) -> set[str]:
    """Modules a notebook's code cells import (top-level statements and anywhere else)."""
    out: set[str] = set()
    for src in _code_cells(path):
        try:
            out |= _imports(ast.parse(src), None)
        except SyntaxError:
            continue
    return out


def code_fingerprint(notebook: Path, version: str) -> str:
    """Hash of perflib's version, the perflib modules the notebook imports (transitively) and the
    rendering code and templates: a change to any of them re-renders the notebook's reports."""
    files, _ = import_closure(sorted(notebook_modules(notebook) | set(RENDER_MODULES)))
    templates = PACKAGE_DIR / "present" / "templates"
    extra = sorted(p for p in templates.rglob("*")
                   if p.is_file() and p.suffix in RENDER_SUFFIXES) if templates.is_dir() else []
    h = hashlib.sha256(version.encode())
    for p in [*files, *extra]:
        h.update(str(p.relative_to(PACKAGE_DIR)).encode() + b"\0")
        h.update(p.read_bytes())
    return h.hexdigest()


def preload_modules(notebooks: Iterable[Path]) -> list[str]:
    """Modules worth importing once before forking kernels: everything the notebooks import,
    directly or through perflib (lazy imports inside functions included), existing or not."""
    mods: set[str] = set()
    for nb in notebooks:
        mods |= notebook_modules(nb)
    _, seen = import_closure(sorted(mods))
    return sorted(seen)
