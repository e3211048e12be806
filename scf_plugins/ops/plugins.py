"""``scf plugins``: the installed plugins, their versions and hooks, and those that failed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..plugins import PluginHost


def gather(host: PluginHost) -> list[dict[str, Any]]:
    """The ``scf plugins --json`` shape: one row per plugin, loaded or failed."""
    rows: list[dict[str, Any]] = [
        {
            "name": p.name,
            "distribution": p.distribution,
            "version": p.version,
            "hooks": list(p.hooks),
            "error": None,
        }
        for p in host.info()
    ]
    rows += [
        {"name": n, "distribution": None, "version": None, "hooks": [], "error": e}
        for n, e in sorted(host.failures.items())
    ]
    return rows
