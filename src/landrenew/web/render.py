"""HTML pages from Jinja2 templates, with the words of the page's language and who is signed in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from landrenew.web.context import LANG_COOKIE, Context, lang_of
from landrenew.web.i18n import words

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def render(request: Request, template: str, page: str, ctx: Context | None, extra: dict[str, Any] | None = None,
           status: int = 200) -> HTMLResponse:
    """The page ``template``; remembers a language chosen with ``?lang=``."""
    lang = ctx.lang if ctx else lang_of(request)
    values: dict[str, Any] = {"lang": lang, "w": words(lang), "page": page, "user": None, "csrf_token": None}
    if ctx is not None:
        profile = ctx.profile
        role = profile.operations.role(ctx.user.role)
        district = profile.city.district(ctx.user.district_code) if ctx.user.district_code else None
        values |= {"user": ctx.user, "csrf_token": ctx.csrf_token,
                   "role_name": role.name_en if ctx.en else role.name_zh,
                   "district_name": (district.name_en if ctx.en else district.name_zh) if district else ""}
    resp = TEMPLATES.TemplateResponse(request, template, values | (extra or {}), status_code=status)
    if "lang" in request.query_params:
        resp.set_cookie(LANG_COOKIE, lang, samesite="strict", max_age=365 * 86400)
    return resp
