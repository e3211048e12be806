"""Flash messages: the one line a page shows once, after the POST that redirected to it.

It travels in a short-lived signed cookie (``scf_console_flash``, a minute, ``HttpOnly;
SameSite=Strict; Path=/console``), so it needs no session (sign-out has one too) and
survives the redirect; the page that shows it tells the browser to forget it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import orjson

from ...net.redaction import redact
from .auth import Signer

MAX_FLASH = 500  # characters of a message (it travels in a cookie, which holds about 4 KB)


@dataclass(frozen=True)
class Flash:
    """A one-line message; ``error`` when it says why an action was refused."""

    text: str
    error: bool = False


def encode(signer: Signer, text: str, error: bool) -> str:
    """The cookie value for a message (redacted and cut to :data:`MAX_FLASH`), signed."""
    data = orjson.dumps([redact(text)[:MAX_FLASH], error])
    return signer.sign(base64.urlsafe_b64encode(data).decode("ascii").rstrip("="))


def decode(signer: Signer, cookie: str | None) -> Flash | None:
    """The message of a cookie this console signed; None for none, or a forged one."""
    value = signer.unsign(cookie)
    if value is None:
        return None
    try:
        text, error = orjson.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (ValueError, TypeError, binascii.Error):
        return None
    return Flash(str(text)[:MAX_FLASH], bool(error))
