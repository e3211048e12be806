"""The served door for tests: the config tables it needs, a fake geocoder, and the server
(an ASGI app on a free loopback port, ``scf_plugins.server.running``). The door itself, with
its store and an API key, is ``Harness.serve()`` (``scf_plugins.testing.Door``)."""

from __future__ import annotations

from typing import Any

from scf_plugins import AddressCheck, hookimpl
from scf_plugins.server.running import Background as Served
from scf_plugins.testing import Door

__all__ = ["GEOCODER", "SERVER", "Door", "FakeGeocoder", "Served"]

SERVER = """
[server]
jurisdiction_id = "testville.gov"
requests_per_minute = {rpm}
max_body_kb = 16
"""
GEOCODER = """
[geocoders.city]
plugin = "fake-geo"
url = "http://127.0.0.1:9/geocode"
"""


class FakeGeocoder:
    """Places "1 Main St" and nothing else."""

    @hookimpl
    def place_address(self, geocoder: Any, address: str) -> AddressCheck | None:
        """Accept one known address."""
        if address.lower().startswith("1 main st"):
            return AddressCheck(address, True, "1 MAIN ST, TESTVILLE", 97.0, 41.31, -72.92)
        return AddressCheck(address, False, reason="no candidates")
