"""Reading a config table's values with their types checked, collecting every problem.

Each section module (:mod:`.organization`, :mod:`.integrations`, …) reads its table through
one :class:`Reader`: a value of the wrong type, out of range or otherwise unusable becomes one
finished problem line (the file, the dotted key, the fix) and the default is used instead, so
one pass over the file finds every mistake.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..models import Option, Secret
from . import credentials
from .messages import template_problem

_SECRET_KEY = re.compile(
    r"(?i)^(password|passwd|pwd|secret|token|api_?key|access_token)$|_(password|secret|token)$"
)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_USERINFO = re.compile(r"(?i)^[a-z][a-z0-9+.-]*://[^/?#]*@")
# The one secret the config may hold: a token Prometheus is given in its own config anyway,
# which grants nothing but reading /metrics (scf_plugins.config.server says why).
SECRETS_ALLOWED = frozenset({"server.metrics_token"})


class Reader:
    """Collects problems while the sections are read; each problem is one finished line.

    :param path: the config file, named in every problem and the base of relative paths.
    :param resolve_secrets: look passwords up (off for checks that must not need them).
    :param environment: use this environment for every integration instead of its own.
    :param plugin_options: the options a plugin declares, by plugin name (the plugin host's
        :meth:`~scf_plugins.plugins.PluginHost.plugin_options`); None (or a plugin that declares
        none) leaves its options as written.
    """

    def __init__(
        self,
        path: Path,
        resolve_secrets: bool,
        environment: str | None = None,
        plugin_options: Callable[[str], Sequence[Option] | None] | None = None,
    ) -> None:
        self.path = path
        self.resolve_secrets = resolve_secrets
        self.environment = environment
        self.plugin_options = plugin_options
        self.problems: list[str] = []

    def declared(self, plugin: str) -> Sequence[Option] | None:
        """The options plugin ``plugin`` declares, or None when they are not known."""
        return self.plugin_options(plugin) if self.plugin_options and plugin else None

    def problem(self, key: str, text: str) -> None:
        """Record that ``key`` (dotted) is wrong, and how to fix it."""
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
        """``table[key]`` when it is a ``kind`` (a bool is never taken for a number), else
        ``default``; ``fix`` ends the problem line."""
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
        """A finite number from ``low`` to ``high``."""
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
        """A list of non-empty strings, stripped."""
        value = self.get(table, key, where, list, list(default), "use a list of strings")
        if not all(isinstance(v, str) and v.strip() for v in value):
            self.problem(f"{where}.{key}", "every entry must be a non-empty string")
            return default
        return tuple(v.strip() for v in value)

    def unknown(self, table: Mapping[str, Any], where: str, known: set[str]) -> None:
        """A problem for each key of ``table`` not in ``known``, with a did-you-mean."""
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(key, sorted(known), n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                self.problem(
                    f"{where}.{key}", f"unknown key; {hint}use one of {', '.join(sorted(known))}"
                )

    def tables(
        self, raw: Mapping[str, Any], key: str, reserved: Mapping[str, str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """The ``[key.NAME]`` sections by name (a name must be fit for a CLI argument, and not
        one of ``reserved``, in any case: each says what uses it)."""
        section = raw.get(key, {})
        if not isinstance(section, dict):
            self.problem(key, f"must be a table of [{key}.NAME] sections")
            return {}
        out = {}
        for name, table in section.items():
            if not isinstance(table, dict):
                self.problem(f"{key}.{name}", f"must be a table; write it as [{key}.{name}]")
            elif not _NAME.fullmatch(name):
                self.problem(f"{key}.{name}", "use a name of letters, digits, '_' and '-'")
            elif reserved and name.lower() in reserved:
                used = reserved[name.lower()]
                self.problem(f"{key}.{name}", f"the name is reserved ({used}); choose another")
            else:
                out[name] = table
        return out

    def template(self, table: Mapping[str, Any], key: str, where: str, kind: str) -> str | None:
        """A message template usable as a ``kind`` message (see :mod:`.messages`), or None."""
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
        if _USERINFO.match(url.strip()):
            self.problem(
                key,
                "has a login or password in it (user:password@host); remove them from the "
                "url, set user = … and store the password with `scf credentials set`",
            )
            return ""
        return url

    def tls(self, table: Mapping[str, Any], where: str, default: bool | str) -> bool | str:
        """``verify_tls``, or the path of ``ca_bundle`` when one is given (it must exist)."""
        verify = self.get(table, "verify_tls", where, bool, default, "use true or false")
        bundle = self.get(table, "ca_bundle", where, str, None, "use a path to a PEM file")
        if bundle is not None:
            if not Path(bundle).expanduser().is_file():
                self.problem(
                    f"{where}.ca_bundle", f"no file at {bundle}; give the CA bundle's path"
                )
            return str(Path(bundle).expanduser())
        return verify  # type: ignore[no-any-return]

    def secret(self, name: str, environment: str | None, key: str | None = None) -> Secret | None:
        """The password (or named extra secret ``key``) of ``name`` in ``environment``; None
        when not resolving, or none is set."""
        if not self.resolve_secrets:
            return None
        try:
            return credentials.lookup(name, environment, key)
        except ConfigError as exc:
            self.problems.append(str(exc))
            return None

    def zone(self, name: str) -> bool:
        """Whether ``name`` is a time zone this machine knows."""
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return False
        return True

    def no_secrets(self, raw: Mapping[str, Any]) -> None:
        """A problem for every key, at any depth, that would hold a password or token (but
        ``server.metrics_token``, which the config may hold: see :mod:`.server`)."""
        for dotted, _ in _walk(raw):
            leaf = dotted.rsplit(".", 1)[-1].split("[", 1)[0]
            if _SECRET_KEY.search(leaf) and dotted not in SECRETS_ALLOWED:
                how = (
                    "`scf credentials set email` or set SCF_EMAIL_PASSWORD"
                    if dotted.startswith("email.")
                    else "`scf credentials set NAME --env ENV` or set SCF_<NAME>_<ENV>_PASSWORD"
                )
                self.problem(
                    dotted,
                    f"passwords and tokens are never stored in the config; "
                    f"remove this key and run {how}",
                )


def _walk(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            dotted = f"{prefix}.{key}" if prefix else str(key)
            yield dotted, value
            yield from _walk(value, dotted)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{prefix}[{i}]")


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)
