"""How request types, requests and updates look in Open311 GeoReport v2: the JSON-shaped
documents the resources answer with (:mod:`.formats` writes them as JSON or XML).

A routed request type is a service; each of its questions an attribute; an issue a service
request whose ``service_request_id`` is the issue id, ``open`` while Open or Acknowledged
and ``closed`` once Closed or Archived. Nothing private (answers, the reporter's name, email
or phone) is ever part of one, and no text is shown with the invisible formatting that could
make it read otherwise (:func:`~scf_plugins.intake.sanitize.shown`: a remote system's names
and text stored before the intake refused it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ..intake.sanitize import shown
from ..models import CHOICE_TYPES, Question, RequestType, Status
from ..ops.views import media_path

CLOSED = (Status.CLOSED.value, Status.ARCHIVED.value)

# How each question type is offered as an Open311 attribute (``info``: ``variable: false``).
DATATYPES = {
    "text": "text",
    "choice": "singlevaluelist",
    "multichoice": "multivaluelist",
    "date": "datetime",
    "datetime": "datetime",
    "number": "number",
    "info": "string",
}
HINTS = {
    "date": "A date: YYYY-MM-DD (a date-time is accepted; its date is kept).",
    "datetime": "A date and time in ISO 8601, e.g. 2026-05-01T13:45.",
    "multichoice": "One or more keys: repeat the attribute for each.",
}


def service_json(rt: RequestType) -> dict[str, Any]:
    """A request type as an Open311 service."""
    return {
        "service_code": rt.code,
        "service_name": _line(rt.name),
        "description": _line(rt.name),
        "metadata": bool(rt.questions),
        "type": "realtime",
        "keywords": "",
        "group": "",
    }


def definition_json(rt: RequestType) -> dict[str, Any]:
    """A request type's questions as an Open311 service definition."""
    return {
        "service_code": rt.code,
        "attributes": [_attribute(q, i + 1, rt) for i, q in enumerate(rt.questions)],
    }


def choice_keys(question: Question) -> list[tuple[str, str]]:
    """``(key, option text)`` of a choice question. The key is the remote system's id for
    the option where every option has a distinct one (stable when an option is reworded),
    otherwise the option's text."""
    refs = [question.ref_for(option) for option in question.options]
    if all(refs) and len(set(refs)) == len(refs):
        return [(str(ref), option) for ref, option in zip(refs, question.options, strict=True)]
    return [(option, option) for option in question.options]


def request_json(
    row: Any, note: str | None, photo: str | None, service_name: str, agency: str, base: str
) -> dict[str, Any]:
    """An issue's row as a service request: ``status_notes`` is its latest system message,
    ``media_url`` its first photo's address under ``base`` (where clients reach this server),
    else the URL the report gave."""
    closed = row.status in CLOSED
    updated = (row.closed_at if closed and row.closed_at else row.updated_at) or row.created_at
    out = {
        "service_request_id": str(row.id),
        "status": "closed" if closed else "open",
        "status_notes": None if note is None else _text(note),
        "service_name": _line(service_name),
        "service_code": row.request_type,
        "description": _text(row.description) if row.description else _line(row.summary),
        "agency_responsible": agency,
        "service_notice": None,
        "requested_datetime": w3c(row.created_at),
        "updated_datetime": w3c(updated),
        "expected_datetime": None,
        "address": _line(row.address or ""),
        "address_id": "",
        "zipcode": "",
        "lat": row.lat,
        "long": row.lng,
        "media_url": f"{base}{media_path(photo)}" if photo is not None else row.image_url or "",
    }
    # Optional fields without a value are left out (as mySociety's adapter does).
    for optional in ("status_notes", "service_notice", "expected_datetime"):
        if out[optional] is None:
            del out[optional]
    return out


def update_json(row: Any) -> dict[str, Any]:
    """A public message as a service request update (its ``update_id`` is the message's
    own id, so it is stable)."""
    return {
        "update_id": str(row.id),
        "service_request_id": str(row.issue_id),
        "status": _status_at(row.status, row.closed_at, row.created_at),
        "updated_datetime": w3c(row.created_at),
        "description": _text(row.text),
        "media_url": "",
    }


def _line(text: str) -> str:
    """A one-line field as shown: no invisible formatting at all."""
    return shown(text, one_line=True)


def _text(text: str) -> str:
    """Multi-line text as shown: nothing that reorders it."""
    return shown(text, one_line=False)


def w3c(value: datetime) -> str:
    """A datetime as the spec writes it: seconds, and a zone (``Z``)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status_at(status: str, closed_at: datetime | None, when: datetime) -> str:
    """``closed`` for a message of a closed request written when (or after) it closed."""
    if status in CLOSED and closed_at is not None and when >= closed_at - timedelta(seconds=1):
        return "closed"
    return "open"


def _attribute(question: Question, order: int, rt: RequestType) -> dict[str, Any]:
    by_id = {q.id: q for q in rt.questions}
    datatype = DATATYPES[question.type]
    hint = HINTS.get(question.type, "")
    if question.type == "number":
        low, high = question.minimum, question.maximum
        hint = (
            "A number"
            + (f", at least {low:g}" if low is not None else "")
            + (f", at most {high:g}" if high is not None else "")
            + "."
        )
    if question.asked_when:
        asked = " or ".join(
            f"{by_id[qid].text if qid in by_id else qid} is {option!r}"
            for qid, option in question.asked_when
        )
        hint = f"{hint} Answer only when {asked}; required then.".strip()
    data: dict[str, Any] = {
        "variable": question.type != "info",
        "code": question.id,
        "datatype": datatype,
        "required": question.required and not question.asked_when and question.type != "info",
        "datatype_description": _line(hint),
        "order": order,
        "description": _line(question.text),
    }
    if question.type in CHOICE_TYPES:
        data["values"] = [{"key": key, "name": _line(name)} for key, name in choice_keys(question)]
    return data
