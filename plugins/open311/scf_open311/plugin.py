"""The ``open311`` plugin: an Open311 GeoReport v2 server as a remote system.

Options (under ``[integrations.NAME]``, or per environment under ``[integrations.NAME.ENV]``):

- ``format``: ``"json"`` (the default) or ``"xml"`` for a server that only offers XML;
- ``jurisdiction_id``: sent on every call when set;
- ``updates``: ``"mysociety"`` when the server has mySociety's ``servicerequestupdates``
  (comments both ways); otherwise the plugin declares it has no comment API;
- ``ids_per_request``: request ids per ``GET requests`` when polling (default 50);
- ``cancel_notes``: phrases of ``status_notes`` that make a closed request a cancelled one
  (e.g. ``["duplicate", "cancelled"]``); none by default, so every closed request is closed;
- ``lookup_window_minutes``: how far back an uncertain create is looked for (default 60);
- ``updates_window_hours``: how far back each poll reads updates (default 24);
- ``token_lost_after_minutes``: how long an unknown token is taken for "not yet" before the
  create is taken as lost (default 60).

The endpoint's API key is the integration's password (``scf credentials set NAME``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from scf_plugins import (
    AmbiguousError,
    Capabilities,
    CheckWarning,
    Comment,
    DefiniteError,
    Integration,
    Issue,
    LoginRefused,
    Option,
    Options,
    Pending,
    RemoteComment,
    RemoteState,
    RemoteUpdate,
    RequestType,
    Resolution,
    StandIn,
    Submission,
    Tracked,
    hookimpl,
    pull_pattern,
    resource_for,
)

from . import mapping
from .client import truth

if TYPE_CHECKING:
    import click

    from .client import GeoReport

log = logging.getLogger(__name__)

OPTIONS = Options(
    Option("format", "choice", "json", 'the format the server speaks: "json", or "xml" for a '
           "server without JSON", choices=("json", "xml")),
    Option("jurisdiction_id", "text", "", "sent on every call when set"),
    Option("updates", "choice", "none", '"mysociety" when the server has mySociety\'s '
           "servicerequestupdates (comments both ways)", choices=("mysociety", "none")),
    Option("ids_per_request", "integer", 50, "request ids per GET requests when polling",
           minimum=1, fix="use a positive number"),
    Option("cancel_notes", "texts", (), "phrases of status_notes that make a closed request "
           "a cancelled one", fix='use a list of phrases, e.g. ["duplicate"]'),
    Option("lookup_window_minutes", "number", 60.0, "how far back an uncertain create is "
           "looked for", minimum=0.01, fix="use a positive number"),
    Option("updates_window_hours", "number", 24.0, "how far back each poll reads updates",
           minimum=0.01, fix="use a positive number"),
    Option("token_lost_after_minutes", "number", 60.0, "how long an unknown token is taken "
           "for not yet, before the create is taken as lost", minimum=0.01,
           fix="use a positive number"),
)  # fmt: skip


def client_for(integration: Integration) -> GeoReport:
    """The integration's client, kept by the host (``resource_for``): built once, rebuilt
    when the integration's settings change."""
    from .client import GeoReport  # requests is imported on first use, not at discovery

    return resource_for(integration, GeoReport)


def option(integration: Integration, name: str) -> Any:
    """An option's value, or its default."""
    return OPTIONS.value(integration, name)


def _w3c(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- request types -----------------------------------------------------------------------------


@hookimpl
def list_request_types(integration: Integration) -> list[RequestType]:
    """``services``, and ``services/{code}`` for each service with ``metadata``."""
    client = client_for(integration)
    services = client.get("services")
    if not isinstance(services, list):
        raise DefiniteError(f"{client.http.system} answered services with no list")
    types = []
    for service in services:
        if not mapping.offered(service):
            continue
        attributes: list[Any] = []
        if truth(service.get("metadata", False)):
            definition = client.get(f"services/{service['service_code']}")
            found = definition.get("attributes") if isinstance(definition, dict) else None
            attributes = found if isinstance(found, list) else []
        types.append(mapping.request_type(service, attributes))
    return types


# -- creates -----------------------------------------------------------------------------------


@hookimpl
def submit(integration: Integration, issue: Issue) -> Submission:
    """POST requests; after an uncertain attempt, look for the request (by token, then by
    the marker in descriptions over a short window) before creating it again."""
    client = client_for(integration)
    if issue.submit_attempted:
        found = _look_up(integration, client, issue)
        if found is not None:
            return found
    sent_at = datetime.now(UTC)
    state = {"sent_at": _w3c(sent_at)}
    try:
        answer = client.post("requests", mapping.create_form(issue))
    except AmbiguousError as exc:
        raise AmbiguousError(str(exc), plugin_state=state) from None
    item = answer[0] if isinstance(answer, list) and answer else answer
    if not isinstance(item, dict):
        raise AmbiguousError("the server answered the create with no request; it is looked "
                             "up by its marker before any retry", plugin_state=state)  # fmt: skip
    rid, token = _scalar(item.get("service_request_id")), _scalar(item.get("token"))
    if rid:
        return Submission(remote_id=rid, plugin_state=state)
    if token:
        return Submission(token=token, plugin_state={**state, "token": token})
    raise AmbiguousError(
        "the server answered the create with neither an id nor a token; it is looked up by "
        "its marker before any retry",
        plugin_state=state,
    )


def _scalar(value: Any) -> str:
    """An id from an answer: a string or a number; an empty element or a list is none."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value).strip()
    return ""


def _look_up(integration: Integration, client: GeoReport, issue: Issue) -> Submission | None:
    """The request an earlier attempt made, or None when there is none to be found.

    GeoReport has no field for a client's reference: the marker travels in the description,
    and ``GET requests`` is searched over ``lookup_window_minutes`` around the attempt.
    """
    token = str(issue.plugin_state.get("token") or "")
    if token:
        rid = _token_id(client, token)
        if rid:
            return Submission(remote_id=rid, created=False, plugin_state=issue.plugin_state)
        if rid == "":
            return Submission(token=token, created=False, plugin_state=issue.plugin_state)
    sent = str(issue.plugin_state.get("sent_at") or "")
    try:
        around = datetime.fromisoformat(sent.replace("Z", "+00:00")) if sent else None
    except ValueError:
        around = None
    around = around or issue.created_at or datetime.now(UTC)
    window = timedelta(minutes=float(option(integration, "lookup_window_minutes")))
    records = client.get("requests", [
        ("service_code", issue.type_ref),
        ("start_date", _w3c(around - window)),
        ("end_date", _w3c(max(around + window, datetime.now(UTC) + timedelta(minutes=5)))),
    ])  # fmt: skip
    for record in records if isinstance(records, list) else []:
        if isinstance(record, dict) and mapping.marker_of(record) == issue.marker:
            rid = _scalar(record.get("service_request_id"))
            if rid:
                return Submission(remote_id=rid, created=False, plugin_state=issue.plugin_state)
    return None


def _token_id(client: GeoReport, token: str) -> str | None:
    """The id a token became: the id, ``""`` while not yet, None when the server does not
    know the token."""
    from .client import NotFound

    try:
        answer = client.get(f"tokens/{token}")
    except NotFound:
        return None
    except DefiniteError:
        return ""  # FixMyStreet's servers answer 400 while the id is not ready
    items = answer if isinstance(answer, list) else [answer]
    for item in items:
        if isinstance(item, dict):
            rid = _scalar(item.get("service_request_id"))
            if rid:
                return rid
    return ""


@hookimpl
def resolve_pending(integration: Integration, pending: list[Pending]) -> list[Resolution]:
    """``tokens/{token}`` for each pending create (the spec has no batch form of it)."""
    client = client_for(integration)
    lost_after = timedelta(minutes=float(option(integration, "token_lost_after_minutes")))
    now = datetime.now(UTC)
    out = []
    for item in pending:
        rid = _token_id(client, item.token)
        if rid:
            out.append(Resolution(item.issue_id, remote_id=rid))
        elif rid is None and item.since is not None and now - item.since > lost_after:
            out.append(Resolution(item.issue_id, lost=f"the server does not know token "
                                                      f"{item.token}"))  # fmt: skip
        else:
            out.append(Resolution(item.issue_id))
    return out


# -- polling -----------------------------------------------------------------------------------


@hookimpl
def poll(integration: Integration, tracked: list[Tracked]) -> list[RemoteUpdate]:
    """``GET requests?service_request_id=a,b,c`` per ``ids_per_request`` ids, and one read of
    the updates (comments) when the server has them.

    A record the server sent damaged (nested too deeply, broken, cut off) is UNREADABLE on its
    own issue, and so is a request missing from an answer that was damaged where it could
    have been; comments that cannot be read leave the request's status applied, with
    ``error`` saying so. The rest of the batch is read as usual.
    """
    client = client_for(integration)
    size = max(1, int(option(integration, "ids_per_request")))
    records: dict[str, dict[str, Any]] = {}
    damaged: dict[str, str] = {}  # request id: why its record could not be read
    wanted = [t for t in tracked if _well_formed(t.remote_id)]
    for chunk in _chunks([t.remote_id for t in wanted], size):
        asked = set(chunk)
        answer = client.get_salvaged("requests", [("service_request_id", ",".join(chunk))])
        broken = answer.broken()
        unnamed: list[str] = []
        for index, record in enumerate(answer.value if isinstance(answer.value, list) else []):
            rid = _scalar(record.get("service_request_id")) if isinstance(record, dict) else ""
            why = broken.get(index)
            if rid not in asked:
                if why:
                    unnamed.append(why)
            elif why:
                damaged[rid] = f"the server sent request {rid} damaged: {why}"
            else:
                records[rid] = record
        lost = answer.cut() or next(iter(unnamed), None)
        for rid in chunk if lost else ():
            if rid not in records:
                damaged.setdefault(rid, f"request {rid} may be in the part of the server's "
                                        f"answer that could not be read: {lost}")  # fmt: skip
    comments, unread = (
        _comments(integration, client, {t.remote_id for t in wanted})
        if _has_updates(integration)
        else ({}, {})
    )
    updates = []
    for t in tracked:
        if not _well_formed(t.remote_id):
            updates.append(RemoteUpdate(t.issue_id, t.remote_id, RemoteState.UNREADABLE,
                                        error=f"{t.remote_id!r} is not an Open311 id"))  # fmt: skip
            continue
        record = records.get(t.remote_id)
        if record is None:
            why = damaged.get(t.remote_id)
            state = RemoteState.UNREADABLE if why else RemoteState.MISSING
            updates.append(RemoteUpdate(t.issue_id, t.remote_id, state, error=why))
            continue
        update = mapping.update_of(integration, t.issue_id, t.remote_id, record)
        found = comments.get(t.remote_id, ())
        error = unread.get(t.remote_id)
        if (found or error) and update.state is not RemoteState.UNREADABLE:
            update = dataclasses.replace(update, comments=found, error=error)
        updates.append(update)
    return updates


def _well_formed(remote_id: str) -> bool:
    return bool(remote_id) and "," not in remote_id and remote_id.isprintable() and len(
        remote_id) <= 200  # fmt: skip


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _has_updates(integration: Integration) -> bool:
    return str(option(integration, "updates")).lower() == "mysociety"


def _updates_window(integration: Integration) -> list[tuple[str, str]]:
    """The query of ``servicerequestupdates``: the last ``updates_window_hours``."""
    hours = float(option(integration, "updates_window_hours"))
    now = datetime.now(UTC)
    return [("start_date", _w3c(now - timedelta(hours=hours))),
            ("end_date", _w3c(now + timedelta(minutes=5)))]  # fmt: skip


def _read_updates(integration: Integration, client: GeoReport) -> list[dict[str, Any]]:
    answer = client.get("servicerequestupdates", _updates_window(integration))
    return [u for u in answer if isinstance(u, dict)] if isinstance(answer, list) else []


def _comments(
    integration: Integration, client: GeoReport, ids: set[str]
) -> tuple[dict[str, tuple[RemoteComment, ...]], dict[str, str]]:
    """The ``To SCF:`` updates of the requests in ``ids``, by request, and the requests with
    an update that could not be read (and why). A damaged update that names no request, or
    an answer cut off, is logged for the integration: it could concern any of them."""
    answer = client.get_salvaged("servicerequestupdates", _updates_window(integration))
    broken = answer.broken()
    to_scf = pull_pattern()
    out: dict[str, list[RemoteComment]] = {}
    unread: dict[str, str] = {}
    unnamed = [answer.cut()] if answer.cut() else []
    for index, item in enumerate(answer.value if isinstance(answer.value, list) else []):
        rid = _scalar(item.get("service_request_id")) if isinstance(item, dict) else ""
        if index in broken:
            if rid in ids:
                unread.setdefault(rid, f"some of its comments (updates) could not be read: "
                                       f"{broken[index]}")  # fmt: skip
            elif not rid:
                unnamed.append(broken[index])
            continue
        if rid not in ids or not isinstance(item, dict):
            continue
        uid = _scalar(item.get("update_id"))
        text = item.get("description")
        if uid and isinstance(text, str) and to_scf.match(text):
            body = to_scf.sub("", text, count=1).strip()[:4000]
            out.setdefault(rid, []).append(RemoteComment(uid, body))
    if unnamed:
        log.warning(
            "part of the comments (updates) answer could not be read and names no request; "
            "comments in it arrive once the server sends it readable: %s",
            unnamed[0],
            extra={"integration": integration.name},
        )
    return {rid: tuple(found) for rid, found in out.items()}, unread


# -- comments ----------------------------------------------------------------------------------


@hookimpl
def push_comment(integration: Integration, issue: Issue, comment: Comment) -> str:
    """mySociety's POST ``servicerequestupdates``; after an uncertain attempt, look for the
    update (its text ends with the comment's own tag) first."""
    client = client_for(integration)
    tag = f"[{issue.marker}/{comment.id}]"
    if comment.push_attempted:
        for item in _read_updates(integration, client):
            if (_scalar(item.get("service_request_id")) == issue.remote_id
                    and str(item.get("description") or "").rstrip().endswith(tag)):  # fmt: skip
                return _scalar(item.get("update_id")) or tag
    first, _, last = comment.author.strip().partition(" ")
    answer = client.post("servicerequestupdates", [
        ("service_request_id", str(issue.remote_id)),
        ("update_id", f"{issue.marker}-{comment.id}"),
        ("status", "OPEN"),
        ("updated_datetime", _w3c(datetime.now(UTC))),
        ("description", f"{comment.author}: {comment.text}\n{tag}"),
        ("first_name", first or "-"),
        ("last_name", last or "-"),
    ])  # fmt: skip
    item = answer[0] if isinstance(answer, list) and answer else answer
    uid = _scalar(item.get("update_id")) if isinstance(item, dict) else ""
    if not uid:
        raise AmbiguousError("the server took the comment without an update_id; it is looked "
                             "for before any retry")  # fmt: skip
    return uid


@hookimpl
def capabilities(integration: Integration) -> Capabilities:
    """Comments only with mySociety's updates; cancellations only with ``cancel_notes``."""
    updates = _has_updates(integration)
    return Capabilities(
        push_comments=updates,
        pull_comments=updates,
        cancellation=bool(option(integration, "cancel_notes")),
    )


# -- checks ------------------------------------------------------------------------------------


@hookimpl
def check_connection(integration: Integration) -> str:
    """Read ``services``, then prove the key: a POST that names no service cannot create
    anything, and a server checks the key first (403 when it is refused)."""
    client = client_for(integration)
    services = client.get("services")
    count = len(services) if isinstance(services, list) else 0
    try:
        client.post("requests", [])
    except LoginRefused:
        raise
    except DefiniteError:
        pass  # refused for the missing service, after the key was accepted
    return f"{count} services, api_key accepted"


@hookimpl
def plugin_options() -> Options:
    """``format``, ``updates``, ``cancel_notes`` and the rest (see the module's docstring)."""
    return OPTIONS


@hookimpl
def check_integration(integration: Integration) -> list[str]:
    """What the declared options cannot say (the host checks those): warnings about cancel
    statuses GeoReport does not have, and a key sent over plain http."""
    problems: list[str] = []
    if integration.cancel_statuses and integration.cancel_statuses != ("CANCEL",):
        problems.append(CheckWarning(
            "cancel_statuses: GeoReport statuses are only open and closed; say what "
            "marks a cancellation with cancel_notes (phrases of status_notes)"))  # fmt: skip
    if not integration.url.startswith("https://") and "127.0.0.1" not in integration.url:
        problems.append(CheckWarning("url: the api_key goes over plain http; use https"))
    return problems


@hookimpl
def register_commands(cli: click.Group) -> None:
    """``scf emulator open311``."""
    from .commands import emulator_command

    group = cli.commands.get("emulator")
    if group is not None and hasattr(group, "add_command"):
        group.add_command(emulator_command)


@hookimpl
def start_standin(users: Mapping[str, str]) -> StandIn:
    """The Open311 emulator on a free loopback port; each password given is an API key it
    accepts (``scf demo``, tests)."""
    from .standin import EmulatorStandIn

    return EmulatorStandIn(users)
