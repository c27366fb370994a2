"""A workspace: a folder with the store (SQLite by default), reports and deliveries."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text

from landrenew.store.migrate import upgrade

DEFAULT_WORKSPACE = "workspace"
ENV_WORKSPACE = "LANDRENEW_WORKSPACE"
ENV_DATABASE_URL = "LANDRENEW_DATABASE_URL"


@dataclass
class Workspace:
    """Where a city's data lives. ``database_url`` switches the store to PostgreSQL + PostGIS."""

    path: Path
    database_url: str

    @classmethod
    def open(cls, path: str | Path | None = None, database_url: str | None = None, *,
             migrate: bool = True) -> Workspace:
        """Open (creating if needed) the workspace folder and, unless ``migrate`` is false, bring its
        schema to the latest migration."""
        folder = resolve_folder(path)
        folder.mkdir(parents=True, exist_ok=True)
        url = database_url or os.environ.get(ENV_DATABASE_URL) or f"sqlite:///{folder / 'landrenew.sqlite'}"
        ws = cls(folder, url)
        if migrate and upgrade(ws.engine):
            refresh_statistics(ws.engine)
        return ws

    @property
    def engine(self) -> Engine:
        """The store's engine (one per workspace object)."""
        if not hasattr(self, "_engine"):
            self._engine = make_engine(self.database_url)
        return self._engine

    @property
    def reports_dir(self) -> Path:
        """Folder for intake reports and rejected rows."""
        d = self.path / "reports"
        d.mkdir(exist_ok=True)
        return d

    @property
    def cache_dir(self) -> Path:
        """Folder for snapshot caches (Parquet, named by input hash); safe to delete."""
        return self.path / "cache"

    def tables(self) -> list[str]:
        """Names of the tables in the store."""
        return inspect(self.engine).get_table_names()


def resolve_folder(path: str | Path | None = None) -> Path:
    """The workspace folder: ``path``, else $LANDRENEW_WORKSPACE, else ./workspace."""
    return Path(path or os.environ.get(ENV_WORKSPACE) or DEFAULT_WORKSPACE).resolve()


def refresh_statistics(engine: Engine) -> None:
    """Let the query planner see the data as it now is (after a load or a stored run): without
    statistics SQLite may pick a run's first index for a correlated lookup and scan a whole run per
    row. SQLite samples (``analysis_limit``), so this takes milliseconds even at 1,000,000 parcels."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("PRAGMA analysis_limit=1000"))
        conn.execute(text("ANALYZE"))


def make_engine(url: str) -> Engine:
    """An engine; SQLite gets WAL, foreign keys and a generous busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)
