"""Read the workspace into frames for analysis: one consistent snapshot and its hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, Table, select

from landrenew.store.models import (
    ControlFeature,
    Evidence,
    FirmParcel,
    FirmYear,
    IngestBatch,
    Parcel,
)

DATE_COLUMNS = ("approval_date", "supply_date", "contract_start_date", "actual_start_date", "event_date")


@dataclass
class Snapshot:
    """Everything the analysis reads, as frames (geometries in EPSG:4490).

    ``input_hash`` identifies the data: the SHA-256 of the ingest batches (id and file hash)
    whose rows are in the store, so two runs on the same loads share it.
    """

    parcels: gpd.GeoDataFrame
    layers: gpd.GeoDataFrame
    firms: pd.DataFrame
    firm_parcels: pd.DataFrame
    evidence: gpd.GeoDataFrame
    input_hash: str


def read_snapshot(engine: Engine) -> Snapshot:
    """Read parcels, control layers, firm-years, firm–parcel links and evidence in one transaction."""
    with engine.connect() as conn, conn.begin():
        parcels = _read_geo(conn, Parcel.__table__, exclude=("id", "minx", "miny", "maxx", "maxy"))
        layers = _read_geo(conn, ControlFeature.__table__, exclude=("id", "minx", "miny", "maxx", "maxy"))
        firms = _read(conn, FirmYear.__table__, exclude=("id",))
        links = _read(conn, FirmParcel.__table__, exclude=("id",))
        evidence = _read_geo(conn, Evidence.__table__, exclude=("id", "minx", "miny", "maxx", "maxy"))
        batch_ids = sorted({int(b) for df in (parcels, layers, firms, links, evidence) for b in df["batch_id"].unique()})
        hashes = conn.execute(select(IngestBatch.id, IngestBatch.file_sha256)
                              .where(IngestBatch.id.in_(batch_ids)).order_by(IngestBatch.id)).all()
    digest = hashlib.sha256("\n".join(f"{i}:{h}" for i, h in hashes).encode()).hexdigest()
    return Snapshot(parcels, layers, firms, links, evidence, digest)


def _read(conn: Connection, table: Table, exclude: tuple[str, ...]) -> pd.DataFrame:
    cols = [c for c in table.columns if c.name not in exclude]
    rows = conn.execute(select(*cols).order_by(table.c.id)).all()
    df = pd.DataFrame.from_records(list(map(tuple, rows)), columns=[c.name for c in cols])
    for c in DATE_COLUMNS:
        if c in df.columns:
            df[c] = pd.to_datetime(df[c])
    return df


def _read_geo(conn: Connection, table: Table, exclude: tuple[str, ...]) -> gpd.GeoDataFrame:
    """Rows with their geometry; PostGIS returns EWKB, SQLite the WKB stored at intake."""
    df = _read(conn, table, exclude)
    geoms = df.pop("geom")
    if conn.dialect.name == "postgresql":
        values = shapely.from_wkb([None if g is None else bytes(g.data) if hasattr(g, "data") else g for g in geoms])
    else:
        values = shapely.from_wkb(geoms.to_numpy())
    return gpd.GeoDataFrame(df, geometry=values, crs="EPSG:4490")
