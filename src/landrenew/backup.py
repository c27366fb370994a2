"""``landrenew backup`` / ``restore``: the whole store and the workspace's files in one archive.

A backup is a tar file: ``manifest.json`` (format, landrenew version, schema revision, each
table's row count and each member's SHA-256, the audit chains' heads), one Parquet file per table
(``tables/<name>.parquet``, read in one transaction, so the tables agree with each other) and the
workspace's files (``files/…``: attachments, run outputs, intake reports; not ``cache/`` or
``uploads/``, which are rebuilt or temporary). The same archive restores into SQLite or
PostgreSQL: geometries are kept as WKB, JSON as text, times in UTC.

Restore goes into an empty store only: it brings the store to the backup's schema revision,
inserts every table in one transaction (all or nothing), then upgrades to the current schema, so
a backup made by an older landrenew restores into a newer one. Sign-in sessions are not kept
(everyone signs in again); API tokens are.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from alembic import command
from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Table,
    func,
    select,
    text,
)

from landrenew import __version__
from landrenew.hashing import file_sha256
from landrenew.store import Workspace
from landrenew.store.bulk import bulk_writing, insert_frame
from landrenew.store.chain import TABLES as CHAINED
from landrenew.store.migrate import alembic_config, schema_revision, upgrade
from landrenew.store.models import Base, WebSession
from landrenew.store.workspace import refresh_statistics

FORMAT = "landrenew-backup/1"
#: workspace folders whose files a backup keeps
FILE_FOLDERS = ("attachments", "runs", "reports")
#: tables a backup leaves out: sessions end with a restore
SKIPPED = (WebSession.__tablename__,)
_BATCH = 50_000


class BackupError(ValueError):
    """A backup that cannot be restored here, with the reason in Chinese and English."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


@dataclass
class Manifest:
    """What an archive holds."""

    format: str
    created_at: str
    landrenew: str
    revision: str
    source: str
    tables: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    sha256: dict[str, str] = field(default_factory=dict)
    heads: dict[str, str] = field(default_factory=dict)


def tables() -> list[Table]:
    """The backed-up tables, parents before children."""
    return [t for t in Base.metadata.sorted_tables if t.name not in SKIPPED]


def backup(ws: Workspace, target: Path, progress: Callable[[str], None] = lambda _: None) -> Manifest:
    """Write the workspace's store and files into the tar archive ``target`` (``.tar.gz``: compressed)."""
    target = Path(target)
    manifest = Manifest(FORMAT, datetime.now(UTC).isoformat(timespec="seconds"), __version__,
                        schema_revision(ws.engine) or "", ws.engine.dialect.name)
    with tempfile.TemporaryDirectory(dir=target.parent if target.parent.exists() else None) as tmp:
        folder = Path(tmp)
        with ws.engine.connect() as conn:
            if conn.dialect.name == "postgresql":  # one snapshot for every table (SQLite: its read transaction)
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                for table in tables():
                    progress(table.name)
                    manifest.tables[table.name] = _export(conn, table, folder / f"{table.name}.parquet")
                for name, chain in CHAINED.items():
                    manifest.heads[name] = conn.execute(select(chain.c.row_hash).order_by(chain.c.id.desc())
                                                        .limit(1)).scalar() or ""
        partial = target.with_name(f".{target.name}.partial")
        with tarfile.open(partial, "w:gz" if target.name.endswith(".gz") else "w") as tar:
            for table in tables():
                path = folder / f"{table.name}.parquet"
                manifest.sha256[f"tables/{path.name}"] = file_sha256(path)
                tar.add(path, f"tables/{path.name}")
            for path in _workspace_files(ws):
                rel = path.relative_to(ws.path).as_posix()
                manifest.files[rel] = path.stat().st_size
                manifest.sha256[f"files/{rel}"] = file_sha256(path)
                tar.add(path, f"files/{rel}")
            body = json.dumps(manifest.__dict__, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
        partial.replace(target)  # the archive appears whole or not at all
    return manifest


def restore(source: Path, ws: Workspace, progress: Callable[[str], None] = lambda _: None) -> Manifest:
    """Restore the archive ``source`` into ``ws``, whose store must be empty; checks every member's
    SHA-256 first."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        manifest = _unpack(Path(source), folder)
        _require_empty(ws)
        _at_revision(ws, manifest.revision)
        with ws.engine.begin() as conn, bulk_writing(conn):
            for table in tables():
                if table.name in manifest.tables:
                    progress(table.name)
                    _import(conn, table, folder / "tables" / f"{table.name}.parquet")
            if conn.dialect.name == "postgresql":
                _reset_sequences(conn)
        for rel in manifest.files:
            target = ws.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folder / "files" / rel, target)
    upgrade(ws.engine)
    refresh_statistics(ws.engine)
    return manifest


# --------------------------------------------------------------------------- tables


def _arrow_type(column: Any) -> pa.DataType:
    kind = column.type
    if isinstance(kind, JSON):
        return pa.string()
    if isinstance(kind, Boolean):
        return pa.bool_()
    if isinstance(kind, Integer):
        return pa.int64()
    if isinstance(kind, Float):
        return pa.float64()
    if isinstance(kind, DateTime):
        return pa.timestamp("us", tz="UTC")
    if isinstance(kind, Date):
        return pa.date32()
    if isinstance(kind, LargeBinary) or column.name == "geom":
        return pa.binary()
    return pa.string()


def _to_arrow(column: Any, values: list[Any]) -> pa.Array:
    kind = column.type
    if isinstance(kind, JSON):
        values = [None if v is None else json.dumps(v, ensure_ascii=False, sort_keys=True) for v in values]
    elif isinstance(kind, DateTime):
        values = [None if v is None else (v if v.tzinfo else v.replace(tzinfo=UTC)) for v in values]
    elif column.name == "geom":  # PostGIS gives EWKB with its SRID: keep plain WKB
        values = [None if v is None else shapely.to_wkb(shapely.from_wkb(bytes(v.data) if hasattr(v, "data") else v))
                  for v in values]
    return pa.array(values, type=_arrow_type(column))


def _export(conn: Connection, table: Table, path: Path) -> int:
    columns = list(table.columns)
    schema = pa.schema([(c.name, _arrow_type(c)) for c in columns])
    order = list(table.primary_key.columns) or columns[:1]
    rows = 0
    with pq.ParquetWriter(path, schema) as writer:
        result = conn.execution_options(yield_per=_BATCH).execute(select(table).order_by(*order))
        for chunk in result.partitions():
            data = list(zip(*chunk, strict=True)) if chunk else [[] for _ in columns]
            writer.write_table(pa.table([_to_arrow(c, list(v)) for c, v in zip(columns, data, strict=True)],
                                        schema=schema))
            rows += len(chunk)
    return rows


def _import(conn: Connection, table: Table, path: Path) -> None:
    parquet = pq.ParquetFile(path)
    for batch in parquet.iter_batches(batch_size=_BATCH):
        df = batch.to_pandas(integer_object_nulls=True, date_as_object=True)
        for column in table.columns:
            if column.name not in df:
                continue
            if isinstance(column.type, JSON):
                df[column.name] = [None if v is None else json.loads(v) for v in df[column.name]]
            elif column.name == "geom":
                df[column.name] = _geometry_in(df[column.name], conn.dialect.name)
            elif isinstance(column.type, Date):
                df[column.name] = [v if v is None or isinstance(v, date) else v.date() for v in df[column.name]]
        insert_frame(conn, table, df)


def _geometry_in(values: pd.Series, dialect: str) -> list[Any]:
    if dialect != "postgresql":
        return [None if v is None else bytes(v) for v in values]
    geoms = shapely.from_wkb([None if v is None else bytes(v) for v in values])
    return list(shapely.to_wkb(shapely.set_srid(geoms, 4490), hex=True, include_srid=True))


def _reset_sequences(conn: Connection) -> None:
    """Serial ids continue after the restored ones."""
    for table in tables():
        if "id" in table.c and isinstance(table.c.id.type, Integer) and table.c.id.autoincrement in (True, "auto"):
            seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}).scalar()
            if seq:
                top = conn.execute(select(func.max(table.c.id))).scalar()
                conn.execute(text("SELECT setval(:s, :v, :called)"), {"s": seq, "v": top or 1, "called": top is not None})


def _at_revision(ws: Workspace, revision: str) -> None:
    """The (empty) store's schema at ``revision``: the backup's tables fit it exactly."""
    current = schema_revision(ws.engine)
    if current is not None and current > revision:
        command.downgrade(alembic_config(ws.engine), revision)
    else:
        upgrade(ws.engine, revision)


def _require_empty(ws: Workspace) -> None:
    if schema_revision(ws.engine) is None:
        return
    with ws.engine.connect() as conn:
        for table in tables():
            try:
                n = conn.execute(select(func.count()).select_from(table)).scalar_one()
            except Exception:  # noqa: BLE001 - a table of a later schema is not there yet
                conn.rollback()
                continue
            if n:
                raise BackupError(f"目标数据库不为空（{table.name} 有 {n} 行）：请恢复到新的工作空间或新建的数据库",
                                  f"the target store is not empty ({table.name} has {n} rows): restore into a new "
                                  "workspace or a new database")


# --------------------------------------------------------------------------- files


def _workspace_files(ws: Workspace) -> Iterator[Path]:
    for name in FILE_FOLDERS:
        root = ws.path / name
        if root.is_dir():
            yield from sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def _unpack(source: Path, folder: Path) -> Manifest:
    """Extract the archive's members (no path outside ``folder``), check them against the manifest."""
    try:
        with tarfile.open(source) as tar:
            tar.extractall(folder, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"无法读取备份 {source.name}：{exc}", f"cannot read the backup {source.name}: {exc}") from exc
    try:
        manifest = Manifest(**json.loads((folder / "manifest.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise BackupError(f"{source.name} 不是 landrenew 备份（缺少或无法读取 manifest.json）",
                          f"{source.name} is not a landrenew backup (manifest.json missing or unreadable)") from exc
    if manifest.format != FORMAT:
        raise BackupError(f"备份格式 {manifest.format} 不受支持（需要 {FORMAT}）",
                          f"backup format {manifest.format} is not supported (expected {FORMAT})")
    for member, sha in manifest.sha256.items():
        path = folder / member
        if not path.is_file() or file_sha256(path) != sha:
            raise BackupError(f"备份已损坏：{member} 缺失或与清单的 SHA-256 不符",
                              f"the backup is damaged: {member} is missing or does not match its SHA-256")
    return manifest
