"""sessions end when idle: web_session.last_seen_at

A signed-in browser's session ends ``session_idle_minutes`` after its last request as well as
``session_hours`` after sign-in; sessions already open count from their sign-in.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27 16:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("web_session") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_session") as batch:
        batch.drop_column("last_seen_at")
