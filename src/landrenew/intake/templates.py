"""Blank templates for every source kind: an Excel sheet (with a 说明 sheet) and, for layers, a GeoPackage."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from landrenew.intake.schema import KINDS, LAYER_KINDS, Column, SourceKind

TYPE_ZH = {"str": "文本", "int": "整数", "float": "数值", "date": "日期", "bool": "是/否", "tribool": "是/否/空", "district": "行政区代码",
           "parcel_code": "宗地代码", "uscc": "统一社会信用代码", "codes": "宗地代码列表"}


_DTYPE = {"int": "int64", "float": "float64", "date": "datetime64[ms]", "bool": "bool"}


def header(c: Column) -> str:
    """The template header of a column: Chinese name with its unit, e.g. 实缴税金（万元）."""
    return f"{c.zh}（{c.unit}）" if c.unit else c.zh


def column_guide(kind: SourceKind) -> pd.DataFrame:
    """One row per column: header, field name, type, required, unit, aliases, help."""
    groups = {n for g in kind.one_of for n in g}
    return pd.DataFrame({
        "列名 header": [header(c) for c in kind.columns],
        "字段 field": [c.name for c in kind.columns],
        "类型 type": [TYPE_ZH[c.type] for c in kind.columns],
        "必填 required": ["是" if c.required else ("二选一" if c.name in groups else "否") for c in kind.columns],
        "单位 unit": [c.unit for c in kind.columns],
        "也接受的列名 aliases": [", ".join(c.aliases) for c in kind.columns],
        "说明 help": [" / ".join(x for x in (c.help_zh, c.help_en) if x) for c in kind.columns],
    })


def write_templates(folder: Path) -> list[Path]:
    """Write every template into ``folder``; return the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in KINDS.values():
        empty = pd.DataFrame({header(c): pd.Series(dtype=_DTYPE.get(c.type, "object")) for c in kind.columns})
        xlsx = folder / f"{kind.name}_{kind.zh.split('（')[0].replace('/', '_')}.xlsx"
        with pd.ExcelWriter(xlsx, engine="xlsxwriter") as xw:
            if "xlsx" in kind.formats:
                empty.to_excel(xw, sheet_name="数据", index=False)
            column_guide(kind).to_excel(xw, sheet_name="说明", index=False)
        written.append(xlsx)
        if kind.geometry != "none":
            names = LAYER_KINDS if kind.name == "layer" else {kind.name: (kind.zh, kind.en)}
            gdf = gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs="EPSG:4490"))
            for layer_name in names:
                gpkg = folder / f"{layer_name}.gpkg"
                gdf.to_file(gpkg, layer=layer_name, driver="GPKG", geometry_type="MultiPolygon")
                written.append(gpkg)
    return written
