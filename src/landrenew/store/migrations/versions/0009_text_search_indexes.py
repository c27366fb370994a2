"""search indexes: text search of parcel codes and BSM, firm USCCs and names; a parcel by BSM and its case

Looking a parcel up by BSM and a single parcel's recommended case (by its key) scanned tables of
1,000,000 and 130,000 rows: plain indexes now.

Searching "contains" over 1,000,000 parcels scans the table (about 2 s). On SQLite an FTS5 index
with the trigram tokenizer per table (external content, kept by triggers) answers substrings of
three characters or more; on PostgreSQL trigram GIN indexes (pg_trgm) serve ILIKE directly.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 08:10:00
"""
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

#: table -> the text columns searched
INDEXED = {"parcel": ("parcel_code", "bsm"), "firm_year": ("uscc", "name")}


def upgrade() -> None:
    op.create_index("ix_parcel_bsm", "parcel", ["bsm"])
    op.create_index("ix_run_case_keys", "run_case", ["run_id", "parcel_keys"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for t, cols in INDEXED.items():
            for c in cols:
                op.execute(f"CREATE INDEX ix_{t}_{c}_trgm ON {t} USING gin ({c} gin_trgm_ops)")
        return
    for t, cols in INDEXED.items():
        names = ", ".join(cols)
        new = ", ".join(f"new.{c}" for c in cols)
        old = ", ".join(f"old.{c}" for c in cols)
        op.execute(f"CREATE VIRTUAL TABLE {t}_fts USING fts5({names}, content='{t}', content_rowid='id', "
                   "tokenize='trigram')")
        op.execute(f"INSERT INTO {t}_fts({t}_fts) VALUES ('rebuild')")
        op.execute(f"""CREATE TRIGGER {t}_fts_insert AFTER INSERT ON {t} BEGIN
            INSERT INTO {t}_fts(rowid, {names}) VALUES (new.id, {new}); END""")
        op.execute(f"""CREATE TRIGGER {t}_fts_delete AFTER DELETE ON {t} BEGIN
            INSERT INTO {t}_fts({t}_fts, rowid, {names}) VALUES ('delete', old.id, {old}); END""")
        op.execute(f"""CREATE TRIGGER {t}_fts_update AFTER UPDATE OF {names} ON {t} BEGIN
            INSERT INTO {t}_fts({t}_fts, rowid, {names}) VALUES ('delete', old.id, {old});
            INSERT INTO {t}_fts(rowid, {names}) VALUES (new.id, {new}); END""")


def downgrade() -> None:
    op.drop_index("ix_run_case_keys", table_name="run_case")
    op.drop_index("ix_parcel_bsm", table_name="parcel")
    if op.get_bind().dialect.name == "postgresql":
        for t, cols in INDEXED.items():
            for c in cols:
                op.execute(f"DROP INDEX ix_{t}_{c}_trgm")
        return
    for t in INDEXED:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER {t}_fts_{event}")
        op.execute(f"DROP TABLE {t}_fts")
