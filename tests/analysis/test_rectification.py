"""整改跟踪 (perflib.analysis.rectification) on a hand-made ledger: every count against the figures
worked out by hand and an independent pandas count; the overview's sentence; the as-of date."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from perflib.analysis import rectification as rect
from perflib.present.text.rectification import overview_sentence, summary_text
from perflib.store import Store

D = dt.date
AS_OF = D(2024, 6, 30)


def _project(pid, year, dept, classified=False):
    return dict(project_id=pid, year=year, dept_code=dept, project_name=f"项目{pid}", budget_kind="一般公共预算",
                fund_source="本级", budget_amount=100.0, is_classified=classified, is_special=False)


LEDGER = pd.DataFrame([
    # id, source, project, dept, year, deadline, status, done
    ("A", "重点评价", "P1", "101", 2023, D(2024, 3, 31), "已整改", D(2024, 3, 1)),    # on time
    ("B", "重点评价", "P2", "200", 2023, D(2024, 3, 31), "已整改", D(2024, 4, 10)),   # done late
    ("C", "审计", None, "100", 2023, D(2024, 5, 31), "整改中", None),                 # overdue 30 days
    ("D", "审计", "P1", "101", 2023, D(2024, 6, 30), "未整改", None),                 # deadline = as-of: not overdue
    ("E", "其他", "P2", "200", 2023, None, "未整改", None),                          # no deadline: not judged
    ("F", "自评复核", "P2", "200", 2023, D(2024, 1, 1), "未整改", None),              # overdue 181 days
    ("G", "重点监控", "P1", "101", 2023, D(2024, 2, 1), "已整改", None),               # done, date missing
    ("H", "审计", "P3", "100", 2022, D(2022, 12, 31), "已整改", D(2022, 10, 1)),      # 2022: recurs in 2023
], columns=["problem_id", "source", "project_id", "dept_code", "year", "deadline", "status", "date_done"])
LEDGER["finding"] = "问题" + LEDGER["problem_id"]


@pytest.fixture
def store():
    frames = {
        "departments": pd.DataFrame({"dept_code": ["100", "101", "200"], "dept_name": ["区教体局", "区实验小学", "区科技局"],
                                     "parent_code": [None, "100", None]}),
        "projects": pd.DataFrame([_project("P1", 2023, "101"), _project("P2", 2023, "200"),
                                  _project("P3", 2022, "100"), _project("S1", 2023, "200", True)]),
        "key_evaluations": pd.DataFrame([
            dict(project_id="P3", year=2023, findings="资金沉淀"), dict(project_id="P2", year=2024, findings="目标偏低"),
            dict(project_id="P1", year=2024, findings=None)]).assign(
                score_decision=10, score_process=10, score_output=20, score_effect=20, next_request=0.0,
                next_approved=0.0),
        "rectifications": LEDGER,
    }
    s = Store.from_frames(frames)
    yield s
    s.close()


def _independent(ledger: pd.DataFrame, year: int, as_of: dt.date) -> dict:
    """The facts counted straight from the ledger rows, without the module."""
    y = ledger[ledger["year"] == year]
    done = y["status"] == "已整改"
    overdue = ~done & y["deadline"].notna() & y["deadline"].map(lambda d: d is not None and d < as_of)
    on_time = done & y["date_done"].notna() & y["deadline"].notna() & (y["date_done"] <= y["deadline"])
    return {"items": len(y), "done": int(done.sum()), "open": int((~done).sum()),
            "overdue": int(overdue.sum()), "on_time": int(on_time.sum())}


def test_facts_equal_the_hand_count_and_an_independent_count(store):
    df, rec, f = rect.rectification(store, 2023, as_of=AS_OF)
    assert (f["rectification.items"], f["rectification.done"], f["rectification.open"],
            f["rectification.overdue"], f["rectification.on_time"]) == (7, 3, 4, 2, 1)
    want = _independent(LEDGER.astype(object).where(LEDGER.notna(), None), 2023, AS_OF)
    assert {k.split(".")[1]: f[k] for k in ("rectification.items", "rectification.done", "rectification.open",
                                            "rectification.overdue", "rectification.on_time")} == want
    assert f["rectification.on_time_share"] == pytest.approx(1 / 7)
    assert f["rectification.as_of"] == "2024-06-30"
    # H (2022, P3) recurs in 2023's key evaluations; B, E, F (P2) in 2024's; P1's 2024 one has no 主要问题
    assert sorted(rec["problem_id"]) == ["B", "E", "F", "H"] and f["rectification.recurring"] == 4
    assert dict(zip(rec["problem_id"], rec["next_findings"]))["H"] == "资金沉淀"


def test_overdue_list_longest_first_with_days(store):
    df, _, _ = rect.rectification(store, 2023, as_of="2024-06-30")
    od = rect.overdue_list(df)
    assert list(od["problem_id"]) == ["F", "C"] and list(od["days_overdue"]) == [181.0, 30.0]


def test_by_department_and_source(store):
    df, _, _ = rect.rectification(store, 2023, as_of=AS_OF)
    t = rect.by_department_source(df).set_index(["level1_code", "source"])
    # 101 (区实验小学) counts under its level-1 department 100
    assert t.loc[("100", "审计"), ["items", "done", "open", "overdue", "on_time"]].tolist() == [2, 0, 2, 1, 0]
    assert t.loc[("100", "重点评价"), ["items", "done", "on_time"]].tolist() == [1, 1, 1]
    assert t.loc[("100", "重点监控"), ["items", "done", "on_time"]].tolist() == [1, 1, 0]
    assert t.loc[("200", "自评复核"), ["overdue"]].tolist() == [1]
    assert int(t["items"].sum()) == 7
    s = rect.by_source(df).set_index("source")
    assert list(s.index) == ["重点评价", "重点监控", "自评复核", "审计", "其他"]
    assert s["items"].tolist() == [2, 1, 1, 2, 1] and s["overdue"].tolist() == [0, 0, 1, 1, 0]
    one = rect.rectification(store, 2023, as_of=AS_OF, dept="区科技局")[2]
    assert (one["rectification.items"], one["rectification.overdue"]) == (3, 1)


def test_without_an_as_of_date_overdue_is_not_judged(store):
    df, _, f = rect.rectification(store, 2023)  # a store made from frames has no load of the ledger
    assert f["rectification.overdue"] is None and f["rectification.items"] == 7
    assert rect.overdue_list(df).empty
    assert "未判断是否逾期" in summary_text(f, 2023)


def test_overview_sentence_says_fully_done_only_when_every_item_is_done(store):
    f = rect.rectification(store, 2023, as_of=AS_OF)[2]
    assert overview_sentence(f, 2023) == ("整改台账记录的2023年发现的7个问题中，已整改3个，未完成整改4个，"
                                          "其中截至2024-06-30已超过整改期限的2个。")
    assert overview_sentence(rect.rectification(store, 2022, as_of=AS_OF)[2], 2022) == "问题整改等工作已全面完成。"
    empty = rect.rectification(store, 2021, as_of=AS_OF)[2]
    assert overview_sentence(empty, 2021) == "" and "需要「整改台账」表" in summary_text(empty, 2021)
