"""The ground floor for files: atomic writes, directory fsync, sweeping a killed writer's temp files,
sha256 of a file, and where the store's file is (:func:`find_db`). Ingest and the runner both promise
"nothing is half-written"; they keep that promise with these functions and no others."""
from __future__ import annotations

import errno
import hashlib
import os
import re
import tempfile
import time
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text", "fsync_dir", "sweep_temps", "sha256_file",
           "sha256_bytes", "unwritable", "os_error_text", "db_candidates", "find_db", "missing_db_text"]

# hidden, and named with the writer's pid so that a later run can tell a dead writer's leftover
_TEMP_NAME = re.compile(r"^\..+?(?:\.(\d+))?\.[a-z0-9_]+\.tmp$")


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it and rename it over ``path``: a
    reader sees the old file or the new one, never a part. ``durable=False`` skips the fsync, for
    files that need not outlive a crash of the machine (a report's work files, removed after it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str, *, durable: bool = True) -> None:
    """:func:`atomic_write_bytes` of ``text`` in UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"), durable=durable)


def fsync_dir(path: str | os.PathLike) -> None:
    """Flush a directory entry (after a rename) to disk; silently a no-op where that is not possible."""
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_temps(folder: str | os.PathLike, older_than: float = 3600.0) -> list[Path]:
    """Remove the temp files that :func:`atomic_write_bytes` writers left when killed mid-write: those
    whose writer (the pid in the name) is gone, and any older than ``older_than`` seconds (a write
    takes milliseconds). Files of live writers (another run into the same folder) are kept."""
    removed = []
    now = time.time()
    for p in Path(folder).rglob(".*.tmp"):
        m = _TEMP_NAME.match(p.name)
        if m is None or not p.is_file():
            continue
        try:
            old = now - p.stat().st_mtime > older_than
            if old or (m.group(1) is not None and not _pid_alive(int(m.group(1)))):
                p.unlink()
                removed.append(p)
        except OSError:
            continue
    return removed


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read ``chunk`` bytes at a time."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of bytes already in memory."""
    return hashlib.sha256(data).hexdigest()


def _read_only(path: Path, is_dir: bool) -> bool:
    """No write permission for us (``os.access``), or no write bit for anyone: a file or folder
    made read-only on purpose stays so even for root, who ``os.access`` would let write."""
    mode = os.W_OK | (os.X_OK if is_dir else 0)
    try:
        return not os.access(path, mode) or not path.stat().st_mode & 0o222
    except OSError:
        return True


def unwritable(path: str | os.PathLike, *, is_dir: bool = False) -> Path | None:
    """What keeps ``path`` (a file, or a folder with ``is_dir``) from being written: ``path`` itself
    when it exists and is read-only, else the nearest existing folder above it when nothing can be
    created in it; None when it can be written."""
    path = Path(path).absolute()
    if path.exists():
        if path.is_dir() != is_dir:
            return None  # the wrong kind of thing: the caller says so in its own words
        if _read_only(path, is_dir):
            return path
        if is_dir:
            return None
    for folder in path.parents:
        if folder.is_dir():
            return folder if _read_only(folder, True) else None
    return None


_ERRNO_TEXT = {
    errno.ENOSPC: "磁盘空间不足",
    errno.EDQUOT: "磁盘配额已用完",
    errno.EACCES: "没有写入权限",
    errno.EPERM: "没有写入权限",
    errno.EROFS: "所在文件系统只读",
    errno.EIO: "磁盘读写出错",
    errno.ENAMETOOLONG: "路径过长",
    errno.EMFILE: "打开的文件过多",
}


def os_error_text(exc: OSError) -> str:
    """An :class:`OSError` in Chinese: the reason and the file it concerns (no traceback)."""
    reason = _ERRNO_TEXT.get(exc.errno or 0) or f"文件系统错误（{exc.strerror or type(exc).__name__}）"
    where = exc.filename if exc.filename is not None else None
    return f"{reason}：{where}" if where is not None else reason


# --- where the store is: one rule for notebooks, perflib run and analysts (issue 21); here on the
# ground floor, so that finding the file does not import the query layer (pandas: half a second
# before perflib run can start its kernels' zygote)
def db_candidates(db: str | Path | None) -> list[Path]:
    """Where :func:`find_db` looks, in order: ``db`` as given (``None`` → ``$PERFLIB_DB``, else
    ``data/perf.duckdb``); for a relative path, also ``data/<its name>`` in the working directory
    and each of its parents (a notebook in ``notebooks/`` finds the repository's ``data/``)."""
    if db is None:
        db = os.environ.get("PERFLIB_DB") or "data/perf.duckdb"
    p = Path(db)
    if p.is_absolute():
        return [p]
    return [p, *(base / "data" / p.name for base in (Path.cwd(), *Path.cwd().parents))]


def find_db(db: str | Path | None) -> Path:
    """The store a notebook (and ``perflib run``) means: the first of :func:`db_candidates` that
    exists, else ``db`` as given. ``find_db("../data/perf.duckdb")`` from the repository root is
    ``data/perf.duckdb``; ``find_db(None)`` is ``$PERFLIB_DB`` when set."""
    tried = db_candidates(db)
    return next((c for c in tried if c.exists()), tried[0])


def missing_db_text(db: str | Path | None) -> str:
    """Why no store was found: every absolute path tried, and the ways to point at another."""
    tried = list(dict.fromkeys(str(c.resolve()) for c in db_candidates(db)))
    shown = tried if len(tried) <= 6 else tried[:5] + [f"……（共 {len(tried)} 处）"]
    return ("找不到数据库，已查找：" + "；".join(shown) + "。请先运行 perflib ingest 导入数据，"
            "或指向已有的数据库：参数单元格的 db（如 db = \"/srv/perf.duckdb\"）、环境变量 PERFLIB_DB，"
            "或 perflib run --db。")
