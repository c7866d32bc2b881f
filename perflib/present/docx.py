"""Word documents in 公文 layout (GB/T 9704) from a template: the yearly 情况说明 and the notices.

The layout lives in the template's styles (:mod:`perflib.present.docx_template` builds the shipped
one; rules ``report.docx_template`` names the bureau's own, restyled in Word): this module only picks
styles by name (公文标题, 公文正文, 一级标题, 二级标题, 表格标题, 表格, 落款) and names the east-Asian
font on every run as well (``w:eastAsia``), so that a template without the fonts still shows them.
Tables are Word tables with cells formatted as the report's tables are (:mod:`perflib.present.tables`).
"""
from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from . import tables
from .scopes import DOCUMENT_SOURCES, PAGE_SOURCES
from .docx_template import (BODY_FONT, HEADING1_FONT, HEADING2_FONT, TEMPLATE, TITLE_FONT, set_run_fonts)

STYLE_FONTS = {"公文标题": TITLE_FONT, "公文正文": BODY_FONT, "一级标题": HEADING1_FONT,
               "二级标题": HEADING2_FONT, "表格标题": HEADING1_FONT, "表格": BODY_FONT, "落款": BODY_FONT}
PLACEHOLDER = "【请在此填写{what}的内容（本节不在预算管理系统导出数据的范围内，由业务科室撰写）】"
NUMERALS = "一二三四五六七八九十"


def template_path(rules=None) -> Path:
    """The template to use: rules ``report.docx_template`` (a path; empty → the shipped default)."""
    value = ""
    if rules is not None:
        try:
            value = rules.value("report.docx_template") or ""
        except KeyError:
            value = ""
    return Path(str(value)).expanduser() if str(value).strip() else TEMPLATE


_STYLE_IDS: dict[tuple, str | None] = {}  # (template path, mtime, size, style name) -> style id


class Document:
    """A document being written on a template: paragraphs by style name, Word tables, bytes."""

    def __init__(self, template: str | Path | None = None, *, title: str = "", author: str = ""):
        import docx

        path = Path(template) if template else TEMPLATE
        try:
            self.doc = docx.Document(str(path))
        except Exception as exc:  # noqa: BLE001 - a bureau's template that Word cannot open either
            from ..exceptions import ParameterError

            raise ParameterError(f"Word 模板「{path}」无法打开（{type(exc).__name__}）：请检查规则文件 "
                                 "report.docx_template 指向的 .docx 文件") from exc
        body = self.doc.element.body
        for child in list(body.iterchildren()):  # a template's sample text is not ours to keep
            if not child.tag.endswith("sectPr"):
                body.remove(child)
        props = self.doc.core_properties
        props.title, props.author = title, author
        props.created = props.modified = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
        props.last_modified_by = author
        stat = path.stat()
        self._template = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)

    def paragraph(self, text: str, style: str = "公文正文"):
        """One paragraph in ``style``, its east-Asian font named; the text as it is (names from the
        data keep every character, markdown signs included)."""
        p = self.doc.add_paragraph()
        p._p.style = self._style_id(style)
        run = p.add_run(str(text))
        set_run_fonts(run._r.get_or_add_rPr(), STYLE_FONTS.get(style, BODY_FONT))
        return p

    def paragraphs(self, text: str, style: str = "公文正文") -> None:
        """Each blank-line-separated block of ``text`` as a paragraph."""
        for block in re.split(r"\n\s*\n", str(text).strip()):
            block = " ".join(line.strip() for line in block.splitlines() if line.strip())
            if block:
                self.paragraph(block, style)

    def table(self, frame: pd.DataFrame, title: str | None = None) -> None:
        """``frame`` (a laid-out report table: Chinese headers, kinds in ``attrs``) as a Word table,
        cells formatted as the report shows them, the header row repeated on every page."""
        from docx.enum.text import WD_PARAGRAPH_ALIGNMENT
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        if title:
            self.paragraph(title, "表格标题")
        kinds = tables.kinds_of(frame)
        t = self.doc.add_table(rows=1, cols=len(frame.columns))
        if "Table Grid" in [s.name for s in self.doc.styles]:
            t.style = self.doc.styles["Table Grid"]
        else:
            _borders(t)
        for cell, header in zip(t.rows[0].cells, frame.columns):
            self._cell(cell, str(header), bold=True)
        tr_pr = t.rows[0]._tr.get_or_add_trPr()
        tr_pr.append(OxmlElement("w:tblHeader"))
        numeric = [getattr(k, "numeric", False) for k in kinds]
        texts = [[tables.cell_text(v, kinds[j])[0] if j < len(kinds) else str(v) for j, v in enumerate(row)]
                 for row in frame.itertuples(index=False)]
        for row in texts:
            cells = t.add_row().cells
            for j, (cell, text) in enumerate(zip(cells, row)):
                p = self._cell(cell, text)
                p.alignment = WD_PARAGRAPH_ALIGNMENT.RIGHT if numeric[j] else WD_PARAGRAPH_ALIGNMENT.LEFT
        self._widths(t, [str(h) for h in frame.columns], texts)
        tbl_pr = t._tbl.tblPr
        for el in tbl_pr.findall(qn("w:tblW")):
            tbl_pr.remove(el)
        tbl_pr.append(tbl_pr.makeelement(qn("w:tblW"), {qn("w:w"): "5000", qn("w:type"): "pct"}))
        tbl_pr.append(tbl_pr.makeelement(qn("w:tblLayout"), {qn("w:type"): "fixed"}))
        margins = tbl_pr.makeelement(qn("w:tblCellMar"), {})
        for side in ("left", "right"):  # 2 pt inside each cell edge, not Word's 5.4 pt
            margins.append(margins.makeelement(qn(f"w:{side}"), {qn("w:w"): "40", qn("w:type"): "dxa"}))
        tbl_pr.append(margins)
        self.paragraph("", "公文正文")

    def _widths(self, t, headers: list[str], rows: list[list[str]]) -> None:
        """Column widths in proportion to their longest cell (a header may wrap to three lines), over
        the text width of the page: a wide table stays readable without Word's own autofit."""
        from docx.shared import Emu

        sec = self.doc.sections[-1]
        total = sec.page_width - sec.left_margin - sec.right_margin
        need = []
        for j, h in enumerate(headers):
            longest = max([_text_width(r[j]) for r in rows if j < len(r)] + [0])
            need.append(max(min(longest, 12.0), _text_width(h) / 3, 2.0) + 0.4)
        widths = [Emu(int(total * n / sum(need))) for n in need]
        for col, width in zip(t.columns, widths):
            col.width = width  # the table grid (what LibreOffice lays out by)
        for tr in t._tbl.tr_lst:  # and every cell, row by row (a column's cells walk the whole table)
            for tc, width in zip(tr.tc_lst, widths):
                tc.width = width

    def _cell(self, cell, text: str, bold: bool = False):
        p = cell.paragraphs[0]
        p._p.style = self._style_id("表格")
        run = p.add_run(text)
        run.bold = bold or None
        set_run_fonts(run._r.get_or_add_rPr(), STYLE_FONTS["表格"])
        return p

    def _style_id(self, name: str) -> str | None:
        """The id ``paragraph.style = name`` would write (None for the template's default paragraph
        style), looked up once per name and template file: python-docx searches every style of the
        template for the default on each assignment (0.3 s per notice with a 50-row table; 1 ms a
        lookup, six per document, for each of a district's ~70 notices)."""
        key = (*self._template, name)
        if key not in _STYLE_IDS:
            from docx.enum.style import WD_STYLE_TYPE

            _STYLE_IDS[key] = self.doc.part.get_style_id(self._style(name), WD_STYLE_TYPE.PARAGRAPH)
        return _STYLE_IDS[key]

    def _style(self, name: str):
        try:
            return self.doc.styles[name]
        except KeyError:
            from ..exceptions import ParameterError

            raise ParameterError(f"Word 模板缺少样式「{name}」：公文模板应有样式 "
                                 f"{'、'.join(STYLE_FONTS)}（可在 Word 中新建同名样式）") from None

    def bytes(self) -> bytes:
        buf = io.BytesIO()
        self.doc.save(buf)
        return buf.getvalue()


def _text_width(text: str) -> float:
    """Width of ``text`` in full-width characters (a Latin letter or digit counts as half)."""
    return sum(0.55 if ord(ch) < 0x2E80 else 1.0 for ch in str(text))


def _borders(table) -> None:
    """Single borders on every cell edge (for a template without the Table Grid style)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        for k, v in (("w:val", "single"), ("w:sz", "4"), ("w:space", "0"), ("w:color", "000000")):
            el.set(qn(k), v)
        borders.append(el)
    table._tbl.tblPr.append(borders)


def document_text(data: bytes) -> str:
    """The text of a .docx (paragraphs and table cells, in order), for tests and checks."""
    import docx

    d = docx.Document(io.BytesIO(data))
    out = []
    for block in d.element.body.iterchildren():
        if block.tag.endswith("}p") or block.tag.endswith("}tbl"):
            for t in block.iter():
                if t.tag.endswith("}t") and t.text:
                    out.append(t.text)
            out.append("\n")
    return "".join(out)


def chinese_date(day: dt.date) -> str:
    """A date as 公文 write it: 2024年3月5日 (Arabic numerals, no leading zeros, GB/T 9704 7.3.5.3)."""
    return f"{day.year}年{day.month}月{day.day}日"


def sign_off(doc: Document, issuer: str, day: dt.date) -> None:
    """The issuer and the date under the body (落款)."""
    doc.paragraph("", "公文正文")
    doc.paragraph(issuer, "落款")
    doc.paragraph(chinese_date(day), "落款")


# --- the yearly 情况说明 ---------------------------------------------------------------------------
BUREAU_SECTIONS = {"1": "一、制度体系建设", "8": "八、宣传与绩效信息公开"}
SECTION_KEYS = {"一": "1", "八": "8", "1": "1", "8": "8"}


def read_bureau_text(path: str | Path) -> str:
    """The text a bureau wrote for a section (UTF-8 or GB18030 markdown / plain text)."""
    from ..exceptions import ParameterError

    p = Path(path).expanduser()
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ParameterError(f"找不到情况说明的文字文件「{p}」（--text 或规则 report.docx_sections）：{exc.strerror}") from None
    if p.name == "disclosure.json":  # perflib publish's record: section 八 cites the package's count
        return disclosure_text(raw, p)
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ParameterError(f"情况说明的文字文件「{p}」既不是 UTF-8 也不是 GBK/GB18030 编码的文本")


def disclosure_text(raw: bytes, path: Path) -> str:
    """Section 八's paragraph from a ``disclosure.json`` that ``perflib publish`` wrote: the
    package's date, year and 「公开绩效信息 N 条」 (fact ``disclosure.items``) with its breakdown."""
    import json

    from ..exceptions import ParameterError

    try:
        doc = json.loads(raw.decode("utf-8"))
        n, year, day, sentence = (doc["facts"]["disclosure.items"], doc["year"], doc["published_at"][:10],
                                  doc["sentence"])
    except (ValueError, KeyError, TypeError):
        raise ParameterError(f"「{path}」不是 perflib publish 写出的 disclosure.json（缺少条数或年度）") from None
    y, m, d = (int(x) for x in day.split("-"))
    if f"公开绩效信息 {n} 条" not in sentence:
        raise ParameterError(f"「{path}」的条数与说明不一致，请重新运行 perflib publish")
    return f"{y}年{m}月{d}日，整理{year}年度绩效信息公开材料（绩效目标、绩效自评、重点评价结果），{sentence}"


def bureau_sections(texts: dict[str, str] | None) -> dict[str, str]:
    """{"1"/"8": text} from {section (一/八/1/8): text}; other keys refused (ParameterError)."""
    from ..exceptions import ParameterError

    out = {}
    for k, v in (texts or {}).items():
        key = SECTION_KEYS.get(str(k).strip().rstrip("、"))
        if key is None:
            raise ParameterError(f"--text {k}=…：只有第一节（一）和第八节（八）由业务科室撰写，"
                                 "第二至七节由数据生成")
        out[key] = v
    return out


def overview_document(outline: dict[str, Any], tables_by_index: dict[int, pd.DataFrame], *,
                      texts: dict[str, str] | None = None, template: str | Path | None = None,
                      issuer: str = "", day: dt.date | None = None) -> bytes:
    """The 情况说明 as a .docx: ``outline`` is what the overview notebook recorded (``title``,
    ``intro`` paragraphs, ``sections``: key, heading, text, table indices), ``tables_by_index`` the
    recorded tables, ``texts`` the bureau's own sections 一 and 八 ({"1"/"8": text}); a section
    without text gets the placeholder paragraph."""
    texts = texts or {}
    doc = Document(template, title=outline.get("title", ""), author=issuer)
    doc.paragraph(outline.get("title", ""), "公文标题")
    doc.paragraph("", "公文正文")
    for t in outline.get("intro", []):  # the page's blocks it points to are not in the document
        doc.paragraphs(t.replace(PAGE_SOURCES, DOCUMENT_SOURCES))
    sections = list(outline.get("sections", []))
    drafted = [("1", BUREAU_SECTIONS["1"], None)] + [(s["key"], s["heading"], s) for s in sections] + [
        ("8", BUREAU_SECTIONS["8"], None)]
    for key, heading, sec in drafted:
        doc.paragraph(heading, "一级标题")
        if sec is None:
            text = texts.get(key, "").strip()
            if text:
                _bureau_text(doc, text)
            else:
                doc.paragraph(PLACEHOLDER.format(what=heading.split("、", 1)[-1]))
            continue
        doc.paragraphs(sec["text"])
        for i, title in sec.get("tables", []):
            if i in tables_by_index:
                doc.table(tables_by_index[i], title)
    sign_off(doc, issuer, day or dt.date.today())
    return doc.bytes()


def _bureau_text(doc: Document, text: str) -> None:
    """A bureau's markdown: ``#`` lines become 二级标题 (the heading of section 一 or 八 is ours),
    other blocks 公文正文."""
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
        if not lines:
            continue
        if lines[0].startswith("#"):
            doc.paragraph(lines[0].lstrip("#").strip(), "二级标题")
            lines = lines[1:]
        if lines:
            doc.paragraphs("\n".join(lines))


def tables_from_artifacts(recorded: Iterable[tuple[str, str, pd.DataFrame, int]]) -> dict[int, pd.DataFrame]:
    """{index from 1: frame} of the tables a notebook recorded, as :class:`~perflib.present.notebook.Report`
    numbers them (``table_001.pkl`` is 1)."""
    return {i: frame for i, (_, _, frame, _) in enumerate(recorded, start=1)}
