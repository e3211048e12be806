"""Accela records and comments as the host's updates.

Pure functions, no I/O. A record is closed or cancelled by, in order: its status value in
the integration's ``cancel_statuses`` or ``closed_statuses``; else its ``statusType`` (which
not every agency's answers carry) in ``cancel_status_types`` (default VOID) or
``closed_status_types`` (default CLOSED, COMPLETE); else, without a ``statusType``, a
``closedDate`` closes it. Anything else is open. Dates are naive agency-local
(``yyyy-MM-dd HH:mm:ss``, read in the integration's ``timezone``) or ISO 8601 with a zone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from scf_plugins import (
    DefiniteError,
    Integration,
    Issue,
    RemoteComment,
    RemoteState,
    RemoteUpdate,
    pull_pattern,
)

from .settings import option, upper_list

CLOSED_TYPES = frozenset({"CLOSED", "COMPLETE", "VOID", "DENIED"})  # Accela's own "closed"


def status_value(record: dict[str, Any]) -> str | None:
    """The record's status ``value`` (never its text, which the agency may localize)."""
    status = record.get("status")
    value = status.get("value") if isinstance(status, dict) else status
    return value.strip() if isinstance(value, str) and value.strip() else None


def status_types(record: dict[str, Any]) -> frozenset[str] | None:
    """The record's ``statusType`` upper case (a list, or one string), None when absent."""
    found = record.get("statusType")
    if isinstance(found, str):
        found = [found]
    if not isinstance(found, list):
        return None
    return frozenset(str(t).strip().upper() for t in found if isinstance(t, str) and t.strip())


def state_of(integration: Integration, record: dict[str, Any]) -> tuple[RemoteState, bool]:
    """The host's reading of a record, and whether Accela itself counts it closed."""
    value = (status_value(record) or "").upper()
    kinds = status_types(record)
    closed_date = bool(record.get("closedDate"))
    remote_closed = closed_date or bool(kinds and kinds & CLOSED_TYPES)
    if value and value in {s.upper() for s in integration.cancel_statuses}:
        return RemoteState.CANCELED, remote_closed
    if value and value in {s.upper() for s in integration.closed_statuses}:
        return RemoteState.CLOSED, remote_closed
    if kinds:
        if kinds & upper_list(integration, "cancel_status_types"):
            return RemoteState.CANCELED, remote_closed
        if kinds & upper_list(integration, "closed_status_types"):
            return RemoteState.CLOSED, remote_closed
        return RemoteState.OPEN, remote_closed
    return (RemoteState.CLOSED if closed_date else RemoteState.OPEN), remote_closed


def text_of(value: Any) -> str:
    """A field's value as text: a value object's ``text`` (else its ``value``), a string or a
    number as it is; ``""`` for nothing readable."""
    if isinstance(value, dict):
        value = value.get("text") or value.get("value")
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()


def update_of(
    integration: Integration, issue_id: int, remote_id: str, record: dict[str, Any]
) -> RemoteUpdate:
    """What a poll reports for one record (its comments are added by the caller)."""
    state, remote_closed = state_of(integration, record)
    fields = tuple(
        (name, text) for name in integration.watched_fields if (text := text_of(record.get(name)))
    )
    reason = text_of(record.get("statusReason")) or None
    marker = record.get("shortNotes")
    return RemoteUpdate(
        issue_id,
        remote_id,
        state,
        status=status_value(record),
        fields=fields,
        marker=marker.strip() if isinstance(marker, str) else "",
        remote_closed=remote_closed,
        reason=reason if state is not RemoteState.OPEN else None,
    )


def parse_date(value: Any, timezone: str) -> datetime | None:
    """An Accela date as an aware datetime: naive ones in the agency's zone; None if unset."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(timezone))


def resident_comments(integration: Integration, items: list[Any]) -> tuple[RemoteComment, ...]:
    """The comments meant for the resident (they start with ``pull_prefix``), the prefix
    removed, oldest first."""
    pattern = pull_pattern(str(option(integration, "pull_prefix")))
    out = []
    for item in items:
        if not isinstance(item, dict) or item.get("id") in (None, ""):
            continue
        text = item.get("text")
        if isinstance(text, str) and pattern.match(text):
            out.append(
                RemoteComment(
                    str(item["id"]),
                    pattern.sub("", text, count=1).strip()[:4000],
                    author=text_of(item.get("createdBy")),
                    created_at=parse_date(item.get("createdDate"), integration.timezone),
                )
            )
    return tuple(out)


def record_id(value: Any) -> str | None:
    """A record id as Accela writes them (``ISLANDTON-14CAP-00000-000FU``), or None for one
    that cannot be put in a path or a list of ids (a comma, a slash, spaces, control
    characters, or too long)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 100 or not text.isprintable():
        return None
    return None if any(c in text for c in ",/?#%\\ ") else text


def issue_record(issue: Issue) -> str:
    """The issue's record id.

    :raises DefiniteError: when the issue has none a path can carry.
    """
    rid = record_id(issue.remote_id)
    if rid is None:
        raise DefiniteError(f"issue {issue.id} has no Accela record ({issue.remote_id!r})")
    return rid
