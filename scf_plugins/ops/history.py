"""What ``scf issues show`` tells beyond the issue's record: the earlier remote requests its
photos went to (before it was resubmitted, moved or withdrawn), why it was sent although
its address check did not accept the address, the emails sent to the resident and when
(staff send one again with :mod:`.notifying`), and when the reporter's contact details
were purged."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from ..store.store import Store


@dataclass(frozen=True)
class EarlierSend:
    """A photo sent to a request its issue has left since (``request`` None: it left before
    scf recorded which one)."""

    remote_id: str | None
    request: str | None
    integration: str | None
    environment: str | None
    sent_at: datetime | None
    left_at: datetime


@dataclass(frozen=True)
class Notice:
    """One email to the resident about an issue (never its address): ``state`` is ``sent``,
    ``waiting``, ``failing`` (waiting; its last try failed), ``uncertain`` or ``skipped``;
    ``reason`` says why for the last three."""

    id: int
    kind: str
    created_at: datetime
    sent_at: datetime | None
    state: str
    reason: str | None


def state(row: Any) -> tuple[str, str | None]:
    """A notification row's state and why (see :class:`Notice`)."""
    if row.sent_at is not None:
        return "sent", None
    if row.skipped is not None:
        return "skipped", row.skipped + (f": {row.last_error}" if row.last_error else "")
    if row.uncertain_at is not None:
        return "uncertain", row.last_error or "its send was interrupted"
    if row.last_error is not None:
        return "failing", row.last_error
    return "waiting", None


def of_issue(conn: Connection, issue_id: int) -> tuple[Notice, ...]:
    """The issue's notifications, oldest first."""
    from sqlalchemy import select

    from ..store.tables import notifications as n

    rows = conn.execute(select(n).where(n.c.issue_id == issue_id).order_by(n.c.id)).all()
    return tuple(Notice(r.id, r.kind, r.created_at, r.sent_at, *state(r)) for r in rows)


@dataclass(frozen=True)
class History:
    """The earlier sends of each photo (by photo id, oldest first), why the issue went
    unverified (None: it did not), its emails to the resident (oldest first), and when its
    reporter's contact details were purged (None: kept)."""

    earlier: Mapping[int, tuple[EarlierSend, ...]] = field(default_factory=dict)
    sent_unverified: str | None = None
    notifications: tuple[Notice, ...] = ()
    contact_purged_at: datetime | None = None


def of(store: Store, issue_id: int) -> History:
    """The history of one issue (empty when there is no such issue)."""
    from sqlalchemy import select

    from ..store.tables import attachment_sends, attachments, issues

    sends = attachment_sends
    with store.read() as conn:
        found = conn.execute(
            select(issues.c.sent_unverified, issues.c.contact_purged_at).where(
                issues.c.id == issue_id
            )
        ).first()
        note, purged = found if found is not None else (None, None)
        notices = of_issue(conn, issue_id)
        rows = conn.execute(
            select(sends)
            .join(attachments, attachments.c.id == sends.c.attachment_id)
            .where(attachments.c.issue_id == issue_id)
            .order_by(sends.c.attachment_id, sends.c.id)
        ).mappings()
        earlier: dict[int, list[EarlierSend]] = {}
        for r in rows:
            earlier.setdefault(r["attachment_id"], []).append(
                EarlierSend(r["remote_id"], r["request"], r["integration"], r["environment"],
                            r["sent_at"], r["left_at"])
            )  # fmt: skip
    return History({k: tuple(v) for k, v in earlier.items()}, note, notices, purged)
