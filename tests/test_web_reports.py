"""The 报告 page and API: reports made in the background, downloaded by who asked, a district officer
limited to the district; and the page in a real browser."""

from __future__ import annotations

import io
import time
from pathlib import Path

import openpyxl
import pytest
from docx import Document as WordDocument
from fastapi.testclient import TestClient

from webkit import client_for, live_server, sign_in_page

SHOTS = Path(__file__).parent.parent / "build" / "screenshots"


def finished(c: TestClient, job: dict, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while job["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
        job = c.get(f"/api/reports/jobs/{job['job_id']}").json()
    return job


def test_without_a_session_the_reports_api_says_401(web_city):
    r = TestClient(web_city.app).post("/api/reports", json={})
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_signed_in"


def test_an_analyst_makes_the_city_reports_and_downloads_them(web_city):
    c = client_for(web_city.app, "analyst")
    r = c.post("/api/reports", json={"formats": ["xlsx", "docx"], "maps": False})
    assert r.status_code == 202, r.text
    job = finished(c, r.json())
    assert job["state"] == "done" and job["run_id"] == web_city.run_id and job["result"] is None
    files = {f["format"]: f for f in job["files"]}
    assert set(files) == {"xlsx", "docx"} and files["xlsx"]["name"].startswith("常州市_")
    x = c.get(files["xlsx"]["url"])
    assert x.status_code == 200 and "filename*=UTF-8''" in x.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(x.content))
    assert wb.sheetnames[0] == "封面"
    d = c.get(files["docx"]["url"])
    assert WordDocument(io.BytesIO(d.content)).paragraphs[0].text.startswith("常州市")
    other = client_for(web_city.app, "admin")  # a job's files are its user's
    assert other.get(files["xlsx"]["url"]).status_code == 404
    assert other.get(f"/api/reports/jobs/{job['job_id']}").status_code == 404


def test_a_district_officer_gets_the_own_district_and_may_not_ask_for_another(web_city):
    c = client_for(web_city.app, "wujin")
    r = c.post("/api/reports", json={"district": "320411", "formats": ["xlsx"]})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    job = finished(c, c.post("/api/reports", json={"formats": ["xlsx"]}).json())
    assert job["state"] == "done" and job["files"][0]["name"].startswith("武进区_")
    wb = openpyxl.load_workbook(io.BytesIO(c.get(job["files"][0]["url"]).content))
    assert wb["分区汇总"]["A4"].value == "320412 武进区" and wb["分区汇总"]["A5"].value == "合计"


@pytest.mark.parametrize("body, status", [({"district": "999999"}, 422), ({"run": 999}, 422),
                                          ({"formats": ["odt"]}, 422), ({"formats": []}, 422)])
def test_bad_requests_are_refused_before_any_work(web_city, body, status):
    r = client_for(web_city.app, "analyst").post("/api/reports", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["zh"] and r.json()["error"]["en"]


def test_the_reports_page_makes_and_offers_the_files(web_city, page):
    with live_server(web_city.app) as base:
        sign_in_page(page, base, "analyst")
        page.click("#to-reports")
        page.wait_for_url(f"{base}/reports")
        assert page.locator("select[name=district] option").count() == 1 + 6
        page.select_option("select[name=district]", "320412")
        page.uncheck("input[name=formats][value=pdf]")
        page.click("#report-form button[type=submit]")
        page.locator("#files a[data-format=docx]").wait_for(timeout=120_000)
        assert "武进区" in page.inner_text("#files")
        with page.expect_download() as dl:
            page.click("#files a[data-format=xlsx]")
        assert dl.value.suggested_filename.startswith("武进区_") and dl.value.suggested_filename.endswith(".xlsx")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "reports.png"), full_page=True)
    assert page.errors == []
