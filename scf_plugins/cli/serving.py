"""``scf serve`` (the Open311 door, with the engine beside it) and ``scf api-keys``."""

from __future__ import annotations

import signal
import sys
from datetime import timedelta
from typing import Any

import click

from ..engine.outcomes import PassReport
from ..errors import UserError
from ..ops.views import dumps, table
from .app import App
from .root import cli, echo, pass_app


@cli.command("serve")
@click.option("--host", "address", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8311, show_default=True)
@click.option("--no-sync", is_flag=True, help="Serve only; another process runs `scf sync`.")
@pass_app
def serve_cmd(app: App, address: str, port: int, no_sync: bool) -> None:
    """Serve Open311 GeoReport v2 at /open311 and health at /healthz; unless --no-sync, run
    the sync engine in the same process, submitting each report the moment it arrives.

    SIGINT or SIGTERM: stop accepting, finish the requests in flight and the current sync
    step, exit 0. A changed config file is used from the next pass (SIGHUP: read it now).
    """
    from ..server.running import build, preflight, serves_loopback_only

    settings = app.settings
    if not settings.server.public_url and not serves_loopback_only(address):
        raise UserError(
            f"serving on {address} needs [server] public_url, the address clients reach (e.g. "
            f'public_url = "https://311.example.gov"): discovery and photo links are built '
            f"from it, never from what a request claims"
        )
    preflight(app.store, address, port)

    def show(kind: str, report: PassReport) -> None:
        echo(f"pass ({kind}): {report.summary()}")

    mode = "sync runs here" if not no_sync else "no sync: run `scf sync` beside it"
    serving = build(
        settings, app.host, app.store, address=address, port=port, sync=not no_sync,
        on_report=show,
        announce=lambda url: echo(f"serving Open311 at {url}/open311/v2 ({mode})", err=True),
    )  # fmt: skip

    def stop(signum: int, _frame: Any) -> None:
        serving.request_stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    signal.signal(signal.SIGHUP, lambda _signum, _frame: serving.reload())
    serving.run()
    echo("stopped", err=True)
    sys.exit(0)


@cli.group("api-keys")
def api_keys_group() -> None:
    """Open311 API keys: the clients that may POST reports."""


@api_keys_group.command("create")
@click.argument("name")
@pass_app
def api_keys_create(app: App, name: str) -> None:
    """Make a key for client NAME; the key is printed once, as the last line."""
    from ..server import apikeys

    key = apikeys.create(app.store, name, actor=app.actor)
    echo(f"API key {name!r} created; give it to the client now, it is not shown again:")
    click.echo(key)  # the one place a secret is printed: asked for, and the last line


@api_keys_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def api_keys_list(app: App, as_json: bool) -> None:
    """The keys by name (never the keys themselves), revoked ones included."""
    from ..server import apikeys

    rows = apikeys.listed_json(app.store)
    if as_json:
        echo(dumps(rows))
        return
    if not rows:
        echo("no API keys; make one with `scf api-keys create NAME`")
        return
    lines = []
    for r in rows:
        lines.append(
            [r["name"], r["created_at"], r["revoked_at"] or "", r["last_used_at"] or "", ""]
        )
        if r["previous_key_until"]:  # a rotated-out key still in its grace period
            lines.append([f"{r['name']} (previous key)", "", "", "", r["previous_key_until"]])
    echo(table(["name", "created", "revoked", "last report", "works until"], lines))


@api_keys_group.command("rotate")
@click.argument("name")
@click.option(
    "--grace-hours",
    type=click.FloatRange(0, 90 * 24),
    default=24,
    show_default=True,
    help="How long the current key keeps working beside the new one (0: it stops now).",
)
@pass_app
def api_keys_rotate(app: App, name: str, grace_hours: float) -> None:
    """Give client NAME a new key, printed once as the last line; its current key keeps
    working for the grace period. Reports and updates sent with either are NAME's."""
    from ..server import apikeys

    rotated = apikeys.rotate(app.store, name, timedelta(hours=grace_hours), actor=app.actor)
    if rotated.ended_earlier:
        echo(f"the key {name!r} had before its last rotation stops working now")
    until = rotated.previous_until.strftime("%Y-%m-%d %H:%M UTC")
    echo(
        f"API key {name!r} rotated; its previous key works until {until}. Give the client "
        f"the new key now, it is not shown again:"
    )
    click.echo(rotated.key)  # asked for, and the last line, as with create


@api_keys_group.command("revoke")
@click.argument("name")
@pass_app
def api_keys_revoke(app: App, name: str) -> None:
    """Revoke key NAME at once; its client's next POST is refused (403)."""
    from ..server import apikeys

    apikeys.revoke(app.store, name, actor=app.actor)
    echo(f"API key {name!r} revoked")
