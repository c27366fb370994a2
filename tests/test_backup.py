"""``landrenew backup`` / ``restore``: a worked city round-trips whole (every table, every file,
the audit chains and the ledger) on SQLite, on PostgreSQL and from one to the other; a damaged or
hostile archive, or a store that is not empty, is refused and changes nothing."""

from __future__ import annotations

import io
import tarfile
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from conftest import fresh_workspace
from landrenew import audit, backup, ledger
from landrenew.actors import Actor
from landrenew.cli import app
from landrenew.demo.job import run_demo
from landrenew.demo.operations import simulate_operations
from landrenew.runs import analyze
from landrenew.store import Workspace

ADMIN = Actor("王科长", "city_admin")


@pytest.fixture(scope="module")
def worked(request, backend, tmp_path_factory, profile):
    """A small demo city: loaded, analysed (with its files), its cases and ledger worked, a user."""
    from landrenew import users

    with fresh_workspace(request, backend, tmp_path_factory.mktemp("backup") / "ws") as ws:
        assert not run_demo(ws, profile, 1500, 3).failed
        run_id, _ = analyze(ws, profile, date(2024, 12, 31))
        simulate_operations(ws, profile, run_id, 3)
        users.add_user(ws.engine, profile, "admin", "city_admin", "Changzhou-2025")
        users.create_token(ws.engine, "admin", "nightly")
        yield ws


def _tables(ws: Workspace, folder: Path) -> dict:
    """Every backed-up table of ``ws`` as Arrow (through the backup's own export)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    with ws.engine.connect() as conn:
        for t in backup.tables():
            backup._export(conn, t, folder / f"{t.name}.parquet")
            out[t.name] = pq.read_table(folder / f"{t.name}.parquet")
    return out


def _files(ws: Workspace) -> dict[str, bytes]:
    return {p.relative_to(ws.path).as_posix(): p.read_bytes() for p in backup._workspace_files(ws)}


def _check_same(source: Workspace, restored: Workspace, profile, tmp_path: Path) -> None:
    a, b = _tables(source, tmp_path / "a"), _tables(restored, tmp_path / "b")
    for name, table in a.items():
        assert table.num_rows == b[name].num_rows, name
        assert table.equals(b[name]), name
    assert _files(source) == _files(restored)
    with restored.engine.connect() as conn:
        trail = audit.verify(conn, profile, restored)
        assert trail.ok, trail.findings
        assert ledger.verify(conn, profile).ok
    with source.engine.connect() as conn:
        assert audit.verify(conn, profile, source).heads == trail.heads


def test_a_worked_city_round_trips_whole(worked, profile, tmp_path, request, backend):
    archive = tmp_path / "city.tar.gz"
    manifest = backup.backup(worked, archive)
    assert manifest.tables["parcel"] > 1000 and manifest.tables["case_event"] > 0 and manifest.files
    assert any(f.startswith("attachments/") for f in manifest.files) and any(f.startswith("runs/") for f in manifest.files)
    assert "web_session" not in manifest.tables
    with fresh_workspace(request, backend, tmp_path / "restored") as target:  # empty, migrated
        backup.restore(archive, target)
        _check_same(worked, target, profile, tmp_path)
        with target.engine.begin() as conn:  # the restored store takes new rows after the old ones
            posted = ledger.post(conn, ledger.TransferRequest("after-restore", "linkage", "issued", "320412", 1.0,
                                                              "credit", date(2025, 6, 1), "恢复后入账"), profile, ADMIN)
        assert posted.seq > manifest.tables["quota_transfer"]


def test_a_sqlite_backup_restores_into_postgresql(worked, profile, tmp_path, request, backend, pg_url):
    if backend != "sqlite":
        pytest.skip("one direction is enough: SQLite → PostgreSQL")
    archive = tmp_path / "city.tar"
    backup.backup(worked, archive)
    target = Workspace.open(tmp_path / "pg", pg_url)  # a new, migrated, empty database
    backup.restore(archive, target)
    _check_same(worked, target, profile, tmp_path)


def test_restore_refuses_a_store_with_data_and_changes_nothing(worked, tmp_path):
    archive = tmp_path / "city.tar"
    backup.backup(worked, archive)
    with worked.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(backup.tables()[0])).scalar_one()
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore(archive, worked)
    with worked.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(backup.tables()[0])).scalar_one() == before


def test_a_damaged_or_hostile_archive_is_refused(worked, tmp_path):
    archive = tmp_path / "city.tar"
    backup.backup(worked, archive)
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == "tables/parcel.parquet":
                data = data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]
            dst.addfile(member, io.BytesIO(data))
    hostile = tmp_path / "hostile.tar"
    with tarfile.open(hostile, "w") as tar:
        info = tarfile.TarInfo("../../escaped.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    not_tar = tmp_path / "notes.tar"
    not_tar.write_text("not an archive")
    for bad, match in ((damaged, "damaged"), (hostile, "cannot read"), (not_tar, "cannot read")):
        target = Workspace.open(tmp_path / f"t_{bad.stem}", f"sqlite:///{tmp_path / bad.stem}.sqlite", migrate=False)
        with pytest.raises(backup.BackupError, match=match):
            backup.restore(bad, target)
        assert not (tmp_path / "escaped.txt").exists()


def test_cli_backup_then_restore(worked, tmp_path):
    runner = CliRunner()
    archive = tmp_path / "cli.tar.gz"
    made = runner.invoke(app, ["backup", str(archive), "--workspace", str(worked.path), "--db", worked.database_url])
    assert made.exit_code == 0, made.output
    assert archive.is_file() and "parcel" in made.output
    target = tmp_path / "cli_restored"
    args = ["restore", str(archive), "--workspace", str(target), "--db", f"sqlite:///{target / 'landrenew.sqlite'}"]
    back = runner.invoke(app, args)
    assert back.exit_code == 0, back.output
    again = runner.invoke(app, args)
    assert again.exit_code == 1 and "不为空" in again.output
