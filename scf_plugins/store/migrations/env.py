"""Alembic's entry point when :mod:`scf_plugins.store.migrate` runs a command: it migrates on
the connection (and inside the transaction) the caller passes in ``config.attributes``."""

from alembic import context

from scf_plugins.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():  # a no-op: the caller's transaction is already open
    context.run_migrations()
