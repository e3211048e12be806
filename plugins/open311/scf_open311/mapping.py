"""GeoReport shapes to the host's and back: services to request types, an issue to the POST
form, a request record to a :class:`~scf_plugins.RemoteUpdate`.

Pure functions over parsed answers: no HTTP here, so a hostile answer is judged in one place.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from scf_plugins import (
    Integration,
    Issue,
    Question,
    QuestionType,
    RemoteState,
    RemoteUpdate,
    RequestType,
    frozen_mapping,
)

from .client import truth

log = logging.getLogger(__name__)

DESCRIPTION_LIMIT = 4000  # characters, the spec's limit on a request's description
# The issue's marker travels at the end of the description: the only field every server
# keeps and shows back (GeoReport has no field for a client's reference).
MARKER = re.compile(r"\[(scf-[A-Za-z0-9-]{1,40})\]\s*$")
TYPES: dict[str, QuestionType] = {
    "string": "text", "text": "text", "number": "number", "datetime": "datetime",
    "singlevaluelist": "choice", "multivaluelist": "multichoice",
}  # fmt: skip
STATUS_LIMIT = 200
# The reference of an answer sent as typed (text, number, date-time); a list answer's is its key.
TYPED = "="


def offered(service: Any) -> bool:
    """Whether a service from ``services`` is one residents may report (a code, not
    ``inactive``; a ``blackbox`` service never says what it made, so it cannot be linked)."""
    if not isinstance(service, dict) or not str(service.get("service_code") or "").strip():
        return False
    if "inactive" in keywords(service):
        return False
    if str(service.get("type", "realtime")).lower() == "blackbox":
        log.warning("service %s is blackbox (no id comes back); it is left out",
                    service.get("service_code"))  # fmt: skip
        return False
    return True


def keywords(service: dict[str, Any]) -> set[str]:
    """A service's ``keywords``, lower case (FixMyStreet's ``private``, ``inactive``…)."""
    return {k.strip().lower() for k in str(service.get("keywords") or "").split(",") if k.strip()}


def request_type(service: dict[str, Any], attributes: Iterable[Any]) -> RequestType:
    """A request type from a service and its definition's attributes (ordered by ``order``).

    ``variable: false`` attributes are informational text; a ``private`` service keeps every
    answer private. Each question keeps the attribute's ``datatype`` and ``code`` in ``meta``.
    """
    private = "private" in keywords(service)
    items = [a for a in attributes if isinstance(a, dict) and str(a.get("code") or "").strip()]
    items.sort(key=lambda a: _order(a.get("order")))
    questions = []
    for attribute in items:
        question = _question(attribute, private)
        if question is not None:
            questions.append(question)
    code = str(service["service_code"]).strip()
    return RequestType(
        code=code,
        name=str(service.get("service_name") or code).strip(),
        integration="",
        questions=tuple(questions),
        ref=code,
    )


def _order(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("inf")


def _question(attribute: dict[str, Any], private: bool) -> Question | None:
    code = str(attribute["code"]).strip()
    datatype = str(attribute.get("datatype") or "string").strip().lower()
    text = str(attribute.get("description") or code).strip().rstrip(":").strip()
    meta = frozen_mapping({"code": code, "datatype": datatype})
    if not truth(attribute.get("variable", True)):
        return Question(code, text, "info", required=False, private=private, meta=meta)
    qtype = TYPES.get(datatype)
    if qtype is None:
        log.warning("attribute %s has datatype %r, which a 311 form cannot ask; left out",
                    code, datatype)  # fmt: skip
        return None
    required = truth(attribute.get("required", False))
    if qtype in ("choice", "multichoice"):
        values = [v for v in attribute.get("values") or [] if isinstance(v, dict)]
        pairs = [(str(v.get("name") or v.get("key")).strip(), str(v.get("key")).strip())
                 for v in values if str(v.get("key") or "").strip()]  # fmt: skip
        if not pairs:
            log.warning("list attribute %s has no values; left out", code)
            return None
        return Question(code, text, qtype, required=required, private=private,
                        options=tuple(dict.fromkeys(n for n, _ in pairs)),
                        answer_refs=tuple(pairs), meta=meta)  # fmt: skip
    return Question(code, text, qtype, required=required, private=private,
                    answer_refs=(("", TYPED),), meta=meta)  # fmt: skip


def description(issue: Issue) -> str:
    """The request's description: the summary, the resident's text and the marker, within the
    spec's 4,000 characters (the resident's text is cut first, never the marker)."""
    tail = f"\n\n[{issue.marker}]"
    head = issue.summary.strip()
    body = (issue.description or "").strip()
    text = f"{head}\n\n{body}" if body and body != head else head
    room = DESCRIPTION_LIMIT - len(tail)
    if len(text) > room:
        text = text[: room - 4].rstrip() + " […]"
    return text + tail


def create_form(issue: Issue) -> list[tuple[str, str]]:
    """The POST requests form of ``issue`` (answers as ``attribute[code]``, repeated for a
    multi-value list, as mySociety's servers expect)."""
    form = [
        ("service_code", issue.type_ref),
        ("lat", f"{issue.lat:.6f}"),
        ("long", f"{issue.lng:.6f}"),
        ("description", description(issue)),
    ]
    if issue.address:
        form.append(("address_string", issue.address))
    if issue.reporter_email:
        form.append(("email", issue.reporter_email))
    if issue.reporter_name:
        first, _, last = issue.reporter_name.strip().partition(" ")
        form += [("first_name", first), ("last_name", last)]
    if issue.image_url:
        form.append(("media_url", issue.image_url))
    for answer in issue.answers:
        value = answer.answer if answer.ref in (None, "", TYPED) else answer.ref
        form.append((f"attribute[{answer.question_id}]", value))
    return form


def marker_of(record: dict[str, Any]) -> str | None:
    """The issue marker at the end of a record's description (``""`` when it has none; None
    when the server does not show descriptions)."""
    if "description" not in record:
        return None
    found = MARKER.search(str(record.get("description") or ""))
    return found.group(1) if found else ""


def update_of(
    integration: Integration, issue_id: int, remote_id: str, record: dict[str, Any]
) -> RemoteUpdate:
    """The update for one request record: ``closed`` closes it, unless its ``status_notes``
    name one of the integration's ``cancel_notes``; any other status is open. A record whose
    ``status``, ``status_notes`` or ``description`` is a list or an object is UNREADABLE."""
    for name in ("status", "status_notes", "description"):
        if isinstance(record.get(name), dict | list):
            return RemoteUpdate(issue_id, remote_id, RemoteState.UNREADABLE,
                                error=f"the server sent a {type(record[name]).__name__} as the "
                                      f"{name} of request {remote_id}, not a value")  # fmt: skip
    raw = str(record.get("status") or "").strip()
    notes = str(record.get("status_notes") or "").strip()
    closed = raw.lower() == "closed"
    state = RemoteState.OPEN
    if closed:
        phrases = [p.lower() for p in integration.options.get("cancel_notes", ())]
        cancelled = any(p in notes.lower() for p in phrases)
        state = RemoteState.CANCELED if cancelled else RemoteState.CLOSED
    fields = tuple(
        (name, str(record[name]).strip()[:1000])
        for name in integration.watched_fields
        if isinstance(record.get(name), str | int | float) and str(record[name]).strip()
    )
    return RemoteUpdate(
        issue_id=issue_id,
        remote_id=remote_id,
        state=state,
        status=raw[:STATUS_LIMIT] or None,
        fields=fields,
        marker=marker_of(record),
        remote_closed=closed,
        reason=notes[:500] or None if closed else None,
    )
