"""An integration's environments as the config file names them, whether each has a password
or a named extra secret (a word, never the value), and an integration or geocoder read afresh
for ``Test connection``.

The running settings hold only the live environment, with the password read when the config
was loaded; a password saved a moment ago, or another environment, is read here from the
config file and the secrets (as ``scf doctor --env ENV`` reads them).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...config import credentials
from ...config.geocoders import read_geocoder
from ...config.integrations import read_integration
from ...config.reader import Reader
from ...errors import ConfigError, UserError
from ...models import frozen_mapping

if TYPE_CHECKING:
    from ...config.settings import Settings
    from ...models import Geocoder, Integration, Option

# The plugin host's ``plugin_options``: what each plugin declares, by plugin name.
Declared = Callable[[str], Sequence["Option"] | None]

# Tables inside [integrations.NAME] that are not an environment's.
NOT_ENVIRONMENTS = ("messages", "custom_fields")


@dataclass(frozen=True)
class Environment:
    """One ``[integrations.NAME.ENV]`` table: its endpoint, whether it is the one in use, and
    whether its password is set (:func:`password_state`)."""

    name: str
    url: str
    user: str
    live: bool
    password: str


def _raw(settings: Settings) -> dict[str, Any]:
    """The config file's TOML as it is now (empty when it cannot be read)."""
    try:
        return tomllib.loads(settings.path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, tomllib.TOMLDecodeError):
        return {}


def _table(raw: dict[str, Any], section: str, name: str) -> dict[str, Any]:
    tables = raw.get(section)
    table = tables.get(name) if isinstance(tables, dict) else None
    return table if isinstance(table, dict) else {}


def environments(settings: Settings, name: str) -> list[Environment]:
    """The environments of integration ``name`` the config file has (the live one first when
    the file no longer names it)."""
    live = settings.integrations[name]
    table = _table(_raw(settings), "integrations", name)
    found = [
        Environment(
            env,
            str(value.get("url", "")),
            str(value.get("user", "")),
            env == live.environment,
            password_state(name, env),
        )
        for env, value in table.items()
        if isinstance(value, dict) and env not in NOT_ENVIRONMENTS
    ]
    if not any(e.live for e in found):
        state = password_state(name, live.environment)
        found.insert(0, Environment(live.environment, live.url, live.user, True, state))
    return found


def password_state(name: str, environment: str | None, key: str | None = None) -> str:
    """Whether the password of ``name`` (in ``environment``), or its named extra secret
    ``key``, is set, in words: ``set``, ``not set``, ``from the environment variable SCF_…``
    (which wins over the secrets file), or why the secrets file cannot be read."""
    variable = credentials.env_var_name(name, environment, key)
    if os.environ.get(variable):
        return f"from the environment variable {variable}"
    try:
        found = credentials.lookup(name, environment, key)
        return "set" if found is not None else "not set"
    except ConfigError as exc:
        return f"unknown: {exc}"


def integration_in(
    settings: Settings, name: str, environment: str, plugin_options: Declared
) -> Integration:
    """Integration ``name`` in ``environment`` as the config file and the secrets say now,
    its plugin's declared options typed and its named extra secrets read (``plugin_options``:
    the host's), as ``scf serve`` reads it.

    :raises UserError: the file no longer has it, or its section has problems (each named).
    """
    table = _table(_raw(settings), "integrations", name)
    if not table:
        raise UserError(f"{settings.path} no longer has [integrations.{name}]")
    reader = Reader(settings.path, True, environment, plugin_options)
    found = read_integration(reader, name, table, settings.geocoders)
    if reader.problems or found is None:
        raise UserError("; ".join(reader.problems) or f"integrations.{name}: no plugin")
    return found


def as_stored_now(settings: Settings, name: str, plugin_options: Declared) -> Settings:
    """``settings`` with integration ``name`` (in the environment in use) as the config file
    and the secrets say now.

    :raises UserError: as :func:`integration_in`.
    """
    live = settings.integrations[name].environment
    fresh = integration_in(settings, name, live, plugin_options)
    integrations = frozen_mapping({**settings.integrations, name: fresh})
    return dataclasses.replace(settings, integrations=integrations)


def geocoder_now(settings: Settings, name: str, plugin_options: Declared) -> Geocoder:
    """Geocoder ``name`` as the config file and the secrets say now, its plugin's declared
    options typed (``plugin_options``: the host's).

    :raises UserError: the file no longer has it, or its section has problems.
    """
    table = _table(_raw(settings), "geocoders", name)
    if not table:
        raise UserError(f"{settings.path} no longer has [geocoders.{name}]")
    reader = Reader(settings.path, True, plugin_options=plugin_options)
    found = read_geocoder(reader, name, table)
    if reader.problems:
        raise UserError("; ".join(reader.problems))
    return found
