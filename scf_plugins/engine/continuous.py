"""Running passes without end (``scf sync``, ``scf serve``): a submit loop and a poll loop on a
thread each, each sleeping until its work is due; a long poll never delays a submit.

After each pass a loop asks when its work is next due (:class:`Schedule`, from
:mod:`.schedule`) and sleeps until then, or until its :class:`Alarm` rings (run a pass now: a
report stored by this process's door or console) or is nudged (ask again: the store or the
config changed). Whatever the schedule says, a loop makes a pass at least every
``idle_every`` seconds (its liveness for ``/healthz`` and ``scf status``, and a safety net),
and at most one every ``submit_every`` (``poll_check_every``) seconds unless rung, so a store
that fails, or work the schedule misjudges, never makes it spin.

The thread that runs the loops ticks every ``check_every`` seconds: it looks for a changed
config (``between``) and asks the schedule's ``look`` whether another process changed the
store (on SQLite; on PostgreSQL a listener nudges the loops itself), and nudges both loops when
so.

The loops outlive whatever a pass raises: a pass that fails as a whole (the store gone for a
moment, a bug) is one warning line (said again only when the failure changes; its traceback
at debug), counted as a pass with one error, and the loop goes on after its usual wait.
Stopping never waits for ever: ``stop`` is set before the threads are joined, and each loop
gets ``stop_grace`` from that moment to finish its step (a thread still busy then is left, said
in one line). The loops finish their steps side by side, so stopping takes at most
``stop_grace`` in all, not once per loop.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from ..net import deadlines
from ..ops import telemetry
from .outcomes import PassReport, describe

log = logging.getLogger(__name__)

SUBMIT_EVERY = 0.5  # seconds: the shortest gap between two submit passes, unless rung
POLL_CHECK_EVERY = 2.0  # seconds: the shortest gap between two poll passes
CHECK_EVERY = 0.5  # seconds between looks for a changed store (SQLite) and config
IDLE_EVERY = 30.0  # seconds: the longest a loop goes without a pass, whatever is due
STOP_GRACE = 120.0  # seconds a loop's current step may take to finish once asked to stop


class Timer:
    """Real time, as the loops read it and sleep on it (tests give them a simulated one)."""

    def monotonic(self) -> float:
        """Seconds on a clock that only goes forward."""
        return time.monotonic()

    def condition(self) -> threading.Condition:
        """A condition for an :class:`Alarm` to sleep on."""
        return threading.Condition()

    def wait_for(
        self, cond: threading.Condition, ready: Callable[[], bool], seconds: float
    ) -> None:
        """Wait on ``cond`` (held by the caller) until ``ready()`` or ``seconds`` have passed."""
        cond.wait_for(ready, seconds)

    def pause(self, stop: threading.Event, seconds: float) -> bool:
        """Wait ``seconds`` or until ``stop`` is set; whether it is."""
        return stop.wait(seconds)


class Alarm:
    """What a sleeping loop waits on besides its time: :meth:`ring` (make a pass now) or
    :meth:`nudge` (ask again when the work is due). Either, made during a pass, holds for the
    sleep after it."""

    def __init__(self, timer: Timer | None = None) -> None:
        self.timer = timer or Timer()
        self._cond = self.timer.condition()
        self._rung = False
        self._nudged = False

    def ring(self) -> None:
        """Make a pass now (safe from any thread)."""
        with self._cond:
            self._rung = True
            self._cond.notify_all()

    def nudge(self) -> None:
        """Ask again when the work is due (safe from any thread)."""
        with self._cond:
            self._nudged = True
            self._cond.notify_all()

    def sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when rung (then or before), False when nudged or
        when the time has come."""
        with self._cond:
            self.timer.wait_for(self._cond, lambda: self._rung or self._nudged, seconds)
            rung = self._rung
            self._rung = self._nudged = False
            return rung


def _always() -> float:
    return 0.0


@dataclass
class Schedule:
    """When the loops sleep and what wakes them. The default has everything always due, so
    each loop makes a pass whenever its gap allows (a test of the loops themselves).

    :param submit_due: seconds until the submit loop's work is due (None: nothing is).
    :param look: asked every ``check_every`` seconds whether the store changed.
    """

    submit_due: Callable[[], float | None] = _always
    poll_due: Callable[[], float | None] = _always
    timer: Timer = field(default_factory=Timer)
    submit_alarm: Alarm | None = None
    poll_alarm: Alarm | None = None
    look: Callable[[], bool] = lambda: False
    check_every: float = CHECK_EVERY
    idle_every: float = IDLE_EVERY

    def __post_init__(self) -> None:
        self.submit_alarm = self.submit_alarm or Alarm(self.timer)
        self.poll_alarm = self.poll_alarm or Alarm(self.timer)

    @property
    def alarms(self) -> tuple[Alarm, Alarm]:
        """The submit loop's alarm and the poll loop's."""
        assert self.submit_alarm is not None and self.poll_alarm is not None  # __post_init__
        return self.submit_alarm, self.poll_alarm


@dataclass
class _Failures:
    """What a loop last failed with, so that a failure repeated at every pass is said once."""

    kind: str
    said: str | None = None

    def failed(self, exc: Exception) -> PassReport:
        """Say the failure (once while it stays the same) and count it as a pass error."""
        text = describe(exc)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("the %s pass failed; traceback:\n%s", self.kind,
                      "".join(traceback.format_exception(exc)))  # fmt: skip
        if text != self.said:
            log.warning(
                "the %s pass failed: %s; the loop goes on",
                self.kind,
                text,
                extra={"event": "pass-failed", "error_kind": "definite"},
            )
            self.said = text
        telemetry.record_pass(self.kind, 0.0, 1)
        return PassReport(errors=1, problems=[f"{self.kind} pass: {text}"])

    def passed(self) -> None:
        """A pass went through: a failure after it is said again."""
        if self.said is not None:
            log.warning("the %s pass works again", self.kind, extra={"event": "pass-recovered"})
            self.said = None


@dataclass
class _Loop:
    """One loop: run ``one_pass`` until ``stop``, sleeping on ``alarm`` between passes until
    ``due`` says (within ``every`` and ``idle_every``, see the module)."""

    kind: str
    one_pass: Callable[[], PassReport]
    on_report: Callable[[str, PassReport], None]
    stop: threading.Event
    alarm: Alarm
    every: float
    due: Callable[[], float | None]
    idle_every: float
    _failures: _Failures = field(init=False)

    def __post_init__(self) -> None:
        self._failures = _Failures(self.kind)

    def run(self) -> None:
        """The thread's body: passes until ``stop``; whatever escapes ends every loop."""
        deadlines.bind(self.stop)  # a call this thread makes is abandoned on stop too
        try:
            while not self.stop.is_set():
                try:
                    report = self.one_pass()
                except Exception as exc:  # the loop outlives any pass
                    report = self._failures.failed(exc)
                else:
                    self._failures.passed()
                if report.busy:
                    self._guarded(self.on_report, self.kind, report)
                self._rest(self.alarm.timer.monotonic())
        except BaseException:
            log.error("the %s loop ended unexpectedly; stopping", self.kind, exc_info=True)
            self.stop.set()  # one loop gone: the process stops rather than half-runs
            raise

    def _rest(self, ended: float) -> None:
        """Sleep until the next pass: rung, or its work due (not before ``every`` after the
        last pass ended), or ``idle_every`` after it at the latest."""
        timer = self.alarm.timer
        while not self.stop.is_set():
            now = timer.monotonic()
            wait = min(ended + self.idle_every, max(ended + self.every, now + self._due_in())) - now
            if wait <= 0 or self.alarm.sleep(wait):
                return

    def _due_in(self) -> float:
        """Seconds until the loop's work is due; a failure to say is "now" (the pass that
        follows meets the failure, and says it)."""
        try:
            seconds = self.due()
        except Exception as exc:
            log.debug("the %s loop could not tell when its work is due: %s", self.kind,
                      describe(exc))  # fmt: skip
            return 0.0
        return math.inf if seconds is None else seconds

    def _guarded(self, call: Callable[..., object], *args: object) -> None:
        try:
            call(*args)
        except Exception as exc:  # reporting or reloading must not end the loop
            log.warning("the %s loop: %s", self.kind, describe(exc))


def run_until_stopped(
    submit_pass: Callable[[], PassReport],
    poll_pass: Callable[[], PassReport],
    on_report: Callable[[str, PassReport], None],
    *,
    stop: threading.Event,
    schedule: Schedule | None = None,
    submit_every: float = SUBMIT_EVERY,
    poll_check_every: float = POLL_CHECK_EVERY,
    between: Callable[[], None] | None = None,
    stop_grace: float = STOP_GRACE,
) -> None:
    """Run ``submit_pass`` and ``poll_pass`` on a thread each until ``stop`` is set, each
    sleeping as ``schedule`` says; this thread ticks meanwhile (see the module).

    :param on_report: called with ``"submit"`` or ``"poll"`` and each pass that did
        something or met an error.
    :param between: run at each tick: a config reload.
    :param stop_grace: how long each thread may take to finish once ``stop`` is set.
    """
    plan = schedule or Schedule()
    submit_alarm, poll_alarm = plan.alarms
    loops = [
        _Loop("submit", submit_pass, on_report, stop, submit_alarm, submit_every,
              plan.submit_due, plan.idle_every),
        _Loop("poll", poll_pass, on_report, stop, poll_alarm, poll_check_every,
              plan.poll_due, plan.idle_every),
    ]  # fmt: skip
    threads = [threading.Thread(target=loop.run, name=loop.kind, daemon=True) for loop in loops]
    for thread in threads:
        thread.start()
    try:
        while not plan.timer.pause(stop, plan.check_every):
            _tick(plan, between)
    finally:
        stop.set()  # told to stop before being joined, whatever ended the wait
        submit_alarm.ring()
        poll_alarm.ring()
        _join(threads, stop_grace)


def _tick(plan: Schedule, between: Callable[[], None] | None) -> None:
    """Look for a changed config and a changed store; nudge both loops when the store changed
    (a changed config nudges them itself, when it is used)."""
    try:
        if between is not None:
            between()
        changed = plan.look()
    except Exception as exc:  # a reload or a look that fails must not end the run
        log.warning("could not look for changes: %s", describe(exc))
        changed = True
    if changed:
        for alarm in plan.alarms:
            alarm.nudge()


def _join(threads: list[threading.Thread], grace: float) -> None:
    """Join each thread within ``grace`` seconds of being told to stop (one deadline: they
    were told at once and stop side by side); say which did not stop in time."""
    ends = time.monotonic() + grace
    for thread in threads:
        thread.join(max(0.0, ends - time.monotonic()))
        if thread.is_alive():
            log.warning(
                "the %s loop did not stop within %g s; leaving it (its call in flight ends "
                "with the process)",
                thread.name,
                grace,
                extra={"event": "loop-not-stopped"},
            )
