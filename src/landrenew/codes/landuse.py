"""Land-use classifications and their crosswalk.

* ``landuse.csv`` — the 三调 working classification (第三次全国国土调查工作分类,
  TD/T 1055-2019) used by 三调 and the annual change surveys: every second-level
  code (DLBM), the K-suffixed "adjustable" codes (可调整地类, former cultivated land
  now planted), 1104A 养殖坑塘, 08H2A 高教用地 and 0810A 广场用地, plus the
  GB/T 21010-2017 second-level codes that 三调 merged (0501–0507, 0604, 0801–0808,
  0901–0906), which cadastral (宗地) data still uses (``scheme`` column). Each row
  carries its 三大类 class (农用地 / 建设用地 / 未利用地) and its main counterpart in
  the newer classification (``ydyh_code``; a first- or second-level code when the
  三调 class spans several).
* ``ydyh.csv`` — the land part of the 用地用海 classification (《国土空间调查、规划、
  用途管制用地用海分类指南》, 2023): levels 1–3, incl. 100101–100103 一/二/三类工业用地
  and 16 留白用地 (sea classes at level 1 only).

Codes the sources did not make certain (e.g. 1107A 干渠) are left out on purpose.
"""

from __future__ import annotations

import functools
from importlib import resources

import pandas as pd

from landrenew.distinct import per_distinct

_BOOL_COLUMNS = ("is_construction", "is_agricultural", "is_cultivated", "is_industrial")
_CODE = r"^(?P<code>\d{1,2}H\d|\d{1,6})(?P<suffix>[AK]?)(?P<rest>.*)$"
SANDIAO = "三调"
GBT21010 = "GB/T 21010-2017"


def _read(name: str) -> pd.DataFrame:
    with resources.files("landrenew.codes").joinpath(name).open(encoding="utf-8") as f:
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
    for col in _BOOL_COLUMNS:
        if col in df.columns:
            df[col] = df[col].str.lower().map({"true": True, "false": False}).astype(bool)
    if "level" in df.columns:
        df["level"] = df["level"].astype(int)
    return df.replace({"": None})


@functools.cache
def _dlbm() -> pd.DataFrame:
    return _read("landuse.csv").set_index("dlbm", drop=False)


@functools.cache
def _ydyh() -> pd.DataFrame:
    return _read("ydyh.csv").set_index("code", drop=False)


def dlbm_table() -> pd.DataFrame:
    """The 三调 land-use codes (a copy): ``dlbm, dlmc, level1, level1_name, name_en,
    scheme, land_class, is_construction, is_agricultural, is_cultivated, ydyh_code, ydyh_name``."""
    return _dlbm().reset_index(drop=True)


def ydyh_table() -> pd.DataFrame:
    """The 用地用海 land-use codes (a copy): ``code, name, name_en, level, parent,
    is_construction, is_industrial``."""
    return _ydyh().reset_index(drop=True)


def _clean(values: pd.Series) -> pd.Series:
    s = values.astype("string").str.normalize("NFKC").str.strip().str.upper()
    return s.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)  # 601.0 from Excel


def _normalize(values: pd.Series, known: pd.Index) -> pd.Series:
    """Clean codes, drop a trailing name ("0601工业用地"), restore a lost leading zero (once per
    distinct value)."""
    return per_distinct(values, lambda v: _normalize_each(v, known))


def _normalize_each(values: pd.Series, known: pd.Index) -> pd.Series:
    s = _clean(values)
    parts = s.str.extract(_CODE)
    rest_ok = parts["rest"].fillna("").str.match(r"^(?:$|[^0-9A-Z])")
    code = (parts["code"] + parts["suffix"]).where(rest_ok)
    padded = "0" + code
    out = s.copy()
    out = out.mask(padded.isin(known) & ~code.isin(known), padded)
    out = out.mask(code.isin(known), code)
    return out.astype("string")


def normalize_dlbm(values: pd.Series) -> pd.Series:
    """Canonical DLBM strings: stripped, upper-case (``05h1`` → ``05H1``, ``0201k`` →
    ``0201K``), full-width digits folded, a trailing name dropped (``0601 工业用地``),
    and a leading zero lost by Excel restored when that gives a known code
    (``601`` → ``0601``, ``9`` → ``09``). Unknown values are returned cleaned but
    otherwise unchanged; nulls stay null."""
    return _normalize(values, _dlbm().index)


def normalize_ydyh(values: pd.Series) -> pd.Series:
    """Canonical 用地用海 codes, normalised like :func:`normalize_dlbm`
    (``100101.0`` → ``100101``, ``70101`` → ``070101``)."""
    return _normalize(values, _ydyh().index)


def validate_dlbm(values: pd.Series, scheme: str | None = None) -> pd.Series:
    """True where the value (after :func:`normalize_dlbm`) is a known code.

    ``scheme="三调"`` accepts 三调 codes only; the default also accepts the
    GB/T 21010-2017 codes that 三调 merged."""
    table = _dlbm()
    known = table.index if scheme is None else table.index[table["scheme"] == scheme]
    return normalize_dlbm(values).isin(known).astype(bool)


def validate_ydyh(values: pd.Series) -> pd.Series:
    """True where the value (after :func:`normalize_ydyh`) is a known 用地用海 code."""
    return normalize_ydyh(values).isin(_ydyh().index).astype(bool)


def _lookup(codes: pd.Series, table: pd.DataFrame, column: str) -> pd.Series:
    return codes.map(table[column])


def dlbm_to_ydyh(values: pd.Series) -> pd.Series:
    """Main 用地用海 counterpart of each DLBM (string; null when unknown)."""
    return _lookup(normalize_dlbm(values), _dlbm(), "ydyh_code").astype("string")


def dlbm_name(values: pd.Series) -> pd.Series:
    """Chinese name (DLMC) of each DLBM (string; null when unknown)."""
    return _lookup(normalize_dlbm(values), _dlbm(), "dlmc").astype("string")


def ydyh_name(values: pd.Series) -> pd.Series:
    """Chinese name of each 用地用海 code (string; null when unknown)."""
    return _lookup(normalize_ydyh(values), _ydyh(), "name").astype("string")


def _flag(values: pd.Series, column: str) -> pd.Series:
    return _lookup(normalize_dlbm(values), _dlbm(), column).astype("boolean").fillna(False).astype(bool)


def is_construction(dlbm: pd.Series) -> pd.Series:
    """True for 建设用地 (by the 三大类 of the code); unknown codes give False."""
    return _flag(dlbm, "is_construction")


def is_agricultural(dlbm: pd.Series) -> pd.Series:
    """True for 农用地 (incl. 农村道路, 设施农用地, 坑塘, 沟渠, 田坎); unknown codes give False."""
    return _flag(dlbm, "is_agricultural")


def is_cultivated(dlbm: pd.Series) -> pd.Series:
    """True for 耕地 (0101 水田, 0102 水浇地, 0103 旱地); K codes are not 耕地."""
    return _flag(dlbm, "is_cultivated")


def is_industrial(dlbm: pd.Series | None = None, ydyh: pd.Series | None = None) -> pd.Series:
    """True where DLBM is 0601 工业用地 or the 用地用海 code is 1001 or one of 100101–100103.

    Either series may be None; when both are given they must share an index
    and a row is industrial if either says so.

    Raises:
        ValueError: when both are None.
    """
    if dlbm is None and ydyh is None:
        raise ValueError("is_industrial needs dlbm, ydyh or both")
    out: pd.Series | None = None
    if dlbm is not None:
        out = (normalize_dlbm(dlbm) == "0601").astype("boolean").fillna(False).astype(bool)
    if ydyh is not None:
        by_ydyh = _lookup(normalize_ydyh(ydyh), _ydyh(), "is_industrial").astype("boolean").fillna(False).astype(bool)
        out = by_ydyh if out is None else out | by_ydyh
    assert out is not None
    return out
