"""Renewing a worker's leases while it works, so a slow pass never has its claimed work
taken by another worker, and the lease (:data:`.leases.DEFAULT_LEASE`) can stay short."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Table

from ..store.store import Store
from . import leases
from .outcomes import describe

log = logging.getLogger(__name__)


@contextlib.contextmanager
def heartbeat(
    store: Store,
    tables: Sequence[Table],
    owner: str,
    lease: timedelta,
    clock: Callable[[], datetime],
) -> Iterator[None]:
    """Renew ``owner``'s leases on ``tables`` every third of a lease while the block runs."""
    done = threading.Event()
    period = max(0.2, lease.total_seconds() / 3)

    def beat() -> None:
        while not done.wait(period):
            try:
                with store.transaction() as conn:
                    until = clock() + lease
                    for table in tables:
                        leases.renew(conn, table, owner, until)
            except Exception as exc:  # the next beat tries again; leases last a while
                log.warning("could not renew leases: %s", describe(exc))

    thread = threading.Thread(target=beat, name="lease-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
