"""The local store: issues, answers, comments, cached request types and sync state.

SQLAlchemy Core over SQLite by default (any SQLAlchemy URL works, PostgreSQL for several
machines). Every change happens inside :meth:`Store.transaction`; reads use
:meth:`Store.read`. On SQLite a write transaction starts with ``BEGIN IMMEDIATE`` so that
concurrent sync processes queue for the write lock instead of failing half way.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, bindparam, create_engine, event, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..errors import ConfigError
from ..intake.images import Photo
from ..models import (
    AddressCheck,
    Answer,
    Comment,
    CommentKind,
    Issue,
    NewIssue,
    Question,
    RequestType,
    Status,
    frozen_mapping,
)
from ..timeutil import utcnow
from . import tables as schema
from .links import marker_of, new_marker
from .tables import (
    announced,
    answers,
    attachment_contents,
    attachments,
    comments,
    issues,
    request_types,
)

SQLITE_BUSY_MS = 30_000


@dataclass(frozen=True)
class IssueRecord:
    """An issue with everything ``scf issues show`` needs: answers, comments, sync state."""

    issue: Issue
    integration: str | None
    remote_status: str | None
    comments: tuple[Comment, ...] = ()
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    last_error_kind: str | None = None
    held: bool = False
    attention: str | None = None
    attention_kind: str | None = None
    link_environment: str | None = None
    link_endpoint: str | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None
    reporter_phone: str | None = None
    reported_via: str | None = None
    pending_token: str | None = None
    pending_since: datetime | None = None
    attachments: tuple[AttachmentInfo, ...] = ()


@dataclass(frozen=True)
class AttachmentInfo:
    """A stored photo without its bytes: what ``issues show`` and the Open311 GETs show."""

    id: int
    filename: str
    content_type: str
    size: int
    path_token: str
    remote_id: str | None
    kept_here: str | None
    last_error: str | None
    attempts: int
    purged_at: datetime | None = None  # its bytes deleted under [images] purge_after_days


ATTACHMENT_INFO = tuple(
    attachments.c[name]
    for name in ("id", "filename", "content_type", "size", "path_token", "remote_id",
                 "kept_here", "last_error", "attempts", "purged_at")
)  # fmt: skip


def request_type_to_json(rt: RequestType) -> str:
    """Serialise a request type for the cache."""
    # asdict deep-copies, which a read-only mapping refuses: each meta goes in as a dict.
    bare = replace(rt, questions=tuple(replace(q, meta={}) for q in rt.questions))
    data = asdict(bare)
    for q, question in zip(data["questions"], rt.questions, strict=True):
        q["meta"] = dict(question.meta)
    return json.dumps(data, sort_keys=True, default=str)


def request_type_from_json(text: str) -> RequestType:
    """Read a request type back from the cache."""
    data = json.loads(text)
    questions = tuple(
        Question(
            id=q["id"],
            text=q["text"],
            type=q["type"],
            required=q["required"],
            private=q["private"],
            options=tuple(q["options"]),
            answer_refs=tuple((k, v) for k, v in q["answer_refs"]),
            asked_when=tuple((k, v) for k, v in q["asked_when"]),
            minimum=q.get("minimum"),  # the cache of an older scf has none of these three
            maximum=q.get("maximum"),
            meta=frozen_mapping(q.get("meta")),
        )
        for q in data["questions"]
    )
    return RequestType(
        code=data["code"],
        name=data["name"],
        integration=data["integration"],
        questions=questions,
        ref=data["ref"],
    )


def address_check_from_json(text: str | None) -> AddressCheck | None:
    """Read a stored address check (None when there is none)."""
    if not text:
        return None
    return AddressCheck(**json.loads(text))


def issue_from_row(row: RowMapping, issue_answers: Sequence[Answer] = ()) -> Issue:
    """Build the plugin-facing :class:`Issue` from an ``issues`` row."""
    return Issue(
        id=row["id"],
        request_type=row["request_type"],
        summary=row["summary"],
        description=row["description"] or "",
        lat=row["lat"],
        lng=row["lng"],
        address=row["address"],
        reporter_name=row["reporter_name"],
        reporter_email=row["reporter_email"],
        image_url=row["image_url"],
        answers=tuple(issue_answers),
        type_ref=row["type_ref"] or "",
        status=Status(row["status"]),
        remote_id=row["remote_id"],
        address_check=address_check_from_json(row["address_check"]),
        submit_attempted=bool(row["submit_attempted"]),
        created_at=row["created_at"],
        marker=marker_of(row),
        plugin_state=plugin_state_of(row["plugin_state"]),
    )


def plugin_state_of(text: str | None) -> Mapping[str, Any]:
    """A stored plugin state, read-only (empty when there is none)."""
    return frozen_mapping(json.loads(text)) if text else frozen_mapping()


def comment_from_row(row: RowMapping) -> Comment:
    """Build a :class:`Comment` from a ``comments`` row."""
    kind: CommentKind = row["kind"]
    return Comment(
        id=row["id"],
        issue_id=row["issue_id"],
        author=row["author"],
        text=row["text"],
        kind=kind,
        created_at=row["created_at"],
        remote_id=row["remote_id"],
        push_attempted=bool(row["push_attempted"]),
        kept_here=row["kept_here"],
    )


class Store:
    """The store behind one database URL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store_id = ""  # set by open(): the identity every marker of this store carries

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect to ``url``, creating or upgrading the schema as needed."""
        try:
            engine = create_engine(url, future=True)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise ConfigError(
                f"cannot use database {_safe_url(url)} ({type(exc).__name__}); check "
                f"organization.database (and install the driver for its dialect)"
            ) from None
        if engine.dialect.name == "sqlite":
            _create_owner_only(engine.url.database)
            _configure_sqlite(engine)
        store = cls(engine)
        try:
            schema.upgrade(engine.begin)
            with store.read() as conn:
                store.store_id = schema.store_id(conn)
        except SQLAlchemyError as exc:
            raise ConfigError(
                f"cannot open database {_safe_url(url)} ({type(exc).__name__}: "
                f"{str(exc.orig if hasattr(exc, 'orig') else exc).splitlines()[0]}); "
                f"check organization.database and that its folder is writable"
            ) from None
        return store

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction: committed when the block ends, rolled back on any error."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only connection (no write lock on SQLite)."""
        with self.engine.connect().execution_options(scf_read=True) as conn:
            yield conn
            conn.rollback()

    # -- request types -------------------------------------------------------------------------

    def replace_request_types(self, integration: str, types: Sequence[RequestType]) -> None:
        """Replace the cached request types of one integration with ``types``."""
        now = utcnow()
        with self.transaction() as conn:
            conn.execute(request_types.delete().where(request_types.c.integration == integration))
            codes = [rt.code for rt in types]
            if codes:
                conn.execute(request_types.delete().where(request_types.c.code.in_(codes)))
                conn.execute(
                    request_types.insert(),
                    [
                        {
                            "code": rt.code,
                            "integration": integration,
                            "name": rt.name,
                            "definition": request_type_to_json(rt),
                            "fetched_at": now,
                        }
                        for rt in types
                    ],
                )

    def request_types(self) -> list[RequestType]:
        """All cached request types, by integration then code."""
        with self.read() as conn:
            rows = conn.execute(
                select(request_types.c.definition).order_by(
                    request_types.c.integration, request_types.c.code
                )
            ).scalars()
            return [request_type_from_json(text) for text in rows]

    def request_type(self, code: str) -> RequestType | None:
        """One cached request type, or None."""
        with self.read() as conn:
            text = conn.execute(
                select(request_types.c.definition).where(request_types.c.code == code)
            ).scalar()
        return request_type_from_json(text) if text else None

    # -- issues ----------------------------------------------------------------------------------

    def create_issue(self, new: NewIssue, photos: Sequence[Photo] = ()) -> int:
        """Store a new Open issue with its answers and photos, in one transaction; returns
        its id."""
        now = utcnow()
        with self.transaction() as conn:
            issue_id = conn.execute(
                _INSERT_ISSUE,
                {
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
                },
            ).inserted_primary_key[0]  # type: ignore[index]
            conn.execute(
                _FIRST_MARKER,
                {"b_id": issue_id, "b_marker": new_marker(self.store_id, int(issue_id), 1)},
            )
            insert_answers(conn, int(issue_id), new.answers)
            for photo in photos:
                insert_photo(conn, int(issue_id), photo, now)
        return int(issue_id)

    def media(self, path_token: str) -> tuple[str, bytes | None] | None:
        """A photo's content type and bytes by its URL token; the bytes are None when the
        photo was purged (``[images] purge_after_days``); None when there is no such photo."""
        with self.read() as conn:
            row = conn.execute(
                select(attachments.c.content_type, attachment_contents.c.content)
                .outerjoin(
                    attachment_contents,
                    attachment_contents.c.attachment_id == attachments.c.id,
                )
                .where(attachments.c.path_token == path_token)
            ).first()
        if row is None:
            return None
        return str(row[0]), None if row[1] is None else bytes(row[1])

    def photo_content(self, attachment_id: int) -> bytes:
        """One photo's bytes (read just before it is sent: never a pass's photos at once)."""
        with self.read() as conn:
            content = conn.execute(
                select(attachment_contents.c.content).where(
                    attachment_contents.c.attachment_id == attachment_id
                )
            ).scalar_one()
        return bytes(content)

    def answers_of(self, conn: Connection, issue_ids: Sequence[int]) -> dict[int, list[Answer]]:
        """The answers of several issues, in their stored order."""
        out: dict[int, list[Answer]] = {i: [] for i in issue_ids}
        if not issue_ids:
            return out
        rows = conn.execute(
            select(answers)
            .where(answers.c.issue_id.in_(issue_ids))
            .order_by(answers.c.issue_id, answers.c.position)
        ).mappings()
        for r in rows:
            out[r["issue_id"]].append(
                Answer(r["question_id"], r["question"], r["answer"], bool(r["private"]), r["ref"])
            )
        return out

    def get(self, issue_id: int) -> IssueRecord | None:
        """An issue with its comments and sync state, or None."""
        with self.read() as conn:
            row = conn.execute(select(issues).where(issues.c.id == issue_id)).mappings().first()
            if row is None:
                return None
            issue = issue_from_row(row, self.answers_of(conn, [issue_id])[issue_id])
            rows = conn.execute(
                select(comments).where(comments.c.issue_id == issue_id).order_by(comments.c.id)
            ).mappings()
            return IssueRecord(
                issue=issue,
                integration=row["integration"],
                remote_status=row["remote_status"],
                comments=tuple(comment_from_row(r) for r in rows),
                attempts=row["attempts"],
                next_attempt_at=row["next_attempt_at"],
                last_error=row["last_error"],
                last_error_kind=row["last_error_kind"],
                held=bool(row["held"]),
                attention=row["attention"],
                attention_kind=row["attention_kind"],
                link_environment=row["link_environment"],
                link_endpoint=row["link_endpoint"],
                lease_owner=row["lease_owner"],
                lease_until=row["lease_until"],
                reporter_phone=row["reporter_phone"],
                reported_via=row["reported_via"],
                pending_token=row["pending_token"],
                pending_since=row["pending_since"],
                attachments=tuple(
                    AttachmentInfo(**r)
                    for r in conn.execute(
                        select(*ATTACHMENT_INFO)
                        .where(attachments.c.issue_id == issue_id)
                        .order_by(attachments.c.id)
                    ).mappings()
                ),
            )

    def list(
        self,
        status: str | None = None,
        *,
        stuck_after: int | None = None,
        attention: bool = False,
        limit: int = 1000,
    ) -> list[RowMapping]:
        """Issue rows, newest first; ``status`` filters, ``stuck_after`` keeps failing ones
        (and those waiting for a person), ``attention`` only those waiting for a person."""
        query = select(issues).order_by(issues.c.id.desc()).limit(limit)
        if status:
            query = query.where(issues.c.status == status)
        if attention:
            query = query.where(issues.c.attention.is_not(None))
        if stuck_after is not None:
            query = query.where(
                ((issues.c.attempts >= stuck_after) & issues.c.last_error.is_not(None))
                | issues.c.attention.is_not(None)
            )
        with self.read() as conn:
            return list(conn.execute(query).mappings())

    def rows(self, issue_ids: Sequence[int]) -> Sequence[RowMapping]:
        """Issue rows by id, newest first."""
        if not issue_ids:
            return []
        with self.read() as conn:
            query = select(issues).where(issues.c.id.in_(list(issue_ids)))
            return list(conn.execute(query.order_by(issues.c.id.desc())).mappings())

    def add_comment(
        self, issue_id: int, author: str, text: str, kind: CommentKind = "comment"
    ) -> int:
        """Add a comment (a local one is pushed on the next pass); returns its id."""
        with self.transaction() as conn:
            return insert_comment(conn, issue_id, author, text, kind)

    def add_client_comment(
        self, issue_id: int, author: str, text: str, client_ref: str
    ) -> tuple[int, bool] | None:
        """A comment an Open311 client posted, once per ``client_ref`` (the key's name and
        the client's update id): returns its id and whether it is new, or None when there is
        no such issue. Two posts of one update at once make one comment (a unique index)."""
        find = select(comments.c.id).where(
            comments.c.issue_id == issue_id, comments.c.client_ref == client_ref
        )
        try:
            with self.transaction() as conn:
                found = conn.execute(find).scalar()
                if found is not None:
                    return int(found), False
                if conn.execute(select(issues.c.id).where(issues.c.id == issue_id)).first() is None:
                    return None
                return insert_comment(conn, issue_id, author, text, "comment",
                                      client_ref=client_ref), True  # fmt: skip
        except IntegrityError:  # the same update posted at the same moment: the other won
            with self.read() as conn:
                found = conn.execute(find).scalar()
            if found is None:
                raise
            return int(found), False

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

    def select_ids(
        self, which: str, integration: str | None = None, stuck_after: int = 5
    ) -> Sequence[int]:
        """The ids of the issues ``which`` names: ``failing`` (the last attempt failed),
        ``stuck`` (failing ``stuck_after`` times, or waiting for a person), ``held`` or
        ``unrouted`` (Open with no integration, as a remote cancel leaves them)."""
        live = issues.c.status.in_((Status.OPEN.value, Status.ACKNOWLEDGED.value))
        conditions: Any = {
            "failing": [live, issues.c.last_error_kind.is_not(None),
                        issues.c.last_error_kind != "held"],
            "stuck": [live, ((issues.c.attempts >= stuck_after) & issues.c.last_error.is_not(None))
                      | issues.c.attention.is_not(None)],
            "held": [issues.c.status == Status.OPEN.value, issues.c.held.is_(True)],
            "unrouted": [issues.c.status == Status.OPEN.value, issues.c.integration.is_(None)],
        }[which]  # fmt: skip
        query = select(issues.c.id).where(*conditions).order_by(issues.c.id.desc())
        if integration is not None:
            query = query.where(issues.c.integration == integration)
        with self.read() as conn:
            return [int(i) for i in conn.execute(query).scalars()]

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


def insert_photo(conn: Connection, issue_id: int, photo: Photo, now: datetime) -> int:
    """Store a photo of an issue (its bytes apart from its sync state); returns its id."""
    attachment_id = conn.execute(
        attachments.insert().values(
            issue_id=issue_id,
            filename=photo.filename,
            content_type=photo.content_type,
            size=photo.size,
            width=photo.width,
            height=photo.height,
            path_token=secrets.token_urlsafe(24),
            created_at=now,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    conn.execute(
        attachment_contents.insert().values(attachment_id=attachment_id, content=photo.content)
    )
    return int(attachment_id)


def insert_answers(conn: Connection, issue_id: int, items: Sequence[Answer]) -> None:
    """Store an issue's answers in their order (inside the caller's transaction)."""
    if items:
        conn.execute(
            answers.insert(),
            [
                {
                    "issue_id": issue_id,
                    "position": i,
                    "question_id": a.question_id,
                    "question": a.question,
                    "answer": a.answer,
                    "private": a.private,
                    "ref": a.ref,
                }
                for i, a in enumerate(items)
            ],
        )


_INSERT_COMMENT = comments.insert()  # built once: it runs for every message
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
            "push_attempted": False,
            "attempts": 0,
        },
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def _create_owner_only(database: str | None) -> None:
    """Create a new SQLite file readable by its owner only: it holds reporters' emails and
    private answers. SQLite gives its WAL and shared-memory files the same mode."""
    if database in (None, "", ":memory:") or database.startswith("file:"):
        return
    try:
        fd = os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError:
        return  # a missing folder is reported by the open that follows, in one line
    os.close(fd)


def readable_by_others(url: str) -> str | None:
    """The SQLite file of ``url`` when others may read it (or its WAL/SHM files), else None."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or database in (None, "", ":memory:"):
        return None
    for path in (database, f"{database}-wal", f"{database}-shm"):
        try:
            if os.stat(path).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                return path
        except OSError:
            continue
    return None


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get("scf_read", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _safe_url(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable URL)"


__all__ = ["IssueRecord", "NewIssue", "Store", "announced", "insert_comment"]
