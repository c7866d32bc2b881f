"""``perflib run monitoring evaluation --notices`` (issue 16): one 监控预警通知 per department with red
or yellow projects, each listing exactly that department's projects; one 评价反馈意见 per
key-evaluated department; no classified project's name in any; published as one unit in
``<year>/notices``, listed in the index, skipped by an incremental run; Word files scanned for leaks."""
from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import pytest

docx = pytest.importorskip("docx")

from perflib.analysis.evaluation import key_evaluations  # noqa: E402
from perflib.analysis.monitoring import RED, YELLOW, project_execution  # noqa: E402
from perflib.present.docx import document_text  # noqa: E402
from perflib.present.notices import notice_file_name  # noqa: E402
from perflib.rules import load_rules  # noqa: E402
from perflib.run.leaks import leak_error  # noqa: E402
from perflib.store import Store  # noqa: E402

from conftest import CLASSIFIED_KEYEVAL  # noqa: E402


def test_leak_scan_reads_the_text_inside_a_docx():
    from perflib.present.docx import Document

    doc = Document(title="t")
    doc.paragraph("这里写着绝密工程的名称")
    data = doc.bytes()
    assert "绝密工程".encode("utf-8") not in data  # zipped: invisible to a byte scan
    assert leak_error({"notices/x.docx": data}, ["绝密工程"]) is not None
    assert leak_error({".docx": data}, ["别的名称"]) is None


@pytest.fixture(scope="module")
def notices_run(hostile_demo, tmp_path_factory):
    from perflib.run.runner import run_reports

    out = tmp_path_factory.mktemp("notices") / "reports"
    summary = run_reports(["monitoring", "evaluation"], db=hostile_demo["db"], out=out, notices=True,
                          progress=False)
    assert summary.exit_code == 0, summary.describe()
    return {"out": out, "db": hostile_demo["db"], "summary": summary}


def _table_rows(path: Path) -> list[dict[str, str]]:
    d = docx.Document(str(path))
    (table,) = d.tables
    head = [c.text for c in table.rows[0].cells]
    return [dict(zip(head, (c.text for c in r.cells))) for r in table.rows[1:]]


@pytest.mark.slow
def test_one_warning_notice_per_department_with_red_or_yellow_projects(notices_run):
    out, db = notices_run["out"], notices_run["db"]
    month = json.loads((out / "2023" / "monitoring-07月.facts.json").read_text("utf-8"))["facts"]["monitoring.as_of_month"]
    store = Store(db)
    try:
        ex = project_execution(store, 2023, month, load_rules(None))
        before = project_execution(store, 2023, month - 1, load_rules(None)).set_index("project_id")["band"]
    finally:
        store.close()
    warned = ex[ex["band"].isin([RED, YELLOW])]
    depts = sorted(set(warned["level1_name"]))
    assert len(depts) >= 5
    folder = out / "2023" / "notices"
    files = sorted(p.name for p in folder.glob("监控预警-*.docx"))
    assert files == sorted(notice_file_name("监控预警", d) for d in depts)  # <>:"/\|?* become _
    turned_total = 0
    for dept in depts:
        mine = warned[warned["level1_name"] == dept]
        rows = _table_rows(folder / notice_file_name("监控预警", dept))
        assert Counter(r["项目名称"] for r in rows) == Counter(mine["project_name"])
        assert Counter(r["预算数（元）"] for r in rows) == Counter(f"{b:,.2f}" for b in mine["budget"])
        assert Counter(r["预警等级"] for r in rows) == Counter(mine["band"])
        text = document_text((folder / notice_file_name("监控预警", dept)).read_bytes())
        assert text.startswith(f"关于{dept}项目支出绩效运行监控预警的通知")
        assert f"{dept}：" in text and "前将整改情况书面报送" in text
        assert f"你单位有 {len(mine)} 个项目预警，其中红色 {(mine['band'] == RED).sum()} 个、黄色 {(mine['band'] == YELLOW).sum()} 个" in text
        turned = int(((mine["band"] == RED) & (mine["project_id"].map(before) != RED)).sum())  # 本月变化
        assert (f"红色中 {turned} 个为本月新转红色" in text) == (turned > 0)
        turned_total += turned
    assert turned_total > 0


@pytest.mark.slow
def test_one_feedback_per_key_evaluated_department(notices_run):
    out, db = notices_run["out"], notices_run["db"]
    store = Store(db)
    try:
        scored = key_evaluations(store, 2023, load_rules(None))
    finally:
        store.close()
    folder = out / "2023" / "notices"
    depts = sorted(set(scored["level1_name"]))
    assert sorted(p.name for p in folder.glob("评价反馈-*.docx")) == sorted(notice_file_name("评价反馈", d) for d in depts)
    hidden = scored[scored["project_id"].str.startswith("涉密项目-")]
    assert len(hidden) == 1  # CLASSIFIED_KEYEVAL
    for dept in depts:
        mine = scored[scored["level1_name"] == dept]
        rows = _table_rows(folder / notice_file_name("评价反馈", dept))
        shown = [r["项目名称"] for r in rows]
        visible = mine[~mine["project_id"].str.startswith("涉密项目-")]
        expected = list(visible["project_name"]) + (["涉密项目（合计）"] if len(visible) < len(mine) else [])
        assert Counter(shown) == Counter(expected)
        assert round(sum(float(r["下年度申请数（元）"].replace(",", "")) for r in rows), 2) == round(mine["next_request"].sum(), 2)
        text = document_text((folder / notice_file_name("评价反馈", dept)).read_bytes())
        for g in set(visible["grade"]):
            assert g in shown or g in text


@pytest.mark.slow
def test_no_classified_name_in_any_notice_and_index_lists_them(notices_run):
    out, db = notices_run["out"], notices_run["db"]
    store = Store(db, redact=False)
    try:
        secrets = store.classified_names()
        names = set(store.projects(None).query("is_classified")["project_name"])
    finally:
        store.close()
    assert CLASSIFIED_KEYEVAL in secrets and names
    notices = sorted((out / "2023" / "notices").glob("*.docx"))
    assert len(notices) >= 10
    for p in notices:
        text = document_text(p.read_bytes())
        assert not [s for s in secrets if s in text], p.name
        assert "涉密项目的评价发现" not in text  # the classified evaluation's findings
    index = unquote(html.unescape((out / "index.html").read_text("utf-8")))
    for p in notices:
        assert p.name in index


@pytest.mark.slow
def test_incremental_run_keeps_the_notices_and_a_run_without_notices_leaves_them(notices_run):
    from perflib.run.runner import run_reports

    out, db = notices_run["out"], notices_run["db"]
    before = {p.name: p.read_bytes() for p in (out / "2023" / "notices").glob("*.docx")}
    again = run_reports(["monitoring", "evaluation"], db=db, out=out, notices=True, progress=False)
    assert [r.status for r in again.results] == ["cached", "cached"]
    after = {p.name: p.read_bytes() for p in (out / "2023" / "notices").glob("*.docx")}
    assert after == before
    # the notices are part of the fingerprint: asking without them renders the reports again
    plain = run_reports(["evaluation"], db=db, out=out, progress=False)
    assert [r.status for r in plain.results] == ["ok"]


def test_notices_only_for_whole_district_monitoring_and_evaluation():
    from types import SimpleNamespace

    from perflib.run.documents import attach

    jobs = [SimpleNamespace(notebook=n, params=p, fingerprint="f", documents={})
            for n, p in (("monitoring", {"dept": None}), ("monitoring", {"dept": "100"}), ("evaluation", {}),
                         ("cost", {}), ("overview", {}))]
    attach(jobs, notices=True, rules=load_rules(None))
    assert [bool(j.documents.get("notices")) for j in jobs] == [True, False, True, False, False]
    assert [j.fingerprint == "f" for j in jobs] == [False, True, False, True, False]
    assert jobs[4].documents["texts"] == {}


def test_a_notice_naming_a_project_classified_later_is_withdrawn(tmp_path):
    from perflib.present.docx import Document
    from perflib.run import units
    from perflib.run.withdraw import withdraw_classified

    out = tmp_path / "reports"
    folder = out / "2023" / "notices"
    folder.mkdir(parents=True)
    doc = Document(title="t")
    doc.paragraph("预警项目：新近定密工程")
    with units.lock(folder, "monitoring"):
        units.publish_unit(folder, "monitoring", {"监控预警-区某局.docx": doc.bytes()}, {"kind": "notices"})
    assert withdraw_classified(out, ["别的名称"]) == []
    assert (folder / "监控预警-区某局.docx").exists()
    assert withdraw_classified(out, ["新近定密工程"]) == ["2023/notices/monitoring"]
    assert not (folder / "监控预警-区某局.docx").exists()
