"""The 清单 pages and their JSON API: thin calls into :mod:`landrenew.lists` (filter, sort, page,
export to Excel); a district role sees only its district's rows."""

from __future__ import annotations

import os
import tempfile
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import FileResponse, HTMLResponse
from starlette.background import BackgroundTask

from landrenew import lists
from landrenew.lists import ListError
from landrenew.reports.workbook import export_file_name, export_list
from landrenew.web.context import Context, Ctx
from landrenew.web.errors import refusal
from landrenew.web.i18n import pick
from landrenew.web.render import render

router = APIRouter()

#: query parameters that are not filters
RESERVED = {"run", "page", "page_size", "sort", "lang"}

WORDS: dict[str, tuple[str, str]] = {
    "title": ("清单", "Lists"),
    "district": ("行政区", "District"),
    "all": ("全部", "all"),
    "search": ("搜索", "Search"),
    "search_hint": ("代码、名称、权利人…", "code, name, holder…"),
    "area": ("面积（亩）", "Area (mu)"),
    "tags": ("标签", "Tags"),
    "apply": ("筛选", "Filter"),
    "reset": ("清除", "Clear"),
    "export": ("导出 Excel", "Export to Excel"),
    "loading": ("加载中…", "Loading…"),
}


def _fail(exc: ListError) -> HTTPException:
    status = 404 if exc.code in ("unknown_list", "no_run") else 422
    return refusal(status, f"list_{exc.code}", exc.zh, exc.en)


def _filters(request: Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in request.query_params.multi_items():
        if k not in RESERVED:
            out.setdefault(k, []).append(v)
    return out


def _int(request: Request, key: str, default: int | None) -> int | None:
    raw = request.query_params.get(key)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise refusal(422, "invalid", f"参数 {key} 须为整数", f"{key} must be an integer") from None


@router.get("/api/lists", tags=["lists"], summary="The lists: names, titles, columns, what can be filtered and sorted")
def list_catalogue(ctx: Ctx) -> dict:
    return {"lists": lists.catalogue(ctx.profile, ctx.lang), "names": lists.names(ctx.profile),
            "districts": sorted(d) if (d := ctx.actor.districts(ctx.profile)) is not None else None}


@router.get("/api/lists/{name}.xlsx", tags=["lists"], response_class=FileResponse,
            summary="A list as an Excel workbook (same filters and order as the JSON list)")
def list_xlsx(name: str, request: Request, ctx: Ctx) -> FileResponse:
    fd, path = tempfile.mkstemp(suffix=".xlsx", prefix="landrenew-list-")
    os.close(fd)
    try:
        out = export_list(ctx.ws.engine, ctx.profile, name, path, run_id=_int(request, "run", None),
                                filters=_filters(request), sort=request.query_params.get("sort"),
                                districts=ctx.actor.districts(ctx.profile), lang=ctx.lang)
    except ListError as exc:
        os.unlink(path)
        raise _fail(exc) from None
    except BaseException:
        os.unlink(path)
        raise
    file_name = export_file_name(name, out["run_id"], ctx.lang)
    ascii_name = export_file_name(name, out["run_id"], "en")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name)}"
    return FileResponse(path, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": disposition,
                                 "X-Rows": str(out["rows"]), "X-Total": str(out["total"])},
                        background=BackgroundTask(os.unlink, path))


@router.get("/api/lists/{name}", tags=["lists"],
            summary="One page of a list: ?run=&page=&page_size=&sort=-area_mu&district_code=…&tags=…&q=…")
def list_page(name: str, request: Request, ctx: Ctx) -> dict:
    try:
        page = lists.query_list(ctx.ws.engine, ctx.profile, name, run_id=_int(request, "run", None),
                                filters=_filters(request), sort=request.query_params.get("sort"),
                                page=_int(request, "page", 1), page_size=_int(request, "page_size", 50),
                                districts=ctx.actor.districts(ctx.profile), lang=ctx.lang)
    except ListError as exc:
        raise _fail(exc) from None
    run = page.run
    return {"name": page.name, "total": page.total, "page": page.page, "page_size": page.page_size,
            "run": {"id": run.id, "as_of": run.as_of.isoformat(), "profile_id": run.profile_id,
                    "profile_version": run.profile_version},
            "columns": [c.describe(ctx.lang) for c in page.columns], "totals": page.totals, "rows": page.rows}


@router.get("/lists", response_class=HTMLResponse, include_in_schema=False)
def lists_page(request: Request, ctx: Ctx) -> HTMLResponse:
    return _page(request, ctx, next(iter(lists.LISTS)))


@router.get("/lists/{name}", response_class=HTMLResponse, include_in_schema=False)
def one_list_page(name: str, request: Request, ctx: Ctx) -> HTMLResponse:
    if name not in lists.LISTS:
        raise _fail(ListError("unknown_list", f"没有清单 {name}", f"no list {name}"))
    return _page(request, ctx, name)


def _page(request: Request, ctx: Context, name: str) -> HTMLResponse:
    specs = [{"name": s.name, "title": s.en if ctx.en else s.zh} for s in lists.LISTS.values()]
    return render(request, "lists.html", "lists", ctx, {"lw": pick(WORDS, ctx.en), "specs": specs, "list_name": name})
