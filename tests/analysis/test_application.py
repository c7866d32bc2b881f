"""结果应用 (issue 17): every stage's flagged projects traced into the next year's 年初预算, against
hand computations on the small export (tests/conftest.py) and on hand-made frames."""
from __future__ import annotations

import pandas as pd
import pytest
from conftest import small_frames, typed_frames

from perflib.analysis import application as ap
from perflib.analysis import evaluation as ev
from perflib.rules import load_rules
from perflib.store import Store


# 下年预算: P002's 2023 row wins over its 2023 project row (800,000); P002 2024 cut by 12.5 %;
# P003 (red, nothing spent) has no 2024 budget; P001 has none either (its key evaluation's 安排数 is used)
NEXT = pd.DataFrame([
    dict(project_id="P002", year=2023, budget=400_000.0, new_or_continuing="延续"),
    dict(project_id="P002", year=2024, budget=700_000.0, new_or_continuing="延续"),
    dict(project_id="NEW-1", year=2024, budget=90_000.0, new_or_continuing="新增"),
])


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    p = tmp_path_factory.mktemp("rules") / "rules.yaml"
    p.write_text("application:\n  selfeval_grades:\n    value: [优, 良, 中, 差]\n", "utf-8")
    return load_rules(p)


def _frames() -> dict:
    """small_frames plus a 2022 target of P002, so that both 2022 self-evaluations are recomputed."""
    f = typed_frames(small_frames())
    t = f["targets"]
    row = pd.DataFrame([("P002", "102", 2022, "产出指标", "数量指标", "引进人才数", "≥", "20", "人", 50)],
                       columns=t.columns)
    f["targets"] = pd.concat([t, row], ignore_index=True)
    return f


def _store(with_next: bool = True, drop: bool = False) -> Store:
    f = _frames()
    if with_next:
        f["next_budgets"] = NEXT
    s = Store.from_frames(f)
    if drop:
        s.con.execute("DROP TABLE next_budgets")
    return s


def test_every_stage_against_a_hand_computation(rules):
    with _store() as s:
        a = ap.application_from_store(s, 2023, rules)
    p = a.projects.set_index(["stage", "project_id"])
    # self-evaluation of fiscal 2022 (every grade flagged by the rules above): P001 1,000,000 →
    # 1,200,000 (projects 2023); P002 500,000 → 400,000 (next_budgets 2023 wins over 800,000)
    se = ev.self_evaluation(Store.from_frames(_frames()), 2023, rules).projects
    recomputed = set(se.loc[se["recomputable"], "project_id"])
    assert set(p.loc["selfeval"].index) == recomputed == {"P001", "P002"}
    assert p.loc[("selfeval", "P001"), "next_budget"] == 1_200_000 and p.loc[("selfeval", "P001"), "next_source"] == "projects"
    assert p.loc[("selfeval", "P002"), "next_budget"] == 400_000 and p.loc[("selfeval", "P002"), "next_source"] == "next_budgets"
    assert p.loc[("selfeval", "P002"), "cut_rate"] == pytest.approx(0.2)
    # monitoring to July: P002 spent 120,000 of 800,000 (red); no own 2022 payments, so the district's
    # profile 300,000 / 950,000 by July: projected 380,000, unspent 420,000 = 52.5 % ≥ 50 %.
    # P003 spent nothing (red, all unspent). P001 is yellow; P004 is classified.
    assert a.as_of_month == 7
    assert set(p.loc["monitoring"].index) == {"P002", "P003"}
    assert p.loc[("monitoring", "P002"), "change"] == pytest.approx(-100_000)
    assert p.loc[("monitoring", "P002"), "decision"] == ev.DECISION_OK          # 12.5 % ≥ 10 % − 5 %
    assert p.loc[("monitoring", "P003"), "decision"] == ap.DECISION_NO_NEXT
    assert pd.isna(p.loc[("monitoring", "P003"), "matches"])
    # key evaluation: P001 86 points (良, suggested 0, a target): 审减 300,000 of 1,500,000 = 20 %
    # departs; no next_budgets row, so next year's money is its 安排数 1,200,000 = this year's 年初预算
    k = p.loc[("keyeval", "P001")]
    assert k["group"] == "良" and k["next_source"] == ap.SOURCE_KEYEVAL and k["change"] == 0
    assert k["decision"] == ev.DECISION_TOO_MUCH and not k["matches"]
    assert "cost" not in p.index.get_level_values(0)   # one peer per type: no standard
    f = ap.application_facts(a.summary)
    assert f["application.selfeval.projects"] == 2 and f["application.selfeval.with_next"] == 2
    assert f["application.selfeval.budget"] == pytest.approx(1_500_000)
    assert f["application.selfeval.next_budget"] == pytest.approx(1_600_000)
    assert f["application.selfeval.change"] == pytest.approx(100_000)
    assert f["application.selfeval.cut_projects"] == 1
    assert f["application.monitoring.projects"] == 2 and f["application.monitoring.with_next"] == 1
    assert f["application.monitoring.budget"] == pytest.approx(800_000 + 250_000.25)
    assert f["application.monitoring.next_budget"] == pytest.approx(700_000)
    assert f["application.monitoring.change"] == pytest.approx(-100_000)
    assert f["application.monitoring.matched"] == 1 and f["application.monitoring.cut_projects"] == 1
    assert f["application.keyeval.matched"] == 0 and f["application.keyeval.change"] == 0
    assert f["application.cost.projects"] == 0 and f["application.cost.change"] is None


@pytest.mark.parametrize("drop", [False, True])
def test_without_next_budgets(rules, drop):
    """No 下年预算 table (empty, or absent from an older database): the monitoring stage has no
    next-year money; self-evaluation still has the project table's Y rows and key evaluations their 安排数."""
    with _store(with_next=False, drop=drop) as s:
        a = ap.application_from_store(s, 2023, rules)
    f = ap.application_facts(a.summary)
    assert f["application.monitoring.projects"] == 2 and f["application.monitoring.with_next"] == 0
    assert f["application.monitoring.next_budget"] is None and f["application.monitoring.change"] is None
    assert f["application.selfeval.next_budget"] == pytest.approx(1_200_000 + 800_000)
    assert f["application.keyeval.next_budget"] == pytest.approx(1_200_000)
    mon = a.projects[a.projects["stage"] == "monitoring"]
    assert (mon["decision"] == ap.DECISION_NO_NEXT).all()


def test_trace_and_summary_on_hand_made_frames():
    """Floors: a cut short of the suggestion by more than the tolerance is 压减不足; a zero budget
    cannot be judged; the summary's sums and counts by hand."""
    base = pd.DataFrame({"project_id": ["A", "B", "C", "D"], "year": 2023, "project_name": list("ABCD"),
                         "level1_name": "局", "budget_amount": [100.0, 200.0, 0.0, 50.0]})
    nxt = ap.next_budgets_of(
        pd.DataFrame({"project_id": ["A", "B", "C"], "year": 2024, "budget": [85.0, 200.0, 10.0]}),
        pd.DataFrame({"project_id": ["B"], "year": [2024], "budget_amount": [1.0]}), 2024)
    assert nxt.set_index("project_id").loc["B", "next_source"] == "next_budgets"
    flagged = pd.DataFrame({"project_id": list("ABCD"), "group": "差", "suggested_cut_rate": 0.10,
                            "floor": True})
    t = ap.trace("selfeval", flagged, base, nxt, 2023, 0.05).set_index("project_id")
    assert t.loc["A", "decision"] == ev.DECISION_OK and t.loc["A", "cut_rate"] == pytest.approx(0.15)
    assert t.loc["B", "decision"] == ev.DECISION_TOO_LITTLE          # 0 % < 10 % − 5 %
    assert t.loc["C", "decision"] == ap.DECISION_NO_BUDGET and pd.isna(t.loc["C", "matches"])
    assert t.loc["D", "decision"] == ap.DECISION_NO_NEXT
    s = ap.summarise(t.reset_index())
    tot = s[(s["stage"] == "selfeval") & s["group"].isna()].iloc[0]
    assert (tot["projects"], tot["with_next"], tot["cut_projects"], tot["matched"], tot["departs"]) == (4, 3, 1, 1, 1)
    assert tot["budget"] == 350 and tot["budget_with_next"] == 300 and tot["next_budget"] == 295
    assert tot["change"] == -5 and tot["change_rate"] == pytest.approx(-5 / 300)
    assert tot["suggested_cut"] == pytest.approx(0.1 * 300)
    assert set(s["stage"]) == set(ap.STAGES)   # every stage has its total row, zeros when empty


def test_flags_of_each_stage(rules):
    se = pd.DataFrame({"project_id": ["A", "B", "C"], "grade": ["中", "差", "差"],
                       "recomputable": [True, True, False]})
    defaults = load_rules()
    f = ap.selfeval_flagged(se, defaults)
    assert list(f["project_id"]) == ["A", "B"] and list(f["suggested_cut_rate"]) == [0.05, 0.10]
    proj = pd.DataFrame({"project_id": ["A", "B", "C"], "band": ["红色", "红色", "黄色"],
                         "budget": [100.0, 100.0, 100.0], "projected_unspent": [50.0, 49.99, 90.0]})
    proj["band"] = proj["band"].replace("红色", ap.mon.RED)
    assert list(ap.monitoring_flagged(proj, defaults)["project_id"]) == ["A"]   # ≥ 50 %, inclusive
    assert ap.monitoring_flagged(None, defaults).empty
    cur = pd.DataFrame({"project_id": ["A", "B"], "saving": [20.0, 0.0]})
    base = pd.DataFrame({"project_id": ["A", "B"], "budget_amount": [400.0, 100.0]})
    c = ap.cost_flagged(cur, base)
    assert list(c["project_id"]) == ["A"] and c["suggested_cut_rate"].iloc[0] == pytest.approx(0.05)
