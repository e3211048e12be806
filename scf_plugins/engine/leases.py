"""Claiming work in the store, so that several sync processes never do the same thing twice.

A claim writes a lease (owner and expiry) on rows no live lease holds; a process that dies
leaves leases that simply expire. The claiming UPDATE re-checks that the lease is free, so two
claimers racing for a row cannot both win it, on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    RowMapping,
    Table,
    Update,
    bindparam,
    or_,
    select,
)

# Leases are renewed while their worker works (heartbeat.py), so this only bounds how
# long the work of a worker that died elsewhere waits; on the same machine it is taken over
# at once (take_over_dead).
DEFAULT_LEASE = timedelta(seconds=60)
# Work is claimed a few rounds of calls at a time: everything claimed must be done well
# before its lease runs out, or another process (or this one) would take it over mid-call.
ROUNDS_PER_CLAIM = 4


def machine_id() -> str:
    """This machine: its host name and boot id (two machines may share a host name; two
    boots of one do not share a boot id, and pids are only meaningful within one boot)."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            boot = fh.read().strip().replace("-", "")[:8]
    except OSError:
        boot = "noboot"
    host = socket.gethostname().replace(":", "_")[:40] or "host"
    return f"{host}:{boot}"


def worker_id() -> str:
    """An owner name unique to this process: machine, pid and a random part."""
    return f"{machine_id()}:{os.getpid()}:{secrets.token_hex(3)}"


def describe_owner(owner: str) -> str:
    """``host pid N`` for people (the boot id and random part left out)."""
    parts = owner.split(":")
    return f"{parts[0]} pid {parts[2]}" if len(parts) == 4 else owner


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    try:  # a zombie (killed, not yet reaped) is as dead as it gets
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def take_over_dead(conn: Connection, tables: Sequence[Table], me: str, now: datetime) -> int:
    """Release at once the leases of workers on this machine whose process is gone; returns
    how many rows were freed. Workers elsewhere are left to their lease's expiry."""
    prefix = me.rsplit(":", 2)[0] + ":"
    freed = 0
    for table in tables:
        # "IS NOT NULL" said outright: it is the condition of the table's partial index of
        # leased rows, which SQLite uses only when a query says it.
        owners = conn.execute(
            select(table.c.lease_owner)
            .where(
                table.c.lease_owner.is_not(None),
                table.c.lease_owner.startswith(prefix, autoescape=True),
                table.c.lease_until > now,
            )
            .distinct()
        ).scalars()
        for owner in list(owners):
            pid = owner.split(":")[2] if owner.count(":") == 3 else ""
            if owner != me and pid.isdigit() and not _alive(int(pid)):
                freed += conn.execute(
                    table.update()
                    .where(table.c.lease_owner == owner)
                    .values(lease_owner=None, lease_until=None)
                ).rowcount
    return freed


def lease_free(table: Table, now: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    """Rows no live lease holds (at ``now``, or at the time a statement built once binds)."""
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
    order_by: Sequence[ColumnElement[Any]] = (),
) -> list[RowMapping]:
    """Lease up to ``limit`` free rows matching ``where`` (lowest ids first, or first in
    ``order_by``), in one statement; returns the rows won (only ``columns`` when given:
    reading all of a wide row costs more than the claim), lowest id first.

    On PostgreSQL the candidates are locked with ``FOR UPDATE SKIP LOCKED``: concurrent
    claimers each get other rows instead of waiting for one another and winning nothing. On
    SQLite the write transaction (``BEGIN IMMEDIATE``) already serialises claimers.
    """
    statement = claim_statement(table, where, limit=limit, columns=columns, order_by=order_by)
    return run_claim(conn, statement, {}, owner=owner, now=now, lease=lease)


def claim_statement(
    table: Table,
    where: Sequence[ColumnElement[bool]],
    *,
    limit: int,
    columns: Sequence[ColumnElement[Any]] = (),
    order_by: Sequence[ColumnElement[Any]] = (),
) -> Update:
    """:func:`claim`'s statement, for a caller that claims often to build once (its ``where``
    then binds its own parameters, given to :func:`run_claim`)."""
    candidates = (
        select(table.c.id)
        .where(*where, lease_free(table, bindparam(_NOW)))
        .order_by(*(order_by or (table.c.id,)))
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("candidates")  # a CTE with FOR UPDATE is evaluated once (PostgreSQL)
    )
    return (
        table.update()
        .where(table.c.id.in_(select(candidates.c.id)))
        .values(lease_owner=bindparam(_OWNER), lease_until=bindparam(_UNTIL))
        .returning(*(columns or table.c))
    )


_NOW, _OWNER, _UNTIL = "lease_now", "lease_new_owner", "lease_new_until"


def run_claim(
    conn: Connection,
    statement: Update,
    params: Mapping[str, Any],
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
) -> list[RowMapping]:
    """Run a :func:`claim_statement` with its ``where``'s ``params``: the rows won, lowest
    id first.

    :raises ValueError: when a parameter is named as a column of the table: an UPDATE given a
        value under a column's name would also write it.
    """
    if clash := params.keys() & statement.table.c.keys():
        raise ValueError(f"claim parameters named as columns: {', '.join(sorted(clash))}")
    values = {**params, _NOW: now, _OWNER: owner, _UNTIL: now + lease}
    return sorted(conn.execute(statement, values).mappings(), key=lambda row: row["id"])


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
