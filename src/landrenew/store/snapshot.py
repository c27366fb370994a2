"""Read the workspace into frames for analysis: one consistent snapshot and its hash."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyproj
import shapely
from numpy.typing import NDArray
from sqlalchemy import Connection, Engine, Table, select

from landrenew.geo.area import project
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
    whose rows are in the store, so two runs on the same loads share it. ``folder`` is the
    snapshot's cache folder, if it has one.
    """

    parcels: gpd.GeoDataFrame
    layers: gpd.GeoDataFrame
    firms: pd.DataFrame
    firm_parcels: pd.DataFrame
    evidence: gpd.GeoDataFrame
    input_hash: str
    folder: Path | None = None
    _planar: dict[str, NDArray[np.object_]] = field(default_factory=dict, repr=False, compare=False)

    def planar(self, crs: str) -> NDArray[np.object_]:
        """The parcels' geometries in the projected ``crs`` (the profile's area CRS), in parcel order.

        Projected once per snapshot, as a database keeps a projected column: held here and, for a
        cached snapshot, written beside its frames (``parcels.<crs>.parquet``, WKB), so the next
        analysis of the same data reads them (about 1 s per million parcels instead of 2.7 s).
        """
        key = pyproj.CRS(crs).to_string()
        if key not in self._planar:
            path = self.folder / f"parcels.{key.replace(':', '_')}.parquet" if self.folder else None
            if path is not None and path.exists():
                geoms = shapely.from_wkb(pq.read_table(path).column("wkb").to_numpy(zero_copy_only=False))
            else:
                geoms = project(self.parcels.geometry, crs)
                if path is not None:
                    tmp = path.with_suffix(f".{os.getpid()}.tmp")
                    pq.write_table(pa.table({"wkb": shapely.to_wkb(geoms)}), tmp)
                    tmp.replace(path)  # atomic: a concurrent reader sees the whole file or none
            self._planar[key] = geoms
        return self._planar[key]


FRAMES = ("parcels", "layers", "firms", "firm_parcels", "evidence")
_TABLES = {"parcels": Parcel, "layers": ControlFeature, "firms": FirmYear, "firm_parcels": FirmParcel,
           "evidence": Evidence}
_GEO = {"parcels", "layers", "evidence"}
_SKIP = ("id", "minx", "miny", "maxx", "maxy")


def input_hash(conn: Connection) -> str:
    """SHA-256 of the ingest batches (id and file hash) whose rows are in the store now."""
    ids: set[int] = set()
    for model in _TABLES.values():
        ids |= {int(b) for b in conn.execute(select(model.batch_id).distinct()).scalars()}
    hashes = conn.execute(select(IngestBatch.id, IngestBatch.file_sha256)
                          .where(IngestBatch.id.in_(sorted(ids))).order_by(IngestBatch.id)).all()
    return hashlib.sha256("\n".join(f"{i}:{h}" for i, h in hashes).encode()).hexdigest()


def read_snapshot(engine: Engine, cache_dir: Path | None = None) -> Snapshot:
    """Read parcels, control layers, firm-years, firm–parcel links and evidence in one transaction.

    With ``cache_dir`` the frames are kept as Parquet files named by the input hash, so the
    next read of unchanged data (another run, a what-if) skips the database.
    """
    with engine.connect() as conn, conn.begin():
        digest = input_hash(conn)
        cached = cache_dir / digest if cache_dir else None
        if cached is not None and (cached / "done").exists():
            return _read_cache(cached, digest)
        frames = {name: (_read_geo if name in _GEO else _read)(conn, _TABLES[name].__table__, _SKIP)
                  for name in FRAMES}
    snap = Snapshot(**frames, input_hash=digest)
    if cached is not None:
        _write_cache(snap, cached)
        snap.folder = cached
    return snap


def _write_cache(snap: Snapshot, folder: Path) -> None:
    """One Parquet file per frame (attrs as JSON text), then a ``done`` marker; older states go."""
    if folder.parent.exists():
        for old in folder.parent.iterdir():
            if old.is_dir() and old != folder:
                shutil.rmtree(old, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    for name in FRAMES:
        df = getattr(snap, name)
        if "attrs" in df.columns:
            df = df.assign(attrs=[json.dumps(a, ensure_ascii=False) for a in df["attrs"]])
        df.to_parquet(folder / f"{name}.parquet")
    (folder / "done").touch()


def _read_cache(folder: Path, digest: str) -> Snapshot:
    frames = {}
    for name in FRAMES:
        path = folder / f"{name}.parquet"
        df = gpd.read_parquet(path) if name in _GEO else pd.read_parquet(path)
        if "attrs" in df.columns:
            df["attrs"] = [json.loads(a) for a in df["attrs"]]
        frames[name] = df
    return Snapshot(**frames, input_hash=digest, folder=folder)


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
