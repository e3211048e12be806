"""``scf emulator open311``: serve the fake GeoReport server in the foreground, and play city
staff on a running one (``scf emulator open311 staff close 1234``)."""

from __future__ import annotations

import os
from typing import Any

import click

from scf_plugins.testing import standins

from .emulator import FAULT_KINDS, EmulatorState, Open311Emulator


@click.group("open311", invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8311, show_default=True, type=click.IntRange(0, 65535))
@click.option("--xml-only", is_flag=True, help="Serve XML only, as many servers do.")
@click.pass_context
def emulator_command(ctx: click.Context, host: str, port: int, xml_only: bool) -> None:
    """Serve a fake Open311 GeoReport v2 server (API key: $SCF_EMULATOR_KEY, default
    "emulator-key"), with a realtime and a batch service and mySociety's updates.

    Its state is in memory only. `scf emulator open311 staff …` plays city staff on it.
    """
    if ctx.invoked_subcommand is not None:
        return
    key = os.environ.get("SCF_EMULATOR_KEY", "emulator-key")
    state = EmulatorState(api_keys={key}, xml_only=xml_only)
    emulator = standins.bind(lambda: Open311Emulator(state, host=host, port=port), host, port)
    emulator.start()
    fmt = '\n  format = "xml"' if xml_only else ""
    click.echo(f"Open311 emulator at {emulator.url}")
    click.echo("Use it in scf.toml:")
    click.echo(
        f'  [integrations.county]\n  plugin = "open311"\n  environment = "test"\n'
        f'  updates = "mysociety"\n  cancel_notes = ["duplicate"]{fmt}\n\n'
        f'  [integrations.county.test]\n  url = "{emulator.url}"\n  user = "scf"'
    )
    click.echo(
        "and set the key with SCF_COUNTY_TEST_PASSWORD. Staff: `scf emulator open311 staff "
        "close|cancel|comment|set ID …`, `… process-batch`, `… fault KIND`. Ctrl-C stops."
    )
    try:
        standins.wait_until_stopped()
    finally:
        emulator.stop()


AT = click.option("--at", default="http://127.0.0.1:8311", show_default=True,
                  help="The running emulator (its root, as it printed).")  # fmt: skip


def _control(at: str, action: str, body: dict[str, Any]) -> Any:
    return standins.control(at, action, body, root_before="/open311", start="scf emulator open311")


@emulator_command.group("staff")
def staff() -> None:
    """Play city staff on a request of a running emulator (what the next poll picks up)."""


def _staff(at: str, action: str, request_id: str, **fields: Any) -> None:
    body = {"action": action, "request_id": request_id}
    body.update({k: v for k, v in fields.items() if v is not None})
    record = _control(at, "staff", body)
    status = record.get("status") if isinstance(record, dict) else None
    click.echo(f"request {request_id}: {action} done" + (f" (status {status})" if status else ""))


@staff.command("close")
@click.argument("request_id")
@click.option("--notes", help="The status notes (default: Fixed).")
@AT
def staff_close(request_id: str, notes: str | None, at: str) -> None:
    """Close REQUEST_ID."""
    _staff(at, "close", request_id, notes=notes)


@staff.command("cancel")
@click.argument("request_id")
@click.option("--notes", help="The status notes (default: Duplicate report).")
@AT
def staff_cancel(request_id: str, notes: str | None, at: str) -> None:
    """Close REQUEST_ID as a duplicate (a cancellation where cancel_notes names it)."""
    _staff(at, "cancel", request_id, notes=notes)


@staff.command("comment")
@click.argument("request_id")
@click.argument("text")
@AT
def staff_comment(request_id: str, text: str, at: str) -> None:
    """Add an update to REQUEST_ID; one starting "To SCF:" goes to the resident."""
    _staff(at, "comment", request_id, text=text)


@staff.command("set")
@click.argument("request_id")
@click.argument("field")
@click.argument("value")
@AT
def staff_set(request_id: str, field: str, value: str, at: str) -> None:
    """Set FIELD of REQUEST_ID (status, agency_responsible, service_notice, …)."""
    if field == "status":
        _staff(at, "status", request_id, status=value)
    else:
        _staff(at, "set_field", request_id, field=field, value=value)


@staff.command("process-batch")
@AT
def staff_process(at: str) -> None:
    """Make every request the batch service accepted under a token."""
    made = _control(at, "process_batch", {}).get("made", [])
    click.echo(f"made {len(made)} request(s): {', '.join(made) or '-'}")


@emulator_command.command("fault")
@click.argument("kind", type=click.Choice(FAULT_KINDS))
@click.option("--count", type=click.IntRange(1, 10_000), default=1, show_default=True)
@click.option("--match", default="", help="Only calls whose path contains this (any case).")
@AT
def fault(kind: str, count: int, match: str, at: str) -> None:
    """Make the next COUNT matching calls fail with KIND."""
    _control(at, "fault", {"kind": kind, "count": count, "match": match})
    click.echo(f"the next {count} call(s){' to ' + match if match else ''} fail with {kind}")
