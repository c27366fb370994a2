"""The demo city: parcels, control layers, firms and evidence lists on the real districts.

`build_city` is deterministic for a seed (one `numpy.random.default_rng(seed)` drives
everything, in a fixed order; later additions use child streams ``default_rng([seed, k])``
so they do not shift it) and vectorised. It composes:

* `geography` — the real districts and the natural and planned frame;
* `layout` — seed points by density zone and the parcel geometries cut around them;
* `controls` — the five control layers; `plan` — the detailed-plan (控规) zones and their
  planned use, drawn from their own random stream so they leave the other draws unchanged;
* `parcels` — land use (parks mostly 0601, villages 0702, basic farmland 01xx …), parcel
  codes, ownership, dates and areas;
* `names` — right holders; `firms` — firms on industrial parcels;
* `evidence` — hazards, pollution, 卫片执法 cases, 批而未供 batches and idle land;
* `targets_data` — land-supply records and yearly district statistics 2020–2025 (what the city's
  targets are measured from), drawn from their own random stream.

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
from landrenew.demo import evidence, targets_data
from landrenew.demo.common import EVAL_YEARS, MU_PER_M2, date_series
from landrenew.demo.controls import control_layers
from landrenew.demo.firms import build_firms
from landrenew.demo.geography import DISTRICTS, OUT_CRS, WORK_CRS, build_geography
from landrenew.demo.layout import parcel_geometries, sample_points
from landrenew.demo.names import right_holders
from landrenew.demo.parcels import (
    NON_CONSTRUCTION,
    floor_and_declared_areas,
    land_use,
    parcel_codes,
    parcel_dates,
)
from landrenew.demo.plan import planned_use_layer
from landrenew.demo.shapes import to_out

#: child random streams (``default_rng([seed, k])``): the plan zones, the agencies' 可整改 judgements,
#: the land-supply records, the district statistics
PLAN_STREAM, JUDGE_STREAM, SUPPLY_STREAM, STATISTICS_STREAM = 1, 2, 3, 4


@dataclass
class DemoCity:
    """A generated city: every frame in canonical column names, geometries in EPSG:4490.

    ``layers`` maps each layer kind (eco_redline, basic_farmland, urban_boundary,
    industrial_line, industrial_park, planned_use) to its features; ``firms`` holds one row per
    firm per evaluation year (2023, 2024). ``supply`` and ``statistics`` hold the land-supply
    records and the yearly district statistics of 2020–2025 (``supply`` also has ``mode_detail``,
    the mode as the bureau spells it).
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
    supply: pd.DataFrame = field(default_factory=pd.DataFrame)
    statistics: pd.DataFrame = field(default_factory=pd.DataFrame)

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
        by = by.reindex(columns=[name for name in DISTRICTS.values() if name in by.columns])
        latest = self.firms[self.firms["year"] == max(EVAL_YEARS)]
        counts = self.parcels["district_code"].value_counts().reindex(list(DISTRICTS)).fillna(0)
        return {
            "seed": self.seed,
            "parcels": int(len(self.parcels)),
            "parcels_by_district": {DISTRICTS[c]: int(n) for c, n in counts.items()},
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
            "targets": {"supply_records": int(len(self.supply)),
                        **(targets_data.indicators(self.supply, self.statistics)
                           if len(self.supply) and len(self.statistics) else {})},
        }


def build_city(n_parcels: int = 50_000, seed: int = 42) -> DemoCity:
    """Generate the demo city with about ``n_parcels`` parcels, deterministically for ``seed``."""
    if n_parcels < 200:
        raise ValueError("n_parcels must be at least 200")
    rng = np.random.default_rng(seed)  # the order of the steps below fixes the city for a seed
    plan_rng, judge_rng, supply_rng, statistics_rng = (
        np.random.default_rng([seed, k]) for k in (PLAN_STREAM, JUDGE_STREAM, SUPPLY_STREAM, STATISTICS_STREAM))
    geo = build_geography(rng)
    pts, villages = sample_points(rng, geo, int(n_parcels * 1.02))
    layers_w, unions = control_layers(rng, geo, villages)
    dlbm = land_use(rng, pts, unions["basic_farmland"])
    keep, geoms, district_idx, area = parcel_geometries(rng, geo, pts, ~np.isin(dlbm, NON_CONSTRUCTION), n_parcels)
    x, y, zone, dlbm = pts.x[keep], pts.y[keep], pts.zone[keep], dlbm[keep]
    district = geo.districts["district_code"].to_numpy(dtype=object)[district_idx]
    n = len(keep)

    park_name = np.full(n, "", dtype=object)
    parks = geo.plan[geo.plan["kind"].isin(["park", "cluster"])]
    for name, g in zip(parks["name"], parks.geometry, strict=True):
        park_name[shapely.contains_xy(g, x, y) & (park_name == "")] = name
    urban = unions["urban_boundary"]
    shapely.prepare(urban)
    in_urban = shapely.contains_xy(urban, x, y)

    codes = parcel_codes(rng, geo, district, x, y, zone, dlbm)
    dates = parcel_dates(rng, zone, dlbm, codes.own, codes.parcel_code)
    floor, declared = floor_and_declared_areas(rng, dlbm, area, dates)
    holder = right_holders(rng, dlbm, codes.own, district, codes.subzone)
    industrial = dlbm == "0601"
    firms, ind_holder, ind_class = build_firms(rng, district, codes.parcel_code, industrial,
                                               dates.never | dates.partial, area, dates.start_year, park_name)
    holder[industrial] = ind_holder[industrial]
    ydyh = dlbm_to_ydyh(pd.Series(dlbm)).to_numpy(dtype=object)
    ydyh[industrial] = ind_class[industrial]
    dlmc = pd.Series(dlbm).map(dlbm_table().drop_duplicates("dlbm").set_index("dlbm")["dlmc"]).to_numpy(dtype=object)
    unsupplied, approval = evidence.unsupplied(rng, district, codes.cd, codes.bsm, dlbm, in_urban, zone, geoms,
                                               dates.approval)

    parcels_w = gpd.GeoDataFrame({
        "parcel_code": pd.Series(codes.parcel_code, dtype=object),
        "bsm": codes.bsm,
        "dlbm": dlbm,
        "dlmc": dlmc,
        "ydyh_code": ydyh,
        "district_code": district,
        "right_holder": holder,
        "approval_date": date_series(approval),
        "supply_date": date_series(dates.supply),
        "contract_start_date": date_series(dates.contract),
        "actual_start_date": date_series(dates.actual),
        "floor_area_m2": floor,
        "declared_area_m2": declared,
    }, geometry=geoms, crs=WORK_CRS)

    hazards = evidence.hazards(rng, firms, parcels_w, dates.never | dates.partial, judge=judge_rng)
    pollution, veto_env = evidence.pollution(rng, firms, parcels_w, zone, judge=judge_rng)
    firms["veto_env_penalty"] = veto_env
    enforcement = evidence.enforcement(rng, geo, parcels_w, zone, layers_w["basic_farmland"])
    idle = evidence.idle(rng, parcels_w, dates.never, dates.partial, area)
    layers_w["planned_use"] = planned_use_layer(plan_rng, geo, layers_w["urban_boundary"], unions["industrial_line"],
                                                x[industrial], y[industrial], area[industrial])
    supply = targets_data.land_supply(supply_rng, parcels_w, area)
    statistics = targets_data.district_statistics(statistics_rng, geo.districts, supply)

    def out(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(gdf.drop(columns=gdf.geometry.name), geometry=to_out(gdf.geometry.values),
                                crs=OUT_CRS)

    return DemoCity(
        seed=seed, n_parcels=n_parcels,
        districts=out(geo.districts), nature=out(geo.nature), plan=out(geo.plan),
        parcels=out(parcels_w), layers={k: out(v) for k, v in layers_w.items()},
        firms=firms, hazards=hazards, pollution=pollution, enforcement=out(enforcement),
        unsupplied=out(unsupplied), idle=idle, parcel_area_m2=area, supply=supply, statistics=statistics,
    )
