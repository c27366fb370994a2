"""The five control layers: ecological red line, permanent basic farmland, urban development
boundary, industrial protection line and industrial parks (work CRS)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray

from landrenew.demo.geography import WORK_CRS, Geography
from landrenew.demo.layout import sample_in
from landrenew.demo.shapes import local_intersection

#: layer kinds in delivery order
LAYER_ORDER = ("eco_redline", "basic_farmland", "urban_boundary", "industrial_line", "industrial_park")
#: share of rural seed blocks that become basic farmland, by district (before the distance taper)
FARMLAND_SHARE = {"320402": 0.25, "320404": 0.25, "320411": 0.32, "320412": 0.46, "320413": 0.52, "320481": 0.52}


def control_layers(rng: np.random.Generator, geo: Geography,
                   villages: NDArray[np.float64]) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, shapely.Geometry]]:
    """The five control layers (work CRS, in ``LAYER_ORDER``) and the unions of four of them.

    ``villages`` holds village centres and radii (x, y, r); basic farmland keeps clear of them.
    """
    nature, plan = geo.nature, geo.plan
    layers: dict[str, gpd.GeoDataFrame] = {}

    # ecological red line: wetlands, drinking-water sources and forests, none on built-up land
    built = shapely.union_all([geo.park_zone, geo.core_zone, geo.town_zone]).buffer(100.0, quad_segs=4)
    sources: list[tuple[str, shapely.Geometry]] = [("长江（常州段）重要湿地", shapely.buffer(geo.yangtze, 500.0, quad_segs=4))]
    for name, dist in (("滆湖", 1000.0), ("长荡湖", 1000.0), ("天目湖", 1500.0), ("大溪水库", 1500.0)):
        g = shapely.union_all(nature.geometry[nature["name"] == name].values)
        label = f"{name}重要湿地" if "湖" in name and name != "天目湖" else f"{name}饮用水水源保护区"
        sources.append((label, shapely.buffer(g, dist, quad_segs=6)))
    for name in ("茅山", "南山"):
        sources.append((f"{name}生态公益林", shapely.union_all(nature.geometry[nature["name"] == name].values)))
    names, codes, parts = [], [], []
    taken = shapely.Polygon()
    for label, g in sources:
        g = shapely.difference(shapely.difference(shapely.intersection(g, geo.city), built), taken)
        taken = shapely.union_all([taken, g])
        cs, ps = _district_parts(geo, g, 5e4)
        names += [label] * len(ps)
        codes += cs
        parts += ps
    layers["eco_redline"] = _frame("STHX", names, codes, parts)
    eco = shapely.union_all(parts)

    # urban development boundary: the built-up zones, smoothed, minus red line and water
    urban = shapely.union_all([geo.core_zone, geo.town_zone, geo.park_zone, geo.belt_zone])
    urban = urban.buffer(300.0, quad_segs=4).buffer(-200.0, quad_segs=4)
    urban = shapely.difference(shapely.intersection(urban, geo.city), shapely.union_all([eco, geo.lakes, geo.yangtze]))
    codes, parts = _district_parts(geo, urban, 1e5)
    named = plan[plan["kind"].isin(["core", "town", "park", "cluster"])]
    layers["urban_boundary"] = _frame("CZKFBJ", _best_name(parts, named, "城镇开发边界"), codes, parts)
    urban = shapely.union_all(parts)

    industrial = shapely.intersection(shapely.union_all([geo.park_zone, geo.belt_zone]).buffer(80.0, quad_segs=4), urban)
    codes, parts = _district_parts(geo, industrial, 1e5)
    named = plan[plan["kind"].isin(["park", "cluster", "belt"])]
    layers["industrial_line"] = _frame("GYBZX", _best_name(parts, named, "工业用地保障区块"), codes, parts)

    names, codes, parts = [], [], []
    parks = plan[plan["kind"].isin(["park", "cluster"])]
    for name, g in zip(parks["name"], parks.geometry, strict=True):
        cs, ps = _district_parts(geo, g, 2e4)
        names += [name] * len(ps)
        codes += cs
        parts += ps
    layers["industrial_park"] = _frame("YQ", names, codes, parts)

    # permanent basic farmland: blocks of the countryside, away from villages, towns and red lines
    discs = shapely.buffer(shapely.points(villages[:, 0], villages[:, 1]), villages[:, 2] + 150.0, quad_segs=3)
    avail = shapely.difference(geo.rural_zone, shapely.union_all([urban, eco, geo.water, shapely.union_all(discs)]))
    seeds_x, seeds_y = sample_in(rng, geo.rural_zone, max(50, int(geo.rural_zone.area / 1.3e6)))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(np.column_stack([seeds_x, seeds_y])),
                                                       extend_to=shapely.box(*geo.city.bounds), ordered=True))
    dcode = np.full(len(seeds_x), "", dtype=object)
    for code, d in zip(geo.districts["district_code"], geo.districts.geometry, strict=True):
        dcode[shapely.contains_xy(d, seeds_x, seeds_y)] = code
    q = np.full(len(seeds_x), np.inf)  # distance beyond the main centres' radius: less farmland near the city
    for cx, cy, r in geo.core_centres[:5]:
        q = np.minimum(q, np.hypot(seeds_x - cx, seeds_y - cy) - r)
    p = np.array([FARMLAND_SHARE.get(c, 0.0) for c in dcode]) * np.clip(q / 6000.0, 0.35, 1.0)
    chosen = rng.random(len(p)) < p
    codes, parts = [], []
    for code, d in zip(geo.districts["district_code"], geo.districts.geometry, strict=True):
        pieces = shapely.get_parts(local_intersection(cells[chosen & (dcode == code)], shapely.intersection(avail, d)))
        pieces = pieces[(shapely.get_type_id(pieces) == 3) & (shapely.area(pieces) >= 3e4)]
        codes += [code] * len(pieces)
        parts += list(pieces)
    towns = plan[plan["kind"] == "town"]
    names = _best_name(parts, towns.assign(geometry=towns.geometry.buffer(1e4)), "永久基本农田保护片区")
    layers["basic_farmland"] = _frame("JBNT", names, codes, parts)

    unions = {"eco_redline": eco, "urban_boundary": urban,
              "industrial_line": shapely.union_all(layers["industrial_line"].geometry.values),
              "basic_farmland": shapely.union_all(parts)}
    return {k: layers[k] for k in LAYER_ORDER}, unions


def _frame(prefix: str, names: list[str], codes: list[str], geoms: list[shapely.Geometry]) -> gpd.GeoDataFrame:
    """A layer frame sorted by district, with feature ids ``prefix`` + district + 4-digit serial."""
    df = gpd.GeoDataFrame({"name": names, "district_code": codes}, geometry=geoms, crs=WORK_CRS)
    df = df.sort_values(["district_code"], kind="stable").reset_index(drop=True)
    seq = df.groupby("district_code").cumcount() + 1
    df.insert(0, "feature_id", prefix + df["district_code"] + seq.astype(str).str.zfill(4))
    return df


def _district_parts(geo: Geography, geom: shapely.Geometry,
                    min_area: float) -> tuple[list[str], list[shapely.Geometry]]:
    """The polygons of ``geom`` per district, at least ``min_area`` m² each: district codes and polygons."""
    codes, parts = [], []
    for code, d in zip(geo.districts["district_code"], geo.districts.geometry, strict=True):
        g = shapely.intersection(geom, d)
        if g.is_empty or g.area <= 1.0:
            continue
        for p in shapely.get_parts(g):
            if shapely.get_type_id(p) == 3 and p.area >= min_area:
                codes.append(code)
                parts.append(p)
    return codes, parts


def _best_name(geoms: list[shapely.Geometry], named: gpd.GeoDataFrame, suffix: str) -> list[str]:
    """Name each geometry after the named feature it overlaps most (nearest when none), plus ``suffix``."""
    if not geoms:
        return []
    tree = shapely.STRtree(named.geometry.values)
    arr = np.asarray(geoms, dtype=object)
    i, j = tree.query(arr, predicate="intersects")
    area = shapely.area(shapely.intersection(arr[i], named.geometry.values[j]))
    best: dict[int, tuple[float, int]] = {}
    for a, b, ar in zip(i.tolist(), j.tolist(), area.tolist(), strict=True):
        if ar > best.get(a, (-1.0, 0))[0]:
            best[a] = (ar, b)
    nearest = tree.nearest(arr)
    names = named["name"].to_numpy()
    return [names[best[k][1] if k in best else nearest[k]] + suffix for k in range(len(arr))]

