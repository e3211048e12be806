"""The optional ``[images]`` section: how many photos an issue takes, how large, how long kept."""

from __future__ import annotations

from typing import Any

from ..intake.images import MB, ImageLimits
from .reader import Reader

KEYS = {"max_per_issue", "max_mb", "max_side", "purge_after_days"}


def read_images(reader: Reader, table: Any) -> ImageLimits:
    """The section from its table (every key has a default; retention has none)."""
    if not isinstance(table, dict):
        reader.problem("images", "must be a table; write it as [images]")
        return ImageLimits()
    reader.unknown(table, "images", KEYS)
    # No default retention: how long a city keeps residents' photos is its records policy.
    purge = (
        reader.number(table, "purge_after_days", "images", 365, 1, 36500)
        if "purge_after_days" in table
        else None
    )
    return ImageLimits(
        max_per_issue=int(reader.number(table, "max_per_issue", "images", 5, 0, 20)),
        max_bytes=int(reader.number(table, "max_mb", "images", 10, 0.1, 50) * MB),
        max_side=int(reader.number(table, "max_side", "images", 2048, 256, 8192)),
        purge_after_days=purge,
    )
