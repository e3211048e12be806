"""Claiming work in the store, so that several sync processes never do the same thing twice.

A claim writes a lease (owner and expiry) on rows no live lease holds; a process that dies
leaves leases that simply expire. The claiming UPDATE re-checks that the lease is free, so two
claimers racing for a row cannot both win it, on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, Table, and_, or_, select

DEFAULT_LEASE = timedelta(minutes=5)
# Work is claimed a few rounds of calls at a time: everything claimed must be done well
# before its lease runs out, or another process (or this one) would take it over mid-call.
ROUNDS_PER_CLAIM = 4


def worker_id() -> str:
    """An owner name unique to this process: host, pid and a random part."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def lease_free(table: Table, now: datetime) -> ColumnElement[bool]:
    """Rows no live lease holds."""
    return or_(table.c.lease_owner.is_(None), table.c.lease_until < now)


def claim(
    conn: Connection,
    table: Table,
    where: Sequence[ColumnElement[bool]],
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    columns: Sequence[ColumnElement[Any]] = (),
) -> list[RowMapping]:
    """Lease up to ``limit`` rows matching ``where`` (lowest ids first); returns the rows won,
    with only ``columns`` when given (reading all of a wide row costs more than the claim)."""
    condition = and_(*where, lease_free(table, now))
    candidates = list(
        conn.execute(
            select(table.c.id).where(condition).order_by(table.c.id).limit(limit)
        ).scalars()
    )
    if not candidates:
        return []
    until = now + lease
    conn.execute(
        table.update()
        .where(table.c.id.in_(candidates), lease_free(table, now))
        .values(lease_owner=owner, lease_until=until)
    )
    won = conn.execute(
        (select(*columns) if columns else select(table))
        .where(
            table.c.id.in_(candidates), table.c.lease_owner == owner, table.c.lease_until == until
        )
        .order_by(table.c.id)
    )
    return list(won.mappings())


def release(conn: Connection, table: Table, ids: Sequence[int], owner: str) -> None:
    """Give up the leases this owner still holds on ``ids``."""
    if ids:
        conn.execute(
            table.update()
            .where(table.c.id.in_(list(ids)), table.c.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )
