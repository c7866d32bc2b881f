"""Giving freed memory back to the system, where the peak of a report's processes is measured.

glibc keeps what a process frees in its heap for later allocations; ``malloc_trim`` hands the free
pages back. Not free: the next allocations fault those pages in again. A province monitoring kernel
held 25–30 MB less at its peak with a trim after each query and each recorded table, but its cells
took ~0.4 s longer; so only the runner trims, where it waits for the kernel: after planning here,
and after each sheet it writes ahead through Arrow's ``release_unused``, which on the C library's
allocator (perflib.pandas_speed's) is the same ``malloc_trim`` (benchmarks/README.md, the twelfth
session).
"""
from __future__ import annotations

import ctypes
import functools


@functools.lru_cache(maxsize=1)
def _libc():
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:  # not glibc (macOS, Windows, musl): nothing to trim
        return None


def trim_memory() -> bool:
    """Return the C heap's free pages to the system (``malloc_trim(0)``); False where there is no glibc."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
