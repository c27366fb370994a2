"""Turn a raw table into a canonical, typed frame, reporting every problem by row and column.

All checks are whole-column operations; a row that fails any check is marked rejected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from landrenew.codes import landuse
from landrenew.codes.parcel_code import validate_parcel_codes
from landrenew.codes.uscc import validate_uscc
from landrenew.distinct import per_distinct
from landrenew.geo.area import area_m2
from landrenew.geo.crs import (
    AREA_OF_USE_MARGIN,
    MAX_ABS_COORDINATE,
    CoordinateScreen,
    check_crs,
    in_extent,
    screen_coordinates,
    to_storage,
)
from landrenew.geo.repair import repair_geometries
from landrenew.intake import messages as msg
from landrenew.intake.read import RawTable, alias_index, normalize_header
from landrenew.intake.report import IntakeReport, Message
from landrenew.intake.schema import Column, SourceKind

#: declared vs drawn area: differences above this share are reported (data quality, not policy)
AREA_TOLERANCE = 0.05
#: vertices of one feature above which it is refused (an operational limit, not policy): a parcel has tens
#: to thousands, a district boundary traced at 1 m a few hundred thousand; beyond this a shape is a
#: densified or stream-traced artefact, and every check, the store and the map would spend seconds and
#: hundreds of MB on it (10 million vertices: ~6 s and ~1.3 GB to validate and store)
MAX_VERTICES = 1_000_000
_TRUE = {"是", "y", "yes", "true", "t", "1", "有", "√", "✓", "x"}
_FALSE = {"否", "n", "no", "false", "f", "0", "无", "-", "—"}
_CODE_SPLIT = re.compile(r"[;；,，、\s]+")
_SUMMARY = re.compile(r"^(合计|小计|总计|total)", re.IGNORECASE)
#: district cells naming the whole city or its urban core: a total row of a statistics table
_CITY_ROWS = {"全市", "全市合计", "市区", "市区合计", "全市总计"}
_UNIT_IN_HEADER = re.compile(r"[（(\[【]\s*([^（()）\[\]【】]+?)\s*[）)\]】]")
#: units a header may name, by kind, as multiples of a base unit: a column whose schema unit is of the
#: same kind is converted (``供地面积（公顷）`` × 15 → 亩); other bracketed text is ignored
UNITS: dict[str, dict[str, float]] = {
    "area": {"亩": 10000 / 15, "万亩": 1e8 / 15, "公顷": 1e4, "hm²": 1e4, "hm2": 1e4, "ha": 1e4,
             "平方公里": 1e6, "平方千米": 1e6, "km²": 1e6, "km2": 1e6, "平方米": 1.0, "m²": 1.0, "m2": 1.0,
             "㎡": 1.0, "万平方米": 1e4},
    "money": {"元": 1.0, "千元": 1e3, "万元": 1e4, "亿元": 1e8},
    "electricity": {"千瓦时": 1.0, "kwh": 1.0, "度": 1.0, "万千瓦时": 1e4, "万度": 1e4, "亿千瓦时": 1e8},
    "volume": {"立方米": 1.0, "m³": 1.0, "m3": 1.0, "万立方米": 1e4},
    "energy": {"吨标准煤": 1.0, "吨标煤": 1.0, "tce": 1.0, "万吨标准煤": 1e4, "万吨标煤": 1e4},
}


@dataclass(frozen=True)
class IntakeContext:
    """What validation needs to know of the city (built from the policy profile)."""

    city_zh: str
    #: district code → Chinese name
    districts: dict[str, str]
    #: [minlon, minlat, maxlon, maxlat] in EPSG:4490
    extent: tuple[float, float, float, float]
    #: projected CRS in which areas are computed
    area_crs: str = "EPSG:4549"

    def district_lookup(self) -> dict[str, str]:
        """Accepted spellings (code, full name, short name) → district code."""
        out = {code: code for code in self.districts}
        for code, name in self.districts.items():
            out[name] = code
            out[re.sub(r"(区|市|县)$", "", name)] = code
        return out


@dataclass
class Validated:
    """Canonical records (all schema columns, typed) and, for spatial kinds, geometry and area."""

    frame: pd.DataFrame
    rows: pd.Series
    source_crs: str | None = None


def validate(raw: RawTable, kind: SourceKind, ctx: IntakeContext, report: IntakeReport,
             crs_override: str | None = None) -> Validated | None:
    """Map headers, coerce types and check every rule of ``kind``; None when the file cannot load at all."""
    mapping = _map_headers(raw, kind, report)
    if report.fatal:
        return None
    has_geometry = raw.geometry is not None and kind.geometry != "none"
    present = set(mapping.values()) | ({"geometry"} if has_geometry else set())
    for c in kind.columns:
        if c.required and c.name not in present:
            report.add("error", msg.MISSING_COLUMN.format(zh=c.zh, name=c.name, aliases=", ".join(c.aliases)),
                       column=c.zh)
    for group in kind.one_of:
        if not present.intersection(group):
            report.add("error", msg.MISSING_ONE_OF.format(cols=" / ".join(_zh(kind, g) for g in group)))
    if kind.geometry == "polygon" and raw.geometry is None:
        report.add("error", msg.FORMAT.format(kind=kind.zh, suffix="(无几何 no geometry)", formats=", ".join(kind.formats)))
    if report.fatal:
        return None

    data = raw.frame.rename(columns=mapping)[list(mapping.values())]
    scale = _unit_factors(mapping, kind, report)
    keep = _drop_summary_rows(data, raw.rows, kind, ctx, report)
    data, rows = data.loc[keep].reset_index(drop=True), raw.rows.loc[keep].reset_index(drop=True)
    geometry = raw.geometry.loc[keep].reset_index(drop=True) if has_geometry else None
    report.rows_read = len(data)
    if len(data) == 0:
        report.add("error", msg.NO_ROWS)
        return None

    out = pd.DataFrame(index=data.index)
    bad = pd.Series(False, index=data.index)
    for c in kind.columns:
        header = _original(mapping, c.name)
        if c.name not in data.columns:
            out[c.name] = False if c.type == "bool" else _empty(c)
            continue
        values, errors = _coerce(data[c.name], c, ctx, scale.get(c.name, 1.0))
        out[c.name] = values
        for m, mask, shown in errors:
            report.add("error", m, rows[mask], header, shown[mask] if shown is not None else data[c.name][mask])
            bad |= mask
        if c.required:  # blank in the file (values that failed a check are reported once, above)
            empty = _text(data[c.name]).isna()
            report.add("error", msg.REQUIRED_EMPTY, rows[empty], header)
            bad |= empty
    for group in kind.one_of:
        cols = [g for g in group if g != "geometry"]
        filled = out[cols].notna().any(axis=1)
        if "geometry" in group and geometry is not None:
            filled |= ~(geometry.isna() | geometry.is_empty)
        report.add("error", msg.ONE_OF_EMPTY.format(cols=" / ".join(_zh(kind, g) for g in group)), rows[~filled])
        bad |= ~filled
    bad |= _check_keys(out, rows, kind, report)
    bad |= _check_cross_fields(out, rows, kind, mapping, report)

    source_crs = None
    if geometry is not None:
        result = _check_geometry(geometry, out, rows, kind, ctx, report, crs_override)
        if result is None:
            return None
        geom, geom_bad, source_crs = result
        out = gpd.GeoDataFrame(out, geometry=geom, crs="EPSG:4490")
        out["area_m2"] = area_m2(geom, ctx.area_crs)
        bad |= geom_bad
        if "declared_area_m2" in out.columns:
            _check_area(out, rows, report)
    report.rejected = set(rows[bad].tolist())
    return Validated(out, rows, source_crs)


# --- headers ---------------------------------------------------------------------------------

def _map_headers(raw: RawTable, kind: SourceKind, report: IntakeReport) -> dict[str, str]:
    """Original header → canonical name; unknown headers are reported and ignored."""
    index = alias_index(kind)
    mapping: dict[str, str] = {}
    unknown = []
    for col in raw.frame.columns:
        name = index.get(normalize_header(col))
        if name is None:
            unknown.append(str(col))
        elif name in mapping.values():
            first = next(k for k, v in mapping.items() if v == name)
            report.add("error", msg.DUPLICATE_COLUMN.format(a=first, b=col, name=name), column=str(col))
        else:
            mapping[col] = name
    ignorable = {"fid", "objectid", "shape_length", "shape_area", "shape_leng", "序号", "备注", "id"}
    for col in unknown:
        if normalize_header(col) not in ignorable and not col.lower().startswith("unnamed"):
            report.add("warning", msg.UNKNOWN_COLUMN.format(col=col), column=col)
    return mapping


def _unit_factors(mapping: dict[str, str], kind: SourceKind, report: IntakeReport) -> dict[str, float]:
    """Canonical column → factor for headers naming another unit of the column's kind (公顷 for 亩 …)."""
    out: dict[str, float] = {}
    for header, name in mapping.items():
        c = kind.column(name)
        found = _UNIT_IN_HEADER.findall(str(header))
        if not c.unit or not found:
            continue
        given = found[-1].strip().lower()
        for units in UNITS.values():
            table = {k.lower(): v for k, v in units.items()}
            factor = table[given] / table[c.unit.lower()] if c.unit.lower() in table and given in table else 1.0
            if abs(factor - 1.0) > 1e-12:
                out[name] = factor
                report.add("warning", msg.UNIT_CONVERTED.format(col=header, unit=found[-1].strip(), target=c.unit,
                                                                factor=f"{out[name]:.6g}"), column=str(header))
    return out


def _original(mapping: dict[str, str], name: str) -> str:
    return next((k for k, v in mapping.items() if v == name), name)


def _zh(kind: SourceKind, name: str) -> str:
    return "几何" if name == "geometry" else kind.column(name).zh


def _drop_summary_rows(data: pd.DataFrame, rows: pd.Series, kind: SourceKind, ctx: IntakeContext,
                       report: IntakeReport) -> pd.Series:
    """Rows that start with 合计/小计 (a total line bureaus append), or whose district is the whole city
    in a table keyed by district is the whole city (全市, 市区, 常州市 — the total rows of a statistics
    table), are skipped with a warning."""
    summary = pd.Series(False, index=data.index)
    for col in data.columns[:3]:
        summary |= data[col].astype("string").str.strip().str.match(_SUMMARY).fillna(False).astype(bool)
    if "district_code" in data.columns and "district_code" in kind.key:
        city = _CITY_ROWS | {ctx.city_zh, re.sub(r"市$", "", ctx.city_zh)}
        summary |= data["district_code"].astype("string").str.replace(r"\s+", "", regex=True).isin(city).fillna(False)
    report.add("warning", msg.SUMMARY_ROW, rows[summary])
    return ~summary


# --- values ----------------------------------------------------------------------------------

Errors = list[tuple[Message, pd.Series, pd.Series | None]]


def _empty(c: Column) -> pd.Series:
    return pd.Series(pd.NaT if c.type == "date" else pd.NA, dtype=_DTYPES.get(c.type, "object"))


_DTYPES = {"int": "Int64", "float": "Float64", "date": "datetime64[ns]", "bool": "boolean", "tribool": "boolean",
           "str": "string",
           "district": "string", "parcel_code": "string", "uscc": "string", "codes": "string"}


def _text(s: pd.Series) -> pd.Series:
    """Cell values as stripped text; integral floats from Excel lose their '.0'; blanks become NA
    (once per distinct value)."""
    return per_distinct(s, _text_each)


def _text_each(s: pd.Series) -> pd.Series:
    t = s.astype("string").str.strip()
    t = t.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
    return t.mask(t == "")


def _coerce(s: pd.Series, c: Column, ctx: IntakeContext, scale: float = 1.0) -> tuple[pd.Series, Errors]:
    t = _text(s)
    filled = t.notna()
    errors: Errors = []
    if c.type == "int" and c.name.endswith("year"):  # 2023年 / 2023年度
        t = t.str.replace(r"\s*年度?$", "", regex=True)
    if c.type in ("int", "float"):
        v, errors = _numbers(s, t, c, scale)
    elif c.type == "date":
        v = _dates(s, t)
        errors.append((msg.BAD_DATE, filled & v.isna(), None))
    elif c.type in ("bool", "tribool"):  # a blank tribool stays unknown (NA)
        low = t.str.lower()
        v = pd.Series(pd.NA, index=s.index, dtype="boolean")
        v[low.isin(_TRUE).fillna(False)] = True
        v[low.isin(_FALSE).fillna(False)] = False
        errors.append((msg.BAD_BOOL, filled & v.isna(), None))
        if c.type == "bool":
            v = v.fillna(False)
    elif c.type == "district":
        v = t.map(ctx.district_lookup()).astype("string")
        codes = ", ".join(f"{k} {n}" for k, n in ctx.districts.items())
        errors.append((msg.UNKNOWN_DISTRICT.format(codes=codes), filled & v.isna(), None))
    elif c.type == "uscc":
        v = t.str.upper()
        check = validate_uscc(v)
        reason = check["reason"].where(filled, "")
        for r in reason[reason != ""].unique():
            zh, en = _USCC_REASONS.get(r, (r, r))
            shown = v + "（校验位应为 expected " + check["expected"].astype("string") + "）" if r == "check" else None
            errors.append((msg.BAD_USCC.format(reason=zh, reason_en=en), reason == r, shown))
    elif c.type == "parcel_code":
        v = t.str.upper()
        errors += _parcel_code_errors(v, filled, ctx)
    elif c.type == "codes":
        parts = t.str.upper().str.split(_CODE_SPLIT, regex=True)
        flat = parts.explode().dropna()
        flat = flat[flat != ""]
        reasons = validate_parcel_codes(flat, ctx.districts)["reason"]
        bad_rows = reasons[reasons != ""].index.unique()
        mask = pd.Series(s.index.isin(bad_rows), index=s.index)
        errors.append((_bad_parcel_code("format"), mask, None))
        v = flat.groupby(level=0).agg(";".join).reindex(s.index).astype("string")
    elif c.name == "dlbm":
        v = landuse.normalize_dlbm(t)
        errors.append((msg.BAD_DLBM, filled & ~landuse.validate_dlbm(v).fillna(False).astype(bool), None))
    elif c.name == "ydyh_code":  # a code (leading zero restored, trailing name dropped) or an exact name
        by_name = t.map(_ydyh_by_name()).astype("string")
        norm = landuse.normalize_ydyh(t)
        known = landuse.validate_ydyh(t).fillna(False).astype(bool)
        v = norm.where(known, by_name.where(by_name.notna(), t)).astype("string")
        errors.append((msg.BAD_YDYH, filled & ~known & by_name.isna(), None))
    else:
        v = t
    if c.choices:
        v = _choice(t, c.choices)
        errors.append((msg.BAD_CHOICE.format(choices=" / ".join(_choice_label(o) for o in c.choices)),
                       filled & v.isna(), None))
    return v, [(m, mask.fillna(False).astype(bool), shown) for m, mask, shown in errors]


def _numbers(s: pd.Series, t: pd.Series, c: Column, scale: float = 1.0) -> tuple[pd.Series, Errors]:
    filled = t.notna()
    clean = t.str.replace(",", "", regex=False).str.replace("，", "", regex=False)
    percent = clean.str.endswith("%").fillna(False)
    v = pd.to_numeric(clean.str.rstrip("%"), errors="coerce").astype("Float64")
    v = v.where(~percent, v / 100)
    errors: Errors = [(msg.NOT_NUMBER, filled & v.isna(), None)]
    if scale != 1.0:  # the header named another unit (公顷 for 亩 …)
        v = v * scale
    if c.maximum == 1:  # shares may come as percentages
        v = v.where(~((v > 1) & (v <= 100)), v / 100)
    if c.positive:
        errors.append((msg.NOT_POSITIVE, (v <= 0).fillna(False), None))
    if c.minimum is not None:
        errors.append((msg.BELOW_MIN.format(minimum=c.minimum), (v < c.minimum).fillna(False), None))
    if c.maximum is not None:
        errors.append((msg.ABOVE_MAX.format(maximum=c.maximum), (v > c.maximum).fillna(False), None))
    if c.type == "int":
        frac = (v % 1 != 0).fillna(False)
        errors.append((msg.NOT_INTEGER, frac, None))
        v = v.where(~frac).round().astype("Int64")
    return v, errors


def _dates(s: pd.Series, t: pd.Series) -> pd.Series:
    """Excel dates, ISO text, 2021/3/1, 2021.3.1, 2021年3月1日, 20210301 and Excel serial numbers."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return pd.to_datetime(s).dt.tz_localize(None).astype("datetime64[ns]") if getattr(s.dt, "tz", None) else s.astype("datetime64[ns]")
    norm = (t.str.replace(r"[年月/.]", "-", regex=True).str.replace("日", "", regex=False)
             .str.replace(r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3", regex=True))
    out = pd.to_datetime(norm.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    rest = out.isna() & norm.notna()
    if rest.any():
        serial = pd.to_numeric(norm[rest], errors="coerce")
        from_serial = pd.to_datetime(serial.where((serial > 20000) & (serial < 80000)), unit="D", origin="1899-12-30")
        parsed = pd.to_datetime(norm[rest], format="mixed", errors="coerce")
        out[rest] = from_serial.fillna(parsed)
    return out.astype("datetime64[ns]")


def _choice_key(t: pd.Series, drop_brackets: bool = False) -> pd.Series:
    """Choice spelling for matching: no spaces, half-width brackets, lower case (bracketed text dropped)."""
    k = t.str.replace(r"\s+", "", regex=True).str.replace("（", "(", regex=False).str.replace("）", ")", regex=False)
    return (k.str.replace(r"\(.*?\)", "", regex=True) if drop_brackets else k).str.lower()


def _choice(t: pd.Series, choices: tuple[tuple[str, ...], ...]) -> pd.Series:
    """Each value as its allowed value (the first of its synonyms); NA where none matches.

    A spelling is matched whole first (新增建设用地（来自存量库）), then without bracketed text (出让（挂牌）)."""
    lookup = {}
    for opts in choices:
        for syn in opts:
            lookup.setdefault(_choice_key(pd.Series([syn], dtype="string")).iloc[0], opts[0])
    whole = _choice_key(t).map(lookup)
    return whole.fillna(_choice_key(t, drop_brackets=True).map(lookup)).astype("string")


def _choice_label(opts: tuple[str, ...]) -> str:
    """How an allowed value is named to users: itself, or its Chinese synonym with it (新增 new)."""
    if opts[0].isascii():
        zh = next((o for o in opts[1:] if not o.isascii()), None)
        return f"{zh}（{opts[0]}）" if zh else opts[0]
    return opts[0]


@lru_cache(maxsize=1)
def _ydyh_by_name() -> dict[str, str]:
    """用地用海 name → code (the names are unique), e.g. 工业用地 → 1001."""
    table = landuse.ydyh_table()
    return dict(zip(table["name"], table["code"], strict=True))


_USCC_REASONS = {
    "length": ("长度不是 18 位", "not 18 characters"),
    "charset": ("含有不允许的字符（I O S V Z 或符号）", "holds characters never used (I O S V Z or symbols)"),
    "check": ("校验位错误", "wrong check character"),
}
_PARCEL_REASONS = {
    "length": ("长度不是 19 位", "not 19 characters"),
    "county": ("前 6 位不是本市县级行政区划代码", "the first 6 are not a county code of the city"),
    "district_digits": ("地籍区/子区应为数字", "cadastral district / sub-district must be digits"),
    "feature_code": ("第 13–14 位特征码无效", "characters 13–14 are not a valid feature code"),
    "serial": ("末 5 位顺序号应为数字", "the last 5 (serial) must be digits"),
    "format": ("格式不符（19 位）", "not a 19-character parcel code"),
}


def _bad_parcel_code(reason: str) -> Message:
    zh, en = _PARCEL_REASONS.get(reason, (reason, reason))
    return msg.BAD_PARCEL_CODE.format(reason=zh, reason_en=en)


def _parcel_code_errors(v: pd.Series, filled: pd.Series, ctx: IntakeContext) -> Errors:
    reasons = validate_parcel_codes(v, ctx.districts)["reason"].where(filled, "")
    return [(_bad_parcel_code(r), reasons == r, None) for r in reasons[reasons != ""].unique()]


# --- records ---------------------------------------------------------------------------------

def _check_keys(out: pd.DataFrame, rows: pd.Series, kind: SourceKind, report: IntakeReport) -> pd.Series:
    """Each natural key may appear once in a file (the parcels' key is the parcel code, else BSM)."""
    bad = pd.Series(False, index=out.index)
    keys = [k for k in kind.key if k in out.columns]
    groups = [[k] for k in keys] if kind.name in ("parcels",) else [keys]
    for cols in groups:
        sub = out[cols]
        filled = sub.notna().all(axis=1)
        dup = sub.duplicated(keep="first") & filled
        if not dup.any():
            continue
        first_row = rows.groupby([sub[c] for c in cols], dropna=True).transform("first")
        label = "+".join(kind.column(c).zh for c in cols)
        for first, idx in first_row[dup].groupby(first_row[dup]).groups.items():
            report.add("error", msg.DUPLICATE_KEY.format(key=label, first=int(first)), rows[idx], label,
                       sub.loc[idx].astype(str).agg("+".join, axis=1))
        bad |= dup
    return bad


def _check_cross_fields(out: pd.DataFrame, rows: pd.Series, kind: SourceKind, mapping: dict[str, str],
                        report: IntakeReport) -> pd.Series:
    """The checks of ``kind`` that look at several fields of a row (see `SourceKind`):
    parcel code in its district, dates (years) not after today, parts not above their whole."""
    bad = pd.Series(False, index=out.index)
    if kind.parcel_in_district and "parcel_code" in mapping.values() and "district_code" in mapping.values():
        county = out["parcel_code"].str.slice(0, 6)
        mismatch = (county != out["district_code"]).fillna(False) & out["parcel_code"].str.len().eq(19).fillna(False)
        for c in county[mismatch].unique():
            m = mismatch & (county == c)
            report.add("error", msg.PARCEL_COUNTY_MISMATCH.format(county=c), rows[m], _original(mapping, "parcel_code"),
                       out["parcel_code"][m])
        bad |= mismatch
    today = date.today()
    for name in kind.not_future:
        if name not in mapping.values():
            continue
        if kind.column(name).type == "date":
            late = (out[name] > pd.Timestamp(today)).fillna(False).astype(bool)
            shown = out[name].dt.strftime("%Y-%m-%d")
            m = msg.FUTURE_DATE.format(today=today.isoformat())
        else:
            late = (out[name] > today.year).fillna(False).astype(bool)
            shown = out[name].astype("string")
            m = msg.FUTURE_YEAR.format(year=today.year)
        report.add("error", m, rows[late], _original(mapping, name), shown[late])
        bad |= late
    present = set(mapping.values())
    for parts, whole, over, shown in parts_above_whole(out, kind):
        if whole not in present or not set(parts) <= present:
            continue
        report.add("error", msg.PART_ABOVE_WHOLE.format(**_part_labels(kind, parts, whole)), rows[over],
                   _original(mapping, parts[0] if len(parts) == 1 else whole), shown)
        bad |= over
    return bad


def parts_above_whole(frame: pd.DataFrame, kind: SourceKind
                      ) -> list[tuple[tuple[str, ...], str, pd.Series, pd.Series]]:
    """For each ``kind.not_above`` rule: (parts, whole, rows where the filled parts exceed the whole, shown value).

    A sum of several parts is only reported where no single part already exceeds the whole."""
    found = []
    for parts, whole in kind.not_above:
        total = frame[whole].astype("float64")
        values = frame[list(parts)].astype("float64")
        over = (values.sum(axis=1, min_count=len(parts)) > total * (1 + 1e-9)).fillna(False).astype(bool)
        if len(parts) > 1:
            for p in parts:
                over &= ~(values[p] > total).fillna(False).astype(bool)
        if over.any():
            shown = values[over].round(2).astype(str).agg(" + ".join, axis=1) + " > " + total[over].round(2).astype(str)
            found.append((parts, whole, over, shown))
    return found


def _part_labels(kind: SourceKind, parts: tuple[str, ...], whole: str) -> dict[str, str]:
    return {"parts": " + ".join(kind.column(p).zh for p in parts), "whole": kind.column(whole).zh,
            "parts_en": " + ".join(parts), "whole_en": whole}


# --- geometry --------------------------------------------------------------------------------

def _check_geometry(geometry: gpd.GeoSeries, out: pd.DataFrame, rows: pd.Series, kind: SourceKind,
                    ctx: IntakeContext, report: IntakeReport,
                    crs_override: str | None) -> tuple[gpd.GeoSeries, pd.Series, str] | None:
    vertices = pd.Series(shapely.get_num_coordinates(np.asarray(geometry.array)), index=geometry.index)
    huge = vertices > MAX_VERTICES
    report.add("error", msg.TOO_MANY_VERTICES.format(limit=f"{MAX_VERTICES:,}"), rows[huge], "geometry",
               vertices[huge].map("{:,}".format))
    geometry = geometry.where(~huge, None)  # not checked further: each check would take seconds
    screen = screen_coordinates(geometry, geometry.crs, crs_override)
    impossible = _report_coordinates(screen, geometry, rows, report)
    geometry = geometry.where(~impossible, None)  # the layer is judged by its other features
    present = ~(geometry.isna() | geometry.is_empty)
    crs = check_crs(geometry.crs, screen.bounds, crs_override, extent=ctx.extent)
    if not crs.ok:
        m = msg.NO_CRS if geometry.crs is None and crs_override is None else msg.BAD_CRS
        report.add("error", m.format(problem=crs.problem_zh, problem_en=crs.problem_en, fix=crs.fix_zh, fix_en=crs.fix_en))
        return None
    if crs.note_zh:
        report.add("warning", msg.CRS_NOTE.format(note=crs.note_zh, note_en=crs.note_en))
    bad = huge | impossible
    if kind.geometry == "polygon":
        report.add("error", msg.EMPTY_GEOMETRY, rows[~present & ~bad], "geometry")
        bad |= ~present
    gtype = geometry.geom_type.fillna("")
    not_poly = present & ~gtype.isin(["Polygon", "MultiPolygon"])
    for t in gtype[not_poly].unique():
        report.add("error", msg.NOT_POLYGON.format(gtype=t), rows[not_poly & (gtype == t)], "geometry")
    bad |= not_poly
    gdf = gpd.GeoDataFrame(geometry=geometry.where(present & ~not_poly, None), crs=geometry.crs)
    stored = to_storage(gdf.set_crs(crs.source, allow_override=True) if crs.source != "GCJ02" and geometry.crs is None else gdf,
                        crs.source).geometry
    fixed, log = repair_geometries(stored)
    if len(log):
        log = log.set_index("index")
        ok, failed = log[log["fixed"]], log[~log["fixed"] & log.index.isin(stored[present & ~not_poly].index)]
        for reasons, m in ((ok, msg.REPAIRED_GEOMETRY), (failed, msg.INVALID_GEOMETRY)):
            if len(reasons):
                report.add("repaired" if m is msg.REPAIRED_GEOMETRY else "error",
                           m.format(reason="见“值”列 see value"), rows[reasons.index], "geometry", reasons["problem"])
        bad |= pd.Series(out.index.isin(failed.index), index=out.index)
    inside = pd.Series(in_extent(fixed, ctx.extent), index=out.index)
    outside = present & ~not_poly & ~inside & ~bad
    report.add("error", msg.OUTSIDE_EXTENT.format(city=ctx.city_zh), rows[outside], "geometry")
    bad |= outside
    return fixed, bad, crs.source


#: why a feature's coordinates are impossible (:class:`CoordinateScreen`): problem zh/en, hint zh/en
_COORDINATE_REASONS = {
    "nonfinite": ("坐标含无效值（NaN 或无穷大）", "a coordinate is NaN or infinite",
                  "多为导出或坐标转换出错：删除或重绘含无效值的节点",
                  "usually an export or conversion error: delete or redraw that vertex"),
    "range": ("超出 {crs} 经纬度的取值范围（经度 −180°～180°、纬度 −90°～90°）",
              "beyond the longitude (−180°…180°) / latitude (−90°…90°) range of {crs}",
              "是否经纬度颠倒、混入了投影坐标（米）或多/少了位数",
              "longitude and latitude swapped, projected metres mixed in, or digits added or lost"),
    "area": ("远在 {crs} 的适用范围之外（超出 {margin:g}° 以上）",
             "far outside the area of use of {crs} (by more than {margin:g}°)",
             "是否多/少了位数、X/Y 颠倒或混入了其他坐标系的坐标",
             "digits added or lost, X and Y swapped, or coordinates of another CRS mixed in"),
    "earth": ("数值过大（绝对值超过 {limit:g}），不是地球上任何位置的坐标",
              "too large (absolute value above {limit:g}): no position on Earth in any CRS",
              "是否多了位数或单位有误", "digits added, or the wrong unit"),
}


def _report_coordinates(screen: CoordinateScreen, geometry: gpd.GeoSeries, rows: pd.Series,
                        report: IntakeReport) -> pd.Series:
    """Report the features whose coordinates are impossible (row, ``geometry``, the coordinates as value);
    True for those rows."""
    crs = f"按坐标推断的 {screen.crs}" if screen.guessed else screen.crs
    crs_en = f"{screen.crs} (guessed from the coordinates)" if screen.guessed else screen.crs
    for reason, mask in (("nonfinite", screen.nonfinite), (screen.limit, screen.impossible)):
        if not mask.any():
            continue
        zh, en, hint, hint_en = _COORDINATE_REASONS[reason]
        fill = {"crs": crs, "margin": AREA_OF_USE_MARGIN, "limit": MAX_ABS_COORDINATE}
        m = msg.BAD_COORDINATES.format(reason=zh.format(**fill), reason_en=en.format(**{**fill, "crs": crs_en}),
                                       hint=hint, hint_en=hint_en)
        geoms = np.asarray(geometry.array)[mask]
        report.add("error", m, rows[mask], "geometry",
                   _bad_vertex_text(geoms) if reason == "nonfinite" else _bounds_text(shapely.bounds(geoms)))
    return pd.Series(screen.nonfinite | screen.impossible, index=geometry.index)


def _number(v: float) -> str:
    """A coordinate for a message: degrees to 1e-6, metres to 1 m, absurd numbers in e-notation."""
    if not np.isfinite(v) or abs(v) >= 1e9:
        return f"{v:.4g}"
    return f"{v:.0f}" if abs(v) >= 1000 else f"{v:.6f}".rstrip("0").rstrip(".")


def _bounds_text(b: np.ndarray) -> list[str]:
    """Per-feature bounds as ``X a…b, Y c…d``."""
    def span(lo: float, hi: float) -> str:
        return _number(lo) if _number(lo) == _number(hi) else f"{_number(lo)}…{_number(hi)}"
    return [f"X {span(x0, x1)}, Y {span(y0, y1)}" for x0, y0, x1, y1 in b]


def _bad_vertex_text(geoms: np.ndarray) -> list[str]:
    """The first NaN or infinite vertex of each geometry as ``(x, y)`` (else its bounds)."""
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    feature, at = np.unique(idx[bad], return_index=True)
    first = dict(zip(feature.tolist(), coords[bad][at].tolist(), strict=True))
    fallback = _bounds_text(shapely.bounds(geoms))
    return [f"({_number(first[i][0])}, {_number(first[i][1])})" if i in first else fallback[i]
            for i in range(len(geoms))]


def _check_area(out: gpd.GeoDataFrame, rows: pd.Series, report: IntakeReport) -> None:
    declared = out["declared_area_m2"].astype("float64")
    diff = (declared - out["area_m2"]).abs() / out["area_m2"].where(out["area_m2"] > 0)
    off = (diff > AREA_TOLERANCE).fillna(False)
    if off.any():
        pct = (diff[off] * 100).round(1).astype(str)
        report.add("warning", msg.AREA_MISMATCH.format(pct="见值 see value"), rows[off], "宗地面积", pct + "%")
