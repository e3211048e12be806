"""``scf config check``: every problem of the config, the plugins' own checks, and advice.

:func:`gather` reads the config, asks each integration's and geocoder's plugin to check its
section, and (when nothing is wrong) looks at the store: who may read it, issues linked to
another environment, the request types cached, and the photos a retention period would purge
at once. :func:`complaints` and :func:`text` are what people read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config.email import KINDS
from ..config.settings import Settings, check_config
from ..errors import ScfError
from ..models import problems_and_warnings
from . import advice, cleartext
from .views import table

if TYPE_CHECKING:
    from ..plugins import PluginHost
    from ..store.store import Store

MB = 2**20


def gather(path: Path, host: PluginHost, store: Callable[[], Store]) -> dict[str, Any]:
    """The ``scf config check --json`` shape (keys are added, never renamed).

    :param store: opens the store; called only when the config has no problem.
    """
    settings, problems = check_config(path, plugin_options=host.plugin_options)
    routing: list[dict[str, Any]] = []
    warnings: list[str] = []
    if settings is not None:
        for integration in settings.integrations.values():
            problems += _plugin_problems(
                path,
                f"integrations.{integration.name}",
                partial(host.check_integration, integration),
                warnings,
            )
            routing.append(
                {
                    "integration": integration.name,
                    "plugin": integration.plugin,
                    "environment": integration.environment,
                    "request_types": list(integration.request_types),
                }
            )
        for geocoder in settings.geocoders.values():
            problems += _plugin_problems(
                path, f"geocoders.{geocoder.name}", partial(host.check_geocoder, geocoder), warnings
            )
        warnings += [line for _, line in advice.timezone_lines(settings, host)]
        warnings += _plain_http(settings)
        warnings += [f"{path}: {c.key}: {c.text}" for c in cleartext.lines(settings)]
        warnings += _mail_warnings(settings)
    opened = store() if settings is not None and not problems else None
    if settings is not None and opened is not None:
        warnings += _store_warnings(settings, opened)
        cached = opened.request_types()
        for entry in routing:
            entry["cached"] = [rt.code for rt in cached if rt.integration == entry["integration"]]
    serving = dataclasses.asdict(settings.server) if settings is not None else None
    photos = dataclasses.asdict(settings.images) if settings is not None else None
    mail = _mail(settings) if settings is not None else None
    if photos is not None and opened is not None and photos["purge_after_days"] is not None:
        photos["purge_due"] = _purge_due(opened, photos["purge_after_days"])
    return {
        "ok": not problems,
        "problems": problems,
        "warnings": warnings,
        "routing": routing,
        "server": serving,
        "images": photos,
        "email": mail,
    }


def complaints(data: dict[str, Any]) -> list[str]:
    """The lines for standard error: each problem, then each warning."""
    return [*data["problems"], *(f"warning: {line}" for line in data["warnings"])]


def text(data: dict[str, Any], path: Path) -> str:
    """The screen for people when the config is usable: the routing, ``scf serve``'s address
    and limits, and how photos are kept."""
    routing = [
        [r["integration"], r["plugin"], r["environment"],
         ", ".join(r.get("cached") or r["request_types"])]
        for r in data["routing"]
    ]  # fmt: skip
    serving = data["server"]
    where = serving["public_url"] or "public_url not set: loopback only, links name its address"
    photos = data["images"]
    keep = photos["purge_after_days"]
    kept = (
        f"their bytes purged {keep:g} days after the issue is archived "
        f"({photos['purge_due']['photos']} photos, "
        f"{photos['purge_due']['bytes'] / MB:.1f} MB, are due now and go over the next passes)"
        if keep is not None
        else "kept for good (set [images] purge_after_days for a retention period)"
    )
    return "\n".join(
        [
            f"{path}: OK",
            table(["integration", "plugin", "env", "serves"], routing),
            f"scf serve: {where}; jurisdiction {serving['jurisdiction_id'] or 'any'}; "
            f"{serving['requests_per_minute'] or 'unlimited'} POSTs a minute per key; "
            f"bodies up to {serving['max_body_kb']} KB; "
            f"{serving['gets_per_minute'] or 'unlimited'} GETs a minute per address; "
            f"browser apps (CORS): {', '.join(serving['cors_origins']) or 'none'}",
            f"photos: up to {photos['max_per_issue']} per issue, "
            f"{photos['max_bytes'] / MB:g} MB each, kept at {photos['max_side']} px; {kept}",
            _mail_text(data.get("email")),
        ]
    )


def _mail(settings: Settings) -> dict[str, Any]:
    """The ``email`` key of ``--json``: the server residents are written through (None when
    ``[email]`` is absent), the kinds sent, and how long contact details are kept."""
    email = settings.email
    server = None
    if email is not None:
        server = {
            "host": email.host,
            "port": email.port,
            "security": email.security,
            "from": email.sender,
            "reply_to": email.reply_to,
            "user": email.user,
        }
    return {
        "server": server,
        "send": [kind for kind in KINDS if kind in settings.notifications.send],
        "purge_contact_after_days": settings.privacy.purge_contact_after_days,
    }


def _mail_text(mail: dict[str, Any] | None) -> str:
    """One line: whom residents hear from, about what, and how long their details are kept."""
    if mail is None or mail["server"] is None:
        line = "email: residents are not written to (add [email] to send them notifications)"
    else:
        server = mail["server"]
        login = f", logging in as {server['user']}" if server["user"] else ""
        line = (
            f"email: from {server['from']} through {server['host']}:{server['port']} "
            f"({server['security']}{login}); sends {', '.join(mail['send']) or 'nothing'}"
        )
    days = None if mail is None else mail["purge_contact_after_days"]
    kept = (
        f"blanked {days} days after the issue is archived"
        if days is not None
        else "kept for good (set [privacy] purge_contact_after_days for a retention period)"
    )
    return f"{line}; reporters' contact details {kept}"


def _mail_warnings(settings: Settings) -> list[str]:
    """Warnings about ``[email]``: unsubscribe links a mail client cannot follow in one click,
    and a password that would cross the network unencrypted."""
    email = settings.email
    if email is None:
        return []
    found = []
    if unsubscribe_in_clear(settings):
        found.append(
            f"server.public_url {settings.server.public_url} is plain http and email is set: "
            f"mail clients' one-click unsubscribe (RFC 8058) needs https; serve it over https "
            f"(a TLS proxy in front of scf serve)"
        )
    if email.security == "none" and email.user and not cleartext.is_local(email.host):
        found += [
            f'email.security is "none" and email.user is set: the password for {email.host} '
            f'crosses the network unencrypted; use "starttls" or "tls"'
        ]
    return found


def unsubscribe_in_clear(settings: Settings) -> bool:
    """Whether residents' emails carry unsubscribe links over plain http (RFC 8058's
    one-click unsubscribe needs https)."""
    url = settings.server.public_url or ""
    return settings.email is not None and url.lower().startswith("http://")


def _plugin_problems(
    path: Path, key: str, check: Callable[[], list[str]], warnings: list[str]
) -> list[str]:
    """A plugin's own checks of one config section, as config-check lines (its warnings are
    added to ``warnings``)."""
    try:
        problems, said = problems_and_warnings(check())
    except ScfError as exc:
        return [f"{path}: {key}.plugin: {exc}"]
    warnings += [f"{path}: {key}: {w}" for w in said]
    return [f"{path}: {key}: {p}" for p in problems]


def _plain_http(settings: Settings) -> list[str]:
    """A warning when clients would reach ``scf serve`` unencrypted."""
    url = settings.server.public_url
    if not url or not url.lower().startswith("http://"):
        return []
    return [
        f"server.public_url {url} is plain http: clients' API keys and "
        f"reporters' details would cross the network unencrypted; serve it over https "
        f"(a TLS proxy in front of scf serve)"
    ]


def _store_warnings(settings: Settings, store: Store) -> list[str]:
    """A database others may read, and issues linked to another environment."""
    from ..store.store import readable_by_others  # SQLAlchemy: only once the config is usable

    warnings = []
    exposed = readable_by_others(settings.organization.database)
    if exposed:
        warnings.append(
            f"{exposed}: the database can be read by other users of this machine (it "
            f"holds reporters' emails and private answers); run: chmod 600 {exposed}*"
        )
    return warnings + [line for _, line in advice.foreign_link_lines(settings, store)]


def _purge_due(store: Store, days: float) -> dict[str, int]:
    """What a retention period of ``days`` deletes at once, before it is set."""
    from ..engine import retention
    from ..timeutil import utcnow

    with store.read() as conn:
        count, size = retention.due(conn, utcnow(), timedelta(days=days))
    return {"photos": count, "bytes": size}
