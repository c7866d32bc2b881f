"""Every fact of every report of the demo suite equals the committed snapshot.

The snapshot (``tests/data/facts_snapshot.json``) was written from the suite before perflib was
regrouped into ingest/ → store → analysis/ → present/ → run/; a move that changes any figure fails
here. Regenerate it only for a deliberate change of a figure, and say why in the commit.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

SNAPSHOT = Path(__file__).parents[1] / "data" / "facts_snapshot.json"

pytestmark = pytest.mark.slow


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def test_demo_suite_facts_equal_snapshot(demo_reports):
    snapshot = json.loads(SNAPSHOT.read_text("utf-8"))
    found = {}
    for path in sorted(demo_reports.rglob("*.facts.json")):
        if any(part.startswith(".") for part in path.relative_to(demo_reports).parts):
            continue  # perflib's own hidden folders (the published versions the names link to)
        data = json.loads(path.read_text("utf-8"))
        found[str(path.relative_to(demo_reports)).removesuffix(".facts.json")] = data
    assert sorted(found) == sorted(snapshot), "the suite renders other reports than the snapshot names"
    for stem, expected in snapshot.items():
        got = found[stem]
        assert got["notebook"] == expected["notebook"], stem
        assert got["parameters"] == expected["parameters"], stem
        assert got["facts"].keys() == expected["facts"].keys(), stem
        differ = {k: (expected["facts"][k], got["facts"][k]) for k in expected["facts"]
                  if not _same(expected["facts"][k], got["facts"][k])}
        assert not differ, f"{stem}: facts changed (snapshot, now): {differ}"


def test_snapshot_comparison_detects_a_changed_fact():
    """The comparison is not vacuous: a fact off by one 元 (or one project) is a difference."""
    assert not _same({"a": 936947.0}, {"a": 936948.0})
    assert not _same({"n": 511}, {"n": 512})
    assert not _same({"a": 1.0}, {"a": None})
    assert _same({"a": 0.1 + 0.2}, {"a": 0.3})
