"""Step 1 of a pass: submit Open issues, up to ``max_concurrency`` creates at once.

Address validation runs first where the integration has a geocoder. The claim marks the
intent (``submit_attempted``), so a create whose answer is lost, or a crash before the local
commit, is looked up (``submit`` reconciles) before anything is created again.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_

from ..config import messages
from ..errors import AmbiguousError
from ..intake import places
from ..models import AddressCheck, Integration, Issue, Status, Submission
from ..store.store import issue_from_row
from ..store.tables import issues
from . import circuits, leases, linking
from .answers import plugin_state_json, submission_problem
from .context import StepContext
from .outcomes import PassReport, describe, error_kind, uncertain
from .pending import await_resolution
from .retries import record_failure

log = logging.getLogger(__name__)


BREAKER_AFTER = 5  # consecutive transient failures before an integration is skipped this pass


def _claim(ctx: StepContext, integration: Integration, busy: set[int]) -> list[Issue]:
    """Lease the next few Open issues (never one this process is still sending)."""
    now = ctx.clock()
    with ctx.store.transaction() as conn:
        rows = leases.claim(
            conn,
            issues,
            [
                issues.c.status == Status.OPEN.value,
                issues.c.integration == integration.name,
                issues.c.remote_id.is_(None),
                issues.c.pending_token.is_(None),
                issues.c.held.is_(False),
                (issues.c.next_attempt_at.is_(None)) | (issues.c.next_attempt_at <= now),
                issues.c.id.not_in(busy),
                _settled(integration, now),
            ],
            owner=ctx.owner,
            now=now,
            lease=ctx.lease,
            limit=integration.max_concurrency * leases.ROUNDS_PER_CLAIM,
        )
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        answers = ctx.store.answers_of(conn, ids)
        # The intent: from here on, a create for these issues may reach the remote system.
        conn.execute(
            issues.update()
            .where(issues.c.id.in_(ids), issues.c.lease_owner == ctx.owner)
            .values(submit_attempted=True, submit_attempted_at=now)
        )
    return [issue_from_row(row, answers[row["id"]]) for row in rows]


def _settled(integration: Integration, now: datetime) -> ColumnElement[bool]:
    """Issues whose last create, if any, can no longer be in flight.

    A worker killed mid-create leaves its claims to be taken over at once, but the remote
    system may still be carrying out the create it sent: looking for it then would find
    nothing and create it twice. So an attempted issue waits out the call's timeout (by then
    its sender had given up) before it is looked up and tried again.
    """
    cutoff = now - timedelta(seconds=integration.timeout_seconds)
    return or_(
        issues.c.submit_attempted.is_(False),
        issues.c.submit_attempted_at.is_(None),
        issues.c.submit_attempted_at <= cutoff,
    )


def _submit_one(
    ctx: StepContext, integration: Integration, issue: Issue
) -> tuple[str, Any, AddressCheck | None]:
    """Runs on a worker thread: validate the address, then submit. No store access here."""
    check = issue.address_check
    geocoder = ctx.settings.geocoder_for(integration)
    if geocoder is not None and check is None:
        # A place the geocoder answers is checked as a reported point is: one that cannot be
        # right comes back rejected, so on_reject decides (send the reported point, or hold).
        check = places.ask(
            functools.partial(ctx.host.validate_address, geocoder, issue),
            places.query_of(issue),
            ctx.settings.organization.service_area,
        )
        if check is not None and not check.accepted and geocoder.on_reject == "hold":
            return "held", None, check
    if check is not issue.address_check:
        issue = _with_check(issue, check)
    return "submitted", ctx.host.submit(integration, issue), check


def submit(ctx: StepContext, integration: Integration) -> None:
    """Step 1 for one integration.

    Keeps ``max_concurrency`` submissions in flight, claiming the next batch as soon as the
    queue runs dry (not when the batch is done), so no slot idles at batch boundaries.
    """
    queue: deque[Issue] = deque()
    pending: dict[Future[Any], Issue] = {}
    failures_in_a_row = 0
    exhausted = False
    try:
        with ctx.workers(f"submit-{integration.name}", integration.max_concurrency) as pool:
            while True:
                stopping = (
                    ctx.stop.is_set()
                    or ctx.tripped(integration)
                    or failures_in_a_row >= BREAKER_AFTER
                    or ctx.paused(integration) is not None
                )
                while not stopping and len(pending) < integration.max_concurrency:
                    if not queue and not exhausted:
                        busy = {i.id for i in pending.values()}
                        batch = _claim(ctx, integration, busy)
                        exhausted = not batch
                        queue.extend(batch)
                        if batch:
                            ctx.say(f"{integration.name}: submitting {len(batch)} more")
                    if not queue:
                        break
                    issue = queue.popleft()
                    pending[pool.submit(_submit_one, ctx, integration, issue)] = issue
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    issue = pending.pop(future)
                    kind = _apply(ctx, integration, issue, future)
                    failures_in_a_row = failures_in_a_row + 1 if kind == "transient" else 0
    finally:
        # Whatever ends the step, claimed issues never sent go back at once (those in flight
        # keep their intent mark, so the next attempt looks before it creates).
        if queue:
            _release(ctx, list(queue))
    if failures_in_a_row >= BREAKER_AFTER:
        ctx.report.problems.append(
            f"{integration.name}: {failures_in_a_row} failures in a row; "
            f"the rest waits for the next pass"
        )


def _release(ctx: StepContext, unsent: list[Issue]) -> None:
    """Give back claimed issues that were never sent, with their intent mark undone."""
    with ctx.store.transaction() as conn:
        for issue in unsent:
            conn.execute(
                issues.update()
                .where(issues.c.id == issue.id, issues.c.lease_owner == ctx.owner)
                .values(submit_attempted=issue.submit_attempted, submit_attempted_at=None)
            )
        leases.release(conn, issues, [i.id for i in unsent], ctx.owner)


def _apply(
    ctx: StepContext, integration: Integration, issue: Issue, future: Future[Any]
) -> str | None:
    """Record one submission's outcome; never raises for what the plugin returned."""
    now = ctx.clock()
    try:
        outcome, submission, check = future.result()
        if outcome == "held":
            _hold(ctx, issue, check, now)
            return None
        problem = submission_problem(submission)
        if problem:
            # The remote call returned, so the request may exist: look it up before a retry.
            raise AmbiguousError(f"{problem}; it is looked up by its marker before any retry")
        if not submission.remote_id:
            _await(ctx, integration, issue, submission, now)
            return None
        return linking.link(ctx, integration, issue, submission, check, now)
    except Exception as exc:  # a plugin bug must cost one issue a retry, not the pass
        if circuits.integration_wide(exc):
            # Down as a whole: nothing was sent, and the issue is not to blame.
            ctx.trip(integration, exc)
            _release(ctx, [issue])
            return "down"
        kind = error_kind(exc)
        ctx.failed(
            f"issue {issue.id} ({integration.name})",
            exc,
            integration=integration.name,
            issue_id=issue.id,
        )
        ctx.pause(integration, exc)
        with ctx.store.transaction() as conn:
            record_failure(
                conn,
                issue.id,
                ctx.owner,
                kind,
                describe(exc),
                now,
                submit_attempted=issue.submit_attempted or uncertain(exc),
                retry_after=getattr(exc, "retry_after", None),
                plugin_state=_state_of(exc, ctx.report, issue),
            )
        return kind


def _state_of(exc: BaseException, report: PassReport, issue: Issue) -> str | None:
    """The plugin state an :class:`AmbiguousError` carries, as JSON (None: none, or unusable:
    said once in the pass report, and the issue keeps what it had)."""
    try:
        return plugin_state_json(getattr(exc, "plugin_state", None))
    except ValueError as problem:
        report.problems.append(f"issue {issue.id}: {problem}")
        return None


def _await(
    ctx: StepContext,
    integration: Integration,
    issue: Issue,
    submission: Submission,
    now: datetime,
) -> None:
    """The create was accepted under a token: the issue waits, pending, for its remote id."""
    token = str(submission.token)
    with ctx.store.transaction() as conn:
        waiting = await_resolution(
            conn,
            issue.id,
            ctx.owner,
            token,
            now,
            plugin_state=plugin_state_json(submission.plugin_state),
        )
    if waiting:
        ctx.report.submitted += 1
        ctx.report.pending += 1
        log.info(
            "issue %s pending as token %s",
            issue.id,
            token,
            extra={"integration": integration.name, "issue_id": issue.id, "token": token},
        )


def _hold(
    ctx: StepContext,
    issue: Issue,
    check: AddressCheck | None,
    now: datetime,
) -> None:
    ctx.report.held += 1
    reason = check.reason if check else "not verified"
    template = (
        ctx.settings.organization.address_rejected_message or messages.DEFAULTS["address_rejected"]
    )
    note = messages.render(
        template,
        "address_rejected",
        issue_id=issue.id,
        address=issue.address or "",
        reason=reason,
    )
    with ctx.store.transaction() as conn:
        record_failure(
            conn,
            issue.id,
            ctx.owner,
            "held",
            note,
            now,
            submit_attempted=issue.submit_attempted,
            check=check,
            held=True,
        )


def _with_check(issue: Issue, check: AddressCheck | None) -> Issue:
    return dataclasses.replace(issue, address_check=check)
