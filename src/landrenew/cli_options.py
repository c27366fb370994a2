"""Options shared by every command group of the CLI, and the user the command acts as."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from landrenew.actors import Actor
from landrenew.store.load import current_user

WorkspaceOpt = Annotated[Path | None, typer.Option("--workspace", "-w", help="工作空间目录 workspace folder "
                                                   "(env LANDRENEW_WORKSPACE, default ./workspace)")]
DbOpt = Annotated[str | None, typer.Option("--db", help="数据库 URL, e.g. postgresql+psycopg://u:p@host/db "
                                           "(env LANDRENEW_DATABASE_URL; default SQLite in the workspace)")]
ProfileOpt = Annotated[str, typer.Option("--profile", "-p", help="政策参数 profile name or YAML file")]
LangOpt = Annotated[str, typer.Option("--lang", help="zh | en")]


def lang_of(lang: str | None) -> str:
    """``zh`` or ``en``: the option, else $LANDRENEW_LANG, else Chinese."""
    return (lang or os.environ.get("LANDRENEW_LANG") or "zh").lower()[:2]

ActorOpt = Annotated[str, typer.Option("--as", help="以何角色操作 act as ROLE[:DISTRICT], e.g. city_admin, "
                                       "district_officer:320412 (env LANDRENEW_ROLE)")]
UserOpt = Annotated[str | None, typer.Option("--user", help="操作人 user name (default: the login name)")]


def actor_of(as_: str | None, user: str | None) -> Actor:
    """The acting user from ``--as ROLE[:DISTRICT]`` and ``--user``."""
    spec = as_ or os.environ.get("LANDRENEW_ROLE") or "city_admin"
    role, _, district = spec.partition(":")
    return Actor(user or current_user(), role, district or None)
