"""A report page as PDF: printed by an installed Chromium-family browser (Debian ``chromium``,
Google Chrome, Microsoft Edge) with the page's own print CSS (A4, the page footer with title and
page number: ``templates/report.css``), then given its document information (title, author,
dates, the input files' sha256) by an incremental update of the PDF, so no PDF library is needed.

The browser runs headless, offline (no host name resolves) and with a throw-away profile; the page
is self-contained (:func:`perflib.present.html.network_references`), so it fetches nothing anyway.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# names on PATH, in the order they are tried
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
                 "microsoft-edge", "msedge")
# standard install places, when none is on PATH (Windows: under each Program Files folder)
WINDOWS_PLACES = (r"Google\Chrome\Application\chrome.exe", r"Microsoft\Edge\Application\msedge.exe",
                  r"Chromium\Application\chrome.exe")
MACOS_PLACES = ("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
                "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
                "/Applications/Chromium.app/Contents/MacOS/Chromium")
LINUX_PLACES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/snap/bin/chromium",
                "/opt/google/chrome/chrome", "/opt/microsoft/msedge/msedge")
BROWSER_ENV = "PERFLIB_BROWSER"  # a browser executable to use instead of searching
PRINT_TIMEOUT = 180  # seconds one page may take to print (a province report's tables: tens of pages)


class PdfError(RuntimeError):
    """Printing or annotating a PDF failed (the message is Chinese and names the browser)."""


def find_browser() -> str | None:
    """The executable of a Chromium-family browser: ``$PERFLIB_BROWSER``, else the first of
    :data:`BROWSER_NAMES` on PATH, else a standard install place; None when there is none."""
    forced = os.environ.get(BROWSER_ENV)
    if forced:
        return forced if Path(forced).is_file() else shutil.which(forced)
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    for place in standard_places():
        if place.is_file():
            return str(place)
    return None


def standard_places() -> list[Path]:
    """Where Chrome, Edge and Chromium install themselves on this operating system."""
    if sys.platform.startswith("win"):
        roots = [os.environ.get(v) for v in ("ProgramFiles", "ProgramFiles(x86)", "LOCALAPPDATA")]
        roots += [r"C:\Program Files", r"C:\Program Files (x86)"]
        seen: list[Path] = []
        for root in filter(None, roots):
            for rel in WINDOWS_PLACES:
                p = Path(root) / rel
                if p not in seen:
                    seen.append(p)
        return seen
    if sys.platform == "darwin":
        home = Path.home()
        return [Path(p) for p in MACOS_PLACES] + [home / p.lstrip("/") for p in MACOS_PLACES]
    return [Path(p) for p in LINUX_PLACES]


def browser_command(browser: str, page: Path, target: Path, profile: Path) -> list[str]:
    """The headless print command: A4 and margins from the page's ``@page`` rule, no browser-made
    header or footer (the page has its own), no network, a throw-away profile."""
    cmd = [browser, "--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
           "--disable-extensions", "--disable-background-networking", "--disable-component-update",
           "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}",
           "--no-pdf-header-footer", f"--print-to-pdf={target}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--no-sandbox")  # Chromium refuses to start as root with its sandbox
    return cmd + [page.resolve().as_uri()]


def print_pdf(page_html: bytes, browser: str, timeout: int = PRINT_TIMEOUT) -> bytes:
    """The PDF of an HTML page as ``browser`` prints it; :class:`PdfError` when it does not."""
    with tempfile.TemporaryDirectory(prefix="perflib-pdf-") as tmp:
        page, target = Path(tmp) / "page.html", Path(tmp) / "page.pdf"
        page.write_bytes(page_html)
        try:
            proc = subprocess.run(browser_command(browser, page, target, Path(tmp) / "profile"),
                                  capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise PdfError(f"浏览器 {browser} 打印 PDF 超过 {timeout} 秒未完成") from None
        except OSError as exc:
            raise PdfError(f"无法启动浏览器 {browser}：{exc}") from None
        data = target.read_bytes() if target.is_file() else b""
        if not data.startswith(b"%PDF-"):
            tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise PdfError(f"浏览器 {browser} 未能打印 PDF（退出码 {proc.returncode}）：" + " / ".join(tail))
        return data


# --- document information ---------------------------------------------------------------------------
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
_TRAILER = re.compile(rb"trailer\s*<<(.*?)>>\s*startxref", re.S)


def pdf_text(text: str) -> bytes:
    """A PDF text string: UTF-16BE with its byte-order mark, as hex (any character, no escaping)."""
    return b"<FEFF" + str(text).encode("utf-16-be").hex().upper().encode("ascii") + b">"


def pdf_date(rendered_at: str) -> str | None:
    """``2024-03-01 10:00:00 +0800`` (a report's 生成时间) as a PDF date ``D:20240301100000+08'00'``."""
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)\s*([+-])(\d\d):?(\d\d)", rendered_at.strip())
    if not m:
        return None
    y, mo, d, h, mi, s, sign, zh, zm = m.groups()
    return f"D:{y}{mo}{d}{h}{mi}{s}{sign}{zh}'{zm}'"


def with_info(pdf: bytes, info: dict[str, str]) -> bytes:
    """``pdf`` with a new document information dictionary (``/Title``, ``/Author``, …: text; keys
    ending in ``Date`` are PDF dates) appended as an incremental update: the printed bytes are kept
    as they are, a new object, cross-reference section and trailer follow (ISO 32000-1, 7.5.6)."""
    end = _STARTXREF.search(pdf[-1024:])
    trailers = list(_TRAILER.finditer(pdf))
    if end is None or not trailers:
        raise PdfError("PDF 的结构无法识别（没有 trailer 或 startxref），未能写入文档信息")
    trailer = trailers[-1].group(1)
    size = re.search(rb"/Size\s+(\d+)", trailer)
    root = re.search(rb"/Root\s+(\d+\s+\d+\s+R)", trailer)
    if size is None or root is None:
        raise PdfError("PDF 的 trailer 缺少 /Size 或 /Root，未能写入文档信息")
    number = int(size.group(1))
    ident = re.search(rb"/ID\s*\[[^\]]*\]", trailer)
    entries = []
    for key, value in info.items():
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key):
            raise ValueError(f"not a PDF name: {key!r}")
        text = value.encode("ascii") if key.endswith("Date") else pdf_text(value)
        entries.append(b"/" + key.encode("ascii") + b" " + (b"(" + text + b")" if key.endswith("Date") else text))
    head = pdf if pdf.endswith(b"\n") else pdf + b"\n"
    obj_at = len(head)
    obj = b"%d 0 obj\n<<" % number + b"\n".join(entries) + b">>\nendobj\n"
    xref_at = obj_at + len(obj)
    xref = b"xref\n%d 1\n%010d 00000 n \n" % (number, obj_at)
    tail = (b"trailer\n<</Size %d /Root " % (number + 1) + root.group(1) + b" /Info %d 0 R" % number
            + b" /Prev " + end.group(1) + ((b" " + ident.group(0)) if ident else b"") + b">>\n"
            + b"startxref\n%d\n%%%%EOF\n" % xref_at)
    return head + obj + xref + tail
