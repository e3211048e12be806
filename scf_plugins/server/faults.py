"""How the door names its own failures in log lines and in ``/healthz``.

The engine's :func:`~scf_plugins.engine.outcomes.describe` blames "the plugin" for an
unexpected exception, which is right for a hook and wrong here: an error met while answering
a request or reading the database is the server's, and the operator should look there.
"""

from __future__ import annotations

from ..errors import ScfError
from ..intake.sanitize import clean
from ..net.redaction import redact


def describe_fault(exc: BaseException) -> str:
    """One redacted line for an error the server met: a known one says what it is, an
    unexpected one is named as the server's (never a plugin's)."""
    text = (
        str(exc)
        if isinstance(exc, ScfError)
        else f"unexpected {type(exc).__name__} in the server: {exc}"
    )
    return clean(redact(text), 2000)
