"""Chinese sentences of the classification drill-downs (monitoring), the PI-2.2 data source (fiscal)
and the ex-ante assessment section (targets): what the figures show, and which data a section needs."""
from __future__ import annotations

import pandas as pd

from ..formats import money_words, pct
from ...schema import CLASSIFICATION_SOURCE

NEEDS_FUNC = ("数据中没有功能分类：本节需要项目表的「功能分类」列（支出功能分类科目编码，类·款·项 7 位，如 2050201）。"
              "导入含该列的项目表后即按功能分类汇总预算执行。")
NEEDS_ECON = ("数据中没有经济分类：本节需要支出明细表的「经济分类」列（部门预算支出经济分类科目编码，如 30201）。"
              "导入含该列的支出明细后即按经济分类汇总支出。")
NEEDS_EX_ANTE = ("数据中没有事前评估：本节需要「事前评估」表（项目编码、年度、评估日期、评估结论 支持/调整后支持/不支持、"
                 "建议安排数、评估机构，见 docs/input-format.md）。导入该表后即列出未开展事前评估的新增项目，"
                 "并比较评估结论与预算安排。")


def function_text(by_class: pd.DataFrame, uncoded_label: str = "未填") -> str:
    """The function drill-down's lead: classes, the largest by budget, the slowest, any uncoded share."""
    coded = by_class[by_class["func_class"] != uncoded_label]
    parts = [f"按支出功能分类（{CLASSIFICATION_SOURCE}）汇总，监控项目分属 {len(coded)} 个类"]
    if len(coded):
        top = coded.sort_values("budget", ascending=False).iloc[0]
        parts.append(f"预算最多的是{top['func_class_name']}（{money_words(float(top['budget']))}，"
                     f"执行率 {pct(top['execution_rate'])}）")
        slow = coded[coded["budget"] > 0].sort_values("execution_rate").iloc[0]
        parts.append(f"执行率最低的是{slow['func_class_name']}（{pct(slow['execution_rate'])}）")
    un = by_class[by_class["func_class"] == uncoded_label]
    if len(un):
        parts.append(f"未填功能分类的项目 {int(un['projects'].sum())} 个（预算 {money_words(float(un['budget'].sum()))}），"
                     "单列为「未填分类」")
    return "，".join(parts) + "。各类、款合计与本报告的预算数、支出数一致。"


def econ_text(by_class: pd.DataFrame, uncoded_label: str = "未填") -> str:
    """The economic drill-down's lead: the largest class's share and any uncoded share."""
    coded = by_class[by_class["econ_class"] != uncoded_label]
    text = f"按部门预算支出经济分类（{CLASSIFICATION_SOURCE}）汇总截至监控月末的支出"
    if len(coded):
        top = coded.sort_values("spent", ascending=False).iloc[0]
        text += f"，{top['econ_class_name']}最多（{money_words(float(top['spent']))}，占 {pct(top['share'])}）"
    un = by_class[by_class["econ_class"] == uncoded_label]
    if len(un):
        text += f"；未填经济分类的支出 {money_words(float(un['spent'].sum()))}（占 {pct(float(un['share'].sum()))}），单列"
    return text + "。合计与本报告的支出数一致。"


def pi22_source_text(source: str, coded_share: float) -> str:
    """Where PI-2.2's figures come from (街道财政表, or the projects' and payments' 经济分类 codes)."""
    if source == "street_fiscal":
        return "PI-2.2 按街道财政表中的经济分类预算数和决算数计算。"
    if source == "payments":
        share = "" if pd.isna(coded_share) else f"（评价年度已填经济分类的支出占 {pct(coded_share)}，未填的不计入）"
        return ("街道财政表没有本街道按经济分类的预算数和决算数，PI-2.2 改用本街道（含下属单位）非涉密项目的"
                f"年初预算数（按项目表「经济分类」的类）与支出明细（按「经济分类」的类）计算{share}；"
                "只含项目支出，不含基本支出。")
    return ("数据中没有按经济分类的预算数和决算数，PI-2.2 不适用：需要街道财政表的「经济分类预算数:」「经济分类决算数:」行，"
            "或项目表和支出明细表的「经济分类」列。")


def ex_ante_text(r, facts: dict, scope: str, rules_threshold: float) -> str:
    """The ex-ante section's lead (``r``: :class:`perflib.analysis.ex_ante.ExAnteReview`)."""
    if not r.has_table:
        return NEEDS_EX_ANTE
    if not r.basis:
        return (f"数据中没有 {r.year} 年以前的项目，也没有下年预算表的 新增/延续 标记，无法判断哪些项目是新增项目；"
                "下面只比较已有的评估结论与预算安排。")
    basis = {"next_budgets": "下年预算表的 新增/延续 标记", "history": "项目编码是否见于以前年度的项目表",
             "mixed": "下年预算表的 新增/延续 标记（未标记的按项目编码是否见于以前年度的项目表）"}[r.basis]
    n, miss, mis = facts["ex_ante.new_projects"], facts["ex_ante.missing"], facts["ex_ante.mismatch"]
    a = r.assessments
    amount = float(r.missing["budget_amount"].sum()) if len(r.missing) else 0.0
    text = (f"按{basis}判断新增项目，{scope}{r.year} 年年初预算数不低于 {money_words(rules_threshold)} 的新增项目 {n} 个，"
            f"其中没有事前评估结论的 {miss} 个（年初预算 {money_words(amount)}）。事前评估表中 {r.year} 年度的评估 "
            f"{len(a)} 项，预算安排与评估结论不符的 {mis} 项")
    if mis:
        parts = [f"{k} {int((a['check'] == k).sum())} 项" for k in ("不支持仍安排", "超过建议安排数")
                 if int((a["check"] == k).sum())]
        text += "（" + "、".join(parts) + f"，超出金额合计 {money_words(float(a['excess'].sum()))}）"
    return text + "。"
