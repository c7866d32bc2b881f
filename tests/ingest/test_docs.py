"""docs/input-format.md is what the code renders from the schema, and its examples are valid input."""
from __future__ import annotations

import csv

from perflib.ingest.docs import DOC_PATH, EXAMPLES, render_input_format
from perflib.ingest.folder import read_export
from perflib.schema import TABLE_ORDER, TABLES
from perflib.ingest.checks import validate


def test_committed_doc_equals_rendered():
    assert DOC_PATH.read_text(encoding="utf-8") == render_input_format(), \
        "docs/input-format.md is stale: run  python -m perflib.ingest.docs docs/input-format.md"


def test_every_table_and_header_documented():
    text = render_input_format()
    for name in TABLE_ORDER:
        t = TABLES[name]
        assert f"### {t.label}（{t.name}）" in text
        for c in t.columns:
            assert f"| {c.header} | `{c.name}` |" in text
            for v in c.allowed:
                assert v in text


def test_one_example_per_table_with_every_column():
    assert set(EXAMPLES) == set(TABLE_ORDER)
    for name, rows in EXAMPLES.items():
        assert rows, name
        names = {c.name for c in TABLES[name].columns}
        for r in rows:
            assert set(r) == names, name


def test_examples_are_a_valid_export(tmp_path):
    for name, rows in EXAMPLES.items():
        t = TABLES[name]
        with open(tmp_path / f"{t.label}.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([c.header for c in t.columns])
            for r in rows:
                w.writerow([r[c.name] for c in t.columns])
    export = read_export(tmp_path)
    assert validate(export) == []
    assert {n: len(df) for n, df in export.tables.items()} == {n: len(r) for n, r in EXAMPLES.items()}
