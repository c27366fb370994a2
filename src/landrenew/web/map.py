"""一张图: the map page and its JSON (district boundaries, legend, search, explanations).

Parcels and control layers come as vector tiles from ``/tiles``; the queries live in
:mod:`landrenew.onemap`."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import HTMLResponse, JSONResponse

from landrenew import onemap
from landrenew.explain import NotFound
from landrenew.web.context import Ctx
from landrenew.web.errors import refusal
from landrenew.web.i18n import pick
from landrenew.web.render import render

router = APIRouter()

#: the page's own words (zh, en)
WORDS: dict[str, tuple[str, str]] = {
    "search": ("宗地代码 / 企业名称 / 信用代码", "parcel code / firm / USCC"),
    "search_go": ("查找", "Find"),
    "theme": ("着色", "Colour by"),
    "theme_tags": ("标注", "Tags"),
    "theme_class": ("亩均分类", "Firm class"),
    "theme_family": ("处置类别", "Disposal family"),
    "layers": ("管控图层", "Control layers"),
    "districts_layer": ("行政区界线", "District boundaries"),
    "legend": ("图例", "Legend"),
    "close": ("关闭", "Close"),
    "zoom_hint": ("放大地图以显示宗地", "zoom in to see the parcels"),
    "no_tiles": ("地块图层暂不可用", "parcel layer not available"),
}


def _not_found(exc: NotFound) -> HTTPException:
    zh, _, en = str(exc).partition(" / ")
    return refusal(404, "not_found", zh, en or zh)


@router.get("/map", response_class=HTMLResponse, include_in_schema=False)
def map_page(request: Request, ctx: Ctx) -> HTMLResponse:
    return render(request, "map.html", "map", ctx, {"mw": pick(WORDS, ctx.en)})


@router.get("/api/map/districts", tags=["map"], summary="District boundaries (GeoJSON, lon/lat), simplified")
def districts(ctx: Ctx) -> JSONResponse:
    return JSONResponse(onemap.district_features(ctx.ws.engine, ctx.profile),
                        media_type="application/geo+json")


@router.get("/api/map/legend", tags=["map"],
            summary="The map's themes and layers with the profile's names: tags, classes, families, layer kinds")
def legend(ctx: Ctx) -> dict:
    return onemap.legend(ctx.ws.engine, ctx.profile)


@router.get("/api/map/search", tags=["map"], summary="Parcels by code or BSM, firms by USCC or name, with bbox")
def search(ctx: Ctx, q: str = Query(min_length=1, max_length=100)) -> dict:
    return {"q": q, "matches": onemap.search(ctx.ws.engine, q)}


@router.get("/api/explain/parcel/{key:path}", tags=["map"],
            summary="Why a parcel is on a list: tags with rule, clause and evidence; class; path; its case")
def explain_parcel(key: str, ctx: Ctx, run: int | None = None) -> dict:
    try:
        return onemap.parcel_sheet(ctx.ws.engine, ctx.profile, ctx.actor, key, run)
    except NotFound as exc:
        raise _not_found(exc) from exc


@router.get("/api/explain/firm/{uscc}", tags=["map"], summary="A firm's 亩均 class with its rule, reason and indicators")
def explain_firm(uscc: str, ctx: Ctx, run: int | None = None) -> dict:
    try:
        return onemap.firm_sheet(ctx.ws.engine, ctx.profile, uscc, run)
    except NotFound as exc:
        raise _not_found(exc) from exc
