"""``scf plugins``: the installed plugins, their versions, hooks and declared options, and
those that failed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..plugins import PluginHost


def gather(host: PluginHost) -> list[dict[str, Any]]:
    """The ``scf plugins --json`` shape: one row per plugin, loaded or failed (``options``:
    what it declares, each with its kind, default, range and description; empty for a plugin
    that declares none)."""
    from ..config.options import as_json

    rows: list[dict[str, Any]] = [
        {
            "name": p.name,
            "distribution": p.distribution,
            "version": p.version,
            "hooks": list(p.hooks),
            "options": [as_json(option) for option in host.plugin_options(p.name) or ()],
            "error": None,
        }
        for p in host.info()
    ]
    rows += [
        {"name": n, "distribution": None, "version": None, "hooks": [], "options": [], "error": e}
        for n, e in sorted(host.failures.items())
    ]
    return rows
