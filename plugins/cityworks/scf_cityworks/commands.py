"""``scf emulator cityworks``: serve the Cityworks emulator in the foreground, and play city
staff on a running one (``scf emulator cityworks staff close 1234``)."""

from __future__ import annotations

import os
from typing import Any

import click

from scf_plugins.testing import standins

from .emulator import Emulator, EmulatorState


@click.group("cityworks", invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8899, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--user", default="scf-int", show_default=True, help="The login the emulator accepts."
)
@click.option(
    "--version",
    "cw_version",
    default="15.8.3",
    show_default=True,
    help="Cityworks version to report; 23 and later take the token in a header only.",
)
@click.option(
    "--timezone",
    default="America/New_York",
    show_default=True,
    help="The server's zone, for its naive local dates.",
)
@click.option("--latency", default=0.0, type=click.FloatRange(0, 60), help="Seconds per call.")
@click.pass_context
def emulator_command(
    ctx: click.Context,
    host: str,
    port: int,
    user: str,
    cw_version: str,
    timezone: str,
    latency: float,
) -> None:
    """Serve the Cityworks emulator (password: $SCF_EMULATOR_PASSWORD, default "emulator").

    Its state lives in memory and is gone when it stops; request and comment numbers start
    from the clock, so a restarted emulator does not hand out numbers it gave before.
    `scf emulator cityworks staff …` plays city staff on a running one.
    """
    if ctx.invoked_subcommand is not None:
        return
    password = os.environ.get("SCF_EMULATOR_PASSWORD", "emulator")
    state = EmulatorState(
        users={user: password},
        timezone=timezone,
        version=cw_version,
        header_token_only=cw_version.split(".")[0].isdigit()
        and int(cw_version.split(".")[0]) >= 23,
        latency=latency,
    )
    emulator = standins.bind(lambda: Emulator(state, host=host, port=port), host, port)
    emulator.start()
    click.echo(f"Cityworks emulator at {emulator.url}")
    click.echo(f"Cityworks {cw_version}, server time zone {timezone}; state is kept in memory only")
    click.echo("Use it in scf.toml:")
    click.echo(
        f'  [integrations.cityworks]\n  timezone = "{timezone}"\n\n'
        f'  [integrations.cityworks.test]\n  url = "{emulator.url}"\n  user = "{user}"'
    )
    click.echo(
        "and set the password with SCF_CITYWORKS_TEST_PASSWORD. City staff and faults: "
        f"POST {emulator.root}/__emulator/staff|fault|expire_tokens|latency. Ctrl-C stops."
    )
    try:
        standins.wait_until_stopped()
    finally:
        emulator.stop()


AT = click.option(
    "--at",
    default="http://127.0.0.1:8899",
    show_default=True,
    help="The running emulator (its root, as it printed).",
)


def _control(at: str, action: str, body: dict[str, Any]) -> Any:
    return standins.control(
        at, action, body, root_before="/Cityworks", start="scf emulator cityworks"
    )


@emulator_command.group("staff")
def staff() -> None:
    """Play city staff on a request of a running emulator (what the next poll picks up)."""


def _staff(at: str, action: str, request_id: int, **fields: Any) -> None:
    body = {"action": action, "request_id": request_id}
    body.update({k: v for k, v in fields.items() if v is not None})
    record = _control(at, "staff", body)
    status = record.get("Status") if isinstance(record, dict) else None
    click.echo(f"request {request_id}: {action} done" + (f" (status {status})" if status else ""))


@staff.command("close")
@click.argument("request_id", type=int)
@click.option("--status", help="The closed status to set (default CLOSED).")
@AT
def staff_close(request_id: int, status: str | None, at: str) -> None:
    """Close REQUEST_ID."""
    _staff(at, "close", request_id, status=status)


@staff.command("cancel")
@click.argument("request_id", type=int)
@click.option("--status", help="The cancel status to set (default CANCEL).")
@click.option("--reason", help="The cancel reason (the issue keeps it for staff).")
@AT
def staff_cancel(request_id: int, status: str | None, reason: str | None, at: str) -> None:
    """Cancel REQUEST_ID."""
    _staff(at, "cancel", request_id, status=status, reason=reason)


@staff.command("reopen")
@click.argument("request_id", type=int)
@AT
def staff_reopen(request_id: int, at: str) -> None:
    """Reopen REQUEST_ID."""
    _staff(at, "reopen", request_id)


@staff.command("comment")
@click.argument("request_id", type=int)
@click.argument("text")
@click.option("--author", help="Who writes it (default a staff member).")
@AT
def staff_comment(request_id: int, text: str, author: str | None, at: str) -> None:
    """Comment on REQUEST_ID; a comment starting "To SCF:" goes to the resident."""
    _staff(at, "comment", request_id, text=text, author=author)


@staff.command("attachments")
@click.argument("request_id", type=int)
@AT
def staff_attachments(request_id: int, at: str) -> None:
    """List the photos attached to REQUEST_ID (name, size, when, by whom)."""
    records = _control(at, "attachments", {"request_id": request_id})
    if not records:
        click.echo(f"request {request_id} has no attachments")
    for record in records:
        name = str(record.get("Attachment") or "").replace("\\", "/").rsplit("/", 1)[-1]
        click.echo(
            f"{record.get('Id')}  {name}  {record.get('Size', 0)} bytes  "
            f"{record.get('DateTimeAttached')}  by {record.get('AttachedBy')}"
        )


@staff.command("set")
@click.argument("request_id", type=int)
@click.argument("field")
@click.argument("value")
@AT
def staff_set(request_id: int, field: str, value: str, at: str) -> None:
    """Set FIELD of REQUEST_ID (Status, DispatchTo, …)."""
    if field == "Status":
        _staff(at, "status", request_id, status=value)
    else:
        _staff(at, "set_field", request_id, field=field, value=value)


@emulator_command.command("fault")
@click.argument("kind")
@click.option("--count", type=click.IntRange(1, 10_000), default=1, show_default=True)
@click.option("--match", default="", help="Only calls whose path contains this (any case).")
@AT
def fault(kind: str, count: int, match: str, at: str) -> None:
    """Make the next COUNT matching calls fail with KIND (503, html, malformed, reset,
    drop_after_commit, slow, expire_token, not_found, garble, duplicate)."""
    _control(at, "fault", {"kind": kind, "count": count, "match": match})
    click.echo(f"the next {count} call(s){' to ' + match if match else ''} fail with {kind}")
