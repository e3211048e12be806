"""Cityworks payloads <-> the host's values.

Pure functions, no I/O: Q&A to questions, an issue to ``ServiceRequest/Create`` fields, and a
``RequestBase`` with its comments to a ``RemoteUpdate``.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import string
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from scf_plugins import (
    Integration,
    Issue,
    Question,
    QuestionType,
    RemoteComment,
    RemoteState,
    RemoteUpdate,
    RequestType,
    Tracked,
    pull_pattern,
)

from .options import OPTIONS

if TYPE_CHECKING:
    from .records import Record  # records reads ids with this module's request_id

log = logging.getLogger(__name__)

CHOICE_FORMATS = {"THISTEXT", "YES", "NO"}
# The one-answer formats a 311 form can ask, and the question type each becomes.
SIMPLE_FORMATS: dict[str, QuestionType] = {"FREETEXT": "text", "DATE": "date", "NUMERIC": "number"}
ISSUE_FIELDS = ("id", "marker", "summary", "description", "address", "request_type",
                "reporter_name", "reporter_email", "image_url", "lat", "lng")  # fmt: skip


_REQUEST_ID = re.compile(r"[1-9][0-9]{0,17}")
_NESTED = frozenset((dict, list))  # where a record should hold one value (as JSON reads it)


def request_id(value: Any) -> int | None:
    """A Cityworks ``RequestId`` (a positive whole number, as a number or ASCII digits), or
    None for anything else: ``"²"``, ``1.5``, ``-3``, ``True`` or ``"12 "`` are not ids."""
    # Exact type checks first: this runs twice per polled request (bool is not an int here).
    if type(value) is int:
        return value if 0 < value < 10**18 else None
    if type(value) is str:
        return int(value) if _REQUEST_ID.fullmatch(value) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value < 10**18 else None
    if isinstance(value, str) and _REQUEST_ID.fullmatch(value):
        return int(value)
    return None


def as_list(value: Any) -> list[Any]:
    """A payload value that should be a list, or [] (servers send null, or worse)."""
    return value if isinstance(value, list) else []


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def questions_from_qa(
    qa: Mapping[str, Any], problem_code: str, optional: Iterable[str] = ()
) -> list[Question]:
    """The questions of a ``ProblemQA``, in ``QuestionSequence`` order.

    FREETEXT -> text, THISTEXT/YES/NO -> a choice among the answer rows, DATE -> a date; a
    question of another format (or with no answer rows) is left out with a warning. With
    ``BranchingModel``, a question some choice leads to (``NextQuestionId``) is asked only when
    one of those choices was made.
    """
    optional_ids = {str(o) for o in optional}
    raw_questions = [q for q in as_list(qa.get("Questions")) if isinstance(q, dict)]
    raw_questions.sort(key=lambda q: (_int(q.get("QuestionSequence")), _int(q.get("QuestionId"))))
    answers_by_q: dict[str, list[dict[str, Any]]] = {}
    for a in as_list(qa.get("Answers")):
        if isinstance(a, dict) and a.get("QuestionId") is not None:
            answers_by_q.setdefault(str(a["QuestionId"]), []).append(a)
    for rows in answers_by_q.values():
        rows.sort(key=lambda a: (_int(a.get("AnswerSequence")), _int(a.get("AnswerId"))))

    # Branching: which choices lead to which question.
    leads_to: dict[str, list[tuple[str, str]]] = {}
    if qa.get("BranchingModel") in (True, "true", "True", 2):
        for qid, rows in answers_by_q.items():
            for a in rows:
                target = _int(a.get("NextQuestionId"))
                fmt = str(a.get("AnswerFormat") or "").upper()
                if target and fmt in CHOICE_FORMATS:
                    leads_to.setdefault(str(target), []).append((qid, _option_text(a)))

    out = []
    for q in raw_questions:
        qid = str(q.get("QuestionId"))
        text = str(q.get("Question") or "").strip()
        rows = answers_by_q.get(qid, [])
        formats = {str(a.get("AnswerFormat") or "").upper() for a in rows}
        required = qid not in optional_ids and "*" not in optional_ids
        if not rows:
            log.warning(
                "%s question %s (%s) has no answers and is left out", problem_code, qid, text
            )
            continue
        if formats <= CHOICE_FORMATS:
            options = tuple(_option_text(a) for a in rows)
            refs = tuple((_option_text(a), str(a.get("AnswerId"))) for a in rows)
            question = Question(
                id=qid,
                text=text,
                type="choice",
                required=required,
                options=options,
                answer_refs=refs,
            )
        elif len(formats) == 1 and formats <= SIMPLE_FORMATS.keys() and len(rows) == 1:
            qtype = SIMPLE_FORMATS[next(iter(formats))]
            question = Question(
                id=qid,
                text=text,
                type=qtype,
                required=required,
                answer_refs=(("", str(rows[0].get("AnswerId"))),),
            )
        else:
            log.warning(
                "%s question %s (%s) has answer format %s, which a 311 form cannot ask; "
                "it is left out",
                problem_code,
                qid,
                text,
                "/".join(sorted(formats)),
            )
            continue
        conditions = tuple(leads_to.get(qid, ()))
        out.append(
            Question(
                id=question.id,
                text=question.text,
                type=question.type,
                required=question.required,
                private="email" in text.lower() or "e-mail" in text.lower(),
                options=question.options,
                answer_refs=question.answer_refs,
                asked_when=conditions,
            )
        )
    return _simplify(out)


def _simplify(questions: list[Question]) -> list[Question]:
    """Drop conditions that always hold, and questions whose conditions never can.

    When every option of an always-asked question leads to the same follow-up, that follow-up
    is always asked too. A condition on a question that was left out can never hold.
    """
    by_id = {q.id: q for q in questions}
    out = []
    for q in questions:
        conditions = [(p, o) for p, o in q.asked_when if p in by_id]
        if q.asked_when and not conditions:
            continue
        for parent_id in {p for p, _ in conditions}:
            parent = by_id[parent_id]
            chosen = {o for p, o in conditions if p == parent_id}
            if not parent.asked_when and parent.type == "choice" and chosen >= set(parent.options):
                conditions = []
                break
        out.append(dataclasses.replace(q, asked_when=tuple(conditions)))
    return out


def _option_text(answer: Mapping[str, Any]) -> str:
    text = str(answer.get("Answer") or "").strip()
    if text:
        return text
    return {"YES": "Yes", "NO": "No"}.get(str(answer.get("AnswerFormat") or "").upper(), text)


def request_type_from(
    problem: Mapping[str, Any], qa: Mapping[str, Any] | None, integration: Integration
) -> RequestType:
    """A request type from a ``ProblemName`` and its ``ProblemQA``."""
    code = str(problem.get("ProblemCode") or "").strip()
    optional = OPTIONS.value(integration, "optional_questions")
    questions = questions_from_qa(qa or {}, code, optional) if qa else []
    return RequestType(
        code=code,
        name=str(problem.get("Description") or code).strip(),
        integration=integration.name,
        questions=tuple(questions),
        ref=str(problem.get("ProblemSid")),
    )


class _IssueFormatter(string.Formatter):
    def __init__(self, issue: Issue) -> None:
        super().__init__()
        self.issue = issue

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        head, _, attr = field_name.partition(".")
        if head != "issue" or attr not in ISSUE_FIELDS:
            raise KeyError(field_name)
        value = getattr(self.issue, attr)
        return ("" if value is None else value), field_name


def template_problem(template: str) -> str | None:
    """Why a ``custom_fields`` template cannot be filled from an issue, or None."""
    try:
        names = [n for _, n, _, _ in string.Formatter().parse(template) if n is not None]
    except ValueError as exc:
        return f"is not a valid template ({exc})"
    for name in names:
        head, _, attr = name.partition(".")
        if head != "issue" or attr not in ISSUE_FIELDS:
            allowed = ", ".join("{issue." + f + "}" for f in ISSUE_FIELDS)
            return f"uses unknown placeholder {{{name}}}; use one of {allowed}"
    return None


def render_custom(template: str, issue: Issue) -> str:
    """Fill a ``custom_fields`` template such as ``"{issue.id}"``."""
    return _IssueFormatter(issue).format(template)


def details_of(issue: Issue) -> str:
    """``Details``: the summary, then the description when it says more (a description that
    only repeats the summary is sent once)."""
    summary = issue.summary
    description = issue.description
    if not description or description.strip() == summary.strip():
        return summary
    return f"{summary}\n{description}"


def create_fields(integration: Integration, issue: Issue, x: float, y: float) -> dict[str, Any]:
    """The ``ServiceRequest/Create`` data for ``issue`` (X/Y already projected)."""
    check = issue.address_check
    address = (
        check.address if check is not None and check.accepted and check.address else issue.address
    )
    details = details_of(issue)
    fields: dict[str, Any] = {
        "ProblemSid": _int(issue.type_ref, 0) or issue.type_ref,
        "CallerFirstName": str(OPTIONS.value(integration, "caller_first_name")),
        "CallerLastName": issue.reporter_name or "",
        "CallerEmail": issue.reporter_email or "",
        "Details": details,
        "X": x,
        "Y": y,
        "OtherSystemId": issue.marker,
        "InitiatedByApp": str(OPTIONS.value(integration, "initiated_by_app")),
        "Answers": [
            {"AnswerId": _int(a.ref, 0) or a.ref, "AnswerValue": a.answer}
            for a in issue.answers
            if a.ref
        ],
    }
    if address:
        fields["Address"] = address
    image_field = OPTIONS.value(integration, "image_url_field")
    if issue.image_url and image_field:
        fields[str(image_field)] = issue.image_url
    for name, template in integration.custom_fields.items():
        fields[name] = render_custom(template, issue)
    return fields


def parse_local(value: Any, timezone: str) -> datetime | None:
    """A Cityworks date (naive server-local, or ``…Z``) as an aware datetime; None if unset."""
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    text = value.strip()
    try:
        if text.endswith("Z"):
            return datetime.fromisoformat(text[:-1] + "+00:00")
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(timezone))


def _field_value(value: Any) -> str:
    if value is None or value is False or value == "":
        return ""
    return str(value).strip()


# The fields every polled request is read for, before the ones activity rules watch.
_READ = ("Status", "OtherSystemId", "IsClosed", "CancelReason")


@dataclasses.dataclass(frozen=True)
class Reading:
    """How one integration's polled records are read: its settings looked up once per poll,
    not once per request (a poll reads hundreds of thousands of requests)."""

    integration: Integration
    checked: tuple[str, ...]  # every field read: each must hold one value, not a list or object
    watched: tuple[str, ...]
    cancel: frozenset[str]
    closed: frozenset[str]
    pulled_by: re.Pattern[str]
    # How each kind of fast record gives the checked fields (records.Record.reader).
    _readers: dict[type, Callable[[Any], tuple[Any, ...]]] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, integration: Integration) -> Reading:
        """The reading of ``integration``'s records."""
        watched = integration.watched_fields
        return cls(
            integration=integration,
            checked=(*_READ, *watched),
            watched=watched,
            cancel=frozenset(s.upper() for s in integration.cancel_statuses),
            closed=frozenset(s.upper() for s in integration.closed_statuses),
            pulled_by=pull_pattern(str(OPTIONS.value(integration, "pull_prefix"))),
        )

    def state(self, code: str) -> RemoteState:
        """The state of an upper-case, stripped status code."""
        if code in self.cancel:
            return RemoteState.CANCELED
        if code in self.closed:
            return RemoteState.CLOSED
        return RemoteState.OPEN

    def _values(self, request: Mapping[str, Any] | Record) -> tuple[Any, ...]:
        """The ``checked`` fields of a record, in that order."""
        reader = self._readers.get(type(request))
        if reader is not None:
            return reader(request)
        if isinstance(request, Mapping):
            return tuple(map(request.get, self.checked))
        reader = self._readers[type(request)] = request.reader(self.checked)
        return reader(request)

    def update(
        self,
        tracked: Tracked,
        request: Mapping[str, Any] | Record | None,
        comments: Iterable[Mapping[str, Any]],
    ) -> RemoteUpdate:
        """See :func:`update_from`."""
        if request is None:
            return RemoteUpdate(tracked.issue_id, tracked.remote_id, RemoteState.MISSING)
        values = self._values(request)
        if not _NESTED.isdisjoint(map(type, values)):  # in C: this runs for every request
            name, value = next((n, v) for n, v in zip(self.checked, values, strict=True)
                                if type(v) in _NESTED)  # fmt: skip
            return RemoteUpdate(
                tracked.issue_id,
                tracked.remote_id,
                RemoteState.UNREADABLE,
                error=f"Cityworks sent a {type(value).__name__} as the {name} of "
                f"request {tracked.remote_id}, not a value",
            )
        status, marker, closed, reason = values[:4]  # _READ's
        status_text = None if status is None else str(status)
        fields: tuple[tuple[str, str], ...] = ()
        for name, raw in zip(self.watched, values[4:], strict=True):  # most watch one or none
            if value := _field_value(raw):
                fields += ((name, value),)
        # Positional, in the field order of RemoteUpdate: keywords cost a fifth more, and this
        # runs once per polled request.
        return RemoteUpdate(
            tracked.issue_id,
            tracked.remote_id,
            self.state((status_text or "").strip().upper()),
            status_text,
            fields,
            self._pulled(comments) if comments else (),
            "" if marker is None else str(marker),  # marker
            closed is True or str(closed) == "true",  # remote_closed
            None,  # error
            _field_value(reason) or None,  # reason
        )

    def _pulled(self, comments: Iterable[Mapping[str, Any]]) -> tuple[RemoteComment, ...]:
        """The comments meant for the resident, prefix removed, oldest (lowest id) first."""
        pulled_by = self.pulled_by
        pulled = []
        for c in comments:
            if not isinstance(c, Mapping):
                continue
            text = c.get("Comments")
            if not isinstance(text, str) or not pulled_by.match(text):
                continue
            body = pulled_by.sub("", text, count=1).strip()
            comment_id = c.get("CommentId")
            author = c.get("AuthorName")
            if body and isinstance(comment_id, str | int) and str(comment_id):
                pulled.append(
                    RemoteComment(
                        remote_id=str(comment_id),
                        text=body,
                        author=author if isinstance(author, str) else "",
                        created_at=parse_local(c.get("DateCreated"), self.integration.timezone),
                    )
                )
        pulled.sort(key=lambda rc: _int(rc.remote_id))
        return tuple(pulled)


def update_from(
    tracked: Tracked,
    request: Mapping[str, Any] | Record | None,
    comments: Iterable[Mapping[str, Any]],
    integration: Integration,
) -> RemoteUpdate:
    """The ``RemoteUpdate`` of one tracked issue from its ``RequestBase`` and ``CommentRecord``s.

    A record whose polled or watched field holds a list or an object is UNREADABLE: a status
    cannot be read from it (and its text could be nested deeper than is safe to print).
    A poll reads many: it prepares :class:`Reading` once and calls :meth:`Reading.update`.
    """
    return Reading.of(integration).update(tracked, request, comments)
