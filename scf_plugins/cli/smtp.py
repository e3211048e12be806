"""``scf emulator smtp``: a mail server on this machine that prints each message it is sent,
for trying an ``[email]`` config without writing to anyone."""

from __future__ import annotations

import os
import signal
import threading
from typing import TYPE_CHECKING

import click

from .root import emulator_group

if TYPE_CHECKING:
    from ..net.smtp_sink import Received


@emulator_group.command("smtp")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8025, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--user",
    help='Take only this login (password: $SCF_EMULATOR_PASSWORD, default "emulator").',
)
def emulator_smtp(host: str, port: int, user: str | None) -> None:
    """Serve an SMTP sink that prints each message it is sent (its sender, recipients,
    subject and text) and keeps none. No TLS: point [email] at it with security = "none"."""
    from ..net.smtp_sink import SmtpSink  # aiosmtpd: loaded by this command only

    lock = threading.Lock()
    count = 0

    def show(message: Received) -> None:
        nonlocal count
        with lock:
            count += 1
            text = message.part("plain") or message.part("html") or "(no text part)"
            click.echo(
                f"--- message {count}: from {message.mail_from} to "
                f"{', '.join(message.rcpt_tos)}\nSubject: {message.subject}\n{text.rstrip()}\n"
            )

    users = {user: os.environ.get("SCF_EMULATOR_PASSWORD", "emulator")} if user else None
    try:
        sink = SmtpSink(host, port, users=users, on_message=show, keep=False)
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick another --port "
            f"(0: any free one)"
        ) from None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    sink.start()
    login = f'user = "{user}"' if user else "no login"
    click.echo(
        f'SMTP sink at {host}:{sink.port}; in scf.toml: [email] host = "{host}", '
        f'port = {sink.port}, security = "none", {login}. Ctrl-C stops.'
    )
    try:
        while not stop.wait(0.5):  # short waits: the signal handlers run between them
            pass
    finally:
        sink.stop()
