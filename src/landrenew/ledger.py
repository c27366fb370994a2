"""The quota ledger (指标台账): double-entry accounts of every quota kind of the policy.

Each quota rule of the profile is a ledger *kind* (增减挂钩节余指标, 补充耕地数量 / 水田 /
粮食产能, 增存挂钩计划指标). An account is one owner's holding of one kind; owners are the
districts, the city pool (``operations.ledger.params.city_owner``) and two system owners:
``issued`` (where credited quota comes from) and ``consumed`` (where spent quota goes). Every
posting moves an amount from one account to another of the same kind, so the balances of a kind
always sum to zero; only the system accounts may go below zero.

:func:`post` runs inside the caller's transaction (a Connection from ``engine.begin()``), so a case
transition can credit its quota atomically with its event. Postings are idempotent by their
client-chosen ``transfer_id``. On PostgreSQL both accounts are locked ``FOR UPDATE`` in id order
before the balance check; on SQLite the database serialises writers.

>>> with ws.engine.begin() as conn:                                          # doctest: +SKIP
...     credit(conn, transfer_id="case-17-linkage", kind="linkage", to_owner="320412",
...            amount=12.5, reason="验收入账", actor=actor, profile=profile,
...            value_date=date(2025, 3, 1), case_id=17)
"""

from __future__ import annotations

import math
import numbers
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Select, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from landrenew.actors import Actor, Forbidden
from landrenew.policy import Profile
from landrenew.store import chain
from landrenew.store.models import ClearanceCase, QuotaAccount, QuotaTransfer

ISSUED = "issued"
CONSUMED = "consumed"
SYSTEM_OWNERS = (ISSUED, CONSUMED)
TYPES = ("credit", "transfer", "spend", "compensate")
LINKAGE, PLAN = "linkage", "plan"

#: rounding slack of float balances when checking an overdraft (numerics, not policy)
EPSILON = 1e-9
#: tolerance of ``verify`` when comparing balances (relative to the magnitude when above 1)
VERIFY_TOLERANCE = 1e-6
TRANSFER_ID_MAX = 64

# Display names of the ledger kinds (labels only; amounts and ratios live in the profile).
_KIND_NAMES: dict[str, tuple[str, str]] = {
    LINKAGE: ("增减挂钩节余指标", "linkage surplus quota"),
    "quantity": ("补充耕地数量指标", "farmland quantity"),
    "paddy": ("补充水田指标", "paddy field"),
    "grain_capacity": ("补充粮食产能指标", "grain capacity"),
    PLAN: ("增存挂钩新增建设用地计划指标", "plan quota (stock linkage)"),
}
_UNIT_LABELS: dict[str, tuple[str, str]] = {"mu": ("亩", "mu"), "kg": ("公斤", "kg")}
_SYSTEM_NAMES: dict[str, tuple[str, str]] = {
    ISSUED: ("指标来源（系统）", "issued (system)"),
    CONSUMED: ("已使用（系统）", "consumed (system)"),
}
_CITY_NAME = ("市级统筹", "city pool")
_ACTIONS: dict[str, tuple[str, str]] = {
    "credit": ("入账指标", "credit quota"),
    "transfer": ("调剂指标", "transfer quota"),
    "spend": ("使用指标", "spend quota"),
    "compensate": ("冲正指标", "compensate a transfer"),
}
_TYPE_NAMES: dict[str, tuple[str, str]] = {
    "credit": ("入账", "credit"), "transfer": ("调剂", "transfer"),
    "spend": ("使用", "spend"), "compensate": ("冲正", "compensate"),
}


class LedgerError(ValueError):
    """A posting was refused (message in Chinese and English)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


# --------------------------------------------------------------------------- kinds and owners


@dataclass(frozen=True)
class QuotaKind:
    """A kind of quota kept in the ledger, one per quota rule of the profile."""

    key: str
    name_zh: str
    name_en: str
    unit: str  # unit key of the profile: mu | kg
    rule_id: str

    def name(self, lang: str = "zh") -> str:
        """The kind's name in ``lang``."""
        return self.name_en if lang == "en" else self.name_zh

    def unit_label(self, lang: str = "zh") -> str:
        """The unit as shown to users (亩, 公斤)."""
        zh, en = _UNIT_LABELS.get(self.unit, (self.unit, self.unit))
        return en if lang == "en" else zh


def quota_kinds(profile: Profile) -> dict[str, QuotaKind]:
    """The ledger kinds of ``profile``: linkage, each 占补平衡 balance kind, and plan."""
    q = profile.quota
    entries = [(LINKAGE, "mu", q.linkage.id)]
    entries += [(b.params.kind, b.params.unit, b.id) for b in q.balance]
    entries.append((PLAN, "mu", q.stock_linkage.id))
    kinds: dict[str, QuotaKind] = {}
    for key, unit, rule_id in entries:
        if key in kinds:
            raise ValueError(f"quota kind {key!r} is defined twice ({kinds[key].rule_id}, {rule_id})")
        zh, en = _KIND_NAMES.get(key, (f"指标（{key}）", f"quota ({key})"))
        kinds[key] = QuotaKind(key, zh, en, unit, rule_id)
    return kinds


def kind_for_rule(profile: Profile, rule_id: str) -> QuotaKind:
    """The ledger kind credited by a quota rule (e.g. a disposal path's ``yields_quota``)."""
    for k in quota_kinds(profile).values():
        if k.rule_id == rule_id:
            return k
    raise KeyError(rule_id)


def city_owner(profile: Profile) -> str:
    """The owner key of the city pool account."""
    return profile.operations.ledger.params.city_owner


def owners(profile: Profile) -> list[str]:
    """Every valid owner: the district codes, the city pool, then the system owners."""
    return [*profile.city.district_codes, city_owner(profile), *SYSTEM_OWNERS]


def side_of(profile: Profile, owner: str) -> str:
    """``district``, ``city`` or ``system``; a :class:`LedgerError` for an unknown owner."""
    if owner in SYSTEM_OWNERS:
        return "system"
    if owner == city_owner(profile):
        return "city"
    if owner in profile.city.district_codes:
        return "district"
    valid = ", ".join(owners(profile))
    raise LedgerError(f"未知账户主体 {owner}（可选：{valid}）", f"unknown account owner {owner} (one of {valid})")


def type_name(transfer_type: str, lang: str = "zh") -> str:
    """The name of a transfer type (入账, 调剂, 使用, 冲正)."""
    zh, en = _TYPE_NAMES.get(transfer_type, (transfer_type, transfer_type))
    return en if lang == "en" else zh


def owner_name(profile: Profile, owner: str, lang: str = "zh") -> str:
    """A readable name of an owner (the district's name, 市级统筹, or a system account)."""
    en = lang == "en"
    if owner in _SYSTEM_NAMES:
        return _SYSTEM_NAMES[owner][en]
    if owner == city_owner(profile):
        return _CITY_NAME[en]
    try:
        d = profile.city.district(owner)
    except KeyError:
        return owner
    return d.name_en if en else d.name_zh


def resolve_owner(profile: Profile, text: str) -> str:
    """The owner key meant by ``text``: a district code, id or name, the city pool, or a system owner."""
    t = text.strip()
    if t in owners(profile):
        return t
    if t in (_CITY_NAME[0], "市", "市级"):
        return city_owner(profile)
    for d in profile.city.districts:
        if d.code and t in (d.id, d.name_zh, d.name_en):
            return d.code
    side_of(profile, t)  # raises with the list of valid owners
    return t


# --------------------------------------------------------------------------- requests and postings


@dataclass(frozen=True)
class TransferRequest:
    """What a client asks to post; ``transfer_id`` makes a retry find the first posting."""

    transfer_id: str
    kind: str
    from_owner: str
    to_owner: str
    amount: float
    transfer_type: str
    value_date: date
    reason: str
    price_yuan_per_mu: float | None = None
    case_id: int | None = None
    rule_id: str | None = None
    compensates: str | None = None


@dataclass(frozen=True)
class Posted:
    """A transfer as stored; ``replayed`` when the request found an earlier identical posting."""

    seq: int
    transfer_id: str
    kind: str
    from_owner: str
    to_owner: str
    amount: float
    transfer_type: str
    value_date: date
    reason: str
    price_yuan_per_mu: float | None
    case_id: int | None
    rule_id: str | None
    compensates: str | None
    actor: str
    recorded_at: datetime
    replayed: bool = False


_CONTENT = ("kind", "from_owner", "to_owner", "amount", "transfer_type", "value_date", "reason",
            "price_yuan_per_mu", "case_id", "rule_id", "compensates")


def post(conn: Connection, transfer: TransferRequest, profile: Profile, actor: Actor) -> Posted:
    """Post one transfer inside the caller's transaction, or return the earlier identical posting.

    Refuses (:class:`LedgerError`, :class:`~landrenew.actors.Forbidden`) a malformed request, an
    owner pair the transfer type does not allow, an overdraft, a used id with other content, a
    second compensation, and an actor without the permission or outside the district.
    """
    req = _normalise(transfer, profile)
    _check_pair(profile, req)
    _authorise(profile, actor, req)
    original = _original_of(conn, req) if req.transfer_type == "compensate" else None
    _check_case(conn, req.case_id)
    existing = find(conn, req.transfer_id)
    if existing is not None:
        return _replay(existing, req)
    _refuse_missing_source(conn, profile, req)
    ids = _ensure_accounts(conn, req.kind, req.from_owner, req.to_owner)
    locked = _lock(conn, ids)
    existing = find(conn, req.transfer_id)  # a concurrent retry may have posted while we waited
    if existing is not None:
        return _replay(existing, req)
    if original is not None:
        _refuse_second_compensation(conn, original)
    _refuse_overdraft(profile, req, locked[ids[req.from_owner]])
    return _write(conn, req, ids, actor)


def _write(conn: Connection, req: TransferRequest, ids: dict[str, int], actor: Actor) -> Posted:
    """Insert the transfer and move the balances in a savepoint; a concurrent duplicate id replays."""
    try:
        with conn.begin_nested():
            seq = _insert_transfer(conn, req, ids, actor)
            _move(conn, ids[req.from_owner], ids[req.to_owner], req.amount)
    except IntegrityError:
        existing = find(conn, req.transfer_id)
        if existing is None:
            raise
        return _replay(existing, req)
    posted = _read(conn, QuotaTransfer.id == seq)
    assert posted is not None
    return posted


def credit(conn: Connection, *, transfer_id: str, kind: str, to_owner: str, amount: float, reason: str,
           actor: Actor, profile: Profile, value_date: date, case_id: int | None = None,
           rule_id: str | None = None) -> Posted:
    """Credit newly created quota (e.g. accepted reclamation) from ``issued`` to a district or the city."""
    return post(conn, TransferRequest(transfer_id, kind, ISSUED, to_owner, amount, "credit", value_date, reason,
                                      case_id=case_id, rule_id=rule_id), profile, actor)


def spend(conn: Connection, *, transfer_id: str, kind: str, from_owner: str, amount: float, reason: str,
          actor: Actor, profile: Profile, value_date: date, case_id: int | None = None,
          rule_id: str | None = None) -> Posted:
    """Spend (occupy) quota of a district or the city: it goes to ``consumed``."""
    return post(conn, TransferRequest(transfer_id, kind, from_owner, CONSUMED, amount, "spend", value_date, reason,
                                      case_id=case_id, rule_id=rule_id), profile, actor)


def transfer(conn: Connection, *, transfer_id: str, kind: str, from_owner: str, to_owner: str, amount: float,
             price_yuan_per_mu: float, reason: str, actor: Actor, profile: Profile, value_date: date,
             case_id: int | None = None) -> Posted:
    """Transfer (调剂) quota between districts or the city pool, at a price per unit."""
    return post(conn, TransferRequest(transfer_id, kind, from_owner, to_owner, amount, "transfer", value_date, reason,
                                      price_yuan_per_mu=price_yuan_per_mu, case_id=case_id), profile, actor)


def compensate(conn: Connection, transfer_id: str, new_id: str, reason: str, actor: Actor, profile: Profile,
               value_date: date) -> Posted:
    """Reverse transfer ``transfer_id`` with a new transfer ``new_id`` (at most once per transfer)."""
    original = find(conn, transfer_id)
    if original is None:
        raise LedgerError(f"找不到要冲正的记账 {transfer_id}", f"no transfer {transfer_id} to compensate")
    req = TransferRequest(new_id, original.kind, original.to_owner, original.from_owner, original.amount,
                          "compensate", value_date, reason, price_yuan_per_mu=original.price_yuan_per_mu,
                          case_id=original.case_id, rule_id=original.rule_id, compensates=transfer_id)
    return post(conn, req, profile, actor)


# --------------------------------------------------------------------------- checks of a request


def _normalise(req: TransferRequest, profile: Profile) -> TransferRequest:
    """The request with its values checked and defaults filled (rule id of the kind, date, reason)."""
    tid = (req.transfer_id or "").strip()
    if not tid or len(tid) > TRANSFER_ID_MAX:
        raise LedgerError(f"记账编号须为 1–{TRANSFER_ID_MAX} 个字符：{req.transfer_id!r}",
                          f"a transfer id must have 1–{TRANSFER_ID_MAX} characters: {req.transfer_id!r}")
    if req.transfer_type not in TYPES:
        raise LedgerError(f"未知记账类型 {req.transfer_type}（可选：{'、'.join(TYPES)}）",
                          f"unknown transfer type {req.transfer_type} (one of {', '.join(TYPES)})")
    kind = quota_kind(profile, req.kind)
    amount = _number(req.amount, "数量", "amount")
    if amount <= 0:
        raise LedgerError(f"记账 {tid}：数量须大于 0（{req.amount}）", f"transfer {tid}: amount must be > 0 ({req.amount})")
    price = None if req.price_yuan_per_mu is None else _number(req.price_yuan_per_mu, "单价", "price")
    if price is not None and price < 0:
        raise LedgerError(f"记账 {tid}：单价不得为负（{price:g} 元/亩）", f"transfer {tid}: price may not be negative ({price:g})")
    if req.transfer_type == "transfer" and price is None:
        raise LedgerError(f"调剂 {tid} 须填写单价（元/亩，≥ 0）", f"transfer {tid} needs a price (yuan per mu, ≥ 0)")
    reason = (req.reason or "").strip()
    if not reason:
        raise LedgerError(f"记账 {tid} 须填写事由", f"transfer {tid} needs a reason")
    if (req.transfer_type == "compensate") != bool(req.compensates):
        raise LedgerError(f"记账 {tid}：只有冲正记账须注明所冲正的记账编号",
                          f"transfer {tid}: exactly the compensations name the transfer they reverse")
    case_id = None if req.case_id is None else int(req.case_id)
    return replace(req, transfer_id=tid, amount=amount, price_yuan_per_mu=price, reason=reason, case_id=case_id,
                   value_date=parse_date(req.value_date), rule_id=req.rule_id or kind.rule_id)


def quota_kind(profile: Profile, key: str) -> QuotaKind:
    """The ledger kind ``key`` of the profile, or a :class:`LedgerError` listing the kinds."""
    kinds = quota_kinds(profile)
    if key not in kinds:
        raise LedgerError(f"未知指标类型 {key}（可选：{'、'.join(kinds)}）", f"unknown quota kind {key} (one of {', '.join(kinds)})")
    return kinds[key]


def _number(v: Any, zh: str, en: str) -> float:
    """``v`` as a finite float, else a :class:`LedgerError`."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise LedgerError(f"{zh}须为有限数值：{v!r}", f"{en} must be a finite number: {v!r}")
    return float(v)


def parse_date(v: Any) -> date:
    """A value date from a date (a datetime keeps its date) or ISO text (YYYY-MM-DD)."""
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v))
    except ValueError:
        raise LedgerError(f"记账日期应为 YYYY-MM-DD：{v!r}", f"the value date must be YYYY-MM-DD: {v!r}") from None


def _check_pair(profile: Profile, req: TransferRequest) -> None:
    """Refuse owners the transfer type does not move between (a compensation was checked already)."""
    src, dst = side_of(profile, req.from_owner), side_of(profile, req.to_owner)
    if req.from_owner == req.to_owner:
        raise LedgerError(f"记账 {req.transfer_id}：转出与转入账户相同（{req.from_owner}）",
                          f"transfer {req.transfer_id}: from and to are the same account ({req.from_owner})")
    holders = ("district", "city")
    allowed = {
        "credit": req.from_owner == ISSUED and dst in holders,
        "spend": src in holders and req.to_owner == CONSUMED,
        "transfer": src in holders and dst in holders,
        "compensate": True,
    }[req.transfer_type]
    if not allowed:
        zh, en = _TYPE_NAMES[req.transfer_type]
        raise LedgerError(
            f"记账 {req.transfer_id}：{zh}不能从 {req.from_owner} 记到 {req.to_owner}"
            f"（入账：{ISSUED} → 区/市；使用：区/市 → {CONSUMED}；调剂：区/市 ↔ 区/市）",
            f"transfer {req.transfer_id}: a {en} cannot go from {req.from_owner} to {req.to_owner} "
            f"(credit: {ISSUED} → district/city; spend: district/city → {CONSUMED}; transfer: district/city ↔ district/city)")


def _original_of(conn: Connection, req: TransferRequest) -> Posted:
    """The transfer a compensation reverses: it must exist, not be a compensation, and be exactly reversed."""
    assert req.compensates is not None
    original = find(conn, req.compensates)
    if original is None:
        raise LedgerError(f"找不到要冲正的记账 {req.compensates}", f"no transfer {req.compensates} to compensate")
    if original.transfer_type == "compensate":
        raise LedgerError(f"记账 {req.compensates} 本身是冲正，不能再冲正",
                          f"transfer {req.compensates} is a compensation and cannot be compensated")
    exact = (req.kind == original.kind and req.from_owner == original.to_owner
             and req.to_owner == original.from_owner and math.isclose(req.amount, original.amount, rel_tol=1e-12))
    if not exact:
        raise LedgerError(
            f"冲正 {req.transfer_id} 须与记账 {req.compensates} 完全相反（{original.kind}，{original.to_owner} → "
            f"{original.from_owner}，{original.amount:g}）",
            f"compensation {req.transfer_id} must exactly reverse {req.compensates} ({original.kind}, "
            f"{original.to_owner} → {original.from_owner}, {original.amount:g})")
    return original


def _authorise(profile: Profile, actor: Actor, req: TransferRequest) -> None:
    """The actor's role must be allowed this type; a district role may only touch its own district's accounts."""
    roles = profile.operations.ledger.params.permissions.get(req.transfer_type, [])
    zh, en = _ACTIONS[req.transfer_type]
    actor.require(profile, roles, zh, en)
    mine = actor.districts(profile)
    for owner in (req.from_owner, req.to_owner):
        side = side_of(profile, owner)
        if side == "district":
            actor.require_district(profile, owner)
        elif side == "city" and mine is not None:
            raise Forbidden(f"区级角色无权{zh}：不能动用{_CITY_NAME[0]}账户",
                            f"a district role may not {en} on the {_CITY_NAME[1]} account")


def _check_case(conn: Connection, case_id: int | None) -> None:
    """Refuse a posting naming a case that does not exist."""
    if case_id is None:
        return
    if conn.execute(select(ClearanceCase.id).where(ClearanceCase.id == case_id)).first() is None:
        raise LedgerError(f"找不到出清项目 {case_id}", f"no clearance case {case_id}")


def _replay(existing: Posted, req: TransferRequest) -> Posted:
    """The earlier posting when its content equals the request's, else a :class:`LedgerError` naming the id."""
    differ = [f for f in _CONTENT if not _same(getattr(existing, f), getattr(req, f))]
    if differ:
        raise LedgerError(
            f"记账编号 {req.transfer_id} 已用于另一笔内容不同的记账（不同：{'、'.join(differ)}），请换用新编号",
            f"transfer id {req.transfer_id} is already used by a posting with other content "
            f"(differs in {', '.join(differ)}); use a new id")
    return replace(existing, replayed=True)


def _same(a: Any, b: Any) -> bool:
    """Equal content; floats compare to rounding."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)
    return a == b


def _overdraft(profile: Profile, req: TransferRequest, balance: float) -> LedgerError:
    """The refusal of a transfer larger than its source's balance."""
    kind = quota_kind(profile, req.kind)
    who_zh, who_en = owner_name(profile, req.from_owner), owner_name(profile, req.from_owner, "en")
    return LedgerError(
        f"余额不足：{who_zh}（{req.from_owner}）的{kind.name_zh}余额 {balance:,.6g} {kind.unit_label()}，"
        f"不足以转出 {req.amount:,.6g} {kind.unit_label()}（记账 {req.transfer_id}）",
        f"insufficient balance: {who_en} ({req.from_owner}) holds {balance:,.6g} {kind.unit_label('en')} of "
        f"{kind.name_en}, cannot move {req.amount:,.6g} {kind.unit_label('en')} (transfer {req.transfer_id})")


def _refuse_missing_source(conn: Connection, profile: Profile, req: TransferRequest) -> None:
    """Refuse before creating anything when a non-system source has no account yet (balance 0)."""
    if req.from_owner in SYSTEM_OWNERS:
        return
    if _account_id(conn, req.from_owner, req.kind) is None:
        raise _overdraft(profile, req, 0.0)


def _refuse_overdraft(profile: Profile, req: TransferRequest, balance: float) -> None:
    """Refuse a transfer that would take a non-system account below zero."""
    if req.from_owner not in SYSTEM_OWNERS and req.amount > balance + EPSILON:
        raise _overdraft(profile, req, balance)


def _refuse_second_compensation(conn: Connection, original: Posted) -> None:
    """Refuse compensating a transfer that was compensated already (checked under the accounts' locks)."""
    done = conn.execute(select(QuotaTransfer.transfer_id).where(QuotaTransfer.compensates == original.transfer_id)
                        ).scalar()
    if done is not None:
        raise LedgerError(f"记账 {original.transfer_id} 已由 {done} 冲正，不能重复冲正",
                          f"transfer {original.transfer_id} was already compensated by {done}")


# --------------------------------------------------------------------------- storage


def _account_id(conn: Connection, owner: str, kind: str) -> int | None:
    """The id of the (owner, kind) account, None when it does not exist yet."""
    return conn.execute(select(QuotaAccount.id).where(QuotaAccount.owner == owner, QuotaAccount.kind == kind)
                        ).scalar()


def _ensure_accounts(conn: Connection, kind: str, *owners_: str) -> dict[str, int]:
    """Create the missing accounts (``INSERT … ON CONFLICT DO NOTHING``) and return owner → id."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for owner in sorted(set(owners_)):
        conn.execute(insert(QuotaAccount).values(owner=owner, kind=kind, balance=0.0)
                     .on_conflict_do_nothing(index_elements=["owner", "kind"]))
    rows = conn.execute(select(QuotaAccount.owner, QuotaAccount.id)
                        .where(QuotaAccount.kind == kind, QuotaAccount.owner.in_(owners_)))
    return dict(rows.all())


def _lock(conn: Connection, ids: dict[str, int]) -> dict[int, float]:
    """Lock the accounts ``FOR UPDATE`` one by one in id order (no deadlock); id → current balance."""
    locked: dict[int, float] = {}
    for account_id in sorted(set(ids.values())):
        q = select(QuotaAccount.balance).where(QuotaAccount.id == account_id).with_for_update()
        locked[account_id] = conn.execute(q).scalar_one()
    return locked


def _insert_transfer(conn: Connection, req: TransferRequest, ids: dict[str, int], actor: Actor) -> int:
    """Insert the transfer row; its id is the posting order."""
    values = {f: getattr(req, f) for f in ("transfer_id", "kind", "amount", "transfer_type", "price_yuan_per_mu",
                                           "reason", "case_id", "rule_id", "compensates", "value_date")}
    values.update(debit_account_id=ids[req.from_owner], credit_account_id=ids[req.to_owner], actor=actor.name,
                  recorded_at=datetime.now(UTC))
    row = conn.execute(QuotaTransfer.__table__.insert().values(**chain.chained(conn, "quota_transfer", [values])[0])
                       .returning(QuotaTransfer.id))
    return row.scalar_one()


def _move(conn: Connection, debit_id: int, credit_id: int, amount: float) -> None:
    """Update the cached balances of both (locked) accounts."""
    conn.execute(update(QuotaAccount).where(QuotaAccount.id == debit_id).values(balance=QuotaAccount.balance - amount))
    conn.execute(update(QuotaAccount).where(QuotaAccount.id == credit_id).values(balance=QuotaAccount.balance + amount))


_DEBIT, _CREDIT = aliased(QuotaAccount, name="debit_account"), aliased(QuotaAccount, name="credit_account")


def _transfers_query() -> Select:
    """Transfers with the owners of both accounts, in posting order."""
    debit, credit_ = _DEBIT, _CREDIT
    t = QuotaTransfer
    return (select(t.id.label("seq"), t.transfer_id, t.kind, debit.owner.label("from_owner"),
                   credit_.owner.label("to_owner"), t.amount, t.transfer_type, t.value_date, t.reason,
                   t.price_yuan_per_mu, t.case_id, t.rule_id, t.compensates, t.actor, t.recorded_at)
            .join(debit, debit.id == t.debit_account_id).join(credit_, credit_.id == t.credit_account_id)
            .order_by(t.id))


def _read(conn: Connection, where: Any) -> Posted | None:
    """The posting matching ``where`` (a condition on QuotaTransfer), None when there is none."""
    row = conn.execute(_transfers_query().where(where)).mappings().first()
    return None if row is None else Posted(**row)


def find(conn: Connection, transfer_id: str) -> Posted | None:
    """The posting with client id ``transfer_id``, None when there is none."""
    return _read(conn, QuotaTransfer.transfer_id == transfer_id)


# --------------------------------------------------------------------------- reading


def balances(conn: Connection, profile: Profile, owner: str | None = None, kind: str | None = None,
             districts: Iterable[str] | None = None, lang: str = "zh") -> pd.DataFrame:
    """Balances of the accounts: owner, owner_name, kind, kind_name, unit, balance.

    ``districts`` (e.g. ``actor.districts(profile)``) limits the accounts to those districts'.
    """
    q = select(QuotaAccount.owner, QuotaAccount.kind, QuotaAccount.balance)
    if owner is not None:
        q = q.where(QuotaAccount.owner == owner)
    if kind is not None:
        q = q.where(QuotaAccount.kind == kind)
    if districts is not None:
        q = q.where(QuotaAccount.owner.in_(list(districts)))
    df = pd.DataFrame(conn.execute(q).all(), columns=["owner", "kind", "balance"])
    kinds = quota_kinds(profile)
    df["owner_name"] = [owner_name(profile, o, lang) for o in df["owner"]]
    df["kind_name"] = [kinds[k].name(lang) if k in kinds else k for k in df["kind"]]
    df["unit"] = [kinds[k].unit_label(lang) if k in kinds else "" for k in df["kind"]]
    df = _sorted(df, profile, kinds)
    return df[["owner", "owner_name", "kind", "kind_name", "unit", "balance"]].astype({"balance": float})


def _sorted(df: pd.DataFrame, profile: Profile, kinds: dict[str, QuotaKind]) -> pd.DataFrame:
    """Rows by kind (profile order) then owner (districts, city, system)."""
    kind_rank = {k: i for i, k in enumerate(kinds)}
    owner_rank = {o: i for i, o in enumerate(owners(profile))}
    order = sorted(range(len(df)), key=lambda i: (kind_rank.get(df["kind"].iat[i], len(kind_rank)),
                                                  owner_rank.get(df["owner"].iat[i], len(owner_rank)),
                                                  str(df["owner"].iat[i])))
    return df.iloc[order].reset_index(drop=True)


HISTORY_COLUMNS = ["seq", "transfer_id", "value_date", "transfer_type", "kind", "kind_name", "from_owner", "from_name",
                   "to_owner", "to_name", "amount", "unit", "price_yuan_per_mu", "reason", "case_id", "rule_id",
                   "compensates", "actor", "recorded_at"]


def history(conn: Connection, profile: Profile, owner: str | None = None, kind: str | None = None,
            case_id: int | None = None, limit: int | None = None, districts: Iterable[str] | None = None,
            lang: str = "zh") -> pd.DataFrame:
    """The transfers in posting order (the last ``limit`` when given), touching ``owner`` / ``districts``."""
    q = _transfers_query()
    debit, credit_ = _DEBIT.owner, _CREDIT.owner
    if owner is not None:
        q = q.where(or_(debit == owner, credit_ == owner))
    if districts is not None:
        visible = list(districts)
        q = q.where(or_(debit.in_(visible), credit_.in_(visible)))
    if kind is not None:
        q = q.where(QuotaTransfer.kind == kind)
    if case_id is not None:
        q = q.where(QuotaTransfer.case_id == case_id)
    if limit is not None:
        q = q.order_by(None).order_by(QuotaTransfer.id.desc()).limit(limit)
    rows = sorted(conn.execute(q).mappings().all(), key=lambda r: r["seq"])
    return _history_frame([dict(r) for r in rows], profile, lang)


def _history_frame(rows: list[dict], profile: Profile, lang: str) -> pd.DataFrame:
    """Rows of transfers with readable names of kinds, owners and units."""
    kinds = quota_kinds(profile)
    for r in rows:
        k = kinds.get(r["kind"])
        r["kind_name"] = k.name(lang) if k else r["kind"]
        r["unit"] = k.unit_label(lang) if k else ""
        r["from_name"] = owner_name(profile, r["from_owner"], lang)
        r["to_name"] = owner_name(profile, r["to_owner"], lang)
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class Problem:
    """One inconsistency found by :func:`verify`."""

    code: str
    zh: str
    en: str


@dataclass
class VerifyReport:
    """What :func:`verify` found: problems (empty = consistent) and how much it checked."""

    problems: list[Problem] = field(default_factory=list)
    accounts: int = 0
    transfers: int = 0
    kinds: int = 0

    @property
    def ok(self) -> bool:
        """True when the ledger is consistent."""
        return not self.problems

    def frame(self, lang: str = "zh") -> pd.DataFrame:
        """The problems as a table (code, problem)."""
        return pd.DataFrame([(p.code, p.en if lang == "en" else p.zh) for p in self.problems],
                            columns=["code", "problem"])


def verify(conn: Connection, profile: Profile) -> VerifyReport:
    """Recompute the ledger from its transfers and report every inconsistency.

    Checks: each cached balance equals the sum of its transfers; replayed in posting order, no
    non-system balance ever goes below zero; per kind all balances sum to zero; each transfer has
    a positive finite amount, two distinct accounts of its kind and owners its type allows; each
    compensation exactly reverses one earlier non-compensation, at most once.
    """
    accounts = {r.id: r for r in conn.execute(select(QuotaAccount)).all()}
    transfers = [dict(r) for r in conn.execute(select(QuotaTransfer).order_by(QuotaTransfer.id)).mappings()]
    found: list[Problem] = []
    found += _verify_rows(profile, accounts, transfers)
    found += _verify_cached(accounts, transfers)
    found += _verify_never_negative(accounts, transfers)
    found += _verify_sums(accounts)
    found += _verify_compensations(accounts, transfers)
    return VerifyReport(found, len(accounts), len(transfers), len({a.kind for a in accounts.values()}))


def _close(a: float, b: float) -> bool:
    """Equal within the verify tolerance (relative above magnitude 1)."""
    return abs(a - b) <= VERIFY_TOLERANCE * max(1.0, abs(a), abs(b))


def _label(accounts: dict[int, Any], account_id: int) -> str:
    """``owner/kind`` of an account id (or ``#id`` when it does not exist)."""
    a = accounts.get(account_id)
    return f"{a.owner}/{a.kind}" if a is not None else f"#{account_id}"


def _verify_rows(profile: Profile, accounts: dict[int, Any], transfers: list[dict]) -> list[Problem]:
    """Amounts, accounts, kinds and owner pairs of every transfer."""
    out: list[Problem] = []
    kinds = quota_kinds(profile)
    for t in transfers:
        tid, amount = t["transfer_id"], t["amount"]
        if amount is None or not math.isfinite(amount) or amount <= 0:
            out.append(Problem("amount", f"记账 {tid} 的数量 {amount} 不大于 0", f"transfer {tid} has amount {amount} ≤ 0"))
        if t["kind"] not in kinds:
            out.append(Problem("kind", f"记账 {tid} 的指标类型 {t['kind']} 不在政策配置中",
                               f"transfer {tid} has kind {t['kind']} unknown to the profile"))
        for side in ("debit_account_id", "credit_account_id"):
            a = accounts.get(t[side])
            if a is None or a.kind != t["kind"]:
                out.append(Problem("account", f"记账 {tid} 的账户 {_label(accounts, t[side])} 不存在或不是 {t['kind']} 类",
                                   f"transfer {tid}: account {_label(accounts, t[side])} missing or not of kind {t['kind']}"))
        out += _verify_pair(profile, accounts, t)
    return out


def _verify_pair(profile: Profile, accounts: dict[int, Any], t: dict) -> list[Problem]:
    """The owners of a stored transfer must be allowed by its type."""
    src, dst = accounts.get(t["debit_account_id"]), accounts.get(t["credit_account_id"])
    if src is None or dst is None or t["transfer_type"] == "compensate":
        return []
    try:
        _check_pair(profile, TransferRequest(t["transfer_id"], t["kind"], src.owner, dst.owner, 1.0,
                                             t["transfer_type"], t["value_date"], "-"))
    except LedgerError as exc:
        return [Problem("pair", exc.zh, exc.en)]
    return []


def _recomputed(transfers: list[dict]) -> dict[int, float]:
    """Account id → balance from the transfers, summed in posting order."""
    total: dict[int, float] = defaultdict(float)
    for t in transfers:
        total[t["debit_account_id"]] -= t["amount"]
        total[t["credit_account_id"]] += t["amount"]
    return total


def _verify_cached(accounts: dict[int, Any], transfers: list[dict]) -> list[Problem]:
    """Each cached balance equals the balance recomputed from the transfers."""
    total = _recomputed(transfers)
    out = []
    for a in accounts.values():
        if not _close(a.balance, total.get(a.id, 0.0)):
            out.append(Problem("balance", f"账户 {a.owner}/{a.kind} 余额 {a.balance:,.6g}，按记账重算为 {total.get(a.id, 0.0):,.6g}",
                               f"account {a.owner}/{a.kind} holds {a.balance:,.6g}, its transfers give "
                               f"{total.get(a.id, 0.0):,.6g}"))
    return out


def _verify_never_negative(accounts: dict[int, Any], transfers: list[dict]) -> list[Problem]:
    """Replayed in posting order, no non-system account goes below zero (reported once per account)."""
    running: dict[int, float] = defaultdict(float)
    flagged: set[int] = set()
    out = []
    for t in transfers:
        running[t["debit_account_id"]] -= t["amount"]
        running[t["credit_account_id"]] += t["amount"]
        a = accounts.get(t["debit_account_id"])
        bal = running[t["debit_account_id"]]
        if a is not None and a.owner not in SYSTEM_OWNERS and bal < -VERIFY_TOLERANCE and a.id not in flagged:
            flagged.add(a.id)
            out.append(Problem("negative", f"账户 {a.owner}/{a.kind} 在记账 {t['transfer_id']} 后余额为负（{bal:,.6g}）",
                               f"account {a.owner}/{a.kind} went below zero ({bal:,.6g}) at transfer {t['transfer_id']}"))
    return out


def _verify_sums(accounts: dict[int, Any]) -> list[Problem]:
    """Double entry: per kind all cached balances sum to zero."""
    sums: dict[str, float] = defaultdict(float)
    scale: dict[str, float] = defaultdict(float)
    for a in accounts.values():
        sums[a.kind] += a.balance
        scale[a.kind] = max(scale[a.kind], abs(a.balance))
    return [Problem("sum", f"{k} 类各账户余额合计为 {s:,.6g}，应为 0", f"balances of kind {k} sum to {s:,.6g}, not 0")
            for k, s in sums.items() if abs(s) > VERIFY_TOLERANCE * max(1.0, scale[k])]


def _verify_compensations(accounts: dict[int, Any], transfers: list[dict]) -> list[Problem]:
    """Each compensation reverses an earlier non-compensation exactly, at most once."""
    by_id = {t["transfer_id"]: t for t in transfers}
    counts = Counter(t["compensates"] for t in transfers if t["compensates"])
    out = [Problem("compensation", f"记账 {o} 被冲正 {n} 次", f"transfer {o} is compensated {n} times")
           for o, n in counts.items() if n > 1]
    for t in transfers:
        if (t["transfer_type"] == "compensate") != bool(t["compensates"]):
            out.append(Problem("compensation", f"记账 {t['transfer_id']} 的类型与冲正对象不符",
                               f"transfer {t['transfer_id']}: type and compensated transfer disagree"))
            continue
        if t["transfer_type"] == "compensate" and not _reverses(t, by_id.get(t["compensates"])):
            out.append(Problem("compensation", f"冲正 {t['transfer_id']} 不是对 {t['compensates']} 的完全反向记账",
                               f"compensation {t['transfer_id']} does not exactly reverse {t['compensates']}"))
    return out


def _reverses(c: dict, o: dict | None) -> bool:
    """``c`` is the exact reverse of the earlier non-compensation ``o``."""
    return (o is not None and o["id"] < c["id"] and o["transfer_type"] != "compensate" and o["kind"] == c["kind"]
            and math.isclose(o["amount"], c["amount"], rel_tol=1e-12)
            and (o["debit_account_id"], o["credit_account_id"]) == (c["credit_account_id"], c["debit_account_id"]))
