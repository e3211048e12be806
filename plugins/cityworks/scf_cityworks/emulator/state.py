"""The emulated Cityworks site: its data, its service methods, and the city-staff controls.

Everything here is plain Python behind one lock, so the HTTP layer (``server.py``) stays a
thin translation of the wire format, and tests can drive the same object directly.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from scf_plugins.testing import standins

from . import damage
from .catalogue import EMPLOYEES, STATUSES, seed

DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
REQUEST_FIELDS = (
    "Cancel", "CancelledBy", "CancelledBySid", "CancelReason", "ClosedBy", "ClosedBySid",
    "DateCancelled", "DateDispatchOpen", "DateDispatchTo", "DateInvtDone", "DateSubmitTo",
    "DateSubmitToOpen", "DateTimeClosed", "DateTimeInit", "Description", "Details",
    "DispatchOpenBy", "DispatchOpenBySid", "DispatchTo", "DispatchToSid", "DomainId", "Effort",
    "Excursion", "Facility_Id", "FieldInvtDone", "InitiatedBy", "InitiatedByApp",
    "InitiatedBySid", "IsClosed", "LaborCost", "Level_Id", "LockedByDesktopUser", "MapPage",
    "OtherSystemCode", "OtherSystemDesc", "OtherSystemDesc2", "OtherSystemId",
    "OtherSystemStatus", "Priority", "PrjCompleteDate", "ProbAddress", "ProbAddType",
    "ProbAptNum", "ProbCity", "ProbDistrict", "ProbLandmark", "ProblemCode", "ProblemSid",
    "ProbLocation", "ProbState", "ProbZip", "ProjectName", "ProjectPhaseId", "ProjectSid",
    "ReqCategory", "ReqCustFieldCatId", "RequestId", "Resolution", "Shop", "SRX", "SRY", "SRZ",
    "Status", "StreetName", "SubmitTo", "SubmitToEmail", "SubmitToOpenBy", "SubmitToOpenBySid",
    "SubmitToPager", "SubmitToPhone", "SubmitToSid", "TileNo", "WONeeded", "WorkOrderId",
    *(f"Text{i}" for i in range(1, 21)), *(f"Num{i}" for i in range(1, 6)),
    *(f"Date{i}" for i in range(1, 6)),
)  # fmt: skip
# Create's location names -> RequestBase names (the naming asymmetry of the API).
CREATE_RENAMES = {"Address": "ProbAddress", "City": "ProbCity", "State": "ProbState",
                  "Zip": "ProbZip", "Landmark": "ProbLandmark", "Location": "ProbLocation",
                  "AptNum": "ProbAptNum", "District": "ProbDistrict"}  # fmt: skip
UPDATE_RENAMES = {"Address": "ProbAddress"}
_NOT_SETTABLE = (
    "RequestId",
    "Status",
    "ProblemSid",
    "SubmitTo",
    "DispatchTo",
    "SubmitToSid",
    "DispatchToSid",
)


class CwFault(Exception):
    """A Cityworks application error: becomes an envelope with Status != 0."""

    def __init__(self, service: str, name: str, code: int, text: str, status: int = 1) -> None:
        super().__init__(text)
        self.service, self.name, self.code, self.text, self.status = (
            service,
            name,
            code,
            text,
            status,
        )


class Unauthorized(CwFault):
    """Status 2: the token is missing, expired or revoked."""

    def __init__(self) -> None:
        super().__init__("Authentication", "Unauthorized", 2, "Invalid or expired token", status=2)


def lower_keys(data: Any) -> dict[str, Any]:
    """The request object with lower-cased keys (the server's JSON binding ignores case)."""
    return {str(k).lower(): v for k, v in data.items()} if isinstance(data, dict) else {}


def as_bool(value: Any) -> bool:
    """JSON.NET-style coercion: ``true``, ``"true"`` and ``1`` are true."""
    return value is True or str(value).strip().lower() in ("true", "1")


def as_int(value: Any, service: str, key: str) -> int:
    """Coerce an id the way the server binder does, or fail with InvalidField (30)."""
    try:
        if isinstance(value, bool):
            raise ValueError
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise CwFault(service, "InvalidField", 30, f"{key} must be a number") from None


def as_ints(value: Any, service: str, key: str) -> list[int]:
    """A list of ids (a single id is accepted as a list of one)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [as_int(v, service, key) for v in items]


_EPOCH = datetime(2024, 1, 1, tzinfo=UTC).timestamp()


def clock_id() -> int:
    """Tenths of a second since 2024: where a new emulator starts numbering requests and
    comments. Ids stay unique across restarts unless the last run created more than ten a
    second on average (its ids then ran ahead of the clock) and restarts within that lead.
    The numbers fit Cityworks' 32-bit ids until late 2030."""
    return int((time.time() - _EPOCH) * 10)


FAULT_KINDS = ("503", "html", "malformed", "reset", "drop_after_commit", "slow", "expire_token",
               "not_found", "garble", "duplicate", *damage.KINDS)  # fmt: skip


@dataclass
class EmulatorState:
    """One Cityworks site, in memory."""

    users: dict[str, str] = field(default_factory=lambda: {"scf-int": "emulator"})
    timezone: str = "America/New_York"
    version: str = "15.8.3"
    header_token_only: bool = False
    latency: float = 0.0
    slow_seconds: float = 5.0
    search_cap: int = 5000
    first_request_id: int | None = None  # None: from the clock (see clock_id)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.problems, self.qa = seed()
        self.requests: dict[int, dict[str, Any]] = {}
        self.answers: dict[int, list[dict[str, Any]]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.calls: list[dict[str, Any]] = []
        self.customer_calls: dict[int, list[dict[str, Any]]] = {}
        self.attachments: dict[int, list[dict[str, Any]]] = {}  # by request: the records
        self.attachment_files: dict[int, bytes] = {}  # by attachment id: the bytes received
        self.cancellations: dict[int, list[str]] = {}  # by request: each Cancel's reason
        self.next_attachment_id = 7001
        self.tokens: dict[str, str] = {}
        self.issued: list[str] = []  # every token ever minted (tests look for leaks)
        self.faults = standins.Faults(FAULT_KINDS)
        self.counts: Counter[str] = Counter()
        self.next_request_id = self.first_request_id or clock_id()
        self.next_comment_id = clock_id()
        self.next_incident = 240001
        self._signing_key = secrets.token_bytes(16)

    # -- time -------------------------------------------------------------------------------

    def now(self) -> str:
        """The server's naive local time, as Cityworks writes dates."""
        return datetime.now(ZoneInfo(self.timezone)).strftime(DATE_FORMAT)

    # -- faults -----------------------------------------------------------------------------

    def inject(self, kind: str, count: int = 1, match: str = "") -> None:
        """Make the next ``count`` calls whose path contains ``match`` fail with ``kind``.

        Kinds: ``503``, ``html`` (an IIS login redirect page), ``malformed`` (cut-off JSON),
        ``reset`` (drop the connection before doing anything), ``drop_after_commit`` (do the
        call, then drop the connection), ``slow`` (sleep ``slow_seconds`` first, then do the call),
        ``expire_token`` (every token stops working just before this call), ``not_found``
        (HTTP 404, as a site without that endpoint answers), ``garble`` (do the call, then
        answer with an unreadable ``RequestId`` and a ``Status`` that is not text),
        ``duplicate`` (do the call, then send a list answer's first record twice),
        ``surrogate`` and ``deep`` (do the call, then damage the answer's first record: a lone
        surrogate in its text, or its text nested thousands of levels deep; see
        :mod:`.damage`).
        """
        self.faults.arm(kind, count, match)

    def take_fault(self, path: str) -> str | None:
        """The fault to apply to this call, if any (each fault is used ``count`` times)."""
        return self.faults.take(path)

    def clear_faults(self) -> None:
        """Remove every pending fault."""
        self.faults.clear()

    def expire_tokens(self) -> None:
        """Invalidate every token issued so far (clients get Status 2 next)."""
        with self.lock:
            self.tokens.clear()

    # -- authentication ---------------------------------------------------------------------

    def _mint(self, login: str) -> str:
        sid = 330
        body = {
            "EmployeeSid": sid,
            "Expires": None,
            "IssuedTime": int(datetime.now().timestamp() * 1000),
            "LoginName": login,
        }
        signature = hashlib.sha256(self._signing_key + json.dumps(body).encode()).hexdigest()
        body.update({"Signature": signature[:32], "Token": secrets.token_hex(16)})
        token = base64.b64encode(json.dumps(body, separators=(",", ":")).encode()).decode()
        self.tokens[token] = login
        self.issued.append(token)
        return token

    def authenticate(self, data: dict[str, Any]) -> dict[str, Any]:
        """``General/Authentication/Authenticate``: a token for a known login and password."""
        d = lower_keys(data)
        login, password = str(d.get("loginname") or ""), str(d.get("password") or "")
        with self.lock:
            if login not in self.users:
                raise CwFault(
                    "Authentication",
                    "EmployeeNotFoundByLoginName",
                    2,
                    "Employee not found by login name",
                    status=3,
                )
            if not secrets.compare_digest(self.users[login].encode(), password.encode()):
                raise CwFault(
                    "Authentication", "InvalidCredentials", 4, "Invalid credentials", status=3
                )
            return {"Token": self._mint(login)}

    def user_for(self, token: str | None) -> str:
        """The login behind ``token``, or Unauthorized (Status 2)."""
        with self.lock:
            if not token or token not in self.tokens:
                raise Unauthorized()
            return self.tokens[token]

    # -- the catalogue ----------------------------------------------------------------------

    def problem(self, sid: int) -> dict[str, Any]:
        """A problem leaf by ProblemSid, or ErrorItemNotFound (35)."""
        for p in self.problems:
            if p["ProblemSid"] == sid:
                return p
        raise CwFault("ServiceRequest", "ErrorItemNotFound", 35, f"Problem {sid} not found")

    def list_problems(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        """``ServiceRequest/Problems``: ``ProblemName[]``, filtered as asked."""
        d = lower_keys(data)
        public, active = as_bool(d.get("forpubliconly")), as_bool(d.get("onlyactivetemplates"))
        domains = set(as_ints(d.get("domainids"), "ServiceRequest", "DomainIds"))
        if d.get("domainid") not in (None, ""):
            domains.add(as_int(d["domainid"], "ServiceRequest", "DomainId"))
        keys = (
            "ProblemSid",
            "DomainId",
            "ProblemCode",
            "Description",
            "OtherSysCode",
            "OtherSysDesc1",
            "OtherSysDesc2",
        )
        return [
            {k: p[k] for k in keys}
            for p in self.problems
            if (not public or p["ForPublicSite"])
            and (not active or p["Active"])
            and (not domains or p["DomainId"] in domains)
        ]

    def problem_qa(self, sid: int) -> dict[str, Any]:
        """``ProblemQA`` of one problem."""
        self.problem(sid)
        return copy.deepcopy(
            self.qa.get(
                sid, {"ProblemSid": sid, "BranchingModel": False, "Questions": [], "Answers": []}
            )
        )

    # -- service requests -------------------------------------------------------------------

    def _request(self, rid: int, service: str = "ServiceRequest") -> dict[str, Any]:
        if rid not in self.requests:
            raise CwFault(service, "InvalidRequestId", 2, f"Request {rid} not found")
        return self.requests[rid]

    def create(self, data: dict[str, Any], login: str) -> dict[str, Any]:
        """``ServiceRequest/Create``: stores a ``RequestBase`` (and a CustomerCall for callers)."""
        d = lower_keys(data)
        if d.get("problemsid") in (None, ""):
            raise CwFault("ServiceRequest", "ErrorRequiredFields", 33, "ProblemSid is required")
        sid = as_int(d["problemsid"], "ServiceRequest", "ProblemSid")
        problem = self.problem(sid)
        if not problem.get("Active", True):
            raise CwFault("ServiceRequest", "ErrorItemNotFound", 35, "Problem is not active")
        answers = self._answers_for(sid, d.get("answers"))
        x, y = self._xy(d)
        with self.lock:
            rid = self._next_id()
            record: dict[str, Any] = dict.fromkeys(REQUEST_FIELDS)
            record.update({
                "RequestId": rid, "ProblemSid": sid, "ProblemCode": problem["ProblemCode"],
                "Description": problem["Description"], "DomainId": problem["DomainId"],
                "Status": "OPEN", "IsClosed": False, "Cancel": False,
                "DateTimeInit": self.now(), "InitiatedBy": login.upper(), "InitiatedBySid": 330,
                "SubmitTo": EMPLOYEES.get(problem["SubmitTo"], ""),
                "SubmitToSid": problem["SubmitTo"], "DispatchTo": "", "DispatchToSid": 0,
                "Priority": problem["Priority"], "ReqCategory": problem["ProbCategory"],
                "SRX": x, "SRY": y, "SRZ": 0, "Resolution": "", "WONeeded": False,
            })  # fmt: skip
            original = {str(k): v for k, v in data.items()}
            for key, value in original.items():
                canonical = next((f for f in REQUEST_FIELDS if f.lower() == key.lower()), None)
                renamed = next(
                    (v for k, v in CREATE_RENAMES.items() if k.lower() == key.lower()), None
                )
                target = renamed or canonical
                if target and target not in _NOT_SETTABLE and value is not None:
                    record[target] = value
            for name in ("SubmitTo", "DispatchTo"):
                self._assign_employee(record, name, d.get(name.lower()))
            self.requests[rid] = record
            self.answers[rid] = answers
            callers = {k: v for k, v in original.items() if k.lower().startswith("caller")}
            if callers:
                self.customer_calls.setdefault(rid, []).append(
                    {
                        "RequestId": rid,
                        "IncidentNum": self.next_incident,
                        **{k[len("Caller") :]: v for k, v in callers.items()},
                    }
                )
                self.next_incident += 1
            return copy.deepcopy(record)

    def seed(self, count: int, problem_sid: int = 101, prefix: str = "seed-") -> list[int]:
        """Create ``count`` open requests at once (for benchmarks); returns their ids."""
        problem = self.problem(problem_sid)
        template: dict[str, Any] = dict.fromkeys(REQUEST_FIELDS)
        template.update({
            "ProblemSid": problem_sid, "ProblemCode": problem["ProblemCode"],
            "Description": problem["Description"], "DomainId": problem["DomainId"],
            "Status": "OPEN", "IsClosed": False, "Cancel": False, "DateTimeInit": self.now(),
            "InitiatedBy": "SCF-INT", "SubmitTo": EMPLOYEES.get(problem["SubmitTo"], ""),
            "SubmitToSid": problem["SubmitTo"], "DispatchTo": "", "DispatchToSid": 0,
            "Priority": problem["Priority"], "SRX": -8118296.69, "SRY": 5057922.75, "SRZ": 0,
            "Resolution": "", "Details": "Seeded request",
        })  # fmt: skip
        with self.lock:
            first = self.next_request_id = self._clocked(self.next_request_id)
            for rid in range(first, first + count):
                self.requests[rid] = {
                    **template,
                    "RequestId": rid,
                    "OtherSystemId": f"{prefix}{rid}",
                }
            self.next_request_id += count
            return list(range(first, first + count))

    def _next_id(self) -> int:
        rid = self.next_request_id = self._clocked(self.next_request_id)
        self.next_request_id += 1
        return rid

    def _clocked(self, next_id: int) -> int:
        # Never behind the clock, so a restarted emulator never hands out an earlier number
        # (unless a test fixed the first number on purpose).
        return next_id if self.first_request_id else max(next_id, clock_id())

    def _answers_for(self, sid: int, raw: Any) -> list[dict[str, Any]]:
        if raw in (None, ""):
            return []
        if not isinstance(raw, list):
            raise CwFault("ServiceRequest", "InvalidField", 30, "Answers must be a list")
        rows = {a["AnswerId"]: a for a in self.qa.get(sid, {}).get("Answers", [])}
        out = []
        for item in raw:
            d = lower_keys(item)
            aid = as_int(d.get("answerid"), "ServiceRequest", "AnswerId")
            if aid not in rows:
                raise CwFault(
                    "ServiceRequest",
                    "InvalidField",
                    30,
                    f"AnswerId {aid} does not belong to problem {sid}",
                )
            out.append(
                {
                    "AnswerId": aid,
                    "QuestionId": rows[aid]["QuestionId"],
                    "AnswerValue": "" if d.get("answervalue") is None else str(d["answervalue"]),
                }
            )
        return out

    def _xy(self, d: dict[str, Any]) -> tuple[float | None, float | None]:
        if d.get("x") in (None, "") and d.get("y") in (None, ""):
            return None, None
        try:
            x, y = float(d.get("x")), float(d.get("y"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise CwFault("ServiceRequest", "InvalidField", 30, "X and Y must be numbers") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise CwFault("ServiceRequest", "InvalidField", 30, "X and Y must be finite")
        wkid = d.get("wkid")
        if wkid not in (None, "") and as_int(wkid, "ServiceRequest", "WKID") == 4326:
            # Stored coordinates are Web Mercator (15.8); project the lon/lat the caller sent.
            x, y = (
                x * 20037508.342789244 / 180,
                math.log(math.tan((90 + y) * math.pi / 360)) * 6378137.0,
            )
        return x, y

    def _assign_employee(self, record: dict[str, Any], name: str, value: Any) -> None:
        # Requests send SubmitTo/DispatchTo as employee ids; RequestBase holds the name.
        if value in (None, "") or not str(value).lstrip("-").isdigit() or int(value) <= 0:
            return
        sid = int(value)
        record[f"{name}Sid"] = sid
        record[name] = EMPLOYEES.get(sid, f"Employee {sid}")

    def by_ids(self, ids: list[int]) -> list[dict[str, Any]]:
        """``ServiceRequest/ByIds``: the requests that exist, in the order asked."""
        with self.lock:
            # Records hold only scalars, so a shallow copy is a full one (and 20x cheaper).
            return [dict(self.requests[i]) for i in ids if i in self.requests]

    def by_other_system_id(self, other: str) -> dict[str, Any] | None:
        """``ServiceRequest/ByOtherSystemId``: the first request carrying ``other``, or None."""
        with self.lock:
            for rid in sorted(self.requests):
                if str(self.requests[rid].get("OtherSystemId") or "") == other:
                    return copy.deepcopy(self.requests[rid])
        return None

    def search(self, data: dict[str, Any]) -> list[int]:
        """``ServiceRequest/Search``: ids only, capped like a real site."""
        d = lower_keys(data)
        wanted_ids = set(
            as_ints(d.get("requestids") or d.get("requestid"), "ServiceRequest", "RequestIds")
        )
        statuses = {str(s).upper() for s in (d.get("status") or [])}
        others = {str(s) for s in (d.get("othersystemid") or [])}
        with self.lock:
            out = [
                rid
                for rid, r in sorted(self.requests.items())
                if (not wanted_ids or rid in wanted_ids)
                and (not statuses or str(r["Status"]).upper() in statuses)
                and (not others or str(r.get("OtherSystemId")) in others)
            ]
        return out[: self.search_cap]

    def update(self, data: dict[str, Any]) -> dict[str, Any]:
        """``ServiceRequest/Update``: changes fields (``Comments`` adds a comment)."""
        d = lower_keys(data)
        rid = as_int(d.get("requestid"), "ServiceRequest", "RequestId")
        with self.lock:
            record = self._request(rid)
            for key, value in data.items():
                if key.lower() == "comments" and value:
                    self.add_comment(rid, str(value))
                    continue
                renamed = next(
                    (v for k, v in UPDATE_RENAMES.items() if k.lower() == key.lower()), None
                )
                target = renamed or next(
                    (f for f in REQUEST_FIELDS if f.lower() == key.lower()), None
                )
                if target in ("SubmitTo", "DispatchTo") and str(value).lstrip("-").isdigit():
                    self._assign_employee(record, target, value)
                elif target and target != "RequestId":
                    record[target] = value
            return copy.deepcopy(record)

    def close(
        self, ids: list[int], by: str = "Hayes, D", status: str = "CLOSED"
    ) -> list[dict[str, Any]]:
        """``ServiceRequest/Close`` (or staff closing with another closed status)."""
        with self.lock:
            for rid in ids:
                record = self._request(rid)
                record.update(
                    {
                        "Status": status,
                        "IsClosed": True,
                        "DateTimeClosed": self.now(),
                        "ClosedBy": by,
                        "ClosedBySid": 268,
                    }
                )
            return [copy.deepcopy(self.requests[rid]) for rid in ids]

    def cancel(
        self, ids: list[int], reason: str = "", status: str = "CANCEL"
    ) -> list[dict[str, Any]]:
        """``ServiceRequest/Cancel``."""
        with self.lock:
            for rid in ids:
                record = self._request(rid)
                self.cancellations.setdefault(rid, []).append(reason)
                record.update(
                    {
                        "Status": status,
                        "Cancel": True,
                        "DateCancelled": self.now(),
                        "CancelReason": reason,
                        "CancelledBy": "Hayes, D",
                        "CancelledBySid": 268,
                    }
                )
            return [copy.deepcopy(self.requests[rid]) for rid in ids]

    def reopen(self, ids: list[int]) -> list[dict[str, Any]]:
        """``ServiceRequest/Reopen`` (and ``Uncancel``)."""
        with self.lock:
            for rid in ids:
                self._request(rid).update(
                    {
                        "Status": "OPEN",
                        "IsClosed": False,
                        "Cancel": False,
                        "DateTimeClosed": None,
                        "DateCancelled": None,
                    }
                )
            return [copy.deepcopy(self.requests[rid]) for rid in ids]

    def move(self, data: dict[str, Any]) -> dict[str, Any]:
        """``ServiceRequest/Move``: new coordinates; ``GISPoint`` back."""
        d = lower_keys(data)
        rid = as_int(d.get("requestid"), "ServiceRequest", "RequestId")
        if d.get("wkid") in (None, "") and not d.get("wkt"):
            raise CwFault(
                "ServiceRequest",
                "InvalidActivityMapLogicXY",
                9,
                "Must provide well known id (WKID) or well known text (WKT)",
            )
        x, y = self._xy(d)
        with self.lock:
            self._request(rid).update({"SRX": x, "SRY": y})
        return {"X": x, "Y": y, "Z": 0, "Tag": None}

    # -- comments ---------------------------------------------------------------------------

    def add_comment(
        self, rid: int, text: str, author: str = "API, USER", author_sid: int = 330
    ) -> dict[str, Any]:
        """``Comment/Add`` for a request (ActivityType 1); also how staff comment."""
        if not str(text).strip():
            raise CwFault("Comment", "MissingComments", 3, "Comments are required")
        with self.lock:
            self._request(rid, "Comment")
            now = self.now()
            record = {
                "CommentId": self.next_comment_id,
                "ActivityType": 1,
                "ActivitySid": rid,
                "ActivityId": str(rid),
                "Comments": str(text),
                "AuthorSid": author_sid,
                "AuthorName": author,
                "DateCreated": now,
                "LastModified": now,
                "LastModifiedBySid": author_sid,
                "LastModifiedByName": author,
            }
            self.next_comment_id += 1
            self.comments.setdefault(rid, []).append(record)
            return copy.deepcopy(record)

    def update_comment(self, comment_id: int, text: str) -> dict[str, Any]:
        """``Comment/Update``."""
        with self.lock:
            for records in self.comments.values():
                for record in records:
                    if record["CommentId"] == comment_id:
                        record.update({"Comments": text, "LastModified": self.now()})
                        return copy.deepcopy(record)
        raise CwFault("Comment", "InvalidCommentId", 9, f"Comment {comment_id} not found")

    def comments_by_sids(self, sids: list[int]) -> dict[str, list[dict[str, Any]]]:
        """``Comment/ByActivitySids``: ``{ "<sid>": CommentRecord[] }``."""
        with self.lock:
            return {str(sid): [dict(c) for c in self.comments.get(sid, [])] for sid in sids}

    def comments_text(self, rid: int) -> str:
        """``ServiceRequest/Comments``: the comments as one text."""
        with self.lock:
            return "\n".join(c["Comments"] for c in self.comments.get(rid, []))

    # -- attachments ------------------------------------------------------------------------

    def add_attachment(
        self, data: dict[str, Any], files: list[tuple[str, str, bytes, str]], login: str
    ) -> dict[str, Any]:
        """``Attachments/AddRequestAttachment``: the ``file`` part stored under the request
        (as a server path, the way real sites answer ``Attachment``)."""
        d = lower_keys(data)
        rid = as_int(d.get("requestid"), "Attachments", "RequestId")
        upload = next((f for f in files if f[0] == "file"), None)
        if upload is None:
            raise CwFault("Attachments", "MissingFile", 3, "No file was uploaded")
        _, filename, content, _ = upload
        name = str(d.get("filename") or filename or "blob")
        with self.lock:
            self._request(rid, "Attachments")
            record: dict[str, Any] = {
                "Id": self.next_attachment_id,
                "RequestId": rid,
                "Attachment": f"D:\\Cityworks\\Attachments\\SR\\{rid}\\{name}",
                "AttachedBy": login,
                "AttachedBySid": 330,
                "DateTimeAttached": self.now(),
                "Comments": str(d.get("comments") or ""),
                "AttachmentType": 0,
                "Title": name,
                "Description": "",
            }
            self.next_attachment_id += 1
            self.attachments.setdefault(rid, []).append(record)
            self.attachment_files[record["Id"]] = content
            return dict(record)

    def request_attachments(self, rids: list[int]) -> list[dict[str, Any]]:
        """``Attachments/RequestAttachments``: every attachment of the requests."""
        with self.lock:
            return [dict(a) for rid in rids for a in self.attachments.get(rid, [])]

    def attachment_file(self, attachment_id: int) -> bytes:
        """The bytes received for an attachment (``DownloadRequestAttachment``)."""
        with self.lock:
            if attachment_id not in self.attachment_files:
                raise CwFault("Attachments", "ErrorItemNotFound", 35, "Attachment not found")
            return self.attachment_files[attachment_id]

    # -- city staff (the control interface) -------------------------------------------------

    def staff(self, action: str, request_id: int, **kwargs: Any) -> dict[str, Any]:
        """Play city staff on one request.

        Actions: ``status``, ``close``, ``cancel``, ``reopen``, ``set_field``, ``comment``.
        """
        actions: dict[str, Callable[..., Any]] = {
            "status": lambda status: self.update({"RequestId": request_id, "Status": status}),
            "close": lambda status="CLOSED": self.close([request_id], status=status)[0],
            "cancel": lambda status="CANCEL", reason="": self.cancel([request_id], reason, status)[
                0
            ],
            "reopen": lambda: self.reopen([request_id])[0],
            "set_field": lambda field, value: self.update({"RequestId": request_id, field: value}),
            "comment": lambda text, author="Hayes, D": self.add_comment(
                request_id, text, author, 268
            ),
        }
        if action not in actions:
            raise ValueError(f"unknown staff action {action!r}; use one of {sorted(actions)}")
        result: dict[str, Any] = actions[action](**kwargs)
        return result

    def reset(self) -> None:
        """Forget every request, comment, token, fault and counter (keep users and catalogue)."""
        with self.lock:
            self.requests.clear()
            self.answers.clear()
            self.comments.clear()
            self.customer_calls.clear()
            self.attachments.clear()
            self.attachment_files.clear()
            self.cancellations.clear()
            self.tokens.clear()
            self.faults.clear()
            self.counts.clear()

    def statuses(self) -> list[dict[str, Any]]:
        """``ServiceRequest/Statuses``: ``CodeDesc[]``."""
        return [
            {"Code": s, "CodeType": "REQSTATUS", "Description": s.title(), "IsActive": True}
            for s in STATUSES
        ]
