"""How issues and request types are shown: the stable JSON shapes, and text and tables for
people."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ..intake.sanitize import for_terminal, json_text
from ..models import RequestType
from ..timeutil import iso, local_time, utcnow

if TYPE_CHECKING:
    from ..store.store import IssueRecord
    from .history import History


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


def issue_json(
    record: IssueRecord, *, public: bool = False, history: History | None = None
) -> dict[str, Any]:
    """The ``scf issues show --json`` shape; ``public`` hides private answers, the email and
    where photos went. ``history`` adds each photo's earlier requests and why the issue was
    sent unverified."""
    issue = record.issue
    earlier = history.earlier if history and not public else {}
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
                "via": c.via,
            }
            for c in record.comments
        ],
        "created_at": iso(issue.created_at),
        "address_check": asdict(issue.address_check) if issue.address_check else None,
        "sent_unverified": history.sent_unverified if history else None,
        "attachments": [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "remote_id": None if public else a.remote_id,
                # A photo's row is always about the issue's current request (it starts
                # afresh when the issue leaves one); the earlier ones are listed apart.
                "request": issue.remote_id if a.remote_id and not public else None,
                "earlier": [
                    {
                        "remote_id": e.remote_id,
                        "request": e.request,
                        "integration": e.integration,
                        "environment": e.environment,
                        "sent_at": iso(e.sent_at),
                        "left_at": iso(e.left_at),
                    }
                    for e in earlier.get(a.id, ())
                ],
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
        # What the resident was emailed and when (never the address they were sent to).
        data["notifications"] = [
            {
                "id": n.id,
                "kind": n.kind,
                "created_at": iso(n.created_at),
                "sent_at": iso(n.sent_at),
                "state": n.state,
                "reason": n.reason,
            }
            for n in (history.notifications if history else ())
        ]
        data["contact_purged_at"] = iso(history.contact_purged_at) if history else None
        data["link"] = {
            "marker": issue.marker,
            "environment": record.link_environment,
            "endpoint": record.link_endpoint,
        }
    return data


def request_types_text(types: Sequence[RequestType]) -> str:
    """The ``scf request-types`` screen: each type, then its questions in order."""
    lines = []
    for rt in types:
        lines.append(f"{rt.code}  {rt.name}  [{rt.integration}]")
        for q in rt.questions:
            flags = ", ".join(
                f
                for f in (
                    q.type,
                    "required" if q.required else "optional",
                    "private" if q.private else "",
                )
                if f
            )
            when = (
                " (only when " + " or ".join(f"{p}={o!r}" for p, o in q.asked_when) + ")"
                if q.asked_when
                else ""
            )
            options = f": {' | '.join(q.options)}" if q.options else ""
            lines.append(f"    {q.id:>6}  {q.text} [{flags}]{when}{options}")
    return "\n".join(lines)


def issue_text(data: dict[str, Any], zone: str) -> str:
    """The ``scf issues show`` screen of :func:`issue_json`'s shape, times in ``zone``."""

    def when(stamp: str | None) -> str:
        return local_time(stamp, zone)

    lines = [
        f"Issue {data['id']}: {data['summary']}",
        f"  reported      {when(data['created_at'])}",
    ]
    lines.append(
        f"  status        {data['status']}"
        + (
            f" (remote {data['remote_id']}, {data['remote_status'] or 'open'})"
            if data["remote_id"]
            else ""
        )
    )
    lines.append(
        f"  request type  {data['request_type']} -> {data['integration'] or 'no integration'}"
    )
    lines.append(f"  location      {data['lat']}, {data['lng']}  {data['address'] or ''}".rstrip())
    reporter = data["reporter"]
    if reporter["name"] or reporter["email"] or reporter.get("phone"):
        who = " ".join(v for v in (reporter["name"], reporter["email"], reporter.get("phone")) if v)
        lines.append(f"  reporter      {who}")
    if data.get("contact_purged_at"):
        lines.append(f"  reporter      contact details purged {when(data['contact_purged_at'])}")
    if data.get("reported_via"):
        lines.append(f"  reported via  Open311, API key {data['reported_via']!r}")
    if data["description"]:
        lines.append(f"  description   {data['description']}")
    check = data["address_check"]
    if check:
        verdict = "accepted" if check["accepted"] else "NOT accepted"
        lines.append(
            f"  address check {verdict}: {check['address'] or '(no candidate)'} "
            f"score {check['score']} {check['candidate_type'] or ''} {check['reason']}".rstrip()
        )
    if data.get("sent_unverified"):
        lines.append(f"  sent anyway   {data['sent_unverified']}")
    sync = data.get("sync")
    link = data.get("link")
    if link and data["remote_id"]:
        where = (
            f"{link['environment']} at {link['endpoint']}"
            if link["endpoint"]
            else "made before links were scoped; verified on the next poll"
        )
        lines.append(f"  link          marker {link['marker']}, {where}")
    if sync and sync["claimed_by"]:
        from ..engine.leases import describe_owner

        lines.append(
            f"  claimed       by {describe_owner(sync['claimed_by'])} until "
            f"{when(sync['claimed_until'])}"
        )
    for photo in data["attachments"]:
        state = _photo_state(photo, data["status"])
        if photo["purged_at"]:
            state += f"; its bytes purged {when(photo['purged_at'])} (retention)"
        lines.append(f"  photo         {photo['filename']} ({photo['size'] // 1024} KB): {state}")
    if sync and sync["pending"]:
        lines.append(
            f"  pending       accepted as token {sync['pending']['token']} at "
            f"{when(sync['pending']['since'])}; its request number is not known yet "
            f"(asked again {when(sync['next_attempt_at']) or 'soon'})"
        )
    if sync and sync["attention"]:
        lines.append(f"  ATTENTION     [{sync['attention_kind']}] {sync['attention']}")
    if sync and sync["held"]:
        lines.append("  HELD          waiting for staff: the address could not be verified")
    if sync and sync["last_error"]:
        lines.append(
            f"  last error    [{sync['last_error_kind']}] {sync['last_error']} "
            f"(attempt {sync['attempts']}, next {when(sync['next_attempt_at']) or '-'})"
        )
    for n in data.get("notifications", ()):
        lines.append(f"  email         {_email_state(n, when)}")
    for a in data["answers"]:
        lines.append(f"  Q {a['question']}: {a['answer']}" + (" (private)" if a["private"] else ""))
    for c in data["comments"]:
        kept = f"  ({c['kept_here']})" if c.get("kept_here") else ""
        via = f" (via API key {c['via']!r})" if c.get("via") else ""
        lines.append(
            f"  [{when(c['created_at'])}] {c['kind']:<7} {c['author']}{via}: {c['text']}{kept}"
        )
    return "\n".join(lines)


def _email_state(notice: dict[str, Any], when: Callable[[str | None], str]) -> str:
    """An email to the resident in one line: its kind, and when it went or why not."""
    head = f"{notice['kind']} (notification {notice['id']}): "
    if notice["state"] == "sent":
        return head + f"sent {when(notice['sent_at'])}"
    why = f" ({notice['reason']})" if notice["reason"] else ""
    if notice["state"] == "uncertain":
        return head + f"UNCERTAIN{why}: may have been delivered; not sent again unless retried"
    return head + str(notice["state"]) + why


def _photo_state(photo: dict[str, Any], status: str) -> str:
    """Where a photo went: to the issue's current request, and to earlier ones."""
    earlier = []
    for e in photo.get("earlier", ()):
        request = f"earlier request {e['request']}" if e["request"] else "earlier request"
        where = ", ".join(v for v in (request, e["environment"]) if v)
        earlier.append(f"sent as {e['remote_id']} ({where})")
    if photo["remote_id"]:
        now = f"sent as {photo['remote_id']}"
    elif photo["kept_here"]:
        now = photo["kept_here"]
    elif status in ("closed", "archived") or photo["purged_at"]:
        now = "" if earlier else "not sent: the issue left Acknowledged first"
    else:
        now = "waiting for the new request" if earlier else "waiting"
        if photo["last_error"]:
            now += f" ({photo['last_error']})"
    return "; ".join(part for part in (now, *earlier) if part)


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
