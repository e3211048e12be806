"""The fake GeocodeServer as the host's stand-in (``start_standin``): serving on a free
loopback port. A geocoder keeps no requests, so there are no city staff in it."""

from __future__ import annotations

from collections.abc import Mapping

from scf_plugins.testing.standins import ServerStandIn

from .fake import FakeGeocodeServer, FakeLocator


class GeocoderStandIn(ServerStandIn):
    """A running fake GeocodeServer, as a :class:`scf_plugins.StandIn`; leaving ``with``
    stops it."""

    def __init__(self, users: Mapping[str, str]) -> None:
        # The fake knows one login; with none, it asks for no token (as an open locator).
        user, password = next(iter(users.items()), (None, None))
        super().__init__(FakeGeocodeServer(FakeLocator(user=user, password=password)).start())
