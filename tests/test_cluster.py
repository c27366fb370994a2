"""The analysis over spatial partitions on a local Dask cluster equals the single-machine run."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
import shapely
from sqlalchemy import text
from typer.testing import CliRunner

from conftest import fresh_workspace
from landrenew import cli
from landrenew.analysis.pipeline import run_pipeline
from landrenew.demo.job import run_demo
from landrenew.store.snapshot import read_snapshot

pytest.importorskip("distributed")
from landrenew.cluster import ClusterRun, connect, halo_m, plan_partitions  # noqa: E402

AS_OF = date(2025, 6, 30)
FRAMES = ("overlay", "evaluation", "parcel_class", "tag_hits", "tags", "unit_of", "units", "cases",
          "firm_paths", "allocation")


@pytest.fixture(scope="module")
def city(request, tmp_path_factory, profile):
    """A small demo city in SQLite (the cluster path is about compute, not the store)."""
    with fresh_workspace(request, "sqlite", tmp_path_factory.mktemp("city") / "ws") as ws:
        assert not run_demo(ws, profile, 3000, 11).failed
        yield ws


@pytest.fixture(scope="module")
def client():
    with connect("local:2") as c:
        yield c


def _same(a: object, b: object) -> None:
    if isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b)
    else:  # areas and shares: the partitions union fewer layer features, so GEOS may round differently
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-9)


def test_a_local_cluster_gives_the_single_machine_result(city, client, profile, tmp_path):
    snap = read_snapshot(city.engine)
    one = run_pipeline(snap, profile, AS_OF)
    seen: list[str] = []
    run = ClusterRun(client, tmp_path / "parts", parcels_per_partition=400, progress=seen.append)
    two = run_pipeline(snap, profile, AS_OF, cluster=run)
    n_parts = len(run.parts.parts)
    assert n_parts == 8 and f"overlay {n_parts}/{n_parts}" in seen and f"tags {n_parts}/{n_parts}" in seen
    assert len(client.scheduler_info(n_workers=-1)["workers"]) == 2
    for name in FRAMES:
        _same(getattr(one, name), getattr(two, name))
    assert one.counts() == two.counts() and one.yields() == two.yields()
    assert run.folder.parent == tmp_path / "parts" and any(run.folder.iterdir())
    run.close()
    assert not run.folder.exists()

    # the test means something only if patches and units do cross partition boundaries
    part_of = np.empty(len(snap.parcels), dtype=np.int64)
    for i, part in enumerate(run.parts.parts):
        part_of[part.core] = i
    for ids in (one.unit_of, one.overlay["patch_id"]):
        ids = ids.dropna()
        spread = pd.Series(part_of[ids.index.to_numpy()]).groupby(ids.to_numpy()).nunique()
        assert (spread > 1).sum() >= 3


def test_partitions_cover_every_parcel_once_and_reach_across_their_edges(city, profile):
    snap = read_snapshot(city.engine)
    parcels = snap.parcels
    halo = halo_m(profile)
    core, members = plan_partitions(parcels, profile.city.area_crs, halo, 5)
    together = np.concatenate(core)
    assert len(together) == len(parcels) == len(np.unique(together))
    planar = parcels.geometry.to_crs(profile.city.area_crs).values
    tree = shapely.STRtree(planar)
    for c, m in zip(core, members, strict=True):
        assert np.isin(c, m).all() and len(m) > len(c)
        _, near = tree.query(planar[c], predicate="dwithin", distance=halo)
        assert np.isin(np.unique(near), m).all()  # everything a core parcel can see is in the partition


def test_the_cli_runs_on_a_cluster_and_refuses_a_bad_address(city, profile):
    runner = CliRunner()
    ws = ["--workspace", str(city.path), "--as-of", str(AS_OF)]
    single = runner.invoke(cli.app, ["analyze", *ws])
    spread = runner.invoke(cli.app, ["analyze", *ws, "--cluster", "local:2"])
    assert single.exit_code == 0 and spread.exit_code == 0, spread.output
    with city.engine.connect() as conn:
        counts = conn.execute(text("SELECT counts FROM analysis_run WHERE status = 'done' ORDER BY id DESC LIMIT 2")
                              ).scalars().all()
    assert counts[0] == counts[1]
    assert not any((city.path / "cache" / "cluster").iterdir())  # the run's partitions are gone
    bad = runner.invoke(cli.app, ["analyze", *ws, "--cluster", "local:0"])
    assert bad.exit_code == 1 and "local:N" in bad.output
