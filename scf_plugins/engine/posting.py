"""Posting system messages on an issue, and the values their templates are filled with.

A message is posted on the caller's transaction, so it commits with the change it tells of,
and so does its email to the resident (:mod:`.notify`). The templates and their placeholders
are :mod:`scf_plugins.config.messages`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..config import messages
from ..config.settings import Settings
from ..store.store import insert_comment
from ..timeutil import utcnow
from . import notify


def template_values(
    issue_row: Mapping[str, Any], settings: Settings, **extra: object
) -> dict[str, object]:
    """The placeholders every message may use, from an issue's row, plus ``extra``."""
    return {
        "issue_id": issue_row["id"],
        "remote_id": issue_row.get("remote_id") or "",
        "status": issue_row.get("remote_status") or "",
        "summary": issue_row.get("summary", ""),
        "organization": settings.organization.name,
        "request_type": issue_row.get("request_type", ""),
        **extra,
    }


def post(
    conn: Connection,
    settings: Settings,
    issue_id: int,
    text: str,
    when: datetime | None = None,
    *,
    notify_as: str | None = None,
) -> int:
    """Post a system message, authored by the organization's bot user; returns its id.

    :param notify_as: the kind of notification it is to the resident (``acknowledged``,
        ``activity``, ``closed``, ``canceled``), queued with it when wanted; None: none.
    """
    comment_id = insert_comment(
        conn, issue_id, settings.organization.bot_name, text, "system", created_at=when
    )
    if notify_as is not None:
        notify.queue(conn, settings, issue_id, notify_as, comment_id, when or utcnow())
    return comment_id


def post_status_message(
    conn: Connection,
    settings: Settings,
    row: Mapping[str, Any],
    status: str | None,
    kind: str,
    by_status: Mapping[str, str],
    configured: str | None,
    now: datetime,
    reason: str = "",
) -> None:
    """The message for a closing or cancelling remote status: per status, configured, default."""
    table = {k.upper(): v for k, v in by_status.items()}
    template = table.get((status or "").upper()) or configured or messages.DEFAULTS[kind]
    values = template_values({**row, "remote_status": status}, settings, reason=reason)
    text = messages.render(template, kind, **values)
    post(conn, settings, int(str(row["id"])), text, now, notify_as=kind)
