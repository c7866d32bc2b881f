"""A store that cannot be written (SECURITY.md §15): a disk that fills up while the new database is
built or swapped in, a read-only store folder, a read-only database file. Each time `perflib ingest`
exits 2 with a Chinese message (no traceback) and the store folder is exactly as it was."""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import duckdb
import pytest

from conftest import sha256_of, small_frames, write_export
from perflib.cli import main
from perflib.ingest import load


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file of ``folder`` with its sha256 (the lock file aside: it is empty and reused)."""
    return {p.name: sha256_of(p) for p in sorted(folder.iterdir())
            if p.is_file() and not p.name.endswith(".lock")}


@pytest.fixture
def store(tmp_path) -> dict:
    """A store holding the small export, and a second export (a changed amount) to load over it."""
    db = tmp_path / "store" / "perf.duckdb"
    load.ingest(write_export(tmp_path / "first", small_frames()), db)
    frames = small_frames()
    frames["payments"].loc[0, "amount"] = frames["payments"].loc[0, "amount"] + 1
    return {"db": db, "export": write_export(tmp_path / "second", frames)}


def _disk_full(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _duckdb_disk_full(con, *_args, **_kwargs):
    con.execute("CREATE TABLE half AS SELECT range AS i FROM range(1000)")  # something written first
    raise duckdb.IOException('IO Error: Could not write all bytes to file "x.tmp": No space left on device')


@pytest.mark.parametrize("where", ["connect", "build", "replace"])
def test_disk_full_during_ingest_exits_2_with_a_chinese_message_and_the_store_unchanged(
        store, monkeypatch, capsys, where):
    db = store["db"]
    before = _snapshot(db.parent)
    if where == "connect":  # the temp database cannot even be created
        monkeypatch.setattr(load.duckdb, "connect", _disk_full)
    elif where == "build":  # DuckDB runs out of space while writing the new tables
        monkeypatch.setattr(load, "_build", _duckdb_disk_full)
    else:  # the swap itself fails
        real = os.replace

        def replace(src, dst, *a, **k):
            if load.TEMP_MARK in str(src):
                _disk_full()
            return real(src, dst, *a, **k)

        monkeypatch.setattr(load.os, "replace", replace)
    code = main(["ingest", str(store["export"]), "--db", str(db)])
    err = capsys.readouterr().err
    assert code == 2
    assert "磁盘空间不足" in err and "原数据库保持不变" in err and str(db) in err
    assert "Traceback" not in err and "Error" not in err.replace("IO Error", "")
    assert _snapshot(db.parent) == before  # no temp file left, the database byte for byte


def test_the_library_raises_a_store_error_not_an_os_error(store, monkeypatch):
    from perflib.exceptions import StoreError

    monkeypatch.setattr(load.duckdb, "connect", _disk_full)
    with pytest.raises(StoreError) as exc:
        load.ingest(store["export"], store["db"])
    assert exc.value.exit_code == 2 and "磁盘空间不足" in str(exc.value)


@pytest.fixture
def read_only():
    """chmod a path read-only for the test (restored after it so that tmp_path can be removed)."""
    changed: list[tuple[Path, int]] = []

    def make(path: Path) -> Path:
        changed.append((path, path.stat().st_mode))
        path.chmod(stat.S_IMODE(path.stat().st_mode) & ~0o222)
        return path

    yield make
    for path, mode in reversed(changed):
        path.chmod(mode)


@pytest.mark.parametrize("case", ["new store in a read-only folder", "existing store in a read-only folder",
                                  "read-only database file"])
def test_an_unwritable_store_exits_2_and_nothing_changes(store, tmp_path, read_only, capsys, case):
    db = store["db"]
    if case == "new store in a read-only folder":
        folder = tmp_path / "empty"
        folder.mkdir()
        db, blocked = folder / "perf.duckdb", folder
        read_only(folder)
    elif case == "existing store in a read-only folder":
        blocked = read_only(db.parent)
    else:
        blocked = read_only(db)
    before = _snapshot(db.parent)
    code = main(["ingest", str(store["export"]), "--db", str(db)])
    err = capsys.readouterr().err
    assert code == 2
    assert "只读" in err and str(blocked) in err and "原数据库保持不变" in err
    assert "Traceback" not in err and "PermissionError" not in err
    assert _snapshot(db.parent) == before
    assert sorted(p.name for p in db.parent.iterdir()) == sorted(before) + (
        [] if case == "new store in a read-only folder" else ["perf.duckdb.lock"])
