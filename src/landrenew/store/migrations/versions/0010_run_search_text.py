"""the lists' text search: the searchable text of each list row of a run, indexed by bigrams

Searching a list of 300,000 rows for a substring scanned and joined every row (1–5 s at 1,000,000
parcels). ``run_search`` holds each row's searched columns in one text and its character bigrams
(``landrenew.bigrams``: two-character Chinese words are the common search, too short for trigrams);
the bigrams are indexed by FTS5 (``unicode61``, external content: a run's rows are added in one
statement by ``lists.index_run_text``, four times faster than a trigger per row; a trigger removes
them with their run) on SQLite and by
a GIN index on ``to_tsvector('simple', tokens)`` on PostgreSQL. Runs are indexed when they are
stored (``lists.index_run_text``); runs made before this migration when the server warms up.

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
        sa.Column('tokens', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['analysis_run.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_run_search_run_list', 'run_search', ['run_id', 'list'])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_run_search_tokens ON run_search USING gin (to_tsvector('simple', tokens))")
        return
    op.execute("CREATE VIRTUAL TABLE run_search_fts USING fts5(tokens, content='run_search', content_rowid='id', "
               "tokenize='unicode61')")
    op.execute("""CREATE TRIGGER run_search_fts_delete AFTER DELETE ON run_search BEGIN
        INSERT INTO run_search_fts(run_search_fts, rowid, tokens) VALUES ('delete', old.id, old.tokens); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER run_search_fts_delete")
        op.execute("DROP TABLE run_search_fts")
    op.drop_index('ix_run_search_run_list', table_name='run_search')
    op.drop_table('run_search')
