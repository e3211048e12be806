"""The door's rate limits: token buckets by name (an API key's for POSTs, a client address's
for GETs), in this process's memory.

Each name may send ``per_minute`` requests a minute, in bursts of up to that many; a request
over the limit is told how many seconds to wait (``Retry-After``). At most ``most`` buckets are
kept, the least recently used forgotten first, so a crowd of names costs bounded memory (a name
forgotten comes back with a full bucket, which only a crowd larger than ``most`` earns).
Several ``scf serve`` processes behind one balancer each apply the limits on their own.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

MAX_BUCKETS = 10_000  # names remembered at once


class RateLimit:
    """Token buckets by name, ``per_minute`` each (0: no limit), at most ``most`` of them."""

    def __init__(
        self,
        per_minute: int,
        most: int = MAX_BUCKETS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute = per_minute
        self.most = most
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, name: str) -> int:
        """Spend one request of ``name``: 0 when allowed, else the seconds to wait."""
        full = float(self.per_minute)
        if full <= 0:
            return 0
        rate = full / 60.0
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.pop(name, (full, now))
            tokens = min(full, tokens + (now - at) * rate)
            wait = 0 if tokens >= 1.0 else max(1, math.ceil((1.0 - tokens) / rate))
            self._buckets[name] = (tokens - 1.0 if not wait else tokens, now)
            while len(self._buckets) > self.most:
                self._buckets.popitem(last=False)
        return wait
