"""When each loop's work is next due, so that an idle worker sleeps until then instead of
claiming every half second (:mod:`.continuous`).

Each answer is the earliest time at which a pass of the loop would find something to do, read
with a few cheap queries over the rows that can still change, never the history:

- **submit** (per integration whose checks pass): its Open issues waiting to be sent or asked
  about (their back-off's end; ``ix_issues_status_integration``), its comments and photos
  waiting to be pushed (the outboxes' partial indexes), and once for all the residents' emails
  waiting (``ix_notifications_waiting``).
- **poll** (per integration): its next poll round (``poll_interval_seconds`` after the last
  began, or an unfinished round's next free batch), its request types' refresh; once for all,
  archiving (the earliest closed issue) and the purges of photos and contact details.

A row another worker holds is due when that worker's lease ends (it may have died). An
integration that is down is due at its circuit's probe, one paused by its server (Retry-After)
when the pause ends, not at its items' times. ``None``: nothing is due at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
)

from ..config.settings import Settings
from ..models import Integration, Status
from ..plugins import PluginHost
from ..store.links import Scope
from ..store.tables import (
    UTCDateTime,
    attachments,
    comments,
    issues,
    notifications,
    poll_batches,
    poll_rounds,
    request_types,
)
from . import circuits, mail_server, rounds
from .notifications import WAITING

# Stands for "due since ever": a row with no next attempt set is due now. Bound as the
# store's times are (naive UTC), so PostgreSQL compares it with them as they are.
DUE = datetime(2000, 1, 1, tzinfo=UTC)
_DUE = literal(DUE, UTCDateTime())


@dataclass(frozen=True)
class Submitting:
    """One integration as the submit steps treat it: whether its plugin resolves pending
    creates, pushes comments and takes photos (items it cannot take are due at once: they are
    marked kept here)."""

    integration: Integration
    resolves: bool
    pushes_comments: bool
    takes_photos: bool


def submitting(host: PluginHost, integration: Integration) -> Submitting:
    """What the submit steps do for ``integration``, as its plugin says (a plugin that fails to
    say is taken to push everything: its pass meets the failure, and says it)."""
    try:
        pushes = host.capabilities(integration).push_comments
        photos = host.takes_attachments(integration)
    except Exception:
        pushes = photos = True
    return Submitting(
        integration, host.implements("resolve_pending", integration.plugin), pushes, photos
    )


def earliest(times: Iterable[datetime | None]) -> datetime | None:
    """The earliest of ``times`` (None where all are None)."""
    return min((t for t in times if t is not None), default=None)


def _due_at(table: Table, next_at: ColumnElement[Any]) -> ColumnElement[Any]:
    """When a waiting row is due: its next attempt (none set: now), or when another worker's
    lease on it ends if that is later."""
    lease = table.c.lease_until
    return case(
        (and_(lease.is_not(None), or_(next_at.is_(None), lease > next_at)), lease),
        else_=func.coalesce(next_at, _DUE),
    )


def _min(conn: Connection, query: Any) -> datetime | None:
    value = conn.execute(query).scalar()
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def _blocked(
    integration: Integration, down: Mapping[str, circuits.Circuit], paused: Mapping[str, datetime]
) -> datetime | None:
    """When an integration that is down or paused is next looked at (its probe, its pause's
    end), or None when it is up: then its items say when."""
    circuit = down.get(integration.name)
    if circuit is not None:
        return circuit.probe_at if circuit.applies_to(integration) else DUE
    return paused.get(integration.name)


# -- the submit loop --------------------------------------------------------------------------


def submit_due(
    conn: Connection,
    integrations: Sequence[Submitting],
    settings: Settings,
    paused: Mapping[str, datetime],
) -> datetime | None:
    """When the submit loop next has something to do (see the module)."""
    down = circuits.read_all(conn)
    found: list[datetime | None] = []
    for each in integrations:
        blocked = _blocked(each.integration, down, paused)
        if blocked is not None:
            found.append(blocked)
            continue
        found.append(_issues_due(conn, each))
        found.append(_outbox_due(conn, each, comments, each.pushes_comments))
        found.append(_outbox_due(conn, each, attachments, each.takes_photos))
    if settings.email is not None:
        found.append(_emails_due(conn, down.get(mail_server.CIRCUIT), settings))
    return earliest(found)


def _issues_due(conn: Connection, each: Submitting) -> datetime | None:
    """Its Open issues waiting to be submitted (or asked about under a token)."""
    where = [
        issues.c.status == Status.OPEN.value,
        issues.c.integration == each.integration.name,
        issues.c.held.is_(False),
        issues.c.remote_id.is_(None),
    ]
    if not each.resolves:
        where.append(issues.c.pending_token.is_(None))
    return _min(conn, select(func.min(_due_at(issues, issues.c.next_attempt_at))).where(*where))


def _outbox_due(conn: Connection, each: Submitting, table: Table, pushes: bool) -> datetime | None:
    """Its comments or photos waiting to be pushed: of Acknowledged issues linked here (they
    go when due), or of any issue when the plugin takes none (they are marked kept here at
    once). Read from the outbox's partial index, each row's issue by its id."""
    t = table
    waiting: list[ColumnElement[bool]] = [t.c.pushed_at.is_(None), t.c.kept_here.is_(None)]
    waiting.append(t.c.kind == "comment" if t is comments else t.c.purged_at.is_(None))
    # Every row's, but a range on the outbox index's first column: SQLite, which keeps no
    # statistics, would otherwise walk the wider partial index of the photos kept.
    waiting.append(t.c.issue_id > 0)
    if pushes:
        mine = exists().where(
            issues.c.id == t.c.issue_id,
            issues.c.status == Status.ACKNOWLEDGED.value,
            Scope.live(each.integration).condition(),
            issues.c.attention_kind.is_distinct_from("mismatch"),
        )
        query = select(func.min(_due_at(t, t.c.next_attempt_at)))
    else:  # marked kept here at once, however long they waited
        mine = exists().where(
            issues.c.id == t.c.issue_id, issues.c.integration == each.integration.name
        )
        query = select(func.min(_DUE))
    return _min(conn, query.where(*waiting, mine))


def _emails_due(conn: Connection, circuit: circuits.Circuit | None, settings: Settings) -> Any:
    """Residents' emails waiting: the next one due (not before the mail server's probe while
    it is down), and the end of the lease of one a worker was sending (it may have died)."""
    t = notifications
    due = _min(
        conn,
        select(func.min(_due_at(t, t.c.next_try_at))).where(
            *WAITING, t.c.send_attempted_at.is_(None)
        ),
    )
    orphaned = _min(
        conn,
        select(func.min(func.coalesce(t.c.lease_until, _DUE))).where(
            *WAITING, t.c.send_attempted_at.is_not(None)
        ),
    )
    email = settings.email
    if due is not None and circuit is not None and email is not None:
        due = (
            max(due, circuit.probe_at) if circuit.applies_to(mail_server.as_circuit(email)) else due
        )
    return earliest((due, orphaned))


# -- the poll loop ----------------------------------------------------------------------------


def poll_due(
    conn: Connection,
    integrations: Sequence[Integration],
    settings: Settings,
    now: datetime,
    *,
    gap: Mapping[str, timedelta],
    paused: Mapping[str, datetime],
    types_waits: Mapping[str, datetime],
) -> datetime | None:
    """When the poll loop next has something to do (see the module).

    :param gap: how long after a round began the next may begin, by integration.
    :param types_waits: until when a failed refresh of request types is left alone.
    """
    down = circuits.read_all(conn)
    found: list[datetime | None] = []
    for integration in integrations:
        blocked = _blocked(integration, down, paused)
        found.append(_types_due(conn, integration, types_waits))
        if blocked is not None:
            found.append(blocked)
            continue
        found.append(_round_due(conn, integration, now, gap.get(integration.name, timedelta(0))))
    found.append(_archive_due(conn, settings))
    return earliest(found)


def _round_due(
    conn: Connection, integration: Integration, now: datetime, gap: timedelta
) -> datetime | None:
    """Its next poll round, or the next batch of the unfinished one another worker may have
    left (as :func:`.rounds.current` decides)."""
    row = conn.execute(
        select(poll_rounds).where(poll_rounds.c.integration == integration.name)
    ).first()
    if row is None:
        return DUE
    started = _aware(row.started_at)
    if row.finished_at is not None:
        return started + gap
    stale = started + max(2 * gap, rounds.STALE_AT_LEAST)
    b = poll_batches
    batch = _min(
        conn,
        select(func.min(func.coalesce(b.c.lease_until, _DUE))).where(
            b.c.integration == integration.name, b.c.round == row.round, b.c.done.is_(False)
        ),
    )
    return min(stale, batch if batch is not None else DUE)


def _types_due(
    conn: Connection, integration: Integration, waits: Mapping[str, datetime]
) -> datetime | None:
    """When its request types are to be reloaded (never loaded, or no refresh: never)."""
    hours = integration.request_types_refresh_hours
    if not hours:
        return None
    t = request_types
    last = _min(conn, select(func.max(t.c.fetched_at)).where(t.c.integration == integration.name))
    if last is None:
        return None
    due = last + timedelta(hours=hours)
    wait = waits.get(integration.name)
    return max(due, wait) if wait is not None else due


def _archive_due(conn: Connection, settings: Settings) -> datetime | None:
    """Archiving (the earliest Closed issue), and the purges of photos' bytes and contact
    details where they are set (the earliest archived issue that still has them)."""
    closed = _min(
        conn, select(func.min(issues.c.closed_at)).where(issues.c.status == Status.CLOSED.value)
    )
    found = [closed + timedelta(days=settings.organization.archive_after_days) if closed else None]
    keep = settings.images.purge_after_days
    if keep is not None:
        # Per photo whose bytes are kept (a partial index), its issue's archiving by its id.
        archived = (
            select(issues.c.archived_at)
            .where(issues.c.id == attachments.c.issue_id, issues.c.status == Status.ARCHIVED.value)
            .scalar_subquery()
        )
        first = _min(conn, select(func.min(archived)).where(attachments.c.purged_at.is_(None)))
        found.append(first + timedelta(days=keep) if first else None)
    days = settings.privacy.purge_contact_after_days
    if days is not None:
        first = _min(
            conn,
            select(func.min(issues.c.archived_at)).where(
                issues.c.contact_purged_at.is_(None), issues.c.archived_at.is_not(None)
            ),
        )
        found.append(first + timedelta(days=days) if first else None)
    return earliest(found)


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)
