"""Parcel code (宗地代码): the first 19 characters of the 28-character real-estate
unit code of GB/T 37346 (不动产单元代码).

Layout: 6-digit county-level division code + 3-digit cadastral district (地籍区)
+ 3-digit cadastral sub-district (地籍子区) + 2-character feature code + 5-digit
serial. Feature code: first character the land ownership (G 国有 state, J 集体
collective, Z 争议 disputed), second the kind of parcel (A B S X C D E F H W Y).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

LENGTH = 19
OWNERSHIP = {"G": "国家土地所有权", "J": "集体土地所有权", "Z": "土地所有权争议"}
PARCEL_KINDS = frozenset("ABSXCDEFHWY")
#: province-level prefixes of county codes (GB/T 2260), incl. 71 台湾 81 香港 82 澳门
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82",
})
#: reason codes returned by :func:`validate_parcel_codes` ("" = valid), in checking order
REASONS = ("missing", "length", "county", "district_digits", "feature_code", "serial")


def make_parcel_code(county: str, cadastral_district: int | str, sub_district: int | str,
                     ownership: str, use: str, serial: int | str) -> str:
    """Assemble a 19-character parcel code, e.g. ``make_parcel_code("320412", 1, 2, "G", "B", 7)``.

    Raises:
        ValueError: when a part does not fit its width or code list.
    """
    parts = (str(county), f"{int(cadastral_district):03d}", f"{int(sub_district):03d}",
             f"{ownership}{use}".upper(), f"{int(serial):05d}")
    code = "".join(parts)
    reason = validate_parcel_codes(pd.Series([code]))["reason"].iloc[0]
    if reason:
        raise ValueError(f"invalid parcel code {code!r}: {reason}")
    return code


def validate_parcel_codes(values: pd.Series, counties: Iterable[str] | None = None) -> pd.DataFrame:
    """Check parcel codes; one row per value, same index.

    Columns: ``reason`` — ``""`` when valid, else the first failing check of
    ``"missing"``, ``"length"`` (not 19 characters), ``"county"`` (first 6 are not
    a county-level code: 6 digits, a province prefix, not ending in 00; or not in
    ``counties`` when given), ``"district_digits"`` (characters 7–12 not digits),
    ``"feature_code"`` (13–14 not G/J/Z + A B S X C D E F H W Y), ``"serial"``
    (15–19 not digits); ``county_code`` — the first 6 characters when the length is right.
    Values are stripped and upper-cased first.
    """
    s = values.astype("string").str.strip().str.upper()
    filled = s.notna() & (s != "")
    right_length = filled & (s.str.len() == LENGTH)
    county = s.str.slice(0, 6)
    county_ok = county.str.fullmatch(r"\d{6}") & county.str.slice(0, 2).isin(PROVINCES) & ~county.str.endswith("00")
    if counties is not None:
        county_ok &= county.isin(set(counties))
    checks = [
        ("missing", ~filled),
        ("length", ~right_length),
        ("county", ~county_ok),
        ("district_digits", ~s.str.slice(6, 12).str.fullmatch(r"\d{6}")),
        ("feature_code", ~s.str.slice(12, 14).str.fullmatch(r"[GJZ][ABSXCDEFHWY]")),
        ("serial", ~s.str.slice(14, 19).str.fullmatch(r"\d{5}")),
    ]
    conditions = [mask.fillna(True).to_numpy(dtype=bool) for _, mask in checks]
    reason = np.select(conditions, [name for name, _ in checks], default="")
    county_code = county.where(right_length.fillna(False), "").fillna("")
    return pd.DataFrame({"reason": reason.astype(object), "county_code": county_code.astype(object).to_numpy()},
                        index=values.index)


def is_valid_parcel_code(values: pd.Series, counties: Iterable[str] | None = None) -> pd.Series:
    """Boolean Series: True where the parcel code is valid."""
    return validate_parcel_codes(values, counties)["reason"] == ""
