"""The console's routes, as ``scf serve`` mounts them: every page module's, the static files,
and a last route that answers any other console path (sign-in first, then the 404 page).

A page module is listed in :data:`PAGES` and exposes ``routes(console) -> list[BaseRoute]``
(see :mod:`.page`); adding a page is adding its module here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from . import (
    api_keys,
    audit,
    geocoders,
    integrations,
    issue,
    issue_actions,
    issues,
    overview,
    report,
    signin,
    staff,
)
from .page import STATIC, Console, Served, Visit, signed_in

# Each page module, in the order its routes are tried (a fixed path before a pattern).
PAGES = (
    signin,
    overview,
    issues,
    report,
    issue,
    issue_actions,
    integrations,
    geocoders,
    api_keys,
    staff,
    audit,
)


class Hosting(Served, Protocol):
    """``scf serve``'s context, which keeps the console it is given (tests reach its clock
    and throttle there)."""

    console: Any


def routes(served: Hosting, clock: Callable[[], datetime] | None = None) -> list[BaseRoute]:
    """Every console route, for ``scf serve``'s app; the :class:`Console` they share is kept
    as ``served.console``.

    :param clock: the time sessions are judged by (default the wall's).
    """
    console = Console(served, clock)
    served.console = console
    found: list[BaseRoute] = []
    for module in PAGES:
        found += module.routes(console)
    found.append(Mount("/console/static", app=StaticFiles(directory=STATIC), name="console-static"))
    found.append(console.route("/console/{rest:path}", signed_in(_not_found), methods=ANY))
    return found


# The last route answers every method, so a console path never gets Starlette's plain 405.
ANY = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


async def _not_found(visit: Visit) -> Response:
    return visit.error(404, "There is no such page in the console.")
