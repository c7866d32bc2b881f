"""The data-quality report and the coverage report through ``perflib run`` on the demo store with
findings planted (conftest ``planted_db``): the facts and the header line checked against counts
made with plain SQL + pandas, the classified project redacted on every page and sheet."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import duckdb
import pytest

from perflib.cli import main

pytestmark = pytest.mark.slow

YEAR = 2023


@pytest.fixture(scope="module")
def run_out(planted_db, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("quality_reports")
    rc = main(["run", "quality", "coverage", "--db", str(planted_db["db"]), "--out", str(out),
               "--year", str(YEAR), "--no-progress", "--jobs", "2"])
    assert rc == 0
    return out / str(YEAR)


def _raw(db) -> "duckdb.DuckDBPyRelation":
    con = duckdb.connect(str(db), read_only=True)
    f = con.execute("SELECT * FROM findings").df()
    con.close()
    prev = f["table_name"].isin(["self_evaluations", "self_eval_indicators"]).astype(int)
    return f[f["year"].isna() | (f["year"] == YEAR - prev)]


def test_quality_report_facts_and_page(run_out, planted_db):
    raw = _raw(planted_db["db"])
    facts = json.loads((run_out / "quality.facts.json").read_text("utf-8"))["facts"]
    assert facts["quality.findings_total"] == len(raw) > 100
    assert facts["quality.findings_by_kind"] == raw["kind"].value_counts().to_dict()
    page = (run_out / "quality.html").read_text("utf-8")
    assert f"数据质量提示 {len(raw)} 处" in page
    assert "数据质量提示清单" in page and "本报告所用数据有" not in page  # no line about itself
    pid, name, _ = planted_db["classified"]
    with zipfile.ZipFile(run_out / "quality.xlsx") as z:
        book = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
    for text in (page, book):
        assert pid not in text and name not in text
    assert "涉密项目" in book


def test_coverage_page_has_the_line_with_its_count(run_out, planted_db):
    raw = _raw(planted_db["db"])
    n = int(raw["table_name"].isin(["departments", "projects", "targets", "self_evaluations"]).sum())
    assert 0 < n < len(raw)
    page = (run_out / "coverage.html").read_text("utf-8")
    assert f'本报告所用数据有 {n} 处数据质量提示，见<a href="quality.html">数据质量报告</a>' in page
