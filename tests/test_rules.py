"""The rules file: every entry sourced, SPEC's defaults present, user overrides validated key by key."""
from __future__ import annotations

import pytest
import yaml

from perflib.cli import main
from perflib.exceptions import RulesError
from perflib.rules import DEFAULT_RULES_PATH, STATUSES, load_rules


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def _write(tmp_path, data) -> str:
    p = tmp_path / "my_rules.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(p)


def test_every_entry_has_value_source_status(rules):
    entries = rules.entries()
    assert len(entries) >= 30
    for e in entries:
        assert e.source, e.key
        assert e.status in STATUSES, e.key
        assert e.label, e.key


def test_spec_defaults(rules):
    # SPEC "Rules file" section, value by value.
    assert [rules[f"self_evaluation.weight_{k}"] for k in ("execution", "output", "effect", "satisfaction")] == [10, 50, 30, 10]
    assert rules["self_evaluation.missing_level_to"] == ["产出指标", "效益指标"]
    assert rules["self_evaluation.overachievement_ratio"] == 1.2
    assert rules["self_evaluation.inflation_margin"] == 5
    assert (rules["grades.excellent"], rules["grades.good"], rules["grades.fair"]) == (90, 80, 60)
    assert rules["monitoring.months_in_year"] == 12
    assert rules["monitoring.green_min_gap"] == -0.10
    assert rules["monitoring.yellow_min_gap"] == -0.20
    assert [rules[f"key_evaluation.weight_{k}"] for k in ("decision", "process", "output", "effect")] == [20, 20, 30, 30]
    assert rules["key_evaluation.suggested_cut"] == {"优": 0.0, "良": 0.0, "中": 0.10, "差": 0.30}
    assert rules["cost.standard_percentile"] == 0.5
    assert rules["cost.outlier_z"] == 3.5
    assert rules["fiscal.pi1_bands"] == {"A": [0.95, 1.05], "B": [0.90, 1.10], "C": [0.85, 1.15]}
    assert rules["fiscal.pi2_bands"] == {"A": 0.05, "B": 0.10, "C": 0.15}
    assert rules["fiscal.pi3_bands"] == {"A": [0.97, 1.06], "B": [0.94, 1.12], "C": [0.92, 1.16]}
    weights = sum(v["weight"] for v in rules["fiscal.indicators"].values())
    assert weights == 100


def test_value_returns_a_copy(rules):
    v = rules["key_evaluation.suggested_cut"]
    v["中"] = 0.99
    assert rules["key_evaluation.suggested_cut"]["中"] == 0.10


def test_user_override_merges_and_changes_hash(tmp_path, rules):
    path = _write(tmp_path, {"monitoring": {"green_min_gap": {"value": -0.05, "source": "区财政局 2024 年通知",
                                                              "status": "local practice"}}})
    mine = load_rules(path)
    assert mine["monitoring.green_min_gap"] == -0.05
    assert mine.entry("monitoring.green_min_gap").source == "区财政局 2024 年通知"
    assert mine["monitoring.yellow_min_gap"] == -0.20  # untouched entries keep defaults
    assert mine.sha256 != rules.sha256


def test_bare_value_override_is_accepted(tmp_path):
    mine = load_rules(_write(tmp_path, {"cost": {"outlier_z": 3.0}}))
    assert mine["cost.outlier_z"] == 3.0
    assert mine.entry("cost.outlier_z").status == "local practice"


@pytest.mark.parametrize(
    "data, words",
    [
        ({"monitoring": {"green_gap": {"value": -0.1}}}, ["monitoring.green_gap", "未知的键"]),
        ({"monitorin": {}}, ["monitorin", "未知的键"]),
        ({"monitoring": {"green_min_gap": {"value": "十"}}}, ["monitoring.green_min_gap", "数值"]),
        ({"monitoring": {"green_min_gap": {"value": -0.1, "status": "guess"}}}, ["status", "guess"]),
        ({"monitoring": {"green_min_gap": {"valu": -0.1}}}, ["monitoring.green_min_gap"]),
        ({"monitoring": {"green_min_gap": {"value": -0.3}}}, ["green_min_gap", "yellow_min_gap"]),
        ({"self_evaluation": {"weight_output": {"value": 60}}}, ["100", "自评"]),
        ({"grades": {"good": {"value": 95}}}, ["等级"]),
        ({"cost": {"standard_percentile": {"value": 1.5}}}, ["standard_percentile"]),
        ({"fiscal": {"pi1_bands": {"value": {"A": [1.05, 0.95]}}}}, ["pi1_bands"]),
        ({"monitoring": 5}, ["monitoring", "一节"]),
    ],
)
def test_bad_user_rules_name_the_key(tmp_path, data, words):
    with pytest.raises(RulesError) as err:
        load_rules(_write(tmp_path, data))
    for w in words:
        assert w in str(err.value)


def test_unreadable_rules_files(tmp_path):
    with pytest.raises(RulesError, match="不存在"):
        load_rules(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("monitoring: [unclosed", encoding="utf-8")
    with pytest.raises(RulesError, match="YAML"):
        load_rules(bad)
    top = tmp_path / "list.yaml"
    top.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(RulesError, match="顶层"):
        load_rules(top)


def test_rules_table_for_reports(rules):
    t = rules.table("monitoring")
    assert list(t.columns) == ["规则", "含义", "取值", "依据", "性质"]
    assert set(t["规则"]) >= {"monitoring.green_min_gap", "monitoring.yellow_min_gap"}
    assert all(k.startswith("monitoring.") for k in t["规则"])


def test_cli_rules_exit_codes(tmp_path, capsys):
    assert main(["rules"]) == 0
    assert "monitoring.green_min_gap" in capsys.readouterr().out
    assert main(["rules", "--rules", _write(tmp_path, {"nope": 1})]) == 2
    assert "nope" in capsys.readouterr().err


def test_default_file_is_shipped_inside_the_package():
    assert DEFAULT_RULES_PATH.parent.name == "perflib"
    assert DEFAULT_RULES_PATH.exists()


def test_report_timezone_sets_the_offset_of_times_shown(tmp_path):
    """Times shown to users (rendered_at, page header and footer, index) are in report.timezone:
    Beijing time by default, another zone from a user's rules file; an unknown zone is refused."""
    import re

    from perflib.rules import now_text

    shown = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} ([+-]\d{4})$")
    assert load_rules()["report.timezone"] == "Asia/Shanghai"
    assert shown.match(now_text()).group(1) == "+0800"
    beijing = load_rules(_write(tmp_path, {"report": {"timezone": "Asia/Shanghai"}}))
    assert shown.match(now_text(beijing["report.timezone"])).group(1) == "+0800"
    kathmandu = load_rules(_write(tmp_path, {"report": {"timezone": {"value": "Asia/Kathmandu",
                                                                     "source": "测试"}}}))
    assert shown.match(now_text(kathmandu["report.timezone"])).group(1) == "+0545"  # no DST there
    assert shown.match(now_text("UTC")).group(1) == "+0000"
    for bad in ("Asia/Beijing", "北京时间", "Asia", "../etc/passwd", ""):
        with pytest.raises(RulesError) as err:
            load_rules(_write(tmp_path, {"report": {"timezone": bad}}))
        assert "report.timezone" in str(err.value) and "时区" in str(err.value)
    with pytest.raises(RulesError, match="report.timezone"):
        load_rules(_write(tmp_path, {"report": {"timezone": 8}}))


def test_pages_show_times_in_the_bureau_zone():
    from perflib.present.html import render_index

    page = render_index([])
    assert "+0800" in page and "+0000" not in page
