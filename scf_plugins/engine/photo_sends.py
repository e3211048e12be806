"""Photos follow their issue to each new remote request.

A photo is sent once to each request its issue is linked to. When the issue leaves a request
(resubmitted, moved to another environment, withdrawn, cancelled remotely), every photo sent
there is recorded in ``attachment_sends`` with that request and where it lived, and every photo
of the issue starts afresh: to the outbox it is not sent yet, so it goes to the next request
the issue is linked to, under the new marker. The photo's row then always describes the
issue's current request; ``attachment_sends`` holds the earlier ones that ``issues show``
tells apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, select

from ..store.tables import attachment_sends, attachments

_AFRESH = {
    "remote_id": None,
    "pushed_at": None,
    "push_attempted": False,
    "push_attempted_at": None,
    "attempts": 0,
    "next_attempt_at": None,
    "last_error": None,
    # A push to the old request still under way finds its lease gone, so its answer is not
    # taken for a send to the new one (the outbox records a send only under its own lease).
    "lease_owner": None,
    "lease_until": None,
}


def leave_request(conn: Connection, issue: RowMapping | Mapping[str, Any], now: datetime) -> int:
    """The issue (its row before the change) leaves its remote request, on the caller's
    transaction: record where its photos went, and let each go again. Returns how many had
    gone there. Photos kept here (a remote system that takes none) or purged stay as they are.
    """
    sent = conn.execute(
        select(attachments.c.id, attachments.c.remote_id, attachments.c.pushed_at).where(
            attachments.c.issue_id == issue["id"], attachments.c.pushed_at.is_not(None)
        )
    ).all()
    if sent:
        conn.execute(
            attachment_sends.insert(),
            [
                {
                    "attachment_id": photo_id,
                    "remote_id": remote_id,
                    "request": issue["remote_id"],
                    "integration": issue["integration"],
                    "environment": issue["link_environment"],
                    "endpoint": issue["link_endpoint"],
                    "sent_at": pushed_at,
                    "left_at": now,
                }
                for photo_id, remote_id, pushed_at in sent
            ],
        )
    conn.execute(
        attachments.update()
        .where(
            attachments.c.issue_id == issue["id"],
            attachments.c.kept_here.is_(None),
            attachments.c.purged_at.is_(None),
        )
        .values(**_AFRESH)
    )
    return len(sent)
