"""The Integrations pages (admin): ``/console/integrations`` lists the integrations and the
geocoders; ``/console/integrations/{name}`` shows one: its plugin, live environment and
endpoint, health (``scf status``'s figures, its circuit, the last pass and error), the errors
of its latest failing issues, this process's calls to it, a password form per environment
(and a form per named extra secret its plugin declares), ``Test connection`` and its request
types with ``Refresh request types``.

- **Save password** stores the password where ``scf credentials set`` does (:mod:`.passwords`).
- **Save app secret** (the button names the secret: one form per ``secret`` option the plugin
  declares, :mod:`.named_secrets`) stores it where ``scf credentials set NAME --env ENV --key
  KEY`` does, the same way.
- **Test connection** runs ``scf doctor``'s check of one environment (:mod:`.connection`),
  with the config file and the password as they are now, and answers the POST with the page
  and the outcome of each step (rendered directly: several lines, more than a flash carries).
- **Refresh request types** reloads this integration's request types
  (:func:`scf_plugins.ops.request_types.load`, audited), reading the integration from the
  config file and its password as stored now, as ``scf request-types --refresh`` does (a
  password saved a moment ago reaches the engine only at its next config read).

Geocoders have their page in :mod:`.geocoders`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.responses import Response
from starlette.routing import BaseRoute

from ...errors import UserError
from ...ops import request_types
from . import integration_data, named_secrets
from .connection import Tested, try_integration
from .endpoints import as_stored_now, environments
from .geocoders import geocoder_url
from .page import Console, Guarded, Visit, admin_on_named, admin_only
from .passwords import save
from .templating import integration_url


def routes(console: Console) -> list[BaseRoute]:
    """The list, an integration's page, and its four actions."""
    return [
        console.route("/console/integrations", listing),
        console.route("/console/integrations/{name}", page),
        console.route("/console/integrations/{name}/password", save_password, methods=("POST",)),
        console.route("/console/integrations/{name}/secret", save_secret, methods=("POST",)),
        console.route("/console/integrations/{name}/test", test_connection, methods=("POST",)),
        console.route("/console/integrations/{name}/request-types", refresh, methods=("POST",)),
    ]


@admin_only
async def listing(visit: Visit) -> Response:
    """Every integration and geocoder, its state in a word, whether its password is set."""
    data = await visit.run(integration_data.summary, visit.settings, visit.store, visit.now())
    return visit.render("integrations.html", "Integrations", data=data, geocoder_url=geocoder_url)


on_integration = admin_on_named("integration", lambda settings: settings.integrations)


@on_integration
async def page(visit: Visit, name: str) -> Response:
    """An integration's page."""
    return await show(visit, name)


async def show(visit: Visit, name: str, tested: Tested | None = None) -> Response:
    """Integration ``name``'s page, with the outcome of a connection test when there was
    one."""
    view = await visit.run(
        integration_data.integration, visit.settings, visit.store, name, visit.now()
    )
    secrets = await visit.run(
        named_secrets.by_environment,
        visit.host,
        visit.settings,
        name,
        [e.name for e in view.environments],
    )
    return visit.render(
        "integration.html",
        f"Integration {name}",
        name=name,
        view=view,
        secrets=secrets,
        tested=tested,
        geocoder_url=geocoder_url,
    )


def _environment(visit: Visit, name: str) -> str | None:
    """The environment a form names, when the config file has it (None otherwise)."""
    wanted = visit.form.get("environment") or ""
    known = [e.name for e in environments(visit.settings, name)]
    return wanted if wanted in known else None


def on_environment(action: Callable[[Visit, str, str], Awaitable[Response]]) -> Guarded:
    """An admin action on the environment of integration ``{name}`` its form names:
    ``action(visit, name, environment)``; an environment the config does not have goes back
    to the page, saying so."""

    @on_integration
    async def handler(visit: Visit, name: str) -> Response:
        environment = await visit.run(_environment, visit, name)
        if environment is None:
            return visit.redirect(
                integration_url(name), f"{name} has no such environment in the config", error=True
            )
        return await action(visit, name, environment)

    return handler


@on_environment
async def save_password(visit: Visit, name: str, environment: str) -> Response:
    """``Save password``: store the password of one environment, then back to the page."""
    password = visit.form.raw("password")
    return await visit.act(
        lambda: save(visit, name, environment, password),
        back=integration_url(name),
        done=lambda words: words,
    )


@on_environment
async def save_secret(visit: Visit, name: str, environment: str) -> Response:
    """``Save app secret`` (or whichever secret the plugin declares): store one environment's
    named extra secret, then back to the page."""
    back = integration_url(name)
    key = visit.form.get("key") or ""
    if key not in [o.name for o in named_secrets.declared(visit.host, visit.settings, name)]:
        plugin = visit.settings.integrations[name].plugin
        return visit.redirect(
            back, f"the {plugin} plugin of {name} declares no secret {key!r}", error=True
        )
    secret = visit.form.raw("secret")
    return await visit.act(
        lambda: save(visit, name, environment, secret, key),
        back=back,
        done=lambda words: words,
    )


@on_environment
async def test_connection(visit: Visit, name: str, environment: str) -> Response:
    """``Test connection``: doctor's check of one environment, shown on the page."""
    tested = await visit.run(try_integration, visit.settings, visit.host, name, environment)
    return await show(visit, name, tested)


@on_integration
async def refresh(visit: Visit, name: str) -> Response:
    """``Refresh request types``: reload this integration's, then back to the page."""
    back = integration_url(name)
    warnings: list[str] = []

    def work() -> int | None:
        loaded = request_types.load(
            as_stored_now(visit.settings, name, visit.host.plugin_options),
            visit.host,
            visit.store,
            True,
            warnings.append,
            actor=visit.actor,
            integration=name,
        )
        if not loaded:
            return None
        return sum(1 for t in visit.store.request_types() if t.integration == name)

    try:
        count = await visit.run(work)
    except UserError as exc:
        return visit.redirect(back, str(exc), error=True)
    if count is None:
        said = warnings[0].removeprefix("warning: ") if warnings else "they could not be loaded"
        return visit.redirect(back, said[:1].upper() + said[1:], error=True)
    kinds = "request type" if count == 1 else "request types"
    return visit.redirect(back, f"Refreshed the request types of {name}: {count} {kinds}.")
