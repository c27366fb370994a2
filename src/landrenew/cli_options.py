"""Options shared by every command group of the CLI, and the user the command acts as."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

WorkspaceOpt = Annotated[Path | None, typer.Option("--workspace", "-w", help="工作空间目录 workspace folder "
                                                   "(env LANDRENEW_WORKSPACE, default ./workspace)")]
DbOpt = Annotated[str | None, typer.Option("--db", help="数据库 URL, e.g. postgresql+psycopg://u:p@host/db "
                                           "(env LANDRENEW_DATABASE_URL; default SQLite in the workspace)")]
ProfileOpt = Annotated[str, typer.Option("--profile", "-p", help="政策参数 profile name or YAML file")]
LangOpt = Annotated[str, typer.Option("--lang", help="zh | en")]


def lang_of(lang: str | None) -> str:
    """``zh`` or ``en``: the option, else $LANDRENEW_LANG, else Chinese."""
    return (lang or os.environ.get("LANDRENEW_LANG") or "zh").lower()[:2]
