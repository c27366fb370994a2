"""Step 1 of the analysis: overlay parcels with the control layers (三区三线, 工业用地保障线, parks).

Pure and vectorised: no I/O, no database, no Python loop over parcels or pairs.

How the shares are computed (all in the projected ``area_crs``, EPSG:4549 by default):

1. Parcels and layers are projected once, as whole arrays (about 2.7 s per million parcels;
   projecting only the crossing pairs would not save it, since the construction parcels,
   about three quarters of all, must be projected for the patch distances anyway). A snapshot
   keeps its projected parcels (:meth:`~landrenew.store.snapshot.Snapshot.planar`), so a
   second analysis of the same data reads them instead.
2. The features of each layer kind are **unioned** and exploded back to polygons, so features
   of one kind that overlap each other are counted once and a share can never exceed 1. Parts
   with more than :data:`MAX_PART_VERTICES` vertices are split in halves along their longer side
   until small (like PostGIS ``ST_Subdivide``): the pieces tile the union exactly, and each
   pair test or intersection below then costs O(small) instead of O(size of a whole red line).
3. One STRtree over the parcels is queried with the layer pieces. A parcel that cannot meet a
   piece's boundary (no boundary segment near it) lies wholly inside or outside the piece: one
   vertex decides. For the others ``covers`` is tested on the prepared piece; a covered parcel
   counts its whole area, with no intersection computed. Only the remaining, **crossing** pairs
   get ``shapely.intersection`` (in threads) and an area (see :func:`inside_areas`).
4. Areas are summed per (parcel, layer kind) and divided by the parcel's projected area.

Park names come from the same pair logic over the park features themselves (not unioned),
summed per (parcel, name): ``park_name`` is the park with the largest area inside the parcel.

Patches (连片) of construction land: parcels within ``gap_m`` of each other (0 = touching)
are linked, and the connected components are found by a vectorised union–find (hook roots onto
the smaller root, then pointer jumping; scipy is not a dependency). Grid cells give most links
without a geometry test; see :func:`within_components`.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from landrenew.analysis.tags import land_use_mask
from landrenew.codes.landuse import (
    is_construction,
    normalize_ydyh,
    validate_dlbm,
    ydyh_table,
)
from landrenew.geo import threads
from landrenew.geo.area import M2_PER_MU, project
from landrenew.policy import Profile

#: column of ``layers`` naming each feature's layer kind
LAYER_KIND = "layer_kind"
#: order in which a space wins when a parcel reaches the share threshold in several (三区三线:
#: the ecological red line overrides basic farmland, which overrides the urban boundary)
SPACE_PRECEDENCE = ("ecological", "agricultural", "urban")
#: space of a parcel in none of the spaces: outside the urban development boundary and the
#: red line lies agricultural space (三区三线 divide the whole territory into the three spaces)
RESIDUAL_SPACE = "agricultural"
#: implementation tuning, not policy: layer pieces are split until they have at most this many
#: vertices (keeps prepared predicates and intersections cheap)
MAX_PART_VERTICES = 256
_MAX_SPLIT_ROUNDS = 40
#: tuning of :func:`within_components`: frontier parcels queried per batch, raster size bound
_CHUNK = 200_000
_GRID_CELLS = 4_000_000


# --------------------------------------------------------------------------- public


def overlay(
    parcels: gpd.GeoDataFrame,
    layers: gpd.GeoDataFrame,
    profile: Profile,
    *,
    gap_m: float,
    space_min_share: float,
    area_crs: str | None = None,
    park_layer: str | None = None,
    planar: NDArray[np.object_] | None = None,
) -> pd.DataFrame:
    """Shares of each parcel inside the control layers, its space, park and construction patch.

    Args:
        parcels: polygons (any CRS, normally EPSG:4490) with ``dlbm``, ``ydyh_code`` and
            ``area_m2`` (computed in EPSG:4549 at intake).
        layers: control-layer polygons with ``layer_kind`` and ``name``.
        profile: the policy profile; ``land.control_lines`` names the layer kinds (``layers``)
            and which kinds define each space (``spaces``).
        gap_m: construction parcels within this distance (m) of each other belong to one patch
            (the pipeline passes the isolated-patch rule's ``min_gap_m``; 0 = touching).
        space_min_share: share of the parcel inside a space's layers from which the parcel is
            in that space (see :func:`assign_space`).
        area_crs: projected CRS for areas and distances; default the profile's ``city.area_crs``.
        park_layer: layer kind of the parks; default the ``park_layer`` of the profile's
            ``outside_park`` tag rule (else the ``industrial_park`` role of ``control_lines``).

    Returns:
        A frame indexed like ``parcels`` with

        * ``area_mu`` — ``area_m2`` in 亩;
        * ``share_<kind>`` — for each layer kind of ``control_lines.layers``: area of the
          parcel inside the union of that kind's features ÷ parcel area, in [0, 1]
          (NaN for a parcel without geometry or with zero area);
        * ``park_name`` — the park (by name) with the largest area inside the parcel, NA if none;
        * ``plan_zone``, ``planned_code`` — the detailed-plan zone (``land.planning``) covering at
          least its ``min_share`` of the parcel, and the zone's planned 用地用海 code; NA if none;
        * ``space`` — ``ecological`` / ``agricultural`` / ``urban`` (:func:`assign_space`);
        * ``is_construction`` — 建设用地 by DLBM, by 用地用海 where the DLBM is missing or unknown;
        * ``patch_id``, ``patch_area_mu``, ``patch_size`` — the construction patch (numbered
          0, 1, … in order of its first parcel), its total 亩 and member count; NA for
          parcels that are not construction land or have no geometry;
        * ``fit_<kind>`` — for each 占补平衡 kind with ``next_to`` (e.g. paddy): construction
          land outside urban space within ``next_to_gap_m`` of land of those uses.
    """
    params = profile.land_rules.control_lines.params
    area_crs = area_crs or profile.city.area_crs
    park_layer = park_layer or _park_layer(profile)
    if LAYER_KIND not in layers.columns:
        raise KeyError(f"layers need a {LAYER_KIND!r} column")

    kinds = list(dict.fromkeys(params.layers.values()))
    groups, space_group = share_groups(profile)

    geoms = project(parcels.geometry, area_crs) if planar is None else np.asarray(planar, dtype=object)
    if len(geoms) != len(parcels):
        raise ValueError("planar must hold one geometry per parcel, in the parcels' order")
    layer_geoms = _valid(project(layers.geometry, area_crs))
    layer_kind = layers[LAYER_KIND].astype(str).to_numpy()

    parcel_area = shapely.area(geoms)
    tree = shapely.STRtree(geoms)
    first = _first_vertex(geoms)
    construction = construction_flags(parcels["dlbm"], parcels["ydyh_code"])
    area_mu = parcels["area_m2"].to_numpy(dtype=float) / M2_PER_MU
    park = layer_kind == park_layer
    names = list(groups)
    # four independent parts, in threads (GEOS releases the GIL; each prepares only its own pieces)
    with threads.pool() as pool:
        shared = pool.submit(_group_shares, tree, geoms, parcel_area, first,
                             [layer_geoms[np.isin(layer_kind, groups[g])] for g in names])
        parks = pool.submit(largest_feature, tree, geoms, parcel_area, layer_geoms[park],
                            layers["name"].to_numpy(dtype=object)[park], first=first)
        plans = pool.submit(_planned_use, tree, geoms, parcel_area, layers, layer_geoms, profile, first)
        patched = pool.submit(patches, geoms, construction, area_mu, gap_m)
        share_of = dict(zip(names, shared.result().T, strict=True))
        space = assign_space({s: share_of[g] for s, g in space_group.items()}, space_min_share)
        # e.g. fit_paddy: construction land next to paddy fields; only land that may be reclaimed
        # (construction land outside urban space) is tested
        reclaimable = np.asarray(construction, dtype=bool) & (pd.Series(space) != "urban").fillna(False).to_numpy(bool)
        fits = {f"fit_{bal.params.kind}": pool.submit(near_land_use, geoms, land_use_mask(parcels, bal.params.next_to),
                                                      bal.params.next_to_gap_m, among=reclaimable)
                for bal in profile.quota.balance if bal.params.next_to is not None}

        out = pd.DataFrame(index=parcels.index)
        out["area_mu"] = area_mu
        for k in kinds:
            out[f"share_{k}"] = share_of[k]
        out["park_name"] = pd.array(parks.result()[0], dtype="string")
        out["plan_zone"], out["planned_code"] = plans.result()
        out["space"] = space
        out["is_construction"] = construction
        out["patch_id"], out["patch_area_mu"], out["patch_size"] = patched.result()
        for name, fit in fits.items():
            out[name] = fit.result()
    return out


def share_groups(profile: Profile) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The layer kinds whose union each share is measured in — every kind of ``control_lines``,
    every single-kind space, one union per multi-kind space — and each space's group."""
    params = profile.land_rules.control_lines.params
    groups: dict[str, list[str]] = {k: [k] for k in dict.fromkeys(params.layers.values())}
    space_group: dict[str, str] = {}
    for space, space_kinds in params.spaces.items():
        if len(space_kinds) == 1:
            groups.setdefault(space_kinds[0], list(space_kinds))
            space_group[space] = space_kinds[0]
        else:
            space_group[space] = f"space:{space}"
            groups[space_group[space]] = list(dict.fromkeys(space_kinds))
    return groups, space_group


def _group_shares(tree: shapely.STRtree, geoms: NDArray[np.object_], parcel_area: NDArray[np.float64],
                  first: tuple[NDArray[np.float64], NDArray[np.float64]], groups: list[NDArray[np.object_]]
                  ) -> NDArray[np.float64]:
    """Per parcel and group of layer features, the share of the parcel inside the group's union
    (n × groups, in [0, 1]; NaN for a parcel without area)."""
    n = len(geoms)
    parts, part_group = dissolve(groups)
    pairs = inside_areas(tree, geoms, parcel_area, parts, first=first)
    inside = np.bincount(pairs.parcel * len(groups) + part_group[pairs.part], weights=pairs.area,
                         minlength=n * len(groups)).reshape(n, len(groups))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.clip(inside / parcel_area[:, None], 0.0, 1.0)
    share[~(parcel_area > 0)] = np.nan
    return share


def near_land_use(geoms: NDArray[np.object_], target: NDArray[np.bool_], gap_m: float,
                  among: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Which ``among`` parcels lie within ``gap_m`` of a ``target`` parcel other than themselves
    (planar, in the geoms' CRS)."""
    out = np.zeros(len(geoms), dtype=bool)
    ok = ~shapely.is_missing(geoms)
    if not (target & ok).any():
        return out
    tpos = np.flatnonzero(target & ok)
    qpos = np.flatnonzero(among & ok)
    q, t = shapely.STRtree(geoms[tpos]).query(geoms[qpos], predicate="dwithin", distance=gap_m)
    other = qpos[q] != tpos[t]
    out[qpos[q[other]]] = True
    return out


@dataclass(frozen=True)
class PairAreas:
    """Parcel × layer-piece pairs, with the parcel's area inside the piece.

    ``crossing`` marks the pairs whose parcel crosses the piece's boundary: only those had an
    intersection computed (its area is 0 when they merely touch); the others (piece covers
    parcel) count the whole parcel area.
    """

    parcel: NDArray[np.intp]
    part: NDArray[np.intp]
    area: NDArray[np.float64]
    crossing: NDArray[np.bool_]


def inside_areas(
    tree: shapely.STRtree,
    geoms: NDArray[np.object_],
    parcel_area: NDArray[np.float64],
    parts: NDArray[np.object_],
    first: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
) -> PairAreas:
    """Area of each parcel inside each layer piece it meets (planar, in the geoms' CRS).

    ``tree`` is an STRtree over ``geoms`` (the parcels); ``parts`` are polygons that do not
    overlap each other within one group (e.g. from :func:`dissolve`).

    1. Candidate pairs: the tree's box query with the pieces.
    2. *Border* pairs, where the parcel may meet the piece's boundary: a boundary segment's box
       meets the parcel's box (one more box query, on a tree of the pieces' ~50 k segments).
       Multi-part or non-polygon parcels count as border pairs on every candidate.
    3. Any other pair has a single polygon that does not meet the piece's boundary, so it lies
       wholly inside the piece or wholly outside: one vertex decides (``contains_xy``).
    4. Border pairs: ``covers`` on the prepared piece; a covered parcel counts its whole area.
       Only the rest that do intersect, the **crossing** pairs, get ``shapely.intersection``
       and an area.

    This gives the same pairs as ``intersects`` then ``covers`` on every candidate, but avoids
    ~1.3 M prepared polygon tests per million parcels (most parcels lie inside their layer).
    ``first`` may give the parcels' first vertices (:func:`_first_vertex`) when already known.
    """
    shapely.prepare(parts)
    part, parcel = tree.query(parts)
    n_parts = max(len(parts), 1)
    key = parcel.astype(np.int64) * n_parts + part

    segs, seg_part = _segments(parts)
    seg_parcel, seg = shapely.STRtree(segs).query(geoms)
    near = np.unique(seg_parcel.astype(np.int64) * n_parts + seg_part[seg])
    border = _sorted_member(key, near) | ~_one_polygon(geoms)[parcel]

    covered = np.zeros(len(part), dtype=bool)
    x, y = first if first is not None else _first_vertex(geoms)
    inner = ~border
    covered[inner] = shapely.contains_xy(parts[part[inner]], x[parcel[inner]], y[parcel[inner]])
    covered[border] = shapely.covers(parts[part[border]], geoms[parcel[border]])
    crossing = border & ~covered
    crossing[crossing] = shapely.intersects(parts[part[crossing]], geoms[parcel[crossing]])

    area = np.where(covered, parcel_area[parcel], 0.0)
    area[crossing] = threads.in_slices(_intersection_area, geoms[parcel[crossing]], parts[part[crossing]])
    keep = covered | crossing
    return PairAreas(parcel=parcel[keep], part=part[keep], area=area[keep], crossing=crossing[keep])


def dissolve(
    groups: list[NDArray[np.object_]], max_vertices: int = MAX_PART_VERTICES
) -> tuple[NDArray[np.object_], NDArray[np.intp]]:
    """Union each group of polygons, explode to polygons and split large ones.

    Returns the pieces and, for each, the position of its group in ``groups``. Pieces of one
    group do not overlap (they tile the group's union).
    """
    unions = np.array(
        [shapely.union_all(g) if len(g) else shapely.Polygon() for g in groups], dtype=object
    )
    return split_large(*_polygons(unions, np.arange(len(groups))), max_vertices)


def split_large(
    parts: NDArray[np.object_], group: NDArray[np.intp], max_vertices: int = MAX_PART_VERTICES
) -> tuple[NDArray[np.object_], NDArray[np.intp]]:
    """Halve polygons with more than ``max_vertices`` vertices along their longer side until
    small; the halves of a polygon tile it exactly (they share only the cut line)."""
    done_p, done_g = [], []
    for _ in range(_MAX_SPLIT_ROUNDS):
        small = shapely.get_num_coordinates(parts) <= max_vertices
        done_p.append(parts[small])
        done_g.append(group[small])
        parts, group = parts[~small], group[~small]
        if not len(parts):
            break
        x0, y0, x1, y1 = shapely.bounds(parts).T
        wide = (x1 - x0) >= (y1 - y0)
        xm = np.where(wide, (x0 + x1) / 2, x1)
        ym = np.where(wide, y1, (y0 + y1) / 2)
        first = shapely.box(x0, y0, xm, ym)
        second = shapely.box(np.where(wide, xm, x0), np.where(wide, y0, ym), x1, y1)
        halves = shapely.intersection(np.concatenate([parts, parts]), np.concatenate([first, second]))
        parts, group = _polygons(halves, np.concatenate([group, group]))
    done_p.append(parts)
    done_g.append(group)
    return np.concatenate(done_p), np.concatenate(done_g)


def assign_space(
    shares: dict[str, NDArray[np.float64]], min_share: float
) -> pd.api.extensions.ExtensionArray:
    """The space of each parcel from its share inside each space's layers.

    Rule: the first space of :data:`SPACE_PRECEDENCE` (ecological > agricultural > urban) in
    which the parcel's share reaches ``min_share``; a parcel reaching it in none is in
    :data:`RESIDUAL_SPACE` (agricultural: outside the red line and the urban boundary lies
    agricultural space). A parcel without a share (no geometry) gets NA.
    """
    n = len(next(iter(shares.values()))) if shares else 0
    space = np.full(n, RESIDUAL_SPACE, dtype=object)
    for name in reversed(SPACE_PRECEDENCE):  # later assignments win
        if name in shares:
            space[np.asarray(shares[name]) >= min_share] = name
    if shares:
        missing = np.isnan(np.column_stack(list(shares.values()))).any(axis=1)
        space[missing] = None
    return pd.array(space, dtype="string")


def construction_flags(dlbm: pd.Series, ydyh: pd.Series) -> NDArray[np.bool_]:
    """建设用地 flag per parcel: by DLBM where it is a known code, else by the 用地用海 code
    (unknown or missing both → False). Codes are looked up once per distinct value."""
    d_codes, d_uniq = pd.factorize(dlbm.astype("string"))
    d_series = pd.Series(d_uniq, dtype="string")
    d_known = np.append(validate_dlbm(d_series).to_numpy(dtype=bool), False)[d_codes]
    d_flag = np.append(is_construction(d_series).to_numpy(dtype=bool), False)[d_codes]

    y_codes, y_uniq = pd.factorize(ydyh.astype("string"))
    y_table = ydyh_table().set_index("code")["is_construction"]
    y_lookup = normalize_ydyh(pd.Series(y_uniq, dtype="string")).map(y_table)
    y_flag = np.append(y_lookup.fillna(False).to_numpy(dtype=bool), False)[y_codes]
    return np.where(d_known, d_flag, y_flag)


def patches(
    geoms: NDArray[np.object_],
    member: NDArray[np.bool_],
    area_mu: NDArray[np.float64],
    gap_m: float,
) -> tuple[pd.api.extensions.ExtensionArray, ...]:
    """Connected patches of the ``member`` parcels lying within ``gap_m`` of each other.

    ``geoms`` must be in a projected CRS in metres. Returns ``patch_id`` (Int64, numbered in
    order of each patch's first member), ``patch_area_mu`` (Float64, sum of members' 亩) and
    ``patch_size`` (Int64), NA for non-members and members without geometry.
    """
    idx = np.flatnonzero(member & ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms))
    return patch_labels(len(geoms), idx, within_components(geoms[idx], gap_m), area_mu)


def patch_labels(
    n: int, idx: NDArray[np.intp], root: NDArray[np.intp], area_mu: NDArray[np.float64]
) -> tuple[pd.api.extensions.ExtensionArray, ...]:
    """``patch_id``, ``patch_area_mu``, ``patch_size`` of :func:`patches` for ``n`` parcels, given
    the members' positions ``idx`` (ascending) and each member's root, the position in ``idx``
    of its patch's first member (as :func:`within_components` and :func:`connected_components`
    give it). A cluster run computes the roots over partitions and labels them here.
    """
    is_root = root == np.arange(len(root))
    label = (np.cumsum(is_root) - 1)[root]
    size = np.bincount(label)
    total = np.bincount(label, weights=area_mu[idx])

    absent = np.ones(n, dtype=bool)
    absent[idx] = False
    values = np.zeros((3, n))
    values[:, idx] = label, total[label], size[label]
    return (
        pd.arrays.IntegerArray(values[0].astype(np.int64), absent.copy()),
        pd.arrays.FloatingArray(values[1], absent.copy()),
        pd.arrays.IntegerArray(values[2].astype(np.int64), absent),
    )


def within_components(geoms: NDArray[np.object_], gap_m: float) -> NDArray[np.intp]:
    """Connected components of the graph "within ``gap_m`` of each other" (result as in
    :func:`connected_components`; ``geoms`` in a projected CRS in metres).

    Same result as ``STRtree.query(geoms, predicate="dwithin", distance=gap_m)`` followed by
    :func:`connected_components`, several times faster on dense land (a 100 m gap around
    30 m urban parcels gives ~50 candidates per parcel):

    1. sure edges without any geometry test: parcels with a vertex in one grid cell of side
       ``gap_m / √2`` (diagonal ``gap_m``) are within ``gap_m`` of each other;
    2. only *frontier* parcels can still gain an edge: those whose ``gap_m``-expanded box meets
       the box of a parcel of another component (tested on a coarse raster of the boxes);
    3. their candidates from the tree (box query) that join two components are tested with
       unprepared ``shapely.dwithin`` (preparing a 7-vertex parcel costs more than it saves).
    """
    n = len(geoms)
    root = np.arange(n)
    if n == 0:
        return root
    if gap_m > 0:
        xy, owner = shapely.get_coordinates(geoms, return_index=True)
        side = gap_m / np.sqrt(2) * (1 - 1e-9)  # diagonal just under gap_m, for rounding
        code, _ = pd.factorize(_cell_key(np.floor(xy / side).astype(np.int64)))
        hub = np.empty(code.max() + 1, dtype=np.intp)
        hub[code] = owner  # one parcel with a vertex in each cell (any will do)
        root = connected_components(n, owner, hub[code])

    x0, y0, x1, y1 = shapely.bounds(geoms).T
    reach = gap_m + 1e-6  # boxes only pick candidates: a micrometre more is safe from rounding
    frontier = np.flatnonzero(_frontier(root, x0, y0, x1, y1, reach))
    tree = shapely.STRtree(geoms)
    for lo in range(0, len(frontier), _CHUNK):
        sel = frontier[lo : lo + _CHUNK]
        boxes = shapely.box(x0[sel] - reach, y0[sel] - reach, x1[sel] + reach, y1[sel] + reach)
        a, b = tree.query(boxes)
        a = sel[a]
        todo = (a < b) & (root[a] != root[b])
        a, b = a[todo], b[todo]
        near = shapely.dwithin(geoms[a], geoms[b], gap_m)
        root = connected_components(n, a[near], b[near], root)
    return root


def _frontier(
    root: NDArray[np.intp],
    x0: NDArray[np.float64],
    y0: NDArray[np.float64],
    x1: NDArray[np.float64],
    y1: NDArray[np.float64],
    gap_m: float,
) -> NDArray[np.bool_]:
    """Parcels whose box, expanded by ``gap_m``, may meet the box of another component.

    Boxes are rasterised on a grid of cells at least ``gap_m`` wide and coarse enough to hold
    about one cell per parcel (at most :data:`_GRID_CELLS`); a parcel is frontier when a cell
    its expanded box touches holds a box of another component. Sound: two boxes that meet
    share a cell.
    """
    gx, gy = x0.min(), y0.min()
    cells = min(len(root), _GRID_CELLS)  # about one cell per parcel, at most _GRID_CELLS
    side = max(gap_m, np.sqrt((x1.max() - gx) * (y1.max() - gy) / cells), 1e-6)

    def cell(v: NDArray[np.float64], origin: float) -> NDArray[np.int64]:
        return np.floor((v - origin) / side).astype(np.int64)

    ni, nj = cell(x1, gx).max() + 1, cell(y1, gy).max() + 1
    owner, ci, cj = _cells(cell(x0, gx), cell(y0, gy), cell(x1, gx), cell(y1, gy))
    flat = ci * nj + cj
    lo = np.full(ni * nj, np.iinfo(np.int64).max)
    hi = np.full(ni * nj, -1)
    np.minimum.at(lo, flat, root[owner])
    np.maximum.at(hi, flat, root[owner])

    owner, ci, cj = _cells(
        np.maximum(cell(x0 - gap_m, gx), 0),
        np.maximum(cell(y0 - gap_m, gy), 0),
        np.minimum(cell(x1 + gap_m, gx), ni - 1),
        np.minimum(cell(y1 + gap_m, gy), nj - 1),
    )
    flat = ci * nj + cj
    mine = root[owner]
    other = (hi[flat] >= 0) & ((lo[flat] != mine) | (hi[flat] != mine))
    return np.bincount(owner[other], minlength=len(root)) > 0


def _cells(
    i0: NDArray[np.int64], j0: NDArray[np.int64], i1: NDArray[np.int64], j1: NDArray[np.int64]
) -> tuple[NDArray[np.intp], NDArray[np.int64], NDArray[np.int64]]:
    """Every cell of each inclusive cell range: (index of the range, i, j)."""
    nj = j1 - j0 + 1
    count = (i1 - i0 + 1) * nj
    owner = np.repeat(np.arange(len(count)), count)
    local = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    return owner, i0[owner] + local // nj[owner], j0[owner] + local % nj[owner]


def _cell_key(ij: NDArray[np.int64]) -> NDArray[np.int64]:
    """One int64 per (i, j) cell."""
    i, j = ij[:, 0] - ij[:, 0].min(), ij[:, 1] - ij[:, 1].min()
    return i * (j.max() + 1) + j


def connected_components(
    n: int, a: NDArray[np.intp], b: NDArray[np.intp], start: NDArray[np.intp] | None = None
) -> NDArray[np.intp]:
    """Connected components of the graph on ``0..n-1`` with edges ``(a[i], b[i])``.

    Returns each node's root: the smallest node of its component. ``start`` may give the
    result of an earlier call, whose components are then merged further by the new edges.
    Vectorised union–find: every round hooks each root onto the smallest root it has an edge
    to (larger onto smaller, so no cycles), then flattens the forest by pointer jumping.
    """
    parent = np.arange(n) if start is None else start.copy()
    while len(a):
        ra, rb = parent[a], parent[b]
        lo, hi = np.minimum(ra, rb), np.maximum(ra, rb)
        cross = lo != hi
        if not cross.any():
            break
        np.minimum.at(parent, hi[cross], lo[cross])
        while True:  # pointer jumping until every node points at its root
            up = parent[parent]
            if np.array_equal(up, parent):
                break
            parent = up
        a, b = a[cross], b[cross]  # an edge inside one tree stays inside it
    return parent


# --------------------------------------------------------------------------- helpers


def _planned_use(tree: shapely.STRtree, geoms: NDArray[np.object_], parcel_area: NDArray[np.float64],
                 layers: gpd.GeoDataFrame, layer_geoms: NDArray[np.object_], profile: Profile,
                 first: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
                 ) -> tuple[pd.api.extensions.ExtensionArray, pd.api.extensions.ExtensionArray]:
    """The detailed-plan zone holding at least ``land.planning``'s ``min_share`` of each parcel
    (its feature id) and that zone's planned-use code; NA elsewhere or without a plan layer."""
    zone = np.full(len(geoms), None, dtype=object)
    code = zone.copy()
    planning = profile.land_rules.planning
    if planning is not None and "ydyh_code" in layers.columns:
        mine = (layers[LAYER_KIND] == planning.params.layer).to_numpy()
        ids = layers["feature_id"].astype("string").fillna(pd.Series(layers.index.astype(str), index=layers.index))
        label, area = largest_feature(tree, geoms, parcel_area, layer_geoms[mine], ids.to_numpy(dtype=object)[mine],
                                      first)
        with np.errstate(divide="ignore", invalid="ignore"):
            enough = area / parcel_area >= planning.params.min_share
        zone[enough] = label[enough]
        lookup = pd.Series(layers["ydyh_code"][mine].to_numpy(dtype=object), index=ids[mine].to_numpy(dtype=object))
        code[enough] = pd.Series(label[enough], dtype=object).map(lookup[~lookup.index.duplicated()]).to_numpy(object)
    return pd.array(zone, dtype="string"), pd.array(code, dtype="string")


def _park_layer(profile: Profile) -> str:
    """The park layer kind: of the profile's outside_park tag rule, else of the
    ``industrial_park`` role of ``land.control_lines``."""
    for _, rule in profile.tag_rules():
        if rule.kind == "outside_park":
            return rule.params.park_layer
    roles = profile.land_rules.control_lines.params.layers
    if "industrial_park" in roles:
        return roles["industrial_park"]
    raise ValueError("the profile names no park layer: pass park_layer")


def largest_feature(
    tree: shapely.STRtree,
    geoms: NDArray[np.object_],
    parcel_area: NDArray[np.float64],
    feature_geoms: NDArray[np.object_],
    labels: NDArray[np.object_],
    first: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
) -> tuple[NDArray[np.object_], NDArray[np.float64]]:
    """Per parcel, the label holding the largest area inside it (features with one label count
    together) and that area; None and 0 where no labelled feature covers any of it."""
    n = len(geoms)
    out, best = np.full(n, None, dtype=object), np.zeros(n)
    code, uniq = pd.factorize(pd.Series(labels, dtype="string"))
    named = code >= 0
    if named.any():
        parts, part_label = split_large(*_polygons(feature_geoms[named], code[named]))
        pairs = inside_areas(tree, geoms, parcel_area, parts, first=first)
        key = pairs.parcel.astype(np.int64) * len(uniq) + part_label[pairs.part]
        keys, inv = np.unique(key, return_inverse=True)
        area = np.bincount(inv, weights=pairs.area)
        parcel, label = keys // len(uniq), keys % len(uniq)
        order = np.lexsort((-area, parcel))  # per parcel, largest area first
        first = order[np.r_[True, parcel[order][1:] != parcel[order][:-1]]] if len(order) else order
        first = first[area[first] > 0]
        out[parcel[first]] = np.asarray(uniq, dtype=object)[label[first]]
        best[parcel[first]] = area[first]
    return out, best


def _segments(parts: NDArray[np.object_]) -> tuple[NDArray[np.object_], NDArray[np.intp]]:
    """Every boundary segment of the polygons (as 2-point lines) and the polygon it bounds."""
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    start = np.flatnonzero(ring[1:] == ring[:-1])
    lines = shapely.linestrings(np.stack([xy[start], xy[start + 1]], axis=1)) if len(start) else np.array([], dtype=object)
    return lines, ring_part[ring[start]]


def _first_vertex(geoms: NDArray[np.object_]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """x and y of the first vertex of each geometry (meaningless for missing or empty ones)."""
    xy, owner = shapely.get_coordinates(geoms, return_index=True)
    if not len(xy):
        return np.zeros(len(geoms)), np.zeros(len(geoms))
    first = np.minimum(np.searchsorted(owner, np.arange(len(geoms))), len(xy) - 1)
    return xy[first, 0], xy[first, 1]


def _one_polygon(geoms: NDArray[np.object_]) -> NDArray[np.bool_]:
    """Polygons and single-part multipolygons (as most files store parcels): connected shapes."""
    kind = shapely.get_type_id(geoms)
    return (kind == shapely.GeometryType.POLYGON) | (
        (kind == shapely.GeometryType.MULTIPOLYGON) & (shapely.get_num_geometries(geoms) == 1))


def _sorted_member(values: NDArray[np.int64], sorted_set: NDArray[np.int64]) -> NDArray[np.bool_]:
    """``np.isin(values, sorted_set)`` for a sorted ``sorted_set``, without sorting ``values``."""
    if not len(sorted_set):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[at] == values


def _intersection_area(a: NDArray[np.object_], b: NDArray[np.object_]) -> NDArray[np.float64]:
    return shapely.area(shapely.intersection(a, b))


def _polygons(
    geoms: NDArray[np.object_], group: NDArray[np.intp]
) -> tuple[NDArray[np.object_], NDArray[np.intp]]:
    """The non-empty polygons of each geometry (collections flattened), with their group."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    # an intersection may return a collection holding a multipolygon: flatten once more
    parts, sub = shapely.get_parts(parts, return_index=True)
    index = index[sub]
    poly = (shapely.get_type_id(parts) == shapely.GeometryType.POLYGON) & (shapely.area(parts) > 0)
    return parts[poly], np.asarray(group)[index[poly]]


def _valid(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Repair invalid layer geometries (layers are few; the union needs valid input)."""
    bad = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = shapely.make_valid(geoms[bad])
    return geoms
