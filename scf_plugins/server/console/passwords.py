"""Saving a password from the console (an integration's environment, or a geocoder's), or a
named extra secret an integration's plugin declares (:mod:`.named_secrets`).

It is stored where ``scf credentials set`` (``--key KEY`` for a named secret) stores it
(:func:`scf_plugins.ops.credentials.save`: the open circuit is closed, the audit says who saved
which), then ``scf serve`` is asked to read its config and passwords again, as ``SIGHUP`` makes
it. The value is never put in a page, a redirect, a flash message, a log line or the audit; the
pages say only whether one is set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...ops import credentials
from .endpoints import password_state
from .named_secrets import label

if TYPE_CHECKING:
    from ...ops.credentials import Saved
    from .page import Visit


def save(
    visit: Visit, name: str, environment: str | None, password: str, key: str | None = None
) -> str:
    """Store ``name``'s password (or its named extra secret ``key``) as ``scf credentials
    set`` does, have ``scf serve`` read its config and passwords again (the engine uses it
    from its next poll pass), and say so in the words of the flash message. Runs off the
    event loop.

    :raises UserError: the core's (an empty password).
    """
    saved = credentials.save(
        name, environment, password, store=lambda: visit.store, actor=visit.actor, key=key
    )
    if visit.console.reload is not None:
        visit.console.reload()
    return saved_words(name, environment, saved, key)


def saved_words(name: str, environment: str | None, saved: Saved, key: str | None = None) -> str:
    """The flash after a password (or the named secret ``key``) was saved (never the value)."""
    what = label(key).lower() if key else "password"
    which = f"the {environment} {what}" if environment else f"the {what}"
    words = f"Saved {which} of {name}."
    if saved.circuit_closed:
        words += f" {name} was marked down; the next pass tries it at once."
    state = password_state(name, environment, key)
    if state.startswith("from the environment variable"):
        variable = state.rsplit(" ", 1)[-1]
        words += f" Note: {variable} is set in this server's environment and wins over it."
    return words
