"""What every part of the store shares: its engine, its identity, and its transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine


class StoreBase:
    """The store behind one engine: write transactions and read-only connections.

    Every change happens inside :meth:`transaction`; reads use :meth:`read`. On SQLite a
    write transaction starts with ``BEGIN IMMEDIATE`` (see :mod:`.connect`).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store_id = ""  # set by open(): the identity every marker of this store carries

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction: committed when the block ends, rolled back on any error."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only connection (no write lock on SQLite)."""
        with self.engine.connect().execution_options(scf_read=True) as conn:
            yield conn
            conn.rollback()
