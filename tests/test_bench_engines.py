"""landrenew.bench_engines on a small demo city: landrenew, DuckDB spatial SQL and PostGIS SQL compute
the same overlay (shares, space, park, plan zone, patches, fit flags) and the same tag hits, parcel by
parcel. The PostGIS half takes the session's server (``pg_server``) and is skipped without one, unless
CI / LANDRENEW_REQUIRE_PG=1 demand it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from landrenew import bench_engines as be

SEED = 5
PARCELS = 2000


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> be.Inputs:
    """A loaded demo city of 2,000 parcels, read back as a snapshot, with the shared inputs."""
    from landrenew.demo.common import AS_OF
    from landrenew.demo.job import run_demo
    from landrenew.policy import load_profile
    from landrenew.store import Workspace
    from landrenew.store.snapshot import read_snapshot

    profile = load_profile()
    ws = Workspace.open(tmp_path_factory.mktemp("engines") / "ws")
    try:
        assert not run_demo(ws, profile, PARCELS, SEED).failed
        snap = read_snapshot(ws.engine)
    finally:
        ws.engine.dispose()
    return be.prepare_inputs(snap, profile, date.fromisoformat(AS_OF))


@pytest.fixture(scope="module")
def mine(inputs: be.Inputs) -> be.EngineResult:
    return be.run_landrenew(inputs)


def agree(mine: be.EngineResult, other: be.EngineResult) -> None:
    diff = be.compare(mine, other)
    assert diff["total"] == 0, (diff, be.disagreements(mine, other))


def test_landrenew_answers_are_not_trivial(inputs: be.Inputs, mine: be.EngineResult) -> None:
    """The city exercises what is compared: shares strictly between 0 and 1, several spaces, parks,
    plan zones, multi-parcel patches, fit flags and hits of most tag rules."""
    per = mine.per_parcel
    shares = per[[c for c in per.columns if c.startswith("share_")]].to_numpy(float)
    assert ((shares > 0) & (shares < 1)).any()
    assert set(per["space"].dropna()) >= {"urban", "agricultural"}
    assert per["park_name"].notna().any() and per["plan_zone"].notna().any()
    assert (per["patch_size"].to_numpy(float) > 1).any()
    assert per["fit_paddy"].any()
    assert mine.hits["rule_id"].nunique() >= 6


def test_duckdb_agrees_with_landrenew(inputs: be.Inputs, mine: be.EngineResult) -> None:
    pytest.importorskip("duckdb")
    pytest.importorskip("duckdb_extension_spatial")
    duck = be.run_duckdb(inputs)
    agree(mine, duck)
    assert len(duck.hits) == len(mine.hits)
    assert set(duck.load) == {"load", "prepare"} and duck.query_s > 0


def test_postgis_agrees_with_landrenew(inputs: be.Inputs, mine: be.EngineResult, pg_server) -> None:
    url = pg_server.new_database()
    try:
        pg = be.run_postgis(inputs, url)
    finally:
        pg_server.drop_database(url)
    agree(mine, pg)
    assert len(pg.hits) == len(mine.hits)


def test_compare_counts_each_kind_of_disagreement(mine: be.EngineResult) -> None:
    """A changed share, a moved patch member and a dropped hit each count one parcel."""
    per = mine.per_parcel.copy()
    col = next(c for c in per.columns if c.startswith("share_"))
    i = int(np.flatnonzero(per[col].to_numpy(float) > 0.1)[0])
    per.loc[i, col] = per.loc[i, col] * (1 + 1e-4)
    j = int(np.flatnonzero(per["patch_size"].to_numpy(float) > 1)[0])
    per.loc[j, "patch"] = per["patch"].max() + 1
    other = be.EngineResult("other", per, mine.hits.iloc[1:].reset_index(drop=True))
    diff = be.compare(mine, other)
    assert diff[col] == 1 and diff["patch"] >= 1 and diff["hits"] == 1
    assert be.compare(mine, mine)["total"] == 0


def test_section_is_written_into_benchmarks(inputs: be.Inputs, tmp_path: Path) -> None:
    """The measurement becomes a BENCHMARKS.md section, replaced (not repeated) when written again."""
    pytest.importorskip("duckdb_extension_spatial")
    m = be.measure_inputs(inputs, None, ("landrenew", "duckdb"), log=lambda _: None)
    assert m["engines"]["duckdb"]["disagree"]["total"] == 0
    target = tmp_path / "BENCHMARKS.md"
    target.write_text("# Benchmarks\n\n## Other\n\nkept\n", encoding="utf-8")
    for _ in range(2):
        be.replace_section(target, be.section(m), be.TITLE)
    text = target.read_text(encoding="utf-8")
    assert text.count(be.TITLE) == 1 and "kept" in text
    assert "| **query total** |" in text and "landrenew : DuckDB" in text
