"""What a report says, read once from the store for one scope (the city, or one district): the run
and its provenance, sizes of the lists by district, firm classes, recommendations, cases, the quota
ledger and the targets. The workbook and the briefing are both written from these frames, so they
agree with each other and with the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, case, func, select

from landrenew import ledger
from landrenew.geo.area import M2_PER_MU
from landrenew.lists import RunInfo, run_info
from landrenew.policy import Profile
from landrenew.store.models import (
    AnalysisRun,
    ClearanceCase,
    FirmYear,
    IngestBatch,
    Parcel,
    RunCase,
    RunFirm,
    RunParcel,
)
from landrenew.targets import quarter_ends, target_table, target_trend

#: the yields of recommendations summed per district (columns of run_case)
YIELDS = ("vacated_mu", "cultivated_mu", "paddy_mu", "grain_kg", "construction_quota_mu", "stock_linkage_mu")


@dataclass
class Facts:
    """One scope's facts. Frames are indexed by district code (only the scope's districts)."""

    run: RunInfo
    provenance: dict[str, Any]  # the run's hashes, code version, user, note
    districts: list[str]  # the scope's district codes, in profile order
    city: bool  # the whole city (else one district's report)
    as_of: date  # the date the operational facts (cases, ledger, targets) are measured at
    generated: datetime
    parcels: pd.DataFrame  # district → parcels, area_mu (every parcel in the store)
    flagged: pd.DataFrame  # district → flagged, flagged_mu, then per tag char: n_<c>, mu_<c>
    firms: pd.DataFrame  # district → rated firms per class (columns = classes), land_<class> in 亩
    recommendations: pd.DataFrame  # district × family → cases, area_mu, yields
    cases: pd.DataFrame  # one row per clearance case in scope (state names, open, done)
    balances: pd.DataFrame  # ledger balances of the scope's accounts
    transfers: pd.DataFrame  # ledger transfers touching the scope
    targets: pd.DataFrame  # target_table rows of the scope
    trend: pd.DataFrame  # the city's target values at quarter ends (city reports only; else empty)
    batches: pd.DataFrame  # the ingest batches the data came from


def _frame(conn: Any, q: Any) -> pd.DataFrame:
    return pd.DataFrame(conn.execute(q).mappings().all(), columns=list(q.selected_columns.keys()))


def read_facts(engine: Engine, profile: Profile, run_id: int | None = None, districts: set[str] | None = None,
               as_of: date | None = None, now: datetime | None = None) -> Facts:
    """The facts of run ``run_id`` (default: the latest finished) for ``districts`` (None: the city),
    operations measured ``as_of`` (default today)."""
    run = run_info(engine, run_id)
    scope = [d for d in profile.city.district_codes if districts is None or d in districts]
    as_of = as_of or date.today()
    chars = [t.char for t in profile.tags.values()]
    rp, p, f, fy, rc, cc = (RunParcel.__table__, Parcel.__table__, RunFirm.__table__, FirmYear.__table__,
                            RunCase.__table__, ClearanceCase.__table__)
    with engine.connect() as conn:
        ar = AnalysisRun.__table__
        prov = dict(conn.execute(select(ar.c.profile_digest, ar.c.input_hash, ar.c.code_version, ar.c.user,
                                        ar.c.note, ar.c.started_at, ar.c.finished_at)
                                 .where(ar.c.id == run.id)).mappings().one())
        parcels = _frame(conn, select(p.c.district_code, func.count().label("parcels"),
                                      (func.sum(p.c.area_m2) / M2_PER_MU).label("area_mu"))
                         .where(p.c.district_code.in_(scope)).group_by(p.c.district_code))
        per_tag = []
        for ch in chars:
            on = rp.c.tags.contains(ch, autoescape=True)
            per_tag += [func.sum(case((on, 1), else_=0)).label(f"n_{ch}"),
                        func.sum(case((on, rp.c.area_mu), else_=0.0)).label(f"mu_{ch}")]
        flagged = _frame(conn, select(rp.c.district_code, func.count().label("flagged"),
                                      func.sum(rp.c.area_mu).label("flagged_mu"), *per_tag)
                         .where(rp.c.run_id == run.id, rp.c.district_code.in_(scope)).group_by(rp.c.district_code))
        year = run.year if run.year is not None else -1
        firms = _frame(conn, select(f.c.district_code, f.c.firm_class, func.count().label("firms"),
                                    func.sum(fy.c.land_area_mu).label("land_mu"))
                       .select_from(f.outerjoin(fy, and_(fy.c.uscc == f.c.uscc, fy.c.year == year)))
                       .where(f.c.run_id == run.id, f.c.district_code.in_(scope))
                       .group_by(f.c.district_code, f.c.firm_class))
        recs = _frame(conn, select(rc.c.district_code, rc.c.family, func.count().label("cases"),
                                   func.sum(rc.c.area_mu).label("area_mu"),
                                   *[func.sum(rc.c[y]).label(y) for y in YIELDS])
                      .where(rc.c.run_id == run.id, rc.c.matched.is_(True), rc.c.district_code.in_(scope))
                      .group_by(rc.c.district_code, rc.c.family))
        cases = _frame(conn, select(cc.c.case_no, cc.c.district_code, cc.c.family, cc.c.path, cc.c.workflow_id,
                                    cc.c.state, cc.c.area_mu, cc.c.n_parcels, cc.c.tags, cc.c.priority,
                                    cc.c.opened_at, cc.c.closed_at, cc.c.milestones)
                       .where(cc.c.district_code.in_(scope)).order_by(cc.c.id))
        owners = None if districts is None else scope
        balances = ledger.balances(conn, profile, districts=owners)
        transfers = ledger.history(conn, profile, districts=owners)
        ib = IngestBatch.__table__
        batches = _frame(conn, select(ib.c.id, ib.c.kind, ib.c.layer_kind, ib.c.file_name, ib.c.sheet,
                                      ib.c.rows_loaded, ib.c.rows_rejected, ib.c.loaded_at, ib.c.user)
                         .order_by(ib.c.id))
    targets = target_table(engine, profile, as_of, None if districts is None else set(scope))
    trend = pd.DataFrame(columns=["date", "target_id", "value"])
    if districts is None:
        trend = target_trend(engine, profile, quarter_ends(profile, as_of))
    return Facts(run, prov, scope, districts is None, as_of, now or datetime.now(),
                 _by_district(parcels, scope), _by_district(flagged, scope), _classes(firms, scope, profile),
                 recs, _cases(cases, profile, as_of), balances, transfers, targets, trend, batches)


def _by_district(df: pd.DataFrame, scope: list[str]) -> pd.DataFrame:
    """Indexed by district code, every district of the scope present (zeros where none)."""
    return df.set_index("district_code").reindex(scope).fillna(0.0)


def _classes(firms: pd.DataFrame, scope: list[str], profile: Profile) -> pd.DataFrame:
    """District → firms per class (the profile's classes, then not rated) and their land in 亩."""
    params = profile.evaluation.classes.params
    classes = [*params.cutoffs, params.not_rated]
    firms = firms.assign(firm_class=firms["firm_class"].fillna(params.not_rated))
    n = firms.pivot_table(index="district_code", columns="firm_class", values="firms", aggfunc="sum", fill_value=0)
    land = firms.pivot_table(index="district_code", columns="firm_class", values="land_mu", aggfunc="sum",
                             fill_value=0.0)
    n = n.reindex(index=scope, columns=classes, fill_value=0).fillna(0).astype(int)
    land = land.reindex(index=scope, columns=classes, fill_value=0.0).fillna(0.0).add_prefix("land_")
    return pd.concat([n, land], axis=1)


def _cases(cases: pd.DataFrame, profile: Profile, as_of: date) -> pd.DataFrame:
    """Cases with their state names, whether open (not in a terminal state) and done by ``as_of``."""
    workflows = {w.id: w.params for w in profile.operations.workflows}
    states = {(w, s.key): s for w, p in workflows.items() for s in p.states}
    order = {(w, s.key): i for w, p in workflows.items() for i, s in enumerate(p.states)}
    pairs = list(zip(cases["workflow_id"], cases["state"], strict=True))
    cases["state_zh"] = [states[k].name_zh if k in states else k[1] for k in pairs]
    cases["state_en"] = [states[k].name_en if k in states else k[1] for k in pairs]
    cases["state_order"] = [order.get(k, 99) for k in pairs]
    cases["open"] = [not (states[k].terminal if k in states else False) for k in pairs]
    done_on = [m.get(workflows[w].done) if w in workflows else None
               for m, w in zip(cases["milestones"], cases["workflow_id"], strict=True)]
    cases["done_date"] = pd.to_datetime(pd.Series(done_on, dtype=object), errors="coerce").dt.date
    cases["done"] = [d is not None and not pd.isna(d) and d <= as_of and s != "withdrawn"
                     for d, s in zip(cases["done_date"], cases["state"], strict=True)]
    cases["days_open"] = [(as_of - o).days if isinstance(o, date) else None for o in cases["opened_at"]]
    return cases.drop(columns=["milestones"])


def district_progress(facts: Facts) -> pd.DataFrame:
    """Per district of the scope: flagged parcels and area, recommended cases and area, cases opened,
    open and done, the area done and its share of the recommended area; sorted by that share."""
    rec = facts.recommendations.groupby("district_code")[["cases", "area_mu"]].sum()
    rec = rec.reindex(facts.districts).fillna(0.0)
    c = facts.cases
    by = c.groupby("district_code")
    out = pd.DataFrame({
        "flagged": facts.flagged["flagged"], "flagged_mu": facts.flagged["flagged_mu"],
        "recommended": rec["cases"], "recommended_mu": rec["area_mu"],
        "opened": by.size().reindex(facts.districts).fillna(0),
        "open": by["open"].sum().reindex(facts.districts).fillna(0),
        "done": by["done"].sum().reindex(facts.districts).fillna(0),
        "done_mu": c[c["done"]].groupby("district_code")["area_mu"].sum().reindex(facts.districts).fillna(0.0),
    }, index=pd.Index(facts.districts, name="district_code"))
    out["done_share"] = (out["done_mu"] / out["recommended_mu"]).where(out["recommended_mu"] > 0)
    return out.sort_values(["done_share", "done_mu"], ascending=False, na_position="last")

