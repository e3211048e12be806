"""Status changes of an issue, each with its message, on the caller's transaction.

The sync makes Open -> Acknowledged (:func:`acknowledge`), Acknowledged -> Closed or back to
Open (:func:`close`, :func:`cancel`) and Closed -> Archived (:func:`archive`); staff make
:func:`withdraw` and :func:`resubmit`. Every function here takes the open connection of a
transaction: a status change and the message it posts commit together or not at all. Each
transition re-checks the state it starts from in its UPDATE, so applying the same remote news
twice changes nothing the second time.

An issue that leaves its remote request (withdrawn, resubmitted, cancelled) takes its photos
along (:mod:`.photo_sends`), and closing or leaving a request ends the attention flags whose
cause was that request. What a failure, a pending token, an attention flag or remote activity
does to an issue is kept apart: :mod:`.retries`, :mod:`.pending`, :mod:`.attention`,
:mod:`.inbox`; posting a message is :mod:`.posting`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, Text, bindparam, func, select

from ..config import messages
from ..config.settings import Settings
from ..models import AddressCheck, Integration, Issue, Status
from ..store.links import Scope, legacy_marker, new_marker
from ..store.store import next_generation
from ..store.tables import fit, issues, store_id
from .leases import lease_free
from .photo_sends import leave_request
from .posting import post, post_status_message, template_values

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
        sent_unverified=bindparam("b_unverified"),
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
            "b_unverified": unverified_note(settings, integration, stored_check),
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
        messages.render(template, "acknowledged", **template_values(row, settings)),
        now,
        notify_as="acknowledged",
    )
    return True


def unverified_note(
    settings: Settings, integration: Integration, check: AddressCheck | None
) -> str | None:
    """Why an issue whose address check was not accepted is being sent all the same (None when
    the check accepted it, or there was none): what the config says now, as it is sent."""
    if check is None or check.accepted:
        return None
    geocoder = settings.geocoder_for(integration)
    if geocoder is None:
        why = f"no geocoder checks {integration.name}'s addresses now"
    elif geocoder.on_reject == "hold":
        why = "staff released it (`scf issues release`)"
    else:
        why = f'[geocoders.{geocoder.name}] on_reject = "submit" sends such a report on'
    return f"sent as reported although the address check did not accept it: {why}"[:300]


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
    post_status_message(conn, settings, row, status, kind, by_status, configured, now, reason)
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
        # Nothing is left for a person to do on it: a flag (a closing status nobody had
        # mapped, now mapped) goes with the request.
        {"status": Status.CLOSED.value, "closed_at": now, "attention": None,
         "attention_kind": None},
        reason or "",
    )  # fmt: skip


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
    remote system's reason (``{reason}`` in the message) is kept on the issue for staff. Its
    photos go to the request it gets next.
    """
    note = f"cancelled in {integration.name} (request {row['remote_id']})" + (
        f": {reason}" if reason else ""
    )
    scope = Scope.live(integration)  # polled there: an old link was adopted before this
    left = {**row, "integration": integration.name, "link_environment": scope.environment,
            "link_endpoint": scope.endpoint}  # fmt: skip
    cancelled = _leave_acknowledged(
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
    if cancelled:
        leave_request(conn, left, now)
    return cancelled


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
    system; its link (if any) is dropped. The resident is emailed the message as the issue's
    closing one: the reason is told to them."""
    return _unlink(
        conn, settings, issue_id, reason, now, "withdrawn",
        lambda row: {"status": Status.CLOSED.value, "closed_at": now}, notify_as="closed",
    )  # fmt: skip


def resubmit(
    conn: Connection, settings: Settings, issue_id: int, reason: str, now: datetime
) -> bool:
    """Unlink an Acknowledged (or stuck Open) issue and send it anew through its integration's
    live environment, under a new marker, with a message to the resident. Refused (False)
    while a worker holds it or has marked its create as on its way: a new marker then would
    leave that create's request unfound, and the issue would be sent twice."""

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

    idle = (issues.c.submit_attempted.is_(False), lease_free(issues, now))
    return _unlink(conn, settings, issue_id, reason, now, "resubmitted", anew, idle)


def _unlink(
    conn: Connection,
    settings: Settings,
    issue_id: int,
    reason: str,
    now: datetime,
    kind: str,
    values: Callable[[RowMapping], dict[str, object] | None],
    only: Sequence[ColumnElement[bool]] = (),
    *,
    notify_as: str | None = None,
) -> bool:
    """Drop an Open or Acknowledged issue's link (its flags go with it, its photos go to the
    next request), set ``values(row)`` (None: refused), and post the ``kind`` message with
    ``reason``, emailed to the resident as ``notify_as`` (None: not emailed); all in the
    caller's transaction. ``only``: more conditions the row must meet when it is updated (a
    worker may have changed it since the caller read it)."""
    row = conn.execute(select(issues).where(issues.c.id == issue_id)).mappings().first()
    if row is None or row["status"] not in (Status.OPEN.value, Status.ACKNOWLEDGED.value):
        return False
    changes = values(row)
    if changes is None:
        return False
    updated = conn.execute(
        issues.update()
        .where(issues.c.id == issue_id, issues.c.status == row["status"], *only)
        .values(updated_at=now, submit_attempted=False, **_UNLINKED, **changes)
    ).rowcount
    if updated != 1:
        return False
    leave_request(conn, row, now)
    template = messages.DEFAULTS[kind]
    text = messages.render(template, kind, **template_values(dict(row), settings, reason=reason))
    post(conn, settings, issue_id, text, now, notify_as=notify_as)
    return True


def archive(conn: Connection, now: datetime, after: timedelta) -> int:
    """Closed -> Archived for issues closed longer than ``after``; returns how many."""
    return conn.execute(
        issues.update()
        .where(issues.c.status == Status.CLOSED.value, issues.c.closed_at < now - after)
        .values(status=Status.ARCHIVED.value, archived_at=now, updated_at=now)
    ).rowcount
