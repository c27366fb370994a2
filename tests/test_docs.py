"""Docs stay true: the generated column reference, the README's two commands, every command documented."""

from __future__ import annotations

from pathlib import Path

from landrenew.cli import app
from landrenew.intake.docs import BEGIN, END, column_reference

ROOT = Path(__file__).resolve().parents[1]


def test_data_formats_doc_matches_the_intake_schema():
    text = (ROOT / "docs" / "data-formats.md").read_text(encoding="utf-8")
    generated = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert generated == column_reference().strip(), "run: python -m landrenew.intake.docs"


def test_readme_starts_with_the_two_commands():
    lines = [line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines() if line.strip()]
    commands = [line.split("#")[0].strip() for line in lines[:6] if line.startswith("make ")]
    assert commands == ["make demo", "make test"]


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_cli_command_is_mentioned_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    names += [g.name for g in app.registered_groups]
    missing = [n for n in names if f"landrenew {n}" not in readme]
    assert not missing, f"undocumented commands: {missing}"
