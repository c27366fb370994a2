"""The analysis over spatial partitions on a Dask cluster: ``landrenew analyze --cluster ADDRESS``.

The same step functions as on one machine (:mod:`landrenew.analysis`), run per partition:

1. **Partitions.** Parcels are ordered along a Hilbert curve of their box centres (in the area
   CRS) and cut into runs of equal size. Each partition holds its *core* parcels and a *halo*:
   every parcel whose box comes within :func:`halo_m` of a core parcel's box (the widest distance
   any rule looks across: the patch gap, the 连片 unit gap, the 占补平衡 ``next_to_gap_m``).
   Partitions are written as GeoParquet files into a folder the workers can read (on a real
   cluster: shared storage); the control layers once, with a bounding-box column, and each
   worker reads only the layer features within its partition's bounds.
2. **Overlay** per partition (core and halo): a parcel's shares, space, park, plan zone and
   ``fit_*`` flag depend only on the parcel, the layers over it and parcels within the halo,
   so the core's rows are final. Construction patches are merged across partitions: every
   local patch links its members; the union of these links over all partitions has the same
   connected components as the whole city (any two parcels within the gap are both in the
   partition where either one is core), which :func:`~landrenew.analysis.overlay.patch_labels`
   numbers as on one machine.
3. **亩均 evaluation** and parcel classes on the client (firms are not spatial).
4. **Tags** per partition, on core and halo with the merged patches; the 连片 unit links
   (:func:`~landrenew.analysis.units.unit_links`) likewise, merged into units on the client
   by :func:`~landrenew.analysis.units.unit_table`.
5. **Disposal**, firm paths and allocation on the client, over plain frames (they rank cases
   city-wide and read no geometry).

The result equals the single-machine run's: tags, units, cases and paths identically, areas
and shares to floating-point rounding (a partition unions the layer features over it, not
the whole layer, so GEOS may order vertices differently).
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from landrenew.analysis.overlay import connected_components, overlay, patch_labels
from landrenew.analysis.tags import summarize_tags, tag_parcels
from landrenew.analysis.units import unit_links, unit_params, unit_table
from landrenew.policy import Profile

#: parcels per partition aimed at (a 5 M province's workers peaked at 2.3 GB with it: BENCHMARKS.md)
PARCELS_PER_PARTITION = 200_000
#: column of the partition files: the parcel's position in the snapshot
POS = "_pos"
#: safety added to the halo distance (metres, and a relative part): boxes are projected corners
_HALO_SLACK_M, _HALO_SLACK_REL = 1.0, 1e-3


class ClusterError(RuntimeError):
    """A cluster address that cannot be used, or Dask missing (with the fix in the message)."""


@contextlib.contextmanager
def connect(spec: str) -> Iterator[Any]:
    """A Dask client for ``spec``: ``local:N`` starts N worker processes here (one thread each),
    anything else is a scheduler address (``tcp://host:8786``)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - the dev and cluster extras install it
        raise ClusterError("Dask is not installed: pip install 'landrenew[cluster]' "
                           "(未安装 Dask：请安装 landrenew[cluster])") from exc
    if spec.startswith("local:"):
        try:
            n = int(spec.split(":", 1)[1])
        except ValueError:
            n = 0
        if n < 1:
            raise ClusterError(f"--cluster {spec!r}: write local:N with N ≥ 1 worker processes "
                               f"(本地集群写作 local:N，N 为进程数)")
        memory = os.environ.get("LANDRENEW_WORKER_MEMORY", "auto")
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                          memory_limit=memory) as cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(spec, timeout="20s")
    except OSError as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {spec}: {exc} "
                           f"(无法连接 Dask 调度器，请检查地址和网络)") from exc
    with client:
        yield client


def halo_m(profile: Profile) -> float:
    """The widest distance (m) a rule looks from a parcel to other parcels."""
    gaps = [profile.rule("tag.scattered.isolated_patch").params.min_gap_m, unit_params(profile)[0]]
    gaps += [b.params.next_to_gap_m for b in profile.quota.balance if b.params.next_to is not None]
    return float(max(gaps))


@dataclass(frozen=True)
class Part:
    """What a worker needs of one partition: its parcels' file, the layers' file, its core."""

    parcels: Path
    layers: Path
    #: snapshot positions of the core parcels (the file also holds the halo)
    core: np.ndarray


@dataclass(frozen=True)
class Partitions:
    """The partitions written for a run: each one's :class:`Part`, and its members (core and halo)."""

    parts: list[Part]
    members: list[np.ndarray]


def plan_partitions(parcels: gpd.GeoDataFrame, area_crs: str, halo: float, n_parts: int
                    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Core and member (core + halo) positions of ``n_parts`` Hilbert-ordered partitions.

    Parcels without geometry join the first partition's core (they meet nothing).
    """
    x0, y0, x1, y1 = _projected_boxes(parcels.geometry.values, parcels.crs, area_crs)
    has = ~np.isnan(x0)
    placed = np.flatnonzero(has)
    centres = gpd.GeoSeries(shapely.points((x0[placed] + x1[placed]) / 2, (y0[placed] + y1[placed]) / 2))
    order = placed[np.argsort(centres.hilbert_distance(level=16).to_numpy(), kind="stable")]
    n_parts = max(1, min(n_parts, len(placed)))
    core = [np.sort(c) for c in np.array_split(order, n_parts)]
    core[0] = np.union1d(core[0], np.flatnonzero(~has))
    reach = halo * (1 + _HALO_SLACK_REL) + _HALO_SLACK_M
    tree = shapely.STRtree(shapely.box(x0[placed], y0[placed], x1[placed], y1[placed]))
    members = []
    for c in core:  # the halo: every parcel whose box comes within reach of a core parcel's box
        c_in = c[has[c]]
        _, hit = tree.query(shapely.box(x0[c_in] - reach, y0[c_in] - reach, x1[c_in] + reach, y1[c_in] + reach))
        members.append(np.union1d(c, placed[np.unique(hit)]))
    return core, members


def write_partitions(parcels: gpd.GeoDataFrame, layers: gpd.GeoDataFrame, core: list[np.ndarray],
                     members: list[np.ndarray], folder: Path) -> Partitions:
    """Write each partition's parcels and the layers as GeoParquet into ``folder`` (a new one)."""
    folder.mkdir(parents=True)
    layer_file = folder / "layers.parquet"
    layers.to_parquet(layer_file, write_covering_bbox=True)  # read by bounds
    flat = parcels.reset_index(drop=True)
    parts = []
    for i, m in enumerate(members):
        chunk = flat.iloc[m].copy()
        chunk.insert(0, POS, m.astype(np.int64))
        parts.append(Part(folder / f"parcels_{i:04d}.parquet", layer_file, core[i]))
        chunk.to_parquet(parts[-1].parcels)
    return Partitions(parts, members)


# --------------------------------------------------------------------------- worker tasks


def _read_part(part: Part) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The partition's parcels (indexed by snapshot position) and the layer features over them."""
    parcels = gpd.read_parquet(part.parcels).set_index(POS)
    parcels.index.name = None
    bounds = parcels.geometry.total_bounds
    if np.isnan(bounds).any():
        layers = gpd.read_parquet(part.layers).iloc[:0]
    else:
        layers = gpd.read_parquet(part.layers, bbox=tuple(bounds))
    return parcels, layers.reset_index(drop=True)


def overlay_part(part: Part, profile: Profile, gap_m: float, space_min_share: float
                 ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Overlay of one partition: its core rows, and links (member, first member of its local
    patch) in snapshot positions."""
    parcels, layers = _read_part(part)
    over = overlay(parcels, layers, profile, gap_m=gap_m, space_min_share=space_min_share)
    a, b = _local_links(parcels.index.to_numpy(np.int64), over["patch_id"])
    return over.loc[part.core], a, b


@dataclass(frozen=True)
class TagInputs:
    """A partition's share of what the tags read (files): the merged overlay of its members, the
    parcel classes, firm–parcel links and list records that can reach its parcels."""

    overlay: Path
    parcel_class: Path
    links: Path
    evidence: Path


def tags_part(part: Part, inputs: TagInputs, profile: Profile, as_of: date, unit_gap: float
              ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Tag hits of a partition's core parcels, and the 连片 unit links among its core and halo
    parcels (snapshot positions)."""
    parcels, _ = _read_part(part)
    over = pd.read_parquet(inputs.overlay).loc[parcels.index]
    hits = tag_parcels(parcels, over, pd.read_parquet(inputs.parcel_class), pd.read_parquet(inputs.links),
                       gpd.read_parquet(inputs.evidence), profile, as_of)
    tagged = summarize_tags(hits, parcels.index)
    pos, a, b = unit_links(parcels, over, tagged, profile, unit_gap)
    at = parcels.index.to_numpy(np.int64)[pos]
    return hits[hits["parcel_index"].isin(part.core)], at[a], at[b]


def _local_links(positions: np.ndarray, label: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(member, first member of the same label) for the labelled rows."""
    ok = label.notna().to_numpy()
    lab = label.to_numpy(dtype=np.float64, na_value=np.nan)[ok].astype(np.int64)
    pos = positions[ok]
    first = pd.Series(pos).groupby(lab).transform("min").to_numpy(np.int64)
    return pos, first


# --------------------------------------------------------------------------- client side


class ClusterRun:
    """The spatial steps of :func:`landrenew.analysis.pipeline.run_pipeline` over partitions."""

    def __init__(self, client: Any, folder: Path, parcels_per_partition: int = PARCELS_PER_PARTITION,
                 progress: Callable[[str], None] = lambda _: None) -> None:
        self.client = client
        #: this run's own folder inside the shared one; removed when the run has read it
        self.folder = folder / f"run-{uuid.uuid4().hex[:12]}"
        self.per_partition = parcels_per_partition
        self.progress = progress
        self.parts: Partitions | None = None
        #: seconds spent on the client planning and writing the partitions
        self.timings: dict[str, float] = {}

    def close(self) -> None:
        """Remove this run's partition files."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def _map(self, what: str, fn: Callable, own: Callable[[int], tuple], *shared: object) -> list:
        """``fn(part, *own(i), *shared)`` for every partition ``i`` on the workers, results in
        partition order. Arguments stay small (data goes through files), so a worker that is
        restarted loses nothing: its tasks run again elsewhere."""
        from distributed import as_completed

        assert self.parts is not None
        futures = [self.client.submit(fn, part, *own(i), *shared, pure=False)
                   for i, part in enumerate(self.parts.parts)]
        for k, _ in enumerate(as_completed(futures), 1):
            self.progress(f"{what} {k}/{len(futures)}")
        return self.client.gather(futures)

    def overlay(self, parcels: gpd.GeoDataFrame, layers: gpd.GeoDataFrame, profile: Profile, *, gap_m: float,
                space_min_share: float) -> pd.DataFrame:
        """:func:`~landrenew.analysis.overlay.overlay` of every parcel, patches merged."""
        n_parts = max(len(self.client.scheduler_info(n_workers=-1)["workers"]),
                      math.ceil(len(parcels) / self.per_partition))
        t = time.perf_counter()
        core, members = plan_partitions(parcels, profile.city.area_crs, halo_m(profile), n_parts)
        self.parts = write_partitions(parcels, layers, core, members, self.folder)
        self.timings["partitions"] = time.perf_counter() - t
        results = self._map("overlay", overlay_part, lambda _: (), profile, gap_m, space_min_share)
        over = pd.concat([r[0] for r in results]).sort_index()
        over.index = parcels.index
        idx = np.flatnonzero(over["patch_id"].notna().to_numpy())
        a, b = _positions_in(idx, results, "construction parcel")
        root = connected_components(len(idx), a, b)
        over["patch_id"], over["patch_area_mu"], over["patch_size"] = patch_labels(
            len(over), idx, root, over["area_mu"].to_numpy(float))
        return over

    def tags_and_units(self, parcels: gpd.GeoDataFrame, over: pd.DataFrame, pclass: pd.DataFrame,
                       links: pd.DataFrame, evidence: gpd.GeoDataFrame, profile: Profile, as_of: date
                       ) -> tuple[pd.DataFrame, pd.DataFrame, tuple[pd.Series, gpd.GeoDataFrame]]:
        """Tag hits, their summary and the 连片 units of every parcel, as on one machine."""
        gap, least, _ = unit_params(profile)
        inputs = self._tag_inputs(parcels, over, pclass, links, evidence)
        results = self._map("tags", tags_part, lambda i: (inputs[i],), profile, as_of, gap)
        hits = pd.concat([r[0] for r in results], ignore_index=True)
        hits = hits.sort_values(["parcel_index", "rule_id"], kind="stable").reset_index(drop=True)
        hits["parcel_index"] = parcels.index.to_numpy()[hits["parcel_index"].to_numpy(np.int64)]
        tags = summarize_tags(hits, parcels.index)
        pos = np.flatnonzero(tags["n_hits"].to_numpy() > 0)
        a, b = _positions_in(pos, results, "flagged parcel")
        units = unit_table(parcels, over, tags, profile, pos, connected_components(len(pos), a, b), least,
                           geometry=False)
        return hits, tags, units


    def _tag_inputs(self, parcels: gpd.GeoDataFrame, over: pd.DataFrame, pclass: pd.DataFrame, links: pd.DataFrame,
                    evidence: gpd.GeoDataFrame) -> list[TagInputs]:
        """Write each partition's :class:`TagInputs`: the rows that can concern its parcels (by parcel
        code, by a USCC linked to one of them, or by a record's shape over the partition's box)."""
        assert self.parts is not None
        positional = over.set_axis(pd.RangeIndex(len(over)))
        codes = parcels["parcel_code"].to_numpy(dtype=object)
        bounds = shapely.bounds(parcels.geometry.values)
        shapes = evidence.geometry.values if len(evidence) else np.array([], dtype=object)
        ev_tree = shapely.STRtree(shapes)
        out = []
        for i, m in enumerate(self.parts.members):
            mine = pd.unique(codes[m][pd.notna(codes[m])])
            link = links[links["parcel_code"].isin(mine)]
            near = np.zeros(len(evidence), dtype=bool)
            box = bounds[m]
            if len(box) and not np.isnan(box).all():
                near[ev_tree.query(shapely.box(np.nanmin(box[:, 0]), np.nanmin(box[:, 1]), np.nanmax(box[:, 2]),
                                               np.nanmax(box[:, 3])))] = True
            if len(evidence):
                near |= (evidence["parcel_code"].isin(mine) | evidence["uscc"].isin(link["uscc"])).to_numpy()
            files = TagInputs(*(self.folder / f"{name}_{i:04d}.parquet"
                                for name in ("overlay", "parcel_class", "links", "evidence")))
            positional.iloc[m].to_parquet(files.overlay)
            pclass[pclass.index.isin(mine)].to_parquet(files.parcel_class)
            link.to_parquet(files.links)
            evidence[near].to_parquet(files.evidence)
            out.append(files)
        return out


def _positions_in(nodes: np.ndarray, results: list, what: str) -> tuple[np.ndarray, np.ndarray]:
    """The partitions' links (snapshot positions, results' items 1 and 2) as positions in ``nodes``."""
    out = []
    for k in (1, 2):
        at = np.concatenate([r[k] for r in results]).astype(np.int64)
        i = np.searchsorted(nodes, at)
        if len(at) and ((i >= len(nodes)).any() or (nodes[np.minimum(i, len(nodes) - 1)] != at).any()):
            raise RuntimeError(f"a partition linked a parcel that is not a {what} of the whole city")
        out.append(i)
    return out[0], out[1]


def _projected_boxes(geoms: np.ndarray, crs: Any, area_crs: str) -> tuple[np.ndarray, ...]:
    """Each geometry's box in ``area_crs`` (from its four projected corners; NaN if missing)."""
    x0, y0, x1, y1 = shapely.bounds(geoms).T
    tr = pyproj.Transformer.from_crs(crs, area_crs, always_xy=True)
    xs, ys = tr.transform(np.concatenate([x0, x0, x1, x1]), np.concatenate([y0, y1, y0, y1]))
    xs, ys = np.asarray(xs).reshape(4, -1), np.asarray(ys).reshape(4, -1)
    return xs.min(0), ys.min(0), xs.max(0), ys.max(0)
