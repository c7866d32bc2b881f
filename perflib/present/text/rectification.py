"""The 整改跟踪 report's sentences and the overview's one sentence on rectification
(:mod:`perflib.analysis.rectification`). Each states only what the facts show."""
from __future__ import annotations

NEEDS = ("本报告需要「整改台账」表（问题编号、问题来源、项目编码、部门编码、年度、问题描述、整改措施、整改期限、"
         "整改状态、完成日期等，格式见 docs/input-format.md；可用 perflib ledger --year 年度 生成初稿，由部门填写后导入）。")


def _n(v) -> str:
    return f"{int(v):,}"


def summary_text(facts: dict, year: int, scope: str = "全区") -> str:
    """The headline paragraph: how many problems of ``year``, done, open, overdue, on time."""
    n = int(facts["rectification.items"])
    if n == 0:
        return f"数据中没有{scope} {int(year)} 年发现问题的整改台账记录。" + NEEDS
    done, open_ = int(facts["rectification.done"]), int(facts["rectification.open"])
    text = f"{scope} {int(year)} 年发现的问题共 {_n(n)} 个，已整改 {_n(done)} 个，未完成整改 {_n(open_)} 个"
    overdue, as_of = facts["rectification.overdue"], facts["rectification.as_of"]
    if overdue is None:
        text += "；数据中没有整改台账的导出日期，未判断是否逾期"
    else:
        text += f"，其中截至 {as_of} 已超过整改期限的 {_n(overdue)} 个"
    share = facts["rectification.on_time_share"]
    text += f"。按期完成整改的 {_n(facts['rectification.on_time'])} 个，占全部问题的 {share:.2%}。"
    return text


def recurring_text(facts: dict, year: int) -> str:
    n = int(facts["rectification.recurring"])
    if n == 0:
        return (f"没有发现问题在次年重点评价中重现（{int(year) - 1} 年发现的问题对照 {int(year)} 年重点评价，"
                f"{int(year)} 年发现的问题对照 {int(year) + 1} 年重点评价，数据中有该年时）。")
    return f"{_n(n)} 个问题所在项目在次年重点评价中又发现主要问题，见下表。"


def overview_sentence(facts: dict, year: int) -> str:
    """Section 四's sentence: the seed's words only when every item of ``year`` is done; counts of
    done, open and overdue otherwise; nothing without a ledger item (the overview's style: no
    spaces around figures)."""
    n = int(facts.get("rectification.items") or 0)
    if n == 0:
        return ""
    done = int(facts["rectification.done"])
    if done == n:
        return "问题整改等工作已全面完成。"
    text = f"整改台账记录的{int(year)}年发现的{_n(n)}个问题中，已整改{_n(done)}个，未完成整改{_n(n - done)}个"
    if facts.get("rectification.overdue") is not None:
        text += f"，其中截至{facts['rectification.as_of']}已超过整改期限的{_n(facts['rectification.overdue'])}个"
    return text + "。"
