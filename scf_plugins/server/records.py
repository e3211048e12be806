"""What the Open311 GET resources read from the store: issues as service requests (with
their latest system message and first photo), public messages as updates, and when the
request types last changed."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    bindparam,
    func,
    literal_column,
    select,
)

from ..models import Status
from ..store.tables import attachments, comments, issues, request_types

if TYPE_CHECKING:
    from ..store.store import Store

PUBLIC_KINDS = ("system", "remote")  # the messages a resident may read as updates
_OPEN = (Status.OPEN.value, Status.ACKNOWLEDGED.value)
_CLOSED = (Status.CLOSED.value, Status.ARCHIVED.value)


def _written(*values: str) -> list[ColumnElement[Any]]:
    """Constants written into the SQL itself, not sent as parameters: SQLite prepares a
    statement again on every run when a parameter is compared with a column that a partial
    index's condition names (``kind``, ``status``), which costs more than the query."""
    return [literal_column("'" + value.replace("'", "''") + "'") for value in values]


@dataclass(frozen=True)
class Requests:
    """Issue rows, newest first, with each one's latest system message and the URL token
    of its first photo still kept (by issue id; absent when it has none)."""

    rows: Sequence[Any]  # rows of the issues table's columns the documents show
    notes: dict[int, str]
    photos: dict[int, str]


@dataclass(frozen=True)
class Selection:
    """Which issues a GET of requests reads: a statement built once, and its values."""

    statement: Select[Any]
    values: dict[str, Any]


# An issue's latest system message and the URL token of its first photo still kept, read in
# the same statement as the issue (through ix_comments_issue and ix_attachments_issue).
_NOTE = (
    select(comments.c.text)
    .where(comments.c.issue_id == issues.c.id, comments.c.kind == _written("system")[0])
    .order_by(comments.c.id.desc())
    .limit(1)
    .correlate(issues)
    .scalar_subquery()
)
_PHOTO = (
    select(attachments.c.path_token)
    .where(attachments.c.issue_id == issues.c.id, attachments.c.purged_at.is_(None))
    .order_by(attachments.c.id)
    .limit(1)
    .correlate(issues)
    .scalar_subquery()
)
# The columns the documents show, and no other (an issue row also holds the reporter's
# contact, answers' state and sync state, which a service request never shows).
_SHOWN = select(
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
    _NOTE.label("note"),
    _PHOTO.label("photo"),
)
_PAGE: tuple[BindParameter[int], BindParameter[int]] = (
    bindparam("b_limit", type_=Integer),
    bindparam("b_offset", type_=Integer),
)
# Statements are built once (building one costs more than SQLite takes to run it), each the
# same object every time, so SQLAlchemy compiles it once too.
_ONE = _SHOWN.where(issues.c.id == bindparam("b_id"))
_SOME = (
    _SHOWN.where(issues.c.id.in_(bindparam("b_ids", expanding=True)))
    .order_by(issues.c.created_at.desc(), issues.c.id.desc())
    .limit(_PAGE[0])
    .offset(_PAGE[1])
)


def with_ids(ids: list[int]) -> Selection:
    """The issues ``ids``."""
    if len(ids) == 1:
        return Selection(_ONE, {"b_id": ids[0]})
    return Selection(_SOME, {"b_ids": ids})


def filtered(start: datetime, end: datetime, codes: list[str], statuses: set[str]) -> Selection:
    """The issues reported from ``start`` to ``end``, of one of ``codes`` (any when empty),
    and ``open`` or ``closed`` when ``statuses`` names just one of them."""
    status = "open" if statuses == {"open"} else "closed" if statuses == {"closed"} else ""
    values: dict[str, Any] = {"b_start": start, "b_end": end}
    if codes:
        values["b_codes"] = codes
    return Selection(_filtered(bool(codes), status), values)


@functools.cache
def _filtered(codes: bool, status: str) -> Select[Any]:
    """The statement of :func:`filtered` (one for each shape of filter, built once)."""
    conditions = [
        issues.c.created_at >= bindparam("b_start"),
        issues.c.created_at <= bindparam("b_end"),
    ]
    if codes:
        conditions.append(issues.c.request_type.in_(bindparam("b_codes", expanding=True)))
    if status:
        conditions.append(issues.c.status.in_(_written(*(_OPEN if status == "open" else _CLOSED))))
    return (
        _SHOWN.where(*conditions)
        .order_by(issues.c.created_at.desc(), issues.c.id.desc())
        .limit(_PAGE[0])
        .offset(_PAGE[1])
    )


def requests(store: Store, selection: Selection, limit: int, offset: int) -> Requests:
    """The issues ``selection`` names (a page of them), newest first."""
    values = {**selection.values, "b_limit": limit, "b_offset": offset}
    with store.read() as conn:
        rows = conn.execute(selection.statement, values).all()
    notes = {int(r.id): str(r.note) for r in rows if r.note is not None}
    photos = {int(r.id): str(r.photo) for r in rows if r.photo is not None}
    return Requests(rows, notes, photos)


def updates(
    store: Store, start: datetime, end: datetime, ids: list[int] | None, limit: int, offset: int
) -> Sequence[Any]:
    """The public messages written from ``start`` to ``end`` (of the issues ``ids``, when
    given), oldest first, with their issue's status."""
    values: dict[str, Any] = {"b_start": start, "b_end": end, "b_limit": limit}
    values["b_offset"] = offset
    if ids is not None:
        values["b_ids"] = ids
    with store.read() as conn:
        return conn.execute(_updates(ids is not None), values).all()


@functools.cache
def _updates(of_issues: bool) -> Select[Any]:
    """The statement of :func:`updates`, with or without a list of issues (built once)."""
    conditions = [
        comments.c.kind.in_(_written(*PUBLIC_KINDS)),
        comments.c.created_at >= bindparam("b_start"),
        comments.c.created_at <= bindparam("b_end"),
    ]
    if of_issues:
        conditions.append(comments.c.issue_id.in_(bindparam("b_ids", expanding=True)))
    return (
        select(
            comments.c.id,
            comments.c.issue_id,
            comments.c.text,
            comments.c.created_at,
            issues.c.status,
            issues.c.closed_at,
        )
        .join(issues, issues.c.id == comments.c.issue_id)
        .where(*conditions)
        .order_by(comments.c.created_at, comments.c.id)
        .limit(_PAGE[0])
        .offset(_PAGE[1])
    )


_TYPES_CHANGED = select(func.max(request_types.c.fetched_at))


def types_changed(store: Store) -> datetime | None:
    """When the request types were last read from a remote system (None: never)."""
    with store.read() as conn:
        changed: datetime | None = conn.execute(_TYPES_CHANGED).scalar()
    return changed
