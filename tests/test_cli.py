"""The main job end to end: `landrenew demo` builds, delivers and loads; `status` reports it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from conftest import cli_ws, store_fingerprint
from landrenew import cli
from landrenew.store import Workspace


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    monkeypatch.setattr(cli.console, "width", 220)


def test_demo_loads_every_delivery_and_status_reports_it(ws):
    result = CliRunner().invoke(cli.app, ["demo", "--parcels", "2000", "--seed", "3", *cli_ws(ws)])
    assert result.exit_code == 0, result.output
    assert "导入失败" not in result.output and "完成 done" in result.output
    status = CliRunner().invoke(cli.app, ["status", *cli_ws(ws)])
    assert status.exit_code == 0
    assert "2,000" in status.output and "溧阳市" in status.output and "320481溧阳市宗地.shp" in status.output
    batch = CliRunner().invoke(cli.app, ["status", *cli_ws(ws), "--batch", "6"])
    assert "GBK" in batch.output and "4528" in batch.output


def test_demo_with_fresh_starts_from_an_empty_store(tmp_path):
    """``--fresh`` empties the SQLite file in the workspace folder (a server store is never emptied)."""
    ws = tmp_path / "ws"
    CliRunner().invoke(cli.app, ["demo", "--parcels", "1000", "-w", str(ws)])
    once = store_fingerprint(Workspace.open(ws))
    result = CliRunner().invoke(cli.app, ["demo", "--parcels", "1000", "-w", str(ws), "--fresh"])
    assert result.exit_code == 0
    assert store_fingerprint(Workspace.open(ws)) == once


def test_demo_fresh_is_refused_on_a_server_store(pg_url, tmp_path):
    result = CliRunner().invoke(cli.app, ["demo", "--parcels", "100", "-w", str(tmp_path / "ws"), "--db", pg_url,
                                          "--fresh"])
    assert result.exit_code == 2 and "--fresh" in result.output
    # the same with the server named only by LANDRENEW_DATABASE_URL (set by the pg_url fixture)
    result = CliRunner().invoke(cli.app, ["demo", "--parcels", "100", "-w", str(tmp_path / "ws"), "--fresh"])
    assert result.exit_code == 2 and "LANDRENEW_DATABASE_URL" in result.output
