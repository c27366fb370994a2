"""Bulk inserts of data frames: ``COPY`` on PostgreSQL, one ``executemany`` on SQLite.

Both run on the caller's connection, inside its transaction, so a failed load or run still
changes nothing. Values go to the driver as Python scalars (None for missing, ``date`` for
datetimes, JSON text for JSON columns); geometry arrives ready to store (WKB on SQLite, hex
EWKB on PostGIS, which ``COPY`` parses as geometry text).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from sqlalchemy import JSON, Connection, Table


def _values(s: pd.Series, is_json: bool) -> list[Any]:
    """A column as Python scalars, None for missing."""
    if is_json:
        return [None if v is None or v is pd.NA or (isinstance(v, float) and v != v)
                else json.dumps(v, ensure_ascii=False, default=str) for v in s]
    if pd.api.types.is_datetime64_any_dtype(s):
        s = s.dt.date
    return s.astype(object).where(s.notna(), None).tolist()


def insert_frame(conn: Connection, table: Table, df: pd.DataFrame) -> int:
    """Insert the rows of ``df`` (columns named like ``table``'s) into ``table``; returns the count."""
    if not len(df):
        return 0
    cols = [c for c in df.columns if c in table.c]
    unknown = [c for c in df.columns if c not in table.c]
    if unknown:
        raise KeyError(f"{table.name} has no column(s) {unknown}")
    data = [_values(df[c], isinstance(table.c[c].type, JSON)) for c in cols]
    rows = list(zip(*data, strict=True))
    names = ", ".join(f'"{c}"' for c in cols)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in cols)
        conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', rows)
    return len(rows)
