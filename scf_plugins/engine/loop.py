"""The sync engine: one pass keeps every local issue in step with its remote request.

:meth:`Engine.run_pass` is the whole lifecycle as one call. For each integration whose
settings pass its plugin's checks and whose circuit lets it through (:mod:`.gate`), the steps
run in order, each in its module, each given the pass's :class:`~.context.StepContext`:

1. :mod:`.submit` Open issues routed to the integration (address validation first where
   configured): success acknowledges the issue; failures are recorded with a back-off.
   :mod:`.resolve` then asks about creates left pending under a token.
2. :mod:`.poll` the Acknowledged issues in batches, and apply what changed: closing,
   cancelling, activity messages, remote ``To SCF:`` comments.
3. :mod:`.comments` and :mod:`.photos` push local comments and photos of Acknowledged
   issues (the rules they share are :mod:`.outbox`).

Then, once for all integrations, :mod:`.archive` archives issues closed long enough and
purges the photos due.

Remote calls run outside any transaction, on up to ``max_concurrency`` threads per
integration; every write happens on the calling thread, one short transaction at a time, so
SQLite keeps a single writer and a crash loses at most the calls in flight, which the next
pass reconciles (``submit`` looks before it creates again). While a pass runs its leases are
renewed (:mod:`.heartbeat`); :meth:`Engine.run_continuously` runs passes without end
(:mod:`.continuous`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..config.settings import Settings
from ..errors import ConfigError, ScfError
from ..models import Integration, problems_and_warnings
from ..net import deadlines
from ..ops import advice, telemetry
from ..plugins import PluginHost
from ..store import tables
from ..store.store import Store
from ..timeutil import utcnow
from . import leases
from .archive import archive as archive_step
from .comments import push_comments
from .context import Step, StepContext
from .continuous import POLL_CHECK_EVERY, SUBMIT_EVERY, run_until_stopped
from .gate import Gate
from .heartbeat import heartbeat
from .outcomes import PassReport, describe, error_kind
from .photos import push_photos
from .poll import poll
from .refresh_types import refresh_if_due
from .resolve import resolve
from .status_notes import StatusNotes
from .submit import submit

log = logging.getLogger(__name__)

LEASED = (tables.issues, tables.comments, tables.attachments, tables.poll_batches)  # claimed work
SUBMIT_STEPS: tuple[Step, ...] = (submit, resolve, push_comments, push_photos)
POLL_STEPS: tuple[Step, ...] = (poll,)
ALL_STEPS: tuple[Step, ...] = (submit, resolve, poll, push_comments, push_photos)


@dataclass
class Engine:
    """A sync worker. ``clock`` and ``owner`` are injectable for tests and the demo."""

    settings: Settings
    host: PluginHost
    store: Store
    clock: Callable[[], datetime] = utcnow
    owner: str = field(default_factory=leases.worker_id)
    lease: timedelta = leases.DEFAULT_LEASE
    stop: threading.Event = field(default_factory=threading.Event)
    progress: Callable[[str], None] | None = None
    # True under `scf sync` without --once: polls keep their cadence (poll_interval_seconds)
    # across workers; otherwise every pass polls (joining a round other workers started).
    continuous: bool = False
    last_pass_at: datetime | None = None  # when the latest pass (of any steps) ended
    _gate: Gate = field(init=False, repr=False)
    _notes: StatusNotes = field(init=False, repr=False)
    _settings_problems: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _skipped_said: set[str] = field(default_factory=set, repr=False)
    _started: bool = field(default=False, repr=False)
    _wake: threading.Event = field(default_factory=threading.Event, repr=False)

    def __post_init__(self) -> None:
        self._gate = Gate(self.store, self.host, self.clock)
        self._notes = StatusNotes(self.store, self.clock)

    # -- the pass ----------------------------------------------------------------------------

    def run_pass(self, steps: Sequence[Step] = ALL_STEPS, *, archive: bool = True) -> PassReport:
        """One pass over every integration (by default the whole pass: every step, then
        archive); never raises for a remote failure."""
        with heartbeat(self.store, LEASED, self.owner, self.lease, self.clock):
            report = self._pass(steps, archive)
        self.last_pass_at = self.clock()
        return report

    def _pass(self, steps: Sequence[Step], archive: bool) -> PassReport:
        report = PassReport()
        started = time.perf_counter()
        self._start(report)
        ctx = self._context(report)
        for integration in self.settings.integrations.values():
            if self._ready(integration, report):
                self._run_steps(ctx, integration, steps)
        for geocoder in self.settings.geocoders.values():
            self._notes.note(geocoder.name, "geocoder", busy=report.busy)
        if archive and not self.stop.is_set():
            archive_step(ctx)
        report.seconds = time.perf_counter() - started
        kind = "whole" if len(steps) == len(ALL_STEPS) else steps[0].__name__
        telemetry.record_pass(kind, report.seconds, report.errors)
        log.info("pass: %s", report.summary(), extra={"event": "pass", **report.fields()})
        return report

    def _ready(self, integration: Integration, report: PassReport) -> bool:
        """Whether the integration's steps run in this pass: its settings pass its plugin's
        checks (else it is skipped, said once per process) and its circuit lets it through."""
        problems = self.settings_problems(integration)
        if not problems:
            return self._gate.opens(integration, report)
        # Said once per process: the problems are checked once, and a long-running worker
        # would otherwise repeat the same line twice a second.
        if integration.name not in self._skipped_said:
            self._skipped_said.add(integration.name)
            self.failed(
                report,
                f"{integration.name} skipped",
                ConfigError(f"{'; '.join(problems)}; fix it (`scf config check` lists it)"),
                integration=integration.name,
            )
        return False

    def _run_steps(self, ctx: StepContext, integration: Integration, steps: Sequence[Step]) -> None:
        """The steps for one integration, until one trips it, it asks for a pause, or the
        worker stops; then how it fared is noted for ``scf status``."""
        report = ctx.report
        began = time.perf_counter()
        errors_before, problems_before = report.errors, len(report.problems)
        for step in steps:
            if ctx.tripped(integration):
                break
            until = ctx.paused(integration)
            if until is not None:
                report.problems.append(
                    f"{integration.name}: waiting until {until:%H:%M:%S} UTC, as its "
                    f"server asked (Retry-After)"
                )
                break
            if ctx.stop.is_set():
                break
            try:
                step(ctx, integration)
            except Exception as exc:  # one broken integration never blocks the others
                ctx.failed(f"{integration.name} {step.__name__}", exc, integration=integration.name)
        new_problems = report.problems[problems_before:]
        self._notes.note(
            integration.name,
            "integration",
            busy=report.errors > errors_before or report.busy,
            seconds=time.perf_counter() - began,
            errors=report.errors - errors_before,
            last_error=new_problems[-1] if new_problems else None,
        )

    def _context(self, report: PassReport) -> StepContext:
        """What the steps of this pass may use, bound to its report."""

        def failed(
            where: str,
            exc: BaseException,
            *,
            integration: str | None = None,
            issue_id: int | None = None,
        ) -> None:
            self.failed(report, where, exc, integration=integration, issue_id=issue_id)

        def trip(integration: Integration, exc: BaseException) -> None:
            self._gate.trip(integration, exc, report)

        return StepContext(
            store=self.store,
            host=self.host,
            settings=self.settings,
            report=report,
            clock=self.clock,
            owner=self.owner,
            lease=self.lease,
            stop=self.stop,
            failed=failed,
            trip=trip,
            tripped=self._gate.tripped,
            pause=self._gate.pause,
            paused=self._gate.paused,
            poll_gap=self.poll_gap,
            say=self.say,
        )

    def _start(self, report: PassReport) -> None:
        """Once per engine, before its first pass: free at once the claims of dead workers on
        this machine, and say that issues linked to another environment are left alone."""
        if self._started:
            return
        self._started = True
        with self.store.transaction() as conn:
            freed = leases.take_over_dead(conn, LEASED, self.owner, self.clock())
        if freed:
            log.warning("took over %d claims of a worker on this machine that is gone", freed)
        for _, line in advice.foreign_link_lines(self.settings, self.store):
            report.problems.append(line)
            log.warning("%s", line)

    # -- what the steps are given ------------------------------------------------------------

    def failed(
        self,
        report: PassReport,
        where: str,
        exc: BaseException,
        *,
        integration: str | None = None,
        issue_id: int | None = None,
    ) -> None:
        """Count and log an error met during the pass (one redacted line, with the
        integration and issue as fields for ``--log-format json``); a call with no answer
        that belongs to an outage is the outage's, said once (see :mod:`.gate`)."""
        outage = self._gate.unanswered  # calls abandoned on the way out are not an outage
        if integration and not self.stop.is_set() and outage(integration, exc, report):
            return
        report.errors += 1
        text = describe(exc)
        report.problems.append(f"{where}: {text}")
        fields: dict[str, Any] = {"error_kind": error_kind(exc)}
        if integration is not None:
            fields["integration"] = integration
        if issue_id is not None:
            fields["issue_id"] = issue_id
        log.warning("%s: %s", where, text, extra=fields)

    def poll_gap(self, integration: Integration) -> timedelta:
        """How long after a poll round started the next may start."""
        if not self.continuous:
            return timedelta(0)
        return timedelta(seconds=integration.poll_interval_seconds)

    def say(self, text: str) -> None:
        """Show progress on a terminal, when there is one."""
        if self.progress:
            self.progress(text)

    def settings_problems(self, integration: Integration) -> list[str]:
        """The plugins' own checks of an integration (and its geocoder), run once per engine.

        An integration whose settings are wrong (say a 15.8 site with a State Plane srid) is
        skipped rather than sent wrong data.
        """
        if integration.name not in self._settings_problems:
            try:
                problems, _ = problems_and_warnings(self.host.check_integration(integration))
                geocoder = self.settings.geocoder_for(integration)
                if geocoder is not None:
                    found, _ = problems_and_warnings(self.host.check_geocoder(geocoder))
                    problems += [f"geocoder {geocoder.name}: {p}" for p in found]
            except ScfError as exc:
                problems = [str(exc)]
            self._settings_problems[integration.name] = problems
        return self._settings_problems[integration.name]

    # -- a long run --------------------------------------------------------------------------

    def run_continuously(
        self,
        on_report: Callable[[str, PassReport], None],
        *,
        submit_every: float = SUBMIT_EVERY,
        poll_check_every: float = POLL_CHECK_EVERY,
    ) -> None:
        """Run until :attr:`stop` is set: new reports are submitted (and comments pushed)
        within ``submit_every`` seconds of being stored, or at once after :meth:`wake`, on
        one thread, while polling keeps its own cadence (``poll_interval_seconds``, a round
        shared with other workers) on this one; a long poll never delays a submit.

        :param on_report: called with ``"submit"`` or ``"poll"`` and each pass that did
            something or met an error.
        """
        self.continuous = True

        def poll_pass() -> PassReport:
            self.refresh_types_if_due()
            return self.run_pass(POLL_STEPS)

        run_until_stopped(
            lambda: self.run_pass(SUBMIT_STEPS, archive=False),
            poll_pass,
            on_report,
            stop=self.stop,
            wake=self._wake,
            submit_every=submit_every,
            poll_check_every=poll_check_every,
        )

    def refresh_types_if_due(self) -> None:
        """Reload each integration's request types when they are older than its
        ``request_types_refresh_hours`` (see :mod:`.refresh_types`)."""
        refresh_if_due(self.settings, self.host, self.store, self.clock(), self.settings_problems)

    def wake(self) -> None:
        """Submit now: a report was just stored (``scf serve``)."""
        self._wake.set()

    def request_stop(self) -> None:
        """Stop soon: no new step starts, and remote calls in flight are abandoned (each
        fails like a timeout, so a create or comment is looked up before any retry)."""
        self.stop.set()
        deadlines.abandon(self.stop)


def run_pass(settings: Settings, host: PluginHost, store: Store, **options: Any) -> PassReport:
    """Run one sync pass (every step, then archive) for every integration.

    :param options: :class:`Engine` fields (``clock``, ``owner``, ``lease``, ``stop``,
        ``progress``).
    :returns: what the pass did, including every error it met (it never raises for them).
    """
    return Engine(settings, host, store, **options).run_pass()
