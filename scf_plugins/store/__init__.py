"""The store: the database every worker shares, and the only code that writes it directly.

- :mod:`.tables`: the tables (the schema at the head revision);
- :mod:`.store`: :class:`~.store.Store`, the API, put together from :mod:`.base`
  (transactions), :mod:`.request_types`, :mod:`.reads`, :mod:`.writes` and :mod:`.photos`,
  with :mod:`.rows` turning rows into the host's models;
- :mod:`.links`: links between issues and remote requests, and their markers;
- :mod:`.meta_secrets`: the store's own random keys in ``scf_meta``, made on first use;
- :mod:`.connect`: the engine, and SQLite's set-up (locks, WAL, owner-only files);
- :mod:`.migrate`: bringing a database to the head revision (Alembic scripts in
  ``migrations/``), under a lock, after a copy (:mod:`.backup`) on SQLite.

May import the host's contract (models, errors) and ``intake`` values; nothing that runs a
pass or serves HTTP.
"""
