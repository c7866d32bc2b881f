"""``perflib run --list`` and the report list of ``perflib run --help``: every report the runner
finds (:func:`~perflib.run.plan.available_notebooks`), its parameters with their defaults and, when
a store is at hand, the values the store offers (the planner's own parameter registry,
:data:`~perflib.run.plan.PARAMETERS`, so the list shows exactly what ``-p`` accepts).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..exceptions import PerflibError
from .plan import (PARAM_LABELS, PARAMETERS, RUNNER_PARAMS, available_notebooks, default_notebooks_dir,
                   notebook_parameters)

# what each shipped report is (a notebook added later is listed without a line)
REPORT_TITLES = {
    "overview": "年度预算绩效管理情况说明（各节汇总）",
    "coverage": "绩效目标与绩效自评覆盖情况",
    "monitoring": "项目支出绩效运行监控（双监控）",
    "evaluation": "绩效自评复核与重点绩效评价",
    "cost": "成本预算绩效分析（按项目类型）",
    "fiscal": "街道级政府财政运行综合绩效评价",
    "quality": "数据质量报告",
    "targets": "绩效目标审核",
    "rectification": "整改跟踪（整改台账）",
}
MAX_SHOWN = 100  # values shown per parameter (a district's all; a province's first); the rest counted


def parameter_notes(path: Path) -> dict[str, str]:
    """The comment after each assignment of the notebook's parameters cell (``dept = None  # …``)."""
    try:
        nb = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code" and "parameters" in (cell.get("metadata", {}).get("tags") or []):
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else src
            return {m.group(1): m.group(2).strip() for m in
                    re.finditer(r"^(\w+)\s*(?::[^=]+)?=[^#\n]*#\s*(.+)$", src, flags=re.M)}
    return {}


def report_parameters(notebooks_dir: Path | None = None) -> dict[str, dict[str, Any]]:
    """{report: {parameter: default}} of every report (the runner's own parameters left out)."""
    found = available_notebooks(Path(notebooks_dir) if notebooks_dir else default_notebooks_dir())
    out = {}
    for name, path in found.items():
        try:
            params = notebook_parameters(path)
        except PerflibError:
            params = {}
        out[name] = {k: v for k, v in params.items() if k not in RUNNER_PARAMS}
    return out


def _fanout_text(pname: str) -> str:
    kind = PARAMETERS.get(pname)
    if kind is None:
        return ""
    if kind.fanout == "required":
        return "；未用 -p 指定时逐个取值各生成一份"
    if kind.fanout == "optional":
        return f"；--each {pname} 逐个取值各生成一份"
    return ""


def _default_text(default: Any) -> str:
    return "None" if default is None else repr(default) if isinstance(default, str) else str(default)


def reports_summary(notebooks_dir: Path | None = None) -> str:
    """Every report and its parameters with their defaults (no store needed: for ``--help``)."""
    nb_dir = Path(notebooks_dir) if notebooks_dir else default_notebooks_dir()
    reports = report_parameters(nb_dir)
    if not reports:
        return f"报告文件夹 {nb_dir.resolve()} 中没有报告（.ipynb）。"
    lines = []
    for name, params in reports.items():
        shown = "，".join(f"{p}（默认 {_default_text(d)}）" for p, d in params.items()) or "无"
        lines.append(f"  {name:<14}{REPORT_TITLES.get(name, '')}；参数：{shown}")
    return "\n".join(lines)


def list_reports(db: Path, year: int | None = None, notebooks_dir: Path | None = None,
                 rules: Path | None = None) -> str:
    """``perflib run --list``: every report, its parameters, their defaults and the values the
    store at ``db`` offers for ``year`` (None: its latest); a missing store is said, and the
    reports and parameters are listed all the same."""
    from ..rules import load_rules
    from ..store import Store

    nb_dir = Path(notebooks_dir) if notebooks_dir else default_notebooks_dir()
    found = available_notebooks(nb_dir)
    head = [f"报告文件夹：{nb_dir.resolve()}（共 {len(found)} 份报告）"]
    store = None
    try:
        store = Store(db)
        years = store.years()
        year = int(year) if year is not None else store.latest_year()
        head.append(f"数据库：{Path(db).resolve()}；数据中的年度：{'、'.join(map(str, years)) or '（无）'}；"
                    f"以下取值为 {year} 年的（--year 可改）")
    except PerflibError as exc:
        head.append(f"未能读取数据库，以下不列出数据中的取值：{exc}")
        store = None
    try:
        rules_loaded = load_rules(rules)
        lines = head + [""]
        for name, path in found.items():
            lines += _report_lines(name, path, store, year, rules_loaded)
        lines.append("用法示例：perflib run monitoring -p dept=区教体局 -p as_of_month=9；"
                     "perflib run coverage --each dept")
        return "\n".join(lines)
    finally:
        if store is not None:
            store.close()


def _report_lines(name: str, path: Path, store, year, rules) -> list[str]:
    """The lines of one report in :func:`list_reports`."""
    try:
        params = {k: v for k, v in notebook_parameters(path).items() if k not in RUNNER_PARAMS}
    except PerflibError as exc:
        return [f"{name}：{exc}", ""]
    notes = parameter_notes(path)
    title = REPORT_TITLES.get(name)
    lines = [f"{name}" + (f" — {title}" if title else "")]
    if not params:
        lines.append("  参数：无（只有 --year）")
    for pname, default in params.items():
        label = PARAM_LABELS.get(pname)
        text = f"  {pname}" + (f"（{label}）" if label else "") + f"：默认 {_default_text(default)}"
        text += _fanout_text(pname)
        if notes.get(pname):
            text += f"；{notes[pname]}"
        lines.append(text)
        if store is not None and year is not None:
            values = _store_values(pname, store, year, rules)
            if values:
                lines.append(f"    数据中的取值：{values}")
    return lines + [""]


def _store_values(pname: str, store, year: int, rules) -> str:
    """What the store offers for one parameter, as a line (empty when it has no registry entry)."""
    kind = PARAMETERS.get(pname)
    if kind is None:
        return ""
    try:
        if kind.choices is not None:
            names = [str(label) for _, label in kind.choices(store, year)]
            if not names:
                return f"（{year} 年没有）"
            more = f"……（共 {len(names)} 个）" if len(names) > MAX_SHOWN else f"（共 {len(names)} 个）"
            return "、".join(names[:MAX_SHOWN]) + more
        if kind.default is not None:
            value = kind.default(store, year, rules)
            return f"未指定时为 {kind.resolve(store, year, value)[1]}" if value is not None else ""
    except PerflibError as exc:
        return f"（无法列出：{exc}）"
    return ""
