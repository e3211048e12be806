"""Running passes without end (``scf sync``, ``scf serve``): new reports are submitted on one
thread within ``submit_every`` seconds of being stored (or at once when woken), while the
calling thread keeps the poll cadence; a long poll never delays a submit."""

from __future__ import annotations

import threading
from collections.abc import Callable

from .outcomes import PassReport

SUBMIT_EVERY = 0.5  # seconds: how soon a report stored by another process is submitted
POLL_CHECK_EVERY = 2.0  # seconds: how often a worker asks whether a poll round is due


def run_until_stopped(
    submit_pass: Callable[[], PassReport],
    poll_pass: Callable[[], PassReport],
    on_report: Callable[[str, PassReport], None],
    *,
    stop: threading.Event,
    wake: threading.Event,
    submit_every: float = SUBMIT_EVERY,
    poll_check_every: float = POLL_CHECK_EVERY,
) -> None:
    """Run ``submit_pass`` on a thread of its own and ``poll_pass`` on this one until
    ``stop`` is set; ``wake`` cuts the submitter's wait short.

    :param on_report: called with ``"submit"`` or ``"poll"`` and each pass that did
        something or met an error.
    """

    def submitter() -> None:
        while not stop.is_set():
            report = submit_pass()
            if report.busy:
                on_report("submit", report)
            wake.wait(submit_every)
            wake.clear()

    thread = threading.Thread(target=submitter, name="submitter", daemon=True)
    thread.start()
    try:
        while not stop.is_set():
            report = poll_pass()
            if report.busy:
                on_report("poll", report)
            stop.wait(poll_check_every)
    finally:
        wake.set()
        thread.join()
