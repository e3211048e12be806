"""Checking a sign-in's password on threads of its own, a few at a time.

An Argon2 verify at the library's costs takes about 64 MiB and 0.1 to 0.5 s of a core. Run on
Starlette's shared thread pool (40 threads), anonymous sign-ins sent at once could hold every
thread and some 2.5 GiB, and the Open311 door, whose handlers need those threads, would stall.
So a sign-in's check runs on a limiter of its own (:data:`SLOTS` at once), never on the
shared one; a sign-in that finds every slot taken is refused at once (:class:`Busy`: the
sign-in page answers 503 with ``Retry-After``), never queued, so a flood costs bounded memory
and threads. One address may hold all slots but one, so a flood from one address does not
keep everyone else from signing in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

SLOTS = 2  # two checks at once: about 128 MiB, and each still about as fast as alone
T = TypeVar("T")


class Busy(Exception):
    """Every slot a sign-in from this address may take is in use: try again shortly."""


class PasswordChecks:
    """At most ``slots`` password checks at once, on threads of their own, and at most
    ``slots - 1`` (one when there is one slot) for any one client address."""

    def __init__(self, slots: int = SLOTS) -> None:
        self.slots = slots
        self.per_address = max(1, slots - 1)
        self._threads = anyio.CapacityLimiter(slots)
        self._taken = 0
        self._by_address: dict[str, int] = {}
        self._mutex = threading.Lock()

    async def run(self, address: str, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` on a thread of the checks' own, for a sign-in from ``address``.

        :raises Busy: every slot is in use, or as many as ``address`` may hold.
        """
        self._enter(address)
        try:
            return await anyio.to_thread.run_sync(work, *args, limiter=self._threads)
        finally:
            # Once its thread has started, run_sync waits for it even when cancelled, so the
            # slot is given back only when the check is over.
            self._leave(address)

    def _enter(self, address: str) -> None:
        with self._mutex:
            mine = self._by_address.get(address, 0)
            if self._taken >= self.slots or mine >= self.per_address:
                raise Busy()
            self._taken += 1
            self._by_address[address] = mine + 1

    def _leave(self, address: str) -> None:
        with self._mutex:
            self._taken -= 1
            left = self._by_address.pop(address, 1) - 1
            if left:
                self._by_address[address] = left
