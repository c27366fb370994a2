"""Vectorised geometry helpers for the demo city (work CRS, metres)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from landrenew.demo.geography import geoms_to_out, geoms_to_work


def _flat_parts(geoms: NDArray[np.object_]) -> tuple[NDArray[np.object_], NDArray[np.int64]]:
    """Single-part pieces of each geometry (collections fully unnested) and their source index."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    ptid = shapely.get_type_id(parts)
    while (ptid >= 4).any():
        nested = ptid >= 4
        sub, sidx = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        idx = np.concatenate([idx[~nested], idx[nested][sidx]])
        ptid = shapely.get_type_id(parts)
    return parts, idx


def largest_polygons(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Reduce every geometry to its largest polygon (None when it has none)."""
    geoms = geoms.copy()
    multi = np.flatnonzero(shapely.get_type_id(geoms) != 3)
    if len(multi) == 0:
        return geoms
    parts, idx = _flat_parts(geoms[multi])
    poly = shapely.get_type_id(parts) == 3
    parts, idx = parts[poly], idx[poly]
    order = np.lexsort((-shapely.area(parts), idx))
    parts, idx = parts[order], idx[order]
    first = np.r_[True, idx[1:] != idx[:-1]] if len(idx) else np.zeros(0, bool)
    out = np.full(len(multi), None, dtype=object)
    out[idx[first]] = parts[first]
    geoms[multi] = out
    return geoms


def polygonal(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Keep only the polygons of each geometry (as a MultiPolygon; None when there are none)."""
    parts, idx = _flat_parts(geoms)
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    out = np.full(len(geoms), None, dtype=object)
    if keep.any():
        order = np.argsort(idx[keep], kind="stable")
        ids = idx[keep][order]
        multi = shapely.multipolygons(parts[keep][order], indices=np.unique(ids, return_inverse=True)[1])
        out[np.unique(ids)] = multi
    return out


def local_intersection(small: NDArray[np.object_], big: shapely.Geometry,
                       tile: float = 3000.0) -> NDArray[np.object_]:
    """``small ∩ big`` for many small geometries and one very complex ``big``.

    Overlay cost grows with the complexity of both inputs, so ``big`` is first cut into
    tiles (cheap rectangle clipping) and each small geometry meets only its tiles.
    Geometries that miss ``big`` are dropped.
    """
    if len(small) == 0 or big.is_empty:
        return np.zeros(0, dtype=object)
    x0, y0, x1, y1 = big.bounds
    tiles = [shapely.clip_by_rect(big, tx, ty, tx + tile, ty + tile)
             for tx in np.arange(x0, x1, tile) for ty in np.arange(y0, y1, tile)]
    tiles_arr = polygonal(shapely.make_valid(np.asarray(tiles, dtype=object)))
    tiles_arr = tiles_arr[tiles_arr != None]  # noqa: E711 (element-wise)
    i, j = shapely.STRtree(tiles_arr).query(small, predicate="intersects")
    pieces = polygonal(shapely.intersection(small[i], tiles_arr[j]))
    ok = pieces != None  # noqa: E711
    frame = pd.DataFrame({"i": i[ok], "g": pieces[ok]})
    out = []
    for _, grp in frame.groupby("i", sort=True):  # a loop over blocks, not parcels
        out.append(grp["g"].iloc[0] if len(grp) == 1 else shapely.union_all(grp["g"].to_numpy()))
    return np.asarray(out, dtype=object)


def desliver(geoms: NDArray[np.object_], width: float = 0.05) -> NDArray[np.object_]:
    """Remove parts thinner than ``2 × width`` metres (spikes, slivers) and keep the largest polygon.

    Multi-part features (batches, layers) keep all their polygons.
    """
    opened = shapely.buffer(shapely.buffer(geoms, -width, join_style="mitre"), width, join_style="mitre")
    out = largest_polygons(opened)
    multi = shapely.get_type_id(geoms) == 6
    if multi.any():
        out[multi] = polygonal(opened[multi])
    return out


def to_out(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Work-CRS polygons → EPSG:4490, valid both there and when projected back to metres.

    Geometries that a round trip would make invalid (near-degenerate vertices) are snapped
    to a 1 cm grid and de-slivered first.
    """
    geoms = np.asarray(geoms, dtype=object).copy()
    out = geoms_to_out(geoms)
    for _ in range(3):
        bad = ~shapely.is_valid(out) | ~shapely.is_valid(geoms_to_work(out))
        if not bad.any():
            break
        fixed = desliver(shapely.set_precision(geoms[bad], 0.01))
        gone = fixed == None  # noqa: E711
        fixed[gone] = shapely.make_valid(geoms[bad][gone])
        geoms[bad] = fixed
        out[bad] = geoms_to_out(fixed)
    return out


def rectangles(x: NDArray[np.float64], y: NDArray[np.float64], hx: NDArray[np.float64],
               hy: NDArray[np.float64], theta: NDArray[np.float64]) -> NDArray[np.object_]:
    """Rotated rectangles centred at x/y with half sides hx/hy, turned by ``theta`` radians."""
    ux = np.array([-1.0, 1.0, 1.0, -1.0, -1.0])
    uy = np.array([-1.0, -1.0, 1.0, 1.0, -1.0])
    lx, ly = hx[:, None] * ux, hy[:, None] * uy
    c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
    coords = np.stack([x[:, None] + lx * c - ly * s, y[:, None] + lx * s + ly * c], axis=-1)
    return shapely.polygons(coords)


def area_or_zero(geoms: NDArray[np.object_]) -> NDArray[np.float64]:
    """Areas, 0 for missing geometries."""
    area = shapely.area(geoms)
    area[geoms == None] = 0.0  # noqa: E711
    return area
