"""How a sleeping sync worker learns that another process stored work, without asking for it.

- **PostgreSQL**: triggers (:data:`TRIGGERS`, installed with the schema) send a ``NOTIFY`` on
  :data:`CHANNEL` in every transaction that stores work or makes it due again: a new issue,
  local comment, photo or notification; an issue, comment, photo or notification put back to
  be sent at once (a retry, a release, an edit, a resubmit, a worker giving back what it
  claimed); a circuit closed or its wait ended. The notice is delivered when the transaction
  commits, never if it rolls back, whichever code or process wrote it. Each worker listens on
  a connection of its own (:class:`Listener`, reconnecting when it drops).
- **SQLite**: one file, no notices. A worker keeps a connection and asks it
  ``PRAGMA data_version`` (:class:`Changes`), which moves whenever another connection, of any
  process, commits a change; it reads no table. Asked at each of the engine's ticks (every
  half second), that is at most how late a report stored by another process is seen.

:class:`Watch` is both, as a worker uses them.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine

from .connect import sqlite_path

log = logging.getLogger(__name__)

CHANNEL = "scf_work"
LISTEN_WAIT = 1.0  # seconds a listener waits for a notice before it looks whether to stop
RECONNECT_FIRST, RECONNECT_LONGEST = 1.0, 30.0  # seconds between a listener's reconnections

# The states that make work for a worker now. An UPDATE notifies only when it puts a row in
# its table's state (not at every write the workers make to rows already there, nor when a row
# only backs off); an INSERT always does, but for the messages the poll writes.
_ISSUE_DUE = (
    "{r}.status = 'open' AND {r}.remote_id IS NULL AND NOT {r}.held "
    "AND {r}.lease_owner IS NULL AND {r}.next_attempt_at IS NULL"
)
_PUSH_DUE = (
    "{r}.pushed_at IS NULL AND {r}.kept_here IS NULL AND {r}.lease_owner IS NULL "
    "AND {r}.next_attempt_at IS NULL"
)
_EMAIL_DUE = (
    "{r}.sent_at IS NULL AND {r}.skipped IS NULL AND {r}.uncertain_at IS NULL "
    "AND {r}.send_attempted_at IS NULL AND {r}.lease_owner IS NULL"
)


def _became(due: str, *, also: str = "") -> str:
    """``NEW`` is in the ``due`` state, and ``OLD`` was not (or ``also`` holds)."""
    new, old = due.format(r="NEW"), due.format(r="OLD")
    return f"({new}) AND (NOT ({old}){f' OR {also}' if also else ''})"


_FUNCTION = f"""CREATE OR REPLACE FUNCTION scf_work_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('{CHANNEL}', '');
  RETURN NULL;
END $$"""
# (table, event, WHEN condition); without a condition the trigger fires once per statement.
_WHEN: list[tuple[str, str, str | None]] = [
    ("issues", "INSERT", None),
    ("issues", "UPDATE", _became(_ISSUE_DUE)),
    ("comments", "INSERT", "NEW.kind = 'comment'"),
    ("comments", "UPDATE", f"NEW.kind = 'comment' AND {_became(_PUSH_DUE)}"),
    ("attachments", "INSERT", None),
    ("attachments", "UPDATE", f"NEW.purged_at IS NULL AND {_became(_PUSH_DUE)}"),
    ("notifications", "INSERT", None),
    ("notifications", "UPDATE", _became(_EMAIL_DUE, also="NEW.next_try_at < OLD.next_try_at")),
    ("circuits", "DELETE", None),
    ("circuits", "UPDATE", "NEW.probe_at < OLD.probe_at"),
]
TRIGGERS: list[str] = [
    _FUNCTION,
    *(
        f"CREATE TRIGGER scf_work_{table}_{event.lower()} AFTER {event} ON {table} "
        + (f"FOR EACH ROW WHEN ({when}) " if when else "FOR EACH STATEMENT ")
        + "EXECUTE FUNCTION scf_work_notify()"
        for table, event, when in _WHEN
    ),
]
DROP = "DROP FUNCTION IF EXISTS scf_work_notify() CASCADE"  # its triggers go with it


def install(_target: object, conn: Connection, **_kw: object) -> None:
    """Create the function and its triggers on a PostgreSQL store (nothing elsewhere); run
    after the tables are created."""
    if conn.dialect.name == "postgresql":
        for statement in TRIGGERS:
            conn.exec_driver_sql(statement)


def uninstall(_target: object, conn: Connection, **_kw: object) -> None:
    """Drop the function (its triggers went with their tables); run after they are dropped."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(DROP)


class Changes:
    """Whether another connection committed to a SQLite store since the last look, from
    ``PRAGMA data_version`` on a connection kept for it (opened on the first look, by the thread
    that looks)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._version: int | None = None

    def look(self) -> bool:
        """True when the store changed since the last look (and on the first, and after a
        failed look: the caller then looks at the store itself)."""
        try:
            if self._conn is None:
                self._conn = sqlite3.connect(self.path, check_same_thread=False)
            version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            self.close()
            return True
        changed, self._version = version != self._version, version
        return changed

    def close(self) -> None:
        """Close the connection kept for looking."""
        if self._conn is not None:
            self._conn.close()
        self._conn, self._version = None, None


def changes(engine: Engine) -> Changes | None:
    """A :class:`Changes` for a SQLite file store; None for any other (an in-memory SQLite
    store has no other connection to hear from; PostgreSQL has :class:`Listener`)."""
    path = sqlite_path(engine.url)
    return Changes(path) if path is not None else None


class Listener:
    """``LISTEN`` on :data:`CHANNEL` on a connection of its own, in a thread, calling
    ``on_work`` for each notice until ``stop`` is set. A dropped connection is said once and
    made again (waiting longer each time, up to ``RECONNECT_LONGEST``); ``on_work`` is called
    after each (re)connection too, for what was stored while nobody listened."""

    def __init__(self, engine: Engine, on_work: Callable[[], None], stop: threading.Event) -> None:
        self.engine = engine
        self.on_work = on_work
        self.stop = stop
        self.listening = threading.Event()  # set while LISTEN is in place (tests wait on it)
        self.thread = threading.Thread(target=self._run, name="listen", daemon=True)

    def start(self) -> Listener:
        """Start listening (in the thread)."""
        self.thread.start()
        return self

    def _run(self) -> None:
        wait, failing = RECONNECT_FIRST, False
        while not self.stop.is_set():
            conn: Any = None
            try:
                conn = self._connect()
                if failing:
                    log.warning("listening for new work again", extra={"event": "listen-back"})
                wait, failing = RECONNECT_FIRST, False
                self.listening.set()
                self.on_work()
                while not self.stop.is_set():
                    for _ in conn.notifies(timeout=LISTEN_WAIT, stop_after=1):
                        self.on_work()
            except Exception as exc:  # the database went away: listen again later
                self.listening.clear()
                if not failing:
                    log.warning(
                        "not listening for new work (%s: %s); the store is asked for it "
                        "every half second until the listener reconnects",
                        type(exc).__name__,
                        str(exc).splitlines()[0] if str(exc) else "",
                        extra={"event": "listen-lost"},
                    )
                failing = True
                self.stop.wait(wait)
                wait = min(2 * wait, RECONNECT_LONGEST)
            finally:
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:  # closing a broken connection: nothing to save
                        log.debug("closing the listening connection failed", exc_info=True)
        self.listening.clear()

    def _connect(self) -> Any:
        """A psycopg connection of the store's engine, out of its pool, listening."""
        pooled = self.engine.raw_connection()
        conn: Any = pooled.driver_connection
        pooled.detach()  # kept for listening: not the pool's to hand out or to reset
        conn.autocommit = True
        conn.execute(f"LISTEN {CHANNEL}")
        return conn


def listener(engine: Engine, on_work: Callable[[], None], stop: threading.Event) -> Listener | None:
    """A started :class:`Listener` for a PostgreSQL store through psycopg 3; None for any
    other."""
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return None
    return Listener(engine, on_work, stop).start()


class Watch:
    """What tells a sleeping worker that the store may hold new work: the listener of a
    PostgreSQL store (it calls ``on_work``), and :meth:`look`, asked at each tick."""

    def __init__(self, engine: Engine, on_work: Callable[[], None], stop: threading.Event) -> None:
        self.changes = changes(engine)
        self.listener = listener(engine, on_work, stop)

    def look(self) -> bool:
        """Whether to ask the store again now: SQLite's data_version moved; a PostgreSQL
        listener is not listening (until it reconnects); always, for an in-memory store."""
        if self.changes is not None:
            return self.changes.look()
        if self.listener is not None:
            return not self.listener.listening.is_set()
        return True

    def close(self) -> None:
        """Close the SQLite connection kept for looking; let the listener end (it stops with
        ``stop``, within :data:`LISTEN_WAIT`)."""
        if self.changes is not None:
            self.changes.close()
        if self.listener is not None:
            self.listener.thread.join(LISTEN_WAIT + 1)
