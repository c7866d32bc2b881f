"""A published report that names a project classified later is withdrawn (SECURITY.md §13): before
anything else of the next run is published, even when its re-render fails, its files are replaced by
a notice page, no file under the output folder holds the project's name or code, the index lists it
as withdrawn and no failure page links to it as the last good report.
"""
from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from conftest import small_frames, write_export, write_notebook

from perflib.run import runner, units

pytestmark = pytest.mark.slow  # kernels: outside the fast lane

NAME, CODE = "校舍维修", "P003"  # open in the first load, classified in the second
PARAMS = "db = None\nyear = None\nrules = None\nartifacts_dir = None\n"
NAMING = '''from perflib.present.notebook import open_report
rep = open_report("naming", db=db, year=year, rules=rules, artifacts_dir=artifacts_dir)
rep.heading("项目清单", 1)
rep.facts({"naming.n": len(rep.store.projects(rep.year))})
rep.table(rep.store.projects(rep.year)[["project_id", "project_name", "budget"]], "项目表", sheet="项目")
rep.text("、".join(rep.store.projects(rep.year)["project_name"].astype(str)))
'''
PLAIN = '''from perflib.present.notebook import open_report
rep = open_report("plain", db=db, year=year, rules=rules, artifacts_dir=artifacts_dir)
rep.heading("不列项目的报告", 1)
rep.facts({"plain.n": 1})
rep.text("本报告不列出项目。")
'''
FAILING = NAMING + 'raise RuntimeError("重新生成失败")\n'


def _frames(classified: bool):
    f = small_frames()
    p = f["projects"]
    p.loc[p["project_id"] == CODE, "is_classified"] = "是" if classified else "否"
    return f


@pytest.fixture
def published(tmp_path):
    """Reports published from the first load (the project open), then the second load (classified)."""
    from perflib.ingest import ingest

    db = tmp_path / "perf.duckdb"
    ingest(write_export(tmp_path / "export1", _frames(False)), db)
    good, bad = tmp_path / "nb-good", tmp_path / "nb-bad"
    good.mkdir()
    bad.mkdir()
    write_notebook(good / "naming.ipynb", PARAMS, NAMING)
    write_notebook(good / "plain.ipynb", PARAMS, PLAIN)
    write_notebook(good / "other.ipynb", PARAMS, NAMING.replace('"naming"', '"other"'))
    write_notebook(bad / "naming.ipynb", PARAMS, FAILING)
    out = tmp_path / "reports"
    first = runner.run_reports(["naming", "plain", "other"], db=db, out=out, notebooks_dir=good,
                               progress=False)
    assert first.exit_code == 0
    assert NAME in (out / "2023" / "naming.html").read_text("utf-8")  # published while open
    # a failure page of an earlier run that links to the report as the last good one
    failed = runner.run_reports(["naming"], db=db, out=out, notebooks_dir=bad, progress=False, force=True)
    assert failed.exit_code == 1
    assert "上次成功生成的报告" in (out / "2023" / "naming.failed.html").read_text("utf-8")
    ingest(write_export(tmp_path / "export2", _frames(True)), db)
    return {"db": db, "out": out, "good": good, "bad": bad}


def _all_text(out: Path) -> dict[str, str]:
    """Every file under the output folder (hidden ones too, and inside each .xlsx), and the names."""
    texts = {"(file names)": "\n".join(str(p.relative_to(out)) for p in out.rglob("*"))}
    for p in out.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            if p.suffix == ".xlsx":
                with zipfile.ZipFile(p) as z:
                    data = b"".join(z.read(n) for n in z.namelist())
            texts[str(p.relative_to(out))] = data.decode("utf-8", errors="ignore")
    return texts


def _assert_withdrawn(out: Path, stem: str) -> None:
    page = (out / f"{stem}.html").read_text("utf-8")
    assert "该报告因所涉项目密级变化已撤回" in page and "撤回时间" in page
    for suffix in (".ipynb", ".facts.json", ".xlsx"):
        assert not (out / f"{stem}{suffix}").exists() and not (out / f"{stem}{suffix}").is_symlink()
    folder, key = Path(out / stem).parent, Path(stem).name
    assert units.manifest(folder, key)["kind"] == "notice"
    state = json.loads((out / ".index.json").read_text("utf-8"))
    assert state[stem]["status"] == "withdrawn" and state[stem]["withdrawn_at"]
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", (out / "index.html").read_text("utf-8"), re.S)
               if f"{stem}.html" in r)
    assert "已撤回" in row and "撤回说明" in row and "上次成功" not in row


def _assert_no_name_anywhere(out: Path) -> None:
    leaks = {where: text for where, text in _all_text(out).items()
             if NAME in text or re.search(rf"(?<![0-9A-Za-z]){CODE}(?![0-9A-Za-z])", text)}
    assert not leaks, sorted(leaks)


def test_withdrawn_even_when_the_re_render_fails(published):
    out, db = published["out"], published["db"]
    summary = runner.run_reports(["naming"], db=db, out=out, notebooks_dir=published["bad"], progress=False)
    assert summary.exit_code == 1  # the re-render failed
    assert summary.withdrawn == ["2023/naming", "2023/other"]  # "other" was not even in this run
    for stem in ("2023/naming", "2023/other"):
        _assert_withdrawn(out, stem)
    # the new failure page does not offer the notice as the last good report
    failure = (out / "2023" / "naming.failed.html").read_text("utf-8")
    assert "上次成功生成的报告" not in failure and "此前没有成功生成的同名报告" in failure
    # the report that does not name the project stays as it was
    assert (out / "2023" / "plain.xlsx").exists()
    state = json.loads((out / ".index.json").read_text("utf-8"))
    assert state["2023/plain"]["status"] == "ok"
    _assert_no_name_anywhere(out)
    assert "撤回了 2 份" in summary.describe()


def test_withdrawn_before_anything_is_published_then_re_rendered(published, monkeypatch):
    out, db = published["out"], published["db"]
    from perflib.run import publish

    seen = []
    real = publish.write_report

    def spy(o, stem, outputs, **kw):  # what the report's names show when the first report is published
        seen.append({s: (out / f"{s}.html").read_text("utf-8") for s in ("2023/naming", "2023/other")})
        return real(o, stem, outputs, **kw)

    monkeypatch.setattr(publish, "write_report", spy)
    summary = runner.run_reports(["plain", "naming"], db=db, out=out, notebooks_dir=published["good"],
                                 progress=False, force=True)
    assert summary.exit_code == 0 and summary.withdrawn == ["2023/naming", "2023/other"]
    assert seen and all("已撤回" in page for page in seen[0].values())
    # re-rendered with the project now classified: published again, without its name
    assert units.manifest(out / "2023", "naming")["kind"] == "report"
    assert "涉密项目" in (out / "2023" / "naming.html").read_text("utf-8")
    state = json.loads((out / ".index.json").read_text("utf-8"))
    assert state["2023/naming"]["status"] == "ok" and state["2023/other"]["status"] == "withdrawn"
    _assert_no_name_anywhere(out)
    # the same classified set again: nothing more is withdrawn (the folder was checked against it)
    again = runner.run_reports(["plain"], db=db, out=out, notebooks_dir=published["good"], progress=False)
    assert again.withdrawn == []


def test_a_new_folder_is_recorded_as_checked_so_the_next_run_does_not_scan_it_again(tmp_path, monkeypatch):
    """A run into a folder that did not exist publishes only reports it scanned against the store's
    classified set, so it records the folder as checked: the next run with the same set scans
    nothing before publishing; a newly classified project still gets the report withdrawn."""
    from conftest import count_calls

    from perflib.ingest import ingest
    from perflib.run import publish, withdraw
    from perflib.store import Store

    db = tmp_path / "perf.duckdb"
    ingest(write_export(tmp_path / "export1", _frames(False)), db)
    nbs = tmp_path / "nb"
    nbs.mkdir()
    write_notebook(nbs / "naming.ipynb", PARAMS, NAMING)
    write_notebook(nbs / "plain.ipynb", PARAMS, PLAIN)
    out = tmp_path / "new" / "reports"
    assert runner.run_reports(["naming"], db=db, out=out, notebooks_dir=nbs, progress=False).exit_code == 0
    with Store(db, redact=False) as s:
        secrets = sorted(s.classified_names())
    record = json.loads((out / withdraw.CHECK_RECORD).read_text("utf-8"))
    assert record["classified_sha256"] == publish.secrets_digest(secrets) and record["checked_at"]
    scans = count_calls(monkeypatch, withdraw, "leak_error")
    assert runner.run_reports(["naming"], db=db, out=out, notebooks_dir=nbs, progress=False,
                              force=True).exit_code == 0
    assert scans == []  # the folder was checked against this very set
    ingest(write_export(tmp_path / "export2", _frames(True)), db)
    summary = runner.run_reports(["plain"], db=db, out=out, notebooks_dir=nbs, progress=False)
    assert scans and summary.withdrawn == ["2023/naming"]
    _assert_withdrawn(out, "2023/naming")
    # a folder that existed before the run (here: empty) is scanned as before, and recorded then
    existing = tmp_path / "existing"
    existing.mkdir()
    runner.run_reports(["plain"], db=db, out=existing, notebooks_dir=nbs, progress=False)
    assert (existing / withdraw.CHECK_RECORD).exists()
