"""Cost-benefit analysis (issue 6): unit costs, percentile standards, savings, outliers, messages.

The fixture below is small enough that every expected figure is worked out by hand in the comments.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from perflib.analysis import cost
from perflib.present.text import cost as cost_text
from perflib.exceptions import ParameterError
from perflib.present.notebook import Report
from perflib.rules import load_rules
from perflib.store import Store

ROAD = "道路保洁"
PROP = "物业管理"
RECEPTION = "公务接待"

# 道路保洁: (code, year, quantity m², unit cost 元/m², quality)
ROAD_ROWS = [
    ("R-A", 2021, 1000, 10, 80), ("R-B", 2021, 500, 14, 90),
    ("R-A", 2022, 1000, 11, 84), ("R-B", 2022, 500, 13, 95), ("R-C", 2022, 2000, 9, 60),
    ("R-A", 2023, 1000, 12, 88), ("R-B", 2023, 500, 20, 92), ("R-C", 2023, 2000, 10, 70),
    ("R-D", 2023, 100, 100, 75),
    ("R-A", 2020, 10, 1000, 50),  # outside the pilot years 2021–2023: must be ignored
]
# 物业管理 2023 only: five ordinary peers plus one classified project
PROP_ROWS = [("P-1", 5), ("P-2", 6), ("P-3", 7), ("P-4", 8), ("P-5", 30), ("P-SECRET", 7)]
SECRET_NAME = "某保密物业保障经费"


def _frames() -> dict[str, pd.DataFrame]:
    projects, costs, outputs = [], [], []

    def project(pid, year, ptype, budget=100_000.0, name=None, classified=False):
        projects.append(dict(project_id=pid, year=year, dept_code="D1", project_name=name or f"{ptype}{pid}",
                             project_type=ptype, budget_kind="一般公共预算", fund_source="本级",
                             budget_amount=budget, is_classified=classified, is_special=False))

    for pid, year, qty, uc, q in ROAD_ROWS:
        total = qty * uc
        project(pid, year, ROAD, budget=total * 1.25)
        if pid == "R-D":
            costs.append(dict(project_id=pid, year=year, cost_element="设备购置/折旧", amount=total))
        else:
            costs.append(dict(project_id=pid, year=year, cost_element="人员经费", amount=total * 0.6))
            costs.append(dict(project_id=pid, year=year, cost_element="商品和服务支出", amount=total * 0.4))
        outputs.append(dict(project_id=pid, year=year, output_name="保洁面积", unit="平方米",
                            quantity=qty, quality_score=q))
    # flagged 2023 rows of the road type
    project("R-E", 2023, ROAD)  # zero quantity
    costs.append(dict(project_id="R-E", year=2023, cost_element="人员经费", amount=5000.0))
    outputs.append(dict(project_id="R-E", year=2023, output_name="保洁面积", unit="平方米", quantity=0))
    project("R-F", 2023, ROAD)  # another unit
    costs.append(dict(project_id="R-F", year=2023, cost_element="人员经费", amount=3000.0))
    outputs.append(dict(project_id="R-F", year=2023, output_name="保洁长度", unit="公里", quantity=10))
    project("R-G", 2023, ROAD)  # costs but no outputs: not a cost.projects project
    costs.append(dict(project_id="R-G", year=2023, cost_element="人员经费", amount=9999.0))
    project("R-H", 2023, ROAD)  # neither costs nor outputs: listed, no cost evidence at all
    # next-year budgets (2024) for R-A (cut) and R-B (raised)
    project("R-A", 2024, ROAD, budget=13_000.0)
    project("R-B", 2024, ROAD, budget=13_000.0)

    for pid, uc in PROP_ROWS:
        secret = pid == "P-SECRET"
        project(pid, 2023, PROP, name=SECRET_NAME if secret else None, classified=secret)
        costs.append(dict(project_id=pid, year=2023, cost_element="委托业务费", amount=uc * 100.0))
        outputs.append(dict(project_id=pid, year=2023, output_name="物业面积", unit="平方米",
                            quantity=100, quality_score=None))
    # 公务接待: only three peers → no standard under min_peers = 5
    for i, uc in enumerate([300, 400, 900], 1):
        project(f"G-{i}", 2023, RECEPTION)
        costs.append(dict(project_id=f"G-{i}", year=2023, cost_element="商品和服务支出", amount=uc * 10.0))
        outputs.append(dict(project_id=f"G-{i}", year=2023, output_name="接待人次", unit="人次",
                            quantity=10, quality_score=80))

    payments = pd.DataFrame([dict(project_id="R-A", year=2023, pay_date=pd.Timestamp("2023-05-01"),
                                  amount=1000.0)])
    selfevals = pd.DataFrame([dict(project_id="R-A", year=2023, spent_amount=1000.0, satisfaction=90,
                                   reported_score=90)])
    depts = pd.DataFrame([dict(dept_code="D1", dept_name="区城管局", parent_code=None, is_street=False)])
    # 下年预算 (2024): R-A here too (this row wins over its 2024 project row: 14,000, not 13,000),
    # R-C cut, P-1 cut, G-1 (公务接待, no standard) cut, and a new project of no pilot type
    next_budgets = pd.DataFrame([
        dict(project_id="R-A", year=2024, budget=14_000.0, new_or_continuing="延续"),
        dict(project_id="R-C", year=2024, budget=20_000.0, new_or_continuing="延续"),
        dict(project_id="P-1", year=2024, budget=90_000.0, new_or_continuing="延续"),
        dict(project_id="G-1", year=2024, budget=50_000.0, new_or_continuing="延续"),
        dict(project_id="NEW-1", year=2024, budget=70_000.0, new_or_continuing="新增"),
        dict(project_id="R-B", year=2023, budget=1.0, new_or_continuing="延续"),  # not next year: ignored
    ])
    return {"departments": depts, "projects": pd.DataFrame(projects), "costs": pd.DataFrame(costs),
            "outputs": pd.DataFrame(outputs), "payments": payments, "self_evaluations": selfevals,
            "next_budgets": next_budgets}


@pytest.fixture(scope="module")
def store():
    s = Store.from_frames(_frames())
    yield s
    s.close()


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def _rules(tmp_path, cost_overrides: dict):
    p = tmp_path / "rules.yaml"
    p.write_text(yaml.safe_dump({"cost": cost_overrides}, allow_unicode=True), encoding="utf-8")
    return load_rules(p)


@pytest.fixture(scope="module")
def road(store, rules):
    return cost.analyse_type(cost.load_cost_data(store, 2023, rules), ROAD, rules)


# ---------------------------------------------------------------------------------------------
def test_pilot_years_end_at_year(rules):
    assert cost.pilot_years(2023, rules) == [2021, 2022, 2023]


def test_unit_costs_by_hand(road):
    rows = road.rows.set_index(["project_id", "year"])
    # R-B 2023: 10,000 元 / 500 m² = 20 元/m²; R-D: 10,000 / 100 = 100
    assert rows.loc[("R-B", 2023), "total_cost"] == pytest.approx(10_000)
    assert rows.loc[("R-B", 2023), "unit_cost"] == pytest.approx(20)
    assert rows.loc[("R-D", 2023), "unit_cost"] == pytest.approx(100)
    assert rows.loc[("R-C", 2022), "unit_cost"] == pytest.approx(9)
    assert 2020 not in set(road.rows["year"])
    assert road.unit == "平方米"
    assert not np.isinf(road.rows["unit_cost"].to_numpy(dtype=float)).any()


def test_standard_is_median_of_pilot_peers(road):
    # peers 2021–2023 in 平方米: 10, 14, 11, 13, 9, 12, 20, 10, 100 → sorted
    # 9, 10, 10, 11, 12, 13, 14, 20, 100 → median (5th of 9) = 12 (2020's 1000 left out)
    assert len(road.peers) == 9
    assert road.standard == pytest.approx(12.0)


def test_savings_by_hand(road):
    # 2023: R-A 12 ≤ 12 → 0; R-B (20 − 12) × 500 = 4,000; R-C 10 → 0; R-D (100 − 12) × 100 = 8,800
    saving = road.rows.set_index(["project_id", "year"])["saving"]
    assert saving[("R-B", 2023)] == pytest.approx(4_000)
    assert saving[("R-A", 2023)] == 0
    assert road.savings == pytest.approx(12_800)


def test_outliers_by_hand(road):
    # |x − 12|: 2, 2, 1, 3, 0, 2, 8, 2, 88 → MAD = 2; z(R-D) = 0.6745 × 88 / 2 = 29.678 > 3.5;
    # z(R-B 2023) = 0.6745 × 8 / 2 = 2.698 → not an outlier
    z = road.rows.set_index(["project_id", "year"])["robust_z"]
    assert z[("R-D", 2023)] == pytest.approx(0.6745 * 88 / 2)
    assert z[("R-B", 2023)] == pytest.approx(0.6745 * 8 / 2)
    out = road.rows[road.rows["is_outlier"]]
    assert list(zip(out["project_id"], out["year"])) == [("R-D", 2023)]
    assert road.outliers == 1


def test_outlier_threshold_is_exclusive(store, tmp_path):
    # with mad_scale 1: z(R-B 2023) = 8 / 2 = 4.0 exactly
    at = _rules(tmp_path, {"mad_scale": 1.0, "outlier_z": 4.0})
    a = cost.analyse_type(cost.load_cost_data(store, 2023, at), ROAD, at)
    flagged = set(a.rows.loc[a.rows["is_outlier"], "project_id"] + a.rows.loc[a.rows["is_outlier"], "year"].astype(str))
    assert flagged == {"R-D2023"}
    below = _rules(tmp_path, {"mad_scale": 1.0, "outlier_z": 3.99})
    b = cost.analyse_type(cost.load_cost_data(store, 2023, below), ROAD, below)
    assert set(b.rows.loc[b.rows["is_outlier"], "project_id"]) == {"R-B", "R-D"}


def test_min_peers_is_inclusive(store, tmp_path):
    nine = _rules(tmp_path, {"min_peers": 9})
    a = cost.analyse_type(cost.load_cost_data(store, 2023, nine), ROAD, nine)
    assert a.standard == pytest.approx(12.0)
    ten = _rules(tmp_path, {"min_peers": 10})
    b = cost.analyse_type(cost.load_cost_data(store, 2023, ten), ROAD, ten)
    assert math.isnan(b.standard)
    assert any("少于规则要求的 10 个" in m for m in cost_text.note_texts(b))
    assert cost.type_facts(b)["cost.standard"] is None
    assert cost.type_facts(b)["cost.savings"] is None


def test_other_percentile_uses_numpy_linear(store, tmp_path):
    r = _rules(tmp_path, {"standard_percentile": 0.25})
    a = cost.analyse_type(cost.load_cost_data(store, 2023, r), ROAD, r)
    # sorted peers 9, 10, 10, 11, 12, 13, 14, 20, 100: position 0.25 × 8 = 2 → 10
    assert a.standard == pytest.approx(10.0)
    # savings 2023: (12−10)×1000 + (20−10)×500 + 0 + (100−10)×100 = 2000 + 5000 + 9000
    assert a.savings == pytest.approx(16_000)


def test_zero_quantity_and_mismatched_unit_are_flagged_not_inf(road):
    rows = road.rows.set_index("project_id")
    e = rows.loc["R-E"]
    assert math.isnan(e["unit_cost"]) and "产出数量为 0" in e["problem"]
    f = rows.loc["R-F"]
    assert math.isnan(f["unit_cost"]) and "计量单位「公里」" in f["problem"] and "平方米" in f["problem"]
    assert not bool(e["is_peer"]) and not bool(f["is_peer"])
    assert any("多个计量单位" in m for m in cost_text.note_texts(road))
    assert any("道路保洁R-E（产出数量为 0" in m for m in cost_text.note_texts(road))


def test_several_outputs_in_one_project_year():
    projects = pd.DataFrame([dict(project_id=p, year=2023, project_name=p, dept_name="d", project_type="T")
                             for p in ("X", "Y")])
    costs = pd.DataFrame([dict(project_id="X", year=2023, cost_element="人员经费", amount=900.0),
                          dict(project_id="Y", year=2023, cost_element="人员经费", amount=900.0)])
    outputs = pd.DataFrame([
        dict(project_id="X", year=2023, output_name="东片", unit="平方米", quantity=100.0, quality_score=90.0),
        dict(project_id="X", year=2023, output_name="西片", unit="平方米", quantity=200.0, quality_score=60.0),
        dict(project_id="Y", year=2023, output_name="面积", unit="平方米", quantity=100.0, quality_score=None),
        dict(project_id="Y", year=2023, output_name="长度", unit="公里", quantity=3.0, quality_score=None),
    ])
    rows = cost.project_year_table(projects, costs, outputs, "T", [2023]).set_index("project_id")
    # X: 900 / (100 + 200) = 3; quality (90×100 + 60×200) / 300 = 70
    assert rows.loc["X", "unit_cost"] == pytest.approx(3.0)
    assert rows.loc["X", "quality_score"] == pytest.approx(70.0)
    assert math.isnan(rows.loc["Y", "unit_cost"]) and "多个计量单位" in rows.loc["Y", "problem"]
    assert rows.loc["X", "output_name"] == "东片、西片" and rows.loc["X", "unit"] == "平方米"
    assert rows.loc["Y", "output_name"] == "长度、面积"  # code-point order, as sorted() gives
    assert rows.loc["Y", "unit"] == "公里、平方米"


def test_output_names_and_units_joined_per_project_year_as_a_join_per_group_would(rules):
    """Random outputs (names and units repeated, missing, in any order, several years): each
    project-year's names and units equal the distinct values sorted and joined one group at a time."""
    import numpy as np

    rng = np.random.default_rng(3)
    names, units = ["保洁面积", "保洁长度", "清运量", "Area", "area", "面积 "], ["平方米", "公里", "吨", None]
    rows = [dict(project_id=f"P{rng.integers(12)}", year=int(rng.choice([2022, 2023])),
                 output_name=str(rng.choice(names)), unit=units[rng.integers(len(units))],
                 quantity=float(rng.integers(1, 50)), quality_score=None) for _ in range(80)]
    outputs = pd.DataFrame(rows).astype({"project_id": "str", "output_name": "str", "unit": "str"})
    projects = pd.DataFrame([dict(project_id=f"P{i}", year=y, project_name=f"P{i}", dept_name="d", project_type="T")
                             for i in range(13) for y in (2022, 2023)])  # P12: no outputs
    costs = pd.DataFrame(columns=["project_id", "year", "cost_element", "amount"])
    got = cost.project_year_table(projects, costs, outputs, "T", [2022, 2023]).set_index(["project_id", "year"])
    for (pid, year), g in outputs.groupby(["project_id", "year"]):
        assert got.loc[(pid, year), "output_name"] == "、".join(sorted(map(str, g["output_name"].unique())))
        assert got.loc[(pid, year), "unit"] == "、".join(sorted(map(str, g["unit"].dropna().unique())))
    without = got[~got.index.isin(list(outputs.groupby(["project_id", "year"]).groups))]
    assert len(without) and without["output_name"].isna().all() and without["unit"].isna().all()


def test_type_facts(road):
    f = cost.type_facts(road)
    # 2023 with outputs: R-A, R-B, R-C, R-D, R-E (zero quantity), R-F (other unit) = 6; R-G has none
    assert f["cost.projects"] == 6
    # valid 2023 unit costs 12, 20, 10, 100 → median (12 + 20) / 2
    assert f["cost.unit_cost_median"] == pytest.approx(16.0)
    assert f["cost.standard"] == pytest.approx(12.0)
    assert f["cost.savings"] == pytest.approx(12_800)
    assert f["cost.outliers"] == 1
    assert f["cost.actual_cut"] is None  # not given: the analysis alone does not know next year


def test_cost_facts_via_store_and_unknown_type(store, rules):
    f = cost.cost_facts(store, 2023, ROAD, rules)
    assert f["cost.savings"] == pytest.approx(12_800)
    # actual cut by hand (2023 年初预算 = quantity × unit cost × 1.25):
    # R-A 15,000 − 14,000 (下年预算 row, preferred over the 2024 project row) = 1,000
    # R-B 12,500 − 13,000 (2024 project row) = −500 → 0; R-C 25,000 − 20,000 = 5,000
    # R-D, R-E, R-F: no 2024 budget → left out
    assert f["cost.actual_cut"] == pytest.approx(6_000)
    assert f["cost.actual_cut"] != pytest.approx(f["cost.savings"])
    with pytest.raises(ParameterError, match="没有项目类型「不存在」.*道路保洁"):
        cost.cost_facts(store, 2023, "不存在", rules)


def test_overview_facts(store, rules):
    # 物业管理 2023: 5, 6, 7, 8, 30, 7 (classified) → median 7; savings (8−7)×100 + (30−7)×100 = 2,400
    # 公务接待 has 3 peers < 5 → no standard, not summed
    f = cost.cost_overview_facts(store, 2023, rules)
    # actual cut over the same two types: 道路保洁 6,000 + 物业管理 P-1 100,000 − 90,000 = 10,000;
    # 公务接待's G-1 cut (no standard) and the new project NEW-1 are not in the scope
    assert f == {"cost.standards": 2, "cost.savings_total": pytest.approx(12_800 + 2_400),
                 "cost.actual_cut_total": pytest.approx(16_000)}


def test_quality_adjusted_standard(road):
    # peer qualities 80, 90, 84, 95, 60, 88, 92, 70, 75 → median 84; peers with quality ≥ 84:
    # 14 (90), 11 (84), 13 (95), 12 (88), 20 (92) → median 13
    assert road.quality_median == pytest.approx(84)
    assert road.quality_standard == pytest.approx(13.0)


def test_sensitivity_table(road):
    t = cost.sensitivity_table(road, [0.25, 0.75]).set_index("percentile")
    assert list(t.index) == [0.25, 0.5, 0.75]
    # 0.75: position 6 → 14; savings (20−14)×500 + (100−14)×100 = 3000 + 8600
    assert t.loc[0.75, "standard"] == pytest.approx(14.0)
    assert t.loc[0.75, "savings"] == pytest.approx(11_600)
    assert t.loc[0.75, "above"] == 2
    assert t.loc[0.5, "savings"] == pytest.approx(12_800)
    assert bool(t.loc[0.5, "is_rule"])


def test_cost_structure(store, rules):
    data = cost.load_cost_data(store, 2023, rules)
    per, overall = cost.cost_structure(data, ROAD)
    o = overall[overall["year"] == 2023].set_index("element")["share"]
    # 2023 totals: 人员 0.6 × (12000 + 10000 + 20000) + 5000 + 3000 + 9999 = 43,199;
    # 商品 0.4 × 42000 = 16,800; 设备 10,000 → 69,999
    assert o["人员经费"] == pytest.approx(43_199 / 69_999)
    assert o["设备购置/折旧"] == pytest.approx(10_000 / 69_999)
    p = per[(per["project_id"] == "R-A") & (per["year"] == 2023)].set_index("element")["share"]
    assert p["人员经费"] == pytest.approx(0.6)


def test_regression_recovers_fixed_and_variable():
    rows = pd.DataFrame({"quantity": [100.0, 200.0, 300.0, 400.0], "is_peer": True,
                         "total_cost": [5000 + 3 * q for q in (100.0, 200.0, 300.0, 400.0)]})
    a = cost.TypeAnalysis("T", 2023, [2023], "平方米", rows, 1.0, float("nan"), float("nan"), 0.5, 5)
    reg = cost.cost_regression(a)
    assert reg.fixed == pytest.approx(5000) and reg.variable == pytest.approx(3)
    assert reg.r_squared == pytest.approx(1.0)
    text = cost_text.regression_text(reg)
    assert "固定部分约 0.5 万元" in text and "3.00 元" in text
    short = cost.cost_regression(cost.TypeAnalysis("T", 2023, [2023], "m", rows.head(2), 1.0, 0, 0, .5, 5))
    assert "无法" in cost_text.regression_text(short)


def test_cost_effectiveness(road):
    ce = cost.cost_effectiveness(road).set_index("project_id")
    # 2023 peers (unit cost, quality): A (12, 88), B (20, 92), C (10, 70), D (100, 75)
    # D is dominated by A (cheaper and better); A, B, C are not dominated
    assert ce["efficient"].to_dict() == {"R-A": True, "R-B": True, "R-C": True, "R-D": False}
    # C: unit cost 10 < standard 12 and quality 70 < median quality 84 → cheap and low quality
    assert ce["cheap_low_quality"].to_dict() == {"R-A": False, "R-B": False, "R-C": True, "R-D": False}


def test_savings_vs_budget(store, rules):
    data = cost.load_cost_data(store, 2023, rules)
    a = cost.analyse_type(data, ROAD, rules)
    t = cost.savings_vs_budget(a, data).set_index("project_id")
    # R-A: 2023 budget 12,000 × 1.25 = 15,000; 下年预算 14,000 (the 2024 project row says 13,000)
    assert t.loc["R-A", "next_budget"] == pytest.approx(14_000)
    assert t.loc["R-A", "next_source"] == "next_budgets"
    assert t.loc["R-A", "actual_cut"] == pytest.approx(1_000)
    # R-B: 10,000 × 1.25 = 12,500 → 13,000 (project row) → change −500, actual cut 0; saving 4,000
    assert t.loc["R-B", "next_source"] == "projects"
    assert t.loc["R-B", "budget_change"] == pytest.approx(-500)
    assert t.loc["R-B", "actual_cut"] == 0
    assert t.loc["R-B", "cut_minus_saving"] == pytest.approx(-4_000)
    assert t.loc["R-C", "actual_cut"] == pytest.approx(5_000)
    assert math.isnan(t.loc["R-D", "next_budget"]) and math.isnan(t.loc["R-D", "actual_cut"])
    assert cost.actual_cut(t) == pytest.approx(6_000)
    assert cost.actual_cut(t[t["next_budget"].isna()]) is None


def test_export_without_next_budgets(rules):
    """Neither the 下年预算 table nor next-year project rows: no actual cut, and the words say which
    data are needed; a database made before the table existed (table absent) reads the same."""
    frames = {k: v for k, v in _frames().items() if k != "next_budgets"}
    frames["projects"] = frames["projects"][frames["projects"]["year"] < 2024]
    for drop in (False, True):
        s = Store.from_frames(frames)
        if drop:
            s.con.execute("DROP TABLE next_budgets")
        assert s.table("next_budgets").empty
        f = cost.cost_facts(s, 2023, ROAD, rules)
        assert f["cost.actual_cut"] is None and f["cost.savings"] == pytest.approx(12_800)
        assert cost.cost_overview_facts(s, 2023, rules)["cost.actual_cut_total"] is None
        data = cost.load_cost_data(s, 2023, rules)
        text = cost_text.budget_cut_text(cost.savings_vs_budget(cost.analyse_type(data, ROAD, rules), data), 2023)
        assert "测算可压减 1.28 万元" in text and "需要「下年预算」表" in text and "实际压减 " not in text
        sec_text, facts, _ = cost_text.overview_section(s, 2023, rules)
        assert "测算可压减相关项目预算资金2万元（测算数）" in sec_text and "需要「下年预算」表" in sec_text
        assert "共压减" not in sec_text
        s.close()


def test_closed_loop(store, road):
    loop = cost.closed_loop(store, road).set_index("project_id")
    assert loop.loc["R-A", list(cost.LOOP_STEPS)].all() and loop.loc["R-A", "missing"] == "—"
    b = loop.loc["R-B"]
    assert bool(b["入库分析"]) and bool(b["编制细化"]) and bool(b["审核核定"])
    assert not b["执行控制"] and not b["完成评价"]
    assert b["missing"] == "当年支付记录、当年度绩效自评"
    assert not loop.loc["R-E", "入库分析"]  # zero quantity: no unit cost at entry
    assert not loop.loc["R-G", "入库分析"] and bool(loop.loc["R-G", "编制细化"])
    h = loop.loc["R-H"]
    assert not h[list(cost.LOOP_STEPS)].any() and h["steps"] == 0
    assert h["missing"].count("、") == 4


def test_classified_project_is_redacted(store, rules):
    a = cost.analyse_type(cost.load_cost_data(store, 2023, rules), PROP, rules)
    text = a.rows.to_csv()
    assert SECRET_NAME not in text and "P-SECRET" not in text
    assert a.rows["project_id"].str.startswith("涉密项目-").sum() == 1


# ---------------------------------------------------------------------------------------------
# properties
finite = st.floats(min_value=0.01, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(finite, min_size=1, max_size=30), st.floats(0.1, 100), st.floats(-1e3, 1e3))
@example([0.010000000000000002, 0.01], 1.0, 1.0)  # collapses when shifted: left out by the assumption
@example([0.01, 0.02, 0.02, 1e6], 3.5, -999.0)
def test_robust_z_is_finite_and_affine_invariant(values, scale, shift):
    # invariance holds in exact arithmetic; in floating point, v × scale + shift is rounded to the
    # magnitude of the result, so values closer together than that collapse (0.010000000000000002
    # and 0.01 both become 1.01): only cases whose differences stay far above the rounding count
    gaps = [abs(a - b) for a in values for b in values if a != b]
    assume(not gaps or min(gaps) * scale > 1e-6 * (abs(shift) + scale * max(values)))
    z = cost.robust_z(values, 0.6745, 1.253314)
    assert np.isfinite(z).all()
    z2 = cost.robust_z([v * scale + shift for v in values], 0.6745, 1.253314)
    assert np.allclose(z, z2, atol=1e-6 * max(1.0, float(np.abs(z).max())))


def test_robust_z_when_mad_is_zero():
    # 1, 1, 1, 1, 5: median 1, MAD 0 → mean absolute deviation 4/5 = 0.8; z(5) = 4 / (1.253314 × 0.8)
    z = cost.robust_z([1, 1, 1, 1, 5], 0.6745, 1.253314)
    assert z.iloc[4] == pytest.approx(4 / (1.253314 * 0.8))
    assert (cost.robust_z([7, 7, 7], 0.6745, 1.253314) == 0).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(finite, st.floats(0, 100)), min_size=1, max_size=25))
def test_frontier_points_are_undominated_and_cover_the_rest(points):
    df = pd.DataFrame(points, columns=["unit_cost", "quality_score"])
    eff = cost.efficient_frontier(df)
    assert eff.any()

    def dominates(a, b):
        return a[0] <= b[0] and a[1] >= b[1] and (a[0] < b[0] or a[1] > b[1])

    pts = list(df.itertuples(index=False, name=None))
    for i, p in enumerate(pts):
        dominated = any(dominates(q, p) for q in pts)
        assert bool(eff.iloc[i]) == (not dominated)


def test_plots_render_with_chinese_glyphs(store, rules):
    import matplotlib.pyplot as plt

    from perflib.present.charts import base, cost as plots

    data = cost.load_cost_data(store, 2023, rules)
    a = cost.analyse_type(data, ROAD, rules)
    per, overall = cost.cost_structure(data, ROAD)
    reg = cost.cost_regression(a)
    figs = [
        plots.plot_cost_structure(per, overall, 2023),
        plots.plot_unit_cost_distribution(a.rows, a.standard, a.unit),
        plots.plot_cost_regression(a.peers, reg.fixed, reg.variable, a.unit),
        plots.plot_cost_effectiveness(cost.cost_effectiveness(a), a.standard, a.quality_median, a.unit),
        plots.plot_savings_vs_cut(cost.savings_vs_budget(a, data)),
    ]
    for fig in figs:
        assert base.check_glyphs(fig) == []
        assert fig.axes
        plt.close(fig)
    # the standard line is drawn at 12 元/平方米
    fig = plots.plot_unit_cost_distribution(a.rows, a.standard, a.unit)
    lines = [ln for ln in fig.axes[0].get_lines() if "支出标准" in str(ln.get_label())]
    assert len(lines) == 1 and list(lines[0].get_ydata()) == [12.0, 12.0]
    plt.close(fig)


def test_summary_and_texts(store, road, rules):
    text = cost_text.summary_text(road)
    assert "有产出数据的项目 6 个" in text and "「平方米」" in text
    assert "中位数（第 50 百分位）" in text and "12.00 元/平方米" in text
    # 2023 above the standard: R-B and R-D → 2; 12,800 元 = 1.28 万元
    assert "有 2 个项目高于标准" in text and "1.28 万元" in text
    assert "异常的项目 1 个：道路保洁R-D" in text
    data = cost.load_cost_data(store, 2023, rules)
    rec = cost.analyse_type(data, RECEPTION, rules)
    assert "暂不制定支出标准" in cost_text.summary_text(rec)
    t = cost_text.budget_cut_text(cost.savings_vs_budget(road, data), 2023)
    # R-A cut 1,000, R-B raised (not counted), R-C cut 5,000 → 0.60 万元; the estimate 1.28 万元
    assert "测算可压减 1.28 万元（测算数）" in t
    assert "6 个项目中 3 个有 2024 年预算，实际压减 0.60 万元" in t
    assert "1 个项目 2024 年预算高于 2023 年，不计入实际压减" in t and "另有 3 个项目没有 2024 年预算" in t
    q = cost.quartiles(road).set_index("period")
    assert q.loc["2021—2023", "median"] == pytest.approx(12.0) and q.loc["2021—2023", "peers"] == 9
    assert q.loc["2023", "median"] == pytest.approx(16.0)
    assert "没有“低价低质”" not in cost_text.effectiveness_text(cost.cost_effectiveness(road))
    et = cost_text.effectiveness_text(cost.cost_effectiveness(road))
    # frontier A, B, C; C is cheap and low quality → benchmarks A, B only
    assert "项目 3 个" in et and "可作为标杆（不属于低价低质）的：道路保洁R-A、道路保洁R-B" in et
    assert "质量得分低于中位数的项目：道路保洁R-C" in et
    loop = cost.closed_loop(store, road)
    assert "五个环节证据齐全的 1 个" in cost_text.loop_text(loop)


def test_overview_section_7(store, rules):
    from perflib.present.text import overview

    sec = overview.section_7(store, 2023, rules)
    assert sec.facts == {"cost.standards": 2, "cost.savings_total": pytest.approx(15_200),
                         "cost.actual_cut_total": pytest.approx(16_000)}
    # 15,200 元 → 「2 万元」 (rounded to 万元 as the seed writes 727 万元): an estimate, said so
    assert "支出标准2个" in sec.text and "测算可压减相关项目预算资金2万元（测算数）" in sec.text
    assert "共压减" not in sec.text
    assert "按2024年年初预算，这些项目实际压减2万元" in sec.text
    assert "公务接待的可比项目年度不足 5 个" in sec.text
    t = sec.tables[0].frame.set_index("project_type")
    assert math.isnan(t.loc[RECEPTION, "standard"])
    assert t.loc[ROAD, "savings"] == pytest.approx(12_800)


def test_structure_and_standard_tables(store, rules, road):
    per, _ = cost.cost_structure(cost.load_cost_data(store, 2023, rules), ROAD)
    t = cost.structure_by_project(per).set_index(["project_id", "year"])
    assert t.loc[("R-D", 2023), "share:设备购置/折旧"] == pytest.approx(1.0)
    assert t.loc[("R-A", 2021), "share:人员经费"] == pytest.approx(0.6)
    assert t.loc[("R-A", 2021), "total_cost"] == pytest.approx(10_000)
    shown = Report.prepare_table(cost.structure_by_project(per), "cost")
    assert list(shown.columns)[:4] == ["项目编码", "项目名称", "年度", "总成本（元）"]
    assert "设备购置/折旧占比" in shown.columns and shown.attrs["perflib_kinds"]["人员经费占比"] == "rate"
    s = cost.standard_table(road)
    assert list(s["standard"]) == pytest.approx([12.0, 13.0])
    assert list(s["peers"]) == [9, 5]
    shown = Report.prepare_table(cost_text.standard_table(road), "cost.standard")
    assert list(shown.columns) == ["口径", "样本数", "支出标准（元）", "计量单位"]


def test_missing_project_type_parameter(store):
    with pytest.raises(ParameterError, match="请指定项目类型参数 project_type"):
        cost.check_project_type(store, 2023, None)


def test_labels_disambiguate_shared_names():
    df = pd.DataFrame({"project_id": ["A", "B", "C", "涉密项目-01", "涉密项目-02"],
                       "project_name": ["公务接待费", "公务接待费", "物业费", "涉密项目", "涉密项目"],
                       "dept_name": ["区教体局", "区卫健局", "区教体局", "区财政局", "区财政局"]})
    assert list(cost.with_labels(df)["label"]) == ["公务接待费（区教体局）", "公务接待费（区卫健局）", "物业费",
                                                   "涉密项目", "涉密项目"]


def test_reception_wording_cites_the_caps_and_never_argues_against_cutting(store, road, rules):
    """公务接待 is capped by 中央八项规定 / 中办发〔2013〕22号 / 过紧日子 (rules cost.capped_types): the
    report cites them; a cheap-and-low-quality project is no reason not to cut, for any type."""
    policy = rules.value("cost.capped_types")[RECEPTION]
    assert "中办发〔2013〕22号" in policy and "八项规定" in policy and "过紧日子" in policy
    assert "中办发〔2013〕22号" in rules.entry("cost.capped_types").source
    data = cost.load_cost_data(store, 2023, rules)
    rec = cost.analyse_type(data, RECEPTION, rules)
    text = cost_text.effectiveness_text(cost.cost_effectiveness(rec), policy)
    assert policy in text and "不能替代规定的开支上限" in text and "超出上限的部分都应压减" in text
    road_text = cost_text.effectiveness_text(cost.cost_effectiveness(road))
    for t in (text, road_text):
        assert "不宜作为压减依据" not in t and "以服务质量为代价" not in t
    assert "不影响对高于标准部分的压减" in road_text and "开支上限" not in road_text


def test_all_types_are_analysed_once_per_store_and_handed_out_as_copies(demo_db, monkeypatch):
    """The overview's sections (四 signals, 六 application, 七 cost) ask for every type's analysis:
    made once per store, year and rules; a caller changing its copy changes nothing for the next."""
    from perflib.analysis import cost as cost_analysis
    from perflib.rules import load_rules
    from perflib.store import Store

    from conftest import count_calls

    original, load = cost_analysis.analyse_types, cost_analysis.load_cost_data
    calls = count_calls(monkeypatch, cost_analysis, "analyse_types")
    loads = count_calls(monkeypatch, cost_analysis, "load_cost_data")
    rules = load_rules()
    with Store(demo_db) as s:
        first = cost_analysis.analyse_all_types(s, 2023, rules)
        assert first and len(calls) == 1 and len(loads) == 1
        t = next(iter(first))
        expected = first[t].rows.copy()
        first[t].rows.loc[:, "saving"] = -1.0
        first[t].notes.append(("changed", {}))
        again = cost_analysis.analyse_all_types(s, 2023, rules)
        assert len(calls) == 1
        pd.testing.assert_frame_equal(again[t].rows, expected)
        assert ("changed", {}) not in again[t].notes
        facts = cost_analysis.cost_overview_facts(s, 2023, rules)
        assert len(calls) == 1 and len(loads) == 1  # the data is not read again either
        assert facts == cost_analysis.types_overview_facts(
            original(load(s, 2023, rules), s.project_types(2023), rules),
            cost_analysis.type_cuts(again, load(s, 2023, rules)))
        cost_analysis.analyse_all_types(s, 2022, rules)
        assert len(calls) == 2
