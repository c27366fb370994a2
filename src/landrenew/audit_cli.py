"""``landrenew audit verify``: check that the case events and the ledger's transfers are whole."""

from __future__ import annotations

import typer
from sqlalchemy.exc import SQLAlchemyError

from landrenew import audit
from landrenew.cli_options import DbOpt, LangOpt, ProfileOpt, WorkspaceOpt, lang_of
from landrenew.policy import ProfileError, load_profile
from landrenew.render import console, print_frame
from landrenew.store import Workspace

audit_app = typer.Typer(help="审计链 audit trail: verify", no_args_is_help=True)

_TABLE_NAMES = {"case_event": ("案件事件", "case events"), "quota_transfer": ("台账记账", "ledger transfers")}


@audit_app.command()
def verify(workspace: WorkspaceOpt = None, db: DbOpt = None, profile: ProfileOpt = "changzhou-2022",
           lang: LangOpt = "") -> None:
    """核验审计链 Check the hash chains of the case events and ledger transfers, each case's events, the
    ledger's balances and every attached file's SHA-256; print each chain's head; exit 1 on any finding."""
    en = lang_of(lang) == "en"
    try:
        ws = Workspace.open(workspace, db)
        with ws.engine.connect() as conn:
            report = audit.verify(conn, load_profile(profile), ws)
    except (ProfileError, SQLAlchemyError) as exc:
        console.print(f"[red]{'Failed' if en else '未完成'}:[/] {str(exc.__cause__ or exc).splitlines()[0]}",
                      highlight=False)
        raise typer.Exit(1) from None
    for table, rows in report.rows.items():
        zh, en_name = _TABLE_NAMES[table]
        console.print(f"{en_name if en else zh}: {rows} {'rows' if en else '行'}, "
                      f"{'head' if en else '链头'} {report.heads[table]}", highlight=False)
    if report.stray:
        shown = ", ".join(report.stray[:5]) + (" …" if len(report.stray) > 5 else "")
        console.print(f"[yellow]{len(report.stray)}[/] " + (
            f"file(s) in attachments/ that no event refers to (left by a move that was killed before its "
            f"commit; may be deleted): {shown}" if en else
            f"个 attachments/ 中的文件没有事件引用（办理在提交前被中断所留，可删除）：{shown}"), highlight=False)
    if report.ok:
        console.print(f"[green]✓[/] {'audit trail whole' if en else '审计链完整'}", highlight=False)
        return
    frame = report.frame("en" if en else "zh")
    frame["table"] = [_TABLE_NAMES[t][1 if en else 0] for t in frame["table"]]
    print_frame(frame.rename(columns={"table": "表 table", "row": "行 row", "code": "检查 check",
                                      "problem": "问题 problem"}),
                f"{len(report.findings)} finding(s): the audit trail was altered" if en
                else f"审计链有 {len(report.findings)} 处异常：记录在写入后被改动")
    raise typer.Exit(1)
