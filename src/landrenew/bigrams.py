"""Character bigrams for searching Chinese text (and codes) by any substring of two or more characters.

Chinese has no spaces between words and a search is often a two-character word (机械, 精密), too
short for trigram indexes. Text is split into runs of letters and digits (lower-cased); each run of
two or more characters becomes its overlapping bigrams (常州精密 → 常州 州精 精密), a single
character stays itself. A query becomes, per run, the phrase of its bigrams: a row matches when its
bigram tokens hold each phrase in order, which is when its text contains each run of the query.
Full-text engines index the tokens (FTS5 ``unicode61`` on SQLite, ``to_tsvector('simple', …)`` on
PostgreSQL); the caller still checks the exact substring, so the index only has to find a superset.
"""

from __future__ import annotations

import re

_RUN = re.compile(r"[^\W_]+")
#: between the searched columns of a row in an indexed text (so no match spans two columns)
SEPARATOR = " ¦ "


def tokens(text: str | None) -> str:
    """The bigram tokens of ``text``, separated by spaces."""
    out: list[str] = []
    for run in _RUN.findall((text or "").lower()):
        out += [run] if len(run) < 2 else [run[i:i + 2] for i in range(len(run) - 1)]
    return " ".join(out)


def phrases(query: str) -> list[list[str]] | None:
    """Per run of ``query``, its bigrams in order; None when the index cannot help (no run, or a
    run of one character, which would match too much)."""
    runs = _RUN.findall(query.lower())
    if not runs or any(len(r) < 2 for r in runs):
        return None
    return [[r[i:i + 2] for i in range(len(r) - 1)] for r in runs]


def fts5_query(query: str) -> str | None:
    """An FTS5 MATCH expression for ``query`` (each run a quoted phrase, all required), or None."""
    ps = phrases(query)
    return None if ps is None else " AND ".join('"' + " ".join(p) + '"' for p in ps)


def tsquery(query: str) -> str | None:
    """A PostgreSQL ``to_tsquery('simple', …)`` text for ``query`` (``<->`` within a run, ``&``
    between runs), or None."""
    ps = phrases(query)
    return None if ps is None else " & ".join("(" + " <-> ".join(p) + ")" for p in ps)
