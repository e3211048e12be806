"""``scf status``: one screen per integration and geocoder, from the store alone.

It runs in its own process, so everything it shows is in the store: issue counts, what waits
and what fails (from the issues), open circuits, and the health rows the engine writes after
each pass (when, how long, errors, the last successful remote call, recent latencies).
The same figures are Prometheus gauges for ``/metrics`` and ``scf status --prometheus``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, func, select
from sqlalchemy.exc import IntegrityError

from ..engine import circuits, retention
from ..models import Status
from ..store.links import foreign_links
from ..store.tables import attachments, health, issues
from ..timeutil import iso
from . import telemetry

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from ..config.settings import Settings
    from ..store.store import Store

STUCK_AFTER = 5  # attempts after which a failing issue counts as stuck (as `issues list`)


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


def gather(settings: Settings, store: Store, now: datetime) -> dict[str, Any]:
    """The ``scf status --json`` shape (keys are added, never renamed)."""
    with store.read() as conn:
        counts = _counts(conn)
        waiting = _waiting(conn)
        failing = _failing(conn)
        stuck = _by_integration(conn, _stuck())
        held = _by_integration(conn, issues.c.held.is_(True))
        pending = _pending(conn)
        photos = _photos(conn)
        kept = retention.stored(conn)
        rows = {r.name: r for r in conn.execute(select(health))}
        open_circuits = circuits.read_all(conn)
        unrouted = conn.execute(
            select(func.count()).where(
                issues.c.status == Status.OPEN.value, issues.c.integration.is_(None)
            )
        ).scalar()
        foreign: dict[str, int] = {}
        for group in foreign_links(conn, settings.integrations):
            foreign[group.integration] = foreign.get(group.integration, 0) + group.count
    out: dict[str, Any] = {
        "integrations": [],
        "geocoders": [],
        "unrouted": unrouted or 0,
        "photos": {**kept, "purge_after_days": settings.images.purge_after_days},
    }
    for integration in settings.integrations.values():
        name = integration.name
        row = rows.get(name)
        oldest = waiting.get(name, (0, None))[1]
        circuit = open_circuits.get(name)
        out["integrations"].append(
            {
                "name": name,
                "plugin": integration.plugin,
                "environment": integration.environment,
                "counts": {s.value: counts.get((name, s.value), 0) for s in Status},
                "waiting": waiting.get(name, (0, None))[0],
                "failing": sum(failing.get(name, {}).values()),
                "failing_by_kind": failing.get(name, {}),
                "stuck": stuck.get(name, 0),
                "held": held.get(name, 0),
                "linked_elsewhere": foreign.get(name, 0),
                "oldest_waiting_seconds": _age(now, oldest),
                "photos_waiting": photos.get(name, (0, 0))[0],
                "photos_failing": photos.get(name, (0, 0))[1],
                "pending": pending.get(name, (0, None))[0],
                "oldest_pending_seconds": _age(now, pending.get(name, (0, None))[1]),
                "last_pass_at": iso(row.last_pass_at) if row else None,
                "last_pass_seconds": row.last_pass_seconds if row else None,
                "last_pass_errors": row.last_pass_errors if row else None,
                "last_error": row.last_error if row else None,
                "last_error_at": iso(row.last_error_at) if row else None,
                "last_success_at": iso(row.last_success_at) if row else None,
                "latency_p50_ms": row.latency_p50_ms if row else None,
                "latency_p95_ms": row.latency_p95_ms if row else None,
                "down": circuit is not None,
                "down_since": iso(circuit.opened_at) if circuit else None,
                "down_reason": circuit.reason if circuit else None,
                "next_probe_at": iso(circuit.probe_at) if circuit else None,
            }
        )
    for geocoder in settings.geocoders.values():
        row = rows.get(geocoder.name)
        served = [i.name for i in settings.integrations.values()
                  if i.address_validation == geocoder.name]  # fmt: skip
        out["geocoders"].append(
            {
                "name": geocoder.name,
                "plugin": geocoder.plugin,
                "integrations": served,
                "held": sum(held.get(n, 0) for n in served),
                "last_success_at": iso(row.last_success_at) if row else None,
                "latency_p50_ms": row.latency_p50_ms if row else None,
                "latency_p95_ms": row.latency_p95_ms if row else None,
            }
        )
    return out


def failing(data: dict[str, Any]) -> bool:
    """Whether anything is failing (``scf status`` exits 1): a failing issue or photo, or a
    down integration."""
    return any(i["failing"] or i["photos_failing"] or i["down"] for i in data["integrations"])


def text(data: dict[str, Any], now: datetime) -> str:
    """The screen for people."""
    lines = []
    for i in data["integrations"]:
        counts = i["counts"]
        state = (
            f"DOWN since {i['down_since']}: {i['down_reason']} (next probe {i['next_probe_at']})"
            if i["down"]
            else ("FAILING" if i["failing"] or i["photos_failing"] else "ok")
        )
        lines.append(f"{i['name']} ({i['plugin']}, {i['environment']}): {state}")
        lines.append(
            f"  issues        open {counts['open']}, acknowledged {counts['acknowledged']}, "
            f"closed {counts['closed']}, archived {counts['archived']}"
        )
        oldest = i["oldest_waiting_seconds"]
        lines.append(
            f"  waiting       {i['waiting']}"
            + (f" (oldest {_duration(oldest)})" if oldest is not None else "")
        )
        if i["photos_waiting"]:
            lines.append(
                f"  photos        {i['photos_waiting']} to send, {i['photos_failing']} failing"
            )
        if i["pending"]:
            lines.append(
                f"  pending       {i['pending']} accepted under a token, no request number yet "
                f"(oldest {_duration(i['oldest_pending_seconds'] or 0)})"
            )
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(i["failing_by_kind"].items()))
        lines.append(f"  failing       {i['failing']}" + (f" ({kinds})" if kinds else ""))
        lines.append(f"  stuck         {i['stuck']}    held {i['held']}    "
                     f"linked to another environment {i['linked_elsewhere']}")  # fmt: skip
        if i["last_pass_at"]:
            lines.append(
                f"  last pass     {i['last_pass_at']} ({i['last_pass_seconds']:.2f} s, "
                f"{i['last_pass_errors']} errors)"
            )
        else:
            lines.append(
                "  last pass     none recorded yet (is `scf sync` or `scf serve` running?)"
            )
        if i["last_error"]:
            lines.append(f"  last error    {i['last_error_at']}: {i['last_error']}")
        lines.append(f"  last reached  {i['last_success_at'] or 'not yet'}" + _latency(i))
    for g in data["geocoders"]:
        lines.append(
            f"geocoder {g['name']} ({g['plugin']}) for {', '.join(g['integrations']) or '-'}"
        )
        lines.append(f"  held          {g['held']}")
        lines.append(f"  last reached  {g['last_success_at'] or 'not yet'}" + _latency(g))
    if data["unrouted"]:
        lines.append(
            f"unrouted: {data['unrouted']} open issues have no integration (cancelled remotely); "
            f"give each a type that fits: scf issues recategorize ID --type CODE"
        )
    photos = data["photos"]
    keep = photos["purge_after_days"]
    lines.append(
        f"photos: {photos['stored']} stored ({photos['stored_mb']:g} MB), {photos['purged']} "
        + (
            f"purged; kept {keep:g} days after their issue is archived"
            if keep is not None
            else "purged; kept for good ([images] purge_after_days is not set)"
        )
    )
    return "\n".join(lines)


def metrics(data: dict[str, Any]) -> Iterator[Metric]:
    """The status as Prometheus gauges."""
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
    yield from (issue_counts, waiting, failing_now, oldest, pending, down, photos_waiting,
                photos_failing, stored)  # fmt: skip


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

        yield from metrics(gather(self.settings, self.store, self.now or utcnow()))


def collector(settings: Settings, store: Store) -> _Collector:
    """A Prometheus collector of the store's gauges (``/metrics`` registers it)."""
    return _Collector(settings, store)


# -- queries -----------------------------------------------------------------------------------


def _waiting_condition() -> Any:
    return and_(
        issues.c.status == Status.OPEN.value,
        issues.c.integration.is_not(None),
        issues.c.remote_id.is_(None),
        issues.c.pending_token.is_(None),
        issues.c.held.is_(False),
    )


def _stuck() -> Any:
    return and_(
        issues.c.status.in_((Status.OPEN.value, Status.ACKNOWLEDGED.value)),
        (issues.c.attempts >= STUCK_AFTER) | issues.c.attention.is_not(None),
    )


def _counts(conn: Connection) -> dict[tuple[str, str], int]:
    rows = conn.execute(
        select(issues.c.integration, issues.c.status, func.count()).group_by(
            issues.c.integration, issues.c.status
        )
    )
    return {(str(r[0]), str(r[1])): int(r[2]) for r in rows if r[0] is not None}


def _waiting(conn: Connection) -> dict[str, tuple[int, datetime | None]]:
    rows = conn.execute(
        select(issues.c.integration, func.count(), func.min(issues.c.created_at))
        .where(_waiting_condition())
        .group_by(issues.c.integration)
    )
    return {str(r[0]): (int(r[1]), _aware(r[2])) for r in rows}


def _photos(conn: Connection) -> dict[str, tuple[int, int]]:
    """Photos not sent yet (nor kept here) per integration: how many, and how many failing.
    Only photos that can still go count: a closed issue's photo is never sent, so a failure
    it had must not keep the status failing for good."""
    rows = conn.execute(
        select(
            issues.c.integration,
            func.count(),
            func.count(attachments.c.last_error),
        )
        .select_from(attachments.join(issues, issues.c.id == attachments.c.issue_id))
        .where(
            attachments.c.pushed_at.is_(None),
            attachments.c.kept_here.is_(None),
            attachments.c.purged_at.is_(None),
            issues.c.status.in_((Status.OPEN.value, Status.ACKNOWLEDGED.value)),
        )
        .group_by(issues.c.integration)
    )
    return {str(r[0]): (int(r[1]), int(r[2])) for r in rows}


def _pending(conn: Connection) -> dict[str, tuple[int, datetime | None]]:
    rows = conn.execute(
        select(issues.c.integration, func.count(), func.min(issues.c.pending_since))
        .where(issues.c.status == Status.OPEN.value, issues.c.pending_token.is_not(None))
        .group_by(issues.c.integration)
    )
    return {str(r[0]): (int(r[1]), _aware(r[2])) for r in rows}


def _failing(conn: Connection) -> dict[str, dict[str, int]]:
    rows = conn.execute(
        select(issues.c.integration, issues.c.last_error_kind, func.count())
        .where(
            issues.c.status.in_((Status.OPEN.value, Status.ACKNOWLEDGED.value)),
            issues.c.last_error_kind.is_not(None),
            issues.c.last_error_kind != "held",
            issues.c.integration.is_not(None),
        )
        .group_by(issues.c.integration, issues.c.last_error_kind)
    )
    out: dict[str, dict[str, int]] = {}
    for name, kind, count in rows:
        out.setdefault(str(name), {})[str(kind)] = int(count)
    return out


def _by_integration(conn: Connection, condition: Any) -> dict[str, int]:
    rows = conn.execute(
        select(issues.c.integration, func.count()).where(condition).group_by(issues.c.integration)
    )
    return {str(r[0]): int(r[1]) for r in rows if r[0] is not None}


def _aware(value: Any) -> datetime | None:
    """``func.min`` of a UTC column comes back naive from SQLite; it is UTC."""
    from datetime import UTC

    if value is None:
        return None
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(when, datetime)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else round((now - then).total_seconds(), 1)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _latency(entry: dict[str, Any]) -> str:
    if entry["latency_p50_ms"] is None:
        return ""
    return f"; calls p50 {entry['latency_p50_ms']:.0f} ms, p95 {entry['latency_p95_ms']:.0f} ms"
