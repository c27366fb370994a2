"""Parcel attributes: land use, parcel codes and ownership, dates, floor and declared areas."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from landrenew.demo.common import AS_OF, concat, day, pick, running_number, year_start, zfill
from landrenew.demo.geography import Geography
from landrenew.demo.layout import (
    BELT,
    CORE,
    FARM,
    HILL,
    PARK,
    RURAL,
    TOWN,
    URBAN_ZONES,
    VILLAGE,
    Points,
)

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
#: land uses supplied by the state (with supply / contract dates)
SUPPLIED = ("0601", "05H1", "0508", "0701", "08H1", "08H2", "0809", "0810", "09", "1005", "0602")
#: land-use vintage by zone: mean year and standard deviation
VINTAGE = {PARK: (2009, 6), CORE: (2001, 10), TOWN: (2003, 9), BELT: (2005, 8), VILLAGE: (1998, 10),
           RURAL: (2003, 9), HILL: (2000, 10)}
#: plot ratio: median by land use, log-normal spread (default 0.35)
PLOT_RATIO = {"0601": 1.15, "0508": 0.9, "05H1": 2.4, "0701": 2.0, "0702": 0.8, "08H1": 1.4, "08H2": 1.2,
              "0809": 0.4, "0810": 0.05, "09": 0.5, "1005": 0.3, "0602": 0.1, "1201": 0.0}
PLOT_RATIO_SPREAD = {"0601": 0.4, "05H1": 0.5, "0701": 0.3, "0702": 0.3}


def land_use(rng: np.random.Generator, pts: Points, basic_farmland: shapely.Geometry) -> NDArray[np.object_]:
    """三调 land-use code (dlbm) per point from its zone's mix; basic farmland turns countryside into FARM."""
    shapely.prepare(basic_farmland)
    zone = pts.zone.copy()
    zone[(pts.zone == RURAL) & shapely.contains_xy(basic_farmland, pts.x, pts.y)] = FARM
    dlbm = np.empty(len(pts.x), dtype=object)
    for z, mix in LANDUSE.items():
        m = np.flatnonzero(zone == z)
        dlbm[m] = pick(rng, list(mix), len(m), np.array(list(mix.values())))
    return dlbm


@dataclass
class ParcelCodes:
    """Codes and ownership per parcel."""

    cd: NDArray[np.int64]  # 地籍区 number within the district
    subzone: NDArray[np.object_]  # district + 地籍区 + 地籍子区 (12 characters)
    own: NDArray[np.object_]  # ownership: G state, J collective, Z disputed
    parcel_code: NDArray[np.object_]  # 19-character 宗地代码; None for 三调-only features
    bsm: NDArray[np.object_]  # 标识码: district + 12-digit serial


def parcel_codes(rng: np.random.Generator, geo: Geography, district: NDArray[np.object_], x: NDArray[np.float64],
                 y: NDArray[np.float64], zone: NDArray[np.int8], dlbm: NDArray[np.object_]) -> ParcelCodes:
    """GB/T 37346 parcel codes: 地籍区 = 4 km tiles, 地籍子区 = 1 km tiles, serial per 子区 north→south."""
    n = len(x)
    cd = np.zeros(n, dtype=np.int64)
    sub = np.zeros(n, dtype=np.int64)
    for code, d in zip(geo.districts["district_code"], geo.districts.geometry, strict=True):
        m = np.flatnonzero(district == code)
        x0, _, _, y1 = d.bounds
        ix, iy = np.floor((x[m] - x0) / 1000.0).astype(int), np.floor((y1 - y[m]) / 1000.0).astype(int)
        _, cd[m] = np.unique((iy // 4) * 1000 + ix // 4, return_inverse=True)
        cd[m] += 1
        sub[m] = (iy % 4) * 4 + ix % 4 + 1
    construction = ~np.isin(dlbm, NON_CONSTRUCTION)
    state = np.isin(zone, URBAN_ZONES) & (dlbm != "0702") & construction
    state |= np.isin(dlbm, ["0601", "1001", "1003", "09"]) & (zone != VILLAGE)
    state |= dlbm == "1201"
    own = np.where(state, "G", "J").astype(object)
    use = np.full(n, "B", dtype=object)
    use[dlbm == "0702"] = "C"
    use[np.isin(dlbm, ["0101", "0102", "0103", "0201", "0202"])] = "D"
    use[dlbm == "0301"] = "E"
    use[dlbm == "1201"] = "W"
    use[(use == "D") & (rng.random(n) < 0.3)] = "A"
    disputed = ~state & (rng.random(n) < 0.002)
    own[disputed], use[disputed] = "Z", "W"
    order = np.lexsort((x, -y, sub, cd, district))
    subzone = concat(district, zfill(cd, 3), zfill(sub, 3))
    serial = np.zeros(n, dtype=np.int64)
    serial[order] = running_number(subzone[order])
    parcel_code = concat(subzone, own, use, zfill(serial, 5))
    dser = np.zeros(n, dtype=np.int64)
    dser[order] = running_number(district[order])
    bsm = concat(district, zfill(dser, 12))
    # a few hundred 三调-only features (farmland / forest) carry no parcel code
    pool = np.flatnonzero(np.isin(dlbm, ["0101", "0103", "0301", "0201"]))
    k = min(len(pool), min(600, max(1, int(round(n * 0.006)))))
    only_bsm = rng.choice(pool, k, replace=False) if k else np.zeros(0, int)
    parcel_code[only_bsm] = None
    return ParcelCodes(cd, subzone, own, parcel_code, bsm)


@dataclass
class ParcelDates:
    """Days since 1970-01-01 (NaN = none), the idle flags and the year production started."""

    approval: NDArray[np.float64]
    supply: NDArray[np.float64]
    contract: NDArray[np.float64]  # contracted start of construction
    actual: NDArray[np.float64]  # actual start
    never: NDArray[np.bool_]  # industrial land never started
    partial: NDArray[np.bool_]  # industrial land started but barely built
    start_year: NDArray[np.float64]


def parcel_dates(rng: np.random.Generator, zone: NDArray[np.int8], dlbm: NDArray[np.object_],
                 own: NDArray[np.object_], parcel_code: NDArray[np.object_]) -> ParcelDates:
    """Vintage year by zone; approval, supply, contract and start dates for state-supplied land."""
    n = len(dlbm)
    mean, sd = np.array([VINTAGE.get(z, (2003, 9)) for z in range(8)], float)[zone].T
    vintage = np.clip(np.round(rng.normal(mean, sd)), 1985, 2024)
    base = year_start(vintage) + rng.uniform(0, 364, n)
    supplied = np.isin(dlbm, SUPPLIED) & (own == "G") & ~np.isin(dlbm, NON_CONSTRUCTION)
    new_land = supplied & (vintage >= 1999) & (rng.random(n) < 0.85)
    approval = np.where(new_land, base - rng.uniform(60, 700, n), np.nan)
    supply = np.where(supplied & ((vintage >= 1999) | (rng.random(n) < 0.5)), base, np.nan)
    contract = np.where(np.isfinite(supply) & (vintage >= 2008), supply + rng.uniform(90, 365, n), np.nan)
    actual = np.where(np.isfinite(contract), contract + np.clip(rng.normal(25, 80, n), -60, 400), np.nan)
    as_of = day(AS_OF)
    actual[actual > as_of] = np.nan
    has_contract = (dlbm == "0601") & np.isfinite(contract) & (parcel_code != None)  # noqa: E711
    u = rng.random(n)
    never = has_contract & (u < 0.012)
    partial = has_contract & (u >= 0.012) & (u < 0.019)
    actual[never] = np.nan
    actual[partial] = contract[partial] + rng.uniform(0, 120, int(partial.sum()))
    actual[actual > as_of] = np.nan
    start_year = np.where(np.isfinite(actual), 1970 + actual / 365.2425,
                          np.where(np.isfinite(supply), 1970 + supply / 365.2425 + 1.0, vintage + 0.5))
    return ParcelDates(approval, supply, contract, actual, never, partial, start_year)


def floor_and_declared_areas(rng: np.random.Generator, dlbm: NDArray[np.object_], area: NDArray[np.float64],
                             dates: ParcelDates) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Floor area (plot ratio × area; 2 % missing) and declared parcel area (mostly ≈ the geometry's)."""
    n = len(dlbm)
    pr = np.full(n, np.nan)
    for code, med in PLOT_RATIO.items():
        m = dlbm == code
        pr[m] = med * np.exp(rng.normal(0, PLOT_RATIO_SPREAD.get(code, 0.35), int(m.sum())))
    pr[(dlbm == "0601") & (np.nan_to_num(dates.supply, nan=0) > day("2015-01-01"))] *= 1.3
    pr[dates.never] = 0.0
    pr[dates.partial] *= rng.uniform(0.05, 0.3, int(dates.partial.sum()))
    floor = np.round(pr * area, 2)
    floor[rng.random(n) < 0.02] = np.nan
    declared = area * (1 + rng.normal(0, 0.003, n))
    big = rng.random(n) < 0.01
    declared[big] = area[big] * rng.uniform(0.7, 1.3, int(big.sum()))
    return floor, np.round(declared, 2)
