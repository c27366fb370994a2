"""Request context: the workspace, the profile, the signed-in user (session cookie or API token)
and the CSRF check. Routes take ``Ctx`` (JSON API) or ``PageCtx`` (pages: redirect to sign-in)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import HTTPException

from landrenew import users
from landrenew.actors import Actor
from landrenew.policy import Profile
from landrenew.store import Workspace
from landrenew.users import User

SESSION_COOKIE = "lr_session"
LANG_COOKIE = "lr_lang"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class NotSignedIn(Exception):
    """No valid session or token (API: 401; pages: redirect to the sign-in page)."""


@dataclass
class Context:
    """What a route works with."""

    ws: Workspace
    profile: Profile
    user: User
    csrf_token: str | None  # None for API-token requests
    lang: str

    @property
    def actor(self) -> Actor:
        return self.user.actor

    @property
    def en(self) -> bool:
        return self.lang == "en"


def lang_of(request: Request) -> str:
    """``?lang=en|zh``, else the language cookie, else Chinese."""
    lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "zh"
    return "en" if lang.lower().startswith("en") else "zh"


def _identify(request: Request) -> tuple[User, str | None]:
    ws: Workspace = request.app.state.ws
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        user = users.token_user(ws.engine, auth[7:].strip())
        if user is None:
            raise NotSignedIn()
        return user, None
    cookie = request.cookies.get(SESSION_COOKIE)
    idle = timedelta(minutes=request.app.state.settings.session_idle_minutes)
    found = users.session_user(ws.engine, cookie, idle) if cookie else None
    if found is None:
        raise NotSignedIn()
    return found


async def _check_csrf(request: Request, token: str | None) -> None:
    """Unsafe methods with a session cookie must echo its CSRF token (header or form field)."""
    if token is None or request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = (await request.form()).get("csrf_token")
    if not sent or not hmac.compare_digest(str(sent), token):
        raise HTTPException(403, detail={"code": "csrf", "zh": "请求缺少有效的 CSRF 令牌，请刷新页面后重试",
                                         "en": "missing or wrong CSRF token: reload the page and try again"})


async def context(request: Request) -> Context:
    """The signed-in context of an API request."""
    user, csrf = _identify(request)
    await _check_csrf(request, csrf)
    state = request.app.state
    return Context(state.ws, state.profile, user, csrf, lang_of(request))


Ctx = Annotated[Context, Depends(context)]
