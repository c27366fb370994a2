"""landrenew.geo: CRS checks and conversion, 亩 areas, geometry repair, GCJ-02."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from landrenew.geo import (
    GCJ02,
    M2_PER_MU,
    area_m2,
    area_mu,
    check_crs,
    classify_coordinates,
    gcj02_to_wgs84,
    in_extent,
    m2_to_mu,
    mu_to_m2,
    normalize_crs_name,
    repair_geometries,
    to_polygonal,
    to_storage,
    wgs84_to_gcj02,
)

CRS = pyproj.CRS.from_epsg
# 100 m squares in 武进区 around 119.95E 31.70N
B4549 = (495_000.0, 3_508_000.0, 495_100.0, 3_508_100.0)
B4528 = (40_495_000.0, 3_508_000.0, 40_495_100.0, 3_508_100.0)
BGEO = (119.90, 31.70, 119.95, 31.75)
CHANGZHOU = (119.0, 31.0, 120.4, 32.2)


# --- GCJ-02 ------------------------------------------------------------------------------------

def test_gcj02_round_trip_over_changzhou_is_below_1e6_degrees():
    lon, lat = np.meshgrid(np.linspace(119.1, 120.3, 60), np.linspace(31.1, 32.1, 60))
    glon, glat = wgs84_to_gcj02(lon, lat)
    back_lon, back_lat = gcj02_to_wgs84(glon, glat)
    assert np.abs(back_lon - lon).max() < 1e-6
    assert np.abs(back_lat - lat).max() < 1e-6
    # the offset itself is a few hundred metres, not zero
    offset_m = np.hypot((glon - lon) * 95_000, (glat - lat) * 111_000)
    assert 200 < offset_m.min() and offset_m.max() < 1_000


# --- classify_coordinates ------------------------------------------------------------------------

@pytest.mark.parametrize(("bounds", "expected"), [
    (BGEO, "geographic"),
    (B4549, "EPSG:4549"),
    (B4528, "EPSG:4528"),
    ((39_495_000.0, 3_508_000.0, 39_496_000.0, 3_509_000.0), "EPSG:4527"),
    ((13_352_000.0, 3_720_000.0, 13_353_000.0, 3_721_000.0), None),  # web mercator: unknown
    ((1.0, 2.0, 3.0, 4.0), None),
    ((np.nan,) * 4, None),
])
def test_classify_coordinates_by_magnitude(bounds, expected):
    assert classify_coordinates(bounds) == expected


# --- check_crs -----------------------------------------------------------------------------------

def test_missing_crs_is_an_error_whose_fix_names_the_guess():
    check = check_crs(None, B4549)
    assert not check.ok and check.source is None
    assert check.problem_zh == "缺少坐标系（无 .prj）" and check.problem_en == "missing CRS (no .prj file)"
    assert "坐标像 EPSG:4549" in check.fix_zh and "--crs EPSG:4549" in check.fix_zh
    assert "--crs EPSG:4549" in check.fix_en


def test_missing_crs_with_lonlat_suggests_4490_or_gcj02():
    check = check_crs(None, BGEO)
    assert not check.ok and "--crs EPSG:4490" in check.fix_zh and "GCJ02" in check.fix_zh


def test_4549_declared_with_zone_prefixed_x_is_refused_with_4528_fix():
    check = check_crs(CRS(4549), B4528)
    assert not check.ok
    assert "带号" in check.problem_zh
    assert "--crs EPSG:4528" in check.fix_zh and "--crs EPSG:4528" in check.fix_en


def test_4528_declared_with_plain_x_is_refused_with_4549_fix():
    check = check_crs(CRS(4528), B4549)
    assert not check.ok and "--crs EPSG:4549" in check.fix_zh


def test_4528_declared_correctly_is_ok_with_a_note():
    check = check_crs(CRS(4528), B4528)
    assert check.ok and check.source == "EPSG:4528"
    assert "EPSG:4528" in check.note_zh and check.problem_zh == "" and check.fix_zh == ""


def test_4549_declared_correctly_is_ok_without_note():
    check = check_crs(CRS(4549), B4549)
    assert check.ok and check.source == "EPSG:4549" and check.note_zh == ""


def test_geographic_declared_but_projected_coordinates_is_refused():
    check = check_crs(CRS(4490), B4549)
    assert not check.ok and "投影坐标" in check.problem_zh
    assert "--crs EPSG:4549" in check.fix_zh


def test_geographic_declared_on_numbers_beyond_lonlat_range_does_not_claim_metres():
    check = check_crs(CRS(4490), (119.90, 31.70, 200.0, 95.0))  # no projection we know either
    assert not check.ok and "取值范围" in check.problem_zh and "not longitude/latitude" in check.problem_en
    assert "投影坐标" not in check.problem_zh and "metres" not in check.problem_en


def test_geographic_declared_with_swapped_axes_says_so():
    check = check_crs(CRS(4490), (31.70, 119.90, 31.75, 119.95))
    assert not check.ok and "颠倒" in check.problem_zh and "swapped" in check.problem_en


def test_projected_declared_but_lonlat_coordinates_is_refused():
    check = check_crs(CRS(4549), BGEO)
    assert not check.ok and "--crs EPSG:4490" in check.fix_zh


def test_wgs84_is_ok_and_treated_as_cgcs2000():
    check = check_crs(CRS(4326), BGEO)
    assert check.ok and check.source == "EPSG:4326"
    assert "CGCS2000" in check.note_zh and "centimetres" in check.note_en


@pytest.mark.parametrize("override", ["GCJ02", "gcj-02", "GCJ_02", " gcj02 "])
def test_gcj02_override_is_read_as_gcj02(override):
    check = check_crs(CRS(4326), BGEO, override)
    assert check.ok and check.source == GCJ02
    assert "GCJ-02" in check.note_zh and "--crs GCJ02" in check.note_zh  # says it replaced the .prj


def test_gcj02_override_on_projected_coordinates_is_refused():
    check = check_crs(None, B4549, "GCJ02")
    assert not check.ok and check.source == GCJ02 and "--crs EPSG:4549" in check.fix_zh


def test_override_wins_over_a_wrong_prj():
    check = check_crs(CRS(4549), B4528, "4528")
    assert check.ok and check.source == "EPSG:4528"


def test_override_is_still_checked_against_coordinates():
    check = check_crs(None, B4528, "EPSG:4549")
    assert not check.ok and check.source == "EPSG:4549" and "--crs EPSG:4528" in check.fix_zh


def test_unknown_override_is_refused():
    check = check_crs(None, B4549, "not-a-crs")
    assert not check.ok and "not-a-crs" in check.problem_zh


@pytest.mark.parametrize(("epsg", "bounds"), [
    (3857, (13_352_000.0, 3_720_000.0, 13_353_000.0, 3_721_000.0)),
    (32650, (770_000.0, 3_510_000.0, 771_000.0, 3_511_000.0)),
    (32651, (210_000.0, 3_510_000.0, 211_000.0, 3_511_000.0)),
])
def test_other_wgs84_projections_are_ok_with_a_note(epsg, bounds):
    check = check_crs(CRS(epsg), bounds)
    assert check.ok and check.source == f"EPSG:{epsg}" and f"EPSG:{epsg}" in check.note_zh


def test_xian80_is_ok_but_warns_about_the_missing_datum_shift():
    check = check_crs(CRS(2385), B4549)
    assert check.ok and "Xian 1980" in check.note_zh and "基准转换" in check.note_zh


def test_projected_crs_that_puts_data_outside_china_is_refused():
    check = check_crs(CRS(32650), (770_000.0, 9_010_000.0, 771_000.0, 9_011_000.0))  # ~81°N
    assert not check.ok and "China" in check.problem_en


def test_extent_catches_a_plausible_but_wrong_projection():
    # Gauss-Krüger numbers labelled UTM 50N land near 117°E: in China, not in Changzhou
    assert check_crs(CRS(32650), B4549).ok
    check = check_crs(CRS(32650), B4549, extent=CHANGZHOU)
    assert not check.ok and "119.0" in check.problem_zh


def test_empty_layer_cannot_be_checked_but_is_not_an_error():
    check = check_crs(CRS(4549), (np.nan,) * 4)
    assert check.ok and check.note_zh


def test_normalize_crs_name():
    assert normalize_crs_name("4528") == "EPSG:4528"
    assert normalize_crs_name("epsg:4549") == "EPSG:4549"
    assert normalize_crs_name(4490) == "EPSG:4490"
    assert normalize_crs_name("GCJ-02") == GCJ02
    with pytest.raises(ValueError):
        normalize_crs_name("nonsense")


# --- to_storage / area -------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "bounds"), [("EPSG:4549", B4549), ("EPSG:4528", B4528)])
def test_to_storage_of_a_gauss_kruger_square_gives_lonlat_and_keeps_its_area(source, bounds):
    square = shapely.box(*bounds)
    gdf = gpd.GeoDataFrame({"name": ["a"]}, geometry=[square])  # no CRS attached, as from a bare .shp
    out = to_storage(gdf, source)
    assert out.crs.to_epsg() == 4490 and list(out.columns) == ["name", "geometry"]
    transformer = pyproj.Transformer.from_crs(source, "EPSG:4490", always_xy=True)
    expected = shapely.transform(square, lambda c: np.column_stack(transformer.transform(c[:, 0], c[:, 1])))
    assert shapely.equals_exact(out.geometry.iloc[0], expected, tolerance=1e-9)
    lon, lat = out.geometry.iloc[0].centroid.coords[0]
    assert 119.9 < lon < 120.0 and 31.6 < lat < 31.8
    expected_mu = 100 * 100 / M2_PER_MU  # 15 亩
    assert area_mu(out)[0] == pytest.approx(expected_mu, rel=1e-3)


def test_4549_and_4528_squares_land_on_the_same_place():
    a = to_storage(gpd.GeoSeries([shapely.box(*B4549)]), "EPSG:4549")
    b = to_storage(gpd.GeoSeries([shapely.box(*B4528)]), "EPSG:4528")
    assert shapely.equals_exact(a.iloc[0], b.iloc[0], tolerance=1e-9)


def test_to_storage_gcj02_removes_the_offset():
    wgs = shapely.box(119.95, 31.70, 119.96, 31.71)
    gcj = shapely.transform(wgs, lambda c: np.column_stack(wgs84_to_gcj02(c[:, 0], c[:, 1])))
    gdf = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[gcj, None], crs="EPSG:4326", index=[10, 11])
    out = to_storage(gdf, "gcj-02")
    assert out.crs.to_epsg() == 4490 and list(out.index) == [10, 11] and out.geometry.iloc[1] is None
    assert shapely.equals_exact(out.geometry.iloc[0], wgs, tolerance=1e-7)
    assert gdf.geometry.iloc[0].equals(gcj)  # input untouched


def test_to_storage_relabels_wgs84_without_moving_it():
    gs = gpd.GeoSeries([shapely.box(*BGEO)], crs="EPSG:4326")
    out = to_storage(gs, "EPSG:4326")
    assert out.crs.to_epsg() == 4490 and out.iloc[0].equals(gs.iloc[0])


def test_area_requires_a_crs():
    with pytest.raises(ValueError, match="CRS"):
        area_m2(gpd.GeoSeries([shapely.box(0, 0, 1, 1)]))


def test_area_of_one_hectare_is_15_mu_in_every_crs():
    ha = gpd.GeoSeries([shapely.box(495_000, 3_508_000, 495_100, 3_508_100), None], crs="EPSG:4549")
    assert area_m2(ha)[0] == pytest.approx(10_000)
    assert np.isnan(area_m2(ha)[1])
    assert area_mu(ha.to_crs("EPSG:4490"))[0] == pytest.approx(15, rel=1e-6)
    assert area_mu(gpd.GeoDataFrame(geometry=ha.to_crs("EPSG:4528")))[0] == pytest.approx(15, rel=1e-9)


def test_mu_conversions():
    assert m2_to_mu(10_000) == pytest.approx(15) and mu_to_m2(1) == pytest.approx(666.6667, rel=1e-6)
    s = pd.Series([666.666666, 1333.333333], index=["a", "b"])
    assert list(m2_to_mu(s).round(3)) == [1.0, 2.0] and list(m2_to_mu(s).index) == ["a", "b"]
    assert np.allclose(mu_to_m2(np.array([1.5, 3])), [1000, 2000])


def test_in_extent_flags_rows_outside_and_empty_rows():
    gs = gpd.GeoSeries([shapely.box(*BGEO), shapely.box(116, 31, 116.1, 31.1), None,
                        shapely.Polygon()], crs="EPSG:4490")
    assert in_extent(gs, CHANGZHOU).tolist() == [True, False, False, False]
    assert in_extent(gs.to_crs("EPSG:4549"), CHANGZHOU).tolist() == [True, False, False, False]


# --- repair ------------------------------------------------------------------------------------

BOW_TIE = shapely.from_wkt("POLYGON((119.90 31.70, 119.91 31.71, 119.91 31.70, 119.90 31.71, 119.90 31.70))")


def test_bow_tie_is_repaired_into_a_valid_multipolygon_and_logged():
    gs = gpd.GeoSeries([shapely.box(*BGEO), BOW_TIE], index=["ok", "bow"], crs="EPSG:4490")
    fixed, log = repair_geometries(gs)
    assert fixed.loc["ok"].equals(gs.loc["ok"])
    bow = fixed.loc["bow"]
    assert bow.geom_type == "MultiPolygon" and bow.is_valid and len(bow.geoms) == 2
    assert list(log.columns) == ["index", "problem", "action_zh", "action_en", "area_change_m2", "fixed"]
    row = log.iloc[0]
    assert len(log) == 1 and row["index"] == "bow" and bool(row["fixed"])
    assert row["problem"].startswith("Self-intersection[")
    assert row["action_zh"] == "自相交已修复" and row["action_en"] == "self-intersection repaired"
    assert row["area_change_m2"] > 0  # GEOS gives the bow-tie area 0 before repair


def test_empty_and_missing_geometries_are_reported_unfixed():
    gs = gpd.GeoSeries([shapely.Polygon(), None, shapely.box(0, 0, 1, 1)], index=[5, 6, 7])
    fixed, log = repair_geometries(gs)
    assert log["index"].tolist() == [5, 6] and not log["fixed"].any()
    assert set(log["action_zh"]) == {"空几何，无法修复"}
    assert set(log["action_en"]) == {"empty geometry, cannot be repaired"}
    assert log["area_change_m2"].isna().all()  # no CRS
    assert fixed.iloc[1] is None


@pytest.mark.parametrize(("wkt", "fixed", "action"), [
    ("GEOMETRYCOLLECTION(POINT(0 0), POLYGON((0 0, 1 0, 1 1, 0 0)))", True, "已保留面部分（去除点/线）"),
    ("LINESTRING(0 0, 1 1)", False, "非面几何，无法修复"),
    ("POLYGON((0 0, 1 0, 2 0, 0 0))", False, "退化为线或点（无面积），无法修复"),
    ("POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (1 1, 2 1, 2 2, 1 2, 1 1), (1 1, 2 1, 2 2, 1 2, 1 1))",
     True, None),
])
def test_other_problem_geometries(wkt, fixed, action):
    gs = gpd.GeoSeries([shapely.from_wkt(wkt)])
    out, log = repair_geometries(gs)
    assert len(log) == 1 and bool(log["fixed"].iloc[0]) is fixed
    if action:
        assert log["action_zh"].iloc[0] == action
    if fixed:
        assert out.iloc[0].is_valid and out.iloc[0].geom_type == "MultiPolygon"
    else:
        assert out.iloc[0].equals(gs.iloc[0])  # unfixable rows come back unchanged


def test_nan_coordinates_are_not_guessed_at():
    with np.errstate(invalid="ignore"):
        bad = shapely.Polygon([(0, 0), (1, np.nan), (1, 1), (0, 1)])
    _, log = repair_geometries(gpd.GeoSeries([bad]))
    assert not log["fixed"].iloc[0] and "NaN" in log["action_en"].iloc[0]


def test_valid_layer_gives_an_empty_log():
    gs = gpd.GeoSeries([shapely.box(0, 0, 1, 1)] * 3)
    out, log = repair_geometries(gs)
    assert log.empty and list(log.columns)[0] == "index" and out.equals(gs)


def test_to_polygonal_flattens_collections_and_drops_slivers():
    arr = np.array([
        shapely.from_wkt("GEOMETRYCOLLECTION(MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0))), LINESTRING(0 0, 5 5),"
                         " POLYGON((0 0, 1 0, 2 0, 0 0)))"),
        shapely.Point(0, 0),
        None,
    ], dtype=object)
    out = to_polygonal(arr)
    assert out[0].geom_type == "MultiPolygon" and len(out[0].geoms) == 1
    assert out[1].is_empty and out[1].geom_type == "MultiPolygon"
    assert out[2] is None
