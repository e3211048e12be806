"""Look-only calls: a plugin call in which nothing that changes the remote system is sent.

The engine looks up at once the creates, comments and photos a dead worker may have left in
flight, through the plugin's own idempotent path (``submit`` with ``submit_attempted``,
``push_comment`` with ``push_attempted``…): the plugin searches by the marker and returns what
it found, or goes on to create. Under :func:`look_only` that create is refused before a byte of
it is sent, since the dead worker's call may still be under way remotely and a second one
would be a duplicate. :class:`~scf_plugins.net.http.HttpClient` asks :func:`check_change`
before every call made with ``idempotent=False``, so any plugin whose changing calls go through
the host's client (as every plugin's must) is covered.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

_local = threading.local()


class ChangeRefused(Exception):
    """A call that would change the remote system was refused unsent: this thread is looking
    only. Deliberately not a :class:`~scf_plugins.errors.RemoteError`, which a plugin may
    catch and turn into another kind."""


@dataclass
class Looking:
    """One look-only scope: ``refused`` names the changing call refused in it, if any (the
    plugin may have caught :class:`ChangeRefused`; this still says that it found nothing)."""

    refused: str | None = None


@contextlib.contextmanager
def look_only() -> Iterator[Looking]:
    """Refuse, on this thread and inside the block, every call that would change the remote
    system (see :func:`check_change`)."""
    previous = getattr(_local, "looking", None)
    looking = Looking()
    _local.looking = looking
    try:
        yield looking
    finally:
        _local.looking = previous


def check_change(what: str) -> None:
    """Called before a call that changes the remote system is sent.

    :raises ChangeRefused: when this thread is looking only.
    """
    looking: Looking | None = getattr(_local, "looking", None)
    if looking is not None:
        looking.refused = what
        raise ChangeRefused(f"{what}: not sent, the call was to look only")
