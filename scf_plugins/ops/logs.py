"""Logging set-up: human text or one JSON object per line, always redacted.

Code that logs a remote call or a transition passes structured fields through ``extra``
(``integration``, ``method``, ``duration_ms``, ``outcome``, ``issue_id``, ``transition``);
the JSON format carries them as keys.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from ..intake.sanitize import for_terminal, json_text
from ..net.redaction import RedactingFilter, redact
from ..timeutil import iso, utcnow

STRUCTURED_FIELDS = (
    "integration", "geocoder", "method", "duration_ms", "outcome", "issue_id", "remote_id",
    "transition", "event", "calls", "error_kind", "status", "path", "api_key",
    "submitted", "acknowledged", "closed", "cancelled", "activity", "comments_in",
    "comments_out", "archived", "held", "errors", "polled", "pending", "photos_out",
    "photos_purged", "seconds",
)  # fmt: skip


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and the structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one redacted JSON line."""
        data: dict[str, Any] = {
            "time": iso(utcnow()),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key in STRUCTURED_FIELDS:
            if key in record.__dict__:
                data[key] = record.__dict__[key]
        if record.exc_info and record.exc_info[1] is not None:
            data["error"] = redact(f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}")
        return json_text(data, default=str)


class TextFormatter(logging.Formatter):
    """``LEVEL logger: message`` with the structured fields appended as ``key=value``."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one redacted text line (no traceback)."""
        extras = " ".join(
            f"{key}={record.__dict__[key]}" for key in STRUCTURED_FIELDS if key in record.__dict__
        )
        line = f"{record.levelname.lower()} {record.name}: {record.getMessage()}"
        return for_terminal(redact(f"{line} {extras}".rstrip()), one_line=True)


def setup(log_format: str = "text", level: str = "warning") -> None:
    """Send the ``scf_*`` loggers to stderr in ``log_format`` at ``level``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_scf", False):
            root.removeHandler(old)
    handler._scf = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Third-party chatter (urllib3 retries, connection pools) stays out unless debugging.
    logging.getLogger("urllib3").setLevel(max(logging.WARNING, root.level))
