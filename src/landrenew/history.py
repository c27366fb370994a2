"""Analysis runs as data: the history, one run, a comparison as JSON-ready dicts, the numeric
parameters a what-if may change, and analyses started in the background with their progress.

The web app's runs page calls these; they hold no policy of their own (who may analyse is the
profile's ``operations.permissions``; the numbers are the profile's rules).
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, select

from landrenew.actors import Actor, Forbidden
from landrenew.compare import Comparison
from landrenew.policy import Profile
from landrenew.store.models import AnalysisRun

#: the steps of an analysis as ``landrenew.runs.analyze`` reports them, in order
STEPS = ("snapshot", "overlay", "evaluation", "parcel_classes", "tags", "units", "disposal", "firm_paths",
         "allocation", "store", "outputs")
#: how many keys of each changed list a comparison returns (the counts are always complete)
KEY_LIMIT = 500


def analysis_roles(profile: Profile) -> list[str]:
    """Roles that may start an analysis (the profile's ``operations.permissions.analyze``)."""
    return list(profile.operations.permissions.get("analyze", []))


def require_city_scope(actor: Actor, profile: Profile, action_zh: str, action_en: str) -> None:
    """Refuse district roles: comparisons and what-ifs cover the whole city."""
    if actor.districts(profile) is not None:
        raise Forbidden(f"区级角色只能查看本区事项，无权{action_zh}（涉及全市数据）",
                        f"a district role sees its own district only and may not {action_en} (city-wide data)")


def _iso(v: object) -> object:
    if isinstance(v, datetime | date):
        return v.isoformat()
    return v


def _run_dict(r: Any) -> dict:
    timings = r.timings or {}
    return {"id": r.id, "status": r.status, "started_at": _iso(r.started_at), "finished_at": _iso(r.finished_at),
            "as_of": _iso(r.as_of), "year": r.year, "profile_id": r.profile_id, "profile_version": r.profile_version,
            "profile_digest": r.profile_digest, "input_hash": r.input_hash, "code_version": r.code_version,
            "counts": r.counts or {}, "timings": timings, "seconds": round(sum(timings.values()), 1),
            "user": r.user, "note": r.note}


def run_history(engine: Engine, limit: int = 100) -> list[dict]:
    """The latest runs, newest first, each with its inputs (data hash, profile), counts and timings."""
    t = AnalysisRun.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(t).order_by(t.c.id.desc()).limit(limit)).all()
    return [_run_dict(r) for r in rows]


def run_detail(engine: Engine, run_id: int) -> dict | None:
    """One run, or None."""
    t = AnalysisRun.__table__
    with engine.connect() as conn:
        r = conn.execute(select(t).where(t.c.id == run_id)).first()
    return _run_dict(r) if r else None


def latest_as_of(engine: Engine) -> date | None:
    """The as-of date of the latest finished run."""
    t = AnalysisRun.__table__
    with engine.connect() as conn:
        last = conn.execute(select(func.max(t.c.id)).where(t.c.status == "done")).scalar()
        return conn.execute(select(t.c.as_of).where(t.c.id == last)).scalar() if last else None


def _num(v: object) -> object:
    if isinstance(v, float) and math.isnan(v):
        return None
    return v.item() if hasattr(v, "item") else v


def comparison_dict(c: Comparison, limit: int = KEY_LIMIT) -> dict:
    """A comparison as JSON: per tag the counts and (up to ``limit``) keys that entered and left,
    the class transition matrix, firms whose class changed and path changes."""
    lists = []
    for row in c.lists.to_dict("records"):
        tag = row["tag"]
        changed = c.parcels[c.parcels["tag"] == tag]
        entry = {k: _num(v) for k, v in row.items()}
        for change in ("entered", "left"):
            keys = sorted(changed.loc[changed["change"] == change, "parcel_key"].astype(str))
            entry[f"{change}_keys"] = keys[:limit]
        lists.append(entry)
    tr = c.transitions
    classes = sorted(set(map(str, tr.index)) | set(map(str, tr.columns)))
    full = tr.rename(index=str, columns=str).reindex(index=classes, columns=classes, fill_value=0)
    moves = (c.paths.groupby(["path_a", "path_b"]).size().rename("parcels").reset_index()
             .sort_values("parcels", ascending=False) if len(c.paths) else pd.DataFrame(
                 columns=["path_a", "path_b", "parcels"]))
    firms = c.firms.head(limit)
    return {
        "lists": lists,
        "transitions": {"classes": classes, "matrix": [[int(x) for x in row] for row in full.to_numpy()]},
        "firms_changed": len(c.firms),
        "firms": [{k: _num(v) for k, v in r.items()} for r in firms.to_dict("records")],
        "paths_changed": len(c.paths),
        "paths": [{"path_a": a, "path_b": b, "parcels": int(n)} for a, b, n in moves.itertuples(index=False)],
        "key_limit": limit,
    }


def _numeric_leaves(node: object, prefix: str = "") -> Iterator[tuple[str, float]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _numeric_leaves(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield prefix, node


def rule_parameters(profile: Profile) -> list[dict]:
    """Every rule with numeric parameters (``RULE_ID:param`` overrides a what-if accepts)."""
    from landrenew.scenarios import _rules

    data = profile.model_dump(mode="json", exclude_none=True)
    out = []
    for r in _rules(data):
        params = [{"name": k, "value": v} for k, v in _numeric_leaves(r["params"])]
        if params:
            out.append({"id": r["id"], "clause": r.get("clause", ""), "description_zh": r.get("description_zh", ""),
                        "description_en": r.get("description_en", ""), "params": params})
    return out


def whatif_dict(w: Any) -> dict:
    """A :class:`landrenew.scenarios.WhatIf` as JSON: every count and yield before and after, and
    the comparison."""
    base, alt = {**w.base.counts(), **w.base.yields()}, {**w.alt.counts(), **w.alt.yields()}
    measures = [{"measure": k, "base": _num(base.get(k, 0)), "alt": _num(alt.get(k, 0)),
                 "change": _num(round(alt.get(k, 0) - base.get(k, 0), 1))}
                for k in dict.fromkeys([*base, *alt])]
    return {"overrides": w.overrides, "as_of": w.base.as_of.isoformat(), "year": w.base.year,
            "measures": measures, "comparison": comparison_dict(w.comparison)}


# --------------------------------------------------------------------------- background analyses


@dataclass
class Job:
    """An analysis started in the background."""

    id: str
    user: str
    state: str = "queued"  # queued | running | done | failed
    step: str = ""
    percent: int = 0
    run_id: int | None = None
    result: dict | None = None  # what a job other than an analysis made (e.g. report files)
    error: str | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None

    def as_dict(self) -> dict:
        return {"job_id": self.id, "state": self.state, "step": self.step, "percent": self.percent,
                "run_id": self.run_id, "result": self.result, "error": self.error, "user": self.user,
                "seconds": round((self.finished or time.time()) - self.started, 1)}


class Busy(RuntimeError):
    """Another analysis of the same workspace is still running."""

    def __init__(self, job: Job) -> None:
        super().__init__(job.id)
        self.job = job


def jobs_of(state: Any, name: str, steps: tuple[str, ...] = STEPS) -> AnalysisJobs:
    """The jobs kept on ``state`` (e.g. a web app's ``app.state``) under ``name``, made on first use."""
    if not hasattr(state, name):
        setattr(state, name, AnalysisJobs(steps))
    return getattr(state, name)


class AnalysisJobs:
    """Analyses (or other long work with named ``steps``, e.g. reports) run one at a time in a
    thread; their progress stays readable after they end."""

    def __init__(self, steps: tuple[str, ...] = STEPS) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self.steps = steps

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def running(self) -> Job | None:
        return next((j for j in self._jobs.values() if j.state in ("queued", "running")), None)

    def start(self, user: str, work: Callable[[Callable[[str], None]], int | dict]) -> Job:
        """Run ``work(progress)`` in a thread (it returns the run id, or a dict kept as the job's
        result with its ``run_id``); refuse while another runs."""
        with self._lock:
            busy = self.running()
            if busy is not None:
                raise Busy(busy)
            job = Job(secrets.token_hex(8), user)
            self._jobs[job.id] = job

        def progress(step: str) -> None:
            job.state, job.step = "running", step
            if step in self.steps:
                job.percent = max(job.percent, round(100 * self.steps.index(step) / len(self.steps)))

        def target() -> None:
            job.state = "running"
            try:
                out = work(progress)
                if isinstance(out, dict):
                    job.result, job.run_id = out, out.get("run_id")
                else:
                    job.run_id = out
                job.state, job.percent = "done", 100
            except Exception as exc:  # the run is marked failed by analyze(); the page shows why
                job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
            finally:
                job.finished = time.time()

        threading.Thread(target=target, name=f"analysis-{job.id}", daemon=True).start()
        return job
