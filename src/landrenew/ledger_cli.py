"""``landrenew ledger …``: the quota ledger (指标台账) — balances, credit, transfer, spend, compensate,
history, verify. Every command says who acts (``--as ROLE[:DISTRICT]``); the service enforces it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Annotated

import pandas as pd
import typer
from sqlalchemy.exc import SQLAlchemyError

from landrenew import ledger
from landrenew.actors import Actor, Forbidden
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
from landrenew.policy import Profile, ProfileError, load_profile
from landrenew.render import console, print_frame
from landrenew.store import Workspace

ledger_app = typer.Typer(help="指标台账 quota ledger: balances | credit | transfer | spend | compensate | history "
                              "| verify", no_args_is_help=True)

IdOpt = Annotated[str, typer.Option("--id", help="记账编号（客户端自定，重复提交不重复记账） transfer id, chosen by "
                                    "you: a retry with the same id posts once")]
KindOpt = Annotated[str, typer.Option("--kind", help="指标类型 quota kind: linkage | quantity | paddy | "
                                      "grain_capacity | plan")]
KindFilter = Annotated[str | None, typer.Option("--kind", help="指标类型 quota kind")]
DistrictFilter = Annotated[str | None, typer.Option("--district", help="行政区（代码或名称）或 city "
                                                    "district code / name, or city")]
AmountOpt = Annotated[float, typer.Option("--amount", help="数量 amount (亩, or kg for grain capacity)")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="事由 reason")]
DateOpt = Annotated[str | None, typer.Option("--date", help="记账日期 value date YYYY-MM-DD (default today)")]
CaseOpt = Annotated[int | None, typer.Option("--case", help="出清项目编号 clearance case id")]

_BALANCE_HEAD = {"owner": ("账户", "owner"), "owner_name": ("名称", "name"), "kind": ("指标", "kind"),
                 "kind_name": ("指标名称", "kind name"), "unit": ("单位", "unit"), "balance": ("余额", "balance")}
_HISTORY_HEAD = {"seq": ("序号", "#"), "transfer_id": ("记账编号", "id"), "value_date": ("日期", "date"),
                 "transfer_type": ("类型", "type"), "kind_name": ("指标", "kind"), "from_name": ("转出", "from"),
                 "to_name": ("转入", "to"), "amount": ("数量", "amount"), "unit": ("单位", "unit"),
                 "price_yuan_per_mu": ("单价（元）", "price (yuan)"), "reason": ("事由", "reason"),
                 "case_id": ("项目", "case"), "compensates": ("冲正", "compensates"), "actor": ("操作人", "by")}


@dataclass
class _Session:
    """What every command needs: the workspace, the profile, who acts and in which language."""

    ws: Workspace
    profile: Profile
    actor: Actor
    en: bool

    @property
    def lang(self) -> str:
        """``en`` or ``zh``."""
        return "en" if self.en else "zh"

    def say(self, zh: str, en: str) -> str:
        """The message in the session's language."""
        return en if self.en else zh


@contextmanager
def _session(workspace: WorkspaceOpt, db: DbOpt, profile: str, lang: str, as_: str, user: str | None,
             ) -> Iterator[_Session]:
    """Open the workspace and profile; print any refusal or failure clearly and exit 1 (no traceback)."""
    en = lang_of(lang) == "en"
    try:
        s = _Session(Workspace.open(workspace, db), load_profile(profile), actor_of(as_, user), en)
        s.actor.role_of(s.profile)
        yield s
    except (ledger.LedgerError, Forbidden) as exc:
        _fail(exc.en if en else exc.zh, en)
    except ProfileError as exc:
        _fail(str(exc), en)
    except SQLAlchemyError as exc:
        _fail(("database error: " if en else "数据库错误：") + str(exc.__cause__ or exc).splitlines()[0], en)


def _fail(message: str, en: bool) -> None:
    """Print a refusal and exit with code 1."""
    console.print(f"[red]{'Refused' if en else '未执行'}:[/] {message}", highlight=False)
    raise typer.Exit(1)


def _day(text: str | None) -> date:
    """The value date: ``--date`` or today."""
    return ledger.parse_date(text) if text else date.today()


def _owner(s: _Session, text: str | None) -> str | None:
    """The owner key meant by a ``--district`` / ``--from`` / ``--to`` value."""
    return None if text is None else ledger.resolve_owner(s.profile, text)


def _scope(s: _Session, district: str | None) -> tuple[str | None, set[str] | None]:
    """The owner asked for (refused outside a district role's own) and the districts the actor sees."""
    owner = _owner(s, district)
    s.actor.require_district(s.profile, owner)
    return owner, s.actor.districts(s.profile)


def _kind(s: _Session, key: str | None) -> str | None:
    """A known kind key (or None)."""
    return None if key is None else ledger.quota_kind(s.profile, key).key


def _num(x: float) -> str:
    """An amount without useless trailing zeros."""
    return f"{x:,.6f}".rstrip("0").rstrip(".")


def _report(s: _Session, p: ledger.Posted) -> None:
    """One line on what was posted (or found posted before), and the balances after it."""
    kind = ledger.quota_kinds(s.profile)[p.kind]
    head = (s.say("[yellow]已存在，未重复记账[/]", "[yellow]already posted, not posted again[/]") if p.replayed
            else s.say("[green]已记账[/]", "[green]posted[/]"))
    frm, to = (ledger.owner_name(s.profile, o, s.lang) for o in (p.from_owner, p.to_owner))
    console.print(f"{head} #{p.seq} {p.transfer_id}: {kind.name(s.lang)} {_num(p.amount)} {kind.unit_label(s.lang)} "
                  f"{frm} → {to}", highlight=False)
    with s.ws.engine.connect() as conn:
        df = ledger.balances(conn, s.profile, kind=p.kind, lang=s.lang)
    df = df[df["owner"].isin([p.from_owner, p.to_owner])]
    _print_balances(s, df, s.say("记账后余额", "balances after"))


def _print_balances(s: _Session, df: pd.DataFrame, title: str) -> None:
    """The balances table with headers in the session's language."""
    print_frame(df.rename(columns={k: v[s.en] for k, v in _BALANCE_HEAD.items()}), title)


def _post(s: _Session, req: ledger.TransferRequest) -> None:
    """Post ``req`` in its own transaction and report it."""
    with s.ws.engine.begin() as conn:
        posted = ledger.post(conn, req, s.profile, s.actor)
    _report(s, posted)


@ledger_app.command()
def balances(
    district: DistrictFilter = None, kind: KindFilter = None,
    workspace: WorkspaceOpt = None, db: DbOpt = None, profile: ProfileOpt = "changzhou-2022", lang: LangOpt = "",
    as_: ActorOpt = "", user: UserOpt = None,
) -> None:
    """指标余额 Balances of the accounts (a district role sees its own district only)."""
    with _session(workspace, db, profile, lang, as_, user) as s:
        owner, visible = _scope(s, district)
        with s.ws.engine.connect() as conn:
            df = ledger.balances(conn, s.profile, owner=owner, kind=_kind(s, kind), districts=visible, lang=s.lang)
        _print_balances(s, df, s.say("指标余额", "quota balances"))


@ledger_app.command()
def credit(
    transfer_id: IdOpt, to: Annotated[str, typer.Option("--to", help="入账账户 district or city")],
    kind: KindOpt, amount: AmountOpt, reason: ReasonOpt, date_: DateOpt = None, case: CaseOpt = None,
    workspace: WorkspaceOpt = None, db: DbOpt = None, profile: ProfileOpt = "changzhou-2022", lang: LangOpt = "",
    as_: ActorOpt = "", user: UserOpt = None,
) -> None:
    """入账 Credit newly created quota to a district or the city pool."""
    with _session(workspace, db, profile, lang, as_, user) as s:
        _post(s, ledger.TransferRequest(transfer_id, kind, ledger.ISSUED, _owner(s, to), amount, "credit",
                                        _day(date_), reason, case_id=case))


@ledger_app.command()
def transfer(
    transfer_id: IdOpt, from_: Annotated[str, typer.Option("--from", help="转出 district or city")],
    to: Annotated[str, typer.Option("--to", help="转入 district or city")], kind: KindOpt, amount: AmountOpt,
    price: Annotated[float, typer.Option("--price", help="单价 price, 元/亩 (≥ 0)")], reason: ReasonOpt,
    date_: DateOpt = None, case: CaseOpt = None,
    workspace: WorkspaceOpt = None, db: DbOpt = None, profile: ProfileOpt = "changzhou-2022", lang: LangOpt = "",
    as_: ActorOpt = "", user: UserOpt = None,
) -> None:
    """调剂 Transfer quota between districts (or the city pool) at a price."""
    with _session(workspace, db, profile, lang, as_, user) as s:
        _post(s, ledger.TransferRequest(transfer_id, kind, _owner(s, from_), _owner(s, to), amount, "transfer",
                                        _day(date_), reason, price_yuan_per_mu=price, case_id=case))


@ledger_app.command()
def spend(
    transfer_id: IdOpt, district: Annotated[str, typer.Option("--district", help="使用方 district or city")],
    kind: KindOpt, amount: AmountOpt, reason: ReasonOpt, date_: DateOpt = None, case: CaseOpt = None,
    workspace: WorkspaceOpt = None, db: DbOpt = None, profile: ProfileOpt = "changzhou-2022", lang: LangOpt = "",
    as_: ActorOpt = "", user: UserOpt = None,
) -> None:
    """使用 Spend (occupy) quota of a district or the city pool."""
    with _session(workspace, db, profile, lang, as_, user) as s:
        _post(s, ledger.TransferRequest(transfer_id, kind, _owner(s, district), ledger.CONSUMED, amount, "spend",
                                        _day(date_), reason, case_id=case))


@ledger_app.command()
def compensate(
    transfer_id: Annotated[str, typer.Option("--id", help="冲正记账编号 id of the new compensating transfer")],
    of: Annotated[str, typer.Option("--of", help="被冲正的记账编号 id of the transfer to reverse")],
    reason: ReasonOpt, date_: DateOpt = None,
    workspace: WorkspaceOpt = None, db: DbOpt = None, profile: ProfileOpt = "changzhou-2022", lang: LangOpt = "",
    as_: ActorOpt = "", user: UserOpt = None,
) -> None:
    """冲正 Reverse an earlier transfer exactly (once)."""
    with _session(workspace, db, profile, lang, as_, user) as s:
        with s.ws.engine.begin() as conn:
            posted = ledger.compensate(conn, of, transfer_id, reason, s.actor, s.profile, _day(date_))
        _report(s, posted)


@ledger_app.command()
def history(
    district: DistrictFilter = None, kind: KindFilter = None, case: CaseOpt = None,
    limit: Annotated[int | None, typer.Option("--limit", help="只列最近 N 笔 only the last N")] = None,
    workspace: WorkspaceOpt = None, db: DbOpt = None, profile: ProfileOpt = "changzhou-2022", lang: LangOpt = "",
    as_: ActorOpt = "", user: UserOpt = None,
) -> None:
    """记账明细 The transfers in posting order (a district role sees those touching its district)."""
    with _session(workspace, db, profile, lang, as_, user) as s:
        owner, visible = _scope(s, district)
        with s.ws.engine.connect() as conn:
            df = ledger.history(conn, s.profile, owner=owner, kind=_kind(s, kind), case_id=case, limit=limit,
                                districts=visible, lang=s.lang)
        if not s.en:
            df["transfer_type"] = df["transfer_type"].map(ledger.type_name)
        df = df[list(_HISTORY_HEAD)].astype({"value_date": str})
        print_frame(df.rename(columns={k: v[s.en] for k, v in _HISTORY_HEAD.items()}),
                    s.say("记账明细", "ledger history"))


@ledger_app.command()
def verify(
    workspace: WorkspaceOpt = None, db: DbOpt = None, profile: ProfileOpt = "changzhou-2022", lang: LangOpt = "",
    as_: ActorOpt = "", user: UserOpt = None,
) -> None:
    """核对台账 Recompute every balance from the transfers and check the ledger; exit 1 on any problem."""
    with _session(workspace, db, profile, lang, as_, user) as s:
        with s.ws.engine.connect() as conn:
            report = ledger.verify(conn, s.profile)
        counts = s.say(f"{report.accounts} 个账户，{report.transfers} 笔记账，{report.kinds} 类指标",
                       f"{report.accounts} accounts, {report.transfers} transfers, {report.kinds} kinds")
        if report.ok:
            console.print(f"[green]✓[/] {s.say('台账一致', 'ledger consistent')}: {counts}", highlight=False)
            return
        print_frame(report.frame(s.lang).rename(columns={"code": s.say("检查", "check"),
                                                         "problem": s.say("问题", "problem")}),
                    s.say(f"台账不一致：{len(report.problems)} 处问题", f"ledger inconsistent: "
                          f"{len(report.problems)} problem(s)"))
        console.print(counts, highlight=False)
        raise typer.Exit(1)
