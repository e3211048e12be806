"""The store of a test: a fresh one per test, on SQLite or on the PostgreSQL that
``SCF_TEST_DATABASE_URL`` names (CI points it at a throwaway server)."""

from __future__ import annotations

import contextlib
import os
import secrets
import string
from pathlib import Path

DATABASE_ENV = "SCF_TEST_DATABASE_URL"


def fresh_database(folder: Path) -> str:
    """The database URL for a test's store: ``$SCF_TEST_DATABASE_URL`` with every table in it
    dropped first, else a new SQLite store in ``folder`` (:func:`fresh_sqlite`)."""
    url = os.environ.get(DATABASE_ENV)
    if not url:
        return fresh_sqlite(folder)
    from sqlalchemy import MetaData, create_engine

    engine = create_engine(url)
    with engine.begin() as conn:  # what the schema's migrations made too, not just its tables
        found = MetaData()
        found.reflect(conn)
        found.drop_all(conn)
    engine.dispose()
    return url


def fresh_sqlite(folder: Path) -> str:
    """A new, empty SQLite store at ``folder/scf.db`` (unless one is there) with an identity
    of its own: a copy of one made, and migrated to the head, once per process (migrating is
    most of what opening a new store costs)."""
    import shutil
    import sqlite3

    from ..store.tables import STORE_ID_KEY, meta

    path = folder / "scf.db"
    if path.exists():  # a store is there already: never copy over a file in use
        return f"sqlite:///{path}"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(_template(), path)  # with its owner-only mode
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            f"UPDATE {meta.name} SET value = ? WHERE key = ?",  # noqa: S608  (names of ours)
            (_new_store_id(), STORE_ID_KEY),
        )
    return f"sqlite:///{path}"


_templates: list[Path] = []


def _template() -> Path:
    """The process's template store (made on first use, removed at exit)."""
    if not _templates:
        import atexit
        import shutil
        import tempfile

        from ..store.store import Store

        folder = Path(tempfile.mkdtemp(prefix="scf-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        Store.open(f"sqlite:///{folder / 'scf.db'}").close()  # closing it checkpoints the WAL
        _templates.append(folder / "scf.db")
    return _templates[0]


def _new_store_id() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(8))
