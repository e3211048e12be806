"""Advice: settings that work but are likely wrong, for ``config check``, ``doctor`` and sync.

None of it stops anything; each line says what it saw and what the admin can do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ScfError

if TYPE_CHECKING:
    from ..config.settings import Settings
    from ..plugins import PluginHost
    from ..store.store import Store


Advice = tuple[str, str]  # (integration name, the line)


def foreign_link_lines(settings: Settings, store: Store) -> list[Advice]:
    """A line per group of Acknowledged issues linked to another environment or endpoint
    than their integration's live one (they are not synced until the admin decides)."""
    from ..store.links import foreign_links  # SQLAlchemy: loaded only when a store is used

    with store.read() as conn:
        return [(g.integration, g.describe()) for g in foreign_links(conn, settings.integrations)]


def timezone_lines(settings: Settings, host: PluginHost) -> list[Advice]:
    """Integrations whose remote system writes naive local dates but whose zone is not set."""
    lines = []
    for integration in settings.integrations.values():
        try:
            capabilities = host.capabilities(integration)
        except ScfError:
            continue  # a missing plugin is reported by the checks themselves
        if capabilities.naive_local_dates and not integration.timezone_configured:
            lines.append(
                (
                    integration.name,
                    f"integrations.{integration.name}.timezone: not set, so the server's local "
                    f'dates are read as UTC; set its zone, e.g. timezone = "America/New_York"',
                )
            )
    return lines
