"""The FastAPI application: one instance per workspace and profile."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from landrenew.policy import load_profile
from landrenew.runs import recover
from landrenew.store import Workspace
from landrenew.web import (
    api,
    auth,
    errors,
    intake,
    lists,
    map,
    ogc,
    operations,
    pages,
    reports,
    runs,
    tiles,
)
from landrenew.web.settings import WebSettings
from landrenew.web.throttle import LoginThrottle

STATIC = Path(__file__).parent / "static"
#: no inline script or style, nothing from another origin; map workers run from blob: URLs
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "worker-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
           "Referrer-Policy": "same-origin", "Cross-Origin-Opener-Policy": "same-origin"}
#: behind TLS (``--secure-cookies``) browsers are told to use HTTPS only, for a year
HSTS = {"Strict-Transport-Security": "max-age=31536000"}


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """The app over ``settings``' workspace (migrated on start) and profile."""
    settings = settings or WebSettings()
    app = FastAPI(title="landrenew", version="0.1.0", docs_url=None, redoc_url=None,  # /docs is ours: no CDN
                  description="危污乱散低用地出清提升 — land clearance and upgrade: JSON API. Sign in "
                              "(session cookie + X-CSRF-Token on changes) or send Authorization: Bearer TOKEN "
                              "(landrenew users token).")
    app.state.settings = settings
    app.state.ws = Workspace.open(settings.workspace, settings.database_url)
    recover(app.state.ws)  # runs a killed server left running are marked interrupted
    app.state.login_throttle = LoginThrottle(
        {"user": settings.login_failures_per_user, "addr": settings.login_failures_per_address},
        settings.login_window_minutes * 60)
    app.state.profile = load_profile(settings.profile)

    limit = settings.max_upload_mb * 1024 * 1024
    headers = HEADERS | (HSTS if settings.secure_cookies else {})

    @app.middleware("http")
    async def _security_headers(request: Request, call_next) -> Response:  # noqa: ANN001
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:  # refuse before the body is received
            response: Response = JSONResponse(errors.error_body(
                "too_large", f"上传内容超过 {settings.max_upload_mb} MB", f"the upload exceeds "
                f"{settings.max_upload_mb} MB"), status_code=413)
        else:
            response = await call_next(request)
        for k, v in headers.items():
            response.headers.setdefault(k, v)
        if request.url.path.startswith("/api"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    errors.install(app)
    app.include_router(auth.router)
    app.include_router(api.router, responses=errors.RESPONSES)
    app.include_router(pages.router)
    for module in (lists, map, operations, runs, intake, reports, ogc, tiles):
        app.include_router(module.router, responses=errors.RESPONSES)
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
    return app
