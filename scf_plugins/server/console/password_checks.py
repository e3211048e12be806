"""Checking a sign-in's password on threads of its own, a few at a time.

An Argon2 verify at the library's costs takes about 64 MiB and 0.1 to 0.5 s of a core. Run on
Starlette's shared thread pool (40 threads), anonymous sign-ins sent at once could hold every
thread and some 2.5 GiB, and the Open311 door, whose handlers need those threads, would stall.
So a sign-in's check runs on a limiter of its own, never on the shared one: :data:`SLOTS` at
once for anyone, and :data:`KEPT` more kept for browsers that have signed in here before (a
flood from many addresses can take every slot open to anyone, but not those). A sign-in that
finds its slots taken is refused at once (:class:`Busy`: the sign-in page answers 503 with
``Retry-After``), never queued, so a flood costs bounded memory and threads. One address may
hold all slots open to anyone but one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

SLOTS = 2  # two checks at once for anyone: about 128 MiB, each about as fast as alone
KEPT = 1  # and one more for a browser that has signed in before
T = TypeVar("T")


class Busy(Exception):
    """Every slot a sign-in from this address may take is in use: try again shortly."""


class PasswordChecks:
    """At most ``slots`` password checks at once for anyone, ``slots - 1`` (at least one) of
    them for any one client address, and ``kept`` more for browsers known to have signed in
    before; on threads of their own."""

    def __init__(self, slots: int = SLOTS, kept: int = KEPT) -> None:
        self.slots = slots
        self.kept = kept
        self.per_address = max(1, slots - 1)
        self._threads = anyio.CapacityLimiter(slots + kept)
        self._taken = 0
        self._kept_taken = 0
        self._by_address: dict[str, int] = {}
        self._mutex = threading.Lock()

    async def run(self, address: str, work: Callable[..., T], *args: Any, known: bool = False) -> T:
        """``work(*args)`` on a thread of the checks' own, for a sign-in from ``address``;
        ``known`` when the browser has signed in before (it may take a kept slot).

        :raises Busy: every slot it may take is in use.
        """
        kept = self._enter(address, known)
        try:
            return await anyio.to_thread.run_sync(work, *args, limiter=self._threads)
        finally:
            # Once its thread has started, run_sync waits for it even when cancelled, so the
            # slot is given back only when the check is over.
            self._leave(address, kept)

    def _enter(self, address: str, known: bool) -> bool:
        """Take a slot (True: a kept one) or raise :class:`Busy`."""
        with self._mutex:
            mine = self._by_address.get(address, 0)
            if self._taken < self.slots and mine < self.per_address:
                self._taken += 1
                self._by_address[address] = mine + 1
                return False
            if known and self._kept_taken < self.kept:
                self._kept_taken += 1
                return True
            raise Busy()

    def _leave(self, address: str, kept: bool) -> None:
        with self._mutex:
            if kept:
                self._kept_taken -= 1
                return
            self._taken -= 1
            left = self._by_address.pop(address, 1) - 1
            if left:
                self._by_address[address] = left
