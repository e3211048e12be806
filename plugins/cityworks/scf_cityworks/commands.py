"""``scf emulator cityworks``: serve the Cityworks emulator in the foreground."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import click

from .emulator import Emulator, EmulatorState


@click.command("cityworks")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8899, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--user", default="scf-int", show_default=True, help="The login the emulator accepts."
)
@click.option(
    "--version",
    "cw_version",
    default="15.8.3",
    show_default=True,
    help="Cityworks version to report; 23 and later take the token in a header only.",
)
@click.option(
    "--timezone",
    default="America/New_York",
    show_default=True,
    help="The server's zone, for its naive local dates.",
)
@click.option("--latency", default=0.0, type=click.FloatRange(0, 60), help="Seconds per call.")
def emulator_command(
    host: str, port: int, user: str, cw_version: str, timezone: str, latency: float
) -> None:
    """Serve the Cityworks emulator (password: $SCF_EMULATOR_PASSWORD, default "emulator").

    Its state lives in memory and is gone when it stops; request and comment numbers start
    from the clock, so a restarted emulator does not hand out numbers it gave before.
    """
    password = os.environ.get("SCF_EMULATOR_PASSWORD", "emulator")
    state = EmulatorState(
        users={user: password},
        timezone=timezone,
        version=cw_version,
        header_token_only=cw_version.split(".")[0].isdigit()
        and int(cw_version.split(".")[0]) >= 23,
        latency=latency,
    )
    emulator = Emulator(state, host=host, port=port)
    stop = threading.Event()

    def _stop(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    emulator.start()
    click.echo(f"Cityworks emulator at {emulator.url}")
    click.echo(f"Cityworks {cw_version}, server time zone {timezone}; state is kept in memory only")
    click.echo("Use it in scf.toml:")
    click.echo(
        f'  [integrations.cityworks]\n  timezone = "{timezone}"\n\n'
        f'  [integrations.cityworks.test]\n  url = "{emulator.url}"\n  user = "{user}"'
    )
    click.echo(
        "and set the password with SCF_CITYWORKS_TEST_PASSWORD. City staff and faults: "
        f"POST {emulator.root}/__emulator/staff|fault|expire_tokens|latency. Ctrl-C stops."
    )
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
