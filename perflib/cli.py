"""The ``perflib`` command: a thin layer over library functions that tests call directly.

Exit codes (SPEC): 0 all good, 1 a report failed (the others still render), 2 bad input or arguments.
Help and argument errors are in Chinese (:class:`Parser`); an argument error prints 「错误：…」, a
usage hint and, for an unknown name, the closest known ones.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import unicodedata
from pathlib import Path

from . import __version__
from .exceptions import PerflibError, closest, did_you_mean

DEFAULT_DB = Path("data/perf.duckdb")
EQUALS = ("=", "＝")


# --- a parser that speaks Chinese ------------------------------------------------------------------
class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """argparse's layout, with 「用法：」 instead of "usage:" and descriptions kept as written."""

    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, prefix="用法：" if prefix is None else prefix)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose help headings and errors are Chinese: an error prints 「错误：…」
    (argparse's own messages translated), the usage and where to read more, and exits 2."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs["add_help"] = False
        kwargs.setdefault("allow_abbrev", False)  # --progres must not start a run as --progress
        super().__init__(*args, **kwargs)
        self._positionals.title = "位置参数"
        self._optionals.title = "选项"
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help="显示本帮助并退出")

    def format_help(self) -> str:
        return re.sub(r"^(位置参数|选项|命令):$", r"\1：", super().format_help(), flags=re.M)

    def error(self, message: str):
        self.print_usage(sys.stderr)
        text = translate(message, self)
        self.exit(2, f"错误：{text}\n详细说明：{self.prog} --help\n")


def _choices_of(parser: argparse.ArgumentParser, name: str) -> list[str]:
    for action in parser._actions:
        if name in (action.dest, action.metavar) or name in action.option_strings:
            return [str(c) for c in (action.choices or [])]
    return []


def _options_of(parser: argparse.ArgumentParser) -> list[str]:
    return [o for a in parser._actions for o in a.option_strings if o.startswith("--")]


def translate(message: str, parser: argparse.ArgumentParser | None = None) -> str:
    """argparse's English error ``message`` in Chinese (with the closest known names for a typo)."""
    m = re.match(r"argument (?P<arg>[^:]+): (?P<msg>.*)$", message, flags=re.S)
    if m:
        arg = m.group("arg")
        if arg in ("command", "命令"):
            arg = "命令"
        inner = _translate_one(m.group("msg"), _choices_of(parser, m.group("arg")) if parser else [])
        return f"参数 {arg}：{inner}"
    return _translate_one(message, _options_of(parser) if parser else [])


_SIMPLE = {
    "expected one argument": "需要一个取值",
    "expected at least one argument": "至少需要一个取值",
    "expected at most one argument": "最多只能有一个取值",
}
TYPE_WORDS = {"int": "整数", "float": "数值", "Path": "路径"}


def _quoted(text: str) -> list[str]:
    return re.findall(r"'([^']*)'", text) or [text]


def _translate_one(msg: str, known: list[str]) -> str:
    """One argparse message (without the "argument X:" head) in Chinese."""
    if msg in _SIMPLE:
        return _SIMPLE[msg]
    if m := re.match(r"invalid choice: '(.*?)' \(choose from (.*)\)$", msg, flags=re.S):
        word = m.group(1)
        hint = did_you_mean(word, known or _quoted(m.group(2)))
        return f"无效的取值「{word}」" + (f"；{hint}" if hint else "") + f"（可用：{'、'.join(_quoted(m.group(2)))}）"
    if m := re.match(r"invalid (\w+) value: '(.*)'$", msg, flags=re.S):
        return f"「{m.group(2)}」不是有效的{TYPE_WORDS.get(m.group(1), m.group(1))}"
    if m := re.match(r"unrecognized arguments: (.*)$", msg, flags=re.S):
        words = m.group(1).split()
        bare = {k.lstrip("-"): k for k in known}
        near = [bare[n] for w in words if w.startswith("-") for n in closest(w.split("=")[0].lstrip("-"), bare)]
        hints = f"您是否要找：{'、'.join(dict.fromkeys(near))}？" if near else ""
        return f"无法识别的参数：{'、'.join(words)}" + (f"；{hints}" if hints else "")
    if m := re.match(r"the following arguments are required: (.*)$", msg, flags=re.S):
        return f"缺少必需的参数：{m.group(1).replace('command', '命令')}"
    if m := re.match(r"ambiguous option: (\S+) could match (.*)$", msg, flags=re.S):
        return f"选项 {m.group(1)} 不明确，可能是：{m.group(2)}"
    if m := re.match(r"expected (\d+) arguments?$", msg):
        return f"需要 {m.group(1)} 个取值"
    if m := re.match(r"not allowed with argument (.*)$", msg):
        return f"不能与 {m.group(1)} 同时使用"
    if m := re.match(r"ignored explicit argument '(.*)'$", msg):
        return f"此选项不接受取值（「{m.group(1)}」）"
    if m := re.match(r"one of the arguments (.*) is required$", msg):
        return f"需要以下参数之一：{m.group(1)}"
    return msg


# --- argument types (full-width input accepted) ----------------------------------------------------
def parse_param(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` (also ``KEY＝VALUE``, with spaces around either side) → (key, value)."""
    pos = [i for i in (text.find(e) for e in EQUALS) if i >= 0]
    if not pos:
        raise argparse.ArgumentTypeError(f"应写成 KEY=VALUE（如 dept=区教体局），实际为「{text}」")
    key, value = text[:min(pos)], text[min(pos) + 1:]
    key = unicodedata.normalize("NFKC", key).strip()
    if not key:
        raise argparse.ArgumentTypeError(f"「{text}」缺少参数名（应写成 KEY=VALUE）")
    return key, value.strip()


def integer(text: str) -> int:
    """An integer, full-width digits (２０２３) and surrounding spaces accepted."""
    try:
        return int(unicodedata.normalize("NFKC", text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"「{text}」不是整数") from None


def join_params(argv: list[str]) -> list[str]:
    """Put back together a ``-p`` value a shell split at its spaces: ``-p dept = X``, ``-p dept= X``,
    ``-p dept =X`` (and the same with ``＝``) become ``-p dept=X``."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        out.append(argv[i])
        if argv[i] in ("-p", "--param") and i + 1 < len(argv):
            value, i = argv[i + 1], i + 2
            has_eq = any(e in value for e in EQUALS)
            if not has_eq and i < len(argv) and argv[i][:1] in EQUALS:  # "dept" "=X" / "dept" "=" "X"
                value, i = value + argv[i], i + 1
                has_eq = True
            if has_eq and value.rstrip()[-1:] in EQUALS and i < len(argv) and not argv[i].startswith("-"):
                value, i = value + argv[i], i + 1
            out.append(value)
            continue
        i += 1
    return out


# --- the parser -------------------------------------------------------------------------------------
MAIN_EPILOG = """\
常用流程：
  perflib demo data/demo                       生成演示导出数据
  perflib ingest data/demo --db data/perf.duckdb   校验并导入
  perflib run                                  生成全部报告（reports/index.html 为目录）
  perflib run --list                           列出报告、参数及数据中的可选值
  perflib rules monitoring                     查看某一节规则

退出码：0 全部成功；1 有报告生成失败（其余报告照常生成）；2 输入或参数有误（未写入任何内容）。
数据库位置：--db 选项，或环境变量 PERFLIB_DB（默认 data/perf.duckdb）。
每个命令的说明：perflib 命令 --help，如 perflib run --help。"""


def build_parser() -> argparse.ArgumentParser:
    """The ``perflib`` parser with its commands."""
    p = Parser(prog="perflib", description="预算绩效管理：导入预算系统导出数据，生成绩效分析报告。",
               epilog=MAIN_EPILOG)
    p.add_argument("--version", action="version", version=f"perflib {__version__}", help="显示版本号并退出")
    sub = p.add_subparsers(dest="command", required=True, metavar="命令", title="命令",
                           parser_class=Parser)
    _add_demo(sub)
    _add_ingest(sub)
    _add_check(sub)
    _add_run(sub)
    _add_rules(sub)
    _add_ledger(sub)
    _add_publish(sub)
    _add_revisions(sub)
    return p


def _default_db() -> Path:
    """``$PERFLIB_DB`` when set, else ``data/perf.duckdb`` (relative to the working directory)."""
    return Path(os.environ.get("PERFLIB_DB") or DEFAULT_DB)


def _add_demo(sub) -> None:
    d = sub.add_parser("demo", help="生成演示用的导出数据文件夹（与情况说明的数字一致）",
                       description="生成演示用的导出数据文件夹（合成数据，区级规模与情况说明的数字一致）。",
                       epilog="示例：\n  perflib demo data/demo\n  perflib demo /tmp/province --scale province")
    d.add_argument("out_dir", type=Path, help="写入的文件夹，如 data/demo")
    d.add_argument("--seed", type=integer, default=0, help="随机种子（默认：0），如 --seed 1")
    d.add_argument("--scale", choices=["district", "province"], default="district",
                   help="规模：district 区级、province 省级（默认：district），如 --scale province")


def _add_ingest(sub) -> None:
    i = sub.add_parser("ingest", help="校验并导入导出数据文件夹到 DuckDB 数据库（全部成功才写入）",
                       description="校验导出数据文件夹并导入 DuckDB 数据库。有错误时不写入（原数据库保持不变）；"
                                   "只有数据质量提示时照常导入，提示记入 findings 表。",
                       epilog="示例：\n  perflib ingest data/demo\n  perflib ingest /data/exports/latest "
                              "--db /srv/perf.duckdb --strict")
    i.add_argument("src_dir", type=Path, help="导出数据文件夹（xlsx/csv），如 data/demo")
    i.add_argument("--db", type=Path, default=None,
                   help="写入的数据库文件（默认：环境变量 PERFLIB_DB，未设置时为 data/perf.duckdb），"
                        "如 --db /srv/perf.duckdb")
    i.add_argument("--strict", action="store_true", help="数据质量提示（内容缺项）也视为错误，拒绝导入（默认：否）")
    i.add_argument("--rules", type=Path, help="规则文件（默认：perflib 自带规则；ingest.severity 规定各类提示"
                                               "是否拒绝导入），如 --rules my_rules.yaml")


def _add_check(sub) -> None:
    c = sub.add_parser("check", help="只读取并检查导出数据文件夹，不写数据库：列出错误和数据质量提示",
                       description="只读取并检查导出数据文件夹，不写数据库：列出错误和数据质量提示。"
                                   "有错误时退出码为 2。",
                       epilog="示例：\n  perflib check data/demo\n  perflib check data/demo --strict")
    c.add_argument("src_dir", type=Path, help="导出数据文件夹，如 data/demo")
    c.add_argument("--strict", action="store_true", help="数据质量提示也视为错误（默认：否）")
    c.add_argument("--rules", type=Path, help="规则文件（默认：perflib 自带规则），如 --rules my_rules.yaml")


def _run_epilog() -> str:
    from .run.catalog import reports_summary

    return ("可生成的报告及其参数（perflib run --list 另列出数据中的可选值）：\n" + reports_summary() +
            "\n\n示例：\n"
            "  perflib run                                   生成全部报告\n"
            "  perflib run overview --year 2023              只生成情况说明\n"
            "  perflib run monitoring -p dept=区教体局 -p as_of_month=9\n"
            "  perflib run coverage --each dept              每个一级部门一份覆盖情况报告\n"
            "  perflib run cost -p project_type=道路保洁 --rules my_rules.yaml\n"
            "  perflib run --jobs 2 --out /srv/reports       两个进程并行，写到 /srv/reports\n"
            "数据库：--db，或环境变量 PERFLIB_DB（默认 data/perf.duckdb）。")


def _add_run(sub) -> None:
    r = sub.add_parser("run", help="生成报告（HTML、ipynb、facts.json、xlsx）",
                       description="生成报告：每份报告输出 HTML、ipynb、facts.json 和 xlsx，"
                                   "并更新目录 index.html。参数在启动任何内核之前与数据核对。",
                       epilog=_run_epilog())
    r.add_argument("notebooks", nargs="*", metavar="报告", help="报告名称，如 overview monitoring（默认：全部报告）")
    r.add_argument("--list", action="store_true", help="列出全部报告、参数、默认值及数据中的可选值，然后退出")
    r.add_argument("--db", type=Path, default=None,
                   help="数据库文件（默认：环境变量 PERFLIB_DB，未设置时为 data/perf.duckdb），如 --db /srv/perf.duckdb")
    r.add_argument("--year", type=integer, help="报告年度（默认：数据中最新的年度），如 --year 2023")
    r.add_argument("-p", "--param", dest="params", action="append", type=parse_param, default=[],
                   metavar="KEY=VALUE", help="报告参数，可重复（默认：无；等号可为全角＝），如 -p dept=区教体局")
    r.add_argument("--each", action="append", default=[], metavar="PARAM",
                   help="对可选参数逐个取值各生成一份报告（默认：无），如 --each dept")
    r.add_argument("--out", type=Path, default=Path("reports"), help="报告文件夹（默认：reports），如 --out /srv/reports")
    r.add_argument("--jobs", type=integer, default=1, help="并行生成的报告数（默认：1），如 --jobs 2")
    r.add_argument("--dask", metavar="ADDRESS",
                   help="在 Dask 集群上生成（默认：不用 Dask），如 --dask tcp://10.0.0.5:8786")
    r.add_argument("--rules", type=Path, help="规则文件（默认：perflib 自带规则），如 --rules my_rules.yaml")
    r.add_argument("--force", action="store_true", help="忽略增量缓存，全部重新生成（默认：未变化的报告跳过）")
    r.add_argument("--timeout", type=integer, default=600, help="每个单元格的超时秒数（默认：600），如 --timeout 1200")
    r.add_argument("--log-output", action="store_true", help="把单元格输出写入日志（默认：否；定时任务用）")
    r.add_argument("--pdf", action=argparse.BooleanOptionalAction, default=None,
                   help="同时把每份报告打印为 PDF（需本机有 chromium、Google Chrome 或 Microsoft Edge）；"
                        "--no-pdf 不打印（默认：按规则 report.pdf，自带规则为否）")
    r.add_argument("--notices", action="store_true",
                   help="monitoring：给有红黄色预警项目的部门各写一份监控预警通知；evaluation：给重点评价部门各写一份"
                        "结果反馈意见（.docx，写在 <年度>/notices/；默认：不写）")
    r.add_argument("--text", dest="texts", action="append", type=parse_param, default=[], metavar="节=文件",
                   help="情况说明（overview.docx）第一节、第八节的文字文件，如 --text 一=制度建设.md --text 八=宣传.md"
                        "（默认：按规则 report.docx_sections，未给的节留出占位段落）")
    r.add_argument("--no-progress", action="store_true", help="不显示进度条（默认：仅在终端显示）")
    r.add_argument("--progress", action="store_true", help="即使不是终端也显示进度条（默认：仅在终端显示）")


def _add_rules(sub) -> None:
    ru = sub.add_parser("rules", help="显示生效的规则（可只看一节），含取值、依据和性质",
                        description="显示生效的规则：默认规则，或 --rules 指定的文件覆盖后的结果。"
                                    "性质：官方规定（official）、地方做法（local practice）、假设（assumed）；"
                                    "规则文件中两种写法都可以。",
                        epilog="示例：\n  perflib rules\n  perflib rules monitoring\n"
                               "  perflib rules cost --rules my_rules.yaml")
    ru.add_argument("section", nargs="?", metavar="SECTION",
                    help="只显示这一节，如 monitoring、cost、ingest（默认：全部）")
    ru.add_argument("--rules", type=Path, help="规则文件（默认：perflib 自带规则），如 --rules my_rules.yaml")


def _add_ledger(sub) -> None:
    le = sub.add_parser("ledger", help="生成整改台账初稿（各报告发现的问题，供部门填写后导入）",
                        description="把某年度各报告发现的问题（自评虚高、最近完整月份的红色预警、重点评价主要问题、"
                                    "信号冲突）写成整改台账 整改台账-年度.xlsx，格式与导入的「整改台账」表相同："
                                    "整改状态为 未整改，整改措施、整改期限留空由部门填写；填好后放入导出数据文件夹导入。"
                                    "涉密项目只以替代编码出现在问题编号和问题描述中。",
                        epilog="示例：\n  perflib ledger --year 2023\n  perflib ledger --year 2023 --out /srv/ledger")
    le.add_argument("--year", type=integer, default=None, help="发现问题的年度（默认：数据中最新的年度），如 --year 2023")
    le.add_argument("--out", type=Path, default=Path("."), help="写入的文件夹（默认：当前文件夹），如 --out /srv/ledger")
    le.add_argument("--db", type=Path, default=None,
                    help="数据库文件（默认：环境变量 PERFLIB_DB，未设置时为 data/perf.duckdb），如 --db /srv/perf.duckdb")
    le.add_argument("--rules", type=Path, help="规则文件（默认：perflib 自带规则），如 --rules my_rules.yaml")


def _ledger(args) -> int:
    from .analysis.rectification import problems_found
    from .exceptions import ParameterError
    from .present.ledger import write_ledger
    from .rules import load_rules
    from .files import find_db
    from .store import Store

    with Store(find_db(args.db)) as store:
        years = store.years()
        year = args.year if args.year is not None else (years[-1] if years else None)
        if year not in years:
            raise ParameterError(f"数据中没有 {year} 年的项目（已有年度：{'、'.join(map(str, years)) or '无'}）")
        rows = problems_found(store, year, load_rules(args.rules))
    path = write_ledger(rows, args.out, year)
    counts = "，".join(f"{s} {n} 个" for s, n in rows["source"].value_counts(sort=False).items())
    print(f"整改台账已写入 {path}：{year} 年发现的问题 {len(rows)} 个" + (f"（{counts}）" if counts else ""))
    return 0


def _add_publish(sub) -> None:
    pu = sub.add_parser("publish", help="生成绩效信息公开包（各部门绩效目标、绩效自评结果和重点评价结果的网页与 xlsx）",
                        description="生成在政府门户网站公开的绩效信息公开包：每个一级部门一页（部门整体绩效目标、"
                                    "项目绩效目标、绩效自评结果、重点评价结果），重点评价结果汇总页、目录页 index.html "
                                    "（公开日期、「公开绩效信息 N 条」及其口径）和一个 xlsx。不含内部字段（偏差原因、"
                                    "评价组意见、整改材料等），涉密项目不出现；写入前做涉密信息检查，整个文件夹一次性替换，"
                                    "不会留下写了一半的内容。disclosure.json 记录条数，可用 "
                                    "perflib run overview --text 八=<文件夹>/disclosure.json 写入情况说明第八节。",
                        epilog="示例：\n  perflib publish --year 2023 --out public/2023\n"
                               "  perflib publish --year 2023 --out /srv/www/jxgk --db /srv/perf.duckdb")
    pu.add_argument("--year", type=integer, required=True, help="公开的预算年度（绩效目标的年度），如 --year 2023")
    pu.add_argument("--out", type=Path, required=True, help="写入的文件夹（已有时整体替换），如 --out public/2023")
    pu.add_argument("--db", type=Path, default=None,
                    help="数据库文件（默认：环境变量 PERFLIB_DB，未设置时为 data/perf.duckdb），如 --db /srv/perf.duckdb")
    pu.add_argument("--rules", type=Path, help="规则文件（默认：perflib 自带规则；区名、时区、等级分数线），"
                                               "如 --rules my_rules.yaml")


def _publish(args) -> int:
    from .rules import load_rules
    from .run.disclosure import write_disclosure
    from .files import find_db

    written = write_disclosure(find_db(args.db), args.year, args.out, load_rules(args.rules))
    print(f"绩效信息公开包已写入 {written.out}（{written.year} 年度，{len(written.files)} 个文件，"
          f"公开时间 {written.published_at}）：{written.sentence}")
    return 0


def _add_revisions(sub) -> None:
    rv = sub.add_parser("revisions", help="列出数据修订：之后的导入改动了此前已导入期间的哪些数字",
                        description="列出数据库记录的数据修订：某次导入改动了此前导入已覆盖期间的数字"
                                    "（已导入月份的支付金额、已导入年度的项目预算、重新评分的自评或重点评价），"
                                    "含修订前后的数字和两次导入的编号。",
                        epilog="示例：\n  perflib revisions\n  perflib revisions --year 2023 --db /srv/perf.duckdb")
    rv.add_argument("--year", type=integer, help="只列出这一年度的修订（默认：全部年度），如 --year 2023")
    rv.add_argument("--db", type=Path, default=None,
                    help="数据库文件（默认：环境变量 PERFLIB_DB，未设置时为 data/perf.duckdb），如 --db /srv/perf.duckdb")


# --- the commands -----------------------------------------------------------------------------------
def _show_rules(args) -> int:
    from .exceptions import RulesError
    from .rules import load_rules

    rules = load_rules(args.rules)
    section = (args.section or "").strip() or None
    if section is not None and not rules.entries(section):
        known = rules.sections()
        hint = did_you_mean(section, known)
        raise RulesError(f"规则中没有「{section}」这一节" + (f"；{hint}" if hint else "")
                         + f"（可用：{'、'.join(known)}）")
    print(f"规则来源：{rules.origin}（sha256 {rules.sha256[:12]}…）")
    for row in rules.table(section).itertuples(index=False):
        print(f"{row.规则} = {row.取值}\n    {row.含义}；{row.性质}；依据：{row.依据}")
    return 0


def _run(args) -> int:
    from .files import find_db

    args.db = find_db(args.db)
    if args.list:
        from .run.catalog import list_reports

        print(list_reports(args.db, year=args.year, rules=args.rules))
        return 0
    from .run.runner import run_from_cli

    return run_from_cli(args)


def _revisions(args) -> int:
    from .present.text.revisions import revisions_text
    from .files import find_db
    from .store import Store

    store = Store(find_db(args.db))
    try:
        print(revisions_text(store.revisions(args.year), args.year))
    finally:
        store.close()
    return 0


def _dispatch(args) -> int:
    if args.command == "demo":
        from .demo import write_demo

        out = write_demo(args.out_dir, seed=args.seed, scale=args.scale)
        print(f"演示数据已写入 {out}")
        if args.scale == "district":
            from .demo import demo_rules_path

            print(f"演示规则文件（区名、财政部门名称）已写入 {demo_rules_path(out)}；生成报告时用 --rules 指定")
        return 0
    if args.command == "ingest":
        from .ingest import ingest
        from .rules import load_rules

        summary = ingest(args.src_dir, args.db or _default_db(), rules=load_rules(args.rules), strict=args.strict)
        print(summary.describe())
        return 0
    if args.command == "check":
        from .ingest import check
        from .rules import load_rules

        checked = check(args.src_dir, rules=load_rules(args.rules), strict=args.strict)
        print(checked.describe())
        return 0 if checked.ok else 2
    if args.command == "run":
        return _run(args)
    if args.command == "ledger":
        return _ledger(args)
    if args.command == "revisions":
        return _revisions(args)
    if args.command == "publish":
        return _publish(args)
    return _show_rules(args)


def main(argv: list[str] | None = None) -> int:
    """Run the ``perflib`` command; returns the exit code (argument errors: 2, ``--help``: 0)."""
    parser = build_parser()
    argv = join_params(list(sys.argv[1:] if argv is None else argv))
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # reported by the command's own parser: its usage, its options
            sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
            sub.choices[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return _dispatch(args)
    except PerflibError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # a disk that filled up or turned read-only under a command: no traceback
        if isinstance(exc, BrokenPipeError) and _reader_gone():
            return 141  # `perflib rules | head`: the reader has what it wanted; exit as if by SIGPIPE
        from .files import os_error_text

        print(f"操作未完成：{os_error_text(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("已中断", file=sys.stderr)
        return 130


def _reader_gone() -> bool:
    """Whether what reads this command's output (a pager, ``head``) has closed it; if so, the
    output goes nowhere from now on, so that the interpreter's last flush says nothing either."""
    import select

    gone = False
    for stream in (sys.stdout, sys.stderr):
        try:
            poll = select.poll()
            poll.register(stream.fileno(), select.POLLOUT)
            if any(events & select.POLLERR for _, events in poll.poll(0)):  # a pipe without reader
                gone = True
                nowhere = os.open(os.devnull, os.O_WRONLY)
                try:
                    os.dup2(nowhere, stream.fileno())
                finally:
                    os.close(nowhere)
        except (OSError, ValueError, AttributeError):  # no descriptor (a test's capture), or closed
            pass
    return gone


def console() -> None:
    """The ``perflib`` executable: :func:`main`, then exit with its code. What the command made is
    written and closed by then, so the interpreter's last garbage collection, a pass over every
    object of the run (~0.2 s after a province report), is skipped: ``gc.freeze`` moves them out of
    its reach; atexit handlers still run and the operating system takes back the memory."""
    import gc

    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    console()
