"""The one place a plugin keeps what is costly to build per integration: a client, a session.

A plugin asks :func:`resource_for` on every call and gets the resource built for those very
settings::

    client = resource_for(integration, AcmeClient)   # AcmeClient(integration), built once

The host keeps one resource per integration (or geocoder), environment and builder in the
process. It is built on first use and given back while the settings stay the same (equal
``Integration``: its URL, user, password, named secrets, options, timeouts…). When they change
(a reloaded config, a password saved again, a test's new emulator) the old one is closed and a
new one built; every resource left is closed when the process exits. So no plugin keeps a
module-level cache, decides when to rebuild it, or needs its tests to forget it.

Closing calls the resource's ``close()`` when it has one. A resource is shared by every thread
of the process: make it thread-safe (the host's ``HttpClient`` is).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .models import Geocoder, Integration

log = logging.getLogger(__name__)

S = TypeVar("S", "Integration", "Geocoder")
T = TypeVar("T")

# (kind, name, environment, builder) -> (the settings it was built for, the resource)
_kept: dict[tuple[str, str, str, str], tuple[Any, Any]] = {}
_lock = threading.Lock()
_registered = False


def resource_for(settings: S, build: Callable[[S], T]) -> T:
    """The resource ``build(settings)`` made for these settings, built now if there is none
    or the settings changed since (the old one closed).

    :param settings: the integration's (or geocoder's) settings, as the hook got them.
    :param build: makes the resource from the settings (a class, or a module function: it
        names the resource, so one plugin may keep more than one per integration).
    """
    global _registered
    key = (
        type(settings).__name__,
        settings.name,
        str(getattr(settings, "environment", "")),
        f"{getattr(build, '__module__', '')}.{getattr(build, '__qualname__', repr(build))}",
    )
    with _lock:
        kept = _kept.get(key)
        if kept is not None and kept[0] == settings:
            return kept[1]  # type: ignore[no-any-return]
        resource = build(settings)
        _kept[key] = (settings, resource)
        if not _registered:
            atexit.register(close_resources)
            _registered = True
    if kept is not None:
        _close(kept[1])  # the settings changed: the old one goes
    return resource


def close_resources() -> None:
    """Close every resource kept (at exit; tests that need a fresh start)."""
    with _lock:
        kept = list(_kept.values())
        _kept.clear()
    for _, resource in kept:
        _close(resource)


def _close(resource: Any) -> None:
    close = getattr(resource, "close", None)
    if callable(close):
        with contextlib.suppress(Exception):  # closing must never fail a call or the exit
            close()


__all__ = ["close_resources", "resource_for"]
