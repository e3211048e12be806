"""The Cityworks plugin: thin hook implementations over the client and the mapping.

Per-integration state (the HTTP session with its token, the projection) is built once per
integration and reused across calls and sync passes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from scf_plugins import (
    DefiniteError,
    Integration,
    Issue,
    RemoteUpdate,
    RequestType,
    Submission,
    Tracked,
    hookimpl,
)

from . import mapping
from .versions import version_tuple

if TYPE_CHECKING:
    import click

    from scf_plugins import Comment

    from .client import CityworksClient
    from .projection import Projector

log = logging.getLogger(__name__)

KNOWN_OPTIONS = {"caller_first_name", "initiated_by_app", "optional_questions", "auth",
                 "comment_prefix"}  # fmt: skip
DEFAULT_COMMENT_PREFIX = "[311] {author}: "
COMMENT_TYPE_REQUEST = 1


class _Site:
    """What one integration keeps between calls."""

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

                self._projector = Projector(self.integration.srid)
            return self._projector


_sites: dict[str, tuple[tuple[Any, ...], _Site]] = {}
_sites_lock = threading.Lock()


def _fingerprint(integration: Integration) -> tuple[Any, ...]:
    return (
        integration.url,
        integration.user,
        integration.password,
        integration.environment,
        integration.version,
        integration.srid,
        integration.timeout_seconds,
        integration.verify_tls,
        integration.max_concurrency,
        integration.options.get("auth"),
    )


def site_for(integration: Integration) -> _Site:
    """The reusable state of ``integration`` (rebuilt only when its connection settings change)."""
    key = _fingerprint(integration)
    with _sites_lock:
        entry = _sites.get(integration.name)
        if entry is None or entry[0] != key:
            if entry is not None:
                entry[1].client.close()
            entry = (key, _Site(integration))
            _sites[integration.name] = entry
        entry[1].integration = integration
        return entry[1]


def forget_sites() -> None:
    """Close every cached session (tests, and a host that reloads its config)."""
    with _sites_lock:
        for _, site in _sites.values():
            site.client.close()
        _sites.clear()


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

    Idempotent through ``OtherSystemId``: after an uncertain attempt, ``ByOtherSystemId`` first.
    """
    from .client import NOT_FOUND_CODES

    site = site_for(integration)
    if issue.submit_attempted:
        found = site.client.call_envelope(
            "Ams/ServiceRequest/ByOtherSystemId",
            {"OtherSystemId": issue.marker},
            accept_codes=NOT_FOUND_CODES,
        ).get("Value")
        if isinstance(found, dict) and found.get("RequestId") is not None:
            log.info(
                "found the request an earlier attempt created",
                extra={
                    "integration": integration.name,
                    "issue_id": issue.id,
                    "remote_id": str(found["RequestId"]),
                },
            )
            return Submission(
                remote_id=str(found["RequestId"]), created=False, status=found.get("Status")
            )
    x, y = site.projector.project(issue.lng, issue.lat)
    fields = mapping.create_fields(integration, issue, x, y)
    created = site.client.call("Ams/ServiceRequest/Create", fields, idempotent=False)
    if not isinstance(created, dict) or created.get("RequestId") is None:
        raise DefiniteError("Cityworks accepted the Create but sent no RequestId")
    return Submission(
        remote_id=str(created["RequestId"]), created=True, status=created.get("Status")
    )


@hookimpl
def poll(integration: Integration, tracked: list[Tracked]) -> list[RemoteUpdate]:
    """``ServiceRequest/ByIds`` and ``Comment/ByActivitySids`` per batch of ``poll_batch_size``."""
    site = site_for(integration)
    updates: list[RemoteUpdate] = []
    for batch in _chunks(tracked, integration.poll_batch_size):
        numeric = [t for t in batch if t.remote_id.strip().isdigit()]
        ids = [int(t.remote_id) for t in numeric]
        requests_by_id: dict[str, dict[str, Any]] = {}
        comments_by_id: dict[str, list[dict[str, Any]]] = {}
        if ids:
            asked = {str(i) for i in ids}
            answer = site.client.call("Ams/ServiceRequest/ByIds", {"RequestIds": ids})
            for request in mapping.as_list(answer):
                # Keep only what was asked for: a stray or malformed record is ignored.
                if isinstance(request, dict) and str(request.get("RequestId")) in asked:
                    requests_by_id[str(request["RequestId"])] = request
            found = [int(rid) for rid in requests_by_id]
            if found:
                raw = site.client.call(
                    "Ams/Comment/ByActivitySids",
                    {"ActivitySids": found, "ActivityType": COMMENT_TYPE_REQUEST},
                )
                if isinstance(raw, dict):
                    comments_by_id = {str(k): v for k, v in raw.items() if isinstance(v, list)}
        for t in batch:
            key = t.remote_id.strip()
            updates.append(
                mapping.update_from(
                    t, requests_by_id.get(key), comments_by_id.get(key, []), integration
                )
            )
    return updates


def _comment_text(integration: Integration, comment: Comment) -> str:
    prefix = str(integration.options.get("comment_prefix", DEFAULT_COMMENT_PREFIX))
    return prefix.replace("{author}", comment.author) + comment.text


@hookimpl
def push_comment(integration: Integration, issue: Issue, comment: Comment) -> str:
    """``Comment/Add`` (ActivityType 1); with an earlier uncertain attempt, look for it first."""
    site = site_for(integration)
    if issue.remote_id is None or not issue.remote_id.isdigit():
        raise DefiniteError(f"issue {issue.id} has no Cityworks request to comment on")
    sid = int(issue.remote_id)
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
    if not isinstance(added, dict) or added.get("CommentId") is None:
        raise DefiniteError("Cityworks accepted the comment but sent no CommentId")
    return str(added["CommentId"])


@hookimpl
def check_integration(integration: Integration) -> list[str]:
    """Version/SRID rule, the SRID itself, the plugin's own options, custom field templates."""
    problems = []
    version = version_tuple(integration.version)
    if not version:
        problems.append('version: missing; set the Cityworks version, e.g. version = "15.8"')
    elif version >= (15, 8) and integration.srid not in (3857, 102100):
        problems.append(
            f"srid: Cityworks {integration.version} stores Web Mercator; set srid = 3857"
        )
    try:
        from .projection import resolve_crs

        resolve_crs(integration.srid)
    except Exception as exc:
        problems.append(f"srid: {exc}")
    for key in integration.options:
        if key not in KNOWN_OPTIONS:
            problems.append(
                f"{key}: unknown key; the cityworks plugin knows {', '.join(sorted(KNOWN_OPTIONS))}"
            )
    auth = integration.options.get("auth", "forms")
    if auth not in ("forms", "windows"):
        problems.append(f'auth: {auth!r} is not valid; use "forms" or "windows"')
    optional = integration.options.get("optional_questions", [])
    if not isinstance(optional, list) or not all(isinstance(o, str | int) for o in optional):
        problems.append('optional_questions: use a list of question ids, or ["*"]')
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
