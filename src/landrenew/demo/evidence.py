"""The evidence lists: hazards (危), pollution (污), 卫片执法 cases (乱), 批而未供 batches, idle land.

Each is drawn from firms and parcels at realistic rates; records name a firm (USCC), a
parcel (code) or both.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from landrenew.demo.common import (
    AS_OF,
    DISTRICT_FULL,
    EVAL_YEARS,
    MU_PER_M2,
    concat,
    date_series,
    day,
    pick,
    random_days,
    running_number,
    text,
    year_of,
    year_start,
    zfill,
)
from landrenew.demo.firms import HEAVY
from landrenew.demo.geography import WORK_CRS, Geography
from landrenew.demo.layout import BELT, CORE, HILL, PARK, RURAL, TOWN, URBAN_ZONES, VILLAGE
from landrenew.demo.parcels import FARMLAND, NON_CONSTRUCTION
from landrenew.demo.shapes import area_or_zero, largest_polygons, rectangles

#: one-character district abbreviations in case numbers (常天环罚〔2024〕12号)
DISTRICT_ABBR = {"320402": "天", "320404": "钟", "320411": "新", "320412": "武", "320413": "金", "320481": "溧"}
STATUS = ("已整改", "整改中", "未整改")
#: share of records the agency has not (yet) judged fixable in place or not (可整改 left blank)
UNJUDGED = 0.2
#: chance a hazard not yet fixed is judged not fixable in place (否), by level; fixed ones are 是
HAZARD_NOT_FIXABLE = {"重大": 0.7, "一般": 0.2}
#: chance a pollution case is judged not fixable in place, by violation type (halved once fixed)
POLLUTION_NOT_FIXABLE = {"污染地块": 0.6, "无证排污": 0.45, "环评未批": 0.3, "无组织排放": 0.12, "超标排放": 0.08}


def hazards(rng: np.random.Generator, firms: pd.DataFrame, parcels: gpd.GeoDataFrame,
            troubled: NDArray[np.bool_], judge: np.random.Generator | None = None) -> pd.DataFrame:
    """应急管理局 hazard list (危): ~3 % of industrial firms, plus a few ``troubled`` sites with no firm.

    ``judge`` draws whether each hazard is fixable in place (可整改; default ``rng``): major
    hazards not yet fixed mostly not, ordinary ones mostly yes, ~20 % not judged.
    """
    latest = firms[firms["year"] == EVAL_YEARS[-1]].reset_index(drop=True)
    nf = len(latest)
    heavy = latest["industry_code"].isin(HEAVY).to_numpy()
    w = 1 + 2.0 * heavy + 0.5 * (latest["group"] == "规下").to_numpy() + 0.5 * (latest["years_in_production"] > 15).to_numpy()
    m = int(round(nf * 0.03))
    chosen = rng.choice(nf, m, replace=False, p=w / w.sum())
    again = chosen[rng.random(m) < 0.1]  # some firms are listed twice
    rows = latest.iloc[np.concatenate([chosen, again])].reset_index(drop=True)
    k = len(rows)
    chem = rows["industry_code"].isin(["25", "26", "28"]).to_numpy()
    types = ("危险化学品", "危旧厂房", "安全检查不合格", "消防隐患")
    htype = np.where(chem, pick(rng, types, k, np.array([.6, .1, .15, .15])),
                     pick(rng, types, k, np.array([.05, .3, .35, .3])))
    uscc = rows["uscc"].to_numpy(dtype=object).copy()
    pcode = _first_code(rows["parcel_codes"])
    no_uscc = rng.random(k) < 0.08
    uscc[no_uscc] = None
    pcode[~no_uscc & (rng.random(k) < 0.25)] = None
    dist = rows["district_code"].to_numpy(dtype=object)
    # sites with no operating firm (e.g. dilapidated works on land never started)
    site = _choose(rng, np.flatnonzero(troubled & parcels["parcel_code"].notna().to_numpy()), int(round(m * 0.08)))
    uscc, pcode, dist = _add_sites(parcels, site, uscc, pcode, dist)
    htype = np.concatenate([htype, pick(rng, ("危旧厂房", "消防隐患"), len(site), np.array([.7, .3]))])
    k = len(uscc)
    found = random_days(rng, "2023-01-01", "2024-11-30", k)
    status = np.where(found < day("2024-01-01"), pick(rng, STATUS, k, np.array([.6, .25, .15])),
                      pick(rng, STATUS, k, np.array([.3, .35, .35])))
    level = pick(rng, ("一般", "重大"), k, np.array([.85, .15]))
    not_fixable = np.array([HAZARD_NOT_FIXABLE[v] for v in level]) * (status != "已整改")
    return pd.DataFrame({
        "record_id": _serial_ids(concat("YH", dist, text(year_of(found))), 5),
        "uscc": uscc,
        "parcel_code": pcode,
        "hazard_type": htype,
        "level": level,
        "found_date": date_series(found),
        "status": status,
        "source_agency": concat(np.array([DISTRICT_FULL[d] for d in dist], dtype=object), "应急管理局"),
        "rectifiable": _judged(judge if judge is not None else rng, not_fixable),
    })


def pollution(rng: np.random.Generator, firms: pd.DataFrame, parcels: gpd.GeoDataFrame,
              zone: NDArray[np.int8], judge: np.random.Generator | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """生态环境局 case list (污): ~4 % of firms, plus contaminated sites; and the env veto per firm-year.

    ``judge`` draws whether each case is fixable in place (可整改; default ``rng``): contaminated
    land and unpermitted discharge often not, excess discharge mostly yes, ~20 % not judged.
    """
    latest = firms[(firms["year"] == EVAL_YEARS[-1]).to_numpy()]
    nf = len(latest)
    heavy = latest["industry_code"].isin(HEAVY).to_numpy()
    w = 1 + 3.0 * heavy + 0.5 * (latest["group"] == "规下").to_numpy()
    m = int(round(nf * 0.04))
    rows = latest.iloc[rng.choice(nf, m, replace=False, p=w / w.sum())]
    vtype = pick(rng, ("超标排放", "无证排污", "无组织排放", "环评未批"), m, np.array([.35, .17, .33, .15]))
    uscc = rows["uscc"].to_numpy(dtype=object).copy()
    pcode = _first_code(rows["parcel_codes"])
    pcode[rng.random(m) < 0.3] = None
    dist = rows["district_code"].to_numpy(dtype=object)
    decided = random_days(rng, "2023-01-01", "2024-12-20", m)
    penalty = np.round(np.clip(np.exp(np.log(8.0) + 0.9 * rng.normal(0, 1, m)), 0.5, 300.0), 2)
    # contaminated sites: old industrial land in the cores and parks (退二进三 candidates)
    pool = np.flatnonzero((parcels["dlbm"] == "0601").to_numpy() & np.isin(zone, [CORE, TOWN, PARK])
                          & parcels["parcel_code"].notna().to_numpy())
    site = _choose(rng, pool, int(round(m * 0.15)))
    ks = len(site)
    uscc, pcode, dist = _add_sites(parcels, site, uscc, pcode, dist)
    vtype = np.concatenate([vtype, np.full(ks, "污染地块", dtype=object)])
    decided = np.concatenate([decided, random_days(rng, "2023-01-01", "2024-12-20", ks)])
    penalty = np.concatenate([penalty, np.full(ks, np.nan)])
    k = len(uscc)
    site_rec = vtype == "污染地块"
    lead = np.array(["溧" if d == "320481" else "常" + DISTRICT_ABBR[d] for d in dist], dtype=object)
    prefix = concat(lead, np.where(site_rec, "环土〔", "环罚〔").astype(object), text(year_of(decided)), "〕")
    status = pick(rng, STATUS, k, np.array([.5, .3, .2]))
    contaminated = site_rec | ((vtype == "超标排放") & (rng.random(k) < 0.05))
    out = pd.DataFrame({
        "case_id": concat(prefix, text(running_number(prefix)), "号"), "uscc": uscc, "parcel_code": pcode,
        "violation_type": vtype, "decision_date": date_series(decided), "penalty_wan": penalty, "status": status,
        "contaminated_site": contaminated,
    })
    not_fixable = np.array([POLLUTION_NOT_FIXABLE.get(v, 0.1) for v in vtype])
    not_fixable = np.where(contaminated, np.maximum(not_fixable, 0.5), not_fixable) * np.where(status == "已整改", 0.5, 1.0)
    out["rectifiable"] = _judged(judge if judge is not None else rng, not_fixable)
    # veto: a penalty of 20 万元 or more in the evaluation year
    serious = out[(out["penalty_wan"] >= 20) & out["uscc"].notna()]
    keys = set(zip(serious["uscc"], serious["decision_date"].dt.year.astype(int), strict=True))
    veto = pd.Series([(u, y) in keys for u, y in zip(firms["uscc"], firms["year"], strict=True)], index=firms.index)
    return out, veto


def enforcement(rng: np.random.Generator, geo: Geography, parcels: gpd.GeoDataFrame, zone: NDArray[np.int8],
                basic_farmland: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
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
    # a rotated rectangle inside the parcel, or beside it (then minus the parcel)
    pg = g[idx]
    side = np.sqrt(shapely.area(pg))
    near = rng.random(m) < 0.4
    half = side * rng.uniform(0.2, 0.45, m)
    theta = rng.uniform(0, np.pi, m)
    p = shapely.point_on_surface(pg)
    c = shapely.centroid(pg)
    phi = rng.uniform(0, 2 * np.pi, m)
    cx = np.where(near, shapely.get_x(c) + (side / 2 + half * 0.8) * np.cos(phi), shapely.get_x(p))
    cy = np.where(near, shapely.get_y(c) + (side / 2 + half * 0.8) * np.sin(phi), shapely.get_y(p))
    rect = rectangles(cx, cy, half * rng.uniform(0.8, 1.3, m), half * rng.uniform(0.6, 1.0, m), theta)
    poly = np.where(near, shapely.difference(rect, pg), shapely.intersection(rect, pg))
    dist = parcels["district_code"].to_numpy(dtype=object)[idx]
    for code, d in zip(geo.districts["district_code"], geo.districts.geometry, strict=True):
        s = np.flatnonzero(dist == code)
        cross = s[~shapely.contains(d, poly[s])]
        poly[cross] = shapely.intersection(poly[cross], d)
    wet = shapely.intersects(geo.water, poly)
    poly[wet] = shapely.difference(poly[wet], geo.water)
    poly = largest_polygons(poly)
    a = area_or_zero(poly)
    ok = a >= 30.0
    idx, poly, a, near, dist = idx[ok], poly[ok], a[ok], near[ok], dist[ok]
    k = len(idx)
    # farmland occupied: overlap with farmland parcels or with permanent basic farmland
    fm = np.zeros(k)
    for targets in (g[np.flatnonzero(farm)], basic_farmland.geometry.values):
        i, j = shapely.STRtree(targets).query(poly, predicate="intersects")
        fm = np.maximum(fm, np.bincount(i, weights=shapely.area(shapely.intersection(poly[i], targets[j])),
                                        minlength=k))
    fm = np.minimum(fm, a)
    on_farm = fm > 0.2 * a
    ctype = np.where(near, np.where(on_farm, "非法占用耕地", "少批多占"),
                     np.where(farm[idx], "非法占用耕地",
                              np.where(rural[idx], pick(rng, ("未批先建", "违规改变用途"), k, np.array([.6, .4])),
                                       pick(rng, ("未批先建", "违规改变用途", "未供即用"), k, np.array([.4, .35, .25])))))
    pcode = parcels["parcel_code"].to_numpy(dtype=object)[idx].copy()
    pcode[near & (rng.random(k) < 0.5)] = None
    year = pick(rng, (2022, 2023, 2024), k, np.array([.25, .35, .40])).astype(int)
    detect = year_start(year.astype(float)) + np.floor(rng.uniform(0, 364, k))
    closed_p = np.select([year == 2022, year == 2023], [0.9, 0.7], 0.35)
    status = np.where(rng.random(k) < closed_p, "已结案", "未结案")
    return gpd.GeoDataFrame({
        "case_id": _serial_ids(concat("WP", dist, text(year)), 4),
        "parcel_code": pcode,
        "district_code": dist,
        "detect_date": date_series(detect),
        "case_type": ctype,
        "area_mu": np.round(a * MU_PER_M2, 2),
        "farmland_mu": np.round(fm * MU_PER_M2, 2),
        "status": status,
        "monitor_year": year.astype(np.int64),
    }, geometry=poly, crs=WORK_CRS)


def unsupplied(rng: np.random.Generator, district: NDArray[np.object_], cd: NDArray[np.int64],
               bsm: NDArray[np.object_], dlbm: NDArray[np.object_], in_urban: NDArray[np.bool_],
               zone: NDArray[np.int8], geoms: NDArray[np.object_],
               approval: NDArray[np.float64]) -> tuple[gpd.GeoDataFrame, NDArray[np.float64]]:
    """批而未供 batches: 空闲地 and farmland inside the urban boundary, grouped by 地籍区 (``cd``).

    Returns the batches and ``approval`` (days) updated with each batch's approval date.
    """
    n = len(dlbm)
    u = rng.random(n)
    cand = ((dlbm == "1201") & in_urban & (u < 0.85)) | (
        np.isin(dlbm, FARMLAND) & in_urban & np.isin(zone, URBAN_ZONES) & (u < 0.65))
    idx = np.flatnonzero(cand)
    key = concat(district[idx], zfill(cd[idx], 3))
    order = np.lexsort((bsm[idx].astype(str), key.astype(str)))
    idx, key = idx[order], key[order]
    # batches: runs of 2–8 parcels within a 地籍区
    ukey, ginv = np.unique(key.astype(str), return_inverse=True)
    size = rng.integers(2, 9, len(ukey))[ginv]
    bkey = concat(key, "-", text((running_number(key) - 1) // size))
    _, bfirst, binv = np.unique(bkey.astype(str), return_index=True, return_inverse=True)
    nb = int(binv.max()) + 1 if len(binv) else 0
    years = np.arange(2009, 2023)
    byear = pick(rng, list(years), nb, np.linspace(1.0, 2.5, len(years))).astype(int)
    bnum = rng.integers(1, 1500, nb)
    bdate = year_start(byear.astype(float)) + (bnum * 37) % 360
    approval = approval.copy()
    approval[idx] = bdate[binv]
    diss = gpd.GeoDataFrame({"b": binv}, geometry=geoms[idx], crs=WORK_CRS).dissolve(by="b").sort_index()
    umu = shapely.area(diss.geometry.values) * MU_PER_M2
    doc = concat("苏政地〔", text(byear), "〕", text(bnum), "号")
    supplied = np.where(rng.random(nb) < 0.3, 0.0, umu * rng.uniform(0.3, 3.0, nb))
    out = gpd.GeoDataFrame({
        "batch_id": concat(doc, "-", text(running_number(doc))),
        "district_code": district[idx][bfirst],
        "approval_date": date_series(bdate),
        "approved_area_mu": np.round(umu + supplied, 2),
        "supplied_area_mu": np.round(supplied, 2),
    }, geometry=diss.geometry.values, crs=WORK_CRS)
    return out, approval


def idle(rng: np.random.Generator, parcels: gpd.GeoDataFrame, never: NDArray[np.bool_],
         partial: NDArray[np.bool_], area: NDArray[np.float64]) -> pd.DataFrame:
    """闲置土地 list: supplied industrial land not (or barely) started a year after the contracted date."""
    contract = parcels["contract_start_date"].to_numpy(dtype="datetime64[D]").astype(float)
    actual = parcels["actual_start_date"].to_numpy(dtype="datetime64[D]").astype(float)
    as_of = day(AS_OF)
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
        "contract_start_date": date_series(contract[idx]),
        "actual_start_date": date_series(np.where(is_partial, actual[idx], np.nan)),
        "developed_share": dev,
        "invested_share": inv,
        "halted_date": date_series(halted[idx]),
        "land_price_wan": price,
        "determination_date": date_series(det),
    })


def _judged(rng: np.random.Generator, not_fixable: NDArray[np.float64]) -> pd.Series:
    """可整改 per record: False with chance ``not_fixable``, else True; NA (not judged) for ``UNJUDGED``."""
    k = len(not_fixable)
    fixable = rng.random(k) >= not_fixable
    unjudged = rng.random(k) < UNJUDGED
    return pd.Series(pd.array(np.where(unjudged, None, fixable), dtype="boolean"))


def _first_code(codes: pd.Series) -> NDArray[np.object_]:
    """The first of ``;``-joined parcel codes (a writable copy)."""
    return codes.astype(str).str.split(";").str[0].to_numpy(dtype=object).copy()


def _serial_ids(prefix: NDArray[np.object_], width: int) -> NDArray[np.object_]:
    """``prefix`` + a zero-padded serial within each prefix."""
    return concat(prefix, zfill(running_number(prefix), width))


def _choose(rng: np.random.Generator, pool: NDArray[np.int64], k: int) -> NDArray[np.int64]:
    """Up to ``k`` distinct members of ``pool``."""
    k = min(len(pool), k)
    return rng.choice(pool, k, replace=False) if k else np.zeros(0, int)


def _add_sites(parcels: gpd.GeoDataFrame, site: NDArray[np.int64], uscc: NDArray[np.object_],
               pcode: NDArray[np.object_], dist: NDArray[np.object_]) -> tuple[NDArray[np.object_], ...]:
    """Append records for parcels ``site`` that name no firm: uscc, parcel code and district."""
    return (np.concatenate([uscc, np.full(len(site), None, dtype=object)]),
            np.concatenate([pcode, parcels["parcel_code"].to_numpy(dtype=object)[site]]),
            np.concatenate([dist, parcels["district_code"].to_numpy(dtype=object)[site]]))
