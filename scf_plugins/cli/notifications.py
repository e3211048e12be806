"""``scf notifications list|retry|dismiss``: residents' emails found by state, one sent again
(its send interrupted, failed or refused), or let go; each reads its arguments, calls
:mod:`scf_plugins.ops.notifying` and prints."""

from __future__ import annotations

import sys

import click

from ..ops import notifying
from ..ops.views import dumps, table
from ..timeutil import iso, local_time
from .app import App
from .root import cli, echo, pass_app


@cli.group("notifications")
def notifications_group() -> None:
    """Emails to residents about their reports (``scf issues show ID`` lists an issue's)."""


@notifications_group.command("list")
@click.option(
    "--state",
    "state_",
    type=click.Choice(notifying.STATES),
    help="Only notifications in this state: 'waiting' to be sent, 'failing' (waiting; the last "
    "try failed), 'uncertain' (the send was interrupted after the mail server may have taken "
    "it: see retry and dismiss), 'sent', or 'skipped' (and why).",
)
@click.option("--limit", type=click.IntRange(1, notifying.MAX_LISTED), default=50,
              show_default=True)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def notifications_list(app: App, state_: str | None, limit: int, as_json: bool) -> None:
    """Notifications, newest first, never with the resident's address. 'when' is when it was
    sent, since when it is uncertain, when it is tried next (waiting, failing) or when it was
    queued (skipped)."""
    found = notifying.listing(app.store, state_, limit)
    if as_json:
        echo(dumps([f.json() for f in found]))
        return
    zone = app.settings.organization.zone
    rows = [[f.id, f.issue_id, f.kind, f.state, local_time(iso(f.when), zone), f.reason or ""]
            for f in found]  # fmt: skip
    echo(table(["id", "issue", "kind", "state", "when", "reason"], rows))


@notifications_group.command("retry")
@click.argument("notification_id", type=int)
@pass_app
def notifications_retry(app: App, notification_id: int) -> None:
    """Send notification ID again on the next pass: one whose send was interrupted after the
    mail server may have taken it (uncertain: the resident may get it twice), or that failed
    or was refused. One the resident unsubscribed from, or that was sent, is left alone."""
    done = notifying.retry(app.settings, app.store, notification_id, actor=app.actor)
    echo(done.text())


@notifications_group.command("dismiss")
@click.argument("notification_ids", type=int, nargs=-1, required=True)
@pass_app
def notifications_dismiss(app: App, notification_ids: tuple[int, ...]) -> None:
    """Let uncertain or failing notifications go: each is skipped for good ("dismissed by"
    you, audited) and no longer counted; `retry ID` would send one after all. One line per
    notification; exits 1 when any could not be dismissed."""
    outcomes = list(notifying.dismiss(app.store, notification_ids, actor=app.actor))
    for outcome in outcomes:
        echo(outcome.line())
    sys.exit(0 if all(o.done for o in outcomes) else 1)
