"""The analysis service on a small demo city: a recorded, reproducible run that explains itself."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pyogrio
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from conftest import cli_ws, fresh_workspace
from landrenew import cli
from landrenew.compare import diff_runs
from landrenew.demo.job import run_demo
from landrenew.explain import explain_firm, explain_parcel
from landrenew.loading import load_file
from landrenew.policy import ProfileError
from landrenew.runs import analyze
from landrenew.scenarios import OverrideError, apply_overrides, whatif
from landrenew.store.snapshot import read_snapshot

AS_OF = date(2025, 6, 30)


@pytest.fixture(scope="module")
def city(request, backend, tmp_path_factory, profile):
    """A small demo city, built once per backend (SQLite, then PostgreSQL)."""
    with fresh_workspace(request, backend, tmp_path_factory.mktemp("city") / "ws") as ws:
        run = run_demo(ws, profile, 3000, 11)
        assert not run.failed
        yield ws


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    monkeypatch.setattr(cli.console, "width", 220)


def test_a_run_records_its_inputs_policy_code_timings_and_counts(city, profile):
    run_id, result = analyze(city, profile, AS_OF)
    with city.engine.connect() as conn:
        run = conn.execute(text("SELECT * FROM analysis_run WHERE id = :i"), {"i": run_id}).mappings().one()
        flagged = conn.execute(text("SELECT COUNT(*) FROM run_parcel WHERE run_id = :i"), {"i": run_id}).scalar_one()
        hits = conn.execute(text("SELECT COUNT(*) FROM run_tag_hit WHERE run_id = :i"), {"i": run_id}).scalar_one()
    assert run["status"] == "done" and len(run["input_hash"]) == 64 and run["profile_digest"] == profile.digest()
    assert run["year"] == 2024 and str(run["as_of"]) == "2025-06-30"
    assert flagged == result.counts()["flagged_parcels"] > 0 and hits == len(result.tag_hits)
    assert {"snapshot", "overlay", "evaluation", "tags", "units", "store"} <= set(result.timings)


def test_two_runs_on_the_same_data_agree(city, profile):
    first, a = analyze(city, profile, AS_OF)
    second, b = analyze(city, profile, AS_OF)
    assert a.counts() == b.counts()
    assert a.tags["tags"].equals(b.tags["tags"]) and a.evaluation["class"].equals(b.evaluation["class"])
    with city.engine.connect() as conn:
        hashes = conn.execute(text("SELECT DISTINCT input_hash FROM analysis_run WHERE id IN (:a, :b)"),
                              {"a": first, "b": second}).scalars().all()
    assert len(hashes) == 1


def test_explain_names_every_rule_that_tagged_a_parcel(city, profile):
    run_id, result = analyze(city, profile, AS_OF)
    hit = result.tag_hits.iloc[0]
    x = explain_parcel(city.engine, hit["parcel_key"], run_id)
    assert set(x.hits["rule_id"]) == set(result.tag_hits.loc[result.tag_hits["parcel_key"] == hit["parcel_key"], "rule_id"])
    assert all(profile.has_rule(r) for r in x.hits["rule_id"])
    assert x.hits["clause"].str.len().gt(0).all()
    assert x.case is not None and hit["parcel_key"] in x.case["parcel_keys"].split(";")
    case = result.cases.set_index("case_id").loc[x.case["case_id"]]
    assert x.case["path_zh"] == case["path_zh"] and x.case["rule_id"] == case["rule_id"]


def test_explain_firm_gives_class_rule_and_indicators(city, profile):
    run_id, result = analyze(city, profile, AS_OF)
    firm = result.evaluation.loc[result.evaluation["class"] == "D"].iloc[0]
    x = explain_firm(city.engine, firm["uscc"], run_id)
    assert x.firm["firm_class"] == "D" and x.firm["class_rule"].startswith("eval.")
    assert "score_tax_per_mu" in x.firm["detail"]


def test_analyze_and_explain_commands(city):
    result = CliRunner().invoke(cli.app, ["analyze", *cli_ws(city), "--as-of", "2025-06-30"])
    assert result.exit_code == 0, result.output
    assert "标注地块 flagged parcels" in result.output
    listed = CliRunner().invoke(cli.app, ["runs", "list", *cli_ws(city)])
    assert "done" in listed.output
    with city.engine.connect() as conn:
        key = conn.execute(text("SELECT parcel_key FROM run_parcel ORDER BY run_id DESC, id LIMIT 1")).scalar_one()
    explained = CliRunner().invoke(cli.app, ["explain", key, *cli_ws(city)])
    assert explained.exit_code == 0 and "rule" in explained.output.lower() and "处置建议" in explained.output
    missing = CliRunner().invoke(cli.app, ["explain", "320412999999GB99999", *cli_ws(city)])
    assert missing.exit_code == 1


def test_runs_diff_shows_who_entered_and_left_after_new_data(city, profile, tmp_path):
    first, a = analyze(city, profile, AS_OF)
    # a new hazard list names one more firm: its parcels enter the 危 list
    firm_parcel = a.tag_hits.loc[a.tag_hits["tag"] != "危", "parcel_key"].iloc[0]
    hazards = tmp_path / "hazards.xlsx"
    pd.DataFrame({"隐患编号": ["NEW-1"], "宗地代码": [firm_parcel], "隐患类型": ["危险化学品"],
                  "隐患等级": ["重大"], "整改状态": ["未整改"]}).to_excel(hazards, index=False)
    assert load_file(city, profile, "hazards", hazards).loaded
    second, _ = analyze(city, profile, AS_OF)
    c = diff_runs(city.engine, first, second)
    entered = c.parcels.query("change == 'entered'")
    assert (entered["parcel_key"] == firm_parcel).any() and set(entered["tag"]) == {"危"}
    assert c.lists.set_index("tag").loc["危", "entered"] >= 1 and c.firms.empty
    out = CliRunner().invoke(cli.app, ["runs", "diff", str(first), str(second), *cli_ws(city)])
    assert out.exit_code == 0 and firm_parcel in out.output
    assert CliRunner().invoke(cli.app, ["runs", "diff", "1", "999", *cli_ws(city)]).exit_code == 1


def test_whatif_lower_plot_ratio_floor_only_removes_parcels_from_the_low_list(city, profile):
    w = whatif(read_snapshot(city.engine), profile, ["land.plot_ratio.industrial:floor=1.0"], AS_OF)
    lists = w.comparison.lists.set_index("tag")
    assert lists.loc["低", "left"] > 0 and lists.loc["低", "entered"] == 0
    assert (lists.drop(index="低")[["entered", "left"]] == 0).all().all()
    assert w.comparison.firms.empty
    assert len(w.comparison.paths) > 0  # parcels leaving the low list lose or change their path
    with city.engine.connect() as conn:  # nothing stored
        assert conn.execute(text("SELECT COUNT(*) FROM analysis_run WHERE note = 'what-if'")).scalar_one() == 0


def test_whatif_overrides_are_validated_like_a_profile(profile):
    assert apply_overrides(profile, ["eval.indicator.tax_per_mu:weight=40"]).digest() == profile.digest()
    with pytest.raises(OverrideError, match="no rule"):
        apply_overrides(profile, ["no.such.rule:floor=1"])
    with pytest.raises(OverrideError, match="has no parameter"):
        apply_overrides(profile, ["land.plot_ratio.industrial:ceiling=1"])
    with pytest.raises(ProfileError, match="100"):
        apply_overrides(profile, ["eval.indicator.tax_per_mu:weight=50"])  # weights no longer sum to 100
    changed = apply_overrides(profile, ["eval.indicator.tax_per_mu:weight=50", "eval.indicator.sales_per_mu:weight=10"])
    assert changed.evaluation.weights()["tax_per_mu"] == 50


def test_whatif_command_reports_changes_and_refuses_bad_overrides(city):
    ok = CliRunner().invoke(cli.app, ["whatif", "--set", "land.plot_ratio.industrial:floor=1.0", *cli_ws(city)])
    assert ok.exit_code == 0 and "nothing was stored" in ok.output and "vacated_mu" in ok.output
    bad = CliRunner().invoke(cli.app, ["whatif", "--set", "nonsense", *cli_ws(city)])
    assert bad.exit_code == 1


def test_a_run_writes_a_geopackage_a_workbook_and_a_summary(city, profile):
    run_id, result = analyze(city, profile, AS_OF)
    paths = result.outputs
    assert paths["gpkg"].parent == city.path / "runs" / str(run_id)
    layers = dict(pyogrio.list_layers(paths["gpkg"]))
    assert {"标注地块", "亩均分类地块"} <= set(layers)
    flagged = pyogrio.read_dataframe(paths["gpkg"], layer="标注地块")
    assert len(flagged) == result.counts()["flagged_parcels"] and flagged.crs.to_epsg() == 4490
    book = pd.ExcelFile(paths["xlsx"], engine="calamine")
    assert {"汇总", "危 安全隐患", "低 低效利用", "亩均评价"} <= set(book.sheet_names)
    low = pd.read_excel(book, "低 低效利用")
    assert {"宗地代码", "面积（亩）", "规则编号", "政策条款", "实际值", "判定标准"} <= set(low.columns)
    assert len(low) == int((result.tag_hits["tag"].astype(str) == "低").sum())
    summary = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert summary["run_id"] == run_id and summary["counts"] == result.counts()


def test_a_run_stores_its_cases_with_path_rule_and_yield(city, profile):
    run_id, result = analyze(city, profile, AS_OF)
    with city.engine.connect() as conn:
        cases = pd.read_sql(text("SELECT * FROM run_case WHERE run_id = :i"), conn, params={"i": run_id})
        firms = pd.read_sql(text("SELECT * FROM run_firm WHERE run_id = :i"), conn, params={"i": run_id})
    assert len(cases) == len(result.cases) > 0
    matched = cases[cases["matched"].astype(bool)]
    assert matched["rule_id"].map(profile.has_rule).all() and (matched["path_zh"].str.len() > 0).all()
    assert (cases[["vacated_mu", "cultivated_mu", "grain_kg", "construction_quota_mu"]] >= 0).all().all()
    assert cases["vacated_mu"].sum() == pytest.approx(result.yields()["vacated_mu"], abs=0.1)
    d = firms[firms["firm_class"] == "D"]
    assert (d["surcharge_total_yuan"].fillna(0) >= 0).all() and d["land_supply"].notna().all()
    assert "处置建议" in dict(pyogrio.list_layers(result.outputs["gpkg"]))
