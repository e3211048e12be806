"""The ``[integrations.NAME]`` sections: each remote system, its active environment, its
messages and activity rules, and which request types each integration serves."""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Mapping
from typing import Any

from ..models import (
    INTEGRATION_KEYS,
    ActivityRule,
    Geocoder,
    Integration,
    Messages,
    Secret,
    frozen_mapping,
)
from .messages import template_problem
from .options import check_options
from .reader import Reader

log = logging.getLogger(__name__)

ENDPOINT_KEYS = {"url", "user", "verify_tls", "ca_bundle"}
MESSAGE_KEYS = {"acknowledged", "closed", "canceled", "address_rejected",
                "closed_by_status", "canceled_by_status"}  # fmt: skip
_URL = re.compile(r"https?://[^/\s]+")


def read_integration(
    reader: Reader, name: str, table: dict[str, Any], geocoders: Mapping[str, Geocoder]
) -> Integration | None:
    """One integration in its active environment (None when it names no plugin); the keys
    the host does not read are the plugin's options, an environment's own ones winning,
    checked against what the plugin declares (when the reader knows it): see
    :mod:`.options`."""
    where = f"integrations.{name}"
    plugin = reader.get(table, "plugin", where, str, None, 'name a plugin, e.g. "cityworks"')
    if not plugin:
        reader.problem(
            f"{where}.plugin",
            'missing; name the plugin that serves it, e.g. plugin = "cityworks"',
        )
        return None
    endpoints = {
        k: v
        for k, v in table.items()
        if isinstance(v, dict) and k not in ("messages", "custom_fields")
    }
    environment, endpoint, flagged = _environment(reader, where, table, endpoints)
    ewhere = f"{where}.{environment}"
    url = reader.get(endpoint, "url", ewhere, str, "", "use the site's http(s) URL")
    if endpoint and not _URL.match(url):
        reader.problem(
            f"{ewhere}.url",
            "missing or not an http(s) URL; "
            'e.g. url = "https://cw.example.gov/Cityworks/Services/AMS"',
        )
    url = reader.no_userinfo(url, f"{ewhere}.url")
    user = reader.get(endpoint, "user", ewhere, str, "", "use the login name")
    verify = reader.tls(endpoint, ewhere, reader.tls(table, where, True))
    if verify is False:
        log.warning(
            "TLS certificate verification is OFF for integration %s (%s.verify_tls)",
            name,
            ewhere,
            extra={"integration": name},
        )
    messages = _messages(reader, where, table)
    activity = _activity(reader, where, table)
    custom = reader.get(
        table, "custom_fields", where, dict, {}, 'use a table of FIELD = "template"'
    )
    for key, value in custom.items():
        if not isinstance(value, str):
            reader.problem(
                f"{where}.custom_fields.{key}", 'use a string template, e.g. "{issue.id}"'
            )
    address_validation = reader.get(
        table, "address_validation", where, str, None, "name a [geocoders.NAME] section"
    )
    if address_validation and address_validation not in geocoders:
        reader.problem(
            f"{where}.address_validation",
            f"names geocoder {address_validation!r}, which has no "
            f"[geocoders.{address_validation}] section; add one or remove the key",
        )
    timezone = reader.get(
        table, "timezone", where, str, "UTC", 'use a zone such as "America/New_York"'
    )
    if not reader.zone(timezone):
        reader.problem(
            f"{where}.timezone",
            f'unknown time zone {timezone!r}; use an IANA name such as "America/New_York"',
        )
        timezone = "UTC"
    top = {
        k: v
        for k, v in table.items()
        if k not in INTEGRATION_KEYS and k not in endpoints and k != "environment"
    }
    mine = {k: v for k, v in endpoint.items() if k not in ENDPOINT_KEYS}
    declared = reader.declared(plugin)
    secrets: dict[str, Secret] = {}
    if declared is None:  # options as written, for the plugin's own check
        options = {**top, **mine}  # the active environment's table wins
    else:
        options, problems = check_options(
            declared, plugin, top, mine, top_where=where, endpoint_where=ewhere,
            elsewhere=INTEGRATION_KEYS | ENDPOINT_KEYS, skip=flagged,
        )  # fmt: skip
        for key, text in problems:
            reader.problem(key, text)
        for option in (o for o in declared if o.kind == "secret"):
            found = reader.secret(name, environment, option.name)
            if found is not None:
                secrets[option.name] = found
    return Integration(
        name=name,
        plugin=plugin,
        environment=environment,
        url=url,
        user=user,
        password=reader.secret(name, environment),
        closed_statuses=reader.strings(table, "closed_statuses", where, ("CLOSED",)),
        cancel_statuses=reader.strings(table, "cancel_statuses", where, ("CANCEL",)),
        request_types=reader.strings(table, "request_types", where, ("*",)),
        address_validation=address_validation,
        timezone=timezone,
        timezone_configured="timezone" in table,
        poll_batch_size=int(reader.number(table, "poll_batch_size", where, 500, 1, 5000)),
        poll_interval_seconds=reader.number(table, "poll_interval_seconds", where, 60, 1, 86400),
        request_types_refresh_hours=reader.number(
            table, "request_types_refresh_hours", where, 24, 0, 24 * 365
        ),
        max_concurrency=int(reader.number(table, "max_concurrency", where, 4, 1, 64)),
        timeout_seconds=reader.number(table, "timeout_seconds", where, 30, 0.1, 600),
        max_response_mb=reader.number(table, "max_response_mb", where, 32, 0.1, 1024),
        verify_tls=verify,
        messages=messages,
        activity=activity,
        custom_fields=frozen_mapping({k: v for k, v in custom.items() if isinstance(v, str)}),
        options=frozen_mapping(options),
        secrets=frozen_mapping(secrets),
    )


def check_routing(reader: Reader, integrations: Mapping[str, Integration]) -> None:
    """A request type must be served by one integration: one ``"*"`` at most, and no code
    listed twice."""
    wildcards = [n for n, i in integrations.items() if "*" in i.request_types]
    if len(wildcards) > 1:
        reader.problem(
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
                reader.problem(
                    f"integrations.{name}.request_types",
                    f"request type {code!r} is also served by integrations."
                    f"{seen[code]}; keep it in one of them",
                )
            seen[code] = name


def _environment(
    reader: Reader, where: str, table: dict[str, Any], endpoints: dict[str, Any]
) -> tuple[str, dict[str, Any], set[str]]:
    """The active environment (``--env`` wins over ``environment``, which defaults to the one
    table there is), its table, and the keys of that table already said to be wrong; every
    environment's table is checked."""
    default_env = next(iter(endpoints)) if len(endpoints) == 1 else "production"
    environment = reader.get(
        table, "environment", where, str, default_env, 'use "test" or "production"'
    )
    environment = reader.environment or environment
    endpoint = endpoints.get(environment)
    if endpoint is None:
        reader.problem(
            f"{where}.environment",
            f"is {environment!r} but there is no [{where}.{environment}] table with "
            f"its url and user; add it or set environment to one of "
            f"{', '.join(sorted(endpoints)) or '(none defined)'}",
        )
        endpoint = {}
    flagged: set[str] = set()
    for env_name, env_table in endpoints.items():
        said = _endpoint_keys(reader, env_table, f"{where}.{env_name}")
        if env_name == environment:
            flagged = said
    return environment, endpoint, flagged


def _endpoint_keys(reader: Reader, table: Mapping[str, Any], where: str) -> set[str]:
    """An environment's table: its endpoint keys, and the plugin's options for that
    environment. A host key there, or a near miss of an endpoint key, is a problem; returns
    the keys it said so of."""
    said = set()
    for key in table:
        if key in ENDPOINT_KEYS:
            continue
        close = difflib.get_close_matches(key, sorted(ENDPOINT_KEYS), n=1, cutoff=0.75)
        if key in INTEGRATION_KEYS:
            reader.problem(
                f"{where}.{key}",
                f"is a setting of the whole integration; move it up to [{where.rsplit('.', 1)[0]}]",
            )
            said.add(key)
        elif close:
            reader.problem(f"{where}.{key}", f"unknown key; did you mean {close[0]!r}?")
            said.add(key)
    return said


def _messages(reader: Reader, where: str, table: dict[str, Any]) -> Messages:
    """``[integrations.NAME.messages]``: the integration's own texts for residents."""
    mwhere = f"{where}.messages"
    msg_table = reader.get(table, "messages", where, dict, {}, "use a table")
    reader.unknown(msg_table, mwhere, MESSAGE_KEYS)
    return Messages(
        acknowledged=reader.template(msg_table, "acknowledged", mwhere, "acknowledged"),
        closed=reader.template(msg_table, "closed", mwhere, "closed"),
        canceled=reader.template(msg_table, "canceled", mwhere, "canceled"),
        closed_by_status=_by_status(reader, msg_table, "closed_by_status", mwhere, "closed"),
        canceled_by_status=_by_status(reader, msg_table, "canceled_by_status", mwhere, "canceled"),
    )


def _by_status(
    reader: Reader, table: Mapping[str, Any], key: str, where: str, kind: str
) -> Mapping[str, str]:
    """A table of remote status to message template, each checked as a ``kind`` message."""
    value = reader.get(table, key, where, dict, {}, 'use a table such as { COMPLETE = "…" }')
    out = {}
    for status, template in value.items():
        if not isinstance(template, str):
            reader.problem(f"{where}.{key}.{status}", "use a string")
            continue
        problem = template_problem(template, kind)
        if problem:
            reader.problem(f"{where}.{key}.{status}", problem)
            continue
        out[status] = template
    return frozen_mapping(out)


def _activity(reader: Reader, where: str, table: dict[str, Any]) -> tuple[ActivityRule, ...]:
    """``[[integrations.NAME.activity]]``: remote fields whose change is told to residents."""
    activity = []
    rules = reader.get(
        table, "activity", where, list, [], "use [[integrations.NAME.activity]] tables"
    )
    for i, rule in enumerate(rules):
        rwhere = f"{where}.activity[{i}]"
        if (
            not isinstance(rule, dict)
            or not isinstance(rule.get("field"), str)
            or not isinstance(rule.get("message"), str)
        ):
            reader.problem(rwhere, 'needs field = "RemoteField" and message = "… {value} …"')
            continue
        reader.unknown(rule, rwhere, {"field", "message"})
        problem = template_problem(rule["message"], "activity")
        if problem:
            reader.problem(f"{rwhere}.message", problem)
            continue
        activity.append(ActivityRule(field=rule["field"], message=rule["message"]))
    return tuple(activity)
