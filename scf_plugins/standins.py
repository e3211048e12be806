"""For plugins' stand-in servers (``scf emulator NAME``): bind with one clear line when the
port is taken, then serve in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import click

T = TypeVar("T")


def bind(make: Callable[[], T], host: str, port: int) -> T:
    """``make()`` the server; a port in use (or an address not here) is one clear line."""
    try:
        return make()
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick another --port "
            f"(0: any free one)"
        ) from None


def wait_until_stopped() -> None:
    """Block until Ctrl-C or SIGTERM."""
    stop = threading.Event()

    def _stop(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
