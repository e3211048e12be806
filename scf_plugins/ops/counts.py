"""The store's figures per integration that ``scf status`` shows: issues by status, what
waits, what fails, what is stuck, held or pending, and the photos still to send; and the
residents' emails waiting, failing and uncertain.

The conditions here are the one definition of each kind of issue: ``scf status`` counts with
them, and ``scf issues list --status …`` and the bulk ``resubmit``/``withdraw`` select with
:func:`ids`, so a count and its listing always agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, and_, func, select

from ..models import Status
from ..store import tallies
from ..store.tables import attachments, issues, notifications

STUCK_AFTER = 5  # failed attempts after which an issue counts (and is listed) as stuck
_LIVE = (Status.OPEN.value, Status.ACKNOWLEDGED.value)
_UNARCHIVED = tuple(s.value for s in Status if s is not Status.ARCHIVED)
Kind = Literal["stuck", "attention", "failing", "held", "unrouted", "pending"]


def stuck() -> Any:
    """The condition of a stuck issue: Open or Acknowledged, and failing for a while (a held
    issue waits for its address, counted as held) or waiting for a person. A closed issue is
    never stuck, whatever it still carries."""
    failing_long = and_(
        issues.c.attempts >= STUCK_AFTER,
        issues.c.last_error.is_not(None),
        issues.c.held.is_(False),
    )
    return and_(issues.c.status.in_(_LIVE), failing_long | issues.c.attention.is_not(None))


def attention() -> Any:
    """The condition of an issue waiting for a person: Open or Acknowledged and flagged (see
    :mod:`scf_plugins.engine.attention`)."""
    return and_(issues.c.status.in_(_LIVE), issues.c.attention.is_not(None))


def failing_now() -> Any:
    """The condition of a failing issue: Open or Acknowledged, and its last attempt failed (a
    held address is no failure)."""
    return and_(
        issues.c.status.in_(_LIVE),
        issues.c.last_error_kind.is_not(None),
        issues.c.last_error_kind != "held",
    )


def held() -> Any:
    """The condition of a held issue: waiting for staff to check its address (read from the
    partial index of held issues, ``ix_issues_held``, whose condition this is)."""
    return issues.c.held.is_(True)


def unrouted_now() -> Any:
    """The condition of an unrouted issue: Open with no integration (cancelled remotely)."""
    return and_(issues.c.status == Status.OPEN.value, issues.c.integration.is_(None))


def pending_now() -> Any:
    """The condition of a pending issue: Open, accepted under a token, its request number not
    known yet (as :func:`pending` counts them)."""
    return and_(issues.c.status == Status.OPEN.value, issues.c.pending_token.is_not(None))


_KINDS = {
    "stuck": stuck,
    "attention": attention,
    "failing": failing_now,
    "held": lambda: and_(issues.c.status == Status.OPEN.value, held()),
    "unrouted": unrouted_now,
    "pending": pending_now,
}


def condition(kind: Kind) -> Any:
    """The condition of the issues of ``kind`` (what :func:`ids` selects)."""
    return _KINDS[kind]()


def ids(
    conn: Connection, kind: Kind, integration: str | None = None, limit: int | None = None
) -> list[int]:
    """The ids of the issues of ``kind`` (of ``integration``, if given), newest first."""
    query = select(issues.c.id).where(condition(kind)).order_by(issues.c.id.desc())
    if integration is not None:
        query = query.where(issues.c.integration == integration)
    if limit is not None:
        query = query.limit(limit)
    return [int(i) for i in conn.execute(query).scalars()]


def total(conn: Connection, condition: Any) -> int:
    """How many issues meet ``condition``, whatever their integration (none included)."""
    return int(conn.execute(select(func.count()).where(condition)).scalar() or 0)


def by_status(conn: Connection) -> dict[tuple[str, str], int]:
    """Issues per (integration, status). The archived ones are the store's tally of them
    (:mod:`scf_plugins.store.tallies`), not counted: they are most of a store that has run a
    few years, and every status and scrape would read them all."""
    if not tallies.kept(conn):
        return _counted_by_status(conn)
    rows = conn.execute(
        select(issues.c.integration, issues.c.status, func.count())
        .where(issues.c.status.in_(_UNARCHIVED))
        .group_by(issues.c.integration, issues.c.status)
    )
    out = {(str(r[0]), str(r[1])): int(r[2]) for r in rows if r[0] is not None}
    for integration, count in tallies.read(conn, tallies.ARCHIVED).items():
        if count:
            out[(integration, Status.ARCHIVED.value)] = count
    return out


def _counted_by_status(conn: Connection) -> dict[tuple[str, str], int]:
    """:func:`by_status` counted over every issue (a database without the tallies' triggers)."""
    rows = conn.execute(
        select(issues.c.integration, issues.c.status, func.count()).group_by(
            issues.c.integration, issues.c.status
        )
    )
    return {(str(r[0]), str(r[1])): int(r[2]) for r in rows if r[0] is not None}


def waiting(conn: Connection) -> dict[str, tuple[int, datetime | None]]:
    """Open issues waiting to be submitted per integration: how many, and the oldest."""
    rows = conn.execute(
        select(issues.c.integration, func.count(), func.min(issues.c.created_at))
        .where(
            issues.c.status == Status.OPEN.value,
            issues.c.integration.is_not(None),
            issues.c.remote_id.is_(None),
            issues.c.pending_token.is_(None),
            issues.c.held.is_(False),
        )
        .group_by(issues.c.integration)
    )
    return {str(r[0]): (int(r[1]), _aware(r[2])) for r in rows}


def photos(conn: Connection) -> dict[str, tuple[int, int]]:
    """Photos not sent yet (nor kept here) per integration: how many, and how many failing.
    Only photos that can still go count: a closed issue's photo is never sent, so a failure
    it had must not keep the status failing for good."""
    rows = conn.execute(
        select(
            issues.c.integration,
            func.count(),
            func.count(attachments.c.last_error),
        )
        .select_from(attachments.join(issues, issues.c.id == attachments.c.issue_id))
        .where(
            attachments.c.pushed_at.is_(None),
            attachments.c.kept_here.is_(None),
            attachments.c.purged_at.is_(None),
            issues.c.status.in_(_LIVE),
        )
        .group_by(issues.c.integration)
    )
    return {str(r[0]): (int(r[1]), int(r[2])) for r in rows}


def pending(conn: Connection) -> dict[str, tuple[int, datetime | None]]:
    """Creates accepted under a token, no remote id yet, per integration: how many, the oldest."""
    rows = conn.execute(
        select(issues.c.integration, func.count(), func.min(issues.c.pending_since))
        .where(pending_now())
        .group_by(issues.c.integration)
    )
    return {str(r[0]): (int(r[1]), _aware(r[2])) for r in rows}


def failing(conn: Connection) -> dict[str, dict[str, int]]:
    """Live issues whose last attempt failed, per integration and kind of failure."""
    rows = conn.execute(
        select(issues.c.integration, issues.c.last_error_kind, func.count())
        .where(failing_now(), issues.c.integration.is_not(None))
        .group_by(issues.c.integration, issues.c.last_error_kind)
    )
    out: dict[str, dict[str, int]] = {}
    for name, kind, count in rows:
        out.setdefault(str(name), {})[str(kind)] = int(count)
    return out


def by_integration(conn: Connection, condition: Any) -> dict[str, int]:
    """Issues meeting ``condition`` per integration."""
    rows = conn.execute(
        select(issues.c.integration, func.count()).where(condition).group_by(issues.c.integration)
    )
    return {str(r[0]): int(r[1]) for r in rows if r[0] is not None}


def unrouted(conn: Connection) -> int:
    """Open issues no integration serves (their request was cancelled remotely)."""
    return total(conn, unrouted_now())


def _aware(value: Any) -> datetime | None:
    """``func.min`` of a UTC column comes back naive from SQLite; it is UTC."""
    if value is None:
        return None
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(when, datetime)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def emails(conn: Connection) -> dict[str, int]:
    """Residents' emails: ``waiting`` to be sent (``failing`` of them: their last try failed,
    they are tried again), and ``uncertain`` (their send was interrupted after the server may
    have taken them: sent again only by ``scf notifications retry``). Each count reads a
    partial index of the rows it counts, never the whole table."""
    n = notifications
    waiting = (n.c.sent_at.is_(None), n.c.skipped.is_(None), n.c.uncertain_at.is_(None))
    count, failing = conn.execute(
        select(func.count(), func.count(n.c.last_error)).where(*waiting)
    ).one()
    uncertain = conn.execute(select(func.count()).where(n.c.uncertain_at.is_not(None))).scalar()
    return {"waiting": int(count), "failing": int(failing), "uncertain": int(uncertain or 0)}
