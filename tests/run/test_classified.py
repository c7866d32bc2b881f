"""Classified (涉密) projects across every output of the full demo suite.

The suite is rendered once per session (``demo_suite`` in conftest) on the hostile demo, where the
classified projects have rows in every table (targets, monitoring marked 重点监控, self-evaluations,
a key evaluation, outputs and costs of a 公务接待 project), so every report has a chance to leak them.
Scanned: every file under ``reports/`` (HTML, ipynb, facts, xlsx unzipped part by part, the index and
its state file), the file names, the run's log (stdout, stderr and the cells' output via
``--log-output``) and the text drawn in every chart. No name or code of a classified project may
appear in any form (as written, HTML/XML-escaped, JSON-escaped, %-encoded); codes match as whole
tokens. Totals still reconcile: each ``涉密项目（合计）`` line equals plain SQL over the classified
projects, the other rows plain SQL over the rest, and together the report's total fact.
"""
from __future__ import annotations

import html
import json
import re
import urllib.parse
import zipfile
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import CLASSIFIED_KEYEVAL, CLASSIFIED_TWIN

from perflib.present.html import xlsx_bytes

pytestmark = pytest.mark.slow  # end-to-end: outside the fast lane (`-m "not slow"`)

TOTAL_LINE = "涉密项目（合计）"


# --- the scan ------------------------------------------------------------------------------------
def secret_forms(secret: str) -> set[str]:
    """Every way a name or code could be written into an output file."""
    return {secret, html.escape(secret), html.escape(secret, quote=False), json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=True)[1:-1], urllib.parse.quote(secret)} - {""}


def find_leaks(corpus: dict[str, str], secrets: set[str]) -> list[tuple[str, str]]:
    """(where, secret) for every secret found; codes (ASCII) only as whole tokens."""
    found = []
    for where, text in corpus.items():
        for s in secrets:
            for form in secret_forms(s):
                if re.fullmatch(r"[0-9A-Za-z_\-]+", s):
                    hit = re.search(rf"(?<![0-9A-Za-z]){re.escape(form)}(?![0-9A-Za-z])", text)
                else:
                    hit = form in text
                if hit:
                    found.append((where, s))
                    break
    return found


def output_corpus(out: Path) -> dict[str, str]:
    """Every file under ``out`` as text (xlsx: every part of the zip), plus the file names."""
    corpus = {}
    for p in sorted(out.rglob("*")):
        if not p.is_file():
            continue
        rel = str(p.relative_to(out))
        if p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                for name in z.namelist():
                    corpus[f"{rel}!{name}"] = z.read(name).decode("utf-8", errors="ignore")
        else:
            corpus[rel] = p.read_bytes().decode("utf-8", errors="ignore")
    corpus["(file names)"] = "\n".join(str(p.relative_to(out)) for p in out.rglob("*"))
    return corpus


@pytest.fixture(scope="module")
def sql(demo_suite):
    con = duckdb.connect(str(demo_suite["db"]), read_only=True)
    yield lambda q, params=None: con.execute(q, params or []).fetchall()
    con.close()


@pytest.fixture(scope="module")
def secrets(sql) -> set[str]:
    rows = sql("SELECT DISTINCT project_id, project_name FROM projects WHERE is_classified")
    return {str(v) for row in rows for v in row if v}


@pytest.fixture(scope="module")
def corpus(demo_suite) -> dict[str, str]:
    c = output_corpus(demo_suite["out"])
    c["(run log)"] = demo_suite["log"]
    c["(chart text)"] = "\n".join(t for fig in demo_suite["figure_text"] for t in fig)
    return c


def test_the_suite_rendered_every_report(demo_suite):
    assert demo_suite["returncode"] == 0, demo_suite["log"][-3000:]
    state = json.loads((demo_suite["out"] / ".index.json").read_text("utf-8"))
    assert len(state) == 24 and all(e["status"] == "ok" for e in state.values())
    assert len(demo_suite["figure_text"]) >= 40  # the chart hook saw the figures


def test_classified_projects_are_in_the_data_and_their_names_are_theirs_only(sql, secrets):
    # 9 classified project-years, 6 codes and 4 names; none of the names is used by an open project
    assert len(secrets) == 10
    names = {s for s in secrets if not re.fullmatch(r"[0-9\-]+", s)}
    shared = sql("SELECT DISTINCT project_name FROM projects WHERE NOT is_classified AND project_name IN "
                 f"({', '.join('?' * len(names))})", list(names))
    assert shared == []
    for table in ("targets", "monitoring", "self_evaluations", "key_evaluations", "costs", "outputs"):
        n = sql(f"SELECT count(*) FROM {table} t JOIN projects p USING (project_id, year) WHERE p.is_classified")
        assert n[0][0] > 0, table


def test_no_classified_name_or_code_in_any_output(corpus, secrets, demo_suite):
    leaks = find_leaks(corpus, secrets)
    n_files = sum(1 for p in demo_suite["out"].rglob("*") if p.is_file())
    print(f"\nclassified scan: {len(secrets)} names/codes × {len(corpus)} texts "
          f"({n_files} files, {sum(map(len, corpus.values())):,} characters, log and chart text); "
          f"leaks found: {len(leaks)}")
    assert leaks == []


def test_the_scan_finds_what_it_looks_for(secrets):
    name = next(s for s in secrets if not re.fullmatch(r"[0-9\-]+", s))
    code = next(s for s in secrets if re.fullmatch(r"[0-9\-]+", s))
    book = xlsx_bytes([("表", "表", pd.DataFrame({"项目名称": [name]}))])
    with zipfile.ZipFile(__import__("io").BytesIO(book)) as z:
        xlsx_text = "\n".join(z.read(n).decode("utf-8") for n in z.namelist())
    planted = {"a.html": f"<td>{html.escape(name)}</td>", "b.ipynb": json.dumps({"t": name}),
               "c.xlsx": xlsx_text, "d.log": f"x {code}, y", "e.html": f'href="{urllib.parse.quote(name)}"',
               "f.txt": f"{code}9 x9{code}"}
    found = {where for where, _ in find_leaks(planted, {name, code})}
    assert found == {"a.html", "b.ipynb", "c.xlsx", "d.log", "e.html"}  # f: not whole tokens


def test_classified_rows_reach_the_reports_only_as_the_total_line(demo_suite):
    seen = {}
    for book in sorted((demo_suite["out"] / "2023").glob("*.xlsx")):
        for sheet, df in pd.read_excel(book, sheet_name=None).items():
            for col in ("项目名称", "项目编码"):
                if col in df.columns:
                    values = df[col].dropna().astype(str)
                    assert not values.str.match(r"涉密项目-\d+").any(), (book.name, sheet)  # no surrogates
                    if (values == TOTAL_LINE).any():
                        seen.setdefault(book.stem, set()).add(sheet)
                        assert (values == TOTAL_LINE).sum() == 1, (book.name, sheet)
    assert {"重点评价", "结果应用", "自评复核"} <= seen.get("evaluation", set())
    assert {"重点监控项目", "重点评价结果应用"} <= seen.get("overview", set())
    assert {"项目成本结构", "单位成本", "测算与实际压减"} <= seen.get("cost-公务接待", set())


# --- totals reconcile --------------------------------------------------------------------------------
def _edition(demo_suite, stem: str) -> str:
    """The published stem: ``monitoring`` is named by its month (``monitoring-07月``, issue 19)."""
    folder = demo_suite["out"] / "2023"
    if (folder / f"{stem}.facts.json").exists():
        return stem
    found, = [p.name.removesuffix(".facts.json") for p in folder.glob(f"{stem}-[01][0-9]月.facts.json")]
    return found


def _facts(demo_suite, stem: str) -> dict:
    stem = _edition(demo_suite, stem)
    return json.loads((demo_suite["out"] / "2023" / f"{stem}.facts.json").read_text("utf-8"))["facts"]


def _sheet(demo_suite, stem: str, sheet: str) -> pd.DataFrame:
    stem = _edition(demo_suite, stem)
    return pd.read_excel(demo_suite["out"] / "2023" / f"{stem}.xlsx", sheet_name=sheet)


def _split(df: pd.DataFrame, column: str) -> tuple[float, float]:
    """(sum over the open rows, value on the 涉密项目（合计） line) of ``column``."""
    line = df["项目名称"] == TOTAL_LINE
    return float(df.loc[~line, column].sum()), float(df.loc[line, column].fillna(0).sum())


BUDGET = "coalesce(p.adjusted_amount, p.budget_amount)"


def test_monitoring_totals_are_the_open_projects(demo_suite, sql):
    f = _facts(demo_suite, "monitoring")
    month = f["monitoring.as_of_month"]
    (n, budget), = sql(f"SELECT count(*), sum({BUDGET}) FROM projects p WHERE year = 2023 AND NOT is_classified")
    spent, = sql("SELECT sum(x.amount) FROM payments x JOIN projects p USING (project_id, year) "
                 "WHERE x.year = 2023 AND NOT p.is_classified AND month(x.pay_date) <= ?", [month])[0]
    assert f["monitoring.projects"] == n == 609
    assert Decimal(str(f["monitoring.budget"])) == budget
    assert Decimal(str(f["monitoring.spent"])) == spent
    rows = _sheet(demo_suite, "monitoring", "项目执行")
    assert len(rows) == n and not (rows["项目名称"] == TOTAL_LINE).any()
    # budgets shown in 万元 with 2 decimals: the shown sum is within half a fen-of-万元 per row
    assert abs(rows["预算数（万元）"].sum() * 10_000 - float(budget)) <= 50 * n
    (all_budget,), = [sql(f"SELECT sum({BUDGET}) FROM projects p WHERE year = 2023")[0]]
    (secret_budget,), = [sql(f"SELECT sum({BUDGET}) FROM projects p WHERE year = 2023 AND is_classified")[0]]
    assert budget + secret_budget == all_budget


@pytest.mark.parametrize("stem", ["overview", "monitoring"])
def test_key_monitored_projects_reconcile(demo_suite, sql, stem):
    rows = sql(f"""SELECT p.project_id, p.is_classified, {BUDGET} FROM projects p
                   WHERE p.year = 2023 AND p.project_id IN
                     (SELECT project_id FROM monitoring WHERE year = 2023 AND key_monitored)""")
    open_rows = {pid: float(b) for pid, secret, b in rows if not secret}
    secret = sum(float(b) for _, s, b in rows if s)
    assert CLASSIFIED_TWIN in {pid for pid, s, _ in rows if s}
    f = _facts(demo_suite, stem)
    assert f["monitoring.key_projects"] == len(rows) == 4
    assert f["monitoring.key_amount"] == pytest.approx(sum(open_rows.values()) + secret)
    if stem == "overview":
        t = _sheet(demo_suite, "overview", "重点监控项目")
        shown, line = _split(t, "预算数（元）")
        assert set(t.loc[t["项目名称"] != TOTAL_LINE, "项目编码"]) == set(open_rows)
        assert secret > 0 and shown == pytest.approx(sum(open_rows.values())) and line == pytest.approx(secret)
        assert shown + line == pytest.approx(f["monitoring.key_amount"])


def test_key_evaluations_reconcile(demo_suite, sql):
    rows = sql(f"""SELECT p.is_classified, count(*), sum({BUDGET}), sum(k.next_request), sum(k.next_approved)
                   FROM key_evaluations k JOIN projects p USING (project_id, year) WHERE k.year = 2023
                   GROUP BY 1""")
    by = {secret: [float(v) for v in rest] for secret, *rest in rows}
    assert by[True][0] == 1  # CLASSIFIED_KEYEVAL
    f = _facts(demo_suite, "evaluation")
    assert f["keyeval.projects"] == by[False][0] + by[True][0]
    assert f["keyeval.amount"] == pytest.approx(by[False][1] + by[True][1])
    assert f["keyeval.request"] == pytest.approx(by[False][2] + by[True][2])
    assert f["keyeval.cut"] == pytest.approx((by[False][2] - by[False][3]) + (by[True][2] - by[True][3]))
    assert {k: v for k, v in _facts(demo_suite, "overview").items() if k.startswith("keyeval.")} == \
        {k: v for k, v in f.items() if k.startswith("keyeval.")}
    t = _sheet(demo_suite, "evaluation", "重点评价")
    assert CLASSIFIED_KEYEVAL not in set(t["项目编码"].astype(str))
    shown, line = _split(t, "项目资金（元）")
    assert (shown, line) == (pytest.approx(by[False][1]), pytest.approx(by[True][1]))
    for stem, sheet in (("evaluation", "结果应用"), ("overview", "重点评价结果应用")):
        t = _sheet(demo_suite, stem, sheet)
        for column, i in (("下年度申请数（元）", 2), ("下年度安排数（元）", 3)):
            shown, line = _split(t, column)
            assert shown == pytest.approx(by[False][i]), (stem, column)
            assert line == pytest.approx(by[True][i]), (stem, column)  # the 涉密项目（合计） line carries its sums
        shown, line = _split(t, "审减额（申请数−安排数，元）")
        assert shown + line == pytest.approx(f["keyeval.cut"]), stem


def test_self_evaluations_reconcile(demo_suite, sql):
    rows = sql(f"""SELECT p.is_classified, count(*), sum({BUDGET}) FROM self_evaluations s
                   JOIN projects p USING (project_id, year) WHERE s.year = 2022 GROUP BY 1""")
    by = {secret: (n, float(b)) for secret, n, b in rows}
    for stem in ("coverage", "overview"):
        f = _facts(demo_suite, stem)
        assert f["selfeval.projects"] == by[False][0] + by[True][0]
        assert f["selfeval.amount"] == pytest.approx(by[False][1] + by[True][1])
    t = _sheet(demo_suite, "evaluation", "自评复核")
    shown, line = _split(t, "全年预算数（元）")
    assert (t["项目名称"] != TOTAL_LINE).sum() == by[False][0]
    assert shown == pytest.approx(by[False][1]) and line == pytest.approx(by[True][1])
    assert shown + line == pytest.approx(_facts(demo_suite, "coverage")["selfeval.amount"])


def test_cost_totals_reconcile(demo_suite, sql):
    rows = sql("""SELECT p.is_classified, sum(k.amount) FROM costs k JOIN projects p USING (project_id, year)
                  WHERE p.project_type = '公务接待' GROUP BY 1""")
    by = {secret: float(v) for secret, v in rows}
    for sheet in ("项目成本结构", "单位成本"):
        shown, line = _split(_sheet(demo_suite, "cost-公务接待", sheet), "总成本（元）")
        assert shown == pytest.approx(by[False]) and line == pytest.approx(by[True]), sheet
    f = _facts(demo_suite, "cost-公务接待")
    shown, line = _split(_sheet(demo_suite, "cost-公务接待", "测算与实际压减"), "测算可压减（元）")
    assert shown + line == pytest.approx(f["cost.savings"], abs=0.01)
    n_open = sql("""SELECT count(DISTINCT project_id) FROM outputs o JOIN projects p USING (project_id, year)
                    WHERE o.year = 2023 AND p.project_type = '公务接待' AND NOT p.is_classified""")[0][0]
    assert f["cost.projects"] == n_open + 1  # the classified twin counts, unnamed


# --- the runner's guard also reads the charts ----------------------------------------------------
CHART_LEAK = '''from perflib.present.notebook import open_report
from perflib.store import Store
import matplotlib.pyplot as plt

rep = open_report("chart", db=db, year=year, rules=rules, artifacts_dir=artifacts_dir)
rep.heading("图表泄露测试", 1)
names = sorted(n for n in Store(db, redact=False).classified_names() if not n.startswith("P"))
fig, ax = plt.subplots()
ax.bar(names, [1] * len(names))
rep.figure(fig, "各项目")
'''


def test_a_classified_name_drawn_in_a_chart_is_not_published(tmp_path, monkeypatch):
    import nbformat
    from conftest import write_export
    from nbformat.v4 import new_code_cell, new_notebook

    from perflib.run import runner
    from perflib.ingest import ingest

    db = tmp_path / "perf.duckdb"
    ingest(write_export(tmp_path / "export"), db)  # the small export: P004 某专项保障经费 is classified
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    nb = new_notebook(cells=[
        new_code_cell("db = None\nyear = None\nrules = None\nartifacts_dir = None\n",
                      metadata={"tags": ["parameters"]}),
        new_code_cell(CHART_LEAK)],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, str(nbdir / "chart.ipynb"))
    out = tmp_path / "reports"
    summary = runner.run_reports(["chart"], db=db, out=out, progress=False, notebooks_dir=nbdir)
    assert summary.exit_code == 1
    assert "图表文字" in summary.results[0].error
    assert not (out / "2023" / "chart.html").exists()
    page = (out / "2023" / "chart.failed.html").read_text("utf-8")
    assert "涉密" in page and "图表文字" in page
    corpus = output_corpus(out)
    assert find_leaks(corpus, {"某专项保障经费", "P004"}) == []
