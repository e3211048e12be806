"""For plugins' stand-in servers (``scf emulator NAME``): bind with one clear line when the
port is taken, serve in the foreground until Ctrl-C or SIGTERM, arm faults for the next
calls, drive a running one from the command line (its staff and fault commands), and hand
a started one to the host as a :class:`~scf_plugins.StandIn` (:class:`ServerStandIn`)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any, Protocol, Self, TypeVar

import click

from ..standin import StandInStaff

T = TypeVar("T")


class Serving(Protocol):
    """A started server, as :class:`ServerStandIn` needs it: its URL, and a way to stop."""

    @property
    def url(self) -> str:
        """What a config's ``url`` takes to reach it."""

    def stop(self) -> None:
        """Stop serving and close every open connection."""


class ServerStandIn:
    """A started server as a :class:`~scf_plugins.StandIn` (what ``start_standin`` returns):
    its ``url`` is the server's, ``staff`` the city staff working in it (None for a server
    that keeps no requests), and leaving ``with`` stops it. A plugin subclasses it, starting
    its server in ``__init__`` and passing it (and its staff) to ``super().__init__``.
    """

    def __init__(self, server: Serving, staff: StandInStaff | None = None) -> None:
        self.server = server
        self.staff = staff

    @property
    def url(self) -> str:
        """What a config's ``url`` takes to reach the server."""
        return self.server.url

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


class Faults:
    """Faults armed on a stand-in for its next calls (thread-safe): each is a kind, applied
    to the next ``count`` calls whose path contains ``match`` (any case)."""

    def __init__(self, kinds: tuple[str, ...]) -> None:
        self.kinds = kinds
        self._armed: list[list[Any]] = []  # [kind, calls left, match]
        self._lock = threading.Lock()

    def arm(self, kind: str, count: int = 1, match: str = "") -> None:
        """Fail the next ``count`` calls whose path contains ``match`` with ``kind``.

        :raises ValueError: for a kind the stand-in does not know, naming those it does.
        """
        if kind not in self.kinds:
            raise ValueError(f"unknown fault {kind!r}; use one of: {', '.join(self.kinds)}")
        with self._lock:
            self._armed.append([kind, count, match.lower()])

    def take(self, path: str) -> str | None:
        """The fault to apply to this call, if one is armed for it (using it up once)."""
        path = path.lower()
        with self._lock:
            for fault in self._armed:
                if fault[2] in path:
                    fault[1] -= 1
                    if fault[1] <= 0:
                        self._armed.remove(fault)
                    return str(fault[0])
        return None

    def __len__(self) -> int:
        """How many faults are still armed (none: every one was hit)."""
        with self._lock:
            return len(self._armed)

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._armed.clear()


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


def control(at: str, action: str, body: dict[str, Any], *, root_before: str, start: str) -> Any:
    """POST one control request (``/__emulator/ACTION``) to a running stand-in; one clear line
    for whatever goes wrong.

    :param at: the stand-in's address as the user gave it (``--at``).
    :param root_before: the path where the stand-in's own API starts (``/Cityworks``): cut
        off, so the address it printed works too.
    :param start: the command that starts one, for the message when none answers.
    """
    import requests

    root = at.rstrip("/").split(root_before)[0]
    if not root.startswith(("http://", "https://")):
        raise click.ClickException(f"--at {at!r} is not an http URL; use the emulator's root")
    try:
        answer = requests.post(f"{root}/__emulator/{action}", json=body, timeout=30)
    except requests.RequestException as exc:
        raise click.ClickException(
            f"no emulator answers at {root} ({type(exc).__name__}); start one with "
            f"`{start}`, or give --at"
        ) from None
    try:
        data = answer.json()
    except ValueError:
        raise click.ClickException(f"{root} did not answer like the emulator") from None
    if answer.status_code != 200:
        said = data.get("error") if isinstance(data, dict) else None
        raise click.ClickException(f"the emulator refused it: {said or answer.status_code}")
    return data
