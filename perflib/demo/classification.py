"""功能分类 and 经济分类 codes of the demo's projects and payments, and its 事前评估 table.

Each is drawn from a stream of its own (``seed``, 18) and (``seed``, 181) after every other table,
so that no earlier table, and no figure computed from one, changes.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .calibration import FEN, YEAR

# 功能分类 项 codes by department sector (《2024年政府收支分类科目》); a project type overrides its sector.
SECTOR_FUNC = {
    "一般公共服务": ("2010301", "2010350"), "公共安全": ("2040201",), "街道": ("2010301", "2080208"),
    "教育": ("2050201", "2050202", "2050203"), "卫生健康": ("2100408",),
    "文化旅游": ("2070109", "2070205"), "农林水": ("2130314",), "社会保障": ("2081002",),
    "产业": ("2160299",), "商务": ("2160299",), "科技": ("2060101",), "住房城乡建设": ("2210103", "2120399"),
    "城市管理": ("2120104", "2120501"), "民政": ("2080208",), "自然资源": ("2200101",),
    "交通运输": ("2140101",), "生态环境": ("2110301",),
}
TYPE_FUNC = {"道路保洁": "2120501", "消防业务": "2240204", "文博场馆运行": "2070205"}
TYPE_ECON = {"公务接待": "30217", "物业管理": "30209", "道路保洁": "30227", "消防业务": "30213",
             "文博场馆运行": "30227"}
# 经济分类 款 codes a project's budget line may carry, with draw weights.
ECON_CODES = ("30201", "30206", "30211", "30213", "30226", "30227", "30299", "30102", "30305", "30399",
              "31002", "31005", "31006", "31299")
ECON_WEIGHTS = np.array([8, 3, 2, 6, 8, 20, 10, 4, 6, 5, 4, 12, 6, 3], float)
PAYMENT_OWN_CODE = 0.92     # share of payments booked to the project's own 经济分类
PAYMENT_BLANK = 0.01        # share of payments without 经济分类 (as real exports have some)


def draw_classification(seed: int, projects: pd.DataFrame, departments: pd.DataFrame,
                        payments: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(func_code, econ_code) for each project row (aligned with ``projects``) and econ_code for each
    payment row (aligned with ``payments``). A project keeps its codes across years."""
    rng = np.random.default_rng([int(seed), 18])
    first = projects.drop_duplicates("project_id").set_index("project_id")
    sector = first["dept_code"].map(dict(zip(departments["dept_code"], departments["sector"])))
    ids = sorted(first.index)
    func, econ = {}, {}
    p = ECON_WEIGHTS / ECON_WEIGHTS.sum()
    for pid in ids:
        ptype = first.at[pid, "project_type"]
        options = SECTOR_FUNC.get(sector[pid], ("2010301",))
        drawn = options[int(rng.integers(len(options)))]
        econ_drawn = ECON_CODES[int(rng.choice(len(ECON_CODES), p=p))]
        func[pid] = TYPE_FUNC.get(ptype, drawn) if isinstance(ptype, str) else drawn
        econ[pid] = TYPE_ECON.get(ptype, econ_drawn) if isinstance(ptype, str) else econ_drawn
    f = projects["project_id"].map(func)
    e = projects["project_id"].map(econ)
    own = payments["project_id"].map(econ).to_numpy(dtype=object)
    u = rng.random(len(payments))
    other = np.asarray(ECON_CODES, dtype=object)[rng.choice(len(ECON_CODES), size=len(payments), p=p)]
    pay = np.where(u < PAYMENT_OWN_CODE, own, other).astype(object)
    pay[u > 1 - PAYMENT_BLANK] = None
    return f, e, pd.Series(pay, index=payments.index, dtype=object)


def draw_ex_ante(seed: int, projects: pd.DataFrame, threshold_fen: int = 5_000_000 * FEN) -> pd.DataFrame:
    """事前评估 of the demo year's new projects (no earlier year in the project table): most of those
    at or above ``threshold_fen`` assessed, a few not; a few below it assessed too; conclusions mostly
    支持, some 调整后支持 (mostly funded within the suggested amount, now and then above it), a few
    不支持 that were funded anyway and three 不支持 projects the budget left out. Money in fen."""
    rng = np.random.default_rng([int(seed), 181])
    earlier = set(projects.loc[projects["year"] < YEAR, "project_id"])
    cur = projects[(projects["year"] == YEAR) & ~projects["project_id"].isin(earlier)
                   & ~projects["is_classified"].astype(bool)].sort_values("project_id")
    big = cur["budget_amount_fen"] >= threshold_fen
    take = (big & (rng.random(len(cur)) < 0.8)) | (~big & (rng.random(len(cur)) < 0.1))
    rows = []
    for _, r in cur[take].iterrows():
        u = rng.random()
        funded = int(r["budget_amount_fen"])
        if u < 0.65:
            conclusion, suggested = "支持", funded
        elif u < 0.92:
            conclusion = "调整后支持"
            factor = rng.uniform(0.7, 0.95) if rng.random() < 0.25 else rng.uniform(1.0, 1.1)
            suggested = int(np.rint(funded * factor / (1000 * FEN))) * 1000 * FEN
        else:
            conclusion, suggested = "不支持", None
        day = dt.date(YEAR - 1, 8, 1) + dt.timedelta(days=int(rng.integers(0, 92)))
        rows.append(dict(project_id=r["project_id"], year=YEAR, assess_date=day, conclusion=conclusion,
                         suggested_amount_fen=suggested,
                         assessor=("区预算绩效评价中心" if rng.random() < 0.7 else "第三方评估机构")))
    for i in range(3):  # projects the assessment turned down and the budget left out (no project row)
        day = dt.date(YEAR - 1, 9, 1) + dt.timedelta(days=int(rng.integers(0, 60)))
        rows.append(dict(project_id=f"370112-{YEAR}-9{i + 1:03d}", year=YEAR, assess_date=day,
                         conclusion="不支持", suggested_amount_fen=None, assessor="第三方评估机构"))
    out = pd.DataFrame(rows, columns=["project_id", "year", "assess_date", "conclusion",
                                      "suggested_amount_fen", "assessor"])
    out["suggested_amount_fen"] = out["suggested_amount_fen"].astype("Int64")
    return out
