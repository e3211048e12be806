"""Whether an integration's steps may run now, as this worker sees it.

Three things stop them: its circuit is open (shared in the store, :mod:`.circuits`; read at
most every ``CIRCUIT_FRESH`` seconds while it is closed), it went down during this pass (a
trip), or its server asked to be left alone for a while (``Retry-After``). The trips and
pauses are this worker's own memory; the loop hands them to the steps as callbacks.

A trip belongs to the passes open when it happened: under ``scf sync`` and ``scf serve`` the
submit and poll threads share one gate, and a pass one thread begins afterwards (its circuit
read shows the outage) must not undo the trip for the other's pass still running.

A server that accepts connections and never answers is down too, though no single call says
so: each only times out. The gate counts the calls of the integration that get no answer
(:func:`.circuits.no_answer`) and trips the circuit when none of the pass's calls got one (every
request in flight timed out), or after ``SILENT_CALLS`` in a row with no answer between
(answers are the host's HTTP records, :func:`scf_plugins.ops.telemetry.latency`). From then on
those timeouts are the outage's, said once: each is a debug line, not a warning.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..models import Integration
from ..ops import telemetry
from ..plugins import PluginHost
from ..store.store import Store
from ..timeutil import utcnow
from . import circuits
from .outcomes import PassReport, describe
from .retries import BACKOFF

log = logging.getLogger(__name__)

CIRCUIT_FRESH = 1.0  # seconds a read of the circuits table is used before it is read again
SILENT_CALLS = 3  # calls in a row with no answer that make an outage, answered ones between


@dataclass
class Gate:
    """Trips, pauses and circuit reads of one worker, by integration name."""

    store: Store
    host: PluginHost
    clock: Callable[[], datetime]
    _paused: dict[str, datetime] = field(default_factory=dict, repr=False)
    # When each integration last tripped and when each thread's pass opened it, as ticks of
    # one counter: a pass is tripped when the integration tripped after that pass opened it.
    _ticks: int = field(default=0, repr=False)
    _tripped_at: dict[str, int] = field(default_factory=dict, repr=False)
    _opened_at: dict[tuple[int, str], int] = field(default_factory=dict, repr=False)
    _circuit_seen: dict[str, float] = field(default_factory=dict, repr=False)
    # The wall clock (that of the HTTP records) when each thread's pass opened an integration,
    # and the run of calls with no answer: how many, since when.
    _began: dict[tuple[int, str], datetime] = field(default_factory=dict, repr=False)
    _silent: dict[str, tuple[int, datetime]] = field(default_factory=dict, repr=False)
    _live: dict[str, Integration] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def pause(self, integration: Integration, exc: BaseException) -> None:
        """Leave the integration alone for as long as its server asked (``Retry-After``),
        within the transient back-off cap."""
        seconds = getattr(exc, "retry_after", None)
        if seconds:
            cap = BACKOFF["transient"][1]
            until = self.clock() + min(timedelta(seconds=seconds), cap)
            self._paused[integration.name] = max(until, self._paused.get(integration.name, until))

    def pauses(self) -> dict[str, datetime]:
        """Until when each paused integration's server asked to be left alone (some may have
        ended: :meth:`paused` forgets those)."""
        return dict(self._paused)

    def paused(self, integration: Integration) -> datetime | None:
        """Until when the integration's server asked to be left alone, or None."""
        until = self._paused.get(integration.name)
        if until is not None and until <= self.clock():
            # pop, not del: the submitter and the poller threads may both get here
            self._paused.pop(integration.name, None)
            return None
        return until

    def trip(
        self,
        integration: Integration,
        exc: BaseException,
        report: PassReport,
        reason: str | None = None,
    ) -> None:
        """The integration is down as a whole (see :mod:`.circuits`): open its circuit, stop
        its steps for this pass, and count it once, not once per waiting issue."""
        why = reason or describe(exc)
        first = not self.tripped(integration)
        try:
            with self.store.transaction() as conn:
                circuits.trip(conn, integration, why, self.clock())
        finally:
            # After the circuit is written, so that a pass opening it meanwhile either reads
            # the circuit open or opened before this tick (and so is tripped).
            with self._lock:
                self._ticks += 1
                self._tripped_at[integration.name] = self._ticks
                self._silent.pop(integration.name, None)
            self._circuit_seen.pop(integration.name, None)
        if first:
            report.errors += 1
            report.problems.append(f"{integration.name} is down: {why}")

    def tripped(self, integration: Integration) -> bool:
        """Whether the integration went down during this thread's pass (its steps stop): it
        tripped, on either thread, after this thread's pass opened it."""
        name = integration.name
        with self._lock:
            tripped = self._tripped_at.get(name)
            opened = self._opened_at.get((threading.get_ident(), name))
        return tripped is not None and (opened is None or tripped > opened)

    def unanswered(self, name: str, exc: BaseException, report: PassReport) -> bool:
        """Whether a failure of integration ``name`` belongs to an outage: a call with no
        answer when none of this pass's calls got one, or the ``SILENT_CALLS``-th in a row
        (then the circuit trips now), or one more while it is down. Such a failure is counted
        and said once, with the outage; the caller says nothing more of it (a debug line)."""
        integration = self._live.get(name)
        if integration is None or not circuits.no_answer(exc):
            return False
        if self.tripped(integration):
            log.debug("%s: no answer during its outage: %s", name, describe(exc),
                      extra={"integration": name})  # fmt: skip
            return True
        answered = telemetry.latency(name)[2]  # the last call of it that got an answer
        now = utcnow()
        with self._lock:
            calls, since = self._silent.get(name, (0, now))
            if answered is not None and answered >= since:
                calls, since = 0, now  # it answered since the run began: a new run
            calls += 1
            self._silent[name] = (calls, since)
            began = self._began.get((threading.get_ident(), name))
        quiet = began is not None and (answered is None or answered < began)
        if not quiet and calls < SILENT_CALLS:
            return False
        why = "no call got an answer this pass" if quiet else f"{calls} calls in a row got none"
        log.debug("%s: %s", name, describe(exc), extra={"integration": name})
        self.trip(integration, exc, report, f"it does not answer ({why}): {describe(exc)}")
        return True

    def opens(self, integration: Integration, report: PassReport) -> bool:
        """Whether to run the integration's steps now: its circuit is closed (or was opened on
        other settings: a URL or password put right is tried at once), or a probe is due and
        goes through (one cheap call; then everything waiting is sent at once)."""
        name = integration.name
        self._live[name] = integration
        with self._lock:
            self._ticks += 1
            self._opened_at[(threading.get_ident(), name)] = self._ticks
            self._began[(threading.get_ident(), name)] = utcnow()
        checked = self._circuit_seen.get(name)
        if checked is not None and time.monotonic() - checked < CIRCUIT_FRESH:
            return True  # closed a moment ago (a trip here clears this); no query per pass
        with self.store.read() as conn:
            circuit = circuits.read(conn, name)
        now = self.clock()
        if circuit is not None and not circuit.applies_to(integration):
            with self.store.transaction() as conn:
                circuits.close(conn, name, now, "tripped on other settings: the environment, "
                               "url, user or password changed since", only=circuit)  # fmt: skip
            circuit = None
        if circuit is None:
            self._circuit_seen[name] = time.monotonic()
            return True
        if circuit.probe_at > now:
            return False  # down, and said so when it went down: nothing more per pass
        try:
            if self.host.list_statuses(integration) is None:
                self.host.list_request_types(integration)
        except Exception as exc:
            if circuits.integration_wide(exc) or circuits.no_answer(exc):
                self.trip(integration, exc, report)
                return False
            # It answered (with a refusal of its own): it is up; the steps say the rest.
        with self.store.transaction() as conn:
            circuits.close(conn, name, now)
        return True
