"""事前绩效评估 on a hand-made store: new projects above the threshold without an assessment, and
each conclusion against what was funded, counted by hand; the 下年预算 table's 新增/延续 marks win
over the project history; without the table the facts are empty and the text names the table."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from perflib.analysis import ex_ante
from perflib.present.text import classification as cls_text
from perflib.rules import load_rules
from perflib.store import Store

D = dt.date
RULES = load_rules()
T = float(RULES.value("ex_ante.amount_threshold"))


def _frames(assessments: bool = True, marks=None) -> dict[str, pd.DataFrame]:
    depts = pd.DataFrame([("101", "区教体局", None), ("102", "区科技局", None)],
                         columns=["dept_code", "dept_name", "parent_code"])
    rows = [("A", 2022, "101", T + 1, False),
            ("A", 2023, "101", T + 1, False),      # continuing
            ("B", 2023, "101", T * 2, False),      # new, big, 调整后支持 below funded: mismatch
            ("C", 2023, "102", T, False),          # new, exactly at the threshold, 支持: consistent
            ("E", 2023, "102", T * 3, False),      # new, big, no assessment: missing
            ("F", 2023, "101", T - 1, False),      # new, small, 不支持 but funded: mismatch
            ("G", 2023, "102", T * 4, False),      # new, big, 调整后支持 within the suggestion
            ("S", 2023, "101", T * 5, True)]       # classified: never listed
    projects = pd.DataFrame([dict(project_id=p, year=y, dept_code=d, project_name=f"项目{p}",
                                  budget_kind="一般公共预算", fund_source="本级", budget_amount=b,
                                  is_classified=c, is_special=False) for p, y, d, b, c in rows])
    frames = {"departments": depts, "projects": projects}
    if assessments:
        frames["ex_ante"] = pd.DataFrame([
            ("B", 2023, D(2022, 9, 1), "调整后支持", T * 1.5, "评价中心"),
            ("C", 2023, D(2022, 9, 2), "支持", T, "评价中心"),
            ("F", 2023, D(2022, 9, 3), "不支持", None, None),
            ("G", 2023, D(2022, 9, 4), "调整后支持", T * 4, "第三方"),
            ("X", 2023, D(2022, 9, 5), "不支持", None, "第三方"),    # not in the budget: consistent
            ("S", 2023, D(2022, 9, 6), "不支持", None, "第三方"),    # classified: left out
            ("E", 2024, D(2023, 9, 6), "支持", T, "第三方"),         # another year
        ], columns=["project_id", "year", "assess_date", "conclusion", "suggested_amount", "assessor"])
    if marks is not None:
        frames["next_budgets"] = pd.DataFrame(marks, columns=["project_id", "year", "budget", "new_or_continuing"])
    return frames


def test_missing_and_mismatches_by_hand():
    r = ex_ante.review(Store.from_frames(_frames()), 2023, RULES)
    assert r.basis == ex_ante.BASIS_HISTORY
    assert set(r.new_projects["project_id"]) == {"B", "C", "E", "F", "G"}
    assert list(r.missing["project_id"]) == ["E"]
    checks = dict(zip(r.assessments["project_id"], r.assessments["check"]))
    assert checks == {"B": ex_ante.ABOVE_SUGGESTED, "C": ex_ante.CONSISTENT, "F": ex_ante.REJECTED_FUNDED,
                      "G": ex_ante.CONSISTENT, "X": ex_ante.CONSISTENT}
    excess = dict(zip(r.assessments["project_id"], r.assessments["excess"]))
    assert excess["B"] == pytest.approx(T * 0.5) and excess["F"] == pytest.approx(T - 1)
    assert ex_ante.ex_ante_facts(r) == {"ex_ante.new_projects": 4, "ex_ante.missing": 1, "ex_ante.mismatch": 2}
    summary = ex_ante.conclusion_summary(r).set_index("conclusion")
    assert summary.loc["调整后支持", "projects"] == 2 and summary.loc["调整后支持", "mismatch"] == 1
    assert summary.loc["不支持", "funded"] == pytest.approx(T - 1)
    assert "S" not in set(r.assessments["project_id"]) | set(r.new_projects["project_id"])


def test_department_restriction():
    r = ex_ante.review(Store.from_frames(_frames()), 2023, RULES, dept="102")
    assert set(r.new_projects["project_id"]) == {"C", "E", "G"}
    assert ex_ante.ex_ante_facts(r) == {"ex_ante.new_projects": 3, "ex_ante.missing": 1, "ex_ante.mismatch": 0}


def test_next_budget_marks_win_over_history():
    # E marked 延续 (not new), A marked 新增 (new despite 2022)
    marks = [("E", 2023, T * 3, "延续"), ("A", 2023, T + 1, "新增")]
    r = ex_ante.review(Store.from_frames(_frames(marks=marks)), 2023, RULES)
    assert r.basis == ex_ante.BASIS_MIXED
    assert set(r.new_projects["project_id"]) == {"A", "B", "C", "F", "G"}
    assert list(r.missing["project_id"]) == ["A"]


def test_without_the_table_the_facts_are_empty_and_the_text_names_it():
    r = ex_ante.review(Store.from_frames(_frames(assessments=False)), 2023, RULES)
    facts = ex_ante.ex_ante_facts(r)
    assert facts == {"ex_ante.new_projects": 4, "ex_ante.missing": None, "ex_ante.mismatch": None}
    assert cls_text.ex_ante_text(r, facts, "全区", T) == cls_text.NEEDS_EX_ANTE
    assert "事前评估" in cls_text.NEEDS_EX_ANTE


def test_first_year_cannot_tell_new_projects():
    frames = _frames()
    frames["projects"] = frames["projects"][frames["projects"]["year"] == 2023]
    r = ex_ante.review(Store.from_frames(frames), 2023, RULES)
    assert r.basis == "" and r.new_projects.empty
    facts = ex_ante.ex_ante_facts(r)
    assert facts["ex_ante.new_projects"] is None and facts["ex_ante.missing"] is None
    assert facts["ex_ante.mismatch"] == 2
    assert "无法判断" in cls_text.ex_ante_text(r, facts, "全区", T)
