"""The request types a command works with: loaded from the remote systems when asked (or when
none are cached), and looked up by code."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import RemoteError, UserError
from ..intake import catalog
from ..models import RequestType
from . import audit

if TYPE_CHECKING:
    from ..config.settings import Settings
    from ..plugins import PluginHost
    from ..store.store import Store

Warn = Callable[[str], None]  # where a warning goes (the CLI: standard error)


def load(
    settings: Settings,
    host: PluginHost,
    store: Store,
    refresh: bool,
    warn: Warn,
    *,
    actor: str | None,
    integration: str | None = None,
) -> bool:
    """Load the request types when asked (``refresh``: of ``integration`` only, if given)
    or when none are cached; False when an integration's could not be loaded (each said
    once, through ``warn``). A refresh asked for by ``actor`` is audited per integration
    loaded (None: a load nobody asked for, when the cache is empty)."""
    cached = store.request_types()
    if refresh or not cached:
        result = _refresh(settings, host, store, integration if refresh else None)
        for name, error in result.failed.items():
            warn(f"warning: request types of {name} not refreshed: {error}")
        if result.failed and not result.loaded and not cached:
            raise UserError("no request types could be loaded; run `scf doctor` to see why")
        if refresh and actor is not None:
            for name, count in result.loaded.items():
                detail = f"refreshed request types: {count}"
                audit.record(store, actor, "request_types.refresh", integration=name, detail=detail)
        return not result.failed
    return True


def _refresh(
    settings: Settings, host: PluginHost, store: Store, integration: str | None
) -> catalog.RefreshResult:
    """Reload every integration's request types, or only ``integration``'s."""
    if integration is None:
        return catalog.refresh(settings, host, store)
    found = settings.integrations.get(integration)
    if found is None:
        known = ", ".join(settings.integrations) or "none"
        raise UserError(f"there is no integration {integration!r}; the integrations: {known}")
    try:
        return catalog.RefreshResult(
            {integration: catalog.load_one(settings, host, store, found)}, {}
        )
    except RemoteError as exc:  # said through warn, as for every integration
        return catalog.RefreshResult({}, {integration: str(exc)})


def find(settings: Settings, host: PluginHost, store: Store, code: str, warn: Warn) -> RequestType:
    """The cached request type ``code`` (loading the cache first if it is empty); a code
    that names one type ignoring case finds it too."""
    load(settings, host, store, False, warn, actor=None)
    rt = store.request_type(code)
    if rt is None:
        same = [t for t in store.request_types() if t.code.casefold() == code.casefold()]
        rt = same[0] if len(same) == 1 else None
    if rt is None:
        known = ", ".join(t.code for t in store.request_types()) or "none"
        raise UserError(
            f"unknown request type {code!r}; use one of: {known} "
            f"(or run `scf request-types --refresh`)"
        )
    return rt
