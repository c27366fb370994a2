"""The detailed-plan layer (详细规划 / 控规): planned-use zones tessellating the urban development boundary.

Zones are the size of real 控规 blocks bounded by roads — about 16 ha in the cores and towns
and about 29 ha in the industrial parks and belts, 8–40 ha for most — whatever the number of
parcels: Voronoi cells of two jittered, rotated seed grids (400 m and 540 m apart), clipped to
the urban boundary's district parts. Clipped scraps under ``MERGE_HA`` join the neighbour
they share most border with (or are dropped when they have none).

Each zone's planned use (a 用地用海 code) follows where it lies: industrial (1001) and
logistics (1101) inside the industrial protection line, housing, commerce, business and public
services in the cores and towns — and, outside the line, zones whose land is largely
industrial today are often planned for commerce, business or housing (工改服 candidates).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from landrenew.demo.common import running_number
from landrenew.demo.controls import _frame
from landrenew.demo.geography import Geography

#: seed spacing (m): cores and towns / industrial areas (inside the industrial protection line)
SPACING = (400.0, 540.0)
#: jitter of the grid seeds, as a share of the spacing (each axis, ±)
JITTER = 0.22
#: scraps smaller than this (ha) are merged into a neighbour; lone scraps smaller than DROP_HA are dropped
MERGE_HA = 6.0
DROP_HA = 1.5
#: planned-use mix (用地用海 code → weight) by setting
MIX: dict[str, dict[str, float]] = {
    # inside the industrial protection line / parks and belts
    "industrial": {"1001": .74, "1101": .12, "0902": .03, "0802": .02, "1401": .06, "0701": .03},
    "core": {"0701": .44, "0901": .14, "0902": .10, "0801": .02, "0804": .05, "0805": .02, "0806": .03,
             "1401": .12, "1101": .02, "1001": .03, "0702": .03},
    "town": {"0701": .46, "0901": .13, "0902": .04, "0801": .02, "0804": .05, "0806": .02, "1401": .09,
             "1001": .13, "1101": .04, "0702": .02},
    # outside the line, land largely industrial today: 工改服 (industry → services) or kept
    "mostly_industrial": {"1001": .42, "1101": .05, "0901": .13, "0902": .17, "0701": .17, "1401": .06},
    "partly_industrial": {"1001": .18, "1101": .04, "0901": .20, "0902": .18, "0701": .32, "0804": .03,
                          "1401": .05},
}
#: share of a zone's area in industrial parcels above which it counts as mostly / partly industrial
MOSTLY, PARTLY = 0.45, 0.15


def planned_use_layer(rng: np.random.Generator, geo: Geography, urban_parts: gpd.GeoDataFrame,
                      industrial_line: shapely.Geometry, ind_x: NDArray[np.float64], ind_y: NDArray[np.float64],
                      ind_area: NDArray[np.float64]) -> gpd.GeoDataFrame:
    """The 详细规划用地 layer (work CRS): feature_id, name, district_code, ydyh_code, geometry.

    ``urban_parts`` is the urban-boundary layer (district parts); ``ind_x``/``ind_y``/``ind_area``
    locate the existing industrial parcels (a point each) and give their areas in m².
    """
    parts = urban_parts.geometry.values
    part_code = urban_parts["district_code"].to_numpy(dtype=object)
    urban = shapely.union_all(parts)
    shapely.prepare(urban)
    shapely.prepare(industrial_line)

    # seeds: a jittered, rotated grid per setting; a cell of each seed
    xs, ys = [], []
    x0, y0, x1, y1 = urban.bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half = max(x1 - x0, y1 - y0) / 2 * 1.42
    for k, s in enumerate(SPACING):
        theta = rng.uniform(0, np.pi / 2)
        u, v = np.meshgrid(np.arange(-half, half, s), np.arange(-half, half, s))
        u = u.ravel() + rng.uniform(-JITTER, JITTER, u.size) * s
        v = v.ravel() + rng.uniform(-JITTER, JITTER, v.size) * s
        x = cx + u * np.cos(theta) - v * np.sin(theta)
        y = cy + u * np.sin(theta) + v * np.cos(theta)
        box = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        x, y = x[box], y[box]
        on_line = shapely.contains_xy(industrial_line, x, y)
        keep = shapely.contains_xy(urban, x, y) & (on_line if k == 1 else ~on_line)
        xs.append(x[keep])
        ys.append(y[keep])
    sx, sy = np.concatenate(xs), np.concatenate(ys)
    frame = shapely.box(x0 - 5000, y0 - 5000, x1 + 5000, y1 + 5000)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(np.column_stack([sx, sy])),
                                                       extend_to=frame, ordered=True))

    # clip to the district parts of the urban boundary: whole cells where they fit
    shapely.prepare(parts)
    i, j = shapely.STRtree(parts).query(cells, predicate="intersects")
    inside = shapely.contains(parts[j], cells[i])
    geoms = cells[i].copy()
    geoms[~inside] = shapely.intersection(cells[i[~inside]], parts[j[~inside]])
    pieces, pidx = shapely.get_parts(geoms, return_index=True)
    poly = (shapely.get_type_id(pieces) == 3) & (shapely.area(pieces) > 1.0)
    pieces, codes = pieces[poly], part_code[j[pidx[poly]]]
    pieces, codes = _merge_scraps(pieces, codes)

    # where each zone lies
    rep = shapely.point_on_surface(pieces)
    px, py = shapely.get_x(rep), shapely.get_y(rep)
    area = shapely.area(pieces)
    in_line = shapely.contains_xy(industrial_line, px, py)
    for g in (geo.park_zone, geo.belt_zone, geo.core_zone):
        shapely.prepare(g)
    industrial = in_line | shapely.contains_xy(geo.park_zone, px, py) | shapely.contains_xy(geo.belt_zone, px, py)
    core = ~industrial & shapely.contains_xy(geo.core_zone, px, py)
    ind_share = _industrial_share(pieces, area, ind_x, ind_y, ind_area)
    setting = np.where(industrial, "industrial", np.where(core, "core", "town")).astype(object)
    setting[~industrial & (ind_share >= PARTLY)] = "partly_industrial"
    setting[~industrial & (ind_share >= MOSTLY)] = "mostly_industrial"
    # one uniform draw per zone: a zone keeps its planned use while its setting stays the same
    u = rng.random(len(pieces))
    ydyh = np.empty(len(pieces), dtype=object)
    for name, mix in MIX.items():
        m = setting == name
        cdf = np.cumsum(list(mix.values())) / sum(mix.values())
        ydyh[m] = np.asarray(list(mix), dtype=object)[np.minimum(np.searchsorted(cdf, u[m], side="right"), len(cdf) - 1)]

    names = _area_names(geo, px, py)
    # order: district, area name, then row by row (north to south, west to east)
    row = np.floor(-py / 400.0)
    order = np.lexsort((px, row, names.astype(str), codes.astype(str)))
    pieces, codes, names, ydyh = pieces[order], codes[order], names[order], ydyh[order]
    labels = [f"{n}规划单元-{k:02d}" for n, k in zip(names, running_number(names), strict=True)]
    out = _frame("XXGH", labels, list(codes), list(pieces))  # already in district order: stable
    out.insert(3, "ydyh_code", ydyh)
    return out


def _merge_scraps(pieces: NDArray[np.object_],
                  codes: NDArray[np.object_]) -> tuple[NDArray[np.object_], NDArray[np.object_]]:
    """Merge pieces under ``MERGE_HA`` into the same-district neighbour they share most border with."""
    area = shapely.area(pieces)
    small = np.flatnonzero(area < MERGE_HA * 1e4)
    big = np.flatnonzero(area >= MERGE_HA * 1e4)
    if len(small) == 0 or len(big) == 0:
        return pieces, codes
    i, j = shapely.STRtree(pieces[big]).query(pieces[small], predicate="intersects")
    same = codes[small[i]] == codes[big[j]]
    i, j = i[same], j[same]
    shared = shapely.length(shapely.intersection(shapely.boundary(pieces[small[i]]), shapely.boundary(pieces[big[j]])))
    pairs = pd.DataFrame({"i": i, "j": j, "len": shared})
    pairs = pairs[pairs["len"] > 1.0].sort_values(["i", "len"], ascending=[True, False]).drop_duplicates("i")
    out = pieces.copy()
    merged = np.zeros(len(pieces), dtype=bool)
    for t, grp in pairs.groupby("j")["i"]:  # a loop over merge targets (a few hundred)
        scraps = small[grp.to_numpy()]
        g = shapely.union_all(np.append(pieces[scraps], pieces[big[t]]))
        if shapely.get_type_id(g) == 3:  # joined cleanly (else the scraps stay as they are)
            out[big[t]] = g
            merged[scraps] = True
    keep = ~merged & (area >= DROP_HA * 1e4)
    return out[keep], codes[keep]


def _industrial_share(zones: NDArray[np.object_], area: NDArray[np.float64], x: NDArray[np.float64],
                      y: NDArray[np.float64], parcel_area: NDArray[np.float64]) -> NDArray[np.float64]:
    """Share of each zone's area taken by industrial parcels (by the zone holding each parcel's point)."""
    if len(x) == 0:
        return np.zeros(len(zones))
    shapely.prepare(zones)
    i, j = shapely.STRtree(shapely.points(x, y)).query(zones, predicate="contains")
    held = np.bincount(i, weights=parcel_area[j], minlength=len(zones))
    return np.minimum(held / area, 1.0)


def _area_names(geo: Geography, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.object_]:
    """The park, core or town each point lies in (in that order of priority), else the nearest one."""
    plan = geo.plan[geo.plan["kind"].isin(["park", "cluster", "core", "town"])]
    rank = plan["kind"].map({"park": 0, "cluster": 0, "core": 1, "town": 2}).to_numpy()
    plan = plan.iloc[np.argsort(rank, kind="stable")]
    g = plan.geometry.values
    names = plan["name"].to_numpy(dtype=object)
    pts = shapely.points(x, y)
    tree = shapely.STRtree(g)
    i, j = tree.query(pts, predicate="within")
    out = np.full(len(x), None, dtype=object)
    first = pd.Series(j).groupby(i).min()  # the highest-priority feature holding each point
    out[first.index.to_numpy()] = names[first.to_numpy()]
    lone = np.flatnonzero(out == None)  # noqa: E711 (element-wise)
    if len(lone):
        out[lone] = names[tree.nearest(pts[lone])]
    return out
