"""Acknowledging an issue with the remote request a create (or a pending token) gave it, and
refusing a second link to a remote request another issue holds."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from ..errors import DefiniteError
from ..intake.sanitize import clean
from ..models import AddressCheck, Integration, Issue, Submission
from ..ops import telemetry
from ..store.links import Scope
from . import transitions
from .answers import STATUS_LIMIT, plugin_state_json
from .attention import flag
from .context import StepContext
from .retries import record_failure

log = logging.getLogger(__name__)


def link(
    ctx: StepContext,
    integration: Integration,
    issue: Issue,
    submission: Submission,
    check: AddressCheck | None,
    now: datetime,
) -> str | None:
    """Acknowledge the issue with its new link, unless that remote request is linked already
    at this endpoint (the store's unique index says so; an old unscoped link to the same id is
    left to its next poll, which finds another issue's marker there and flags it)."""
    status = clean(submission.status, STATUS_LIMIT) if isinstance(submission.status, str) else None
    try:
        with ctx.store.transaction() as conn:
            if transitions.acknowledge(
                conn,
                ctx.settings,
                integration,
                issue,
                ctx.owner,
                submission.remote_id,
                status,
                now,
                check,
                plugin_state_json(submission.plugin_state),
            ):
                ctx.report.acknowledged += 1
                ctx.report.submitted += int(submission.created is not False)
                telemetry.record_transition(integration.name, "acknowledged")
                log.info(
                    "issue %s acknowledged as %s",
                    issue.id,
                    submission.remote_id,
                    extra={
                        "integration": integration.name,
                        "issue_id": issue.id,
                        "remote_id": submission.remote_id,
                        "transition": "acknowledged",
                    },
                )
        return None
    except IntegrityError:  # the store's unique link index: that request is linked already
        with ctx.store.read() as conn:
            other = transitions.linked_elsewhere(
                conn, Scope.live(integration), submission.remote_id, issue.id
            )
    who = f"issue {other}" if other is not None else "another issue"
    text = (
        f"remote request {submission.remote_id} of {integration.name} is already linked to "
        f"{who}; not linked twice. Look at both issues in the remote system, then `scf links "
        f"withdraw`/`resubmit` the wrong one and `scf issues retry {issue.id}`"
    )
    ctx.failed(
        f"issue {issue.id} ({integration.name})",
        DefiniteError(text),
        integration=integration.name,
        issue_id=issue.id,
    )
    with ctx.store.transaction() as conn:
        flag(conn, issue.id, "conflict", text, now)
        record_failure(conn, issue.id, ctx.owner, "conflict", text, now, submit_attempted=True)
    return "conflict"
