"""What ``scf issues show`` tells beyond the issue's record: the earlier remote requests its
photos went to (before it was resubmitted, moved or withdrawn), and why it was sent although
its address check did not accept the address."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
class History:
    """The earlier sends of each photo (by photo id, oldest first), and why the issue went
    unverified (None: it did not)."""

    earlier: Mapping[int, tuple[EarlierSend, ...]] = field(default_factory=dict)
    sent_unverified: str | None = None


def of(store: Store, issue_id: int) -> History:
    """The history of one issue (empty when there is no such issue)."""
    from sqlalchemy import select

    from ..store.tables import attachment_sends, attachments, issues

    sends = attachment_sends
    with store.read() as conn:
        note = conn.execute(
            select(issues.c.sent_unverified).where(issues.c.id == issue_id)
        ).scalar()
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
    return History({k: tuple(v) for k, v in earlier.items()}, note)
