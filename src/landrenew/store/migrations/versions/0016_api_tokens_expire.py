"""API tokens expire: api_token.expires_at

A token is made for a number of days (``landrenew users token NAME --days N``) and refused after
its expiry. Tokens made before this revision had none: they expire 90 days after the upgrade, so
the scripts using them keep working while their owners rotate them.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27 18:50:00
"""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

#: how long tokens made before this revision stay valid after the upgrade
GRACE_DAYS = 90


def upgrade() -> None:
    with op.batch_alter_table("api_token") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    token = sa.table("api_token", sa.column("expires_at", sa.DateTime(timezone=True)))
    op.execute(token.update().values(expires_at=datetime.now(UTC) + timedelta(days=GRACE_DAYS)))
    with op.batch_alter_table("api_token") as batch:
        batch.alter_column("expires_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("api_token") as batch:
        batch.drop_column("expires_at")
