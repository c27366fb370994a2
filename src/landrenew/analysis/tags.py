"""The five tags 危 污 乱 散 低 per parcel, each hit carrying its evidence.

:func:`tag_parcels` runs every tag rule of the profile and returns one row per
(parcel, rule hit): which rule, which clause, which list record or field, the value
measured and the threshold it was held against. :func:`summarize_tags` turns the
hits into one row per parcel.

Each rule ``kind`` of the profile is one vectorised function in :data:`RULE_KINDS`
(``record_match``, ``outside_park``, ``isolated_patch``, ``plot_ratio_below_floor``,
``idle_land``, ``unsupplied``, ``evaluation_class``); the function reads all its
numbers, status lists and layer names from the rule's ``params``, so another profile
reuses the kinds with other parameters. Code holds no policy number.

Matching list records to parcels (``record_match``), in this order of preference:

1. by ``parcel_code``;
2. by USCC through ``firm_parcels`` (the links of one evaluation year, by default the
   latest year not after ``as_of``);
3. by geometry, for records that carry a polygon (卫片 enforcement polygons): every
   parcel the polygon intersects with more than a shared boundary.

A record reached in several ways yields one hit per parcel (the first way wins).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from landrenew.geo import threads
from landrenew.geo.area import M2_PER_MU, project
from landrenew.policy.schema import (
    EvaluationClassRule,
    IdleConsequence,
    IdleLandRule,
    IsolatedPatchRule,
    LandUseSelector,
    OutsideParkRule,
    PlotRatioRule,
    Profile,
    RecordMatchRule,
    UnsuppliedRule,
)

#: columns of the long hit table, in order
HIT_COLUMNS = [
    "parcel_index", "parcel_key", "tag", "tag_key", "rule_id", "clause", "evidence_kind",
    "evidence_id", "value", "threshold", "note_zh", "note_en", "matched_by",
]
_MATCH_NOTE = {
    "parcel_code": ("按宗地代码匹配。", " Matched by parcel code."),
    "uscc": ("按统一社会信用代码经企业—宗地关联匹配。", " Matched by USCC through the firm–parcel links."),
    "geometry": ("图斑与宗地空间相交。", " The polygon intersects the parcel."),
    "": ("", ""),
}
_SPACE_ZH = {"ecological": "生态空间", "agricultural": "农业空间", "urban": "城镇空间"}


# --------------------------------------------------------------------------- context


@dataclass(frozen=True)
class TagContext:
    """Everything a rule function may read. Positions (0..n-1) index ``parcels``."""

    parcels: gpd.GeoDataFrame
    overlay: pd.DataFrame
    parcel_class: pd.DataFrame
    firm_parcels: pd.DataFrame
    evidence: gpd.GeoDataFrame
    profile: Profile
    as_of: pd.Timestamp
    link_year: int | None
    idle_source: str

    def evidence_of(self, kind: str) -> gpd.GeoDataFrame:
        """Evidence rows of one list kind, positionally re-indexed."""
        ev = self.evidence
        if ev is None or len(ev) == 0 or "kind" not in ev.columns:
            return _empty_evidence()
        return ev[ev["kind"].to_numpy() == kind].reset_index(drop=True)

    @cached_property
    def _code_index(self) -> tuple[pd.Index, np.ndarray]:
        codes = self.parcels["parcel_code"]
        ok = codes.notna().to_numpy()
        return pd.Index(codes.to_numpy(dtype=object)[ok]), np.flatnonzero(ok)

    def positions(self, codes: Any) -> tuple[np.ndarray, np.ndarray]:
        """(i, pos) such that ``codes[i]`` is the parcel_code of parcel ``pos`` (all such pairs)."""
        index, ok_pos = self._code_index
        query = pd.Index(np.asarray(codes, dtype=object))
        if index.is_unique:
            j = index.get_indexer(query)
            i = np.flatnonzero(j >= 0)
            return i, ok_pos[j[i]]
        left = pd.DataFrame({"code": query, "i": np.arange(len(query))}).dropna()
        m = left.merge(pd.DataFrame({"code": index, "pos": ok_pos}), on="code").sort_values(["i", "pos"])
        return m["i"].to_numpy(np.int64), m["pos"].to_numpy(np.int64)

    def links(self) -> pd.DataFrame:
        """USCC → parcel_code links of the evaluation year."""
        fp = self.firm_parcels
        if fp is None or len(fp) == 0:
            return pd.DataFrame({"uscc": pd.Series(dtype=object),
                                 "parcel_code": pd.Series(dtype=object)})
        year = self.link_year
        if year is None:
            years = pd.to_numeric(fp["year"], errors="coerce")
            upto = years[years <= self.as_of.year]
            year = int(upto.max()) if len(upto.dropna()) else int(years.max())
        sel = fp[pd.to_numeric(fp["year"], errors="coerce").to_numpy() == year]
        return sel[["uscc", "parcel_code"]].dropna().drop_duplicates()


def _empty_evidence() -> gpd.GeoDataFrame:
    cols = ["kind", "record_id", "uscc", "parcel_code", "district_code", "event_date",
            "category", "status", "attrs", "area_m2"]
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in cols},
                            geometry=gpd.GeoSeries([]))


# --------------------------------------------------------------------------- helpers


def land_use_mask(parcels: pd.DataFrame, sel: LandUseSelector) -> np.ndarray:
    """Parcels whose 三调 or 用地用海 code is selected (any listed code or prefix)."""
    dlbm = parcels["dlbm"].astype("string") if "dlbm" in parcels else pd.Series(pd.NA, index=parcels.index, dtype="string")
    ydyh = parcels["ydyh_code"].astype("string") if "ydyh_code" in parcels else pd.Series(pd.NA, index=parcels.index, dtype="string")
    mask = dlbm.isin(list(sel.dlbm)).fillna(False).to_numpy(bool)
    if sel.dlbm_prefix:
        mask = mask | dlbm.str.startswith(tuple(sel.dlbm_prefix), na=False).to_numpy(bool)
    if sel.ydyh_prefix:
        mask = mask | ydyh.str.startswith(tuple(sel.ydyh_prefix), na=False).to_numpy(bool)
    return mask


def evidence_field(ev: pd.DataFrame, name: str) -> pd.Series:
    """A field of the evidence rows: a column if there is one, else the key in ``attrs``."""
    if name in ev.columns and name not in ("attrs", "geometry"):
        return ev[name]
    if "attrs" in ev.columns and len(ev):
        try:
            return ev["attrs"].astype(object).str.get(name)
        except AttributeError:  # attrs all missing
            pass
    return pd.Series(None, index=ev.index, dtype=object)


def _truthy(s: pd.Series) -> np.ndarray:
    """True for True / 1 / "true" / "是" / "1" (what a boolean field may hold after intake)."""
    text = s.astype(object).where(s.notna(), None).astype("string").str.strip().str.lower()
    return text.isin(["true", "1", "1.0", "是", "yes", "y"]).fillna(False).to_numpy(bool)


def reached(start: pd.Series, as_of: pd.Timestamp, years: float) -> np.ndarray:
    """``start`` + ``years`` (calendar, to the month; fractions of a month in days) ≤ ``as_of``."""
    start = pd.to_datetime(start, errors="coerce")
    months = years * 12
    whole = int(np.floor(months + 1e-9))
    days = round((months - whole) * 365.25 / 12)
    due = start + pd.DateOffset(months=whole) + pd.Timedelta(days=days)
    return (due <= as_of).fillna(False).to_numpy(bool)


def _years(start: pd.Series, as_of: pd.Timestamp) -> np.ndarray:
    return ((as_of - pd.to_datetime(start, errors="coerce")).dt.days / 365.25).to_numpy(float)


def _f(values: Any, decimals: int) -> np.ndarray:
    """Numbers as fixed-point text ("0.80"); NaN as "—"."""
    arr = np.asarray(values, dtype=float)
    out = np.char.mod(f"%.{decimals}f", np.nan_to_num(arr)).astype(object)
    out[np.isnan(arr)] = "—"
    return out


def _pct(values: Any) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    out = np.char.mod("%.0f%%", np.nan_to_num(arr * 100)).astype(object)
    out[np.isnan(arr)] = "—"
    return out


def _date(s: pd.Series) -> np.ndarray:
    return pd.to_datetime(s, errors="coerce").dt.strftime("%Y-%m-%d").fillna("—").to_numpy(object)


def _g(x: float) -> str:
    return f"{x:g}"


def _hits(pos: Any, kind: Any, ev_id: Any, value: Any, threshold: Any, note_zh: Any,
          note_en: Any, matched_by: Any = "", **extra: Any) -> pd.DataFrame:
    """A rule's hits; scalars are broadcast."""
    pos = np.asarray(pos, dtype=np.int64)
    n = len(pos)

    def col(v: Any) -> pd.Series:
        arr = np.full(n, v, dtype=object) if np.isscalar(v) or v is None else np.asarray(v, dtype=object)
        return pd.Series(arr, dtype=object, copy=False)

    data = {"parcel_index": pos, "evidence_kind": col(kind), "evidence_id": col(ev_id),
            "value": col(value), "threshold": col(threshold), "note_zh": col(note_zh),
            "note_en": col(note_en), "matched_by": col(matched_by)}
    data.update({k: col(v) for k, v in extra.items()})
    return pd.DataFrame(data)


def _no_hits() -> pd.DataFrame:
    return _hits([], "", "", "", "", "", "")


def spatial_pairs(geoms: Any, crs: Any, parcels: gpd.GeoDataFrame, area_crs: str
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(input position, parcel position, overlap m² in ``area_crs``) of polygons intersecting parcels,
    ordered by input, then parcel.

    Pairs that only share a boundary are left out. ``geoms`` may hold missing or empty
    geometries (they match nothing). A multi-part polygon is matched part by part (intake makes
    it valid, so its parts' interiors are disjoint and their overlaps add up): a list polygon of
    scattered pieces then meets only the parcels near a piece, not every parcel in its box.
    """
    series = gpd.GeoSeries(np.asarray(geoms, dtype=object), crs=crs)
    ok = ~(series.isna().to_numpy() | series.is_empty.to_numpy())
    if not ok.any() or len(parcels) == 0:
        e = np.array([], dtype=np.int64)
        return e, e, np.array([], dtype=float)
    if series.crs is not None and parcels.crs is not None and series.crs != parcels.crs:
        series = series.to_crs(parcels.crs)
    idx_in = np.flatnonzero(ok)
    parts, owner = shapely.get_parts(np.asarray(series.values[idx_in], dtype=object), return_index=True)
    q, p = parcels.sindex.query(parts, predicate="intersects")
    a = parts[q]
    b = np.asarray(parcels.geometry.values, dtype=object)[p]
    inner = ~threads.in_slices(shapely.touches, a, b)
    q, p, a, b = q[inner], p[inner], a[inner], b[inner]
    inter = gpd.GeoSeries(threads.in_slices(shapely.intersection, a, b), crs=parcels.crs)
    overlap = shapely.area(project(inter, area_crs)) if len(inter) else np.array([], dtype=float)
    key = owner[q].astype(np.int64) * len(parcels) + p
    keys, at = np.unique(key, return_inverse=True)
    return idx_in[keys // len(parcels)], (keys % len(parcels)).astype(np.int64), np.bincount(at, weights=overlap)


# --------------------------------------------------------------------------- rule kinds


def record_match(rule: RecordMatchRule, ctx: TagContext) -> pd.DataFrame:
    """List records of ``params.source`` whose fields match, linked to parcels."""
    p = rule.params
    ev = ctx.evidence_of(p.source)
    if len(ev) == 0:
        return _no_hits()
    keep = np.ones(len(ev), dtype=bool)
    for field, values in p.match.items():
        keep &= evidence_field(ev, field).astype("string").isin(list(values)).fillna(False).to_numpy(bool)
    for field in p.require_true:
        keep &= _truthy(evidence_field(ev, field))
    ev = ev[keep].reset_index(drop=True)
    if len(ev) == 0:
        return _no_hits()
    links = link_records(ev, ctx)
    if len(links) == 0:
        return _no_hits()
    e = ev.iloc[links["ev_pos"].to_numpy()].reset_index(drop=True)
    value = evidence_field(e, "category").astype("string").fillna(p.source)
    for field in p.match:
        value = value + f"；{field} " + evidence_field(e, field).astype("string").fillna("—")
    for field in p.require_true:
        value = value + f"；{field} = true"
    geo = (links["matched_by"] == "geometry").to_numpy()
    overlap = np.where(geo, "；重叠 " + pd.Series(_f(links["overlap_m2"] / M2_PER_MU, 2)) + " 亩", "")
    value = value.to_numpy(object) + overlap
    threshold = "；".join([f"{f} ∈ {{{', '.join(v)}}}" for f, v in p.match.items()]
                         + [f"{f} = true" for f in p.require_true])
    how = links["matched_by"]
    uscc = evidence_field(e, "uscc").astype("string").fillna("").to_numpy(object)
    note_zh = rule.description_zh + np.where(
        how == "uscc", "按统一社会信用代码 " + uscc + " 经企业—宗地关联匹配。",
        how.map({k: v[0] for k, v in _MATCH_NOTE.items()}).to_numpy(object))
    note_en = rule.description_en + np.where(
        how == "uscc", " Matched by USCC " + uscc + " through the firm–parcel links.",
        how.map({k: v[1] for k, v in _MATCH_NOTE.items()}).to_numpy(object))
    return _hits(links["pos"], p.source, e["record_id"].astype("string").fillna("").to_numpy(object),
                 value, threshold, note_zh, note_en, how.to_numpy(object))


def link_records(ev: pd.DataFrame, ctx: TagContext) -> pd.DataFrame:
    """(ev_pos, pos, matched_by, overlap_m2): each record linked to parcels, first way wins."""
    frames = []
    if "parcel_code" in ev.columns:
        i, pos = ctx.positions(ev["parcel_code"].to_numpy(dtype=object))
        frames.append(pd.DataFrame({"ev_pos": i, "pos": pos, "matched_by": "parcel_code",
                                    "overlap_m2": np.nan}))
    if "uscc" in ev.columns and ev["uscc"].notna().any():
        by_firm = pd.DataFrame({"ev_pos": np.arange(len(ev)), "uscc": ev["uscc"].to_numpy(dtype=object)})
        by_firm = by_firm.dropna().merge(ctx.links().astype(object), on="uscc")
        i, pos = ctx.positions(by_firm["parcel_code"].to_numpy(dtype=object))
        frames.append(pd.DataFrame({"ev_pos": by_firm["ev_pos"].to_numpy()[i], "pos": pos,
                                    "matched_by": "uscc", "overlap_m2": np.nan}))
    if isinstance(ev, gpd.GeoDataFrame) and ev.geometry.notna().any():
        e_idx, pos, overlap = spatial_pairs(ev.geometry.values, ev.crs, ctx.parcels, ctx.profile.city.area_crs)
        frames.append(pd.DataFrame({"ev_pos": e_idx, "pos": pos, "matched_by": "geometry",
                                    "overlap_m2": overlap}))
    if not frames:
        return pd.DataFrame(columns=["ev_pos", "pos", "matched_by", "overlap_m2"])
    out = pd.concat([f[["ev_pos", "pos", "matched_by", "overlap_m2"]] for f in frames], ignore_index=True)
    out = out.drop_duplicates(["ev_pos", "pos"], keep="first")
    return out.sort_values(["pos", "ev_pos"], kind="stable").reset_index(drop=True)


def _overlay_share(ctx: TagContext, layer: str) -> pd.Series:
    """Share of each parcel inside ``layer`` (overlay column share_<layer> or share_<role>)."""
    ov = ctx.overlay
    col = f"share_{layer}"
    if col not in ov.columns:
        roles = ctx.profile.land_rules.control_lines.params.layers
        role = next((r for r, kind in roles.items() if kind == layer), None)
        if role is None or f"share_{role}" not in ov.columns:
            raise KeyError(f"overlay has no column {col!r} (layer {layer!r})")
        col = f"share_{role}"
    return pd.to_numeric(ov[col], errors="coerce").fillna(0.0)


def outside_park(rule: OutsideParkRule, ctx: TagContext) -> pd.DataFrame:
    """Selected (industrial) land whose share inside ``park_layer`` is below ``min_inside_share``."""
    p = rule.params
    share = _overlay_share(ctx, p.park_layer).to_numpy(float)
    pos = np.flatnonzero(land_use_mask(ctx.parcels, p.land_use) & (share < p.min_inside_share))
    return _hits(pos, "overlay", f"share_{p.park_layer}",
                 "园区内面积占比 " + pd.Series(_pct(share[pos]), dtype=object),
                 f"< {p.min_inside_share:.0%}", rule.description_zh, rule.description_en)


def isolated_patch(rule: IsolatedPatchRule, ctx: TagContext) -> pd.DataFrame:
    """Selected construction land in ``spaces`` whose connected patch is at most ``max_patch_mu``."""
    p = rule.params
    ov = ctx.overlay
    patch_mu = pd.to_numeric(ov["patch_area_mu"], errors="coerce").to_numpy(float)
    construction = ov["is_construction"].astype("boolean").fillna(False).to_numpy(bool)
    space = ov["space"].astype(object)
    mask = (land_use_mask(ctx.parcels, p.land_use) & construction
            & space.isin(list(p.spaces)).to_numpy(bool) & (patch_mu <= p.max_patch_mu))
    pos = np.flatnonzero(mask)
    size = pd.to_numeric(ov["patch_size"], errors="coerce").to_numpy(float)[pos]
    space_zh = space.iloc[pos].map(_SPACE_ZH).fillna(space.iloc[pos]).to_numpy(object)
    value = (space_zh + "内连片建设用地 " + pd.Series(_f(patch_mu[pos], 2), dtype=object).to_numpy(object)
             + " 亩（" + pd.Series(_f(size, 0), dtype=object).to_numpy(object) + " 宗）")
    threshold = f"≤ {_g(p.max_patch_mu)} 亩（间距 {_g(p.min_gap_m)} m 内连片）"
    return _hits(pos, "overlay", "patch_area_mu", value, threshold,
                 rule.description_zh, rule.description_en)


def plot_ratio_below_floor(rule: PlotRatioRule, ctx: TagContext) -> pd.DataFrame:
    """Selected land with floor_area_m2 ÷ area_m2 below the floor of ``floor_rule``."""
    p = rule.params
    floor_rule = ctx.profile.rule(p.floor_rule)
    floor = floor_rule.params.floor  # type: ignore[attr-defined]
    fa = pd.to_numeric(ctx.parcels["floor_area_m2"], errors="coerce").to_numpy(float)
    area = pd.to_numeric(ctx.parcels["area_m2"], errors="coerce").to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(area > 0, fa / area, np.nan)
    mask = land_use_mask(ctx.parcels, p.land_use) & ~np.isnan(ratio) & (ratio < floor)
    pos = np.flatnonzero(mask)
    value = "容积率 " + pd.Series(_f(ratio[pos], 2), dtype=object)
    return _hits(pos, "parcel", "floor_area_m2", value, f"< {_g(floor)}（{floor_rule.id}）",
                 rule.description_zh, rule.description_en)


def idle_land(rule: IdleLandRule, ctx: TagContext) -> pd.DataFrame:
    """Idle land under ``definition_rule``, from the idle list and from the parcels' own dates.

    Not started: no actual start (or one after ``as_of``) and the contracted start is
    ``min_years_after_contract_start`` years past. Halted: started, developed share below
    ``min_developed_share`` or invested share below ``min_invested_share``, and halted for
    ``min_halt_years``. Besides the tag hit, the highest idle consequence reached
    (``land_rules.idle_fee`` / ``idle_take_back``, by ``min_idle_years`` counted from the
    contracted start, or from the halt) is added as a hit with that land rule's id.
    """
    d = ctx.profile.rule(rule.params.definition_rule).params  # type: ignore[attr-defined]
    cand = _idle_candidates(ctx)
    if len(cand) == 0:
        return _no_hits()
    as_of = ctx.as_of
    cs, st, halted = cand["contract_start"], cand["actual_start"], cand["halted"]
    not_started = (cs.notna() & (st.isna() | (st > as_of))).to_numpy(bool)
    idle_ns = not_started & reached(cs, as_of, d.min_years_after_contract_start)
    started = (st.notna() & (st <= as_of)).to_numpy(bool)
    low = ((cand["developed"] < d.min_developed_share) | (cand["invested"] < d.min_invested_share)).to_numpy(bool)
    idle_halt = started & low & reached(halted, as_of, d.min_halt_years)
    since = cs.where(idle_ns, halted)
    cand = cand.assign(idle=idle_ns | idle_halt, halted_case=~idle_ns & idle_halt, since=since,
                       years=_years(since, as_of))
    cand = cand[cand["idle"].to_numpy(bool)]
    # one case per parcel: the longest idle spell, the idle list before the parcel's own dates
    cand = cand.sort_values(["pos", "years", "rank"], ascending=[True, False, True], kind="stable")
    cand = cand.drop_duplicates("pos").reset_index(drop=True)
    if len(cand) == 0:
        return _no_hits()
    yrs = pd.Series(_f(cand["years"], 1), dtype=object).to_numpy(object)
    hc = cand["halted_case"].to_numpy(bool)
    value = np.where(
        hc,
        "已开发 " + pd.Series(_pct(cand["developed"])).to_numpy(object) + "、已投资 "
        + pd.Series(_pct(cand["invested"])).to_numpy(object) + "，" + _date(cand["halted"]) + " 停工 " + yrs + " 年",
        "约定开工 " + _date(cand["contract_start"]) + " 未动工，已 " + yrs + " 年",
    )
    threshold = np.where(
        hc,
        f"开发 < {d.min_developed_share:.0%} 或投资 < {d.min_invested_share:.0%}，停工满 {_g(d.min_halt_years)} 年",
        f"约定开工后满 {_g(d.min_years_after_contract_start)} 年未动工",
    )
    frames = [_hits(cand["pos"], cand["kind"], cand["evidence_id"], value, threshold,
                    rule.description_zh, rule.description_en, cand["matched_by"])]
    # consequences: the highest tier reached
    tiers = sorted(_idle_consequences(ctx.profile), key=lambda r: r.params.min_idle_years)
    tier = np.full(len(cand), -1)
    for i, t in enumerate(tiers):
        tier[reached(cand["since"], as_of, t.params.min_idle_years)] = i
    for i, t in enumerate(tiers):
        sel = np.flatnonzero(tier == i)
        if len(sel) == 0:
            continue
        c = cand.iloc[sel]
        fee = ""
        if t.params.fee_share_of_land_price > 0:
            price = pd.to_numeric(c["land_price_wan"], errors="coerce").to_numpy(float)
            fee = np.where(np.isnan(price), "",
                           "；闲置费 " + pd.Series(_f(price * t.params.fee_share_of_land_price, 1)).to_numpy(object) + " 万元")
        frames.append(_hits(
            c["pos"], c["kind"], c["evidence_id"], "闲置 " + yrs[sel] + " 年" + fee,
            f"闲置满 {_g(t.params.min_idle_years)} 年", t.description_zh, t.description_en,
            c["matched_by"], rule_id=t.id, clause=t.clause))
    return pd.concat(frames, ignore_index=True)


def _idle_consequences(profile: Profile) -> list[IdleConsequence]:
    lr = profile.land_rules
    return [r for r in (lr.idle_fee, lr.idle_take_back) if isinstance(r, IdleConsequence)]


def _idle_candidates(ctx: TagContext) -> pd.DataFrame:
    """Idle-land facts per parcel from the idle list (rank 0) and the parcels' own dates (rank 1)."""
    cols = ["pos", "kind", "evidence_id", "matched_by", "rank", "contract_start", "actual_start",
            "developed", "invested", "halted", "land_price_wan"]
    ev = ctx.evidence_of(ctx.idle_source)
    frames = []
    if len(ev):
        links = link_records(ev, ctx)
        links = links[links["matched_by"] != "geometry"]
        e = ev.iloc[links["ev_pos"].to_numpy()].reset_index(drop=True)
        num = lambda f: pd.to_numeric(evidence_field(e, f), errors="coerce").to_numpy(float)  # noqa: E731
        dt = lambda f: pd.to_datetime(evidence_field(e, f), errors="coerce")  # noqa: E731
        cs = pd.to_datetime(e["event_date"], errors="coerce") if "event_date" in e else dt("contract_start_date")
        cs = cs.fillna(dt("contract_start_date"))
        frames.append(pd.DataFrame({
            "pos": links["pos"].to_numpy(), "kind": ctx.idle_source,
            "evidence_id": e["record_id"].astype("string").fillna("").to_numpy(object),
            "matched_by": links["matched_by"].to_numpy(object), "rank": 0,
            "contract_start": cs.to_numpy(), "actual_start": dt("actual_start_date").to_numpy(),
            "developed": num("developed_share"), "invested": num("invested_share"),
            "halted": dt("halted_date").to_numpy(), "land_price_wan": num("land_price_wan"),
        }))
    pa = ctx.parcels
    if "contract_start_date" in pa.columns:
        cs = pd.to_datetime(pa["contract_start_date"], errors="coerce")
        has = np.flatnonzero(cs.notna().to_numpy())
        st = (pd.to_datetime(pa["actual_start_date"], errors="coerce") if "actual_start_date" in pa
              else pd.Series(pd.NaT, index=pa.index))
        frames.append(pd.DataFrame({
            "pos": has, "kind": "parcel", "evidence_id": "contract_start_date", "matched_by": "",
            "rank": 1, "contract_start": cs.to_numpy()[has], "actual_start": st.to_numpy()[has],
            "developed": np.nan, "invested": np.nan, "halted": pd.NaT, "land_price_wan": np.nan,
        }))
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)[cols]
    for c in ("contract_start", "actual_start", "halted"):
        out[c] = pd.to_datetime(out[c], errors="coerce")
    return out


def unsupplied(rule: UnsuppliedRule, ctx: TagContext) -> pd.DataFrame:
    """批而未供: parcels under an unsupplied polygon of ``params.source``, or approved and not supplied.

    A list polygon counts when its unsupplied area (approved − supplied 亩, else its own
    area) is positive and at least ``min_unsupplied_mu`` and its approval is
    ``min_years_since_approval`` years old; it tags the parcels it intersects that have
    no supply date up to ``as_of``. A parcel with an approval date and no supply date
    tags on its own when no list polygon already tagged it.
    """
    p = rule.params
    as_of = ctx.as_of
    pa = ctx.parcels
    supply = (pd.to_datetime(pa["supply_date"], errors="coerce") if "supply_date" in pa
              else pd.Series(pd.NaT, index=pa.index))
    not_supplied = (supply.isna() | (supply > as_of)).to_numpy(bool)
    threshold = (f"未供应；未供面积 > 0 且 ≥ {_g(p.min_unsupplied_mu)} 亩；"
                 f"批准满 {_g(p.min_years_since_approval)} 年")
    frames = []
    ev = ctx.evidence_of(p.source)
    if len(ev) and isinstance(ev, gpd.GeoDataFrame):
        approved = pd.to_numeric(evidence_field(ev, "approved_area_mu"), errors="coerce")
        supplied = pd.to_numeric(evidence_field(ev, "supplied_area_mu"), errors="coerce").fillna(0.0)
        own = pd.to_numeric(ev["area_m2"], errors="coerce") / M2_PER_MU if "area_m2" in ev else np.nan
        left = (approved - supplied).where(approved.notna(), own).to_numpy(float)
        approval = pd.to_datetime(ev["event_date"], errors="coerce")
        ok = (~np.isnan(left) & (left > 0) & (left >= p.min_unsupplied_mu)
              & reached(approval, as_of, p.min_years_since_approval))
        geoms = np.where(ok, ev.geometry.values, None)
        e_idx, pos, overlap = spatial_pairs(geoms, ev.crs, pa, ctx.profile.city.area_crs)
        keep = not_supplied[pos]
        e_idx, pos, overlap = e_idx[keep], pos[keep], overlap[keep]
        e = ev.iloc[e_idx]
        value = ("批准 " + _date(e["event_date"]) + "，未供 " + _f(left[e_idx], 2) + " 亩；重叠 "
                 + _f(overlap / M2_PER_MU, 2) + " 亩")
        frames.append(_hits(pos, p.source, e["record_id"].astype("string").fillna("").to_numpy(object),
                            value, threshold, rule.description_zh + _MATCH_NOTE["geometry"][0],
                            rule.description_en + _MATCH_NOTE["geometry"][1], "geometry"))
    if "approval_date" in pa.columns:
        approval = pd.to_datetime(pa["approval_date"], errors="coerce")
        area_mu = pd.to_numeric(ctx.overlay["area_mu"], errors="coerce").to_numpy(float) if "area_mu" in ctx.overlay \
            else pd.to_numeric(pa["area_m2"], errors="coerce").to_numpy(float) / M2_PER_MU
        mask = (approval.notna() & (approval <= as_of)).to_numpy(bool) & not_supplied \
            & reached(approval, as_of, p.min_years_since_approval) \
            & (area_mu > 0) & (area_mu >= p.min_unsupplied_mu)
        if frames:
            mask[frames[0]["parcel_index"].to_numpy()] = False
        pos = np.flatnonzero(mask)
        value = "批准 " + _date(approval.iloc[pos]) + "，未供应，" + _f(area_mu[pos], 2) + " 亩"
        frames.append(_hits(pos, "parcel", "approval_date", value, threshold,
                            rule.description_zh, rule.description_en))
    return pd.concat(frames, ignore_index=True) if frames else _no_hits()


def evaluation_class(rule: EvaluationClassRule, ctx: TagContext) -> pd.DataFrame:
    """Parcels whose 亩均 class (``parcel_class`` by parcel_code) is one of ``classes``."""
    pc = ctx.parcel_class
    if pc is None or len(pc) == 0:
        return _no_hits()
    classes = list(rule.params.classes)
    pc = pc[pc["class"].isin(classes).to_numpy(bool)]
    i, pos = ctx.positions(pc.index)
    m = pc.iloc[i].assign(pos=pos).drop_duplicates("pos").sort_values("pos")
    firm = (m["firm_uscc"].astype("string") if "firm_uscc" in m else pd.Series(pd.NA, index=m.index, dtype="string"))
    value = "亩均评价 " + m["class"].astype("string") + " 类" + ("（" + firm + "）").fillna("")
    return _hits(m["pos"], "evaluation", firm.fillna("class").to_numpy(object), value.to_numpy(object),
                 f"∈ {{{', '.join(classes)}}}", rule.description_zh, rule.description_en)


RuleFunction = Callable[[Any, TagContext], pd.DataFrame]

#: rule kind → vectorised function (add a kind here and in the profile schema)
RULE_KINDS: dict[str, RuleFunction] = {
    "record_match": record_match,
    "outside_park": outside_park,
    "isolated_patch": isolated_patch,
    "plot_ratio_below_floor": plot_ratio_below_floor,
    "idle_land": idle_land,
    "unsupplied": unsupplied,
    "evaluation_class": evaluation_class,
}


# --------------------------------------------------------------------------- entry points


def tag_parcels(
    parcels: gpd.GeoDataFrame,
    overlay: pd.DataFrame,
    parcel_class: pd.DataFrame,
    firm_parcels: pd.DataFrame,
    evidence: gpd.GeoDataFrame,
    profile: Profile,
    as_of: Any,
    *,
    link_year: int | None = None,
    idle_source: str | None = None,
) -> pd.DataFrame:
    """Every tag rule of ``profile`` on every parcel: one row per (parcel, rule hit).

    ``overlay`` is aligned with ``parcels`` (same index, same order). ``link_year``
    chooses the year of ``firm_parcels`` used to reach parcels by USCC (default: the
    latest year not after ``as_of``). ``idle_source`` is the evidence kind of the idle
    list (default ``params.source`` of the idle rule when the profile has it, else
    ``idle``).

    Columns: :data:`HIT_COLUMNS`. ``tag``, ``tag_key`` and ``rule_id`` are categoricals
    in profile order; rows are sorted by parcel, then rule order. Idle land adds a
    second hit carrying the idle consequence reached (``land.idle.fee`` /
    ``land.idle.take_back``) so disposal rules can match it by id.
    """
    if len(overlay) != len(parcels):
        raise ValueError("overlay must have one row per parcel, in the parcels' order")
    index = parcels.index.to_numpy()
    parcels = parcels.reset_index(drop=True)
    overlay = overlay.reset_index(drop=True)
    if idle_source is None:  # the idle-land rule names its list; a profile without one reads none
        idle_source = next((r.params.source for _, r in profile.tag_rules() if isinstance(r, IdleLandRule)), "")
    ctx = TagContext(parcels=parcels, overlay=overlay, parcel_class=parcel_class,
                     firm_parcels=firm_parcels, evidence=evidence, profile=profile,
                     as_of=pd.Timestamp(as_of), link_year=link_year, idle_source=idle_source)
    frames, rule_order = [], []
    for tag_key, rule in profile.tag_rules():
        hits = RULE_KINDS[rule.kind](rule, ctx)
        rule_order.append(rule.id)
        if isinstance(rule, IdleLandRule):
            rule_order += [r.id for r in sorted(_idle_consequences(profile),
                                                key=lambda r: r.params.min_idle_years)]
        for col, own in (("rule_id", rule.id), ("clause", rule.clause)):
            hits[col] = hits[col].fillna(own) if col in hits else own
        hits["tag_key"] = tag_key
        frames.append(hits)
    out = pd.concat(frames, ignore_index=True)
    keys = list(profile.tags)
    chars = [profile.tags[k].char for k in keys]
    out["tag_key"] = pd.Categorical(out["tag_key"], categories=keys, ordered=True)
    out["tag"] = pd.Categorical.from_codes(out["tag_key"].cat.codes, categories=chars, ordered=True)
    out["rule_id"] = pd.Categorical(out["rule_id"], categories=list(dict.fromkeys(rule_order)), ordered=True)
    out = out.sort_values(["parcel_index", "rule_id"], kind="stable").reset_index(drop=True)
    pos = out["parcel_index"].to_numpy(np.int64)
    out["parcel_key"] = parcels["key"].to_numpy(object)[pos] if "key" in parcels else None
    out["parcel_index"] = index[pos]
    for c in ("clause", "evidence_kind", "evidence_id", "value", "threshold", "note_zh", "note_en", "matched_by"):
        out[c] = out[c].astype(object)
    return out[HIT_COLUMNS]


def summarize_tags(hits: pd.DataFrame, n: int | pd.Index) -> pd.DataFrame:
    """One row per parcel: ``tags`` ("危污低"), one bool column per tag key, ``n_hits`` and
    ``rule_ids`` (';'-joined, rule order).

    ``n`` is the number of parcels (``parcel_index`` is then 0..n-1, the parcels'
    RangeIndex) or the parcels' index itself. Tag keys and their order come from the
    categorical ``tag_key`` of :func:`tag_parcels` (so every tag has a column even
    without hits); for plain columns, first-seen order.
    """
    if isinstance(n, pd.Index):
        index = n
        pos = index.get_indexer(hits["parcel_index"])
        if (pos < 0).any():
            raise KeyError("hits name parcels that are not in the index")
        n = len(index)
    else:
        index = pd.RangeIndex(n)
        pos = hits["parcel_index"].to_numpy(np.int64)
    keys, key_codes = _codes(hits["tag_key"])
    if isinstance(hits["tag"].dtype, pd.CategoricalDtype) and isinstance(hits["tag_key"].dtype, pd.CategoricalDtype):
        chars_of = dict(zip(hits["tag_key"].cat.categories, hits["tag"].cat.categories, strict=True))
    else:
        pairs = hits[["tag_key", "tag"]].drop_duplicates("tag_key")
        chars_of = dict(zip(pairs["tag_key"], pairs["tag"], strict=True))
    out = pd.DataFrame(index=index)
    out["tags"] = _combo_text(pos, key_codes, [chars_of.get(k, str(k)) for k in keys], n, "")
    for i, k in enumerate(keys):
        col = np.zeros(n, dtype=bool)
        col[pos[key_codes == i]] = True
        out[k] = col
    out["n_hits"] = np.bincount(pos, minlength=n).astype(np.int64)
    rules, rule_codes = _codes(hits["rule_id"])
    out["rule_ids"] = _combo_text(pos, rule_codes, [str(r) for r in rules], n, ";")
    return out


def _codes(s: pd.Series) -> tuple[list[Any], np.ndarray]:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return list(s.cat.categories), s.cat.codes.to_numpy(np.int64)
    codes, uniques = pd.factorize(s, sort=False)
    return list(uniques), codes.astype(np.int64)


def _combo_text(pos: np.ndarray, codes: np.ndarray, labels: list[str], n: int, sep: str) -> np.ndarray:
    """Per parcel, the labels present (in label order) joined by ``sep``; "" when none.

    Each parcel's set of labels becomes a bit mask (words of 52 bits, summed exactly in
    float64 by ``bincount``); only the distinct masks are turned into text, so the cost
    does not grow with the number of parcels.
    """
    out = np.full(n, "", dtype=object)
    if len(pos) == 0:
        return out
    L = max(len(labels), 1)
    pair = pd.unique(pos.astype(np.int64) * L + codes)  # hashed: no sort of the hits
    p, c = pair // L, pair % L
    words = (len(labels) + _BITS - 1) // _BITS
    masks = np.stack([np.bincount(p[c // _BITS == w], weights=np.ldexp(1.0, c[c // _BITS == w] % _BITS),
                                  minlength=n).astype(np.int64) for w in range(words)], axis=1)
    if words == 1:
        inv, uniq = pd.factorize(masks[:, 0])
    else:
        uniq, inv = np.unique(masks, axis=0, return_inverse=True)
    uniq = np.asarray(uniq).reshape(len(uniq), words)
    texts = np.array([sep.join(labels[w * _BITS + b] for w in range(words) for b in range(_BITS)
                               if w * _BITS + b < len(labels) and int(row[w]) >> b & 1) for row in uniq],
                     dtype=object)
    return texts[np.asarray(inv).ravel()]


#: bits per mask word: sums of distinct powers of two below 2**52 are exact in float64
_BITS = 52
