"""``perflib run``: validate parameters, fan out over the data, execute notebooks with papermill and
publish each report atomically (``.html``, ``.ipynb``, ``.facts.json``, ``.xlsx``) plus the index.

Everything that can be checked without a kernel is checked first (:class:`ParameterError`, exit 2).
A failed report never replaces the last good one: it gets ``<name>.failed.html`` instead, the others
still render, and the run exits 1.
"""
from __future__ import annotations

import ast
import codecs
import datetime as dt
import functools
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

from .. import __version__
from ..exceptions import ParameterError, StoreError
from ..files import sha256_file

log = logging.getLogger("perflib.run.runner")

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
    here = Path(__file__).resolve().parents[2] / "notebooks"
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
    # incremental runs and preloaded kernels (perflib.run.deps, perflib.run.kernels)
    tables: dict[str, str] = field(default_factory=dict, repr=False)  # content print of each table now
    code_key: str = ""  # all of perflib's code: a worker's zygote is rebuilt when it changes
    preload: list[str] = field(default_factory=list, repr=False)  # modules the zygote imports
    zygote: str | None = None  # socket of the run's zygote (local runs); None: the worker's own


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
    tables: dict[str, str] | None = None  # the tables the report read, with their content prints
    timing: dict[str, float] = field(default_factory=dict)  # seconds: kernel, cells, execute, render

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
        n_cached = sum(r.status == "cached" for r in self.results)
        skipped = f"（其中 {n_cached} 份未变化，沿用已有报告）" if n_cached else ""
        lines = [f"共生成 {len(self.results)} 份报告：成功 {n_ok}，失败 {len(self.failed)}{skipped}。"]
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


def lighten_imports() -> None:
    """Skip jsonschema's optional IRI checker (``rfc3987_syntax`` compiles a grammar at import:
    ~2.5 s of CPU in every process that imports nbformat, papermill or nbconvert; nothing here
    validates IRIs). Only for processes perflib owns: the CLI and its worker processes."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)


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
              log_output: bool = False, notebooks_dir: Path | None = None) -> list[Job]:
    """Check the request against the notebooks and the data, and list the reports to render.

    Raises :class:`ParameterError` / :class:`StoreError` / ``RulesError`` before any kernel starts.
    """
    from ..rules import load_rules
    from ..store import Store

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
        # what every report depends on besides its notebook, parameters and the tables it reads
        # (perflib.run.deps): the data date in its header, the classified projects, rules, version
        base_print = {
            "version": __version__, "as_of": as_of, "rules": loaded_rules.sha256, "year": year,
            "classified": hashlib.sha256("\n".join(sorted(secrets)).encode()).hexdigest(),
        }
        from .deps import preload_modules, table_fingerprints

        tables_now = table_fingerprints(db, cache_dir=out)
        code_key = _code_fingerprint()
        preload = preload_modules([found[n] for n in names])

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
            nb_sha = sha256_file(found[name])
            code_print = _code_fingerprint(found[name])
            for values, disp, fan_labels in combos:
                p = dict(fixed, **values)
                d = {k: disp.get(k, display.get(k)) for k in decl if k not in RUNNER_PARAMS}
                all_labels = labels + fan_labels
                stem = f"{year}/{name}" + "".join(f"-{safe_label(x)}" for x in all_labels)
                fp = hashlib.sha256(json.dumps(
                    dict(base_print, notebook=nb_sha, code=code_print, params=p), ensure_ascii=False,
                    sort_keys=True, default=str).encode()).hexdigest()
                jobs.append(Job(notebook=name, path=str(found[name].resolve()), year=year, params=p,
                                display=d, stem=stem, db=str(db),
                                rules=str(rules_path) if rules_path else None, out=str(Path(out).resolve()),
                                timeout=timeout, log_output=log_output, as_of=as_of, inputs=inputs,
                                fingerprint=fp, secrets=secrets, tables=tables_now, code_key=code_key,
                                preload=preload))
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


_CODE_SHAPED = re.compile(r"[0-9A-Za-z_\-]+")
_TOKEN_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_SCAN_CHUNK = 8 << 20  # bytes decoded and scanned at a time: bounds the memory of a 300 MB scan


def _secret_forms(secret: str) -> set[str]:
    """Every way an output writes a secret: as is, HTML-escaped (with/without quotes), JSON-escaped
    (``ensure_ascii`` on and off), and the JSON escapes of the HTML forms (HTML inside an .ipynb)."""
    forms = set()
    for f in (secret, html.escape(secret), html.escape(secret, quote=False)):
        forms |= {f, json.dumps(f, ensure_ascii=False)[1:-1], json.dumps(f, ensure_ascii=True)[1:-1]}
    return forms - {""}


@functools.lru_cache(maxsize=4)
def _secret_automaton(secrets: tuple[str, ...]) -> Any:
    """One Aho–Corasick automaton over every form of every secret, built once per secret list.

    Each form maps to ``(length, plain, token)``: the indexes of the secrets it belongs to, split
    into names (any occurrence is a hit) and codes (``[0-9A-Za-z_-]+``, a hit only as a whole token).
    ``None`` when there is nothing to look for.
    """
    import ahocorasick

    owners: dict[str, tuple[list[int], list[int]]] = {}
    for i, s in enumerate(secrets):
        code = _CODE_SHAPED.fullmatch(s) is not None
        for f in _secret_forms(s):
            owners.setdefault(f, ([], []))[code].append(i)
    if not owners:
        return None
    automaton = ahocorasick.Automaton()
    for f, (plain, token) in owners.items():
        automaton.add_word(f, (len(f), tuple(plain), tuple(token)))
    automaton.make_automaton()
    return automaton


def _byte_chunks(data: bytes | bytearray | memoryview | Iterable[bytes]) -> Iterable[bytes | memoryview]:
    if isinstance(data, (bytes, bytearray, memoryview)):
        view = memoryview(data)
        return (view[o:o + _SCAN_CHUNK] for o in range(0, len(view), _SCAN_CHUNK))
    return data


def _text_windows(data: bytes | Iterable[bytes], keep: int) -> Iterable[str]:
    """The UTF-8 text of ``data`` (undecodable bytes dropped, as ``decode(errors="ignore")``) between
    two sentinel newlines, in windows that each start with the last ``keep`` characters of the one
    before: any span of at most ``keep`` characters lies whole in some window."""
    carry, pending = "\n", b""
    for chunk in _byte_chunks(data):
        if pending:
            chunk = pending + chunk
        text, used = codecs.utf_8_decode(chunk, "ignore", False)
        pending = bytes(chunk[used:])
        if text:
            window = carry + text
            yield window
            carry = window[-keep:]
    yield carry + codecs.utf_8_decode(pending, "ignore", True)[0] + "\n"


def _leaks(data: bytes | Iterable[bytes], secrets: list[str]) -> list[int]:
    """Indexes (ascending) of secrets found in an output (text as written, HTML- or JSON-escaped).

    One Aho–Corasick pass over the text, decoded a chunk at a time; ``data`` is the output's bytes or
    an iterable of byte chunks (:func:`_xlsx_text`). Codes count only as whole tokens (no ASCII
    letter or digit on either side).
    """
    automaton = _secret_automaton(tuple(secrets))
    if automaton is None:
        return []
    findable = {i for i, s in enumerate(secrets) if s}
    found: set[int] = set()
    # a window holds each hit with the characters on both sides (the sentinels stand for the ends)
    for window in _text_windows(data, keep=automaton.get_stats()["longest_word"] + 2):
        last = len(window) - 2
        for end, (length, plain, token) in automaton.iter(window):
            start = end - length + 1
            if start < 1 or end > last:
                continue
            if plain:
                found.update(plain)
            if token and window[start - 1] not in _TOKEN_CHARS and window[end + 1] not in _TOKEN_CHARS:
                found.update(token)
        if found >= findable:
            break
    return sorted(found)


class _XlsxText:
    """The XML text inside an .xlsx (its strings are not visible in the zipped bytes), members
    joined by newlines. Iterating streams it in chunks, one member at a time, so that a 300 MB
    workbook is never held decompressed; ``bytes()`` gives it whole."""

    def __init__(self, data: bytes):
        self.data = data

    def __iter__(self):
        import io
        import zipfile

        with zipfile.ZipFile(io.BytesIO(self.data)) as z:
            for k, name in enumerate(n for n in z.namelist() if n.endswith(".xml")):
                if k:
                    yield b"\n"
                with z.open(name) as member:
                    while chunk := member.read(_SCAN_CHUNK):
                        yield chunk

    def __bytes__(self) -> bytes:
        return b"".join(self)

    def __len__(self) -> int:
        import io
        import zipfile

        with zipfile.ZipFile(io.BytesIO(self.data)) as z:
            sizes = [i.file_size for i in z.infolist() if i.filename.endswith(".xml")]
        return sum(sizes) + max(len(sizes) - 1, 0)


def _xlsx_text(data: bytes) -> _XlsxText:
    """The XML text inside an .xlsx, as chunks for :func:`_leaks` (``bytes()`` of it: whole)."""
    return _XlsxText(data)


def _mask(text: str, secrets: list[str]) -> str:
    """``text`` with every form of every secret (codes too, inside longer tokens as well) replaced
    by :data:`LEAK_MASK`; of overlapping matches the leftmost, then the longest, wins."""
    automaton = _secret_automaton(tuple(secrets))
    if automaton is None or not text:
        return text
    spans = sorted((end - length + 1, -length) for end, (length, _, _) in automaton.iter(text))
    parts, pos = [], 0
    for start, negative_length in spans:
        if start >= pos:
            parts += [text[pos:start], LEAK_MASK]
            pos = start - negative_length
    parts.append(text[pos:])
    return "".join(parts)


def _read_artifacts(adir: Path) -> tuple[dict, list[tuple[str, str, Any, int]], dict]:
    """(facts, tables as ``(title, sheet, frame, total rows)``, meta) a notebook recorded; the frame
    may hold fewer rows than the total (``report.xlsx_max_rows``); no ``rows`` recorded → all."""
    from ..present.notebook import FACTS_FILE, META_FILE, TABLES_FILE

    facts = json.loads((adir / FACTS_FILE).read_text("utf-8")) if (adir / FACTS_FILE).exists() else {}
    meta = json.loads((adir / META_FILE).read_text("utf-8")) if (adir / META_FILE).exists() else {}
    tables = []
    if (adir / TABLES_FILE).exists():
        for t in json.loads((adir / TABLES_FILE).read_text("utf-8")):
            with open(adir / "tables" / t["file"], "rb") as fh:
                frame = pickle.load(fh)
            tables.append((t["title"], t["sheet"], frame, int(t.get("rows", len(frame)))))
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
    from ..present.html import failing_cell

    if failing_cell(nb) is not None:
        return
    for cell in nb.cells:
        pm = cell.get("metadata", {}).get("papermill", {})
        if cell.cell_type == "code" and pm.get("status") == "running":
            cell.setdefault("outputs", []).append({
                "output_type": "error", "ename": "执行中断", "evalue": "此单元格未能执行完毕（超时或内核退出）",
                "traceback": []})
            return


def _publish_lock(out: Path, stem: str):
    """The lock a report's files are published under (hidden ``.locks/`` of the output folder)."""
    from filelock import FileLock

    locks = Path(out) / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    return FileLock(str(locks / (stem.replace("/", "__") + ".lock")), timeout=120)


def execute_job(job: Job) -> ReportResult:
    """Execute one notebook and publish its outputs (or its failure page); never raises for a
    notebook failure."""
    import nbformat

    from ..files import atomic_write_bytes, atomic_write_text  # looked up per call: fault tests patch them
    from ..present.html import first_heading, notebook_body, render_failure, render_report, xlsx_bytes
    from ..rules import load_rules

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
    tables_read: set[str] | None = None
    timing: dict[str, float] = {}
    try:
        error, timing, tables_read = _execute_notebook(job, parameters, executed, work)
        if executed.exists():
            nb = nbformat.read(str(executed), as_version=4)
        rendered_at = _now()
        title = None
        render_started = time.monotonic()
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
                # the text drawn in the charts too: their PNG pixels would hide a name from this scan
                scanned = dict(files, 图表文字="\n".join(meta.get("figure_text") or []).encode("utf-8"))
                leaked = sorted({i for suffix, data in scanned.items()
                                 for i in _leaks(_xlsx_text(data) if suffix == ".xlsx" else data, job.secrets)})
                if leaked:
                    where = [s for s, d in scanned.items()
                             if _leaks(_xlsx_text(d) if s == ".xlsx" else d, job.secrets)]
                    error = (f"输出中出现了 {len(leaked)} 个涉密项目的名称或编码（{'、'.join(where)}），"
                             "报告未发布")
                else:
                    # companions first, the page last: once the .html is there, so is the rest;
                    # under a per-report lock, so that two runs into one folder never mix their files
                    with _publish_lock(out, job.stem):
                        for suffix in (".ipynb", ".facts.json", ".xlsx", ".html"):
                            atomic_write_bytes(Path(str(base) + suffix), files[suffix])
                        Path(str(base) + ".failed.html").unlink(missing_ok=True)
            except Exception as exc:  # noqa: BLE001 - a rendering bug fails this report only
                log.debug("render failed", exc_info=True)
                error = f"报告渲染失败：{type(exc).__name__}: {exc}"
        if error is not None:
            if nb is not None:
                _mark_running_cell(nb)
            good = Path(str(base) + ".html")
            page = render_failure(notebook=job.notebook, params=dict(labelled(job.display), 年度=job.year),
                                  error=error, nb=nb, title=title, as_of=job.as_of, inputs=job.inputs,
                                  rules=rules, last_good=good.name if good.exists() else None,
                                  rendered_at=rendered_at)
            atomic_write_text(Path(str(base) + ".failed.html"), _mask(page, job.secrets))
            status = "failed"
        else:
            status = "ok"
        timing["render"] = time.monotonic() - render_started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    timing["total"] = time.monotonic() - started
    read = sorted(tables_read or ())
    return ReportResult(notebook=job.notebook, stem=job.stem, year=job.year, display=job.display,
                        status=status, seconds=round(time.monotonic() - started, 2),
                        rendered_at=rendered_at, title=title,
                        error=_mask(error, job.secrets) if error else None, fingerprint=job.fingerprint,
                        tables={t: job.tables.get(t, "") for t in read}, timing=_rounded(timing))


def _rounded(timing: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in timing.items()}


def _quiet_papermill(log_output: bool) -> None:
    """papermill's per-report INFO lines (input/output paths, "Executing notebook with kernel")
    go to DEBUG unless cell output is asked for in the log (``--log-output``)."""
    logging.getLogger("papermill").setLevel(logging.INFO if log_output else logging.WARNING)


def _preloading(job: Job) -> bool:
    """Whether this job's kernel forks from a zygote: our Python kernel, unless ``PERFLIB_PRELOAD=0``."""
    return not _preload_off() and job.kernel_name == KERNEL_NAME


def _zygote_for(job: Job) -> str | None:
    """The zygote socket this job's kernel forks from: the run's, or this worker's own (Dask);
    None for ordinary kernel starts."""
    if not _preloading(job):
        return None
    if job.zygote:
        return job.zygote
    from .kernels import shared_zygote

    return shared_zygote(job.preload, job.code_key)


def _died_at_start(exc: BaseException, cells_started: bool) -> bool:
    """A kernel that died (or never answered) before the first cell ran: worth one more start."""
    if cells_started:
        return False
    name = type(exc).__name__
    text = str(exc)
    return name == "DeadKernelError" or (isinstance(exc, RuntimeError) and (
        "Kernel died before replying" in text or "Kernel didn't respond" in text))


def _execute_notebook(job: Job, parameters: dict, executed: Path, work: Path
                      ) -> tuple[str | None, dict[str, float], set[str] | None]:
    """Run the notebook with papermill in its own kernel: (error or None, timing, tables read).

    The kernel runs in the notebook's folder (nbclient's ``resources`` path: no ``os.chdir`` in
    this process, which may run other reports in other threads), talks over IPC sockets in a
    private runtime directory, and is started once more if it dies before the first cell.
    """
    import papermill

    from .deps import TABLES_READ_ENV, read_tables_file
    from .kernels import kernel_manager_class

    _quiet_papermill(job.log_output)
    tables_file = work / "tables-read.txt"
    zygote = _zygote_for(job)
    error: str | None = None
    timing: dict[str, float] = {}
    for attempt in (1, 2):
        tables_file.unlink(missing_ok=True)
        executed.unlink(missing_ok=True)
        marks: dict[str, float] = {}
        t0 = time.monotonic()
        manager = kernel_manager_class(zygote=zygote, env={TABLES_READ_ENV: str(tables_file)},
                                       log_path=work / "kernel.log")
        try:
            papermill.execute_notebook(
                job.path, str(executed), parameters=parameters, kernel_name=job.kernel_name,
                progress_bar=False, log_output=job.log_output, execution_timeout=job.timeout,
                request_save_on_cell_execute=True, kernel_manager_class=manager,
                resources={"metadata": {"path": str(Path(job.path).parent)}},
                on_notebook_start=lambda **_: marks.setdefault("ready", time.monotonic()),
                on_cell_start=lambda **_: marks.setdefault("first_cell", time.monotonic()),
            )
            error = None
        except Exception as exc:  # noqa: BLE001 - any notebook failure becomes a failure page
            if attempt == 1 and _died_at_start(exc, "first_cell" in marks):
                log.warning("%s：内核启动失败，重试一次（%s: %s）%s", job.stem, type(exc).__name__, exc,
                            _kernel_log_tail(work / "kernel.log"))
                continue
            error = _failure_reason(exc)
            if "DeadKernel" in type(exc).__name__ or "Kernel died" in str(exc):
                log.debug("%s: kernel output%s", job.stem, _kernel_log_tail(work / "kernel.log"))
        end = time.monotonic()
        ready = marks.get("ready", end)
        timing = {"kernel": ready - t0, "execute": end - ready, "cells": _cells_seconds(executed)}
        if attempt == 2:
            timing["retried"] = 1.0
        break
    return error, timing, read_tables_file(tables_file)


def _cells_seconds(executed: Path) -> float:
    """Seconds the kernel spent in the cells (papermill's per-cell durations)."""
    try:
        nb = json.loads(executed.read_text("utf-8"))
    except (OSError, ValueError):
        return 0.0
    return sum(float(c.get("metadata", {}).get("papermill", {}).get("duration") or 0)
               for c in nb.get("cells", []))


def _kernel_log_tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text("utf-8", errors="replace").strip()
    except OSError:
        return ""
    return ("\n" + "\n".join(text.splitlines()[-lines:])) if text else ""


def execute_job_safely(job: Job) -> ReportResult:
    """:func:`execute_job`, with any unexpected error (disk full, a bug of ours) turned into a failed
    result for this report, so that the other reports of the run still render."""
    started = time.monotonic()
    try:
        return execute_job(job)
    except Exception as exc:  # noqa: BLE001
        log.exception("%s: unexpected error", job.stem)
        return failed_result(job, f"{type(exc).__name__}: {exc}", seconds=time.monotonic() - started)


def failed_result(job: Job, error: str, seconds: float = 0.0) -> ReportResult:
    """A failed result for ``job`` with its failure page written (for errors outside the notebook:
    a bug of ours, a worker process or Dask worker that died)."""
    error = _mask(error, job.secrets)
    try:
        from ..files import atomic_write_text
        from ..present.html import render_failure

        page = render_failure(notebook=job.notebook, params=dict(labelled(job.display), 年度=job.year), error=error)
        target = Path(job.out) / f"{job.stem}.failed.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, _mask(page, job.secrets))
    except Exception:  # noqa: BLE001 - nothing more we can do for this report
        log.exception("%s: could not write the failure page", job.stem)
    return ReportResult(notebook=job.notebook, stem=job.stem, year=job.year, display=job.display,
                        status="failed", seconds=round(seconds, 2), rendered_at=_now(), error=error,
                        fingerprint=job.fingerprint)


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

    from ..files import atomic_write_text
    from ..present.html import render_index

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
                if r.status == "ok":  # what it read, for the next incremental run
                    entry["tables"] = r.tables or {}
            else:
                entry.pop("fingerprint", None)
                entry.pop("tables", None)
            if r.status != "cached":
                entry["timing"] = r.timing
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
    read = entry.get("tables")
    if not isinstance(read, dict) or any(job.tables.get(t) != fp for t, fp in read.items()):
        return None  # a table it read has changed (or an older index that did not record them)
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
    _quiet_papermill(log_output)
    if dask:
        from .dask import check_dask

        check_dask()  # ParameterError (exit 2) when dask.distributed is not installed
    early = None if dask else _early_zygote(notebooks, notebooks_dir)
    try:
        planned = plan_jobs(notebooks, db=Path(db), year=year, params=params, each=each, out=out,
                            rules=Path(rules) if rules else None, timeout=timeout, log_output=log_output,
                            notebooks_dir=Path(notebooks_dir) if notebooks_dir else None)
        if out.is_dir():  # half-written temp files of a run that was killed (hidden; see SECURITY.md)
            from ..files import sweep_temps

            for p in sweep_temps(out):
                log.info("删除了被中断的运行留下的临时文件 %s", p)
        results: list[ReportResult] = []
        todo: list[Job] = []
        for job in planned:
            hit = None if force else _cached(job)
            if hit is not None:
                results.append(hit)
                log.info("%s %s 跳过（未变化，沿用已有报告）", job.notebook,
                         _params_text(job.display))
            else:
                todo.append(job)
        show = (sys.stderr.isatty() if progress is None else progress) and len(planned) > 0
        from tqdm import tqdm

        counts = {"成功": 0, "失败": 0, "跳过": len(results)}
        bar = tqdm(total=len(planned), initial=len(results), desc="生成报告", unit="份",
                   disable=not show, file=sys.stderr, dynamic_ncols=True)
        bar.set_postfix_str(_counts_text(counts), refresh=False)

        def done(res: ReportResult) -> None:
            results.append(res)
            counts["成功" if res.ok else "失败"] += 1
            level = logging.INFO if res.ok else logging.ERROR
            log.log(level, "%s %s %s %.1fs%s%s", res.notebook, _params_text(res.display),
                    "成功" if res.ok else "失败", res.seconds, _timing_text(res.timing),
                    f"：{res.error}" if res.error else "")
            bar.set_postfix_str(_counts_text(counts), refresh=False)
            bar.update(1)

        zygote = None
        # with a bar on the terminal, log lines are printed above it instead of through it
        from contextlib import nullcontext

        from tqdm.contrib.logging import logging_redirect_tqdm

        try:
            with logging_redirect_tqdm(tqdm_class=tqdm) if show else nullcontext():
                if dask and todo:
                    from .dask import run_on_dask

                    run_on_dask(dask, todo, done)
                else:
                    zygote = _start_zygote(todo, early)
                    if jobs > 1 and len(todo) > 1:
                        _run_in_processes(todo, jobs, done)
                    else:
                        for j in todo:
                            done(execute_job_safely(j))
        finally:
            if zygote is not None:
                zygote.close()
            bar.close()
            if results:
                update_index(out, results)
        order = {j.stem: i for i, j in enumerate(planned)}
        results.sort(key=lambda r: order.get(r.stem, 0))
        return RunSummary(results=results, out=out)
    finally:
        # the zygote spawned before planning, unless this run took it over (and closed it): a
        # refused request, nothing to render, or an error on the way
        if early is not None and early.proc is not None:
            early.kill()


def _counts_text(counts: dict[str, int]) -> str:
    return " ".join(f"{k} {v}" for k, v in counts.items())


TIMING_LABELS = (("kernel", "内核启动"), ("cells", "单元格"), ("render", "渲染"))


def _timing_text(timing: dict[str, float]) -> str:
    shown = [f"{label} {timing[k]:.1f}s" for k, label in TIMING_LABELS if k in timing]
    if timing.get("retried"):
        shown.append("内核重启 1 次")
    return f"（{'，'.join(shown)}）" if shown else ""


def _preload_off() -> bool:
    return os.environ.get("PERFLIB_PRELOAD", "1").strip().lower() in ("0", "false", "no", "off")


def _early_zygote(notebooks: Iterable[str] | None, notebooks_dir: str | Path | None):
    """A zygote spawned before the run is planned, so that its imports (seconds) overlap the
    planning (about a second on a province store); its modules come from the notebooks asked for.
    None when preloading is off or a name is unknown (planning then says so)."""
    if _preload_off():
        return None
    from .deps import preload_modules
    from .kernels import Zygote

    try:
        found = available_notebooks(Path(notebooks_dir) if notebooks_dir else default_notebooks_dir())
        names = list(notebooks) if notebooks else sorted(found)
        if not names or any(n not in found for n in names):
            return None
        return Zygote(preload_modules([found[n] for n in names])).spawn()
    except (OSError, RuntimeError, ValueError, SyntaxError) as exc:
        log.debug("no early zygote (%s)", exc)
        return None


def _start_zygote(todo: list[Job], early=None):
    """The run's zygote (one process that has imported what the notebooks import; every kernel of
    this run forks from it), or None: nothing to run, ``PERFLIB_PRELOAD=0``, or it failed.
    ``early``: the one :func:`_early_zygote` spawned, used when it preloads what the jobs need."""
    needed = sorted({m for j in todo for m in j.preload})
    if not todo or not _preloading(todo[0]):
        return None  # an early zygote is stopped by run_reports
    from .kernels import Zygote

    try:
        if early is not None and set(needed) <= set(early.modules):
            zygote = early.wait_bound()
        else:
            if early is not None:
                early.kill()
            zygote = Zygote(needed).start()
    except (OSError, RuntimeError) as exc:
        log.debug("no zygote (%s); kernels start the ordinary way", exc)
        return None
    for j in todo:
        j.zygote = zygote.address
    return zygote


def _init_worker(level: int) -> None:
    """Worker processes log like the parent (spawned processes start unconfigured)."""
    lighten_imports()
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                            stream=sys.stderr)


def _run_in_processes(todo: list[Job], jobs: int, done: Callable[[ReportResult], None]) -> None:
    """Each report in one of ``jobs`` worker processes (each report its own kernel). A worker that
    dies (killed, out of memory) fails its reports, not the run."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = mp.get_context("spawn")  # no forked DuckDB handles, kernel sockets or threads
    level = logging.getLogger().getEffectiveLevel()
    with ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=ctx,
                             initializer=_init_worker, initargs=(level,)) as pool:
        futures = {pool.submit(execute_job_safely, j): j for j in todo}
        for fut in as_completed(futures):
            try:
                res = fut.result()
            except Exception as exc:  # noqa: BLE001 - BrokenProcessPool and the like
                res = failed_result(futures[fut], f"工作进程意外退出（{type(exc).__name__}: {exc}）")
            done(res)


def run_from_cli(args) -> int:
    """``perflib run``: the argparse namespace → exit code (0 ok, 1 a report failed)."""
    lighten_imports()
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                            stream=sys.stderr)
    summary = run_reports(
        args.notebooks or None, db=args.db, year=args.year, params=args.params, each=args.each,
        out=args.out, jobs=args.jobs, dask=args.dask, rules=args.rules, force=args.force,
        timeout=args.timeout, log_output=args.log_output,
        progress=False if args.no_progress else (True if getattr(args, "progress", False) else None),
    )
    print(summary.describe())
    return summary.exit_code
