"""The fiscal notebook through ``perflib run`` for every street of the demo store, its facts checked
against an independent computation (plain SQL + pandas on the demo DuckDB, not perflib.analysis.fiscal)."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from perflib.rules import load_rules

pytestmark = pytest.mark.slow  # end-to-end: outside the fast lane (`-m "not slow"`)


YEAR = 2023


# ``demo_db``: the session-scoped demo store of tests/conftest.py (seed 0, ingested once).


@pytest.fixture(scope="module")
def run_out(demo_reports) -> tuple[int, Path]:
    """The fiscal pages of conftest's demo suite (``perflib run`` of every report on ``demo_db``, latest
    year 2023, exit 0 asserted there): the same pages ``perflib run fiscal --year 2023`` writes,
    rendered once per run instead of once more here."""
    return 0, demo_reports


def _value_sql(year: int, indicator: str) -> str:
    return f"max(CASE WHEN f.year = {year} AND f.indicator = '{indicator}' THEN f.value END)"


def evaluated_year(con) -> int:
    """The demo's payments of YEAR stop in July: YEAR's 决算 is not final, the report evaluates the
    year before (whose payments reach December and whose streets all have both 决算 figures)."""
    last = con.execute(f"SELECT max(month(pay_date)) FROM payments WHERE year = {YEAR}").fetchone()[0]
    return YEAR if last == 12 else YEAR - 1


def _ratio_sql(a: str, b: str, ya: int, yb: int) -> str:
    den = _value_sql(yb, b)
    return f"{_value_sql(ya, a)} / CASE WHEN {den} > 0 THEN {den} END"


def expected(db: Path) -> pd.DataFrame:
    """Index, rank (None for a street vetoed for debt) and PI-1 grade per evaluated street of the
    evaluated year, recomputed independently; debt is a veto item, not scored."""
    con = duckdb.connect(str(db), read_only=True)
    y = evaluated_year(con)
    p = y - 1
    raw = con.execute(f"""
        WITH streets AS (
            SELECT dept_code, dept_name FROM departments
            WHERE is_street AND dept_code IN (SELECT dept_code FROM street_fiscal WHERE year = {y}))
        SELECT s.dept_code, s.dept_name,
            {_ratio_sql('税收收入', '一般公共预算收入', y, y)} AS tax_share,
            {_ratio_sql('一般公共预算收入', '一般公共预算收入', y, p)} - 1 AS revenue_growth,
            {_ratio_sql('一般公共预算支出', '一般公共预算支出预算数', y, y)} AS budget_execution,
            {_ratio_sql('三保支出', '三保支出需求', y, y)} AS three_guarantees,
            {_ratio_sql('行政成本', '一般公共预算支出', y, y)} AS admin_cost_share,
            {_ratio_sql('行政成本', '行政成本', y, p)} - 1 AS admin_cost_change,
            {_value_sql(y, '债务余额')} AS debt,
            {_ratio_sql('一般公共预算收入', '一般公共预算支出', y, y)} AS balance_ratio,
            {_ratio_sql('结转结余', '一般公共预算支出', y, y)} AS carryover_share
        FROM streets s JOIN street_fiscal f USING (dept_code)
        GROUP BY s.dept_code, s.dept_name ORDER BY s.dept_code""").df().set_index("dept_code")
    cov = con.execute(f"""
        WITH RECURSIVE units(dept_code, street) AS (
            SELECT dept_code, dept_code FROM departments WHERE is_street
            UNION ALL
            SELECT d.dept_code, u.street FROM departments d JOIN units u ON d.parent_code = u.dept_code),
        eligible AS (
            SELECT u.street, p.project_id, p.year FROM projects p JOIN units u USING (dept_code)
            WHERE p.fund_source = '本级' AND NOT coalesce(p.is_classified, false)
              AND NOT coalesce(p.is_special, false))
        SELECT street AS dept_code,
            count(*) FILTER (WHERE year = {y} AND EXISTS (SELECT 1 FROM targets t
                WHERE t.project_id = e.project_id AND t.year = e.year))
              / nullif(count(*) FILTER (WHERE year = {y}), 0) AS target_coverage,
            count(*) FILTER (WHERE year = {p} AND EXISTS (SELECT 1 FROM self_evaluations s
                WHERE s.project_id = e.project_id AND s.year = e.year))
              / nullif(count(*) FILTER (WHERE year = {p}), 0) AS selfeval_coverage
        FROM eligible e GROUP BY street""").df().set_index("dept_code")
    values = raw.join(cov, how="left")
    pi1 = con.execute(f"""
        SELECT dept_code, year,
            max(CASE WHEN indicator = '一般公共预算支出' THEN value END)
              / max(CASE WHEN indicator = '一般公共预算支出预算数' THEN value END) AS ratio
        FROM street_fiscal WHERE year BETWEEN {y - 2} AND {y} GROUP BY ALL""").df()
    con.close()

    indicators = {k: v for k, v in load_rules().value("fiscal.indicators").items() if k != "debt_ratio"}
    total = pd.Series(0.0, index=values.index)
    weight = pd.Series(0.0, index=values.index)
    for key, spec in indicators.items():
        x = values[key].astype(float)
        if spec["direction"] == "target_one":
            x = (x - 1).abs()
        lo, hi = x.min(), x.max()
        if abs(hi - lo) < 1e-12:
            score = x * 0 + 100
        elif spec["direction"] == "higher":
            score = (x - lo) / (hi - lo) * 100
        else:
            score = (hi - x) / (hi - lo) * 100
        total += score.fillna(0) * spec["weight"]
        weight += score.notna() * spec["weight"]
    out = pd.DataFrame({"dept_name": values["dept_name"], "index": total / weight})
    out["veto"] = values["debt"].fillna(0) > 0
    out["rank"] = pd.Series([None if v else int(r) for v, r in
                             zip(out["veto"], out["index"].where(~out["veto"]).rank(ascending=False, method="min"))],
                            index=out.index, dtype=object)
    out["year"] = y

    def grade(ratios: list[float]) -> str:
        # PI-1: A 95–105 %, B 90–110 %, C 85–115 %, bounds inclusive, in at least 2 of the 3 years
        for g, lo, hi in (("A", 0.95, 1.05), ("B", 0.90, 1.10), ("C", 0.85, 1.15)):
            if sum(1 for r in ratios if lo <= round(r, 10) <= hi) >= 2:
                return g
        return "D"

    out["pi1"] = [grade(list(pi1.loc[pi1["dept_code"] == c, "ratio"])) for c in out.index]
    return out


def test_every_street_rendered_with_independent_facts(demo_db, run_out):
    rc, out = run_out
    assert rc == 0
    exp = expected(demo_db)
    assert len(exp) == 12 and "东风街道办事处" in set(exp["dept_name"])      # seed: 东风街道 evaluated
    facts_files = sorted((out / str(YEAR)).glob("fiscal-*.facts.json"))
    assert len(facts_files) == len(exp)
    seen = set()
    for f in facts_files:
        doc = json.loads(f.read_text("utf-8"))
        code = str(doc["parameters"]["street"])
        row = exp.loc[code]
        assert row["dept_name"] in f.name                                  # human name in the file name
        facts = doc["facts"]
        assert facts["fiscal.streets"] == 12 and facts["fiscal.year"] == row["year"] == YEAR - 1
        assert facts["fiscal.veto"] == bool(row["veto"])
        assert facts["fiscal.index"] == pytest.approx(row["index"], abs=0.006)
        assert facts["fiscal.rank"] == row["rank"]
        assert facts["fiscal.pi1"] == row["pi1"]
        seen.add(code)
    assert seen == set(exp.index)
    assert sorted(r for f in facts_files if (r := json.loads(f.read_text("utf-8"))["facts"]["fiscal.rank"])) == \
        sorted(r for r in exp["rank"] if r is not None)
    assert 1 <= int(exp["veto"].sum()) < len(exp)      # the demo has a few indebted streets
    # the demo makes PEFA grades vary across streets
    assert len(set(exp["pi1"])) >= 3


def test_html_and_xlsx_of_dongfeng(run_out):
    _, out = run_out
    html = (out / str(YEAR) / "fiscal-东风街道办事处.html").read_text("utf-8")
    for text in ("综合绩效指数", "PEFA", "与上次评价比较", "上一次评价为2021年", "指标体系", "含上下限",
                 "本报告评价 2022 年度", "2023 年支付数据只到 7 月", "PI-2.1", "PI-3.1", "（PI-2.2）评为",
                 "分经济分类支出（PI-2.2 计算过程）",
                 "压缩和控制行政成本"):
        assert text in html, text
    assert 'src="http' not in html and "Traceback" not in html
    # a street whose 街道财政 rows carry no 经济分类: PI-2.2 from its projects' budgets and payments by
    # 经济分类 (issue 18), and the page says so, with the share of payments that carry a code
    other = (out / str(YEAR) / "fiscal-全福街道办事处.html").read_text("utf-8")
    assert "街道财政表没有本街道按经济分类的预算数和决算数，PI-2.2 改用本街道" in other
    assert "（PI-2.2）评为" in other and "只含项目支出，不含基本支出" in other
    assert "PI-2.2（按经济分类的支出结构偏差）不适用" not in other
    with zipfile.ZipFile(out / str(YEAR) / "fiscal-东风街道办事处.xlsx") as z:
        book = z.read("xl/workbook.xml").decode("utf-8")
    for sheet in ("指数排名", "指标得分", "PEFA评分", "同比", "指标体系"):
        assert sheet in book, sheet


def test_overview_section_5_on_demo(demo_db):
    from perflib.present.text import overview
    from perflib.store import Store

    exp = expected(demo_db)
    with Store(demo_db) as store:
        sec = overview.section_5(store, YEAR, load_rules())
    assert "东风街道办事处" in sec.text and f"开展街道级政府财政运行综合绩效评价工作，评价 {YEAR - 1} 年度" in sec.text
    assert sec.facts["fiscal.year"] == YEAR - 1
    dongfeng = exp[exp["dept_name"] == "东风街道办事处"].iloc[0]
    assert f"东风街道办事处 {dongfeng['index']:.2f} 分" in sec.text
    assert sec.facts["fiscal.streets"] == 12
