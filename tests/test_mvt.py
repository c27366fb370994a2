"""The vectorised MVT encoder draws what the reference encoder (mapbox-vector-tile) draws."""

from __future__ import annotations

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from landrenew.mvt import encode_layer, polygon_commands


def _decode(data: bytes) -> dict:
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})


def _rings(feature: dict) -> frozenset:
    """The feature's rings, each as the set of its points (start point and direction do not count)."""
    g = feature["geometry"]
    polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
    return frozenset(frozenset(map(tuple, ring)) for poly in polys for ring in poly)


def _reference(geoms: list) -> dict:
    feats = [{"geometry": g, "properties": {}, "id": i + 1} for i, g in enumerate(geoms)]
    return _decode(mapbox_vector_tile.encode([{"name": "t", "features": feats}], default_options={
        "y_coord_down": True, "extents": 4096, "on_invalid_geometry": None}))


def _random_polygons(n: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        c = rng.uniform(0, 4096, 2)
        k = rng.integers(3, 12)
        angles = np.sort(rng.uniform(0, 2 * np.pi, k))
        r = rng.uniform(5, 300, k)
        ring = np.column_stack([c[0] + r * np.cos(angles), c[1] + r * np.sin(angles)])
        poly = shapely.make_valid(Polygon(ring if rng.random() < 0.5 else ring[::-1]))
        if rng.random() < 0.3:
            poly = poly.difference(Point(c).buffer(3))  # a hole
        out.append(poly)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_polygons_decode_to_the_reference_shapes(seed):
    geoms = _random_polygons(200, seed)
    ours = {f["id"]: _rings(f) for f in _decode(encode_layer("t", np.array(geoms, dtype=object),
                                                             list(range(1, 201)), [{}] * 200))["t"]["features"]}
    ref = {f["id"]: _rings(f) for f in _reference(geoms)["t"]["features"]}
    assert len(ours) > 150 and ours == ref


def test_orientation_holes_and_parts_follow_the_specification():
    outer = [(0, 0), (0, 100), (100, 100), (100, 0)]  # clockwise on paper: wrong for MVT, reversed by us
    hole = [(10, 10), (20, 10), (20, 20), (10, 20)]
    geoms = [Polygon(outer, [hole]), MultiPolygon([box(200, 200, 300, 300), box(400, 400, 500, 500)])]
    commands, spans = polygon_commands(np.array(geoms, dtype=object))
    first = commands[spans[0, 0]:spans[0, 1]]
    assert first[0] == 9 and first[3] == (3 << 3 | 2) and first[10] == 15  # MoveTo(1) LineTo(3) ClosePath
    decoded = _decode(encode_layer("t", np.array(geoms, dtype=object), [1, 2], [{}, {}]))["t"]["features"]
    polygon = decoded[0]["geometry"]["coordinates"]

    def area(ring: list) -> float:  # the surveyor's formula in tile coordinates (y down)
        return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False)) / 2

    # decoded with y flipped back up by the decoder's y_coord_down: exterior negative there, hole positive
    assert area(polygon[0]) * area(polygon[1]) < 0
    assert decoded[1]["geometry"]["type"] == "MultiPolygon"


def test_collapsed_and_non_polygonal_features_are_left_out_and_properties_kept():
    geoms = [box(1, 1, 1.2, 1.2), LineString([(0, 0), (5, 5)]), Point(3, 3), box(0, 0, 50, 50), None]
    props = [{}, {}, {}, {"key": "320402…", "n": 3, "neg": -2, "mu": 1.5, "flag": True, "none": None}, {}]
    layer = _decode(encode_layer("p", np.array(geoms, dtype=object), [1, 2, 3, 4, 5], props))["p"]
    assert [f["id"] for f in layer["features"]] == [4]
    assert layer["features"][0]["properties"] == {"key": "320402…", "n": 3, "neg": -2, "mu": 1.5, "flag": True}
    assert encode_layer("p", np.array([Point(0, 0)], dtype=object), [1], [{}]) == b""
