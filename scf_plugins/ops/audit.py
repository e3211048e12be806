"""The audit log: who changed what, from the console or the command line, newest first.

Every core function that changes something writes one entry after it succeeded (:func:`record`).
An actor is a plain string: ``"<os user> (cli)"`` from the command line, ``"<staff name>
(console)"`` from the console. A detail is short and never holds a secret: it is redacted (the
second line of defence, as for logs), put on one line and capped before it is stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..net.redaction import redact
from ..timeutil import iso, local_time, utcnow
from .views import table

if TYPE_CHECKING:
    from ..store.store import Store

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class AuditEntry:
    """One change as the log keeps it."""

    id: int
    at: datetime
    actor: str
    action: str
    issue_id: int | None
    integration: str | None
    detail: str


def record(
    store: Store,
    actor: str,
    action: str,
    *,
    issue_id: int | None = None,
    integration: str | None = None,
    detail: str = "",
) -> None:
    """Write one entry: ``actor`` did ``action`` (``issues.comment``, ``api_keys.create``…)
    on ``issue_id`` or ``integration``; ``detail`` says what in a few words."""
    record_each(store, actor, action, [issue_id], integration=integration, detail=detail)


def record_each(
    store: Store,
    actor: str,
    action: str,
    issue_ids: Iterable[int | None],
    *,
    integration: str | None = None,
    detail: str = "",
) -> None:
    """Write an entry per issue of ``issue_ids`` (a bulk action on issues named one by
    one), all in one transaction."""
    from ..store.tables import audit, fit

    now = utcnow()
    rows = [
        {
            "at": now,
            "actor": fit(audit.c.actor, _one_line(actor)),
            "action": fit(audit.c.action, action),
            "issue_id": issue_id,
            "integration": fit(audit.c.integration, integration),
            "detail": _detail(detail),
        }
        for issue_id in dict.fromkeys(issue_ids)
    ]
    if not rows:
        return
    with store.transaction() as conn:
        conn.execute(audit.insert(), rows)


def _one_line(text: str) -> str:
    """``text`` redacted, its runs of whitespace (newlines included) made one space."""
    return " ".join(redact(text).split())


def _detail(text: str) -> str:
    """A detail as stored: one redacted line, cut to the column with an ellipsis."""
    from ..store.tables import audit, length

    cap = length(audit.c.detail)
    text = _one_line(text)
    return text if len(text) <= cap else text[: cap - 1] + "…"


def listed(
    store: Store,
    limit: int = DEFAULT_LIMIT,
    *,
    before: int | None = None,
    after: int | None = None,
) -> list[AuditEntry]:
    """Up to ``limit`` entries (1 to :data:`MAX_LIMIT`), newest first: the newest, or those
    just older than the entry ``before``, or just newer than the entry ``after`` (keyset
    pages on the id: an entry written meanwhile shifts no page, and a deep page costs what
    the first does)."""
    from sqlalchemy import select

    from ..store.tables import audit

    if before is not None and after is not None:
        raise ValueError("give before or after, not both")
    limit = max(1, min(limit, MAX_LIMIT))
    query = select(audit)
    if after is not None:
        query = query.where(audit.c.id > after).order_by(audit.c.id)
    else:
        query = query.order_by(audit.c.id.desc())
        if before is not None:
            query = query.where(audit.c.id < before)
    with store.read() as conn:
        rows = conn.execute(query.limit(limit)).all()
    if after is not None:
        rows = rows[::-1]
    return [
        AuditEntry(r.id, r.at, r.actor, r.action, r.issue_id, r.integration, r.detail) for r in rows
    ]


def as_json(entries: Sequence[AuditEntry]) -> list[dict[str, Any]]:
    """The ``scf audit --json`` shape: a list of objects, times in ISO 8601 UTC."""
    return [
        {
            "id": e.id,
            "at": iso(e.at),
            "actor": e.actor,
            "action": e.action,
            "issue_id": e.issue_id,
            "integration": e.integration,
            "detail": e.detail,
        }
        for e in entries
    ]


def text(entries: Sequence[AuditEntry], zone: str) -> str:
    """The entries as a table for people, times in ``zone`` (the organization's)."""
    if not entries:
        return "no audit entries yet"
    rows = [
        [
            local_time(iso(e.at), zone),
            e.actor,
            e.action,
            "" if e.issue_id is None else str(e.issue_id),
            e.integration or "",
            e.detail,
        ]
        for e in entries
    ]
    return table(["when", "who", "what", "issue", "integration", "detail"], rows)
