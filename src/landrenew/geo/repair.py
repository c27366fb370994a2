"""Vectorised geometry repair for polygon layers, with a log of what was done.

Invalid polygons are repaired with GEOS ``make_valid`` ("structure" method, with
"linework" as fallback), reduced to their polygonal parts as a MultiPolygon, and
zero-area slivers dropped. Empty or missing geometries and NaN coordinates are
not guessed at: they are logged with ``fixed=False`` so that intake reports them.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from landrenew.geo.area import area_m2

_POLYGONAL = (3, 6)  # shapely type ids of Polygon and MultiPolygon
_NESTED = (4, 5, 6, 7)  # multi-part geometries and collections
_EMPTY_MULTIPOLYGON = shapely.from_wkt("MULTIPOLYGON EMPTY")
_TYPE_NAMES = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
                        "MultiLineString", "MultiPolygon", "GeometryCollection"], dtype=object)

#: GEOS validity reason (text before "[x y]") → (zh, en) action once repaired
ACTIONS: dict[str, tuple[str, str]] = {
    "Self-intersection": ("自相交已修复", "self-intersection repaired"),
    "Ring Self-intersection": ("环自相交已修复", "ring self-intersection repaired"),
    "Too few points in geometry component": ("点数不足的环已去除", "rings with too few points removed"),
    "Hole lies outside shell": ("位于外环之外的洞已修复", "hole outside shell repaired"),
    "Nested holes": ("嵌套的洞已修复", "nested holes repaired"),
    "Interior is disconnected": ("内部不连通已修复（拆为多个面）", "disconnected interior repaired (split into parts)"),
    "Nested shells": ("嵌套的外环已修复", "nested shells repaired"),
    "Duplicate Rings": ("重复的环已去除", "duplicate rings removed"),
    "Ring is not closed": ("未闭合的环已闭合", "unclosed ring closed"),
}
_GENERIC_FIXED = ("无效几何已修复", "invalid geometry repaired")
_PARTS_KEPT = ("已保留面部分（去除点/线）", "polygon parts kept (points/lines dropped)")
_EMPTY = ("空几何，无法修复", "empty geometry, cannot be repaired")
_NOT_POLYGON = ("非面几何，无法修复", "not a polygon, cannot be repaired")
_DEGENERATE = ("退化为线或点（无面积），无法修复", "degenerate (no area), cannot be repaired")
_BAD_COORD = ("坐标含无效值（NaN/无穷大），无法修复", "invalid coordinate (NaN/infinite), cannot be repaired")

LOG_COLUMNS = ["index", "problem", "action_zh", "action_en", "area_change_m2", "fixed"]


def to_polygonal(geoms: gpd.GeoSeries | NDArray[np.object_]) -> NDArray[np.object_]:
    """Polygonal part of each geometry as a MultiPolygon (vectorised).

    Parts of collections are flattened, points, lines and zero-area polygons are
    dropped. A geometry without polygonal parts gives an empty MultiPolygon;
    a missing geometry stays None.
    """
    arr = np.asarray(geoms.array if isinstance(geoms, gpd.GeoSeries) else geoms, dtype=object)
    out = np.full(len(arr), _EMPTY_MULTIPOLYGON, dtype=object)
    out[shapely.is_missing(arr)] = None
    parts, idx = shapely.get_parts(arr, return_index=True)
    while True:  # flatten nested collections (a collection may hold a multipolygon)
        nested = np.isin(shapely.get_type_id(parts), _NESTED)
        if not nested.any():
            break
        sub, sub_idx = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        idx = np.concatenate([idx[~nested], idx[nested][sub_idx]])
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
    parts, idx = parts[keep], idx[keep]
    if not len(parts):
        return out
    order = np.argsort(idx, kind="stable")
    return shapely.multipolygons(parts[order], indices=idx[order], out=out)


def repair_geometries(geoms: gpd.GeoSeries) -> tuple[gpd.GeoSeries, pd.DataFrame]:
    """Repair invalid or non-polygonal geometries of a polygon layer.

    Returns the repaired series (same index and CRS; untouched rows keep their
    geometry, repaired rows become MultiPolygons, rows that cannot be repaired are
    returned unchanged) and a log with one row per problem geometry:
    ``index`` (original label), ``problem`` (GEOS reason, e.g.
    ``"Self-intersection[119.9 31.7]"``), ``action_zh``, ``action_en``,
    ``area_change_m2`` (NaN without CRS or when not fixed) and ``fixed``.
    Rows with ``fixed=False`` (empty, missing, degenerate, NaN coordinates,
    points/lines) should be rejected by the caller.
    """
    arr = np.asarray(geoms.array, dtype=object)
    n = len(arr)
    missing = shapely.is_missing(arr)
    empty = ~missing & shapely.is_empty(arr)
    present = ~(missing | empty)
    valid = shapely.is_valid(arr)
    polygonal = np.isin(shapely.get_type_id(arr), _POLYGONAL)
    invalid = present & ~valid
    non_polygonal = present & valid & ~polygonal

    problem = np.full(n, "", dtype=object)
    problem[missing] = "Missing geometry"
    problem[empty] = "Empty geometry"
    problem[invalid] = shapely.is_valid_reason(arr[invalid])
    problem[non_polygonal] = "Not polygonal: " + _TYPE_NAMES[shapely.get_type_id(arr[non_polygonal])]
    reason = pd.Series(problem, dtype=object).str.split("[", n=1).str[0].to_numpy()
    bad_coord = invalid & (reason == "Invalid Coordinate")

    # repair: make_valid (structure, fallback linework) then keep polygonal parts
    todo = np.flatnonzero((invalid & ~bad_coord) | non_polygonal)
    result = arr.copy()
    fixed = np.zeros(n, dtype=bool)
    if len(todo):
        candidates = arr[todo]
        needs_mv = invalid[todo]
        repaired = candidates.copy()
        repaired[needs_mv] = shapely.make_valid(candidates[needs_mv], method="structure", keep_collapsed=False)
        repaired = to_polygonal(repaired)
        retry = needs_mv & shapely.is_empty(repaired)
        if retry.any():
            repaired[retry] = to_polygonal(shapely.make_valid(candidates[retry], method="linework"))
        ok = ~shapely.is_empty(repaired) & shapely.is_valid(repaired)
        result[todo[ok]] = repaired[ok]
        fixed[todo[ok]] = True

    # actions: one (zh, en) per problem row
    action_zh = np.full(n, "", dtype=object)
    action_en = np.full(n, "", dtype=object)
    known = np.isin(reason, list(ACTIONS))
    for sel, (zh, en) in (
        (invalid & fixed & ~known, _GENERIC_FIXED),
        (non_polygonal & fixed, _PARTS_KEPT),
        (non_polygonal & ~fixed, _NOT_POLYGON),
        (invalid & ~fixed & ~bad_coord, _DEGENERATE),
        (bad_coord, _BAD_COORD),
        (missing | empty, _EMPTY),
    ):
        action_zh[sel], action_en[sel] = zh, en
    sel = invalid & fixed & known
    if sel.any():
        keys = pd.Series(reason[sel])
        action_zh[sel] = keys.map({k: v[0] for k, v in ACTIONS.items()}).to_numpy()
        action_en[sel] = keys.map({k: v[1] for k, v in ACTIONS.items()}).to_numpy()

    logged = np.flatnonzero(problem != "")
    change = np.full(len(logged), np.nan)
    if geoms.crs is not None and len(logged):
        done = fixed[logged]
        if done.any():
            before = area_m2(gpd.GeoSeries(arr[logged[done]], crs=geoms.crs))
            after = area_m2(gpd.GeoSeries(result[logged[done]], crs=geoms.crs))
            change[done] = after - before
    log = pd.DataFrame({
        "index": geoms.index[logged],
        "problem": problem[logged].astype(str),
        "action_zh": action_zh[logged].astype(str),
        "action_en": action_en[logged].astype(str),
        "area_change_m2": change,
        "fixed": fixed[logged],
    }, columns=LOG_COLUMNS)
    out = gpd.GeoSeries(result, index=geoms.index, crs=geoms.crs, name=geoms.name)
    return out, log
