"""What this process did, counted for ``/metrics`` and remembered for ``scf status``.

Every remote call (through :class:`scf_plugins.http.HttpClient`), every transition, every pass
and every Open311 request is counted here, in the Prometheus client's own registry of this
process. Beside the counters, the last few hundred call durations and the last successful call
of each remote system are kept, so the engine can store p50/p95 latencies and "last reached"
with its pass (``scf status`` runs in another process and reads those from the store).

prometheus-client is imported on the first thing counted, not when ``scf`` starts.
"""

from __future__ import annotations

import statistics
import threading
from collections import deque
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from .timeutil import utcnow

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

RECENT = 500  # call durations kept per remote system for p50/p95
_lock = threading.Lock()
_recent: dict[str, deque[float]] = {}
_last_ok: dict[str, datetime] = {}


@cache
def _metrics() -> dict[str, Any]:
    from prometheus_client import CollectorRegistry, Counter, Histogram

    registry = CollectorRegistry(auto_describe=True)
    return {
        "registry": registry,
        "calls": Counter(
            "scf_remote_calls",
            "Remote calls, by remote system (integration or geocoder), method and outcome.",
            ["system", "method", "outcome"],
            registry=registry,
        ),
        "call_seconds": Histogram(
            "scf_remote_call_duration_seconds",
            "Duration of remote calls, by remote system.",
            ["system"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=registry,
        ),
        "transitions": Counter(
            "scf_transitions",
            "Issue transitions (acknowledged, closed, cancelled, archived), by integration.",
            ["integration", "transition"],
            registry=registry,
        ),
        "pass_seconds": Histogram(
            "scf_pass_duration_seconds",
            "Duration of sync passes, by kind (submit, poll, whole).",
            ["kind"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=registry,
        ),
        "pass_errors": Counter("scf_pass_errors", "Errors met by sync passes.", registry=registry),
        "http": Counter(
            "scf_open311_requests",
            "Requests to scf serve, by route and HTTP status.",
            ["route", "status"],
            registry=registry,
        ),
    }


def registry() -> CollectorRegistry:
    """This process's registry (what ``/metrics`` serves, with the store's gauges)."""
    registry: CollectorRegistry = _metrics()["registry"]
    return registry


def record_call(system: str, method: str, outcome: str, seconds: float) -> None:
    """Count one remote call of ``system`` (an integration or geocoder name)."""
    metrics = _metrics()
    metrics["calls"].labels(system, method, outcome).inc()
    metrics["call_seconds"].labels(system).observe(seconds)
    with _lock:
        _recent.setdefault(system, deque(maxlen=RECENT)).append(seconds)
        if outcome == "ok":
            _last_ok[system] = utcnow()


def record_transition(integration: str, transition: str) -> None:
    """Count one transition of an issue."""
    _metrics()["transitions"].labels(integration, transition).inc()


def record_pass(kind: str, seconds: float, errors: int) -> None:
    """Count one sync pass."""
    metrics = _metrics()
    metrics["pass_seconds"].labels(kind).observe(seconds)
    if errors:
        metrics["pass_errors"].inc(errors)


def record_request(route: str, status: int) -> None:
    """Count one request to ``scf serve``."""
    _metrics()["http"].labels(route, str(status)).inc()


def latency(system: str) -> tuple[float | None, float | None, datetime | None]:
    """p50 and p95 (ms) of ``system``'s recent calls, and its last successful call."""
    with _lock:
        durations = list(_recent.get(system, ()))
        last = _last_ok.get(system)
    if not durations:
        return None, None, last
    if len(durations) == 1:
        return durations[0] * 1000, durations[0] * 1000, last
    cuts = statistics.quantiles(durations, n=20, method="inclusive")
    return cuts[9] * 1000, cuts[18] * 1000, last
