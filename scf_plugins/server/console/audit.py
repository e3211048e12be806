"""The Audit page (every signed-in account): ``/console/audit``, who changed what, from the
console or the command line, newest first, a hundred to a page (``?page=2``…), times in the
organization's zone, each entry linked to the issue or integration it concerns; what ``scf
audit`` prints (:mod:`scf_plugins.ops.audit`).
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ...ops import audit as ops_audit
from .geocoders import geocoder_url
from .page import Console, Visit, signed_in
from .templating import integration_url

PATH = "/console/audit"
PAGE_SIZE = 100
LAST_PAGE = ops_audit.MAX_LIMIT  # a page number past any log: no offset overflows


def routes(console: Console) -> list[BaseRoute]:
    """The Audit page."""
    return [console.route(PATH, entries)]


def page_number(text: str | None) -> int:
    """The page a query asks for (1 when none, or not a page number)."""
    if text is None or not text.isdigit() or len(text) > 6:
        return 1
    return max(1, min(int(text), LAST_PAGE))


@signed_in
async def entries(visit: Visit) -> Response:
    """A page of the audit log; one more entry than shown is read to know whether there is
    a next page."""
    number = page_number(visit.query.get("page"))
    found = await visit.run(
        ops_audit.listed, visit.store, PAGE_SIZE + 1, offset=(number - 1) * PAGE_SIZE
    )
    return visit.render(
        "audit.html",
        "Audit",
        entries=found[:PAGE_SIZE],
        page=number,
        newer=f"{PATH}?page={number - 1}" if number > 1 else None,
        older=f"{PATH}?page={number + 1}" if len(found) > PAGE_SIZE else None,
        pages=_pages(visit),
    )


def _pages(visit: Visit) -> dict[str, str]:
    """Where an entry's integration or geocoder links to: its page, for an administrator
    (a name the config no longer has, and every name for a staff account, is not a link)."""
    if not visit.admin:
        return {}
    settings = visit.settings
    return {
        **{name: geocoder_url(name) for name in settings.geocoders},
        **{name: integration_url(name) for name in settings.integrations},
    }
