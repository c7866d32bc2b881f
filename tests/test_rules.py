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


# --- numeric values: finite, integers where a count belongs, inside a declared range (issue 22) ---
def _write_text(tmp_path, text: str) -> str:
    p = tmp_path / "raw_rules.yaml"
    p.write_text(text, encoding="utf-8")
    return str(p)


@pytest.mark.parametrize("text, words", [
    ("cost:\n  outlier_z: .nan\n", ["cost.outlier_z", "nan", "有限"]),
    ("self_evaluation:\n  inflation_margin: .nan\n", ["self_evaluation.inflation_margin", "nan"]),
    ("monitoring:\n  months_in_year: .inf\n", ["monitoring.months_in_year", "inf"]),
    ("cost:\n  outlier_z: -.inf\n", ["cost.outlier_z", "inf"]),
], ids=["nan", "nan-margin", "inf", "minus-inf"])
def test_rules_values_must_be_finite(tmp_path, text, words):
    with pytest.raises(RulesError) as err:
        load_rules(_write_text(tmp_path, text))
    for w in words:
        assert w in str(err.value)


@pytest.mark.parametrize("text, words", [
    ("monitoring:\n  months_in_year: 0.5\n", ["monitoring.months_in_year", "0.5", "整数"]),
    ("cost:\n  min_peers: 2.5\n", ["cost.min_peers", "2.5", "整数"]),
    ("fiscal:\n  grading_decimals: 3.5\n", ["fiscal.grading_decimals", "3.5", "整数"]),
], ids=["months", "peers", "decimals"])
def test_counts_must_be_integers(tmp_path, text, words):
    with pytest.raises(RulesError) as err:
        load_rules(_write_text(tmp_path, text))
    for w in words:
        assert w in str(err.value)


@pytest.mark.parametrize("text, words", [
    ("monitoring:\n  months_in_year: 13\n", ["monitoring.months_in_year", "13", "1", "12"]),
    ("monitoring:\n  key_round_months: 0\n", ["monitoring.key_round_months", "0", "12"]),
    ("self_evaluation:\n  full_marks_low_execution: 60\n", ["full_marks_low_execution", "60", "0", "1"]),
    ("self_evaluation:\n  inflation_margin: -5\n", ["inflation_margin", "-5", "100"]),
    ("cost:\n  min_peers: 0\n", ["cost.min_peers", "0"]),
    ("key_evaluation:\n  decision_tolerance: 5\n", ["decision_tolerance", "5"]),
    ("fiscal:\n  weak_score: 150\n", ["fiscal.weak_score", "150", "100"]),
], ids=["month-13", "round-0", "rate-60", "margin-neg", "peers-0", "tolerance-5", "score-150"])
def test_numbers_outside_their_declared_range_are_refused(tmp_path, text, words):
    with pytest.raises(RulesError) as err:
        load_rules(_write_text(tmp_path, text))
    for w in words:
        assert w in str(err.value)


@pytest.mark.parametrize("text, words", [
    ("key_evaluation:\n  suggested_cut: {value: {优: 0.0, 良: 0.0, 中: .nan, 差: 0.3}}\n", ["key_evaluation.suggested_cut", "中", "nan"]),
    ("key_evaluation:\n  suggested_cut: {value: {优: 0.0, 良: 0.0, 中: 0.1, 差: 30}}\n", ["key_evaluation.suggested_cut", "差", "30"]),
    ("self_evaluation:\n  qualitative_tiers: {value: {优: 1.0, 良: 8, 中: 0.6, 差: 0.0}}\n", ["qualitative_tiers", "良", "8"]),
    ("self_evaluation:\n  qualitative_tiers: {value: {优: 1.0, 良: .inf, 中: 0.6, 差: 0.0}}\n", ["qualitative_tiers", "良", "inf"]),
    ("fiscal:\n  pefa_years: {value: {window: 3, required: 1.5}}\n", ["fiscal.pefa_years", "required", "1.5", "整数"]),
    ("fiscal:\n  pi2_bands: {value: {A: 0.05, B: .nan, C: 0.15}}\n", ["fiscal.pi2_bands", "B", "nan"]),
    ("fiscal:\n  pi1_bands: {value: {A: [0.95, .inf], B: [0.9, 1.1], C: [0.85, 1.15]}}\n", ["fiscal.pi1_bands", "A", "inf"]),
], ids=["cut-nan", "cut-30", "tier-8", "tier-inf", "pefa-fraction", "pi2-nan", "pi1-inf"])
def test_nested_numbers_are_checked_element_by_element(tmp_path, text, words):
    with pytest.raises(RulesError) as err:
        load_rules(_write_text(tmp_path, text))
    for w in words:
        assert w in str(err.value)


def test_fiscal_indicator_weights_are_checked(tmp_path, rules):
    indicators = rules["fiscal.indicators"]
    indicators["tax_share"]["weight"] = float("nan")
    with pytest.raises(RulesError) as err:
        load_rules(_write(tmp_path, {"fiscal": {"indicators": {"value": indicators}}}))
    assert "fiscal.indicators" in str(err.value) and "tax_share" in str(err.value)


def test_a_bad_number_exits_2_with_a_chinese_message(tmp_path, capsys):
    assert main(["rules", "--rules", _write_text(tmp_path, "monitoring:\n  months_in_year: 0.5\n")]) == 2
    err = capsys.readouterr().err
    assert "monitoring.months_in_year" in err and "整数" in err and "Traceback" not in err


def test_shipped_rules_pass_and_every_numeric_rule_has_a_declared_range(rules):
    """A new numeric rule without an entry in ``NUMERIC_RANGES`` fails here."""
    from perflib.rules import NUMERIC_RANGES, numeric_leaves

    numeric = {e.key for e in rules.entries() if list(numeric_leaves(e.value))}
    assert numeric, "no numeric rules found"
    missing = sorted(numeric - set(NUMERIC_RANGES))
    assert not missing, f"numeric rules without a declared range: {missing}"
    assert not sorted(set(NUMERIC_RANGES) - numeric), "ranges declared for rules that do not exist"
    for key in numeric:  # every shipped value lies inside its range
        for where, v in numeric_leaves(rules[key]):
            assert NUMERIC_RANGES[key].admits(v), (key, where, v)


def test_a_file_read_again_is_parsed_from_its_new_text_and_each_load_is_its_own(tmp_path):
    """Parsed texts are kept per process (every ingest and report reads the rules): a file changed
    between two loads gives its new values, and changing one loaded tree leaves the next alone."""
    path = tmp_path / "rules.yaml"
    path.write_text("monitoring:\n  green_min_gap:\n    value: -0.05\n", "utf-8")
    first = load_rules(path)
    assert first.value("monitoring.green_min_gap") == -0.05
    first._tree["monitoring"]["green_min_gap"]["value"] = 99
    first._tree["coverage"].clear()
    again = load_rules(path)
    assert again.value("monitoring.green_min_gap") == -0.05
    assert again.value("coverage.scope_fund_sources") == load_rules().value("coverage.scope_fund_sources")
    path.write_text("monitoring:\n  green_min_gap:\n    value: -0.04\n", "utf-8")
    assert load_rules(path).value("monitoring.green_min_gap") == -0.04
    path.write_text("monitoring: [unclosed\n", "utf-8")
    with pytest.raises(RulesError, match="不是有效的 YAML"):
        load_rules(path)
    with pytest.raises(RulesError, match="不是有效的 YAML"):  # an error is not kept as a result
        load_rules(path)
