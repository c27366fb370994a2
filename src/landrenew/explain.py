"""Why is a parcel (or a firm) on a list? Everything a run recorded about it, rule by rule."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine, or_, select

from landrenew.store.models import AnalysisRun, Parcel, RunCase, RunFirm, RunParcel, RunTagHit


class NotFound(LookupError):
    """No such run, parcel or firm."""


@dataclass
class ParcelExplanation:
    """A parcel's facts in a run and every rule that tagged it, with evidence."""

    run_id: int
    parcel: dict
    result: dict | None
    hits: pd.DataFrame
    firm: dict | None
    #: the recommended case holding the parcel: path, rule, clause, reason, priority, yields
    case: dict | None = None


@dataclass
class FirmExplanation:
    """A firm's 亩均 evaluation in a run: score, rank, class, the rule and each indicator."""

    run_id: int
    firm: dict


def latest_run(engine: Engine) -> int:
    """The id of the newest finished run."""
    with engine.connect() as conn:
        run = conn.scalar(select(AnalysisRun.id).where(AnalysisRun.status == "done").order_by(AnalysisRun.id.desc()))
    if run is None:
        raise NotFound("还没有完成的分析批次，请先运行 landrenew analyze / no finished run: run landrenew analyze")
    return run


def explain_parcel(engine: Engine, code: str, run_id: int | None = None) -> ParcelExplanation:
    """Explain a parcel by parcel code (or BSM) in ``run_id`` (default: the latest run)."""
    run_id = run_id or latest_run(engine)
    p = Parcel.__table__
    with engine.connect() as conn:
        row = conn.execute(select(p.c.key, p.c.parcel_code, p.c.bsm, p.c.dlbm, p.c.dlmc, p.c.district_code,
                                  p.c.right_holder, p.c.area_m2, p.c.floor_area_m2, p.c.supply_date,
                                  p.c.contract_start_date, p.c.actual_start_date)
                           .where(or_(p.c.parcel_code == code, p.c.key == code, p.c.bsm == code))).mappings().first()
        if row is None:
            raise NotFound(f"库中没有宗地 {code} / parcel {code} is not in the store")
        result = conn.execute(select(RunParcel.__table__).where(RunParcel.run_id == run_id,
                                                                RunParcel.parcel_key == row["key"])).mappings().first()
        h = RunTagHit.__table__
        hits = pd.DataFrame(conn.execute(select(h.c.tag, h.c.rule_id, h.c.clause, h.c.evidence_kind, h.c.evidence_id,
                                                h.c.value, h.c.threshold, h.c.note_zh, h.c.note_en)
                                         .where(h.c.run_id == run_id, h.c.parcel_key == row["key"])
                                         .order_by(h.c.id)).mappings().all())
        c = RunCase.__table__
        case = None
        if result is not None:  # a unit's case lists its members; a single parcel's case lists it alone
            unit = result["unit_id"]
            where = c.c.unit_id == unit if unit is not None else c.c.parcel_keys == row["key"]
            case = conn.execute(select(c).where(c.c.run_id == run_id, where)).mappings().first()
        firm = None
        if result is not None and result["firm_uscc"]:
            firm = conn.execute(select(RunFirm.__table__).where(RunFirm.run_id == run_id,
                                                                RunFirm.uscc == result["firm_uscc"])).mappings().first()
    return ParcelExplanation(run_id, dict(row), dict(result) if result else None, hits, dict(firm) if firm else None,
                             dict(case) if case else None)


def explain_firm(engine: Engine, uscc: str, run_id: int | None = None) -> FirmExplanation:
    """Explain a firm's class by USCC in ``run_id`` (default: the latest run)."""
    run_id = run_id or latest_run(engine)
    with engine.connect() as conn:
        firm = conn.execute(select(RunFirm.__table__).where(RunFirm.run_id == run_id,
                                                            RunFirm.uscc == uscc.upper())).mappings().first()
    if firm is None:
        raise NotFound(f"分析批次 {run_id} 中没有企业 {uscc} / firm {uscc} not evaluated in run {run_id}")
    return FirmExplanation(run_id, dict(firm))
