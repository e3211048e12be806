"""Cancelling an issue's remote request from here, before it is withdrawn
(``scf issues withdraw ID --remote``, the console's "Also cancel the remote request").

The plugin cancels it once, with the reason, through its ``cancel_request`` hook; where it
cannot, nothing is changed and the line says plainly why and what to do instead:

- the plugin does not declare it (no hook, or ``Capabilities.remote_cancel`` False);
- the issue's create may have reached the remote system but has no remote id here yet;
- the issue is linked in an environment or endpoint that is not the live one;
- the remote system refused, or could not be reached.

An issue never sent has nothing to cancel, and is withdrawn as usual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ScfError
from ..net.redaction import redact

if TYPE_CHECKING:
    from ..config.settings import Settings
    from ..plugins import PluginHost
    from ..store.store import Store


@dataclass(frozen=True)
class Said:
    """What became of the remote request: ``done`` (go on and withdraw here: it is cancelled,
    or there was none), ``cancelled`` (a remote request was cancelled, or was already), and a
    sentence saying so, or why not."""

    done: bool
    text: str
    cancelled: bool = False


def cancel_first(
    settings: Settings, store: Store, host: PluginHost, issue_id: int, reason: str
) -> Said:
    """Cancel issue ``issue_id``'s remote request with ``reason``, where that can be done."""
    from sqlalchemy import select

    from ..store.links import Scope, endpoint_key
    from ..store.tables import issues

    with store.read() as conn:
        row = conn.execute(select(issues).where(issues.c.id == issue_id)).mappings().first()
    if row is None or row["status"] not in ("open", "acknowledged"):
        return Said(True, "")  # the withdraw itself says what is wrong
    name, rid = row["integration"], row["remote_id"]
    if rid is None:
        if row["submit_attempted"] or row["pending_token"]:
            return Said(False, (
                f"its create may have reached {name} but has no remote id here yet, so it "
                f"cannot be cancelled from here: `scf issues retry {issue_id}` looks it up "
                f"first, or withdraw it without --remote"
            ))  # fmt: skip
        return Said(True, "it had no remote request to cancel")
    integration = settings.integrations.get(name) if name else None
    if integration is None:
        return Said(False, (
            f"its integration {name!r} is not in the config, so request {rid} cannot be "
            f"cancelled from here; withdraw it without --remote"
        ))  # fmt: skip
    live = Scope.live(integration)
    if row["link_environment"] != live.environment or (
        row["link_endpoint"] is not None and row["link_endpoint"] != endpoint_key(integration.url)
    ):
        return Said(False, (
            f"its request {rid} is in {name}'s {row['link_environment'] or 'earlier'} "
            f"environment, not the live {integration.environment}: cancel it there by hand, "
            f"and withdraw it without --remote"
        ))  # fmt: skip
    if not host.cancels_remotely(integration):
        return Said(False, (
            f"the {integration.plugin} plugin cannot cancel a request from here: cancel "
            f"request {rid} in {name} by hand, and withdraw it without --remote"
        ))  # fmt: skip
    record = store.get(issue_id)
    if record is None:
        return Said(True, "")
    try:
        line = host.cancel_request(integration, record.issue, reason)
    except ScfError as exc:
        return Said(False, (
            f"{name} did not cancel request {rid}, so nothing was changed here: "
            f"{redact(str(exc))}"
        ))  # fmt: skip
    return Said(True, f"request {rid} cancelled in {name} ({redact(line)})", cancelled=True)
