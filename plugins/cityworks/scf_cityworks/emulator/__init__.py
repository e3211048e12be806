"""A faithful stand-in Cityworks server, for tests, the demo and trying a config.

``Emulator`` serves the wire format of ``Services/…`` on a loopback port; its ``state`` is the
site's data and the city-staff and fault controls (also reachable over HTTP at ``/__emulator/``).
"""

from .server import Emulator, envelope
from .state import CwFault, EmulatorState

__all__ = ["CwFault", "Emulator", "EmulatorState", "envelope"]
