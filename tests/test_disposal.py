"""Step 5: disposal paths, priority and yield, one hand-built scenario per rule of the table.

Inputs are built by hand (no geometry): one row per parcel with its overlay facts (space,
layer shares, construction flag), its tag hits (rule ids) and its 亩均 class. Expected values
are worked out by hand from the profile's numbers (read from the profile, never repeated).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from landrenew.analysis.disposal import (
    CASE_COLUMNS,
    FIRM_COLUMNS,
    YIELD_COLUMNS,
    recommend,
    recommend_firms,
)
from landrenew.analysis.overlay import construction_flags
from landrenew.codes.parcel_code import make_parcel_code

KINDS = ["eco_redline", "basic_farmland", "urban_boundary", "industrial_line", "industrial_park"]
SPACE_LAYER = {"ecological": "eco_redline", "urban": "urban_boundary"}
#: a tag hit that no disposal rule names, per tag (so a test can give a tag without a rule)
NEUTRAL = {"danger": "tag.danger.hazard_list", "pollution": "tag.pollution.violation",
           "disorder": "tag.disorder.illegal_land", "scattered": "tag.scattered.isolated_patch",
           "low": "tag.low.evaluation_class"}


def code(i: int, district: str = "320412") -> str:
    return make_parcel_code(district, 1, 2, "G", "B", i + 1)


def P(area: float = 30.0, space: str | None = "agricultural", dlbm: str = "0702", tags: tuple = (),
      rules: tuple = (), cls: str | None = None, district: str = "320412", unit: int | None = None,
      planned: str | None = None, paddy: bool = False, **shares: float) -> dict[str, Any]:
    """One parcel: its area (亩), space, land use, tag keys, fired rule ids, class, unit, the
    planned 用地用海 code of its plan zone, whether it lies next to paddy fields, shares."""
    return dict(area=area, space=space, dlbm=dlbm, tags=tags, rules=rules, cls=cls,
                district=district, unit=unit, planned=planned, paddy=paddy, shares=shares)


def tag_of(profile, rule_id: str) -> str:
    for key, r in profile.tag_rules():
        if r.id == rule_id:
            return key
    return "low"  # land.idle.fee / land.idle.take_back ride on the idle-land tag


def build(profile, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The inputs of :func:`recommend` for ``rows`` (parcel i has code(i))."""
    n = len(rows)
    codes = [code(i, r["district"]) for i, r in enumerate(rows)]
    parcels = pd.DataFrame({"key": codes, "parcel_code": codes,
                            "district_code": [r["district"] for r in rows],
                            "dlbm": [r["dlbm"] for r in rows], "ydyh_code": [None] * n})
    overlay = pd.DataFrame({"area_mu": [r["area"] for r in rows]})
    for k in KINDS:
        overlay[f"share_{k}"] = [r["shares"].get(k, 1.0 if SPACE_LAYER.get(r["space"]) == k else 0.0)
                                 for r in rows]
    overlay["space"] = pd.array([r["space"] for r in rows], dtype="string")
    overlay["planned_code"] = pd.array([r["planned"] for r in rows], dtype="string")
    overlay["fit_paddy"] = [r["paddy"] for r in rows]
    overlay["is_construction"] = construction_flags(parcels["dlbm"], parcels["ydyh_code"])
    hits = []
    for i, r in enumerate(rows):
        ids = list(r["rules"]) + [NEUTRAL[t] for t in r["tags"]]
        for rid in dict.fromkeys(ids):
            hits.append({"parcel_index": i, "parcel_key": codes[i], "tag_key": tag_of(profile, rid),
                         "rule_id": rid, "evidence_id": "x"})
    tag_hits = pd.DataFrame(hits, columns=["parcel_index", "parcel_key", "tag_key", "rule_id", "evidence_id"])
    tags = pd.DataFrame(index=pd.RangeIndex(n))
    for k in profile.tags:
        tags[k] = [bool(((tag_hits["parcel_index"] == i) & (tag_hits["tag_key"] == k)).any()) for i in range(n)]
    tags["n_hits"] = [int((tag_hits["parcel_index"] == i).sum()) for i in range(n)]
    classes = pd.DataFrame({"class": [r["cls"] for r in rows if r["cls"]]},
                           index=pd.Index([c for c, r in zip(codes, rows, strict=True) if r["cls"]], name="parcel_code"))
    # units: rows sharing a unit number form one unit; other flagged parcels are units of one
    ids, next_id, seen = [], 1, {}
    for i, r in enumerate(rows):
        if tags["n_hits"][i] == 0:
            ids.append(pd.NA)
        elif r["unit"] is not None and r["unit"] in seen:
            ids.append(seen[r["unit"]])
        else:
            ids.append(next_id)
            if r["unit"] is not None:
                seen[r["unit"]] = next_id
            next_id += 1
    unit_of = pd.Series(pd.array(ids, dtype="Int64"))
    units = unit_of.dropna().value_counts().rename("n_parcels").rename_axis("unit_id").reset_index()
    return dict(parcels=parcels, overlay=overlay, tags_summary=tags, tag_hits=tag_hits,
                parcel_class=classes, unit_of=unit_of, units=units, profile=profile)


def run(profile, rows: list[dict[str, Any]], **kw: Any) -> pd.DataFrame:
    return recommend(**build(profile, rows), **kw).set_index("case_id")


def rate(profile, kind: str) -> float:
    return profile.quota.balance_kind(kind).params.per_mu


# --------------------------------------------------------------------------- ecological


def test_reclaim_to_farmland_in_agricultural_space_yields_quantity_grain_and_linkage(profile):
    """一、(二)基本原则（优先复垦为耕地）: a 30 亩 scattered homestead in agricultural space, outside the
    urban boundary, is reclaimed; it yields 30 亩 quantity quota, 30 × the profile's kg/亩 of grain
    capacity and 30 × quota_per_accepted_mu of 增减挂钩 quota; no paddy quota (not next to paddy fields)."""
    out = run(profile, [P(30.0, "agricultural", "0702", tags=("scattered",))])
    c = out.loc["P0"]
    assert c["path"] == "reclaim_cultivated" and c["rule_id"] == "disposal.eco.reclaim_cultivated"
    assert c["family"] == "ecological" and c["family_zh"] == "生态整治" and c["path_zh"] == "复垦耕地"
    assert c["clause"] == "一、(二)基本原则（优先复垦为耕地）"
    assert c["cultivated_mu"] == pytest.approx(30.0)
    assert c["grain_kg"] == pytest.approx(30.0 * rate(profile, "grain_capacity"))
    assert c["construction_quota_mu"] == pytest.approx(30.0 * profile.quota.linkage.params.quota_per_accepted_mu)
    assert c["vacated_mu"] == pytest.approx(30.0)
    assert c["paddy_mu"] == 0.0 and c["stock_linkage_mu"] == 0.0
    assert "可复垦为耕地 = 是" in c["reason_zh"] and "空间 农业空间" in c["reason_zh"]
    assert "quota.balance.paddy：复垦建设用地面积（仅计与指定地类相距 50 米内的部分）" in c["yield_note_zh"]


def test_paddy_quota_where_the_reclaimed_land_lies_next_to_paddy(profile):
    """耕地占补平衡 (quota.balance.paddy next_to 0101): of a unit of 30 + 20 亩 only the 20 亩 next to
    paddy fields count, × per_mu; the balance_per_mu keyword overrides the factor."""
    rows = [P(30.0, tags=("scattered",), unit=1), P(20.0, tags=("scattered",), unit=1, paddy=True)]
    per = rate(profile, "paddy")
    assert run(profile, rows).iloc[0]["paddy_mu"] == pytest.approx(20.0 * per)
    assert run(profile, rows, balance_per_mu={"paddy": 0.4}).iloc[0]["paddy_mu"] == pytest.approx(8.0)


@pytest.mark.parametrize("row", [
    P(20.0, "agricultural", "0702", tags=("scattered",), urban_boundary=0.8),  # inside the urban boundary
    P(20.0, "ecological", "0601", tags=("scattered",)),                        # ecological space
    P(20.0, "agricultural", "0101", tags=("disorder",)),                       # not construction land
], ids=["urban_boundary", "ecological", "not_construction"])
def test_otherwise_greening(profile, row):
    """二、工作目标（生态扩容提质）: tagged land in ecological space, inside the urban boundary, or not
    construction land is not reclaimed but restored / greened: linkage quota only (on construction land)."""
    out = run(profile, [row])
    c = out.iloc[0]
    if "disorder" in row["tags"]:  # illegal land outside every line: plan conformity unknown
        assert "disposal.illegal.demolish_reclaim（符合规划 未知）" in c["reason_zh"]
    assert c["path"] == "ecological_restoration" and c["path_zh"] == "生态修复/绿化"
    assert c["cultivated_mu"] == 0.0 and c["grain_kg"] == 0.0
    construction = 0.0 if row["dlbm"] == "0101" else 20.0
    assert c["construction_quota_mu"] == pytest.approx(construction * profile.quota.linkage.params.quota_per_accepted_mu)
    assert c["vacated_mu"] == pytest.approx(20.0)


def test_contaminated_site_is_not_reclaimed_to_farmland(profile):
    """一、(二)基本原则（确保补充耕地质量）: a contaminated site (land.reclaimable exclude_rules) is greened;
    without the exclusion it would be reclaimed."""
    row = P(10.0, rules=("tag.pollution.contaminated_site",))
    assert run(profile, [row]).iloc[0]["path"] == "ecological_restoration"
    assert run(profile, [row], reclaim_exclude_rules=[]).iloc[0]["path"] == "reclaim_cultivated"


# --------------------------------------------------------------------------- illegal land


def test_illegal_land_in_basic_farmland_is_demolished_and_reclaimed(profile):
    """一、(三)整治提升对象 第4项: illegal land that does not conform to the plan (in permanent basic
    farmland) → 拆除复垦, yielding the quantity quota."""
    out = run(profile, [P(12.0, "agricultural", "0601", rules=("tag.disorder.illegal_land",), basic_farmland=1.0)])
    c = out.iloc[0]
    assert c["path"] == "demolish_reclaim" and c["family"] == "illegal" and c["path_zh"] == "拆除复垦"
    assert "符合规划 = 否" in c["reason_zh"] and "生态保护红线或永久基本农田" in c["reason_zh"]
    assert c["cultivated_mu"] == pytest.approx(12.0)


def test_illegal_land_in_urban_space_is_regularised(profile):
    """一、(三)整治提升对象 第4项: illegal land that conforms (inside the urban boundary) → 完善手续."""
    out = run(profile, [P(5.0, "urban", "0601", rules=("tag.disorder.illegal_land",))])
    assert out.iloc[0]["path"] == "regularise" and out.iloc[0]["path_zh"] == "完善手续"
    assert out.iloc[0][YIELD_COLUMNS].sum() == 0.0


def test_plan_conformity_given_as_input_overrides_the_derivation(profile):
    """一、(三)整治提升对象 第4项: conforms_to_plan given per parcel decides where 三区三线 cannot."""
    row = P(5.0, "agricultural", "0601", rules=("tag.disorder.illegal_land",))
    out = run(profile, [row], conforms_to_plan=pd.Series([True]))
    assert out.iloc[0]["path"] == "regularise"
    assert "含输入值" in out.iloc[0]["reason_zh"]


def test_first_matching_rule_wins(profile):
    """Decision table order: illegal land that is also idle is handled as illegal land first."""
    out = run(profile, [P(5.0, "urban", "0601", rules=("tag.disorder.illegal_land", "land.idle.take_back"))])
    assert out.iloc[0]["rule_id"] == "disposal.illegal.regularise"


# --------------------------------------------------------------------------- idle and unsupplied


def test_idle_two_years_is_taken_back_one_year_pays_the_fee(profile):
    """部令第53号 第十四条: idle ≥ 2 years → 无偿收回; idle 1–2 years → 征收闲置费."""
    out = run(profile, [P(8.0, "urban", "0601", rules=("tag.low.idle_land", "land.idle.take_back")),
                        P(8.0, "urban", "0601", rules=("tag.low.idle_land", "land.idle.fee"))])
    assert out.loc["P0", "path"] == "take_back" and out.loc["P0", "path_zh"] == "无偿收回"
    assert out.loc["P1", "path"] == "idle_fee"
    assert out.loc["P0", "clause"] == "部令第53号 第十四条"


def test_unsupplied_is_revoked_in_agricultural_space_supplied_in_urban_adjusted_off_plan(profile):
    """一、(三)整治提升对象 第3项: 批而未供 in agricultural space → 撤回批文; in urban space → 供应;
    not conforming to the plan (given) → 调整."""
    rows = [P(40.0, "agricultural", "0601", rules=("tag.low.unsupplied",)),
            P(40.0, "urban", "0601", rules=("tag.low.unsupplied",)),
            P(40.0, "urban", "0601", rules=("tag.low.unsupplied",))]
    out = run(profile, rows, conforms_to_plan=pd.Series([None, None, False], dtype="boolean"))
    assert out.loc["P0", "path"] == "revoke"
    assert out.loc["P1", "path"] == "supply" and out.loc["P1", "family"] == "unsupplied"
    assert out.loc["P2", "path"] == "adjust"


def test_stock_linkage_quota_when_a_path_names_it(profile):
    """自然资规〔2018〕1号 增存挂钩: the profile names quota.stock_linkage for supply and take-back, so
    40 亩 supplied earn 40 × quota_per_unsupplied_mu and 8 亩 taken back earn 8 × quota_per_idle_mu."""
    sp = profile.quota.stock_linkage.params
    rows = [P(40.0, "urban", "0601", rules=("tag.low.unsupplied",)),
            P(8.0, "urban", "0601", rules=("tag.low.idle_land", "land.idle.take_back"))]
    out = run(profile, rows)
    assert out.loc["P0", "stock_linkage_mu"] == pytest.approx(40.0 * sp.quota_per_unsupplied_mu)
    assert out.loc["P1", "stock_linkage_mu"] == pytest.approx(8.0 * sp.quota_per_idle_mu)


# --------------------------------------------------------------------------- upgrade


def test_upgrade_paths_in_urban_space(profile):
    """二、工作目标（产业转型升级 / 空间优化重塑）, 国土资规〔2016〕147号: D land → 收储再供应; danger not
    rectifiable → 收储再供应; low land outside the industrial line planned commercial → 工改服; scattered
    C land → 兼并重组; plot ratio below the floor in a park → 提高容积率; other low land → 自主更新."""
    rows = [
        P(10.0, "urban", "0601", tags=("low",), cls="D"),
        P(10.0, "urban", "0601", tags=("danger",)),
        P(10.0, "urban", "0601", tags=("low",), cls="B", industrial_line=0.0),
        P(10.0, "urban", "0601", tags=("scattered",), cls="C"),
        P(10.0, "urban", "0601", rules=("tag.low.plot_ratio",), cls="B", industrial_park=0.9, industrial_line=1.0),
        P(10.0, "urban", "0601", tags=("low",), cls="B", industrial_line=1.0),
    ]
    out = run(profile, rows, rectifiable=pd.Series([None, False, None, None, None, None], dtype="boolean"),
              planned_use=pd.Series([None, None, "commercial", None, None, None]))
    assert out.loc["P0", "rule_id"] == "disposal.upgrade.acquire_resupply"
    assert out.loc["P1", "rule_id"] == "disposal.upgrade.acquire_resupply_hazard"
    assert out.loc["P2", "path"] == "industrial_to_service"
    assert out.loc["P3", "path"] == "merger"
    assert out.loc["P4", "path"] == "raise_plot_ratio" and "在园区内 = 是（面积占比 90%" in out.loc["P4", "reason_zh"]
    assert out.loc["P5", "path"] == "self_renewal"
    assert set(out["family"]) == {"upgrade"}


def test_unknown_planned_use_leaves_industrial_to_service_undecided(profile):
    """Derived conditions: without planned-use data 工改服 does not match and the reason says so."""
    out = run(profile, [P(10.0, "urban", "0601", tags=("low",), cls="B", industrial_line=0.0)])
    c = out.iloc[0]
    assert c["path"] == "self_renewal"
    assert "disposal.upgrade.industrial_to_service（规划用途 未知）" in c["reason_zh"]
    assert "planned use unknown" in c["reason_en"]


def test_planned_use_and_conformity_come_from_the_plan_zone(profile):
    """二、工作目标（空间优化重塑） with land.planning: low industrial land (DLBM 0601 → 用地用海 1001)
    outside the industrial line in a zone planned 0902 商务金融 is planned ``business`` → 工改服;
    illegal industrial land in urban space planned 0701 住宅 does not conform → 拆除复垦, planned 1001
    conforms → 完善手续; in agricultural space outside every line the plan zone decides too."""
    rows = [P(10.0, "urban", "0601", tags=("low",), cls="B", industrial_line=0.0, planned="0902"),
            P(5.0, "urban", "0601", rules=("tag.disorder.illegal_land",), planned="0701"),
            P(5.0, "urban", "0601", rules=("tag.disorder.illegal_land",), planned="1001"),
            P(5.0, "agricultural", "0601", rules=("tag.disorder.illegal_land",), planned="100101")]
    out = run(profile, rows)
    assert "business" in profile.rule("disposal.upgrade.industrial_to_service").when.planned_use_any
    assert out.loc["P0", "path"] == "industrial_to_service"
    assert out.loc["P1", "path"] == "demolish_reclaim"
    assert "现状用途与详细规划用途不一致" in out.loc["P1", "reason_zh"]
    assert out.loc["P2", "path"] == "regularise" and out.loc["P3", "path"] == "regularise"


def test_unbuilt_land_conforms_where_the_plan_allows_building(profile):
    """land.planning (unbuilt, build_uses): approved-but-unsupplied vacant land (DLBM 1201) in a zone
    planned 1001 industrial conforms → 供应; in a zone planned 1401 park it does not → 调整."""
    rows = [P(20.0, "urban", "1201", rules=("tag.low.unsupplied",), planned="1001"),
            P(20.0, "urban", "1201", rules=("tag.low.unsupplied",), planned="1401")]
    out = run(profile, rows)
    assert out.loc["P0", "path"] == "supply" and out.loc["P1", "path"] == "adjust"


def test_red_line_overrides_a_conforming_plan_zone(profile):
    """一、(三)整治提升对象 第4项: construction is barred in permanent basic farmland whatever the zone says."""
    out = run(profile, [P(5.0, "agricultural", "0601", rules=("tag.disorder.illegal_land",), planned="1001",
                          basic_farmland=1.0)])
    assert out.iloc[0]["path"] == "demolish_reclaim"


def evidence_for(hits: pd.DataFrame, judged: dict[str, bool | None]) -> pd.DataFrame:
    """List entries (kind hazards) for evidence ids; a None value is an entry not judged."""
    return pd.DataFrame({"kind": "hazards", "record_id": list(judged),
                         "attrs": [{"rectifiable": v, "level": "重大"} for v in judged.values()]})


def test_rectifiable_comes_from_the_list_entries_behind_the_hits(profile):
    """二、工作目标（产业转型升级）: a parcel in urban space whose hazard entry is judged not fixable →
    收储再供应; all entries fixable, or one not judged → that rule does not apply."""
    inputs = build(profile, [P(10.0, "urban", "0601", tags=("danger",), cls="B", industrial_line=1.0)] * 3)
    h = inputs["tag_hits"]
    h["evidence_kind"], h["evidence_id"] = "hazards", ["H0", "H1", "H2"]
    extra = h.iloc[[0, 1]].assign(evidence_id=["H0b", "H1b"])
    inputs["tag_hits"] = pd.concat([h, extra], ignore_index=True)
    ev = evidence_for(h, {"H0": True, "H0b": False, "H1": True, "H1b": True, "H2": None})
    out = recommend(**inputs, evidence=ev).set_index("case_id")
    assert out.loc["P0", "rule_id"] == "disposal.upgrade.acquire_resupply_hazard"
    assert "清单认定有问题无法就地整改" in out.loc["P0", "reason_zh"]
    assert out.loc["P1", "rule_id"] != "disposal.upgrade.acquire_resupply_hazard"
    assert "disposal.upgrade.acquire_resupply_hazard（可就地整改 未知）" not in out.loc["P1", "reason_zh"]
    assert "可就地整改 未知" in out.loc["P2", "reason_zh"]


def test_no_rule_matched_is_explicit(profile):
    """Every flagged case gets a path or an explicit "no rule matched" with its facts."""
    out = run(profile, [P(10.0, "urban", "0601", tags=("scattered",), cls="B", industrial_line=1.0)])
    c = out.iloc[0]
    assert not c["matched"] and pd.isna(c["path"]) and pd.isna(c["rule_id"])
    assert c["path_zh"] == "无匹配规则" and c["path_en"] == "no rule matched"
    assert c["reason_zh"].startswith("无匹配规则。事实：空间 城镇空间；标签 散；亩均等级 B")


def test_unflagged_parcels_make_no_case(profile):
    out = run(profile, [P(10.0), P(10.0, tags=("scattered",))])
    assert list(out.index) == ["P1"]


# --------------------------------------------------------------------------- units


def test_a_unit_combines_its_members(profile):
    """一、(二)基本原则（整合土地资源）: a 连片 unit is one case — tags are the union, space and district
    those holding most area, reclaimable only if every member is; so a unit with one urban parcel is
    greened, not reclaimed."""
    rows = [P(30.0, "agricultural", "0702", tags=("scattered",), unit=1, district="320412"),
            P(10.0, "urban", "0601", tags=("danger",), unit=1, cls="D", district="320413"),
            P(5.0, "agricultural", "0702", tags=("low",))]
    out = run(profile, rows)
    assert set(out.index) == {"U1", "P2"}
    u = out.loc["U1"]
    assert u["n_parcels"] == 2 and u["unit_id"] == 1
    assert u["parcel_keys"] == f"{code(0)};{code(1, '320413')}"
    assert u["area_mu"] == pytest.approx(40.0) and u["district_code"] == "320412"
    assert u["space"] == "agricultural" and u["tags"] == "危散" and u["class"] == "D"
    assert u["path"] == "ecological_restoration"
    assert "可复垦为耕地 = 否" not in u["reason_zh"]  # restoration does not test it
    assert out.loc["P2", "path"] == "reclaim_cultivated"
    assert out.loc["P2", "unit_id"] == 2 and out.loc["P2", "n_parcels"] == 1  # a unit of one


def test_unit_reclaimed_as_a_whole_yields_on_its_construction_land(profile):
    """耕地占补平衡: a unit of two reclaimable homesteads (20 + 25 亩) yields 45 亩 of quantity quota."""
    rows = [P(20.0, tags=("scattered",), unit=1), P(25.0, tags=("low",), unit=1)]
    u = run(profile, rows).loc["U1"]
    assert u["path"] == "reclaim_cultivated" and u["cultivated_mu"] == pytest.approx(45.0)
    assert "各宗：是 2" in u["reason_zh"]


# --------------------------------------------------------------------------- priority


def test_priority_by_hand(profile):
    """一、(二)基本原则（着力解决环境污染、安全隐患）: priority = Σ weight × component.

    Case P0: tags 危低 (2 of 5), danger → 1, class D → severity 1, wholly in the red line → 1,
    largest area → 1. Case P1: tag 低 (1 of 5), no danger / pollution, class C, outside the lines,
    smaller of two → area rank ½."""
    w = profile.disposal.priority.params.weights
    sev = profile.disposal.priority.params.class_severity
    rows = [P(50.0, "ecological", "0601", tags=("danger", "low"), cls="D"),
            P(10.0, "urban", "0601", tags=("low",), cls="C")]
    out = run(profile, rows)
    p0 = w["tag_count"] * 2 / 5 + w["danger_or_pollution"] + w["class_severity"] * sev["D"] \
        + w["ecological_sensitivity"] + w["area"]
    p1 = w["tag_count"] / 5 + w["class_severity"] * sev["C"] + w["area"] * 0.5
    assert out.loc["P0", "priority"] == pytest.approx(p0)
    assert out.loc["P1", "priority"] == pytest.approx(p1)
    assert out.loc["P0", "priority_danger_or_pollution"] == pytest.approx(w["danger_or_pollution"])
    assert list(out.index) == ["P0", "P1"]  # highest priority first
    comps = [c for c in out.columns if c.startswith("priority_")]
    assert np.allclose(out[comps].sum(axis=1), out["priority"])


def test_output_columns(profile):
    out = recommend(**build(profile, [P(10.0, tags=("low",))]))
    assert list(out.columns[: len(CASE_COLUMNS)]) == CASE_COLUMNS
    assert set(YIELD_COLUMNS) <= set(out.columns)
    empty = recommend(**build(profile, [P(10.0)]))
    assert len(empty) == 0 and list(empty.columns[: len(CASE_COLUMNS)]) == CASE_COLUMNS


# --------------------------------------------------------------------------- property


SPACES_ST = st.sampled_from(["ecological", "agricultural", "urban", None])
RULES_ST = st.sampled_from(["tag.danger.hazard_list", "tag.pollution.violation", "tag.pollution.contaminated_site",
                            "tag.disorder.illegal_land", "tag.scattered.outside_park", "tag.scattered.isolated_patch",
                            "tag.low.plot_ratio", "tag.low.idle_land", "land.idle.fee", "land.idle.take_back",
                            "tag.low.unsupplied", "tag.low.evaluation_class"])
ROW_ST = st.builds(
    lambda area, space, dlbm, rules, cls, unit, park, line, farm, urb: P(
        area, space, dlbm, rules=tuple(rules), cls=cls, unit=unit, industrial_park=park,
        industrial_line=line, basic_farmland=farm, urban_boundary=urb),
    st.floats(0.0, 500.0), SPACES_ST, st.sampled_from(["0601", "0702", "0101", "05H1", "1003"]),
    st.lists(RULES_ST, max_size=3), st.sampled_from([None, "A", "B", "C", "D", "T"]),
    st.sampled_from([None, None, 1, 2]), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ROW_ST, min_size=1, max_size=12),
       st.lists(st.sampled_from([True, False, None]), min_size=12, max_size=12))
def test_every_case_gets_one_path_or_an_explicit_no_match(profile, rows, rect):
    """Priorities within [0, 100]; one row per case; a path or "no rule matched" with a reason;
    yields non-negative; the cases' areas add up to the flagged parcels' area."""
    inputs = build(profile, rows)
    out = recommend(**inputs, rectifiable=pd.Series(rect[: len(rows)], dtype="boolean"))
    flagged = inputs["tags_summary"]["n_hits"].to_numpy() > 0
    assert out["priority"].between(0, 100).all()
    assert out["case_id"].is_unique and out["n_parcels"].sum() == flagged.sum()
    assert out["area_mu"].sum() == pytest.approx(inputs["overlay"]["area_mu"][flagged].sum())
    ids = {r.id for r in profile.disposal.rules_for("parcel")}
    m = out["matched"].to_numpy(bool)
    assert out.loc[m, "rule_id"].isin(ids).all() and out.loc[m, "path"].notna().all()
    assert out.loc[~m, "rule_id"].isna().all() and (out.loc[~m, "path_zh"] == "无匹配规则").all()
    assert out.loc[~m, "reason_zh"].str.startswith("无匹配规则").all()
    assert (out["reason_zh"].str.len() > 0).all() and (out["reason_en"].str.len() > 0).all()
    assert (out[YIELD_COLUMNS].to_numpy() >= 0).all()


# --------------------------------------------------------------------------- firms


def firm_inputs(profile, n: int = 4):
    usccs = [f"91320412MA{i:07d}X" for i in range(n)]
    ev = pd.DataFrame({"uscc": usccs, "name": [f"企业{i}" for i in range(n)], "district_code": "320412",
                       "year": 2024, "class": ["B", "D", "C", "A"][:n]})
    links = pd.DataFrame({"uscc": usccs, "year": 2024, "parcel_code": [code(i) for i in range(n)]})
    return usccs, ev, links


def firm_hits(rows: list[tuple[int, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame([{"parcel_key": code(i), "tag_key": t, "rule_id": r, "evidence_id": e}
                         for i, t, r, e in rows])


def test_firm_paths_close_relocate_rectify(profile):
    """一、(二)基本原则（加快淘汰落后产能 / 整合土地资源 / 全面提升污染防治水平）: a polluting firm that
    cannot be fixed → 关停取缔 with its actions; a scattered firm outside parks → 整合搬迁; a fixable
    firm → 整治改造; a firm without tags gets no row."""
    usccs, ev, links = firm_inputs(profile)
    hits = firm_hits([(0, "pollution", "tag.pollution.violation", "E1"),
                      (1, "scattered", "tag.scattered.outside_park", "share_industrial_park"),
                      (2, "danger", "tag.danger.hazard_list", "H1")])
    rect = pd.Series([False, None, True], index=usccs[:3], dtype="boolean")
    out = recommend_firms(ev, hits, links, profile, rectifiable=rect).set_index("uscc")
    assert list(out.columns) == [c for c in FIRM_COLUMNS if c != "uscc"]
    assert out.loc[usccs[0], "path"] == "close" and out.loc[usccs[0], "path_zh"] == "关停取缔"
    assert out.loc[usccs[0], "actions_zh"] == ";".join(profile.rule("disposal.firm.close").params.actions_zh)
    assert out.loc[usccs[1], "path"] == "relocate" and "在园区内 = 否" in out.loc[usccs[1], "reason_zh"]
    assert out.loc[usccs[2], "path"] == "rectify"
    assert usccs[3] not in out.index


def test_firm_without_rectifiability_is_not_matched(profile):
    """Derived conditions: rectifiability is not in the workspace; without it close / rectify are
    undecided and the reason says so."""
    usccs, ev, links = firm_inputs(profile, 1)
    out = recommend_firms(ev, firm_hits([(0, "pollution", "tag.pollution.violation", "E1")]), links, profile)
    assert not out.loc[0, "matched"] and out.loc[0, "path_zh"] == "无匹配规则"
    assert "disposal.firm.close（可就地整改 未知）" in out.loc[0, "reason_zh"]


def test_firm_rectifiability_from_its_list_entries(profile):
    """一、(二)基本原则（加快淘汰落后产能）: the pollution entry behind a firm's hit says it cannot be
    fixed → 关停取缔; a danger entry judged fixable → 整治改造; the keyword still overrides."""
    usccs, ev, links = firm_inputs(profile, 2)
    hits = firm_hits([(0, "pollution", "tag.pollution.violation", "E1"), (1, "danger", "tag.danger.hazard_list", "H1")])
    hits["evidence_kind"] = ["pollution", "hazards"]
    entries = pd.DataFrame({"kind": ["pollution", "hazards"], "record_id": ["E1", "H1"],
                            "attrs": [{"rectifiable": False}, {"rectifiable": True}]})
    out = recommend_firms(ev, hits, links, profile, evidence=entries).set_index("uscc")
    assert out.loc[usccs[0], "path"] == "close" and out.loc[usccs[1], "path"] == "rectify"
    given = pd.Series([True], index=[usccs[0]], dtype="boolean")
    again = recommend_firms(ev, hits, links, profile, evidence=entries, rectifiable=given).set_index("uscc")
    assert again.loc[usccs[0], "path"] == "rectify"


def test_a_firms_class_hit_does_not_tag_its_neighbour_on_the_parcel(profile):
    """常政办发〔2018〕28号: the C/D class tag of the firm holding a parcel is that firm's, not the
    other firms' on the same parcel."""
    usccs, ev, links = firm_inputs(profile, 2)
    links = pd.concat([links, pd.DataFrame({"uscc": [usccs[0]], "year": [2024], "parcel_code": [code(1)]})])
    hits = firm_hits([(1, "low", "tag.low.evaluation_class", usccs[1])])
    out = recommend_firms(ev, hits, links, profile)
    assert list(out["uscc"]) == [usccs[1]]


def test_reclaimable_land_use_selector(profile):
    """一、(二)基本原则（优先复垦为耕地）: with reclaimable land-use codes (stand-in for
    land_rules.reclaimable) only those are reclaimed; other tagged construction land is greened."""
    rows = [P(10.0, dlbm="0702", tags=("scattered",)), P(10.0, dlbm="05H1", tags=("scattered",))]
    out = run(profile, rows, reclaimable_land_use={"dlbm": ["0702"]})
    assert out.loc["P0", "path"] == "reclaim_cultivated"
    assert out.loc["P1", "path"] == "ecological_restoration"
