"""The Word and PDF renderers: a briefing with Chinese text, tables, a figure and a page break comes
back out of the files as it went in — texts in order, cells exact, fonts CJK, markup escaped."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from docx import Document as open_docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn

from landrenew.reports.document import Document, Figure, Heading, PageBreak, Paragraph, Table
from landrenew.reports.word import write_docx

TITLE = "常州市“危污乱散低”用地出清工作简报"
H1 = "一、总体情况"
H2 = "（一）分区进展"
BODY = "截至11月底，全市共排查“危污乱散低”地块1,234宗，各辖市（区）扎实推进出清整治。"
ESCAPE = "特殊字符<b>&</b>应原样显示"
NOTE = "注：图中数据为初步统计。"
COLUMNS = ["辖市（区）", "地块数（宗）", "面积（亩）"]
ROWS = [["武进区", "512", "1,234.5"], ["新北区", "722", "4,444.4"], ["合计", "1,234", "5,678.9"]]
BIG_ROWS = 1500


def tiny_png() -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2), dpi=50)
    ax.bar(["a", "b"], [3, 5])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def briefing(lang: str = "zh") -> Document:
    d = Document(TITLE, "常州市自然资源和规划局　2026年11月", lang, footer="出清工作专班 <i>&amp;")
    d.add(Heading(H1), Paragraph(BODY), Heading(H2, 2), Paragraph(ESCAPE),
          Table("表1　各区出清进展", COLUMNS, ROWS, align=["l", "r", "r"], total=True, note="注：截至11月30日。"),
          Figure("图1　各区地块数量", tiny_png(), 8), Paragraph(NOTE, "note"), PageBreak(),
          Heading("附件：地块清单"),
          Table("附表1　地块明细", ["序号", "地块编号", "镇（街道）", "面积（亩）"],
                [[str(i + 1), f"CZ-{i:05d}", "湖塘镇", f"{i * 1.5:,.1f}"] for i in range(BIG_ROWS)],
                align=["c", "l", "l", "r"]))
    return d


# --- Word ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def docx_file(tmp_path_factory) -> Path:
    return write_docx(briefing(), tmp_path_factory.mktemp("docx") / "briefing.docx")


def style_east_asia(style) -> str | None:
    """The East Asian font a paragraph style names (itself or through its base styles)."""
    while style is not None:
        rpr = style.element.find(qn("w:rPr"))
        fonts = rpr.find(qn("w:rFonts")) if rpr is not None else None
        if fonts is not None and fonts.get(qn("w:eastAsia")):
            return fonts.get(qn("w:eastAsia"))
        style = style.base_style
    return None


def test_docx_texts_in_order(docx_file):
    d = open_docx(str(docx_file))
    texts = [p.text for p in d.paragraphs if p.text]
    wanted = [TITLE, H1, BODY, H2, ESCAPE, "表1　各区出清进展", "注：截至11月30日。", "图1　各区地块数量", NOTE,
              "附件：地块清单", "附表1　地块明细"]
    positions = [texts.index(w) for w in wanted]
    assert positions == sorted(positions)
    assert d.paragraphs[0].style.name == "Title"
    by_text = {p.text: p.style.name for p in d.paragraphs}
    assert by_text[H1] == "Heading 1" and by_text[H2] == "Heading 2" and by_text[BODY] == "Body Text"
    assert by_text[NOTE] == "Note"
    assert d.core_properties.title == TITLE
    assert d.core_properties.language == "zh-CN"


def test_docx_tables(docx_file):
    d = open_docx(str(docx_file))
    small, big = d.tables
    assert [[c.text for c in r.cells] for r in small.rows] == [COLUMNS, *ROWS]
    assert small.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert big.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert big.rows[1]._tr.trPr.find(qn("w:tblHeader")) is None
    # numbers right-aligned, totals row bold, ordinary rows not
    assert small.rows[1].cells[2].paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.RIGHT
    assert small.rows[1].cells[0].paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.LEFT
    assert all(r.bold for c in small.rows[3].cells for r in c.paragraphs[0].runs)
    assert not any(r.bold for c in small.rows[1].cells for r in c.paragraphs[0].runs)
    assert len(big.rows) == BIG_ROWS + 1
    assert [c.text for c in big.rows[-1].cells] == [str(BIG_ROWS), f"CZ-{BIG_ROWS - 1:05d}", "湖塘镇",
                                                    f"{(BIG_ROWS - 1) * 1.5:,.1f}"]
    assert style_east_asia(small.rows[1].cells[0].paragraphs[0].style) == "宋体"


def test_docx_fonts_image_break_footer(docx_file):
    d = open_docx(str(docx_file))
    body = next(p for p in d.paragraphs if p.text == BODY)
    assert style_east_asia(body.style) == "仿宋_GB2312"
    assert style_east_asia(d.styles["Heading 1"]) == "黑体"
    assert style_east_asia(d.styles["Title"]) == "方正小标宋简体"
    defaults = d.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    assert defaults.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "仿宋_GB2312"
    assert d.styles["Body Text"].paragraph_format.first_line_indent.pt == pytest.approx(32)
    assert d.styles["Body Text"].font.size.pt == 16
    section = d.sections[0]
    assert round(section.top_margin.cm, 2) == 3.7 and round(section.left_margin.cm, 2) == 2.8
    assert round(section.page_width.cm, 1) == 21.0
    assert any("image" in rel.reltype for rel in d.part.rels.values())
    assert d.element.body.xpath('.//w:br[@w:type="page"]')
    footer = section.footer._element
    assert any("PAGE" in t.text for t in footer.xpath(".//w:instrText"))
    assert "出清工作专班 <i>&amp;" in [p.text for p in section.footer.paragraphs]


def test_docx_english(tmp_path):
    d = open_docx(str(write_docx(briefing("en"), tmp_path / "en.docx")))
    body = next(p for p in d.paragraphs if p.text == BODY)
    assert body.style.font.name == "Times New Roman"
    assert d.styles["Heading 1"].font.name == "Arial"
    assert not body.style.paragraph_format.first_line_indent
    assert body.style.font.size.pt == 12
    assert d.core_properties.language == "en-US"


# --- PDF ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pdf_file(tmp_path_factory) -> Path:
    from landrenew.reports.fonts import FontMissing, cjk_fonts

    try:
        cjk_fonts()
    except FontMissing:
        pytest.skip("no CJK font on this machine")
    from landrenew.reports.pdf import write_pdf

    return write_pdf(briefing(), tmp_path_factory.mktemp("pdf") / "briefing.pdf")


def test_pdf_text_and_metadata(pdf_file):
    from pypdf import PdfReader

    reader = PdfReader(pdf_file)
    assert len(reader.pages) > 1
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in reader.pages[:3]))
    for wanted in (TITLE, H1, H2, "新北区", "1,234.5", "5,678.9", ESCAPE, NOTE):
        assert re.sub(r"\s+", "", wanted) in text, wanted
    last = re.sub(r"\s+", "", reader.pages[-1].extract_text())
    assert f"CZ-{BIG_ROWS - 1:05d}" in last
    assert "地块编号" in last  # the header row repeated on the last page
    assert "<i>&amp;" in last  # the footer, escaped
    assert reader.metadata.title == TITLE
    assert reader.trailer["/Root"]["/Lang"] == "zh-CN"


def test_pdf_fonts_are_cjk(pdf_file):
    from pypdf import PdfReader

    names = set()
    for page in PdfReader(pdf_file).pages[:3]:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]))
    assert names and all("CJK" in n or "landrenew" in n for n in names), names


def test_pdf_fetches_nothing_but_data_and_fonts():
    from landrenew.reports.pdf import _LocalFetcher

    fetcher = _LocalFetcher(frozenset())
    for url in ("http://example.com/x.png", "https://example.com/", "file:///etc/passwd", "ftp://x/y"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"


def test_pdf_font_file_fallback_picks_the_collection_face(tmp_path):
    """Without fontconfig names, a .ttc face other than the first is copied out and used."""
    from fontTools.ttLib import TTFont

    from landrenew.reports.fonts import FontMissing, cjk_fonts
    from landrenew.reports.pdf import _font_css

    try:
        fonts = cjk_fonts()
    except FontMissing:
        pytest.skip("no CJK font on this machine")
    if fonts.serif.index == 0:
        pytest.skip("the serif font is not a later face of a collection")
    css = _font_css(fonts, "zh", tmp_path, system=False)
    assert "@font-face" in css.rules and "landrenew serif" in css.serif
    wanted = TTFont(fonts.serif.path, fontNumber=fonts.serif.index, lazy=True)["name"].getDebugName(6)
    names = {TTFont(f, lazy=True)["name"].getDebugName(6) for f in css.files}
    assert wanted in names
