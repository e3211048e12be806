"""A resident's update posted through the door (``POST servicerequestupdates``): who may post
one, on which issues, how many, and storing it once.

An update goes to the crews' request like a staff comment, so the door is strict about it:
only the API key that reported the issue may post to it (``[server] updates_from_any_key``
opens it to every key), never to a Closed or Archived issue (a withdrawn one is Closed: the
update would reach no one), and at most ``[server] max_updates_per_issue`` of them. The key's
name is stored with the comment (``via``): staff see it, and a comment prefix may name it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.exc import IntegrityError

from ..models import Status
from ..store.tables import comments, issues
from ..store.writes import insert_comment

if TYPE_CHECKING:
    from ..config.server import Server
    from ..store.store import Store
    from .form import Update

_ENDED = (Status.CLOSED.value, Status.ARCHIVED.value)
# Built once (each POST of an update runs them): the update already stored under the key's
# name and the client's id; the issue, locked; the updates posted to it.
_FIND = select(comments.c.id).where(
    comments.c.issue_id == bindparam("b_issue"), comments.c.client_ref == bindparam("b_ref")
)
_ISSUE = (
    select(issues.c.status, issues.c.reported_via)
    .where(issues.c.id == bindparam("b_issue"))
    .with_for_update()
)
_POSTED = (
    select(func.count())
    .select_from(comments)
    .where(comments.c.issue_id == bindparam("b_issue"), comments.c.client_ref.is_not(None))
)


@dataclass(frozen=True)
class Refused:
    """Why an update is not taken: the HTTP status and one line for the client."""

    status: int
    reason: str


@dataclass(frozen=True)
class Taken:
    """The comment an update is (``new``: stored now, not a retry of one stored before)."""

    comment_id: int
    new: bool


def post(store: Store, server: Server, update: Update, key_name: str) -> Taken | Refused:
    """Store ``update`` from the key ``key_name`` as a local comment, once per the key's name
    and the client's ``update_id`` (a retry after a lost answer gets the same comment back,
    even if the issue has closed since); or say why it is refused."""
    client_ref = f"{key_name}:{update.update_id}"
    find = {"b_issue": update.issue_id, "b_ref": client_ref}
    try:
        with store.transaction() as conn:
            found = conn.execute(_FIND, find).scalar()
            if found is not None:
                return Taken(int(found), False)
            refused = _refusal(conn, server, update.issue_id, key_name)
            if refused is not None:
                return refused
            comment_id = insert_comment(
                conn, update.issue_id, update.author or "Resident", update.text, "comment",
                client_ref=client_ref, via=key_name,
            )  # fmt: skip
            return Taken(comment_id, True)
    except IntegrityError:  # the same update posted at the same moment: the other one won
        with store.read() as conn:
            found = conn.execute(_FIND, find).scalar()
        if found is None:
            raise
        return Taken(int(found), False)


def _refusal(conn: Connection, server: Server, issue_id: int, key_name: str) -> Refused | None:
    """Why the key ``key_name`` may not add an update to issue ``issue_id`` now, or None."""
    # Locked (on PostgreSQL; SQLite writes one at a time) so two updates at once cannot both
    # be the last one the cap allows.
    issue: Any = conn.execute(_ISSUE, {"b_issue": issue_id}).first()
    if issue is None:
        return Refused(404, f"service request {issue_id} not found")
    if not server.updates_from_any_key and issue.reported_via != key_name:
        return Refused(
            403,
            f"service request {issue_id} was not reported with this api_key; only the client "
            f"that reported it may post updates to it",
        )
    if issue.status in _ENDED:
        return Refused(
            400,
            f"service request {issue_id} is closed; an update would reach no one: report a "
            f"new request if the problem is back",
        )
    posted = conn.execute(_POSTED, {"b_issue": issue_id}).scalar_one()
    if posted >= server.max_updates_per_issue:
        return Refused(
            400,
            f"service request {issue_id} has {posted} updates already, the most this server "
            f"takes for one request; call the city to add more",
        )
    return None
