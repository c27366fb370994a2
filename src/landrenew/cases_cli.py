"""``landrenew cases``: open cases from a run, list them, show one, move it, comment on it."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from landrenew.actors import Forbidden
from landrenew.cases import (
    CaseError,
    add_comment,
    case_events,
    get_case,
    list_cases,
    open_cases,
    transition,
)
from landrenew.cli_options import (
    ActorOpt,
    DbOpt,
    LangOpt,
    ProfileOpt,
    UserOpt,
    WorkspaceOpt,
    actor_of,
    lang_of,
)
from landrenew.policy import load_profile
from landrenew.render import console, print_frame
from landrenew.store import Workspace

cases_app = typer.Typer(help="出清项目 clearance cases: open | list | show | move | comment", no_args_is_help=True)

DateOpt = Annotated[str | None, typer.Option("--date", help="办理日期 date of the step YYYY-MM-DD (default today)")]
VersionOpt = Annotated[int, typer.Option("--version", help="依据的案件版本 the case version you saw (cases show)")]


def _fail(exc: CaseError | Forbidden, en: bool) -> typer.Exit:
    console.print(f"[red]{exc.en if en else exc.zh}[/]")
    return typer.Exit(1)


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise typer.BadParameter(f"日期应为 YYYY-MM-DD：{text}", param_hint="--date") from None


@cases_app.command("open")
def open_(
    run: Annotated[int | None, typer.Option("--run", help="分析批次 run id (default: the latest)")] = None,
    district: Annotated[str | None, typer.Option("--district", help="行政区代码 district code")] = None,
    family: Annotated[str | None, typer.Option("--family", help="处置类别 disposal family, e.g. unsupplied")] = None,
    top: Annotated[int | None, typer.Option("--top", help="按优先度取前 N 条 the N highest-priority")] = None,
    when: DateOpt = None, workspace: WorkspaceOpt = None, db: DbOpt = None, profile: ProfileOpt = "changzhou-2022",
    as_: ActorOpt = "", user: UserOpt = None, lang: LangOpt = "",
) -> None:
    """按处置建议立案 Open a case per recommendation of a run (highest priority first)."""
    en = lang_of(lang) == "en"
    ws, prof = Workspace.open(workspace, db), load_profile(profile)
    try:
        out = open_cases(ws, prof, actor_of(as_, user), run_id=run, district=district, family=family, top=top,
                         when=_date(when))
    except (CaseError, Forbidden) as exc:
        raise _fail(exc, en) from exc
    console.print(f"[green]{'Opened' if en else '已立案'} {len(out.opened)}[/] "
                  f"({'run' if en else '分析批次'} {out.run_id})"
                  + (f"; {'skipped' if en else '跳过'} {len(out.skipped)}" if out.skipped else ""))
    if out.opened:
        console.print(f"{out.opened[0]} … {out.opened[-1]}")


@cases_app.command("list")
def list_(
    state: Annotated[str | None, typer.Option("--state", help="状态 state key")] = None,
    district: Annotated[str | None, typer.Option("--district", help="行政区代码 district code")] = None,
    family: Annotated[str | None, typer.Option("--family", help="处置类别 disposal family")] = None,
    limit: Annotated[int, typer.Option("--limit", help="最多显示 rows shown")] = 30,
    workspace: WorkspaceOpt = None, db: DbOpt = None, profile: ProfileOpt = "changzhou-2022",
    as_: ActorOpt = "", user: UserOpt = None, lang: LangOpt = "",
) -> None:
    """案件列表与状态统计 List cases (those your role may see) and count them by state."""
    en = lang_of(lang) == "en"
    ws, prof = Workspace.open(workspace, db), load_profile(profile)
    try:
        df = list_cases(ws.engine, prof, actor_of(as_, user), state=state, district=district, family=family)
    except (CaseError, Forbidden) as exc:
        raise _fail(exc, en) from exc
    if df.empty:
        console.print("No cases." if en else "没有案件。")
        return
    name = "state_en" if en else "state_zh"
    counts = df.groupby(name, sort=False).agg(n=("case_no", "size"), mu=("area_mu", "sum")).reset_index()
    print_frame(counts.rename(columns={name: "状态 state", "n": "案件 cases", "mu": "面积 亩"}).round(1),
                "Cases by state" if en else "案件状态统计")
    shown = df.head(limit)[["case_no", "district_code", "path", name, "version", "area_mu", "tags", "opened_at"]]
    print_frame(shown.assign(area_mu=shown["area_mu"].round(1)).astype(str),
                f"{'Cases' if en else '案件'} ({len(shown)}/{len(df)})")


@cases_app.command("show")
def show(
    case_no: Annotated[str, typer.Argument(help="案件编号 case number")],
    workspace: WorkspaceOpt = None, db: DbOpt = None, profile: ProfileOpt = "changzhou-2022",
    as_: ActorOpt = "", user: UserOpt = None, lang: LangOpt = "",
) -> None:
    """案件详情、可办理环节与办理记录 A case, the moves you may make, and its history."""
    en = lang_of(lang) == "en"
    ws, prof = Workspace.open(workspace, db), load_profile(profile)
    actor = actor_of(as_, user)
    try:
        c = get_case(ws.engine, prof, actor, case_no)
        events = case_events(ws.engine, prof, actor, case_no)
    except (CaseError, Forbidden) as exc:
        raise _fail(exc, en) from exc
    wf = c["workflow"]
    states = {s.key: (s.name_en if en else s.name_zh) for s in wf.params.states}
    facts = {"案件 case": c["case_no"], "行政区 district": c["district_code"], "处置路径 path": c["path"],
             "规则 rule": c["rule_id"], "流程 workflow": wf.id, "状态 state": states[c["state"]],
             "版本 version": c["version"], "面积 area": f"{c['area_mu']:,.2f} 亩", "宗地 parcels": c["n_parcels"],
             "标注 tags": c["tags"], "已录入 values": ", ".join(f"{k}={v}" for k, v in c["data"].items()) or "—"}
    print_frame(pd.DataFrame(facts.items(), columns=["", ""]).astype(str), "Case" if en else "案件")
    moves = [(t.to_state, states[t.to_state], (t.name_en if en else t.name_zh) or "", ", ".join(t.requires))
             for t in c["moves"]]
    if moves:
        print_frame(pd.DataFrame(moves, columns=["to", "状态 state", "环节 step", "需要 requires"]),
                    f"{'You may move it' if en else '可办理'} (--version {c['version']})")
    cols = ["seq", "event_date", "actor", "role", "from_state", "to_state", "comment", "attachment_name"]
    print_frame(events[cols].fillna("").astype(str), "History" if en else "办理记录")


@cases_app.command("move")
def move(
    case_no: Annotated[str, typer.Argument(help="案件编号 case number")],
    to_state: Annotated[str, typer.Argument(help="办理到的状态 target state key")],
    version: VersionOpt,
    set_: Annotated[list[str] | None, typer.Option("--set", help="录入 FIELD=VALUE, e.g. accepted_area_mu=25.3")] = None,
    comment: Annotated[str | None, typer.Option("--comment", help="意见 comment")] = None,
    attach: Annotated[Path | None, typer.Option("--attach", help="附件 file to attach")] = None,
    when: DateOpt = None, workspace: WorkspaceOpt = None, db: DbOpt = None, profile: ProfileOpt = "changzhou-2022",
    as_: ActorOpt = "", user: UserOpt = None, lang: LangOpt = "",
) -> None:
    """办理案件到下一环节 Move a case to another state of its workflow."""
    en = lang_of(lang) == "en"
    values = {}
    for item in set_ or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"应为 FIELD=VALUE：{item}", param_hint="--set")
        values[key.strip()] = value.strip()
    ws, prof = Workspace.open(workspace, db), load_profile(profile)
    try:
        c = transition(ws, prof, actor_of(as_, user), case_no, to_state, version, values=values, comment=comment,
                       attachment=attach, when=_date(when))
    except (CaseError, Forbidden) as exc:
        raise _fail(exc, en) from exc
    name = {s.key: (s.name_en if en else s.name_zh) for s in c["workflow"].params.states}[c["state"]]
    console.print(f"[green]{case_no} → {name}[/] (version {c['version']})")


@cases_app.command("comment")
def comment_(
    case_no: Annotated[str, typer.Argument(help="案件编号 case number")],
    text: Annotated[str, typer.Argument(help="意见 comment")],
    version: VersionOpt,
    attach: Annotated[Path | None, typer.Option("--attach", help="附件 file to attach")] = None,
    when: DateOpt = None, workspace: WorkspaceOpt = None, db: DbOpt = None, profile: ProfileOpt = "changzhou-2022",
    as_: ActorOpt = "", user: UserOpt = None, lang: LangOpt = "",
) -> None:
    """填写意见或上传附件 Comment on a case (optionally with a file) without moving it."""
    en = lang_of(lang) == "en"
    ws, prof = Workspace.open(workspace, db), load_profile(profile)
    try:
        c = add_comment(ws, prof, actor_of(as_, user), case_no, version, text, attachment=attach, when=_date(when))
    except (CaseError, Forbidden) as exc:
        raise _fail(exc, en) from exc
    console.print(f"[green]{case_no}[/] version {c['version']}")
