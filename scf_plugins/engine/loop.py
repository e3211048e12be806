"""The sync engine: one pass keeps every local issue in step with its remote request.

:func:`run_pass` is the whole lifecycle as one function call; each step has its module
(``submitting``, ``polling``, ``commenting``):

1. **Submit** Open issues routed to an integration (address validation first where
   configured): success acknowledges the issue; failures are recorded with a back-off.
2. **Poll** the Acknowledged issues of each integration in batches, and apply what changed:
   closing, cancelling, activity messages, remote ``To SCF:`` comments.
3. **Push** local comments of Acknowledged issues.
4. **Archive** issues closed longer than ``archive_after_days``, and purge the photos of
   issues archived longer than ``[images] purge_after_days`` (``retention``).

Remote calls run outside any transaction, on up to ``max_concurrency`` threads per
integration; every write happens on the calling thread, one short transaction at a time, so
SQLite keeps a single writer and a crash loses at most the calls in flight, which the next
pass reconciles (``submit`` looks before it creates again).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..config.settings import Settings
from ..errors import ConfigError, ScfError
from ..models import Integration, problems_and_warnings
from ..net import deadlines
from ..ops import advice, status, telemetry
from ..plugins import PluginHost
from ..store import tables
from ..store.store import Store
from ..timeutil import utcnow
from . import circuits, leases, retention, transitions
from . import comments as commenting
from . import photos as attaching
from . import poll as polling
from . import resolve as resolving
from . import submit as submitting
from .outcomes import PassReport, describe, error_kind

log = logging.getLogger(__name__)

LEASED = (tables.issues, tables.comments, tables.attachments, tables.poll_batches)  # claimed work
SUBMIT_EVERY = 0.5  # seconds: how soon a report stored by another process is submitted
POLL_CHECK_EVERY = 2.0  # seconds: how often a worker asks whether a poll round is due
NOTE_IDLE_EVERY = 30.0  # seconds: how often an idle worker refreshes its status rows
NOTE_BUSY_EVERY = 5.0  # seconds: how often a busy one does
CIRCUIT_FRESH = 1.0  # seconds a read of the circuits table is used before it is read again

Step = Callable[["Engine", Integration, PassReport], None]
SUBMIT_STEPS: tuple[Step, ...] = (
    submitting.submit,
    resolving.resolve,
    commenting.push_comments,
    attaching.push_photos,
)
POLL_STEPS: tuple[Step, ...] = (polling.poll,)
ALL_STEPS: tuple[Step, ...] = (
    submitting.submit,
    resolving.resolve,
    polling.poll,
    commenting.push_comments,
    attaching.push_photos,
)


@dataclass
class Engine:
    """Everything a pass needs. ``clock`` and ``owner`` are injectable for tests and the demo."""

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
    _settings_problems: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _advised: bool = field(default=False, repr=False)
    _paused: dict[str, datetime] = field(default_factory=dict, repr=False)
    _took_over: bool = field(default=False, repr=False)
    _wake: threading.Event = field(default_factory=threading.Event, repr=False)
    last_pass_at: datetime | None = None  # when the latest pass (of any steps) ended
    _skipped_said: set[str] = field(default_factory=set, repr=False)
    _tripped: set[str] = field(default_factory=set, repr=False)
    _noted: dict[str, float] = field(default_factory=dict, repr=False)
    _circuit_seen: dict[str, float] = field(default_factory=dict, repr=False)

    def workers(self, prefix: str, count: int) -> ThreadPoolExecutor:
        """Threads for remote calls, bound to the stop event: :meth:`request_stop` abandons
        the calls they have in flight."""
        return ThreadPoolExecutor(
            max_workers=count,
            thread_name_prefix=prefix,
            initializer=deadlines.bind,
            initargs=(self.stop,),
        )

    def request_stop(self) -> None:
        """Stop soon: no new step starts, and remote calls in flight are abandoned (each
        fails like a timeout, so a create or comment is looked up before any retry)."""
        self.stop.set()
        deadlines.abandon(self.stop)

    def poll_gap(self, integration: Integration) -> timedelta:
        """How long after a poll round started the next may start."""
        if not self.continuous:
            return timedelta(0)
        return timedelta(seconds=integration.poll_interval_seconds)

    def pause(self, integration: Integration, exc: BaseException) -> None:
        """Leave the integration alone for as long as its server asked (``Retry-After``),
        within the transient back-off cap."""
        seconds = getattr(exc, "retry_after", None)
        if seconds:
            cap = transitions.BACKOFF["transient"][1]
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

    def _circuit_allows(self, integration: Integration, report: PassReport) -> bool:
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

    def say(self, text: str) -> None:
        """Show progress on a terminal, when there is one."""
        if self.progress:
            self.progress(text)

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
        integration and issue as fields for ``--log-format json``)."""
        report.errors += 1
        text = describe(exc)
        report.problems.append(f"{where}: {text}")
        fields: dict[str, Any] = {"error_kind": error_kind(exc)}
        if integration is not None:
            fields["integration"] = integration
        if issue_id is not None:
            fields["issue_id"] = issue_id
        log.warning("%s: %s", where, text, extra=fields)

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

    # -- 4. archive --------------------------------------------------------------------------

    def archive(self, report: PassReport) -> None:
        """Step 4: Closed -> Archived after ``archive_after_days``; then photos purged
        ``purge_after_days`` after their issue was archived, where that is set."""
        after = timedelta(days=self.settings.organization.archive_after_days)
        with self.store.transaction() as conn:
            archived = transitions.archive(conn, self.clock(), after)
        report.archived += archived
        if archived:
            telemetry.record_transition("*", "archived")
        keep = self.settings.images.purge_after_days
        if keep is not None:
            purged = retention.purge_photos(
                self.store.transaction, self.clock(), timedelta(days=keep)
            )
            report.photos_purged += purged
            if purged:
                log.info("purged the bytes of %s photos archived over %g days ago", purged, keep,
                         extra={"photos_purged": purged})  # fmt: skip

    # -- the pass ----------------------------------------------------------------------------

    def advise(self, report: PassReport) -> None:
        """Once per engine: issues linked to another environment are left alone; say so."""
        if self._advised:
            return
        self._advised = True
        for _, line in advice.foreign_link_lines(self.settings, self.store):
            report.problems.append(line)
            log.warning("%s", line)

    def take_over(self) -> None:
        """Once per engine: free at once the claims of dead workers on this machine."""
        if self._took_over:
            return
        self._took_over = True
        with self.store.transaction() as conn:
            freed = leases.take_over_dead(conn, LEASED, self.owner, self.clock())
        if freed:
            log.warning("took over %d claims of a worker on this machine that is gone", freed)

    @contextlib.contextmanager
    def heartbeat(self) -> Iterator[None]:
        """Renew this worker's leases every third of a lease while the block runs, so a slow
        pass never has its work claimed by another worker, and the lease can stay short."""
        done = threading.Event()
        period = max(0.2, self.lease.total_seconds() / 3)

        def beat() -> None:
            while not done.wait(period):
                try:
                    with self.store.transaction() as conn:
                        until = self.clock() + self.lease
                        for table in LEASED:
                            leases.renew(conn, table, self.owner, until)
                except Exception as exc:  # the next beat tries again; leases last a while
                    log.warning("could not renew leases: %s", describe(exc))

        thread = threading.Thread(target=beat, name="lease-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def run_pass(self, steps: Sequence[Step] = ALL_STEPS, *, archive: bool = True) -> PassReport:
        """One pass over every integration (by default the whole pass: submit, poll, push
        comments, then archive); never raises for a remote failure."""
        with self.heartbeat():
            report = self._run_pass(steps, archive)
        self.last_pass_at = self.clock()
        return report

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

        def submitter() -> None:
            while not self.stop.is_set():
                report = self.run_pass(SUBMIT_STEPS, archive=False)
                if report.busy:
                    on_report("submit", report)
                self._wake.wait(submit_every)
                self._wake.clear()

        thread = threading.Thread(target=submitter, name="submitter", daemon=True)
        thread.start()
        try:
            while not self.stop.is_set():
                self.refresh_types_if_due()
                report = self.run_pass(POLL_STEPS)
                if report.busy:
                    on_report("poll", report)
                self.stop.wait(poll_check_every)
        finally:
            self._wake.set()
            thread.join()

    def refresh_types_if_due(self) -> None:
        """Reload each integration's request types when they are older than its
        ``request_types_refresh_hours`` (shared: whichever worker sees it due first does it).
        A type that disappeared keeps its open issues; new reports of it are refused."""
        from sqlalchemy import func, select

        from ..intake import catalog

        now = self.clock()
        with self.store.read() as conn:
            fetched = dict(
                conn.execute(
                    select(
                        tables.request_types.c.integration,
                        func.max(tables.request_types.c.fetched_at),
                    ).group_by(tables.request_types.c.integration)
                ).all()
            )
        for integration in self.settings.integrations.values():
            hours = integration.request_types_refresh_hours
            last = fetched.get(integration.name)
            if not hours or last is None:
                continue  # never, or never loaded: `scf request-types` (or a report) loads them
            last = last if last.tzinfo else last.replace(tzinfo=UTC)
            if now - last < timedelta(hours=hours) or self.settings_problems(integration):
                continue
            result = catalog.refresh_one(self.settings, self.host, self.store, integration)
            if result is not None:
                log.info(
                    "request types of %s refreshed: %d",
                    integration.name,
                    result,
                    extra={"integration": integration.name, "event": "types-refreshed"},
                )

    def wake(self) -> None:
        """Submit now: a report was just stored (``scf serve``)."""
        self._wake.set()

    def _run_pass(self, steps: Sequence[Step], archive: bool) -> PassReport:
        report = PassReport()
        started = time.perf_counter()
        self.take_over()
        self.advise(report)
        for integration in self.settings.integrations.values():
            problems = self.settings_problems(integration)
            if problems:
                # Said once per process: the problems are checked once, and a long-running
                # worker would otherwise repeat the same line twice a second.
                if integration.name not in self._skipped_said:
                    self._skipped_said.add(integration.name)
                    self.failed(
                        report,
                        f"{integration.name} skipped",
                        ConfigError(f"{'; '.join(problems)}; fix it (`scf config check` lists it)"),
                        integration=integration.name,
                    )
                continue
            if not self._circuit_allows(integration, report):
                continue
            began, errors_before, problems_before = (
                time.perf_counter(),
                report.errors,
                len(report.problems),
            )
            for step in steps:
                if self.tripped(integration):
                    break
                until = self.paused(integration)
                if until is not None:
                    report.problems.append(
                        f"{integration.name}: waiting until {until:%H:%M:%S} UTC, as its "
                        f"server asked (Retry-After)"
                    )
                    break
                if self.stop.is_set():
                    break
                try:
                    step(self, integration, report)
                except Exception as exc:  # one broken integration never blocks the others
                    self.failed(
                        report,
                        f"{integration.name} {step.__name__}",
                        exc,
                        integration=integration.name,
                    )
            new_problems = report.problems[problems_before:]
            self._note(
                integration.name,
                "integration",
                busy=report.errors > errors_before or report.busy,
                seconds=time.perf_counter() - began,
                errors=report.errors - errors_before,
                last_error=new_problems[-1] if new_problems else None,
            )
        for geocoder in self.settings.geocoders.values():
            self._note(geocoder.name, "geocoder", busy=report.busy)
        if archive and not self.stop.is_set():
            self.archive(report)
        report.seconds = time.perf_counter() - started
        kind = "whole" if len(steps) == len(ALL_STEPS) else steps[0].__name__
        telemetry.record_pass(kind, report.seconds, report.errors)
        log.info("pass: %s", report.summary(), extra={"event": "pass", **report.fields()})
        return report

    def _note(self, name: str, kind: str, *, busy: bool = True, **fields: Any) -> None:
        """Keep how ``name`` fared for ``scf status`` (never fails the pass). An idle pass is
        written at most every ``NOTE_IDLE_EVERY``, a busy one every ``NOTE_BUSY_EVERY``, one
        with errors always: a serving worker runs a pass for nearly every report, and each
        note is a write."""
        now = time.monotonic()
        every = NOTE_BUSY_EVERY if busy else NOTE_IDLE_EVERY
        if not fields.get("errors") and now - self._noted.get(name, -every) < every:
            return  # said recently enough (errors are always said)
        self._noted[name] = now
        try:
            with self.store.transaction() as conn:
                status.note(conn, name, kind, now=self.clock(), **fields)
        except Exception as exc:  # a status row is not worth a failed pass
            log.warning("could not record the status of %s: %s", name, describe(exc))


def run_pass(settings: Settings, host: PluginHost, store: Store, **options: Any) -> PassReport:
    """Run one sync pass (submit, poll, push comments, archive) for every integration.

    :param options: :class:`Engine` fields (``clock``, ``owner``, ``lease``, ``stop``,
        ``progress``).
    :returns: what the pass did, including every error it met (it never raises for them).
    """
    return Engine(settings, host, store, **options).run_pass()
