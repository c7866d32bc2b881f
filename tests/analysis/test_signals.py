"""信号冲突: one case of each kind and a non-case beside each, on hand-made frames (default rules:
conflict grades 优/良, projected unspent ≥ 50 % of budget, 优 ≥ 90 with execution < 60 %, full marks
100, cost strictly above its standard)."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from perflib.analysis import signals
from perflib.analysis.monitoring import GREEN, RED
from perflib.present.text import signals as signals_text
from perflib.rules import load_rules


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def _key():
    # K1 优 and red → case; K2 良, green, unspent 50 of 100 = 50 % exactly (inclusive) → case;
    # K3 优, green, unspent 49.99 % → no; K4 中 and red → no (grade)
    return pd.DataFrame({
        "project_id": ["K1", "K2", "K3", "K4"], "year": [2023] * 4,
        "project_name": ["农村人居环境整治提升", "乙", "丙", "丁"], "level1_name": ["区农业农村局"] * 4,
        "grade": ["优", "良", "优", "中"], "total_score": [93.5, 85.0, 95.0, 70.0],
        "budget": [200.0, 100.0, 100.0, 100.0],
        "next_request": [300.0, 150.0, 100.0, 100.0], "next_approved": [300.0, 120.0, 100.0, 90.0],
    })


def _projection():
    return pd.DataFrame({
        "project_id": ["K1", "K2", "K3", "K4"], "budget": [200.0, 100.0, 100.0, 100.0],
        "spent": [13.4, 40.0, 45.0, 5.0], "execution_rate": [0.067, 0.4, 0.45, 0.05],
        "band": [RED, GREEN, GREEN, RED], "projected_unspent": [60.0, 50.0, 49.99, 90.0],
    })


def _selfeval():
    # A 优 with 50 % execution → case; B 优 at exactly 60 % → no (strictly below); C 良 at 10 % → no;
    # D full marks, cost 120 > standard 100 → case (kind 3); E full marks, cost = standard → no
    return pd.DataFrame({
        "project_id": ["A", "B", "C", "D", "E"], "project_name": ["甲", "乙", "丙", "丁", "戊"],
        "level1_name": ["区某局"] * 5, "reported_score": [95.0, 95.0, 89.99, 100.0, 100.0],
        "reported_grade": ["优", "优", "良", "优", "优"], "grade": ["中"] * 5,
        "execution_rate": [0.5, 0.6, 0.1, 0.9, 0.9], "budget": [1000.0, 800.0, 600.0, 400.0, 300.0],
    })


def _cost_rows():
    return pd.DataFrame({"project_id": ["D", "E"], "project_type": ["道路保洁", "道路保洁"],
                         "unit_cost": [120.0, 100.0], "standard": [100.0, 100.0]})


def _next():
    return pd.DataFrame({"project_id": ["A", "D"], "budget_amount": [900.0, 450.0]})


def _frame(rules, projection=True):
    return signals.conflicting_signals(_key(), _projection() if projection else None, 7 if projection else None,
                                       _selfeval(), _cost_rows(), _next(), 2023, rules)


def test_one_case_of_each_kind_and_no_non_case(rules):
    f = _frame(rules)
    assert list(zip(f["kind"], f["project_id"])) == [
        (signals.KIND_KEY_SLOW, "K1"), (signals.KIND_KEY_SLOW, "K2"),
        (signals.KIND_SELF_LOW_EXEC, "A"), (signals.KIND_COST_FULL, "D")]
    r = f.set_index("project_id")
    # both figures and the decision on every row
    assert r.loc["K1", "score"] == 93.5 and r.loc["K1", "band"] == RED and r.loc["K1", "execution_rate"] == 0.067
    assert r.loc["K1", "unspent_share"] == pytest.approx(60 / 200)
    assert (r.loc["K1", "next_request"], r.loc["K1", "next_approved"], r.loc["K1", "decision_year"]) == (300, 300, 2024)
    assert r.loc["K2", "unspent_share"] == pytest.approx(0.5)
    assert (r.loc["A", "score"], r.loc["A", "grade"], r.loc["A", "execution_rate"]) == (95.0, "优", 0.5)
    assert r.loc["A", "next_approved"] == 900.0 and math.isnan(r.loc["A", "next_request"])
    assert r.loc["A", "evaluation_year"] == 2022 and r.loc["A", "decision_year"] == 2023
    assert (r.loc["D", "unit_cost"], r.loc["D", "standard"], r.loc["D", "score"]) == (120.0, 100.0, 100.0)
    assert r.loc["D", "next_approved"] == 450.0
    assert signals.signal_facts(f) == {"signals.key_slow": 2, "signals.selfeval_low_execution": 1,
                                       "signals.cost_full_marks": 1, "signals.key_slow_in_full": 1}


def test_no_payments_no_monitoring_kind(rules):
    f = _frame(rules, projection=False)
    assert signals.KIND_KEY_SLOW not in set(f["kind"]) and len(f) == 2
    assert "没有支付数据，未对照重点评价与执行监控" in signals_text.signals_paragraph(f, 2023, None, rules)


def test_sentences_count_the_rows(rules):
    f = _frame(rules)
    text = signals_text.signals_paragraph(f, 2023, 7, rules)
    assert ("2023年重点评价为优或良、但截至7月底监控为红色或预计结转结余不低于预算数50%的项目2个；"
            "2022年度自评为优、但全年预算执行率低于60%的项目1个；"
            "2022年单位成本高于支出标准、但自评100分的项目1个。") in text
    summary = signals_text.overview_summary(f, 2023, 7, rules)
    assert "其中“农村人居环境整治提升” 和 “乙”重点评价为优或良的项目2个，截至7月底监控为红色或预计结转结余不低于预算数50%；" in summary
    assert "这2个项目中1个的2024年安排数等于申请数" in summary
    t = signals_text.signals_table(f).set_index("project_id")
    assert t.loc["K1", "detail"] == ("2023 年重点评价优（93.50 分）；监控截至 7 月底执行率 6.70%，预警红色，"
                                     "预计结转结余 0.01 万元（占预算数 30.00%）")
    assert t.loc["D", "detail"] == "2022 年度自评 100.00 分；道路保洁单位成本 120.00 元，高于支出标准 100.00 元"
    empty = signals.conflicting_signals(_key().iloc[0:0], _projection(), 7, _selfeval().iloc[0:0],
                                        _cost_rows(), _next(), 2023, rules)
    assert empty.empty and signals_text.overview_summary(empty, 2023, 7, rules).startswith("对照评价结果")
