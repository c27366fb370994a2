"""Vector tiles (MVT) and TileJSON: decoded with mapbox-vector-tile and with GDAL's MVT driver, and
checked against the store and the latest run."""

from __future__ import annotations

import math

import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from sqlalchemy import func, select

from landrenew import users
from landrenew.store.models import (
    CaseParcel,
    ClearanceCase,
    ControlFeature,
    Parcel,
    RunCase,
    RunParcel,
)
from landrenew.vectortiles import DETAIL_ZOOM, decode, tile_bounds

MVT = "application/vnd.mapbox-vector-tile"


@pytest.fixture(scope="module")
def client(web_city):
    token = users.create_token(web_city.ws.engine, "wujin", "map")
    return TestClient(web_city.app, headers={"Authorization": f"Bearer {token}"})


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def wkb(conn, col):
    return col if conn.dialect.name == "sqlite" else func.ST_AsBinary(col)


def a_case_parcel(web_city, district: str = "320412", other: bool = False):
    """A flagged parcel of the run in an open clearance case of ``district`` (or, ``other``, of another
    district): key, shape, run row, case row, case no."""
    in_district = ClearanceCase.district_code != district if other else ClearanceCase.district_code == district
    with web_city.ws.engine.connect() as conn:
        key, case_no = conn.execute(select(CaseParcel.parcel_key, ClearanceCase.case_no)
                                    .join(ClearanceCase, ClearanceCase.id == CaseParcel.case_id)
                                    .where(ClearanceCase.closed_at.is_(None), in_district)
                                    .order_by(CaseParcel.id)).first()
        geom = shapely.from_wkb(bytes(conn.scalar(select(wkb(conn, Parcel.geom)).where(Parcel.key == key))))
        rp = conn.execute(select(RunParcel).where(RunParcel.run_id == web_city.run_id,
                                                  RunParcel.parcel_key == key)).one()
        cases = conn.execute(select(RunCase.parcel_keys, RunCase.family, RunCase.path)
                             .where(RunCase.run_id == web_city.run_id)).all()
    family, path = next((f, p) for keys, f, p in cases if key in keys.split(";"))
    return key, geom, rp, family, path, case_no


def test_tilejson_describes_the_layers(client):
    for name, fields in (("parcels", {"key", "dlbm", "district_code", "area_mu", "tags", "firm_class", "family",
                                      "path", "unit_id", "case_no"}), ("controls", {"layer_kind", "name"})):
        r = client.get(f"/tiles/{name}.json")
        assert r.status_code == 200
        tj = r.json()
        assert tj["tiles"] == [f"http://testserver/tiles/{name}/{{z}}/{{x}}/{{y}}.pbf"]
        assert 0 <= tj["minzoom"] < tj["maxzoom"] <= 22
        w, s, e, n = tj["bounds"]
        assert 119 < w < e < 121 and 31 < s < n < 33
        assert tj["vector_layers"][0]["id"] == name and set(tj["vector_layers"][0]["fields"]) == fields
    assert client.get("/tiles/nothing.json").status_code == 404


def test_a_parcel_tile_carries_the_run_and_the_case(web_city, client, tmp_path):
    key, geom, rp, family, path, case_no = a_case_parcel(web_city)
    c = geom.representative_point()
    z = 16
    x, y = tile_of(c.x, c.y, z)
    r = client.get(f"/tiles/parcels/{z}/{x}/{y}.pbf")
    assert r.status_code == 200 and r.headers["content-type"] == MVT
    feats = decode(r.content)["parcels"]["features"]
    props = {f["properties"]["key"]: f["properties"] for f in feats}
    p = props[key]
    assert p["tags"] == rp.tags and p["district_code"] == rp.district_code
    assert p.get("firm_class") == rp.firm_class and p.get("unit_id") == rp.unit_id
    assert p["family"] == family and p["path"] == path and p["case_no"] == case_no
    assert abs(p["area_mu"] - rp.area_mu) < 0.01
    # every parcel of the store that meets the tile is in it, and no other
    w, s, e, n = tile_bounds(z, x, y)
    with web_city.ws.engine.connect() as conn:
        rows = conn.execute(select(Parcel.key, wkb(conn, Parcel.geom)).where(
            Parcel.maxx >= w, Parcel.minx <= e, Parcel.maxy >= s, Parcel.miny <= n)).all()
    inside = {k for k, g in rows if shapely.from_wkb(bytes(g)).intersects(shapely.box(w, s, e, n))}
    assert inside <= set(props) and set(props) <= {k for k, _ in rows}
    unflagged = [v for k, v in props.items() if "tags" not in v]
    assert all("family" not in v and "case_no" not in v for v in unflagged)

    # GDAL's MVT driver, reading the tile as a file named z/x/y.pbf, places the parcel where it is
    folder = tmp_path / str(z) / str(x)
    folder.mkdir(parents=True)
    (folder / f"{y}.pbf").write_bytes(r.content)
    df = pyogrio.read_dataframe(folder / f"{y}.pbf", layer="parcels")
    assert df.crs.to_epsg() == 3857 and set(df["key"]) == set(props)
    mine = df.loc[df["key"] == key].geometry.iloc[0]
    to3857 = Transformer.from_crs(4490, 3857, always_xy=True)
    want = shapely.transform(geom, lambda xy: list(zip(*to3857.transform(xy[:, 0], xy[:, 1]), strict=True)))
    want = want.intersection(mine.envelope)
    assert mine.intersection(want).area / want.area > 0.98


def test_a_district_officers_tiles_name_only_its_own_districts_cases(web_city, client):
    """As on the parcel sheet, another district's case is not named to a district officer."""
    from webkit import client_for

    admin = client_for(web_city.app, "admin")
    for other in (False, True):
        key, geom, _, _, _, case_no = a_case_parcel(web_city, other=other)
        c = geom.representative_point()
        x, y = tile_of(c.x, c.y, 16)
        url = f"/tiles/parcels/16/{x}/{y}.pbf"
        seen = {who: {f["properties"]["key"]: f["properties"] for f in decode(cl.get(url).content)["parcels"]["features"]}
                for who, cl in (("wujin", client), ("admin", admin))}
        assert seen["admin"][key]["case_no"] == case_no
        assert seen["wujin"][key].get("case_no") == (None if other else case_no)
        assert seen["wujin"][key]["tags"] == seen["admin"][key]["tags"]  # the rest of the city is still drawn


def test_control_tiles_name_their_layer(web_city, client):
    with web_city.ws.engine.connect() as conn:
        kind, name, minx, miny, maxx, maxy = conn.execute(select(
            ControlFeature.layer_kind, ControlFeature.name, ControlFeature.minx, ControlFeature.miny,
            ControlFeature.maxx, ControlFeature.maxy).where(ControlFeature.layer_kind == "industrial_park")).first()
    x, y = tile_of((minx + maxx) / 2, (miny + maxy) / 2, 13)
    r = client.get(f"/tiles/controls/13/{x}/{y}.pbf")
    assert r.status_code == 200
    feats = decode(r.content)["controls"]["features"]
    assert (kind, name) in {(f["properties"]["layer_kind"], f["properties"].get("name")) for f in feats}


def test_empty_places_and_low_zooms_give_no_content(web_city, client):
    x, y = tile_of(150.0, 0.0, 14)  # the Pacific
    assert client.get(f"/tiles/parcels/14/{x}/{y}.pbf").status_code == 204
    assert client.get(f"/tiles/controls/14/{x}/{y}.pbf").status_code == 204
    assert client.get("/tiles/parcels/2/3/1.pbf").status_code == 204  # below the layer's minzoom
    assert client.get("/tiles/parcels/14/99999/1.pbf").status_code == 404
    assert client.get("/tiles/roads/14/1/1.pbf").status_code == 404


def test_low_zooms_keep_flagged_parcels_only(web_city, client):
    key, geom, rp, *_ = a_case_parcel(web_city)
    c = geom.representative_point()
    x, y = tile_of(c.x, c.y, DETAIL_ZOOM - 2)
    r = client.get(f"/tiles/parcels/{DETAIL_ZOOM - 2}/{x}/{y}.pbf")
    feats = decode(r.content)["parcels"]["features"]
    assert feats and all("tags" in f["properties"] for f in feats)


def test_tiles_need_a_signed_in_user_and_send_gzip_when_asked(web_city, client):
    anon = TestClient(web_city.app)
    assert anon.get("/tiles/parcels.json").status_code == 401
    assert anon.get("/tiles/parcels/14/13650/6640.pbf").status_code == 401
    key, geom, *_ = a_case_parcel(web_city)
    c = geom.representative_point()
    x, y = tile_of(c.x, c.y, 15)
    r = client.get(f"/tiles/parcels/15/{x}/{y}.pbf", headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip" and decode(r.content)["parcels"]["features"]
