"""Waiting for an event, not for time: :func:`wait_for` polls a condition until it holds or a
deadline passes, and fails naming what it waited for.

A test that sleeps "long enough" for another thread or process is slow when the machine is
fast and flaky when it is slow; one that waits for what it needs (an emulator's call count, a
row, a log line, a port, a file) is neither.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Short enough that a test waits about as long as the event takes; long enough that the
# waiting thread leaves the others (the server it waits on) the CPU.
_INTERVAL = 0.005
_MAX_INTERVAL = 0.05


def wait_for(predicate: Callable[[], T], timeout: float = 10.0, what: str = "the condition") -> T:
    """Call ``predicate`` until it returns something true, and return that.

    :param predicate: checked at once, then ever less often (5 ms up to 50 ms apart).
    :param timeout: seconds before giving up.
    :param what: what is awaited, in words ("the emulator's second upload"): the failure
        names it.
    :raises AssertionError: when the deadline passes first, naming ``what``, the timeout and
        the last value seen, so the test fails with its own message, not a later one.
    """
    deadline = time.monotonic() + timeout
    interval = _INTERVAL
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {what} (last seen: {value!r})"
            )
        time.sleep(interval)
        interval = min(interval * 2, _MAX_INTERVAL)
