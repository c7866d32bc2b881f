"""The notebook-side report API: what a thin notebook calls to show figures, tables and text.

A notebook opens a :class:`Report` with its parameters; ``rep.facts``/``rep.table``/``rep.figure``/
``rep.text`` display their content (escaped HTML) and, when the runner passes an ``artifacts_dir``,
also record it there (facts JSON, tables as pickles) so the runner can write ``.facts.json`` and
``.xlsx`` beside the HTML. With ``artifacts_dir=None`` (an analyst in JupyterLab) they only display.
Tables are laid out and formatted by :mod:`perflib.present.tables` from the labels, units and views
of :mod:`perflib.present.labels`; ``rep.table`` returns nothing, so a cell never echoes a frame.

Classified (涉密) projects are collapsed here, in the layer that feeds every report: rows whose
project code is a ``涉密项目-NN`` surrogate become one ``涉密项目（合计）`` line.
"""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import io
import json
import math
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ..files import atomic_write_text, db_candidates, find_db, missing_db_text  # noqa: F401 - find_db: notebooks call it
from ..rules import Rules, load_rules
from ..store import CLASSIFIED_NAME, CLASSIFIED_PREFIX, CLASSIFIED_TOTAL_LABEL, Store  # noqa: F401
from . import tables
from .labels import View
from .scopes import fact_label, scope_context, scope_sentences
from .tables import esc

FACTS_FILE = "facts.json"
TABLES_FILE = "tables.json"
META_FILE = "meta.json"

ID_COLUMNS = ("project_id", "项目编码")
NAME_COLUMNS = ("project_name", "项目名称")
_SUM_NAME = re.compile(
    r"(amount|budget|spent|cut$|savings|request|approved|cost$|count|projects$|"
    r"金额|预算|支付|支出|执行数|申请数|安排数|核减|压减|节约|资金|成本$|项目数|个数|（元）|（万元）)",
    re.IGNORECASE,
)
_NO_SUM_NAME = re.compile(
    r"(rate|ratio|progress|score|unit_|share|month|year|gap|"
    r"率|比例|占比|进度|得分|分值|单位|月|年度$|均|中位|标准)",  # 年度$: a year column, not 下年度申请数
    re.IGNORECASE,
)


def to_jsonable(value: Any) -> Any:
    """Plain JSON values for facts: numpy/Decimal → numbers, NaN → None, dates → ISO text."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating, decimal.Decimal)):
        f = float(value)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return value.isoformat()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, pd.Series):
        return to_jsonable(value.to_dict())
    return str(value)


def summable_columns(df: pd.DataFrame) -> list[str]:
    """Numeric columns whose total means something (money, counts), guessed from their names."""
    out = []
    for c in df.columns:
        if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            continue
        name = str(c)
        if _SUM_NAME.search(name) and not _NO_SUM_NAME.search(name):
            out.append(c)
    return out


def classified_mask(df: pd.DataFrame) -> pd.Series:
    """Rows that belong to a classified project (surrogate code, or the redacted name)."""
    mask = pd.Series(False, index=df.index)
    for c in ID_COLUMNS:
        if c in df.columns:
            mask |= df[c].astype("string").str.startswith(CLASSIFIED_PREFIX).fillna(False).astype(bool)
    if not any(c in df.columns for c in ID_COLUMNS):
        for c in NAME_COLUMNS:
            if c in df.columns:
                mask |= (df[c].astype("string") == CLASSIFIED_NAME).fillna(False).astype(bool)
    return mask


def collapse_classified(df: pd.DataFrame, money: Iterable[str] | None = None) -> pd.DataFrame:
    """Replace the rows of classified projects by one ``涉密项目（合计）`` line.

    ``money``: columns to sum on that line (default: money and count columns guessed by name);
    every other column of the line is left blank.
    """
    mask = classified_mask(df)
    if not mask.any():
        return df
    sums = list(money) if money is not None else summable_columns(df)
    hidden = df[mask]
    row: dict[str, Any] = {c: None for c in df.columns}
    for c in sums:
        if c in df.columns:
            row[c] = hidden[c].sum()
    label_col = next((c for c in NAME_COLUMNS if c in df.columns), None) or next(
        (c for c in ID_COLUMNS if c in df.columns), None)
    if label_col is not None:
        row[label_col] = CLASSIFIED_TOTAL_LABEL
    kept = df[~mask]
    total = pd.DataFrame([row], columns=df.columns)
    for c in df.columns:  # keep numeric columns numeric (a blank is NaN)
        if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]):
            total[c] = pd.to_numeric(total[c]).astype("float64")
    parts = [p for p in (kept, total) if len(p)]
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else total.reset_index(drop=True)


def _has_total_line(df: pd.DataFrame) -> bool:
    """Whether the last row is the 涉密项目（合计） line that :func:`collapse_classified` appends."""
    if not len(df):
        return False
    last = df.iloc[-1]
    return any(str(last[c]) == CLASSIFIED_TOTAL_LABEL for c in df.columns
               if c in NAME_COLUMNS or c in ID_COLUMNS)


def head_keeping_total(df: pd.DataFrame, n: int) -> pd.DataFrame:
    """The first ``n`` rows of a table, but a cut table keeps its 涉密项目（合计） line (as its last
    row, in place of the n-th): the classified projects' total must not vanish from a long list."""
    if len(df) <= n:
        return df
    if n >= 1 and _has_total_line(df):
        return pd.concat([df.head(n - 1), df.tail(1)])
    return df.head(n)


def _source_names(df: pd.DataFrame, columns) -> list[str]:
    """The frame's column names in the order :func:`perflib.present.tables.layout` shows them."""
    view = tables.resolve_view(columns)
    if view is None:
        return list(df.columns)
    if view.every:
        return [c for c in df.columns if c not in view.drop]
    return [c.name for c in view.columns]


# --- HTML pieces (everything from data is escaped) -------------------------------------------------
def slug(text: str) -> str:
    """An HTML id for a heading (keeps CJK characters, drops markup-significant ones)."""
    s = re.sub(r"[\s\"'<>&#?/\\%]+", "-", str(text)).strip("-")
    return s or "section"


def cut_note(total: pd.DataFrame, max_rows: int | None, xlsx_rows: int | None) -> str:
    """The note under a table cut on the page (``max_rows``) and/or in the xlsx (``xlsx_rows``)."""
    n = len(total)
    xlsx_cut = xlsx_rows is not None and xlsx_rows < n
    page_cut = max_rows is not None and n > max_rows
    kept = "；涉密项目（合计）行保留在末行" if (page_cut or xlsx_cut) and _has_total_line(total) else ""
    if page_cut and xlsx_cut:
        return (f'<p class="perf-note">页面仅显示前 {max_rows:,} 行；xlsx 文件含前 {xlsx_rows:,} 行；'
                f'共 {n:,} 行{kept}。完整明细请按部门生成报告。</p>')
    if xlsx_cut:
        return f'<p class="perf-note">xlsx 文件仅含前 {xlsx_rows:,} 行，共 {n:,} 行{kept}。完整明细请按部门生成报告。</p>'
    if page_cut:
        return f'<p class="perf-note">仅显示前 {max_rows} 行，共 {n} 行{kept}；完整数据见 xlsx 文件。</p>'
    return ""


def table_html(df: pd.DataFrame, title: str, max_rows: int | None = None,
               xlsx_rows: int | None = None) -> str:
    """The HTML of a table as :meth:`Report.table` shows it (kinds recorded by
    :func:`~perflib.present.tables.with_kinds`, or guessed from the headers); ``xlsx_rows``: rows
    kept for the .xlsx when fewer than all (the note says so)."""
    shown = df if max_rows is None else head_keeping_total(df, max_rows)
    return tables.table_html(df, tables.kinds_of(df), title, rows=shown,
                             note=cut_note(df, max_rows, xlsx_rows))


def markdown_html(text: str) -> str:
    """Markdown → HTML with any raw HTML in the text escaped (shown as text, never interpreted).

    The text is drafted from data (project and department names), so markdown links, images and
    autolinks stay literal text: a name like ``![x](http://…)`` must not make the page fetch or link
    anywhere (SECURITY.md, tests/present/test_browser.py)."""
    import mistune

    md = mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])
    for rule in ("link", "auto_link", "auto_email"):
        if rule in md.inline.rules:
            md.inline.rules.remove(rule)
    if "ref_link" in md.block.rules:
        md.block.rules.remove("ref_link")
    return md(text)


def scope_html(scopes: dict[str, str]) -> str:
    """The 口径说明 block under a section's figures: one line per fact (name and sentence, escaped)."""
    items = "".join(f"<li><b>{esc(fact_label(k))}</b> <code>{esc(k)}</code>：{esc(v)}</li>" for k, v in scopes.items())
    return f'<details class="perf-scope" open><summary>口径说明</summary><ul>{items}</ul></details>'


def _display_html(content: str, plain: str) -> None:
    from IPython.display import display

    display({"text/html": content, "text/plain": plain}, raw=True)


# --- the report ----------------------------------------------------------------------------------
@dataclass
class Report:
    """One report being drawn in a notebook: its store, rules, year and parameters, and outputs."""

    name: str
    store: Store
    rules: Rules
    year: int
    params: dict[str, Any] = field(default_factory=dict)
    artifacts_dir: Path | None = None
    max_table_rows: int | None = None  # rows shown per table; None → rules report.html_max_rows
    _facts: dict[str, Any] = field(default_factory=dict, repr=False)
    _tables: list[dict] = field(default_factory=list, repr=False)
    _meta: dict[str, Any] = field(default_factory=dict, repr=False)
    _in_section: bool = field(default=False, repr=False)

    # --- facts -------------------------------------------------------------------------------
    def facts(self, values: dict[str, Any]) -> None:
        """Record SPEC facts (money in 元, rates as fractions); they go to ``.facts.json``, their
        口径 (:mod:`perflib.present.scopes`) beside them, and the page shows a 口径说明 block."""
        for k, v in values.items():
            self._facts[str(k)] = to_jsonable(v)
        self._write(FACTS_FILE, self._facts)
        scopes = scope_sentences([str(k) for k in values], self.scope_context())
        if scopes:
            self._meta.setdefault("scopes", {}).update(scopes)
            self._write(META_FILE, self._meta)
            _display_html(scope_html(scopes), "口径说明：" + " ".join(scopes.values()))

    def fact(self, key: str, value: Any) -> None:
        self.facts({key: value})

    @property
    def recorded_facts(self) -> dict[str, Any]:
        return dict(self._facts)

    @property
    def recorded_scopes(self) -> dict[str, str]:
        """{fact: 口径 sentence} of the facts recorded so far."""
        return dict(self._meta.get("scopes", {}))

    def scope_context(self) -> dict[str, Any]:
        """What the scope sentences name: year, parameters, the department a report is restricted to."""
        return scope_context(self.year, self.params, self._facts, unit_name=self._unit_name())

    def _unit_name(self) -> str | None:
        dept = self.params.get("dept")
        if dept is None or str(dept).strip() == "":
            return None
        try:
            d = self.store.departments()
            hit = d[(d["dept_code"].astype(str) == str(dept)) | (d["dept_name"].astype(str) == str(dept))]
            return str(hit["dept_name"].iloc[0]) if len(hit) else str(dept)
        except Exception:  # noqa: BLE001 - a name for a sentence; the code does as well
            return str(dept)

    @property
    def district(self) -> str:
        """The district's name: rules ``report.district``, else from the data, else 「本区」."""
        from .names import district_name

        return district_name(self.store, self.rules)

    @property
    def bureau(self) -> str:
        """The bureau's name: rules ``report.bureau``, else from the district's name, else 「本区财政局」."""
        from .names import bureau_name

        return bureau_name(self.store, self.rules)

    # --- content -----------------------------------------------------------------------------
    def table(self, df: pd.DataFrame, title: str, columns: View | str | Sequence | None = None, *,
              sheet: str | None = None, money: Iterable[str] | None = None,
              max_rows: int | None = None) -> None:
        """Show a table (classified rows collapsed, Chinese headers, one format per column) and keep
        it for the ``.xlsx``. Returns nothing (a notebook cell has nothing to echo).

        ``columns``: a view name of :data:`perflib.present.labels.VIEWS`, a list of columns (names,
        ``(name, label[, kind])``) or None (every column, labelled by ``labels.LABELS``).
        ``money``: columns summed on the 涉密项目（合计） line (canonical names or headers; default:
        money and count columns guessed by name). The page shows the first
        ``report.html_max_rows`` rows (or ``max_rows``), the .xlsx keeps the first
        ``report.xlsx_max_rows``; the tables JSON records the total (``rows``).
        """
        out = self.prepare_table(df, columns, money)
        limit = max_rows if max_rows is not None else self.max_table_rows
        if limit is None:
            limit = int(self.rules.value("report.html_max_rows"))
        xlsx_limit = int(self.rules.value("report.xlsx_max_rows"))
        _display_html(table_html(out, title, limit, xlsx_rows=min(len(out), xlsx_limit)),
                      f"{title}（{len(out)} 行）")
        self._keep(out, title, sheet)

    def sheet(self, df: pd.DataFrame, sheet: str, title: str | None = None,
              columns: View | str | Sequence | None = None, *, money: Iterable[str] | None = None) -> None:
        """Keep a table for the ``.xlsx`` only (its own sheet, not shown on the page): e.g. one sheet
        of review comments per department. Laid out and classified rows collapsed as :meth:`table`."""
        self._keep(self.prepare_table(df, columns, money), title or sheet, sheet)

    def _keep(self, out: pd.DataFrame, title: str, sheet: str | None) -> None:
        if self.artifacts_dir is None:
            return
        xlsx_limit = int(self.rules.value("report.xlsx_max_rows"))
        n = len(self._tables) + 1
        file = f"table_{n:03d}.pkl"
        tdir = self.artifacts_dir / "tables"
        tdir.mkdir(parents=True, exist_ok=True)
        with open(tdir / file, "wb") as fh:
            pickle.dump(head_keeping_total(out, xlsx_limit), fh)
        self._tables.append({"file": file, "title": title, "sheet": sheet or title, "rows": len(out)})
        self._write(TABLES_FILE, self._tables)

    @staticmethod
    def prepare_table(df: pd.DataFrame, columns: View | str | Sequence | None = None,
                      money: Iterable[str] | None = None) -> pd.DataFrame:
        """The table :meth:`table` shows and keeps: laid out (:func:`perflib.present.tables.layout`),
        classified rows collapsed, the columns' kinds in ``attrs`` (for the xlsx formats)."""
        shown, kinds = tables.layout(df, columns)
        if money is not None:
            headers = dict(zip(_source_names(df, columns), shown.columns))
            money = [headers.get(m, m) for m in money]
        out = collapse_classified(shown, money).reset_index(drop=True)
        return tables.with_kinds(out, kinds)

    def figure(self, fig, title: str, dpi: int = 110) -> None:
        """Embed a matplotlib figure (PNG as a data URI) with its title, then close it."""
        import matplotlib.pyplot as plt

        from matplotlib.layout_engine import PlaceHolderLayoutEngine
        from matplotlib.text import Text

        buf = io.BytesIO()
        # perflib's charts lay themselves out (tight_layout), so the picture is the figure as laid
        # out; a tight bounding box costs one more drawing pass and is kept only for a figure-level
        # legend, which may sit outside the figure (the cost structure chart's, below its axes)
        if isinstance(fig.get_layout_engine(), PlaceHolderLayoutEngine):
            # tight_layout leaves this do-nothing engine behind, and savefig draws the whole figure
            # once more for any engine before printing it (a third of its time); the PNG is the same
            fig.set_layout_engine(None)
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight" if fig.legends else None)
        # the words drawn in the picture, for the runner's classified-leak check (pixels hide them)
        drawn = [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]
        plt.close(fig)
        if drawn:
            self._meta.setdefault("figure_text", []).extend(drawn)
            self._write(META_FILE, self._meta)
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        _display_html(
            f'<figure class="perf-figure"><img alt="{esc(title)}" src="data:image/png;base64,{data}"/>'
            f"<figcaption>{esc(title)}</figcaption></figure>",
            f"图：{title}",
        )

    def text(self, md: str) -> None:
        """Show a paragraph drafted from data (markdown; any HTML in it is escaped). Paragraphs
        before the first :meth:`section` are recorded as the document's introduction."""
        _display_html(f'<div class="perf-text">{markdown_html(md)}</div>', md)
        outline = self._meta.setdefault("outline", {"intro": [], "sections": []})
        if not outline["sections"] and not self._in_section:
            outline["intro"].append(str(md))
            self._write(META_FILE, self._meta)

    def heading(self, text: str, level: int = 2) -> None:
        """A heading computed from data (level 1 is the report title shown in the page header)."""
        level = min(max(int(level), 1), 4)
        if level == 1:
            self._meta["title"] = str(text)
            # who signs the Word document built from this report (perflib.present.docx)
            self._meta.setdefault("outline", {"intro": [], "sections": []})["bureau"] = self.bureau
            self._write(META_FILE, self._meta)
        _display_html(f'<h{level} id="{esc(slug(text))}">{esc(text)}</h{level}>', str(text))
        if level == 1:
            self.quality_note()

    def quality_note(self) -> int:
        """The line under the title when the data this report uses have findings (data-quality
        hints, :data:`perflib.analysis.quality.REPORT_TABLES` says which tables each report uses):
        「本报告所用数据有 N 处数据质量提示，见数据质量报告」, linked to the year's ``quality.html`` when
        the runner publishes the report (it lands beside it); nothing when N is 0 or the report
        is not in the mapping (the data-quality report itself). Called by :meth:`heading` for the
        title; returns N."""
        from ..analysis import quality
        from .text.quality import QUALITY_PAGE, REPORT_NAME, header_line

        tables_used = quality.REPORT_TABLES.get(self.name)
        if not tables_used:
            return 0
        dept = quality.level1_code(self.store, self.params.get("dept"))
        n = quality.findings_count(self.store, self.year, tables_used, dept=dept)
        self._meta["quality_findings"] = n
        self._write(META_FILE, self._meta)
        if n:
            line = esc(header_line(n))
            if self.artifacts_dir is not None:
                line = line.removesuffix(REPORT_NAME) + f'<a href="{QUALITY_PAGE}">{REPORT_NAME}</a>'
            _display_html(f'<p class="perf-note perf-quality-note">{line}</p>', header_line(n))
        return n

    def section(self, sec) -> None:
        """Show a drafted section (``text``, ``facts``, ``tables`` as in :class:`perflib.present.text.overview.Section`)."""
        self._in_section = True
        try:
            self.text(sec.text)
        finally:
            self._in_section = False
        if getattr(sec, "facts", None):
            self.facts(sec.facts)
        first = len(self._tables) + 1
        for t in getattr(sec, "tables", None) or []:
            self.table(t.frame, t.title, getattr(t, "columns", None), sheet=t.sheet)
        # the outline the runner builds Word documents from (perflib.present.docx): sections with
        # their text and the numbers of their recorded tables
        titles = [t.title for t in getattr(sec, "tables", None) or []]
        outline = self._meta.setdefault("outline", {"intro": [], "sections": []})
        outline["sections"].append({"key": str(getattr(sec, "key", "")), "heading": str(getattr(sec, "heading", "")),
                                    "text": str(sec.text), "tables": [[first + i, t] for i, t in enumerate(titles)]})
        self._write(META_FILE, self._meta)

    def uses_rules(self, *sections: str) -> None:
        """Name the rules sections this report applies (the footer lists them first)."""
        used = self._meta.setdefault("rules_sections", [])
        used.extend(s for s in sections if s not in used)
        self._write(META_FILE, self._meta)

    # --- internals ---------------------------------------------------------------------------
    def _write(self, file: str, payload: Any) -> None:
        if self.artifacts_dir is None:
            return
        # rewritten after every recorded item and read by the runner when the kernel is done: whole
        # (a rename), but not flushed to disk each time (the folder is the run's, removed after it)
        atomic_write_text(self.artifacts_dir / file, json.dumps(payload, ensure_ascii=False, indent=1),
                          durable=False)


def open_report(name: str, *, db: str | Path | Store | None = None, year: int | None = None,
                rules: str | Path | Rules | None = None, artifacts_dir: str | Path | None = None,
                store: Store | None = None, **params: Any) -> Report:
    """Open a report: the store (read-only), the rules, the year (None → latest in the store).

    Parameters
    ----------
    name : the notebook's name (``coverage``, ``monitoring`` ...).
    db : path of the DuckDB store (or a :class:`Store`, e.g. from ``Store.from_frames`` in tests).
    rules : a rules file path (None → defaults) or a loaded :class:`Rules`.
    artifacts_dir : where the runner collects facts and tables; None when run by hand.
    params : the notebook's own parameters (``dept``, ``as_of_month`` ...), kept in ``rep.params``.
    """
    from .charts.base import setup_theme

    if store is None and isinstance(db, Store):
        store = db
    elif store is None:
        path = find_db(db)
        if not path.exists():
            from ..exceptions import StoreError

            raise StoreError(missing_db_text(db))
        store = Store(path, let_cache_go=True)  # this kernel's only store: its memory is the report's
    loaded = rules if isinstance(rules, Rules) else load_rules(rules)
    resolved = int(year) if year is not None else store.latest_year()
    if resolved is None:
        from ..exceptions import StoreError

        raise StoreError("数据库中没有项目数据，无法确定年度；请先导入数据")
    setup_theme()
    rep = Report(name=name, store=store, rules=loaded, year=resolved, params=dict(params),
                 artifacts_dir=Path(artifacts_dir) if artifacts_dir else None)
    rep._meta.update({"name": name, "year": resolved})
    rep._write(META_FILE, rep._meta)
    return rep
