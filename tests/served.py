"""The served door for tests: an ASGI app on a free loopback port, with its store and an
API key (``scf_plugins.server.running``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from scf_plugins import AddressCheck, hookimpl
from scf_plugins.server.running import Background as Served
from scf_plugins.store.store import Store

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


@dataclass
class Door:
    """A served door with its store, settings and one live API key."""

    url: str
    key: str
    store: Store
    settings: Any

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(f"{self.url}{path}", params=params, timeout=10)

    def post(self, fmt: str = "json", key: str | None = None, **fields: Any) -> requests.Response:
        data = {"api_key": self.key if key is None else key, **fields}
        return requests.post(f"{self.url}/open311/v2/requests.{fmt}", data=data, timeout=10)

    def post_pairs(self, fmt: str, pairs: list[tuple[str, str]]) -> requests.Response:
        return requests.post(
            f"{self.url}/open311/v2/requests.{fmt}",
            data=[("api_key", self.key), *pairs],
            timeout=10,
        )
