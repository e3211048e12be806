"""Running the integration: ``scf sync`` and ``scf demo``."""

from __future__ import annotations

import dataclasses
import logging
import signal
import sys
from datetime import timedelta
from typing import TYPE_CHECKING

import click

from ..engine.outcomes import PassReport
from ..intake.sanitize import for_terminal
from .app import App
from .root import cli, echo, pass_app

if TYPE_CHECKING:
    from ..config.settings import Settings

log = logging.getLogger(__name__)


@cli.command("sync")
@click.option("--once", is_flag=True, help="Run one pass and exit.")
@click.option(
    "--interval",
    type=click.FloatRange(1, 86400),
    help="Seconds between poll rounds (default: each integration's poll_interval_seconds, "
    "60). New reports are submitted within a second whatever this is.",
)
@click.option(
    "--lease-seconds",
    type=click.FloatRange(0.1, 86400),
    default=60,
    show_default=True,
    help="How long claimed work stays claimed if this process dies on another machine "
    "(leases are renewed while it works; on this machine a dead process's work is taken "
    "over at once).",
)
@pass_app
def sync_cmd(app: App, once: bool, interval: float | None, lease_seconds: float) -> None:
    """Run sync passes: submit, poll, push comments, archive.

    With --once, one whole pass, exit 1 if it had errors. Otherwise until SIGINT/SIGTERM:
    new reports are submitted as they arrive while polling keeps its own cadence, and a
    changed config file is used from the next pass (SIGHUP: read it now).
    """
    from ..config.watch import ConfigWatch
    from ..engine.loop import Engine

    def prepare(settings: Settings) -> Settings:
        return settings if interval is None else with_poll_interval(settings, interval)

    watch = ConfigWatch(prepare(app.settings), prepare, app.host.plugin_options)
    engine = Engine(watch.current, app.host, app.store, lease=timedelta(seconds=lease_seconds))
    if sys.stderr.isatty():
        engine.progress = lambda text: click.echo(
            f"\r{for_terminal(text, one_line=True)[:70]:<70}", err=True, nl=False
        )

    def stop(signum: int, _frame: object) -> None:
        engine.request_stop()
        echo(f"\nstopping: calls in flight are abandoned ({signal.Signals(signum).name})", err=True)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    signal.signal(signal.SIGHUP, lambda _signum, _frame: watch.ask())
    number = 0

    def show(kind: str, report: PassReport) -> None:
        nonlocal number
        number += 1
        if engine.progress:
            click.echo("\r" + " " * 72 + "\r", err=True, nl=False)
        echo(f"pass {number}{'' if once else f' ({kind})'}: {report.summary()}")

    if once:
        report = engine.run_pass()
        show("whole", report)
        # Stopped on request: calls abandoned on the way out are not failures (the next
        # run looks up any create or comment that may have gone through).
        sys.exit(1 if report.errors and not engine.stop.is_set() else 0)

    def reload_if_changed() -> None:
        fresh = watch.check()
        if fresh is not None:
            engine.use(fresh)

    engine.run_continuously(show, between=reload_if_changed)
    sys.exit(0)


def with_poll_interval(settings: Settings, seconds: float) -> Settings:
    """``settings`` with every integration polled every ``seconds`` (``--interval``)."""
    return dataclasses.replace(
        settings,
        integrations={
            name: dataclasses.replace(i, poll_interval_seconds=seconds)
            for name, i in settings.integrations.items()
        },
    )


@cli.command("demo")
@click.option("--keep", type=click.Path(file_okay=False), help="Keep the demo's files here.")
@pass_app
def demo_cmd(app: App, keep: str | None) -> None:
    """The whole lifecycle on SQLite and the built-in Cityworks emulator; no config needed."""
    from pathlib import Path

    from .demo import run_demo

    errors = run_demo(app.host, echo, Path(keep) if keep else None)
    sys.exit(1 if errors else 0)
