"""Faults: a process killed (SIGKILL) in the middle of its work leaves the store consistent, on
SQLite and on PostgreSQL, and repeating the command completes the work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import fresh_workspace
from landrenew.demo.job import run_demo
from landrenew.runs import analyze, recover
from landrenew.store.models import AnalysisRun, RunParcel, RunTagHit

LANDRENEW = str(Path(sys.executable).with_name("landrenew"))


@pytest.fixture(scope="module")
def city(request, backend, tmp_path_factory, profile):
    """A small loaded demo city (not analysed)."""
    with fresh_workspace(request, backend, tmp_path_factory.mktemp("faults") / "ws") as ws:
        assert not run_demo(ws, profile, 3000, 7).failed
        yield ws


def _runs(ws) -> dict[int, str]:
    with ws.engine.connect() as conn:
        return dict(conn.execute(select(AnalysisRun.id, AnalysisRun.status)).all())


def _rows(ws, model, run_id: int) -> int:
    with ws.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model).where(model.run_id == run_id)).scalar_one()


def _killed_during(cmd: list[str], started, delay: float, timeout: float = 120) -> bool:
    """Run ``cmd``, wait until ``started()`` says its work began, let it work ``delay`` s more,
    then SIGKILL it. True when it was killed (False: it finished first)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while not started():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{' '.join(cmd[:2])} ended or never began (exit {proc.returncode})")
            time.sleep(0.02)
        time.sleep(delay)
        if proc.poll() is not None:
            return False
        os.kill(proc.pid, signal.SIGKILL)
        return True
    finally:
        proc.wait()


@pytest.mark.parametrize("delay", [0.0, 1.0, 2.5, 4.0])
def test_an_analysis_killed_midway_is_marked_interrupted_and_leaves_no_half_results(city, profile, delay):
    ws = city
    before = set(_runs(ws))
    cmd = [LANDRENEW, "analyze", "--workspace", str(ws.path), "--db", ws.database_url, "--as-of", "2024-12-31"]
    killed = _killed_during(cmd, lambda: set(_runs(ws)) - before, delay)
    (new,) = set(_runs(ws)) - before
    if killed and _runs(ws)[new] == "running":
        assert recover(ws) == [new]
    else:
        recover(ws)  # killed after its commit: tidies its lock file and moves its files into place
    status = _runs(ws)
    assert "running" not in status.values()
    for rid, state in status.items():
        files = ws.path / "runs" / str(rid)
        if state == "done":
            assert _rows(ws, RunParcel, rid) > 0 and _rows(ws, RunTagHit, rid) > 0
            assert sorted(p.suffix for p in files.iterdir()) == [".gpkg", ".json", ".xlsx"]
        else:
            assert state == "interrupted" and _rows(ws, RunParcel, rid) == 0 and not files.exists()
    assert not list((ws.path / "runs").glob("*.partial")) and not list((ws.path / "runs").glob(".run-*.lock"))
    run_id, _ = analyze(ws, profile, date(2024, 12, 31))  # repeating the command completes the work
    assert _runs(ws)[run_id] == "done" and (ws.path / "runs" / str(run_id) / f"run_{run_id}.gpkg").is_file()


def test_recover_marks_only_runs_whose_process_is_gone_and_finishes_a_stored_runs_files(ws):
    """A ``running`` run whose lock nobody holds is interrupted and its half-written files go; one
    whose lock is held (its process alive) is left alone; a ``done`` run killed before its files
    were moved into place gets them moved."""
    from datetime import UTC, datetime

    import pandas as pd

    from landrenew import runs
    from landrenew.store.bulk import insert_frame

    now = datetime.now(UTC)
    row = {"started_at": now, "as_of": date(2024, 12, 31), "profile_id": "p", "profile_version": "1",
           "profile_digest": "d", "input_hash": "h", "code_version": "t", "timings": {}, "counts": {}, "user": "t"}
    with ws.engine.begin() as conn:
        insert_frame(conn, AnalysisRun.__table__, pd.DataFrame([{**row, "id": 1, "status": "running"},
                                                               {**row, "id": 2, "status": "running"},
                                                               {**row, "id": 3, "status": "done"}]))
    folder = ws.path / "runs"
    for name in ("1.partial", "3.partial"):
        (folder / name).mkdir(parents=True)
        (folder / name / "run.json").write_text("{}")
    (folder / ".run-1.lock").touch()  # left by a killed process
    alive = runs._hold(runs._lock_path(ws, 2))
    try:
        assert recover(ws) == [1]
        assert _runs(ws) == {1: "interrupted", 2: "running", 3: "done"}
        assert sorted(p.name for p in folder.iterdir()) == [".run-2.lock", ".starting.lock", "3"]
        assert (folder / "3" / "run.json").is_file()
    finally:
        alive.close()
    assert recover(ws) == [2]  # its process let go of the lock without finishing: gone too


@pytest.mark.parametrize("delay", [1.5, 2.5, 3.5, 4.5])
def test_a_load_killed_midway_leaves_no_half_batch_and_a_reload_completes(city, profile, delay):
    """The 武进 parcels delivered again (a new batch replaces the district's rows), killed at
    several points: the district's parcels always come from exactly one whole batch."""
    from sqlalchemy import text

    from landrenew.loading import load_file

    ws = city
    path = next((ws.path / "deliveries").rglob("320412*宗地.gpkg"))

    def batches() -> list[tuple[int, int]]:
        with ws.engine.connect() as conn:
            return conn.execute(text("SELECT batch_id, COUNT(*) FROM parcel WHERE district_code = '320412' "
                                     "GROUP BY batch_id")).all()

    ((_, rows),) = batches()
    cmd = [LANDRENEW, "load", "parcels", str(path), "--workspace", str(ws.path), "--db", ws.database_url]
    started = time.monotonic()
    _killed_during(cmd, lambda: time.monotonic() - started > 0, delay)
    ((batch, count),) = batches()  # one batch, whole: the old one or the new one
    assert count == rows
    with ws.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM ingest_batch WHERE id = :b"), {"b": batch}).scalar_one() == 1
    assert load_file(ws, profile, "parcels", path).loaded  # repeating the command completes the work
    ((again, count),) = batches()
    assert again > batch and count == rows


def test_killed_case_moves_and_transfers_leave_the_books_whole_and_a_rerun_finishes(ws, profile):
    """A client working every workflow's course and 60 transfers is killed again and again; after
    each kill the ledger verifies, the audit trail is whole and every case's events form a legal
    chain (no move without its event, no credit without its move); rerun, it finishes the work."""
    import random

    from landrenew import audit, ledger
    from landrenew.cases import list_cases
    from test_cases import ADMIN, event_chain_problems, workflow_ws

    workflow_ws(ws, profile, copies=2)
    cmd = [sys.executable, str(Path(__file__).with_name("fault_worker.py")), str(ws.path), ws.database_url]
    def written() -> int:
        with ws.engine.connect() as conn:
            return sum(conn.execute(select(func.count()).select_from(t)).scalar_one() for t in audit.TABLES.values())

    rng, kills, progressed = random.Random(3), 0, 0
    for _ in range(8):
        before = written()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.05, 0.6))  # its whole work takes about a second on SQLite
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
            progressed += written() > before  # killed in the middle of its work, not before it
        _, err = proc.communicate()
        assert proc.returncode in (0, -signal.SIGKILL), err.decode()[-2000:]
        with ws.engine.connect() as conn:
            assert ledger.verify(conn, profile).ok
            trail = audit.verify(conn, profile, ws)
            assert trail.ok, trail.findings
        assert event_chain_problems(ws, profile) == []
        if proc.returncode == 0:
            break
    assert kills >= 1 and progressed >= 1
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "finished" in done.stdout, done.stderr[-2000:]
    cases = list_cases(ws.engine, profile, ADMIN)
    for no, f, p, state in zip(cases["case_no"], cases["family"], cases["path"], cases["state"], strict=True):
        assert state == profile.operations.workflow_for(f, p).params.main_path()[-1].to_state, no
    with ws.engine.connect() as conn:
        assert ledger.verify(conn, profile).ok and audit.verify(conn, profile, ws).ok
