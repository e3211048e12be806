"""Step 1b of a pass: find the remote ids of creates left pending under a token.

A remote system that creates requests later (an Open311 ``batch`` service) answers a create
with a token. The issue stays Open and pending; this step asks the plugin's
``resolve_pending`` about a batch of them at a time, and acknowledges each issue (its message
naming the real remote id) once the id is known. Each issue is asked again after a delay that
grows from seconds to minutes; a token the remote system says it lost sends the issue back to
be submitted, after a look-up by its marker.
"""

from __future__ import annotations

import logging
from datetime import datetime

from ..errors import AmbiguousError
from ..intake.sanitize import clean
from ..models import Integration, Issue, Pending, Resolution, Status, Submission
from ..store.store import issue_from_row
from ..store.tables import issues
from . import circuits, leases
from .answers import MAX_REMOTE_ID, id_problem, plugin_state_json, state_problem
from .context import StepContext
from .linking import link
from .pending import await_resolution, drop_token

log = logging.getLogger(__name__)


def resolve(ctx: StepContext, integration: Integration) -> None:
    """Step 1b for one integration (nothing to do for a plugin that never gives tokens)."""
    if not ctx.host.implements("resolve_pending", integration.plugin):
        return
    while not ctx.stop.is_set() and not ctx.tripped(integration):
        claimed = _claim(ctx, integration)
        if not claimed:
            return
        _resolve_batch(ctx, integration, claimed)
        if len(claimed) < integration.poll_batch_size:
            return


def _claim(ctx: StepContext, integration: Integration) -> list[tuple[Issue, str, datetime]]:
    """Lease the pending issues that are due to be asked again: (issue, token, since when)."""
    now = ctx.clock()
    with ctx.store.transaction() as conn:
        rows = leases.claim(
            conn,
            issues,
            [
                issues.c.status == Status.OPEN.value,
                issues.c.integration == integration.name,
                issues.c.pending_token.is_not(None),
                (issues.c.next_attempt_at.is_(None)) | (issues.c.next_attempt_at <= now),
            ],
            owner=ctx.owner,
            now=now,
            lease=ctx.lease,
            limit=integration.poll_batch_size,
        )
    return [(issue_from_row(row), row["pending_token"], row["pending_since"]) for row in rows]


def _resolve_batch(
    ctx: StepContext, integration: Integration, claimed: list[tuple[Issue, str, datetime]]
) -> None:
    report = ctx.report
    pending = [
        Pending(issue.id, token, issue.marker, issue.plugin_state, since)
        for issue, token, since in claimed
    ]
    try:
        answers = ctx.host.resolve_pending(integration, pending)
        if not isinstance(answers, list):
            raise AmbiguousError(f"resolve_pending returned {type(answers).__name__}, not a list")
    except Exception as exc:  # the remote system or the plugin: ask again later
        if circuits.integration_wide(exc):
            ctx.trip(integration, exc)
        else:
            ctx.failed(f"{integration.name} pending creates", exc, integration=integration.name)
        answers = []
    by_id = {r.issue_id: r for r in answers if isinstance(r, Resolution)}
    now = ctx.clock()
    for issue, token, since in claimed:
        found = by_id.get(issue.id)
        problem = _problem(found)
        if problem:
            report.problems.append(f"issue {issue.id} ({integration.name}): {problem}")
            found = None
        if found is not None and found.remote_id:
            submission = Submission(
                remote_id=found.remote_id,
                created=False,  # counted as submitted when its token came
                status=found.status,
                plugin_state=found.plugin_state,
            )
            link(ctx, integration, issue, submission, None, now)
            continue
        with ctx.store.transaction() as conn:
            if found is not None and found.lost:
                reason = f"pending create {token} was lost: {clean(str(found.lost), 500)}"
                drop_token(conn, issue.id, ctx.owner, reason, now)
                where = {"integration": integration.name, "issue_id": issue.id}
                log.warning("issue %s: %s", issue.id, reason, extra=where)
                continue
            state = plugin_state_json(found.plugin_state) if found is not None else None
            await_resolution(conn, issue.id, ctx.owner, token, now, since=since, plugin_state=state)


def _problem(found: Resolution | None) -> str | None:
    """Why a resolution cannot be used (it is then treated as "not yet"), or None."""
    if found is None:
        return None
    if found.remote_id is not None:
        return id_problem(found.remote_id, "remote id", MAX_REMOTE_ID) or state_problem(
            found.plugin_state
        )
    return state_problem(found.plugin_state)
