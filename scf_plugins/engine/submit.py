"""Step 1 of a pass: submit Open issues, up to ``max_concurrency`` creates at once.

Address validation runs first where the integration has a geocoder. The claim marks the
intent (``submit_attempted``, and when: ``submit_attempted_at``), so a create whose answer is
lost, or a crash before the local commit, is looked up (``submit`` reconciles) before anything
is created again.

A create a dead worker left in flight is looked up at once by the worker that takes it over
(:mod:`.inflight`): found, it is linked; not found, it waits out the call timeout.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections import deque
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from datetime import datetime
from typing import Any

from ..config import messages
from ..errors import AmbiguousError
from ..intake import places
from ..models import AddressCheck, Integration, Issue, Status, Submission
from ..store.store import issue_from_row
from ..store.tables import issues
from . import circuits, inflight, leases, linking
from .answers import plugin_state_json, submission_problem
from .context import StepContext
from .outcomes import PassReport, describe, error_kind, uncertain
from .pending import await_resolution
from .retries import record_failure

log = logging.getLogger(__name__)


BREAKER_AFTER = 5  # consecutive transient failures before an integration is skipped this pass


@dataclasses.dataclass(frozen=True)
class Claimed:
    """A claimed issue; ``in_flight_since`` is set when a dead worker's create of it may
    still be under way (it was sent then): that one is only looked up."""

    issue: Issue
    in_flight_since: datetime | None = None


def _claim(ctx: StepContext, integration: Integration, busy: set[int]) -> list[Claimed]:
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
        claimed = [
            Claimed(
                issue_from_row(row, answers[row["id"]]),
                inflight.sent_at(
                    row["submit_attempted"], row["submit_attempted_at"], integration, now
                ),
            )
            for row in rows
        ]
        # The intent: from here on, a create for these issues may reach the remote system.
        # (Not for those only looked up: their time is the dead worker's, and is kept.)
        sending = [c.issue.id for c in claimed if c.in_flight_since is None]
        conn.execute(
            issues.update()
            .where(issues.c.id.in_(sending), issues.c.lease_owner == ctx.owner)
            .values(submit_attempted=True, submit_attempted_at=now)
        )
    return _with_meta(ctx, claimed)


def _with_meta(ctx: StepContext, claimed: list[Claimed]) -> list[Claimed]:
    """Each answer given its question's ``meta`` from the cached request type, so ``submit``
    gets back what the plugin said of the question (its datatype, a field name)."""
    metas: dict[tuple[str, str], Mapping[str, Any]] = {}
    for code in {c.issue.request_type for c in claimed}:
        request_type = ctx.store.request_type(code)
        for question in request_type.questions if request_type else ():
            if question.meta:
                metas[(code, question.id)] = question.meta
    if not metas:
        return claimed
    return [
        dataclasses.replace(c, issue=dataclasses.replace(c.issue, answers=tuple(
            dataclasses.replace(a, meta=metas.get((c.issue.request_type, a.question_id), a.meta))
            for a in c.issue.answers
        )))
        for c in claimed
    ]  # fmt: skip


def _submit_one(
    ctx: StepContext, integration: Integration, claimed: Claimed
) -> tuple[str, Any, AddressCheck | None]:
    """Runs on a worker thread: validate the address, then submit (or only look the create
    up, for one a dead worker may have in flight). No store access here."""
    issue = claimed.issue
    if claimed.in_flight_since is not None:
        return _look_up(ctx, integration, issue)
    check = issue.address_check
    geocoder = ctx.settings.geocoder_for(integration)
    if geocoder is not None and check is None:
        # A place the geocoder answers is checked as a reported point is: one that cannot be
        # right comes back rejected, so on_reject decides (send the reported point, or hold).
        try:
            check = places.ask(
                functools.partial(ctx.host.validate_address, geocoder, issue),
                places.query_of(issue),
                ctx.settings.organization.service_area,
            )
        except Exception as exc:
            circuits.not_the_integrations(exc, geocoder.name)
            raise
        if check is not None and not check.accepted and geocoder.on_reject == "hold":
            return "held", None, check
    if check is not issue.address_check:
        issue = _with_check(issue, check)
    return "submitted", ctx.host.submit(integration, issue), check


def _look_up(
    ctx: StepContext, integration: Integration, issue: Issue
) -> tuple[str, Any, AddressCheck | None]:
    """The plugin's reconciling ``submit``, looking only (see :mod:`.inflight`)."""
    submission = inflight.look(lambda: ctx.host.submit(integration, issue))
    if submission is None:
        return "not found", None, None
    if isinstance(submission, Submission) and submission.created is not False:
        # Its create did not go through the host's HTTP client, so nothing stopped it.
        log.warning(
            "issue %s: %s created a request while the host only looked for one (its calls do "
            "not go through scf_plugins.HttpClient); it is linked, and may be a duplicate",
            issue.id,
            integration.plugin,
            extra={"integration": integration.name, "issue_id": issue.id},
        )
    return "submitted", submission, None


def submit(ctx: StepContext, integration: Integration) -> None:
    """Step 1 for one integration.

    Keeps ``max_concurrency`` submissions in flight, claiming the next batch as soon as the
    queue runs dry (not when the batch is done), so no slot idles at batch boundaries.
    """
    queue: deque[Claimed] = deque()
    pending: dict[Future[Any], Claimed] = {}
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
                        busy = {c.issue.id for c in pending.values()}
                        batch = _claim(ctx, integration, busy)
                        exhausted = not batch
                        queue.extend(batch)
                        if batch:
                            ctx.say(f"{integration.name}: submitting {len(batch)} more")
                    if not queue:
                        break
                    claimed = queue.popleft()
                    pending[pool.submit(_submit_one, ctx, integration, claimed)] = claimed
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    kind = _apply(ctx, integration, pending.pop(future), future)
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


def _release(ctx: StepContext, unsent: list[Claimed]) -> None:
    """Give back claimed issues that were never sent, with their intent mark undone (those
    only to be looked up keep the dead worker's)."""
    with ctx.store.transaction() as conn:
        for claimed in unsent:
            if claimed.in_flight_since is not None:
                continue
            conn.execute(
                issues.update()
                .where(issues.c.id == claimed.issue.id, issues.c.lease_owner == ctx.owner)
                .values(submit_attempted=claimed.issue.submit_attempted, submit_attempted_at=None)
            )
        leases.release(conn, issues, [c.issue.id for c in unsent], ctx.owner)


def _apply(
    ctx: StepContext, integration: Integration, claimed: Claimed, future: Future[Any]
) -> str | None:
    """Record one submission's outcome; never raises for what the plugin returned."""
    now, issue = ctx.clock(), claimed.issue
    try:
        outcome, submission, check = future.result()
        if outcome == "not found":
            _wait_for_in_flight(ctx, integration, claimed, None)
            return None
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
            _release(ctx, [claimed])
            return "down"
        kind = error_kind(exc)
        ctx.failed(
            f"issue {issue.id} ({integration.name})",
            exc,
            integration=integration.name,
            issue_id=issue.id,
        )
        ctx.pause(integration, exc)
        if ctx.tripped(integration) and circuits.no_answer(exc) and not uncertain(exc):
            # A call of the outage that carried nothing out: not charged, as when down.
            _release(ctx, [claimed])
            return "down"
        if claimed.in_flight_since is not None:
            # Only a look-up failed; recording it as an attempt would forget when the dead
            # worker's create was sent, and that is what keeps it from being sent twice.
            _wait_for_in_flight(ctx, integration, claimed, describe(exc))
            return kind
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


def _wait_for_in_flight(
    ctx: StepContext, integration: Integration, claimed: Claimed, error: str | None
) -> None:
    """The create a dead worker may have in flight was not found (or not looked up): the
    issue waits, uncharged, until that create can no longer be under way."""
    assert claimed.in_flight_since is not None  # only looked-up issues get here
    with ctx.store.transaction() as conn:
        inflight.wait(conn, issues, claimed.issue.id, ctx.owner, claimed.in_flight_since,
                      integration, f"issue {claimed.issue.id}", error)  # fmt: skip


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
