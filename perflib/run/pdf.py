"""``perflib run --pdf`` (or the rules' ``report.pdf: true``): each report also as
``<name>.pdf``, printed from its page by a Chromium-family browser (:mod:`perflib.present.pdf`),
published in the report's unit with its other files and scanned by the same leak guard.

Without a browser the run says so in one line and renders everything else (exit code unchanged).
"""
from __future__ import annotations

import logging
from pathlib import Path

from .. import __version__
from ..present.pdf import PdfError, find_browser, pdf_date, print_pdf, with_info
from .plan import Job, params_text

log = logging.getLogger("perflib.runner")
NO_BROWSER = ("未找到可打印 PDF 的浏览器（chromium、Google Chrome 或 Microsoft Edge，也可用环境变量 "
              "PERFLIB_BROWSER 指定），本次不生成 PDF，其余文件照常生成")
PDF = ".pdf"


def pdf_request(wanted: bool | None, rules, db: Path) -> dict | None:
    """What each job needs to print its PDF ({"browser", "author"}), or None: not asked (``wanted``
    None: the rules' ``report.pdf`` decides) or no browser found (logged in one line)."""
    if wanted is None:
        wanted = bool(rules.value("report.pdf"))
    if not wanted:
        return None
    browser = find_browser()
    if browser is None:
        log.warning(NO_BROWSER)
        return None
    return {"browser": browser, "author": bureau(rules, db)}


def bureau(rules, db: Path) -> str:
    """The PDF's author: the bureau as the reports name it (rules ``report.bureau``, else the
    district's 财政局, else 本区财政局: :func:`perflib.present.names.bureau_name`)."""
    from ..present.names import bureau_name
    from ..store import Store

    try:
        store = Store(db, redact=True)
    except Exception:  # noqa: BLE001 - planning has opened it already; the name then comes from the rules
        return bureau_name_without_store(rules)
    try:
        return bureau_name(store, rules)
    finally:
        store.close()


def bureau_name_without_store(rules) -> str:
    from ..present.names import DISTRICT_FALLBACK, BUREAU_SUFFIX

    for key in ("report.bureau", "report.district"):
        value = str(rules.value(key) or "").strip()
        if value:
            return value if key == "report.bureau" else value + BUREAU_SUFFIX
    return DISTRICT_FALLBACK + BUREAU_SUFFIX


def document_info(job: Job, *, title: str, rendered_at: str, rules_sha256: str) -> dict[str, str]:
    """The PDF's document information: title, author, subject, the input files' sha256, dates."""
    inputs = "；".join(f"{name}={digest}" for name, digest in sorted(job.inputs.items()))
    what = params_text(job.display)
    info = {
        "Title": title,
        "Author": job.pdf["author"],
        "Subject": f"预算绩效报告 {job.notebook}，{job.year} 年，{what}，生成时间 {rendered_at}",
        "Keywords": f"输入文件 sha256：{inputs or '（无导入记录）'}；规则 sha256：{rules_sha256}",
        "Creator": f"perflib {__version__}",
        "Producer": f"perflib {__version__}（{Path(job.pdf['browser']).name} 打印）",
        "PerflibInputs": inputs,
        "PerflibRulesSha256": rules_sha256,
    }
    date = pdf_date(rendered_at)
    if date:
        info.update(CreationDate=date, ModDate=date)
    return info


def add_pdf(job: Job, outputs: dict[str, bytes], *, title: str, rendered_at: str, rules) -> dict[str, bytes]:
    """Print the report's page to ``outputs[".pdf"]`` when the job asks for it; returns what the leak
    scan reads besides the outputs (the document information as text: in the PDF it is UTF-16).
    A browser that fails leaves the report without its PDF (logged in Chinese); the next run with
    ``--pdf`` prints it again (:func:`perflib.run.publish.cached_result`)."""
    if not job.pdf:
        return {}
    info = document_info(job, title=title, rendered_at=rendered_at, rules_sha256=rules.sha256)
    try:
        outputs[PDF] = with_info(print_pdf(outputs[".html"], job.pdf["browser"]), info)
    except PdfError as exc:
        log.warning("%s：PDF 未能生成（%s），其余文件照常发布", job.stem, exc)
        return {}
    return {".pdf 文档信息": "\n".join(info.values()).encode("utf-8")}
