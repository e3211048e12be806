"""The emulator's HTTP layer: Cityworks' wire format over a real loopback socket.

Routes ``POST|GET /{site}/Services/{Area}/{Service}/{Method}`` case-insensitively (with the
old authentication paths), reads ``data`` and ``token`` from the query or the form body
(urlencoded or multipart) and the token from ``Authorization: cityworks|bearer``, parses
``data`` leniently, and always answers HTTP 200 with the Cityworks envelope, except where a
fault was injected. ``/__emulator/*`` is the control interface (city staff and faults).
"""

from __future__ import annotations

import ast
import json
import re
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from scf_plugins.testing import Served, StandInHTTPServer, multipart_parts

from . import damage
from .state import CwFault, EmulatorState, as_bool, as_int, as_ints, lower_keys

HTML_LOGIN = (
    "<html><head><title>Object moved</title></head><body>\r\n"
    '<h2>Object moved to <a href="/Cityworks/Login.aspx?ReturnUrl=%2fCityworks">here</a>.</h2>\r\n'
    "</body></html>\r\n"
)
_ROUTE = re.compile(r"(?i)^(?P<site>.*?)/services/(?P<rest>[^?]+?)/?$")
# Paths without the General area (2015-2019 sites) still authenticate.
_ALIASES = {
    ("authentication", "authenticate"): ("general", "authentication", "authenticate"),
    ("ams", "authentication", "authenticate"): ("general", "authentication", "authenticate"),
}


def parse_data(raw: str | None) -> Any:
    """``data`` as the server's lenient binder reads it (single quotes are accepted)."""
    if raw is None or raw.strip() == "":
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        pass
    try:
        # Single-quoted JSON works against real sites; a Python literal parse covers it.
        fixed = re.sub(
            r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", re.sub(r"\bnull\b", "None", raw))
        )
        return ast.literal_eval(fixed)
    except (ValueError, SyntaxError):
        raise CwFault(
            "General", "InvalidData", 30, "The data parameter is not valid JSON"
        ) from None


def envelope(
    value: Any = None, fault: CwFault | None = None, warnings: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The Cityworks response envelope (``CoreResponseBase_<T>``)."""
    if fault is None:
        return {
            "Value": value,
            "Status": 0,
            "Message": None,
            "ErrorMessages": [],
            "WarningMessages": warnings or [],
            "SuccessMessages": [],
        }
    message = {
        "MessageType": 2,
        "Code": fault.code,
        "Service": fault.service,
        "Name": fault.name,
        "DisplayText": fault.text,
        "DebugDetails": "",
        "InnerMessage": None,
    }
    return {
        "Value": None,
        "Status": fault.status,
        "Message": fault.text,
        "ErrorMessages": [message],
        "WarningMessages": [],
        "SuccessMessages": [],
    }


def _not_found_warning(service: str) -> dict[str, Any]:
    return {
        "MessageType": 1,
        "Code": 60,
        "Service": service,
        "Name": "WarningItemNotFound",
        "DisplayText": "Item not found",
        "DebugDetails": "",
        "InnerMessage": None,
    }


class Api:
    """Maps ``(area, service, method)`` to the state's operations."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        s = state
        sr = "ServiceRequest"
        self.public: dict[tuple[str, ...], Callable[[dict[str, Any]], Any]] = {
            ("general", "authentication", "authenticate"): s.authenticate,
        }
        self.private: dict[tuple[str, ...], Callable[[dict[str, Any], str], Any]] = {
            ("general", "authentication", "validate"): lambda d, u: (
                str(lower_keys(d).get("token")) in s.tokens
            ),
            ("general", "authentication", "user"): lambda d, u: {
                "EmployeeSid": 330,
                "FullName": "API, USER",
                "LoginName": u,
                "DomainId": 1,
                "ADDomain": u.split("\\")[0] if "\\" in u else "",
                "IsWindowsIdentity": "\\" in u or "/" in u,
                "UserType": 0,
            },
            ("general", "authentication", "version"): lambda d, u: s.version,
            ("general", "token", "revokeuser"): self.revoke,
            ("ams", "servicerequest", "problems"): lambda d, u: s.list_problems(d),
            ("ams", "servicerequest", "problemleafbysid"): lambda d, u: s.problem(
                as_int(lower_keys(d).get("problemsid"), sr, "ProblemSid")
            ),
            ("ams", "servicerequest", "qa"): self.qa_one,
            ("ams", "servicerequesttemplate", "qa"): lambda d, u: [
                s.problem_qa(i)
                for i in as_ints(lower_keys(d).get("problemsids"), sr, "ProblemSids")
            ],
            ("ams", "servicerequest", "priorities"): lambda d, u: {
                str(i): [
                    {"Code": c, "CodeType": "PRIORITY", "Description": c, "IsActive": True}
                    for c in ("1", "2", "3")
                ]
                for i in as_ints(lower_keys(d).get("problemsids"), sr, "ProblemSids")
            },
            ("ams", "servicerequest", "statuses"): lambda d, u: s.statuses(),
            ("ams", "servicerequest", "defaultstatus"): lambda d, u: {
                "1": {
                    "Code": "OPEN",
                    "CodeType": "REQSTATUS",
                    "Description": "Open",
                    "IsActive": True,
                }
            },
            ("ams", "servicerequest", "create"): lambda d, u: s.create(d, u),
            ("ams", "servicerequest", "update"): lambda d, u: s.update(d),
            ("ams", "servicerequest", "byid"): self.by_id,
            ("ams", "servicerequest", "byids"): lambda d, u: s.by_ids(
                as_ints(lower_keys(d).get("requestids"), sr, "RequestIds")
            ),
            ("ams", "servicerequest", "byothersystemid"): lambda d, u: s.by_other_system_id(
                str(lower_keys(d).get("othersystemid") or "")
            ),
            ("ams", "servicerequest", "search"): lambda d, u: s.search(d),
            ("ams", "servicerequest", "close"): lambda d, u: s.close(self.ids(d)),
            ("ams", "servicerequest", "cancel"): lambda d, u: s.cancel(
                self.ids(d), str(lower_keys(d).get("cancelreason") or "")
            ),
            ("ams", "servicerequest", "reopen"): lambda d, u: s.reopen(self.ids(d)),
            ("ams", "servicerequest", "uncancel"): lambda d, u: s.reopen(self.ids(d)),
            ("ams", "servicerequest", "move"): lambda d, u: s.move(d),
            ("ams", "servicerequest", "addcomments"): lambda d, u: s.add_comment(
                as_int(lower_keys(d).get("requestid"), sr, "RequestId"),
                str(lower_keys(d).get("comments") or ""),
            )["Comments"],
            ("ams", "servicerequest", "comments"): lambda d, u: s.comments_text(
                as_int(lower_keys(d).get("requestid"), sr, "RequestId")
            ),
            ("ams", "servicerequest", "commentsbyrequestids"): lambda d, u: {
                str(i): s.comments_text(i) for i in self.ids(d)
            },
            ("ams", "comment", "add"): self.comment_add,
            ("ams", "comment", "update"): lambda d, u: s.update_comment(
                as_int(lower_keys(d).get("commentid"), "Comment", "CommentId"),
                str(lower_keys(d).get("comments") or ""),
            ),
            ("ams", "comment", "byactivitysids"): lambda d, u: s.comments_by_sids(
                as_ints(lower_keys(d).get("activitysids"), "Comment", "ActivitySids")
            ),
            ("ams", "comment", "byactivityids"): lambda d, u: s.comments_by_sids(
                as_ints(lower_keys(d).get("activityids"), "Comment", "ActivityIds")
            ),
            ("ams", "attachments", "addrequestattachment"): lambda d, u: s.add_attachment(
                d, d.pop("__files__", []), u
            ),
            ("ams", "attachments", "requestattachments"): lambda d, u: s.request_attachments(
                as_ints(lower_keys(d).get("requestids"), "Attachments", "RequestIds")
            ),
            ("ams", "customercall", "addtorequest"): self.customer_call_add,
            ("ams", "customercall", "byrequestid"): lambda d, u: s.customer_calls.get(
                as_int(lower_keys(d).get("requestid"), "CustomerCall", "RequestId"), []
            ),
            ("ams", "customercall", "byrequestids"): lambda d, u: [
                c for i in self.ids(d) for c in s.customer_calls.get(i, [])
            ],
            ("ams", "preferences", "user"): lambda d, u: {
                "SpatialReference": "3857",
                "LoginName": u,
            },
        }

    @staticmethod
    def ids(data: dict[str, Any]) -> list[int]:
        """``RequestIds`` of a batch call."""
        return as_ints(lower_keys(data).get("requestids"), "ServiceRequest", "RequestIds")

    def revoke(self, data: dict[str, Any], user: str) -> bool:
        """``General/Token/RevokeUser``: every token issued so far stops working."""
        self.state.expire_tokens()
        return True

    def qa_one(self, data: dict[str, Any], user: str) -> Any:
        """``ServiceRequest/QA``: the SDK sends ``ProblemSid``; walker sends ``ProblemSids``."""
        d = lower_keys(data)
        raw = d.get("problemsid", d.get("problemsids"))
        if isinstance(raw, list):
            raw = raw[0] if raw else None
        return self.state.problem_qa(as_int(raw, "ServiceRequest", "ProblemSid"))

    def by_id(self, data: dict[str, Any], user: str) -> Any:
        """``ServiceRequest/ById``."""
        rid = as_int(lower_keys(data).get("requestid"), "ServiceRequest", "RequestId")
        found = self.state.by_ids([rid])
        if not found:
            raise CwFault("ServiceRequest", "InvalidRequestId", 2, f"Request {rid} not found")
        return found[0]

    def comment_add(self, data: dict[str, Any], user: str) -> Any:
        """``Comment/Add`` (ActivityType 1 = Request only, in this emulator)."""
        d = lower_keys(data)
        if as_int(d.get("activitytype", 1), "Comment", "ActivityType") != 1:
            raise CwFault("Comment", "InvalidActivityId", 6, "Only ActivityType 1 is emulated")
        if d.get("activitysid") in (None, ""):
            raise CwFault("Comment", "MissingActivitySids", 14, "ActivitySid is required")
        return self.state.add_comment(
            as_int(d["activitysid"], "Comment", "ActivitySid"), str(d.get("comments") or "")
        )

    def customer_call_add(self, data: dict[str, Any], user: str) -> Any:
        """``CustomerCall/AddToRequest``."""
        d = lower_keys(data)
        rid = as_int(d.get("requestid"), "CustomerCall", "RequestId")
        with self.state.lock:
            self.state._request(rid, "CustomerCall")
            call = {
                "RequestId": rid,
                "IncidentNum": self.state.next_incident,
                **{k: v for k, v in data.items() if k.lower() != "requestid"},
            }
            self.state.next_incident += 1
            self.state.customer_calls.setdefault(rid, []).append(call)
        return call

    def dispatch(self, key: tuple[str, ...], data: Any, token: str | None) -> dict[str, Any]:
        """Run one API method; every outcome is an envelope."""
        try:
            if key in self.public:
                return envelope(self.public[key](data))
            handler = self.private.get(key)
            if handler is None:
                raise CwFault(
                    key[1] if len(key) > 1 else "General",
                    "UnknownError",
                    1,
                    f"Unknown method {'/'.join(key)}",
                )
            user = self.state.user_for(token)
            if not isinstance(data, dict):
                raise CwFault(key[1], "InvalidField", 30, "data must be a JSON object")
            value = handler(data, user)
            if key == ("ams", "servicerequest", "byothersystemid") and value is None:
                return envelope(None, warnings=[_not_found_warning("ServiceRequest")])
            if key == ("ams", "servicerequest", "byids") and len(value) < len(self.ids(data)):
                return envelope(value, warnings=[_not_found_warning("ServiceRequest")])
            return envelope(value)
        except CwFault as fault:
            return envelope(fault=fault)


class _Handler(BaseHTTPRequestHandler):
    server: EmulatorHTTPServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes: without this, Nagle's algorithm and the
    # client's delayed ACK add 40 ms to every keep-alive call.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the emulator counts calls instead of logging them."""

    def do_GET(self) -> None:
        """GET with ``data`` in the query (or, like some clients, in a form body)."""
        self._handle()

    def do_POST(self) -> None:
        """POST with a form body (urlencoded or multipart) and/or a query string."""
        self._handle()

    def _params(self) -> dict[str, str]:
        self.files: list[tuple[str, str, bytes, str]] = []
        split = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        ctype = self.headers.get("Content-Type", "")
        if body and ctype.startswith("multipart/form-data"):
            for name, filename, part_type, content in multipart_parts(ctype, body):
                if filename is None:
                    params[name] = content.decode("utf-8", "replace")
                else:  # a file part: kept for the method that takes it (uploads)
                    self.files.append((name, filename, content, part_type))
        elif body:
            params.update(
                {
                    k: v[-1]
                    for k, v in parse_qs(
                        body.decode("utf-8", "replace"), keep_blank_values=True
                    ).items()
                }
            )
        return params

    def _send(
        self, status: int, body: str | bytes, ctype: str = "application/json; charset=utf-8"
    ) -> None:
        raw = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            import socket

            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _handle(self) -> None:
        split = urlsplit(self.path)
        if split.path.startswith("/__emulator/"):
            self._control(split.path.removeprefix("/__emulator/"))
            return
        state = self.server.state
        params = self._params()
        match = _ROUTE.match(split.path)
        # IIS answers 404 for a path outside the site, as a wrong url in a config would be.
        if not match or match.group("site").lower().rstrip("/") != self.server.site.lower():
            self._send(
                404,
                "<html><body><h1>404 - File or directory not found.</h1></body></html>",
                "text/html",
            )
            return
        parts = tuple(p.lower() for p in match.group("rest").split("/") if p)
        key = _ALIASES.get(parts, parts)
        if len(key) == 2:  # 2015-style path without an area
            key = ("ams", *key)
        path = "/".join(key)
        with state.lock:
            state.counts[path] += 1
            state.calls.append({"path": path, "time": time.monotonic()})
            del state.calls[:-1000]
        if state.latency:
            time.sleep(state.latency)
        fault = state.take_fault(path)
        if fault == "reset":
            self._drop()
            return
        if fault == "503":
            self._send(
                503, "<html><body><h1>503 Service Unavailable</h1></body></html>", "text/html"
            )
            return
        if fault == "html":
            self._send(200, HTML_LOGIN, "text/html; charset=utf-8")
            return
        if fault == "not_found":
            self._send(
                404,
                "<html><body><h1>404 - File or directory not found.</h1></body></html>",
                "text/html",
            )
            return
        if fault == "slow":
            time.sleep(state.slow_seconds)
        if fault == "expire_token":
            state.expire_tokens()
        try:
            data = parse_data(params.get("data"))
        except CwFault as bad:
            self._send(200, json.dumps(envelope(fault=bad)))
            return
        token = self._token(params)
        if state.header_token_only and params.get("token") not in (None, "", "undefined", "null"):
            token = None
        if key == ("ams", "attachments", "downloadrequestattachment"):
            self._download(data, token)
            return
        if self.files and isinstance(data, dict):
            data = {**data, "__files__": self.files}
        result = self.server.api.dispatch(key, data, token)
        if fault == "drop_after_commit":
            self._drop()
            return
        value = result.get("Value")
        if fault == "garble" and isinstance(value, dict):
            value.update({"RequestId": "\u00b2", "Status": {"Code": value.get("Status")}})
        if fault == "duplicate" and isinstance(value, list) and value:
            value.insert(1, dict(value[0]))
        body = damage.dumps(result, fault)
        if fault == "malformed":
            body = body[: max(1, len(body) // 2)]
        self._send(200, body)

    def _download(self, data: Any, token: str | None) -> None:
        """``DownloadRequestAttachment``: the file's bytes, not an envelope."""
        state = self.server.state
        try:
            state.user_for(token)
            content = state.attachment_file(
                as_int(lower_keys(data).get("attachmentid"), "Attachments", "AttachmentId")
            )
        except CwFault as fault:
            self._send(200, json.dumps(envelope(fault=fault)))
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def _token(self, params: dict[str, str]) -> str | None:
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("cityworks", "bearer") and value.strip():
            return value.strip()
        token = params.get("token")
        return None if token in (None, "", "undefined", "null") else token

    def _control(self, action: str) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
            if action == "requests":
                with state.lock:
                    result: Any = list(state.requests.values())
            elif action == "counts":
                result = dict(state.counts)
            elif action == "fault":
                state.inject(body["kind"], int(body.get("count", 1)), body.get("match", ""))
                result = True
            elif action == "clear_faults":
                state.clear_faults()
                result = True
            elif action == "expire_tokens":
                state.expire_tokens()
                result = True
            elif action == "latency":
                state.latency = float(body["seconds"])
                result = True
            elif action == "seed":
                ids = state.seed(int(body["count"]), int(body.get("problem_sid", 101)))
                result = {"first": ids[0] if ids else None, "count": len(ids)}
            elif action == "reset":
                state.reset()
                result = True
            elif action == "attachments":
                result = state.request_attachments([int(body["request_id"])])
                for record in result:
                    record["Size"] = len(state.attachment_files.get(record["Id"], b""))
            elif action == "staff":
                result = state.staff(body.pop("action"), int(body.pop("request_id")), **body)
            else:
                raise ValueError(f"unknown control action {action!r}")
        except KeyError as exc:  # a field the action needs is missing: say which
            self._send(400, json.dumps({"error": f"the JSON body needs {exc.args[0]!r}"}))
            return
        except TypeError as exc:  # fields the action does not take
            self._send(400, json.dumps({"error": f"{action}: {exc}"}))
            return
        except (ValueError, CwFault) as exc:
            self._send(400, json.dumps({"error": str(exc)}))
            return
        self._send(200, json.dumps(result))


class EmulatorHTTPServer(StandInHTTPServer):
    """The stand-in server bound to one :class:`EmulatorState` (stopping it ends keep-alive
    clients too: a client's connection must not reach the old state)."""

    def __init__(
        self, address: tuple[str, int], state: EmulatorState, site: str = "/Cityworks"
    ) -> None:
        super().__init__(address, _Handler, name="cw-emulator")
        self.state = state
        self.api = Api(state)
        self.site = site.rstrip("/")


class Emulator(Served):
    """A running emulator: ``with Emulator() as cw: cw.url`` serves on a free loopback port."""

    server: EmulatorHTTPServer

    def __init__(
        self,
        state: EmulatorState | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        site: str = "/Cityworks",
    ) -> None:
        self.state = state or EmulatorState()
        self.server = EmulatorHTTPServer((host, port), self.state, site)
        self.site = site

    @property
    def url(self) -> str:
        """The AMS endpoint URL an integration config uses."""
        return f"{self.root}{self.site}/Services/AMS"


__all__ = ["Emulator", "EmulatorState", "as_bool", "envelope", "parse_data"]
