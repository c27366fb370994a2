"""Vector tiles (MVT) of the parcels and control layers for the map and for QGIS:
``/tiles/{layer}/{z}/{x}/{y}.pbf`` and TileJSON ``/tiles/{layer}.json``. Every signed-in role may
read them. The tiles are made by ``landrenew.vectortiles``."""

from __future__ import annotations

import gzip

from fastapi import APIRouter, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import JSONResponse, Response

from landrenew import vectortiles as vt
from landrenew.web.context import Ctx

router = APIRouter(prefix="/tiles", tags=["tiles"])

MVT = "application/vnd.mapbox-vector-tile"
#: tiles change with runs and cases: browsers may keep them briefly, the server caches by data stamp
CACHE = "private, max-age=30"


def _not_found(e: vt.TileError) -> HTTPException:
    return HTTPException(404, detail={"code": "not_found", "zh": e.zh, "en": e.en})


@router.get("/{name}.json", summary="TileJSON of a vector tile layer (parcels, controls)")
def tilejson(name: str, request: Request, ctx: Ctx) -> JSONResponse:
    try:
        vt.layer(name)
    except vt.TileError as e:
        raise _not_found(e) from None
    url = str(request.base_url).rstrip("/") + f"/tiles/{name}/{{z}}/{{x}}/{{y}}.pbf"
    return JSONResponse(vt.tilejson(ctx.ws.engine, name, url), headers={"Cache-Control": CACHE})


@router.get("/{name}/{z}/{x}/{y}.pbf", summary="A vector tile (MVT); 204 when empty",
            response_class=Response, responses={200: {"content": {MVT: {}}}, 204: {"description": "empty tile"}})
def get_tile(name: str, z: int, x: int, y: int, request: Request, ctx: Ctx) -> Response:
    try:
        data = vt.tile(ctx.ws.engine, name, z, x, y, ctx.actor.districts(ctx.profile))
    except vt.TileError as e:
        raise _not_found(e) from None
    if not data:
        return Response(status_code=204, headers={"Cache-Control": CACHE})
    headers = {"Cache-Control": CACHE, "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        data = gzip.compress(data, 5)
        headers["Content-Encoding"] = "gzip"
    return Response(data, media_type=MVT, headers=headers)
