"""``docs/input-format.md``, rendered from the schema so that the documentation and the reader agree.

Regenerate with ``python -m perflib.ingest.docs docs/input-format.md``; a test checks the committed file
equals :func:`render_input_format` and that every example table below is itself valid input.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .sources import HEADER_SEARCH_ROWS
from ..schema import (
    CLASSIFICATION_SOURCE, ECON_BUDGET_PREFIX, ECON_OUTTURN_PREFIX, ENUM, ENUM_SYNONYMS, EXPENDITURE_HEADS, FALSE_WORDS,
    HEAD_BUDGET_PREFIX, HEAD_OUTTURN_PREFIX,
    KIND_LABELS, MONEY_UNITS, STREET_FISCAL_INDICATORS, TABLE_ORDER, TABLES, TOTAL_LABELS,
    TRUE_WORDS, Table,
)

__all__ = ["render_input_format", "EXAMPLES", "DOC_PATH"]

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "input-format.md"

# One small example per table, as the staff would export it (Chinese headers; cells as text). The
# examples together form a valid export folder (tests/ingest/test_docs.py loads them).
EXAMPLES: dict[str, list[dict[str, str]]] = {
    "departments": [
        {"dept_code": "101", "dept_name": "区教体局", "parent_code": "", "sector": "教育", "is_street": "否"},
        {"dept_code": "10101", "dept_name": "区实验小学", "parent_code": "101", "sector": "教育", "is_street": "否"},
        {"dept_code": "201", "dept_name": "东风街道办事处", "parent_code": "", "sector": "街道", "is_street": "是"},
    ],
    "projects": [
        {"project_id": "2023-101-001", "year": "2023", "dept_code": "101", "project_name": "运动场地建设资金",
         "project_type": "", "budget_kind": "一般公共预算", "fund_source": "本级",
         "transfer_level": "", "bond_type": "", "fund_nature": "年初",
         "budget_amount": "1,200,000.00", "adjusted_amount": "1,300,000.00", "is_classified": "否",
         "is_special": "否", "func_code": "2050299", "econ_code": "31005"},
        {"project_id": "2023-201-001", "year": "2023", "dept_code": "201", "project_name": "辖区道路保洁",
         "project_type": "道路保洁", "budget_kind": "一般公共预算", "fund_source": "本级",
         "transfer_level": "", "bond_type": "", "fund_nature": "追加",
         "budget_amount": "3,560,000.00", "adjusted_amount": "", "is_classified": "否", "is_special": "否",
         "func_code": "2120501", "econ_code": "30227"},
    ],
    "targets": [
        {"project_id": "2023-101-001", "dept_code": "101", "year": "2023", "level1": "产出指标",
         "level2": "数量指标", "indicator": "新建运动场地", "direction": "≥", "target_value": "3",
         "unit": "个", "weight": "20"},
        {"project_id": "2023-101-001", "dept_code": "101", "year": "2023", "level1": "满意度指标",
         "level2": "服务对象满意度指标", "indicator": "群众满意度", "direction": "≥", "target_value": "90",
         "unit": "%", "weight": "10"},
        {"project_id": "", "dept_code": "101", "year": "2023", "level1": "效益指标",
         "level2": "社会效益指标", "indicator": "义务教育巩固率", "direction": "定性",
         "target_value": "保持稳定", "unit": "", "weight": ""},
    ],
    "payments": [
        {"project_id": "2023-101-001", "year": "2023", "pay_date": "2023-03-15", "amount": "200,000.00",
         "econ_code": "31005"},
        {"project_id": "2023-201-001", "year": "2023", "pay_date": "2023/7/31", "amount": "296,666.67",
         "econ_code": ""},
    ],
    "monitoring": [
        {"project_id": "2023-101-001", "year": "2023", "as_of_month": "7", "indicator": "新建运动场地",
         "actual_value": "1", "deviation_reason": "经费保障", "likelihood": "有可能", "key_monitored": "是"},
        {"project_id": "2023-101-001", "year": "2023", "as_of_month": "7", "indicator": "群众满意度",
         "actual_value": "", "deviation_reason": "", "likelihood": "确定能", "key_monitored": "是"},
    ],
    "self_evaluations": [
        {"project_id": "2023-101-001", "year": "2023", "spent_amount": "1,250,000.00", "satisfaction": "93",
         "reported_score": "92"},
    ],
    "self_eval_indicators": [
        {"project_id": "2023-101-001", "year": "2023", "indicator": "新建运动场地", "actual_value": "3"},
        {"project_id": "2023-101-001", "year": "2023", "indicator": "群众满意度", "actual_value": "93"},
    ],
    "key_evaluations": [
        {"project_id": "2023-201-001", "year": "2023", "domain": "城乡社区", "score_decision": "16",
         "score_process": "15", "score_output": "24", "score_effect": "22", "next_request": "3,800,000.00",
         "next_approved": "3,200,000.00", "findings": "保洁面积测算依据不足", "max_decision": "20",
         "max_process": "20", "max_output": "30", "max_effect": "30"},
    ],
    "costs": [
        {"project_id": "2023-201-001", "year": "2023", "cost_element": "人员成本", "amount": "2,100,000.00"},
        {"project_id": "2023-201-001", "year": "2023", "cost_element": "委托业务费", "amount": "1,300,000.00"},
    ],
    "outputs": [
        {"project_id": "2023-201-001", "year": "2023", "output_name": "道路保洁面积", "unit": "万平方米",
         "quantity": "125.5", "quality_score": "92"},
    ],
    "street_fiscal": [
        {"dept_code": "201", "year": "2023", "indicator": "一般公共预算收入", "value": "52,000,000"},
        {"dept_code": "201", "year": "2023", "indicator": f"{HEAD_OUTTURN_PREFIX}教育支出", "value": "8,300,000"},
    ],
    "next_budgets": [
        {"project_id": "2023-201-001", "year": "2024", "budget": "3,300,000.00", "new_or_continuing": "延续"},
        {"project_id": "2024-101-001", "year": "2024", "budget": "800,000.00", "new_or_continuing": "新增"},
    ],
    "ex_ante": [
        {"project_id": "2024-101-001", "year": "2024", "assess_date": "2023-09-15", "conclusion": "调整后支持",
         "suggested_amount": "800,000.00", "assessor": "区预算绩效评价中心"},
        {"project_id": "2024-102-003", "year": "2024", "assess_date": "2023/9/20", "conclusion": "不支持",
         "suggested_amount": "", "assessor": "第三方评估机构"},
    ],
    "rectifications": [
        {"problem_id": "ZDPJ-2023-201-001-2023", "source": "重点评价", "project_id": "2023-201-001",
         "dept_code": "201", "year": "2023", "finding": "绩效目标不够细化", "measure": "修订绩效目标",
         "deadline": "2024-03-31", "status": "已整改", "date_done": "2024-03-15", "evidence": "修订后的目标表",
         "budget_consequence": "下年度预算压减 10%"},
        {"problem_id": "QT-201-2023-01", "source": "其他", "project_id": "", "dept_code": "201",
         "year": "2023", "finding": "部门整体绩效目标未公开", "measure": "", "deadline": "2024-06-30",
         "status": "整改中", "date_done": "", "evidence": "", "budget_consequence": ""},
    ],
}


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return lines


def _kind_text(col) -> str:
    if col.kind == ENUM:
        return "限定取值：" + "、".join(col.allowed)
    text = KIND_LABELS[col.kind]
    if col.minimum is not None and col.maximum is not None:
        text += f"，{col.minimum:g}–{col.maximum:g}"
    elif col.minimum is not None:
        text += f"，不小于 {col.minimum:g}"
    return text


def _table_section(t: Table) -> list[str]:
    out = [f"### {t.label}（{t.name}）", "", t.doc, ""]
    if not t.required:
        out += ["本表可省略：没有本表时照常导入，各报告照常生成，用到本表的部分注明缺少这项数据。", ""]
    names = "、".join(f"`{n}`" for n in t.names)
    out += [f"文件名或工作表名：{names}", ""]
    rows = []
    for c in t.columns:
        required = "必需" if c.required else "可省略"
        empty = "可以" if c.nullable else "不可以"
        if c.default is not None:
            empty += f"（空时按「{'是' if c.default is True else '否' if c.default is False else c.default}」）"
        doc = "；".join(x for x in (c.doc, "内部材料：绩效信息公开包（perflib publish）不含此列" if c.internal else "") if x)
        rows.append([c.header, f"`{c.name}`", _kind_text(c), required, empty, doc])
    out += _md_table(["表头", "英文列名", "类型与取值", "列", "单元格可为空", "说明"], rows)
    out.append("")
    if t.key:
        out.append("唯一性：每个「" + "＋".join(t.column(k).header for k in t.key) + "」只能有一行。")
    for ref in t.references:
        target = TABLES[ref.target]
        src = "＋".join(t.column(c).header for c in ref.columns)
        dst = "＋".join(target.column(c).header for c in ref.target_columns)
        out.append(f"对应关系：「{src}」须在「{target.label}」表的「{dst}」中存在"
                   f"（本次导入的或数据库中已有的；为空的不检查）。")
    if t.name == "payments":
        out.append("支付日期须在「年度」所指的年份之内。")
        out.append("「经济分类」填部门预算支出经济分类科目编码（类 3 位、款 5 位，" + CLASSIFICATION_SOURCE
                   + "）；监控报告按其前 3 位（类）和前 5 位（款）汇总支出，未填的单列为「未填分类」。")
    if t.name == "projects":
        out.append("「功能分类」填支出功能分类科目编码（类·款·项 7 位，如 2050201 = 教育支出·普通教育·学前教育，"
                   + CLASSIFICATION_SOURCE + "）；监控报告按其前 3 位（类）和前 5 位（款）汇总预算执行。"
                   "「经济分类」是该项目预算的经济分类科目；街道财政表没有按经济分类的预算数和决算数时，"
                   "财政运行评价用它和支出明细的经济分类计算 PEFA PI-2.2。")
    if t.name == "ex_ante":
        out.append("结论为 不支持 而本年度安排了年初预算、结论为 调整后支持 而年初预算数超过建议安排数的，"
                   "绩效目标审核报告列为与评估结论不符；年初预算数达到规则 ex_ante.amount_threshold 的新增项目没有评估的，列为未开展事前评估。")
    if t.name == "targets":
        out.append("指标方向为 ≥、≤、= 的定量指标，指标值须为数值（百分比写 95，计量单位写 %）；"
                   "文字目标的指标方向写 定性。")
    if t.name == "street_fiscal":
        out.append("「街道编码」须是「部门」表中「是否街道」为 是 的部门。")
        out.append("")
        out.append("「指标」列的取值：")
        out.append("")
        out += _md_table(["指标", "含义"], [[k, v] for k, v in STREET_FISCAL_INDICATORS.items()])
        out.append("")
        out.append(f"按支出功能科目的预算与决算（用于支出结构偏差）：`{HEAD_BUDGET_PREFIX}<科目>`、"
                   f"`{HEAD_OUTTURN_PREFIX}<科目>`，科目为：" + "、".join(EXPENDITURE_HEADS) + "。")
        out.append(f"按支出经济分类的预算与决算（可省略，用于 PEFA PI-2.2）：`{ECON_BUDGET_PREFIX}<类>`、"
                   f"`{ECON_OUTTURN_PREFIX}<类>`，如 `{ECON_OUTTURN_PREFIX}商品和服务支出`。")
    if t.accumulate_by:
        out.append("重复导入时按「" + "＋".join(t.column(c).header for c in t.accumulate_by)
                   + "」替换：新的某月快照只替换该月，各月快照逐月累积。")
    elif t.name == "departments":
        out.append("重复导入时整表替换。")
    else:
        out.append("重复导入时按「年度」替换：只替换本次文件中出现的年度，其他年度保留。")
    out += ["", "示例：", ""]
    ex = EXAMPLES[t.name]
    cols = [c for c in t.columns]
    out += _md_table([c.header for c in cols], [[r.get(c.name, "") for c in cols] for r in ex])
    out.append("")
    return out


ERROR_KINDS = (
    "文件无法读取（损坏、加密、旧版 .xls、编码混杂或乱码、引号不配对、无法识别对应哪张表、没有数据行）",
    "缺少必需的列、同一列出现两次、无法识别的金额单位",
    "数值、日期、是/否无法识别，Excel 错误值，未计算的公式，科学计数法",
    "必填项为空（定性指标的「指标值」除外，见下表），不是允许的取值，超出取值范围，金额达到 1 万亿元",
    "同一键重复（如 项目编码+年度），对应关系不存在（如支出明细的项目不在项目表中）",
    "记录不在所属年度内（支付日期不在「年度」内或晚于今天），街道财政的编码不是街道",
    "合计行与各行之和不一致，表格中间的小计行，与金额列单位不一致的「单位」列",
    "定量指标的指标值不是数值，涉密项目名称过短，项目编码使用保留标记",
)


def _grading_section() -> list[str]:
    """The errors and the finding kinds (label, table, column, when, default severity)."""
    from ..rules import load_rules
    from ..schema import FINDING_KINDS
    from .findings import COUNTED_OPTIONAL, GAPS

    severity = load_rules().value("ingest.severity")
    words = {"error": "错误（拒绝导入）", "finding": "提示（照常导入）"}
    rows = []
    for kind in FINDING_KINDS.values():
        table = TABLES[kind.table].label if kind.table else "各表"
        cols = sorted({TABLES[g.table].column(g.column).header for g in GAPS if g.kind == kind.name})
        if kind.name == "optional_column_missing":
            cols = [f"{TABLES[t].label}：{'、'.join(TABLES[t].column(c).header for c in cs)}"
                    for t, cs in COUNTED_OPTIONAL.items()]
        rows.append([kind.label, f"`{kind.name}`", table, "；".join(cols), kind.doc, words[severity[kind.name]]])
    out = [
        "## 错误与数据质量提示",
        "",
        "每一处问题都标明文件、工作表、行号和列名，并分为两级：",
        "",
        "- **错误**：会使数字出错或含义不明，整个导出被拒绝（退出码 2），数据库保持原样。包括：",
    ]
    out += [f"  - {e}" for e in ERROR_KINDS]
    out += [
        "- **数据质量提示**：内容缺项，不使任何金额或得分出错，分析可以如实说明而不必猜测。照常导入，"
        "每一处记入数据库的 `findings` 表（种类、文件、工作表、行号、列名、所属表和记录的键、部门、项目、"
        "年度、导入批次），随所描述的数据一起替换；导入时列出各类数量和前几处位置。",
        "",
        "规则文件的 `ingest.severity` 可把任一种提示改为错误（如 `qualitative_target_missing: error`），"
        "`perflib ingest --strict` 把所有提示都当作错误。`perflib check 文件夹` 只检查、不写数据库，"
        "列出错误和提示（有错误时退出码 2）。",
        "",
    ]
    out += _md_table(["提示", "种类", "表", "列", "何时出现", "默认分级"], rows)
    out.append("")
    return out


def render_input_format() -> str:
    """The Markdown of ``docs/input-format.md`` (Chinese, for the staff who export the data)."""
    units = "、".join(f"{u}" for u in MONEY_UNITS)
    synonyms = "；".join(f"{'、'.join(s)} → {c}" for c, s in ENUM_SYNONYMS.items())
    totals = "、".join(sorted({t.replace(" ", "") for t in TOTAL_LABELS}))
    lines = [
        "# 导出数据格式说明（perflib 导入）",
        "",
        "> 本文件由 `python -m perflib.ingest.docs docs/input-format.md` 根据 `perflib/schema.py` 生成，"
        "请勿手工修改；测试会检查两者一致。",
        "",
        "把预算系统导出的数据放进一个文件夹，运行 `perflib ingest 文件夹 --db data/perf.duckdb`。"
        "没有错误才写入数据库；有错误时列出每一处问题（文件、工作表、Excel 中的行号、列名、"
        "错误的值、应填什么），数据库保持原样。内容缺项（数据质量提示）不阻止导入，见「错误与数据质量提示」。",
        "",
        "## 文件",
        "",
        "- 文件夹第一层的 `.xlsx` 或 `.csv` 文件（子文件夹不读取）。旧版 `.xls` 请另存为 `.xlsx`。",
        "- 文件名（或工作表名）即表名：可用中文表名、别名或英文名，见下文各表。"
        "可带年度前缀或后缀（`2023年项目.xlsx`、`项目2023.csv`）。",
        "- 一张表可拆成多个文件，按编号命名（`支出明细-001.csv`、`支出明细-002.csv`），导入时合并。",
        "- 一个工作簿可以放多张表，每张表一个工作表，工作表名为表名；空白工作表忽略。"
        "工作表名无法识别时按文件名识别。",
        "- 忽略：以 `.` 或 `~$` 开头的文件（隐藏文件、Excel 临时文件），以 `README` 或 `说明` 开头的文件。"
        "其他无法识别的文件会报错，请移出文件夹。",
        "- CSV 编码：UTF-8（带或不带 BOM）或 GBK/GB18030，自动识别；分隔符为逗号（也接受制表符）。",
        "",
        "## 表头",
        "",
        "- 中文表头（如下各表）或英文列名均可；表头前后的空格、必填标记 `*` 不影响识别。",
        f"- 表头行须在前 {HEADER_SEARCH_ROWS} 行内，上方可以有标题行。",
        f"- 金额列的表头可注明单位：{units}，括号全角半角均可，如 `年初预算数(元)`、`年初预算数（万元）`、"
        "`下年度申请数（亿元）`；未注明的按元。表头上方写有「单位：万元」时，未注明单位的金额列按万元。"
        "导入后一律以元为单位、精确到分。",
        "- 必需列缺少时报错；同一列出现两次时报错；不认识的其他列（如「备注」）不读取。",
        "",
        "## 单元格",
        "",
        "- 空行跳过（行号仍按 Excel 中的行号报告）。",
        f"- 最后一行为「{totals}」时视为合计行：逐个金额列核对「合计 = 各行之和」（相差超过 1 分即报错，"
        "报告两个数），核对后不导入。",
        "- 数值可带千分位逗号（`1,234,567.89`）、全角数字（`１２３`）、货币符号 `¥`；Excel 错误值"
        "（`#N/A`、`#DIV/0!` 等）报错。",
        f"- 是/否：{'、'.join(TRUE_WORDS)} 为是；{'、'.join(FALSE_WORDS)} 为否。",
        "- 日期：`2023-07-31`、`2023/7/31`、`2023年7月31日`、`20230731`、Excel 日期单元格或 Excel 日期序号。",
        "- 年度可写 `2023` 或 `2023年`；月份可写 `7` 或 `7月`。",
        "- 编码按文本保存（CSV 中的前导零保留；Excel 中请把编码列设为文本格式，否则前导零会被 Excel 去掉）。",
        f"- 限定取值的列接受以下写法：{synonyms}。",
        "- 指标值：数值写数字（`95`、`95%` 均读作 95），定性指标写文字。",
        "",
        "## 类型",
        "",
    ]
    lines += _md_table(["类型", "写法"], [[KIND_LABELS[k].split("（")[0], KIND_LABELS[k]] for k in KIND_LABELS])
    lines += [
        "",
        "## 导入规则",
        "",
        "- 没有错误才写入（数据质量提示与数据一同写入）：先在数据库旁生成完整的新数据库，再一次性替换；任何失败或中断都不会改动原数据库。",
        "- 按表、按年度替换：某表本次导入的年度替换数据库中该表同一年度的数据，其他年度保留"
        "（重新导出 2023 年，2022 年不受影响）。「绩效监控」按年度＋监控月份替换，各月快照逐月累积；"
        "「部门」整表替换。",
        "- 对应关系（如支出明细的项目须在项目表中）对照「本次导入 + 数据库中保留的数据」检查；"
        "本次导入会使数据库中已有数据失去对应时也报错。",
        "- 再次导入同样的文件，数据库内容不变；若文件与上次导入完全相同（文件名和 sha256 一致），且规则文件、"
        "`--strict` 与 perflib 的导入程序都未改变、今天不早于上次导入的日期，则只计算各文件的 sha256、不再解析文件，"
        "数据库不重写，也不新增 `loads` 记录（命令提示“数据库未改动”）；任何一个文件改动一个字节、增删或改名，"
        "或规则改变，都按完整流程重新检查和导入。",
        "- 每次导入在 `loads` 表中记录每个文件（工作表）的 sha256、行数、表名、时间和 perflib 版本，"
        "以及本次检查所依据的规则和程序的指纹（`check_sha256`）。",
        "",
    ]
    lines += _grading_section()
    lines += [
        "## 各表",
        "",
    ]
    for name in TABLE_ORDER:
        lines += _table_section(TABLES[name])
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = render_input_format()
    if argv:
        Path(argv[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
