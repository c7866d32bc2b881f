"""``perflib run``: validate parameters, fan out over the data, execute notebooks with papermill and
publish each report atomically (``.html``, ``.ipynb``, ``.facts.json``, ``.xlsx``) plus the index.

Everything that can be checked without a kernel is checked first (:class:`ParameterError`, exit 2).
A failed report never replaces the last good one: it gets ``<name>.failed.html`` instead, the others
still render, and the run exits 1.
"""
from __future__ import annotations

import ast
import datetime as dt
import hashlib
import html
import json
import logging
import os
import pickle
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from . import __version__
from .exceptions import ParameterError, StoreError

log = logging.getLogger("perflib.runner")

KERNEL_NAME = "python3"
RUNNER_PARAMS = ("db", "year", "rules", "artifacts_dir")  # passed by the runner, not by -p
INDEX_STATE = ".index.json"
LEAK_MASK = "［涉密信息已隐去］"


def default_notebooks_dir() -> Path:
    """``$PERFLIB_NOTEBOOKS_DIR``, else ``notebooks/`` of the source tree (perflib is installed
    editable), else of the cwd."""
    env = os.environ.get("PERFLIB_NOTEBOOKS_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent / "notebooks"
    return here if here.is_dir() else Path.cwd() / "notebooks"


# --- the parameter registry ------------------------------------------------------------------------
@dataclass(frozen=True)
class ParamKind:
    """How the runner treats a notebook parameter of this name.

    ``fanout``: "required" (left open → one report per value), "optional" (fanned out only with
    ``--each``) or "none". ``resolve(store, year, raw)`` checks a value against the data and returns
    (value passed to the notebook, human label); ``choices(store, year)`` lists (value, label);
    ``default(store, year)`` fills a value left open that does not fan out.
    """

    fanout: str
    resolve: Callable[[Any, int, Any], tuple[Any, str]]
    choices: Callable[[Any, int], list[tuple[Any, str]]] | None = None
    default: Callable[[Any, int], Any] | None = None


def _match(raw: Any, pairs: list[tuple[Any, str]], what: str) -> tuple[Any, str]:
    """Find ``raw`` among (code, name) pairs: exact code, exact name, then a unique name prefix."""
    text = str(raw).strip()
    for code, name in pairs:
        if text == str(code) or text == str(name):
            return code, str(name)
    partial = [(c, n) for c, n in pairs if str(n).startswith(text)] if text else []
    if len(partial) == 1:
        return partial[0][0], str(partial[0][1])
    sample = "、".join(str(n) for _, n in pairs[:8]) + ("……" if len(pairs) > 8 else "")
    hint = f"（共 {len(pairs)} 个，如：{sample}）" if pairs else "（数据中没有）"
    raise ParameterError(f"数据中没有{what}「{text}」{hint}")


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
    return [(t, t) for t in store.project_types(year)]


def _month(store, year, raw) -> tuple[int, str]:
    try:
        m = int(str(raw).strip())
    except ValueError:
        raise ParameterError(f"参数 as_of_month 应为 1–12 的整数，实际为「{raw}」") from None
    if not 1 <= m <= 12:
        raise ParameterError(f"参数 as_of_month 应为 1–12 的整数，实际为 {m}")
    return m, f"{m}月"


PARAMETERS: dict[str, ParamKind] = {
    "dept": ParamKind("optional", lambda s, y, r: _match(r, _level1(s, y), "一级预算部门"), _level1),
    "street": ParamKind("required", lambda s, y, r: _match(r, _streets(s, y), "街道"), _streets),
    "project_type": ParamKind("required", lambda s, y, r: _match(r, _types(s, y), f"{y} 年有产出数据的项目类型"),
                              _types),
    "as_of_month": ParamKind("none", _month, None, lambda s, y: s.last_payment_month(y)),
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


@dataclass
class ReportResult:
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

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "cached")


@dataclass
class RunSummary:
    results: list[ReportResult]
    out: Path

    @property
    def exit_code(self) -> int:
        return 0 if all(r.ok for r in self.results) else 1

    @property
    def failed(self) -> list[ReportResult]:
        return [r for r in self.results if not r.ok]

    def describe(self) -> str:
        n_ok = sum(r.ok for r in self.results)
        lines = [f"共生成 {len(self.results)} 份报告：成功 {n_ok}，失败 {len(self.failed)}。"]
        for r in self.failed:
            lines.append(f"  失败：{r.stem}（{r.error}）→ {self.out / (r.stem + '.failed.html')}")
        for r in self.results:
            if r.notebook == "overview" and r.ok:
                lines.append(f"情况说明：{(self.out / (r.stem + '.html')).resolve()}")
        lines.append(f"报告目录：{(self.out / 'index.html').resolve()}")
        return "\n".join(lines)


# --- discovery and validation (no kernel) ----------------------------------------------------------
def available_notebooks(notebooks_dir: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(Path(notebooks_dir).glob("*.ipynb"))
            if not p.name.startswith((".", "_")) and ".failed" not in p.name}


def notebook_parameters(path: Path) -> dict[str, Any]:
    """The notebook's parameters cell as {name: default value} (literal defaults; else the text)."""
    import papermill

    try:
        found = papermill.inspect_notebook(str(path))
    except Exception as exc:  # noqa: BLE001 - a broken notebook file is the user's to fix
        raise ParameterError(f"无法读取报告 {path.name} 的参数单元格：{exc}") from None
    out: dict[str, Any] = {}
    for name, info in found.items():
        text = info.get("default")
        try:
            out[name] = ast.literal_eval(text) if text is not None else None
        except (ValueError, SyntaxError):
            out[name] = text
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


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _code_fingerprint() -> str:
    """Hash of perflib's own code, rules and templates: a change invalidates the incremental cache."""
    h = hashlib.sha256(__version__.encode())
    base = Path(__file__).resolve().parent
    for p in sorted(base.rglob("*")):
        if p.is_file() and p.suffix in (".py", ".yaml", ".j2", ".css", ".js"):
            h.update(str(p.relative_to(base)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def plan_jobs(notebooks: Iterable[str] | None, *, db: Path, year: int | None = None,
              params: Iterable[tuple[str, str]] | dict | None = None, each: Iterable[str] = (),
              out: Path = Path("reports"), rules: Path | None = None, timeout: int = 600,
              log_output: bool = False, notebooks_dir: Path | None = None) -> list[Job]:
    """Check the request against the notebooks and the data, and list the reports to render.

    Raises :class:`ParameterError` / :class:`StoreError` / ``RulesError`` before any kernel starts.
    """
    from .rules import load_rules
    from .store import Store

    nb_dir = Path(notebooks_dir) if notebooks_dir else default_notebooks_dir()
    found = available_notebooks(nb_dir)
    names = list(dict.fromkeys(notebooks or [])) or list(found)
    unknown = [n for n in names if n not in found]
    if unknown:
        raise ParameterError(f"没有名为「{'、'.join(unknown)}」的报告；可用的报告：{'、'.join(found) or '（无）'}")
    if not names:
        raise ParameterError(f"{nb_dir} 中没有报告（.ipynb）")

    raw_params = dict(params.items() if isinstance(params, dict) else (params or []))
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

    db = Path(db).resolve()
    rules_path = Path(rules).resolve() if rules else None
    loaded_rules = load_rules(rules_path)  # RulesError (exit 2) before any kernel
    store = Store(db)
    try:
        years = store.years()
        if year is None:
            year = store.latest_year()
            if year is None:
                raise StoreError(f"数据库 {db} 中没有项目数据；请先运行 perflib ingest")
        elif int(year) not in years:
            shown = "、".join(map(str, years)) or "（无）"
            raise ParameterError(f"数据中没有 {year} 年的项目（已有年度：{shown}）")
        year = int(year)

        declared = {n: notebook_parameters(found[n]) for n in names}
        each = list(dict.fromkeys(each))
        for k in raw_params:
            if not any(k in d for d in declared.values()):
                known = sorted({p for d in declared.values() for p in d if p not in RUNNER_PARAMS})
                raise ParameterError(f"报告 {'、'.join(names)} 没有参数「{k}」；可用参数：{'、'.join(known) or '（无）'}")
        for k in each:
            kind = PARAMETERS.get(k)
            if kind is None or kind.choices is None:
                raise ParameterError(f"--each 只能用于可逐个取值的参数（{'、'.join(n for n, p in PARAMETERS.items() if p.choices)}），实际为「{k}」")
            if k in raw_params:
                raise ParameterError(f"参数 {k} 已用 -p 指定，不能再用 --each 逐个生成")

        # resolve the given values once per name (they do not depend on the notebook)
        resolved: dict[str, tuple[Any, str]] = {}
        for k, raw in raw_params.items():
            if k in PARAMETERS:
                resolved[k] = PARAMETERS[k].resolve(store, year, raw)
        inputs = store.inputs()
        as_of_date = store.last_payment_date(year)
        as_of = str(as_of_date)[:10] if as_of_date is not None else None
        secrets = sorted(Store(db, redact=False).classified_names(), key=len, reverse=True)
        stat = db.stat()
        base_print = {
            "code": _code_fingerprint(), "db": [stat.st_size, stat.st_mtime_ns], "inputs": inputs,
            "rules": loaded_rules.sha256, "year": year,
        }

        jobs: list[Job] = []
        for name in names:
            decl = declared[name]
            fixed: dict[str, Any] = {}
            display: dict[str, Any] = {}
            labels: list[str] = []
            fan: list[tuple[str, list[tuple[Any, str]]]] = []
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
                    fixed[pname], display[pname] = value, label
                    labels.append(label)
                elif kind is not None and (kind.fanout == "required" or pname in each):
                    choices = kind.choices(store, year) if kind.choices else []
                    if pname in each and kind.fanout == "optional":
                        choices = _level1(store, year) if pname == "dept" else choices
                    fan.append((pname, choices))
                elif kind is not None and kind.default is not None and default is None:
                    value = kind.default(store, year)
                    fixed[pname] = value
                    display[pname] = kind.resolve(store, year, value)[1] if value is not None else None
                else:
                    fixed[pname] = default
                    display[pname] = default
            combos: list[tuple[dict, dict, list[str]]] = [({}, {}, [])]
            for pname, choices in fan:
                if not choices:
                    log.warning("%s：数据中没有可用的 %s 取值（%s 年），不生成此报告", name, pname, year)
                combos = [(dict(v, **{pname: code}), dict(d, **{pname: label}), ls + [label])
                          for v, d, ls in combos for code, label in choices]
            nb_sha = _sha256_file(found[name])
            for values, disp, fan_labels in combos:
                p = dict(fixed, **values)
                d = {k: disp.get(k, display.get(k)) for k in decl if k not in RUNNER_PARAMS}
                all_labels = labels + fan_labels
                stem = f"{year}/{name}" + "".join(f"-{safe_label(x)}" for x in all_labels)
                fp = hashlib.sha256(json.dumps(
                    dict(base_print, notebook=nb_sha, params=p), ensure_ascii=False, sort_keys=True,
                    default=str).encode()).hexdigest()
                jobs.append(Job(notebook=name, path=str(found[name].resolve()), year=year, params=p,
                                display=d, stem=stem, db=str(db),
                                rules=str(rules_path) if rules_path else None, out=str(Path(out).resolve()),
                                timeout=timeout, log_output=log_output, as_of=as_of, inputs=inputs,
                                fingerprint=fp, secrets=secrets))
        seen: dict[str, Job] = {}
        for j in jobs:
            if j.stem in seen:
                raise ParameterError(f"两份报告会写到同一文件 {j.stem}.html（参数取值的名称相同）")
            seen[j.stem] = j
        return jobs
    finally:
        store.close()


# --- executing one report --------------------------------------------------------------------------
def _now() -> str:
    return dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


def _leaks(data: bytes, secrets: list[str]) -> list[int]:
    """Indexes of secrets found in an output (text as written, HTML-escaped or JSON-escaped)."""
    text = data.decode("utf-8", errors="ignore")
    hits = []
    for i, s in enumerate(secrets):
        forms = {s, html.escape(s), html.escape(s, quote=False), json.dumps(s)[1:-1],
                 json.dumps(s, ensure_ascii=True)[1:-1]}
        for f in forms:
            if not f:
                continue
            if re.fullmatch(r"[0-9A-Za-z_\-]+", s):  # a code: match it as a whole token only
                if re.search(rf"(?<![0-9A-Za-z]){re.escape(f)}(?![0-9A-Za-z])", text):
                    hits.append(i)
                    break
            elif f in text:
                hits.append(i)
                break
    return hits


def _xlsx_text(data: bytes) -> bytes:
    """The XML text inside an .xlsx (its strings are not visible in the zipped bytes)."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return b"\n".join(z.read(n) for n in z.namelist() if n.endswith(".xml"))


def _mask(text: str, secrets: list[str]) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, LEAK_MASK).replace(html.escape(s), LEAK_MASK)
    return text


def _read_artifacts(adir: Path) -> tuple[dict, list[tuple[str, str, Any]], dict]:
    from .report import FACTS_FILE, META_FILE, TABLES_FILE

    facts = json.loads((adir / FACTS_FILE).read_text("utf-8")) if (adir / FACTS_FILE).exists() else {}
    meta = json.loads((adir / META_FILE).read_text("utf-8")) if (adir / META_FILE).exists() else {}
    tables = []
    if (adir / TABLES_FILE).exists():
        for t in json.loads((adir / TABLES_FILE).read_text("utf-8")):
            with open(adir / "tables" / t["file"], "rb") as fh:
                tables.append((t["title"], t["sheet"], pickle.load(fh)))
    return facts, tables, meta


def _failure_reason(exc: BaseException) -> str:
    name = type(exc).__name__
    if "Timeout" in name:
        return f"单元格执行超时（{name}）"
    if "DeadKernel" in name:
        return "内核意外退出（DeadKernelError）"
    if name == "PapermillExecutionError":
        return f"单元格出错：{getattr(exc, 'ename', '')}: {getattr(exc, 'evalue', '')}"
    return f"{name}: {exc}"


def _mark_running_cell(nb) -> None:
    """For a timeout/dead kernel (no error output): show the cell papermill marked as running."""
    from .render import failing_cell

    if failing_cell(nb) is not None:
        return
    for cell in nb.cells:
        pm = cell.get("metadata", {}).get("papermill", {})
        if cell.cell_type == "code" and pm.get("status") == "running":
            cell.setdefault("outputs", []).append({
                "output_type": "error", "ename": "执行中断", "evalue": "此单元格未能执行完毕（超时或内核退出）",
                "traceback": []})
            return


def execute_job(job: Job) -> ReportResult:
    """Execute one notebook and publish its outputs (or its failure page); never raises for a
    notebook failure."""
    import nbformat
    import papermill

    from .render import (atomic_write_bytes, atomic_write_text, first_heading, notebook_body,
                         render_failure, render_report, xlsx_bytes)
    from .rules import load_rules

    started = time.monotonic()
    out = Path(job.out)
    base = out / job.stem
    base.parent.mkdir(parents=True, exist_ok=True)
    rules = load_rules(job.rules)
    work = Path(tempfile.mkdtemp(prefix="perflib-run-"))
    adir = work / "artifacts"
    adir.mkdir()
    executed = work / "executed.ipynb"
    parameters = dict(job.params, db=job.db, year=job.year, rules=job.rules, artifacts_dir=str(adir))
    error: str | None = None
    nb = None
    try:
        try:
            papermill.execute_notebook(
                job.path, str(executed), parameters=parameters, kernel_name=job.kernel_name,
                progress_bar=False, log_output=job.log_output, cwd=str(Path(job.path).parent),
                execution_timeout=job.timeout, request_save_on_cell_execute=True,
            )
        except Exception as exc:  # noqa: BLE001 - any notebook failure becomes a failure page
            error = _failure_reason(exc)
        if executed.exists():
            nb = nbformat.read(str(executed), as_version=4)
        rendered_at = _now()
        title = None
        if error is None:
            try:
                facts, tables, meta = _read_artifacts(adir)
                title = meta.get("title") or first_heading(notebook_body(nb)) or job.notebook
                page = render_report(nb, notebook=job.notebook, params=dict(labelled(job.display), 年度=job.year),
                                     as_of=job.as_of, inputs=job.inputs, rules=rules, title=title,
                                     rules_sections=meta.get("rules_sections"), rendered_at=rendered_at)
                facts_doc = {
                    "notebook": job.notebook,
                    "parameters": dict(job.params, year=job.year),
                    "perflib_version": __version__,
                    "inputs": job.inputs,
                    "rules_sha256": rules.sha256,
                    "rendered_at": rendered_at,
                    "facts": facts,
                }
                info = {"报告": title, "年度": job.year, **labelled(job.display),
                        "数据截至": job.as_of, "生成时间": rendered_at, "perflib 版本": __version__}
                files = {
                    ".html": page.encode("utf-8"),
                    ".ipynb": nbformat.writes(nb).encode("utf-8"),
                    ".facts.json": json.dumps(facts_doc, ensure_ascii=False, indent=2).encode("utf-8"),
                    ".xlsx": xlsx_bytes(tables, info),
                }
                leaked = sorted({i for suffix, data in files.items()
                                 for i in _leaks(_xlsx_text(data) if suffix == ".xlsx" else data, job.secrets)})
                if leaked:
                    where = [s for s, d in files.items()
                             if _leaks(_xlsx_text(d) if s == ".xlsx" else d, job.secrets)]
                    error = (f"输出中出现了 {len(leaked)} 个涉密项目的名称或编码（{'、'.join(where)}），"
                             "报告未发布")
                else:
                    # companions first, the page last: once the .html is there, so is the rest
                    for suffix in (".ipynb", ".facts.json", ".xlsx", ".html"):
                        atomic_write_bytes(Path(str(base) + suffix), files[suffix])
                    Path(str(base) + ".failed.html").unlink(missing_ok=True)
            except Exception as exc:  # noqa: BLE001 - a rendering bug fails this report only
                log.debug("render failed", exc_info=True)
                error = f"报告渲染失败：{type(exc).__name__}: {exc}"
        if error is not None:
            good = Path(str(base) + ".html")
            page = render_failure(notebook=job.notebook, params=dict(labelled(job.display), 年度=job.year),
                                  error=error, nb=nb, title=title, as_of=job.as_of, inputs=job.inputs,
                                  rules=rules, last_good=good.name if good.exists() else None,
                                  rendered_at=rendered_at)
            atomic_write_text(Path(str(base) + ".failed.html"), _mask(page, job.secrets))
            status = "failed"
        else:
            status = "ok"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ReportResult(notebook=job.notebook, stem=job.stem, year=job.year, display=job.display,
                        status=status, seconds=round(time.monotonic() - started, 2),
                        rendered_at=rendered_at, title=title,
                        error=_mask(error, job.secrets) if error else None, fingerprint=job.fingerprint)


def execute_job_safely(job: Job) -> ReportResult:
    """:func:`execute_job`, with any unexpected error (disk full, a bug of ours) turned into a failed
    result for this report, so that the other reports of the run still render."""
    started = time.monotonic()
    try:
        return execute_job(job)
    except Exception as exc:  # noqa: BLE001
        log.exception("%s: unexpected error", job.stem)
        error = _mask(f"{type(exc).__name__}: {exc}", job.secrets)
        try:
            from .render import atomic_write_text, render_failure

            page = render_failure(notebook=job.notebook, params=dict(labelled(job.display), 年度=job.year), error=error)
            atomic_write_text(Path(job.out) / f"{job.stem}.failed.html", _mask(page, job.secrets))
        except Exception:  # noqa: BLE001 - nothing more we can do for this report
            log.exception("%s: could not write the failure page", job.stem)
        return ReportResult(notebook=job.notebook, stem=job.stem, year=job.year, display=job.display,
                            status="failed", seconds=round(time.monotonic() - started, 2),
                            rendered_at=_now(), error=error, fingerprint=job.fingerprint)


# --- the index ------------------------------------------------------------------------------------
PARAM_LABELS = {"dept": "部门", "street": "街道", "project_type": "项目类型", "as_of_month": "截至月份",
                "year": "年度"}


def labelled(display: dict) -> dict:
    """Parameters as people read them: Chinese names for the known ones."""
    return {PARAM_LABELS.get(k, k): v for k, v in display.items()}


def _params_text(display: dict) -> str:
    shown = [f"{k}={v}" for k, v in labelled(display).items() if v is not None]
    return "，".join(shown) or "（全区）"


def update_index(out: Path, results: list[ReportResult]) -> Path:
    """Merge the run's results into ``.index.json`` and rewrite ``index.html`` atomically."""
    from filelock import FileLock

    from .render import atomic_write_text, render_index

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out / ".index.lock"), timeout=120):
        state_path = out / INDEX_STATE
        try:
            state = json.loads(state_path.read_text("utf-8")) if state_path.exists() else {}
        except json.JSONDecodeError:
            state = {}
        for r in results:
            prev = state.get(r.stem, {})
            entry = dict(prev)
            entry.update({"notebook": r.notebook, "year": r.year, "params": r.display,
                          "params_text": _params_text(r.display), "status": "ok" if r.ok else "failed",
                          "rendered_at": r.rendered_at, "seconds": r.seconds, "error": r.error})
            if r.title:
                entry["title"] = r.title
            if r.ok:
                entry["last_good_at"] = r.rendered_at if r.status == "ok" else prev.get("last_good_at", r.rendered_at)
                entry["fingerprint"] = r.fingerprint
            else:
                entry.pop("fingerprint", None)
            state[r.stem] = entry
        # entries whose files were removed by hand disappear from the index
        for stem in list(state):
            if not (out / f"{stem}.html").exists() and not (out / f"{stem}.failed.html").exists():
                del state[stem]
        atomic_write_text(state_path, json.dumps(state, ensure_ascii=False, indent=1))
        entries = []
        for stem, e in state.items():
            good = (out / f"{stem}.html").exists()
            failed = (out / f"{stem}.failed.html").exists()
            row = dict(e, stem=stem)
            row["html"] = f"{stem}.html" if good else None
            row["failed_html"] = f"{stem}.failed.html" if failed and e.get("status") != "ok" else None
            row["files"] = [(label, f"{stem}{suffix}") for label, suffix in
                            (("HTML", ".html"), ("xlsx", ".xlsx"), ("facts", ".facts.json"), ("ipynb", ".ipynb"))
                            if (out / f"{stem}{suffix}").exists()]
            entries.append(row)
        atomic_write_text(out / "index.html", render_index(entries))
    return out / "index.html"


def _cached(job: Job) -> ReportResult | None:
    """The previous result if this exact report (code, data, rules, parameters) is already rendered."""
    out = Path(job.out)
    state_path = out / INDEX_STATE
    if not state_path.exists():
        return None
    try:
        entry = json.loads(state_path.read_text("utf-8")).get(job.stem)
    except json.JSONDecodeError:
        return None
    if not entry or entry.get("fingerprint") != job.fingerprint or entry.get("status") != "ok":
        return None
    if not all((out / f"{job.stem}{s}").exists() for s in (".html", ".ipynb", ".facts.json", ".xlsx")):
        return None
    return ReportResult(notebook=job.notebook, stem=job.stem, year=job.year, display=job.display,
                        status="cached", seconds=0.0, rendered_at=entry.get("rendered_at", ""),
                        title=entry.get("title"), fingerprint=job.fingerprint)


# --- the run --------------------------------------------------------------------------------------
def run_reports(notebooks: Iterable[str] | None = None, *, db: str | Path = "data/perf.duckdb",
                year: int | None = None, params: Iterable[tuple[str, str]] | dict | None = None,
                each: Iterable[str] = (), out: str | Path = "reports", jobs: int = 1,
                dask: str | None = None, rules: str | Path | None = None, force: bool = False,
                timeout: int = 600, log_output: bool = False, progress: bool | None = None,
                notebooks_dir: str | Path | None = None) -> RunSummary:
    """Render reports; returns the results (``summary.exit_code`` is 0 or 1).

    Bad requests raise :class:`ParameterError` (exit 2) before any kernel starts. ``jobs`` > 1 runs
    reports in parallel processes; ``dask`` sends them to a dask.distributed scheduler instead.
    ``force`` re-renders reports whose code, data, rules and parameters are unchanged.
    """
    out = Path(out)
    planned = plan_jobs(notebooks, db=Path(db), year=year, params=params, each=each, out=out,
                        rules=Path(rules) if rules else None, timeout=timeout, log_output=log_output,
                        notebooks_dir=Path(notebooks_dir) if notebooks_dir else None)
    if dask:
        try:
            from dask.distributed import Client, as_completed as dask_completed  # noqa: F401
        except ImportError:
            raise ParameterError("--dask 需要安装 dask[distributed]（pip install 'dask[distributed]'）") from None
    results: list[ReportResult] = []
    todo: list[Job] = []
    for job in planned:
        hit = None if force else _cached(job)
        if hit is not None:
            results.append(hit)
            log.info("%s %s 未变化，沿用已有报告", job.stem, _params_text(job.display))
        else:
            todo.append(job)
    show = (sys.stderr.isatty() if progress is None else progress) and len(todo) > 0
    from tqdm import tqdm

    bar = tqdm(total=len(todo), desc="生成报告", unit="份", disable=not show, file=sys.stderr)

    def done(res: ReportResult) -> None:
        results.append(res)
        level = logging.INFO if res.ok else logging.ERROR
        log.log(level, "%s %s %s %.1fs%s", res.notebook, _params_text(res.display),
                "成功" if res.ok else "失败", res.seconds, f"：{res.error}" if res.error else "")
        bar.update(1)

    try:
        if dask and todo:
            from dask.distributed import Client, as_completed as dask_completed

            with Client(dask) as client:
                futures = [client.submit(execute_job_safely, j, pure=False) for j in todo]
                for fut in dask_completed(futures):
                    done(fut.result())
        elif jobs > 1 and len(todo) > 1:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor, as_completed

            ctx = mp.get_context("spawn")  # no forked DuckDB handles or kernel sockets
            with ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=ctx) as pool:
                futures = [pool.submit(execute_job_safely, j) for j in todo]
                for fut in as_completed(futures):
                    done(fut.result())
        else:
            for j in todo:
                done(execute_job_safely(j))
    finally:
        bar.close()
        if results:
            update_index(out, results)
    order = {j.stem: i for i, j in enumerate(planned)}
    results.sort(key=lambda r: order.get(r.stem, 0))
    return RunSummary(results=results, out=out)


def run_from_cli(args) -> int:
    """``perflib run``: the argparse namespace → exit code (0 ok, 1 a report failed)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                            stream=sys.stderr)
    summary = run_reports(
        args.notebooks or None, db=args.db, year=args.year, params=args.params, each=args.each,
        out=args.out, jobs=args.jobs, dask=args.dask, rules=args.rules, force=args.force,
        timeout=args.timeout, log_output=args.log_output, progress=False if args.no_progress else None,
    )
    print(summary.describe())
    return summary.exit_code
