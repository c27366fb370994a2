"""landrenew.analysis.overlay: shares inside the control layers, space, park, construction patches.

Hand-built scenarios are drawn in EPSG:4549 metres (the area CRS, so no projection and the
answers are exact), as offsets from ORIGIN; each test's docstring says what it checks. Then
property tests (hypothesis) and two independent cross-checks on the demo city: DuckDB spatial
SQL for the intersection areas and a brute-force ``dwithin`` graph for the patches.
"""

from __future__ import annotations

import pathlib

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from landrenew.analysis import overlay as ov
from landrenew.analysis.overlay import (
    assign_space,
    connected_components,
    construction_flags,
    dissolve,
    inside_areas,
    overlay,
    split_large,
    within_components,
)
from landrenew.geo.area import M2_PER_MU
from landrenew.policy import load_profile, parse_profile
from landrenew.policy.loader import resolve_profile

ORIGIN = (495_000.0, 3_508_000.0)  # 武进区, EPSG:4549
CRS = "EPSG:4549"
KINDS = ["eco_redline", "basic_farmland", "urban_boundary", "industrial_line", "industrial_park"]


def box(x: float, y: float, w: float, h: float) -> shapely.Polygon:
    """A w × h rectangle at (x, y) metres from ORIGIN."""
    return shapely.box(ORIGIN[0] + x, ORIGIN[1] + y, ORIGIN[0] + x + w, ORIGIN[1] + y + h)


def parcels_frame(geoms: list, dlbm: list | None = None, ydyh: list | None = None,
                  crs: str = CRS) -> gpd.GeoDataFrame:
    n = len(geoms)
    g = gpd.GeoSeries(geoms, crs=crs)
    return gpd.GeoDataFrame({
        "key": [f"P{i}" for i in range(n)],
        "parcel_code": [f"P{i}" for i in range(n)],
        "dlbm": dlbm if dlbm is not None else ["0601"] * n,
        "ydyh_code": ydyh if ydyh is not None else [None] * n,
        "district_code": ["320412"] * n,
        "area_m2": g.to_crs(CRS).area.to_numpy(),
    }, geometry=g, crs=crs)


def layers_frame(items: list[tuple[str, shapely.Geometry, str]], crs: str = CRS) -> gpd.GeoDataFrame:
    """Layer features from (layer_kind, geometry, name)."""
    return gpd.GeoDataFrame({
        "layer_kind": [k for k, _, _ in items],
        "feature_id": [f"F{i}" for i in range(len(items))],
        "name": [nm for _, _, nm in items],
    }, geometry=[g for _, g, _ in items], crs=crs)


@pytest.fixture(scope="module")
def profile():
    return load_profile()


def calls_of(monkeypatch, name: str, arg: int) -> list[shapely.Geometry]:
    """Record the geometries passed as argument ``arg`` to ``shapely.<name>`` from now on."""
    seen: list[shapely.Geometry] = []
    real = getattr(shapely, name)

    def counting(*args, **kwargs):
        seen.extend(np.atleast_1d(args[arg]))
        return real(*args, **kwargs)

    monkeypatch.setattr(shapely, name, counting)
    return seen


def run(parcels, layers, profile, gap_m: float = 100.0, share: float = 0.5, **kw) -> pd.DataFrame:
    return overlay(parcels, layers, profile, gap_m=gap_m, space_min_share=share, **kw)


# --------------------------------------------------------------------------- shares


def test_columns_index_and_area_mu(profile):
    """Output has the same index as the parcels, one share column per layer kind of the profile,
    and area_mu = area_m2 × 15 / 10000."""
    parcels = parcels_frame([box(0, 0, 30, 50), box(100, 0, 60, 60)])
    parcels.index = pd.Index([10, 20])
    out = run(parcels, layers_frame([]), profile)
    assert list(out.index) == [10, 20]
    assert list(out.columns) == ["area_mu", *[f"share_{k}" for k in KINDS], "park_name", "plan_zone", "planned_code", "space",
                                 "is_construction", "patch_id", "patch_area_mu", "patch_size", "fit_paddy"]
    assert out["area_mu"].tolist() == pytest.approx([1500 / M2_PER_MU, 3600 / M2_PER_MU])
    assert out["area_mu"].tolist() == pytest.approx([1500 * 15 / 10000, 3600 * 15 / 10000])


def test_half_inside_full_inside_and_outside(profile):
    """A: 100 × 100 parcel, its west half in the red line → share_eco_redline 0.5 exactly.
    B: 50 × 50 parcel well inside basic farmland → share 1, other shares 0.
    C: far from every layer → all shares 0, no park, space agricultural (residual)."""
    parcels = parcels_frame([box(50, 0, 100, 100), box(350, 50, 50, 50), box(5000, 5000, 40, 40)])
    layers = layers_frame([("eco_redline", box(0, 0, 100, 100), "湿地"),
                           ("basic_farmland", box(300, 0, 200, 200), "基本农田")])
    out = run(parcels, layers, profile)
    assert out["share_eco_redline"].tolist() == [0.5, 0.0, 0.0]
    assert out["share_basic_farmland"].tolist() == [0.0, 1.0, 0.0]
    for k in ("urban_boundary", "industrial_line", "industrial_park"):
        assert (out[f"share_{k}"] == 0).all()
    assert out["space"].tolist() == ["ecological", "agricultural", "agricultural"]
    assert out["park_name"].isna().all()


def test_no_intersection_is_computed_for_a_parcel_inside_a_layer(profile, monkeypatch):
    """Only pairs whose parcel crosses a layer boundary get shapely.intersection. A crosses the
    red line; B lies in basic farmland sharing two of its edges; C lies strictly inside it; D is
    inside the farmland's box (near its slanted edge) but outside it. Intersection is called for
    A's single pair only; B and C count their whole area, D nothing."""
    a, b, c, d = box(50, 0, 100, 100), box(300, 0, 50, 50), box(320, 60, 20, 20), box(460, 150, 20, 20)
    parcels = parcels_frame([a, b, c, d])
    triangle = shapely.Polygon([(ORIGIN[0] + 300, ORIGIN[1]), (ORIGIN[0] + 500, ORIGIN[1]),
                                (ORIGIN[0] + 300, ORIGIN[1] + 200)])
    layers = layers_frame([("eco_redline", box(0, 0, 100, 100), "湿地"),
                           ("basic_farmland", triangle, "基本农田")])
    real = shapely.intersection
    seen = calls_of(monkeypatch, "intersection", 0)
    out = run(parcels, layers, profile)
    assert len(seen) == 1 and seen[0].equals(a)
    assert out["share_eco_redline"].tolist() == [0.5, 0.0, 0.0, 0.0]
    assert out["share_basic_farmland"].tolist() == [0.0, 1.0, 1.0, 0.0]
    # the pair arrays say the same
    monkeypatch.setattr(shapely, "intersection", real)
    geoms = np.asarray(parcels.geometry.array)
    parts, _ = dissolve([np.array([triangle])])
    pairs = inside_areas(shapely.STRtree(geoms), geoms, shapely.area(geoms), parts)
    assert pairs.parcel.tolist() == [1, 2] and not pairs.crossing.any()
    assert pairs.area.tolist() == [2500.0, 400.0]


def test_single_part_multipolygons_take_the_one_vertex_path(profile, monkeypatch):
    """Parcels stored as one-part MultiPolygons (as Shapefiles and GeoPackages usually hold
    them) are connected like polygons: a parcel far from a layer's boundary is decided by one
    vertex, with no ``covers`` test, and the shares are those of the plain polygons."""
    inside, crossing = box(320, 60, 20, 20), box(50, 0, 100, 100)
    layers = layers_frame([("eco_redline", box(0, 0, 100, 100), "湿地"),
                           ("basic_farmland", box(300, 0, 200, 200), "基本农田")])
    plain = run(parcels_frame([inside, crossing]), layers, profile)
    seen = calls_of(monkeypatch, "covers", 1)
    multi = run(parcels_frame([shapely.MultiPolygon([inside]), shapely.MultiPolygon([crossing])]), layers,
                profile)
    assert seen and not any(g.equals(shapely.MultiPolygon([inside])) for g in seen)
    pd.testing.assert_frame_equal(multi, plain)


def test_multipart_parcel(profile):
    """A two-part parcel (10 × 10 inside the red line, 10 × 10 outside, neither touching its
    edge) has share 0.5: one vertex cannot decide for a multi-part parcel."""
    two = shapely.MultiPolygon([box(0, 0, 10, 10), box(100, 0, 10, 10)])
    out = run(parcels_frame([two]), layers_frame([("eco_redline", box(-100, -100, 150, 300), "湿地")]),
              profile)
    assert out["share_eco_redline"].tolist() == [0.5]


def test_overlapping_features_of_one_kind_are_counted_once(profile):
    """Red-line features [0, 60] and [40, 100] (overlapping on [40, 60]) over a parcel [0, 100]:
    the union covers all of it → share 1, not 1.2; a third, duplicate feature changes nothing.
    A parcel [50, 150] is covered on [50, 100] → 0.5."""
    parcels = parcels_frame([box(0, 0, 100, 100), box(50, 200, 100, 100)])
    layers = layers_frame([("eco_redline", box(0, -10, 60, 400), "甲"),
                           ("eco_redline", box(40, -10, 60, 400), "乙"),
                           ("eco_redline", box(40, -10, 60, 400), "乙（重复）")])
    out = run(parcels, layers, profile)
    assert out["share_eco_redline"].tolist() == pytest.approx([1.0, 0.5], abs=1e-12)


def test_large_layer_polygons_are_split_and_still_exact(profile):
    """A red line of ~4000 vertices (a circle) is split into pieces of ≤ 256 vertices that tile it;
    the shares equal the direct intersection with the unsplit circle."""
    circle = shapely.buffer(shapely.Point(ORIGIN[0] + 500, ORIGIN[1] + 500), 400, quad_segs=1000)
    rng = np.random.default_rng(1)
    xs, ys = rng.uniform(0, 950, 200), rng.uniform(0, 950, 200)
    geoms = [box(x, y, 50, 30) for x, y in zip(xs, ys, strict=True)]
    out = run(parcels_frame(geoms), layers_frame([("eco_redline", circle, "圆")]), profile)
    expected = shapely.area(shapely.intersection(np.array(geoms), circle)) / 1500
    np.testing.assert_allclose(out["share_eco_redline"], expected, rtol=1e-9, atol=1e-12)
    parts, grp = split_large(np.array([circle]), np.array([0]))
    assert len(parts) > 8 and shapely.get_num_coordinates(parts).max() <= ov.MAX_PART_VERTICES
    assert shapely.union_all(parts).symmetric_difference(circle).area < 1e-6
    assert shapely.area(parts).sum() == pytest.approx(circle.area, rel=1e-12)


def test_geographic_input_is_projected(profile):
    """Parcels and layers given in EPSG:4490 give the same shares as in EPSG:4549 (areas are
    computed in the profile's area CRS)."""
    parcels = parcels_frame([box(50, 0, 100, 100), box(10, 10, 20, 20)])
    layers = layers_frame([("eco_redline", box(0, 0, 100, 100), "湿地")])
    out = run(parcels.to_crs("EPSG:4490"), layers.to_crs("EPSG:4490"), profile)
    np.testing.assert_allclose(out["share_eco_redline"], [0.5, 1.0], rtol=1e-7)


def test_missing_geometry_and_bad_input(profile):
    """A parcel without geometry gets NaN shares, NA space and no patch; inputs without a CRS or
    without layer_kind are refused."""
    parcels = parcels_frame([box(0, 0, 10, 10), None])
    out = run(parcels, layers_frame([("eco_redline", box(0, 0, 100, 100), "湿地")]), profile)
    assert out["share_eco_redline"].iloc[0] == 1.0 and np.isnan(out["share_eco_redline"].iloc[1])
    assert out["space"].isna().tolist() == [False, True]
    assert out["patch_id"].isna().tolist() == [False, True]
    with pytest.raises(KeyError, match="layer_kind"):
        run(parcels, layers_frame([]).drop(columns="layer_kind"), profile)
    with pytest.raises(ValueError, match="CRS"):
        run(parcels.set_crs(None, allow_override=True), layers_frame([]), profile)


# --------------------------------------------------------------------------- park name


def test_park_name_is_the_park_covering_most(profile):
    """Parcel [0, 100]: 甲园 covers [0, 30] (30 %), 乙园 [30, 100] (70 %) → 乙园.
    Parcel [200, 300]: 丙园 in two features (district parts) [200, 230] and [230, 260] (60 % in
    all) beats 丁园 [260, 300] (40 %) → 丙园, though each 丙 feature alone is smaller.
    Parcel far away → NA."""
    parcels = parcels_frame([box(0, 0, 100, 100), box(200, 0, 100, 100), box(900, 900, 10, 10)])
    layers = layers_frame([
        ("industrial_park", box(-50, -50, 80, 200), "甲园"),
        ("industrial_park", box(30, -50, 120, 200), "乙园"),
        ("industrial_park", box(200, -50, 30, 200), "丙园"),
        ("industrial_park", box(230, -50, 30, 200), "丙园"),
        ("industrial_park", box(260, -50, 100, 200), "丁园"),
    ])
    out = run(parcels, layers, profile)
    assert out["park_name"].tolist()[:2] == ["乙园", "丙园"]
    assert pd.isna(out["park_name"].iloc[2])
    assert out["share_industrial_park"].tolist() == pytest.approx([1.0, 1.0, 0.0])


# --------------------------------------------------------------------------- space


def test_space_rule_precedence_threshold_and_residual():
    """ecological > agricultural > urban, each when its share ≥ min_share; none → agricultural;
    no geometry (NaN) → NA."""
    eco = np.array([0.5, 0.0, 0.0, 0.0, 0.49, 0.0, np.nan])
    agr = np.array([0.0, 0.6, 0.0, 0.0, 0.0, 0.5, np.nan])
    urb = np.array([0.5, 0.4, 0.6, 0.4, 0.49, 0.5, np.nan])
    got = assign_space({"ecological": eco, "agricultural": agr, "urban": urb}, 0.5)
    assert list(got[:6]) == ["ecological", "agricultural", "urban", "agricultural",
                             "agricultural", "agricultural"]
    assert pd.isna(got[6])
    lower = assign_space({"ecological": eco, "agricultural": agr, "urban": urb}, 0.3)
    assert list(lower[:6]) == ["ecological", "agricultural", "urban", "urban", "ecological",
                               "agricultural"]


def test_space_in_overlay(profile):
    """Through overlay with min share 0.5: inside the urban boundary → urban; 60 % red line and
    40 % urban → ecological; 40 % urban, rest outside everything → agricultural; with min share
    0.3 the last is urban."""
    parcels = parcels_frame([box(1000, 0, 50, 50), box(-60, 0, 100, 50), box(940, 0, 100, 50)])
    layers = layers_frame([("urban_boundary", box(1000, -100, 1000, 300), "城区"),
                           ("urban_boundary", box(0, -100, 40, 300), "城区西"),
                           ("eco_redline", box(-100, -100, 100, 300), "湿地")])
    out = run(parcels, layers, profile)
    assert out["space"].tolist() == ["urban", "ecological", "agricultural"]
    assert run(parcels, layers, profile, share=0.3)["space"].tolist()[2] == "urban"


def test_space_of_several_layer_kinds_uses_their_union(profile):
    """A profile whose ecological space is [eco_redline, forest]: a parcel 40 % in the red line and
    40 % in the forest, overlapping on 20 %, is 60 % in ecological space → ecological, though
    neither layer alone reaches 0.5 (and adding the shares would say 80 %)."""
    raw = yaml.safe_load(resolve_profile("changzhou-2022").read_text(encoding="utf-8"))
    raw["land_rules"]["control_lines"]["params"]["spaces"]["ecological"] = ["eco_redline", "forest"]
    custom = parse_profile(raw)
    parcels = parcels_frame([box(0, 0, 100, 100)])
    layers = layers_frame([("eco_redline", box(0, -10, 40, 200), "红线"),
                           ("forest", box(20, -10, 40, 200), "林地")])
    out = run(parcels, layers, custom)
    assert out["share_eco_redline"].iloc[0] == pytest.approx(0.4)
    assert "share_forest" not in out  # only the kinds of control_lines.layers get a column
    assert out["space"].iloc[0] == "ecological"


# --------------------------------------------------------------------------- construction


def test_construction_by_dlbm_then_ydyh():
    """DLBM decides where it is a known code (0601 yes, 0101 no even with an industrial 用地用海
    code); a missing or unknown DLBM falls back to 用地用海 (1001 / 100101 yes, 0101 no); both
    unknown → no."""
    dlbm = pd.Series(["0601", "0101", None, "ZZZZ", None, "601", None])
    ydyh = pd.Series(["100101", "1001", "1001", "0101", "100101", None, None])
    assert construction_flags(dlbm, ydyh).tolist() == [True, False, True, False, True, True, False]


def test_touching_industrial_parcels_form_one_patch(profile):
    """Two touching 50 × 50 industrial parcels → one patch of 2 members and 5000 m² = 7.5 亩;
    a farmland parcel touching them is not construction → NA patch; a lone industrial parcel
    300 m away is its own patch (numbered after the first)."""
    parcels = parcels_frame([box(0, 0, 50, 50), box(50, 0, 50, 50), box(100, 0, 50, 50),
                             box(450, 0, 50, 50)], dlbm=["0601", "0601", "0101", "0601"])
    out = run(parcels, layers_frame([]), profile, gap_m=0.0)
    assert out["is_construction"].tolist() == [True, True, False, True]
    assert out["patch_id"].tolist()[:2] == [0, 0] and out["patch_id"].iloc[3] == 1
    assert pd.isna(out["patch_id"].iloc[2]) and pd.isna(out["patch_area_mu"].iloc[2])
    assert out["patch_size"].tolist()[:2] == [2, 2] and out["patch_size"].iloc[3] == 1
    assert out["patch_area_mu"].iloc[0] == pytest.approx(5000 / M2_PER_MU)
    assert out["patch_area_mu"].iloc[0] == pytest.approx(7.5)


def test_gap_decides_whether_a_parcel_50_m_away_joins(profile):
    """Parcels [0, 50] and [100, 150] (a 50 m gap) are one patch with gap 100 (and with gap 50:
    the distance counts when ≤ gap), two with gap 20. Corner-touching parcels join at gap 0."""
    parcels = parcels_frame([box(0, 0, 50, 50), box(100, 0, 50, 50), box(150, 50, 20, 20)])
    assert run(parcels, layers_frame([]), profile, gap_m=100)["patch_id"].tolist() == [0, 0, 0]
    assert run(parcels, layers_frame([]), profile, gap_m=50)["patch_id"].tolist() == [0, 0, 0]
    out = run(parcels, layers_frame([]), profile, gap_m=20)
    assert out["patch_id"].tolist() == [0, 1, 1]
    assert out["patch_size"].tolist() == [1, 2, 2]
    assert run(parcels, layers_frame([]), profile, gap_m=0)["patch_id"].tolist() == [0, 1, 1]


def test_connected_components_merges_and_resumes():
    """Roots are each component's smallest node; a second call continues from the first."""
    a, b = np.array([5, 3, 1, 7]), np.array([3, 1, 6, 8])
    root = connected_components(10, a, b)
    assert root.tolist() == [0, 1, 2, 1, 4, 1, 1, 7, 7, 9]
    more = connected_components(10, np.array([8, 9]), np.array([0, 2]), root)
    assert more.tolist() == [0, 1, 2, 1, 4, 1, 1, 0, 0, 2]


# --------------------------------------------------------------------------- properties

coord = st.floats(0, 400, allow_nan=False).map(lambda v: round(v, 1))
size = st.floats(1, 200, allow_nan=False).map(lambda v: round(v, 1))
rect = st.tuples(coord, coord, size, size)
slow = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _polygon(r: tuple, jitter: float) -> shapely.Geometry:
    """A box, or a rotated box (non-axis-aligned edges) when jitter != 0."""
    g = box(*r)
    return shapely.affinity.rotate(g, jitter * 30) if jitter else g


@slow
@given(parcels=st.lists(st.tuples(rect, st.sampled_from([0, 1])), min_size=1, max_size=25),
       features=st.lists(st.tuples(st.sampled_from(KINDS), rect, st.sampled_from([0, 0.5])),
                         max_size=12))
def test_shares_are_in_unit_interval_and_match_a_direct_union(profile, parcels, features):
    """For random (rotated) parcels and random, possibly overlapping, layer features: every share
    lies in [0, 1] and equals area(parcel ∩ union of the kind) ÷ area(parcel)."""
    geoms = [_polygon(r, j) for r, j in parcels]
    layers = layers_frame([(k, _polygon(r, j), "园") for k, r, j in features])
    out = run(parcels_frame(geoms), layers, profile)
    arr = np.array(geoms)
    for k in KINDS:
        share = out[f"share_{k}"].to_numpy()
        assert ((share >= 0) & (share <= 1)).all()
        mine = layers.geometry[layers["layer_kind"] == k]
        union = shapely.union_all(mine.to_numpy()) if len(mine) else shapely.Polygon()
        expected = shapely.area(shapely.intersection(arr, union)) / shapely.area(arr)
        np.testing.assert_allclose(share, expected, rtol=1e-9, atol=1e-9)


@slow
@given(whole=rect, cuts=st.lists(st.integers(1, 99), min_size=1, max_size=6, unique=True),
       features=st.lists(st.tuples(st.sampled_from(KINDS[:3]), rect, st.sampled_from([0, 0.5])),
                         min_size=1, max_size=8))
def test_shares_add_up_over_a_partition(profile, whole, cuts, features):
    """A parcel cut into vertical strips: Σ strip area × strip share = parcel area × parcel share,
    for every kind (the inside area is additive)."""
    x, y, w, h = whole
    xs = [0.0, *sorted(c / 100 for c in cuts), 1.0]  # distinct cuts: no zero-width strip
    strips = [box(x + w * a, y, w * (b - a), h) for a, b in zip(xs, xs[1:], strict=False)]
    parcels = parcels_frame([box(x, y, w, h), *strips])
    out = run(parcels, layers_frame([(k, _polygon(r, j), "园") for k, r, j in features]), profile)
    area = parcels["area_m2"].to_numpy()
    for k in KINDS[:3]:
        inside = out[f"share_{k}"].to_numpy() * area
        assert inside[1:].sum() == pytest.approx(inside[0], rel=1e-9, abs=1e-6)


@slow
@given(rects=st.lists(st.tuples(coord, coord, st.floats(1, 60).map(lambda v: round(v, 1)),
                                st.floats(1, 60).map(lambda v: round(v, 1)), st.sampled_from([0, 1])),
                      min_size=1, max_size=40),
       gap=st.sampled_from([0.0, 5.0, 20.0, 50.0, 100.0]))
def test_within_components_equals_brute_force(rects, gap):
    """The fast patch graph (grid sure-edges + frontier) gives the same components as testing
    every pair's distance."""
    geoms = np.array([_polygon(r[:4], r[4]) for r in rects])
    n = len(geoms)
    i, j = np.triu_indices(n, 1)
    near = shapely.distance(geoms[i], geoms[j]) <= gap
    expected = connected_components(n, i[near], j[near])
    assert within_components(geoms, gap).tolist() == expected.tolist()


@slow
@given(n=st.integers(1, 60), edges=st.lists(st.tuples(st.integers(0, 59), st.integers(0, 59)),
                                          max_size=120))
def test_connected_components_equals_a_simple_union_find(n, edges):
    """The vectorised union–find agrees with a plain one (roots = smallest member)."""
    edges = [(a % n, b % n) for a, b in edges]
    parent = list(range(n))

    def find(v: int) -> int:
        while parent[v] != v:
            v = parent[v]
        return v

    for a, b in edges:
        ra, rb = find(a), find(b)
        parent[max(ra, rb)] = min(ra, rb)
    a = np.array([e[0] for e in edges], dtype=np.intp)
    b = np.array([e[1] for e in edges], dtype=np.intp)
    assert connected_components(n, a, b).tolist() == [find(v) for v in range(n)]


# --------------------------------------------------------------------------- demo city cross-checks


@pytest.fixture(scope="module")
def city():
    from landrenew.demo import build_city

    c = build_city(3000, seed=5)
    parcels = c.parcels.copy()
    parcels["area_m2"] = c.parcel_area_m2
    parcels["key"] = parcels["parcel_code"]
    layers = gpd.GeoDataFrame(
        pd.concat([v.assign(layer_kind=k) for k, v in c.layers.items()], ignore_index=True),
        geometry="geometry", crs=c.parcels.crs)
    return parcels, layers


def test_shares_match_duckdb_spatial(profile, city):
    """Independent check: DuckDB spatial intersects every parcel with every feature it meets and
    unions the pieces per (parcel, layer kind) (ST_Union_Agg, so overlapping features count once),
    on the same projected (EPSG:4549) geometries passed as WKB. The areas inside each kind agree
    with overlay within 1e-6 of the parcel area."""
    duckdb = pytest.importorskip("duckdb")
    spatial = pytest.importorskip("duckdb_extension_spatial")
    parcels, layers = city
    out = run(parcels, layers, profile)

    p = parcels.geometry.to_crs(CRS)
    lay = layers.to_crs(CRS)
    con = duckdb.connect()
    ext = pathlib.Path(spatial.__file__).parent / "extensions/v1.5.5/spatial.duckdb_extension"
    con.execute(f"LOAD '{ext}'")
    con.register("p_raw", pd.DataFrame({"id": np.arange(len(p)), "wkb": shapely.to_wkb(p.values)}))
    con.register("l_raw", pd.DataFrame({"kind": lay["layer_kind"].to_numpy(),
                                        "wkb": shapely.to_wkb(lay.geometry.values)}))
    got = con.execute("""
        WITH pp AS (SELECT id, ST_GeomFromWKB(wkb) AS g FROM p_raw),
             ll AS (SELECT kind, ST_GeomFromWKB(wkb) AS g FROM l_raw)
        SELECT pp.id, ll.kind, ST_Area(ST_Union_Agg(ST_Intersection(pp.g, ll.g))) AS inside
        FROM pp JOIN ll ON ST_Intersects(pp.g, ll.g)
        GROUP BY pp.id, ll.kind
    """).df()
    con.close()
    area = shapely.area(p.values)
    assert len(got) > len(parcels)  # many parcels meet several layers
    for k in KINDS:
        duck = np.zeros(len(parcels))
        sel = got[got["kind"] == k]
        duck[sel["id"].to_numpy()] = sel["inside"].to_numpy()
        mine = out[f"share_{k}"].to_numpy() * area
        assert (np.abs(mine - duck) <= 1e-6 * area).all(), k
        assert duck.sum() > 0 or k == "eco_redline"


def test_patches_match_brute_force_on_demo_city(profile, city):
    """On the demo city, patches equal the components of the plain STRtree ``dwithin`` graph of
    the projected construction parcels (gap from the isolated_patch rule), and each patch's 亩 is
    the sum over its members."""
    parcels, layers = city
    gap = profile.rule("tag.scattered.isolated_patch").params.min_gap_m
    out = run(parcels, layers, profile, gap_m=gap)
    cons = out["is_construction"].to_numpy()
    geoms = np.asarray(parcels.geometry.to_crs(CRS).array)[cons]
    a, b = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=gap)
    root = connected_components(len(geoms), a, b)
    _, expected = np.unique(root, return_inverse=True)
    assert out.loc[cons, "patch_id"].to_numpy(dtype=int).tolist() == expected.tolist()
    assert out.loc[~cons, "patch_id"].isna().all()
    sums = out[cons].groupby("patch_id")["area_mu"].sum()
    np.testing.assert_allclose(out.loc[cons, "patch_area_mu"].to_numpy(dtype=float),
                               sums.loc[out.loc[cons, "patch_id"]].to_numpy(), rtol=1e-12)
    assert out["space"].notna().all() and set(out["space"]) <= {"ecological", "agricultural", "urban"}


# --------------------------------------------------------------------------- detailed plan


def test_plan_zone_is_the_one_covering_at_least_min_share(profile):
    """land.planning: a parcel takes the planned use of the zone covering at least ``min_share``
    of it (two zones split 70/30 → the 70 % one); under the share, or outside every zone, none."""
    assert profile.land_rules.planning.params.min_share == 0.5
    parcels = parcels_frame([box(0, 0, 100, 100), box(200, 0, 100, 100), box(400, 0, 100, 100)])
    layers = layers_frame([("planned_use", box(-50, -50, 120, 200), "A"), ("planned_use", box(70, -50, 200, 200), "B"),
                           ("planned_use", box(480, -50, 100, 200), "C"), ("industrial_park", box(0, 0, 10, 10), "园")])
    layers["ydyh_code"] = ["0902", "1001", "0701", None]
    out = run(parcels, layers, profile)
    assert list(out["plan_zone"].astype(object).where(out["plan_zone"].notna(), None)) == ["F0", "F1", None]
    assert out.loc[0, "planned_code"] == "0902" and out.loc[1, "planned_code"] == "1001"
    assert pd.isna(out.loc[2, "planned_code"])


def test_without_a_plan_layer_planned_use_is_unknown(profile):
    out = run(parcels_frame([box(0, 0, 10, 10)]), layers_frame([("urban_boundary", box(-5, -5, 30, 30), "城")]), profile)
    assert out["plan_zone"].isna().all() and out["planned_code"].isna().all()


def test_construction_land_next_to_paddy_is_fit_for_paddy(profile):
    """quota.balance.paddy (next_to 0101, 50 m): construction parcels within 50 m of 水田 are fit; one
    80 m away is not, nor is the paddy itself (not construction)."""
    parcels = parcels_frame([box(0, 0, 50, 50), box(90, 0, 50, 50), box(220, 0, 50, 50)],
                            dlbm=["0101", "0702", "0702"])
    out = run(parcels, layers_frame([]), profile)
    assert out["fit_paddy"].tolist() == [False, True, False]
