"""What every part of the store shares: its engine, its identity, and its transactions."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from .connect import SQLITE_BUSY_MS


class StoreBase:
    """The store behind one engine: write transactions and read-only connections.

    Every change happens inside :meth:`transaction`; reads use :meth:`read`. On SQLite a
    write transaction starts with ``BEGIN IMMEDIATE`` (see :mod:`.connect`), and this
    process's write transactions on one database file take turns on a lock first
    (:func:`writer_lock`).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store_id = ""  # set by open(): the identity every marker of this store carries
        self._writer = writer_lock(engine)

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction: committed when the block ends, rolled back on any error."""
        writer = self._writer
        if writer is None:
            with self.engine.begin() as conn:
                yield conn
            return
        # Past SQLite's own wait the lock is not waited for any more: BEGIN IMMEDIATE then
        # waits and fails as it did without it, so a write never hangs on this lock alone.
        held = writer.acquire(timeout=SQLITE_BUSY_MS / 1000)
        try:
            with self.engine.begin() as conn:
                yield conn
        finally:
            if held:
                writer.release()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only connection (no write lock on SQLite)."""
        with self.engine.connect().execution_options(scf_read=True) as conn:
            yield conn
            conn.rollback()


_WRITERS: dict[str, threading.RLock] = {}
_WRITERS_LOCK = threading.Lock()


def writer_lock(engine: Engine) -> threading.RLock | None:
    """The lock this process's write transactions on ``engine``'s SQLite file take in turn
    (None on another database, where writers run concurrently).

    SQLite lets one connection write at a time; the others wait in its busy handler, which
    polls with growing sleeps (up to 100 ms), so under a burst of reports a thread could
    wait far longer than the writes before it took. Queued on a lock, each is woken as soon
    as the one before commits. Shared by every store on the same file in the process; an
    ``RLock``, so a thread's nested transaction meets SQLite's lock, as it did before.
    """
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database or ""
    key = (
        os.path.realpath(database)
        if database not in ("", ":memory:") and not database.startswith("file:")
        else f"{database}@{id(engine)}"
    )
    with _WRITERS_LOCK:
        return _WRITERS.setdefault(key, threading.RLock())
