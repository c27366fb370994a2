"""A briefing as a PDF: the same blocks as the Word file, drawn by WeasyPrint from HTML.

The HTML comes from a Jinja template held in this module (autoescaped: text is never markup), the
figures are embedded as ``data:`` URIs and the only files read are the CJK fonts of
:func:`landrenew.reports.fonts.cjk_fonts` — nothing is ever fetched from the network.

Fonts: when fontconfig knows the face by family name (``Noto Serif CJK SC`` …) the CSS asks for
that name, which selects the right face of a ``.ttc`` collection; otherwise the file is loaded by
``@font-face`` — for a face other than the first of a ``.ttc`` collection, that face is first copied
out to a temporary single-face file (WeasyPrint would otherwise draw with the collection's first
face, the Japanese one in Noto CJK).
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import jinja2
from fontTools.ttLib import TTFont
from markupsafe import Markup
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from .document import (
    MARGINS_CM,
    TEXT_WIDTH_CM,
    Document,
    Figure,
    Heading,
    PageBreak,
    Paragraph,
    Table,
)
from .fonts import CjkFonts, FontFile, cjk_fonts

__all__ = ["write_pdf"]

_TEXT_W_CM = TEXT_WIDTH_CM

_TEMPLATE = """<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<title>{{ doc.title }}</title>
<meta name="author" content="{{ doc.author }}">
{% if doc.subtitle %}<meta name="description" content="{{ doc.subtitle }}">{% endif %}
<meta name="generator" content="landrenew">
<style>{{ css }}</style>
</head>
<body>
<div class="footer"><span class="page-number"></span>
{%- if doc.footer %}<br><span class="footer-text">{{ doc.footer }}</span>{% endif %}</div>
<h1 class="title">{{ doc.title }}</h1>
{% if doc.subtitle %}<p class="subtitle">{{ doc.subtitle }}</p>{% endif %}
{% for b in blocks %}
{%- if b.kind == "heading" %}
<h{{ b.level + 1 }}>{{ b.text }}</h{{ b.level + 1 }}>
{%- elif b.kind == "paragraph" %}
<p class="{{ b.style }}">{{ b.text }}</p>
{%- elif b.kind == "table" %}
<table{% if b.compact %} class="compact"{% endif %}>
{%- if b.caption %}<caption>{{ b.caption }}</caption>{% endif %}
<colgroup>{% for w in b.widths %}<col style="width: {{ w }}%">{% endfor %}</colgroup>
<thead><tr>{% for c in b.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead>
<tbody>
{%- for row in b.rows %}
<tr{% if b.total and loop.last %} class="total"{% endif %}>
{%- for c in row %}<td class="{{ b.align[loop.index0] }}">{{ c }}</td>{% endfor %}</tr>
{%- endfor %}
</tbody>
</table>
{%- if b.note %}<p class="table-note">{{ b.note }}</p>{% endif %}
{%- elif b.kind == "figure" %}
<figure><img src="{{ b.src }}" style="width: {{ b.width }}cm" alt="">
{%- if b.caption %}<figcaption>{{ b.caption }}</figcaption>{% endif %}</figure>
{%- elif b.kind == "pagebreak" %}
<div class="page-break"></div>
{%- endif %}
{%- endfor %}
</body>
</html>
"""

_CSS = """
@page {
  size: A4;
  margin: %(margins)s;
  @bottom-center { content: element(footer); vertical-align: top; padding-top: 0.6cm; }
}
html { font-family: %(serif)s; font-size: %(body)s; color: #000; }
body { margin: 0; }
.footer { position: running(footer); text-align: center; font-family: %(serif)s; line-height: 1.5; }
.page-number { font-size: %(pageno)s; }
.page-number::before { content: "— " counter(page) " —"; }
.footer-text { font-size: 9pt; color: #333; }
h1.title { font-family: %(title_font)s; font-weight: bold; font-size: 22pt; line-height: 1.45;
  text-align: center; margin: 0 0 0.5em 0; }
p.subtitle { font-family: %(serif)s; font-size: %(subtitle)s; text-align: center; margin: 0 0 1.2em 0; }
h2, h3 { font-size: %(h_size)s; line-height: %(line)s; margin: %(h_margin)s; text-indent: %(indent)s;
  break-after: avoid; }
h2 { font-family: %(sans)s; font-weight: bold; }
h3 { font-family: %(serif)s; font-weight: bold; font-size: %(h3_size)s; }
p { margin: 0 0 %(p_after)s 0; line-height: %(line)s; text-align: justify; text-indent: %(indent)s;
  orphans: 2; widows: 2; white-space: pre-line; }
p.note { font-size: %(note)s; line-height: 1.6; }
p.table-note { font-size: %(small)s; line-height: 1.5; text-indent: 0; margin: 0.3em 0 1em 0; }
table { width: 100%%; table-layout: fixed; border-collapse: collapse; margin: 1em 0 0 0;
  font-family: %(serif)s; font-size: %(small)s; line-height: 1.35; }
table.compact { font-size: %(compact)s; }
caption { caption-side: top; font-size: %(caption)s; font-weight: bold; text-align: center;
  padding-bottom: 0.4em; }
thead { display: table-header-group; }
th, td { border: 0.5pt solid #000; padding: 2pt 4pt; vertical-align: middle; white-space: pre-line;
  overflow-wrap: anywhere; }
th { background: #e7e6e6; font-weight: bold; text-align: center; }
tr { break-inside: avoid; page-break-inside: avoid; }
td.l { text-align: left; }
td.r { text-align: right; font-variant-numeric: tabular-nums; }
td.c { text-align: center; }
tr.total td { font-weight: bold; }
figure { margin: 1em 0; text-align: center; break-inside: avoid; page-break-inside: avoid; }
figure img { max-width: 100%%; }
figcaption { font-size: %(caption)s; text-align: center; margin-top: 0.3em; }
.page-break { break-before: page; page-break-before: always; }
"""


@dataclass(frozen=True)
class _Fonts:
    """The CSS font stacks and any ``@font-face`` rules they need, and the files those read."""

    serif: str
    sans: str
    rules: str
    files: frozenset[Path]


def _fc_escape(name: str) -> str:
    return "".join("\\" + ch if ch in "\\-:,=" else ch for ch in name)


@cache
def _fc_family(font: FontFile) -> str | None:
    """The family fontconfig knows this face of the file by, or ``None`` if it does not know it."""
    if shutil.which("fc-query") is None or shutil.which("fc-list") is None:
        return None
    try:
        name = subprocess.run(["fc-query", "-i", str(font.index), "-f", "%{family[0]}", str(font.path)],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        if not name:
            return None
        files = subprocess.run(["fc-list", "-f", "%{file}\n", f":family={_fc_escape(name)}"],
                               capture_output=True, text=True, timeout=10).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return None
    return name if str(font.path) in files else None


def _css_string(text: str) -> str:
    """``text`` as a quoted CSS string (safe inside ``<style>``)."""
    out = [ch if ch.isprintable() and ch not in '"\\<>&' else f"\\{ord(ch):x} " for ch in text]
    return '"' + "".join(out) + '"'


def _single_face(font: FontFile, tmp: Path) -> Path:
    """A file holding just this face: the file itself, or the face copied out of a collection."""
    if font.index == 0:
        return font.path.resolve()
    out = tmp / f"{font.path.stem}-{font.index}.font"
    if not out.exists():
        try:
            face = TTFont(font.path, fontNumber=font.index, lazy=True)
            face.save(out)
        except Exception:  # an unreadable collection: let WeasyPrint try the file as it is
            return font.path.resolve()
    return out.resolve()


def _font_css(fonts: CjkFonts, lang: str, tmp: Path, system: bool = True) -> _Fonts:
    """Font stacks for ``lang``: fontconfig family names when known, else ``@font-face`` files
    (faces of collections copied out into ``tmp``)."""
    rules: list[str] = []
    files: set[Path] = set()
    stacks = {}
    for kind, regular, bold in (("serif", fonts.serif, fonts.serif_bold), ("sans", fonts.sans, fonts.sans_bold)):
        family = _fc_family(regular) if system else None
        if family is not None and (bold == regular or _fc_family(bold) == family):
            stacks[kind] = _css_string(family)
            continue
        name = f"landrenew {kind}"
        for weight, face in (("normal", regular), ("bold", bold)):
            file = _single_face(face, tmp)
            rules.append(f"@font-face {{ font-family: {_css_string(name)}; font-weight: {weight}; "
                         f"src: url({_css_string(file.as_uri())}); }}")
            files.add(file)
        stacks[kind] = _css_string(name)
    if lang.startswith("zh"):
        serif, sans = f"{stacks['serif']}, serif", f"{stacks['sans']}, sans-serif"
    else:
        serif = f'"Times New Roman", "Liberation Serif", "DejaVu Serif", {stacks["serif"]}, serif'
        sans = f'Arial, "Liberation Sans", "DejaVu Sans", {stacks["sans"]}, sans-serif'
    return _Fonts(serif, sans, "\n".join(rules), frozenset(files))


class _LocalFetcher(URLFetcher):
    """Fetches ``data:`` URIs and the font files it was given — nothing else, never the network."""

    def __init__(self, files: frozenset[Path]) -> None:
        super().__init__(allowed_protocols=("data", "file"), allow_redirects=False)
        self._files = files

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        """Refuse every URL but ``data:`` and the allowed font files."""
        if url.startswith("file:"):
            path = Path(url2pathname(urlsplit(url).path)).resolve()
            if path not in self._files:
                raise ValueError(f"refused to read {url}")
        elif not url.startswith("data:"):
            raise ValueError(f"refused to fetch {url}")
        return super().fetch(url, headers)


def _blocks(doc: Document) -> list[dict]:
    """The blocks as plain dicts for the template."""
    out: list[dict] = []
    for b in doc.blocks:
        if isinstance(b, Heading):
            out.append({"kind": "heading", "level": 1 if b.level <= 1 else 2, "text": b.text})
        elif isinstance(b, Paragraph):
            out.append({"kind": "paragraph", "style": "note" if b.style == "note" else "body", "text": b.text})
        elif isinstance(b, Table):
            n = len(b.columns)
            out.append({"kind": "table", "caption": b.caption, "columns": b.columns, "total": b.total,
                        "rows": [[*r[:n], *[""] * (n - len(r))] for r in b.rows], "note": b.note,
                        "align": [a if a in ("l", "r", "c") else "l" for a in b.aligned()],
                        "widths": [round(100 * w, 2) for w in b.widths()],
                        "compact": b.compact})
        elif isinstance(b, Figure):
            src = "data:image/png;base64," + base64.b64encode(b.png).decode("ascii")
            out.append({"kind": "figure", "src": src, "width": min(b.width_cm, _TEXT_W_CM), "caption": b.caption})
        elif isinstance(b, PageBreak):
            out.append({"kind": "pagebreak"})
    return out


def _html(doc: Document, fonts: _Fonts) -> str:
    """The briefing as an HTML page (autoescaped) with its print stylesheet."""
    zh = doc.lang.startswith("zh")
    values = {"margins": " ".join(f"{MARGINS_CM[k]}cm" for k in ("top", "right", "bottom", "left")),
              "serif": fonts.serif, "sans": fonts.sans,
              "title_font": fonts.serif if zh else fonts.sans,
              "body": "16pt" if zh else "12pt", "line": "28.95pt" if zh else "1.45",
              "indent": "2em" if zh else "0", "p_after": "0" if zh else "0.5em",
              "subtitle": "16pt" if zh else "12pt", "h_size": "16pt" if zh else "14pt",
              "h3_size": "16pt" if zh else "12.5pt", "h_margin": "0" if zh else "0.9em 0 0.4em 0",
              "note": "12pt" if zh else "10pt", "small": "10.5pt" if zh else "10pt", "compact": "9pt",
              "caption": "12pt" if zh else "11pt", "pageno": "14pt" if zh else "11pt"}
    css = fonts.rules + "\n" + _CSS % values
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    lang = "zh-CN" if zh else ("en" if doc.lang == "en" else doc.lang)
    return env.from_string(_TEMPLATE).render(doc=doc, lang=lang, blocks=_blocks(doc), css=Markup(css))


def write_pdf(doc: Document, path: Path) -> Path:
    """Write ``doc`` as an A4 PDF at ``path`` (parent folders created); returns ``path``.

    Raises :class:`landrenew.reports.fonts.FontMissing` when no CJK font is installed.
    """
    path = Path(path)
    found = cjk_fonts()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="landrenew-fonts-") as tmp:
        fonts = _font_css(found, doc.lang, Path(tmp))
        HTML(string=_html(doc, fonts), url_fetcher=_LocalFetcher(fonts.files)).write_pdf(path)
    return path
