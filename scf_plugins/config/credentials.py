"""Where passwords come from: the environment, or an owner-only secrets file.

Passwords never live in the org config. ``scf credentials set NAME --env ENV`` writes them,
after a hidden prompt, into a JSON file that only its owner may read; the host refuses to read
one that others can. ``SCF_<NAME>_<ENV>_PASSWORD`` in the environment overrides the file.

A plugin may declare named extra secrets beside the password (an OAuth2 app secret):
``scf credentials set NAME --env ENV --key app_secret`` stores one, ``SCF_<NAME>_<ENV>_APP_SECRET``
overrides it, and the integration gets it in ``Integration.secrets``.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from pathlib import Path

from ..errors import ConfigError
from ..models import Secret
from ..net.redaction import register_secret

SECRETS_ENV = "SCF_SECRETS_FILE"
MAX_SECRETS_BYTES = 1024 * 1024


def secrets_path() -> Path:
    """The secrets file: ``$SCF_SECRETS_FILE``, else ``$XDG_CONFIG_HOME/scf/secrets.json``."""
    explicit = os.environ.get(SECRETS_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "scf" / "secrets.json"


KEY_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")  # a named extra secret: app_secret


def env_var_name(name: str, environment: str | None, key: str | None = None) -> str:
    """``SCF_<NAME>_<ENV>_PASSWORD`` (``key`` given: ``SCF_<NAME>_<ENV>_<KEY>``): upper case,
    every other character as ``_``."""
    parts = [name] + ([environment] if environment else [])
    middle = "_".join(re.sub(r"[^A-Za-z0-9]", "_", part).upper() for part in parts)
    return f"SCF_{middle}_{(key or 'password').upper()}"


def _key(name: str, environment: str | None, key: str | None = None) -> str:
    base = f"{name}.{environment}" if environment else name
    return f"{base}:{key}" if key and key != "password" else base


def _read(path: Path) -> dict[str, str]:
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    if not stat.S_ISREG(st.st_mode):  # a named pipe would block every command that reads it
        raise ConfigError(f"{path}: the secrets file is not a regular file; remove it")
    if st.st_size > MAX_SECRETS_BYTES:
        raise ConfigError(f"{path}: the secrets file is too large to be one; recreate it")
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path}: the secrets file can be read by others "
            f"(mode {stat.S_IMODE(st.st_mode):o}); run: chmod 600 {path}"
        )
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise ConfigError(f"{path}: the secrets file belongs to another user; recreate it as yours")
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError, RecursionError) as exc:
        raise ConfigError(
            f"{path}: the secrets file is not readable JSON ({type(exc).__name__}); "
            f"delete it and run `scf credentials set` again"
        ) from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ConfigError(f"{path}: the secrets file is not a JSON object of strings; recreate it")
    return data


def lookup(name: str, environment: str | None, key: str | None = None) -> Secret | None:
    """The password of integration or geocoder ``name`` in ``environment`` (or its named
    extra secret ``key``, such as ``app_secret``), or None.

    The environment variable wins over the secrets file. The value is registered for redaction.
    """
    value = os.environ.get(env_var_name(name, environment, key))
    if value is None:
        value = _read(secrets_path()).get(_key(name, environment, key))
    if not value:
        return None
    register_secret(value)
    return Secret(value)


def store(
    name: str,
    environment: str | None,
    password: str,
    path: Path | None = None,
    key: str | None = None,
) -> Path:
    """Save a password (or the named extra secret ``key``) in the secrets file, created (or
    kept) owner-only; returns the file.

    The file is replaced atomically, so a crash never leaves half a file behind.
    """
    target = path or secrets_path()
    data = _read(target)
    data[_key(name, environment, key)] = password
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".secrets-", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    register_secret(password)
    return target
