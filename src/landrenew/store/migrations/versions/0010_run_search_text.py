"""the lists' text search: the searchable text of each list row of a run, indexed by trigrams

Searching a list of 300,000 rows for a substring scanned and joined every row (1–5 s at 1,000,000
parcels). ``run_search`` holds each row's searched columns in one text; on SQLite an FTS5 trigram
index (external content, kept by triggers) and on PostgreSQL a pg_trgm GIN index answer substrings
of three characters or more. Runs are indexed when they are stored (``lists.index_run_text``);
runs made before this migration are indexed when the server warms up or on their first search.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 08:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'run_search',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('list', sa.String(length=32), nullable=False),
        sa.Column('ref', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['analysis_run.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_run_search_run_list', 'run_search', ['run_id', 'list'])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_run_search_body_trgm ON run_search USING gin (body gin_trgm_ops)")
        return
    op.execute("CREATE VIRTUAL TABLE run_search_fts USING fts5(body, content='run_search', content_rowid='id', "
               "tokenize='trigram')")
    op.execute("""CREATE TRIGGER run_search_fts_insert AFTER INSERT ON run_search BEGIN
        INSERT INTO run_search_fts(rowid, body) VALUES (new.id, new.body); END""")
    op.execute("""CREATE TRIGGER run_search_fts_delete AFTER DELETE ON run_search BEGIN
        INSERT INTO run_search_fts(run_search_fts, rowid, body) VALUES ('delete', old.id, old.body); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER run_search_fts_delete")
        op.execute("DROP TRIGGER run_search_fts_insert")
        op.execute("DROP TABLE run_search_fts")
    op.drop_index('ix_run_search_run_list', table_name='run_search')
    op.drop_table('run_search')
