"""The ``scf`` root group, its error handling, and the console-script entry point.

Every listing takes ``--json`` (stable shapes, see DESIGN.md); without it, people get tables.
A :class:`~scf_plugins.errors.ScfError` becomes one ``Error:`` line and a non-zero exit.
The store (SQLAlchemy) and the engine are imported inside the commands that use them, so that
``scf --help`` and plugin discovery stay fast.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import click

from ..errors import ScfError
from ..intake.sanitize import for_terminal
from ..net.redaction import redact
from ..ops import logs
from ..plugins import build_manager
from .app import App


class ScfGroup(click.Group):
    """A click group that turns the host's errors into one clear line."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; print an ScfError as one redacted line and exit 1."""
        try:
            return super().invoke(ctx)
        except ScfError as exc:
            raise click.ClickException(for_terminal(redact(str(exc)))) from None


pass_app = click.make_pass_decorator(App)


def echo(text: str = "", **options: Any) -> None:
    """``click.echo`` for people: data from outside never reaches the terminal as control or
    escape sequences (they are shown as visible escapes instead)."""
    click.echo(for_terminal(text), **options)


@click.group(cls=ScfGroup)
@click.option(
    "--config",
    "config",
    metavar="PATH",
    help="Org config file (default: $SCF_CONFIG, then ./scf.toml).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines on stderr as text or one JSON object each.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="Default: info with --log-format json (a line per remote call and transition), "
    "else warning.",
)
@click.pass_context
def cli(ctx: click.Context, config: str | None, log_format: str, log_level: str | None) -> None:
    """Keep a 311 CRM's issues in step with the work-order systems crews use."""
    logs.setup(log_format, log_level or ("info" if log_format == "json" else "warning"))
    if not isinstance(ctx.obj, App):
        ctx.obj = App(config)
    else:
        ctx.obj.config_arg = config or ctx.obj.config_arg


@cli.group("emulator")
def emulator_group() -> None:
    """Serve a stand-in remote system, for trying a config (plugins add one each)."""


def main(argv: list[str] | None = None) -> NoReturn:
    """The ``scf`` console script: plugins add their commands, then the CLI runs."""
    host = build_manager()
    host.register_commands(cli)
    try:
        cli.main(args=argv, prog_name="scf", obj=App(host=host))
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except UnicodeError:  # bytes that are not UTF-8 in an argument, reaching a write
        click.echo(
            "Error: an argument is not valid UTF-8 text; check the terminal's encoding", err=True
        )
        sys.exit(2)
    except Exception as exc:  # the last guard: one line, never a traceback
        if os.environ.get("SCF_DEBUG"):
            raise
        echo(
            f"Error: unexpected {type(exc).__name__}: {redact(str(exc))} "
            f"(set SCF_DEBUG=1 for the traceback, and please report it)",
            err=True,
        )
        sys.exit(2)
    sys.exit(0)
