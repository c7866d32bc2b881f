"""The bulk reader's one streaming pass over a big CSV file (in a background thread): sha256, line
counts, zero-length lines, GBK → UTF-8 transcoding, and what would make DuckDB split or unquote a
record differently from Python's csv module (then the Python reader takes the file).
"""
from __future__ import annotations

import codecs
import hashlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..sources import non_ascii_lines
from .common import CHUNK_BYTES

__all__ = ["Scan", "scan_csv", "LineStats"]


@dataclass
class Scan:
    """What one streaming pass over a CSV file found."""

    sha256: str
    encoding: str | None          # "utf-8" or "gb18030"
    path: Path                    # the UTF-8 file DuckDB reads (a transcode for GBK files)
    lines: int = 0                # physical lines, as Python's csv module counts them
    empty_lines: list[int] = field(default_factory=list)   # zero-length lines (DuckDB skips them)
    decline: str | None = None    # why the Python reader must take the file instead



def scan_csv(path: Path, tmpdir: Path, utf8: bool) -> Scan:
    """One streaming pass: sha256 and line statistics. A file whose first megabyte is UTF-8 is read as
    UTF-8 (DuckDB rejects any invalid byte later, and the Python reader then takes the file);
    otherwise it is GB18030, transcoded to a temp UTF-8 file, unless it is mostly UTF-8 with some
    GBK lines (the Python reader names those). ``path`` is the name DuckDB is given
    (:meth:`perflib.ingest.bulk.plan.Workspace.exact`: never the user's own name, a glob to DuckDB)."""
    h = hashlib.sha256()
    stats = LineStats()
    with open(path, "rb") as fh:
        if utf8:
            while data := fh.read(CHUNK_BYTES):
                h.update(data)
                stats.feed(data)
            scan = Scan(h.hexdigest(), "utf-8", path)
        else:
            target = tmpdir / f"gbk-{uuid.uuid4().hex}.csv"     # a name DuckDB cannot take as a glob
            dec = codecs.getincrementaldecoder("gb18030")()
            good = bad = 0
            tail = b""
            remaining = _count_lines(path)    # bounds how many lines could still be UTF-8
            try:
                with open(target, "wb") as fout:
                    while data := fh.read(CHUNK_BYTES):
                        h.update(data)
                        block = tail + data
                        cut = block.rfind(b"\n") + 1
                        tail = block[cut:]
                        if bad <= good + remaining:    # else "mostly UTF-8" can no longer hold
                            good, bad = _utf8_lines(block[:cut], good, bad)
                        remaining -= block.count(b"\n", 0, cut)
                        text = dec.decode(data).encode("utf-8")
                        stats.feed(text)
                        fout.write(text)
                    good, bad = _utf8_lines(tail, good, bad)
                    text = dec.decode(b"", final=True).encode("utf-8")
                    stats.feed(text)
                    fout.write(text)
            except UnicodeDecodeError:
                target.unlink(missing_ok=True)
                return Scan(h.hexdigest(), None, path, decline="encoding")
            if bad and good > bad:       # mostly UTF-8 with some GBK lines: the reader names them
                target.unlink(missing_ok=True)
                return Scan(h.hexdigest(), None, path, decline="mixed")
            scan = Scan(h.hexdigest(), "gb18030", target)
    scan.lines, scan.empty_lines, scan.decline = stats.finish()
    return scan


def _count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as fh:
        while data := fh.read(CHUNK_BYTES):
            n += data.count(b"\n")
    return n + 1


def _utf8_lines(block: bytes, good: int, bad: int) -> tuple[int, int]:
    """Count non-ASCII lines that are / are not UTF-8 (as the Python reader counts them for a mixed encoding)."""
    if block.isascii():
        return good, bad
    for _, ok in non_ascii_lines(block):
        good, bad = (good + 1, bad) if ok else (good, bad + 1)
    return good, bad


class LineStats:
    """Fed a file's bytes chunk by chunk: counts lines (as Python's csv module does), finds the
    zero-length ones (DuckDB skips them), and notes what DuckDB could split or unquote differently
    from Python (NUL bytes, bare CR line ends, spaces around quotes)."""

    def __init__(self):
        self.lines = 0            # newlines before the current chunk
        self.line_start = 0       # byte offset where the current line began
        self.prev = b"\n"         # the last two bytes before this chunk (a line ends before the file)
        self.base = 0
        self.empty: list[int] = []
        self.decline: str | None = None

    def feed(self, data: bytes) -> None:
        if self.decline or not data:
            return
        if b"\x00" in data:
            self.decline = "NUL"
        n_cr = data.count(b"\r")
        if n_cr and n_cr != data.count(b"\r\n") + data.endswith(b"\r"):
            self.decline = "CR"
        if b'"' in data and (b' "' in data or b'" ' in data or b'\t"' in data or b'"\t' in data):
            self.decline = "quotes"
        edge = self.prev + data[:2]
        base = self.base
        if b"\n\n" in data or b"\n\r\n" in data or b"\n\n" in edge or b"\n\r\n" in edge:
            arr = np.frombuffer(data, dtype=np.uint8)
            nl = np.flatnonzero(arr == 10) + base
            if len(nl):
                starts = np.r_[self.line_start, nl[:-1] + 1]
                length = nl - starts
                before = nl - 1 - base
                last = np.where(before >= 0, arr[np.maximum(before, 0)], self.prev[-1])
                zero = (length == 0) | ((length == 1) & (last == 13))
                self.empty.extend(int(self.lines + k + 1) for k in np.flatnonzero(zero))
                self.line_start = int(nl[-1]) + 1
        else:
            k = data.rfind(b"\n")
            if k >= 0:
                self.line_start = base + k + 1
        self.lines += data.count(b"\n")
        self.prev = (self.prev + data[-2:])[-2:]
        self.base += len(data)

    def finish(self) -> tuple[int, list[int], str | None]:
        lines = self.lines + (1 if self.base > self.line_start else 0)   # a last line without newline
        return lines, self.empty, self.decline

