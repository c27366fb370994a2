"""连片 redevelopment units: flagged parcels that touch or lie close together.

Flagged parcels (at least one tag hit) within ``max_gap_m`` of each other, measured in
the profile's area CRS, are joined into connected components. A component of two or
more parcels whose total area reaches ``min_unit_mu`` is a unit; smaller ones are
dissolved back into single-parcel cases, each of which is a unit of one parcel.

Both numbers come from the profile's ``land_rules.consolidation`` rule (``max_gap_m``,
``min_unit_mu``); until the profile has it they are passed as keyword arguments.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from landrenew.analysis.overlay import connected_components, within_components
from landrenew.policy.schema import Profile

#: columns of the unit table (then one ``n_<tag key>`` count per tag, then geometry)
UNIT_COLUMNS = ["unit_id", "n_parcels", "contiguous", "area_mu", "district_codes", "tags", "members"]


def unit_params(profile: Profile, max_gap_m: float | None = None,
                min_unit_mu: float | None = None) -> tuple[float, float, str]:
    """(gap, minimum area, rule id) of ``land_rules.consolidation``; keyword arguments override."""
    rule = profile.land_rules.consolidation
    gap = max_gap_m if max_gap_m is not None else rule.params.max_gap_m
    least = min_unit_mu if min_unit_mu is not None else rule.params.min_unit_mu
    return float(gap), float(least), rule.id


def _solo(tagged: pd.DataFrame, profile: Profile) -> np.ndarray:
    """Per parcel: hit by one of the consolidation rule's ``exclude_rules``."""
    exclude = set(profile.land_rules.consolidation.params.exclude_rules)
    if not exclude or "rule_ids" not in tagged:
        return np.zeros(len(tagged), dtype=bool)
    hits = tagged["rule_ids"].fillna("").astype(str).reset_index(drop=True).str.split(";").explode()
    return hits.isin(exclude).groupby(level=0).any().reindex(range(len(tagged)), fill_value=False).to_numpy(bool)


def group_units(
    parcels: gpd.GeoDataFrame,
    overlay: pd.DataFrame,
    tagged: pd.DataFrame,
    profile: Profile,
    *,
    max_gap_m: float | None = None,
    min_unit_mu: float | None = None,
    geometry: bool = True,
) -> tuple[pd.Series, gpd.GeoDataFrame]:
    """Group flagged parcels into 连片 units.

    ``tagged`` is :func:`landrenew.analysis.tags.summarize_tags` (one row per parcel, in
    the parcels' order); a parcel is flagged when its ``n_hits`` > 0. ``overlay`` gives
    ``area_mu``.

    Returns the unit id per parcel (``Int64``, NA for unflagged; ids 1.. in order of
    each unit's first parcel) and the unit table: ``unit_id``, ``n_parcels``,
    ``contiguous`` (more than one parcel), ``area_mu``, ``district_codes`` (';'-joined),
    ``tags`` (mix, e.g. "危1 低3"), ``members`` (';'-joined parcel keys), one
    ``n_<tag key>`` count per tag of the profile, and ``geometry`` (the union, in the
    parcels' CRS; empty with ``geometry=False`` — the pipeline leaves shapes to the outputs,
    see :func:`unit_geometries`).
    """
    gap, least, _ = unit_params(profile, max_gap_m, min_unit_mu)
    pos, a, b = unit_links(parcels, overlay, tagged, profile, gap)
    return unit_table(parcels, overlay, tagged, profile, pos, connected_components(len(pos), a, b), least,
                      geometry=geometry)


def unit_links(parcels: gpd.GeoDataFrame, overlay: pd.DataFrame, tagged: pd.DataFrame, profile: Profile,
               gap: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The flagged parcels' positions ``pos`` and links (a[i], b[i]) between them (positions in
    ``pos``) whose connected components are the units' components: parcels within ``gap`` m of
    each other in the area CRS, neither decided on its own (``exclude_rules``), equal in every
    ``same`` column. Each parcel is linked to its component's first parcel (components found by
    :func:`~landrenew.analysis.overlay.within_components` per group of equal ``same`` values)."""
    n = len(parcels)
    if len(tagged) != n or len(overlay) != n:
        raise ValueError("tagged and overlay must have one row per parcel, in the parcels' order")
    flagged = pd.to_numeric(tagged["n_hits"], errors="coerce").fillna(0).to_numpy() > 0
    pos = np.flatnonzero(flagged)
    geoms = parcels.geometry.iloc[pos]
    planar = np.asarray(geoms.to_crs(profile.city.area_crs).values if len(pos) else geoms.values, dtype=object)
    # decided parcel by parcel (legal status) or without a shape: never grouped
    alone = _solo(tagged.iloc[pos], profile) | shapely.is_missing(planar) | shapely.is_empty(planar)
    keys = [np.zeros(len(pos), dtype=np.int64)]
    for col in profile.land_rules.consolidation.params.same:  # e.g. one district per unit
        source = parcels if col in parcels.columns else overlay
        if col in source.columns:
            keys.append(pd.factorize(source[col].astype("string").fillna("").to_numpy(object)[pos])[0])
    group = pd.factorize(pd.MultiIndex.from_arrays(keys))[0] if len(keys) > 1 else keys[0]
    a, b = [], []
    for g in np.unique(group[~alone]):
        idx = np.flatnonzero((group == g) & ~alone)
        root = within_components(planar[idx], gap)
        linked = root != np.arange(len(idx))
        a.append(idx[linked])
        b.append(idx[root[linked]])
    empty = np.zeros(0, dtype=np.int64)
    return pos, np.concatenate(a) if a else empty, np.concatenate(b) if b else empty


def unit_table(parcels: gpd.GeoDataFrame, overlay: pd.DataFrame, tagged: pd.DataFrame, profile: Profile,
               pos: np.ndarray, root: np.ndarray, least: float, *, geometry: bool = True
               ) -> tuple[pd.Series, gpd.GeoDataFrame]:
    """The units of :func:`group_units` from the flagged parcels' positions ``pos`` and each one's
    component ``root`` (the position in ``pos`` of its component's first parcel); a component of
    two or more parcels reaching ``least`` 亩 is a unit, any other parcel a unit of its own."""
    n = len(parcels)
    m = len(pos)
    area = pd.to_numeric(overlay["area_mu"], errors="coerce").fillna(0.0).to_numpy(float)[pos]
    comp_n = np.bincount(root, minlength=m)
    comp_area = np.bincount(root, weights=area, minlength=m)
    is_unit = (comp_n[root] > 1) & (comp_area[root] >= least)
    first = np.where(is_unit, root, np.arange(m))  # smallest member: identifies the unit
    uniq, local = np.unique(first, return_inverse=True)
    local = local.ravel()
    n_units = len(uniq)

    unit_of = np.full(n, -1, dtype=np.int64)
    unit_of[pos] = local + 1
    ids = pd.array(unit_of, dtype="Int64")
    ids[unit_of <= 0] = pd.NA
    unit_id = pd.Series(ids, index=parcels.index, name="unit_id")

    # unit table
    n_parcels = np.bincount(local, minlength=n_units)
    table = pd.DataFrame({
        "unit_id": np.arange(1, n_units + 1, dtype=np.int64),
        "n_parcels": n_parcels,
        "contiguous": n_parcels > 1,
        "area_mu": np.bincount(local, weights=area, minlength=n_units),
    })
    keys = parcels["key"].astype(object).to_numpy()[pos] if "key" in parcels else pos.astype(str)
    district = (parcels["district_code"].astype(object).fillna("").to_numpy()[pos]
                if "district_code" in parcels else np.full(m, "", dtype=object))
    table["district_codes"] = _joined(local, district, n_units, unique=True)
    table["members"] = _joined(local, keys.astype(object), n_units, unique=False)
    mix = np.full(n_units, "", dtype=object)
    counts = {}
    for key, tag in profile.tags.items():
        col = tagged[key].to_numpy(bool)[pos] if key in tagged else np.zeros(m, dtype=bool)
        c = np.bincount(local, weights=col.astype(float), minlength=n_units).astype(np.int64)
        counts[f"n_{key}"] = c
        mix = mix + np.where(c > 0, " " + tag.char + c.astype(str).astype(object), "")
    table["tags"] = pd.Series(mix, dtype=object).str.strip().to_numpy(object)
    for k, c in counts.items():
        table[k] = c
    table["geometry"] = _unions(local, parcels.geometry.values[pos], n_units) if geometry else None
    table = table[UNIT_COLUMNS + list(counts) + ["geometry"]]
    return unit_id, gpd.GeoDataFrame(table, geometry="geometry", crs=parcels.crs)


def _joined(group: np.ndarray, values: np.ndarray, n_groups: int, *, unique: bool) -> np.ndarray:
    """Per group, the values joined by ';' (sorted and unique when ``unique``)."""
    df = pd.DataFrame({"g": group, "v": pd.Series(values, dtype=object)})
    if unique:
        df = df.drop_duplicates()
    df = df.sort_values(["g", "v"] if unique else ["g"], kind="stable")
    out = np.full(n_groups, "", dtype=object)
    if len(df) == 0:
        return out
    g = df["g"].to_numpy()
    v = df["v"].to_numpy(dtype=object)
    first = np.r_[True, g[1:] != g[:-1]]
    parts = np.where(first, "", ";").astype(object) + v
    out[g[first]] = np.add.reduceat(parts, np.flatnonzero(first))
    return out


def unit_geometries(parcels: gpd.GeoDataFrame, unit_id: pd.Series) -> gpd.GeoSeries:
    """The shape of each unit (union of its members), indexed by unit id, in the parcels' CRS."""
    has = unit_id.notna().to_numpy()
    ids = unit_id[has].to_numpy(dtype=np.int64)
    uniq, local = np.unique(ids, return_inverse=True)
    shapes = _unions(local.ravel(), parcels.geometry.values[has], len(uniq))
    return gpd.GeoSeries(shapes, index=pd.Index(uniq, name="unit_id"), crs=parcels.crs)


def _unions(group: np.ndarray, geoms: Any, n_groups: int) -> np.ndarray:
    """Per group, the union of its geometries (a single member is kept as is).

    Groups are padded into 2-D blocks of similar size (powers of two) and each block is
    united row by row in one call.
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.empty(n_groups, dtype=object)
    size = np.bincount(group, minlength=n_groups)
    single = size[group] == 1
    out[group[single]] = geoms[single]
    multi = np.flatnonzero(~single)
    if len(multi) == 0:
        return out
    order = multi[np.lexsort((multi, group[multi]))]
    g = group[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    rank = np.arange(len(g)) - np.repeat(starts, np.diff(np.r_[starts, len(g)]))
    width = 1 << np.ceil(np.log2(size[g])).astype(np.int64)
    for w in np.unique(width):
        sel = width == w
        ids, row = np.unique(g[sel], return_inverse=True)
        block = np.full((len(ids), w), None, dtype=object)
        block[row.ravel(), rank[sel]] = geoms[order[sel]]
        with np.errstate(invalid="ignore"):  # GEOS may raise the FPU flag on valid input
            out[ids] = shapely.union_all(block, axis=1)
    return out
