"""The 清单 API and page: filter, sort, page, export to Excel; district officers see their district only."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import unquote

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from landrenew import lists
from webkit import client_for, live_server, sign_in_page

SHOTS = Path(__file__).parent.parent / "build" / "screenshots"


def count(city, q: str) -> int:
    with city.ws.engine.connect() as conn:
        return conn.execute(text(q), {"run": city.run_id}).scalar_one()


def test_without_a_session_the_api_says_401_and_the_page_redirects(web_city):
    c = TestClient(web_city.app)
    for path in ("/api/lists", "/api/lists/parcels", "/api/lists/parcels.xlsx"):
        r = c.get(path)
        assert r.status_code == 401 and r.json()["error"]["code"] == "not_signed_in"
    r = c.get("/lists/firms", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/lists/firms"


def test_the_catalogue_names_every_list_its_columns_and_choices(web_city):
    body = client_for(web_city.app, "analyst").get("/api/lists").json()
    assert [s["name"] for s in body["lists"]] == list(lists.LISTS) and body["districts"] is None
    parcels = body["lists"][0]
    area = next(c for c in parcels["columns"] if c["key"] == "area_mu")
    assert area["header"] == "面积（亩）" and area["sort"] and area["filter"] == "range" and area["total"]
    assert {c["value"] for c in parcels["choices"]["district_code"]} >= {"320412", "320411"}
    assert body["names"]["district"]["320412"]["zh"] == "武进区"
    en = client_for(web_city.app, "analyst").get("/api/lists?lang=en").json()
    assert en["lists"][1]["title"] == "Firms by class"
    assert any(c["header"] == "Tax (10k yuan)" for c in en["lists"][1]["columns"])


def test_a_page_is_filtered_sorted_and_paged(web_city):
    c = client_for(web_city.app, "analyst")
    r = c.get("/api/lists/parcels", params={"page": 2, "page_size": 20, "sort": "-area_mu", "district_code": "320411"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"total", "page", "page_size", "columns", "rows", "totals", "run"}
    assert body["total"] == count(web_city, "SELECT COUNT(*) FROM run_parcel WHERE run_id = :run AND district_code = '320411'")
    assert body["page"] == 2 and body["page_size"] == 20 and len(body["rows"]) == 20
    areas = [row["area_mu"] for row in body["rows"]]
    assert areas == sorted(areas, reverse=True) and {row["district_code"] for row in body["rows"]} == {"320411"}
    first = c.get("/api/lists/parcels", params={"page_size": 20, "sort": "-area_mu", "district_code": "320411"}).json()
    assert first["rows"][-1]["area_mu"] >= areas[0]
    r = c.get("/api/lists/parcels?tags=危&tags=污&page_size=500").json()
    assert r["total"] == count(web_city, "SELECT COUNT(*) FROM run_parcel WHERE run_id = :run AND (tags LIKE '%危%' OR tags LIKE '%污%')")
    firms = c.get("/api/lists/firms", params={"firm_class": "A", "page_size": 5}).json()
    assert firms["rows"] and all(f["firm_class"] == "A" and f["contributions"] for f in firms["rows"])


@pytest.mark.parametrize("query", ["sort=nope", "sort=-right_holder", "nope=1", "area_mu_min=abc", "tags=X",
                                   "page=0", "page=x", "page_size=100000"])
def test_bad_sort_filters_or_pages_are_422_in_both_languages(web_city, query):
    r = client_for(web_city.app, "analyst").get(f"/api/lists/parcels?{query}")
    assert r.status_code == 422, r.text
    e = r.json()["error"]
    assert e["zh"] and e["en"] and e["code"]


def test_unknown_list_or_run_is_404(web_city):
    c = client_for(web_city.app, "analyst")
    assert c.get("/api/lists/nope").status_code == 404
    assert c.get("/api/lists/parcels?run=999").json()["error"]["code"] == "list_no_run"
    assert c.get("/lists/nope").status_code == 404


@pytest.mark.parametrize("name", list(lists.LISTS))
def test_a_district_officer_sees_only_its_district(web_city, name):
    c = client_for(web_city.app, "wujin")
    assert c.get("/api/lists").json()["districts"] == ["320412"]
    body = c.get(f"/api/lists/{name}", params={"page_size": 500}).json()
    assert body["total"] > 0 and {r["district_code"] for r in body["rows"]} == {"320412"}
    everyone = client_for(web_city.app, "leader").get(f"/api/lists/{name}", params={"page_size": 1}).json()
    assert everyone["total"] > body["total"]
    other = c.get(f"/api/lists/{name}", params={"district_code": "320411"}).json()
    assert other["total"] == 0 and other["rows"] == []
    wb = openpyxl.load_workbook(io.BytesIO(c.get(f"/api/lists/{name}.xlsx").content), data_only=True)
    ws = wb.active
    col = [c.value for c in ws[3]].index("行政区")
    values = [row[col] for row in ws.iter_rows(min_row=4, max_row=3 + body["total"], values_only=True)]
    assert len(values) == body["total"] and all(v.startswith("320412") for v in values)


def test_the_excel_download_matches_the_list(web_city):
    c = client_for(web_city.app, "analyst")
    q = {"district_code": "320412", "sort": "-area_mu"}
    page = c.get("/api/lists/parcels", params=q).json()
    r = c.get("/api/lists/parcels.xlsx", params=q)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    cd = r.headers["content-disposition"]
    assert cd.startswith("attachment;") and f'filename="parcels_run{web_city.run_id}.xlsx"' in cd
    assert unquote(cd.split("filename*=UTF-8''")[1]) == f"危污乱散低地块清单_批次{web_city.run_id}.xlsx"
    ws = openpyxl.load_workbook(io.BytesIO(r.content), data_only=True).active
    headers = [c.value for c in ws[3]]
    assert headers[:4] == ["宗地代码", "行政区", "地类编码", "面积（亩）"]
    assert ws.freeze_panes == "A4" and ws.auto_filter.ref == f"A3:{ws.cell(3, len(headers)).column_letter}{3 + page['total']}"
    rows = list(ws.iter_rows(min_row=4, max_row=3 + page["total"], values_only=True))
    assert len(rows) == page["total"] and [r[0] for r in rows[:50]] == [r["parcel_key"] for r in page["rows"]]
    total_row = ws.cell(4 + page["total"], 4).value
    assert ws.cell(4 + page["total"], 1).value == "合计"
    assert total_row == pytest.approx(sum(r[3] for r in rows)) and total_row == pytest.approx(page["totals"]["area_mu"])
    assert c.get("/api/lists/parcels.xlsx?sort=nope").status_code == 422


# --------------------------------------------------------------------------- in a browser


@pytest.mark.sqlite_only(reason="what the browser shows does not depend on the store")
def test_the_lists_page_filters_sorts_pages_and_exports(web_city, page):
    wujin = count(web_city, "SELECT COUNT(*) FROM run_parcel WHERE run_id = :run AND district_code = '320412'")
    with live_server(web_city.app) as base:
        sign_in_page(page, base, "analyst")
        page.goto(f"{base}/lists")
        page.locator("#table tbody tr").first.wait_for()
        assert page.locator(".tabs a.on").inner_text() == "危污乱散低地块清单"
        assert page.locator("#table tbody tr").count() == 50
        # filter by a district
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.select_option("select[name=district_code]", "320412")
        page.locator("#summary", has_text=f"共 {wujin} 条").wait_for()
        districts = page.locator("#table tbody tr td:nth-child(2)").all_inner_texts()
        assert set(districts) == {"武进区"}
        # sorted by area, largest first; a click on the header sorts by parcel code, two on area smallest first
        assert page.locator("th[data-key=area_mu]").get_attribute("aria-sort") == "descending"
        page.locator("th[data-key=parcel_key] button").click()
        page.locator("th[data-key=parcel_key][aria-sort=ascending]").wait_for()
        keys = page.locator("#table tbody tr td:first-child").all_inner_texts()
        assert keys == sorted(keys)
        page.locator("th[data-key=area_mu] button").click()
        page.locator("th[data-key=area_mu][aria-sort=descending]").wait_for()
        page.locator("th[data-key=area_mu] button").click()
        page.locator("th[data-key=area_mu][aria-sort=ascending]").wait_for()
        shown = page.locator("#table tbody tr td:nth-child(4)").all_inner_texts()
        values = [float(v.replace(",", "")) for v in shown]
        assert values == sorted(values)
        # the next page continues the order
        page.locator("#pager button[aria-label=下一页]").click()
        page.locator("#pager .where", has_text="第 2 /").wait_for()
        second = [float(v.replace(",", "")) for v in page.locator("#table tbody tr td:nth-child(4)").all_inner_texts()]
        assert len(second) == min(50, wujin - 50) and second[0] >= values[-1]
        assert "page=2" in page.url and "district_code=320412" in page.url and "sort=area_mu" in page.url
        page.screenshot(path=str(SHOTS / "lists.png"), full_page=False)
        # parcel keys lead to the map; the export link carries the filters
        href = page.locator("#table tbody tr td:first-child a").first.get_attribute("href")
        assert href.startswith("/map?parcel=")
        export = page.locator("#export").get_attribute("href")
        assert export.startswith("/api/lists/parcels.xlsx?") and "district_code=320412" in export and "page" not in export
        with page.expect_download() as dl:
            page.locator("#export").click()
        assert dl.value.suggested_filename == f"危污乱散低地块清单_批次{web_city.run_id}.xlsx"
        # a tag chip narrows the list
        page.locator("#tag-chips [data-tag=危]").click()
        page.locator("#tag-chips [data-tag=危][aria-pressed=true]").wait_for()
        page.locator("#pager .where", has_text="第 1 /").wait_for()
        tags = page.locator("#table tbody tr td:nth-child(5)").all_inner_texts()
        assert tags and all("危" in t for t in tags)

        # firms: class filter and the indicator contributions of a row
        page.goto(f"{base}/lists/firms?firm_class=D")
        page.locator("#table tbody tr").first.wait_for()
        assert set(page.locator("#table tbody tr td:nth-child(11)").all_inner_texts()) == {"D"}
        page.locator("#table tbody button.expand").first.click()
        page.locator("tr.detail .contrib-chart canvas").wait_for()
        assert "亩均税收" in page.locator("tr.detail table").inner_text()
        page.screenshot(path=str(SHOTS / "lists-firms.png"), full_page=False)

        # recommendations link case numbers to their cases; English on request
        page.goto(f"{base}/lists/recommendations?lang=en&sort=-priority")
        page.locator("#table tbody tr").first.wait_for()
        assert page.locator(".tabs a.on").inner_text() == "Recommendations"
        assert page.locator("#table tbody a[href^='/cases/']").count() > 0
        assert "Area (mu)" in page.locator("#table thead").inner_text()
        page.screenshot(path=str(SHOTS / "lists-recommendations-en.png"), full_page=False)
        page.goto(f"{base}/lists/units?lang=zh")
        page.locator("#table tbody tr").first.wait_for()
        assert page.errors == []
