"""Run the Alembic migrations bundled in the package."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at the packaged migrations and at ``engine``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(files("landrenew.store") / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def schema_revision(engine: Engine) -> str | None:
    """The store's current migration (None for an empty store)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> bool:
    """Bring the store's schema to ``revision``; True when a store with data was upgraded (its planner
    statistics then need refreshing: new indexes have none)."""
    before = schema_revision(engine)
    command.upgrade(alembic_config(engine), revision)
    return before is not None and schema_revision(engine) != before
