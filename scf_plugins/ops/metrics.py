"""The status as Prometheus gauges: for ``/metrics`` (read at each scrape) and for
``scf status --prometheus`` (a node-exporter textfile)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import status

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from ..config.settings import Settings
    from ..store.store import Store


def metrics(data: dict[str, Any]) -> Iterator[Metric]:
    """The status (:func:`~.status.gather`'s shape) as Prometheus gauges."""
    from prometheus_client.core import GaugeMetricFamily

    issue_counts = GaugeMetricFamily(
        "scf_issues", "Issues by integration and status.", labels=["integration", "status"]
    )
    waiting = GaugeMetricFamily("scf_issues_waiting", "Issues waiting to be submitted.",
                                labels=["integration"])  # fmt: skip
    failing_now = GaugeMetricFamily("scf_issues_failing", "Issues whose last attempt failed.",
                                    labels=["integration", "kind"])  # fmt: skip
    oldest = GaugeMetricFamily(
        "scf_oldest_waiting_seconds", "Age of the oldest issue waiting to be submitted.",
        labels=["integration"],
    )  # fmt: skip
    pending = GaugeMetricFamily(
        "scf_issues_pending", "Creates accepted under a token, their remote id not known yet.",
        labels=["integration"],
    )  # fmt: skip
    down = GaugeMetricFamily(
        "scf_integration_down", "1 while the integration's circuit is open (it is down).",
        labels=["integration"],
    )  # fmt: skip
    photos_waiting = GaugeMetricFamily(
        "scf_photos_waiting", "Photos still to send to the remote system.",
        labels=["integration"],
    )  # fmt: skip
    photos_failing = GaugeMetricFamily(
        "scf_photos_failing", "Photos whose last upload failed.", labels=["integration"]
    )
    stored = GaugeMetricFamily(
        "scf_photos_stored_bytes", "Bytes of the photos the store holds (purged ones not counted)."
    )
    stored.add_metric([], data["photos"]["stored_bytes"])
    loop_age = GaugeMetricFamily(
        "scf_loop_age_seconds",
        "Seconds since the sync loop last went round (poll: its oldest integration); absent "
        "until one is recorded.",
        labels=["loop"],
    )
    loop_stale = GaugeMetricFamily(
        "scf_loop_stale", "1 while the sync loop is stale ([server] stale_after_intervals).",
        labels=["loop"],
    )  # fmt: skip
    poll_age = GaugeMetricFamily(
        "scf_poll_loop_age_seconds",
        "Seconds since the poll loop last went through the integration.",
        labels=["integration"],
    )
    emails = GaugeMetricFamily(
        "scf_notifications",
        "Residents' emails: waiting to be sent, failing (waiting, their last try failed), and "
        "uncertain (interrupted after the server may have taken them; sent again only by hand).",
        labels=["state"],
    )
    mail = data["notifications"]
    for state in ("waiting", "failing", "uncertain"):
        emails.add_metric([state], mail[state])
    mail_down = GaugeMetricFamily(
        "scf_mail_server_down", "1 while the mail server's circuit is open (it is down)."
    )
    mail_down.add_metric([], 1 if mail["down"] else 0)
    for loop, entry in data["loops"].items():
        if entry["age_seconds"] is not None:
            loop_age.add_metric([loop], entry["age_seconds"])
        loop_stale.add_metric([loop], 1 if entry["stale"] else 0)
    for i in data["integrations"]:
        for state, count in i["counts"].items():
            issue_counts.add_metric([i["name"], state], count)
        waiting.add_metric([i["name"]], i["waiting"])
        for kind, count in i["failing_by_kind"].items():
            failing_now.add_metric([i["name"], kind], count)
        oldest.add_metric([i["name"]], i["oldest_waiting_seconds"] or 0)
        pending.add_metric([i["name"]], i["pending"])
        down.add_metric([i["name"]], 1 if i["down"] else 0)
        photos_waiting.add_metric([i["name"]], i["photos_waiting"])
        photos_failing.add_metric([i["name"]], i["photos_failing"])
        if i["poll_loop"]["age_seconds"] is not None:
            poll_age.add_metric([i["name"]], i["poll_loop"]["age_seconds"])
    yield from (issue_counts, waiting, failing_now, oldest, pending, down, photos_waiting,
                photos_failing, stored, loop_age, loop_stale, poll_age, emails,
                mail_down)  # fmt: skip


def prometheus_text(settings: Settings, store: Store, now: datetime) -> bytes:
    """The status in the Prometheus text format (for a node-exporter textfile)."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    registry.register(_Collector(settings, store, now))
    return generate_latest(registry)


class _Collector:
    """The store's gauges, read at each scrape."""

    def __init__(self, settings: Settings, store: Store, now: datetime | None = None) -> None:
        self.settings, self.store, self.now = settings, store, now

    def collect(self) -> Iterator[Metric]:
        """Read the store and yield the gauges."""
        from ..timeutil import utcnow

        yield from metrics(status.gather(self.settings, self.store, self.now or utcnow()))


def collector(settings: Settings, store: Store) -> _Collector:
    """A Prometheus collector of the store's gauges (``/metrics`` registers it)."""
    return _Collector(settings, store)
