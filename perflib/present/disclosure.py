"""The pages and workbook of the public disclosure package (绩效信息公开, ``perflib publish``): plain
accessible HTML (``lang="zh-CN"``, semantic tables with ``<caption>`` and ``<th scope>``, inline CSS,
no script, no outside request) and one xlsx, from :class:`perflib.analysis.disclosure.Disclosure`.

Files: ``index.html`` (publication date, 「公开绩效信息 N 条」 and its definition, one row per
level-1 department), ``dept-<部门编码>.html`` per level-1 department (部门整体绩效目标, 项目绩效目标,
绩效自评结果, 重点评价结果), ``keyeval.html`` (every key evaluation) and ``绩效信息公开-<年度>.xlsx``.
"""
from __future__ import annotations

import html
import math

import pandas as pd

from ..schema import TABLES
from .labels import MISSING
from .xlsx import write_xlsx

CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;margin:1.5rem auto;
max-width:72rem;padding:0 1rem;color:#1a1a1a;line-height:1.6}
h1{font-size:1.6rem}h2{font-size:1.3rem;border-bottom:2px solid #1f4e79;margin-top:2rem}
h3{font-size:1.1rem}
table{border-collapse:collapse;margin:0.5rem 0 1.5rem;width:100%}
caption{text-align:left;font-weight:bold;padding:0.3rem 0}
th,td{border:1px solid #8c8c8c;padding:0.25rem 0.5rem;vertical-align:top}
thead th{background:#dde8f3}tbody th{font-weight:normal;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.note{color:#444}a{color:#0b4f8a}
.scroll{overflow-x:auto}
@media print{a{color:inherit}}
"""
TARGET_HEADERS = {c: TABLES["targets"].column(c).header for c in
                  ("level1", "level2", "indicator", "direction", "target_value", "unit", "weight")}
ITEM_LABELS = {"project_targets": "项目绩效目标表", "dept_targets": "部门整体绩效目标表",
               "self_evaluations": "项目绩效自评结果", "key_evaluations": "重点评价结果"}
ITEM_DEFINITION = ("条数的口径：每个有项目绩效目标的项目的绩效目标表计 1 条，每个有部门整体绩效目标的部门的整体绩效目标表计 1 条，"
                   "每个项目的绩效自评结果计 1 条，每项重点评价结果计 1 条。涉密项目不公开，不计入。")
XLSX_NAME = "绩效信息公开-{year}.xlsx"
KEYEVAL_PAGE = "keyeval.html"
INDEX_PAGE = "index.html"


def dept_page(code: str) -> str:
    return f"dept-{code}.html"


def _e(v) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _money(v) -> str:
    return MISSING if _missing(v) else f"{float(v):,.2f}"


def _num(v, digits: int = 2) -> str:
    return MISSING if _missing(v) else f"{float(v):.{digits}f}"


def _pct(v) -> str:
    return MISSING if _missing(v) else f"{float(v) * 100:.2f}%"


def _text(v) -> str:
    return MISSING if _missing(v) or str(v) == "" else str(v)


def _page(title: str, body: list[str], published: str) -> bytes:
    parts = ['<!DOCTYPE html>', '<html lang="zh-CN">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{_e(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
             '<header><p><a href="index.html">返回目录</a></p></header>' if not title.endswith("目录") else "",
             "<main>", f"<h1>{_e(title)}</h1>", f'<p class="note">公开日期：{_e(published)}</p>',
             *body, "</main>", "</body>", "</html>", ""]
    return "\n".join(p for p in parts if p).encode("utf-8")


def _table(caption: str, headers: list[str], rows: list[list[tuple[str, str]]], row_header: int | None = None) -> str:
    """A semantic table: ``rows`` of (text, css class) cells; column ``row_header`` is a row header."""
    out = ['<div class="scroll"><table>', f"<caption>{_e(caption)}</caption>", "<thead><tr>"]
    out += [f'<th scope="col">{_e(h)}</th>' for h in headers]
    out.append("</tr></thead><tbody>")
    for row in rows:
        cells = []
        for j, (text, cls) in enumerate(row):
            attr = f' class="{cls}"' if cls else ""
            if j == row_header:
                cells.append(f'<th scope="row"{attr}>{_e(text)}</th>')
            else:
                cells.append(f"<td{attr}>{_e(text)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    return "\n".join(out)


def _target_rows(df: pd.DataFrame) -> list[list[tuple[str, str]]]:
    return [[(_text(r.level1), ""), (_text(r.level2), ""), (_text(r.indicator), ""), (_text(r.direction), ""),
             (_text(r.target_value), ""), (_text(r.unit), ""), (_num(r.weight), "num")]
            for r in df.itertuples(index=False)]


SELF_HEADERS = ["项目名称", "预算单位", "预算数（元）", "全年执行数（元）", "预算执行率", "满意度", "自评得分", "自评等级"]
KEY_HEADERS = ["项目名称", "预算单位", "评价领域", "预算数（元）", "决策得分", "过程得分", "产出得分", "效益得分",
               "综合得分（百分制）", "评价等级"]


def _self_rows(df: pd.DataFrame) -> list[list[tuple[str, str]]]:
    return [[(_text(r.project_name), ""), (_text(r.dept_name), ""), (_money(r.budget), "num"),
             (_money(r.spent_amount), "num"), (_pct(r.execution_rate), "num"), (_num(r.satisfaction), "num"),
             (_num(r.reported_score), "num"), (_text(r.grade), "")] for r in df.itertuples(index=False)]


def _key_rows(df: pd.DataFrame) -> list[list[tuple[str, str]]]:
    return [[(_text(r.project_name), ""), (_text(r.dept_name), ""), (_text(r.domain), ""), (_money(r.budget), "num"),
             (_num(r.score_decision), "num"), (_num(r.score_process), "num"), (_num(r.score_output), "num"),
             (_num(r.score_effect), "num"), (_num(r.total_score), "num"), (_text(r.grade), "")]
            for r in df.itertuples(index=False)]


def selfeval_note(d) -> str:
    """Which fiscal year's self-evaluations are disclosed, and why that one."""
    if d.selfeval_year is None:
        return f"数据中没有 {d.year} 年以前年度的绩效自评，本次不公开绩效自评结果。"
    if d.selfeval_year == d.year - 1:
        return f"绩效自评结果为 {d.selfeval_year} 年度预算项目的自评（于 {d.year} 年开展）。"
    return (f"数据中没有 {d.year - 1} 年度的绩效自评，绩效自评结果为已有自评的最近年度 "
            f"{d.selfeval_year} 年度预算项目的自评。")


def _dept_body(d, code: str, name: str) -> list[str]:
    y = d.year
    body = []
    dt_ = d.dept_targets[d.dept_targets["level1_code"] == code]
    body.append("<h2>部门整体绩效目标</h2>")
    if len(dt_):
        for (dc, dn), g in dt_.groupby(["dept_code", "dept_name"], sort=False, dropna=False):
            body.append(_table(f"{_text(dn)} {y} 年度部门整体绩效目标", list(TARGET_HEADERS.values()), _target_rows(g)))
    else:
        body.append(f"<p>{y} 年度无部门整体绩效目标。</p>")
    t = d.targets[d.targets["level1_code"] == code]
    body.append("<h2>项目绩效目标</h2>")
    if len(t):
        for (pid, pname, dn), g in t.groupby(["project_id", "project_name", "dept_name"], sort=False, dropna=False):
            body.append(_table(f"{_text(pname)}（项目编码 {pid}，{_text(dn)}）{y} 年度绩效目标",
                               list(TARGET_HEADERS.values()), _target_rows(g)))
    else:
        body.append(f"<p>{y} 年度无公开的项目绩效目标。</p>")
    se = d.self_evaluations[d.self_evaluations["level1_code"] == code]
    body.append("<h2>绩效自评结果</h2>")
    body.append(f'<p class="note">{_e(selfeval_note(d))}</p>')
    if len(se):
        body.append(_table(f"{name} {d.selfeval_year} 年度项目绩效自评结果", SELF_HEADERS, _self_rows(se), row_header=0))
    else:
        body.append("<p>无公开的绩效自评结果。</p>")
    ke = d.key_evaluations[d.key_evaluations["level1_code"] == code]
    body.append("<h2>重点评价结果</h2>")
    if len(ke):
        body.append(_table(f"{name} {y} 年度财政重点评价结果", KEY_HEADERS, _key_rows(ke), row_header=0))
    else:
        body.append(f"<p>{y} 年度本部门无财政重点评价项目。</p>")
    return body


def _counts_by_dept(d) -> pd.DataFrame:
    rows = []
    for r in d.departments.itertuples(index=False):
        c = r.level1_code
        rows.append({
            "level1_code": c, "level1_name": r.level1_name,
            "project_targets": d.targets.loc[d.targets["level1_code"] == c, "project_id"].nunique(),
            "dept_targets": d.dept_targets.loc[d.dept_targets["level1_code"] == c, "dept_code"].nunique(),
            "self_evaluations": int((d.self_evaluations["level1_code"] == c).sum()),
            "key_evaluations": int((d.key_evaluations["level1_code"] == c).sum()),
        })
    return pd.DataFrame(rows, columns=["level1_code", "level1_name", *ITEM_LABELS])


def package_title(district: str, year: int) -> str:
    return f"{district}{year}年度预算绩效信息公开"


def items_sentence(d) -> str:
    """「公开绩效信息 N 条，其中……」."""
    items = d.items()
    parts = "、".join(f"{ITEM_LABELS[k]} {n} 条" for k, n in items.items())
    return f"公开绩效信息 {d.total_items()} 条，其中{parts}。"


def pages(d, *, district: str, published: str) -> dict[str, bytes]:
    """{file name: bytes} of every page of the package (``index.html`` first)."""
    title = package_title(district, d.year)
    counts = _counts_by_dept(d)
    out: dict[str, bytes] = {}
    index_rows = []
    for r in counts.itertuples(index=False):
        index_rows.append(r)
        out[dept_page(r.level1_code)] = _page(f"{r.level1_name} {d.year} 年度绩效信息公开",
                                              _dept_body(d, r.level1_code, r.level1_name), published)
    body = [f"<p><strong>{_e(items_sentence(d))}</strong></p>", f'<p class="note">{_e(ITEM_DEFINITION)}</p>',
            f'<p class="note">{_e(selfeval_note(d))}</p>',
            f'<p>全部表格另见工作簿 <a href="{_e(XLSX_NAME.format(year=d.year))}">{_e(XLSX_NAME.format(year=d.year))}</a>；'
            f'财政重点评价结果汇总见 <a href="{KEYEVAL_PAGE}">重点评价结果</a>。</p>']
    head = ["部门", *ITEM_LABELS.values(), "合计（条）"]
    lines = ['<div class="scroll"><table>', "<caption>各部门公开的绩效信息（条）</caption>", "<thead><tr>"]
    lines += [f'<th scope="col">{_e(h)}</th>' for h in head]
    lines.append("</tr></thead><tbody>")
    for r in index_rows:
        n = [r.project_targets, r.dept_targets, r.self_evaluations, r.key_evaluations]
        lines.append(f'<tr><th scope="row"><a href="{_e(dept_page(r.level1_code))}">{_e(r.level1_name)}</a></th>'
                     + "".join(f'<td class="num">{int(v)}</td>' for v in n) + f'<td class="num">{int(sum(n))}</td></tr>')
    items = d.items()
    lines.append('<tr><th scope="row">全区合计</th>' + "".join(f'<td class="num">{items[k]}</td>' for k in ITEM_LABELS)
                 + f'<td class="num">{d.total_items()}</td></tr>')
    lines.append("</tbody></table></div>")
    body.append("\n".join(lines))
    index = {INDEX_PAGE: _page(f"{title}目录", body, published)}
    ke_body = ([_table(f"{d.year} 年度财政重点评价结果", KEY_HEADERS, _key_rows(d.key_evaluations), row_header=0)]
               if len(d.key_evaluations) else [f"<p>{d.year} 年度没有公开的财政重点评价结果。</p>"])
    out[KEYEVAL_PAGE] = _page(f"{district}{d.year}年度财政重点评价结果", ke_body, published)
    return {**index, **out}


def workbook(d) -> bytes:
    """The package's xlsx: one sheet per kind of item, Chinese headers, public columns only."""
    th = TARGET_HEADERS
    tg = d.targets.rename(columns={"level1_name": "主管部门", "dept_name": "预算单位", "project_id": "项目编码",
                                   "project_name": "项目名称", **th})[["主管部门", "预算单位", "项目编码", "项目名称", *th.values()]]
    dtg = d.dept_targets.rename(columns={"level1_name": "主管部门", "dept_name": "部门", **th})[
        ["主管部门", "部门", *th.values()]]
    se = d.self_evaluations.rename(columns={
        "level1_name": "主管部门", "dept_name": "预算单位", "project_id": "项目编码", "project_name": "项目名称",
        "budget": "预算数（元）", "spent_amount": "全年执行数（元）", "execution_rate": "预算执行率",
        "satisfaction": "满意度", "reported_score": "自评得分", "grade": "自评等级"})[
        ["主管部门", "预算单位", "项目编码", "项目名称", "预算数（元）", "全年执行数（元）", "预算执行率", "满意度", "自评得分", "自评等级"]]
    ke = d.key_evaluations.rename(columns={
        "level1_name": "主管部门", "dept_name": "预算单位", "project_id": "项目编码", "project_name": "项目名称",
        "domain": "评价领域", "budget": "预算数（元）", "score_decision": "决策得分", "score_process": "过程得分",
        "score_output": "产出得分", "score_effect": "效益得分", "total_score": "综合得分（百分制）", "grade": "评价等级"})[
        ["主管部门", "预算单位", "项目编码", "项目名称", "评价领域", "预算数（元）", "决策得分", "过程得分", "产出得分",
         "效益得分", "综合得分（百分制）", "评价等级"]]
    summary = pd.DataFrame({"公开内容": [ITEM_LABELS[k] for k in d.items()] + ["合计"],
                            "条数": [*d.items().values(), d.total_items()]})
    return write_xlsx([("公开条数", summary), ("项目绩效目标", tg), ("部门整体绩效目标", dtg),
                       ("绩效自评结果", se), ("重点评价结果", ke)])
