"""The store: migrations match the models, loads land in one transaction, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import pandas as pd
import pytest
import shapely
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from conftest import firm_frame, parcel_frame
from landrenew.loading import load_file
from landrenew.store import Workspace
from landrenew.store.models import Base
from landrenew.store.snapshot import read_snapshot


def _ours(diff: list, dialect: str) -> list:
    """The schema differences that are ours. The spatial and text indexes are not declared in the
    portable models: on PostgreSQL the GiST indexes ``ix_<table>_geom`` (0001), the text indexes
    ``ix_name_search_tokens`` (0009), ``ix_run_search_tokens`` (0010), the trigram indexes
    ``ix_parcel_*_trgm`` (0013) and PostGIS's own ``spatial_ref_sys`` table; on SQLite the R*Tree
    tables ``<table>_rtree*`` (0008) and the FTS5 tables ``<table>_fts*`` (0009, 0010, 0013)."""

    def spatial(d: tuple) -> bool:
        if dialect == "postgresql":
            return ((d[0] == "remove_table" and d[1].name == "spatial_ref_sys")
                    or (d[0] == "remove_index" and d[1].name == f"ix_{d[1].table.name}_geom")
                    or (d[0] == "remove_index" and d[1].name in (
                        "ix_name_search_tokens", "ix_run_search_tokens", "ix_parcel_code_trgm", "ix_parcel_bsm_trgm")))
        return d[0] == "remove_table" and d[1].name.startswith(
            ("parcel_rtree", "control_feature_rtree", "name_search_fts", "run_search_fts", "parcel_code_fts"))

    return [d for d in diff if not (isinstance(d, tuple) and spatial(d))]


def test_migrations_produce_exactly_the_models_schema(ws):
    with ws.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert _ours(diff, ws.engine.dialect.name) == []


def test_opening_a_workspace_twice_keeps_its_data(ws, profile, tmp_path):
    path = tmp_path / "parcels.gpkg"
    parcel_frame(3).to_file(path)
    load_file(ws, profile, "parcels", path)
    again = Workspace.open(ws.path)
    with again.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM parcel")).scalar_one() == 3


def test_a_failing_write_rolls_back_the_whole_batch(ws, profile, tmp_path, monkeypatch):
    from landrenew.store import load as store_load

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setitem(store_load.WRITERS, "parcels", explode)
    path = tmp_path / "parcels.gpkg"
    parcel_frame(3).to_file(path)
    with pytest.raises(RuntimeError):
        load_file(ws, profile, "parcels", path)
    with ws.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM ingest_batch")).scalar_one() == 0


def test_stored_geometry_round_trips(ws, profile, tmp_path):
    """WKB in a BLOB on SQLite, PostGIS geometry (read back as hex EWKB with its SRID) on PostgreSQL."""
    path = tmp_path / "parcels.gpkg"
    source = parcel_frame(2).to_crs("EPSG:4490")
    source.to_file(path)
    load_file(ws, profile, "parcels", path)
    with ws.engine.connect() as conn:
        blobs = conn.execute(text("SELECT geom FROM parcel ORDER BY parcel_code")).scalars().all()
    geoms = shapely.from_wkb(blobs)
    if ws.engine.dialect.name == "postgresql":
        assert set(shapely.get_srid(geoms)) == {4490}
    assert all(g.equals_exact(s, 1e-9) for g, s in zip(geoms, source.geometry, strict=True))


def test_snapshot_reads_back_what_was_loaded_with_a_stable_hash(ws, profile, tmp_path):
    parcels, firms = tmp_path / "parcels.gpkg", tmp_path / "firms.xlsx"
    source = parcel_frame(4).to_crs("EPSG:4490")
    source.to_file(parcels)
    firm_frame(3).to_excel(firms, index=False)
    load_file(ws, profile, "parcels", parcels)
    load_file(ws, profile, "firms", firms)
    snap = read_snapshot(ws.engine)
    assert len(snap.parcels) == 4 and len(snap.firms) == 3 and len(snap.firm_parcels) == 3
    assert snap.parcels.crs == "EPSG:4490" and snap.parcels.geometry.geom_equals_exact(source.geometry, 1e-9).all()
    assert str(snap.parcels["supply_date"].iloc[0].date()) == "2018-05-01"
    assert read_snapshot(ws.engine).input_hash == snap.input_hash
    load_file(ws, profile, "parcels", parcels)  # a new batch replaces the rows: new data state
    assert read_snapshot(ws.engine).input_hash != snap.input_hash


def test_snapshot_cache_returns_the_same_frames_until_the_data_changes(ws, profile, tmp_path):
    parcels, firms = tmp_path / "parcels.gpkg", tmp_path / "firms.xlsx"
    parcel_frame(4).to_file(parcels)
    firm_frame(3).to_excel(firms, index=False)
    load_file(ws, profile, "parcels", parcels)
    load_file(ws, profile, "firms", firms)
    fresh = read_snapshot(ws.engine, ws.cache_dir)
    cached = read_snapshot(ws.engine, ws.cache_dir)
    assert (ws.cache_dir / fresh.input_hash / "done").exists()
    for name in ("parcels", "layers", "firms", "firm_parcels", "evidence"):
        pd.testing.assert_frame_equal(getattr(cached, name), getattr(fresh, name), check_dtype=False)
    load_file(ws, profile, "firms", firms)  # a new batch: new data state, no stale cache
    assert read_snapshot(ws.engine, ws.cache_dir).input_hash != fresh.input_hash
    assert len(list(ws.cache_dir.iterdir())) == 1  # only the current state is kept


def test_projected_parcels_are_kept_with_the_cached_snapshot(ws, profile, tmp_path, monkeypatch):
    """``Snapshot.planar`` projects once; the next read of the same data reads the projection from
    the cache folder (no projection at all) and gets the same coordinates; a snapshot without a
    cache projects in memory only."""
    from landrenew.store import snapshot as snapshot_module

    path = tmp_path / "parcels.gpkg"
    parcel_frame(4).to_file(path)
    load_file(ws, profile, "parcels", path)
    first = read_snapshot(ws.engine, ws.cache_dir).planar("EPSG:4549")
    expected = read_snapshot(ws.engine).parcels.to_crs("EPSG:4549").geometry.to_numpy()
    assert all(a.equals_exact(b, 1e-6) for a, b in zip(first, expected, strict=True))
    assert list(ws.cache_dir.glob("*/parcels.EPSG_4549.parquet"))

    def no_projection(*args, **kwargs):
        raise AssertionError("projected again")

    monkeypatch.setattr(snapshot_module, "project", no_projection)
    again = read_snapshot(ws.engine, ws.cache_dir)
    assert all(a.equals_exact(b, 0) for a, b in zip(again.planar("EPSG:4549"), first, strict=True))
    with pytest.raises(AssertionError, match="projected again"):
        read_snapshot(ws.engine).planar("EPSG:4549")


def test_postgis_geometry_has_srid_4490_and_true_areas(pg_url, profile, tmp_path):
    ws = Workspace.open(tmp_path / "ws", pg_url)
    parcels = tmp_path / "parcels.gpkg"
    parcel_frame(4).to_file(parcels)
    firms = tmp_path / "firms.xlsx"
    firm_frame(4).to_excel(firms, index=False)
    assert load_file(ws, profile, "parcels", parcels).loaded
    assert load_file(ws, profile, "firms", firms).loaded
    with ws.engine.connect() as conn:
        area = conn.execute(text("SELECT SUM(ST_Area(ST_Transform(geom, 4549))) FROM parcel")).scalar_one()
        srid = conn.execute(text("SELECT DISTINCT ST_SRID(geom) FROM parcel")).scalar_one()
        valid = conn.execute(text("SELECT bool_and(ST_IsValid(geom)) FROM parcel")).scalar_one()
        firms_n = conn.execute(text("SELECT COUNT(*) FROM firm_year")).scalar_one()
    assert srid == 4490 and valid and firms_n == 4
    snap = read_snapshot(ws.engine)
    assert len(snap.parcels) == 4 and snap.parcels.to_crs("EPSG:4549").area.gt(0).all()
    assert area == pytest.approx(4 * 6400.0, rel=1e-3)
    ws.engine.dispose()


def test_the_sqlite_rtree_follows_every_insert_update_and_delete(ws, profile, tmp_path):
    if ws.engine.dialect.name != "sqlite":
        pytest.skip("the R*Tree is SQLite's; PostGIS keeps its GiST index itself")
    path = tmp_path / "parcels.gpkg"
    parcel_frame(5).to_file(path)
    load_file(ws, profile, "parcels", path)

    def boxes(conn):
        index = conn.execute(text("SELECT id, minx, maxx, miny, maxy FROM parcel_rtree ORDER BY id")).all()
        rows = conn.execute(text("SELECT id, minx, maxx, miny, maxy FROM parcel ORDER BY id")).all()
        return index, rows

    with ws.engine.begin() as conn:
        index, rows = boxes(conn)
        assert [r[0] for r in index] == [r[0] for r in rows] and len(rows) == 5
        # the R*Tree stores 32-bit floats rounded outwards: each box holds the exact one
        assert all(i[1] <= r[1] and i[2] >= r[2] and i[3] <= r[3] and i[4] >= r[4] for i, r in zip(index, rows, strict=True))
        first = rows[0][0]
        conn.execute(text("UPDATE parcel SET minx = minx + 1, maxx = maxx + 1 WHERE id = :i"), {"i": first})
        conn.execute(text("DELETE FROM parcel WHERE id = :i"), {"i": rows[1][0]})
        index, rows = boxes(conn)
    assert [r[0] for r in index] == [r[0] for r in rows] and len(rows) == 4
    moved = dict((r[0], r) for r in index)[first]
    assert moved[1] == pytest.approx(rows[0][1], abs=1e-4)


def test_a_failing_upgrade_leaves_the_schema_as_it_was(ws):
    from alembic import command
    from sqlalchemy import inspect

    from landrenew.store.migrate import alembic_config, upgrade

    command.downgrade(alembic_config(ws.engine), "0009")
    with ws.engine.begin() as conn:  # what 0011 creates last already exists: the upgrade fails there
        conn.execute(text("CREATE INDEX ix_run_unit_tags ON run_unit (run_id, tags)"))
    with pytest.raises(Exception, match="ix_run_unit_tags"):
        upgrade(ws.engine)
    with ws.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0009"
    tables = inspect(ws.engine).get_table_names()
    assert "run_search" not in tables  # 0010 was rolled back with 0011
    assert "ix_run_parcel_tags" not in {i["name"] for i in inspect(ws.engine).get_indexes("run_parcel")}
    with ws.engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_run_unit_tags"))
    upgrade(ws.engine)
    assert "run_search" in inspect(ws.engine).get_table_names()


def test_the_text_index_follows_every_load(ws, profile, tmp_path):
    from landrenew import onemap

    path = tmp_path / "parcels.gpkg"
    frame = parcel_frame(5)
    frame.to_file(path)

    def entries() -> int:
        if ws.engine.dialect.name != "sqlite":
            return 5
        with ws.engine.connect() as conn:  # the FTS5 index's own rows (its 'docsize' table), not the content
            return conn.execute(text("SELECT COUNT(*) FROM parcel_code_fts_docsize")).scalar_one()

    load_file(ws, profile, "parcels", path)
    code = frame["宗地代码"][2]
    assert entries() == 5
    assert [m["key"] for m in onemap.search(ws.engine, code[-6:].lower())] == [code]
    load_file(ws, profile, "parcels", path)  # the same parcels again: replaced, indexed once
    assert entries() == 5
    assert [m["key"] for m in onemap.search(ws.engine, code[-6:])] == [code]
    assert [m["key"] for m in onemap.search(ws.engine, code)] == [code]
    assert [m["key"] for m in onemap.search(ws.engine, code[-2:])] == [c for c in frame["宗地代码"] if code[-2:] in c]


def test_upgrading_a_store_with_data_refreshes_the_planner_statistics(ws, profile, tmp_path):
    """New indexes come without statistics: SQLite then picks bad plans (the units list: 67 s at 50 k)."""
    if ws.engine.dialect.name != "sqlite":
        pytest.skip("statistics are SQLite's sqlite_stat1 here")
    from alembic import command

    from landrenew.store.migrate import alembic_config

    path = tmp_path / "parcels.gpkg"
    parcel_frame(3).to_file(path)
    load_file(ws, profile, "parcels", path)
    command.downgrade(alembic_config(ws.engine), "0011")
    with ws.engine.begin() as conn:
        conn.execute(text("DELETE FROM sqlite_stat1"))
    Workspace.open(ws.path)
    with ws.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'parcel'")).scalar_one() > 0


def _parcel_rows(n: int, batch_id: int, start: int = 0) -> pd.DataFrame:
    x = 119.9 + (pd.RangeIndex(n) + start) * 1e-5
    return pd.DataFrame({"key": [f"K{i + start:08d}" for i in range(n)], "batch_id": batch_id, "district_code": "320412",
                         "parcel_code": [f"320412{(i + start) // 1000:06d}GB{(i + start) % 100_000:05d}" for i in range(n)],
                         "minx": x, "maxx": x + 1e-5, "miny": 31.7, "maxy": 31.70001})


def _batch(conn) -> int:
    from datetime import UTC, datetime

    from landrenew.store.models import IngestBatch

    return conn.execute(IngestBatch.__table__.insert().values(
        kind="parcels", file_name="f", file_sha256="x", rows_read=0, rows_loaded=0, rows_rejected=0, warnings=0,
        repairs=0, loaded_at=datetime.now(UTC), user="u").returning(IngestBatch.__table__.c.id)).scalar_one()


def test_a_bulk_insert_fills_the_rtree_and_code_index_in_one_statement_and_keeps_their_triggers(ws):
    if ws.engine.dialect.name != "sqlite":
        pytest.skip("the R*Tree and FTS5 are SQLite's")
    from landrenew.store.bulk import BULK_INDEX_ROWS, insert_frame
    from landrenew.store.models import Parcel

    def found(conn, code: str) -> list[str]:
        return conn.execute(text("SELECT p.key FROM parcel_code_fts f JOIN parcel p ON p.id = f.rowid "
                                 "WHERE parcel_code_fts MATCH :q"), {"q": f'"{code}"'}).scalars().all()

    n = BULK_INDEX_ROWS + 10
    with ws.engine.begin() as conn:
        b = _batch(conn)
        insert_frame(conn, Parcel.__table__, _parcel_rows(3, b))  # a small insert: the trigger indexes it
        insert_frame(conn, Parcel.__table__, _parcel_rows(n, b, start=3))  # a large one: one statement
        index = conn.execute(text("SELECT p.id FROM parcel p JOIN parcel_rtree r ON r.id = p.id "
                                  "AND r.minx <= p.minx AND r.maxx >= p.maxx")).scalars().all()
        assert len(index) == n + 3
        codes = conn.execute(text("SELECT key, parcel_code FROM parcel WHERE id IN (1, 3, 4, :last)"),
                             {"last": n + 3}).all()
        for key, code in codes:  # by either way, each code is found whole and in part
            assert found(conn, code) == [key] and key in found(conn, code[-7:].lower())
    with pytest.raises(RuntimeError), ws.engine.begin() as conn:  # a failed load: nothing of it stays
        insert_frame(conn, Parcel.__table__, _parcel_rows(n, b, start=n + 3))
        raise RuntimeError("the load fails after its insert")
    with ws.engine.begin() as conn:
        triggers = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'parcel'"))
        assert {"parcel_rtree_insert", "parcel_code_fts_insert"} <= set(triggers.scalars())
        assert conn.execute(text("SELECT COUNT(*) FROM parcel_rtree")).scalar_one() == n + 3
        assert conn.execute(text("INSERT INTO parcel_code_fts(parcel_code_fts, rank) VALUES ('integrity-check', 1)"))
        insert_frame(conn, Parcel.__table__, _parcel_rows(1, b, start=10 * n))  # the triggers work again
        assert conn.execute(text("SELECT COUNT(*) FROM parcel_rtree")).scalar_one() == n + 4
        key, code = conn.execute(text("SELECT key, parcel_code FROM parcel ORDER BY id DESC LIMIT 1")).one()
        assert found(conn, code) == [key]


@pytest.mark.parametrize("n", [5, 2500])
def test_delete_in_removes_exactly_the_rows_named_however_many(ws, n):
    from landrenew.store.bulk import delete_in
    from landrenew.store.models import Parcel

    t = Parcel.__table__
    with ws.engine.begin() as conn:
        b = _batch(conn)
        conn.execute(t.insert(), _parcel_rows(2 * n, b).to_dict("records"))
        keys = [f"K{i:08d}" for i in range(0, 2 * n, 2)]  # every other row
        delete_in(conn, t, "key", [*keys, *keys[:3], "not there"], t.c.batch_id == b)
        left = conn.execute(text("SELECT key FROM parcel ORDER BY key")).scalars().all()
    assert left == [f"K{i:08d}" for i in range(1, 2 * n, 2)]
