"""A stand-in Accela Civic Platform (Construct API v4), for tests, the demo and trying a config.

:class:`AccelaEmulator` serves the auth host's ``/oauth2/token`` and the API host's ``/v4/...``
on one loopback port; its :class:`AgencyState` is the agency's data with the city-staff and
fault controls (also reachable over HTTP at ``/__emulator/``).
"""

from .server import AccelaEmulator
from .state import FAULT_KINDS, STAFF_ACTIONS, AgencyState, ApiError

__all__ = ["FAULT_KINDS", "STAFF_ACTIONS", "AccelaEmulator", "AgencyState", "ApiError"]
