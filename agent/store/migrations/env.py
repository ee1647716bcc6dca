"""Alembic's environment: always run on a connection handed over by agent.store.migrate, inside
its transaction (so a failed upgrade leaves the store as it was, on SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic import context

from agent.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
with context.begin_transaction():
    context.run_migrations()
