"""The org config file (TOML) turned into typed settings: the entry point of ``config/``.

Every mistake becomes one line naming the file, the key and the fix. ``load_config`` raises
the first one (and says how many more there are); ``scf config check`` lists them all. Each
section is read by its own module (:mod:`.organization`, :mod:`.integrations`,
:mod:`.geocoders`, :mod:`.server`, :mod:`.images`, :mod:`.email`) through one
:class:`~.reader.Reader`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..intake.images import ImageLimits
from ..models import INTEGRATION_KEYS, Geocoder, Integration, Option, frozen_mapping
from .console import Console, read_console
from .email import (
    EMAIL_CREDENTIAL,
    Email,
    Notifications,
    Privacy,
    read_email,
    read_notifications,
    read_privacy,
    require_public_url,
)
from .geocoders import read_geocoder
from .images import read_images
from .integrations import check_routing, read_integration
from .organization import Organization, read_organization
from .reader import Reader
from .server import METRICS_CREDENTIAL, Server, read_server

__all__ = [
    "CONFIG_ENV",
    "INTEGRATION_KEYS",
    "Organization",
    "Server",
    "Settings",
    "check_config",
    "config_path",
    "load_config",
]

CONFIG_ENV = "SCF_CONFIG"
# The options a plugin declares, by plugin name (None: it declares none): PluginHost.plugin_options.
PluginOptions = Callable[[str], Sequence[Option] | None]
MAX_CONFIG_BYTES = 1024 * 1024
DEFAULT_CONFIG = "scf.toml"
# Names the host's own credentials and circuits take: an integration or geocoder so named
# would share the mail server's circuit, or a secret.
RESERVED_NAMES = {
    EMAIL_CREDENTIAL: "the mail server's circuit and password, `scf credentials set email`",
    METRICS_CREDENTIAL: "the /metrics token, `scf credentials set metrics`",
}
SECTIONS = {"organization", "integrations", "geocoders", "server", "images", "console",
            "email", "notifications", "privacy"}  # fmt: skip


@dataclass(frozen=True)
class Settings:
    """A loaded org config."""

    path: Path
    organization: Organization
    integrations: Mapping[str, Integration] = field(default_factory=frozen_mapping)
    geocoders: Mapping[str, Geocoder] = field(default_factory=frozen_mapping)
    server: Server = field(default_factory=Server)
    images: ImageLimits = field(default_factory=ImageLimits)
    console: Console = field(default_factory=Console)
    email: Email | None = None  # None: residents are not written to
    notifications: Notifications = field(default_factory=Notifications)
    privacy: Privacy = field(default_factory=Privacy)

    def owner_of(self, code: str) -> str | None:
        """The integration that serves request type ``code`` by configuration, if any.

        An integration that lists the code explicitly wins over one that offers ``"*"``.
        """
        wildcard = None
        for name, integration in self.integrations.items():
            if code in integration.request_types:
                return name
            if "*" in integration.request_types:
                wildcard = name
        return wildcard

    def offers(self, integration: Integration, code: str) -> bool:
        """Whether ``integration`` should offer the remote request type ``code``."""
        return self.owner_of(code) == integration.name

    def geocoder_for(self, integration: Integration) -> Geocoder | None:
        """The geocoder that validates the integration's addresses, if one is configured."""
        if not integration.address_validation:
            return None
        return self.geocoders[integration.address_validation]


def config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """The config file: ``--config``, else ``$SCF_CONFIG``, else ``./scf.toml``."""
    return Path(explicit or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_config(
    path: str | os.PathLike[str],
    *,
    resolve_secrets: bool = True,
    environment: str | None = None,
    plugin_options: PluginOptions | None = None,
) -> Settings:
    """Read and check the config at ``path``; raise :class:`ConfigError` on the first problem.

    :param environment: use this environment for every integration instead of the configured one.
    :param plugin_options: the options each plugin declares (``PluginHost.plugin_options``):
        they are checked, typed and defaulted; None leaves plugins' options as written (tests).
    """
    settings, problems = check_config(
        path, resolve_secrets=resolve_secrets, environment=environment,
        plugin_options=plugin_options,
    )  # fmt: skip
    if problems:
        more = (
            f" (and {len(problems) - 1} more: run `scf config check`)" if len(problems) > 1 else ""
        )
        raise ConfigError(problems[0] + more)
    assert settings is not None
    return settings


def check_config(
    path: str | os.PathLike[str],
    *,
    resolve_secrets: bool = True,
    environment: str | None = None,
    plugin_options: PluginOptions | None = None,
) -> tuple[Settings | None, list[str]]:
    """Read the config at ``path``; return the settings (None if unusable) and every problem
    (``plugin_options``: as for :func:`load_config`)."""
    p = Path(path)
    raw, problem = _read(p)
    if raw is None:
        return None, [problem]
    reader = Reader(p, resolve_secrets, environment, plugin_options)
    try:
        settings = _settings(reader, raw)
    except RecursionError:
        return None, [f"{p}: nested too deeply to read; a config needs a few levels at most"]
    return (settings if not reader.problems else None), reader.problems


def _read(p: Path) -> tuple[dict[str, Any] | None, str]:
    """The file's TOML, or None and the one line that says why it cannot be read."""
    try:
        if not p.is_file() and p.exists():
            return None, f"{p}: not a regular file; give the path of the TOML config"
        with p.open("rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            return None, f"{p}: larger than {MAX_CONFIG_BYTES // 1024} KiB; is this the org config?"
        return tomllib.loads(data.decode("utf-8")), ""
    except FileNotFoundError:
        return None, (
            f"{p}: no config file here; pass --config PATH, set {CONFIG_ENV}, "
            f"or run `scf demo` to try the integration without one"
        )
    except UnicodeDecodeError:
        return None, f"{p}: not UTF-8 text; save the config as UTF-8"
    except OSError as exc:
        return None, f"{p}: cannot read the config ({type(exc).__name__}); check the path"
    except tomllib.TOMLDecodeError as exc:
        return None, f"{p}: not valid TOML ({exc}); fix the syntax there"
    except RecursionError:
        return None, f"{p}: nested too deeply to read; a config needs a few levels at most"


def _settings(reader: Reader, raw: dict[str, Any]) -> Settings:
    """Every section read in turn (geocoders before the integrations that name them)."""
    reader.no_secrets(raw)
    reader.unknown(raw, "(top level)", SECTIONS)
    organization = read_organization(reader, raw.get("organization"))
    geocoders = {}
    for name, table in reader.tables(raw, "geocoders", RESERVED_NAMES).items():
        geocoders[name] = read_geocoder(reader, name, table)
    integrations = {}
    for name, table in reader.tables(raw, "integrations", RESERVED_NAMES).items():
        integration = read_integration(reader, name, table, geocoders)
        if integration is not None:
            integrations[name] = integration
    check_routing(reader, integrations)
    server = read_server(reader, raw.get("server", {}))
    email = read_email(reader, raw.get("email"))
    require_public_url(reader, email, server.public_url)
    return Settings(
        reader.path,
        organization,
        frozen_mapping(integrations),
        frozen_mapping(geocoders),
        server,
        read_images(reader, raw.get("images", {})),
        console=read_console(reader, raw.get("console", {})),
        email=email,
        notifications=read_notifications(reader, raw.get("notifications"), email),
        privacy=read_privacy(reader, raw.get("privacy")),
    )
