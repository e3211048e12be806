"""How each integration and geocoder fared in this worker's passes, kept for ``scf status``
(:func:`scf_plugins.ops.health.note`), without a write for every pass."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..ops import health
from ..store.store import Store
from .outcomes import describe

log = logging.getLogger(__name__)

NOTE_IDLE_EVERY = 30.0  # seconds: how often an idle worker refreshes its status rows
NOTE_BUSY_EVERY = 5.0  # seconds: how often a busy one does


@dataclass
class StatusNotes:
    """The status rows one worker writes, and when it last wrote each."""

    store: Store
    clock: Callable[[], datetime]
    _noted: dict[str, float] = field(default_factory=dict, repr=False)

    def note(self, name: str, kind: str, *, busy: bool = True, **fields: Any) -> None:
        """Keep how ``name`` fared for ``scf status`` (never fails the pass). An idle pass is
        written at most every ``NOTE_IDLE_EVERY``, a busy one every ``NOTE_BUSY_EVERY``, one
        with errors always: a serving worker runs a pass for nearly every report, and each
        note is a write."""
        now = time.monotonic()
        every = NOTE_BUSY_EVERY if busy else NOTE_IDLE_EVERY
        if not fields.get("errors") and now - self._noted.get(name, -every) < every:
            return  # said recently enough (errors are always said)
        self._noted[name] = now
        try:
            with self.store.transaction() as conn:
                health.note(conn, name, kind, now=self.clock(), **fields)
        except Exception as exc:  # a status row is not worth a failed pass
            log.warning("could not record the status of %s: %s", name, describe(exc))
