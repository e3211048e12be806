"""``scf notifications retry ID``: send again an email to a resident whose send was
interrupted (uncertain), failed or was refused; it reads its argument, calls
:mod:`scf_plugins.ops.notifying` and prints."""

from __future__ import annotations

import click

from ..ops import notifying
from .app import App
from .root import cli, echo, pass_app


@cli.group("notifications")
def notifications_group() -> None:
    """Emails to residents about their reports (``scf issues show ID`` lists an issue's)."""


@notifications_group.command("retry")
@click.argument("notification_id", type=int)
@pass_app
def notifications_retry(app: App, notification_id: int) -> None:
    """Send notification ID again on the next pass: one whose send was interrupted after the
    mail server may have taken it (uncertain: the resident may get it twice), or that failed
    or was refused. One the resident unsubscribed from, or that was sent, is left alone."""
    done = notifying.retry(app.settings, app.store, notification_id, actor=app.actor)
    echo(done.text())
