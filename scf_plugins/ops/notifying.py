"""Residents' emails in staff's hands: ``scf notifications list`` finds them (by state, never
with the address), ``retry ID`` sends one again and ``dismiss ID…`` lets one go (what was sent
about an issue and when is :mod:`.history`'s, for ``scf issues show``).

SMTP cannot be asked whether a message arrived, so the engine never sends a notification a
second time on its own: one whose send was interrupted after the server may have taken it is
*uncertain* (:mod:`scf_plugins.engine.notifications`). Staff who know it did not arrive (the
resident said so, the mail server's log shows no delivery) send it again with ``retry``; so
can they one that failed or that the mail server refused. The resend carries the same
Message-ID, so a mail client that got the first may treat the second as the same message.
Nothing is sent again against the resident's wishes: a notification skipped because they
unsubscribed, or whose contact details were purged, stays as it is. Staff who decide an
uncertain or failing one should not go (the resident was told otherwise, the news is stale)
dismiss it: it is skipped "dismissed by" them, audited, and no longer counted as uncertain or
failing; ``retry`` undoes that.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from ..timeutil import iso
from .history import state

if TYPE_CHECKING:
    from ..config.settings import Settings
    from ..store.store import Store

STATES = ("waiting", "failing", "uncertain", "sent", "skipped")  # as history.state says them
MAX_LISTED = 10_000
DISMISSABLE = ("uncertain", "failing")

# Skips a retry does not undo: the resident's wishes and the records policy.
_FINAL = {
    "switched off": "its kind is switched off in [notifications] send",
    "unsubscribed": "the resident unsubscribed",
    "no email": "the issue has no reporter email",
    "contact purged": "the reporter's contact details were purged",
}


@dataclass(frozen=True)
class Retried:
    """What ``scf notifications retry`` did, for one line to the operator."""

    id: int
    issue_id: int
    kind: str
    was: str
    mail_server: str | None  # why the mail server is down, if it is: the send waits for it

    def text(self) -> str:
        """What the next pass does."""
        line = (
            f"notification {self.id} ({self.kind}) of issue {self.issue_id} was {self.was}; "
            f"it is sent on the next pass"
        )
        if self.was == "uncertain":
            line += " (if the first one did arrive, the resident gets it twice)"
        if self.mail_server:
            line += f"; {self.mail_server}"
        return line


def retry(settings: Settings, store: Store, notification_id: int, *, actor: str) -> Retried:
    """Make a notification due again (uncertain, failing or refused), end the wait of the
    mail server's circuit, and audit it; a clear refusal for one that was sent, that the
    resident's wishes stopped, or that a worker is sending now."""
    from sqlalchemy import select

    from ..engine import circuits
    from ..engine.leases import lease_free
    from ..engine.mail_server import as_circuit
    from ..store.tables import notifications as n
    from ..timeutil import iso, utcnow
    from . import audit

    now = utcnow()
    with store.transaction() as conn:
        row = conn.execute(select(n).where(n.c.id == notification_id)).first()
        if row is None:
            raise UserError(
                f"there is no notification {notification_id}; `scf issues show ID` lists an issue's"
            )
        was, _ = state(row)
        if row.sent_at is not None:
            raise UserError(
                f"notification {notification_id} was sent at {iso(row.sent_at)}; nothing to retry"
            )
        if row.skipped in _FINAL:
            raise UserError(
                f"notification {notification_id} is not sent: {_FINAL[row.skipped]}; it stays so"
            )
        if settings.email is None:
            raise UserError("[email] is not set in the config: nothing would send it")
        changed = conn.execute(
            n.update()
            .where(n.c.id == notification_id, n.c.sent_at.is_(None), lease_free(n, now))
            .values(
                uncertain_at=None,
                send_attempted_at=None,
                skipped=None,
                next_try_at=now,
                lease_owner=None,
                lease_until=None,
            )
        ).rowcount
        if changed != 1:
            raise UserError(f"a worker is sending notification {notification_id} now")
        down = circuits.end_waits(conn, [as_circuit(settings.email)], now)
    audit.record(
        store,
        actor,
        "notifications.retry",
        issue_id=row.issue_id,
        detail=f"notification {notification_id} ({row.kind}), {was} before",
    )
    waiting = down[0].waiting(now) if down else None
    return Retried(notification_id, row.issue_id, row.kind, was, waiting)


@dataclass(frozen=True)
class Listed:
    """One notification as ``scf notifications list`` shows it, never with its address.
    ``when`` is, by state: when it was sent, since when it is uncertain, when it is tried
    next (waiting, failing), when it was queued (skipped)."""

    id: int
    issue_id: int
    kind: str
    state: str
    when: datetime | None
    reason: str | None

    def json(self) -> dict[str, Any]:
        """The ``--json`` shape of one notification."""
        return {
            "id": self.id,
            "issue_id": self.issue_id,
            "kind": self.kind,
            "state": self.state,
            "when": iso(self.when),
            "reason": self.reason,
        }


def listing(store: Store, state_: str | None = None, limit: int = 50) -> list[Listed]:
    """The notifications in ``state_`` (any when None), newest first, at most ``limit``.
    Waiting, failing and uncertain ones are read through their partial indexes."""
    from sqlalchemy import select

    from ..store.tables import notifications as n

    if state_ is not None and state_ not in STATES:
        raise UserError(f"{state_!r} is not a state; use one of {', '.join(STATES)}")
    query = select(n).order_by(n.c.id.desc()).limit(max(1, min(limit, MAX_LISTED)))
    if state_ is not None:
        query = query.where(*_in_state(state_))
    with store.read() as conn:
        return [_listed(row) for row in conn.execute(query)]


def _in_state(name: str) -> tuple[Any, ...]:
    """The conditions of a notification in state ``name`` (what :func:`.history.state`
    decides, as SQL)."""
    from ..store.tables import notifications as n

    waiting = (n.c.sent_at.is_(None), n.c.skipped.is_(None), n.c.uncertain_at.is_(None))
    return {
        "waiting": (*waiting, n.c.last_error.is_(None)),
        "failing": (*waiting, n.c.last_error.is_not(None)),
        "uncertain": (n.c.uncertain_at.is_not(None), n.c.sent_at.is_(None), n.c.skipped.is_(None)),
        "sent": (n.c.sent_at.is_not(None),),
        "skipped": (n.c.skipped.is_not(None), n.c.sent_at.is_(None)),
    }[name]


def _listed(row: Any) -> Listed:
    shown, why = state(row)
    when = {
        "sent": row.sent_at,
        "uncertain": row.uncertain_at,
        "skipped": row.created_at,
    }.get(shown, row.next_try_at)
    return Listed(row.id, row.issue_id, row.kind, shown, when, why)


@dataclass(frozen=True)
class Dismissed:
    """What ``scf notifications dismiss`` did to one notification (``done`` False: nothing,
    and ``text`` says why)."""

    id: int
    done: bool
    text: str

    def line(self) -> str:
        """One line for the operator."""
        return f"notification {self.id}: {self.text}"


def dismiss(store: Store, ids: Sequence[int], *, actor: str) -> Iterator[Dismissed]:
    """Skip each uncertain or failing notification of ``ids`` for good, "dismissed by"
    ``actor``, and audit it; any other is left as it is, with a clear refusal."""
    for notification_id in ids:
        yield _dismiss_one(store, notification_id, actor)


def _dismiss_one(store: Store, notification_id: int, actor: str) -> Dismissed:
    from sqlalchemy import select

    from ..engine.leases import lease_free
    from ..store.tables import fit
    from ..store.tables import notifications as n
    from ..timeutil import utcnow
    from . import audit

    now = utcnow()
    with store.transaction() as conn:
        row = conn.execute(select(n).where(n.c.id == notification_id)).first()
        if row is None:
            return Dismissed(notification_id, False, "there is no such notification")
        was, _ = state(row)
        if was not in DISMISSABLE:
            return Dismissed(
                notification_id,
                False,
                f"it is {was}; only an uncertain or failing one is dismissed",
            )
        changed = conn.execute(
            n.update()
            .where(n.c.id == notification_id, *_in_state(was), lease_free(n, now))
            .values(
                skipped=fit(n.c.skipped, f"dismissed by {actor}"),
                uncertain_at=None,
                send_attempted_at=None,
                lease_owner=None,
                lease_until=None,
            )
        ).rowcount
        if changed != 1:
            return Dismissed(notification_id, False, "a worker is sending it now; try again")
    audit.record(
        store,
        actor,
        "notifications.dismiss",
        issue_id=row.issue_id,
        detail=f"notification {notification_id} ({row.kind}), {was} before",
    )
    return Dismissed(
        notification_id,
        True,
        f"dismissed ({row.kind} of issue {row.issue_id}, {was} before); it is not sent "
        f"unless `scf notifications retry {notification_id}`",
    )
