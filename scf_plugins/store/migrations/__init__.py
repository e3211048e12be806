"""The store's schema history as Alembic revisions, run by :mod:`scf_plugins.store.migrate`.

Each file in ``versions/`` states the DDL of one step as it was written at the time
(``op.create_table``, ``op.add_column``, …), never today's tables: a store of any age replays
exactly what it missed. Revision ids are the schema version in four digits (``0001`` is
schema 1); ``scf_meta.schema_version`` is kept equal to the head, so an scf from before
Alembic refuses a newer store instead of using it.

Adding a revision: copy the newest file to ``rNNNN_<what>.py``, set ``revision`` to the next
number and ``down_revision`` to the previous, write its DDL by hand, change
:mod:`~scf_plugins.store.tables` to match and ``migrate.HEAD`` to the new id;
``tests/test_migrations.py`` fails until the chain ends equal to the tables. There are no
downgrades: rolling back is the copy of the store taken before an upgrade.
"""
