"""``scf staff create|list|disable|reset`` (the console's accounts) and ``scf audit`` (who
changed what, from the console and the command line)."""

from __future__ import annotations

import os
import sys

import click

from ..errors import UserError
from ..ops.views import dumps, table
from .app import App
from .root import cli, echo, pass_app

_STDIN = click.option(
    "--stdin",
    "from_stdin",
    is_flag=True,
    help="Read the password from standard input (its first line), for automation.",
)


def _password(name: str, from_stdin: bool) -> str:
    """The new password of account ``name``: the first line of standard input, or a hidden
    prompt asked twice (never echoed, never printed)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty() and os.environ.get("SCF_ALLOW_PIPED_PASSWORD") != "1":
        raise UserError(
            "run this in a terminal: the password is read from a hidden prompt "
            "(or pass --stdin to read it from standard input)"
        )
    password: str = click.prompt(
        f"Password for {name}", hide_input=True, confirmation_prompt=True, err=True
    )
    return password


@cli.group("staff")
def staff_group() -> None:
    """The staff console's accounts (admin or staff), signing in at /console/login."""


@staff_group.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "staff"]), required=True)
@_STDIN
@pass_app
def staff_create(app: App, name: str, role: str, from_stdin: bool) -> None:
    """Make account NAME; its password (12 to 1024 characters) from a hidden prompt, asked
    twice, or with --stdin the first line of standard input."""
    from ..ops import staff

    staff.create(app.store, name, role, _password(name, from_stdin), actor=app.actor)
    echo(f"created {role} account {name}")


@staff_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def staff_list(app: App, as_json: bool) -> None:
    """The accounts by name: role, state (active, disabled, locked after failed sign-ins)
    and last sign-in."""
    from ..ops import staff
    from ..timeutil import local_time

    rows = staff.listed_json(app.store)
    if as_json:
        echo(dumps(rows))
        return
    if not rows:
        echo("no staff accounts; make one with `scf staff create NAME --role admin`")
        return
    zone = app.settings.organization.zone
    lines = [
        [
            r["name"],
            r["role"],
            f"locked until {local_time(r['locked_until'], zone)}"
            if r["state"] == "locked"
            else r["state"],
            local_time(r["last_login_at"], zone) or "never",
        ]
        for r in rows
    ]
    echo(table(["name", "role", "state", "last sign-in"], lines))


@staff_group.command("disable")
@click.argument("name")
@pass_app
def staff_disable(app: App, name: str) -> None:
    """Disable account NAME: it cannot sign in, and its sessions end at once."""
    from ..ops import staff

    staff.disable(app.store, name, actor=app.actor)
    echo(f"disabled account {name}; its sessions have ended")


@staff_group.command("reset")
@click.argument("name")
@_STDIN
@pass_app
def staff_reset(app: App, name: str, from_stdin: bool) -> None:
    """Give account NAME a new password (as for create); its lock after failed sign-ins is
    cleared and its sessions end."""
    from ..ops import staff

    staff.reset(app.store, name, _password(name, from_stdin), actor=app.actor)
    echo(f"reset the password of account {name}; its sessions have ended")


@cli.command("audit")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--limit", type=click.IntRange(1, 10_000), default=100, show_default=True, metavar="N"
)
@pass_app
def audit_cmd(app: App, as_json: bool, limit: int) -> None:
    """Who changed what, newest first: console and command-line actions alike (times in the
    organization's zone)."""
    from ..ops import audit

    entries = audit.listed(app.store, limit)
    if as_json:
        echo(dumps(audit.as_json(entries)))
    else:
        echo(audit.text(entries, app.settings.organization.zone))
