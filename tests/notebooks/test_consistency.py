"""One definition per fact across all reports: over the whole rendered demo suite, every fact name
that appears in several reports has one value (within a cent for money, 1e-9 for rates), each
fact carries its 口径 (``scopes``) and each page states the status of the rules it applies.

A fact of a fanned-out report is scoped by its parameter (``cost.*`` by project type, the street
facts by street): those are compared only between reports with the same value of that parameter.
The overview's sums over those reports must equal them too.
"""
from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from pathlib import Path

import pytest

from perflib.present.scopes import SCOPES
from perflib.rules import STATUS_LABELS

pytestmark = pytest.mark.slow

# the report parameter a fact is scoped by (absent: the whole district of the year)
SCOPED_BY = {"cost.projects": "project_type", "cost.unit_cost_median": "project_type",
             "cost.standard": "project_type", "cost.savings": "project_type", "cost.outliers": "project_type",
             "cost.actual_cut": "project_type",
             "fiscal.index": "street", "fiscal.rank": "street", "fiscal.pi1": "street", "fiscal.veto": "street"}


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=0, abs_tol=0.005 if max(abs(a), abs(b)) >= 1 else 1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _documents(out: Path) -> dict[str, dict]:
    return {str(p.relative_to(out)).removesuffix(".facts.json"): json.loads(p.read_text("utf-8"))
            for p in sorted(out.rglob("*.facts.json"))
            if not any(part.startswith(".") for part in p.relative_to(out).parts)}  # not the version folders


def disagreements(docs: dict[str, dict]) -> list[str]:
    """Every fact name with more than one value among the reports of one year (and one scope)."""
    seen: dict[tuple, list[tuple[str, object]]] = defaultdict(list)
    for stem, doc in docs.items():
        params = doc["parameters"]
        for name, value in doc["facts"].items():
            by = SCOPED_BY.get(name)
            seen[(params["year"], name, params.get(by) if by else None)].append((stem, value))
    out = []
    for key, values in sorted(seen.items(), key=str):
        first = values[0][1]
        if any(not _same(first, v) for _, v in values[1:]):
            out.append(f"{key}: {values}")
    return out


def relation_problems(docs: dict[str, dict]) -> list[str]:
    """The overview's figures over fanned-out reports equal those reports' own figures."""
    problems = []
    for year in {d["parameters"]["year"] for d in docs.values()}:
        ov = [d["facts"] for d in docs.values() if d["notebook"] == "overview" and d["parameters"]["year"] == year]
        if not ov:
            continue
        o = ov[0]
        streets = {d["parameters"]["street"]: d["facts"] for d in docs.values()
                   if d["notebook"] == "fiscal" and d["parameters"]["year"] == year}
        by_name = o.get("fiscal.index_by_street") or {}
        if streets and sorted(by_name.values()) != sorted(f["fiscal.index"] for f in streets.values()
                                                         if f["fiscal.index"] is not None):
            problems.append(f"{year}: overview fiscal.index_by_street {by_name} ≠ street reports")
        cost = [d["facts"] for d in docs.values() if d["notebook"] == "cost" and d["parameters"]["year"] == year]
        if cost and "cost.savings_total" in o:
            with_std = [f for f in cost if f["cost.standard"] is not None]
            total = round(sum(f["cost.savings"] for f in with_std), 2)
            if not _same(total, o["cost.savings_total"]) or len(with_std) != o["cost.standards"]:
                problems.append(f"{year}: cost.savings_total {o['cost.savings_total']} / cost.standards "
                                f"{o['cost.standards']} ≠ Σ cost reports {total} / {len(with_std)}")
            cuts = [f.get("cost.actual_cut") for f in with_std]
            if "cost.actual_cut_total" in o and None not in cuts:
                if not _same(round(sum(cuts), 2), o["cost.actual_cut_total"]):
                    problems.append(f"{year}: cost.actual_cut_total {o['cost.actual_cut_total']} ≠ Σ {sum(cuts)}")
    return problems


def _check_suite(out: Path) -> None:
    docs = _documents(out)
    assert len(docs) >= 6
    assert disagreements(docs) == []
    assert relation_problems(docs) == []
    for stem, doc in docs.items():
        assert set(doc["scopes"]) == set(doc["facts"]), stem  # every fact with its 口径
        assert all(re.search(r"[\u4e00-\u9fff]", s) and "{" not in s for s in doc["scopes"].values()), stem
        page = (out / f"{stem}.html").read_text("utf-8")
        assert "口径说明" in page, stem
        # the applied-rules block(s): every rule row states its status (官方规定 / 地方做法 / 假设)
        tables = [t for t in re.findall(r"<table\b.*?</table>", page, re.S) if ">性质</th>" in t]
        assert tables, stem
        statuses = [re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)[-1].strip()
                    for t in tables for r in re.findall(r"<tr>(.*?)</tr>", t, re.S) if "<td" in r]
        assert statuses and all(v in STATUS_LABELS.values() for v in statuses), (stem, set(statuses))

def test_one_value_per_fact_across_the_demo_suite(demo_reports):
    _check_suite(demo_reports)


def test_one_value_per_fact_across_the_hostile_demo_suite(demo_suite):
    """The same on the hostile demo (classified projects in every table, names with markup)."""
    assert demo_suite["returncode"] == 0, demo_suite["log"][-3000:]
    _check_suite(demo_suite["out"])


def test_the_checks_can_fail():
    docs = {"a": {"notebook": "coverage", "parameters": {"year": 2023, "dept": None},
                  "facts": {"targets.projects": 511, "monitoring.budget": 1.0}},
            "b": {"notebook": "overview", "parameters": {"year": 2023},
                  "facts": {"targets.projects": 512, "monitoring.budget": 1.004,
                            "fiscal.index_by_street": {"甲": 50.0}, "cost.savings_total": 10.0, "cost.standards": 1}},
            "c": {"notebook": "cost", "parameters": {"year": 2023, "project_type": "x"},
                  "facts": {"cost.savings": 10.02, "cost.standard": 1.0}},
            "d": {"notebook": "cost", "parameters": {"year": 2023, "project_type": "y"},
                  "facts": {"cost.savings": 99.0, "cost.standard": None}},
            "e": {"notebook": "fiscal", "parameters": {"year": 2023, "street": "1"}, "facts": {"fiscal.index": 51.0}}}
    found = disagreements(docs)
    assert len(found) == 1 and "targets.projects" in found[0]  # money within a cent agrees
    assert len(relation_problems(docs)) == 2  # the street index and the savings total differ
    assert set(SCOPED_BY) <= set(SCOPES)
