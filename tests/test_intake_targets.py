"""Intake of what the targets are measured from: land-supply records and yearly district statistics."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from conftest import store_fingerprint
from landrenew.cli import app
from landrenew.codes.parcel_code import make_parcel_code
from landrenew.loading import load_file
from landrenew.store.summary import counts

DISTRICTS = ["320402", "320404", "320411", "320412", "320413", "320481"]


def supply_frame(n: int = 4) -> pd.DataFrame:
    """``n`` valid supply records with the ledger's Chinese headers."""
    return pd.DataFrame({
        "电子监管号": [f"3204122021B{i:05d}" for i in range(n)],
        "宗地代码": [make_parcel_code("320412", 1, 2, "G", "B", i + 1) if i % 2 == 0 else None for i in range(n)],
        "行政区代码": ["320412"] * n,
        "供地日期": ["2021-03-05"] * n,
        "供地面积（亩）": [30.5 + i for i in range(n)],
        "土地来源": ["新增", "存量"] * (n // 2) + ["新增"] * (n % 2),
        "供地方式": ["出让"] * n,
        "土地用途代码": ["100101"] * n,
    })


def stats_frame(years: tuple[int, ...] = (2020, 2021)) -> pd.DataFrame:
    """One valid row per district and year."""
    rows = [{"行政区代码": d, "统计年度": y, "地区生产总值（亿元）": 1000.0 + i + (y - 2020) * 70,
             "建设用地面积（亩）": 300_000.0 + i, "国土总面积（亩）": 1_000_000.0, "耕地面积（亩）": 250_000.0}
            for y in years for i, d in enumerate(DISTRICTS)]
    return pd.DataFrame(rows)


def _xlsx(df: pd.DataFrame, path: Path) -> Path:
    df.to_excel(path, index=False)
    return path


def _refused(ws, profile, kind, path, **kw):
    before = store_fingerprint(ws)
    result = load_file(ws, profile, kind, path, **kw)
    assert not result.loaded and not result.report.ok
    assert store_fingerprint(ws) == before
    return result.report.frame().query("severity == 'error'")


def _supply(ws) -> pd.DataFrame:
    with ws.engine.connect() as conn:
        return pd.read_sql(text("SELECT * FROM land_supply ORDER BY record_id"), conn)


def _stats(ws) -> pd.DataFrame:
    with ws.engine.connect() as conn:
        return pd.read_sql(text("SELECT * FROM district_year ORDER BY year, district_code"), conn)


# --- land supply -----------------------------------------------------------------------------

def test_valid_supply_sheet_loads_typed_records(ws, profile, tmp_path):
    result = load_file(ws, profile, "supply", _xlsx(supply_frame(4), tmp_path / "supply.xlsx"))
    assert result.loaded and result.rows_loaded == 4 and result.report.ok, result.report.frame()
    assert store_fingerprint(ws)["land_supply"] == 4
    s = _supply(ws)
    assert s["land_source"].tolist() == ["new", "stock", "new", "stock"]
    assert set(s["mode"]) == {"出让"} and set(s["district_code"]) == {"320412"}
    assert s["area_mu"].tolist() == pytest.approx([30.5, 31.5, 32.5, 33.5])
    assert [str(d) for d in s["supply_date"]] == ["2021-03-05"] * 4
    assert s["parcel_code"].notna().tolist() == [True, False, True, False]
    assert s["batch_id"].nunique() == 1


@pytest.mark.parametrize("written,stored", [
    ("招拍挂出让", "出让"), ("协议出让", "出让"), ("挂牌出让", "出让"), ("出让（挂牌）", "出让"),
    ("国有建设用地使用权出让", "出让"), ("行政划拨", "划拨"), ("划拨", "划拨"), ("国有土地租赁", "租赁"),
    ("先租后出让", "先租后让"), ("先租后让", "先租后让"),
])
def test_supply_mode_synonyms_map_to_the_four_modes(ws, profile, tmp_path, written, stored):
    df = supply_frame(2).assign(供地方式=written)
    assert load_file(ws, profile, "supply", _xlsx(df, tmp_path / "supply.xlsx")).loaded
    assert set(_supply(ws)["mode"]) == {stored}


def test_land_source_spellings_of_the_monitoring_system_map_to_new_or_stock(ws, profile, tmp_path):
    df = supply_frame(4).assign(土地来源=["新增建设用地", "现有建设用地", "新增建设用地（来自存量库）", "存量建设用地"])
    assert load_file(ws, profile, "supply", _xlsx(df, tmp_path / "supply.xlsx")).loaded
    assert _supply(ws)["land_source"].tolist() == ["new", "stock", "stock", "stock"]


def test_supply_headers_people_use_and_hectares_are_converted(ws, profile, tmp_path):
    df = supply_frame(2).rename(columns={"电子监管号": "合同编号", "供地日期": "合同签订日期", "供地面积（亩）": "出让面积（公顷）",
                                         "供地方式": "供应方式", "土地来源": "新增/存量", "土地用途代码": "土地用途"})
    df["出让面积（公顷）"] = [2.0, 1.5]
    df["土地用途"] = ["工业用地", "80401"]  # a 用地用海 name, and a code that lost its leading zero in Excel
    result = load_file(ws, profile, "supply", _xlsx(df, tmp_path / "supply.xlsx"))
    assert result.loaded and result.report.ok, result.report.frame()
    assert "unit_converted" in set(result.report.frame()["code"])
    s = _supply(ws)
    assert s["area_mu"].tolist() == pytest.approx([30.0, 22.5])
    assert s["ydyh_code"].tolist() == ["1001", "080401"]


def _break(df: pd.DataFrame, mutate) -> pd.DataFrame:
    """``df`` changed by ``mutate`` (which edits it in place, or returns the changed frame)."""
    df = df.astype(object)
    out = mutate(df)
    return df if out is None else out


@pytest.mark.parametrize("mutate,code,row,column", [
    (lambda df: df.drop(columns=["供地方式"]), "missing_column", None, "供地方式"),
    (lambda df: df.drop(columns=["电子监管号"]), "missing_column", None, "电子监管号"),
    (lambda df: df.__setitem__("土地来源", ["新增", "其他", "存量", "新增"]), "bad_choice", 3, "土地来源"),
    (lambda df: df.loc.__setitem__((1, "供地方式"), "作价出资"), "bad_choice", 3, "供地方式"),
    (lambda df: df.loc.__setitem__((2, "供地日期"), "2021-13-45"), "bad_date", 4, "供地日期"),
    (lambda df: df.loc.__setitem__((0, "供地面积（亩）"), -12.5), "not_positive", 2, "供地面积（亩）"),
    (lambda df: df.loc.__setitem__((3, "供地面积（亩）"), 0), "not_positive", 5, "供地面积（亩）"),
    (lambda df: df.loc.__setitem__((1, "供地面积（亩）"), None), "required_empty", 3, "供地面积（亩）"),
    (lambda df: df.loc.__setitem__((1, "行政区代码"), "320499"), "unknown_district", 3, "行政区代码"),
    (lambda df: df.loc.__setitem__((3, "电子监管号"), df.loc[0, "电子监管号"]), "duplicate_key", 5, "电子监管号"),
    (lambda df: df.loc.__setitem__((1, "供地日期"), (date.today() + timedelta(days=30)).isoformat()),
     "future_date", 3, "供地日期"),
    (lambda df: df.loc.__setitem__((2, "宗地代码"), make_parcel_code("320411", 1, 2, "G", "B", 7)),
     "parcel_county_mismatch", 4, "宗地代码"),
    (lambda df: df.loc.__setitem__((0, "宗地代码"), "32041200100"), "bad_parcel_code", 2, "宗地代码"),
    (lambda df: df.loc.__setitem__((0, "土地用途代码"), "9999"), "bad_ydyh", 2, "土地用途代码"),
])
def test_bad_supply_files_are_refused_by_row_and_column_and_change_nothing(ws, profile, tmp_path, mutate, code,
                                                                           row, column):
    load_file(ws, profile, "statistics", _xlsx(stats_frame(), tmp_path / "stats.xlsx"))  # a store that is not empty
    errors = _refused(ws, profile, "supply", _xlsx(_break(supply_frame(4), mutate), tmp_path / "supply.xlsx"))
    hit = errors[errors["code"] == code]
    assert len(hit) == 1, errors
    assert (None if pd.isna(hit["row"].iloc[0]) else int(hit["row"].iloc[0])) == row
    assert hit["column"].iloc[0] == column
    assert hit["fix_zh"].iloc[0] and hit["problem_en"].iloc[0]


def test_reloading_supply_replaces_records_by_their_number(ws, profile, tmp_path):
    path = _xlsx(supply_frame(4), tmp_path / "supply.xlsx")
    load_file(ws, profile, "supply", path)
    df = supply_frame(4)
    df["供地面积（亩）"] = [100.0, 101.0, 102.0, 103.0]
    df.loc[3, "电子监管号"] = "3204122021B99999"  # one new record
    assert load_file(ws, profile, "supply", _xlsx(df, path)).loaded
    s = _supply(ws)
    assert len(s) == 5 and store_fingerprint(ws)["ingest_batch"] == 2
    assert s.set_index("record_id").loc[df.loc[0, "电子监管号"], "area_mu"] == pytest.approx(100.0)


def test_supply_as_gbk_csv_loads(ws, profile, tmp_path):
    path = tmp_path / "supply.csv"
    supply_frame(4).to_csv(path, index=False, encoding="gbk")
    result = load_file(ws, profile, "supply", path)
    assert result.loaded and result.rows_loaded == 4, result.report.frame()


def test_supply_naming_parcels_not_in_the_store_loads_with_a_warning(ws, profile, tmp_path):
    result = load_file(ws, profile, "supply", _xlsx(supply_frame(4), tmp_path / "supply.xlsx"))
    assert result.loaded and result.report.ok
    assert result.report.frame().query("code == 'unknown_reference'")["row"].tolist() == [2, 4]


# --- statistics ------------------------------------------------------------------------------

def test_valid_statistics_load_one_row_per_district_and_year(ws, profile, tmp_path):
    result = load_file(ws, profile, "statistics", _xlsx(stats_frame(), tmp_path / "stats.xlsx"))
    assert result.loaded and result.rows_loaded == 12 and result.report.ok, result.report.frame()
    s = _stats(ws)
    assert len(s) == 12 and store_fingerprint(ws)["district_year"] == 12
    assert s["year"].tolist() == [2020] * 6 + [2021] * 6 and s["district_code"].tolist()[:6] == DISTRICTS
    assert s.loc[6, "gdp_yi"] == pytest.approx(1070.0) and s.loc[0, "construction_land_mu"] == pytest.approx(300_000)
    assert s["total_area_mu"].eq(1_000_000).all() and s["cultivated_land_mu"].eq(250_000).all()


def test_bureau_statistics_table_with_names_city_rows_units_and_year_suffix_loads(ws, profile, tmp_path):
    """统计局 style: 地区 by name, a 全市 row per year, 年份 as 2021年, areas in km² and hectares."""
    rows = [{"地区": "全市", "年份": "2021年", "地区生产总值（亿元）": 8800.0, "行政区域面积（平方公里）": 4372.0,
             "建设用地面积（公顷）": 120_000.0}]
    rows += [{"地区": n, "年份": "2021年", "地区生产总值（亿元）": 1400.0 + i, "行政区域面积（平方公里）": 700.0,
              "建设用地面积（公顷）": 20_000.0} for i, n in enumerate(["天宁区", "钟楼", "新北区", "武进区", "金坛区", "溧阳市"])]
    path = tmp_path / "stats.csv"
    pd.DataFrame(rows).to_csv(path, index=False, encoding="gbk")
    result = load_file(ws, profile, "statistics", path)
    assert result.loaded and result.rows_loaded == 6, result.report.frame()
    codes = result.report.frame()["code"].tolist()
    assert codes.count("summary_row") == 1 and codes.count("unit_converted") == 2
    s = _stats(ws)
    assert s["district_code"].tolist() == DISTRICTS and s["year"].eq(2021).all()
    assert s["total_area_mu"].tolist() == pytest.approx([700 * 1500.0] * 6)
    assert s["construction_land_mu"].tolist() == pytest.approx([20_000 * 15.0] * 6)
    assert s["cultivated_land_mu"].isna().all()


@pytest.mark.parametrize("mutate,code,row,column", [
    (lambda df: df.drop(columns=["统计年度"]), "missing_column", None, "统计年度"),
    (lambda df: df.loc.__setitem__((7, "行政区代码"), "320412"), "duplicate_key", 11, "行政区代码+统计年度"),
    (lambda df: df.loc.__setitem__((2, "建设用地面积（亩）"), 1_200_000.0), "part_above_whole", 4, "建设用地面积（亩）"),
    (lambda df: df.loc.__setitem__((3, "耕地面积（亩）"), 800_000.0), "part_above_whole", 5, "国土总面积（亩）"),
    (lambda df: df.loc.__setitem__((0, "统计年度"), 1999), "below_min", 2, "统计年度"),
    (lambda df: df.loc.__setitem__((0, "统计年度"), date.today().year + 1), "future_year", 2, "统计年度"),
    (lambda df: df.loc.__setitem__((4, "地区生产总值（亿元）"), -5.0), "not_positive", 6, "地区生产总值（亿元）"),
    (lambda df: df.loc.__setitem__((5, "行政区代码"), "昆山市"), "unknown_district", 7, "行政区代码"),
    (lambda df: df.loc.__setitem__((1, ["地区生产总值（亿元）", "建设用地面积（亩）", "国土总面积（亩）", "耕地面积（亩）"]), None),
     "one_of_empty", 3, None),
])
def test_bad_statistics_are_refused_by_row_and_column_and_change_nothing(ws, profile, tmp_path, mutate, code, row,
                                                                         column):
    load_file(ws, profile, "supply", _xlsx(supply_frame(2), tmp_path / "supply.xlsx"))  # a store that is not empty
    errors = _refused(ws, profile, "statistics", _xlsx(_break(stats_frame(), mutate), tmp_path / "stats.xlsx"))
    hit = errors[errors["code"] == code]
    assert len(hit) == 1, errors
    assert (None if pd.isna(hit["row"].iloc[0]) else int(hit["row"].iloc[0])) == row
    assert (None if pd.isna(hit["column"].iloc[0]) else hit["column"].iloc[0]) == column


def test_reloading_statistics_replaces_by_district_and_year(ws, profile, tmp_path):
    path = _xlsx(stats_frame(), tmp_path / "stats.xlsx")
    load_file(ws, profile, "statistics", path)
    df = stats_frame((2021, 2022))
    df["地区生产总值（亿元）"] = 2000.0
    assert load_file(ws, profile, "statistics", _xlsx(df, path)).loaded
    s = _stats(ws)
    assert len(s) == 18 and not s.duplicated(["district_code", "year"]).any()
    assert s.loc[s["year"] == 2020, "gdp_yi"].lt(2000).all() and s.loc[s["year"] >= 2021, "gdp_yi"].eq(2000).all()


def test_statistics_from_two_bureaus_merge_by_district_and_year(ws, profile, tmp_path):
    """GDP from 统计局 and land areas from 自然资源和规划局 in separate files fill the same district-years."""
    full = stats_frame((2021,))
    gdp = full[["行政区代码", "统计年度", "地区生产总值（亿元）"]]
    land = full.drop(columns=["地区生产总值（亿元）"])
    assert load_file(ws, profile, "statistics", _xlsx(gdp, tmp_path / "gdp.xlsx")).loaded
    assert load_file(ws, profile, "statistics", _xlsx(land, tmp_path / "land.xlsx")).loaded
    s = _stats(ws)
    assert len(s) == 6 and s[["gdp_yi", "construction_land_mu", "total_area_mu"]].notna().all().all()
    gdp2 = gdp.assign(**{"地区生产总值（亿元）": 5000.0})
    assert load_file(ws, profile, "statistics", _xlsx(gdp2, tmp_path / "gdp.xlsx")).loaded
    s = _stats(ws)
    assert s["gdp_yi"].eq(5000).all() and s["construction_land_mu"].notna().all()


def test_statistics_disagreeing_with_stored_figures_are_refused(ws, profile, tmp_path):
    full = stats_frame((2021,))
    assert load_file(ws, profile, "statistics", _xlsx(full, tmp_path / "land.xlsx")).loaded
    over = full[["行政区代码", "统计年度", "建设用地面积（亩）"]].copy()
    over.loc[2, "建设用地面积（亩）"] = 1_500_000.0  # above the total area stored from the other file
    errors = _refused(ws, profile, "statistics", _xlsx(over, tmp_path / "more.xlsx"))
    assert errors["code"].tolist() == ["part_above_whole_stored"] and errors["row"].tolist() == [4]
    assert _stats(ws)["construction_land_mu"].max() < 1_000_000


def test_status_lists_supply_records_and_district_years(ws, profile, tmp_path):
    load_file(ws, profile, "supply", _xlsx(supply_frame(3), tmp_path / "supply.xlsx"))
    load_file(ws, profile, "statistics", _xlsx(stats_frame(), tmp_path / "stats.xlsx"))
    c = counts(ws.engine)
    assert c["供地记录 land supply"] == 3 and c["分区年度统计 district-years"] == 12
    out = CliRunner().invoke(app, ["status", "-w", str(ws.path)]).output
    assert "land supply" in out and "district-years" in out
