"""``landrenew backup FILE`` and ``landrenew restore FILE``: the store and the workspace's files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from landrenew import backup as archive
from landrenew.cli_options import DbOpt, LangOpt, WorkspaceOpt, lang_of
from landrenew.render import console
from landrenew.store import Workspace

FileArg = Annotated[Path, typer.Argument(help="备份文件 backup archive (.tar, or .tar.gz compressed)")]


def backup(file: FileArg, workspace: WorkspaceOpt = None, db: DbOpt = None, lang: LangOpt = "") -> None:
    """备份 Write the whole store (every table, in one snapshot) and the workspace's files into FILE."""
    en = lang_of(lang) == "en"
    with console.status("备份 backing up…") as status:
        manifest = _run(lambda: archive.backup(Workspace.open(workspace, db), file,
                                               lambda t: status.update(f"备份 backing up {t}")), en)
    rows = sum(manifest.tables.values())
    console.print(f"[green]✓[/] {file}: {len(manifest.tables)} {'tables' if en else '张表'}, {rows:,} "
                  f"{'rows' if en else '行'} ({', '.join(f'{k} {v:,}' for k, v in manifest.tables.items() if v)}), "
                  f"{len(manifest.files)} {'files' if en else '个文件'}; {'schema' if en else '结构版本'} "
                  f"{manifest.revision}", highlight=False)


def restore(file: FileArg, workspace: WorkspaceOpt = None, db: DbOpt = None, lang: LangOpt = "") -> None:
    """恢复 Restore FILE into a new workspace or an empty database (checked first; all or nothing)."""
    en = lang_of(lang) == "en"
    with console.status("恢复 restoring…") as status:
        manifest = _run(lambda: archive.restore(file, Workspace.open(workspace, db, migrate=False),
                                                lambda t: status.update(f"恢复 restoring {t}")), en)
    console.print(f"[green]✓[/] {'restored' if en else '已恢复'} {sum(manifest.tables.values()):,} "
                  f"{'rows' if en else '行'}, {len(manifest.files)} {'files' if en else '个文件'} "
                  f"({'backup of' if en else '备份于'} {manifest.created_at}, landrenew {manifest.landrenew})",
                  highlight=False)


def _run(work, en: bool):  # noqa: ANN001, ANN202 - a thunk and what it returns
    try:
        return work()
    except archive.BackupError as exc:
        message = exc.en if en else exc.zh
    except (SQLAlchemyError, OSError) as exc:
        message = str(exc.__cause__ or exc).splitlines()[0]
    console.print(f"[red]{'Refused' if en else '未执行'}:[/] {message}", highlight=False)
    raise typer.Exit(1)
