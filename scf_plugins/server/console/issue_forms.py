"""What the console's issue forms send, read for the core: a new report's (:mod:`.report`),
and the Issue page's edit, recategorize and comment forms (:mod:`.issue_actions`).

The forms name a question's answer ``answer:<question id>`` (repeated for a multiple
choice), and the intake's problems name each field by the label the form shows
(:data:`LABELS`: "Summary is required", not ``scf report``'s "--summary is required").
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ...errors import UserError
from ...intake.reporting import Labels
from ...ops import request_types

if TYPE_CHECKING:
    from ...models import RequestType
    from ...ops.issues import TypeOf
    from ..form import Form
    from .page import Visit

ANSWER = "answer:"  # an answer's field is ``answer:<question id>`` (repeated: a multi-choice)

# How the intake's problems name the forms' fields: by their visible labels; an answer's
# problem names its field (``answer:501``), so the report form shows it beside the question.
LABELS = Labels(
    summary="Summary",
    description="Description",
    address="Address",
    name="Name",
    email="Email",
    phone="Phone",
    image_url="Photo URL",
    lat="Latitude",
    lng="Longitude",
    answer="give one in the form",
    answer_field=ANSWER + "{qid}",
    point="",  # "the point 0, 0 is outside the service area" reads well alone
)


def answer_fields(form: Form) -> dict[str, list[str]]:
    """The answers a form gives, by question id: each value of ``answer:<id>``, trimmed (a
    multi-choice has one per option ticked, and a blank one that is there even when none is)."""
    out: dict[str, list[str]] = {}
    for key, value in form.pairs:
        if key.startswith(ANSWER):
            out.setdefault(key[len(ANSWER) :], []).append(value.strip())
    return out


# What a refusal of each coordinate shows as a number to type.
EXAMPLES = {LABELS.lat: "41.3083", LABELS.lng: "-72.9279"}


def number(label: str, value: str | None) -> float | None:
    """A coordinate from the form (None: left blank), or a refusal."""
    if value is None:
        return None
    wrong = f"{label} must be a number, such as {EXAMPLES.get(label, '41.3083')}"
    try:
        found = float(value)
    except ValueError:
        raise UserError(wrong) from None
    if not math.isfinite(found):
        raise UserError(wrong)
    return found


def type_of(visit: Visit) -> TypeOf:
    """How the core finds a request type by code (loading them first if none are stored);
    warnings about an integration's types are not the action's outcome, so they are dropped."""

    def find(code: str) -> RequestType:
        return request_types.find(visit.settings, visit.host, visit.store, code, ignore)

    return find


def ignore(line: str) -> None:
    """A warning nobody waits for (the Overview shows an integration's trouble)."""


def lines(text: str) -> str:
    """A textarea's text with the browser's CRLF line ends made LF, as stored."""
    return text.replace("\r\n", "\n").replace("\r", "\n")
