"""Funding sources (analysis/sources.py, issue 17) on a hand-made store: monitoring by source, the
strict expectations of 直达资金 and 专项债券, coverage and self-evaluation by source, and the
coverage scope set by rules (answers worked out by hand)."""
from __future__ import annotations

import pandas as pd
import pytest

from perflib.analysis import coverage as cov
from perflib.analysis import monitoring as mon
from perflib.analysis import sources as src
from perflib.present.scopes import scope_context, scope_sentence
from perflib.rules import load_rules
from perflib.store import Store

RULES = load_rules()


def _p(pid, fund, amount, *, bond=None, level=None, year=2023, classified=False):
    return dict(project_id=pid, year=year, dept_code="100", project_name=f"项目{pid}", project_type=None,
                budget_kind="一般公共预算", fund_source=fund, transfer_level=level, bond_type=bond,
                fund_nature="年初", budget_amount=amount, adjusted_amount=None, is_classified=classified,
                is_special=False)


def frames():
    projects = pd.DataFrame([
        _p("B1", "本级", 1200.0), _p("B2", "本级", 1200.0),
        _p("T1", "上级转移支付", 600.0, level="省"),
        _p("D1", "直达资金", 1200.0),                 # 700 by July: 58.33 % ≥ 7/12 → meets
        _p("D2", "直达资金", 1200.0),                 # 699.99: just below → below
        _p("Z1", "政府债券", 2400.0, bond="专项债券"),  # 1200: 50 % < 58.33 % → below
        _p("G1", "政府债券", 1000.0, bond="一般债券"),  # not a strict group
        _p("S1", "本级", 500.0, classified=True),       # not monitored
        _p("B1", "本级", 1000.0, year=2022), _p("T1", "上级转移支付", 400.0, year=2022),
    ])
    pay = lambda pid, d, a: dict(project_id=pid, year=2023, pay_date=pd.Timestamp(d), amount=a)
    payments = pd.DataFrame([pay("B1", "2023-03-01", 600.0), pay("T1", "2023-07-31", 100.0),
                             pay("D1", "2023-06-01", 700.0), pay("D2", "2023-07-31", 699.99),
                             pay("D2", "2023-08-01", 500.0), pay("Z1", "2023-05-01", 1200.0),
                             pay("S1", "2023-05-01", 50.0)])
    departments = pd.DataFrame({"dept_code": ["100"], "dept_name": ["区住建局"], "parent_code": [None],
                                "sector": [None], "is_street": [False]})
    tg = lambda pid, year: dict(project_id=pid, dept_code="100", year=year, level1="产出指标", level2=None,
                                indicator="完成量", direction="≥", target_value="1", unit="个", weight=None)
    targets = pd.DataFrame([tg("B1", 2023), tg("T1", 2023), tg("D1", 2023), tg("B1", 2022), tg("T1", 2022)])
    selfevals = pd.DataFrame([dict(project_id="B1", year=2022, spent_amount=900.0, satisfaction=90.0,
                                   reported_score=90.0),
                              dict(project_id="T1", year=2022, spent_amount=400.0, satisfaction=None,
                                   reported_score=80.0)])
    return dict(departments=departments, projects=projects, payments=payments, targets=targets,
                self_evaluations=selfevals)


@pytest.fixture(scope="module")
def store():
    return Store.from_frames(frames())


@pytest.fixture(scope="module")
def execution(store):
    return mon.project_execution(store, 2023, 7, RULES)


def test_monitoring_by_source_fact(store, execution):
    fact = mon.monitoring_facts(store, 2023, 7, RULES, execution=execution)["monitoring.by_source"]
    assert list(fact) == ["本级", "上级转移支付", "政府债券", "直达资金"]
    assert fact["本级"] == {"projects": 2, "budget": 2400.0, "spent": 600.0}          # S1 classified: out
    assert fact["上级转移支付"] == {"projects": 1, "budget": 600.0, "spent": 100.0}
    assert fact["政府债券"] == {"projects": 2, "budget": 3400.0, "spent": 1200.0}
    assert fact["直达资金"] == {"projects": 2, "budget": 2400.0, "spent": 1399.99}    # D2's August not yet
    assert sum(v["projects"] for v in fact.values()) == mon.monitoring_facts(
        store, 2023, 7, RULES, execution=execution)["monitoring.projects"]


def test_strict_execution_against_time_progress(execution):
    strict = src.strict_execution(execution, RULES).set_index("group")
    assert list(strict.index) == ["直达资金", "专项债券"]
    d, z = strict.loc["直达资金"], strict.loc["专项债券"]
    assert d["projects"] == 2 and d["below"] == 1 and d["below_budget"] == 1200.0
    assert d["execution_rate"] == pytest.approx(1399.99 / 2400) and d["expected_rate"] == pytest.approx(7 / 12)
    assert z["projects"] == 1 and z["below"] == 1 and z["execution_rate"] == pytest.approx(0.5)
    low = src.strict_projects(execution, RULES)
    assert list(low["project_id"]) == ["Z1", "D2"]             # largest shortfall first


def test_strict_margin_comes_from_the_rules(execution, tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("monitoring:\n  strict_sources:\n    value: {直达资金: -0.10}\n    source: 测试\n"
                    "    status: assumed\n", encoding="utf-8")
    strict = src.strict_execution(execution, load_rules(path))
    assert list(strict["group"]) == ["直达资金"] and int(strict["below"].iloc[0]) == 0


def test_coverage_by_source_and_scope_rule(store, tmp_path):
    frame = cov.project_targets(store, 2023)
    by = src.coverage_by_source(frame, cov.scope_fund_sources()).set_index("fund_source")
    assert by.loc["本级", "with_targets"] == 1 and by.loc["本级", "eligible"] == 2          # S1 classified
    assert by.loc["本级", "coverage_count"] == 0.5 and bool(by.loc["本级", "in_scope"])
    assert by.loc["上级转移支付", "with_targets"] == 1 and not by.loc["上级转移支付", "in_scope"]
    assert by.loc["直达资金", "amount"] == 1200.0 and pd.isna(by.loc["直达资金", "coverage_count"])
    assert by["projects"].sum() == len(frame)
    facts = cov.coverage_facts(store, 2023, RULES)
    assert facts["targets.coverage_count"] == 0.5 and facts["targets.scope_sources"] == ["本级"]
    path = tmp_path / "r.yaml"
    path.write_text("coverage:\n  scope_fund_sources:\n    value: [本级, 上级转移支付]\n    source: 测试\n"
                    "    status: local practice\n", encoding="utf-8")
    wide = cov.coverage_facts(store, 2023, load_rules(path))
    assert wide["targets.coverage_count"] == pytest.approx(2 / 3)          # B1, T1 of B1, B2, T1
    assert wide["targets.coverage_amount"] == pytest.approx(1800 / 3000)
    sentence = scope_sentence("targets.coverage_count", scope_context(2023, facts=wide))
    assert "本级、上级转移支付资金安排" in sentence and "政府债券、直达资金的项目不在分母内" in sentence


def test_selfeval_by_source(store):
    by = src.selfeval_by_source(cov.selfeval_projects(store, 2022)).set_index("fund_source")
    assert by.loc["本级", "projects"] == 1 and by.loc["本级", "amount"] == 1000.0
    assert by.loc["上级转移支付", "projects"] == 1 and by.loc["上级转移支付", "amount"] == 400.0
    assert by.loc["直达资金", "projects"] == 0 and by["projects"].sum() == cov.coverage_facts(
        store, 2023, RULES)["selfeval.projects"]
