"""Files a run hands out: a GeoPackage for QGIS, an Excel 台账 with a sheet per list, a JSON summary."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import xlsxwriter

from landrenew.analysis.pipeline import AnalysisResult
from landrenew.analysis.units import unit_geometries
from landrenew.intake.schema import KINDS
from landrenew.store.snapshot import Snapshot

TAG_SHEETS = {"危": "危 安全隐患", "污": "污 环境污染", "乱": "乱 违法违规", "散": "散 零散分布", "低": "低 低效利用"}
PARCEL_HEADERS = {
    "parcel_key": "宗地代码", "district_code": "行政区代码", "dlbm": "地类编码", "dlmc": "地类名称",
    "right_holder": "权利人", "area_mu": "面积（亩）", "space": "所在空间", "park_name": "所在园区",
    "plan_zone": "规划单元", "planned_code": "规划用途代码",
    "class": "亩均分类", "firm_uscc": "主要企业信用代码", "tags": "标注", "rule_ids": "命中规则", "unit_id": "连片单元",
}
HIT_HEADERS = {
    "tag": "标注", "rule_id": "规则编号", "clause": "政策条款", "evidence_kind": "证据来源", "evidence_id": "证据编号",
    "value": "实际值", "threshold": "判定标准", "note_zh": "说明",
}
FIRM_HEADERS = {
    "uscc": "统一社会信用代码", "name": "企业名称", "district_code": "行政区代码", "group": "企业规模",
    "land_area_mu": "用地面积（亩）", "score": "综合得分", "rank": "组内排名", "class": "亩均分类",
    "class_rule": "分类规则", "class_reason_zh": "分类依据",
}
SPACE_ZH = {"ecological": "生态空间", "agricultural": "农业空间", "urban": "城镇空间"}
EVIDENCE_ZH = {**{k: v.zh for k, v in KINDS.items()}, "overlay": "空间叠加", "evaluation": "亩均评价", "parcel": "宗地属性"}
CASE_HEADERS = {
    "case_id": "案件编号", "unit_id": "连片单元", "n_parcels": "宗地数", "parcel_keys": "宗地代码",
    "district_code": "行政区代码", "area_mu": "面积（亩）", "tags": "标注", "family_zh": "处置类别",
    "path_zh": "处置路径", "rule_id": "规则编号", "clause": "政策条款", "reason_zh": "判定理由", "priority": "优先度",
    "vacated_mu": "腾退空间（亩）", "cultivated_mu": "补充耕地（亩）", "paddy_mu": "水田（亩）",
    "grain_kg": "粮食产能（公斤）", "construction_quota_mu": "增减挂钩节余指标（亩）",
    "stock_linkage_mu": "增存挂钩计划指标（亩）",
}
ALLOCATION_HEADERS = {
    "uscc": "统一社会信用代码", "name": "企业名称", "district_code": "行政区代码", "class": "亩均分类",
    "land_supply": "用地供应", "energy_quota": "用能指标", "surcharge_electricity_yuan": "差别电价加价（元）",
    "surcharge_water_yuan": "差别水价加价（元）", "surcharge_gas_yuan": "差别气价加价（元）",
    "surcharge_sewage_yuan": "污水处理费加价（元）", "surcharge_total_yuan": "加价合计（元）", "rule_id": "规则编号",
    "reason_zh": "依据",
}
UNIT_HEADERS = {"unit_id": "单元编号", "n_parcels": "宗地数", "area_mu": "面积（亩）", "district_codes": "行政区",
                "tags": "标注构成", "members": "成员宗地"}


def parcel_table(snapshot: Snapshot, r: AnalysisResult) -> gpd.GeoDataFrame:
    """Every parcel with its overlay, class, tags and unit (canonical column names, EPSG:4490)."""
    p = snapshot.parcels
    pclass = r.parcel_class.reindex(p["parcel_code"])
    return gpd.GeoDataFrame({
        "parcel_key": p["key"], "district_code": p["district_code"], "dlbm": p["dlbm"], "dlmc": p["dlmc"],
        "right_holder": p["right_holder"], "area_mu": r.overlay["area_mu"].round(3), "space": r.overlay["space"],
        "park_name": r.overlay["park_name"], "plan_zone": r.overlay["plan_zone"],
        "planned_code": r.overlay["planned_code"], "class": pclass["class"].to_numpy(),
        "firm_uscc": pclass["firm_uscc"].to_numpy(), "tags": r.tags["tags"], "rule_ids": r.tags["rule_ids"],
        "unit_id": r.unit_of,
    }, geometry=p.geometry.to_numpy(), crs=p.crs)


def write_outputs(run_id: int, snapshot: Snapshot, r: AnalysisResult, meta: dict, folder: Path) -> dict[str, Path]:
    """Write ``run_<id>.gpkg``, ``run_<id>_台账.xlsx`` and ``run_<id>.json`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    parcels = parcel_table(snapshot, r)
    parcels["space"] = parcels["space"].map(SPACE_ZH).fillna(parcels["space"])
    flagged = parcels[r.tags["n_hits"].to_numpy() > 0]
    paths = {"gpkg": folder / f"run_{run_id}.gpkg", "xlsx": folder / f"run_{run_id}_台账.xlsx",
             "json": folder / f"run_{run_id}.json"}
    paths["gpkg"].unlink(missing_ok=True)
    flagged.rename(columns=PARCEL_HEADERS).to_file(paths["gpkg"], layer="标注地块", driver="GPKG")
    classed = parcels[parcels["class"].notna()]
    classed.rename(columns=PARCEL_HEADERS).to_file(paths["gpkg"], layer="亩均分类地块", driver="GPKG")
    shapes = unit_geometries(snapshot.parcels, r.unit_of)
    if len(r.units):
        units = pd.DataFrame(r.units[[c for c in UNIT_HEADERS if c in r.units.columns]])
        units = gpd.GeoDataFrame(units.assign(tags=units["tags"].astype(str)),
                                 geometry=shapes.reindex(units["unit_id"]).to_numpy(), crs=parcels.crs)
        units.rename(columns=UNIT_HEADERS).to_file(paths["gpkg"], layer="连片单元", driver="GPKG")
    cases = _case_geometries(r, parcels, shapes)
    if len(cases):
        cases.rename(columns=CASE_HEADERS).to_file(paths["gpkg"], layer="处置建议", driver="GPKG")
    _write_workbook(paths["xlsx"], flagged, r, meta)
    summary = {**meta, "counts": r.counts(), "yields": r.yields(), "timings": {k: round(v, 3) for k, v in r.timings.items()},
               "lists": _list_sizes(flagged, r), "files": {k: p.name for k, p in paths.items()}}
    paths["json"].write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return paths


def _case_geometries(r: AnalysisResult, parcels: gpd.GeoDataFrame, unit_geom: gpd.GeoSeries) -> gpd.GeoDataFrame:
    """Each case with its shape: the unit's union, or the single parcel's polygon."""
    cases = r.cases[[c for c in CASE_HEADERS if c in r.cases.columns]]
    parcel_geom = parcels.set_index("parcel_key").geometry
    first_key = cases["parcel_keys"].str.split(";").str[0]
    geom = unit_geom.reindex(cases["unit_id"]).to_numpy()
    single = pd.isna(geom) | cases["unit_id"].isna().to_numpy()
    geom[single] = parcel_geom.reindex(first_key[single]).to_numpy()
    return gpd.GeoDataFrame(cases, geometry=list(geom), crs=parcels.crs)


def _list_sizes(flagged: pd.DataFrame, r: AnalysisResult) -> dict[str, dict[str, float]]:
    """Per tag: parcels on the list and their area in 亩."""
    out = {}
    for tag in TAG_SHEETS:
        on = flagged["tags"].str.contains(tag, regex=False)
        out[tag] = {"parcels": int(on.sum()), "area_mu": round(float(flagged.loc[on, "area_mu"].sum()), 1)}
    return out


def _sheet(wb: xlsxwriter.Workbook, name: str, df: pd.DataFrame, startrow: int = 0) -> None:
    """Write ``df`` column by column (much faster than cell by cell); blanks for missing values."""
    ws = wb.get_worksheet_by_name(name) or wb.add_worksheet(name)
    header = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    ws.write_row(startrow, 0, [str(c) for c in df.columns], header)
    for j, col in enumerate(df.columns):
        values = df[col]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            data = [None if pd.isna(v) else float(v) for v in values.to_numpy(dtype=float, na_value=float("nan"))]
        else:
            data = values.astype("string").fillna("").tolist()
        ws.write_column(startrow + 1, j, data)
    ws.set_column(0, max(len(df.columns) - 1, 0), 16)
    ws.freeze_panes(startrow + 1, 1)


def _write_workbook(path: Path, flagged: pd.DataFrame, r: AnalysisResult, meta: dict) -> None:
    """汇总, one sheet per tag (parcel facts + the evidence of each hit), 亩均评价, 连片单元."""
    hits = r.tag_hits.astype({"tag": str, "rule_id": str, "evidence_kind": str})
    hits["evidence_kind"] = hits["evidence_kind"].map(EVIDENCE_ZH).fillna(hits["evidence_kind"])
    facts = pd.DataFrame(flagged.drop(columns="geometry"))
    sizes = _list_sizes(flagged, r)
    summary = pd.DataFrame([(TAG_SHEETS[t], v["parcels"], v["area_mu"]) for t, v in sizes.items()],
                           columns=["清单", "宗地数", "面积（亩）"])
    info = pd.DataFrame([("分析批次", meta.get("run_id")), ("基准日", str(r.as_of)), ("评价年度", r.year),
                         ("政策参数", meta.get("profile")), ("数据指纹", meta.get("input_hash"))],
                        columns=["项目", "内容"]).astype(str)
    wb = xlsxwriter.Workbook(str(path), {"nan_inf_to_errors": True})
    try:
        _sheet(wb, "汇总", info)
        _sheet(wb, "汇总", summary, startrow=len(info) + 2)
        for tag, sheet in TAG_SHEETS.items():
            h = hits[hits["tag"] == tag][["parcel_key", *HIT_HEADERS]].drop(columns="tag")
            _sheet(wb, sheet, facts.merge(h, on="parcel_key", how="inner").rename(columns={**PARCEL_HEADERS,
                                                                                         **HIT_HEADERS}))
        _sheet(wb, "处置建议", r.cases[[c for c in CASE_HEADERS if c in r.cases.columns]].rename(columns=CASE_HEADERS))
        firms = r.evaluation[[c for c in FIRM_HEADERS if c in r.evaluation.columns]]
        _sheet(wb, "亩均评价", firms.rename(columns=FIRM_HEADERS))
        alloc = r.allocation[[c for c in ALLOCATION_HEADERS if c in r.allocation.columns]]
        _sheet(wb, "差别化配置", alloc.rename(columns=ALLOCATION_HEADERS))
        if len(r.units):
            units = pd.DataFrame(r.units[[c for c in UNIT_HEADERS if c in r.units.columns]])
            _sheet(wb, "连片单元", units.assign(tags=units["tags"].astype(str)).rename(columns=UNIT_HEADERS))
    finally:
        wb.close()
