"""Where issues are linked (``scf links``), and acting on every issue linked to another
environment than its integration's live one: withdrawing them, or resubmitting them anew."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from ..errors import UserError
from ..timeutil import utcnow
from . import audit

if TYPE_CHECKING:
    from ..config.settings import Settings
    from ..store.store import Store

Verb = Literal["withdraw", "resubmit"]


def gather(settings: Settings, store: Store) -> list[dict[str, Any]]:
    """The ``scf links --json`` shape: a row per integration, environment, endpoint and
    status, and whether that is where the integration works now (``live``)."""
    from ..store.links import Scope, link_groups  # SQLAlchemy: loaded only when a store is used

    with store.read() as conn:
        groups = link_groups(conn)
    rows = []
    for integration, environment, endpoint, status, count in groups:
        configured = settings.integrations.get(integration)
        live = configured is not None and (environment, endpoint) == (
            Scope.live(configured).environment,
            Scope.live(configured).endpoint,
        )
        rows.append(
            {
                "integration": integration,
                "environment": environment,
                "endpoint": endpoint,
                "status": status,
                "count": count,
                "live": live,
                "unverified": endpoint is None,
            }
        )
    return rows


def act(
    settings: Settings,
    store: Store,
    integration: str,
    environment: str,
    endpoint: str | None,
    reason: str,
    verb: Verb,
    *,
    actor: str,
) -> int:
    """Withdraw or resubmit every Acknowledged issue of ``integration`` linked to
    ``environment`` (at ``endpoint``, if given), never the live one; returns how many."""
    from ..engine import transitions
    from ..store.links import Scope, endpoint_key, linked_ids

    action: Callable[..., bool] = getattr(transitions, verb)
    configured = settings.integrations.get(integration)
    if configured is not None:
        live = Scope.live(configured)
        if environment == live.environment and (
            endpoint is None or endpoint_key(endpoint) == live.endpoint
        ):
            raise UserError(
                f"{environment} is the live environment of {integration}; name another "
                f"environment, or act on single issues with `scf issues {verb} ID`"
            )
    elif verb == "resubmit":
        raise UserError(f"there is no integration {integration!r} in the config to resubmit to")
    now = utcnow()
    done = 0
    with store.transaction() as conn:
        for issue_id in linked_ids(conn, integration, environment, endpoint):
            done += action(conn, settings, issue_id, reason, now)
    if not done:
        raise UserError(
            f"no Acknowledged issue of {integration} is linked to environment {environment!r}"
            + (f" at {endpoint}" if endpoint else "")
            + "; see `scf links`"
        )
    where = f"{environment} at {endpoint}" if endpoint else environment
    did = "withdrew" if verb == "withdraw" else "resubmitted"
    audit.record(
        store,
        actor,
        f"links.{verb}",
        integration=integration,
        detail=f"{did} {done} issues linked to {where}: {reason}",
    )
    return done
