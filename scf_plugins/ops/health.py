"""The health rows: how each integration and geocoder fared, written by the engine after its
passes and read by ``scf status`` (which runs in its own process).

The sync loops have rows of their own (kind ``loop``), for the liveness checks
(:mod:`.liveness`): ``loop:submit``, when a pass with the submit steps last ended, and
``loop:poll:NAME``, when the poll loop last went through integration NAME. Their
``last_pass_at`` is what ``scf status``, ``/metrics`` and ``/healthz`` age. A name of the config
never holds a colon, so these never meet an integration's or a geocoder's row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select
from sqlalchemy.exc import IntegrityError

from ..store.tables import health
from . import telemetry

LOOP = "loop"  # the kind of a loop's row


def loop_row(loop: str, integration: str | None = None) -> str:
    """The health row of a sync loop: ``loop:submit``, or ``loop:poll:NAME`` per integration."""
    return f"{LOOP}:{loop}" if integration is None else f"{LOOP}:{loop}:{integration}"


def note(
    conn: Connection,
    name: str,
    kind: str,
    *,
    now: datetime,
    seconds: float | None = None,
    errors: int | None = None,
    last_error: str | None = None,
) -> None:
    """Record how ``name`` fared: a pass (``seconds``, ``errors``, its last error) and this
    process's recent calls to it (latency, last success)."""
    p50, p95, last_ok = telemetry.latency(name)
    values: dict[str, Any] = {"kind": kind}
    if seconds is not None:
        values.update(
            last_pass_at=now, last_pass_seconds=round(seconds, 3), last_pass_errors=errors
        )
    if last_error:
        values.update(last_error=last_error[:2000], last_error_at=now)
    if last_ok is not None:
        values["last_success_at"] = last_ok
    if p50 is not None:
        values.update(latency_p50_ms=round(p50, 1), latency_p95_ms=round(p95 or p50, 1))
    if len(values) == 1:
        return  # nothing new to say
    done = conn.execute(health.update().where(health.c.name == name).values(**values)).rowcount
    if not done:
        try:
            with conn.begin_nested():
                conn.execute(health.insert().values(name=name, **values))
        except IntegrityError:  # another worker wrote it first
            conn.execute(health.update().where(health.c.name == name).values(**values))


def read_all(conn: Connection) -> dict[str, Row[Any]]:
    """Every health row, by integration or geocoder name."""
    return {row.name: row for row in conn.execute(select(health))}
