"""The text index of source data: firm USCCs and names by character bigrams, parcel codes and BSM
by trigrams.

``name_search`` holds one row per firm-year (``kind``, ``ref`` = the row's id, its searched text
and that text's bigrams, :mod:`landrenew.bigrams`), indexed by FTS5 on SQLite (``name_search_fts``,
external content) and by a GIN tsvector index on PostgreSQL (migration 0009). :func:`refresh`
brings it in line with the tables after every load (and once in the migration); on SQLite triggers
drop the entries of deleted rows at once, as ids can be reused there.

Parcel codes and BSM are indexed on the parcel table itself (migration 0013): an FTS5 trigram table
``parcel_code_fts`` on SQLite, kept by triggers (filled in one statement by a bulk insert,
:mod:`landrenew.store.bulk`), ``pg_trgm`` GIN indexes on PostgreSQL; nothing to refresh.

Tables and columns are named here, not taken from the models, so the migration that creates the
index can fill it with the schema of its own time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    column,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.sql import ColumnElement

from landrenew import bigrams

#: kind → (table, searched columns) of the bigram index
SOURCES = {"firm": ("firm_year", ("uscc", "name"))}
#: the trigram index of parcel codes (SQLite), and the shortest text it can look up
PARCEL_FTS, TRIGRAM = "parcel_code_fts", 3
_CHUNK = 20_000
NS = table("name_search", column("id"), column("kind"), column("ref"), column("body"), column("tokens"))


def refresh(conn: Connection) -> int:
    """Index the rows not indexed yet and drop the entries of rows gone; returns the rows added."""
    added = 0
    for kind, (name, cols) in SOURCES.items():
        t = table(name, column("id"), *(column(c) for c in cols))
        # on SQLite the trigger on name_search takes the deleted entries out of the FTS table as well
        conn.execute(delete(NS).where(NS.c.kind == kind, ~exists().where(t.c.id == NS.c.ref)))
        rows = conn.execute(select(t.c.id, *(t.c[c] for c in cols))
                            .where(~exists().where(NS.c.kind == kind, NS.c.ref == t.c.id))).all()
        write_texts(conn, NS, "name_search_fts", rows, kind=kind)
        added += len(rows)
    return added


def write_texts(conn: Connection, t: Any, fts: str, rows: Sequence[Sequence[Any]], **fixed: Any) -> None:
    """Add ``rows`` (ref, *searched parts) to the indexed text table ``t`` with the ``fixed`` columns:
    the parts joined once each as ``body``, its bigrams as ``tokens``; on SQLite into the FTS5 table
    ``fts`` in one statement (a trigger per row is four times slower)."""
    before = conn.scalar(select(func.coalesce(func.max(t.c.id), 0)))
    for i in range(0, len(rows), _CHUNK):
        batch = []
        for ref, *parts in rows[i:i + _CHUNK]:
            body = bigrams.SEPARATOR.join(dict.fromkeys(p for p in parts if p))  # a holder named like its firm once
            batch.append({**fixed, "ref": ref, "body": body, "tokens": bigrams.tokens(body)})
        conn.execute(insert(t), batch)
    if conn.dialect.name == "sqlite" and rows:
        conn.execute(text(f"INSERT INTO {fts}(rowid, tokens) SELECT id, tokens FROM {t.name} WHERE id > :before"),
                     {"before": before})


def bigram_match(conn: Connection, t: Any, fts: str, query: str) -> ColumnElement | None:
    """Rows of the indexed text table ``t`` (``id``, ``body``, ``tokens``; its FTS5 table ``fts`` on
    SQLite) whose body contains ``query`` (case-insensitive): the bigram index finds the candidates,
    their body is tested exactly. None when the index cannot help (a single character)."""
    if bigrams.phrases(query) is None:
        return None
    if conn.dialect.name == "sqlite":
        found = t.c.id.in_(select(literal_column("rowid")).select_from(table(fts))
                           .where(literal_column(fts).op("MATCH")(bigrams.fts5_query(query))))
    else:
        found = func.to_tsvector("simple", t.c.tokens).op("@@")(func.to_tsquery("simple", bigrams.tsquery(query)))
    return and_(found, t.c.body.icontains(query, autoescape=True))


def matches(conn: Connection, kind: str, query: str) -> ColumnElement | None:
    """The ids of ``kind``'s rows (``parcel`` or ``firm``) whose searched text contains ``query``
    (case-insensitive), or None when the index cannot help (a firm: one character; a parcel: fewer
    than three)."""
    if kind == "parcel":
        return _code_match(conn, query)
    match = bigram_match(conn, NS, "name_search_fts", query)
    return None if match is None else select(NS.c.ref).where(NS.c.kind == kind, match)


def _code_match(conn: Connection, query: str) -> ColumnElement | None:
    """Parcel ids whose code or BSM contains ``query``, by trigrams."""
    query = query.replace("\x00", "")  # no code holds a NUL; FTS5 and PostgreSQL text refuse it
    if len(query) < TRIGRAM:
        return None
    if conn.dialect.name == "sqlite":  # an FTS5 phrase of trigrams is an exact, case-folded substring
        phrase = '"' + query.replace('"', '""') + '"'
        return select(literal_column("rowid")).select_from(table(PARCEL_FTS)).where(
            literal_column(PARCEL_FTS).op("MATCH")(phrase))
    p = table("parcel", column("id"), column("parcel_code"), column("bsm"))
    return select(p.c.id).where(or_(p.c.parcel_code.icontains(query, autoescape=True),
                                    p.c.bsm.icontains(query, autoescape=True)))
