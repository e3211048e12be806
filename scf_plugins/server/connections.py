"""The connection guard of ``scf serve``: what a client may hold before anyone knows who it is.

uvicorn's HTTP protocol (httptools) with four limits added, in :func:`guarded_protocol`:

- **a request deadline** (``[server] request_timeout_seconds``, 30 s): a connection has that
  long from its first byte (or from its opening) to send a request's head and body; then it
  is cut off (408 when the head was not complete). A client trickling one header line every
  few seconds holds its socket for the deadline, not for ever. The time the app takes to
  answer, and the idle time between keep-alive requests (uvicorn's own 5 s), do not count.
- **a header cap** (:data:`MAX_HEADER_BYTES`, 16 KB for the request line and headers): beyond
  it, 431 and the connection is closed; httptools itself has no limit.
- **connections per client address** (``[server] max_connections_per_address``, 32): one more
  is answered 429 and closed at once. The address is the socket's peer: behind a load
  balancer every client shares its address (turn the cap off there, 0, and cap clients at the
  balancer). This host's own addresses (127.0.0.0/8, ::1, and IPv4-mapped ones: a health
  probe, a reverse proxy on the same machine) are not held to it.
- **a drain cap** (:data:`DRAIN_BYTES`): a request answered before its body was all sent (a
  wrong key, photos before the key, the body budget spent) may send 1 MB more, so a client
  that writes its whole body before reading sees the answer; then the connection is closed,
  and a refused 48 MB upload costs the server 1 MB, not 48.
- **connections in all**, below the process's file limit, so accepting never fails for want
  of descriptors; one more is answered 503 and closed. This host's own connections count
  too: behind a reverse proxy on the same machine they are all there is.

These replace uvicorn's ``limit_concurrency``, which answers 503 to every client, honest ones
included, once that many connections are open.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .guards import is_loopback

if TYPE_CHECKING:
    from ..config.server import Server

log = logging.getLogger(__name__)
MAX_HEADER_BYTES = 16 * 1024
DRAIN_BYTES = 1024 * 1024  # what is still read of a body after its request was answered
FILES_KEPT = 256  # descriptors left for the store, logs and this host's own connections
MAX_FILES = 65_536  # the file limit asked for, when the hard limit allows


class _Refused(Exception):
    """Stops httptools from inside a callback once the connection has been answered."""


class Connections:
    """Open connections by peer address, shared by all the connections of one server."""

    def __init__(self, limits: Callable[[], Server], most: int) -> None:
        """:param limits: the ``[server]`` settings (read per connection: a reload applies).
        :param most: connections open at once, in all (this host's own included)."""
        self.limits = limits
        self.most = most
        self.by_peer: Counter[str] = Counter()
        self.open = 0

    def admit(self, peer: str | None) -> tuple[int, str] | None:
        """Count a new connection from ``peer``: None, or the status and reason to refuse it."""
        capped = _held_to_cap(peer)
        cap = self.limits().max_connections_per_address
        if capped is not None and cap and self.by_peer[capped] >= cap:
            return 429, f"more than {cap} connections from one address; use fewer"
        if self.open >= self.most:
            return 503, "the server has as many connections as it can hold; try again later"
        self.open += 1
        if capped is not None:
            self.by_peer[capped] += 1
        return None

    def release(self, peer: str | None) -> None:
        """Uncount a connection :meth:`admit` let in."""
        self.open -= 1
        capped = _held_to_cap(peer)
        if capped is None:
            return
        self.by_peer[capped] -= 1
        if self.by_peer[capped] <= 0:
            del self.by_peer[capped]


def _held_to_cap(peer: str | None) -> str | None:
    """The address the per-address cap counts ``peer`` under; None for this host's own."""
    return None if peer is None or is_loopback(peer) else peer


def more_files() -> int:
    """Raise this process's open-file limit towards :data:`MAX_FILES` (a server needs one per
    connection); the connections it may hold in all."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = MAX_FILES if hard == resource.RLIM_INFINITY else min(MAX_FILES, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as exc:  # a sandbox may refuse: keep the old limit
            log.debug("could not raise the open-file limit: %s", exc)
    if soft == resource.RLIM_INFINITY:
        soft = MAX_FILES
    return max(16, soft - FILES_KEPT)


def answer(status: int, reason: str) -> bytes:
    """A whole HTTP/1.1 response that closes the connection (written before, or instead of,
    a request reaching the app)."""
    phrases = {408: "Request Timeout", 429: "Too Many Requests", 431:
               "Request Header Fields Too Large", 503: "Service Unavailable"}  # fmt: skip
    body = (reason + "\n").encode()
    retry = b"retry-after: 5\r\n" if status in (429, 503) else b""
    return (
        f"HTTP/1.1 {status} {phrases[status]}\r\n".encode()
        + b"content-type: text/plain; charset=utf-8\r\n"
        + f"content-length: {len(body)}\r\n".encode()
        + retry
        + b"connection: close\r\n\r\n"
        + body
    )


def guarded_protocol(limits: Callable[[], Server], most: int) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol with the guard's limits, for ``uvicorn.Config(http=…)``.

    :param limits: the ``[server]`` settings, read as connections come and requests start.
    :param most: connections open at once, in all (see :func:`more_files`).
    """
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    shared = Connections(limits, most)

    class Guarded(HttpToolsProtocol):
        """One connection, within the guard's limits."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._peer: str | None = None
            self._counted = False
            self._refused = False
            self._head_done = False
            self._head_bytes = 0
            self._deadline: asyncio.TimerHandle | None = None
            self._drain: int | None = None  # bytes left to read of an answered request's body

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._peer = self.client[0] if self.client else None
            refused = shared.admit(self._peer)
            if refused is not None:
                self._refuse(*refused)
                return
            self._counted = True
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._counted:
                self._counted = False
                shared.release(self._peer)
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return
            if self._drain is not None:
                self._drain -= len(data)
                if self._drain < 0:
                    self.transport.close()
                    return
            if not self._head_done:
                self._head_bytes += len(data)
            super().data_received(data)
            if not (self._refused or self._head_done) and self._head_bytes > MAX_HEADER_BYTES:
                self._refuse(431, f"the request's headers are larger than "
                                  f"{MAX_HEADER_BYTES // 1024} KB")  # fmt: skip

        def send_400_response(self, msg: str) -> None:
            if not self._refused:  # a refusal raised in a callback was answered already
                super().send_400_response(msg)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._head_done = False  # its bytes are counted from the end of the one before
            self._arm()

        def on_headers_complete(self) -> None:
            size = len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers)
            if size > MAX_HEADER_BYTES:
                self._refuse(431, f"the request's headers are larger than "
                                  f"{MAX_HEADER_BYTES // 1024} KB")  # fmt: skip
                raise _Refused
            self._head_done = True
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._disarm()
            self._head_done = False
            self._head_bytes = 0
            self._drain = None
            super().on_message_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self._head_done:  # answered before its body was all read: a little more
                self._drain = DRAIN_BYTES

        def _arm(self) -> None:
            if self._deadline is None:
                seconds = limits().request_timeout_seconds
                self._deadline = self.loop.call_later(seconds, self._timed_out)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _timed_out(self) -> None:
            self._deadline = None
            if self.transport.is_closing():
                return
            if not self._head_done:
                seconds = limits().request_timeout_seconds
                self._refuse(408, f"the request was not sent within {seconds:g} s")
            else:  # the app is reading the body: it sees the client go away
                self.transport.close()

        def _refuse(self, status: int, reason: str) -> None:
            self._refused = True
            self._disarm()
            if not self.transport.is_closing():
                self.transport.write(answer(status, reason))
                self.transport.close()

    return Guarded
