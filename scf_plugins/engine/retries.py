"""When a failed issue is tried again: the back-off by kind of failure, and recording a
failed attempt on the issue (its error kept, its next attempt scheduled, its lease released).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from ..models import AddressCheck
from ..store.tables import issues

BACKOFF = {
    # kind: (first delay, cap)
    "transient": (timedelta(seconds=30), timedelta(hours=1)),
    "ambiguous": (timedelta(seconds=30), timedelta(hours=1)),
    "definite": (timedelta(minutes=5), timedelta(hours=24)),
    # Waiting for a person (a held address, a remote request linked twice): no retry until
    # staff act (`scf issues release`, `scf issues retry`).
    "held": (timedelta(days=3650), timedelta(days=3650)),
    "conflict": (timedelta(days=3650), timedelta(days=3650)),
}


def backoff(kind: str, attempts: int, retry_after: float | None = None) -> timedelta:
    """The delay before attempt ``attempts + 1``: doubling from the kind's first delay, at
    least what the server asked for (``retry_after`` seconds), capped."""
    first, cap = BACKOFF.get(kind, BACKOFF["transient"])
    delay = first * (1 << max(0, min(attempts - 1, 30)))
    if retry_after:
        delay = max(delay, timedelta(seconds=retry_after))
    return min(cap, delay)


def record_failure(
    conn: Connection,
    issue_id: int,
    owner: str,
    kind: str,
    error: str,
    now: datetime,
    *,
    submit_attempted: bool | None = None,
    check: AddressCheck | None = None,
    held: bool = False,
    retry_after: float | None = None,
    plugin_state: str | None = None,
) -> None:
    """Keep the error on the issue, schedule the next attempt, and release the lease.

    ``retry_after`` (seconds the server asked for) lengthens the back-off, within its cap;
    ``plugin_state`` (JSON), when given, replaces the plugin's state for the retry.
    """
    attempts = conn.execute(select(issues.c.attempts).where(issues.c.id == issue_id)).scalar() or 0
    values: dict[str, object] = {
        "attempts": attempts + 1,
        "last_error": error[:2000],
        "last_error_kind": kind,
        "next_attempt_at": now + backoff(kind, attempts + 1, retry_after),
        "updated_at": now,
        "lease_owner": None,
        "lease_until": None,
        "held": held,
        # This process saw the attempt end: no create of it is in flight any more (only a
        # worker that died mid-call leaves the time set, see inflight).
        "submit_attempted_at": None,
    }
    if submit_attempted is not None:
        values["submit_attempted"] = submit_attempted
    if check is not None:
        values["address_check"] = json.dumps(asdict(check))
    if plugin_state is not None:
        values["plugin_state"] = plugin_state
    conn.execute(
        issues.update()
        .where(issues.c.id == issue_id, issues.c.lease_owner == owner)
        .values(**values)
    )
