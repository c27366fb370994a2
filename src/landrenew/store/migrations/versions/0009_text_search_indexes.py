"""search indexes: parcel codes and BSM, firm USCCs and names by character bigrams; a parcel by BSM
and its case

Searching "contains" over 1,000,000 parcels and firm-years scanned the tables (2–3.5 s). The text
index ``name_search`` (``landrenew.store.textindex``) holds their searched text and its character
bigrams (``landrenew.bigrams``: a two-character firm name is a common search and too short for
trigrams), indexed by FTS5 on SQLite (external content; triggers drop the entries of deleted rows)
and by a GIN tsvector index on PostgreSQL; it is filled here and refreshed after every load.
Looking a parcel up by BSM and a single parcel's recommended case (by its key) scanned tables of
1,000,000 and 130,000 rows: plain indexes now.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 08:10:00
"""
import sqlalchemy as sa
from alembic import op

from landrenew.store import textindex

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_parcel_bsm", "parcel", ["bsm"])
    op.create_index("ix_run_case_keys", "run_case", ["run_id", "parcel_keys"])
    op.create_table(
        'name_search',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('ref', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('tokens', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index("ix_name_search_kind_ref", "name_search", ["kind", "ref"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_name_search_tokens ON name_search USING gin (to_tsvector('simple', tokens))")
    else:
        op.execute("CREATE VIRTUAL TABLE name_search_fts USING fts5(tokens, content='name_search', "
                   "content_rowid='id', tokenize='unicode61')")
        op.execute("""CREATE TRIGGER name_search_fts_delete AFTER DELETE ON name_search BEGIN
            INSERT INTO name_search_fts(name_search_fts, rowid, tokens) VALUES ('delete', old.id, old.tokens); END""")
        for kind, (t, _) in textindex.SOURCES.items():
            op.execute(f"""CREATE TRIGGER {t}_name_search_delete AFTER DELETE ON {t} BEGIN
                DELETE FROM name_search WHERE kind = '{kind}' AND ref = old.id; END""")
    textindex.refresh(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for _, (t, _) in textindex.SOURCES.items():
            op.execute(f"DROP TRIGGER {t}_name_search_delete")
        op.execute("DROP TRIGGER name_search_fts_delete")
        op.execute("DROP TABLE name_search_fts")
    op.drop_index("ix_name_search_kind_ref", table_name="name_search")
    op.drop_table("name_search")
    op.drop_index("ix_run_case_keys", table_name="run_case")
    op.drop_index("ix_parcel_bsm", table_name="parcel")
