"""The shipped Word template of perflib's documents (``templates/gongwen.docx``): 公文 layout after
GB/T 9704-2012, built by this script so that every setting is written down and reviewable.

A4; margins 37 / 35 / 28 / 26 mm (top / bottom / left / right, the standard's 版心 156 × 225 mm);
lines fixed at 28.95 pt on a line grid (22 lines), 3号 characters condensed to 28 a line; page numbers 「— 1 —」
in 宋体 4号 at the foot (odd pages right, even pages left, one character in, as 7.5 of the standard).
Styles the bureau can restyle in Word: 公文标题 (方正小标宋简体 2号, centred), 公文正文 (仿宋_GB2312
3号, first line indented two characters), 一级标题 (黑体 3号), 二级标题 (楷体_GB2312 3号), 表格
(仿宋_GB2312 5号, single spacing, off the grid), 表格标题, 落款, 页码. Each font is named for east-Asian text
(``w:eastAsia``) and the font table names a fallback (``w:altName``) for PCs without the 公文 fonts.

Run ``python -m perflib.present.docx_template`` to rewrite the shipped file after changing this script.
"""
from __future__ import annotations

import io
from pathlib import Path

TEMPLATE = Path(__file__).with_name("templates") / "gongwen.docx"

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEADING1_FONT = "黑体"
HEADING2_FONT = "楷体_GB2312"
PAGE_FONT = "宋体"
LATIN_FONT = "Times New Roman"

# font → the fallback named in the font table (w:altName), for machines without the font
FALLBACKS = {
    TITLE_FONT: "宋体",
    BODY_FONT: "仿宋",
    HEADING1_FONT: "SimHei",
    HEADING2_FONT: "楷体",
    PAGE_FONT: "SimSun",
    "仿宋": "FangSong",
    "楷体": "KaiTi",
    "SimHei": "Noto Sans CJK SC",
    "SimSun": "Noto Serif CJK SC",
    "FangSong": "Noto Serif CJK SC",
    "KaiTi": "Noto Serif CJK SC",
}

LINE_PT = 28.95  # 22 lines in the 225 mm 版心
CHARS_PER_LINE = 28
BODY_PT = 16  # 3号
TITLE_PT = 22  # 2号
TABLE_PT = 10.5  # 5号
PAGE_PT = 14  # 4号
MARGINS_MM = {"top": 37, "bottom": 35, "left": 28, "right": 26}

# (style name, font, size pt, alignment, first-line indent in characters, bold)
PARAGRAPH_STYLES = (
    ("公文标题", TITLE_FONT, TITLE_PT, "center", 0, False),
    ("公文正文", BODY_FONT, BODY_PT, "justify", 2, False),
    ("一级标题", HEADING1_FONT, BODY_PT, "justify", 2, False),
    ("二级标题", HEADING2_FONT, BODY_PT, "justify", 2, False),
    ("表格标题", HEADING1_FONT, TABLE_PT, "center", 0, False),
    ("表格", BODY_FONT, TABLE_PT, "center", 0, False),
    ("落款", BODY_FONT, BODY_PT, "right", 0, False),
    ("页码", PAGE_FONT, PAGE_PT, "right", 0, False),
)


def set_run_fonts(rpr, font: str, latin: str = LATIN_FONT) -> None:
    """Name ``font`` for east-Asian text and ``latin`` for the rest on a ``w:rPr`` element."""
    from docx.oxml.ns import qn

    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, fonts)
    for attr, name in (("w:ascii", latin), ("w:hAnsi", latin), ("w:eastAsia", font), ("w:cs", latin)):
        fonts.set(qn(attr), name)
    fonts.set(qn("w:hint"), "eastAsia")


def _style(doc, name: str, font: str, size: float, align: str, indent_chars: int, bold: bool) -> None:
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_LINE_SPACING, WD_PARAGRAPH_ALIGNMENT
    from docx.shared import Pt

    styles = doc.styles
    style = styles[name] if name in [s.name for s in styles] else styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = None
    style.quick_style = True
    style.font.size = Pt(size)
    style.font.bold = bold
    set_run_fonts(style.element.get_or_add_rPr(), font)
    pf = style.paragraph_format
    pf.alignment = {"center": WD_PARAGRAPH_ALIGNMENT.CENTER, "justify": WD_PARAGRAPH_ALIGNMENT.JUSTIFY,
                    "right": WD_PARAGRAPH_ALIGNMENT.RIGHT, "left": WD_PARAGRAPH_ALIGNMENT.LEFT}[align]
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)
    if name in ("表格", "表格标题"):
        pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
    else:
        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        pf.line_spacing = Pt(LINE_PT)
    if size == BODY_PT:
        from docx.oxml.ns import qn

        rpr = style.element.get_or_add_rPr()
        rpr.append(rpr.makeelement(qn("w:spacing"), {qn("w:val"): str(char_spacing_twips())}))
    pf.first_line_indent = Pt((size + char_spacing_twips() / 20) * indent_chars) if indent_chars else Pt(0)
    pf.widow_control = False
    if name in ("一级标题", "二级标题", "表格标题"):
        pf.keep_with_next = True
    if name in ("公文标题", "表格", "表格标题", "落款", "页码"):  # their own size: not on the 16 pt grid
        from docx.oxml.ns import qn

        ppr = style.element.get_or_add_pPr()
        snap = ppr.makeelement(qn("w:snapToGrid"), {qn("w:val"): "0"})
        ppr.insert(0, snap)


def _page(doc) -> None:
    """A4, the 公文 margins, the 22 × 28 document grid."""
    from docx.oxml.ns import qn
    from docx.shared import Mm

    sec = doc.sections[0]
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.top_margin, sec.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
    sec.left_margin, sec.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
    sec.header_distance, sec.footer_distance = Mm(15), Mm(28 - 7)  # page number 7 mm below the 版心
    sect_pr = sec._sectPr
    grid = sect_pr.find(qn("w:docGrid"))
    if grid is None:
        grid = sect_pr.makeelement(qn("w:docGrid"), {})
        sect_pr.append(grid)
    grid.set(qn("w:type"), "lines")  # a line grid only: characters are fitted by their spacing
    grid.set(qn("w:linePitch"), str(round(LINE_PT * 20)))
    for attr in ("w:charSpace",):
        grid.attrib.pop(qn(attr), None)


def char_spacing_twips() -> int:
    """Spacing added after each 3号 character (twentieths of a point, negative: condensed) so that
    28 of them fill the 156 mm line, as a character grid would (GB/T 9704: 28 characters a line)."""
    import math

    width_pt = (210 - MARGINS_MM["left"] - MARGINS_MM["right"]) / 25.4 * 72
    return math.floor((width_pt / CHARS_PER_LINE - BODY_PT) * 20)


def _page_number(footer, align: str) -> None:
    """「— N —」 with a PAGE field, in the 页码 style, one character in from the edge."""
    from docx.enum.text import WD_PARAGRAPH_ALIGNMENT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    p = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
    p.style = footer.part.document.styles["页码"] if hasattr(footer.part, "document") else "页码"
    p.alignment = WD_PARAGRAPH_ALIGNMENT.RIGHT if align == "right" else WD_PARAGRAPH_ALIGNMENT.LEFT
    if align == "right":
        p.paragraph_format.right_indent = Pt(PAGE_PT)
    else:
        p.paragraph_format.left_indent = Pt(PAGE_PT)

    def run(text: str | None = None, fld: str | None = None, instr: str | None = None):
        r = p.add_run(text or "")
        set_run_fonts(r._r.get_or_add_rPr(), PAGE_FONT)
        if fld:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), fld)
            r._r.append(el)
        if instr:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = instr
            r._r.append(el)

    run("— ")
    run(fld="begin")
    run(instr=" PAGE ")
    run(fld="separate")
    run("1")
    run(fld="end")
    run(" —")


def font_table_xml(fonts: dict[str, str]) -> bytes:
    """``word/fontTable.xml`` naming each font with its fallback (``w:altName``), GB2312 charset."""
    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    rows = []
    for name, alt in fonts.items():
        cjk = any("\u4e00" <= ch <= "\u9fff" for ch in name) or "CJK" in name or name in (
            "SimHei", "SimSun", "FangSong", "KaiTi")
        charset = '<w:charset w:val="86"/>' if cjk else ""
        family = "swiss" if name in (HEADING1_FONT, "SimHei") or "Sans" in name else "roman"
        rows.append(f'<w:font w:name="{name}"><w:altName w:val="{alt}"/>{charset}'
                    f'<w:family w:val="{family}"/><w:pitch w:val="variable"/></w:font>')
    rows.append(f'<w:font w:name="{LATIN_FONT}"><w:family w:val="roman"/><w:pitch w:val="variable"/></w:font>')
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:fonts xmlns:w="{ns}">'
            + "".join(rows) + "</w:fonts>").encode("utf-8")


def replace_font_table(doc) -> None:
    """Put :func:`font_table_xml` in place of the document's font table."""
    for part in doc.part.package.iter_parts():
        if str(part.partname) == "/word/fontTable.xml":
            data = font_table_xml(FALLBACKS)
            if hasattr(part, "_element"):
                from docx.oxml import parse_xml

                part._element = parse_xml(data)
            else:
                part._blob = data
            return


def build_template() -> bytes:
    """The default template: page set-up, styles, page-number footers, font table; no content."""
    import docx
    from docx.shared import Pt

    doc = docx.Document()
    body = doc.element.body
    for p in list(body.iterchildren()):
        if not p.tag.endswith("sectPr"):
            body.remove(p)
    for spec in PARAGRAPH_STYLES:
        _style(doc, *spec)
    normal = doc.styles["Normal"]
    normal.font.size = Pt(BODY_PT)  # the grid's character pitch is counted from this size
    set_run_fonts(normal.element.get_or_add_rPr(), BODY_FONT)
    _page(doc)
    doc.settings.odd_and_even_pages_header_footer = True
    sec = doc.sections[0]
    _page_number(sec.footer, "right")
    _page_number(sec.even_page_footer, "left")
    replace_font_table(doc)
    doc.core_properties.title = ""
    doc.core_properties.author = "perflib"
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def main() -> None:
    TEMPLATE.parent.mkdir(parents=True, exist_ok=True)
    TEMPLATE.write_bytes(build_template())
    print(TEMPLATE)


if __name__ == "__main__":
    main()
