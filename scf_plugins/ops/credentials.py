"""What ``scf credentials set`` and the console's password form do: a warning when the config
has no such integration or environment, and :func:`save` (the password stored, the
integration's circuit closed, the audit entry)."""

from __future__ import annotations

import contextlib
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config.email import EMAIL_CREDENTIAL
from ..config.server import METRICS_CREDENTIAL
from ..errors import ScfError, UserError
from . import audit

if TYPE_CHECKING:
    from ..store.store import Store


def unknown_credential(path: Path, name: str, environment: str | None) -> list[str]:
    """Warnings when the config at ``path`` has no integration or geocoder NAME, or no such
    environment of it (a typo would store a password nothing reads)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, tomllib.TOMLDecodeError):
        return []  # no config to compare with (yet): nothing to warn about
    if name == METRICS_CREDENTIAL:  # not an integration's: scf serve's /metrics token
        return [] if environment is None else [f"{name} has no environment: drop --env"]
    if name == EMAIL_CREDENTIAL:  # the mail server's login, [email] user
        if environment is not None:
            return [f"{name} has no environment: drop --env"]
        email = raw.get("email")
        if not isinstance(email, dict) or not email.get("user"):
            return [f"{path} has no [email] user = …; the password is used only with a login"]
        return []
    integrations: dict[str, Any] = raw.get("integrations") or {}
    geocoders: dict[str, Any] = raw.get("geocoders") or {}
    if not isinstance(integrations, dict) or not isinstance(geocoders, dict):
        return []  # config check says what is wrong with the file
    if name in integrations:
        table = integrations[name] if isinstance(integrations[name], dict) else {}
        envs = sorted(k for k, v in table.items() if isinstance(v, dict) and "url" in v)
        if environment is None:
            return [f"{path} has integration {name} with environments {', '.join(envs) or 'none'}"
                    f"; give --env (its passwords are per environment)"]  # fmt: skip
        if environment not in envs:
            return [f"{path} has no [integrations.{name}.{environment}]; its environments: "
                    f"{', '.join(envs) or 'none'}"]  # fmt: skip
        return []
    if name in geocoders:
        return [] if environment is None else [
            f"{name} is a geocoder in {path}; its password has no environment: drop --env"
        ]  # fmt: skip
    known = ", ".join(sorted([*integrations, *geocoders])) or "none"
    return [f"{path} has no integration or geocoder named {name!r} (it has: {known})"]


def close_circuit(store: Callable[[], Store], name: str) -> bool:
    """Close NAME's circuit (it was down, perhaps for this very password), so the next pass
    tries it at once; False when it was not open, or the config or store cannot be opened."""
    from ..engine import circuits
    from ..timeutil import utcnow

    try:
        opened = store()
        with opened.transaction() as conn:
            return circuits.close(conn, name, utcnow(), "its password was changed")
    except ScfError:
        return False


@dataclass(frozen=True)
class Saved:
    """Where a password was stored, and whether its integration's open circuit was closed."""

    path: Path
    circuit_closed: bool


# The secrets file is read, changed and replaced whole: two saves at once in one process (two
# admins in the console) would each drop the other's password.
_SAVING = threading.Lock()


def save(
    name: str,
    environment: str | None,
    password: str,
    *,
    store: Callable[[], Store],
    actor: str,
    key: str | None = None,
) -> Saved:
    """Store NAME's password (of ``environment``), or its named extra secret ``key`` (an
    ``app_secret`` its plugin declares), where the config reads it, close NAME's open
    circuit, and audit it (never the secret). ``store`` opens the store on demand: with no
    config or store yet, the password is stored all the same, unaudited.

    :raises UserError: an empty password, or a ``key`` that is not a name.
    """
    from ..config import credentials

    if not password:
        raise UserError(f"an empty {key or 'password'} was not stored")
    if key is not None and not credentials.KEY_NAME.fullmatch(key):
        raise UserError(
            f"--key {key!r}: use the secret's name as the plugin declares it (lower case "
            f"letters, digits and _, e.g. app_secret)"
        )
    with _SAVING:
        path = credentials.store(name, environment, password, key=key)
    closed = close_circuit(store, name)
    what = key or "password"
    which = f"the {environment} {what}" if environment else f"the {what}"
    with contextlib.suppress(ScfError):  # no store yet: the first scf command creates it
        audit.record(store(), actor, "credentials.save", integration=name, detail=f"saved {which}")
    return Saved(path, closed)
