"""Clearance cases: opening from a run, each workflow's allowed and refused moves, roles and
districts, stale versions, attachments, and the quota a crediting move posts (operations.*)."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import pandas as pd
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from landrenew import audit, ledger
from landrenew.actors import Actor, Forbidden
from landrenew.cases import (
    CaseError,
    StaleCase,
    add_comment,
    case_credits,
    case_events,
    get_case,
    list_cases,
    open_cases,
    transition,
)
from landrenew.cli import app
from landrenew.policy import load_profile
from landrenew.store import Workspace
from landrenew.store.bulk import insert_frame
from landrenew.store.models import AnalysisRun, ClearanceCase, QuotaTransfer, RunCase

ADMIN = Actor("王科长", "city_admin")
ANALYST = Actor("李分析", "city_analyst")
WUJIN = Actor("武进经办", "district_officer", "320412")
XINBEI = Actor("新北经办", "district_officer", "320411")
VIEWER = Actor("领导", "viewer")

#: (case id, district, family, path, rule, area, parcels, priority) of run 1
RECS = [
    ("P1", "320412", "ecological", "reclaim_cultivated", "disposal.eco.reclaim_cultivated", 30.0, "K1", 90.0),
    ("U2", "320412", "unsupplied", "supply", "disposal.unsupplied.supply", 40.0, "K2;K3", 80.0),
    ("P4", "320411", "illegal", "regularise", "disposal.illegal.regularise", 5.0, "K4", 70.0),
    ("P5", "320412", "upgrade", "self_renewal", "disposal.upgrade.self_renewal", 10.0, "K5", 60.0),
]


@pytest.fixture()
def run_ws(ws):
    """A workspace with one finished run of four matched recommendations and one unmatched."""
    with ws.engine.begin() as conn:
        insert_frame(conn, AnalysisRun.__table__, pd.DataFrame([{
            "id": 1, "started_at": datetime.now(UTC), "finished_at": datetime.now(UTC), "status": "done",
            "as_of": date(2024, 12, 31), "year": 2024, "profile_id": "changzhou-2022", "profile_version": "1",
            "profile_digest": "x", "input_hash": "y", "code_version": "t", "timings": {}, "counts": {}, "user": "t"}]))
        rows = [{"run_id": 1, "case_id": c, "unit_id": None, "n_parcels": len(k.split(";")), "parcel_keys": k,
                 "district_code": d, "area_mu": a, "construction_mu": a, "tags": "低", "matched": True,
                 "family": f, "path": p, "path_zh": p, "rule_id": r, "clause": "c", "reason_zh": "r", "reason_en": "r",
                 "priority": pr, "vacated_mu": 0.0, "cultivated_mu": 0.0, "paddy_mu": 0.0, "grain_kg": 0.0,
                 "construction_quota_mu": 0.0, "stock_linkage_mu": 0.0} for c, d, f, p, r, a, k, pr in RECS]
        rows.append({**rows[-1], "case_id": "P9", "parcel_keys": "K9", "matched": False, "family": None,
                     "path": None, "rule_id": None, "priority": 99.0})
        insert_frame(conn, RunCase.__table__, pd.DataFrame(rows))
    return ws


@pytest.fixture()
def opened(run_ws, profile):
    out = open_cases(run_ws, profile, ADMIN, when=date(2023, 3, 1))
    return run_ws, dict(zip([r[0] for r in RECS], out.opened, strict=True))


@pytest.fixture()
def proof(tmp_path):
    f = tmp_path / "验收报告.pdf"
    f.write_bytes(b"%PDF-1.4 acceptance report")
    return f


def move(ws, profile, actor, no, to, when, **kw):
    version = get_case(ws.engine, profile, ADMIN, no)["version"]
    return transition(ws, profile, actor, no, to, version, when=date.fromisoformat(when), **kw)


# --------------------------------------------------------------------------- open


def test_open_one_case_per_matched_recommendation_by_priority(run_ws, profile):
    """operations.permissions.open: the city opens cases from run 1 — the unmatched one is left out,
    numbers run per district and year, each case starts in its workflow's first state."""
    out = open_cases(run_ws, profile, ADMIN, when=date(2023, 3, 1))
    assert out.opened == ["320412-2023-00001", "320412-2023-00002", "320411-2023-00001", "320412-2023-00003"]
    cases = list_cases(run_ws.engine, profile, ADMIN).set_index("case_no")
    assert cases.loc["320412-2023-00001", ["path", "state", "version"]].tolist() == ["reclaim_cultivated", "identified", 1]
    assert cases.loc["320412-2023-00002", "workflow_id"] == "workflow.unsupplied"
    assert cases.loc["320411-2023-00001", "workflow_id"] == "workflow.regularise"
    assert cases.loc["320412-2023-00001", "state_zh"] == "认定"


def test_reopening_skips_parcels_already_in_open_cases(opened, profile):
    ws, _ = opened
    again = open_cases(ws, profile, ADMIN, when=date(2023, 4, 1))
    assert again.opened == [] and [c for c, _ in again.skipped] == ["P1", "U2", "P4", "P5"]


def test_open_by_district_family_and_top(run_ws, profile):
    out = open_cases(run_ws, profile, ANALYST, district="320412", top=2, when=date(2023, 3, 1))
    assert len(out.opened) == 2 and all(n.startswith("320412-") for n in out.opened)
    out = open_cases(run_ws, profile, ANALYST, family="upgrade", when=date(2023, 3, 1))
    assert [get_case(run_ws.engine, profile, ADMIN, n)["family"] for n in out.opened] == ["upgrade"]


def test_land_of_an_achieved_case_is_not_opened_again_but_of_a_withdrawn_one_is(opened, profile, proof):
    """A later run recommending the same parcels: the reclaimed (accepted, then closed) parcel is not
    worked or credited twice; the withdrawn case's parcel may be opened again."""
    ws, no = opened
    move(ws, profile, WUJIN, no["P1"], "planning", "2023-04-10")
    move(ws, profile, ADMIN, no["P1"], "approved", "2023-06-01", attachment=proof, values={"approval_no": "A"})
    move(ws, profile, WUJIN, no["P1"], "implementing", "2023-07-01")
    move(ws, profile, ADMIN, no["P1"], "accepted", "2024-05-20", attachment=proof,
         values={"accepted_area_mu": 28, "farmland_kind": "水田", "farmland_grade": 6})
    move(ws, profile, ADMIN, no["P1"], "closed", "2024-06-01")
    move(ws, profile, ADMIN, no["P5"], "withdrawn", "2023-04-01", comment="企业自行整改")
    again = open_cases(ws, profile, ADMIN, when=date(2024, 7, 1))
    assert sorted(c for c, _ in again.skipped) == ["P1", "P4", "U2"]
    assert [get_case(ws.engine, profile, ADMIN, n)["run_case_id"] for n in again.opened] == ["P5"]


def test_an_achieved_case_cannot_be_withdrawn(opened, profile, proof):
    """``any`` moves apply before ``done`` only: accepted (and credited) reclamation stays accepted."""
    ws, no = opened
    move(ws, profile, XINBEI, no["P4"], "filed", "2023-03-20", attachment=proof)
    move(ws, profile, XINBEI, no["P4"], "penalised", "2023-05-20", attachment=proof, values={"penalty_wan": 3})
    move(ws, profile, ADMIN, no["P4"], "regularised", "2023-08-20", attachment=proof, values={"approval_no": "B"})
    with pytest.raises(CaseError, match="不能直接办理到「撤销」"):
        move(ws, profile, ADMIN, no["P4"], "withdrawn", "2023-09-01", comment="误立案")


def test_district_officers_and_viewers_cannot_open_cases(run_ws, profile):
    for who in (WUJIN, VIEWER):
        with pytest.raises(Forbidden):
            open_cases(run_ws, profile, who)


# --------------------------------------------------------------------------- workflows


def test_reclamation_workflow_to_acceptance_credits_quota_by_farmland_kind(opened, profile, proof):
    """workflow.reclaim + quota rules: 认定 → 方案编制 → 审批 → 实施 → 验收 → 销号; accepting 28 亩 of 水田
    credits 320412 with 28 × quota_per_accepted_mu 增减挂钩, 28 亩 quantity, 28 × 1.0 paddy and
    28 × by_farmland_kind[水田] kg grain capacity; milestone dates are kept."""
    ws, no = opened
    c = no["P1"]
    move(ws, profile, WUJIN, c, "planning", "2023-04-10")
    move(ws, profile, ADMIN, c, "approved", "2023-06-01", attachment=proof, values={"approval_no": "常自然资复〔2023〕12号"})
    move(ws, profile, WUJIN, c, "implementing", "2023-07-01")
    out = move(ws, profile, ADMIN, c, "accepted", "2024-05-20", attachment=proof,
               values={"accepted_area_mu": "28", "farmland_kind": "水田", "farmland_grade": "6"})
    assert out["state"] == "accepted" and out["version"] == 5
    assert out["milestones"] == {"identified": "2023-03-01", "planning": "2023-04-10", "approved": "2023-06-01",
                                 "implementing": "2023-07-01", "accepted": "2024-05-20"}
    assert out["data"]["accepted_area_mu"] == 28.0 and out["data"]["farmland_grade"] == 6
    with ws.engine.connect() as conn:
        bal = ledger.balances(conn, profile, owner="320412").set_index("kind")["balance"]
    q = profile.quota
    assert bal["linkage"] == pytest.approx(28 * q.linkage.params.quota_per_accepted_mu)
    assert bal["quantity"] == pytest.approx(28.0)
    assert bal["paddy"] == pytest.approx(28 * q.balance_kind("paddy").params.by_farmland_kind["水田"])
    assert bal["grain_capacity"] == pytest.approx(28 * q.balance_kind("grain_capacity").params.by_farmland_kind["水田"])
    closed = move(ws, profile, ADMIN, c, "closed", "2024-06-01")
    assert closed["closed_at"] == date(2024, 6, 1) and closed["moves"] == []
    with ws.engine.connect() as conn:
        assert not ledger.verify(conn, profile).problems


def test_dry_farmland_earns_no_paddy_quota(profile):
    """quota.balance.paddy by_farmland_kind: 旱地 counts 0 for paddy, its own coefficient for grain."""
    rule = profile.rule("disposal.eco.reclaim_cultivated")
    got = {k: a for k, a, _ in case_credits(profile, rule, 10.0, {"farmland_kind": "旱地"})}
    assert "paddy" not in got and got["quantity"] == 10.0
    assert got["grain_capacity"] == pytest.approx(10 * profile.quota.balance_kind("grain_capacity").params.by_farmland_kind["旱地"])


def test_unsupplied_disposal_credits_plan_quota(opened, profile, proof):
    """workflow.unsupplied + 增存挂钩: disposing of 40 亩 of 批而未供 land earns 40 × quota_per_unsupplied_mu."""
    ws, no = opened
    c = no["U2"]
    move(ws, profile, WUJIN, c, "planning", "2023-05-01")
    move(ws, profile, ADMIN, c, "approved", "2023-06-01", attachment=proof, values={"approval_no": "A1"})
    move(ws, profile, WUJIN, c, "disposed", "2023-09-01", attachment=proof, values={"disposed_area_mu": 40})
    with ws.engine.connect() as conn:
        bal = ledger.balances(conn, profile, owner="320412").set_index("kind")["balance"]
    assert bal["plan"] == pytest.approx(40 * profile.quota.stock_linkage.params.quota_per_unsupplied_mu)


def test_a_move_not_in_the_workflow_is_refused_naming_the_possible_ones(opened, profile):
    ws, no = opened
    with pytest.raises(CaseError, match="不能直接办理到「验收」") as err:
        move(ws, profile, ADMIN, no["P1"], "accepted", "2023-04-01")
    assert "planning（方案编制）" in err.value.zh


def test_roles_allowed_per_transition(opened, profile, proof):
    """workflow.reclaim: a district officer drafts the plan but may not approve it; a viewer does nothing."""
    ws, no = opened
    move(ws, profile, WUJIN, no["P1"], "planning", "2023-04-10")
    with pytest.raises(Forbidden, match="区级经办人"):
        move(ws, profile, WUJIN, no["P1"], "approved", "2023-05-01", attachment=proof, values={"approval_no": "A"})
    with pytest.raises(Forbidden):
        move(ws, profile, VIEWER, no["P1"], "approved", "2023-05-01", attachment=proof, values={"approval_no": "A"})
    assert get_case(ws.engine, profile, ADMIN, no["P1"])["state"] == "planning"


def test_district_officer_sees_and_moves_only_its_own_district(opened, profile):
    ws, no = opened
    mine = list_cases(ws.engine, profile, XINBEI)
    assert mine["district_code"].unique().tolist() == ["320411"]
    with pytest.raises(Forbidden, match="320412"):
        move(ws, profile, XINBEI, no["P1"], "planning", "2023-04-10")
    with pytest.raises(Forbidden):
        get_case(ws.engine, profile, XINBEI, no["P1"])
    with pytest.raises(Forbidden):
        list_cases(ws.engine, profile, XINBEI, district="320412")


def test_stale_version_is_refused_and_nothing_changes(opened, profile):
    """Optimistic locking: two officers load version 1; the second one's move is refused politely."""
    ws, no = opened
    transition(ws, profile, WUJIN, no["P1"], "planning", 1, when=date(2023, 4, 1))
    with pytest.raises(StaleCase, match="第 2 版.*第 1 版"):
        transition(ws, profile, ADMIN, no["P1"], "withdrawn", 1, comment="重复", when=date(2023, 4, 2))
    c = get_case(ws.engine, profile, ADMIN, no["P1"])
    assert (c["state"], c["version"]) == ("planning", 2)
    assert case_events(ws.engine, profile, ADMIN, no["P1"])["seq"].tolist() == [1, 2]


def test_requirements_are_checked_before_anything_changes(opened, profile, proof):
    """验收 needs the file, the accepted area, farmland kind and a grade within 1–15."""
    ws, no = opened
    c = no["P1"]
    move(ws, profile, WUJIN, c, "planning", "2023-04-10")
    with pytest.raises(CaseError, match="附件.*批复文号"):
        move(ws, profile, ADMIN, c, "approved", "2023-06-01")
    move(ws, profile, ADMIN, c, "approved", "2023-06-01", attachment=proof, values={"approval_no": "A"})
    move(ws, profile, WUJIN, c, "implementing", "2023-07-01")
    bad = [({"accepted_area_mu": 28, "farmland_kind": "沙地", "farmland_grade": 5}, "耕地类型.*应为 水田/水浇地/旱地 之一"),
           ({"accepted_area_mu": 28, "farmland_kind": "水田", "farmland_grade": 20}, "耕地质量等别.*应在 1.*15 之间"),
           ({"accepted_area_mu": "很多", "farmland_kind": "水田", "farmland_grade": 5}, "验收面积"),
           ({"accepted_area_mu": 28, "farmland_kind": "水田", "farmland_grade": 5, "color": "red"}, "未知的案件字段")]
    for values, problem in bad:
        with pytest.raises(CaseError, match=problem):
            move(ws, profile, ADMIN, c, "accepted", "2024-05-20", attachment=proof, values=values)
    with pytest.raises(CaseError, match="早于上一环节"):
        move(ws, profile, ADMIN, c, "accepted", "2023-06-15", attachment=proof,
             values={"accepted_area_mu": 28, "farmland_kind": "水田", "farmland_grade": 5})
    assert get_case(ws.engine, profile, ADMIN, c)["state"] == "implementing"
    with ws.engine.connect() as conn:
        assert ledger.balances(conn, profile, owner="320412").empty or \
            ledger.balances(conn, profile, owner="320412")["balance"].sum() == 0


def test_withdraw_from_any_open_state_needs_a_comment_and_ends_the_case(opened, profile):
    ws, no = opened
    with pytest.raises(CaseError, match="意见"):
        move(ws, profile, ADMIN, no["P5"], "withdrawn", "2023-04-01")
    out = move(ws, profile, ADMIN, no["P5"], "withdrawn", "2023-04-01", comment="已由企业自行整改")
    assert out["state"] == "withdrawn" and out["moves"] == [] and out["closed_at"] == date(2023, 4, 1)
    with pytest.raises(CaseError):
        move(ws, profile, ADMIN, no["P5"], "planning", "2023-04-02")


def test_events_are_appended_with_actor_dates_and_attachment_hash(opened, profile, proof):
    ws, no = opened
    c = no["P4"]
    move(ws, profile, XINBEI, c, "filed", "2023-03-20", attachment=proof)
    add_comment(ws, profile, XINBEI, c, 2, "已送达立案通知书", when=date(2023, 3, 21))
    ev = case_events(ws.engine, profile, ADMIN, c)
    assert ev["action"].tolist() == ["open", "transition", "comment"]
    assert ev["seq"].tolist() == [1, 2, 3]
    assert ev.loc[1, ["actor", "role", "from_state", "to_state"]].tolist() == ["新北经办", "district_officer", "identified", "filed"]
    assert ev.loc[1, "attachment_sha256"] == hashlib.sha256(proof.read_bytes()).hexdigest()
    stored = list((ws.path / "attachments" / c).iterdir())
    assert len(stored) == 1 and stored[0].read_bytes() == proof.read_bytes()
    assert get_case(ws.engine, profile, ADMIN, c)["state"] == "filed"


def test_an_attachment_is_kept_only_for_a_found_case_and_an_allowed_actor(opened, profile, proof):
    """The file is copied into the workspace after the case is found and the actor allowed, under
    the case number the store holds: a refused move or an unknown (or ``..``) case number writes
    nothing anywhere; the kept file is whole (no partial file left beside it)."""
    ws, no = opened
    before = {p for p in ws.path.rglob("*") if p.is_file()}
    with pytest.raises(Forbidden):
        move(ws, profile, WUJIN, no["P4"], "filed", "2023-03-20", attachment=proof)  # 新北's case
    for bad in ("..", "../..", "no-such-case"):
        with pytest.raises(CaseError):
            transition(ws, profile, ADMIN, bad, "filed", 1, when=date(2023, 3, 20), attachment=proof)
        with pytest.raises(CaseError):
            add_comment(ws, profile, ADMIN, bad, 1, "意见", attachment=proof)
    assert {p for p in ws.path.rglob("*") if p.is_file()} == before
    move(ws, profile, XINBEI, no["P4"], "filed", "2023-03-20", attachment=proof)
    kept = [p for p in (ws.path / "attachments").rglob("*") if p.is_file()]
    assert [p.parent.name for p in kept] == [no["P4"]] and kept[0].read_bytes() == proof.read_bytes()


def test_a_move_that_fails_after_storing_its_file_takes_the_file_with_it(opened, profile, proof, tmp_path):
    """Refused by its requirements, its date or a stale version, a move leaves no file behind; a
    file already kept for an earlier event of the case stays."""
    ws, no = opened
    c = no["P1"]
    files = lambda: sorted(p.name for p in (ws.path / "attachments").rglob("*") if p.is_file())  # noqa: E731
    move(ws, profile, WUJIN, c, "planning", "2023-04-10")
    with pytest.raises(CaseError, match="批复文号"):  # the file was stored, then a value was missing
        move(ws, profile, ADMIN, c, "approved", "2023-06-01", attachment=proof)
    with pytest.raises(CaseError, match="早于上一环节"):
        move(ws, profile, ADMIN, c, "approved", "2023-01-01", attachment=proof, values={"approval_no": "A"})
    with pytest.raises(StaleCase):
        add_comment(ws, profile, ADMIN, c, 1, "旧版本", attachment=proof)
    assert files() == []
    move(ws, profile, ADMIN, c, "approved", "2023-06-01", attachment=proof, values={"approval_no": "A"})
    kept = files()
    with pytest.raises(CaseError, match="早于上一环节"):  # the same proof again: kept for the event before
        move(ws, profile, WUJIN, c, "implementing", "2023-01-01", attachment=proof)
    other = tmp_path / "现场照片.pdf"
    other.write_bytes(b"%PDF-1.4 site photo")
    with pytest.raises(CaseError, match="早于上一环节"):
        move(ws, profile, WUJIN, c, "implementing", "2023-01-01", attachment=other)
    assert len(kept) == 1 and files() == kept


def test_only_kinds_of_file_a_case_keeps_are_attached_and_only_if_they_are_what_they_say(opened, profile, tmp_path):
    ws, no = opened
    for name, content, problem in [("setup.exe", b"MZ\x90\x00", "类型 .exe 不被接受"), ("说明", b"%PDF-1.4", "无扩展名"),
                                   ("page.html", b"<script>alert(1)</script>", "类型 .html"),
                                   ("report.pdf", b"<html><script>alert(1)</script>", "不是 .pdf 文件"),
                                   ("scan.png", b"\xff\xd8\xff\xe0 a jpeg", "不是 .png 文件"),
                                   ("notes.txt", b"MZ\x90\x00\x03\x00", "不是 .txt 文件")]:
        f = tmp_path / name
        f.write_bytes(content)
        with pytest.raises(CaseError, match=problem):
            add_comment(ws, profile, ADMIN, no["P1"], 1, "附件", attachment=f)
    assert not (ws.path / "attachments").exists()
    for name, content in [("现场.JPG", b"\xff\xd8\xff\xe0 photo"), ("批复.ofd", b"PK\x03\x04 ofd"),
                          ("纪要.txt", "会议纪要".encode("gb18030")), ("测绘.tif", b"II*\x00 tiff")]:
        f = tmp_path / name
        f.write_bytes(content)
        version = get_case(ws.engine, profile, ADMIN, no["P1"])["version"]
        add_comment(ws, profile, ADMIN, no["P1"], version, "附件", attachment=f)
    assert len(list((ws.path / "attachments").rglob("*"))) == 5  # the case's folder and its four files


def test_a_move_changes_the_views_data_stamp_and_a_comment_does_not(opened, profile, proof):
    """Tiles, list totals and the cockpit are cached per data stamp: a comment must not empty them."""
    from landrenew.features import data_stamp

    ws, no = opened
    c = no["P4"]

    def stamp() -> tuple:
        with ws.engine.connect() as conn:
            return data_stamp(conn)

    before = stamp()
    add_comment(ws, profile, XINBEI, c, 1, "已电话联系权利人", when=date(2023, 3, 2))
    assert stamp() == before
    move(ws, profile, XINBEI, c, "filed", "2023-03-20", attachment=proof)
    assert stamp() != before


def test_regularisation_path_to_closure(opened, profile, proof):
    """workflow.regularise: 认定 → 立案查处 → 处罚到位 → 完善手续 → 销号; no quota."""
    ws, no = opened
    c = no["P4"]
    move(ws, profile, XINBEI, c, "filed", "2023-03-20", attachment=proof)
    move(ws, profile, XINBEI, c, "penalised", "2023-05-20", attachment=proof, values={"penalty_wan": 12.5})
    move(ws, profile, ADMIN, c, "regularised", "2023-08-20", attachment=proof, values={"approval_no": "B"})
    assert move(ws, profile, ADMIN, c, "closed", "2023-09-01")["state"] == "closed"
    with ws.engine.connect() as conn:
        assert ledger.balances(conn, profile, owner="320411").empty


# --------------------------------------------------------------------------- CLI


def test_cli_open_list_show_move(run_ws, tmp_path):
    w = ["--workspace", str(run_ws.path), "--db", run_ws.database_url]
    r = CliRunner().invoke(app, ["cases", "open", "--top", "2", "--date", "2023-03-01", *w])
    assert r.exit_code == 0, r.output
    assert "已立案 2" in r.output
    r = CliRunner().invoke(app, ["cases", "list", *w])
    assert r.exit_code == 0 and "认定" in r.output
    r = CliRunner().invoke(app, ["cases", "show", "320412-2023-00001", "--as", "district_officer:320412", *w])
    assert r.exit_code == 0 and "方案编制" in r.output and "--version 1" in r.output
    r = CliRunner().invoke(app, ["cases", "move", "320412-2023-00001", "planning", "--version", "1",
                                 "--date", "2023-04-01", "--as", "district_officer:320412", *w])
    assert r.exit_code == 0 and "方案编制" in r.output
    r = CliRunner().invoke(app, ["cases", "move", "320412-2023-00001", "approved", "--version", "1", *w])
    assert r.exit_code == 1 and "第 2 版" in r.output
    r = CliRunner().invoke(app, ["cases", "show", "320412-2023-00001", "--as", "district_officer:320411", *w])
    assert r.exit_code == 1 and "320412" in r.output


# --------------------------------------------------------------------------- every workflow of the profile

DAY = date(2024, 1, 15)


def rule_for(profile, wf):
    """A disposal rule whose cases follow ``wf``."""
    return next(r for r in profile.disposal.rules
                if r.family in wf.params.families and (wf.params.paths is None or r.path in wf.params.paths)
                and profile.operations.workflow_for(r.family, r.path).id == wf.id)


def values_for(profile, move_, area):
    """Valid values for everything ``move_`` requires (areas: ``area``)."""
    out = {}
    for need in move_.requires:
        if need in ("attachment", "comment"):
            continue
        f = profile.operations.field(need)
        out[need] = {"number": area, "integer": f.minimum or 1, "choice": (f.choices or ["?"])[0],
                     "date": "2023-01-01"}.get(f.type, "文号-1")
    return out


def workflow_ws(ws, profile, copies=1):
    """``ws`` with one finished run holding ``copies`` recommendations per workflow (run_case_id "<wf>#<i>")."""
    rows = []
    for i, wf in enumerate(profile.operations.workflows):
        r = rule_for(profile, wf)
        for j in range(copies):
            rows.append({"run_id": None, "case_id": f"{wf.id}#{j}", "unit_id": None, "n_parcels": 1,
                         "parcel_keys": f"K{i}-{j}", "district_code": ["320412", "320411"][j % 2], "area_mu": 10.0,
                         "construction_mu": 10.0, "tags": "低", "matched": True, "family": r.family, "path": r.path,
                         "path_zh": r.path_zh, "rule_id": r.id, "clause": r.clause, "reason_zh": "r", "reason_en": "r",
                         "priority": 100.0 - i, "vacated_mu": 0.0, "cultivated_mu": 0.0, "paddy_mu": 0.0,
                         "grain_kg": 0.0, "construction_quota_mu": 0.0, "stock_linkage_mu": 0.0})
    with ws.engine.begin() as conn:
        run_id = conn.execute(AnalysisRun.__table__.insert().values(
            started_at=datetime.now(UTC), finished_at=datetime.now(UTC), status="done", as_of=date(2024, 12, 31),
            year=2024, profile_id=profile.id, profile_version="1", profile_digest="x", input_hash="y",
            code_version="t", timings={}, counts={}, user="t").returning(AnalysisRun.id)).scalar_one()
        insert_frame(conn, RunCase.__table__, pd.DataFrame(rows).assign(run_id=run_id))
    open_cases(ws, profile, ADMIN, when=date(2023, 3, 1))
    c = ClearanceCase.__table__
    with ws.engine.connect() as conn:
        return dict(conn.execute(select(c.c.run_case_id, c.c.case_no)).all())


def officer_of(no):
    return Actor("区经办", "district_officer", no.split("-")[0])


@pytest.mark.parametrize("wf_id", [w.id for w in load_profile("changzhou-2022").operations.workflows])
def test_every_workflow_allows_exactly_its_transitions_to_exactly_its_roles(ws, profile, proof, wf_id):
    """For each workflow of the profile, along its regular course: every state not offered from the
    current one is refused; every role not named on the move is refused; a named role makes it; the
    case reaches ``done`` and a terminal state, crediting quota exactly where the move says so."""
    wf = next(w for w in profile.operations.workflows if w.id == wf_id)
    no = workflow_ws(ws, profile)[f"{wf_id}#0"]
    states = [s.key for s in wf.params.states]
    people = {"city_admin": ADMIN, "city_analyst": ANALYST, "viewer": VIEWER, "district_officer": officer_of(no)}
    for step in wf.params.main_path():
        c = get_case(ws.engine, profile, ADMIN, no)
        offered = {t.to_state for t in wf.params.moves_from(c["state"])}
        for other in sorted(set(states) - offered):
            with pytest.raises(CaseError):
                transition(ws, profile, ADMIN, no, other, c["version"], when=DAY, comment="x", attachment=proof)
        kwargs = {"values": values_for(profile, step, 9.5), "attachment": proof, "comment": "办理", "when": DAY}
        for role, who in people.items():
            if role not in step.roles:
                with pytest.raises(Forbidden):
                    transition(ws, profile, who, no, step.to_state, c["version"], **kwargs)
        who = people[step.roles[0]]
        after = transition(ws, profile, who, no, step.to_state, c["version"], **kwargs)
        assert (after["state"], after["version"]) == (step.to_state, c["version"] + 1)
        with ws.engine.connect() as conn:
            posted = ledger.history(conn, profile, case_id=c["id"])
        expected = case_credits(profile, profile.rule(c["rule_id"]), 9.5, after["data"]) \
            if any(t.credits for t in wf.params.main_path()[:wf.params.main_path().index(step) + 1]) else []
        assert sorted(posted["kind"]) == sorted(k for k, _, _ in expected)
    final = get_case(ws.engine, profile, ADMIN, no)
    assert wf.params.state(final["state"]).terminal and wf.params.done in final["milestones"]
    assert final["moves"] == []


# --------------------------------------------------------------------------- concurrency


def event_chain_problems(ws, profile):
    """Cases whose events do not form a legal chain: seq 1..version, each move from the previous state
    by a transition of the workflow."""
    cases = list_cases(ws.engine, profile, ADMIN)
    bad = []
    for no, version in zip(cases["case_no"], cases["version"], strict=True):
        c = get_case(ws.engine, profile, ADMIN, no)
        ev = case_events(ws.engine, profile, ADMIN, no)
        if ev["seq"].tolist() != list(range(1, version + 1)):
            bad.append((no, "seq", ev["seq"].tolist()))
        state = c["workflow"].params.initial
        for e in ev.itertuples():
            if e.action == "transition":
                legal = {t.to_state for t in c["workflow"].params.moves_from(state)}
                if e.from_state != state or e.to_state not in legal:
                    bad.append((no, "skip", e.from_state, e.to_state, state))
                state = e.to_state
        if state != c["state"]:
            bad.append((no, "state", state, c["state"]))
    return bad


def test_many_clients_move_cases_and_transfer_quota_at_once_on_postgres(ws, profile, proof):
    """16 clients at once: each case's regular course in steps taken by whichever client gets there
    (every request sent twice with the same version: the second must be refused as stale), and
    transfers between districts sent twice with the same id. Afterwards the ledger verifies, every
    transfer is posted once, every case went through every state of its course once, and each
    credited case has its credits exactly once."""
    if ws.engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers are a PostgreSQL matter; SQLite serialises them")
    import random
    import threading

    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    workflow_ws(ws, profile, copies=4)
    for i, owner in enumerate(["320412", "320411", "320413"]):
        with ws.engine.begin() as conn:
            ledger.credit(conn, transfer_id=f"seed-{i}", kind="linkage", to_owner=owner, amount=200.0,
                          reason="期初", actor=ADMIN, profile=profile, value_date=DAY)
    rng = random.Random(11)
    cases = list_cases(ws.engine, profile, ADMIN)
    courses = {no: profile.operations.workflow_for(f, p).params.main_path()
               for no, f, p in zip(cases["case_no"], cases["family"], cases["path"], strict=True)}
    jobs: list[tuple] = [("move", no) for no, course in courses.items() for _ in course]
    owners = ["320412", "320411", "320413", "320481", "city"]
    transfers = [ledger.TransferRequest(f"x{i:03d}", "linkage", *rng.sample(owners, 2), round(rng.uniform(1, 40), 2),
                                        "transfer", DAY, "调剂", price_yuan_per_mu=300000.0) for i in range(200)]
    jobs += [("transfer", r) for r in transfers]
    rng.shuffle(jobs)
    engine = create_engine(ws.database_url, poolclass=NullPool)
    lock, errors, stale, outcomes = threading.Lock(), [], [0], {r.transfer_id: [] for r in transfers}
    n_clients = 16
    start = threading.Barrier(n_clients)
    client_ws = Workspace(ws.path, ws.database_url)
    client_ws._engine = engine  # unpooled: 16 real connections

    def advance(no: str) -> None:
        while True:
            c = get_case(engine, profile, ADMIN, no)
            step = next(t for t in courses[no] if t.from_state == c["state"])
            who = ADMIN if "city_admin" in step.roles else officer_of(no)
            kwargs = {"values": values_for(profile, step, 9.5), "attachment": proof, "comment": "办理", "when": DAY}
            try:
                transition(client_ws, profile, who, no, step.to_state, c["version"], **kwargs)
            except StaleCase:
                continue  # someone else moved it first: reload, take the next step
            try:  # the same request again, as a client retrying after a lost response
                transition(client_ws, profile, who, no, step.to_state, c["version"], **kwargs)
                raise AssertionError(f"{no}: a repeated move was applied twice")
            except StaleCase:
                with lock:
                    stale[0] += 1
            return

    def client() -> None:
        start.wait()
        while True:
            with lock:
                if not jobs:
                    return
                kind, item = jobs.pop()
            try:
                if kind == "move":
                    advance(item)
                    continue
                for _ in range(2):
                    try:
                        with engine.begin() as conn:
                            p = ledger.post(conn, item, profile, ADMIN)
                        result = ("replayed" if p.replayed else "posted", p.seq)
                    except ledger.LedgerError as exc:
                        result = ("refused", exc.en)
                    with lock:
                        outcomes[item.transfer_id].append(result)
            except Exception as exc:  # noqa: BLE001 - any failure fails the test
                errors.append(exc)
                return

    threads = [threading.Thread(target=client) for _ in range(n_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    assert errors == []
    assert stale[0] == sum(len(c) for c in courses.values())
    assert event_chain_problems(ws, profile) == []
    for no, course in courses.items():
        c = get_case(ws.engine, profile, ADMIN, no)
        assert c["state"] == course[-1].to_state
        with ws.engine.connect() as conn:
            posted = ledger.history(conn, profile, case_id=c["id"])
        expected = case_credits(profile, profile.rule(c["rule_id"]), 9.5, c["data"]) \
            if any(t.credits for t in course) else []
        assert sorted(posted["kind"]) == sorted(k for k, _, _ in expected), no
    with ws.engine.connect() as conn:
        report = ledger.verify(conn, profile)
        stored = {r.transfer_id for r in conn.execute(select(QuotaTransfer.transfer_id))}
        trail = audit.verify(conn, profile)  # 16 writers at once never forked a chain
    assert report.ok, report.problems
    assert trail.ok, trail.findings
    for tid, results in outcomes.items():
        kinds = [k for k, _ in results]
        if tid in stored:
            assert kinds.count("posted") == 1 and "refused" not in kinds[kinds.index("posted"):]
        else:
            assert kinds == ["refused", "refused"]

