"""HTML safety and offline use, checked in a real browser (headless Chromium driven by playwright).

Every page of the full demo suite (rendered once per session on the hostile demo: names carrying
<script>, onerror, markdown images/links, an Excel formula and URL specials, see conftest.HOSTILE)
is opened with the network disabled (host resolver maps every name to nothing, the context is
offline, and every request not file:/data: is aborted and recorded): zero requests leave the page,
zero console errors, no script from the data runs (``window.__xss`` stays undefined, the only
script is our own), the interactive tables sort and search, every link of the index opens a file
that exists, the overview prints to PDF with its Chinese text (pdftotext), and a screenshot of the
overview's first page can be taken. The README's picture (docs/screenshots/overview.png, from the
plain demo) is made the same way: ``python tests/present/test_browser.py reports/2023/overview.html``.

Chromium comes from Debian (``apt-get install chromium``; .ci/run installs it). Where it cannot be
had, the browser tests skip with a loud reason — except under CI (``CI=true``), where they fail.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from conftest import FORMULA, HOSTILE

from perflib.present.html import href, render_failure
from perflib.present.notebook import markdown_html

pytestmark = pytest.mark.slow  # end-to-end: outside the fast lane (`-m "not slow"`)


REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "screenshots" / "overview.png"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
# JS run in each page: everything a check needs in one round trip
PAGE_FACTS_JS = r"""() => {
  const onAttrs = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) { if (/^on/i.test(a.name)) onAttrs.push(el.tagName + ' ' + a.name); }
  }
  const badImgs = Array.from(document.images).filter(
    i => !i.src.startsWith('data:') || !i.complete || i.naturalWidth === 0).map(i => i.src.slice(0, 80));
  return {
    xss: typeof window.__xss,
    scripts: document.scripts.length,
    scriptSrc: Array.from(document.scripts).filter(s => s.src).map(s => s.src),
    onAttrs: onAttrs,
    images: document.images.length,
    badImgs: badImgs,
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href')),
    tables: document.querySelectorAll('table.perf-table').length,
    sortable: document.querySelectorAll('table.perf-table th.sortable').length,
    searches: document.querySelectorAll('input.perf-search').length,
    text: document.body.innerText.length,
  };
}"""


def _chromium() -> str | None:
    for c in (os.environ.get("PERFLIB_CHROMIUM"), shutil.which("chromium"), *CHROMIUM_CANDIDATES):
        if c and Path(c).exists():
            return c
    return None


def _unavailable(reason: str):
    message = (f"\n{'!' * 78}\nBROWSER CHECKS NOT RUN: {reason}\n"
               "Install Debian's chromium (apt-get install chromium) and the python package playwright.\n"
               f"{'!' * 78}")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)  # CI must never skip the browser checks silently
    print(message)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the python package playwright is not installed")
    exe = _chromium()
    if exe is None:
        _unavailable("no chromium executable found (/usr/bin/chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=[
            "--host-resolver-rules=MAP * ~NOTFOUND",  # no name resolves: nothing can leave
            "--disable-background-networking", "--no-first-run", "--disable-component-update",
        ])
        try:
            yield b
        finally:
            b.close()


class Tab:
    """One offline browser tab (its own context) that opens page after page: a new context and tab
    cost ~0.2 s each, a navigation ~0.05 s. Every request not file:/data: is aborted; each
    :class:`Visit` records only what happened while it was the tab's current page."""

    def __init__(self, browser, width: int = 1280, height: int = 900):
        self.context = browser.new_context(offline=True, viewport={"width": width, "height": height},
                                           locale="zh-CN")
        self.current: Visit | None = None

        def route(r):
            url = r.request.url
            if url.startswith(("file:", "data:")):
                r.continue_()
            else:
                self._record("blocked", url)
                r.abort()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.page.on("request", lambda req: self._record("requests", req.url))
        self.page.on("console", lambda m: self._record("console_errors", m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self._record("page_errors", str(e)))

    def _record(self, kind: str, what: str) -> None:
        if self.current is not None:
            getattr(self.current, kind).append(what)

    def visit(self, path: Path) -> "Visit":
        return Visit(self, path)

    def close(self):
        self.context.close()


class Visit:
    """One page opened offline: what it requested, logged and held. ``where`` is a browser (a tab
    of its own, closed with the visit) or a :class:`Tab` (the page replaces the tab's last one)."""

    def __init__(self, where, path: Path, width: int = 1280, height: int = 900):
        self._own = not isinstance(where, Tab)
        self.tab = Tab(where, width, height) if self._own else where
        self.requests: list[str] = []
        self.blocked: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.tab.current = self
        self.page = self.tab.page
        self.page.goto(path.resolve().as_uri(), wait_until="load")
        self.facts = self.page.evaluate(PAGE_FACTS_JS)

    def outside(self) -> list[str]:
        return [u for u in self.requests + self.blocked if not u.startswith(("file:", "data:"))]

    def close(self):
        if self.tab.current is self:
            self.tab.current = None
        if self._own:
            self.tab.close()


def _pages(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.html")
                  if not any(part.startswith(".") for part in p.relative_to(out).parts))


@pytest.fixture(scope="module")
def visits(browser, demo_suite, tmp_path_factory):
    """Every page of the suite (plus a failure page with a hostile error) opened once; its tables
    sorted and searched (the requests and errors of that are recorded too)."""
    pages = _pages(demo_suite["out"])
    extra = tmp_path_factory.mktemp("failure") / "probe.failed.html"
    extra.write_text(render_failure(
        notebook="probe", params={"街道": HOSTILE["street"][4]}, error=f"出错了 {HOSTILE['dept'][4]}",
        title=HOSTILE["key_monitored"][4], last_good="probe#1 50%.html"), "utf-8")
    (extra.parent / "probe#1 50%.html").write_text("<!DOCTYPE html><title>上次</title>", "utf-8")
    out = {}
    tab = Tab(browser)
    try:
        for path in pages + [extra]:
            v = tab.visit(path)
            try:
                interaction = check_sort_and_search(v.page)
            except AssertionError as exc:
                interaction = f"sort/search failed: {exc!r}"
            out[path] = {"facts": v.facts, "interaction": interaction, "outside": v.outside(),
                         "console": v.console_errors, "errors": v.page_errors}
            v.close()
    finally:
        tab.close()
    return out


# --- no browser needed --------------------------------------------------------------------------
def test_markdown_from_data_never_links_or_fetches():
    out = markdown_html("运动场地建设资金![x](http://tracker.invalid/x.png)、[详情](javascript:alert(1))、"
                        "<http://tracker.invalid/a>、**要点**、<script>x</script>\n\n[r]: http://tracker.invalid/r")
    assert "<img" not in out and "<a " not in out and "<script" not in out
    assert "![x](http://tracker.invalid/x.png)" in out  # shown as the literal text it is
    assert "[详情](javascript:alert(1))" in out
    assert "<strong>要点</strong>" in out  # ordinary emphasis still works


def test_links_to_report_files_encode_url_specials_and_keep_chinese():
    assert href("2023/cost-道路保洁#1 50%.html") == "2023/cost-道路保洁%231%2050%25.html"
    assert href('2023/x?"<>.html') == "2023/x%3F%22%3C%3E.html"
    assert href("2023/fiscal-东风街道办事处.html") == "2023/fiscal-东风街道办事处.html"
    page = render_failure(notebook="n", params={}, error="e", last_good="n#1.html")
    assert 'href="n%231.html"' in page


def test_xlsx_keeps_a_formula_like_name_as_text(demo_suite):
    book = demo_suite["out"] / "2023" / "monitoring-07月.xlsx"
    with zipfile.ZipFile(book) as z:
        sheets = [z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        # text cells: inline strings in the sheets (perflib.present.xlsx), or a shared-strings part
        strings = "\n".join(sheets) + "".join(z.read(n).decode("utf-8") for n in z.namelist()
                                              if n == "xl/sharedStrings.xml")
    assert not any("<f>" in s or "<f " in s for s in sheets)  # no cell is a formula
    assert FORMULA.replace('"', "&quot;") in strings or FORMULA in strings
    import openpyxl

    wb = openpyxl.load_workbook(book)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value == FORMULA]
    assert cells and all(c.data_type == "s" for c in cells)  # read back as text, not as a formula


# --- in the browser -----------------------------------------------------------------------------
def test_every_page_opens_offline_without_requests_errors_or_data_scripts(demo_suite, visits):
    pages = _pages(demo_suite["out"])
    assert len(pages) >= 22  # 21 reports + the index
    problems = []
    for path, v in visits.items():
        f = v["facts"]
        name = path.name
        if v["outside"]:
            problems.append(f"{name}: requests leaving the page {v['outside'][:3]}")
        if v["console"] or v["errors"]:
            problems.append(f"{name}: console errors {(v['console'] + v['errors'])[:3]}")
        if f["xss"] != "undefined":
            problems.append(f"{name}: a script from the data ran (window.__xss={f['xss']})")
        if f["scripts"] != 1 or f["scriptSrc"]:
            problems.append(f"{name}: {f['scripts']} scripts {f['scriptSrc']} (only our inline one expected)")
        if f["onAttrs"]:
            problems.append(f"{name}: event-handler attributes {f['onAttrs'][:3]}")
        if f["badImgs"]:
            problems.append(f"{name}: images not embedded or not shown {f['badImgs'][:2]}")
        for href in f["links"]:
            scheme = urlparse(href).scheme
            if scheme and scheme not in ("file",):
                problems.append(f"{name}: link to {href}")
    assert not problems, "\n".join(problems)


def test_reports_show_their_content(demo_suite, visits):
    for path, v in visits.items():
        if path.parent.name == "2023":
            f = v["facts"]
            assert f["text"] > 500 and f["tables"] >= 1 and f["sortable"] >= 1, path.name
            if path.stem != "overview":  # the overview is text and tables, as the seed report
                assert f["images"] >= 1, f"{path.name}: no chart"


def test_a_shared_tab_records_each_page_apart(browser, tmp_path):
    """The checks above open every page in one tab (:class:`Tab`): what a page requests, logs or
    throws is caught on that page and never carried over to the next one."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><title>b</title><img src="http://tracker.invalid/x.png">'
                   '<script>console.error("boom"); window.__xss = 1; undefinedCall();</script>', "utf-8")
    good = tmp_path / "good.html"
    good.write_text("<!DOCTYPE html><title>g</title><p>正文</p>", "utf-8")
    tab = Tab(browser)
    try:
        seen = []
        for path in (bad, good, bad):
            v = tab.visit(path)
            seen.append((bool(v.outside()), "boom" in v.console_errors, bool(v.console_errors), len(v.page_errors),
                         v.facts["xss"]))
            v.close()
    finally:
        tab.close()
    assert seen[0] == (True, True, True, 1, "number")
    assert seen[1] == (False, False, False, 0, "undefined")
    assert seen[2] == seen[0]


def test_hostile_names_are_shown_as_text(browser, demo_suite):
    v = Visit(browser, demo_suite["out"] / "2023" / "overview.html")
    try:
        text = v.page.inner_text("body")
    finally:
        v.close()
    for key in ("street", "key_evaluated"):
        assert HOSTILE[key][4] in text, key  # the name as typed, markup and all, is visible text


def test_index_links_open_existing_files(browser, demo_suite, visits):
    index = demo_suite["out"] / "index.html"
    links = visits[index]["facts"]["links"]
    assert len(links) >= 21 * 4
    missing = [h for h in links if not (index.parent / unquote(urlparse(h).path)).is_file()]
    assert not missing, missing
    # the fan-out value with URL specials (# and %) still links to its own page
    special = [h for h in links if unquote(urlparse(h).path).endswith(".html") and "道路保洁" in unquote(h)]
    assert special and all("#" not in urlparse(h).path for h in special)
    v = Visit(browser, index)
    try:
        with v.page.expect_navigation():
            v.page.click(f'a[href="{special[0]}"]')
        assert unquote(v.page.url).endswith(unquote(urlparse(special[0]).path))
        assert "道路保洁#1 50%" in v.page.inner_text("h1.perf-title, .perf-meta")
    finally:
        v.close()


def test_failure_page_is_safe_and_links_the_last_good_report(browser, visits):
    failure = next(p for p in visits if p.name == "probe.failed.html")
    f = visits[failure]["facts"]
    assert f["xss"] == "undefined" and not visits[failure]["outside"]
    href = next(h for h in f["links"] if "probe" in unquote(h))
    assert (failure.parent / unquote(urlparse(href).path)).is_file()


TABLES_JS = r"""() => Array.from(document.querySelectorAll('table.perf-table')).map((t, i) => {
  const visible = t.checkVisibility({checkVisibilityCSS: true}) && !t.closest('details:not([open])');
  const heads = Array.from(t.tHead ? t.tHead.rows[0].cells : []);
  const rows = Array.from(t.tBodies[0] ? t.tBodies[0].rows : []);
  const nums = heads.map((h, c) => h.getAttribute('data-type') === 'num' ? c : -1).filter(c => c >= 0)
    .filter(c => new Set(rows.map(r => r.cells[c] ? r.cells[c].getAttribute('data-v') : '')).size > 1);
  const box = t.previousElementSibling;
  const last = rows.length ? Array.from(rows[rows.length - 1].cells) : [];
  return {index: i, visible: visible, rows: rows.length, numeric: nums,
          search: !!(box && box.matches('input.perf-search')),
          texts: rows.map(r => r.textContent.toLowerCase()),
          queries: last.map(c => c.textContent.trim().toLowerCase()).filter(q => q)};
})"""
COLUMN_JS = r"""([t, c]) => Array.from(document.querySelectorAll('table.perf-table')[t].tBodies[0].rows)
  .filter(r => r.style.display !== 'none')
  .map(r => r.cells[c] ? r.cells[c].getAttribute('data-v') : null).filter(v => v !== null && v !== '')
  .map(Number)"""
VISIBLE_ROWS_JS = r"""t => Array.from(document.querySelectorAll('table.perf-table')[t].tBodies[0].rows)
  .filter(r => r.style.display !== 'none').length"""


def check_sort_and_search(page) -> dict:
    """As a person would: click a numeric header twice (ascending, then descending order), type in a
    table's search box (the visible rows are exactly those containing the text), clear it."""
    tables = [t for t in page.evaluate(TABLES_JS) if t["visible"]]
    seen = {"sorted": None, "searched": None}
    sortable = next((t for t in tables if t["rows"] >= 3 and t["numeric"]), None)
    if sortable is not None:
        i, col = sortable["index"], sortable["numeric"][0]
        head = page.locator("table.perf-table").nth(i).locator("thead th").nth(col)
        head.click()
        up = page.evaluate(COLUMN_JS, [i, col])
        head.click()
        down = page.evaluate(COLUMN_JS, [i, col])
        assert up == sorted(up) and down == sorted(down, reverse=True), (up[:5], down[:5])
        assert "sorted-desc" in (head.get_attribute("class") or "")
        seen["sorted"] = (i, col, len(up))
    # a query that some rows have and some lack: a cell of the last row
    found = next(((t, q) for t in tables if t["search"] for q in t["queries"]
                  if 0 < sum(q in x for x in t["texts"]) < t["rows"]), None)
    if found is not None:
        searchable, query = found
        i = searchable["index"]
        expected = sum(query in x for x in searchable["texts"])
        box = page.locator("table.perf-table").nth(i).locator("xpath=preceding-sibling::input[1]")
        box.fill(query)
        assert page.evaluate(VISIBLE_ROWS_JS, i) == expected, query
        box.fill("不存在的内容zzz")
        assert page.evaluate(VISIBLE_ROWS_JS, i) == 0
        box.fill("")
        assert page.evaluate(VISIBLE_ROWS_JS, i) == searchable["rows"]
        seen["searched"] = (i, query, expected, searchable["rows"])
    return seen


def test_tables_sort_and_search_in_every_report(visits):
    reports = {p: v for p, v in visits.items() if p.parent.name == "2023"}
    assert len(reports) >= 21
    failed = {p.name: v["interaction"] for p, v in reports.items() if isinstance(v["interaction"], str)}
    assert not failed, failed
    # every report has a numeric table that sorts; the large ones have a search box that filters
    assert all(v["interaction"]["sorted"] for v in reports.values())
    assert sum(bool(v["interaction"]["searched"]) for v in reports.values()) >= 15
    index = next(v for p, v in visits.items() if p.name == "index.html")
    assert index["interaction"]["searched"]  # 21 reports: the index has a search box too


def test_overview_prints_to_pdf_with_chinese_text_and_screenshot(browser, demo_suite, tmp_path):
    overview = demo_suite["out"] / "2023" / "overview.html"
    v = Visit(browser, overview, width=1280, height=900)
    try:
        shot = tmp_path / "overview.png"
        v.page.screenshot(path=str(shot))  # the first screenful, as an auditor sees it
        v.page.emulate_media(media="print")
        pdf = tmp_path / "overview.pdf"
        v.page.pdf(path=str(pdf), format="A4", print_background=True)
    finally:
        v.close()
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    assert pdf.read_bytes()[:5] == b"%PDF-"
    if shutil.which("pdftotext") is None:
        _unavailable("pdftotext (poppler-utils) is not installed")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    pages = text.count("\f")
    assert pages >= 3, pages
    compact = re.sub(r"\s+", "", text)
    for phrase in ("绩效目标", "绩效自评", "重点绩效评价", "绩效监控", "支出标准", "涉及项目支出609个"):
        assert phrase in compact, phrase
    assert "tracker.invalid" not in text or "![x](http://tracker.invalid/x.png)" in compact


def save_screenshot(report: Path, png: Path = SCREENSHOT) -> Path:
    """The first screenful of ``report`` opened offline in headless Chromium, saved as ``png``."""
    from playwright.sync_api import sync_playwright

    exe = _chromium()
    if exe is None:
        raise SystemExit("no chromium executable found (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--host-resolver-rules=MAP * ~NOTFOUND"])
        v = Visit(b, Path(report))
        try:
            if v.outside() or v.console_errors or v.page_errors:
                raise SystemExit(f"{report}: requests {v.outside()} errors {v.console_errors + v.page_errors}")
            png.parent.mkdir(parents=True, exist_ok=True)
            v.page.screenshot(path=str(png))
        finally:
            v.close()
            b.close()
    return png


if __name__ == "__main__":  # python tests/present/test_browser.py [reports/2023/overview.html]
    import sys

    print(save_screenshot(Path(sys.argv[1] if len(sys.argv) > 1 else "reports/2023/overview.html")))


NARROW_CELLS_JS = r"""() => {
  const out = {broken: [], scrolls: 0, wide: 0};
  for (const t of document.querySelectorAll('table.perf-table')) {
    if (!t.checkVisibility({checkVisibilityCSS: true}) || t.closest('details:not([open])')) continue;
    const box = t.closest('.perf-table-scroll');
    if (box && box.scrollWidth > box.clientWidth + 1) out.scrolls += 1;
    if (t.getBoundingClientRect().width > document.body.clientWidth) out.wide += 1;
    for (const td of t.querySelectorAll('tbody td')) {
      const text = td.textContent.trim();
      if (text.length < 3 || /\s/.test(text)) continue;
      const range = document.createRange();
      range.selectNodeContents(td);
      const lines = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top))).size;
      if (lines >= 3 && text.length / lines < 3) out.broken.push(text + ' (' + lines + ' lines)');
    }
  }
  out.broken = out.broken.slice(0, 10);
  return out;
}"""


def test_text_columns_keep_a_width_and_wide_tables_scroll(browser, demo_suite):
    """On a narrow window no cell breaks a name like 东风街道办事处 into one character a line: text
    columns keep a minimum width and the widest tables scroll sideways instead."""
    scrolled = 0
    for name in ("monitoring-07月.html", "evaluation.html", "cost-道路保洁.html"):
        page = demo_suite["out"] / "2023" / name
        if not page.exists():
            continue
        v = Visit(browser, page, width=760, height=900)
        try:
            facts = v.page.evaluate(NARROW_CELLS_JS)
        finally:
            v.close()
        assert not facts["broken"], (name, facts["broken"])
        scrolled += facts["scrolls"]
    assert scrolled > 0
