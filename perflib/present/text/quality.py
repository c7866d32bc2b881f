"""The data-quality report's sentences and the one line every other report shows under its title
when its data have findings (:mod:`perflib.analysis.quality`)."""
from __future__ import annotations

import pandas as pd

from ...schema import FINDING_KINDS, TABLES
from ..formats import name_list

QUALITY_PAGE = "quality.html"  # the data-quality report of a year, beside the others of that year
REPORT_NAME = "数据质量报告"


def kind_label(kind: str) -> str:
    return FINDING_KINDS[kind].label if kind in FINDING_KINDS else str(kind)


def table_label(table: str) -> str:
    return TABLES[table].label if table in TABLES else str(table)


def scope_text(year: int, scope: pd.DataFrame) -> str:
    """Which data the report covers: every table's rows of ``year``, the self-evaluations' of the
    fiscal year before, rows without a year (departments, whole files) in every year."""
    prev = [table_label(t) for t, y in zip(scope["table_name"], scope["year"]) if int(y) != int(year)]
    shifted = f"；{'、'.join(prev)}为 {int(year) - 1} 年度的数据（{int(year)} 年开展的绩效自评评价上一年度）" if prev else ""
    return (f"本报告列出 {int(year)} 年各报告所用数据中的数据质量提示：各表 {int(year)} 年度的数据{shifted}；"
            "不分年度的数据（部门信息、整个文件缺少的可选列）每年都列出。提示不阻止导入，也不改变任何金额；"
            "它们指出需要补充或核实的内容，由导出数据的部门对照文件、工作表、行号和列修改。")


def summary_text(facts: dict, by_dept: pd.DataFrame, scope: str = "全区") -> str:
    """The headline paragraph: how many findings, of how many departments and projects, the commonest
    kinds and the departments with the most. States nothing the facts and table do not show."""
    total = int(facts["quality.findings_total"])
    if total == 0:
        return f"{scope}本年度所用数据没有数据质量提示。"
    kinds = sorted(facts["quality.findings_by_kind"].items(), key=lambda kv: -kv[1])
    top = "，".join(f"{kind_label(k)} {n} 处" for k, n in kinds[:3])
    more = f"等 {len(kinds)} 类" if len(kinds) > 3 else f"共 {len(kinds)} 类"
    text = (f"{scope}本年度所用数据有数据质量提示 {total} 处，涉及一级预算部门 "
            f"{facts['quality.findings_departments']} 家、项目 {facts['quality.findings_projects']} 个；"
            f"按类别：{top}，{more}。")
    named = by_dept[by_dept["level1_code"].notna()]
    if len(named) > 1:
        first = named.head(3)
        text += (f"提示较多的部门是{name_list(first['level1_name'], limit=None)}"
                 f"（分别 {'、'.join(str(int(n)) for n in first['findings'])} 处）。")
    unassigned = by_dept.loc[by_dept["level1_code"].isna(), "findings"]
    if len(unassigned) and int(unassigned.sum()):
        text += f"另有 {int(unassigned.sum())} 处涉及整个文件，不属于某一部门。"
    return text


def header_line(n: int) -> str:
    """The line under a report's title when its data have ``n`` findings (plain text)."""
    return f"本报告所用数据有 {int(n)} 处数据质量提示，见{REPORT_NAME}"


def scope_name(store, dept: str | None) -> str:
    """全区, or the level-1 department's name."""
    if dept is None:
        return "全区"
    d = store.departments()
    hit = d.loc[d["dept_code"] == dept, "dept_name"]
    return str(hit.iloc[0]) if len(hit) else str(dept)
