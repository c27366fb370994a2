"""The web app's frame: sign-in, sessions, CSRF, API tokens, security headers, the cockpit's API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from landrenew import users
from landrenew.store.models import ApiToken
from landrenew.web import WebSettings, create_app

PASSWORD = "Changzhou-2025"


@pytest.fixture()
def app(ws, profile):
    users.add_user(ws.engine, profile, "admin", "city_admin", PASSWORD, display_name="王建国")
    users.add_user(ws.engine, profile, "wujin", "district_officer", PASSWORD, district="320412")
    return create_app(WebSettings(ws.path, ws.database_url))


def sign_in(client: TestClient, name: str = "admin", password: str = PASSWORD, next_: str = "/"):
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token,
                                       "next": next_}, follow_redirects=False)


def csrf_of(client: TestClient) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)


def test_a_page_without_a_session_redirects_to_sign_in_and_the_api_says_401(app):
    c = TestClient(app)
    r = c.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/"
    r = c.get("/api/targets")
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_signed_in"


def test_sign_in_sets_a_strict_httponly_session_and_shows_the_cockpit(app):
    c = TestClient(app)
    r = sign_in(c)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "lr_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    page = c.get("/")
    assert page.status_code == 200 and "驾驶舱" in page.text and "王建国" in page.text
    assert '<script type="module" src="/static/dist/cockpit.js">' in page.text


def test_a_wrong_password_or_a_disabled_user_is_refused_alike(app, ws):
    c = TestClient(app)
    assert sign_in(c, password="wrong-password-1").status_code == 401
    users.set_disabled(ws.engine, "wujin")
    r = sign_in(c, "wujin")
    assert r.status_code == 401 and "用户名或密码错误" in r.text


def test_sign_in_without_the_form_token_is_refused(app):
    c = TestClient(app)
    r = c.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": "x"})
    assert r.status_code == 403


def test_next_never_leads_to_another_site(app):
    c = TestClient(app)
    assert sign_in(c, next_="//evil.example/").headers["location"] == "/"
    assert sign_in(c, next_="https://evil.example/").headers["location"] == "/"
    assert sign_in(c, next_="/cases").headers["location"] == "/cases"


def test_unsafe_requests_need_the_csrf_token_and_sign_out_ends_the_session(app):
    c = TestClient(app)
    sign_in(c)
    assert c.post("/logout", follow_redirects=False).status_code == 403
    token = csrf_of(c)
    r = c.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert c.get("/api/me").status_code == 401


def test_disabling_a_user_ends_its_sessions(app, ws):
    c = TestClient(app)
    sign_in(c, "wujin")
    assert c.get("/api/me").json()["district_code"] == "320412"
    users.set_disabled(ws.engine, "wujin")
    assert c.get("/api/me").status_code == 401


def test_repeated_failed_sign_ins_are_throttled_per_user_name_then_allowed_again(app):
    """After ``login_failures_per_user`` wrong passwords the user name is refused (429, even with
    the right password) until the window has passed; other users are not; a success clears it."""
    clock = [1000.0]
    app.state.login_throttle.clock = lambda: clock[0]
    c = TestClient(app)
    for _ in range(app.state.settings.login_failures_per_user):
        assert sign_in(c, password="wrong-password-1").status_code == 401
    blocked = sign_in(c)
    assert blocked.status_code == 429 and "登录失败次数过多" in blocked.text
    assert 0 < int(blocked.headers["Retry-After"]) <= app.state.settings.login_window_minutes * 60
    assert sign_in(TestClient(app), "wujin").status_code == 303  # another user name
    clock[0] += app.state.settings.login_window_minutes * 60
    assert sign_in(c).status_code == 303
    assert sign_in(c, password="wrong-password-1").status_code == 401  # the count started again


def test_failed_sign_ins_from_one_address_are_throttled_across_user_names(app):
    c = TestClient(app)
    limit = app.state.settings.login_failures_per_address
    for i in range(limit):
        assert sign_in(c, f"nobody{i}", "wrong-password-1").status_code == 401
    assert sign_in(c, "wujin").status_code == 429


def test_an_idle_session_ends_and_a_used_one_goes_on(app, ws):
    """A session ends ``session_idle_minutes`` after its last request, before its absolute expiry."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from landrenew.store.models import WebSession

    c = TestClient(app)
    sign_in(c)
    assert c.get("/api/me").status_code == 200
    idle = timedelta(minutes=app.state.settings.session_idle_minutes)
    with ws.engine.begin() as conn:  # its last request was just under the idle limit ago
        conn.execute(update(WebSession).values(last_seen_at=datetime.now(UTC) - idle + timedelta(minutes=2)))
    assert c.get("/api/me").status_code == 200  # … which notes this one
    with ws.engine.begin() as conn:
        seen = conn.execute(WebSession.__table__.select()).mappings().one()["last_seen_at"]
        assert abs((seen.replace(tzinfo=UTC) if seen.tzinfo is None else seen) - datetime.now(UTC)) < timedelta(minutes=1)
        conn.execute(update(WebSession).values(last_seen_at=datetime.now(UTC) - idle - timedelta(seconds=1)))
    assert c.get("/api/me").status_code == 401
    with ws.engine.connect() as conn:  # and it is gone
        assert conn.execute(WebSession.__table__.select()).first() is None


def test_an_api_token_works_without_cookies_and_stops_when_revoked(app, ws):
    token = users.create_token(ws.engine, "admin", "nightly export")
    c = TestClient(app)
    r = c.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["role"] == "city_admin"
    assert c.get("/api/me", headers={"Authorization": "Bearer lr_forged"}).status_code == 401
    users.set_disabled(ws.engine, "admin")
    users.set_disabled(ws.engine, "admin", False)
    assert c.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_an_api_token_stops_at_its_expiry_and_when_revoked_or_rotated(app, ws):
    c = TestClient(app)
    me = lambda t: c.get("/api/me", headers={"Authorization": f"Bearer {t}"}).status_code  # noqa: E731
    token = users.create_token(ws.engine, "admin", "qgis", days=30)
    [t] = users.list_tokens(ws.engine, "admin")
    assert (t.label, t.status, t.last_used_at) == ("qgis", "live", None)
    assert timedelta(days=29, hours=23) < t.expires_at - t.created_at <= timedelta(days=30)
    assert me(token) == 200 and users.list_tokens(ws.engine)[0].last_used_at is not None
    with ws.engine.begin() as conn:
        conn.execute(update(ApiToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert me(token) == 401 and users.list_tokens(ws.engine)[0].status == "expired"
    fresh = users.rotate_token(ws.engine, t.id, days=7)  # an expired token may still be replaced …
    assert me(fresh) == 200 and [x.status for x in users.list_tokens(ws.engine)] == ["live", "revoked"]
    with pytest.raises(users.UserError, match="已撤销"):  # … a revoked one not
        users.rotate_token(ws.engine, t.id)
    users.revoke_token(ws.engine, users.list_tokens(ws.engine)[0].id)
    assert me(fresh) == 401
    for days in (0, users.MAX_TOKEN_DAYS + 1):
        with pytest.raises(users.UserError, match="有效期"):
            users.create_token(ws.engine, "admin", "forever", days=days)
    with pytest.raises(users.UserError, match="没有令牌"):
        users.revoke_token(ws.engine, 999)


def test_tokens_made_before_expiry_existed_get_one_at_the_upgrade(app, ws):
    from sqlalchemy import text

    from landrenew.store import migrate

    migrate.command.downgrade(migrate.alembic_config(ws.engine), "0015")
    with ws.engine.begin() as conn:
        conn.execute(text("INSERT INTO api_token (user_id, label, token_hash, created_at, revoked) SELECT id, "
                          "'old', 'abc', :t, false FROM app_user WHERE name = 'admin'"), {"t": datetime(2025, 1, 1)})
    migrate.upgrade(ws.engine)
    [t] = users.list_tokens(ws.engine)
    assert t.status == "live" and timedelta(days=89) < t.expires_at - datetime.now(UTC) <= timedelta(days=90)


def test_security_headers_forbid_inline_scripts_and_framing(app):
    r = TestClient(app).get("/login")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    assert "<script>" not in r.text and "http://" not in r.text and "https://" not in r.text
    assert "strict-transport-security" not in r.headers  # plain HTTP: a browser would ignore it


def test_behind_tls_browsers_are_told_to_keep_to_https(ws):
    app = create_app(WebSettings(ws.path, ws.database_url, secure_cookies=True))
    assert TestClient(app).get("/login").headers["strict-transport-security"] == "max-age=31536000"


def test_the_language_is_chosen_once_and_remembered(app):
    c = TestClient(app)
    sign_in(c)
    assert "Cockpit" in c.get("/?lang=en").text
    assert "Cockpit" in c.get("/").text
    assert "驾驶舱" in c.get("/?lang=zh").text


def test_cockpit_api_on_an_empty_workspace(app):
    c = TestClient(app)
    sign_in(c)
    t = c.get("/api/targets").json()
    assert {r["scope"] for r in t["rows"]} >= {"city", "320412"}
    assert c.get("/api/overview").json() == {"run": None}
    trend = c.get("/api/targets/trend", params={"start": "2023-01-01", "end": "2023-12-31"}).json()["rows"]
    assert sorted({r["date"] for r in trend}) == ["2023-03-31", "2023-06-30", "2023-09-30", "2023-12-31"]
    m = c.get("/api/meta").json()
    assert [d["code"] for d in m["districts"]][:2] == ["320402", "320404"] and m["tags"][0]["char"] == "危"


def test_users_refuse_weak_passwords_unknown_roles_and_missing_districts(ws, profile):
    for name, role, password, district, needle in [
        ("a1", "city_admin", "short1", None, "至少"), ("a2", "city_admin", "onlyletterslong", None, "两类"),
        ("a3", "mayor", PASSWORD, None, "未知角色"), ("a4", "district_officer", PASSWORD, None, "行政区"),
        ("Bad Name", "viewer", PASSWORD, None, "用户名"), ("a5", "viewer", "a5-password-123", None, "用户名")]:
        with pytest.raises(users.UserError, match=needle):
            users.add_user(ws.engine, profile, name, role, password, district=district)


def test_cli_users_add_list_token_disable(ws):
    from typer.testing import CliRunner

    from conftest import cli_ws
    from landrenew.cli import app as cli

    run = CliRunner().invoke
    r = run(cli, ["users", "add", "liyang", "--role", "district_officer", "--district", "320481",
                  "--password-stdin", *cli_ws(ws)], input=f"{PASSWORD}\n")
    assert r.exit_code == 0, r.output
    r = run(cli, ["users", "add", "x", "--role", "viewer", "--password-stdin", *cli_ws(ws)], input="weak\n")
    assert r.exit_code == 1 and "至少" in r.output
    assert "320481" in run(cli, ["users", "list", *cli_ws(ws)]).output
    r = run(cli, ["users", "token", "liyang", "--label", "qgis", "--days", "30", *cli_ws(ws)])
    token = r.output.strip().splitlines()[-1]
    assert token.startswith("lr_") and users.token_user(ws.engine, token).name == "liyang"
    assert run(cli, ["users", "token", "liyang", "--days", "9999", *cli_ws(ws)]).exit_code == 1
    listed = run(cli, ["users", "tokens", "liyang", *cli_ws(ws)]).output
    assert "qgis" in listed and "有效" in listed and token not in listed
    r = run(cli, ["users", "rotate-token", "1", *cli_ws(ws)])
    rotated = r.output.strip().splitlines()[-1]
    assert users.token_user(ws.engine, token) is None and users.token_user(ws.engine, rotated).name == "liyang"
    assert "已撤销" in run(cli, ["users", "revoke-token", "2", *cli_ws(ws)]).output
    assert users.token_user(ws.engine, rotated) is None
    token = run(cli, ["users", "token", "liyang", *cli_ws(ws)]).output.strip().splitlines()[-1]
    assert run(cli, ["users", "disable", "liyang", *cli_ws(ws)]).exit_code == 0
    assert users.token_user(ws.engine, token) is None


def test_overview_of_the_latest_run_counts_its_lists(web_city):
    from webkit import client_for

    ov = client_for(web_city.app, "analyst").get("/api/overview").json()["run"]
    assert ov["run_id"] == web_city.run_id and set(ov["tags"]) <= set("危污乱散低") and sum(ov["tags"].values()) > 0
    assert set(ov["classes"]) <= {"A", "B", "C", "D", "T"} and ov["families"]["upgrade"]["cases"] > 0


def test_an_upload_over_the_limit_is_refused_before_it_is_read(ws, profile):
    users.add_user(ws.engine, profile, "admin", "city_admin", PASSWORD)
    app = create_app(WebSettings(ws.path, ws.database_url, max_upload_mb=1))
    r = TestClient(app).post("/api/intake/validate", content=b"x" * (1024 * 1024 + 1),
                             headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


def test_the_warm_up_fills_the_cockpit_and_list_caches_and_new_data_are_seen(web_city, profile):
    from sqlalchemy import select

    from landrenew import lists
    from landrenew.actors import Actor
    from landrenew.cases import add_comment, transition
    from landrenew.store.models import ClearanceCase
    from landrenew.web import api
    from landrenew.web.warm import warm
    from webkit import client_for

    api._VIEWS.clear()
    lists._TOTALS.clear()
    leader = client_for(web_city.app, "leader")
    assert warm(web_city.app) >= 0
    health = leader.get("/api/health").json()
    assert health["warm"] is True and health["warm_seconds"] >= 0
    assert len(api._VIEWS.data) == 3 and len(lists._TOTALS.data) == len(lists.LISTS) * (
        1 + 2 * len(profile.city.district_codes))
    first = leader.get("/api/targets").json()
    assert len(api._VIEWS.data) == 3  # answered from the warm cache
    # a comment changes no view: still answered from the cache; a move of a case is seen at once
    cc = ClearanceCase.__table__
    with web_city.ws.engine.connect() as conn:
        no, version = conn.execute(select(cc.c.case_no, cc.c.version).where(cc.c.closed_at.is_(None))).first()
    admin = Actor("admin", "city_admin")
    add_comment(web_city.ws, profile, admin, no, version, "复核意见")
    assert leader.get("/api/targets").json() == first and len(api._VIEWS.data) == 3
    transition(web_city.ws, profile, admin, no, "withdrawn", version + 1, comment="企业已自行整改")
    leader.get("/api/targets")
    assert len(api._VIEWS.data) == 4


def test_a_trend_over_centuries_is_refused_not_computed(app):
    """Each quarter end is a full measurement of every target: a range of 10,000 years is refused."""
    c = TestClient(app)
    sign_in(c)
    r = c.get("/api/targets/trend", params={"start": "0001-01-01", "end": "9999-12-31"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "range"
