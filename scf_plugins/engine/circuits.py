"""One alarm per outage: a circuit per integration.

A failure that belongs to the integration, not to the issue at hand (the login refused, the
host unreachable, TLS failing, the server answering 502/503/504) opens the integration's
circuit. While it is open, nothing is sent there and the issues that wait are not charged:
their attempts and back-off stay as they were. A probe runs when it is due (after 15 s, then
doubling up to 5 minutes): one call's worth of normal work. When the probe goes through the
circuit closes and everything waiting is sent at once; when it fails, the next probe waits
longer. Three log lines per outage (opened, still down at each probe, back), not one per issue.

The state lives in the store (``circuits``), so every worker, ``scf status`` and ``scf
credentials set`` (which closes the circuit: a fixed password is tried at once) share it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from ..errors import ConfigError, LoginRefused, TransientError
from ..store.tables import circuits
from .outcomes import describe

log = logging.getLogger(__name__)

FIRST_PROBE = timedelta(seconds=15)
LONGEST_WAIT = timedelta(minutes=5)
# Outcomes (scf_plugins.net.http) that say the server as a whole is not there.
_DOWN_OUTCOMES = {"connection", "connect-timeout", "tls", "http-502", "http-503", "http-504"}


@dataclass(frozen=True)
class Circuit:
    """An open circuit: since when, why, and when the next probe is due."""

    integration: str
    opened_at: datetime
    reason: str
    probe_at: datetime
    probes: int


def integration_wide(exc: BaseException) -> bool:
    """Whether ``exc`` is about the integration as a whole (so no issue is to blame), and
    nothing was carried out remotely."""
    if isinstance(exc, LoginRefused | ConfigError):
        return True
    outcome = getattr(exc, "outcome", None)
    if outcome not in _DOWN_OUTCOMES:
        return False
    # A dropped connection on a create may have carried it out: that stays the issue's.
    return outcome == "tls" or isinstance(exc, TransientError)


def read(conn: Connection, integration: str) -> Circuit | None:
    """The integration's open circuit, or None when it is closed."""
    row = conn.execute(select(circuits).where(circuits.c.integration == integration)).first()
    if row is None:
        return None
    return Circuit(row.integration, row.opened_at, row.reason, row.probe_at, row.probes)


def read_all(conn: Connection) -> dict[str, Circuit]:
    """Every open circuit, by integration."""
    return {
        row.integration: Circuit(
            row.integration, row.opened_at, row.reason, row.probe_at, row.probes
        )
        for row in conn.execute(select(circuits))
    }


def trip(conn: Connection, integration: str, exc: BaseException, now: datetime) -> Circuit:
    """Open the circuit (or, when it is open, push its next probe back); logs one line."""
    reason = describe(exc)[:1000]
    current = read(conn, integration)
    if current is None:
        circuit = Circuit(integration, now, reason, now + FIRST_PROBE, 0)
        try:
            with conn.begin_nested():
                conn.execute(circuits.insert().values(**_values(circuit)))
        except IntegrityError:  # another worker opened it this moment
            found = read(conn, integration)
            return found if found is not None else circuit
        log.warning(
            "%s is down: %s; nothing is sent there and waiting issues are not charged; "
            "probing again in %d s",
            integration,
            reason,
            FIRST_PROBE.total_seconds(),
            extra={"integration": integration, "event": "circuit-open"},
        )
        return circuit
    if current.probe_at > now:
        return current  # another worker tripped it already; its line was written
    wait = min(FIRST_PROBE * 2 ** (current.probes + 1), LONGEST_WAIT)
    circuit = Circuit(integration, current.opened_at, reason, now + wait, current.probes + 1)
    conn.execute(
        circuits.update().where(circuits.c.integration == integration).values(**_values(circuit))
    )
    log.warning(
        "%s is still down after %s: %s; next probe in %d s",
        integration,
        _age(now - current.opened_at),
        reason,
        wait.total_seconds(),
        extra={"integration": integration, "event": "circuit-probe-failed"},
    )
    return circuit


def close(conn: Connection, integration: str, now: datetime, why: str = "it answers again") -> bool:
    """Close the circuit; True when one was open (then one line is logged)."""
    current = read(conn, integration)
    if current is None:
        return False
    conn.execute(circuits.delete().where(circuits.c.integration == integration))
    log.warning(
        "%s is back after %s (%s); everything waiting is sent now",
        integration,
        _age(now - current.opened_at),
        why,
        extra={"integration": integration, "event": "circuit-closed"},
    )
    return True


def _values(circuit: Circuit) -> dict[str, Any]:
    return {
        "integration": circuit.integration,
        "opened_at": circuit.opened_at,
        "reason": circuit.reason,
        "probe_at": circuit.probe_at,
        "probes": circuit.probes,
    }


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
