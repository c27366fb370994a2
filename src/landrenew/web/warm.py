"""Fill the caches the first pages read from, in the background when the server starts: the list
totals of the latest run (and its text index, if it was stored before there was one), its case map
for the tiles, and the cockpit's target table and trend."""

from __future__ import annotations

import gc
import logging
import threading
import time
from datetime import date

from fastapi import FastAPI

from landrenew import features, lists
from landrenew.web.api import overview_view, targets_view, trend_view

log = logging.getLogger("landrenew.web")


def warm(app: FastAPI) -> float:
    """Fill the caches; returns the seconds it took. Errors are logged, never raised: a cold cache
    only makes the first requests slower."""
    t = time.perf_counter()
    engine, profile = app.state.ws.engine, app.state.profile
    try:
        with features.connect(engine) as conn:
            run = features.latest_run_id(conn)
            if run is not None:
                features.run_case_map(conn, run)
        if run is not None:
            with engine.begin() as conn:  # a run stored before the lists' text index (migration 0010)
                lists.index_run_text(conn, run, lists.run_info(engine, run).year)
            lists.warm_totals(engine, profile)
            overview_view(engine)
        view = targets_view(engine, profile)
        trend_view(engine, profile, end=date.fromisoformat(view["as_of"]))
    except Exception:  # noqa: BLE001 (a warm-up must not take the server down)
        log.exception("warming the caches failed")
    # what is loaded now lives as long as the server: keep the collector from walking it again and
    # again (its full passes over ~300,000 cached entries paused requests by 100 ms and more)
    gc.freeze()
    seconds = time.perf_counter() - t
    app.state.warm_seconds = seconds
    log.info("caches warm in %.1f s", seconds)
    return seconds


def warm_in_background(app: FastAPI) -> threading.Thread:
    """Start :func:`warm` in a daemon thread."""
    thread = threading.Thread(target=warm, args=(app,), name="landrenew-warm", daemon=True)
    thread.start()
    return thread
