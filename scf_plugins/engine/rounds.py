"""Poll rounds: one round polls every linked issue of an integration once, shared by workers.

The worker that starts a round splits the integration's Acknowledged issues (of the live
scope) into batches of ``poll_batch_size`` consecutive ids, one row each in ``poll_batches``.
Every worker then claims batches (a lease on the batch row, not on its 500 issues), polls
them and marks them done. So N workers polling together make the same batch calls as one,
each issue is polled once per round, and the only per-issue writes are real changes.

A worker joins an unfinished round rather than starting another; a new round starts only
when the last one has finished and started at least ``min_gap`` ago (``scf sync --once``:
no gap). A round that never finishes (a batch failing each time) is replaced after
``stale_after``, so one bad batch cannot stop the polling of the others.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Select, bindparam, func, select
from sqlalchemy.exc import IntegrityError

from ..models import Status
from ..store.links import Scope
from ..store.tables import issues, poll_batches, poll_rounds
from . import leases

STALE_AT_LEAST = timedelta(minutes=5)


@dataclass(frozen=True)
class Batch:
    """One claimed batch of a round: issue ids ``first_id`` <= id < ``last_id`` (or open)."""

    id: int
    round: int
    first_id: int
    last_id: int | None


def current(
    conn: Connection,
    scope: Scope,
    batch_size: int,
    now: datetime,
    min_gap: timedelta,
) -> int | None:
    """The round to work on now (joining an unfinished one), or None when none is due.

    Call inside a write transaction; concurrent callers agree on one round.
    """
    name = scope.integration
    row = conn.execute(
        select(poll_rounds).where(poll_rounds.c.integration == name).with_for_update()
    ).first()
    stale_after = max(2 * min_gap, STALE_AT_LEAST)
    if row is not None and row.finished_at is None and now - row.started_at < stale_after:
        return int(row.round)
    if row is not None and row.finished_at is not None and now - row.started_at < min_gap:
        return None
    number = int(row.round) + 1 if row is not None else 1
    bounds = _boundaries(conn, scope, batch_size)
    conn.execute(poll_batches.delete().where(poll_batches.c.integration == name))
    if bounds:
        conn.execute(
            poll_batches.insert(),
            [
                {
                    "integration": name,
                    "round": number,
                    "first_id": first,
                    "last_id": bounds[i + 1] if i + 1 < len(bounds) else None,
                    "done": False,
                }
                for i, first in enumerate(bounds)
            ],
        )
    values = {"round": number, "started_at": now, "finished_at": None if bounds else now}
    if row is None:
        conn.execute(poll_rounds.insert().values(integration=name, **values))
    else:
        conn.execute(poll_rounds.update().where(poll_rounds.c.integration == name).values(**values))
    return number if bounds else None


def start_or_join(
    begin: Any, scope: Scope, batch_size: int, now: datetime, min_gap: timedelta
) -> int | None:
    """:func:`current` in its own transaction (``begin`` opens one); two workers creating the
    very first round at once (PostgreSQL) agree on it at the second try."""
    for attempt in (0, 1):
        try:
            with begin() as conn:
                return current(conn, scope, batch_size, now, min_gap)
        except IntegrityError:
            if attempt:
                raise
    return None


def _boundaries(conn: Connection, scope: Scope, batch_size: int) -> list[int]:
    """The first issue id of each batch: every ``batch_size``-th linked issue, by id."""
    numbered = (
        select(issues.c.id, func.row_number().over(order_by=issues.c.id).label("n"))
        .where(issues.c.status == Status.ACKNOWLEDGED.value, scope.condition(adopt_legacy=True))
        .subquery()
    )
    firsts = select(numbered.c.id).where((numbered.c.n - 1) % batch_size == 0)
    return [int(i) for i in conn.execute(firsts.order_by(numbered.c.id)).scalars()]


def claim(
    conn: Connection,
    scope: Scope,
    number: int,
    owner: str,
    now: datetime,
    lease: timedelta,
) -> Batch | None:
    """Lease the next batch of round ``number`` nobody holds; None when there is none."""
    won = leases.run_claim(
        conn,
        _CLAIM,
        {"c_integration": scope.integration, "c_round": number},
        owner=owner,
        now=now,
        lease=lease,
    )
    if not won:
        return None
    row = won[0]
    return Batch(int(row["id"]), number, int(row["first_id"]), row["last_id"])


# Built once: a round claims hundreds of batches, and building (and keying) the claim each
# time costs as much as running it.
_CLAIM = leases.claim_statement(
    poll_batches,
    [
        poll_batches.c.integration == bindparam("c_integration"),
        poll_batches.c.round == bindparam("c_round"),
        poll_batches.c.done.is_(False),
    ],
    limit=1,
    columns=(poll_batches.c.id, poll_batches.c.first_id, poll_batches.c.last_id),
)


def issues_of(
    conn: Connection, scope: Scope, batch: Batch, columns: Sequence[ColumnElement[Any]]
) -> Sequence[Row[Any]]:
    """The batch's Acknowledged issues of the live scope (and old unscoped links), as rows of
    ``columns`` in their order, lowest id first."""
    query = _issues_query(scope, tuple(columns), batch.last_id is None)
    return conn.execute(query, {"first_id": batch.first_id, "last_id": batch.last_id}).all()


@functools.lru_cache(maxsize=64)
def _issues_query(
    scope: Scope, columns: tuple[ColumnElement[Any], ...], open_ended: bool
) -> Select[Any]:
    """:func:`issues_of`'s statement, built once per scope: a poll round reads hundreds of
    batches, and building (and keying) the statement again for each costs more than
    reading its 500 rows."""
    query = select(*columns).where(
        issues.c.id >= bindparam("first_id"),
        issues.c.status == Status.ACKNOWLEDGED.value,
        scope.condition(adopt_legacy=True),
    )
    if not open_ended:
        query = query.where(issues.c.id < bindparam("last_id"))
    return query.order_by(issues.c.id)


# Built once: run once per batch.
_DONE = (
    poll_batches.update()
    .where(
        poll_batches.c.id == bindparam("b_id"), poll_batches.c.lease_owner == bindparam("b_owner")
    )
    .values(done=True, lease_owner=None, lease_until=None)
)


def done(conn: Connection, batch: Batch, owner: str) -> None:
    """Mark a batch polled (only if this owner still holds it)."""
    conn.execute(_DONE, {"b_id": batch.id, "b_owner": owner})


def back_off(conn: Connection, batches: Sequence[Batch], owner: str, until: datetime) -> None:
    """Give batches back undone, to be tried again after ``until`` (by any worker)."""
    if batches:
        conn.execute(
            poll_batches.update()
            .where(
                poll_batches.c.id.in_([b.id for b in batches]),
                poll_batches.c.lease_owner == owner,
            )
            .values(lease_owner="(waiting)", lease_until=until)
        )


def finish_if_done(conn: Connection, scope: Scope, number: int, now: datetime) -> bool:
    """Close round ``number`` when no batch of it is left undone; True when it is closed."""
    left = conn.execute(
        select(func.count())
        .select_from(poll_batches)
        .where(
            poll_batches.c.integration == scope.integration,
            poll_batches.c.round == number,
            poll_batches.c.done.is_(False),
        )
    ).scalar()
    if left:
        return False
    conn.execute(
        poll_rounds.update()
        .where(
            poll_rounds.c.integration == scope.integration,
            poll_rounds.c.round == number,
            poll_rounds.c.finished_at.is_(None),
        )
        .values(finished_at=now)
    )
    return True
