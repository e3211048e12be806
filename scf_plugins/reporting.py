"""Reporting an issue: what a 311 CRM enforces before it accepts a report.

:func:`build_issue` turns raw input into a :class:`~scf_plugins.store.NewIssue` or raises a
:class:`UserError` that says, in one line, what to fix. Nothing is stored until it succeeds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from .catalog import active_questions
from .errors import UserError
from .models import Answer, NewIssue, Question, RequestType

LIMITS = {
    "summary": 200,
    "description": 5000,
    "address": 300,
    "name": 200,
    "email": 254,
    "image_url": 2000,
    "answer": 2000,
}
MAX_ANSWERS = 100
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Report:
    """Raw report input, as typed on the command line or sent by a form."""

    request_type: str
    summary: str
    lat: float
    lng: float
    description: str = ""
    address: str | None = None
    name: str | None = None
    email: str | None = None
    image_url: str | None = None
    answers: tuple[tuple[str, str], ...] = ()


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` is not plain text (control characters, line breaks where one line is
    wanted, bytes that were not UTF-8), or None."""
    if _CONTROL.search(value):
        return "contains a control character; use plain text"
    if not multiline and ("\n" in value or "\r" in value):
        return "contains a line break; use plain text on one line"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8; check the terminal's or the client's encoding"
    return None


def _text(
    label: str, value: str | None, limit: int, *, required: bool = False, multiline: bool = False
) -> str | None:
    if value is None:
        if required:
            raise UserError(f"{label} is required")
        return None
    problem = text_problem(value, multiline=multiline)
    if problem:
        raise UserError(f"{label} {problem}")
    cleaned = value.strip()
    if required and not cleaned:
        raise UserError(f"{label} is required and cannot be blank")
    if len(cleaned) > limit:
        raise UserError(f"{label} is {len(cleaned)} characters; the limit is {limit}")
    return cleaned or None


def _coordinate(label: str, value: float, low: float, high: float) -> float:
    if not isinstance(value, int | float) or not math.isfinite(value) or not low <= value <= high:
        raise UserError(f"{label} {value!r} is out of range; use a number from {low:g} to {high:g}")
    return float(value)


def _answer_value(question: Question, raw: str) -> str:
    value = _text(
        f"the answer to question {question.id} ({question.text})",
        raw,
        LIMITS["answer"],
        multiline=question.type == "text",
    )
    if value is None:
        return ""
    if question.type == "choice":
        for option in question.options:
            if option.casefold() == value.casefold():
                return option
        raise UserError(
            f"answer {value!r} to question {question.id} ({question.text}) is not an option; "
            f"use one of: {', '.join(question.options)}"
        )
    if question.type == "date":
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError
            date.fromisoformat(value)
        except ValueError:
            raise UserError(
                f"answer {value!r} to question {question.id} ({question.text}) is not a date; "
                f"use YYYY-MM-DD"
            ) from None
    return value


def parse_answer_args(pairs: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``QID=VALUE`` strings to pairs; a pair without ``=`` is a usage error."""
    out = []
    for pair in pairs:
        qid, sep, value = pair.partition("=")
        if not sep or not qid.strip():
            raise UserError(
                f"--answer {pair!r} is not QID=VALUE; take QID from `scf request-types`"
            )
        out.append((qid.strip(), value))
    return tuple(out)


def build_issue(report: Report, rt: RequestType, integration: str | None) -> NewIssue:
    """Validate ``report`` against request type ``rt``; return what to store."""
    summary = _text("--summary", report.summary, LIMITS["summary"], required=True)
    assert summary is not None
    description = (
        _text("--description", report.description, LIMITS["description"], multiline=True) or ""
    )
    address = _text("--address", report.address, LIMITS["address"])
    name = _text("--name", report.name, LIMITS["name"])
    email = _text("--email", report.email, LIMITS["email"])
    if email and not _EMAIL.match(email):
        raise UserError(f"--email {email!r} is not an email address; use name@example.org")
    image_url = _text("--image-url", report.image_url, LIMITS["image_url"])
    if image_url and not re.match(r"https?://[^\s/]+\S*$", image_url):
        raise UserError("--image-url must be an http(s) URL")
    lat = _coordinate("--lat", report.lat, -90, 90)
    lng = _coordinate("--lng", report.lng, -180, 180)

    if len(report.answers) > MAX_ANSWERS:
        raise UserError(f"{len(report.answers)} answers given; the limit is {MAX_ANSWERS}")
    by_id = {q.id: q for q in rt.questions}
    given: dict[str, str] = {}
    for qid, raw in report.answers:
        question = by_id.get(qid)
        if question is None:
            known = ", ".join(q.id for q in rt.questions) or "none"
            raise UserError(
                f"request type {rt.code} has no question {qid!r}; its questions: {known}"
            )
        if qid in given:
            raise UserError(f"question {qid} is answered twice; give one --answer {qid}=…")
        given[qid] = _answer_value(question, raw)

    active = active_questions(rt, given)
    active_ids = {q.id for q in active}
    for qid in given:
        if qid not in active_ids and given[qid]:
            condition = " or ".join(f"{p} is {o!r}" for p, o in by_id[qid].asked_when)
            raise UserError(f"question {qid} ({by_id[qid].text}) is asked only when {condition}")
    stored = []
    for question in active:
        value = given.get(question.id, "")
        if not value:
            if question.required:
                raise UserError(
                    f"question {question.id} ({question.text}) needs an answer: "
                    f"--answer {question.id}=VALUE"
                )
            continue
        stored.append(
            Answer(question.id, question.text, value, question.private, question.ref_for(value))
        )
    return NewIssue(
        request_type=rt.code,
        integration=integration,
        type_ref=rt.ref,
        summary=summary,
        lat=lat,
        lng=lng,
        description=description,
        address=address,
        reporter_name=name,
        reporter_email=email,
        image_url=image_url,
        answers=tuple(stored),
    )
