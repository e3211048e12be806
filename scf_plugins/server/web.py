"""The HTTP side of ``scf serve``: routing, body and rate limits, the access log, health.

Every client is untrusted: a body over the cap is refused before it is read whole, a form
that is not UTF-8 is a 400, an unknown suffix a 404, and an unexpected failure a 500 whose
body says nothing of the inside. Every refusal is in the format the path asks for
(:mod:`.refusals`); GETs are limited per address and ``/metrics`` kept to this machine or a
token (:mod:`.guards`); browser apps get CORS when configured (:mod:`.cors`). Database work
runs in Starlette's thread pool, or on SQLite the door's writer (:mod:`.report_writer`);
the event loop parses, checks reports and writes answers.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import UserError
from ..ops import telemetry
from ..ops.metrics import collector
from . import apikeys, bodies, formats, guards, report_page, unsubscribe
from .console import app as console
from .console.headers import ConsoleHeaders
from .cors import Cors
from .faults import describe_fault
from .form import Form
from .health import health, metrics_text
from .inflight import MB, InFlight
from .limits import RateLimit
from .open311 import Open311, Reply, failure
from .refusals import path_format, refusal
from .report_writer import ReportWriter

if TYPE_CHECKING:
    from datetime import datetime

    from ..config.settings import Settings
    from ..intake.images import Photo
    from ..models import NewIssue, Secret
    from ..ops.liveness import LoopAge
    from ..plugins import PluginHost
    from ..store.store import Store

log = logging.getLogger(__name__)
access = logging.getLogger("scf_plugins.server.access")

_RESOURCE = re.compile(
    r"^(?P<name>services|requests|tokens|servicerequestupdates)"
    r"(?:/(?P<arg>[^/]+?))?\.(?P<fmt>[A-Za-z0-9]+)$"
)


@dataclass
class Context:
    """What the routes share: the resources, the limits, and the engine's news."""

    open311: Open311
    settings: Settings
    store: Store
    limit: RateLimit
    wake: Callable[[], None] | None = None  # wakes the in-process submitter
    last_pass: Callable[[], datetime | None] | None = None
    loops: Callable[[], Sequence[LoopAge]] | None = None  # the in-process engine's liveness
    gauges: Any = None  # the store's gauges for /metrics
    gets: RateLimit | None = None  # GETs per client address
    metrics_token: Secret | None = None  # lets a scraper off this machine read /metrics
    host: PluginHost | None = None  # the plugins, for the console's actions
    console: Any = None  # the staff console's shared state (console.page.Console)
    writer: ReportWriter | None = None  # stores checked reports on SQLite (None: elsewhere)

    def use(self, settings: Settings) -> None:
        """Serve on ``settings`` (a reloaded config) from the next request on."""
        self.settings = self.open311.settings = settings
        self.limit.per_minute = settings.server.requests_per_minute
        if self.gets is not None:
            self.gets.per_minute = settings.server.gets_per_minute
        self.metrics_token = guards.metrics_token(settings.server)  # a reload reads it again
        if self.gauges is not None:
            self.gauges.settings = settings


def create_app(
    settings: Settings,
    host: PluginHost,
    store: Store,
    *,
    wake: Callable[[], None] | None = None,
    last_pass: Callable[[], datetime | None] | None = None,
) -> ASGIApp:
    """The ASGI app of ``scf serve``: Open311 at ``/open311``, the staff console at
    ``/console/``, ``/healthz``, the access log."""
    return build_app(settings, host, store, wake=wake, last_pass=last_pass)[0]


def build_app(
    settings: Settings,
    host: PluginHost,
    store: Store,
    *,
    wake: Callable[[], None] | None = None,
    last_pass: Callable[[], datetime | None] | None = None,
    loops: Callable[[], Sequence[LoopAge]] | None = None,
) -> tuple[ASGIApp, Context]:
    """:func:`create_app`, with the engine's liveness for ``/healthz``, and the context its
    routes share (:meth:`Context.use` gives them a reloaded config)."""
    ctx = Context(
        Open311(settings, host, store),
        settings,
        store,
        RateLimit(settings.server.requests_per_minute),
        wake,
        last_pass,
        loops,
        collector(settings, store),
        RateLimit(settings.server.gets_per_minute),
        guards.metrics_token(settings.server),
        host,
        writer=ReportWriter(store) if store.engine.dialect.name == "sqlite" else None,
    )

    async def discovery(request: Request) -> Response:
        fmt = request.path_params["fmt"]
        if fmt not in formats.FORMATS:
            return _not_found(request.url.path)
        reply = await run_in_threadpool(ctx.open311.discovery, _base_url(ctx, request))
        return _respond(fmt, reply)

    async def georeport(request: Request) -> Response:
        match = _RESOURCE.match(request.path_params["resource"])
        if match is None or match["fmt"] not in formats.FORMATS:
            return _not_found(request.url.path)
        fmt, name, arg = match["fmt"], match["name"], match["arg"]
        try:
            if request.method == "POST":
                # Refused before any body is read (the query parsed only when there is one).
                if request.scope.get("query_string") and "api_key" in request.query_params:
                    return _respond(fmt, failure(403, KEY_IN_URL))
                if name == "servicerequestupdates" and arg is None:
                    return await _post_update(ctx, request, fmt)
                if name != "requests" or arg is not None:
                    return _respond(
                        fmt,
                        failure(405, "only POST requests and POST servicerequestupdates are "
                                "accepted here"),
                    )  # fmt: skip
                return await _post_request(ctx, request, fmt)
            query = bodies.fields(request.url.query.encode("latin-1"))
            if isinstance(query, Reply):
                return _respond(fmt, query)
            wrong = _jurisdiction(ctx, query)
            if wrong:
                return _respond(fmt, wrong)
            base = _base_url(ctx, request)
            reply = await run_in_threadpool(_get, ctx, name, arg, query, base)
            return _respond(fmt, reply)
        except Exception as exc:  # the client learns nothing of the inside
            log.warning("open311 %s %s failed: %s", request.method, name, describe_fault(exc))
            return _respond(fmt, failure(500, "the server failed; try again later"))

    async def media(request: Request) -> Response:
        token = request.path_params["token"]
        found = await run_in_threadpool(ctx.store.media, token) if _TOKEN.match(token) else None
        if found is None:
            return Response("no such photo\n", 404, media_type="text/plain; charset=utf-8")
        content_type, content = found
        if content is None:  # purged: say it is gone for good, so caches and clients drop it
            return Response(
                "this photo was removed under the city's retention policy\n",
                410,
                media_type="text/plain; charset=utf-8",
            )
        return Response(content, 200, media_type=content_type, headers=MEDIA_HEADERS)

    async def healthz(request: Request) -> Response:
        # Error texts name internal hosts: for those who may read /metrics, not the public.
        errors = guards.may_read_metrics(request.scope, ctx.metrics_token)
        body, status = await run_in_threadpool(
            partial(health, errors=errors), ctx.store, ctx.last_pass, ctx.loops
        )
        return Response(orjson.dumps(body), status, media_type=formats.JSON_TYPE)

    async def metrics(request: Request) -> Response:
        if not guards.may_read_metrics(request.scope, ctx.metrics_token):
            return Response(
                "metrics are served to this machine, or with the metrics token "
                "(Authorization: Bearer …)\n",
                403,
                media_type="text/plain; charset=utf-8",
            )
        text = await run_in_threadpool(metrics_text, ctx.gauges)
        return Response(text, 200, media_type="text/plain; version=0.0.4; charset=utf-8")

    app = Starlette(
        routes=[
            Route("/open311/discovery.{fmt}", discovery, methods=["GET"]),
            Route("/open311/v2/{resource:path}", georeport, methods=["GET", "POST"]),
            Route("/media/{token}.jpg", media, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *console.routes(ctx),  # /console/: the staff console
            *unsubscribe.routes(ctx),  # /unsubscribe/{token}: a resident stops the emails
            *report_page.routes(ctx),  # /reports/{id}: a report's public page, linked in emails
        ],
        exception_handlers={404: _http_refusal, 405: _http_refusal},
    )
    assert ctx.gets is not None
    limited = guards.GetLimit(app, ctx.gets)
    budgeted = InFlight(limited, lambda: ctx.settings.server.max_inflight_body_mb * MB)
    cors = Cors(budgeted, lambda: ctx.settings.server.cors_origins)
    return AccessLog(ConsoleHeaders(cors)), ctx


def _get(ctx: Context, name: str, arg: str | None, query: Form, base: str) -> Reply:
    resources = ctx.open311
    if name == "services":
        return resources.definition(arg) if arg else resources.services()
    if name == "requests":
        return resources.request(arg, base) if arg else resources.requests(query, base=base)
    if name == "tokens":
        return resources.token(arg or "")
    if arg is None:
        return resources.updates(query)
    return failure(404, "no such resource")


async def _post_update(ctx: Context, request: Request, fmt: str) -> Response:
    """POST servicerequestupdates: size cap, then key, rate, jurisdiction, then the update
    (form fields only: an update's photos come as ``media_url``, which is not fetched)."""
    kind = request.headers.get("content-type", "application/x-www-form-urlencoded").lower()
    if not kind.startswith("application/x-www-form-urlencoded"):
        return _respond(
            fmt, failure(400, "send the update as application/x-www-form-urlencoded (UTF-8)")
        )
    cap = ctx.settings.server.max_body_kb * 1024
    body = await bodies.body(request, cap)
    if isinstance(body, Reply):
        return _respond(fmt, body)
    form = bodies.fields(body)
    if isinstance(form, Reply):
        return _respond(fmt, form)
    refused = await _admit(ctx, request, form)
    if refused is not None:
        return _respond(fmt, refused)
    reply, added = await run_in_threadpool(ctx.open311.add_update, form, request.state.api_key)
    if added and ctx.wake is not None:
        ctx.wake()  # pushed now, with the submits, not at the next poll
    return _respond(fmt, reply)


async def _known(ctx: Context, request: Request, key: str | None) -> Reply | None:
    """A multipart report's key, checked as soon as it is read, with its rate, so a key over
    its rate is answered before its photos arrive: None when valid and within its rate."""
    return await _keyed(ctx, request, key)


async def _admit(ctx: Context, request: Request, form: Form) -> Reply | None:
    """The checks every POST passes before its content is read: a valid key, the key's rate,
    and the jurisdiction. None when admitted."""
    refused = await _keyed(ctx, request, form.get("api_key"))
    return refused if refused is not None else _jurisdiction(ctx, form)


async def _keyed(ctx: Context, request: Request, key: str | None) -> Reply | None:
    """A valid key (its name kept for the access log) within its rate: None when so. A key
    whose rate this request has spent already (:func:`_known`) does not spend it again."""
    key_name = apikeys.known_owner(ctx.store, key)  # seen live this second: no thread
    if key_name is None:
        key_name = await run_in_threadpool(apikeys.checked_owner, ctx.store, key)
    if key_name is None:
        return failure(403, "api_key is missing or not valid")
    request.state.api_key = key_name
    if getattr(request.state, "rated", None) == key_name:
        return None
    request.state.rated = key_name
    wait = ctx.limit.take(key_name)
    if wait:
        return failure(
            429,
            f"too many requests for this api_key; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    return None


async def _post_request(ctx: Context, request: Request, fmt: str) -> Response:
    """POST requests: size cap, then key, rate, jurisdiction, photos, then the intake."""
    kind = request.headers.get("content-type", "application/x-www-form-urlencoded").lower()
    multipart = kind.startswith("multipart/form-data")
    if not multipart and not kind.startswith("application/x-www-form-urlencoded"):
        return _respond(
            fmt,
            failure(
                400,
                "send the report as application/x-www-form-urlencoded (UTF-8), or "
                "multipart/form-data with photos",
            ),
        )
    limits = ctx.settings.images
    cap = ctx.settings.server.max_body_kb * 1024
    if multipart:  # room for the photos an issue may have, besides the fields
        cap += limits.max_per_issue * (limits.max_bytes + 4096)
    files: list[bodies.Part] = []
    if multipart:  # streamed: an unknown key is refused before the photos arrive
        field_cap = ctx.settings.server.max_body_kb * 1024
        parsed = await bodies.multipart(
            request, limits, field_cap, cap, lambda key: _known(ctx, request, key)
        )
        if isinstance(parsed, Reply):
            return _respond(fmt, parsed)
        form, files = parsed.form, parsed.files
    else:
        body = await bodies.body(request, cap)
        if isinstance(body, Reply):
            return _respond(fmt, body)
        urlencoded = bodies.fields(body)
        if isinstance(urlencoded, Reply):
            return _respond(fmt, urlencoded)
        form = urlencoded
    try:
        refused = await _admit(ctx, request, form)
        if refused is not None:
            return _respond(fmt, refused)
        key_name = request.state.api_key
        try:  # decoding photos is CPU work: off the event loop
            photos = await run_in_threadpool(bodies.photos, files, limits) if files else []
        except UserError as exc:
            return _respond(fmt, failure(400, str(exc)))
    finally:
        for part in files:
            part.file.close()
    reply, issue_id = await _create(ctx, form, key_name, photos)
    if issue_id is not None and ctx.wake is not None:
        ctx.wake()  # submitted now, not at the next check
    return _respond(fmt, reply)


async def _create(
    ctx: Context, form: Form, key_name: str, photos: list[Photo]
) -> tuple[Reply, int | None]:
    """Check and store a report: the reply and the new issue's id (None when refused).

    On SQLite the report is checked here, on the event loop (CPU work only: no thread is
    worth its hand-over), and stored by the writer with the others waiting. It is checked in
    a thread when that may take long or wait: a detailed service area, or a report that needs
    a geocoder. On another database a thread checks and stores it, as before.
    """
    resources, writer = ctx.open311, ctx.writer
    if writer is None:
        return await run_in_threadpool(resources.create, form, key_name, photos)
    checked: NewIssue | Reply | None = None
    if resources.quick_to_check():
        if not resources.types_fresh():  # read from the store: not on the event loop
            await run_in_threadpool(resources.request_types)
        checked = resources.check(form, key_name, place=False)
    if checked is None:
        checked = await run_in_threadpool(resources.check, form, key_name)
    if isinstance(checked, Reply):
        return checked, None
    assert checked is not None  # placed by a geocoder, or refused
    issue_id = await writer.create_issue(checked, photos)
    return resources.created(issue_id), issue_id


# A key in a POST's URL is refused, not looked for in the body: URLs reach proxies' logs.
KEY_IN_URL = (
    "send api_key in the POST body (a form field), not in the URL's query string: "
    "URLs are written to logs"
)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
# A photo's URL is its only key: never guessed, so it may be cached anywhere; never sniffed.
MEDIA_HEADERS = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}


def _jurisdiction(ctx: Context, form: Form) -> Reply | None:
    """A single-jurisdiction server: another ``jurisdiction_id`` than its own is a 404;
    none (or an empty one) is fine."""
    given = form.get("jurisdiction_id")
    own = ctx.settings.server.jurisdiction_id
    if given and own and given != own:
        return failure(404, f"jurisdiction_id {given[:60]!r} not found; this is {own}")
    return None


def _respond(fmt: str, reply: Reply) -> Response:
    return Response(
        formats.render(fmt, reply.root, reply.data),
        reply.status,
        headers=dict(reply.headers),
        media_type=formats.content_type(fmt),
    )


def _not_found(path: str) -> Response:
    """A 404 for a path outside the resources: in its format when it names one."""
    if path_format(path) is None:
        return refusal(path, 404, "Bad extension. We support .xml and .json")
    return refusal(path, 404, "no such resource; see /open311/discovery.json for the endpoints")


async def _http_refusal(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 (no route) and 405 (a method the route lacks; ``Allow`` kept), in
    the format the path asks for."""
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if exc.status_code == 404:
        return _not_found(path)
    allowed = (exc.headers or {}).get("Allow", "")
    return refusal(
        path,
        exc.status_code,
        f"{request.method[:20]} is not allowed here; use {allowed}",
        exc.headers,
    )


def _base_url(ctx: Context, request: Request) -> str:
    """Where clients reach this server: ``public_url``, else the address the server is bound
    to (a loopback one: ``scf serve`` needs ``public_url`` beyond loopback). Never the
    ``Host`` header, which any client, or a cache between, could set for everyone."""
    configured = ctx.settings.server.public_url
    if configured:
        return configured
    host, port = request.scope["server"][:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class AccessLog:
    """One log line per request: method, path (never the query: it may hold an api_key),
    status, duration, and the API key's name (never the key)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request and log it once it is answered."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            state = scope.get("state") or {}
            path = logged_path(scope["path"])
            telemetry.record_request(_route(scope["path"]), status)
            access.info(
                "%s %s %s",
                scope["method"],
                path,
                status,
                extra={
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "api_key": state.get("api_key"),
                },
            )


def logged_path(path: str) -> str:
    """A path as the access log writes it: at most 200 characters, and an unsubscribe link's
    token masked (it is a capability: whoever reads the log could use it)."""
    if path.startswith(UNSUBSCRIBE):
        return UNSUBSCRIBE + "…"
    return path[:200]


UNSUBSCRIBE = "/unsubscribe/"


def _route(path: str) -> str:
    """A path as a metrics label: its resource, never an id (labels must stay few)."""
    if path.startswith("/open311/v2/"):
        match = _RESOURCE.match(path.removeprefix("/open311/v2/"))
        if match is None:
            return "open311-unknown"
        return f"open311/{match['name']}{'/{id}' if match['arg'] else ''}"
    if path.startswith("/open311/discovery"):
        return "open311/discovery"
    if path == "/console" or path.startswith("/console/"):
        return "console"
    return path if path in ("/healthz", "/metrics") else "other"
