"""The ``perflib`` command as a person meets it (issue 21): Chinese help with every option's default
and an example, the reports and their parameters listed, every argument error in Chinese (no
argparse English) with exit 2 and the closest known names, full-width input accepted, ``--each`` on
a parameter a report lacks refused, and ``perflib rules [SECTION]``.

No kernel starts here: every request is refused (or answered) before planning ends.
"""
from __future__ import annotations

import re

import pytest
import yaml

from perflib.cli import build_parser, join_params, main, parse_param
from perflib.exceptions import closest
from perflib.run.plan import available_notebooks, default_notebooks_dir

ENGLISH = re.compile(r"usage:|error:|invalid|unrecognized|required|choose from|argument", re.I)
REPORTS = sorted(available_notebooks(default_notebooks_dir()))


@pytest.fixture(autouse=True)
def _no_kernels(monkeypatch):
    """A kernel or zygote started here would be a test failure (and slow)."""
    import papermill

    def refuse(*a, **k):
        raise AssertionError("a kernel was started")

    monkeypatch.setenv("PERFLIB_PRELOAD", "0")
    monkeypatch.delenv("PERFLIB_NOTEBOOKS_DIR", raising=False)
    monkeypatch.delenv("PERFLIB_DB", raising=False)
    monkeypatch.setattr(papermill, "execute_notebook", refuse)


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    got = capsys.readouterr()
    return code, got.out, got.err


# --- help ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["demo", "ingest", "check", "run", "rules"])
def test_every_option_has_a_chinese_help_with_its_default_and_an_example(command, capsys):
    code, out, _ = _run(capsys, command, "--help")
    assert code == 0
    assert out.startswith("用法：") and not ENGLISH.search(out)
    sub = next(a for a in build_parser()._actions if getattr(a, "choices", None) and command in a.choices)
    parser = sub.choices[command]
    for action in parser._actions:
        if action.dest in ("help",):
            continue
        assert action.help and re.search(r"[\u4e00-\u9fff]", action.help), action.dest
        required = not action.option_strings and action.nargs is None  # e.g. the export folder
        assert "默认" in action.help or required or action.dest == "list", (command, action.dest)
        if action.nargs != 0:  # an argument taking a value shows one
            assert "如 " in action.help or "如：" in action.help, (command, action.dest, action.help)
    assert "示例" in out


def test_main_help_lists_the_commands_in_chinese(capsys):
    code, out, _ = _run(capsys, "--help")
    assert code == 0 and not ENGLISH.search(out)
    for command in ("demo", "ingest", "check", "run", "rules"):
        assert re.search(rf"^\s+{command}\s+\S", out, flags=re.M)
    assert "PERFLIB_DB" in out


def test_run_help_lists_every_report_with_its_parameters(capsys):
    code, out, _ = _run(capsys, "run", "--help")
    assert code == 0 and REPORTS
    for name in REPORTS:
        assert re.search(rf"^\s+{name}\s", out, flags=re.M), name
    assert re.search(r"monitoring.*dept（默认 None）.*as_of_month（默认 None）", out)
    assert re.search(r"overview.*参数：无", out)


def test_run_list_shows_reports_parameters_defaults_and_the_store_values(demo_db, capsys):
    from perflib.store import Store

    code, out, _ = _run(capsys, "run", "--list", "--db", str(demo_db))
    assert code == 0
    for name in REPORTS:
        assert re.search(rf"^{name}( — |$)", out, flags=re.M), name
    store = Store(demo_db)
    try:
        types = store.project_types(store.latest_year())
    finally:
        store.close()
    line = next(x for x in out.splitlines() if "数据中的取值" in x and "道路保洁" in x)
    assert f"（共 {len(types)} 个）" in line and all(t in line for t in types)
    assert "区卫健局" in out and "东风街道办事处" in out
    assert re.search(r"as_of_month（截至月份）：默认 None", out)
    assert re.search(r"数据中的取值：未指定时为 \d+月", out)


def test_run_list_without_a_store_says_so_and_still_lists_reports(tmp_path, capsys):
    missing = tmp_path / "nowhere.duckdb"
    code, out, _ = _run(capsys, "run", "--list", "--db", str(missing))
    assert code == 0
    assert "未能读取数据库" in out and str(missing) in out
    for name in REPORTS:
        assert re.search(rf"^{name}( — |$)", out, flags=re.M), name
    assert "dept（部门）：默认 None" in out and "    数据中的取值：" not in out


# --- argument errors: Chinese, exit 2, the closest names ---------------------------------------------
@pytest.mark.parametrize("argv, expected", [
    (["rn"], ["无效的取值「rn」", "您是否要找：run？"]),
    ([], ["缺少必需的参数：命令"]),
    (["demo"], ["缺少必需的参数：out_dir"]),
    (["demo", "x", "--scale", "provnce"], ["无效的取值「provnce」", "您是否要找：province？"]),
    (["run", "--jobs", "x"], ["参数 --jobs：「x」不是整数"]),
    (["run", "--year"], ["参数 --year：需要一个取值"]),
    (["run", "--lst"], ["无法识别的参数：--lst", "您是否要找：--list？"]),
    (["rules", "a", "b"], ["无法识别的参数：b"]),
    (["run", "-p", "dept"], ["应写成 KEY=VALUE"]),
])
def test_argument_errors_are_chinese_with_usage_and_exit_2(argv, expected, capsys):
    code, out, err = _run(capsys, *argv)
    assert code == 2, err
    assert not ENGLISH.search(err), err
    assert "用法：perflib" in err and "错误：" in err and "--help" in err
    for text in expected:
        assert text in err, (text, err)


@pytest.mark.parametrize("argv, expected", [
    (["run", "overveiw"], ["没有名为「overveiw」的报告", "您是否要找：overview"]),
    (["run", "monitoring", "-p", "dept=区卫健委"], ["区卫健委", "您是否要找：区卫健局？"]),
    (["run", "cost", "-p", "project_type=道路保结"], ["道路保结", "您是否要找：道路保洁？"]),
    (["run", "monitoring", "-p", "dpt=区卫健局"], ["没有参数「dpt」", "您是否要找：dept？"]),
    (["run", "monitoring", "--each", "dpt"], ["实际为「dpt」", "您是否要找：dept？"]),
    (["run", "monitoring", "--each", "street"], ["报告 monitoring 没有参数 street", "--each street"]),
    (["run", "monitoring", "overview", "--each", "dept"], ["报告 overview 没有参数 dept"]),
    (["run", "overview", "-p", "dept=区卫健局"], ["没有参数「dept」"]),
    (["run", "--each", "nosuch"], ["--each"]),
    (["rules", "monitorin"], ["没有「monitorin」这一节", "您是否要找：monitoring？"]),
])
def test_unknown_names_offer_the_closest_first_and_exit_2(demo_db, tmp_path, argv, expected, capsys):
    out_dir = tmp_path / "reports"
    extra = ["--db", str(demo_db), "--out", str(out_dir), "--no-progress"] if argv[0] == "run" else []
    code, _, err = _run(capsys, *argv, *extra)
    assert code == 2, err
    assert err.startswith("错误：") and not ENGLISH.search(err), err
    for text in expected:
        assert text in err, (text, err)
    assert not out_dir.exists()  # nothing written


def test_closest_match_ranks_by_sequence_and_shared_characters():
    depts = ["区委办公室", "区教体局", "区科技局", "区卫健局", "区民政局", "区卫生监督所"]
    assert closest("区卫健委", depts)[0] == "区卫健局"
    assert closest("道路保结", ["文博场馆运行", "道路保洁", "绿化养护", "物业管理"]) == ["道路保洁"]
    assert closest("overveiw", ["cost", "coverage", "monitoring", "overview"])[0] == "overview"
    assert closest("教体", depts) == ["区教体局"]
    assert closest("xyz", depts) == []


# --- full-width and spaced input ---------------------------------------------------------------------
@pytest.mark.parametrize("text, pair", [
    ("dept=区教体局", ("dept", "区教体局")),
    ("dept＝区教体局", ("dept", "区教体局")),
    (" dept ＝ 区教体局 ", ("dept", "区教体局")),
    ("ｄｅｐｔ＝区教体局", ("dept", "区教体局")),
    ("dept=a=b", ("dept", "a=b")),
    ("as_of_month＝　９", ("as_of_month", "９")),
])
def test_param_accepts_full_width_equals_and_spaces(text, pair):
    assert parse_param(text) == pair


def test_a_param_split_by_the_shell_is_joined():
    assert join_params(["run", "-p", "dept", "＝", "区教体局", "--each", "x"]) == \
        ["run", "-p", "dept＝区教体局", "--each", "x"]
    assert join_params(["-p", "dept=", "区教体局"]) == ["-p", "dept=区教体局"]
    assert join_params(["-p", "dept", "=区教体局"]) == ["-p", "dept=区教体局"]
    assert join_params(["-p", "dept=x", "overview"]) == ["-p", "dept=x", "overview"]


def test_full_width_parameter_reaches_the_planner(demo_db, tmp_path, capsys):
    """``dept ＝ 区卫健委`` (full-width, spaced, split by the shell) is read as dept=区卫健委: the
    planner then names the value and offers 区卫健局; ``--year ２０２３`` is the year 2023."""
    code, _, err = _run(capsys, "run", "monitoring", "-p", "dept", "＝", "区卫健委", "--year", "２０２３",
                        "--db", str(demo_db), "--out", str(tmp_path / "r"), "--no-progress")
    assert code == 2 and "「区卫健委」" in err and "您是否要找：区卫健局？" in err
    code, _, err = _run(capsys, "run", "monitoring", "-p", "as_of_month＝１３", "--db", str(demo_db),
                        "--out", str(tmp_path / "r"), "--no-progress")
    assert code == 2 and "实际为 13" in err


# --- perflib rules [SECTION] and Chinese status words ------------------------------------------------
def test_rules_section_filters(capsys):
    code, out, _ = _run(capsys, "rules", "monitoring")
    assert code == 0
    keys = re.findall(r"^(\S+) = ", out, flags=re.M)
    assert keys and all(k.startswith("monitoring.") for k in keys)
    from perflib.rules import load_rules

    assert len(keys) == len(load_rules().entries("monitoring"))
    code, out_all, _ = _run(capsys, "rules")
    assert len(re.findall(r"^(\S+) = ", out_all, flags=re.M)) == len(load_rules().entries())


@pytest.mark.parametrize("word, status", [
    ("地方做法", "local practice"), ("官方规定", "official"), ("假设（可配置）", "assumed"),
    ("假定", "assumed"), ("local practice", "local practice"),
])
def test_rules_file_accepts_the_status_words_perflib_rules_prints(tmp_path, capsys, word, status):
    from perflib.rules import STATUS_LABELS, load_rules

    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"monitoring": {"green_min_gap": {
        "value": -0.05, "source": "区财政局通知", "status": word}}}, allow_unicode=True), encoding="utf-8")
    assert load_rules(path).entry("monitoring.green_min_gap").status == status
    code, out, _ = _run(capsys, "rules", "monitoring", "--rules", str(path))
    assert code == 0
    block = out[out.index("monitoring.green_min_gap = -0.05"):].splitlines()[1]
    assert STATUS_LABELS[status] in block


def test_rules_file_with_an_unknown_status_word_is_refused(tmp_path, capsys):
    path = tmp_path / "mine.yaml"
    path.write_text("monitoring:\n  green_min_gap: {value: -0.05, status: 随便}\n", encoding="utf-8")
    code, _, err = _run(capsys, "rules", "--rules", str(path))
    assert code == 2 and "随便" in err and "地方做法" in err and "local practice" in err


def test_an_abbreviated_option_is_refused_not_guessed(capsys):
    """``--progres`` is not taken for ``--progress`` (which would start a whole run): exit 2 with the
    closest options."""
    assert main(["run", "--progres"]) == 2
    err = capsys.readouterr().err
    assert "无法识别的参数：--progres" in err and "--progress" in err


@pytest.mark.parametrize("argv, code", [(["rules", "monitoring"], 0), (["run", "--jobs", "0"], 2)])
def test_the_executable_exits_with_the_commands_code_and_skips_the_last_collection(argv, code):
    """``console`` (the ``perflib`` executable): exit code of :func:`main`; by the time atexit
    handlers run, the objects are frozen, so the interpreter's final collection has none to walk."""
    import subprocess
    import sys

    probe = ("import atexit, gc, sys\n"
             "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\n"
             f"sys.argv = ['perflib', *{argv!r}]\n"
             "from perflib.cli import console\n"
             "console()\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert proc.returncode == code, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "frozen True"


def test_the_installed_entry_point_is_console():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text("utf-8"))
    assert project["project"]["scripts"]["perflib"] == "perflib.cli:console"


def test_a_reader_that_stops_early_ends_the_command_quietly():
    """``perflib rules | head -1``: the reader closes the pipe after a line; the command stops
    without a message (exit 141, as a command killed by SIGPIPE), not 「操作未完成：…Broken pipe」."""
    import os
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)  # a reader already gone: the first write fails
    try:
        proc = subprocess.run([sys.executable, "-m", "perflib.cli", "rules"], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    assert proc.returncode == 141, proc.stderr
    assert proc.stderr == ""
