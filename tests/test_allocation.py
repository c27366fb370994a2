"""Step 6: differentiated allocation by 亩均 class (二、工作目标（以亩产论英雄，以质效配资源）).

Rates are read from the profile, never repeated here; the hand-worked answers multiply them
by round consumption figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from landrenew.analysis.allocation import ALLOCATION_COLUMNS, allocate, allocation_lists
from landrenew.policy.schema import Profile

USE = {"electricity_kwh": 1_000_000.0, "water_m3": 20_000.0, "gas_m3": 5_000.0, "sewage_m3": 12_000.0}


def evaluation(classes: list[str], year: int = 2024) -> pd.DataFrame:
    n = len(classes)
    return pd.DataFrame({
        "uscc": [f"91320412MA{i:07d}X" for i in range(n)], "name": [f"企业{i}" for i in range(n)],
        "district_code": ["320412"] * n, "year": [year] * n, "class": classes,
        "score": [90.0 - 10 * i for i in range(n)],
    })


def firms_of(ev: pd.DataFrame, **override: float) -> pd.DataFrame:
    f = ev[["uscc", "year"]].copy()
    for k, v in {**USE, **override}.items():
        f[k] = v
    return f


def d_rates(profile):
    return profile.allocation.for_class("D").params.surcharges


def test_d_firm_pays_the_profile_surcharges(profile):
    """二、工作目标（以亩产论英雄）/ allocation.d: a D firm's sewage surcharge = sewage_m3 × the
    profile's rate (12 000 m³ × 0.17 = 2 040 元 by default); it may not bid for industrial land."""
    ev = evaluation(["D"])
    a = allocate(ev, profile, firms_of(ev)).iloc[0]
    r = d_rates(profile)
    assert a["surcharge_sewage_yuan"] == pytest.approx(12_000 * r.sewage_yuan_per_m3)
    assert a["surcharge_electricity_yuan"] == pytest.approx(1_000_000 * r.electricity_yuan_per_kwh)
    assert a["surcharge_water_yuan"] == pytest.approx(20_000 * r.water_yuan_per_m3)
    assert a["surcharge_gas_yuan"] == pytest.approx(5_000 * r.gas_yuan_per_m3)
    assert a["surcharge_total_yuan"] == pytest.approx(
        a[["surcharge_electricity_yuan", "surcharge_water_yuan", "surcharge_gas_yuan", "surcharge_sewage_yuan"]].sum())
    assert a["land_supply"] == "excluded" and a["energy_quota"] == "restricted"
    assert a["rule_id"] == "allocation.d" and a["clause"] == profile.rule("allocation.d").clause
    assert bool(a["new_land_excluded"]) and pd.isna(a["new_land_order"])
    assert "污水处理费 12000 m³ ×" in a["reason_zh"]


def test_c_firm_pays_half_of_d(profile):
    """allocation.c (南京 practice): C pays surcharge_share × D's surcharges and gets no new land."""
    ev = evaluation(["C", "D"])
    a = allocate(ev, profile, firms_of(ev)).set_index("class")
    share = profile.allocation.for_class("C").params.surcharge_share
    for col in ("surcharge_electricity_yuan", "surcharge_water_yuan", "surcharge_gas_yuan",
                "surcharge_sewage_yuan", "surcharge_total_yuan"):
        assert a.loc["C", col] == pytest.approx(share * a.loc["D", col])
    assert a.loc["C", "land_supply"] == "no_new_land" and a.loc["C", "surcharge_rule"] == f"allocation.d × {share:g}"


def test_a_gets_priority_b_normal_t_nothing(profile):
    """allocation.a / allocation.b / quota.by_class: A first for land, energy and funds (new land order 1),
    B normal (order 2); a not-rated firm (T) has no rule and pays nothing."""
    ev = evaluation(["A", "B", "T"])
    a = allocate(ev, profile, firms_of(ev)).set_index("class")
    assert a.loc["A", ["land_supply", "energy_quota"]].tolist() == ["priority", "priority"]
    assert bool(a.loc["A", "support_funds"]) and a.loc["A", "new_land_order"] == 1
    assert a.loc["B", ["land_supply", "energy_quota"]].tolist() == ["normal", "normal"]
    assert a.loc["B", "new_land_order"] == 2
    assert (a.loc[["A", "B", "T"], "surcharge_total_yuan"] == 0).all()
    assert a.loc["T", "rule_id"] is None and a.loc["T", "land_supply"] is None
    assert "无差别化配置规则" in a.loc["T", "reason_zh"]


def test_consumption_is_merged_on_uscc_and_year(profile):
    """Consumption comes from the firm rows of the evaluation year, not another year's."""
    ev = evaluation(["D"])
    other = firms_of(ev, sewage_m3=99_999.0).assign(year=2023)
    a = allocate(ev, profile, pd.concat([firms_of(ev), other])).iloc[0]
    assert a["sewage_m3"] == 12_000.0
    assert list(allocate(ev, profile, firms_of(ev)).columns) == ALLOCATION_COLUMNS


def test_consumption_already_in_the_evaluation_is_used(profile):
    ev = evaluation(["D"]).assign(**USE)
    a = allocate(ev, profile).iloc[0]
    assert a["surcharge_sewage_yuan"] == pytest.approx(12_000 * d_rates(profile).sewage_yuan_per_m3)


def test_missing_consumption_is_flagged_not_guessed(profile):
    """A D firm without sewage data: that item is unknown (NaN, listed), the total adds the known ones."""
    ev = evaluation(["D"])
    f = firms_of(ev)
    f["sewage_m3"] = np.nan
    a = allocate(ev, profile, f).iloc[0]
    assert np.isnan(a["surcharge_sewage_yuan"]) and a["surcharge_missing"] == "sewage_m3"
    r = d_rates(profile)
    assert a["surcharge_total_yuan"] == pytest.approx(
        1_000_000 * r.electricity_yuan_per_kwh + 20_000 * r.water_yuan_per_m3 + 5_000 * r.gas_yuan_per_m3)


def test_rates_come_from_the_profile(profile):
    """No policy number in code: doubling D's sewage rate in the profile doubles D's and C's sewage surcharges."""
    d = profile.model_dump(mode="json")
    for c in d["allocation"]["classes"]:
        if c["class_key"] == "D":
            c["params"]["surcharges"]["sewage_yuan_per_m3"] *= 2
    other = Profile.model_validate(d)
    ev = evaluation(["C", "D"])
    a = allocate(ev, profile, firms_of(ev)).set_index("class")["surcharge_sewage_yuan"]
    b = allocate(ev, other, firms_of(ev)).set_index("class")["surcharge_sewage_yuan"]
    assert np.allclose(b, 2 * a)


def test_allocation_lists(profile):
    """The published lists: A on the land / energy priority lists, D barred from land auctions, C and D
    without new land, payers sorted by total surcharge."""
    ev = evaluation(["A", "B", "C", "D", "T"])
    lists = allocation_lists(allocate(ev, profile, firms_of(ev)))
    assert list(lists["land_priority"]["class"]) == ["A"] and list(lists["energy_priority"]["class"]) == ["A"]
    assert list(lists["land_excluded"]["class"]) == ["D"]
    assert sorted(lists["no_new_land"]["class"]) == ["C", "D"]
    assert sorted(lists["energy_restricted"]["class"]) == ["C", "D"]
    assert list(lists["surcharge"]["class"]) == ["D", "C"]
