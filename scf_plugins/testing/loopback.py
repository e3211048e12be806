"""A scripted HTTP server on 127.0.0.1, for testing a plugin against a server that misbehaves.

A plugin's tests should meet the remote system as it is on a bad day, over real HTTP: slow,
dropping the connection, answering HTML, a 503 with ``Retry-After``, a body that never ends.
:class:`LoopbackServer` answers each request with what the test routed to it and records every
request it got::

    def test_a_503_is_transient(loopback):
        loopback.route("GET", r"/services\\.json", Reply(503, b"busy", {"Retry-After": "7"}))
        with pytest.raises(TransientError):
            my_plugin.list_request_types(make_integration(url=loopback.url, plugin="mine"))
        assert loopback.requests[0].path == "/services.json"

It listens on 127.0.0.1 only, on a free port, and stops with the test, so a test never
reaches beyond this machine. The ``loopback`` fixture is registered with pytest when
scf-plugins is installed (a ``pytest11`` entry point): a plugin's tests just ask for it, and
for the kit's other fixtures (:mod:`.fixtures`), which this module loads.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from .servers import Served, StandInHTTPServer

# The kit's other fixtures and its `store` marker come with this entry point.
pytest_plugins = ["scf_plugins.testing.fixtures"]


@dataclass(frozen=True)
class Seen:
    """One request the server got: method, path (no query), query pairs, headers, body."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]
    body: bytes

    def form(self) -> list[tuple[str, str]]:
        """The body's ``application/x-www-form-urlencoded`` pairs, repeated keys kept."""
        return parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)


@dataclass(frozen=True)
class Reply:
    """What to answer: ``status``, ``body`` and ``headers``; ``delay`` seconds first;
    ``drop`` closes the connection without answering (after the request was read, as a
    server that did the work and then lost the answer)."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


Handler = Callable[[Seen], Reply]


class LoopbackServer(Served):
    """An HTTP/1.1 server on 127.0.0.1 that answers each request as routed.

    :meth:`route` maps a method and a path pattern (a regular expression matched against the
    whole path) to a :class:`Reply` or a function of the :class:`Seen` request; the latest
    route that matches wins, and an unrouted request gets a 404. ``requests`` lists every
    request received, in order.
    """

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._lock = threading.Lock()
        owner = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                seen = Seen(
                    self.command,
                    parts.path,
                    tuple(parse_qsl(parts.query, keep_blank_values=True)),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                reply = owner._answer(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the server records requests instead of logging them."""

        self.server = StandInHTTPServer(("127.0.0.1", 0), _Handler, name="loopback")

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return self.server.url

    def route(self, method: str, path: str, reply: Reply | Handler) -> None:
        """Answer ``method`` requests whose path matches ``path`` (a regex) with ``reply``."""
        handler: Handler = reply if not isinstance(reply, Reply) else _always(reply)
        with self._lock:
            self._routes.append((method.upper(), re.compile(path), handler))

    def _answer(self, seen: Seen) -> Reply:
        with self._lock:
            self.requests.append(seen)
            routes = list(reversed(self._routes))
        for method, pattern, handler in routes:
            if method == seen.method and pattern.fullmatch(seen.path):
                return handler(seen)
        return Reply(404, b"not routed", {"Content-Type": "text/plain"})


def _always(reply: Reply) -> Handler:
    def handler(_seen: Seen) -> Reply:
        return reply

    return handler


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    """A :class:`LoopbackServer` serving for the length of the test."""
    with LoopbackServer() as server:
        yield server
