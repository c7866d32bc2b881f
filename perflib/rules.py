"""The rules file: every weight, threshold, band and rate, with its source and status.

The defaults ship as ``perflib/rules.yaml``. A user's file (``--rules``) overrides any subset of its
entries; it is validated key by key, and a wrong key, type or status is named in the error.
"""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import math
import pickle
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from .exceptions import RulesError

DEFAULT_RULES_PATH = Path(__file__).with_name("rules.yaml")
STATUSES = ("official", "local practice", "assumed")
STATUS_LABELS = {"official": "官方规定", "local practice": "地方做法", "assumed": "假设（可配置）"}
# a user's file may write a status as ``perflib rules`` prints it, or in a few other common words
STATUS_WORDS = {**{label: key for key, label in STATUS_LABELS.items()},
                "官方": "official", "地方": "local practice", "地方惯例": "local practice",
                "假设": "assumed", "假定": "assumed", "假设(可配置)": "assumed"}
ENTRY_KEYS = {"value", "source", "status", "label"}


def _is_entry(node: Any) -> bool:
    return isinstance(node, dict) and "value" in node


# libyaml's parser when PyYAML has it (the wheels do): the same safe constructor and tag resolution,
# ~10× faster on the 1,000-line default rules file that every ingest and report reads
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> dict:
    """The file's YAML, parsed anew for each call (the caller may change it): the file is read every
    time, but a text parsed before in this process is not parsed again (:func:`_parsed`)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulesError(f"规则文件不存在：{path}") from None
    except UnicodeDecodeError:
        raise RulesError(f"规则文件 {path} 不是 UTF-8 编码的文本") from None
    try:
        data = pickle.loads(_parsed(text))
    except yaml.YAMLError as exc:
        raise RulesError(f"规则文件 {path} 不是有效的 YAML：{exc}") from None
    if not isinstance(data, dict):
        raise RulesError(f"规则文件 {path} 的顶层应为键值映射（如 monitoring: ...）")
    return data


@lru_cache(maxsize=16)
def _parsed(text: str) -> bytes:
    """``text`` parsed as YAML, pickled: every ingest, report and run reads the 1,000-line default
    rules (5 ms to parse with libyaml, 0.5 ms to unpickle a fresh copy)."""
    return pickle.dumps(yaml.load(text, Loader=_SAFE_LOADER), protocol=pickle.HIGHEST_PROTOCOL)


def _same_shape(default: Any, value: Any, where: str) -> None:
    """Check that a user's value has the shape of the default (numbers stay numbers, and so on)."""
    if isinstance(default, bool) or isinstance(value, bool):
        if type(default) is not type(value):
            raise RulesError(f"规则 {where} 的取值类型不对：应为 {type(default).__name__}，实际为「{value!r}」")
        return
    if isinstance(default, (int, float)):
        if not isinstance(value, (int, float)):
            raise RulesError(f"规则 {where} 应为数值，实际为「{value!r}」")
        return
    if isinstance(default, str):
        if not isinstance(value, str):
            raise RulesError(f"规则 {where} 应为文本，实际为「{value!r}」")
        return
    if isinstance(default, list):
        if not isinstance(value, list) or not value:
            raise RulesError(f"规则 {where} 应为非空列表，实际为「{value!r}」")
        for i, item in enumerate(value):
            _same_shape(default[min(i, len(default) - 1)], item, f"{where}[{i}]")
        return
    if isinstance(default, dict):
        if not isinstance(value, dict) or not value:
            raise RulesError(f"规则 {where} 应为键值映射，实际为「{value!r}」")
        sample = next(iter(default.values()))
        for k, v in value.items():
            _same_shape(default.get(k, sample), v, f"{where}.{k}")
        return


@dataclass
class RuleEntry:
    key: str
    label: str
    value: Any
    source: str
    status: str


class Rules:
    """Validated rules; ``rules.value("monitoring.green_min_gap")`` returns a value."""

    def __init__(self, tree: dict, origin: str):
        self._tree = tree
        self.origin = origin

    # --- access -----------------------------------------------------------------------------
    def entry(self, key: str) -> RuleEntry:
        node: Any = self._tree
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise KeyError(f"rules have no entry {key!r}")
            node = node[part]
        if not _is_entry(node):
            raise KeyError(f"{key!r} is a section of the rules, not an entry")
        return RuleEntry(key, node.get("label", key), node["value"], node.get("source", ""),
                         node.get("status", ""))

    def value(self, key: str) -> Any:
        return copy.deepcopy(self.entry(key).value)

    def __getitem__(self, key: str) -> Any:
        return self.value(key)

    def entries(self, section: str | None = None) -> list[RuleEntry]:
        out: list[RuleEntry] = []

        def walk(node: dict, prefix: str) -> None:
            for k, v in node.items():
                key = f"{prefix}{k}"
                if _is_entry(v):
                    out.append(self.entry(key))
                elif isinstance(v, dict):
                    walk(v, key + ".")

        walk({k: v for k, v in self._tree.items() if k != "version"}, "")
        if section:
            out = [e for e in out if e.key == section or e.key.startswith(section + ".")]
        return out

    def sections(self) -> list[str]:
        """Every section a filter may name (``monitoring``, ``ingest.severity`` …), in file order."""
        return list(dict.fromkeys(".".join(e.key.split(".")[:i]) for e in self.entries()
                                  for i in range(1, e.key.count(".") + 1)))

    def table(self, section: str | None = None):
        """The applied rules as a DataFrame with Chinese headers, for printing in a report."""
        import pandas as pd

        rows = [
            {"规则": e.key, "含义": e.label, "取值": _fmt(e.value), "依据": e.source,
             "性质": STATUS_LABELS.get(e.status, e.status)}
            for e in self.entries(section)
        ]
        return pd.DataFrame(rows, columns=["规则", "含义", "取值", "依据", "性质"])

    @property
    def sha256(self) -> str:
        canon = json.dumps(self._tree, ensure_ascii=False, sort_keys=True, default=str)
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()

    def as_dict(self) -> dict:
        return copy.deepcopy(self._tree)


def _fmt(value: Any) -> str:
    if isinstance(value, dict):
        return "；".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "、".join(_fmt(v) for v in value)
    return str(value)


def _status(word: Any, where: str) -> str:
    """The canonical status of a user's ``status`` (English or as ``perflib rules`` prints it)."""
    text = str(word).strip()
    if text in STATUSES:
        return text
    if text in STATUS_WORDS:
        return STATUS_WORDS[text]
    shown = " / ".join(f"{k}（{STATUS_LABELS[k]}）" for k in STATUSES)
    raise RulesError(f"规则文件 {where}.status 为「{word}」，应为 {shown} 之一")


def _merge(default: dict, user: dict, path: str, origin: str) -> None:
    for k, v in user.items():
        where = f"{path}{k}"
        if k == "version" and not path:
            continue
        if k not in default:
            known = "、".join(x for x in default if x != "version")
            raise RulesError(f"规则文件 {origin}：未知的键 {where}（此处可用的键：{known}）")
        target = default[k]
        if _is_entry(target):
            if not isinstance(v, dict):
                v = {"value": v}
            extra = set(v) - ENTRY_KEYS
            if extra:
                raise RulesError(f"规则文件 {origin}：{where} 含未知字段 {sorted(extra)}（可用：value、source、status、label）")
            if "value" not in v:
                raise RulesError(f"规则文件 {origin}：{where} 缺少 value")
            _same_shape(target["value"], v["value"], f"{where}.value")
            status = _status(v.get("status", "local practice"), f"{origin}：{where}")
            target["value"] = v["value"]
            target["status"] = status
            target["source"] = v.get("source", f"用户规则文件 {origin}")
            if "label" in v:
                target["label"] = v["label"]
        elif isinstance(target, dict):
            if not isinstance(v, dict):
                raise RulesError(f"规则文件 {origin}：{where} 应为一节（键值映射），实际为「{v!r}」")
            _merge(target, v, where + ".", origin)


# --- the range of every numeric rule (issue 22: no nan, inf or fraction where a count belongs) -----
@dataclass(frozen=True)
class NumericRange:
    """What a numeric rule (every number inside its value) may be: ``low``–``high`` inclusive,
    ``integer`` for counts; ``text`` is the range as shown in the error."""
    low: float
    high: float
    integer: bool = False

    def admits(self, v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return False
        if self.integer and not isinstance(v, int):
            return False
        return self.low <= v <= self.high

    @property
    def text(self) -> str:
        kind = "整数" if self.integer else "有限数值"
        return f"{_num(self.low)} 到 {_num(self.high)} 之间（含两端）的{kind}"


def _num(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() and abs(v) >= 10_000 else f"{v:g}"


POINTS = NumericRange(0, 100)              # scores, weights and margins on the 100-point scale
RATE = NumericRange(0, 1)                  # shares, rates, percentiles, cuts
GAP = NumericRange(-1, 1)                  # a difference of two rates
MONTH = NumericRange(1, 12, integer=True)  # a month count within a year
RATIO = NumericRange(0, 10)                # actual / target or outturn / budget
SCALE = NumericRange(0.001, 100)           # statistical constants and thresholds (> 0)
ROWS = NumericRange(1, 1_048_575, integer=True)  # Excel's rows per sheet, less the header

NUMERIC_RANGES: dict[str, NumericRange] = {
    "self_evaluation.weight_execution": POINTS,
    "self_evaluation.weight_output": POINTS,
    "self_evaluation.weight_effect": POINTS,
    "self_evaluation.weight_satisfaction": POINTS,
    "self_evaluation.execution_cap": RATE,
    "self_evaluation.qualitative_tiers": RATE,
    "self_evaluation.overachievement_ratio": NumericRange(1, 10),
    "self_evaluation.inflation_margin": POINTS,
    "self_evaluation.full_marks_low_execution": RATE,
    "self_evaluation.full_marks_min": POINTS,
    "self_evaluation.zero_budget_execution_share": RATE,
    "self_evaluation.overachievement_deduction": NumericRange(0, 10),
    "self_evaluation.conflict_low_execution": RATE,
    "grades.excellent": POINTS,
    "grades.good": POINTS,
    "grades.fair": POINTS,
    "monitoring.months_in_year": MONTH,
    "monitoring.green_min_gap": GAP,
    "monitoring.yellow_min_gap": GAP,
    "monitoring.key_round_months": MONTH,
    "monitoring.month_complete_gap_days": NumericRange(0, 31, integer=True),
    "monitoring.over_execution_rate": RATIO,
    "monitoring.target_lag_gap": RATE,
    "monitoring.strict_sources": GAP,
    "monitoring.stalled_months": MONTH,
    "key_evaluation.weight_decision": POINTS,
    "key_evaluation.weight_process": POINTS,
    "key_evaluation.weight_output": POINTS,
    "key_evaluation.weight_effect": POINTS,
    "key_evaluation.suggested_cut": RATE,
    "key_evaluation.decision_tolerance": RATE,
    "key_evaluation.conflict_unspent_share": RATE,
    "application.selfeval_suggested_cut": RATE,
    "application.monitoring_unspent_share": RATE,
    "application.monitoring_suggested_cut": RATE,
    "application.decision_tolerance": RATE,
    "cost.standard_percentile": RATE,
    "cost.sensitivity_percentiles": RATE,
    "cost.outlier_z": SCALE,
    "cost.mad_scale": SCALE,
    "cost.min_peers": NumericRange(1, 1_000_000, integer=True),
    "cost.pilot_years": NumericRange(1, 100, integer=True),
    "cost.meanad_scale": SCALE,
    "fiscal.indicators": POINTS,  # the weight of each indicator
    "fiscal.equal_values_score": POINTS,
    "fiscal.weak_score": POINTS,
    "fiscal.strong_score": POINTS,
    "fiscal.grading_decimals": NumericRange(0, 15, integer=True),
    "fiscal.pi1_bands": RATIO,
    "fiscal.pi2_bands": RATE,
    "fiscal.pi3_bands": RATIO,
    "fiscal.pefa_years": NumericRange(1, 100, integer=True),
    "fiscal.final_outturn_month": MONTH,
    "report.html_max_rows": ROWS,
    "report.xlsx_max_rows": ROWS,
    "report.notice_reply_days": NumericRange(1, 365, integer=True),  # or a date (text)
    "target_review.satisfaction_min_amount": NumericRange(0, 1e13),  # 元
    "target_review.cost_min_amount": NumericRange(0, 1e13),  # 元
    "target_review.cost_tolerance": RATIO,
    "target_review.boilerplate_min_projects": NumericRange(1, 1_000_000, integer=True),
    "ex_ante.amount_threshold": NumericRange(0, 1e13),  # 元
}


def numeric_leaves(value: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    """Every number inside a rule's value (booleans are not numbers), with where it sits
    (``.中``, ``[1]``, ``.tax_share.weight``; ``""`` for the value itself)."""
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield where, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from numeric_leaves(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from numeric_leaves(v, f"{where}[{i}]")


def _check_ranges(rules: Rules, origin: str) -> None:
    """Every number in every rule is finite, an integer where a count belongs, and inside the
    range declared in :data:`NUMERIC_RANGES`; a numeric rule with no declared range is refused."""
    for e in rules.entries():
        for where, v in numeric_leaves(e.value):
            allowed = NUMERIC_RANGES.get(e.key)
            if allowed is None:
                raise RulesError(f"规则文件 {origin}：{e.key} 是数值规则，但没有声明取值范围（NUMERIC_RANGES）")
            if allowed.admits(v):
                continue
            if isinstance(v, float) and not math.isfinite(v):
                why = "不是有限数值"
            elif allowed.integer and not isinstance(v, int):
                why = "不是整数"
            else:
                why = "超出取值范围"
            raise RulesError(f"规则文件 {origin}：{e.key}{where} 的取值「{v!r}」{why}"
                             f"（允许的取值：{allowed.text}）")


def _check_consistency(rules: Rules, origin: str) -> None:
    def fail(msg: str) -> None:
        raise RulesError(f"规则文件 {origin}：{msg}")

    se = sum(rules.value(f"self_evaluation.weight_{k}") for k in ("execution", "output", "effect", "satisfaction"))
    if abs(se - 100) > 1e-9:
        fail(f"自评四项分值之和应为 100，实际为 {se:g}")
    ke = sum(rules.value(f"key_evaluation.weight_{k}") for k in ("decision", "process", "output", "effect"))
    if abs(ke - 100) > 1e-9:
        fail(f"重点评价四项分值之和应为 100，实际为 {ke:g}")
    ex, gd, fr = (rules.value(f"grades.{k}") for k in ("excellent", "good", "fair"))
    if not (100 >= ex > gd > fr >= 0):
        fail(f"等级线应满足 100 ≥ 优 > 良 > 中 ≥ 0，实际为 优 {ex}、良 {gd}、中 {fr}")
    g, y = rules.value("monitoring.green_min_gap"), rules.value("monitoring.yellow_min_gap")
    if not g > y:
        fail(f"monitoring.green_min_gap（{g}）应大于 monitoring.yellow_min_gap（{y}）")
    p = rules.value("cost.standard_percentile")
    if not 0 < p < 1:
        fail(f"cost.standard_percentile 应在 0 与 1 之间（不含），实际为 {p}")
    for q in rules.value("cost.sensitivity_percentiles"):
        if not 0 < q < 1:
            fail(f"cost.sensitivity_percentiles 的每个值应在 0 与 1 之间，实际有 {q}")
    if rules.value("monitoring.months_in_year") <= 0:
        fail("monitoring.months_in_year 应为正数")
    for k in ("pi1_bands", "pi3_bands"):
        for grade, band in rules.value(f"fiscal.{k}").items():
            if len(band) != 2 or not band[0] < band[1]:
                fail(f"fiscal.{k}.{grade} 应为 [下限, 上限] 且下限 < 上限，实际为 {band}")
    for k in ("html_max_rows", "xlsx_max_rows"):
        v = rules.value(f"report.{k}")
        if not (float(v).is_integer() and 1 <= v <= 1_048_575):
            fail(f"report.{k} 应为 1 到 1,048,575 之间的整数（Excel 每表上限），实际为 {v}")
    tz = rules.value("report.timezone")
    if zone(tz) is None:
        fail(f"report.timezone 为「{tz}」，不是已知的时区名称（应为 IANA 时区名称，如 Asia/Shanghai）")
    for name, ind in rules.value("fiscal.indicators").items():
        if not isinstance(ind, dict) or {"name", "weight", "direction"} - set(ind):
            fail(f"fiscal.indicators.{name} 应含 name、weight、direction")
        if ind["direction"] not in ("higher", "lower", "target_one"):
            fail(f"fiscal.indicators.{name}.direction 应为 higher / lower / target_one，实际为「{ind['direction']}」")


SEVERITY_KEY = "ingest.severity"


def _check_severity(tree: dict, defaults: dict, origin: str) -> None:
    """``ingest.severity`` maps finding kinds (schema.FINDING_KINDS) to error or finding; a user's
    mapping may name a few kinds, the others keep their default (filled in here)."""
    from .schema import FINDING_KINDS, SEVERITIES

    entry = tree["ingest"]["severity"]
    for kind, grade in entry["value"].items():
        if kind not in FINDING_KINDS:
            raise RulesError(f"规则文件 {origin}：{SEVERITY_KEY}.{kind} 不是已知的数据质量提示种类"
                             f"（可用：{'、'.join(FINDING_KINDS)}）")
        if grade not in SEVERITIES:
            raise RulesError(f"规则文件 {origin}：{SEVERITY_KEY}.{kind} 的取值「{grade}」应为 "
                             f"{' 或 '.join(SEVERITIES)}")
    entry["value"] = {k: entry["value"].get(k, defaults.get(k, "finding")) for k in FINDING_KINDS}


def load_rules(path: str | Path | None = None) -> Rules:
    """The default rules, with the user's file at ``path`` (if any) merged over them and validated.

    Example: ``load_rules().value("monitoring.green_min_gap")``; ``load_rules("my_rules.yaml")``
    """
    tree = _read_yaml(DEFAULT_RULES_PATH)
    defaults = dict(tree["ingest"]["severity"]["value"])
    origin = "默认规则"
    if path is not None:
        user = _read_yaml(Path(path))
        origin = str(path)
        _merge(tree, user, "", origin)
    _check_severity(tree, defaults, origin)
    rules = Rules(tree, origin)
    _check_ranges(rules, origin)
    _check_consistency(rules, origin)
    return rules


# --- the bureau's time zone (report.timezone) ------------------------------------------------------
TIME_FORMAT = "%Y-%m-%d %H:%M:%S %z"


def zone(name: Any) -> ZoneInfo | None:
    """The time zone of an IANA name (``Asia/Shanghai``), or None when there is no such zone."""
    if not isinstance(name, str) or not name.strip():
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


@lru_cache(maxsize=1)
def _default_timezone() -> str:
    return str(_read_yaml(DEFAULT_RULES_PATH)["report"]["timezone"]["value"])


def now_text(timezone: str | None = None) -> str:
    """The current time as shown to users (``2026-12-02 17:05:00 +0800``), in ``timezone`` (an IANA
    name, validated by :func:`load_rules`; None: the default rules' ``report.timezone``)."""
    tz = zone(timezone or _default_timezone())
    if tz is None:
        raise RulesError(f"report.timezone 为「{timezone}」，不是已知的时区名称（应为 IANA 时区名称，如 Asia/Shanghai）")
    return dt.datetime.now(tz).strftime(TIME_FORMAT)
