"""Findings: the content gaps of an export that do not make a figure wrong (SPEC "Input").

A *finding* is a gap the analyses can show instead of guessing (a 定性 indicator without target
text, a self-evaluation without 满意度, an optional column missing from a file…); an *error* would
make a figure wrong or ambiguous and refuses the export. Each finding kind of
:data:`perflib.schema.FINDING_KINDS` is found here by one rule, which both readers apply (the Python
reader on frames, the bulk reader in SQL) and word with the same :func:`make_findings`, so that
they find the same gaps at the same places. :func:`grade` splits problems by the severity the rules
file (``ingest.severity``) or ``--strict`` gives each kind.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from ..exceptions import Problem
from ..schema import ERROR, FINDING, FINDING_KINDS, FUND_BOND, FUND_TRANSFER, LIKELIHOODS, TABLES, Table
from .model import Export

__all__ = ["Gap", "GAPS", "COUNTED_OPTIONAL", "gaps_of", "required_exemption", "score_maxima",
           "row_findings", "make_findings", "column_findings", "severity_of", "grade", "shown",
           "describe_findings", "findings_arrow", "SHOWN_FINDINGS", "files_lacking"]

SHOWN_FINDINGS = 5  # findings listed by location in a summary; the rest are counted per kind
QUANTITATIVE = ("≥", "≤", "=")


@dataclass(frozen=True)
class Gap:
    """One rule that finds rows of a kind: the cell of ``column`` is empty, on rows where
    ``when`` = (column, values) holds (the other column's value is one of ``values``); or, with
    ``above`` (a rules key), the cell is above the row's ``maximum`` column or, where that is empty,
    the rule's value."""

    kind: str
    table: str
    column: str
    expected: str
    when: tuple[str, tuple[str, ...]] | None = None
    above: str | None = None
    maximum: str | None = None  # with ``above``: the column holding a row's own maximum (wins if set)

    @property
    def message(self) -> str:
        return FINDING_KINDS[self.kind].label


def _score_gap(column: str, key: str, label: str) -> Gap:
    return Gap("key_score_above_maximum", "key_evaluations", column,
               f"不高于{label}满分（本行「{label}满分」，为空时按规则 key_evaluation.weight_{key}）",
               above=f"key_evaluation.weight_{key}", maximum=f"max_{key}")


GAPS: tuple[Gap, ...] = (
    Gap("qualitative_target_missing", "targets", "target_value", "定性指标的目标文字（如 有效改善）",
        when=("direction", ("定性",))),
    Gap("target_unit_missing", "targets", "unit", "定量指标的计量单位（如 个、%、万元）",
        when=("direction", QUANTITATIVE)),
    Gap("target_weight_missing", "targets", "weight", "指标分值（0–100）"),
    Gap("target_level2_missing", "targets", "level2", "二级指标（如 数量指标、质量指标）"),
    Gap("monitoring_actual_missing", "monitoring", "actual_value", "监控月份的执行值"),
    Gap("deviation_reason_missing", "monitoring", "deviation_reason",
        "偏差原因（经费保障、制度保障、人员保障、硬件条件保障、其他）",
        when=("likelihood", tuple(v for v in LIKELIHOODS if v != "确定能"))),
    Gap("satisfaction_missing", "self_evaluations", "satisfaction", "满意度（0–100）"),
    Gap("selfeval_actual_missing", "self_eval_indicators", "actual_value", "指标的实际完成值"),
    Gap("key_findings_missing", "key_evaluations", "findings", "评价发现的主要问题"),
    Gap("key_domain_missing", "key_evaluations", "domain", "评价领域（如 教育、卫生健康）"),
    _score_gap("score_decision", "decision", "决策"),
    _score_gap("score_process", "process", "过程"),
    _score_gap("score_output", "output", "产出"),
    _score_gap("score_effect", "effect", "效益"),
    Gap("quality_score_missing", "outputs", "quality_score", "质量得分（0–100）"),
    Gap("transfer_level_missing", "projects", "transfer_level", "转移支付级次（中央、省、市）",
        when=("fund_source", (FUND_TRANSFER,))),
    Gap("bond_type_missing", "projects", "bond_type", "债券类型（一般债券、专项债券）",
        when=("fund_source", (FUND_BOND,))),
    Gap("sector_missing", "departments", "sector", "行业领域（如 教育、卫生健康）"),
    Gap("rectification_date_missing", "rectifications", "date_done", "已整改问题的完成日期",
        when=("status", ("已整改",))),
    Gap("rectification_deadline_missing", "rectifications", "deadline", "整改期限（日期）",
        when=("status", ("未整改", "整改中"))),
)

# Optional columns whose absence from a file is a finding (optional_column_missing): those an
# analysis reads. 行业领域 (sector) is read by none, so a file without it is no gap.
COUNTED_OPTIONAL: dict[str, tuple[str, ...]] = {
    "departments": ("is_street",),
    "projects": ("project_type", "adjusted_amount", "is_classified", "is_special"),
    "monitoring": ("deviation_reason", "key_monitored"),
    "key_evaluations": ("findings",),
    "outputs": ("quality_score",),
}

_OPTIONAL_USE = {
    "is_street": "街道财政分析无法识别街道", "project_type": "成本分析无法按项目类型比较",
    "adjusted_amount": "执行率按年初预算数计算", "is_classified": "无法识别涉密项目（均按非涉密处理）",
    "is_special": "无法识别特殊资金", "deviation_reason": "监控报告不能列出偏差原因",
    "key_monitored": "无法识别重点监控项目", "findings": "评价报告不能列出主要问题",
    "quality_score": "成本分析不评价产出质量",
}


def gaps_of(table: str) -> list[Gap]:
    return [g for g in GAPS if g.table == table]


def required_exemption(table: str, column: str) -> tuple[str, tuple[str, ...]] | None:
    """(column, values): rows where a required cell of ``column`` may be empty because its gap is
    a finding there (a 定性 target without 指标值); None when an empty cell is always an error."""
    for g in gaps_of(table):
        if g.column == column and g.above is None and not TABLES[table].column(column).nullable:
            return g.when
    return None


def score_maxima(rules=None) -> dict[str, float]:
    """The bound of each ``above`` gap (rules key → value), from ``rules`` (default rules if None)."""
    from ..rules import load_rules

    rules = rules if rules is not None else load_rules()
    return {g.above: float(rules.value(g.above)) for g in GAPS if g.above}


def shown(v):
    """A value as a problem shows it (amounts with thousands separators, whole floats as ints)."""
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, Decimal):
        return f"{v:,.2f}"
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return int(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def files_lacking(export: Export, table: str, column: str) -> set[tuple[str, str | None]]:
    """(file, sheet) of the parts of ``table`` whose header lacks ``column``."""
    return {(f.path, f.sheet) for f in export.files_of(table) if column not in f.headers}


def _text(v) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return ""
    return str(int(v)) if isinstance(v, (np.integer, int)) and not isinstance(v, bool) else str(v)


def make_findings(gap: Gap, export: Export, maxima: dict[str, float], files: Sequence[str],
                  sheets: Sequence, rows: Sequence[int], keys: Sequence[Sequence], depts: Sequence,
                  projects: Sequence, years: Sequence, values: Sequence,
                  limits: Sequence | None = None) -> list[Problem]:
    """The findings of ``gap`` at the given places, one per row: ``keys`` holds, per row, the
    record's key values (table key order); ``limits`` (``above`` gaps) each row's own maximum, None
    where the rule's applies. Both readers word their findings here."""
    table = TABLES[gap.table]
    headers: dict = {}
    out = []
    limits = [None] * len(files) if limits is None else limits
    for file, sheet, row, key, dept, project, year, value, limit in zip(
            files, sheets, rows, keys, depts, projects, years, values, limits):
        message = gap.message
        if gap.above:
            top = maxima[gap.above] if limit is None or limit != limit else float(limit)
            message += f"（满分 {top:g} 分，按满分计）"
        sheet = None if sheet is None or (isinstance(sheet, float) and sheet != sheet) else sheet
        header = headers.get((file, sheet))
        if header is None:
            header = headers[(file, sheet)] = export.header(table.name, file, sheet, gap.column)
        out.append(Problem(
            file=file, sheet=sheet, row=int(row), column=header, message=message,
            value=shown(value) if gap.above else None, expected=gap.expected, kind=gap.kind,
            table=table.name, key="|".join(_text(k) for k in key),
            dept_code=None if dept is None or dept is pd.NA else dept,
            project_id=None if project is None or project is pd.NA else project,
            year=None if year is None or year is pd.NA else int(year)))
    return out


def _or_none(df: pd.DataFrame, column: str, n: int) -> list:
    if column not in df.columns:
        return [None] * n
    return [None if (v is pd.NA or (isinstance(v, float) and v != v)) else v for v in df[column].tolist()]


def row_findings(export: Export, table: Table, df: pd.DataFrame, maxima: dict[str, float]
                 ) -> list[Problem]:
    """The findings of the rows of ``table`` (the Python reader's frame ``df``)."""
    out: list[Problem] = []
    for gap in gaps_of(table.name):
        series = df[gap.column]
        limits = None
        if gap.above:
            values = pd.to_numeric(series, errors="coerce")
            own = (pd.to_numeric(df[gap.maximum], errors="coerce") if gap.maximum in df.columns
                   else pd.Series(np.nan, index=df.index))
            limits = own.astype("float64")
            mask = (values > limits.fillna(maxima[gap.above])).fillna(False).to_numpy(dtype=bool, copy=True)
        else:
            mask = series.isna().to_numpy(dtype=bool, copy=True)
        if gap.when:
            mask &= df[gap.when[0]].isin(list(gap.when[1])).to_numpy(dtype=bool)
        lacking = files_lacking(export, table.name, gap.column)
        if lacking:
            mask &= ~np.array([(f, None if s is None or s != s else s) in lacking
                               for f, s in zip(df["_file"].tolist(), df["_sheet"].tolist())], dtype=bool)
        bad = [i for (t, i, c) in export.bad_cells if t == table.name and c == gap.column]
        if bad:
            mask[[i for i in bad if i < len(mask)]] = False
        pos = np.flatnonzero(mask)
        if not len(pos):
            continue
        sub = df.iloc[pos]
        n = len(sub)
        keys = list(zip(*[sub[c].tolist() for c in table.key])) if table.key else [()] * n
        out.extend(make_findings(gap, export, maxima, sub["_file"].tolist(), sub["_sheet"].tolist(),
                                 sub["_row"].tolist(), keys, _or_none(sub, "dept_code", n),
                                 _or_none(sub, "project_id", n), _or_none(sub, "year", n),
                                 sub[gap.column].tolist(),
                                 None if limits is None else limits.iloc[pos].tolist()))
    return out


def column_findings(export: Export) -> list[Problem]:
    """A counted optional column (:data:`COUNTED_OPTIONAL`) missing from a file or sheet that was
    read: one finding at its header row."""
    out = []
    for f in export.files:
        if f.table in export.unread_tables:
            continue
        for name in COUNTED_OPTIONAL.get(f.table, ()):
            if name in f.headers:
                continue
            col = TABLES[f.table].column(name)
            out.append(Problem(
                file=f.path, sheet=f.sheet, row=f.header_row, column=col.header,
                message=f"{FINDING_KINDS['optional_column_missing'].label}「{col.header}」：{_OPTIONAL_USE[name]}",
                expected=f"表头「{col.header}」（或英文名 {col.name}）", kind="optional_column_missing",
                table=f.table))
    return out


# --- grading ---------------------------------------------------------------------------------------
def severity_of(rules=None) -> dict[str, str]:
    """Kind → ``error`` or ``finding``: every kind a finding unless the rules (``ingest.severity``)
    say otherwise."""
    out = {k: FINDING for k in FINDING_KINDS}
    if rules is not None:
        out.update(rules.value("ingest.severity"))
    return out


def grade(problems: Iterable[Problem], severity: dict[str, str] | None = None, strict: bool = False
          ) -> tuple[list[Problem], list[Problem]]:
    """(errors, findings): a problem without kind is an error; a finding is one too when ``strict``
    or when ``severity`` grades its kind ``error``. Order is kept; a bulk problem list keeps its
    ``total`` (the errors counted beyond those listed) on the errors."""
    severity = severity or {}
    errors, findings = [], []
    for p in problems:
        if p.kind is None or strict or severity.get(p.kind) == ERROR:
            errors.append(p)
        else:
            findings.append(p)
    total = getattr(problems, "total", None)
    if total is not None:
        graded = type(problems)(errors)
        graded.total = total - len(findings)
        errors = graded
    return errors, findings


def describe_findings(findings: Sequence[Problem], limit: int = SHOWN_FINDINGS) -> str:
    """A short Chinese summary: counts per kind, the first ``limit`` located."""
    if not findings:
        return "数据质量提示：无"
    counts: dict[str, int] = {}
    for p in findings:
        counts[p.kind] = counts.get(p.kind, 0) + 1
    lines = [f"数据质量提示 {len(findings):,} 处（内容缺项，不影响导入；见数据库 findings 表）："]
    for kind in FINDING_KINDS:
        if kind in counts:
            lines.append(f"  {FINDING_KINDS[kind].label}：{counts[kind]:,} 处")
    lines.append(f"  前 {min(limit, len(findings))} 处：")
    lines += [f"    {i}. {p}" for i, p in enumerate(findings[:limit], 1)]
    return "\n".join(lines)


def findings_arrow(findings: Sequence[Problem], load_id: int) -> pa.Table:
    """The rows of table ``findings`` (store.FINDINGS_DDL) for ``findings`` of load ``load_id``."""
    def col(values, typ):
        return pa.array(values, type=typ)

    return pa.table({
        "load_id": col([load_id] * len(findings), pa.int32()),
        "kind": col([p.kind for p in findings], pa.string()),
        "table_name": col([p.table for p in findings], pa.string()),
        "year": col([p.year for p in findings], pa.int32()),
        "record_key": col([p.key for p in findings], pa.string()),
        "dept_code": col([p.dept_code for p in findings], pa.string()),
        "project_id": col([p.project_id for p in findings], pa.string()),
        "file": col([p.file for p in findings], pa.string()),
        "sheet": col([p.sheet for p in findings], pa.string()),
        "row_number": col([p.row for p in findings], pa.int32()),
        "column_header": col([p.column for p in findings], pa.string()),
        "value": col([None if p.value is None else str(p.value) for p in findings], pa.string()),
        "message": col([p.message for p in findings], pa.string()),
    })
