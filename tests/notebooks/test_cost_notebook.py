"""The cost notebook through ``perflib run`` on the demo store, for every project type, checked
against plain SQL on the DuckDB file and against the seed (section 七: 5 standards, 727 万元)."""
from __future__ import annotations

import json

import duckdb
import pytest

from perflib.cli import main

pytestmark = pytest.mark.slow  # end-to-end: outside the fast lane (`-m "not slow"`)


SEED_TYPES = {"道路保洁", "文博场馆运行", "消防业务", "物业管理", "公务接待"}
YEAR = 2023


# ``demo_db``: conftest's session fixture (the seed-0 demo export ingested once, read-only).


def _expected(db) -> dict[str, dict]:
    """Per type, computed here with SQL only (DuckDB's quantile_cont is numpy's linear method)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        units = con.execute("""
            SELECT p.project_type, count(DISTINCT o.unit) FROM projects p JOIN outputs o USING (project_id, year)
            WHERE p.year BETWEEN ? AND ? GROUP BY 1""", [YEAR - 2, YEAR]).fetchall()
        assert all(n == 1 for _, n in units), units  # one unit per type: no unit logic needed below
        rows = con.execute("""
            WITH c AS (SELECT project_id, year, sum(amount)::DOUBLE AS cost FROM costs GROUP BY 1, 2),
            u AS (
                SELECT p.project_type AS t, p.year, o.quantity AS q, c.cost / o.quantity AS uc
                FROM projects p JOIN outputs o USING (project_id, year) JOIN c USING (project_id, year)
                WHERE p.year BETWEEN ? AND ? AND o.quantity > 0),
            s AS (SELECT t, quantile_cont(uc, 0.5) AS std, median(uc) AS med, count(*) AS peers FROM u GROUP BY t),
            m AS (SELECT u.t, median(abs(u.uc - s.med)) AS mad FROM u JOIN s USING (t) GROUP BY u.t),
            cur AS (
                SELECT p.project_type AS t, count(*) AS n FROM projects p JOIN outputs o USING (project_id, year)
                WHERE p.year = ? GROUP BY 1)
            SELECT s.t, cur.n, s.peers, s.std,
                   (SELECT median(uc) FROM u WHERE u.t = s.t AND u.year = ?) AS med_y,
                   (SELECT sum(greatest(uc - s.std, 0) * q) FROM u WHERE u.t = s.t AND u.year = ?) AS savings,
                   (SELECT count(*) FROM u WHERE u.t = s.t AND u.year = ?
                       AND abs(0.6745 * (uc - s.med) / m.mad) > 3.5) AS outliers
            FROM s JOIN m USING (t) JOIN cur USING (t)""",
            [YEAR - 2, YEAR, YEAR, YEAR, YEAR, YEAR]).fetchall()
    finally:
        con.close()
    return {t: dict(projects=n, peers=peers, standard=std, median=med_y, savings=sav, outliers=out)
            for t, n, peers, std, med_y, sav, out in rows}


@pytest.fixture(scope="module")
def run_out(demo_reports):
    """The cost pages of conftest's demo suite (``perflib run`` of every report on ``demo_db``, latest
    year 2023, exit 0 asserted there): the same pages ``perflib run cost --year 2023`` writes, rendered
    once per run instead of once more here."""
    return 0, demo_reports


def test_cost_notebook_for_every_type(demo_db, run_out):
    rc, out = run_out
    assert rc == 0
    expected = _expected(demo_db)
    assert set(expected) == SEED_TYPES
    for t, e in expected.items():
        facts_file = out / str(YEAR) / f"cost-{t}.facts.json"
        assert facts_file.exists(), t
        doc = json.loads(facts_file.read_text(encoding="utf-8"))
        assert doc["notebook"] == "cost" and doc["parameters"]["project_type"] == t
        f = doc["facts"]
        assert f["cost.projects"] == e["projects"], t
        assert e["peers"] >= 5
        assert f["cost.standard"] == pytest.approx(e["standard"], rel=1e-9), t
        assert f["cost.unit_cost_median"] == pytest.approx(e["median"], rel=1e-9), t
        assert f["cost.savings"] == pytest.approx(e["savings"], abs=0.01), t
        assert f["cost.outliers"] == e["outliers"], t
        html = (out / str(YEAR) / f"cost-{t}.html").read_text(encoding="utf-8")
        for heading in ("成本结构", "单位成本与同类比较", "成本驱动", "成本效益", "测算可压减与实际压减", "成本管理闭环"):
            assert heading in html, (t, heading)
        assert (out / str(YEAR) / f"cost-{t}.xlsx").exists()
    # the seed's demo has clear outliers somewhere
    assert sum(e["outliers"] for e in expected.values()) >= 1


def test_overview_section_7_equals_seed(demo_db):
    from perflib.analysis import cost
    from perflib.present.text import overview
    from perflib.rules import load_rules
    from perflib.store import Store

    expected = _expected(demo_db)
    total = sum(e["savings"] for e in expected.values())
    assert round(total / 10_000) == 727  # the seed: 压减相关项目预算资金 727 万元
    with Store(demo_db) as store:
        rules = load_rules()
        facts = cost.cost_overview_facts(store, YEAR, rules)
        sec = overview.section_7(store, YEAR, rules)
    assert facts["cost.standards"] == 5
    assert facts["cost.savings_total"] == pytest.approx(total, abs=0.05)
    assert sec.facts == facts
    assert "支出标准5个" in sec.text and "测算可压减相关项目预算资金727万元（测算数）" in sec.text
    assert "共压减" not in sec.text
    # the actual cut: Σ max(0, 2023 年初预算数 − 2024 下年预算数) over the same five types' 2023
    # projects with outputs, recomputed in SQL; it differs from the estimate
    with duckdb.connect(str(demo_db), read_only=True) as con:
        cut = con.execute("""
            SELECT sum(greatest(p.budget_amount - n.budget, 0)) FROM projects p
            JOIN next_budgets n ON n.project_id = p.project_id AND n.year = p.year + 1
            WHERE p.year = 2023 AND p.project_id IN (SELECT project_id FROM outputs WHERE year = 2023)""").fetchone()[0]
    assert facts["cost.actual_cut_total"] == pytest.approx(float(cut), abs=0.01)
    assert round(float(cut) / 10_000) != 727
    assert f"实际压减{round(float(cut) / 10_000)}万元" in sec.text


def test_without_next_budgets_the_pages_say_which_data_they_need(demo_db, tmp_path):
    """A database without the optional 下年预算 table (an export without it, or a database made
    before the table existed): the cost report and the overview still render, give the estimate as
    测算可压减 and say the actual cut needs 下年预算."""
    import shutil

    db = tmp_path / "old.duckdb"
    shutil.copy(demo_db, db)
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE next_budgets")
    out = tmp_path / "out"
    assert main(["run", "cost", "--db", str(db), "--out", str(out), "--year", str(YEAR), "--no-progress",
                 "-p", "project_type=道路保洁"]) == 0
    assert main(["run", "overview", "--db", str(db), "--out", str(out), "--year", str(YEAR),
                 "--no-progress"]) == 0
    cost_html = (out / str(YEAR) / "cost-道路保洁.html").read_text(encoding="utf-8")
    assert "测算可压减" in cost_html and "需要「下年预算」表" in cost_html
    facts = json.loads((out / str(YEAR) / "cost-道路保洁.facts.json").read_text(encoding="utf-8"))["facts"]
    assert facts["cost.actual_cut"] is None and facts["cost.savings"] > 0
    overview_html = next((out / str(YEAR)).glob("overview*.html")).read_text(encoding="utf-8")
    assert "测算可压减相关项目预算资金727万元（测算数）" in overview_html
    assert "需要「下年预算」表" in overview_html and "共压减相关项目预算资金727万元" not in overview_html
