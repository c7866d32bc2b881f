"""The README's Python examples (the code blocks after ``<!-- readme-test -->``) run against the
demo store, in order and in one namespace, so that they cannot go stale (issue 21); their results
are checked against the store itself."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"<!-- readme-test -->\s*\n```python\n(.*?)```", re.S)


def readme_blocks() -> list[str]:
    return BLOCK.findall(README.read_text("utf-8"))


def test_the_readme_has_a_python_section_with_tested_examples():
    text = README.read_text("utf-8")
    assert "## 从 Python 使用" in text and "PERFLIB_DB" in text
    assert len(readme_blocks()) >= 3


def test_the_readme_python_examples_run_on_the_demo_store(demo_db, tmp_path, monkeypatch):
    import duckdb

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "perf.duckdb").symlink_to(demo_db)
    work = tmp_path / "notebooks"  # as from a notebook: found by the parent-directory search
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("PERFLIB_DB", raising=False)
    ns: dict = {}
    for block in readme_blocks():
        exec(compile(block, str(README), "exec"), ns)  # noqa: S102 - the README's own examples
    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        latest = con.execute("SELECT max(year) FROM projects").fetchone()[0]
        assert ns["year"] == latest
        # the unit-cost table: only 道路保洁 project-years with their cost (independent sum in SQL)
        table = ns["table"]
        assert isinstance(table, pd.DataFrame) and len(table) > 0
        assert set(table["project_type"]) == {"道路保洁"}
        n = con.execute("SELECT count(DISTINCT project_id) FROM projects WHERE project_type = '道路保洁' "
                    "AND year = ? AND NOT is_classified", [latest]).fetchone()[0]
        assert (table["year"] == latest).sum() == n
    finally:
        con.close()
    assert ns["facts"]["targets.projects"] > 0
    assert set(ns["execution"]["band"].dropna()) <= {"红色", "黄色", "绿色"}
    assert 1 <= ns["month"] <= 12
