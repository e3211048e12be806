"""The Issues page (``/console/issues``): issues filtered by status and integration and
searched by id, summary or address, newest first, in pages of :data:`PAGE`.

The query is ``scf issues list``'s (:func:`scf_plugins.ops.finding.find`): the filters are the
ones ``scf status`` counts with, so the Overview's links (``?status=…&integration=…``) list
what it counted. Pages are keyset pages on the id (``?before=ID`` the older ones, ``?after=ID``
the newer ones): an issue reported while someone reads does not shift the next page, and a
deep page costs what the first does. A query that is not valid shows the page with one line
saying why (400), never an error page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import BaseRoute

from ...errors import UserError
from ...ops import finding
from .page import Console, Visit, signed_in

PAGE = 50  # issues a page

# The status filter's choices, as a person reads them (the values are `scf issues list`'s).
STATUS_LABELS = {
    "open": "Open",
    "acknowledged": "Acknowledged",
    "closed": "Closed",
    "archived": "Archived",
    "failing": "Failing (the last attempt failed)",
    "stuck": "Stuck (failing for a while, or waiting for a person)",
    "attention": "Waiting for a person",
    "held": "Held for an address check",
    "unrouted": "Unrouted (no integration takes them)",
    "pending": "Pending (accepted, no request number yet)",
}


@dataclass(frozen=True)
class Asked:
    """The filter as the query gave it (shown back in the form, even when it is not valid)."""

    status: str
    integration: str
    search: str

    def url(self, **cursor: int) -> str:
        """This listing's URL, at the page ``cursor`` names (``before=`` or ``after=``)."""
        params = [(k, v) for k, v in (("status", self.status), ("integration",
                  self.integration), ("search", self.search)) if v]  # fmt: skip
        params += [(k, str(v)) for k, v in cursor.items()]
        return "/console/issues" + (f"?{urlencode(params)}" if params else "")


def routes(console: Console) -> list[BaseRoute]:
    """The Issues page."""
    return [console.route("/console/issues", issues_page)]


@signed_in
async def issues_page(visit: Visit) -> Response:
    """The Issues page: the filter form, then a page of issues."""
    query = visit.query
    asked = Asked(
        (query.get("status") or "").strip(),
        (query.get("integration") or "").strip(),
        (query.get("search") or "").strip(),
    )
    context: dict[str, Any] = {
        "asked": asked,
        "statuses": STATUS_LABELS,
        "integrations": list(visit.settings.integrations),
        "waits": waits,
    }
    try:
        chosen = finding.checked(visit.settings, asked.status, asked.integration, asked.search)
        before, after = cursor(query.get("before"), query.get("after"))
    except UserError as exc:
        return visit.render(
            "issues.html", "Issues", code=400, problem=str(exc), found=None, caption="", **context
        )
    found = await visit.run(
        finding.find, visit.store, chosen, limit=PAGE, before=before, after=after
    )
    return visit.render(
        "issues.html",
        "Issues",
        problem=None,
        found=found,
        caption=caption(chosen),
        paged=before is not None or after is not None,
        **context,
    )


def cursor(before: str | None, after: str | None) -> tuple[int | None, int | None]:
    """The page asked for: ``before`` or ``after`` an issue id (neither: the first page)."""
    if before and after:
        raise UserError("give before or after, not both")
    return _id("before", before), _id("after", after)


def _id(name: str, value: str | None) -> int | None:
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or int(value) > finding.MAX_ID:
        raise UserError(f"{name} must be an issue id (a whole number)")
    return int(value)


def caption(chosen: finding.Filter) -> str:
    """What the table lists, in words: ``Failing issues of cityworks matching “elm”``."""
    what = "Issues"
    if chosen.status is not None:
        label = STATUS_LABELS[chosen.status].split(" (")[0]
        what = "Issues waiting for a person" if chosen.status == "attention" else f"{label} issues"
    if chosen.integration is not None:
        what += f" of {chosen.integration}"
    if chosen.search is not None:
        what += f" matching “{chosen.search}”"
    return what + ", newest first"


def waits(issue: finding.Listed) -> str:
    """What holds the issue up, in words: who must act, or its last error."""
    if issue.attention:
        return f"Waits for a person: {issue.attention}"
    if issue.held:
        return "Held: its address could not be verified"
    if issue.pending:
        return "Accepted under a token; its request number is not known yet"
    if issue.last_error:
        kind = f"{issue.last_error_kind}, " if issue.last_error_kind else ""
        return f"Failing ({kind}attempt {issue.attempts}): {issue.last_error}"
    return ""
