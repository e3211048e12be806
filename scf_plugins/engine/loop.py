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

Then, once for all integrations, :mod:`.notifications` emails residents what their issues'
messages told (queued with the messages), and :mod:`.archive` archives issues closed long
enough and purges the photos and contact details due.

Remote calls run outside any transaction, on up to ``max_concurrency`` threads per
integration; every write happens on the calling thread, one short transaction at a time, so
SQLite keeps a single writer and a crash loses at most the calls in flight, which the next
pass reconciles (``submit`` looks before it creates again). While a pass runs its leases are
renewed (:mod:`.heartbeat`); :meth:`Engine.run_continuously` runs passes without end
(:mod:`.continuous`), sleeping until work is due (:mod:`.schedule`) or another process stores
some (:mod:`scf_plugins.store.signals`).

A pass reads one config from start to end: :meth:`Engine.use` (a reloaded config file) takes
effect from the next pass. Whatever a plugin raises is one error of the pass (the host names
the plugin and the hook, :func:`scf_plugins.plugins.plugin_failure`); the other integrations
and issues are served. Each pass leaves when it ended for the liveness checks (``scf status``,
``/healthz``, :mod:`scf_plugins.ops.liveness`): in this engine's memory and in the store's
health rows.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..config.settings import Settings
from ..errors import ConfigError, ScfError
from ..models import Geocoder, Integration, problems_and_warnings
from ..net import deadlines
from ..ops import advice, health, telemetry
from ..plugins import PluginHost
from ..store import signals, tables
from ..store.store import Store
from ..timeutil import utcnow
from . import collector, leases
from .archive import archive as archive_step
from .comments import push_comments
from .context import Step, StepContext
from .continuous import (
    CHECK_EVERY,
    IDLE_EVERY,
    POLL_CHECK_EVERY,
    STOP_GRACE,
    SUBMIT_EVERY,
    Alarm,
    Schedule,
    Timer,
    run_until_stopped,
)
from .gate import Gate
from .heartbeat import heartbeat
from .notifications import send_notifications
from .outcomes import PassReport, describe, error_kind
from .photos import push_photos
from .poll import poll
from .refresh_types import refresh_if_due
from .resolve import resolve
from .schedule import poll_due, submit_due, submitting
from .status_notes import StatusNotes
from .submit import submit

log = logging.getLogger(__name__)

# The tables whose rows a worker claims (their leases renewed while a pass runs).
LEASED = (
    tables.issues,
    tables.comments,
    tables.attachments,
    tables.poll_batches,
    tables.notifications,
)
SUBMIT_STEPS: tuple[Step, ...] = (submit, resolve, push_comments, push_photos)
POLL_STEPS: tuple[Step, ...] = (poll,)
ALL_STEPS: tuple[Step, ...] = (submit, resolve, poll, push_comments, push_photos)


@dataclass
class Engine:
    """A sync worker. ``clock``, ``owner`` and ``timer`` (what a long run sleeps on) are
    injectable for tests and the demo."""

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
    # Liveness: when the latest pass with the submit steps ended, and when the poll loop last
    # went through each integration (polled it, found no round due, or found it down).
    last_submit_at: datetime | None = None
    last_poll_at: dict[str, datetime] = field(default_factory=dict)
    running_since: datetime | None = None  # when run_continuously began
    _gate: Gate = field(init=False, repr=False)
    _notes: StatusNotes = field(init=False, repr=False)
    # The plugins' checks, by integration name, with the settings they were made on.
    _checked: dict[str, tuple[Integration, Geocoder | None, list[str]]] = field(
        default_factory=dict, repr=False
    )
    _types_waits: dict[str, datetime] = field(default_factory=dict, repr=False)
    _skipped_said: set[str] = field(default_factory=set, repr=False)
    _started: bool = field(default=False, repr=False)
    _starting: threading.Lock = field(default_factory=threading.Lock, repr=False)
    timer: Timer = field(default_factory=Timer, repr=False)
    _submit_alarm: Alarm = field(init=False, repr=False)
    _poll_alarm: Alarm = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.host.keep_state_in(self.store)  # Integration.state: shared by every worker
        self._gate = Gate(self.store, self.host, self.clock)
        self._notes = StatusNotes(self.store, self.clock)
        self._submit_alarm = Alarm(self.timer)
        self._poll_alarm = Alarm(self.timer)

    # -- the pass ----------------------------------------------------------------------------

    def run_pass(
        self,
        steps: Sequence[Step] = ALL_STEPS,
        *,
        archive: bool = True,
        refresh_types: bool = False,
        notify: bool = True,
    ) -> PassReport:
        """One pass over every integration (by default the whole pass: every step, then
        the residents' emails, then archive); never raises for what a plugin or a remote
        system does.

        :param refresh_types: first reload each integration's request types when due (a
            long run's poll passes); a failure is one error of the pass.
        :param notify: email residents what is due (a long run's submit passes do).
        """
        settings = self.settings  # the whole pass on one config, whatever a reload does
        with heartbeat(self.store, LEASED, self.owner, self.lease, self.clock):
            report = self._pass(settings, steps, archive, refresh_types, notify)
        self.last_pass_at = now = self.clock()
        if submit in steps:
            self.last_submit_at = now
        if poll in steps:
            self.last_poll_at.update(dict.fromkeys(settings.integrations, now))
        return report

    def _pass(
        self,
        settings: Settings,
        steps: Sequence[Step],
        archive: bool,
        refresh_types: bool,
        notify: bool,
    ) -> PassReport:
        report = PassReport()
        started = time.perf_counter()
        self._start(settings, report)
        ctx = self._context(settings, report)
        for integration in settings.integrations.values():
            began, errors, problems = time.perf_counter(), report.errors, len(report.problems)
            if refresh_types:
                self._refresh_types(settings, report, integration)
            ran = self._ready(settings, integration, report)
            if ran:
                self._run_steps(ctx, integration, steps)
            # How it fared, for `scf status`: its steps, or a failure before them (its
            # request types, its plugin's checks); a trip is the circuit's to say.
            if ran or (report.errors > errors and not ctx.tripped(integration)):
                new_problems = report.problems[problems:]
                self._notes.note(
                    integration.name,
                    "integration",
                    busy=report.errors > errors or report.busy,
                    seconds=time.perf_counter() - began,
                    errors=report.errors - errors,
                    last_error=new_problems[-1] if new_problems else None,
                )
            if poll in steps:  # the poll loop went through it, whatever it found
                self._notes.note(
                    health.loop_row("poll", integration.name),
                    health.LOOP,
                    busy=report.busy,
                    seconds=time.perf_counter() - began,
                    errors=report.errors - errors,
                )
        for geocoder in settings.geocoders.values():
            self._notes.note(geocoder.name, "geocoder", busy=report.busy)
        if notify and not self.stop.is_set():
            try:
                send_notifications(ctx)
            except Exception as exc:  # the store, or a bug: the integrations' work stands
                ctx.failed("notifications", exc)
        if archive and not self.stop.is_set():
            archive_step(ctx)
        report.seconds = time.perf_counter() - started
        kind = "whole" if len(steps) == len(ALL_STEPS) else steps[0].__name__
        telemetry.record_pass(kind, report.seconds, report.errors)
        # A pass that changed nothing (polling that found no news included) is at debug: the
        # submit loop goes round for each report, and liveness is in /healthz and scf status.
        counts = report.fields()
        changed = any(counts[k] for k in counts if k not in ("polled", "seconds"))
        log.log(
            logging.INFO if changed else logging.DEBUG,
            "pass: %s",
            report.summary(),
            extra={"event": "pass", **counts},
        )
        if submit in steps:
            self._notes.note(
                health.loop_row("submit"),
                health.LOOP,
                busy=report.busy,
                seconds=report.seconds,
                errors=report.errors,
            )
        return report

    def _ready(self, settings: Settings, integration: Integration, report: PassReport) -> bool:
        """Whether the integration's steps run in this pass: its settings pass its plugin's
        checks (else it is skipped, said once per config) and its circuit lets it through."""
        problems = self.settings_problems(integration, settings)
        if not problems:
            return self._gate.opens(integration, report)
        # Said once per process: the problems are checked once, and a long-running worker
        # would otherwise repeat the same line at every pass.
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
        worker stops."""
        report = ctx.report
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

    def _context(self, settings: Settings, report: PassReport) -> StepContext:
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
            settings=settings,
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

    def _start(self, settings: Settings, report: PassReport) -> None:
        """Once per engine, before its first pass: free at once the claims of dead workers on
        this machine, and say that issues linked to another environment are left alone."""
        # Under a lock, as both loops' first passes get here; done only once it went
        # through, so a store that fails the first pass leaves it to the next.
        with self._starting:
            if self._started:
                return
            collector.pace()
            with self.store.transaction() as conn:
                freed = leases.take_over_dead(conn, LEASED, self.owner, self.clock())
            lines = [line for _, line in advice.foreign_link_lines(settings, self.store)]
            self._started = True
        if freed:
            log.warning("took over %d claims of a worker on this machine that is gone", freed)
        for line in lines:
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
        if not isinstance(exc, ScfError) and log.isEnabledFor(logging.DEBUG):
            # The host's own bug in a step (a plugin's is named, and traced, by the host's
            # plugin calls): the line above says what, the traceback where.
            trace = "".join(traceback.format_exception(exc))
            log.debug("%s: traceback:\n%s", where, trace, extra=fields)

    def poll_gap(self, integration: Integration) -> timedelta:
        """How long after a poll round started the next may start."""
        if not self.continuous:
            return timedelta(0)
        return timedelta(seconds=integration.poll_interval_seconds)

    def say(self, text: str) -> None:
        """Show progress on a terminal, when there is one."""
        if self.progress:
            self.progress(text)

    def settings_problems(
        self, integration: Integration, settings: Settings | None = None
    ) -> list[str]:
        """The plugins' own checks of an integration (and its geocoder), run once per
        engine and config (``settings``, default the engine's: a reloaded config is checked
        again).

        An integration whose settings are wrong (say a 15.8 site with a State Plane srid) is
        skipped rather than sent wrong data.
        """
        settings = settings or self.settings
        geocoders = settings.geocoders
        geocoder = geocoders.get(integration.address_validation or "")
        checked = self._checked.get(integration.name)
        if checked is not None and checked[0] is integration and checked[1] is geocoder:
            return checked[2]
        try:
            problems, _ = problems_and_warnings(self.host.check_integration(integration))
            if geocoder is not None:
                found, _ = problems_and_warnings(self.host.check_geocoder(geocoder))
                problems += [f"geocoder {geocoder.name}: {p}" for p in found]
        except ScfError as exc:  # a plugin's bug in its checks too (the host names it)
            problems = [str(exc)]
        self._checked[integration.name] = (integration, geocoder, problems)
        return problems

    def use(self, settings: Settings) -> None:
        """Work on ``settings`` (a reloaded config) from the next pass on; a pass under way
        ends on the config it began with. The plugins' checks run again on the new settings,
        and an integration they skip is said again."""
        self.settings = settings
        self._skipped_said = set()
        self.nudge()  # integrations, intervals or routes may have changed what is due

    # -- a long run --------------------------------------------------------------------------

    def run_continuously(
        self,
        on_report: Callable[[str, PassReport], None],
        *,
        submit_every: float = SUBMIT_EVERY,
        poll_check_every: float = POLL_CHECK_EVERY,
        between: Callable[[], None] | None = None,
        stop_grace: float = STOP_GRACE,
        check_every: float = CHECK_EVERY,
        idle_every: float = IDLE_EVERY,
    ) -> None:
        """Run until :attr:`stop` is set: new reports are submitted (and comments pushed) on
        one thread, polling keeps its own cadence (``poll_interval_seconds``, a round shared
        with other workers) on another; a long poll never delays a submit. Request types are
        reloaded by the poll passes when due.

        Each loop sleeps until its work is due (:mod:`.schedule`), or until :meth:`wake`, or
        until another process stores work: on PostgreSQL at once (``LISTEN``), on SQLite
        within ``check_every`` seconds (see :mod:`scf_plugins.store.signals`). It makes a pass
        at least every ``idle_every`` seconds, and at most every ``submit_every``
        (``poll_check_every``) unless woken.

        :param on_report: called with ``"submit"`` or ``"poll"`` and each pass that did
            something or met an error.
        :param between: run every ``check_every`` seconds (``scf sync`` and ``scf serve``
            look for a changed config there, and call :meth:`use`).
        :param stop_grace: how long each loop's current pass may take once stopped.
        """
        self.continuous = True
        self.running_since = self.clock()
        watch = signals.Watch(self.store.engine, self.nudge, self.stop)
        try:
            run_until_stopped(
                lambda: self.run_pass(SUBMIT_STEPS, archive=False),
                self._poll_pass,
                on_report,
                stop=self.stop,
                schedule=Schedule(
                    self._seconds_until(self.next_submit_at),
                    self._seconds_until(self.next_poll_at),
                    self.timer,
                    self._submit_alarm,
                    self._poll_alarm,
                    watch.look,
                    check_every,
                    idle_every,
                ),
                submit_every=submit_every,
                poll_check_every=poll_check_every,
                between=between,
                stop_grace=stop_grace,
            )
        finally:
            watch.close()

    def _poll_pass(self) -> PassReport:
        report = self.run_pass(POLL_STEPS, refresh_types=True, notify=False)
        if report.busy:
            self._submit_alarm.nudge()  # what it applied may have queued residents' emails
        return report

    def _seconds_until(self, due: Callable[[], datetime | None]) -> Callable[[], float | None]:
        def seconds() -> float | None:
            at = due()
            return None if at is None else (at - self.clock()).total_seconds()

        return seconds

    def next_submit_at(self) -> datetime | None:
        """When the submit passes next have something to do (None: nothing waits); see
        :mod:`.schedule`."""
        settings = self.settings
        ready = [
            submitting(self.host, integration)
            for integration in settings.integrations.values()
            if not self.settings_problems(integration, settings)
        ]
        with self.store.read() as conn:
            return submit_due(conn, ready, settings, self._gate.pauses())

    def next_poll_at(self) -> datetime | None:
        """When the poll passes next have something to do (None: nothing waits); see
        :mod:`.schedule`."""
        settings = self.settings
        ready = [
            integration
            for integration in settings.integrations.values()
            if not self.settings_problems(integration, settings)
        ]
        with self.store.read() as conn:
            return poll_due(
                conn,
                ready,
                settings,
                self.clock(),
                gap={integration.name: self.poll_gap(integration) for integration in ready},
                paused=self._gate.pauses(),
                types_waits=dict(self._types_waits),
            )

    def refresh_types_if_due(self) -> None:
        """Reload each integration's request types when they are older than its
        ``request_types_refresh_hours`` (see :mod:`.refresh_types`); a failure is logged."""
        self._refresh_types(self.settings, PassReport())

    def _refresh_types(
        self, settings: Settings, report: PassReport, only: Integration | None = None
    ) -> None:
        def failed(integration: Integration, exc: Exception) -> None:
            where = f"request types of {integration.name} not refreshed"
            self.failed(report, where, exc, integration=integration.name)

        refresh_if_due(
            settings,
            self.host,
            self.store,
            self.clock(),
            lambda integration: self.settings_problems(integration, settings),
            failed,
            self._types_waits,
            only=only,
        )

    def wake(self) -> None:
        """Submit now: a report was just stored (``scf serve``'s door and console)."""
        self._submit_alarm.ring()

    def nudge(self) -> None:
        """Ask again when work is due: the store or the config changed (safe from any
        thread)."""
        self._submit_alarm.nudge()
        self._poll_alarm.nudge()

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
