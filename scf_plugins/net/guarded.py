"""A ``requests`` adapter whose connections keep to deadlines (see :mod:`.deadlines`).

urllib3 opens the sockets; its connection classes are swapped here for ones that, once
connected, make their socket keep to the calling thread's deadline. The pools of direct and
proxied connections alike use them.
"""

from __future__ import annotations

from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from . import deadlines


class _Connection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        self.sock = deadlines.guard(self.sock)


class _TLSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        self.sock = deadlines.guard(self.sock)


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Connection


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _TLSConnection


_POOLS: dict[str, type[HTTPConnectionPool]] = {"http": _Pool, "https": _TLSPool}


class GuardedAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections (direct or through a proxy) keep to deadlines."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Build the pool manager with the guarded connection pools."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """The proxy's pool manager, with the guarded connection pools."""
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager
