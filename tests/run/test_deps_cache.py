"""The import lists of perflib's sources kept across runs (perflib.run.deps._ImportsCache): a run
parses only the files changed since the last, and gets the same closure as a parse of every file."""
from __future__ import annotations

import json

import pytest

from perflib.run import deps

ROOTS = ["perflib.run.runner", "perflib.present.notebook"]


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """A cache in its own folder, and a new process's state: nothing parsed in memory yet."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    parse = deps._file_imports  # the lru-cached parser (a test may replace it)

    def new_process():
        parse.cache_clear()
        monkeypatch.setattr(deps, "_IMPORTS", deps._ImportsCache())

    new_process()
    yield tmp_path / "cache" / "perflib" / "imports.json", new_process
    parse.cache_clear()


def test_a_second_run_parses_nothing_and_finds_the_same_closure(fresh_cache, monkeypatch):
    stored, new_process = fresh_cache
    files, seen = deps.import_closure(ROOTS)
    kept = json.loads(stored.read_text("utf-8"))
    assert {k.split("\0")[0] for k in kept} == {str(f) for f in files}
    new_process()
    monkeypatch.setattr(deps.ast, "parse", lambda *a, **k: pytest.fail("parsed although unchanged"))
    assert deps.import_closure(ROOTS) == (files, seen)


def test_a_changed_file_is_parsed_again(fresh_cache, monkeypatch):
    stored, new_process = fresh_cache
    files, seen = deps.import_closure(ROOTS)
    kept = json.loads(stored.read_text("utf-8"))
    key = next(k for k in kept if k.startswith(str(deps.PACKAGE_DIR / "run" / "runner.py")))
    kept[key] = [kept[key][0] - 1, kept[key][1], []]  # as if the file had been edited since
    stored.write_text(json.dumps(kept), "utf-8")
    new_process()
    parsed: list[str] = []
    real = deps._file_imports.__wrapped__

    def counting(path, package, mtime_ns, size):
        parsed.append(path)
        return real(path, package, mtime_ns, size)

    monkeypatch.setattr(deps, "_file_imports", counting)
    assert deps.import_closure(ROOTS) == (files, seen)
    assert parsed == [key.split("\0")[0]]
    assert json.loads(stored.read_text("utf-8"))[key][2]  # its imports kept again


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"x": 1}'])
def test_a_cache_that_cannot_be_read_is_ignored(fresh_cache, content):
    stored, new_process = fresh_cache
    files, seen = deps.import_closure(ROOTS)
    stored.write_text(content, "utf-8")
    new_process()
    assert deps.import_closure(ROOTS) == (files, seen)


def test_a_cache_folder_that_cannot_be_written_only_costs_the_parsing(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("", "utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))  # a file where the folder would be
    deps._file_imports.cache_clear()
    monkeypatch.setattr(deps, "_IMPORTS", deps._ImportsCache())
    files, _ = deps.import_closure(ROOTS)
    assert files and blocked.read_text("utf-8") == ""
