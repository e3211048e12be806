"""``/healthz`` and ``/metrics``: whether the store answers and when the engine last passed,
and this process's counters with the store's gauges."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..engine.outcomes import describe
from ..ops import telemetry
from ..timeutil import iso, utcnow

if TYPE_CHECKING:
    from ..store.store import Store


def health(
    store: Store, last_pass: Callable[[], datetime | None] | None
) -> tuple[dict[str, Any], int]:
    """The ``/healthz`` body and status (503 when the store fails); ``last_pass`` is the
    in-process engine's (None: ``--no-sync``)."""
    body: dict[str, Any] = {"status": "ok", "database": "ok"}
    try:
        with store.read() as conn:
            conn.execute(select(1)).scalar()
    except Exception as exc:  # any failure of the store is what this reports
        body.update(status="failing", database=describe(exc))
    last = last_pass() if last_pass else None
    body["sync"] = last_pass is not None
    body["last_pass_at"] = iso(last)
    body["last_pass_age_seconds"] = (
        round((utcnow() - last).total_seconds(), 1) if last is not None else None
    )
    return body, 200 if body["status"] == "ok" else 503


def metrics_text(gauges: Any) -> bytes:
    """This process's counters, and the store's gauges read now."""
    from prometheus_client import CollectorRegistry, generate_latest

    scrape = CollectorRegistry()
    scrape.register(gauges)
    return generate_latest(telemetry.registry()) + generate_latest(scrape)
