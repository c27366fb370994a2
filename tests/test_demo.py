"""The demo city: deterministic, geometrically sound, valid codes, realistic rates, promised file formats."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely

from landrenew.codes.landuse import validate_dlbm, validate_ydyh
from landrenew.codes.parcel_code import make_parcel_code, validate_parcel_codes
from landrenew.codes.uscc import org_check_characters, validate_uscc
from landrenew.demo import Delivery, DemoCity, build_city, write_deliveries
from landrenew.demo.geography import DISTRICTS, WORK_CRS

N = 3000
SEED = 7
CJK = re.compile("[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def city() -> DemoCity:
    return build_city(N, seed=SEED)


@pytest.fixture(scope="module")
def deliveries(city, tmp_path_factory) -> list[Delivery]:
    return write_deliveries(city, tmp_path_factory.mktemp("demo"))


def _by(deliveries, kind, **kw) -> list[Delivery]:
    return [d for d in deliveries if d.kind == kind and all(getattr(d, k) == v for k, v in kw.items())]


# --- the city ---------------------------------------------------------------------------------

def test_same_seed_builds_the_same_city(city):
    again = build_city(N, seed=SEED)
    assert shapely.equals_exact(city.parcels.geometry.values, again.parcels.geometry.values, tolerance=0).all()
    pd.testing.assert_frame_equal(city.parcels.drop(columns="geometry"), again.parcels.drop(columns="geometry"))
    for name in ("firms", "hazards", "pollution", "idle", "supply", "statistics"):
        pd.testing.assert_frame_equal(getattr(city, name), getattr(again, name))
    for name in ("enforcement", "unsupplied"):
        pd.testing.assert_frame_equal(getattr(city, name).drop(columns="geometry"),
                                      getattr(again, name).drop(columns="geometry"))
    for kind, layer in city.layers.items():
        pd.testing.assert_frame_equal(layer.drop(columns="geometry"), again.layers[kind].drop(columns="geometry"))
        assert shapely.equals_exact(layer.geometry.values, again.layers[kind].geometry.values, tolerance=0).all()
    assert city.summary() == again.summary()


def test_plan_zones_do_not_scale_with_the_parcels(city):
    bigger = build_city(2 * N, seed=SEED)
    a, b = city.layers["planned_use"], bigger.layers["planned_use"]
    assert a["feature_id"].equals(b["feature_id"]) and a["name"].equals(b["name"])
    assert shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=0).all()


def test_another_seed_builds_another_city(city):
    other = build_city(N, seed=SEED + 1)
    assert not city.parcels["parcel_code"].equals(other.parcels["parcel_code"])


def test_parcel_count_is_close_to_the_request(city):
    assert 0.95 * N <= len(city.parcels) <= N


def test_parcels_are_valid_polygons_that_do_not_overlap(city):
    g = city.parcels.to_crs(WORK_CRS).geometry.values
    assert shapely.is_valid(g).all()
    assert set(shapely.get_type_id(g)) == {3}
    union = shapely.union_all(g).area
    assert abs(shapely.area(g).sum() / union - 1) < 0.005


def test_parcel_centroids_lie_in_their_district(city):
    for code, district in zip(city.districts["district_code"], city.districts.geometry, strict=True):
        sub = city.parcels[city.parcels["district_code"] == code]
        assert len(sub) > 0, code
        c = shapely.centroid(sub.geometry.values)
        assert shapely.contains_xy(district, shapely.get_x(c), shapely.get_y(c)).all(), code


def test_parcel_codes_are_valid_unique_and_match_the_district(city):
    p = city.parcels
    codes = p["parcel_code"].dropna()
    assert validate_parcel_codes(codes, DISTRICTS)["reason"].eq("").all()
    assert codes.str.len().eq(19).all() and codes.is_unique
    assert (codes.str.slice(0, 6) == p.loc[codes.index, "district_code"]).all()
    first = codes.iloc[0]
    assert make_parcel_code(first[:6], first[6:9], first[9:12], first[12], first[13], first[14:]) == first
    only_bsm = p["parcel_code"].isna()
    assert 0 < only_bsm.sum() < 0.02 * len(p)
    assert p["bsm"].notna().all() and p["bsm"].is_unique


def test_land_use_codes_are_known_and_industry_dominates_new_north_and_wujin(city):
    p = city.parcels
    assert validate_dlbm(p["dlbm"]).all()
    assert validate_ydyh(p["ydyh_code"]).all()
    industrial = p["dlbm"] == "0601"
    assert p.loc[industrial, "ydyh_code"].isin(["100101", "100102", "100103"]).all()
    share = industrial.groupby(p["district_code"]).mean()
    assert 0.25 <= share["320411"] <= 0.42 and 0.25 <= share["320412"] <= 0.42
    assert share["320481"] < share["320412"]
    assert p["dlbm"].isin(["0101", "0102", "0103"]).mean() > 0.1
    assert (p["dlbm"] == "0702").mean() > 0.05


def test_industrial_plot_ratios_are_mostly_low(city):
    p = city.parcels
    ind = (p["dlbm"] == "0601") & (p["floor_area_m2"] > 0)
    ratio = p.loc[ind, "floor_area_m2"] / city.parcel_area_m2[ind.to_numpy()]
    assert 0.9 <= ratio.median() <= 1.5
    assert 0.5 <= (ratio < 1.5).mean() <= 0.85


def test_declared_areas_mostly_match_the_geometry(city):
    diff = (city.parcels["declared_area_m2"] / city.parcel_area_m2 - 1).abs()
    assert (diff < 0.05).mean() > 0.97
    assert (diff > 0.05).sum() > 0


def test_usccs_are_valid_unique_and_embed_a_valid_organisation_code(city):
    usccs = city.firms["uscc"].drop_duplicates()
    assert validate_uscc(usccs)["reason"].eq("").all()
    assert usccs.str.slice(0, 2).eq("91").all()
    assert usccs.str.slice(2, 8).isin(DISTRICTS).all()
    org = usccs.str.slice(8, 17)
    assert (org_check_characters(org.str.slice(0, 8)) == org.str.slice(8).to_numpy()).all()
    assert city.firms.groupby("uscc")["name"].nunique().eq(1).all()


def test_firms_have_two_years_and_realistic_productivity(city):
    f = city.firms
    assert sorted(f["year"].unique()) == [2023, 2024]
    assert not f.duplicated(["uscc", "year"]).any()
    latest = f[f["year"] == 2024]
    above = latest["group"] == "规上"
    assert 0.28 <= above.mean() <= 0.42
    tax_per_mu = latest["tax_wan"] / latest["land_area_mu"]
    assert 5 <= tax_per_mu[above].median() <= 15
    assert tax_per_mu[~above].median() < tax_per_mu[above].median() / 2
    sales_per_mu = latest["sales_wan"] / latest["land_area_mu"]
    assert 150 <= sales_per_mu[above].median() <= 500
    linked = f["parcel_codes"].str.split(";").explode()
    assert linked.isin(set(city.parcels["parcel_code"].dropna())).all()
    assert (f["parcel_codes"].str.contains(";")).any()
    assert f["parcel_codes"].duplicated().any()  # some parcels host several firms
    assert f["energy_tce"].isna().mean() < 0.1


def test_evidence_lists_have_realistic_rates(city):
    firms = city.firms[city.firms["year"] == 2024]["uscc"].nunique()
    assert 0.015 <= city.hazards["uscc"].nunique() / firms <= 0.045
    assert 0.025 <= city.pollution["uscc"].nunique() / firms <= 0.055
    assert 0.01 <= len(city.enforcement) / len(city.parcels) <= 0.02
    p = city.parcels
    supplied_industrial = ((p["dlbm"] == "0601") & p["supply_date"].notna()).sum()
    assert 0.002 <= len(city.idle) / supplied_industrial <= 0.025
    assert len(city.unsupplied) > 0
    u = city.unsupplied
    assert (u["approved_area_mu"] >= u["supplied_area_mu"]).all() and u["batch_id"].is_unique
    assert city.hazards["record_id"].is_unique and city.pollution["case_id"].is_unique
    assert city.enforcement["case_id"].is_unique
    assert (city.enforcement["farmland_mu"] <= city.enforcement["area_mu"] + 1e-9).all()
    assert (city.enforcement["farmland_mu"] > 0).any()
    for frame in (city.hazards, city.pollution):
        assert (frame["uscc"].notna() | frame["parcel_code"].notna()).all()


def test_control_layers_are_consistent(city):
    layers = {k: v.to_crs(WORK_CRS) for k, v in city.layers.items()}
    assert set(layers) == {"eco_redline", "basic_farmland", "urban_boundary", "industrial_line", "industrial_park",
                           "planned_use"}
    for v in layers.values():
        assert len(v) > 0 and v["feature_id"].is_unique and v["district_code"].isin(DISTRICTS).all()
    bf = shapely.union_all(layers["basic_farmland"].geometry.values)
    for other in ("eco_redline", "urban_boundary"):
        overlap = shapely.intersection(bf, shapely.union_all(layers[other].geometry.values)).area
        assert overlap < 1e-4 * bf.area
    urban = shapely.union_all(layers["urban_boundary"].geometry.values)
    line = shapely.union_all(layers["industrial_line"].geometry.values)
    assert shapely.difference(line, urban).area < 1e-3 * line.area
    assert "武进国家高新区" in set(layers["industrial_park"]["name"])


def _zone_facts(city):
    """Planned-use zones (work CRS), whether each lies in the industrial line, and whether it holds industry."""
    zones = city.layers["planned_use"].to_crs(WORK_CRS)
    g = zones.geometry.values
    line = shapely.union_all(city.layers["industrial_line"].to_crs(WORK_CRS).geometry.values)
    in_line = shapely.contains(line, shapely.point_on_surface(g))
    p = city.parcels.to_crs(WORK_CRS)
    ind = shapely.point_on_surface(p.geometry.values[(p["dlbm"] == "0601").to_numpy()])
    i, _ = shapely.STRtree(ind).query(g, predicate="contains")
    has_industry = np.bincount(i, minlength=len(g)) > 0
    return zones, in_line, has_industry


def test_plan_zones_tessellate_the_urban_boundary_in_block_sized_polygons(city):
    zones, _, _ = _zone_facts(city)
    g = zones.geometry.values
    assert list(zones.columns) == ["feature_id", "name", "district_code", "ydyh_code", "geometry"]
    assert zones["feature_id"].is_unique and zones["feature_id"].str.match(r"^XXGH\d{6}\d{4}$").all()
    assert zones["name"].str.contains("规划单元").all() and zones["district_code"].isin(DISTRICTS).all()
    assert shapely.is_valid(g).all() and set(shapely.get_type_id(g)) == {3}
    urban = shapely.union_all(city.layers["urban_boundary"].to_crs(WORK_CRS).geometry.values)
    union = shapely.union_all(g)
    assert shapely.difference(union, urban).area < 1e-4 * union.area  # inside the boundary …
    assert union.area > 0.98 * urban.area  # … and covering it
    assert shapely.area(g).sum() / union.area - 1 < 1e-4  # without overlaps
    ha = shapely.area(g) / 1e4
    assert ((ha >= 8) & (ha <= 40)).mean() > 0.85 and ha.min() >= 1.5 and ha.max() < 80
    assert 12 <= np.median(ha) <= 30
    for code, district in zip(city.districts["district_code"], city.districts.to_crs(WORK_CRS).geometry, strict=True):
        inside = shapely.contains_xy(district, *shapely.get_coordinates(
            shapely.point_on_surface(g[(zones["district_code"] == code).to_numpy()])).T)
        assert inside.all(), code


def test_plan_zones_have_valid_planned_uses_by_where_they_lie(city):
    zones, in_line, has_industry = _zone_facts(city)
    code = zones["ydyh_code"]
    assert validate_ydyh(code).all() and code.str.len().eq(4).all()
    assert 0.6 <= (code[in_line] == "1001").mean() <= 0.9  # industrial protection line: mostly industry
    assert code[in_line].isin(["1101"]).any()
    outside = ~in_line
    assert (code[outside] == "0701").mean() > 0.3 and (code[outside] == "1001").mean() < 0.2
    assert code[outside].str.startswith("08").any() and code[outside].eq("1401").any()
    # 工改服 candidates: industrial land today outside the line, planned for commerce / business / housing
    converted = code[outside & has_industry]
    assert converted.str.startswith("09").sum() >= 5
    assert converted.isin(["0901", "0902", "0701"]).mean() > 0.3


def test_hazards_and_pollution_say_whether_they_can_be_fixed_in_place(city):
    for frame in (city.hazards, city.pollution):
        r = frame["rectifiable"]
        assert str(r.dtype) == "boolean"
        assert 0.05 <= r.isna().mean() <= 0.5  # ~20 % not judged (small lists at this size)
        assert r.eq(True).sum() > 0 and r.eq(False).sum() > 0
    h = city.hazards
    judged = h[h["rectifiable"].notna()]
    no = (~judged["rectifiable"].astype(bool)).groupby(judged["level"]).mean()
    assert no["重大"] > no["一般"]
    assert judged.loc[judged["status"] == "已整改", "rectifiable"].all()
    p = city.pollution
    judged = p[p["rectifiable"].notna()]
    no = (~judged["rectifiable"].astype(bool)).groupby(judged["violation_type"]).mean()
    assert no["污染地块"] > no["超标排放"]


def test_supply_and_statistics_leave_the_rest_of_the_city_unchanged(city, monkeypatch):
    """They draw from their own random streams: a city built without them is the same city."""
    from landrenew.demo import targets_data

    monkeypatch.setattr(targets_data, "land_supply", lambda *_: pd.DataFrame())
    monkeypatch.setattr(targets_data, "district_statistics", lambda *_: pd.DataFrame())
    bare = build_city(N, seed=SEED)
    pd.testing.assert_frame_equal(city.parcels.drop(columns="geometry"), bare.parcels.drop(columns="geometry"))
    for name in ("firms", "hazards", "pollution", "idle"):
        pd.testing.assert_frame_equal(getattr(city, name), getattr(bare, name))
    for kind, layer in city.layers.items():
        pd.testing.assert_frame_equal(layer.drop(columns="geometry"), bare.layers[kind].drop(columns="geometry"))


def test_supply_records_have_realistic_volumes_stock_shares_and_modes(city):
    s, p = city.supply, city.parcels
    year = s["supply_date"].dt.year
    assert sorted(year.unique()) == list(range(2020, 2026))
    assert s["record_id"].is_unique and s["record_id"].str.fullmatch(r"\d{10}[ABC]\d{5}").all()
    assert s["district_code"].isin(DISTRICTS).all() and (s["area_mu"] > 0).all()
    assert set(s["land_source"]) == {"new", "stock"} and set(s["mode"]) == {"出让", "划拨", "租赁", "先租后让"}
    assert validate_ydyh(s["ydyh_code"]).all()
    total = s.groupby(year)["area_mu"].sum()
    assert total.between(15_000, 26_000).all(), total
    share = s[s["land_source"] == "stock"].groupby(year)["area_mu"].sum() / total
    assert 0.50 <= share[2020] <= 0.60 and 0.66 <= share[2025] <= 0.76 and share[2025] - share[2020] > 0.1, share
    by_district = s[year == 2025].groupby("district_code").apply(
        lambda g: g.loc[g["land_source"] == "stock", "area_mu"].sum() / g["area_mu"].sum(), include_groups=False)
    assert by_district["320402"] > by_district["320481"] + 0.1  # old urban districts supply more stock land
    mode = s["mode"].value_counts(normalize=True)
    assert mode["出让"] > 0.6 and 0.1 <= mode["划拨"] <= 0.35 and 0 < mode["租赁"] + mode["先租后让"] < 0.08
    # parcel codes name demo parcels: supplied on that day (2020–2024) or still unsupplied (2025)
    linked = s[s["parcel_code"].notna()]
    assert len(linked) > 0 and linked["parcel_code"].is_unique
    parcels = p.set_index("parcel_code").loc[linked["parcel_code"]]
    assert (parcels["district_code"].to_numpy() == linked["district_code"].to_numpy()).all()
    before = (linked["supply_date"].dt.year <= 2024).to_numpy()
    assert (parcels["supply_date"].to_numpy()[before] == linked["supply_date"].to_numpy()[before]).all()
    assert parcels["supply_date"].isna().to_numpy()[~before].all()
    assert ((linked["land_source"] == "new").to_numpy() == parcels["approval_date"].notna().to_numpy()).all()


def test_district_statistics_give_realistic_gdp_land_and_a_falling_land_per_gdp(city):
    st = city.statistics
    assert len(st) == 36 and not st.duplicated(["district_code", "year"]).any()
    assert set(st["district_code"]) == set(DISTRICTS) and sorted(st["year"].unique()) == list(range(2020, 2026))
    assert st.groupby("district_code")["total_area_mu"].nunique().eq(1).all()
    city_total = st.groupby("year").sum(numeric_only=True)
    assert city_total["total_area_mu"].iloc[0] == pytest.approx(6.56e6, rel=0.03)  # ~4,372 km²
    assert 7_500 <= city_total.loc[2020, "gdp_yi"] <= 8_100
    growth = city_total["gdp_yi"].pct_change().dropna()
    assert growth.between(0.06, 0.09).all(), growth
    built = city_total["construction_land_mu"].pct_change().dropna()
    assert built.between(0.003, 0.012).all(), built
    per_gdp = city_total["construction_land_mu"] / city_total["gdp_yi"]
    assert 0.25 <= 1 - per_gdp[2025] / per_gdp[2020] <= 0.35
    intensity = city_total["construction_land_mu"] / city_total["total_area_mu"]
    assert intensity.between(0.24, 0.30).all()
    assert (st["construction_land_mu"] + st["cultivated_land_mu"] < st["total_area_mu"]).all()
    farm = city_total["cultivated_land_mu"]
    assert farm.pct_change().dropna().abs().max() < 0.01 and farm[2025] >= farm[2021]
    assert city.summary()["targets"]["land_per_gdp_decline"] == pytest.approx(1 - per_gdp[2025] / per_gdp[2020],
                                                                               abs=1e-4)


def test_summary_adds_up(city):
    s = city.summary()
    assert s["parcels"] == len(city.parcels)
    total = sum(sum(row.values()) for row in s["area_mu_by_class_and_district"].values())
    assert total == pytest.approx(s["parcel_area_mu"], rel=1e-3)
    assert set(s["lists"]) >= {"hazards", "pollution", "enforcement", "unsupplied", "idle"}


# --- the deliveries ----------------------------------------------------------------------------

def test_every_kind_is_delivered_and_parcels_come_one_file_per_district(deliveries):
    assert {d.kind for d in deliveries} == {"parcels", "layer", "firms", "hazards", "pollution", "enforcement",
                                            "unsupplied", "idle", "supply", "statistics"}
    assert all(d.path.exists() for d in deliveries)
    assert len(_by(deliveries, "parcels")) == len(DISTRICTS)
    assert {d.layer_kind for d in _by(deliveries, "layer")} == {
        "eco_redline", "basic_farmland", "urban_boundary", "industrial_line", "industrial_park", "planned_use",
        "district_boundary"}
    assert all(d.agency_zh and d.description_zh for d in deliveries)


def test_parcel_files_together_hold_every_parcel(city, deliveries):
    total = sum(pyogrio.read_info(d.path)["features"] for d in _by(deliveries, "parcels"))
    assert total == len(city.parcels)


def test_liyang_parcels_are_a_gbk_shapefile_in_zone_prefixed_gauss_kruger(deliveries):
    (shp,) = [d.path for d in _by(deliveries, "parcels") if d.path.suffix == ".shp"]
    assert not shp.with_suffix(".cpg").exists()
    dbf = shp.with_suffix(".dbf").read_bytes()
    records = dbf[int.from_bytes(dbf[8:10], "little"):].rstrip(b"\x1a")  # after the binary header
    with pytest.raises(UnicodeDecodeError):
        records.decode("utf-8")
    assert CJK.search(records.decode("gbk", errors="strict"))
    assert pyproj.CRS(shp.with_suffix(".prj").read_text()).to_epsg() == 4528
    info = pyogrio.read_info(shp)
    assert info["total_bounds"][0] > 40e6
    assert {"ZDDM", "BSM", "DLBM", "XZQDM", "QLR", "JZMJ", "ZDMJ"} <= set(info["fields"])
    gdf = pyogrio.read_dataframe(shp, encoding="GBK")
    assert gdf["QLR"].str.contains(CJK).any()
    assert gdf["XZQDM"].eq("320481").all()


def test_jintan_parcels_are_projected_and_others_geographic(deliveries):
    for d in _by(deliveries, "parcels"):
        if d.path.suffix != ".gpkg":
            continue
        info = pyogrio.read_info(d.path)
        expected = "EPSG:4549" if "320413" in d.path.name else "EPSG:4490"
        assert info["crs"] == expected, d.path.name
        assert {"宗地代码", "地类编码", "行政区代码", "权利人", "供地日期"} <= set(info["fields"])
    d = next(d for d in _by(deliveries, "parcels") if "320411" in d.path.name)
    df = pyogrio.read_dataframe(d.path, read_geometry=False)
    dates = df["供地日期"].dropna()
    assert len(dates) and dates.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()


def test_firm_workbook_has_one_sheet_per_year_and_a_two_row_merged_header(deliveries):
    firms = _by(deliveries, "firms")
    assert [d.sheet for d in firms] == ["2023年", "2024年"]
    assert len({d.path for d in firms}) == 1
    wb = openpyxl.load_workbook(firms[0].path)
    assert wb.sheetnames == ["2023年", "2024年"]
    ws = wb["2024年"]
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A1:A2", "B1:B2", "C1:C2"} <= merged
    top = [c.value for c in ws[1]]
    assert {"基本信息", "经济指标", "资源消耗", "否决事项"} <= set(top)
    second = [c.value for c in ws[2]]
    assert "实缴税金（万元）" in second and "用地面积（亩）" in second
    group_ranges = [r for r in ws.merged_cells.ranges if r.min_row == 1 and r.max_row == 1]
    assert len(group_ranges) == 4 and all(r.max_col > r.min_col for r in group_ranges)
    assert ws.cell(3, 2).value and validate_uscc(pd.Series([ws.cell(3, 2).value]))["reason"].iloc[0] == ""
    veto = second.index("重大安全事故") + 1
    assert {ws.cell(r, veto).value for r in range(3, 50)} <= {"是", "否"}


def test_list_workbooks_have_one_header_row_and_real_dates(deliveries):
    (haz,) = _by(deliveries, "hazards")
    ws = openpyxl.load_workbook(haz.path).active
    header = [c.value for c in ws[1]]
    assert "隐患类型" in header and "发现日期" in header
    col = header.index("发现日期") + 1
    assert ws.cell(2, col).is_date
    (idle,) = _by(deliveries, "idle")
    header = [c.value for c in openpyxl.load_workbook(idle.path).active[1]]
    assert "宗地代码" in header and "约定开工日期" in header


def test_supply_and_statistics_workbooks_look_like_the_bureaus(city, deliveries):
    (supply,) = _by(deliveries, "supply")
    (stats,) = _by(deliveries, "statistics")
    assert supply.agency_zh == "自然资源和规划局" and stats.agency_zh == "统计局"
    ws = openpyxl.load_workbook(supply.path).active
    header = [c.value for c in ws[1]]
    assert header[:3] == ["序号", "电子监管号", "宗地代码"] and "供地面积（亩）" in header
    assert ws.max_row == len(city.supply) + 1 and ws.cell(2, header.index("供地日期") + 1).is_date
    values = {h: {ws.cell(r, header.index(h) + 1).value for r in range(2, ws.max_row + 1)} for h in ("土地来源", "供地方式")}
    assert values["土地来源"] == {"新增建设用地", "存量建设用地"}
    assert {"挂牌出让", "协议出让", "划拨"} <= values["供地方式"] and "出让" not in values["供地方式"]
    ws = openpyxl.load_workbook(stats.path).active
    header = [c.value for c in ws[1]]
    assert header[:3] == ["序号", "地区", "年份"] and "地区生产总值（亿元）" in header
    districts = [ws.cell(r, 2).value for r in range(2, ws.max_row + 1)]
    assert districts.count("全市") == 6 and set(districts) == {"全市", *DISTRICTS.values()}


def test_plan_zones_are_delivered_with_their_planned_use_under_its_chinese_header(city, deliveries):
    (d,) = _by(deliveries, "layer", layer_kind="planned_use")
    assert d.path.suffix == ".gpkg" and d.agency_zh == "自然资源和规划局"
    info = pyogrio.read_info(d.path)
    assert info["crs"] == "EPSG:4490" and info["features"] == len(city.layers["planned_use"])
    assert {"编号", "名称", "行政区代码", "规划用途代码"} <= set(info["fields"])
    df = pyogrio.read_dataframe(d.path, read_geometry=False)
    assert df["规划用途代码"].tolist() == city.layers["planned_use"]["ydyh_code"].tolist()


def test_rectifiable_is_written_as_yes_no_or_blank(deliveries):
    for kind in ("hazards", "pollution"):
        (d,) = _by(deliveries, kind)
        ws = openpyxl.load_workbook(d.path).active
        header = [c.value for c in ws[1]]
        col = header.index("可整改") + 1
        assert {ws.cell(r, col).value for r in range(2, ws.max_row + 1)} == {"是", "否", None}


def test_deliveries_load_cleanly_through_the_intake(deliveries):
    read = pytest.importorskip("landrenew.intake.read")
    validate_mod = pytest.importorskip("landrenew.intake.validate")
    from landrenew.intake.report import IntakeReport
    from landrenew.intake.schema import source_kind

    ctx = validate_mod.IntakeContext("常州市", dict(DISTRICTS), (119.0, 31.0, 120.4, 32.2))
    for d in deliveries:
        spec = source_kind(d.kind, d.layer_kind)
        report = IntakeReport(str(d.path), d.kind)
        raw = read.read_raw(Path(d.path), spec, report, sheet=d.sheet)
        assert raw is not None, report.frame().to_string()
        out = validate_mod.validate(raw, spec, ctx, report, d.crs)
        assert out is not None and report.ok, (d.path.name, report.frame().head(10).to_string())
        assert len(out.frame) > 0
        if d.kind == "parcels":
            assert np.isfinite(out.frame["area_m2"]).all()


def test_the_demo_job_loads_the_plan_zones_and_the_judgements(tmp_path, profile):
    from sqlalchemy import text

    from landrenew.demo.job import run_demo
    from landrenew.store import Workspace

    ws = Workspace.open(tmp_path / "ws")
    run = run_demo(ws, profile, 1000, SEED)
    assert not run.failed, [(d.path.name, r.report.frame().head(5).to_string()) for d, r in run.failed]
    with ws.engine.connect() as conn:
        zones = pd.read_sql(text("SELECT feature_id, ydyh_code FROM control_feature "
                                 "WHERE layer_kind = 'planned_use'"), conn)
        attrs = pd.read_sql(text("SELECT kind, attrs FROM evidence WHERE kind IN ('hazards', 'pollution')"), conn)
    assert len(zones) > 1000 and zones["ydyh_code"].notna().all() and validate_ydyh(zones["ydyh_code"]).all()
    supplied = {d.kind: r for d, r in run.loads if d.kind in ("supply", "statistics")}
    assert supplied["supply"].report.count("warning") == 0  # every parcel code names a loaded parcel
    with ws.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM land_supply")).scalar_one() == supplied["supply"].rows_loaded
        assert conn.execute(text("SELECT COUNT(*) FROM district_year")).scalar_one() == 36
    attrs["attrs"] = attrs["attrs"].map(lambda a: json.loads(a) if isinstance(a, str) else a)
    for kind in ("hazards", "pollution"):
        values = [a.get("rectifiable", "missing") for a in attrs.loc[attrs["kind"] == kind, "attrs"]]
        assert {True, False, None} == set(values), kind
