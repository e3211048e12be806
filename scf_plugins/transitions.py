"""State changes of an issue, each with its messages, on the caller's transaction.

Every function here takes the open connection of a transaction: a status change and the
messages it posts commit together or not at all. Each transition re-checks the state it
starts from in its UPDATE, so applying the same remote news twice changes nothing the second
time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from . import messages
from .config import Settings
from .models import AddressCheck, Integration, RemoteComment, Status
from .schema import announced, comments, issues
from .store import insert_comment

BACKOFF = {
    # kind: (first delay, cap)
    "transient": (timedelta(seconds=30), timedelta(hours=1)),
    "ambiguous": (timedelta(seconds=30), timedelta(hours=1)),
    "definite": (timedelta(minutes=5), timedelta(hours=24)),
    "held": (timedelta(days=3650), timedelta(days=3650)),
}


def backoff(kind: str, attempts: int) -> timedelta:
    """The delay before attempt ``attempts + 1``: doubling from the kind's first delay, capped."""
    first, cap = BACKOFF.get(kind, BACKOFF["transient"])
    return min(cap, first * (1 << max(0, min(attempts - 1, 30))))


def _values(issue_row: dict[str, object], settings: Settings, **extra: object) -> dict[str, object]:
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
    conn: Connection, settings: Settings, issue_id: int, text: str, when: datetime | None = None
) -> None:
    """Post a system message, authored by the organization's bot user."""
    insert_comment(conn, issue_id, settings.organization.bot_name, text, "system", created_at=when)


def acknowledge(
    conn: Connection,
    settings: Settings,
    integration: Integration,
    issue_id: int,
    owner: str,
    remote_id: str,
    remote_status: str | None,
    now: datetime,
    check: AddressCheck | None,
) -> bool:
    """Open -> Acknowledged, with the acknowledgement message naming the remote id."""
    updated = conn.execute(
        issues.update()
        .where(
            issues.c.id == issue_id,
            issues.c.status == Status.OPEN.value,
            issues.c.lease_owner == owner,
            issues.c.remote_id.is_(None),
        )
        .values(
            status=Status.ACKNOWLEDGED.value,
            remote_id=remote_id,
            remote_status=remote_status,
            acknowledged_at=now,
            updated_at=now,
            attempts=0,
            next_attempt_at=None,
            last_error=None,
            last_error_kind=None,
            submit_attempted=False,
            lease_owner=None,
            lease_until=None,
            **({"address_check": json.dumps(asdict(check))} if check else {}),
        )
    ).rowcount
    if updated != 1:
        return False
    row = dict(conn.execute(select(issues).where(issues.c.id == issue_id)).mappings().one())
    template = integration.messages.acknowledged or messages.DEFAULTS["acknowledged"]
    post(
        conn,
        settings,
        issue_id,
        messages.render(template, "acknowledged", **_values(row, settings)),
        now,
    )
    return True


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
) -> None:
    """Keep the error on the issue, schedule the next attempt, and release the lease."""
    attempts = conn.execute(select(issues.c.attempts).where(issues.c.id == issue_id)).scalar() or 0
    values: dict[str, object] = {
        "attempts": attempts + 1,
        "last_error": error[:2000],
        "last_error_kind": kind,
        "next_attempt_at": now + backoff(kind, attempts + 1),
        "updated_at": now,
        "lease_owner": None,
        "lease_until": None,
        "held": held,
    }
    if submit_attempted is not None:
        values["submit_attempted"] = submit_attempted
    if check is not None:
        values["address_check"] = json.dumps(asdict(check))
    conn.execute(
        issues.update()
        .where(issues.c.id == issue_id, issues.c.lease_owner == owner)
        .values(**values)
    )


def close(
    conn: Connection,
    settings: Settings,
    integration: Integration,
    row: dict[str, object],
    status: str | None,
    now: datetime,
) -> bool:
    """Acknowledged -> Closed, with the closing message (per remote status when configured)."""
    updated = conn.execute(
        issues.update()
        .where(
            issues.c.id == row["id"],
            issues.c.status == Status.ACKNOWLEDGED.value,
            issues.c.remote_id == row["remote_id"],
        )
        .values(
            status=Status.CLOSED.value,
            remote_status=status,
            closed_at=now,
            updated_at=now,
            last_error=None,
            last_error_kind=None,
            attempts=0,
        )
    ).rowcount
    if updated != 1:
        return False
    _post_status_message(
        conn,
        settings,
        row,
        status,
        "closed",
        integration.messages.closed_by_status,
        integration.messages.closed,
        now,
    )
    return True


def cancel(
    conn: Connection,
    settings: Settings,
    integration: Integration,
    row: dict[str, object],
    status: str | None,
    now: datetime,
) -> bool:
    """Acknowledged -> Open: the cancel message, the remote link removed, routing cleared.

    The issue is left for staff: handled locally, or given another request type (which routes
    it again). Clearing ``integration`` is what keeps the next pass from resubmitting it.
    """
    updated = conn.execute(
        issues.update()
        .where(
            issues.c.id == row["id"],
            issues.c.status == Status.ACKNOWLEDGED.value,
            issues.c.remote_id == row["remote_id"],
        )
        .values(
            status=Status.OPEN.value,
            remote_id=None,
            remote_status=status,
            integration=None,
            acknowledged_at=None,
            updated_at=now,
            submit_attempted=False,
            attempts=0,
            next_attempt_at=None,
            last_error=None,
            last_error_kind=None,
        )
    ).rowcount
    if updated != 1:
        return False
    _post_status_message(
        conn,
        settings,
        row,
        status,
        "canceled",
        integration.messages.canceled_by_status,
        integration.messages.canceled,
        now,
    )
    return True


def _post_status_message(
    conn: Connection,
    settings: Settings,
    row: dict[str, object],
    status: str | None,
    kind: str,
    by_status: Mapping[str, str],
    configured: str | None,
    now: datetime,
) -> None:
    """The message for a closing or cancelling remote status: per status, configured, default."""
    table = {k.upper(): v for k, v in by_status.items()}
    template = table.get((status or "").upper()) or configured or messages.DEFAULTS[kind]
    values = _values({**row, "remote_status": status}, settings)
    post(conn, settings, int(str(row["id"])), messages.render(template, kind, **values), now)


def announce(
    conn: Connection,
    settings: Settings,
    integration: Integration,
    row: dict[str, object],
    field: str,
    value: str,
    now: datetime,
) -> int:
    """An activity message per rule watching ``field``, once per (remote request, value)."""
    key = {
        "issue_id": row["id"],
        "remote_id": row["remote_id"],
        "field": field,
        "value": value[:1000],
    }
    exists = conn.execute(select(announced.c.issue_id).filter_by(**key)).first()
    if exists:
        return 0
    conn.execute(announced.insert().values(**key))
    posted = 0
    for rule in integration.activity:
        if rule.field == field:
            post(
                conn,
                settings,
                int(str(row["id"])),
                messages.render(
                    rule.message, "activity", **_values(row, settings, value=value, field=field)
                ),
                now,
            )
            posted += 1
    return posted


def pull_comment(
    conn: Connection,
    integration: Integration,
    row: dict[str, object],
    comment: RemoteComment,
    now: datetime,
) -> bool:
    """Keep a remote ``To SCF:`` comment on the issue, once (by its scoped remote key)."""
    key = f"{integration.name}:{row['remote_id']}:{comment.remote_id}"
    exists = conn.execute(
        select(comments.c.id).where(
            comments.c.issue_id == row["id"],
            (comments.c.remote_key == key)
            | (comments.c.remote_id == comment.remote_id) & (comments.c.kind == "comment"),
        )
    ).first()
    if exists:
        return False
    insert_comment(
        conn,
        int(str(row["id"])),
        comment.author or "City staff",
        comment.text,
        "remote",
        remote_id=comment.remote_id,
        remote_key=key,
        created_at=comment.created_at or now,
    )
    return True


def archive(conn: Connection, now: datetime, after: timedelta) -> int:
    """Closed -> Archived for issues closed longer than ``after``; returns how many."""
    return conn.execute(
        issues.update()
        .where(issues.c.status == Status.CLOSED.value, issues.c.closed_at < now - after)
        .values(status=Status.ARCHIVED.value, archived_at=now, updated_at=now)
    ).rowcount
