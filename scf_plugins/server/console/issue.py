"""The Issue page (``/console/issues/{id}``): what ``scf issues show`` prints (the staff view)
beside what a resident or an Open311 client sees (the public view), what is wrong now, and
the forms of the actions the issue's state allows (:mod:`.issue_actions` does them).

Both views are :func:`scf_plugins.ops.views.issue_json`'s shapes (``public=False`` with the
issue's history, and ``public=True``), so the page shows what the CLI and the Open311 door
show, and the public view cannot show what the door would not. The actions offered are
:func:`scf_plugins.ops.allowed.allowed`'s; recategorizing takes two steps: a GET of this page
with ``?type=CODE`` (the stored request types) shows that type's questions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from ...errors import ScfError
from ...models import RequestType
from ...ops import allowed, finding, history, views
from .page import Console, Visit, signed_in

RESUBMIT_REASON = "its earlier request could not be followed"  # `issues resubmit`'s default


@dataclass(frozen=True)
class Shown:
    """What the Issue page shows of one issue, read in one go off the event loop."""

    staff: dict[str, Any]
    public: dict[str, Any]
    allowed: allowed.Allowed
    current_type: RequestType | None  # its request type, for the edit form (None: not stored)
    types: tuple[RequestType, ...]  # the stored request types, to recategorize to
    new_type: RequestType | None  # the type chosen to recategorize to (``?type=``)


def routes(console: Console) -> list[BaseRoute]:
    """The Issue page (its actions are :mod:`.issue_actions`')."""
    return [console.route("/console/issues/{issue_id:int}", issue_page)]


def issue_id_of(visit: Visit) -> int | None:
    """The path's issue id, or None when no issue can have it (too large for the store)."""
    value = int(visit.request.path_params["issue_id"])
    return value if value <= finding.MAX_ID else None


def page_of(issue_id: int) -> str:
    """An issue's page."""
    return f"/console/issues/{issue_id}"


@signed_in
async def issue_page(visit: Visit) -> Response:
    """The Issue page, or the 404 page when there is no such issue."""
    issue_id = issue_id_of(visit)
    code = (visit.query.get("type") or "").strip()
    shown = None if issue_id is None else await visit.run(_read, visit, issue_id, code)
    if shown is None:
        return visit.error(404, f"There is no issue {visit.request.path_params['issue_id']}.")
    problem = None
    if code and not shown.allowed.recategorize:
        problem = "Only an Open issue not sent yet can be given another request type."
    elif code and shown.new_type is None:
        problem = f"There is no stored request type {code!r}; choose one from the list."
    staff = shown.staff
    return visit.render(
        "issue.html",
        f"Issue {staff['id']}",
        issue=staff,
        public=shown.public,
        can=shown.allowed,
        current_type=shown.current_type,
        current_answers=_answers_by_question(staff),
        types=shown.types,
        new_type=shown.new_type,
        problem=problem,
        back=page_of(staff["id"]),
        resubmit_reason=RESUBMIT_REASON,
        timeline_kind=timeline_kind,
        wrong=wrong_now(staff),
        cancels_remotely=_cancels_remotely(visit, staff),
    )


def _cancels_remotely(visit: Visit, staff: dict[str, Any]) -> bool:
    """Whether the Withdraw form offers to cancel the remote request too: the issue is linked
    and its integration's plugin declares it can (``scf issues withdraw --remote``)."""
    integration = visit.settings.integrations.get(staff["integration"] or "")
    host = visit.console.served.host
    if not staff.get("remote_id") or integration is None or host is None:
        return False
    try:
        return host.cancels_remotely(integration)
    except ScfError:  # a plugin that is not loaded: the form offers nothing more
        return False


def _read(visit: Visit, issue_id: int, code: str) -> Shown | None:
    """Everything the page shows (None: no such issue). Runs in the thread pool."""
    store = visit.store
    found = store.get(issue_id)
    can = allowed.allowed(visit.settings, store, issue_id)
    if found is None or can is None:
        return None
    staff = views.issue_json(found, public=False, history=history.of(store, issue_id))
    public = views.issue_json(found, public=True)
    types = tuple(store.request_types()) if can.recategorize else ()
    return Shown(
        staff,
        public,
        can,
        store.request_type(found.issue.request_type) if can.edit else None,
        types,
        store.request_type(code) if code and can.recategorize else None,
    )


def _answers_by_question(data: dict[str, Any]) -> dict[str, list[str]]:
    """The issue's answers by question id (a multiple choice has several)."""
    out: dict[str, list[str]] = {}
    for a in data["answers"]:
        out.setdefault(a["question_id"], []).append(a["answer"])
    return out


def timeline_kind(comment: dict[str, Any], public: bool = False) -> str:
    """Which kind of entry a comment is, in words."""
    if comment["kind"] == "system":
        return "System message"
    if comment["kind"] == "remote":
        return "Comment from the remote system"
    if comment.get("via"):
        via = "" if public else f" (through API key {comment['via']})"
        return f"Resident update{via}"
    return "Local comment"


@dataclass(frozen=True)
class Wrong:
    """One line of "What is wrong now": a label and what it says."""

    label: str
    text: str


def wrong_now(data: dict[str, Any]) -> list[Wrong]:
    """What keeps the issue from moving on, from the staff view's ``sync`` part."""
    sync = data.get("sync") or {}
    out = []
    if sync.get("attention"):
        out.append(Wrong("Waits for a person", f"{sync['attention']} ({sync['attention_kind']})"))
    if sync.get("held"):
        out.append(Wrong("Held", "waiting for staff: the address could not be verified"))
    if sync.get("pending"):
        out.append(Wrong("Pending", f"accepted under the token {sync['pending']['token']}; "
                                    "its request number is not known yet"))  # fmt: skip
    if sync.get("last_error"):
        kind = f" ({sync['last_error_kind']})" if sync.get("last_error_kind") else ""
        out.append(Wrong("Last error", f"{sync['last_error']}{kind}"))
    if sync.get("attempts"):
        out.append(Wrong("Attempts", str(sync["attempts"])))
    return out
