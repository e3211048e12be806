"""``/healthz`` and ``/metrics``: whether the store answers and the engine goes round, and this
process's counters with the store's gauges."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..ops import health as rows
from ..ops import liveness, telemetry
from ..timeutil import iso, utcnow
from .faults import describe_fault

if TYPE_CHECKING:
    from ..ops.liveness import LoopAge
    from ..store.store import Store


def health(
    store: Store,
    last_pass: Callable[[], datetime | None] | None,
    loops: Callable[[], Sequence[LoopAge]] | None = None,
    *,
    errors: bool = True,
) -> tuple[dict[str, Any], int]:
    """The ``/healthz`` body and status: 503 when the store fails, or when one of this
    process's sync loops is stale (``"status": "stale"``, and ``"stale"`` names it).

    :param last_pass: when the in-process engine last passed (None: ``--no-sync``).
    :param loops: the in-process engine's loops (:func:`scf_plugins.ops.liveness.judge`);
        with them the body adds ``loops`` (their ages), ``stale`` and ``last_errors`` (each
        integration's last error, as ``scf status`` has it: a plugin that fails is named
        there while the loop goes on).
    :param errors: whether to add ``last_errors``: remote error texts name internal hosts and
        URLs, so only those who may read ``/metrics`` see them; the status is the same.
    """
    body: dict[str, Any] = {"status": "ok", "database": "ok"}
    found: dict[str, Any] = {}
    try:
        with store.read() as conn:
            conn.execute(select(1)).scalar()
            if loops is not None and errors:
                found = rows.read_all(conn)
    except Exception as exc:  # any failure of the store is what this reports
        body.update(status="failing", database=describe_fault(exc))
    last = last_pass() if last_pass else None
    body["sync"] = last_pass is not None
    body["last_pass_at"] = iso(last)
    body["last_pass_age_seconds"] = (
        round((utcnow() - last).total_seconds(), 1) if last is not None else None
    )
    if loops is not None:
        ages = loops()
        body["loops"] = liveness.summary(ages)
        body["stale"] = liveness.stale(ages)
        if body["stale"] and body["status"] == "ok":
            body["status"] = "stale"
        if errors:
            body["last_errors"] = {
                name: {"error": row.last_error, "at": iso(row.last_error_at)}
                for name, row in found.items()
                if row.kind == "integration" and row.last_error
            }
    return body, 200 if body["status"] == "ok" else 503


def metrics_text(gauges: Any) -> bytes:
    """This process's counters, and the store's gauges read now."""
    from prometheus_client import CollectorRegistry, generate_latest

    scrape = CollectorRegistry()
    scrape.register(gauges)
    return generate_latest(telemetry.registry()) + generate_latest(scrape)
