"""What a client sends, read and checked: the query or form (:class:`Form`), and the values in
it: a report's location and answers, an update's fields, dates, the date window and paging.

Each reader adds one problem line per mistake to ``problems`` (they become the errors of a
400 reply) and returns None, or a neutral value, for what it could not read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..intake.reporting import LIMITS, Labels, text_problem
from ..models import CHOICE_TYPES, Question, RequestType
from .documents import choice_keys

WINDOW = timedelta(days=90)  # the spec's longest date range, and the default one
DEFAULT_ROWS = 1000  # the spec's default cap on GET requests
MAX_IDS = 1000  # service_request_id values one GET may ask for
CUT = " […]"  # ends a description that was too long to keep whole
_W3C = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.ASCII)
# The dates a client may send: the store and the 90-day window arithmetic hold every one of
# them, whatever its zone (a year-1 or year-9999 date overflows once moved to UTC or widened).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)  # the first date refused
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# The intake names a report's fields as this form does in what it refuses.
FORM_LABELS = Labels(
    summary="description",
    description="description",
    address="address_string",
    name="first_name",
    email="email",
    phone="phone",
    image_url="media_url",
    lat="lat",
    lng="long",
    answer="attribute[{qid}]",
    answer_field="attribute[{qid}]",
)


class Form:
    """Query or form parameters with repeated keys kept; an empty value reads as absent."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.pairs = list(pairs)
        self.values: dict[str, list[str]] = {}
        for key, value in pairs:
            self.values.setdefault(key, []).append(value)

    def get(self, key: str) -> str | None:
        """The last non-empty value of ``key`` (surrounding spaces removed), or None."""
        for value in reversed(self.values.get(key, [])):
            if value.strip():
                return value.strip()
        return None

    def raw(self, key: str) -> str:
        """The last value of ``key`` as sent (spaces and line breaks kept), or ``""``."""
        values = self.values.get(key) or [""]
        return values[-1]

    def words(self, key: str) -> list[str]:
        """A comma list (``status=open,closed``): its non-empty items."""
        text = self.get(key) or ""
        return [w.strip() for w in text.split(",") if w.strip()]

    def attributes(self) -> dict[str, list[str]]:
        """``attribute[c]=v``, ``attribute[c][]=v`` and repeated ``attribute[c]``, as lists
        (blank values kept: an optional list left unpicked arrives as ``""``)."""
        out: dict[str, list[str]] = {}
        for key, value in self.pairs:
            match = re.fullmatch(r"attribute\[(.+?)\](\[\])?", key)
            if match:
                out.setdefault(match.group(1), []).append(value)
        return out


@dataclass(frozen=True)
class Update:
    """A POSTed service request update, checked: the issue, the client's id, the text and
    who wrote it (empty: not said)."""

    issue_id: int
    update_id: str
    text: str
    author: str


def description(text: str) -> str:
    """The resident's text with line breaks normalised, cut with a marker when too long
    (FixMyStreet sends long ones: title, detail and a link)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    limit = LIMITS["description"]
    if len(text) > limit:
        text = text[: limit - len(CUT)].rstrip() + CUT
    return text


def location(form: Form, problems: list[str]) -> tuple[float | None, float | None]:
    """``lat``/``long`` as numbers; (None, None) when absent (an address may place the
    report) or wrong (a problem is added)."""
    lat_text, lng_text = form.get("lat"), form.get("long")
    if lat_text is None and lng_text is None:
        if form.get("address_string") is None:
            problems.append(
                "a location is required: send lat and long (WGS84), or address_string"
                + (" (address_id is not used here)" if form.get("address_id") else "")
            )
        return None, None
    if lat_text is None or lng_text is None:
        missing = "lat" if lat_text is None else "long"
        problems.append(f"{missing} is required with {'long' if missing == 'lat' else 'lat'}")
        return None, None
    values = []
    for name, text in (("lat", lat_text), ("long", lng_text)):
        try:
            values.append(float(text))
        except ValueError:
            problems.append(f"{name} {text[:40]!r} is not a number; send decimal degrees")
    if len(values) < 2:
        return None, None
    return values[0], values[1]


def answers(form: Form, rt: RequestType, problems: list[str]) -> tuple[tuple[str, str], ...]:
    """The form's attributes as ``(question id, answer)`` pairs: a choice by its key (or
    its text, any case), a date from a date or date-time; undeclared attributes (FixMyStreet
    adds its own, such as ``uprn``) are ignored."""
    by_id = {q.id: q for q in rt.questions}
    out: list[tuple[str, str]] = []
    for code, values in form.attributes().items():
        question = by_id.get(code)
        if question is None:
            continue
        given = [v for v in values if v.strip()]
        if not given or question.type == "info":
            continue  # a blank optional list (not answered), or text only shown
        if len(given) > 1 and question.type != "multichoice":
            problems.append(f"attribute[{code}] takes one value; {len(given)} were sent")
            continue
        out.extend((code, _answer_text(question, value.strip())) for value in given)
    return tuple(out)


def update(form: Form, problems: list[str]) -> Update | None:
    """A POSTed update's fields (its ``status`` is required but not applied), or None with
    a problem for each one missing or wrong."""
    target = form.get("service_request_id")
    if target is None:
        problems.append("service_request_id is required: the request this update is for")
    update_id = form.get("update_id")
    if update_id is None:
        problems.append("update_id is required: your own id for this update")
    elif len(update_id) > 100 or text_problem(update_id):
        problems.append("update_id must be 1 to 100 characters of plain text")
    if form.get("status") is None:
        problems.append("status is required (OPEN, CLOSED, FIXED, …); it is not applied")
    stamp = form.get("updated_datetime")
    if stamp is None:
        problems.append("updated_datetime is required, e.g. 2024-05-01T10:00:00Z")
    else:
        parse_w3c("updated_datetime", stamp, problems)
    text = description(form.raw("description"))
    problem = text_problem(text, multiline=True)
    if not text:
        problems.append("description is required: the text of the update")
    elif problem:
        problems.append(f"description {problem}")
    author = " ".join(p for p in (form.get("first_name"), form.get("last_name")) if p and p != "-")[
        : LIMITS["name"]
    ].strip()
    if author and text_problem(author):
        problems.append("first_name and last_name must be plain text on one line")
    if problems or target is None or update_id is None:
        return None
    return Update(int(target), update_id, text, author)


def parse_w3c(name: str, text: str, problems: list[str]) -> datetime | None:
    """A W3C datetime field (``start_date``, ``updated_datetime``…); one that is naive,
    malformed, no real date (month 13, day 32, year 0) or outside what the server handles
    adds a problem naming the field."""
    if not _W3C.match(text):
        problems.append(
            f"{name} {text[:40]!r} is not a W3C datetime with a zone; use e.g. 2024-05-01T00:00:00Z"
        )
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        problems.append(
            f"{name} {text[:40]!r} is no real date and time (check the month, day, hour and "
            f"zone); use e.g. 2024-05-01T00:00:00Z"
        )
        return None
    try:
        value.astimezone(UTC)
    except OverflowError:  # its offset carries it past year 1 or 9999
        return _handled(name, text, None, problems)
    return _handled(name, text, value, problems)


def filter_date(name: str, text: str, problems: list[str], end: bool = False) -> datetime | None:
    """A filter's date-time, or a W3C date alone: the UTC day it names (every time the door
    writes is UTC), from its start, or to its end (its last microsecond) when ``end``."""
    if not _DATE.match(text):
        return parse_w3c(name, text, problems)
    try:
        day = datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:
        problems.append(f"{name} {text[:40]!r} is not a date; use e.g. 2024-05-01")
        return None
    if _handled(name, text, day, problems) is None:
        return None
    return day + timedelta(days=1, microseconds=-1) if end else day


def _handled(name: str, text: str, value: datetime | None, problems: list[str]) -> datetime | None:
    """``value`` when it is within the dates the server handles (None: not even in
    Python's), else None with a problem."""
    if value is not None and EARLIEST <= value < LATEST:
        return value
    problems.append(
        f"{name} {text[:40]!r} is outside the dates this server handles: from "
        f"{EARLIEST:%Y-%m-%d} to {LATEST - timedelta(seconds=1):%Y-%m-%dT%H:%M:%SZ}"
    )
    return None


def window(query: Form, now: datetime, problems: list[str]) -> tuple[datetime, datetime] | None:
    """``start_date`` to ``end_date``: 90 days at most, ending now when neither is given."""
    start_text, end_text = query.get("start_date"), query.get("end_date")
    start = filter_date("start_date", start_text, problems) if start_text else None
    end = filter_date("end_date", end_text, problems, end=True) if end_text else None
    if (start_text and start is None) or (end_text and end is None):
        return None
    if start is None and end is None:
        end = now
    if start is None:
        assert end is not None
        start = end - WINDOW
    if end is None:
        end = start + WINDOW
    if end < start:
        problems.append("end_date is before start_date")
        return None
    if end - start > WINDOW:
        problems.append("start_date to end_date spans more than 90 days; ask for less")
        return None
    return start, end


def paging(query: Form, most: int, problems: list[str]) -> tuple[int, int] | None:
    """``(limit, offset)`` from ``page`` (from 1) and ``page_size`` (default 1,000)."""
    numbers = {}
    for name, default in (("page", 1), ("page_size", min(DEFAULT_ROWS, most))):
        text = query.get(name)
        if text is None:
            numbers[name] = default
        elif text.isascii() and text.isdigit() and 0 < int(text) <= 1_000_000:
            numbers[name] = int(text)
        else:
            problems.append(f"{name} {text[:20]!r} is not a whole number from 1")
            return None
    size = min(numbers["page_size"], most)
    return size, (numbers["page"] - 1) * size


def issue_ids(words: list[str]) -> list[int]:
    """The words that are issue ids (ASCII digits that fit a database integer)."""
    return [int(w) for w in words if w.isascii() and w.isdigit() and len(w) < 19]


def _answer_text(question: Question, value: str) -> str:
    """A form value as ``scf report`` takes the answer: a choice's text for its key, a date
    for a date-time."""
    if question.type in CHOICE_TYPES:
        for key, option in choice_keys(question):
            if value == key:
                return option
        return value  # its text (any case) or a wrong value: intake decides
    if question.type == "date" and re.match(r"^\d{4}-\d{2}-\d{2}[T ]", value):
        return value[:10]
    return value
