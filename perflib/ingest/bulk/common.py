"""The bulk reader's settings, its phase timings (for the benchmarks) and the problem list type.
"""
from __future__ import annotations

import contextlib
import time

__all__ = ["BULK_MIN_BYTES", "PARQUET_SUFFIXES", "MEMORY_LIMIT", "EXTRA_COLUMNS", "PREFIX_BYTES",
           "CHUNK_BYTES", "LIMIT", "TIMINGS", "timed", "ProblemList"]

BULK_MIN_BYTES = 4 << 20         # CSV files at least this large are read by DuckDB (Parquet always)
PARQUET_SUFFIXES = (".parquet",)
MEMORY_LIMIT = "1GB"             # DuckDB's share of the ingest process; more spills to disk
EXTRA_COLUMNS = 2                # columns read beyond the widest of the first lines
PREFIX_BYTES = 1 << 20           # bytes searched for the header row
CHUNK_BYTES = 16 << 20
LIMIT = 200                      # detail rows fetched per check (validation.MAX_LISTED)


TIMINGS: list[tuple[str, str, float, float]] = []   # (phase, file/table, wall s, CPU s): benchmarks


@contextlib.contextmanager
def timed(phase: str, what: str):
    """Record the wall and CPU (all threads) time of a phase in :data:`TIMINGS`."""
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        TIMINGS.append((phase, what, time.perf_counter() - wall, time.process_time() - cpu))


class ProblemList(list):
    """Problems found, sorted, with ``total``: how many there are in all (the list holds at least
    the first :data:`LIMIT` of each kind, which is more than an error message shows)."""

    total: int = 0

