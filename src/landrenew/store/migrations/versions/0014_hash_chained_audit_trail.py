"""hash-chained audit trail: case events and ledger transfers

``case_event`` and ``quota_transfer`` get ``prev_hash`` and ``row_hash``: each row's SHA-256 over
the previous row's hash (by id) and its own content (``store.chain``), so ``landrenew audit
verify`` detects a row edited, deleted or moved in the database. Rows already there are chained
here, in id order.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 16:00:00
"""
import sqlalchemy as sa
from alembic import op

from landrenew.store.chain import CONTENT, GENESIS, TABLES, row_hash

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

_BATCH = 10_000


def upgrade() -> None:
    bind = op.get_bind()
    for name, table in TABLES.items():
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
            batch.add_column(sa.Column("row_hash", sa.String(64), nullable=True))
        prev, updates = GENESIS, []
        rows = bind.execute(sa.select(table.c.id, *(table.c[c] for c in CONTENT[name])).order_by(table.c.id))
        for row in rows.mappings().all():
            h = row_hash(name, prev, row)
            updates.append({"rid": row["id"], "p": prev, "h": h})
            prev = h
        stmt = table.update().where(table.c.id == sa.bindparam("rid")).values(
            prev_hash=sa.bindparam("p"), row_hash=sa.bindparam("h"))
        for lo in range(0, len(updates), _BATCH):
            bind.execute(stmt, updates[lo:lo + _BATCH])


def downgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name) as batch:
            batch.drop_column("row_hash")
            batch.drop_column("prev_hash")
