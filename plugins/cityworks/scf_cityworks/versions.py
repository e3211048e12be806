"""Cityworks version strings."""

from __future__ import annotations

import re


def version_tuple(version: str) -> tuple[int, ...]:
    """``"15.8.3"`` -> ``(15, 8, 3)``; an empty or odd version reads as ``()``."""
    parts = re.findall(r"\d+", version or "")
    return tuple(int(p) for p in parts[:3])
