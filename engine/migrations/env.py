"""Alembic environment: runs against the connection handed over by engine.schema."""

from alembic import context

from engine import models  # noqa: F401  (registers the tables on Base.metadata)
from engine.db import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
