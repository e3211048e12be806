"""The Report an issue page (``/console/issues/new``): what a 311 call-taker types when a
resident phones, for any signed-in account.

Two steps. A GET form chooses the request type (``?type=CODE``, from the stored types, loaded
first when none are, as ``scf report`` loads them); then one POST form takes the summary,
description, address, coordinates, the resident's name, email and phone, and the type's
questions in their order. It calls ``scf report``'s core
(:func:`scf_plugins.ops.issues.report`: the intake's checks, the audit entry
``issues.report`` with the signed-in account as its actor), wakes the engine and goes (303)
to the new issue's page. A refusal shows the form again (400) with what was typed and each of
the intake's problems beside its field, named by the form's labels
(:data:`.issue_forms.LABELS`).

The coordinates are required, as ``scf report`` requires them: the core places no address
(placing one with a geocoder is the Open311 door's own step).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.responses import Response
from starlette.routing import BaseRoute

from ...errors import UserError
from ...intake.reporting import Report, ReportError
from ...models import RequestType
from ...ops import issues as desk
from ...ops import request_types
from .issue import page_of
from .issue_forms import LABELS, answer_fields, ignore, lines, number, type_of
from .page import Console, Visit, signed_in

if TYPE_CHECKING:
    from ..form import Form

PATH = "/console/issues/new"
TEXTS = ("summary", "description", "address", "lat", "lng", "name", "email", "phone")
# The form's field each of the intake's problems names (by the label the form shows).
FIELD_OF = {
    LABELS.summary: "summary",
    LABELS.description: "description",
    LABELS.address: "address",
    LABELS.lat: "lat",
    LABELS.lng: "lng",
    LABELS.name: "name",
    LABELS.email: "email",
    LABELS.phone: "phone",
}
ID_PREFIX = "report"  # the form's control ids: report-summary…, and report-q<n> (questions)
CHOOSE = "Choose a request type from the list."


@dataclass(frozen=True)
class Choice:
    """The request types to choose from, and the one chosen (None: none yet, or unknown)."""

    types: tuple[RequestType, ...]
    chosen: RequestType | None
    problem: str | None  # why the types could not be loaded, or the code asked is not one


@dataclass(frozen=True)
class Wrong:
    """One of the problems listed above the form: what is wrong, and the control it concerns
    (its id, for a link there; None when the form has no such control)."""

    text: str
    anchor: str | None


def routes(console: Console) -> list[BaseRoute]:
    """The page, and its form's POST."""
    return [
        console.route(PATH, report_page),
        console.route(PATH, report_post, methods=("POST",)),
    ]


@signed_in
async def report_page(visit: Visit) -> Response:
    """Choose the request type; once chosen, the report's form."""
    code = (visit.query.get("type") or "").strip()
    choice = await visit.run(_choose, visit, code)
    asked = "type" in visit.query
    problem = choice.problem or (CHOOSE if asked and not code else None)
    return _render(visit, choice, problem=problem, code=400 if problem and asked else 200)


@signed_in
async def report_post(visit: Visit) -> Response:
    """Report the issue through ``scf report``'s core, or show the form again with why not."""
    form = visit.form
    code = form.get("type") or ""
    answers = answer_fields(form)
    lat, lat_problem = _coordinate(LABELS.lat, form.get("lat"))
    lng, lng_problem = _coordinate(LABELS.lng, form.get("lng"))
    given = Report(
        request_type=code,
        summary=form.raw("summary"),
        lat=lat,
        lng=lng,
        description=lines(form.raw("description")),
        address=form.get("address"),
        name=form.get("name"),
        email=form.get("email"),
        phone=form.get("phone"),
        answers=tuple((qid, value) for qid, values in answers.items() for value in values if value),
    )

    def work() -> int:
        return desk.report(visit.settings, visit.store, type_of(visit), given, (),
                           actor=visit.actor, labels=LABELS)  # fmt: skip

    try:
        issue_id = await visit.run(work)
    except ReportError as exc:
        # A coordinate the form could not read went to the core as NaN, which the intake
        # refuses on that field; the page words that refusal itself.
        ours = {LABELS.lat: lat_problem, LABELS.lng: lng_problem}
        found = [(p.field, ours.get(p.field) or p.text) for p in exc.problems]
        choice = await visit.run(_choose, visit, code)
        return _render(visit, choice, problems=found, typed=form, code=400)
    except UserError as exc:  # not one field's problem: the type, most likely
        choice = await visit.run(_choose, visit, code)
        said = choice.problem or (str(exc) if code else CHOOSE)
        return _render(visit, choice, problem=said, typed=form, code=400)
    visit.console.wake()
    return visit.redirect(page_of(issue_id), f"Reported as issue {issue_id}.")


def _coordinate(label: str, value: str | None) -> tuple[float, str | None]:
    """A coordinate typed in the form, or NaN and what is wrong with it (left blank, or not a
    number): NaN makes the core refuse the report on that field while it checks the rest."""
    if value is None:
        return math.nan, f"{label} is required"
    try:
        found = number(label, value)
    except UserError as exc:
        return math.nan, str(exc)
    assert found is not None
    return found, None


def _choose(visit: Visit, code: str) -> Choice:
    """The stored request types (loaded first when none are), and the one ``code`` names.
    Runs in the thread pool."""
    problem = None
    try:
        request_types.load(visit.settings, visit.host, visit.store, False, ignore, actor=None)
    except UserError as exc:  # none stored and none could be loaded
        problem = str(exc)
    types = tuple(visit.store.request_types())
    chosen = visit.store.request_type(code) if code else None
    if chosen is None and code and problem is None:
        problem = f"There is no stored request type {code!r}; choose one from the list."
    return Choice(types, chosen, problem)


def _render(
    visit: Visit,
    choice: Choice,
    *,
    problem: str | None = None,
    problems: list[tuple[str, str]] | None = None,
    typed: Form | None = None,
    code: int = 200,
) -> Response:
    """The page: the type chooser, and the chosen type's form with what was ``typed`` (a
    refused POST's form) and each problem (``(field, text)``, the field as the intake names
    it) beside its control and listed above the form."""
    rt = choice.chosen
    beside: dict[str, list[str]] = {}
    listed: list[Wrong] = []
    anchors = _anchors(rt)
    for field, text in problems or []:
        name = FIELD_OF.get(field, field)
        text = _sentence(text)
        anchor = anchors.get(name)
        if anchor is not None:
            beside.setdefault(name, []).append(text)
        listed.append(Wrong(text, anchor))
    order = list(anchors.values())  # listed as the form asks: those of no field first
    listed.sort(key=lambda w: order.index(w.anchor) + 1 if w.anchor in order else 0)
    if problem:
        listed.insert(0, Wrong(problem, None if rt is not None else f"{ID_PREFIX}-type"))
    values = {name: (typed.raw(name) if typed is not None else "") for name in TEXTS}
    answers = answer_fields(typed) if typed is not None else {}
    return visit.render(
        "report.html",
        "Report an issue",
        code=code,
        types=choice.types,
        rt=rt,
        values=values,
        answers=answers,
        problems=beside,
        listed=listed,
    )


def _anchors(rt: RequestType | None) -> dict[str, str]:
    """Each field's control id, by the field's name (``summary``, ``answer:501``), as the
    template and ``_questions.html`` number them; an information question has none."""
    found = {name: f"{ID_PREFIX}-{name}" for name in TEXTS}
    for n, question in enumerate(rt.questions if rt is not None else (), 1):
        if question.type == "multichoice":
            found[LABELS.answer_field.format(qid=question.id)] = f"{ID_PREFIX}-q{n}-1"
        elif question.type != "info":
            found[LABELS.answer_field.format(qid=question.id)] = f"{ID_PREFIX}-q{n}"
    return found


def _sentence(text: str) -> str:
    """A problem as the page shows it: starting with a capital."""
    return text[:1].upper() + text[1:]
