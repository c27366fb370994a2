"""Sign-in and sign-out pages; the session cookie is HttpOnly, SameSite=Strict and random."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from landrenew import users
from landrenew.web import throttle
from landrenew.web.context import SESSION_COOKIE, context, lang_of
from landrenew.web.i18n import words
from landrenew.web.render import render

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "lr_login_csrf"


def _safe_next(target: str | None) -> str:
    """Only a local path: no open redirect to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or urlparse(target).netloc:
        return "/"
    return target


def _login_page(request: Request, next_: str, error: str | None = None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    resp = render(request, "login.html", "login", None, {"login_csrf": token, "next": _safe_next(next_),
                                                        "error": error}, status)
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login",
                    secure=request.app.state.settings.secure_cookies)
    return resp


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:  # noqa: A002 - the query parameter's name
    return _login_page(request, next)


@router.post("/login")
def login(request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()],
          csrf_token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:  # noqa: A002
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    w = words(lang_of(request))
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return _login_page(request, next, "页面已过期，请重新登录 / the page expired, sign in again", 403)
    state = request.app.state
    attempt = throttle.keys(username, request.client.host if request.client else None)
    wait = state.login_throttle.wait_s(attempt)
    if wait:
        minutes = max(1, round(wait / 60))
        resp = _login_page(request, next, f"登录失败次数过多，请 {minutes} 分钟后再试 / too many failed sign-ins: "
                                          f"try again in {minutes} min", 429)
        resp.headers["Retry-After"] = str(wait)
        return resp
    user = users.authenticate(state.ws.engine, username, password)
    if user is None:
        state.login_throttle.failed(attempt)
        return _login_page(request, next, w["bad_login"], 401)
    state.login_throttle.succeeded(attempt)
    session = users.start_session(state.ws.engine, user, state.settings.session_hours)
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(SESSION_COOKIE, session.cookie, httponly=True, samesite="strict", path="/",
                    max_age=int(state.settings.session_hours * 3600), secure=state.settings.secure_cookies)
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return resp


@router.post("/logout")
async def logout(request: Request) -> Response:
    await context(request)  # signed in, and the form carries the CSRF token
    users.end_session(request.app.state.ws.engine, request.cookies[SESSION_COOKIE])
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp
