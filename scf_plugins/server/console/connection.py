"""``Test connection``: ``scf doctor``'s check of one integration (in one environment) or one
geocoder, told step by step in words.

The check makes network calls, so it runs in the thread pool; its outcome is rendered in the
answer to the POST itself (it has several lines, more than a flash message carries). A step
after the one that failed was not tried, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ...errors import UserError
from ...ops import doctor
from .endpoints import geocoder_now, integration_in

if TYPE_CHECKING:
    from ...config.settings import Settings
    from ...plugins import PluginHost


@dataclass(frozen=True)
class Step:
    """One step of a check: what it does, and its outcome in words (``OK``, ``Failed``, ``Not
    tried``) with the line doctor gave for it."""

    what: str
    outcome: str
    detail: str = ""


@dataclass(frozen=True)
class Tested:
    """A check's outcome: of what (``test environment``, ``geocoder``), whether it passed,
    its steps, and doctor's notes."""

    subject: str
    ok: bool
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()


def _labels(url: str, plugin: str, last: str) -> dict[str, str]:
    parts = urlsplit(url)
    host = parts.hostname or "?"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 0
    return {
        "resolve": f"Find {host} (name resolution)",
        "connect": f"Connect to {host} on port {port}",
        "settings": f"Check the settings ({plugin} plugin)",
        "login": last,
    }


def _told(subject: str, finding: doctor.Finding, labels: dict[str, str]) -> Tested:
    """``finding`` as steps: those before the failed one passed, those after were not tried."""
    steps = []
    failed = finding.failed_step
    reached = doctor.STEPS.index(failed) if failed in doctor.STEPS else len(doctor.STEPS)
    for i, step in enumerate(doctor.STEPS):
        if i < reached:
            detail = finding.detail if finding.ok and i == len(doctor.STEPS) - 1 else ""
            steps.append(Step(labels[step], "OK", detail))
        elif i == reached:
            steps.append(Step(labels[step], "Failed", finding.detail))
        else:
            steps.append(Step(labels[step], "Not tried"))
    return Tested(subject, finding.ok, tuple(steps), finding.notes)


def try_integration(settings: Settings, host: PluginHost, name: str, environment: str) -> Tested:
    """Doctor's check of integration ``name`` in ``environment``, with the password stored
    now (a config the file no longer reads is one failed step)."""
    subject = f"{environment} environment"
    try:
        integration = integration_in(settings, name, environment, host.plugin_options)
    except UserError as exc:
        return Tested(subject, False, (Step("Read the config and the password", "Failed",
                                            str(exc)),))  # fmt: skip
    labels = _labels(
        integration.url,
        integration.plugin,
        f"Log in as {integration.user!r} and read the request types",
    )
    return _told(subject, doctor.check_integration(host, integration), labels)


def try_geocoder(settings: Settings, host: PluginHost, name: str) -> Tested:
    """Doctor's check of geocoder ``name``, with the password stored now."""
    try:
        geocoder = geocoder_now(settings, name, host.plugin_options)
    except UserError as exc:
        return Tested("geocoder", False, (Step("Read the config and the password", "Failed",
                                                str(exc)),))  # fmt: skip
    labels = _labels(geocoder.url, geocoder.plugin, "Read the service's description")
    return _told("geocoder", doctor.check_geocoder(host, geocoder), labels)
