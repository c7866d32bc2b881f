"""The ``perflib`` command: a thin layer over library functions that tests call directly.

Exit codes (SPEC): 0 all good, 1 a report failed (the others still render), 2 bad input or arguments.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .exceptions import PerflibError

DEFAULT_DB = Path("data/perf.duckdb")


def _parse_param(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"参数应写成 KEY=VALUE，实际为「{text}」")
    key, value = text.split("=", 1)
    return key.strip(), value.strip()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="perflib", description="预算绩效管理：导入预算系统导出数据并生成报告")
    p.add_argument("--version", action="version", version=f"perflib {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="生成演示用的导出数据文件夹（与情况说明的数字一致）")
    d.add_argument("out_dir", type=Path)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--scale", choices=["district", "province"], default="district")

    i = sub.add_parser("ingest", help="校验并导入导出数据文件夹到 DuckDB 数据库（全部成功才写入）")
    i.add_argument("src_dir", type=Path)
    i.add_argument("--db", type=Path, default=DEFAULT_DB)
    i.add_argument("--strict", action="store_true", help="数据质量提示（内容缺项）也视为错误，拒绝导入")
    i.add_argument("--rules", type=Path, help="规则文件（ingest.severity 规定各类提示是否拒绝导入）")

    c = sub.add_parser("check", help="只读取并检查导出数据文件夹，不写数据库：列出错误和数据质量提示")
    c.add_argument("src_dir", type=Path)
    c.add_argument("--strict", action="store_true", help="数据质量提示也视为错误")
    c.add_argument("--rules", type=Path)

    r = sub.add_parser("run", help="生成报告（HTML、ipynb、facts.json、xlsx）")
    r.add_argument("notebooks", nargs="*", help="报告名称，省略则生成全部")
    r.add_argument("--db", type=Path, default=DEFAULT_DB)
    r.add_argument("--year", type=int)
    r.add_argument("-p", "--param", dest="params", action="append", type=_parse_param, default=[],
                   metavar="KEY=VALUE")
    r.add_argument("--each", action="append", default=[], metavar="PARAM",
                   help="对可选参数（如 dept）逐个取值生成报告")
    r.add_argument("--out", type=Path, default=Path("reports"))
    r.add_argument("--jobs", type=int, default=1)
    r.add_argument("--dask", metavar="ADDRESS")
    r.add_argument("--rules", type=Path)
    r.add_argument("--force", action="store_true", help="忽略增量缓存，全部重新生成")
    r.add_argument("--timeout", type=int, default=600, help="每个单元格的超时秒数")
    r.add_argument("--log-output", action="store_true", help="把单元格输出写入日志（定时任务用）")
    r.add_argument("--no-progress", action="store_true")
    r.add_argument("--progress", action="store_true", help="即使不是终端也显示进度条（默认仅在终端显示）")
    r.add_argument("--notices", action="store_true",
                   help="monitoring：给有红黄色预警项目的部门各写一份监控预警通知；evaluation：给重点评价部门各写一份结果反馈意见（.docx）")
    r.add_argument("--text", dest="texts", action="append", type=_parse_param, default=[], metavar="节=文件",
                   help="情况说明（overview.docx）第一节、第八节的文字文件，如 --text 一=制度建设.md --text 八=宣传.md")

    ru = sub.add_parser("rules", help="显示生效的规则（默认或 --rules 指定的文件）")
    ru.add_argument("--rules", type=Path)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
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

            summary = ingest(args.src_dir, args.db, rules=load_rules(args.rules), strict=args.strict)
            print(summary.describe())
            return 0
        if args.command == "check":
            from .ingest import check
            from .rules import load_rules

            checked = check(args.src_dir, rules=load_rules(args.rules), strict=args.strict)
            print(checked.describe())
            return 0 if checked.ok else 2
        if args.command == "run":
            from .run.runner import run_from_cli

            return run_from_cli(args)
        if args.command == "rules":
            from .rules import load_rules

            rules = load_rules(args.rules)
            print(f"规则来源：{rules.origin}（sha256 {rules.sha256[:12]}…）")
            for row in rules.table().itertuples(index=False):
                print(f"{row.规则} = {row.取值}\n    {row.含义}；{row.性质}；依据：{row.依据}")
            return 0
    except PerflibError as exc:
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("已中断", file=sys.stderr)
        return 130
    parser.error("unknown command")
    return 2


if __name__ == "__main__":
    sys.exit(main())
