"""Data revisions in Chinese (issue 19): the 数据修订 note of a report and the table of
``perflib revisions``, from the frame of :meth:`perflib.store.Store.revisions` (figures in 元 or points)."""
from __future__ import annotations

import pandas as pd

from ..formats import DASH, score

TABLE_LABELS = {"payments": "支出明细", "projects": "项目", "self_evaluations": "绩效自评",
                "key_evaluations": "重点评价"}
SCORE_MEASURES = ("自评得分", "评价得分")
NOTE_LIMIT = 10  # revisions a report's note lists one by one; the rest are counted


def figure(value, measure: str) -> str:
    """A revised figure as written: money in 元 with 2 decimals, a score with 2 decimals and 分."""
    if value is None or pd.isna(value):
        return DASH
    return f"{score(value)} 分" if measure in SCORE_MEASURES else f"{float(value):,.2f} 元"


def difference(old, new, measure: str) -> str:
    """The signed difference new − old in the figure's unit."""
    if old is None or new is None or pd.isna(old) or pd.isna(new):
        return DASH
    diff = float(new) - float(old)
    sign = "+" if diff > 0 else "−" if diff < 0 else ""
    return sign + figure(abs(diff), measure)


def subject(r) -> str:
    """What was revised: 「2023-03 支付金额（全区）」 or 「项目 X 2023 年 年初预算数」."""
    if r.table_name == "payments":
        y, m = str(r.period).split("-")
        return f"{y} 年 {int(m)} 月支付金额（全区合计）"
    return f"{TABLE_LABELS.get(r.table_name, r.table_name)} {r.record_key} {r.period} 年{r.measure}"


def revision_line(r) -> str:
    """One revision as a sentence part: what, before → after (difference), which loads."""
    return (f"{subject(r)}由 {figure(r.old_total, r.measure)} 修订为 {figure(r.new_total, r.measure)}"
            f"（{difference(r.old_total, r.new_total, r.measure)}；第 {int(r.old_load_id)} 次导入 → "
            f"第 {int(r.new_load_id)} 次导入）")


def revision_note(revisions: pd.DataFrame, year: int, tables: tuple[str, ...] | None = None) -> str | None:
    """The 数据修订 note of a report for ``year`` (None when no revision touches it): each revision
    of the tables the report uses, with the figure before and after and the two loads."""
    df = revisions if tables is None else revisions[revisions["table_name"].isin(tables)]
    if df.empty:
        return None
    rows = list(df.itertuples(index=False))
    shown = "；".join(revision_line(r) for r in rows[:NOTE_LIMIT])
    more = f"；另有 {len(rows) - NOTE_LIMIT} 处，见 perflib revisions --year {year}" if len(rows) > NOTE_LIMIT else ""
    return (f"数据修订：{year} 年已导入期间的数据在之后的导入中被修订 {len(rows)} 处，本报告按修订后的数据计算："
            f"{shown}{more}。")


COLUMNS = ("数据表", "年度", "期间", "指标", "项目编码", "修订前", "修订后", "差额", "原导入", "新导入", "记录时间")


def revisions_table(revisions: pd.DataFrame) -> pd.DataFrame:
    """The revisions as a Chinese table (``perflib revisions``)."""
    rows = [(TABLE_LABELS.get(r.table_name, r.table_name), str(int(r.year)), r.period, r.measure,
             r.record_key if isinstance(r.record_key, str) else "（全区合计）",
             figure(r.old_total, r.measure), figure(r.new_total, r.measure),
             difference(r.old_total, r.new_total, r.measure), str(int(r.old_load_id)) if pd.notna(r.old_load_id) else DASH,
             str(int(r.new_load_id)), str(r.recorded_at)[:19])
            for r in revisions.itertuples(index=False)]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def revisions_text(revisions: pd.DataFrame, year: int | None = None) -> str:
    """What ``perflib revisions`` prints: a heading line and the table (or that there are none)."""
    scope = f"{year} 年" if year is not None else "全部年度"
    if revisions.empty:
        return f"数据库中没有{scope}的数据修订记录（此前已导入期间的数据未被之后的导入改动）。"
    table = revisions_table(revisions)
    return f"{scope}数据修订共 {len(table)} 处：\n" + table.to_string(index=False)
