"""The report figures: real PNGs, the map's colours where the parcels are, a round scale bar, Chinese
text in the CJK face (no missing glyphs), empty and large layers, several threads at once."""

from __future__ import annotations

import io
import math
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from matplotlib.figure import Figure
from PIL import Image

from landrenew.reports import figures
from landrenew.reports.figures import bar_chart, line_chart, nice_length, parcel_map
from landrenew.reports.fonts import cjk_fonts

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# two districts side by side in 常州 (EPSG:4549, CGCS2000 GK CM 120E, false easting 500 km)
X0, Y0 = 480_000.0, 3_500_000.0
CATEGORIES = [("danger", "危险隐患", figures.TAG_COLOURS[0]),
              ("lowuse", "低效用地", figures.TAG_COLOURS[4]),
              ("scatter", "散布零星", figures.TAG_COLOURS[3]),
              ("none", "未标记", figures.UNFLAGGED_COLOUR)]


def decode(png: bytes) -> np.ndarray:
    assert png.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGB")).astype(int)


def count(img: np.ndarray, colour: str, tol: int = 8) -> int:
    """Pixels within ``tol`` of ``colour`` on every channel."""
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(img - rgb).max(axis=2) <= tol).sum())


def columns_of(img: np.ndarray, colour: str, tol: int = 8) -> np.ndarray:
    return np.nonzero(np.abs(img - np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)]))
                      .max(axis=2) <= tol)[1]


def cjk_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


@pytest.fixture
def districts() -> gpd.GeoDataFrame:
    west = shapely.box(X0, Y0, X0 + 20_000, Y0 + 30_000)
    east = shapely.MultiPolygon([shapely.box(X0 + 20_000, Y0, X0 + 40_000, Y0 + 30_000),
                                 shapely.box(X0 + 41_000, Y0, X0 + 42_000, Y0 + 1_000)])
    return gpd.GeoDataFrame({"district_code": ["320412", "320411"], "name": ["武进区", "新北区"]},
                            geometry=[west, east], crs="EPSG:4549")


def squares(xs: np.ndarray, ys: np.ndarray, size: float | np.ndarray, cats: list[str],
            crs: str = "EPSG:4490") -> gpd.GeoDataFrame:
    """Squares given in EPSG:4549, handed over in ``crs`` (lon/lat by default)."""
    geoms = shapely.box(xs, ys, xs + size, ys + size)
    return gpd.GeoDataFrame({"category": cats}, geometry=geoms, crs="EPSG:4549").to_crs(crs)


def test_nice_length_rule() -> None:
    assert nice_length(37_000) == 5_000
    assert nice_length(100_000) == 20_000
    assert nice_length(50_000) == 10_000
    assert nice_length(1_000) == 200
    assert nice_length(7) == 1
    for span in np.geomspace(3, 3e6, 400):
        length = nice_length(span)
        k = math.floor(math.log10(length) + 1e-9)
        assert round(length / 10**k, 6) in (1, 2, 5)
        assert length <= span / 5 * (1 + 1e-9)
        assert length > span / 5 / 2.5  # the next round length would be longer than a fifth
    for bad in (0, -5, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            nice_length(bad)


def test_map_colours_land_where_the_parcels_are(districts: gpd.GeoDataFrame) -> None:
    # big 危险 parcels in the west district, 低效 in the east, none 散布 at all (lon/lat input)
    xs = np.array([X0 + 3_000, X0 + 9_000, X0 + 23_000, X0 + 30_000])
    ys = np.array([Y0 + 5_000, Y0 + 15_000, Y0 + 5_000, Y0 + 15_000])
    parcels = squares(xs, ys, 3_000, ["danger", "danger", "lowuse", "lowuse"])
    img = decode(parcel_map(parcels, districts, CATEGORIES, title="地块分布", legend_title="标签",
                            width_in=6, dpi=100))
    height, width, _ = img.shape
    assert 500 <= width <= 680 and height > 300

    red, blue, orange = CATEGORIES[0][2], CATEGORIES[1][2], CATEGORIES[2][2]
    # a 3 km square on a ~44 km wide map of ~600 px is ~40 × 40 px; a legend swatch is far smaller
    assert count(img, red) > 2_000 and count(img, blue) > 2_000
    assert 0 < count(img, orange) < 400  # only the legend swatch: no such parcels
    # projected to metres: the west parcels fall in the left half, the east ones in the right
    assert np.median(columns_of(img, red)) < width / 2 < np.median(columns_of(img, blue))
    for fill in figures.DISTRICT_FILLS[:2]:
        assert count(img, fill, tol=3) > 20_000


def test_map_without_parcels_still_draws_districts_legend_and_scale(districts: gpd.GeoDataFrame) -> None:
    empty = gpd.GeoDataFrame({"category": []}, geometry=gpd.GeoSeries([], crs="EPSG:4490"))
    img = decode(parcel_map(empty, districts, CATEGORIES, title="无地块", legend_title="标签",
                            dpi=80))
    assert count(img, figures.DISTRICT_FILLS[0], tol=3) > 20_000
    for _, _, colour in CATEGORIES:
        assert count(img, colour, tol=3) > 20  # legend swatches
    assert count(img, "#000000", tol=10) > 100  # scale bar and north arrow


def test_map_without_districts_uses_the_parcels_extent() -> None:
    # top left and right middle: clear of the legend (bottom left) and the north arrow (top right)
    parcels = squares(np.array([X0, X0 + 9_000]), np.array([Y0 + 9_000, Y0 + 4_000]), 1_000,
                      ["danger", "lowuse"], crs="EPSG:4549")
    none = gpd.GeoDataFrame({"district_code": [], "name": []}, geometry=[], crs="EPSG:4549")
    img = decode(parcel_map(parcels, none, CATEGORIES, title="t", legend_title="l", dpi=80))
    # a 1 km square on a ~11 km map: about a tenth of the width each way
    # the height follows the extent: 10.8 × 6.8 km with the margin, plus the title
    assert 0.6 < img.shape[0] / img.shape[1] < 0.75
    assert count(img, CATEGORIES[0][2]) > 1_500 and count(img, CATEGORIES[1][2]) > 1_500


def test_map_of_many_small_parcels(districts: gpd.GeoDataFrame) -> None:
    rng = np.random.default_rng(7)
    n = 20_000
    # 10–40 m squares on a ~60 m/pixel map: a fill alone would be a faint fraction of a pixel
    parcels = squares(rng.uniform(X0, X0 + 40_000, n), rng.uniform(Y0, Y0 + 30_000, n),
                      rng.uniform(10, 40, n), list(rng.choice([c[0] for c in CATEGORIES], n)))
    drawn = decode(parcel_map(parcels, districts, CATEGORIES, title="两万地块", legend_title="标签",
                              dpi=100))
    bare = decode(parcel_map(parcels.iloc[:0], districts, CATEGORIES, title="两万地块",
                             legend_title="标签", dpi=100))
    assert drawn.shape == bare.shape
    # the edge line of the fill colour keeps each one visible: thousands of pixels change clearly
    assert (np.abs(drawn - bare).max(axis=2) > 30).sum() > 15_000
    for _, _, colour in CATEGORIES[:3]:
        assert count(drawn, colour, tol=80) > 1_000


def test_figures_set_chinese_in_the_cjk_face(districts: gpd.GeoDataFrame) -> None:
    # the check itself: matplotlib's default font has no Chinese and says so
    plain = Figure()
    plain.add_subplot().set_title("危污乱散低")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plain.savefig(io.BytesIO(), format="png")
    assert cjk_warnings(caught)

    font = figures._font()
    assert font.get_file() == str(cjk_fonts().sans.path)
    assert font.get_file().face_index == cjk_fonts().sans.index

    table = pd.DataFrame({"危": [1, 2], "污": [3, 4]}, index=["天宁区", "钟楼区"])
    series = pd.DataFrame({"完成率": [0.2, 0.7]}, index=[date(2026, 1, 1), date(2026, 2, 1)])
    parcels = squares(np.array([X0 + 1_000]), np.array([Y0 + 1_000]), 500, ["danger"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parcel_map(parcels, districts, CATEGORIES, title="危污乱散低", legend_title="标签",
                   scale_label="公里", north_label="北", dpi=60)
        bar_chart(table, title="危污乱散低", ylabel="地块数（宗）", dpi=60)
        bar_chart(table, title="危污乱散低", ylabel="面积（亩）", stacked=False, horizontal=True, dpi=60)
        line_chart(series, title="危污乱散低", ylabel="完成率", percent=True, reference=1.0,
                   reference_label="目标", dpi=60)
    assert not cjk_warnings(caught)


def test_bar_chart_colours_by_name_and_in_order() -> None:
    table = pd.DataFrame({"A": [30, 50, 20], "B": [10, 0, 40], "未评价": [5, 5, 5]},
                         index=["天宁区", "钟楼区", "新北区"])
    by_name = {**figures.CLASS_COLOURS, "未评价": figures.OTHER_COLOUR}
    img = decode(bar_chart(table, title="亩均评价", ylabel="企业数", colours=by_name, dpi=100))
    assert img.shape[1] > 600
    for colour in (by_name["A"], by_name["B"], by_name["未评价"]):
        assert count(img, colour, tol=3) > 500
    assert count(img, figures.CLASS_COLOURS["D"], tol=3) == 0

    img = decode(bar_chart(table, title="各区", ylabel="宗", colours=["#123456", "#abcdef", "#fedcba"],
                           stacked=False, horizontal=True, dpi=100))
    assert count(img, "#123456", tol=3) > 500 and count(img, "#fedcba", tol=3) > 50
    one = decode(bar_chart(table[["A"]], title="单", ylabel="宗", dpi=100))
    assert count(one, figures.DEFAULT_COLOURS[0], tol=3) > 500


def test_line_chart_dates_labels_percent_and_reference() -> None:
    days = pd.date_range("2026-03-02", periods=6, freq="7D")
    table = pd.DataFrame({"天宁区": np.linspace(0.1, 0.9, 6), "武进区": np.linspace(0, 1.2, 6)},
                         index=days)
    img = decode(line_chart(table, title="完成率", ylabel="完成率", colours=["#d62728", "#1f77b4"],
                            percent=True, reference=1.0, reference_label="目标 100%", dpi=100))
    assert count(img, "#d62728", tol=20) > 200 and count(img, "#1f77b4", tol=20) > 200
    assert count(img, "#555555", tol=10) > 50  # the dashed reference line

    labels = pd.DataFrame({"宗": [3, 5, 2]}, index=["一季度", "二季度", "三季度"])
    img = decode(line_chart(labels, title="季度", ylabel="宗", dpi=100))
    assert count(img, figures.DEFAULT_COLOURS[0], tol=20) > 200
    assert figures._number(1234567) == "1,234,567" and figures._number(-1234.5) == "-1,234.5"
    assert figures._number(0.125) == "0.12" or figures._number(0.125) == "0.13"


def test_figures_draw_in_several_threads(districts: gpd.GeoDataFrame) -> None:
    parcels = squares(np.array([X0 + 3_000]), np.array([Y0 + 3_000]), 3_000, ["lowuse"])
    table = pd.DataFrame({"危": [1, 2]}, index=["天宁区", "钟楼区"])

    def draw(i: int) -> bytes:
        if i % 2:
            return bar_chart(table, title=f"图{i}", ylabel="宗", dpi=60)
        return parcel_map(parcels, districts, CATEGORIES, title=f"图{i}", legend_title="标签", dpi=60)

    with ThreadPoolExecutor(4) as pool:
        pngs = list(pool.map(draw, range(8)))
    for i, png in enumerate(pngs):
        img = decode(png)
        if i % 2 == 0:
            assert count(img, CATEGORIES[1][2]) > 500
