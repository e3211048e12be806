"""System messages: the default texts a resident reads, and their placeholders.

A config concern: ``[organization.messages]`` and ``[integrations.NAME.messages]`` override
the defaults, and the engine renders whichever applies. Templates use ``str.format`` syntax
with named placeholders only. The set of names each message may use is fixed here, so
``scf config check`` rejects an unknown placeholder long before a sync pass would have to
render it.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from ..errors import ConfigError

COMMON = frozenset({"issue_id", "remote_id", "status", "organization", "request_type", "summary"})

PLACEHOLDERS: Mapping[str, frozenset[str]] = {
    "acknowledged": COMMON,
    "closed": COMMON | {"reason"},
    "canceled": COMMON | {"reason"},
    "activity": COMMON | {"value", "field"},
    "address_rejected": COMMON | {"address", "reason"},
    "withdrawn": COMMON | {"reason"},
    "resubmitted": COMMON | {"reason"},
}

DEFAULTS: Mapping[str, str] = {
    "acknowledged": (
        "Thank you for your report. {organization} has received it as service request "
        "{remote_id} and will keep you updated here."
    ),
    "closed": (
        "Service request {remote_id} has been completed and this issue is now closed. "
        "Thank you for helping improve the community."
    ),
    "canceled": (
        "Service request {remote_id} was cancelled by city staff. This issue has been reopened "
        "so it can be reviewed."
    ),
    "address_rejected": (
        "The address could not be verified ({reason}); staff will review the location before "
        "the request is sent on."
    ),
    "withdrawn": "{organization} closed this issue here without further work: {reason}",
    "resubmitted": (
        "{organization} is sending this issue on again ({reason}); a new service request "
        "number follows."
    ),
}


def placeholders_of(template: str) -> list[str]:
    """The placeholder names a template uses, in order (raises ValueError on bad syntax)."""
    names = []
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None:
            names.append(name)
    return names


def template_problem(template: str, kind: str) -> str | None:
    """Why ``template`` cannot be used as a ``kind`` message, or None when it can."""
    allowed = PLACEHOLDERS[kind]
    try:
        names = placeholders_of(template)
    except ValueError as exc:
        return f"is not a valid template ({exc}); write a literal brace as {{{{ or }}}}"
    for name in names:
        if name not in allowed:
            shown = "{" + name + "}" if name else "{}"
            return f"uses unknown placeholder {shown}; use one of " + ", ".join(
                "{" + n + "}" for n in sorted(allowed)
            )
    return None


def render(template: str, kind: str, **values: object) -> str:
    """Fill a template checked by :func:`template_problem` with ``values``."""
    problem = template_problem(template, kind)
    if problem:
        raise ConfigError(f"{kind} message {problem}")
    return template.format_map({name: values.get(name, "") for name in PLACEHOLDERS[kind]})
