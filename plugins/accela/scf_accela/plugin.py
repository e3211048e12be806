"""The ``accela`` plugin: Accela Civic Platform records through the Construct API v4.

Thin hook implementations over the client (:mod:`.client`), the record types and forms
(:mod:`.forms`), creating records (:mod:`.creating`), adding comments and photos
(:mod:`.pushing`), cancelling (:mod:`.cancelling`) and polling (:mod:`.polling`). The
options are described in :mod:`.settings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from scf_plugins import (
    Attachment,
    Capabilities,
    Comment,
    Integration,
    Issue,
    Options,
    RemoteUpdate,
    RequestType,
    StandIn,
    Submission,
    Tracked,
    hookimpl,
    resource_for,
)

from . import settings

if TYPE_CHECKING:
    import click

    from .client import AccelaClient

TYPES_PAGE = 1000  # the most record types Accela gives in one page
MAX_PAGES = 50


def client_for(integration: Integration) -> AccelaClient:
    """The integration's client, kept by the host (``resource_for``): built once, rebuilt
    when the integration's settings or secrets change."""
    from .client import AccelaClient  # requests is imported on first use, not at discovery

    return resource_for(integration, AccelaClient)


def offered_types(client: AccelaClient, integration: Integration) -> list[dict[str, Any]]:
    """The record types residents may use: the module's, paged through, filtered by the
    integration (see :func:`.forms.offered`)."""
    from . import forms

    module = str(settings.option(integration, "module"))
    filter_name = str(settings.option(integration, "filter_name"))
    params = [("module", module)] if module else []
    kinds: list[dict[str, Any]] = []
    for page in range(MAX_PAGES):
        answer = client.get(
            "settings/records/types",
            [*params, ("limit", str(TYPES_PAGE)), ("offset", str(page * TYPES_PAGE))],
            what="GET record types",
        )
        items = [k for k in answer.get("result") or [] if isinstance(k, dict)]
        kinds += items
        more = answer.get("page") if isinstance(answer.get("page"), dict) else {}
        if not items or not (more.get("hasmore") or more.get("hasMore")):
            break
    return [k for k in kinds if forms.offered(k, module, filter_name, integration.request_types)]


@hookimpl
def list_request_types(integration: Integration) -> list[RequestType]:
    """The offered record types, each with its custom forms' fields as questions."""
    from . import forms
    from .client import path_id

    client = client_for(integration)
    out = []
    for kind in offered_types(client, integration):
        found = client.get(
            f"settings/records/types/{path_id(kind['id'])}/customForms", what="GET customForms"
        )
        result = found.get("result")
        out.append(
            forms.request_type(kind, result if isinstance(result, list) else [], integration.name)
        )
    return out


@hookimpl
def submit(integration: Integration, issue: Issue) -> Submission:
    """Create the record (looked up by its marker first after an uncertain attempt), then
    write its answers to its custom forms."""
    from . import creating

    return creating.submit(client_for(integration), integration, issue)


@hookimpl
def poll(integration: Integration, tracked: list[Tracked]) -> list[RemoteUpdate]:
    """Records read many per call, their comments in one batch call."""
    from . import polling

    return polling.poll(client_for(integration), integration, tracked)


@hookimpl
def push_comment(integration: Integration, issue: Issue, comment: Comment) -> str:
    """A record comment, looked for first after an uncertain attempt."""
    from . import pushing

    return pushing.push_comment(client_for(integration), integration, issue, comment)


@hookimpl
def push_attachment(integration: Integration, issue: Issue, attachment: Attachment) -> str:
    """A record document, looked for by its name first after an uncertain upload."""
    from . import pushing

    return pushing.push_attachment(client_for(integration), integration, issue, attachment)


@hookimpl
def cancel_request(integration: Integration, issue: Issue, reason: str) -> str:
    """The record set to ``withdraw_status`` with the reason, once (``scf issues withdraw
    --remote``)."""
    from . import cancelling

    return cancelling.cancel(client_for(integration), integration, issue, reason)


@hookimpl
def capabilities(integration: Integration) -> Capabilities:
    """Accela writes dates as naive agency-local times (the integration needs timezone), and
    its v4 comments carry no public flag: staff mark the resident's with the pull prefix. A
    record is cancelled from here only where the agency gave a ``withdraw_status``."""
    return Capabilities(
        naive_local_dates=True,
        comment_audience="prefix",
        remote_cancel=bool(str(settings.option(integration, "withdraw_status")).strip()),
    )


@hookimpl
def check_connection(integration: Integration) -> str:
    """Log in afresh, then read one record type of the module (the token, the agency and the
    environment proven together); nothing is created."""
    client = client_for(integration)
    client.login()
    module = str(settings.option(integration, "module"))
    client.get(
        "settings/records/types", [("module", module), ("limit", "1")], what="GET record types"
    )
    where = client.endpoint
    return (
        f"logged in as {where.user!r} to agency {where.agency} ({where.environment}); "
        f"record types of {module or 'every module'} readable"
    )


@hookimpl
def list_statuses(integration: Integration) -> list[str]:
    """The status values of every offered record type (Accela has no agency-wide list)."""
    from .client import path_id

    client = client_for(integration)
    values: dict[str, None] = {}
    for kind in offered_types(client, integration):
        found = client.get(
            f"settings/records/types/{path_id(kind['id'])}/statuses", what="GET statuses"
        )
        for item in found.get("result") or []:
            value = item.get("value") if isinstance(item, dict) else None
            if isinstance(value, str) and value.strip():
                values[value.strip()] = None
    return list(values)


@hookimpl
def plugin_options() -> Options:
    """The options the host checks, types and lists (see :mod:`.settings`)."""
    return settings.OPTIONS


@hookimpl
def check_integration(integration: Integration) -> list[str]:
    """What the declared options cannot say, and the ``custom_fields`` templates."""
    from .creating import template_problem

    problems = settings.check(integration)
    for name, template in integration.custom_fields.items():
        problem = template_problem(template)
        if problem:
            problems.append(f"custom_fields.{name}: {problem}")
    return problems


@hookimpl
def register_commands(cli: click.Group) -> None:
    """``scf emulator accela``: serve the emulator for trying a config."""
    from .commands import emulator_command

    group = cli.commands.get("emulator")
    if group is not None and hasattr(group, "add_command"):
        group.add_command(emulator_command, "accela")


@hookimpl
def start_standin(users: Mapping[str, str]) -> StandIn:
    """The Accela emulator on a free loopback port, taking these logins (``scf demo``)."""
    from .standin import EmulatorStandIn

    return EmulatorStandIn(users)
