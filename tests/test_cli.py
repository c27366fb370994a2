"""The main job end to end: `landrenew demo` builds, delivers and loads; `status` reports it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from conftest import store_fingerprint
from landrenew import cli
from landrenew.store import Workspace


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    monkeypatch.setattr(cli.console, "width", 220)


def test_demo_loads_every_delivery_and_status_reports_it(tmp_path):
    ws = str(tmp_path / "ws")
    result = CliRunner().invoke(cli.app, ["demo", "--parcels", "2000", "--seed", "3", "-w", ws, "--fresh"])
    assert result.exit_code == 0, result.output
    assert "导入失败" not in result.output and "完成 done" in result.output
    status = CliRunner().invoke(cli.app, ["status", "-w", ws])
    assert status.exit_code == 0
    assert "2,000" in status.output and "溧阳市" in status.output and "320481溧阳市宗地.shp" in status.output
    batch = CliRunner().invoke(cli.app, ["status", "-w", ws, "--batch", "6"])
    assert "GBK" in batch.output and "4528" in batch.output


def test_demo_with_fresh_starts_from_an_empty_store(tmp_path):
    ws = tmp_path / "ws"
    CliRunner().invoke(cli.app, ["demo", "--parcels", "1000", "-w", str(ws)])
    once = store_fingerprint(Workspace.open(ws))
    result = CliRunner().invoke(cli.app, ["demo", "--parcels", "1000", "-w", str(ws), "--fresh"])
    assert result.exit_code == 0
    assert store_fingerprint(Workspace.open(ws)) == once
