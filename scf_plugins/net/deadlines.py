"""Deadlines for whole HTTP calls, and abandoning the calls in flight when the engine stops.

``requests`` only knows a timeout per read: a server that sends one byte a second keeps a
call alive for ever. Here every socket the HTTP policy opens is *guarded*: before each read
or write it gets the time left until the calling thread's deadline as its timeout, so the
whole call (headers and body) ends by then, whatever the server does, over TLS too.

A thread may also be bound to a stop event (the engine binds its worker threads): once the
event is set, :func:`abandon` shuts down the sockets those threads are blocked on, and any
later read fails at once. The call then fails like a timeout, which the engine already treats
safely (a create or comment is looked up before it is tried again).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

_local = threading.local()
_lock = threading.Lock()
_blocked: dict[int, tuple[socket.socket, threading.Event | None]] = {}


class DeadlineExceeded(TimeoutError):
    """The call's deadline passed (or the engine is stopping) before the server finished."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[float]:
    """Give the calls this thread makes inside the block ``seconds`` in all."""
    previous = getattr(_local, "deadline", None)
    ends = time.monotonic() + seconds
    _local.deadline = ends if previous is None else min(previous, ends)
    try:
        yield ends
    finally:
        _local.deadline = previous


def bind(stop: threading.Event | None) -> None:
    """Bind this thread to ``stop`` (a ``ThreadPoolExecutor`` initializer): once it is set,
    calls of this thread are abandoned."""
    _local.stop = stop


def stopping() -> bool:
    """Whether this thread's stop event is set."""
    stop = getattr(_local, "stop", None)
    return stop is not None and stop.is_set()


def abandon(stop: threading.Event) -> int:
    """Shut down every socket that a thread bound to ``stop`` is blocked on; returns how many."""
    with _lock:
        victims = [sock for sock, event in _blocked.values() if event is stop]
    for sock in victims:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    return len(victims)


@contextlib.contextmanager
def _armed(sock: socket.socket) -> Iterator[None]:
    stop = getattr(_local, "stop", None)
    if stop is not None and stop.is_set():
        raise DeadlineExceeded("abandoned: stopping")
    ends = getattr(_local, "deadline", None)
    if ends is not None:
        left = ends - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded("the deadline for the whole call passed")
        sock.settimeout(left)
    key = id(sock)
    with _lock:
        _blocked[key] = (sock, stop)
    try:
        yield
    except TimeoutError:
        raise DeadlineExceeded("the deadline for the whole call passed") from None
    finally:
        with _lock:
            _blocked.pop(key, None)


class _GuardedSocket(socket.socket):
    """A plain socket whose reads and writes keep to the thread's deadline."""

    __slots__ = ()

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        with _armed(self):
            return super().recv(bufsize, flags)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        with _armed(self):
            return super().recv_into(buffer, nbytes, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        with _armed(self):
            super().sendall(data, flags)


class _GuardedSSLSocket(ssl.SSLSocket):
    """A TLS socket whose reads and writes keep to the thread's deadline."""

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        with _armed(self):
            return super().recv(buflen, flags)

    def recv_into(self, buffer: Any, nbytes: int | None = None, flags: int = 0) -> int:
        with _armed(self):
            return super().recv_into(buffer, nbytes, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        with _armed(self):
            super().sendall(data, flags)


def guard(sock: Any) -> Any:
    """Make a freshly connected socket keep to deadlines (others are returned as they are)."""
    if type(sock) is ssl.SSLSocket:
        sock.__class__ = _GuardedSSLSocket
    elif type(sock) is socket.socket:
        sock.__class__ = _GuardedSocket
    return sock
