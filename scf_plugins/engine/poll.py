"""Step 2 of a pass: poll the Acknowledged issues in batches and apply what changed.

Up to ``max_concurrency`` batches are in flight while earlier ones are applied; each batch is
applied in one transaction, each transition with its messages.
"""

from __future__ import annotations

import functools
import logging
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from datetime import datetime, timedelta

from sqlalchemy import Connection

from ..errors import RemoteError
from ..intake.sanitize import VALUE_LIMIT, clean_or_none
from ..models import Integration, RemoteState, RemoteUpdate, Tracked, frozen_mapping
from ..ops import telemetry
from ..store.links import Scope, legacy_marker
from ..store.store import plugin_state_of
from ..store.tables import fit, issues
from . import circuits, inbox, rounds, transitions
from .attention import ENDED_BY_A_GOOD_POLL, flag, unflag
from .context import StepContext
from .outcomes import describe, error_kind
from .rounds import Batch
from .updates import Polled, Row, link_problem, plan_updates

log = logging.getLogger(__name__)

RETRY_BATCH = timedelta(seconds=30)  # a batch whose poll failed waits this long
# What applying an update reads of an issue (messages name its summary and request type).
POLL_COLUMNS = tuple(issues.c[name] for name in Polled._fields)
NO_STATE = frozen_mapping()  # shared: most issues have no plugin state


def _batches(
    ctx: StepContext, integration: Integration
) -> Iterator[tuple[Batch, Sequence[Polled]]]:
    """The batches this worker wins of the integration's current poll round (see
    :mod:`.rounds`); only links made here, or old unscoped ones verified on adoption: a link
    of another environment is never polled against this one."""
    scope = Scope.live(integration)
    number = rounds.start_or_join(
        ctx.store.transaction,
        scope,
        integration.poll_batch_size,
        ctx.clock(),
        ctx.poll_gap(integration),
    )
    if number is None:
        return
    while not ctx.stop.is_set():
        now = ctx.clock()
        with ctx.store.transaction() as conn:
            batch = rounds.claim(conn, scope, number, ctx.owner, now, ctx.lease)
            if batch is None:
                rounds.finish_if_done(conn, scope, number, now)
                return
            rows = rounds.issues_of(conn, scope, batch, POLL_COLUMNS)
            if not rows:  # every issue of it closed meanwhile
                rounds.done(conn, batch, ctx.owner)
                continue
        yield batch, [Polled._make(row) for row in rows]


def poll(ctx: StepContext, integration: Integration) -> None:
    """Step 2 for one integration.

    Up to ``max_concurrency`` batches are in flight while earlier ones are applied, so the
    remote round trips overlap the local work; batches are applied in the order claimed.
    """
    report = ctx.report
    batches = _batches(ctx, integration)
    claimed_all = False  # once nothing is left to claim, each batch done may end the round
    in_flight: deque[tuple[Batch, Sequence[Polled], Future[list[RemoteUpdate]]]] = deque()
    with ctx.workers(f"poll-{integration.name}", integration.max_concurrency) as pool:

        def fill() -> None:
            nonlocal claimed_all
            while len(in_flight) < integration.max_concurrency and not ctx.stop.is_set():
                claimed = next(batches, None)
                if claimed is None:
                    claimed_all = True
                    return
                batch, rows = claimed
                tracked = [
                    Tracked(
                        r.id,
                        r.remote_id,
                        r.marker or legacy_marker(r.id),  # as links.marker_of (a mapping's)
                        plugin_state_of(r.plugin_state) if r.plugin_state else NO_STATE,
                    )
                    for r in rows
                ]
                future = pool.submit(ctx.host.poll, integration, tracked)
                in_flight.append((batch, rows, future))

        fill()
        while in_flight:
            batch, rows, future = in_flight.popleft()
            ctx.say(f"{integration.name}: polling {report.polled + len(rows)}")
            try:
                updates = future.result()
            except Exception as exc:  # a plugin bug costs this batch a retry, not the pass
                wide = circuits.integration_wide(exc)
                if wide:  # down as a whole: one line, and the batches wait for it, not a timer
                    ctx.trip(integration, exc)
                else:
                    ctx.failed(f"poll {integration.name}", exc, integration=integration.name)
                ctx.pause(integration, exc)
                failed = [batch]
                down = wide or (isinstance(exc, RemoteError) and error_kind(exc) == "transient")
                if down:  # drop what is in flight; it is tried again a little later
                    for more, _, pending in in_flight:
                        pending.cancel()
                        failed.append(more)
                    in_flight.clear()
                retry_at = ctx.clock() + (timedelta(0) if wide else RETRY_BATCH)
                with ctx.store.transaction() as conn:
                    rounds.back_off(conn, failed, ctx.owner, retry_at)
                if down:
                    return
                fill()
                continue
            report.polled += len(rows)
            _apply_updates(ctx, integration, batch, rows, updates, claimed_all)
            fill()


def _apply_updates(
    ctx: StepContext,
    integration: Integration,
    batch: Batch,
    rows: Sequence[Polled],
    updates: list[RemoteUpdate],
    last: bool,
) -> None:
    """Apply a batch in one transaction; if one update breaks it, apply each on its own, so
    one bad record costs only its own issue. The batch is then done for this round, and with
    ``last`` (this worker found nothing more to claim) the round may be finished."""
    by_id = {r.id: r for r in rows}
    try:
        plan = plan_updates(integration, by_id, updates)
    except Exception as exc:  # not a list of updates at all: the whole batch is unreadable
        ctx.failed(f"poll {integration.name}", exc, integration=integration.name)
        with ctx.store.transaction() as conn:
            rounds.back_off(conn, [batch], ctx.owner, ctx.clock() + RETRY_BATCH)
        return
    now = ctx.clock()
    try:
        with ctx.store.transaction() as conn:
            seen = _lazy_seen(conn, list(by_id))
            for row, update, problem in plan:  # unchanged ones are not in it
                _apply_one(ctx, conn, integration, row, update, problem, seen, now)
            _batch_done(ctx, conn, integration, batch, last)
        return
    except Exception as exc:
        log.warning(
            "a poll batch of %s failed to apply (%s); applying its updates one by one",
            integration.name,
            describe(exc),
            extra={"integration": integration.name},
        )
    for row, update, problem in plan:
        try:
            with ctx.store.transaction() as conn:
                seen = _lazy_seen(conn, [row["id"]])
                _apply_one(ctx, conn, integration, row, update, problem, seen, now)
        except Exception as exc:
            ctx.failed(
                f"issue {row['id']} ({integration.name})",
                exc,
                integration=integration.name,
                issue_id=row["id"],
            )
            with ctx.store.transaction() as conn:
                _record_error(conn, row, f"its remote record could not be applied: {describe(exc)}")
    with ctx.store.transaction() as conn:
        _batch_done(ctx, conn, integration, batch, last)


def _batch_done(
    ctx: StepContext, conn: Connection, integration: Integration, batch: Batch, last: bool
) -> None:
    rounds.done(conn, batch, ctx.owner)
    if last:  # before that, the claim that finds nothing left checks (see _batches)
        rounds.finish_if_done(conn, Scope.live(integration), batch.round, ctx.clock())


def _lazy_seen(conn: Connection, issue_ids: list[int]) -> Callable[[], inbox.Seen]:
    """What the batch already has, loaded on first need: unchanged requests cost no query."""
    return functools.cache(lambda: inbox.seen_for(conn, issue_ids))


def _record_error(conn: Connection, row: Row, error: str) -> bool:
    """Keep a per-issue poll error once (not again each pass while it lasts)."""
    if row["last_error"] == error:
        return False
    conn.execute(
        issues.update()
        .where(issues.c.id == row["id"])
        .values(last_error=error[:2000], last_error_kind="definite")
    )
    return True


def _apply_one(
    ctx: StepContext,
    conn: Connection,
    integration: Integration,
    row: Row,
    update: RemoteUpdate | None,
    problem: str | None,
    seen: Callable[[], inbox.Seen],
    now: datetime,
) -> None:
    report = ctx.report
    if problem is None and update is not None:
        problem = link_problem(integration, row, update)
        if problem:
            if flag(conn, row["id"], "mismatch", problem, now):
                _warn(ctx, integration, row, problem)
            return
    if problem is not None or update is None:
        if _record_error(conn, row, str(problem)):
            _warn(ctx, integration, row, str(problem))
        return
    if update.state is RemoteState.MISSING:
        error = f"remote request {update.remote_id} no longer exists in {integration.name}"
        # A person decides: send it anew or close it here (the flag lists it for them).
        flag(conn, row["id"], "missing", error, now)
        if _record_error(conn, row, error):
            _warn(ctx, integration, row, error)
        return
    if row["link_endpoint"] is None:  # an old link, verified: it lives here from now on
        scope = Scope.live(integration)
        conn.execute(
            issues.update()
            .where(issues.c.id == row["id"])
            .values(link_environment=scope.environment, link_endpoint=scope.endpoint)
        )
    if row["attention_kind"] in ENDED_BY_A_GOOD_POLL:
        unflag(conn, row["id"], ENDED_BY_A_GOOD_POLL)
    for field_name, value in update.fields:
        report.activity += inbox.announce(
            conn, ctx.settings, integration, row, field_name, value, now, seen()
        )
    for comment in update.comments:
        report.comments_in += inbox.pull_comment(
            conn, ctx.settings, integration, row, comment, now, seen()
        )
    reason = clean_or_none(update.reason, VALUE_LIMIT) if isinstance(update.reason, str) else None
    # A readable update with an error is applied; what could not be read (its comments) is
    # kept on the issue while it stays open, as for an unreadable record.
    partly = (
        clean_or_none(f"part of its remote record could not be read: {update.error}", 2000)
        if isinstance(update.error, str)
        else None
    )
    if update.state is RemoteState.CLOSED:
        if transitions.close(conn, ctx.settings, integration, row, update.status, now, reason):
            report.closed += 1
            _log_transition(integration, row, "closed")
            if partly:
                _warn(ctx, integration, row, partly)
    elif update.state is RemoteState.CANCELED:
        if transitions.cancel(conn, ctx.settings, integration, row, update.status, now, reason):
            report.cancelled += 1
            _log_transition(integration, row, "cancelled")
            if partly:
                _warn(ctx, integration, row, partly)
    else:
        if update.remote_closed:
            text = (
                f"remote request {update.remote_id} is closed in {integration.name} with status "
                f"{update.status!r}, which neither closed_statuses nor cancel_statuses lists; "
                f"add it to one of them (`scf doctor` lists the remote statuses)"
            )
            if flag(conn, row["id"], "unmapped", text, now):
                _warn(ctx, integration, row, text)
        elif row["attention_kind"] == "unmapped":
            unflag(conn, row["id"], ("unmapped",))
        if update.status != row["remote_status"] or row["last_error"] != partly:
            conn.execute(
                issues.update()
                .where(issues.c.id == row["id"])
                .values(
                    remote_status=fit(issues.c.remote_status, update.status),
                    last_error=partly,
                    last_error_kind="definite" if partly else None,
                )
            )
            if partly and partly != row["last_error"]:
                _warn(ctx, integration, row, partly)


def _warn(ctx: StepContext, integration: Integration, row: Row, text: str) -> None:
    ctx.report.errors += 1
    ctx.report.problems.append(f"issue {row['id']}: {text}")
    log.warning(
        "issue %s: %s",
        row["id"],
        text,
        extra={"integration": integration.name, "issue_id": row["id"]},
    )


def _log_transition(integration: Integration, row: Row, transition: str) -> None:
    telemetry.record_transition(integration.name, transition)
    log.info(
        "issue %s %s",
        row["id"],
        transition,
        extra={
            "integration": integration.name,
            "issue_id": row["id"],
            "remote_id": row["remote_id"],
            "transition": transition,
        },
    )
