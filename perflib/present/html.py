"""Rendering an executed notebook into what auditors open: a self-contained HTML page (no code, no
network request), a failure page, the reports index, and the ``.xlsx`` of a report's tables.

The page is our own jinja template (``templates/report.html.j2``) around the body that nbconvert's
``basic`` template produces (cells only: no require.js, no MathJax, no CDN link). CSS and the small
sortable-table script are inlined; figures are already PNG data URIs. :func:`network_references`
is the check that keeps it so.
"""
from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import jinja2
import pandas as pd

from .. import __version__

TEMPLATE_DIR = Path(__file__).with_name("templates")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_HEADING = re.compile(r"<h([1-4])\b([^>]*)>(.*?)</h\1>", re.S | re.I)
_ID_ATTR = re.compile(r'\bid="([^"]*)"')
_TAG = re.compile(r"<[^>]+>")
# Anything that would make a browser fetch from the network when the page opens.
_NETWORK = re.compile(
    r"""(?:\b(?:src|href|data|poster|action|srcset)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:url\(\s*["']?\s*(?:https?:)?//)|(?:@import\s+["']?(?:https?:)?//)""",
    re.I,
)


def href(path: str) -> str:
    """A relative file path as a link target: characters a URL would read as something else (``#``,
    ``%``, ``?``, spaces, quotes) are %-encoded, CJK is kept readable. A report file name keeps such
    characters when a parameter value (a street, a project type) has them."""
    return re.sub(r"[%#?\s\"'<>\\]", lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode("utf-8")),
                  str(path))


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string for a ``<style>`` block (the page footer's title): every
    character but letters, digits, CJK and spaces is a hex escape, so no quote, backslash or
    ``</style>`` from a title (data) can end the string or the block. Over-long titles are cut."""
    text = str(text)
    if len(text) > PAGE_FOOTER_TITLE_MAX:
        text = text[:PAGE_FOOTER_TITLE_MAX - 1] + "…"
    safe = "".join(c if c.isalnum() and c.isprintable() or c == " " else f"\\{ord(c):06x}" for c in text)
    return f'"{safe}"'


PAGE_FOOTER_TITLE_MAX = 60  # characters of the title in the page footer (it shares a line with the page number)


@functools.lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    """One environment per process, so each template is compiled once (jinja2 caches templates
    per environment and recompiles one whose file changed): the runner rewrites the index after
    every report, and a compile costs more than the rendering."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["href"] = href
    env.filters["css_string"] = css_string
    return env


# --- body ------------------------------------------------------------------------------------------
def notebook_body(nb) -> str:
    """The cells of an executed notebook as HTML: outputs and markdown only (no code, no prompts)."""
    import copy

    # a shallow copy with new cell and output lists (a deep copy of a province report's notebook
    # takes 0.4 s); the exporter only reads the outputs themselves
    nb = copy.copy(nb)
    nb.cells = [copy.copy(cell) for cell in nb.cells]
    for cell in nb.cells:
        if cell.cell_type == "code":
            # warnings and logs on stderr stay in the .ipynb; the auditor's page shows results only
            cell.outputs = [o for o in cell.get("outputs", [])
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    exporter = _exporter_class()(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                                 exclude_output_prompt=True, anchor_link_text="")
    body, _ = exporter.from_notebook_node(nb)
    return body


@functools.lru_cache(maxsize=1)
def warm_up() -> None:
    """Import nbconvert and compile its templates and ours (~0.3 s the first time in a process), so
    that the first page this process renders does not pay for it (the runner calls this while a
    kernel runs the cells)."""
    import nbformat

    notebook_body(nbformat.v4.new_notebook())
    _env().get_template("report.html.j2")


@functools.lru_cache(maxsize=1)
def _exporter_class():
    """nbconvert's HTML exporter without its BeautifulSoup pass over the finished page, which only
    adds alt text to images without one (every figure of ours has one) and ``tabindex`` to outputs
    inside a ``.jp-Notebook`` element (the basic template has none). That pass re-parses the whole
    page: seconds for a province report's tables, most of the rendering time; the DOM is the same
    without it (tests/present/test_render.py)."""
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class FastHTMLExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            self.register_filter("highlight_code", self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return _tidy_body(html), resources

    return FastHTMLExporter


_ANCHOR_LINK = re.compile(r'<a class="anchor-link" href="[^"]*"\s*(?:/>|></a>)')
_CHAR_REF = re.compile(r"&#(?:([0-9]+)|[xX]([0-9a-fA-F]+));")
_MARKUP = {ord(c) for c in "<>&\"'"}


def _tidy_body(body: str) -> str:
    """What nbconvert's soup pass also did: markdown headings' text comes as numeric character
    references (``&#38745;``) and their empty anchor links as ``<a … />`` (which a browser leaves
    open). Decode the references except those of markup characters; drop the empty anchors (the
    page's own table of contents links the headings)."""
    def char(m: re.Match) -> str:
        code = int(m.group(1)) if m.group(1) else int(m.group(2), 16)
        if code in _MARKUP or code < 32 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return m.group(0)
        return chr(code)

    return _CHAR_REF.sub(char, _ANCHOR_LINK.sub("", body))


@dataclass
class TocItem:
    level: int
    id: str
    text: str


def add_toc(body: str) -> tuple[str, list[TocItem]]:
    """Give every h2–h4 heading an id and list them (the page's table of contents)."""
    items: list[TocItem] = []
    used: set[str] = set()

    def fix(m: re.Match) -> str:
        level, attrs, inner = int(m.group(1)), m.group(2), m.group(3)
        text = html.unescape(_TAG.sub("", inner)).replace("¶", "").strip()
        found = _ID_ATTR.search(attrs)
        hid = html.unescape(found.group(1)) if found else ""
        if not hid or hid in used:
            base = re.sub(r"[\s\"'<>&#?/\\%]+", "-", text).strip("-") or "section"
            hid, n = base, 1
            while hid in used:
                n += 1
                hid = f"{base}-{n}"
            attrs = _ID_ATTR.sub("", attrs) + f' id="{html.escape(hid)}"'
        used.add(hid)
        if level == 2 and not any(i.level == 2 for i in items):
            attrs = attrs + ' data-first="1"'  # no page break before the first section
        if level >= 2 and text:
            items.append(TocItem(level, hid, text))
        return f"<h{level}{attrs}>{inner}</h{level}>"

    return _HEADING.sub(fix, body), items


def first_heading(body: str) -> str | None:
    m = re.search(r"<h1\b[^>]*>(.*?)</h1>", body, re.S | re.I)
    if not m:
        return None
    return html.unescape(_TAG.sub("", m.group(1))).replace("¶", "").strip() or None


def drop_title_h1(body: str, title: str | None) -> str:
    """The page header shows the title: remove the notebook's first h1 (its title in JupyterLab) and
    any h1 that repeats ``title``, so the title is not shown twice."""
    seen = [False]

    def fix(m: re.Match) -> str:
        text = html.unescape(_TAG.sub("", m.group(1))).replace("¶", "").strip()
        first, seen[0] = not seen[0], True
        return "" if first or text == (title or "").strip() else m.group(0)

    return re.sub(r"<h1\b[^>]*>(.*?)</h1>", fix, body, flags=re.S | re.I)


def network_references(text: str) -> list[str]:
    """Places in an HTML page that would make a browser fetch from the network (should be none)."""
    return [m.group(0) for m in _NETWORK.finditer(text)]


# --- pages -----------------------------------------------------------------------------------------
def _now() -> str:
    """Now in the bureau's time zone (the default rules' ``report.timezone``); the runner passes
    the times of a run with a user's rules file explicitly."""
    from ..rules import now_text

    return now_text()


def _rules_rows(rules, sections: Iterable[str] | None):
    """(columns, all rows, rows of the sections used, other rows, sections) of the applied rules."""
    table = rules.table()
    secs = [s for s in (sections or []) if s]
    keep = table["规则"].map(lambda k: any(k == s or k.startswith(s + ".") for s in secs)).astype(bool)
    rows = lambda t: t.astype(str).values.tolist()  # noqa: E731
    if not keep.any():
        secs = []
    return list(table.columns), rows(table), rows(table[keep]), rows(table[~keep]), secs


def render_page(*, body: str, title: str, notebook: str, params: dict[str, Any],
                as_of: str | None, inputs: dict[str, str], rules, rules_sections=None,
                rendered_at: str | None = None, kind: str = "report",
                status_note: str | None = None) -> str:
    """The full HTML page around ``body`` (trusted HTML from nbconvert/our own escaping)."""
    body, toc = add_toc(body)
    columns, rows, used, other, secs = (_rules_rows(rules, rules_sections) if rules is not None
                                        else ([], [], [], [], []))
    page = _env().get_template("report.html.j2").render(
        body=body, toc=toc, title=title, notebook=notebook,
        params=[(k, "（全部）" if v is None else v) for k, v in params.items()],
        as_of=as_of, inputs=sorted(inputs.items()), rules=rows, rules_columns=columns,
        rules_used=used, rules_other=other,
        rules_sections=secs, rules_origin=getattr(rules, "origin", ""),
        rules_sha256=getattr(rules, "sha256", ""), version=__version__,
        rendered_at=rendered_at or _now(), kind=kind, status_note=status_note,
    )
    return page


def render_report(nb, *, notebook: str, params: dict[str, Any], as_of: str | None,
                  inputs: dict[str, str], rules, title: str | None = None,
                  rules_sections=None, rendered_at: str | None = None) -> str:
    """HTML page of an executed notebook."""
    body = notebook_body(nb)
    title = title or first_heading(body) or notebook
    body = drop_title_h1(body, title)
    return render_page(body=body, title=title, notebook=notebook,
                       params=params, as_of=as_of, inputs=inputs, rules=rules,
                       rules_sections=rules_sections, rendered_at=rendered_at)


def failing_cell(nb) -> tuple[str, str, str, str] | None:
    """(cell source, error name, error value, traceback) of the first cell with an error output."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                trace = "\n".join(ANSI.sub("", line) for line in out.get("traceback", []))
                return cell.source, out.get("ename", ""), out.get("evalue", ""), trace
    return None


def render_failure(*, notebook: str, params: dict[str, Any], error: str, nb=None,
                   title: str | None = None, as_of: str | None = None,
                   inputs: dict[str, str] | None = None, rules=None,
                   last_good: str | None = None, rendered_at: str | None = None) -> str:
    """The page of a failed report: the failing cell's source, the error and its traceback."""
    e = html.escape
    parts = [f'<h2 id="failure">报告生成失败</h2><p class="perf-failed">{e(error)}</p>']
    found = failing_cell(nb) if nb is not None else None
    if found:
        source, ename, evalue, trace = found
        parts.append('<h3 id="failing-cell">出错的单元格</h3>')
        parts.append(f'<pre class="perf-source">{e(source)}</pre>')
        parts.append('<h3 id="error">错误</h3>')
        parts.append(f'<p><code>{e(ename)}</code>：{e(evalue)}</p>')
        parts.append('<h3 id="traceback">调用栈</h3>')
        parts.append(f'<pre class="perf-trace">{e(trace)}</pre>')
    if last_good:
        parts.append(f'<p>上次成功生成的报告仍保留：<a href="{e(href(last_good))}">{e(last_good)}</a></p>')
    else:
        parts.append("<p>此前没有成功生成的同名报告。</p>")
    return render_page(body="\n".join(parts), title=f"{title or notebook}（生成失败）", notebook=notebook,
                       params=params, as_of=as_of, inputs=inputs or {}, rules=rules,
                       rendered_at=rendered_at, kind="failed", status_note="生成失败")


def render_index(entries: list[dict], updated_at: str | None = None) -> str:
    """``reports/index.html``: every report with its parameters, status, time and files."""
    from .changes import change_text

    rows = []
    for e in sorted(entries, key=_index_order):
        r = dict(e)
        r["change_text"] = change_text(e.get("changes")) if e.get("status") == "ok" else ""
        r.setdefault("title", None)
        r.setdefault("html", None)
        r.setdefault("failed_html", None)
        r.setdefault("last_good_at", "")
        r.setdefault("files", [])
        r.setdefault("seconds", 0.0)
        r.setdefault("rendered_at", "")
        r.setdefault("notice_html", None)
        r["status_text"] = INDEX_STATUS.get(r.get("status"), "失败")
        if r.get("skipped") and r.get("status") == "ok":  # rendered_at/seconds: when it was rendered
            r["status_text"] = "成功（未变化，沿用）"
        rows.append(r)
    failed = sum(1 for r in rows if r.get("status") not in ("ok", "withdrawn"))
    withdrawn = sum(1 for r in rows if r.get("status") == "withdrawn")
    return _env().get_template("index.html.j2").render(
        entries=rows, failed=failed, withdrawn=withdrawn, updated_at=updated_at or _now(),
        version=__version__)


def _index_order(e: dict) -> tuple:
    """Year (newest first), report, its other parameters, then its period (newest first): each
    period's edition of a report (``monitoring-07月``, ``monitoring-08月``) listed together."""
    params = dict(e.get("params") or {})
    period = params.pop("as_of_month", None)
    digits = re.sub(r"\D", "", str(period or ""))
    others = "，".join(f"{k}={v}" for k, v in params.items() if v is not None)
    return (-int(e.get("year") or 0), e.get("notebook", ""), others, -int(digits or 0), e.get("params_text", ""))


INDEX_STATUS = {"ok": "成功", "failed": "失败", "withdrawn": "已撤回"}


# --- xlsx ------------------------------------------------------------------------------------------
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def sheet_names(names: Iterable[str]) -> list[str]:
    """Valid, unique Excel sheet names (≤ 31 characters, no []:*?/\\)."""
    out: list[str] = []
    for raw in names:
        base = _SHEET_BAD.sub("_", str(raw)).strip("'") or "表"
        base = base[:31]
        name, n = base, 1
        while name.lower() in (x.lower() for x in out):
            n += 1
            suffix = f"_{n}"
            name = base[: 31 - len(suffix)] + suffix
        out.append(name)
    return out


def xlsx_bytes(tables: list[tuple], info: dict[str, Any] | None = None, observe=None, book=None) -> bytes:
    """An .xlsx of ``(title, sheet, table)`` or ``(title, sheet, table, total rows)``: one sheet per
    table (headers as shown), plus 说明 (the report's details, and per table its sheet, the rows in
    the sheet and in total: a table cut to ``report.xlsx_max_rows`` says so). Written by
    :func:`perflib.present.xlsx.write_xlsx` (text stays text: never a formula or a link), which
    shows the uncompressed bytes to ``observe`` as it writes them.

    ``book``: a :class:`~perflib.present.xlsx.WorkbookWriter` that already holds some of the tables
    (table k as sheet k + 2, see :func:`table_sheet`); the others and 说明 are added to it."""
    from .xlsx import write_xlsx

    entries = [(t[0], t[1], t[2], int(t[3]) if len(t) > 3 and t[3] is not None else len(t[2]))
               for t in tables]
    names = sheet_names(["说明"] + [s for _, s, _, _ in entries])
    cut = [(title, len(df), total) for title, _, df, total in entries if total > len(df)]
    meta = [(str(k), "" if v is None else str(v), None, None, None) for k, v in (info or {}).items()]
    if cut:
        meta.append(("截断说明", f"{len(cut)} 个表超过 xlsx 行数上限（规则 report.xlsx_max_rows），工作表只含前若干行："
                     + "；".join(f"「{t}」{n:,} / {total:,} 行" for t, n, total in cut)
                     + "。完整明细请按部门生成报告（perflib run monitoring --each dept）。", None, None, None))
    about = [("表", "工作表", "表中行数", "总行数", "备注")] + [
        (title, name, len(df), total, f"仅含前 {len(df):,} 行" if total > len(df) else "")
        for (title, _, df, total), name in zip(entries, names[1:])]
    sheet_about = pd.DataFrame(meta + [("", "", None, None, None)] + about,
                               columns=["项目", "内容", "表中行数", "总行数", "备注"], dtype=object)
    sheets = [(names[0], sheet_about)] + [(n, df) for (_, _, df, _), n in zip(entries, names[1:])]
    if book is None:
        return write_xlsx(sheets, observe=observe)
    for position, (name, df) in enumerate(sheets, 1):
        if position not in book.positions:
            book.add(position, name, df)
    return book.finish([name for name, _ in sheets])


def table_sheet(k: int) -> int:
    """The sheet position (1-based) of a report's k-th table (0-based) in its .xlsx: 说明 comes first."""
    return k + 2
