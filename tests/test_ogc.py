"""OGC API – Features under /ogc: read by GDAL's OAPIF driver (pyogrio) as an independent client,
and checked against the store: counts, bbox filtering, CRS axis order, paging, filters, auth."""

from __future__ import annotations

import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from landrenew import users
from landrenew.features import CRS84, CRS4490
from landrenew.intake.schema import LAYER_KINDS
from landrenew.store.models import ControlFeature, Parcel, RunCase, RunParcel, RunUnit
from webkit import client_for, live_server

ALL = ["parcels", "flagged", "units", "recommendations", *LAYER_KINDS]


@pytest.fixture(scope="module")
def server(web_city):
    with live_server(web_city.app) as base:
        yield base


@pytest.fixture(scope="module")
def token(web_city):
    return users.create_token(web_city.ws.engine, "analyst", "qgis")


@pytest.fixture()
def gdal_auth(token):
    # the OAPIF driver sends its own Accept header, which replaces GDAL_HTTP_HEADERS: use bearer auth
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": token})
    yield
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_BEARER": None})


def gdal_read(server: str, layer: str, **kw):
    """Read a collection with GDAL's OAPIF driver (keywords are open options). Through Arrow, so pyogrio lets go of the GIL
    while GDAL waits for the server, which answers from a thread of this process."""
    return pyogrio.read_dataframe(f"OAPIF:{server}/ogc", layer=layer, use_arrow=True, **kw)


def store_count(ws, cid: str, run_id: int) -> int:
    with ws.engine.connect() as conn:
        if cid == "parcels":
            return conn.scalar(select(func.count()).select_from(Parcel))
        if cid == "flagged":
            return conn.scalar(select(func.count()).select_from(RunParcel).where(RunParcel.run_id == run_id))
        if cid == "units":
            return conn.scalar(select(func.count()).select_from(RunUnit).where(RunUnit.run_id == run_id))
        if cid == "recommendations":
            return conn.scalar(select(func.count()).select_from(RunCase).where(RunCase.run_id == run_id))
        return conn.scalar(select(func.count()).select_from(ControlFeature).where(ControlFeature.layer_kind == cid))


def store_parcels(ws):
    with ws.engine.connect() as conn:
        geom = func.ST_AsBinary(Parcel.geom) if conn.dialect.name == "postgresql" else Parcel.geom
        rows = conn.execute(select(Parcel.key, geom, Parcel.district_code)).all()
    return {k: (shapely.from_wkb(bytes(g)), d) for k, g, d in rows}


def test_gdal_reads_every_collection_with_the_counts_of_the_store(web_city, server, gdal_auth):
    layers = {name for name, _ in pyogrio.list_layers(f"OAPIF:{server}/ogc")}
    assert layers == set(ALL)
    for cid in ALL:
        df = gdal_read(server, cid, PAGE_SIZE="1000")
        n = store_count(web_city.ws, cid, web_city.run_id)
        assert len(df) == n, cid
        assert n > 0 or cid in LAYER_KINDS, cid
        if n:
            assert df.crs.to_epsg() == 4490, cid
            assert df.geometry.notna().all() and df.geometry.is_valid.all(), cid
    flagged = gdal_read(server, "flagged")
    with web_city.ws.engine.connect() as conn:
        tags = dict(conn.execute(select(RunParcel.parcel_key, RunParcel.tags)
                                 .where(RunParcel.run_id == web_city.run_id)).all())
    assert dict(zip(flagged["key"], flagged["tags"], strict=True)) == tags


def test_gdal_storage_crs_and_crs84_give_the_same_places(server, gdal_auth):
    native = gdal_read(server, "flagged")
    wgs = gdal_read(server, "flagged", CRS="OGC:CRS84")
    assert native.crs.to_epsg() == 4490 and wgs.crs.to_string() in ("OGC:CRS84", "EPSG:4326")
    native, wgs = native.set_index("key").sort_index(), wgs.set_index("key").sort_index()
    assert list(native.index) == list(wgs.index)
    a, b = native.geometry.to_numpy(), wgs.geometry.to_numpy()
    assert shapely.equals_exact(a, b, tolerance=1e-9).all()
    # longitude first on both after GDAL's axis handling: Changzhou lies at 119–121°E, 31–32°N
    assert (native.geometry.centroid.x > 119).all() and (native.geometry.centroid.y < 33).all()


def test_the_4490_output_is_latitude_first_and_bbox_crs_is_read_likewise(web_city, token):
    c = TestClient(web_city.app, headers={"Authorization": f"Bearer {token}"})
    r84 = c.get("/ogc/collections/parcels/items", params={"limit": 5})
    r90 = c.get("/ogc/collections/parcels/items", params={"limit": 5, "crs": CRS4490})
    assert r84.headers["content-crs"] == f"<{CRS84}>" and r90.headers["content-crs"] == f"<{CRS4490}>"
    assert r84.headers["content-type"].startswith("application/geo+json")
    for f84, f90 in zip(r84.json()["features"], r90.json()["features"], strict=True):
        g84, g90 = shapely.geometry.shape(f84["geometry"]), shapely.geometry.shape(f90["geometry"])
        swapped = shapely.transform(g90, lambda xy: xy[:, ::-1])
        assert shapely.equals_exact(g84, swapped, tolerance=1e-12)
        assert 119 < g84.centroid.x < 121 and 31 < g90.centroid.x < 33
    box = r84.json()["features"][0]["geometry"]
    g = shapely.geometry.shape(box)
    x0, y0, x1, y1 = g.bounds
    a = c.get("/ogc/collections/parcels/items", params={"bbox": f"{x0},{y0},{x1},{y1}", "limit": 1000}).json()
    b = c.get("/ogc/collections/parcels/items", params={"bbox": f"{y0},{x0},{y1},{x1}", "bbox-crs": CRS4490,
                                                        "limit": 1000}).json()
    assert a["numberMatched"] == b["numberMatched"] >= 1
    assert {f["id"] for f in a["features"]} == {f["id"] for f in b["features"]}


def test_bbox_returns_exactly_the_parcels_that_intersect_it(web_city, token):
    c = TestClient(web_city.app, headers={"Authorization": f"Bearer {token}"})
    parcels = store_parcels(web_city.ws)
    geoms = shapely.GeometryCollection([g for g, _ in parcels.values()])
    x0, y0, x1, y1 = geoms.bounds
    box = (x0 + (x1 - x0) * 0.4, y0 + (y1 - y0) * 0.4, x0 + (x1 - x0) * 0.55, y0 + (y1 - y0) * 0.5)
    want = {k for k, (g, _) in parcels.items() if g.intersects(shapely.box(*box))}
    # parcels whose bounding box meets the bbox but whose shape does not must be left out
    coarse = {k for k, (g, _) in parcels.items() if shapely.box(*g.bounds).intersects(shapely.box(*box))}
    assert want and len(want) < len(parcels)
    r = c.get("/ogc/collections/parcels/items", params={"bbox": ",".join(map(str, box)), "limit": 10000}).json()
    assert r["numberMatched"] == len(want) == r["numberReturned"]
    assert {f["id"] for f in r["features"]} == want
    assert coarse >= want
    # units and cases: those with a member parcel in the box
    with web_city.ws.engine.connect() as conn:
        members = conn.execute(select(RunUnit.unit_id, RunUnit.members).where(RunUnit.run_id == web_city.run_id)).all()
    units = {u for u, m in members if set(m.split(";")) & want}
    r = c.get("/ogc/collections/units/items", params={"bbox": ",".join(map(str, box)), "limit": 10000}).json()
    assert {f["id"] for f in r["features"]} == units and r["numberMatched"] == len(units)


def test_limit_and_offset_page_through_every_feature_once(web_city, token):
    c = TestClient(web_city.app, headers={"Authorization": f"Bearer {token}"})
    seen: list[str] = []
    url = "/ogc/collections/parcels/items?limit=300"
    pages = 0
    while url:
        body = c.get(url).json()
        seen += [f["id"] for f in body["features"]]
        assert body["numberReturned"] == len(body["features"])
        nxt = [ln["href"] for ln in body["links"] if ln["rel"] == "next"]
        url = nxt[0].replace("http://testserver", "") if nxt else None
        pages += 1
    assert len(seen) == len(set(seen)) == body["numberMatched"] == len(store_parcels(web_city.ws))
    assert pages == -(-len(seen) // 300)
    last = c.get("/ogc/collections/parcels/items", params={"limit": 300, "offset": 300}).json()
    assert any(ln["rel"] == "prev" for ln in last["links"])


def test_property_filters_match_the_store_and_queryables_list_them(web_city, token):
    c = TestClient(web_city.app, headers={"Authorization": f"Bearer {token}"})
    with web_city.ws.engine.connect() as conn:
        tag = conn.scalar(text("select tags from run_parcel where run_id = :r group by tags order by count(*) desc"),
                          {"r": web_city.run_id})
        want = set(conn.execute(select(RunParcel.parcel_key).where(
            RunParcel.run_id == web_city.run_id, RunParcel.district_code == "320412",
            RunParcel.tags == tag)).scalars())
    assert want
    r = c.get("/ogc/collections/flagged/items", params={"district_code": "320412", "tags": tag, "limit": 10000})
    body = r.json()
    assert {f["id"] for f in body["features"]} == want and body["numberMatched"] == len(want)
    assert all(f["properties"]["district_code"] == "320412" and f["properties"]["tags"] == tag for f in body["features"])
    q = c.get("/ogc/collections/flagged/queryables").json()
    assert {"district_code", "tags", "firm_class"} <= set(q["properties"])
    bad = c.get("/ogc/collections/flagged/items", params={"holder": "x"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_filter"
    assert c.get("/ogc/collections/units/items", params={"unit_id": "x"}).status_code == 400


def test_landing_conformance_collection_and_single_items(web_city, token):
    c = TestClient(web_city.app, headers={"Authorization": f"Bearer {token}"})
    land = c.get("/ogc").json()
    assert {"self", "conformance", "data", "service-desc"} <= {ln["rel"] for ln in land["links"]}
    conf = c.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conf
    col = c.get("/ogc/collections/flagged").json()
    assert col["storageCrs"] == CRS4490 and CRS84 in col["crs"]
    x0, y0, x1, y1 = col["extent"]["spatial"]["bbox"][0]
    assert 119 < x0 < x1 < 121 and 31 < y0 < y1 < 33
    feat = c.get("/ogc/collections/flagged/items", params={"limit": 1}).json()["features"][0]
    one = c.get(f"/ogc/collections/flagged/items/{feat['id']}").json()
    assert one["id"] == feat["id"] and one["properties"]["tags"] and one["properties"]["case_id"]
    assert one["properties"]["run_id"] == web_city.run_id
    case = c.get(f"/ogc/collections/recommendations/items/{one['properties']['case_id']}").json()
    member = shapely.geometry.shape(one["geometry"])
    assert shapely.geometry.shape(case["geometry"]).buffer(1e-9).contains(member)
    assert c.get("/ogc/collections/flagged/items/NOPE").status_code == 404
    assert c.get("/ogc/collections/nothing").status_code == 404
    assert c.get("/ogc/collections/parcels/items", params={"crs": "EPSG:3857"}).status_code == 400
    assert c.get("/ogc/collections/parcels/items", params={"f": "html"}).status_code == 400


def test_every_signed_in_role_reads_and_nobody_else(web_city, server, token):
    district = client_for(web_city.app, "wujin")
    r = district.get("/ogc/collections/parcels/items", params={"limit": 1})
    assert r.status_code == 200 and r.json()["numberMatched"] == len(store_parcels(web_city.ws))
    viewer = users.create_token(web_city.ws.engine, "leader", "gis")
    assert TestClient(web_city.app).get("/ogc/collections", headers={"Authorization": f"Bearer {viewer}"}).status_code == 200
    anon = TestClient(web_city.app)
    for path in ("/ogc", "/ogc/collections", "/ogc/collections/parcels/items", "/ogc/conformance"):
        assert anon.get(path).status_code == 401, path
    assert anon.get("/ogc", headers={"Authorization": "Bearer wrong"}).status_code == 401
    with pytest.raises(pyogrio.errors.DataSourceError):
        gdal_read(server, "parcels")
