"""perflib.memory: the C heap's free pages handed back (glibc), nothing elsewhere."""
from __future__ import annotations

import ctypes

import pytest

from perflib import memory


def test_trim_memory_calls_malloc_trim_where_there_is_glibc(monkeypatch):
    calls: list[int] = []

    class Libc:
        def malloc_trim(self, pad):
            calls.append(pad)
            return 1

    monkeypatch.setattr(memory, "_libc", lambda: Libc())
    assert memory.trim_memory() is True and calls == [0]
    monkeypatch.setattr(memory, "_libc", lambda: None)
    assert memory.trim_memory() is False and calls == [0]


def test_without_glibc_nothing_is_trimmed(monkeypatch):
    memory._libc.cache_clear()

    def no_libc(name):
        raise OSError(name)

    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    try:
        assert memory.trim_memory() is False
    finally:
        memory._libc.cache_clear()


def test_on_this_machine_the_heap_is_trimmed():
    if memory._libc() is None:
        pytest.fail("the test machines run glibc (Debian); malloc_trim must be found")
    assert memory.trim_memory() is True
