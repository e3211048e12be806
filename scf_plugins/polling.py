"""Step 2 of a pass: poll the Acknowledged issues in batches and apply what changed.

Up to ``max_concurrency`` batches are in flight while earlier ones are applied; each batch is
applied in one transaction, each transition with its messages.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from . import leases, transitions
from .errors import RemoteError
from .models import Integration, RemoteState, RemoteUpdate, Status, Tracked
from .outcomes import PassReport, error_kind
from .schema import fit, issues

if TYPE_CHECKING:
    from .sync import Engine


log = logging.getLogger(__name__)


def _batches(engine: Engine, integration: Integration) -> Iterator[list[dict[str, Any]]]:
    last_id = 0
    while not engine.stop.is_set():
        now = engine.clock()
        with engine.store.transaction() as conn:
            rows = [
                dict(r)
                for r in leases.claim(
                    conn,
                    issues,
                    [
                        issues.c.status == Status.ACKNOWLEDGED.value,
                        issues.c.integration == integration.name,
                        issues.c.id > last_id,
                    ],
                    owner=engine.owner,
                    now=now,
                    lease=engine.lease,
                    limit=integration.poll_batch_size,
                )
            ]
        if not rows:
            return
        last_id = rows[-1]["id"]
        yield rows


def poll(engine: Engine, integration: Integration, report: PassReport) -> None:
    """Step 2 for one integration.

    Up to ``max_concurrency`` batches are in flight while earlier ones are applied, so the
    remote round trips overlap the local work; batches are applied in the order claimed.
    """
    batches = _batches(engine, integration)
    in_flight: deque[tuple[list[dict[str, Any]], Future[list[RemoteUpdate]]]] = deque()
    with ThreadPoolExecutor(
        max_workers=integration.max_concurrency, thread_name_prefix=f"poll-{integration.name}"
    ) as pool:

        def fill() -> None:
            while len(in_flight) < integration.max_concurrency and not engine.stop.is_set():
                rows = next(batches, None)
                if rows is None:
                    return
                tracked = [Tracked(int(r["id"]), str(r["remote_id"])) for r in rows]
                in_flight.append((rows, pool.submit(engine.host.poll, integration, tracked)))

        fill()
        while in_flight:
            rows, future = in_flight.popleft()
            engine.say(f"{integration.name}: polling {report.polled + len(rows)}")
            try:
                updates = future.result()
            except Exception as exc:  # a plugin bug costs this batch a retry, not the pass
                engine.failed(report, f"poll {integration.name}", exc)
                abandoned = [r["id"] for r in rows]
                down = isinstance(exc, RemoteError) and error_kind(exc) == "transient"
                if down:  # drop what is in flight; the next pass tries again
                    for more, pending in in_flight:
                        pending.cancel()
                        abandoned += [r["id"] for r in more]
                    in_flight.clear()
                with engine.store.transaction() as conn:
                    leases.release(conn, issues, abandoned, engine.owner)
                if down:
                    return
                fill()
                continue
            report.polled += len(rows)
            _apply_updates(engine, integration, rows, updates, report)
            fill()


def _apply_updates(
    engine: Engine,
    integration: Integration,
    rows: list[dict[str, Any]],
    updates: list[RemoteUpdate],
    report: PassReport,
) -> None:
    now = engine.clock()
    by_id = {r["id"]: r for r in rows}
    seen: transitions.Seen | None = None
    with engine.store.transaction() as conn:
        for update in updates:
            row = by_id.get(update.issue_id)
            if row is None or str(row["remote_id"]) != update.remote_id:
                continue
            if update.state is RemoteState.MISSING:
                error = f"remote request {update.remote_id} no longer exists in {integration.name}"
                if row["last_error"] != error:
                    report.errors += 1
                    report.problems.append(f"issue {row['id']}: {error}")
                    conn.execute(
                        issues.update()
                        .where(issues.c.id == row["id"])
                        .values(last_error=error, last_error_kind="definite", updated_at=now)
                    )
                continue
            if update.fields or update.comments:
                seen = seen or transitions.seen_for(conn, list(by_id))
                for field_name, value in update.fields:
                    report.activity += transitions.announce(
                        conn, engine.settings, integration, row, field_name, value, now, seen
                    )
                for comment in update.comments:
                    report.comments_in += transitions.pull_comment(
                        conn, integration, row, comment, now, seen
                    )
            if update.state is RemoteState.CLOSED:
                if transitions.close(conn, engine.settings, integration, row, update.status, now):
                    report.closed += 1
                    _log_transition(integration, row, "closed")
            elif update.state is RemoteState.CANCELED:
                if transitions.cancel(conn, engine.settings, integration, row, update.status, now):
                    report.cancelled += 1
                    _log_transition(integration, row, "cancelled")
            elif update.status != row["remote_status"] or row["last_error"]:
                conn.execute(
                    issues.update()
                    .where(issues.c.id == row["id"])
                    .values(
                        remote_status=fit(issues.c.remote_status, update.status),
                        last_error=None,
                        last_error_kind=None,
                    )
                )
        leases.release(conn, issues, list(by_id), engine.owner)


def _log_transition(integration: Integration, row: dict[str, Any], transition: str) -> None:
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
