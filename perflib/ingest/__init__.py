"""Reading, checking and loading an export folder: ``ingest()`` is the public face."""
from .load import IngestSummary, ingest

__all__ = ["IngestSummary", "ingest"]
