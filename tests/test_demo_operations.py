"""The demo's city operations: cases opened from a run and worked through 2023–2025 with dated,
valid events, the quota they earn credited, a few transfers and spends, and the targets measured."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import select, text

from conftest import fresh_workspace, store_fingerprint
from landrenew import ledger
from landrenew.cases import case_credits
from landrenew.demo.job import run_demo
from landrenew.demo.operations import balance_table, cases_by_state, simulate_operations
from landrenew.policy.schema import ANY_STATE
from landrenew.runs import analyze
from landrenew.store.models import CaseEvent, ClearanceCase, QuotaTransfer
from landrenew.targets import target_table

PARCELS, SEED = 2000, 5


@pytest.fixture(scope="module")
def city(request, backend, tmp_path_factory, profile):
    """A small demo city, analysed and operated once per backend."""
    with fresh_workspace(request, backend, tmp_path_factory.mktemp("ops") / "ws") as ws:
        assert not run_demo(ws, profile, PARCELS, SEED).failed
        run_id, _ = analyze(ws, profile, date(2024, 12, 31), outputs=False)
        summary = simulate_operations(ws, profile, run_id, SEED)
        yield ws, run_id, summary


def _frame(ws, table) -> pd.DataFrame:
    with ws.engine.connect() as conn:
        return pd.DataFrame(conn.execute(select(table)).mappings().all())


def _cases(ws) -> pd.DataFrame:
    return _frame(ws, ClearanceCase.__table__)


def _events(ws) -> pd.DataFrame:
    return _frame(ws, CaseEvent.__table__).sort_values(["case_id", "seq"])


def test_cases_are_opened_in_2023_and_worked_until_2025(city):
    ws, _, summary = city
    cases, events = _cases(ws), _events(ws)
    assert summary.opened == len(cases) > 20 and summary.moves > summary.opened
    assert {d.year for d in cases["opened_at"]} == {2023}
    assert cases["opened_at"].nunique() > 4  # quarterly batches, districts a few days apart
    years = {d.year for d in events["event_date"]}
    assert min(years) == 2023 and max(years) == 2025
    assert max(events["event_date"]) <= date(2025, 12, 31)
    assert summary.by_state["案件 cases"].sum() == len(cases)
    assert summary.seconds < 60


def test_a_realistic_share_moves_on(city, profile):
    ws, _, summary = city
    cases = _cases(ws)
    done = {w.id: w for w in profile.operations.workflows}

    def reached(row) -> bool:
        return done[row["workflow_id"]].params.done in row["milestones"] and row["state"] != "withdrawn"
    share_done = cases.apply(reached, axis=1).mean()
    initial = (cases["state"] == cases["workflow_id"].map(lambda w: done[w].params.initial)).mean()
    assert 0.4 < share_done < 0.95, share_done  # most, not all, reach their done state
    assert initial < 0.25  # some are still where they started
    assert summary.comments > 0 and (events := _events(ws))["action"].eq("comment").sum() == summary.comments
    ends = {t.to_state for w in profile.operations.workflows for t in w.params.transitions if t.from_state == ANY_STATE}
    withdrawn = events[events["action"].eq("transition") & events["to_state"].isin(ends)]
    assert len(withdrawn) == summary.withdrawn > 0 and withdrawn["comment"].notna().all()


def test_every_case_has_a_valid_chain_of_events(city, profile):
    ws, _, _ = city
    cases, events = _cases(ws).set_index("id"), _events(ws)
    wfs = {w.id: w for w in profile.operations.workflows}
    for case_id, ev in events.groupby("case_id"):
        case = cases.loc[case_id]
        wf = wfs[case["workflow_id"]]
        assert ev["seq"].tolist() == list(range(1, case["version"] + 1))
        assert ev["event_date"].is_monotonic_increasing
        first = ev.iloc[0]
        assert first["action"] == "open" and pd.isna(first["from_state"]) and first["to_state"] == wf.params.initial
        state = first["to_state"]
        for e in ev.iloc[1:].itertuples():
            assert e.from_state == state, (case["case_no"], e.seq)
            if e.action == "transition":
                assert any(t.to_state == e.to_state and t.from_state in (e.from_state, ANY_STATE)
                           for t in wf.params.transitions), (case["case_no"], e.from_state, e.to_state)
            else:
                assert e.action == "comment" and e.to_state == state and e.comment
            state = e.to_state
        assert state == case["state"]
        moved = ev[ev["action"] == "transition"]
        assert moved["attachment_sha256"].notna().sum() >= sum(
            "attachment" in next(t for t in wf.params.transitions if t.to_state == s).requires
            for s in moved["to_state"])


def test_credited_cases_have_exactly_their_postings(city, profile):
    ws, _, summary = city
    cases = _cases(ws)
    transfers = _frame(ws, QuotaTransfer.__table__)
    posted = transfers[transfers["transfer_type"] == "credit"].set_index("transfer_id")["amount"]
    wfs = {w.id: w for w in profile.operations.workflows}
    expected: dict[str, float] = {}
    for row in cases.itertuples():
        move = next((t for t in wfs[row.workflow_id].params.transitions if t.credits), None)
        if move is None or move.to_state not in row.milestones:
            continue
        area = float(row.data[move.credits])
        for kind, amount, _ in case_credits(profile, profile.rule(row.rule_id), area, row.data):
            expected[f"case-{row.case_no}-{kind}"] = amount
    assert expected and set(posted.index) == set(expected)
    assert all(math.isclose(posted[k], v, rel_tol=1e-9) for k, v in expected.items())
    by_kind = transfers[transfers["transfer_type"] == "credit"].groupby("kind")["amount"].sum()
    assert summary.credited.keys() == set(by_kind.index)
    assert all(math.isclose(summary.credited[k], by_kind[k]) for k in by_kind.index)


def test_transfers_and_spends_keep_the_ledger_sound(city, profile):
    ws, _, summary = city
    with ws.engine.connect() as conn:
        assert ledger.verify(conn, profile).ok
        bal = ledger.balances(conn, profile)
        hist = ledger.history(conn, profile)
    assert (bal.loc[~bal["owner"].isin(ledger.SYSTEM_OWNERS), "balance"] >= -ledger.EPSILON).all()
    moved = hist[hist["transfer_type"].isin(["transfer", "spend"])]
    assert len(moved) == summary.transfers + summary.spends > 0
    assert moved["transfer_id"].str.match(r"^demo-[TS]-20(24|25)-\d{3}$").all()
    assert {d.year for d in moved["value_date"]} <= {2024, 2025}
    t = moved[moved["transfer_type"] == "transfer"]
    assert (t["price_yuan_per_mu"].between(200_000, 500_000)).all()
    assert set(t["from_owner"]) <= {"320413", "320481", "320412"} and set(t["to_owner"]) <= {"320402", "320404", "320411"}
    table = balance_table(ws, profile)
    assert len(table) >= 1 and "账户 account" in table.columns


def test_the_targets_measure_the_cases(city, profile):
    ws, _, _ = city
    table = target_table(ws.engine, profile, date.today())
    city_rows = table[table["scope"] == "city"].set_index("metric")["value"]
    assert city_rows["vacated_space_mu"] > 0 and city_rows["inefficient_redeveloped_mu"] > 0
    assert city_rows["farmland_quota_completion"] >= 1.0  # never more spent than credited


def test_a_store_with_cases_is_not_operated_twice(city, profile):
    ws, run_id, summary = city
    before = store_fingerprint(ws)
    again = simulate_operations(ws, profile, run_id, SEED + 1)
    assert again.opened == again.moves == again.transfers == again.spends == 0 and again.note
    assert store_fingerprint(ws) == before
    assert again.by_state["案件 cases"].sum() == summary.opened


def test_the_same_seed_gives_the_same_operations(city, profile):
    """Emptied of its cases and ledger, the workspace is operated again to the same cases and states."""
    ws, run_id, summary = city

    def snapshot() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        cases = _cases(ws)[["case_no", "state", "version", "milestones", "data", "opened_at", "closed_at"]]
        ids = dict(zip(_cases(ws)["id"], _cases(ws)["case_no"], strict=True))
        ev = _events(ws).assign(case_no=lambda d: d["case_id"].map(ids))
        ev = ev[["case_no", "seq", "action", "from_state", "to_state", "event_date", "actor", "comment", "data",
                 "attachment_sha256"]]
        tr = _frame(ws, QuotaTransfer.__table__)[["transfer_id", "kind", "amount", "value_date", "price_yuan_per_mu"]]
        return (cases.sort_values("case_no").reset_index(drop=True),
                ev.sort_values(["case_no", "seq"]).reset_index(drop=True),
                tr.sort_values("transfer_id").reset_index(drop=True))

    before = snapshot()
    with ws.engine.begin() as conn:
        for table in ("quota_transfer", "quota_account", "case_event", "case_parcel", "clearance_case"):
            conn.execute(text(f"DELETE FROM {table}"))
    again = simulate_operations(ws, profile, run_id, SEED)
    after = snapshot()
    for a, b in zip(before, after, strict=True):
        pd.testing.assert_frame_equal(a.astype(str), b.astype(str))
    assert (again.opened, again.moves, again.comments, again.withdrawn, again.transfers, again.spends) == (
        summary.opened, summary.moves, summary.comments, summary.withdrawn, summary.transfers, summary.spends)
    pd.testing.assert_frame_equal(cases_by_state(ws, profile), summary.by_state)
