"""A geocoder's page (admin): ``/console/geocoders/{name}``, linked from the Integrations
list and from the integrations it checks addresses for.

It shows the plugin, the endpoint, the integrations it serves, the issues held for an address
check and when it was last reached; ``Test connection`` runs ``scf doctor``'s check of it. A
geocoder whose config names a ``user`` logs in, so it has a password form too (one password:
geocoders have no environments), stored as ``scf credentials set NAME`` stores it.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response
from starlette.routing import BaseRoute

from . import integration_data
from .connection import Tested, try_geocoder
from .page import Console, Visit, admin_on_named
from .passwords import save

PATH = "/console/geocoders/{name}"


def routes(console: Console) -> list[BaseRoute]:
    """A geocoder's page and its two actions."""
    return [
        console.route(PATH, page),
        console.route(PATH + "/password", save_password, methods=("POST",)),
        console.route(PATH + "/test", test_connection, methods=("POST",)),
    ]


def geocoder_url(name: str) -> str:
    """A geocoder's page."""
    return PATH.format(name=quote(name, safe=""))


on_geocoder = admin_on_named("geocoder", lambda settings: settings.geocoders)


@on_geocoder
async def page(visit: Visit, name: str) -> Response:
    """A geocoder's page."""
    return await show(visit, name)


async def show(visit: Visit, name: str, tested: Tested | None = None) -> Response:
    """Geocoder ``name``'s page, with a connection test's outcome when there was one."""
    view = await visit.run(integration_data.geocoder, visit.settings, visit.store, name,
                           visit.now())  # fmt: skip
    return visit.render(
        "geocoder.html",
        f"Geocoder {name}",
        name=name,
        view=view,
        tested=tested,
        geocoder_url=geocoder_url,
    )


@on_geocoder
async def save_password(visit: Visit, name: str) -> Response:
    """``Save password`` of a geocoder that logs in."""
    back = geocoder_url(name)
    if visit.settings.geocoders[name].user is None:
        return visit.redirect(back, f"{name} names no user, so it takes no password", error=True)
    password = visit.form.raw("password")
    return await visit.act(
        lambda: save(visit, name, None, password),
        back=back,
        done=lambda words: words,
    )


@on_geocoder
async def test_connection(visit: Visit, name: str) -> Response:
    """``Test connection``: doctor's check of the geocoder, shown on the page."""
    tested = await visit.run(try_geocoder, visit.settings, visit.host, name)
    return await show(visit, name, tested)
