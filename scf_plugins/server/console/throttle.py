"""Failed sign-ins per client address (an IPv6 one by its /64), in this process's memory.

An address that fails ``most`` sign-ins within ``window`` is refused sign-in for ``lock``,
whichever names it tries (the per-account lockout, in the store, is
:mod:`scf_plugins.ops.staff`'s). A sign-in is counted as a failure when it begins
(:meth:`AddressThrottle.begin`), before its password is verified, so sign-ins sent at once
cannot all pass the check before any is counted; its end (:meth:`AddressThrottle.failed`,
:meth:`AddressThrottle.succeeded`) keeps the count or takes a success back out. Each failure
is answered after a short delay that grows with the address's recent failures, up to
``max_delay`` seconds, so guessing is slow even below the lock. A success does not clear an
address's other failures: one account known to an attacker must not buy them more guesses at
the others.

At most ``MAX_ADDRESSES`` addresses are remembered, the least recently failing forgotten
first, so a crowd of addresses costs bounded memory. Several ``scf serve`` processes each
count on their own; the account lockout holds across them.
"""

from __future__ import annotations

import ipaddress
import math
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

MAX_ADDRESSES = 10_000


def client_block(address: str) -> str:
    """The unit sign-ins are counted by: an IPv4 address (an IPv4-mapped IPv6 one too), or an
    IPv6 address's /64, one subscriber's usual allocation, whose 2**64 addresses must not each
    buy ``most`` guesses."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return address


@dataclass
class _Failures:
    times: deque[datetime] = field(default_factory=deque)
    locked_until: datetime | None = None


class AddressThrottle:
    """Sign-in failures by client address: the lock, and each failure's delay.

    :param clock: the time (aware UTC), the console's own so tests can move it.
    """

    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        most: int = 20,
        window: timedelta = timedelta(minutes=15),
        lock: timedelta = timedelta(minutes=15),
        first_delay: float = 0.25,
        max_delay: float = 2.0,
    ) -> None:
        self.clock = clock
        self.most = most
        self.window = window
        self.lock = lock
        self.first_delay = first_delay  # seconds; tests set 0 to fail at full speed
        self.max_delay = max_delay
        self._by_address: OrderedDict[str, _Failures] = OrderedDict()
        self._mutex = threading.Lock()

    def locked_minutes(self, address: str) -> int:
        """Whole minutes (at least 1) until ``address`` may try again; 0 when it may now."""
        now = self.clock()
        with self._mutex:
            found = self._by_address.get(address)
            until = found.locked_until if found else None
        if until is None or until <= now:
            return 0
        return max(1, math.ceil((until - now).total_seconds() / 60))

    def begin(self, address: str) -> Attempt | None:
        """A sign-in from ``address`` begins: counted as failed until it succeeds, or None when
        the address is locked. One past ``most`` under way or failed (a burst) locks it."""
        now = self.clock()
        with self._mutex:
            found = self._by_address.pop(address, None) or _Failures()
            self._by_address[address] = found  # most recent last
            while len(self._by_address) > MAX_ADDRESSES:
                self._by_address.popitem(last=False)
            if found.locked_until is not None and found.locked_until > now:
                return None
            while found.times and found.times[0] <= now - self.window:
                found.times.popleft()
            if len(found.times) >= self.most:
                self._lock(found, now)
                return None
            found.times.append(now)
        return Attempt(address, now)

    def failed(self, attempt: Attempt) -> float:
        """The sign-in failed (it is counted already; ``most`` of them lock the address): the
        seconds to wait before answering."""
        with self._mutex:
            found = self._by_address.get(attempt.address)
            recent = len(found.times) if found is not None else 1
            if found is not None and recent >= self.most:
                self._lock(found, self.clock())
        return float(min(self.max_delay, self.first_delay * 2 ** (max(1, recent) - 1)))

    def succeeded(self, attempt: Attempt) -> None:
        """The sign-in was not a failure (it succeeded, or was never tried): uncount it."""
        with self._mutex:
            found = self._by_address.get(attempt.address)
            if found is not None and attempt.at in found.times:
                found.times.remove(attempt.at)

    def _lock(self, found: _Failures, now: datetime) -> None:
        found.locked_until = now + self.lock
        found.times.clear()


@dataclass(frozen=True)
class Attempt:
    """A sign-in under way, counted against its address (see :meth:`AddressThrottle.begin`)."""

    address: str
    at: datetime
