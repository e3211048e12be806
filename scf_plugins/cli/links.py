"""Links to remote requests: ``scf links`` and what to do with links of another environment."""

from __future__ import annotations

import click

from ..ops import links
from ..ops.unlinking import checked_reason
from ..ops.views import dumps, table
from .app import App
from .root import cli, echo, pass_app


@cli.group("links", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def links_group(ctx: click.Context, as_json: bool) -> None:
    """Where issues are linked: per integration, environment and endpoint, live or not."""
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.find_object(App)
    assert app is not None
    rows = links.gather(app.settings, app.store)
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
    text = checked_reason(reason)
    done = links.act(
        app.settings, app.store, integration, environment, endpoint, text, "withdraw",
        actor=app.actor,
    )  # fmt: skip
    echo(f"withdrew {done} issue(s) of {integration} linked to {environment}")


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
    """Send every issue linked to another environment anew to the live one (new requests,
    their photos too)."""
    text = checked_reason(reason)
    done = links.act(
        app.settings, app.store, integration, environment, endpoint, text, "resubmit",
        actor=app.actor,
    )  # fmt: skip
    echo(f"resubmitted {done} issue(s) of {integration} linked to {environment}")
