"""``scf emulator accela``: serve the Accela emulator in the foreground, and play city staff
on a running one (``scf emulator accela staff close ISLANDTON-26CAP-00000-0001A``)."""

from __future__ import annotations

import os
from typing import Any

import click

from scf_plugins.testing import standins

from .emulator import FAULT_KINDS, AccelaEmulator, AgencyState


@click.group("accela", invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8840, show_default=True, type=click.IntRange(0, 65535))
@click.option("--user", default="scf-int", show_default=True, help="The login it accepts.")
@click.option("--agency", default="ISLANDTON", show_default=True, help="The agency's name.")
@click.option("--app-id", default="scf-app", show_default=True, help="The application's id.")
@click.option(
    "--timezone",
    default="America/New_York",
    show_default=True,
    help="The agency's zone, for its naive local dates.",
)
@click.pass_context
def emulator_command(
    ctx: click.Context, host: str, port: int, user: str, agency: str, app_id: str, timezone: str
) -> None:
    """Serve a fake Accela Civic Platform (Construct API v4): the auth host's /oauth2/token
    and the API host's /v4 on one port (password: $SCF_EMULATOR_PASSWORD, app secret:
    $SCF_EMULATOR_APP_SECRET, both default "emulator", environments TEST and PROD).

    Its state is in memory only. `scf emulator accela staff …` plays city staff on it.
    """
    if ctx.invoked_subcommand is not None:
        return
    password = os.environ.get("SCF_EMULATOR_PASSWORD", "emulator")
    secret = os.environ.get("SCF_EMULATOR_APP_SECRET", "emulator")
    state = AgencyState(
        users={user: password}, apps={app_id: secret}, agency=agency.upper(), timezone=timezone
    )
    emulator = standins.bind(lambda: AccelaEmulator(state, host=host, port=port), host, port)
    emulator.start()
    click.echo(
        f"Accela emulator at {emulator.url} (agency {state.agency}, environments TEST "
        f"and PROD, time zone {timezone}); state is kept in memory only"
    )
    click.echo("Use it in scf.toml:")
    click.echo(
        f'  [integrations.permits]\n  plugin = "accela"\n  environment = "test"\n'
        f'  module = "ServiceRequest"\n  timezone = "{timezone}"\n\n'
        f'  [integrations.permits.test]\n  url = "{emulator.url}"\n'
        f'  auth_url = "{emulator.url}"\n  agency = "{state.agency}"\n'
        f'  accela_environment = "TEST"\n  app_id = "{app_id}"\n  user = "{user}"'
    )
    click.echo(
        "and set the password with SCF_PERMITS_TEST_PASSWORD and the app secret with "
        "SCF_PERMITS_TEST_APP_SECRET. Staff: `scf emulator accela staff close|void|comment|"
        "status|set ID …`, `… fault KIND`, `… expire-tokens`. Ctrl-C stops."
    )
    try:
        standins.wait_until_stopped()
    finally:
        emulator.stop()


AT = click.option(
    "--at",
    default="http://127.0.0.1:8840",
    show_default=True,
    help="The running emulator (its root, as it printed).",
)


def _control(at: str, action: str, body: dict[str, Any]) -> Any:
    return standins.control(at, action, body, root_before="/v4", start="scf emulator accela")


@emulator_command.group("staff")
def staff() -> None:
    """Play city staff on a record of a running emulator (what the next poll picks up)."""


def _staff(at: str, action: str, record_id: str, **fields: Any) -> None:
    body = {"action": action, "record_id": record_id}
    body.update({k: v for k, v in fields.items() if v is not None})
    record = _control(at, "staff", body)
    status = record.get("status", {}).get("value") if isinstance(record, dict) else None
    click.echo(f"record {record_id}: {action} done" + (f" (status {status})" if status else ""))


@staff.command("close")
@click.argument("record_id")
@click.option("--status", help="The status value (default: Closed).")
@AT
def staff_close(record_id: str, status: str | None, at: str) -> None:
    """Close RECORD_ID (status type CLOSED, or COMPLETE for a value of that type)."""
    _staff(at, "close", record_id, status=status)


@staff.command("void")
@click.argument("record_id")
@click.option("--status", help="The status value (default: Void).")
@click.option("--reason", help="The status reason.")
@AT
def staff_void(record_id: str, status: str | None, reason: str | None, at: str) -> None:
    """Void RECORD_ID (status type VOID), with a reason."""
    _staff(at, "void", record_id, status=status, reason=reason)


@staff.command("comment")
@click.argument("record_id")
@click.argument("text")
@AT
def staff_comment(record_id: str, text: str, at: str) -> None:
    """Add a comment to RECORD_ID; one starting "To SCF:" goes to the resident."""
    _staff(at, "comment", record_id, text=text)


@staff.command("status")
@click.argument("record_id")
@click.argument("status")
@AT
def staff_status(record_id: str, status: str, at: str) -> None:
    """Give RECORD_ID any status value (typed as the agency configures it, else OPEN)."""
    _staff(at, "status", record_id, status=status)


@staff.command("set")
@click.argument("record_id")
@click.argument("field")
@click.argument("value")
@AT
def staff_set(record_id: str, field: str, value: str, at: str) -> None:
    """Set a top-level FIELD of RECORD_ID (assignedUser, assignedToDepartment, …)."""
    _staff(at, "set_field", record_id, field=field, value=value)


@emulator_command.command("fault")
@click.argument("kind", type=click.Choice(FAULT_KINDS))
@click.option("--count", type=click.IntRange(1, 10_000), default=1, show_default=True)
@click.option(
    "--match",
    default="",
    help='Only calls whose "METHOD /path " contains this (any case), e.g. "post /v4/records ".',
)
@AT
def fault(kind: str, count: int, match: str, at: str) -> None:
    """Make the next COUNT matching calls fail with KIND."""
    _control(at, "fault", {"kind": kind, "count": count, "match": match})
    click.echo(f"the next {count} call(s){' to ' + match if match else ''} fail with {kind}")


@emulator_command.command("expire-tokens")
@click.option("--refresh", is_flag=True, help="The refresh tokens too (their 8 hours ran out).")
@AT
def expire_tokens(refresh: bool, at: str) -> None:
    """Make every access token issued so far expire (the next call is refused 401)."""
    _control(at, "expire_tokens", {"refresh": refresh})
    click.echo("every access token expired" + (", and every refresh token" if refresh else ""))
