"""Notebooks find their store one way (issue 21): ``db`` as given, ``PERFLIB_DB``, then ``data/``
in the working directory and its parents; a missing store names the absolute paths tried and the
ways to point at another."""
from __future__ import annotations

import pytest

from perflib.exceptions import StoreError
from perflib.present.notebook import db_candidates, find_db, open_report


def test_a_missing_store_names_the_absolute_paths_tried_and_the_ways_out(tmp_path, monkeypatch):
    work = tmp_path / "a" / "notebooks"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    monkeypatch.delenv("PERFLIB_DB", raising=False)
    with pytest.raises(StoreError) as caught:
        open_report("probe", db="../data/perf.duckdb")
    text = str(caught.value)
    assert str((work / "../data/perf.duckdb").resolve()) in text  # the path as given, made absolute
    assert str(work / "data" / "perf.duckdb") in text and str(tmp_path / "a" / "data" / "perf.duckdb") in text
    for way in ("db", "PERFLIB_DB", "perflib ingest", "--db"):
        assert way in text


def test_perflib_db_and_the_parent_search(tmp_path, monkeypatch, demo_db):
    work = tmp_path / "repo" / "notebooks" / "deep"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    monkeypatch.setenv("PERFLIB_DB", str(demo_db))
    assert find_db(None) == demo_db
    rep = open_report("probe")  # no db: PERFLIB_DB
    assert rep.store.path == demo_db
    monkeypatch.delenv("PERFLIB_DB")
    assert db_candidates(None)[0].as_posix() == "data/perf.duckdb"
    (tmp_path / "repo" / "data").mkdir()
    (tmp_path / "repo" / "data" / "perf.duckdb").write_bytes(demo_db.read_bytes())
    assert find_db("../data/perf.duckdb") == tmp_path / "repo" / "data" / "perf.duckdb"
    assert find_db(None) == tmp_path / "repo" / "data" / "perf.duckdb"
