"""The disclosure package's pages (perflib.present.disclosure): accessible and self-contained
(lang="zh-CN", every table captioned, every header cell scoped, no script, no outside URL, inline
CSS only), names from the data shown as text; and, in headless Chromium, every page of the hostile
demo's package opens offline with no outside request, no console error and no script."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from conftest import XSS_SCRIPT, small_frames, write_export

from perflib.analysis.disclosure import disclosure
from perflib.ingest import ingest
from perflib.present.disclosure import pages, workbook
from perflib.rules import load_rules
from perflib.store import Store


class Audit(HTMLParser):
    """Counts what the accessibility and self-containment checks need."""

    def __init__(self):
        super().__init__()
        self.lang = None
        self.tables = self.captions = self.scripts = 0
        self.th_without_scope: list = []
        self.urls: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "table":
            self.tables += 1
        elif tag == "caption":
            self.captions += 1
        elif tag == "script":
            self.scripts += 1
        elif tag == "th" and a.get("scope") not in ("col", "row"):
            self.th_without_scope.append(attrs)
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        for k, v in attrs:
            if k in ("src", "srcset", "data", "action", "poster") or k.startswith("on"):
                self.urls.append(f"{k}={v}")


def audit(data: bytes) -> tuple[Audit, str]:
    text = data.decode("utf-8")
    a = Audit()
    a.feed(text)
    return a, text


@pytest.fixture(scope="module")
def hostile_pages(tmp_path_factory) -> dict[str, bytes]:
    f = small_frames()
    f["departments"].loc[f["departments"]["dept_code"] == "101", "dept_name"] = f"区教体局{XSS_SCRIPT}"
    f["projects"].loc[f["projects"]["project_id"] == "P001", "project_name"] = "运动场地<b>建设</b>资金"
    root = tmp_path_factory.mktemp("pages")
    ingest(write_export(root / "export", f), root / "perf.duckdb")
    with Store(root / "perf.duckdb") as store:
        d = disclosure(store, 2023, load_rules(None))
    out = pages(d, district="测试区", published="2023-12-31")
    out["x.xlsx"] = workbook(d)
    return out


def test_every_page_is_accessible_and_self_contained(hostile_pages):
    html_pages = {n: b for n, b in hostile_pages.items() if n.endswith(".html")}
    assert {"index.html", "keyeval.html", "dept-101.html", "dept-102.html", "dept-103.html"} <= set(html_pages)
    for name, data in html_pages.items():
        a, text = audit(data)
        assert a.lang == "zh-CN", name
        assert a.tables == a.captions, name
        assert not a.th_without_scope, name
        assert a.scripts == 0 and not a.urls, name
        assert not re.search(r"(?i)(https?:)?//[a-z0-9]|@import|url\(", text), name  # no outside request
        assert all(not re.match(r"(?i)[a-z]+:", h) for h in a.links), name  # relative links only
        assert "公开日期：2023-12-31" in text, name


def test_links_of_the_index_name_existing_pages(hostile_pages):
    a, _ = audit(hostile_pages["index.html"])
    assert a.links and set(a.links) <= set(hostile_pages) | {"绩效信息公开-2023.xlsx"}


def test_names_from_the_data_are_text(hostile_pages):
    page = hostile_pages["dept-101.html"].decode("utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<b>建设</b>" not in page and "运动场地&lt;b&gt;建设&lt;/b&gt;资金" in page


def test_department_page_holds_its_targets_and_results(hostile_pages):
    page = hostile_pages["dept-101.html"].decode("utf-8")
    # P001's three 2023 targets, the department-level target, the 2022 self-evaluation, the key evaluation
    for text in ("新建运动场地", "群众健身条件改善", "群众满意度", "学校覆盖率", "2022 年度项目绩效自评结果",
                 "财政重点评价结果", "91.00"):
        assert text in page, text
    assert "引进人才数" not in page  # another department's target
    assert "某专项保障经费" not in "".join(b.decode("utf-8") for n, b in hostile_pages.items() if n.endswith(".html"))


# --- in a real browser --------------------------------------------------------------------------
@pytest.mark.slow
def test_every_page_opens_offline_without_outside_requests(hostile_demo, tmp_path):
    from test_browser import Tab, _chromium, _unavailable

    from perflib.run.disclosure import write_disclosure

    out = tmp_path / "public"
    write_disclosure(hostile_demo["db"], 2023, out, load_rules(None))
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the python package playwright is not installed")
    exe = _chromium()
    if exe is None:
        _unavailable("no chromium executable found (/usr/bin/chromium)")
    html_pages = sorted(out.glob("*.html"))
    assert len(html_pages) > 3
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=[
            "--host-resolver-rules=MAP * ~NOTFOUND", "--disable-background-networking", "--no-first-run",
            "--disable-component-update"])
        tab = Tab(browser)
        try:
            for page in html_pages:
                v = tab.visit(page)
                try:
                    assert v.outside() == [], page.name
                    assert v.console_errors == [] and v.page_errors == [], page.name
                    assert v.facts["xss"] == "undefined" and v.facts["scripts"] == 0, page.name
                    assert v.facts["onAttrs"] == [] and v.facts["text"] > 0, page.name
                    for href in v.facts["links"]:
                        assert (out / href).exists(), (page.name, href)
                finally:
                    v.close()
        finally:
            tab.close()
            browser.close()
