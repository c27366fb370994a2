"""连片 redevelopment units: flagged parcels that touch or lie close together form one unit.

The profile has no consolidation rule yet (``land_rules.consolidation``), so the gap and
the minimum unit area are passed as keyword arguments: 50 m and 22.5 亩.
Parcels are squares laid out in EPSG:4549 metres and stored in EPSG:4490.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ORIGIN_4549
from landrenew.analysis.overlay import connected_components as components
from landrenew.analysis.tags import summarize_tags, tag_parcels
from landrenew.analysis.units import UNIT_COLUMNS, group_units, unit_geometries
from landrenew.codes.parcel_code import make_parcel_code
from landrenew.geo.area import M2_PER_MU

GAP = 50.0
MIN_MU = 22.5
CLAUSE = "一、(二)基本原则（整合土地资源，支撑产业集聚发展）"


def code(i: int, district: str = "320412") -> str:
    return make_parcel_code(district, 1, 2, "G", "B", i + 1)


def box(x: float, y: float, size: float) -> shapely.Polygon:
    x0, y0 = ORIGIN_4549
    return shapely.box(x0 + x, y0 + y, x0 + x + size, y0 + y + size)


def scenario(boxes: list[shapely.Polygon], flagged: list[str], districts: list[str] | None = None
             ) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
    """Parcels, overlay and a tag summary; ``flagged[i]`` is the parcel's tag keys ("danger,low")."""
    n = len(boxes)
    districts = districts or ["320412"] * n
    g = gpd.GeoSeries(boxes, crs="EPSG:4549")
    parcels = gpd.GeoDataFrame({
        "key": [code(i, d) for i, d in enumerate(districts)],
        "parcel_code": [code(i, d) for i, d in enumerate(districts)],
        "district_code": districts,
        "area_m2": g.area.to_numpy(),
    }, geometry=g.to_crs("EPSG:4490").values, crs="EPSG:4490")
    overlay = pd.DataFrame({"area_mu": g.area.to_numpy() / M2_PER_MU})
    keys = ["danger", "pollution", "disorder", "scattered", "low"]
    tagged = pd.DataFrame({k: [k in f.split(",") for f in flagged] for k in keys})
    tagged["n_hits"] = tagged[keys].sum(axis=1)
    return parcels, overlay, tagged


def units(profile, parcels, overlay, tagged, **kw: Any):
    kw = {"max_gap_m": GAP, "min_unit_mu": MIN_MU, **kw}
    return group_units(parcels, overlay, tagged, profile, **kw)


def test_three_touching_parcels_form_one_unit_and_a_distant_one_stays_alone(profile):
    """一、(二)基本原则（整合土地资源，支撑产业集聚发展）: three touching flagged 15 亩 parcels are one 45 亩 unit; one 1 km away is its own case."""
    side = 100.0  # 10 000 m² = 15 亩
    boxes = [box(0, 0, side), box(side, 0, side), box(0, side, side), box(1000, 0, side), box(2 * side, 0, side)]
    parcels, overlay, tagged = scenario(boxes, ["danger", "low", "danger,low", "pollution", ""])
    unit_id, table = units(profile, parcels, overlay, tagged)
    assert unit_id.tolist()[:4] == [1, 1, 1, 2]
    assert pd.isna(unit_id.iloc[4])  # touches the unit but is not flagged
    assert list(table.columns[: len(UNIT_COLUMNS)]) == UNIT_COLUMNS
    u = table.set_index("unit_id")
    assert u.loc[1, "n_parcels"] == 3 and bool(u.loc[1, "contiguous"])
    assert u.loc[1, "area_mu"] == pytest.approx(45.0, abs=0.01)
    assert u.loc[1, "members"] == ";".join(code(i) for i in range(3))
    assert u.loc[1, "tags"] == "危2 低2"
    assert (u.loc[1, "n_danger"], u.loc[1, "n_low"], u.loc[1, "n_pollution"]) == (2, 2, 0)
    assert u.loc[2, "n_parcels"] == 1 and not u.loc[2, "contiguous"] and u.loc[2, "tags"] == "污1"
    # the union covers the three squares, 30 000 m²
    assert gpd.GeoSeries([u.loc[1, "geometry"]], crs="EPSG:4490").to_crs("EPSG:4549").area.iloc[0] == pytest.approx(30_000, rel=1e-4)
    assert table.crs == parcels.crs


def test_unit_below_minimum_is_dissolved_into_single_parcel_cases(profile):
    """一、(二)基本原则（整合土地资源，支撑产业集聚发展）: two touching parcels of 1.35 亩 (2.7 亩 < 22.5 亩) are two single-parcel cases."""
    parcels, overlay, tagged = scenario([box(0, 0, 30), box(30, 0, 30)], ["low", "low"])
    unit_id, table = units(profile, parcels, overlay, tagged)
    assert unit_id.tolist() == [1, 2]
    assert table["n_parcels"].tolist() == [1, 1]
    assert not table["contiguous"].any()
    # with a minimum of 2 亩 they are one unit
    unit_id, table = units(profile, parcels, overlay, tagged, min_unit_mu=2.0)
    assert unit_id.tolist() == [1, 1] and table["n_parcels"].tolist() == [2]


def test_parcels_within_the_gap_join_beyond_it_do_not(profile):
    """一、(二)基本原则（整合土地资源，支撑产业集聚发展）: 40 m apart (≤ 50 m) joins, 60 m apart does not."""
    side = 100.0
    boxes = [box(0, 0, side), box(side + 40, 0, side), box(2 * side + 40 + 60, 0, side)]
    parcels, overlay, tagged = scenario(boxes, ["low", "low", "low"])
    unit_id, table = units(profile, parcels, overlay, tagged)
    assert unit_id.tolist() == [1, 1, 2]
    assert table.loc[0, "district_codes"] == "320412"
    assert table.loc[0, "geometry"].geom_type == "MultiPolygon"


def test_no_flagged_parcels(profile):
    """一、(二)基本原则（整合土地资源，支撑产业集聚发展）: nothing flagged, no unit."""
    parcels, overlay, tagged = scenario([box(0, 0, 50)], [""])
    unit_id, table = units(profile, parcels, overlay, tagged)
    assert unit_id.isna().all() and table.empty and list(table.columns[:7]) == UNIT_COLUMNS


def test_unit_gap_and_minimum_come_from_the_profile(profile):
    """land.consolidation: the bundled profile's 50 m gap and 22.5 亩 minimum are what group_units uses."""
    params = profile.rule("land.consolidation").params
    assert (params.max_gap_m, params.min_unit_mu) == (50, 22.5)
    side = 100.0  # two touching 15 亩 parcels: 30 亩 ≥ 22.5 → one unit
    parcels, overlay, tagged = scenario([box(0, 0, side), box(side, 0, side)], ["low", "low"])
    unit_id, table = group_units(parcels, overlay, tagged, profile)
    assert unit_id.nunique() == 1 and table["n_parcels"].tolist() == [2]


def test_units_from_tag_summary(profile):
    """一、(二)基本原则（整合土地资源，支撑产业集聚发展）: the summary of tag_parcels feeds group_units."""
    side = 100.0
    parcels, overlay, _ = scenario([box(0, 0, side), box(side, 0, side), box(900, 0, side)], ["", "", ""])
    parcels["dlbm"] = "0601"
    parcels["ydyh_code"] = None
    parcels["floor_area_m2"] = [5000.0, 20000.0, 5000.0]  # plot ratio 0.5, 2.0, 0.5
    overlay["share_industrial_park"] = 1.0
    overlay[["space", "is_construction", "patch_area_mu", "patch_size"]] = ["urban", True, 15.0, 1]
    empty = gpd.GeoDataFrame({"kind": pd.Series(dtype=object), "record_id": pd.Series(dtype=object)},
                             geometry=gpd.GeoSeries([], crs="EPSG:4490"))
    hits = tag_parcels(parcels, overlay, pd.DataFrame(columns=["class"]), pd.DataFrame(columns=["uscc", "year", "parcel_code"]),
                       empty, profile, "2025-06-30")
    summary = summarize_tags(hits, len(parcels))
    unit_id, table = units(profile, parcels, overlay, summary)
    assert unit_id.isna().tolist() == [False, True, False]
    assert table["tags"].tolist() == ["低1", "低1"]


# --------------------------------------------------------------------------- components


def test_components_of_a_chain_and_isolated_nodes():
    """Union-find: a chain 4-3-2-1 and a pair 5-6 label by their smallest node."""
    labels = components(8, np.array([4, 3, 2, 6]), np.array([3, 2, 1, 5]))
    assert labels.tolist() == [0, 1, 1, 1, 1, 5, 5, 7]


def _reference(n: int, edges: list[tuple[int, int]]) -> list[int]:
    label = list(range(n))
    changed = True
    while changed:
        changed = False
        for a, b in edges:
            m = min(label[a], label[b])
            if label[a] != m or label[b] != m:
                label[a] = label[b] = m
                changed = True
    return label


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 40).flatmap(
    lambda n: st.tuples(st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60))))
def test_components_match_a_reference(case):
    """Union-find: labels equal a plain label-propagation reference on random graphs."""
    n, edges = case
    a = np.array([e[0] for e in edges], dtype=np.int64)
    b = np.array([e[1] for e in edges], dtype=np.int64)
    assert components(n, a, b).tolist() == _reference(n, edges)


def test_idle_or_illegal_parcels_are_never_grouped_with_their_neighbours(profile):
    """land.consolidation exclude_rules: idle, illegal and unsupplied land is decided parcel by parcel
    (部令第53号, 增存挂钩), so three touching flagged parcels, the middle one idle, give no unit."""
    side = 100.0
    parcels, overlay, tagged = scenario([box(0, 0, side), box(side, 0, side), box(2 * side, 0, side)],
                                        ["low", "low", "low"])
    tagged["rule_ids"] = ["tag.low.plot_ratio", "tag.low.idle_land;land.idle.fee", "tag.low.plot_ratio"]
    unit_id, table = units(profile, parcels, overlay, tagged)
    assert unit_id.nunique() == 3 and (table["n_parcels"] == 1).all()
    tagged["rule_ids"] = ["tag.low.plot_ratio"] * 3
    unit_id, table = units(profile, parcels, overlay, tagged)
    assert unit_id.nunique() == 1


def test_unit_geometries_are_the_union_of_members(profile):
    """The shapes the outputs draw: two touching 100 m squares → one 20,000 m² polygon."""
    side = 100.0
    parcels, overlay, tagged = scenario([box(0, 0, side), box(side, 0, side)], ["low", "low"])
    unit_id, table = units(profile, parcels, overlay, tagged, geometry=False)
    assert table.geometry.isna().all()
    shapes = unit_geometries(parcels, unit_id)
    assert len(shapes) == 1 and shapes.to_crs("EPSG:4549").area.iloc[0] == pytest.approx(20_000, rel=1e-4)


def test_a_unit_never_spans_two_districts(profile):
    """land.consolidation same: [district_code, …]: a case belongs to one district, so touching flagged
    parcels on either side of a district line form two units."""
    side = 100.0
    parcels, overlay, tagged = scenario([box(0, 0, side), box(side, 0, side), box(2 * side, 0, side),
                                         box(3 * side, 0, side)], ["low"] * 4,
                                        districts=["320412", "320412", "320411", "320411"])
    overlay["park_name"] = pd.NA
    unit_id, table = units(profile, parcels, overlay, tagged)
    assert unit_id.tolist()[0] == unit_id.tolist()[1] != unit_id.tolist()[2] == unit_id.tolist()[3]
    assert table["district_codes"].tolist() == ["320412", "320411"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(5, 60), st.sampled_from(["320412", "320411"]),
                          st.sampled_from(["", "A", "B"]), st.sampled_from(["low", "danger", "", "solo"])),
                min_size=1, max_size=40))
def test_units_match_a_reference_of_every_pair_within_the_gap(profile, spec):
    """land.consolidation: the units are the components of "within the gap, neither excluded, same
    district, park and plan zone", as a check of every pair finds them."""
    boxes = [box(x * 20.0, y * 20.0, s) for x, y, s, *_ in spec]
    parcels, overlay, tagged = scenario(boxes, [f if f != "solo" else "low" for *_, f in spec], [d for *_, d, _, _ in spec])
    overlay["park_name"] = pd.array([p or None for *_, p, _ in spec], dtype="string")
    tagged["rule_ids"] = ["tag.low.idle_land" if f == "solo" else "tag.low.x" for *_, f in spec]
    unit_id, _ = units(profile, parcels, overlay, tagged, min_unit_mu=0.0)

    n = len(spec)
    planar = parcels.geometry.to_crs("EPSG:4549").values
    flagged = [i for i in range(n) if spec[i][5]]
    edges = [(a, b) for a in flagged for b in flagged if a < b
             and "solo" not in (spec[a][5], spec[b][5]) and spec[a][3] == spec[b][3] and spec[a][4] == spec[b][4]
             and shapely.distance(planar[a], planar[b]) <= GAP]
    label = _reference(n, edges)
    got = unit_id.tolist()
    for a in flagged:
        for b in flagged:
            assert (got[a] == got[b]) == (label[a] == label[b] if "solo" not in (spec[a][5], spec[b][5]) else a == b)
    assert all(pd.isna(got[i]) for i in range(n) if not spec[i][5])
