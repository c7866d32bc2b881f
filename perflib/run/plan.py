"""Planning a run: the notebook parameter registry (how each parameter is matched against the data
and fanned out), the :class:`Job` a worker executes and the :class:`ReportResult` it gives back,
and :func:`plan_jobs`, which checks a request and lists its reports before any kernel starts.

Everything that can be checked without a kernel is checked here (:class:`ParameterError`, exit 2).
"""
from __future__ import annotations

import ast
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from .. import __version__
from ..exceptions import ParameterError, StoreError, did_you_mean
from ..files import sha256_file
from .leaks import holds_secret, mask

KERNEL_NAME = "python3"
RUNNER_PARAMS = ("db", "year", "rules", "artifacts_dir")  # passed by the runner, not by -p

log = logging.getLogger("perflib.runner")


def default_notebooks_dir() -> Path:
    """``$PERFLIB_NOTEBOOKS_DIR``, else ``notebooks/`` of the source tree (perflib is installed
    editable), else of the cwd."""
    env = os.environ.get("PERFLIB_NOTEBOOKS_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parents[2] / "notebooks"
    return here if here.is_dir() else Path.cwd() / "notebooks"


# --- the parameter registry ------------------------------------------------------------------------
@dataclass(frozen=True)
class ParamKind:
    """How the runner treats a notebook parameter of this name.

    ``fanout``: "required" (left open → one report per value), "optional" (fanned out only with
    ``--each``) or "none". ``resolve(store, year, raw)`` checks a value against the data and returns
    (value passed to the notebook, human label); ``choices(store, year)`` lists (value, label);
    ``default(store, year, rules)`` fills a value left open that does not fan out.
    """

    fanout: str
    resolve: Callable[[Any, int, Any], tuple[Any, str]]
    choices: Callable[[Any, int], list[tuple[Any, str]]] | None = None
    default: Callable[[Any, int, Any], Any] | None = None


def _match(raw: Any, pairs: list[tuple[Any, str]], what: str) -> tuple[Any, str]:
    """Find ``raw`` among (code, name) pairs: exact code, exact name, then a unique name prefix."""
    text = str(raw).strip()
    for code, name in pairs:
        if text == str(code) or text == str(name):
            return code, str(name)
    partial = [(c, n) for c, n in pairs if str(n).startswith(text)] if text else []
    if len(partial) == 1:
        return partial[0][0], str(partial[0][1])
    near = did_you_mean(text, [n for _, n in pairs])  # the closest names first, then a sample
    sample = "、".join(str(n) for _, n in pairs[:8]) + ("……" if len(pairs) > 8 else "")
    hint = f"（共 {len(pairs)} 个，如：{sample}）" if pairs else "（数据中没有）"
    raise ParameterError(f"数据中没有{what}「{text}」" + (f"；{near}" if near else "") + hint)


def _level1(store, year) -> list[tuple[Any, str]]:
    d = store.departments()
    d = d[d["is_level1"]]
    return list(zip(d["dept_code"], d["dept_name"]))


def _streets(store, year) -> list[tuple[Any, str]]:
    s = store.streets()
    if year is not None:  # the streets evaluated in that year: those with 街道财政 rows for it (fiscal)
        have = set(store.sql("SELECT DISTINCT dept_code FROM street_fiscal WHERE year = ?", [int(year)])["dept_code"])
        s = s[s["dept_code"].isin(have)]
    return list(zip(s["dept_code"], s["dept_name"]))


def _types(store, year) -> list[tuple[Any, str]]:
    """The project types of a year with outputs, but those held only by classified projects (their
    report would be theirs alone; their money counts in the district totals as 涉密项目（合计））."""
    only = set(classified_only_types(store, year))
    return [(t, t) for t in store.project_types(year) if t not in only]


def classified_only_types(store, year) -> list[str]:
    """Project types (with outputs in ``year``) that no unclassified project of that year holds."""
    rows = store.sql(
        "SELECT p.project_type FROM projects p JOIN outputs o USING (project_id, year) "
        "WHERE p.year = ? AND p.project_type IS NOT NULL GROUP BY 1 HAVING bool_and(p.is_classified) "
        "ORDER BY 1", [int(year)])
    return [str(t) for t in rows["project_type"]]


def _month(store, year, raw) -> tuple[int, str]:
    try:
        m = int(str(raw).strip())
    except ValueError:
        raise ParameterError(f"参数 as_of_month 应为 1–12 的整数，实际为「{raw}」") from None
    if not 1 <= m <= 12:
        raise ParameterError(f"参数 as_of_month 应为 1–12 的整数，实际为 {m}")
    return m, f"{m}月"


def _covered_month(store, year, rules) -> int | None:
    """The default monitoring month: the last month the payments cover entirely (issue 15)."""
    from ..analysis.monitoring import last_complete_month

    return last_complete_month(store, year, rules)


def _check_covered(store, year: int, resolved: dict, rules) -> None:
    """A given as_of_month must lie within the data's complete months (ParameterError, exit 2)."""
    if "as_of_month" in resolved:
        from ..analysis.monitoring import check_month_covered

        check_month_covered(store, year, resolved["as_of_month"][0], rules)


# parameters that name a report's period: the file name carries the period whether it was given or
# defaulted (zero-padded so that names sort by period), so each period's edition stays published
PERIOD_LABELS: dict[str, Callable[[Any], str]] = {"as_of_month": lambda m: f"{int(m):02d}月"}

PARAMETERS: dict[str, ParamKind] = {
    "dept": ParamKind("optional", lambda s, y, r: _match(r, _level1(s, y), "一级预算部门"), _level1),
    "street": ParamKind("required", lambda s, y, r: _match(r, _streets(s, y), "街道"), _streets),
    "project_type": ParamKind("required", lambda s, y, r: _match(r, _types(s, y), f"{y} 年有产出数据的项目类型"),
                              _types),
    "as_of_month": ParamKind("none", _month, None, _covered_month),
}


# --- jobs and results ------------------------------------------------------------------------------
@dataclass
class Job:
    """One report to render: everything a worker needs (plain values, picklable)."""

    notebook: str
    path: str
    year: int
    params: dict[str, Any]  # the notebook's own parameters as passed
    display: dict[str, Any]  # the same, as people read them (names instead of codes)
    stem: str  # "<year>/<notebook>[-<label>]" relative to out
    db: str
    rules: str | None
    out: str
    timeout: int
    log_output: bool
    as_of: str | None
    inputs: dict[str, str]
    fingerprint: str
    secrets: list[str] = field(default_factory=list, repr=False)
    kernel_name: str = KERNEL_NAME
    # incremental runs and preloaded kernels (perflib.run.deps, perflib.run.kernels)
    tables: dict[str, str] = field(default_factory=dict, repr=False)  # content print of each table now
    code_key: str = ""  # all of perflib's code: a worker's zygote is rebuilt when it changes
    preload: list[str] = field(default_factory=list, repr=False)  # modules the zygote imports
    zygote: str | None = None  # socket of the run's zygote (local runs); None: the worker's own
    timezone: str | None = None  # report.timezone of the run's rules (None: the default rules')
    pdf: dict | None = None  # {"browser", "author"} when the report is also printed to PDF (perflib.run.pdf)
    documents: dict[str, Any] = field(default_factory=dict)  # Word documents it writes (perflib.run.documents)
    load_id: int | None = None  # the store's latest load (table loads): recorded with the facts, not fingerprinted


@dataclass
class ReportResult:
    """What became of one job: published (ok), failed (its failure page written) or cached."""

    notebook: str
    stem: str
    year: int
    display: dict[str, Any]
    status: str  # ok | failed | cached
    seconds: float
    rendered_at: str
    title: str | None = None
    error: str | None = None
    fingerprint: str | None = None
    tables: dict[str, str] | None = None  # the tables the report read, with their content prints
    timing: dict[str, float] = field(default_factory=dict)  # seconds: kernel, cells, execute, render; sheets_ahead

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "cached")


# --- parameters as people read them ----------------------------------------------------------------
PARAM_LABELS = {"dept": "部门", "street": "街道", "project_type": "项目类型", "as_of_month": "截至月份",
                "year": "年度"}


def labelled(display: dict) -> dict:
    """Parameters as people read them: Chinese names for the known ones."""
    return {PARAM_LABELS.get(k, k): v for k, v in display.items()}


def params_text(display: dict) -> str:
    """A report's parameters in one line of the log and the index (``部门=区科技局``)."""
    shown = [f"{k}={v}" for k, v in labelled(display).items() if v is not None]
    return "，".join(shown) or "（全区）"


# --- discovery and validation (no kernel) ----------------------------------------------------------
def available_notebooks(notebooks_dir: Path) -> dict[str, Path]:
    """{name: path} of the report notebooks in ``notebooks_dir`` (hidden and failed ones left out)."""
    return {p.stem: p for p in sorted(Path(notebooks_dir).glob("*.ipynb"))
            if not p.name.startswith((".", "_")) and ".failed" not in p.name}


def notebook_parameters(path: Path) -> dict[str, Any]:
    """The notebook's parameters cell as {name: default value} (literal defaults; else the text).

    Read with ``json`` and ``ast`` (the assignments papermill would override), not with papermill:
    importing papermill/nbformat costs seconds, too much for a run that has nothing to re-render.
    """
    try:
        nb = json.loads(Path(path).read_text("utf-8"))
        cell = next((c for c in nb.get("cells", []) if c.get("cell_type") == "code"
                     and "parameters" in (c.get("metadata", {}).get("tags") or [])), None)
        if cell is None:
            return {}
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        tree = ast.parse(src)
    except (OSError, ValueError, SyntaxError, AttributeError, TypeError) as exc:
        raise ParameterError(f"无法读取报告 {Path(path).name} 的参数单元格：{exc}") from None
    out: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, value = node.target.id, node.value
        else:
            continue
        try:
            out[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError, TypeError):
            out[name] = ast.get_source_segment(src, value)
    return out


_TRUE = {"true", "1", "yes", "y", "是"}
_FALSE = {"false", "0", "no", "n", "否"}


def cast_value(name: str, raw: Any, default: Any) -> Any:
    """Cast a ``-p`` value by the type of the notebook's default (None default: keep the text)."""
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    if text.lower() in ("none", "null", ""):
        return None
    try:
        if isinstance(default, bool):
            low = text.lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
    except ValueError:
        kind = {bool: "是/否（true/false）", int: "整数", float: "数值"}[type(default)]
        raise ParameterError(f"参数 {name} 应为{kind}，实际为「{raw}」") from None
    return text


def safe_label(text: str) -> str:
    """A file-name-safe form of a human value (keeps CJK; drops path and shell specials)."""
    s = re.sub(r"[\\/:*?\"<>|\s\x00-\x1f]+", "_", str(text)).strip("._ ")
    return s[:80] or "_"


def _code_fingerprint(notebook: Path | None = None) -> str:
    """Hash of the perflib code a notebook's reports depend on (the modules it imports, transitively,
    and the rendering side: :func:`perflib.run.deps.code_fingerprint`); without a notebook, of all of
    perflib's code, rules and templates."""
    if notebook is not None:
        from .deps import code_fingerprint

        return code_fingerprint(Path(notebook), __version__)
    h = hashlib.sha256(__version__.encode())
    base = Path(__file__).resolve().parents[1]  # perflib/
    for p in sorted(base.rglob("*")):
        if p.is_file() and p.suffix in (".py", ".yaml", ".j2", ".css", ".js"):
            h.update(str(p.relative_to(base)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def plan_jobs(notebooks: Iterable[str] | None, *, db: Path, year: int | None = None,
              params: Iterable[tuple[str, str]] | dict | None = None, each: Iterable[str] = (),
              out: Path = Path("reports"), rules: Path | None = None, timeout: int = 600,
              log_output: bool = False, notebooks_dir: Path | None = None,
              notices: list[str] | None = None) -> list[Job]:
    """Check the request against the notebooks and the data, and list the reports to render.

    Raises :class:`ParameterError` / :class:`StoreError` / ``RulesError`` before any kernel starts.
    ``notices`` (when given) receives why reports were left out: fan-out values that hold a
    classified name or code, types held only by classified projects (SECURITY.md §14).
    """
    from ..rules import load_rules
    from ..store import Store

    nb_dir = Path(notebooks_dir) if notebooks_dir else default_notebooks_dir()
    found = available_notebooks(nb_dir)
    names = _requested(notebooks, found, nb_dir)
    raw_params = dict(params.items() if isinstance(params, dict) else (params or []))
    year = _year_param(raw_params, year)

    db = Path(db).resolve()
    rules_path = Path(rules).resolve() if rules else None
    loaded_rules = load_rules(rules_path)  # RulesError (exit 2) before any kernel
    store = Store(db)
    try:
        year = _checked_year(store, db, year)
        declared = {n: notebook_parameters(found[n]) for n in names}
        each = list(dict.fromkeys(each))
        _check_names(raw_params, each, declared, names, explicit=bool(notebooks))
        secrets = sorted(Store(db, redact=False).classified_names(), key=len, reverse=True)
        # resolve the given values once per name (they do not depend on the notebook)
        resolved = _resolve_given(raw_params, store, year, secrets)
        _check_covered(store, year, resolved, loaded_rules)
        base_print, shared = _shared(store, db, year, loaded_rules, [found[n] for n in names], out, secrets)
        shared.update(rules=str(rules_path) if rules_path else None, out=str(Path(out).resolve()),
                      timeout=timeout, log_output=log_output)
        jobs: list[Job] = []
        for name in names:
            values = _notebook_values(name, declared[name], raw_params, resolved, each, store, year,
                                      loaded_rules, secrets=secrets, notices=notices)
            jobs += _notebook_jobs(name, found[name], declared[name], values, year, base_print, shared)
        seen: dict[str, Job] = {}
        for j in jobs:  # neither can happen (values are checked, colliding names numbered): a last guard
            if holds_secret(j.stem, secrets):
                raise ParameterError(f"报告 {j.notebook} 的文件名会写出涉密项目的名称或编码，未生成任何报告")
            if j.stem.casefold() in seen:
                raise ParameterError(f"两份报告会写到同一文件 {j.stem}.html（参数取值的名称相同）")
            seen[j.stem.casefold()] = j
        return jobs
    finally:
        store.close()


def _requested(notebooks: Iterable[str] | None, found: dict[str, Path], nb_dir: Path) -> list[str]:
    """The notebooks asked for (all when none is named), each known."""
    names = list(dict.fromkeys(notebooks or [])) or list(found)
    unknown = [n for n in names if n not in found]
    if unknown:
        near = "".join(did_you_mean(n, found) for n in unknown)
        raise ParameterError(f"没有名为「{'、'.join(unknown)}」的报告；" + (f"{near}" if near else "")
                             + f"可用的报告：{'、'.join(found) or '（无）'}")
    if not names:
        raise ParameterError(f"{nb_dir} 中没有报告（.ipynb）")
    return names


def _year_param(raw_params: dict, year: int | None) -> int | None:
    """``--year`` and ``-p year=``, which must agree (the latter is taken out of ``raw_params``);
    the other runner parameters cannot be given with ``-p``."""
    for k in RUNNER_PARAMS:
        if k in raw_params and k != "year":
            raise ParameterError(f"参数 {k} 由命令行选项给出（--{k}），不能用 -p 设置")
    if "year" in raw_params:
        if year is not None and str(year) != str(raw_params["year"]).strip():
            raise ParameterError(f"--year {year} 与 -p year={raw_params['year']} 不一致")
        try:
            year = int(str(raw_params.pop("year")).strip())
        except ValueError:
            raise ParameterError("参数 year 应为四位整数年度，如 2023") from None
    return year


def _checked_year(store, db: Path, year: int | None) -> int:
    """The year asked for, which the data must have; else the latest year of the data."""
    years = store.years()
    if year is None:
        year = store.latest_year()
        if year is None:
            raise StoreError(f"数据库 {db} 中没有项目数据；请先运行 perflib ingest")
    elif int(year) not in years:
        shown = "、".join(map(str, years)) or "（无）"
        raise ParameterError(f"数据中没有 {year} 年的项目（已有年度：{shown}）")
    return int(year)


def _check_names(raw_params: dict, each: list[str], declared: dict[str, dict], names: list[str],
                 explicit: bool = True) -> None:
    """Every ``-p`` name is a parameter of some notebook asked for; every ``--each`` one can fan out,
    and is a parameter of every report named (``explicit``) or of some report (all reports)."""
    for k in raw_params:
        if not any(k in d for d in declared.values()):
            known = sorted({p for d in declared.values() for p in d if p not in RUNNER_PARAMS})
            raise ParameterError(f"报告 {'、'.join(names)} 没有参数「{k}」；{did_you_mean(k, known)}"
                                 f"可用参数：{'、'.join(known) or '（无）'}")
    for k in each:
        kind = PARAMETERS.get(k)
        if kind is None or kind.choices is None:
            fan = [n for n, p in PARAMETERS.items() if p.choices]
            raise ParameterError(f"--each 只能用于可逐个取值的参数（{'、'.join(fan)}），实际为「{k}」；"
                                 + did_you_mean(k, fan))
        if k in raw_params:
            raise ParameterError(f"参数 {k} 已用 -p 指定，不能再用 --each 逐个生成")
        # a fan-out over a parameter a report does not have would silently render one report: refused
        # for a report named; with none named (all reports), refused when no report has it
        lacking = [n for n in names if k not in declared[n]]
        if lacking and (explicit or len(lacking) == len(names)):
            params = sorted({p for n in lacking for p in declared[n] if p not in RUNNER_PARAMS})
            raise ParameterError(f"报告 {'、'.join(lacking)} 没有参数 {k}，不能用 --each {k} 逐个生成"
                                 f"（其参数：{'、'.join(params) or '无'}）")


SECRET_VALUE = ("参数 {what} 的取值是或包含涉密项目的名称或编码，不能据此生成报告"
                "（报告的文件名、目录和运行日志都会写出这个取值）")
ONLY_CLASSIFIED = ("{year} 年有 {n} 个项目类型只有涉密项目，不单独生成报告；"
                   "其金额计入全区合计中的「涉密项目（合计）」")


def _resolve_given(raw_params: dict, store, year: int, secrets: list[str]) -> dict[str, tuple[Any, str]]:
    """(value, label) of each ``-p`` value of a registry parameter, checked against the data; a
    value that is or holds a classified name or code, or a type only classified projects hold, is
    refused without repeating it (SECURITY.md §14)."""
    resolved = {}
    for k, raw in raw_params.items():
        if k not in PARAMETERS:
            continue
        if k == "project_type" and str(raw).strip() in classified_only_types(store, year):
            raise ParameterError("参数 project_type 指定的项目类型只有涉密项目，不单独生成报告；"
                                 "其金额计入全区合计中的「涉密项目（合计）」")
        try:
            value, label = PARAMETERS[k].resolve(store, year, raw)
        except ParameterError as exc:  # its list of the values the data hold may name a secret
            raise ParameterError(mask(str(exc), secrets)) from None
        if holds_secret(raw, secrets) or holds_secret(value, secrets) or holds_secret(label, secrets):
            raise ParameterError(SECRET_VALUE.format(what=k))
        resolved[k] = (value, label)
    return resolved


def _public_choices(name: str, pname: str, choices: list[tuple[Any, str]], store, year: int,
                    secrets: list[str], notices: list[str] | None) -> list[tuple[Any, str]]:
    """The fan-out values whose code and label hold no classified name or code; the others are
    left out, and the log and ``notices`` say how many and why, under neutral labels
    (涉密项目类型-1, …) that never repeat them. For project types, also how many types were left
    out because only classified projects hold them (:func:`_types` never offers those)."""
    said: list[str] = []
    what = PARAM_LABELS.get(pname, pname)
    kept = [(c, lb) for c, lb in choices if not (holds_secret(c, secrets) or holds_secret(lb, secrets))]
    hidden = len(choices) - len(kept)
    if hidden:
        neutral = "、".join(f"涉密{what}-{i}" for i in range(1, hidden + 1))
        said.append(f"报告 {name}：{hidden} 个{what}取值（{neutral}）是或包含涉密项目的名称或编码，"
                    "不生成其报告（以免在文件名、报告目录和运行日志中写出）")
    if pname == "project_type":
        only = classified_only_types(store, year)
        if only:
            said.append(f"报告 {name}：" + ONLY_CLASSIFIED.format(year=year, n=len(only)))
    for line in said:
        log.warning("%s", line)
        if notices is not None:
            notices.append(line)
    return kept


def _shared(store, db: Path, year: int, loaded_rules, notebooks: list[Path], out: Path,
            secrets: list[str]) -> tuple[dict, dict]:
    """(what every report depends on besides its notebook, parameters and the tables it reads,
    the :class:`Job` fields every report of the run shares)."""
    from .deps import preload_modules, table_fingerprints

    inputs = store.inputs()
    as_of_date = store.last_payment_date(year)
    as_of = str(as_of_date)[:10] if as_of_date is not None else None
    # (perflib.run.deps): the data date in its header, the classified projects, rules, version
    base_print = {
        "version": __version__, "as_of": as_of, "rules": loaded_rules.sha256, "year": year,
        "classified": hashlib.sha256("\n".join(sorted(secrets)).encode()).hexdigest(),
    }
    shared = dict(db=str(db), as_of=as_of, inputs=inputs, secrets=secrets, load_id=store.latest_load_id(),
                  tables=table_fingerprints(db, cache_dir=out), code_key=_code_fingerprint(),
                  preload=preload_modules(notebooks), timezone=loaded_rules.value("report.timezone"))
    return base_print, shared


@dataclass
class _Values:
    """A notebook's parameter values before fanning out: the fixed ones (as passed and as shown),
    the labels of the given ones (for the file name) and the (name, choices) to fan out over."""

    fixed: dict[str, Any]
    display: dict[str, Any]
    labels: list[str]
    fan: list[tuple[str, list[tuple[Any, str]]]]
    period: list[str] = field(default_factory=list)  # the period's file-name label (PERIOD_LABELS)


def _notebook_values(name: str, decl: dict[str, Any], raw_params: dict, resolved: dict, each: list[str],
                     store, year: int, rules, *, secrets: list[str] = (), notices: list[str] | None = None
                     ) -> _Values:
    """Each parameter of one notebook: given (``-p``), fanned out (required, or ``--each``; values
    holding a secret left out), defaulted from the data, or left at the notebook's default."""
    v = _Values({}, {}, [], [])
    for pname, default in decl.items():
        if pname in RUNNER_PARAMS:
            continue
        kind = PARAMETERS.get(pname)
        if pname in raw_params:
            if kind is not None:
                value, label = resolved[pname]
            else:
                value = cast_value(pname, raw_params[pname], default)
                label = str(value)
                if holds_secret(label, list(secrets)):
                    raise ParameterError(SECRET_VALUE.format(what=pname))
            v.fixed[pname], v.display[pname] = value, label
            if pname in PERIOD_LABELS:
                v.period.append(PERIOD_LABELS[pname](value))
            else:
                v.labels.append(label)
        elif kind is not None and (kind.fanout == "required" or pname in each):
            choices = kind.choices(store, year) if kind.choices else []
            if pname in each and kind.fanout == "optional":
                choices = _level1(store, year) if pname == "dept" else choices
            choices = _public_choices(name, pname, choices, store, year, list(secrets), notices)
            if not choices:
                log.warning("%s：数据中没有可用的 %s 取值（%s 年），不生成此报告", name, pname, year)
            v.fan.append((pname, choices))
        elif kind is not None and kind.default is not None and default is None:
            value = kind.default(store, year, rules)
            v.fixed[pname] = value
            v.display[pname] = kind.resolve(store, year, value)[1] if value is not None else None
            if value is not None and pname in PERIOD_LABELS:
                v.period.append(PERIOD_LABELS[pname](value))
        else:
            v.fixed[pname] = default
            v.display[pname] = default
    return v


def _notebook_jobs(name: str, path: Path, decl: dict[str, Any], v: _Values, year: int,
                   base_print: dict, shared: dict) -> list[Job]:
    """One job per combination of the fanned-out values, with its file stem and fingerprint."""
    combos: list[tuple[dict, dict, list[str]]] = [({}, {}, [])]
    for pname, choices in v.fan:
        combos = [(dict(vals, **{pname: code}), dict(d, **{pname: label}), ls + [label])
                  for vals, d, ls in combos for code, label in choices]
    nb_sha = sha256_file(path)
    code_print = _code_fingerprint(path)
    stems, numbered = distinct_stems(
        [f"{year}/{name}" + "".join(f"-{safe_label(x)}" for x in v.labels + ls + v.period) for _, _, ls in combos],
        [tuple(str(vals[p]) for p, _ in v.fan) for vals, _, _ in combos])
    if numbered:
        log.info("报告 %s：%d 份报告的参数取值写成文件名后相同，按编码顺序加编号区分", name, len(numbered))
    jobs = []
    for i, ((values, disp, _), stem) in enumerate(zip(combos, stems)):
        p = dict(v.fixed, **values)
        if i in numbered:  # the page and the index say which value it is: its code beside its name
            disp = {q: (f"{lb}（编码 {values[q]}）" if q in values and str(values[q]) != str(lb) else lb)
                    for q, lb in disp.items()}
        d = {k: disp.get(k, v.display.get(k)) for k in decl if k not in RUNNER_PARAMS}
        fp = hashlib.sha256(json.dumps(
            dict(base_print, notebook=nb_sha, code=code_print, params=p), ensure_ascii=False,
            sort_keys=True, default=str).encode()).hexdigest()
        jobs.append(Job(notebook=name, path=str(path.resolve()), year=year, params=p, display=d,
                        stem=stem, fingerprint=fp, **shared))
    return jobs


def distinct_stems(stems: list[str], keys: list[tuple]) -> tuple[list[str], set[int]]:
    """``stems`` made distinct (also where a file system ignores case): the members of each group
    that share a name get ``-1``, ``-2``, … in the order of their ``keys`` (the values' codes), a
    number skipped when that name is taken. Returns the stems and the indexes that were numbered."""
    groups: dict[str, list[int]] = {}
    for i, stem in enumerate(stems):
        groups.setdefault(stem.casefold(), []).append(i)
    taken = {stem.casefold() for stem in stems}
    out, numbered = list(stems), set()
    for members in groups.values():
        if len(members) < 2:
            continue
        n = 0
        for i in sorted(members, key=lambda i: keys[i]):
            n += 1
            while f"{stems[i]}-{n}".casefold() in taken:
                n += 1
            out[i] = f"{stems[i]}-{n}"
            taken.add(out[i].casefold())
            numbered.add(i)
    return out, numbered
