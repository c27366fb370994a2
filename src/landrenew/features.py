"""Feature queries for GIS clients: the collections that OGC API – Features serves (``/ogc``).

Collections: every stored parcel (``parcels``), the latest run's flagged parcels (``flagged``),
its 连片 units (``units``) and recommended cases (``recommendations``), and one collection per
control layer kind. Items are filtered by bounding box (exact intersection, coarse-filtered through
the spatial index: GiST on PostGIS, an R*Tree on SQLite), by equality on each collection's queryables,
and paged by ``limit``/``offset`` in a stable order, with the number matched.

Geometry is stored in CGCS2000 (EPSG:4490). CGCS2000 and WGS 84 agree to a few centimetres and
PROJ treats the change between them as a null transformation, so CRS84 output is the stored
coordinates in longitude/latitude order and EPSG:4490 output is the same numbers in the CRS's
own axis order (latitude, longitude), as OGC API – Features Part 2 requires.

Unit and case shapes are the union of their member parcels, as the run's GeoPackage draws them
(``landrenew.outputs``): a case of a multi-parcel unit is the unit's union, a single-parcel case
that parcel's polygon. A centroid would lose the footprint a planner overlays in QGIS, and the
union of a page of cases costs a few milliseconds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    Table,
    and_,
    func,
    or_,
    select,
)
from sqlalchemy.sql import ColumnElement, Select

from landrenew.analysis.units import unit_geometries
from landrenew.geo.area import M2_PER_MU
from landrenew.intake.schema import LAYER_KINDS
from landrenew.store.models import (
    AnalysisRun,
    CaseEvent,
    CaseParcel,
    ClearanceCase,
    ControlFeature,
    IngestBatch,
    Parcel,
    QuotaTransfer,
    RunCase,
    RunParcel,
    RunUnit,
)

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CRS4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
CRSS = (CRS84, CRS4490)
#: the most items one page may hold
MAX_LIMIT = 10_000
_CHUNK = 5_000

P = Parcel.__table__
RP = RunParcel.__table__
RU = RunUnit.__table__
RC = RunCase.__table__
CF = ControlFeature.__table__
#: the R*Tree of each geometry table on SQLite (migration 0008), kept by triggers
_RTREE = {t.name: Table(f"{t.name}_rtree", MetaData(), Column("id", Integer),
                        *(Column(c, Float) for c in ("minx", "maxx", "miny", "maxy"))) for t in (P, CF)}


class FeatureError(ValueError):
    """A request the collections cannot answer (unknown collection, bad filter value)."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.code, self.zh, self.en = code, zh, en


@dataclass(frozen=True)
class Collection:
    """A collection: its id, names, and queryables (property → JSON type)."""

    id: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    queryables: dict[str, str]
    kind: str  # parcels | flagged | units | recommendations | control
    layer_kind: str | None = None


_PARCEL_Q = {"key": "string", "parcel_code": "string", "dlbm": "string", "district_code": "string",
             "right_holder": "string"}
_FLAGGED_Q = {"key": "string", "district_code": "string", "dlbm": "string", "tags": "string",
              "firm_class": "string", "space": "string", "planned_code": "string", "unit_id": "integer"}
_UNIT_Q = {"unit_id": "integer", "n_parcels": "integer", "tags": "string"}
_CASE_Q = {"case_id": "string", "district_code": "string", "tags": "string", "family": "string",
           "path": "string", "rule_id": "string", "unit_id": "integer"}
_CONTROL_Q = {"feature_id": "string", "name": "string", "district_code": "string"}

COLLECTIONS: dict[str, Collection] = {c.id: c for c in [
    Collection("parcels", "宗地/图斑", "parcels", "全部入库宗地（地类、行政区、权利人、面积亩）",
               "every stored parcel (land use, district, holder, area in mu)", _PARCEL_Q, "parcels"),
    Collection("flagged", "标注地块（最新分析批次）", "flagged parcels (latest run)",
               "最新分析批次的标注地块：标注、亩均分类、规划用途、连片单元、处置类别与路径",
               "the latest run's flagged parcels: tags, firm class, planned use, unit, disposal family and path",
               _FLAGGED_Q, "flagged"),
    Collection("units", "连片单元（最新分析批次）", "consolidation units (latest run)",
               "最新分析批次的连片单元，形状为成员宗地的合并", "the latest run's 连片 units, shaped as the union of their parcels",
               _UNIT_Q, "units"),
    Collection("recommendations", "处置建议（最新分析批次）", "recommendations (latest run)",
               "最新分析批次的处置建议，形状为所含宗地的合并", "the latest run's recommended cases, shaped as the union of their parcels",
               _CASE_Q, "recommendations"),
    *[Collection(k, zh, en, f"管控图层：{zh}", f"control layer: {en}",
                 {**_CONTROL_Q, **({"ydyh_code": "string"} if k == "planned_use" else {})}, "control", k)
      for k, (zh, en) in LAYER_KINDS.items()],
]}


def collection(cid: str) -> Collection:
    """The collection ``cid``; :class:`FeatureError` when there is none."""
    if cid not in COLLECTIONS:
        raise FeatureError("no_collection", f"没有图层 {cid}", f"no collection {cid}")
    return COLLECTIONS[cid]


@dataclass
class Feature:
    """One feature: id, geometry (EPSG:4490, lon/lat) and properties."""

    id: str | int
    geometry: Any
    properties: dict[str, Any]


@dataclass
class Page:
    """A page of features and how many match in all."""

    features: list[Feature]
    number_matched: int
    run_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers


def latest_run_id(conn: Connection) -> int | None:
    """The newest finished run, or None."""
    return conn.scalar(select(func.max(AnalysisRun.id)).where(AnalysisRun.status == "done"))


def _sqlite_intersects(wkb: bytes | None, x0: float, y0: float, x1: float, y1: float) -> int:
    if wkb is None:
        return 0
    return int(shapely.intersects(shapely.from_wkb(wkb), shapely.box(x0, y0, x1, y1)))


def data_stamp(conn: Connection) -> tuple:
    """What derived views (tiles, list totals, targets) depend on: the store, the latest run, the
    loads (every change of source data is a new ingest batch), the clearance cases — their number and
    their latest opening or move; a comment changes no view — and the ledger."""
    cc, ce, ib, qt = ClearanceCase.__table__, CaseEvent.__table__, IngestBatch.__table__, QuotaTransfer.__table__
    return (str(conn.engine.url), latest_run_id(conn), *conn.execute(select(func.count(), func.max(ib.c.id))).one(),
            conn.scalar(select(func.count()).select_from(cc)),
            conn.scalar(select(ce.c.id).where(ce.c.action != "comment").order_by(ce.c.id.desc()).limit(1)),
            conn.scalar(select(func.max(qt.c.id))))


@contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A connection (one read transaction); on SQLite with ``lr_intersects(wkb, x0, y0, x1, y1)``."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.connection.driver_connection.create_function(
                "lr_intersects", 5, _sqlite_intersects, deterministic=True)
        with conn.begin():
            yield conn


def geom_column(conn: Connection, col: ColumnElement) -> ColumnElement:
    """The geometry as WKB: PostGIS converts, SQLite stores WKB."""
    return func.ST_AsBinary(col) if conn.dialect.name == "postgresql" else col


def to_shapes(values: Sequence[Any]) -> np.ndarray:
    """Shapely geometries from WKB values (bytes, memoryview or None)."""
    return shapely.from_wkb([None if v is None else bytes(v) for v in values])


def box_overlaps(conn: Connection, t: Any, box: Sequence[float]) -> ColumnElement:
    """Rows of ``t`` (parcels or control features) whose bounding box meets ``box`` (lon/lat), found
    through the spatial index: GiST with ``&&`` on PostGIS, the R*Tree on SQLite."""
    x0, y0, x1, y1 = (float(v) for v in box)
    overlap = and_(t.c.maxx >= x0, t.c.minx <= x1, t.c.maxy >= y0, t.c.miny <= y1)
    if conn.dialect.name == "postgresql":
        return and_(t.c.geom.op("&&")(func.ST_MakeEnvelope(x0, y0, x1, y1, 4490)), overlap)
    r = _RTREE[t.name]
    return and_(t.c.id.in_(select(r.c.id).where(r.c.maxx >= x0, r.c.minx <= x1, r.c.maxy >= y0, r.c.miny <= y1)),
                overlap)


def intersects_box(conn: Connection, t: Any, box: Sequence[float]) -> ColumnElement:
    """Rows of ``t`` whose geometry intersects ``box`` (lon/lat, EPSG:4490): the spatial index
    narrows the rows; the exact test runs only where a row's box is not inside ``box``."""
    x0, y0, x1, y1 = (float(v) for v in box)
    near = box_overlaps(conn, t, box)
    if conn.dialect.name == "postgresql":
        return and_(near, func.ST_Intersects(t.c.geom, func.ST_MakeEnvelope(x0, y0, x1, y1, 4490)))
    inside = and_(t.c.minx >= x0, t.c.maxx <= x1, t.c.miny >= y0, t.c.maxy <= y1)
    return and_(near, or_(inside, func.lr_intersects(t.c.geom, x0, y0, x1, y1) == 1))


def _typed(name: str, kind: str, value: str) -> Any:
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        raise FeatureError("bad_filter", f"筛选条件 {name} 须为数字：{value}",
                           f"filter {name} must be a number: {value}") from None
    return value


def _filtered(q: Select, cols: dict[str, ColumnElement], c: Collection, filters: dict[str, str]) -> Select:
    for name, value in filters.items():
        if name not in c.queryables:
            raise FeatureError("bad_filter", f"{c.id} 不能按 {name} 筛选", f"{c.id} has no queryable {name}")
        q = q.where(cols[name] == _typed(name, c.queryables[name], value))
    return q


_CASES: dict[tuple[str, int], dict[str, tuple]] = {}
_CASE_LOCK = threading.Lock()


def run_case_map(conn: Connection, run_id: int) -> dict[str, tuple]:
    """Per flagged parcel of ``run_id``: (case id, family, path) of its recommended case; kept in
    memory per run (a finished run does not change)."""
    key = (str(conn.engine.url), run_id)
    with _CASE_LOCK:
        if key in _CASES:
            return _CASES[key]
    out: dict[str, tuple] = {}
    for case_id, members, family, path in conn.execute(
            select(RC.c.case_id, RC.c.parcel_keys, RC.c.family, RC.c.path).where(RC.c.run_id == run_id)):
        for k in (members or "").split(";"):
            if k:
                out[k] = (case_id, family, path)
    with _CASE_LOCK:
        if len(_CASES) >= 4:
            _CASES.clear()
        _CASES[key] = out
    return out


def clearance_case_of(conn: Connection, keys: Sequence[str]) -> dict[str, str]:
    """Per parcel key: the number of the clearance case holding it (an open one first, else the
    latest closed one). The parcels' case links come first, then their cases: both by index (a join
    lets SQLite probe every case against the whole key list)."""
    cc = ClearanceCase.__table__
    cp = CaseParcel.__table__
    keys = list(dict.fromkeys(keys))
    links: list[tuple[str, int]] = []
    for i in range(0, len(keys), _CHUNK):
        links += conn.execute(select(cp.c.parcel_key, cp.c.case_id).where(cp.c.parcel_key.in_(keys[i:i + _CHUNK]))).all()
    ids = sorted({cid for _, cid in links})
    cases = {cid: (closed is None, cid, no) for i in range(0, len(ids), _CHUNK)
             for cid, no, closed in conn.execute(select(cc.c.id, cc.c.case_no, cc.c.closed_at)
                                                 .where(cc.c.id.in_(ids[i:i + _CHUNK])))}
    out: dict[str, tuple[bool, int, str]] = {}
    for key, cid in links:
        if key not in out or cases[cid] > out[key]:
            out[key] = cases[cid]
    return {k: v[2] for k, v in out.items()}


# --------------------------------------------------------------------------- per collection


@dataclass
class _Spec:
    """How to read one collection: the row query, its id and filterable columns, its bbox test,
    and (for units and cases) how to shape a page of features."""

    query: Select
    fid: ColumnElement
    cols: dict[str, ColumnElement]
    where_box: Callable[[Sequence[float]], ColumnElement]
    build: Callable[[Connection, list[Any]], list[Feature]]


def _parcel_spec(conn: Connection, c: Collection, run_id: int | None) -> _Spec:
    cols = {"key": P.c.key, "parcel_code": P.c.parcel_code, "dlbm": P.c.dlbm, "dlmc": P.c.dlmc,
            "district_code": P.c.district_code, "right_holder": P.c.right_holder}
    q = select(*cols.values(), P.c.area_m2, geom_column(conn, P.c.geom).label("wkb"))

    def build(_conn: Connection, rows: list[Any]) -> list[Feature]:
        shapes = to_shapes([r.wkb for r in rows])
        return [Feature(r.key, g, {**{k: getattr(r, k) for k in cols},
                                   "area_mu": None if r.area_m2 is None else round(r.area_m2 / M2_PER_MU, 4)})
                for r, g in zip(rows, shapes, strict=True)]

    return _Spec(q, P.c.key, cols, lambda box: intersects_box(conn, P, box), build)


def _flagged_spec(conn: Connection, c: Collection, run_id: int) -> _Spec:
    cols = {"key": P.c.key, "district_code": RP.c.district_code, "dlbm": RP.c.dlbm, "tags": RP.c.tags,
            "firm_class": RP.c.firm_class, "space": RP.c.space, "planned_code": RP.c.planned_code,
            "unit_id": RP.c.unit_id}
    extra = [RP.c.area_mu, RP.c.park_name, RP.c.plan_zone, RP.c.firm_uscc, RP.c.rule_ids]
    q = (select(*cols.values(), *extra, geom_column(conn, P.c.geom).label("wkb"))
         .select_from(P.join(RP, and_(RP.c.parcel_key == P.c.key, RP.c.run_id == run_id))))

    def build(conn: Connection, rows: list[Any]) -> list[Feature]:
        shapes = to_shapes([r.wkb for r in rows])
        cases = run_case_map(conn, run_id)
        out = []
        for r, g in zip(rows, shapes, strict=True):
            props = {k: getattr(r, k) for k in cols} | {e.name: getattr(r, e.name) for e in extra}
            props |= dict(zip(("case_id", "family", "path"), cases.get(r.key, (None, None, None)), strict=True))
            out.append(Feature(r.key, g, props | {"run_id": run_id}))
        return out

    return _Spec(q, P.c.key, cols, lambda box: intersects_box(conn, P, box), build)


def _member_shapes(conn: Connection, keys: list[str]) -> pd.Series:
    """Parcel key → shape, for ``keys``."""
    keys = list(dict.fromkeys(keys))
    got: dict[str, Any] = {}
    for i in range(0, len(keys), _CHUNK):
        rows = conn.execute(select(P.c.key, geom_column(conn, P.c.geom).label("wkb"))
                            .where(P.c.key.in_(keys[i:i + _CHUNK]))).all()
        got.update(zip([r.key for r in rows], to_shapes([r.wkb for r in rows]), strict=True))
    return pd.Series(got, dtype=object)


def _unions(shapes: pd.Series, groups: dict[Any, list[str]]) -> dict[Any, Any]:
    """Per group id, the union of its members' shapes (drawn by ``unit_geometries``, as the
    run's GeoPackage draws units)."""
    names = list(groups)
    keys = [k for ks in groups.values() for k in ks]
    if not keys:
        return {}
    gid = pd.Series(np.repeat(np.arange(len(names)), [len(v) for v in groups.values()]), dtype="Int64")
    geoms = gpd.GeoDataFrame(geometry=[shapes.get(k) for k in keys], crs="EPSG:4490")
    return {names[int(i)]: g for i, g in unit_geometries(geoms, gid).items()}


def _unit_spec(conn: Connection, c: Collection, run_id: int) -> _Spec:
    cols = {"unit_id": RU.c.unit_id, "n_parcels": RU.c.n_parcels, "tags": RU.c.tags}
    q = select(*cols.values(), RU.c.area_mu, RU.c.members).where(RU.c.run_id == run_id)

    def where_box(box: Sequence[float]) -> ColumnElement:
        hit = (select(RP.c.unit_id).join(P, P.c.key == RP.c.parcel_key)
               .where(RP.c.run_id == run_id, RP.c.unit_id.is_not(None), intersects_box(conn, P, box)))
        return RU.c.unit_id.in_(hit)

    def build(conn: Connection, rows: list[Any]) -> list[Feature]:
        members = {r.unit_id: [k for k in (r.members or "").split(";") if k] for r in rows}
        shapes = _unions(_member_shapes(conn, [k for ks in members.values() for k in ks]), members)
        return [Feature(r.unit_id, shapes.get(r.unit_id), {
            "unit_id": r.unit_id, "n_parcels": r.n_parcels, "area_mu": r.area_mu, "tags": r.tags,
            "members": r.members, "run_id": run_id}) for r in rows]

    return _Spec(q, RU.c.unit_id, cols, where_box, build)


_CASE_PROPS = ("case_id", "unit_id", "n_parcels", "parcel_keys", "district_code", "area_mu", "construction_mu",
               "tags", "matched", "family", "path", "path_zh", "rule_id", "clause", "reason_zh", "reason_en",
               "priority", "vacated_mu", "cultivated_mu", "paddy_mu", "grain_kg", "construction_quota_mu",
               "stock_linkage_mu")


def _case_spec(conn: Connection, c: Collection, run_id: int) -> _Spec:
    cols = {k: RC.c[k] for k in c.queryables}
    q = select(*[RC.c[k] for k in _CASE_PROPS]).where(RC.c.run_id == run_id)

    def where_box(box: Sequence[float]) -> ColumnElement:
        inside = select(P.c.key).where(intersects_box(conn, P, box))
        units = (select(RP.c.unit_id).join(P, P.c.key == RP.c.parcel_key)
                 .where(RP.c.run_id == run_id, RP.c.unit_id.is_not(None), intersects_box(conn, P, box)))
        return or_(and_(RC.c.n_parcels > 1, RC.c.unit_id.in_(units)),
                   and_(RC.c.n_parcels == 1, RC.c.parcel_keys.in_(inside)))

    def build(conn: Connection, rows: list[Any]) -> list[Feature]:
        members = {r.case_id: [k for k in (r.parcel_keys or "").split(";") if k] for r in rows}
        shapes = _unions(_member_shapes(conn, [k for ks in members.values() for k in ks]), members)
        return [Feature(r.case_id, shapes.get(r.case_id), {k: getattr(r, k) for k in _CASE_PROPS} | {"run_id": run_id})
                for r in rows]

    return _Spec(q, RC.c.case_id, cols, where_box, build)


def _control_spec(conn: Connection, c: Collection, run_id: int | None) -> _Spec:
    cols = {k: CF.c[k] for k in c.queryables}
    props = ["feature_id", "name", "district_code", *(["ydyh_code"] if c.layer_kind == "planned_use" else [])]
    q = (select(CF.c.id, *[CF.c[k] for k in props], CF.c.area_m2, geom_column(conn, CF.c.geom).label("wkb"))
         .where(CF.c.layer_kind == c.layer_kind))

    def build(_conn: Connection, rows: list[Any]) -> list[Feature]:
        shapes = to_shapes([r.wkb for r in rows])
        return [Feature(r.id, g, {"layer_kind": c.layer_kind, **{k: getattr(r, k) for k in props},
                                  "area_mu": None if r.area_m2 is None else round(r.area_m2 / M2_PER_MU, 4)})
                for r, g in zip(rows, shapes, strict=True)]

    return _Spec(q, CF.c.id, cols, lambda box: intersects_box(conn, CF, box), build)


_SPECS = {"parcels": _parcel_spec, "flagged": _flagged_spec, "units": _unit_spec,
          "recommendations": _case_spec, "control": _control_spec}


def _spec(conn: Connection, c: Collection) -> tuple[_Spec | None, int | None]:
    run_id = latest_run_id(conn)
    if c.kind in ("flagged", "units", "recommendations") and run_id is None:
        return None, None
    return _SPECS[c.kind](conn, c, run_id), run_id


def items(engine: Engine, cid: str, *, bbox: Sequence[float] | None = None, filters: dict[str, str] | None = None,
          limit: int = 10, offset: int = 0) -> Page:
    """A page of ``cid``'s features intersecting ``bbox`` (lon/lat, EPSG:4490) whose queryables
    equal ``filters``, in id order, and how many match in all."""
    c = collection(cid)
    limit = max(0, min(int(limit), MAX_LIMIT))
    with connect(engine) as conn:
        spec, run_id = _spec(conn, c)
        if spec is None:
            return Page([], 0, None)
        q = _filtered(spec.query, spec.cols, c, filters or {})
        if bbox is not None:
            q = q.where(spec.where_box(bbox))
        matched = conn.scalar(select(func.count()).select_from(
            q.with_only_columns(spec.fid).order_by(None).subquery()))
        rows = conn.execute(q.order_by(spec.fid).limit(limit).offset(max(0, int(offset)))).all()
        return Page(spec.build(conn, rows), int(matched or 0), run_id)


def item(engine: Engine, cid: str, fid: str) -> Feature | None:
    """One feature of ``cid`` by id, or None."""
    c = collection(cid)
    with connect(engine) as conn:
        spec, _ = _spec(conn, c)
        if spec is None:
            return None
        value: Any = fid
        if spec.fid.type.python_type is int:
            try:
                value = int(fid)
            except ValueError:
                return None
        rows = conn.execute(spec.query.where(spec.fid == value)).all()
        return spec.build(conn, rows)[0] if rows else None


_EXTENTS: dict[tuple, list[float] | None] = {}


def extent(engine: Engine, cid: str) -> list[float] | None:
    """The collection's bounding box (lon/lat) or None when empty; remembered until the data change."""
    c = collection(cid)
    with connect(engine) as conn:
        run_id = latest_run_id(conn)
        stamp = (str(engine.url), cid, run_id, conn.scalar(select(func.max(P.c.id))),
                 conn.scalar(select(func.max(CF.c.id))))
        if stamp in _EXTENTS:
            return _EXTENTS[stamp]
        box = [func.min(P.c.minx), func.min(P.c.miny), func.max(P.c.maxx), func.max(P.c.maxy)]
        if c.kind == "parcels":
            q = select(*box)
        elif c.kind == "control":
            q = select(func.min(CF.c.minx), func.min(CF.c.miny), func.max(CF.c.maxx), func.max(CF.c.maxy)
                       ).where(CF.c.layer_kind == c.layer_kind)
        elif run_id is None:
            q = None
        else:
            q = select(*box).select_from(P.join(RP, RP.c.parcel_key == P.c.key)).where(RP.c.run_id == run_id)
            if c.kind == "units":
                q = q.where(RP.c.unit_id.in_(select(RU.c.unit_id).where(RU.c.run_id == run_id)))
        row = conn.execute(q).one() if q is not None else None
        out = None if row is None or row[0] is None else [float(v) for v in row]
        if len(_EXTENTS) > 256:
            _EXTENTS.clear()
        _EXTENTS[stamp] = out
        return out


def swap_axes(geom: Any) -> Any:
    """The geometry with x and y exchanged (lon/lat ↔ lat/lon)."""
    return None if geom is None else shapely.transform(geom, lambda xy: xy[:, ::-1])
