"""The five tags 危 污 乱 散 低: one small hand-built scenario per rule, answers worked out by hand.

Each test's docstring names the clause of the rule it checks (the rule's ``clause``).
Parcels are squares laid out in EPSG:4549 metres around 武进区 and stored in EPSG:4490.
"""

from __future__ import annotations

import copy
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml

from conftest import ORIGIN_4549
from landrenew.analysis.tags import (
    HIT_COLUMNS,
    RULE_KINDS,
    reached,
    spatial_pairs,
    summarize_tags,
    tag_parcels,
)
from landrenew.codes.parcel_code import make_parcel_code
from landrenew.codes.uscc import make_uscc
from landrenew.geo.area import M2_PER_MU
from landrenew.policy import parse_profile
from landrenew.policy.loader import resolve_profile

AS_OF = pd.Timestamp("2025-06-30")
DISTRICT = "320412"
FIRM = make_uscc("91320412MA1000001")
OTHER_FIRM = make_uscc("91320412MA1000002")
DATES = ("approval_date", "supply_date", "contract_start_date", "actual_start_date")


def code(i: int) -> str:
    return make_parcel_code(DISTRICT, 1, 2, "G", "B", i + 1)


def square(i: int, size: float = 80.0, gap: float = 5.0, row: int = 0) -> shapely.Polygon:
    """The i-th square of a row, in EPSG:4549 metres."""
    x0, y0 = ORIGIN_4549
    x = x0 + i * (size + gap)
    y = y0 + row * 1000
    return shapely.box(x, y, x + size, y + size)


def make_parcels(n: int, **cols: Any) -> gpd.GeoDataFrame:
    """``n`` parcels that trigger nothing by default (housing, no dates, no floor area)."""
    geoms = cols.pop("geometry", [square(i) for i in range(n)])
    g = gpd.GeoSeries(geoms, crs="EPSG:4549")
    data: dict[str, Any] = {
        "key": [code(i) for i in range(n)],
        "parcel_code": [code(i) for i in range(n)],
        "bsm": [None] * n,
        "dlbm": ["0701"] * n,
        "ydyh_code": [None] * n,
        "district_code": [DISTRICT] * n,
        "right_holder": [f"常州测试{i}号有限公司" for i in range(n)],
        **{d: [pd.NaT] * n for d in DATES},
        "floor_area_m2": [np.nan] * n,
        "declared_area_m2": g.area.to_numpy(),
        "area_m2": g.area.to_numpy(),
    }
    data.update(cols)
    df = gpd.GeoDataFrame(data, geometry=g.to_crs("EPSG:4490").values, crs="EPSG:4490")
    for d in DATES:
        df[d] = pd.to_datetime(df[d])
    return df


def make_overlay(parcels: gpd.GeoDataFrame, **cols: Any) -> pd.DataFrame:
    """Every parcel in urban space, inside a park, its own patch."""
    n = len(parcels)
    area_mu = parcels["area_m2"].to_numpy() / M2_PER_MU
    data: dict[str, Any] = {
        "area_mu": area_mu,
        "share_eco_redline": 0.0, "share_basic_farmland": 0.0, "share_urban_boundary": 1.0,
        "share_industrial_line": 0.0, "share_industrial_park": 1.0,
        "park_name": "武进高新区", "space": "urban", "is_construction": True,
        "patch_id": np.arange(n), "patch_area_mu": area_mu, "patch_size": 1,
    }
    data.update(cols)
    return pd.DataFrame(data, index=parcels.index)


def make_evidence(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    base = {"kind": None, "record_id": None, "uscc": None, "parcel_code": None,
            "district_code": DISTRICT, "event_date": None, "category": None, "status": None,
            "attrs": None, "area_m2": None, "geometry": None}
    df = pd.DataFrame([{**base, **r} for r in rows], columns=list(base))
    geoms = gpd.GeoSeries(df.pop("geometry"), crs="EPSG:4549").to_crs("EPSG:4490")
    df["event_date"] = pd.to_datetime(df["event_date"])
    df["attrs"] = [a if isinstance(a, dict) else {} for a in df["attrs"]]
    return gpd.GeoDataFrame(df, geometry=geoms.values, crs="EPSG:4490")


NO_CLASS = pd.DataFrame(columns=["class", "firm_uscc", "firms", "n_firms"])
NO_LINKS = pd.DataFrame({"uscc": pd.Series(dtype=object), "year": pd.Series(dtype=int),
                         "parcel_code": pd.Series(dtype=object)})


def run(profile, parcels, overlay=None, *, parcel_class=NO_CLASS, firm_parcels=NO_LINKS,
        evidence=None, as_of=AS_OF, **kw) -> pd.DataFrame:
    overlay = make_overlay(parcels) if overlay is None else overlay
    evidence = make_evidence([]) if evidence is None else evidence
    return tag_parcels(parcels, overlay, parcel_class, firm_parcels, evidence, profile, as_of, **kw)


def hits_of(hits: pd.DataFrame, rule_id: str) -> pd.DataFrame:
    return hits[hits["rule_id"].astype(str) == rule_id]


def tagged(hits: pd.DataFrame, rule_id: str) -> list[int]:
    return sorted(hits_of(hits, rule_id)["parcel_index"].unique().tolist())


def variant(**changes: Any):
    """The bundled profile with some rule params changed: {rule_id: {param: value}}."""
    raw = yaml.safe_load(resolve_profile("changzhou-2022").read_text(encoding="utf-8"))
    raw = copy.deepcopy(raw)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("id") in changes:
                node["params"].update(changes[node["id"]])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(raw)
    return parse_profile(raw)


# --------------------------------------------------------------------------- 危


def test_hazard_open_tags_fixed_does_not(profile):
    """一、(二)基本原则（着力解决安全隐患）: only hazards whose status the profile lists tag 危."""
    rule = profile.rule("tag.danger.hazard_list")
    assert rule.clause == "一、(二)基本原则（着力解决安全隐患）"
    assert "已整改" not in rule.params.match["status"]
    parcels = make_parcels(3)
    ev = make_evidence([
        {"kind": "hazards", "record_id": "H1", "parcel_code": code(0), "category": "危险化学品",
         "status": "未整改", "attrs": {"level": "重大", "source_agency": "应急管理局"}},
        {"kind": "hazards", "record_id": "H2", "parcel_code": code(1), "category": "危险化学品",
         "status": "已整改", "attrs": {"level": "重大"}},
        {"kind": "hazards", "record_id": "H3", "parcel_code": code(2), "category": "危旧房屋",
         "status": "整改中", "attrs": {"level": "一般"}},
    ])
    hits = run(profile, parcels, evidence=ev)
    h = hits_of(hits, "tag.danger.hazard_list")
    assert h["parcel_index"].tolist() == [0, 2]
    assert h["evidence_id"].tolist() == ["H1", "H3"]
    first = h.iloc[0]
    assert (first["tag"], first["tag_key"], first["evidence_kind"]) == ("危", "danger", "hazards")
    assert first["clause"] == rule.clause
    assert first["parcel_key"] == code(0)
    assert first["matched_by"] == "parcel_code"
    assert "未整改" in first["value"] and "重大" in first["value"]
    assert "status ∈ {未整改, 整改中}" in first["threshold"]


# --------------------------------------------------------------------------- 污


def test_pollution_matched_by_uscc_through_the_evaluation_years_links(profile):
    """一、(二)基本原则（着力解决环境污染）: a case naming only the firm tags the firm's parcels of the evaluation year."""
    parcels = make_parcels(3)
    links = pd.DataFrame({"uscc": [FIRM, FIRM, FIRM, OTHER_FIRM],
                          "year": [2024, 2024, 2023, 2024],
                          "parcel_code": [code(1), code(2), code(0), code(0)]})
    ev = make_evidence([{"kind": "pollution", "record_id": "P1", "uscc": FIRM, "category": "超标排放",
                         "status": "未整改", "attrs": {"contaminated_site": False}}])
    hits = run(profile, parcels, firm_parcels=links, evidence=ev)
    h = hits_of(hits, "tag.pollution.violation")
    assert profile.rule("tag.pollution.violation").clause == "一、(二)基本原则（着力解决环境污染）"
    assert h["parcel_index"].tolist() == [1, 2]  # 2023 link to parcel 0 is not used
    assert set(h["matched_by"]) == {"uscc"}
    assert set(h["tag"]) == {"污"}
    assert FIRM in h.iloc[0]["note_zh"]
    assert tagged(hits, "tag.pollution.contaminated_site") == []
    # an explicit year uses that year's links
    older = run(profile, parcels, firm_parcels=links, evidence=ev, link_year=2023)
    assert tagged(older, "tag.pollution.violation") == [0]


def test_contaminated_site_tags_whatever_the_case_status(profile):
    """一、(二)基本原则（着力解决环境污染）: a (suspected) contaminated site tags 污 even when the case is closed."""
    parcels = make_parcels(2)
    ev = make_evidence([
        {"kind": "pollution", "record_id": "P2", "parcel_code": code(0), "category": "污染地块",
         "status": "已整改", "attrs": {"contaminated_site": True}},
        {"kind": "pollution", "record_id": "P3", "parcel_code": code(1), "category": "无证排污",
         "status": "已整改", "attrs": {"contaminated_site": False}},
    ])
    hits = run(profile, parcels, evidence=ev)
    assert tagged(hits, "tag.pollution.contaminated_site") == [0]
    assert tagged(hits, "tag.pollution.violation") == []


# --------------------------------------------------------------------------- 乱


def test_enforcement_polygon_tags_both_parcels_it_overlaps(profile):
    """一、(三)整治提升对象 第4项: an open 卫片 polygon tags every parcel it overlaps, with the overlap in 亩."""
    parcels = make_parcels(3)  # 80 m squares, 5 m apart
    x0, y0 = ORIGIN_4549
    across = shapely.box(x0 + 40, y0, x0 + 85 + 40, y0 + 80)  # right half of 0, left half of 1
    touching = shapely.box(x0 + 250, y0, x0 + 300, y0 + 80)  # shares parcel 2's right edge only
    closed = shapely.box(x0 + 170, y0, x0 + 250, y0 + 80)  # covers parcel 2, case closed
    ev = make_evidence([
        {"kind": "enforcement", "record_id": "W1", "category": "未批先建", "status": "未结案", "geometry": across},
        {"kind": "enforcement", "record_id": "W2", "category": "未批先建", "status": "未结案", "geometry": touching},
        {"kind": "enforcement", "record_id": "W3", "category": "未批先建", "status": "已结案", "geometry": closed},
    ])
    hits = run(profile, parcels, evidence=ev)
    h = hits_of(hits, "tag.disorder.illegal_land")
    assert profile.rule("tag.disorder.illegal_land").clause == "一、(三)整治提升对象 第4项"
    assert h["parcel_index"].tolist() == [0, 1]
    assert h["evidence_id"].tolist() == ["W1", "W1"]
    assert set(h["matched_by"]) == {"geometry"}
    assert set(h["tag"]) == {"乱"}
    # 40 m × 80 m = 3200 m² = 4.80 亩 inside each parcel
    assert all("重叠 4.80 亩" in v for v in h["value"])


def test_a_multipart_polygon_meets_parcels_part_by_part():
    """A list polygon of scattered pieces: each piece pairs with the parcels it overlaps (a parcel in
    the polygon's bounding box between the pieces is not one), a parcel under two pieces gets one
    pair with both overlaps added, a piece that only shares an edge gives none."""
    parcels = make_parcels(5).to_crs("EPSG:4490")  # 80 m squares, 5 m apart
    x0, y0 = ORIGIN_4549
    pieces = shapely.MultiPolygon([
        shapely.box(x0, y0, x0 + 20, y0 + 80),  # inside parcel 0
        shapely.box(x0 + 60, y0, x0 + 80, y0 + 80),  # also inside parcel 0
        shapely.box(x0 + 340, y0, x0 + 380, y0 + 80),  # half of parcel 4
        shapely.box(x0 + 160, y0 + 100, x0 + 240, y0 + 120),  # outside all; shares no edge
        shapely.box(x0 + 170, y0 + 80, x0 + 250, y0 + 90),  # shares parcel 2's top edge only
    ])
    one = shapely.box(x0 + 85, y0, x0 + 125, y0 + 80)  # half of parcel 1
    geoms = gpd.GeoSeries([pieces, None, one], crs="EPSG:4549").to_crs("EPSG:4490").values
    i, pos, m2 = spatial_pairs(geoms, "EPSG:4490", parcels, "EPSG:4549")
    assert i.tolist() == [0, 0, 2] and pos.tolist() == [0, 4, 1]
    np.testing.assert_allclose(m2, [3200.0, 3200.0, 3200.0], rtol=1e-6)


def test_enforcement_case_by_parcel_code_and_geometry_counts_once(profile):
    """一、(三)整治提升对象 第4项: a case reaching a parcel both by code and by polygon is one hit."""
    parcels = make_parcels(1)
    ev = make_evidence([{"kind": "enforcement", "record_id": "W1", "parcel_code": code(0),
                         "category": "未批先建", "status": "未结案", "geometry": square(0)}])
    h = hits_of(run(profile, parcels, evidence=ev), "tag.disorder.illegal_land")
    assert len(h) == 1 and h.iloc[0]["matched_by"] == "parcel_code"


# --------------------------------------------------------------------------- 低: plot ratio


def test_plot_ratio_below_floor(profile):
    """国土资规〔2016〕147号: industrial land with plot ratio 0.8 is below the 1.5 floor; 1.6 is not; housing is not industrial."""
    floor = profile.rule(profile.rule("tag.low.plot_ratio").params.floor_rule).params.floor
    assert floor == 1.5
    parcels = make_parcels(4, dlbm=["0601", "0601", "0701", None], ydyh_code=[None, None, None, "100102"])
    parcels["area_m2"] = 10_000.0
    parcels["floor_area_m2"] = [8_000.0, 16_000.0, 5_000.0, 10_000.0]
    hits = run(profile, parcels)
    h = hits_of(hits, "tag.low.plot_ratio")
    assert profile.rule("tag.low.plot_ratio").clause == "国土资规〔2016〕147号"
    assert h["parcel_index"].tolist() == [0, 3]  # 0.8 (三调 0601) and 1.0 (用地用海 100102)
    assert h.iloc[0]["value"] == "容积率 0.80"
    assert h.iloc[0]["threshold"].startswith("< 1.5")
    assert (h.iloc[0]["tag"], h.iloc[0]["evidence_kind"], h.iloc[0]["evidence_id"]) == ("低", "parcel", "floor_area_m2")


def test_plot_ratio_floor_is_read_from_the_profile():
    """国土资规〔2016〕147号: the same kind with another profile's floor (2.0) tags a 1.6 parcel."""
    stricter = variant(**{"land.plot_ratio.industrial": {"floor": 2.0}})
    parcels = make_parcels(1, dlbm=["0601"], floor_area_m2=[1.6 * 6400])
    parcels["area_m2"] = 6400.0
    assert tagged(run(stricter, parcels), "tag.low.plot_ratio") == [0]


# --------------------------------------------------------------------------- 低: idle land


def test_idle_not_started_one_and_two_years(profile):
    """部令第53号: not started 1 year after the contracted start is idle (fee); 2 years, taken back."""
    contract = ["2024-03-01", "2023-01-01", "2025-01-01", "2023-01-01", "2024-06-30"]
    actual = [None, None, None, "2023-02-01", None]
    parcels = make_parcels(5, contract_start_date=pd.to_datetime(contract),
                           actual_start_date=pd.to_datetime(actual))
    hits = run(profile, parcels)
    assert profile.rule("tag.low.idle_land").clause == "部令第53号"
    # 0: 1.33 years; 1: 2.5 years; 2: 0.5 years; 3: started; 4: exactly one year on as_of
    assert tagged(hits, "tag.low.idle_land") == [0, 1, 4]
    assert tagged(hits, "land.idle.fee") == [0, 4]
    assert tagged(hits, "land.idle.take_back") == [1]
    fee = hits_of(hits, "land.idle.fee").iloc[0]
    assert fee["clause"] == profile.land_rules.idle_fee.clause == "部令第53号 第十四条"
    assert (fee["tag"], fee["evidence_kind"], fee["evidence_id"]) == ("低", "parcel", "contract_start_date")
    idle = hits_of(hits, "tag.low.idle_land").iloc[1]
    assert idle["value"] == "约定开工 2023-01-01 未动工，已 2.5 年"
    assert idle["threshold"] == "约定开工后满 1 年未动工"


def test_idle_list_started_but_halted(profile):
    """部令第53号: started with < 1/3 developed or < 25 % invested and halted ≥ 1 year is idle (from the idle list)."""
    parcels = make_parcels(3)
    ev = make_evidence([
        {"kind": "idle", "record_id": code(0), "parcel_code": code(0), "event_date": "2021-01-01",
         "attrs": {"actual_start_date": "2022-01-01", "developed_share": 0.2, "invested_share": 0.5,
                   "halted_date": "2024-03-01", "land_price_wan": 1000.0}},
        {"kind": "idle", "record_id": code(1), "parcel_code": code(1), "event_date": "2019-01-01",
         "attrs": {"actual_start_date": "2019-06-01", "developed_share": 0.5, "invested_share": 0.3,
                   "halted_date": "2020-01-01"}},
        {"kind": "idle", "record_id": code(2), "parcel_code": code(2), "event_date": "2021-01-01",
         "attrs": {"actual_start_date": "2022-01-01", "developed_share": 0.5, "invested_share": 0.1,
                   "halted_date": "2023-01-01"}},
    ])
    hits = run(profile, parcels, evidence=ev)
    # 0: 20 % developed, halted 1.33 y → idle, fee; 1: 50 % / 30 % → not idle;
    # 2: invested 10 %, halted 2.5 y → idle, taken back
    assert tagged(hits, "tag.low.idle_land") == [0, 2]
    assert tagged(hits, "land.idle.fee") == [0]
    assert tagged(hits, "land.idle.take_back") == [2]
    fee = hits_of(hits, "land.idle.fee").iloc[0]
    assert fee["evidence_kind"] == "idle" and fee["evidence_id"] == code(0)
    assert "闲置费 200.0 万元" in fee["value"]  # 20 % of 1000 万元
    assert hits_of(hits, "tag.low.idle_land").iloc[0]["threshold"].startswith("开发 < 33% 或投资 < 25%")


# --------------------------------------------------------------------------- 散


def test_isolated_patch_small_in_agricultural_space_only(profile):
    """一、(三)整治提升对象 第2项: a 10 亩 industrial patch in agricultural space tags 散; a 40 亩 one does not."""
    assert profile.rule("tag.scattered.isolated_patch").params.max_patch_mu == 15
    parcels = make_parcels(4, dlbm=["0601", "0601", "0601", "0702"])
    ov = make_overlay(parcels, space=["agricultural", "agricultural", "urban", "agricultural"],
                      patch_area_mu=[10.0, 40.0, 10.0, 10.0], patch_size=[1, 3, 1, 1])
    hits = run(profile, parcels, ov)
    h = hits_of(hits, "tag.scattered.isolated_patch")
    assert profile.rule("tag.scattered.isolated_patch").clause == "一、(三)整治提升对象 第2项"
    assert h["parcel_index"].tolist() == [0]  # 2: urban space; 3: homestead is not 经营性
    assert h.iloc[0]["tag"] == "散"
    assert h.iloc[0]["value"] == "农业空间内连片建设用地 10.00 亩（1 宗）"
    assert h.iloc[0]["threshold"].startswith("≤ 15 亩")


def test_industrial_parcel_outside_parks(profile):
    """一、(二)基本原则（整合土地资源，支撑产业集聚发展）: industrial land with < 50 % inside a park tags 散."""
    parcels = make_parcels(4, dlbm=["0601", "0601", "0601", "05H1"])
    ov = make_overlay(parcels, share_industrial_park=[0.0, 0.8, 0.5, 0.0])
    hits = run(profile, parcels, ov)
    h = hits_of(hits, "tag.scattered.outside_park")
    assert profile.rule("tag.scattered.outside_park").clause == "一、(二)基本原则（整合土地资源，支撑产业集聚发展）"
    assert h["parcel_index"].tolist() == [0]  # 0.5 counts as inside; 05H1 is not industrial
    assert (h.iloc[0]["value"], h.iloc[0]["threshold"]) == ("园区内面积占比 0%", "< 50%")
    assert h.iloc[0]["evidence_id"] == "share_industrial_park"


# --------------------------------------------------------------------------- 低: unsupplied, class


def test_unsupplied_polygon_and_parcel_dates(profile):
    """一、(三)整治提升对象 第3项: unsupplied land tags 低 from the 批而未供 polygons and from approved-but-unsupplied parcels."""
    parcels = make_parcels(5, approval_date=pd.to_datetime([None, None, None, "2021-05-01", "2021-05-01"]),
                           supply_date=pd.to_datetime([None, "2020-01-01", None, None, "2022-01-01"]))
    x0, y0 = ORIGIN_4549
    ev = make_evidence([
        {"kind": "unsupplied", "record_id": "苏政地〔2019〕1号", "event_date": "2019-03-01",
         "attrs": {"approved_area_mu": 100.0, "supplied_area_mu": 40.0},
         "geometry": shapely.box(x0 - 10, y0 - 10, x0 + 165, y0 + 90)},  # covers parcels 0 and 1
        {"kind": "unsupplied", "record_id": "苏政地〔2019〕2号", "event_date": "2019-03-01",
         "attrs": {"approved_area_mu": 50.0, "supplied_area_mu": 50.0},
         "geometry": shapely.box(x0 + 170, y0, x0 + 250, y0 + 80)},  # parcel 2, fully supplied
    ])
    hits = run(profile, parcels, evidence=ev)
    h = hits_of(hits, "tag.low.unsupplied")
    assert profile.rule("tag.low.unsupplied").clause == "一、(三)整治提升对象 第3项"
    # 0: in an unsupplied batch; 1: supplied in 2020; 2: batch fully supplied; 3: approved, not supplied; 4: supplied
    assert h["parcel_index"].tolist() == [0, 3]
    assert h["evidence_kind"].tolist() == ["unsupplied", "parcel"]
    assert h.iloc[0]["evidence_id"] == "苏政地〔2019〕1号"
    assert "未供 60.00 亩" in h.iloc[0]["value"]


def test_class_d_parcel(profile):
    """常政办发〔2018〕28号: land of firms rated C or D tags 低; A, B and T do not."""
    parcels = make_parcels(4)
    pc = pd.DataFrame({"class": ["D", "B", "C", "T"], "firm_uscc": [FIRM, OTHER_FIRM, FIRM, None],
                       "firms": [FIRM, OTHER_FIRM, FIRM, ""], "n_firms": [1, 1, 1, 0]},
                      index=pd.Index([code(0), code(1), code(2), code(3)], name="parcel_code"))
    hits = run(profile, parcels, parcel_class=pc)
    h = hits_of(hits, "tag.low.evaluation_class")
    assert profile.rule("tag.low.evaluation_class").clause == "常政办发〔2018〕28号"
    assert h["parcel_index"].tolist() == [0, 2]
    assert h.iloc[0]["value"] == f"亩均评价 D 类（{FIRM}）"
    assert (h.iloc[0]["evidence_kind"], h.iloc[0]["evidence_id"]) == ("evaluation", FIRM)


# --------------------------------------------------------------------------- shape


def test_hits_table_shape_and_summary(profile):
    """一、(二)基本原则: every hit carries its evidence; the summary lists the tags in profile order (危污乱散低)."""
    parcels = make_parcels(3, dlbm=["0601", "0701", "0701"], floor_area_m2=[3200.0, np.nan, np.nan])
    ev = make_evidence([
        {"kind": "hazards", "record_id": "H1", "parcel_code": code(0), "category": "危化品",
         "status": "未整改", "attrs": {"level": "一般"}},
        {"kind": "pollution", "record_id": "P1", "parcel_code": code(0), "category": "超标排放",
         "status": "整改中", "attrs": {}},
    ])
    ov = make_overlay(parcels, share_industrial_park=[0.0, 0.0, 0.0])
    hits = run(profile, parcels, ov, evidence=ev)
    assert list(hits.columns) == HIT_COLUMNS
    assert hits[["value", "threshold", "note_zh", "note_en", "clause"]].notna().all().all()
    # parcel 0: 危 hazard, 污 violation, 散 outside park, 低 plot ratio 0.5
    s = summarize_tags(hits, len(parcels))
    assert list(s.columns) == ["tags", *profile.tags, "n_hits", "rule_ids"]
    assert s.loc[0, "tags"] == "危污散低"
    assert s.loc[0, "rule_ids"] == ("tag.danger.hazard_list;tag.pollution.violation;"
                                    "tag.scattered.outside_park;tag.low.plot_ratio")
    assert s.loc[0, "n_hits"] == 4
    assert s.loc[[0, 1, 2], "danger"].tolist() == [True, False, False]
    assert s.loc[1, "tags"] == "" and s.loc[1, "n_hits"] == 0 and s.loc[1, "rule_ids"] == ""


def test_no_evidence_gives_an_empty_table(profile):
    """一、(三)整治提升对象: nothing delivered, nothing tagged; the columns are still there."""
    hits = run(profile, make_parcels(2))
    assert hits.empty and list(hits.columns) == HIT_COLUMNS
    s = summarize_tags(hits, 2)
    assert s["n_hits"].tolist() == [0, 0] and not s["low"].any()


@pytest.mark.parametrize("n_rules", [5, 60])  # 60 labels need two 52-bit mask words
def test_summary_texts_match_a_plain_loop(n_rules):
    """``tags`` and ``rule_ids`` per parcel are the labels present, in label order, each once —
    the same as a loop over the hits, with repeated hits and parcels without any."""
    rng = np.random.default_rng(7)
    n = 300
    pos = rng.integers(0, n, 2_000)
    rule = np.array([f"r{i:02d}" for i in rng.integers(0, n_rules, len(pos))], dtype=object)
    hits = pd.DataFrame({"parcel_index": pos, "rule_id": rule, "tag_key": rule, "tag": rule})
    order = list(dict.fromkeys(rule))  # plain columns: first-seen order
    s = summarize_tags(hits, n)
    for i in range(n):
        present = set(rule[pos == i])
        assert s["rule_ids"].iloc[i] == ";".join(r for r in order if r in present)
        assert s["tags"].iloc[i] == "".join(r for r in order if r in present)
        assert s["n_hits"].iloc[i] == (pos == i).sum()


def test_every_rule_kind_of_the_profile_has_a_function(profile):
    """Policy as data: each rule kind is one function, dispatched by ``kind``."""
    assert {r.kind for _, r in profile.tag_rules()} <= set(RULE_KINDS)


def test_non_range_index_is_kept(profile):
    """部令第53号: ``parcel_index`` is the parcels' own index."""
    parcels = make_parcels(2, contract_start_date=pd.to_datetime(["2020-01-01", None]))
    parcels.index = pd.Index([10, 20])
    hits = run(profile, parcels, make_overlay(parcels))
    assert tagged(hits, "tag.low.idle_land") == [10]
    s = summarize_tags(hits, parcels.index)
    assert s.index.tolist() == [10, 20] and s["tags"].tolist() == ["低", ""]


@pytest.mark.parametrize(("start", "years", "expected"), [
    ("2024-06-30", 1, True), ("2024-07-01", 1, False), ("2023-06-30", 2, True), ("2023-12-31", 1.5, True),
])
def test_reached_counts_calendar_years(start, years, expected):
    """部令第53号 第十四条: 满 N 年 is reached on the anniversary."""
    assert reached(pd.Series(pd.to_datetime([start])), AS_OF, years)[0] == expected
