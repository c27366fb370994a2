"""Mapbox vector tiles (MVT, Web Mercator XYZ) of the parcels and control layers, made on request.

A tile reads the rows whose bounding box meets the tile plus a small buffer (through the spatial
index), projects their EPSG:4490 lon/lat to the tile's 4096-unit grid (CGCS2000 ≈ WGS 84 at map
scale), clips to the buffer, simplifies below :data:`DETAIL_ZOOM` and encodes with
:mod:`landrenew.mvt`. Below :data:`DETAIL_ZOOM` features smaller than :data:`MIN_PIXELS` screen
pixels are left out (control features by their box, a run's parcels by their area; up to
:data:`AREA_INDEX_BELOW` those are found through the run's area index, which reads only the parcels
drawn), so low zooms stay light. Encoded tiles are kept in a small in-memory cache keyed by a stamp
of the data (latest run, parcels, control layers, clearance cases), so a change shows on the next
request.

Layers: ``parcels`` (source-layer ``parcels``: ``key``, ``dlbm``, ``district_code``, ``area_mu`` and,
from the latest run, ``tags``, ``firm_class``, ``family``, ``path``, ``unit_id``, ``case_no`` — for a
district role only its own district's case numbers) and
``controls`` (source-layer ``controls``: ``layer_kind``, ``name``; the control layers, not the base
layers such as district boundaries).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import mapbox_vector_tile
import numpy as np
import shapely
from sqlalchemy import Connection, Engine, and_, func, or_, select

from landrenew.features import (
    CF,
    RP,
    P,
    box_overlaps,
    clearance_case_of,
    connect,
    data_stamp,
    geom_column,
    latest_run_id,
    run_case_map,
    to_shapes,
)
from landrenew.geo.area import M2_PER_MU
from landrenew.intake.schema import BASE_LAYER_KINDS
from landrenew.lru import LRU
from landrenew.mvt import encode_layer

EXTENT = 4096
#: clip buffer around a tile, in tile units (so strokes at tile edges join up)
BUFFER = 64
#: from this zoom on every feature is drawn, unsimplified beyond the tile grid
DETAIL_ZOOM = 15
#: below DETAIL_ZOOM, features whose box is smaller than this many screen pixels (256-px tiles) are left out
MIN_PIXELS = 3
#: below this zoom few of a run's parcels are large enough to draw: find them by area, not by place
AREA_INDEX_BELOW = 13
MAX_ZOOM = 22
R = 6378137.0
WORLD = 2 * math.pi * R


@dataclass(frozen=True)
class Layer:
    id: str
    minzoom: int
    maxzoom: int
    fields: dict[str, str]
    description: str


LAYERS = {
    "parcels": Layer("parcels", 10, MAX_ZOOM, {
        "key": "String", "dlbm": "String", "district_code": "String", "area_mu": "Number",
        "tags": "String", "firm_class": "String", "family": "String", "path": "String",
        "unit_id": "Number", "case_no": "String"},
        "宗地；标注、分类、处置类别与路径、连片单元取自最新分析批次 / parcels with the latest run's results"),
    "controls": Layer("controls", 6, MAX_ZOOM, {"layer_kind": "String", "name": "String"},
                      "管控图层 / control layers"),
}


class TileError(ValueError):
    """No such layer or tile."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


def layer(name: str) -> Layer:
    if name not in LAYERS:
        raise TileError(f"没有图层 {name}", f"no tile layer {name}")
    return LAYERS[name]


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) of tile z/x/y in degrees."""
    n = 2 ** z

    def lon(i: float) -> float:
        return i / n * 360.0 - 180.0

    def lat(j: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * j / n))))

    return lon(x), lat(y + 1), lon(x + 1), lat(y)


def _check(name: str, z: int, x: int, y: int) -> Layer:
    lay = layer(name)
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2 ** z and 0 <= y < 2 ** z):
        raise TileError(f"没有瓦片 {z}/{x}/{y}", f"no tile {z}/{x}/{y}")
    return lay


def _to_tile(z: int, x: int, y: int) -> Any:
    size = WORLD / 2 ** z
    x0 = -WORLD / 2 + x * size
    y1 = WORLD / 2 - y * size
    scale = EXTENT / size

    def f(xy: np.ndarray) -> np.ndarray:
        mx = np.radians(xy[:, 0]) * R
        my = np.log(np.tan(np.pi / 4 + np.radians(np.clip(xy[:, 1], -85.06, 85.06)) / 2)) * R
        return np.column_stack(((mx - x0) * scale, (y1 - my) * scale))

    return f


def _shape(z: int, x: int, y: int, wkbs: list[Any]) -> np.ndarray:
    """Geometries projected to the tile grid, clipped to the buffer, simplified below DETAIL_ZOOM."""
    geoms = shapely.transform(to_shapes(wkbs), _to_tile(z, x, y))
    geoms = shapely.clip_by_rect(geoms, -BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER)
    if z < DETAIL_ZOOM:
        geoms = shapely.simplify(geoms, 1.0, preserve_topology=False)
    return geoms


def _padded(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The tile's bounds with the clip buffer."""
    w, s, e, n = tile_bounds(z, x, y)
    pad_x, pad_y = (e - w) * BUFFER / EXTENT, (n - s) * BUFFER / EXTENT
    return w - pad_x, s - pad_y, e + pad_x, n + pad_y


def _box_filter(conn: Connection, t: Any, z: int, x: int, y: int) -> Any:
    cond = box_overlaps(conn, t, _padded(z, x, y))
    if z < DETAIL_ZOOM:
        w, _, e, _ = tile_bounds(z, x, y)
        least = (e - w) / 256 * MIN_PIXELS
        cond = and_(cond, or_(t.c.maxx - t.c.minx >= least, t.c.maxy - t.c.miny >= least))
    return cond


Features = tuple[np.ndarray, list[int], list[dict[str, Any]]]  # geometries (tile grid), ids, properties


def least_mu(z: int, lat: float) -> float:
    """Below :data:`DETAIL_ZOOM`, the smallest parcel drawn (亩): a square of :data:`MIN_PIXELS` screen
    pixels (256-pixel tiles) at latitude ``lat``. A run's parcels are indexed by area, so this
    generalisation reads only the parcels it draws."""
    metres = WORLD * math.cos(math.radians(lat)) / (256 * 2 ** z) * MIN_PIXELS
    return metres * metres / M2_PER_MU


def _parcels(conn: Connection, z: int, x: int, y: int, run_id: int | None, districts: frozenset[str] | None) -> Features:
    cols = [P.c.id, P.c.key, P.c.dlbm, P.c.district_code, P.c.area_m2, geom_column(conn, P.c.geom).label("wkb")]
    if run_id is None:
        q = select(*cols).where(_box_filter(conn, P, z, x, y))
    elif z < AREA_INDEX_BELOW:  # the run's parcels large enough to see, through the (run_id, area_mu) index
        w, s, e, n = _padded(z, x, y)
        q = (select(*cols, RP.c.tags, RP.c.firm_class, RP.c.unit_id, RP.c.area_mu)
             .select_from(RP.join(P, P.c.key == RP.c.parcel_key))
             .where(RP.c.run_id == run_id, RP.c.area_mu >= least_mu(z, (s + n) / 2),
                    P.c.maxx >= w, P.c.minx <= e, P.c.maxy >= s, P.c.miny <= n))
    else:
        q = (select(*cols, RP.c.tags, RP.c.firm_class, RP.c.unit_id, RP.c.area_mu)
             .select_from(P.outerjoin(RP, and_(RP.c.parcel_key == P.c.key, RP.c.run_id == run_id)))
             .where(_box_filter(conn, P, z, x, y)))
        if z < DETAIL_ZOOM:
            q = q.where(RP.c.id.is_not(None))
    rows = conn.execute(q).all()
    if not rows:
        return np.zeros(0, dtype=object), [], []
    geoms = _shape(z, x, y, [r.wkb for r in rows])
    cases = run_case_map(conn, run_id) if run_id is not None else {}
    numbers = clearance_case_of(conn, [r.key for r in rows])
    props = []
    for r in rows:
        case = cases.get(r.key, (None, None, None))
        mu = getattr(r, "area_mu", None)
        if mu is None and r.area_m2 is not None:
            mu = r.area_m2 / M2_PER_MU
        props.append({"key": r.key, "dlbm": r.dlbm, "district_code": r.district_code,
                      "area_mu": None if mu is None else round(float(mu), 3),
                      "tags": getattr(r, "tags", None), "firm_class": getattr(r, "firm_class", None),
                      "family": case[1], "path": case[2], "unit_id": getattr(r, "unit_id", None),
                      "case_no": numbers.get(r.key) if districts is None or r.district_code in districts else None})
    return geoms, [r.id for r in rows], props


def _controls(conn: Connection, z: int, x: int, y: int) -> Features:
    rows = conn.execute(select(CF.c.id, CF.c.layer_kind, CF.c.name, geom_column(conn, CF.c.geom).label("wkb"))
                        .where(_box_filter(conn, CF, z, x, y), CF.c.layer_kind.not_in(BASE_LAYER_KINDS))).all()
    if not rows:
        return np.zeros(0, dtype=object), [], []
    return (_shape(z, x, y, [r.wkb for r in rows]), [r.id for r in rows],
            [{"layer_kind": r.layer_kind, "name": r.name} for r in rows])


_TILES = LRU(4096)


def tile(engine: Engine, name: str, z: int, x: int, y: int, districts: Iterable[str] | None = None) -> bytes:
    """The MVT of layer ``name`` at z/x/y (uncompressed); empty bytes when nothing is there or
    the zoom is below the layer's minzoom. With ``districts`` (a district role's), case numbers are
    given only for those districts' parcels, as the parcel sheet names only those cases."""
    lay = _check(name, z, x, y)
    if z < lay.minzoom:
        return b""
    with connect(engine) as conn:
        seen = None if districts is None else frozenset(districts)
        key = (name, z, x, y, seen, data_stamp(conn))
        hit = _TILES.get(key)
        if hit is not None:
            return hit
        geoms, ids, props = (_parcels(conn, z, x, y, latest_run_id(conn), seen) if name == "parcels"
                             else _controls(conn, z, x, y))
    data = encode_layer(name, geoms, ids, props, EXTENT)
    _TILES.put(key, data)
    return data


def decode(data: bytes) -> dict:
    """A tile's layers as ``mapbox_vector_tile.decode`` gives them (tile units, y down)."""
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True}) if data else {}


def bounds(engine: Engine, name: str) -> list[float] | None:
    """The layer's lon/lat bounds, or None when empty."""
    t = P if layer(name).id == "parcels" else CF
    with connect(engine) as conn:
        row = conn.execute(select(func.min(t.c.minx), func.min(t.c.miny), func.max(t.c.maxx), func.max(t.c.maxy))).one()
    return None if row[0] is None else [float(v) for v in row]


def tilejson(engine: Engine, name: str, tiles_url: str) -> dict:
    """TileJSON 3.0 of layer ``name``; ``tiles_url`` is the ``{z}/{x}/{y}`` URL template."""
    lay = layer(name)
    box = bounds(engine, name)
    doc = {"tilejson": "3.0.0", "name": name, "description": lay.description, "scheme": "xyz",
           "tiles": [tiles_url], "minzoom": lay.minzoom, "maxzoom": lay.maxzoom,
           "vector_layers": [{"id": lay.id, "fields": lay.fields, "minzoom": lay.minzoom, "maxzoom": lay.maxzoom,
                              "description": lay.description}]}
    if box is not None:
        doc["bounds"] = box
        doc["center"] = [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2, max(lay.minzoom, 12)]
    return doc
