"""The demo city: parcels, control layers, firms and evidence lists on the real districts.

`build_city` is deterministic for a seed (one `numpy.random.default_rng(seed)` drives
everything) and vectorised: parcels are Voronoi cells of seed points — on jittered,
rotated grids in cores, towns, parks and industrial belts, at random in the countryside,
clustered in villages, none on water — each cut by a rotated rectangle sized to the local
spacing (dense areas give contiguous blocks with road-like gaps, sparse areas isolated
patches), then clipped to its district and cut by water. Land use follows the zone
(parks mostly 0601, villages 0702, basic farmland 01xx …); firms sit on industrial
parcels; the evidence lists are drawn from firms and parcels at realistic rates.

Frames use the canonical column names of `landrenew.intake.schema`; geometries are in
EPSG:4490. `write_deliveries` (in `deliveries.py`) turns them into bureau files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from landrenew.codes import dlbm_table, dlbm_to_ydyh
from landrenew.demo.geography import (
    DISTRICTS,
    OUT_CRS,
    WORK_CRS,
    Geography,
    build_geography,
    geoms_to_out,
    geoms_to_work,
)

MU_PER_M2 = 15.0 / 10000.0
#: the data are "as of" the end of 2024; firms are evaluated for 2023 and 2024
AS_OF = np.datetime64("2024-12-31", "D")
EVAL_YEARS = (2023, 2024)
DISTRICT_CODES = tuple(DISTRICTS)
#: full names as used in agency and holder names
DISTRICT_FULL = {"320402": "常州市天宁区", "320404": "常州市钟楼区", "320411": "常州市新北区",
                 "320412": "常州市武进区", "320413": "常州市金坛区", "320481": "溧阳市"}
DISTRICT_ABBR = {"320402": "天", "320404": "钟", "320411": "新", "320412": "武", "320413": "金", "320481": "溧"}

PARK, CORE, TOWN, BELT, VILLAGE, RURAL, HILL, FARM = range(8)
#: points per km² at the reference size of 50 000 parcels (scaled to n_parcels)
DENSITY = {PARK: 42.0, CORE: 55.0, TOWN: 45.0, BELT: 28.0, RURAL: 3.8, HILL: 3.0}
VILLAGE_SHARE = 0.145
#: dense zones: points on a jittered grid — keep share and rectangle size (× grid step)
GRID = {PARK: (0.88, 0.93), CORE: (0.9, 0.92), TOWN: (0.85, 0.92), BELT: (0.6, 0.8)}
#: sparse zones: rectangle scale (× local spacing) and aspect range
RECT = {VILLAGE: (0.95, 1.0, 1.5), RURAL: (0.62, 1.3, 2.6), HILL: (0.55, 1.0, 2.0)}
#: 三调 land-use mix per zone (FARM = countryside inside permanent basic farmland)
LANDUSE: dict[int, dict[str, float]] = {
    PARK: {"0601": .64, "0508": .09, "05H1": .04, "0809": .03, "08H2": .02, "0701": .02, "1004": .03,
           "1005": .01, "1201": .06, "0101": .04, "0103": .02},
    CORE: {"0701": .38, "05H1": .15, "0601": .08, "0508": .02, "08H1": .05, "08H2": .08, "0809": .03,
           "0810": .05, "1004": .06, "1005": .02, "1001": .01, "09": .01, "1201": .04, "0101": .02},
    TOWN: {"0701": .30, "0702": .08, "05H1": .12, "0601": .25, "0508": .03, "08H1": .03, "08H2": .05,
           "0809": .02, "1004": .05, "1201": .03, "0101": .04},
    BELT: {"0601": .48, "0508": .06, "05H1": .05, "0701": .06, "0702": .06, "08H2": .01, "0809": .02,
           "1003": .04, "1004": .02, "1201": .04, "0101": .10, "0103": .06},
    VILLAGE: {"0702": .78, "0601": .07, "05H1": .02, "08H1": .01, "08H2": .01, "0809": .01, "1006": .03,
              "1201": .01, "0101": .04, "0103": .02},
    RURAL: {"0101": .30, "0102": .04, "0103": .12, "0201": .06, "0301": .08, "0601": .11, "0602": .01,
            "0702": .12, "05H1": .02, "0508": .02, "1003": .03, "1006": .03, "1201": .03, "09": .01, "0809": .02},
    FARM: {"0101": .62, "0102": .08, "0103": .155, "0201": .02, "0301": .02, "1006": .03, "0702": .04,
           "0601": .025, "1201": .005, "09": .005},
    HILL: {"0301": .55, "0201": .10, "0202": .06, "0602": .10, "0702": .08, "0601": .04, "1006": .03,
           "09": .02, "0103": .02},
}
NON_CONSTRUCTION = ("0101", "0102", "0103", "0201", "0202", "0301", "1006")
FARMLAND = ("0101", "0102", "0103")

#: GB/T 4754 manufacturing divisions with Changzhou-like weights and name terms
INDUSTRIES: dict[str, tuple[float, tuple[str, ...]]] = {
    "13": (1.5, ("食品", "粮油")), "14": (1.0, ("食品", "食品科技")), "15": (0.5, ("饮料",)),
    "17": (5.0, ("纺织", "织造", "印染", "纺织品")), "18": (3.0, ("服饰", "制衣")), "19": (0.5, ("鞋业", "皮革")),
    "20": (1.0, ("木业",)), "21": (1.5, ("家具",)), "22": (1.5, ("纸业", "包装")), "23": (1.0, ("印务", "彩印")),
    "24": (0.5, ("文体用品",)), "25": (0.3, ("石化",)), "26": (7.0, ("化工", "化学", "精细化工", "涂料")),
    "27": (3.0, ("医药", "药业", "生物医药")), "28": (1.0, ("化纤",)), "29": (6.0, ("塑业", "橡塑", "塑料制品")),
    "30": (4.0, ("建材", "新材料", "陶瓷")), "31": (2.0, ("钢铁", "特钢")), "32": (2.0, ("铜业", "铝业")),
    "33": (9.0, ("五金", "金属制品", "钢结构")), "34": (12.0, ("机械", "精密机械", "轴承", "通用设备")),
    "35": (9.0, ("机械设备", "装备", "智能装备")), "36": (8.0, ("汽车部件", "汽车零部件", "车辆配件")),
    "37": (2.0, ("轨道交通设备", "船舶配件")), "38": (12.0, ("电气", "电机", "电器", "光伏科技", "电池")),
    "39": (6.0, ("电子", "电子科技", "微电子", "光电")), "40": (2.0, ("仪器", "仪表", "自动化")),
    "41": (1.0, ("工艺品",)), "42": (0.7, ("再生资源",)), "43": (0.5, ("机电维修",)),
    "44": (0.7, ("热电", "新能源")), "45": (0.3, ("燃气",)), "46": (0.5, ("水务",)),
}
HEAVY = ("17", "22", "25", "26", "28", "30", "31", "32", "44")
UTILITIES = ("44", "45", "46")
#: 用地用海 industrial class by industry: 一类 (light), 三类 (heavy polluting), else 二类
CLASS1 = ("13", "14", "15", "18", "19", "21", "23", "24", "39", "40", "41", "43", "45", "46")
CLASS3 = ("22", "25", "26", "28", "31", "32", "42", "44")
BRAND_CHARS = tuple("华达恒盛鑫泰新宏瑞丰远通祥永信金源诚光明伟德和安康宇天海立昌隆兴嘉福汇润凯博腾创顺益力捷峰宝亚迪科星奥强佳帆翔晨晟睿豪铭驰龙凤江南东方中正大元美特精协联合")
SURNAMES = tuple("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢钟汪")
GIVEN = tuple("建国华明伟芳军平勇杰娟强磊洋艳敏静丽涛超鹏辉刚红英兰秀云凤荣福海林春生志新文斌玉梅")
VILLAGE_CHARS = tuple("东西南北前后新旧大小上下塘桥湾港庄埠墅河圩巷家园浜坝岗林泾溪渎湖堰沟")


@dataclass
class DemoCity:
    """A generated city: every frame in canonical column names, geometries in EPSG:4490.

    ``layers`` maps each layer kind (eco_redline, basic_farmland, urban_boundary,
    industrial_line, industrial_park) to its features; ``firms`` holds one row per
    firm per evaluation year (2023, 2024).
    """

    seed: int
    n_parcels: int
    districts: gpd.GeoDataFrame
    nature: gpd.GeoDataFrame
    plan: gpd.GeoDataFrame
    parcels: gpd.GeoDataFrame
    layers: dict[str, gpd.GeoDataFrame]
    firms: pd.DataFrame
    hazards: pd.DataFrame
    pollution: pd.DataFrame
    enforcement: gpd.GeoDataFrame
    unsupplied: gpd.GeoDataFrame
    idle: pd.DataFrame
    #: parcel areas in m² computed in EPSG:4549, aligned with ``parcels``
    parcel_area_m2: NDArray[np.float64] = field(repr=False, default_factory=lambda: np.zeros(0))

    def summary(self) -> dict[str, Any]:
        """Counts and areas for printing: parcels, 亩 by land-use class and district, firms, lists."""
        table = dlbm_table().drop_duplicates("dlbm").set_index("dlbm")
        dl = self.parcels["dlbm"].astype(str)
        level1 = dl.map(table["level1"]).fillna("")
        names = table.drop_duplicates("level1").set_index("level1")["level1_name"]
        cls = (level1 + " " + level1.map(names).fillna("")).to_numpy()
        dname = self.parcels["district_code"].map(DISTRICTS).to_numpy()
        mu = self.parcel_area_m2 * MU_PER_M2
        frame = pd.DataFrame({"district": dname, "class": cls, "mu": mu})
        by = frame.pivot_table(index="class", columns="district", values="mu", aggfunc="sum", fill_value=0.0)
        by = by.reindex(columns=[DISTRICTS[c] for c in DISTRICT_CODES if DISTRICTS[c] in by.columns])
        latest = self.firms[self.firms["year"] == max(EVAL_YEARS)]
        return {
            "seed": self.seed,
            "parcels": int(len(self.parcels)),
            "parcels_by_district": {DISTRICTS[c]: int(n) for c, n in
                                    self.parcels["district_code"].value_counts().reindex(DISTRICT_CODES).fillna(0).items()},
            "parcel_area_mu": round(float(mu.sum()), 1),
            "area_mu_by_class_and_district": {k: {d: round(float(v), 1) for d, v in row.items()}
                                              for k, row in by.round(1).iterrows()},
            "industrial_parcels": int((dl == "0601").sum()),
            "firms": int(self.firms["uscc"].nunique()),
            "firm_rows": {int(y): int(n) for y, n in self.firms["year"].value_counts().sort_index().items()},
            "firms_above_scale": int((latest["group"] == "规上").sum()),
            "layers": {k: int(len(v)) for k, v in self.layers.items()},
            "lists": {"hazards": int(len(self.hazards)), "pollution": int(len(self.pollution)),
                      "enforcement": int(len(self.enforcement)), "unsupplied": int(len(self.unsupplied)),
                      "unsupplied_mu": round(float(self.unsupplied["approved_area_mu"].sum()
                                                   - self.unsupplied["supplied_area_mu"].sum()), 1),
                      "idle": int(len(self.idle))},
        }


# --------------------------------------------------------------------------- helpers


def _pick(rng: np.random.Generator, options: tuple[str, ...] | list[str], n: int,
          p: NDArray[np.float64] | None = None) -> NDArray[np.object_]:
    arr = np.asarray(options, dtype=object)
    if p is None:
        return arr[rng.integers(0, len(arr), n)]
    return arr[rng.choice(len(arr), size=n, p=np.asarray(p, dtype=float) / np.sum(p))]


def _concat(*parts: Any) -> NDArray[np.object_]:
    """Element-wise string concatenation of object arrays and scalars."""
    out: Any = ""
    for p in parts:
        out = out + (p if not isinstance(p, np.ndarray) else p.astype(object))
    return np.asarray(out, dtype=object)


def _zfill(values: NDArray[np.integer], width: int) -> NDArray[np.object_]:
    return pd.Series(values).astype(str).str.zfill(width).to_numpy(dtype=object)


def _sample_in(rng: np.random.Generator, geom: shapely.Geometry, n: int,
               weight: Any = None) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """``n`` points in ``geom`` (rejection sampling), thinned by ``weight(x, y)`` ∈ (0, 1].

    Returns x, y and the mean weight over the polygon (1 when unweighted).
    """
    if n <= 0 or geom.is_empty:
        return np.zeros(0), np.zeros(0), 1.0
    shapely.prepare(geom)
    x0, y0, x1, y1 = geom.bounds
    frac = max(geom.area / ((x1 - x0) * (y1 - y0)), 1e-3)
    xs, ys = [], []
    got, acc, wsum, wcnt = 0, 0.6 if weight is not None else 1.0, 0.0, 0
    while got < n:
        m = int((n - got) / frac / acc * 1.15) + 64
        x, y = rng.uniform(x0, x1, m), rng.uniform(y0, y1, m)
        inside = shapely.contains_xy(geom, x, y)
        x, y = x[inside], y[inside]
        if weight is not None:
            w = weight(x, y)
            wsum, wcnt = wsum + float(w.sum()), wcnt + len(w)
            acc = max(wsum / max(wcnt, 1), 0.05)
            keep = rng.random(len(x)) < w
            x, y = x[keep], y[keep]
        xs.append(x)
        ys.append(y)
        got += len(x)
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n], (wsum / wcnt if wcnt else 1.0)


def _largest_polygons(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Reduce every geometry to its largest polygon (None when it has none)."""
    geoms = geoms.copy()
    tid = shapely.get_type_id(geoms)
    multi = np.flatnonzero(tid != 3)
    if len(multi) == 0:
        return geoms
    parts, idx = shapely.get_parts(geoms[multi], return_index=True)
    ptid = shapely.get_type_id(parts)
    while (ptid >= 4).any():
        nested = ptid >= 4
        sub, sidx = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        idx = np.concatenate([idx[~nested], idx[nested][sidx]])
        ptid = shapely.get_type_id(parts)
    poly = ptid == 3
    parts, idx = parts[poly], idx[poly]
    area = shapely.area(parts)
    order = np.lexsort((-area, idx))
    parts, idx = parts[order], idx[order]
    first = np.r_[True, idx[1:] != idx[:-1]] if len(idx) else np.zeros(0, bool)
    out = np.full(len(multi), None, dtype=object)
    out[idx[first]] = parts[first]
    geoms[multi] = out
    return geoms


def _polygonal(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Keep only the polygons of each geometry (as a MultiPolygon; None when there are none)."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    ptid = shapely.get_type_id(parts)
    while (ptid >= 4).any():
        nested = ptid >= 4
        sub, sidx = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        idx = np.concatenate([idx[~nested], idx[nested][sidx]])
        ptid = shapely.get_type_id(parts)
    keep = (ptid == 3) & ~shapely.is_empty(parts)
    out = np.full(len(geoms), None, dtype=object)
    if keep.any():
        order = np.argsort(idx[keep], kind="stable")
        ids = idx[keep][order]
        multi = shapely.multipolygons(parts[keep][order], indices=np.unique(ids, return_inverse=True)[1])
        out[np.unique(ids)] = multi
    return out


def _local_intersection(small: NDArray[np.object_], big: shapely.Geometry, tile: float = 3000.0) -> NDArray[np.object_]:
    """``small ∩ big`` for many small geometries and one very complex ``big``.

    Overlay cost grows with the complexity of both inputs, so ``big`` is first cut into
    tiles (cheap rectangle clipping) and each small geometry meets only its tiles.
    """
    if len(small) == 0 or big.is_empty:
        return np.zeros(0, dtype=object)
    x0, y0, x1, y1 = big.bounds
    tiles = [shapely.clip_by_rect(big, tx, ty, tx + tile, ty + tile)
             for tx in np.arange(x0, x1, tile) for ty in np.arange(y0, y1, tile)]
    tiles_arr = _polygonal(shapely.make_valid(np.asarray(tiles, dtype=object)))
    tiles_arr = tiles_arr[tiles_arr != None]  # noqa: E711
    i, j = shapely.STRtree(tiles_arr).query(small, predicate="intersects")
    pieces = _polygonal(shapely.intersection(small[i], tiles_arr[j]))
    ok = pieces != None  # noqa: E711
    frame = pd.DataFrame({"i": i[ok], "g": pieces[ok]})
    out = []
    for _, grp in frame.groupby("i", sort=True):  # a loop over blocks, not parcels
        out.append(grp["g"].iloc[0] if len(grp) == 1 else shapely.union_all(grp["g"].to_numpy()))
    return np.asarray(out, dtype=object)


def _desliver(geoms: NDArray[np.object_], width: float = 0.05) -> NDArray[np.object_]:
    """Remove parts thinner than ``2 × width`` metres (spikes, slivers) and keep the largest polygon."""
    opened = shapely.buffer(shapely.buffer(geoms, -width, join_style="mitre"), width, join_style="mitre")
    out = _largest_polygons(opened)
    multi = shapely.get_type_id(geoms) == 6  # multi-part features (batches, layers) keep all their parts
    if multi.any():
        out[multi] = _polygonal(opened[multi])
    return out


def _to_out(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
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
        fixed = _desliver(shapely.set_precision(geoms[bad], 0.01))
        gone = fixed == None  # noqa: E711 (element-wise)
        fixed[gone] = shapely.make_valid(geoms[bad][gone])
        geoms[bad] = fixed
        out[bad] = geoms_to_out(fixed)
    return out


def _rectangles(x: NDArray[np.float64], y: NDArray[np.float64], hx: NDArray[np.float64],
                hy: NDArray[np.float64], theta: NDArray[np.float64]) -> NDArray[np.object_]:
    """Rotated rectangles centred at x/y with half sides hx/hy (vectorised)."""
    ux = np.array([-1.0, 1.0, 1.0, -1.0, -1.0])
    uy = np.array([-1.0, -1.0, 1.0, 1.0, -1.0])
    lx, ly = hx[:, None] * ux, hy[:, None] * uy
    c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
    coords = np.stack([x[:, None] + lx * c - ly * s, y[:, None] + lx * s + ly * c], axis=-1)
    return shapely.polygons(coords)


def _split_by_district(geo: Geography, geom: shapely.Geometry) -> list[tuple[str, shapely.Geometry]]:
    out = []
    for code, d in zip(geo.districts["district_code"], geo.districts.geometry, strict=True):
        part = shapely.intersection(geom, d)
        if not part.is_empty and part.area > 1.0:
            out.append((code, part))
    return out


def _explode_rows(geo: Geography, geom: shapely.Geometry, min_area: float) -> tuple[list[str], list[shapely.Geometry]]:
    codes, parts = [], []
    for code, g in _split_by_district(geo, geom):
        for p in shapely.get_parts(g):
            if shapely.get_type_id(p) == 3 and p.area >= min_area:
                codes.append(code)
                parts.append(p)
    return codes, parts


def _best_name(geoms: list[shapely.Geometry], named: gpd.GeoDataFrame, suffix: str) -> list[str]:
    """Name each geometry after the named feature it overlaps most (nearest when none)."""
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


# --------------------------------------------------------------------------- points


@dataclass
class _Points:
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    zone: NDArray[np.int8]
    spacing: NDArray[np.float64]  # local spacing (≈ √ of the area per point)
    hx: NDArray[np.float64]  # half sides and orientation of the cutting rectangle
    hy: NDArray[np.float64]
    theta: NDArray[np.float64]

    def take(self, idx: NDArray[np.int64]) -> _Points:
        return _Points(*(getattr(self, f)[idx] for f in ("x", "y", "zone", "spacing", "hx", "hy", "theta")))


def _grid_points(rng: np.random.Generator, geom: shapely.Geometry, k: int, keep: float, gap: float,
                 weight: Any = None) -> tuple[NDArray[np.float64], ...]:
    """About ``k`` points on a jittered grid, rotated per part of ``geom``, thinned by ``keep`` × weight.

    Voronoi cells of such points are block-like; rectangles of ``gap`` × the grid step
    leave road-like strips between neighbours. Returns x, y, spacing, hx, hy, theta.
    """
    empty = tuple(np.zeros(0) for _ in range(6))
    if k <= 0 or geom.is_empty:
        return empty
    shapely.prepare(geom)
    x0, y0, x1, y1 = geom.bounds
    tx, ty = rng.uniform(x0, x1, 4000), rng.uniform(y0, y1, 4000)
    inside = shapely.contains_xy(geom, tx, ty)
    pbar = keep * (float(np.mean(weight(tx[inside], ty[inside]))) if weight is not None and inside.any() else 1.0)
    step = np.sqrt(geom.area * pbar / k)
    out: list[list[NDArray[np.float64]]] = [[] for _ in range(6)]
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
        for lst, arr in zip(out, (x, y, step * grow, gap * sx * grow / 2, gap * sy * grow / 2,
                                  th + rng.normal(0, 0.02, len(x))), strict=True):
            lst.append(arr)
    if not out[0]:
        return empty
    return tuple(np.concatenate(lst) for lst in out)


def _sample_points(rng: np.random.Generator, geo: Geography, n: int) -> tuple[_Points, NDArray[np.float64]]:
    """Sample parcel seed points by zone; returns the points and village centres (x, y, r)."""
    zones = {PARK: geo.park_zone, CORE: geo.core_zone, TOWN: geo.town_zone, BELT: geo.belt_zone,
             RURAL: geo.rural_zone, HILL: geo.hill_zone}
    n_village = int(round(n * VILLAGE_SHARE))
    expected = sum(DENSITY[z] * zones[z].area / 1e6 for z in zones)
    scale = (n - n_village) / expected
    cores = geo.core_centres

    def radial(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
        q = np.full(len(x), np.inf)
        for cx, cy, r in cores:
            q = np.minimum(q, np.hypot(x - cx, y - cy) / r)
        return 0.35 + 0.65 * np.exp(-1.5 * q * q)

    phase = rng.uniform(0, 2 * np.pi, 3)
    cols: list[list[NDArray[Any]]] = [[] for _ in range(7)]

    def add(x: NDArray[np.float64], y: NDArray[np.float64], z: int, s: NDArray[np.float64],
            hx: NDArray[np.float64], hy: NDArray[np.float64], th: NDArray[np.float64]) -> None:
        for lst, arr in zip(cols, (x, y, np.full(len(x), z, np.int8), s, hx, hy, th), strict=True):
            lst.append(arr)

    for z, geom in zones.items():
        k = int(round(DENSITY[z] * scale * geom.area / 1e6))
        if z in GRID:
            keep, gap = GRID[z]
            x, y, s, hx, hy, th = _grid_points(rng, geom, k, keep, gap, radial if z == CORE else None)
            add(x, y, z, s, hx, hy, th)
            continue
        x, y, _ = _sample_in(rng, geom, k)
        s = np.full(len(x), np.sqrt(geom.area / max(k, 1)))
        f, lo, hi = RECT[z]
        asp = rng.uniform(lo, hi, len(x))
        side = f * s * rng.uniform(0.9, 1.1, len(x))
        th = (0.35 * np.sin(x / 7000.0 + phase[0]) * np.cos(y / 9000.0 + phase[1])
              + 0.25 * np.sin(y / 5000.0 + phase[2]) + rng.normal(0, 0.05, len(x)))
        add(x, y, z, s, side * np.sqrt(asp) / 2, side / np.sqrt(asp) / 2, th)
    # villages: clusters of homesteads in the countryside (a few in the hills)
    n_vil = max(1, int(round(n_village / 10.0)))
    n_hill = int(round(n_vil * 0.08))
    vx1, vy1, _ = _sample_in(rng, geo.rural_zone, n_vil - n_hill)
    vx2, vy2, _ = _sample_in(rng, geo.hill_zone, n_hill)
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
    add(px[ok], py[ok], VILLAGE, s, f * s * np.sqrt(asp) / 2, f * s / np.sqrt(asp) / 2, vth)
    pts = _Points(*(np.concatenate(c) for c in cols))
    # drop (practically impossible) duplicate points: Voronoi cells must map 1:1 to points
    _, first = np.unique(np.round(np.column_stack([pts.x, pts.y]), 2), axis=0, return_index=True)
    return pts.take(np.sort(first)), np.column_stack([vx, vy, vr])


# --------------------------------------------------------------------------- control layers


def _control_layers(rng: np.random.Generator, geo: Geography,
                    villages: NDArray[np.float64]) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, shapely.Geometry]]:
    """The five control layers (work CRS) and their unions."""
    nature = geo.nature
    built = shapely.union_all([geo.park_zone, geo.core_zone, geo.town_zone]).buffer(100.0, quad_segs=4)
    rows: list[tuple[str, str, shapely.Geometry]] = []  # name, district, geometry
    taken = shapely.Polygon()
    sources: list[tuple[str, shapely.Geometry]] = [("长江（常州段）重要湿地", shapely.buffer(geo.yangtze, 500.0, quad_segs=4))]
    for name, dist in (("滆湖", 1000.0), ("长荡湖", 1000.0), ("天目湖", 1500.0), ("大溪水库", 1500.0)):
        g = shapely.union_all(nature.geometry[nature["name"] == name].values)
        label = f"{name}重要湿地" if "湖" in name and name != "天目湖" else f"{name}饮用水水源保护区"
        sources.append((label, shapely.buffer(g, dist, quad_segs=6)))
    for name in ("茅山", "南山"):
        g = shapely.union_all(nature.geometry[nature["name"] == name].values)
        sources.append((f"{name}生态公益林", g))
    for label, g in sources:
        g = shapely.difference(shapely.difference(shapely.intersection(g, geo.city), built), taken)
        taken = shapely.union_all([taken, g])
        codes, parts = _explode_rows(geo, g, 5e4)
        rows += [(label, c, p) for c, p in zip(codes, parts, strict=True)]
    eco = shapely.union_all([r[2] for r in rows])

    layers: dict[str, gpd.GeoDataFrame] = {}

    def frame(prefix: str, names: list[str], codes: list[str], geoms: list[shapely.Geometry]) -> gpd.GeoDataFrame:
        df = gpd.GeoDataFrame({"name": names, "district_code": codes}, geometry=geoms, crs=WORK_CRS)
        df = df.sort_values(["district_code"], kind="stable").reset_index(drop=True)
        seq = df.groupby("district_code").cumcount() + 1
        df.insert(0, "feature_id", prefix + df["district_code"] + seq.astype(str).str.zfill(4))
        return df

    layers["eco_redline"] = frame("STHX", [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])

    plan = geo.plan
    urban = shapely.union_all([geo.core_zone, geo.town_zone, geo.park_zone, geo.belt_zone])
    urban = urban.buffer(300.0, quad_segs=4).buffer(-200.0, quad_segs=4)
    urban = shapely.difference(shapely.intersection(urban, geo.city), shapely.union_all([eco, geo.lakes, geo.yangtze]))
    codes, parts = _explode_rows(geo, urban, 1e5)
    named = plan[plan["kind"].isin(["core", "town", "park", "cluster"])]
    layers["urban_boundary"] = frame("CZKFBJ", _best_name(parts, named, "城镇开发边界"), codes, parts)
    urban = shapely.union_all(parts)

    industrial = shapely.intersection(shapely.union_all([geo.park_zone, geo.belt_zone]).buffer(80.0, quad_segs=4), urban)
    codes, parts = _explode_rows(geo, industrial, 1e5)
    named = plan[plan["kind"].isin(["park", "cluster", "belt"])]
    layers["industrial_line"] = frame("GYBZX", _best_name(parts, named, "工业用地保障区块"), codes, parts)

    names, codes, parts = [], [], []
    parks = plan[plan["kind"].isin(["park", "cluster"])]
    for name, g in zip(parks["name"], parks.geometry, strict=True):
        cs, ps = _explode_rows(geo, g, 2e4)
        for c, p in zip(cs, ps, strict=True):
            names.append(name)
            codes.append(c)
            parts.append(p)
    layers["industrial_park"] = frame("YQ", names, codes, parts)

    # permanent basic farmland: blocks of the countryside, away from villages, towns and red lines
    discs = shapely.buffer(shapely.points(villages[:, 0], villages[:, 1]), villages[:, 2] + 150.0, quad_segs=3)
    avail = shapely.difference(geo.rural_zone, shapely.union_all([urban, eco, geo.water, shapely.union_all(discs)]))
    seeds_x, seeds_y, _ = _sample_in(rng, geo.rural_zone, max(50, int(geo.rural_zone.area / 1.3e6)))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(np.column_stack([seeds_x, seeds_y])),
                                                       extend_to=shapely.box(*geo.city.bounds), ordered=True))
    share = {"320402": 0.25, "320404": 0.25, "320411": 0.32, "320412": 0.46, "320413": 0.52, "320481": 0.52}
    dcode = np.full(len(seeds_x), "", dtype=object)
    for code, d in zip(geo.districts["district_code"], geo.districts.geometry, strict=True):
        dcode[shapely.contains_xy(d, seeds_x, seeds_y)] = code
    q = np.full(len(seeds_x), np.inf)
    for cx, cy, r in geo.core_centres[:5]:
        q = np.minimum(q, np.hypot(seeds_x - cx, seeds_y - cy) - r)
    p = np.array([share.get(c, 0.0) for c in dcode]) * np.clip(q / 6000.0, 0.35, 1.0)
    chosen = rng.random(len(p)) < p
    codes, parts = [], []
    for code, d in zip(geo.districts["district_code"], geo.districts.geometry, strict=True):
        pieces = _local_intersection(cells[chosen & (dcode == code)], shapely.intersection(avail, d))
        pieces = shapely.get_parts(pieces)
        pieces = pieces[(shapely.get_type_id(pieces) == 3) & (shapely.area(pieces) >= 3e4)]
        codes += [code] * len(pieces)
        parts += list(pieces)
    towns = plan[plan["kind"] == "town"]
    names = _best_name(parts, towns.assign(geometry=towns.geometry.buffer(1e4)), "永久基本农田保护片区")
    layers["basic_farmland"] = frame("JBNT", names, codes, parts)
    bf_union = shapely.union_all(parts)
    unions = {"eco_redline": eco, "urban_boundary": urban, "industrial_line": shapely.union_all(
        layers["industrial_line"].geometry.values), "basic_farmland": bf_union}
    return {k: layers[k] for k in ("eco_redline", "basic_farmland", "urban_boundary", "industrial_line",
                                    "industrial_park")}, unions


# --------------------------------------------------------------------------- parcels


def _parcel_geometries(rng: np.random.Generator, geo: Geography, pts: _Points,
                       dlbm: NDArray[np.object_]) -> tuple[NDArray[np.object_], NDArray[np.int64]]:
    """Voronoi cell ∩ rotated rectangle ∩ district − water, per point; returns geometries and district index."""
    n = len(pts.x)
    shrink = np.ones(n)
    sparse_built = np.isin(pts.zone, [RURAL, HILL]) & ~np.isin(dlbm, NON_CONSTRUCTION)
    shrink[sparse_built] = rng.uniform(0.35, 0.6, int(sparse_built.sum()))
    hx, hy = pts.hx * shrink, pts.hy * shrink
    jx, jy = rng.uniform(-0.1, 0.1, n) * hx, rng.uniform(-0.1, 0.1, n) * hy
    rects = _rectangles(pts.x + jx, pts.y + jy, hx, hy, pts.theta)

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
        vor = shapely.voronoi_polygons(shapely.multipoints(np.column_stack([pts.x[sel], pts.y[sel]])),
                                       extend_to=env, ordered=True)
        cells = shapely.get_parts(vor)
        if len(cells) != len(sel):  # cannot happen with distinct points; guard anyway
            raise RuntimeError("Voronoi cells do not match their points")
        g = shapely.intersection(cells, rects[sel])
        out = ~shapely.contains(d, g)
        g[out] = shapely.intersection(g[out], d)
        wet = shapely.intersects(water, g)
        g[wet] = shapely.difference(g[wet], water)
        cut = out | wet  # cut by long detailed boundaries: drop slivers and spikes
        g[cut] = _desliver(g[cut])
        geoms[sel] = g
    geoms = _largest_polygons(geoms)
    return geoms, district


# --------------------------------------------------------------------------- names


def _company_names(rng: np.random.Generator, district: NDArray[np.object_], terms: NDArray[np.object_],
                   suffix: NDArray[np.object_], taken: set[str] | None = None) -> NDArray[np.object_]:
    """Unique plausible company names: prefix + 2–3 character brand + term + suffix."""
    n = len(district)
    prefixes = {"320402": ("常州市", "常州", "江苏"), "320404": ("常州市", "常州", "江苏"),
                "320411": ("常州市", "常州", "江苏", "常州市新北区"), "320412": ("常州市武进", "常州市", "江苏", "常州"),
                "320413": ("常州市金坛", "金坛", "江苏", "常州"), "320481": ("溧阳市", "溧阳", "江苏", "常州")}
    pre = np.empty(n, dtype=object)
    for code, opts in prefixes.items():
        m = district == code
        pre[m] = _pick(rng, opts, int(m.sum()), np.array([0.45, 0.25, 0.2, 0.1][:len(opts)]))
    brand = _concat(_pick(rng, BRAND_CHARS, n), _pick(rng, BRAND_CHARS, n))
    names = _concat(pre, brand, terms, suffix)
    seen = set(taken or ())
    for _ in range(20):
        s = pd.Series(names)
        dup = (s.duplicated() | s.isin(seen)).to_numpy()
        if not dup.any():
            break
        k = int(dup.sum())
        brand[dup] = _concat(brand[dup], _pick(rng, BRAND_CHARS, k))
        names[dup] = _concat(pre[dup], brand[dup], terms[dup], suffix[dup])
    return names


def _person_names(rng: np.random.Generator, n: int) -> NDArray[np.object_]:
    two = rng.random(n) < 0.7
    given = _pick(rng, GIVEN, n)
    given[two] = _concat(given[two], _pick(rng, GIVEN, int(two.sum())))
    return _concat(_pick(rng, SURNAMES, n), given)


# --------------------------------------------------------------------------- codes

_USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64)
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)


def _as_matrix(codes: NDArray[np.object_], width: int) -> NDArray[np.uint8]:
    return np.frombuffer("".join(codes.tolist()).encode("ascii"), dtype=np.uint8).reshape(-1, width)


def uscc_check(first17: NDArray[np.object_]) -> NDArray[np.object_]:
    """GB 32100 check characters for an array of 17-character prefixes (vectorised).

    Same algorithm as `landrenew.codes.uscc.check_character` (the tests compare them).
    """
    lut = np.full(256, -1, dtype=np.int64)
    lut[[ord(c) for c in _USCC_CHARSET]] = np.arange(len(_USCC_CHARSET))
    vals = lut[_as_matrix(first17, 17)]
    check = (31 - (vals @ _USCC_WEIGHTS) % 31) % 31
    return np.array(list(_USCC_CHARSET), dtype=object)[check]


def _make_usccs(rng: np.random.Generator, district: NDArray[np.object_]) -> NDArray[np.object_]:
    """Unique USCCs: 9 (market regulator) + 1 (enterprise) + county + GB 11714 org code + check."""
    n = len(district)
    alnum = np.array(list(_USCC_CHARSET), dtype=object)
    out = np.empty(n, dtype=object)
    todo = np.arange(n)
    seen: set[str] = set()
    while len(todo):
        k = len(todo)
        new = rng.random(k) < 0.65  # post-2015 codes: MA + 6 characters
        body = np.empty((k, 8), dtype=object)
        body[:, :] = alnum[rng.integers(0, 10, (k, 8))]
        body[new, 0], body[new, 1] = "M", "A"
        body[new, 2:] = alnum[rng.integers(0, len(alnum), (int(new.sum()), 6))]
        body8 = np.array(["".join(r) for r in body], dtype=object) if k < 64 else _concat(*[body[:, i] for i in range(8)])
        m = _as_matrix(body8, 8).astype(np.int64)
        v = np.where(m <= 57, m - 48, m - 55)  # GB 11714: digits 0–9, letters A=10 …
        c9 = 11 - (v @ _ORG_WEIGHTS) % 11
        check9 = np.where(c9 == 10, "X", np.where(c9 == 11, "0", c9.astype(str))).astype(object)
        first17 = _concat("91", district[todo], body8, check9)
        codes = _concat(first17, uscc_check(first17))
        s = pd.Series(codes)
        dup = (s.duplicated() | s.isin(seen)).to_numpy()
        out[todo[~dup]] = codes[~dup]
        seen.update(codes[~dup].tolist())
        todo = todo[dup]
    return out


# --------------------------------------------------------------------------- build


def _dates(days: NDArray[np.float64]) -> NDArray[np.datetime64]:
    """Day offsets from 1970-01-01 (NaN → NaT) as datetime64[D]."""
    out = np.full(len(days), np.datetime64("NaT"), dtype="datetime64[D]")
    ok = np.isfinite(days)
    out[ok] = np.floor(days[ok]).astype("int64").astype("datetime64[D]")
    return out


def _year_start(year: NDArray[np.float64]) -> NDArray[np.float64]:
    """1 January of each (finite) year as days since 1970-01-01."""
    y = np.asarray(year, dtype=float)
    out = np.full(len(y), np.nan)
    ok = np.isfinite(y)
    out[ok] = (y[ok].astype(np.int64) - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(float)
    return out


def build_city(n_parcels: int = 50_000, seed: int = 42) -> DemoCity:
    """Generate the demo city with about ``n_parcels`` parcels, deterministically for ``seed``."""
    if n_parcels < 200:
        raise ValueError("n_parcels must be at least 200")
    rng = np.random.default_rng(seed)
    geo = build_geography(rng)
    pts, villages = _sample_points(rng, geo, int(n_parcels * 1.02))
    layers_w, unions = _control_layers(rng, geo, villages)

    # land use: the zone's mix; the countryside inside basic farmland is mostly farmland
    bf = unions["basic_farmland"]
    shapely.prepare(bf)
    zone_lu = pts.zone.copy()
    zone_lu[(pts.zone == RURAL) & shapely.contains_xy(bf, pts.x, pts.y)] = FARM
    dlbm = np.empty(len(pts.x), dtype=object)
    for z, mix in LANDUSE.items():
        m = np.flatnonzero(zone_lu == z)
        dlbm[m] = _pick(rng, list(mix), len(m), np.array(list(mix.values())))

    geoms, district_idx = _parcel_geometries(rng, geo, pts, dlbm)
    area = shapely.area(geoms)
    area[geoms == None] = 0.0  # noqa: E711 (element-wise comparison)
    ok = (district_idx >= 0) & (area >= np.maximum(30.0, 0.03 * pts.spacing ** 2))
    cen = shapely.centroid(np.where(ok, geoms, None))
    for k, d in enumerate(geo.districts.geometry):
        m = ok & (district_idx == k)
        cx, cy = shapely.get_x(cen[m]), shapely.get_y(cen[m])
        ok[np.flatnonzero(m)[~shapely.contains_xy(d, cx, cy)]] = False
    keep = np.flatnonzero(ok)
    if len(keep) > n_parcels:  # trim the small surplus evenly
        keep = np.sort(rng.choice(keep, n_parcels, replace=False))
    geoms, area = geoms[keep], area[keep]
    x, y, zone, zone_lu = pts.x[keep], pts.y[keep], pts.zone[keep], zone_lu[keep]
    dlbm = dlbm[keep]
    dcodes = geo.districts["district_code"].to_numpy(dtype=object)
    district = dcodes[district_idx[keep]]
    n = len(keep)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms[invalid] = _largest_polygons(shapely.make_valid(geoms[invalid]))

    park_name = np.full(n, "", dtype=object)
    parks = geo.plan[geo.plan["kind"].isin(["park", "cluster"])]
    for name, g in zip(parks["name"], parks.geometry, strict=True):
        park_name[shapely.contains_xy(g, x, y) & (park_name == "")] = name
    urban = unions["urban_boundary"]
    shapely.prepare(urban)
    in_urban = shapely.contains_xy(urban, x, y)

    # ---- parcel codes: 地籍区 = 4 km tiles, 地籍子区 = 1 km tiles, serial per 子区 north→south
    cd = np.zeros(n, dtype=np.int64)
    sub = np.zeros(n, dtype=np.int64)
    for code, d in zip(geo.districts["district_code"], geo.districts.geometry, strict=True):
        m = np.flatnonzero(district == code)
        x0, _, _, y1 = d.bounds
        ix, iy = np.floor((x[m] - x0) / 1000.0).astype(int), np.floor((y1 - y[m]) / 1000.0).astype(int)
        key = (iy // 4) * 1000 + ix // 4
        _, cd[m] = np.unique(key, return_inverse=True)
        cd[m] += 1
        sub[m] = (iy % 4) * 4 + ix % 4 + 1
    construction = ~np.isin(dlbm, NON_CONSTRUCTION)
    state = np.isin(zone, [PARK, CORE, TOWN, BELT]) & (dlbm != "0702") & construction
    state |= np.isin(dlbm, ["0601", "1001", "1003", "09"]) & ~np.isin(zone, [VILLAGE])
    state |= dlbm == "1201"
    own = np.where(state, "G", "J").astype(object)
    use = np.full(n, "B", dtype=object)
    use[dlbm == "0702"] = "C"
    use[np.isin(dlbm, ["0101", "0102", "0103", "0201", "0202"])] = "D"
    use[dlbm == "0301"] = "E"
    use[(dlbm == "1201")] = "W"
    coll_farm = (use == "D") & (rng.random(n) < 0.3)
    use[coll_farm] = "A"
    disputed = ~state & (rng.random(n) < 0.002)
    own[disputed], use[disputed] = "Z", "W"
    order = np.lexsort((x, -y, sub, cd, district))
    grp = pd.Series(_concat(district, _zfill(cd, 3), _zfill(sub, 3)))
    serial = np.zeros(n, dtype=np.int64)
    serial[order] = grp.iloc[order].groupby(grp.iloc[order].to_numpy(), sort=False).cumcount().to_numpy() + 1
    parcel_code = _concat(district, _zfill(cd, 3), _zfill(sub, 3), own, use, _zfill(serial, 5))
    dser = np.zeros(n, dtype=np.int64)
    dser[order] = pd.Series(district[order]).groupby(district[order], sort=False).cumcount().to_numpy() + 1
    bsm = _concat(district, _zfill(dser, 12))
    # a few hundred 三调-only features (farmland / forest) carry no parcel code
    only_bsm_pool = np.flatnonzero(np.isin(dlbm, ["0101", "0103", "0301", "0201"]))
    k = min(len(only_bsm_pool), min(600, max(1, int(round(n * 0.006)))))
    only_bsm = rng.choice(only_bsm_pool, k, replace=False) if k else np.zeros(0, int)
    parcel_code[only_bsm] = None

    # ---- dates: vintage year by zone; supply / contract / start dates for state-supplied land
    vint_mu = {PARK: 2009, CORE: 2001, TOWN: 2003, BELT: 2005, VILLAGE: 1998, RURAL: 2003, HILL: 2000}
    vint_sd = {PARK: 6, CORE: 10, TOWN: 9, BELT: 8, VILLAGE: 10, RURAL: 9, HILL: 10}
    mu_arr = np.array([vint_mu.get(int(z), 2003) for z in range(8)], float)[zone]
    sd_arr = np.array([vint_sd.get(int(z), 9) for z in range(8)], float)[zone]
    vintage = np.clip(np.round(rng.normal(mu_arr, sd_arr)), 1985, 2024)
    day_in_year = rng.uniform(0, 364, n)
    base = _year_start(vintage) + day_in_year
    supplied_kinds = np.isin(dlbm, ["0601", "05H1", "0508", "0701", "08H1", "08H2", "0809", "0810", "09", "1005", "0602"])
    supplied = supplied_kinds & (own == "G") & construction
    new_land = supplied & (vintage >= 1999) & (rng.random(n) < 0.85)
    approval = np.where(new_land, base - rng.uniform(60, 700, n), np.nan)
    supply = np.where(supplied & ((vintage >= 1999) | (rng.random(n) < 0.5)), base, np.nan)
    contract = np.where(np.isfinite(supply) & (vintage >= 2008), supply + rng.uniform(90, 365, n), np.nan)
    actual = np.where(np.isfinite(contract), contract + np.clip(rng.normal(25, 80, n), -60, 400), np.nan)
    as_of = float(AS_OF.astype(float))
    actual[actual > as_of] = np.nan
    industrial = dlbm == "0601"
    has_contract = industrial & np.isfinite(contract) & (parcel_code != None)  # noqa: E711
    u = rng.random(n)
    never = has_contract & (u < 0.012)
    partial = has_contract & (u >= 0.012) & (u < 0.019)
    actual[never] = np.nan
    actual[partial] = contract[partial] + rng.uniform(0, 120, int(partial.sum()))
    actual[actual > as_of] = np.nan
    start_year = np.where(np.isfinite(actual), 1970 + actual / 365.2425,
                          np.where(np.isfinite(supply), 1970 + supply / 365.2425 + 1.0, vintage + 0.5))

    # ---- floor area (plot ratio) and declared area
    pr = np.full(n, np.nan)
    med = {"0601": 1.15, "0508": 0.9, "05H1": 2.4, "0701": 2.0, "0702": 0.8, "08H1": 1.4, "08H2": 1.2,
           "0809": 0.4, "0810": 0.05, "09": 0.5, "1005": 0.3, "0602": 0.1, "1201": 0.0}
    sig = {"0601": 0.4, "05H1": 0.5, "0701": 0.3, "0702": 0.3}
    for code, m_ in med.items():
        m = dlbm == code
        pr[m] = m_ * np.exp(rng.normal(0, sig.get(code, 0.35), int(m.sum())))
    newer = industrial & (np.nan_to_num(supply, nan=0) > float(np.datetime64("2015-01-01").astype(float)))
    pr[newer] *= 1.3
    pr[never] = 0.0
    pr[partial] *= rng.uniform(0.05, 0.3, int(partial.sum()))
    floor = np.round(pr * area, 2)
    floor[rng.random(n) < 0.02] = np.nan
    declared = area * (1 + rng.normal(0, 0.003, n))
    big = rng.random(n) < 0.01
    declared[big] = area[big] * rng.uniform(0.7, 1.3, int(big.sum()))
    declared = np.round(declared, 2)

    # ---- right holders (firms fill industrial holders below)
    holder = np.empty(n, dtype=object)
    dfull = np.array([DISTRICT_FULL[c] for c in district], dtype=object)
    vkey = pd.Series(_concat(district, _zfill(cd, 3), _zfill(sub, 3)))
    ukeys, vinv = np.unique(vkey.to_numpy(dtype=str), return_inverse=True)
    vnames = _concat(_pick(rng, VILLAGE_CHARS, len(ukeys)), _pick(rng, VILLAGE_CHARS, len(ukeys)), "村")
    village_name = vnames[vinv]
    coll = own == "J"
    holder[coll] = _concat(village_name[coll], _pick(rng, ["村民委员会", "股份经济合作社"], int(coll.sum()),
                                                      np.array([0.7, 0.3])))
    m = dlbm == "0702"
    holder[m] = _person_names(rng, int(m.sum()))
    for codes_, opts in (
        (("05H1",), ("商贸", "商业管理", "酒店管理", "置业", "实业")),
        (("0508",), ("物流", "仓储", "供应链管理")),
        (("0701",), ("置业", "房地产开发", "地产")),
        (("0602",), ("矿业", "建材")),
    ):
        m = np.isin(dlbm, codes_)
        k = int(m.sum())
        holder[m] = _company_names(rng, district[m], _pick(rng, opts, k), np.full(k, "有限公司", dtype=object))
    m = dlbm == "0701"
    owners = m & (rng.random(n) < 0.5)
    holder[owners] = "全体业主"
    for code, opts in (
        ("08H1", ("{d}人民政府", "{d}机关事务管理局", "{d}公安分局", "{v}街道办事处")),
        ("08H2", ("{d}人民医院", "{d}教育局", "{v}小学", "{v}中学", "{d}文化馆")),
        ("0809", ("常州通用自来水有限公司", "国网江苏省电力有限公司常州供电分公司", "常州港华燃气有限公司",
                  "常州市排水管理处")),
        ("0810", ("{d}城市管理局",)),
        ("09", ("{d}人民武装部", "常州市殡葬管理所", "{d}民族宗教事务局")),
        ("1001", ("中国铁路上海局集团有限公司",)),
        ("1003", ("常州市公路事业发展中心",)),
        ("1004", ("{d}交通运输局", "{d}住房和城乡建设局")),
        ("1005", ("常州市公共交通集团有限责任公司", "{d}交通运输局")),
        ("1201", ("{d}土地储备中心",)),
    ):
        m = np.flatnonzero(dlbm == code)
        if len(m) == 0:
            continue
        tpl = _pick(rng, opts, len(m))
        holder[m] = [t.format(d=dd, v=vv.removesuffix("村"))
                     for t, dd, vv in zip(tpl, dfull[m], village_name[m], strict=True)]
    m = (dlbm == "1006") & ~coll
    holder[m] = _concat(village_name[m], "村民委员会")
    holder[own == "Z"] = "权属争议"

    # ---- firms
    firms, parcel_holder, parcel_class = _firms(rng, n, district, parcel_code, industrial, never, partial,
                                                area, start_year, zone, park_name, x, y)
    vac = industrial & (parcel_holder == None)  # noqa: E711
    k = int(vac.sum())
    parcel_holder[vac] = _company_names(rng, district[vac], _pick(rng, ["实业", "投资", "科技", "机械", "新材料"], k),
                                        np.full(k, "有限公司", dtype=object), set(firms["name"]))
    holder[industrial] = parcel_holder[industrial]
    ydyh = dlbm_to_ydyh(pd.Series(dlbm)).to_numpy(dtype=object)
    vac_cls = _pick(rng, ["100101", "100102", "100103"], n, np.array([0.45, 0.45, 0.10]))
    ydyh[industrial] = np.where(parcel_class[industrial] != None, parcel_class[industrial],  # noqa: E711
                                vac_cls[industrial])
    dlmc = pd.Series(dlbm).map(dlbm_table().drop_duplicates("dlbm").set_index("dlbm")["dlmc"]).to_numpy(dtype=object)

    # ---- 批而未供: approved batches over unsupplied land inside the urban boundary
    unsup, approval = _unsupplied(rng, geo, n, district, cd, parcel_code, bsm, dlbm, in_urban, zone, geoms,
                                  area, approval)

    def dt(days: NDArray[np.float64]) -> pd.Series:
        return pd.Series(_dates(days)).astype("datetime64[s]")

    parcels_w = gpd.GeoDataFrame({
        "parcel_code": pd.Series(parcel_code, dtype=object),
        "bsm": bsm,
        "dlbm": dlbm,
        "dlmc": dlmc,
        "ydyh_code": ydyh,
        "district_code": district,
        "right_holder": holder,
        "approval_date": dt(approval),
        "supply_date": dt(supply),
        "contract_start_date": dt(contract),
        "actual_start_date": dt(actual),
        "floor_area_m2": floor,
        "declared_area_m2": declared,
    }, geometry=geoms, crs=WORK_CRS)

    hazards = _hazards(rng, firms, parcels_w, never | partial)
    pollution, veto_env = _pollution(rng, firms, parcels_w, zone)
    firms.loc[veto_env.index, "veto_env_penalty"] = veto_env
    enforcement = _enforcement(rng, geo, parcels_w, zone, unions, layers_w)
    idle = _idle(rng, parcels_w, never, partial, area)

    def out(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(gdf.drop(columns=gdf.geometry.name), geometry=_to_out(gdf.geometry.values),
                                crs=OUT_CRS)

    return DemoCity(
        seed=seed, n_parcels=n_parcels,
        districts=out(geo.districts), nature=out(geo.nature), plan=out(geo.plan),
        parcels=out(parcels_w), layers={k: out(v) for k, v in layers_w.items()},
        firms=firms, hazards=hazards, pollution=pollution, enforcement=out(enforcement),
        unsupplied=out(unsup), idle=idle, parcel_area_m2=area,
    )


# --------------------------------------------------------------------------- firms


def _firms(rng: np.random.Generator, n: int, district: NDArray[np.object_], parcel_code: NDArray[np.object_],
           industrial: NDArray[np.bool_], never: NDArray[np.bool_], partial: NDArray[np.bool_],
           area: NDArray[np.float64], start_year: NDArray[np.float64], zone: NDArray[np.int8],
           park_name: NDArray[np.object_], x: NDArray[np.float64],
           y: NDArray[np.float64]) -> tuple[pd.DataFrame, NDArray[np.object_], NDArray[np.object_]]:
    """Firms on industrial parcels, one row per firm per evaluation year.

    Returns the firm-year frame, the holder name per parcel (None where no firm) and the
    用地用海 industrial class per parcel implied by its main firm's industry.
    """
    has_code = np.array([c is not None for c in parcel_code])
    ind = np.flatnonzero(industrial & has_code)
    ind = ind[np.argsort(parcel_code[ind].astype(str), kind="stable")]
    vacant = never[ind] | partial[ind] | (rng.random(len(ind)) < 0.03) | (start_year[ind] >= 2025.0)
    occ = ind[~vacant]
    k12 = pd.Series(parcel_code[occ]).str.slice(0, 12).to_numpy(dtype=object)
    join = rng.random(len(occ)) < 0.07
    join[0] = False
    join[1:] &= k12[1:] == k12[:-1]
    unit = np.cumsum(~join) - 1
    n_units = int(unit[-1]) + 1
    starts = np.flatnonzero(np.r_[True, unit[1:] != unit[:-1]])
    first = occ[starts]
    unit_area = np.bincount(unit, weights=area[occ]) * MU_PER_M2
    sizes = np.diff(np.r_[starts, len(occ)])
    unit_codes = parcel_code[first].astype(object)
    several = np.repeat(sizes > 1, sizes)
    if several.any():
        joined = pd.Series(parcel_code[occ][several]).groupby(unit[several]).agg(";".join)
        unit_codes[joined.index.to_numpy()] = joined.to_numpy(dtype=object)
    unit_start = np.minimum.reduceat(start_year[occ], starts)
    u = rng.random(n_units)
    per_unit = 1 + (u < 0.09).astype(int) + (u < 0.025).astype(int)
    fu = np.repeat(np.arange(n_units), per_unit)
    nf = len(fu)
    main = np.r_[True, fu[1:] != fu[:-1]]
    w = rng.gamma(2.0, 1.0, nf)
    w[main] *= 2.5
    share = w / np.bincount(fu, weights=w)[fu]
    land_mu = np.round(unit_area[fu] * share * (1 + rng.normal(0, 0.01, nf)), 2)
    fdist = district[first][fu]

    codes = list(INDUSTRIES)
    industry = _pick(rng, codes, nf, np.array([INDUSTRIES[c][0] for c in codes]))
    chem_park = park_name[first][fu] == "滨江经济开发区"
    industry[chem_park & (rng.random(nf) < 0.5)] = "26"
    terms = np.empty(nf, dtype=object)
    for c in codes:
        m = industry == c
        terms[m] = _pick(rng, INDUSTRIES[c][1], int(m.sum()))
    heavy = np.isin(industry, HEAVY)

    z = rng.normal(0, 1, nf)  # latent productivity
    score = 0.8 * np.log(land_mu + 0.1) + 0.5 * z + rng.normal(0, 1, nf)
    above = score >= np.quantile(score, 0.65)
    suffix = _pick(rng, ["有限公司", "股份有限公司", "制造有限公司"], nf, np.array([0.85, 0.08, 0.07]))
    small = ~above & (rng.random(nf) < 0.15)
    suffix[small] = "厂"
    names = _company_names(rng, fdist, terms, suffix)
    uscc = _make_usccs(rng, fdist)
    fstart = unit_start[fu].copy()
    tenant = ~main
    fstart[tenant] += rng.uniform(0, 1, int(tenant.sum())) * np.maximum(2024.9 - fstart[tenant], 0)

    def ln(med: float, sd: float) -> NDArray[np.float64]:
        return np.exp(np.log(med) + sd * rng.normal(0, 1, nf))

    spm = np.where(above, np.exp(np.log(260) + 0.75 * z), np.exp(np.log(75) + 0.85 * z))
    sales = spm * land_mu
    sales[above] = np.maximum(sales[above], 2000 * rng.uniform(1.0, 1.4, int(above.sum())))
    tax = sales * np.where(above, ln(0.026, 0.5), ln(0.025, 0.6))
    va = sales * np.clip(ln(0.22, 0.25), 0.05, 0.6)
    energy = sales * np.where(heavy, ln(0.25, 0.7), ln(0.03, 0.6))
    pollutant = sales * np.where(heavy, ln(2e-3, 0.8), ln(2e-4, 0.8))
    employees = np.maximum(3, sales / np.where(above, ln(120, 0.5), ln(45, 0.6)))
    rd_rate = np.where(above, np.clip(ln(0.025, 0.6), 0, 0.15),
                       np.where(rng.random(nf) < 0.4, 0.0, np.clip(ln(0.01, 0.8), 0, 0.1)))
    rd = sales * rd_rate
    e_share = rng.uniform(0.35, 0.85, nf)
    elec = energy * e_share * 1e4 / 1.229
    water = sales * ln(1.5, 0.8) * np.where(heavy, 4.0, 1.0)
    gas = energy * (1 - e_share) * rng.uniform(0, 1, nf) * 1e4 / 12.143
    gas[rng.random(nf) < 0.3] = 0.0
    sewage = water * rng.uniform(0.5, 0.85, nf)
    base = {"tax_wan": tax, "sales_wan": sales, "value_added_wan": va, "energy_tce": energy,
            "pollutant_eq": pollutant, "employees": employees, "rd_wan": rd, "electricity_kwh": elec,
            "water_m3": water, "gas_m3": gas, "sewage_m3": sewage}
    digits = {"tax_wan": 2, "sales_wan": 2, "value_added_wan": 2, "energy_tce": 2, "pollutant_eq": 3,
              "employees": 0, "rd_wan": 2, "electricity_kwh": 0, "water_m3": 0, "gas_m3": 0, "sewage_m3": 0}
    optional = ("value_added_wan", "energy_tce", "pollutant_eq", "employees", "rd_wan", "electricity_kwh",
                "water_m3", "gas_m3", "sewage_m3")
    exits = rng.random(nf) < 0.015
    group = np.where(above, "规上", "规下").astype(object)
    frames = []
    shock = np.zeros(nf)
    for yr in EVAL_YEARS:
        present = np.floor(fstart) <= yr
        if yr == EVAL_YEARS[-1]:
            present &= ~exits
        if yr > EVAL_YEARS[0]:
            shock = shock + rng.normal(0.03, 0.15, nf)
            flip = rng.random(nf) < 0.02
            group = np.where(flip, np.where(group == "规上", "规下", "规上"), group).astype(object)
        cols: dict[str, Any] = {
            "uscc": uscc, "name": names, "district_code": fdist, "year": np.full(nf, yr, dtype=np.int64),
            "group": group.copy(), "industry_code": industry.copy(),
        }
        for key, v in base.items():
            val = v * np.exp(shock + (rng.normal(0, 0.06, nf) if yr > EVAL_YEARS[0] else 0.0))
            val = np.round(val, digits[key])
            if key in optional:
                val[rng.random(nf) < np.where(above, 0.03, 0.06)] = np.nan
            cols[key] = val
        cols["tax_wan"][rng.random(nf) < 0.004] = np.nan
        cols["industry_code"][rng.random(nf) < 0.01] = None
        cols["employees"] = pd.array(cols["employees"], dtype="Int64")
        cols["land_area_mu"] = land_mu
        cols["parcel_codes"] = unit_codes[fu]
        cols["years_in_production"] = np.round(np.maximum(yr + 1 - fstart, 0.0), 1)
        cols["is_utility"] = np.isin(industry, UTILITIES)
        cols["veto_safety_accident"] = rng.random(nf) < 0.003
        cols["veto_env_penalty"] = np.zeros(nf, dtype=bool)
        frames.append(pd.DataFrame(cols).loc[present])
    firms = pd.concat(frames, ignore_index=True)

    holder = np.full(n, None, dtype=object)
    fmain = np.flatnonzero(main)
    holder[occ] = names[fmain[unit]]
    cls = np.where(np.isin(industry, CLASS1), "100101", np.where(np.isin(industry, CLASS3), "100103", "100102"))
    pclass = np.full(n, None, dtype=object)
    pclass[occ] = cls[fmain[unit]]
    return firms, holder, pclass


# --------------------------------------------------------------------------- evidence lists


def _first_code(codes: pd.Series) -> pd.Series:
    return codes.astype(str).str.split(";").str[0]


def _seq_ids(prefix: NDArray[np.object_], width: int) -> NDArray[np.object_]:
    s = pd.Series(prefix)
    seq = s.groupby(s.to_numpy(), sort=False).cumcount().to_numpy() + 1
    return _concat(prefix, _zfill(seq, width))


def _random_dates(rng: np.random.Generator, start: str, end: str, n: int) -> NDArray[np.float64]:
    a = float(np.datetime64(start, "D").astype(float))
    b = float(np.datetime64(end, "D").astype(float))
    return np.floor(rng.uniform(a, b, n))


def _hazards(rng: np.random.Generator, firms: pd.DataFrame, parcels: gpd.GeoDataFrame,
             troubled: NDArray[np.bool_]) -> pd.DataFrame:
    """应急管理局 hazard list (危): ~3 % of industrial firms, plus a few sites with no firm."""
    latest = firms[firms["year"] == EVAL_YEARS[-1]].reset_index(drop=True)
    nf = len(latest)
    heavy = latest["industry_code"].isin(HEAVY).to_numpy()
    w = 1 + 2.0 * heavy + 0.5 * (latest["group"] == "规下").to_numpy() + 0.5 * (latest["years_in_production"] > 15).to_numpy()
    m = int(round(nf * 0.03))
    chosen = rng.choice(nf, m, replace=False, p=w / w.sum())
    again = chosen[rng.random(m) < 0.1]
    rows = latest.iloc[np.concatenate([chosen, again])].reset_index(drop=True)
    k = len(rows)
    chem = rows["industry_code"].isin(["25", "26", "28"]).to_numpy()
    types = ("危险化学品", "危旧厂房", "安全检查不合格", "消防隐患")
    htype = np.where(chem, _pick(rng, types, k, np.array([.6, .1, .15, .15])),
                     _pick(rng, types, k, np.array([.05, .3, .35, .3])))
    uscc = rows["uscc"].to_numpy(dtype=object).copy()
    pcode = _first_code(rows["parcel_codes"]).to_numpy(dtype=object).copy()
    no_uscc = rng.random(k) < 0.08
    uscc[no_uscc] = None
    pcode[~no_uscc & (rng.random(k) < 0.25)] = None
    dist = rows["district_code"].to_numpy(dtype=object)
    # sites with no operating firm (e.g. dilapidated works on land never started)
    sites = np.flatnonzero(troubled & parcels["parcel_code"].notna().to_numpy())
    ks = min(len(sites), int(round(m * 0.08)))
    site = rng.choice(sites, ks, replace=False) if ks else np.zeros(0, int)
    uscc = np.concatenate([uscc, np.full(ks, None, dtype=object)])
    pcode = np.concatenate([pcode, parcels["parcel_code"].to_numpy(dtype=object)[site]])
    dist = np.concatenate([dist, parcels["district_code"].to_numpy(dtype=object)[site]])
    htype = np.concatenate([htype, _pick(rng, ("危旧厂房", "消防隐患"), ks, np.array([.7, .3]))])
    k = len(uscc)
    found = _random_dates(rng, "2023-01-01", "2024-11-30", k)
    old = found < float(np.datetime64("2024-01-01").astype(float))
    status = np.where(old, _pick(rng, ("已整改", "整改中", "未整改"), k, np.array([.6, .25, .15])),
                      _pick(rng, ("已整改", "整改中", "未整改"), k, np.array([.3, .35, .35])))
    year = (1970 + found // 365.2425).astype(int)
    prefix = _concat("YH", dist, pd.Series(year).astype(str).to_numpy(dtype=object))
    return pd.DataFrame({
        "record_id": _seq_ids(prefix, 5),
        "uscc": uscc,
        "parcel_code": pcode,
        "hazard_type": htype,
        "level": _pick(rng, ("一般", "重大"), k, np.array([.85, .15])),
        "found_date": pd.Series(_dates(found)).astype("datetime64[s]"),
        "status": status,
        "source_agency": _concat(np.array([DISTRICT_FULL[d] for d in dist], dtype=object), "应急管理局"),
    })


def _pollution(rng: np.random.Generator, firms: pd.DataFrame, parcels: gpd.GeoDataFrame,
               zone: NDArray[np.int8]) -> tuple[pd.DataFrame, pd.Series]:
    """生态环境局 case list (污): ~4 % of firms, plus contaminated sites; and the env veto per firm-year."""
    latest_mask = (firms["year"] == EVAL_YEARS[-1]).to_numpy()
    latest = firms[latest_mask]
    nf = len(latest)
    heavy = latest["industry_code"].isin(HEAVY).to_numpy()
    w = 1 + 3.0 * heavy + 0.5 * (latest["group"] == "规下").to_numpy()
    m = int(round(nf * 0.04))
    chosen = rng.choice(nf, m, replace=False, p=w / w.sum())
    rows = latest.iloc[chosen]
    types = ("超标排放", "无证排污", "无组织排放", "环评未批")
    vtype = _pick(rng, types, m, np.array([.35, .17, .33, .15]))
    uscc = rows["uscc"].to_numpy(dtype=object).copy()
    pcode = _first_code(rows["parcel_codes"]).to_numpy(dtype=object).copy()
    pcode[rng.random(m) < 0.3] = None
    dist = rows["district_code"].to_numpy(dtype=object)
    decided = _random_dates(rng, "2023-01-01", "2024-12-20", m)
    penalty = np.round(np.clip(np.exp(np.log(8.0) + 0.9 * rng.normal(0, 1, m)), 0.5, 300.0), 2)
    # contaminated sites: old industrial land in the cores and parks (退二进三 candidates)
    pool = np.flatnonzero((parcels["dlbm"] == "0601").to_numpy() & np.isin(zone, [CORE, TOWN, PARK])
                          & parcels["parcel_code"].notna().to_numpy())
    ks = min(len(pool), int(round(m * 0.15)))
    site = rng.choice(pool, ks, replace=False) if ks else np.zeros(0, int)
    uscc = np.concatenate([uscc, np.full(ks, None, dtype=object)])
    pcode = np.concatenate([pcode, parcels["parcel_code"].to_numpy(dtype=object)[site]])
    dist = np.concatenate([dist, parcels["district_code"].to_numpy(dtype=object)[site]])
    vtype = np.concatenate([vtype, np.full(ks, "污染地块", dtype=object)])
    decided = np.concatenate([decided, _random_dates(rng, "2023-01-01", "2024-12-20", ks)])
    penalty = np.concatenate([penalty, np.full(ks, np.nan)])
    k = len(uscc)
    year = (1970 + decided // 365.2425).astype(int)
    site_rec = vtype == "污染地块"
    lead = np.array(["溧" if d == "320481" else "常" + DISTRICT_ABBR[d] for d in dist], dtype=object)
    prefix = _concat(lead, np.where(site_rec, "环土〔", "环罚〔").astype(object),
                     pd.Series(year).astype(str).to_numpy(dtype=object), "〕")
    seq = pd.Series(prefix).groupby(prefix, sort=False).cumcount().to_numpy() + 1
    case_id = _concat(prefix, pd.Series(seq).astype(str).to_numpy(dtype=object), "号")
    status = _pick(rng, ("已整改", "整改中", "未整改"), k, np.array([.5, .3, .2]))
    contaminated = site_rec | ((vtype == "超标排放") & (rng.random(k) < 0.05))
    out = pd.DataFrame({
        "case_id": case_id, "uscc": uscc, "parcel_code": pcode, "violation_type": vtype,
        "decision_date": pd.Series(_dates(decided)).astype("datetime64[s]"),
        "penalty_wan": penalty, "status": status, "contaminated_site": contaminated,
    })
    # veto: a penalty of 20 万元 or more in the evaluation year
    serious = out[(out["penalty_wan"] >= 20) & out["uscc"].notna()]
    keys = set(zip(serious["uscc"], serious["decision_date"].dt.year.astype(int), strict=True))
    veto = pd.Series([(u, y) in keys for u, y in zip(firms["uscc"], firms["year"], strict=True)], index=firms.index)
    return out, veto


def _enforcement(rng: np.random.Generator, geo: Geography, parcels: gpd.GeoDataFrame, zone: NDArray[np.int8],
                 unions: dict[str, shapely.Geometry], layers: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """卫片执法 cases (乱): ~1.5 % of parcels; a polygon on part of a parcel or next to it."""
    n = len(parcels)
    g = parcels.geometry.values
    dl = parcels["dlbm"].to_numpy(dtype=object)
    farm = np.isin(dl, FARMLAND)
    rural = np.isin(zone, [VILLAGE, RURAL, HILL])
    built = ~np.isin(dl, NON_CONSTRUCTION)
    w = np.select([rural & built, farm, np.isin(zone, [TOWN, BELT]), zone == PARK], [3.0, 1.5, 1.2, 0.8], 0.3)
    m = int(round(n * 0.015))
    idx = np.sort(rng.choice(n, m, replace=False, p=w / w.sum()))
    pg = g[idx]
    area = shapely.area(pg)
    side = np.sqrt(area)
    near = rng.random(m) < 0.4
    half = side * rng.uniform(0.2, 0.45, m)
    theta = rng.uniform(0, np.pi, m)
    p = shapely.point_on_surface(pg)
    c = shapely.centroid(pg)
    phi = rng.uniform(0, 2 * np.pi, m)
    cx = np.where(near, shapely.get_x(c) + (side / 2 + half * 0.8) * np.cos(phi), shapely.get_x(p))
    cy = np.where(near, shapely.get_y(c) + (side / 2 + half * 0.8) * np.sin(phi), shapely.get_y(p))
    rect = _rectangles(cx, cy, half * rng.uniform(0.8, 1.3, m), half * rng.uniform(0.6, 1.0, m), theta)
    poly = np.where(near, shapely.difference(rect, pg), shapely.intersection(rect, pg))
    dgeom = dict(zip(geo.districts["district_code"], geo.districts.geometry, strict=True))
    dist = parcels["district_code"].to_numpy(dtype=object)[idx]
    for code, d in dgeom.items():
        s = np.flatnonzero(dist == code)
        cross = s[~shapely.contains(d, poly[s])]
        poly[cross] = shapely.intersection(poly[cross], d)
    wet = shapely.intersects(geo.water, poly)
    poly[wet] = shapely.difference(poly[wet], geo.water)
    poly = _largest_polygons(poly)
    a = shapely.area(poly)
    a[poly == None] = 0.0  # noqa: E711
    ok = a >= 30.0
    idx, poly, a, near, dist = idx[ok], poly[ok], a[ok], near[ok], dist[ok]
    k = len(idx)
    # farmland occupied: overlap with farmland parcels or with permanent basic farmland
    fidx = np.flatnonzero(farm)
    fm = np.zeros(k)
    for targets in (g[fidx], layers["basic_farmland"].geometry.values):
        tree = shapely.STRtree(targets)
        i, j = tree.query(poly, predicate="intersects")
        inter = np.bincount(i, weights=shapely.area(shapely.intersection(poly[i], targets[j])), minlength=k)
        fm = np.maximum(fm, inter)
    fm = np.minimum(fm, a)
    on_farm = fm > 0.2 * a
    rural_k = rural[idx]
    ctype = np.where(near, np.where(on_farm, "非法占用耕地", "少批多占"),
                     np.where(farm[idx], "非法占用耕地",
                              np.where(rural_k, _pick(rng, ("未批先建", "违规改变用途"), k, np.array([.6, .4])),
                                       _pick(rng, ("未批先建", "违规改变用途", "未供即用"), k, np.array([.4, .35, .25])))))
    pcode = parcels["parcel_code"].to_numpy(dtype=object)[idx].copy()
    pcode[near & (rng.random(k) < 0.5)] = None
    year = _pick(rng, ("2022", "2023", "2024"), k, np.array([.25, .35, .40])).astype(int)
    detect = _year_start(year.astype(float)) + np.floor(rng.uniform(0, 364, k))
    closed_p = np.select([year == 2022, year == 2023], [0.9, 0.7], 0.35)
    status = np.where(rng.random(k) < closed_p, "已结案", "未结案")
    prefix = _concat("WP", dist, pd.Series(year).astype(str).to_numpy(dtype=object))
    return gpd.GeoDataFrame({
        "case_id": _seq_ids(prefix, 4),
        "parcel_code": pcode,
        "district_code": dist,
        "detect_date": pd.Series(_dates(detect)).astype("datetime64[s]"),
        "case_type": ctype,
        "area_mu": np.round(a * MU_PER_M2, 2),
        "farmland_mu": np.round(fm * MU_PER_M2, 2),
        "status": status,
        "monitor_year": year.astype(np.int64),
    }, geometry=poly, crs=WORK_CRS)


def _unsupplied(rng: np.random.Generator, geo: Geography, n: int, district: NDArray[np.object_],
                cd: NDArray[np.int64], parcel_code: NDArray[np.object_], bsm: NDArray[np.object_],
                dlbm: NDArray[np.object_], in_urban: NDArray[np.bool_], zone: NDArray[np.int8],
                geoms: NDArray[np.object_], area: NDArray[np.float64],
                approval: NDArray[np.float64]) -> tuple[gpd.GeoDataFrame, NDArray[np.float64]]:
    """批而未供 batches: 空闲地 and farmland inside the urban boundary, grouped by 地籍区."""
    u = rng.random(n)
    cand = ((dlbm == "1201") & in_urban & (u < 0.85)) | (
        np.isin(dlbm, FARMLAND) & in_urban & np.isin(zone, [PARK, CORE, TOWN, BELT]) & (u < 0.65))
    idx = np.flatnonzero(cand)
    key = _concat(district[idx], _zfill(cd[idx], 3))
    order = np.lexsort((bsm[idx].astype(str), key.astype(str)))
    idx, key = idx[order], key[order]
    ukey, ginv = np.unique(key.astype(str), return_inverse=True)
    size = rng.integers(2, 9, len(ukey))[ginv]
    local = pd.Series(key).groupby(key, sort=False).cumcount().to_numpy() // size
    bkey = _concat(key, "-", pd.Series(local).astype(str).to_numpy(dtype=object))
    _, bfirst, binv = np.unique(bkey.astype(str), return_index=True, return_inverse=True)
    nb = int(binv.max()) + 1 if len(binv) else 0
    years = np.arange(2009, 2023)
    byear = _pick(rng, [str(v) for v in years], nb, np.linspace(1.0, 2.5, len(years))).astype(int)
    bnum = rng.integers(1, 1500, nb)
    bdate = _year_start(byear.astype(float)) + (bnum * 37) % 360
    approval = approval.copy()
    approval[idx] = bdate[binv]
    gdf = gpd.GeoDataFrame({"b": binv}, geometry=geoms[idx], crs=WORK_CRS)
    diss = gdf.dissolve(by="b").sort_index()
    umu = shapely.area(diss.geometry.values) * MU_PER_M2
    doc = _concat("苏政地〔", pd.Series(byear).astype(str).to_numpy(dtype=object), "〕",
                  pd.Series(bnum).astype(str).to_numpy(dtype=object), "号")
    sfx = pd.Series(doc).groupby(doc, sort=False).cumcount().to_numpy() + 1
    supplied = np.where(rng.random(nb) < 0.3, 0.0, umu * rng.uniform(0.3, 3.0, nb))
    out = gpd.GeoDataFrame({
        "batch_id": _concat(doc, "-", pd.Series(sfx).astype(str).to_numpy(dtype=object)),
        "district_code": district[idx][bfirst],
        "approval_date": pd.Series(_dates(bdate)).astype("datetime64[s]"),
        "approved_area_mu": np.round(umu + supplied, 2),
        "supplied_area_mu": np.round(supplied, 2),
    }, geometry=diss.geometry.values, crs=WORK_CRS)
    return out, approval


def _idle(rng: np.random.Generator, parcels: gpd.GeoDataFrame, never: NDArray[np.bool_],
          partial: NDArray[np.bool_], area: NDArray[np.float64]) -> pd.DataFrame:
    """闲置土地 list: supplied industrial land not (or barely) started a year after the contracted date."""
    contract = parcels["contract_start_date"].to_numpy(dtype="datetime64[D]").astype(float)
    actual = parcels["actual_start_date"].to_numpy(dtype="datetime64[D]").astype(float)
    as_of = float(AS_OF.astype(float))
    n = len(parcels)
    halted = np.where(partial, actual + np.floor(rng.uniform(60, 300, n)), np.nan)
    due = np.nan_to_num(contract, nan=np.inf) <= as_of - 366
    cand = parcels["parcel_code"].notna().to_numpy() & due & (
        never | (partial & (np.nan_to_num(halted, nan=np.inf) <= as_of - 366)))
    idx = np.flatnonzero(cand & (rng.random(n) < 0.8))
    k = len(idx)
    is_partial = partial[idx]
    dev = np.where(is_partial, np.round(rng.uniform(0.05, 0.3, k), 3), 0.0)
    inv = np.where(is_partial, np.round(rng.uniform(0.05, 0.24, k), 3), 0.0)
    price = np.round(area[idx] * MU_PER_M2 * rng.uniform(25, 60, k), 2)
    det = np.minimum(contract[idx] + 365 + np.floor(rng.uniform(30, 400, k)), as_of - np.floor(rng.uniform(0, 60, k)))
    return pd.DataFrame({
        "parcel_code": parcels["parcel_code"].to_numpy(dtype=object)[idx],
        "contract_start_date": pd.Series(_dates(contract[idx])).astype("datetime64[s]"),
        "actual_start_date": pd.Series(_dates(np.where(is_partial, actual[idx], np.nan))).astype("datetime64[s]"),
        "developed_share": dev,
        "invested_share": inv,
        "halted_date": pd.Series(_dates(halted[idx])).astype("datetime64[s]"),
        "land_price_wan": price,
        "determination_date": pd.Series(_dates(det)).astype("datetime64[s]"),
    })
