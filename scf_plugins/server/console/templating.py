"""The templates and what every one of them sees: the organization, the signed-in account,
its CSRF field, the navigation, the flash message, and a few helpers for links and times.

Templates live in ``templates/`` (each page's extends ``base.html``), autoescaped, and
strict: a name a template uses but the page did not give is an error, not a blank.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from markupsafe import Markup

from ...timeutil import iso, local_time
from .auth import CSRF_FIELD
from .paths import HOME

if TYPE_CHECKING:
    from jinja2.runtime import Context as TemplateContext

    from ...config.settings import Settings
    from ...ops.staff import StaffAccount
    from .flash import Flash

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class NavItem:
    """One link of the navigation bar."""

    label: str
    href: str
    admin: bool = False  # shown to admins only


NAV = (
    NavItem("Overview", HOME),
    NavItem("Issues", "/console/issues"),
    NavItem("Report an issue", "/console/issues/new"),
    NavItem("Integrations", "/console/integrations", admin=True),
    NavItem("API keys", "/console/api-keys", admin=True),
    NavItem("Staff", "/console/staff", admin=True),
    NavItem("Audit", "/console/audit"),
)


def common(
    settings: Settings,
    path: str,
    title: str,
    account: StaffAccount | None,
    csrf: str,
    flash: Flash | None,
) -> dict[str, Any]:
    """What every template sees: ``title`` (the page's one h1), ``organization`` (its name),
    ``account`` (None on the sign-in page) and ``admin``, ``csrf`` and ``csrf_input`` (the
    hidden field every POST form includes), ``nav`` (this account's links, the ``current``
    one marked), ``flash`` (a :class:`~.flash.Flash` or None), ``path`` and ``zone`` (the
    organization's, for the ``when`` filter)."""
    admin = account is not None and account.role == "admin"
    shown = [item for item in NAV if admin or not item.admin]
    # The link nearest the page is the current one: Report an issue, not Issues too.
    here = max((i.href for i in shown if _current(i.href, path)), key=len, default=None)
    nav = [{"label": i.label, "href": i.href, "current": i.href == here} for i in shown]
    field = Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, csrf)
    return {
        "title": title,
        "organization": settings.organization.name,
        "account": account,
        "admin": admin,
        "csrf": csrf,
        "csrf_input": field,
        "nav": nav if account is not None else [],
        "flash": flash,
        "path": path,
        "zone": settings.organization.zone,
    }


def _current(href: str, path: str) -> bool:
    return path == href if href == HOME else path == href or path.startswith(href + "/")


def issues_url(status: str | None = None, integration: str | None = None) -> str:
    """The Issues page filtered by ``status`` and ``integration``."""
    params = {k: v for k, v in (("status", status), ("integration", integration)) if v}
    return "/console/issues" + (f"?{urlencode(params)}" if params else "")


def integration_url(name: str) -> str:
    """An integration's page."""
    return f"/console/integrations/{quote(name, safe='')}"


@pass_context
def _when(context: TemplateContext, stamp: str | datetime | None) -> str:
    """A time for people: minutes, in the organization's zone (``2026-12-02 01:12 EST``)."""
    if isinstance(stamp, datetime):
        stamp = iso(stamp)
    return local_time(stamp, context.get("zone") or "UTC") if stamp else ""


def environment() -> Environment:
    """The templates: autoescaped, strict, with the ``when`` filter and the link helpers."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.globals["issues_url"] = issues_url
    env.globals["integration_url"] = integration_url
    return env
