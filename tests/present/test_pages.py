"""Every page of the demo suite shows its tables the one way ``perflib.present`` sets out.

Over all 24 reports (``demo_reports``): no pandas repr text echoed onto a page, no year written with
a thousands separator (in 年度/年份 columns, headings and captions), every numeric column of every
report table in one format (same decimals, same unit suffix, separators all or none) and missing
values shown as the one marker (:data:`perflib.present.labels.MISSING`), never blank or ``nan``.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from perflib.present.labels import MISSING

pytestmark = pytest.mark.slow

NUMBER = re.compile(r"^(?P<sign>[-−+]?)(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<dec>\d+))?(?P<suffix>%|‰)?$")
YEAR_WITH_SEPARATOR = re.compile(r"(?<![\d,.])[12],\d{3}(?![\d,])")
NOT_A_VALUE = {"", "nan", "NaN", "None", "<NA>", "NaT", "null"}


class _Tables(HTMLParser):
    """Report tables (``perf-table`` inside ``perf-table-wrap``) with their caption, and the text of
    headings, captions and figure captions."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[dict] = []
        self.titles: list[str] = []
        self._stack: list[str] = []
        self._cell: list[str] | None = None
        self._title: list[str] | None = None
        self._caption = ""
        self._row: list[str] | None = None
        self._in_wrap = 0

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class") or ""
        if tag == "div" and "perf-table-wrap" in cls.split():
            self._in_wrap += 1
        if tag in ("h1", "h2", "h3", "h4", "figcaption") or (tag == "p" and "perf-caption" in cls.split()):
            self._title = []
            self._title_tag = tag
        if tag == "table" and self._in_wrap and "perf-table" in cls.split():
            self.tables.append({"caption": self._caption, "head": [], "rows": []})
        elif tag == "tr" and self.tables and self._in_wrap:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if self._title is not None and tag == getattr(self, "_title_tag", None):
            text = "".join(self._title).strip()
            self.titles.append(text)
            if tag == "p":
                self._caption = text
            self._title = None
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._row_kind = tag
            self._cell = None
        elif tag == "tr" and self._row is not None:
            table = self.tables[-1]
            if getattr(self, "_row_kind", "td") == "th" and not table["head"]:
                table["head"] = self._row
            else:
                table["rows"].append(self._row)
            self._row = None
        elif tag == "div" and self._in_wrap:
            self._in_wrap -= 1

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._title is not None:
            self._title.append(data)


def _pages(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.html") if p.name != "index.html"
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def _parse(path: Path) -> _Tables:
    p = _Tables()
    p.feed(path.read_text("utf-8"))
    return p


def _signature(text: str) -> tuple | None:
    m = NUMBER.match(text)
    if not m:
        return None
    digits = m["int"].replace(",", "")
    separated = None if len(digits) < 4 else ("," in m["int"])
    return len(m["dec"] or ""), m["suffix"] or "", separated


def column_problems(table: dict) -> list[str]:
    """What breaks the one-format rules in one parsed table (empty when none)."""
    out = []
    for j, head in enumerate(table["head"]):
        cells = [r[j] for r in table["rows"] if j < len(r)]
        bad = sorted({c for c in cells if c in NOT_A_VALUE})
        if bad:
            out.append(f"「{head}」has missing values not shown as {MISSING!r}: {bad}")
        values = [c for c in cells if c != MISSING and c not in NOT_A_VALUE]
        if re.search(r"年度|年份", head):
            years = [c for c in values if YEAR_WITH_SEPARATOR.search(c)]
            if years:
                out.append(f"「{head}」shows years with a thousands separator: {years[:3]}")
        sigs = [_signature(c) for c in values]
        if not values or any(s is None for s in sigs):
            continue  # a text column
        decimals = {s[0] for s in sigs}
        suffixes = {s[1] for s in sigs}
        separated = {s[2] for s in sigs if s[2] is not None}
        if len(decimals) > 1 or len(suffixes) > 1 or len(separated) > 1:
            examples = sorted(set(values), key=values.index)[:6]
            out.append(f"「{head}」mixes number formats: {examples}")
    return out


def test_column_rules_find_what_they_look_for():
    assert column_problems({"head": ["稳健 z 值"], "rows": [["3.40"], ["0.9232"], ["0.01483"]]})
    assert column_problems({"head": ["金额"], "rows": [["11,369,725"], ["11,369,725.00"]]})
    assert column_problems({"head": ["年度"], "rows": [["2,023"]]})
    assert column_problems({"head": ["金额"], "rows": [["1,000.00"], [""]]})
    assert column_problems({"head": ["金额"], "rows": [["1000.00"], ["2,000.00"]]})
    assert column_problems({"head": ["占比"], "rows": [["10.00%"], ["0.10"]]})
    assert not column_problems({"head": ["金额", "名称"], "rows": [["1,000.00", "东风街道办事处"],
                                                               [MISSING, "2,023 个"]]})
    assert not column_problems({"head": ["年度"], "rows": [["2023"], ["2021—2023"]]})


def test_no_pandas_repr_on_any_page(demo_reports):
    pages = _pages(demo_reports)
    assert len(pages) == 24
    found = {}
    for page in pages:
        text = page.read_text("utf-8")
        hits = [s for s in ("rows ×", "rows x", 'class="dataframe"', "<pre>Empty DataFrame") if s in text]
        if hits:
            found[page.name] = hits
    assert not found


def test_no_year_with_a_thousands_separator_in_headings_and_captions(demo_reports):
    found = {}
    for page in _pages(demo_reports):
        bad = [t for t in _parse(page).titles if re.search(r"(?<![\d,.])[12],\d{3}\s*(年|—|-)", t)]
        if bad:
            found[page.name] = bad[:3]
    assert not found


def test_every_table_column_has_one_format(demo_reports):
    found = {}
    n_tables = 0
    for page in _pages(demo_reports):
        for table in _parse(page).tables:
            n_tables += 1
            problems = column_problems(table)
            if problems:
                found[f"{page.name} / {table['caption']}"] = problems
    assert n_tables > 100
    assert not found, "\n".join(f"{k}: {v}" for k, v in list(found.items())[:40])
