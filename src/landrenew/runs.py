"""The analysis service: snapshot the workspace, run the pipeline, record the run and its results."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, insert, update

from landrenew import __version__
from landrenew.analysis.pipeline import AnalysisResult, Progress, run_pipeline
from landrenew.cluster import ClusterRun, connect
from landrenew.lists import index_run_text
from landrenew.outputs import write_outputs
from landrenew.policy import Profile
from landrenew.store import Workspace
from landrenew.store.bulk import bulk_writing, insert_frame
from landrenew.store.load import current_user
from landrenew.store.models import AnalysisRun, RunCase, RunFirm, RunParcel, RunTagHit, RunUnit
from landrenew.store.snapshot import read_snapshot
from landrenew.store.workspace import refresh_statistics


def code_version() -> str:
    """The package version, plus the git commit when running from a checkout."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent,
                              capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        return f"{__version__}+{head}"
    except (OSError, subprocess.SubprocessError):
        return __version__


def analyze(ws: Workspace, profile: Profile, as_of: date | None = None, year: int | None = None,
            user: str | None = None, note: str | None = None, outputs: bool = True,
            progress: Progress = lambda _: None, cluster: str | None = None,
            cluster_data: Path | None = None) -> tuple[int, AnalysisResult]:
    """Run the analysis on the workspace as it is now; store the run and its results; return both.

    With ``outputs`` the run's GeoPackage, Excel 台账 and JSON summary go to ``WORKSPACE/runs/<id>/``.
    With ``cluster`` (a Dask scheduler address, or ``local:N``) the spatial steps run per
    partition on its workers, reading the partitions from ``cluster_data`` (default
    ``WORKSPACE/cache/cluster``; on a real cluster a folder every worker can read).
    """
    as_of = as_of or date.today()
    digest = profile.digest()
    with ws.engine.begin() as conn:
        run_id = conn.execute(insert(AnalysisRun.__table__).returning(AnalysisRun.__table__.c.id), [{
            "started_at": datetime.now(UTC), "status": "running", "as_of": as_of, "profile_id": profile.id,
            "profile_version": profile.version, "profile_digest": digest, "input_hash": "",
            "code_version": code_version(), "timings": {}, "counts": {}, "user": user or current_user(), "note": note,
        }]).scalar_one()
    try:
        progress("snapshot")
        t = time.perf_counter()
        snapshot = read_snapshot(ws.engine, ws.cache_dir)
        read_s = time.perf_counter() - t
        if cluster:
            with connect(cluster) as client:
                spread = ClusterRun(client, cluster_data or ws.cache_dir / "cluster", progress=progress)
                try:
                    result = run_pipeline(snapshot, profile, as_of, year, progress, cluster=spread)
                finally:
                    spread.close()
        else:
            result = run_pipeline(snapshot, profile, as_of, year, progress)
        progress("store")
        t = time.perf_counter()
        with ws.engine.begin() as conn, bulk_writing(conn):
            _store_results(conn, run_id, snapshot.parcels, result)
            index_run_text(conn, run_id, result.year)
            timings = {"snapshot": read_s, **result.timings, "store": time.perf_counter() - t}
            result.timings = timings
            conn.execute(update(AnalysisRun.__table__).where(AnalysisRun.__table__.c.id == run_id).values(
                status="done", finished_at=datetime.now(UTC), input_hash=snapshot.input_hash, year=result.year,
                timings={k: round(v, 3) for k, v in timings.items()}, counts=result.counts()))
        refresh_statistics(ws.engine)
        if outputs:
            progress("outputs")
            t = time.perf_counter()
            meta = {"run_id": run_id, "profile": f"{profile.id} {profile.version}", "profile_digest": digest,
                    "input_hash": snapshot.input_hash, "as_of": as_of, "year": result.year}
            result.outputs = write_outputs(run_id, snapshot, result, meta, ws.path / "runs" / str(run_id))
            timings["outputs"] = time.perf_counter() - t
    except Exception:
        with ws.engine.begin() as conn:
            conn.execute(update(AnalysisRun.__table__).where(AnalysisRun.__table__.c.id == run_id)
                         .values(status="failed", finished_at=datetime.now(UTC)))
        raise
    return run_id, result


def _insert(conn: Connection, model: type, df: pd.DataFrame) -> None:
    insert_frame(conn, model.__table__, df)


def _store_results(conn: Connection, run_id: int, parcels: pd.DataFrame, r: AnalysisResult) -> None:
    """Flagged parcels, tag hits, firm evaluations and units of the run."""
    flagged = r.tags["n_hits"] > 0
    pclass = r.parcel_class.reindex(parcels["parcel_code"])
    _insert(conn, RunParcel, pd.DataFrame({
        "run_id": run_id, "parcel_key": parcels["key"], "district_code": parcels["district_code"],
        "dlbm": parcels["dlbm"], "area_mu": r.overlay["area_mu"], "space": r.overlay["space"],
        "park_name": r.overlay["park_name"], "plan_zone": r.overlay["plan_zone"],
        "planned_code": r.overlay["planned_code"], "firm_class": pclass["class"].to_numpy(),
        "firm_uscc": pclass["firm_uscc"].to_numpy(), "tags": r.tags["tags"], "rule_ids": r.tags["rule_ids"],
        "unit_id": r.unit_of,
    })[flagged.to_numpy()])
    hits = r.tag_hits
    _insert(conn, RunTagHit, pd.DataFrame({
        "run_id": run_id, "parcel_key": hits["parcel_key"], "tag": hits["tag"], "rule_id": hits["rule_id"],
        "clause": hits["clause"], "evidence_kind": hits["evidence_kind"], "evidence_id": hits["evidence_id"],
        "value": hits["value"], "threshold": hits["threshold"], "note_zh": hits["note_zh"], "note_en": hits["note_en"],
    }))
    ev = r.evaluation
    detail_cols = [c for c in ev.columns if c.startswith(("value_", "score_", "benchmark_", "filled_"))
                   or c in ("adjustment_points", "adjustment_rules", "rank_fraction")]
    details = [json.loads(s) for s in ev[detail_cols].to_json(orient="records", lines=True, force_ascii=False).splitlines()]
    paths = r.firm_paths.set_index("uscc").reindex(ev["uscc"])
    alloc = r.allocation.set_index("uscc").reindex(ev["uscc"])
    firms = pd.DataFrame({
        "run_id": run_id, "uscc": ev["uscc"], "name": ev["name"], "district_code": ev["district_code"],
        "group": ev["group"], "score": ev["score"], "rank": ev["rank"], "firm_class": ev["class"],
        "class_rule": ev["class_rule"], "class_reason_zh": ev["class_reason_zh"],
        "class_reason_en": ev["class_reason_en"],
        "path": paths["path"].to_numpy(), "path_zh": paths["path_zh"].to_numpy(),
        "path_rule": paths["rule_id"].to_numpy(), "land_supply": alloc["land_supply"].to_numpy(),
        "energy_quota": alloc["energy_quota"].to_numpy(), "surcharge_total_yuan": alloc["surcharge_total_yuan"].to_numpy(),
    })
    firms["detail"] = details
    _insert(conn, RunFirm, firms)
    case_cols = [c.name for c in RunCase.__table__.columns if c.name not in ("id", "run_id")]
    _insert(conn, RunCase, r.cases[case_cols].assign(run_id=run_id))
    u = r.units
    if len(u):
        _insert(conn, RunUnit, pd.DataFrame({
            "run_id": run_id, "unit_id": u["unit_id"], "n_parcels": u["n_parcels"], "area_mu": u["area_mu"],
            "tags": u["tags"].astype(str), "members": u["members"],
        }))
