"""Local things pushed once each to an issue's remote request: comments and photos.

Both follow the same rules, kept here once:

- **When**: only once the issue is Acknowledged, linked on the live environment and endpoint,
  and not flagged for a marker mismatch.
- **In flight**: at most ``max_concurrency`` pushes at once.
- **The intent**: it is written before the call (``push_attempted``, and when). A push whose
  answer was lost is looked up by the plugin before it is made again. A push that may still be
  in flight (its sender killed) is looked up at once by the worker that takes it over; not
  found, it waits out the call timeout (:mod:`.inflight`).
- **Failures**: each item backs off on its own. An integration down as a whole charges no
  item.
- **Nothing to push to**: where the remote system takes none, items are marked *kept here*,
  once, and never retried.

:class:`Outbox` says what differs between the two: the table, which rows, how a row becomes
what the plugin gets, the hook to call, and what else to record once an item is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, Table, select

from ..models import Integration, Issue, Status
from ..store.links import Scope
from ..store.store import issue_from_row
from ..store.tables import fit, issues
from . import circuits, inflight, leases
from .context import StepContext
from .outcomes import describe, error_kind, uncertain
from .retries import backoff


@dataclass(frozen=True)
class Outbox:
    """One kind of item pushed to remote requests.

    :param what: how messages name one (``comment``, ``photo``).
    :param table: its table (with the push columns: ``pushed_at``, ``push_attempted``, …).
    :param where: which of its rows are pushed at all.
    :param columns: the columns a claim reads (never a photo's bytes).
    :param item: a claimed row as the plugin gets it (``push_attempted`` already set).
    :param send: runs on a worker thread: push the item, return its remote id.
    :param sent: columns to set besides the remote id once sent.
    :param count: the :class:`PassReport` counter of items sent.
    """

    what: str
    table: Table
    where: tuple[ColumnElement[bool], ...]
    columns: tuple[Any, ...]
    item: Callable[[RowMapping], Any]
    send: Callable[[StepContext, Integration, Issue, Any], str]
    sent: Callable[[Integration, Issue, str], Mapping[str, object]]
    count: str


def keep_here(ctx: StepContext, integration: Integration, box: Outbox, reason: str) -> int:
    """Mark the integration's items not yet sent as kept here, once (not sent, not counted,
    never retried). Returns how many. A read comes first: this runs every submit pass, and
    most find nothing to mark, so they take no write lock."""
    t = box.table
    # Each waiting item's issue looked up (EXISTS), not a list of every issue of the
    # integration, history included (IN): the items still waiting are few.
    mine = (
        select(issues.c.id)
        .where(issues.c.id == t.c.issue_id, issues.c.integration == integration.name)
        .exists()
    )
    waiting = (*box.where, t.c.pushed_at.is_(None), t.c.kept_here.is_(None), mine)
    with ctx.store.read() as conn:
        if conn.execute(select(t.c.id).where(*waiting).limit(1)).first() is None:
            return 0
    with ctx.store.transaction() as conn:
        return int(conn.execute(t.update().where(*waiting).values(kept_here=reason)).rowcount)


def push(ctx: StepContext, integration: Integration, box: Outbox) -> None:
    """Push the integration's waiting items of ``box``, a few claims at a time."""
    report = ctx.report
    with ctx.workers(f"{box.what}s-{integration.name}", integration.max_concurrency) as pool:
        while not ctx.stop.is_set() and not ctx.tripped(integration):
            batch = _claim(ctx, integration, box)
            if not batch:
                return
            futures = [
                (
                    pool.submit(box.send, ctx, integration, issue, item)
                    if since is None
                    else pool.submit(_look_up, box, ctx, integration, issue, item),
                    item,
                    issue,
                    since,
                )
                for item, issue, since in batch
            ]
            failures = 0
            for future, item, issue, since in futures:
                try:
                    remote_id = future.result()
                except Exception as exc:  # a plugin bug costs this item a retry
                    failures += 1
                    _failed(ctx, integration, box, item, issue, exc, since)
                    continue
                if remote_id is None:  # looked up, not found: it may still be under way
                    _wait_for_in_flight(ctx, integration, box, item, since, None)
                    continue
                _sent(ctx, integration, box, item, issue, remote_id)
                setattr(report, box.count, getattr(report, box.count) + 1)
            if failures == len(batch):
                return  # nothing went through: leave the rest for the next pass


def _look_up(
    box: Outbox, ctx: StepContext, integration: Integration, issue: Issue, item: Any
) -> str | None:
    """Runs on a worker thread: the plugin's idempotent push, looking only (see
    :mod:`.inflight`); the remote id found, or None."""
    return inflight.look(lambda: box.send(ctx, integration, issue, item))


def _claim(
    ctx: StepContext, integration: Integration, box: Outbox
) -> list[tuple[Any, Issue, datetime | None]]:
    """Lease the next few items due, each with when a dead worker sent it if that push may
    still be under way (then it is only looked up)."""
    t = box.table
    now = ctx.clock()
    with ctx.store.transaction() as conn:
        # Each waiting item's issue looked up (EXISTS), not the list of every Acknowledged
        # issue (IN): the items waiting are few, the issues being polled many.
        acknowledged = (
            select(issues.c.id)
            .where(
                issues.c.id == t.c.issue_id,
                issues.c.status == Status.ACKNOWLEDGED.value,
                # Only to links made on the live environment and endpoint (old links are
                # adopted by the poll that runs before this step, once their marker is verified).
                Scope.live(integration).condition(),
                issues.c.attention_kind.is_distinct_from("mismatch"),
            )
            .exists()
        )
        rows = leases.claim(
            conn,
            t,
            [
                *box.where,
                t.c.pushed_at.is_(None),
                t.c.kept_here.is_(None),
                acknowledged,
                (t.c.next_attempt_at.is_(None)) | (t.c.next_attempt_at <= now),
            ],
            owner=ctx.owner,
            now=now,
            lease=ctx.lease,
            limit=integration.max_concurrency * leases.ROUNDS_PER_CLAIM,
            columns=(*box.columns, t.c.push_attempted_at.label("in_flight_since")),
            # Oldest first, by an expression of the id rather than the id itself: ordered by
            # the id, SQLite (which keeps no statistics) would walk the whole table in id
            # order rather than sort the few items the outbox's index holds.
            order_by=(t.c.id + 0,),
        )
        if not rows:
            return []
        since = {
            r["id"]: inflight.sent_at(r["push_attempted"], r["in_flight_since"], integration, now)
            for r in rows
        }
        # The intent (not for those only looked up: their time is the dead worker's, kept).
        sending = [i for i, when in since.items() if when is None]
        conn.execute(
            t.update().where(t.c.id.in_(sending)).values(push_attempted=True, push_attempted_at=now)
        )
        issue_ids = sorted({r["issue_id"] for r in rows})
        issue_rows = {
            r["id"]: r
            for r in conn.execute(select(issues).where(issues.c.id.in_(issue_ids))).mappings()
        }
    return [(box.item(r), issue_from_row(issue_rows[r["issue_id"]]), since[r["id"]]) for r in rows]


def _wait_for_in_flight(
    ctx: StepContext,
    integration: Integration,
    box: Outbox,
    item: Any,
    since: datetime | None,
    error: str | None,
) -> None:
    """The push a dead worker may have in flight was not found (or not looked up): the item
    waits, uncharged, until that push can no longer be under way."""
    assert since is not None  # only looked-up items get here
    with ctx.store.transaction() as conn:
        inflight.wait(conn, box.table, item.id, ctx.owner, since, integration,
                      f"{box.what} {item.id}", error)  # fmt: skip


def _failed(
    ctx: StepContext,
    integration: Integration,
    box: Outbox,
    item: Any,
    issue: Issue,
    exc: BaseException,
    since: datetime | None,
) -> None:
    t = box.table
    now = ctx.clock()
    down = circuits.integration_wide(exc)
    if down:
        ctx.trip(integration, exc)
    else:
        ctx.failed(f"{box.what} {item.id} of issue {issue.id}", exc,
                   integration=integration.name, issue_id=issue.id)  # fmt: skip
        ctx.pause(integration, exc)
        # A call of an outage (no answer) that carried nothing out counts as down too.
        down = ctx.tripped(integration) and circuits.no_answer(exc) and not uncertain(exc)
    if down:
        # Nothing was sent: the item is not charged (one only looked up keeps the dead
        # worker's time).
        undo = {} if since else {"push_attempted": item.push_attempted, "push_attempted_at": None}
        with ctx.store.transaction() as conn:
            conn.execute(
                t.update()
                .where(t.c.id == item.id)
                .values(**undo, lease_owner=None, lease_until=None)
            )
        return
    if since is not None:
        # Only a look-up failed; recording it as an attempt would forget when the dead
        # worker's push was made, and that is what keeps it from being made twice.
        _wait_for_in_flight(ctx, integration, box, item, since, describe(exc))
        return
    kind, retry_after = error_kind(exc), getattr(exc, "retry_after", None)
    with ctx.store.transaction() as conn:
        attempts = conn.execute(select(t.c.attempts).where(t.c.id == item.id)).scalar() or 0
        conn.execute(
            t.update()
            .where(t.c.id == item.id)
            .values(
                attempts=attempts + 1,
                last_error=describe(exc)[:2000],
                next_attempt_at=now + backoff(kind, attempts + 1, retry_after),
                push_attempted=item.push_attempted or uncertain(exc),
                # This process saw the push end: nothing of it is in flight.
                push_attempted_at=None,
                lease_owner=None,
                lease_until=None,
            )
        )


def _sent(
    ctx: StepContext, integration: Integration, box: Outbox, item: Any, issue: Issue, remote_id: str
) -> None:
    t = box.table
    with ctx.store.transaction() as conn:
        conn.execute(
            t.update()
            .where(t.c.id == item.id, t.c.lease_owner == ctx.owner)
            .values(
                remote_id=fit(t.c.remote_id, remote_id),
                pushed_at=ctx.clock(),
                last_error=None,
                lease_owner=None,
                lease_until=None,
                **box.sent(integration, issue, remote_id),
            )
        )
