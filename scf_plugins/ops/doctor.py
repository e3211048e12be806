"""``scf doctor``: can this machine reach, and log in to, each integration and geocoder (and
the mail server residents are written through)?

Each target is checked in the order things fail in practice (name resolution, TCP connect,
the plugin's own settings checks, then one harmless authenticated read), and the first
failure is reported in one line with its likely cause and fix.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..config.settings import Settings
from ..errors import LoginRefused, ScfError
from ..models import Geocoder, Integration, problems_and_warnings
from ..net.redaction import redact
from ..plugins import PluginHost
from . import advice, cleartext, config_check

if TYPE_CHECKING:
    from ..store.store import Store


@dataclass(frozen=True)
class Finding:
    """The outcome for one integration or geocoder."""

    target: str
    ok: bool
    detail: str
    notes: tuple[str, ...] = ()
    failed_step: str | None = None  # which of STEPS failed (None: they all passed)


# The steps a check takes, in order; a check stops at the first that fails.
STEPS = ("resolve", "connect", "settings", "login")


def _network(url: str, timeout: float) -> tuple[str, str] | None:
    """Why ``url``'s host cannot be reached at the TCP level (the step that failed and the
    line that says why), or None."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return "resolve", f"cannot resolve host {host!r}: check the url and this machine's DNS"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = (
            "refused"
            if isinstance(exc, ConnectionRefusedError)
            else "timed out"
            if isinstance(exc, TimeoutError)
            else type(exc).__name__
        )
        return "connect", (
            f"cannot connect to {host}:{port} ({reason}): a firewall or the server's "
            f"allowlist may block this machine, or the port is wrong"
        )
    return None


def _run(
    target: str, url: str, timeout: float, checks: Callable[[], list[str]], read: Callable[[], str]
) -> Finding:
    unreachable = _network(url, timeout)
    if unreachable:
        step, problem = unreachable
        return Finding(target, False, problem, failed_step=step)
    try:
        settings_problems = checks()
    except ScfError as exc:
        return Finding(target, False, redact(str(exc)), failed_step="settings")
    if settings_problems:
        problem = "settings: " + "; ".join(settings_problems)
        return Finding(target, False, problem, failed_step="settings")
    try:
        return Finding(target, True, read())
    except ScfError as exc:
        return Finding(target, False, redact(str(exc)), failed_step="login")


def check_integration(host: PluginHost, integration: Integration) -> Finding:
    """Reach, log in to and read the request types of one integration, then its statuses."""

    def read() -> str:
        try:
            # The plugin's own proof that the endpoint takes the credentials, when it has one
            # (a remote system whose reads need no key would pass the read below with a bad one).
            connected = host.check_connection(integration)
        except LoginRefused as exc:
            fix = f"scf credentials set {integration.name} --env {integration.environment}"
            text = redact(str(exc))
            raise LoginRefused(text if fix in text else f"{text}; set them with `{fix}`") from None
        types = host.list_request_types(integration)
        said = connected or f"logged in as {integration.user!r}"
        return f"{integration.url}: {said}, {len(types)} public request types"

    try:  # the plugin's warnings are shown whatever the network says
        said = problems_and_warnings(host.check_integration(integration))[1]
    except ScfError:
        said = []

    def checks() -> list[str]:
        return problems_and_warnings(host.check_integration(integration))[0]

    finding = _run(
        f"integration {integration.name} ({integration.environment})",
        integration.url,
        min(10.0, integration.timeout_seconds),
        checks,
        read,
    )
    if finding.ok:
        notes = [*said, *status_notes(host, integration)]
        finding = dataclasses.replace(finding, notes=tuple(notes))
    elif said:
        finding = dataclasses.replace(finding, notes=(*finding.notes, *said))
    return finding


def status_notes(host: PluginHost, integration: Integration) -> list[str]:
    """The remote statuses neither status list maps, and listed statuses the remote lacks."""
    try:
        statuses = host.list_statuses(integration)
    except ScfError as exc:
        return [f"the remote statuses could not be read: {redact(str(exc))}"]
    if statuses is None:
        return []
    mapped = {s.upper() for s in (*integration.closed_statuses, *integration.cancel_statuses)}
    known = {s.upper() for s in statuses}
    notes = []
    unmapped = [s for s in statuses if s.upper() not in mapped]
    if unmapped:
        notes.append(
            f"remote statuses in neither closed_statuses nor cancel_statuses (an issue stays "
            f"Acknowledged in them): {', '.join(unmapped)}"
        )
    unknown = [s for s in (*integration.closed_statuses, *integration.cancel_statuses)
               if s.upper() not in known]  # fmt: skip
    if unknown:
        notes.append(
            f"closed_statuses/cancel_statuses name {', '.join(unknown)}, which "
            f"{integration.name} does not have; check the spelling against: "
            f"{', '.join(statuses) or '(none)'}"
        )
    return notes


def check_geocoder(host: PluginHost, geocoder: Geocoder) -> Finding:
    """Reach and read the service description of one geocoder."""
    return _run(
        f"geocoder {geocoder.name}",
        geocoder.url,
        min(10.0, geocoder.timeout_seconds),
        lambda: host.check_geocoder(geocoder),
        lambda: f"{geocoder.url}: {host.probe_geocoder(geocoder)}",
    )


def check_email(settings: Settings) -> Finding:
    """Connect to the mail server, say hello, secure the connection and log in as ``[email]``
    says; send nothing. Notes say what residents' emails lack over a plain http
    ``public_url``."""
    from ..net import smtp

    email = settings.email
    assert email is not None
    notes = []
    if config_check.unsubscribe_in_clear(settings):
        notes.append("server.public_url is plain http: one-click unsubscribe needs https")
    if email.security == "none" and email.user and not cleartext.is_local(email.host):
        notes.append(f"the password for {email.host} crosses the network unencrypted")
    try:
        done = smtp.check(email, email.password)
    except smtp.SmtpFailure as exc:
        return Finding("email", False, redact(str(exc)), tuple(notes))
    return Finding("email", True, "; ".join(done), tuple(notes))


def diagnose(settings: Settings, host: PluginHost, store: Store | None = None) -> list[Finding]:
    """A finding for every integration and geocoder of the config, with advice as notes
    (a missing timezone; with ``store``, issues linked to another environment)."""
    findings = [check_integration(host, i) for i in settings.integrations.values()]
    findings += [check_geocoder(host, g) for g in settings.geocoders.values()]
    advice_lines = advice.timezone_lines(settings, host)
    if store is not None:
        advice_lines += advice.foreign_link_lines(settings, store)
    for i, integration in enumerate(settings.integrations.values()):
        mine = tuple(line for name, line in advice_lines if name == integration.name)
        findings[i] = dataclasses.replace(findings[i], notes=findings[i].notes + mine)
    # A password sent in the clear is a note of its target, whether it was reached or not.
    targets = [
        *((False, n) for n in settings.integrations),
        *((True, n) for n in settings.geocoders),
    ]
    for clear in cleartext.lines(settings):
        i = targets.index((clear.geocoder, clear.name))
        findings[i] = dataclasses.replace(findings[i], notes=(*findings[i].notes, clear.text))
    if settings.email is not None:
        findings.append(check_email(settings))
    return findings


def healthy(findings: list[Finding]) -> bool:
    """Whether every target was reached (``scf doctor`` exits 1 otherwise, or with none)."""
    return bool(findings) and all(f.ok for f in findings)


def as_json(findings: list[Finding]) -> list[dict[str, Any]]:
    """The ``scf doctor --json`` shape."""
    return [
        {"target": f.target, "ok": f.ok, "detail": f.detail, "notes": list(f.notes)}
        for f in findings
    ]


def text(findings: list[Finding]) -> str:
    """The screen for people: a line per target, then its notes."""
    lines = []
    for f in findings:
        lines.append(f"{'OK  ' if f.ok else 'FAIL'} {f.target}: {f.detail}")
        lines += [f"     note: {note}" for note in f.notes]
    return "\n".join(lines)
