"""perflib.files: the one place for atomic writes, temp sweeping and hashing."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from perflib import files


def test_atomic_write_never_leaves_half_a_file(tmp_path, monkeypatch):
    target = tmp_path / "r.html"
    files.atomic_write_text(target, "old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        files.atomic_write_text(target, "new " * 1000)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]  # temp file removed




def test_atomic_write_flushes_to_disk_unless_asked_not_to(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real(fd))
    files.atomic_write_text(tmp_path / "published.html", "a")
    assert len(synced) == 1
    files.atomic_write_text(tmp_path / "work.json", "b", durable=False)  # a report's work file
    assert len(synced) == 1
    assert (tmp_path / "work.json").read_text() == "b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["published.html", "work.json"]


def test_sweep_removes_a_dead_writers_temp_and_keeps_a_live_ones(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    gone = tmp_path / f".r.html.{dead}.abc123.tmp"
    live = tmp_path / f".r.html.{os.getpid()}.def456.tmp"
    other = tmp_path / "keep.tmp"  # not one of ours (not hidden)
    for p in (gone, live, other):
        p.write_text("x")
    assert files.sweep_temps(tmp_path) == [gone]
    assert not gone.exists() and live.exists() and other.exists()
    os.utime(live, (0, 0))  # a write takes milliseconds: an hour-old temp is a leftover even if the pid lives
    assert files.sweep_temps(tmp_path) == [live]


def test_sha256_file_equals_hashlib_over_several_chunks(tmp_path):
    data = os.urandom(3 * 1024 + 17)
    p = tmp_path / "x.bin"
    p.write_bytes(data)
    assert files.sha256_file(p, chunk=1024) == hashlib.sha256(data).hexdigest() == files.sha256_bytes(data)
