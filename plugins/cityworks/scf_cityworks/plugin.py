"""The Cityworks plugin: thin hook implementations over the client and the mapping.

Per-integration state (the HTTP session with its token, the projection) is a :class:`Site`,
kept by the host per integration (``resource_for``) and reused across calls and sync passes.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from scf_plugins import (
    AmbiguousError,
    Attachment,
    Capabilities,
    DefiniteError,
    Integration,
    Issue,
    Options,
    RemoteState,
    RemoteUpdate,
    RequestType,
    StandIn,
    Submission,
    Tracked,
    attachment_name,
    hookimpl,
    resource_for,
)

from . import mapping, records
from .options import OPTIONS
from .versions import version_tuple

if TYPE_CHECKING:
    import click

    from scf_plugins import Comment

    from .client import CityworksClient
    from .projection import Projector

log = logging.getLogger(__name__)

COMMENT_TYPE_REQUEST = 1


class Site:
    """What one integration keeps between calls: its client, its projection, and what the
    site has shown it lacks. The host keeps one per integration (``resource_for``), rebuilt
    when the integration's settings change and closed when replaced."""

    def __init__(self, integration: Integration) -> None:
        # requests is imported with the client, on first use, not when plugins are discovered.
        from .client import CityworksClient

        self.integration = integration
        self.client: CityworksClient = CityworksClient(integration)
        self._projector: Projector | None = None
        self._lock = threading.Lock()
        self.batch_qa = True  # False once the site has shown it lacks ServiceRequestTemplate/QA

    @property
    def projector(self) -> Projector:
        with self._lock:
            if self._projector is None:
                from .projection import Projector

                self._projector = Projector(int(OPTIONS.value(self.integration, "srid")))
            return self._projector

    def close(self) -> None:
        """Close the client's session (the host calls it when the site is replaced)."""
        self.client.close()


def site_for(integration: Integration) -> Site:
    """The integration's :class:`Site`, kept by the host."""
    return resource_for(integration, Site)


def _chunks(items: Sequence[Tracked], size: int) -> Iterator[Sequence[Tracked]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + size]


@hookimpl
def list_request_types(integration: Integration) -> list[RequestType]:
    """Public, active problems (``ServiceRequest/Problems``) with their Q&A.

    The Q&A comes from the batch ``ServiceRequestTemplate/QA`` where the site has it, else
    from ``ServiceRequest/QA`` one problem at a time.
    """
    from .client import EndpointMissing

    site = site_for(integration)
    problems = mapping.as_list(
        site.client.call(
            "Ams/ServiceRequest/Problems", {"ForPublicOnly": True, "OnlyActiveTemplates": True}
        )
    )
    wanted = set(integration.request_types)
    problems = [
        p
        for p in problems
        if isinstance(p, dict)
        and p.get("ProblemCode")
        and p.get("ProblemSid") is not None
        and ("*" in wanted or str(p["ProblemCode"]).strip() in wanted)
    ]
    sids = [p["ProblemSid"] for p in problems]
    qa_by_sid: dict[str, dict[str, Any]] = {}
    if sids and site.batch_qa:
        try:
            for qa in mapping.as_list(
                site.client.call("Ams/ServiceRequestTemplate/QA", {"ProblemSids": sids})
            ):
                if isinstance(qa, dict):
                    qa_by_sid[str(qa.get("ProblemSid"))] = qa
        except EndpointMissing:
            log.info(
                "site has no ServiceRequestTemplate/QA; asking ServiceRequest/QA per problem",
                extra={"integration": integration.name},
            )
            site.batch_qa = False
    if sids and not site.batch_qa:
        for sid in sids:
            qa = site.client.call("Ams/ServiceRequest/QA", {"ProblemSid": sid})
            if isinstance(qa, dict):
                qa_by_sid[str(sid)] = qa
    return [
        mapping.request_type_from(p, qa_by_sid.get(str(p["ProblemSid"])), integration)
        for p in problems
    ]


@hookimpl
def submit(integration: Integration, issue: Issue) -> Submission:
    """``ServiceRequest/Create`` with the 311 field mapping.

    Idempotent through ``OtherSystemId`` (the issue's marker): after an uncertain attempt,
    ``ByOtherSystemId`` first, and only a request carrying exactly this marker counts.
    """
    from .client import NOT_FOUND_CODES

    site = site_for(integration)
    if issue.submit_attempted:
        found = site.client.call_envelope(
            "Ams/ServiceRequest/ByOtherSystemId",
            {"OtherSystemId": issue.marker},
            accept_codes=NOT_FOUND_CODES,
        ).get("Value")
        if isinstance(found, dict) and str(found.get("OtherSystemId")) == issue.marker:
            rid = mapping.request_id(found.get("RequestId"))
            if rid is None:
                raise AmbiguousError(
                    f"Cityworks has a request with marker {issue.marker} but sent no readable "
                    f"RequestId for it; looked up again on the next attempt"
                )
            log.info(
                "found the request an earlier attempt created",
                extra={"integration": integration.name, "issue_id": issue.id, "remote_id": rid},
            )
            return Submission(remote_id=str(rid), created=False, status=_status(found))
    x, y = site.projector.project(issue.lng, issue.lat)
    fields = mapping.create_fields(integration, issue, x, y)
    created = site.client.call("Ams/ServiceRequest/Create", fields, idempotent=False)
    rid = mapping.request_id(created.get("RequestId")) if isinstance(created, dict) else None
    if rid is None:
        # The create may well have happened: the next attempt looks it up by its marker.
        raise AmbiguousError(
            "Cityworks answered the Create without a readable RequestId; the request may "
            "exist and is looked up by its marker before any retry"
        )
    return Submission(remote_id=str(rid), created=True, status=_status(created))


def _status(record: dict[str, Any]) -> str | None:
    status = record.get("Status")
    return status if isinstance(status, str) else None


@hookimpl
def poll(integration: Integration, tracked: list[Tracked]) -> list[RemoteUpdate]:
    """``ServiceRequest/ByIds`` and ``Comment/ByActivitySids`` per batch of ``poll_batch_size``.

    A tracked id that is not a Cityworks id, a request sent twice, or a record that came
    damaged (nested too deeply, broken, cut off) is reported UNREADABLE on its own issue; the
    rest of the batch is read as usual. Comments that cannot be read leave their request's
    status applied, with ``error`` saying so; a lone surrogate or stray byte in an answer is
    read as U+FFFD.
    """
    site = site_for(integration)
    reading = mapping.Reading.of(integration)
    updates: list[RemoteUpdate] = []
    for batch in _chunks(tracked, integration.poll_batch_size):
        ids = {t.remote_id: mapping.request_id(t.remote_id) for t in batch}
        asked = sorted({i for i in ids.values() if i is not None})
        found: dict[int, list[records.RecordRead]] = {}
        damaged: dict[int, str] = {}
        lost: str | None = None
        comments_by_id: dict[str, list[dict[str, Any]]] = {}
        comment_problems: dict[str, str] = {}
        if asked:
            answer = site.client.call_records(
                "Ams/ServiceRequest/ByIds",
                {"RequestIds": asked},
                decode=records.decoder(integration.watched_fields),
            )
            found, damaged, lost = records.requests_of(answer, set(asked))
            if found:
                raw = site.client.call_records(
                    "Ams/Comment/ByActivitySids",
                    {"ActivitySids": sorted(found), "ActivityType": COMMENT_TYPE_REQUEST},
                )
                comments_by_id, comment_problems = records.comments_of(raw, found)
        for t in batch:
            rid = ids[t.remote_id]
            got = found.get(rid, ()) if rid is not None else ()
            if rid is None:
                problem = f"{t.remote_id!r} is not a Cityworks request id (a positive number)"
            elif rid in damaged:
                problem = f"Cityworks sent request {rid} damaged: {damaged[rid]}"
            elif len(got) > 1:
                problem = f"Cityworks sent {len(got)} records for request {rid}"
            elif not got and lost:
                problem = (
                    f"request {rid} may be in the part of Cityworks' answer that could not be "
                    f"read: {lost}"
                )
            else:
                key = str(rid)
                update = reading.update(t, got[0] if got else None, comments_by_id.get(key, ()))
                why = comment_problems.get(key)
                if why and update.state is not RemoteState.UNREADABLE:
                    why = f"some of its comments in Cityworks could not be read: {why}"
                    update = dataclasses.replace(update, error=why)
                updates.append(update)
                continue
            updates.append(
                RemoteUpdate(t.issue_id, t.remote_id, RemoteState.UNREADABLE, error=problem)
            )
    return updates


def _comment_text(integration: Integration, comment: Comment) -> str:
    prefix = str(OPTIONS.value(integration, "comment_prefix"))
    # {via}: the API key's name of a comment a client posted through the door, else empty.
    head = prefix.replace("{author}", comment.author).replace("{via}", comment.via or "")
    return head + comment.text


@hookimpl
def push_comment(integration: Integration, issue: Issue, comment: Comment) -> str:
    """``Comment/Add`` (ActivityType 1); with an earlier uncertain attempt, look for it first."""
    site = site_for(integration)
    sid = mapping.request_id(issue.remote_id)
    if sid is None:
        raise DefiniteError(f"issue {issue.id} has no Cityworks request to comment on")
    text = _comment_text(integration, comment)
    if comment.push_attempted:
        existing = site.client.call(
            "Ams/Comment/ByActivitySids",
            {"ActivitySids": [sid], "ActivityType": COMMENT_TYPE_REQUEST},
        )
        for record in (existing or {}).get(str(sid), []) if isinstance(existing, dict) else []:
            if isinstance(record, dict) and record.get("Comments") == text:
                return str(record.get("CommentId"))
    added = site.client.call(
        "Ams/Comment/Add",
        {"ActivityType": COMMENT_TYPE_REQUEST, "ActivitySid": sid, "Comments": text},
        idempotent=False,
    )
    if not isinstance(added, dict) or added.get("CommentId") in (None, ""):
        raise AmbiguousError(
            "Cityworks answered Comment/Add without a CommentId; the comment may exist and is "
            "looked for before any retry"
        )
    return str(added["CommentId"])


@hookimpl
def push_attachment(integration: Integration, issue: Issue, attachment: Attachment) -> str:
    """``Attachments/AddRequestAttachment``; after an uncertain upload, ``RequestAttachments``
    is searched for the file name (which carries the issue's marker) first."""
    client = site_for(integration).client
    rid = mapping.request_id(issue.remote_id)
    if rid is None:
        raise DefiniteError(f"{issue.remote_id!r} is not a Cityworks request id")
    # The host's unique name (the marker and the photo's id), made here too so a photo
    # handed over under another name is still found after an uncertain upload.
    name = attachment_name(issue.marker, attachment.id)
    if attachment.push_attempted:
        found = client.call("Ams/Attachments/RequestAttachments", {"RequestIds": [rid]})
        for record in mapping.as_list(found):
            stored = str(record.get("Attachment") or "") if isinstance(record, dict) else ""
            if stored.replace("\\", "/").rsplit("/", 1)[-1] == name and record.get("Id"):
                return str(record["Id"])
    value = client.call(
        "Ams/Attachments/AddRequestAttachment",
        {"RequestId": rid, "Filename": name, "Comments": _photo_comment(attachment)},
        idempotent=False,
        files={"file": (name, attachment.content, attachment.content_type)},
    )
    if not isinstance(value, dict) or value.get("Id") in (None, ""):
        raise AmbiguousError(
            "Cityworks answered AddRequestAttachment without an Id; the photo may be attached "
            "and is looked for before any retry"
        )
    return str(value["Id"])


def _photo_comment(attachment: Attachment) -> str:
    """The attachment's comment: who sent it, and the resident's own file name."""
    original = "".join(c for c in attachment.original_name if c.isprintable())[:100]
    return f"Photo sent by the resident ({original})" if original else "Photo sent by the resident"


@hookimpl
def cancel_request(integration: Integration, issue: Issue, reason: str) -> str:
    """``ServiceRequest/ById`` first (cancelled already: nothing more to do; closed, or not
    this issue's request: refused), then ``ServiceRequest/Cancel`` with the reason."""
    from .client import NOT_FOUND_CODES

    client = site_for(integration).client
    rid = mapping.request_id(issue.remote_id)
    if rid is None:
        raise DefiniteError(f"{issue.remote_id!r} is not a Cityworks request id")
    found = client.call_envelope(
        "Ams/ServiceRequest/ById", {"RequestId": rid}, accept_codes=NOT_FOUND_CODES
    ).get("Value")
    if not isinstance(found, dict):
        raise DefiniteError(f"Cityworks has no request {rid}; there is nothing to cancel")
    status = _status(found) or "?"
    if str(found.get("OtherSystemId") or "") != issue.marker:
        raise DefiniteError(
            f"request {rid} in Cityworks does not carry this issue's marker {issue.marker}; it "
            f"is not cancelled from here"
        )
    if found.get("Cancel") is True:
        return f"it was cancelled already, with status {status}"
    if found.get("IsClosed") is True:
        raise DefiniteError(
            f"request {rid} is closed in Cityworks with status {status}; a closed request is "
            f"not cancelled"
        )
    value = client.call(
        "Ams/ServiceRequest/Cancel",
        {"RequestIds": [rid], "CancelReason": reason},
        idempotent=False,
    )
    records = [r for r in mapping.as_list(value) if isinstance(r, dict)]
    after = _status(records[0]) if records else None
    return f"cancelled with status {after or status}"


@hookimpl
def capabilities(integration: Integration) -> Capabilities:
    """Cityworks writes dates as naive server-local times (the integration needs timezone),
    and cancels a request from here (``ServiceRequest/Cancel``)."""
    return Capabilities(naive_local_dates=True, remote_cancel=True)


@hookimpl
def check_connection(integration: Integration) -> str:
    """Log in afresh (a cached token would hide a password changed since)."""
    site_for(integration).client.authenticate()
    return f"logged in as {integration.user!r}"


@hookimpl
def list_statuses(integration: Integration) -> list[str]:
    """``ServiceRequest/Statuses``: the site's status codes."""
    codes = site_for(integration).client.call("Ams/ServiceRequest/Statuses", {})
    return [
        str(c["Code"]).strip()
        for c in mapping.as_list(codes)
        if isinstance(c, dict) and isinstance(c.get("Code"), str) and c["Code"].strip()
    ]


@hookimpl
def plugin_options() -> Options:
    """``version``, ``srid``, ``image_url_field`` and the rest (see :mod:`.options`)."""
    return OPTIONS


@hookimpl
def check_integration(integration: Integration) -> list[str]:
    """What the declared options cannot say: the version's form, the version/SRID rule, the
    SRID itself, the pull prefix's length, custom field templates, the user."""
    problems = []
    written = str(OPTIONS.value(integration, "version") or "")
    srid = OPTIONS.value(integration, "srid")
    version = version_tuple(written)
    if not written.strip():
        problems.append('version: missing; set the Cityworks version, e.g. version = "15.8"')
    elif not re.fullmatch(r"\d+(\.\d+){0,3}", written.strip()) or not version:
        problems.append(
            f"version: {written!r} is not a version; write it as the site's "
            f'About page does, e.g. version = "15.8" or "23.4"'
        )
    elif version >= (15, 8) and srid not in (3857, 102100):
        problems.append(f"srid: Cityworks {written} stores Web Mercator; set srid = 3857")
    try:
        from .projection import resolve_crs

        resolve_crs(int(srid))
    except Exception as exc:
        problems.append(f"srid: {exc}")
    pull = OPTIONS.value(integration, "pull_prefix")
    if not isinstance(pull, str) or not pull.strip() or len(pull) > 40:
        problems.append('pull_prefix: use a short text staff start a comment with, e.g. "To SCF:"')
    for name, template in integration.custom_fields.items():
        problem = mapping.template_problem(template)
        if problem:
            problems.append(f"custom_fields.{name}: {problem}")
    if not integration.user:
        problems.append(f"{integration.environment}.user: missing; set the Cityworks login name")
    return problems


@hookimpl
def register_commands(cli: click.Group) -> None:
    """``scf emulator cityworks``: serve the emulator for trying a config."""
    from .commands import emulator_command

    group = cli.commands.get("emulator")
    if group is not None and hasattr(group, "add_command"):
        group.add_command(emulator_command, "cityworks")


@hookimpl
def start_standin(users: Mapping[str, str]) -> StandIn:
    """The Cityworks emulator on a free loopback port, taking these logins (``scf demo``)."""
    from .standin import EmulatorStandIn

    return EmulatorStandIn(users)
