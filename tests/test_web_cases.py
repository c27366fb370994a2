"""The case board and a case through the web: the JSON API (every route, with its refusals — wrong
role, other district, stale version, bad input, oversized file), the pages, and a browser session
that moves a case and meets a stale edit."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from landrenew.web import WebSettings, create_app
from test_cases import RECS, run_ws  # noqa: F401 - the fixture: a finished run of four recommendations
from webkit import add_users, client_for, live_server, sign_in_page

SHOTS = Path(__file__).parent.parent / "build" / "screenshots"
PROOF = ("验收报告.pdf", b"%PDF-1.4 acceptance report", "application/pdf")


# --------------------------------------------------------------------------- reading (shared city)


def test_a_district_officer_lists_only_its_district_and_pages_them(web_city):
    admin, wujin = client_for(web_city.app, "admin"), client_for(web_city.app, "wujin")
    everyone = admin.get("/api/cases", params={"page_size": 500}).json()
    mine = wujin.get("/api/cases", params={"page_size": 500}).json()
    assert {r["district_code"] for r in mine["rows"]} == {"320412"}
    assert mine["total"] == sum(r["district_code"] == "320412" for r in everyone["rows"]) < everyone["total"]
    first, second = (wujin.get("/api/cases", params={"page_size": 5, "page": p}).json() for p in (1, 2))
    assert len(first["rows"]) == 5 and first["total"] == mine["total"]
    assert [r["case_no"] for r in first["rows"] + second["rows"]] == [r["case_no"] for r in mine["rows"][:10]]
    assert all(r["last_date"] >= r["opened_at"] for r in first["rows"])
    upgrade = admin.get("/api/cases", params={"family": "upgrade", "state": "reused"}).json()
    assert upgrade["total"] > 0 and {(r["family"], r["state"]) for r in upgrade["rows"]} == {("upgrade", "reused")}
    r = wujin.get("/api/cases", params={"district": "320411"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert admin.get("/api/cases", params={"page": 0}).status_code == 422


def test_the_board_counts_every_case_per_workflow_state(web_city):
    admin = client_for(web_city.app, "admin")
    total = admin.get("/api/cases", params={"page_size": 1}).json()["total"]
    b = admin.get("/api/cases/board", params={"per_state": 3}).json()
    assert b["total"] == total == sum(f["count"] for f in b["families"])
    counted = sum(c["count"] for w in b["workflows"] for c in w["columns"])
    assert counted == total and all(len(c["cards"]) <= 3 for w in b["workflows"] for c in w["columns"])
    up = admin.get("/api/cases/board", params={"family": "upgrade"}).json()
    assert [w["id"] for w in up["workflows"]] == ["workflow.upgrade"]
    states = [c["state"] for c in up["workflows"][0]["columns"]]
    assert states[0] == "identified" and "reused" in states
    n = next(f["count"] for f in b["families"] if f["key"] == "upgrade")
    assert up["total"] == n == sum(c["count"] for c in up["workflows"][0]["columns"])
    wujin = client_for(web_city.app, "wujin").get("/api/cases/board").json()
    cards = [c for w in wujin["workflows"] for col in w["columns"] for c in col["cards"]]
    assert cards and {c["district_code"] for c in cards} == {"320412"} and cards[0]["district_zh"] == "武进区"


def _wujin_case_with_a_move(c: TestClient, skip: set[str] = frozenset()) -> dict:
    for row in c.get("/api/cases", params={"page_size": 500}).json()["rows"]:
        if row["case_no"] in skip:
            continue
        case = c.get(f"/api/cases/{row['case_no']}").json()
        if any(not m["requires"] for m in case["moves"]):
            return case
    raise AssertionError("wujin has no case with a free move")


def test_a_case_shows_its_moves_with_the_typed_fields_they_need(web_city, profile):
    wujin, leader = client_for(web_city.app, "wujin"), client_for(web_city.app, "leader")
    case = _wujin_case_with_a_move(wujin)
    assert case["district_code"] == "320412" and case["version"] >= 1 and case["milestones"][0]["state"] == "identified"
    assert {e["key"] for e in case["estimate"]} >= {"vacated_mu", "construction_quota_mu"}
    assert [f["key"] for f in case["fields"]] == [f.key for f in profile.operations.fields]
    grade = next(f for f in case["fields"] if f["key"] == "farmland_grade")
    assert (grade["type"], grade["minimum"], grade["maximum"]) == ("integer", 1, 15)
    kind = next(f for f in case["fields"] if f["key"] == "farmland_kind")
    assert kind["type"] == "choice" and kind["choices"] == ["水田", "水浇地", "旱地"]
    assert leader.get(f"/api/cases/{case['case_no']}").json()["moves"] == []  # a viewer sees, never moves
    admin = client_for(web_city.app, "admin")
    accepted = admin.get("/api/cases", params={"state": "implementing", "family": "upgrade"}).json()["rows"][0]
    moves = admin.get(f"/api/cases/{accepted['case_no']}").json()["moves"]
    accept = next(m for m in moves if m["to_state"] == "accepted")
    assert [n["key"] for n in accept["requires"]] == ["attachment", "redeveloped_area_mu"]
    assert accept["requires"][0]["type"] == "file" and accept["credits"] == "redeveloped_area_mu"
    withdraw = next(m for m in moves if m["to_state"] == "withdrawn")
    assert withdraw["requires"][0]["type"] == "comment"


def test_a_credited_case_shows_the_quota_it_earned(web_city):
    admin = client_for(web_city.app, "admin")
    closed = admin.get("/api/cases", params={"family": "unsupplied", "state": "closed", "page_size": 1}).json()["rows"][0]
    case = admin.get(f"/api/cases/{closed['case_no']}").json()
    assert case["credited"] and {t["transfer_type"] for t in case["credited"]} == {"credit"}
    assert all(t["to_owner"] == case["district_code"] for t in case["credited"])
    history = admin.get("/api/ledger/history", params={"case": closed["case_no"]}).json()
    assert sorted(r["transfer_id"] for r in history["rows"]) == sorted(t["transfer_id"] for t in case["credited"])
    assert {r["case_no"] for r in history["rows"]} == {closed["case_no"]}


def test_events_are_listed_oldest_first_with_state_names(web_city):
    admin = client_for(web_city.app, "admin")
    closed = admin.get("/api/cases", params={"state": "closed", "page_size": 1}).json()["rows"][0]
    ev = admin.get(f"/api/cases/{closed['case_no']}/events").json()["rows"]
    assert [e["seq"] for e in ev] == list(range(1, len(ev) + 1)) and ev[0]["action"] == "open"
    assert ev[-1]["to_state"] == "closed" and ev[-1]["to_state_zh"] == "销号"


def test_another_districts_case_is_refused_and_an_unknown_one_is_404(web_city):
    xinbei, wujin = client_for(web_city.app, "xinbei"), client_for(web_city.app, "wujin")
    case = _wujin_case_with_a_move(wujin)
    no = case["case_no"]
    for path in (f"/api/cases/{no}", f"/api/cases/{no}/events"):
        r = xinbei.get(path)
        assert r.status_code == 403 and "其他行政区" in r.json()["error"]["zh"]
    move = next(m for m in case["moves"] if not m["requires"])
    r = xinbei.post(f"/api/cases/{no}/move", data={"to_state": move["to_state"], "version": case["version"]})
    assert r.status_code == 403
    r = xinbei.post(f"/api/cases/{no}/comment", data={"version": case["version"], "comment": "看看"})
    assert r.status_code == 403
    assert wujin.get(f"/api/cases/{no}").json()["version"] == case["version"]  # nothing changed
    r = wujin.get("/api/cases/320412-1999-99999")
    assert r.status_code == 404 and r.json()["error"]["code"] == "case"
    page = xinbei.get(f"/cases/{no}")
    assert page.status_code == 403 and "其他行政区" in page.text and "case.js" not in page.text


def test_only_city_roles_verify_the_ledger(web_city):
    assert client_for(web_city.app, "analyst").get("/api/ledger/verify").json()["ok"] is True
    assert client_for(web_city.app, "wujin").get("/api/ledger/verify").status_code == 403


def test_the_pages_render_in_chinese_and_english_without_inline_scripts(web_city):
    c = client_for(web_city.app, "wujin")
    no = _wujin_case_with_a_move(c)["case_no"]
    for path, needle_zh, needle_en, script in [("/cases", "案件看板", "Case board", "cases.js"),
                                               (f"/cases/{no}", "办理记录", "History", "case.js")]:
        zh = c.get(path, params={"lang": "zh"})
        assert zh.status_code == 200 and needle_zh in zh.text and f'src="/static/dist/{script}"' in zh.text
        assert "<script>" not in zh.text and "style=" not in zh.text and "/static/operations.css" in zh.text
        assert needle_en in c.get(path, params={"lang": "en"}).text
    assert f'data-case-no="{no}"' in c.get(f"/cases/{no}").text
    assert c.get("/cases/320412-1999-99999", params={"lang": "zh"}).status_code == 404
    anonymous = TestClient(web_city.app).get("/cases", headers={"Accept": "text/html"}, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/cases"


def test_openapi_documents_every_case_and_ledger_route(web_city):
    spec = TestClient(web_city.app).get("/openapi.json").json()
    paths = spec["paths"]
    for path, method in [("/api/cases", "get"), ("/api/cases/board", "get"), ("/api/cases/open", "post"),
                         ("/api/cases/{case_no}", "get"), ("/api/cases/{case_no}/events", "get"),
                         ("/api/cases/{case_no}/move", "post"), ("/api/cases/{case_no}/comment", "post"),
                         ("/api/cases/{case_no}/attachments/{sha256}", "get"), ("/api/ledger/balances", "get"),
                         ("/api/ledger/history", "get"), ("/api/ledger/transfers", "post"),
                         ("/api/ledger/verify", "get")]:
        assert method in paths[path], path
    schemas = spec["components"]["schemas"]
    assert {"Case", "Move", "Need", "TransferIn", "Posting", "Balances"} <= set(schemas)
    assert "transfer_id" in schemas["TransferIn"]["required"]
    assert "multipart/form-data" in paths["/api/cases/{case_no}/move"]["post"]["requestBody"]["content"]


# --------------------------------------------------------------------------- changing (fresh workspace)


@pytest.fixture()
def app(run_ws, profile):  # noqa: F811
    add_users(run_ws, profile)
    return create_app(WebSettings(run_ws.path, run_ws.database_url, max_upload_mb=1))


@pytest.fixture()
def opened(app):
    r = client_for(app, "admin").post("/api/cases/open", json={})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["run_id"] == 1 and len(out["opened"]) == len(RECS) and out["skipped"] == []
    return app, dict(zip([x[0] for x in RECS], out["opened"], strict=True))


def _move(c: TestClient, no: str, to: str, files=None, **fields):  # noqa: ANN001
    version = c.get(f"/api/cases/{no}").json()["version"]
    return c.post(f"/api/cases/{no}/move", data={"to_state": to, "version": version, **fields}, files=files)


def test_only_city_roles_open_cases_and_again_skips_what_is_taken(app):
    for who in ("wujin", "leader"):
        r = client_for(app, who).post("/api/cases/open", json={"district": "320412"})
        assert r.status_code == 403
    admin = client_for(app, "admin")
    first = admin.post("/api/cases/open", json={"family": "upgrade", "top": 1}).json()
    assert len(first["opened"]) == 1 and first["opened"][0].startswith("320412-")
    again = admin.post("/api/cases/open", json={}).json()
    assert [c for c, _ in again["skipped"]] == ["P5"] and len(again["opened"]) == 3
    assert admin.post("/api/cases/open", json={"top": 0}).status_code == 422
    assert admin.post("/api/cases/open", json={"run": 99}).status_code == 422


def test_moving_a_case_through_its_crediting_step_credits_the_ledger(opened):
    app, no = opened
    admin, wujin = client_for(app, "admin"), client_for(app, "wujin")
    case = no["P1"]  # 320412, reclaim to cultivated land
    before = {r["kind"]: r["balance"] for r in wujin.get("/api/ledger/balances").json()["rows"]}
    r = _move(wujin, case, "planning", comment="方案已编制")
    assert r.status_code == 200 and r.json()["state"] == "planning" and r.json()["version"] == 2
    assert _move(admin, case, "approved", files={"attachment": PROOF}, approval_no="常自然资〔2025〕1号").status_code == 200
    assert _move(wujin, case, "implementing").status_code == 200
    r = _move(admin, case, "accepted", files={"attachment": PROOF}, accepted_area_mu="28",
              farmland_kind="水田", farmland_grade="6")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "accepted" and body["state_zh"] == "验收"
    assert {e["key"]: e["value"] for e in body["entered"]}["accepted_area_mu"] == 28
    credited = {t["kind"]: t["amount"] for t in body["credited"]}
    assert credited["linkage"] == pytest.approx(28) and "paddy" in credited
    after = {r["kind"]: r["balance"] for r in wujin.get("/api/ledger/balances").json()["rows"]}
    for kind, amount in credited.items():
        assert after[kind] - before.get(kind, 0.0) == pytest.approx(amount)
    hist = wujin.get("/api/ledger/history", params={"case": case}).json()
    assert {r["transfer_id"] for r in hist["rows"]} == {f"case-{case}-{k}" for k in credited}
    assert admin.get("/api/ledger/verify").json()["ok"] is True


def test_a_viewer_cannot_move_or_comment(opened):
    app, no = opened
    leader = client_for(app, "leader")
    r = _move(leader, no["P1"], "planning")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert leader.post(f"/api/cases/{no['P1']}/comment", data={"version": 1, "comment": "x"}).status_code == 403


def test_a_district_officer_cannot_make_a_city_move_or_touch_another_district(opened):
    app, no = opened
    wujin = client_for(app, "wujin")
    assert _move(wujin, no["P1"], "planning").status_code == 200
    r = _move(wujin, no["P1"], "approved", files={"attachment": PROOF}, approval_no="X")
    assert r.status_code == 403 and "区级经办人" in r.json()["error"]["zh"]
    r = wujin.post(f"/api/cases/{no['P4']}/move", data={"to_state": "filed", "version": 1},
                   files={"attachment": PROOF})  # 320411's case
    assert r.status_code == 403
    assert client_for(app, "xinbei").get(f"/api/cases/{no['P1']}").status_code == 403


def test_a_stale_version_is_refused_politely_naming_who_changed_it(opened):
    app, no = opened
    wujin, admin = client_for(app, "wujin"), client_for(app, "admin")
    seen = wujin.get(f"/api/cases/{no['P1']}").json()["version"]
    assert _move(admin, no["P1"], "planning").status_code == 200
    r = wujin.post(f"/api/cases/{no['P1']}/move", data={"to_state": "planning", "version": seen})
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "stale" and "admin" in err["zh"] and "刷新" in err["zh"] and "reload" in err["en"]
    r = wujin.post(f"/api/cases/{no['P1']}/comment", data={"version": seen, "comment": "补充说明"})
    assert r.status_code == 409
    assert len(wujin.get(f"/api/cases/{no['P1']}/events").json()["rows"]) == 2


def test_missing_or_wrong_values_are_refused_before_anything_changes(opened):
    app, no = opened
    admin = client_for(app, "admin")
    _move(admin, no["P1"], "planning")
    r = _move(admin, no["P1"], "approved", approval_no="A")  # no file
    assert r.status_code == 422 and "附件" in r.json()["error"]["zh"]
    r = _move(admin, no["P1"], "approved", files={"attachment": PROOF})  # no approval number
    assert r.status_code == 422 and "批复文号" in r.json()["error"]["zh"]
    _move(admin, no["P1"], "approved", files={"attachment": PROOF}, approval_no="A")
    _move(admin, no["P1"], "implementing")
    r = _move(admin, no["P1"], "accepted", files={"attachment": PROOF}, accepted_area_mu="28",
              farmland_kind="水田", farmland_grade="99")
    assert r.status_code == 422 and "耕地质量等别" in r.json()["error"]["zh"]
    r = _move(admin, no["P1"], "accepted", files={"attachment": PROOF}, accepted_area_mu="很多",
              farmland_kind="水田", farmland_grade="6")
    assert r.status_code == 422
    r = _move(admin, no["P1"], "accepted", files={"attachment": PROOF}, accepted_area_mu="28",
              farmland_kind="沙地", farmland_grade="6")
    assert r.status_code == 422 and "耕地类型" in r.json()["error"]["zh"]
    assert _move(admin, no["P1"], "closed").status_code == 422  # not a move from here
    assert _move(admin, no["P1"], "implementing", unknown_field="1").status_code == 422
    assert admin.post(f"/api/cases/{no['P1']}/move", data={"to_state": "accepted", "version": "x"}).status_code == 422
    case = admin.get(f"/api/cases/{no['P1']}").json()
    assert case["state"] == "implementing" and case["credited"] == []
    r = admin.post(f"/api/cases/{no['P1']}/comment", data={"version": case["version"], "comment": "  "})
    assert r.status_code == 422


def test_attachments_are_stored_with_their_hash_and_downloaded_by_who_may_see_the_case(opened):
    app, no = opened
    wujin = client_for(app, "wujin")
    version = wujin.get(f"/api/cases/{no['P1']}").json()["version"]
    r = wujin.post(f"/api/cases/{no['P1']}/comment", data={"version": version, "comment": "现场照片"},
                   files={"attachment": ("../../现场.jpg", b"\xff\xd8 photo", "image/jpeg")})
    assert r.status_code == 200 and r.json()["version"] == version + 1
    event = wujin.get(f"/api/cases/{no['P1']}/events").json()["rows"][-1]
    sha = hashlib.sha256(b"\xff\xd8 photo").hexdigest()
    assert (event["action"], event["attachment_name"], event["attachment_sha256"]) == ("comment", "现场.jpg", sha)
    got = wujin.get(f"/api/cases/{no['P1']}/attachments/{sha}")
    assert got.status_code == 200 and got.content == b"\xff\xd8 photo" and got.headers["x-content-sha256"] == sha
    assert client_for(app, "xinbei").get(f"/api/cases/{no['P1']}/attachments/{sha}").status_code == 403
    assert wujin.get(f"/api/cases/{no['P1']}/attachments/{'0' * 64}").status_code == 422
    assert wujin.get(f"/api/cases/{no['P1']}/attachments/not-a-hash").status_code == 422


def test_empty_and_oversized_files_are_refused(opened):
    app, no = opened
    wujin = client_for(app, "wujin")
    r = wujin.post(f"/api/cases/{no['P1']}/comment", data={"version": 1, "comment": "空"},
                   files={"attachment": ("empty.pdf", b"", "application/pdf")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "file"
    r = wujin.post(f"/api/cases/{no['P1']}/comment", data={"version": 1, "comment": "网页"},
                   files={"attachment": ("验收报告.pdf", b"<html><script>alert(1)</script>", "application/pdf")})
    assert r.status_code == 422 and "不是 .pdf 文件" in r.json()["error"]["zh"]
    big = b"x" * (1024 * 1024 + 1)  # the app allows 1 MB
    r = wujin.post(f"/api/cases/{no['P1']}/move", data={"to_state": "planning", "version": 1},
                   files={"attachment": ("big.pdf", big, "application/pdf")})
    assert r.status_code == 413 and "1 MB" in r.json()["error"]["zh"]
    assert wujin.get(f"/api/cases/{no['P1']}").json()["version"] == 1


def test_a_change_without_the_csrf_token_is_refused(opened):
    app, no = opened
    c = client_for(app, "wujin")
    del c.headers["X-CSRF-Token"]
    assert c.post(f"/api/cases/{no['P1']}/move", data={"to_state": "planning", "version": 1}).status_code == 403
    r = c.post(f"/api/cases/{no['P1']}/move", data={"to_state": "planning", "version": 1, "csrf_token": c.csrf})
    assert r.status_code == 200


# --------------------------------------------------------------------------- the browser


@pytest.mark.sqlite_only(reason="what the browser shows does not depend on the store")
def test_an_officer_moves_a_case_in_the_browser_and_meets_a_stale_edit_politely(web_city, page_factory):
    api = client_for(web_city.app, "wujin")
    first = _wujin_case_with_a_move(api)
    second = _wujin_case_with_a_move(api, {first["case_no"]})
    SHOTS.mkdir(parents=True, exist_ok=True)
    with live_server(web_city.app) as base:
        page = page_factory()
        sign_in_page(page, base, "wujin")
        page.goto(f"{base}/cases")
        page.locator(".column .case-card").first.wait_for()
        assert page.locator("#families button.on").count() == 1
        page.screenshot(path=str(SHOTS / "cases.png"), full_page=True)
        # open the first case from the board (its family's tab), make the move with a comment
        page.goto(f"{base}/cases?family={first['family']}")
        page.locator(f'.case-card[data-case="{first["case_no"]}"]').click()
        page.wait_for_url(f"{base}/cases/{first['case_no']}")
        move = next(m for m in first["moves"] if not m["requires"])
        form = page.locator(f'form.move[data-to="{move["to_state"]}"]')
        form.locator("textarea[name=comment]").fill("浏览器中办理：已完成")
        form.locator("button[type=submit]").click()
        page.locator("#done:not(:empty)").wait_for()
        assert move["to_zh"] in page.inner_text("#state") and move["to_zh"] in page.inner_text("#done")
        assert "浏览器中办理：已完成" in page.inner_text("#events li:first-child")
        page.screenshot(path=str(SHOTS / "case.png"), full_page=True)
        assert page.errors == []

        # the second case open twice: moved in one page, the other page is told politely
        other = page_factory()
        sign_in_page(other, base, "wujin")
        for p in (page, other):
            p.goto(f"{base}/cases/{second['case_no']}")
            p.locator("form.move").first.wait_for()
        move = next(m for m in second["moves"] if not m["requires"])
        other.locator(f'form.move[data-to="{move["to_state"]}"] textarea[name=comment]').fill("我写的意见")
        page.locator(f'form.move[data-to="{move["to_state"]}"] button[type=submit]').click()
        page.locator("#done:not(:empty)").wait_for()
        other.locator(f'form.move[data-to="{move["to_state"]}"] button[type=submit]').click()
        other.locator("#stale").wait_for()
        text = other.inner_text("#stale")
        assert "此案件已被 wujin" in text and "请刷新后重新办理" in text
        assert other.input_value(f'form.move[data-to="{move["to_state"]}"] textarea[name=comment]') == "我写的意见"
        other.screenshot(path=str(SHOTS / "case-stale.png"), full_page=True)
        other.locator("#stale button.reload").click()
        other.locator("#stale").wait_for(state="hidden")
        assert move["to_zh"] in other.inner_text("#state")
        # the browser logs the refused request (409) itself; nothing else may be an error
        assert [e for e in other.errors if "409" not in e] == [] and page.errors == []
