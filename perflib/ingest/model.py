"""What reading an export produces, and the interface every reader implements.

Defines :class:`SourceFile` (one file or sheet read), :class:`Part` (its rows as one table's part),
:class:`Export` (the folder, read), :class:`ReadLog` (problems found while reading),
:class:`Unreadable` (a cell or file that cannot be read), and the two protocols that keep the readers
apart from the loader: :class:`Reader` (a way of reading data files: the Python reader, the DuckDB
bulk reader) and :class:`Staged` (rows a reader put in the database being built, which it then
counts, checks and installs itself). The loader is handed readers; it never looks inside them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import pandas as pd

from ..exceptions import Problem
from ..schema import TABLES, Table

__all__ = [
    "ORIGIN_COLUMNS", "SourceFile", "Part", "Export", "ReadLog", "Unreadable", "Reader", "Staged",
    "partition_columns",
]

ORIGIN_COLUMNS = ("_file", "_sheet", "_row")


class Unreadable(Exception):
    """A cell that cannot be read as its column's kind (message says why, in Chinese); for a whole
    file, ``row``/``column`` locate the trouble where known."""

    def __init__(self, message: str = "", row: int | None = None, column: str | None = None):
        super().__init__(message)
        self.row = row
        self.column = column


@dataclass(frozen=True)
class SourceFile:
    """One file (or one sheet of a workbook) that was read as (part of) a table.

    ``path`` is relative to the export folder (posix separators); ``sha256`` is of the whole file's
    bytes (a workbook's sheets share it); ``rows`` counts data rows (blank and 合计 rows excluded);
    ``headers`` maps canonical column names to the header as written in the file.
    """

    path: str
    sha256: str
    table: str
    sheet: str | None
    rows: int
    header_row: int = 1
    headers: dict = field(default_factory=dict, compare=False, hash=False)
    units: dict = field(default_factory=dict, compare=False, hash=False)
    encoding: str | None = None
    total_row: int | None = None


@dataclass
class Part:
    """The rows one file or sheet brings to one table: a typed frame with the origin columns (empty
    with no columns when the file could not be read, or when a :class:`Staged` reader holds them)."""

    table: Table
    frame: pd.DataFrame
    source: SourceFile
    bad: list[tuple[int, str]]  # (position in frame, column) of cells reported while reading


@dataclass
class ReadLog:
    """The problems found while reading an export, shared by every reader of one folder; what was
    ignored; and the tables whose file, sheet or header could not be read (checks of references into them would only
    repeat that problem row by row, so validation skips them)."""

    problems: list[Problem] = field(default_factory=list)
    unread: set[str] = field(default_factory=set)
    ignored: list[str] = field(default_factory=list)  # files (and file#sheet) that are not data

    def problem(self, file: str, message: str, **kw) -> None:
        self.problems.append(Problem(file=file, message=message, **kw))


class Staged(Protocol):
    """Rows a reader stages in the database being built instead of handing them over as frames (the
    DuckDB bulk reader). The loader calls :meth:`load` on the new database's connection, then asks
    for counts, partitions and problems, and lets :meth:`install` move each table into place."""

    def load(self, con) -> None:
        """Stage every table of the export in ``con``."""

    def row_counts(self) -> dict[str, int]:
        """Rows per table brought by the export."""

    def years(self) -> dict[str, list[int]]:
        """The distinct years per table that has a year column."""

    def partitions(self) -> dict[str, pd.DataFrame | None]:
        """What :func:`perflib.ingest.load.replaced_partitions` gives for frames."""

    def validate(self, existing=None, maxima=None) -> list[Problem]:
        """Every problem, errors and findings, as :func:`perflib.ingest.checks.examine` finds them
        for frames (``maxima``: the bounds of the findings' score rules)."""

    def install(self, con, name: str) -> bool:
        """Make the staged rows of ``name`` the table; False if the export does not bring it."""


@dataclass
class Export:
    """An export folder, read: typed tables plus where each row came from.

    ``tables`` holds only the tables the folder brings (a payments-only folder has only
    ``payments``); each frame has every canonical column of its table (absent optional columns
    filled with their default) and the origin columns ``_file``, ``_sheet``, ``_row``.
    ``problems`` are those found while reading (unknown files, missing headers, unreadable cells…);
    :func:`perflib.ingest.checks.validate` adds the checks across rows and tables.
    """

    src_dir: Path
    tables: dict[str, pd.DataFrame]
    files: list[SourceFile]
    problems: list[Problem] = field(default_factory=list)
    # (table, frame index, column) of cells already reported while reading (not re-reported empty)
    bad_cells: set = field(default_factory=set)
    ignored: list[str] = field(default_factory=list)
    # tables with a file, sheet or header that could not be read: checks of references into them
    # would only repeat that problem row by row, so validation skips them
    unread_tables: set = field(default_factory=set)
    # rows a reader staged in the database being built (the bulk reader's big files), else None
    staged: Staged | None = field(default=None, compare=False, repr=False)

    def header(self, table: str, file: str, sheet: str | None, column: str) -> str:
        """The header of ``column`` as written in that file/sheet (the Chinese header if absent)."""
        for f in self.files:
            if f.table == table and f.path == file and f.sheet == sheet:
                return f.headers.get(column, TABLES[table].column(column).header)
        return TABLES[table].column(column).header

    def files_of(self, table: str) -> list[SourceFile]:
        return [f for f in self.files if f.table == table]

    @property
    def sha256s(self) -> frozenset[str]:
        return frozenset(f.sha256 for f in self.files)


@runtime_checkable
class Reader(Protocol):
    """One way of reading an export's data files, handed to :func:`perflib.ingest.folder.read_export`.

    For each folder: :meth:`begin` once; then each data file (sorted by name) is offered to the
    readers in turn, and the first whose :meth:`takes` says yes and whose :meth:`read` returns a
    list (not None) has read it; last, :meth:`finish` is called with the assembled export. A reader
    reports problems into the log it was given, worded where the user finds them.
    """

    def begin(self, src: Path, log: ReadLog) -> None:
        """Start reading the folder ``src``; problems go to ``log``."""

    def takes(self, path: Path) -> bool:
        """Whether this reader would read ``path`` (cheap: name and size)."""

    def read(self, path: Path, rel: str) -> list[Part] | None:
        """The parts ``path`` brings (``rel``: its path in the folder), or None to leave the file to
        the next reader."""

    def finish(self, export: Export) -> Staged | None:
        """Rows this reader stages itself (see :class:`Staged`), or None when its parts hold them."""


def partition_columns(table: Table) -> tuple[str, ...]:
    """Columns whose values a load replaces as a whole (empty tuple = the whole table)."""
    if table.accumulate_by:
        return table.accumulate_by
    if any(c.name == "year" for c in table.columns):
        return ("year",)
    return ()
