"""The quota ledger: double entry, idempotent postings, permissions, verification, concurrency, CLI.

Every test takes ``ws`` (conftest): a fresh workspace on SQLite and on PostgreSQL + PostGIS.
"""

from __future__ import annotations

import math
import random
import threading
import time
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from conftest import store_fingerprint
from landrenew import ledger, render
from landrenew.actors import Actor, Forbidden
from landrenew.ledger import LedgerError, TransferRequest
from landrenew.ledger_cli import ledger_app
from landrenew.policy import parse_profile
from landrenew.store.models import ClearanceCase

WUJIN, XINBEI, JINTAN, LIYANG = "320412", "320411", "320413", "320481"
DAY = date(2025, 3, 1)
ADMIN = Actor("admin", "city_admin")


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    monkeypatch.setattr(render.console, "width", 240)


def credit(ws, profile, tid, owner, amount, kind="linkage", actor=ADMIN, **kw):
    with ws.engine.begin() as conn:
        return ledger.credit(conn, transfer_id=tid, kind=kind, to_owner=owner, amount=amount, reason="验收入账",
                             actor=actor, profile=profile, value_date=DAY, **kw)


def transfer(ws, profile, tid, src, dst, amount, price=30_000.0, kind="linkage", actor=ADMIN, reason="调剂"):
    with ws.engine.begin() as conn:
        return ledger.transfer(conn, transfer_id=tid, kind=kind, from_owner=src, to_owner=dst, amount=amount,
                               price_yuan_per_mu=price, reason=reason, actor=actor, profile=profile, value_date=DAY)


def spend(ws, profile, tid, owner, amount, kind="linkage", actor=ADMIN):
    with ws.engine.begin() as conn:
        return ledger.spend(conn, transfer_id=tid, kind=kind, from_owner=owner, amount=amount, reason="占用",
                            actor=actor, profile=profile, value_date=DAY)


def post(ws, profile, req, actor=ADMIN):
    with ws.engine.begin() as conn:
        return ledger.post(conn, req, profile, actor)


def compensate(ws, profile, old, new, actor=ADMIN):
    with ws.engine.begin() as conn:
        return ledger.compensate(conn, old, new, "录入错误", actor, profile, DAY)


def balance_of(ws, profile, owner, kind="linkage"):
    with ws.engine.connect() as conn:
        df = ledger.balances(conn, profile, owner=owner, kind=kind)
    return float(df["balance"].iloc[0]) if len(df) else 0.0


def verify(ws, profile):
    with ws.engine.connect() as conn:
        return ledger.verify(conn, profile)


def sql(ws, statement, **params):
    with ws.engine.begin() as conn:
        return conn.execute(text(statement), params)


def open_case(ws, district=WUJIN):
    """A clearance case row to attach postings to; its id."""
    now = datetime.now(UTC)
    with ws.engine.begin() as conn:
        return conn.execute(ClearanceCase.__table__.insert().values(
            case_no=f"C-{district}-{now.timestamp()}", district_code=district, family="ecological",
            path="reclaim_cultivated", rule_id="disposal.reclaim", workflow_id="workflow.reclaim", state="accepted",
            version=1, area_mu=10.0, construction_mu=10.0, n_parcels=1, parcel_keys="k", priority=1.0, estimate={},
            milestones={}, data={}, opened_at=DAY, updated_at=now).returning(ClearanceCase.id)).scalar_one()


def with_permissions(profile, **roles):
    """The profile with other ledger permissions (e.g. district officers allowed to transfer)."""
    data = profile.model_dump(mode="json")
    data["operations"]["ledger"]["params"]["permissions"].update(roles)
    return parse_profile(data)


# --------------------------------------------------------------------------- kinds and owners


def test_one_ledger_kind_per_quota_rule_of_the_profile(profile):
    kinds = ledger.quota_kinds(profile)
    balance = {b.params.kind: b for b in profile.quota.balance}
    assert list(kinds) == ["linkage", *balance, "plan"]
    assert kinds["linkage"].rule_id == profile.quota.linkage.id
    assert kinds["plan"].rule_id == profile.quota.stock_linkage.id
    for key, rule in balance.items():
        assert (kinds[key].rule_id, kinds[key].unit) == (rule.id, rule.params.unit)
    assert kinds["grain_capacity"].unit_label() == "公斤" and kinds["paddy"].unit_label("en") == "mu"
    assert ledger.kind_for_rule(profile, "quota.balance.paddy").key == "paddy"


def test_owners_are_the_districts_the_city_pool_and_the_system_accounts(profile):
    city = profile.operations.ledger.params.city_owner
    assert ledger.owners(profile) == [*profile.city.district_codes, city, "issued", "consumed"]
    assert ledger.resolve_owner(profile, "wujin") == WUJIN == ledger.resolve_owner(profile, "武进区")
    assert ledger.resolve_owner(profile, "市级统筹") == city
    with pytest.raises(LedgerError, match="320499"):
        ledger.resolve_owner(profile, "320499")


# --------------------------------------------------------------------------- posting


def test_credit_shows_in_the_balances(ws, profile):
    p = credit(ws, profile, "case-1-linkage", WUJIN, 12.5)
    assert (p.from_owner, p.to_owner, p.amount, p.transfer_type, p.replayed) == ("issued", WUJIN, 12.5, "credit", False)
    assert p.rule_id == profile.quota.linkage.id  # defaults to the kind's rule
    credit(ws, profile, "case-1-grain", WUJIN, 9000, kind="grain_capacity")
    with ws.engine.connect() as conn:
        df = ledger.balances(conn, profile)
    got = {(r.owner, r.kind): r.balance for r in df.itertuples()}
    assert got == {(WUJIN, "linkage"): 12.5, ("issued", "linkage"): -12.5,
                   (WUJIN, "grain_capacity"): 9000.0, ("issued", "grain_capacity"): -9000.0}
    row = df[(df.owner == WUJIN) & (df.kind == "grain_capacity")].iloc[0]
    assert (row.owner_name, row.kind_name, row.unit) == ("武进区", "补充粮食产能指标", "公斤")


def test_a_transfer_between_districts_carries_its_price(ws, profile):
    credit(ws, profile, "c1", WUJIN, 100)
    p = transfer(ws, profile, "t1", WUJIN, XINBEI, 40, price=250_000)
    assert (p.price_yuan_per_mu, p.reason) == (250_000, "调剂")
    assert balance_of(ws, profile, WUJIN) == 60 and balance_of(ws, profile, XINBEI) == 40
    with ws.engine.connect() as conn:
        h = ledger.history(conn, profile, owner=XINBEI)
    assert list(h["transfer_id"]) == ["t1"] and h["price_yuan_per_mu"].iloc[0] == 250_000


def test_a_transfer_needs_a_price_and_a_reason(ws, profile):
    credit(ws, profile, "c1", WUJIN, 100)
    base = TransferRequest("t1", "linkage", WUJIN, XINBEI, 10, "transfer", DAY, "调剂", price_yuan_per_mu=1000)
    for bad, needle in ((dict(price_yuan_per_mu=None), "单价"), (dict(price_yuan_per_mu=-1.0), "单价"),
                        (dict(reason="  "), "事由")):
        with pytest.raises(LedgerError, match=needle):
            post(ws, profile, TransferRequest(**{**base.__dict__, **bad}))
    assert post(ws, profile, base).price_yuan_per_mu == 1000


def test_spend_moves_quota_to_consumed(ws, profile):
    credit(ws, profile, "c1", WUJIN, 30)
    p = spend(ws, profile, "s1", WUJIN, 12)
    assert (p.from_owner, p.to_owner, p.transfer_type) == (WUJIN, "consumed", "spend")
    assert balance_of(ws, profile, WUJIN) == 18 and balance_of(ws, profile, "consumed") == 12


def test_an_overdraft_is_refused_and_nothing_changes(ws, profile):
    credit(ws, profile, "c1", WUJIN, 10)
    before = store_fingerprint(ws)
    with pytest.raises(LedgerError) as exc:
        spend(ws, profile, "s1", WUJIN, 10.5)
    assert "余额不足" in exc.value.zh and "武进区" in exc.value.zh and "10 亩" in exc.value.zh
    assert "10.5" in exc.value.zh and "insufficient balance" in exc.value.en and "320412" in exc.value.en
    with pytest.raises(LedgerError, match="余额不足"):  # no account yet: balance 0, no account created
        transfer(ws, profile, "t1", JINTAN, XINBEI, 1)
    assert store_fingerprint(ws) == before and balance_of(ws, profile, WUJIN) == 10


def test_the_whole_balance_can_be_moved_despite_float_rounding(ws, profile):
    credit(ws, profile, "c1", WUJIN, 0.3)
    spend(ws, profile, "s1", WUJIN, 0.1)
    spend(ws, profile, "s2", WUJIN, 0.2)  # 0.3 - 0.1 = 0.19999999999999998
    assert abs(balance_of(ws, profile, WUJIN)) < 1e-12 and verify(ws, profile).ok


def test_a_retry_returns_the_same_posting_and_posts_once(ws, profile):
    credit(ws, profile, "c1", WUJIN, 50)
    first = transfer(ws, profile, "t1", WUJIN, XINBEI, 20)
    again = transfer(ws, profile, "t1", WUJIN, XINBEI, 20)
    assert again.replayed and not first.replayed
    assert again.seq == first.seq and again.recorded_at == first.recorded_at
    assert balance_of(ws, profile, WUJIN) == 30
    assert sql(ws, "SELECT COUNT(*) FROM quota_transfer WHERE transfer_id = 't1'").scalar_one() == 1


def test_a_retry_after_the_balance_is_gone_still_replays(ws, profile):
    credit(ws, profile, "c1", WUJIN, 20)
    spend(ws, profile, "s1", WUJIN, 20)
    assert spend(ws, profile, "s1", WUJIN, 20).replayed  # not an overdraft


def test_a_used_id_with_other_content_is_refused(ws, profile):
    credit(ws, profile, "c1", WUJIN, 50)
    transfer(ws, profile, "t1", WUJIN, XINBEI, 20)
    before = store_fingerprint(ws)
    with pytest.raises(LedgerError) as exc:
        transfer(ws, profile, "t1", WUJIN, XINBEI, 21)
    assert "t1" in exc.value.zh and "amount" in exc.value.en and "t1" in exc.value.en
    with pytest.raises(LedgerError, match="t1.*to_owner"):
        transfer(ws, profile, "t1", WUJIN, JINTAN, 20)
    assert store_fingerprint(ws) == before


def test_a_compensation_reverses_a_transfer_once(ws, profile):
    credit(ws, profile, "c1", WUJIN, 50)
    transfer(ws, profile, "t1", WUJIN, XINBEI, 20, price=1000)
    c = compensate(ws, profile, "t1", "t1-undo")
    assert (c.from_owner, c.to_owner, c.amount, c.compensates, c.transfer_type) == (XINBEI, WUJIN, 20, "t1", "compensate")
    assert balance_of(ws, profile, WUJIN) == 50 and balance_of(ws, profile, XINBEI) == 0
    assert compensate(ws, profile, "t1", "t1-undo").replayed  # a retry of the compensation
    with pytest.raises(LedgerError, match="t1-undo"):
        compensate(ws, profile, "t1", "t1-undo-2")
    with pytest.raises(LedgerError, match="冲正"):
        compensate(ws, profile, "t1-undo", "t1-undo-undo")
    with pytest.raises(LedgerError, match="nope"):
        compensate(ws, profile, "nope", "x")
    assert verify(ws, profile).ok


def test_a_compensation_must_exactly_reverse_its_transfer(ws, profile):
    credit(ws, profile, "c1", WUJIN, 50)
    transfer(ws, profile, "t1", WUJIN, XINBEI, 20)
    wrong = TransferRequest("u1", "linkage", XINBEI, WUJIN, 10, "compensate", DAY, "错", compensates="t1")
    with pytest.raises(LedgerError, match="完全相反"):
        post(ws, profile, wrong)


def test_compensating_a_credit_already_spent_is_an_overdraft(ws, profile):
    credit(ws, profile, "c1", WUJIN, 10)
    spend(ws, profile, "s1", WUJIN, 8)
    with pytest.raises(LedgerError, match="余额不足"):
        compensate(ws, profile, "c1", "c1-undo")
    assert compensate(ws, profile, "s1", "s1-undo").to_owner == WUJIN
    assert compensate(ws, profile, "c1", "c1-undo").from_owner == WUJIN


@pytest.mark.parametrize(("req", "needle"), [
    (TransferRequest("x", "linkage", WUJIN, XINBEI, 1, "credit", DAY, "r"), "入账"),
    (TransferRequest("x", "linkage", "issued", "consumed", 1, "credit", DAY, "r"), "入账"),
    (TransferRequest("x", "linkage", WUJIN, XINBEI, 1, "spend", DAY, "r"), "使用"),
    (TransferRequest("x", "linkage", WUJIN, "issued", 1, "transfer", DAY, "r", 0.0), "调剂"),
    (TransferRequest("x", "linkage", WUJIN, WUJIN, 1, "transfer", DAY, "r", 0.0), "相同"),
    (TransferRequest("x", "linkage", "320499", XINBEI, 1, "transfer", DAY, "r", 0.0), "未知账户"),
    (TransferRequest("x", "forest", "issued", WUJIN, 1, "credit", DAY, "r"), "未知指标类型"),
    (TransferRequest("x", "linkage", "issued", WUJIN, 1, "gift", DAY, "r"), "未知记账类型"),
    (TransferRequest("x", "linkage", "issued", WUJIN, 0, "credit", DAY, "r"), "大于 0"),
    (TransferRequest("x", "linkage", "issued", WUJIN, -3, "credit", DAY, "r"), "大于 0"),
    (TransferRequest("x", "linkage", "issued", WUJIN, math.nan, "credit", DAY, "r"), "有限"),
    (TransferRequest("x", "linkage", "issued", WUJIN, math.inf, "credit", DAY, "r"), "有限"),
    (TransferRequest("", "linkage", "issued", WUJIN, 1, "credit", DAY, "r"), "编号"),
    (TransferRequest("x" * 65, "linkage", "issued", WUJIN, 1, "credit", DAY, "r"), "编号"),
    (TransferRequest("x", "linkage", "issued", WUJIN, 1, "credit", DAY, "r", compensates="y"), "冲正"),
])
def test_malformed_requests_are_refused(ws, profile, req, needle):
    before = store_fingerprint(ws)
    with pytest.raises(LedgerError, match=needle):
        post(ws, profile, req)
    assert store_fingerprint(ws) == before


def test_a_posting_names_an_existing_case(ws, profile):
    case_id = open_case(ws)
    credit(ws, profile, "c1", WUJIN, 5, case_id=case_id)
    credit(ws, profile, "c2", XINBEI, 5)
    with ws.engine.connect() as conn:
        assert list(ledger.history(conn, profile, case_id=case_id)["transfer_id"]) == ["c1"]
    with pytest.raises(LedgerError, match="999"):
        credit(ws, profile, "c3", WUJIN, 5, case_id=999)


def test_a_posting_is_part_of_the_callers_transaction(ws, profile):
    with pytest.raises(RuntimeError), ws.engine.begin() as conn:
        ledger.credit(conn, transfer_id="c1", kind="linkage", to_owner=WUJIN, amount=5, reason="r", actor=ADMIN,
                      profile=profile, value_date=DAY)
        raise RuntimeError("the case transition failed")
    assert sql(ws, "SELECT COUNT(*) FROM quota_transfer").scalar_one() == 0
    assert sql(ws, "SELECT COUNT(*) FROM quota_account").scalar_one() == 0


def test_a_duplicate_id_found_only_at_insert_replays(ws, profile, monkeypatch):
    """A concurrent retry that commits between our check and our insert ends as a replay."""
    credit(ws, profile, "c1", WUJIN, 50)
    first = transfer(ws, profile, "t1", WUJIN, XINBEI, 20)
    real_find, calls = ledger.find, []

    def racing_find(conn, transfer_id):
        calls.append(transfer_id)
        return None if len(calls) <= 2 else real_find(conn, transfer_id)  # both checks miss the row

    monkeypatch.setattr(ledger, "find", racing_find)
    again = transfer(ws, profile, "t1", WUJIN, XINBEI, 20)
    assert again.replayed and again.seq == first.seq and len(calls) == 3
    monkeypatch.setattr(ledger, "find", real_find)
    assert balance_of(ws, profile, WUJIN) == 30 and verify(ws, profile).ok


# --------------------------------------------------------------------------- permissions


def test_a_viewer_may_read_but_not_post(ws, profile):
    credit(ws, profile, "c1", WUJIN, 5)
    viewer = Actor("v", "viewer")
    with pytest.raises(Forbidden, match="查看者"):
        spend(ws, profile, "s1", WUJIN, 1, actor=viewer)
    with ws.engine.connect() as conn:
        assert len(ledger.balances(conn, profile, districts=viewer.districts(profile))) == 2


def test_a_district_officer_spends_its_own_district_only(ws, profile):
    credit(ws, profile, "c1", WUJIN, 10)
    credit(ws, profile, "c2", XINBEI, 10)
    credit(ws, profile, "c3", "city", 10)
    officer = Actor("w", "district_officer", WUJIN)
    assert spend(ws, profile, "s1", WUJIN, 4, actor=officer).actor == "w"
    with pytest.raises(Forbidden, match=XINBEI):
        spend(ws, profile, "s2", XINBEI, 4, actor=officer)
    with pytest.raises(Forbidden, match="市级统筹"):
        spend(ws, profile, "s3", "city", 4, actor=officer)
    with pytest.raises(Forbidden, match="入账"):
        credit(ws, profile, "c4", WUJIN, 1, actor=officer)
    with pytest.raises(Forbidden):
        spend(ws, profile, "s4", WUJIN, 1, actor=Actor("x", "district_officer"))  # not bound to a district
    assert balance_of(ws, profile, XINBEI) == 10 and balance_of(ws, profile, WUJIN) == 6


def test_a_district_officer_may_not_transfer_from_another_district(ws, profile):
    credit(ws, profile, "c1", WUJIN, 10)
    officer = Actor("x", "district_officer", XINBEI)
    with pytest.raises(Forbidden, match="调剂"):  # the bundled profile keeps transfers with the city
        transfer(ws, profile, "t1", WUJIN, XINBEI, 5, actor=officer)
    lenient = with_permissions(profile, transfer=["city_admin", "district_officer"])
    with pytest.raises(Forbidden, match=WUJIN):  # allowed to transfer, but not another district's quota
        transfer(ws, lenient, "t1", WUJIN, XINBEI, 5, actor=officer)
    assert balance_of(ws, profile, WUJIN) == 10


def test_balances_and_history_respect_the_visible_districts(ws, profile):
    credit(ws, profile, "c1", WUJIN, 10)
    credit(ws, profile, "c2", XINBEI, 10)
    transfer(ws, profile, "t1", XINBEI, JINTAN, 3)
    officer = Actor("x", "district_officer", XINBEI)
    with ws.engine.connect() as conn:
        bal = ledger.balances(conn, profile, districts=officer.districts(profile))
        hist = ledger.history(conn, profile, districts=officer.districts(profile))
        last = ledger.history(conn, profile, limit=2)
    assert list(bal["owner"]) == [XINBEI] and list(hist["transfer_id"]) == ["c2", "t1"]
    assert list(last["transfer_id"]) == ["c2", "t1"]


# --------------------------------------------------------------------------- verification


def _busy_ledger(ws, profile):
    credit(ws, profile, "c1", WUJIN, 100)
    credit(ws, profile, "c2", XINBEI, 40, kind="quantity")
    transfer(ws, profile, "t1", WUJIN, XINBEI, 30)
    spend(ws, profile, "s1", XINBEI, 10)
    compensate(ws, profile, "s1", "s1-undo")


def test_verify_passes_on_a_consistent_ledger(ws, profile):
    _busy_ledger(ws, profile)
    report = verify(ws, profile)
    assert report.ok and report.problems == []
    assert (report.transfers, report.kinds, report.accounts) == (5, 2, 6)


def test_verify_detects_a_cached_balance_edited_in_the_table(ws, profile):
    _busy_ledger(ws, profile)
    sql(ws, "UPDATE quota_account SET balance = balance + 5 WHERE owner = :o AND kind = 'linkage'", o=WUJIN)
    report = verify(ws, profile)
    assert {p.code for p in report.problems} == {"balance", "sum"}
    assert any(f"{WUJIN}/linkage" in p.zh for p in report.problems)


def test_verify_detects_a_deleted_transfer(ws, profile):
    _busy_ledger(ws, profile)
    sql(ws, "DELETE FROM quota_transfer WHERE transfer_id = 't1'")
    codes = {p.code for p in verify(ws, profile).problems}
    assert "balance" in codes


def test_verify_detects_a_changed_amount(ws, profile):
    _busy_ledger(ws, profile)
    sql(ws, "UPDATE quota_transfer SET amount = 35 WHERE transfer_id = 't1'")
    problems = verify(ws, profile).problems
    assert {p.code for p in problems} >= {"balance"}
    sql(ws, "UPDATE quota_transfer SET amount = 10.5 WHERE transfer_id = 's1'")  # no longer matched by s1-undo
    assert "compensation" in {p.code for p in verify(ws, profile).problems}


def test_verify_detects_a_balance_that_went_negative_and_bad_rows(ws, profile):
    _busy_ledger(ws, profile)
    sql(ws, "UPDATE quota_transfer SET id = id + 100 WHERE transfer_id = 'c1'")  # the credit now comes last
    sql(ws, "UPDATE quota_transfer SET amount = -1 WHERE transfer_id = 'c2'")
    codes = {p.code for p in verify(ws, profile).problems}
    assert {"negative", "amount"} <= codes


# --------------------------------------------------------------------------- concurrency


def test_many_clients_post_and_retry_concurrently_on_postgres(ws, profile):
    if ws.engine.dialect.name != "postgresql":
        pytest.skip("row locks are a PostgreSQL matter; SQLite serialises writers")
    owners = [WUJIN, XINBEI, JINTAN, LIYANG, "city"]
    for i, o in enumerate(owners[:3]):  # two owners start without an account: created under load
        credit(ws, profile, f"seed-{i}", o, 100)
    rng = random.Random(7)
    reqs = [TransferRequest(f"t{i:04d}", "linkage", *rng.sample(owners, 2), round(rng.uniform(1, 45), 3),
                            "transfer", DAY, "调剂", price_yuan_per_mu=1000.0) for i in range(480)]
    jobs = [r for r in reqs for _ in range(2)]  # every request twice, the retry right after it
    outcomes: dict[str, list] = {r.transfer_id: [] for r in reqs}
    errors: list[BaseException] = []
    lock, n_threads = threading.Lock(), 16
    engine = create_engine(ws.database_url, poolclass=NullPool)
    start = threading.Barrier(n_threads)

    def client() -> None:
        with engine.connect() as conn:
            start.wait()
            while True:
                with lock:
                    if not jobs:
                        return
                    req = jobs.pop(0)
                try:
                    with conn.begin():
                        p = ledger.post(conn, req, profile, ADMIN)
                    result = ("replayed" if p.replayed else "posted", p.seq)
                except LedgerError as exc:
                    result = ("refused", exc.en)
                except Exception as exc:  # any other failure fails the test
                    errors.append(exc)
                    return
                with lock:
                    outcomes[req.transfer_id].append(result)

    threads = [threading.Thread(target=client) for _ in range(n_threads)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    engine.dispose()
    print(f"\n{len(reqs) * 2} postings by {n_threads} clients on PostgreSQL in {elapsed:.2f} s")
    assert errors == []
    stored = dict(sql(ws, "SELECT transfer_id, id FROM quota_transfer WHERE transfer_id LIKE 't%'").all())
    assert sql(ws, "SELECT COUNT(*) - COUNT(DISTINCT transfer_id) FROM quota_transfer").scalar_one() == 0
    for tid, results in outcomes.items():
        kinds = [k for k, _ in results]
        assert len(results) == 2
        if tid in stored:  # posted exactly once; the other attempt replayed it or was refused before it
            assert kinds.count("posted") == 1
            assert all(seq == stored[tid] for k, seq in results if k != "refused")
        else:
            assert kinds == ["refused", "refused"] and all("insufficient" in m for _, m in results)
    all_kinds = [k for results in outcomes.values() for k, _ in results]
    assert all_kinds.count("replayed") > 0 and all_kinds.count("refused") > 0
    report = verify(ws, profile)
    assert report.ok, report.problems
    negative = sql(ws, "SELECT COUNT(*) FROM quota_account WHERE balance < 0 AND owner NOT IN ('issued', 'consumed')")
    assert negative.scalar_one() == 0


# --------------------------------------------------------------------------- CLI


def run(ws, *args, ok=True):
    cmd = [*args, "--workspace", str(ws.path), "--db", ws.database_url]
    result = CliRunner().invoke(ledger_app, cmd)
    assert (result.exit_code == 0) == ok, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.output


def test_cli_credit_transfer_spend_balances_and_history(ws):
    out = run(ws, "credit", "--id", "c1", "--to", "武进区", "--kind", "linkage", "--amount", "50", "--reason", "验收")
    assert "已记账" in out and "武进区" in out
    out = run(ws, "transfer", "--id", "t1", "--from", WUJIN, "--to", "xinbei", "--kind", "linkage", "--amount", "20",
              "--price", "300000", "--reason", "区际调剂", "--date", "2025-04-01")
    assert "新北区" in out and "20 亩" in out
    assert "已存在" in run(ws, "transfer", "--id", "t1", "--from", WUJIN, "--to", XINBEI, "--kind", "linkage",
                           "--amount", "20", "--price", "300000", "--reason", "区际调剂", "--date", "2025-04-01")
    run(ws, "spend", "--id", "s1", "--district", XINBEI, "--kind", "linkage", "--amount", "5", "--reason", "项目占用",
        "--as", f"district_officer:{XINBEI}", "--user", "xb")
    out = run(ws, "balances")
    assert "余额" in out and "30" in out and "15" in out and "指标来源（系统）" in out
    out = run(ws, "balances", "--district", XINBEI, "--lang", "en")
    assert "balance" in out and "Xinbei District" in out and "Wujin" not in out
    out = run(ws, "history", "--kind", "linkage", "--limit", "2")
    assert "t1" in out and "s1" in out and "c1" not in out and "xb" in out and "300,000" in out
    out = run(ws, "history", "--as", f"district_officer:{WUJIN}", "--lang", "en")
    assert "c1" in out and "t1" in out and "s1" not in out


def test_cli_compensate_and_verify(ws):
    run(ws, "credit", "--id", "c1", "--to", WUJIN, "--kind", "paddy", "--amount", "8", "--reason", "验收")
    assert "已记账" in run(ws, "compensate", "--id", "c1-undo", "--of", "c1", "--reason", "面积有误")
    out = run(ws, "compensate", "--id", "c1-again", "--of", "c1", "--reason", "x", ok=False)
    assert "c1-undo" in out and "Traceback" not in out
    out = run(ws, "verify")
    assert "台账一致" in out and "2 笔记账" in out
    sql(ws, "UPDATE quota_account SET balance = 3 WHERE owner = :o", o=WUJIN)
    out = run(ws, "verify", "--lang", "en", ok=False)
    assert "inconsistent" in out and f"{WUJIN}/paddy" in out


def test_cli_refusals_are_clear_and_exit_1(ws):
    out = run(ws, "spend", "--id", "s1", "--district", WUJIN, "--kind", "linkage", "--amount", "5", "--reason", "r",
              ok=False)
    assert "未执行" in out and "余额不足" in out and "Traceback" not in out
    out = run(ws, "spend", "--id", "s1", "--district", WUJIN, "--kind", "linkage", "--amount", "5", "--reason", "r",
              "--lang", "en", ok=False)
    assert "Refused" in out and "insufficient balance" in out
    out = run(ws, "credit", "--id", "c1", "--to", WUJIN, "--kind", "linkage", "--amount", "5", "--reason", "r",
              "--as", "viewer", ok=False)
    assert "查看者" in out
    out = run(ws, "balances", "--as", f"district_officer:{WUJIN}", "--district", XINBEI, ok=False)
    assert XINBEI in out
    out = run(ws, "balances", "--kind", "forest", "--lang", "en", ok=False)
    assert "unknown quota kind forest" in out
    out = run(ws, "transfer", "--id", "t1", "--from", "nowhere", "--to", WUJIN, "--kind", "linkage", "--amount",
              "1", "--price", "0", "--reason", "r", ok=False)
    assert "nowhere" in out
    out = run(ws, "credit", "--id", "c1", "--to", WUJIN, "--kind", "linkage", "--amount", "5", "--reason", "r",
              "--date", "2025-13-01", ok=False)
    assert "YYYY-MM-DD" in out
    out = run(ws, "balances", "--as", "mayor", ok=False)
    assert "mayor" in out
