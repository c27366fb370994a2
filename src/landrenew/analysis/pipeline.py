"""Compose the analysis steps: overlay → 亩均 evaluation → tags → 连片 units → disposal → allocation.

Pure: takes a snapshot of the workspace and a policy profile, returns frames and the
seconds each step took. Nothing here reads or writes files or databases.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from landrenew.analysis.allocation import allocate
from landrenew.analysis.disposal import recommend, recommend_firms
from landrenew.analysis.evaluation import evaluate, parcel_classes
from landrenew.analysis.overlay import overlay
from landrenew.analysis.tags import summarize_tags, tag_parcels
from landrenew.analysis.units import group_units
from landrenew.policy import Profile
from landrenew.store.snapshot import Snapshot

if TYPE_CHECKING:
    from landrenew.cluster import ClusterRun

#: told each step's name as it starts
Progress = Callable[[str], None]


@dataclass
class AnalysisResult:
    """Every frame the pipeline produced, indexed like the snapshot's parcels where per parcel."""

    year: int
    as_of: date
    overlay: pd.DataFrame
    evaluation: pd.DataFrame
    parcel_class: pd.DataFrame
    tag_hits: pd.DataFrame
    tags: pd.DataFrame
    unit_of: pd.Series
    units: gpd.GeoDataFrame
    #: one row per case (a 连片 unit or a single flagged parcel): path, rule, priority, yields
    cases: pd.DataFrame
    #: firm-subject paths (散乱污 firms) for tagged firms
    firm_paths: pd.DataFrame
    #: differentiated allocation per rated firm: surcharges, land supply, energy quota
    allocation: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    #: files written for the run (GeoPackage, Excel, JSON), filled by the run service
    outputs: dict[str, Path] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Headline counts: parcels, flagged parcels per tag, firms per class, units."""
        out = {"parcels": len(self.overlay), "flagged_parcels": int((self.tags["n_hits"] > 0).sum()),
               "firms_rated": len(self.evaluation), "units": len(self.units)}
        for key in ("danger", "pollution", "disorder", "scattered", "low"):
            if key in self.tags:
                out[f"tag_{key}"] = int(self.tags[key].sum())
        for cls, n in self.evaluation["class"].value_counts().sort_index().items():
            out[f"class_{cls}"] = int(n)
        out["cases"] = len(self.cases)
        return out

    def yields(self) -> dict[str, float]:
        """Projected yield of all recommended cases: 亩 vacated and quota by kind."""
        cols = ("vacated_mu", "cultivated_mu", "paddy_mu", "grain_kg", "construction_quota_mu", "stock_linkage_mu")
        return {c: round(float(self.cases[c].sum()), 1) for c in cols if c in self.cases}


def run_pipeline(snapshot: Snapshot, profile: Profile, as_of: date, year: int | None = None,
                 progress: Progress = lambda _: None, cluster: ClusterRun | None = None) -> AnalysisResult:
    """Run every step on ``snapshot``; ``year`` is the evaluation year (default: the latest).

    With ``cluster`` the spatial steps (overlay, tags, 连片 unit links) run per spatial partition
    on its Dask workers (:mod:`landrenew.cluster`); the result is the same.
    """
    timings: dict[str, float] = {}

    def step(name: str, fn: Callable, *args: object, **kwargs: object) -> object:
        progress(name)
        t = time.perf_counter()
        out = fn(*args, **kwargs)
        timings[name] = time.perf_counter() - t
        return out

    parcels = snapshot.parcels
    gap_m = profile.rule("tag.scattered.isolated_patch").params.min_gap_m
    space_min_share = profile.land_rules.control_lines.params.space_min_share
    if cluster:
        over = step("overlay", cluster.overlay, parcels, snapshot.layers, profile,
                    gap_m=gap_m, space_min_share=space_min_share)
    else:  # the parcels are projected once per snapshot; a later run on the same data reads them
        over = step("overlay", lambda: overlay(parcels, snapshot.layers, profile, gap_m=gap_m,
                                               space_min_share=space_min_share,
                                               planar=snapshot.planar(profile.city.area_crs)))
    evaluation = step("evaluation", evaluate, snapshot.firms, profile, year)
    year = int(evaluation["year"].iloc[0]) if len(evaluation) else (year or as_of.year)
    links = snapshot.firm_parcels[snapshot.firm_parcels["year"] == year]
    coded = parcels["parcel_code"].notna().to_numpy()  # 三调 features without a parcel code hold no firm
    area_mu = pd.Series(over["area_mu"].to_numpy()[coded], index=parcels["parcel_code"][coded])
    pclass = step("parcel_classes", parcel_classes, evaluation, links, area_mu)
    if cluster:
        hits, tags, (unit_of, units) = step("tags", cluster.tags_and_units, parcels, over, pclass, links,
                                            snapshot.evidence, profile, as_of)
    else:
        hits = step("tags", tag_parcels, parcels, over, pclass, links, snapshot.evidence, profile, as_of)
        tags = summarize_tags(hits, len(parcels))
        unit_of, units = step("units", group_units, parcels, over, tags, profile, geometry=False)
    cases = step("disposal", recommend, parcels, over, tags, hits, pclass, unit_of, units, profile,
                 evidence=snapshot.evidence)
    firm_paths = step("firm_paths", recommend_firms, evaluation, hits, links, profile, parcels=parcels, overlay=over,
                      evidence=snapshot.evidence)
    alloc = step("allocation", allocate, evaluation, profile, snapshot.firms)
    return AnalysisResult(year, as_of, over, evaluation, pclass, hits, tags, unit_of, units, cases, firm_paths,
                          alloc, timings)
