"""The host's error types.

Every error the host or a plugin raises on purpose derives from :class:`ScfError`. The CLI
prints a ``UserError`` as one line and exits non-zero; the sync engine decides retries by
the kind of :class:`RemoteError` a plugin raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ScfError(Exception):
    """Base of every error raised on purpose by the host or a plugin."""


class UserError(ScfError):
    """Bad input or configuration: printed as one line that says what to do."""


class ConfigError(UserError):
    """The org config or its credentials are wrong; the text names file, key and fix."""


class RemoteError(ScfError):
    """A remote system (or geocoder) failed a call.

    Plugins raise one of the three subclasses; the engine's retry rules depend on which.
    ``retry_after`` is how long the remote system asked to be left alone (``Retry-After``),
    in seconds; the engine waits at least that long, within its back-off caps.
    """

    kind = "remote"

    def __init__(self, *args: object, retry_after: float | None = None) -> None:
        super().__init__(*args)
        self.retry_after = retry_after


class DefiniteError(RemoteError):
    """The remote refused the call (bad data, no permission): retrying the same call will not help.

    The issue keeps the error and is retried with a long back-off, since staff may fix the
    remote side (a permission, a template) without telling us.
    """

    kind = "definite"


class TransientError(RemoteError):
    """Timeout, 503, connection reset: nothing happened remotely and the call is safe to retry."""

    kind = "transient"


class AmbiguousError(RemoteError):
    """The call may have been carried out (a create whose answer was lost).

    The engine retries only through an idempotent path (``submit`` reconciles first).
    ``plugin_state`` (as on ``Submission``) is kept on the issue for that retry: what the
    plugin needs to look for the request (when it was sent, a token it was given).
    """

    kind = "ambiguous"

    def __init__(
        self,
        *args: object,
        retry_after: float | None = None,
        plugin_state: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(*args, retry_after=retry_after)
        self.plugin_state = plugin_state


class LoginRefused(DefiniteError):
    """The remote system refused the integration's own credentials (user, password, key).

    Every call fails until they are fixed, so the host blames the integration, not the issue:
    it opens the integration's circuit (see :mod:`scf_plugins.engine.circuits`) instead of charging
    each waiting issue a failure.
    """
