"""The API keys page (admin): ``/console/api-keys``, the Open311 clients' keys.

The list (name, created, last used, revoked, the rotated-out key's last day), ``Create key``,
and ``Rotate`` (a new key; the one it replaces keeps working 24 hours, as ``scf api-keys
rotate`` gives it) and ``Revoke`` per key, through :mod:`scf_plugins.server.apikeys` (the same
functions as ``scf api-keys``, audited). A new key is shown once: in the page that answers
the POST itself (``Cache-Control: no-store``, as every console page), never in a redirect, a
flash message or a log line; the next GET of the page no longer has it.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ...errors import UserError
from .. import apikeys
from .page import Console, Visit, admin_only

PATH = "/console/api-keys"


def routes(console: Console) -> list[BaseRoute]:
    """The list and ``Create key``, ``Rotate`` and ``Revoke``."""
    return [
        console.route(PATH, keys, methods=("GET", "POST")),
        console.route(PATH + "/rotate", rotate, methods=("POST",)),
        console.route(PATH + "/revoke", revoke, methods=("POST",)),
    ]


@admin_only
async def keys(visit: Visit) -> Response:
    """The keys; a POST is ``Create key``, answered with the page showing the new key once."""
    if visit.request.method != "POST":
        return await show(visit)
    name = visit.form.get("name") or ""
    try:
        key = await visit.run(apikeys.create, visit.store, name, actor=visit.actor)
    except UserError as exc:
        return visit.redirect(PATH, str(exc), error=True)
    return await show(visit, created=(name, key))


async def show(
    visit: Visit, created: tuple[str, str] | None = None, rotated: apikeys.Rotated | None = None
) -> Response:
    """The page, with a key just made (its name and the key) when there is one, and what
    became of the key it replaced when it was a rotation."""
    listed = await visit.run(apikeys.listed, visit.store)
    return visit.render("api_keys.html", "API keys", keys=listed, created=created, rotated=rotated)


@admin_only
async def rotate(visit: Visit) -> Response:
    """``Rotate``: a new key for the client named by the form, shown once; the key it
    replaces works for a day more, so the client can switch without a refused report."""
    name = visit.form.get("name") or ""
    try:
        rotated = await visit.run(apikeys.rotate, visit.store, name, actor=visit.actor)
    except UserError as exc:
        return visit.redirect(PATH, str(exc), error=True)
    return await show(visit, created=(name, rotated.key), rotated=rotated)


@admin_only
async def revoke(visit: Visit) -> Response:
    """``Revoke``: the key named by the form stops working at once."""
    name = visit.form.get("name") or ""
    return await visit.act(
        lambda: apikeys.revoke(visit.store, name, actor=visit.actor),
        back=PATH,
        done=f"Revoked the API key {name}: requests with it are refused from now on.",
    )
