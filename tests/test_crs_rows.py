"""One feature with impossible coordinates among good ones is an error of its row, not of the layer.

A latitude of 95 in EPSG:4490, X = 1e12 in EPSG:4549 or a NaN vertex used to blow up the layer's total
bounds, so the whole layer was refused with a wrong explanation ("projected metres") and no row named.
Now such features are reported by row (column ``geometry``, the coordinates as value), the layer's CRS
is judged by the other features, and a layer wholly in another CRS still gets the layer-level message.

The store does not matter here, so one SQLite workspace serves the whole module.
"""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

from conftest import parcel_frame, store_fingerprint
from landrenew.geo.crs import screen_coordinates
from landrenew.loading import load_file
from landrenew.store import Workspace

GOOD = 50
BAD_ROW = GOOD + 1  # rows are numbered as the user sees them: the 51st feature
SHP_FIELDS = {"宗地代码": "ZDDM", "地类编码": "DLBM", "行政区代码": "XZQDM", "权利人": "QLR", "供地日期": "GDRQ",
              "建筑面积": "JZMJ", "宗地面积": "ZDMJ"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("crs_rows") / "ws"
    ws = Workspace.open(folder, f"sqlite:///{folder / 'landrenew.sqlite'}")
    yield ws
    ws.engine.dispose()


def _layer(crs: str, bad: shapely.Geometry | None = None) -> gpd.GeoDataFrame:
    """50 good parcels in 武进区 in ``crs`` (EPSG:4490 degrees or EPSG:4549 metres), then ``bad``."""
    frame = parcel_frame(GOOD + 1).to_crs(crs)
    if bad is not None:
        frame.loc[GOOD, "geometry"] = bad
    return frame


def _nan_vertex(frame: gpd.GeoDataFrame) -> shapely.Geometry:
    x0, y0, x1, y1 = frame.geometry.iloc[0].bounds
    with np.errstate(invalid="ignore"):
        return shapely.Polygon([(x0, y0), (np.nan, y0), (x1, y1)])


def _write(frame: gpd.GeoDataFrame, path: Path) -> Path:
    if path.suffix == ".shp":
        frame.rename(columns=SHP_FIELDS).to_file(path, encoding="utf-8")
    else:
        frame.to_file(path, driver="GPKG")
    return path


def _errors(result):
    return result.report.frame().query("severity == 'error'")


def _assert_row_refused(store, profile, path: Path, value: str) -> None:
    """Row 51 alone is refused, for its coordinates; the 50 others load with --skip-invalid."""
    before = store_fingerprint(store)
    result = load_file(store, profile, "parcels", path)
    errors = _errors(result)
    assert not result.loaded and store_fingerprint(store) == before
    assert set(errors["code"]) == {"bad_coordinates"}, errors
    issue = errors.iloc[0]
    assert len(errors) == 1 and issue["row"] == BAD_ROW and issue["column"] == "geometry"
    assert value in issue["value"], issue["value"]
    for col in ("problem_zh", "problem_en", "fix_zh", "fix_en"):
        assert issue[col].strip()
    assert "投影坐标" not in issue["problem_zh"] and "projected (metres)" not in issue["problem_en"]
    assert result.report.rejected == {BAD_ROW}
    result = load_file(store, profile, "parcels", path, skip_invalid=True)
    assert result.loaded and result.rows_loaded == GOOD


# --- one impossible feature among good ones --------------------------------------------------

@pytest.mark.parametrize("suffix", [".gpkg", ".shp"])
def test_latitude_95_in_4490_is_an_error_of_its_row(store, profile, tmp_path, suffix):
    bad = shapely.box(119.95, 95.0, 119.951, 95.001)
    _assert_row_refused(store, profile, _write(_layer("EPSG:4490", bad), tmp_path / f"lat95{suffix}"), "Y 95…95.001")
    issue = _errors(load_file(store, profile, "parcels", tmp_path / f"lat95{suffix}")).iloc[0]
    assert "纬度" in issue["problem_zh"] and "EPSG:4490" in issue["problem_en"] and "latitude" in issue["problem_en"]


def test_latitude_1e9_in_4490_is_an_error_of_its_row(store, profile, tmp_path):
    bad = shapely.box(119.95, 1e9, 119.951, 1e9 + 1)
    _assert_row_refused(store, profile, _write(_layer("EPSG:4490", bad), tmp_path / "lat1e9.gpkg"), "1e+09")


def test_swapped_feature_in_4490_is_an_error_of_its_row_with_the_hint(store, profile, tmp_path):
    bad = shapely.box(31.70, 119.95, 31.701, 119.951)
    path = _write(_layer("EPSG:4490", bad), tmp_path / "swapped.gpkg")
    _assert_row_refused(store, profile, path, "X 31.7…31.701")
    assert "颠倒" in _errors(load_file(store, profile, "parcels", path)).iloc[0]["fix_zh"]


@pytest.mark.parametrize("suffix", [".gpkg", ".shp"])
def test_x_1e12_in_4549_is_an_error_of_its_row(store, profile, tmp_path, suffix):
    bad = shapely.box(1e12, 3_508_000, 1e12 + 80, 3_508_080)
    path = _write(_layer("EPSG:4549", bad), tmp_path / f"x1e12{suffix}")
    _assert_row_refused(store, profile, path, "X 1e+12, Y 3508000…3508080")
    issue = _errors(load_file(store, profile, "parcels", path)).iloc[0]
    assert "EPSG:4549" in issue["problem_zh"] and "area of use" in issue["problem_en"]


def test_a_parcel_ten_thousand_km_off_in_4549_is_an_error_of_its_row(store, profile, tmp_path):
    bad = shapely.box(10_495_000, 3_508_000, 10_495_080, 3_508_080)  # one digit too many
    _assert_row_refused(store, profile, _write(_layer("EPSG:4549", bad), tmp_path / "digit.gpkg"), "10495000")


@pytest.mark.parametrize("crs", ["EPSG:4549", "EPSG:4490"])
def test_a_nan_vertex_is_an_error_of_its_row(store, profile, tmp_path, crs):
    frame = _layer(crs)
    frame.loc[GOOD, "geometry"] = _nan_vertex(frame)
    path = _write(frame, tmp_path / "nan.gpkg")
    _assert_row_refused(store, profile, path, "(nan, ")
    assert "NaN" in _errors(load_file(store, profile, "parcels", path)).iloc[0]["problem_en"]


def test_an_infinite_vertex_no_longer_hides_a_wrong_crs(store, profile, tmp_path):
    """An infinite coordinate made the total bounds infinite and the layer's CRS went unchecked."""
    frame = _layer("EPSG:4549").set_crs("EPSG:4490", allow_override=True)  # metres labelled degrees
    x0, y0, x1, y1 = frame.geometry.iloc[0].bounds
    frame.loc[GOOD, "geometry"] = shapely.Polygon([(x0, y0), (np.inf, y0), (x1, y1)])
    result = load_file(store, profile, "parcels", _write(frame, tmp_path / "inf.gpkg"))
    errors = _errors(result)
    assert not result.loaded and {"bad_crs", "bad_coordinates"} <= set(errors["code"])
    layer = errors.query("code == 'bad_crs'").iloc[0]
    assert "投影坐标" in layer["problem_zh"] and "--crs EPSG:4549" in layer["fix_zh"]
    assert errors.query("code == 'bad_coordinates'")["row"].tolist() == [BAD_ROW]


def test_a_possible_but_far_feature_no_longer_decides_the_layer(store, profile, tmp_path):
    """Longitude 60 is a place (in Iran), not an impossible number: the row is outside the city."""
    path = _write(_layer("EPSG:4490", shapely.box(60.0, 31.7, 60.001, 31.701)), tmp_path / "far.gpkg")
    result = load_file(store, profile, "parcels", path)
    errors = _errors(result)
    assert set(errors["code"]) == {"outside_extent"} and errors["row"].tolist() == [BAD_ROW]
    assert load_file(store, profile, "parcels", path, skip_invalid=True).rows_loaded == GOOD


# --- a layer wholly in another CRS is still explained as a layer -----------------------------

def test_a_projected_layer_labelled_4490_keeps_its_layer_message_and_guess_despite_a_stray_feature(
        store, profile, tmp_path):
    frame = _layer("EPSG:4549", shapely.box(1e12, 3_508_000, 1e12 + 80, 3_508_080))
    path = _write(frame.set_crs("EPSG:4490", allow_override=True), tmp_path / "metres.gpkg")
    errors = _errors(load_file(store, profile, "parcels", path))
    layer = errors.query("code == 'bad_crs'")
    assert len(layer) == 1 and layer["row"].isna().all()
    assert "投影坐标" in layer["problem_zh"].iloc[0] and "--crs EPSG:4549" in layer["fix_zh"].iloc[0]


def test_a_layer_without_prj_guesses_from_the_bulk_and_names_the_stray_row(store, profile, tmp_path):
    path = _write(_layer("EPSG:4549", shapely.box(1e12, 3_508_000, 1e12 + 80, 3_508_080)), tmp_path / "noprj.shp")
    path.with_suffix(".prj").unlink()
    errors = _errors(load_file(store, profile, "parcels", path))
    layer = errors.query("code == 'no_crs'").iloc[0]
    assert "--crs EPSG:4549" in layer["fix_zh"] and "--crs EPSG:4549" in layer["fix_en"]
    stray = errors.query("code == 'bad_coordinates'")
    assert stray["row"].tolist() == [BAD_ROW] and "guessed" in stray["problem_en"].iloc[0]


@pytest.mark.parametrize(("crs", "frame_crs", "word"), [
    ("EPSG:4490", "EPSG:4549", "投影坐标"),  # metres labelled degrees
    ("EPSG:4549", "EPSG:4528", "带带号"),  # zone-prefixed labelled unprefixed
])
def test_a_whole_layer_in_another_crs_gets_no_row_errors(store, profile, tmp_path, crs, frame_crs, word):
    path = _write(_layer(frame_crs).set_crs(crs, allow_override=True), tmp_path / "wrong.gpkg")
    errors = _errors(load_file(store, profile, "parcels", path))
    assert set(errors["code"]) == {"bad_crs"} and word in errors["problem_zh"].iloc[0]


# --- screen_coordinates ----------------------------------------------------------------------

def _boxes(n: int, x0: float, y0: float, size: float, step: float) -> np.ndarray:
    i = np.arange(n)
    x, y = x0 + i % 1000 * step, y0 + i // 1000 * step
    return shapely.box(x, y, x + size, y + size)


def test_screen_on_a_million_features_is_fast_and_finds_the_one():
    geoms = _boxes(1_000_000, 400_000.0, 3_450_000.0, 80.0, 85.0)
    geoms[123_456] = shapely.box(1e12, 3_508_000, 1e12 + 80, 3_508_080)
    screen_coordinates(geoms[:10], pyproj.CRS.from_epsg(4549))  # pyproj's first use is not the check
    start = time.perf_counter()
    screen = screen_coordinates(geoms, pyproj.CRS.from_epsg(4549))
    took = time.perf_counter() - start
    print(f"screen_coordinates, 1M boxes: {took:.2f} s")
    assert np.flatnonzero(screen.impossible).tolist() == [123_456] and not screen.nonfinite.any()
    assert screen.bounds == pytest.approx((400_000, 3_450_000, 400_000 + 999 * 85 + 80, 3_450_000 + 999 * 85 + 80))
    assert took < 3.0


def test_screen_flags_nothing_in_a_layer_that_is_wholly_elsewhere():
    geoms = _boxes(20, 495_000.0, 3_508_000.0, 80.0, 85.0)
    screen = screen_coordinates(geoms, pyproj.CRS.from_epsg(4490))
    assert not screen.impossible.any() and screen.bounds[0] == 495_000.0


def test_screen_leaves_possible_outliers_to_the_extent_check_but_out_of_the_bounds():
    geoms = np.append(_boxes(20, 119.90, 31.70, 0.0008, 0.001), shapely.box(60.0, 31.7, 60.001, 31.701))
    screen = screen_coordinates(geoms, pyproj.CRS.from_epsg(4490))
    assert not screen.impossible.any() and screen.bounds[0] == pytest.approx(119.90)


def test_screen_of_missing_and_empty_geometries_flags_nothing():
    screen = screen_coordinates(np.array([None, shapely.Polygon()], dtype=object), None)
    assert not screen.impossible.any() and not screen.nonfinite.any() and np.isnan(screen.bounds).all()


def test_screen_takes_the_users_crs_first_and_reads_gcj02_as_lonlat():
    geoms = np.append(_boxes(20, 119.90, 31.70, 0.0008, 0.001), shapely.box(119.9, 95.0, 119.901, 95.001))
    screen = screen_coordinates(geoms, pyproj.CRS.from_epsg(4549), "gcj-02")
    assert screen.crs == "GCJ02" and screen.limit == "range" and np.flatnonzero(screen.impossible).tolist() == [20]
    screen = screen_coordinates(geoms, None)
    assert screen.guessed and screen.crs.startswith("EPSG:4490") and screen.impossible.tolist()[-1]
