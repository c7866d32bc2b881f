"""HTML rendering: offline page, no code, table of contents, header/footer, failure page, index, xlsx,
atomic writes."""
from __future__ import annotations

import io
import os
import re
from pathlib import Path

import nbformat
import openpyxl
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from perflib.present import html as render
from perflib.rules import load_rules

PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def executed_notebook():
    code = new_code_cell("secret_code_marker = 1\nprint('x')", execution_count=3)
    code.outputs = [
        new_output("display_data", data={"text/html": '<h2 id="sec-a">二、第一节</h2>', "text/plain": "h"}),
        new_output("display_data", data={"image/png": PNG, "text/plain": "fig"}),
        new_output("stream", name="stderr", text="UserWarning: noisy\n"),
        new_output("execute_result", data={"text/plain": "42"}, execution_count=3),
    ]
    return new_notebook(cells=[
        new_markdown_cell("# 标题一\n\n说明 $x^2$ 文字"),
        code,
        new_markdown_cell("## 二、第一节\n\n### 小节"),
    ])


@pytest.fixture(scope="module")
def page():
    return render.render_report(
        executed_notebook(), notebook="probe", params={"dept": "区教体局", "year": 2023, "n": None},
        as_of="2023-07-31", inputs={"项目.xlsx": "a" * 64, "<evil>.csv": "b" * 64}, rules=load_rules(),
        rules_sections=["monitoring"], rendered_at="2024-01-02 03:04:05 +0800")


def test_page_makes_no_network_request(page):
    low = page.lower()
    assert render.network_references(page) == []
    for bad in ("require.js", "mathjax", "cdn.", 'src="http', "<link href=\"http", "@import"):
        assert bad not in low


def test_network_check_itself_finds_requests():
    assert render.network_references('<script src="https://cdn.x/require.js"></script>')
    assert render.network_references("<link href='//fonts.example/x.css'>")
    assert render.network_references("<style>@import url(http://x/y.css)</style>")
    assert render.network_references('<img src="data:image/png;base64,AAA">') == []
    assert render.network_references('<a href="#sec">x</a>') == []


def test_page_has_no_code_and_no_prompts(page):
    assert "secret_code_marker" not in page and "print(" not in page
    assert "In&nbsp;[" not in page and "Out[" not in page
    assert "UserWarning: noisy" not in page  # stderr is kept in the .ipynb only


def test_page_embeds_images_and_keeps_outputs(page):
    assert f"data:image/png;base64,{PNG}" in page
    assert "42" in page


def test_header_title_params_and_as_of(page):
    assert "<title>标题一</title>" in page
    assert page.count("标题一") == 3  # <title>, the header and the page footer; the notebook's own h1 is not repeated
    assert "区教体局" in page and "2023-07-31" in page and "2024-01-02 03:04:05 +0800" in page
    assert "（全部）" in page  # a parameter left open


def test_table_of_contents_links_every_section(page):
    toc = page.split('<nav class="perf-toc">')[1].split("</nav>")[0]
    assert toc.count("二、第一节") == 2 and "小节" in toc
    assert 'href="#sec-a"' in toc
    ids = [part.split('"')[0] for part in page.split(' id="')[1:]]
    assert len(ids) == len(set(ids))  # unique anchors


def test_footer_version_inputs_rules(page):
    from perflib import __version__

    footer = page.split('<footer class="perf-footer">')[1]
    assert __version__ in footer and "a" * 64 in footer and "&lt;evil&gt;.csv" in footer
    assert "monitoring.green_min_gap" in footer and "本报告适用的规则（monitoring）" in footer
    assert load_rules().sha256 in footer


def test_print_css_and_inline_table_script(page):
    assert "@page { size: A4" in page and "break-before: page" in page
    assert "perf-search" in page and "<script>" in page and "<script src" not in page


def test_failure_page_shows_cell_error_and_traceback_escaped():
    nb = new_notebook(cells=[new_code_cell("x = '<b>'\nraise ValueError(x)")])
    nb.cells[0].outputs = [new_output("error", ename="ValueError", evalue="<b>",
                                      traceback=["\x1b[31mTraceback\x1b[0m", "ValueError: <b>"])]
    html = render.render_failure(notebook="probe", params={"year": 2023}, error="单元格出错 <b>", nb=nb,
                                 rules=load_rules(), last_good="probe.html")
    assert "<b>" not in html.split("<main")[1].split("</main>")[0]
    assert "raise ValueError(x)" in html and "&lt;b&gt;" in html and "Traceback" in html
    assert "\x1b" not in html
    assert 'href="probe.html"' in html
    assert render.network_references(html) == []


def test_index_lists_reports_with_status():
    html = render.render_index([
        {"notebook": "overview", "year": 2023, "params_text": "（全区）", "status": "ok", "seconds": 3.2,
         "rendered_at": "t", "html": "2023/overview.html", "files": [("xlsx", "2023/overview.xlsx")]},
        {"notebook": "cost", "year": 2023, "params_text": "project_type=<道路>", "status": "failed",
         "seconds": 1, "rendered_at": "t", "html": "2023/cost.html", "failed_html": "2023/cost.failed.html",
         "last_good_at": "earlier"},
    ])
    assert 'href="2023/overview.html"' in html and 'href="2023/overview.xlsx"' in html
    assert 'href="2023/cost.failed.html"' in html and "上次成功的报告" in html
    assert "&lt;道路&gt;" in html and "失败 1" in html


def test_xlsx_sheets_headers_and_no_formulas():
    df = pd.DataFrame({"项目名称": ["=1+1", "http://x"], "预算数": [1.5, 2.0]})
    data = render.xlsx_bytes([("项目表", "项目", df), ("同名", "项目", df)], {"报告": "probe"})
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["说明", "项目", "项目_2"]
    rows = list(wb["项目"].values)
    assert rows[0] == ("项目名称", "预算数")
    assert rows[1] == ("=1+1", 1.5) and wb["项目"]["A2"].data_type == "s"  # text, not a formula


def test_sheet_names_are_valid_and_unique():
    names = render.sheet_names(["a/b", "x" * 40, "x" * 40, "说明"])
    assert names[0] == "a_b" and all(len(n) <= 31 for n in names) and len(set(names)) == 4


def test_report_template_is_packaged():
    for name in ("report.html.j2", "index.html.j2", "report.css", "report.js"):
        assert (Path(render.__file__).parent / "templates" / name).is_file()


def test_title_is_not_shown_twice():
    nb = new_notebook(cells=[new_markdown_cell("# 静态标题\n\n说明")])
    code = new_code_cell("x")
    code.outputs = [new_output("display_data", data={"text/html": '<h1 id="t">动态 2023 标题</h1>'})]
    nb.cells.append(code)
    nb.cells.append(new_markdown_cell("# 另一个一级标题"))
    html = render.render_report(nb, notebook="n", params={}, as_of=None, inputs={}, rules=None,
                                title="动态 2023 标题")
    assert html.count("动态 2023 标题") == 3  # <title>, the page header and the printed page footer
    assert '@bottom-left { content: "动态 2023 标题";' in html
    assert "静态标题" not in html and "另一个一级标题" in html and "说明" in html


def test_print_sections_flow_on_and_only_the_appendix_starts_a_page(page):
    css = page.split("@media print {")[1].split("\n}\n")[0]
    forced = re.findall(r"([^{}]+)\{[^}]*break-before: page", css)
    assert [s.strip() for s in forced] == [".perf-part", ".perf-footer"]
    assert re.search(r"\.perf-body h2[^{]*\{ break-before: auto", css)
    assert "thead { display: table-header-group; }" in css and "tr, img, figure { break-inside: avoid" in css
    assert 'counter(page)' in page and 'counter(pages)' in page


def test_rules_not_used_are_folded_away(page):
    footer = page.split('<footer class="perf-footer">')[1]
    used, other = footer.split("<details", 1)
    assert "monitoring.green_min_gap" in used and "grades.excellent" not in used
    assert "grades.excellent" in other and "其余规则" in other


def test_body_is_nbconvert_html_without_its_soup_pass():
    """notebook_body skips nbconvert's BeautifulSoup re-parse (seconds on a province report): the
    page must parse to the same DOM as nbconvert's own HTMLExporter gives, images included."""
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter

    nb = executed_notebook()
    nb.cells[1].outputs.append(new_output("display_data", data={
        "text/html": '<img src="data:image/png;base64,' + PNG + '"/><table><tr><td>1</td></tr></table>',
        "text/plain": "t"}))
    ours = render.notebook_body(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if o.get("name") != "stderr"]
    theirs, _ = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                             exclude_output_prompt=True, anchor_link_text="").from_notebook_node(nb)
    a, b = BeautifulSoup(ours, "html.parser"), BeautifulSoup(theirs, "html.parser")
    for img in a.select("img:not([alt])"):  # the one thing nbconvert's pass adds: alt text
        img.attrs["alt"] = "No description has been provided for this image"
    for anchor in b.select("a.anchor-link"):  # empty heading anchors are dropped (the TOC links them)
        anchor.decompose()
    assert not a.select("a.anchor-link") and "<a " not in ours
    assert str(a) == str(b)
    assert "<h1" in ours and "标题一" in ours and "&#" not in ours
    assert "secret_code_marker" not in ours


def test_body_leaves_the_executed_notebook_untouched():
    """notebook_body copies only the cell and output lists it filters; the .ipynb written next to the
    page must keep its stderr outputs."""
    import json

    nb = executed_notebook()
    before = json.dumps(nb, sort_keys=True)
    body = render.notebook_body(nb)
    assert "UserWarning: noisy" not in body
    assert json.dumps(nb, sort_keys=True) == before
    assert any(o.get("name") == "stderr" for o in nb.cells[1].outputs)


def test_page_footer_title_cannot_leave_its_css_string():
    from perflib.present.html import css_string

    hostile = '标题"; } </style><script>window.__xss=1</script>\\ 2023'
    out = str(css_string(hostile))
    assert out.startswith('"标题') and out.endswith(' 2023"')
    inner = out[1:-1]
    assert not any(c in inner for c in '"<>;{}/') and "</style>" not in out
    assert "\\00003c" in inner  # '<' as a CSS hex escape: shown as itself in the footer
    assert str(css_string("长" * 100)).count("长") == 59
