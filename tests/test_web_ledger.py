"""The quota ledger through the web: balances and history as each role may see them, transfers and
spends (idempotent by transfer_id) with their refusals — role, other district, overdraft, bad
input — and the ledger page in a browser."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from landrenew import ledger
from landrenew.actors import Actor
from landrenew.web import WebSettings, create_app
from webkit import add_users, client_for, live_server, open_page, sign_in_page

SHOTS = Path(__file__).parent.parent / "build" / "screenshots"


# --------------------------------------------------------------------------- reading (shared city)


def test_balances_as_each_role_may_see_them(web_city, profile):
    admin = client_for(web_city.app, "admin").get("/api/ledger/balances").json()
    wujin = client_for(web_city.app, "wujin").get("/api/ledger/balances").json()
    leader = client_for(web_city.app, "leader").get("/api/ledger/balances").json()
    assert [k["key"] for k in admin["kinds"]] == list(ledger.quota_kinds(profile))
    assert {k["key"]: k["unit_zh"] for k in admin["kinds"]}["grain_capacity"] == "公斤"
    assert [o["key"] for o in admin["owners"]] == [*profile.city.district_codes, "city"]
    assert {r["owner"] for r in admin["rows"]} >= {"320412", "320411", "issued", "consumed"}
    for kind in {r["kind"] for r in admin["rows"]}:  # double entry: every kind sums to zero
        assert sum(r["balance"] for r in admin["rows"] if r["kind"] == kind) == pytest.approx(0, abs=1e-6)
    assert {r["owner"] for r in wujin["rows"]} == {"320412"} and [o["key"] for o in wujin["owners"]] == ["320412"]
    mine = {r["kind"]: r["balance"] for r in wujin["rows"]}
    assert mine == {r["kind"]: r["balance"] for r in admin["rows"] if r["owner"] == "320412"}
    assert wujin["rows"][0]["owner_name"] == "武进区"
    assert (admin["actions"], wujin["actions"], leader["actions"]) == (["transfer", "spend"], ["spend"], [])
    en = client_for(web_city.app, "wujin").get("/api/ledger/balances", params={"lang": "en"}).json()
    assert en["rows"][0]["owner_name"] == "Wujin District"


def test_balances_filtered_by_district_and_kind_and_refused_outside(web_city):
    admin, wujin = client_for(web_city.app, "admin"), client_for(web_city.app, "wujin")
    r = admin.get("/api/ledger/balances", params={"district": "320411", "kind": "linkage"}).json()
    assert [(x["owner"], x["kind"]) for x in r["rows"]] == [("320411", "linkage")]
    r = wujin.get("/api/ledger/balances", params={"district": "320411"})
    assert r.status_code == 403 and "其他行政区" in r.json()["error"]["zh"]
    r = admin.get("/api/ledger/balances", params={"kind": "gold"})
    assert r.status_code == 422 and "未知指标类型" in r.json()["error"]["zh"]
    assert admin.get("/api/ledger/balances", params={"district": "999999"}).status_code == 422


def test_history_newest_first_in_pages_and_only_what_the_role_may_see(web_city):
    admin, wujin = client_for(web_city.app, "admin"), client_for(web_city.app, "wujin")
    everything = admin.get("/api/ledger/history", params={"limit": 1000}).json()
    seqs = [r["seq"] for r in everything["rows"]]
    assert everything["total"] == len(seqs) > 20 and seqs == sorted(seqs, reverse=True)
    p1, p2 = (admin.get("/api/ledger/history", params={"limit": 10, "page": p}).json() for p in (1, 2))
    assert [r["seq"] for r in p1["rows"] + p2["rows"]] == seqs[:20] and p1["total"] == everything["total"]
    mine = wujin.get("/api/ledger/history", params={"limit": 1000}).json()["rows"]
    assert mine and all("320412" in (r["from_owner"], r["to_owner"]) for r in mine)
    assert len(mine) == sum("320412" in (r["from_owner"], r["to_owner"]) for r in everything["rows"])
    credits = [r for r in mine if r["transfer_type"] == "credit"]
    assert credits and all(r["case_no"].startswith("320412-") for r in credits if r["case_id"] is not None)
    plan = admin.get("/api/ledger/history", params={"kind": "plan", "district": "320411", "limit": 1000}).json()["rows"]
    assert plan and all(r["kind"] == "plan" and "320411" in (r["from_owner"], r["to_owner"]) for r in plan)
    assert wujin.get("/api/ledger/history", params={"district": "320411"}).status_code == 403
    other = next(r["case_no"] for r in everything["rows"] if r["case_no"] and not r["case_no"].startswith("320412"))
    assert wujin.get("/api/ledger/history", params={"case": other}).status_code == 403
    assert admin.get("/api/ledger/history", params={"case": "320412-1999-99999"}).status_code == 404
    assert admin.get("/api/ledger/history", params={"limit": 0}).status_code == 422


def test_the_ledger_page_renders_in_both_languages(web_city):
    c = client_for(web_city.app, "leader")
    zh = c.get("/ledger", params={"lang": "zh"})
    assert zh.status_code == 200 and "指标台账" in zh.text and 'src="/static/dist/ledger.js"' in zh.text
    assert "<script>" not in zh.text and "style=" not in zh.text
    assert "Quota ledger" in c.get("/ledger", params={"lang": "en"}).text


# --------------------------------------------------------------------------- posting (fresh workspace)

CITY = Actor("市局", "city_admin")


@pytest.fixture()
def app(ws, profile):
    add_users(ws, profile)
    with ws.engine.begin() as conn:  # 武进区 and 新北区 hold some linkage quota
        for owner, amount in (("320412", 100.0), ("320411", 50.0)):
            ledger.credit(conn, transfer_id=f"seed-{owner}", kind="linkage", to_owner=owner, amount=amount,
                          reason="期初", actor=CITY, profile=profile, value_date=date(2025, 1, 1))
    return create_app(WebSettings(ws.path, ws.database_url))


def _transfer(**kw) -> dict:
    body = {"transfer_id": "t-1", "type": "transfer", "kind": "linkage", "from": "320412", "to": "320402",
            "amount": 30, "price_yuan_per_mu": 200000, "reason": "跨区调剂", "value_date": "2025-06-30"}
    return {k: v for k, v in {**body, **kw}.items() if v is not None}


def _balance(c, owner: str, kind: str = "linkage") -> float:  # noqa: ANN001
    rows = c.get("/api/ledger/balances", params={"kind": kind}).json()["rows"]
    return next((r["balance"] for r in rows if r["owner"] == owner), 0.0)


def test_a_transfer_posts_once_even_when_sent_twice(app):
    admin = client_for(app, "admin")
    first = admin.post("/api/ledger/transfers", json=_transfer())
    assert first.status_code == 200, first.text
    p = first.json()
    assert (p["from_owner"], p["to_owner"], p["amount"], p["replayed"]) == ("320412", "320402", 30, False)
    assert p["from_name"] == "武进区" and p["transfer_type"] == "transfer"
    again = admin.post("/api/ledger/transfers", json=_transfer()).json()
    assert again["seq"] == p["seq"] and again["replayed"] is True
    assert _balance(admin, "320412") == pytest.approx(70) and _balance(admin, "320402") == pytest.approx(30)
    assert admin.get("/api/ledger/history", params={"limit": 100}).json()["total"] == 3
    r = admin.post("/api/ledger/transfers", json=_transfer(amount=31))  # same id, other content
    assert r.status_code == 422 and "已用于另一笔" in r.json()["error"]["zh"]
    assert admin.get("/api/ledger/verify").json() == {"ok": True, "accounts": 4, "transfers": 3, "kinds": 1,
                                                      "problems": []}


def test_an_overdraft_is_refused_and_nothing_moves(app):
    admin = client_for(app, "admin")
    r = admin.post("/api/ledger/transfers", json=_transfer(amount=100.5))
    assert r.status_code == 422 and "余额不足" in r.json()["error"]["zh"]
    r = admin.post("/api/ledger/transfers", json=_transfer(transfer_id="t-city", **{"from": "city"}))
    assert r.status_code == 422 and "余额不足" in r.json()["error"]["zh"]
    assert _balance(admin, "320412") == pytest.approx(100)


def test_a_district_officer_spends_its_own_quota_only(app):
    wujin = client_for(app, "wujin")
    r = wujin.post("/api/ledger/transfers", json=_transfer(transfer_id="s-1", type="spend", to=None,
                                                           price_yuan_per_mu=None, amount=12.5))
    assert r.status_code == 200, r.text
    assert r.json()["to_owner"] == "consumed" and _balance(wujin, "320412") == pytest.approx(87.5)
    r = wujin.post("/api/ledger/transfers", json=_transfer(transfer_id="s-2", type="spend", **{"from": "320411"}))
    assert r.status_code == 403 and "其他行政区" in r.json()["error"]["zh"]
    r = wujin.post("/api/ledger/transfers", json=_transfer(transfer_id="t-2"))  # transfers are the city's
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = client_for(app, "xinbei").post("/api/ledger/transfers", json=_transfer(transfer_id="t-3", **{"from": "320412"}))
    assert r.status_code == 403
    r = client_for(app, "leader").post("/api/ledger/transfers", json=_transfer(transfer_id="s-3", type="spend"))
    assert r.status_code == 403
    assert client_for(app, "admin").get("/api/ledger/history", params={"limit": 100}).json()["total"] == 3


@pytest.mark.parametrize(("change", "needle"), [
    ({"amount": "很多"}, "amount"), ({"amount": -5}, "大于 0"), ({"type": "credit"}, "type"),
    ({"kind": "gold"}, "未知指标类型"), ({"price_yuan_per_mu": None}, "单价"), ({"reason": "  "}, "事由"),
    ({"value_date": "2025-13-01"}, "value_date"), ({"to": "320412"}, "相同"), ({"to": "consumed"}, "调剂不能"),
    ({"transfer_id": ""}, "transfer_id"), ({"transfer_id": "x" * 65}, "transfer_id"),
])
def test_bad_input_is_refused_with_a_reason(app, change, needle):
    admin = client_for(app, "admin")
    r = admin.post("/api/ledger/transfers", json=_transfer(**{"transfer_id": "bad", **change}))
    assert r.status_code == 422 and needle in r.json()["error"]["zh"], r.text
    assert _balance(admin, "320412") == pytest.approx(100)


def test_the_api_needs_a_session_and_the_csrf_token(app):
    from fastapi.testclient import TestClient

    assert TestClient(app).get("/api/ledger/balances").status_code == 401
    c = client_for(app, "wujin")
    del c.headers["X-CSRF-Token"]
    assert c.post("/api/ledger/transfers", json=_transfer(transfer_id="s-9", type="spend")).status_code == 403


# --------------------------------------------------------------------------- the browser


@pytest.mark.sqlite_only(reason="what the browser shows does not depend on the store")
def test_the_ledger_page_shows_balances_history_and_a_form_for_who_may_post(web_city, browser, profile):
    page = open_page(browser, height=960)
    context, errors = page.context, page.errors
    try:
        with live_server(web_city.app) as base:
            sign_in_page(page, base, "admin")
            page.goto(f"{base}/ledger")
            page.locator("#balances table tbody tr").first.wait_for()
            assert page.locator("#balances tbody tr").count() == len(profile.city.district_codes) + 1
            assert "武进区" in page.inner_text("#balances") and "市级统筹" in page.inner_text("#balances")
            page.locator("#chart-balances canvas").wait_for()
            page.locator("#history tbody tr").first.wait_for()
            assert page.locator("#history tbody tr").count() == 20
            first_seq = page.inner_text("#history tbody tr:first-child td:first-child")
            page.click("#pager button.next")
            page.locator("#pager span", has_text="2 /").wait_for()
            assert page.inner_text("#history tbody tr:first-child td:first-child") != first_seq
            assert page.locator("#post-panel").is_visible()
            # a spend from 武进区, submitted twice with the same id: posted once
            before = page.inner_text('#balances tr[data-owner="320412"] td:first-of-type')
            page.select_option("#post select[name=type]", "spend")
            page.select_option("#post select[name=kind]", "linkage")
            page.select_option("#post select[name=from]", "320412")
            page.fill("#post input[name=amount]", "10")
            page.fill("#post input[name=reason]", "浏览器记账测试")
            tid = page.input_value("#post input[name=transfer_id]")
            page.click("#post button[type=submit]")
            page.locator("#post .msg.ok").wait_for()
            assert "已记账" in page.inner_text("#post .msg")
            assert page.input_value("#post input[name=transfer_id]") != tid  # the next posting is a new one
            # the balances are fetched again after the posting: wait for them
            expect(page.locator('#balances tr[data-owner="320412"] td:first-of-type')).not_to_have_text(before)
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "ledger.png"), full_page=True)
            assert errors == []
            sign_in_page(page, base, "leader")
            page.goto(f"{base}/ledger?lang=en")
            page.locator("#balances table tbody tr").first.wait_for()
            assert "Wujin" in page.inner_text("#balances") and not page.locator("#post-panel").is_visible()
            assert errors == []
    finally:
        context.close()
