"""The pages: server-rendered frames whose data come from the JSON API (scripts are static files)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from landrenew.web.context import Ctx
from landrenew.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def cockpit(request: Request, ctx: Ctx) -> HTMLResponse:
    return render(request, "cockpit.html", "cockpit", ctx)


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request, ctx: Ctx) -> HTMLResponse:
    """The OpenAPI documentation (Swagger UI served from our own assets)."""
    return render(request, "apidocs.html", "docs", ctx)
