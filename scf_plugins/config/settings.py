"""The org config file (TOML) turned into typed settings.

Every mistake becomes one line naming the file, the key and the fix. ``load_config`` raises
the first one (and says how many more there are); ``scf config check`` lists them all.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine.messages import template_problem
from ..errors import ConfigError
from ..intake.area import ServiceArea, from_config
from ..intake.images import MB, ImageLimits
from ..models import (
    INTEGRATION_KEYS,
    ActivityRule,
    Geocoder,
    Integration,
    Messages,
    Secret,
    frozen_mapping,
)
from . import credentials

log = logging.getLogger(__name__)

CONFIG_ENV = "SCF_CONFIG"
MAX_CONFIG_BYTES = 1024 * 1024
DEFAULT_CONFIG = "scf.toml"
DEFAULT_PRIVATE_KEYWORDS = ("email", "e-mail")

_SECRET_KEY = re.compile(
    r"(?i)^(password|passwd|pwd|secret|token|api_?key|access_token)$|_(password|secret|token)$"
)
_ENDPOINT_KEYS = {"url", "user", "verify_tls", "ca_bundle"}
_GEOCODER_KEYS = {"plugin", "url", "user", "min_score", "on_reject", "timeout_seconds",
                  "max_response_mb", "verify_tls", "ca_bundle"}  # fmt: skip
_ORG_KEYS = {"name", "bot_name", "database", "archive_after_days", "private_keywords",
             "service_area", "timezone"}  # fmt: skip
_MESSAGE_KEYS = {"acknowledged", "closed", "canceled", "address_rejected"}
_SERVER_KEYS = {"public_url", "jurisdiction_id", "requests_per_minute", "max_body_kb",
                "max_page_size", "contact", "key_service", "agency_responsible"}  # fmt: skip


@dataclass(frozen=True)
class Server:
    """The optional ``[server]`` section: how ``scf serve`` presents itself, and its limits.

    ``public_url`` is the address clients use (discovery names it, and image links start
    with it); ``jurisdiction_id``, when set, must match a client's one where it sends one.
    """

    public_url: str | None = None
    jurisdiction_id: str | None = None
    requests_per_minute: int = 600  # per API key, for POSTs; 0 turns the limit off
    max_body_kb: int = 256  # a POST body larger than this is refused with 413
    max_page_size: int = 1000  # GET requests never returns more rows than this
    contact: str = ""
    key_service: str = ""
    agency_responsible: str | None = None  # default: the organization's name


@dataclass(frozen=True)
class Organization:
    """The ``[organization]`` section."""

    name: str
    bot_name: str
    database: str
    archive_after_days: float = 14.0
    private_keywords: tuple[str, ...] = DEFAULT_PRIVATE_KEYWORDS
    address_rejected_message: str | None = None
    service_area: ServiceArea | None = None  # where a report's point may be
    timezone: str | None = None  # for people: times `scf issues show` prints

    @property
    def zone(self) -> str:
        """The zone times are shown in (UTC unless ``[organization] timezone`` is set)."""
        return self.timezone or "UTC"


@dataclass(frozen=True)
class Settings:
    """A loaded org config."""

    path: Path
    organization: Organization
    integrations: Mapping[str, Integration] = field(default_factory=frozen_mapping)
    geocoders: Mapping[str, Geocoder] = field(default_factory=frozen_mapping)
    server: Server = field(default_factory=Server)
    images: ImageLimits = field(default_factory=ImageLimits)

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
    path: str | os.PathLike[str], *, resolve_secrets: bool = True, environment: str | None = None
) -> Settings:
    """Read and check the config at ``path``; raise :class:`ConfigError` on the first problem.

    :param environment: use this environment for every integration instead of the configured one.
    """
    settings, problems = check_config(
        path, resolve_secrets=resolve_secrets, environment=environment
    )
    if problems:
        more = (
            f" (and {len(problems) - 1} more: run `scf config check`)" if len(problems) > 1 else ""
        )
        raise ConfigError(problems[0] + more)
    assert settings is not None
    return settings


def check_config(
    path: str | os.PathLike[str], *, resolve_secrets: bool = True, environment: str | None = None
) -> tuple[Settings | None, list[str]]:
    """Read the config at ``path``; return the settings (None if unusable) and every problem."""
    p = Path(path)
    try:
        if not p.is_file() and p.exists():
            return None, [f"{p}: not a regular file; give the path of the TOML config"]
        with p.open("rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            return None, [
                f"{p}: larger than {MAX_CONFIG_BYTES // 1024} KiB; is this the org config?"
            ]
        raw = tomllib.loads(data.decode("utf-8"))
    except FileNotFoundError:
        return None, [
            f"{p}: no config file here; pass --config PATH, set {CONFIG_ENV}, "
            f"or run `scf demo` to try the integration without one"
        ]
    except UnicodeDecodeError:
        return None, [f"{p}: not UTF-8 text; save the config as UTF-8"]
    except OSError as exc:
        return None, [f"{p}: cannot read the config ({type(exc).__name__}); check the path"]
    except tomllib.TOMLDecodeError as exc:
        return None, [f"{p}: not valid TOML ({exc}); fix the syntax there"]
    except RecursionError:
        return None, [f"{p}: nested too deeply to read; a config needs a few levels at most"]
    parser = _Parser(p, resolve_secrets, environment)
    try:
        settings = parser.parse(raw)
    except RecursionError:
        return None, [f"{p}: nested too deeply to read; a config needs a few levels at most"]
    return (settings if not parser.problems else None), parser.problems


def _walk(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            dotted = f"{prefix}.{key}" if prefix else str(key)
            yield dotted, value
            yield from _walk(value, dotted)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{prefix}[{i}]")


class _Parser:
    """Collects problems while it builds the settings; each problem is one finished line."""

    def __init__(self, path: Path, resolve_secrets: bool, environment: str | None = None) -> None:
        self.path = path
        self.resolve_secrets = resolve_secrets
        self.environment = environment
        self.problems: list[str] = []

    def problem(self, key: str, text: str) -> None:
        self.problems.append(f"{self.path}: {key}: {text}")

    # -- typed getters: each records a problem and returns the default when the type is wrong --

    def get(
        self,
        table: Mapping[str, Any],
        key: str,
        where: str,
        kind: type | tuple[type, ...],
        default: Any,
        fix: str,
    ) -> Any:
        if key not in table:
            return default
        value = table[key]
        ok = isinstance(value, kind) and not (isinstance(value, bool) and bool not in _tuple(kind))
        if not ok:
            self.problem(f"{where}.{key}", f"{value!r} is not valid; {fix}")
            return default
        return value

    def number(
        self,
        table: Mapping[str, Any],
        key: str,
        where: str,
        default: float,
        low: float,
        high: float,
    ) -> float:
        value = self.get(
            table, key, where, (int, float), default, f"use a number from {low:g} to {high:g}"
        )
        if not (isinstance(value, int | float) and math.isfinite(value) and low <= value <= high):
            self.problem(f"{where}.{key}", f"{value!r} is out of range; use {low:g} to {high:g}")
            return default
        return float(value)

    def strings(
        self, table: Mapping[str, Any], key: str, where: str, default: tuple[str, ...]
    ) -> tuple[str, ...]:
        value = self.get(table, key, where, list, list(default), "use a list of strings")
        if not all(isinstance(v, str) and v.strip() for v in value):
            self.problem(f"{where}.{key}", "every entry must be a non-empty string")
            return default
        return tuple(v.strip() for v in value)

    def unknown(self, table: Mapping[str, Any], where: str, known: set[str]) -> None:
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(key, sorted(known), n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                self.problem(
                    f"{where}.{key}", f"unknown key; {hint}use one of {', '.join(sorted(known))}"
                )

    def endpoint_keys(self, table: Mapping[str, Any], where: str) -> None:
        """An environment's table: its endpoint keys, and the plugin's options for that
        environment. A host key there, or a near miss of an endpoint key, is a problem."""
        for key in table:
            if key in _ENDPOINT_KEYS:
                continue
            close = difflib.get_close_matches(key, sorted(_ENDPOINT_KEYS), n=1, cutoff=0.75)
            if key in INTEGRATION_KEYS:
                self.problem(
                    f"{where}.{key}",
                    f"is a setting of the whole integration; move it up to "
                    f"[{where.rsplit('.', 1)[0]}]",
                )
            elif close:
                self.problem(f"{where}.{key}", f"unknown key; did you mean {close[0]!r}?")

    # -- sections ----------------------------------------------------------------------------

    def parse(self, raw: dict[str, Any]) -> Settings:
        for dotted, _ in _walk(raw):
            leaf = dotted.rsplit(".", 1)[-1].split("[", 1)[0]
            if _SECRET_KEY.search(leaf):
                self.problem(
                    dotted,
                    "passwords and tokens are never stored in the config; "
                    "remove this key and run `scf credentials set NAME --env ENV` "
                    "or set SCF_<NAME>_<ENV>_PASSWORD",
                )
        self.unknown(
            raw, "(top level)", {"organization", "integrations", "geocoders", "server", "images"}
        )
        org = self.organization(raw.get("organization"))
        geocoders = {}
        for name, table in self.tables(raw, "geocoders").items():
            geocoders[name] = self.geocoder(name, table)
        integrations = {}
        for name, table in self.tables(raw, "integrations").items():
            integration = self.integration(name, table, geocoders)
            if integration is not None:
                integrations[name] = integration
        self.check_routing(integrations)
        server = self.server(raw.get("server", {}))
        return Settings(
            self.path,
            org,
            frozen_mapping(integrations),
            frozen_mapping(geocoders),
            server,
            self.images(raw.get("images", {})),
        )

    def images(self, table: Any) -> ImageLimits:
        if not isinstance(table, dict):
            self.problem("images", "must be a table; write it as [images]")
            return ImageLimits()
        self.unknown(table, "images", {"max_per_issue", "max_mb", "max_side", "purge_after_days"})
        # No default retention: how long a city keeps residents' photos is its records policy.
        purge = (
            self.number(table, "purge_after_days", "images", 365, 1, 36500)
            if "purge_after_days" in table
            else None
        )
        return ImageLimits(
            max_per_issue=int(self.number(table, "max_per_issue", "images", 5, 0, 20)),
            max_bytes=int(self.number(table, "max_mb", "images", 10, 0.1, 50) * MB),
            max_side=int(self.number(table, "max_side", "images", 2048, 256, 8192)),
            purge_after_days=purge,
        )

    def server(self, table: Any) -> Server:
        if not isinstance(table, dict):
            self.problem("server", "must be a table; write it as [server]")
            return Server()
        self.unknown(table, "server", _SERVER_KEYS)
        url = self.get(table, "public_url", "server", str, None, "use an http(s) URL")
        if url is not None:
            url = self.no_userinfo(url, "server.public_url").strip().rstrip("/")
            if url and not re.match(r"(?i)^https?://[^\s/?#]+(/[^\s?#]*)?$", url):
                self.problem(
                    "server.public_url",
                    "use the http(s) URL clients reach, without a query, e.g. "
                    '"https://311.example.gov"',
                )
        jurisdiction = self.get(
            table, "jurisdiction_id", "server", str, None, 'use a string, e.g. "example.gov"'
        )
        return Server(
            public_url=url or None,
            jurisdiction_id=(jurisdiction or "").strip() or None,
            requests_per_minute=int(
                self.number(table, "requests_per_minute", "server", 600, 0, 1e6)
            ),
            max_body_kb=int(self.number(table, "max_body_kb", "server", 256, 1, 100_000)),
            max_page_size=int(self.number(table, "max_page_size", "server", 1000, 1, 100_000)),
            contact=self.get(table, "contact", "server", str, "", "use a string"),
            key_service=self.get(table, "key_service", "server", str, "", "use a string"),
            agency_responsible=self.get(
                table, "agency_responsible", "server", str, None, "use a string"
            ),
        )

    def tables(self, raw: Mapping[str, Any], key: str) -> dict[str, dict[str, Any]]:
        section = raw.get(key, {})
        if not isinstance(section, dict):
            self.problem(key, f"must be a table of [{key}.NAME] sections")
            return {}
        out = {}
        for name, table in section.items():
            if not isinstance(table, dict):
                self.problem(f"{key}.{name}", f"must be a table; write it as [{key}.{name}]")
            elif not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", name):
                self.problem(f"{key}.{name}", "use a name of letters, digits, '_' and '-'")
            else:
                out[name] = table
        return out

    def organization(self, table: Any) -> Organization:
        if not isinstance(table, dict) or "name" not in table:
            self.problem("organization.name", 'missing; add [organization] name = "City of …"')
            table = table if isinstance(table, dict) else {}
        self.unknown(table, "organization", _ORG_KEYS | {"messages"})
        name = self.get(table, "name", "organization", str, "Organization", "use a string")
        bot = self.get(table, "bot_name", "organization", str, name, "use a string")
        default_db = f"sqlite:///{(self.path.parent / 'scf.db').resolve()}"
        database = self.get(
            table,
            "database",
            "organization",
            str,
            default_db,
            'use an SQLAlchemy URL such as "sqlite:///scf.db"',
        )
        if database.startswith("sqlite:///") and not database.startswith("sqlite:////"):
            relative = database.removeprefix("sqlite:///")
            if relative and relative != ":memory:":
                database = f"sqlite:///{(self.path.parent / relative).resolve()}"
        days = self.number(table, "archive_after_days", "organization", 14, 0, 3650)
        keywords = self.strings(table, "private_keywords", "organization", ())
        messages = self.get(table, "messages", "organization", dict, {}, "use a table")
        rejected = self.template(
            messages, "address_rejected", "organization.messages", "address_rejected"
        )
        area = None
        if "service_area" in table:
            try:
                area = from_config(table["service_area"], self.path.parent)
            except ValueError as exc:
                self.problem("organization.service_area", str(exc))
        zone = self.get(table, "timezone", "organization", str, None, "use an IANA name")
        if zone is not None and not _valid_zone(zone):
            self.problem(
                "organization.timezone",
                f'unknown time zone {zone!r}; use an IANA name such as "America/New_York"',
            )
            zone = None
        return Organization(
            timezone=zone,
            service_area=area,
            name=name.strip() or "Organization",
            bot_name=bot.strip() or name,
            database=database,
            archive_after_days=days,
            private_keywords=DEFAULT_PRIVATE_KEYWORDS + tuple(k.lower() for k in keywords),
            address_rejected_message=rejected,
        )

    def template(self, table: Mapping[str, Any], key: str, where: str, kind: str) -> str | None:
        value = self.get(table, key, where, str, None, "use a string")
        if value is not None:
            problem = template_problem(value, kind)
            if problem:
                self.problem(f"{where}.{key}", problem)
                return None
        return str(value) if value is not None else None

    def no_userinfo(self, url: str, key: str) -> str:
        """Refuse a login or password written into a URL (it would reach logs and errors);
        the problem line never repeats the URL."""
        if re.match(r"(?i)^[a-z][a-z0-9+.-]*://[^/?#]*@", url.strip()):
            self.problem(
                key,
                "has a login or password in it (user:password@host); remove them from the "
                "url, set user = … and store the password with `scf credentials set`",
            )
            return ""
        return url

    def tls(self, table: Mapping[str, Any], where: str, default: bool | str) -> bool | str:
        verify = self.get(table, "verify_tls", where, bool, default, "use true or false")
        bundle = self.get(table, "ca_bundle", where, str, None, "use a path to a PEM file")
        if bundle is not None:
            if not Path(bundle).expanduser().is_file():
                self.problem(
                    f"{where}.ca_bundle", f"no file at {bundle}; give the CA bundle's path"
                )
            return str(Path(bundle).expanduser())
        return verify  # type: ignore[no-any-return]

    def secret(self, name: str, environment: str | None) -> Secret | None:
        if not self.resolve_secrets:
            return None
        try:
            return credentials.lookup(name, environment)
        except ConfigError as exc:
            self.problems.append(str(exc))
            return None

    def integration(
        self, name: str, table: dict[str, Any], geocoders: Mapping[str, Geocoder]
    ) -> Integration | None:
        where = f"integrations.{name}"
        plugin = self.get(table, "plugin", where, str, None, 'name a plugin, e.g. "cityworks"')
        if not plugin:
            self.problem(
                f"{where}.plugin",
                'missing; name the plugin that serves it, e.g. plugin = "cityworks"',
            )
            return None
        endpoints = {
            k: v
            for k, v in table.items()
            if isinstance(v, dict) and k not in ("messages", "custom_fields")
        }
        default_env = next(iter(endpoints)) if len(endpoints) == 1 else "production"
        environment = self.get(
            table, "environment", where, str, default_env, 'use "test" or "production"'
        )
        environment = self.environment or environment
        endpoint = endpoints.get(environment)
        if endpoint is None:
            self.problem(
                f"{where}.environment",
                f"is {environment!r} but there is no [{where}.{environment}] table with "
                f"its url and user; add it or set environment to one of "
                f"{', '.join(sorted(endpoints)) or '(none defined)'}",
            )
            endpoint = {}
        for env_name, env_table in endpoints.items():
            self.endpoint_keys(env_table, f"{where}.{env_name}")
        ewhere = f"{where}.{environment}"
        url = self.get(endpoint, "url", ewhere, str, "", "use the site's http(s) URL")
        if endpoint and not re.match(r"https?://[^/\s]+", url):
            self.problem(
                f"{ewhere}.url",
                "missing or not an http(s) URL; "
                'e.g. url = "https://cw.example.gov/Cityworks/Services/AMS"',
            )
        url = self.no_userinfo(url, f"{ewhere}.url")
        user = self.get(endpoint, "user", ewhere, str, "", "use the login name")
        verify = self.tls(endpoint, ewhere, self.tls(table, where, True))
        if verify is False:
            log.warning(
                "TLS certificate verification is OFF for integration %s (%s.verify_tls)",
                name,
                ewhere,
                extra={"integration": name},
            )
        srid = self.get(table, "srid", where, int, 4326, "use an integer EPSG or ESRI code")
        msg_table = self.get(table, "messages", where, dict, {}, "use a table")
        self.unknown(
            msg_table,
            f"{where}.messages",
            _MESSAGE_KEYS | {"closed_by_status", "canceled_by_status"},
        )
        messages = Messages(
            acknowledged=self.template(
                msg_table, "acknowledged", f"{where}.messages", "acknowledged"
            ),
            closed=self.template(msg_table, "closed", f"{where}.messages", "closed"),
            canceled=self.template(msg_table, "canceled", f"{where}.messages", "canceled"),
            closed_by_status=self.by_status(
                msg_table, "closed_by_status", f"{where}.messages", "closed"
            ),
            canceled_by_status=self.by_status(
                msg_table, "canceled_by_status", f"{where}.messages", "canceled"
            ),
        )
        activity = []
        rules = self.get(
            table, "activity", where, list, [], "use [[integrations.NAME.activity]] tables"
        )
        for i, rule in enumerate(rules):
            rwhere = f"{where}.activity[{i}]"
            if (
                not isinstance(rule, dict)
                or not isinstance(rule.get("field"), str)
                or not isinstance(rule.get("message"), str)
            ):
                self.problem(rwhere, 'needs field = "RemoteField" and message = "… {value} …"')
                continue
            self.unknown(rule, rwhere, {"field", "message"})
            problem = template_problem(rule["message"], "activity")
            if problem:
                self.problem(f"{rwhere}.message", problem)
                continue
            activity.append(ActivityRule(field=rule["field"], message=rule["message"]))
        custom = self.get(
            table, "custom_fields", where, dict, {}, 'use a table of FIELD = "template"'
        )
        for key, value in custom.items():
            if not isinstance(value, str):
                self.problem(
                    f"{where}.custom_fields.{key}", 'use a string template, e.g. "{issue.id}"'
                )
        address_validation = self.get(
            table, "address_validation", where, str, None, "name a [geocoders.NAME] section"
        )
        if address_validation and address_validation not in geocoders:
            self.problem(
                f"{where}.address_validation",
                f"names geocoder {address_validation!r}, which has no "
                f"[geocoders.{address_validation}] section; add one or remove the key",
            )
        timezone = self.get(
            table, "timezone", where, str, "UTC", 'use a zone such as "America/New_York"'
        )
        if not _valid_zone(timezone):
            self.problem(
                f"{where}.timezone",
                f'unknown time zone {timezone!r}; use an IANA name such as "America/New_York"',
            )
            timezone = "UTC"
        options = {
            k: v
            for k, v in table.items()
            if k not in INTEGRATION_KEYS and k not in endpoints and k != "environment"
        }
        # The plugin's options may differ per environment: the active one's table wins.
        options.update((k, v) for k, v in endpoint.items() if k not in _ENDPOINT_KEYS)
        return Integration(
            name=name,
            plugin=plugin,
            environment=environment,
            url=url,
            user=user,
            password=self.secret(name, environment),
            version=str(
                self.get(table, "version", where, (str, int, float), "", 'use a string like "15.8"')
            ),
            srid=srid,
            closed_statuses=self.strings(table, "closed_statuses", where, ("CLOSED",)),
            cancel_statuses=self.strings(table, "cancel_statuses", where, ("CANCEL",)),
            request_types=self.strings(table, "request_types", where, ("*",)),
            address_validation=address_validation,
            image_url_field=self.get(
                table, "image_url_field", where, str, None, "name a remote field"
            ),
            timezone=timezone,
            timezone_configured="timezone" in table,
            poll_batch_size=int(self.number(table, "poll_batch_size", where, 500, 1, 5000)),
            poll_interval_seconds=self.number(table, "poll_interval_seconds", where, 60, 1, 86400),
            request_types_refresh_hours=self.number(
                table, "request_types_refresh_hours", where, 24, 0, 24 * 365
            ),
            max_concurrency=int(self.number(table, "max_concurrency", where, 4, 1, 64)),
            timeout_seconds=self.number(table, "timeout_seconds", where, 30, 0.1, 600),
            max_response_mb=self.number(table, "max_response_mb", where, 32, 0.1, 1024),
            verify_tls=verify,
            messages=messages,
            activity=tuple(activity),
            custom_fields=frozen_mapping({k: v for k, v in custom.items() if isinstance(v, str)}),
            options=frozen_mapping(options),
        )

    def by_status(
        self, table: Mapping[str, Any], key: str, where: str, kind: str
    ) -> Mapping[str, str]:
        value = self.get(table, key, where, dict, {}, 'use a table such as { COMPLETE = "…" }')
        out = {}
        for status, template in value.items():
            if not isinstance(template, str):
                self.problem(f"{where}.{key}.{status}", "use a string")
                continue
            problem = template_problem(template, kind)
            if problem:
                self.problem(f"{where}.{key}.{status}", problem)
                continue
            out[status] = template
        return frozen_mapping(out)

    def geocoder(self, name: str, table: dict[str, Any]) -> Geocoder:
        where = f"geocoders.{name}"
        plugin = self.get(table, "plugin", where, str, "", 'name a plugin, e.g. "arcgis"')
        if not plugin:
            self.problem(f"{where}.plugin", 'missing; e.g. plugin = "arcgis"')
        url = self.get(table, "url", where, str, "", "use the GeocodeServer URL")
        url = self.no_userinfo(url, f"{where}.url")
        if not re.match(r"https?://[^/\s]+", url):
            self.problem(
                f"{where}.url",
                "missing or not an http(s) URL; e.g. "
                'url = "https://gis.example.gov/arcgis/rest/services/Locators/X/GeocodeServer"',
            )
        on_reject = self.get(table, "on_reject", where, str, "submit", 'use "submit" or "hold"')
        if on_reject not in ("submit", "hold"):
            self.problem(
                f"{where}.on_reject", f'{on_reject!r} is not valid; use "submit" or "hold"'
            )
            on_reject = "submit"
        user = self.get(table, "user", where, str, None, "use the login name")
        verify = self.tls(table, where, True)
        if verify is False:
            log.warning(
                "TLS certificate verification is OFF for geocoder %s",
                name,
                extra={"geocoder": name},
            )
        options = {k: v for k, v in table.items() if k not in _GEOCODER_KEYS}
        return Geocoder(
            name=name,
            plugin=plugin,
            url=url.rstrip("/"),
            user=user,
            password=self.secret(name, None) if user else None,
            min_score=self.number(table, "min_score", where, 85, 0, 100),
            on_reject="hold" if on_reject == "hold" else "submit",
            timeout_seconds=self.number(table, "timeout_seconds", where, 30, 0.1, 600),
            max_response_mb=self.number(table, "max_response_mb", where, 32, 0.1, 1024),
            verify_tls=verify,
            options=frozen_mapping(options),
        )

    def check_routing(self, integrations: Mapping[str, Integration]) -> None:
        wildcards = [n for n, i in integrations.items() if "*" in i.request_types]
        if len(wildcards) > 1:
            self.problem(
                f"integrations.{wildcards[1]}.request_types",
                f'"*" is also offered by integrations.{wildcards[0]}, so every request '
                f"type would be served twice; list the codes explicitly in one of them",
            )
        seen: dict[str, str] = {}
        for name, integration in integrations.items():
            for code in integration.request_types:
                if code == "*":
                    continue
                if code in seen:
                    self.problem(
                        f"integrations.{name}.request_types",
                        f"request type {code!r} is also served by integrations."
                        f"{seen[code]}; keep it in one of them",
                    )
                seen[code] = name


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _valid_zone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
