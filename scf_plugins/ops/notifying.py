"""``scf notifications retry ID``: a resident's email sent again when staff say so (what was
sent about an issue and when is :mod:`.history`'s, for ``scf issues show``).

SMTP cannot be asked whether a message arrived, so the engine never sends a notification a
second time on its own: one whose send was interrupted after the server may have taken it is
*uncertain* (:mod:`scf_plugins.engine.notifications`). Staff who know it did not arrive (the
resident said so, the mail server's log shows no delivery) send it again with ``retry``; so
can they one that failed or that the mail server refused. The resend carries the same
Message-ID, so a mail client that got the first may treat the second as the same message.
Nothing is sent again against the resident's wishes: a notification skipped because they
unsubscribed, or whose contact details were purged, stays as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import UserError
from .history import state

if TYPE_CHECKING:
    from ..config.settings import Settings
    from ..store.store import Store

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
