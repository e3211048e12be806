"""Setting up: ``scf plugins``, ``config check``, ``credentials set``, ``doctor`` and
``status``."""

from __future__ import annotations

import os
import sys

import click

from ..config import credentials
from ..errors import UserError
from ..ops import config_check as config_checking
from ..ops import plugins as plugin_listing
from ..ops.credentials import save, unknown_credential
from ..ops.views import dumps, table
from .app import App
from .root import cli, echo, pass_app


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def plugins_cmd(app: App, as_json: bool) -> None:
    """Installed plugins, their versions, and the hooks each implements."""
    rows = plugin_listing.gather(app.host)
    if as_json:
        echo(dumps(rows))
        return
    echo(
        table(
            ["plugin", "version", "hooks"],
            [
                [r["name"], r["version"] or "-", ", ".join(r["hooks"]) or f"FAILED: {r['error']}"]
                for r in rows
            ],
        )
    )


@cli.group("config")
def config_group() -> None:
    """Check the org config."""


@config_group.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def config_check(app: App, as_json: bool) -> None:
    """Validate the config; show which integration serves which request type."""
    data = config_checking.gather(app.config_path, app.host, lambda: app.store)
    if as_json:
        echo(dumps(data))
    else:
        for line in config_checking.complaints(data):
            echo(line, err=True)
        if data["ok"]:
            echo(config_checking.text(data, app.config_path))
    if not data["ok"]:
        sys.exit(1)


@cli.group("credentials")
def credentials_group() -> None:
    """Store passwords outside the config."""


@credentials_group.command("set")
@click.argument("name")
@click.option(
    "--env",
    "environment",
    metavar="ENV",
    help="The integration's environment (test, production); omit for a geocoder.",
)
@click.option(
    "--key",
    "key",
    metavar="KEY",
    help="A named extra secret the plugin declares (e.g. app_secret) instead of the password.",
)
@click.option(
    "--stdin",
    "from_stdin",
    is_flag=True,
    help="Read the password from standard input (its first line), for automation.",
)
@pass_app
def credentials_set(
    app: App, name: str, environment: str | None, key: str | None, from_stdin: bool
) -> None:
    """Prompt (hidden, twice) for NAME's password (or its secret KEY) and store it owner-only.

    An open circuit of NAME (it was down, perhaps for this very password) is closed, so the
    next pass tries it at once.
    """
    for line in unknown_credential(app.config_path, name, environment):
        echo(f"warning: {line}", err=True)
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        if not sys.stdin.isatty() and os.environ.get("SCF_ALLOW_PIPED_PASSWORD") != "1":
            raise UserError(
                "run this in a terminal: the password is read from a hidden prompt "
                "(or pass --stdin to read it from standard input)"
            )
        what = key.replace("_", " ").capitalize() if key else "Password"
        password = click.prompt(
            f"{what} for {name}" + (f" ({environment})" if environment else ""),
            hide_input=True,
            confirmation_prompt=True,
            err=True,
        )
    saved = save(name, environment, password, store=lambda: app.store, actor=app.actor, key=key)
    echo(
        f"stored the {key or 'password'} for {name}"
        f"{' (' + environment + ')' if environment else ''} in {saved.path} (owner-only); "
        f"{credentials.env_var_name(name, environment, key)} overrides it"
    )
    if saved.circuit_closed:
        echo(f"{name} was marked down; the next pass tries it at once")


@cli.command("doctor")
@click.option("--env", "environment", metavar="ENV", help="Check this environment instead.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def doctor_cmd(app: App, environment: str | None, as_json: bool) -> None:
    """Reach and log in to each integration and geocoder; say what is wrong and how to fix it."""
    from ..config.settings import load_config
    from ..ops import doctor

    settings = (
        load_config(
            app.config_path, environment=environment, plugin_options=app.host.plugin_options
        )
        if environment
        else app.settings
    )
    findings = doctor.diagnose(settings, app.host, app.store)
    if as_json:
        echo(dumps(doctor.as_json(findings)))
    elif findings:
        echo(doctor.text(findings))
    if not doctor.healthy(findings):
        sys.exit(1)


@cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a stable shape).")
@click.option(
    "--prometheus",
    is_flag=True,
    help="Print the figures in the Prometheus text format (for a node-exporter textfile).",
)
@pass_app
def status_cmd(app: App, as_json: bool, prometheus: bool) -> None:
    """Each integration and geocoder: issues by status, what waits and what fails, the last
    pass, the last successful call. Exits 1 when anything is failing (for cron and
    monitoring)."""
    from ..ops import metrics, status
    from ..timeutil import utcnow

    now = utcnow()
    if prometheus:
        click.echo(metrics.prometheus_text(app.settings, app.store, now).decode(), nl=False)
        data = status.gather(app.settings, app.store, now)
    else:
        data = status.gather(app.settings, app.store, now)
        echo(dumps(data) if as_json else status.text(data, now, app.settings.organization.zone))
    sys.exit(1 if status.failing(data) else 0)
