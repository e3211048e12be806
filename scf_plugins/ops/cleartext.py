"""Passwords sent in the clear: an integration or geocoder that logs in (a user or password)
over ``http://`` to a host other than this machine. ``scf config check`` and ``scf doctor``
warn; it is not refused, since a city's network may encrypt the path some other way."""

from __future__ import annotations

import ipaddress
from typing import NamedTuple
from urllib.parse import urlsplit

from ..config.settings import Settings

LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


def is_local(host: str) -> bool:
    """Whether ``host`` names this machine (a loopback address, or localhost)."""
    name = host.strip("[]").lower()
    if name in LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def sends_in_clear(url: str) -> bool:
    """Whether ``url`` is plain ``http://`` to a host that is not this machine."""
    parts = urlsplit(url)
    return parts.scheme.lower() == "http" and not is_local(parts.hostname or "")


class InClear(NamedTuple):
    """One integration or geocoder that would send its password unencrypted."""

    geocoder: bool  # else an integration
    name: str
    key: str  # the config key of its url
    text: str  # the warning


def lines(settings: Settings) -> list[InClear]:
    """Each integration and geocoder that would send its password unencrypted."""
    found = []
    for integration in settings.integrations.values():
        if (integration.user or integration.password) and sends_in_clear(integration.url):
            key = f"integrations.{integration.name}.{integration.environment}.url"
            text = _warning(f"integration {integration.name}", integration.url)
            found.append(InClear(False, integration.name, key, text))
    for geocoder in settings.geocoders.values():
        if (geocoder.user or geocoder.password) and sends_in_clear(geocoder.url):
            text = _warning(f"geocoder {geocoder.name}", geocoder.url)
            found.append(InClear(True, geocoder.name, f"geocoders.{geocoder.name}.url", text))
    return found


def _warning(who: str, url: str) -> str:
    host = urlsplit(url).hostname or url
    return (
        f"{who} logs in over plain http to {host}: its password crosses the network "
        f"unencrypted; use https:// (or reach it through a tunnel and point url at loopback)"
    )
