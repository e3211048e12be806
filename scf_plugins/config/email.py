"""The ``[email]``, ``[notifications]`` and ``[privacy]`` sections: how residents are written
to, about what, and how long their contact details are kept.

``[email]`` names the mail server (``host``, ``port``, ``security``), the sender (``from``,
``reply_to``) and the login (``user``; its password is the credential ``email``: `scf
credentials set email`, or ``SCF_EMAIL_PASSWORD``). Without ``[email]`` nobody is written to,
and ``[notifications]`` is then a mistake; with it, ``[server] public_url`` is required, since
every email carries an unsubscribe link that ``scf serve`` answers there. ``[privacy]
purge_contact_after_days`` has no default: how long a city keeps reporters' names, emails and
phones is its records policy.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from email.utils import getaddresses, parseaddr
from typing import Any, Literal

from ..models import Secret
from .reader import Reader

# The credential that holds the mail server's password (no environment, like a geocoder's).
EMAIL_CREDENTIAL = "email"
SECURITY = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
# What a resident is written about, in the order an issue lives them.
KINDS = ("acknowledged", "activity", "comment", "closed", "canceled")

EMAIL_KEYS = {"host", "port", "security", "from", "user", "reply_to", "timeout_seconds"}
NOTIFICATIONS_KEYS = {"send", "give_up_after_hours"}
GIVE_UP_AFTER_HOURS = 72.0  # a notification failing this long after it was queued is dropped
PRIVACY_KEYS = {"purge_contact_after_days"}

_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?|\[?[0-9A-Fa-f:.]+\]?")
_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PUBLIC_URL_KEY = "server.public_url"

Security = Literal["starttls", "tls", "none"]


@dataclass(frozen=True)
class Email:
    """The ``[email]`` section: the mail server residents' emails leave through.

    ``sender`` is the ``from`` key (a display name and address, or an address). ``password``
    is the credential ``email``, looked up when ``user`` is set (None otherwise, or when the
    config was read without resolving secrets); it never shows in a repr.
    """

    host: str
    port: int
    security: Security
    user: str | None
    sender: str
    reply_to: str | None
    timeout_seconds: float = 30.0
    password: Secret | None = field(default=None, compare=False)

    @property
    def address(self) -> str:
        """The sender's bare address (``no-reply@example.gov``)."""
        return parseaddr(self.sender)[1]

    @property
    def domain(self) -> str:
        """The domain of the sender's address: the right-hand side of every Message-ID."""
        return self.address.rpartition("@")[2].lower()


@dataclass(frozen=True)
class Notifications:
    """The ``[notifications]`` section: the kinds of message residents are sent (all by
    default), and how long one that keeps failing is tried: a temporary failure more than
    ``give_up_after_hours`` after it was queued skips it as "expired"."""

    send: frozenset[str] = frozenset(KINDS)
    give_up_after_hours: float = GIVE_UP_AFTER_HOURS


@dataclass(frozen=True)
class Privacy:
    """The ``[privacy]`` section: reporters' contact details are blanked this many days after
    their issue is archived (None: kept)."""

    purge_contact_after_days: int | None = None


def read_email(reader: Reader, table: Any) -> Email | None:
    """``[email]`` from its table, or None when the section is absent or unusable."""
    if table is None:
        return None
    if not isinstance(table, dict):
        reader.problem("email", "must be a table; write it as [email]")
        return None
    # A password here is already refused, with its fix, by Reader.no_secrets.
    reader.unknown({k: v for k, v in table.items() if k != "password"}, "email", EMAIL_KEYS)
    host = _host(reader, table)
    security = reader.get(table, "security", "email", str, "starttls", _one_of(SECURITY))
    if security not in SECURITY:
        reader.problem("email.security", f"{security!r} is not valid; {_one_of(SECURITY)}")
        security = "starttls"
    default_port = DEFAULT_PORTS[security]
    port = int(reader.number(table, "port", "email", default_port, 1, 65535))
    if "port" in table and isinstance(table["port"], float) and not table["port"].is_integer():
        reader.problem("email.port", f"{table['port']!r} is not a port; use a whole number")
    sender = _address(reader, table, "from", required=True)
    reply_to = _address(reader, table, "reply_to", required=False)
    user = reader.get(table, "user", "email", str, None, "use the login name")
    user = user.strip() if isinstance(user, str) and user.strip() else None
    if user is not None and _CONTROL.search(user):
        reader.problem("email.user", "has a control character in it; use the login name")
        user = None
    return Email(
        host=host,
        port=port,
        security=security,
        user=user,
        sender=sender or "",
        reply_to=reply_to,
        timeout_seconds=reader.number(table, "timeout_seconds", "email", 30, 1, 600),
        password=reader.secret(EMAIL_CREDENTIAL, None) if user else None,
    )


def require_public_url(reader: Reader, email: Email | None, public_url: str | None) -> None:
    """A problem when ``[email]`` is set without ``[server] public_url``: every email carries an
    unsubscribe link (and its report's page), and both are served at that address."""
    if email is None or public_url:
        return
    if any(f": {_PUBLIC_URL_KEY}: " in line for line in reader.problems):
        return  # a public_url given but unusable is already one line
    reader.problem(
        _PUBLIC_URL_KEY,
        "missing, and [email] is set: every email carries an unsubscribe link served at "
        "public_url; set it to the address residents reach scf serve at, e.g. "
        '"https://311.example.gov"',
    )


def read_notifications(reader: Reader, table: Any, email: Email | None) -> Notifications:
    """``[notifications]`` from its table; a problem when there is no ``[email]`` to send
    them through."""
    if table is None:
        return Notifications()
    if not isinstance(table, dict):
        reader.problem("notifications", "must be a table; write it as [notifications]")
        return Notifications()
    if email is None:
        reader.problem(
            "notifications",
            "there is no [email] section to send them through; add [email] with host and "
            "from, or remove [notifications]",
        )
    reader.unknown(table, "notifications", NOTIFICATIONS_KEYS)
    hours = reader.number(
        table, "give_up_after_hours", "notifications", GIVE_UP_AFTER_HOURS, 1, 24 * 365
    )
    kinds = reader.strings(table, "send", "notifications", KINDS)
    for kind in kinds:
        if kind not in KINDS:
            close = difflib.get_close_matches(kind, KINDS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            reader.problem(
                "notifications.send",
                f"{kind[:40]!r} is not a kind of message; {hint}use any of {', '.join(KINDS)}",
            )
            return Notifications(give_up_after_hours=hours)
    return Notifications(frozenset(kinds), hours)


def read_privacy(reader: Reader, table: Any) -> Privacy:
    """``[privacy]`` from its table (no retention unless set)."""
    if table is None:
        return Privacy()
    if not isinstance(table, dict):
        reader.problem("privacy", "must be a table; write it as [privacy]")
        return Privacy()
    reader.unknown(table, "privacy", PRIVACY_KEYS)
    if "purge_contact_after_days" not in table:
        return Privacy()
    days = reader.number(table, "purge_contact_after_days", "privacy", 365, 1, 36500)
    return Privacy(int(days))


def _host(reader: Reader, table: dict[str, Any]) -> str:
    """``host``: a name or address, without a scheme, port or path."""
    host = reader.get(
        table, "host", "email", str, "", 'use the mail server\'s name, e.g. "smtp.example.gov"'
    )
    host = str(host).strip()
    if not host:
        reader.problem("email.host", 'missing; e.g. host = "smtp.example.gov"')
    elif not _HOST.fullmatch(host):
        reader.problem(
            "email.host",
            "give the mail server's name only (no scheme, port or path), e.g. "
            'host = "smtp.example.gov" and port = 587',
        )
    return host.strip("[]")


def _address(reader: Reader, table: dict[str, Any], key: str, *, required: bool) -> str | None:
    """An address header's value (``Name <a@b.c>`` or ``a@b.c``); never one that could carry
    another header, or more than one address."""
    where = f"email.{key}"
    value = reader.get(
        table, key, "email", str, None, 'use an address, e.g. "311 <no-reply@example.gov>"'
    )
    if value is None:
        if required:
            reader.problem(where, 'missing; e.g. from = "311 <no-reply@example.gov>"')
        return None
    value = str(value).strip()
    found = getaddresses([value])
    if _CONTROL.search(value) or len(found) != 1 or not _ADDRESS.fullmatch(found[0][1]):
        reader.problem(
            where,
            'is not one email address; write it as "311 <no-reply@example.gov>" or '
            '"no-reply@example.gov"',
        )
        return None
    return value


def _one_of(values: tuple[str, ...]) -> str:
    return "use " + " or ".join(f'"{v}"' for v in values)
