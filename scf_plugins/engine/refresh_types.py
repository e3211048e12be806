"""Reloading each integration's request types in a long run, when they are older than its
``request_types_refresh_hours`` (shared: whichever worker sees it due first does it)."""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from ..config.settings import Settings
from ..intake import catalog
from ..models import Integration
from ..plugins import PluginHost
from ..store import tables
from ..store.store import Store

log = logging.getLogger(__name__)

RETRY_FAILED = timedelta(minutes=15)  # a refresh that failed is tried again after this long


def refresh_if_due(
    settings: Settings,
    host: PluginHost,
    store: Store,
    now: datetime,
    problems: Callable[[Integration], list[str]],
    failed: Callable[[Integration, Exception], None],
    waits: MutableMapping[str, datetime],
    *,
    only: Integration | None = None,
) -> None:
    """Reload the request types of each integration they are due for (none for one whose
    settings have ``problems``). A type that disappeared keeps its open issues; new reports
    of it are refused.

    :param failed: told of each integration whose types could not be reloaded (its cached
        ones stay); whatever went wrong, the others are still tried.
    :param waits: until when each integration whose refresh failed is left alone (this
        worker's memory): a failure is said once per ``RETRY_FAILED``, not at every pass.
    :param only: this integration alone (the loop refreshes each before its steps).
    """
    integrations = list(settings.integrations.values()) if only is None else [only]
    types = tables.request_types
    query = select(types.c.integration, func.max(types.c.fetched_at)).group_by(types.c.integration)
    if only is not None:
        query = query.where(types.c.integration == only.name)
    with store.read() as conn:
        fetched = dict(conn.execute(query).all())
    for integration in integrations:
        hours = integration.request_types_refresh_hours
        last = fetched.get(integration.name)
        if not hours or last is None:
            continue  # never, or never loaded: `scf request-types` (or a report) loads them
        last = last if last.tzinfo else last.replace(tzinfo=UTC)
        if now - last < timedelta(hours=hours) or problems(integration):
            continue
        if now < waits.get(integration.name, now):
            continue
        try:
            count = catalog.load_one(settings, host, store, integration)
        except Exception as exc:  # the plugin's answer or the store: the next one is tried
            waits[integration.name] = now + RETRY_FAILED
            failed(integration, exc)
            continue
        waits.pop(integration.name, None)
        log.info(
            "request types of %s refreshed: %d",
            integration.name,
            count,
            extra={"integration": integration.name, "event": "types-refreshed"},
        )
