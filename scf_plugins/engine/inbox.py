"""What a poll brings in besides status changes, kept once each: activity messages for
watched remote fields, and remote ``To SCF:`` comments (each emailed to the resident where
that is wanted, :mod:`.notify`).

:class:`Seen` holds what a poll batch already has, so applying unchanged remote news costs
no query per issue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from ..config import messages
from ..config.settings import Settings
from ..intake.sanitize import COMMENT_LIMIT, clean
from ..models import Integration, RemoteComment
from ..store.store import insert_comment
from ..store.tables import announced, comments, fit, length
from . import notify
from .posting import post, template_values

AUTHOR_LIMIT = length(comments.c.author)


@dataclass
class Seen:
    """What a batch of issues already has: announced values, pulled and pushed comment ids.

    Loaded once per poll batch, so applying unchanged remote state costs no query per issue.
    """

    values: set[tuple[int, str, str, str]] = field(default_factory=set)
    comment_keys: set[tuple[int, str]] = field(default_factory=set)
    own_comments: set[tuple[int, str]] = field(default_factory=set)


def seen_for(conn: Connection, issue_ids: list[int]) -> Seen:
    """Load :class:`Seen` for a batch of issues (three queries)."""
    seen = Seen()
    rows = conn.execute(select(announced).where(announced.c.issue_id.in_(issue_ids)))
    seen.values = {(r.issue_id, r.remote_id, r.field, r.value) for r in rows}
    rows = conn.execute(
        select(
            comments.c.issue_id, comments.c.remote_key, comments.c.remote_id, comments.c.kind
        ).where(comments.c.issue_id.in_(issue_ids), comments.c.remote_id.is_not(None))
    )
    for r in rows:
        if r.remote_key:
            seen.comment_keys.add((r.issue_id, r.remote_key))
        if r.kind == "comment":
            seen.own_comments.add((r.issue_id, r.remote_id))
    return seen


def announce(
    conn: Connection,
    settings: Settings,
    integration: Integration,
    row: Mapping[str, Any],
    field: str,
    value: str,
    now: datetime,
    seen: Seen,
) -> int:
    """An activity message per rule watching ``field``, once per (remote request, value)."""
    key = (int(row["id"]), str(row["remote_id"]), field, str(fit(announced.c.value, value)))
    if key in seen.values:
        return 0
    seen.values.add(key)
    conn.execute(
        announced.insert().values(issue_id=key[0], remote_id=key[1], field=key[2], value=key[3])
    )
    posted = 0
    for rule in integration.activity:
        if rule.field == field:
            text = messages.render(
                rule.message, "activity", **template_values(row, settings, value=value, field=field)
            )
            post(conn, settings, key[0], text, now, notify_as="activity")
            posted += 1
    return posted


def pull_comment(
    conn: Connection,
    settings: Settings,
    integration: Integration,
    row: Mapping[str, Any],
    comment: RemoteComment,
    now: datetime,
    seen: Seen,
) -> bool:
    """Keep a remote ``To SCF:`` comment on the issue, once (by its scoped remote key).

    A comment this host pushed itself is never pulled back, whatever its text.
    """
    issue_id = int(row["id"])
    remote_id = str(fit(comments.c.remote_id, comment.remote_id))
    key = str(fit(comments.c.remote_key, f"{integration.name}:{row['remote_id']}:{remote_id}"))
    if (issue_id, key) in seen.comment_keys or (issue_id, remote_id) in seen.own_comments:
        return False
    seen.comment_keys.add((issue_id, key))
    comment_id = insert_comment(
        conn,
        issue_id,
        clean(comment.author, AUTHOR_LIMIT) or "City staff",
        clean(comment.text, COMMENT_LIMIT),
        "remote",
        remote_id=remote_id,
        remote_key=key,
        created_at=comment.created_at or now,
    )
    notify.queue(conn, settings, issue_id, "comment", comment_id, now)
    return True
