"""Whether the sync loops go round: the age of the last submit pass and of the poll loop's last
pass through each integration, and whether either is stale.

A loop is stale when its last pass is older than ``[server] stale_after_intervals`` (5) times
its interval, and never sooner than ``STALE_FLOOR`` seconds: for polls, the integration's
``poll_interval_seconds``; for submits, which run when there is work and at least every
30 s when there is none (:mod:`scf_plugins.engine.continuous`), the longest
``timeout_seconds`` (a pass may wait that long for one call). The longest call bounds the
poll interval from below too, and the floor covers how rarely an idle worker goes round and
writes its rows (:mod:`scf_plugins.engine.status_notes`), so a 60 s poll interval is not
stale at 61 s.

The ages come from the engine's memory (``/healthz`` of ``scf serve``, about its own engine)
or from the store's loop rows (:mod:`.health`: ``scf status`` and ``/metrics``, whichever
worker wrote them last).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..timeutil import iso
from . import health

if TYPE_CHECKING:
    from sqlalchemy import Row

    from ..config.settings import Settings

STALE_FLOOR = 120.0  # seconds: no loop is stale sooner


@dataclass(frozen=True)
class LoopAge:
    """One loop's last pass: ``submit`` (``integration`` None) or ``poll`` of an integration.

    ``age_seconds`` counts from the last pass, or from when the engine started when it has
    made none yet (None: nothing recorded).
    """

    loop: str
    integration: str | None
    last_at: datetime | None
    age_seconds: float | None
    stale_after_seconds: float

    @property
    def stale(self) -> bool:
        """Whether the loop has not gone round for too long."""
        return self.age_seconds is not None and self.age_seconds > self.stale_after_seconds

    @property
    def name(self) -> str:
        """ "the submit loop", "the poll loop of cityworks"."""
        return f"the {self.loop} loop" + (f" of {self.integration}" if self.integration else "")

    def line(self) -> str:
        """One line for people: which loop, how old its last pass, when it becomes stale."""
        last = (
            "has made no pass yet"
            if self.age_seconds is None
            else f"last went round {self.age_seconds:.0f} s ago"
            if self.last_at is not None
            else f"has made no pass in {self.age_seconds:.0f} s"
        )
        state = "STALE" if self.stale else "ok"
        return f"{self.name} {last} ({state}: stale after {self.stale_after_seconds:.0f} s)"

    def as_json(self) -> dict[str, Any]:
        """``{"last_at", "age_seconds", "stale_after_seconds", "stale"}``."""
        return {
            "last_at": iso(self.last_at),
            "age_seconds": self.age_seconds,
            "stale_after_seconds": self.stale_after_seconds,
            "stale": self.stale,
        }


def stale_after(settings: Settings, interval: float) -> float:
    """Seconds after which a loop of cadence ``interval`` is stale (see the module)."""
    longest = max((i.timeout_seconds for i in settings.integrations.values()), default=0.0)
    return max(settings.server.stale_after_intervals * max(interval, longest), STALE_FLOOR)


def judge(
    settings: Settings,
    last_submit: datetime | None,
    last_polls: Mapping[str, datetime],
    now: datetime,
    *,
    since: datetime | None = None,
) -> list[LoopAge]:
    """The submit loop's age, then each integration's poll loop's, in config order.

    :param since: when the loops started; a loop that has made no pass yet is aged from it.
    """

    def age(last: datetime | None) -> float | None:
        start = last or since
        return None if start is None else round(max(0.0, (now - start).total_seconds()), 1)

    ages = [LoopAge("submit", None, last_submit, age(last_submit), stale_after(settings, 0.0))]
    for integration in settings.integrations.values():
        last = last_polls.get(integration.name)
        every = stale_after(settings, integration.poll_interval_seconds)
        ages.append(LoopAge("poll", integration.name, last, age(last), every))
    return ages


def from_rows(settings: Settings, rows: Mapping[str, Row[Any]], now: datetime) -> list[LoopAge]:
    """:func:`judge` on the store's loop rows (:func:`.health.read_all`)."""

    def last(name: str) -> datetime | None:
        row = rows.get(name)
        return None if row is None else row.last_pass_at

    polls = {
        name: when
        for name in settings.integrations
        if (when := last(health.loop_row("poll", name))) is not None
    }
    return judge(settings, last(health.loop_row("submit")), polls, now)


def summary(ages: Sequence[LoopAge]) -> dict[str, Any]:
    """The JSON of ``scf status`` and ``/healthz``: ``{"submit": {…}, "poll": {…, "integrations":
    {name: {…}}}}``; the overall poll entry is its oldest integration's (stale if any is)."""
    submit = next(a for a in ages if a.loop == "submit")
    polls = [a for a in ages if a.loop == "poll"]
    oldest = max(polls, key=lambda a: -1.0 if a.age_seconds is None else a.age_seconds,
                 default=None)  # fmt: skip
    poll: dict[str, Any] = (
        oldest.as_json()
        if oldest is not None
        else {"last_at": None, "age_seconds": None, "stale_after_seconds": None, "stale": False}
    )
    poll["stale"] = any(a.stale for a in polls)
    poll["integrations"] = {a.integration: a.as_json() for a in polls}
    return {"submit": submit.as_json(), "poll": poll}


def stale(ages: Sequence[LoopAge]) -> list[str]:
    """A line for each stale loop (empty: every loop goes round)."""
    return [a.line() for a in ages if a.stale]
