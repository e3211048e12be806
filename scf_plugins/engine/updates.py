"""A plugin's answer to ``poll``, checked before anything of it is applied: each update paired
with its issue, or with why it cannot be applied (repeated, unreadable, of another request or
another issue's marker), its remote text bounded and cleaned.

A plugin may return anything; the usual update (a known state, a short status, nothing else)
is recognised without copying, since this runs once per polled issue.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, NamedTuple

from ..intake.sanitize import VALUE_LIMIT, clean, clean_or_none
from ..models import Integration, RemoteComment, RemoteState, RemoteUpdate
from ..store.links import legacy_marker, marker_of
from .answers import STATUS_LIMIT

Row = Mapping[str, Any]  # an issue as applying an update reads it: Polled, keyed by column


class Polled(NamedTuple):
    """An issue as a poll batch reads it (``poll.POLL_COLUMNS`` are these columns). A named
    tuple: its fields are read for every issue polled, faster than a row's by name, and
    only the issues an update changes become a :data:`Row` (``_asdict``)."""

    id: int
    remote_id: str
    remote_status: str | None
    marker: str | None
    link_endpoint: str | None
    last_error: str | None
    attention_kind: str | None
    summary: str  # what messages name the issue by
    request_type: str
    plugin_state: str | None


Plan = list[tuple[Row, RemoteUpdate | None, str | None]]


def plan_updates(integration: Integration, by_id: Mapping[int, Polled], updates: Any) -> Plan:
    """Pair each update with its issue, or with the reason it cannot be applied; an update
    that changes nothing (:func:`unchanged`, the usual case) is left out, so the batch's
    apply loop goes round only for what it must write or check."""
    if not isinstance(updates, list):
        raise TypeError(f"poll returned {type(updates).__name__}, not a list of updates")
    found: dict[int, RemoteUpdate] = {}
    repeated: dict[int, int] = {}
    for update in updates:
        if not isinstance(update, RemoteUpdate):
            continue
        issue_id = update.issue_id
        if issue_id not in by_id:
            continue
        if issue_id in found:
            repeated[issue_id] = repeated.get(issue_id, 1) + 1
        else:
            found[issue_id] = update
    plan: Plan = []
    for issue_id, update in found.items():
        row = by_id[issue_id]
        if issue_id in repeated:
            why = (f"{integration.name} sent {repeated[issue_id]} records for remote request "
                   f"{row.remote_id}; none was applied")  # fmt: skip
            plan.append((row._asdict(), None, why))
        elif _plain(update):
            if not unchanged(row, update):
                plan.append((row._asdict(), update, None))
        else:
            problem = _malformed(update)
            checked = update if problem else _cleaned(update)
            if problem is not None or not unchanged(row, checked):
                plan.append((row._asdict(), checked, problem))
    return plan


def _plain(update: RemoteUpdate) -> bool:
    """True for the usual update, which needs no checking or cleaning: a known readable state,
    a short printable status and a text marker, no fields or comments. Checked inline because
    it runs once per polled issue."""
    status = update.status
    marker = update.marker
    return (
        (update.state is RemoteState.OPEN or update.state is RemoteState.CLOSED
         or update.state is RemoteState.CANCELED or update.state is RemoteState.MISSING)
        and (status is None
             or (type(status) is str and len(status) <= STATUS_LIMIT and status.isprintable()))
        and (marker is None or type(marker) is str)
        and not update.fields
        and not update.comments
    )  # fmt: skip


def unchanged(row: Polled, update: RemoteUpdate | None) -> bool:
    """True when a checked update changes nothing for its issue: the same link and marker, an
    open request with the status already stored, nothing new, nothing to clear."""
    return (
        update is not None
        and update.state is RemoteState.OPEN
        and not update.remote_closed
        and not update.fields
        and not update.comments
        and update.error is None
        and update.status == row.remote_status
        and row.last_error is None
        and row.attention_kind is None
        and row.link_endpoint is not None
        and update.remote_id == row.remote_id
        # The issue's marker as links.marker_of gives it (that reads a mapping).
        and (update.marker is None or update.marker == (row.marker or legacy_marker(row.id)))
    )


def _cleaned(update: RemoteUpdate) -> RemoteUpdate:
    """The update with its remote text bounded and free of control characters."""
    status = clean_or_none(update.status, STATUS_LIMIT)
    fields = tuple((name, clean(value, VALUE_LIMIT)) for name, value in update.fields)
    if status == update.status and fields == update.fields:
        return update  # nothing to copy
    return dataclasses.replace(update, status=status, fields=fields)


def _malformed(update: RemoteUpdate) -> str | None:
    """Why an update's values cannot be stored, or None (a plugin may send anything)."""
    if update.state is RemoteState.UNREADABLE:
        return f"its remote record could not be read: {update.error or 'no reason given'}"
    if not isinstance(update.state, RemoteState):
        return f"the plugin reported an unknown state {update.state!r}"
    if update.status is not None and not isinstance(update.status, str):
        return "the plugin reported a status that is not text"
    if update.marker is not None and not isinstance(update.marker, str):
        return "the plugin reported a marker that is not text"
    if not all(_text_pair(f) for f in update.fields):
        return "the plugin reported field values that are not text"
    if not all(_readable(c) for c in update.comments):
        return "the plugin reported a comment that cannot be read"
    return None


def _text_pair(item: object) -> bool:
    return isinstance(item, tuple) and len(item) == 2 and all(isinstance(v, str) for v in item)


def _readable(comment: object) -> bool:
    return (
        isinstance(comment, RemoteComment)
        and isinstance(comment.text, str)
        and isinstance(comment.remote_id, str)
        and bool(comment.remote_id)
    )


def link_problem(integration: Integration, row: Row, update: RemoteUpdate) -> str | None:
    """Why ``update`` does not belong to the issue's current link, or None when it does."""
    if update.remote_id != row["remote_id"]:
        return (
            f"{integration.name} answered for remote request {update.remote_id!r}, but the "
            f"issue is linked to {row['remote_id']}; nothing was applied"
        )
    marker = marker_of(row)
    if update.marker is not None and update.marker != marker:
        carried = f"marker {update.marker!r}" if update.marker else "no marker"
        return (
            f"remote request {row['remote_id']} of {integration.name} carries {carried}, not "
            f"this issue's {marker!r}: it is not this issue's request (another environment or "
            f"store, or a reused number), so nothing was applied. Find the issue's request in "
            f"the remote system, or `scf issues withdraw {row['id']}` / `scf issues resubmit "
            f"{row['id']}`"
        )
    return None
