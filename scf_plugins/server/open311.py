"""The Open311 GeoReport v2 resources, apart from HTTP: each takes the parsed query or form
and returns a :class:`Reply` (status, root element, JSON-shaped data).

The mapping (also in the README): a routed request type is a service; each of its questions
an attribute; an issue a service request whose ``service_request_id`` is the issue id. A
request is ``open`` while Open or Acknowledged and ``closed`` once Closed or Archived; its
``status_notes`` is the latest system message. Nothing private (answers, the reporter's
name, email or phone) is ever part of a GET.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, select

from ..errors import RemoteError, UserError
from ..intake.images import Photo
from ..intake.reporting import LIMITS, Labels, Report, ReportError, build_issue, text_problem
from ..models import CHOICE_TYPES, Question, RequestType, Status
from ..ops.views import media_path
from ..store.tables import attachments, comments, issues, request_types
from ..timeutil import utcnow

if TYPE_CHECKING:
    from ..config.settings import Settings
    from ..plugins import PluginHost
    from ..store.store import Store

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
WINDOW = timedelta(days=90)  # the spec's longest date range, and the default one
DEFAULT_ROWS = 1000  # the spec's default cap on GET requests
MAX_IDS = 1000  # service_request_id values one GET may ask for
CUT = " […]"  # ends a description that was too long to keep whole
_W3C = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_OPEN = (Status.OPEN.value, Status.ACKNOWLEDGED.value)
_CLOSED = (Status.CLOSED.value, Status.ARCHIVED.value)
TYPES_FRESH = 5.0  # seconds the request types are used before they are read again
PUBLIC_KINDS = ("system", "remote")  # the messages a resident may read as updates

FORM_LABELS = Labels(
    summary="description",
    description="description",
    address="address_string",
    name="first_name",
    email="email",
    phone="phone",
    image_url="media_url",
    lat="lat",
    lng="long",
    answer="attribute[{qid}]",
    answer_field="attribute[{qid}]",
)


@dataclass(frozen=True)
class Reply:
    """A resource's answer: HTTP status, XML root element, and the JSON-shaped body."""

    status: int
    root: str
    data: Any
    headers: Mapping[str, str] = field(default_factory=dict)


def failure(status: int, *descriptions: str, headers: Mapping[str, str] | None = None) -> Reply:
    """An Open311 ``errors`` reply: one error per description, each with ``status`` as code."""
    body = [{"code": status, "description": text} for text in descriptions]
    return Reply(status, "errors", body, headers or {})


class Form:
    """Query or form parameters with repeated keys kept; an empty value reads as absent."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.pairs = list(pairs)
        self.values: dict[str, list[str]] = {}
        for key, value in pairs:
            self.values.setdefault(key, []).append(value)

    def get(self, key: str) -> str | None:
        """The last non-empty value of ``key`` (surrounding spaces removed), or None."""
        for value in reversed(self.values.get(key, [])):
            if value.strip():
                return value.strip()
        return None

    def words(self, key: str) -> list[str]:
        """A comma list (``status=open,closed``): its non-empty items."""
        text = self.get(key) or ""
        return [w.strip() for w in text.split(",") if w.strip()]

    def attributes(self) -> dict[str, list[str]]:
        """``attribute[c]=v``, ``attribute[c][]=v`` and repeated ``attribute[c]``, as lists
        (blank values kept: an optional list left unpicked arrives as ``""``)."""
        out: dict[str, list[str]] = {}
        for key, value in self.pairs:
            match = re.fullmatch(r"attribute\[(.+?)\](\[\])?", key)
            if match:
                out.setdefault(match.group(1), []).append(value)
        return out


class Open311:
    """The resources, over one config, plugin host and store."""

    def __init__(self, settings: Settings, host: PluginHost, store: Store) -> None:
        self.settings = settings
        self.host = host
        self.store = store
        self._types: tuple[float, dict[str, RequestType]] = (0.0, {})
        self._types_lock = threading.Lock()

    def request_types(self) -> dict[str, RequestType]:
        """The cached request types by code, read again from the store every few seconds
        (every POST needs its type; a refresh by another process shows within
        ``TYPES_FRESH`` seconds)."""
        at, types = self._types
        now = time.monotonic()
        if now - at < TYPES_FRESH:
            return types
        with self._types_lock:
            if now - self._types[0] >= TYPES_FRESH:
                self._types = (now, {rt.code: rt for rt in self.store.request_types()})
            return self._types[1]

    # -- services --------------------------------------------------------------------------

    def services_offered(self) -> list[RequestType]:
        """The routed request types, by code: those an integration of this config serves."""
        offered = [
            rt
            for rt in self.request_types().values()
            if rt.integration in self.settings.integrations
            and self.settings.owner_of(rt.code) == rt.integration
        ]
        return sorted(offered, key=lambda rt: rt.code)

    def service(self, code: str) -> RequestType | None:
        """The routed request type ``code``, or None."""
        rt = self.request_types().get(code)
        if rt is None or self.settings.owner_of(rt.code) != rt.integration:
            return None
        return rt

    def services(self) -> Reply:
        """GET services: every routed request type."""
        return Reply(200, "services", [service_json(rt) for rt in self.services_offered()])

    def definition(self, code: str) -> Reply:
        """GET services/{code}: the type's questions as attributes."""
        rt = self.service(code)
        if rt is None:
            return failure(404, f"service_code {code!r} not found; GET services lists them")
        return Reply(200, "service_definition", definition_json(rt))

    def discovery(self, base_url: str) -> Reply:
        """The discovery document: one production endpoint, both formats."""
        with self.store.read() as conn:
            changed = conn.execute(select(func.max(request_types.c.fetched_at))).scalar()
        stamp = w3c(changed) if changed else w3c(datetime(2000, 1, 1, tzinfo=UTC))
        server = self.settings.server
        return Reply(
            200,
            "discovery",
            {
                "changeset": stamp,
                "contact": server.contact or self.settings.organization.name,
                "key_service": server.key_service
                or "Ask the city's 311 administrator for an API key (scf api-keys create).",
                "endpoints": [
                    {
                        "specification": SPECIFICATION,
                        "url": f"{base_url}/open311/v2",
                        "changeset": stamp,
                        "type": "production",
                        "formats": ["text/xml", "application/json"],
                    }
                ],
            },
        )

    # -- requests: POST ----------------------------------------------------------------------

    def create(
        self, form: Form, api_key: str, photos: Sequence[Photo] = ()
    ) -> tuple[Reply, int | None]:
        """POST requests: validate with the same intake as ``scf report`` and store; returns
        the reply and the new issue's id (None when refused)."""
        code = form.get("service_code")
        if code is None:
            return failure(400, "service_code is required; GET services lists them"), None
        rt = self.service(code)
        if rt is None:
            return failure(404, f"service_code {code!r} not found; GET services lists them"), None
        problems: list[str] = []
        lat, lng = self._location(form, problems)
        description = _description(_raw(form, "description"))
        summary = description.split("\n", 1)[0].strip()[: LIMITS["summary"]].strip()
        answers = self._answers(form, rt, problems)
        name = " ".join(p for p in (form.get("first_name"), form.get("last_name")) if p) or None
        report = Report(
            request_type=rt.code,
            summary=summary or rt.name[: LIMITS["summary"]],
            lat=0.0 if lat is None else lat,
            lng=0.0 if lng is None else lng,
            description=description,
            address=form.get("address_string"),
            name=name,
            email=form.get("email"),
            phone=form.get("phone"),
            image_url=form.get("media_url"),
            answers=answers,
            reported_via=api_key,
        )
        try:
            new = build_issue(
                report,
                rt,
                self.settings.owner_of(rt.code),
                FORM_LABELS,
                area=self.settings.organization.service_area if lat is not None else None,
            )
        except ReportError as exc:
            problems.extend(p.text for p in exc.problems)
            return failure(400, *problems), None
        if problems:
            return failure(400, *problems), None
        if lat is None or lng is None:
            try:
                placed = self._place(rt, form.get("address_string") or "")
            except UserError as exc:
                return failure(400, str(exc)), None
            area = self.settings.organization.service_area
            outside = area.problem(*placed) if area is not None else None
            if outside:
                return failure(400, f"address_string: {outside}"), None
            new = dataclasses.replace(new, lat=placed[0], lng=placed[1])
        issue_id = self.store.create_issue(new, photos)
        notice = (
            f"Thank you. Your report is number {issue_id}; it goes to the "
            f"{self.settings.organization.name} crews now."
        )
        answer = {"service_request_id": str(issue_id), "service_notice": notice, "account_id": None}
        return Reply(200, "service_requests", [answer]), issue_id

    def _location(self, form: Form, problems: list[str]) -> tuple[float | None, float | None]:
        """``lat``/``long`` as numbers; (None, None) when absent (an address may place the
        report) or wrong (a problem is added)."""
        lat_text, lng_text = form.get("lat"), form.get("long")
        if lat_text is None and lng_text is None:
            if form.get("address_string") is None:
                problems.append(
                    "a location is required: send lat and long (WGS84), or address_string"
                    + (" (address_id is not used here)" if form.get("address_id") else "")
                )
            return None, None
        if lat_text is None or lng_text is None:
            missing = "lat" if lat_text is None else "long"
            problems.append(f"{missing} is required with {'long' if missing == 'lat' else 'lat'}")
            return None, None
        values = []
        for name, text in (("lat", lat_text), ("long", lng_text)):
            try:
                values.append(float(text))
            except ValueError:
                problems.append(f"{name} {text[:40]!r} is not a number; send decimal degrees")
        if len(values) < 2:
            return None, None
        return values[0], values[1]

    def _place(self, rt: RequestType, address: str) -> tuple[float, float]:
        """Where a geocoder puts ``address``; refuses (UserError) when none can."""
        integration = self.settings.integrations.get(rt.integration)
        geocoder = self.settings.geocoder_for(integration) if integration else None
        needed = "send lat and long (WGS84) with it"
        if geocoder is None:
            raise UserError(
                f"address_string alone cannot be placed: no geocoder serves service "
                f"{rt.code}; {needed}"
            )
        try:
            check = self.host.place_address(geocoder, address)
        except RemoteError:
            raise UserError(f"the geocoder cannot be reached now; {needed}, or try later") from None
        if check is None or not check.accepted or check.lat is None or check.lng is None:
            reason = f" ({check.reason})" if check is not None and check.reason else ""
            raise UserError(
                f"address_string {address[:100]!r} could not be placed{reason}; {needed}"
            )
        return check.lat, check.lng

    def _answers(
        self, form: Form, rt: RequestType, problems: list[str]
    ) -> tuple[tuple[str, str], ...]:
        """The form's attributes as ``(question id, answer)`` pairs: a choice by its key (or
        its text, any case), a date from a date or date-time; undeclared attributes (FixMyStreet
        adds its own, such as ``uprn``) are ignored."""
        by_id = {q.id: q for q in rt.questions}
        out: list[tuple[str, str]] = []
        for code, values in form.attributes().items():
            question = by_id.get(code)
            if question is None:
                continue
            given = [v for v in values if v.strip()]
            if not given or question.type == "info":
                continue  # a blank optional list (not answered), or text only shown
            if len(given) > 1 and question.type != "multichoice":
                problems.append(f"attribute[{code}] takes one value; {len(given)} were sent")
                continue
            out.extend((code, _answer_text(question, value.strip())) for value in given)
        return tuple(out)

    # -- requests: GET -------------------------------------------------------------------------

    def requests(self, query: Form, now: datetime | None = None, base: str = "") -> Reply:
        """GET requests with the spec's filters; ``page``/``page_size`` as the common extension."""
        now = now or utcnow()
        ids = query.words("service_request_id")
        conditions: list[Any] = []
        if ids:
            if len(ids) > MAX_IDS:
                return failure(400, f"service_request_id lists {len(ids)} ids; at most {MAX_IDS}")
            conditions.append(issues.c.id.in_(_numbers(ids)))
            limit, offset = MAX_IDS, 0
        else:
            problems: list[str] = []
            window = _window(query, now, problems)
            statuses = query.words("status")
            bad = [s for s in statuses if s.lower() not in ("open", "closed")]
            if bad:
                problems.append(f"status {bad[0]!r} is not open or closed")
            paging = _paging(query, self.settings.server.max_page_size, problems)
            if problems or window is None or paging is None:
                return failure(400, *problems)
            start, end = window
            conditions += [issues.c.created_at >= start, issues.c.created_at <= end]
            codes = query.words("service_code")
            if codes:
                conditions.append(issues.c.request_type.in_(codes))
            wanted = {s.lower() for s in statuses}
            if wanted == {"open"}:
                conditions.append(issues.c.status.in_(_OPEN))
            elif wanted == {"closed"}:
                conditions.append(issues.c.status.in_(_CLOSED))
            limit, offset = paging
        records = self._records(and_(*conditions), limit, offset, base)
        return Reply(200, "service_requests", records)

    def request(self, request_id: str, base: str = "") -> Reply:
        """GET requests/{id}: the list wrapper with one request, or 404."""
        if not _numbers([request_id]):
            return failure(404, f"service request {request_id[:40]!r} not found")
        found = self._records(issues.c.id == int(request_id), 1, 0, base)
        if not found:
            return failure(404, f"service request {request_id} not found")
        return Reply(200, "service_requests", found)

    def _records(
        self, condition: Any, limit: int, offset: int, base: str = ""
    ) -> list[dict[str, Any]]:
        """Request records; ``media_url`` is the first photo's address under ``base`` (where
        clients reach this server), else the URL the report gave."""
        names = {code: rt.name for code, rt in self.request_types().items()}
        agency = self.settings.server.agency_responsible or self.settings.organization.name
        with self.store.read() as conn:
            rows = conn.execute(
                select(
                    issues.c.id,
                    issues.c.request_type,
                    issues.c.status,
                    issues.c.summary,
                    issues.c.description,
                    issues.c.lat,
                    issues.c.lng,
                    issues.c.address,
                    issues.c.image_url,
                    issues.c.created_at,
                    issues.c.updated_at,
                    issues.c.closed_at,
                )
                .where(condition)
                .order_by(issues.c.created_at.desc(), issues.c.id.desc())
                .limit(limit)
                .offset(offset)
            ).all()
            notes = _latest_notes(conn, [r.id for r in rows])
            photos = _first_photos(conn, [r.id for r in rows])
        out: list[dict[str, Any]] = []
        for r in rows:
            closed = r.status in _CLOSED
            updated = (r.closed_at if closed and r.closed_at else r.updated_at) or r.created_at
            out.append(
                {
                    "service_request_id": str(r.id),
                    "status": "closed" if closed else "open",
                    "status_notes": notes.get(r.id),
                    "service_name": names.get(r.request_type, r.request_type),
                    "service_code": r.request_type,
                    "description": r.description or r.summary,
                    "agency_responsible": agency,
                    "service_notice": None,
                    "requested_datetime": w3c(r.created_at),
                    "updated_datetime": w3c(updated),
                    "expected_datetime": None,
                    "address": r.address or "",
                    "address_id": "",
                    "zipcode": "",
                    "lat": r.lat,
                    "long": r.lng,
                    "media_url": (
                        f"{base}{media_path(photos[r.id])}" if r.id in photos else r.image_url or ""
                    ),
                }
            )
            # Optional fields without a value are left out (as mySociety's adapter does).
            for optional in ("status_notes", "service_notice", "expected_datetime"):
                if out[-1][optional] is None:
                    del out[-1][optional]
        return out

    def token(self, token: str) -> Reply:
        """GET tokens/{token}: every service is realtime, so no token ever exists."""
        return failure(404, f"token {token[:40]!r} not found: every service here is realtime")

    # -- mySociety's updates extension -------------------------------------------------------

    def add_update(self, form: Form, api_key: str) -> tuple[Reply, bool]:
        """POST servicerequestupdates (FixMyStreet sends one when a resident comments): the
        update becomes a local comment on the issue, pushed to its remote request like one
        made with ``scf comment``. Returns the reply and whether a comment was added.

        The client's ``update_id`` is kept with the key's name: the same update posted again
        (a retry after a lost answer) gets the same comment back, never a second one. The
        client's ``status`` is read but not applied: a resident saying "fixed" does not close
        the crews' request. Email and phone are not kept.
        """
        problems: list[str] = []
        target = form.get("service_request_id")
        if target is None:
            problems.append("service_request_id is required: the request this update is for")
        elif not target.isdigit() or len(target) > 18:
            return failure(404, f"service request {target[:40]!r} not found"), False
        update_id = form.get("update_id")
        if update_id is None:
            problems.append("update_id is required: your own id for this update")
        elif len(update_id) > 100 or text_problem(update_id):
            problems.append("update_id must be 1 to 100 characters of plain text")
        if form.get("status") is None:
            problems.append("status is required (OPEN, CLOSED, FIXED, …); it is not applied")
        stamp = form.get("updated_datetime")
        if stamp is None:
            problems.append("updated_datetime is required, e.g. 2024-05-01T10:00:00Z")
        else:
            parse_w3c("updated_datetime", stamp, problems)
        text = _description(_raw(form, "description"))
        problem = text_problem(text, multiline=True)
        if not text:
            problems.append("description is required: the text of the update")
        elif problem:
            problems.append(f"description {problem}")
        author = " ".join(
            p for p in (form.get("first_name"), form.get("last_name")) if p and p != "-"
        )[: LIMITS["name"]].strip()
        if author and text_problem(author):
            problems.append("first_name and last_name must be plain text on one line")
        if problems:
            return failure(400, *problems), False
        assert target is not None and update_id is not None
        added = self.store.add_client_comment(
            int(target), author or "Resident", text, f"{api_key}:{update_id}"
        )
        if added is None:
            return failure(404, f"service request {target} not found"), False
        comment_id, new = added
        return Reply(200, "service_request_updates", [{"update_id": str(comment_id)}]), new

    def updates(self, query: Form, now: datetime | None = None) -> Reply:
        """GET servicerequestupdates: each public system message and pulled remote comment,
        oldest first, with a stable ``update_id`` (the message's own id)."""
        now = now or utcnow()
        problems: list[str] = []
        window = _window(query, now, problems)
        paging = _paging(query, self.settings.server.max_page_size, problems)
        if problems or window is None or paging is None:
            return failure(400, *problems)
        start, end = window
        limit, offset = paging
        conditions = [
            comments.c.kind.in_(PUBLIC_KINDS),
            comments.c.created_at >= start,
            comments.c.created_at <= end,
        ]
        ids = query.words("service_request_id")
        if ids:
            conditions.append(comments.c.issue_id.in_(_numbers(ids[:MAX_IDS])))
        with self.store.read() as conn:
            rows = conn.execute(
                select(
                    comments.c.id,
                    comments.c.issue_id,
                    comments.c.text,
                    comments.c.created_at,
                    issues.c.status,
                    issues.c.closed_at,
                    issues.c.image_url,
                )
                .join(issues, issues.c.id == comments.c.issue_id)
                .where(*conditions)
                .order_by(comments.c.created_at, comments.c.id)
                .limit(limit)
                .offset(offset)
            ).all()
        return Reply(
            200,
            "service_request_updates",
            [
                {
                    "update_id": str(r.id),
                    "service_request_id": str(r.issue_id),
                    "status": _status_at(r.status, r.closed_at, r.created_at),
                    "updated_datetime": w3c(r.created_at),
                    "description": r.text,
                    "media_url": "",
                }
                for r in rows
            ],
        )


# -- mapping -------------------------------------------------------------------------------


def service_json(rt: RequestType) -> dict[str, Any]:
    """A request type as an Open311 service."""
    return {
        "service_code": rt.code,
        "service_name": rt.name,
        "description": rt.name,
        "metadata": bool(rt.questions),
        "type": "realtime",
        "keywords": "",
        "group": "",
    }


def definition_json(rt: RequestType) -> dict[str, Any]:
    """A request type's questions as an Open311 service definition."""
    return {
        "service_code": rt.code,
        "attributes": [_attribute(q, i + 1, rt) for i, q in enumerate(rt.questions)],
    }


def choice_keys(question: Question) -> list[tuple[str, str]]:
    """``(key, option text)`` of a choice question. The key is the remote system's id for
    the option where every option has a distinct one (stable when an option is reworded),
    otherwise the option's text."""
    refs = [question.ref_for(option) for option in question.options]
    if all(refs) and len(set(refs)) == len(refs):
        return [(str(ref), option) for ref, option in zip(refs, question.options, strict=True)]
    return [(option, option) for option in question.options]


def _attribute(question: Question, order: int, rt: RequestType) -> dict[str, Any]:
    by_id = {q.id: q for q in rt.questions}
    datatype = DATATYPES[question.type]
    hint = HINTS.get(question.type, "")
    if question.type == "number":
        low, high = question.minimum, question.maximum
        hint = (
            "A number"
            + (f", at least {low:g}" if low is not None else "")
            + (f", at most {high:g}" if high is not None else "")
            + "."
        )
    if question.asked_when:
        asked = " or ".join(
            f"{by_id[qid].text if qid in by_id else qid} is {option!r}"
            for qid, option in question.asked_when
        )
        hint = f"{hint} Answer only when {asked}; required then.".strip()
    data: dict[str, Any] = {
        "variable": question.type != "info",
        "code": question.id,
        "datatype": datatype,
        "required": question.required and not question.asked_when and question.type != "info",
        "datatype_description": hint,
        "order": order,
        "description": question.text,
    }
    if question.type in CHOICE_TYPES:
        data["values"] = [{"key": key, "name": name} for key, name in choice_keys(question)]
    return data


# How each question type is offered as an Open311 attribute (``info``: ``variable: false``).
DATATYPES = {
    "text": "text",
    "choice": "singlevaluelist",
    "multichoice": "multivaluelist",
    "date": "datetime",
    "datetime": "datetime",
    "number": "number",
    "info": "string",
}
HINTS = {
    "date": "A date: YYYY-MM-DD (a date-time is accepted; its date is kept).",
    "datetime": "A date and time in ISO 8601, e.g. 2026-05-01T13:45.",
    "multichoice": "One or more keys: repeat the attribute for each.",
}


def _answer_text(question: Question, value: str) -> str:
    """A form value as ``scf report`` takes the answer: a choice's text for its key, a date
    for a date-time."""
    if question.type in CHOICE_TYPES:
        for key, option in choice_keys(question):
            if value == key:
                return option
        return value  # its text (any case) or a wrong value: intake decides
    if question.type == "date" and re.match(r"^\d{4}-\d{2}-\d{2}[T ]", value):
        return value[:10]
    return value


def _raw(form: Form, key: str) -> str:
    values = form.values.get(key) or [""]
    return values[-1]


def _description(text: str) -> str:
    """The resident's text with line breaks normalised, cut with a marker when too long
    (FixMyStreet sends long ones: title, detail and a link)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    limit = LIMITS["description"]
    if len(text) > limit:
        text = text[: limit - len(CUT)].rstrip() + CUT
    return text


def _latest_notes(conn: Any, issue_ids: list[int]) -> dict[int, str]:
    """The latest system message of each issue."""
    if not issue_ids:
        return {}
    latest = (
        select(func.max(comments.c.id))
        .where(comments.c.issue_id.in_(issue_ids), comments.c.kind == "system")
        .group_by(comments.c.issue_id)
    )
    rows = conn.execute(
        select(comments.c.issue_id, comments.c.text).where(comments.c.id.in_(latest))
    ).all()
    return {int(r.issue_id): str(r.text) for r in rows}


def _first_photos(conn: Any, issue_ids: list[int]) -> dict[int, str]:
    """The URL token of each issue's first photo still kept (not purged)."""
    if not issue_ids:
        return {}
    first = (
        select(func.min(attachments.c.id))
        .where(attachments.c.issue_id.in_(issue_ids), attachments.c.purged_at.is_(None))
        .group_by(attachments.c.issue_id)
    )
    rows = conn.execute(
        select(attachments.c.issue_id, attachments.c.path_token).where(attachments.c.id.in_(first))
    ).all()
    return {int(r.issue_id): str(r.path_token) for r in rows}


def _status_at(status: str, closed_at: datetime | None, when: datetime) -> str:
    """``closed`` for a message of a closed request written when (or after) it closed."""
    if status in _CLOSED and closed_at is not None and when >= closed_at - timedelta(seconds=1):
        return "closed"
    return "open"


def _numbers(words: list[str]) -> list[int]:
    """The words that are issue ids (ASCII digits that fit a database integer)."""
    return [int(w) for w in words if w.isascii() and w.isdigit() and len(w) < 19]


def w3c(value: datetime) -> str:
    """A datetime as the spec writes it: seconds, and a zone (``Z``)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_w3c(name: str, text: str, problems: list[str]) -> datetime | None:
    """A ``start_date``/``end_date``; a naive or malformed one adds a problem."""
    if not _W3C.match(text):
        problems.append(
            f"{name} {text[:40]!r} is not a W3C datetime with a zone; use e.g. 2024-05-01T00:00:00Z"
        )
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _window(query: Form, now: datetime, problems: list[str]) -> tuple[datetime, datetime] | None:
    start_text, end_text = query.get("start_date"), query.get("end_date")
    start = parse_w3c("start_date", start_text, problems) if start_text else None
    end = parse_w3c("end_date", end_text, problems) if end_text else None
    if (start_text and start is None) or (end_text and end is None):
        return None
    if start is None and end is None:
        end = now
    if start is None:
        assert end is not None
        start = end - WINDOW
    if end is None:
        end = start + WINDOW
    if end < start:
        problems.append("end_date is before start_date")
        return None
    if end - start > WINDOW:
        problems.append("start_date to end_date spans more than 90 days; ask for less")
        return None
    return start, end


def _paging(query: Form, most: int, problems: list[str]) -> tuple[int, int] | None:
    """``(limit, offset)`` from ``page`` (from 1) and ``page_size`` (default 1,000)."""
    numbers = {}
    for name, default in (("page", 1), ("page_size", min(DEFAULT_ROWS, most))):
        text = query.get(name)
        if text is None:
            numbers[name] = default
        elif text.isascii() and text.isdigit() and 0 < int(text) <= 1_000_000:
            numbers[name] = int(text)
        else:
            problems.append(f"{name} {text[:20]!r} is not a whole number from 1")
            return None
    size = min(numbers["page_size"], most)
    return size, (numbers["page"] - 1) * size
