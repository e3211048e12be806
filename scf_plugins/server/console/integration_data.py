"""What the Integrations pages show, read off the event loop: ``scf status``'s figures for
each integration and geocoder, the environments and whether their passwords are set, the
errors the latest failing issues carry, this process's remote calls, and the cached request
types with their questions.

Nothing here is tracked for the console: it is what the store (health, circuits, issues,
request types) and this process's telemetry already keep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ...models import RequestType
from ...ops import counts, status, telemetry
from ...store.tables import issues, request_types
from .endpoints import Environment, environments, password_state

if TYPE_CHECKING:
    from ...config.settings import Settings
    from ...store.store import Store

RECENT_ERRORS = 5  # failing issues shown with their error on an integration's page


@dataclass(frozen=True)
class IssueError:
    """A failing issue and the error its last attempt met."""

    id: int
    summary: str
    kind: str
    error: str
    at: datetime


@dataclass(frozen=True)
class Call:
    """Remote calls of one method with one outcome, made by this process since it started."""

    method: str
    outcome: str
    count: int


@dataclass(frozen=True)
class IntegrationView:
    """Everything an integration's page shows."""

    figures: dict[str, Any]  # its entry of ``scf status --json``
    url: str
    user: str
    geocoder: str | None
    environments: list[Environment]
    errors: list[IssueError]
    calls: list[Call]
    types: list[RequestType]
    types_fetched_at: datetime | None


@dataclass(frozen=True)
class GeocoderView:
    """Everything a geocoder's page shows."""

    figures: dict[str, Any]  # its entry of ``scf status --json``
    url: str
    user: str | None
    password: str | None  # whether it is set, in words (None: it needs none)
    calls: list[Call]


def state(figures: dict[str, Any]) -> str:
    """An integration's state in a word: ``Down``, ``Failing`` or ``OK``."""
    if figures["down"]:
        return "Down"
    if figures["failing"] or figures["photos_failing"]:
        return "Failing"
    return "OK"


def summary(settings: Settings, store: Store, now: datetime) -> dict[str, Any]:
    """The list page's figures: ``scf status --json``, with each integration's state in a
    word and whether the password of its live environment is set."""
    data = status.gather(settings, store, now)
    for entry in data["integrations"]:
        live = settings.integrations[entry["name"]]
        entry["state"] = state(entry)
        entry["url"] = live.url
        entry["password"] = password_state(live.name, live.environment)
    for entry in data["geocoders"]:
        geocoder = settings.geocoders[entry["name"]]
        entry["url"] = geocoder.url
        entry["password"] = password_state(geocoder.name, None) if geocoder.user else None
    return data


def _calls(name: str) -> list[Call]:
    made = telemetry.calls(name)
    return [Call(method, outcome, n) for (method, outcome), n in sorted(made.items())]


def integration(settings: Settings, store: Store, name: str, now: datetime) -> IntegrationView:
    """Integration ``name``'s page (it must be configured)."""
    live = settings.integrations[name]
    data = status.gather(settings, store, now)
    [figures] = [i for i in data["integrations"] if i["name"] == name]
    figures["state"] = state(figures)
    with store.read() as conn:
        rows = conn.execute(
            select(
                issues.c.id,
                issues.c.summary,
                issues.c.last_error_kind,
                issues.c.last_error,
                issues.c.updated_at,
            )
            .where(counts.failing_now(), issues.c.integration == name)
            .order_by(issues.c.updated_at.desc(), issues.c.id.desc())
            .limit(RECENT_ERRORS)
        ).all()
        fetched = conn.execute(
            select(func.max(request_types.c.fetched_at)).where(request_types.c.integration == name)
        ).scalar()
    errors = [IssueError(r.id, r.summary, r.last_error_kind, r.last_error or "", r.updated_at)
              for r in rows]  # fmt: skip
    types = [t for t in store.request_types() if t.integration == name]
    return IntegrationView(
        figures,
        live.url,
        live.user,
        live.address_validation,
        environments(settings, name),
        errors,
        _calls(name),
        types,
        fetched,
    )


def geocoder(settings: Settings, store: Store, name: str, now: datetime) -> GeocoderView:
    """Geocoder ``name``'s page (it must be configured)."""
    configured = settings.geocoders[name]
    data = status.gather(settings, store, now)
    [figures] = [g for g in data["geocoders"] if g["name"] == name]
    needs = configured.user is not None
    return GeocoderView(
        figures,
        configured.url,
        configured.user,
        password_state(name, None) if needs else None,
        _calls(name),
    )
