"""The policy profile: loading, validation messages, digest, diff and the CLI."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from landrenew.policy import (
    Profile,
    ProfileError,
    diff_profiles,
    list_bundled,
    load_profile,
    parse_profile,
)
from landrenew.policy.cli import policy_app
from landrenew.policy.loader import resolve_profile

BUNDLED = "changzhou-2022"
runner = CliRunner(env={"COLUMNS": "220", "NO_COLOR": "1"})


@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile(BUNDLED)


@pytest.fixture()
def raw() -> dict[str, Any]:
    return yaml.safe_load(resolve_profile(BUNDLED).read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict[str, Any], name: str = "profile.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def error_of(tmp_path: Path, data: dict[str, Any]) -> str:
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, data))
    return str(info.value)


def find(items: list[dict[str, Any]], rule_id: str) -> dict[str, Any]:
    return next(x for x in items if x.get("id") == rule_id)


# --------------------------------------------------------------------------- loading


def test_bundled_profile_is_listed():
    assert BUNDLED in list_bundled()


def test_bundled_profile_loads_by_default(profile):
    assert load_profile().id == profile.id == BUNDLED


def test_bundled_profile_names_its_source_document(profile):
    assert profile.source.document == "常政发〔2022〕47号"


def test_district_codes_are_the_six_county_codes(profile):
    assert profile.city.district_codes == [
        "320402",
        "320404",
        "320411",
        "320412",
        "320413",
        "320481",
    ]


def test_economic_zone_is_a_management_zone_without_code(profile):
    (zone,) = profile.city.management_zones
    assert zone.name_zh == "常州经开区" and zone.code is None


def test_extent_covers_changzhou_centre(profile):
    minlon, minlat, maxlon, maxlat = profile.city.extent
    assert minlon < 119.97 < maxlon and minlat < 31.81 < maxlat
    assert profile.city.area_crs == "EPSG:4549"


def test_default_weights_are_the_six_core_indicators(profile):
    assert profile.evaluation.weights() == {
        "tax_per_mu": 40,
        "sales_per_mu": 20,
        "tax_per_energy": 10,
        "tax_per_pollutant": 10,
        "labour_productivity": 10,
        "rd_intensity": 10,
    }


def test_below_scale_group_has_its_own_weights(profile):
    weights = profile.evaluation.weights("规下")
    assert sum(weights.values()) == 100 and max(weights, key=weights.get) == "tax_per_mu"


def test_class_cutoffs_are_rank_fractions(profile):
    assert profile.evaluation.cutoffs == {"A": 0.20, "B": 0.60, "C": 0.95, "D": 1.00}


def test_class_for_rank_puts_the_bottom_five_percent_in_d(profile):
    classes = profile.evaluation.classes
    assert [classes.class_for_rank(f) for f in (0.0, 0.2, 0.5, 0.9, 0.96, 1.0)] == [
        "A",
        "A",
        "B",
        "C",
        "D",
        "D",
    ]


def test_rule_lookup_returns_any_rule_by_id(profile):
    assert profile.rule("tag.low.plot_ratio").params.floor_rule == "land.plot_ratio.industrial"
    assert profile.rule("land.plot_ratio.industrial").params.floor == 1.5
    assert profile.rule("target.vacated_space").params.value == 10000


def test_unknown_rule_id_raises_key_error(profile):
    with pytest.raises(KeyError, match="no.such"):
        profile.rule("no.such")


def test_every_target_has_a_deadline_in_2025(profile):
    assert {t.deadline.year for t in profile.targets.goals} == {2025}


def test_baseline_holds_reported_2022_progress(profile):
    values = {b.params.metric: b.params.value for b in profile.targets.baseline}
    assert values["unsupplied_revitalised_mu"] == 13100
    assert values["inefficient_redeveloped_mu"] == 33900


def test_c_pays_half_the_d_sewage_surcharge(profile):
    d = profile.allocation.surcharges_for("D").sewage_yuan_per_m3
    assert d == 0.17 and profile.allocation.surcharges_for("C").sewage_yuan_per_m3 == pytest.approx(
        d / 2
    )


def test_borrowed_values_are_flagged_as_assumptions(profile):
    flagged = {r.id for r in profile.assumptions()}
    assert {
        "eval.classes",
        "allocation.d",
        "quota.linkage",
        "target.development_intensity",
    } <= flagged
    assert "land.idle.fee" not in flagged


def test_every_rule_id_is_unique(profile):
    ids = [r.id for r in profile.rules()]
    assert len(ids) == len(set(ids))


def test_disposal_table_covers_every_family(profile):
    used = {r.family for r in profile.disposal.rules}
    assert used == {f.key for f in profile.disposal.families}


def test_digest_is_stable_across_loads(profile):
    assert load_profile(BUNDLED).digest() == profile.digest()
    assert re.fullmatch(r"[0-9a-f]{64}", profile.digest())


def test_digest_ignores_yaml_formatting(tmp_path, raw, profile):
    assert load_profile(write(tmp_path, raw)).digest() == profile.digest()


def test_digest_changes_when_a_value_changes(tmp_path, raw, profile):
    find(raw["targets"]["goals"], "target.vacated_space")["params"]["value"] = 12000
    assert load_profile(write(tmp_path, raw)).digest() != profile.digest()


# --------------------------------------------------------------------------- rejections


def test_unknown_key_in_a_rule_is_rejected_with_its_path(tmp_path, raw):
    find(raw["targets"]["goals"], "target.vacated_space")["params"]["foo"] = 1
    message = error_of(tmp_path, raw)
    assert "targets.goals[target.vacated_space].params.foo: unknown key" in message
    assert "未知键" in message


def test_unknown_top_level_key_is_rejected(tmp_path, raw):
    raw["extras"] = {}
    assert "extras: unknown key" in error_of(tmp_path, raw)


def test_weights_not_summing_to_100_are_rejected(tmp_path, raw):
    find(raw["evaluation"]["indicators"], "eval.indicator.tax_per_mu")["params"]["weight"] = 35
    assert "evaluation.indicators: weights sum to 95, must be 100" in error_of(tmp_path, raw)


def test_group_weights_not_summing_to_100_are_rejected(tmp_path, raw):
    find(raw["evaluation"]["groups"], "eval.group.below_scale")["params"]["weights"][
        "tax_per_mu"
    ] = 70
    message = error_of(tmp_path, raw)
    assert "evaluation.groups[eval.group.below_scale].params.weights: weights sum to 90" in message


def test_class_cutoff_written_as_percent_is_rejected(tmp_path, raw):
    raw["evaluation"]["classes"]["params"]["cutoffs"] = {"A": 20, "B": 60, "C": 95, "D": 100}
    message = error_of(tmp_path, raw)
    assert "evaluation.classes.params.cutoffs.A" in message and "outside 0-1" in message


def test_decreasing_class_cutoffs_are_rejected(tmp_path, raw):
    raw["evaluation"]["classes"]["params"]["cutoffs"] = {"A": 0.6, "B": 0.2, "C": 0.95, "D": 1.0}
    message = error_of(tmp_path, raw)
    assert "evaluation.classes.params.cutoffs.B" in message and "must increase" in message


def test_class_cutoffs_not_reaching_one_are_rejected(tmp_path, raw):
    raw["evaluation"]["classes"]["params"]["cutoffs"] = {"A": 0.2, "B": 0.6, "C": 0.9}
    message = error_of(tmp_path, raw)
    assert "evaluation.classes.params.cutoffs.C" in message and "must be 1" in message


def test_duplicate_rule_ids_are_rejected(tmp_path, raw):
    raw["targets"]["goals"][1]["id"] = raw["targets"]["goals"][0]["id"]
    message = error_of(tmp_path, raw)
    assert "targets.goals[1].id: duplicate rule id 'target.vacated_space'" in message


def test_target_without_deadline_is_rejected(tmp_path, raw):
    del find(raw["targets"]["goals"], "target.stock_supply_share")["deadline"]
    message = error_of(tmp_path, raw)
    assert "targets.goals[target.stock_supply_share].deadline: missing required key" in message


def test_district_code_not_six_digits_is_rejected(tmp_path, raw):
    raw["city"]["districts"][0]["code"] = "32040"
    message = error_of(tmp_path, raw)
    assert "city.districts[tianning].code" in message and "6-digit" in message


def test_district_code_written_as_number_is_rejected(tmp_path, raw):
    raw["city"]["districts"][0]["code"] = 320402
    assert "city.districts[tianning].code" in error_of(tmp_path, raw)


def test_disposal_rule_naming_an_unknown_tag_is_rejected(tmp_path, raw):
    find(raw["disposal"]["rules"], "disposal.eco.restore")["when"]["tags_any"] = ["dirty"]
    message = error_of(tmp_path, raw)
    assert "disposal.rules[disposal.eco.restore].when.tags_any[0]: unknown tag 'dirty'" in message


def test_reference_to_a_missing_rule_is_rejected(tmp_path, raw):
    raw["tags"]["low"]["rules"][0]["params"]["floor_rule"] = "land.plot_ratio.nowhere"
    message = error_of(tmp_path, raw)
    assert "tags.low.rules[tag.low.plot_ratio].params.floor_rule" in message


def test_every_error_is_listed(tmp_path, raw):
    raw["city"]["districts"][0]["code"] = "1"
    del raw["targets"]["goals"][0]["deadline"]
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, raw))
    assert len(info.value.issues) == 2


def test_duplicate_yaml_key_is_rejected(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("id: a\nid: b\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="duplicate key 'id'"):
        load_profile(path)


def test_unknown_profile_name_lists_bundled_names():
    with pytest.raises(ProfileError, match=BUNDLED):
        load_profile("atlantis-2030")


def test_parse_profile_accepts_parsed_data(raw):
    assert parse_profile(raw).id == BUNDLED


# --------------------------------------------------------------------------- diff


def test_diff_of_identical_profiles_is_empty(profile):
    assert diff_profiles(profile, load_profile(BUNDLED)) == []


def test_diff_reports_changed_weight_by_rule_id(tmp_path, raw, profile):
    find(raw["evaluation"]["indicators"], "eval.indicator.tax_per_mu")["params"]["weight"] = 30
    find(raw["evaluation"]["indicators"], "eval.indicator.sales_per_mu")["params"]["weight"] = 30
    changes = diff_profiles(profile, load_profile(write(tmp_path, raw)))
    by_key = {c.key: c for c in changes}
    assert set(by_key) == {
        "eval.indicator.tax_per_mu: params.weight",
        "eval.indicator.sales_per_mu: params.weight",
    }
    assert (
        by_key["eval.indicator.tax_per_mu: params.weight"].old,
        by_key["eval.indicator.tax_per_mu: params.weight"].new,
    ) == (40, 30)


def test_diff_reports_removed_rule(tmp_path, raw, profile):
    raw["tags"]["low"]["rules"] = [
        r for r in raw["tags"]["low"]["rules"] if r["id"] != "tag.low.evaluation_class"
    ]
    (change,) = [c for c in diff_profiles(profile, load_profile(write(tmp_path, raw))) if c.rule_id]
    assert change.rule_id == "tag.low.evaluation_class" and change.kind == "removed"


def test_diff_reports_reordered_disposal_table(tmp_path, raw, profile):
    rules = raw["disposal"]["rules"]
    rules[0], rules[1] = rules[1], rules[0]
    changes = diff_profiles(profile, load_profile(write(tmp_path, raw)))
    assert [c.path for c in changes] == ["disposal.rules (order)"]


def test_diff_reports_non_rule_change_by_path(tmp_path, raw, profile):
    raw["version"] = "1.0.1"
    (change,) = diff_profiles(profile, load_profile(write(tmp_path, raw)))
    assert (change.path, change.old, change.new, change.rule_id) == (
        "version",
        "1.0.0",
        "1.0.1",
        None,
    )


# --------------------------------------------------------------------------- CLI


def test_cli_show_in_chinese_lists_rules_and_assumptions():
    result = runner.invoke(policy_app, ["show", BUNDLED, "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert "tag.low.plot_ratio" in result.output and "亩均税收" in result.output
    assert "假设" in result.output


def test_cli_show_in_english_uses_english_descriptions():
    result = runner.invoke(policy_app, ["show", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "Taxes paid" in result.output and "320481" in result.output


def test_cli_show_one_rule():
    result = runner.invoke(policy_app, ["show", "--rule", "eval.classes", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "cutoffs.C: 0.95" in result.output and "target.vacated_space" not in result.output
    assert "rank_within: [district_code, group]" in result.output


def test_cli_show_unknown_rule_exits_1():
    assert runner.invoke(policy_app, ["show", "--rule", "no.such"]).exit_code == 1


def test_cli_validate_good_file_exits_0(tmp_path, raw):
    result = runner.invoke(policy_app, ["validate", str(write(tmp_path, raw))])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_cli_validate_bad_file_exits_1_naming_the_key(tmp_path, raw):
    find(raw["evaluation"]["indicators"], "eval.indicator.rd_intensity")["params"]["weight"] = 5
    del raw["targets"]["goals"][0]["deadline"]
    result = runner.invoke(policy_app, ["validate", str(write(tmp_path, raw))])
    assert result.exit_code == 1
    assert "evaluation.indicators: weights sum to 95" in result.output
    assert "targets.goals[target.vacated_space].deadline: missing required key" in result.output


def test_cli_diff_lists_changed_rule(tmp_path, raw):
    find(raw["allocation"]["classes"], "allocation.d")["params"]["surcharges"][
        "sewage_yuan_per_m3"
    ] = 0.3
    result = runner.invoke(policy_app, ["diff", BUNDLED, str(write(tmp_path, raw)), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert (
        "allocation.d" in result.output and "params.surcharges.sewage_yuan_per_m3" in result.output
    )


def test_cli_diff_of_same_profile_says_no_differences():
    result = runner.invoke(policy_app, ["diff", BUNDLED, BUNDLED])
    assert result.exit_code == 0 and "no differences" in result.output


def test_no_policy_number_in_python_code():
    """Policy values live in the YAML: the code must not repeat them."""
    src = Path(__file__).resolve().parents[1] / "src" / "landrenew" / "policy"
    code = "\n".join(p.read_text(encoding="utf-8") for p in src.glob("*.py"))
    for number in ("10000", "40000", "0.17", "0.95", "22.5", "320402", "常政发"):
        assert number not in code, number


def test_every_rule_has_both_descriptions(profile):
    assert all(r.description_zh and r.description_en and r.clause for r in profile.rules())


def test_copy_of_profile_is_independent_data(raw):
    before = copy.deepcopy(raw)
    parse_profile(raw)
    assert raw == before


def test_reference_doc_names_every_section_and_tag_kind():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "policy-profile.md").read_text(
        encoding="utf-8"
    )
    kinds = [
        "record_match",
        "outside_park",
        "isolated_patch",
        "plot_ratio_below_floor",
        "idle_land",
        "unsupplied",
        "evaluation_class",
    ]
    for name in [*Profile.model_fields, *kinds]:
        assert f"`{name}`" in doc, name
