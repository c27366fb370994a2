"""The lists (清单) of an analysis run: tagged parcels, evaluated firms, recommendations and 连片 units.

Each list is described once (:data:`LISTS`): its columns with Chinese and English headers and units,
which of them can be filtered (``in`` a set of values, text ``contains``, numeric ``range``, ``tags``
any of, ``bool``, ``eq``) and sorted. :func:`query_list` filters, sorts and pages **in SQL** (the total
comes from its own COUNT query: a run is never loaded whole); :func:`export_list` streams the same
rows into an Excel workbook. A district role sees only its district's rows (``districts``).

Filters are given as a mapping of text, as in a URL query or on the command line::

    district_code=320412,320411   tags=危污   area_mu_min=10   area_mu_max=50   q=机械   matched=true

Speed at a million parcels needs indexes on the run tables that lead with ``run_id`` and then the
filtered or sorted column, e.g. run_parcel (run_id, district_code, area_mu) and (run_id, area_mu);
counts and sums read the run table alone unless a condition needs a joined table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    String,
    and_,
    cast,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.sql import ColumnElement, FromClause

from landrenew.features import data_stamp
from landrenew.lru import LRU
from landrenew.outputs import SPACE_ZH
from landrenew.policy import Profile
from landrenew.store import textindex
from landrenew.store.models import (
    AnalysisRun,
    ClearanceCase,
    FirmYear,
    Parcel,
    RunCase,
    RunFirm,
    RunParcel,
    RunSearch,
    RunTagHit,
    RunUnit,
)

#: at most this many rows go into one exported sheet (the sheet says so when more matched)
MAX_EXPORT_ROWS = 200_000
MAX_PAGE_SIZE = 500
FILTER_KINDS = ("in", "eq", "contains", "range", "tags", "bool")


class ListError(ValueError):
    """A request the lists cannot answer: unknown list, column or filter, a bad value, no run."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.code, self.zh, self.en = code, zh, en


@dataclass(frozen=True)
class Column:
    """A column of a list: header, unit, type, and what one can do with it."""

    key: str
    zh: str
    en: str
    unit_zh: str = ""
    unit_en: str = ""
    type: str = "text"  # text | int | number | percent | bool
    filter: str | None = None  # one of FILTER_KINDS
    sort: bool = False
    total: bool = False  # summed in the totals (areas, money, yields)
    digits: int = 2
    link: str | None = None  # map (a parcel key) | map_list (keys joined by ;) | case (a case number)
    names: str | None = None  # district | family | path | state | class: codes named by the profile
    lang: str | None = None  # zh | en: shown only in that language

    def header(self, lang: str = "zh") -> str:
        """The header with its unit: ``面积（亩）`` / ``Area (mu)``."""
        if lang == "en":
            return f"{self.en} ({self.unit_en})" if self.unit_en else self.en
        return f"{self.zh}（{self.unit_zh}）" if self.unit_zh else self.zh

    def describe(self, lang: str = "zh") -> dict[str, Any]:
        return {"key": self.key, "zh": self.zh, "en": self.en, "unit_zh": self.unit_zh, "unit_en": self.unit_en,
                "header": self.header(lang), "type": self.type, "filter": self.filter, "sort": self.sort,
                "total": self.total, "digits": self.digits, "link": self.link, "names": self.names}


@dataclass
class Source:
    """What a list reads for one run: the FROM clause, an expression per column, the run and
    district conditions, and the stable order of last resort."""

    from_: FromClause
    exprs: dict[str, ColumnElement]
    run: ColumnElement
    district: Callable[[set[str]], ColumnElement]
    tiebreak: ColumnElement
    extra: dict[str, ColumnElement] = field(default_factory=dict)  # selected, not columns (e.g. detail JSON)
    filters: dict[str, Callable[[list[str]], ColumnElement]] = field(default_factory=dict)  # overrides
    #: the run table alone, and the columns that need the joined tables of ``from_``: counts and sums
    #: that need none of them read the run table only (the joins are to unique keys: they add no rows)
    base: FromClause | None = None
    joined: frozenset[str] = frozenset()

    def counting_from(self, keys: Iterable[str]) -> FromClause:
        """The FROM clause of a COUNT/SUM over conditions and sums on ``keys``."""
        return self.base if self.base is not None and not (set(keys) & self.joined) else self.from_


@dataclass(frozen=True)
class ListSpec:
    """One list: its name, titles, columns, text-search columns, default order and source."""

    name: str
    zh: str
    en: str
    columns: tuple[Column, ...]
    search: tuple[str, ...]
    default_sort: str
    source: Callable[[int, int | None], Source]  # (run id, run year) → Source
    note_zh: str = ""
    note_en: str = ""

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise ListError("column", f"清单「{self.zh}」没有列 {key}（可选：{', '.join(c.key for c in self.columns)}）",
                        f"list {self.name} has no column {key} (one of {', '.join(c.key for c in self.columns)})")

    def shown(self, lang: str = "zh") -> list[Column]:
        """The columns shown in ``lang`` (language-specific text columns only in their language)."""
        return [c for c in self.columns if c.lang in (None, lang)]

    def describe(self, lang: str = "zh") -> dict[str, Any]:
        return {"name": self.name, "zh": self.zh, "en": self.en, "title": self.en if lang == "en" else self.zh,
                "note": self.note_en if lang == "en" else self.note_zh, "default_sort": self.default_sort,
                "search": list(self.search), "columns": [c.describe(lang) for c in self.shown(lang)]}


# --------------------------------------------------------------------------- the four lists

MU = {"unit_zh": "亩", "unit_en": "mu"}
WAN = {"unit_zh": "万元", "unit_en": "10k yuan"}
POINTS = {"unit_zh": "分", "unit_en": "points"}
AREA = {**MU, "type": "number", "filter": "range", "sort": True, "total": True}


def _district_column() -> Column:
    return Column("district_code", "行政区", "District", filter="in", sort=True, names="district")


def _parcels(run_id: int, _year: int | None) -> Source:
    rp, p, f = RunParcel.__table__, Parcel.__table__, RunFirm.__table__
    src = rp.outerjoin(p, p.c.key == rp.c.parcel_key).outerjoin(
        f, and_(f.c.run_id == rp.c.run_id, f.c.uscc == rp.c.firm_uscc))
    exprs = {"parcel_key": rp.c.parcel_key, "district_code": rp.c.district_code, "dlbm": rp.c.dlbm,
             "area_mu": rp.c.area_mu, "tags": rp.c.tags, "space": rp.c.space, "park_name": rp.c.park_name,
             "right_holder": p.c.right_holder, "firm_name": f.c.name, "firm_uscc": rp.c.firm_uscc,
             "firm_class": rp.c.firm_class, "unit_id": rp.c.unit_id, "rule_ids": rp.c.rule_ids}
    hits = RunTagHit.__table__
    return Source(src, exprs, rp.c.run_id == run_id, lambda ds: rp.c.district_code.in_(sorted(ds)), rp.c.id,
                  base=rp, joined=frozenset({"right_holder", "firm_name"}),
                  filters={"tags": lambda chars: rp.c.parcel_key.in_(
                      select(hits.c.parcel_key).where(hits.c.run_id == run_id, hits.c.tag.in_(chars)))})


def _firms(run_id: int, year: int | None) -> Source:
    f, fy = RunFirm.__table__, FirmYear.__table__
    src = f.outerjoin(fy, and_(fy.c.uscc == f.c.uscc, fy.c.year == (year if year is not None else -1)))
    exprs = {"uscc": f.c.uscc, "name": f.c.name, "district_code": f.c.district_code, "group": f.c.group,
             "land_area_mu": fy.c.land_area_mu, "tax_wan": fy.c.tax_wan, "sales_wan": fy.c.sales_wan,
             "score": f.c.score, "rank": f.c.rank, "firm_class": f.c.firm_class,
             "class_reason_zh": f.c.class_reason_zh, "class_reason_en": f.c.class_reason_en, "path": f.c.path,
             "land_supply": f.c.land_supply, "energy_quota": f.c.energy_quota,
             "surcharge_wan": f.c.surcharge_total_yuan / 10000.0}
    return Source(src, exprs, f.c.run_id == run_id, lambda ds: f.c.district_code.in_(sorted(ds)), f.c.id,
                  extra={"detail": f.c.detail}, base=f, joined=frozenset({"land_area_mu", "tax_wan", "sales_wan"}))


def _recommendations(run_id: int, _year: int | None) -> Source:
    c, cc = RunCase.__table__, ClearanceCase.__table__
    opened = and_(cc.c.run_id == c.c.run_id, cc.c.run_case_id == c.c.case_id)
    case_no = select(cc.c.case_no).where(opened).order_by(cc.c.id.desc()).limit(1).scalar_subquery()
    state = select(cc.c.state).where(opened).order_by(cc.c.id.desc()).limit(1).scalar_subquery()
    exprs = {k: c.c[k] for k in ("case_id", "district_code", "n_parcels", "parcel_keys", "area_mu",
                                 "construction_mu", "tags", "matched", "family", "path", "rule_id", "clause",
                                 "reason_zh", "reason_en", "priority", "vacated_mu", "cultivated_mu",
                                 "paddy_mu", "grain_kg", "construction_quota_mu", "stock_linkage_mu")}
    exprs |= {"case_no": case_no, "case_state": state}
    return Source(c, exprs, c.c.run_id == run_id, lambda ds: c.c.district_code.in_(sorted(ds)), c.c.id,
                  filters={"case_no": lambda vs: exists().where(opened, cc.c.case_no.in_(vs))})


def _units(run_id: int, _year: int | None) -> Source:
    u, rp, c = RunUnit.__table__, RunParcel.__table__, RunCase.__table__
    member = and_(rp.c.run_id == u.c.run_id, rp.c.unit_id == u.c.unit_id)
    district = select(func.min(rp.c.district_code)).where(member).scalar_subquery()
    rec = and_(c.c.run_id == u.c.run_id, c.c.unit_id == u.c.unit_id)
    case_id = select(func.min(c.c.case_id)).where(rec).scalar_subquery()
    path = select(func.min(c.c.path)).where(rec).scalar_subquery()
    exprs = {"unit_id": u.c.unit_id, "district_code": district, "n_parcels": u.c.n_parcels,
             "area_mu": u.c.area_mu, "tags": u.c.tags, "case_id": case_id, "path": path, "members": u.c.members}

    def in_districts(ds: Iterable[str]) -> ColumnElement:
        return exists().where(member, rp.c.district_code.in_(sorted(ds)))

    return Source(u, exprs, u.c.run_id == run_id, in_districts, u.c.id,
                  filters={"district_code": in_districts,
                           "path": lambda vs: exists().where(rec, c.c.path.in_(vs))})


LISTS: dict[str, ListSpec] = {s.name: s for s in (
    ListSpec(
        "parcels", "危污乱散低地块清单", "Tagged parcels",
        (Column("parcel_key", "宗地代码", "Parcel", filter="contains", sort=True, link="map"),
         _district_column(),
         Column("dlbm", "地类编码", "Land use", filter="in", sort=True),
         Column("area_mu", "面积", "Area", **AREA),
         Column("tags", "标签", "Tags", filter="tags", sort=True),
         Column("space", "空间", "Space", filter="in", sort=True, names="space"),
         Column("park_name", "园区", "Park", filter="contains", sort=True),
         Column("right_holder", "权利人", "Right holder", filter="contains"),
         Column("firm_name", "企业", "Firm", filter="contains"),
         Column("firm_uscc", "统一社会信用代码", "USCC", filter="contains"),
         Column("firm_class", "亩均等级", "Firm class", filter="in", sort=True),
         Column("unit_id", "连片单元", "Unit", type="int", filter="eq", sort=True),
         Column("rule_ids", "命中规则", "Rules hit", filter="contains")),
        ("parcel_key", "right_holder", "firm_name", "park_name"), "-area_mu", _parcels),
    ListSpec(
        "firms", "亩均评价企业清单", "Firms by class",
        (Column("uscc", "统一社会信用代码", "USCC", filter="contains", sort=True),
         Column("name", "企业名称", "Firm", filter="contains", sort=True),
         _district_column(),
         Column("group", "规模", "Group", filter="in", sort=True),
         Column("land_area_mu", "用地面积", "Land", **AREA),
         Column("tax_wan", "实缴税金", "Tax", **WAN, type="number", filter="range", sort=True, total=True),
         Column("sales_wan", "销售收入", "Sales", **WAN, type="number", filter="range", sort=True, total=True),
         Column("score", "综合得分", "Score", **POINTS, type="number", filter="range", sort=True, digits=1),
         Column("rank", "排名", "Rank", type="int", filter="range", sort=True),
         Column("firm_class", "亩均等级", "Class", filter="in", sort=True),
         Column("class_reason_zh", "分类依据", "Why", lang="zh"),
         Column("class_reason_en", "分类依据", "Why", lang="en"),
         Column("path", "处置路径", "Path", filter="in", sort=True, names="path"),
         Column("land_supply", "用地保障", "Land supply", filter="in", sort=True),
         Column("energy_quota", "用能保障", "Energy quota", filter="in", sort=True),
         Column("surcharge_wan", "差别化加价", "Surcharges", **WAN, type="number", filter="range", sort=True,
                total=True)),
        ("uscc", "name"), "-score", _firms,
        "展开一行可见各项指标的得分贡献", "expand a row for each indicator's contribution to the score"),
    ListSpec(
        "recommendations", "处置建议清单", "Recommendations",
        (Column("case_id", "建议编号", "Recommendation", filter="contains", sort=True),
         _district_column(),
         Column("family", "处置类别", "Family", filter="in", sort=True, names="family"),
         Column("path", "处置路径", "Path", filter="in", sort=True, names="path"),
         Column("priority", "优先级", "Priority", **POINTS, type="number", filter="range", sort=True, digits=1),
         Column("n_parcels", "宗地数", "Parcels", type="int", filter="range", sort=True),
         Column("area_mu", "面积", "Area", **AREA),
         Column("construction_mu", "建设用地", "Construction land", **AREA),
         Column("tags", "标签", "Tags", filter="tags", sort=True),
         Column("matched", "有匹配路径", "Matched", type="bool", filter="bool", sort=True),
         Column("clause", "政策条款", "Clause", filter="contains"),
         Column("rule_id", "规则", "Rule", filter="in", sort=True),
         Column("vacated_mu", "腾退空间", "Vacated", **AREA),
         Column("cultivated_mu", "新增耕地", "New cultivated land", **AREA),
         Column("paddy_mu", "其中水田", "of which paddy", **AREA),
         Column("grain_kg", "新增粮食产能", "New grain capacity", unit_zh="公斤", unit_en="kg", type="number",
                filter="range", sort=True, total=True, digits=0),
         Column("construction_quota_mu", "建设用地指标", "Construction quota", **AREA),
         Column("stock_linkage_mu", "增存挂钩指标", "Stock-linkage quota", **AREA),
         Column("case_no", "案件编号", "Case", filter="in", link="case"),
         Column("case_state", "案件状态", "Case state", names="state"),
         Column("reason_zh", "理由", "Reason", lang="zh"),
         Column("reason_en", "理由", "Reason", lang="en"),
         Column("parcel_keys", "宗地", "Parcels", filter="contains", link="map_list")),
        ("case_id", "parcel_keys", "clause"), "-priority", _recommendations),
    ListSpec(
        "units", "连片改造单元清单", "Redevelopment units (连片)",
        (Column("unit_id", "单元编号", "Unit", type="int", filter="eq", sort=True),
         _district_column(),
         Column("n_parcels", "宗地数", "Parcels", type="int", filter="range", sort=True),
         Column("area_mu", "面积", "Area", **AREA),
         Column("tags", "标签（宗数）", "Tags (parcels)", filter="tags", sort=True),
         Column("case_id", "建议编号", "Recommendation"),
         Column("path", "处置路径", "Path", filter="in", names="path"),
         Column("members", "宗地", "Parcels", filter="contains", link="map_list")),
        ("members",), "-area_mu", _units),
)}


def get_list(name: str) -> ListSpec:
    """The list called ``name``."""
    try:
        return LISTS[name]
    except KeyError:
        raise ListError("unknown_list", f"没有清单 {name}（可选：{', '.join(LISTS)}）",
                        f"no list {name} (one of {', '.join(LISTS)})") from None


def names(profile: Profile) -> dict[str, dict[str, dict[str, str]]]:
    """The profile's names of the codes the lists show: districts, families, paths, case states,
    spaces, classes."""
    out: dict[str, dict[str, dict[str, str]]] = {
        "district": {d.code: {"zh": d.name_zh, "en": d.name_en} for d in profile.city.districts if d.code},
        "family": {f.key: {"zh": f.name_zh, "en": f.name_en} for f in profile.disposal.families},
        "path": {r.path: {"zh": r.path_zh, "en": r.path_en} for r in profile.disposal.rules},
        "state": {s.key: {"zh": s.name_zh, "en": s.name_en}
                  for w in profile.operations.workflows for s in w.params.states},
        "space": {k: {"zh": v, "en": f"{k} space"} for k, v in SPACE_ZH.items()},
    }
    return out


def choices(profile: Profile, spec: ListSpec) -> dict[str, list[dict[str, str]]]:
    """The values a column with a fixed set of them can be filtered by (from the profile), e.g. the
    districts, firm classes, disposal families and paths — for select boxes."""
    named = names(profile)
    allocation = {c.class_key: c for c in profile.allocation.classes}
    not_rated = profile.evaluation.classes.params.not_rated
    classes = [*profile.evaluation.classes.params.cutoffs, not_rated]
    subject = "firm" if spec.name == "firms" else "parcel"
    paths: dict[str, dict[str, str]] = {}
    for r in profile.disposal.rules:
        if r.subject == subject:
            paths.setdefault(r.path, {"value": r.path, "zh": r.path_zh, "en": r.path_en})
    families = {r.family for r in profile.disposal.rules if r.subject == subject}
    out: dict[str, list[dict[str, str]]] = {}
    for c in spec.columns:
        if c.filter not in ("in", "bool"):
            continue
        if c.names in ("district", "space"):
            out[c.key] = [{"value": k, **v} for k, v in named[c.names].items()]
        elif c.key == "firm_class":
            zh = {k: a.name_zh for k, a in allocation.items()} | {not_rated: "不参评"}
            en = {k: a.name_en for k, a in allocation.items()} | {not_rated: "not rated"}
            out[c.key] = [{"value": k, "zh": f"{k} {zh.get(k, '')}".strip(), "en": f"{k} {en.get(k, '')}".strip()}
                          for k in classes]
        elif c.key == "family":
            out[c.key] = [{"value": f.key, "zh": f.name_zh, "en": f.name_en}
                          for f in profile.disposal.families if f.key in families]
        elif c.key == "path":
            out[c.key] = list(paths.values())
        elif c.type == "bool":
            out[c.key] = [{"value": "true", "zh": "是", "en": "yes"}, {"value": "false", "zh": "否", "en": "no"}]
    return out


def catalogue(profile: Profile, lang: str = "zh") -> list[dict[str, Any]]:
    """Every list with its columns, what can be filtered and sorted, and the choices of its
    select filters."""
    return [s.describe(lang) | {"choices": choices(profile, s)} for s in LISTS.values()]


# --------------------------------------------------------------------------- filters and order

def _values(raw: str | Iterable[str]) -> list[str]:
    parts = [raw] if isinstance(raw, str) else list(raw)
    return [v.strip() for p in parts for v in str(p).split(",") if v.strip()]


def _number(spec: ListSpec, key: str, text: str, integer: bool = False) -> float:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise ListError("filter", f"清单「{spec.zh}」筛选 {key} 须为数字，而非「{text}」",
                        f"filter {key} of list {spec.name} must be a number, not {text!r}") from None
    if not math.isfinite(value):
        raise ListError("filter", f"筛选 {key} 须为有限数", f"filter {key} must be a finite number")
    return value


def conditions(spec: ListSpec, src: Source, filters: Mapping[str, str | Iterable[str]] | None,
               profile: Profile | None = None,
               search: Callable[[str], ColumnElement] | None = None) -> list[ColumnElement]:
    """The WHERE conditions of ``filters`` (see the module's doc); unknown keys or bad values raise
    :class:`ListError`. ``search`` answers a text search from the run's text index (see :func:`_search`)
    instead of testing every row's columns."""
    out: list[ColumnElement] = []
    tag_chars = "".join(t.char for t in profile.tags.values()) if profile is not None else None
    for key, raw in (filters or {}).items():
        values = _values(raw)
        if not values:
            continue
        text = (raw if isinstance(raw, str) else " ".join(raw)).strip()
        if key == "q":
            out.append(search(text) if search is not None else
                       or_(*[src.exprs[k].icontains(text, autoescape=True) for k in spec.search]))
            continue
        base, bound = key, None
        if key.endswith(("_min", "_max")) and not any(c.key == key for c in spec.columns):
            base, bound = key[:-4], key[-3:]
        col = spec.column(base)
        if col.filter is None or (bound is not None) != (col.filter == "range"):
            how = f"{col.key}_min / {col.key}_max" if col.filter == "range" else col.key
            raise ListError("filter", f"清单「{spec.zh}」的列 {col.key} 不能这样筛选" +
                            (f"（请用 {how}）" if col.filter else "（不可筛选）"),
                            f"column {col.key} of list {spec.name} cannot be filtered like this" +
                            (f" (use {how})" if col.filter else " (not filterable)"))
        expr = src.exprs[col.key]
        if col.key in src.filters and col.filter != "tags":
            out.append(src.filters[col.key](values))
        elif col.filter == "in":
            out.append(expr.in_(values))
        elif col.filter == "eq":
            out.append(expr == _number(spec, key, values[0], integer=col.type == "int"))
        elif col.filter == "contains":
            out.append(expr.icontains(text, autoescape=True))
        elif col.filter == "range":
            n = _number(spec, key, values[0])
            out.append(expr >= n if bound == "min" else expr <= n)
        elif col.filter == "tags":
            chars = [ch for v in values for ch in v]
            if tag_chars is not None and (bad := [ch for ch in chars if ch not in tag_chars]):
                raise ListError("filter", f"未知标签 {''.join(bad)}（可选：{tag_chars}）",
                                f"unknown tag {''.join(bad)} (one of {tag_chars})")
            if col.key in src.filters:  # a table of the run's tag hits answers exactly, by index
                out.append(src.filters[col.key](chars))
            else:  # the ids through the (run_id, tags) index: narrow index entries are scanned, not wide rows
                any_tag = or_(*[expr.contains(ch, autoescape=True) for ch in chars])
                out.append(src.tiebreak.in_(select(src.tiebreak).where(src.run, any_tag)))
        elif col.filter == "bool":
            v = values[0].lower()
            if v not in ("true", "false", "1", "0", "yes", "no"):
                raise ListError("filter", f"筛选 {key} 须为 true 或 false", f"filter {key} must be true or false")
            out.append(expr.is_(true()) if v in ("true", "1", "yes") else expr.is_(false()))
    return out


def order_by(spec: ListSpec, src: Source, sort: str | None) -> list[ColumnElement]:
    """``sort``: column keys separated by commas, ``-`` for descending (default: the list's own);
    the row id breaks ties, so pages never repeat or skip a row."""
    out: list[ColumnElement] = []
    for part in _values(sort or spec.default_sort):
        desc = part.startswith("-")
        col = spec.column(part.lstrip("-+"))
        if not col.sort:
            raise ListError("sort", f"清单「{spec.zh}」不能按 {col.key} 排序",
                            f"list {spec.name} cannot be sorted by {col.key}")
        expr = src.exprs[col.key]
        out.append(expr.desc().nulls_last() if desc else expr.asc().nulls_last())
    return [*out, src.tiebreak.asc()]


# --------------------------------------------------------------------------- queries


@dataclass
class RunInfo:
    id: int
    as_of: date
    year: int | None
    profile_id: str
    profile_version: str


def run_info(engine: Engine, run_id: int | None = None) -> RunInfo:
    """The run ``run_id`` (default: the newest finished run)."""
    t = AnalysisRun.__table__
    q = select(t.c.id, t.c.as_of, t.c.year, t.c.profile_id, t.c.profile_version, t.c.status)
    q = q.where(t.c.id == run_id) if run_id is not None else q.where(t.c.status == "done").order_by(t.c.id.desc())
    with engine.connect() as conn:
        row = conn.execute(q.limit(1)).first()
    if row is None:
        if run_id is None:
            raise ListError("no_run", "还没有完成的分析批次，请先运行 landrenew analyze",
                            "no finished run yet: run landrenew analyze")
        raise ListError("no_run", f"没有分析批次 {run_id}", f"no run {run_id}")
    return RunInfo(row.id, row.as_of, row.year, row.profile_id, row.profile_version)


@dataclass
class Page:
    """One page of a list."""

    name: str
    run: RunInfo
    total: int
    page: int
    page_size: int
    columns: list[Column]
    rows: list[dict[str, Any]]
    totals: dict[str, float]


def _plain(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, date | datetime):
        return v.isoformat()
    return v


def contributions(profile: Profile, detail: Mapping[str, Any] | None, group: str | None = None,
                  ) -> list[dict[str, Any]]:
    """A firm's score by indicator (the profile's indicators, in order, those weighted in the firm's
    group ``group``, e.g. 规上): value, benchmark, weight and points; then adjustments if any."""
    detail = detail or {}
    weights = {i.key: i.params.weight for i in profile.evaluation.indicators}
    for g in profile.evaluation.groups:
        if group is not None and g.params.column_value == group and g.params.weights is not None:
            weights = dict(g.params.weights)
    out = []
    for ind in profile.evaluation.indicators:
        k = ind.key
        if not weights.get(k) or (f"score_{k}" not in detail and f"value_{k}" not in detail):
            continue
        out.append({"key": k, "name_zh": ind.name_zh, "name_en": ind.name_en, "unit": ind.params.unit,
                    "weight": weights[k], "value": _plain(detail.get(f"value_{k}")),
                    "benchmark": _plain(detail.get(f"benchmark_{k}")), "score": _plain(detail.get(f"score_{k}")),
                    "filled": bool(detail.get(f"filled_{k}"))})
    if detail.get("adjustment_points"):
        out.append({"key": "adjustment", "name_zh": "加减分", "name_en": "adjustments", "unit": "",
                    "weight": None, "value": None, "benchmark": None,
                    "score": _plain(detail.get("adjustment_points")), "filled": False,
                    "rules": detail.get("adjustment_rules") or ""})
    return out


def _prepare(engine: Engine, profile: Profile, name: str, run_id: int | None,
             filters: Mapping[str, str | Iterable[str]] | None, districts: set[str] | None,
             lang: str) -> tuple[ListSpec, RunInfo, Source, list[Column], list[ColumnElement], set[str]]:
    spec = get_list(name)
    run = run_info(engine, run_id)
    src = spec.source(run.id, run.year)
    search = None
    if filters and _values(filters.get("q", "")):
        with engine.connect() as conn:
            search = _search(conn, name, run.id, src)
    where = [src.run, *conditions(spec, src, filters, profile, search)]
    if districts is not None:
        where.append(src.district(set(districts)) if districts else literal(False))
    used = {k for k, v in (filters or {}).items() if _values(v)}
    used = {u for k in used for u in ((spec.search if search is None else ()) if k == "q" else (k, k[:-4]))}
    return spec, run, src, spec.shown(lang), where, used


RS = RunSearch.__table__


def index_run_text(conn: Connection, run_id: int, year: int | None) -> int:
    """Write the searchable text (the ``search`` columns) of every row of each list of run ``run_id``
    and its bigrams into ``run_search``, for the lists not indexed yet; returns how many lists it
    indexed."""
    written = 0
    for name, spec in LISTS.items():
        if conn.scalar(select(RS.c.id).where(RS.c.run_id == run_id, RS.c.list == name).limit(1)) is not None:
            continue
        src = spec.source(run_id, year)
        rows = conn.execute(select(src.tiebreak, *[cast(src.exprs[k], String) for k in spec.search])
                            .select_from(src.from_).where(src.run)).all()
        textindex.write_texts(conn, RS, "run_search_fts", rows, run_id=run_id, list=name)
        written += 1
    return written


def _search(conn: Connection, name: str, run_id: int, src: Source) -> Callable[[str], ColumnElement] | None:
    """List ``name``'s text search in ``run_id`` through its text index: the bigram index finds the
    candidates, their stored text is tested exactly (so the list's joined tables are not read); None
    when the run's rows are not indexed (a run made before migration 0010 and not yet warmed)."""
    if conn.scalar(select(RS.c.id).where(RS.c.run_id == run_id, RS.c.list == name).limit(1)) is None:
        return None

    def hits(text: str) -> ColumnElement:
        match = textindex.bigram_match(conn, RS, "run_search_fts", text)
        if match is None:  # a single character: a scan of this list's texts alone
            match = RS.c.body.icontains(text, autoescape=True)
        return src.tiebreak.in_(select(RS.c.ref).where(RS.c.run_id == run_id, RS.c.list == name, match))
    return hits


#: the count and column totals of a list view, per (list, run, filters, districts, data stamp): whole-run
#: aggregates over wide run tables take ~0.5 s at 1,000,000 parcels, while its pages take milliseconds
_TOTALS = LRU(2048)


def _filter_key(filters: Mapping[str, str | Iterable[str]] | None) -> tuple:
    return tuple(sorted((k, tuple(_values(v))) for k, v in (filters or {}).items() if _values(v)))


def warm_totals(engine: Engine, profile: Profile, lang: str = "zh") -> int:
    """Fill the totals of every list of the latest run, for the whole city and for each district (as
    a district's own user and as a district filter), one grouped query per list; returns the number
    of views filled. The web app runs this when it starts."""
    filled = 0
    for name in LISTS:
        spec, run, src, cols, where, _ = _prepare(engine, profile, name, None, None, None, lang)
        summed = [c for c in cols if c.total]
        district = src.exprs["district_code"]
        q = (select(district.label("_d"), func.count().label("_n"),
                    *[func.sum(src.exprs[c.key]).label(c.key) for c in summed])
             .select_from(src.counting_from({"district_code"} | {c.key for c in summed})).where(*where)
             .group_by(district))
        with engine.connect() as conn:
            groups = [dict(r) for r in conn.execute(q).mappings()]
            stamp = data_stamp(conn)
        city = {"_n": sum(g["_n"] for g in groups)} | {c.key: sum(g[c.key] or 0.0 for g in groups) for c in summed}
        _TOTALS.put((name, run.id, (), None, stamp), city)
        for d in profile.city.district_codes:
            own = next((g for g in groups if g["_d"] == d), {"_n": 0} | {c.key: None for c in summed})
            totals = {k: v for k, v in own.items() if k != "_d"}
            _TOTALS.put((name, run.id, (), frozenset({d}), stamp), totals)
            _TOTALS.put((name, run.id, (("district_code", (d,)),), None, stamp), totals)
            filled += 2
        filled += 1
    return filled


def query_list(engine: Engine, profile: Profile, name: str, run_id: int | None = None,
               filters: Mapping[str, str | Iterable[str]] | None = None, sort: str | None = None,
               page: int = 1, page_size: int = 50, districts: set[str] | None = None,
               lang: str = "zh") -> Page:
    """One page of list ``name`` of run ``run_id`` (default: the newest finished run), filtered,
    sorted and paged in SQL; ``total`` and the column totals come from one aggregate query.
    ``districts`` (a district role's own) restricts the rows; None sees every district."""
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ListError("page", f"页码须 ≥ 1，每页 1–{MAX_PAGE_SIZE} 行", f"page must be ≥ 1 and page_size 1–{MAX_PAGE_SIZE}")
    spec, run, src, cols, where, used = _prepare(engine, profile, name, run_id, filters, districts, lang)
    order = order_by(spec, src, sort)
    summed = [c for c in cols if c.total]
    agg = select(func.count().label("_n"), *[func.sum(src.exprs[c.key]).label(c.key) for c in summed]) \
        .select_from(src.counting_from(used | {c.key for c in summed})).where(*where)
    # the page's ids first, from the tables its filters and sort need; then its columns for those
    # rows only (joins and correlated look-ups run for one page, not for every row before the sort)
    sort_keys = {part.lstrip("-+") for part in _values(sort or spec.default_sort)}
    ids = (select(src.tiebreak.label("_id")).select_from(src.counting_from(used | sort_keys)).where(*where)
           .order_by(*order).limit(page_size).offset((page - 1) * page_size).subquery())
    q = (select(*[src.exprs[c.key].label(c.key) for c in cols], *[e.label(k) for k, e in src.extra.items()])
         .select_from(src.from_.join(ids, src.tiebreak == ids.c._id)).order_by(*order))
    with engine.connect() as conn:
        key = (name, run.id, _filter_key(filters), None if districts is None else frozenset(districts),
               data_stamp(conn))
        a = _TOTALS.get(key)
        if a is None:
            a = dict(conn.execute(agg).mappings().one())
            _TOTALS.put(key, a)
        rows = [dict(r) for r in conn.execute(q).mappings()]
    out = []
    for r in rows:
        row = {c.key: _plain(r[c.key]) for c in cols}
        if "detail" in r:
            row["contributions"] = contributions(profile, r["detail"], r.get("group"))
        out.append(row)
    return Page(name, run, int(a["_n"]), page, page_size, cols, out,
                {c.key: float(a[c.key] or 0.0) for c in summed})


def iter_rows(engine: Engine, profile: Profile, name: str, run_id: int | None = None,
              filters: Mapping[str, str | Iterable[str]] | None = None, sort: str | None = None,
              districts: set[str] | None = None, lang: str = "zh", limit: int | None = None,
              ) -> tuple[RunInfo, list[Column], int, Iterator[dict[str, Any]]]:
    """Every matching row (up to ``limit``), streamed: (run, columns, total, rows)."""
    spec, run, src, cols, where, used = _prepare(engine, profile, name, run_id, filters, districts, lang)
    order = order_by(spec, src, sort)
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(src.counting_from(used)).where(*where)).scalar_one())
    q = (select(*[src.exprs[c.key].label(c.key) for c in cols], *[e.label(k) for k, e in src.extra.items()])
         .select_from(src.from_).where(*where).order_by(*order))
    if limit is not None:
        q = q.limit(limit)

    def rows() -> Iterator[dict[str, Any]]:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=2000).execute(q).mappings()
            for r in result:
                yield dict(r)

    return run, cols, total, rows()


# --------------------------------------------------------------------------- for exports


def describe_filters(spec: ListSpec, filters: Mapping[str, Any] | None, lang: str) -> str:
    """The filters in words, for the note above an exported sheet: ``面积（亩） ≥ 10；行政区=320412``."""
    parts = []
    for key, raw in (filters or {}).items():
        values = _values(raw)
        if not values:
            continue
        base = key[:-4] if key.endswith(("_min", "_max")) else key
        label = "q" if key == "q" else next((c.header(lang) for c in spec.columns if c.key == base), key)
        op = {"_min": " ≥ ", "_max": " ≤ "}.get(key[-4:], "=") if key != base else ("~" if key == "q" else "=")
        parts.append(f"{label}{op}{','.join(values)}")
    return "；".join(parts) if lang != "en" else "; ".join(parts)
