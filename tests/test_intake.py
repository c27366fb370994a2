"""Intake: each bad file a user really brings yields errors by row and column and leaves the store unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import xlsxwriter
from sqlalchemy import text
from typer.testing import CliRunner

from conftest import cli_ws, firm_frame, parcel_frame, store_fingerprint
from landrenew.cli import app
from landrenew.geo.gcj02 import wgs84_to_gcj02
from landrenew.loading import load_file

ABBREVIATIONS = {"宗地代码": "ZDDM", "地类编码": "DLBM", "行政区代码": "XZQDM", "权利人": "QLR", "供地日期": "GDRQ",
                 "建筑面积": "JZMJ", "宗地面积": "ZDMJ"}


def _shp_frame(n: int = 3) -> gpd.GeoDataFrame:
    """Shapefile fields hold 10 bytes: deliveries use the national abbreviations."""
    return parcel_frame(n).rename(columns=ABBREVIATIONS)


def _load(ws, profile, kind, path, **kw):
    before = store_fingerprint(ws)
    result = load_file(ws, profile, kind, path, **kw)
    return result, before


def _codes(result) -> set[str]:
    return set(result.report.frame().query("severity == 'error'")["code"])


def _refused(ws, result, before) -> None:
    assert not result.loaded
    assert not result.report.ok
    assert store_fingerprint(ws) == before


# --- parcels: the good path ------------------------------------------------------------------

def test_valid_parcels_gpkg_loads_as_one_batch_with_hash_and_counts(ws, profile, tmp_path):
    path = tmp_path / "parcels.gpkg"
    parcel_frame(6).to_file(path)
    result = load_file(ws, profile, "parcels", path)
    assert result.loaded and result.rows_loaded == 6 and result.report.ok
    with ws.engine.connect() as conn:
        batch = conn.execute(text("SELECT file_name, file_sha256, rows_read, rows_loaded FROM ingest_batch")).one()
        areas = conn.execute(text("SELECT area_m2 FROM parcel")).scalars().all()
    assert batch[0] == "parcels.gpkg" and len(batch[1]) == 64 and batch[2:] == (6, 6)
    assert np.allclose(areas, 6400.0, rtol=1e-3)


def test_reloading_the_same_parcels_replaces_them_instead_of_duplicating(ws, profile, tmp_path):
    path = tmp_path / "parcels.gpkg"
    parcel_frame(6).to_file(path)
    load_file(ws, profile, "parcels", path)
    load_file(ws, profile, "parcels", path)
    assert store_fingerprint(ws)["parcel"] == 6
    assert store_fingerprint(ws)["ingest_batch"] == 2


# --- coordinate systems ----------------------------------------------------------------------

def test_shapefile_without_prj_is_refused_and_fix_names_the_guessed_crs(ws, profile, tmp_path):
    path = tmp_path / "noprj.shp"
    _shp_frame(3).to_file(path, encoding="utf-8")
    path.with_suffix(".prj").unlink()
    result, before = _load(ws, profile, "parcels", path)
    _refused(ws, result, before)
    issue = result.report.frame().iloc[0]
    assert issue["code"] == "no_crs" and "4549" in issue["fix_zh"]


def test_missing_prj_loads_when_user_declares_the_crs(ws, profile, tmp_path):
    path = tmp_path / "noprj.shp"
    _shp_frame(3).to_file(path, encoding="utf-8")
    path.with_suffix(".prj").unlink()
    result = load_file(ws, profile, "parcels", path, crs="EPSG:4549")
    assert result.loaded and result.rows_loaded == 3


def test_geographic_crs_declared_on_projected_coordinates_is_refused(ws, profile, tmp_path):
    path = tmp_path / "wrong.gpkg"
    parcel_frame(3).set_crs("EPSG:4490", allow_override=True).to_file(path)
    result, before = _load(ws, profile, "parcels", path)
    _refused(ws, result, before)
    assert "bad_crs" in _codes(result)


def test_zone_prefixed_coordinates_labelled_4549_are_refused_with_4528_as_fix(ws, profile, tmp_path):
    gdf = parcel_frame(3)
    gdf = gdf.set_geometry(shapely.transform(gdf.geometry.values, lambda xy: xy + [40_000_000, 0]))
    path = tmp_path / "prefixed.gpkg"
    gdf.set_crs("EPSG:4549", allow_override=True).to_file(path)
    result, before = _load(ws, profile, "parcels", path)
    _refused(ws, result, before)
    assert "4528" in result.report.frame().iloc[0]["fix_zh"]


def test_zone_prefixed_coordinates_declared_4528_load_with_correct_area(ws, profile, tmp_path):
    gdf = parcel_frame(3)
    gdf = gdf.set_geometry(shapely.transform(gdf.geometry.values, lambda xy: xy + [40_000_000, 0]))
    path = tmp_path / "prefixed.gpkg"
    gdf.set_crs("EPSG:4528", allow_override=True).to_file(path)
    result = load_file(ws, profile, "parcels", path)
    assert result.loaded
    with ws.engine.connect() as conn:
        assert np.allclose(conn.execute(text("SELECT area_m2 FROM parcel")).scalars().all(), 6400.0, rtol=1e-3)


def test_gcj02_coordinates_declared_by_the_user_are_converted_to_cgcs2000(ws, profile, tmp_path):
    truth = parcel_frame(3).to_crs("EPSG:4490")
    lon, lat = wgs84_to_gcj02(*shapely.get_coordinates(truth.geometry.values).T)
    offset = truth.set_geometry(shapely.set_coordinates(truth.geometry.values.copy(), np.c_[lon, lat]))
    path = tmp_path / "gcj.geojson"
    offset.to_file(path, driver="GeoJSON")
    result = load_file(ws, profile, "parcels", path, crs="GCJ02")
    assert result.loaded
    with ws.engine.connect() as conn:
        minx = conn.execute(text("SELECT minx FROM parcel ORDER BY parcel_code")).scalars().all()
    expected = truth.sort_values("宗地代码").geometry.bounds["minx"].to_numpy()
    assert np.allclose(minx, expected, atol=1e-6)  # ~0.1 m


def test_parcel_far_outside_the_city_is_refused_by_row(ws, profile, tmp_path):
    gdf = parcel_frame(3).to_crs("EPSG:4490")
    gdf.loc[1, "geometry"] = shapely.box(116.3, 39.9, 116.301, 39.901)  # Beijing
    path = tmp_path / "outside.gpkg"
    gdf.to_file(path)
    result, before = _load(ws, profile, "parcels", path)
    _refused(ws, result, before)
    errors = result.report.frame().query("code == 'outside_extent'")
    assert errors["row"].tolist() == [2]


# --- encodings and geometry ------------------------------------------------------------------

def test_gbk_shapefile_without_cpg_is_decoded_and_loads(ws, profile, tmp_path):
    gdf = _shp_frame(3)
    path = tmp_path / "gbk.shp"
    gdf.to_file(path, encoding="GBK")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    assert "常州".encode("gbk") in path.with_suffix(".dbf").read_bytes()
    result = load_file(ws, profile, "parcels", path)
    assert result.loaded, result.report.frame()
    assert "encoding_detected" in set(result.report.frame()["code"])
    with ws.engine.connect() as conn:
        holders = conn.execute(text("SELECT right_holder FROM parcel ORDER BY parcel_code")).scalars().all()
    assert holders[0] == "常州测试0号机械有限公司"


def test_self_intersecting_polygon_is_repaired_and_the_repair_is_recorded(ws, profile, tmp_path):
    gdf = parcel_frame(3)
    x0, y0 = gdf.geometry.iloc[0].bounds[:2]
    gdf.loc[0, "geometry"] = shapely.Polygon([(x0, y0), (x0 + 80, y0 + 80), (x0 + 80, y0), (x0, y0 + 80)])
    path = tmp_path / "bowtie.gpkg"
    gdf.to_file(path)
    result = load_file(ws, profile, "parcels", path)
    assert result.loaded and result.rows_loaded == 3
    with ws.engine.connect() as conn:
        repaired = conn.execute(text("SELECT row FROM ingest_issue WHERE severity = 'repaired'")).scalars().all()
    assert repaired == [1]


def test_empty_geometry_is_refused_with_its_row(ws, profile, tmp_path):
    gdf = parcel_frame(3)
    gdf.loc[2, "geometry"] = None
    path = tmp_path / "empty.gpkg"
    gdf.to_file(path)
    result, before = _load(ws, profile, "parcels", path)
    _refused(ws, result, before)
    assert result.report.frame().query("code == 'empty_geometry'")["row"].tolist() == [3]


def test_duplicate_parcel_codes_are_refused_naming_both_rows(ws, profile, tmp_path):
    gdf = parcel_frame(4)
    gdf.loc[3, "宗地代码"] = gdf.loc[1, "宗地代码"]
    path = tmp_path / "dup.gpkg"
    gdf.to_file(path)
    result, before = _load(ws, profile, "parcels", path)
    _refused(ws, result, before)
    dup = result.report.frame().query("code == 'duplicate_key'").iloc[0]
    assert dup["row"] == 4 and "第 2 行" in dup["problem_zh"]


def test_malformed_parcel_code_and_unknown_district_are_reported_by_column(ws, profile, tmp_path):
    gdf = parcel_frame(3)
    gdf.loc[0, "宗地代码"] = "32041200100"
    gdf.loc[1, "行政区代码"] = "110101"
    path = tmp_path / "codes.gpkg"
    gdf.to_file(path)
    result, before = _load(ws, profile, "parcels", path)
    _refused(ws, result, before)
    errors = result.report.frame().query("severity == 'error'")
    assert ("宗地代码", 1) in set(zip(errors["column"], errors["row"], strict=True))
    assert ("行政区代码", 2) in set(zip(errors["column"], errors["row"], strict=True))


def test_file_with_errors_can_load_its_good_rows_with_skip_invalid(ws, profile, tmp_path):
    gdf = parcel_frame(4)
    gdf.loc[2, "geometry"] = None
    path = tmp_path / "partly.gpkg"
    gdf.to_file(path)
    result = load_file(ws, profile, "parcels", path, skip_invalid=True)
    assert result.loaded and result.rows_loaded == 3
    rejected = gpd.read_file(result.rejected_path)
    assert rejected["行号"].tolist() == [3] and "几何为空" in rejected["问题"].iloc[0]
    assert sorted(p.name for p in result.rejected_path.parent.iterdir()) == ["partly.rejected.gpkg"]


def test_a_load_that_fails_to_store_leaves_no_rejected_rows_file(ws, profile, tmp_path, monkeypatch):
    """The rejected rows' file is written after the batch is stored: a failed write leaves none."""
    from landrenew import loading

    gdf = parcel_frame(4)
    gdf.loc[2, "geometry"] = None
    path = tmp_path / "partly.gpkg"
    gdf.to_file(path)

    def store_down(*_args, **_kw) -> None:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(loading, "write_batch", store_down)
    with pytest.raises(ConnectionError):
        load_file(ws, profile, "parcels", path, skip_invalid=True)
    assert not any(ws.reports_dir.glob("partly.rejected*"))


# --- firms (Excel / CSV) ---------------------------------------------------------------------

def _xlsx(df: pd.DataFrame, path: Path) -> Path:
    df.to_excel(path, index=False)
    return path


def test_valid_firm_sheet_loads_firm_years_and_parcel_links(ws, profile, tmp_path):
    result = load_file(ws, profile, "firms", _xlsx(firm_frame(5), tmp_path / "firms.xlsx"))
    assert result.loaded and result.rows_loaded == 5
    fp = store_fingerprint(ws)
    assert fp["firm_year"] == 5 and fp["firm_parcel"] == 5


def test_bad_uscc_check_character_is_refused_and_names_the_expected_one(ws, profile, tmp_path):
    df = firm_frame(3)
    good = df.loc[1, "统一社会信用代码"]
    df.loc[1, "统一社会信用代码"] = good[:17] + ("0" if good[17] != "0" else "1")
    result, before = _load(ws, profile, "firms", _xlsx(df, tmp_path / "firms.xlsx"))
    _refused(ws, result, before)
    err = result.report.frame().query("code == 'bad_uscc'").iloc[0]
    assert err["row"] == 3 and good[17] in err["value"]


def test_missing_required_column_is_refused_naming_the_column(ws, profile, tmp_path):
    df = firm_frame(3).drop(columns=["企业名称"])
    result, before = _load(ws, profile, "firms", _xlsx(df, tmp_path / "firms.xlsx"))
    _refused(ws, result, before)
    err = result.report.frame().query("code == 'missing_column'").iloc[0]
    assert err["column"] == "企业名称" and "QYMC" in err["fix_zh"]


def test_negative_and_non_numeric_values_are_refused_by_row_and_column(ws, profile, tmp_path):
    df = firm_frame(4).astype({"实缴税金（万元）": object})
    df.loc[1, "实缴税金（万元）"] = -5
    df.loc[2, "实缴税金（万元）"] = "约100"
    result, before = _load(ws, profile, "firms", _xlsx(df, tmp_path / "firms.xlsx"))
    _refused(ws, result, before)
    errs = result.report.frame().query("severity == 'error'")
    assert {(r.code, r.row) for r in errs.itertuples()} == {("below_min", 3), ("not_number", 4)}
    assert set(errs["column"]) == {"实缴税金（万元）"}


def test_unknown_district_code_in_firms_is_refused_and_names_the_valid_codes(ws, profile, tmp_path):
    df = firm_frame(3)
    df.loc[0, "行政区代码"] = "320499"
    result, before = _load(ws, profile, "firms", _xlsx(df, tmp_path / "firms.xlsx"))
    _refused(ws, result, before)
    err = result.report.frame().query("code == 'unknown_district'").iloc[0]
    assert err["row"] == 2 and "320412" in err["fix_zh"]


def test_district_names_are_accepted_in_place_of_codes(ws, profile, tmp_path):
    df = firm_frame(3)
    df["行政区代码"] = ["武进区", "武进", "320412"]
    result = load_file(ws, profile, "firms", _xlsx(df, tmp_path / "firms.xlsx"))
    assert result.loaded
    with ws.engine.connect() as conn:
        assert set(conn.execute(text("SELECT district_code FROM firm_year")).scalars()) == {"320412"}


def test_excel_with_two_row_merged_header_loads(ws, profile, tmp_path):
    df = firm_frame(3)
    path = tmp_path / "merged.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("2024年")
    cols = list(df.columns)
    # 基本信息 spans the first 5 columns in row 1; the rest are single headers merged over both rows
    sheet.merge_range(0, 0, 0, 4, "基本信息")
    for j in range(5):
        sheet.write(1, j, cols[j])
    for j in range(5, len(cols)):
        sheet.merge_range(0, j, 1, j, cols[j])
    for i, row in enumerate(df.itertuples(index=False), start=2):
        sheet.write_row(i, 0, list(row))
    book.close()
    result = load_file(ws, profile, "firms", path, sheet="2024年")
    assert result.loaded and result.rows_loaded == 3, result.report.frame()
    with ws.engine.connect() as conn:
        assert conn.execute(text("SELECT SUM(tax_wan) FROM firm_year")).scalar_one() == pytest.approx(364.5)


def test_total_row_at_the_end_of_a_sheet_is_skipped(ws, profile, tmp_path):
    df = firm_frame(3)
    total = pd.DataFrame([{"统一社会信用代码": "合计", "实缴税金（万元）": df["实缴税金（万元）"].sum()}])
    result = load_file(ws, profile, "firms", _xlsx(pd.concat([df, total]), tmp_path / "firms.xlsx"))
    assert result.loaded and result.rows_loaded == 3
    assert "summary_row" in set(result.report.frame()["code"])


def test_gbk_csv_is_read(ws, profile, tmp_path):
    path = tmp_path / "firms.csv"
    firm_frame(3).to_csv(path, index=False, encoding="gbk")
    result = load_file(ws, profile, "firms", path)
    assert result.loaded and result.rows_loaded == 3


def test_duplicate_firm_year_is_refused(ws, profile, tmp_path):
    df = pd.concat([firm_frame(3), firm_frame(3).iloc[[0]]])
    result, before = _load(ws, profile, "firms", _xlsx(df, tmp_path / "firms.xlsx"))
    _refused(ws, result, before)
    assert "duplicate_key" in _codes(result)


# --- evidence lists and layers ---------------------------------------------------------------

def test_hazard_list_needs_a_firm_or_a_parcel_on_every_row(ws, profile, tmp_path):
    firms = firm_frame(2)
    df = pd.DataFrame({"隐患编号": ["AJ-1", "AJ-2"], "统一社会信用代码": [firms.iloc[0, 0], None],
                       "隐患类型": ["危险化学品", "消防隐患"], "隐患等级": ["重大", "一般"], "发现日期": ["2024年3月5日", "2024/4/1"]})
    result, before = _load(ws, profile, "hazards", _xlsx(df, tmp_path / "hazards.xlsx"))
    _refused(ws, result, before)
    assert result.report.frame().query("code == 'one_of_empty'")["row"].tolist() == [3]


def test_hazard_list_loads_with_chinese_dates(ws, profile, tmp_path):
    firms = firm_frame(2)
    df = pd.DataFrame({"隐患编号": ["AJ-1", "AJ-2"], "统一社会信用代码": firms.iloc[:, 0].tolist(),
                       "隐患类型": ["危险化学品", "消防隐患"], "发现日期": ["2024年3月5日", "2024/4/1"]})
    result = load_file(ws, profile, "hazards", _xlsx(df, tmp_path / "hazards.xlsx"))
    assert result.loaded
    with ws.engine.connect() as conn:
        dates = conn.execute(text("SELECT event_date FROM evidence ORDER BY record_id")).scalars().all()
    assert [str(d) for d in dates] == ["2024-03-05", "2024-04-01"]


def test_rectifiable_is_yes_no_or_not_judged(ws, profile, tmp_path):
    """可整改 is three-valued: 是 / 否 load as true / false, a blank stays unknown (not 否)."""
    firms = firm_frame(3)
    df = pd.DataFrame({"隐患编号": ["AJ-1", "AJ-2", "AJ-3"], "统一社会信用代码": firms.iloc[:3, 0].tolist(),
                       "隐患类型": ["危险化学品"] * 3, "可整改": ["是", "否", None]})
    assert load_file(ws, profile, "hazards", _xlsx(df, tmp_path / "hazards.xlsx")).loaded
    with ws.engine.connect() as conn:
        attrs = conn.execute(text("SELECT attrs FROM evidence ORDER BY record_id")).scalars().all()
    values = [(a if isinstance(a, dict) else json.loads(a))["rectifiable"] for a in attrs]
    assert values == [True, False, None]


def test_planned_use_layer_needs_a_valid_planned_use_code(ws, profile, tmp_path):
    """A detailed-plan layer without 规划用途代码, or with a code not in 用地用海, is refused by row."""
    gdf = parcel_frame(3)[["geometry"]].assign(编号=["GH1", "GH2", "GH3"], 规划用途代码=["0901", None, "9999"])
    path = tmp_path / "plan.gpkg"
    gdf.to_file(path)
    result, before = _load(ws, profile, "layer", path, layer_kind="planned_use")
    _refused(ws, result, before)
    bad = result.report.frame()
    assert bad.query("code == 'required_empty'")["row"].tolist() == [2]  # features count from 1
    assert bad.query("code == 'bad_ydyh'")["row"].tolist() == [3]
    gdf.assign(规划用途代码=["0901", "1001", "0701"]).to_file(path)
    assert load_file(ws, profile, "layer", path, layer_kind="planned_use").loaded
    with ws.engine.connect() as conn:
        codes = conn.execute(text("SELECT ydyh_code FROM control_feature WHERE layer_kind = 'planned_use' "
                                  "ORDER BY feature_id")).scalars().all()
    assert codes == ["0901", "1001", "0701"]


def test_loading_a_control_layer_replaces_the_previous_one(ws, profile, tmp_path):
    gdf = parcel_frame(4)[["geometry"]].assign(名称=["园区A", "园区B", "园区C", "园区D"])
    path = tmp_path / "parks.gpkg"
    gdf.to_file(path)
    load_file(ws, profile, "layer", path, layer_kind="industrial_park")
    gdf.iloc[:2].to_file(path)
    load_file(ws, profile, "layer", path, layer_kind="industrial_park")
    assert store_fingerprint(ws)["control_feature"] == 2


def test_point_layer_is_refused_for_polygon_kinds(ws, profile, tmp_path):
    gdf = parcel_frame(2)
    gdf = gdf.set_geometry(gdf.geometry.centroid)
    path = tmp_path / "points.gpkg"
    gdf.to_file(path)
    result, before = _load(ws, profile, "parcels", path)
    _refused(ws, result, before)
    assert "not_polygon" in _codes(result)


# --- command line ----------------------------------------------------------------------------

def test_cli_load_of_a_bad_file_exits_non_zero_and_writes_the_report(ws, tmp_path):
    df = firm_frame(2).drop(columns=["企业名称"])
    path = _xlsx(df, tmp_path / "firms.xlsx")
    report = tmp_path / "report.csv"
    result = CliRunner().invoke(app, ["load", "firms", str(path), *cli_ws(ws), "--report", str(report)])
    assert result.exit_code == 1
    assert "缺少必填列" in report.read_text(encoding="utf-8-sig")
    assert "未导入" in result.output


def test_cli_load_of_a_good_file_exits_zero(ws, tmp_path):
    path = tmp_path / "parcels.gpkg"
    parcel_frame(3).to_file(path)
    result = CliRunner().invoke(app, ["load", "parcels", str(path), *cli_ws(ws)])
    assert result.exit_code == 0, result.output
    status = CliRunner().invoke(app, ["status", *cli_ws(ws)])
    assert "parcels" in status.output and "3" in status.output
    assert store_fingerprint(ws)["parcel"] == 3


@pytest.mark.parametrize("suffix,driver", [(".gdb", "OpenFileGDB"), (".parquet", None), (".geojson", "GeoJSON")])
def test_parcels_load_from_file_gdb_geoparquet_and_geojson(ws, profile, tmp_path, suffix, driver):
    gdf = parcel_frame(4).to_crs("EPSG:4490")
    path = tmp_path / f"parcels{suffix}"
    if driver is None:
        gdf.to_parquet(path)
    else:
        gdf.to_file(path, driver=driver, **({"layer": "宗地"} if driver == "OpenFileGDB" else {}))
    result = load_file(ws, profile, "parcels", path)
    assert result.loaded and result.rows_loaded == 4, result.report.frame()


def test_english_headers_are_recognised(ws, profile, tmp_path):
    df = firm_frame(2).rename(columns={"统一社会信用代码": "USCC", "企业名称": "firm_name", "行政区代码": "district",
                                       "评价年度": "year", "企业规模": "size_group", "实缴税金（万元）": "tax"})
    df["size_group"] = ["above", "below"]
    result = load_file(ws, profile, "firms", _xlsx(df, tmp_path / "firms.xlsx"))
    assert result.loaded, result.report.frame()
    with ws.engine.connect() as conn:
        assert sorted(conn.execute(text('SELECT "group" FROM firm_year')).scalars()) == ["规上", "规下"]


def test_firms_naming_parcels_not_in_the_store_load_with_a_warning(ws, profile, tmp_path):
    parcels = tmp_path / "parcels.gpkg"
    parcel_frame(2).to_file(parcels)
    load_file(ws, profile, "parcels", parcels)
    result = load_file(ws, profile, "firms", _xlsx(firm_frame(3), tmp_path / "firms.xlsx"))
    assert result.loaded and result.report.ok
    warned = result.report.frame().query("code == 'unknown_reference'")
    assert warned["row"].tolist() == [4]  # the third firm's parcel was never loaded


def test_a_geopackage_with_typed_dates_and_empty_numbers_loads_them_as_given(ws, profile, tmp_path):
    """GeoPackages are read through Arrow: real DATE fields and empty REAL cells come through as such."""
    frame = parcel_frame(4)
    frame["供地日期"] = pd.to_datetime(["2020-01-02", None, "2021-03-04", "2023-07-08"])
    frame["建筑面积"] = [1200.5, np.nan, 0.0, 80.0]
    path = tmp_path / "typed.gpkg"
    frame.to_file(path, layer="宗地")
    assert load_file(ws, profile, "parcels", path).rows_loaded == 4
    with ws.engine.connect() as conn:
        rows = conn.execute(text("SELECT supply_date, floor_area_m2 FROM parcel ORDER BY key")).all()
    assert [str(r[0])[:10] if r[0] else None for r in rows] == ["2020-01-02", None, "2021-03-04", "2023-07-08"]
    assert [r[1] for r in rows] == [1200.5, None, 0.0, 80.0]
