"""整改台账 of the demo: problems found in 2023 (and three in 2022), calibrated so that the 整改跟踪
report shows every section: done on time and late, open and overdue at the ledger's export date
(:data:`LEDGER_AS_OF`, set as the file's modification date), and one 2022 problem whose project has
a 2023 key evaluation with 主要问题 (a recurrence). Drawn from a stream of its own (``seed``, 17) so
that no other demo table changes.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .calibration import YEAR

LEDGER_AS_OF = dt.date(YEAR + 1, 6, 30)  # the day the departments' statuses were reported
SOURCES = ("重点评价", "重点监控", "自评复核", "审计", "其他")
FINDINGS = {
    "重点评价": "绩效目标设置不够细化量化", "重点监控": "预算执行进度滞后于时间进度",
    "自评复核": "自评得分高于复核得分，自评不够客观", "审计": "资金管理使用不够规范", "其他": "绩效信息公开不及时",
}
MEASURES = {"已整改": "已修订制度并落实", "整改中": "正在制定整改方案", "未整改": None}


def _day(start: dt.date, rng: np.random.Generator, span: int) -> dt.date:
    return start + dt.timedelta(days=int(rng.integers(0, span)))


def draw_rectifications(seed: int, projects: pd.DataFrame, keyevals: pd.DataFrame) -> pd.DataFrame:
    """Long: the ledger rows (canonical columns, dates as ``datetime.date``).

    2023: 30 problems on non-classified 2023 projects (the key-evaluated ones under 重点评价) and two
    department-level ones; statuses in turn 已整改 (half of them after the deadline), 整改中, 未整改;
    deadlines from 2024-01-15 to 2024-09-30, so open items with a deadline before
    :data:`LEDGER_AS_OF` are overdue and the others not. 2022: three problems, all done, the first
    on a 2023 key-evaluated project (recurrence)."""
    rng = np.random.default_rng([int(seed), 17])
    p = projects[(projects["year"] == YEAR) & ~projects["is_classified"].astype(bool)].sort_values("project_id")
    keyed = sorted(set(keyevals["project_id"]) & set(p["project_id"]))
    others = p[~p["project_id"].isin(keyed)]
    picks = list(rng.choice(len(others), 26, replace=False))
    rows = []
    plan = [("重点评价", pid) for pid in keyed[:4]] + [
        (SOURCES[1 + k % 4], others["project_id"].iat[i]) for k, i in enumerate(picks)]
    dept_of = dict(zip(p["project_id"], p["dept_code"]))
    statuses = ("已整改", "整改中", "未整改")
    for k, (source, pid) in enumerate(plan):
        status = statuses[k % 3]
        deadline = _day(dt.date(YEAR + 1, 1, 15), rng, 259)
        done = None
        if status == "已整改":
            late = (k // 3) % 2 == 1
            done = deadline + dt.timedelta(days=int(rng.integers(1, 40))) if late else \
                deadline - dt.timedelta(days=int(rng.integers(0, 60)))
            done = min(done, LEDGER_AS_OF)
        rows.append(dict(problem_id=f"DEMO-{YEAR}-{k + 1:03d}", source=source, project_id=pid,
                         dept_code=dept_of[pid], year=YEAR, finding=FINDINGS[source],
                         measure=MEASURES[status], deadline=deadline, status=status, date_done=done,
                         evidence="整改报告" if done else None,
                         budget_consequence="下年度预算压减 10%" if source == "重点评价" else None))
    for k, dept in enumerate(sorted(set(p["dept_code"]))[:2]):
        rows.append(dict(problem_id=f"DEMO-{YEAR}-D{k + 1:02d}", source="其他", project_id=None, dept_code=dept,
                         year=YEAR, finding="部门整体绩效目标未公开", measure=None,
                         deadline=dt.date(YEAR + 1, 3, 31), status="未整改", date_done=None, evidence=None,
                         budget_consequence=None))
    prev = [keyed[-1], *others["project_id"].iloc[:2]]
    for k, pid in enumerate(prev):
        rows.append(dict(problem_id=f"DEMO-{YEAR - 1}-{k + 1:03d}", source="重点评价" if k == 0 else "审计",
                         project_id=pid, dept_code=dept_of[pid], year=YEAR - 1, finding=FINDINGS["重点评价" if k == 0 else "审计"],
                         measure="已修订制度并落实", deadline=dt.date(YEAR, 6, 30), status="已整改",
                         date_done=dt.date(YEAR, 5, 31), evidence="整改报告", budget_consequence=None))
    return pd.DataFrame(rows)
