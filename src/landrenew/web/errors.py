"""Typed errors of the services turned into HTTP responses in one place.

Every error body has the same shape: ``{"error": {"code": …, "zh": …, "en": …}}``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from landrenew.actors import Forbidden
from landrenew.cases import CaseError, CaseNotFound, StaleCase
from landrenew.ledger import LedgerError
from landrenew.users import UserError
from landrenew.web.context import NotSignedIn


class ErrorDetail(BaseModel):
    code: str
    zh: str
    en: str


class ErrorResponse(BaseModel):
    """Every error the API returns: a code, and what went wrong in Chinese and English."""

    error: ErrorDetail


#: documented on every route: the shape of the errors the handlers below return
RESPONSES: dict[int | str, dict] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in [(401, "not signed in"), (403, "not allowed (role, district or CSRF token)"),
                         (404, "not found"), (409, "stale: changed by someone else since"),
                         (413, "the upload is too large"), (422, "invalid request or refused by the rules"),
                         (500, "internal error"), (503, "the database is unavailable or busy: retry later")]}
#: Chinese for the plain reasons Starlette gives (its router's 404 and 405)
PLAIN_ZH = {"Not Found": "没有这个地址", "Method Not Allowed": "此地址不支持该请求方法"}
#: seconds a client is told to wait before retrying when the database is unavailable
RETRY_AFTER_S = 5


def refusal(status: int, code: str, zh: str, en: str) -> HTTPException:
    """An HTTP error in the one error shape (raised by routes)."""
    return HTTPException(status, detail={"code": code, "zh": zh, "en": en})


def error_body(code: str, zh: str, en: str) -> dict:
    return {"error": {"code": code, "zh": zh, "en": en}}


def _json(status: int, code: str, zh: str, en: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, zh, en), status_code=status, headers=headers)


def _wants_page(request: Request) -> bool:
    return request.method == "GET" and not request.url.path.startswith(("/api", "/ogc", "/tiles")) \
        and "text/html" in request.headers.get("accept", "")


def _refusal(status: int, code: str):  # noqa: ANN202 - an exception handler
    async def handler(_r: Request, exc: Forbidden | CaseError | LedgerError | UserError) -> Response:
        return _json(status, code, exc.zh, exc.en)
    return handler


def _busy_or_gone(exc: DBAPIError) -> bool:
    """A lost connection or a busy database (retry later), not a fault of the statement."""
    if type(exc.orig).__module__ == "sqlite3":
        return any(word in str(exc.orig).lower() for word in ("locked", "busy"))
    return True


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(request: Request, _exc: NotSignedIn) -> Response:
        if _wants_page(request):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return _json(401, "not_signed_in", "请先登录", "sign in first")

    # the services' refusals, each with its status and code (the most specific class wins)
    for kind, status, code in [(Forbidden, 403, "forbidden"), (StaleCase, 409, "stale"), (CaseNotFound, 404, "case"),
                               (CaseError, 422, "case"), (LedgerError, 422, "ledger"), (UserError, 422, "user")]:
        app.add_exception_handler(kind, _refusal(status, code))

    # Starlette's class, not FastAPI's subclass: the router's own 404 (no such path, e.g. a ``..`` in it)
    # and 405 (with its Allow header) are Starlette's and must have the one shape too
    @app.exception_handler(StarletteHTTPException)
    async def _http(_r: Request, exc: StarletteHTTPException) -> Response:
        if isinstance(exc.detail, dict) and "code" in exc.detail:
            d = exc.detail
            return _json(exc.status_code, d["code"], d.get("zh", ""), d.get("en", ""), exc.headers)
        text = str(exc.detail)
        zh = PLAIN_ZH.get(text, text)
        return _json(exc.status_code, f"http_{exc.status_code}", zh, text, exc.headers)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database_unavailable(request: Request, exc: DBAPIError) -> Response:
        """The database went away (restart, network) or is busy: 503 and retry; the pool's pre-ping
        reconnects on a later request, so the server recovers without a restart. (SQLite reports a
        bad statement as an "operational" error too: that one is ours, a 500.)"""
        if not _busy_or_gone(exc):
            raise exc  # a fault of ours: the 500 handler answers, and the server logs it
        zh, en = "数据库暂时不可用，请稍后重试", "the database is unavailable; try again shortly"
        headers = {"Retry-After": str(RETRY_AFTER_S)}
        if _wants_page(request):
            return HTMLResponse(f'<!doctype html><html lang="zh"><head><meta charset="utf-8">'
                                f'<meta http-equiv="refresh" content="{RETRY_AFTER_S}"><title>{zh}</title></head>'
                                f"<body><h1>{zh}</h1><p>{en}</p></body></html>", status_code=503, headers=headers)
        return JSONResponse(error_body("database_unavailable", zh, en), status_code=503, headers=headers)

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(_r: Request, _exc: Exception) -> Response:
        """A number in the request the database cannot hold (an id beyond 64 bits, a page past the end
        of any table): the request is wrong, not the server."""
        return _json(422, "out_of_range", "请求中的数值超出范围", "a number in the request is out of range")

    @app.exception_handler(Exception)
    async def _internal(_r: Request, _exc: Exception) -> Response:
        """Anything unforeseen: 500 in the one error shape (the traceback goes to the server's log)."""
        return _json(500, "internal", "服务器内部错误，请联系管理员", "internal server error; tell the administrator")

    @app.exception_handler(RequestValidationError)
    async def _invalid(_r: Request, exc: RequestValidationError) -> Response:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return _json(422, "invalid", f"请求参数有误：{where}", f"invalid request: {where}")
