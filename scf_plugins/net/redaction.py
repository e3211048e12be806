"""Keeping passwords and tokens out of output, logs and stored errors.

Every secret the host loads, and every token a plugin receives, is registered here; the
logging filter and :func:`redact` replace each with ``***`` wherever it would appear. This is
the second line of defence: code should not format secrets in the first place.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import quote, quote_plus

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None

# Query and form parameters whose values are secrets whatever they are.
_PARAM = re.compile(r"(?i)\b(token|password|passwd|pwd)=([^&\s'\"]+)")
MIN_LENGTH = 4  # shorter strings would blank out ordinary words


def register_secret(value: str | None) -> None:
    """Remember ``value`` (and its URL-encoded forms) so it is redacted everywhere."""
    global _pattern
    if not value or len(value) < MIN_LENGTH:
        return
    with _lock:
        before = len(_secrets)
        _secrets.update({value, quote(value, safe=""), quote_plus(value)})
        if len(_secrets) != before:
            ordered = sorted(_secrets, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def redact(text: str) -> str:
    """Return ``text`` with registered secrets and ``token=``/``password=`` values hidden."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub("***", text)
    return _PARAM.sub(lambda m: f"{m.group(1)}=***", text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message with its redacted text; never drops a record."""
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
