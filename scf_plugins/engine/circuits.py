"""One alarm per outage: a circuit per integration.

A failure that belongs to the integration, not to the issue at hand (the login refused, the
host unreachable, TLS failing, the server answering 502/503/504, or calls that get no answer at
all, see :mod:`.gate`) opens the integration's circuit. While it is open, nothing is sent there
and the issues that wait are not charged: their attempts and back-off stay as they were. A
probe runs when it is due (after 15 s, then doubling up to 5 minutes): one call's worth of
normal work. When the probe goes through the circuit closes and everything waiting is sent at
once; when it fails, the next probe waits longer. Two warnings per outage (down, back); a
probe that fails again is logged at debug.

A circuit belongs to the settings it tripped on: it records a fingerprint of the environment,
URL and user, and of the password (a slow salted hash, never the secret). Settings that differ
(a URL put right, another password) are not down: their worker closes the old circuit at its
next pass and tries them at once.

The state lives in the store (``circuits``), so every worker, ``scf status``, ``scf
credentials set`` (which closes the circuit) and ``scf issues retry`` (which ends its wait)
share it. The fingerprint is kept inside the ``reason`` column (as JSON), so the table needs
no new column.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from ..errors import ConfigError, LoginRefused, TransientError
from ..models import Integration
from ..store.tables import circuits

log = logging.getLogger(__name__)

FIRST_PROBE = timedelta(seconds=15)
LONGEST_WAIT = timedelta(minutes=5)
# Outcomes (scf_plugins.net.http) that say the server as a whole is not there.
_DOWN_OUTCOMES = {"connection", "connect-timeout", "tls", "http-502", "http-503", "http-504"}
# A password's part of the fingerprint is stored in the database: a slow hash, salted with the
# endpoint and user, so that it cannot be turned back into the password by trying guesses fast.
_PASSWORD_ROUNDS = 20_000
_FOREIGN = "scf_geocoder"  # set on an error of a geocoder's call (see not_the_integrations)


@dataclass(frozen=True)
class Circuit:
    """An open circuit: since when, why, when the next probe is due, and the fingerprint of
    the settings it tripped on (None: tripped before circuits had one; it applies to any)."""

    integration: str
    opened_at: datetime
    reason: str
    probe_at: datetime
    probes: int
    fingerprint: str | None = None

    def applies_to(self, integration: Integration) -> bool:
        """Whether these settings are the ones it tripped on. A password unknown here (a
        command run without the workers' secrets) is not held against it."""
        if self.fingerprint is None:
            return True
        mine, _, password = self.fingerprint.partition(".")
        theirs = fingerprint(integration)
        if mine != theirs.partition(".")[0]:
            return False
        return integration.password is None or password == theirs.partition(".")[2]

    def waiting(self, now: datetime) -> str:
        """What its issues wait for, for people: "cityworks is down since … (why); …"."""
        when = (
            "the next pass probes it first, and sends what waits only if it answers"
            if self.probe_at <= now
            else f"it is probed at {_utc(self.probe_at)}, and what waits goes once it answers"
        )
        return f"{self.integration} is down since {_utc(self.opened_at)} ({self.reason}); {when}"


def fingerprint(integration: Integration) -> str:
    """``<settings>.<password>``: short hashes of the environment, URL and user, and of the
    password (``-`` when there is none). The password itself is never stored."""
    where = "\0".join((integration.environment, integration.url, integration.user))
    settings = hashlib.sha256(where.encode()).hexdigest()[:16]
    if integration.password is None:
        return f"{settings}.-"
    return f"{settings}.{_password_hash(where, integration.password.reveal())}"


@functools.lru_cache(maxsize=64)  # a worker asks at every pass while a circuit is open
def _password_hash(where: str, password: str) -> str:
    salt = f"scf circuit {where}".encode()
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _PASSWORD_ROUNDS).hex()[:16]


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


def no_answer(exc: BaseException) -> bool:
    """Whether ``exc`` is a call of the integration that got no answer in time (the server
    may be hanging); one alone is not an outage, see :mod:`.gate`."""
    return getattr(exc, "outcome", None) == "timeout" and not getattr(exc, _FOREIGN, None)


def not_the_integrations(exc: BaseException, geocoder: str) -> None:
    """Mark an error of a geocoder's call made for the integration: a geocoder that does not
    answer says nothing about the integration's server."""
    setattr(exc, _FOREIGN, geocoder)


def read(conn: Connection, integration: str) -> Circuit | None:
    """The integration's open circuit, or None when it is closed."""
    row = conn.execute(select(circuits).where(circuits.c.integration == integration)).first()
    return None if row is None else _circuit(row)


def read_all(conn: Connection) -> dict[str, Circuit]:
    """Every open circuit, by integration."""
    return {row.integration: _circuit(row) for row in conn.execute(select(circuits))}


def trip(
    conn: Connection, integration: Integration, reason: str, now: datetime
) -> tuple[Circuit, bool]:
    """Open the circuit (or, when it is open, push its next probe back). Returns it, and
    whether this call opened it (then one warning is logged; a failed probe is a debug line).
    A circuit of other settings is replaced: these ones are down now."""
    name, reason = integration.name, reason[:1000]
    current = read(conn, name)
    print_ = fingerprint(integration)
    if current is not None and not current.applies_to(integration):
        conn.execute(circuits.delete().where(circuits.c.integration == name))
        current = None
    if current is None:
        circuit = Circuit(name, now, reason, now + FIRST_PROBE, 0, print_)
        try:
            with conn.begin_nested():
                conn.execute(circuits.insert().values(**_values(circuit)))
        except IntegrityError:  # another worker opened it this moment
            found = read(conn, name)
            return (found if found is not None else circuit), False
        log.warning(
            "%s is down: %s; nothing is sent there and waiting issues are not charged; "
            "probing again in %d s",
            name,
            reason,
            FIRST_PROBE.total_seconds(),
            extra={"integration": name, "event": "circuit-open"},
        )
        return circuit, True
    if current.probe_at > now:
        return current, False  # another worker tripped it already; its line was written
    wait = min(FIRST_PROBE * 2 ** (current.probes + 1), LONGEST_WAIT)
    circuit = Circuit(name, current.opened_at, reason, now + wait, current.probes + 1, print_)
    conn.execute(circuits.update().where(circuits.c.integration == name).values(**_values(circuit)))
    log.debug(
        "%s is still down after %s: %s; next probe in %d s",
        name,
        _age(now - current.opened_at),
        reason,
        wait.total_seconds(),
        extra={"integration": name, "event": "circuit-probe-failed"},
    )
    return circuit, False


def close(
    conn: Connection,
    integration: str,
    now: datetime,
    why: str = "it answers again",
    *,
    only: Circuit | None = None,
) -> bool:
    """Close the circuit (with ``only``: if it is still that one, not one another worker
    opened since); True when one was closed (then one line is logged)."""
    current = read(conn, integration)
    if current is None or (only is not None and current.opened_at != only.opened_at):
        return False
    conn.execute(
        circuits.delete().where(
            circuits.c.integration == integration, circuits.c.opened_at == current.opened_at
        )
    )
    log.warning(
        "%s is back after %s (%s); everything waiting is sent now",
        integration,
        _age(now - current.opened_at),
        why,
        extra={"integration": integration, "event": "circuit-closed"},
    )
    return True


def end_waits(
    conn: Connection, integrations: Iterable[Integration], now: datetime
) -> list[Circuit]:
    """End the wait of the open circuits of ``integrations`` (``scf issues retry``: someone
    put something right), so the next pass probes each at once; returns them, probe due now.
    A circuit of other settings is left: the next pass closes it anyway."""
    ended = []
    for integration in integrations:
        current = read(conn, integration.name)
        if current is None or not current.applies_to(integration):
            continue
        # Due since it opened: a time every worker's clock has passed, whatever the skew
        # between this machine's clock and theirs.
        due = min(current.opened_at, now)
        if current.probe_at > due:
            conn.execute(
                circuits.update()
                .where(circuits.c.integration == integration.name)
                .values(probe_at=due)
            )
            current = dataclasses.replace(current, probe_at=due)
        ended.append(current)
    return ended


def _circuit(row: Any) -> Circuit:
    reason, print_ = _unpack(row.reason)
    return Circuit(row.integration, row.opened_at, reason, row.probe_at, row.probes, print_)


def _unpack(stored: str) -> tuple[str, str | None]:
    """The reason and the fingerprint kept in the ``reason`` column; a plain text (written
    before circuits had fingerprints) is a reason alone."""
    if stored.startswith("{"):
        try:
            data = json.loads(stored)
        except ValueError:
            return stored, None
        if isinstance(data, dict) and isinstance(data.get("reason"), str):
            found = data.get("settings")
            return data["reason"], found if isinstance(found, str) else None
    return stored, None


def _values(circuit: Circuit) -> dict[str, Any]:
    return {
        "integration": circuit.integration,
        "opened_at": circuit.opened_at,
        "reason": json.dumps({"reason": circuit.reason, "settings": circuit.fingerprint}),
        "probe_at": circuit.probe_at,
        "probes": circuit.probes,
    }


def _utc(when: datetime) -> str:
    return f"{when.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
