"""The policy profile as typed data.

Every threshold, weight, cut-off, target, disposal rule and quota rule of a city's
policy lives in a YAML profile that is validated against these models. Code holds
mechanisms; the profile holds the numbers. Every rule carries a stable ``id``, the
``clause`` it comes from, a Chinese and an English description, typed ``params`` and
an ``assumption`` flag for values that are inferred or borrowed from another city.

All models forbid unknown keys. Checks that span several fields (weights summing to
100, increasing class cut-offs, unique rule ids, cross references between rules)
raise :func:`problems`, a single pydantic error that carries one or more
``(relative key path, English, Chinese)`` entries; the loader turns those into
readable messages with the full dotted key path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

# --------------------------------------------------------------------------- types

RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")]
Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
ClassKey = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Za-z0-9+-]*$")]
FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
LandCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}[0-9A-Z]{0,4}$")]
Text = Annotated[str, StringConstraints(min_length=1)]
NonNeg = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]
Space = Literal["ecological", "agricultural", "urban"]
Comparator = Literal[">=", ">", "<=", "<", "=="]
FieldOp = Literal["is_true", "is_false", ">=", ">", "<=", "<", "=="]
Unit = Literal["mu", "ratio", "count", "kg", "yuan_per_kwh", "yuan_per_m3"]

WEIGHT_TOTAL = 100.0  # weights of a set are expressed as points out of 100
_EPS = 1e-9

PathPart = str | int
Problem = tuple[tuple[PathPart, ...], str, str]


def problems(items: Sequence[Problem]) -> PydanticCustomError:
    """One pydantic error carrying several ``(relative path, English, Chinese)`` problems."""
    summary = "; ".join(
        f"{'.'.join(str(p) for p in path) or '(here)'}: {en}" for path, en, _ in items
    )
    return PydanticCustomError(
        "profile",
        "{summary}",
        {
            "summary": summary,
            "problems": [{"path": list(path), "en": en, "zh": zh} for path, en, zh in items],
        },
    )


def _fmt(x: float) -> str:
    return f"{x:g}"


def _weights_problem(path: tuple[PathPart, ...], weights: dict[str, float]) -> list[Problem]:
    total = sum(weights.values())
    if abs(total - WEIGHT_TOTAL) > 1e-6:
        parts = ", ".join(f"{k} {_fmt(v)}" for k, v in weights.items())
        return [
            (
                path,
                f"weights sum to {_fmt(total)}, must be {_fmt(WEIGHT_TOTAL)} ({parts})",
                f"权重合计为 {_fmt(total)}，应为 {_fmt(WEIGHT_TOTAL)}（{parts}）",
            )
        ]
    return []


class Strict(BaseModel):
    """Base of every profile model: unknown keys are rejected, instances are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- rules


class Rule(Strict):
    """Fields shared by every rule. Subclasses add typed ``params``."""

    id: RuleId
    clause: Text = Field(description="clause of the policy, or an external reference")
    description_zh: Text
    description_en: Text
    assumption: bool = Field(
        default=False,
        description="true when a value is inferred [I] or borrowed from another city",
    )
    source_note: str | None = None

    def params_dict(self) -> dict[str, Any]:
        """The rule's parameters as plain JSON-able data (empty when it has none)."""
        params = getattr(self, "params", None)
        return params.model_dump(mode="json") if isinstance(params, BaseModel) else {}


# --------------------------------------------------------------------------- header


class Source(Strict):
    """The policy document the profile implements."""

    document: Text = Field(description="document number of the policy")
    title_zh: Text
    title_en: Text
    issuer_zh: Text
    issuer_en: Text
    date: Annotated[str, StringConstraints(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")] = Field(
        description="issue date as YYYY, YYYY-MM or YYYY-MM-DD (as precise as known)"
    )
    note: str | None = None

    @field_validator("date", mode="before")
    @classmethod
    def _date_to_text(cls, v: Any) -> Any:
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, int):
            return str(v)
        return v


def _six_digits(v: Any) -> str:
    """A 6-digit administrative code written as text."""
    if isinstance(v, str) and re.fullmatch(r"\d{6}", v):
        return v
    hint = " (write it in quotes)" if isinstance(v, int) and not isinstance(v, bool) else ""
    raise PydanticCustomError(
        "district_code",
        "{value} is not a 6-digit county code{hint}",
        {
            "value": repr(v),
            "hint": hint,
            "zh": f"{v!r} 不是 6 位县级行政区划代码" + ("（请加引号）" if hint else ""),
        },
    )


class District(Strict):
    """A county-level division, or a management zone overlapping them."""

    id: Key
    code: str | None = Field(
        default=None, description="6-digit county-level administrative code (GB/T 2260)"
    )
    name_zh: Text
    name_en: Text
    kind: Literal["county", "management_zone"] = "county"
    overlaps: list[str] = Field(
        default_factory=list, description="codes of the districts a management zone overlaps"
    )
    note: str | None = None

    @field_validator("code", mode="before")
    @classmethod
    def _code_is_six_digits(cls, v: Any) -> Any:
        return v if v is None else _six_digits(v)

    @field_validator("overlaps", mode="before")
    @classmethod
    def _overlaps_six_digits(cls, v: Any) -> Any:
        return [_six_digits(x) for x in v] if isinstance(v, list) else v

    @model_validator(mode="after")
    def _code_matches_kind(self) -> District:
        if self.kind == "county" and self.code is None:
            raise problems(
                [(("code",), "a county needs its 6-digit code", "区县须有 6 位行政区划代码")]
            )
        if self.kind == "management_zone" and self.code is not None:
            raise problems(
                [
                    (
                        ("code",),
                        "a management zone has no county code of its own; list the codes it overlaps in overlaps",
                        "管理区没有自己的行政区划代码，请在 overlaps 中列出其覆盖的区县代码",
                    )
                ]
            )
        return self


class City(Strict):
    """The city, its districts, its extent and the CRS used for areas."""

    code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
    name_zh: Text
    name_en: Text
    districts: list[District] = Field(min_length=1)
    extent: tuple[float, float, float, float] = Field(
        description="[minlon, minlat, maxlon, maxlat] in CGCS2000 degrees (EPSG:4490)"
    )
    storage_crs: Annotated[str, StringConstraints(pattern=r"^EPSG:\d+$")] = "EPSG:4490"
    area_crs: Annotated[str, StringConstraints(pattern=r"^EPSG:\d+$")]

    @model_validator(mode="after")
    def _check(self) -> City:
        found: list[Problem] = []
        minlon, minlat, maxlon, maxlat = self.extent
        if not (-180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90):
            found.append(
                (
                    ("extent",),
                    "extent must be [minlon, minlat, maxlon, maxlat] with min < max in degrees",
                    "范围应为 [最小经度, 最小纬度, 最大经度, 最大纬度]，且最小值小于最大值",
                )
            )
        for attr in ("id", "code"):
            seen: dict[str, int] = {}
            for i, d in enumerate(self.districts):
                value = getattr(d, attr)
                if value is None:
                    continue
                if value in seen:
                    found.append(
                        (
                            ("districts", i, attr),
                            f"duplicate district {attr} {value!r}",
                            f"区县{'编号' if attr == 'id' else '代码'} {value!r} 重复",
                        )
                    )
                seen[value] = i
        codes = set(self.district_codes)
        for i, d in enumerate(self.districts):
            for j, c in enumerate(d.overlaps):
                if c not in codes:
                    found.append(
                        (
                            ("districts", i, "overlaps", j),
                            f"{c} is not the code of a county in this city",
                            f"{c} 不是本市区县代码",
                        )
                    )
        if found:
            raise problems(found)
        return self

    @property
    def district_codes(self) -> list[str]:
        """The 6-digit codes of the county-level districts (management zones excluded)."""
        return [d.code for d in self.districts if d.code is not None]

    @property
    def management_zones(self) -> list[District]:
        """Zones managed separately that overlap county-level districts (e.g. 经开区)."""
        return [d for d in self.districts if d.kind == "management_zone"]

    def district(self, code_or_id: str) -> District:
        """A district by its 6-digit code or its id."""
        for d in self.districts:
            if code_or_id in (d.code, d.id):
                return d
        raise KeyError(f"no district {code_or_id!r} in {self.name_en}")


# --------------------------------------------------------------------------- targets


class TargetParams(Strict):
    metric: Key = Field(description="name of the measured quantity, shared with baseline entries")
    comparator: Comparator
    value: float
    unit: Unit
    base_year: int | None = Field(default=None, description="year the change is measured from")
    reference_zh: str | None = None
    reference_en: str | None = None


class Target(Rule):
    """A quantified goal with its deadline."""

    name_zh: Text
    name_en: Text
    deadline: dt.date
    params: TargetParams


class BaselineParams(Strict):
    metric: Key
    value: float
    unit: Unit
    year: int
    part_of: Key | None = Field(default=None, description="metric this value is a part of")


class BaselineEntry(Rule):
    """Reported progress used as the starting point of target tracking."""

    name_zh: Text
    name_en: Text
    params: BaselineParams


class Targets(Strict):
    goals: list[Target] = Field(min_length=1)
    baseline: list[BaselineEntry] = Field(default_factory=list)

    def goal(self, metric: str) -> Target:
        """The goal measuring ``metric``."""
        for t in self.goals:
            if t.params.metric == metric:
                return t
        raise KeyError(metric)


# --------------------------------------------------------------------------- tags


class RecordMatchParams(Strict):
    source: Key = Field(description="evidence source kind, e.g. hazards, pollution, enforcement")
    match: dict[FieldName, list[str]] = Field(
        default_factory=dict, description="column -> values that count (all columns must match)"
    )
    require_true: list[FieldName] = Field(
        default_factory=list, description="boolean columns that must be true"
    )

    @model_validator(mode="after")
    def _not_empty(self) -> RecordMatchParams:
        if not self.match and not self.require_true:
            raise problems([((), "give match or require_true", "须给出 match 或 require_true")])
        return self


class RecordMatchRule(Rule):
    """Tag a parcel / firm that appears in an evidence list with matching values."""

    kind: Literal["record_match"]
    params: RecordMatchParams


class LandUseSelector(Strict):
    dlbm: list[LandCode] = Field(default_factory=list, description="三调 DLBM codes (exact)")
    ydyh_prefix: list[LandCode] = Field(
        default_factory=list, description="用地用海 code prefixes, e.g. 1001 for all industrial"
    )
    dlbm_prefix: list[LandCode] = Field(default_factory=list, description="三调 DLBM prefixes")

    @model_validator(mode="after")
    def _not_empty(self) -> LandUseSelector:
        if not (self.dlbm or self.ydyh_prefix or self.dlbm_prefix):
            raise problems([((), "select at least one land-use code", "至少选择一个地类编码")])
        return self


class OutsideParkParams(Strict):
    land_use: LandUseSelector
    park_layer: Key = Field(description="layer kind holding park / concentration-area polygons")
    min_inside_share: Share = Field(
        description="share of the parcel area that must lie inside a park to count as inside"
    )


class OutsideParkRule(Rule):
    """Tag industrial land lying outside every industrial park."""

    kind: Literal["outside_park"]
    params: OutsideParkParams


class IsolatedPatchParams(Strict):
    spaces: list[Space] = Field(min_length=1)
    land_use: LandUseSelector
    max_patch_mu: Annotated[float, Field(gt=0)]
    min_gap_m: NonNeg = Field(description="distance to the nearest other construction land")


class IsolatedPatchRule(Rule):
    """Tag small isolated construction patches in ecological / agricultural space."""

    kind: Literal["isolated_patch"]
    params: IsolatedPatchParams


class PlotRatioParams(Strict):
    floor_rule: RuleId = Field(description="id of the land rule giving the plot-ratio floor")
    land_use: LandUseSelector


class PlotRatioRule(Rule):
    """Tag industrial land whose plot ratio is below the floor."""

    kind: Literal["plot_ratio_below_floor"]
    params: PlotRatioParams


class IdleLandParams(Strict):
    definition_rule: RuleId = Field(description="id of the land rule defining idle land")
    source: Key = Field("idle", description="evidence list holding idle-land records")


class IdleLandRule(Rule):
    """Tag land that is idle under the idle-land definition."""

    kind: Literal["idle_land"]
    params: IdleLandParams


class UnsuppliedParams(Strict):
    source: Key
    min_unsupplied_mu: NonNeg = 0
    min_years_since_approval: NonNeg = 0


class UnsuppliedRule(Rule):
    """Tag land approved for construction but not yet supplied (批而未供)."""

    kind: Literal["unsupplied"]
    params: UnsuppliedParams


class EvaluationClassParams(Strict):
    classes: list[ClassKey] = Field(min_length=1)


class EvaluationClassRule(Rule):
    """Tag the land of firms rated in the given 亩均 classes."""

    kind: Literal["evaluation_class"]
    params: EvaluationClassParams


TagRule = Annotated[
    RecordMatchRule
    | OutsideParkRule
    | IsolatedPatchRule
    | PlotRatioRule
    | IdleLandRule
    | UnsuppliedRule
    | EvaluationClassRule,
    Field(discriminator="kind"),
]


class Tag(Strict):
    """One of 危 污 乱 散 低 with the rules that assign it."""

    char: Annotated[str, StringConstraints(min_length=1, max_length=2)]
    name_zh: Text
    name_en: Text
    rules: list[TagRule] = Field(min_length=1)


# --------------------------------------------------------------------------- evaluation


class FieldTest(Strict):
    """A test on one column of the enterprise table."""

    field: FieldName
    op: FieldOp
    value: float | None = None

    @model_validator(mode="after")
    def _value_given(self) -> FieldTest:
        needs = self.op not in ("is_true", "is_false")
        if needs and self.value is None:
            raise problems(
                [(("value",), f"op {self.op} needs a value", f"运算 {self.op} 需要 value")]
            )
        if not needs and self.value is not None:
            raise problems(
                [(("value",), f"op {self.op} takes no value", f"运算 {self.op} 不需要 value")]
            )
        return self


class IndicatorParams(Strict):
    numerator: FieldName
    denominator: FieldName
    weight: NonNeg
    unit: Text
    numerator_scale: float = Field(default=1.0, description="multiply the ratio by this")
    higher_is_better: bool = True


class Indicator(Rule):
    """One of the core 亩均 indicators: numerator ÷ denominator, with its default weight."""

    key: Key
    name_zh: Text
    name_en: Text
    params: IndicatorParams


class GroupParams(Strict):
    column_value: Text = Field(description="value of the firms' group column, e.g. 规上")
    min_land_mu: NonNeg = Field(description="firms with less land are not evaluated")
    weights: dict[Key, NonNeg] | None = Field(
        default=None, description="own weight set; null uses the indicators' default weights"
    )


class Group(Rule):
    """A group of firms evaluated and ranked separately (规上 / 规下)."""

    key: Key
    name_zh: Text
    name_en: Text
    params: GroupParams


class BenchmarkParams(Strict):
    method: Literal["multiple_of_previous_mean"]
    multiple: Annotated[float, Field(gt=0)]
    year_offset: int = Field(description="-1 = previous year")
    scope: list[FieldName] = Field(description="columns grouping firms for the mean")
    fallback: Literal["current_mean", "error"] = Field(
        "current_mean", description="when the benchmark year has no rated firm with a value in the scope: "
        "use the current year's mean (recorded per firm) or stop with an error")


class Benchmark(Rule):
    params: BenchmarkParams


class ScoreCapParams(Strict):
    cap_ratio: Annotated[float, Field(gt=0)] = Field(
        description="score per indicator = min(value / benchmark, cap_ratio) × weight"
    )


class ScoreCap(Rule):
    params: ScoreCapParams


class AdjustmentParams(Strict):
    test: FieldTest
    points: float = Field(description="added to the score; negative for a penalty")


class Adjustment(Rule):
    """An "x" item: bonus or penalty points."""

    params: AdjustmentParams


class ClassesParams(Strict):
    rank_within: list[FieldName] = Field(min_length=1)
    cutoffs: dict[ClassKey, float] = Field(
        description="class -> upper cumulative rank fraction (0-1), best class first"
    )
    not_rated: ClassKey = Field(description="label of firms that are not rated (T)")

    @model_validator(mode="after")
    def _cutoffs(self) -> ClassesParams:
        found: list[Problem] = []
        if not self.cutoffs:
            found.append((("cutoffs",), "give at least one class", "至少给出一个等级"))
        prev = 0.0
        for cls, upper in self.cutoffs.items():
            if not 0 < upper <= 1:
                found.append(
                    (
                        ("cutoffs", cls),
                        f"cut-off {_fmt(upper)} is outside 0-1; write rank fractions (0.20 for 20 %)",
                        f"分档线 {_fmt(upper)} 不在 0–1 之间，请写成排名比例（20 % 写作 0.20）",
                    )
                )
            elif upper <= prev:
                found.append(
                    (
                        ("cutoffs", cls),
                        f"cut-off {_fmt(upper)} is not above the previous one ({_fmt(prev)}); cut-offs must increase",
                        f"分档线 {_fmt(upper)} 未高于上一档（{_fmt(prev)}），分档线须递增",
                    )
                )
            prev = max(prev, upper)
        if self.cutoffs and not found:
            last_cls, last = list(self.cutoffs.items())[-1]
            if abs(last - 1.0) > _EPS:
                found.append(
                    (
                        ("cutoffs", last_cls),
                        f"the last cut-off is {_fmt(last)}; it must be 1 so every firm gets a class",
                        f"最后一档为 {_fmt(last)}，应为 1，才能覆盖全部企业",
                    )
                )
        if self.not_rated in self.cutoffs:
            found.append(
                (
                    ("not_rated",),
                    "the not-rated label must differ from the ranked classes",
                    "不参评标识不能与评价等级相同",
                )
            )
        if found:
            raise problems(found)
        return self


class Classes(Rule):
    """Class cut-offs by rank within district and group."""

    params: ClassesParams

    def class_for_rank(self, fraction: float) -> str:
        """The class of a firm at cumulative rank ``fraction`` (0 = best, 1 = worst)."""
        for cls, upper in self.params.cutoffs.items():
            if fraction <= upper + _EPS:
                return cls
        return list(self.params.cutoffs)[-1]


class ForcedClassParams(Strict):
    test: FieldTest
    forced_class: ClassKey


class Veto(Rule):
    """A veto item: when the test holds the firm gets ``forced_class`` whatever its score."""

    params: ForcedClassParams


class NotRatedParams(Strict):
    test: FieldTest


class NotRated(Rule):
    """Firms for which the test holds are not rated (class T)."""

    params: NotRatedParams


class MissingParams(Strict):
    method: Literal["group_mean", "previous_group_mean", "zero", "exclude_indicator"]
    scope: list[FieldName]


class MissingRule(Rule):
    params: MissingParams


class Evaluation(Strict):
    """亩均效益 evaluation ("6+x")."""

    indicators: list[Indicator] = Field(min_length=1)
    groups: list[Group] = Field(min_length=1)
    benchmark: Benchmark
    score_cap: ScoreCap
    adjustments: list[Adjustment] = Field(default_factory=list)
    classes: Classes
    veto: list[Veto] = Field(default_factory=list)
    not_rated: list[NotRated] = Field(default_factory=list)
    missing: MissingRule

    @model_validator(mode="after")
    def _check(self) -> Evaluation:
        found: list[Problem] = []
        keys = [i.key for i in self.indicators]
        for i, k in enumerate(keys):
            if keys.index(k) != i:
                found.append(
                    (
                        ("indicators", i, "key"),
                        f"duplicate indicator key {k!r}",
                        f"指标键 {k!r} 重复",
                    )
                )
        found += _weights_problem(("indicators",), self.default_weights)
        labels = list(self.classes.params.cutoffs) + [self.classes.params.not_rated]
        for gi, g in enumerate(self.groups):
            if g.params.weights is None:
                continue
            for k in g.params.weights:
                if k not in keys:
                    found.append(
                        (
                            ("groups", gi, "params", "weights", k),
                            f"{k!r} is not an indicator key ({', '.join(keys)})",
                            f"{k!r} 不是指标键（{', '.join(keys)}）",
                        )
                    )
            found += _weights_problem(("groups", gi, "params", "weights"), g.params.weights)
        for vi, v in enumerate(self.veto):
            if v.params.forced_class not in labels:
                found.append(
                    (
                        ("veto", vi, "params", "forced_class"),
                        f"unknown class {v.params.forced_class!r}",
                        f"未知等级 {v.params.forced_class!r}",
                    )
                )
        if found:
            raise problems(found)
        return self

    @property
    def default_weights(self) -> dict[str, float]:
        """Indicator key -> default weight (points out of 100)."""
        return {i.key: i.params.weight for i in self.indicators}

    def weights(self, group: str | None = None) -> dict[str, float]:
        """Weights used for ``group`` (its own set if it has one, else the defaults)."""
        if group is not None:
            g = self.group(group)
            if g.params.weights is not None:
                return dict(g.params.weights)
        return self.default_weights

    def indicator(self, key: str) -> Indicator:
        for i in self.indicators:
            if i.key == key:
                return i
        raise KeyError(key)

    def group(self, key_or_value: str) -> Group:
        """A group by key (``below_scale``) or by the firms' column value (``规下``)."""
        for g in self.groups:
            if key_or_value in (g.key, g.params.column_value):
                return g
        raise KeyError(key_or_value)

    @property
    def cutoffs(self) -> dict[str, float]:
        """Class -> upper cumulative rank fraction, best class first."""
        return dict(self.classes.params.cutoffs)

    @property
    def class_labels(self) -> list[str]:
        """Rated classes, best first (the not-rated label excluded)."""
        return list(self.classes.params.cutoffs)


# --------------------------------------------------------------------------- land rules


class IdleDefinitionParams(Strict):
    min_years_after_contract_start: NonNeg
    min_developed_share: Share
    min_invested_share: Share
    min_halt_years: NonNeg


class IdleDefinition(Rule):
    params: IdleDefinitionParams


class IdleConsequenceParams(Strict):
    min_idle_years: NonNeg
    fee_share_of_land_price: Share = 0
    take_back: bool = False
    compensation: bool = False


class IdleConsequence(Rule):
    params: IdleConsequenceParams


class PlotRatioFloorParams(Strict):
    floor: Annotated[float, Field(gt=0)]
    applies_to_zh: Text
    applies_to_en: Text


class PlotRatioFloor(Rule):
    params: PlotRatioFloorParams


class StandardFactoryParams(Strict):
    max_project_mu: Annotated[float, Field(gt=0)] = Field(
        description="projects below this land area get standard-factory space, no own parcel"
    )


class StandardFactory(Rule):
    params: StandardFactoryParams


class ControlLayersParams(Strict):
    space_min_share: Annotated[float, Field(gt=0, le=1)] = Field(
        description="share of a parcel inside a space's layers from which it lies in that space")
    layers: dict[Key, Key] = Field(description="role -> layer kind id in the workspace")
    spaces: dict[Space, list[Key]] = Field(description="space -> layer kinds that define it")


class ControlLayers(Rule):
    params: ControlLayersParams


class ConsolidationParams(Strict):
    max_gap_m: Annotated[float, Field(ge=0)] = Field(description="flagged parcels this close form one unit")
    min_unit_mu: Annotated[float, Field(ge=0)] = Field(description="smaller units dissolve into single cases")
    exclude_rules: list[RuleId] = Field(
        default_factory=list, description="parcels hit by these rules are decided case by case, never grouped")
    same: list[Key] = Field(
        default_factory=list, description="parcel or overlay columns that must be equal within a unit "
        "(e.g. district_code: a case belongs to one district)")


class Consolidation(Rule):
    """连片: which flagged parcels are grouped into one redevelopment unit."""

    params: ConsolidationParams


class ReclaimableParams(Strict):
    land_use: LandUseSelector = Field(description="construction land fit to reclaim to cultivated land")
    exclude_rules: list[RuleId] = Field(default_factory=list, description="hits that make a parcel unfit")


class Reclaimable(Rule):
    """Which construction land may be reclaimed to cultivated land (复垦)."""

    params: ReclaimableParams


class PlanningParams(Strict):
    layer: Key = Field(description="layer kind of the detailed-plan zones (each with its planned 用地用海 code)")
    min_share: Annotated[float, Field(gt=0, le=1)] = Field(
        description="share of a parcel inside one zone from which the zone's planned use is the parcel's")
    conform_digits: Annotated[int, Field(ge=2, le=6)] = Field(
        description="leading digits of the 用地用海 code on which current and planned use must agree to conform")
    uses: dict[Key, list[LandCode]] = Field(
        min_length=1, description="planned-use key (as used by disposal planned_use_any) -> 用地用海 code prefixes")
    unbuilt: LandUseSelector | None = Field(
        default=None, description="current uses with nothing built (vacant, farmland): such a parcel conforms "
        "when its planned use is one of build_uses, whatever its current code")
    build_uses: list[Key] = Field(default_factory=list, description="planned-use keys that allow building")

    @model_validator(mode="after")
    def _known_uses(self) -> PlanningParams:
        unknown = [u for u in self.build_uses if u not in self.uses]
        if unknown:
            raise problems([(("build_uses",), f"unknown planned use(s) {unknown}", f"未知规划用途 {unknown}")])
        return self


class Planning(Rule):
    """Detailed plan (详细规划): a parcel's planned use, and whether its current use conforms."""

    params: PlanningParams


class LandRules(Strict):
    idle_definition: IdleDefinition
    idle_fee: IdleConsequence
    idle_take_back: IdleConsequence
    plot_ratio_floors: list[PlotRatioFloor] = Field(min_length=1)
    standard_factory: StandardFactory
    control_lines: ControlLayers
    consolidation: Consolidation
    reclaimable: Reclaimable
    planning: Planning | None = None


# --------------------------------------------------------------------------- disposal


class When(Strict):
    """Conditions of a disposal rule; all given conditions must hold (empty = always)."""

    space_any: list[Space] | None = None
    tags_any: list[Key] | None = None
    tags_all: list[Key] | None = None
    tags_none: list[Key] | None = None
    rules_any: list[RuleId] | None = Field(
        default=None, description="ids of tag / land rules that fired for the subject"
    )
    class_any: list[ClassKey] | None = None
    in_park: bool | None = None
    in_industrial_line: bool | None = None
    planned_use_any: list[Key] | None = None
    conforms_to_plan: bool | None = None
    reclaimable: bool | None = Field(default=None, description="site fit for cultivated land")
    rectifiable: bool | None = Field(default=None, description="problems can be fixed in place")


class DisposalParams(Strict):
    yields_quota: list[RuleId] = Field(
        default_factory=list, description="quota rules this path generates entries for"
    )
    vacates: bool = Field(False, description="the path clears the land: its area counts toward 腾退空间")
    actions_zh: list[Text] = Field(default_factory=list)
    actions_en: list[Text] = Field(default_factory=list)


class DisposalRule(Rule):
    """One row of the decision table: when ``when`` holds, recommend ``path``."""

    subject: Literal["parcel", "firm"]
    family: Key
    path: Key
    path_zh: Text
    path_en: Text
    when: When
    params: DisposalParams = Field(default_factory=DisposalParams)


class Family(Strict):
    key: Key
    name_zh: Text
    name_en: Text
    slogan_zh: str | None = None
    slogan_en: str | None = None


class PriorityParams(Strict):
    weights: dict[Key, NonNeg]
    class_severity: dict[ClassKey, Share] = Field(default_factory=dict)


class Priority(Rule):
    """Weights of the priority score used to order recommended cases."""

    params: PriorityParams


class Disposal(Strict):
    match: Literal["first"] = Field(description="first matching rule per subject wins")
    families: list[Family] = Field(min_length=1)
    rules: list[DisposalRule] = Field(min_length=1)
    priority: Priority

    @model_validator(mode="after")
    def _check(self) -> Disposal:
        found: list[Problem] = []
        fams = {f.key for f in self.families}
        for i, r in enumerate(self.rules):
            if r.family not in fams:
                found.append(
                    (
                        ("rules", i, "family"),
                        f"unknown family {r.family!r} ({', '.join(sorted(fams))})",
                        f"未知处置类别 {r.family!r}",
                    )
                )
        found += _weights_problem(("priority", "params", "weights"), self.priority.params.weights)
        if found:
            raise problems(found)
        return self

    def family(self, key: str) -> Family:
        for f in self.families:
            if f.key == key:
                return f
        raise KeyError(key)

    def rules_for(self, subject: Literal["parcel", "firm"]) -> list[DisposalRule]:
        """The ordered decision table for one subject kind."""
        return [r for r in self.rules if r.subject == subject]


# --------------------------------------------------------------------------- quota


class LinkageParams(Strict):
    quota_per_accepted_mu: Annotated[float, Field(gt=0)] = Field(
        description="surplus construction-land quota per accepted reclaimed 亩"
    )
    requires_acceptance: bool
    max_new_per_reclaimed: Annotated[float, Field(gt=0)] = Field(
        description="new construction land may not exceed reclaimed × this"
    )


class Linkage(Rule):
    """城乡建设用地增减挂钩."""

    params: LinkageParams


class BalanceParams(Strict):
    kind: Key
    unit: Unit
    per_mu: float | None = Field(default=None, description="unit per reclaimed 亩 (e.g. grain kg)")
    next_to: LandUseSelector | None = Field(
        default=None, description="only reclaimed land within next_to_gap_m of land of these uses counts "
        "(e.g. 水田 0101: paddy needs irrigation at hand)")
    next_to_gap_m: NonNeg = 0.0
    by_farmland_kind: dict[Text, NonNeg] | None = Field(
        default=None, description="per accepted 亩 by the farmland kind recorded at 验收 (水田/水浇地/旱地); "
        "replaces per_mu when crediting accepted reclamation")


class Balance(Rule):
    """One kind of 耕地占补平衡 quota."""

    params: BalanceParams


class StockLinkageParams(Strict):
    quota_per_unsupplied_mu: NonNeg
    quota_per_idle_mu: NonNeg
    min_supply_rate: Share = Field(description="below this supply rate new quota is suspended")


class StockLinkage(Rule):
    """增存挂钩: new plan quota tied to disposal of 批而未供 and idle land."""

    params: StockLinkageParams


class QuotaByClassParams(Strict):
    priority_order: list[ClassKey]
    excluded: list[ClassKey] = Field(default_factory=list)


class QuotaByClass(Rule):
    params: QuotaByClassParams


class Quota(Strict):
    linkage: Linkage
    balance: list[Balance] = Field(min_length=1)
    stock_linkage: StockLinkage
    by_class: QuotaByClass

    def balance_kind(self, kind: str) -> Balance:
        for b in self.balance:
            if b.params.kind == kind:
                return b
        raise KeyError(kind)


# --------------------------------------------------------------------------- allocation


class Surcharges(Strict):
    electricity_yuan_per_kwh: NonNeg = 0
    water_yuan_per_m3: NonNeg = 0
    gas_yuan_per_m3: NonNeg = 0
    sewage_yuan_per_m3: NonNeg = 0

    def scaled(self, share: float) -> Surcharges:
        return Surcharges(**{k: v * share for k, v in self.model_dump().items()})


class AllocationParams(Strict):
    land_supply: Literal["priority", "normal", "no_new_land", "excluded"]
    energy_quota: Literal["priority", "normal", "restricted"]
    support_funds: bool = False
    surcharges: Surcharges | None = None
    surcharge_share_of: ClassKey | None = Field(
        default=None, description="pay this share of another class's surcharges"
    )
    surcharge_share: Share | None = None

    @model_validator(mode="after")
    def _one_way(self) -> AllocationParams:
        if self.surcharges is not None and self.surcharge_share_of is not None:
            raise problems(
                [
                    (
                        ("surcharge_share_of",),
                        "give surcharges or surcharge_share_of, not both",
                        "surcharges 与 surcharge_share_of 只能二选一",
                    )
                ]
            )
        if (self.surcharge_share_of is None) != (self.surcharge_share is None):
            raise problems(
                [
                    (
                        ("surcharge_share",),
                        "surcharge_share_of and surcharge_share go together",
                        "surcharge_share_of 与 surcharge_share 须同时给出",
                    )
                ]
            )
        return self


class AllocationRule(Rule):
    """Differentiated resource allocation for one 亩均 class."""

    class_key: ClassKey
    name_zh: Text
    name_en: Text
    params: AllocationParams


class Allocation(Strict):
    classes: list[AllocationRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Allocation:
        found: list[Problem] = []
        keys = [a.class_key for a in self.classes]
        for i, a in enumerate(self.classes):
            if keys.index(a.class_key) != i:
                found.append(
                    (
                        ("classes", i, "class_key"),
                        f"duplicate class {a.class_key!r}",
                        f"等级 {a.class_key!r} 重复",
                    )
                )
            ref = a.params.surcharge_share_of
            if ref is not None:
                target = next((x for x in self.classes if x.class_key == ref), None)
                if target is None or target.params.surcharges is None:
                    found.append(
                        (
                            ("classes", i, "params", "surcharge_share_of"),
                            f"{ref!r} must be a class with explicit surcharges",
                            f"{ref!r} 须为给出具体加价标准的等级",
                        )
                    )
        if found:
            raise problems(found)
        return self

    def for_class(self, class_key: str) -> AllocationRule:
        for a in self.classes:
            if a.class_key == class_key:
                return a
        raise KeyError(class_key)

    def surcharges_for(self, class_key: str) -> Surcharges:
        """Surcharges a class pays, resolving "share of another class"."""
        p = self.for_class(class_key).params
        if p.surcharges is not None:
            return p.surcharges
        if p.surcharge_share_of is not None and p.surcharge_share is not None:
            return self.surcharges_for(p.surcharge_share_of).scaled(p.surcharge_share)
        return Surcharges()


# --------------------------------------------------------------------------- profile



# --------------------------------------------------------------------------- operations


class Role(Strict):
    """Who acts: a city-wide role or a district-bound one."""

    key: Key
    name_zh: Text
    name_en: Text
    scope: Literal["city", "district"] = Field(description="district roles see and act on their own district only")
    read_only: bool = False


class CaseField(Strict):
    """A value entered on a case along its workflow (e.g. the accepted area at 验收)."""

    key: Key
    name_zh: Text
    name_en: Text
    type: Literal["number", "integer", "choice", "text", "date"]
    unit: str | None = None
    choices: list[Text] = Field(default_factory=list)
    minimum: float | None = None
    maximum: float | None = None


#: ``from`` of a transition allowed from every state that is not terminal (e.g. 撤销)
ANY_STATE = "any"


class WorkflowState(Strict):
    key: Key
    name_zh: Text
    name_en: Text
    terminal: bool = False


class Transition(Strict):
    """A move from one state to another, who may make it, and what it needs."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_state: Key = Field(alias="from", description="a state, or 'any' for every state of the course before 'done'")
    to_state: Key = Field(alias="to")
    roles: list[Key] = Field(min_length=1)
    requires: list[Key] = Field(
        default_factory=list, description="case fields, or 'attachment' / 'comment', needed for the move")
    credits: Key | None = Field(
        default=None, description="credit the case's quota to its district on this move, on the area entered "
        "in this case field (e.g. accepted_area_mu)")
    name_zh: str | None = None
    name_en: str | None = None


class WorkflowParams(Strict):
    families: list[Key] = Field(min_length=1, description="disposal families whose cases follow this workflow")
    paths: list[Key] | None = Field(default=None, description="only these paths of the families (default all)")
    initial: Key
    done: Key = Field(description="the state from which a case counts as achieved (for the targets)")
    states: list[WorkflowState] = Field(min_length=2)
    transitions: list[Transition] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> WorkflowParams:
        keys = [st.key for st in self.states]
        found: list[Problem] = []
        if len(set(keys)) != len(keys):
            found.append((("states",), "duplicate state keys", "状态重复"))
        for name in ("initial", "done"):
            if getattr(self, name) not in keys:
                found.append(((name,), f"unknown state {getattr(self, name)!r}", f"未知状态 {getattr(self, name)!r}"))
        for i, t in enumerate(self.transitions):
            for end, key in (("from", t.from_state), ("to", t.to_state)):
                if key not in keys and not (end == "from" and key == ANY_STATE):
                    found.append((("transitions", i, end), f"unknown state {key!r}", f"未知状态 {key!r}"))
        if not found and not self._route(self.initial, self.done):
            found.append((("done",), f"state {self.done!r} cannot be reached from {self.initial!r}",
                          f"从 {self.initial!r} 无法办理到 {self.done!r}"))
        if found:
            raise problems(found)
        return self

    def state(self, key: str) -> WorkflowState:
        return next(st for st in self.states if st.key == key)

    def _route(self, start: str, goal: str | None) -> list[Transition]:
        """The shortest chain of named (not ``any``) transitions from ``start`` to ``goal``
        (None: to any terminal state); empty when there is none or start is the goal."""
        paths: dict[str, list[Transition]] = {start: []}
        frontier = [start]
        while frontier:
            nxt = []
            for key in frontier:
                if key == goal or (goal is None and self.state(key).terminal):
                    return paths[key]
                for t in self.transitions:
                    if t.from_state == key and t.to_state not in paths:
                        paths[t.to_state] = [*paths[key], t]
                        nxt.append(t.to_state)
            frontier = nxt
        return []

    def main_path(self) -> list[Transition]:
        """The regular course of a case: from ``initial`` through ``done`` to a terminal state."""
        first = self._route(self.initial, self.done)
        return first + self._route(self.done, None)

    def before_done(self) -> set[str]:
        """The states a case can be in before it reaches ``done`` (where ``any`` moves apply)."""
        seen, frontier = {self.initial}, [self.initial]
        while frontier:
            frontier = [t.to_state for t in self.transitions
                        if t.from_state in frontier and t.to_state not in seen and t.to_state != self.done]
            seen.update(frontier)
        return {k for k in seen if not self.state(k).terminal}

    def moves_from(self, state: str) -> list[Transition]:
        """The transitions out of ``state`` (``any`` ones only from a state before ``done``: what was
        achieved, and credited, is not withdrawn)."""
        early = state in self.before_done()
        return [t for t in self.transitions if t.from_state == state or (early and t.from_state == ANY_STATE)]


class Workflow(Rule):
    """The states a case of some disposal families goes through, and who moves it."""

    params: WorkflowParams


class LedgerParams(Strict):
    city_owner: Key = Field(description="owner key of the city pool account")
    permissions: dict[Literal["credit", "transfer", "spend", "compensate"], list[Key]] = Field(
        description="roles allowed each ledger action; district roles only on their own district's accounts")


class LedgerRule(Rule):
    """Who may post to the quota ledger (指标台账)."""

    params: LedgerParams


class Operations(Strict):
    roles: list[Role] = Field(min_length=1)
    permissions: dict[Literal["open", "comment", "analyze", "load"], list[Key]] = Field(
        description="roles allowed to open cases from a run, to comment on a case, to start an analysis "
                    "and to load a delivered file into the store (a missing action: nobody)")
    fields: list[CaseField] = Field(default_factory=list)
    workflows: list[Workflow] = Field(min_length=1)
    ledger: LedgerRule

    def role(self, key: str) -> Role:
        for r in self.roles:
            if r.key == key:
                return r
        raise KeyError(key)

    def field(self, key: str) -> CaseField:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)

    def workflow_for(self, family: str, path: str) -> Workflow:
        """The workflow a case of ``family`` / ``path`` follows (the first that names both)."""
        for w in self.workflows:
            if family in w.params.families and (w.params.paths is None or path in w.params.paths):
                return w
        raise KeyError(f"no workflow for family {family!r}, path {path!r}")


class Profile(Strict):
    """A validated policy profile. Get any rule with :meth:`rule`."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    name_zh: Text
    name_en: Text
    version: Text
    source: Source
    city: City
    targets: Targets
    tags: dict[Key, Tag] = Field(min_length=1)
    evaluation: Evaluation
    land_rules: LandRules
    disposal: Disposal
    quota: Quota
    allocation: Allocation
    operations: Operations

    _index: dict[str, tuple[tuple[PathPart, ...], Rule]] = PrivateAttr(default_factory=dict)

    # -- rule registry
    def iter_rules(self) -> Iterator[tuple[tuple[PathPart, ...], Rule]]:
        """Every rule with its key path, in file order."""
        yield from _walk_rules(self, ())

    def rules(self) -> list[Rule]:
        return [r for _, r in self.iter_rules()]

    def rule(self, rule_id: str) -> Rule:
        """Any rule by id, e.g. ``profile.rule("tag.low.plot_ratio")``."""
        try:
            return self._index[rule_id][1]
        except KeyError:
            raise KeyError(f"no rule {rule_id!r} in profile {self.id}") from None

    def rule_path(self, rule_id: str) -> str:
        """Dotted key path of a rule in the file, e.g. ``tags.low.rules[2]``."""
        return _dotted(self._index[rule_id][0])

    def has_rule(self, rule_id: str) -> bool:
        return rule_id in self._index

    def assumptions(self) -> list[Rule]:
        """Rules holding inferred or borrowed values (flagged ``assumption: true``)."""
        return [r for r in self.rules() if r.assumption]

    def tag_rules(self) -> list[tuple[str, TagRule]]:
        """(tag key, rule) for every tag rule."""
        return [(k, r) for k, t in self.tags.items() for r in t.rules]

    # -- reproducibility
    def canonical_json(self) -> str:
        """The validated profile as canonical JSON (sorted keys, no whitespace)."""
        return json.dumps(
            self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )

    def digest(self) -> str:
        """sha256 of :meth:`canonical_json`; equal digests mean equal policies."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    @model_validator(mode="after")
    def _consistency(self) -> Profile:
        found: list[Problem] = []
        index: dict[str, tuple[tuple[PathPart, ...], Rule]] = {}
        for path, r in self.iter_rules():
            if r.id in index:
                first = _dotted(index[r.id][0])
                found.append(
                    (
                        path + ("id",),
                        f"duplicate rule id {r.id!r} (first at {first})",
                        f"规则编号 {r.id!r} 重复（首次出现于 {first}）",
                    )
                )
            else:
                index[r.id] = (path, r)
        self._index = index

        def ref(path: tuple[PathPart, ...], rid: str, cls: type[Rule] | None = None) -> None:
            if rid not in index:
                found.append((path, f"no rule with id {rid!r}", f"不存在编号为 {rid!r} 的规则"))
            elif cls is not None and not isinstance(index[rid][1], cls):
                found.append(
                    (
                        path,
                        f"{rid!r} is not a {cls.__name__} rule",
                        f"{rid!r} 不是 {cls.__name__} 类规则",
                    )
                )

        tag_keys = set(self.tags)
        labels = set(self.evaluation.class_labels)
        for key, tag in self.tags.items():
            for i, r in enumerate(tag.rules):
                here: tuple[PathPart, ...] = ("tags", key, "rules", i)
                if not r.id.startswith(f"tag.{key}."):
                    found.append(
                        (
                            here + ("id",),
                            f"rule id must start with 'tag.{key}.'",
                            f"规则编号须以 'tag.{key}.' 开头",
                        )
                    )
                if isinstance(r, PlotRatioRule):
                    ref(here + ("params", "floor_rule"), r.params.floor_rule, PlotRatioFloor)
                elif isinstance(r, IdleLandRule):
                    ref(
                        here + ("params", "definition_rule"),
                        r.params.definition_rule,
                        IdleDefinition,
                    )
                elif isinstance(r, EvaluationClassRule):
                    for j, c in enumerate(r.params.classes):
                        if c not in labels:
                            found.append(
                                (
                                    here + ("params", "classes", j),
                                    f"unknown class {c!r}",
                                    f"未知等级 {c!r}",
                                )
                            )
        for i, d in enumerate(self.disposal.rules):
            here = ("disposal", "rules", i)
            w = d.when
            for field in ("tags_any", "tags_all", "tags_none"):
                for j, t in enumerate(getattr(w, field) or []):
                    if t not in tag_keys:
                        found.append(
                            (
                                here + ("when", field, j),
                                f"unknown tag {t!r} ({', '.join(sorted(tag_keys))})",
                                f"未知标签 {t!r}",
                            )
                        )
            for j, rid in enumerate(w.rules_any or []):
                ref(here + ("when", "rules_any", j), rid)
            for j, c in enumerate(w.class_any or []):
                if c not in labels:
                    found.append(
                        (here + ("when", "class_any", j), f"unknown class {c!r}", f"未知等级 {c!r}")
                    )
            for j, rid in enumerate(d.params.yields_quota):
                ref(here + ("params", "yields_quota", j), rid)
            planned = set(self.land_rules.planning.params.uses) if self.land_rules.planning else set()
            for j, u in enumerate(w.planned_use_any or []):
                if u not in planned:
                    found.append((here + ("when", "planned_use_any", j),
                                  f"unknown planned use {u!r} (land_rules.planning.params.uses: "
                                  f"{', '.join(sorted(planned)) or 'none'})",
                                  f"未知规划用途 {u!r}（见 land_rules.planning.params.uses）"))
        ops = self.operations
        role_keys = {r.key for r in ops.roles}
        needs = {f.key for f in ops.fields} | {"attachment", "comment"}
        families = {f.key for f in self.disposal.families}
        for i, w in enumerate(ops.workflows):
            here = ("operations", "workflows", i, "params")
            for j, fam in enumerate(w.params.families):
                if fam not in families:
                    found.append((here + ("families", j), f"unknown disposal family {fam!r}", f"未知处置类别 {fam!r}"))
            for j, t in enumerate(w.params.transitions):
                for k, r in enumerate(t.roles):
                    if r not in role_keys:
                        found.append((here + ("transitions", j, "roles", k), f"unknown role {r!r}", f"未知角色 {r!r}"))
                for k, need in enumerate(t.requires):
                    if need not in needs:
                        found.append((here + ("transitions", j, "requires", k),
                                      f"unknown case field {need!r}", f"未知案件字段 {need!r}"))
                if t.credits is not None and t.credits not in t.requires:
                    found.append((here + ("transitions", j, "credits"),
                                  f"credits on {t.credits!r}, which the move does not require",
                                  f"入账面积字段 {t.credits!r} 须列入 requires"))
        for i, d in enumerate(self.disposal.rules):
            if d.subject != "parcel":
                continue
            try:
                ops.workflow_for(d.family, d.path)
            except KeyError:
                found.append((("disposal", "rules", i), f"no workflow for family {d.family!r}, path {d.path!r}",
                              f"处置路径 {d.path!r} 没有对应的工作流程"))
        for action, roles in [*ops.permissions.items(), *ops.ledger.params.permissions.items()]:
            for k, r in enumerate(roles):
                if r not in role_keys:
                    found.append((("operations", "ledger", "params", "permissions", action, k),
                                  f"unknown role {r!r}", f"未知角色 {r!r}"))
        for field in ("priority_order", "excluded"):
            for j, c in enumerate(getattr(self.quota.by_class.params, field)):
                if c not in labels:
                    found.append(
                        (
                            ("quota", "by_class", "params", field, j),
                            f"unknown class {c!r}",
                            f"未知等级 {c!r}",
                        )
                    )
        for i, a in enumerate(self.allocation.classes):
            if a.class_key not in labels:
                found.append(
                    (
                        ("allocation", "classes", i, "class_key"),
                        f"unknown class {a.class_key!r}",
                        f"未知等级 {a.class_key!r}",
                    )
                )
        for c in self.disposal.priority.params.class_severity:
            if c not in labels:
                found.append(
                    (
                        ("disposal", "priority", "params", "class_severity", c),
                        f"unknown class {c!r}",
                        f"未知等级 {c!r}",
                    )
                )
        if found:
            raise problems(found)
        return self


def _walk_rules(
    obj: Any, path: tuple[PathPart, ...]
) -> Iterator[tuple[tuple[PathPart, ...], Rule]]:
    if isinstance(obj, Rule):
        yield path, obj
        return
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from _walk_rules(getattr(obj, name), path + (name,))
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk_rules(v, path + (k,))
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            yield from _walk_rules(v, path + (i,))


def _dotted(path: Sequence[PathPart]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out
