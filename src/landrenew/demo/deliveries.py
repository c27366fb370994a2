"""Write the demo city as the files the bureaus would deliver.

What real deliveries look like, and what the intake must cope with:

* 宗地 (parcels), one file per district from 自然资源和规划局: GeoPackages in EPSG:4490
  with Chinese headers; 金坛区 in projected EPSG:4549; 溧阳市 as a Shapefile in the
  zone-prefixed EPSG:4528 (X ≈ 40 5xx xxx) with national abbreviation headers (ZDDM,
  BSM, DLBM, DLMC, YDYHDM, XZQDM, QLR, PZRQ, GDRQ, YDKGRQ, SJKGRQ, JZMJ, ZDMJ) and a
  GBK-encoded .dbf without its .cpg file.
* 行政区界线 (district boundaries, the map's base): one GeoPackage of the six real districts
  (EPSG:4490) with the abbreviations BSM / MC / XZQDM.
* control layers, one GeoPackage per layer kind (EPSG:4490); the 三区三线 layers use the
  planning-database abbreviations BSM / MC / XZQDM, the others Chinese headers (the
  详细规划 zones carry their planned use under 规划用途代码).
* firms (工业和信息化局): an Excel workbook, one sheet per evaluation year (``2023年``,
  ``2024年``), with a two-row header — row 1 merged group titles (基本信息 / 经济指标 /
  资源消耗 / 否决事项) and the single-column headers merged down both rows, row 2 the
  field names with units, e.g. ``实缴税金（万元）``; a leading 序号 column; booleans as 是/否.
* hazards (应急管理局), pollution (生态环境局), idle land (自然资源和规划局): Excel with one
  Chinese header row; dates are real Excel dates.
* 卫片执法 cases and 批而未供 batches: GeoPackages (EPSG:4490, Chinese headers).
* land supply 2020–2025 (自然资源和规划局, the 土地市场动态监测监管系统 ledger): Excel, one header row
  with units, 土地来源 as 新增建设用地/存量建设用地 and 供地方式 as written there (挂牌出让, 协议出让 …).
* district statistics 2020–2025 (统计局): Excel, districts by name under 地区, a 全市 total row
  first in each year (skipped on load).

Dates are ISO text (``YYYY-MM-DD``) in GeoPackages and Shapefiles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import xlsxwriter

from landrenew.demo.city import DemoCity
from landrenew.demo.common import EVAL_YEARS
from landrenew.demo.geography import DISTRICTS
from landrenew.demo.targets_data import YEARS
from landrenew.intake.schema import KINDS, LAYER_KINDS, SourceKind

NR = "自然资源和规划局"
MIIT = "工业和信息化局"
ENV = "生态环境局"
SAFETY = "应急管理局"
STATS = "统计局"

#: districts delivered in a projected CRS: code → (format, EPSG)
PROJECTED = {"320413": ("gpkg", "EPSG:4549"), "320481": ("shp", "EPSG:4528")}
#: layers whose headers use the planning-database abbreviations
ABBREVIATED_LAYERS = ("eco_redline", "basic_farmland", "urban_boundary")
#: firm workbook groups (canonical names, in column order); other columns stand alone
FIRM_GROUPS: tuple[tuple[str | None, tuple[str, ...]], ...] = (
    (None, ("uscc", "name")),
    ("基本信息", ("district_code", "year", "group", "industry_code", "land_area_mu", "parcel_codes",
                  "years_in_production", "is_utility")),
    ("经济指标", ("tax_wan", "sales_wan", "value_added_wan", "rd_wan", "employees")),
    ("资源消耗", ("energy_tce", "pollutant_eq", "electricity_kwh", "water_m3", "gas_m3", "sewage_m3")),
    ("否决事项", ("veto_safety_accident", "veto_env_penalty")),
)
_ABBR = re.compile(r"^[A-Z]{2,10}$")


@dataclass(frozen=True)
class Delivery:
    """One delivered file (or one sheet of a workbook) and how it should be loaded."""

    kind: str
    path: Path
    layer_kind: str | None = None
    crs: str | None = None
    agency_zh: str = ""
    description_zh: str = ""
    sheet: str | None = None


def header(kind: SourceKind, name: str, unit: bool = True) -> str:
    """Chinese header of a canonical column, with its unit in full-width brackets."""
    c = kind.column(name)
    return f"{c.zh}（{c.unit}）" if unit and c.unit else c.zh


def abbreviation(kind: SourceKind, name: str) -> str:
    """The national abbreviation (e.g. ZDDM, XZQDM) among a column's aliases."""
    c = kind.column(name)
    for a in c.aliases:
        if _ABBR.match(a):
            return a
    raise KeyError(f"{kind.name}.{name} has no abbreviation alias")


def _iso(frame: pd.DataFrame) -> pd.DataFrame:
    """Date columns as ISO text (None when missing)."""
    out = frame.copy()
    for col in out.columns:
        if col != "geometry" and pd.api.types.is_datetime64_any_dtype(out[col]):
            text = out[col].dt.strftime("%Y-%m-%d")
            out[col] = text.astype(object).where(out[col].notna(), None)
    return out


def _spatial(gdf: gpd.GeoDataFrame, kind: SourceKind, names: dict[str, str]) -> gpd.GeoDataFrame:
    cols = [c.name for c in kind.columns if c.name in gdf.columns]
    out = _iso(pd.DataFrame(gdf[cols]))
    out.columns = [names[c] for c in cols]
    return gpd.GeoDataFrame(out, geometry=gdf.geometry.values, crs=gdf.crs)


def _write_gpkg(gdf: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    path.unlink(missing_ok=True)
    pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG", promote_to_multi=True)


def _write_parcels(city: DemoCity, folder: Path) -> list[Delivery]:
    kind = KINDS["parcels"]
    out = []
    for code, dname in DISTRICTS.items():
        part = city.parcels[city.parcels["district_code"] == code]
        fmt, crs = PROJECTED.get(code, ("gpkg", None))
        if crs is not None:
            part = part.to_crs(crs)
        if fmt == "shp":
            names = {c.name: abbreviation(kind, c.name) for c in kind.columns}
            path = folder / f"{code}{dname}宗地.shp"
            gdf = _spatial(part, kind, names)
            for suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
                path.with_suffix(suffix).unlink(missing_ok=True)
            pyogrio.write_dataframe(gdf, path, driver="ESRI Shapefile", encoding="GBK",
                                    layer_options={"RESIZE": "YES"})
            path.with_suffix(".cpg").unlink(missing_ok=True)  # real deliveries often lack it
            desc = f"{dname}宗地（Shapefile，CGCS2000 3度带第40带 EPSG:4528，GBK 编码，无 .cpg，字段为国标缩写）"
        else:
            names = {c.name: header(kind, c.name, unit=False) for c in kind.columns}
            path = folder / f"{code}{dname}宗地.gpkg"
            _write_gpkg(_spatial(part, kind, names), path, "宗地")
            desc = f"{dname}宗地（GeoPackage，{'CGCS2000 3度带 EPSG:4549' if crs else 'CGCS2000 经纬度'}，中文字段）"
        out.append(Delivery("parcels", path, None, None, NR, desc))
    return out


def _write_layers(city: DemoCity, folders: dict[str, Path]) -> list[Delivery]:
    kind = KINDS["layer"]
    out = []
    for lk, gdf in city.layers.items():
        zh = LAYER_KINDS[lk][0]
        if lk in ABBREVIATED_LAYERS:
            names = {c.name: abbreviation(kind, c.name) for c in kind.columns}
        else:
            names = {c.name: header(kind, c.name) for c in kind.columns}
        agency = MIIT if lk == "industrial_park" else NR
        path = folders[agency] / f"{zh.replace('/', '')}.gpkg"
        _write_gpkg(_spatial(gdf, kind, names), path, zh.replace("/", ""))
        out.append(Delivery("layer", path, lk, None, agency, f"{zh}（GeoPackage，CGCS2000 经纬度，{len(gdf)} 个图斑）"))
    return out


def _write_districts(city: DemoCity, folder: Path) -> Delivery:
    """The district boundaries as the 国土调查 行政区 layer: one polygon per district."""
    kind, lk = KINDS["layer"], "district_boundary"
    zh = LAYER_KINDS[lk][0]
    d = city.districts
    gdf = gpd.GeoDataFrame({"feature_id": "XZQ" + d["district_code"], "name": d["name"],
                            "district_code": d["district_code"]}, geometry=d.geometry.values, crs=d.crs)
    path = folder / f"{zh}.gpkg"
    _write_gpkg(_spatial(gdf, kind, {c.name: abbreviation(kind, c.name) for c in kind.columns}), path, zh)
    return Delivery("layer", path, lk, None, NR, f"{zh}（GeoPackage，CGCS2000 经纬度，{len(gdf)} 个区）")


def _cell_values(s: pd.Series) -> list[Any]:
    """A column as Python values for xlsxwriter: None for missing, 是/否 for booleans, dates as datetimes."""
    if pd.api.types.is_bool_dtype(s):
        if s.dtype == bool:
            return np.where(s.to_numpy(dtype=bool), "是", "否").tolist()
        # nullable booleans: NA (not judged) → a blank cell
        return np.where(s.isna(), None, np.where(s.fillna(False).to_numpy(dtype=bool), "是", "否")).tolist()
    if pd.api.types.is_datetime64_any_dtype(s):
        return [None if pd.isna(v) else v.to_pydatetime() for v in s]
    values = s.astype(object).where(s.notna(), None).tolist()
    return [None if isinstance(v, float) and np.isnan(v) else v for v in values]


def _formats(wb: xlsxwriter.Workbook) -> dict[str, Any]:
    return {
        "head": wb.add_format({"bold": True, "align": "center", "valign": "vcenter", "border": 1,
                               "bg_color": "#DDEBF7", "text_wrap": True}),
        "text": wb.add_format({"num_format": "@"}),
        "num": wb.add_format({"num_format": "#,##0.00"}),
        "int": wb.add_format({"num_format": "0"}),
        "share": wb.add_format({"num_format": "0.0%"}),
    }


def _column_format(fmt: dict[str, Any], kind: SourceKind, name: str) -> Any:
    t = kind.column(name).type
    if kind.column(name).maximum == 1:
        return fmt["share"]
    return {"float": fmt["num"], "int": fmt["int"]}.get(t)


def _write_firms(city: DemoCity, folder: Path) -> list[Delivery]:
    kind = KINDS["firms"]
    path = folder / "工业企业资源集约利用综合评价数据.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "default_date_format": "yyyy-mm-dd"})
    fmt = _formats(wb)
    cols = [c for _, group in FIRM_GROUPS for c in group]
    out = []
    for year in EVAL_YEARS:
        sheet = f"{year}年"
        frame = city.firms[city.firms["year"] == year]
        ws = wb.add_worksheet(sheet)
        ws.set_column(0, 0, 6)
        for j, name in enumerate(cols, start=1):
            width = {"uscc": 21, "name": 30, "parcel_codes": 24}.get(name, 12)
            ws.set_column(j, j, width, _column_format(fmt, kind, name))
        ws.set_row(1, 30)
        # row 1: group titles merged across their columns; lone headers merged down both rows.
        # (constant_memory writes rows in order: row 1 first, then row 2.)
        ws.merge_range(0, 0, 1, 0, "序号", None)
        ws.write(0, 0, "序号", fmt["head"])
        j = 1
        for group, names in FIRM_GROUPS:
            if group is None:
                for name in names:
                    ws.merge_range(0, j, 1, j, header(kind, name), None)
                    ws.write(0, j, header(kind, name), fmt["head"])
                    j += 1
            else:
                ws.merge_range(0, j, 0, j + len(names) - 1, group, fmt["head"])
                j += len(names)
        ws.write_blank(1, 0, None, fmt["head"])
        j = 1
        for group, names in FIRM_GROUPS:
            for name in names:
                if group is None:
                    ws.write_blank(1, j, None, fmt["head"])
                else:
                    ws.write(1, j, header(kind, name), fmt["head"])
                j += 1
        data = [list(range(1, len(frame) + 1))] + [_cell_values(frame[c]) for c in cols]
        for i, row in enumerate(zip(*data, strict=True), start=2):
            ws.write_row(i, 0, row)
        ws.freeze_panes(2, 3)
        out.append(Delivery("firms", path, None, None, MIIT,
                            f"{year} 年度工业企业亩均效益评价基础数据（两行合并表头）", sheet))
    wb.close()
    return out


def _write_table(frame: pd.DataFrame, kind: SourceKind, path: Path, sheet: str,
                 headers: dict[str, str] | None = None) -> None:
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "default_date_format": "yyyy-mm-dd"})
    fmt = _formats(wb)
    ws = wb.add_worksheet(sheet)
    cols = [c.name for c in kind.columns if c.name in frame.columns]
    ws.set_column(0, 0, 6)
    for j, name in enumerate(cols, start=1):
        ws.set_column(j, j, {"uscc": 21, "parcel_code": 22, "case_id": 20, "record_id": 20}.get(name, 14),
                      _column_format(fmt, kind, name))
    ws.write_row(0, 0, ["序号"] + [(headers or {}).get(c) or header(kind, c) for c in cols], fmt["head"])
    data = [list(range(1, len(frame) + 1))] + [_cell_values(frame[c]) for c in cols]
    for i, row in enumerate(zip(*data, strict=True), start=1):
        ws.write_row(i, 0, row)
    ws.freeze_panes(1, 0)
    wb.close()


#: the evidence lists: (kind, bureau, file name, sheet or layer, description)
_LISTS = (
    ("hazards", SAFETY, "工贸企业安全隐患排查清单.xlsx", "隐患清单", "安全隐患排查整治清单（{n} 条）"),
    ("pollution", ENV, "环境违法案件及污染地块清单.xlsx", "问题清单", "环境行政处罚案件及疑似污染地块清单（{n} 条）"),
    ("enforcement", NR, "卫片执法违法用地图斑.gpkg", "卫片执法图斑", "2022–2024 年卫片执法违法用地图斑（{n} 个）"),
    ("unsupplied", NR, "批而未供土地.gpkg", "批而未供", "批而未供土地（按批次，{n} 个批次）"),
    ("idle", NR, "闲置土地认定清单.xlsx", "闲置土地", "闲置土地认定清单（{n} 宗）"),
)


#: 土地来源 as the supply ledger writes it
LAND_SOURCE_ZH = {"new": "新增建设用地", "stock": "存量建设用地"}


def _write_supply(city: DemoCity, folder: Path) -> Delivery:
    kind = KINDS["supply"]
    frame = city.supply.assign(land_source=city.supply["land_source"].map(LAND_SOURCE_ZH),
                               mode=city.supply["mode_detail"])
    path = folder / f"土地供应台账（{YEARS[0]}—{YEARS[-1]}年）.xlsx"
    _write_table(frame, kind, path, "供地台账")
    linked = int(frame["parcel_code"].notna().sum())
    return Delivery("supply", path, None, None, NR,
                    f"{YEARS[0]}—{YEARS[-1]} 年土地供应记录（{len(frame)} 条，{linked} 条注明宗地代码；"
                    "电子监管号、新增/存量、供地方式）")


def _write_statistics(city: DemoCity, folder: Path) -> Delivery:
    kind = KINDS["statistics"]
    st = city.statistics
    figures = ["gdp_yi", "construction_land_mu", "total_area_mu", "cultivated_land_mu"]
    totals = st.groupby("year", as_index=False)[figures].sum().assign(district_code="全市", order=0)
    rows = st.assign(district_code=st["district_code"].map(DISTRICTS), order=1)
    frame = pd.concat([totals, rows], ignore_index=True).sort_values(["year", "order"], kind="stable")
    frame[figures] = frame[figures].round(2)
    path = folder / f"分区主要经济与土地指标（{YEARS[0]}—{YEARS[-1]}年）.xlsx"
    _write_table(frame, kind, path, "分区年度统计", headers={"district_code": "地区", "year": "年份"})
    return Delivery("statistics", path, None, None, STATS,
                    f"{YEARS[0]}—{YEARS[-1]} 年各区地区生产总值、建设用地、国土总面积与耕地面积（{len(st)} 行，含全市合计行）")


def write_deliveries(city: DemoCity, out_dir: Path) -> list[Delivery]:
    """Write every delivery of ``city`` under ``out_dir`` (one folder per bureau); return them in load order."""
    out_dir = Path(out_dir)
    folders = {a: out_dir / a for a in (NR, MIIT, ENV, SAFETY, STATS)}
    for f in folders.values():
        f.mkdir(parents=True, exist_ok=True)
    deliveries = _write_parcels(city, folders[NR])
    deliveries.append(_write_districts(city, folders[NR]))
    deliveries += _write_layers(city, folders)
    deliveries += _write_firms(city, folders[MIIT])

    for kind, agency, name, layer, describe in _LISTS:
        frame, path = getattr(city, kind), folders[agency] / name
        if frame.empty:  # a small city may have nothing to list: the bureau sends nothing
            continue
        spec = KINDS[kind]
        if path.suffix == ".gpkg":
            _write_gpkg(_spatial(frame, spec, {c.name: header(spec, c.name) for c in spec.columns}), path, layer)
        else:
            _write_table(frame, spec, path, layer)
        deliveries.append(Delivery(kind, path, None, None, agency, describe.format(n=len(frame))))
    deliveries.append(_write_supply(city, folders[NR]))
    deliveries.append(_write_statistics(city, folders[STATS]))
    return deliveries

