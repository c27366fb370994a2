"""Fixtures and helpers for web tests (a pytest plugin loaded by conftest).

* ``web_city``: a small demo city — loaded, analysed (run 1), its cases and ledger worked through
  2023–2025 — with one user per role (password ``PASSWORD``), and the app over it; once per module
  and backend. Read-only tests share it; a test that changes data should use ``ws`` instead.
* ``client_for(app, user)``: a TestClient signed in as ``user`` (its CSRF token in ``client.csrf``).
* ``live_server(app)``: the app served by uvicorn on a free loopback port (for the browser).
* ``browser``: headless Debian chromium driven by Playwright (skipped when chromium is missing,
  unless CI / LANDRENEW_REQUIRE_BROWSER demand it).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from conftest import fresh_workspace
from landrenew import users
from landrenew.demo.job import run_demo
from landrenew.demo.operations import simulate_operations
from landrenew.runs import analyze
from landrenew.store import Workspace
from landrenew.web import WebSettings, create_app

PASSWORD = "Changzhou-2025"
#: user name → (role, district)
USERS = {"admin": ("city_admin", None), "analyst": ("city_analyst", None),
         "wujin": ("district_officer", "320412"), "xinbei": ("district_officer", "320411"),
         "leader": ("viewer", None)}
CHROMIUM = "/usr/bin/chromium"


@dataclass
class City:
    ws: Workspace
    app: FastAPI
    run_id: int


def add_users(ws: Workspace, profile) -> None:  # noqa: ANN001
    for name, (role, district) in USERS.items():
        users.add_user(ws.engine, profile, name, role, PASSWORD, district=district)


@pytest.fixture(scope="module")
def web_city(request, backend, tmp_path_factory, profile) -> Iterator[City]:
    """A small analysed and operated demo city with users, and the app over it."""
    with fresh_workspace(request, backend, tmp_path_factory.mktemp("web") / "ws") as ws:
        assert not run_demo(ws, profile, 2000, 5).failed
        run_id, _ = analyze(ws, profile, date(2024, 12, 31), outputs=False)
        simulate_operations(ws, profile, run_id, 5)
        add_users(ws, profile)
        yield City(ws, create_app(WebSettings(ws.path, ws.database_url)), run_id)


def client_for(app: FastAPI, name: str, password: str = PASSWORD) -> TestClient:
    """A client signed in as ``name``; ``client.csrf`` is its session's CSRF token."""
    c = TestClient(app)
    page = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = c.post("/login", data={"username": name, "password": password, "csrf_token": token},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    c.csrf = re.search(r'name="csrf-token" content="([^"]+)"', c.get("/").text).group(1)
    c.headers["X-CSRF-Token"] = c.csrf
    return c


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yields its base URL."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="session")
def browser():
    """Headless chromium (Debian's), one per test session."""
    required = bool(os.environ.get("CI") or os.environ.get("LANDRENEW_REQUIRE_BROWSER"))
    if not shutil.which(CHROMIUM):
        if required:
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


def sign_in_page(page, base: str, name: str, password: str = PASSWORD) -> None:  # noqa: ANN001
    """Sign in through the login form in a Playwright page."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def open_page(browser, height: int = 960, **options):  # noqa: ANN001, ANN201
    """A page in a new browser context (Chinese locale) that records script errors in ``page.errors``
    and finished requests in ``page.requests``; close it with ``page.context.close()``."""
    context = browser.new_context(viewport={"width": 1440, "height": height}, locale="zh-CN", **options)
    p = context.new_page()
    p.errors, p.requests = [], []
    p.on("pageerror", lambda e: p.errors.append(str(e)))
    p.on("console", lambda m: p.errors.append(m.text) if m.type == "error" else None)
    p.on("requestfinished", lambda r: p.requests.append(r.url))
    return p


@pytest.fixture()
def page(browser):
    """A fresh page (see :func:`open_page`), closed after the test."""
    p = open_page(browser, accept_downloads=True)
    yield p
    p.context.close()


@pytest.fixture()
def page_factory(browser):
    """Make several pages (e.g. two officers on one case); all closed after the test."""
    made = []

    def make(**options):  # noqa: ANN003, ANN202
        made.append(open_page(browser, **options))
        return made[-1]

    yield make
    for p in made:
        p.context.close()
