"""Read helpers over cases and the quota ledger for screens and reports: a board of cases by
workflow state, one case with its moves and field definitions as plain data, pages of cases and
of transfers, the quota a case earned, and the actor's view of the ledger.

Every permission check is the services' (:mod:`landrenew.cases`, :mod:`landrenew.ledger`,
:class:`~landrenew.actors.Actor`); nothing here decides who may do what.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, select

from landrenew import ledger
from landrenew.actors import Actor, Forbidden
from landrenew.cases import (
    ATTACHMENT,
    COMMENT,
    ESTIMATE_COLUMNS,
    CaseError,
    attachment_path,
    case_events,
    get_case,
    list_cases,
)
from landrenew.hashing import file_sha256
from landrenew.policy import Profile
from landrenew.policy.schema import CaseField, Transition, Workflow
from landrenew.store import Workspace
from landrenew.store.models import ClearanceCase

#: names of the estimated yields copied from the run onto a case (labels; the amounts are the run's)
ESTIMATE_NAMES: dict[str, tuple[str, str, str, str]] = {
    "vacated_mu": ("腾退面积", "vacated area", "亩", "mu"),
    "cultivated_mu": ("新增耕地", "new cultivated land", "亩", "mu"),
    "paddy_mu": ("新增水田", "new paddy field", "亩", "mu"),
    "grain_kg": ("新增粮食产能", "new grain capacity", "公斤", "kg"),
    "construction_quota_mu": ("建设用地指标", "construction land quota", "亩", "mu"),
    "stock_linkage_mu": ("增存挂钩指标", "stock-linkage plan quota", "亩", "mu"),
}
#: what a move may require besides case fields, named for forms
SPECIAL_NEEDS: dict[str, tuple[str, str]] = {ATTACHMENT: ("附件", "attached file"), COMMENT: ("意见", "comment")}


def _json(v: Any) -> Any:
    """A value as JSON: NaN → None, dates → ISO text, numpy scalars → Python."""
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, datetime | date):
        return v.isoformat()
    if hasattr(v, "item") and not isinstance(v, str | bytes):
        return _json(v.item())
    return v


def rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as JSON-ready dicts."""
    return [{k: _json(v) for k, v in r.items()} for r in df.to_dict("records")]


# --------------------------------------------------------------------------- names


def field_spec(f: CaseField) -> dict[str, Any]:
    """A case field's definition for a form (type, choices, bounds, unit, names)."""
    return {"key": f.key, "name_zh": f.name_zh, "name_en": f.name_en, "type": f.type, "unit": f.unit,
            "choices": list(f.choices), "minimum": f.minimum, "maximum": f.maximum}


def need_spec(profile: Profile, key: str) -> dict[str, Any]:
    """What a move requires, as a form input: a case field, the attachment or the comment."""
    if key in SPECIAL_NEEDS:
        zh, en = SPECIAL_NEEDS[key]
        return {"key": key, "name_zh": zh, "name_en": en, "type": "file" if key == ATTACHMENT else "comment",
                "unit": None, "choices": [], "minimum": None, "maximum": None}
    return field_spec(profile.operations.field(key))


def move_spec(profile: Profile, wf: Workflow, move: Transition) -> dict[str, Any]:
    """A move the actor may make: target state, names, what it needs, whether it credits quota."""
    to = wf.params.state(move.to_state)
    return {"to_state": move.to_state, "to_zh": to.name_zh, "to_en": to.name_en,
            "name_zh": move.name_zh or to.name_zh, "name_en": move.name_en or to.name_en,
            "requires": [need_spec(profile, k) for k in move.requires], "credits": move.credits}


def _state_names(wf: Workflow) -> list[dict[str, Any]]:
    return [{"key": s.key, "name_zh": s.name_zh, "name_en": s.name_en, "terminal": s.terminal}
            for s in wf.params.states]


def _family_names(profile: Profile) -> dict[str, tuple[str, str]]:
    return {f.key: (f.name_zh, f.name_en) for f in profile.disposal.families}


def _district_names(profile: Profile) -> dict[str, tuple[str, str]]:
    return {d.code: (d.name_zh, d.name_en) for d in profile.city.districts if d.code}


# --------------------------------------------------------------------------- cases


def _last_dates(engine: Engine, case_nos: list[str]) -> dict[str, str]:
    """case_no → the date of its latest milestone (ISO)."""
    out: dict[str, str] = {}
    t = ClearanceCase.__table__
    with engine.connect() as conn:
        for i in range(0, len(case_nos), 900):
            q = select(t.c.case_no, t.c.milestones, t.c.opened_at).where(t.c.case_no.in_(case_nos[i:i + 900]))
            for no, ms, opened in conn.execute(q):
                out[no] = max([*(ms or {}).values(), opened.isoformat()])
    return out


def case_page(engine: Engine, profile: Profile, actor: Actor, *, state: str | None = None,
              district: str | None = None, family: str | None = None, page: int = 1,
              page_size: int = 50) -> dict[str, Any]:
    """One page of the cases the actor may see (priority order), with the total and last dates."""
    df = list_cases(engine, profile, actor, state=state, district=district, family=family)
    total = len(df)
    start = (max(page, 1) - 1) * page_size
    part = df.iloc[start:start + page_size].copy()
    last = _last_dates(engine, part["case_no"].tolist())
    part["last_date"] = [last.get(n) for n in part["case_no"]]
    return {"total": total, "page": max(page, 1), "page_size": page_size, "rows": rows(part)}


def board(engine: Engine, profile: Profile, actor: Actor, *, district: str | None = None,
          family: str | None = None, per_state: int = 40) -> dict[str, Any]:
    """The cases the actor may see, per workflow and state: counts, areas and the first
    ``per_state`` cards of each column (highest priority first); cases per family for a switch."""
    df = list_cases(engine, profile, actor, district=district)
    families = df.groupby("family").size().to_dict() if len(df) else {}
    if family:
        df = df[df["family"] == family]
    last = _last_dates(engine, df["case_no"].tolist())
    df = df.assign(last_date=[last.get(n) for n in df["case_no"]])
    names, dnames = _family_names(profile), _district_names(profile)
    workflows = []
    for wf in profile.operations.workflows:
        if family and family not in wf.params.families:
            continue
        mine = df[df["workflow_id"] == wf.id]
        columns = []
        for s in wf.params.states:
            col = mine[mine["state"] == s.key]
            cards = col.head(per_state)[["case_no", "district_code", "family", "path", "area_mu", "tags", "version",
                                         "priority", "last_date"]]
            cards = cards.assign(district_zh=[dnames.get(c, (c, c))[0] for c in cards["district_code"]],
                                 district_en=[dnames.get(c, (c, c))[1] for c in cards["district_code"]])
            columns.append({"state": s.key, "name_zh": s.name_zh, "name_en": s.name_en, "terminal": s.terminal,
                            "count": len(col), "area_mu": float(col["area_mu"].sum()), "cards": rows(cards)})
        workflows.append({"id": wf.id, "name_zh": wf.description_zh.split("：")[0],
                          "name_en": wf.description_en.split(" — ")[0], "families": wf.params.families,
                          "total": len(mine), "columns": columns})
    return {"family": family, "district": district, "total": len(df),
            "families": [{"key": k, "name_zh": z, "name_en": e, "count": int(families.get(k, 0))}
                         for k, (z, e) in names.items()],
            "workflows": workflows}


def case_detail(engine: Engine, profile: Profile, actor: Actor, case_no: str) -> dict[str, Any]:
    """One case as plain data: facts, milestones in workflow order, estimate and entered values
    (named), the moves the actor may make with their inputs, and the quota it earned."""
    c = get_case(engine, profile, actor, case_no)
    wf: Workflow = c["workflow"]
    fields = {f.key: f for f in profile.operations.fields}
    names, dnames = _family_names(profile), _district_names(profile)
    states = {s.key: s for s in wf.params.states}
    milestones = [{"state": s.key, "name_zh": s.name_zh, "name_en": s.name_en, "date": c["milestones"].get(s.key)}
                  for s in wf.params.states if s.key in c["milestones"]]
    estimate = [{"key": k, "name_zh": ESTIMATE_NAMES[k][0], "name_en": ESTIMATE_NAMES[k][1],
                 "unit": ESTIMATE_NAMES[k][2], "unit_en": ESTIMATE_NAMES[k][3], "value": _json((c["estimate"] or {}).get(k))}
                for k in ESTIMATE_COLUMNS if k in (c["estimate"] or {})]
    entered = [{**field_spec(fields[k]), "value": v} if k in fields else
               {"key": k, "name_zh": k, "name_en": k, "type": "text", "value": v}
               for k, v in (c["data"] or {}).items()]
    rule = profile.rule(c["rule_id"])
    with engine.connect() as conn:
        credits = ledger.history(conn, profile, case_id=c["id"])
        credits_en = ledger.history(conn, profile, case_id=c["id"], lang="en")
    credited = rows(credits.assign(kind_name_en=credits_en["kind_name"], unit_en=credits_en["unit"]))
    return {
        "case_no": c["case_no"], "run_id": c["run_id"], "run_case_id": c["run_case_id"],
        "district_code": c["district_code"], "district_zh": dnames.get(c["district_code"], ("", ""))[0],
        "district_en": dnames.get(c["district_code"], ("", ""))[1],
        "family": c["family"], "family_zh": names.get(c["family"], ("", ""))[0],
        "family_en": names.get(c["family"], ("", ""))[1], "path": c["path"], "rule_id": c["rule_id"],
        "path_zh": getattr(rule, "path_zh", c["path"]), "path_en": getattr(rule, "path_en", c["path"]),
        "clause": rule.clause,
        "workflow_id": wf.id, "states": _state_names(wf), "state": c["state"],
        "state_zh": states[c["state"]].name_zh, "state_en": states[c["state"]].name_en,
        "terminal": states[c["state"]].terminal, "version": c["version"],
        "area_mu": c["area_mu"], "construction_mu": c["construction_mu"], "n_parcels": c["n_parcels"],
        "parcel_keys": (c["parcel_keys"] or "").split(";") if c["parcel_keys"] else [],
        "tags": c["tags"], "priority": c["priority"], "opened_at": _json(c["opened_at"]),
        "closed_at": _json(c["closed_at"]), "milestones": milestones, "estimate": estimate, "entered": entered,
        "moves": [move_spec(profile, wf, m) for m in c["moves"]],
        "fields": [field_spec(f) for f in profile.operations.fields],
        "credited": credited,
    }


def events(engine: Engine, profile: Profile, actor: Actor, case_no: str) -> list[dict[str, Any]]:
    """The case's events (oldest first) with state names."""
    df = case_events(engine, profile, actor, case_no)
    c = get_case(engine, profile, actor, case_no)
    states = {s.key: s for s in c["workflow"].params.states}
    out = []
    for r in rows(df.drop(columns=["id", "case_id"], errors="ignore")):
        for end in ("from_state", "to_state"):
            s = states.get(r.get(end) or "")
            r[f"{end}_zh"], r[f"{end}_en"] = (s.name_zh, s.name_en) if s else (None, None)
        out.append(r)
    return out


def attachment_file(ws: Workspace, profile: Profile, actor: Actor, case_no: str, sha256: str) -> tuple[Path, str]:
    """The stored file of an attachment of a case the actor may see: (path, original name)."""
    df = case_events(ws.engine, profile, actor, case_no)  # refuses a case of another district
    hit = df[df["attachment_sha256"] == sha256.lower()] if len(df) else df
    if hit.empty:
        raise CaseError(f"案件 {case_no} 没有该附件", f"case {case_no} has no such attachment")
    name = str(hit["attachment_name"].iloc[0])
    path = attachment_path(ws, case_no, sha256, name)
    if not path.is_file():
        raise CaseError(f"附件文件已不在工作区：{path.name}", f"the attached file is no longer in the workspace: {path.name}")
    if file_sha256(path) != sha256.lower():
        raise CaseError(f"附件文件 {name} 与登记的哈希不符：已被改动", f"the attached file {name} does not match its "
                        "recorded SHA-256: it was altered")
    return path, name


# --------------------------------------------------------------------------- ledger


def _kinds(profile: Profile) -> list[dict[str, Any]]:
    return [{"key": k.key, "name_zh": k.name_zh, "name_en": k.name_en, "unit_zh": k.unit_label("zh"),
             "unit_en": k.unit_label("en"), "rule_id": k.rule_id} for k in ledger.quota_kinds(profile).values()]


def ledger_actions(profile: Profile, actor: Actor) -> list[str]:
    """The posting types (transfer, spend) the profile grants the actor's role — to offer a form;
    :func:`landrenew.ledger.post` decides when it is used."""
    role = actor.role_of(profile)
    perms = profile.operations.ledger.params.permissions
    return [] if role.read_only else [t for t in ("transfer", "spend") if role.key in perms.get(t, [])]


def ledger_view(conn: Connection, profile: Profile, actor: Actor, *, district: str | None = None,
                kind: str | None = None, lang: str = "zh") -> dict[str, Any]:
    """Balances of the accounts the actor may see (its district's for a district role), with the
    kinds, the owners that hold quota, and the posting types the actor may use."""
    actor.role_of(profile)
    actor.require_district(profile, district)
    if kind is not None:
        ledger.quota_kind(profile, kind)
    if district is not None:
        ledger.side_of(profile, district)
    mine = actor.districts(profile)
    bal = ledger.balances(conn, profile, owner=district, kind=kind, districts=mine, lang=lang)
    holders = [o for o in ledger.owners(profile) if o not in ledger.SYSTEM_OWNERS]
    if mine is not None:
        holders = [o for o in holders if o in mine]
    owners = [{"key": o, "name_zh": ledger.owner_name(profile, o), "name_en": ledger.owner_name(profile, o, "en"),
               "side": ledger.side_of(profile, o)} for o in holders]
    return {"kinds": _kinds(profile), "owners": owners, "rows": rows(bal), "actions": ledger_actions(profile, actor)}


def _case_id(conn: Connection, engine: Engine, profile: Profile, actor: Actor, case_no: str) -> int:
    get_case(engine, profile, actor, case_no)  # exists and the actor may see it
    return int(conn.execute(select(ClearanceCase.id).where(ClearanceCase.case_no == case_no)).scalar_one())


def history_page(engine: Engine, profile: Profile, actor: Actor, *, district: str | None = None,
                 kind: str | None = None, case_no: str | None = None, page: int = 1, page_size: int = 50,
                 lang: str = "zh") -> dict[str, Any]:
    """Transfers touching the actor's visible accounts, newest first, one page of them."""
    actor.role_of(profile)
    actor.require_district(profile, district)
    if kind is not None:
        ledger.quota_kind(profile, kind)
    with engine.connect() as conn:
        case_id = _case_id(conn, engine, profile, actor, case_no) if case_no else None
        df = ledger.history(conn, profile, owner=district, kind=kind, case_id=case_id,
                            districts=actor.districts(profile), lang=lang)
        numbers = dict(conn.execute(select(ClearanceCase.id, ClearanceCase.case_no)
                                    .where(ClearanceCase.id.in_([int(i) for i in df["case_id"].dropna().unique()])))
                       .all()) if len(df) else {}
    df = df.iloc[::-1]
    total = len(df)
    start = (max(page, 1) - 1) * page_size
    part = df.iloc[start:start + page_size]
    part = part.assign(case_no=[numbers.get(int(c)) if pd.notna(c) else None for c in part["case_id"]],
                       type_name=[ledger.type_name(t, lang) for t in part["transfer_type"]])
    return {"total": total, "page": max(page, 1), "page_size": page_size, "rows": rows(part)}


def posted_dict(p: ledger.Posted, profile: Profile, lang: str = "zh") -> dict[str, Any]:
    """A posting as plain data, with readable names."""
    d = {k: _json(v) for k, v in asdict(p).items()}
    k = ledger.quota_kinds(profile).get(p.kind)
    d |= {"kind_name": k.name(lang) if k else p.kind, "unit": k.unit_label(lang) if k else "",
          "from_name": ledger.owner_name(profile, p.from_owner, lang),
          "to_name": ledger.owner_name(profile, p.to_owner, lang)}
    return d


def verify_ledger(conn: Connection, profile: Profile, actor: Actor, lang: str = "zh") -> dict[str, Any]:
    """:func:`landrenew.ledger.verify` for city roles (it reads every district's accounts)."""
    role = actor.role_of(profile)
    if actor.districts(profile) is not None:
        raise Forbidden(f"角色「{role.name_zh}」无权核验全市指标台账", f"role {role.key} may not verify the whole ledger")
    report = ledger.verify(conn, profile)
    return {"ok": report.ok, "accounts": report.accounts, "transfers": report.transfers, "kinds": report.kinds,
            "problems": [{"code": p.code, "zh": p.zh, "en": p.en} for p in report.problems]}
