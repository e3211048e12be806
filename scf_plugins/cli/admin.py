"""Setting up: ``scf plugins``, ``config check``, ``credentials set`` and ``doctor``."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

import click

from ..config import credentials
from ..config.settings import check_config
from ..errors import ScfError, UserError
from ..models import problems_and_warnings
from ..ops import advice
from ..ops.views import dumps, table
from .app import App
from .root import cli, echo, pass_app


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def plugins_cmd(app: App, as_json: bool) -> None:
    """Installed plugins, their versions, and the hooks each implements."""
    rows: list[dict[str, Any]] = [
        {
            "name": p.name,
            "distribution": p.distribution,
            "version": p.version,
            "hooks": list(p.hooks),
            "error": None,
        }
        for p in app.host.info()
    ]
    rows += [
        {"name": n, "distribution": None, "version": None, "hooks": [], "error": e}
        for n, e in sorted(app.host.failures.items())
    ]
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


def _plugin_problems(
    app: App, key: str, check: Callable[[], list[str]], warnings: list[str]
) -> list[str]:
    """A plugin's own checks of one config section, as config-check lines (its warnings are
    added to ``warnings``)."""
    try:
        problems, said = problems_and_warnings(check())
    except ScfError as exc:
        return [f"{app.config_path}: {key}.plugin: {exc}"]
    warnings += [f"{app.config_path}: {key}: {w}" for w in said]
    return [f"{app.config_path}: {key}: {p}" for p in problems]


@config_group.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def config_check(app: App, as_json: bool) -> None:
    """Validate the config; show which integration serves which request type."""
    settings, problems = check_config(app.config_path)
    routing: list[dict[str, Any]] = []
    warnings: list[str] = []
    if settings is not None:
        for integration in settings.integrations.values():
            problems += _plugin_problems(
                app,
                f"integrations.{integration.name}",
                partial(app.host.check_integration, integration),
                warnings,
            )
            routing.append(
                {
                    "integration": integration.name,
                    "plugin": integration.plugin,
                    "environment": integration.environment,
                    "request_types": list(integration.request_types),
                }
            )
        for geocoder in settings.geocoders.values():
            problems += _plugin_problems(
                app,
                f"geocoders.{geocoder.name}",
                partial(app.host.check_geocoder, geocoder),
                warnings,
            )
        warnings += [line for _, line in advice.timezone_lines(settings, app.host)]
        server = settings.server
        if server.public_url and server.public_url.lower().startswith("http://"):
            warnings.append(
                f"server.public_url {server.public_url} is plain http: clients' API keys and "
                f"reporters' details would cross the network unencrypted; serve it over https "
                f"(a TLS proxy in front of scf serve)"
            )
        if not problems:
            from ..store.store import readable_by_others

            exposed = readable_by_others(settings.organization.database)
            if exposed:
                warnings.append(
                    f"{exposed}: the database can be read by other users of this machine (it "
                    f"holds reporters' emails and private answers); run: chmod 600 {exposed}*"
                )
            warnings += [line for _, line in advice.foreign_link_lines(settings, app.store)]
            cached = app.store.request_types()
            for entry in routing:
                entry["cached"] = [
                    rt.code for rt in cached if rt.integration == entry["integration"]
                ]
    serving = dataclasses.asdict(settings.server) if settings is not None else None
    photos = dataclasses.asdict(settings.images) if settings is not None else None
    if photos is not None and not problems and photos["purge_after_days"] is not None:
        from ..engine import retention
        from ..timeutil import utcnow

        with app.store.read() as conn:  # what the period deletes at once, before it is set
            count, size = retention.due(conn, utcnow(), timedelta(days=photos["purge_after_days"]))
        photos["purge_due"] = {"photos": count, "bytes": size}
    if as_json:
        echo(
            dumps(
                {
                    "ok": not problems,
                    "problems": problems,
                    "warnings": warnings,
                    "routing": routing,
                    "server": serving,
                    "images": photos,
                }
            )
        )
    else:
        for line in problems:
            echo(line, err=True)
        for line in warnings:
            echo(f"warning: {line}", err=True)
        if not problems:
            echo(f"{app.config_path}: OK")
            echo(
                table(
                    ["integration", "plugin", "env", "serves"],
                    [
                        [
                            r["integration"],
                            r["plugin"],
                            r["environment"],
                            ", ".join(r.get("cached") or r["request_types"]),
                        ]
                        for r in routing
                    ],
                )
            )
            assert serving is not None
            where = (
                serving["public_url"] or "public_url not set (clients get the address they used)"
            )
            echo(
                f"scf serve: {where}; jurisdiction {serving['jurisdiction_id'] or 'any'}; "
                f"{serving['requests_per_minute'] or 'unlimited'} POSTs a minute per key; "
                f"bodies up to {serving['max_body_kb']} KB"
            )
            assert photos is not None
            keep = photos["purge_after_days"]
            echo(
                f"photos: up to {photos['max_per_issue']} per issue, "
                f"{photos['max_bytes'] / 2**20:g} MB each, kept at {photos['max_side']} px; "
                + (
                    f"their bytes purged {keep:g} days after the issue is archived "
                    f"({photos['purge_due']['photos']} photos, "
                    f"{photos['purge_due']['bytes'] / 2**20:.1f} MB, are due now and go over "
                    f"the next passes)"
                    if keep is not None
                    else "kept for good (set [images] purge_after_days for a retention period)"
                )
            )
    if problems:
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
    "--stdin",
    "from_stdin",
    is_flag=True,
    help="Read the password from standard input (its first line), for automation.",
)
@pass_app
def credentials_set(app: App, name: str, environment: str | None, from_stdin: bool) -> None:
    """Prompt (hidden, twice) for NAME's password and store it owner-only.

    An open circuit of NAME (it was down, perhaps for this very password) is closed, so the
    next pass tries it at once.
    """
    for line in _unknown_credential(app, name, environment):
        echo(f"warning: {line}", err=True)
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        if not sys.stdin.isatty() and os.environ.get("SCF_ALLOW_PIPED_PASSWORD") != "1":
            raise UserError(
                "run this in a terminal: the password is read from a hidden prompt "
                "(or pass --stdin to read it from standard input)"
            )
        password = click.prompt(
            f"Password for {name}" + (f" ({environment})" if environment else ""),
            hide_input=True,
            confirmation_prompt=True,
            err=True,
        )
    if not password:
        raise UserError("an empty password was not stored")
    path = credentials.store(name, environment, password)
    echo(
        f"stored the password for {name}{' (' + environment + ')' if environment else ''} "
        f"in {path} (owner-only); {credentials.env_var_name(name, environment)} overrides it"
    )
    _close_circuit(app, name)


def _unknown_credential(app: App, name: str, environment: str | None) -> list[str]:
    """Warnings when the config has no integration or geocoder NAME, or no such environment
    of it (a typo would store a password nothing reads)."""
    import tomllib

    try:
        raw = tomllib.loads(app.config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, tomllib.TOMLDecodeError):
        return []  # no config to compare with (yet): nothing to warn about
    integrations: dict[str, Any] = raw.get("integrations") or {}
    geocoders: dict[str, Any] = raw.get("geocoders") or {}
    if not isinstance(integrations, dict) or not isinstance(geocoders, dict):
        return []  # config check says what is wrong with the file
    where = app.config_path
    if name in integrations:
        table = integrations[name] if isinstance(integrations[name], dict) else {}
        envs = sorted(k for k, v in table.items() if isinstance(v, dict) and "url" in v)
        if environment is None:
            return [f"{where} has integration {name} with environments {', '.join(envs) or 'none'}"
                    f"; give --env (its passwords are per environment)"]  # fmt: skip
        if environment not in envs:
            return [f"{where} has no [integrations.{name}.{environment}]; its environments: "
                    f"{', '.join(envs) or 'none'}"]  # fmt: skip
        return []
    if name in geocoders:
        return [] if environment is None else [
            f"{name} is a geocoder in {where}; its password has no environment: drop --env"
        ]  # fmt: skip
    known = ", ".join(sorted([*integrations, *geocoders])) or "none"
    return [f"{where} has no integration or geocoder named {name!r} (it has: {known})"]


def _close_circuit(app: App, name: str) -> None:
    """Close NAME's circuit, if the config and the store can be opened (else nothing to do)."""
    from ..engine import circuits
    from ..errors import ScfError
    from ..timeutil import utcnow

    try:
        store = app.store
        with store.transaction() as conn:
            closed = circuits.close(conn, name, utcnow(), "its password was changed")
    except ScfError:
        return
    if closed:
        echo(f"{name} was marked down; the next pass tries it at once")


@cli.command("doctor")
@click.option("--env", "environment", metavar="ENV", help="Check this environment instead.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def doctor_cmd(app: App, environment: str | None, as_json: bool) -> None:
    """Reach and log in to each integration and geocoder; say what is wrong and how to fix it."""
    from ..config.settings import load_config
    from ..ops.doctor import diagnose

    settings = (
        load_config(app.config_path, environment=environment) if environment else app.settings
    )
    findings = diagnose(settings, app.host, app.store)
    if as_json:
        echo(
            dumps(
                [
                    {"target": f.target, "ok": f.ok, "detail": f.detail, "notes": list(f.notes)}
                    for f in findings
                ]
            )
        )
    else:
        for f in findings:
            echo(f"{'OK  ' if f.ok else 'FAIL'} {f.target}: {f.detail}")
            for note in f.notes:
                echo(f"     note: {note}")
    if not findings or not all(f.ok for f in findings):
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
    from ..ops import status
    from ..timeutil import utcnow

    now = utcnow()
    if prometheus:
        click.echo(status.prometheus_text(app.settings, app.store, now).decode(), nl=False)
        data = status.gather(app.settings, app.store, now)
    else:
        data = status.gather(app.settings, app.store, now)
        echo(dumps(data) if as_json else status.text(data, now))
    sys.exit(1 if status.failing(data) else 0)
