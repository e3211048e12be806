"""A fake Open311 GeoReport v2 server, for trying a config and for the plugin's tests.

It serves ``/open311/v2`` on 127.0.0.1 the way real servers do, rough edges included: JSON
booleans as the strings ``"true"``/``"false"`` (as the mySociety adapter writes them), XML
with single items, a ``realtime`` and a ``batch`` service (the batch one answers a create with
a token; staff process the batch later), an ``inactive`` and a ``private`` service, every
attribute datatype, and mySociety's ``servicerequestupdates`` both ways. City staff act on it
through :class:`EmulatorState` (or ``POST /__emulator/staff``), and faults can be armed for
the next calls (``503``, ``reset``, ``drop_after_commit``, ``slow``, ``html``, ``deep``).

Its state is in memory only.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from scf_plugins.testing import Served, StandInHTTPServer, standins

FAULT_KINDS = ("503", "reset", "drop_after_commit", "slow", "html", "deep")
DEPTH = 5000  # levels the ``deep`` fault nests: past any reader's own limit
BASE = "/open311/v2"
SINGULAR = {"services": "service", "attributes": "attribute", "values": "value",
            "service_requests": "request", "errors": "error",
            "service_request_updates": "request_update"}  # fmt: skip


def _attribute(order: int, code: str, datatype: str, text: str, **more: Any) -> dict[str, Any]:
    data = {"variable": "true", "code": code, "datatype": datatype, "required": "false",
            "datatype_description": "", "order": order, "description": text}  # fmt: skip
    data.update(more)
    return data


def _values(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "name": n} for k, n in pairs]


SERVICES: list[dict[str, Any]] = [
    {"service_code": "POT", "service_name": "Pothole", "description": "A hole in the road",
     "metadata": "true", "type": "realtime", "keywords": "road,hole", "group": "highways"},
    {"service_code": "LIGHT", "service_name": "Street light out", "metadata": "true",
     "description": "A street light that is out", "type": "batch", "keywords": "",
     "group": "lighting"},
    {"service_code": "GRAF", "service_name": "Graffiti", "description": "Graffiti",
     "metadata": "false", "type": "realtime", "keywords": "", "group": ""},
    {"service_code": "ABUSE", "service_name": "Report abuse", "description": "Private",
     "metadata": "true", "type": "realtime", "keywords": "private", "group": ""},
    {"service_code": "OLD", "service_name": "Retired service", "description": "Gone",
     "metadata": "false", "type": "realtime", "keywords": "inactive", "group": ""},
]  # fmt: skip
DEFINITIONS: dict[str, list[dict[str, Any]]] = {
    "POT": [
        _attribute(1, "safety", "string", "Do not stand in the road to report.",
                   variable="false"),
        _attribute(2, "depth", "number", "How deep is it (cm)?:", required="true"),
        _attribute(3, "lane", "singlevaluelist", "Which lane?", required="true",
                   values=_values(("1", "Travel lane"), ("2", "Bike lane"), ("3", "Shoulder"))),
        _attribute(4, "hazards", "multivaluelist", "Hazards nearby",
                   values=_values(("water", "Standing water"), ("glass", "Broken glass"))),
        _attribute(5, "seen", "datetime", "When did you see it?"),
        _attribute(6, "notes", "text", "Anything else?"),
    ],
    "LIGHT": [_attribute(1, "pole", "string", "Pole number (on the tag)", required="true")],
    "ABUSE": [_attribute(1, "where", "text", "Where did it happen?")],
}  # fmt: skip


@dataclass
class EmulatorState:
    """The server's data, and what staff and faults do to it (thread-safe)."""

    api_keys: set[str] = field(default_factory=lambda: {"emulator-key"})
    xml_only: bool = False  # a server without JSON (FixMyStreet's world)
    slow_seconds: float = 2.0
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, str | None] = field(default_factory=dict)
    queued: dict[str, dict[str, Any]] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    faults: standins.Faults = field(default_factory=lambda: standins.Faults(FAULT_KINDS))
    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.RLock = field(default_factory=threading.RLock)
    next_id: int = field(default_factory=lambda: int(time.time()) % 1_000_000 * 10)

    def _id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    # -- faults --------------------------------------------------------------------------------

    def inject(self, kind: str, count: int = 1, match: str = "") -> None:
        """Fail the next ``count`` calls whose path contains ``match`` with ``kind``:
        ``503``, ``reset`` (drop before doing anything), ``drop_after_commit`` (do it, then
        drop the connection), ``slow`` (sleep ``slow_seconds`` first), ``html`` (a login page),
        ``deep`` (do it, then answer with the first record nested thousands of levels deep)."""
        self.faults.arm(kind, count, match)

    def take_fault(self, path: str) -> str | None:
        """The fault for this call, if one is armed."""
        return self.faults.take(path)

    # -- requests ------------------------------------------------------------------------------

    def create(self, form: list[tuple[str, str]]) -> dict[str, Any]:
        """Store a request (a batch service's goes to the queue); the answer item."""
        fields = dict(form)
        code = fields.get("service_code", "")
        service = next(s for s in SERVICES if s["service_code"] == code)
        attributes: dict[str, list[str]] = {}
        for key, value in form:
            match = re.fullmatch(r"attribute\[(.+?)\](\[\])?", key)
            if match:
                attributes.setdefault(match.group(1), []).append(value)
        now = _w3c(datetime.now(UTC))
        record = {
            "service_code": code, "service_name": service["service_name"], "status": "open",
            "description": fields.get("description", ""), "requested_datetime": now,
            "updated_datetime": now, "address": fields.get("address_string", ""),
            "address_id": "", "zipcode": "", "lat": fields.get("lat", ""),
            "long": fields.get("long", ""), "media_url": fields.get("media_url", ""),
            "attributes": attributes, "email": fields.get("email", ""),
        }  # fmt: skip
        with self.lock:
            if service["type"] == "batch":
                token = f"tok-{self._id()}"
                self.tokens[token] = None
                self.queued[token] = record
                return {"token": token}
            rid = self._id()
            self.requests[rid] = {"service_request_id": rid, **record}
            return {"service_request_id": rid, "service_notice": "Thank you"}

    def process_batch(self) -> list[str]:
        """The back office makes every queued request; returns their ids."""
        made = []
        with self.lock:
            for token, record in list(self.queued.items()):
                rid = self._id()
                self.requests[rid] = {"service_request_id": rid, **record}
                self.tokens[token] = rid
                del self.queued[token]
                made.append(rid)
        return made

    def staff(self, action: str, request_id: str, **kwargs: Any) -> dict[str, Any]:
        """Play city staff: ``close`` (``notes``), ``cancel`` (``notes``: a duplicate),
        ``reopen``, ``status`` (any raw ``status``), ``set_field`` (``field``, ``value``),
        ``comment`` (``text``: an update)."""
        with self.lock:
            record = self.requests.get(str(request_id))
            if record is None:
                raise KeyError(f"no request {request_id}")
            note = kwargs.get("notes") or kwargs.get("text") or ""
            if action == "close":
                self._set(record, status="closed", status_notes=note or "Fixed")
            elif action == "cancel":
                self._set(record, status="closed", status_notes=note or "Duplicate report")
            elif action == "reopen":
                self._set(record, status="open", status_notes="Reopened")
            elif action == "status":
                self._set(record, status=kwargs["status"])
            elif action == "set_field":
                self._set(record, **{kwargs["field"]: kwargs["value"]})
            elif action != "comment":
                raise ValueError(f"unknown staff action {action!r}")
            if action != "set_field":
                self._update(record, note or action, author="staff")
            return dict(record)

    def _set(self, record: dict[str, Any], **values: Any) -> None:
        record.update(values)
        record["updated_datetime"] = _w3c(datetime.now(UTC))

    def _update(self, record: dict[str, Any], text: str, author: str, client_id: str = "") -> str:
        uid = self._id()
        self.updates.append({
            "update_id": uid, "service_request_id": record["service_request_id"],
            "status": record["status"], "updated_datetime": _w3c(datetime.now(UTC)),
            "description": text, "media_url": "", "author": author, "client_id": client_id,
        })  # fmt: skip
        return uid

    def add_update(self, form: list[tuple[str, str]]) -> dict[str, Any]:
        """A client's comment (mySociety POST servicerequestupdates)."""
        fields = dict(form)
        with self.lock:
            record = self.requests.get(fields.get("service_request_id", ""))
            if record is None:
                raise KeyError("service_request_id not found")
            uid = self._update(record, fields.get("description", ""), "client",
                               fields.get("update_id", ""))  # fmt: skip
            return {"update_id": uid}

    def with_marker(self, text: str) -> int:
        """How many requests (made or queued) have ``text`` in their description."""
        with self.lock:
            records = [*self.requests.values(), *self.queued.values()]
            return sum(1 for r in records if text in r["description"])


def _w3c(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_w3c(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


class Open311Emulator(Served):
    """The emulator serving :class:`EmulatorState` on a loopback port (a context manager)."""

    def __init__(self, state: EmulatorState | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:  # fmt: skip
        self.state = state or EmulatorState()
        self.server = StandInHTTPServer((host, port), _handler(self.state), name="open311")

    @property
    def url(self) -> str:
        """The GeoReport base URL (what ``url`` in scf.toml takes)."""
        return f"{self.root}{BASE}"


def render(data: Any, fmt: str, root: str) -> bytes:
    """``data`` as GeoReport JSON, or as its XML with the list wrappers."""
    if fmt == "json":
        return json.dumps(data).encode()
    import xmltodict

    def wrap(value: Any, name: str) -> Any:
        if isinstance(value, list):
            return {SINGULAR.get(name, "item"): [wrap(v, SINGULAR.get(name, "item"))
                                                 for v in value]}  # fmt: skip
        if isinstance(value, dict):
            return {k: wrap(v, k) for k, v in value.items()}
        return "" if value is None else str(value)

    text: str = xmltodict.unparse({root: wrap(data, root)})
    return text.encode("utf-8")


def deepen(body: bytes, fmt: str, root: str) -> bytes:
    """``body`` with its first record (or its single item) holding a part nested
    :data:`DEPTH` levels deep, as no serializer would write it (it would recurse)."""
    if fmt == "json":
        nested = b'"nested": ' + b"[" * DEPTH + b"]" * DEPTH + b", "
        at = body.find(b"{") + 1  # just inside the first object
    else:
        nested = b"<nested>" * DEPTH + b"</nested>" * DEPTH
        found = body.find(f"<{SINGULAR.get(root, root)}>".encode())
        at = body.index(b">", found) + 1 if found >= 0 else 0  # just inside that element
    return body[:at] + nested + body[at:] if at > 0 else body


def _handler(state: EmulatorState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the emulator counts calls instead."""

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if parts.path.startswith("/__emulator/"):
                self._control(parts.path.rsplit("/", 1)[1], raw)
                return
            form = parse_qsl(raw.decode("utf-8", "replace") if method == "POST" else parts.query,
                             keep_blank_values=True)  # fmt: skip
            match = re.fullmatch(rf"{BASE}/(.+)\.(json|xml)", parts.path)
            if not match or (state.xml_only and match.group(2) == "json"):
                self._send(404, b"Bad extension. We support .xml and .json", "text/plain")
                return
            resource, fmt = match.groups()
            with state.lock:
                state.counts[f"{method} {resource.split('/')[0]}"] += 1
            fault = state.take_fault(resource)
            if fault == "reset":
                self.close_connection = True
                return
            if fault == "slow":
                time.sleep(state.slow_seconds)
            if fault == "503":
                self._send(503, b"busy", "text/plain")
                return
            if fault == "html":
                self._send(200, b"<html><body>Sign in</body></html>", "text/html")
                return
            status, data, root = self._route(method, resource, form)
            if fault == "drop_after_commit":
                self.close_connection = True
                return
            ctype = "application/json; charset=utf-8" if fmt == "json" else (
                "text/xml; charset=utf-8")  # fmt: skip
            body = render(data, fmt, root)
            self._send(status, deepen(body, fmt, root) if fault == "deep" else body, ctype)

        def _route(self, method: str, resource: str, form: list[tuple[str, str]]) -> Any:
            q = dict(form)
            try:
                if method == "POST" and resource in ("requests", "servicerequestupdates"):
                    if q.get("api_key") not in state.api_keys:
                        return _error(403, "Invalid api_key")
                    if resource == "servicerequestupdates":
                        return 200, [state.add_update(form)], "service_request_updates"
                    if not any(s["service_code"] == q.get("service_code") for s in SERVICES):
                        return _error(400, "service_code missing or not found")
                    if not (q.get("lat") and q.get("long")) and not q.get("address_string"):
                        return _error(400, "a location is required: lat and long")
                    problems = _attribute_problems(q["service_code"], form)
                    if problems:
                        return 400, [{"code": 400, "description": p} for p in problems], "errors"
                    return 200, [state.create(form)], "service_requests"
                if method != "GET":
                    return _error(405, "method not allowed")
                if resource == "services":
                    return 200, SERVICES, "services"
                if resource.startswith("services/"):
                    code = resource.split("/", 1)[1]
                    if code not in DEFINITIONS:
                        return _error(404, "Resource not found")
                    return 200, {"service_code": code, "attributes": DEFINITIONS[code]}, (
                        "service_definition")  # fmt: skip
                if resource.startswith("tokens/"):
                    token = resource.split("/", 1)[1]
                    with state.lock:
                        if token not in state.tokens:
                            return _error(404, "token not found")
                        rid = state.tokens[token]
                    item = {"token": token} | ({"service_request_id": rid} if rid else {})
                    return 200, [item], "service_requests"
                if resource.startswith("requests/"):
                    record = state.requests.get(resource.split("/", 1)[1])
                    return (200, [_public(record)], "service_requests") if record else _error(
                        404, "Resource not found")  # fmt: skip
                if resource == "requests":
                    return 200, _search(state, q), "service_requests"
                if resource == "servicerequestupdates":
                    return 200, _updates(state, q), "service_request_updates"
            except KeyError as exc:
                return _error(404, str(exc.args[0]))
            return _error(404, "Resource not found")

        def _control(self, action: str, raw: bytes) -> None:
            try:
                body = json.loads(raw or b"{}")
                if action == "staff":
                    kwargs = {k: v for k, v in body.items() if k not in ("action", "request_id")}
                    result: Any = state.staff(body["action"], str(body["request_id"]), **kwargs)
                elif action == "fault":
                    state.inject(body["kind"], int(body.get("count", 1)), body.get("match", ""))
                    result = {"armed": body["kind"]}
                elif action == "process_batch":
                    result = {"made": state.process_batch()}
                else:
                    raise ValueError(f"unknown control {action!r}")
            except (KeyError, ValueError, TypeError) as exc:
                self._send(400, json.dumps({"error": str(exc)}).encode(), "application/json")
                return
            self._send(200, json.dumps(result).encode(), "application/json")

    return Handler


def _attribute_problems(code: str, form: list[tuple[str, str]]) -> list[str]:
    """What the mySociety adapter refuses: a required attribute missing, a number that is not
    one, a list value that is not one of its keys."""
    given: dict[str, list[str]] = {}
    for key, value in form:
        match = re.fullmatch(r"attribute\[(.+?)\](\[\])?", key)
        if match:
            given.setdefault(match.group(1), []).append(value)
    problems = []
    for attribute in DEFINITIONS.get(code, []):
        values = [v for v in given.get(attribute["code"], []) if v != ""]
        if attribute["variable"] != "true":
            continue
        if not values:
            if attribute["required"] == "true":
                problems.append(f"attribute[{attribute['code']}] is required")
            continue
        if attribute["datatype"] == "number" and not all(
            re.fullmatch(r"-?\d+(\.\d+)?", v) for v in values
        ):
            problems.append(f"attribute[{attribute['code']}] must be a number")
        keys = {v["key"] for v in attribute.get("values", [])}
        if keys and not set(values) <= keys:
            problems.append(f"attribute[{attribute['code']}] must be one of {sorted(keys)}")
    return problems


def _error(code: int, text: str) -> tuple[int, Any, str]:
    return code, [{"code": code, "description": text}], "errors"


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in ("attributes", "email")}


def _search(state: EmulatorState, q: dict[str, str]) -> list[dict[str, Any]]:
    with state.lock:
        records = list(state.requests.values())
    if q.get("service_request_id"):
        wanted = set(q["service_request_id"].split(","))
        return [_public(r) for r in records if r["service_request_id"] in wanted]
    codes = set(filter(None, q.get("service_code", "").split(",")))
    statuses = set(filter(None, q.get("status", "").split(",")))
    end = _parse_w3c(q.get("end_date", "")) or datetime.now(UTC) + timedelta(minutes=1)
    start = _parse_w3c(q.get("start_date", "")) or end - timedelta(days=90)
    out = []
    for r in records:
        when = _parse_w3c(r["requested_datetime"])
        if (codes and r["service_code"] not in codes) or (statuses and r["status"] not in statuses):
            continue
        if when is not None and start <= when <= end:
            out.append(_public(r))
    return out[:1000]


def _updates(state: EmulatorState, q: dict[str, str]) -> list[dict[str, Any]]:
    end = _parse_w3c(q.get("end_date", "")) or datetime.now(UTC) + timedelta(minutes=1)
    start = _parse_w3c(q.get("start_date", "")) or end - timedelta(hours=2)
    with state.lock:
        items = list(state.updates)
    out = []
    for u in items:
        when = _parse_w3c(u["updated_datetime"])
        if when is not None and start <= when <= end:
            out.append({k: v for k, v in u.items() if k not in ("author", "client_id")})
    return out
