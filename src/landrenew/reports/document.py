"""A briefing as a list of blocks — headings, paragraphs, tables, figures — written once by
:mod:`landrenew.reports.briefing` and rendered the same way to Word (:mod:`.word`) and PDF (:mod:`.pdf`).

Cells are text already formatted for reading (``1,234.5``): both renderers show them as given, so
the Word and the PDF say exactly the same thing; both size a table's columns by :meth:`Table.widths`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: the page (A4) and its margins in cm, as GB/T 9704-2012 lays out government documents
PAGE_CM = (21.0, 29.7)
MARGINS_CM = {"top": 3.7, "bottom": 3.5, "left": 2.8, "right": 2.6}
TEXT_WIDTH_CM = PAGE_CM[0] - MARGINS_CM["left"] - MARGINS_CM["right"]
#: tables with more columns than this are set smaller (both renderers)
COMPACT_COLUMNS = 7
#: a cell's left and right padding, in em
CELL_PADDING_EM = 0.9
#: a text column wider than this (in em) wraps its text rather than squeeze the numbers
TEXT_COLUMN_EM = 12.0


def text_em(text: str) -> float:
    """The width of ``text`` in em: Chinese and full-width characters 1, others about 0.6."""
    return sum(1.0 if ord(ch) > 0x2E7F else 0.6 for ch in max(text.split("\n"), key=len, default=""))


@dataclass(frozen=True)
class Heading:
    """A section heading: level 1 (``一、``) or 2 (``（一）``); the numbering is part of ``text``."""

    text: str
    level: int = 1


@dataclass(frozen=True)
class Paragraph:
    """Body text (indented two characters in Chinese); ``note`` for small print under tables and figures."""

    text: str
    style: Literal["body", "note"] = "body"


@dataclass(frozen=True)
class Table:
    """A table with a caption above it; ``align`` per column (``l``/``r``/``c``); ``total`` marks the
    last row as a totals row (bold)."""

    caption: str
    columns: list[str]
    rows: list[list[str]]
    align: list[str] = field(default_factory=list)
    total: bool = False
    note: str = ""

    def aligned(self) -> list[str]:
        """The alignment of every column (``l`` where none was given)."""
        return [*self.align, *["l"] * (len(self.columns) - len(self.align))][:len(self.columns)]

    @property
    def compact(self) -> bool:
        """A wide table, set in a smaller size so that its numbers fit on one line."""
        return len(self.columns) > COMPACT_COLUMNS

    def widths(self) -> list[float]:
        """Column widths as shares of the text width: by the widest cell in em (a Chinese character
        1, a digit or letter about 0.6), the header allowed to wrap onto two lines; text columns
        (left-aligned) wrap beyond :data:`TEXT_COLUMN_EM`, numbers never need to."""
        sample = self.rows[:300] + self.rows[-1:]
        weights = []
        for i, (h, a) in enumerate(zip(self.columns, self.aligned(), strict=True)):
            body = max((text_em(r[i]) for r in sample if i < len(r)), default=0.0)
            if a == "l":
                body = min(body, TEXT_COLUMN_EM)
            weights.append(CELL_PADDING_EM + max(2.0, body, text_em(h) / 2))
        return [w / sum(weights) for w in weights]


@dataclass(frozen=True)
class Figure:
    """A PNG image with its caption below; ``width_cm`` on the page."""

    caption: str
    png: bytes
    width_cm: float = 15.0


@dataclass(frozen=True)
class PageBreak:
    """Start a new page (before the appendices)."""


Block = Heading | Paragraph | Table | Figure | PageBreak


@dataclass
class Document:
    """A whole briefing: title, the issuing line under it, the blocks, and a footer line."""

    title: str
    subtitle: str
    lang: str
    blocks: list[Block] = field(default_factory=list)
    footer: str = ""
    author: str = "landrenew"

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    def text(self) -> str:
        """Every word of the document, in order (for tests and search)."""
        parts = [self.title, self.subtitle]
        for b in self.blocks:
            if isinstance(b, Heading | Paragraph):
                parts.append(b.text)
            elif isinstance(b, Table):
                parts += [b.caption, *b.columns, *(c for r in b.rows for c in r), b.note]
            elif isinstance(b, Figure):
                parts.append(b.caption)
        return "\n".join(p for p in parts if p)
