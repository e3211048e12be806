"""The server under every stand-in: the plugins' emulators (``scf emulator NAME``), the kit's
loopback server and the host's hostile test servers.

:class:`StandInServer` is a threaded TCP server that serves on a background thread
(:meth:`~StandInServer.start`) and stops at once (:meth:`~StandInServer.stop`): the accept
loop is woken instead of polled, and the connections still open (a client's keep-alive
connection, a request being answered slowly) are shut down, so a stopped stand-in never
answers again and its handler threads end. :class:`StandInHTTPServer` is the same for an
HTTP handler, and counts the requests being answered (:attr:`~StandInHTTPServer.in_flight`),
so a test can wait for a stand-in to finish late work instead of sleeping. :class:`Served`
is a stand-in served by one (started, stopped, a context manager), and
:func:`multipart_parts` reads a client's upload.

No pytest here: the emulators run in production under ``scf emulator``.
"""

from __future__ import annotations

import contextlib
import re
import selectors
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Self

# How long stop() waits for the accept loop to notice it was woken (it does at once; this
# bounds a loop stuck in a handler's start).
_JOIN_SECONDS = 5.0


class StandInServer(socketserver.ThreadingTCPServer):
    """A threaded TCP server for a stand-in: ``start()`` serves on a daemon thread, ``stop()``
    (or leaving a ``with`` block) returns promptly with every connection closed.

    :param address: ``(host, port)``; port 0 picks a free one (see :attr:`port`).
    :param handler: the request handler class, as for any ``socketserver`` server.
    :param name: the serving thread's name, for a readable thread dump.
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[socketserver.BaseRequestHandler],
        *,
        name: str = "stand-in",
    ) -> None:
        super().__init__(address, handler)
        self.thread_name = name
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self._wake_read, self._wake_write = socket.socketpair()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        """The address it listens on."""
        return str(self.server_address[0])

    @property
    def port(self) -> int:
        """The port it listens on (the free one picked for port 0)."""
        return int(self.server_address[1])

    @property
    def root(self) -> str:
        """``http://HOST:PORT`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """What a client is given; a stand-in with an API under a path overrides it."""
        return self.root

    @property
    def serving(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Self:
        """Serve on a background (daemon) thread; returns itself."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name=self.thread_name, daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, close the listening socket and shut every open connection down, so
        keep-alive clients see the server gone; returns without waiting for handlers that are
        still sleeping or writing (their threads end on the closed connection). Idempotent."""
        self.shutdown()
        self.server_close()
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for end in (self._wake_read, self._wake_write):
            end.close()

    def shutdown(self) -> None:
        """End the accept loop (at once: it is woken, not polled) and wait for its thread."""
        self._stopping.set()
        with contextlib.suppress(OSError):  # closed already: stopped before
            self._wake_write.send(b"\0")
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(_JOIN_SECONDS)

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serve on the calling thread until :meth:`shutdown` (``poll_interval`` is ignored:
        the loop is woken)."""
        self._serve()

    def _serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self, selectors.EVENT_READ)
            selector.register(self._wake_read, selectors.EVENT_READ)
            while not self._stopping.is_set():
                ready = selector.select()
                if self._stopping.is_set():
                    return
                if any(key.fileobj is self for key, _ in ready):
                    self._handle_request_noblock()  # type: ignore[attr-defined]

    def process_request(self, request: Any, client_address: Any) -> None:
        """Track the connection, then answer it on its own thread."""
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Forget the connection, then close it."""
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Print the traceback of a handler that failed, unless the server was stopped: then
        the failure is the connection stop() shut down under it."""
        if not self._stopping.is_set():
            super().handle_error(request, client_address)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class StandInHTTPServer(StandInServer, HTTPServer):
    """A :class:`StandInServer` for a ``BaseHTTPRequestHandler``, counting the requests being
    answered (:attr:`in_flight`), with Nagle's algorithm off on every connection."""

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        name: str = "stand-in",
    ) -> None:
        self._busy = 0
        self._busy_lock = threading.Lock()
        super().__init__(address, _counted(handler), name=name)

    def server_bind(self) -> None:
        """Bind without ``HTTPServer``'s reverse lookup of the address (a DNS query on some
        machines, for a name nothing here uses)."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.host, self.port

    @property
    def in_flight(self) -> int:
        """How many requests are being answered now (idle keep-alive connections not counted)."""
        with self._busy_lock:
            return self._busy

    def _count(self, delta: int) -> None:
        with self._busy_lock:
            self._busy += delta


def _counted(handler: type[BaseHTTPRequestHandler]) -> type[BaseHTTPRequestHandler]:
    """``handler`` counting each request in its server's ``in_flight`` from the moment its
    request line is read (the wait for it is an idle connection) until it is answered."""

    class Counted(handler):  # type: ignore[valid-type,misc]
        # Headers and body go out as separate writes: with Nagle's algorithm and the client's
        # delayed ACK, every answer on a keep-alive connection would wait 40 ms.
        disable_nagle_algorithm = True

        def parse_request(self) -> bool:
            self.server._count(1)
            self._counted = True
            return bool(super().parse_request())

        def handle_one_request(self) -> None:
            self._counted = False
            try:
                super().handle_one_request()
            finally:
                if self._counted:
                    self.server._count(-1)

    Counted.__name__ = Counted.__qualname__ = handler.__name__
    return Counted


class Served:
    """A stand-in served by its :class:`StandInHTTPServer` on a loopback port: started and
    stopped with it, and a context manager. A subclass builds ``server`` in ``__init__`` and
    says what its ``url`` is (the emulators, :class:`~scf_plugins.testing.LoopbackServer`)."""

    server: StandInHTTPServer  # its ``in_flight`` counts the requests being answered

    @property
    def root(self) -> str:
        """``http://HOST:PORT`` of the server."""
        return self.server.root

    def start(self) -> Self:
        """Serve on a background thread; returns itself."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop serving at once: the socket and every open connection are closed."""
        self.server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_DISPOSITION = re.compile(rb'(?i)\bname="(?P<name>[^"]*)"(?:.*?\bfilename="(?P<file>[^"]*)")?')


def multipart_parts(ctype: str, body: bytes) -> list[tuple[str, str | None, str, bytes]]:
    """``multipart/form-data`` as ``(name, filename or None, content type, bytes)`` parts.

    Split on the boundary in one pass (a photo of megabytes is copied once, not parsed as
    lines of text), which is all a stand-in needs of a client's upload.
    """
    found = re.search(r'boundary="?([^";]+)"?', ctype)
    if not found:
        return []
    out = []
    for chunk in body.split(b"--" + found.group(1).encode())[1:]:
        if chunk.startswith(b"--"):
            break  # the closing boundary
        head, _, content = chunk.partition(b"\r\n\r\n")
        match = _DISPOSITION.search(head)
        if match is None:
            continue
        kind = re.search(rb"(?i)content-type:\s*([^\r\n;]+)", head)
        filename = match.group("file")
        out.append((
            match.group("name").decode("utf-8", "replace"),
            None if filename is None else filename.decode("utf-8", "replace"),
            kind.group(1).decode().strip() if kind else "application/octet-stream",
            content[:-2] if content.endswith(b"\r\n") else content,
        ))  # fmt: skip
    return out
