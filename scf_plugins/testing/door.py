"""The Open311 door a harness serves (``Harness.serve``), and the HTTP calls a test makes
to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests

    from ..config.settings import Settings
    from ..store.store import Store


class Leaving:
    """A served door that stops without being waited for: uvicorn takes 0.1 to 0.3 s to wind
    down (its ticks and a fixed pause), which over a suite of door tests is most of their
    time, and nothing after a test needs the door gone, only going."""

    def __init__(self, server: Any) -> None:
        self.server = server

    def stop(self) -> None:
        """Ask the server to stop; its (daemon) thread ends by itself."""
        self.server.server.should_exit = True


@dataclass
class Door:
    """A served Open311 door: its root URL, a live API key, its store and settings."""

    url: str
    key: str
    store: Store
    settings: Settings

    def get(self, path: str, **params: Any) -> requests.Response:
        """GET ``path`` (from the root) with query ``params``."""
        import requests

        return requests.get(f"{self.url}{path}", params=params, timeout=10)

    def post(self, fmt: str = "json", key: str | None = None, **fields: Any) -> requests.Response:
        """POST a service request (``requests.FMT``) with the door's key unless ``key``."""
        import requests

        data = {"api_key": self.key if key is None else key, **fields}
        return requests.post(f"{self.url}/open311/v2/requests.{fmt}", data=data, timeout=10)

    def post_pairs(self, fmt: str, pairs: list[tuple[str, str]]) -> requests.Response:
        """POST a service request from form pairs (a key may repeat), with the door's key."""
        import requests

        return requests.post(
            f"{self.url}/open311/v2/requests.{fmt}",
            data=[("api_key", self.key), *pairs],
            timeout=10,
        )
