"""A hostile stand-in for a remote system, on 127.0.0.1 only.

:class:`Hostile` listens on a loopback port and forwards every request to an upstream server
(the Cityworks emulator, the fake GeocodeServer) unless a misbehaviour is armed for it: then
it trickles, redirects, floods, nests, lies or asks to be left alone. :class:`Recorder` is a
second listener that records every request it gets, to prove that nothing (no password, no
token) followed a redirect to it. Both stop by themselves with the test.
"""

from __future__ import annotations

import abc
import contextlib
import http.client
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from scf_plugins.testing import StandInServer


def read_request(conn: socket.socket) -> tuple[str, str, dict[str, str], bytes]:
    """Read one HTTP/1.1 request: method, path, headers (lower-case names), body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the headers")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return method, path, headers, rest[:length]


def response(status: int, body: bytes, ctype: str = "application/json", **headers: str) -> bytes:
    """A whole HTTP/1.1 response (the connection closes after it)."""
    lines = [f"HTTP/1.1 {status} X", f"Content-Type: {ctype}", f"Content-Length: {len(body)}",
             "Connection: close", *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items())]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Seen:
    """One request a listener got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class _Listener(abc.ABC):
    """A loopback listener whose handler is ``self.handle(conn)``."""

    def __init__(self) -> None:
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                # The client giving up mid-answer is what these tests provoke.
                with contextlib.suppress(OSError):
                    owner.handle(self.request)

        self.server = StandInServer(("127.0.0.1", 0), Handler, name=type(self).__name__)

    @property
    def root(self) -> str:
        return self.server.root

    @abc.abstractmethod
    def handle(self, conn: socket.socket) -> None:
        """Answer the requests of one connection."""

    def __enter__(self) -> Any:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()  # a trickle in progress ends with its connection, at once

    def stop(self) -> None:
        """Stop listening and close every connection."""
        self.server.stop()


class Recorder(_Listener):
    """Records every request; answers each with a plausible success, to tempt a client."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Seen] = []

    def handle(self, conn: socket.socket) -> None:
        method, path, headers, body = read_request(conn)
        self.seen.append(Seen(method, path, headers, body))
        ok = {"Status": 0, "Value": {"Token": "stolen"}, "token": "stolen", "expires": 0}
        conn.sendall(response(200, json.dumps(ok).encode()))


Behaviour = Callable[[socket.socket, str, str, dict[str, str], bytes], None]


@dataclass
class Armed:
    behaviour: Behaviour
    match: str
    count: int


class Hostile(_Listener):
    """Forwards to ``upstream`` (a root URL) unless a misbehaviour is armed for the request."""

    def __init__(self, upstream: str) -> None:
        super().__init__()
        self.upstream = upstream
        self.armed: list[Armed] = []
        self.seen: list[Seen] = []
        self.lock = threading.Lock()

    def arm(self, behaviour: Behaviour, match: str = "", count: int = 1) -> None:
        """Misbehave on the next ``count`` requests whose path contains ``match``."""
        with self.lock:
            self.armed.append(Armed(behaviour, match.lower(), count))

    def _take(self, path: str) -> Behaviour | None:
        with self.lock:
            for armed in self.armed:
                if armed.count > 0 and armed.match in path.lower():
                    armed.count -= 1
                    if armed.count == 0:
                        self.armed.remove(armed)
                    return armed.behaviour
        return None

    def handle(self, conn: socket.socket) -> None:
        while True:  # keep-alive: one request after another on this connection
            try:
                method, path, headers, body = read_request(conn)
            except (ConnectionError, ValueError):
                return
            self.seen.append(Seen(method, path, headers, body))
            behaviour = self._take(path)
            if behaviour is not None:
                behaviour(conn, method, path, headers, body)
                return
            conn.sendall(self._forward(method, path, headers, body))

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        up = urlsplit(self.upstream)
        client = http.client.HTTPConnection(up.hostname or "127.0.0.1", up.port, timeout=30)
        keep = {k: v for k, v in headers.items() if k not in ("host", "connection")}
        client.request(method, path, body=body, headers=keep)
        answer = client.getresponse()
        data = answer.read()
        client.close()
        ctype = answer.getheader("Content-Type") or "application/json"
        lines = [f"HTTP/1.1 {answer.status} X", f"Content-Type: {ctype}",
                 f"Content-Length: {len(data)}"]  # fmt: skip
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


# -- misbehaviours ------------------------------------------------------------------------------


def trickle_headers(seconds: float = 0.5, limit: float = 60.0) -> Behaviour:
    """Send the status line and headers one byte every ``seconds`` (for at most ``limit``)."""

    def act(conn: socket.socket, *_: Any) -> None:
        ends = time.monotonic() + limit
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
            if time.monotonic() > ends:
                return
            conn.sendall(bytes([byte]))
            time.sleep(seconds)

    return act


def trickle_body(seconds: float = 0.5, limit: float = 60.0) -> Behaviour:
    """Send the headers at once, then a JSON body one byte every ``seconds``."""

    def act(conn: socket.socket, *_: Any) -> None:
        body = b'{"Status": 0, "Value": "' + b"a" * 10_000 + b'"}'
        conn.sendall(
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            f"{len(body)}\r\n\r\n".encode()
        )
        ends = time.monotonic() + limit
        for byte in body:
            if time.monotonic() > ends:
                return
            conn.sendall(bytes([byte]))
            time.sleep(seconds)

    return act


def redirect(status: int, location: str) -> Behaviour:
    """Answer with a redirect."""

    def act(conn: socket.socket, *_: Any) -> None:
        conn.sendall(response(status, b"", "text/html", Location=location))

    return act


def flood(megabytes: int) -> Behaviour:
    """Send a JSON answer of ``megabytes`` MB (in chunks; the client may hang up first)."""

    def act(conn: socket.socket, *_: Any) -> None:
        size = megabytes * 1024 * 1024
        head = b'{"Status": 0, "Value": "'
        tail = b'"}'
        conn.sendall(
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            f"{size}\r\n\r\n".encode()
            + head
        )
        chunk = b"x" * (1024 * 1024)
        sent = len(head) + len(tail)
        while sent + len(chunk) <= size:
            conn.sendall(chunk)
            sent += len(chunk)
        conn.sendall(b"x" * (size - sent) + tail)

    return act


def answer(
    body: Any, status: int = 200, ctype: str = "application/json", **headers: str
) -> Behaviour:
    """Answer with ``body`` (JSON unless it is bytes)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()

    def act(conn: socket.socket, *_: Any) -> None:
        conn.sendall(response(status, raw, ctype, **headers))

    return act


def deep_json(depth: int = 200_000) -> Behaviour:
    """A JSON answer nested ``depth`` levels deep."""
    return answer(b'{"Status": 0, "Value": ' + b"[" * depth + b"]" * depth + b"}")
