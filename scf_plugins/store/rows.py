"""Rows to the host's models and back: issues, comments, photos and cached request types.

Pure conversions, no queries: the mixins of :class:`~.store.Store` and the engine's steps read
rows and build models with these.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from ..models import (
    AddressCheck,
    Answer,
    Comment,
    CommentKind,
    Issue,
    Question,
    RequestType,
    Status,
    frozen_mapping,
)
from .links import marker_of
from .tables import attachments


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
        via=row["via"],
    )
