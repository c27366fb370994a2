"""Shared fixtures: a fresh workspace, the bundled profile, and small valid sources to break."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import settings
from sqlalchemy import text

from landrenew.codes.parcel_code import make_parcel_code
from landrenew.codes.uscc import make_uscc
from landrenew.policy import load_profile
from landrenew.store import Workspace

# CI explores the same examples every run (a found failure stays reproducible and a landing is
# not decided by chance); local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# A block of small square parcels in 武进区 (EPSG:4549 metres, around 119.95E 31.70N).
ORIGIN_4549 = (495_000.0, 3_508_000.0)


@pytest.fixture(scope="session")
def profile():
    return load_profile("changzhou-2022")


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    return Workspace.open(tmp_path / "ws")


def parcel_frame(n: int = 6, district: str = "320412", size: float = 80.0) -> gpd.GeoDataFrame:
    """``n`` valid parcels in a row, canonical Chinese headers, EPSG:4549."""
    x0, y0 = ORIGIN_4549
    geoms = [shapely.box(x0 + i * (size + 5), y0, x0 + i * (size + 5) + size, y0 + size) for i in range(n)]
    return gpd.GeoDataFrame({
        "宗地代码": [make_parcel_code(district, 1, 2, "G", "B", i + 1) for i in range(n)],
        "地类编码": ["0601"] * n,
        "行政区代码": [district] * n,
        "权利人": [f"常州测试{i}号机械有限公司" for i in range(n)],
        "供地日期": ["2018-05-01"] * n,
        "建筑面积": [size * size * 0.8] * n,
        "宗地面积": [size * size] * n,
    }, geometry=geoms, crs="EPSG:4549")


def firm_frame(n: int = 5, district: str = "320412") -> pd.DataFrame:
    """``n`` valid firm-year rows with Chinese headers."""
    return pd.DataFrame({
        "统一社会信用代码": [make_uscc(f"91{district}MA1{i:06d}") for i in range(n)],
        "企业名称": [f"常州测试{i}号机械有限公司" for i in range(n)],
        "行政区代码": [district] * n,
        "评价年度": [2024] * n,
        "企业规模": ["规上"] * n,
        "实缴税金（万元）": [120.5 + i for i in range(n)],
        "销售收入（万元）": [3000.0 + i for i in range(n)],
        "用地面积（亩）": [20.0] * n,
        "宗地代码": [make_parcel_code(district, 1, 2, "G", "B", i + 1) for i in range(n)],
    })


def store_fingerprint(ws: Workspace) -> dict[str, int]:
    """Row counts of every table: equal before and after a refused load."""
    with ws.engine.connect() as conn:
        return {t: conn.execute(text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one() for t in ws.tables()}
