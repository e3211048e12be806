"""Reporting an issue: what a 311 CRM enforces before it accepts a report.

:func:`build_issue` turns raw input into a :class:`~scf_plugins.store.store.NewIssue` or raises a
:class:`UserError` that says, in one line, what to fix. Nothing is stored until it succeeds.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from ..errors import UserError
from ..models import CHOICE_TYPES, Answer, NewIssue, Question, RequestType
from .area import ServiceArea
from .catalog import active_questions
from .sanitize import invisible_formatting, named

LIMITS = {
    "summary": 200,
    "description": 5000,
    "address": 300,
    "name": 200,
    "email": 254,
    "phone": 50,
    "image_url": 2000,
    "answer": 2000,
}
MAX_ANSWERS = 100
T = TypeVar("T")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ().\-/]*(?:\s*(?:x|ext\.?)\s*[0-9]+)?$", re.IGNORECASE)


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
    phone: str | None = None
    reported_via: str | None = None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` is not plain text (control characters, line breaks or invisible
    formatting characters where one line is wanted, bytes that were not UTF-8), or None."""
    if _CONTROL.search(value):
        return "contains a control character; use plain text"
    if not multiline:
        if "\n" in value or "\r" in value or "\u2028" in value or "\u2029" in value:
            return "contains a line break; use plain text on one line"
        hidden = invisible_formatting(value)
        if hidden is not None:
            return f"contains an invisible formatting character, {named(hidden)}; use plain text"
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
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise UserError(f"{label} {value!r} is out of range; use a number from {low:g} to {high:g}")
    return float(value)


def _answer_value(question: Question, raw: str, labels: Labels) -> str:
    value = _text(
        f"the answer to question {question.id} ({question.text})",
        raw,
        LIMITS["answer"],
        multiline=question.type == "text",
    )
    if value is None:
        return ""
    if question.type == "info":
        raise UserError(
            f"question {question.id} ({question.text}) is information only; it takes no answer"
        )
    if question.type == "number":
        return _number(question, value)
    if question.type == "datetime":
        return _datetime(question, value)
    if question.type in CHOICE_TYPES:
        for option in question.options:
            if option.casefold() == value.casefold():
                return option
        raise UserError(
            f"answer {value!r} to question {question.id} ({question.text}) is not an option; "
            f"use one of: {', '.join(labels.options(question))}"
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


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?")


def _number(question: Question, value: str) -> str:
    """A number answer, within the question's bounds; kept as written."""
    where = f"answer {value[:40]!r} to question {question.id} ({question.text})"
    if not _NUMBER.fullmatch(value):
        raise UserError(f"{where} is not a number; use digits, e.g. 3 or 2.5")
    number = float(value)
    if question.minimum is not None and number < question.minimum:
        raise UserError(f"{where} is below the least accepted, {question.minimum:g}")
    if question.maximum is not None and number > question.maximum:
        raise UserError(f"{where} is above the most accepted, {question.maximum:g}")
    return value


def _datetime(question: Question, value: str) -> str:
    """A date-time answer in ISO 8601 (a zone optional: a form's ``datetime-local`` has
    none); kept as written, with ``T`` between date and time."""
    text = value.replace(" ", "T", 1)
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
                            r"(Z|[+-]\d{2}:?\d{2})?", text):  # fmt: skip
            raise ValueError
        datetime.fromisoformat(text)
    except ValueError:
        raise UserError(
            f"answer {value[:40]!r} to question {question.id} ({question.text}) is not a "
            f"date-time; use ISO 8601, e.g. 2026-05-01T13:45 or 2026-05-01T13:45:00-04:00"
        ) from None
    return text


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


@dataclass(frozen=True)
class Labels:
    """How problems name the fields: ``scf report``'s options, or a form's field names."""

    summary: str = "--summary"
    description: str = "--description"
    address: str = "--address"
    name: str = "--name"
    email: str = "--email"
    phone: str = "--phone"
    image_url: str = "--image-url"
    lat: str = "--lat"
    lng: str = "--lng"
    answer: str = "--answer {qid}=VALUE"  # how to answer question ``qid``
    answer_field: str = "--answer {qid}"  # the field a problem with that answer names
    point: str = "{lat}/{lng}: "  # what leads a point outside the service area

    def options(self, question: Question) -> list[str]:
        """The accepted answers of a choice question, as problems list them."""
        return list(question.options)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a report: the field it concerns, and what to do."""

    field: str
    text: str


class ReportError(UserError):
    """A report that cannot be accepted; ``problems`` lists each thing wrong with it (the
    message joins them in one line)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(p.text for p in self.problems))


class _Problems:
    """Collects problems, so a client hears of every one at once."""

    def __init__(self) -> None:
        self.found: list[Problem] = []

    def check(self, field: str, check: Callable[[], T]) -> T | None:
        try:
            return check()
        except UserError as exc:
            self.found.append(Problem(field, str(exc)))
            return None


def point_problems(
    lat: float, lng: float, area: ServiceArea | None, labels: Labels | None = None
) -> list[Problem]:
    """Why a point cannot be an issue's location: a coordinate that is not a finite number
    in range (latitude -90..90, longitude -180..180), or a point outside the service area
    (checked once both coordinates are good). Empty when the point can be used.

    The one check every point goes through: a reported one (:func:`build_issue`) and one a
    geocoder answers (:mod:`.places`).
    """
    labels = labels or Labels()
    problems = _Problems()
    good_lat = problems.check(labels.lat, lambda: _coordinate(labels.lat, lat, -90, 90))
    good_lng = problems.check(labels.lng, lambda: _coordinate(labels.lng, lng, -180, 180))
    if area is not None and good_lat is not None and good_lng is not None:
        outside = area.problem(good_lat, good_lng)
        if outside:
            named = labels.point.format(lat=labels.lat, lng=labels.lng)
            problems.found.append(Problem(labels.lat, named + outside))
    return problems.found


def build_issue(
    report: Report,
    rt: RequestType,
    integration: str | None,
    labels: Labels = Labels(),
    *,
    area: ServiceArea | None = None,
) -> NewIssue:
    """Validate ``report`` against request type ``rt``; return what to store.

    :param area: the organization's service area; a point outside it is refused.
    :raises ReportError: naming every problem found, each with its field.
    """
    problems = _Problems()
    summary = problems.check(
        labels.summary,
        lambda: _text(labels.summary, report.summary, LIMITS["summary"], required=True),
    )
    description = problems.check(
        labels.description,
        lambda: _text(
            labels.description, report.description, LIMITS["description"], multiline=True
        ),
    )
    address = problems.check(
        labels.address, lambda: _text(labels.address, report.address, LIMITS["address"])
    )
    name = problems.check(labels.name, lambda: _text(labels.name, report.name, LIMITS["name"]))
    email = problems.check(labels.email, lambda: _email(labels.email, report.email))
    phone = problems.check(labels.phone, lambda: _phone(labels.phone, report.phone))
    image_url = problems.check(labels.image_url, lambda: _url(labels.image_url, report.image_url))
    problems.found.extend(point_problems(report.lat, report.lng, area, labels))
    stored = _answers(report, rt, labels, problems)
    if problems.found:
        raise ReportError(problems.found)
    assert summary is not None
    return NewIssue(
        request_type=rt.code,
        integration=integration,
        type_ref=rt.ref,
        summary=summary,
        lat=float(report.lat),
        lng=float(report.lng),
        description=description or "",
        address=address,
        reporter_name=name,
        reporter_email=email,
        image_url=image_url,
        answers=tuple(stored),
        reporter_phone=phone,
        reported_via=report.reported_via,
    )


def _email(label: str, value: str | None) -> str | None:
    email = _text(label, value, LIMITS["email"])
    if email and not _EMAIL.match(email):
        raise UserError(f"{label} {email!r} is not an email address; use name@example.org")
    return email


def _phone(label: str, value: str | None) -> str | None:
    phone = _text(label, value, LIMITS["phone"])
    if phone and not _PHONE.match(phone):
        raise UserError(f"{label} {phone!r} is not a phone number; use digits, spaces, + ( ) -")
    return phone


def _url(label: str, value: str | None) -> str | None:
    url = _text(label, value, LIMITS["image_url"])
    if url and not re.match(r"https?://[^\s/]+\S*$", url):
        raise UserError(f"{label} must be an http(s) URL")
    return url


def _answers(report: Report, rt: RequestType, labels: Labels, problems: _Problems) -> list[Answer]:
    """The answers to store, in presentation order; each problem is added to ``problems``."""
    if len(report.answers) > MAX_ANSWERS:
        problems.found.append(
            Problem("answers", f"{len(report.answers)} answers given; the limit is {MAX_ANSWERS}")
        )
        return []
    by_id = {q.id: q for q in rt.questions}
    given: dict[str, str] = {}
    chosen: dict[str, list[str]] = {}  # multi-choice answers, one option per --answer
    for qid, raw in report.answers:
        field = labels.answer_field.format(qid=qid)
        question = by_id.get(qid)
        if question is None:
            known = ", ".join(q.id for q in rt.questions) or "none"
            problems.found.append(
                Problem(
                    field,
                    f"request type {rt.code} has no question {qid!r}; its questions: {known}",
                )
            )
            continue
        if qid in given and question.type != "multichoice":
            problems.found.append(
                Problem(field, f"question {qid} is answered twice; give one answer")
            )
            continue
        value = problems.check(field, functools.partial(_answer_value, question, raw, labels))
        if value is None:
            continue
        if question.type == "multichoice":
            picked = chosen.setdefault(qid, [])
            if value and value not in picked:
                picked.append(value)
            given[qid] = value if picked else ""
        else:
            given[qid] = value

    active = active_questions(rt, {**given, **chosen})
    active_ids = {q.id for q in active}
    for qid in given:
        if qid not in active_ids and given[qid]:
            condition = " or ".join(f"{p} is {o!r}" for p, o in by_id[qid].asked_when)
            problems.found.append(
                Problem(
                    labels.answer_field.format(qid=qid),
                    f"question {qid} ({by_id[qid].text}) is asked only when {condition}",
                )
            )
    stored = []
    # Answers given but refused above already have their problem: not "needs an answer" too.
    refused = {qid for qid, _ in report.answers} - given.keys()
    for question in active:
        value = given.get(question.id, "")
        if not value:
            if question.required and question.type != "info" and question.id not in refused:
                problems.found.append(
                    Problem(
                        labels.answer_field.format(qid=question.id),
                        f"question {question.id} ({question.text}) needs an answer: "
                        f"{labels.answer.format(qid=question.id)}",
                    )
                )
            continue
        options = chosen.get(question.id)  # a multi-choice: each option chosen, in their order
        for each in sorted(options, key=question.options.index) if options else [value]:
            stored.append(
                Answer(question.id, question.text, each, question.private, question.ref_for(each))
            )
    return stored
