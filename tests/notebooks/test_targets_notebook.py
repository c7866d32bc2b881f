"""The 绩效目标审核 report through ``perflib run`` on the demo: its facts equal the analysis, the xlsx
has one sheet of review comments per level-1 department (each with that department's projects), and
no classified project's code or name reaches the page or the workbook."""
from __future__ import annotations

import json

import duckdb
import openpyxl
import pytest

from perflib.analysis import ex_ante
from perflib.analysis import target_review as tr
from perflib.rules import load_rules
from perflib.store import Store

pytestmark = pytest.mark.slow

YEAR = 2023


@pytest.fixture(scope="module")
def run_out(demo_reports):
    """The targets page of conftest's demo suite (``perflib run`` of every report on ``demo_db``, latest
    year 2023, exit 0 asserted there): the same page ``perflib run targets --year 2023`` writes,
    rendered once per run instead of once more here."""
    return demo_reports / str(YEAR)


def test_targets_report_facts_and_sheets(run_out, demo_db):
    result = tr.review(Store(demo_db), YEAR, load_rules())
    facts = json.loads((run_out / "targets.facts.json").read_text("utf-8"))["facts"]
    review_facts = tr.review_facts(result)
    assert {k: facts[k] for k in review_facts} == review_facts
    assert {k: v for k, v in facts.items() if k.startswith("ex_ante.")} == ex_ante.ex_ante_facts(
        ex_ante.review(Store(demo_db), YEAR, load_rules()))
    assert facts["targets_review.projects"] > 0
    book = openpyxl.load_workbook(run_out / "targets.xlsx", read_only=True)
    depts = sorted(set(result.projects["level1_name"]))
    fixed = ["说明", "分规则", "模板指标", "分部门", "事前评估汇总", "未事前评估", "事前评估", "项目清单"]
    assert book.sheetnames[:len(fixed)] == fixed
    assert sorted(book.sheetnames[len(fixed):]) == depts  # one sheet per department, nothing else
    for name in depts[:5]:
        rows = list(book[name].iter_rows(values_only=True))
        want = result.projects[(result.projects["level1_name"] == name)]
        assert rows[0][-1] == "审核意见（请据此修改后报送）"
        assert {r[1] for r in rows[1:]} == set(want["project_id"])


def test_no_classified_project_in_the_report(run_out, demo_db):
    con = duckdb.connect(str(demo_db), read_only=True)
    secret = con.execute("SELECT DISTINCT project_id, project_name FROM projects WHERE is_classified").fetchall()
    con.close()
    assert secret
    page = (run_out / "targets.html").read_text("utf-8")
    book = openpyxl.load_workbook(run_out / "targets.xlsx", read_only=True)
    cells = " ".join(str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row)
    for pid, name in secret:
        for text in (page, cells):
            assert pid not in text and name not in text
