"""Links between local issues and remote requests: where each lives, and how it is verified.

A link is the remote id an issue was given, scoped to the integration, the environment and
the endpoint it was made on, and tied to a *marker*: a string the remote request carries back
(Cityworks ``OtherSystemId``) that is unique per store and per submission::

    scf-<store id>-<issue id>-<generation>      e.g. scf-k3m9qz2a-1042-1  (at most 30 chars)

The store id is 8 random characters kept in the database, so two stores against one remote
system never match each other's requests; the generation grows whenever the issue is routed
again (recategorized after a cancel, resubmitted), so a lookup after a lost create never finds
the request of an earlier submission. Links made before markers had these parts keep their
``scf-<id>`` marker and no scope until the first poll that finds that marker adopts them.

The engine polls, pushes comments to and reconciles only links of the live environment and
endpoint, and applies an update only when the remote request carries the issue's marker.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from ..models import Integration, Status
from .tables import issues

MARKER_MAX = 30  # the remote field's length is not documented; stay well inside it
MARKER_PREFIX = "scf-"


def new_marker(store_id: str, issue_id: int, generation: int) -> str:
    """The marker of one submission of one issue."""
    marker = f"{MARKER_PREFIX}{store_id}-{issue_id}-{generation}"
    if len(marker) > MARKER_MAX:
        raise ValueError(f"marker {marker!r} is longer than {MARKER_MAX} characters")
    return marker


def legacy_marker(issue_id: int) -> str:
    """The marker of links made before markers carried a store id (schema 1)."""
    return f"{MARKER_PREFIX}{issue_id}"


def marker_of(row: Any) -> str:
    """The issue's current marker (links made before store ids have ``scf-<id>``)."""
    return str(row["marker"] or legacy_marker(row["id"]))


def endpoint_key(url: str) -> str:
    """An endpoint URL reduced to what names the server and site: scheme, host, port, path.

    Case, a default port, a trailing slash, a query and user info do not make another
    endpoint; another host, port or site path does.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(scheme)
    try:
        port = parts.port
    except ValueError:
        port = None
    where = host if port in (None, default) else f"{host}:{port}"
    return f"{scheme}://{where}{parts.path.rstrip('/').lower()}"


@dataclass(frozen=True)
class Scope:
    """Where the links of an integration live now: its environment and endpoint."""

    integration: str
    environment: str
    endpoint: str

    @classmethod
    def live(cls, integration: Integration) -> Scope:
        """The scope new links of ``integration`` get, and the only one it works on."""
        return _live(integration.name, integration.environment, integration.url)

    def condition(self, *, adopt_legacy: bool = False) -> ColumnElement[bool]:
        """Issues linked within this scope (and, with ``adopt_legacy``, unscoped old links)."""
        here = and_(
            issues.c.link_environment == self.environment,
            issues.c.link_endpoint == self.endpoint,
        )
        if adopt_legacy:
            here = or_(here, issues.c.link_endpoint.is_(None))
        return and_(issues.c.integration == self.integration, here)


@functools.lru_cache(maxsize=64)  # asked once per acknowledgement: parse each URL once
def _live(name: str, environment: str, url: str) -> Scope:
    return Scope(name, environment, endpoint_key(url))


@dataclass(frozen=True)
class ForeignLinks:
    """Acknowledged issues of an integration linked to another environment or endpoint."""

    integration: str
    environment: str | None
    endpoint: str | None
    count: int

    def describe(self) -> str:
        """One line for config check, doctor and sync: what it is and what to do."""
        where = f"environment {self.environment!r} at {self.endpoint}"
        return (
            f"integration {self.integration}: {self.count} issue(s) linked to {where}, not the "
            f"live one, are not synced; switch the environment back, or run `scf links "
            f"withdraw {self.integration} --environment {self.environment}` (close them here "
            f"with a message) or `scf links resubmit …` (send them to the live environment)"
        )


def link_groups(
    conn: Connection, status: Status | None = None
) -> list[tuple[str, str | None, str | None, str, int]]:
    """Every (integration, environment, endpoint, status) of linked issues, with counts (only
    those of ``status``, when given: read through the status index, not the history)."""
    query = select(
        issues.c.integration,
        issues.c.link_environment,
        issues.c.link_endpoint,
        issues.c.status,
        func.count(),
    ).where(issues.c.remote_id.is_not(None), issues.c.integration.is_not(None))
    if status is not None:
        query = query.where(issues.c.status == status.value)
    rows = conn.execute(
        query.group_by(
            issues.c.integration,
            issues.c.link_environment,
            issues.c.link_endpoint,
            issues.c.status,
        ).order_by(issues.c.integration, issues.c.link_environment, issues.c.link_endpoint)
    )
    return [(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]


def foreign_links(conn: Connection, integrations: Mapping[str, Integration]) -> list[ForeignLinks]:
    """The Acknowledged issues each configured integration would not sync: linked elsewhere.
    (Asked at every status, scrape and start: only the Acknowledged issues are read.)"""
    out = []
    for name, environment, endpoint, _, count in link_groups(conn, Status.ACKNOWLEDGED):
        live = integrations.get(name)
        if live is None or endpoint is None:
            continue  # legacy links are adopted (or refused) by their first poll
        scope = Scope.live(live)
        if (environment, endpoint) != (scope.environment, scope.endpoint):
            out.append(ForeignLinks(name, environment, endpoint, count))
    return out


def linked_ids(
    conn: Connection, integration: str, environment: str, endpoint: str | None = None
) -> list[int]:
    """The Acknowledged issues linked within one integration and environment (and endpoint)."""
    query = select(issues.c.id).where(
        issues.c.status == Status.ACKNOWLEDGED.value,
        issues.c.integration == integration,
        issues.c.link_environment == environment,
    )
    if endpoint is not None:
        query = query.where(issues.c.link_endpoint == endpoint_key(endpoint))
    return list(conn.execute(query.order_by(issues.c.id)).scalars())
