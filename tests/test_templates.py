"""Templates: every kind gets one, and a filled-in template loads."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from conftest import firm_frame
from landrenew.cli import app
from landrenew.intake.schema import KINDS, LAYER_KINDS
from landrenew.loading import load_file


def test_templates_command_writes_a_workbook_per_kind_and_a_geopackage_per_layer(tmp_path):
    result = CliRunner().invoke(app, ["templates", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert len(list(tmp_path.glob("*.xlsx"))) == len(KINDS)
    gpkgs = {p.stem for p in tmp_path.glob("*.gpkg")}
    assert set(LAYER_KINDS) <= gpkgs and {"parcels", "enforcement", "unsupplied"} <= gpkgs


def test_empty_template_is_refused_as_having_no_rows(ws, profile, tmp_path):
    CliRunner().invoke(app, ["templates", str(tmp_path)])
    result = load_file(ws, profile, "parcels", tmp_path / "parcels.gpkg")
    assert not result.loaded and "no_rows" in set(result.report.frame()["code"])


def test_filled_firm_template_loads(ws, profile, tmp_path):
    CliRunner().invoke(app, ["templates", str(tmp_path)])
    path = next(tmp_path.glob("firms_*.xlsx"))
    headers = pd.read_excel(path, sheet_name="数据", engine="calamine").columns
    data = firm_frame(3)
    filled = pd.DataFrame({h: data[h] if h in data else None for h in headers})
    filled["实缴税金（万元）"] = data["实缴税金（万元）"]
    with pd.ExcelWriter(path, engine="openpyxl", mode="a", if_sheet_exists="replace") as xw:
        filled.to_excel(xw, sheet_name="数据", index=False)
    result = load_file(ws, profile, "firms", path, sheet="数据")
    assert result.loaded and result.rows_loaded == 3, result.report.frame()
