"""Bulk inserts of data frames: ``COPY`` on PostgreSQL, one ``executemany`` on SQLite.

Both run on the caller's connection, inside its transaction, so a failed load or run still
changes nothing. Values go to the driver as Python scalars (None for missing, ``date`` for
datetimes, JSON text for JSON columns); geometry arrives ready to store (WKB on SQLite, hex
EWKB on PostGIS, which ``COPY`` parses as geometry text).

On SQLite a large insert into a table with an R*Tree (migration 0008) or the parcels' trigram
index (0013) fills them in one statement after the rows instead of through their per-row
triggers (268,000 parcels: 14 s → 3.5 s for the R*Tree); the triggers are dropped and re-created
inside the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
from sqlalchemy import JSON, Connection, DateTime, Table, any_, bindparam, column, delete, select
from sqlalchemy import table as table_clause
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import ColumnElement
from sqlalchemy.types import TypeEngine


def _values(s: pd.Series, kind: TypeEngine, dialect: str) -> list[Any]:
    """A column as Python scalars for a column of type ``kind``, None for missing."""
    if isinstance(kind, JSON):
        return [None if v is None or v is pd.NA or (isinstance(v, float) and v != v)
                else json.dumps(v, ensure_ascii=False, default=str) for v in s]
    if pd.api.types.is_datetime64_any_dtype(s):
        if not isinstance(kind, DateTime):
            s = s.dt.date
        elif dialect == "sqlite":  # the text SQLAlchemy writes and reads there: UTC, no offset
            utc = s.dt.tz_convert("UTC").dt.tz_localize(None) if s.dt.tz is not None else s
            s = utc.dt.strftime("%Y-%m-%d %H:%M:%S.%f")
        else:
            return [None if v is pd.NaT else v.to_pydatetime() for v in s]
    return s.astype(object).where(s.notna(), None).tolist()


def insert_frame(conn: Connection, table: Table, df: pd.DataFrame) -> int:
    """Insert the rows of ``df`` (columns named like ``table``'s) into ``table``; returns the count."""
    if not len(df):
        return 0
    cols = [c for c in df.columns if c in table.c]
    unknown = [c for c in df.columns if c not in table.c]
    if unknown:
        raise KeyError(f"{table.name} has no column(s) {unknown}")
    data = [_values(df[c], table.c[c].type, conn.dialect.name) for c in cols]
    rows = list(zip(*data, strict=True))
    names = ", ".join(f'"{c}"' for c in cols)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in cols)
        with _indexes_in_bulk(conn, table.name, len(rows) if "id" not in cols else 0):
            conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', rows)
    return len(rows)


#: SQLite's page cache during a bulk write, in KiB: with its default 2 MB the index pages of a large
#: table are read again and again (1,000,000 parcels: 93 s to load with it, 68 s with 256 MB)
BULK_CACHE_KB = 262_144


@contextmanager
def bulk_writing(conn: Connection) -> Iterator[None]:
    """A large page cache on this SQLite connection while it bulk-writes, the usual one after."""
    if conn.dialect.name != "sqlite":
        yield
        return
    usual = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={usual}")


#: below this many rows the per-row triggers are as quick
BULK_INDEX_ROWS = 5000
#: SQLite triggers that index each inserted row (``{t}``: the table), and the statement that indexes
#: the rows with ``id > ?`` at once
BULK_INDEXES = {
    "{t}_rtree_insert": 'INSERT INTO "{t}_rtree" SELECT id, minx, maxx, miny, maxy FROM "{t}" '
                        "WHERE id > ? AND minx IS NOT NULL",
    "{t}_code_fts_insert": 'INSERT INTO "{t}_code_fts"(rowid, parcel_code, bsm) SELECT id, parcel_code, bsm '
                           'FROM "{t}" WHERE id > ?',
}


@contextmanager
def _indexes_in_bulk(conn: Connection, table: str, n_rows: int) -> Iterator[None]:
    """Around a SQLite insert of ``n_rows`` into ``table``: when the insert is large, drop the
    table's :data:`BULK_INDEXES` triggers, then index the new rows in one statement each and
    re-create the triggers."""
    found = []
    if n_rows >= BULK_INDEX_ROWS:
        for trigger, fill in BULK_INDEXES.items():
            name = trigger.format(t=table)
            ddl = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                                       (name,)).scalar()
            if ddl is not None:
                found.append((name, ddl, fill.format(t=table)))
    if not found:
        yield
        return
    if not conn.connection.driver_connection.in_transaction:  # pysqlite runs DDL outside one
        conn.exec_driver_sql("BEGIN")
    before = conn.exec_driver_sql(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"').scalar()
    for name, _, _ in found:
        conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    yield
    for _, ddl, fill in found:
        conn.exec_driver_sql(fill, (before,))
        conn.exec_driver_sql(ddl)


#: up to this many values go into one ``IN (…)`` list
IN_LIST = 900


def delete_in(conn: Connection, table: Table, column_name: str, values: Iterable[Any],
              *where: ColumnElement) -> None:
    """Delete the rows of ``table`` whose ``column_name`` is one of ``values`` (and ``where``), in one
    statement however many values: an array on PostgreSQL, a temporary key table on SQLite (300
    ``IN`` lists of 900 parcel keys took 3.7 s of a 268,000-parcel load)."""
    values = list(dict.fromkeys(values))
    if not values:
        return
    col = table.c[column_name]
    if len(values) <= IN_LIST:
        match = col.in_(values)
    elif conn.dialect.name == "postgresql":
        match = col == any_(bindparam("lr_values", values, type_=ARRAY(col.type)))
    else:
        conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS lr_delete_keys (k)")
        conn.exec_driver_sql("DELETE FROM lr_delete_keys")
        conn.exec_driver_sql("INSERT INTO lr_delete_keys VALUES (?)", [(v,) for v in values])
        keys = table_clause("lr_delete_keys", column("k"))
        match = col.in_(select(keys.c.k))
    conn.execute(delete(table).where(match, *where))
