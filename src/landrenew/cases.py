"""Clearance cases (出清项目): opened from a run's recommendations, worked through the profile's
workflows (``operations.workflows``), every change an append-only event.

* A case is one recommended 连片 unit or parcel of a run, with its disposal path, the workflow of
  that path and the responsible district. A parcel is in at most one case that is still open.
* ``version`` counts the case's events; a move names the version it was based on and is refused
  when the case has changed since (optimistic locking), so two officers cannot both move it.
* Roles come from the profile: each transition names who may make it; a district role sees and
  acts on its own district's cases only — checked here, whatever the caller.
* A transition with ``credits`` posts the case's quota (the ``yields_quota`` of its disposal rule,
  on the area entered) to its district's ledger account in the same transaction.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, func, select, update

from landrenew import ledger
from landrenew.actors import Actor
from landrenew.analysis.disposal import stock_linkage_ratio
from landrenew.hashing import file_sha256
from landrenew.policy import Profile
from landrenew.policy.schema import DisposalRule, Transition, Workflow
from landrenew.store import Workspace, chain
from landrenew.store.bulk import insert_frame
from landrenew.store.models import AnalysisRun, CaseEvent, CaseParcel, ClearanceCase, RunCase

CASE, EVENT, LINK = ClearanceCase.__table__, CaseEvent.__table__, CaseParcel.__table__
#: estimated yields copied from the run's recommendation onto the case
ESTIMATE_COLUMNS = ("vacated_mu", "cultivated_mu", "paddy_mu", "grain_kg", "construction_quota_mu", "stock_linkage_mu")
#: what a transition may require besides case fields
ATTACHMENT, COMMENT = "attachment", "comment"


class CaseError(ValueError):
    """A refused case operation, with the reason in Chinese and English."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


class StaleCase(CaseError):
    """The case changed since the version the caller saw."""


class CaseNotFound(CaseError):
    """No case with that number."""


@dataclass
class Opened:
    """Result of :func:`open_cases`: case numbers opened, and recommendations skipped with why."""

    run_id: int
    opened: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


# --------------------------------------------------------------------------- open


def open_cases(ws: Workspace, profile: Profile, actor: Actor, *, run_id: int | None = None,
               district: str | None = None, family: str | None = None, top: int | None = None,
               when: date | None = None) -> Opened:
    """Open a case for each matched recommendation of ``run_id`` (default: the latest finished run),
    highest priority first, optionally of one district and one disposal family, at most ``top``.

    Recommendations with a parcel already in a case are skipped (and listed), unless that case
    ended without reaching its ``done`` state (withdrawn): land is not worked, or credited, twice."""
    actor.require(profile, profile.operations.permissions.get("open", []), "立案", "open cases", district)
    when = when or date.today()
    with ws.engine.begin() as conn:
        run_id = run_id or _latest_run(conn)
        recs = _recommendations(conn, run_id, district, family)
        if top is not None:
            recs = recs.head(top)
        out = Opened(run_id)
        busy = _parcels_taken(conn, profile)
        keys = recs["parcel_keys"].str.split(";")
        taken = keys.map(lambda ks: any(k in busy for k in ks))
        out.skipped = [(c, "宗地已在办理中或已办结的案件内 parcels already in an open or achieved case")
                       for c in recs.loc[taken, "case_id"]]
        recs, keys = recs[~taken], keys[~taken]
        if not len(recs):
            return out
        workflows = [profile.operations.workflow_for(f, p) for f, p in zip(recs["family"], recs["path"], strict=True)]
        numbers = _case_numbers(conn, recs["district_code"], when.year)
        now = datetime.now(UTC)
        cases = pd.DataFrame({
            "case_no": numbers, "run_id": run_id, "run_case_id": recs["case_id"].to_numpy(),
            "district_code": recs["district_code"].to_numpy(), "family": recs["family"].to_numpy(),
            "path": recs["path"].to_numpy(), "rule_id": recs["rule_id"].to_numpy(),
            "workflow_id": [w.id for w in workflows], "state": [w.params.initial for w in workflows], "version": 1,
            "area_mu": recs["area_mu"].to_numpy(), "construction_mu": recs["construction_mu"].to_numpy(),
            "n_parcels": recs["n_parcels"].to_numpy(), "parcel_keys": recs["parcel_keys"].to_numpy(),
            "tags": recs["tags"].to_numpy(), "priority": recs["priority"].to_numpy(),
            "estimate": [dict(zip(ESTIMATE_COLUMNS, map(float, v), strict=True))
                         for v in recs[list(ESTIMATE_COLUMNS)].to_numpy()],
            "milestones": [{w.params.initial: when.isoformat()} for w in workflows], "data": [{}] * len(recs),
            "opened_at": when, "updated_at": now,
        })
        insert_frame(conn, CASE, cases)
        ids = _ids_of(conn, numbers)
        links = pd.DataFrame({"case_id": ids, "parcel_key": keys.to_numpy()}).explode("parcel_key")
        insert_frame(conn, LINK, links)
        events = pd.DataFrame({
            "case_id": ids, "seq": 1, "action": "open", "from_state": None, "to_state": cases["state"],
            "event_date": when, "actor": actor.name, "role": actor.role, "comment": f"由分析批次 {run_id} 的处置建议立案",
            "data": [{"run_id": run_id, "run_case_id": c} for c in cases["run_case_id"]], "attachment_name": None,
            "attachment_sha256": None, "recorded_at": now,
        })
        insert_frame(conn, EVENT, pd.DataFrame(chain.chained(conn, "case_event", events.to_dict("records"))))
        out.opened = list(numbers)
    return out


def _latest_run(conn: Connection) -> int:
    run = conn.execute(select(func.max(AnalysisRun.id)).where(AnalysisRun.status == "done")).scalar()
    if run is None:
        raise CaseError("还没有完成的分析批次，请先运行 landrenew analyze", "no finished analysis run: run landrenew analyze first")
    return int(run)


def _recommendations(conn: Connection, run_id: int, district: str | None, family: str | None) -> pd.DataFrame:
    t = RunCase.__table__
    q = select(t).where(t.c.run_id == run_id, t.c.matched.is_(True), t.c.path.is_not(None))
    if district:
        q = q.where(t.c.district_code == district)
    if family:
        q = q.where(t.c.family == family)
    rows = pd.DataFrame(conn.execute(q.order_by(t.c.priority.desc(), t.c.id)).mappings().all())
    if rows.empty:
        if conn.execute(select(AnalysisRun.id).where(AnalysisRun.id == run_id)).first() is None:
            raise CaseError(f"没有分析批次 {run_id}", f"no analysis run {run_id}")
        return pd.DataFrame(columns=[c.name for c in t.columns] + ["construction_mu"])
    rows["construction_mu"] = rows["construction_mu"].fillna(rows["area_mu"])  # runs before it was stored
    return rows


def _parcels_taken(conn: Connection, profile: Profile) -> set[str]:
    """Parcels of cases still open or that reached their workflow's ``done`` state."""
    rows = conn.execute(select(LINK.c.parcel_key, CASE.c.workflow_id, CASE.c.state, CASE.c.milestones)
                        .join(CASE, CASE.c.id == LINK.c.case_id)).all()
    wfs = {w.id: w.params for w in profile.operations.workflows}
    return {k for k, w, s, m in rows if not wfs[w].state(s).terminal or wfs[w].done in m}


def _case_numbers(conn: Connection, districts: pd.Series, year: int) -> list[str]:
    """``<district>-<year>-<serial>``, serials continuing those already used."""
    out = []
    for d, n in districts.value_counts(sort=False).items():
        prefix = f"{d}-{year}-"
        last = conn.execute(select(func.max(CASE.c.case_no)).where(CASE.c.case_no.like(prefix + "%"))).scalar()
        start = int(last.rsplit("-", 1)[1]) if last else 0
        out.append(pd.Series([f"{prefix}{start + i + 1:05d}" for i in range(n)], index=districts.index[districts == d]))
    return pd.concat(out).reindex(districts.index).tolist() if out else []


def _ids_of(conn: Connection, numbers: list[str]) -> list[int]:
    found: dict[str, int] = {}
    for i in range(0, len(numbers), 900):
        chunk = numbers[i:i + 900]
        found |= dict(conn.execute(select(CASE.c.case_no, CASE.c.id).where(CASE.c.case_no.in_(chunk))).all())
    return [found[n] for n in numbers]


# --------------------------------------------------------------------------- read


def list_cases(engine: Engine, profile: Profile, actor: Actor, *, state: str | None = None,
               district: str | None = None, family: str | None = None) -> pd.DataFrame:
    """Cases the actor may see, with state names; newest version first within priority."""
    actor.role_of(profile)
    actor.require_district(profile, district)
    q = select(CASE.c.case_no, CASE.c.district_code, CASE.c.family, CASE.c.path, CASE.c.workflow_id,
               CASE.c.state, CASE.c.version, CASE.c.area_mu, CASE.c.n_parcels, CASE.c.tags, CASE.c.priority,
               CASE.c.opened_at, CASE.c.closed_at)
    mine = actor.districts(profile)
    if mine is not None:
        q = q.where(CASE.c.district_code.in_(sorted(mine)))
    for col, value in (("district_code", district), ("state", state), ("family", family)):
        if value:
            q = q.where(CASE.c[col] == value)
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(q.order_by(CASE.c.priority.desc(), CASE.c.id)).mappings().all())
    if df.empty:
        return pd.DataFrame(columns=[*q.selected_columns.keys(), "state_zh", "state_en"])
    names = {(w.id, s.key): (s.name_zh, s.name_en) for w in profile.operations.workflows for s in w.params.states}
    pairs = list(zip(df["workflow_id"], df["state"], strict=True))
    df["state_zh"] = [names.get(p, (p[1], p[1]))[0] for p in pairs]
    df["state_en"] = [names.get(p, (p[1], p[1]))[1] for p in pairs]
    return df


def get_case(engine: Engine, profile: Profile, actor: Actor, case_no: str) -> dict[str, Any]:
    """One case the actor may see, as a dict (with ``moves``: the transitions the actor may make)."""
    with engine.connect() as conn:
        return _view(conn, profile, actor, case_no)


def _view(conn: Connection, profile: Profile, actor: Actor, case_no: str) -> dict[str, Any]:
    row = _case_row(conn, case_no)
    actor.require_district(profile, row["district_code"])
    wf = _workflow(profile, row["workflow_id"])
    return {**row, "workflow": wf, "moves": allowed_moves(profile, actor, wf, row["state"])}


def case_events(engine: Engine, profile: Profile, actor: Actor, case_no: str) -> pd.DataFrame:
    """The case's events, oldest first."""
    with engine.connect() as conn:
        row = _case_row(conn, case_no)
        actor.require_district(profile, row["district_code"])
        return pd.DataFrame(conn.execute(select(EVENT).where(EVENT.c.case_id == row["id"])
                                         .order_by(EVENT.c.seq)).mappings().all())


def allowed_moves(profile: Profile, actor: Actor, wf: Workflow, state: str) -> list[Transition]:
    """The transitions out of ``state`` the actor's role may make."""
    role = actor.role_of(profile)
    if role.read_only:
        return []
    return [t for t in wf.params.moves_from(state) if role.key in t.roles]


def _case_row(conn: Connection, case_no: str, lock: bool = False) -> dict[str, Any]:
    q = select(CASE).where(CASE.c.case_no == case_no)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = conn.execute(q).mappings().first()
    if row is None:
        raise CaseNotFound(f"没有案件 {case_no}", f"no case {case_no}")
    return dict(row)


def _workflow(profile: Profile, workflow_id: str) -> Workflow:
    for w in profile.operations.workflows:
        if w.id == workflow_id:
            return w
    raise CaseError(f"政策参数中没有工作流程 {workflow_id}", f"the profile has no workflow {workflow_id}")


# --------------------------------------------------------------------------- change


def transition(ws: Workspace, profile: Profile, actor: Actor, case_no: str, to_state: str, version: int, *,
               values: dict[str, Any] | None = None, comment: str | None = None, attachment: Path | None = None,
               when: date | None = None) -> dict[str, Any]:
    """Move a case to ``to_state``: checks the version, the role, the district and what the move
    requires; records the event (with the attachment's SHA-256) and, for a crediting move, posts
    the quota; all in one transaction. Returns the updated case (as :func:`get_case`)."""
    values = dict(values or {})
    when = when or date.today()
    with _change(ws) as (conn, created):
        row = _case_row(conn, case_no, lock=True)
        actor.require_district(profile, row["district_code"])
        _check_version(conn, row, version)
        wf = _workflow(profile, row["workflow_id"])
        move = _find_move(wf, row["state"], to_state)
        states = {s.key: s for s in wf.params.states}
        actor.require(profile, move.roles, f"将案件从「{states[row['state']].name_zh}」办理到「{states[to_state].name_zh}」",
                      f"move a case from {row['state']} to {to_state}", row["district_code"])
        stored = _store_attachment(ws, row["case_no"], attachment, created) if attachment else None
        entered = _check_requirements(profile, move, values, comment, stored)
        _check_date(row, when)
        data = {**row["data"], **entered}
        milestones = {**row["milestones"], to_state: when.isoformat()}
        new_version = row["version"] + 1
        done = conn.execute(update(CASE).where(CASE.c.id == row["id"], CASE.c.version == version).values(
            state=to_state, version=new_version, data=data, milestones=milestones, updated_at=datetime.now(UTC),
            closed_at=when if states[to_state].terminal else None))
        if done.rowcount != 1:
            raise StaleCase(f"案件 {case_no} 刚被他人修改，请刷新后重试", f"case {case_no} was just changed by someone else; reload")
        _event(conn, row["id"], new_version, "transition", row["state"], to_state, when, actor, comment, entered, stored)
        if move.credits:
            _credit(conn, profile, actor, row, float(entered[move.credits]), data, when, states[to_state].name_zh)
        return _view(conn, profile, actor, case_no)


def add_comment(ws: Workspace, profile: Profile, actor: Actor, case_no: str, version: int, text: str, *,
                attachment: Path | None = None, when: date | None = None) -> dict[str, Any]:
    """Add a comment (and optionally a file) to a case without moving it."""
    if not (text or "").strip():
        raise CaseError("意见不能为空", "the comment is empty")
    when = when or date.today()
    with _change(ws) as (conn, created):
        row = _case_row(conn, case_no, lock=True)
        actor.require(profile, profile.operations.permissions.get("comment", []), "填写意见", "comment on cases",
                      row["district_code"])
        _check_version(conn, row, version)
        stored = _store_attachment(ws, row["case_no"], attachment, created) if attachment else None
        done = conn.execute(update(CASE).where(CASE.c.id == row["id"], CASE.c.version == version)
                            .values(version=version + 1, updated_at=datetime.now(UTC)))
        if done.rowcount != 1:
            raise StaleCase(f"案件 {case_no} 刚被他人修改，请刷新后重试", f"case {case_no} was just changed by someone else; reload")
        _event(conn, row["id"], version + 1, "comment", row["state"], row["state"], when, actor, text, {}, stored)
        return _view(conn, profile, actor, case_no)


def _check_version(conn: Connection, row: dict[str, Any], version: int) -> None:
    if version == row["version"]:
        return
    last = conn.execute(select(EVENT.c.actor, EVENT.c.recorded_at).where(EVENT.c.case_id == row["id"])
                        .order_by(EVENT.c.seq.desc()).limit(1)).first()
    who = f"{last.actor}（{last.recorded_at:%Y-%m-%d %H:%M}）" if last else ""
    raise StaleCase(
        f"案件 {row['case_no']} 已更新为第 {row['version']} 版（{who}），你依据的是第 {version} 版；请刷新后重新办理",
        f"case {row['case_no']} is at version {row['version']} (last change by {who or 'someone'}); you sent version "
        f"{version}: reload and try again")


def _find_move(wf: Workflow, state: str, to_state: str) -> Transition:
    for t in wf.params.moves_from(state):
        if t.to_state == to_state:
            return t
    names = {s.key: s for s in wf.params.states}
    options = "、".join(f"{t.to_state}（{names[t.to_state].name_zh}）" for t in wf.params.moves_from(state)) or "无"
    if to_state not in names:
        raise CaseError(f"流程 {wf.id} 没有状态 {to_state}", f"workflow {wf.id} has no state {to_state}")
    raise CaseError(f"案件当前为「{names[state].name_zh}」，不能直接办理到「{names[to_state].name_zh}」；可办理到：{options}",
                    f"a case in {state} cannot move to {to_state}; possible: "
                    + (", ".join(t.to_state for t in wf.params.moves_from(state)) or "none"))


def _check_requirements(profile: Profile, move: Transition, values: dict[str, Any], comment: str | None,
                        stored: tuple[str, str] | None) -> dict[str, Any]:
    """The move's required values, validated and typed; refuses what is missing or wrong."""
    out: dict[str, Any] = {}
    missing = []
    for need in move.requires:
        if need == ATTACHMENT:
            if stored is None:
                missing.append(("附件", "an attached file"))
        elif need == COMMENT:
            if not (comment or "").strip():
                missing.append(("意见", "a comment"))
        elif values.get(need) in (None, ""):
            f = profile.operations.field(need)
            missing.append((f.name_zh, f.name_en))
        else:
            out[need] = _typed(profile, need, values[need])
    if missing:
        raise CaseError("此环节需要：" + "、".join(z for z, _ in missing), "this move needs " + ", ".join(e for _, e in missing))
    for key, value in values.items():  # optional extra values must still be valid fields
        if key not in out:
            out[key] = _typed(profile, key, value)
    return out


def _typed(profile: Profile, key: str, value: Any) -> Any:
    try:
        f = profile.operations.field(key)
    except KeyError:
        keys = ", ".join(x.key for x in profile.operations.fields)
        raise CaseError(f"未知的案件字段 {key}（可填：{keys}）", f"unknown case field {key} (one of {keys})") from None
    label = f"{f.name_zh}（{key}）"
    try:
        if f.type in ("number", "integer"):
            v = float(value)
            if not math.isfinite(v) or (f.type == "integer" and v != int(v)):
                raise ValueError
            v = int(v) if f.type == "integer" else v
            if (f.minimum is not None and v < f.minimum) or (f.maximum is not None and v > f.maximum):
                lo, hi = ("" if b is None else f"{b:g}" for b in (f.minimum, f.maximum))
                raise CaseError(f"{label} 应在 {lo}–{hi} 之间：{value}", f"{key} must lie within {lo}–{hi}: {value}")
            return v
        if f.type == "choice":
            if str(value) not in f.choices:
                raise CaseError(f"{label} 应为 {'/'.join(f.choices)} 之一：{value}",
                                f"{key} must be one of {', '.join(f.choices)}: {value}")
            return str(value)
        if f.type == "date":
            return date.fromisoformat(str(value)).isoformat()
        return str(value).strip()
    except CaseError:
        raise
    except (TypeError, ValueError):
        kind = {"number": "数值", "integer": "整数", "date": "日期 YYYY-MM-DD"}.get(f.type, f.type)
        raise CaseError(f"{label} 应为{kind}：{value}", f"{key} must be a {f.type}: {value}") from None


def _check_date(row: dict[str, Any], when: date) -> None:
    last = max(date.fromisoformat(d) for d in row["milestones"].values()) if row["milestones"] else row["opened_at"]
    if when < last:
        raise CaseError(f"办理日期 {when} 早于上一环节日期 {last}", f"date {when} is before the previous step's {last}")
    if when > date.today():
        raise CaseError(f"办理日期 {when} 晚于今天", f"date {when} is in the future")


def _event(conn: Connection, case_id: int, seq: int, action: str, from_state: str | None, to_state: str | None,
           when: date, actor: Actor, comment: str | None, data: dict[str, Any],
           stored: tuple[str, str] | None) -> None:
    conn.execute(EVENT.insert().values(**chain.chained(conn, "case_event", [dict(
        case_id=case_id, seq=seq, action=action, from_state=from_state, to_state=to_state, event_date=when,
        actor=actor.name, role=actor.role, comment=comment, data=data,
        attachment_name=stored[0] if stored else None, attachment_sha256=stored[1] if stored else None,
        recorded_at=datetime.now(UTC))])[0]))


_ZIP, _OLE = (b"PK\x03\x04",), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)
#: the kinds of file a case keeps (documents, scans, photos, drawings, notes) and how each must
#: begin: a file named .pdf that is not one (an .exe, a web page) is refused
ATTACHMENT_TYPES: dict[str, tuple[bytes, ...]] = {
    ".pdf": (b"%PDF-",), ".ofd": _ZIP, ".docx": _ZIP, ".xlsx": _ZIP, ".pptx": _ZIP, ".zip": _ZIP,
    ".doc": _OLE, ".xls": _OLE, ".ppt": _OLE, ".wps": _OLE, ".et": _OLE,
    ".jpg": (b"\xff\xd8",), ".jpeg": (b"\xff\xd8",), ".png": (b"\x89PNG\r\n\x1a\n",),
    ".tif": (b"II*\x00", b"MM\x00*"), ".tiff": (b"II*\x00", b"MM\x00*"), ".dwg": (b"AC10",),
    ".gpkg": (b"SQLite format 3\x00",), ".txt": (b"",), ".csv": (b"",)}
#: text attachments (.txt, .csv) hold no NUL in their first bytes
_TEXT_HEAD = 8192


def _check_attachment_type(path: Path) -> None:
    """Refuse a file of a kind cases do not keep, or whose content is not what its name says."""
    suffix = path.suffix.lower()
    if suffix not in ATTACHMENT_TYPES:
        kinds = " ".join(ATTACHMENT_TYPES)
        raise CaseError(f"附件类型 {suffix or '（无扩展名）'} 不被接受；可用：{kinds}",
                        f"attachments of type {suffix or '(none)'} are not accepted; use one of: {kinds}")
    with path.open("rb") as fh:
        head = fh.read(_TEXT_HEAD)
    starts = ATTACHMENT_TYPES[suffix]
    if not any(head.startswith(s) for s in starts) or (starts == (b"",) and b"\x00" in head):
        raise CaseError(f"附件 {path.name} 的内容不是 {suffix} 文件（文件头不符），请检查后重新上传",
                        f"the attached file {path.name} is not a {suffix} file (its first bytes do not match); "
                        "check it and upload it again")


@contextmanager
def _change(ws: Workspace) -> Iterator[tuple[Connection, list[Path]]]:
    """A transaction and the attached files it stores: a change that fails (its checks, the
    commit) takes the files it added with it."""
    created: list[Path] = []
    try:
        with ws.engine.begin() as conn:
            yield conn, created
    except BaseException:
        for path in created:
            path.unlink(missing_ok=True)
        raise


def _store_attachment(ws: Workspace, case_no: str, path: Path, created: list[Path]) -> tuple[str, str]:
    """Copy ``path`` into the workspace (:func:`attachment_path`); its name and SHA-256.

    Called once the case is found and the actor allowed (the case row locked), with the case number
    the store holds. The file appears whole or not at all (written beside, then renamed) and, when
    new, is noted in ``created``; a file already there (the same proof again) is left as it is.
    """
    path = Path(path)
    if not path.is_file():
        raise CaseError(f"找不到附件 {path}", f"no such file {path}")
    _check_attachment_type(path)
    sha = file_sha256(path)
    target = attachment_path(ws, case_no, sha, path.name)
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.part")
        shutil.copyfile(path, partial)
        os.replace(partial, target)
        created.append(target)
    return path.name, sha


def attachment_path(ws: Workspace, case_no: str, sha256: str, name: str) -> Path:
    """Where a case's attached file is kept: ``attachments/<case>/<sha256[:16]>_<name>``."""
    return ws.path / "attachments" / case_no / f"{sha256.lower()[:16]}_{name}"


# --------------------------------------------------------------------------- quota


def case_credits(profile: Profile, rule: DisposalRule, area_mu: float,
                 data: dict[str, Any]) -> list[tuple[str, float, str]]:
    """(ledger kind, amount, quota rule id) a case of ``rule`` earns on ``area_mu``: per quota rule
    its disposal rule yields — 增减挂钩 × quota_per_accepted_mu; a balance kind × its coefficient for
    the farmland kind recorded (``by_farmland_kind``), else ``per_mu`` (quantity: 1); 增存挂钩 × the
    ratio for 批而未供 or idle land."""
    q = profile.quota
    out = []
    for qid in rule.params.yields_quota:
        if qid == q.linkage.id:
            out.append(("linkage", area_mu * q.linkage.params.quota_per_accepted_mu, qid))
        elif qid == q.stock_linkage.id:
            ratio = stock_linkage_ratio(profile, rule)
            if ratio is not None:
                out.append(("plan", area_mu * ratio, qid))
        else:
            bal = next((b for b in q.balance if b.id == qid), None)
            if bal is None:
                continue
            p = bal.params
            kind_of_land = data.get("farmland_kind")
            if p.by_farmland_kind is not None and kind_of_land is not None:
                per = p.by_farmland_kind.get(kind_of_land, 0.0)
            else:
                per = p.per_mu if p.per_mu is not None else (1.0 if p.kind == "quantity" else None)
            if per is not None:
                out.append((p.kind, area_mu * per, qid))
    order = list(ledger.quota_kinds(profile))  # one order for every posting transaction: no lock cycles
    return sorted(((k, a, r) for k, a, r in out if a > 0), key=lambda x: order.index(x[0]))


def _credit(conn: Connection, profile: Profile, actor: Actor, row: dict[str, Any], area: float,
            data: dict[str, Any], when: date, state_zh: str) -> None:
    """Post the case's quota to its district (ids ``case-<no>-<kind>``: a retry never posts twice).
    The workflow's move is the authority, so it is posted in a role allowed to credit."""
    rule = profile.rule(row["rule_id"])
    roles = profile.operations.ledger.params.permissions.get("credit", [])
    poster = Actor(actor.name, roles[0]) if roles else actor
    for kind, amount, qid in case_credits(profile, rule, area, data):
        ledger.post(conn, ledger.TransferRequest(
            transfer_id=f"case-{row['case_no']}-{kind}", kind=kind, from_owner="issued",
            to_owner=row["district_code"], amount=amount, transfer_type="credit", value_date=when,
            reason=f"案件 {row['case_no']} {state_zh}：{area:g} 亩", case_id=row["id"], rule_id=qid), profile, poster)
