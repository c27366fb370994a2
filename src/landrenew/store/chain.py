"""Hash chains of the audit trail: each row of ``case_event`` and ``quota_transfer`` carries
``row_hash`` = SHA-256 of the previous row's hash (by id; 64 zeros for the first) and of its own
content in a canonical form. Rows are appended only through :func:`chained`, under a lock that
keeps each chain a single line (PostgreSQL: a transaction-level advisory lock per table; SQLite
serialises writers by itself). ``landrenew.audit`` verifies the chains.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import Connection, Table, select, text

from landrenew.store.models import CaseEvent, QuotaTransfer

GENESIS = "0" * 64
#: the content each chained table's hash covers, in this order (everything but id and the hashes)
CONTENT: dict[str, tuple[str, ...]] = {
    "case_event": ("case_id", "seq", "action", "from_state", "to_state", "event_date", "actor", "role",
                   "comment", "data", "attachment_name", "attachment_sha256", "recorded_at"),
    "quota_transfer": ("transfer_id", "kind", "debit_account_id", "credit_account_id", "amount", "transfer_type",
                       "price_yuan_per_mu", "reason", "case_id", "rule_id", "compensates", "value_date", "actor",
                       "recorded_at"),
}
TABLES: dict[str, Table] = {"case_event": CaseEvent.__table__, "quota_transfer": QuotaTransfer.__table__}
#: PostgreSQL advisory lock keys of the chains (any constants unique in this database)
_LOCK_KEYS = {"case_event": 7_310_001, "quota_transfer": 7_310_002}


def canonical(value: Any) -> Any:
    """A value as the same JSON whether it was just written or read back from SQLite or PostgreSQL:
    datetimes in UTC (naive ones are UTC), dates ISO, numbers as floats unless integral ints,
    mappings with sorted keys."""
    if isinstance(value, np.generic):  # numpy scalars from a frame's rows
        value = value.item()
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, datetime):
        moment = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        return moment.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        return repr(float(value))
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    return str(value)


def row_hash(table: str, prev: str, row: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the previous hash and the row's content."""
    body = json.dumps([prev, [canonical(row.get(c)) for c in CONTENT[table]]], ensure_ascii=False,
                      separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def chained(conn: Connection, table: str, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (in the order they are about to be inserted, in this transaction) with ``prev_hash``
    and ``row_hash`` after the chain's current head. Takes the chain's lock until the transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEYS[table]})
    t = TABLES[table]
    prev = conn.execute(select(t.c.row_hash).order_by(t.c.id.desc()).limit(1)).scalar() or GENESIS
    out = []
    for row in rows:
        h = row_hash(table, prev, row)
        out.append({**row, "prev_hash": prev, "row_hash": h})
        prev = h
    return out
