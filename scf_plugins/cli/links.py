"""Links to remote requests: ``scf links`` and what to do with links of another environment."""

from __future__ import annotations

from collections.abc import Callable

import click

from ..errors import UserError
from ..ops.views import dumps, table
from ..timeutil import utcnow
from .app import App
from .root import checked_reason, cli, echo, pass_app


@cli.group("links", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def links_group(ctx: click.Context, as_json: bool) -> None:
    """Where issues are linked: per integration, environment and endpoint, live or not."""
    if ctx.invoked_subcommand is not None:
        return
    from ..store.links import Scope, link_groups

    app = ctx.find_object(App)
    assert app is not None
    with app.store.read() as conn:
        groups = link_groups(conn)
    rows = []
    for integration, environment, endpoint, status, count in groups:
        configured = app.settings.integrations.get(integration)
        live = configured is not None and (environment, endpoint) == (
            Scope.live(configured).environment,
            Scope.live(configured).endpoint,
        )
        rows.append(
            {
                "integration": integration,
                "environment": environment,
                "endpoint": endpoint,
                "status": status,
                "count": count,
                "live": live,
                "unverified": endpoint is None,
            }
        )
    if as_json:
        echo(dumps(rows))
        return
    echo(
        table(
            ["integration", "environment", "endpoint", "status", "issues", "synced"],
            [
                [
                    r["integration"],
                    r["environment"] or "-",
                    r["endpoint"] or "(made before links were scoped)",
                    r["status"],
                    r["count"],
                    "yes" if r["live"] else "on first poll" if r["unverified"] else "NO",
                ]
                for r in rows
            ],
        )
    )


def _group_action(
    app: App,
    integration: str,
    environment: str,
    endpoint: str | None,
    reason: str,
    verb: str,
) -> None:
    from ..engine import transitions
    from ..store.links import Scope, endpoint_key, linked_ids

    action: Callable[..., bool] = getattr(transitions, verb)
    configured = app.settings.integrations.get(integration)
    if configured is not None:
        live = Scope.live(configured)
        if environment == live.environment and (
            endpoint is None or endpoint_key(endpoint) == live.endpoint
        ):
            raise UserError(
                f"{environment} is the live environment of {integration}; name another "
                f"environment, or act on single issues with `scf issues {verb} ID`"
            )
    elif verb == "resubmit":
        raise UserError(f"there is no integration {integration!r} in the config to resubmit to")
    now = utcnow()
    done = 0
    with app.store.transaction() as conn:
        for issue_id in linked_ids(conn, integration, environment, endpoint):
            done += action(conn, app.settings, issue_id, reason, now)
    if not done:
        raise UserError(
            f"no Acknowledged issue of {integration} is linked to environment {environment!r}"
            + (f" at {endpoint}" if endpoint else "")
            + "; see `scf links`"
        )
    past = {"withdraw": "withdrew", "resubmit": "resubmitted"}[verb]
    echo(f"{past} {done} issue(s) of {integration} linked to {environment}")


_ENDPOINT = click.option("--endpoint", help="Only links made at this URL (see `scf links`).")
_ENVIRONMENT = click.option(
    "--environment", required=True, help="The environment the links were made on."
)


@links_group.command("withdraw")
@click.argument("integration")
@_ENVIRONMENT
@_ENDPOINT
@click.option(
    "--reason",
    default="it was made in a test system",
    show_default=True,
    help="Told to the resident in the closing message.",
)
@pass_app
def links_withdraw(
    app: App, integration: str, environment: str, endpoint: str | None, reason: str
) -> None:
    """Close here, with a message, every issue linked to another environment (the remote
    system is not touched)."""
    _group_action(app, integration, environment, endpoint, checked_reason(reason), "withdraw")


@links_group.command("resubmit")
@click.argument("integration")
@_ENVIRONMENT
@_ENDPOINT
@click.option(
    "--reason",
    default="the city moved to a new system",
    show_default=True,
    help="Told to the resident in the message.",
)
@pass_app
def links_resubmit(
    app: App, integration: str, environment: str, endpoint: str | None, reason: str
) -> None:
    """Send every issue linked to another environment anew to the live one (new requests)."""
    _group_action(app, integration, environment, endpoint, checked_reason(reason), "resubmit")
