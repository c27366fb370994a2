"""Side-by-side benchmark: the overlay and the tagging done by landrenew, by DuckDB spatial SQL and
by PostGIS SQL on the same snapshot, with the answers checked to agree.

``python -m landrenew.bench_engines WORKSPACE [--pg URL] [--into BENCHMARKS.md]`` (``--json FILE``
keeps the measurement; ``--from-json FILE --into BENCHMARKS.md`` renders the section again without
measuring; ``--engines landrenew,duckdb`` leaves PostGIS out). Exits non-zero when the engines disagree.

What each engine computes, per parcel (areas in the profile's ``area_crs``, EPSG:4549; parcels are
stored in EPSG:4490 and projected by each engine):

* ``share_<kind>`` for every layer kind (and any multi-kind space): area inside the **union** of
  the kind's features ÷ parcel area, so overlapping features count once;
* ``space`` (三区三线 precedence, residual agricultural), ``park_name`` (the park holding the
  largest area of the parcel), ``plan_zone`` / ``planned_code`` (the detailed-plan zone holding at
  least ``min_share``), ``is_construction``;
* the construction patches: components of construction parcels within ``gap_m`` of each other,
  with their area (亩) and size, and the partition itself;
* ``fit_<kind>`` flags of the 占补平衡 kinds with ``next_to``;
* every tag rule of the profile, as the set of (tag, rule_id) hits of each parcel (idle land adds
  the idle consequence reached, as :func:`landrenew.analysis.tags.idle_land` does).

The 亩均 evaluation, the parcel classes and the firm–parcel links of the evaluation year are
computed once by landrenew (as ``run_pipeline`` does) and given to all three engines as input
tables, and so are the code tables (which DLBM / 用地用海 codes are construction land): the
comparison is about the spatial overlay and the tagging.

Engines: (1) landrenew's ``overlay`` then ``tag_parcels`` and ``summarize_tags``, exactly as
``run_pipeline`` calls them; (2) DuckDB with the offline ``duckdb_extension_spatial`` package
(spatial joins by its R-tree ``SPATIAL_JOIN``; large union parts are halved by SQL rounds, since
DuckDB has no ``ST_Subdivide``; patches are a ``ST_DWithin`` self-join and hook-and-jump
union–find rounds in SQL, since it has no ``ST_ClusterDBSCAN``); (3) PostGIS: unlogged tables, GiST
indexes, ``ST_Subdivide`` on the unioned control layers, covers-or-intersection per pair,
``ST_ClusterDBSCAN`` for the patches, ``ST_DWithin`` for the nearness tests, parallel queries.

The SQL tag steps produce only the (parcel, tag, rule) sets; landrenew's ``tag_parcels`` also
builds each hit's evidence text (value, threshold, notes), so its ``tags`` step does more work.

Each engine's time is split into *load* (data into the engine), *prepare* (projected parcel table
and spatial indexes, what a database keeps between runs) and the *query* steps; landrenew has no
load or prepare (its overlay projects and builds its tree every run).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pathlib
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from landrenew.analysis.overlay import share_groups
from landrenew.bench_web import replace_section
from landrenew.geo.area import M2_PER_MU, project
from landrenew.policy import Profile
from landrenew.policy.schema import (
    EvaluationClassRule,
    IdleLandRule,
    IsolatedPatchRule,
    LandUseSelector,
    OutsideParkRule,
    PlotRatioRule,
    RecordMatchRule,
    UnsuppliedRule,
)

TITLE = "## Side by side: landrenew, DuckDB, PostGIS"
#: agreement tolerances: relative, and absolute for values near zero (shares, 亩)
REL_TOL = 1e-6
ABS_TOL = 1e-9
#: vertices per piece for PostGIS ST_Subdivide (as landrenew's MAX_PART_VERTICES)
SUBDIVIDE_VERTICES = 256


# --------------------------------------------------------------------------- inputs


@dataclass
class Inputs:
    """The shared inputs of the three engines (one snapshot, one profile, one date)."""

    parcels: gpd.GeoDataFrame
    layers: gpd.GeoDataFrame
    evidence: gpd.GeoDataFrame
    links: pd.DataFrame
    parcel_class: pd.DataFrame
    profile: Profile
    as_of: date
    gap_m: float
    space_min_share: float
    prepare_s: float = 0.0

    @property
    def kinds(self) -> list[str]:
        """The layer kinds of ``control_lines.layers`` (share columns), in order."""
        return list(dict.fromkeys(self.profile.land_rules.control_lines.params.layers.values()))

    def groups(self) -> tuple[dict[str, list[str]], dict[str, str]]:
        """Share groups (as overlay: every kind, one union per multi-kind space) and space → group."""
        return share_groups(self.profile)


def prepare_inputs(snapshot: Any, profile: Profile, as_of: date) -> Inputs:
    """Evaluation, parcel classes and links of the evaluation year, as ``run_pipeline`` makes them."""
    from landrenew.analysis.evaluation import evaluate, parcel_classes

    t = time.perf_counter()
    parcels = snapshot.parcels.reset_index(drop=True)
    evaluation = evaluate(snapshot.firms, profile, None)
    year = int(evaluation["year"].iloc[0]) if len(evaluation) else as_of.year
    links = snapshot.firm_parcels[snapshot.firm_parcels["year"] == year]
    coded = parcels["parcel_code"].notna().to_numpy()
    area_mu = pd.Series(parcels["area_m2"].to_numpy(dtype=float)[coded] / M2_PER_MU,
                        index=parcels["parcel_code"][coded])
    pclass = parcel_classes(evaluation, links, area_mu)
    return Inputs(parcels=parcels, layers=snapshot.layers.reset_index(drop=True), evidence=snapshot.evidence,
                  links=links, parcel_class=pclass, profile=profile, as_of=as_of,
                  gap_m=profile.rule("tag.scattered.isolated_patch").params.min_gap_m,
                  space_min_share=profile.land_rules.control_lines.params.space_min_share,
                  prepare_s=time.perf_counter() - t)


# --------------------------------------------------------------------------- results


@dataclass
class EngineResult:
    """One engine's answers and timings.

    ``per_parcel`` is indexed by parcel position (0..n-1); ``hits`` holds distinct
    (``pos``, ``tag_key``, ``rule_id``) rows.
    """

    name: str
    per_parcel: pd.DataFrame
    hits: pd.DataFrame
    load: dict[str, float] = field(default_factory=dict)
    steps: dict[str, float] = field(default_factory=dict)
    peak_mb: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def query_s(self) -> float:
        """Seconds of the query steps (overlay and tagging)."""
        return float(sum(self.steps.values()))

    @property
    def load_s(self) -> float:
        """Seconds of loading and preparing (tables, projections, indexes)."""
        return float(sum(self.load.values()))


def _objects(s: pd.Series) -> np.ndarray:
    """Values as Python objects, None where missing (NA, NaN, None alike)."""
    v = s.to_numpy(dtype=object, na_value=None) if hasattr(s.array, "to_numpy") else s.to_numpy(object)
    return np.where(pd.isna(v), None, v).astype(object)


class _Clock:
    """Times named steps into a dict."""

    def __init__(self, into: dict[str, float]) -> None:
        self.into = into

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        yield
        self.into[name] = self.into.get(name, 0.0) + time.perf_counter() - t
        if os.environ.get("LANDRENEW_BENCH_VERBOSE"):
            print(f"    {name}: {time.perf_counter() - t:.2f} s", file=sys.stderr, flush=True)


def _reset_peak() -> None:
    """Reset the kernel's peak-RSS mark of this process (Linux), so each engine gets its own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_mb() -> float:
    """Peak resident memory of this process since the last reset (MB)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- landrenew


def run_landrenew(inp: Inputs) -> EngineResult:
    """overlay → tag_parcels → summarize_tags, as ``run_pipeline`` calls them."""
    from landrenew.analysis.overlay import overlay
    from landrenew.analysis.tags import summarize_tags, tag_parcels

    _reset_peak()
    load: dict[str, float] = {}
    steps: dict[str, float] = {}
    clock = _Clock(steps)
    with _Clock(load)("prepare"):  # the projected parcels a snapshot keeps (Snapshot.planar)
        planar = project(inp.parcels.geometry, inp.profile.city.area_crs)
    with clock("overlay"):
        over = overlay(inp.parcels, inp.layers, inp.profile, gap_m=inp.gap_m,
                       space_min_share=inp.space_min_share, planar=planar)
    with clock("tags"):
        hits = tag_parcels(inp.parcels, over, inp.parcel_class, inp.links, inp.evidence, inp.profile,
                           inp.as_of)
    with clock("summarize"):
        summarize_tags(hits, len(inp.parcels))
    peak = _peak_mb()
    groups, _ = inp.groups()
    per = pd.DataFrame(index=pd.RangeIndex(len(inp.parcels)))
    for g in groups:
        if g in inp.kinds:
            per[f"share_{g}"] = over[f"share_{g}"].to_numpy(float)
    for c in ("space", "park_name", "plan_zone", "planned_code"):
        per[c] = _objects(over[c])
    per["is_construction"] = over["is_construction"].to_numpy(bool)
    per["patch"] = over["patch_id"].astype("Float64").to_numpy(float, na_value=np.nan)
    per["patch_area_mu"] = over["patch_area_mu"].astype("Float64").to_numpy(float, na_value=np.nan)
    per["patch_size"] = over["patch_size"].astype("Float64").to_numpy(float, na_value=np.nan)
    for col in over.columns:
        if col.startswith("fit_"):
            per[col] = over[col].to_numpy(bool)
    h = pd.DataFrame({"pos": hits["parcel_index"].to_numpy(np.int64),
                      "tag_key": hits["tag_key"].astype(str).to_numpy(object),
                      "rule_id": hits["rule_id"].astype(str).to_numpy(object)}).drop_duplicates()
    return EngineResult("landrenew", per, h.reset_index(drop=True), load, steps, peak)


# --------------------------------------------------------------------------- SQL pieces


class Dialect:
    """The few spellings that differ between DuckDB and PostgreSQL."""

    name = ""

    def attr(self, field: str) -> str:
        """Text of ``attrs[field]`` (JSON)."""
        raise NotImplementedError

    def num(self, text: str) -> str:
        """``text`` as a double, NULL when it is not a number (``pd.to_numeric(errors="coerce")``)."""
        raise NotImplementedError

    def day(self, text: str) -> str:
        """``text`` as a date, NULL when it is not one (``pd.to_datetime(errors="coerce")``)."""
        raise NotImplementedError


class DuckDialect(Dialect):
    """DuckDB spellings."""

    name = "duckdb"

    def attr(self, field: str) -> str:
        return f"json_extract_string(attrs, '$.\"{field}\"')"

    def num(self, text: str) -> str:
        return f"TRY_CAST({text} AS DOUBLE)"

    def day(self, text: str) -> str:
        return f"TRY_CAST({text} AS DATE)"


class PgDialect(Dialect):
    """PostgreSQL spellings."""

    name = "postgis"

    def attr(self, field: str) -> str:
        return f"(attrs ->> {_lit(field)})"

    def num(self, text: str) -> str:
        return (f"(CASE WHEN {text} ~ '^\\s*[-+]?(\\d+\\.?\\d*|\\.\\d+)([eE][-+]?\\d+)?\\s*$' "
                f"THEN ({text})::float8 END)")

    def day(self, text: str) -> str:
        return f"(CASE WHEN {text} ~ '^\\d{{4}}-\\d{{2}}-\\d{{2}}' THEN left({text}, 10)::date END)"


def _lit(value: Any) -> str:
    """A SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(float(value)) if isinstance(value, float) else str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _in(values: Any) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")"


def land_use_sql(sel: LandUseSelector, p: str = "p") -> str:
    """SQL of :func:`landrenew.analysis.tags.land_use_mask` (NULL codes select nothing)."""
    terms = []
    if sel.dlbm:
        terms.append(f"{p}.dlbm IN {_in(sel.dlbm)}")
    terms += [f"{p}.dlbm LIKE {_lit(x + '%')}" for x in sel.dlbm_prefix]
    terms += [f"{p}.ydyh_code LIKE {_lit(x + '%')}" for x in sel.ydyh_prefix]
    return "COALESCE(" + " OR ".join(terms) + ", FALSE)" if terms else "FALSE"


def _reached(col: str, years: float, as_of: date) -> str:
    """SQL of :func:`landrenew.analysis.tags.reached`: ``col`` + years ≤ as_of (NULL → false)."""
    months = years * 12
    whole = int(np.floor(months + 1e-9))
    days = round((months - whole) * 365.25 / 12)
    expr = f"CAST({col} AS DATE) + INTERVAL '{whole} months'"
    if days:
        expr += f" + INTERVAL '{days} days'"
    return f"COALESCE({expr} <= DATE '{as_of.isoformat()}', FALSE)"


def _evidence_field(d: Dialect, name: str) -> str:
    """Text of an evidence field: its column when it has one, else the ``attrs`` key."""
    if name in _EVIDENCE_TEXT:
        return f"CAST({name} AS VARCHAR)" if d.name == "duckdb" else f"{name}::text"
    return d.attr(name)


#: evidence columns loaded into the engines (anything else is read from attrs)
_EVIDENCE_TEXT = ("kind", "record_id", "uscc", "parcel_code", "district_code", "category", "status")


def _truthy(text: str) -> str:
    return f"COALESCE(lower(trim({text})) IN ('true', '1', '1.0', '是', 'yes', 'y'), FALSE)"


def _tags_and_summary(ex: Callable[[str], Any], qc: Any, inp: Inputs, d: Dialect, create_hits: str) -> None:
    """Run the tag rules' SQL into ``hits`` and the per-parcel summary, each step timed by ``qc``."""
    ex(create_hits)
    for name, sql in tag_sql(inp, d):
        with qc(f"tag {name}"):
            ex(sql)
    with qc("summarize"):
        ex(SUMMARY_SQL)


def tag_sql(inp: Inputs, d: Dialect) -> list[tuple[str, str]]:
    """Statements that fill ``hits(pos, tag_key, rule_id)`` from ``parcels``, ``ov``,
    ``evidence``, ``links`` and ``pclass``: one (step name, SQL) per rule."""
    as_of = inp.as_of
    asof = f"DATE '{as_of.isoformat()}'"
    profile = inp.profile
    out: list[tuple[str, str]] = []

    def insert(rule_id: str, tag_key: str, select_pos: str) -> str:
        return (f"INSERT INTO hits SELECT DISTINCT pos, {_lit(tag_key)}, {_lit(rule_id)} "
                f"FROM ({select_pos}) AS h")

    def linked(ev: str, geometry: bool) -> str:
        """Positions reached from the evidence rows ``ev`` (a subquery with eid, parcel_code,
        uscc, geom): by parcel code, by USCC through the links, by geometry."""
        parts = [f"SELECT e.eid, p.id AS pos FROM {ev} e JOIN parcels p ON p.parcel_code = e.parcel_code",
                 f"SELECT e.eid, p.id AS pos FROM {ev} e JOIN links l ON l.uscc = e.uscc "
                 "JOIN parcels p ON p.parcel_code = l.parcel_code"]
        if geometry:
            parts.append(f"SELECT e.eid, p.id AS pos FROM {ev} e JOIN parcels p ON ST_Intersects(e.geom, p.geom) "
                         "WHERE NOT ST_Touches(e.geom, p.geom)")
        return " UNION ".join(parts)

    for tag_key, rule in profile.tag_rules():
        if isinstance(rule, RecordMatchRule):
            prm = rule.params
            cond = [f"kind = {_lit(prm.source)}"]
            cond += [f"{_evidence_field(d, f)} IN {_in(v)}" for f, v in prm.match.items()]
            cond += [_truthy(_evidence_field(d, f)) for f in prm.require_true]
            ev = f"(SELECT * FROM evidence WHERE {' AND '.join(cond)})"
            out.append((rule.kind, insert(rule.id, tag_key, linked(ev, True))))
        elif isinstance(rule, OutsideParkRule):
            prm = rule.params
            out.append((rule.kind, insert(rule.id, tag_key, (
                f"SELECT p.id AS pos FROM parcels p JOIN ov ON ov.id = p.id WHERE {land_use_sql(prm.land_use)} "
                f"AND COALESCE(ov.share_{_ident(prm.park_layer)}, 0) < {_lit(float(prm.min_inside_share))}"))))
        elif isinstance(rule, IsolatedPatchRule):
            prm = rule.params
            out.append((rule.kind, insert(rule.id, tag_key, (
                f"SELECT p.id AS pos FROM parcels p JOIN ov ON ov.id = p.id WHERE {land_use_sql(prm.land_use)} "
                f"AND ov.is_construction AND ov.space IN {_in(prm.spaces)} "
                f"AND ov.patch_area_mu <= {_lit(float(prm.max_patch_mu))}"))))
        elif isinstance(rule, PlotRatioRule):
            prm = rule.params
            floor = float(profile.rule(prm.floor_rule).params.floor)  # type: ignore[attr-defined]
            out.append((rule.kind, insert(rule.id, tag_key, (
                f"SELECT p.id AS pos FROM parcels p WHERE {land_use_sql(prm.land_use)} AND p.area_m2 > 0 "
                f"AND p.floor_area_m2 / p.area_m2 < {_lit(floor)}"))))
        elif isinstance(rule, IdleLandRule):
            out.append((rule.kind, _idle_sql(inp, d, rule, tag_key, linked, asof)))
        elif isinstance(rule, UnsuppliedRule):
            prm = rule.params
            not_supplied = f"(p.supply_date IS NULL OR p.supply_date > {asof})"
            approved, supplied = d.num(d.attr("approved_area_mu")), d.num(d.attr("supplied_area_mu"))
            left = (f"(CASE WHEN {approved} IS NOT NULL THEN {approved} - COALESCE({supplied}, 0) "
                    f"ELSE area_m2 / {M2_PER_MU!r} END)")
            ev = (f"(SELECT * FROM evidence WHERE kind = {_lit(prm.source)} AND geom IS NOT NULL "
                  f"AND NOT ST_IsEmpty(geom) AND {left} > 0 AND {left} >= {_lit(float(prm.min_unsupplied_mu))} "
                  f"AND {_reached('event_date', prm.min_years_since_approval, as_of)})")
            area_mu = f"p.area_m2 / {M2_PER_MU!r}"
            out.append((rule.kind, insert(rule.id, tag_key, (
                f"SELECT p.id AS pos FROM {ev} e JOIN parcels p ON ST_Intersects(e.geom, p.geom) "
                f"WHERE NOT ST_Touches(e.geom, p.geom) AND {not_supplied} "
                f"UNION SELECT p.id AS pos FROM parcels p WHERE p.approval_date <= {asof} AND {not_supplied} "
                f"AND {_reached('p.approval_date', prm.min_years_since_approval, as_of)} "
                f"AND {area_mu} > 0 AND {area_mu} >= {_lit(float(prm.min_unsupplied_mu))}"))))
        elif isinstance(rule, EvaluationClassRule):
            out.append((rule.kind, insert(rule.id, tag_key, (
                "SELECT p.id AS pos FROM pclass c JOIN parcels p ON p.parcel_code = c.parcel_code "
                f"WHERE c.class IN {_in(rule.params.classes)}"))))
        else:
            raise NotImplementedError(f"rule kind {rule.kind!r} has no SQL here")
    return out


def _idle_sql(inp: Inputs, d: Dialect, rule: IdleLandRule, tag_key: str,
              linked: Callable[[str, bool], str], asof: str) -> str:
    """Idle land: candidates from the idle list (linked by code or USCC) and the parcels' own
    dates; per parcel the idle rule's hit and the highest consequence reached by the earliest
    idle start (the longest idle spell, as tags.idle_land picks it)."""
    from landrenew.analysis.tags import _idle_consequences

    prof = inp.profile
    defn = prof.rule(rule.params.definition_rule).params  # type: ignore[attr-defined]
    src = _lit(rule.params.source)
    ev = f"(SELECT * FROM evidence WHERE kind = {src})"
    cand = (
        f"SELECT l.pos, COALESCE(CAST(e.event_date AS DATE), {d.day(d.attr('contract_start_date'))}) AS cs, "
        f"{d.day(d.attr('actual_start_date'))} AS st, {d.num(d.attr('developed_share'))} AS developed, "
        f"{d.num(d.attr('invested_share'))} AS invested, {d.day(d.attr('halted_date'))} AS halted "
        f"FROM ({linked(ev, False)}) l JOIN evidence e ON e.eid = l.eid "
        "UNION ALL SELECT id, CAST(contract_start_date AS DATE), CAST(actual_start_date AS DATE), NULL, NULL, NULL "
        "FROM parcels WHERE contract_start_date IS NOT NULL")
    idle_ns = (f"(cs IS NOT NULL AND (st IS NULL OR st > {asof}) "
               f"AND {_reached('cs', defn.min_years_after_contract_start, inp.as_of)})")
    idle_halt = (f"(st IS NOT NULL AND st <= {asof} AND (developed < {_lit(float(defn.min_developed_share))} "
                 f"OR invested < {_lit(float(defn.min_invested_share))}) "
                 f"AND {_reached('halted', defn.min_halt_years, inp.as_of)})")
    idle = (f"SELECT pos, MIN(CASE WHEN {idle_ns} THEN cs ELSE halted END) AS since FROM ({cand}) c "
            f"WHERE {idle_ns} OR {idle_halt} GROUP BY pos")
    tiers = sorted(_idle_consequences(prof), key=lambda r: r.params.min_idle_years)
    tier = "CASE " + " ".join(f"WHEN {_reached('since', t.params.min_idle_years, inp.as_of)} THEN {_lit(t.id)}"
                              for t in reversed(tiers)) + " END" if tiers else "NULL"
    return (f"INSERT INTO hits SELECT pos, {_lit(tag_key)}, r.rule_id FROM ({idle}) i, "
            f"LATERAL (SELECT {_lit(rule.id)} AS rule_id UNION ALL SELECT {tier}) r WHERE r.rule_id IS NOT NULL")


def _ident(name: str) -> str:
    """A column-name-safe spelling of a layer kind."""
    out = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
    return out if out and not out[0].isdigit() else f"k_{out}"


def overlay_columns_sql(inp: Inputs, shares: str) -> str:
    """SELECT list pieces of ``ov``: share per group, space, construction flag."""
    groups, space_group = inp.groups()
    m = _lit(float(inp.space_min_share))
    cols = []
    for i, g in enumerate(groups):
        cols.append(f"CASE WHEN pp.area > 0 THEN LEAST(GREATEST(COALESCE({shares}.i{i}, 0) / pp.area, 0), 1) END "
                    f"AS {_group_col(g)}")
    from landrenew.analysis.overlay import RESIDUAL_SPACE, SPACE_PRECEDENCE

    names = list(groups)
    spaces = [s for s in SPACE_PRECEDENCE if s in space_group]
    share_of = {s: (f"CASE WHEN pp.area > 0 THEN LEAST(GREATEST(COALESCE({shares}.i{names.index(space_group[s])}, "
                    "0) / pp.area, 0), 1) END") for s in spaces}
    if spaces:
        space = ("CASE WHEN NOT (pp.area > 0) OR pp.area IS NULL THEN NULL "
                 + " ".join(f"WHEN {share_of[s]} >= {m} THEN {_lit(s)}" for s in spaces)
                 + f" ELSE {_lit(RESIDUAL_SPACE)} END")
    else:
        space = "NULL"
    cols.append(f"{space} AS space")
    return ", ".join(cols)


def _group_col(g: str) -> str:
    return f"share_{_ident(g)}" if not g.startswith("space:") else f"space_{_ident(g[6:])}"


def code_tables(parcels: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Which DLBM and 用地用海 codes present are known / construction land (landrenew's code
    tables, looked up once per distinct value as ``construction_flags`` does)."""
    from landrenew.codes.landuse import is_construction, normalize_ydyh, validate_dlbm, ydyh_table

    d = pd.Series(parcels["dlbm"].dropna().astype("string").unique(), dtype="string")
    dl = pd.DataFrame({"code": d.astype(object), "known": validate_dlbm(d).to_numpy(dtype=bool),
                       "construction": is_construction(d).to_numpy(dtype=bool)})
    y = pd.Series(parcels["ydyh_code"].dropna().astype("string").unique(), dtype="string")
    table = ydyh_table().set_index("code")["is_construction"]
    yl = pd.DataFrame({"code": y.astype(object),
                       "construction": normalize_ydyh(y).map(table).fillna(False).to_numpy(dtype=bool)})
    return dl, yl


def _construction_sql() -> str:
    return ("CASE WHEN dc.known THEN dc.construction ELSE COALESCE(yc.construction, FALSE) END")


def _tables(inp: Inputs) -> dict[str, pd.DataFrame]:
    """The input tables as plain frames (geometries as WKB in EPSG:4490)."""
    p = inp.parcels
    parcels = pd.DataFrame({
        "id": np.arange(len(p), dtype=np.int64),
        "parcel_code": p["parcel_code"].astype(object),
        "dlbm": p["dlbm"].astype(object), "ydyh_code": p["ydyh_code"].astype(object),
        "area_m2": pd.to_numeric(p["area_m2"], errors="coerce").astype(float),
        "floor_area_m2": pd.to_numeric(p["floor_area_m2"], errors="coerce").astype(float),
    })
    for c in ("approval_date", "supply_date", "contract_start_date", "actual_start_date"):
        parcels[c] = _dates(p[c]) if c in p else None
    parcels["wkb"] = shapely.to_wkb(np.asarray(p.geometry.array, dtype=object))
    lay = inp.layers
    ids = lay["feature_id"].astype("string").fillna(pd.Series(lay.index.astype(str), index=lay.index))
    layers = pd.DataFrame({"ord": np.arange(len(lay), dtype=np.int64),
                           "kind": lay["layer_kind"].astype(object), "name": lay["name"].astype(object),
                           "feature_id": ids.astype(object),
                           "ydyh_code": lay["ydyh_code"].astype(object) if "ydyh_code" in lay else None,
                           "wkb": shapely.to_wkb(np.asarray(lay.geometry.array, dtype=object))})
    ev = inp.evidence
    evidence = pd.DataFrame({"eid": np.arange(len(ev), dtype=np.int64)})
    for c in _EVIDENCE_TEXT:
        evidence[c] = ev[c].astype(object).where(ev[c].notna(), None) if c in ev else None
    evidence["event_date"] = _dates(ev["event_date"])
    evidence["area_m2"] = pd.to_numeric(ev["area_m2"], errors="coerce").astype(float)
    evidence["attrs"] = [None if not isinstance(a, dict) else json.dumps(a, ensure_ascii=False)
                         for a in ev["attrs"]]
    geoms = np.asarray(ev.geometry.array, dtype=object) if isinstance(ev, gpd.GeoDataFrame) else \
        np.full(len(ev), None, dtype=object)
    evidence["wkb"] = shapely.to_wkb(geoms)
    links = inp.links[["uscc", "parcel_code"]].dropna().drop_duplicates().astype(object)
    pc = inp.parcel_class
    pclass = pd.DataFrame({"parcel_code": pc.index.astype(object), "class": pc["class"].astype(object)})
    dl, yl = code_tables(p)
    groups, _ = inp.groups()
    grp = pd.DataFrame([(i, k) for i, g in enumerate(groups) for k in groups[g]], columns=["grp", "kind"])
    return {"parcels": parcels, "layers": layers, "evidence": evidence, "links": links, "pclass": pclass,
            "dlbm_codes": dl, "ydyh_codes": yl, "grp_kind": grp}


def _dates(s: pd.Series) -> pd.Series:
    """Dates as ``datetime.date`` objects, None where missing."""
    t = pd.to_datetime(s, errors="coerce")
    return pd.Series(np.where(t.notna(), t.dt.date, None), index=s.index, dtype=object)


def _planning(inp: Inputs) -> tuple[str | None, float]:
    planning = inp.profile.land_rules.planning
    if planning is None:
        return None, 0.0
    return planning.params.layer, float(planning.params.min_share)


def _park_layer(inp: Inputs) -> str:
    from landrenew.analysis.overlay import _park_layer

    return _park_layer(inp.profile)


def _fit_kinds(inp: Inputs) -> list[tuple[str, LandUseSelector, float]]:
    return [(b.params.kind, b.params.next_to, float(b.params.next_to_gap_m))
            for b in inp.profile.quota.balance if b.params.next_to is not None]


# --------------------------------------------------------------------------- DuckDB


def duckdb_connect() -> Any:
    """A DuckDB connection with the offline spatial extension loaded."""
    import duckdb

    try:
        import duckdb_extension_spatial as spatial
    except ImportError as exc:  # pragma: no cover - a dev dependency
        raise SystemExit("the duckdb_extension_spatial package is needed (offline spatial extension)") from exc
    con = duckdb.connect()
    ext = pathlib.Path(spatial.__file__).parent / f"extensions/v{duckdb.__version__}/spatial.duckdb_extension"
    con.execute(f"LOAD '{ext}'")
    return con


#: how the DuckDB SQL stands in for what DuckDB lacks
DUCKDB_NOTES = (
    f"no ST_Subdivide: parts above {SUBDIVIDE_VERTICES} vertices are halved by SQL rounds until small",
    "no ST_ClusterDBSCAN: patches are a ST_DWithin self-join (its SPATIAL_JOIN; an id filter in that join "
    "makes DuckDB fall back to a nested-loop or inequality join, so self-pairs are kept) and hook-and-jump "
    "union–find rounds in SQL",
)


def run_duckdb(inp: Inputs) -> EngineResult:
    """The overlay and the tagging as DuckDB spatial SQL."""
    import pyarrow as pa

    _reset_peak()
    d = DuckDialect()
    load: dict[str, float] = {}
    steps: dict[str, float] = {}
    lc, qc = _Clock(load), _Clock(steps)
    crs = inp.profile.city.area_crs
    with lc("load"):
        con = duckdb_connect()
        con.execute(f"SET threads = {os.cpu_count() or 1}")
        spill = tempfile.mkdtemp(prefix="lr-bench-duckdb-")
        con.execute(f"SET temp_directory = '{spill}'")  # may spill rather than fail when memory is short
        for name, df in _tables(inp).items():
            con.register(f"{name}_raw", pa.Table.from_pandas(df, preserve_index=False))
            cols = ", ".join(f'"{c}"' for c in df.columns if c != "wkb")
            geom = ", ST_GeomFromWKB(wkb) AS geom" if "wkb" in df.columns else ""
            con.execute(f"CREATE TABLE {name} AS SELECT {cols}{geom} FROM {name}_raw")
            con.unregister(f"{name}_raw")
    transform = f"ST_Transform(geom, 'EPSG:4490', '{crs}', always_xy := true)"
    with lc("prepare"):
        con.execute(f"CREATE TABLE pp AS SELECT id, {transform} AS geom FROM parcels")
        con.execute("ALTER TABLE pp ADD COLUMN area DOUBLE")
        con.execute("UPDATE pp SET area = ST_Area(geom)")
    ex = con.execute
    s = SUBDIVIDE_VERTICES
    with qc("layers"):
        # union per group, explode, cut parts with many vertices by a grid (no ST_Subdivide here)
        ex(f"""CREATE TABLE lay AS SELECT ord, kind, name, feature_id, ydyh_code,
                 CASE WHEN ST_IsValid(g) THEN g ELSE ST_MakeValid(g) END AS geom
               FROM (SELECT *, {transform} AS g FROM layers) WHERE geom IS NOT NULL""")
        ex("""CREATE TABLE unions AS SELECT k.grp, ST_Union_Agg(l.geom) AS geom
              FROM lay l JOIN grp_kind k ON k.kind = l.kind GROUP BY k.grp""")
        ex(_duck_dump("unions", "grp", "dumped"))
        duck_subdivide(con, "dumped", "grp", s, "parts")
        park, plan = _park_layer(inp), _planning(inp)[0]
        ex(f"""CREATE TABLE park_feat AS SELECT name, min(ord) OVER (PARTITION BY name) AS first, geom
               FROM lay WHERE kind = {_lit(park)} AND name IS NOT NULL""")
        ex(_duck_dump("park_feat", "name, first", "park_dump"))
        duck_subdivide(con, "park_dump", "name, first", s, "park_parts")
        ex(f"""CREATE TABLE plan_feat AS SELECT feature_id, geom FROM lay WHERE kind = {_lit(plan)}""")
        ex(_duck_dump("plan_feat", "feature_id", "plan_dump"))
        duck_subdivide(con, "plan_dump", "feature_id", s, "plan_parts")
    area_in = ("CASE WHEN ST_Covers(t.geom, p.geom) THEN p.area "
               "ELSE ST_Area(ST_Intersection(t.geom, p.geom)) END")
    groups, _ = inp.groups()
    with qc("shares"):
        pivot = ", ".join(f"SUM(inside) FILTER (WHERE grp = {i}) AS i{i}" for i in range(len(groups)))
        ex(f"""CREATE TABLE share_pairs AS SELECT p.id, t.grp, {area_in} AS inside
               FROM pp p JOIN parts t ON ST_Intersects(t.geom, p.geom)""")
        ex(f"CREATE TABLE shares AS SELECT id, {pivot} FROM share_pairs GROUP BY id")
    with qc("park, plan"):
        _largest_sql(ex, "park_parts", "name", "first", area_in, "park_best")
        _largest_sql(ex, "plan_parts", "feature_id", "0", area_in, "plan_best")
    with qc("space"):
        _ov_sql(ex, inp)
    with qc("patches"):
        ex("""CREATE TABLE cons AS SELECT pp.id, pp.geom FROM pp JOIN ov ON ov.id = pp.id
              WHERE ov.is_construction AND pp.geom IS NOT NULL AND NOT ST_IsEmpty(pp.geom)""")
        # every pair within gap_m (both ways, and each parcel with itself: a filter on the ids would
        # turn DuckDB's SPATIAL_JOIN into an inequality join)
        ex(f"""CREATE TABLE edges AS SELECT a.id AS src, b.id AS dst FROM cons a JOIN cons b
               ON ST_DWithin(a.geom, b.geom, {_lit(float(inp.gap_m))})""")
        duck_components(con)
        _patch_sql(ex)
    with qc("fit"):
        for kind, sel, gap in _fit_kinds(inp):
            ex(f"""CREATE TABLE fit_pairs AS SELECT a.id AS a, t.id AS t FROM
                   (SELECT pp.id, pp.geom FROM pp JOIN ov ON ov.id = pp.id WHERE ov.is_construction
                      AND COALESCE(ov.space <> 'urban', FALSE) AND pp.geom IS NOT NULL) a
                   JOIN (SELECT pp.id, pp.geom FROM pp JOIN parcels p ON p.id = pp.id
                         WHERE {land_use_sql(sel)} AND pp.geom IS NOT NULL) t
                   ON ST_DWithin(a.geom, t.geom, {_lit(gap)})""")
            ex(f"CREATE TABLE fit_{_ident(kind)} AS SELECT DISTINCT a AS id FROM fit_pairs WHERE a <> t")
            ex("DROP TABLE fit_pairs")
    _tags_and_summary(ex, qc, inp, d, "CREATE TABLE hits (pos BIGINT, tag_key VARCHAR, rule_id VARCHAR)")
    peak = _peak_mb()
    per, hits = _collect(inp, lambda q: con.execute(q).df())
    con.close()
    shutil.rmtree(spill, ignore_errors=True)
    return EngineResult("DuckDB", per, hits, load, _fold(steps), peak, list(DUCKDB_NOTES))


def duck_components(con: Any) -> int:
    """``comp(id, label)``: connected components of ``cons`` over ``edges(src, dst)``, label = the
    smallest id of the component. Hook each root onto the smallest root it has an edge to, then
    pointer-jump until every label is a root; repeat while edges join two components (the
    vectorised union–find of landrenew's ``connected_components``, one SQL statement per step;
    DuckDB has no ``ST_ClusterDBSCAN`` and its recursive CTEs propagate labels one hop a round).
    Returns the number of hook rounds."""
    ex = con.execute
    ex("CREATE TABLE comp AS SELECT id, id AS label FROM cons")
    ex("CREATE TABLE live AS SELECT src, dst FROM edges WHERE src < dst")
    rounds = 0
    while True:
        ex("""CREATE OR REPLACE TABLE live AS SELECT e.src, e.dst, a.label AS la, b.label AS lb FROM live e
              JOIN comp a ON a.id = e.src JOIN comp b ON b.id = e.dst WHERE a.label <> b.label""")
        if not ex("SELECT count(*) FROM live").fetchone()[0]:
            return rounds
        rounds += 1
        ex("""CREATE OR REPLACE TABLE comp AS SELECT c.id, least(c.label, coalesce(h.lo, c.label)) AS label
              FROM comp c LEFT JOIN (SELECT greatest(la, lb) AS hi, min(least(la, lb)) AS lo FROM live
                                     GROUP BY 1) h ON h.hi = c.id""")
        while True:  # pointer jumping
            ex("""CREATE OR REPLACE TABLE comp AS SELECT c.id, p.label, p.label <> c.label AS moved
                  FROM comp c JOIN comp p ON p.id = c.label""")
            if not ex("SELECT count(*) FROM comp WHERE moved").fetchone()[0]:
                break
        ex("CREATE OR REPLACE TABLE comp AS SELECT id, label FROM comp")
        ex("CREATE OR REPLACE TABLE live AS SELECT src, dst FROM live")


def _duck_dump(src: str, keys: str, into: str) -> str:
    """The polygons of each geometry of ``src`` (``ST_Dump``)."""
    return (f"CREATE TABLE {into} AS SELECT {keys}, struct_extract(d, 'geom') AS geom "
            f"FROM (SELECT {keys}, unnest(ST_Dump(geom)) AS d FROM {src})")


def duck_subdivide(con: Any, src: str, keys: str, max_vertices: int, into: str) -> int:
    """``into``: the polygons of ``src``, those with more than ``max_vertices`` vertices halved
    along the longer side of their box until small (what ``ST_Subdivide`` does in PostGIS, which
    DuckDB lacks; the halves tile each polygon). One SQL statement per round; returns the rounds."""
    ex = con.execute
    poly = "ST_GeometryType(geom) = 'POLYGON' AND ST_Area(geom) > 0"
    ex(f"CREATE TABLE {into} AS SELECT {keys}, geom FROM {src} WHERE {poly}")
    for rounds in range(40):
        ex(f"CREATE OR REPLACE TABLE big AS SELECT {keys}, geom FROM {into} WHERE ST_NPoints(geom) > {max_vertices}")
        if not ex("SELECT count(*) FROM big").fetchone()[0]:
            ex("DROP TABLE big")
            return rounds
        ex(f"DELETE FROM {into} WHERE ST_NPoints(geom) > {max_vertices}")
        ex(f"""INSERT INTO {into}
               WITH b AS (SELECT {keys}, geom, ST_XMin(geom) AS x0, ST_YMin(geom) AS y0, ST_XMax(geom) AS x1,
                                 ST_YMax(geom) AS y1, ST_XMax(geom) - ST_XMin(geom) >= ST_YMax(geom) - ST_YMin(geom)
                                 AS wide FROM big),
               h AS (SELECT {keys}, geom, CASE WHEN wide THEN ST_MakeEnvelope(x0, y0, (x0 + x1) / 2, y1)
                                                ELSE ST_MakeEnvelope(x0, y0, x1, (y0 + y1) / 2) END AS half FROM b
                     UNION ALL
                     SELECT {keys}, geom, CASE WHEN wide THEN ST_MakeEnvelope((x0 + x1) / 2, y0, x1, y1)
                                                ELSE ST_MakeEnvelope(x0, (y0 + y1) / 2, x1, y1) END FROM b),
               d AS (SELECT {keys}, unnest(ST_Dump(ST_Intersection(geom, half))) AS d FROM h)
               SELECT {keys}, geom FROM (SELECT {keys}, struct_extract(d, 'geom') AS geom FROM d) x WHERE {poly}""")
    raise RuntimeError("subdivision did not end")


def _largest_sql(ex: Callable[[str], Any], parts: str, label: str, first: str, area_in: str, into: str) -> None:
    """Per parcel the label with the largest area inside it (ties: first label), and that area."""
    ex(f"""CREATE TABLE {into} AS
           WITH a AS (SELECT p.id, t.{label} AS label, min({first}) AS first, SUM({area_in}) AS area
                      FROM pp p JOIN {parts} t ON ST_Intersects(t.geom, p.geom) GROUP BY p.id, t.{label})
           SELECT id, label, area FROM (
             SELECT *, row_number() OVER (PARTITION BY id ORDER BY area DESC, first, label) AS rk
             FROM a WHERE area > 0) x WHERE rk = 1""")


def _ov_sql(ex: Callable[[str], Any], inp: Inputs) -> None:
    """``ov``: shares, space, park, plan zone, construction flag per parcel."""
    plan, min_share = _planning(inp)
    plan_ok = f"pb.area / pp.area >= {_lit(min_share)}" if plan else "FALSE"
    ex(f"""CREATE TABLE ov AS SELECT p.id, {overlay_columns_sql(inp, 's')},
             pk.label AS park_name,
             CASE WHEN {plan_ok} THEN pb.label END AS plan_zone,
             CASE WHEN {plan_ok} THEN pc.ydyh_code END AS planned_code,
             {_construction_sql()} AS is_construction,
             CAST(NULL AS BIGINT) AS patch, CAST(NULL AS DOUBLE PRECISION) AS patch_area_mu,
             CAST(NULL AS BIGINT) AS patch_size
           FROM parcels p JOIN pp ON pp.id = p.id
           LEFT JOIN shares s ON s.id = p.id
           LEFT JOIN park_best pk ON pk.id = p.id
           LEFT JOIN plan_best pb ON pb.id = p.id
           LEFT JOIN (SELECT feature_id, ydyh_code FROM (
               SELECT feature_id, ydyh_code, row_number() OVER (PARTITION BY feature_id ORDER BY ord) AS rk
               FROM layers) x WHERE rk = 1) pc ON pc.feature_id = pb.label
           LEFT JOIN dlbm_codes dc ON dc.code = p.dlbm
           LEFT JOIN ydyh_codes yc ON yc.code = p.ydyh_code""")


def _patch_sql(ex: Callable[[str], Any]) -> None:
    """Patch label, area (亩) and size onto ``ov`` from ``comp(id, label)``."""
    ex(f"""UPDATE ov SET patch = c.label, patch_area_mu = c.area_mu, patch_size = c.size
           FROM (SELECT comp.id, comp.label, SUM(p.area_m2 / {M2_PER_MU!r}) OVER (PARTITION BY comp.label) AS area_mu,
                        count(*) OVER (PARTITION BY comp.label) AS size
                 FROM comp JOIN parcels p ON p.id = comp.id) c
           WHERE c.id = ov.id""")


#: one row per tagged parcel, as summarize_tags: hits, tag keys and rule ids (sorted, joined)
SUMMARY_SQL = """CREATE TABLE tag_summary AS SELECT pos, count(*) AS n_hits,
    string_agg(DISTINCT tag_key, ';' ORDER BY tag_key) AS tag_keys,
    string_agg(DISTINCT rule_id, ';' ORDER BY rule_id) AS rule_ids
  FROM hits GROUP BY pos"""


def _fold(steps: dict[str, float]) -> dict[str, float]:
    """Tag rule steps summed into one ``tags`` step, ``summarize`` last."""
    out = {k: v for k, v in steps.items() if not k.startswith("tag ") and k != "summarize"}
    out["tags"] = sum(v for k, v in steps.items() if k.startswith("tag "))
    out["summarize"] = steps.get("summarize", 0.0)
    return out


def _collect(inp: Inputs, query: Callable[[str], pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The normalised per-parcel frame and the hits from an engine's ``ov``/``hits`` tables."""
    groups, _ = inp.groups()
    n = len(inp.parcels)
    share_cols = [g for g in groups if g in inp.kinds]
    fits = _fit_kinds(inp)
    cols = ", ".join([*(f"ov.{_group_col(g)}" for g in share_cols),
                      "ov.space", "ov.park_name", "ov.plan_zone", "ov.planned_code", "ov.is_construction",
                      "ov.patch", "ov.patch_area_mu", "ov.patch_size",
                      *(f"(f{i}.id IS NOT NULL) AS fit_{i}" for i in range(len(fits)))])
    joins = " ".join(f"LEFT JOIN fit_{_ident(k)} f{i} ON f{i}.id = ov.id" for i, (k, _, _) in enumerate(fits))
    df = query(f"SELECT ov.id, {cols} FROM ov {joins} ORDER BY ov.id")
    if len(df) != n or not (df["id"].to_numpy() == np.arange(n)).all():
        raise AssertionError("ov must have one row per parcel")
    per = pd.DataFrame(index=pd.RangeIndex(n))
    for g in share_cols:
        per[f"share_{g}"] = pd.to_numeric(df[_group_col(g)], errors="coerce").to_numpy(float)
    for c in ("space", "park_name", "plan_zone", "planned_code"):
        per[c] = _objects(df[c])
    per["is_construction"] = df["is_construction"].astype(bool).to_numpy()
    for c in ("patch", "patch_area_mu", "patch_size"):
        per[c] = pd.to_numeric(df[c], errors="coerce").astype(float).to_numpy()
    for i, (k, _, _) in enumerate(fits):
        per[f"fit_{k}"] = df[f"fit_{i}"].astype(bool).to_numpy()
    h = query("SELECT DISTINCT pos, tag_key, rule_id FROM hits")
    hits = pd.DataFrame({"pos": h["pos"].astype(np.int64), "tag_key": h["tag_key"].astype(str).to_numpy(object),
                         "rule_id": h["rule_id"].astype(str).to_numpy(object)})
    return per, hits


# --------------------------------------------------------------------------- PostGIS


#: session settings of the PostGIS queries (2 cores shared; spatial functions are costly)
PG_SETTINGS = {
    "max_parallel_workers_per_gather": str(max(2, os.cpu_count() or 1)),
    "max_parallel_maintenance_workers": str(max(2, os.cpu_count() or 1)),
    "work_mem": "'256MB'",
    "maintenance_work_mem": "'1GB'",
    "jit": "off",
    # the pieces tables are small (thousands of rows) but each row is costly work: let them be split
    "parallel_setup_cost": "100",
    "parallel_tuple_cost": "0.01",
    "min_parallel_table_scan_size": "0",
    "search_path": "lr_bench, public",
}


#: rows per COPY chunk
_COPY_ROWS = 100_000


def _pg_copy(cur: Any, name: str, df: pd.DataFrame, types: dict[str, str]) -> None:
    """CREATE UNLOGGED TABLE and COPY ``df`` in as CSV (geometries as hex EWKB, SRID 4490)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    cols = [c if c != "wkb" else "geom" for c in df.columns]
    cur.execute(f"CREATE UNLOGGED TABLE {name} (" + ", ".join(
        f'"{c}" {types.get(c, _pg_type(df[c]) if c in df else "text")}' for c in cols) + ")")
    with cur.copy(f"COPY {name} ({', '.join(chr(34) + c + chr(34) for c in cols)}) FROM STDIN "
                  "(FORMAT csv)") as copy:
        for lo in range(0, len(df), _COPY_ROWS):  # in chunks: the CSV of 1 M parcels is ~1 GB
            chunk = df.iloc[lo:lo + _COPY_ROWS]
            if "wkb" in chunk.columns:
                geoms = shapely.set_srid(shapely.from_wkb(chunk["wkb"].to_numpy()), 4490)
                chunk = chunk.assign(wkb=shapely.to_wkb(geoms, hex=True, include_srid=True))
            buf = io.BytesIO()
            pacsv.write_csv(pa.Table.from_pandas(chunk, preserve_index=False), buf,
                            pacsv.WriteOptions(include_header=False, quoting_style="needed"))
            copy.write(buf.getbuffer())


def _pg_type(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "boolean"
    if pd.api.types.is_integer_dtype(s):
        return "bigint"
    if pd.api.types.is_float_dtype(s):
        return "float8"
    return "text"


@contextmanager
def pg_url(url: str | None) -> Iterator[str]:
    """``url``, or a fresh database on a throwaway server (tests/pgcluster.py's PgServer)."""
    if url:
        yield url
        return
    tests = Path(__file__).resolve().parents[2] / "tests"
    if not (tests / "pgcluster.py").is_file():
        raise SystemExit(f"no --pg URL and no {tests / 'pgcluster.py'} to start a throwaway PostgreSQL server")
    sys.path.insert(0, str(tests))
    try:
        from pgcluster import PgServer, PgUnavailable
    finally:
        sys.path.remove(str(tests))
    try:
        server = PgServer.start("bench_engines")
    except PgUnavailable as exc:
        raise SystemExit(f"PostgreSQL is unavailable ({exc}); pass --pg URL") from exc
    try:
        yield server.new_database()
    finally:
        server.close()


def run_postgis(inp: Inputs, url: str) -> EngineResult:
    """The overlay and the tagging as PostGIS SQL, in schema ``lr_bench`` (dropped at the end)."""
    import psycopg
    from sqlalchemy.engine import make_url

    _reset_peak()
    d = PgDialect()
    load: dict[str, float] = {}
    steps: dict[str, float] = {}
    lc, qc = _Clock(load), _Clock(steps)
    u = make_url(url)
    conninfo = u.set(drivername="postgresql").render_as_string(hide_password=False)
    srid = int(inp.profile.city.area_crs.split(":")[-1])
    with psycopg.connect(conninfo, autocommit=True) as conn, conn.cursor() as cur:
        ex = cur.execute
        ex("CREATE EXTENSION IF NOT EXISTS postgis")
        ex("DROP SCHEMA IF EXISTS lr_bench CASCADE")
        ex("CREATE SCHEMA lr_bench")
        for k, v in PG_SETTINGS.items():
            ex(f"SET {k} = {v}")
        version = cur.execute("SELECT postgis_lib_version() || ', GEOS ' || postgis_geos_version()").fetchone()[0]
        try:
            types = {"geom": "geometry(Geometry, 4490)", "attrs": "jsonb", "approval_date": "date",
                     "supply_date": "date", "contract_start_date": "date", "actual_start_date": "date",
                     "event_date": "date", "parcel_code": "text", "uscc": "text", "class": "text"}
            with lc("load"):
                for name, df in _tables(inp).items():
                    _pg_copy(cur, name, df, types)
            with lc("prepare"):
                ex(f"""CREATE UNLOGGED TABLE pp AS SELECT id, ST_Transform(geom, {srid}) AS geom
                       FROM parcels""")
                ex("ALTER TABLE pp ADD COLUMN area float8")
                ex("UPDATE pp SET area = ST_Area(geom)")
                ex("ALTER TABLE pp ADD PRIMARY KEY (id)")
                ex("ALTER TABLE parcels ADD PRIMARY KEY (id)")
                ex("CREATE INDEX ON pp USING gist (geom)")
                ex("CREATE INDEX ON parcels USING gist (geom)")
                ex("CREATE INDEX ON parcels (parcel_code)")
                ex("CREATE INDEX ON evidence (kind)")
                ex("ANALYZE")
            with qc("layers"):
                ex(f"""CREATE UNLOGGED TABLE lay AS SELECT ord, kind, name, feature_id, ydyh_code,
                         CASE WHEN ST_IsValid(g) THEN g ELSE ST_MakeValid(g) END AS geom
                       FROM (SELECT *, ST_Transform(geom, {srid}) AS g FROM layers) l WHERE geom IS NOT NULL""")
                s = SUBDIVIDE_VERTICES
                ex(f"""CREATE UNLOGGED TABLE parts AS
                       WITH u AS (SELECT k.grp, ST_Union(l.geom) AS geom FROM lay l
                                  JOIN grp_kind k ON k.kind = l.kind GROUP BY k.grp),
                            d AS (SELECT grp, (ST_Dump(geom)).geom FROM u)
                       SELECT grp, ST_Subdivide(geom, {s}) AS geom FROM d""")
                park, plan = _park_layer(inp), _planning(inp)[0]
                ex(f"""CREATE UNLOGGED TABLE park_parts AS
                       SELECT name, min(ord) OVER (PARTITION BY name) AS first, ST_Subdivide(geom, {s}) AS geom
                       FROM lay WHERE kind = {_lit(park)} AND name IS NOT NULL""")
                ex(f"""CREATE UNLOGGED TABLE plan_parts AS SELECT feature_id, ST_Subdivide(geom, {s}) AS geom
                       FROM lay WHERE kind = {_lit(plan)}""")
                for t in ("parts", "park_parts", "plan_parts"):
                    ex(f"DELETE FROM {t} WHERE GeometryType(geom) <> 'POLYGON' OR ST_Area(geom) <= 0")
                    ex(f"CREATE INDEX ON {t} USING gist (geom)")
                    ex(f"ANALYZE {t}")
            area_in = ("CASE WHEN ST_Covers(t.geom, p.geom) THEN p.area "
                       "ELSE ST_Area(ST_Intersection(t.geom, p.geom)) END")
            groups, _ = inp.groups()
            with qc("shares"):
                pivot = ", ".join(f"SUM(inside) FILTER (WHERE grp = {i}) AS i{i}" for i in range(len(groups)))
                ex(f"""CREATE UNLOGGED TABLE shares AS SELECT id, {pivot} FROM (
                         SELECT p.id, t.grp, {area_in} AS inside
                         FROM parts t CROSS JOIN LATERAL (
                           SELECT pp.id, pp.geom, pp.area FROM pp WHERE ST_Intersects(t.geom, pp.geom)) p) x
                       GROUP BY id""")
            with qc("park, plan"):
                _pg_largest(ex, "park_parts", "name", "first", area_in, "park_best")
                _pg_largest(ex, "plan_parts", "feature_id", "0", area_in, "plan_best")
            with qc("space"):
                _ov_sql(lambda q: ex(q.replace("CREATE TABLE", "CREATE UNLOGGED TABLE")), inp)
                ex("ALTER TABLE ov ADD PRIMARY KEY (id)")
                ex("ANALYZE ov")
            with qc("patches"):
                ex(f"""CREATE UNLOGGED TABLE comp AS
                       SELECT pp.id, ST_ClusterDBSCAN(pp.geom, eps := {_lit(float(inp.gap_m))}, minpoints := 1)
                                OVER () AS label
                       FROM pp JOIN ov ON ov.id = pp.id
                       WHERE ov.is_construction AND pp.geom IS NOT NULL AND NOT ST_IsEmpty(pp.geom)""")
                _patch_sql(ex)
            with qc("fit"):
                for kind, sel, gap in _fit_kinds(inp):
                    ex(f"""CREATE UNLOGGED TABLE fit_{_ident(kind)} AS SELECT a.id
                           FROM pp a JOIN ov ON ov.id = a.id
                           WHERE ov.is_construction AND COALESCE(ov.space <> 'urban', FALSE)
                             AND a.geom IS NOT NULL AND EXISTS (
                               SELECT 1 FROM pp t JOIN parcels p ON p.id = t.id
                               WHERE ST_DWithin(a.geom, t.geom, {_lit(gap)}) AND t.id <> a.id
                                 AND {land_use_sql(sel)})""")
            _tags_and_summary(ex, qc, inp, d, "CREATE UNLOGGED TABLE hits (pos bigint, tag_key text, rule_id text)")
            peak = _peak_mb()
            per, hits = _collect(inp, lambda q: _pg_frame(cur, q))
        finally:
            ex("DROP SCHEMA IF EXISTS lr_bench CASCADE")
    notes = [f"PostGIS {version}; " + ", ".join(f"{k}={v.strip(chr(39))}" for k, v in PG_SETTINGS.items()
                                                if k != "search_path"),
             "peak memory is this process's; the server's backends are not counted"]
    return EngineResult("PostGIS", per, hits, load, _fold(steps), peak, notes)


def _pg_largest(ex: Callable[[str], Any], parts: str, label: str, first: str, area_in: str, into: str) -> None:
    """PostGIS spelling of :func:`_largest_sql` (DISTINCT ON; the pieces drive, see run_postgis)."""
    ex(f"""CREATE UNLOGGED TABLE {into} AS
           SELECT DISTINCT ON (id) id, label, area FROM (
             SELECT p.id, t.{label} AS label, min({first}) AS first, SUM({area_in}) AS area
             FROM {parts} t CROSS JOIN LATERAL (
               SELECT pp.id, pp.geom, pp.area FROM pp WHERE ST_Intersects(t.geom, pp.geom)) p
             GROUP BY p.id, t.{label}) a
           WHERE area > 0 ORDER BY id, area DESC, first, label""")


def _pg_frame(cur: Any, sql: str) -> pd.DataFrame:
    cur.execute(sql)
    cols = [c.name for c in cur.description]
    return pd.DataFrame(cur.fetchall(), columns=cols)


# --------------------------------------------------------------------------- comparing


def compare(a: EngineResult, b: EngineResult) -> dict[str, int]:
    """Parcels on which ``b`` disagrees with ``a``, per column, and ``total`` (parcels with any).

    Numbers agree within :data:`REL_TOL` relative or :data:`ABS_TOL` absolute (NaN = NaN);
    patches as partitions (each patch of one is one patch of the other); hits as sets of
    (tag_key, rule_id) per parcel.
    """
    pa_, pb = a.per_parcel, b.per_parcel
    n = len(pa_)
    bad: dict[str, np.ndarray] = {}
    for c in pa_.columns:
        if c == "patch":
            continue
        x, y = pa_[c].to_numpy(), pb[c].to_numpy()
        if c.startswith("share_") or c in ("patch_area_mu", "patch_size"):
            x, y = x.astype(float), y.astype(float)
            both_nan = np.isnan(x) & np.isnan(y)
            tol = np.maximum(REL_TOL * np.maximum(np.abs(x), np.abs(y)), ABS_TOL)
            with np.errstate(invalid="ignore"):
                bad[c] = ~(both_nan | (np.abs(x - y) <= tol))
        else:
            bad[c] = ~_same(x, y)
    # patches: the same partition of the construction parcels
    la, lb = pa_["patch"].to_numpy(float), pb["patch"].to_numpy(float)
    member = ~np.isnan(la) | ~np.isnan(lb)
    wrong = np.zeros(n, dtype=bool)
    wrong[member] = np.isnan(la[member]) | np.isnan(lb[member])
    ok = member & ~wrong
    pairs = pd.DataFrame({"a": la[ok], "b": lb[ok], "pos": np.flatnonzero(ok)})
    if len(pairs):
        split = pairs.groupby("a")["b"].transform("nunique") > 1
        merged = pairs.groupby("b")["a"].transform("nunique") > 1
        wrong[pairs["pos"].to_numpy()[(split | merged).to_numpy()]] = True
    bad["patch"] = wrong
    # tag hits as sets per parcel
    key = ["pos", "tag_key", "rule_id"]
    both = a.hits[key].merge(b.hits[key], on=key, how="outer", indicator=True)
    diff = np.zeros(n, dtype=bool)
    diff[both.loc[both["_merge"] != "both", "pos"].to_numpy(np.int64)] = True
    bad["hits"] = diff
    out = {c: int(v.sum()) for c, v in bad.items()}
    out["total"] = int(np.logical_or.reduce(list(bad.values())).sum()) if bad else 0
    return out


def _same(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Element-wise equality of two object arrays, missing equal to missing."""
    x, y = np.asarray(x, dtype=object), np.asarray(y, dtype=object)
    nx, ny = pd.isna(x), pd.isna(y)
    eq = np.fromiter((a == b for a, b in zip(x, y, strict=True)), dtype=bool, count=len(x))
    return (nx & ny) | (~nx & ~ny & eq)


def disagreements(a: EngineResult, b: EngineResult, limit: int = 5) -> list[str]:
    """A few examples of disagreeing parcels, for the log."""
    out = []
    for c in a.per_parcel.columns:
        x, y = a.per_parcel[c], b.per_parcel[c]
        if c.startswith("share_") or c in ("patch_area_mu", "patch_size"):
            xf, yf = x.to_numpy(float), y.to_numpy(float)
            tol = np.maximum(REL_TOL * np.maximum(np.abs(xf), np.abs(yf)), ABS_TOL)
            with np.errstate(invalid="ignore"):
                idx = np.flatnonzero(~((np.isnan(xf) & np.isnan(yf)) | (np.abs(xf - yf) <= tol)))
        elif c == "patch":
            continue
        else:
            idx = np.flatnonzero(~_same(x.to_numpy(), y.to_numpy()))
        out += [f"{b.name} {c} parcel {i}: {x.iloc[i]!r} vs {y.iloc[i]!r}" for i in idx[:limit]]
    key = ["pos", "tag_key", "rule_id"]
    both = a.hits[key].merge(b.hits[key], on=key, how="outer", indicator=True)
    for _, r in both[both["_merge"] != "both"].head(limit).iterrows():
        side = "only landrenew" if r["_merge"] == "left_only" else f"only {b.name}"
        out.append(f"{b.name} hit parcel {r['pos']}: {r['tag_key']}/{r['rule_id']} ({side})")
    return out


# --------------------------------------------------------------------------- measuring


def measure_inputs(inp: Inputs, pg: str | None, engines: tuple[str, ...] = ("landrenew", "duckdb", "postgis"),
                   log: Callable[[str], None] = print) -> dict:
    """Run the engines on ``inp``, compare each with landrenew; the measurement as a dict."""
    results: dict[str, EngineResult] = {}
    lr = run_landrenew(inp)
    results["landrenew"] = lr
    log(f"landrenew: {lr.query_s:.2f} s {_fmt(lr.steps)}; peak {lr.peak_mb:,.0f} MB")
    if "duckdb" in engines:
        r = run_duckdb(inp)
        results["duckdb"] = r
        log(f"DuckDB: load {r.load_s:.2f} s {_fmt(r.load)}; query {r.query_s:.2f} s {_fmt(r.steps)}; "
            f"peak {r.peak_mb:,.0f} MB")
    if "postgis" in engines:
        with pg_url(pg) as url:
            r = run_postgis(inp, url)
        results["postgis"] = r
        log(f"PostGIS: load {r.load_s:.2f} s {_fmt(r.load)}; query {r.query_s:.2f} s {_fmt(r.steps)}; "
            f"peak {r.peak_mb:,.0f} MB")
    out: dict[str, Any] = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                           "parcels": len(inp.parcels), "layers": len(inp.layers), "evidence": len(inp.evidence),
                           "inputs_s": inp.prepare_s, "engines": {}, "load_avg": os.getloadavg(),
                           "cpus": os.cpu_count()}
    for key, r in results.items():
        entry = {"name": r.name, "load": r.load, "steps": r.steps, "query_s": r.query_s, "load_s": r.load_s,
                 "peak_mb": r.peak_mb, "notes": r.notes, "hits": len(r.hits)}
        if key != "landrenew":
            entry["disagree"] = compare(lr, r)
            for line in disagreements(lr, r):
                log("  " + line)
            entry["ratio_query"] = r.query_s / lr.query_s if lr.query_s else float("nan")
            entry["ratio_all"] = ((r.query_s + r.load_s) / (lr.query_s + lr.load_s) if lr.query_s
                                  else float("nan"))
            log(f"  {r.name} vs landrenew: {entry['disagree']['total']} parcels disagree {entry['disagree']}; "
                f"{r.name}:landrenew query time {entry['ratio_query']:.2f}×")
        out["engines"][key] = entry
    return out


def measure(workspace: Path, pg: str | None, as_of: date | None = None,
            engines: tuple[str, ...] = ("landrenew", "duckdb", "postgis"),
            log: Callable[[str], None] = print) -> dict:
    """Read the workspace's snapshot and run :func:`measure_inputs`."""
    from landrenew.demo.common import AS_OF
    from landrenew.policy import load_profile
    from landrenew.store.snapshot import read_snapshot
    from landrenew.store.workspace import Workspace

    t = time.perf_counter()
    ws = Workspace.open(workspace)
    snap = read_snapshot(ws.engine, ws.cache_dir)
    ws.engine.dispose()
    read_s = time.perf_counter() - t
    inp = prepare_inputs(snap, load_profile(), as_of or date.fromisoformat(AS_OF))
    log(f"snapshot: {len(inp.parcels):,} parcels read in {read_s:.1f} s; inputs in {inp.prepare_s:.1f} s")
    out = measure_inputs(inp, pg, engines, log)
    out["read_s"] = read_s
    out["pg_given"] = bool(pg)
    return out


def _fmt(steps: dict[str, float]) -> str:
    return "(" + ", ".join(f"{k} {v:.2f}" for k, v in steps.items()) + ")"


#: the SQL steps that together do what landrenew's ``overlay`` does
_OVERLAY_STEPS = ("layers", "shares", "park, plan", "space", "patches", "fit")


def section(m: dict, when: str = "") -> list[str]:  # noqa: C901 - one table, many cells
    """The BENCHMARKS.md section of one measurement."""
    e = m["engines"]
    names = [k for k in ("landrenew", "duckdb", "postgis") if k in e]
    order = ["overlay", *_OVERLAY_STEPS, "tags", "summarize"]
    steps = list(dict.fromkeys([*(s for s in order if any(s in e[k]["steps"] for k in names)),
                                *(s for k in names for s in e[k]["steps"])]))
    head = "| step | " + " | ".join(e[k]["name"] for k in names) + " |"
    lines = [TITLE, "",
             f"The overlay and the tagging of {m['parcels']:,} parcels ({m['layers']:,} control-layer features, "
             f"{m['evidence']:,} list records) done three ways on the same snapshot, answers compared parcel by "
             "parcel (`python -m landrenew.bench_engines WORKSPACE --into BENCHMARKS.md`): landrenew's "
             "`overlay` + `tag_parcels` + `summarize_tags`; the same in DuckDB spatial SQL; the same in "
             "PostGIS SQL (unlogged tables, GiST indexes, `ST_Subdivide` on the unioned control layers, "
             "covers-or-intersection per pair, `ST_ClusterDBSCAN` for the patches, `ST_DWithin`, parallel "
             "queries). Per parcel: the share inside each layer kind (union per kind), space, park, plan "
             "zone, construction flag, patch (partition, 亩, size), `fit_*`, and the set of (tag, rule) hits "
             "of every tag rule of the default profile. The 亩均 classes, the firm–parcel links of the "
             "evaluation year and the code tables are computed once by landrenew and given to all three as "
             "tables. Seconds; *load* = data into the engine, *prepare* = the projected parcels (and, in "
             "the databases, spatial indexes), kept between runs — by a database in its tables, by "
             "landrenew with the snapshot's cache (`Snapshot.planar`) — and not counted in the query time "
             "(landrenew builds its trees in every run). Not the same "
             "work in `tags`: landrenew's `tag_parcels` builds the full evidence table of every hit (value, "
             "threshold, zh/en notes, matched_by), the SQL engines only the (parcel, tag, rule) sets that "
             "are compared.", "",
             head, "|---|" + "---:|" * len(names)]
    for label, key in (("load", "load"), ("prepare", "prepare")):
        lines.append(f"| {label} | " + " | ".join(
            f"{e[k]['load'][key]:.2f}" if key in e[k]["load"] else "–" for k in names) + " |")
    for s in steps:
        lines.append(f"| {s} | " + " | ".join(f"{e[k]['steps'][s]:.2f}" if s in e[k]["steps"] else "–"
                                             for k in names) + " |")
    lines.append("| *overlay (sum)* | " + " | ".join(
        f"*{sum(v for s, v in e[k]['steps'].items() if s == 'overlay' or s in _OVERLAY_STEPS):.2f}*"
        for k in names) + " |")
    lines.append("| **query total** | " + " | ".join(f"**{e[k]['query_s']:.2f}**" for k in names) + " |")
    lines.append("| peak MB (this process) | " + " | ".join(f"{e[k]['peak_mb']:,.0f}" for k in names) + " |")
    lines.append("| parcels disagreeing with landrenew | – | " + " | ".join(
        str(e[k]["disagree"]["total"]) for k in names[1:]) + " |")
    lines.append("")
    ratios = []
    for k in names[1:]:
        ratios.append(f"landrenew : {e[k]['name']} = 1 : {e[k]['ratio_query']:.2f} on the query time "
                      f"(1 : {e[k]['ratio_all']:.2f} with load and prepare)")
    load = ", ".join(f"{x:.2f}" for x in m["load_avg"])
    lines += ["Ratios: " + "; ".join(ratios) + ". Goal: landrenew at least as fast as DuckDB "
              f"({'met' if e.get('duckdb', {}).get('ratio_query', 0) >= 1 else 'not met'}) and at least 3× "
              f"faster than PostGIS ({'met' if e.get('postgis', {}).get('ratio_query', 0) >= 3 else 'not met'}).",
              "",
              f"Machine: {m['cpus']} cores shared with other jobs, load average {load} (1, 5, 15 min) at the end "
              f"of the run ({m.get('when') or when or 'date not recorded'}). Checked per parcel: {', '.join(c for c in e[names[-1]]['disagree'] if c != 'total')}"
              f" (numbers within {REL_TOL:g} relative or {ABS_TOL:g} absolute, patches as partitions, hits as "
              "sets of (tag, rule)); " + _disagree_text(e, names[1:]) + ".",
              ""]
    for k in names[1:]:
        notes = DUCKDB_NOTES if k == "duckdb" else e[k]["notes"]  # the current wording
        lines.append(f"{e[k]['name']}: " + "; ".join(notes) + ".")
    if "postgis" in e and not m.get("pg_given"):
        lines.append("The PostgreSQL server is the throwaway test cluster of `tests/pgcluster.py` "
                     "(shared_buffers 64MB, fsync off), on the same two cores.")
    lines.append("")
    return lines


def _disagree_text(e: dict, names: list[str]) -> str:
    parts = []
    for k in names:
        bad = {c: v for c, v in e[k]["disagree"].items() if c != "total" and v}
        parts.append(f"{e[k]['name']} {e[k]['disagree']['total']} parcels differ"
                     + (" (" + ", ".join(f"{c} {v}" for c, v in bad.items()) + ")" if bad else ""))
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> None:
    """CLI: ``python -m landrenew.bench_engines WORKSPACE [--pg URL] [--into BENCHMARKS.md]``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workspace", type=Path)
    ap.add_argument("--pg", help="PostgreSQL URL (default: a throwaway server from tests/pgcluster.py)")
    ap.add_argument("--into", type=Path, help="write the results into this BENCHMARKS.md's section")
    ap.add_argument("--engines", default="landrenew,duckdb,postgis",
                    help="comma-separated subset of landrenew,duckdb,postgis (landrenew always runs)")
    ap.add_argument("--as-of", type=date.fromisoformat, help="analysis date (default: the demo's)")
    ap.add_argument("--json", type=Path, help="also write the measurement as JSON here")
    ap.add_argument("--from-json", type=Path,
                    help="do not measure: render the section from a measurement written by --json")
    ap.add_argument("--when", default="", help="when the --from-json measurement was taken (if not recorded)")
    args = ap.parse_args(argv)
    if args.from_json:
        m = json.loads(args.from_json.read_text(encoding="utf-8"))
        if args.when and not m.get("when"):
            m["when"] = args.when
        if args.into:
            replace_section(args.into, section(m), TITLE)
        print("\n".join(section(m)))
        return
    m = measure(args.workspace, args.pg, args.as_of, tuple(args.engines.split(",")))
    text = json.dumps(m, ensure_ascii=False, default=str)
    print(text)
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    if args.into:
        replace_section(args.into, section(m), TITLE)
    if any(e.get("disagree", {}).get("total", 0) for e in m["engines"].values()):
        raise SystemExit("the engines disagree (see the log above)")


if __name__ == "__main__":
    main()
