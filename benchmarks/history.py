"""A store with years of history for the "cost follows the work" rows of ``make bench``.

:func:`stored` builds a SQLite store of N issues, almost all of them history, around the same
live work and the same recent past whatever N is, so that what grows with N is only the years
of history before (as a city's store grows, year after year):

- the last 120 days: 4,000 issues archived and 300 closed within the archiving window;
- the years before: the rest, archived (N - 6,850: 3,150 of 10,000, 993,150 of 1,000,000);

- 2,000 Acknowledged issues linked to the emulator's requests (polled by every pass, nothing
  new on them), 50 of them waiting for a person;
- 300 Open issues failing, each backing off until tomorrow (100 of them leased by a worker
  elsewhere, 200 by a worker on this machine that is gone), 100 held for their address and
  50 pending under a token: nothing is due in an idle pass;
- 100 Open failing issues leased by the measuring worker itself (what its heartbeat renews).

History has what a city's store keeps: a system message and a remote closing comment per
issue, a pushed staff comment on one in twenty, a photo on one in twenty (its bytes purged 90
days after archiving), an email to the reporter of one in two (sent; contact details purged a
year after archiving). Rows are made by SQLite itself (``INSERT … SELECT`` from a recursive
CTE), so a million issues take seconds rather than the minutes of a million inserts from
Python. A built store is kept in the run's cache folder and reused by every phase of that size.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

ACKNOWLEDGED = 2_000
ATTENTION = 50  # of the acknowledged
FAILING = 300
FAILING_ELSEWHERE = 100  # of the failing: leased by a live worker on another machine
FAILING_DEAD = 200  # of the failing: leased by a dead worker on this machine
HELD = 100
PENDING = 50
MINE = 100  # leased by the measuring worker (renewed by its heartbeat)
ACTIVE = ACKNOWLEDGED + FAILING + HELD + PENDING + MINE
RECENT = 4_000  # archived in the last 120 days: the same in every store
CLOSED = 300  # closed within the archiving window, not archived yet
YEARS = 5  # history spans this long before now
BUILD = 3  # bump when the layout changes: a cached store of another layout is not reused
ENDPOINT = "http://127.0.0.1/cityworks/services/ams"  # history's; live links get the run's
MEASURING_WORKER = "bench:measuring:1:000000"
OTHER_WORKER = "elsewhere:0b0e0f00:4242:abcdef"
DEAD_PID = 4_194_304 + 1  # above Linux's pid_max: never a live process


def dead_worker() -> str:
    """An owner on this machine whose process is gone (its leases are taken over at once)."""
    from scf_plugins.engine.leases import machine_id

    return f"{machine_id()}:{DEAD_PID}:dead00"


def stored(cache: Path, n: int) -> Path:
    """The path of a built store of ``n`` issues in ``cache`` (built there when missing).

    Built under a temporary name and renamed when complete, so an interrupted build is never
    taken for a store."""
    from scf_plugins.store.migrate import HEAD

    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"history-{n}-r{HEAD}-b{BUILD}.db"
    if not path.exists():
        partial = path.with_suffix(".building")
        for leftover in cache.glob(partial.name + "*"):
            leftover.unlink()
        build(partial, n)
        partial.rename(path)
    return path


def build(path: Path, n: int) -> None:
    """Create the store (this scf's schema) and fill it: ``n`` issues in all."""
    from scf_plugins.store.store import Store
    from scf_plugins.timeutil import utcnow

    if n < ACTIVE + RECENT + CLOSED + 1_000:
        raise ValueError(f"a history store needs over {ACTIVE + RECENT + CLOSED + 1_000:,} issues")
    store = Store.open(f"sqlite:///{path}")
    store_id = store.store_id
    store.engine.dispose()
    now = utcnow().replace(tzinfo=None, microsecond=0)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = OFF")  # a bench store: rebuilt if a crash spoils it
        db.execute("PRAGMA cache_size = -262144")
        db.execute("BEGIN")
        _history(db, n - ACTIVE, now, store_id)
        _active(db, n - ACTIVE, now)
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S")  # naive UTC, as the store keeps it


def _history(db: sqlite3.Connection, count: int, now: datetime, store_id: str) -> None:
    """Issues 1..count, oldest first, with their comments, photos and emails: the years
    before the last 120 days, archived (what differs between sizes); then the last 120 days,
    the same in every store: :data:`RECENT` issues archived, then :data:`CLOSED` closed within
    the archiving window."""
    old = count - RECENT - CLOSED
    # Created evenly over each span, closed 3 days after, archived 14 days after that
    # (archive_after_days); contact details purged a year after archiving.
    _issues(db, 1, old, now - timedelta(days=YEARS * 365), now - timedelta(days=120),
            now, store_id, archived=True)  # fmt: skip
    _issues(db, old + 1, old + RECENT, now - timedelta(days=120), now - timedelta(days=20),
            now, store_id, archived=True)  # fmt: skip
    # Closed: created 4 to 13 days ago, closed 3 days after: not due for archiving yet.
    _issues(db, old + RECENT + 1, count, now - timedelta(days=13), now - timedelta(days=4),
            now, store_id, archived=False)  # fmt: skip
    params = {"count": count, "now": _stamp(now)}
    # Comments: the acknowledgement (system), the closing (remote), a staff comment pushed.
    db.execute(
        """
        INSERT INTO comments (issue_id, author, text, kind, created_at, remote_id, remote_key,
                              pushed_at, push_attempted, push_attempted_at, attempts)
        SELECT id, 'SCF', 'Thank you. Your request ' || remote_id || ' was received.',
               'system', acknowledged_at, NULL, NULL, NULL, 0, NULL, 0
        FROM issues WHERE id <= :count ORDER BY id
        """,
        params,
    )
    db.execute(
        """
        INSERT INTO comments (issue_id, author, text, kind, created_at, remote_id, remote_key,
                              pushed_at, push_attempted, push_attempted_at, attempts)
        SELECT id, 'Public Works', 'Filled and rolled.', 'remote', closed_at,
               'c' || id, 'cityworks:' || remote_id || ':c' || id, NULL, 0, NULL, 0
        FROM issues WHERE id <= :count ORDER BY id
        """,
        params,
    )
    db.execute(
        """
        INSERT INTO comments (issue_id, author, text, kind, created_at, remote_id, remote_key,
                              pushed_at, push_attempted, push_attempted_at, attempts)
        SELECT id, 'staff', 'Crew sent.', 'comment', datetime(acknowledged_at, '+1 hour'),
               'p' || id, NULL, datetime(acknowledged_at, '+1 hour'), 1,
               datetime(acknowledged_at, '+1 hour'), 1
        FROM issues WHERE id <= :count AND id % 20 = 3 ORDER BY id
        """,
        params,
    )
    # The reporter's email about the closing, sent.
    db.execute(
        """
        INSERT INTO notifications (issue_id, comment_id, kind, created_at, next_try_at,
                                   attempts, send_attempted_at, sent_at)
        SELECT c.issue_id, c.id, 'closed', c.created_at, c.created_at, 1, c.created_at,
               c.created_at
        FROM comments AS c
        WHERE c.kind = 'remote' AND c.issue_id % 2 = 0 ORDER BY c.id
        """
    )
    # Photos on one issue in twenty: pushed; bytes purged 90 days after archiving.
    db.execute(
        """
        INSERT INTO attachments (issue_id, filename, content_type, size, width, height,
                                 path_token, created_at, remote_id, pushed_at, push_attempted,
                                 push_attempted_at, attempts, purged_at)
        SELECT id, 'photo.jpg', 'image/jpeg', 350000, 1600, 1200, 'h' || id, created_at,
               'a' || id, acknowledged_at, 1, acknowledged_at, 1,
               CASE WHEN archived_at < datetime(:now, '-90 days')
                    THEN datetime(archived_at, '+90 days') END
        FROM issues WHERE id <= :count AND id % 20 = 7 ORDER BY id
        """,
        params,
    )
    db.execute(
        """
        INSERT INTO attachment_contents (attachment_id, content)
        SELECT id, zeroblob(64) FROM attachments WHERE purged_at IS NULL ORDER BY id
        """
    )


def _issues(
    db: sqlite3.Connection,
    first: int,
    last: int,
    start: datetime,
    end: datetime,
    now: datetime,
    store_id: str,
    *,
    archived: bool,
) -> None:
    """Issues ``first``..``last`` created evenly from ``start`` to ``end``, closed 3 days
    after, and (``archived``) archived 14 days after that, their contact details purged if
    that was over a year ago."""
    db.execute(
        """
        WITH RECURSIVE seq(i) AS (SELECT :first UNION ALL SELECT i + 1 FROM seq WHERE i < :last),
        created AS (
            SELECT i, datetime(:start, '+' || CAST((i - :first) * :step AS INTEGER) || ' seconds')
                AS created
            FROM seq
        ),
        archived AS (
            SELECT i, created, datetime(created, '+3 days') AS closed,
                   CASE WHEN :archived THEN datetime(created, '+17 days') END AS archived
            FROM created
        ),
        dated AS (
            SELECT *, CASE WHEN archived < :contact_before THEN datetime(archived, '+365 days')
                      END AS purged
            FROM archived
        )
        INSERT INTO issues (
            id, request_type, integration, status, summary, description, lat, lng, address,
            reporter_name, reporter_email, type_ref, remote_id, remote_status, created_at,
            updated_at, acknowledged_at, closed_at, archived_at, attempts, submit_attempted,
            held, marker, generation, link_environment, link_endpoint, reported_via,
            submit_attempted_at, notify_off, contact_purged_at)
        SELECT i, 'POTHOLE', 'cityworks', :status, 'Pothole ' || i, 'Deep, by the curb.',
            41.3 + (i % 1000) / 100000.0, -72.9 - (i % 777) / 100000.0, i || ' Main St',
            CASE WHEN i % 2 = 0 AND purged IS NULL THEN 'Resident ' || i END,
            CASE WHEN i % 2 = 0 AND purged IS NULL THEN 'r' || i || '@example.org' END,
            '101', CAST(i AS TEXT), 'CLOSED', created, coalesce(archived, closed),
            datetime(created, '+60 seconds'), closed, archived, 0, 1, 0,
            'scf-' || :store || '-' || i || '-1', 1, 'test', :endpoint,
            CASE WHEN i % 10 = 0 THEN 'app' END, created, 0, purged
        FROM dated ORDER BY i
        """,
        {
            "first": first,
            "last": last,
            "start": _stamp(start),
            "step": (end - start).total_seconds() / max(1, last - first + 1),
            "archived": archived,
            "status": "archived" if archived else "closed",
            "store": store_id,
            "endpoint": ENDPOINT,
            "contact_before": _stamp(now - timedelta(days=365)),
        },
    )


_ACTIVE_COLUMNS = (
    "id", "request_type", "integration", "status", "summary", "description", "lat", "lng",
    "reporter_name", "reporter_email", "type_ref", "created_at", "updated_at", "attempts",
    "submit_attempted", "held", "generation", "notify_off", "remote_id", "remote_status",
    "acknowledged_at", "marker", "link_environment", "link_endpoint", "submit_attempted_at",
    "attention", "attention_kind", "last_error", "last_error_kind", "next_attempt_at",
    "lease_owner", "lease_until", "pending_token", "pending_since",
)  # fmt: skip
_INSERT_ACTIVE = """
    INSERT INTO issues (
        id, request_type, integration, status, summary, description, lat, lng, reporter_name,
        reporter_email, type_ref, created_at, updated_at, attempts, submit_attempted, held,
        generation, notify_off, remote_id, remote_status, acknowledged_at, marker,
        link_environment, link_endpoint, submit_attempted_at, attention, attention_kind,
        last_error, last_error_kind, next_attempt_at, lease_owner, lease_until, pending_token,
        pending_since)
    VALUES (
        :id, :request_type, :integration, :status, :summary, :description, :lat, :lng,
        :reporter_name, :reporter_email, :type_ref, :created_at, :updated_at, :attempts,
        :submit_attempted, :held, :generation, :notify_off, :remote_id, :remote_status,
        :acknowledged_at, :marker, :link_environment, :link_endpoint, :submit_attempted_at,
        :attention, :attention_kind, :last_error, :last_error_kind, :next_attempt_at,
        :lease_owner, :lease_until, :pending_token, :pending_since)
"""


def _active(db: sqlite3.Connection, first: int, now: datetime) -> None:
    """The live work after the history (the newest ids): see the module's docstring."""
    stamp = _stamp(now)
    tomorrow = _stamp(now + timedelta(days=1))
    hour = _stamp(now + timedelta(hours=1))
    ids = iter(range(first + 1, first + ACTIVE + 1))
    rows: list[dict[str, object]] = []

    def issue(status: str, **values: object) -> int:
        i = next(ids)
        base: dict[str, object] = {
            "id": i, "request_type": "POTHOLE", "integration": "cityworks", "status": status,
            "summary": f"Pothole {i}", "description": "Deep, by the curb.", "lat": 41.3,
            "lng": -72.9, "reporter_name": f"Resident {i}",
            "reporter_email": f"r{i}@example.org", "type_ref": "101", "created_at": stamp,
            "updated_at": stamp, "attempts": 0, "submit_attempted": 0, "held": 0,
            "generation": 1, "notify_off": 0,
        }  # fmt: skip
        base.update(values)
        rows.append(base)
        return i

    for k in range(ACKNOWLEDGED):
        # remote_id and marker are the emulator's seeded requests' (set by link_to).
        extra: dict[str, object] = {}
        if k < ATTENTION:
            extra = {"attention": "the closed status NOTDONE is not mapped",
                     "attention_kind": "unmapped"}  # fmt: skip
        issue("acknowledged", remote_id=f"ack-{k}", remote_status="OPEN", acknowledged_at=stamp,
              marker=f"seed-ack-{k}", link_environment="test", link_endpoint=ENDPOINT,
              submit_attempted=1, submit_attempted_at=stamp, **extra)  # fmt: skip
    failing = {"attempts": 6, "last_error": "Cityworks answered 500", "next_attempt_at": tomorrow,
               "last_error_kind": "transient", "submit_attempted": 1, "submit_attempted_at": stamp,
               "marker": None}  # fmt: skip
    for k in range(FAILING):
        lease: dict[str, object] = {}
        if k < FAILING_ELSEWHERE:
            lease = {"lease_owner": OTHER_WORKER, "lease_until": hour}
        elif k < FAILING_ELSEWHERE + FAILING_DEAD:
            lease = {"lease_owner": dead_worker(), "lease_until": hour}
        issue("open", **failing, **lease)
    for _ in range(HELD):
        issue("open", held=1, last_error="the address was not found", last_error_kind="held",
              attempts=1)  # fmt: skip
    for k in range(PENDING):
        issue("open", pending_token=f"token-{k}", pending_since=stamp, next_attempt_at=tomorrow,
              submit_attempted=1, submit_attempted_at=stamp)  # fmt: skip
    for _ in range(MINE):
        issue("open", **failing, lease_owner=MEASURING_WORKER, lease_until=hour)
    db.executemany(_INSERT_ACTIVE, [{k: row.get(k) for k in _ACTIVE_COLUMNS} for row in rows])
    db.execute(
        """
        INSERT INTO comments (issue_id, author, text, kind, created_at, push_attempted, attempts)
        SELECT id, 'SCF', 'Thank you. Your request was received.', 'system', created_at, 0, 0
        FROM issues WHERE status = 'acknowledged' AND id > ? ORDER BY id
        """,
        (first,),
    )


def link_to(path: Path, first_remote_id: int, endpoint: str) -> None:
    """Link the live Acknowledged issues to this run's emulator: its seeded requests from
    ``first_remote_id`` on (their markers too), at its endpoint (the history's links stay
    where they were made)."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN")
        first = db.execute(
            "SELECT min(id) FROM issues WHERE status = 'acknowledged' AND marker LIKE 'seed-%'"
        ).fetchone()[0]
        db.execute(
            """
            UPDATE issues SET remote_id = CAST(:base + id - :first AS TEXT),
                              marker = 'seed-' || CAST(:base + id - :first AS TEXT),
                              link_endpoint = :endpoint
            WHERE status = 'acknowledged' AND id >= :first
            """,
            {"base": first_remote_id, "first": first, "endpoint": endpoint},
        )
        db.execute("COMMIT")
    finally:
        db.close()
