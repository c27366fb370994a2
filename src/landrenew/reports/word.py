"""A briefing as a Word file, laid out the way Chinese government documents are (GB/T 9704-2012):
A4, 3.7/3.5/2.8/2.6 cm margins, a 22 pt 小标宋 title, 16 pt 仿宋 body on a fixed 28.95 pt line,
黑体/楷体 headings and a ``— 1 —`` page number.

All formatting lives in named styles (Title, Subtitle, Heading 1/2, Body Text, Table Caption,
Table Text, Table Heading, Table Note, Figure, Figure Caption, Note, Footer, Footer Text) so an
analyst can restyle the whole file in Word; runs carry no direct formatting except bold in totals
rows. Every style names its East Asian font (``w:rFonts/@w:eastAsia``) — python-docx's
``font.name`` sets only the Latin one.
"""

from __future__ import annotations

import copy
import io
import re
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from docx import Document as new_docx
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_LINE_SPACING
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Pt, Twips

from .document import (
    MARGINS_CM,
    PAGE_CM,
    TEXT_WIDTH_CM,
    Document,
    Figure,
    Heading,
    PageBreak,
    Paragraph,
    Table,
)

__all__ = ["write_docx"]

_PAGE_W, _PAGE_H = Cm(PAGE_CM[0]), Cm(PAGE_CM[1])
_MARGINS = {k: Cm(v) for k, v in MARGINS_CM.items()}
_TEXT_W_CM = TEXT_WIDTH_CM
_LINE = Twips(579)  # 28.95 pt: 22 lines on the 22.5 cm type area of GB/T 9704
_ALIGN = {"l": "left", "r": "right", "c": "center"}
_COMPACT_HALF_PT = 18  # 9 pt: wide tables (Table.compact), as in the PDF
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass(frozen=True)
class _Spec:
    """One paragraph style: fonts, size, weight, alignment, indent and spacing."""

    latin: str
    east: str
    size: float
    bold: bool = False
    italic: bool = False
    align: WD_ALIGN_PARAGRAPH | None = None
    indent_chars: int = 0
    line: Twips | float | None = None  # Twips: exact; float: multiple; None: single
    before: float = 0
    after: float = 0
    keep_next: bool = False


def _specs(lang: str) -> dict[str, _Spec]:
    """The style sheet: GB/T 9704 for Chinese, a plain report look for English."""
    J, C = WD_ALIGN_PARAGRAPH.JUSTIFY, WD_ALIGN_PARAGRAPH.CENTER
    L = WD_ALIGN_PARAGRAPH.LEFT
    if lang.startswith("zh"):
        tnr = "Times New Roman"
        return {
            "Normal": _Spec(tnr, "仿宋_GB2312", 16, align=J, line=_LINE),
            "Title": _Spec(tnr, "方正小标宋简体", 22, bold=True, align=C, line=Twips(760), after=14),
            "Subtitle": _Spec(tnr, "楷体_GB2312", 16, align=C, line=_LINE, after=14),
            "Heading 1": _Spec(tnr, "黑体", 16, align=J, indent_chars=2, line=_LINE, keep_next=True),
            "Heading 2": _Spec(tnr, "楷体_GB2312", 16, bold=True, align=J, indent_chars=2, line=_LINE,
                               keep_next=True),
            "Body Text": _Spec(tnr, "仿宋_GB2312", 16, align=J, indent_chars=2, line=_LINE),
            "Note": _Spec(tnr, "仿宋_GB2312", 12, align=J, indent_chars=2, after=3),
            "Table Caption": _Spec(tnr, "宋体", 12, bold=True, align=C, before=10, after=4,
                                   keep_next=True),
            "Table Text": _Spec(tnr, "宋体", 10.5, align=L),
            "Table Heading": _Spec(tnr, "宋体", 10.5, bold=True, align=C, keep_next=True),
            "Table Note": _Spec(tnr, "宋体", 10.5, align=J, before=3, after=10),
            "Figure": _Spec(tnr, "宋体", 12, align=C, before=10, keep_next=True),
            "Figure Caption": _Spec(tnr, "宋体", 12, align=C, before=3, after=10),
            "Footer": _Spec(tnr, "宋体", 14, align=C),
            "Footer Text": _Spec(tnr, "宋体", 9, align=C),
        }
    serif, sans, east = "Times New Roman", "Arial", "宋体"
    return {
        "Normal": _Spec(serif, east, 12, align=J, line=1.15, after=6),
        "Title": _Spec(sans, "黑体", 20, bold=True, align=C, after=6),
        "Subtitle": _Spec(serif, east, 12, italic=True, align=C, after=18),
        "Heading 1": _Spec(sans, "黑体", 14, bold=True, align=L, before=12, after=6, keep_next=True),
        "Heading 2": _Spec(sans, "黑体", 12, bold=True, align=L, before=9, after=4, keep_next=True),
        "Body Text": _Spec(serif, east, 12, align=J, line=1.15, after=6),
        "Note": _Spec(serif, east, 10, align=J, after=4),
        "Table Caption": _Spec(sans, "黑体", 11, bold=True, align=C, before=10, after=4,
                               keep_next=True),
        "Table Text": _Spec(serif, east, 10, align=L),
        "Table Heading": _Spec(serif, east, 10, bold=True, align=C, keep_next=True),
        "Table Note": _Spec(serif, east, 9, align=J, before=3, after=10),
        "Figure": _Spec(serif, east, 11, align=C, before=10, keep_next=True),
        "Figure Caption": _Spec(serif, east, 11, align=C, before=3, after=10),
        "Footer": _Spec(serif, east, 11, align=C),
        "Footer Text": _Spec(serif, east, 9, align=C),
    }


def _set_fonts(rpr: OxmlElement, latin: str, east: str) -> None:
    """Name the Latin and the East Asian font explicitly, dropping theme fonts that would win."""
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for theme in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        rfonts.attrib.pop(qn(f"w:{theme}"), None)
    for attr, value in (("ascii", latin), ("hAnsi", latin), ("eastAsia", east), ("cs", latin)):
        rfonts.set(qn(f"w:{attr}"), value)


def _define(docx: DocxDocument, name: str, spec: _Spec) -> None:
    """Create or redefine the paragraph style ``name`` from ``spec`` (template looks cleared)."""
    styles = docx.styles
    try:
        style = styles[name]
    except KeyError:
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = styles["Normal"]
        style.quick_style = True
    el = style.element
    outline = el.find(f"{qn('w:pPr')}/{qn('w:outlineLvl')}")
    for child in el.findall(qn("w:pPr")) + el.findall(qn("w:rPr")):
        el.remove(child)
    if outline is not None:
        el.get_or_add_pPr().append(outline)
    _set_fonts(el.get_or_add_rPr(), spec.latin, spec.east)
    style.font.size = Pt(spec.size)
    style.font.bold = spec.bold
    style.font.italic = spec.italic
    pf = style.paragraph_format
    pf.alignment = spec.align
    pf.space_before, pf.space_after = Pt(spec.before), Pt(spec.after)
    if isinstance(spec.line, Twips):
        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        pf.line_spacing = spec.line
    elif spec.line is not None:
        pf.line_spacing = spec.line
    else:
        pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
    pf.first_line_indent = Pt(spec.size * spec.indent_chars) if spec.indent_chars else Pt(0)
    if spec.indent_chars:  # in characters, so it stays two characters if the size changes
        el.get_or_add_pPr().get_or_add_ind().set(qn("w:firstLineChars"), str(spec.indent_chars * 100))
    pf.keep_with_next = spec.keep_next or None
    pf.widow_control = True
    link = el.find(qn("w:link"))  # the template's linked character style: same look, no theme fonts
    char = styles.element.get_by_id(link.get(qn("w:val"))) if link is not None else None
    if char is not None:
        for old in char.findall(qn("w:rPr")):
            char.remove(old)
        char.append(copy.deepcopy(el.find(qn("w:rPr"))))


def _setup(docx: DocxDocument, doc: Document) -> None:
    """Page, document defaults, the style sheet and core properties."""
    specs = _specs(doc.lang)
    zh = doc.lang.startswith("zh")
    lang = "zh-CN" if zh else ("en-US" if doc.lang == "en" else doc.lang)
    defaults = docx.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}")
    for child in list(rpr):
        rpr.remove(child)
    normal = specs["Normal"]
    rpr.append(parse_xml(
        f'<w:rFonts {nsdecls("w")} w:ascii="{normal.latin}" w:hAnsi="{normal.latin}" '
        f'w:eastAsia="{normal.east}" w:cs="{normal.latin}"/>'))
    half = str(int(normal.size * 2))
    rpr.append(parse_xml(f'<w:sz {nsdecls("w")} w:val="{half}"/>'))
    rpr.append(parse_xml(f'<w:szCs {nsdecls("w")} w:val="{half}"/>'))
    rpr.append(parse_xml(f'<w:lang {nsdecls("w")} w:val="{lang}" w:eastAsia="zh-CN" w:bidi="ar-SA"/>'))
    ppr = defaults.find(f"{qn('w:pPrDefault')}/{qn('w:pPr')}")
    for child in list(ppr):
        ppr.remove(child)
    ppr.append(parse_xml(f'<w:spacing {nsdecls("w")} w:after="0" w:line="240" w:lineRule="auto"/>'))
    for name, spec in specs.items():
        _define(docx, name, spec)
    docx.styles["Body Text"].next_paragraph_style = docx.styles["Body Text"]
    for name in ("Heading 1", "Heading 2", "Title", "Subtitle"):
        docx.styles[name].next_paragraph_style = docx.styles["Body Text"]
    for name, base in (("Table Heading", "Table Text"), ("Figure Caption", "Normal")):
        docx.styles[name].base_style = docx.styles[base]

    section = docx.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = _PAGE_W, _PAGE_H
    section.top_margin, section.bottom_margin = _MARGINS["top"], _MARGINS["bottom"]
    section.left_margin, section.right_margin = _MARGINS["left"], _MARGINS["right"]
    section.footer_distance = Cm(2.0)
    section.header_distance = Cm(1.5)

    props = docx.core_properties
    props.title, props.author, props.language = doc.title, doc.author, lang
    props.subject, props.last_modified_by = doc.subtitle, doc.author
    props.comments = ""


def _footer(docx: DocxDocument, doc: Document) -> None:
    """``— PAGE —`` centred, with the footer line under it."""
    footer = docx.sections[0].footer
    footer.is_linked_to_previous = False
    p = footer.paragraphs[0]
    p.style = docx.styles["Footer"]
    p.add_run("— ")
    for xml in ('<w:r {ns}><w:fldChar w:fldCharType="begin"/></w:r>',
                '<w:r {ns}><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>',
                '<w:r {ns}><w:fldChar w:fldCharType="separate"/></w:r>',
                '<w:r {ns}><w:t>1</w:t></w:r>',
                '<w:r {ns}><w:fldChar w:fldCharType="end"/></w:r>'):
        p._p.append(parse_xml(xml.format(ns=nsdecls("w"))))
    p.add_run(" —")
    if doc.footer:
        footer.add_paragraph(_clean(doc.footer), style=docx.styles["Footer Text"])


def _clean(text: str) -> str:
    return _BAD_XML.sub("", text)


def _column_twips(table: Table) -> list[int]:
    """Column widths in twips over the text width (:meth:`Table.widths`)."""
    total_tw = int(_TEXT_W_CM / 2.54 * 1440)
    widths = [int(w * total_tw) for w in table.widths()]
    widths[-1] += total_tw - sum(widths)
    return widths


def _cell_xml(text: str, width: int, style_id: str, align: str, bold: bool, shade: bool,
              compact: bool = False) -> str:
    shd = '<w:shd w:val="clear" w:color="auto" w:fill="E7E6E6"/>' if shade else ""
    props = ("<w:b/><w:bCs/>" if bold else "") + (f'<w:sz w:val="{_COMPACT_HALF_PT}"/>'
                                                   f'<w:szCs w:val="{_COMPACT_HALF_PT}"/>' if compact else "")
    rpr = f"<w:rPr>{props}</w:rPr>" if props else ""
    lines = _clean(text).split("\n")
    runs = "<w:br/>".join(f'<w:t xml:space="preserve">{escape(line)}</w:t>' for line in lines)
    return (f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{shd}<w:vAlign w:val="center"/></w:tcPr>'
            f'<w:p><w:pPr><w:pStyle w:val="{style_id}"/><w:jc w:val="{align}"/></w:pPr>'
            f"<w:r>{rpr}{runs}</w:r></w:p></w:tc>")


def _table(docx: DocxDocument, table: Table) -> None:
    """Caption, then the table (header repeated on every page, totals bold), then its note."""
    if table.caption:
        docx.add_paragraph(_clean(table.caption), style=docx.styles["Table Caption"])
    n = len(table.columns)
    widths = _column_twips(table)
    aligns = [_ALIGN.get(a, "left") for a in table.aligned()]
    body_id = docx.styles["Table Text"].style_id
    head_id = docx.styles["Table Heading"].style_id
    t = docx.add_table(rows=0, cols=n)
    t.style = docx.styles["Table Grid"]
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    t.autofit = False  # fixed layout: the widths below, and fast in Word for long tables
    width_el = t._tbl.tblPr.find(qn("w:tblW"))
    if width_el is not None:
        width_el.set(qn("w:w"), str(sum(widths)))
        width_el.set(qn("w:type"), "dxa")
    for col, w in zip(t._tbl.tblGrid.findall(qn("w:gridCol")), widths, strict=True):
        col.set(qn("w:w"), str(w))

    parts = ['<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>',
             *(_cell_xml(h, widths[i], head_id, "center", False, True, table.compact)
               for i, h in enumerate(table.columns)),
             "</w:tr>"]
    last = len(table.rows) - 1
    for r, row in enumerate(table.rows):
        bold = table.total and r == last
        cells = [*row[:n], *[""] * (n - len(row))]
        parts.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>")
        parts += [_cell_xml(c, widths[i], body_id, aligns[i], bold, False, table.compact)
                  for i, c in enumerate(cells)]
        parts.append("</w:tr>")
    rows = parse_xml(f'<w:tbl {nsdecls("w")}>{"".join(parts)}</w:tbl>')
    for tr in list(rows):
        t._tbl.append(tr)
    if table.note:
        docx.add_paragraph(_clean(table.note), style=docx.styles["Table Note"])


def _figure(docx: DocxDocument, fig: Figure) -> None:
    """The image centred at its width (at most the text width), the caption below it."""
    p = docx.add_paragraph(style=docx.styles["Figure"])
    p.add_run().add_picture(io.BytesIO(fig.png), width=Cm(min(fig.width_cm, _TEXT_W_CM)))
    if fig.caption:
        docx.add_paragraph(_clean(fig.caption), style=docx.styles["Figure Caption"])


def _page_break(docx: DocxDocument) -> None:
    """A page break at the end of the last paragraph (no empty line atop the next page)."""
    body = docx.element.body
    last = body[-2] if len(body) > 1 and body[-1].tag == qn("w:sectPr") else (body[-1] if len(body) else None)
    if last is not None and last.tag == qn("w:p"):
        r = OxmlElement("w:r")
        br = OxmlElement("w:br")
        br.set(qn("w:type"), "page")
        r.append(br)
        last.append(r)
    else:
        docx.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def write_docx(doc: Document, path: Path) -> Path:
    """Write ``doc`` as a Word file at ``path`` (parent folders created); returns ``path``."""
    path = Path(path)
    docx = new_docx()
    _setup(docx, doc)
    _footer(docx, doc)
    docx.add_paragraph(_clean(doc.title), style=docx.styles["Title"])
    if doc.subtitle:
        docx.add_paragraph(_clean(doc.subtitle), style=docx.styles["Subtitle"])
    for block in doc.blocks:
        if isinstance(block, Heading):
            style = "Heading 1" if block.level <= 1 else "Heading 2"
            docx.add_paragraph(_clean(block.text), style=docx.styles[style])
        elif isinstance(block, Paragraph):
            style = "Note" if block.style == "note" else "Body Text"
            docx.add_paragraph(_clean(block.text), style=docx.styles[style])
        elif isinstance(block, Table):
            _table(docx, block)
        elif isinstance(block, Figure):
            _figure(docx, block)
        elif isinstance(block, PageBreak):
            _page_break(docx)
    path.parent.mkdir(parents=True, exist_ok=True)
    docx.save(str(path))
    return path
