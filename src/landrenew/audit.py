"""Tamper evidence for the audit trail: ``landrenew audit verify``.

The case events and the ledger's transfers are hash-chained (:mod:`landrenew.store.chain`):
editing a row's content breaks its own hash; deleting a row or reordering rows breaks the link of
the next row. :func:`verify` walks both chains and cross-checks what a chain alone cannot see:
every case has the events 1..version without a gap (so its newest event cannot vanish unnoticed),
and the ledger's cached balances equal its transfers (``ledger.verify``). The head of each chain
(its last hash) is printed by ``landrenew audit verify``; recording it elsewhere (a signed daily
report, a print-out) also detects a cut of the newest rows of a whole table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Connection, func, select

from landrenew import ledger
from landrenew.cases import attachment_path
from landrenew.hashing import file_sha256
from landrenew.policy import Profile
from landrenew.store import Workspace
from landrenew.store.chain import CONTENT, GENESIS, TABLES, row_hash
from landrenew.store.models import CaseEvent, ClearanceCase


@dataclass(frozen=True)
class Finding:
    """One sign of tampering: which table and row, and what is wrong."""

    table: str
    row_id: int | None
    code: str
    zh: str
    en: str


@dataclass
class AuditReport:
    """What :func:`verify` found, how many rows each chain holds and its head hash."""

    findings: list[Finding] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    heads: dict[str, str] = field(default_factory=dict)
    #: files under ``attachments/`` no event refers to (a process killed between storing a file and
    #: its commit): not a finding — a deleted event breaks its chain — but listed for clearing up
    stray: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not self.findings

    def frame(self, lang: str = "zh") -> pd.DataFrame:
        """The findings as a table (table, row, check, problem)."""
        return pd.DataFrame([(f.table, f.row_id, f.code, f.zh if lang == "zh" else f.en) for f in self.findings],
                            columns=["table", "row", "code", "problem"])


def verify(conn: Connection, profile: Profile, ws: Workspace | None = None) -> AuditReport:
    """Walk both chains (edited, deleted, reordered or unchained rows), check each case's events
    1..version, the ledger's balances against its transfers and, given the workspace, that every
    attached file is in place with the SHA-256 its event recorded."""
    report = AuditReport()
    for table in TABLES:
        found, count, head = _walk(conn, table)
        report.findings += found
        report.rows[table], report.heads[table] = count, head
    report.findings += _case_versions(conn)
    report.findings += _case_courses(conn, profile)
    if ws is not None:
        found, report.stray = _attachments(conn, ws)
        report.findings += found
    report.findings += [Finding("quota_transfer", None, f"ledger:{p.code}", p.zh, p.en)
                        for p in ledger.verify(conn, profile).problems]
    return report


def _walk(conn: Connection, table: str) -> tuple[list[Finding], int, str]:
    t = TABLES[table]
    cols = [t.c.id, t.c.prev_hash, t.c.row_hash, *(t.c[c] for c in CONTENT[table])]
    found: list[Finding] = []
    prev, count = GENESIS, 0
    for row in conn.execute(select(*cols).order_by(t.c.id)).mappings():
        count += 1
        rid = row["id"]
        if row["row_hash"] is None:
            found.append(Finding(table, rid, "unchained", f"第 {rid} 行没有哈希：未经系统写入",
                                 f"row {rid} has no hash: it was not written by landrenew"))
            continue
        if row["prev_hash"] != prev:
            found.append(Finding(table, rid, "link", f"第 {rid} 行与前一行断链：其前的行被删除、插入或调换了次序",
                                 f"row {rid} does not follow the row before it: a row before it was deleted, "
                                 "inserted or moved"))
        if row_hash(table, row["prev_hash"] or GENESIS, row) != row["row_hash"]:
            found.append(Finding(table, rid, "content", f"第 {rid} 行的内容在写入后被改动",
                                 f"row {rid} was changed after it was written"))
        prev = row["row_hash"]
    return found, count, prev


def _case_versions(conn: Connection) -> list[Finding]:
    """Every case has the events 1..version, each once."""
    e, c = CaseEvent.__table__, ClearanceCase.__table__
    stats = select(e.c.case_id, func.count().label("n"), func.count(func.distinct(e.c.seq)).label("distinct"),
                   func.min(e.c.seq).label("lo"), func.max(e.c.seq).label("hi")).group_by(e.c.case_id).subquery()
    rows = conn.execute(select(c.c.id, c.c.case_no, c.c.version, stats.c.n, stats.c.distinct, stats.c.lo, stats.c.hi)
                        .select_from(c.outerjoin(stats, stats.c.case_id == c.c.id))
                        .where((stats.c.n.is_(None)) | (stats.c.n != c.c.version) | (stats.c.distinct != stats.c.n)
                               | (stats.c.lo != 1) | (stats.c.hi != c.c.version))).all()
    return [Finding("case_event", None, "case_events",
                    f"案件 {r.case_no} 版本为 {r.version}，但其事件为 {r.n or 0} 条（序号 {r.lo}–{r.hi}）：有事件被删除或增添",
                    f"case {r.case_no} is at version {r.version} but has {r.n or 0} events (seq {r.lo}–{r.hi}): "
                    "events were deleted or added") for r in rows]


def _attachments(conn: Connection, ws: Workspace) -> tuple[list[Finding], list[str]]:
    """Every attached file exists and still has the SHA-256 recorded with its event; the files
    no event refers to."""
    e, c = CaseEvent.__table__, ClearanceCase.__table__
    rows = conn.execute(select(e.c.id, c.c.case_no, e.c.attachment_name, e.c.attachment_sha256)
                        .join(c, c.c.id == e.c.case_id).where(e.c.attachment_sha256.is_not(None))
                        .order_by(e.c.id)).all()
    found, seen = [], {}
    for r in rows:
        path = attachment_path(ws, r.case_no, r.attachment_sha256, r.attachment_name)
        if path not in seen:
            seen[path] = file_sha256(path) if path.is_file() else None
        if seen[path] is None:
            found.append(Finding("case_event", r.id, "attachment_missing",
                                 f"第 {r.id} 行的附件 {r.attachment_name} 不在工作区",
                                 f"the file {r.attachment_name} attached by row {r.id} is not in the workspace"))
        elif seen[path] != r.attachment_sha256:
            found.append(Finding("case_event", r.id, "attachment_altered",
                                 f"第 {r.id} 行的附件 {r.attachment_name} 与登记的哈希不符：文件被改动",
                                 f"the file {r.attachment_name} attached by row {r.id} no longer has its recorded "
                                 "SHA-256: it was altered"))
    folder = ws.path / "attachments"
    stray = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p not in seen)
    return found, stray


def _case_courses(conn: Connection, profile: Profile) -> list[Finding]:
    """Every case's events tell a legal course: opened in its workflow's first state, each move a
    transition of the workflow from the state the case was in, comments where it stood, ending in
    the state the case row holds."""
    e, c = CaseEvent.__table__, ClearanceCase.__table__
    flows = {wf.id: wf for wf in profile.operations.workflows}
    cases = {r.id: r for r in conn.execute(select(c.c.id, c.c.case_no, c.c.workflow_id, c.c.state))}
    found: list[Finding] = []
    state: dict[int, str | None] = {}
    bad: set[int] = set()
    rows = conn.execute(select(e.c.id, e.c.case_id, e.c.action, e.c.from_state, e.c.to_state)
                        .order_by(e.c.case_id, e.c.seq))
    for ev in rows:
        case = cases.get(ev.case_id)
        if case is None or ev.case_id in bad:
            continue
        wf = flows.get(case.workflow_id)
        here = state.get(ev.case_id)
        if ev.action == "open":
            ok = here is None and wf is not None and ev.to_state == wf.params.initial
        elif ev.action == "comment":
            ok = here is not None and ev.from_state == here == ev.to_state
        else:
            ok = (here is not None and wf is not None and ev.from_state == here
                  and any(t.to_state == ev.to_state for t in wf.params.moves_from(here)))
        if not ok:
            bad.add(ev.case_id)
            found.append(Finding("case_event", ev.id, "course",
                                 f"案件 {case.case_no} 的第 {ev.id} 行事件（{ev.action} {ev.from_state}→{ev.to_state}）"
                                 f"不是其流程中从「{here}」出发的合法一步",
                                 f"event row {ev.id} of case {case.case_no} ({ev.action} {ev.from_state}→{ev.to_state}) "
                                 f"is not a legal step of its workflow from {here}"))
        state[ev.case_id] = ev.to_state
    for cid, case in cases.items():
        if cid not in bad and state.get(cid) != case.state:
            found.append(Finding("case_event", None, "course",
                                 f"案件 {case.case_no} 处于「{case.state}」，但其事件止于「{state.get(cid)}」",
                                 f"case {case.case_no} is in {case.state} but its events end in {state.get(cid)}"))
    return found
