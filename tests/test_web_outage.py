"""PostgreSQL restarting under a running server: requests get a clear 503 in the one error shape
(a page asks to retry), and the server recovers by itself when the database is back."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from landrenew import users
from landrenew.store import Workspace
from landrenew.web import WebSettings, create_app
from pgcluster import PgServer, PgUnavailable, required


@pytest.fixture()
def own_server():
    """A PostgreSQL cluster of this test alone (it is stopped and started again)."""
    try:
        server = PgServer.start("outage")
    except PgUnavailable as exc:
        if required():
            raise
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.close()


def test_a_database_restart_gives_503_then_the_server_recovers(own_server, profile, tmp_path):
    url = own_server.new_database()
    engine = create_engine(url)
    with engine.begin() as conn:  # the test clusters trade durability for speed; this one must keep its commits
        conn.execute(text(f"ALTER DATABASE {engine.url.database} SET synchronous_commit = on"))
    engine.dispose()
    ws = Workspace.open(tmp_path / "ws", url)
    users.add_user(ws.engine, profile, "admin", "city_admin", "Changzhou-2025")
    token = users.create_token(ws.engine, "admin", "outage test")
    client = TestClient(create_app(WebSettings(ws.path, ws.database_url)), raise_server_exceptions=False)
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=auth).status_code == 200
    assert client.get("/api/cases", headers=auth).status_code == 200

    own_server.cluster.pause()
    for path in ("/api/me", "/api/cases"):
        r = client.get(path, headers=auth)
        assert r.status_code == 503, (path, r.text)
        assert r.json()["error"]["code"] == "database_unavailable" and r.headers["Retry-After"].isdigit()
    page = client.get("/", headers={**auth, "Accept": "text/html"})
    assert page.status_code == 503 and "数据库暂时不可用" in page.text

    own_server.cluster.resume()
    assert client.get("/api/me", headers=auth).status_code == 200  # no restart of landrenew
    assert client.get("/api/cases", headers=auth).status_code == 200
