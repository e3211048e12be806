"""The console under test: the Cityworks emulator, a host whose config points at it (a
:class:`~scf_plugins.testing.Harness` on a fresh store), and ``scf serve`` with its engine
serving that host on a free loopback port, built and run as the command does it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scf_plugins.server.running import Serving, bound_url, build
from scf_plugins.testing import Harness, wait_for

from ..conftest import PASSWORD, POTHOLE_ANSWERS, WORLD_CONFIG

# The engine looks again every second, so what a page starts (a retry, a comment) is done
# while the test watches, without waiting a minute for the next round.
POLL = "poll_interval_seconds = 1"


@dataclass
class Site:
    """A served console: ``url`` is ``http://127.0.0.1:PORT`` (no trailing slash)."""

    harness: Harness
    serving: Serving
    thread: threading.Thread
    url: str
    accounts: dict[str, str] = field(default_factory=dict)

    @property
    def emulator(self) -> Any:
        """The Cityworks emulator (``.state`` holds its requests, comments and faults)."""
        return self.harness.emulator

    def account(self, name: str, role: str = "admin", password: str | None = None) -> str:
        """Make a console account with ``scf staff create NAME --role ROLE --stdin``; returns
        its password."""
        password = password or f"{name.capitalize()}-Console-Pass-8813"
        self.harness.cli_ok(
            "staff", "create", name, "--role", role, "--stdin", input=password + "\n"
        )
        self.accounts[name] = password
        return password

    def report(self, summary: str = "Deep pothole", **fields: str) -> int:
        """Report a pothole through ``scf report`` and wake the engine; returns the issue's id."""
        issue_id = self.harness.report("POTHOLE", summary=summary, **fields)
        if self.serving.engine is not None:
            self.serving.engine.wake()
        return issue_id

    def show(self, issue_id: int) -> dict[str, Any]:
        """The issue as ``scf issues show --json`` shows it."""
        return self.harness.show(issue_id)

    def stop(self) -> None:
        """Stop serving and let the engine finish its step, as SIGTERM does."""
        self.serving.request_stop()
        self.thread.join(60)


def start_site(
    make_harness: Callable[..., Harness], *, password: bool = True, extra: str = "", tail: str = ""
) -> Site:
    """Start the emulator and serve a host pointed at it.

    :param make_harness: the kit's ``harness`` fixture (closes what it made with the test).
    :param password: give the integration its test password (in the environment, as an
        operator's secret store would); without it an administrator saves one in the console.
    :param extra: more lines of ``[integrations.cityworks]`` (``address_validation = …``).
    :param tail: more of the config after it (a geocoder, another integration), pointing at
        stand-ins the test started itself.
    """
    from scf_cityworks.emulator import Emulator, EmulatorState

    emulator = Emulator(EmulatorState(users={"scf-int": PASSWORD})).start()
    try:
        harness = make_harness(
            WORLD_CONFIG.format(url=emulator.url, extra=f"{POLL}\n{extra}", tail=tail),
            passwords={"cityworks.test": PASSWORD} if password else {},
            default_answers={"POTHOLE": POTHOLE_ANSWERS},
            emulator=emulator,  # stopped with the harness
        )
    except BaseException:
        emulator.stop()
        raise
    if password:
        harness.cli_ok("request-types", "--refresh")
    serving = build(harness.settings, harness.host, harness.store(), port=0, sync=True)
    thread = threading.Thread(target=serving.run, name="scf-serve", daemon=True)
    thread.start()
    wait_for(lambda: serving.server.started or not thread.is_alive(), 15, "scf serve to listen")
    assert thread.is_alive(), "scf serve stopped before it listened"
    site = Site(harness, serving, thread, bound_url(serving.server))
    harness.keep(site)  # stopped before the harness closes its store and the emulator
    return site
