"""Issues by hand: what ``scf report`` and ``scf issues …`` do once their options are read.

Each function checks what the config and the store say (a refusal is a
:class:`~scf_plugins.errors.UserError` that names the fix), then changes the store through its
API or the engine's transitions. Reports and corrections go through the one intake
validation (:func:`~scf_plugins.intake.reporting.build_issue`), as reports from the Open311
door do. Withdrawing and resubmitting are :mod:`.unlinking`; retrying is :mod:`.retrying`;
listing and searching is :mod:`.finding`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..errors import UserError
from ..intake.images import from_files
from ..intake.reporting import Labels, Report, build_issue, parse_answer_args, text_problem
from ..models import RequestType
from . import audit

if TYPE_CHECKING:
    from ..config.settings import Settings
    from ..plugins import PluginHost
    from ..store.store import IssueRecord, Store

STAFF = "Staff"  # who a comment made here is by, unless --author names someone
TypeOf = Callable[[str], RequestType]  # the request type of a code, loading them if need be
# How the intake's problems name what was given: `scf report`'s and `scf issues edit`'s
# options (the console passes its forms' labels).
OPTIONS = Labels()


@dataclasses.dataclass(frozen=True)
class Correction:
    """What ``scf issues edit`` changes; None keeps the issue's value (an empty address
    removes it), and ``answers`` replace those of the same question (an empty value removes
    an optional one)."""

    summary: str | None = None
    description: str | None = None
    lat: float | None = None
    lng: float | None = None
    address: str | None = None
    answers: tuple[str, ...] = ()

    def empty(self) -> bool:
        """Whether nothing would change."""
        return not self.fields()

    def fields(self) -> list[str]:
        """The names of what it changes (for the audit log: never the values)."""
        named = [
            name
            for name in ("summary", "description", "lat", "lng", "address")
            if getattr(self, name) is not None
        ]
        return named + (["answers"] if self.answers else [])


def record(store: Store, issue_id: int) -> IssueRecord:
    """The issue, or a refusal that says where to find one."""
    found = store.get(issue_id)
    if found is None:
        raise UserError(f"there is no issue {issue_id}; see `scf issues list`")
    return found


def report(
    settings: Settings,
    store: Store,
    type_of: TypeOf,
    given: Report,
    images: Sequence[str],
    *,
    actor: str,
    labels: Labels = OPTIONS,
) -> int:
    """Store a new issue after the intake's checks, with its photos checked and re-encoded
    first; returns its id. Its type is ``given``'s code as the remote system spells it (it
    may have been matched ignoring case).

    :param labels: how the intake's problems (a
        :class:`~scf_plugins.intake.reporting.ReportError`, one per field) name the fields.
    """
    rt = type_of(given.request_type)
    given = dataclasses.replace(given, request_type=rt.code)
    area = settings.organization.service_area
    new = build_issue(given, rt, settings.owner_of(rt.code), labels, area=area)
    photos = from_files(images, settings.images)
    issue_id = store.create_issue(new, photos)
    audit.record(store, actor, "issues.report", issue_id=issue_id, integration=new.integration,
                 detail=f"reported {rt.code}")  # fmt: skip
    return issue_id


def checked_comment(text: str, author: str | None) -> tuple[str, str]:
    """A comment's text and author as stored, or a refusal (checked before anything opens).
    Without an author it is by :data:`STAFF`: a comment made here is the city's, never a
    resident's."""
    if author is None:
        author = STAFF
    body = text.strip()
    if not body or len(body) > 5000:
        raise UserError("the comment must be 1 to 5000 characters")
    problem = text_problem(body, multiline=True)
    if problem:
        raise UserError(f"the comment {problem}")
    if not author.strip() or len(author) > 200 or text_problem(author):
        raise UserError("--author must be 1 to 200 characters of plain text on one line")
    return body, author.strip()


def comment(
    settings: Settings,
    host: PluginHost,
    store: Store,
    issue_id: int,
    author: str,
    body: str,
    *,
    actor: str,
) -> tuple[int, str]:
    """Add a local comment (checked by :func:`checked_comment`); returns its id and where it
    goes: to the remote request on a pass, or it stays here."""
    found = record(store, issue_id)
    comment_id = store.add_comment(issue_id, author, body)
    audit.record(
        store,
        actor,
        "issues.comment",
        issue_id=issue_id,
        integration=found.integration,
        detail=f"comment {comment_id}",
    )
    integration = settings.integrations.get(found.integration or "")
    if integration is not None and not host.capabilities(integration).push_comments:
        return comment_id, f"it stays here: {integration.plugin} has no comment API"
    status = found.issue.status.value
    fate = {
        "acknowledged": "it goes to the remote request on the next pass",
        "open": "it goes to the remote request once the issue is linked to one",
    }.get(status, f"it stays here: the issue is {status}, so its remote request is done with")
    return comment_id, fate


def recategorize(
    settings: Settings,
    store: Store,
    issue_id: int,
    code: str,
    answers: Sequence[str],
    type_of: TypeOf,
    *,
    actor: str,
    labels: Labels = OPTIONS,
) -> tuple[str, str | None]:
    """Give an Open, unlinked issue the request type ``code`` (its answers given anew);
    returns the code as the remote system spells it, and the integration that serves it now
    (None: none does). ``labels`` name the fields in the intake's problems."""
    issue = record(store, issue_id).issue
    if issue.status.value != "open" or issue.remote_id:
        raise UserError(
            f"issue {issue_id} is {issue.status.value} and linked to a remote request; "
            f"only an Open, unlinked issue can be recategorized"
        )
    rt = type_of(code)
    given = Report(
        request_type=rt.code,
        summary=issue.summary,
        lat=issue.lat,
        lng=issue.lng,
        description=issue.description,
        address=issue.address,
        name=issue.reporter_name,
        email=issue.reporter_email,
        image_url=issue.image_url,
        answers=parse_answer_args(answers),
    )
    new = build_issue(given, rt, settings.owner_of(rt.code), labels)
    if not store.recategorize(issue_id, rt.code, new.integration, new.type_ref, new.answers):
        raise UserError(f"issue {issue_id} changed meanwhile; look at it again")
    audit.record(
        store,
        actor,
        "issues.recategorize",
        issue_id=issue_id,
        integration=new.integration,
        detail=f"recategorized from {issue.request_type} to {rt.code}",
    )
    return rt.code, new.integration


def release(store: Store, issue_id: int, address: str | None, *, actor: str) -> None:
    """Send on an issue held for its address, with a corrected one if given."""
    if address is not None and (not address.strip() or len(address) > 300):
        raise UserError("--address must be 1 to 300 characters")
    if not store.release_hold(issue_id, address.strip() if address else None):
        raise UserError(f"issue {issue_id} is not held; see `scf issues show {issue_id}`")
    detail = "released with a corrected address" if address else "released as it was"
    audit.record(store, actor, "issues.release", issue_id=issue_id, detail=detail)


def edit(
    settings: Settings,
    store: Store,
    issue_id: int,
    change: Correction,
    type_of: TypeOf,
    *,
    actor: str,
    labels: Labels = OPTIONS,
) -> None:
    """Correct an issue not yet sent, with the same checks as a new report; it starts its
    sync afresh. ``labels`` name the fields in the intake's problems."""
    found = record(store, issue_id)
    if change.empty():
        raise UserError("nothing to change; give --lat, --lng, --address, --answer, …")
    issue = found.issue
    rt = type_of(issue.request_type)
    # A multiple choice keeps every option given (one per --answer); another question, the last.
    multiple = {q.id for q in rt.questions if q.type == "multichoice"}
    given: dict[str, list[str]] = {}
    for qid, value in parse_answer_args(change.answers):
        given[qid] = [*given.get(qid, []), value] if qid in multiple else [value]
    kept = [(a.question_id, a.answer) for a in issue.answers if a.question_id not in given]
    corrected = Report(
        request_type=issue.request_type,
        summary=issue.summary if change.summary is None else change.summary,
        lat=issue.lat if change.lat is None else change.lat,
        lng=issue.lng if change.lng is None else change.lng,
        description=issue.description if change.description is None else change.description,
        address=issue.address if change.address is None else (change.address or None),
        name=issue.reporter_name,
        email=issue.reporter_email,
        image_url=issue.image_url,
        answers=tuple(kept + [(q, v) for q, values in given.items() for v in values if v]),
        phone=found.reporter_phone,
        reported_via=found.reported_via,
    )
    area = settings.organization.service_area
    new = build_issue(corrected, rt, settings.owner_of(issue.request_type), labels, area=area)
    refused = store.edit(issue_id, new)
    if refused:
        raise UserError(refused)
    audit.record(
        store,
        actor,
        "issues.edit",
        issue_id=issue_id,
        integration=new.integration,
        detail=f"edited: {', '.join(change.fields())}",
    )
