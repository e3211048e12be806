"""The email a resident gets for one notification: :func:`compose` turns a :class:`Letter` into
an :class:`~email.message.EmailMessage` ready for :func:`scf_plugins.net.smtp.send`.

The text is the system message itself, inside a template per kind (plain text and HTML, in
``templates/email/``; HTML autoescaped), with the organization's name, the issue's summary and
a link to its public page when ``[server] public_url`` is set. The Message-ID is made from the
notification's id, so a message sent again is recognisable as the same one. Every header goes
through ``email``'s SMTP policy: a summary or name holding a line break cannot add a header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from functools import cache
from typing import NamedTuple

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ..config.email import KINDS, Email
from ..net.smtp import SmtpFailure

# What the subject says after the summary, per kind.
SUBJECT_ENDINGS = {
    "acknowledged": "received",
    "activity": "update",
    "comment": "a message for you",
    "closed": "closed",
    "canceled": "canceled",
}
MAX_SUMMARY = 60  # characters of the summary in a subject
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_SPACES = re.compile(r"\s+")


class Unsubscribe(NamedTuple):
    """The two unsubscribe links of a letter (each a signed token's URL, no address in it)."""

    issue: str  # stops mail about this report: the link in the letter's footer
    address: str  # stops all mail to this address: the List-Unsubscribe header's


@dataclass(frozen=True)
class Letter:
    """What one notification says, and to whom.

    :param text: the system message itself (the acknowledgement, the comment, …).
    :param public_url: the issue's public page, when ``[server] public_url`` is set.
    :param unsubscribe: the unsubscribe links, this issue's then this address's (None when
        there is no ``public_url`` to serve them from).
    """

    notification_id: int
    kind: str
    recipient: str
    organization: str
    issue_id: int
    summary: str
    remote_id: str | None
    text: str
    public_url: str | None = None
    unsubscribe: Unsubscribe | tuple[str, str] | None = None


def compose(email: Email, letter: Letter) -> EmailMessage:
    """The message for ``letter``, from ``email.sender``, plain text and HTML.

    :raises SmtpFailure: (permanent) when the recipient is not one usable address.
    :raises ValueError: for a kind that has no template.
    """
    if letter.kind not in KINDS:
        raise ValueError(f"no letter for notification kind {letter.kind!r}")
    summary = one_line(letter.summary) or "your report"
    subject = (
        f"Your report {letter.issue_id}: {shorten(summary, MAX_SUMMARY)} — "
        f"{SUBJECT_ENDINGS[letter.kind]}"
    )
    links = Unsubscribe(*letter.unsubscribe) if letter.unsubscribe is not None else None
    values = {
        "subject": subject,
        "organization": one_line(letter.organization),
        "issue_id": letter.issue_id,
        "summary": summary,
        "remote_id": one_line(letter.remote_id or ""),
        "text": _CONTROL.sub("", letter.text.replace("\r\n", "\n")).strip(),
        "public_link": letter.public_url,
        "unsubscribe": links,
    }
    message = EmailMessage(policy=SMTP)
    message["From"] = email.sender
    message["To"] = _recipient(letter.recipient)
    if email.reply_to:
        message["Reply-To"] = email.reply_to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = f"<scf-notification-{letter.notification_id}@{email.domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    if links is not None:
        message["List-Unsubscribe"] = f"<{links.address}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
    env = _environment()
    text = env.get_template(f"{letter.kind}.txt").render(values)
    html = env.get_template(f"{letter.kind}.html").render(values)
    # Quoted-printable keeps every line 7-bit and short, whatever the server offers.
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message


def one_line(text: str) -> str:
    """``text`` with every run of whitespace or control characters as one space."""
    return _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()


def shorten(text: str, most: int) -> str:
    """``text`` cut to ``most`` characters at a word, with an ellipsis when cut."""
    if len(text) <= most:
        return text
    cut = text[: most - 1].rsplit(" ", 1)[0] if " " in text[: most - 1] else text[: most - 1]
    return cut.rstrip(" ,;:.-") + "…"


def _recipient(address: str) -> Address:
    """The resident's address as one header address; anything else is permanent."""
    address = address.strip()
    try:
        if _CONTROL.search(address) or any(c in address for c in ' \t\r\n<>,;"'):
            raise ValueError("not a bare address")
        parsed = Address(addr_spec=address)
    except (ValueError, IndexError, TypeError):
        raise SmtpFailure("the reporter's email is not a usable address", permanent=True) from None
    if not parsed.username or "." not in parsed.domain:
        raise SmtpFailure("the reporter's email is not a usable address", permanent=True)
    return parsed


@cache
def _environment() -> Environment:
    """The email templates: HTML autoescaped, every name required."""
    return Environment(
        loader=PackageLoader("scf_plugins.engine", "templates/email"),
        autoescape=select_autoescape(["html"], default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
