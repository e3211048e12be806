"""The fake GeocodeServer as the host's stand-in (``start_standin``): serving on a free
loopback port. A geocoder keeps no requests, so there are no city staff in it."""

from __future__ import annotations

from collections.abc import Mapping

from .fake import FakeGeocodeServer, FakeLocator


class GeocoderStandIn:
    """A running fake GeocodeServer, as a :class:`scf_plugins.StandIn`; leaving ``with``
    stops it."""

    staff = None

    def __init__(self, users: Mapping[str, str]) -> None:
        # The fake knows one login; with none, it asks for no token (as an open locator).
        user, password = next(iter(users.items()), (None, None))
        self.server = FakeGeocodeServer(FakeLocator(user=user, password=password))
        self.server.__enter__()

    @property
    def url(self) -> str:
        """The GeocodeServer URL a geocoder's ``url`` takes."""
        return self.server.url

    def __enter__(self) -> GeocoderStandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)
