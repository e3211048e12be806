"""State changes of an issue, each with its messages, on the caller's transaction.

Every function here takes the open connection of a transaction: a status change and the
messages it posts commit together or not at all. Each transition re-checks the state it
starts from in its UPDATE, so applying the same remote news twice changes nothing the second
time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping, Text, bindparam, func, select

from ..config.settings import Settings
from ..intake.sanitize import COMMENT_LIMIT, clean
from ..models import AddressCheck, Integration, Issue, RemoteComment, Status
from ..store.links import Scope, legacy_marker, new_marker
from ..store.store import insert_comment, next_generation
from ..store.tables import announced, comments, fit, issues, length, store_id
from . import messages

AUTHOR_LIMIT = length(comments.c.author)

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


def _values(issue_row: Mapping[str, Any], settings: Settings, **extra: object) -> dict[str, object]:
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


# Built once: constructing a statement costs more CPU than running it on SQLite, and the
# submit burst acknowledges issue after issue.
_ACKNOWLEDGE_ANY = (
    issues.update()
    .where(
        issues.c.id == bindparam("b_id"),
        issues.c.status == Status.OPEN.value,
        issues.c.lease_owner == bindparam("b_owner"),
        issues.c.remote_id.is_(None),
    )
    .values(
        status=Status.ACKNOWLEDGED.value,
        remote_id=bindparam("b_remote_id"),
        link_environment=bindparam("b_environment"),
        link_endpoint=bindparam("b_endpoint"),
        remote_status=bindparam("b_remote_status"),
        acknowledged_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
        attempts=0,
        next_attempt_at=None,
        last_error=None,
        last_error_kind=None,
        submit_attempted=False,
        lease_owner=None,
        lease_until=None,
        address_check=bindparam("b_check"),
        attention=None,
        attention_kind=None,
        pending_token=None,
        pending_since=None,
        plugin_state=func.coalesce(bindparam("b_state", type_=Text), issues.c.plugin_state),
    )
)
_ACKNOWLEDGE = _ACKNOWLEDGE_ANY.where(issues.c.marker == bindparam("b_marker"))
_ACKNOWLEDGE_LEGACY = _ACKNOWLEDGE_ANY.where(issues.c.marker.is_(None))  # made before schema 2


def linked_elsewhere(conn: Connection, scope: Scope, remote_id: str, issue_id: int) -> int | None:
    """Another issue already linked to this remote request (same endpoint, or an old unscoped
    link of the same integration), or None. (The store's unique index refuses a second link
    within one endpoint; this names the issue holding it.)"""
    return conn.execute(
        select(issues.c.id)
        .where(
            issues.c.remote_id == remote_id,
            issues.c.id != issue_id,
            (issues.c.link_endpoint == scope.endpoint)
            | (issues.c.link_endpoint.is_(None) & (issues.c.integration == scope.integration)),
        )
        .limit(1)
    ).scalar()


def acknowledge(
    conn: Connection,
    settings: Settings,
    integration: Integration,
    issue: Issue,
    owner: str,
    remote_id: str,
    remote_status: str | None,
    now: datetime,
    check: AddressCheck | None,
    plugin_state: str | None = None,
) -> bool:
    """Open -> Acknowledged, with the acknowledgement message naming the remote id.

    The link is scoped to the integration's live environment and endpoint, and made only if
    the issue still has the marker it was submitted with. A pending token is done with;
    ``plugin_state`` (JSON; None keeps what is stored) replaces the plugin's state.
    """
    stored_check = check or issue.address_check
    scope = Scope.live(integration)
    legacy = issue.marker == legacy_marker(issue.id)
    updated = conn.execute(
        _ACKNOWLEDGE_LEGACY if legacy else _ACKNOWLEDGE,
        {
            "b_id": issue.id,
            "b_owner": owner,
            "b_marker": issue.marker,
            "b_environment": scope.environment,
            "b_endpoint": scope.endpoint,
            "b_remote_id": remote_id,
            "b_remote_status": remote_status,
            "b_now": now,
            "b_check": json.dumps(asdict(stored_check)) if stored_check else None,
            "b_state": plugin_state,
        },
    ).rowcount
    if updated != 1:
        return False
    row = {
        "id": issue.id,
        "remote_id": remote_id,
        "remote_status": remote_status,
        "summary": issue.summary,
        "request_type": issue.request_type,
    }
    template = integration.messages.acknowledged or messages.DEFAULTS["acknowledged"]
    post(
        conn,
        settings,
        issue.id,
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
        # worker that died mid-call leaves the time set, see submitting._settled).
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


def _leave_acknowledged(
    conn: Connection,
    settings: Settings,
    row: Mapping[str, Any],
    status: str | None,
    now: datetime,
    kind: str,
    by_status: Mapping[str, str],
    configured: str | None,
    values: dict[str, object],
    reason: str = "",
) -> bool:
    """Move an Acknowledged issue on (``values``), with its ``kind`` message; once only."""
    updated = conn.execute(
        issues.update()
        .where(
            issues.c.id == row["id"],
            issues.c.status == Status.ACKNOWLEDGED.value,
            issues.c.remote_id == row["remote_id"],
        )
        .values(
            remote_status=fit(issues.c.remote_status, status),
            updated_at=now,
            attempts=0,
            next_attempt_at=None,
            last_error=None,
            last_error_kind=None,
            **values,
        )
    ).rowcount
    if updated != 1:
        return False
    _post_status_message(conn, settings, row, status, kind, by_status, configured, now, reason)
    return True


def close(
    conn: Connection,
    settings: Settings,
    integration: Integration,
    row: Mapping[str, Any],
    status: str | None,
    now: datetime,
    reason: str | None = None,
) -> bool:
    """Acknowledged -> Closed, with the closing message (per remote status when configured;
    ``{reason}`` is the remote system's own closing note, when it gives one)."""
    return _leave_acknowledged(
        conn,
        settings,
        row,
        status,
        now,
        "closed",
        integration.messages.closed_by_status,
        integration.messages.closed,
        {"status": Status.CLOSED.value, "closed_at": now},
        reason or "",
    )


def cancel(
    conn: Connection,
    settings: Settings,
    integration: Integration,
    row: Mapping[str, Any],
    status: str | None,
    now: datetime,
    reason: str | None = None,
) -> bool:
    """Acknowledged -> Open: the cancel message, the remote link removed, routing cleared.

    The issue is left for staff: handled locally, or given another request type (which routes
    it again). Clearing ``integration`` is what keeps the next pass from resubmitting it. The
    remote system's reason (``{reason}`` in the message) is kept on the issue for staff.
    """
    note = f"cancelled in {integration.name} (request {row['remote_id']})" + (
        f": {reason}" if reason else ""
    )
    return _leave_acknowledged(
        conn,
        settings,
        row,
        status,
        now,
        "canceled",
        integration.messages.canceled_by_status,
        integration.messages.canceled,
        {
            "status": Status.OPEN.value,
            "remote_id": None,
            "link_environment": None,
            "link_endpoint": None,
            "integration": None,
            "acknowledged_at": None,
            "submit_attempted": False,
            "attention": note[:2000],
            "attention_kind": "canceled",
        },
        reason or "",
    )


def flag(conn: Connection, issue_id: int, kind: str, text: str, now: datetime) -> bool:
    """Put something a person must look at on the issue; True when it is new (so the caller
    warns once, not once per pass)."""
    text = text[:2000]
    return bool(
        conn.execute(
            issues.update()
            .where(
                issues.c.id == issue_id,
                (issues.c.attention.is_(None)) | (issues.c.attention != text),
            )
            .values(attention=text, attention_kind=kind, updated_at=now)
        ).rowcount
    )


def unflag(conn: Connection, issue_id: int, kinds: tuple[str, ...]) -> None:
    """Clear a flag of one of ``kinds`` once what caused it is gone."""
    conn.execute(
        issues.update()
        .where(issues.c.id == issue_id, issues.c.attention_kind.in_(kinds))
        .values(attention=None, attention_kind=None)
    )


_UNLINKED = {
    "remote_id": None,
    "pending_token": None,
    "pending_since": None,
    "plugin_state": None,
    "link_environment": None,
    "link_endpoint": None,
    "attempts": 0,
    "next_attempt_at": None,
    "last_error": None,
    "last_error_kind": None,
    "attention": None,
    "attention_kind": None,
    "held": False,
    "lease_owner": None,
    "lease_until": None,
}


def withdraw(
    conn: Connection, settings: Settings, issue_id: int, reason: str, now: datetime
) -> bool:
    """Close an Open or Acknowledged issue here, with a message, never touching the remote
    system; its link (if any) is dropped."""
    return _unlink(
        conn, settings, issue_id, reason, now, "withdrawn",
        lambda row: {"status": Status.CLOSED.value, "closed_at": now},
    )  # fmt: skip


def resubmit(
    conn: Connection, settings: Settings, issue_id: int, reason: str, now: datetime
) -> bool:
    """Unlink an Acknowledged (or stuck Open) issue and send it anew through its integration's
    live environment, under a new marker, with a message to the resident."""

    def anew(row: RowMapping) -> dict[str, object] | None:
        if row["integration"] is None:
            return None  # nowhere to send it
        generation = next_generation(conn, issue_id)
        return {
            "status": Status.OPEN.value,
            "acknowledged_at": None,
            "generation": generation,
            "marker": new_marker(store_id(conn), issue_id, generation),
        }

    return _unlink(conn, settings, issue_id, reason, now, "resubmitted", anew)


def _unlink(
    conn: Connection,
    settings: Settings,
    issue_id: int,
    reason: str,
    now: datetime,
    kind: str,
    values: Callable[[RowMapping], dict[str, object] | None],
) -> bool:
    """Drop an Open or Acknowledged issue's link, set ``values(row)`` (None: refused), and
    post the ``kind`` message with ``reason``; all in the caller's transaction."""
    row = conn.execute(select(issues).where(issues.c.id == issue_id)).mappings().first()
    if row is None or row["status"] not in (Status.OPEN.value, Status.ACKNOWLEDGED.value):
        return False
    changes = values(row)
    if changes is None:
        return False
    updated = conn.execute(
        issues.update()
        .where(issues.c.id == issue_id, issues.c.status == row["status"])
        .values(updated_at=now, submit_attempted=False, **_UNLINKED, **changes)
    ).rowcount
    if updated != 1:
        return False
    template = messages.DEFAULTS[kind]
    text = messages.render(template, kind, **_values(dict(row), settings, reason=reason))
    post(conn, settings, issue_id, text, now)
    return True


def _post_status_message(
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
    values = _values({**row, "remote_status": status}, settings, reason=reason)
    post(conn, settings, int(str(row["id"])), messages.render(template, kind, **values), now)


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
                rule.message, "activity", **_values(row, settings, value=value, field=field)
            )
            post(conn, settings, key[0], text, now)
            posted += 1
    return posted


def pull_comment(
    conn: Connection,
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
    insert_comment(
        conn,
        issue_id,
        clean(comment.author, AUTHOR_LIMIT) or "City staff",
        clean(comment.text, COMMENT_LIMIT),
        "remote",
        remote_id=remote_id,
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
