"""What the city's targets are measured from: land-supply records and yearly district statistics, 2020–2025.

Both are drawn from their own random streams (``SUPPLY_STREAM``, ``STATISTICS_STREAM`` in `city`), so
adding them leaves the rest of the city unchanged for a seed. Volumes are the city's, not the sample's: they do not depend on
the number of parcels generated.

* **Supply** (土地供应记录, 自然资源和规划局): 15–25 thousand 亩 a year; the stock share (存量供地占比)
  rises from ~55 % in 2020 to ~71 % in 2025, higher in the old urban districts (天宁, 钟楼), lower in
  金坛 and 溧阳. Records are (a) the demo parcels supplied in 2020–2024, with their code, date, area and
  use (新增 when the parcel carries an approval date, else 存量); (b) in 2025, vacant state land (空闲地,
  存量) and 批而未供 parcels (新增) of the demo city; (c) records without a parcel code filling each
  district-year to its volume. The mode follows the use: public and infrastructure land is mostly 划拨,
  the rest 出让 (listing, auction, tender; 协议出让 mainly for stock land), industrial land at times 租赁 or
  先租后让.
* **Statistics** (分区年度统计, 统计局): GDP ~7,800 亿元 in 2020 split by district, growing ~7.5 %/yr;
  construction land from a district intensity in 2020, then growing by each year's new-land supply
  × 1.2–1.8 (roads and other land not in the supply records), ~0.5–1 %/yr, so land per GDP falls
  ~25–35 % by 2025; the total area of each district from its geometry; cultivated land losing what new
  construction occupies and gaining what reclamation supplements (short of it in 2021, ahead after).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from landrenew.demo.common import MU_PER_M2, concat, date_series, pick, running_number, text, zfill
from landrenew.demo.geography import DISTRICTS

YEARS = tuple(range(2020, 2026))
#: the city's supply per year (亩): centre and the range a year's draw is clipped to
SUPPLY_MU, SUPPLY_RANGE = 20_000.0, (15_500.0, 24_500.0)
#: the city's stock share in the first and last year (straight line between)
STOCK_SHARE = (0.55, 0.71)
#: share of the city's supply by district, and the district's stock share above (below) the city's
SUPPLY_SHARE = {"320402": .08, "320404": .07, "320411": .24, "320412": .31, "320413": .14, "320481": .16}
STOCK_OFFSET = {"320402": .16, "320404": .17, "320411": .0, "320412": .01, "320413": -.09, "320481": -.12}
#: city GDP in 2020 (亿元), its split by district, and the mean yearly growth (nominal)
GDP_2020, GDP_GROWTH = 7_805.0, 0.075
GDP_SHARE = {"320402": .13, "320404": .11, "320411": .23, "320412": .31, "320413": .09, "320481": .13}
#: construction land and cultivated land as a share of the district's area at the end of 2020
INTENSITY_2020 = {"320402": .55, "320404": .60, "320411": .40, "320412": .34, "320413": .21, "320481": .17}
CULTIVATED_2020 = {"320402": .10, "320404": .08, "320411": .20, "320412": .25, "320413": .33, "320481": .36}
#: planned uses of supplied land: codes (weights), median area (亩) and log-normal spread
USES: dict[str, tuple[tuple[str, ...], tuple[float, ...], float, float]] = {
    "industrial": (("100101", "100102", "100103"), (.45, .45, .10), 35.0, 0.8),
    "warehouse": (("1101",), (1.0,), 40.0, 0.6),
    "residential": (("070102", "0701"), (.7, .3), 60.0, 0.6),
    "commercial": (("0901", "0902"), (.6, .4), 25.0, 0.8),
    "public": (("0804", "0806", "0801", "0805"), (.45, .2, .2, .15), 20.0, 0.8),
    "transport": (("1207", "1208"), (.8, .2), 30.0, 1.0),
    "utility": (("1301", "1302", "1303", "1309"), (.3, .3, .2, .2), 8.0, 0.8),
    "green": (("1401", "1402"), (.6, .4), 15.0, 0.8),
}
#: mix of uses (by record) for new and stock land
MIX = {
    "new": {"industrial": .45, "warehouse": .05, "residential": .18, "commercial": .07, "public": .08,
            "transport": .10, "utility": .05, "green": .02},
    "stock": {"industrial": .28, "warehouse": .04, "residential": .28, "commercial": .14, "public": .12,
              "transport": .08, "utility": .04, "green": .02},
}
#: 用地用海 level-1 codes of land usually allocated (划拨) rather than granted
ALLOCATED = ("08", "12", "13", "14", "15")
#: months of supply (many contracts are signed in December)
MONTH_WEIGHTS = np.array([.6, .5, .9, .9, 1.0, 1.3, .9, .8, 1.0, .9, 1.1, 2.2])
#: share of a district-year's volume of new (stock) land met by demo parcels, at most: parcels supplied
#: in 2020–2024, and in 2025 vacant state land (stock) and 批而未供 parcels (new)
LINKED_SUPPLIED, LINKED_2025 = 0.8, {"stock": 0.25, "new": 0.20}
#: 出让 as the bureau writes it: spelling → weight, for new and stock land
GRANT_SPELLINGS = {"new": {"挂牌出让": .85, "拍卖出让": .10, "招标出让": .05},
                   "stock": {"挂牌出让": .65, "拍卖出让": .07, "招标出让": .03, "协议出让": .25}}
#: first letter of the serial in the 电子监管号 by mode
MODE_LETTER = {"划拨": "A", "出让": "B", "租赁": "C", "先租后让": "C"}


def land_supply(rng: np.random.Generator, parcels: pd.DataFrame, area_m2: NDArray[np.float64]) -> pd.DataFrame:
    """Supply records 2020–2025 (canonical columns, ``land_source`` new/stock, ``mode`` canonical) with
    ``mode_detail``, the mode as the bureau writes it (挂牌出让 …)."""
    codes = list(DISTRICTS)
    nd, ny = len(codes), len(YEARS)
    district = parcels["district_code"].to_numpy(dtype=object)
    pcode = parcels["parcel_code"].to_numpy(dtype=object)
    has_code = pd.notna(pcode)
    mu = area_m2 * MU_PER_M2
    supplied = parcels["supply_date"].notna().to_numpy()
    supply_day = np.where(supplied, parcels["supply_date"].to_numpy(dtype="datetime64[D]").astype(np.int64), np.nan)
    supply_year = parcels["supply_date"].dt.year.to_numpy(dtype=float)
    approved = parcels["approval_date"].notna().to_numpy()

    # volumes by year and district, and their stock shares
    city = np.clip(SUPPLY_MU * np.exp(rng.normal(0, 0.1, ny)), *SUPPLY_RANGE)
    weights = rng.dirichlet(np.array([SUPPLY_SHARE[c] for c in codes]) * 200, ny)  # (year, district)
    trend = np.linspace(*STOCK_SHARE, ny) + rng.normal(0, 0.008, ny)
    share = np.clip(trend[:, None] + np.array([STOCK_OFFSET[c] for c in codes])[None, :]
                    + rng.normal(0, 0.02, (ny, nd)), 0.15, 0.97)
    volume = city[:, None] * weights  # (year, district)
    target = {True: volume * (1 - share), False: volume * share}  # new / stock land by (year, district)

    # demo parcels that get a record: (a) those supplied in 2020–2024, with their own date and use;
    # (b) in 2025, vacant state land (stock) and 批而未供 parcels (new). Each district-year takes
    # parcels (in random order) up to a share of its volume of new (stock) land.
    year_of = {y: j for j, y in enumerate(YEARS)}
    col = {c: i for i, c in enumerate(codes)}
    unsupplied = has_code & ~np.isfinite(supply_day)
    groups = [
        (np.flatnonzero(has_code & (supply_year >= YEARS[0]) & (supply_year <= 2024)), None, LINKED_SUPPLIED),
        (np.flatnonzero(unsupplied & (parcels["dlbm"].to_numpy(dtype=object) == "1201") & ~approved), 2025,
         LINKED_2025["stock"]),
        (np.flatnonzero(unsupplied & approved), 2025, LINKED_2025["new"]),
    ]
    taken = []
    for cand, year, cap in groups:
        cand = cand[rng.permutation(len(cand))]
        y = supply_year[cand].astype(int) if year is None else np.full(len(cand), year)
        j, i = np.array([year_of[v] for v in y], dtype=int), np.array([col[d] for d in district[cand]], dtype=int)
        limit = np.where(approved[cand], target[True][j, i], target[False][j, i]) * cap
        key = (j * nd + i) * 2 + approved[cand]
        within = pd.Series(mu[cand]).groupby(key).cumsum().to_numpy() <= limit
        k = cand[within]
        taken.append(pd.DataFrame({
            "district_code": district[k], "parcel_code": pcode[k], "area_mu": mu[k], "new": approved[k],
            "year": y[within], "day": supply_day[k] if year is None else np.nan,
            "ydyh_code": parcels["ydyh_code"].to_numpy(dtype=object)[k] if year is None else None, "use": None}))
    linked = pd.concat(taken, ignore_index=True)
    have = linked.groupby(["year", "district_code", "new"])["area_mu"].sum()

    def got(y: int, d: str, new: bool) -> float:
        return float(have.get((y, d, new), 0.0))

    # (c) records without a parcel code filling each district-year to its volume
    cells = []
    for j, y in enumerate(YEARS):
        for i, d in enumerate(codes):
            for new in (True, False):
                rest = target[new][j, i] - got(y, d, new)
                if rest >= 5.0:
                    cells.append((y, d, new, rest))
    fill = _fill(rng, cells)

    records = pd.concat([linked, fill], ignore_index=True)
    n = len(records)
    source = np.where(records["new"].to_numpy(dtype=bool), "new", "stock").astype(object)
    # a use for every record that has none (2025 parcels and the fill)
    no_use = records["ydyh_code"].isna().to_numpy()
    use = records["use"].to_numpy(dtype=object).copy()
    for s in ("new", "stock"):
        m = np.flatnonzero(no_use & (source == s) & pd.isna(use))
        use[m] = pick(rng, list(MIX[s]), len(m), np.array(list(MIX[s].values())))
    ydyh = records["ydyh_code"].to_numpy(dtype=object).copy()
    for u, (options, w, _, _) in USES.items():
        m = np.flatnonzero(no_use & (use == u))
        ydyh[m] = pick(rng, options, len(m), np.array(w))
    # dates: the parcels' own in 2020–2024, else a day of the year (more in December)
    days = records["day"].to_numpy(dtype=float).copy()
    m = np.flatnonzero(~np.isfinite(days))
    month = rng.choice(12, len(m), p=MONTH_WEIGHTS / MONTH_WEIGHTS.sum())
    start = (records["year"].to_numpy()[m].astype(int) - 1970) * 12 + month
    first = start.astype("datetime64[M]").astype("datetime64[D]").astype(float)
    length = (start + 1).astype("datetime64[M]").astype("datetime64[D]").astype(float) - first
    days[m] = first + np.floor(rng.uniform(0, 1, len(m)) * length)
    # modes by use
    level1 = pd.Series(ydyh, dtype="string").str.slice(0, 2).to_numpy(dtype=object)
    u = rng.random(n)
    mode = np.full(n, "出让", dtype=object)
    mode[np.isin(level1, ALLOCATED) & (u < 0.9)] = "划拨"
    industrial = level1 == "10"
    mode[industrial & (u < 0.06)] = "先租后让"
    mode[industrial & (u >= 0.06) & (u < 0.09)] = "租赁"
    detail = mode.copy()
    for s, spellings in GRANT_SPELLINGS.items():
        m = np.flatnonzero((mode == "出让") & (source == s))
        detail[m] = pick(rng, list(spellings), len(m), np.array(list(spellings.values())))

    out = pd.DataFrame({
        "district_code": records["district_code"].to_numpy(dtype=object),
        "parcel_code": records["parcel_code"].to_numpy(dtype=object),
        "supply_date": date_series(days),
        "area_mu": np.maximum(np.round(records["area_mu"].to_numpy(dtype=float), 2), 0.01),
        "land_source": source,
        "mode": mode,
        "ydyh_code": ydyh,
        "mode_detail": detail,
    })
    out = out.sort_values(["supply_date", "district_code", "area_mu"], kind="stable").reset_index(drop=True)
    year = out["supply_date"].dt.year.to_numpy()
    prefix = concat(out["district_code"].to_numpy(dtype=object), text(year), out["mode"].map(MODE_LETTER).to_numpy())
    out.insert(0, "record_id", concat(prefix, zfill(running_number(prefix), 5)))
    return out


def _fill(rng: np.random.Generator, cells: list[tuple[int, str, bool, float]]) -> pd.DataFrame:
    """Records without a parcel code whose areas add up to each cell's volume (year, district, new, 亩)."""
    if not cells:
        return pd.DataFrame(columns=["district_code", "parcel_code", "area_mu", "new", "year", "day", "ydyh_code",
                                     "use"])
    year, district, new, volume = (np.array(v, dtype=object) for v in zip(*cells, strict=True))
    volume = volume.astype(float)
    count = np.maximum(1, np.round(volume / 38.0)).astype(int)
    cell = np.repeat(np.arange(len(cells)), count)
    source = np.where(new.astype(bool), "new", "stock")[cell]
    use = np.empty(len(cell), dtype=object)
    for s in ("new", "stock"):
        m = np.flatnonzero(source == s)
        use[m] = pick(rng, list(MIX[s]), len(m), np.array(list(MIX[s].values())))
    median = np.array([USES[u][2] for u in use])
    spread = np.array([USES[u][3] for u in use])
    area = np.clip(median * np.exp(rng.normal(0, 1, len(cell)) * spread), 0.5, 800.0)
    area *= (volume / np.bincount(cell, weights=area))[cell]
    return pd.DataFrame({"district_code": district[cell], "parcel_code": None, "area_mu": area,
                         "new": new[cell].astype(bool), "year": year[cell].astype(int), "day": np.nan,
                         "ydyh_code": None, "use": use})


def district_statistics(rng: np.random.Generator, districts: gpd.GeoDataFrame,
                        supply: pd.DataFrame) -> pd.DataFrame:
    """One row per district and year 2020–2025: GDP (亿元), construction, total and cultivated land (亩).

    ``districts`` in a metric CRS (EPSG:4549); ``supply`` as made by :func:`land_supply`."""
    codes = list(DISTRICTS)
    nd, ny = len(codes), len(YEARS)
    total = (districts.set_index("district_code").geometry.area * MU_PER_M2).reindex(codes).to_numpy()
    year = supply["supply_date"].dt.year
    new = (supply[supply["land_source"] == "new"].groupby([year, "district_code"])["area_mu"].sum()
           .unstack(fill_value=0.0).reindex(index=list(YEARS), columns=codes, fill_value=0.0).to_numpy())

    share = np.array([GDP_SHARE[c] for c in codes]) * np.exp(rng.normal(0, 0.02, nd))
    growth = np.clip(GDP_GROWTH + rng.normal(0, 0.005, nd)[None, :] + rng.normal(0, 0.005, (ny, nd)), 0.055, 0.095)
    growth[0] = 0.0
    gdp = GDP_2020 * share / share.sum() * np.cumprod(1 + growth, axis=0)

    built = np.array([INTENSITY_2020[c] for c in codes]) * total * np.exp(rng.normal(0, 0.02, nd))
    extra = rng.uniform(1.2, 1.8, (ny, nd))
    construction = built + np.cumsum(np.vstack([np.zeros(nd), new[1:] * extra[1:]]), axis=0)

    farm = np.array([CULTIVATED_2020[c] for c in codes]) * total * np.exp(rng.normal(0, 0.02, nd))
    occupied = new * rng.uniform(0.4, 0.7, (ny, nd))
    supplemented = occupied * np.where(np.array(YEARS)[:, None] <= 2021, rng.uniform(0.80, 1.0, (ny, nd)),
                                       rng.uniform(1.0, 1.3, (ny, nd)))
    change = supplemented - occupied
    change[0] = 0.0
    cultivated = farm + np.cumsum(change, axis=0)

    grid_year = np.repeat(np.array(YEARS), nd)
    return pd.DataFrame({
        "district_code": np.tile(np.array(codes, dtype=object), ny),
        "year": grid_year.astype(np.int64),
        "gdp_yi": np.round(gdp.ravel(), 2),
        "construction_land_mu": np.round(construction.ravel(), 2),
        "total_area_mu": np.round(np.tile(total, ny), 2),
        "cultivated_land_mu": np.round(cultivated.ravel(), 2),
    })


def indicators(supply: pd.DataFrame, statistics: pd.DataFrame) -> dict[str, dict[int, float] | float]:
    """The city's figures by year: supply (亩), stock share, GDP (亿元), construction land (亩), land per
    GDP (亩 per 亿元), and the decline of land per GDP from the first to the last year."""
    year = supply["supply_date"].dt.year
    total = supply.groupby(year)["area_mu"].sum()
    stock = supply[supply["land_source"] == "stock"].groupby(year)["area_mu"].sum()
    by = statistics.groupby("year")[["gdp_yi", "construction_land_mu"]].sum()
    per_gdp = by["construction_land_mu"] / by["gdp_yi"]
    return {
        "supply_mu": {int(y): round(float(v), 1) for y, v in total.items()},
        "stock_share": {int(y): round(float(stock.get(y, 0.0) / v), 4) for y, v in total.items()},
        "gdp_yi": {int(y): round(float(v), 1) for y, v in by["gdp_yi"].items()},
        "construction_land_mu": {int(y): round(float(v), 1) for y, v in by["construction_land_mu"].items()},
        "land_per_gdp": {int(y): round(float(v), 2) for y, v in per_gdp.items()},
        "land_per_gdp_decline": round(float(1 - per_gdp.iloc[-1] / per_gdp.iloc[0]), 4),
    }

