"""The DuckDB reader: reading and validation of large export files (province scale).

The Python reader (:mod:`perflib.ingest.reader`) converts cell by cell; at 15 million payment rows that
takes minutes and many GiB. Here DuckDB reads big CSV files (and every Parquet file) as text,
converts them to typed columns with SQL inside the database being built, and validation runs as SQL
queries. The results and messages are the Python path's, by construction:

* a cell takes the SQL *fast path* only where its text has a form whose Python result is certain
  (``2023``, ``2023-07-31``, ``1234.56``, an ASCII code, text with no surrounding whitespace);
  every other non-empty cell keeps its raw text, and the distinct raw texts are converted by the
  very same Python converters (:func:`perflib.ingest.cells.converter`), then written back;
* rows that might not be data (blank, a repeated header, a 合计/小计 row: those whose first cell is
  empty or holds 计, or that repeat the header's first cell) are handed with their raw cells to the
  Python reader's own functions, which decide and word the problems;
* the header is recognised by the Python reader itself (on the file's first lines), and the row
  checks (required, allowed values, ranges, keys, payment dates…) run the Python validator on the
  few rows that SQL finds offending, so every message is worded by the same code;
* anything DuckDB might read differently from Python's ``csv`` module (quoted line breaks, spaces
  around quotes, NUL bytes, bare CR line ends, rows wider than expected, mixed encodings) sends the
  file back to the Python reader.

Rows keep the line number a user sees in a text editor (for Parquet the column names are row 1), so
a bad row near the end of a 15 M-row file is named by file and line. Problems are collected by
query: the first :data:`~.common.LIMIT` of each kind and the count of all, so that the message (which lists
the first :data:`perflib.ingest.checks.MAX_LISTED`) is the Python path's however many rows are wrong.

Modules: :mod:`.common` (settings, timings), :mod:`.sql` (SQL snippets), :mod:`.scan` (the pass over a
file), :mod:`.plan` (:class:`BulkReader`, the :class:`~perflib.ingest.model.Reader`), :mod:`.stage`
(:class:`BulkExport`, the :class:`~perflib.ingest.model.Staged`), :mod:`.validate` (the checks in SQL).
"""
from __future__ import annotations

from .common import BULK_MIN_BYTES, PARQUET_SUFFIXES, TIMINGS, ProblemList
from .plan import BulkReader
from .stage import BulkExport, BulkPart

__all__ = ["BULK_MIN_BYTES", "PARQUET_SUFFIXES", "TIMINGS", "BulkReader", "BulkExport", "BulkPart",
           "ProblemList"]
