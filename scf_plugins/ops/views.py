"""How issues and request types are shown: the stable JSON shapes, and tables for people."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ..intake.sanitize import for_terminal, json_text
from ..models import RequestType
from ..timeutil import iso, utcnow

if TYPE_CHECKING:
    from ..store.store import IssueRecord


def request_type_json(rt: RequestType) -> dict[str, Any]:
    """The ``scf request-types --json`` shape of one request type."""
    return {
        "code": rt.code,
        "name": rt.name,
        "integration": rt.integration,
        "questions": [
            {
                "id": q.id,
                "text": q.text,
                "type": q.type,
                "required": q.required,
                "private": q.private,
                "options": list(q.options),
                "asked_when": [{"question_id": qid, "answer": opt} for qid, opt in q.asked_when],
                "minimum": q.minimum,
                "maximum": q.maximum,
            }
            for q in rt.questions
        ],
    }


def issue_json(record: IssueRecord, *, public: bool = False) -> dict[str, Any]:
    """The ``scf issues show --json`` shape; ``public`` hides private answers and the email."""
    issue = record.issue
    answers = [
        {
            "question_id": a.question_id,
            "question": a.question,
            "answer": a.answer,
            "private": a.private,
        }
        for a in issue.answers
        if not (public and a.private)
    ]
    data: dict[str, Any] = {
        "id": issue.id,
        "status": issue.status.value,
        "request_type": issue.request_type,
        "integration": record.integration,
        "remote_id": issue.remote_id,
        "remote_status": record.remote_status,
        "summary": issue.summary,
        "description": issue.description,
        "address": issue.address,
        "lat": issue.lat,
        "lng": issue.lng,
        "image_url": issue.image_url,
        "reporter": {
            "name": issue.reporter_name,
            "email": None if public else issue.reporter_email,
            "phone": None if public else record.reporter_phone,
        },
        "answers": answers,
        "comments": [
            {
                "author": c.author,
                "text": c.text,
                "kind": c.kind,
                "created_at": iso(c.created_at),
                "kept_here": c.kept_here,
            }
            for c in record.comments
        ],
        "created_at": iso(issue.created_at),
        "address_check": asdict(issue.address_check) if issue.address_check else None,
        "attachments": [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "remote_id": None if public else a.remote_id,
                "path": None if a.purged_at else media_path(a.path_token),
                "purged_at": iso(a.purged_at),
                **({} if public else {"kept_here": a.kept_here, "last_error": a.last_error}),
            }
            for a in record.attachments
        ],
    }
    if not public:
        claimed = bool(record.lease_owner) and (
            record.lease_until is not None and record.lease_until > utcnow()
        )
        data["sync"] = {
            "attempts": record.attempts,
            "last_error": record.last_error,
            "last_error_kind": record.last_error_kind,
            "next_attempt_at": iso(record.next_attempt_at),
            "held": record.held,
            "attention": record.attention,
            "attention_kind": record.attention_kind,
            "claimed_by": claimed and record.lease_owner,
            "claimed_until": iso(record.lease_until) if claimed else None,
            "pending": (
                {"token": record.pending_token, "since": iso(record.pending_since)}
                if record.pending_token
                else None
            ),
        }
        data["reported_via"] = record.reported_via
        data["link"] = {
            "marker": issue.marker,
            "environment": record.link_environment,
            "endpoint": record.link_endpoint,
        }
    return data


def media_path(path_token: str) -> str:
    """Where ``scf serve`` serves a photo (an unguessable path: the token is its only key)."""
    return f"/media/{path_token}.jpg"


def dumps(data: Any) -> str:
    """JSON for the CLI's ``--json`` output (characters a terminal could act on escaped)."""
    return json_text(data, indent=2, ensure_ascii=False)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table with aligned columns."""
    cells = [[for_terminal("" if v is None else v, one_line=True) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = min(max(widths[i], len(value)), 60)

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            (v if len(v) <= widths[i] else v[: widths[i] - 1] + "…").ljust(widths[i])
            for i, v in enumerate(values)
        ).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out.extend(line(row) for row in cells)
    return "\n".join(out)
