"""Render the column reference of docs/data-formats.md from the schema (a test keeps them equal)."""

from __future__ import annotations

from pathlib import Path

from landrenew.intake.schema import KINDS, LAYER_KINDS
from landrenew.intake.templates import column_guide

BEGIN = "<!-- BEGIN GENERATED: landrenew.intake.docs -->"
END = "<!-- END GENERATED -->"


def column_reference() -> str:
    """Markdown: one section per source kind with its formats, key and column table."""
    parts = []
    for kind in KINDS.values():
        parts.append(f"### `{kind.name}` — {kind.zh} / {kind.en}\n")
        parts.append(f"Formats: {', '.join(kind.formats)}. Key: {' + '.join(kind.key)}."
                     + (" Geometry: polygons." if kind.geometry == "polygon" else "")
                     + (" Geometry: optional polygons." if kind.geometry == "optional_polygon" else ""))
        if kind.one_of:
            parts.append(" At least one of: " + "; ".join(" / ".join(g) for g in kind.one_of) + ".")
        if kind.name == "layer":
            parts.append(" `--layer-kind`: " + ", ".join(f"`{k}` {zh}" for k, (zh, _) in LAYER_KINDS.items()) + ".")
        guide = column_guide(kind)
        parts.append("\n\n| " + " | ".join(guide.columns) + " |\n|" + "---|" * len(guide.columns))
        for row in guide.itertuples(index=False):
            parts.append("\n| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |")
        parts.append("\n\n")
    return "".join(parts).rstrip() + "\n"


def update(doc: Path) -> bool:
    """Rewrite the generated part of ``doc``; True when it changed."""
    text = doc.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n{column_reference()}{END}{tail}"
    doc.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    update(Path(__file__).resolve().parents[3] / "docs" / "data-formats.md")
