"""OGC API – Features (Part 1 core + GeoJSON, Part 2 CRS, Part 3 queryables as query parameters)
under ``/ogc``, for QGIS, ArcGIS Pro and GDAL. Read-only; every signed-in role may read.

The queries are ``landrenew.features``'; this module only speaks the protocol: links, paging,
parameters, CRS axis order. See docs/gis.md for connecting QGIS.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import Response
from shapely.geometry import mapping

from landrenew import features as fs
from landrenew.web.context import Ctx
from landrenew.web.errors import refusal

router = APIRouter(prefix="/ogc", tags=["ogc"])

JSON = "application/json"
GEOJSON = "application/geo+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
]
#: query parameters of the items request other than property filters
ITEM_PARAMS = {"f", "bbox", "bbox-crs", "crs", "limit", "offset", "datetime", "lang"}


def _bad(code: str, zh: str, en: str, status: int = 400) -> HTTPException:
    return refusal(status, code, zh, en)


def _json(body: Any, media: str = JSON, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")), media_type=media,
                    headers=headers)


def _format(request: Request) -> None:
    f = request.query_params.get("f", "json").lower()
    if f not in ("json", "geojson"):
        raise _bad("format", f"不支持的格式 f={f}（仅 json）", f"unsupported format f={f} (json only)")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _link(href: str, rel: str, media: str = JSON, title: str | None = None) -> dict:
    out = {"href": href, "rel": rel, "type": media}
    if title:
        out["title"] = title
    return out


def _crs(value: str | None, name: str) -> str:
    value = value or fs.CRS84
    if value.strip("<>") not in fs.CRSS:
        raise _bad("crs", f"不支持的坐标系 {name}={value}", f"unsupported {name}={value}: use one of {', '.join(fs.CRSS)}")
    return value.strip("<>")


def _collection_doc(base: str, c: fs.Collection, box: list[float] | None, en: bool) -> dict:
    url = f"{base}/collections/{c.id}"
    doc = {
        "id": c.id, "title": c.title_en if en else c.title_zh,
        "description": c.description_en if en else c.description_zh, "itemType": "feature",
        "crs": list(fs.CRSS), "storageCrs": fs.CRS4490,
        "links": [_link(url, "self"), _link(f"{url}/items", "items", GEOJSON),
                  _link(f"{url}/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                        "application/schema+json")],
    }
    if box is not None:
        doc["extent"] = {"spatial": {"bbox": [box], "crs": fs.CRS84}}
    return doc


@router.get("", summary="OGC API – Features landing page")
def landing(request: Request, ctx: Ctx) -> Response:
    _format(request)
    base = _base(request)
    root = str(request.base_url).rstrip("/")
    return _json({
        "title": "landrenew 危污乱散低用地" + (" — land clearance features" if ctx.en else " 要素服务"),
        "description": "OGC API – Features: parcels, the latest run's results, control layers (CGCS2000 / WGS 84)",
        "links": [_link(base, "self"), _link(f"{base}/conformance", "conformance"),
                  _link(f"{base}/collections", "data"),
                  _link(f"{root}/openapi.json", "service-desc", "application/vnd.oai.openapi+json;version=3.0"),
                  _link(f"{root}/docs", "service-doc", "text/html")],
    })


@router.get("/conformance", summary="Conformance classes")
def conformance(request: Request, ctx: Ctx) -> Response:
    _format(request)
    return _json({"conformsTo": CONFORMANCE})


@router.get("/collections", summary="The collections")
def collections(request: Request, ctx: Ctx) -> Response:
    _format(request)
    base = _base(request)
    docs = [_collection_doc(base, c, fs.extent(ctx.ws.engine, c.id), ctx.en) for c in fs.COLLECTIONS.values()]
    return _json({"links": [_link(f"{base}/collections", "self")], "collections": docs, "crs": list(fs.CRSS)})


def _collection(cid: str) -> fs.Collection:
    try:
        return fs.collection(cid)
    except fs.FeatureError as e:
        raise _bad(e.code, e.zh, e.en, 404) from None


@router.get("/collections/{cid}", summary="One collection")
def collection(cid: str, request: Request, ctx: Ctx) -> Response:
    _format(request)
    c = _collection(cid)
    return _json(_collection_doc(_base(request), c, fs.extent(ctx.ws.engine, cid), ctx.en))


@router.get("/collections/{cid}/queryables", summary="The properties items can be filtered on (equality)")
def queryables(cid: str, request: Request, ctx: Ctx) -> Response:
    c = _collection(cid)
    url = f"{_base(request)}/collections/{cid}/queryables"
    return _json({"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": url, "type": "object",
                  "title": c.title_en if ctx.en else c.title_zh,
                  "properties": {k: {"type": t, "title": k} for k, t in c.queryables.items()}},
                 "application/schema+json")


def _feature(f: fs.Feature, crs: str, base: str, cid: str, links: bool) -> dict:
    geom = f.geometry
    if geom is not None and crs == fs.CRS4490:
        geom = fs.swap_axes(geom)
    out = {"type": "Feature", "id": f.id, "geometry": None if geom is None else mapping(geom),
           "properties": f.properties}
    if links:
        url = f"{base}/collections/{cid}/items/{quote(str(f.id), safe='')}"
        out["links"] = [_link(url, "self", GEOJSON), _link(f"{base}/collections/{cid}", "collection")]
    return out


def _int(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    try:
        n = int(value)
    except ValueError:
        raise _bad("bad_param", f"{name} 须为整数", f"{name} must be an integer") from None
    if not low <= n <= high:
        raise _bad("bad_param", f"{name} 须在 {low}–{high} 之间", f"{name} must be between {low} and {high}")
    return n


def _bbox(value: str | None, crs: str) -> list[float] | None:
    if not value:
        return None
    try:
        nums = [float(v) for v in value.split(",")]
    except ValueError:
        nums = []
    if len(nums) not in (4, 6):
        raise _bad("bbox", "bbox 须为 4 个数：最小经度,最小纬度,最大经度,最大纬度",
                   "bbox must be 4 numbers: min lon, min lat, max lon, max lat")
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if crs == fs.CRS4490:  # latitude first
        nums = [nums[1], nums[0], nums[3], nums[2]]
    return nums


@router.get("/collections/{cid}/items", summary="Features of a collection (GeoJSON)",
            description="bbox, bbox-crs, crs, limit (1–10000, default 10), offset, and equality filters "
                        "on the collection's queryables (e.g. district_code=320412&tags=污低)")
def get_items(cid: str, request: Request, ctx: Ctx,
              limit: int = Query(10, ge=1, le=fs.MAX_LIMIT), offset: int = Query(0, ge=0),  # noqa: B008
              bbox: str | None = None, crs: str | None = None) -> Response:
    _format(request)
    c = _collection(cid)
    qp = request.query_params
    limit = _int(qp.get("limit"), "limit", 10, 1, fs.MAX_LIMIT)
    offset = _int(qp.get("offset"), "offset", 0, 0, 2**62)
    out_crs = _crs(qp.get("crs"), "crs")
    box = _bbox(qp.get("bbox"), _crs(qp.get("bbox-crs"), "bbox-crs"))
    filters = {k: v for k, v in qp.items() if k not in ITEM_PARAMS}
    try:
        page = fs.items(ctx.ws.engine, cid, bbox=box, filters=filters, limit=limit, offset=offset)
    except fs.FeatureError as e:
        raise _bad(e.code, e.zh, e.en) from None
    base = _base(request)
    url = f"{base}/collections/{cid}/items"
    params = [(k, v) for k, v in qp.multi_items() if k != "offset"]
    links = [_link(f"{url}?{urlencode(params + [('offset', offset)])}", "self", GEOJSON),
             _link(f"{base}/collections/{c.id}", "collection")]
    n = len(page.features)
    if offset + n < page.number_matched:
        links.append(_link(f"{url}?{urlencode(params + [('offset', offset + limit)])}", "next", GEOJSON))
    if offset > 0:
        links.append(_link(f"{url}?{urlencode(params + [('offset', max(0, offset - limit))])}", "prev", GEOJSON))
    body = {"type": "FeatureCollection",
            "features": [_feature(f, out_crs, base, cid, False) for f in page.features],
            "numberMatched": page.number_matched, "numberReturned": n,
            "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "links": links}
    return _json(body, GEOJSON, {"Content-Crs": f"<{out_crs}>"})


@router.get("/collections/{cid}/items/{fid}", summary="One feature (GeoJSON)")
def get_item(cid: str, fid: str, request: Request, ctx: Ctx, crs: str | None = None) -> Response:
    _format(request)
    _collection(cid)
    out_crs = _crs(crs, "crs")
    f = fs.item(ctx.ws.engine, cid, fid)
    if f is None:
        raise _bad("not_found", f"{cid} 中没有要素 {fid}", f"no feature {fid} in {cid}", 404)
    return _json(_feature(f, out_crs, _base(request), cid, True), GEOJSON, {"Content-Crs": f"<{out_crs}>"})
