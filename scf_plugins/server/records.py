"""What the Open311 GET resources read from the store: issues as service requests (with
their latest system message and first photo), public messages as updates, and when the
request types last changed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, func, select

from ..models import Status
from ..store.tables import attachments, comments, issues, request_types

if TYPE_CHECKING:
    from ..store.store import Store

PUBLIC_KINDS = ("system", "remote")  # the messages a resident may read as updates
_OPEN = (Status.OPEN.value, Status.ACKNOWLEDGED.value)
_CLOSED = (Status.CLOSED.value, Status.ARCHIVED.value)


@dataclass(frozen=True)
class Requests:
    """Issue rows, newest first, with each one's latest system message and the URL token
    of its first photo still kept (by issue id; absent when it has none)."""

    rows: Sequence[Any]  # rows of the issues table's columns the documents show
    notes: dict[int, str]
    photos: dict[int, str]


def with_ids(ids: list[int]) -> Any:
    """The condition on issues: one of ``ids``."""
    return issues.c.id.in_(ids)


def filtered(start: datetime, end: datetime, codes: list[str], statuses: set[str]) -> Any:
    """The condition on issues: reported from ``start`` to ``end``, of one of ``codes`` (any
    when empty), and ``open`` or ``closed`` when ``statuses`` names just one of them."""
    conditions = [issues.c.created_at >= start, issues.c.created_at <= end]
    if codes:
        conditions.append(issues.c.request_type.in_(codes))
    if statuses == {"open"}:
        conditions.append(issues.c.status.in_(_OPEN))
    elif statuses == {"closed"}:
        conditions.append(issues.c.status.in_(_CLOSED))
    return and_(*conditions)


def requests(store: Store, condition: Any, limit: int, offset: int) -> Requests:
    """The issues meeting ``condition`` (a page of them), newest first."""
    with store.read() as conn:
        rows = conn.execute(
            select(
                issues.c.id,
                issues.c.request_type,
                issues.c.status,
                issues.c.summary,
                issues.c.description,
                issues.c.lat,
                issues.c.lng,
                issues.c.address,
                issues.c.image_url,
                issues.c.created_at,
                issues.c.updated_at,
                issues.c.closed_at,
            )
            .where(condition)
            .order_by(issues.c.created_at.desc(), issues.c.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        ids = [r.id for r in rows]
        return Requests(rows, _latest_notes(conn, ids), _first_photos(conn, ids))


def updates(
    store: Store, start: datetime, end: datetime, ids: list[int] | None, limit: int, offset: int
) -> Sequence[Any]:
    """The public messages written from ``start`` to ``end`` (of the issues ``ids``, when
    given), oldest first, with their issue's status."""
    conditions = [
        comments.c.kind.in_(PUBLIC_KINDS),
        comments.c.created_at >= start,
        comments.c.created_at <= end,
    ]
    if ids is not None:
        conditions.append(comments.c.issue_id.in_(ids))
    with store.read() as conn:
        return conn.execute(
            select(
                comments.c.id,
                comments.c.issue_id,
                comments.c.text,
                comments.c.created_at,
                issues.c.status,
                issues.c.closed_at,
                issues.c.image_url,
            )
            .join(issues, issues.c.id == comments.c.issue_id)
            .where(*conditions)
            .order_by(comments.c.created_at, comments.c.id)
            .limit(limit)
            .offset(offset)
        ).all()


def types_changed(store: Store) -> datetime | None:
    """When the request types were last read from a remote system (None: never)."""
    with store.read() as conn:
        changed: datetime | None = conn.execute(
            select(func.max(request_types.c.fetched_at))
        ).scalar()
    return changed


def _latest_notes(conn: Connection, issue_ids: list[int]) -> dict[int, str]:
    """The latest system message of each issue."""
    if not issue_ids:
        return {}
    latest = (
        select(func.max(comments.c.id))
        .where(comments.c.issue_id.in_(issue_ids), comments.c.kind == "system")
        .group_by(comments.c.issue_id)
    )
    rows = conn.execute(
        select(comments.c.issue_id, comments.c.text).where(comments.c.id.in_(latest))
    ).all()
    return {int(r.issue_id): str(r.text) for r in rows}


def _first_photos(conn: Connection, issue_ids: list[int]) -> dict[int, str]:
    """The URL token of each issue's first photo still kept (not purged)."""
    if not issue_ids:
        return {}
    first = (
        select(func.min(attachments.c.id))
        .where(attachments.c.issue_id.in_(issue_ids), attachments.c.purged_at.is_(None))
        .group_by(attachments.c.issue_id)
    )
    rows = conn.execute(
        select(attachments.c.issue_id, attachments.c.path_token).where(attachments.c.id.in_(first))
    ).all()
    return {int(r.issue_id): str(r.path_token) for r in rows}
