"""The emulated agency: its tokens, records, custom forms, comments and documents, what city
staff do to them, and the faults armed for the next calls.

Plain Python behind one lock, so the HTTP layer (``server.py``) stays a thin translation of
the wire format and tests can drive the same object. Where the Accela Construct v4 facts are
unsure, a switch picks the behaviour (``status_types``: whether records carry ``statusType``;
``unknown_ids``: whether a multi-id read omits an unknown id or answers 404).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from scf_plugins.testing import standins

from . import catalogue

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"  # Accela's naive agency-local dates
FAULT_KINDS = (
    "503",
    "429",
    "500",
    "html",
    "reset",
    "drop_after_commit",
    "slow",
    "expire_token",
    "emse_error",
    "deep",
)
STAFF_ACTIONS = ("close", "void", "comment", "status", "set_field", "reopen")
ACCESS_SECONDS = 15 * 60  # access tokens since 2024-05-31
REFRESH_SECONDS = 8 * 3600
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class ApiError(Exception):
    """An answer in Accela's error envelope: ``{"status", "code", "message", "traceId"}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        """The envelope, with a trace id as Accela writes them."""
        trace = f"{time.strftime('%y%m%d%H%M%S')}-{secrets.token_hex(4)}"
        return {
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "more": None,
            "traceId": trace,
        }


class TokenError(ApiError):
    """HTTP 401 for a token the API does not take (``no_token``, ``token_expired``…)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(401, code, message)


@dataclass
class Grant:
    """One access token: whose, for which app, agency and environment, and until when."""

    user: str
    app_id: str
    agency: str
    environment: str
    expires: float
    refresh: str
    refresh_expires: float


def _base36(number: int, width: int = 5) -> str:
    out = ""
    while number:
        number, digit = divmod(number, 36)
        out = _BASE36[digit] + out
    return out.rjust(width, "0")[-width:]


@dataclass
class AgencyState:
    """One agency in one Civic Platform, in memory (thread-safe behind ``lock``)."""

    users: dict[str, str] = field(default_factory=lambda: {"scf-int": "emulator"})
    apps: dict[str, str] = field(default_factory=lambda: {"scf-app": "emulator-secret"})
    agency: str = "ISLANDTON"
    environments: tuple[str, ...] = ("TEST", "PROD")
    timezone: str = "America/New_York"
    status_types: bool = True  # records carry ``statusType`` (unconfirmed in real answers)
    unknown_ids: Literal["omit", "404"] = "omit"  # a multi-id read with an unknown id
    batch: bool = True  # ``POST /v4/batch`` exists (an agency's version may lack it)
    status_reasons: tuple[str, ...] | None = None  # the reasons a client may give; None: any
    slow_seconds: float = 5.0
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.grants: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.issued: list[str] = []  # every token minted (tests look for leaks)
        self.logins: Counter[str] = Counter()  # grant_type -> how many
        self.records: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self.documents: dict[str, list[dict[str, Any]]] = {}
        self.files: dict[int, bytes] = {}  # by document id: the bytes received
        self.cancellations: dict[str, list[str]] = {}  # by record: reasons of clients' voids
        self.faults = standins.Faults(FAULT_KINDS)
        self.counts: Counter[str] = Counter()
        start = int(self.clock()) % 10_000_000  # numbers a restarted emulator did not use
        self.next_record = start
        self.next_comment = 10_000 + start
        self.next_document = 20_000 + start

    # -- time ---------------------------------------------------------------------------------

    def now(self) -> str:
        """The agency's naive local time, as Accela writes dates."""
        return datetime.fromtimestamp(self.clock(), ZoneInfo(self.timezone)).strftime(DATE_FORMAT)

    # -- faults -------------------------------------------------------------------------------

    def inject(self, kind: str, count: int = 1, match: str = "") -> None:
        """Make the next ``count`` calls whose ``METHOD /path`` contains ``match`` (any case)
        fail with ``kind``: ``503``, ``429`` or ``500`` (Accela's JSON envelope), ``html`` (a
        gateway's page), ``reset`` (drop the connection before doing anything),
        ``drop_after_commit`` (do the call, then drop the connection), ``slow`` (sleep
        ``slow_seconds`` first), ``expire_token`` (every access token expires just before this
        call), ``emse_error`` (do the call, then answer 200 with the agency script's
        ``emse_error`` beside the result), ``deep`` (do the call, then nest the answer's first
        record thousands of levels deep).

        :raises ValueError: for an unknown kind.
        """
        self.faults.arm(kind, count, match)

    def take_fault(self, call: str) -> str | None:
        """The fault for this call (``METHOD /path``), if one is armed."""
        return self.faults.take(call)

    def expire_tokens(self, refresh: bool = False) -> None:
        """Every access token stops working (``token_expired``); with ``refresh``, every
        refresh token too (their 8 hours ran out)."""
        with self.lock:
            for grant in self.grants.values():
                grant.expires = 0
                if refresh:
                    grant.refresh_expires = 0

    # -- authentication -----------------------------------------------------------------------

    def token(self, form: dict[str, str], app_header: str | None) -> dict[str, Any]:
        """``POST /oauth2/token``: the password and refresh_token grants.

        :raises ApiError: 400 ``invalid_request`` (credentials), ``unauthorized_client``
            (app) or ``invalid_grant`` (refresh token), as RFC 6749 errors.
        """
        grant_type = form.get("grant_type", "")
        app_id = form.get("client_id", "")
        with self.lock:
            self.logins[grant_type] += 1
            if self.apps.get(app_id) != form.get("client_secret") or (
                app_header and app_header != app_id
            ):
                raise ApiError(400, "unauthorized_client", "Invalid client ID or secret.")
            if grant_type == "password":
                agency = form.get("agency_name", "").upper()
                environment = form.get("environment", "")
                if self.users.get(form.get("username", "")) != form.get("password"):
                    raise ApiError(400, "invalid_request", "Invalid user name or password.")
                if agency != self.agency or environment not in self.environments:
                    raise ApiError(400, "invalid_request", "Invalid agency or environment.")
                if not form.get("scope", "").strip():
                    raise ApiError(400, "invalid_request", "scope is required.")
                return self._mint(form["username"], app_id, agency, environment)
            if grant_type == "refresh_token":
                old = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
                if old is None or old.refresh_expires <= self.clock() or old.app_id != app_id:
                    raise ApiError(400, "invalid_grant", "Invalid refresh token.")
                return self._mint(
                    old.user,
                    app_id,
                    old.agency,
                    old.environment,
                    refresh_expires=old.refresh_expires,
                )
            raise ApiError(400, "unsupported_grant_type", f"grant_type {grant_type!r}")

    def _mint(
        self,
        user: str,
        app_id: str,
        agency: str,
        environment: str,
        refresh_expires: float | None = None,
    ) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(24), "dr!" + secrets.token_urlsafe(24)
        now = self.clock()
        grant = Grant(
            user,
            app_id,
            agency,
            environment,
            now + ACCESS_SECONDS,
            refresh,
            refresh_expires if refresh_expires is not None else now + REFRESH_SECONDS,
        )
        self.grants[access] = self.refresh_tokens[refresh] = grant
        self.issued += [access, refresh]
        # expires_in as a string, as Accela's own answers and its spec have it.
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": str(ACCESS_SECONDS),
            "refresh_token": refresh,
            "scope": "records settings documents",
        }

    def authorize(self, headers: dict[str, str]) -> Grant:
        """The grant of a ``/v4`` call's ``Authorization`` (the bare token, or after
        ``Bearer``), checked against its ``x-accela-*`` headers.

        :raises TokenError: ``no_token``, ``invalid_token`` or ``token_expired``.
        """
        raw = headers.get("authorization", "").strip()
        token = raw.split(" ", 1)[1].strip() if raw.lower().startswith("bearer ") else raw
        if not token:
            raise TokenError("no_token", "Token is required.")
        with self.lock:
            grant = self.grants.get(token)
            if grant is None:
                raise TokenError("invalid_token", "Invalid token.")
            if grant.expires <= self.clock():
                raise TokenError("token_expired", "The access token has expired.")
            agency = headers.get("x-accela-agency", "").upper()
            environment = headers.get("x-accela-environment", "")
            app_id = headers.get("x-accela-appid", "")
            if (
                (agency and agency != grant.agency)
                or (environment and environment != grant.environment)
                or (app_id and app_id != grant.app_id)
            ):
                raise TokenError("invalid_token", "The token does not match the headers.")
            return grant

    # -- settings -----------------------------------------------------------------------------

    def record_types(self, module: str | None) -> list[dict[str, Any]]:
        """The agency's record types, in one module when ``module`` is given."""
        return [t for t in catalogue.TYPES if not module or t["module"] == module]

    def type_by_id(self, type_id: str) -> dict[str, Any]:
        """A record type by its ``id``.

        :raises ApiError: 404 for an id the agency does not have.
        """
        for item in catalogue.TYPES:
            if item["id"] == type_id:
                return item
        raise ApiError(404, "resource_not_found", f"Record type {type_id} not found.")

    # -- records ------------------------------------------------------------------------------

    def create(self, body: dict[str, Any], user: str) -> dict[str, Any]:
        """``POST /v4/records``: a new record of ``type.id`` (nothing else is required, as
        in Accela); custom forms in the create body are ignored, as the API documents.

        :raises ApiError: 400 for a missing or unknown type, one not createable.
        """
        wanted = _obj(body, "type")
        if not wanted.get("id"):
            raise ApiError(400, "bad_request", "type is required.")
        try:
            kind = self.type_by_id(str(wanted["id"]))
        except ApiError:
            raise ApiError(
                400, "data_validation_error", f"Invalid record type {wanted['id']}."
            ) from None
        if not kind["createable"]:
            raise ApiError(400, "data_validation_error", f"{kind['value']} is not createable.")
        with self.lock:
            self.next_record += 1
            year = time.strftime("%y", time.localtime(self.clock()))
            value = f"{year}CAP-00000-{_base36(self.next_record)}"
            rid = f"{self.agency}-{value}"
            now = self.now()
            record: dict[str, Any] = {
                "id": rid,
                "value": value,
                "serviceProviderCode": self.agency,
                "customId": f"SR{year}-{self.next_record % 100000:05d}",
                "trackingId": 250_000_000 + self.next_record,
                "module": kind["module"],
                "recordClass": "COMPLETE",
                "type": {
                    k: kind[k]
                    for k in (
                        "module",
                        "group",
                        "type",
                        "subType",
                        "category",
                        "value",
                        "id",
                        "text",
                    )
                },
                "name": str(body.get("name") or ""),
                "description": str(body.get("description") or ""),
                "shortNotes": str(body.get("shortNotes") or ""),
                "status": {"value": catalogue.OPENING_STATUS, "text": catalogue.OPENING_STATUS},
                "statusType": ["OPEN"],
                "statusDate": now,
                "openedDate": now[:10] + " 00:00:00",
                "reportedDate": now,
                "updateDate": now,
                "createdBy": user.upper(),
                "initiatedProduct": "AV360",
                "closedDate": None,
                "addresses": [dict(a) for a in body.get("addresses") or [] if isinstance(a, dict)],
                "contacts": [dict(c) for c in body.get("contacts") or [] if isinstance(c, dict)],
                "customForms": [],
            }
            for key in ("reportedChannel", "priority", "reportedType", "severity"):
                if isinstance(body.get(key), dict):
                    record[key] = dict(body[key])
            self.records[rid] = record
            self.comments[rid] = []
            self.documents[rid] = []
            return self.public(record)

    def public(
        self, record: dict[str, Any], expand: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        """A record as the API shows it: ``customForms``, ``addresses`` and ``contacts`` only
        when expanded, ``statusType`` only where the agency's answers carry it."""
        out = {
            k: v
            for k, v in record.items()
            if k not in ("customForms", "addresses", "contacts") or k in expand
        }
        if not self.status_types:
            out.pop("statusType", None)
        if out.get("closedDate") is None:
            out.pop("closedDate", None)
        return out

    def record(self, rid: str) -> dict[str, Any]:
        """A record by id (the agency-prefixed one, or its ``value``).

        :raises ApiError: 404 ``resource_not_found``.
        """
        with self.lock:
            found = self.records.get(rid) or self.records.get(f"{self.agency}-{rid}")
            if found is None:
                raise ApiError(404, "resource_not_found", f"Record {rid} not found.")
            return found

    def read(self, ids: list[str], expand: frozenset[str]) -> list[dict[str, Any]]:
        """``GET /v4/records/{ids}``: the records found, in the server's order (newest first,
        not the order asked); an unknown id is left out, or fails the call (``unknown_ids``).

        :raises ApiError: 404 when no id is known, or any is unknown under ``"404"``.
        """
        with self.lock:
            found = [self.records[i] for i in sorted(set(ids), reverse=True) if i in self.records]
            if not found or (self.unknown_ids == "404" and len(found) < len(set(ids))):
                raise ApiError(404, "resource_not_found", "Record not found.")
            return [self.public(r, expand) for r in found]

    def put_forms(self, rid: str, forms: Any) -> list[dict[str, Any]]:
        """``PUT /v4/records/{id}/customForms``: set field values, form by form; a result per
        form (``resultModel``).

        :raises ApiError: 400 for a form or field the record type lacks, or a value its field
            type refuses.
        """
        record = self.record(rid)
        known = {f["id"]: f for f in catalogue.forms_of(record["type"]["value"])}
        if not isinstance(forms, list):
            raise ApiError(400, "bad_request", "The body must be an array of custom forms.")
        with self.lock:
            results = []
            for form in forms:
                form_id = str(form.get("id", "")) if isinstance(form, dict) else ""
                if form_id not in known:
                    raise ApiError(
                        400,
                        "data_validation_error",
                        f"SubGroup :{form_id} Can not found custom form setting on request record.",
                    )
                fields = {f["id"]: f for f in known[form_id]["fields"]}
                values = {k: v for k, v in form.items() if k != "id"}
                for name, value in values.items():
                    problem = _field_problem(fields.get(name), value)
                    if problem:
                        raise ApiError(
                            400,
                            "data_validation_error",
                            f"SubGroup :{form_id.split('-', 1)[-1]},field :{name} {problem}",
                        )
                stored = next((f for f in record["customForms"] if f["id"] == form_id), None)
                if stored is None:
                    stored = {"id": form_id}
                    record["customForms"].append(stored)
                stored.update(values)
                results.append({"id": form_id, "isSuccess": True})
            record["updateDate"] = self.now()
            return results

    def update(self, rid: str, body: dict[str, Any]) -> dict[str, Any]:
        """``PUT /v4/records/{id}``: the client's change of ``status`` (with
        ``statusReason``), ``name``, ``description``, ``shortNotes``, ``priority``."""
        record = self.record(rid)
        with self.lock:
            status = _obj(body, "status")
            if status and status.get("value"):
                value = str(status["value"])
                reason = str(_obj(body, "statusReason").get("value") or "")
                if reason and self.status_reasons is not None and reason not in self.status_reasons:
                    raise ApiError(400, "data_validation_error", f"Invalid status reason {reason}.")
                kind = catalogue.status_type(value) or "OPEN"
                self._status(record, value, kind, reason)
                if kind == "VOID":
                    self.cancellations.setdefault(record["id"], []).append(reason)
            for key in ("name", "description", "shortNotes"):
                if isinstance(body.get(key), str):
                    record[key] = body[key]
            if isinstance(body.get("priority"), dict):
                record["priority"] = dict(body["priority"])
            record["updateDate"] = self.now()
            return self.public(record)

    def _status(self, record: dict[str, Any], value: str, kind: str, reason: str = "") -> None:
        now = self.now()
        record["status"] = {"value": value, "text": value}
        record["statusType"] = [kind]
        record["statusDate"] = now
        record["closedDate"] = now if kind in ("CLOSED", "COMPLETE") else None
        if reason:
            record["statusReason"] = {"value": reason, "text": reason}
        else:
            record.pop("statusReason", None)
        record["updateDate"] = now

    def search(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """``POST /v4/search/records``: criteria ANDed (``shortNotes``, ``customId``,
        ``name`` with ``%`` as a wildcard; ``module``, ``type``, ``status``,
        ``openedDateFrom``/``To``, ``updateDateFrom``/``To``), oldest first."""
        import fnmatch

        def like(pattern: Any, value: Any) -> bool:
            text = str(pattern).replace("[", "[[]").replace("*", "[*]").replace("%", "*")
            return fnmatch.fnmatchcase(str(value or "").lower(), text.lower())

        with self.lock:
            out = []
            for record in self.records.values():
                if any(
                    key in body and not like(body[key], record.get(key))
                    for key in ("shortNotes", "customId", "name")
                ):
                    continue
                if body.get("module") and record["module"] != body["module"]:
                    continue
                wanted = _obj(body, "type")
                if wanted.get("id") and record["type"]["id"] != wanted["id"]:
                    continue
                status = _obj(body, "status")
                if status.get("value") and record["status"]["value"] != status["value"]:
                    continue
                if not _within(record["openedDate"], body, "openedDate") or not _within(
                    record["updateDate"], body, "updateDate"
                ):
                    continue
                out.append(self.public(record))
            return out

    # -- comments and documents ---------------------------------------------------------------

    def comments_of(self, rid: str) -> list[dict[str, Any]]:
        """``GET /v4/records/{id}/comments``: oldest first."""
        record = self.record(rid)
        with self.lock:
            return [dict(c) for c in self.comments[record["id"]]]

    def add_comments(self, rid: str, items: Any, user: str) -> list[dict[str, Any]]:
        """``POST /v4/records/{id}/comments``: an array of ``{text, displayOnInspection}``;
        a result per comment."""
        record = self.record(rid)
        if not isinstance(items, list) or not items:
            raise ApiError(400, "bad_request", "The body must be an array of comments.")
        results: list[dict[str, Any]] = []
        for item in items:
            text = item.get("text") if isinstance(item, dict) else None
            if not isinstance(text, str) or not text.strip():
                results.append(
                    {
                        "isSuccess": False,
                        "code": "data_validation_error",
                        "message": "text is required.",
                    }
                )
                continue
            display = str(item.get("displayOnInspection") or "N")
            results.append(
                {"id": self._comment(record, text, user.upper(), display), "isSuccess": True}
            )
        return results

    def _comment(self, record: dict[str, Any], text: str, author: str, display: str = "N") -> int:
        with self.lock:
            self.next_comment += 1
            self.comments[record["id"]].append(
                {
                    "id": self.next_comment,
                    "text": text,
                    "displayOnInspection": display,
                    "createdBy": author,
                    "createdDate": self.now(),
                    "recordId": {
                        k: record[k]
                        for k in ("id", "serviceProviderCode", "trackingId", "value", "customId")
                    },
                }
            )
            record["updateDate"] = self.now()
            return self.next_comment

    def documents_of(self, rid: str) -> list[dict[str, Any]]:
        """``GET /v4/records/{id}/documents``."""
        record = self.record(rid)
        with self.lock:
            return [dict(d) for d in self.documents[record["id"]]]

    def add_documents(
        self,
        rid: str,
        files: list[tuple[str, str, bytes]],
        info: Any,
        user: str,
        group: str = "",
        category: str = "",
    ) -> list[dict[str, Any]]:
        """``POST /v4/records/{id}/documents``: ``files`` as ``(file name, type, bytes)`` in
        the order of ``info`` (the ``fileInfo`` array); a result per file."""
        record = self.record(rid)
        if not files:
            raise ApiError(400, "bad_request", "uploadedFile is required.")
        infos = info if isinstance(info, list) else []
        results = []
        with self.lock:
            for index, (name, ctype, content) in enumerate(files):
                meta = infos[index] if index < len(infos) and isinstance(infos[index], dict) else {}
                self.next_document += 1
                self.documents[record["id"]].append(
                    {
                        "id": self.next_document,
                        "fileName": str(meta.get("fileName") or name),
                        "type": str(meta.get("type") or ctype),
                        "size": len(content),
                        "description": str(meta.get("description") or ""),
                        "category": {"value": category, "text": category},
                        "group": {"value": group, "text": group},
                        "uploadedBy": user.upper(),
                        "uploadedDate": self.now(),
                        "serviceProviderCode": self.agency,
                        "entityId": record["id"],
                        "entityType": "CAP",
                        "source": "ADS",
                    }
                )
                self.files[self.next_document] = content
                results.append({"id": self.next_document, "isSuccess": True})
            record["updateDate"] = self.now()
        return results

    # -- city staff ---------------------------------------------------------------------------

    def staff(self, action: str, rid: str, **kwargs: Any) -> dict[str, Any]:
        """Play city staff on a record: ``close`` (``status``: a closed value, default
        ``Closed``), ``void`` (``status``, default ``Void``; ``reason``), ``comment``
        (``text``), ``status`` (any ``status`` value, typed as the agency configures it, or
        OPEN), ``set_field`` (``field``, ``value``: a top-level field), ``reopen``.

        :raises KeyError: for an unknown record; ValueError for an unknown action.
        """
        try:
            record = self.record(rid)
        except ApiError:
            raise KeyError(f"no record {rid}") from None
        with self.lock:
            status = str(kwargs.get("status") or "")
            if action == "close":
                kind = catalogue.status_type(status or "Closed")
                self._status(
                    record, status or "Closed", kind if kind in ("CLOSED", "COMPLETE") else "CLOSED"
                )
            elif action == "void":
                self._status(record, status or "Void", "VOID", str(kwargs.get("reason") or ""))
            elif action == "status":
                self._status(record, status, catalogue.status_type(status) or "OPEN")
            elif action == "reopen":
                self._status(record, "Received", "OPEN")
            elif action == "set_field":
                record[str(kwargs["field"])] = kwargs["value"]
                record["updateDate"] = self.now()
            elif action == "comment":
                self._comment(record, str(kwargs["text"]), str(kwargs.get("author") or "JSMITH"))
            else:
                raise ValueError(
                    f"unknown staff action {action!r}; use one of {', '.join(STAFF_ACTIONS)}"
                )
            return self.public(record)

    def with_marker(self, marker: str) -> int:
        """How many records carry ``marker`` in ``shortNotes``."""
        with self.lock:
            return sum(1 for r in self.records.values() if r["shortNotes"] == marker)


def _obj(body: dict[str, Any], key: str) -> dict[str, Any]:
    """A value object of a body (``{"value": …}``), or an empty one."""
    found = body.get(key)
    return found if isinstance(found, dict) else {}


def _field_problem(spec: dict[str, Any] | None, value: Any) -> str | None:
    """Why a custom-form value is refused (None: it is taken), by the field's type."""
    import re

    if spec is None:
        return "Can not found custom form setting on request record."
    text = "" if value is None else str(value)
    kind = spec["fieldType"]
    if text == "":
        return None  # clearing a field is allowed; Accela enforces no required field
    if kind == "Date" and not re.fullmatch(r"\d{2}/\d{2}/\d{4}", text):
        return f"{text!r} is not a date (MM/dd/yyyy)."
    if kind == "Number" and not re.fullmatch(r"-?\d+(\.\d+)?", text):
        return f"{text!r} is not a number."
    if kind == "CheckBox" and text not in ("CHECKED", "UNCHECKED"):
        return f"{text!r} is not CHECKED or UNCHECKED."
    if kind == "Radio" and text not in ("Yes", "No"):
        return f"{text!r} is not Yes or No."
    if kind == "DropdownList" and text not in {o["value"] for o in spec["options"]}:
        return f"{text!r} is not one of its options."
    if kind == "Time" and not re.fullmatch(r"\d{1,2}:\d{2}", text):
        return f"{text!r} is not a time (hh:mm)."
    return None


def _within(value: str, body: dict[str, Any], key: str) -> bool:
    """Whether a record's date lies within the search's ``keyFrom``/``keyTo`` (ISO dates or
    Accela's own form; compared as dates of the agency's day)."""
    day = value[:10]
    low, high = body.get(f"{key}From"), body.get(f"{key}To")
    return (not low or day >= str(low)[:10]) and (not high or day <= str(high)[:10])
