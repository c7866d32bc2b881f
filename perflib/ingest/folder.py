"""An export folder → :class:`~perflib.ingest.model.Export`: each data file offered to the readers
it is handed, in turn, and the parts they read assembled into one frame per table.

:func:`default_readers` is what ``ingest`` uses: the DuckDB bulk reader for big CSV and Parquet
files, then the Python reader for everything else.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from ..exceptions import InputError, Problem
from ..schema import TABLE_ORDER, TABLES, Table
from .bulk import BulkReader
from .cells import typed_series
from .model import Export, Part, ReadLog, Reader
from .reader import PythonReader
from .sources import is_ignored

__all__ = ["read_export", "default_readers", "links_inside"]


def default_readers() -> list[Reader]:
    """Fresh readers for one ingest: the bulk reader (DuckDB, big files), then the Python reader."""
    return [BulkReader(), PythonReader()]


def read_export(src_dir: str | Path, *, strict: bool = True,
                readers: Sequence[Reader] | None = None) -> Export:
    """Read every table of an export folder.

    Parameters
    ----------
    src_dir : the folder of ``.xlsx``/``.csv`` files (top level only; a symbolic link is read only
        if it ends inside the folder, else refused as a problem; hidden files, Office lock
        files ``~$…`` and ``README*`` are ignored).
    strict : raise :class:`InputError` if reading found any problem (default). ``ingest`` passes
        False and lets :func:`perflib.ingest.checks.validate` report reading and data problems together.
    readers : the readers each file is offered to, in order (default: the Python reader only;
        ``ingest`` hands :func:`default_readers`, whose bulk reader stages big files in the database
        being built: ``Export.staged``).

    Raises
    ------
    InputError : the folder is missing or holds no data file (always), or anything could not be
        read (when ``strict``), listing every problem found.
    """
    src = Path(src_dir)
    if not src.exists():
        raise InputError([Problem(file=str(src), message="文件夹不存在")],
                         summary=f"找不到导出数据文件夹 {src}：")
    if not src.is_dir():
        raise InputError([Problem(file=str(src), message="不是文件夹", expected="存放导出文件的文件夹")],
                         summary=f"{src} 不是文件夹：")
    readers = list(readers) if readers is not None else [PythonReader()]
    log = ReadLog()
    for reader in readers:
        reader.begin(src, log)
    parts: list[Part] = []
    data_files = 0
    inside = src.resolve()
    entries = (p for p in src.iterdir() if p.is_file() or p.is_symlink())
    for path in sorted(entries, key=lambda p: p.name):
        rel = path.relative_to(src).as_posix()
        if is_ignored(path):
            log.ignored.append(rel)
            continue
        if path.is_symlink() and not links_inside(path, inside):
            data_files += 1
            log.problem(rel, "是指向导出文件夹之外的符号链接，不予读取",
                        expected="导出文件夹中的文件本身（请复制文件，而不是链接到别处）")
            continue
        if not path.is_file():
            continue                 # a link to a folder, or to nothing, inside the export folder
        data_files += 1
        for reader in readers:
            if reader.takes(path):
                got = reader.read(path, rel)
                if got is not None:
                    parts.extend(got)
                    break
    if data_files == 0 and not log.problems:
        raise InputError([Problem(file=str(src), message="文件夹中没有 .xlsx 或 .csv 数据文件")],
                         summary=f"导出数据文件夹 {src} 是空的：")
    export = _assemble(src, parts, log)
    for reader in readers:
        staged = reader.finish(export)
        if staged is not None:
            export.staged = staged
    if strict and export.problems:
        raise InputError(export.problems)
    return export


def links_inside(link: Path, folder: Path) -> bool:
    """Whether the symbolic link ``link`` (every link of its chain resolved) ends inside ``folder``
    (a resolved path). A link out of the export folder is never followed: it could make the ingest
    read, and an error message quote, any file the user can read. A loop counts as outside."""
    try:
        target = link.resolve()
    except (OSError, RuntimeError):
        return False
    return target.is_relative_to(folder)


def _assemble(src: Path, parts: list[Part], log: ReadLog) -> Export:
    """One frame per table (parts in file order, table order of the schema) and the cells reported
    while reading, keyed by their position in that frame."""
    tables: dict[str, pd.DataFrame] = {}
    bad_cells: set = set()
    files = []
    for name in TABLE_ORDER:
        mine = [p for p in parts if p.table.name == name]
        if not mine:
            continue
        frames = []
        offset = 0
        for p in mine:
            files.append(p.source)
            if p.frame.empty and not len(p.frame.columns):
                continue
            frames.append(p.frame)
            bad_cells.update((name, offset + pos, col) for pos, col in p.bad)
            offset += len(p.frame)
        if frames:
            df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
        else:
            df = empty_frame(TABLES[name])
        tables[name] = df
    return Export(src_dir=src, tables=tables, files=files, problems=log.problems,
                  bad_cells=bad_cells, ignored=log.ignored, unread_tables=set(log.unread))


def empty_frame(table: Table) -> pd.DataFrame:
    """A frame of ``table`` with no rows: its columns in their dtypes, and the origin columns."""
    df = pd.DataFrame({c.name: typed_series(c.kind, []) for c in table.columns})
    df["_file"] = pd.Series([], dtype=object)
    df["_sheet"] = pd.Series([], dtype=object)
    df["_row"] = pd.Series([], dtype="int64")
    return df
