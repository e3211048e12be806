"""A plugin's declared options, checked in one place: the keys of an integration's (or a
geocoder's) table that belong to its plugin, each against the plugin's :class:`Option`.

:func:`check_options` is the one check. The config reader runs it on the tables as written
(its problems become the usual lines: the file, the dotted key, the fix), and
:meth:`~scf_plugins.plugins.PluginHost.check_integration` runs it on an ``Integration`` built
by hand (a test), whose options nobody read from a file. Either way a plugin gets its options
typed, with their defaults, and never checks a key's type, range or spelling itself.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ..models import Option

_ABSENT = object()


def check_options(
    declared: Sequence[Option],
    plugin: str,
    top: Mapping[str, Any],
    endpoint: Mapping[str, Any] | None = None,
    *,
    top_where: str = "",
    endpoint_where: str = "",
    elsewhere: Collection[str] = (),
    skip: Collection[str] = (),
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The plugin's options from ``top`` (the integration's own keys for the plugin) and
    ``endpoint`` (the active environment's, which win), and what is wrong with them.

    :param declared: what the plugin declares.
    :param plugin: its name, for "the NAME plugin takes …".
    :param top_where: the dotted key of ``top`` (``integrations.works``; ``""``: bare keys).
    :param endpoint_where: the dotted key of ``endpoint`` (``integrations.works.test``).
    :param elsewhere: keys the host reads in the same tables, offered for a misspelt one.
    :param skip: keys of ``endpoint`` already said to be wrong (a host key there).
    :returns: every declared option but the secrets, typed, its default where it is not set
        or is wrong; and ``(dotted key, text)`` for each problem.
    """
    names = {option.name: option for option in declared}
    settable = sorted(name for name, option in names.items() if option.kind != "secret")
    problems: list[tuple[str, str]] = []

    def key(where: str, name: str) -> str:
        return f"{where}.{name}" if where else name

    for where, table in ((top_where, top), (endpoint_where, endpoint or {})):
        for name in table:
            if name in names or name in skip:
                continue
            close = difflib.get_close_matches(name, sorted({*names, *elsewhere}), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            takes = ", ".join(settable) or "none"
            text = f"unknown key; {hint}the {plugin} plugin takes {takes}"
            problems.append((key(where, name), text))
    values: dict[str, Any] = {}
    for option in declared:
        if option.kind == "secret":
            for where, table in ((top_where, top), (endpoint_where, endpoint or {})):
                if option.name in table:
                    text = f"is a secret, never kept in the config; {option.fix_text()}"
                    problems.append((key(where, option.name), text))
            continue
        raw, where = top.get(option.name, _ABSENT), top_where
        if endpoint is not None and option.name in endpoint:
            if option.per_environment:
                raw, where = endpoint[option.name], endpoint_where
            else:
                text = f"is a setting of the whole integration; move it up to [{top_where}]"
                problems.append((key(endpoint_where, option.name), text))
        if raw is _ABSENT or raw is None:
            if option.required:
                place = endpoint_where if option.per_environment and endpoint_where else top_where
                text = f"missing; {option.description or option.fix_text()}"
                problems.append((key(place, option.name), text))
            values[option.name] = option.default
            continue
        value, problem = typed(option, raw)
        if problem is not None:
            problems.append((key(where, option.name), problem))
            value = option.default
        values[option.name] = value
    return values, problems


def typed(option: Option, raw: Any) -> tuple[Any, str | None]:
    """``raw`` as the option's kind wants it, or the line saying why it cannot be (the
    config reader's own wording: "… is not valid; …", "… is out of range; …")."""
    wrong = f"{raw!r} is not valid; {option.fix_text()}"
    kind = option.kind
    if kind == "boolean":
        return (raw, None) if isinstance(raw, bool) else (None, wrong)
    if kind == "text":  # a number is taken as its text (version = 15.8)
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return str(raw), None
        return (raw, None) if isinstance(raw, str) else (None, wrong)
    if kind == "choice":
        return (raw, None) if isinstance(raw, str) and raw in option.choices else (None, wrong)
    if kind == "texts":
        if not isinstance(raw, list | tuple) or not all(
            (isinstance(v, str) and v.strip()) or (isinstance(v, int) and not isinstance(v, bool))
            for v in raw
        ):
            return None, wrong
        return tuple(v.strip() if isinstance(v, str) else str(v) for v in raw), None
    if kind in ("integer", "number"):
        whole = isinstance(raw, int) and not isinstance(raw, bool)
        if not (whole or (kind == "number" and isinstance(raw, float) and math.isfinite(raw))):
            return None, wrong
        low = -math.inf if option.minimum is None else option.minimum
        high = math.inf if option.maximum is None else option.maximum
        if not low <= raw <= high:
            return None, f"{raw!r} is out of range; {option.fix_text()}"
        return (raw if kind == "integer" else float(raw)), None
    return None, wrong


def as_json(option: Option) -> dict[str, Any]:
    """How ``scf plugins --json`` lists a declared option."""
    default = list(option.default) if isinstance(option.default, tuple) else option.default
    return {
        "name": option.name,
        "kind": option.kind,
        "default": default,
        "description": option.description,
        "minimum": option.minimum,
        "maximum": option.maximum,
        "choices": list(option.choices),
        "required": option.required,
        "per_environment": option.per_environment,
    }
