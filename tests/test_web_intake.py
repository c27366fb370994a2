"""数据导入 through the API and the browser: upload, validation report (nothing loaded), confirmed
load, and the refusals — bad files, unsafe zips, oversize uploads, roles that may not load."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from conftest import parcel_frame, store_fingerprint
from webkit import add_users, client_for, live_server, open_page, sign_in_page

SHOTS = Path(__file__).parent.parent / "build" / "screenshots"


@pytest.fixture()
def app(ws, profile):
    from landrenew.web import WebSettings, create_app

    add_users(ws, profile)
    return create_app(WebSettings(ws.path, ws.database_url, max_upload_mb=1))


def gpkg_bytes(tmp_path: Path, gdf, name: str = "宗地.gpkg") -> bytes:  # noqa: ANN001
    path = tmp_path / name
    gdf.to_file(path, driver="GPKG")
    return path.read_bytes()


def bad_parcels():  # noqa: ANN201
    """Six parcels, the second with a district code outside the city."""
    gdf = parcel_frame()
    gdf.loc[1, "行政区代码"] = "999999"
    return gdf


def validate(c, data: bytes, name: str, kind: str = "parcels", **fields):  # noqa: ANN001, ANN201
    return c.post("/api/intake/validate", data={"kind": kind, **fields},
                  files={"file": (name, data, "application/octet-stream")})


def test_the_kinds_name_their_files_and_templates(app):
    c = client_for(app, "leader")
    k = c.get("/api/intake/kinds").json()
    by = {x["kind"]: x for x in k["kinds"]}
    assert {"parcels", "layer", "firms", "hazards", "statistics"} <= set(by)
    assert by["parcels"]["name_zh"] == "宗地/地块" and "gpkg" in by["parcels"]["formats"]
    assert by["layer"]["layer_kinds"] and "gpkg" in by["layer"]["templates"]
    assert k["max_upload_mb"] == 1 and k["may_load"] is False
    r = c.get(by["firms"]["templates"]["xlsx"])
    assert r.status_code == 200 and r.content[:2] == b"PK" and "firms" in r.headers["content-disposition"]
    r = c.get("/api/intake/templates/layer?format=gpkg&layer_kind=basic_farmland")
    assert r.status_code == 200 and r.content[:15] == b"SQLite format 3"
    assert "basic_farmland" in r.headers["content-disposition"]
    assert c.get("/api/intake/templates/firms?format=gpkg").status_code == 404
    assert c.get("/api/intake/templates/nothing").status_code == 404


def test_the_api_documents_every_route_of_the_pages(app):
    spec = client_for(app, "leader").get("/openapi.json").json()
    for path in ("/api/runs", "/api/runs/{run_id}", "/api/runs/{a}/diff/{b}", "/api/runs/jobs/{job_id}", "/api/whatif",
                 "/api/profile/rules", "/api/intake/kinds", "/api/intake/templates/{kind}", "/api/intake/validate",
                 "/api/intake/{upload_id}/load", "/api/intake/{upload_id}/report", "/api/intake/batches"):
        assert path in spec["paths"], path
    body = spec["paths"]["/api/intake/validate"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert {"kind", "file", "layer_kind"} <= set(body["schema"]["properties"])
    page = client_for(app, "wujin").get("/intake?lang=en")
    assert page.status_code == 200 and "Data intake" in page.text and 'id="confirm"' not in page.text
    assert 'src="/static/dist/intake.js"' in page.text and "<script>" not in page.text and " style=" not in page.text


def test_a_good_file_validates_without_loading_then_loads_when_confirmed(app, ws, tmp_path):
    c = client_for(app, "analyst")
    before = store_fingerprint(ws)
    r = validate(c, gpkg_bytes(tmp_path, parcel_frame()), "../../宗地.gpkg", layer_kind="eco_redline")
    assert r.status_code == 200, r.text
    v = r.json()
    assert v["report"]["ok"] and v["report"]["rows_read"] == 6 and v["report"]["errors"] == 0
    assert v["may_load"] is True and v["file_name"] == "宗地.gpkg"
    assert store_fingerprint(ws) == before  # validating loads nothing
    assert (ws.path / "uploads" / v["upload_id"] / "宗地.gpkg").is_file()  # the client's path is not used
    assert c.get(v["report_url"]).content[:2] == b"PK"
    r = c.post(f"/api/intake/{v['upload_id']}/load", json={})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["loaded"] and done["rows_loaded"] == 6 and done["batch_id"]
    after = store_fingerprint(ws)
    assert after["parcel"] == before["parcel"] + 6 and after["ingest_batch"] == before["ingest_batch"] + 1
    batch = c.get("/api/intake/batches").json()["batches"][0]
    assert batch["id"] == done["batch_id"] and batch["file_name"] == "宗地.gpkg" and batch["user"] == "analyst"
    assert batch["kind"] == "parcels" and batch["layer_kind"] is None  # a layer kind only for layers
    again = c.post(f"/api/intake/{v['upload_id']}/load", json={})
    assert again.status_code == 409 and store_fingerprint(ws) == after


def test_a_file_with_errors_is_reported_by_row_and_column_and_loads_nothing(app, ws, tmp_path):
    c = client_for(app, "admin")
    before = store_fingerprint(ws)
    v = validate(c, gpkg_bytes(tmp_path, bad_parcels()), "bad.gpkg").json()
    rep = v["report"]
    assert not rep["ok"] and rep["errors"] >= 1 and rep["rows_loadable"] == 5
    err = next(i for i in rep["issues"] if i["severity"] == "error")
    assert err["row"] == 2 and err["column"] and err["value"] == "999999"
    assert err["problem_zh"] and err["problem_en"] and err["fix_zh"] and err["fix_en"]
    r = c.post(f"/api/intake/{v['upload_id']}/load", json={})
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_loaded"
    assert store_fingerprint(ws) == before
    r = c.post(f"/api/intake/{v['upload_id']}/load", json={"skip_invalid": True})
    assert r.status_code == 200 and r.json()["rows_loaded"] == 5 and r.json()["rejected_file"]
    assert store_fingerprint(ws)["parcel"] == before["parcel"] + 5


def test_a_gbk_shapefile_in_a_zip_validates(app, ws, tmp_path):
    gdf = parcel_frame()
    shp = tmp_path / "shp" / "宗地图层.shp"
    shp.parent.mkdir()
    gdf.to_file(shp, encoding="GBK")
    shp.with_suffix(".cpg").unlink(missing_ok=True)
    assert "常州".encode("gbk") in shp.with_suffix(".dbf").read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for part in sorted(shp.parent.iterdir()):
            zf.write(part, f"交付/{part.name}")
    c = client_for(app, "wujin")  # a district officer may check a delivery
    v = validate(c, buf.getvalue(), "宗地.zip").json()
    assert v["data_path"].endswith("交付/宗地图层.shp")
    assert v["report"]["errors"] == 0 and v["report"]["rows_read"] == 6, v["report"]["issues"]
    assert any("GBK" in i["problem_en"] for i in v["report"]["issues"])
    assert v["may_load"] is False
    before = store_fingerprint(ws)
    r = c.post(f"/api/intake/{v['upload_id']}/load", json={})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert store_fingerprint(ws) == before


def test_a_zip_reaching_outside_its_folder_is_refused(app, ws, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("parcels.geojson", "{}")
        zf.writestr("../evil.txt", "owned")
    c = client_for(app, "analyst")
    r = validate(c, buf.getvalue(), "parcels.zip")
    assert r.status_code == 422 and r.json()["error"]["code"] == "unsafe_zip" and "../evil.txt" in r.json()["error"]["en"]
    uploads = ws.path / "uploads"
    assert not list(uploads.glob("**/evil.txt")) and not (uploads / "evil.txt").exists()
    assert not [p for p in uploads.iterdir() if p.is_dir()]  # the refused upload left nothing
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("/etc/evil.txt", "owned")
    assert validate(c, buf.getvalue(), "x.zip").json()["error"]["code"] == "unsafe_zip"
    assert validate(c, b"not a zip", "x.zip").json()["error"]["code"] == "bad_zip"


def test_an_oversize_upload_is_refused(app, ws):
    c = client_for(app, "analyst")
    for size in ((1 << 20) + 1000, (1 << 20) + 200_000):  # counted while copied; refused by its declared length
        r = validate(c, b"x" * size, "big.csv", kind="firms")
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("firms.csv", b"0" * (3 << 20))
    assert len(bomb.getvalue()) < (1 << 20)
    r = validate(c, bomb.getvalue(), "firms.zip", kind="firms")
    assert r.status_code == 413
    assert not [p for p in (ws.path / "uploads").iterdir() if p.is_dir()]


def test_bad_options_and_roles_are_refused(app, ws, tmp_path):
    data = gpkg_bytes(tmp_path, parcel_frame())
    r = validate(client_for(app, "leader"), data, "p.gpkg")
    assert r.status_code == 403  # read-only: may not upload
    c = client_for(app, "analyst")
    assert validate(c, data, "p.gpkg", kind="nothing").json()["error"]["code"] == "kind"
    assert validate(c, data, "p.gpkg", kind="layer").json()["error"]["code"] == "layer_kind"
    assert c.post("/api/intake/validate", data={"kind": "parcels"}).status_code == 422
    r = validate(c, data, "p.gpkg", kind="firms")  # a GeoPackage is not a firm list: reported, not refused
    assert r.status_code == 200 and r.json()["report"]["fatal"]
    v = validate(c, data, "p.gpkg").json()
    other = client_for(app, "admin")  # an upload belongs to its uploader
    assert other.post(f"/api/intake/{v['upload_id']}/load", json={}).status_code == 404
    assert c.post("/api/intake/not-an-id/load", json={}).status_code == 404
    assert c.get(f"/api/intake/{v['upload_id']}/report").status_code == 200
    assert other.get(f"/api/intake/{v['upload_id']}/report").status_code == 404


@pytest.mark.sqlite_only(reason="what the browser shows does not depend on the store")
def test_the_intake_page_reports_errors_then_loads_a_good_file(app, ws, browser, tmp_path):
    bad, good = tmp_path / "问题宗地.gpkg", tmp_path / "宗地.gpkg"
    bad_parcels().to_file(bad, driver="GPKG")
    parcel_frame().to_file(good, driver="GPKG")
    page = open_page(browser, height=1000)
    context, errors = page.context, page.errors
    try:
        with live_server(app) as base:
            sign_in_page(page, base, "analyst")
            page.goto(f"{base}/intake")
            page.locator('#kind option[value="parcels"]').wait_for(state="attached")
            page.select_option("#kind", "parcels")
            page.set_input_files("#file", str(bad))
            page.click("#validate")
            page.locator("#issues tr.sev-error").first.wait_for()
            row = page.locator("#issues tr.sev-error").first.inner_text()
            assert "999999" in row and "2" in row
            assert page.locator("#confirm").is_disabled()
            page.check("#skip-invalid")
            assert page.locator("#confirm").is_enabled()
            page.uncheck("#skip-invalid")
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "intake-errors.png"), full_page=True)
            page.set_input_files("#file", str(good))
            page.click("#validate")
            page.locator("#report-title", has_text="宗地.gpkg").wait_for()
            page.locator("#report-summary .ok").first.wait_for()
            assert page.locator("#issues tr.sev-error").count() == 0
            assert page.locator("#confirm").is_enabled()
            page.click("#confirm")
            page.locator("#load-result .loaded").wait_for()
            assert "6 / 6" in page.inner_text("#load-result")
            page.locator("#batches tbody tr", has_text="宗地.gpkg").wait_for()
            assert "宗地/地块" in page.locator("#batches tbody tr").first.inner_text()
            page.screenshot(path=str(SHOTS / "intake.png"), full_page=True)
    finally:
        context.close()
    assert errors == []


def test_uploads_unused_for_a_week_are_removed_at_the_next_upload(app, ws, tmp_path):
    import os
    import time

    c = client_for(app, "analyst")
    first = validate(c, gpkg_bytes(tmp_path, parcel_frame()), "a.gpkg").json()["upload_id"]
    second = validate(c, gpkg_bytes(tmp_path, parcel_frame()), "b.gpkg").json()["upload_id"]
    old = ws.path / "uploads" / first
    week_ago = time.time() - 8 * 86400
    os.utime(old, (week_ago, week_ago))
    stray = ws.path / "uploads" / "not-an-upload"  # only upload folders are touched
    stray.mkdir()
    os.utime(stray, (week_ago, week_ago))
    third = validate(c, gpkg_bytes(tmp_path, parcel_frame()), "c.gpkg").json()["upload_id"]
    assert not old.exists() and stray.is_dir()
    assert (ws.path / "uploads" / second).is_dir() and (ws.path / "uploads" / third).is_dir()
    assert c.post(f"/api/intake/{first}/load", json={}).status_code == 404
