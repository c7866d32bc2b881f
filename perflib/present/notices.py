"""The notices a bureau sends to departments, as Word documents in 公文 layout (:mod:`.docx`):

- 绩效运行监控预警通知: one per level-1 department with red or yellow projects as of a month
  (:func:`perflib.analysis.monitoring.project_execution` bands them): its projects with budget,
  spent, execution rate, gap to time progress, band and the deviation reasons the departments
  reported (:func:`~perflib.analysis.monitoring.target_progress`), the action asked and the reply
  deadline (rules ``report.notice_reply_days``);
- 绩效评价结果反馈意见: one per level-1 department with key evaluations in the year
  (:func:`perflib.analysis.evaluation.key_evaluations`): scores by dimension, grade, the main
  problems found and the budget decision (下年度申请数 / 安排数).

Tables go through :meth:`perflib.present.notebook.Report.prepare_table`: a classified project is
only ever the 涉密项目（合计） line (the store has redacted its name already).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from ..analysis.evaluation import KEY_DIMENSION_LABELS, KEY_DIMENSIONS, key_evaluations
from ..analysis.monitoring import RED, YELLOW, project_execution, target_progress, time_progress
from ..analysis.monthly import project_changes
from .docx import Document, chinese_date, sign_off, template_path
from .formats import pct, score
from .labels import MONEY, POINTS, RATE, SCORE, TEXT
from .names import bureau_name
from .notebook import Report

MONITORING_PREFIX = "监控预警"
EVALUATION_PREFIX = "评价反馈"
NOTICE_COLUMNS = [("project_name", "项目名称", TEXT), ("dept_name", "预算单位", TEXT),
                  ("budget", "预算数（元）", MONEY), ("spent", "已支出（元）", MONEY),
                  ("execution_rate", "执行率", RATE), ("gap", "与时间进度差（百分点）", POINTS),
                  ("band", "预警等级", TEXT), ("deviation_reason", "偏差原因", TEXT)]
FEEDBACK_COLUMNS = [("project_name", "项目名称", TEXT),
                    *[(c, f"{KEY_DIMENSION_LABELS[c]}得分", SCORE) for c in KEY_DIMENSIONS],
                    ("total_score", "总分", SCORE), ("grade", "等级", TEXT),
                    ("next_request", "下年度申请数（元）", MONEY), ("next_approved", "下年度安排数（元）", MONEY)]
NO_REASON = "未填报"
_UNSAFE = str.maketrans({c: "_" for c in '/\\:*?"<>|'})


def notice_file_name(prefix: str, dept: str) -> str:
    """``<prefix>-<部门>.docx`` with characters no file system takes replaced."""
    return f"{prefix}-{dept.strip().translate(_UNSAFE)}.docx"


def reply_deadline(rules, day: dt.date) -> dt.date:
    """The reply deadline: ``report.notice_reply_days`` days after ``day``, or the date it names."""
    value = rules.value("report.notice_reply_days")
    if isinstance(value, str):
        from ..exceptions import RulesError

        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise RulesError(f"report.notice_reply_days 为「{value}」：应为天数（整数）或日期（如 2024-09-30）") from None
    if isinstance(value, dt.date):
        return value
    return day + dt.timedelta(days=int(value))


def warned_projects(store, year: int, as_of_month: int, rules) -> pd.DataFrame:
    """Red and yellow projects as of ``as_of_month`` with the deviation reasons reported for them
    (distinct reasons joined by 「；」; 未填报 when none), worst gap first within each department, and
    (from month 2) ``band_prev``, their band at the end of the month before."""
    ex = project_execution(store, year, as_of_month, rules)
    if int(as_of_month) > 1:  # the band at the end of the month before (本月变化): who turned red
        prev = project_changes(ex, project_execution(store, year, int(as_of_month) - 1, rules))
        ex = ex.assign(band_prev=prev["band_prev"].to_numpy())
    warned = ex[ex["band"].isin([RED, YELLOW])].copy()
    reasons = target_progress(store, year, as_of_month, rules)
    reasons = reasons[reasons["project_id"].isin(warned["project_id"])]
    text = reasons["deviation_reason"].astype("string").str.strip()
    reasons = reasons.assign(reason=text)[text.fillna("") != ""]
    joined = reasons.groupby("project_id")["reason"].agg(lambda s: "；".join(dict.fromkeys(s)))
    warned["deviation_reason"] = warned["project_id"].map(joined).fillna(NO_REASON)
    return warned.sort_values(["level1_code", "gap", "project_id"], kind="stable").reset_index(drop=True)


def monitoring_notices(store, year: int, as_of_month: int, rules, day: dt.date) -> dict[str, bytes]:
    """{file name: .docx bytes}: one 绩效运行监控预警通知 per level-1 department with red or yellow
    projects (``监控预警-<部门>.docx``), dated ``day``."""
    warned = warned_projects(store, year, as_of_month, rules)
    bureau = bureau_name(store, rules)
    out = {}
    for _, projects in warned.groupby("level1_code", sort=True):
        dept = str(projects["level1_name"].iloc[0])
        out[notice_file_name(MONITORING_PREFIX, dept)] = monitoring_notice(
            projects, dept=dept, year=year, as_of_month=as_of_month, rules=rules, bureau=bureau, day=day)
    return out


def monitoring_notice(projects: pd.DataFrame, *, dept: str, year: int, as_of_month: int, rules,
                      bureau: str, day: dt.date) -> bytes:
    """One department's warning notice (see the module docstring)."""
    m = int(as_of_month)
    tp = time_progress(m, rules)
    green, yellow = float(rules.value("monitoring.green_min_gap")), float(rules.value("monitoring.yellow_min_gap"))
    red_n, yellow_n = int((projects["band"] == RED).sum()), int((projects["band"] == YELLOW).sum())
    title = f"关于{dept}项目支出绩效运行监控预警的通知"
    doc = Document(template_path(rules), title=title, author=bureau)
    doc.paragraph(title, "公文标题")
    doc.paragraph("", "公文正文")
    _addressee(doc, dept)
    doc.paragraphs(
        f"根据预算管理系统 {year} 年 1-{m} 月预算执行数据和绩效监控信息，截至 {m} 月底时间进度为 {pct(tp)}。"
        f"按预算执行率与时间进度之差预警（差距低于 {-green * 100:g} 个百分点为黄色、低于 {-yellow * 100:g} 个"
        f"百分点为红色），你单位有 {len(projects)} 个项目预警，其中红色 {red_n} 个、黄色 {yellow_n} 个"
        f"{turned_red_text(projects, m)}，明细如下：")
    table = Report.prepare_table(projects, NOTICE_COLUMNS, money=["budget", "spent"])
    doc.table(table, f"{dept}预警项目明细（截至 {year} 年 {m} 月底）")
    deadline = reply_deadline(rules, day)
    doc.paragraphs(
        "请你单位对上述项目逐项分析执行偏慢的原因，采取有效措施加快预算执行、推进绩效目标实现；"
        "红色预警项目请提出整改措施和完成时限，确实无法执行的资金按程序申请调整。"
        f"请于 {chinese_date(deadline)}前将整改情况书面报送{bureau}。")
    sign_off(doc, bureau, day)
    return doc.bytes()


def turned_red_text(projects: pd.DataFrame, as_of_month: int) -> str:
    """「（红色中 k 个为本月新转红色）」 from ``band_prev`` (empty for month 1 or when none turned red)."""
    if "band_prev" not in projects or int(as_of_month) <= 1:
        return ""
    k = int(((projects["band"] == RED) & (projects["band_prev"] != RED)).sum())
    return f"（红色中 {k} 个为本月新转红色，{int(as_of_month) - 1} 月底时尚未达到红色）" if k else ""


def evaluation_notices(store, year: int, rules, day: dt.date) -> dict[str, bytes]:
    """{file name: .docx bytes}: one 绩效评价结果反馈意见 per level-1 department with key
    evaluations in ``year`` (``评价反馈-<部门>.docx``), dated ``day``."""
    scored = key_evaluations(store, year, rules)
    bureau = bureau_name(store, rules)
    out = {}
    for _, projects in scored.sort_values(["level1_code", "project_id"]).groupby("level1_code", sort=True):
        dept = str(projects["level1_name"].iloc[0])
        out[notice_file_name(EVALUATION_PREFIX, dept)] = evaluation_notice(
            projects, dept=dept, year=year, rules=rules, bureau=bureau, day=day)
    return out


def evaluation_notice(projects: pd.DataFrame, *, dept: str, year: int, rules, bureau: str, day: dt.date) -> bytes:
    """One department's key-evaluation feedback (see the module docstring)."""
    title = f"关于{dept}{year} 年财政重点绩效评价结果的反馈意见"
    doc = Document(template_path(rules), title=title, author=bureau)
    doc.paragraph(title, "公文标题")
    doc.paragraph("", "公文正文")
    _addressee(doc, dept)
    request, approved = float(projects["next_request"].sum()), float(projects["next_approved"].sum())
    doc.paragraphs(
        f"{year} 年，{bureau}对你单位 {len(projects)} 个项目开展了财政重点绩效评价，从决策、过程、产出、效益"
        "四个方面评分定级。现将评价结果及其在下年度预算安排中的应用反馈如下。")
    doc.paragraph("一、评价得分和等级", "一级标题")
    table = Report.prepare_table(projects, FEEDBACK_COLUMNS, money=["next_request", "next_approved"])
    doc.table(table, "重点评价得分及预算安排")
    doc.paragraph("二、主要问题", "一级标题")
    for i, row in enumerate(_visible(projects).itertuples(index=False), start=1):
        found = _text(getattr(row, "findings", None)) or "评价报告未列明主要问题"
        doc.paragraph(f"{i}. {row.project_name}（{row.grade}，{score(row.total_score)} 分）：{found}")
    hidden = len(projects) - len(_visible(projects))
    if hidden:
        doc.paragraph(f"{len(_visible(projects)) + 1}. 涉密项目（合计 {hidden} 个）：评价意见另行送达。")
    doc.paragraph("三、评价结果应用", "一级标题")
    cut = request - approved
    rate = f"，压减 {_yuan(cut)} 元（{pct(cut / request)}）" if request > 0 and cut > 0 else ""
    doc.paragraphs(
        f"上述项目下年度共申请预算 {_yuan(request)} 元，结合评价结果安排 {_yuan(approved)} 元{rate}。"
        "请你单位针对评价发现的问题制定整改措施，完善项目管理和绩效目标，"
        f"并于 {chinese_date(reply_deadline(rules, day))}前将整改情况书面报送{bureau}。")
    sign_off(doc, bureau, day)
    return doc.bytes()


def _addressee(doc: Document, dept: str) -> None:
    """The 主送机关 line: flush left, ending with a full-width colon."""
    p = doc.paragraph(f"{dept}：")
    p.paragraph_format.first_line_indent = 0


def _visible(projects: pd.DataFrame) -> pd.DataFrame:
    from .notebook import classified_mask

    return projects[~classified_mask(projects)]


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def _yuan(x: float) -> str:
    return f"{x:,.2f}"
