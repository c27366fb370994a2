"""Where the parcels are: density zones, seed points and parcel geometries.

Parcels are Voronoi cells of seed points — on jittered, rotated grids in cores, towns,
parks and industrial belts, at random in the countryside, clustered in villages, none on
water — each cut by a rotated rectangle sized to the local spacing (dense areas give
contiguous blocks with road-like gaps, sparse areas isolated patches), then clipped to
its district and cut by water.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
import shapely
from numpy.typing import NDArray

from landrenew.demo.geography import Geography
from landrenew.demo.shapes import area_or_zero, desliver, largest_polygons, rectangles

#: zones (FARM = countryside inside permanent basic farmland, assigned with the land use)
PARK, CORE, TOWN, BELT, VILLAGE, RURAL, HILL, FARM = range(8)
URBAN_ZONES = (PARK, CORE, TOWN, BELT)
#: points per km² at the reference size of 50 000 parcels (scaled to n_parcels)
DENSITY = {PARK: 42.0, CORE: 55.0, TOWN: 45.0, BELT: 28.0, RURAL: 3.8, HILL: 3.0}
VILLAGE_SHARE = 0.145
#: dense zones: points on a jittered grid — keep share and rectangle size (× grid step)
GRID = {PARK: (0.88, 0.93), CORE: (0.9, 0.92), TOWN: (0.85, 0.92), BELT: (0.6, 0.8)}
#: sparse zones: rectangle scale (× local spacing) and aspect range
RECT = {VILLAGE: (0.95, 1.0, 1.5), RURAL: (0.62, 1.3, 2.6), HILL: (0.55, 1.0, 2.0)}

Weight = Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]]


@dataclass
class Points:
    """Parcel seed points with their zone and the rectangle that will cut their cell."""

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    zone: NDArray[np.int8]
    spacing: NDArray[np.float64]  # local spacing (≈ √ of the area per point)
    hx: NDArray[np.float64]  # half sides and orientation of the cutting rectangle
    hy: NDArray[np.float64]
    theta: NDArray[np.float64]

    def take(self, idx: NDArray[np.int64]) -> Points:
        return Points(*(getattr(self, f.name)[idx] for f in fields(self)))

    @staticmethod
    def concat(parts: list[Points]) -> Points:
        return Points(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Points)))


def sample_in(rng: np.random.Generator, geom: shapely.Geometry,
              n: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``n`` uniform random points in ``geom`` (rejection sampling); returns x, y."""
    if n <= 0 or geom.is_empty:
        return np.zeros(0), np.zeros(0)
    shapely.prepare(geom)
    x0, y0, x1, y1 = geom.bounds
    frac = max(geom.area / ((x1 - x0) * (y1 - y0)), 1e-3)
    xs, ys, got = [], [], 0
    while got < n:
        m = int((n - got) / frac * 1.15) + 64
        x, y = rng.uniform(x0, x1, m), rng.uniform(y0, y1, m)
        inside = shapely.contains_xy(geom, x, y)
        xs.append(x[inside])
        ys.append(y[inside])
        got += int(inside.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def _grid_points(rng: np.random.Generator, geom: shapely.Geometry, zone: int, k: int, keep: float,
                 gap: float, weight: Weight | None = None) -> Points:
    """About ``k`` points on a jittered grid, rotated per part of ``geom``, thinned by ``keep`` × weight.

    Voronoi cells of such points are block-like; rectangles of ``gap`` × the grid step
    leave road-like strips between neighbours. Thinned points get larger rectangles.
    """
    parts: list[Points] = []
    if k > 0 and not geom.is_empty:
        shapely.prepare(geom)
        x0, y0, x1, y1 = geom.bounds
        tx, ty = rng.uniform(x0, x1, 4000), rng.uniform(y0, y1, 4000)
        inside = shapely.contains_xy(geom, tx, ty)
        pbar = keep * (float(np.mean(weight(tx[inside], ty[inside]))) if weight is not None and inside.any() else 1.0)
        step = np.sqrt(geom.area * pbar / k)
        for part in shapely.get_parts(geom):
            if part.area < 0.5 * step * step:
                continue
            th = rng.uniform(-0.6, 0.6)
            asp = rng.uniform(1.0, 1.5)
            sx, sy = step * np.sqrt(asp), step / np.sqrt(asp)
            c, s_ = np.cos(th), np.sin(th)
            cx, cy = part.centroid.x, part.centroid.y
            bx = shapely.get_coordinates(part)
            u = (bx[:, 0] - cx) * c + (bx[:, 1] - cy) * s_
            v = -(bx[:, 0] - cx) * s_ + (bx[:, 1] - cy) * c
            uu, vv = np.meshgrid(np.arange(u.min() + rng.uniform(0, sx), u.max(), sx),
                                 np.arange(v.min() + rng.uniform(0, sy), v.max(), sy))
            uu = uu.ravel() + rng.uniform(-0.15, 0.15, uu.size) * sx
            vv = vv.ravel() + rng.uniform(-0.15, 0.15, vv.size) * sy
            x, y = cx + uu * c - vv * s_, cy + uu * s_ + vv * c
            p = keep * (weight(x, y) if weight is not None else np.ones(len(x)))
            ok = shapely.contains_xy(part, x, y) & (rng.random(len(x)) < p)
            x, y, p = x[ok], y[ok], p[ok]
            grow = 1.0 / np.sqrt(p)
            parts.append(Points(x, y, np.full(len(x), zone, np.int8), step * grow, gap * sx * grow / 2,
                                gap * sy * grow / 2, th + rng.normal(0, 0.02, len(x))))
    if not parts:
        return Points(*(np.zeros(0, np.int8 if f.name == "zone" else float) for f in fields(Points)))
    return Points.concat(parts)


def sample_points(rng: np.random.Generator, geo: Geography, n: int) -> tuple[Points, NDArray[np.float64]]:
    """About ``n`` parcel seed points by zone; returns the points and village centres (x, y, r)."""
    zones = {PARK: geo.park_zone, CORE: geo.core_zone, TOWN: geo.town_zone, BELT: geo.belt_zone,
             RURAL: geo.rural_zone, HILL: geo.hill_zone}
    n_village = int(round(n * VILLAGE_SHARE))
    expected = sum(DENSITY[z] * zones[z].area / 1e6 for z in zones)
    scale = (n - n_village) / expected

    def radial(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
        """Cores thin out away from the centres."""
        q = np.full(len(x), np.inf)
        for cx, cy, r in geo.core_centres:
            q = np.minimum(q, np.hypot(x - cx, y - cy) / r)
        return 0.35 + 0.65 * np.exp(-1.5 * q * q)

    phase = rng.uniform(0, 2 * np.pi, 3)
    parts: list[Points] = []
    for z, geom in zones.items():
        k = int(round(DENSITY[z] * scale * geom.area / 1e6))
        if z in GRID:
            keep, gap = GRID[z]
            parts.append(_grid_points(rng, geom, z, k, keep, gap, radial if z == CORE else None))
            continue
        x, y = sample_in(rng, geom, k)
        s = np.full(len(x), np.sqrt(geom.area / max(k, 1)))
        f, lo, hi = RECT[z]
        asp = rng.uniform(lo, hi, len(x))
        side = f * s * rng.uniform(0.9, 1.1, len(x))
        # rectangles follow a smooth, field-like orientation pattern
        th = (0.35 * np.sin(x / 7000.0 + phase[0]) * np.cos(y / 9000.0 + phase[1])
              + 0.25 * np.sin(y / 5000.0 + phase[2]) + rng.normal(0, 0.05, len(x)))
        parts.append(Points(x, y, np.full(len(x), z, np.int8), s, side * np.sqrt(asp) / 2,
                            side / np.sqrt(asp) / 2, th))
    # villages: clusters of homesteads in the countryside (a few in the hills)
    n_vil = max(1, int(round(n_village / 10.0)))
    n_hill = int(round(n_vil * 0.08))
    vx1, vy1 = sample_in(rng, geo.rural_zone, n_vil - n_hill)
    vx2, vy2 = sample_in(rng, geo.hill_zone, n_hill)
    vx, vy = np.concatenate([vx1, vx2]), np.concatenate([vy1, vy2])
    vr = rng.uniform(110.0, 260.0, len(vx))
    vk = 3 + rng.poisson(7.0, len(vx))
    vid = np.repeat(np.arange(len(vx)), vk)
    ang = rng.uniform(0, 2 * np.pi, len(vid))
    rad = vr[vid] * np.sqrt(rng.random(len(vid)))
    px, py = vx[vid] + rad * np.cos(ang), vy[vid] + rad * np.sin(ang)
    ok = shapely.contains_xy(geo.city, px, py) & ~shapely.contains_xy(geo.water, px, py)
    s = (vr * np.sqrt(np.pi / vk))[vid][ok]
    f, lo, hi = RECT[VILLAGE]
    asp = rng.uniform(lo, hi, len(s))
    vth = rng.uniform(-0.5, 0.5, len(vx))[vid][ok] + rng.normal(0, 0.08, len(s))
    parts.append(Points(px[ok], py[ok], np.full(len(s), VILLAGE, np.int8), s, f * s * np.sqrt(asp) / 2,
                        f * s / np.sqrt(asp) / 2, vth))
    pts = Points.concat(parts)
    # drop (practically impossible) duplicate points: Voronoi cells must map 1:1 to points
    _, first = np.unique(np.round(np.column_stack([pts.x, pts.y]), 2), axis=0, return_index=True)
    return pts.take(np.sort(first)), np.column_stack([vx, vy, vr])


def parcel_geometries(rng: np.random.Generator, geo: Geography, pts: Points, built: NDArray[np.bool_],
                      n_parcels: int) -> tuple[NDArray[np.int64], NDArray[np.object_], NDArray[np.int64],
                                               NDArray[np.float64]]:
    """Cut each point's parcel and keep at most ``n_parcels`` sound ones.

    ``built`` marks construction land (cut smaller in the countryside). Drops slivers and
    parcels whose centroid falls outside their district, then trims the surplus evenly.
    Returns the kept point indices, their geometries, district index and area (m²).
    """
    geoms, district_idx = _cut_cells(rng, geo, pts, built)
    area = area_or_zero(geoms)
    ok = (district_idx >= 0) & (area >= np.maximum(30.0, 0.03 * pts.spacing ** 2))
    cen = shapely.centroid(np.where(ok, geoms, None))
    for k, d in enumerate(geo.districts.geometry):
        m = ok & (district_idx == k)
        ok[np.flatnonzero(m)[~shapely.contains_xy(d, shapely.get_x(cen[m]), shapely.get_y(cen[m]))]] = False
    keep = np.flatnonzero(ok)
    if len(keep) > n_parcels:
        keep = np.sort(rng.choice(keep, n_parcels, replace=False))
    geoms = geoms[keep]
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms[invalid] = largest_polygons(shapely.make_valid(geoms[invalid]))
    return keep, geoms, district_idx[keep], area[keep]


def _cut_cells(rng: np.random.Generator, geo: Geography, pts: Points,
               built: NDArray[np.bool_]) -> tuple[NDArray[np.object_], NDArray[np.int64]]:
    """Voronoi cell ∩ rotated rectangle ∩ district − water, per point; returns geometries and district index."""
    n = len(pts.x)
    shrink = np.ones(n)
    sparse_built = np.isin(pts.zone, [RURAL, HILL]) & built
    shrink[sparse_built] = rng.uniform(0.35, 0.6, int(sparse_built.sum()))
    hx, hy = pts.hx * shrink, pts.hy * shrink
    jx, jy = rng.uniform(-0.1, 0.1, n) * hx, rng.uniform(-0.1, 0.1, n) * hy
    rects = rectangles(pts.x + jx, pts.y + jy, hx, hy, pts.theta)

    district = np.full(n, -1, dtype=np.int64)
    geoms = np.full(n, None, dtype=object)
    water = geo.water
    shapely.prepare(water)
    for k, d in enumerate(geo.districts.geometry):
        shapely.prepare(d)
        sel = np.flatnonzero(shapely.contains_xy(d, pts.x, pts.y) & (district < 0))
        district[sel] = k
        if len(sel) == 0:
            continue
        env = shapely.box(*shapely.buffer(shapely.envelope(d), 5000.0).bounds)
        cells = shapely.get_parts(shapely.voronoi_polygons(
            shapely.multipoints(np.column_stack([pts.x[sel], pts.y[sel]])), extend_to=env, ordered=True))
        if len(cells) != len(sel):  # cannot happen with distinct points; guard anyway
            raise RuntimeError("Voronoi cells do not match their points")
        g = shapely.intersection(cells, rects[sel])
        out = ~shapely.contains(d, g)
        g[out] = shapely.intersection(g[out], d)
        wet = shapely.intersects(water, g)
        g[wet] = shapely.difference(g[wet], water)
        cut = out | wet  # cut by long detailed boundaries: drop slivers and spikes
        g[cut] = desliver(g[cut])
        geoms[sel] = g
    return largest_polygons(geoms), district
