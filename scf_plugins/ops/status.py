"""``scf status``: one screen per integration and geocoder, from the store alone.

It runs in its own process, so everything it shows is in the store: issue counts, what waits
and what fails (from the issues), open circuits, and the health rows the engine writes after
each pass (when, how long, errors, the last successful remote call, recent latencies, and
when each sync loop last went round: :mod:`.liveness`), and the residents' emails waiting,
failing or uncertain, with the mail server's circuit.
The figures come from :mod:`.counts` and :mod:`.health`; :mod:`.metrics` turns them into
Prometheus gauges for ``/metrics`` and ``scf status --prometheus``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..config.email import EMAIL_CREDENTIAL as MAIL_CIRCUIT  # the mail server's circuit
from ..engine import circuits, retention
from ..models import Status
from ..store.links import foreign_links
from ..timeutil import iso, local_time
from . import counts, health, liveness

if TYPE_CHECKING:
    from ..config.settings import Settings
    from ..store.store import Store


def gather(settings: Settings, store: Store, now: datetime) -> dict[str, Any]:
    """The ``scf status --json`` shape (keys are added, never renamed)."""
    with store.read() as conn:
        by_status = counts.by_status(conn)
        waiting = counts.waiting(conn)
        failing = counts.failing(conn)
        stuck = counts.by_integration(conn, counts.stuck())
        stuck_in_all = counts.total(conn, counts.stuck())
        held = counts.by_integration(conn, counts.held())
        pending = counts.pending(conn)
        photos = counts.photos(conn)
        kept = retention.stored(conn)
        rows = health.read_all(conn)
        open_circuits = circuits.read_all(conn)
        unrouted = counts.unrouted(conn)
        emails = counts.emails(conn)
        foreign: dict[str, int] = {}
        for group in foreign_links(conn, settings.integrations):
            foreign[group.integration] = foreign.get(group.integration, 0) + group.count
    loops = liveness.from_rows(settings, rows, now)
    polls = {age.integration: age for age in loops if age.loop == "poll"}
    out: dict[str, Any] = {
        "integrations": [],
        "geocoders": [],
        "unrouted": unrouted,
        # What `scf issues list --status stuck` lists: every integration's, those of an
        # integration no longer configured, and unrouted issues waiting for a person.
        "stuck": stuck_in_all,
        "photos": {**kept, "purge_after_days": settings.images.purge_after_days},
        "loops": liveness.summary(loops),
        "notifications": _notifications(settings, emails, open_circuits.get(MAIL_CIRCUIT)),
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
                "counts": {s.value: by_status.get((name, s.value), 0) for s in Status},
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
                "poll_loop": polls[name].as_json(),
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


def _notifications(
    settings: Settings, emails: dict[str, int], circuit: circuits.Circuit | None
) -> dict[str, Any]:
    """The residents' emails: the counts, whether they are configured, and the mail server's
    circuit (only with ``[email]``: without it a circuit of that name is an integration's)."""
    down = circuit if settings.email is not None else None
    return {
        **emails,
        "configured": settings.email is not None,
        "down": down is not None,
        "down_since": iso(down.opened_at) if down else None,
        "down_reason": down.reason if down else None,
        "next_probe_at": iso(down.probe_at) if down else None,
    }


def failing(data: dict[str, Any]) -> bool:
    """Whether anything is failing (``scf status`` exits 1): a failing issue, photo or
    email, or a down integration or mail server."""
    mail = data["notifications"]
    return (
        mail["failing"] > 0
        or mail["down"]
        or any(i["failing"] or i["photos_failing"] or i["down"] for i in data["integrations"])
    )


def text(data: dict[str, Any], now: datetime, zone: str = "UTC") -> str:
    """The screen for people, times in ``zone`` (the organization's, as ``issues show``)."""

    def when(stamp: str | None) -> str:
        return local_time(stamp, zone)

    lines = []
    for i in data["integrations"]:
        counts = i["counts"]
        state = (
            f"DOWN since {when(i['down_since'])}: {i['down_reason']} "
            f"(next probe {when(i['next_probe_at'])})"
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
            + (f" (oldest {duration(oldest)})" if oldest is not None else "")
        )
        if i["photos_waiting"]:
            lines.append(
                f"  photos        {i['photos_waiting']} to send, {i['photos_failing']} failing"
            )
        if i["pending"]:
            lines.append(
                f"  pending       {i['pending']} accepted under a token, no request number yet "
                f"(oldest {duration(i['oldest_pending_seconds'] or 0)})"
            )
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(i["failing_by_kind"].items()))
        lines.append(f"  failing       {i['failing']}" + (f" ({kinds})" if kinds else ""))
        lines.append(f"  stuck         {i['stuck']}    held {i['held']}    "
                     f"linked to another environment {i['linked_elsewhere']}")  # fmt: skip
        if i["last_pass_at"]:
            lines.append(
                f"  last pass     {when(i['last_pass_at'])} ({i['last_pass_seconds']:.2f} s, "
                f"{i['last_pass_errors']} errors)"
            )
        else:
            lines.append(
                "  last pass     none recorded yet (is `scf sync` or `scf serve` running?)"
            )
        if i["last_error"]:
            lines.append(f"  last error    {when(i['last_error_at'])}: {i['last_error']}")
        lines.append(f"  polled        {_loop(i['poll_loop'])}")
        lines.append(f"  last reached  {when(i['last_success_at']) or 'not yet'}" + _latency(i))
    for g in data["geocoders"]:
        lines.append(
            f"geocoder {g['name']} ({g['plugin']}) for {', '.join(g['integrations']) or '-'}"
        )
        lines.append(f"  held          {g['held']}")
        lines.append(f"  last reached  {when(g['last_success_at']) or 'not yet'}" + _latency(g))
    if data["unrouted"]:
        lines.append(
            f"unrouted: {data['unrouted']} open issues have no integration (cancelled remotely); "
            f"give each a type that fits: scf issues recategorize ID --type CODE"
        )
    lines.append(f"submit loop: {_loop(data['loops']['submit'])}")
    shown = sum(i["stuck"] for i in data["integrations"])
    if data["stuck"] != shown:
        lines.append(
            f"stuck: {data['stuck']} in all, {data['stuck'] - shown} of them unrouted or of an "
            f"integration no longer configured: scf issues list --status stuck"
        )
    mail = data["notifications"]
    if mail["configured"] or mail["waiting"] or mail["uncertain"]:
        lines.append(_emails_line(mail, when))
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


def _emails_line(mail: dict[str, Any], when: Callable[[str | None], str]) -> str:
    """The residents' emails in one line, and what staff may do about uncertain ones."""
    line = (
        f"emails to residents: {mail['waiting']} waiting, {mail['failing']} failing, "
        f"{mail['uncertain']} uncertain"
    )
    if mail["down"]:
        line += (
            f"; mail server DOWN since {when(mail['down_since'])}: {mail['down_reason']} "
            f"(next probe {when(mail['next_probe_at'])})"
        )
    if not mail["configured"]:
        line += "; [email] is not set: nothing is sent"
    if mail["uncertain"]:
        line += (
            " (an uncertain one may have been delivered: `scf issues show` lists them, "
            "`scf notifications retry ID` sends one again)"
        )
    return line


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else round((now - then).total_seconds(), 1)


def duration(seconds: float | None) -> str:
    """A span for people: ``45 s``, ``12 min``, ``3.5 h`` (nothing for None)."""
    if seconds is None:
        return ""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _loop(entry: dict[str, Any]) -> str:
    """When a sync loop last went round (a :func:`.liveness.LoopAge.as_json` entry)."""
    if entry["age_seconds"] is None:
        return "no pass recorded yet"
    state = "STALE" if entry["stale"] else "ok"
    limit = f"{entry['stale_after_seconds']:.0f} s"
    return f"{duration(entry['age_seconds'])} ago ({state}; stale after {limit})"


def _latency(entry: dict[str, Any]) -> str:
    if entry["latency_p50_ms"] is None:
        return ""
    return f"; calls p50 {entry['latency_p50_ms']:.0f} ms, p95 {entry['latency_p95_ms']:.0f} ms"
