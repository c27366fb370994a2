"""The JSON API of the pages (and of scripts with an API token): thin calls into the services."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd
from fastapi import APIRouter, Request
from sqlalchemy import Engine

from landrenew.features import data_stamp
from landrenew.lru import LRU
from landrenew.policy import Profile
from landrenew.store.summary import run_overview
from landrenew.targets import quarter_ends, target_table, target_trend
from landrenew.web.context import Ctx
from landrenew.web.errors import refusal

router = APIRouter(prefix="/api", tags=["api"])


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (NaN → null, dates → ISO text)."""
    out = []
    for row in df.to_dict("records"):
        out.append({k: (None if isinstance(v, float) and math.isnan(v) else
                        v.isoformat() if isinstance(v, date) else v) for k, v in row.items()})
    return out


@router.get("/me", summary="The signed-in user")
def me(ctx: Ctx) -> dict:
    u = ctx.user
    return {"name": u.name, "display_name": u.display_name, "role": u.role, "district_code": u.district_code,
            "lang": ctx.lang}


#: the cockpit's views per data stamp: the target table and trend read every case, transfer and
#: statistic (about 1 s at 1,000,000 parcels), yet change only when the data do
_VIEWS = LRU(256)


def _cached(engine: Engine, key: tuple, compute: Callable[[], dict]) -> dict:
    with engine.connect() as conn:
        key = (*key, data_stamp(conn))
    hit = _VIEWS.get(key)
    if hit is None:
        hit = compute()
        _VIEWS.put(key, hit)
    return hit


def targets_view(engine: Engine, profile: Profile, as_of: date | None = None, district: str | None = None) -> dict:
    """The target table as the cockpit shows it."""
    def compute() -> dict:
        table = target_table(engine, profile, as_of, {district} if district else None)
        when = table["as_of"].iloc[0] if len(table) else (as_of or date.today())
        return {"as_of": when.isoformat(), "rows": records(table.drop(columns=["as_of"], errors="ignore"))}
    return _cached(engine, ("targets", profile.digest(), as_of or date.today(), district), compute)


#: quarter ends a trend may span (each is a full measurement of every target): 25 years
MAX_TREND_QUARTERS = 100


def trend_view(engine: Engine, profile: Profile, start: date | None = None, end: date | None = None) -> dict:
    """The city's value of every target at quarter ends, from the start of the policy's year
    (``source.date``) unless ``start`` is given, to ``end`` (today)."""
    end = end or date.today()
    ends = quarter_ends(profile, end, start)
    if len(ends) > MAX_TREND_QUARTERS:
        raise refusal(422, "range", f"时间跨度过长：{len(ends)} 个季度，最多 {MAX_TREND_QUARTERS} 个",
                      f"the range spans {len(ends)} quarters; at most {MAX_TREND_QUARTERS}")

    def compute() -> dict:
        return {"rows": records(target_trend(engine, profile, ends))}
    return _cached(engine, ("trend", profile.digest(), start, end), compute)


def overview_view(engine: Engine, run: int | None = None) -> dict:
    """Sizes of a run's lists (default: the latest run)."""
    return _cached(engine, ("overview", run), lambda: {"run": run_overview(engine, run)})


@router.get("/targets", summary="Every target of the profile: value, progress, projection (city and districts)")
def targets(ctx: Ctx, as_of: date | None = None, district: str | None = None) -> dict:
    return targets_view(ctx.ws.engine, ctx.profile, as_of, district)


@router.get("/targets/trend", summary="The city's value of every target at quarter ends")
def trend(ctx: Ctx, start: date | None = None, end: date | None = None) -> dict:
    """From the start of the policy's year (``source.date``) unless ``start`` is given."""
    return trend_view(ctx.ws.engine, ctx.profile, start, end)


@router.get("/overview", summary="Sizes of the latest run's lists: parcels per tag, firms per class, cases")
def overview(ctx: Ctx, run: int | None = None) -> dict:
    return overview_view(ctx.ws.engine, run)


@router.get("/health", summary="The server is up; whether its caches are warm yet (seconds it took)")
def health(request: Request, _ctx: Ctx) -> dict:
    seconds = getattr(request.app.state, "warm_seconds", None)
    return {"ok": True, "warm": seconds is not None, "warm_seconds": seconds}


@router.get("/meta", summary="The profile's names: districts, tags, disposal families, roles, targets")
def meta(ctx: Ctx) -> dict:
    p = ctx.profile
    return {
        "profile": {"id": p.id, "name_zh": p.name_zh, "name_en": p.name_en},
        "districts": [{"code": d.code, "name_zh": d.name_zh, "name_en": d.name_en}
                      for d in p.city.districts if d.code],
        "tags": [{"char": t.char, "key": k, "name_zh": t.name_zh, "name_en": t.name_en} for k, t in p.tags.items()],
        "families": [{"key": f.key, "name_zh": f.name_zh, "name_en": f.name_en} for f in p.disposal.families],
        "roles": [{"key": r.key, "name_zh": r.name_zh, "name_en": r.name_en} for r in p.operations.roles],
        "targets": [{"id": g.id, "metric": g.params.metric, "name_zh": g.name_zh, "name_en": g.name_en,
                     "unit": g.params.unit, "deadline": g.deadline.isoformat()} for g in p.targets.goals],
    }
