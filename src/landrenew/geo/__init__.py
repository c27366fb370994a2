"""Geometry helpers: CRS detection and conversion, 亩 areas, geometry repair, GCJ-02."""

from landrenew.geo.area import (
    AREA_CRS,
    M2_PER_MU,
    STORAGE_CRS,
    area_m2,
    area_mu,
    m2_to_mu,
    mu_to_m2,
)
from landrenew.geo.crs import (
    CHINA_EXTENT,
    GCJ02,
    GEOGRAPHIC,
    CrsCheck,
    check_crs,
    classify_coordinates,
    in_extent,
    normalize_crs_name,
    to_storage,
)
from landrenew.geo.gcj02 import gcj02_to_wgs84, wgs84_to_gcj02
from landrenew.geo.repair import repair_geometries, to_polygonal

__all__ = [
    "AREA_CRS",
    "CHINA_EXTENT",
    "GCJ02",
    "GEOGRAPHIC",
    "M2_PER_MU",
    "STORAGE_CRS",
    "CrsCheck",
    "area_m2",
    "area_mu",
    "check_crs",
    "classify_coordinates",
    "gcj02_to_wgs84",
    "in_extent",
    "m2_to_mu",
    "mu_to_m2",
    "normalize_crs_name",
    "repair_geometries",
    "to_polygonal",
    "to_storage",
    "wgs84_to_gcj02",
]
