"""Bringing a store's schema to this scf's head revision: create, adopt, upgrade, or refuse.

A database is in one of these states (:func:`read_state`):

- **empty**: created at the head at once (today's tables, stamped with the head revision);
- **at the head**: used as it is. This is checked with one query and without importing
  Alembic, so that an ordinary start stays fast;
- **from before Alembic** (``scf_meta.schema_version`` N, no ``alembic_version`` table):
  stamped with the revision that equals schema N (``000N``; nothing is rebuilt), then upgraded;
- **at an older revision**: upgraded by the revisions in ``migrations/versions``;
- **at a revision this scf does not have** (a newer scf wrote it): refused.

Who may change the schema: a SQLite store is created or upgraded by any command that opens
it, a PostgreSQL store is created by any command but upgraded only by ``scf db upgrade``
(the operator backs it up with ``pg_dump`` first). Every change runs in one transaction
taken with a lock that a second worker waits on, so two workers starting together never run
the same upgrade: SQLite's write lock (``BEGIN IMMEDIATE``), or a PostgreSQL advisory lock.
Before a SQLite store is upgraded, a copy of it is written beside it (:mod:`.backup`).
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import string
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, column, select, table, text
from sqlalchemy.exc import SQLAlchemyError

from ..errors import ConfigError
from . import backup
from .connect import SQLITE_BUSY_MS, opened, sqlite_path
from .tables import STORE_ID_KEY, meta, metadata

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

HEAD = "0014"  # the newest revision in migrations/versions (a test checks they agree)
MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"  # Alembic's own table: the revision a database is at
LEGACY_KEY = "schema_version"  # the pre-Alembic version in scf_meta, kept equal to the head
SCHEMA_LOCK = 0x5CF_5C4E  # the PostgreSQL advisory lock every schema change is made under
UPGRADE_WAIT_MS = 600_000  # how long a SQLite worker waits for another's upgrade (and copy)
_version = table(VERSION_TABLE, column("version_num"))  # read without importing Alembic
# Alembic runs a command through module-wide proxies (``op``, ``context``): one at a time in a
# process, whatever stores its threads open.
_ALEMBIC = threading.Lock()


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands.

    :ivar revision: its Alembic revision (for a store from before Alembic, the revision its
        schema version equals); None when the database is empty.
    :ivar legacy: the store is from before Alembic (not yet stamped).
    """

    revision: str | None
    legacy: bool = False

    @property
    def empty(self) -> bool:
        """No schema yet: the first command creates it at the head."""
        return self.revision is None

    @property
    def at_head(self) -> bool:
        """Stamped with this scf's head revision: nothing to do."""
        return self.revision == HEAD and not self.legacy

    @property
    def behind(self) -> bool:
        """An existing store that is not at the head: revisions to run (or, from a newer
        scf, to refuse)."""
        return self.revision is not None and not self.at_head

    @property
    def newer(self) -> bool:
        """At a revision this scf does not have: a newer scf wrote it."""
        return self.revision is not None and self.revision not in known_revisions()

    def describe(self) -> str:
        """The state in a few words, for people."""
        if self.revision is None:
            return "empty (no schema yet)"
        if self.legacy:
            return f"schema revision {self.revision} (schema version {int(self.revision)})"
        return f"schema revision {self.revision}"


@dataclass(frozen=True)
class Upgrade:
    """What :func:`upgrade` did: the state it found, and the copy taken before (SQLite)."""

    before: SchemaState
    copy: Path | None = None


def legacy_revision(version: int) -> str:
    """The revision equal to pre-Alembic schema version ``version``."""
    return f"{version:04d}"


def read_state(conn: Connection) -> SchemaState:
    """The schema state of the database behind ``conn`` (plain SQL: Alembic is not imported).

    A database without ``scf_meta`` is empty whatever else it holds (a test that dropped the
    store's tables leaves Alembic's behind)."""
    if not conn.dialect.has_table(conn, meta.name):
        return SchemaState(None)
    if conn.dialect.has_table(conn, VERSION_TABLE):
        revision = conn.execute(select(_version.c.version_num)).scalar()
        return SchemaState(None if revision is None else str(revision))
    value = conn.execute(select(meta.c.value).where(meta.c.key == LEGACY_KEY)).scalar()
    if value is None:  # as before Alembic: tables without a version are a store never finished
        return SchemaState(None)
    return SchemaState(legacy_revision(int(value)), legacy=True)


def current(engine: Engine) -> SchemaState:
    """The schema state of ``engine``'s database, read without changing anything."""
    with engine.connect().execution_options(scf_read=True) as conn:
        state = read_state(conn)
        conn.rollback()
    return state


def status(url: str) -> SchemaState:
    """The schema state of the store at ``url``, changing nothing (``scf db current``): a
    SQLite file that does not exist yet is empty, and is not created.

    :raises ConfigError: when the database cannot be read.
    """
    path = sqlite_path(url)
    if path is not None and not os.path.exists(path):
        return SchemaState(None)
    with opened(url) as engine:
        return current(engine)


def upgrade_store(url: str) -> Upgrade:
    """Bring the store at ``url`` to the head (``scf db upgrade``; see :func:`upgrade`)."""
    with opened(url) as engine:
        return upgrade(engine)


def prepare(engine: Engine) -> None:
    """Make the database usable by this scf, as opening the store does: at the head already,
    created if empty, upgraded if it is a SQLite store.

    :raises ConfigError: when the database is newer than this scf, or is an older PostgreSQL
        store (``scf db upgrade`` upgrades it, after a ``pg_dump``).
    """
    state = current(engine)
    if state.at_head:
        return
    sqlite = engine.dialect.name == "sqlite"
    if not sqlite and state.behind:
        _refuse(state)
    _change(engine, upgrade_old=sqlite)


def upgrade(engine: Engine) -> Upgrade:
    """Bring the database to the head whatever its dialect (``scf db upgrade``).

    :raises ConfigError: when the database is newer than this scf.
    """
    return _change(engine, upgrade_old=True)


def drop_all(conn: Connection) -> None:
    """Drop every table of the store, Alembic's included (tests and benchmarks start afresh)."""
    metadata.drop_all(conn)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {VERSION_TABLE}")


@functools.cache
def known_revisions() -> frozenset[str]:
    """Every revision this scf has, oldest to newest."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    return frozenset(revision.revision for revision in script.walk_revisions())


def _refuse(state: SchemaState) -> None:
    """Refuse a database this scf may not upgrade now (a newer one, or an old PostgreSQL)."""
    if state.newer:
        raise ConfigError(
            f"the database is at {state.describe()}, newer than this scf ({HEAD}); "
            f"upgrade scf-plugins before using it"
        )
    raise ConfigError(
        f"the database is at {state.describe()}, this scf needs {HEAD}: back it up "
        f"(pg_dump), then run `scf db upgrade`"
    )


def _change(engine: Engine, *, upgrade_old: bool) -> Upgrade:
    """Create or upgrade the schema under the lock; a worker that waited finds it done."""
    with _locked(engine) as conn:
        state = read_state(conn)
        if state.at_head:
            return Upgrade(state)
        if state.newer or (state.behind and not upgrade_old):
            _refuse(state)
        copy = _copy_before(engine, state)
        try:
            _migrate(conn, state)
        except SQLAlchemyError as exc:  # the transaction is rolled back as this leaves it
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise ConfigError(
                f"the upgrade of the store from {state.describe()} to {HEAD} failed and was "
                f"undone ({type(exc).__name__}: {reason}); the store is as it was"
            ) from None
        _write_legacy_version(conn)
        _ensure_store_id(conn)
    return Upgrade(state, copy)


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A write transaction no other scf can be inside of while it lasts: SQLite's write lock
    (waited for longer than usual: another worker's upgrade may be copying a large store),
    or PostgreSQL's advisory lock, released at commit."""
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection if engine.dialect.name == "sqlite" else None
        if raw is not None:
            raw.execute(f"PRAGMA busy_timeout = {UPGRADE_WAIT_MS}")
        try:
            with conn.begin():  # on SQLite, BEGIN IMMEDIATE: the write lock
                if engine.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
                yield conn
        finally:
            if raw is not None:
                raw.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")


def _copy_before(engine: Engine, state: SchemaState) -> Path | None:
    """Copy a SQLite store beside itself before its schema changes, and say where."""
    path = sqlite_path(engine.url)
    if path is None or state.revision is None:
        return None  # nothing to lose: an empty store, or one in memory
    copy = backup.copy_beside(path, state.revision)
    log.warning(
        "upgrading the store %s from %s to %s; a copy of it from before is %s. To roll "
        "back: stop every scf process, put the copy back in place of %s (and delete %s-wal "
        "and %s-shm if they are there), then reinstall the previous scf release",
        path, state.describe(), HEAD, copy, path, path, path,
    )  # fmt: skip
    return copy


def _migrate(conn: Connection, state: SchemaState) -> None:
    """Run Alembic on ``conn``, inside its transaction."""
    from alembic import command

    config = alembic_config(conn)
    with _ALEMBIC:
        if state.revision is None:
            # Today's tables whole, as Alembic's guide builds a new database: the chain of
            # revisions ends equal to them (tests/test_migrations.py).
            metadata.create_all(conn)
            command.stamp(config, HEAD, purge=True)  # purge: whatever a dropped store left
            return
        if state.legacy:
            command.stamp(config, state.revision)  # adopt it as it is: nothing is rebuilt
        command.upgrade(config, HEAD)


def alembic_config(conn: Connection) -> Config:
    """Alembic's configuration: the scripts in this package, run on ``conn`` inside its
    transaction (no alembic.ini: ``migrations/env.py`` takes the connection from here)."""
    from alembic.config import Config

    config = Config(attributes={"connection": conn})
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    return config


def _write_legacy_version(conn: Connection) -> None:
    """Keep ``scf_meta.schema_version`` at the head's number: an scf from before Alembic
    reads it, and refuses a store newer than itself instead of using it."""
    version = str(int(HEAD))
    updated = conn.execute(meta.update().where(meta.c.key == LEGACY_KEY).values(value=version))
    if updated.rowcount == 0:
        conn.execute(meta.insert().values(key=LEGACY_KEY, value=version))


def _ensure_store_id(conn: Connection) -> None:
    """Give the store its random identity once; markers carry it, so two stores (a rebuilt
    database, a staging CRM) never claim each other's remote requests."""
    if conn.execute(select(meta.c.value).where(meta.c.key == STORE_ID_KEY)).scalar() is None:
        alphabet = string.ascii_lowercase + string.digits
        store_id = "".join(secrets.choice(alphabet) for _ in range(8))
        conn.execute(meta.insert().values(key=STORE_ID_KEY, value=store_id))
