"""一张图 (the map): the district boundaries as its base, its legend, search by parcel code or firm,
and a parcel's or firm's explanation with its clearance case — for the web map and scripts.

Geometries are stored in CGCS2000 (EPSG:4490); they are handed out as GeoJSON lon/lat, which for
CGCS2000 and WGS84 differ by centimetres (below any map's drawing precision).
"""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Any

import shapely
from sqlalchemy import (
    Connection,
    Engine,
    Table,
    and_,
    func,
    or_,
    select,
)
from sqlalchemy.sql import ColumnElement

from landrenew.actors import Actor, Forbidden
from landrenew.cases import get_case
from landrenew.explain import NotFound, explain_firm, explain_parcel
from landrenew.geo.area import M2_PER_MU
from landrenew.intake.schema import BASE_LAYER_KINDS, LAYER_KINDS
from landrenew.policy import Profile
from landrenew.store import textindex
from landrenew.store.models import (
    CaseParcel,
    ClearanceCase,
    ControlFeature,
    FirmParcel,
    FirmYear,
    Parcel,
)

DISTRICT_LAYER = "district_boundary"
#: simplification of the district outlines for drawing (degrees, ≈ 30 m): presentation, not policy
DRAW_TOLERANCE_DEG = 0.0003
#: at most this many matches of a search
SEARCH_LIMIT = 20

__all__ = ["NotFound", "district_features", "legend", "search", "parcel_sheet", "firm_sheet"]


def _clean(value: Any) -> Any:
    """JSON-ready: NaN → None, dates → ISO text."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, date):
        return value.isoformat()
    return value


def _geoms(conn_dialect: str, values: list[Any]) -> Any:
    if conn_dialect == "postgresql":
        values = [None if g is None else bytes(g.data) if hasattr(g, "data") else g for g in values]
    return shapely.from_wkb(values)


def district_features(engine: Engine, profile: Profile) -> dict[str, Any]:
    """The loaded district boundaries (layer kind ``district_boundary``) as a GeoJSON
    FeatureCollection, simplified for drawing, with the profile's district names; one feature per
    district (its polygons merged). Empty when no boundary layer is loaded."""
    t = ControlFeature.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.district_code, t.c.name, t.c.geom)
                            .where(t.c.layer_kind == DISTRICT_LAYER).order_by(t.c.id)).all()
        dialect = conn.dialect.name
    geoms = _geoms(dialect, [r.geom for r in rows]) if rows else []
    merged: dict[str, list[Any]] = {}
    names: dict[str, str] = {}
    for r, g in zip(rows, geoms, strict=True):
        if g is None or r.district_code is None:
            continue
        merged.setdefault(r.district_code, []).append(g)
        names.setdefault(r.district_code, r.name or r.district_code)
    features = []
    for code, parts in merged.items():
        g = shapely.simplify(shapely.union_all(parts), DRAW_TOLERANCE_DEG, preserve_topology=True)
        try:
            d = profile.city.district(code)
            zh, en = d.name_zh, d.name_en
        except KeyError:
            zh = en = names[code]
        features.append({"type": "Feature", "id": code,
                         "properties": {"district_code": code, "name_zh": zh, "name_en": en,
                                        "label": [round(v, 6) for v in _label_point(g)]},
                         "bbox": [round(v, 6) for v in g.bounds],
                         "geometry": json.loads(shapely.to_geojson(shapely.set_precision(g, 1e-6)))})
    return {"type": "FeatureCollection", "features": features}


def _label_point(g: Any) -> tuple[float, float]:
    """Where to write a district's name: a point inside its largest polygon."""
    parts = shapely.get_parts(g)
    largest = parts[int(shapely.area(parts).argmax())] if len(parts) else g
    pt = shapely.point_on_surface(largest)
    return pt.x, pt.y


def legend(engine: Engine, profile: Profile) -> dict[str, Any]:
    """The map's themes and layers with the profile's names: tags, 亩均 classes, disposal
    families, and the control-layer kinds loaded in the store (base layers apart)."""
    t = ControlFeature.__table__
    with engine.connect() as conn:
        loaded = set(conn.execute(select(t.c.layer_kind).distinct()).scalars())
    return {
        "tags": [{"char": tag.char, "key": k, "name_zh": tag.name_zh, "name_en": tag.name_en}
                 for k, tag in profile.tags.items()],
        "classes": legend_classes(profile),
        "families": [{"key": f.key, "name_zh": f.name_zh, "name_en": f.name_en} for f in profile.disposal.families],
        "layers": [{"key": k, "name_zh": zh, "name_en": en} for k, (zh, en) in LAYER_KINDS.items()
                   if k in loaded and k not in BASE_LAYER_KINDS],
    }


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(conn: Connection, t: Table, kind: str, cols: tuple[str, ...], q: str) -> ColumnElement:
    """Rows of ``t`` where one of ``cols`` contains ``q`` (case-insensitive, literally), through the
    bigram text index (``store.textindex``); a single character scans."""
    hits = textindex.matches(conn, kind, q)
    if hits is None:
        return or_(*[t.c[c].ilike(_like(q), escape="\\") for c in cols])
    return t.c.id.in_(hits)


def _bbox(minx: Any, miny: Any, maxx: Any, maxy: Any) -> list[float] | None:
    values = [minx, miny, maxx, maxy]
    if any(v is None for v in values):
        return None
    return [round(float(v), 6) for v in values]


def search(engine: Engine, q: str, limit: int = SEARCH_LIMIT) -> list[dict[str, Any]]:
    """Parcels whose code (or BSM) contains ``q`` and firms whose USCC or name contains it
    (case-insensitive; an exact parcel code first), each with the bounding box to show (a firm:
    of its parcels); at most ``limit`` matches."""
    q = q.strip()
    if not q:
        return []
    p, fy, fp = Parcel.__table__, FirmYear.__table__, FirmParcel.__table__
    out: list[dict[str, Any]] = []
    with engine.connect() as conn:
        rows = conn.execute(
            select(p.c.key, p.c.parcel_code, p.c.bsm, p.c.district_code, p.c.right_holder,
                   p.c.minx, p.c.miny, p.c.maxx, p.c.maxy)
            .where(_contains(conn, p, "parcel", ("parcel_code", "bsm"), q))
            .order_by((func.upper(p.c.parcel_code) == q.upper()).desc(), p.c.parcel_code, p.c.key)
            .limit(limit)).all()
        for r in rows:
            out.append({"kind": "parcel", "key": r.key, "code": r.parcel_code or r.bsm, "label": r.right_holder,
                        "district_code": r.district_code, "bbox": _bbox(r.minx, r.miny, r.maxx, r.maxy)})
        room = limit - len(out)
        if room <= 0:
            return out
        latest = (select(fy.c.uscc, func.max(fy.c.year).label("year"))
                  .where(_contains(conn, fy, "firm", ("uscc", "name"), q))
                  .group_by(fy.c.uscc).subquery())
        firms = conn.execute(
            select(fy.c.uscc, fy.c.name, fy.c.district_code, fy.c.year)
            .join(latest, and_(fy.c.uscc == latest.c.uscc, fy.c.year == latest.c.year))
            .order_by(fy.c.name, fy.c.uscc).limit(room)).all()
        for f in firms:
            box = conn.execute(
                select(func.min(p.c.minx), func.min(p.c.miny), func.max(p.c.maxx), func.max(p.c.maxy),
                       func.min(p.c.key))
                .select_from(fp.join(p, p.c.parcel_code == fp.c.parcel_code))
                .where(fp.c.uscc == f.uscc, fp.c.year == f.year)).one()
            out.append({"kind": "firm", "key": f.uscc, "code": f.uscc, "label": f.name,
                        "district_code": f.district_code, "bbox": _bbox(*box[:4]), "parcel_key": box[4]})
    return out


def _case_of(engine: Engine, profile: Profile, actor: Actor, parcel_key: str) -> dict[str, Any] | None:
    """The clearance case holding the parcel (its open case, else its latest), as the actor may
    see it: a case of another district is only named as such."""
    c, link = ClearanceCase.__table__, CaseParcel.__table__
    with engine.connect() as conn:
        row = conn.execute(select(c.c.case_no, c.c.district_code)
                           .select_from(link.join(c, c.c.id == link.c.case_id))
                           .where(link.c.parcel_key == parcel_key)
                           .order_by(c.c.closed_at.is_not(None), c.c.id.desc())).first()
    if row is None:
        return None
    try:
        case = get_case(engine, profile, actor, row.case_no)
    except Forbidden:
        return {"visible": False, "district_code": row.district_code}
    wf = case["workflow"]
    state = next((s for s in wf.params.states if s.key == case["state"]), None)
    return {"visible": True, "case_no": case["case_no"], "district_code": case["district_code"],
            "state": case["state"], "state_zh": state.name_zh if state else case["state"],
            "state_en": state.name_en if state else case["state"], "version": case["version"],
            "opened_at": _clean(case["opened_at"]), "closed_at": _clean(case["closed_at"]),
            "href": f"/cases/{case['case_no']}"}


def _class_names(profile: Profile) -> dict[str, tuple[str, str]]:
    return {c["key"]: (c["name_zh"], c["name_en"]) for c in legend_classes(profile)}


def legend_classes(profile: Profile) -> list[dict[str, str]]:
    """The 亩均 classes with the profile's names (the not-rated class last)."""
    classes = [{"key": c.class_key, "name_zh": c.name_zh, "name_en": c.name_en} for c in profile.allocation.classes]
    not_rated = profile.evaluation.classes.params.not_rated
    if not_rated and not_rated not in {c["key"] for c in classes}:
        classes.append({"key": not_rated, "name_zh": "不参评", "name_en": "not rated"})
    return classes


def _firm(profile: Profile, f: dict[str, Any]) -> dict[str, Any]:
    zh, en = _class_names(profile).get(f["firm_class"], (f["firm_class"], f["firm_class"]))
    keep = ("uscc", "name", "district_code", "group", "score", "rank", "firm_class", "class_rule",
            "class_reason_zh", "class_reason_en", "path", "path_zh", "path_rule", "land_supply", "energy_quota")
    return {**{k: _clean(f.get(k)) for k in keep}, "class_name_zh": zh, "class_name_en": en}


def parcel_sheet(engine: Engine, profile: Profile, actor: Actor, code: str,
                 run_id: int | None = None) -> dict[str, Any]:
    """What the map shows for a parcel (by code, key or BSM) in ``run_id`` (default the latest run):
    facts, tags with rule, clause and evidence, the firm's class, the recommended path with its
    clause and reason, and the clearance case. Raises :class:`NotFound`."""
    x = explain_parcel(engine, code, run_id)
    p = x.parcel
    area_mu = p["area_m2"] / M2_PER_MU if p["area_m2"] else None
    parcel = {k: _clean(v) for k, v in p.items()} | {
        "area_mu": area_mu,
        "plot_ratio": p["floor_area_m2"] / p["area_m2"] if p["floor_area_m2"] and p["area_m2"] else None}
    tags = {t.char: t for t in profile.tags.values()}
    result = None
    if x.result:
        result = {k: _clean(x.result.get(k)) for k in ("space", "park_name", "plan_zone", "planned_code",
                                                       "firm_class", "firm_uscc", "tags", "unit_id")}
    hits = [{k: _clean(v) for k, v in h.items()} for h in x.hits.to_dict("records")]
    for h in hits:
        t = tags.get(h["tag"])
        h["tag_name_zh"], h["tag_name_en"] = (t.name_zh, t.name_en) if t else (h["tag"], h["tag"])
    rec = None
    if x.case:
        k = x.case
        rule = next((r for r in profile.disposal.rules if r.id == k["rule_id"]), None)
        fam = next((f for f in profile.disposal.families if f.key == k["family"]), None)
        rec = {key: _clean(k.get(key)) for key in ("case_id", "unit_id", "n_parcels", "area_mu", "matched", "family",
                                                   "path", "path_zh", "rule_id", "clause", "reason_zh", "reason_en",
                                                   "priority", "vacated_mu", "construction_quota_mu")}
        rec |= {"path_en": rule.path_en if rule else k["path"],
                "family_zh": fam.name_zh if fam else k["family"], "family_en": fam.name_en if fam else k["family"]}
    return {"run_id": x.run_id, "parcel": parcel, "result": result,
            "tags": [{"char": c, "name_zh": tags[c].name_zh, "name_en": tags[c].name_en}
                     for c in (result or {}).get("tags") or "" if c in tags],
            "hits": hits, "firm": _firm(profile, x.firm) if x.firm else None, "recommendation": rec,
            "case": _case_of(engine, profile, actor, p["key"])}


def firm_sheet(engine: Engine, profile: Profile, uscc: str, run_id: int | None = None) -> dict[str, Any]:
    """A firm's 亩均 evaluation in ``run_id`` with its class name, rule, reason and indicators,
    and the keys of the parcels it occupies. Raises :class:`NotFound`."""
    x = explain_firm(engine, uscc, run_id)
    f = x.firm
    d = f.get("detail") or {}
    keys = sorted({k.split("_", 1)[1] for k in d if k.startswith("score_")})
    indicators = [{"key": k, "value": _clean(d.get(f"value_{k}")), "benchmark": _clean(d.get(f"benchmark_{k}")),
                   "score": _clean(d.get(f"score_{k}")), "filled": bool(d.get(f"filled_{k}"))} for k in keys]
    fp, p = FirmParcel.__table__, Parcel.__table__
    with engine.connect() as conn:
        year = conn.scalar(select(func.max(fp.c.year)).where(fp.c.uscc == f["uscc"]))
        parcels = list(conn.execute(select(p.c.key).select_from(fp.join(p, p.c.parcel_code == fp.c.parcel_code))
                                    .where(fp.c.uscc == f["uscc"], fp.c.year == year).order_by(p.c.key)).scalars())
    return {"run_id": x.run_id, "firm": _firm(profile, f), "indicators": indicators, "parcels": parcels}
