"""Writing issues: reports, comments, and the staff actions (edit, recategorize, hold,
retry); and the inserts the engine makes inside its own transactions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from ..intake.images import Photo
from ..models import Answer, CommentKind, NewIssue, Status
from ..timeutil import utcnow
from .base import StoreBase
from .links import new_marker
from .photos import insert_photo
from .tables import answers, attachments, comments, issues


class IssueWrites(StoreBase):
    """Every change to an issue that a person or a client makes (the engine's are its own)."""

    def create_issue(self, new: NewIssue, photos: Sequence[Photo] = ()) -> int:
        """Store a new Open issue with its answers and photos, in one transaction; returns
        its id."""
        return self.create_issues([(new, photos)])[0]

    def create_issues(self, reports: Sequence[tuple[NewIssue, Sequence[Photo]]]) -> list[int]:
        """Store new Open issues, each with its answers and photos, all in one transaction
        (all or none); returns their ids, in order."""
        now = utcnow()
        with self.transaction() as conn:
            ids = _insert_issues(conn, [new for new, _ in reports], now)
            conn.execute(
                _FIRST_MARKER,
                [{"b_id": i, "b_marker": new_marker(self.store_id, i, 1)} for i in ids],
            )
            insert_answers_of(
                conn, [(i, new.answers) for i, (new, _) in zip(ids, reports, strict=True)]
            )
            for issue_id, (_, photos) in zip(ids, reports, strict=True):
                for photo in photos:
                    insert_photo(conn, issue_id, photo, now)
        return ids

    def add_comment(
        self, issue_id: int, author: str, text: str, kind: CommentKind = "comment"
    ) -> int:
        """Add a comment (a local one is pushed on the next pass); returns its id."""
        with self.transaction() as conn:
            return insert_comment(conn, issue_id, author, text, kind)

    def release_hold(self, issue_id: int, address: str | None) -> bool:
        """Let a held issue be submitted: with a corrected address (validated again), or as is."""
        values: dict[str, Any] = {
            "held": False,
            "next_attempt_at": None,
            "last_error": None,
            "last_error_kind": None,
            "attempts": 0,
            "updated_at": utcnow(),
        }
        if address is not None:
            values.update(address=address, address_check=None)
        with self.transaction() as conn:
            return bool(
                conn.execute(
                    issues.update()
                    .where(issues.c.id == issue_id, issues.c.held.is_(True))
                    .values(**values)
                ).rowcount
            )

    def retry(self, issue_ids: Sequence[int]) -> tuple[int, int]:
        """Clear the back-off of Open, unlinked, routed issues (not held ones: they wait for
        an address), and of the issues' local comments and photos not yet pushed; a remote-id
        conflict flag goes too, since retrying is how staff say it is resolved. Returns how
        many issues, and how many comments and photos, were changed."""
        ids = list(issue_ids)
        now = utcnow()
        with self.transaction() as conn:
            count = 0
            pushed = 0
            for start in range(0, len(ids), 500):  # bounded IN lists
                chunk = ids[start : start + 500]
                count += conn.execute(
                    issues.update()
                    .where(
                        issues.c.id.in_(chunk),
                        issues.c.status == Status.OPEN.value,
                        issues.c.remote_id.is_(None),
                        issues.c.integration.is_not(None),
                        issues.c.held.is_(False),
                    )
                    .values(attempts=0, next_attempt_at=None, updated_at=now)
                ).rowcount
                conn.execute(
                    issues.update()
                    .where(issues.c.id.in_(chunk), issues.c.attention_kind == "conflict")
                    .values(attention=None, attention_kind=None)
                )
                pushed += conn.execute(
                    comments.update()
                    .where(
                        comments.c.issue_id.in_(chunk),
                        comments.c.kind == "comment",
                        comments.c.pushed_at.is_(None),
                        comments.c.next_attempt_at.is_not(None),
                    )
                    .values(attempts=0, next_attempt_at=None)
                ).rowcount
                pushed += conn.execute(
                    attachments.update()
                    .where(
                        attachments.c.issue_id.in_(chunk),
                        attachments.c.pushed_at.is_(None),
                        attachments.c.next_attempt_at.is_not(None),
                    )
                    .values(attempts=0, next_attempt_at=None)
                ).rowcount
        return int(count), int(pushed)

    def edit(self, issue_id: int, new: NewIssue) -> str | None:
        """Correct an issue not yet sent: its text, point, address and answers become
        ``new``'s, its sync state starts afresh (the address is checked again). Returns why
        it cannot be edited, or None when it was."""
        now = utcnow()
        with self.transaction() as conn:
            row = conn.execute(
                select(issues.c.status, issues.c.remote_id, issues.c.submit_attempted,
                       issues.c.lease_owner, issues.c.lease_until)
                .where(issues.c.id == issue_id)
            ).first()  # fmt: skip
            if row is None:
                return f"there is no issue {issue_id}; see `scf issues list`"
            if row.status != Status.OPEN.value or row.remote_id is not None:
                return (
                    (
                        f"issue {issue_id} is {row.status} and linked to remote request "
                        f"{row.remote_id}: only an issue not yet sent can be edited; correct it in "
                        f"the remote system, or `scf issues resubmit {issue_id}`"
                    )
                    if row.remote_id
                    else f"issue {issue_id} is {row.status}; it cannot be edited"
                )
            if row.submit_attempted:
                return (
                    f"issue {issue_id} may already have reached the remote system (its last "
                    f"create's answer was lost); the next pass looks it up: edit it after that "
                    f"if it is still not linked, or `scf issues withdraw {issue_id}`"
                )
            if row.lease_owner and row.lease_until and row.lease_until > now:
                return f"issue {issue_id} is being sent right now; try again in a minute"
            conn.execute(
                issues.update()
                .where(issues.c.id == issue_id)
                .values(
                    summary=new.summary, description=new.description, lat=new.lat,
                    lng=new.lng, address=new.address, image_url=new.image_url,
                    address_check=None, held=False, attempts=0, next_attempt_at=None,
                    last_error=None, last_error_kind=None, updated_at=now,
                )
            )  # fmt: skip
            conn.execute(answers.delete().where(answers.c.issue_id == issue_id))
            insert_answers(conn, issue_id, new.answers)
        return None

    def recategorize(
        self,
        issue_id: int,
        code: str,
        integration: str | None,
        type_ref: str,
        new_answers: Sequence[Answer] = (),
    ) -> bool:
        """Give an Open, unlinked issue another request type (and so maybe another integration).

        Its answers are replaced by ``new_answers`` (the old ones belonged to the old type), its
        sync state starts afresh, and it gets a new marker (the next generation), so a lookup
        after a lost create can never find the request of the earlier submission. Returns
        False when the issue is not Open or still linked.
        """
        with self.transaction() as conn:
            generation = next_generation(conn, issue_id)
            updated = conn.execute(
                issues.update()
                .where(
                    issues.c.id == issue_id,
                    issues.c.status == Status.OPEN.value,
                    issues.c.remote_id.is_(None),
                )
                .values(
                    request_type=code,
                    integration=integration,
                    type_ref=type_ref,
                    attempts=0,
                    next_attempt_at=None,
                    last_error=None,
                    last_error_kind=None,
                    held=False,
                    address_check=None,
                    submit_attempted=False,
                    updated_at=utcnow(),
                    generation=generation,
                    marker=new_marker(self.store_id, issue_id, generation),
                    attention=None,
                    attention_kind=None,
                )
            ).rowcount
            if updated != 1:
                return False
            conn.execute(answers.delete().where(answers.c.issue_id == issue_id))
            insert_answers(conn, issue_id, new_answers)
            return True


def next_generation(conn: Connection, issue_id: int) -> int:
    """The generation of the issue's next submission (a new one whenever it is routed again)."""
    current = conn.execute(select(issues.c.generation).where(issues.c.id == issue_id)).scalar()
    return int(current or 0) + 1


def insert_answers(conn: Connection, issue_id: int, items: Sequence[Answer]) -> None:
    """Store an issue's answers in their order (inside the caller's transaction)."""
    insert_answers_of(conn, [(issue_id, items)])


def insert_answers_of(
    conn: Connection, issues_answers: Sequence[tuple[int, Sequence[Answer]]]
) -> None:
    """Store several issues' answers, each issue's in their order, in one statement (inside
    the caller's transaction)."""
    rows = [
        {
            "issue_id": issue_id,
            "position": i,
            "question_id": a.question_id,
            "question": a.question,
            "answer": a.answer,
            "private": a.private,
            "ref": a.ref,
        }
        for issue_id, items in issues_answers
        for i, a in enumerate(items)
    ]
    if rows:
        conn.execute(_INSERT_ANSWER, rows)


def _insert_issues(conn: Connection, news: Sequence[NewIssue], now: datetime) -> list[int]:
    """Insert new reports' issues rows (their markers are set once their ids are known);
    their ids, in order."""
    return [
        int(conn.execute(_INSERT_ISSUE, _issue_values(new, now)).inserted_primary_key[0])  # type: ignore[index]
        for new in news
    ]


def _issue_values(new: NewIssue, now: datetime) -> dict[str, Any]:
    """The issues row of a new report."""
    return {
        "request_type": new.request_type,
        "integration": new.integration,
        "status": Status.OPEN.value,
        "summary": new.summary,
        "description": new.description,
        "lat": new.lat,
        "lng": new.lng,
        "address": new.address,
        "reporter_name": new.reporter_name,
        "reporter_email": new.reporter_email,
        "reporter_phone": new.reporter_phone,
        "reported_via": new.reported_via,
        "image_url": new.image_url,
        "type_ref": new.type_ref,
        "created_at": now,
        "updated_at": now,
        "attempts": 0,
        "submit_attempted": False,
        "held": False,
    }


_INSERT_COMMENT = comments.insert()  # built once: it runs for every message
_INSERT_ANSWER = answers.insert()  # built once: it runs for every report with answers
# Built once: constructing a statement costs more CPU than running it on SQLite, and
# `scf serve` stores report after report.
_INSERT_ISSUE = issues.insert()
_FIRST_MARKER = (
    issues.update()
    .where(issues.c.id == bindparam("b_id"))
    .values(generation=1, marker=bindparam("b_marker"))
)


def insert_comment(
    conn: Connection,
    issue_id: int,
    author: str,
    text: str,
    kind: CommentKind,
    *,
    remote_id: str | None = None,
    remote_key: str | None = None,
    created_at: datetime | None = None,
    client_ref: str | None = None,
    via: str | None = None,
) -> int:
    """Insert a comment on ``conn`` (inside the caller's transaction); returns its id."""
    result = conn.execute(
        _INSERT_COMMENT,
        {
            "issue_id": issue_id,
            "author": author,
            "text": text,
            "kind": kind,
            "created_at": created_at or utcnow(),
            "remote_id": remote_id,
            "remote_key": remote_key,
            "client_ref": client_ref,
            "via": via,
            "push_attempted": False,
            "attempts": 0,
        },
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]
