"""Logging set-up: human text or one JSON object per line, always redacted.

Code that logs a remote call or a transition passes structured fields through ``extra``
(``integration``, ``method``, ``duration_ms``, ``outcome``, ``issue_id``, ``transition``);
the JSON format carries them as keys.

Under the JSON format every line on stderr is a JSON object, whoever writes it: uvicorn's and
Alembic's loggers go through the same handler, Python's warnings are logged, an uncaught
exception is one record, and a line printed to stderr (the CLI's notices, such as "serving
Open311 at …") is wrapped in a record by :class:`JsonLines`.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from types import TracebackType
from typing import Any, TextIO

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


class JsonLines(io.TextIOBase):
    """``sys.stderr`` under the JSON format: each line written that is not already a JSON
    object becomes one (logger ``stderr``; level ``warning`` or ``error`` when the line says
    so), so a log collector never meets a line it cannot parse."""

    def __init__(self, target: TextIO) -> None:
        self.target = target
        self._partial = ""
        self._lock = threading.Lock()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        """The target's encoding (click writes to this stream only when it has one)."""
        return getattr(self.target, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str:  # type: ignore[override]
        """The target's error handler."""
        return getattr(self.target, "errors", None) or "backslashreplace"

    def writable(self) -> bool:
        """Always: it is an output stream."""
        return True

    def isatty(self) -> bool:
        """Whether the target is a terminal."""
        return self.target.isatty()

    def write(self, text: str) -> int:
        """Write the complete lines of ``text`` as JSON; keep a partial line for later."""
        if not isinstance(text, str):
            raise TypeError("JsonLines takes text")  # click tells text from binary streams so
        with self._lock:
            *lines, self._partial = (self._partial + text).split("\n")
            for line in lines:
                if line.strip():
                    self.target.write(_as_json_line(line) + "\n")
        return len(text)

    def flush(self) -> None:
        """Flush the target (a partial line waits for its end)."""
        self.target.flush()


def _as_json_line(line: str) -> str:
    """A JSON log line as is; any other line as a record of logger ``stderr``."""
    text = line.strip()
    if text.startswith("{") and text.endswith("}"):
        try:
            json.loads(text)
        except ValueError:
            pass
        else:
            return text
    word = text.split(":", 1)[0].lower()
    level = word if word in ("warning", "error") else "info"
    data = {"time": iso(utcnow()), "level": level, "logger": "stderr", "message": redact(text)}
    return json_text(data, default=str)


def _log_uncaught(
    kind: type[BaseException], exc: BaseException, trace: TracebackType | None
) -> None:
    """An uncaught exception as one log record (the JSON format), not a traceback."""
    logging.getLogger("scf_plugins").critical(
        "stopped by an unexpected error", exc_info=(kind, exc, trace)
    )


def setup(log_format: str = "text", level: str = "warning") -> None:
    """Send the ``scf_*`` loggers to stderr in ``log_format`` at ``level``; with ``json``,
    make every other line on stderr JSON too."""
    stderr = sys.stderr.target if isinstance(sys.stderr, JsonLines) else sys.stderr
    handler = logging.StreamHandler(stderr)
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
    json_lines = log_format == "json"
    logging.captureWarnings(json_lines)
    sys.stderr = JsonLines(stderr) if json_lines else stderr
    sys.excepthook = _log_uncaught if json_lines else sys.__excepthook__
