"""Classified names outside file contents (SECURITY.md §14), colliding file names and an unwritable
``--out`` (§15). A fan-out value (a project type, a street) that is or holds a classified project's
name or code gets no report, and the run says why without repeating it; a project type held only by
classified projects gets no report of its own; nothing the run writes or logs besides the report
contents — file names, index.html, .index.json, log lines, failure pages — shows a classified name.
"""
from __future__ import annotations

import json
import logging
import shutil
import stat
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from conftest import small_frames, write_export, write_notebook
from perflib.cli import main
from perflib.exceptions import ParameterError
from perflib.run import leaks, plan, runner

SECRET_NAME = "某专项保障经费"  # P004 of the small export, classified
SECRET_CODE = "P004"
ONLY_CLASSIFIED_TYPE = "保密保障业务"  # the type given to P004 alone
SECRETS = {SECRET_NAME, SECRET_CODE}

PARAMS = "db = None\nyear = None\nrules = None\nartifacts_dir = None\n"
BY_TYPE = '''from perflib.present.notebook import open_report
rep = open_report("bytype", db=db, year=year, rules=rules, artifacts_dir=artifacts_dir)
rep.heading(f"项目类型：{project_type}", 1)
print("本报告的项目类型", project_type)
projects = rep.store.projects(rep.year)
rep.table(projects[["project_id", "project_name", "budget"]], "全区项目", sheet="项目")
'''
# prints every classified name and code: the leak guard stops it, so it gets a failure page
LEAKY = '''from perflib.store import Store
print("涉密：", sorted(Store(db, redact=False).classified_names()))
raise ValueError("失败：" + "、".join(sorted(Store(db, redact=False).classified_names())))
'''
BY_STREET = '''from perflib.present.notebook import open_report
rep = open_report("bystreet", db=db, year=year, rules=rules, artifacts_dir=artifacts_dir)
rep.heading("街道报告", 1)
'''


def secret_frames() -> dict[str, pd.DataFrame]:
    """The small export where P003's project type is the classified project's name, the classified
    P004 alone holds the type 保密保障业务 (with outputs), a street's name holds the classified
    code, and two streets' names become the same file name (西/城街道, 西:城街道)."""
    f = small_frames()
    p = f["projects"]
    p.loc[p["project_id"] == "P003", "project_type"] = SECRET_NAME
    p.loc[p["project_id"] == "P004", "project_type"] = ONLY_CLASSIFIED_TYPE
    f["outputs"] = pd.concat([f["outputs"], pd.DataFrame(
        [("P004", 2023, "保障次数", "次", 12, None)], columns=f["outputs"].columns)], ignore_index=True)
    f["costs"] = pd.concat([f["costs"], pd.DataFrame(
        [("P004", 2023, "商品和服务支出", Decimal("30000.00"))], columns=f["costs"].columns)], ignore_index=True)
    streets = [("204", "西:城街道"), ("203", "西/城街道"), ("205", f"{SECRET_CODE}街道")]
    f["departments"] = pd.concat([f["departments"], pd.DataFrame(
        [(code, name, None, "街道", "是") for code, name in streets],
        columns=f["departments"].columns)], ignore_index=True)
    f["street_fiscal"] = pd.concat([f["street_fiscal"], pd.DataFrame(
        [(code, 2023, "一般公共预算收入", 1000000 * int(code)) for code, _ in streets],
        columns=f["street_fiscal"].columns)], ignore_index=True)
    return f


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    from perflib.ingest import ingest

    base = tmp_path_factory.mktemp("secret-values")
    db = base / "perf.duckdb"
    ingest(write_export(base / "export", secret_frames()), db)
    nbdir = base / "notebooks"
    nbdir.mkdir()
    write_notebook(nbdir / "bytype.ipynb", PARAMS + "project_type = None\n", BY_TYPE)
    write_notebook(nbdir / "leaky.ipynb", PARAMS, LEAKY)
    write_notebook(nbdir / "bystreet.ipynb", PARAMS + "street = None\n", BY_STREET)
    return {"base": base, "db": db, "nbdir": nbdir}


def test_the_data_hold_what_the_tests_rely_on(env):
    from perflib.store import Store

    s = Store(env["db"], redact=False)
    assert SECRETS <= s.classified_names()
    assert set(s.project_types(2023)) == {"场馆运行", SECRET_NAME, ONLY_CLASSIFIED_TYPE}
    assert plan.classified_only_types(s, 2023) == [ONLY_CLASSIFIED_TYPE]


# --- planning: no kernel ---------------------------------------------------------------------------
def test_values_holding_a_secret_and_types_only_classified_projects_hold_get_no_report(env, caplog):
    caplog.set_level(logging.INFO)
    notices: list[str] = []
    jobs = plan.plan_jobs(["bytype", "bystreet"], db=env["db"], year=2023, out=env["base"] / "plan",
                          notebooks_dir=env["nbdir"], notices=notices)
    by = {j.notebook: j for j in jobs}
    assert [j.params["project_type"] for j in jobs if j.notebook == "bytype"] == ["场馆运行"]
    assert sorted(j.params["street"] for j in jobs if j.notebook == "bystreet") == ["201", "203", "204"]
    assert by["bytype"].stem == "2023/bytype-场馆运行"
    # the run says why, under neutral labels, in the log and in the notices the summary prints
    assert any("涉密项目类型-1" in n and "不生成" in n for n in notices)
    assert any("涉密街道-1" in n and "不生成" in n for n in notices)
    assert any("1 个项目类型只有涉密项目" in n and "涉密项目（合计）" in n for n in notices)
    for n in notices:
        assert n in caplog.text
    everything = caplog.text + "\n".join(notices) + "\n".join(j.stem + json.dumps(j.display, ensure_ascii=False)
                                                              for j in jobs)
    for word in (*SECRETS, ONLY_CLASSIFIED_TYPE):
        assert word not in everything


@pytest.mark.parametrize("value", [SECRET_NAME, SECRET_CODE + "街道", ONLY_CLASSIFIED_TYPE])
def test_a_given_value_holding_a_secret_is_refused_without_repeating_it(env, capsys, monkeypatch, value):
    monkeypatch.setenv("PERFLIB_NOTEBOOKS_DIR", str(env["nbdir"]))
    name = "bystreet" if value.endswith("街道") else "bytype"
    key = "street" if name == "bystreet" else "project_type"
    out = env["base"] / "refused"
    code = main(["run", name, "--db", str(env["db"]), "-p", f"{key}={value}", "--out", str(out),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "涉密项目" in err and "Traceback" not in err
    assert value not in err and SECRET_NAME not in err and SECRET_CODE not in err
    assert not out.exists()
    with pytest.raises(ParameterError):
        plan.plan_jobs([name], db=env["db"], params={key: value}, notebooks_dir=env["nbdir"])


def test_a_free_parameter_holding_a_secret_is_refused(env, tmp_path):
    nbdir = tmp_path / "nb"
    nbdir.mkdir()
    write_notebook(nbdir / "free.ipynb", PARAMS + "title = '标题'\n", "pass\n")
    with pytest.raises(ParameterError) as exc:
        plan.plan_jobs(["free"], db=env["db"], params={"title": f"关于{SECRET_NAME}"}, notebooks_dir=nbdir)
    assert SECRET_NAME not in str(exc.value) and "涉密" in str(exc.value)


def test_an_unmatched_value_lists_no_classified_value(env):
    with pytest.raises(ParameterError) as exc:
        plan.plan_jobs(["bytype"], db=env["db"], params={"project_type": "没有这个类型"},
                       notebooks_dir=env["nbdir"])
    assert "场馆运行" in str(exc.value)
    assert SECRET_NAME not in str(exc.value) and ONLY_CLASSIFIED_TYPE not in str(exc.value)


# --- a whole run: file names, index, state, log, failure pages --------------------------------------
def _every_name_and_text(out: Path) -> tuple[list[str], dict[str, str]]:
    names = [str(p.relative_to(out)) for p in out.rglob("*")]
    texts = {str(p.relative_to(out)): p.read_text("utf-8") for p in out.rglob("*")
             if p.is_file() and (p.name in ("index.html", ".index.json") or p.name.endswith(".failed.html"))}
    return names, texts


@pytest.mark.slow
def test_a_run_writes_and_logs_no_classified_name_outside_the_report_contents(env, caplog, capsys, monkeypatch):
    monkeypatch.setenv("PERFLIB_NOTEBOOKS_DIR", str(env["nbdir"]))
    caplog.set_level(logging.INFO)
    out = env["base"] / "reports"
    code = main(["run", "bytype", "leaky", "--db", str(env["db"]), "--out", str(out), "--no-progress",
                 "--log-output"])
    printed = capsys.readouterr()
    assert code == 1  # leaky fails, on purpose
    names, texts = _every_name_and_text(out)
    page = (out / "2023" / "bytype-场馆运行.html").read_text("utf-8")
    assert "涉密项目（合计）" in page  # the classified project still counts, as the one line
    assert (out / "2023" / "leaky.failed.html").exists() and not (out / "2023" / "leaky.html").exists()
    assert not [n for n in names if "bytype" in n and "场馆运行" not in n]  # no report of another type
    state = json.loads(texts[".index.json"])
    assert sorted(state) == ["2023/bytype-场馆运行", "2023/leaky"]
    assert leaks.LEAK_MASK in state["2023/leaky"]["error"]
    log_text = caplog.text + printed.out + printed.err
    assert "本报告的项目类型 场馆运行" in log_text  # cell output did reach the log
    assert "涉密：" in log_text and leaks.LEAK_MASK in log_text  # the leaky cell's, masked
    assert "涉密项目类型-1" in printed.out and "只有涉密项目" in printed.out  # the run's message says why
    for word in (*SECRETS, ONLY_CLASSIFIED_TYPE):
        assert not [n for n in names if word in n], word
        for where, text in texts.items():
            assert word not in text, (word, where)
        assert word not in log_text, word


# --- colliding file names --------------------------------------------------------------------------
def _fake_execute(path, output, **kwargs):
    """papermill.execute_notebook stand-in: the notebook as it is, unexecuted (no kernel)."""
    shutil.copy(path, output)


def test_colliding_names_get_numbered_files_each_saying_which_value_it_is(env, monkeypatch):
    import papermill

    monkeypatch.setenv("PERFLIB_PRELOAD", "0")
    monkeypatch.setattr(papermill, "execute_notebook", _fake_execute)
    out = env["base"] / "streets"
    summary = runner.run_reports(["bystreet"], db=env["db"], out=out, progress=False,
                                 notebooks_dir=env["nbdir"])
    assert summary.exit_code == 0, summary.describe()
    stems = sorted(r.stem for r in summary.results)
    # 203 西/城街道 and 204 西:城街道 both become 西_城街道: numbered in the order of their codes
    assert stems == ["2023/bystreet-东风街道办事处", "2023/bystreet-西_城街道-1", "2023/bystreet-西_城街道-2"]
    page1 = (out / "2023" / "bystreet-西_城街道-1.html").read_text("utf-8")
    page2 = (out / "2023" / "bystreet-西_城街道-2.html").read_text("utf-8")
    assert "西/城街道（编码 203）" in page1 and "204" not in page1.split("西/城街道")[1][:20]
    assert "西:城街道（编码 204）" in page2
    state = json.loads((out / ".index.json").read_text("utf-8"))
    assert state["2023/bystreet-西_城街道-1"]["params"]["street"] == "西/城街道（编码 203）"
    assert state["2023/bystreet-西_城街道-2"]["params"]["street"] == "西:城街道（编码 204）"
    index = (out / "index.html").read_text("utf-8")
    assert "bystreet-西_城街道-1.html" in index and "bystreet-西_城街道-2.html" in index


def test_distinct_stems_is_deterministic_and_skips_taken_names():
    stems = ["a/x", "a/X", "a/x-1", "a/y"]
    out, numbered = plan.distinct_stems(stems, [("2",), ("1",), ("3",), ("4",)])
    # x and X collide (case-insensitive file systems): the smaller code first; x-1 is taken
    assert out == ["a/x-3", "a/X-2", "a/x-1", "a/y"] and numbered == {0, 1}
    assert len({s.casefold() for s in out}) == 4
    assert plan.distinct_stems(stems, [("2",), ("1",), ("3",), ("4",)]) == (out, numbered)


# --- an unwritable --out ---------------------------------------------------------------------------
@pytest.mark.parametrize("below", [False, True])
def test_out_in_a_read_only_folder_exits_2_and_writes_nothing(env, tmp_path, monkeypatch, capsys, below):
    import papermill

    monkeypatch.setenv("PERFLIB_NOTEBOOKS_DIR", str(env["nbdir"]))
    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: pytest.fail("a kernel was started"))
    monkeypatch.setattr(runner, "_early_zygote", lambda *a, **k: None)
    folder = tmp_path / "locked"
    folder.mkdir()
    out = folder / "reports" if below else folder
    mode = folder.stat().st_mode
    folder.chmod(stat.S_IMODE(mode) & ~0o222)
    try:
        code = main(["run", "bystreet", "--db", str(env["db"]), "--out", str(out), "--no-progress"])
    finally:
        folder.chmod(mode)
    err = capsys.readouterr().err
    assert code == 2
    assert "只读" in err and str(folder) in err and "Traceback" not in err
    assert list(folder.iterdir()) == []


# --- the pieces: log masking, the index ------------------------------------------------------------
def test_masked_logging_masks_every_logger_and_tracebacks_and_is_undone(caplog):
    caplog.set_level(logging.INFO)
    before = logging.getLogRecordFactory()
    secrets = sorted(SECRETS, key=len, reverse=True)
    with leaks.masked_logging(secrets):
        with leaks.masked_logging(["另一个涉密名称"]):  # nested blocks add up
            logging.getLogger("papermill").warning("单元格输出：%s 与 %s", SECRET_NAME, "另一个涉密名称")
        logging.getLogger("perflib.runner").info("编码 %s，年度 2023", SECRET_CODE)
        try:
            raise ValueError(f"出错：{SECRET_NAME}")
        except ValueError:
            logging.getLogger("some.library").exception("出错了")
    logging.getLogger("perflib.runner").info("之后：%s", SECRET_NAME)  # outside: as it is
    assert logging.getLogRecordFactory() is before
    lines = caplog.text.splitlines()
    text = "\n".join(lines[:-1])
    assert SECRET_NAME not in text and SECRET_CODE + "，" not in text and "另一个涉密名称" not in text
    assert text.count(leaks.LEAK_MASK) >= 4 and "ValueError" in text and "年度 2023" in text
    assert lines[-1].endswith(f"之后：{SECRET_NAME}")


def test_the_index_drops_entries_named_by_a_secret_and_masks_what_people_read():
    from perflib.run.publish import index_without_secrets

    state = {
        "2023/cost-场馆运行": {"params": {"项目类型": "场馆运行"}, "params_text": "项目类型=场馆运行",
                             "title": f"含{SECRET_NAME}的标题", "error": f"{SECRET_CODE} 出错",
                             "fingerprint": "ab" * 32},
        f"2023/cost-{SECRET_NAME}": {"params": {"项目类型": SECRET_NAME}},
        f"2023/fiscal-{SECRET_CODE}街道": {"params": {}},
    }
    kept = index_without_secrets(state, sorted(SECRETS, key=len, reverse=True))
    assert list(kept) == ["2023/cost-场馆运行"]
    entry = kept["2023/cost-场馆运行"]
    assert entry["title"] == f"含{leaks.LEAK_MASK}的标题" and entry["error"] == f"{leaks.LEAK_MASK} 出错"
    assert entry["params"] == {"项目类型": "场馆运行"} and entry["fingerprint"] == "ab" * 32
