"""Creating a record exactly once, then writing its answers.

Accela has no idempotency key: a retried ``POST /v4/records`` makes a second record. The
issue's marker goes in ``shortNotes``, and every attempt after the first looks for a record
carrying it (``POST /v4/search/records``) before it creates one. The answers go in a second
call (``PUT /v4/records/{id}/customForms``; Accela's create does not take custom forms): when
that call fails, the error says the record exists, and the next attempt finds the record by
its marker and writes the answers then, never creating it twice. Writing answers sets
values, so writing them again is harmless.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from scf_plugins import (
    AmbiguousError,
    DefiniteError,
    Integration,
    Issue,
    LoginRefused,
    RemoteError,
    Submission,
    TransientError,
)

from . import forms, records
from .client import AccelaClient, path_id, results_of
from .settings import option

log = logging.getLogger(__name__)

ISSUE_FIELDS = (
    "id",
    "marker",
    "summary",
    "description",
    "address",
    "request_type",
    "reporter_name",
    "reporter_email",
    "image_url",
    "lat",
    "lng",
)
_PLACEHOLDER = re.compile(r"\{issue\.(\w+)\}")
SEARCH_LIMIT = 100


def render(template: str, issue: Issue) -> str:
    """A ``custom_fields`` template with its ``{issue.FIELD}`` placeholders filled."""
    return _PLACEHOLDER.sub(lambda m: str(getattr(issue, m[1], "") or ""), template)


def template_problem(template: str) -> str | None:
    """Why a ``custom_fields`` template cannot be filled, or None."""
    unknown = [m[1] for m in _PLACEHOLDER.finditer(template) if m[1] not in ISSUE_FIELDS]
    if unknown:
        return f"{{issue.{unknown[0]}}} is not a field of an issue; use {', '.join(ISSUE_FIELDS)}"
    return None


def create_body(integration: Integration, issue: Issue) -> dict[str, Any]:
    """The ``POST /v4/records`` body: the type, the summary as ``name``, the description, the
    marker in ``shortNotes``, the address with its point, the resident as a contact (where
    the agency's ``contact_type`` is set), and ``custom_fields``."""
    check = issue.address_check
    address = check.address if check and check.accepted and check.address else issue.address
    text = issue.description.strip()
    if issue.image_url:
        text = f"{text}\n\nPhoto: {issue.image_url}".strip()
    body: dict[str, Any] = {
        "type": {"id": issue.type_ref},
        "name": issue.summary[:255],
        "description": text or issue.summary,
        "shortNotes": issue.marker,
    }
    place: dict[str, Any] = {"isPrimary": "Y"}
    if address:
        place["streetAddress"] = address
    order = option(integration, "coordinates")
    if order != "none":
        x, y = (issue.lng, issue.lat) if order == "xy" else (issue.lat, issue.lng)
        place.update(xCoordinate=x, yCoordinate=y)
    if len(place) > 1:
        body["addresses"] = [place]
    contact_type = str(option(integration, "contact_type"))
    if contact_type and (issue.reporter_name or issue.reporter_email):
        first, _, last = (issue.reporter_name or "").strip().rpartition(" ")
        body["contacts"] = [
            {
                "type": {"value": contact_type},
                "firstName": first or last,
                "lastName": last if first else "",
                "isPrimary": "Y",
                **({"email": issue.reporter_email} if issue.reporter_email else {}),
            }
        ]
    channel = str(option(integration, "reported_channel"))
    if channel:
        body["reportedChannel"] = {"value": channel}
    for name, template in integration.custom_fields.items():
        body[name] = render(template, issue)
    return body


def look_up(client: AccelaClient, issue: Issue) -> dict[str, Any] | None:
    """The record an earlier attempt made for this issue, or None: the one whose
    ``shortNotes`` is the issue's marker exactly (the oldest, should there be two)."""
    answer = client.search(
        "search/records",
        {"shortNotes": issue.marker},
        [("limit", str(SEARCH_LIMIT))],
        what="POST search/records",
    )
    result = answer.get("result")
    found = (
        [
            r
            for r in result
            if isinstance(r, dict)
            and records.record_id(r.get("id"))
            and str(r.get("shortNotes") or "").strip() == issue.marker
        ]
        if isinstance(result, list)
        else []
    )
    if len(found) > 1:
        log.warning(
            "%d records carry marker %s; the first is the issue's",
            len(found),
            issue.marker,
            extra={"integration": client.integration.name},
        )
    return found[0] if found else None


def submit(client: AccelaClient, integration: Integration, issue: Issue) -> Submission:
    """Create the issue's record (after a look-up when an earlier attempt may have made one),
    then write its answers."""
    if issue.submit_attempted:
        found = look_up(client, issue)
        if found is not None:
            rid = str(found["id"])
            log.info(
                "found the record an earlier attempt created",
                extra={"integration": integration.name, "issue_id": issue.id, "remote_id": rid},
            )
            write_answers(client, issue, rid)
            return Submission(remote_id=rid, created=False, status=records.status_value(found))
        _not_yet(integration, issue)
    sent_at = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        answer = client.send(
            "POST", "records", create_body(integration, issue), what="POST records"
        )
    except AmbiguousError as exc:
        raise AmbiguousError(
            str(exc), retry_after=exc.retry_after, plugin_state={"sent_at": sent_at}
        ) from None
    record = answer.get("result")
    record = record[0] if isinstance(record, list) and record else record
    made = records.record_id(record.get("id")) if isinstance(record, dict) else None
    if made is None or not isinstance(record, dict):
        raise AmbiguousError(
            "Accela answered the create without a readable record id; the record may exist "
            "and is looked up by its marker before any retry",
            plugin_state={"sent_at": sent_at},
        )
    write_answers(client, issue, made)
    return Submission(remote_id=made, created=True, status=records.status_value(record))


def _not_yet(integration: Integration, issue: Issue) -> None:
    """After an uncertain create that a search does not find, wait out ``lookup_grace_seconds``
    from when it was sent before sending it again: whether Accela's search shows a record the
    moment it is made is not known.

    :raises AmbiguousError: while the grace lasts (the next attempt looks again).
    """
    sent = str(issue.plugin_state.get("sent_at") or "")
    try:
        when = datetime.fromisoformat(sent) if sent else None
    except ValueError:
        when = None
    grace = float(option(integration, "lookup_grace_seconds"))
    age = (datetime.now(UTC) - when).total_seconds() if when and when.tzinfo else None
    if age is not None and 0 <= age < grace:
        raise AmbiguousError(
            f"no record carries marker {issue.marker} yet, {age:.0f} s after its create was "
            f"sent; it is looked for again before the create is sent again",
            retry_after=grace - age,
            plugin_state=issue.plugin_state,
        )


def write_answers(client: AccelaClient, issue: Issue, rid: str) -> None:
    """``PUT /v4/records/{id}/customForms`` with the issue's answers (nothing without any).

    Each answer's meta (its question's, from the request type the host has) names its form,
    field and field type; an answer without one (its question is gone from the cached type,
    or the issue was made by hand) has them read afresh from the record type's forms.

    :raises RemoteError: of the kind the failure was, saying that the record exists and
        that its answers are written on the next attempt.
    """
    answers = [a for a in issue.answers if a.answer.strip()]
    if not answers:
        return
    metas: dict[str, Mapping[str, Any]] = {a.question_id: a.meta for a in answers if a.meta}
    try:
        if len(metas) < len(answers):
            found = client.get(
                f"settings/records/types/{path_id(issue.type_ref)}/customForms",
                what="GET customForms",
            )
            metas = forms.field_types(found.get("result") or [])
        body = forms.forms_body(answers, metas)
        if body:
            results_of(
                client.send(
                    "PUT", f"records/{path_id(rid)}/customForms", body, what="PUT customForms"
                ),
                "the answers",
            )
    except LoginRefused:
        raise
    except RemoteError as exc:
        note = (
            f"record {rid} was created, but its answers were not written ({exc}); they "
            f"are written on the next attempt, which finds the record by its marker"
        )
        kind: type[RemoteError] = AmbiguousError
        if isinstance(exc, DefiniteError | TransientError):
            kind = DefiniteError if isinstance(exc, DefiniteError) else TransientError
        raise kind(note, retry_after=exc.retry_after) from None
