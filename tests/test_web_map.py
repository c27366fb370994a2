"""一张图: the district boundaries (a layer kind of their own, loaded by the demo, ignored by the
analysis), the map's JSON (districts, legend, search, explanations) on both stores, and the page
in a real browser."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import text

from conftest import parcel_frame
from landrenew.analysis.overlay import overlay
from landrenew.loading import load_file
from landrenew.store.snapshot import read_snapshot
from webkit import client_for, live_server, sign_in_page

SHOTS = Path(__file__).parent.parent / "build" / "screenshots"


def _one(ws, sql: str, **params):
    with ws.engine.connect() as conn:
        return conn.execute(text(sql), params).first()


@pytest.fixture(scope="module")
def admin(web_city):
    return client_for(web_city.app, "admin")


@pytest.fixture(scope="module")
def case_parcel(web_city):
    """A tagged parcel in a clearance case of 武进区 or another district, with its case."""
    row = _one(web_city.ws, "SELECT cp.parcel_key, c.case_no, c.district_code FROM case_parcel cp "
                            "JOIN clearance_case c ON c.id = cp.case_id "
                            "JOIN run_parcel rp ON rp.parcel_key = cp.parcel_key AND rp.run_id = :run "
                            "JOIN run_tag_hit h ON h.parcel_key = cp.parcel_key AND h.run_id = :run "
                            "ORDER BY c.district_code = '320412' DESC, c.id LIMIT 1", run=web_city.run_id)
    assert row is not None
    return row


# --- the district boundaries ---------------------------------------------------------------------

def test_the_demo_loads_one_district_boundary_per_district(web_city, profile):
    with web_city.ws.engine.connect() as conn:
        rows = conn.execute(text("SELECT district_code, name FROM control_feature "
                                 "WHERE layer_kind = 'district_boundary' ORDER BY district_code")).all()
    assert [r.district_code for r in rows] == sorted(profile.city.district_codes)
    assert all(r.name for r in rows)


def test_the_overlay_ignores_the_district_boundaries(web_city, profile):
    snap = read_snapshot(web_city.ws.engine)
    layers = snap.layers
    assert (layers["layer_kind"] == "district_boundary").sum() == len(profile.city.district_codes)
    kw = {"gap_m": 30.0, "space_min_share": 0.5}
    with_base = overlay(snap.parcels, layers, profile, **kw)
    without = overlay(snap.parcels, layers[layers["layer_kind"] != "district_boundary"], profile, **kw)
    pd.testing.assert_frame_equal(with_base, without)


def test_a_district_boundary_layer_needs_the_district_code(ws, profile, tmp_path):
    gdf = parcel_frame(2)[["geometry"]].assign(名称=["武进区", "新北区"], 行政区代码=["320412", None])
    path = tmp_path / "xzq.gpkg"
    gdf.to_file(path)
    result = load_file(ws, profile, "layer", path, layer_kind="district_boundary")
    assert not result.loaded
    assert result.report.frame().query("code == 'required_empty'")["row"].tolist() == [2]
    gdf.assign(行政区代码=["320412", "320411"]).to_file(path)
    assert load_file(ws, profile, "layer", path, layer_kind="district_boundary").loaded


# --- the map's JSON ------------------------------------------------------------------------------

def test_everything_needs_a_signed_in_user(web_city):
    c = TestClient(web_city.app)
    for url in ("/api/map/districts", "/api/map/legend", "/api/map/search?q=3204",
                "/api/explain/parcel/x", "/api/explain/firm/x"):
        r = c.get(url)
        assert r.status_code == 401 and r.json()["error"]["code"] == "not_signed_in", url


def test_districts_are_small_lon_lat_polygons_with_the_profiles_names(admin, profile):
    r = admin.get("/api/map/districts")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    assert len(r.content) < 200_000  # simplified for drawing
    fc = r.json()
    codes = [f["properties"]["district_code"] for f in fc["features"]]
    assert sorted(codes) == sorted(profile.city.district_codes)
    for f in fc["features"]:
        d = profile.city.district(f["properties"]["district_code"])
        assert (f["properties"]["name_zh"], f["properties"]["name_en"]) == (d.name_zh, d.name_en)
        g = shapely.geometry.shape(f["geometry"])
        assert g.is_valid and g.geom_type in ("Polygon", "MultiPolygon")
        minx, miny, maxx, maxy = g.bounds
        assert 118.9 < minx < maxx < 120.5 and 30.9 < miny < maxy < 32.3
        assert g.contains(shapely.Point(f["properties"]["label"]))


def test_the_legend_names_tags_classes_families_and_control_layers(admin, profile):
    m = admin.get("/api/map/legend").json()
    assert [t["char"] for t in m["tags"]] == [t.char for t in profile.tags.values()]
    assert {"A", "B", "C", "D", "T"} == {c["key"] for c in m["classes"]}
    assert [f["key"] for f in m["families"]] == [f.key for f in profile.disposal.families]
    kinds = {x["key"] for x in m["layers"]}
    assert {"eco_redline", "basic_farmland", "industrial_park"} <= kinds and "district_boundary" not in kinds


def test_search_finds_a_parcel_by_part_of_its_code_with_its_box(admin, web_city, case_parcel):
    key = case_parcel.parcel_key
    box = _one(web_city.ws, "SELECT minx, miny, maxx, maxy FROM parcel WHERE key = :k", k=key)
    r = admin.get("/api/map/search", params={"q": key[3:].lower()})
    assert r.status_code == 200
    (hit,) = [m for m in r.json()["matches"] if m["key"] == key]
    assert hit["kind"] == "parcel" and hit["code"] == key
    assert hit["bbox"] == pytest.approx(list(box), abs=1e-6)


def test_search_finds_a_firm_by_name_or_uscc_with_the_box_of_its_parcels(admin, web_city):
    f = _one(web_city.ws, "SELECT fy.uscc, fy.name FROM firm_year fy JOIN firm_parcel fp ON fp.uscc = fy.uscc "
                          "ORDER BY fy.uscc LIMIT 1")
    by_name = admin.get("/api/map/search", params={"q": f.name[2:6]}).json()["matches"]
    assert f.uscc in {m["key"] for m in by_name if m["kind"] == "firm"}
    (hit,) = admin.get("/api/map/search", params={"q": f.uscc.lower()}).json()["matches"]
    assert hit["kind"] == "firm" and hit["label"] == f.name and hit["bbox"] is not None
    assert hit["parcel_key"]


def test_search_takes_the_query_literally(admin):
    assert admin.get("/api/map/search", params={"q": "%"}).json()["matches"] == []
    assert admin.get("/api/map/search", params={"q": "_"}).json()["matches"] == []
    assert admin.get("/api/map/search", params={"q": ""}).status_code == 422


def test_a_parcels_explanation_has_its_tags_rules_clauses_path_and_case(admin, web_city, case_parcel, profile):
    r = admin.get(f"/api/explain/parcel/{case_parcel.parcel_key}")
    assert r.status_code == 200
    x = r.json()
    with web_city.ws.engine.connect() as conn:
        hits = conn.execute(text("SELECT tag, rule_id, clause FROM run_tag_hit WHERE run_id = :r AND parcel_key = :k "
                                 "ORDER BY id"), {"r": web_city.run_id, "k": case_parcel.parcel_key}).all()
        tags = conn.execute(text("SELECT tags FROM run_parcel WHERE run_id = :r AND parcel_key = :k"),
                            {"r": web_city.run_id, "k": case_parcel.parcel_key}).scalar_one()
    assert x["run_id"] == web_city.run_id and x["parcel"]["key"] == case_parcel.parcel_key
    assert [(h["tag"], h["rule_id"], h["clause"]) for h in x["hits"]] == [tuple(h) for h in hits]
    assert "".join(t["char"] for t in x["tags"]) == tags
    names = {t.char: t.name_zh for t in profile.tags.values()}
    assert all(h["tag_name_zh"] == names[h["tag"]] for h in x["hits"])
    rec = x["recommendation"]
    assert rec["clause"] and rec["reason_zh"] and rec["family_zh"] == profile.disposal.family(rec["family"]).name_zh
    case = x["case"]
    assert case["visible"] and case["case_no"] == case_parcel.case_no and case["href"] == f"/cases/{case_parcel.case_no}"
    assert case["state_zh"]


def test_a_district_officer_sees_the_parcel_but_not_another_districts_case(web_city, case_parcel):
    other = "xinbei" if case_parcel.district_code != "320411" else "wujin"
    x = client_for(web_city.app, other).get(f"/api/explain/parcel/{case_parcel.parcel_key}").json()
    assert x["parcel"]["key"] == case_parcel.parcel_key and x["hits"]
    assert x["case"] == {"visible": False, "district_code": case_parcel.district_code}
    if case_parcel.district_code == "320412":
        mine = client_for(web_city.app, "wujin").get(f"/api/explain/parcel/{case_parcel.parcel_key}").json()
        assert mine["case"]["case_no"] == case_parcel.case_no


def test_unknown_parcel_or_firm_is_404_in_the_error_shape(admin):
    for url in ("/api/explain/parcel/320412999999XX99999", "/api/explain/firm/91320400XXXXXXXXXX"):
        r = admin.get(url)
        assert r.status_code == 404, url
        e = r.json()["error"]
        assert e["code"] == "not_found" and e["zh"] and e["en"]


def test_a_firms_explanation_has_its_class_name_reason_indicators_and_parcels(admin, web_city, profile):
    f = _one(web_city.ws, "SELECT uscc, firm_class, class_rule FROM run_firm WHERE run_id = :r "
                          "AND firm_class = 'A' ORDER BY uscc LIMIT 1", r=web_city.run_id)
    x = admin.get(f"/api/explain/firm/{f.uscc.lower()}").json()
    firm = x["firm"]
    assert (firm["uscc"], firm["firm_class"], firm["class_rule"]) == tuple(f)
    a = next(c for c in profile.allocation.classes if c.class_key == "A")
    assert firm["class_name_zh"] == a.name_zh and firm["class_reason_zh"]
    assert x["indicators"] and all("score" in i for i in x["indicators"])
    linked = _one(web_city.ws, "SELECT COUNT(*) FROM firm_parcel fp JOIN parcel p ON p.parcel_code = fp.parcel_code "
                               "WHERE fp.uscc = :u AND fp.year = (SELECT MAX(year) FROM firm_parcel WHERE uscc = :u)",
                  u=f.uscc)[0]
    assert len(x["parcels"]) == linked > 0


def test_the_page_is_chinese_by_default_and_english_on_request(admin):
    page = admin.get("/map")
    assert page.status_code == 200
    assert '<script type="module" src="/static/dist/map.js">' in page.text
    assert "/static/dist/maplibre-gl.css" in page.text and "/static/map.css" in page.text
    assert "宗地代码 / 企业名称 / 信用代码" in page.text and " style=" not in page.text
    en = admin.get("/map?lang=en").text
    assert "parcel code / firm / USCC" in en and "Colour by" in en


# --- in the browser -------------------------------------------------------------------------------

@pytest.mark.sqlite_only(reason="what the browser shows does not depend on the store")
def test_the_map_draws_districts_finds_a_parcel_and_explains_it(web_city, page, case_parcel, profile):
    tiles = client_for(web_city.app, "admin").get("/tiles/parcels.json").status_code == 200
    with live_server(web_city.app) as base:
        sign_in_page(page, base, "admin")
        page.goto(f"{base}/map")
        page.locator("#map[data-ready='1']").wait_for()
        assert page.locator("#map canvas.maplibregl-canvas").count() == 1
        assert page.get_attribute("#map", "data-districts") == str(len(profile.city.district_codes))
        assert any(u.endswith("/api/map/districts") for u in page.requests)
        assert page.locator(".district-label").count() == len(profile.city.district_codes)
        assert "武进区" in page.inner_text("#map")
        legend = page.inner_text("#legend")
        assert all(t.name_zh in legend for t in profile.tags.values())
        assert page.locator("#layer-list input[type=checkbox]").count() >= 5
        if tiles:  # the parcels come as vector tiles
            assert page.get_attribute("#map", "data-parcels") == "1" and page.locator("#notice").is_hidden()
        page.check("input[name=theme][value=class]")
        assert "鼓励提升类" in page.inner_text("#legend")
        page.check("input[name=theme][value=tags]")
        page.locator("#layer-list input[data-layer=industrial_park]").check()

        page.fill("#q", case_parcel.parcel_key[2:])
        page.click("#search button[type=submit]")
        page.locator(f"#results .result[data-key='{case_parcel.parcel_key}']").click()
        panel = page.locator("#panel")
        panel.locator("h3").first.wait_for()
        text_ = panel.inner_text()
        assert case_parcel.parcel_key in text_ and "标注与依据" in text_ and "依据：" in text_
        assert "处置建议" in text_ and case_parcel.case_no in text_
        assert panel.locator(f"a[href='/cases/{case_parcel.case_no}']").count() == 1
        page.wait_for_timeout(800)  # the fly-to
        for _ in range(4):  # the parcel among its neighbours
            page.click(".maplibregl-ctrl-zoom-out")
            page.wait_for_timeout(300)
        page.wait_for_timeout(1500)  # the tiles
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "map.png"))

        firm = panel.locator("button.linkish")
        if firm.count():  # the parcel's firm: its class, reason and indicators
            firm.first.click()
            panel.locator("table.indicators").wait_for()
            assert "亩均分类" in panel.inner_text() and "占用宗地" in panel.inner_text()

        page.goto(f"{base}/map?lang=en")
        page.locator("#map[data-ready='1']").wait_for()
        assert "Wujin District" in page.inner_text("#map")
        assert "Firm class" in page.inner_text(".tools")
        assert page.errors == []


@pytest.mark.sqlite_only(reason="what the browser shows does not depend on the store")
def test_a_district_officer_sees_another_districts_case_without_details(web_city, page, case_parcel):
    other = "xinbei" if case_parcel.district_code != "320411" else "wujin"
    with live_server(web_city.app) as base:
        sign_in_page(page, base, other)
        page.goto(f"{base}/map")
        page.locator("#map[data-ready='1']").wait_for()
        page.fill("#q", case_parcel.parcel_key)
        page.click("#search button[type=submit]")
        page.locator(f"#results .result[data-key='{case_parcel.parcel_key}']").click()
        page.locator("#panel .other-case").wait_for()
        text_ = page.inner_text("#panel")
        assert "其他区案件" in text_ and case_parcel.case_no not in text_ and "标注与依据" in text_
        assert page.errors == []
