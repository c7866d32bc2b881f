"""Reading, checking and loading an export folder: ``ingest()`` and ``check()`` are the public face.

The road: :mod:`.sources` (files → raw tables) and :mod:`.cells` (cell → value), read by the readers
of :mod:`.reader` (Python) and :mod:`.bulk` (DuckDB) through the interface of :mod:`.model`;
:mod:`.folder` hands each file to them; :mod:`.checks` finds every problem; :mod:`.load` builds the
new database beside the old and swaps it in.
"""
from .load import CheckSummary, IngestSummary, check, ingest

__all__ = ["IngestSummary", "ingest", "CheckSummary", "check"]
