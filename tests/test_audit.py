"""The audit trail is tamper-evident: case events and ledger transfers are hash-chained, and
``landrenew audit verify`` finds a row edited, deleted, moved or slipped in by editing the
database directly (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from landrenew import audit, ledger
from landrenew.cases import add_comment, get_case
from landrenew.cli import app
from landrenew.store import migrate
from landrenew.store.chain import GENESIS
from test_cases import ADMIN, WUJIN, move, opened, proof, run_ws  # noqa: F401 - fixtures

DAY = date(2024, 5, 1)


@pytest.fixture()
def worked(opened, profile, proof):  # noqa: F811 - the imported fixture
    """Cases opened and worked (a reclamation to acceptance, which credits quota), a comment, and
    a transfer between districts."""
    ws, no = opened
    c = no["P1"]
    move(ws, profile, WUJIN, c, "planning", "2023-04-10")
    move(ws, profile, ADMIN, c, "approved", "2023-06-01", attachment=proof, values={"approval_no": "常自然资复〔2023〕12号"})
    move(ws, profile, WUJIN, c, "implementing", "2023-07-01")
    move(ws, profile, ADMIN, c, "accepted", "2024-05-20", attachment=proof,
         values={"accepted_area_mu": "28", "farmland_kind": "水田", "farmland_grade": "6"})
    add_comment(ws, profile, WUJIN, no["P5"], get_case(ws.engine, profile, ADMIN, no["P5"])["version"], "已约谈企业")
    with ws.engine.begin() as conn:
        ledger.post(conn, ledger.TransferRequest("t-1", "linkage", "320412", "320411", 5.0, "transfer", DAY, "调剂",
                                                 price_yuan_per_mu=300000.0), profile, ADMIN)
    return ws


def check(ws, profile) -> audit.AuditReport:
    with ws.engine.connect() as conn:
        return audit.verify(conn, profile)


def sql(ws, statement: str, **params) -> None:
    with ws.engine.begin() as conn:
        conn.execute(text(statement), params)


def test_a_worked_city_verifies_and_every_row_is_chained(worked, profile):
    report = check(worked, profile)
    assert report.ok, report.findings
    assert report.rows == {"case_event": 4 + 4 + 1, "quota_transfer": 4 + 1}
    assert all(h != GENESIS and len(h) == 64 for h in report.heads.values())
    with worked.engine.connect() as conn:
        for table in ("case_event", "quota_transfer"):
            rows = conn.execute(text(f"SELECT prev_hash, row_hash FROM {table} ORDER BY id")).all()
            assert rows[0].prev_hash == GENESIS
            assert all(b.prev_hash == a.row_hash for a, b in pairwise(rows))


def _edit_comment(ws):
    sql(ws, "UPDATE case_event SET comment = '无异议' WHERE id = 6")
    return [("case_event", 6, "content")]


def _edit_amount(ws):
    sql(ws, "UPDATE quota_transfer SET amount = 50.0 WHERE transfer_id = 't-1'")
    return [("quota_transfer", 5, "content")]


def _delete_middle_event(ws):
    sql(ws, "DELETE FROM case_event WHERE id = 6")
    return [("case_event", 7, "link")]


def _delete_newest_event_of_a_case(ws):
    # the table's newest row (the comment): no next row to break, but its case is now short of an event
    sql(ws, "DELETE FROM case_event WHERE id = (SELECT MAX(id) FROM case_event)")
    return [("case_event", None, "case_events")]


def _swap_two_transfers(ws):
    with ws.engine.begin() as conn:
        cols = "transfer_id, kind, debit_account_id, credit_account_id, amount, transfer_type, reason, prev_hash, row_hash"
        a, b = (conn.execute(text(f"SELECT {cols} FROM quota_transfer WHERE id = :i"), {"i": i}).mappings().one()
                for i in (2, 3))
        conn.execute(text("UPDATE quota_transfer SET transfer_id = 'tmp' WHERE id = 3"))
        for target, row in ((2, b), (3, a)):
            conn.execute(text("UPDATE quota_transfer SET " + ", ".join(f"{c} = :{c}" for c in row)
                              + " WHERE id = :target"), {**row, "target": target})
    return [("quota_transfer", 2, "link"), ("quota_transfer", 3, "link"), ("quota_transfer", 4, "link")]


def _slip_in_a_transfer(ws):
    sql(ws, "INSERT INTO quota_transfer (transfer_id, kind, debit_account_id, credit_account_id, amount, transfer_type,"
            " reason, value_date, actor, recorded_at) SELECT 'forged', kind, debit_account_id, credit_account_id, 1.0,"
            " 'transfer', '补录', value_date, actor, recorded_at FROM quota_transfer WHERE transfer_id = 't-1'")
    return [("quota_transfer", 6, "unchained")]


@pytest.mark.parametrize("tamper", [_edit_comment, _edit_amount, _delete_middle_event, _delete_newest_event_of_a_case,
                                    _swap_two_transfers, _slip_in_a_transfer])
def test_editing_the_database_directly_is_found(worked, profile, tamper):
    expected = tamper(worked)
    report = check(worked, profile)
    found = {(f.table, f.row_id, f.code) for f in report.findings}
    assert set(expected) <= found, report.findings
    assert not report.ok


def test_ledger_balances_changed_with_their_transfer_are_still_found(worked, profile):
    """A forger who edits an amount and both balances to match is caught by the chain alone."""
    sql(worked, "UPDATE quota_transfer SET amount = 6.0 WHERE transfer_id = 't-1'")
    sql(worked, "UPDATE quota_account SET balance = balance - 1.0 WHERE id = "
                "(SELECT debit_account_id FROM quota_transfer WHERE transfer_id = 't-1')")
    sql(worked, "UPDATE quota_account SET balance = balance + 1.0 WHERE id = "
                "(SELECT credit_account_id FROM quota_transfer WHERE transfer_id = 't-1')")
    report = check(worked, profile)
    assert [(f.table, f.code) for f in report.findings] == [("quota_transfer", "content")]


def test_cli_verifies_then_names_what_was_altered(worked):
    runner = CliRunner()
    args = ["audit", "verify", "--workspace", str(worked.path), "--db", worked.database_url]
    ok = runner.invoke(app, args)
    assert ok.exit_code == 0, ok.output
    assert "审计链完整" in ok.output and "案件事件: 9 行" in ok.output
    _edit_comment(worked)
    bad = runner.invoke(app, [*args, "--lang", "en"])
    assert bad.exit_code == 1
    assert "row 6 was changed after it was written" in bad.output and "case events" in bad.output


def test_the_migration_chains_the_rows_already_there(worked, profile):
    """A store from before the chain (revision 0013) gets its rows chained by the upgrade."""
    before = check(worked, profile).heads
    migrate.command.downgrade(migrate.alembic_config(worked.engine), "0013")
    migrate.upgrade(worked.engine)
    report = check(worked, profile)
    assert report.ok and report.heads == before


def test_an_altered_or_missing_attached_file_is_found_and_not_served(worked, profile):
    """``audit verify`` hashes every attached file; a download of an altered one is refused."""
    from landrenew.cases import CaseError
    from landrenew.casework import attachment_file

    with worked.engine.connect() as conn:
        assert audit.verify(conn, profile, worked).ok
    files = sorted(p for p in (worked.path / "attachments").rglob("*") if p.is_file())
    assert len(files) == 1  # the same proof twice: kept once
    files[0].write_bytes(b"%PDF-1.4 another report")
    with worked.engine.connect() as conn:
        report = audit.verify(conn, profile, worked)
    assert {f.code for f in report.findings} == {"attachment_altered"} and len(report.findings) == 2
    sha = files[0].name.split("_")[0]
    with worked.engine.connect() as conn:
        full = conn.execute(text("SELECT attachment_sha256 FROM case_event WHERE attachment_sha256 LIKE :p"),
                            {"p": sha + "%"}).scalar()
    with pytest.raises(CaseError, match="altered"):
        attachment_file(worked, profile, ADMIN, files[0].parent.name, full)
    files[0].unlink()
    with worked.engine.connect() as conn:
        assert {f.code for f in audit.verify(conn, profile, worked).findings} == {"attachment_missing"}


def test_files_no_event_refers_to_are_listed_not_taken_for_tampering(worked, profile):
    """A process killed between storing a file and its commit leaves a file (or a ``.part``) no
    event names: ``audit verify`` lists it for clearing up and still passes."""
    [kept] = [p for p in (worked.path / "attachments").rglob("*") if p.is_file()]
    (kept.parent / ".0123_photo.pdf.77.part").write_bytes(b"%PDF half")
    (kept.parent / "0123456789abcdef_photo.pdf").write_bytes(b"%PDF whole")
    with worked.engine.connect() as conn:
        report = audit.verify(conn, profile, worked)
    case = kept.parent.name
    assert report.ok and report.stray == [f"{case}/.0123_photo.pdf.77.part", f"{case}/0123456789abcdef_photo.pdf"]
    out = CliRunner().invoke(app, ["audit", "verify", "--workspace", str(worked.path), "--db", worked.database_url])
    said = out.output.replace("\n", "")
    assert out.exit_code == 0 and "2 个 attachments/ 中的文件没有事件引用" in said and "审计链完整" in said


def test_a_forger_who_rebuilds_the_chain_is_caught_by_the_course_and_the_head(worked, profile):
    """Someone with the database and this code can recompute every hash after an edit; the case's
    events must still tell a legal course of its workflow, and the chain's head changes (which
    is why the head is worth recording elsewhere)."""
    from sqlalchemy import select

    from landrenew.store.chain import row_hash
    from landrenew.store.models import CaseEvent

    head = check(worked, profile).heads["case_event"]
    sql(worked, "UPDATE case_event SET from_state = 'identified' WHERE id = 7")  # approved straight from identified
    events = CaseEvent.__table__
    with worked.engine.begin() as conn:
        prev = GENESIS
        for row in conn.execute(select(events).order_by(events.c.id)).mappings().all():
            h = row_hash("case_event", prev, row)
            conn.execute(text("UPDATE case_event SET prev_hash = :p, row_hash = :h WHERE id = :i"),
                         {"p": prev, "h": h, "i": row["id"]})
            prev = h
    report = check(worked, profile)
    assert [(f.row_id, f.code) for f in report.findings] == [(7, "course")]
    assert report.heads["case_event"] != head
