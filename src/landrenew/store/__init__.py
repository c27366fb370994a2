"""The workspace store: SQLite file by default, PostgreSQL + PostGIS by URL."""

from landrenew.store.workspace import Workspace

__all__ = ["Workspace"]
