"""Whether an integration's steps may run now, as this worker sees it.

Three things stop them: its circuit is open (shared in the store, :mod:`.circuits`; read at
most every ``CIRCUIT_FRESH`` seconds while it is closed), it went down during this pass (a
trip), or its server asked to be left alone for a while (``Retry-After``). The trips and
pauses are this worker's own memory; the loop hands them to the steps as callbacks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..models import Integration
from ..plugins import PluginHost
from ..store.store import Store
from . import circuits
from .outcomes import PassReport, describe
from .retries import BACKOFF

CIRCUIT_FRESH = 1.0  # seconds a read of the circuits table is used before it is read again


@dataclass
class Gate:
    """Trips, pauses and circuit reads of one worker, by integration name."""

    store: Store
    host: PluginHost
    clock: Callable[[], datetime]
    _paused: dict[str, datetime] = field(default_factory=dict, repr=False)
    _tripped: set[str] = field(default_factory=set, repr=False)
    _circuit_seen: dict[str, float] = field(default_factory=dict, repr=False)

    def pause(self, integration: Integration, exc: BaseException) -> None:
        """Leave the integration alone for as long as its server asked (``Retry-After``),
        within the transient back-off cap."""
        seconds = getattr(exc, "retry_after", None)
        if seconds:
            cap = BACKOFF["transient"][1]
            until = self.clock() + min(timedelta(seconds=seconds), cap)
            self._paused[integration.name] = max(until, self._paused.get(integration.name, until))

    def paused(self, integration: Integration) -> datetime | None:
        """Until when the integration's server asked to be left alone, or None."""
        until = self._paused.get(integration.name)
        if until is not None and until <= self.clock():
            # pop, not del: the submitter and the poller threads may both get here
            self._paused.pop(integration.name, None)
            return None
        return until

    def trip(self, integration: Integration, exc: BaseException, report: PassReport) -> None:
        """The integration is down as a whole (see :mod:`.circuits`): open its circuit, stop
        its steps for this pass, and count it once, not once per waiting issue."""
        first = integration.name not in self._tripped
        self._tripped.add(integration.name)
        self._circuit_seen.pop(integration.name, None)
        with self.store.transaction() as conn:
            circuits.trip(conn, integration.name, exc, self.clock())
        if first:
            report.errors += 1
            report.problems.append(f"{integration.name} is down: {describe(exc)}")

    def tripped(self, integration: Integration) -> bool:
        """Whether the integration went down during this pass (its steps stop)."""
        return integration.name in self._tripped

    def opens(self, integration: Integration, report: PassReport) -> bool:
        """Whether to run the integration's steps now: its circuit is closed, or a probe is
        due and goes through (one cheap call; then everything waiting is sent at once)."""
        self._tripped.discard(integration.name)
        checked = self._circuit_seen.get(integration.name)
        if checked is not None and time.monotonic() - checked < CIRCUIT_FRESH:
            return True  # closed a moment ago (a trip here clears this); no query per pass
        with self.store.read() as conn:
            circuit = circuits.read(conn, integration.name)
        if circuit is None:
            self._circuit_seen[integration.name] = time.monotonic()
            return True
        now = self.clock()
        if circuit.probe_at > now:
            return False  # down, and said so when it went down: nothing more per pass
        try:
            if self.host.list_statuses(integration) is None:
                self.host.list_request_types(integration)
        except Exception as exc:
            if circuits.integration_wide(exc):
                self.trip(integration, exc, report)
                return False
            # It answered (with a refusal of its own): it is up; the steps say the rest.
        with self.store.transaction() as conn:
            circuits.close(conn, integration.name, now)
        return True
