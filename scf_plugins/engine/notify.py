"""Which messages are emailed to the resident: a notification queued with the message itself.

A system message (the acknowledgement, an activity message, the closing and the cancel
message) or a comment pulled from the remote system for the resident is queued as a
notification in the transaction that stores it, when ``[email]`` is configured, the kind is
switched on in ``[notifications] send`` and the issue has a reporter email. One notification
per message (the store's unique ``comment_id``): a message is stored once, so it is emailed
at most once. Whether the resident still wants it (switched off since, unsubscribed, contact
purged) is checked again when it is sent (:mod:`.notifications`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from ..config.settings import Settings
from ..store.tables import issues, notifications


def wanted(settings: Settings, kind: str) -> bool:
    """Whether messages of ``kind`` are emailed at all under ``settings``."""
    return settings.email is not None and kind in settings.notifications.send


def queue(
    conn: Connection,
    settings: Settings,
    issue_id: int,
    kind: str,
    comment_id: int,
    now: datetime,
) -> bool:
    """Queue the notification of message ``comment_id`` on the caller's transaction, due
    now; False when it is not emailed (not configured, switched off, no reporter email)."""
    if not wanted(settings, kind):
        return False
    address = conn.execute(select(issues.c.reporter_email).where(issues.c.id == issue_id)).scalar()
    if not address:
        return False
    conn.execute(
        notifications.insert().values(
            issue_id=issue_id,
            comment_id=comment_id,
            kind=kind,
            created_at=now,
            next_try_at=now,
            attempts=0,
        )
    )
    return True
