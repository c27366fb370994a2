"""Targets measured from data (targets.goals): a small scenario whose every figure is worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from landrenew.store.bulk import insert_frame
from landrenew.store.models import (
    AnalysisRun,
    ClearanceCase,
    DistrictYear,
    Evidence,
    IngestBatch,
    LandSupply,
    QuotaAccount,
    QuotaTransfer,
    RunTagHit,
)
from landrenew.targets import target_table, target_trend

AS_OF = date(2024, 12, 31)
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def _case(no, district, family, rule, workflow, state, area, done=None, data=None, keys="K"):
    milestones = {"identified": "2023-01-10"}
    if done:
        milestones[done[0]] = done[1]
    return {"case_no": no, "run_id": None, "run_case_id": None, "district_code": district, "family": family,
            "path": "p", "rule_id": rule, "workflow_id": workflow, "state": state, "version": 2, "area_mu": area,
            "construction_mu": area, "n_parcels": 1, "parcel_keys": keys, "tags": "低", "priority": 1.0,
            "estimate": {}, "milestones": milestones, "data": data or {}, "opened_at": date(2023, 1, 10),
            "closed_at": None, "updated_at": NOW}


@pytest.fixture()
def scenario(ws):
    """Cases, transfers, supply, statistics, a run with illegal land and the enforcement list.

    * vacated: reclaim case 320412 accepted 2024-06-01 on 28 亩 (entered; case area 30) and restore case
      320411 accepted 2023-03-01 on 12 亩 → 40 亩; only the first falls in the last 12 months, so the
      projection to 2025-12-31 is 40 + 28 × 365/365 = 68 亩 (one year left).
    * unsupplied: 320412 disposed 2024-09-01 on 50 亩 → 50; withdrawn one counts nothing.
    * redeveloped: upgrade case accepted 2024-03-01 on 22 亩 (redeveloped_area_mu).
    * stock share: 2023 60 of 100 亩 = 0.6; 2024 80 of 100 = 0.8 → line → 2025: 1.0.
    * land per GDP: 2020 (base) 1000 亩 / 100 亿 = 10; 2024 1050 / 150 = 7 → decline 0.3.
    * intensity 2024: 1050 / 5000 = 0.21. Cultivated change since 2021: 2990 − 3000 = −10 亩.
    * illegal land: 3 parcels in the run; one in a regularise case done → 2 open.
    * new illegal cases in 2024: 2 of the 3 entries.
    * farmland balance: quantity credited 28, spent 14 → 2.0.
    """
    with ws.engine.begin() as conn:
        insert_frame(conn, IngestBatch.__table__, pd.DataFrame([{
            "id": 1, "kind": "supply", "file_name": "x", "file_sha256": "0", "rows_read": 0, "rows_loaded": 0,
            "rows_rejected": 0, "warnings": 0, "repairs": 0, "loaded_at": NOW, "user": "t", "profile_id": "p"}]))
        insert_frame(conn, ClearanceCase.__table__, pd.DataFrame([
            _case("A", "320412", "ecological", "disposal.eco.reclaim_cultivated", "workflow.reclaim", "closed", 30.0,
                  ("accepted", "2024-06-01"), {"accepted_area_mu": 28.0}),
            _case("B", "320411", "ecological", "disposal.eco.restore", "workflow.restore", "accepted", 12.0,
                  ("accepted", "2023-03-01"), {"accepted_area_mu": 12.0}),
            _case("C", "320412", "unsupplied", "disposal.unsupplied.supply", "workflow.unsupplied", "disposed", 55.0,
                  ("disposed", "2024-09-01"), {"disposed_area_mu": 50.0}),
            _case("D", "320412", "unsupplied", "disposal.unsupplied.supply", "workflow.unsupplied", "withdrawn", 70.0),
            _case("E", "320404", "upgrade", "disposal.upgrade.self_renewal", "workflow.upgrade", "reused", 25.0,
                  ("accepted", "2024-03-01"), {"redeveloped_area_mu": 22.0}),
            _case("F", "320412", "illegal", "disposal.illegal.regularise", "workflow.regularise", "closed", 3.0,
                  ("regularised", "2024-02-01"), {}, keys="320412001001GB00001"),
        ]))
        insert_frame(conn, QuotaAccount.__table__, pd.DataFrame([
            {"id": 1, "owner": "issued", "kind": "quantity", "balance": -28.0},
            {"id": 2, "owner": "320412", "kind": "quantity", "balance": 14.0},
            {"id": 3, "owner": "consumed", "kind": "quantity", "balance": 14.0}]))
        insert_frame(conn, QuotaTransfer.__table__, pd.DataFrame([
            {"transfer_id": "t1", "kind": "quantity", "debit_account_id": 1, "credit_account_id": 2, "amount": 28.0,
             "transfer_type": "credit", "reason": "r", "value_date": date(2024, 6, 1), "actor": "t", "recorded_at": NOW},
            {"transfer_id": "t2", "kind": "quantity", "debit_account_id": 2, "credit_account_id": 3, "amount": 14.0,
             "transfer_type": "spend", "reason": "r", "value_date": date(2024, 7, 1), "actor": "t", "recorded_at": NOW}]))
        insert_frame(conn, LandSupply.__table__, pd.DataFrame([
            {"record_id": f"S{i}", "district_code": "320412", "supply_date": d, "area_mu": a, "land_source": src,
             "mode": "出让", "batch_id": 1}
            for i, (d, a, src) in enumerate([(date(2023, 5, 1), 60.0, "stock"), (date(2023, 6, 1), 40.0, "new"),
                                             (date(2024, 5, 1), 80.0, "stock"), (date(2024, 6, 1), 20.0, "new")])]))
        insert_frame(conn, DistrictYear.__table__, pd.DataFrame([
            {"district_code": "320412", "year": y, "gdp_yi": g, "construction_land_mu": c, "total_area_mu": 5000.0,
             "cultivated_land_mu": cl, "batch_id": 1}
            for y, g, c, cl in [(2020, 100.0, 1000.0, 3010.0), (2021, 110.0, 1010.0, 3000.0),
                                (2024, 150.0, 1050.0, 2990.0)]]))
        insert_frame(conn, AnalysisRun.__table__, pd.DataFrame([{
            "id": 1, "started_at": NOW, "finished_at": NOW, "status": "done", "as_of": AS_OF, "year": 2024,
            "profile_id": "changzhou-2022", "profile_version": "1", "profile_digest": "x", "input_hash": "y",
            "code_version": "t", "timings": {}, "counts": {}, "user": "t"}]))
        insert_frame(conn, RunTagHit.__table__, pd.DataFrame([
            {"run_id": 1, "parcel_key": f"320412001001GB0000{i}", "tag": "乱", "rule_id": "tag.disorder.illegal_land",
             "clause": "c", "evidence_kind": "enforcement", "evidence_id": f"W{i}"} for i in (1, 2, 3)]))
        insert_frame(conn, Evidence.__table__, pd.DataFrame([
            {"kind": "enforcement", "record_id": f"W{i}", "district_code": "320412", "event_date": d, "attrs": {},
             "batch_id": 1} for i, d in [(1, date(2023, 8, 1)), (2, date(2024, 2, 1)), (3, date(2024, 9, 1))]]))
    return ws


def test_targets_worked_by_hand(scenario, profile):
    t = target_table(scenario.engine, profile, AS_OF)
    city = t[t["scope"] == "city"].set_index("metric")
    assert city.loc["vacated_space_mu", "value"] == pytest.approx(40.0)
    assert city.loc["vacated_space_mu", "projected"] == pytest.approx(40.0 + 28.0)
    assert city.loc["vacated_space_mu", "progress"] == pytest.approx(40.0 / 10000)
    assert city.loc["unsupplied_revitalised_mu", "value"] == pytest.approx(50.0)
    assert city.loc["inefficient_redeveloped_mu", "value"] == pytest.approx(22.0)
    assert city.loc["stock_supply_share", "value"] == pytest.approx(0.8)
    assert city.loc["stock_supply_share", "projected"] == pytest.approx(1.0)
    assert bool(city.loc["stock_supply_share", "met"]) is True
    assert city.loc["land_per_gdp_decline", "value"] == pytest.approx(0.3)
    assert city.loc["development_intensity", "value"] == pytest.approx(0.21)
    assert city.loc["cultivated_land_change_mu", "value"] == pytest.approx(-10.0)
    assert bool(city.loc["cultivated_land_change_mu", "met"]) is False
    assert city.loc["illegal_land_open_cases", "value"] == 2
    assert city.loc["illegal_land_new_cases", "value"] == 2
    assert city.loc["farmland_quota_completion", "value"] == pytest.approx(2.0)


def test_targets_per_district(scenario, profile):
    t = target_table(scenario.engine, profile, AS_OF)
    d = t[t["scope"] != "city"].set_index(["metric", "scope"])["value"]
    assert d["vacated_space_mu", "320412"] == pytest.approx(28.0)
    assert d["vacated_space_mu", "320411"] == pytest.approx(12.0)
    assert d["vacated_space_mu", "320402"] == 0.0
    assert d["stock_supply_share", "320412"] == pytest.approx(0.8)
    assert pd.isna(d["stock_supply_share", "320402"])
    only = target_table(scenario.engine, profile, AS_OF, {"320411"})
    assert set(only["scope"]) == {"320411"}


def test_an_earlier_date_counts_only_what_was_done_by_then(scenario, profile):
    t = target_table(scenario.engine, profile, date(2023, 12, 31))
    city = t[t["scope"] == "city"].set_index("metric")["value"]
    assert city["vacated_space_mu"] == pytest.approx(12.0)
    assert city["stock_supply_share"] == pytest.approx(0.6)
    # the spend of 2024-07-01 and the enforcement entry of 2024-09-01 are not yet seen on 2024-06-15
    mid = target_table(scenario.engine, profile, date(2024, 6, 15))
    mid = mid[mid["scope"] == "city"].set_index("metric")["value"]
    assert pd.isna(mid["farmland_quota_completion"]) and mid["illegal_land_new_cases"] == 1


def test_trend_gives_each_goal_at_each_date_as_the_table_would(scenario, profile):
    dates = [date(2023, 12, 31), date(2024, 6, 15), AS_OF]
    trend = target_trend(scenario.engine, profile, dates).set_index(["date", "target_id"])["value"]
    for d in dates:
        table = target_table(scenario.engine, profile, d)
        for row in table[table["scope"] == "city"].itertuples():
            got = trend[d, row.target_id]
            assert (pd.isna(got) and pd.isna(row.value)) or got == pytest.approx(row.value), (d, row.metric)
