"""Re-ingesting an unchanged export (``perflib.ingest.unchanged``): the files are hashed, not parsed,
and the store stays byte for byte as it was; one changed byte, other rules, ``--strict``, a clock set
back or a store from before the fingerprint take the full path."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from conftest import sha256_of, write_export
from perflib.cli import main
from perflib.ingest import load as load_module
from perflib.ingest.load import ingest
from perflib.schema import TABLE_ORDER

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_inputs"
GAP_CASE = CORPUS / "qualitative_target_blank"      # loads with one finding (定性指标未填指标值)


def everything(db: Path) -> dict[str, list[tuple]]:
    """Every table of the store (input tables, loads, findings, revisions), rows sorted."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {n: sorted(con.execute(f"SELECT * FROM {n}").fetchall(), key=repr)
                for n in (*TABLE_ORDER, "loads", "findings", "revisions")}
    finally:
        con.close()


def execute(db: Path, sql: str):
    con = duckdb.connect(str(db))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def reads(monkeypatch) -> list[Path]:
    """The folders the ingest parsed (``read_export`` calls), recorded."""
    seen: list[Path] = []
    real = load_module.read_export

    def counting(src, **kw):
        seen.append(Path(src))
        return real(src, **kw)

    monkeypatch.setattr(load_module, "read_export", counting)
    return seen


@pytest.fixture
def loaded(tmp_path) -> tuple[Path, Path]:
    """A store holding the small export, then a re-export with one finding (the last load)."""
    db = tmp_path / "db" / "perf.duckdb"
    ingest(write_export(tmp_path / "base", xlsx=("projects",)), db)
    gap = tmp_path / "gap"
    shutil.copytree(GAP_CASE, gap)
    ingest(gap, db)
    return db, gap


def test_unchanged_reingest_parses_nothing_and_leaves_the_store_byte_identical(loaded, reads, capsys):
    db, gap = loaded
    # the last load happened on an earlier day: the date checks (not after today) still hold
    execute(db, "UPDATE loads SET loaded_at = loaded_at - INTERVAL 40 DAY")
    before, before_sha = everything(db), sha256_of(db)
    assert before["findings"] and before["loads"]
    summary = ingest(gap, db)
    assert reads == []                              # nothing parsed
    assert summary.unchanged and summary.load_id is None
    assert sha256_of(db) == before_sha and everything(db) == before
    last = max(r[0] for r in before["loads"])
    assert len(summary.findings) == sum(1 for r in before["findings"] if r[0] == last) > 0
    assert main(["ingest", str(gap), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "与上次导入的完全相同" in out and "数据库未改动" in out and "定性指标未填指标值：" in out
    assert reads == [] and sha256_of(db) == before_sha


def test_the_full_path_agrees_with_the_skip(loaded, reads):
    """With parsing forced (a custom reader list), the same re-ingest gives the same store."""
    db, gap = loaded
    before_sha = sha256_of(db)
    skipped = ingest(gap, db)
    summary = ingest(gap, db, readers=load_module.default_readers())
    assert reads == [gap] and summary.unchanged and skipped.unchanged and sha256_of(db) == before_sha
    assert summary.rows == skipped.rows and summary.totals == skipped.totals

    def located(ps):
        return [(p.kind, p.table, p.file, p.sheet, p.row, p.column, p.key, p.message) for p in ps]

    assert located(summary.findings) == located(skipped.findings) != []


def test_one_changed_byte_takes_the_full_path_with_the_change(loaded, reads):
    db, gap = loaded
    path = gap / "支出明细.csv"
    data = path.read_bytes()
    assert data.count(b"300000.00") == 1
    path.write_bytes(data.replace(b"300000.00", b"300000.01"))   # one byte of one file
    before = everything(db)
    summary = ingest(gap, db)
    assert reads == [gap] and not summary.unchanged and summary.load_id == 3
    after = everything(db)
    changed = {n for n in after if after[n] != before[n]}
    assert changed <= {"payments", "loads", "revisions", "findings"} and "payments" in changed
    assert sorted(r[1:] for r in after["findings"]) == sorted(r[1:] for r in before["findings"])  # load ids
    assert execute(db, "SELECT count(*) FROM payments WHERE amount = 300000.01") == [(1,)]


def test_changed_rules_take_the_full_path(loaded, reads, tmp_path, capsys):
    db, gap = loaded
    before = everything(db)
    # the same data under rules where this finding refuses the export
    rules = tmp_path / "rules.yaml"
    rules.write_text("ingest:\n  severity:\n    value: {qualitative_target_missing: error}\n", encoding="utf-8")
    assert main(["ingest", str(gap), "--db", str(db), "--rules", str(rules)]) == 2
    assert reads == [gap] and everything(db) == before
    # a rules change that grades nothing differently: parsed, loaded anew (load 3), same data
    rules.write_text("ingest:\n  severity:\n    value: {sector_missing: error}\n", encoding="utf-8")
    assert main(["ingest", str(gap), "--db", str(db), "--rules", str(rules)]) == 0
    assert len(reads) == 2
    after = everything(db)
    assert all(after[n] == before[n] for n in TABLE_ORDER)
    assert max(r[0] for r in after["loads"]) == 3
    assert [r[1:] for r in after["findings"]] == [r[1:] for r in before["findings"]]
    # and again under those rules: now unchanged, nothing parsed
    capsys.readouterr()
    assert main(["ingest", str(gap), "--db", str(db), "--rules", str(rules)]) == 0
    assert len(reads) == 2 and "数据库未改动" in capsys.readouterr().out


def test_strict_after_a_load_with_findings_is_checked_again(loaded, reads, capsys):
    db, gap = loaded
    before_sha = sha256_of(db)
    assert main(["ingest", str(gap), "--db", str(db), "--strict"]) == 2
    assert reads == [gap] and sha256_of(db) == before_sha
    assert "定性指标未填指标值" in capsys.readouterr().err


def test_a_clock_set_back_takes_the_full_path(loaded, reads):
    db, gap = loaded
    execute(db, "UPDATE loads SET loaded_at = loaded_at + INTERVAL 2 DAY")
    before_sha = sha256_of(db)
    summary = ingest(gap, db)
    assert reads == [gap] and summary.unchanged and sha256_of(db) == before_sha


def test_a_store_from_before_the_fingerprint_takes_the_full_path_once(loaded, reads):
    db, gap = loaded
    execute(db, "ALTER TABLE loads DROP COLUMN check_sha256")
    summary = ingest(gap, db)
    assert reads == [gap] and not summary.unchanged and summary.load_id == 3
    assert ingest(gap, db).unchanged and reads == [gap]


def test_a_renamed_file_takes_the_full_path(loaded, reads):
    """Same bytes under another name: parsed and loaded anew (findings and loads name the file)."""
    db, gap = loaded
    (gap / "README.txt").write_text("ignored, like hidden files", encoding="utf-8")
    assert ingest(gap, db).unchanged and reads == []
    (gap / "支出明细.csv").rename(gap / "支出明细-001.csv")
    summary = ingest(gap, db)
    assert reads == [gap] and not summary.unchanged and summary.load_id == 3
    assert ("支出明细-001.csv",) in execute(db, "SELECT DISTINCT file FROM loads WHERE load_id = 3")
