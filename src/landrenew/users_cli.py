"""``landrenew users``: accounts of the web app — add, list, disable, enable, password, and API
tokens: token, tokens, revoke-token, rotate-token."""

from __future__ import annotations

import sys
from typing import Annotated

import pandas as pd
import typer

from landrenew import users
from landrenew.cli_options import DbOpt, ProfileOpt, WorkspaceOpt
from landrenew.policy import load_profile
from landrenew.render import console, print_frame
from landrenew.store import Workspace

users_app = typer.Typer(help="用户 users of the web app: add | list | disable | enable | password | "
                             "token | tokens | revoke-token | rotate-token",
                        no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="用户名 user name (a-z 0-9 . _ -)")]
StdinOpt = Annotated[bool, typer.Option("--password-stdin", help="从标准输入读取密码 read the password from stdin")]


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("密码 password", hide_input=True, confirmation_prompt=True)


def _run(fn, *args, **kwargs):  # noqa: ANN001, ANN202 - a thin wrapper turning refusals into exit 1
    try:
        return fn(*args, **kwargs)
    except users.UserError as exc:
        console.print(f"[red]{exc.zh} / {exc.en}[/]")
        raise typer.Exit(1) from exc


@users_app.command("add")
def add(
    name: NameArg,
    role: Annotated[str, typer.Option("--role", help="角色 role: city_admin | city_analyst | district_officer | viewer")],
    district: Annotated[str | None, typer.Option("--district", help="区级角色的行政区代码 district code")] = None,
    display_name: Annotated[str | None, typer.Option("--display-name", help="姓名 shown name")] = None,
    password_stdin: StdinOpt = False,
    workspace: WorkspaceOpt = None, db: DbOpt = None, profile: ProfileOpt = "changzhou-2022",
) -> None:
    """新增用户 Add a user with a role of the profile (a district officer needs --district)."""
    ws = Workspace.open(workspace, db)
    u = _run(users.add_user, ws.engine, load_profile(profile), name, role, _password(password_stdin),
             district=district, display_name=display_name)
    console.print(f"[green]已新增 added[/] {u.name} ({u.role}{':' + u.district_code if u.district_code else ''})")


@users_app.command("list")
def list_(workspace: WorkspaceOpt = None, db: DbOpt = None) -> None:
    """用户列表 Every user with role, district and status."""
    rows = [(u.name, u.display_name or "", u.role, u.district_code or "", "停用 disabled" if u.disabled else "启用 active")
            for u in users.list_users(Workspace.open(workspace, db).engine)]
    print_frame(pd.DataFrame(rows, columns=["用户 user", "姓名 name", "角色 role", "行政区 district", "状态 status"]),
                "用户 users")


@users_app.command("disable")
def disable(name: NameArg, workspace: WorkspaceOpt = None, db: DbOpt = None) -> None:
    """停用用户 Disable a user: its sessions end and its API tokens are revoked."""
    u = _run(users.set_disabled, Workspace.open(workspace, db).engine, name, True)
    console.print(f"[yellow]已停用 disabled[/] {u.name}")


@users_app.command("enable")
def enable(name: NameArg, workspace: WorkspaceOpt = None, db: DbOpt = None) -> None:
    """启用用户 Enable a disabled user again (old tokens stay revoked)."""
    u = _run(users.set_disabled, Workspace.open(workspace, db).engine, name, False)
    console.print(f"[green]已启用 enabled[/] {u.name}")


@users_app.command("password")
def password(name: NameArg, password_stdin: StdinOpt = False, workspace: WorkspaceOpt = None,
             db: DbOpt = None) -> None:
    """修改密码 Set a new password; the user's sessions end."""
    _run(users.set_password, Workspace.open(workspace, db).engine, name, _password(password_stdin))
    console.print(f"[green]密码已修改 password changed[/] {name}")


DaysOpt = Annotated[int, typer.Option("--days", help=f"有效天数 days the token lasts (1–{users.MAX_TOKEN_DAYS})")]
TokenArg = Annotated[int, typer.Argument(help="令牌编号 token id (see users tokens)")]


def _show_once(value: str) -> None:
    console.print("令牌只显示这一次 the token is shown this once:")
    print(value)


@users_app.command("token")
def token(name: NameArg, label: Annotated[str, typer.Option("--label", help="用途 what the token is for")] = "script",
          days: DaysOpt = users.TOKEN_DAYS, workspace: WorkspaceOpt = None, db: DbOpt = None) -> None:
    """新建 API 令牌 Create an API token for scripts (shown once: Authorization: Bearer TOKEN)."""
    _show_once(_run(users.create_token, Workspace.open(workspace, db).engine, name, label, days))


@users_app.command("tokens")
def tokens(name: Annotated[str | None, typer.Argument(help="只列此用户 only this user's")] = None,
           workspace: WorkspaceOpt = None, db: DbOpt = None) -> None:
    """令牌列表 API tokens with owner, use, expiry and status (never their values)."""
    status = {"live": "有效 live", "expired": "已过期 expired", "revoked": "已撤销 revoked"}
    day = "{:%Y-%m-%d}".format
    rows = [(t.id, t.user, t.label, day(t.expires_at),
             day(t.last_used_at) if t.last_used_at else "", status[t.status])
            for t in _run(users.list_tokens, Workspace.open(workspace, db).engine, name)]
    print_frame(pd.DataFrame(rows, columns=["编号 id", "用户 user", "用途 label", "到期 expires",
                                            "最近使用 last used", "状态 status"]), "API 令牌 tokens")


@users_app.command("revoke-token")
def revoke_token(token_id: TokenArg, workspace: WorkspaceOpt = None, db: DbOpt = None) -> None:
    """撤销令牌 Revoke one API token at once."""
    t = _run(users.revoke_token, Workspace.open(workspace, db).engine, token_id)
    console.print(f"[yellow]已撤销 revoked[/] {t.id} ({t.user}: {t.label})")


@users_app.command("rotate-token")
def rotate_token(token_id: TokenArg, days: DaysOpt = users.TOKEN_DAYS, workspace: WorkspaceOpt = None,
                 db: DbOpt = None) -> None:
    """轮换令牌 Replace a token by a new one of the same user and use; the old one stops at once."""
    _show_once(_run(users.rotate_token, Workspace.open(workspace, db).engine, token_id, days))
