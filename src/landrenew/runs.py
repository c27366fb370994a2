"""The analysis service: snapshot the workspace, run the pipeline, record the run and its results."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO

import pandas as pd
from sqlalchemy import Connection, insert, select, update

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

    A run is ``running`` while its process holds its lock file; killed, it is found by
    :func:`recover` (called here first) and marked ``interrupted``. Its results are stored in one
    transaction; its files are written beside (``runs/<id>.partial``) before that commit and moved
    into place after it, so a run is never ``done`` with half its files.
    """
    as_of = as_of or date.today()
    digest = profile.digest()
    recover(ws)
    with _starting(ws):
        with ws.engine.begin() as conn:
            run_id = conn.execute(insert(AnalysisRun.__table__).returning(AnalysisRun.__table__.c.id), [{
                "started_at": datetime.now(UTC), "status": "running", "as_of": as_of, "profile_id": profile.id,
                "profile_version": profile.version, "profile_digest": digest, "input_hash": "",
                "code_version": code_version(), "timings": {}, "counts": {}, "user": user or current_user(),
                "note": note,
            }]).scalar_one()
        lock = _hold(_lock_path(ws, run_id))
    partial, final = _outputs_dir(ws, run_id, partial=True), _outputs_dir(ws, run_id)
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
        timings = {"snapshot": read_s, **result.timings}
        result.timings = timings
        if outputs:
            progress("outputs")
            t = time.perf_counter()
            meta = {"run_id": run_id, "profile": f"{profile.id} {profile.version}", "profile_digest": digest,
                    "input_hash": snapshot.input_hash, "as_of": as_of, "year": result.year}
            written = write_outputs(run_id, snapshot, result, meta, partial)
            timings["outputs"] = time.perf_counter() - t
        progress("store")
        t = time.perf_counter()
        with ws.engine.begin() as conn, bulk_writing(conn):
            _store_results(conn, run_id, snapshot.parcels, result)
            index_run_text(conn, run_id, result.year)
            timings["store"] = time.perf_counter() - t
            conn.execute(update(AnalysisRun.__table__).where(AnalysisRun.__table__.c.id == run_id).values(
                status="done", finished_at=datetime.now(UTC), input_hash=snapshot.input_hash, year=result.year,
                timings={k: round(v, 3) for k, v in timings.items()}, counts=result.counts()))
        if outputs:
            shutil.rmtree(final, ignore_errors=True)  # the store gave this id afresh: a folder there is stale
            partial.replace(final)
            result.outputs = {k: final / p.name for k, p in written.items()}
        refresh_statistics(ws.engine)
    except BaseException:
        with ws.engine.begin() as conn:
            conn.execute(update(AnalysisRun.__table__).where(AnalysisRun.__table__.c.id == run_id,
                                                             AnalysisRun.__table__.c.status == "running")
                         .values(status="failed", finished_at=datetime.now(UTC)))
        shutil.rmtree(partial, ignore_errors=True)
        raise
    finally:
        _release(lock, _lock_path(ws, run_id))
    return run_id, result


def recover(ws: Workspace) -> list[int]:
    """Mark ``interrupted`` the runs left ``running`` by a process that is gone (killed, power cut),
    remove their half-written files, and move into place the files of a run that was stored just
    before its process died. Returns the ids of the runs marked."""
    runs = ws.path / "runs"
    t = AnalysisRun.__table__
    with _starting(ws):
        with ws.engine.connect() as conn:
            running = conn.execute(select(t.c.id).where(t.c.status == "running")).scalars().all()
        gone = [rid for rid in running if not _held(_lock_path(ws, rid))]
        if gone:  # still running in the store: a run that ended meanwhile has left that status
            with ws.engine.begin() as conn:
                conn.execute(update(t).where(t.c.id.in_(gone), t.c.status == "running")
                             .values(status="interrupted", finished_at=datetime.now(UTC)))
        with ws.engine.connect() as conn:
            done = set(conn.execute(select(t.c.id).where(t.c.status == "done")).scalars())
        active = set(running) - set(gone)
        for lock in runs.glob(".run-*.lock") if runs.is_dir() else []:  # of runs whose process is gone
            if not _held(lock):
                lock.unlink(missing_ok=True)
        for partial in runs.glob("*.partial") if runs.is_dir() else []:
            stem = partial.name.removesuffix(".partial")
            rid = int(stem) if stem.isdigit() else None
            if rid in active:
                continue
            if rid in done and not _outputs_dir(ws, rid).exists():
                partial.replace(_outputs_dir(ws, rid))
            else:
                shutil.rmtree(partial, ignore_errors=True)
    return gone


def _outputs_dir(ws: Workspace, run_id: int, partial: bool = False) -> Path:
    return ws.path / "runs" / (f"{run_id}.partial" if partial else str(run_id))


def _lock_path(ws: Workspace, run_id: int) -> Path:
    return ws.path / "runs" / f".run-{run_id}.lock"


@contextmanager
def _starting(ws: Workspace) -> Iterator[None]:
    """Serialises starting a run (row, then its lock) with :func:`recover`'s look at the locks."""
    fh = _hold(ws.path / "runs" / ".starting.lock")
    try:
        yield
    finally:
        fh.close()


def _hold(path: Path) -> IO[str]:
    """An exclusive lock on ``path`` (waits for it); kept until the file object is closed or the
    process ends, whichever comes first (the kernel releases it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = path.open("a")
    fcntl.flock(fh, fcntl.LOCK_EX)
    return fh


def _held(path: Path) -> bool:
    """True when a live process holds the lock on ``path``."""
    if not path.exists():
        return False
    with path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False


def _release(fh: IO[str], path: Path) -> None:
    path.unlink(missing_ok=True)
    fh.close()


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
    # (no firm rated this year: pandas writes an empty frame as one blank line)
    details = [json.loads(s) for s in ev[detail_cols].to_json(orient="records", lines=True, force_ascii=False).splitlines()
               if s]
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
