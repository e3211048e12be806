"""Connecting to the store's database: the SQLAlchemy engine and, on SQLite, its set-up.

On SQLite every connection waits for the write lock instead of failing (``busy_timeout``),
enforces foreign keys, and uses WAL; a write transaction starts with ``BEGIN IMMEDIATE`` so
that concurrent sync processes queue for the write lock instead of failing half way, and a
read (``scf_read`` execution option) takes none. A new SQLite file is readable by its owner
only: it holds reporters' emails and private answers.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from ..errors import ConfigError

SQLITE_BUSY_MS = 30_000


def connect(url: str) -> Engine:
    """An engine for ``url``, set up as the store needs it (nothing is read or created yet,
    beyond an empty owner-only file for a new SQLite store).

    :raises ConfigError: when the URL or its driver cannot be used.
    """
    try:
        engine = create_engine(url, **_pool_options(url))
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise ConfigError(
            f"cannot use database {safe_url(url)} ({type(exc).__name__}); check "
            f"organization.database (and install the driver for its dialect)"
        ) from None
    if engine.dialect.name == "sqlite":
        _create_owner_only(engine.url.database)
        _configure_sqlite(engine)
    return engine


# Connections kept open on a SQLite file: as many as the door's threads read with at once
# under a burst, so none is opened (and set up) for one request and closed after it.
SQLITE_POOL = 20


def _pool_options(url: str) -> dict[str, Any]:
    """The pool's size for a SQLite file (SQLAlchemy's own otherwise)."""
    return {"pool_size": SQLITE_POOL} if sqlite_path(url) is not None else {}


@contextmanager
def opened(url: str) -> Iterator[Engine]:
    """An engine for ``url`` for the length of a block (a command's), disposed after it; a
    database error inside the block becomes one :class:`ConfigError` line."""
    engine = connect(url)
    try:
        yield engine
    except SQLAlchemyError as exc:
        raise database_error(url, exc) from None
    finally:
        engine.dispose()


def database_error(url: str, exc: SQLAlchemyError) -> ConfigError:
    """The one line that says a database could not be opened, and where to look."""
    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    return ConfigError(
        f"cannot open database {safe_url(url)} ({type(exc).__name__}: {reason}); "
        f"check organization.database and that its folder is writable"
    )


def sqlite_path(url: str | URL) -> str | None:
    """The file of a SQLite store's URL; None for another dialect, an in-memory database, a
    ``file:`` URI (its options are not ours to parse) or a URL that does not parse."""
    try:
        parsed = make_url(url)
    except Exception:
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or database in (None, "", ":memory:"):
        return None
    return None if database.startswith("file:") else database


def safe_url(url: str) -> str:
    """``url`` with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable URL)"


def readable_by_others(url: str) -> str | None:
    """The SQLite file of ``url`` when others may read it (or its WAL/SHM files), else None."""
    database = sqlite_path(url)
    if database is None:
        return None
    for path in (database, f"{database}-wal", f"{database}-shm"):
        try:
            if os.stat(path).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                return path
        except OSError:
            continue
    return None


def _create_owner_only(database: str | None) -> None:
    """Create a new SQLite file readable by its owner only. SQLite gives its WAL and
    shared-memory files the same mode."""
    if database in (None, "", ":memory:") or database.startswith("file:"):
        return
    try:
        fd = os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError:
        return  # a missing folder is reported by the open that follows, in one line
    os.close(fd)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get("scf_read", False)
        statement = "BEGIN" if read_only else "BEGIN IMMEDIATE"
        # On the driver's connection: through SQLAlchemy it costs more than the BEGIN itself,
        # and every transaction and read begins this way. Its error is SQLAlchemy's, as if
        # SQLAlchemy had run it (a lock not had within busy_timeout: OperationalError).
        try:
            conn.connection.dbapi_connection.execute(statement)  # type: ignore[union-attr]
        except sqlite3.Error as exc:
            raise DBAPIError.instance(statement, (), exc, sqlite3.Error) from None
