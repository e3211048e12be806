"""Running passes without end (``scf sync``, ``scf serve``): new reports are submitted on one
thread within ``submit_every`` seconds of being stored (or at once when woken), while another
keeps the poll cadence; a long poll never delays a submit.

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
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from ..net import deadlines
from ..ops import telemetry
from .outcomes import PassReport, describe

log = logging.getLogger(__name__)

SUBMIT_EVERY = 0.5  # seconds: how soon a report stored by another process is submitted
POLL_CHECK_EVERY = 2.0  # seconds: how often a worker asks whether a poll round is due
STOP_GRACE = 120.0  # seconds a loop's current step may take to finish once asked to stop


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
    """One loop: run ``one_pass`` until ``stop``, waiting ``every`` seconds on ``wait``
    between passes (``before`` runs first each time)."""

    kind: str
    one_pass: Callable[[], PassReport]
    on_report: Callable[[str, PassReport], None]
    stop: threading.Event
    wait: Callable[[float], object]
    every: float
    before: Callable[[], None] | None = None
    _failures: _Failures = field(init=False)

    def __post_init__(self) -> None:
        self._failures = _Failures(self.kind)

    def run(self) -> None:
        """The thread's body: passes until ``stop``; whatever escapes ends every loop."""
        deadlines.bind(self.stop)  # a call this thread makes is abandoned on stop too
        try:
            while not self.stop.is_set():
                if self.before is not None:
                    self._guarded(self.before)
                if self.stop.is_set():
                    break
                try:
                    report = self.one_pass()
                except Exception as exc:  # the loop outlives any pass
                    report = self._failures.failed(exc)
                else:
                    self._failures.passed()
                if report.busy:
                    self._guarded(self.on_report, self.kind, report)
                self.wait(self.every)
        except BaseException:
            log.error("the %s loop ended unexpectedly; stopping", self.kind, exc_info=True)
            self.stop.set()  # one loop gone: the process stops rather than half-runs
            raise

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
    wake: threading.Event,
    submit_every: float = SUBMIT_EVERY,
    poll_check_every: float = POLL_CHECK_EVERY,
    between: Callable[[], None] | None = None,
    stop_grace: float = STOP_GRACE,
) -> None:
    """Run ``submit_pass`` and ``poll_pass`` on a thread each until ``stop`` is set; ``wake``
    cuts the submitter's wait short.

    :param on_report: called with ``"submit"`` or ``"poll"`` and each pass that did
        something or met an error.
    :param between: run on the poll thread before each poll pass (a config reload).
    :param stop_grace: how long each thread may take to finish once ``stop`` is set.
    """

    def submit_wait(seconds: float) -> None:
        wake.wait(seconds)
        wake.clear()

    loops = [
        _Loop("submit", submit_pass, on_report, stop, submit_wait, submit_every),
        _Loop("poll", poll_pass, on_report, stop, stop.wait, poll_check_every, between),
    ]
    threads = [threading.Thread(target=loop.run, name=loop.kind, daemon=True) for loop in loops]
    for thread in threads:
        thread.start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        stop.set()  # told to stop before being joined, whatever ended the wait
        wake.set()
        _join(threads, stop_grace)


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
