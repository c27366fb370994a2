"""A briefing as a list of blocks — headings, paragraphs, tables, figures — written once by
:mod:`landrenew.reports.briefing` and rendered the same way to Word (:mod:`.docx`) and PDF (:mod:`.pdf`).

Cells are text already formatted for reading (``1,234.5``): both renderers show them as given, so
the Word and the PDF say exactly the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


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
