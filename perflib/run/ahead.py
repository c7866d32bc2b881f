"""A report's workbook written while its notebook still runs.

The kernel records each table (``rep.table``/``rep.sheet``) in its artifacts folder as it goes; the
runner's process only waits for the kernel meanwhile. :class:`WorkbookAhead` follows the folder's
tables list from that idle process and writes each new table as its sheet of the report's .xlsx at
once, scanned for classified names as it is written (:class:`~perflib.run.leaks.StreamScan`).
Publishing then adds the tables recorded last and the 说明 sheet and closes the workbook
(:func:`perflib.run.publish.report_files`): on a province, most of the workbook's second of work is
done before the cells end.

A head start only: a table list that does not match what publishing reads, or any error, and the
workbook is written whole at publishing, as without it. The workbook is the same either way (cell
for cell; only the order of its shared strings differs).
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from .execute import load_table, recorded_tables
from .leaks import StreamScan

log = logging.getLogger("perflib.runner")
POLL_SECONDS = 0.05  # how often the tables list is read while the cells run (and nothing new came)
CHUNK_ROWS = 8_192  # rows formatted at a time: the kernel is at its largest meanwhile


class WorkbookAhead:
    """The sheets of one report's tables written as the notebook records them (see the module).

    ``follow(adir, stop)`` runs beside the cells until ``stop`` is set (then writes what is left);
    ``book_for(tables)`` hands the workbook to publishing when it holds the first of ``tables``.
    """

    def __init__(self, secrets: list[str]):
        self.secrets = list(secrets)
        self.scan: StreamScan | None = None
        self.book = None
        self.written: list[tuple[str, int]] = []  # (sheet, rows) of the tables written, in order
        self.broken = False

    def follow(self, adir: Path, stop: threading.Event) -> None:
        """Write each table listed in ``adir`` as it appears; after ``stop``, the rest, then return."""
        try:
            wrote = 0
            while not self.broken:
                # a look again at once after writing: the cells recorded more tables meanwhile (a
                # province's last ones came 0.1 s late, which the report's end then waited for)
                last = stop.is_set() if wrote else stop.wait(POLL_SECONDS)
                wrote = self._catch_up(Path(adir))
                if last:
                    return
        except Exception:  # noqa: BLE001 - a head start only: publishing writes the workbook itself
            log.debug("workbook ahead of the cells failed", exc_info=True)
            self.broken = True

    def _catch_up(self, adir: Path) -> int:
        """Write the tables recorded since the last look; how many."""
        import pyarrow as pa

        from ..present.html import table_sheet
        from ..present.xlsx import WorkbookWriter

        entries = recorded_tables(adir)
        new = max(0, len(entries) - len(self.written))
        for k in range(len(self.written), len(entries)):
            frame = load_table(adir, entries[k])
            if self.book is None:
                self.scan = StreamScan(self.secrets, depth=4) if self.secrets else None
                self.book = WorkbookWriter(observe=self.scan.feed if self.scan else None, chunk_rows=CHUNK_ROWS)
            self.book.add(table_sheet(k), entries[k]["sheet"], frame)
            self.written.append((entries[k]["sheet"], len(frame)))
            del frame
            # the formatting's buffers back to the system: the kernel is near its peak now (on the
            # C library's allocator, perflib's, this is glibc's malloc_trim: the whole heap)
            pa.default_memory_pool().release_unused()
        return new

    def book_for(self, tables: list[tuple]):
        """The workbook writer to complete with ``tables`` (``(title, sheet, frame, total)`` as
        publishing reads them), or None: nothing written ahead, or not the same tables."""
        if self.broken or self.book is None or len(tables) < len(self.written):
            return None
        if [(t[1], len(t[2])) for t in tables[:len(self.written)]] != self.written:
            return None
        return self.book

    def found(self) -> list[int]:
        """The classified names found in everything written to the workbook (ends the scan)."""
        return self.scan.found() if self.scan is not None else []

    def close(self) -> None:
        """Stop the scan's thread and drop the workbook (published or not: publishing has its bytes)."""
        if self.scan is not None:
            self.scan.close()
        if self.book is not None:
            self.book.discard()
            self.book = None
