"""Code lists and validators: USCC (GB 32100), parcel codes (GB/T 37346), land-use codes."""

from landrenew.codes.landuse import (
    dlbm_table,
    dlbm_to_ydyh,
    is_construction,
    is_industrial,
    normalize_dlbm,
    normalize_ydyh,
    validate_dlbm,
    validate_ydyh,
    ydyh_table,
)
from landrenew.codes.parcel_code import make_parcel_code, validate_parcel_codes
from landrenew.codes.uscc import check_character, make_uscc, validate_uscc

__all__ = [
    "check_character",
    "dlbm_table",
    "dlbm_to_ydyh",
    "is_construction",
    "is_industrial",
    "make_parcel_code",
    "make_uscc",
    "normalize_dlbm",
    "normalize_ydyh",
    "validate_dlbm",
    "validate_parcel_codes",
    "validate_uscc",
    "validate_ydyh",
    "ydyh_table",
]
