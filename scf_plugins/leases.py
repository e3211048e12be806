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

from sqlalchemy import ColumnElement, Connection, RowMapping, Table, or_, select

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
    """Lease up to ``limit`` free rows matching ``where`` (lowest ids first), in one
    statement; returns the rows won (only ``columns`` when given: reading all of a wide row
    costs more than the claim), lowest id first.

    On PostgreSQL the candidates are locked with ``FOR UPDATE SKIP LOCKED``: concurrent
    claimers each get other rows instead of waiting for one another and winning nothing. On
    SQLite the write transaction (``BEGIN IMMEDIATE``) already serialises claimers.
    """
    candidates = (
        select(table.c.id)
        .where(*where, lease_free(table, now))
        .order_by(table.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("candidates")  # a CTE with FOR UPDATE is evaluated once (PostgreSQL)
    )
    statement = (
        table.update()
        .where(table.c.id.in_(select(candidates.c.id)))
        .values(lease_owner=owner, lease_until=now + lease)
        .returning(*(columns or table.c))
    )
    return sorted(conn.execute(statement).mappings(), key=lambda row: row["id"])


def renew(conn: Connection, table: Table, owner: str, until: datetime) -> int:
    """Extend every lease ``owner`` holds on ``table`` to ``until``; returns how many."""
    return conn.execute(
        table.update()
        .where(table.c.lease_owner == owner, table.c.lease_until.is_not(None))
        .values(lease_until=until)
    ).rowcount


def release(conn: Connection, table: Table, ids: Sequence[int], owner: str) -> None:
    """Give up the leases this owner still holds on ``ids``."""
    if ids:
        conn.execute(
            table.update()
            .where(table.c.id.in_(list(ids)), table.c.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )
