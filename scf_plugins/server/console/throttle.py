"""Failed sign-ins per client address, in this process's memory.

An address that fails ``most`` sign-ins within ``window`` is refused sign-in for ``lock``,
whichever names it tries (the per-account lockout, in the store, is
:mod:`scf_plugins.ops.staff`'s). Each failure is answered after a short delay that grows
with the address's recent failures, up to ``max_delay`` seconds, so guessing is slow even
below the lock. A success does not clear an address's failures: one account known to an
attacker must not buy them more guesses at the others.

At most ``MAX_ADDRESSES`` addresses are remembered, the least recently failing forgotten
first, so a crowd of addresses costs bounded memory. Several ``scf serve`` processes each
count on their own; the account lockout holds across them.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

MAX_ADDRESSES = 10_000


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

    def failed(self, address: str) -> float:
        """Count a failed sign-in from ``address``; the seconds to wait before answering."""
        now = self.clock()
        with self._mutex:
            found = self._by_address.pop(address, None) or _Failures()
            self._by_address[address] = found  # most recent last
            while found.times and found.times[0] <= now - self.window:
                found.times.popleft()
            found.times.append(now)
            if len(found.times) >= self.most:
                found.locked_until = now + self.lock
                found.times.clear()
            recent = len(found.times) or self.most
            while len(self._by_address) > MAX_ADDRESSES:
                self._by_address.popitem(last=False)
        return float(min(self.max_delay, self.first_delay * 2 ** (recent - 1)))
