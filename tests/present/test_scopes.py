"""口径 (scope) sentences, district/bureau names and comparisons with years the data do not hold.

Fast tests on the small export (tests/conftest.py) and the committed facts snapshot; the rendered
demo suite is checked in tests/notebooks/test_consistency.py.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import small_frames, typed_frames

from perflib.pandas_speed import arrow_strings
from perflib.present import names, scopes
from perflib.present.notebook import Report
from perflib.present.text import coverage as cov_text
from perflib.present.text import overview
from perflib.rules import load_rules
from perflib.store import Store

SNAPSHOT = Path(__file__).parents[1] / "data" / "facts_snapshot.json"


def _rules_file(tmp_path, **report) -> Path:
    lines = ["report:"] + [f"  {k}:\n    value: {v}" for k, v in report.items()]
    p = tmp_path / "rules.yaml"
    p.write_text("\n".join(lines) + "\n", "utf-8")
    return p


# --- scope sentences ---------------------------------------------------------------------------
def test_every_fact_of_the_demo_suite_has_a_scope_sentence():
    """Every fact the demo suite records (the committed snapshot) has its 口径 in scopes.SCOPES."""
    snapshot = json.loads(SNAPSHOT.read_text("utf-8"))
    recorded = {k for report in snapshot.values() for k in report["facts"]}
    assert len(recorded) > 40
    assert sorted(recorded - set(scopes.SCOPES)) == []
    assert sorted(recorded - set(scopes.FACT_LABELS)) == []  # and a Chinese name


def test_sentences_name_other_facts_in_chinese_longest_name_first():
    """A fact named inside a sentence reads as its Chinese name; keyeval.cut_rate is not taken for
    keyeval.cut followed by "_rate", and no English fact name is left in any sentence."""
    ctx = scopes.scope_context(2023, {}, {"monitoring.as_of_month": 7})
    assert scopes.scope_sentence("keyeval.cut_rate", ctx) == "「审减额」÷「下年度预算申请数」（2024 年预算审减率）。"
    for fact in scopes.SCOPES:
        sentence = scopes.scope_sentence(fact, ctx)
        left = [n for n in scopes.FACT_LABELS if re.search(rf"(?<![\w.]){re.escape(n)}(?!\w)", sentence)]
        assert not left, (fact, sentence)  # rule keys such as cost.standard_percentile stay as they are


@pytest.mark.parametrize("params", [{}, {"dept": "区教体局", "as_of_month": 7}, {"project_type": "道路保洁"},
                                    {"street": "201"}])
def test_scope_sentences_are_filled_for_every_report_kind(params):
    facts = {"monitoring.as_of_month": 7} if "as_of_month" in params else {}
    ctx = scopes.scope_context(2023, params, facts, unit_name=params.get("dept"))
    relevant = [k for k in scopes.SCOPES
                if ("project_type" in params) == k.startswith("cost.") or k in ("cost.standards", "cost.savings_total")]
    if "as_of_month" not in params:
        relevant = [k for k in relevant if not k.startswith("monitoring.")]
    out = scopes.scope_sentences(relevant, ctx)
    assert set(out) == set(relevant)
    for k, s in out.items():
        assert "{" not in s and "}" not in s, (k, s)
        assert re.search(r"[\u4e00-\u9fff]", s) and s.endswith("。"), (k, s)


def test_scope_sentences_state_what_the_figure_counts():
    ctx = scopes.scope_context(2022, {})
    s = scopes.scope_sentences(["targets.coverage_count", "selfeval.projects", "selfeval.projects_prev",
                                "keyeval.cut", "monitoring.spent", "targets.projects_prev"],
                               scopes.scope_context(2022, {"as_of_month": 2}))
    cov = s["targets.coverage_count"]
    assert "本级" in cov and "涉密" in cov and "特殊资金" in cov and "2022 年" in cov
    assert "2021 年度（于 2022 年开展自评）" in s["selfeval.projects"]
    assert "2020 年度" in s["selfeval.projects_prev"]
    assert "审减" in s["keyeval.cut"] and "2023 年预算申请数" in s["keyeval.cut"]
    assert "2022 年 2 月 28 日" in s["monitoring.spent"]  # the month's last day, from the calendar
    assert "2021 年" in s["targets.projects_prev"]
    assert scopes.scope_context(2023, {}, unit_name="区教体局")["unit"] == "「区教体局」及其下属单位"
    assert ctx["unit"] == "全区"
    assert "测算可压减" in scopes.scope_sentence("cost.savings", scopes.scope_context(2023, {"project_type": "公务接待"}))
    assert scopes.scope_sentence("no.such.fact", ctx) is None


def test_report_records_scopes_beside_its_facts_and_shows_them(tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr("perflib.present.notebook._display_html", lambda html, plain: shown.append(html))
    with Store.from_frames(typed_frames(small_frames())) as st:
        rep = Report(name="coverage", store=st, rules=load_rules(), year=2023, params={"dept": "101"},
                     artifacts_dir=tmp_path)
        rep.facts({"targets.coverage_count": 0.5, "not.a.spec.fact": 1})
    meta = json.loads((tmp_path / "meta.json").read_text("utf-8"))
    assert set(meta["scopes"]) == {"targets.coverage_count"}
    assert "「区教体局」及其下属单位" in meta["scopes"]["targets.coverage_count"]
    assert rep.recorded_scopes == meta["scopes"]
    assert len(shown) == 1 and "口径说明" in shown[0] and "targets.coverage_count" in shown[0]


# --- district and bureau names ------------------------------------------------------------------
def test_names_come_from_the_rules_then_the_data_then_benqu(tmp_path):
    f = small_frames()
    with Store.from_frames(typed_frames(f)) as st:
        plain = load_rules()
        assert names.district_name(st, plain) == "本区"
        assert names.bureau_name(st, plain) == "本区财政局"
        assert overview.title(st, 2023, plain) == "本区 2023 年预算绩效管理工作开展情况说明"
        assert overview.introduction(st, 2023, plain).startswith("根据预算管理系统导出数据")
        set_rules = load_rules(_rules_file(tmp_path, district="历城区", bureau="历城区财政局"))
        assert overview.title(st, 2023, set_rules) == "历城区 2023 年预算绩效管理工作开展情况说明"
        assert overview.introduction(st, 2023, set_rules).startswith("历城区财政局根据预算管理系统导出数据")
        only_district = load_rules(_rules_file(tmp_path, district="章丘区"))
        assert names.bureau_name(st, only_district) == "章丘区财政局"
    f["departments"]["dept_name"] = ["槐荫区教体局", "槐荫区实验小学", "槐荫区科技局", "槐荫区财政局", "东风街道办事处"]
    with Store.from_frames(typed_frames(f)) as st:
        assert names.district_name(st, load_rules()) == "槐荫区"  # from the data
        assert names.district_name(st, load_rules(_rules_file(tmp_path, district="历城区"))) == "历城区"  # rules win


def _district_by_hand(texts) -> str | None:
    """The rule of :func:`names.district_from_data` over plain strings, one name at a time."""
    counts: dict[str, int] = {}
    for t in set(texts):
        m = re.match("^([\u4e00-\u9fff]{2,3}区)", t)
        if m and m.group(1) not in names._NOT_DISTRICT:
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    top = sorted(counts.items(), key=lambda kv: -kv[1])
    if not top or top[0][1] < names.MIN_NAMES or 2 * top[0][1] <= sum(counts.values()):
        return None
    return top[0][0]


@pytest.mark.parametrize("dept_names, project_names, expected", [
    # a province's store: several districts lead as many names each; before, whichever came first in a
    # hash-ordered set was named (the province reports' titles changed from run to run)
    (["槐荫区教体局", "槐荫区科技局", "槐荫区财政局", "历城区教体局", "历城区科技局"], ["历城区道路保洁"], None),
    (["槐荫区教体局", "槐荫区科技局", "章丘区财政局", "历城区教体局", "历城区科技局"], ["天桥区道路保洁"], None),
    # the district's own names, and a few projects named after another district (对口协作): the district
    (["历城区教体局", "历城区科技局", "历城区财政局", "区卫健局", "东风街道办事处"],
     ["历城区道路保洁", "章丘区对口协作", "社区服务", "全区绩效评价", None], "历城区"),
    # the same name twice is one name; 「小区」「社区」 are not districts
    (["历城区教体局", "历城区教体局", "历城区科技局", "小区改造办", "社区服务中心"], ["社区服务", "小区改造"], None),
])
def test_the_data_names_a_district_only_when_most_district_led_names_agree(dept_names, project_names,
                                                                           expected):
    f = small_frames()
    f["departments"]["dept_name"] = dept_names
    f["projects"]["project_name"] = (project_names * len(f["projects"]))[:len(f["projects"])]
    with Store.from_frames(typed_frames(f)) as st:
        texts = [t for t in [*st.departments()["dept_name"], *st.projects(st.years()[-1])["project_name"]]
                 if isinstance(t, str)]
        assert names.district_from_data(st) == _district_by_hand(texts) == expected


def test_demo_writes_its_rules_file_next_to_the_export(tmp_path):
    from perflib.demo import DEMO_BUREAU, DEMO_DISTRICT, demo_rules_path, write_demo_rules

    path = write_demo_rules(tmp_path / "demo")
    assert path == demo_rules_path(tmp_path / "demo") == tmp_path / "demo.rules.yaml"
    r = load_rules(path)
    assert (r.value("report.district"), r.value("report.bureau")) == (DEMO_DISTRICT, DEMO_BUREAU) == ("历城区", "历城区财政局")
    assert r.entry("report.district").status == "local practice"
    # only the names: every other rule is the default one
    assert [e.key for e in r.entries() if e.value != load_rules().value(e.key)] == ["report.district", "report.bureau"]


# --- comparisons with years the data do not hold ----------------------------------------------
def _without_year(frames: dict, year: int) -> dict:
    return {k: (df[df["year"] != year].reset_index(drop=True) if "year" in df.columns else df)
            for k, df in frames.items()}


def test_no_comparison_with_a_year_the_store_does_not_hold():
    rules = load_rules()
    f = typed_frames(small_frames())
    with Store.from_frames(f) as st:  # 2022 held (projects and targets), fiscal 2021 not
        s2 = overview.section_2(st, 2023, rules).text
        assert "2023 年全区编制部门预算绩效目标 2 个，比上年增加 1 个，涉及资金 200 万元。" in s2
        s3 = overview.section_3(st, 2023, rules).text
        assert "（2021 年度的绩效自评不在数据中，无法与上年比较）" in s3 and "比上年" not in s3
        p = cov_text.coverage_text(overview_facts(st, rules), 2023, store=st)
        assert "比上年增加 1 个" in p[0]
        assert "（2021 年度的绩效自评不在数据中，无法与上年比较）" in p[2] and "比上年" not in p[2]
    with Store.from_frames(_without_year(f, 2022)) as st:  # like the demo's 2021 without 2020
        sec = overview.section_2(st, 2023, rules)
        assert sec.facts["targets.projects_prev"] == 0
        assert "比上年" not in sec.text and "增加 2 个" not in sec.text
        assert ("2023 年全区编制部门预算绩效目标 2 个，涉及资金 200 万元"
                "（2022 年的项目绩效目标不在数据中，无法与上年比较）。") in sec.text
        p = cov_text.coverage_text(overview_facts(st, rules), 2023, store=st)
        assert "（2022 年的项目绩效目标不在数据中，无法与上年比较）" in p[0] and "比上年" not in p[0]


def test_coverage_text_without_a_store_states_no_comparison_with_an_empty_year():
    facts = {"targets.projects": 5, "targets.projects_prev": 0, "targets.amount": 1e6,
             "targets.coverage_count": 1.0, "targets.coverage_amount": 1.0, "departments.level1": 1,
             "departments.with_targets": 1, "selfeval.projects": 3, "selfeval.projects_prev": 0,
             "selfeval.amount": 1e6, "selfeval.amount_prev": 0.0}
    p = cov_text.coverage_text(facts, 2021)
    assert "比上年" not in p[0] + p[2]
    assert "2020 年的项目绩效目标不在数据中" in p[0] and "2019 年度的绩效自评不在数据中" in p[2]


def test_cost_year_range_comes_from_the_data():
    """Section 七 names the years with cost data, not the rules' pilot window (cost.pilot_years = 3)."""
    rules = load_rules()
    assert int(rules.value("cost.pilot_years")) == 3
    with Store.from_frames(typed_frames(small_frames())) as st:  # costs and outputs only in 2023
        text = overview.section_7(st, 2023, rules).text
    assert text.startswith("2023年对") and "2021—2023" not in text


def test_year_span():
    from perflib.present.formats import year_span

    assert year_span([2023, 2021, 2022, 2022]) == "2021—2023"
    assert year_span([2021, 2023]) == "2021、2023"
    assert year_span([2023]) == "2023"
    assert year_span([]) == ""


def overview_facts(st, rules):
    from perflib.analysis.coverage import coverage_facts

    return coverage_facts(st, 2023, rules)


def test_names_of_mixed_types_are_read_as_their_text():
    """A name column of mixed Python objects (what a hand-built frame may hold) is read as text, its
    missing values left out, as before the names were read through Arrow (``arrow_strings``)."""
    col = pd.Series(["历城区教体局", 101, pd.NA, None, float("nan"), "历城区科技局"], dtype=object)
    assert arrow_strings(col).to_pylist() == ["历城区教体局", "101", None, None, None, "历城区科技局"]
