"""The line under each report's title when its data have findings (Report.quality_note), the
data-quality report's sentences, and the tables of the quality views (one format per column)."""
from __future__ import annotations

import pandas as pd
import pytest

from perflib.analysis import quality as q
from perflib.present import notebook as rp
from perflib.present.notebook import open_report
from perflib.present.text import quality as qt
from perflib.store import Store

from conftest import FINDINGS_DEPARTMENTS as DEPARTMENTS, FINDINGS_PROJECTS as PROJECTS, FINDINGS_ROWS as ROWS
from conftest import insert_findings


@pytest.fixture
def shown(monkeypatch):
    out: list[dict] = []
    monkeypatch.setattr(rp, "_display_html", lambda html, plain: out.append({"html": html, "plain": plain}))
    return out


def _store(rows=ROWS) -> Store:
    s = Store.from_frames({"departments": DEPARTMENTS, "projects": PROJECTS})
    insert_findings(s.con, rows)
    return s


def _notes(shown) -> list[dict]:
    return [d for d in shown if "数据质量提示" in d["plain"]]


@pytest.mark.parametrize("name, n", [
    ("coverage", 6),    # targets 2023 ×4, self-evaluation of FY2022 ×1, department ×1
    ("monitoring", 7),  # targets ×4, monitoring ×1, department ×1, payments (file-wide) ×1
    ("evaluation", 2),  # self-evaluation of FY2022, department
    ("cost", 2),        # department, payments
    ("overview", 8),
])
def test_header_line_counts_the_findings_of_the_tables_the_report_uses(name, n, shown, tmp_path):
    rep = open_report(name, store=_store(), year=2023, artifacts_dir=tmp_path / name)
    rep.heading("标题", level=1)
    notes = _notes(shown)
    assert len(notes) == 1
    assert notes[0]["plain"] == f"本报告所用数据有 {n} 处数据质量提示，见数据质量报告"
    assert '<a href="quality.html">数据质量报告</a>' in notes[0]["html"]
    assert shown.index(notes[0]) == 1  # right under the title


def test_header_line_counts_one_department_and_has_no_link_by_hand(shown):
    rep = open_report("coverage", store=_store(), year=2023, dept="区科技局")
    assert rep.quality_note() == 3  # A2 unit missing, B1 satisfaction, 200's sector (its own)
    assert _notes(shown)[0]["plain"].startswith("本报告所用数据有 3 处")
    assert "<a " not in _notes(shown)[0]["html"]  # rendered by hand: no output folder to link into


def test_no_line_without_findings(shown, tmp_path):
    for rows in ([], [r for r in ROWS if r[1] == "targets"]):
        rep = open_report("cost", store=_store(rows), year=2023, artifacts_dir=tmp_path)
        rep.heading("成本", level=1)
        assert not _notes(shown)
    rep = open_report("quality", store=_store(), year=2023)  # the data-quality report itself
    rep.heading("数据质量", level=1)
    rep.heading("小节", level=2)
    assert not _notes(shown)


def test_summary_text_never_claims_more_than_the_figures():
    s = _store()
    found = q.findings(s, 2023)
    facts = q.quality_facts(found)
    text = qt.summary_text(facts, q.by_department(found))
    assert "数据质量提示 8 处" in text and "一级预算部门 2 家" in text and "项目 4 个" in text
    assert "“区科技局” 和 “区教体局”（分别 4、3 处）" in text
    assert "另有 1 处涉及整个文件" in text
    empty = q.findings(_store([]), 2023)
    none = qt.summary_text(q.quality_facts(empty), q.by_department(empty))
    assert none == "全区本年度所用数据没有数据质量提示。"


def test_quality_tables_show_words_and_one_format(shown):
    s = _store()
    found = q.findings(s, 2023)
    listed = rp.Report.prepare_table(found, "quality.list")
    assert {"提示类别", "所在表", "行号", "文件", "工作表", "列", "值", "说明"} <= set(listed.columns)
    assert "定性指标未填指标值" in set(listed["提示类别"]) and "绩效目标" in set(listed["所在表"])
    by_dept = rp.Report.prepare_table(q.by_department(found), "quality.by_department")
    assert list(by_dept.columns[:2]) == ["一级部门", "提示数"]
    assert "定性指标未填指标值" in by_dept.columns and "level1_code" not in by_dept.columns
    scope = rp.Report.prepare_table(q.scope(2023), "quality.scope").set_index("数据表")
    assert scope.loc["绩效自评", "所用数据年度"] == 2022 and scope.loc["绩效目标", "所用数据年度"] == 2023
