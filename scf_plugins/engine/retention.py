"""Photo retention: the bytes of residents' photos are deleted ``[images] purge_after_days``
after their issue is archived; the attachment row stays, marked ``purged_at``, so the issue
still shows what it had and where it went.

Nothing is purged unless the setting is there: how long a city keeps residents' photos is
its records policy, not a default of this program. Purging runs in the archive step, a few
hundred photos per transaction (no bytes are read, and a write lock is never held long), and
at most :data:`PER_PASS` per pass, so a first run over years of photos spreads over passes
instead of stalling one. Two workers purging at once delete the same rows at most twice,
which is harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, func, select

from ..store import tallies
from ..store.tables import attachment_contents, attachments, issues

BATCH = 200  # photos per transaction
PER_PASS = 2_000  # photos per pass; the rest go in the next passes


def purge_photos(
    begin: Callable[[], AbstractContextManager[Connection]],
    now: datetime,
    after: timedelta,
    limit: int = PER_PASS,
) -> int:
    """Delete the bytes of up to ``limit`` photos whose issue was archived before
    ``now - after``; returns how many were purged. ``begin`` opens a write transaction."""
    purged = 0
    while purged < limit:
        with begin() as conn:
            ids = list(
                conn.execute(
                    select(attachments.c.id)
                    .join(issues, issues.c.id == attachments.c.issue_id)
                    .where(*_due(now, after))
                    .order_by(attachments.c.id)
                    .limit(min(BATCH, limit - purged))
                ).scalars()
            )
            if not ids:
                break
            conn.execute(
                attachment_contents.delete().where(attachment_contents.c.attachment_id.in_(ids))
            )
            conn.execute(
                attachments.update()
                .where(attachments.c.id.in_(ids))
                .values(purged_at=now, lease_owner=None, lease_until=None)
            )
        purged += len(ids)
    return purged


def _due(now: datetime, after: timedelta) -> tuple[ColumnElement[bool], ...]:
    """Photos whose bytes are due to go: kept, of an issue archived before ``now - after``.

    Only archiving sets ``archived_at``, so no status condition: it would lead the planner
    to read every archived issue, where this reads the kept photos alone (the partial index
    ``ix_attachments_kept``, by id) and looks up each one's issue."""
    return (
        issues.c.archived_at < now - after,
        attachments.c.purged_at.is_(None),
    )


def due(conn: Connection, now: datetime, after: timedelta) -> tuple[int, int]:
    """How many photos are due to be purged now, and their bytes (for ``config check``,
    before a period is set or shortened)."""
    count, size = conn.execute(
        select(func.count(attachments.c.id), func.coalesce(func.sum(attachments.c.size), 0))
        .join(issues, issues.c.id == attachments.c.issue_id)
        .where(*_due(now, after))
    ).one()
    return int(count), int(size)


def stored(conn: Connection) -> dict[str, float]:
    """How many photos the store holds and their size (bytes, and MB for people), and how
    many were purged: the kept ones summed from their partial index (``ix_attachments_kept``),
    the purged ones the store's tally (:mod:`scf_plugins.store.tallies`), so a status never
    reads the photos of years past."""
    kept, size = conn.execute(
        select(func.count(), func.coalesce(func.sum(attachments.c.size), 0)).where(
            attachments.c.purged_at.is_(None)
        )
    ).one()
    if tallies.kept(conn):
        gone = tallies.read(conn, tallies.PHOTOS_PURGED).get("", 0)
    else:
        gone = int(conn.execute(select(func.count(attachments.c.purged_at))).scalar() or 0)
    return {
        "stored": int(kept),
        "stored_bytes": int(size),
        "stored_mb": round(int(size) / 2**20, 1),
        "purged": int(gone),
    }
