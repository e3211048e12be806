"""Who may read what without an API key: ``/metrics`` only from this machine or with the
metrics token, and every GET within a per-address rate.

The peer address is the one uvicorn puts in the ASGI scope: the socket's peer, or, when that
peer is a trusted proxy (uvicorn's ``--forwarded-allow-ips``, loopback by default), the client
the proxy names in ``X-Forwarded-For``. A reverse proxy on this machine that does not set
that header makes every client look local: it must then not forward ``/metrics`` at all, and
all clients share one GET bucket.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

from ..config import credentials
from ..config.server import METRICS_CREDENTIAL
from ..errors import ConfigError
from .limits import RateLimit
from .refusals import refusal

if TYPE_CHECKING:
    from ..config.server import Server
    from ..models import Secret

log = logging.getLogger(__name__)

UNLIMITED_PATHS = ("/metrics",)  # guarded by address or token already


def metrics_token(server: Server | None = None) -> Secret | None:
    """The metrics token: ``[server] metrics_token`` where the config sets one, else the
    stored credential ``metrics``; None when neither is set (or the secrets file cannot be
    read: then a warning, and /metrics stays loopback-only)."""
    if server is not None and server.metrics_token is not None:
        return server.metrics_token
    try:
        return credentials.lookup(METRICS_CREDENTIAL, None)
    except ConfigError as exc:
        log.warning("the metrics token could not be read, so /metrics is loopback-only: %s", exc)
        return None


def peer(scope: Scope) -> str | None:
    """The client's address as the server sees it, or None (a Unix socket, a test)."""
    client = scope.get("client")
    return str(client[0]) if client else None


def is_loopback(address: str | None) -> bool:
    """Whether ``address`` is this machine (127.0.0.0/8, ::1, or IPv4 mapped in IPv6)."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def may_read_metrics(scope: Scope, token: Secret | None) -> bool:
    """Whether a request may read ``/metrics``: from loopback, or with ``Authorization:
    Bearer <token>`` (compared in constant time) when a token is set."""
    if is_loopback(peer(scope)):
        return True
    if token is None:
        return False
    sent = b""
    for name, value in scope.get("headers") or ():
        if name == b"authorization":
            sent = value
    scheme, _, given = sent.partition(b" ")
    if scheme.lower() != b"bearer" or not given.strip():
        return False
    return hmac.compare_digest(given.strip(), token.reveal().encode("utf-8"))


class GetLimit:
    """ASGI middleware: a GET (or HEAD) over its address's rate is answered 429 with
    ``Retry-After``, in the format its path asks for, before any work is done for it."""

    def __init__(self, app: ASGIApp, limit: RateLimit) -> None:
        """:param limit: the buckets, by client address (:mod:`.limits`)."""
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count a GET against its address; refuse it when over the rate."""
        if (
            scope["type"] == "http"
            and scope["method"] in ("GET", "HEAD")
            and scope["path"] not in UNLIMITED_PATHS
        ):
            wait = self.limit.take(peer(scope) or "unknown")
            if wait:
                answer = refusal(
                    scope["path"],
                    429,
                    f"too many requests from this address; try again in {wait} s",
                    {"Retry-After": str(wait)},
                )
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)
