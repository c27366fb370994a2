"""spatial index on SQLite: an R*Tree of every parcel's and control feature's bounding box

PostgreSQL has had GiST indexes on the geometry since 0001. On SQLite an R*Tree virtual table
``<table>_rtree(id, minx, maxx, miny, maxy)`` per geometry table is filled from the rows and kept by
triggers, so box queries (tiles, OGC bbox) read the rows they need instead of scanning the table.
The planner's statistics are gathered too. A later migration that rebuilds ``parcel`` or ``control_feature`` in batch mode drops the triggers
and must create them again.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 07:40:00
"""
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

TABLES = ("parcel", "control_feature")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for t in TABLES:
        op.execute(f"CREATE VIRTUAL TABLE {t}_rtree USING rtree(id, minx, maxx, miny, maxy)")
        op.execute(f"INSERT INTO {t}_rtree SELECT id, minx, maxx, miny, maxy FROM {t} WHERE minx IS NOT NULL")
        op.execute(f"""CREATE TRIGGER {t}_rtree_insert AFTER INSERT ON {t} WHEN new.minx IS NOT NULL BEGIN
            INSERT INTO {t}_rtree VALUES (new.id, new.minx, new.maxx, new.miny, new.maxy); END""")
        op.execute(f"""CREATE TRIGGER {t}_rtree_update AFTER UPDATE OF id, minx, miny, maxx, maxy ON {t} BEGIN
            DELETE FROM {t}_rtree WHERE id = old.id;
            INSERT INTO {t}_rtree SELECT new.id, new.minx, new.maxx, new.miny, new.maxy WHERE new.minx IS NOT NULL;
            END""")
        op.execute(f"""CREATE TRIGGER {t}_rtree_delete AFTER DELETE ON {t} BEGIN
            DELETE FROM {t}_rtree WHERE id = old.id; END""")
    # and the planner's statistics, which a workspace made before this migration lacks (loads and
    # runs refresh them since: store.workspace.refresh_statistics)
    op.execute("PRAGMA analysis_limit=1000")
    op.execute("ANALYZE")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for t in reversed(TABLES):
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {t}_rtree_{event}")
        op.execute(f"DROP TABLE {t}_rtree")
