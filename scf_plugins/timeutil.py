"""Time helpers: the host works in aware UTC datetimes everywhere."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, aware, in UTC (freezegun-friendly)."""
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """An aware datetime as ISO 8601 UTC with a ``Z`` (None stays None)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local_time(stamp: str | None, zone: str) -> str:
    """An ISO 8601 UTC stamp (as the JSON has it) for people: minutes, in ``zone``, with its
    abbreviation (``2026-12-02 01:12 EST``); "" for None."""
    if not stamp:
        return ""
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
    return moment.strftime("%Y-%m-%d %H:%M %Z")
