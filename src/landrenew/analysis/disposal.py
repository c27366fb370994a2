"""Step 5 of the analysis: a disposal path per case, with its priority and estimated yield.

Pure and vectorised: no I/O, no Python loop over cases or parcels (only over the handful of
rules, conditions, tags and quota rules of the profile). Every number — the decision table,
priority weights and class severities, quota rates, grain per 亩, thresholds — comes from the
profile or from keyword arguments standing in for profile keys it does not have yet.

Cases
-----
A case is a 连片 unit of two or more flagged parcels (``case_id`` ``U<unit id>``, all members
together) or a flagged parcel (``n_hits`` > 0) that is in no such unit (``P<parcel index>``).

How a unit combines its members' facts
--------------------------------------
* ``tags`` and tag / land rules that fired (``rules_any``): the **union** over members.
* ``space``, ``district_code``, 亩均 ``class`` and planned use: the value holding **most area**
  (ties: ecological > agricultural > urban for space, then the first code).
* ``in_park`` / ``in_industrial_line``: the unit's **area-weighted share** inside the park /
  line layer against the same threshold a parcel is held to (the park share of the
  ``outside_park`` tag rule, else ``control_lines.space_min_share``).
* abilities — ``reclaimable``, ``conforms_to_plan``, ``rectifiable`` — hold for the unit only
  if they hold for **every** member (three-valued: any member false → false; else any
  unknown → unknown). A unit is reclaimed to farmland only when all of it can be.
* priority: ``class_severity`` of the unit's class; ``ecological_sensitivity`` area-weighted.

Derived conditions
------------------
* ``reclaimable`` (per parcel): construction land (of ``land_rules.reclaimable.params.land_use``,
  or the ``reclaimable_land_use`` override) in agricultural
  space, less than ``space_min_share`` inside the urban development boundary, and with no hit
  of ``land_rules.reclaimable.params.exclude_rules`` (e.g. contaminated sites; the
  ``reclaim_exclude_rules`` override). A parcel without a space (no geometry) is unknown.
* ``planned_use`` (per parcel): the key of ``land_rules.planning.params.uses`` whose 用地用海
  prefix (longest first) matches the overlay's ``planned_code`` (the detailed-plan zone holding
  most of the parcel); unknown where no plan zone covers it. The keyword overrides.
* ``conforms_to_plan`` (per parcel): false when at least ``space_min_share`` of it lies in the
  layers of ecological or agricultural space (red line, permanent basic farmland), where
  construction is barred; else, where a plan zone covers it, whether its current 用地用海
  code (``ydyh_code``, or the crosswalk of its DLBM) agrees with the planned code on the
  first ``conform_digits`` digits — or, for land with nothing built on it (``unbuilt``: vacant
  land, farmland), whether its planned use is one of ``build_uses``; else true in urban space and **unknown** elsewhere
  (agricultural space outside every line, where village plans decide). The keyword overrides.
* ``rectifiable`` (per parcel; per firm in :func:`recommend_firms`): from the list entries
  behind its hits that carry a ``rectifiable`` field (the 危 and 污 lists): false when any
  says no, true when all say yes, **unknown** when one is not judged or none carries the field.
  The keyword overrides.
* A rule needing an unknown fact does not match; the reason of the case names the earlier
  rules left undecided and the facts they lacked.

Decision table
--------------
For each rule of ``profile.disposal.rules_for("parcel")`` a mask over all cases (every given
condition must hold); the first matching rule per case wins (``argmax`` over the stacked
masks). A case no rule matches gets ``matched`` false, ``path`` NA, ``path_zh`` 无匹配规则 and
a reason listing its facts.

Priority (0–100)
----------------
``Σ weight_k × component_k`` with the profile's weights (sum 100) and components in [0, 1];
each term is kept as ``priority_<k>``. Components: ``tag_count`` (distinct tags ÷ tags in the
profile), a tag key or tag keys joined by ``_or_`` (1 when the case has any of them, e.g.
``danger_or_pollution``), ``class_severity`` (profile map; no class → 0),
``ecological_sensitivity`` (area-weighted share inside the red line or permanent basic
farmland layers), ``area`` (percentile rank of the case area among all cases, largest = 1).

Yield
-----
From the quota rules named by the winning rule's ``yields_quota`` (plus ``extra_yields``):
``quota.linkage`` → ``construction_quota_mu`` = construction-land 亩 × ``quota_per_accepted_mu``
(an estimate: it counts once the reclamation is accepted); a balance kind → construction-land
亩 × ``per_mu`` (``quantity`` → ``cultivated_mu``, 1 亩 per 亩 when ``per_mu`` is not given;
``paddy`` → ``paddy_mu``; ``grain_capacity`` → ``grain_kg``; a kind without ``per_mu`` other
than quantity is not estimated, 0); ``quota.stock_linkage`` → ``stock_linkage_mu`` = case 亩 ×
``quota_per_unsupplied_mu`` or ``quota_per_idle_mu`` (by the kind of the tag / land rule the
disposal rule names; the district-level supply-rate floor is not applied per case).
``vacated_mu`` (腾退空间) = case 亩 for rules whose ``params.vacates`` is true (or named by the
``vacating_rules`` override).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from landrenew.analysis.tags import evidence_field, land_use_mask
from landrenew.codes.landuse import dlbm_to_ydyh
from landrenew.policy.schema import (
    DisposalRule,
    IdleConsequence,
    IdleLandRule,
    LandUseSelector,
    OutsideParkRule,
    PlanningParams,
    Profile,
    UnsuppliedRule,
)

#: columns of :func:`recommend`, in order (then one ``priority_<component>`` per weight)
CASE_COLUMNS = [
    "case_id", "unit_id", "n_parcels", "parcel_keys", "district_code", "area_mu", "construction_mu",
    "space", "class", "tags", "matched", "family", "family_zh", "family_en", "path", "path_zh",
    "path_en", "rule_id", "clause", "reason_zh", "reason_en", "priority",
]
#: estimated yield columns of :func:`recommend`
YIELD_COLUMNS = ["vacated_mu", "cultivated_mu", "paddy_mu", "grain_kg", "construction_quota_mu",
                 "stock_linkage_mu"]
#: columns of :func:`recommend_firms`
FIRM_COLUMNS = ["uscc", "name", "district_code", "class", "tags", "matched", "family", "path",
                "path_zh", "path_en", "rule_id", "clause", "reason_zh", "reason_en", "actions_zh",
                "actions_en"]
#: balance-quota kind → output column (other kinds get ``quota_<kind>``)
BALANCE_COLUMN = {"quantity": "cultivated_mu", "paddy": "paddy_mu", "grain_capacity": "grain_kg"}
#: spaces of 三区三线 in precedence order (a tie in area goes to the earlier)
SPACES = ("ecological", "agricultural", "urban")
_SPACE_ZH = {"ecological": "生态空间", "agricultural": "农业空间", "urban": "城镇空间"}
_SPACE_EN = {"ecological": "ecological space", "agricultural": "agricultural space",
             "urban": "urban space"}
_NO_RULE_ZH, _NO_RULE_EN = "无匹配规则", "no rule matched"
#: the three-valued facts a rule may test
_TRI = ("in_park", "in_industrial_line", "conforms_to_plan", "reclaimable", "rectifiable")
_LABEL = {
    "in_park": ("在园区内", "in a park"),
    "in_industrial_line": ("在工业用地保障线内", "inside the industrial protection line"),
    "conforms_to_plan": ("符合规划", "conforms to the plan"),
    "reclaimable": ("可复垦为耕地", "reclaimable to cultivated land"),
    "rectifiable": ("可就地整改", "rectifiable in place"),
    "planned_use_any": ("规划用途", "planned use"),
    "space_any": ("空间", "space"),
    "class_any": ("亩均等级", "per-mu class"),
}


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class _Settings:
    """What the steps read from the profile (and from keywords standing in for missing keys)."""

    profile: Profile
    tag_keys: list[str]
    tag_chars: list[str]
    space_min_share: float
    park_col: str | None
    park_min: float
    line_col: str | None
    urban_cols: list[str]
    protected_cols: list[str]
    reclaim_selector: LandUseSelector | None
    reclaim_exclude: list[str]
    vacating: frozenset[str]
    extra_yields: dict[str, list[str]]
    balance_per_mu: dict[str, float]
    planning: PlanningParams | None


def _settings(profile: Profile, *, reclaimable_land_use: LandUseSelector | Mapping | None = None,
              reclaim_exclude_rules: Collection[str] | None = None, vacating_rules: Collection[str] | None = None,
              extra_yields: Mapping[str, Sequence[str]] | None = None,
              balance_per_mu: Mapping[str, float] | None = None) -> _Settings:
    cl = profile.land_rules.control_lines.params
    park_kind, park_min = None, cl.space_min_share
    for _, rule in profile.tag_rules():
        if isinstance(rule, OutsideParkRule):
            park_kind, park_min = rule.params.park_layer, rule.params.min_inside_share
            break
    park_kind = park_kind or cl.layers.get("industrial_park")
    line_kind = cl.layers.get("industrial_line")
    spaces = cl.spaces
    # the profile's land.reclaimable and params.vacates, unless overridden by keyword
    own = profile.land_rules.reclaimable.params
    selector = reclaimable_land_use if reclaimable_land_use is not None else own.land_use
    if isinstance(selector, Mapping):
        selector = LandUseSelector(**selector)
    if reclaim_exclude_rules is None:
        reclaim_exclude_rules = list(own.exclude_rules)
    planning = profile.land_rules.planning
    rules = profile.disposal.rules
    vacating = frozenset(vacating_rules if vacating_rules is not None else (r.id for r in rules if r.params.vacates))
    for rid in [*(reclaim_exclude_rules or ()), *(extra_yields or {})]:
        if not profile.has_rule(rid):
            raise KeyError(f"no rule {rid!r} in profile {profile.id}")
    return _Settings(
        profile=profile,
        tag_keys=list(profile.tags),
        tag_chars=[t.char for t in profile.tags.values()],
        space_min_share=cl.space_min_share,
        park_col=f"share_{park_kind}" if park_kind else None,
        park_min=park_min,
        line_col=f"share_{line_kind}" if line_kind else None,
        urban_cols=[f"share_{k}" for k in spaces.get("urban", [])],
        protected_cols=[f"share_{k}" for s in ("ecological", "agricultural") for k in spaces.get(s, [])],
        reclaim_selector=selector,
        reclaim_exclude=list(reclaim_exclude_rules or ()),
        vacating=vacating,
        extra_yields={k: list(v) for k, v in (extra_yields or {}).items()},
        balance_per_mu=dict(balance_per_mu or {}),
        planning=planning.params if planning else None,
    )


# --------------------------------------------------------------------------- member facts


@dataclass
class _Members:
    """Facts of the member parcels (one row per member; positions are rows)."""

    n: int
    area: np.ndarray
    construction: np.ndarray
    space: np.ndarray            # code into SPACES, -1 unknown
    klass: np.ndarray            # object, None unknown
    district: np.ndarray         # object, None unknown
    planned: np.ndarray          # object, None unknown
    shares: dict[str, np.ndarray]  # in_park / in_industrial_line / protected (NaN unknown)
    tri: dict[str, np.ndarray]   # float 1 / 0 / NaN
    given: dict[str, np.ndarray]  # bool: the tri value came from a keyword
    fails: dict[str, dict[str, np.ndarray]]  # tri fact → criterion → bool (why false)
    fit: dict[str, np.ndarray] = field(default_factory=dict)  # balance kind → bool (overlay fit_<kind>)


def _tri_from(series: pd.Series | None, index: pd.Index, pos: np.ndarray) -> np.ndarray:
    """A per-parcel boolean keyword (aligned with ``index``) as 1 / 0 / NaN for ``pos``."""
    if series is None:
        return np.full(len(pos), np.nan)
    s = series.reindex(index) if not series.index.equals(index) else series
    v = s.astype("boolean").to_numpy(dtype=float, na_value=np.nan)
    return v[pos]


def _col(frame: pd.DataFrame, name: str | None, pos: np.ndarray, default: float = np.nan) -> np.ndarray:
    if name is None or name not in frame.columns:
        return np.full(len(pos), default)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)[pos]


def _objects(s: pd.Series, pos: np.ndarray | None = None) -> np.ndarray:
    """A column as an object array with None for missing."""
    arr = s.astype(object).to_numpy(dtype=object)
    arr = np.where(pd.isna(arr), None, arr)
    return arr if pos is None else arr[pos]


def _parcel_members(parcels: pd.DataFrame, overlay: pd.DataFrame, parcel_class: pd.DataFrame | None,
                    pos: np.ndarray, hit_rules: Any, cfg: _Settings, *,
                    conforms_to_plan: pd.Series | None, rectifiable: pd.Series | None,
                    planned_use: pd.Series | None, derived_rectifiable: np.ndarray) -> _Members:
    """Facts of the parcels at positions ``pos``; ``hit_rules(rule_id)`` → bool per member."""
    m = len(pos)
    area = np.nan_to_num(_col(overlay, "area_mu", pos), nan=0.0).clip(min=0.0)
    construction = (overlay["is_construction"].astype("boolean").fillna(False).to_numpy(bool)[pos]
                    if "is_construction" in overlay else np.zeros(m, dtype=bool))
    space_obj = (_objects(overlay["space"], pos) if "space" in overlay
                 else np.full(m, None, dtype=object))
    space = np.full(m, -1, dtype=np.int64)
    for i, s in enumerate(SPACES):
        space[space_obj == s] = i
    klass = np.full(m, None, dtype=object)
    if parcel_class is not None and len(parcel_class) and "parcel_code" in parcels:
        codes = parcels["parcel_code"].astype(object).to_numpy(dtype=object)[pos]
        lookup = parcel_class["class"]
        lookup = lookup[~lookup.index.duplicated()]
        klass = _objects(pd.Series(codes, dtype=object).map(lookup))
    district = (_objects(parcels["district_code"], pos) if "district_code" in parcels
                else np.full(m, None, dtype=object))
    planned_code = (_objects(overlay["planned_code"], pos) if "planned_code" in overlay
                    else np.full(m, None, dtype=object))
    planned = (_objects(planned_use.reindex(parcels.index), pos) if planned_use is not None
               else _planned_keys(planned_code, cfg.planning.uses if cfg.planning else {}))

    def share_sum(cols: list[str]) -> np.ndarray:
        if not cols:
            return np.zeros(m)
        return np.clip(np.sum([np.nan_to_num(_col(overlay, c, pos), nan=0.0) for c in cols], axis=0),
                       0.0, 1.0)

    shares = {"in_park": _col(overlay, cfg.park_col, pos),
              "in_industrial_line": _col(overlay, cfg.line_col, pos),
              "protected": share_sum(cfg.protected_cols)}
    known_geo = space >= 0
    urban_share = share_sum(cfg.urban_cols)
    in_urban_boundary = urban_share >= cfg.space_min_share
    protected = shares["protected"] >= cfg.space_min_share

    # reclaimable: construction land (of the selector) in agricultural space, outside the urban
    # boundary, not excluded (e.g. contaminated site)
    land_ok = construction.copy()
    if cfg.reclaim_selector is not None:
        land_ok &= land_use_mask(parcels.iloc[pos], cfg.reclaim_selector)
    excluded = np.zeros(m, dtype=bool)
    for rid in cfg.reclaim_exclude:
        excluded |= hit_rules(rid)
    agri = space == SPACES.index("agricultural")
    fails_r = {"not_construction": ~construction, "land_use": construction & ~land_ok,
               "not_agricultural": known_geo & ~agri, "urban_boundary": in_urban_boundary,
               "excluded": excluded}
    reclaim = np.where(known_geo, (land_ok & agri & ~in_urban_boundary & ~excluded).astype(float), np.nan)
    reclaim[~construction | excluded] = 0.0  # known false even without a space

    # conforms to the plan: 三区三线 first, then the detailed plan's use, else urban space
    conform = np.full(m, np.nan)
    conform[known_geo & (space == SPACES.index("urban"))] = 1.0
    zoned = planned_code != None  # noqa: E711
    if zoned.any() and cfg.planning is not None:
        plan = cfg.planning
        d = plan.conform_digits
        current = _current_ydyh(parcels, pos)
        known = zoned & (current != None)  # noqa: E711
        agree = (pd.Series(current[known], dtype="string").str[:d].to_numpy(object)
                 == pd.Series(planned_code[known], dtype="string").str[:d].to_numpy(object))
        conform[known] = agree.astype(float)
        conform[zoned & ~known] = np.nan
        if plan.unbuilt is not None:  # nothing built yet: the plan only has to allow building
            unbuilt = zoned & land_use_mask(parcels.iloc[pos], plan.unbuilt)
            buildable = np.isin(_planned_keys(planned_code, plan.uses), plan.build_uses)
            conform[unbuilt] = buildable[unbuilt].astype(float)
    mismatch = zoned & (conform == 0.0)
    conform[protected] = 0.0
    fails_c = {"protected": protected, "planned_use": mismatch & ~protected}

    tri = {"in_park": _threshold(shares["in_park"], cfg.park_min),
           "in_industrial_line": _threshold(shares["in_industrial_line"], cfg.space_min_share),
           "reclaimable": reclaim, "conforms_to_plan": conform,
           "rectifiable": derived_rectifiable}
    given = {k: np.zeros(m, dtype=bool) for k in _TRI}
    for name, series in (("conforms_to_plan", conforms_to_plan), ("rectifiable", rectifiable)):
        v = _tri_from(series, parcels.index, pos)
        has = ~np.isnan(v)
        tri[name] = np.where(has, v, tri[name])
        given[name] = has
    fit = {c[4:]: overlay[c].astype("boolean").fillna(False).to_numpy(bool)[pos]
           for c in overlay.columns if c.startswith("fit_")}
    return _Members(n=m, area=area, construction=construction, space=space, klass=klass,
                    district=district, planned=planned, shares=shares, tri=tri, given=given,
                    fails={"reclaimable": fails_r, "conforms_to_plan": fails_c}, fit=fit)


def _planned_keys(codes: np.ndarray, uses: Mapping[str, Sequence[str]]) -> np.ndarray:
    """The planned-use key of each 用地用海 code: the longest matching prefix wins; None if none."""
    out = np.full(len(codes), None, dtype=object)
    if not uses or not len(codes):
        return out
    text = pd.Series(codes, dtype="string")
    best = np.zeros(len(codes), dtype=np.int64)
    for key, prefixes in uses.items():
        for prefix in prefixes:
            hit = text.str.startswith(prefix, na=False).to_numpy(bool) & (len(prefix) > best)
            out[hit], best[hit] = key, len(prefix)
    return out


def _current_ydyh(parcels: pd.DataFrame, pos: np.ndarray) -> np.ndarray:
    """Current 用地用海 code of the parcels at ``pos``: their own, else the DLBM crosswalk."""
    own = (parcels["ydyh_code"].astype("string") if "ydyh_code" in parcels
           else pd.Series(pd.NA, index=parcels.index, dtype="string"))
    if "dlbm" in parcels:
        own = own.fillna(dlbm_to_ydyh(parcels["dlbm"]).astype("string"))
    return _objects(own, pos)


def hit_rectifiable(tag_hits: pd.DataFrame, evidence: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """Per tag hit: whether its list entry says it can be fixed in place (1 / 0 / NaN = not
    judged) and whether the entry carries that field at all."""
    n = len(tag_hits) if tag_hits is not None else 0
    value, bears = np.full(n, np.nan), np.zeros(n, dtype=bool)
    if not n or evidence is None or not len(evidence) or "attrs" not in evidence:
        return value, bears
    carries = evidence["attrs"].map(lambda a: isinstance(a, dict) and "rectifiable" in a).to_numpy(bool)
    if not carries.any():
        return value, bears
    ev = evidence[carries]
    flag = evidence_field(ev, "rectifiable").astype("boolean").to_numpy(dtype=float, na_value=np.nan)
    entry = pd.Index(ev["kind"].astype(str) + "\x1f" + ev["record_id"].astype(str))
    key = (tag_hits["evidence_kind"].astype(str) + "\x1f" + tag_hits["evidence_id"].astype(str)).to_numpy(object)
    j = entry.get_indexer(key) if entry.is_unique else pd.Index(entry).drop_duplicates().get_indexer(key)
    bears = j >= 0
    value[bears] = flag[j[bears]]
    return value, bears


def _all_of(group: np.ndarray, value: np.ndarray, n: int) -> np.ndarray:
    """Three-valued AND per group of 1 / 0 / NaN values: 0 if any is 0, else NaN if any is NaN
    (or the group has none), else 1."""
    out = np.full(n, np.nan)
    if not len(group):
        return out
    has = np.bincount(group, minlength=n) > 0
    false = np.bincount(group, weights=(value == 0.0), minlength=n) > 0
    unknown = np.bincount(group, weights=np.isnan(value), minlength=n) > 0
    out[has & ~unknown] = 1.0
    out[false] = 0.0
    return out


def _threshold(share: np.ndarray, least: float) -> np.ndarray:
    out = (share >= least).astype(float)
    out[np.isnan(share)] = np.nan
    return out


# --------------------------------------------------------------------------- case facts


@dataclass
class _Facts:
    """Facts per case (rows are cases), as the decision table reads them."""

    n: int
    tags: np.ndarray                 # n × tags bool, profile order
    tag_text: np.ndarray             # "危污低"
    rule_case: np.ndarray            # (case, rule id) pairs that fired
    rule_id: np.ndarray
    space: np.ndarray                # object, None unknown
    klass: np.ndarray
    planned: np.ndarray
    tri: dict[str, np.ndarray]
    share: dict[str, np.ndarray]
    thresholds: dict[str, float]
    counts: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # tri → true/false/unknown/given
    fails: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)   # tri → criterion → count
    multi: np.ndarray | None = None   # case of several members (majority notes)
    _cache: dict[str, np.ndarray] = field(default_factory=dict)

    def has_rule(self, rid: str) -> np.ndarray:
        if rid not in self._cache:
            out = np.zeros(self.n, dtype=bool)
            out[self.rule_case[self.rule_id == rid]] = True
            self._cache[rid] = out
        return self._cache[rid]


def _majority(case: np.ndarray, code: np.ndarray, k: int, weight: np.ndarray, n: int) -> np.ndarray:
    """Per case, the code (0..k-1) holding the most weight (by count where weights are 0); -1 if none."""
    ok = code >= 0
    if k == 0:
        return np.full(n, -1, dtype=np.int64)
    key = case[ok] * k + code[ok]
    w = np.bincount(key, weights=weight[ok], minlength=n * k).reshape(n, k)
    c = np.bincount(key, minlength=n * k).reshape(n, k)
    best = np.where(w.max(axis=1, keepdims=True) > 0, w, c).argmax(axis=1)
    return np.where(c.sum(axis=1) > 0, best, -1)


def _majority_obj(case: np.ndarray, values: np.ndarray, weight: np.ndarray, n: int) -> np.ndarray:
    codes, uniq = pd.factorize(pd.Series(values, dtype=object), sort=True)
    best = _majority(case, codes.astype(np.int64), len(uniq), weight, n)
    out = np.full(n, None, dtype=object)
    out[best >= 0] = np.asarray(uniq, dtype=object)[best[best >= 0]]
    return out


def _all3(case: np.ndarray, tri: np.ndarray, n: int) -> np.ndarray:
    """Three-valued AND per case: any false → 0, else any unknown → NaN, else 1 (no member → NaN)."""
    false = np.bincount(case, weights=tri == 0, minlength=n) > 0
    unknown = np.bincount(case, weights=np.isnan(tri), minlength=n) > 0
    members = np.bincount(case, minlength=n) > 0
    return np.where(false, 0.0, np.where(unknown | ~members, np.nan, 1.0))


def _wshare(case: np.ndarray, share: np.ndarray, area: np.ndarray, n: int) -> np.ndarray:
    """Area-weighted share per case over members with a known share (plain mean when area is 0)."""
    ok = ~np.isnan(share)
    a = np.bincount(case[ok], weights=area[ok], minlength=n)
    s = np.bincount(case[ok], weights=(share * area)[ok], minlength=n)
    k = np.bincount(case[ok], minlength=n)
    mean = np.bincount(case[ok], weights=share[ok], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(a > 0, s / a, np.where(k > 0, mean / np.maximum(k, 1), np.nan))


def _tag_text(tags: np.ndarray, chars: list[str]) -> np.ndarray:
    """Per row, the chars of the tags it has, in profile order ("危污低"); via distinct bit masks."""
    if tags.shape[1] == 0:
        return np.full(len(tags), "", dtype=object)
    bits = (tags.astype(np.int64) << np.arange(tags.shape[1], dtype=np.int64)).sum(axis=1)
    uniq, inv = np.unique(bits, return_inverse=True)
    text = np.array(["".join(c for i, c in enumerate(chars) if int(u) >> i & 1) for u in uniq], dtype=object)
    return text[inv.ravel()]


def _case_facts(mem: _Members, case: np.ndarray, n: int, tags: np.ndarray, rule_case: np.ndarray,
                rule_id: np.ndarray, cfg: _Settings) -> _Facts:
    """Combine member facts into case facts (see the module docstring)."""
    area = mem.area
    space_code = _majority(case, mem.space, len(SPACES), area, n)
    space = np.full(n, None, dtype=object)
    space[space_code >= 0] = np.asarray(SPACES, dtype=object)[space_code[space_code >= 0]]
    share = {k: _wshare(case, mem.shares[k], area, n) for k in ("in_park", "in_industrial_line")}
    tri = {"in_park": _threshold(share["in_park"], cfg.park_min),
           "in_industrial_line": _threshold(share["in_industrial_line"], cfg.space_min_share)}
    counts: dict[str, dict[str, np.ndarray]] = {}
    for k in ("conforms_to_plan", "reclaimable", "rectifiable"):
        tri[k] = _all3(case, mem.tri[k], n)
        v = mem.tri[k]
        counts[k] = {"true": np.bincount(case, weights=v == 1, minlength=n).astype(np.int64),
                     "false": np.bincount(case, weights=v == 0, minlength=n).astype(np.int64),
                     "unknown": np.bincount(case, weights=np.isnan(v), minlength=n).astype(np.int64),
                     "given": np.bincount(case, weights=mem.given[k], minlength=n).astype(np.int64)}
    fails = {k: {c: np.bincount(case, weights=f, minlength=n).astype(np.int64) for c, f in d.items()}
             for k, d in mem.fails.items()}
    size = np.bincount(case, minlength=n)
    return _Facts(
        n=n, tags=tags, tag_text=_tag_text(tags, cfg.tag_chars), rule_case=rule_case,
        rule_id=rule_id, space=space, klass=_majority_obj(case, mem.klass, area, n),
        planned=_majority_obj(case, mem.planned, area, n), tri=tri, share=share,
        thresholds={"in_park": cfg.park_min, "in_industrial_line": cfg.space_min_share},
        counts=counts, fails=fails, multi=size > 1,
    )


# --------------------------------------------------------------------------- decision table


def _condition(facts: _Facts, name: str, value: Any, cfg: _Settings) -> tuple[np.ndarray, np.ndarray]:
    """(holds, unknown) of one ``when`` condition over all cases."""
    n = facts.n
    none = np.zeros(n, dtype=bool)
    if name == "space_any":
        return np.isin(facts.space, list(value)), facts.space == None  # noqa: E711
    if name in ("tags_any", "tags_all", "tags_none"):
        cols = [cfg.tag_keys.index(t) for t in value]
        sub = facts.tags[:, cols] if cols else np.zeros((n, 0), dtype=bool)
        if name == "tags_any":
            return sub.any(axis=1), none
        if name == "tags_all":
            return sub.all(axis=1), none
        return ~sub.any(axis=1), none
    if name == "rules_any":
        out = none.copy()
        for rid in value:
            out |= facts.has_rule(rid)
        return out, none
    if name == "class_any":  # a case without a rated firm simply has no class: not unknown
        return np.isin(facts.klass, list(value)), none
    if name == "planned_use_any":
        return np.isin(facts.planned, list(value)), facts.planned == None  # noqa: E711
    if name in _TRI:
        v = facts.tri[name]
        return v == (1.0 if value else 0.0), np.isnan(v)
    raise ValueError(f"unsupported disposal condition {name!r}")


def _conditions(rule: DisposalRule) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in rule.when.model_dump().items() if v is not None]


def decide(rules: Sequence[DisposalRule], facts: _Facts, cfg: _Settings
           ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], list[dict[str, np.ndarray]]]:
    """Winner per case (index into ``rules``, -1 none), matched mask, and per rule the cases it
    would match if its unknown facts held, with the unknown mask of each of its conditions."""
    n = facts.n
    holds = np.zeros((n, max(len(rules), 1)), dtype=bool)
    blocked, unknowns = [], []
    for j, rule in enumerate(rules):
        ok = np.ones(n, dtype=bool)
        maybe = np.ones(n, dtype=bool)
        unk = np.zeros(n, dtype=bool)
        per: dict[str, np.ndarray] = {}
        for name, value in _conditions(rule):
            h, u = _condition(facts, name, value, cfg)
            ok &= h
            maybe &= h | u
            unk |= u & ~h
            if u.any():
                per[name] = u
        holds[:, j] = ok
        blocked.append(maybe & unk & ~ok)
        unknowns.append(per)
    matched = holds.any(axis=1) if len(rules) else np.zeros(n, dtype=bool)
    winner = np.where(matched, holds.argmax(axis=1), -1)
    return winner, matched, blocked, unknowns


# --------------------------------------------------------------------------- texts


def _pct(x: np.ndarray) -> np.ndarray:
    out = np.char.mod("%.0f%%", np.nan_to_num(np.asarray(x, dtype=float) * 100)).astype(object)
    out[np.isnan(np.asarray(x, dtype=float))] = "—"
    return out


def _g(x: float) -> str:
    return f"{x:g}"


def _yes(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    zh = np.where(np.isnan(v), "未知", np.where(v == 1, "是", "否")).astype(object)
    en = np.where(np.isnan(v), "unknown", np.where(v == 1, "yes", "no")).astype(object)
    return zh, en


_BASIS = {
    "reclaimable": {
        1.0: ("农业空间内、城镇开发边界外的建设用地，且非排除对象", "construction land in agricultural space, outside the urban boundary, not excluded"),
    },
    "conforms_to_plan": {
        1.0: ("现状用途符合详细规划用途，或位于城镇空间", "current use agrees with the detailed plan, or in urban space"),
    },
    "rectifiable": {
        1.0: ("清单认定问题均可就地整改", "the lists judge every problem fixable in place"),
        0.0: ("清单认定有问题无法就地整改", "a list judges a problem not fixable in place"),
    },
}
_FAIL_TEXT = {
    "not_construction": ("非建设用地", "not construction land"),
    "land_use": ("非可复垦地类", "land use not reclaimable"),
    "not_agricultural": ("不在农业空间", "not in agricultural space"),
    "urban_boundary": ("在城镇开发边界内", "inside the urban boundary"),
    "excluded": ("命中排除规则（如污染地块）", "hit an excluding rule (e.g. contaminated site)"),
    "protected": ("位于生态保护红线或永久基本农田内", "inside the red line or basic farmland"),
    "planned_use": ("现状用途与详细规划用途不一致", "current use differs from the detailed plan's use"),
}


def _tri_text(facts: _Facts, name: str, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``符合规划 = 否（…；2/3 宗）`` for the cases ``sel``."""
    v = facts.tri[name][sel]
    yz, ye = _yes(v)
    lz, le = _LABEL[name]
    zh = (lz + " = " + yz).astype(object)
    en = (le + " = " + ye).astype(object)
    if name in ("in_park", "in_industrial_line"):
        thr = _g(facts.thresholds[name] * 100) + "%"
        s = _pct(facts.share[name][sel])
        return zh + "（面积占比 " + s + "，阈值 " + thr + "）", en + " (area share " + s + ", threshold " + thr + ")"
    bz = np.full(len(sel), "", dtype=object)
    be = np.full(len(sel), "", dtype=object)
    for value, (tz, te) in _BASIS.get(name, {}).items():
        bz = np.where(v == value, tz, bz)
        be = np.where(v == value, te, be)
    if name in facts.fails:
        for crit, count in facts.fails[name].items():
            c = count[sel]
            fz, fe = _FAIL_TEXT[crit]
            show = (v == 0) & (c > 0)
            bz = np.where(show, bz + np.where(bz == "", "", "、") + fz + " " + c.astype(str).astype(object) + " 宗", bz)
            be = np.where(show, be + np.where(be == "", "", ", ") + fe + " (" + c.astype(str).astype(object) + ")", be)
    cnt = facts.counts.get(name)
    if cnt is not None:
        size = (cnt["true"] + cnt["false"] + cnt["unknown"])[sel]
        multi = size > 1
        mix_z = np.full(len(sel), "", dtype=object)
        mix_e = np.full(len(sel), "", dtype=object)
        for key, wz, we in (("true", "是", "yes"), ("false", "否", "no"), ("unknown", "未知", "unknown")):
            c = cnt[key][sel]
            show = multi & (c > 0)
            cs = c.astype(str).astype(object)
            mix_z = np.where(show, mix_z + np.where(mix_z == "", "", " ") + wz + " " + cs, mix_z)
            mix_e = np.where(show, mix_e + np.where(mix_e == "", "", ", ") + we + " " + cs, mix_e)
        bz = np.where(multi, bz + np.where(bz == "", "", "；") + "各宗：" + mix_z, bz)
        be = np.where(multi, be + np.where(be == "", "", "; ") + "parcels: " + mix_e, be)
        given = cnt["given"][sel] > 0
        bz = np.where(given, bz + np.where(bz == "", "", "；") + "含输入值", bz)
        be = np.where(given, be + np.where(be == "", "", "; ") + "partly from input", be)
    has = bz != ""
    return (np.where(has, zh + "（" + bz + "）", zh).astype(object),
            np.where(has, en + " (" + be + ")", en).astype(object))


def _condition_text(facts: _Facts, name: str, value: Any, sel: np.ndarray, cfg: _Settings
                    ) -> tuple[np.ndarray, np.ndarray]:
    k = len(sel)
    if name == "space_any":
        sp = pd.Series(facts.space[sel], dtype=object)
        z = sp.map(_SPACE_ZH).fillna("未知").to_numpy(object)
        e = sp.map(_SPACE_EN).fillna("unknown").to_numpy(object)
        note_z = np.where(facts.multi[sel], "（面积最大）", "") if facts.multi is not None else ""
        note_e = np.where(facts.multi[sel], " (largest area)", "") if facts.multi is not None else ""
        lz = "、".join(_SPACE_ZH.get(s, s) for s in value)
        le = ", ".join(_SPACE_EN.get(s, s) for s in value)
        return "空间 " + z + note_z + " ∈ {" + lz + "}", "space " + e + note_e + " ∈ {" + le + "}"
    if name in ("tags_any", "tags_all", "tags_none"):
        chars = "".join(cfg.profile.tags[t].char for t in value)
        keys = ", ".join(value)
        t = facts.tag_text[sel]
        op_z = {"tags_any": "含其一", "tags_all": "全含", "tags_none": "不含"}[name]
        op_e = {"tags_any": "has one of", "tags_all": "has all of", "tags_none": "has none of"}[name]
        return ("标签 " + t + " " + op_z + " {" + chars + "}",
                "tags " + t + " " + op_e + " {" + keys + "}")
    if name == "rules_any":
        hit = np.full(k, "", dtype=object)
        for rid in value:
            h = facts.has_rule(rid)[sel]
            hit = np.where(h, hit + np.where(hit == "", "", ", ") + rid, hit)
        return "命中规则 " + hit, "rule(s) fired: " + hit
    if name == "class_any":
        c = pd.Series(facts.klass[sel], dtype=object).fillna("—").to_numpy(object)
        lst = ", ".join(value)
        return "亩均等级 " + c + " ∈ {" + lst + "}", "per-mu class " + c + " ∈ {" + lst + "}"
    if name == "planned_use_any":
        p = pd.Series(facts.planned[sel], dtype=object).fillna("未知").to_numpy(object)
        lst = ", ".join(value)
        return "规划用途 " + p + " ∈ {" + lst + "}", "planned use " + p + " ∈ {" + lst + "}"
    return _tri_text(facts, name, sel)


def _facts_summary(facts: _Facts, sel: np.ndarray, cfg: _Settings, tested: Collection[str]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """What is known of the cases ``sel`` (for cases no rule matched): space, tags, class and
    the three-valued facts the table ``tested``."""
    sp = pd.Series(facts.space[sel], dtype=object)
    t = np.where(facts.tag_text[sel] == "", "—", facts.tag_text[sel]).astype(object)
    parts_z = ["空间 " + sp.map(_SPACE_ZH).fillna("未知").to_numpy(object), "标签 " + t]
    parts_e = ["space " + sp.map(_SPACE_EN).fillna("unknown").to_numpy(object), "tags " + t]
    c = pd.Series(facts.klass[sel], dtype=object).fillna("—").to_numpy(object)
    parts_z.append("亩均等级 " + c)
    parts_e.append("per-mu class " + c)
    for name in (t for t in _TRI if t in tested):
        z, e = _tri_text(facts, name, sel)
        parts_z.append(z)
        parts_e.append(e)
    zh, en = parts_z[0], parts_e[0]
    for z, e in zip(parts_z[1:], parts_e[1:], strict=True):
        zh, en = zh + "；" + z, en + "; " + e
    return zh, en


def explain(rules: Sequence[DisposalRule], facts: _Facts, winner: np.ndarray, blocked: list[np.ndarray],
            unknowns: list[dict[str, np.ndarray]], cfg: _Settings) -> tuple[np.ndarray, np.ndarray]:
    """Reason per case: the winning rule's conditions with their values, then the earlier rules
    left undecided for lack of facts; for unmatched cases, their facts."""
    n = facts.n
    zh = np.full(n, "", dtype=object)
    en = np.full(n, "", dtype=object)
    for j, rule in enumerate(rules):
        sel = np.flatnonzero(winner == j)
        if not len(sel):
            continue
        z = np.full(len(sel), f"规则 {rule.id} 条件成立：", dtype=object)
        e = np.full(len(sel), f"rule {rule.id} holds: ", dtype=object)
        for i, (name, value) in enumerate(_conditions(rule)):
            cz, ce = _condition_text(facts, name, value, sel, cfg)
            z, e = z + ("" if i == 0 else "；") + cz, e + ("" if i == 0 else "; ") + ce
        zh[sel], en[sel] = z + "。", e + "."
    none = np.flatnonzero(winner < 0)
    if len(none):
        tested = {name for r in rules for name, _ in _conditions(r)}
        z, e = _facts_summary(facts, none, cfg, tested)
        zh[none] = _NO_RULE_ZH + "。事实：" + z + "。"
        en[none] = _NO_RULE_EN + ". Facts: " + e + "."
    # earlier rules that could not be decided (a fact they need is unknown)
    order = np.where(winner < 0, len(rules), winner)
    note_z = np.full(n, "", dtype=object)
    note_e = np.full(n, "", dtype=object)
    for j, rule in enumerate(rules):
        b = blocked[j] & (order > j)
        if not b.any():
            continue
        sel = np.flatnonzero(b)
        what_z = np.full(len(sel), "", dtype=object)
        what_e = np.full(len(sel), "", dtype=object)
        for name, u in unknowns[j].items():
            lz, le = _LABEL.get(name, (name, name))
            us = u[sel]
            what_z = np.where(us, what_z + np.where(what_z == "", "", "、") + lz, what_z)
            what_e = np.where(us, what_e + np.where(what_e == "", "", ", ") + le, what_e)
        note_z[sel] = note_z[sel] + np.where(note_z[sel] == "", "", "；") + rule.id + "（" + what_z + " 未知）"
        note_e[sel] = note_e[sel] + np.where(note_e[sel] == "", "", "; ") + rule.id + " (" + what_e + " unknown)"
    has = note_z != ""
    zh = np.where(has, zh + "未判定（事实未知，视为不满足）：" + note_z + "。", zh)
    en = np.where(has, en + " Undecided (facts unknown, taken as not holding): " + note_e + ".", en)
    return zh.astype(object), en.astype(object)


# --------------------------------------------------------------------------- priority


def _priority(facts: _Facts, area: np.ndarray, protected: np.ndarray, cfg: _Settings
              ) -> dict[str, np.ndarray]:
    """Points per component (weight × component in [0, 1]); keys are the profile's weight names."""
    p = cfg.profile.disposal.priority.params
    n = facts.n
    out: dict[str, np.ndarray] = {}
    for name, weight in p.weights.items():
        if name == "tag_count":
            comp = facts.tags.sum(axis=1) / max(len(cfg.tag_keys), 1)
        elif name == "class_severity":
            comp = pd.Series(facts.klass, dtype=object).map(p.class_severity).fillna(0.0).to_numpy(float)
        elif name == "ecological_sensitivity":
            comp = np.nan_to_num(protected, nan=0.0)
        elif name == "area":
            comp = (pd.Series(area).rank(method="max", pct=True).to_numpy(float) if n else np.zeros(0))
        elif all(t in cfg.tag_keys for t in name.split("_or_")):
            cols = [cfg.tag_keys.index(t) for t in name.split("_or_")]
            comp = facts.tags[:, cols].any(axis=1).astype(float)
        else:
            raise ValueError(
                f"unknown priority component {name!r}: use tag_count, class_severity, "
                "ecological_sensitivity, area, a tag key or tag keys joined by _or_ "
                f"(优先级构成 {name!r} 无法识别)")
        out[name] = weight * np.clip(comp, 0.0, 1.0)
    return out


# --------------------------------------------------------------------------- yield


def _yields(rules: Sequence[DisposalRule], winner: np.ndarray, facts: _Facts, area: np.ndarray,
            construction: np.ndarray, fit: Mapping[str, np.ndarray],
            cfg: _Settings) -> tuple[dict[str, np.ndarray], list[str], list[str], list[str]]:
    """Yield columns, and per rule the quota ids and a note (zh, en) on how they were estimated.
    ``fit``: per balance kind with ``next_to``, the case's construction 亩 that qualifies."""
    prof = cfg.profile
    q = prof.quota
    n = facts.n
    out = {c: np.zeros(n) for c in YIELD_COLUMNS}
    ids, notes_z, notes_e = [], [], []
    for j, rule in enumerate(rules):
        quota_ids = list(dict.fromkeys([*rule.params.yields_quota, *cfg.extra_yields.get(rule.id, [])]))
        ids.append(";".join(quota_ids))
        sel = winner == j
        nz, ne = [], []
        if rule.id in cfg.vacating:
            out["vacated_mu"][sel] = area[sel]
            nz.append("腾退空间 = 案件面积")
            ne.append("vacated = case area")
        for qid in quota_ids:
            if qid == q.linkage.id:
                rate = q.linkage.params.quota_per_accepted_mu
                out["construction_quota_mu"][sel] = construction[sel] * rate
                nz.append(f"{qid}：建设用地面积 × {_g(rate)}（验收后形成）")
                ne.append(f"{qid}: construction land × {_g(rate)} (counts once accepted)")
            elif qid == q.stock_linkage.id:
                sp = q.stock_linkage.params
                rate = _stock_rate(rule, facts, cfg)
                out["stock_linkage_mu"][sel] = area[sel] * rate[sel]
                nz.append(f"{qid}：案件面积 × {_g(sp.quota_per_unsupplied_mu)}（批而未供）或 × {_g(sp.quota_per_idle_mu)}（闲置）")
                ne.append(f"{qid}: case area × {_g(sp.quota_per_unsupplied_mu)} (unsupplied) or × {_g(sp.quota_per_idle_mu)} (idle)")
            else:
                bal = next((b for b in q.balance if b.id == qid), None)
                if bal is None:
                    continue
                kind = bal.params.kind
                per = cfg.balance_per_mu.get(kind, bal.params.per_mu)
                if per is None and kind == "quantity":
                    per = 1.0
                col = BALANCE_COLUMN.get(kind, f"quota_{kind}")
                if col not in out:
                    out[col] = np.zeros(n)
                if per is None:
                    nz.append(f"{qid}：未估算（配置未给出 per_mu）")
                    ne.append(f"{qid}: not estimated (no per_mu in the profile)")
                    continue
                if bal.params.next_to is not None:
                    base = fit.get(kind, np.zeros(n))
                    gap = _g(bal.params.next_to_gap_m)
                    wz, we = f"（仅计与指定地类相距 {gap} 米内的部分）", f" (only the part within {gap} m of the named land use)"
                else:
                    base, wz, we = construction, "", ""
                out[col][sel] = base[sel] * per
                nz.append(f"{qid}：复垦建设用地面积{wz} × {_g(per)} {bal.params.unit}/亩")
                ne.append(f"{qid}: reclaimed construction land{we} × {_g(per)} {bal.params.unit}/mu")
        notes_z.append("；".join(nz))
        notes_e.append("; ".join(ne))
    return out, ids, notes_z, notes_e


def stock_linkage_ratio(profile: Profile, rule: DisposalRule) -> float | None:
    """增存挂钩 plan quota per disposed 亩 for a disposal rule, by the kind of tag / land rule it
    names (批而未供 or idle land); None when it names neither."""
    sp = profile.quota.stock_linkage.params
    named = [profile.rule(r) for r in (rule.when.rules_any or []) if profile.has_rule(r)]
    if any(isinstance(r, UnsuppliedRule) for r in named):
        return sp.quota_per_unsupplied_mu
    if any(isinstance(r, IdleLandRule | IdleConsequence) for r in named):
        return sp.quota_per_idle_mu
    return None


def _stock_rate(rule: DisposalRule, facts: _Facts, cfg: _Settings) -> np.ndarray:
    """增存挂钩 rate per case: by the kind of rule the disposal rule names, else the case's hits."""
    prof = cfg.profile
    sp = prof.quota.stock_linkage.params
    named = stock_linkage_ratio(prof, rule)
    if named is not None:
        return np.full(facts.n, named)
    unsup = np.zeros(facts.n, dtype=bool)
    idle = np.zeros(facts.n, dtype=bool)
    for r in prof.rules():
        if isinstance(r, UnsuppliedRule):
            unsup |= facts.has_rule(r.id)
        elif isinstance(r, IdleLandRule | IdleConsequence):
            idle |= facts.has_rule(r.id)
    return np.where(unsup, sp.quota_per_unsupplied_mu, np.where(idle, sp.quota_per_idle_mu, 0.0))


# --------------------------------------------------------------------------- helpers


def _joined(case: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per case, its values ';'-joined in member order."""
    out = np.full(n, "", dtype=object)
    if not len(case):
        return out
    order = np.argsort(case, kind="stable")
    c = case[order]
    v = values[order].astype(str).astype(object)
    first = np.r_[True, c[1:] != c[:-1]]
    parts = np.where(first, "", ";").astype(object) + v
    out[c[first]] = np.add.reduceat(parts, np.flatnonzero(first))
    return out


def _rule_pairs(tag_hits: pd.DataFrame, member_of_label: pd.Index, member_case: np.ndarray,
                label_col: str) -> tuple[np.ndarray, np.ndarray]:
    """(case, rule id) pairs from hits whose ``label_col`` is a member label."""
    if tag_hits is None or len(tag_hits) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)
    j = member_of_label.get_indexer(tag_hits[label_col])
    ok = j >= 0
    case = member_case[j[ok]]
    rid = tag_hits["rule_id"].astype(str).to_numpy(dtype=object)[ok]
    pairs = pd.DataFrame({"c": case, "r": rid}).drop_duplicates()
    return pairs["c"].to_numpy(np.int64), pairs["r"].to_numpy(dtype=object)


def _family_names(profile: Profile, families: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    zh = {f.key: f.name_zh for f in profile.disposal.families}
    en = {f.key: f.name_en for f in profile.disposal.families}
    s = pd.Series(families, dtype=object)
    return _objects(s.map(zh)), _objects(s.map(en))


def _rule_column(rules: Sequence[DisposalRule], winner: np.ndarray, attr: str,
                 missing: Any = None) -> np.ndarray:
    values = np.array([getattr(r, attr) for r in rules] + [missing], dtype=object)
    return values[np.where(winner < 0, len(rules), winner)]


# --------------------------------------------------------------------------- parcels


def recommend(
    parcels: pd.DataFrame,
    overlay: pd.DataFrame,
    tags_summary: pd.DataFrame,
    tag_hits: pd.DataFrame,
    parcel_class: pd.DataFrame | None,
    unit_of: pd.Series,
    units: pd.DataFrame,
    profile: Profile,
    *,
    evidence: pd.DataFrame | None = None,
    conforms_to_plan: pd.Series | None = None,
    rectifiable: pd.Series | None = None,
    planned_use: pd.Series | None = None,
    reclaimable_land_use: LandUseSelector | Mapping | None = None,
    reclaim_exclude_rules: Collection[str] | None = None,
    vacating_rules: Collection[str] | None = None,
    extra_yields: Mapping[str, Sequence[str]] | None = None,
    balance_per_mu: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """A disposal path, priority and estimated yield for every case (see the module docstring).

    Args:
        parcels: the snapshot's parcels (``key``, ``parcel_code``, ``district_code``, ``dlbm``,
            ``ydyh_code``); geometry is not read.
        overlay: :func:`landrenew.analysis.overlay.overlay`, in the parcels' order.
        tags_summary: :func:`landrenew.analysis.tags.summarize_tags`, in the parcels' order.
        tag_hits: :func:`landrenew.analysis.tags.tag_parcels` (``parcel_index`` = parcel labels).
        parcel_class: :func:`landrenew.analysis.evaluation.parcel_classes` (by parcel_code).
        unit_of, units: :func:`landrenew.analysis.units.group_units`.
        profile: the policy profile.
        evidence: the snapshot's list entries; their ``rectifiable`` field decides ``rectifiable``.
        conforms_to_plan, rectifiable: per parcel (parcels' index), True / False / NA; override
            the derived value where given.
        planned_use: per parcel, the planned-use key (e.g. ``commercial``) where known.
        reclaimable_land_use: overrides ``land_rules.reclaimable.params.land_use``.
        reclaim_exclude_rules: overrides ``land_rules.reclaimable.params.exclude_rules``.
        vacating_rules: overrides the disposal rules' ``params.vacates``.
        extra_yields: disposal rule id → further quota rule ids it yields (added to ``yields_quota``).
        balance_per_mu: balance kind → per-亩 factor, overriding the profile's ``per_mu``.

    Returns:
        One row per case, highest priority first: :data:`CASE_COLUMNS`, one
        ``priority_<component>`` (points) per weight, ``yields_quota`` (';'-joined quota rule
        ids of the path), ``yield_note_zh/en`` and :data:`YIELD_COLUMNS`.
    """
    cfg = _settings(profile, reclaimable_land_use=reclaimable_land_use,
                    reclaim_exclude_rules=reclaim_exclude_rules, vacating_rules=vacating_rules,
                    extra_yields=extra_yields, balance_per_mu=balance_per_mu)
    n_all = len(parcels)
    if not (len(overlay) == len(tags_summary) == len(unit_of) == n_all):
        raise ValueError("overlay, tags_summary and unit_of must have one row per parcel, in the parcels' order")
    hits_n = pd.to_numeric(tags_summary["n_hits"], errors="coerce").fillna(0).to_numpy()
    pos = np.flatnonzero(hits_n > 0)

    # cases: a multi-parcel unit, or the parcel itself
    uid = pd.array(unit_of, dtype="Int64").to_numpy(dtype=np.float64, na_value=np.nan)[pos]
    sizes = units.set_index("unit_id")["n_parcels"] if len(units) else pd.Series(dtype=np.int64)
    multi_ids = sizes.index[sizes.to_numpy() > 1].to_numpy(dtype=np.float64)
    is_multi = np.isin(uid, multi_ids) & ~np.isnan(uid)
    key = np.where(is_multi, np.nan_to_num(uid), -(pos.astype(np.float64) + 1))
    case, uniq = pd.factorize(key, sort=False)
    case = case.astype(np.int64)
    n = len(uniq)
    labels = parcels.index.to_numpy()
    first = np.full(n, -1, dtype=np.int64)
    first[case[::-1]] = np.arange(len(case))[::-1]
    case_multi = is_multi[first] if n else np.zeros(0, dtype=bool)
    first_label = labels[pos[first]].astype(str).astype(object) if n else np.zeros(0, dtype=object)
    case_uid = uid[first] if n else np.zeros(0)
    case_id = np.where(case_multi, "U" + np.nan_to_num(case_uid).astype(np.int64).astype(str).astype(object),
                       "P" + first_label)

    member_labels = pd.Index(labels[pos])
    rule_case, rule_id = _rule_pairs(tag_hits, member_labels, case, "parcel_index")

    def hit_rules(rid: str) -> np.ndarray:  # per member
        if tag_hits is None or len(tag_hits) == 0:
            return np.zeros(len(pos), dtype=bool)
        sel = tag_hits["rule_id"].astype(str).to_numpy() == rid
        j = member_labels.get_indexer(tag_hits["parcel_index"].to_numpy()[sel])
        out = np.zeros(len(pos), dtype=bool)
        out[j[j >= 0]] = True
        return out

    rect_hit, bears = hit_rectifiable(tag_hits, evidence)
    j = member_labels.get_indexer(tag_hits["parcel_index"].to_numpy()[bears]) if bears.any() else np.zeros(0, int)
    derived_rect = _all_of(j[j >= 0], rect_hit[bears][j >= 0], len(pos))
    mem = _parcel_members(parcels, overlay, parcel_class, pos, hit_rules, cfg,
                          conforms_to_plan=conforms_to_plan, rectifiable=rectifiable,
                          planned_use=planned_use, derived_rectifiable=derived_rect)
    tag_cols = [tags_summary[k].astype("boolean").fillna(False).to_numpy(bool)[pos]
                if k in tags_summary else np.zeros(len(pos), dtype=bool) for k in cfg.tag_keys]
    tags_m = np.column_stack(tag_cols) if tag_cols else np.zeros((len(pos), 0), dtype=bool)
    tags = np.zeros((n, len(cfg.tag_keys)), dtype=bool)
    if len(pos):
        np.logical_or.at(tags, case, tags_m)
    facts = _case_facts(mem, case, n, tags, rule_case, rule_id, cfg)

    area = np.bincount(case, weights=mem.area, minlength=n)
    construction = np.bincount(case, weights=np.where(mem.construction, mem.area, 0.0), minlength=n)
    fit = {k: np.bincount(case, weights=np.where(mem.construction & v, mem.area, 0.0), minlength=n)
           for k, v in mem.fit.items()}
    protected = _wshare(case, mem.shares["protected"], mem.area, n)
    rules = profile.disposal.rules_for("parcel")
    winner, matched, blocked, unknowns = decide(rules, facts, cfg)
    reason_zh, reason_en = explain(rules, facts, winner, blocked, unknowns, cfg)
    points = _priority(facts, area, protected, cfg)
    yields, yid, ynz, yne = _yields(rules, winner, facts, area, construction, fit, cfg)

    family = _rule_column(rules, winner, "family")
    fam_zh, fam_en = _family_names(profile, family)
    keys = (parcels["key"].astype(object).to_numpy(dtype=object)[pos] if "key" in parcels
            else labels[pos].astype(str).astype(object))
    sel = winner >= 0
    out = pd.DataFrame({
        "case_id": case_id,
        "unit_id": pd.array(pd.Series(case_uid).round(), dtype="Int64"),
        "n_parcels": np.bincount(case, minlength=n).astype(np.int64),
        "parcel_keys": _joined(case, keys, n),
        "district_code": _majority_obj(case, mem.district, mem.area, n),
        "area_mu": area,
        "construction_mu": construction,
        "space": facts.space,
        "class": facts.klass,
        "tags": facts.tag_text,
        "matched": matched,
        "family": family,
        "family_zh": fam_zh,
        "family_en": fam_en,
        "path": _rule_column(rules, winner, "path"),
        "path_zh": np.where(sel, _rule_column(rules, winner, "path_zh"), _NO_RULE_ZH),
        "path_en": np.where(sel, _rule_column(rules, winner, "path_en"), _NO_RULE_EN),
        "rule_id": _rule_column(rules, winner, "id"),
        "clause": _rule_column(rules, winner, "clause"),
        "reason_zh": reason_zh,
        "reason_en": reason_en,
        "priority": np.sum(list(points.values()), axis=0) if points else np.zeros(n),
    })
    for k, v in points.items():
        out[f"priority_{k}"] = v
    ylist = np.array([*yid, ""], dtype=object)
    zlist = np.array([*ynz, ""], dtype=object)
    elist = np.array([*yne, ""], dtype=object)
    w = np.where(winner < 0, len(rules), winner)
    out["yields_quota"], out["yield_note_zh"], out["yield_note_en"] = ylist[w], zlist[w], elist[w]
    for c, v in yields.items():
        out[c] = v
    for c in ("space", "class", "family", "family_zh", "family_en", "path", "rule_id", "clause"):
        out[c] = out[c].astype(object)
    out = out.sort_values("priority", ascending=False, kind="stable").reset_index(drop=True)
    out.attrs["rules"] = [r.id for r in rules]
    return out


# --------------------------------------------------------------------------- firms


def recommend_firms(
    evaluation: pd.DataFrame,
    tag_hits: pd.DataFrame,
    firm_parcels: pd.DataFrame,
    profile: Profile,
    *,
    parcels: pd.DataFrame | None = None,
    overlay: pd.DataFrame | None = None,
    evidence: pd.DataFrame | None = None,
    rectifiable: pd.Series | None = None,
    year: int | None = None,
) -> pd.DataFrame:
    """Firm-subject rules (散乱污 firms: 关停取缔 / 整合搬迁 / 整治改造) for every tagged firm.

    A firm's facts: ``tags`` and fired rules = union over the parcels it is linked to in
    ``firm_parcels`` (year of the evaluation, else ``year``); ``class`` = its own class;
    ``in_park`` = the area-weighted park share of its parcels when ``parcels`` and ``overlay``
    are given, else false where one of its parcels carries an ``outside_park`` hit and unknown
    otherwise; ``space`` = the space of most of its land (with ``overlay``); ``rectifiable``
    from the keyword (by USCC), else from the ``evidence`` entries behind the hits on its
    parcels (see the module docstring), else unknown. Firms with no tag get no row.

    Returns :data:`FIRM_COLUMNS` (``actions_zh/en`` ';'-joined), empty when the profile has no
    firm rules.
    """
    cfg = _settings(profile)
    rules = profile.disposal.rules_for("firm")
    ev = evaluation.reset_index(drop=True)
    if not rules or len(ev) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FIRM_COLUMNS})
    fp = firm_parcels
    if year is None and "year" in ev and ev["year"].notna().any():
        year = int(pd.to_numeric(ev["year"], errors="coerce").max())
    if year is not None and "year" in fp:
        fp = fp[pd.to_numeric(fp["year"], errors="coerce").to_numpy() == year]
    firm_idx = pd.Index(ev["uscc"].astype(object))
    links = fp[["uscc", "parcel_code"]].dropna().drop_duplicates()
    f = firm_idx.get_indexer(links["uscc"].astype(object))
    links = links[f >= 0]
    link_firm = f[f >= 0].astype(np.int64)
    codes = pd.Index(links["parcel_code"].astype(object))
    n = len(ev)

    # tags and rules: union over the firm's parcels (hits by parcel_key = parcel_code)
    hits = tag_hits if tag_hits is not None else pd.DataFrame(columns=["parcel_key", "tag_key", "rule_id"])
    rect_hit, bears = hit_rectifiable(hits, evidence)
    h = pd.DataFrame({"code": hits["parcel_key"].astype(object).to_numpy(),
                      "rect": rect_hit, "bears": bears,
                      "tag": hits["tag_key"].astype(str).to_numpy(dtype=object),
                      "rule": hits["rule_id"].astype(str).to_numpy(dtype=object),
                      "evidence": (hits["evidence_id"].astype(object).to_numpy() if "evidence_id" in hits
                                   else None)})
    pairs = pd.DataFrame({"firm": link_firm, "code": codes.to_numpy()}).merge(h, on="code")
    # a hit whose evidence is a firm (e.g. the 亩均 class of the firm holding the parcel) counts
    # for that firm only, not for the other firms on the parcel
    ev_firm = firm_idx.get_indexer(pairs["evidence"].astype(object))
    pairs = pairs[(ev_firm < 0) | (ev_firm == pairs["firm"].to_numpy())]
    firm_of = pairs["firm"].to_numpy(np.int64)
    tags = np.zeros((n, len(cfg.tag_keys)), dtype=bool)
    tcode = pd.Index(cfg.tag_keys).get_indexer(pairs["tag"])
    ok = tcode >= 0
    tags[firm_of[ok], tcode[ok]] = True
    rp = pairs[["firm", "rule"]].drop_duplicates()
    rule_case, rule_id = rp["firm"].to_numpy(np.int64), rp["rule"].to_numpy(dtype=object)

    klass = _objects(ev["class"]) if "class" in ev else np.full(n, None, dtype=object)
    space = np.full(n, None, dtype=object)
    share_park = np.full(n, np.nan)
    if parcels is not None and overlay is not None and "parcel_code" in parcels:
        pcodes = parcels["parcel_code"].astype(object)
        coded = pcodes.notna().to_numpy() & ~pcodes.duplicated().to_numpy()
        at = np.flatnonzero(coded)
        j = pd.Index(pcodes.to_numpy(dtype=object)[coded]).get_indexer(codes)
        ppos = np.where(j >= 0, at[np.maximum(j, 0)], -1)
        okp = ppos >= 0
        lf, pp = link_firm[okp], ppos[okp]
        area = np.nan_to_num(_col(overlay, "area_mu", pp), nan=0.0)
        share_park = _wshare(lf, _col(overlay, cfg.park_col, pp), area, n)
        sp_obj = _objects(overlay["space"], pp) if "space" in overlay else np.full(len(pp), None, dtype=object)
        sp_code = np.full(len(pp), -1, dtype=np.int64)
        for i, s in enumerate(SPACES):
            sp_code[sp_obj == s] = i
        best = _majority(lf, sp_code, len(SPACES), area, n)
        space[best >= 0] = np.asarray(SPACES, dtype=object)[best[best >= 0]]
        in_park = _threshold(share_park, cfg.park_min)
    else:
        outside_ids = [r.id for _, r in profile.tag_rules() if isinstance(r, OutsideParkRule)]
        outside = np.zeros(n, dtype=bool)
        for rid in outside_ids:
            outside[rule_case[rule_id == rid]] = True
        in_park = np.where(outside, 0.0, np.nan)
    judged = pairs["bears"].to_numpy(bool)
    rect = _all_of(firm_of[judged], pairs["rect"].to_numpy(float)[judged], n)
    given = np.full(n, np.nan)
    if rectifiable is not None:
        given = (rectifiable.astype("boolean").reindex(firm_idx)
                 .to_numpy(dtype=float, na_value=np.nan))
        rect = np.where(np.isnan(given), rect, given)
    counts = {"rectifiable": {"true": (rect == 1).astype(np.int64), "false": (rect == 0).astype(np.int64),
                              "unknown": np.isnan(rect).astype(np.int64),
                              "given": (~np.isnan(given)).astype(np.int64)}}
    facts = _Facts(
        n=n, tags=tags, tag_text=_tag_text(tags, cfg.tag_chars), rule_case=rule_case, rule_id=rule_id,
        space=space, klass=klass, planned=np.full(n, None, dtype=object),
        tri={"in_park": in_park, "in_industrial_line": np.full(n, np.nan),
             "conforms_to_plan": np.full(n, np.nan), "reclaimable": np.full(n, np.nan),
             "rectifiable": rect},
        share={"in_park": share_park, "in_industrial_line": np.full(n, np.nan)},
        thresholds={"in_park": cfg.park_min, "in_industrial_line": cfg.space_min_share},
        counts=counts, multi=np.zeros(n, dtype=bool),
    )
    tagged = tags.any(axis=1)
    winner, matched, blocked, unknowns = decide(rules, facts, cfg)
    reason_zh, reason_en = explain(rules, facts, winner, blocked, unknowns, cfg)
    sel = winner >= 0
    acts_z = np.array([";".join(r.params.actions_zh) for r in rules] + [""], dtype=object)
    acts_e = np.array([";".join(r.params.actions_en) for r in rules] + [""], dtype=object)
    w = np.where(winner < 0, len(rules), winner)
    out = pd.DataFrame({
        "uscc": ev["uscc"].astype(object).to_numpy(),
        "name": ev["name"].astype(object).to_numpy() if "name" in ev else None,
        "district_code": ev["district_code"].astype(object).to_numpy() if "district_code" in ev else None,
        "class": klass,
        "tags": facts.tag_text,
        "matched": matched,
        "family": _rule_column(rules, winner, "family"),
        "path": _rule_column(rules, winner, "path"),
        "path_zh": np.where(sel, _rule_column(rules, winner, "path_zh"), _NO_RULE_ZH),
        "path_en": np.where(sel, _rule_column(rules, winner, "path_en"), _NO_RULE_EN),
        "rule_id": _rule_column(rules, winner, "id"),
        "clause": _rule_column(rules, winner, "clause"),
        "reason_zh": reason_zh,
        "reason_en": reason_en,
        "actions_zh": acts_z[w],
        "actions_en": acts_e[w],
    })
    for c in ("family", "path", "rule_id", "clause", "class"):
        out[c] = out[c].astype(object)
    return out[tagged].reset_index(drop=True)[FIRM_COLUMNS]
