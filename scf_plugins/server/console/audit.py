"""The Audit page (every signed-in account): ``/console/audit``, who changed what, from the
console or the command line, newest first, a hundred to a page, times in the organization's
zone, each entry linked to the issue or integration it concerns; what ``scf audit`` prints
(:mod:`scf_plugins.ops.audit`).

Pages are keyset pages on the entry's id, as the Issues page's are (``?before=ID`` the older
entries, ``?after=ID`` the newer ones): an entry written while someone reads does not shift
the next page, and a deep page costs what the first does. A cursor that is not an entry id
shows the newest page.
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
MAX_ID = 2**63 - 1  # the largest id a store's integer key holds


def routes(console: Console) -> list[BaseRoute]:
    """The Audit page."""
    return [console.route(PATH, entries)]


def cursor(before: str | None, after: str | None) -> tuple[int | None, int | None]:
    """The page a query asks for: ``before`` or ``after`` an entry's id (the newest page for
    neither, both, or a value that is no id)."""
    older, newer = _id(before), _id(after)
    if older is not None and newer is not None:
        return None, None
    return older, newer


def _id(value: str | None) -> int | None:
    if not value or not value.isascii() or not value.isdigit() or int(value) > MAX_ID:
        return None
    return int(value)


@signed_in
async def entries(visit: Visit) -> Response:
    """A page of the audit log; one more entry than shown is read to know whether there is
    a page beyond it."""
    before, after = cursor(visit.query.get("before"), visit.query.get("after"))
    found = await visit.run(
        ops_audit.listed, visit.store, PAGE_SIZE + 1, before=before, after=after
    )
    paged = before is not None or after is not None
    if after is not None:  # newest first: the entry read past the page is the first
        shown = found[-PAGE_SIZE:]
        more_newer, more_older = len(found) > PAGE_SIZE, True
    else:
        shown = found[:PAGE_SIZE]
        more_newer, more_older = paged, len(found) > PAGE_SIZE
    newer = older = None
    if shown:
        newer = f"{PATH}?after={shown[0].id}" if more_newer else None
        older = f"{PATH}?before={shown[-1].id}" if more_older else None
    return visit.render(
        "audit.html",
        "Audit",
        entries=shown,
        paged=paged,
        newest=PATH if paged else None,
        newer=newer,
        older=older,
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
