"""Shared fixtures: a fresh workspace, the bundled profile, and small valid sources to break.

Every test that takes ``ws`` (or ``database_url``) runs twice: ``test_x[sqlite]`` on a SQLite file in
the workspace folder and ``test_x[postgresql]`` on a fresh PostgreSQL + PostGIS database cloned from a
migrated template (see ``pgcluster.py``: a throwaway cluster per xdist worker, or the server named by
LANDRENEW_TEST_DATABASE_URL). While a PostgreSQL workspace is open, LANDRENEW_DATABASE_URL points at its
database, so ``Workspace.open(ws.path)`` and CLI calls with ``-w ws.path`` reach the same store.
Mark a test ``@pytest.mark.sqlite_only(reason=...)`` when the SQLite store is its very point.
Without server binaries the PostgreSQL half is skipped, unless CI / LANDRENEW_REQUIRE_PG=1 demand it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import settings
from sqlalchemy import text

from landrenew.codes.parcel_code import make_parcel_code
from landrenew.codes.uscc import make_uscc
from landrenew.policy import load_profile
from landrenew.store import Workspace
from landrenew.store.workspace import ENV_DATABASE_URL, ENV_WORKSPACE
from pgcluster import ENV_URL, PgServer, PgUnavailable, required

# CI explores the same examples every run (a found failure stays reproducible and a landing is
# not decided by chance); local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

pytest_plugins = ["webkit"]

# A block of small square parcels in 武进区 (EPSG:4549 metres, around 119.95E 31.70N).
ORIGIN_4549 = (495_000.0, 3_508_000.0)


@pytest.fixture(scope="session")
def profile():
    return load_profile("changzhou-2022")


# a store chosen in the shell must not leak into the tests: each test says which store it uses
for _name in (ENV_DATABASE_URL, ENV_WORKSPACE):
    os.environ.pop(_name, None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only(reason): run only on the SQLite store; the reason says why")
    config.addinivalue_line("markers", "postgresql: the PostgreSQL instance of a test (deselect: -m 'not postgresql')")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``backend`` (asked for by ``ws``/``database_url``/module fixtures) is sqlite and postgresql."""
    if "backend" not in metafunc.fixturenames:
        return
    only = metafunc.definition.get_closest_marker("sqlite_only")
    if only is not None and not (only.kwargs.get("reason") or only.args):
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: sqlite_only needs a reason")
    params = [pytest.param("sqlite", id="sqlite")]
    if only is None:
        params.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql))
    # module scope: a module-scoped fixture (a demo city) may be built once per backend
    metafunc.parametrize("backend", params, scope="module")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """PostgreSQL-only tests (``pg_url``, ``pg_server``) are ``postgresql`` too."""
    for item in items:
        if "pg_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgresql)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """This worker's PostgreSQL server: LANDRENEW_TEST_DATABASE_URL's, else a throwaway cluster."""
    tag = os.environ.get("PYTEST_XDIST_WORKER", "main")
    url = os.environ.get(ENV_URL)
    server = None
    try:
        server = PgServer.existing(url, tag) if url else PgServer.start(tag)
        server.template()  # PostGIS + the migrated schema, once: each test database is a copy
    except PgUnavailable as exc:
        if server is not None:
            server.close()
        if required():
            pytest.fail(f"PostgreSQL tests are required here (CI or LANDRENEW_REQUIRE_PG=1): {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    except BaseException:
        if server is not None:
            server.close()
        raise
    try:
        yield server
    finally:
        server.close()


@contextmanager
def fresh_database(request: pytest.FixtureRequest, backend: str, folder: Path) -> Iterator[str]:
    """The URL of an empty store for ``folder`` on ``backend`` (PostgreSQL: a clone of the migrated
    template, exported as LANDRENEW_DATABASE_URL until the end, then dropped). For any fixture scope."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(ENV_DATABASE_URL, raising=False)
        if backend == "sqlite":
            yield f"sqlite:///{folder / 'landrenew.sqlite'}"
            return
        assert backend == "postgresql", backend
        server: PgServer = request.getfixturevalue("pg_server")
        url = server.new_database()
        mp.setenv(ENV_DATABASE_URL, url)
        try:
            yield url
        finally:
            server.drop_database(url)


@contextmanager
def fresh_workspace(request: pytest.FixtureRequest, backend: str, folder: Path) -> Iterator[Workspace]:
    """A new workspace in ``folder`` on ``backend`` (for module-scoped fixtures; tests take ``ws``)."""
    with fresh_database(request, backend, folder) as url:
        ws = Workspace.open(folder, url)
        try:
            yield ws
        finally:
            ws.engine.dispose()


@pytest.fixture()
def database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty store, SQLite (in ``tmp_path / "ws"``) and PostgreSQL: the store of ``ws``."""
    with fresh_database(request, backend, tmp_path / "ws") as url:
        yield url


@pytest.fixture()
def pg_url(request: pytest.FixtureRequest, pg_server: PgServer, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, migrated PostgreSQL + PostGIS database (PostgreSQL-only tests)."""
    with fresh_database(request, "postgresql", tmp_path / "ws") as url:
        yield url


@pytest.fixture()
def ws(database_url: str, tmp_path: Path) -> Iterator[Workspace]:
    """A fresh workspace in ``tmp_path / "ws"``, on SQLite and on PostgreSQL (two test instances)."""
    workspace = Workspace.open(tmp_path / "ws", database_url)
    try:
        yield workspace
    finally:
        workspace.engine.dispose()


def cli_ws(ws: Workspace) -> list[str]:
    """The CLI options naming ``ws``: ``-w FOLDER --db URL``."""
    return ["-w", str(ws.path), "--db", ws.database_url]


def parcel_frame(n: int = 6, district: str = "320412", size: float = 80.0) -> gpd.GeoDataFrame:
    """``n`` valid parcels in a row, canonical Chinese headers, EPSG:4549."""
    x0, y0 = ORIGIN_4549
    geoms = [shapely.box(x0 + i * (size + 5), y0, x0 + i * (size + 5) + size, y0 + size) for i in range(n)]
    return gpd.GeoDataFrame({
        "宗地代码": [make_parcel_code(district, 1, 2, "G", "B", i + 1) for i in range(n)],
        "地类编码": ["0601"] * n,
        "行政区代码": [district] * n,
        "权利人": [f"常州测试{i}号机械有限公司" for i in range(n)],
        "供地日期": ["2018-05-01"] * n,
        "建筑面积": [size * size * 0.8] * n,
        "宗地面积": [size * size] * n,
    }, geometry=geoms, crs="EPSG:4549")


def firm_frame(n: int = 5, district: str = "320412") -> pd.DataFrame:
    """``n`` valid firm-year rows with Chinese headers."""
    return pd.DataFrame({
        "统一社会信用代码": [make_uscc(f"91{district}MA1{i:06d}") for i in range(n)],
        "企业名称": [f"常州测试{i}号机械有限公司" for i in range(n)],
        "行政区代码": [district] * n,
        "评价年度": [2024] * n,
        "企业规模": ["规上"] * n,
        "实缴税金（万元）": [120.5 + i for i in range(n)],
        "销售收入（万元）": [3000.0 + i for i in range(n)],
        "用地面积（亩）": [20.0] * n,
        "宗地代码": [make_parcel_code(district, 1, 2, "G", "B", i + 1) for i in range(n)],
    })


def store_fingerprint(ws: Workspace) -> dict[str, int]:
    """Row counts of every table: equal before and after a refused load."""
    with ws.engine.connect() as conn:
        return {t: conn.execute(text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one() for t in ws.tables()}
