"""Alembic environment: the engine comes from landrenew.store.migrate (or a -x url=… option)."""

from alembic import context
from sqlalchemy import create_engine

from landrenew.store.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    engine = create_engine(context.get_x_argument(as_dictionary=True)["url"])

with engine.begin() as connection:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
    else:  # pysqlite runs DDL outside any transaction: open one, so a failing upgrade changes nothing
        connection.exec_driver_sql("BEGIN")
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
