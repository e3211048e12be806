"""The emulator's HTTP layer: the Construct API's wire format over a real loopback socket.

One server is both hosts: ``POST /oauth2/token`` (the auth host, form-encoded) and ``/v4/...``
(the API host, JSON, with ``Authorization: <token>`` and the ``x-accela-*`` headers). Answers
use Accela's envelopes: ``{"status", "result", "page"}`` on success, ``{"status", "code",
"message", "traceId"}`` (mirrored in ``x-accela-resp-*`` headers) on failure.
``/__emulator/*`` is the control interface (city staff, faults, token expiry).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from scf_plugins.testing import Served, StandInHTTPServer, multipart_parts

from .state import AgencyState, ApiError

DEPTH = 5000  # levels the ``deep`` fault nests: past any reader's own limit
GATEWAY_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"
Answer = tuple[int, Any]  # HTTP status, JSON body
Route = Callable[[AgencyState, "Call"], Any]


class Call:
    """One API call as a route sees it: the path's parts, the query, the JSON body, the caller."""

    def __init__(
        self,
        parts: tuple[str, ...],
        query: dict[str, str],
        body: Any,
        user: str,
        raw: bytes = b"",
        ctype: str = "",
    ) -> None:
        self.parts, self.query, self.body, self.user = parts, query, body, user
        self.raw, self.ctype = raw, ctype

    def expand(self) -> frozenset[str]:
        """The ``expand`` parameter's items."""
        return frozenset(filter(None, self.query.get("expand", "").split(",")))


# -- routes ------------------------------------------------------------------------------------


def _types(state: AgencyState, call: Call) -> Any:
    items = state.record_types(call.query.get("module"))
    offset, limit = int(call.query.get("offset", 0)), min(int(call.query.get("limit", 25)), 1000)
    page = items[offset : offset + limit]
    return {
        "result": page,
        "page": {"offset": offset, "limit": limit, "hasmore": offset + limit < len(items)},
    }


def _forms(state: AgencyState, call: Call) -> Any:
    from .catalogue import forms_of

    return {"result": forms_of(state.type_by_id(call.parts[0])["value"])}


def _statuses(state: AgencyState, call: Call) -> Any:
    from .catalogue import STATUSES

    state.type_by_id(call.parts[0])
    return {"result": [{"group": "SR_STATUS", "value": v, "text": v} for v in STATUSES]}


def _create(state: AgencyState, call: Call) -> Any:
    if not isinstance(call.body, dict):
        raise ApiError(400, "bad_request", "The body must be a record.")
    return {"result": state.create(call.body, call.user)}


def _read(state: AgencyState, call: Call) -> Any:
    ids = [unquote(i) for i in call.parts[0].split(",") if i]
    return {"result": state.read(ids, call.expand())}


def _update(state: AgencyState, call: Call) -> Any:
    if not isinstance(call.body, dict):
        raise ApiError(400, "bad_request", "The body must be a record.")
    return {"result": state.update(call.parts[0], call.body)}


def _put_forms(state: AgencyState, call: Call) -> Any:
    return {"result": state.put_forms(call.parts[0], call.body)}


def _comments(state: AgencyState, call: Call) -> Any:
    return {"result": state.comments_of(call.parts[0])}


def _add_comments(state: AgencyState, call: Call) -> Any:
    return {"result": state.add_comments(call.parts[0], call.body, call.user)}


def _documents(state: AgencyState, call: Call) -> Any:
    return {"result": state.documents_of(call.parts[0])}


def _add_documents(state: AgencyState, call: Call) -> Any:
    parts = multipart_parts(call.ctype, call.raw)
    files = [
        (name or "file", ctype, content)
        for field, name, ctype, content in parts
        if field == "uploadedFile"
    ]
    infos = [content for field, name, _, content in parts if field == "fileInfo" and not name]
    try:
        info = json.loads(infos[0]) if infos else []
    except ValueError:
        raise ApiError(400, "bad_request", "fileInfo is not a JSON array.") from None
    return {
        "result": state.add_documents(
            call.parts[0],
            files,
            info,
            call.user,
            call.query.get("group", ""),
            call.query.get("category", ""),
        )
    }


def _search(state: AgencyState, call: Call) -> Any:
    found = state.search(call.body if isinstance(call.body, dict) else {})
    offset, limit = int(call.query.get("offset", 0)), min(int(call.query.get("limit", 25)), 1000)
    return {
        "result": found[offset : offset + limit],
        "page": {"offset": offset, "limit": limit, "hasmore": offset + limit < len(found)},
    }


ROUTES: list[tuple[str, re.Pattern[str], Route]] = [
    ("GET", re.compile(r"/v4/settings/records/types"), _types),
    ("GET", re.compile(r"/v4/settings/records/types/([^/]+)/customForms"), _forms),
    ("GET", re.compile(r"/v4/settings/records/types/([^/]+)/statuses"), _statuses),
    ("POST", re.compile(r"/v4/records"), _create),
    ("POST", re.compile(r"/v4/search/records"), _search),
    ("GET", re.compile(r"/v4/records/([^/]+)"), _read),
    ("PUT", re.compile(r"/v4/records/([^/,]+)"), _update),
    ("PUT", re.compile(r"/v4/records/([^/,]+)/customForms"), _put_forms),
    ("GET", re.compile(r"/v4/records/([^/,]+)/comments"), _comments),
    ("POST", re.compile(r"/v4/records/([^/,]+)/comments"), _add_comments),
    ("GET", re.compile(r"/v4/records/([^/,]+)/documents"), _documents),
    ("POST", re.compile(r"/v4/records/([^/,]+)/documents"), _add_documents),
]


def route(state: AgencyState, method: str, path: str, call: Call) -> Answer:
    """The answer of one ``/v4`` call (after its token was checked)."""
    for verb, pattern, handler in ROUTES:
        match = pattern.fullmatch(path)
        if match and verb == method:
            call.parts = tuple(unquote(g) for g in match.groups())
            try:
                data = handler(state, call)
            except ApiError as exc:
                return exc.status, exc.body()
            return 200, {"status": 200, **data}
    return 404, ApiError(404, "api_not_found", f"{method} {path} is not an operation.").body()


def batch(state: AgencyState, call: Call) -> Answer:
    """``POST /v4/batch``: each ``{method, relativeUrl, body}`` answered in order, as
    ``{"status", "result"}`` or an error envelope, under the one token of the call."""
    if not isinstance(call.body, list):
        return 400, ApiError(400, "bad_request", "The body must be an array.").body()
    results = []
    for item in call.body:
        if not isinstance(item, dict) or not str(item.get("relativeUrl", "")).startswith("/v4/"):
            results.append(ApiError(400, "bad_request", "relativeUrl is required.").body())
            continue
        parts = urlsplit(str(item["relativeUrl"]))
        raw = item.get("body")
        try:
            body = json.loads(raw) if isinstance(raw, str) and raw else raw
        except ValueError:
            body = None
        sub = Call((), dict(parse_qsl(parts.query)), body, call.user)
        status, answer = route(state, str(item.get("method", "GET")).upper(), parts.path, sub)
        results.append(answer if status != 200 else {"status": 200, "result": answer.get("result")})
    return 200, {"status": 200, "result": results}


def deepen(body: bytes) -> bytes:
    """``body`` with its first record nested :data:`DEPTH` levels deep, as no serializer
    would write it."""
    at = body.find(b'"result":[{')
    at = at + len(b'"result":[{') if at >= 0 else body.find(b'"result":{') + len(b'"result":{')
    nested = b'"nested":' + b"[" * DEPTH + b"]" * DEPTH + b","
    return body[:at] + nested + body[at:] if at > 0 else body


# -- the handler -------------------------------------------------------------------------------


def handler_for(state: AgencyState) -> type[BaseHTTPRequestHandler]:
    """The request handler class serving ``state``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the emulator counts calls instead."""

        def _send(
            self,
            status: int,
            body: bytes,
            ctype: str = "application/json; charset=utf-8",
            headers: dict[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Server", "Microsoft-IIS/10.0")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data: Any, deep: bool = False) -> None:
            body = json.dumps(data, separators=(",", ":")).encode()
            headers = {}
            if isinstance(data, dict) and status >= 400:
                headers = {
                    "x-accela-resp-code": str(data.get("code", "")),
                    "x-accela-resp-message": str(data.get("message", ""))[:200],
                    "x-accela-traceId": str(data.get("traceId", "")),
                }
            self._send(status, deepen(body) if deep else body, headers=headers)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if parts.path.startswith("/__emulator/"):
                self._control(parts.path.rsplit("/", 1)[1], raw)
                return
            name = _count_name(method, parts.path)
            with state.lock:
                state.counts[name] += 1
            fault = state.take_fault(f"{method} {parts.path} ")
            if fault == "reset":
                self.close_connection = True
                return
            if fault == "slow":
                time.sleep(state.slow_seconds)
            if fault == "expire_token":
                state.expire_tokens()
            if fault in ("503", "429", "500"):
                code = int(fault)
                names = {
                    503: "service_unavailable",
                    429: "too_many_requests",
                    500: "internal_server_error",
                }
                self._json(code, ApiError(code, names[code], "Try again later.").body())
                return
            if fault == "html":
                self._send(502, GATEWAY_PAGE, "text/html")
                return
            status, data = self._answer(method, parts.path, dict(parse_qsl(parts.query)), raw)
            if fault == "drop_after_commit":
                self.close_connection = True
                return
            if fault == "emse_error" and status == 200 and isinstance(data, dict):
                data = {**data, "code": "emse_error", "message": "EMSE operation failed."}
            self._json(status, data, deep=fault == "deep" and status == 200)

        def _answer(self, method: str, path: str, query: dict[str, str], raw: bytes) -> Answer:
            headers = {k.lower(): v for k, v in self.headers.items()}
            if method == "POST" and path == "/oauth2/token":
                form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
                try:
                    return 200, state.token(form, headers.get("x-accela-appid"))
                except ApiError as exc:  # RFC 6749's shape on the token endpoint
                    return exc.status, {"error": exc.code, "error_description": exc.message}
            if not path.startswith("/v4/"):
                return 404, ApiError(404, "api_not_found", "Not an operation.").body()
            if not headers.get("authorization") and not headers.get("x-accela-appid"):
                return 400, ApiError(
                    400, "bad_request", "App ID or access token is required."
                ).body()
            try:
                grant = state.authorize(headers)
            except ApiError as exc:
                return exc.status, exc.body()
            ctype = headers.get("content-type", "")
            body: Any = None
            if raw and "json" in ctype:
                try:
                    body = json.loads(raw)
                except ValueError:
                    return 400, ApiError(400, "bad_request", "The body is not JSON.").body()
            call = Call((), query, body, grant.user, raw, ctype)
            if method == "POST" and path == "/v4/batch":
                if not state.batch:
                    return 404, ApiError(404, "api_not_found", "Not an operation.").body()
                return batch(state, call)
            return route(state, method, path, call)

        def _control(self, action: str, raw: bytes) -> None:
            try:
                body = json.loads(raw or b"{}")
                if action == "staff":
                    kwargs = {k: v for k, v in body.items() if k not in ("action", "record_id")}
                    result: Any = state.staff(body["action"], str(body["record_id"]), **kwargs)
                elif action == "fault":
                    state.inject(body["kind"], int(body.get("count", 1)), body.get("match", ""))
                    result = {"armed": body["kind"]}
                elif action == "expire_tokens":
                    state.expire_tokens(refresh=bool(body.get("refresh")))
                    result = {"expired": True}
                else:
                    raise ValueError(f"unknown control {action!r}")
            except (KeyError, ValueError, TypeError) as exc:
                self._send(400, json.dumps({"error": str(exc)}).encode())
                return
            self._send(200, json.dumps(result).encode())

    return Handler


def _count_name(method: str, path: str) -> str:
    """The operation a call counts under (ids left out): ``GET /v4/records/{ids}``."""
    if path == "/oauth2/token":
        return "POST /oauth2/token"
    named = re.sub(r"^/v4/records/[^/]+", "/v4/records/{id}", path)
    named = re.sub(r"/types/[^/]+", "/types/{id}", named)
    return f"{method} {named}"


class AccelaEmulator(Served):
    """The emulator serving an :class:`AgencyState` on a loopback port (a context manager)."""

    def __init__(
        self, state: AgencyState | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.state = state or AgencyState()
        self.server = StandInHTTPServer((host, port), handler_for(self.state), name="accela")

    @property
    def url(self) -> str:
        """The API host (a config's ``url``; ``/v4/...`` is appended) and the auth host."""
        return self.root
