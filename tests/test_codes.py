"""landrenew.codes: USCC (GB 32100), parcel codes (GB/T 37346), 三调 / 用地用海 land-use codes."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from landrenew.codes import landuse
from landrenew.codes.parcel_code import make_parcel_code, validate_parcel_codes
from landrenew.codes.uscc import (
    CHARSET,
    check_character,
    check_characters,
    make_uscc,
    org_check_characters,
    validate_uscc,
)

# --- USCC --------------------------------------------------------------------------------------

PUBLIC_EXAMPLE = "91350100M000100Y43"  # widely cited valid example


def test_public_example_is_valid_and_make_uscc_agrees():
    assert validate_uscc(pd.Series([PUBLIC_EXAMPLE]))["reason"].tolist() == [""]
    assert make_uscc(PUBLIC_EXAMPLE[:17]) == PUBLIC_EXAMPLE
    assert check_character(PUBLIC_EXAMPLE[:17]) == "3"


def test_made_codes_validate():
    codes = pd.Series([make_uscc(f"91320412MA1{i:06d}") for i in range(50)])
    assert (validate_uscc(codes)["reason"] == "").all()


@pytest.mark.parametrize(("value", "reason", "expected"), [
    ("91350100M000100Y44", "check", "3"),
    ("91350100M000100Y4", "length", ""),
    ("91350100M000100Y433", "length", ""),
    ("9135010OM000100Y43", "charset", ""),  # letter O
    ("9I350100M000100Y43", "charset", ""),  # letter I
    ("91350100M00010-Y43", "charset", ""),
    ("91350100M000100Y4é", "charset", ""),
    ("", "missing", ""),
    (None, "missing", ""),
    (" 91350100m000100y43 ", "", ""),  # stripped and upper-cased
    ("９１３５０１００Ｍ０００１００Ｙ４３", "", ""),  # full-width
])
def test_validate_uscc_reasons(value, reason, expected):
    out = validate_uscc(pd.Series([value], index=["r1"]))
    assert list(out.columns) == ["reason", "expected"] and list(out.index) == ["r1"]
    assert out["reason"].iloc[0] == reason and out["expected"].iloc[0] == expected


def test_check_character_refuses_bad_prefix():
    with pytest.raises(ValueError):
        check_character("9135010OM000100Y4")
    with pytest.raises(ValueError):
        check_character("91350100")


def test_check_characters_agrees_with_check_character_and_takes_series_and_arrays():
    rng = np.random.default_rng(3)
    chars = np.array(list(CHARSET))
    bodies = ["".join(row) for row in chars[rng.integers(0, 31, size=(500, 17))]] + [PUBLIC_EXAMPLE[:17]]
    expected = [check_character(b) for b in bodies]
    assert list(check_characters(pd.Series(bodies, index=np.arange(len(bodies)) * 2))) == expected
    assert list(check_characters(np.array(bodies))) == expected  # fixed-width unicode array
    assert check_characters(np.array(bodies, dtype=object))[-1] == "3"
    assert len(check_characters(np.array([], dtype=object))) == 0


@pytest.mark.parametrize("bad", ["9135010OM000100Y4", "91350100M000100Y", "91350100M000100Y44",
                                 "91350100m000100Y4", "９１３５０１００Ｍ０００１００Ｙ４", None])
def test_check_characters_refuses_values_that_are_not_17_code_characters(bad):
    with pytest.raises(ValueError):
        check_characters(np.array([PUBLIC_EXAMPLE[:17], bad, PUBLIC_EXAMPLE[:17]], dtype=object))


def test_check_characters_is_fast_for_a_million_values():
    rng = np.random.default_rng(11)
    chars = np.array(list(CHARSET))
    bodies = chars[rng.integers(0, 31, size=(1_000_000, 17))].view("<U17").ravel()
    series = pd.Series(bodies, dtype=object)
    start = time.perf_counter()
    out = check_characters(series)
    assert time.perf_counter() - start < 1.0
    assert out.shape == (1_000_000,)
    assert (validate_uscc(series + out)["reason"] == "").all()


def test_organisation_code_check_is_gb_11714():
    # organisation codes inside published USCCs: 91350100M000100Y43, 91330100799655058B, 9144030071526726XG
    got = org_check_characters(pd.Series(["M000100Y", "79965505", "71526726"]))
    assert list(got) == ["4", "8", "X"]
    with pytest.raises(ValueError):
        org_check_characters(np.array(["7996550"], dtype=object))
    with pytest.raises(ValueError):
        org_check_characters(np.array(["7996550-"], dtype=object))


def test_validate_uscc_is_vectorised_over_100k_values():
    rng = np.random.default_rng(7)
    chars = np.array(list(CHARSET))
    bodies = ["".join(row) for row in chars[rng.integers(0, 31, size=(100_000, 17))]]
    codes = [make_uscc(b) for b in bodies]
    s = pd.Series(codes)
    wrong = np.arange(0, len(s), 7)
    s.iloc[wrong] = [c[:17] + ("0" if c[17] != "0" else "1") for c in s.iloc[wrong]]
    start = time.perf_counter()
    out = validate_uscc(s)
    assert time.perf_counter() - start < 2.0
    assert (out["reason"].to_numpy()[wrong] == "check").all()
    assert (out["reason"] == "check").sum() == len(wrong)
    assert out["expected"].iloc[0] == codes[0][17]


# --- parcel codes ------------------------------------------------------------------------------

GOOD = "320412001002GB00007"


def test_make_parcel_code_layout():
    code = make_parcel_code("320412", 1, 2, "G", "B", 7)
    assert code == GOOD and len(code) == 19
    assert make_parcel_code("320481", "12", "345", "j", "c", "123") == "320481012345JC00123"


@pytest.mark.parametrize(("value", "reason"), [
    (GOOD, ""),
    ("320412001002ZW99999", ""),
    (" 320412001002gb00007 ", ""),
    ("32041200100GB00007", "length"),
    ("320412001002GB000071", "length"),
    ("320400001002GB00007", "county"),  # city-level code, not a county
    ("990412001002GB00007", "county"),  # no province 99
    ("3204A2001002GB00007", "county"),
    ("32041200A002GB00007", "district_digits"),
    ("320412001X02GB00007", "district_digits"),
    ("320412001002QB00007", "feature_code"),  # ownership must be G/J/Z
    ("320412001002GZ00007", "feature_code"),  # Z is not a parcel kind
    ("320412001002GB0000A", "serial"),
    ("", "missing"),
    (None, "missing"),
])
def test_validate_parcel_codes_reasons(value, reason):
    out = validate_parcel_codes(pd.Series([value]))
    assert out["reason"].iloc[0] == reason


def test_validate_parcel_codes_returns_county_and_keeps_index():
    out = validate_parcel_codes(pd.Series([GOOD, "short"], index=[3, 9]))
    assert list(out.columns) == ["reason", "county_code"] and list(out.index) == [3, 9]
    assert out["county_code"].tolist() == ["320412", ""]


def test_validate_parcel_codes_against_a_county_list():
    s = pd.Series([GOOD, "320106001002GB00007"])
    out = validate_parcel_codes(s, counties=["320402", "320404", "320411", "320412", "320413", "320481"])
    assert out["reason"].tolist() == ["", "county"]


def test_make_parcel_code_refuses_bad_parts():
    with pytest.raises(ValueError):
        make_parcel_code("320412", 1, 2, "Q", "B", 7)
    with pytest.raises(ValueError):
        make_parcel_code("320412", 1000, 2, "G", "B", 7)


# --- land-use codes ----------------------------------------------------------------------------

SANDIAO_SECOND_LEVEL = (
    "0303 0304 0306 0402 0603 1105 1106 1108 0101 0102 0103 0201 0202 0203 0204 0301 0302 0305 0307 "
    "0401 0403 0404 05H1 0508 0601 0602 0701 0702 08H1 08H2 0809 0810 09 1001 1002 1003 1004 1005 1006 "
    "1007 1008 1009 1101 1102 1103 1104 1107 1109 1110 1201 1202 1203 1204 1205 1206 1207"
).split()


def test_dlbm_table_has_every_sandiao_code_once():
    table = landuse.dlbm_table()
    assert table["dlbm"].is_unique
    sandiao = set(table.loc[table["scheme"] == "三调", "dlbm"])
    assert set(SANDIAO_SECOND_LEVEL) <= sandiao
    assert {"0201K", "0301K", "0403K", "1104K", "1104A"} <= sandiao
    assert table.set_index("dlbm").loc["0303", "level1_name"] == "湿地"
    assert list(table.columns[:5]) == ["dlbm", "dlmc", "level1", "level1_name", "name_en"]


def test_crosswalk_targets_exist_with_the_same_names():
    table = landuse.dlbm_table().dropna(subset=["ydyh_code"])
    ydyh = landuse.ydyh_table().set_index("code")
    assert set(table["ydyh_code"]) <= set(ydyh.index)
    assert (table["ydyh_name"].to_numpy() == ydyh.loc[table["ydyh_code"], "name"].to_numpy()).all()


def test_three_categories_are_consistent():
    t = landuse.dlbm_table()
    cls = t["land_class"]
    assert ((cls == "建设用地") == t["is_construction"]).all()
    assert ((cls == "农用地") == t["is_agricultural"]).all()
    assert set(t.loc[t["is_cultivated"], "dlbm"]) == {"0101", "0102", "0103"}


@pytest.mark.parametrize(("dlbm", "ydyh"), [
    ("0601", "1001"), ("0602", "1002"), ("0508", "1101"), ("0701", "0701"), ("0702", "0703"),
    ("05H1", "09"), ("0101", "0101"), ("0204", "0205"), ("0305", "0303"), ("1006", "0601"),
    ("1202", "0602"), ("1201", "2301"), ("1109", "1311"), ("0603", "1003"), ("0201K", "0201"),
    ("0604", "1101"), ("0501", "090101"),
])
def test_dlbm_to_ydyh_samples(dlbm, ydyh):
    assert landuse.dlbm_to_ydyh(pd.Series([dlbm])).iloc[0] == ydyh


def test_ydyh_table_has_industrial_classes_and_reserved_land():
    y = landuse.ydyh_table().set_index("code")
    assert y.loc["100101", "name"] == "一类工业用地" and y.loc["100103", "parent"] == "1001"
    assert y.loc["16", "name"] == "留白用地" and y.loc["16", "is_construction"]
    assert set(y.index[y["is_industrial"]]) == {"1001", "100101", "100102", "100103"}


@pytest.mark.parametrize(("raw", "normal"), [
    ("0601", "0601"), (" 601 ", "0601"), ("601.0", "0601"), ("05h1", "05H1"), ("5H1", "05H1"),
    ("0201k", "0201K"), ("9", "09"), ("0601工业用地", "0601"), ("0601 工业用地", "0601"),
    ("１１０４Ａ", "1104A"), ("06010", "06010"), ("0601A", "0601A"), ("1", "1"),
])
def test_normalize_dlbm(raw, normal):
    assert landuse.normalize_dlbm(pd.Series([raw])).iloc[0] == normal


def test_normalize_keeps_nulls_and_index():
    out = landuse.normalize_dlbm(pd.Series([None, "601"], index=["a", "b"]))
    assert pd.isna(out["a"]) and out["b"] == "0601"


def test_validate_dlbm_and_scheme():
    s = pd.Series(["0601", "601", "0201K", "0501", "0606", None, ""])
    assert landuse.validate_dlbm(s).tolist() == [True, True, True, True, False, False, False]
    assert landuse.validate_dlbm(s, scheme="三调").tolist() == [True, True, True, False, False, False, False]


def test_validate_ydyh():
    s = pd.Series(["100101", "70101", "16", "1001", "0601", "9999", None])
    assert landuse.validate_ydyh(s).tolist() == [True, True, True, True, True, False, False]
    assert landuse.normalize_ydyh(pd.Series(["70101"])).iloc[0] == "070101"


def test_is_industrial_by_either_code():
    dlbm = pd.Series(["0601", "0602", None, "0701"])
    ydyh = pd.Series([None, "1002", "100102", "x"])
    assert landuse.is_industrial(dlbm).tolist() == [True, False, False, False]
    assert landuse.is_industrial(ydyh=ydyh).tolist() == [False, False, True, False]
    assert landuse.is_industrial(dlbm, ydyh).tolist() == [True, False, True, False]
    with pytest.raises(ValueError):
        landuse.is_industrial()


def test_is_construction_and_friends():
    s = pd.Series(["0601", "0101", "0201K", "1201", "0404", "zz", None])
    assert landuse.is_construction(s).tolist() == [True, False, False, True, False, False, False]
    assert landuse.is_agricultural(s).tolist() == [False, True, True, False, False, False, False]
    assert landuse.is_cultivated(s).tolist() == [False, True, False, False, False, False, False]
    assert landuse.dlbm_name(pd.Series(["601"])).iloc[0] == "工业用地"
    assert landuse.ydyh_name(pd.Series(["100101"])).iloc[0] == "一类工业用地"


def test_tables_are_copies():
    table = landuse.dlbm_table()
    table.loc[0, "dlbm"] = "XXXX"
    assert landuse.dlbm_table().loc[0, "dlbm"] == "0303"
    assert landuse.validate_dlbm(pd.Series(["0303"])).iloc[0]
