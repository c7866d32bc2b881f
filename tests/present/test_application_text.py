"""结果应用 in words (perflib.present.text.application): the paragraph names each stage's counts and
money, and says which data it needs when a stage's projects have no next-year budget."""
from __future__ import annotations

import pandas as pd

from perflib.analysis import application as ap
from perflib.present.text import application as text
from perflib.rules import load_rules


def _app(next_budget) -> ap.Application:
    projects = pd.DataFrame({
        "stage": ["monitoring", "monitoring", "cost"], "group": [ap.GROUP_MONITORING] * 2 + [ap.GROUP_COST],
        "project_id": ["A", "B", "C"], "project_name": list("ABC"), "level1_name": "局", "year": 2023,
        "next_year": 2024, "budget": [1_000_000.0, 3_000_000.0, 500_000.0], "next_budget": next_budget,
        "next_source": "next_budgets", "suggested_cut_rate": 0.1, "floor": True})
    projects["change"] = projects["next_budget"] - projects["budget"]
    projects["cut_rate"] = -projects["change"] / projects["budget"]
    projects["decision"] = ["符合建议" if r >= 0.05 else ("压减不足" if r == r else ap.DECISION_NO_NEXT)
                            for r in projects["cut_rate"]]
    projects["matches"] = None
    return ap.Application(projects, ap.summarise(projects), {s: (2023, 2024) for s in ap.STAGES}
                          | {ap.SELFEVAL: (2022, 2023)}, 7)


def test_paragraph_and_overview_sentence():
    app = _app([800_000.0, 3_000_000.0, 500_000.0])
    p = text.application_paragraph(app, load_rules())
    assert "截至7月底红色预警" in p and "2个项目，本年年初预算400 万元" in p
    assert "较本年减少20 万元（5.00%），1个压减，1个符合规则建议" in p
    assert "需要「下年预算」表" not in p and "中、差（对照2023年预算）：无此类项目" in p
    assert "1个项目，本年年初预算50 万元；下年安排50 万元，与本年持平" in p
    s = text.overview_sentence(ap.application_facts(app.summary), 2023)
    assert "执行监控发现的2个项目中1个下年预算压减、合计减少20 万元，1个符合规则建议" in s
    assert "成本分析发现的1个项目中0个下年预算压减、合计与本年持平" in s


def test_without_next_year_budgets_the_paragraph_says_what_it_needs():
    app = _app([float("nan")] * 3)
    p = text.application_paragraph(app, load_rules())
    assert "执行监控、成本分析发现的项目在数据中没有下一年度的预算" in p and "需要「下年预算」表" in p
    s = text.overview_sentence(ap.application_facts(app.summary), 2023)
    assert "执行监控发现的2个项目数据中尚无下一年度预算" in s


def test_overview_sentence_says_how_many_have_a_next_year_budget_when_not_all():
    app = _app([800_000.0, float("nan"), 500_000.0])
    s = text.overview_sentence(ap.application_facts(app.summary), 2023)
    assert "执行监控发现的2个项目中1个有下一年度预算，其中1个下年预算压减、合计减少20 万元" in s
    assert "成本分析发现的1个项目中0个下年预算压减" in s  # all of its projects have one: nothing added
