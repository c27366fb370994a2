"""Write one validated source into the store as one ingest batch, in one transaction.

Rows replace earlier rows with the same natural key (a re-delivered list updates it);
a control layer is delivered whole, so loading one replaces that layer.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, and_, delete, insert, select

from landrenew.store import textindex
from landrenew.store.bulk import bulk_writing, delete_in, insert_frame
from landrenew.store.models import (
    ControlFeature,
    DistrictYear,
    Evidence,
    FirmParcel,
    FirmYear,
    IngestBatch,
    IngestIssue,
    LandSupply,
    Parcel,
)
from landrenew.store.workspace import refresh_statistics

#: evidence list kind → (record id, event date, category) columns; every other field goes to attrs
EVIDENCE_FIELDS: dict[str, tuple[str, str, str | None]] = {
    "hazards": ("record_id", "found_date", "hazard_type"),
    "pollution": ("case_id", "decision_date", "violation_type"),
    "enforcement": ("case_id", "detect_date", "case_type"),
    "unsupplied": ("batch_id", "approval_date", None),
    "idle": ("parcel_code", "contract_start_date", None),
}


@dataclass(frozen=True)
class BatchInfo:
    """What is recorded about a load besides its rows."""

    kind: str
    file_name: str
    file_sha256: str
    rows_read: int
    layer_kind: str | None = None
    sheet: str | None = None
    source_crs: str | None = None
    profile_id: str | None = None
    user: str | None = None
    note: str | None = None


def write_batch(engine: Engine, info: BatchInfo, records: pd.DataFrame, issues: pd.DataFrame) -> int:
    """Store ``records`` (canonical columns) and the non-error ``issues``; return the batch id."""
    with engine.begin() as conn, bulk_writing(conn):
        batch_id = conn.execute(insert(IngestBatch.__table__).returning(IngestBatch.__table__.c.id), [{
            "kind": info.kind, "layer_kind": info.layer_kind, "file_name": info.file_name,
            "file_sha256": info.file_sha256, "sheet": info.sheet, "source_crs": info.source_crs,
            "rows_read": info.rows_read, "rows_loaded": len(records), "rows_rejected": info.rows_read - len(records),
            "warnings": int((issues["severity"] == "warning").sum()),
            "repairs": int((issues["severity"] == "repaired").sum()),
            "loaded_at": datetime.now(UTC), "user": info.user or current_user(), "profile_id": info.profile_id,
            "note": info.note,
        }]).scalar_one()
        kept = issues[issues["severity"] != "error"].assign(batch_id=batch_id)
        insert_frame(conn, IngestIssue.__table__, kept)
        WRITERS[info.kind](conn, batch_id, records, info)
        if info.kind in ("parcels", "firms"):
            textindex.refresh(conn)
    refresh_statistics(engine)
    return batch_id


def current_user() -> str:
    """The login name of whoever runs the command (``unknown`` when there is none)."""
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def _geometry_columns(records: pd.DataFrame, dialect: str) -> pd.DataFrame:
    """geom (WKB, or EWKB hex for PostGIS), bounding box; area_m2 comes from intake."""
    if not isinstance(records, gpd.GeoDataFrame):
        return pd.DataFrame(index=records.index, data={k: None for k in ("geom", "minx", "miny", "maxx", "maxy")})
    geoms = records.geometry.values
    bounds = shapely.bounds(geoms)
    missing = shapely.is_missing(geoms)
    if dialect == "postgresql":
        wkb = shapely.to_wkb(shapely.set_srid(geoms, 4490), hex=True, include_srid=True)
    else:
        wkb = shapely.to_wkb(geoms)
    wkb = np.where(missing, None, wkb)
    return pd.DataFrame({"geom": wkb, "minx": bounds[:, 0], "miny": bounds[:, 1], "maxx": bounds[:, 2],
                         "maxy": bounds[:, 3]}, index=records.index)


def _chunks(values: list, size: int = 900) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _write_parcels(conn: Connection, batch_id: int, records: pd.DataFrame, info: BatchInfo) -> None:
    table = Parcel.__table__
    keys = records["parcel_code"].fillna("BSM:" + records["bsm"].astype("string"))
    delete_in(conn, table, "key", keys.tolist())
    cols = [c.name for c in table.columns if c.name in records.columns and c.name != "geom"]
    df = pd.concat([pd.DataFrame(records[cols]), _geometry_columns(records, conn.dialect.name)], axis=1)
    df = df.loc[:, ~df.columns.duplicated()].assign(key=keys.to_numpy(), batch_id=batch_id)
    insert_frame(conn, table, df)


def _write_layer(conn: Connection, batch_id: int, records: pd.DataFrame, info: BatchInfo) -> None:
    table = ControlFeature.__table__
    conn.execute(delete(table).where(table.c.layer_kind == info.layer_kind))
    cols = ["feature_id", "name", "district_code", "ydyh_code", "area_m2"]
    df = pd.concat([pd.DataFrame(records[cols]), _geometry_columns(records, conn.dialect.name)], axis=1)
    insert_frame(conn, table, df.assign(layer_kind=info.layer_kind, batch_id=batch_id))


def _write_firms(conn: Connection, batch_id: int, records: pd.DataFrame, info: BatchInfo) -> None:
    firm, link = FirmYear.__table__, FirmParcel.__table__
    for year, usccs in records.groupby(records["year"].astype(int))["uscc"]:
        for t in (firm, link):
            delete_in(conn, t, "uscc", usccs.tolist(), t.c.year == year)
    cols = [c.name for c in firm.columns if c.name in records.columns]
    insert_frame(conn, firm, records[cols].assign(batch_id=batch_id))
    links = records[["uscc", "year", "parcel_codes"]].dropna(subset=["parcel_codes"])
    links = links.assign(parcel_code=links["parcel_codes"].str.split(";")).explode("parcel_code")
    insert_frame(conn, link, links[["uscc", "year", "parcel_code"]].assign(batch_id=batch_id))


def _write_evidence(conn: Connection, batch_id: int, records: pd.DataFrame, info: BatchInfo) -> None:
    table = Evidence.__table__
    rid, when, category = EVIDENCE_FIELDS[info.kind]
    ids = records[rid].astype(str).tolist()
    delete_in(conn, table, "record_id", ids, table.c.kind == info.kind)
    common = {"uscc", "parcel_code", "district_code", "status", "area_m2"}
    attr_cols = [c for c in records.columns if c not in common | {rid, when, category, "geometry"}]
    attrs = pd.DataFrame(records[attr_cols])
    for c in attr_cols:
        if pd.api.types.is_datetime64_any_dtype(attrs[c]):
            attrs[c] = attrs[c].dt.strftime("%Y-%m-%d")
    attr_json = [json.loads(s) for s in attrs.to_json(orient="records", force_ascii=False, lines=True).splitlines()]
    base = pd.DataFrame({
        "kind": info.kind, "record_id": ids,
        "uscc": records.get("uscc"), "parcel_code": records.get("parcel_code"),
        "district_code": records.get("district_code"), "event_date": records[when],
        "category": records[category] if category else None, "status": records.get("status"),
        "area_m2": records.get("area_m2"), "batch_id": batch_id,
    }, index=records.index)
    df = pd.concat([base, _geometry_columns(records, conn.dialect.name)], axis=1)
    insert_frame(conn, table, df.assign(attrs=attr_json))


def _write_supply(conn: Connection, batch_id: int, records: pd.DataFrame, info: BatchInfo) -> None:
    """Land-supply records, replacing earlier ones with the same 电子监管号."""
    table = LandSupply.__table__
    delete_in(conn, table, "record_id", records["record_id"].astype(str).tolist())
    cols = [c.name for c in table.columns if c.name in records.columns]
    insert_frame(conn, table, pd.DataFrame(records[cols]).assign(batch_id=batch_id))


#: the figures of a district-year, each of which a delivery may or may not carry
STATISTICS_FIGURES = ("gdp_yi", "construction_land_mu", "total_area_mu", "cultivated_land_mu")


def stored_statistics(conn: Connection, keys: pd.DataFrame) -> pd.DataFrame:
    """The stored figures of the (district_code, year) pairs in ``keys``, indexed by them."""
    table = DistrictYear.__table__
    frames = []
    for year, districts in keys.groupby(keys["year"].astype(int))["district_code"]:
        for chunk in _chunks(districts.astype(str).unique().tolist()):
            q = select(table.c.district_code, table.c.year, *(table.c[f] for f in STATISTICS_FIGURES)).where(
                and_(table.c.year == year, table.c.district_code.in_(chunk)))
            frames.append(pd.DataFrame(conn.execute(q).fetchall(), columns=["district_code", "year",
                                                                             *STATISTICS_FIGURES]))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["district_code", "year", *STATISTICS_FIGURES])
    return out.astype({"year": int}).set_index(["district_code", "year"])


def merge_statistics(records: pd.DataFrame, stored: pd.DataFrame) -> pd.DataFrame:
    """District-years of ``records`` with the figures they leave blank taken from ``stored``."""
    new = records.assign(year=records["year"].astype(int)).set_index(["district_code", "year"])
    new = new[list(STATISTICS_FIGURES)].astype("float64")
    old = stored.reindex(new.index)[list(STATISTICS_FIGURES)].astype("float64")
    return new.fillna(old).reset_index()


def _write_statistics(conn: Connection, batch_id: int, records: pd.DataFrame, info: BatchInfo) -> None:
    """Yearly district statistics, merged by district + year: the figures a file gives replace the stored
    ones, figures it leaves blank keep theirs (GDP from 统计局 and land areas from 自然资源和规划局 may come
    in separate files)."""
    table = DistrictYear.__table__
    merged = merge_statistics(records, stored_statistics(conn, records))
    for year, districts in merged.groupby("year")["district_code"]:
        delete_in(conn, table, "district_code", districts.astype(str).tolist(), table.c.year == int(year))
    insert_frame(conn, table, merged.assign(batch_id=batch_id))


WRITERS = {"parcels": _write_parcels, "layer": _write_layer, "firms": _write_firms,
           **{k: _write_evidence for k in EVIDENCE_FIELDS}, "supply": _write_supply,
           "statistics": _write_statistics}
