"""parcel codes and BSM searched by trigrams on the parcel table itself

The map's search by part of a parcel code or BSM went through ``name_search``: a row per parcel
with the bigrams of its code and BSM, computed in Python at every load (15 s of a
1,000,000-parcel load) and slow to search (digit bigrams such as "00" have posting lists of a
million entries: 60–170 ms). Parcel codes are never searched by two characters, so trigrams
serve: on SQLite an FTS5 table with the trigram tokenizer over ``parcel.parcel_code`` and
``parcel.bsm`` (external content, kept by triggers; a bulk insert fills it in one statement,
``store.bulk``), on PostgreSQL ``pg_trgm`` GIN indexes on the two columns. ``name_search``
keeps the firms (their two-character names need bigrams).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 13:00:00
"""
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

FTS = "parcel_code_fts"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.execute("DELETE FROM name_search WHERE kind = 'parcel'")
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_parcel_code_trgm ON parcel USING gin (parcel_code gin_trgm_ops)")
        op.execute("CREATE INDEX ix_parcel_bsm_trgm ON parcel USING gin (bsm gin_trgm_ops)")
        return
    # the parcels' entries leave name_search and its FTS table at once, not entry by entry
    op.execute("DROP TRIGGER IF EXISTS parcel_name_search_delete")
    op.execute("DROP TRIGGER name_search_fts_delete")
    op.execute("DELETE FROM name_search WHERE kind = 'parcel'")
    op.execute("INSERT INTO name_search_fts(name_search_fts) VALUES ('rebuild')")
    op.execute("""CREATE TRIGGER name_search_fts_delete AFTER DELETE ON name_search BEGIN
        INSERT INTO name_search_fts(name_search_fts, rowid, tokens) VALUES ('delete', old.id, old.tokens); END""")
    op.execute(f"CREATE VIRTUAL TABLE {FTS} USING fts5(parcel_code, bsm, content='parcel', content_rowid='id', "
               "tokenize='trigram case_sensitive 0')")
    op.execute(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")
    op.execute(f"""CREATE TRIGGER {FTS}_insert AFTER INSERT ON parcel BEGIN
        INSERT INTO {FTS}(rowid, parcel_code, bsm) VALUES (new.id, new.parcel_code, new.bsm); END""")
    op.execute(f"""CREATE TRIGGER {FTS}_delete AFTER DELETE ON parcel BEGIN
        INSERT INTO {FTS}({FTS}, rowid, parcel_code, bsm) VALUES ('delete', old.id, old.parcel_code, old.bsm); END""")
    op.execute(f"""CREATE TRIGGER {FTS}_update AFTER UPDATE OF id, parcel_code, bsm ON parcel BEGIN
        INSERT INTO {FTS}({FTS}, rowid, parcel_code, bsm) VALUES ('delete', old.id, old.parcel_code, old.bsm);
        INSERT INTO {FTS}(rowid, parcel_code, bsm) VALUES (new.id, new.parcel_code, new.bsm); END""")


def downgrade() -> None:
    from landrenew.store import textindex

    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.execute("DROP INDEX ix_parcel_bsm_trgm")
        op.execute("DROP INDEX ix_parcel_code_trgm")
    else:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER {FTS}_{event}")
        op.execute(f"DROP TABLE {FTS}")
        op.execute("""CREATE TRIGGER parcel_name_search_delete AFTER DELETE ON parcel BEGIN
            DELETE FROM name_search WHERE kind = 'parcel' AND ref = old.id; END""")
    textindex.write_texts(bind, textindex.NS, "name_search_fts",
                          bind.exec_driver_sql("SELECT id, parcel_code, bsm FROM parcel").all(), kind="parcel")
