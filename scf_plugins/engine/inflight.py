"""Work a dead worker may have left in flight: a create, comment or photo it sent before it
died, without seeing the answer.

The claim marks the intent and its time before the call (``submit_attempted_at``,
``push_attempted_at``); a worker that sees its call end clears the time, so a time still set
on a row no live lease holds is a dead worker's call. That call may still be under way
remotely until ``timeout_seconds`` after it was sent. The worker that takes the row over
looks it up at once by its marker, through the plugin's own idempotent path run looking only
(:mod:`scf_plugins.net.lookonly`): found, it is linked or marked sent at once; not found, the
row waits until that timeout has passed (not charged), and only then is it looked up again
and sent. So a crash costs a look-up, never a duplicate, and the common case (the call had
long landed) no wait at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Connection, Table

from ..models import Integration
from ..net import lookonly

log = logging.getLogger(__name__)

T = TypeVar("T")


def sent_at(
    attempted: bool, sent: datetime | None, integration: Integration, now: datetime
) -> datetime | None:
    """When the row's call was sent, if it may still be under way remotely; else None."""
    if not attempted or sent is None:
        return None
    return sent if sent > now - timedelta(seconds=integration.timeout_seconds) else None


def look(call: Callable[[], T]) -> T | None:
    """Run ``call`` (a plugin's idempotent create or push) looking only: what it found, or
    None when it went on to change the remote system (refused before anything was sent)."""
    with lookonly.look_only() as looking:
        try:
            found = call()
        except Exception:
            if looking.refused:
                return None
            raise
    # A plugin that caught the refusal found nothing all the same.
    return None if looking.refused else found


def wait(
    conn: Connection,
    table: Table,
    row_id: int,
    owner: str,
    sent: datetime,
    integration: Integration,
    what: str,
    error: str | None = None,
) -> None:
    """Not found (or the look-up failed, ``error``): the row waits, uncharged and with the
    dead worker's time kept, until the call can no longer be under way; its lease goes."""
    until = sent + timedelta(seconds=integration.timeout_seconds)
    conn.execute(
        table.update()
        .where(table.c.id == row_id, table.c.lease_owner == owner)
        .values(next_attempt_at=until, lease_owner=None, lease_until=None)
    )
    log.info(
        "%s: what a stopped worker sent at %s is not found%s; it may still be under way, so "
        "it is looked up again at %s before it is sent",
        what,
        f"{sent:%Y-%m-%d %H:%M:%S} UTC",
        f" ({error})" if error else "",
        f"{until:%H:%M:%S} UTC",
        extra={"integration": integration.name},
    )
