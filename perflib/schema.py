"""The input tables of an export folder: canonical names, Chinese headers, types, allowed values, keys.

This module is the single description of the input format. The reader, the validator, the DuckDB
store and ``docs/input-format.md`` are all driven by it, so they cannot disagree.
"""
from __future__ import annotations

from dataclasses import dataclass

# Column kinds. ``money`` is stored as DECIMAL(18,2) in 元; a header may carry 元/万元/亿元.
TEXT = "text"  # free text
CODE = "code"  # an identifier: kept as text exactly as written (leading zeros matter)
INT = "int"
YEAR = "year"
MONTH = "month"
MONEY = "money"
NUMBER = "number"
DATE = "date"
BOOL = "bool"
ENUM = "enum"
VALUE = "value"  # an indicator value: a number for ≥/≤/= indicators, text for 定性 ones

KIND_LABELS = {
    TEXT: "文本",
    CODE: "编码（文本，保留前导零）",
    INT: "整数",
    YEAR: "年度（四位整数，如 2023）",
    MONTH: "月份（1–12 的整数）",
    MONEY: "金额（元；表头可注明单位 元/万元/亿元，可含千分位逗号）",
    NUMBER: "数值",
    DATE: "日期（2023-07-31、2023/7/31、2023年7月31日 或 Excel 日期）",
    BOOL: "是/否（也接受 true/false、1/0、Y/N）",
    ENUM: "限定取值",
    VALUE: "指标值（定量指标为数值，定性指标为文字）",
}

DUCKDB_TYPES = {
    TEXT: "VARCHAR",
    CODE: "VARCHAR",
    INT: "BIGINT",
    YEAR: "INTEGER",
    MONTH: "INTEGER",
    MONEY: "DECIMAL(18,2)",
    NUMBER: "DOUBLE",
    DATE: "DATE",
    BOOL: "BOOLEAN",
    ENUM: "VARCHAR",
    VALUE: "VARCHAR",
}

BUDGET_KINDS = ("一般公共预算", "政府性基金预算", "国有资本经营预算", "社会保险基金预算")
FUND_SOURCES = ("本级", "上级转移支付", "政府债券", "直达资金")
FUND_TRANSFER = "上级转移支付"  # the fund source a 转移支付级次 applies to
FUND_BOND = "政府债券"  # the fund source a 债券类型 applies to
TRANSFER_LEVELS = ("中央", "省", "市")
BOND_TYPES = ("一般债券", "专项债券")
FUND_NATURES = ("年初", "追加", "调剂", "结转")
INDICATOR_LEVELS = ("产出指标", "效益指标", "满意度指标", "成本指标")
DIRECTIONS = ("≥", "≤", "=", "定性")
LIKELIHOODS = ("确定能", "有可能", "完全不可能")

# Spellings accepted for an allowed value, mapped to the canonical one.
ENUM_SYNONYMS = {
    "≥": (">=", "＞＝", "≧", "大于等于", "不低于"),
    "≤": ("<=", "＜＝", "≦", "小于等于", "不高于"),
    "=": ("＝", "等于"),
    "定性": ("定性指标",),
    "产出指标": ("产出",),
    "效益指标": ("效益",),
    "满意度指标": ("满意度",),
    "成本指标": ("成本",),
    "一般债券": ("一般债",),
    "专项债券": ("专项债",),
    "年初": ("年初预算",),
}

MONEY_UNITS = {"元": 1, "万元": 10_000, "亿元": 100_000_000}
TRUE_WORDS = ("是", "true", "True", "TRUE", "1", "Y", "y", "yes", "Yes", "√")
FALSE_WORDS = ("否", "false", "False", "FALSE", "0", "N", "n", "no", "No", "×")
TOTAL_LABELS = ("合计", "总计", "合  计", "总  计")


@dataclass(frozen=True)
class Column:
    """One column of an input table.

    ``required``: the header must be present. ``nullable``: a cell may be empty (``default`` then
    fills it where given). ``allowed``: the canonical allowed values of an ``enum`` column.
    ``internal``: the column is the bureau's working material (reasons, reviewers' notes, evidence,
    measures), never shown to the public: ``perflib publish`` (绩效信息公开) leaves it out.
    """

    name: str
    header: str
    kind: str
    required: bool = True
    nullable: bool = False
    default: object = None
    allowed: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    doc: str = ""
    internal: bool = False

    @property
    def sql_type(self) -> str:
        return DUCKDB_TYPES[self.kind]

    def expected(self) -> str:
        """A Chinese description of what a cell of this column must hold (used in error messages)."""
        if self.kind == ENUM:
            text = "以下之一：" + "、".join(self.allowed)
        else:
            text = KIND_LABELS[self.kind]
        if self.minimum is not None and self.maximum is not None:
            text += f"，取值 {self.minimum:g}–{self.maximum:g}"
        elif self.minimum is not None:
            text += f"，不小于 {self.minimum:g}"
        if not self.nullable:
            text += "，不能为空"
        return text


@dataclass(frozen=True)
class Reference:
    """Referential integrity: ``columns`` of this table must match ``target_columns`` of ``target``.

    Rows where any of ``columns`` is empty are not checked (e.g. a department-level target has no
    project).
    """

    columns: tuple[str, ...]
    target: str
    target_columns: tuple[str, ...]
    where: str | None = None  # optional SQL condition on the target table (e.g. is_street)


@dataclass(frozen=True)
class Table:
    """One input table: the file or sheet name it is recognised by, its columns, key and references."""

    name: str
    label: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    references: tuple[Reference, ...] = ()
    aliases: tuple[str, ...] = ()
    doc: str = ""
    # Rows are replaced per (key of accumulate_by) on re-ingest, so monthly snapshots accumulate.
    accumulate_by: tuple[str, ...] = ()
    # False: an optional table (SPEC "Optional tables and columns"): an export without it loads and
    # every report renders, the sections that need it saying which data they need; a database made
    # before the table existed still opens (the table reads as empty).
    required: bool = True

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, self.label, *self.aliases)

    @property
    def money_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.kind == MONEY)


def _c(name, header, kind, **kw) -> Column:
    return Column(name=name, header=header, kind=kind, **kw)


YEAR_RANGE = dict(minimum=2000, maximum=2100)

TABLES: dict[str, Table] = {}


def _add(table: Table) -> Table:
    TABLES[table.name] = table
    return table


DEPARTMENTS = _add(Table(
    name="departments", label="部门", aliases=("部门信息", "预算部门", "单位"),
    doc="预算部门与单位。上级部门编码为空的是一级预算部门。",
    columns=(
        _c("dept_code", "部门编码", CODE, doc="部门或单位的编码，如 101"),
        _c("dept_name", "部门名称", TEXT, doc="如 区教体局"),
        _c("parent_code", "上级部门编码", CODE, nullable=True, doc="为空表示一级预算部门"),
        _c("sector", "行业领域", TEXT, required=False, nullable=True, doc="如 教育、卫生健康"),
        _c("is_street", "是否街道", BOOL, required=False, nullable=True, default=False,
           doc="街道办事处填 是"),
    ),
    key=("dept_code",),
    references=(Reference(("parent_code",), "departments", ("dept_code",)),),
))

PROJECTS = _add(Table(
    name="projects", label="项目", aliases=("项目信息", "项目支出", "项目库"),
    doc="项目支出预算，每个项目每个年度一行。",
    columns=(
        _c("project_id", "项目编码", CODE),
        _c("year", "年度", YEAR, **YEAR_RANGE),
        _c("dept_code", "部门编码", CODE),
        _c("project_name", "项目名称", TEXT),
        _c("project_type", "项目类型", TEXT, required=False, nullable=True,
           doc="成本绩效分析用的项目类型，如 道路保洁、文博场馆运行"),
        _c("budget_kind", "预算类型", ENUM, allowed=BUDGET_KINDS),
        _c("fund_source", "资金来源", ENUM, allowed=FUND_SOURCES),
        _c("transfer_level", "转移支付级次", ENUM, required=False, nullable=True, allowed=TRANSFER_LEVELS,
           doc="资金来源为 上级转移支付 时填写（中央、省、市级对下转移支付）；其他来源留空"),
        _c("bond_type", "债券类型", ENUM, required=False, nullable=True, allowed=BOND_TYPES,
           doc="资金来源为 政府债券 时填写；其他来源留空"),
        _c("fund_nature", "资金性质", ENUM, required=False, nullable=True, allowed=FUND_NATURES,
           doc="年初安排、年中追加、调剂或上年结转"),
        _c("budget_amount", "年初预算数", MONEY, minimum=0),
        _c("adjusted_amount", "调整后预算数", MONEY, required=False, nullable=True, minimum=0,
           doc="为空时按年初预算数计"),
        _c("is_classified", "是否涉密", BOOL, required=False, nullable=True, default=False),
        _c("is_special", "是否特殊资金", BOOL, required=False, nullable=True, default=False),
        _c("func_code", "功能分类", CODE, required=False, nullable=True,
           doc="支出功能分类科目编码（类·款·项，7 位，如 2050201 学前教育）；可省略，监控报告据此按功能分类汇总"),
        _c("econ_code", "经济分类", CODE, required=False, nullable=True,
           doc="预算的支出经济分类科目编码（如 30227 委托业务费）；可省略，与支出明细的经济分类一起用于 PEFA PI-2.2"),
    ),
    key=("project_id", "year"),
    references=(Reference(("dept_code",), "departments", ("dept_code",)),),
))

TARGETS = _add(Table(
    name="targets", label="绩效目标", aliases=("绩效目标表", "绩效指标"),
    doc="项目绩效目标（项目编码为空的是部门整体绩效目标），每个三级指标一行。",
    columns=(
        _c("project_id", "项目编码", CODE, nullable=True, doc="为空表示部门整体绩效目标"),
        _c("dept_code", "部门编码", CODE),
        _c("year", "年度", YEAR, **YEAR_RANGE),
        _c("level1", "一级指标", ENUM, allowed=INDICATOR_LEVELS),
        _c("level2", "二级指标", TEXT, nullable=True, doc="如 数量指标、质量指标、时效指标"),
        _c("indicator", "三级指标", TEXT),
        _c("direction", "指标方向", ENUM, allowed=DIRECTIONS),
        _c("target_value", "指标值", VALUE),
        _c("unit", "计量单位", TEXT, nullable=True),
        _c("weight", "分值", NUMBER, nullable=True, minimum=0, maximum=100),
    ),
    key=("year", "dept_code", "project_id", "indicator"),
    references=(
        Reference(("dept_code",), "departments", ("dept_code",)),
        Reference(("project_id", "year"), "projects", ("project_id", "year")),
    ),
))

PAYMENTS = _add(Table(
    name="payments", label="支出明细", aliases=("支付明细", "国库支付", "支出"),
    doc="国库集中支付明细，每笔支付一行。支付日期须在所属年度内。",
    columns=(
        _c("project_id", "项目编码", CODE),
        _c("year", "年度", YEAR, **YEAR_RANGE),
        _c("pay_date", "支付日期", DATE),
        _c("amount", "支付金额", MONEY, minimum=0),
        _c("econ_code", "经济分类", CODE, required=False, nullable=True,
           doc="部门预算支出经济分类科目编码（类 3 位、款 5 位，如 30201 办公费）；可省略，监控报告据此按经济分类汇总"),
    ),
    references=(Reference(("project_id", "year"), "projects", ("project_id", "year")),),
))

MONITORING = _add(Table(
    name="monitoring", label="绩效监控", aliases=("绩效运行监控", "监控"),
    doc="绩效运行监控（双监控）目标进度，按监控月份逐月累积。",
    columns=(
        _c("project_id", "项目编码", CODE),
        _c("year", "年度", YEAR, **YEAR_RANGE),
        _c("as_of_month", "监控月份", MONTH, minimum=1, maximum=12),
        _c("indicator", "三级指标", TEXT),
        _c("actual_value", "执行值", VALUE, nullable=True),
        _c("deviation_reason", "偏差原因", TEXT, required=False, nullable=True,
           doc="经费保障、制度保障、人员保障、硬件条件保障、其他", internal=True),
        _c("likelihood", "完成可能性", ENUM, allowed=LIKELIHOODS),
        _c("key_monitored", "是否重点监控", BOOL, required=False, nullable=True, default=False),
    ),
    key=("project_id", "year", "as_of_month", "indicator"),
    references=(Reference(("project_id", "year"), "projects", ("project_id", "year")),),
    accumulate_by=("year", "as_of_month"),
))

SELF_EVALUATIONS = _add(Table(
    name="self_evaluations", label="绩效自评", aliases=("自评", "自评结果"),
    doc="项目绩效自评结果，年度为被评价的预算年度。",
    columns=(
        _c("project_id", "项目编码", CODE),
        _c("year", "年度", YEAR, **YEAR_RANGE),
        _c("spent_amount", "全年执行数", MONEY, minimum=0),
        _c("satisfaction", "满意度", NUMBER, nullable=True, minimum=0, maximum=100),
        _c("reported_score", "自评得分", NUMBER, minimum=0, maximum=100),
    ),
    key=("project_id", "year"),
    references=(Reference(("project_id", "year"), "projects", ("project_id", "year")),),
))

SELF_EVAL_INDICATORS = _add(Table(
    name="self_eval_indicators", label="自评指标", aliases=("自评指标完成情况",),
    doc="自评时各三级指标的实际完成值。",
    columns=(
        _c("project_id", "项目编码", CODE),
        _c("year", "年度", YEAR, **YEAR_RANGE),
        _c("indicator", "三级指标", TEXT),
        _c("actual_value", "实际完成值", VALUE, nullable=True),
    ),
    key=("project_id", "year", "indicator"),
    references=(Reference(("project_id", "year"), "self_evaluations", ("project_id", "year")),),
))

KEY_EVALUATIONS = _add(Table(
    name="key_evaluations", label="重点评价", aliases=("财政重点评价", "重点绩效评价"),
    doc="财政重点绩效评价：各维度得分与下年度预算安排。",
    columns=(
        _c("project_id", "项目编码", CODE),
        _c("year", "年度", YEAR, **YEAR_RANGE),
        _c("domain", "评价领域", TEXT, nullable=True),
        _c("score_decision", "决策得分", NUMBER, minimum=0, maximum=100),
        _c("score_process", "过程得分", NUMBER, minimum=0, maximum=100),
        _c("score_output", "产出得分", NUMBER, minimum=0, maximum=100),
        _c("score_effect", "效益得分", NUMBER, minimum=0, maximum=100),
        _c("next_request", "下年度申请数", MONEY, minimum=0),
        _c("next_approved", "下年度安排数", MONEY, minimum=0),
        _c("findings", "主要问题", TEXT, required=False, nullable=True, internal=True,
           doc="评价组写给部门的问题与意见（内部材料，不公开）"),
        # Each dimension's maximum points in this evaluation's scheme (财预〔2020〕10号 leaves the split
        # to the scheme); where given they win over the rules' key_evaluation.weight_* defaults.
        _c("max_decision", "决策满分", NUMBER, required=False, nullable=True, minimum=0, maximum=100,
           doc="本次评价方案中决策维度的满分；为空时按规则文件 key_evaluation.weight_decision"),
        _c("max_process", "过程满分", NUMBER, required=False, nullable=True, minimum=0, maximum=100,
           doc="本次评价方案中过程维度的满分；为空时按规则文件 key_evaluation.weight_process"),
        _c("max_output", "产出满分", NUMBER, required=False, nullable=True, minimum=0, maximum=100,
           doc="本次评价方案中产出维度的满分；为空时按规则文件 key_evaluation.weight_output"),
        _c("max_effect", "效益满分", NUMBER, required=False, nullable=True, minimum=0, maximum=100,
           doc="本次评价方案中效益维度的满分；为空时按规则文件 key_evaluation.weight_effect"),
    ),
    key=("project_id", "year"),
    references=(Reference(("project_id", "year"), "projects", ("project_id", "year")),),
))

COSTS = _add(Table(
    name="costs", label="成本构成", aliases=("成本", "成本明细"),
    doc="项目成本按成本要素拆分（人员、商品和服务、委托业务、设备购置/折旧、其他）。",
    columns=(
        _c("project_id", "项目编码", CODE),
        _c("year", "年度", YEAR, **YEAR_RANGE),
        _c("cost_element", "成本要素", TEXT),
        _c("amount", "金额", MONEY, minimum=0),
    ),
    key=("project_id", "year", "cost_element"),
    references=(Reference(("project_id", "year"), "projects", ("project_id", "year")),),
))

OUTPUTS = _add(Table(
    name="outputs", label="产出数量", aliases=("产出", "产出情况"),
    doc="项目产出数量与质量得分，用于计算单位成本。",
    columns=(
        _c("project_id", "项目编码", CODE),
        _c("year", "年度", YEAR, **YEAR_RANGE),
        _c("output_name", "产出名称", TEXT),
        _c("unit", "计量单位", TEXT),
        _c("quantity", "产出数量", NUMBER, minimum=0),
        _c("quality_score", "质量得分", NUMBER, required=False, nullable=True, minimum=0, maximum=100),
    ),
    key=("project_id", "year", "output_name"),
    references=(Reference(("project_id", "year"), "projects", ("project_id", "year")),),
))

STREET_FISCAL = _add(Table(
    name="street_fiscal", label="街道财政", aliases=("街道财政运行", "街道财政指标"),
    doc="街道级财政运行指标（收入、支出、三保、行政成本、债务、结转结余等），每个指标一行。",
    columns=(
        _c("dept_code", "街道编码", CODE),
        _c("year", "年度", YEAR, **YEAR_RANGE),
        _c("indicator", "指标", TEXT),
        _c("value", "数值", NUMBER, doc="金额类指标以元计"),
    ),
    key=("dept_code", "year", "indicator"),
    references=(Reference(("dept_code",), "departments", ("dept_code",)),),
))

NEW_OR_CONTINUING = ("新增", "延续")

NEXT_BUDGETS = _add(Table(
    name="next_budgets", label="下年预算", aliases=("下年度预算", "下年预算安排"), required=False,
    doc="下一预算年度的项目年初预算（可省略的表）。「年度」是预算所属的年度（如 2023 年数据中的 2024 年"
        "年初预算填 2024）。成本报告据此计算实际压减额（本年年初预算数 − 下年预算数）；没有本表时只给出测算可压减额。"
        "评价报告的「结果应用」一节据此追踪自评、监控、重点评价和成本分析发现问题的项目下年预算的增减。"
        "新增项目在项目表中尚无记录，所以项目编码不与项目表对照。",
    columns=(
        _c("project_id", "项目编码", CODE, doc="与项目表的项目编码一致的为延续项目"),
        _c("year", "年度", YEAR, doc="预算所属的年度", **YEAR_RANGE),
        _c("budget", "下年预算数", MONEY, minimum=0, doc="该年度的年初预算数"),
        _c("new_or_continuing", "新增或延续", ENUM, required=False, nullable=True,
           allowed=NEW_OR_CONTINUING),
    ),
    key=("project_id", "year"),
))

RECTIFICATION_SOURCES = ("重点评价", "重点监控", "自评复核", "审计", "其他")
RECTIFICATION_STATUSES = ("未整改", "整改中", "已整改")
RECTIFICATION_DONE = "已整改"

RECTIFICATIONS = _add(Table(
    name="rectifications", label="整改台账", aliases=("问题整改台账", "整改情况"), required=False,
    doc="绩效管理发现问题的整改台账（可省略的表），每个问题一行。「年度」是发现问题的年度（`perflib ledger "
        "--year 年度` 生成的台账即该年度各报告发现的问题）。项目编码可为空（部门层面的问题）；填写的项目编码须在"
        "项目表（任一年度）中存在。涉密项目在 perflib 生成的台账中只以替代编码出现在问题编号和问题描述中，项目编码留空。"
        "导入时拒绝的情形：完成日期早于发现年度的 1 月 1 日、晚于导入当天，或整改状态不是 已整改 却填了完成日期；"
        "整改期限早于发现年度的 1 月 1 日。已整改 而未填完成日期、未整改/整改中 而未填整改期限为数据质量提示。",
    columns=(
        _c("problem_id", "问题编号", CODE, doc="每个问题唯一，如 ZDPJ-2023-201-001-2023"),
        _c("source", "问题来源", ENUM, allowed=RECTIFICATION_SOURCES),
        _c("project_id", "项目编码", CODE, nullable=True, doc="为空表示部门层面的问题"),
        _c("dept_code", "部门编码", CODE),
        _c("year", "年度", YEAR, doc="发现问题的年度", **YEAR_RANGE),
        _c("finding", "问题描述", TEXT, internal=True),
        _c("measure", "整改措施", TEXT, nullable=True, doc="由部门填写", internal=True),
        _c("deadline", "整改期限", DATE, nullable=True, doc="由部门填写；未整改、整改中的问题为空时无法判断是否逾期"),
        _c("status", "整改状态", ENUM, allowed=RECTIFICATION_STATUSES),
        _c("date_done", "完成日期", DATE, nullable=True, doc="整改状态为 已整改 时填写，其他状态须为空"),
        _c("evidence", "佐证材料", TEXT, required=False, nullable=True, internal=True),
        _c("budget_consequence", "预算处理", TEXT, required=False, nullable=True, internal=True,
           doc="如 下年度预算压减 30%、取消项目"),
    ),
    key=("problem_id",),
    references=(Reference(("dept_code",), "departments", ("dept_code",)),
                Reference(("project_id",), "projects", ("project_id",))),
))

EX_ANTE_CONCLUSIONS = ("支持", "调整后支持", "不支持")

EX_ANTE = _add(Table(
    name="ex_ante", label="事前评估", aliases=("事前绩效评估", "事前评估结论"), required=False,
    doc="新增重大政策和项目的事前绩效评估结论（可省略的表），每个项目每个预算年度一行。「年度」是评估所针对的预算年度"
        "（如 2023 年 9 月评估、拟列入 2024 年预算的项目填 2024）。结论为 调整后支持 的填写建议安排数。"
        "评估可能针对尚未列入项目表的项目，所以项目编码不与项目表对照。",
    columns=(
        _c("project_id", "项目编码", CODE),
        _c("year", "年度", YEAR, doc="评估所针对的预算年度", **YEAR_RANGE),
        _c("assess_date", "评估日期", DATE),
        _c("conclusion", "评估结论", ENUM, allowed=EX_ANTE_CONCLUSIONS),
        _c("suggested_amount", "建议安排数", MONEY, nullable=True, minimum=0,
           doc="评估建议的预算安排数；结论为 调整后支持 时应填写"),
        _c("assessor", "评估机构", TEXT, required=False, nullable=True, doc="如 预算绩效评价中心、第三方机构名称"),
    ),
    key=("project_id", "year"),
))

# Load order: a table's references point only to tables earlier in this order.
TABLE_ORDER = (
    "departments", "projects", "targets", "payments", "monitoring", "self_evaluations",
    "self_eval_indicators", "key_evaluations", "costs", "outputs", "street_fiscal", "next_budgets",
    "rectifications", "ex_ante",
)
# Tables an export (and a database made by an older perflib) may lack.
OPTIONAL_TABLES = tuple(n for n in TABLE_ORDER if not TABLES[n].required)
# every store table a query can name (the input tables and the load history): what perflib run
# traces and fingerprints
TRACKED_TABLES: tuple[str, ...] = tuple(sorted(set(TABLES) | {"loads", "findings", "revisions"}))
assert set(TABLE_ORDER) == set(TABLES)


def internal_columns() -> list[tuple[str, str]]:
    """(table, column) of every column marked ``internal`` (left out of the public disclosure package)."""
    return [(t.name, c.name) for t in TABLES.values() for c in t.columns if c.internal]


def table_for_name(name: str) -> Table | None:
    """The table a file or sheet name stands for (Chinese label, alias or canonical name), or None."""
    key = name.strip().lower()
    for t in TABLES.values():
        if key in (n.lower() for n in t.names):
            return t
    return None


# Vocabulary of the 街道财政 table's 指标 column (values in 元 unless stated). Expenditure by
# functional head (for PEFA PI-2) uses "支出预算数:<科目>" and "支出决算数:<科目>".
STREET_FISCAL_INDICATORS = {
    "一般公共预算收入": "一般公共预算收入决算数（元）",
    "一般公共预算收入预算数": "年初一般公共预算收入预算数（元）",
    "税收收入": "一般公共预算收入中的税收收入（元）",
    "一般公共预算支出": "一般公共预算支出决算数（元）",
    "一般公共预算支出预算数": "年初一般公共预算支出预算数（元）",
    "三保支出需求": "保工资、保运转、保基本民生的支出需求（元）",
    "三保支出": "实际安排的三保支出（元）",
    "行政成本": "行政运行成本（元）",
    "债务余额": "年末政府债务余额（元）",
    "结转结余": "年末结转结余资金（元）",
}
EXPENDITURE_HEADS = (
    "一般公共服务支出", "公共安全支出", "教育支出", "文化旅游体育与传媒支出", "社会保障和就业支出",
    "卫生健康支出", "节能环保支出", "城乡社区支出", "农林水支出", "其他支出",
)
HEAD_BUDGET_PREFIX = "支出预算数:"
HEAD_OUTTURN_PREFIX = "支出决算数:"
# Expenditure by economic classification (for PEFA PI-2.2; optional rows): "经济分类预算数:<类>" and
# "经济分类决算数:<类>", e.g. 经济分类决算数:商品和服务支出.
ECON_BUDGET_PREFIX = "经济分类预算数:"
ECON_OUTTURN_PREFIX = "经济分类决算数:"


# --- graded problems ------------------------------------------------------------------------------
ERROR = "error"
FINDING = "finding"
SEVERITIES = (ERROR, FINDING)


@dataclass(frozen=True)
class FindingKind:
    """A kind of content gap an export may have that the analyses can show instead of guessing.

    Its default severity is ``finding`` (the export loads and the gap is stored in table
    ``findings``); the rules file (``ingest.severity``) or ``perflib ingest --strict`` may make it an
    ``error`` that refuses the export. ``column`` is None for a kind about a whole column or file.
    """

    name: str
    label: str  # Chinese, as the data-quality report lists it
    table: str
    column: str | None
    doc: str  # when it arises, and why it does not make a figure wrong (Chinese)


FINDING_KINDS: dict[str, FindingKind] = {k.name: k for k in (
    FindingKind("qualitative_target_missing", "定性指标未填指标值", "targets", "target_value",
                "指标方向为 定性 的指标「指标值」为空：无法判断目标是否具体、可衡量；不进入任何金额或得分的计算"),
    FindingKind("target_unit_missing", "定量指标未填计量单位", "targets", "unit",
                "定量指标（≥ ≤ =）的「计量单位」为空：指标值的含义不完整；计算只用数值本身"),
    FindingKind("target_weight_missing", "指标未填分值", "targets", "weight",
                "绩效指标的「分值」为空：自评重算按一级指标的规则分值分配，不用此列"),
    FindingKind("target_level2_missing", "未填二级指标", "targets", "level2",
                "「二级指标」为空：目标结构不完整；计算按一级指标进行"),
    FindingKind("monitoring_actual_missing", "监控未填执行值", "monitoring", "actual_value",
                "监控月份的指标「执行值」为空：该指标的目标进度无法判断"),
    FindingKind("deviation_reason_missing", "偏差未说明原因", "monitoring", "deviation_reason",
                "完成可能性不是 确定能，但「偏差原因」为空"),
    FindingKind("satisfaction_missing", "自评未填满意度", "self_evaluations", "satisfaction",
                "绩效自评的「满意度」为空：按规则将满意度分值按比例并入产出、效益指标"),
    FindingKind("selfeval_actual_missing", "自评指标未填实际完成值", "self_eval_indicators", "actual_value",
                "自评指标的「实际完成值」为空：该指标按未完成计分"),
    FindingKind("key_findings_missing", "重点评价未填主要问题", "key_evaluations", "findings",
                "重点评价的「主要问题」为空"),
    FindingKind("key_domain_missing", "重点评价未填评价领域", "key_evaluations", "domain",
                "重点评价的「评价领域」为空"),
    FindingKind("key_score_above_maximum", "重点评价得分超过该维度满分", "key_evaluations", None,
                "某维度得分高于该维度满分（数据中的满分，或规则文件的默认分值）：按满分计"),
    FindingKind("quality_score_missing", "产出未填质量得分", "outputs", "quality_score",
                "产出的「质量得分」为空：成本分析不评价该产出的质量"),
    FindingKind("sector_missing", "部门未填行业领域", "departments", "sector",
                "部门的「行业领域」为空：按行业汇总时列为 未填"),
    FindingKind("rectification_date_missing", "已整改未填完成日期", "rectifications", "date_done",
                "整改状态为 已整改 的问题「完成日期」为空：计入已整改，但不计入按期整改"),
    FindingKind("rectification_deadline_missing", "未整改问题未填整改期限", "rectifications", "deadline",
                "整改状态为 未整改 或 整改中 的问题「整改期限」为空：无法判断是否逾期，不计入逾期"),
    FindingKind("transfer_level_missing", "转移支付项目未填级次", "projects", "transfer_level",
                "资金来源为 上级转移支付 的项目「转移支付级次」为空：按资金来源汇总照常计入，按级次汇总时列为 未填"),
    FindingKind("bond_type_missing", "债券项目未填债券类型", "projects", "bond_type",
                "资金来源为 政府债券 的项目「债券类型」为空：按资金来源汇总照常计入，不按专项债券的执行要求比较"),
    FindingKind("optional_column_missing", "缺少可选列", "", None,
                "文件中没有某个可选列（整列缺失）：用到该列的分析说明缺少这项数据"),
)}


# --- classification code names (《2024年政府收支分类科目》, 财政部) ----------------------------------------
# Only the codes the demo uses and their parents; a code not listed shows as its code. 功能分类: 类 3
# digits, 款 5, 项 7 (2050201 = 教育支出 · 普通教育 · 学前教育). 经济分类 (部门预算支出经济分类): 类 3
# digits, 款 5 (30201 = 商品和服务支出 · 办公费).
FUNC_NAMES = {
    "201": "一般公共服务支出", "20103": "政府办公厅（室）及相关机构事务", "2010301": "行政运行",
    "2010350": "事业运行",
    "204": "公共安全支出", "20402": "公安", "2040201": "行政运行",
    "205": "教育支出", "20502": "普通教育", "2050201": "学前教育", "2050202": "小学教育",
    "2050203": "初中教育",
    "206": "科学技术支出", "20601": "科学技术管理事务", "2060101": "行政运行",
    "207": "文化旅游体育与传媒支出", "20701": "文化和旅游", "2070109": "群众文化", "20702": "文物",
    "2070205": "博物馆",
    "208": "社会保障和就业支出", "20802": "民政管理事务", "2080208": "基层政权建设",
    "20810": "社会福利", "2081002": "老年福利",
    "210": "卫生健康支出", "21004": "公共卫生", "2100408": "基本公共卫生服务",
    "211": "节能环保支出", "21103": "污染防治", "2110301": "大气",
    "212": "城乡社区支出", "21201": "城乡社区管理事务", "2120104": "城管执法",
    "21203": "城乡社区公共设施", "2120399": "其他城乡社区公共设施支出",
    "21205": "城乡社区环境卫生", "2120501": "城乡社区环境卫生",
    "213": "农林水支出", "21303": "水利", "2130314": "防汛",
    "214": "交通运输支出", "21401": "公路水路运输", "2140101": "行政运行",
    "216": "商业服务业等支出", "21602": "商业流通事务", "2160299": "其他商业流通事务支出",
    "220": "自然资源海洋气象等支出", "22001": "自然资源事务", "2200101": "行政运行",
    "221": "住房保障支出", "22101": "保障性安居工程支出", "2210103": "棚户区改造",
    "224": "灾害防治及应急管理支出", "22402": "消防救援事务", "2240204": "消防应急救援",
}
ECON_NAMES = {
    "301": "工资福利支出", "30101": "基本工资", "30102": "津贴补贴", "30107": "绩效工资",
    "302": "商品和服务支出", "30201": "办公费", "30206": "电费", "30209": "物业管理费", "30211": "差旅费",
    "30213": "维修（护）费", "30217": "公务接待费", "30226": "劳务费", "30227": "委托业务费",
    "30299": "其他商品和服务支出",
    "303": "对个人和家庭的补助", "30305": "生活补助", "30399": "其他对个人和家庭的补助",
    "310": "资本性支出", "31002": "办公设备购置", "31005": "基础设施建设", "31006": "大型修缮",
    "312": "对企业补助", "31299": "其他对企业补助",
}
CLASSIFICATION_SOURCE = "财政部《2024年政府收支分类科目》"
