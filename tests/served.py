"""The test server: an ASGI app on a free loopback port (``scf_plugins.server.running``)."""

from __future__ import annotations

from scf_plugins.server.running import Background as Served

__all__ = ["Served"]
