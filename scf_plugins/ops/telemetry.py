"""What this process did, counted for ``/metrics`` and remembered for ``scf status``.

Every remote call (through :class:`scf_plugins.net.http.HttpClient`), every transition, every pass
and every Open311 request is counted here. Beside the counters, the last few hundred call
durations and the last successful call of each remote system are kept, so the engine can store
p50/p95 latencies and "last reached" with its pass (``scf status`` runs in another process and
reads those from the store).

Counting is plain Python under one lock (a few microseconds a call); prometheus-client is
imported only when ``/metrics`` is scraped, so neither start-up nor the first remote call of a
pass pays for it.
"""

from __future__ import annotations

import bisect
import statistics
import threading
from collections import Counter, deque
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..timeutil import utcnow

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric

RECENT = 500  # call durations kept per remote system for p50/p95
CALL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
PASS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

_lock = threading.Lock()
_recent: dict[str, deque[float]] = {}
_last_ok: dict[str, datetime] = {}
_calls: Counter[tuple[str, str, str]] = Counter()
_transitions: Counter[tuple[str, str]] = Counter()
_requests: Counter[tuple[str, str]] = Counter()
_pass_errors = [0]
# Histograms: per label, a count per bucket (the last one is +Inf), and the sum.
_call_hist: dict[str, tuple[list[int], list[float]]] = {}
_pass_hist: dict[str, tuple[list[int], list[float]]] = {}


def _observe(
    histogram: dict[str, tuple[list[int], list[float]]],
    label: str,
    buckets: tuple[float, ...],
    value: float,
) -> None:
    counts, total = histogram.setdefault(label, ([0] * (len(buckets) + 1), [0.0]))
    counts[bisect.bisect_left(buckets, value)] += 1
    total[0] += value


def record_call(system: str, method: str, outcome: str, seconds: float) -> None:
    """Count one remote call of ``system`` (an integration or geocoder name)."""
    with _lock:
        _calls[(system, method, outcome)] += 1
        _observe(_call_hist, system, CALL_BUCKETS, seconds)
        _recent.setdefault(system, deque(maxlen=RECENT)).append(seconds)
        if outcome == "ok":
            _last_ok[system] = utcnow()


def record_transition(integration: str, transition: str) -> None:
    """Count one transition of an issue."""
    with _lock:
        _transitions[(integration, transition)] += 1


def record_pass(kind: str, seconds: float, errors: int) -> None:
    """Count one sync pass."""
    with _lock:
        _observe(_pass_hist, kind, PASS_BUCKETS, seconds)
        _pass_errors[0] += errors


def record_request(route: str, status: int) -> None:
    """Count one request to ``scf serve``."""
    with _lock:
        _requests[(route, str(status))] += 1


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


def calls(system: str) -> dict[tuple[str, str], int]:
    """How many remote calls of ``system`` this process made, by (method, outcome)."""
    with _lock:
        return {(m, o): n for (s, m, o), n in _calls.items() if s == system}


class _Collector:
    """This process's counts as Prometheus metric families, built at each scrape."""

    def collect(self) -> Iterator[Metric]:
        """Snapshot the counts under the lock and yield them."""
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        with _lock:
            calls, transitions, requests = dict(_calls), dict(_transitions), dict(_requests)
            call_hist = {k: (list(c), t[0]) for k, (c, t) in _call_hist.items()}
            pass_hist = {k: (list(c), t[0]) for k, (c, t) in _pass_hist.items()}
            pass_errors = _pass_errors[0]
        yield _counter(
            "scf_remote_calls",
            "Remote calls, by remote system (integration or geocoder), method and outcome.",
            ["system", "method", "outcome"],
            calls,
        )
        yield _histogram(
            HistogramMetricFamily(
                "scf_remote_call_duration_seconds",
                "Duration of remote calls, by remote system.",
                labels=["system"],
            ),
            call_hist,
            CALL_BUCKETS,
        )
        yield _counter(
            "scf_transitions",
            "Issue transitions (acknowledged, closed, cancelled, archived), by integration.",
            ["integration", "transition"],
            transitions,
        )
        yield _histogram(
            HistogramMetricFamily(
                "scf_pass_duration_seconds",
                "Duration of sync passes, by kind (submit, poll, whole).",
                labels=["kind"],
            ),
            pass_hist,
            PASS_BUCKETS,
        )
        yield CounterMetricFamily("scf_pass_errors", "Errors met by sync passes.", pass_errors)
        yield _counter(
            "scf_open311_requests",
            "Requests to scf serve, by route and HTTP status.",
            ["route", "status"],
            requests,
        )


def _counter(name: str, text: str, labels: list[str], counts: dict[Any, int]) -> Any:
    from prometheus_client.core import CounterMetricFamily

    family = CounterMetricFamily(name, text, labels=labels)
    for values, count in counts.items():
        family.add_metric(list(values), count)
    return family


def _histogram(
    family: Any, data: dict[str, tuple[list[int], float]], buckets: tuple[float, ...]
) -> Any:
    for label, (counts, total) in data.items():
        running, cumulative = 0, []
        for bound, count in zip((*map(str, buckets), "+Inf"), counts, strict=True):
            running += count
            cumulative.append((bound, running))
        family.add_metric([label], cumulative, total)
    return family


def registry() -> CollectorRegistry:
    """A registry of this process's counts (what ``/metrics`` serves, with the store's
    gauges)."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    registry.register(_Collector())
    return registry
