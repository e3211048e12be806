"""An Open issue pending under a token: its create was accepted, its remote id comes later.

The issue waits, asked about again after a delay that grows with how long it has waited
(:mod:`.resolve` asks); a token the remote system lost sends it back to be submitted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from ..models import Status
from ..store.tables import issues
from .retries import record_failure

PENDING_FIRST = timedelta(seconds=5)  # a batch service takes seconds to minutes to create
PENDING_CAP = timedelta(minutes=5)


def await_resolution(
    conn: Connection,
    issue_id: int,
    owner: str,
    token: str,
    now: datetime,
    *,
    since: datetime | None = None,
    plugin_state: str | None = None,
) -> bool:
    """Keep an Open issue pending under ``token`` (its create was accepted, its remote id
    comes later) and release it; ``resolve_pending`` is asked again after a delay that grows
    with the time it has been pending (``since``: None for a token just given)."""
    waited = now - since if since is not None else timedelta(0)
    delay = min(PENDING_CAP, max(PENDING_FIRST, waited / 4))
    values: dict[str, object] = {
        "pending_token": token,
        "pending_since": since or now,
        "attempts": 0,
        "next_attempt_at": now + delay,
        "last_error": None,
        "last_error_kind": None,
        "updated_at": now,
        "lease_owner": None,
        "lease_until": None,
        "submit_attempted_at": None,  # the create's call is over: nothing is in flight
    }
    if plugin_state is not None:
        values["plugin_state"] = plugin_state
    return (
        conn.execute(
            issues.update()
            .where(
                issues.c.id == issue_id,
                issues.c.lease_owner == owner,
                issues.c.status == Status.OPEN.value,
            )
            .values(**values)
        ).rowcount
        == 1
    )


def drop_token(conn: Connection, issue_id: int, owner: str, reason: str, now: datetime) -> None:
    """A pending create the remote system will never make: back to be submitted (after a
    look-up by marker, since ``submit_attempted`` stays set), with ``reason`` kept."""
    conn.execute(
        issues.update()
        .where(issues.c.id == issue_id, issues.c.lease_owner == owner)
        .values(pending_token=None, pending_since=None, submit_attempted=True)
    )
    record_failure(conn, issue_id, owner, "ambiguous", reason, now, submit_attempted=True)
