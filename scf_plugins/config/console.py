"""The optional ``[console]`` section: how long a staff console session lasts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .reader import Reader

KEYS = {"idle_minutes", "absolute_hours"}


@dataclass(frozen=True)
class Console:
    """The optional ``[console]`` section.

    A session ends after ``idle_minutes`` without a request, and ``absolute_hours`` after its
    sign-in whatever its use; the person then signs in again.
    """

    idle_minutes: float = 30.0
    absolute_hours: float = 12.0

    @property
    def idle(self) -> timedelta:
        """How long a session may go unused."""
        return timedelta(minutes=self.idle_minutes)

    @property
    def absolute(self) -> timedelta:
        """How long a session lasts at most."""
        return timedelta(hours=self.absolute_hours)


def read_console(reader: Reader, table: Any) -> Console:
    """The section from its table (every key has a default)."""
    if not isinstance(table, dict):
        reader.problem("console", "must be a table; write it as [console]")
        return Console()
    reader.unknown(table, "console", KEYS)
    # At least a few minutes (a form takes that long to fill in), at most a working day idle
    # and a month in all: a console session is a person at a desk, not a service account.
    idle = reader.number(table, "idle_minutes", "console", 30, 5, 1440)
    absolute = reader.number(table, "absolute_hours", "console", 12, 1, 720)
    if idle > absolute * 60:
        reader.problem(
            "console.idle_minutes",
            f"{idle:g} minutes is longer than absolute_hours ({absolute:g} h), which would "
            "never let it apply; make it shorter",
        )
        return Console(absolute_hours=absolute)
    return Console(idle_minutes=idle, absolute_hours=absolute)
