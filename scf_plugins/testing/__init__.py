"""What a plugin author tests with: the contract suite, a scripted loopback server, and
integrations built for tests.

- :class:`RemoteSystemContract` (:mod:`.contract`): the tests every remote-system plugin
  must pass, and :class:`Staff` (from :mod:`scf_plugins.standin`): what the suite needs city
  staff to do;
- :class:`LoopbackServer`, :class:`Reply`, :class:`Seen` and the ``loopback`` fixture
  (:mod:`.loopback`): a server on 127.0.0.1 that misbehaves on cue;
- :func:`make_integration`: an :class:`~scf_plugins.Integration` with test defaults;
- :class:`FakeRemote` and :class:`FakeStaff` (:mod:`.fake`): an in-memory remote system;
- :func:`build_manager` and :class:`PluginHost`: a host with only the plugin under test
  (``build_manager(load_entry_points=False)``, then ``register``), routed as in production;
- :class:`Harness`, :class:`Clock` and :class:`Door` (:mod:`.harness`): one way to test a
  host (its config, store, plugins, passes on a clock, CLI and Open311 door), and the
  ``harness`` and ``scf_database`` fixtures (:mod:`.fixtures`) that make them under pytest;
- :func:`wait_for` (:mod:`.waiting`): wait for an event with a deadline, not for time.

- :mod:`.standins`: what a plugin's stand-in server (``scf emulator NAME``) is built on, with
  :class:`StandInServer` and :class:`StandInHTTPServer` (:mod:`.servers`): start, stop at
  once, keep-alive connections closed on stop.

The contract suite and the loopback server need pytest, and the harness the host's heavy
internals; they are imported when first named, so a plugin's emulator can import
:mod:`.standins` in production, where pytest is absent.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..models import ActivityRule, Integration, Secret, frozen_mapping
from ..plugins import PluginHost, build_manager
from ..standin import Staff
from . import standins
from .fake import FakeRemote, FakeStaff
from .servers import Served, StandInHTTPServer, StandInServer, multipart_parts
from .waiting import wait_for

if TYPE_CHECKING:
    from .contract import RemoteSystemContract
    from .databases import fresh_database
    from .door import Door
    from .harness import Clock, Harness
    from .loopback import LoopbackServer, Reply, Seen, loopback

# The names that need pytest (or, for the harness, the host's heavy internals), and the
# module each comes from.
_NEED_PYTEST = {
    "Clock": "harness",
    "Door": "door",
    "Harness": "harness",
    "fresh_database": "databases",
    "RemoteSystemContract": "contract",
    "LoopbackServer": "loopback",
    "Reply": "loopback",
    "Seen": "loopback",
    "loopback": "loopback",
}


def __getattr__(name: str) -> Any:
    """Import the pytest-bound names on first use (PEP 562)."""
    if name in _NEED_PYTEST:
        return getattr(importlib.import_module(f".{_NEED_PYTEST[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# A made-up secret, for tests only: the contract checks it never shows in an error or log.
TEST_PASSWORD = "Kit-Test-Pass-4417"  # noqa: S105


def make_integration(plugin: str, url: str = "http://127.0.0.1:9", **overrides: Any) -> Integration:
    """An :class:`~scf_plugins.Integration` for ``plugin`` at ``url`` with test defaults: a
    password (``TEST_PASSWORD``), closed and cancel statuses, one activity rule on
    ``DispatchTo``, a short timeout. Any field may be overridden; ``options`` may be a dict.

    :param plugin: the name the plugin is registered under.
    :param url: the remote system's base URL (a :class:`LoopbackServer`'s ``url``).
    """
    fields: dict[str, Any] = {
        "name": plugin,
        "plugin": plugin,
        "environment": "test",
        "url": url,
        "user": "scf-test",
        "password": Secret(TEST_PASSWORD),
        "closed_statuses": ("CLOSED",),
        "cancel_statuses": ("CANCEL",),
        "activity": (ActivityRule("DispatchTo", "Assigned to {value}."),),
        "timeout_seconds": 5.0,
    }
    fields.update(overrides)
    fields["options"] = frozen_mapping(fields.get("options"))
    return Integration(**fields)


__all__ = [
    "TEST_PASSWORD",
    "Clock",
    "Door",
    "FakeRemote",
    "FakeStaff",
    "Harness",
    "LoopbackServer",
    "PluginHost",
    "RemoteSystemContract",
    "Reply",
    "Seen",
    "Served",
    "Staff",
    "StandInHTTPServer",
    "StandInServer",
    "build_manager",
    "fresh_database",
    "loopback",
    "make_integration",
    "multipart_parts",
    "standins",
    "wait_for",
]
