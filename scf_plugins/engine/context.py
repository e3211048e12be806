"""What a step of a pass may use: :class:`StepContext`, built by the loop once per pass.

Every step (:mod:`.submit`, :mod:`.resolve`, :mod:`.poll`, :mod:`.comments`,
:mod:`.photos`, :mod:`.archive`, and :mod:`.outbox` which the push steps share) takes this
context and the integration it works on, never the engine itself: a step can be read, and
run in a test, with a context built by hand. The callbacks are the engine's bookkeeping
that outlives one step (which integrations are down, which asked to be left alone, the
failures counted in the pass report); the loop binds them to the pass and its report.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from ..config.settings import Settings
from ..models import Integration
from ..net import deadlines
from ..plugins import PluginHost
from ..store.store import Store
from .outcomes import PassReport


class Failed(Protocol):
    """Count and log an error met during the pass (``where`` names what failed)."""

    def __call__(
        self,
        where: str,
        exc: BaseException,
        *,
        integration: str | None = None,
        issue_id: int | None = None,
    ) -> None:
        """Record the failure in the pass report, with the integration and issue as fields."""


@dataclass(frozen=True)
class StepContext:
    """Everything a step may use; nothing else of the engine is within its reach.

    :param store: where issues, comments, photos and claims live.
    :param host: the plugins, called on worker threads (:meth:`workers`).
    :param settings: the loaded configuration.
    :param report: what this pass did so far; steps add their counts and problems.
    :param clock: the time now (injectable for tests and the demo).
    :param owner: this worker's id, the owner of the leases it takes.
    :param lease: how long a claim lasts (the loop renews it while the pass runs).
    :param stop: set when the worker is asked to stop: no new work starts.
    :param failed: count and log an error (it goes to :attr:`report`).
    :param trip: the integration is down as a whole: open its circuit, stop its steps.
    :param tripped: whether the integration went down during this pass.
    :param pause: leave the integration alone as long as its server asked (``Retry-After``).
    :param paused: until when the integration asked to be left alone, or None.
    :param poll_gap: how long after a poll round started the next may start.
    :param say: show progress on a terminal, when there is one.
    """

    store: Store
    host: PluginHost
    settings: Settings
    report: PassReport
    clock: Callable[[], datetime]
    owner: str
    lease: timedelta
    stop: threading.Event
    failed: Failed
    trip: Callable[[Integration, BaseException], None]
    tripped: Callable[[Integration], bool]
    pause: Callable[[Integration, BaseException], None]
    paused: Callable[[Integration], datetime | None]
    poll_gap: Callable[[Integration], timedelta]
    say: Callable[[str], None]

    def workers(self, prefix: str, count: int) -> ThreadPoolExecutor:
        """Threads for remote calls, bound to :attr:`stop`: a worker asked to stop abandons
        the calls they have in flight (each fails like a timeout)."""
        return ThreadPoolExecutor(
            max_workers=count,
            thread_name_prefix=prefix,
            initializer=deadlines.bind,
            initargs=(self.stop,),
        )


Step = Callable[[StepContext, Integration], None]
"""A step of a pass for one integration; its ``__name__`` names it in errors and metrics."""
