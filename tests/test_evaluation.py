"""亩均效益 evaluation ("6+x", 常政办发〔2018〕28号): hand-worked scenarios and properties.

The scenario (profile changzhou-2022: weights 40/20/10/10/10/10 for 规上, 80/20 for 规下,
benchmark 2 × previous-year mean of district and group, cap 1.2, cut-offs 20/60/95/100 %):

previous year 2023
  320412 规上  P1 (10, 100, 1, 20, 5, .02)  P2 (30, 300, 3, 60, 15, .06)  P3 utility (huge)
               → benchmarks 2 × mean = (40, 400, 4, 80, 20, .08); P3 is T and left out
  320412 规下  Q1 (5, 50)  Q2 (15, 150)  Q3 2 亩 (< 3 亩, T, huge)  → benchmarks (20, 200)
  320402 规下  R1 (10, 100)                                          → benchmarks (20, 200)
  320402 规上  none                                                  → fallback: this year's mean
evaluation year 2024 (indicator tuples = tax/mu, sales/mu, tax/tce, tax/pollutant, VA/person, R&D/sales)
  320412 规上  A1 ratio 1 → 100; A2 ratio .5 + high-tech bonus 3 → 53; A3 ratio 2, capped → 120;
               A4 ratio .25 but no employees: VA/person takes last year's group mean (5+15)/2 = 10
               → 10/20 × 10 = 5, + .25 × 90 = 22.5 → 27.5; A5 ratio 1.1 → 110 but veto → D;
               A6 1 year in production → T; A7 utility → T.
               rank A3 1/5 A, A5 2/5 (B) → D, A1 3/5 B, A2 4/5 C, A4 5/5 D
  320412 规下  B1 (20, 200) → 100, 1/2 B; B2 (10, 100) → 50, 2/2 D; B3 2 亩 → T; B4 0 亩 → T
  320402 规上  benchmarks from 2024 (C3's undefined tax/mu and sales/mu are not in the mean):
               (40, 400, 4, 80, 20, .08); C1 ratio .25 → 25 (3/3 D); C2 ratio .75 → 75 (1/3 B);
               C3 0 亩: tax/mu and sales/mu filled with this year's group means 20 and 200 (no 2023
               data here), ratio .5 → 50 (2/3 C)
  320402 规下  D1 (30, 100): min(1.5, 1.2) × 80 + .5 × 20 = 106 (1/2 B); D2 (10, 100) → 50 (2/2 D)
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from landrenew.analysis.evaluation import evaluate, parcel_classes
from landrenew.policy import parse_profile

KEYS = ("tax_per_mu", "sales_per_mu", "tax_per_energy", "tax_per_pollutant",
        "labour_productivity", "rd_intensity")
BENCH_ABOVE = (40.0, 400.0, 4.0, 80.0, 20.0, 0.08)
WEIGHTS_ABOVE = (40.0, 20.0, 10.0, 10.0, 10.0, 10.0)
HUGE = (1000.0, 10000.0, 100.0, 1000.0, 1000.0, 0.5)


def firm(uscc, district, group, year, ind, land=10.0, **extra):
    """A firm-year row whose indicator values are exactly ``ind`` (None = that part missing)."""
    tpm, spm, tpe, tpp, lp, rdi = ind
    tax = extra.pop("tax_wan", None if tpm is None else tpm * land)
    sales = extra.pop("sales_wan", None if spm is None else spm * land)
    row = {
        "uscc": uscc, "name": f"常州{uscc}有限公司", "district_code": district, "year": year,
        "group": group, "industry_code": "34", "tax_wan": tax, "sales_wan": sales,
        "value_added_wan": np.nan if lp is None else lp * 10, "energy_tce": tax / tpe,
        "pollutant_eq": tax / tpp, "employees": np.nan if lp is None else 10.0,
        "rd_wan": rdi * sales, "land_area_mu": land, "years_in_production": 10.0,
        "is_utility": False, "veto_safety_accident": False, "veto_env_penalty": False,
        "is_high_tech": False,
    }
    row.update(extra)
    return row


def below(tpm, spm):
    return (tpm, spm, 1.0, 1.0, 1.0, 0.01)


def ratio(r, bench=BENCH_ABOVE):
    return tuple(r * b for b in bench)


@pytest.fixture(scope="module")
def scenario() -> pd.DataFrame:
    rows = [
        # 2023
        firm("P1", "320412", "规上", 2023, (10, 100, 1, 20, 5, 0.02)),
        firm("P2", "320412", "规上", 2023, (30, 300, 3, 60, 15, 0.06)),
        firm("P3", "320412", "规上", 2023, HUGE, is_utility=True),
        firm("Q1", "320412", "规下", 2023, below(5, 50)),
        firm("Q2", "320412", "规下", 2023, below(15, 150)),
        firm("Q3", "320412", "规下", 2023, below(1000, 10000), land=2.0),
        firm("R1", "320402", "规下", 2023, below(10, 100)),
        # 2024
        firm("A1", "320412", "规上", 2024, ratio(1.0)),
        firm("A2", "320412", "规上", 2024, ratio(0.5), is_high_tech=True),
        firm("A3", "320412", "规上", 2024, ratio(2.0)),
        firm("A4", "320412", "规上", 2024, (10, 100, 1, 20, None, 0.02)),
        firm("A5", "320412", "规上", 2024, ratio(1.1), veto_safety_accident=True),
        firm("A6", "320412", "规上", 2024, HUGE, years_in_production=1.0),
        firm("A7", "320412", "规上", 2024, HUGE, is_utility=True, is_high_tech=True),
        firm("B1", "320412", "规下", 2024, below(20, 200)),
        firm("B2", "320412", "规下", 2024, below(10, 100)),
        firm("B3", "320412", "规下", 2024, below(100, 1000), land=2.0),
        firm("B4", "320412", "规下", 2024, below(1, 1), land=0.0, tax_wan=5.0, sales_wan=50.0),
        firm("C1", "320402", "规上", 2024, (10, 100, 1, 20, 5, 0.02)),
        firm("C2", "320402", "规上", 2024, (30, 300, 3, 60, 15, 0.06)),
        firm("C3", "320402", "规上", 2024, (None, None, 2, 40, 10, 0.04), land=0.0,
             tax_wan=50.0, sales_wan=500.0),
        firm("D1", "320402", "规下", 2024, below(30, 100)),
        firm("D2", "320402", "规下", 2024, below(10, 100)),
    ]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def result(scenario, profile) -> pd.DataFrame:
    return evaluate(scenario, profile).set_index("uscc")


def profile_with(profile, edit):
    data = profile.model_dump(mode="json")
    edit(data["evaluation"])
    return parse_profile(data)


# --------------------------------------------------------------------------- hand-worked scenario


def test_one_row_per_firm_of_the_latest_year(result):
    """Evaluation year defaults to the latest in the data; 2023 rows only feed benchmarks."""
    assert sorted(result.index) == sorted(
        ["A1", "A2", "A3", "A4", "A5", "A6", "A7", "B1", "B2", "B3", "B4", "C1", "C2", "C3", "D1", "D2"])
    assert (result["year"] == 2024).all()
    assert result.attrs["year"] == 2024 and result.attrs["benchmark_year"] == 2023


def test_benchmark_is_twice_the_previous_year_mean(result):
    """eval.benchmark (淮安): 基准值 = 2 × 上年同辖区同组别平均值; T firms (P3 utility, Q3 < 3 亩) excluded."""
    a1 = result.loc["A1"]
    for k, b in zip(KEYS, BENCH_ABOVE, strict=True):
        assert a1[f"benchmark_{k}"] == pytest.approx(b)
        assert a1[f"benchmark_basis_{k}"] == "previous_year"
    assert result.loc["B1", "benchmark_tax_per_mu"] == pytest.approx(20.0)
    assert result.loc["B1", "benchmark_sales_per_mu"] == pytest.approx(200.0)
    assert result.loc["D1", "benchmark_tax_per_mu"] == pytest.approx(20.0)


def test_scores_worked_by_hand(result):
    """常政办发〔2018〕28号 weights 40/20/10/10/10/10 (规上) and 80/20 (规下); score = Σ min(v/b, cap) × w ± x."""
    expected = {"A1": 100, "A2": 53, "A3": 120, "A4": 27.5, "A5": 110, "B1": 100, "B2": 50,
                "C1": 25, "C2": 75, "C3": 50, "D1": 106, "D2": 50}
    for uscc, score in expected.items():
        assert result.loc[uscc, "score"] == pytest.approx(score), uscc
    a1 = result.loc["A1"]
    assert sum(a1[f"score_{k}"] for k in KEYS) == pytest.approx(100)
    for k, w in zip(KEYS, WEIGHTS_ABOVE, strict=True):
        assert a1[f"score_{k}"] == pytest.approx(w)
    # 规下 is scored on tax/mu and sales/mu only
    assert result.loc["B1", "score_tax_per_energy"] == 0


def test_cap(result):
    """eval.score_cap: each indicator gives at most cap_ratio (1.2) × its weight."""
    for k, w in zip(KEYS, WEIGHTS_ABOVE, strict=True):
        assert result.loc["A3", f"value_{k}"] == pytest.approx(2 * BENCH_ABOVE[KEYS.index(k)])
        assert result.loc["A3", f"score_{k}"] == pytest.approx(1.2 * w)
    assert result.loc["D1", "score_tax_per_mu"] == pytest.approx(96.0)


def test_missing_indicator_takes_last_years_group_mean(result):
    """eval.missing (previous_group_mean): a missing indicator takes the district-group mean of the
    previous year (P1 5, P2 15; utility P3 left out) and is flagged; C3's district-group has no
    2023 firms, so this year's mean fills it."""
    a4 = result.loc["A4"]
    assert a4["filled_labour_productivity"]
    assert a4["value_labour_productivity"] == pytest.approx(10.0)
    assert a4["score_labour_productivity"] == pytest.approx(5.0)
    assert not any(a4[f"filled_{k}"] for k in KEYS if k != "labour_productivity")
    assert not result.loc["A1", [f"filled_{k}" for k in KEYS]].any()
    assert result.loc["C3", "value_tax_per_mu"] == pytest.approx(20.0)


def test_missing_indicator_with_this_years_group_mean(scenario, profile):
    """eval.missing (group_mean): this year's district-group mean (20 + 10 + 40 + 22) / 4 = 23."""
    def this_year(ev):
        ev["missing"]["params"]["method"] = "group_mean"
    a4 = evaluate(scenario, profile_with(profile, this_year)).set_index("uscc").loc["A4"]
    assert a4["value_labour_productivity"] == pytest.approx(23.0)
    assert a4["score"] == pytest.approx(34.0)


def test_veto_forces_class_d(result):
    """eval.veto.safety_accident (否决项): a serious accident gives D whatever the score (here 2nd of 5)."""
    a5 = result.loc["A5"]
    assert a5["score"] == pytest.approx(110) and a5["rank"] == 2
    assert a5["class"] == "D"
    assert a5["class_rule"] == "eval.veto.safety_accident"
    assert "veto_safety_accident" in a5["class_reason_zh"] and "2/5" in a5["class_reason_zh"]
    assert "veto" in a5["class_reason_en"]


def test_not_rated_firms_are_t_and_unranked(result):
    """eval.not_rated.* and eval.group.below_scale: utilities, < 2 years, 规下 < 3 亩 → T, not ranked."""
    expected = {"A6": "eval.not_rated.new_firm", "A7": "eval.not_rated.utility",
                "B3": "eval.group.below_scale", "B4": "eval.group.below_scale"}
    for uscc, rule in expected.items():
        row = result.loc[uscc]
        assert row["class"] == "T" and row["class_rule"] == rule, uscc
        assert pd.isna(row["rank"]) and math.isnan(row["score"]) and math.isnan(row["rank_fraction"])
        assert row["adjustment_points"] == 0 and row["adjustment_rules"] == ""
    assert "years_in_production = 1 < 2" in result.loc["A6", "class_reason_en"]
    assert "2 亩 < 3 亩" in result.loc["B3", "class_reason_zh"]
    # the five rated firms of 320412 规上 are ranked 1..5: the two T firms take no place
    ranked = result.loc[["A1", "A2", "A3", "A4", "A5"], "rank"]
    assert sorted(ranked) == [1, 2, 3, 4, 5]
    assert result.loc["A4", "rank_fraction"] == pytest.approx(1.0)


def test_classes_by_rank_within_district_and_group(result):
    """eval.classes (淮安): A ≤ 20 %, B ≤ 60 %, C ≤ 95 %, D the rest, by rank ÷ rated firms in the group."""
    expected = {"A3": "A", "A5": "D", "A1": "B", "A2": "C", "A4": "D", "B1": "B", "B2": "D",
                "C2": "B", "C3": "C", "C1": "D", "D1": "B", "D2": "D"}
    assert result.loc[list(expected), "class"].to_dict() == expected
    assert (result.loc[list(expected), "class_rule"].drop("A5") == "eval.classes").all()
    assert result.loc["A3", "class_reason_zh"] == "排名 1/5（前 20%），≤ 20% 为 A"
    assert result.loc["A3", "class_reason_en"] == "rank 1/5 (top 20%); ≤ 20% is A"
    assert result.loc["C3", "class_reason_zh"] == "排名 2/3（前 66.7%），60%–95% 为 C"
    assert result.loc["C1", "class_reason_en"] == "rank 3/3 (top 100%); > 95% is D"


def test_zero_land_area(result):
    """Zero land: 规上 C3's per-mu values are undefined → group mean, flagged; 规下 B4 (0 < 3 亩) → T."""
    c3 = result.loc["C3"]
    assert c3["filled_tax_per_mu"] and c3["filled_sales_per_mu"]
    assert c3["value_tax_per_mu"] == pytest.approx(20.0)
    assert c3["value_sales_per_mu"] == pytest.approx(200.0)
    assert math.isfinite(c3["score"])
    rated = result["class"] != "T"
    num = result.select_dtypes("number")
    assert np.isfinite(num.loc[rated, "score"]).all()
    assert not np.isinf(num.to_numpy(dtype=float, na_value=np.nan)).any()


def test_benchmark_falls_back_to_this_years_mean(result, scenario, profile):
    """eval.benchmark fallback: no 2023 data for 320402 规上 → 2 × the 2024 mean, recorded per firm and in attrs."""
    c1 = result.loc["C1"]
    for k, b in zip(KEYS, BENCH_ABOVE, strict=True):
        assert c1[f"benchmark_{k}"] == pytest.approx(b)
        assert c1[f"benchmark_basis_{k}"] == "current_year"
    assert (result.loc["D1", [f"benchmark_basis_{k}" for k in KEYS]] == "previous_year").all()
    notes = result.attrs["notes"]
    assert any("320402/规上" in n["en"] for n in notes)
    with pytest.raises(ValueError, match="no benchmark"):
        evaluate(scenario, profile, benchmark_fallback="error")


def test_adjustments_and_absent_columns(result):
    """eval.bonus.* / eval.penalty.* ("x" items): A2 gets the high-tech bonus; items whose column is absent are skipped."""
    assert result.loc["A2", "adjustment_points"] == pytest.approx(3.0)
    assert result.loc["A2", "adjustment_rules"] == "eval.bonus.high_tech"
    assert result.loc["A7", "adjustment_points"] == 0  # T: nothing applies
    skipped = {s["rule"] for s in result.attrs["skipped_rules"]}
    assert skipped == {"eval.bonus.specialised", "eval.penalty.minor_violation"}


def test_absent_veto_column_is_skipped_not_fatal(scenario, profile):
    """A veto item whose column is absent is skipped and reported; A5 is then classed by rank."""
    out = evaluate(scenario.drop(columns="veto_safety_accident"), profile).set_index("uscc")
    assert out.loc["A5", "class"] == "B"
    assert "eval.veto.safety_accident" in {s["rule"] for s in out.attrs["skipped_rules"]}


def test_explicit_year_without_previous_year(scenario, profile):
    """year=2023: no 2022 rows, every benchmark falls back to 2 × the 2023 mean."""
    out = evaluate(scenario, profile, year=2023).set_index("uscc")
    assert sorted(out.index) == ["P1", "P2", "P3", "Q1", "Q2", "Q3", "R1"]
    assert out.loc["P1", "benchmark_tax_per_mu"] == pytest.approx(40.0)
    assert (out.loc["P1", [f"benchmark_basis_{k}" for k in KEYS]] == "current_year").all()
    assert out.loc["P3", "class"] == "T"
    empty = evaluate(scenario, profile, year=2030)
    assert empty.empty and "class" in empty.columns


def test_class_shares_for_100_firms(profile):
    """eval.classes: 100 rated firms of one district and group split exactly 20 / 40 / 35 / 5."""
    rows = [firm(f"F{i:03d}", "320412", "规上", 2024, (1.0 + i, 100, 1, 20, 5, 0.02)) for i in range(100)]
    out = evaluate(pd.DataFrame(rows), profile)
    assert out["class"].value_counts().to_dict() == {"A": 20, "B": 40, "C": 35, "D": 5}
    best = out.loc[out["uscc"] == "F099"].iloc[0]
    assert best["rank"] == 1 and best["class"] == "A"


def test_cutoffs_multiple_and_cap_come_from_the_profile(scenario, profile):
    """No policy number in code: changing cut-offs, benchmark multiple and cap changes the result."""
    def edit(ev):
        ev["classes"]["params"]["cutoffs"] = {"A": 0.1, "B": 0.5, "C": 0.9, "D": 1.0}
        ev["benchmark"]["params"]["multiple"] = 1.0
        ev["score_cap"]["params"]["cap_ratio"] = 3.0
    out = evaluate(scenario, profile_with(profile, edit)).set_index("uscc")
    assert out.loc["A1", "benchmark_tax_per_mu"] == pytest.approx(20.0)
    assert out.loc["A3", "score"] == pytest.approx(300.0)  # 80 / 20 = 4 per item, capped at 3 × weight
    assert out.loc["A3", "class"] == "B"  # rank 1/5 = 20 % is no longer within A's 10 %
    assert out.loc["A3", "class_reason_en"] == "rank 1/5 (top 20%); 10%–50% is B"


def test_missing_methods_zero_and_exclude(scenario, profile):
    """eval.missing methods: zero scores the item 0; exclude_indicator rescales the other weights."""
    def zero(ev):
        ev["missing"]["params"]["method"] = "zero"

    def exclude(ev):
        ev["missing"]["params"]["method"] = "exclude_indicator"
    z = evaluate(scenario, profile_with(profile, zero)).set_index("uscc")
    assert z.loc["A4", "value_labour_productivity"] == 0 and z.loc["A4", "filled_labour_productivity"]
    assert z.loc["A4", "score"] == pytest.approx(22.5)
    x = evaluate(scenario, profile_with(profile, exclude)).set_index("uscc")
    assert math.isnan(x.loc["A4", "value_labour_productivity"])
    assert x.loc["A4", "score"] == pytest.approx(25.0)  # 22.5 × 100 / 90


def test_unknown_group_is_an_error(scenario, profile):
    bad = scenario.assign(group=scenario["group"].where(scenario["uscc"] != "A1", "中型"))
    with pytest.raises(ValueError, match="unknown firm group"):
        evaluate(bad, profile)


def test_vectorised_class_matches_class_for_rank(profile):
    """The vectorised cut-off lookup agrees with Classes.class_for_rank for every fraction k/n."""
    rows = [firm(f"F{i:03d}", "320412", "规上", 2024, (1.0 + i, 100, 1, 20, 5, 0.02)) for i in range(37)]
    out = evaluate(pd.DataFrame(rows), profile)
    classes = profile.evaluation.classes
    assert (out["class"] == out["rank_fraction"].map(classes.class_for_rank)).all()


# --------------------------------------------------------------------------- parcels


def test_parcel_takes_the_class_of_the_firm_holding_most():
    """A firm's land is spread over its parcels by area; the largest share decides, ties → better score."""
    ev = pd.DataFrame({
        "uscc": ["X", "Y", "Z", "W", "U", "V", "T1", "S"],
        "year": 2024,
        "class": ["B", "D", "A", "C", "C", "B", "T", "A"],
        "score": [60.0, 10.0, 90.0, 40.0, 50.0, 80.0, np.nan, 70.0],
        "land_area_mu": [100.0, 6.0, 100.0, 6.0, 20.0, 20.0, 30.0, 40.0],
    })
    links = pd.DataFrame([
        ("X", "P1"), ("X", "P2"), ("Y", "P1"),      # X: 100 × 10/100 = 10 on P1 > Y's 6
        ("Z", "P3"), ("Z", "P4"), ("W", "P3"),      # Z: 100 × 5/100 = 5 on P3 < W's 6
        ("U", "P5"), ("V", "P5"),                   # 20 each: V has the better score
        ("T1", "P6"),                               # not rated holder → T
        ("S", "P7"), ("S", "P8"),                   # P7 area unknown → 40 / 2 each
        ("GONE", "P9"),                             # firm not evaluated: ignored
    ], columns=["uscc", "parcel_code"]).assign(year=2024)
    area = pd.Series({"P1": 10.0, "P2": 90.0, "P3": 5.0, "P4": 95.0, "P5": 20.0, "P6": 30.0,
                      "P8": 10.0, "P9": 3.0})
    out = parcel_classes(ev, links, area)
    assert list(out.index) == ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8"]
    assert out.loc["P1", ["class", "firm_uscc", "firms", "n_firms"]].tolist() == ["B", "X", "X;Y", 2]
    assert out.loc["P1", "firm_share_mu"] == pytest.approx(10.0)
    assert out.loc["P3", ["class", "firm_uscc"]].tolist() == ["C", "W"]
    assert out.loc["P5", ["class", "firm_uscc", "firms"]].tolist() == ["B", "V", "U;V"]
    assert out.loc["P6", "class"] == "T"
    assert out.loc["P7", "firm_share_mu"] == pytest.approx(20.0)


def test_parcel_classes_from_the_scenario(result):
    ev = result.reset_index()
    links = pd.DataFrame({"uscc": ["A3", "A4", "A7"], "year": 2024, "parcel_code": ["G1", "G1", "G2"]})
    out = parcel_classes(ev, links, pd.Series({"G1": 10.0, "G2": 10.0}))
    assert out.loc["G1", "class"] == "A" and out.loc["G1", "firm_uscc"] == "A3"  # equal land → better score
    assert out.loc["G2", "class"] == "T"


# --------------------------------------------------------------------------- properties

DISTRICTS = ("320402", "320412")
GROUPS = ("规上", "规下")
POS = st.floats(0.01, 1e4, allow_nan=False, allow_infinity=False)
WILD = st.one_of(POS, st.just(0.0), st.just(float("nan")), st.just(float("inf")))
OPT = st.one_of(POS, st.just(float("nan")))


@st.composite
def firm_years(draw, wild=False, allow_t=True, allow_veto=True, max_firms=30):
    """Random firm-years for 2024 and (maybe) 2023, same USCCs."""
    n = draw(st.integers(1, max_firms))
    years = [2024, 2023] if draw(st.booleans()) else [2024]
    core = WILD if wild else POS  # tax, sales, land, energy, pollutant
    other = WILD if wild else OPT  # value added, employees, R&D: may be missing
    rows = []
    for i in range(n):
        district = draw(st.sampled_from(DISTRICTS))
        group = draw(st.sampled_from(GROUPS))
        for y in years:
            land = draw(core if wild or allow_t else st.floats(3.0, 500.0))
            rows.append({
                "uscc": f"F{i:03d}", "name": f"企业{i}", "district_code": district, "year": y,
                "group": group, "tax_wan": draw(core), "sales_wan": draw(core),
                "value_added_wan": draw(other), "energy_tce": draw(core), "pollutant_eq": draw(core),
                "employees": draw(other), "rd_wan": draw(other), "land_area_mu": land,
                "years_in_production": draw(st.floats(0, 30)) if allow_t else 10.0,
                "is_utility": draw(st.booleans()) if allow_t else False,
                "veto_safety_accident": draw(st.booleans()) if allow_veto else False,
                "veto_env_penalty": False,
            })
    return pd.DataFrame(rows)


ORDER = {"A": 0, "B": 1, "C": 2, "D": 3, "T": 9}
PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(data=firm_years(), who=st.integers(0, 10_000), factor=st.floats(1.01, 100.0))
def test_more_tax_never_lowers_score_or_class(data, who, factor, profile):
    """Monotonicity: raising one firm's taxes (2024) never lowers its score nor its class."""
    cur = np.flatnonzero(data["year"].to_numpy() == 2024)
    i = cur[who % len(cur)]
    uscc = data.loc[i, "uscc"]
    richer = data.copy()
    richer.loc[i, "tax_wan"] *= factor
    before = evaluate(data, profile).set_index("uscc").loc[uscc]
    after = evaluate(richer, profile).set_index("uscc").loc[uscc]
    assert after["class"] == before["class"] or ORDER[after["class"]] < ORDER[before["class"]]
    if before["class"] != "T":
        assert after["score"] >= before["score"] - 1e-9 * max(1.0, abs(before["score"]))


def test_filling_with_this_years_mean_lets_more_tax_cost_rank(profile):
    """Why the profile fills from last year (eval.missing previous_group_mean): Y has no tax, so its
    tax-based indicators are filled. With this year's mean, X paying ten times the tax lifts Y's
    filled values past X's capped ones (X: rank 1 → 2); with last year's mean, X only gains."""
    rows = [firm(u, "320412", "规上", 2023, (10, 100, 1, 20, 5, 0.02)) for u in ("X", "Y", "Z")]
    rows += [firm("X", "320412", "规上", 2024, (10, 100, 1, 20, 5, 0.02)),
             firm("Y", "320412", "规上", 2024, (10, 120, 1, 20, 5, 0.02)),
             firm("Z", "320412", "规上", 2024, (2, 20, 0.2, 4, 1, 0.004))]
    data = pd.DataFrame(rows)
    data.loc[4, "tax_wan"] = np.nan
    richer = data.copy()
    richer.loc[3, "tax_wan"] *= 10

    def this_year(ev):
        ev["missing"]["params"]["method"] = "group_mean"
    for prof, ranks in ((profile_with(profile, this_year), (1, 2)), (profile, (2, 1))):
        before = evaluate(data, prof).set_index("uscc").loc["X"]
        after = evaluate(richer, prof).set_index("uscc").loc["X"]
        assert (before["rank"], after["rank"]) == ranks
        assert after["score"] > before["score"]


@PROPS
@given(data=firm_years(), who=st.integers(0, 10_000), factor=st.floats(1.01, 100.0),
       blanks=st.lists(st.booleans(), min_size=30, max_size=30))
def test_more_tax_never_lowers_class_when_peers_tax_is_filled(data, who, factor, blanks, profile):
    """Monotonicity with missing taxes: peers without a 2024 tax are filled with the 2023 group
    mean (previous_group_mean), so raising one firm's tax cannot lift them past it."""
    cur = data[data["year"] == 2024]
    prev = cur.assign(year=2023)  # a complete previous year in every district and group
    i = cur.index[who % len(cur)]
    blank = np.array(blanks[: len(cur)]) & (cur.index != i)
    cur = cur.assign(tax_wan=cur["tax_wan"].mask(blank))
    both = pd.concat([cur, prev], ignore_index=True)
    richer = both.copy()
    richer.loc[0 + list(cur.index).index(i), "tax_wan"] *= factor
    uscc = cur.loc[i, "uscc"]
    before = evaluate(both, profile).set_index("uscc").loc[uscc]
    after = evaluate(richer, profile).set_index("uscc").loc[uscc]
    assert after["class"] == before["class"] or ORDER[after["class"]] < ORDER[before["class"]]


@PROPS
@given(data=firm_years(allow_t=False, allow_veto=False, max_firms=60))
def test_class_shares_match_the_cutoffs(data, profile):
    """Class shares follow the cut-offs: with distinct scores, #firms in classes ≤ c = ⌊cut_c × n⌋."""
    out = evaluate(data, profile)
    classes = profile.evaluation.classes
    assert (out["class"] != "T").all()
    assert (out["class"] == out["rank_fraction"].map(classes.class_for_rank)).all()
    labels = list(profile.evaluation.cutoffs)
    for _, g in out.groupby(["district_code", "group"]):
        n = len(g)
        if g["score"].nunique() < n:
            continue  # ties share a rank (and a class)
        for c, upper in profile.evaluation.cutoffs.items():
            within = g["class"].isin(labels[: labels.index(c) + 1]).sum()
            assert within == math.floor(upper * n + 1e-9)


@PROPS
@given(data=firm_years(wild=True))
def test_scores_are_finite(data, profile):
    """Zeros, missing and infinite inputs never give inf/NaN scores to rated firms."""
    out = evaluate(data, profile)
    rated = (out["class"] != "T").to_numpy()
    assert np.isfinite(out.loc[rated, "score"]).all()
    for k in KEYS:
        assert np.isfinite(out.loc[rated, f"score_{k}"]).all()
        assert not np.isinf(out[f"value_{k}"]).any()
    assert out.loc[~rated, "score"].isna().all()
    frac = out.loc[rated, "rank_fraction"]
    assert ((frac > 0) & (frac <= 1)).all()
