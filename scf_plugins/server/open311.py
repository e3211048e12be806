"""The Open311 GeoReport v2 resources, apart from HTTP: each takes the parsed query or form
and returns a :class:`Reply` (status, root element, JSON-shaped data).

What a client sends is read and checked by :mod:`.form`, what the GETs read comes from
:mod:`.records`, and how services, requests and updates look is :mod:`.documents`. A POSTed
report goes through the same intake as ``scf report``.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import RemoteError, UserError
from ..intake import places
from ..intake.images import Photo
from ..intake.reporting import LIMITS, Report, ReportError, build_issue
from ..intake.sanitize import shown
from ..models import NewIssue, RequestType
from ..timeutil import utcnow
from . import form as fields
from . import posted_updates, records
from .documents import definition_json, request_json, service_json, update_json, w3c
from .form import FORM_LABELS, MAX_IDS, Form

if TYPE_CHECKING:
    from ..config.settings import Settings
    from ..plugins import PluginHost
    from ..store.store import Store

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
TYPES_FRESH = 5.0  # seconds the request types are used before they are read again
# A service area with more points is not tested on the event loop (a city's detailed
# boundary can take milliseconds a point in Python, and up to four tests when it is outside).
QUICK_AREA_POINTS = 2000


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


class Open311:
    """The resources, over one config, plugin host and store."""

    def __init__(self, settings: Settings, host: PluginHost, store: Store) -> None:
        self.settings = settings
        self.host = host
        self.store = store
        self._types: tuple[float, dict[str, RequestType]] = (0.0, {})
        self._types_lock = threading.Lock()

    def types_fresh(self) -> bool:
        """Whether :meth:`request_types` answers from memory now (it reads the store when
        not)."""
        return time.monotonic() - self._types[0] < TYPES_FRESH

    def quick_to_check(self) -> bool:
        """Whether :meth:`check` costs little CPU for any report: the service area, which a
        point is tested against, has at most :data:`QUICK_AREA_POINTS` points."""
        area = self.settings.organization.service_area
        if area is None:
            return True
        points = sum(len(ring) for rings in area.polygons for ring in rings)
        return points <= QUICK_AREA_POINTS

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
        changed = records.types_changed(self.store)
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
        checked = self.check(form, api_key)
        if isinstance(checked, Reply):
            return checked, None
        assert checked is not None  # with place=True a report is placed or refused
        issue_id = self.store.create_issue(checked, photos)
        return self.created(issue_id), issue_id

    def check(self, form: Form, api_key: str, *, place: bool = True) -> NewIssue | Reply | None:
        """A POSTed report checked with the same intake as ``scf report``: what to store, or
        the refusal. A report that gives an address and no point is placed by a geocoder (a
        remote call) unless ``place`` is False: then None says it needs one. Nothing else
        here waits on anything but the request types, read every few seconds
        (:meth:`types_fresh`)."""
        code = form.get("service_code")
        if code is None:
            return failure(400, "service_code is required; GET services lists them")
        rt = self.service(code)
        if rt is None:
            return failure(404, f"service_code {code!r} not found; GET services lists them")
        problems: list[str] = []
        lat, lng = fields.location(form, problems)
        description = fields.description(form.raw("description"))
        # The summary is the description's first line: without the invisible formatting a
        # one-line field refuses (the description, being multi-line, may carry it).
        first = shown(description.split("\n", 1)[0], one_line=True)
        summary = first.strip()[: LIMITS["summary"]].strip()
        answers = fields.answers(form, rt, problems)
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
            return failure(400, *problems)
        if problems:
            return failure(400, *problems)
        if lat is None or lng is None:
            if not place:
                return None
            try:
                placed = self._place(rt, form.get("address_string") or "")
            except UserError as exc:
                return failure(400, str(exc))
            new = dataclasses.replace(new, lat=placed[0], lng=placed[1])
        return new

    def created(self, issue_id: int) -> Reply:
        """The answer to a report stored as issue ``issue_id``."""
        notice = (
            f"Thank you. Your report is number {issue_id}; it goes to the "
            f"{self.settings.organization.name} crews now."
        )
        answer = {"service_request_id": str(issue_id), "service_notice": notice, "account_id": None}
        return Reply(200, "service_requests", [answer])

    def _place(self, rt: RequestType, address: str) -> tuple[float, float]:
        """Where a geocoder puts ``address``, checked as a reported point is (in range, in the
        service area); refuses (UserError, one line) when none can or the place cannot be
        right."""
        integration = self.settings.integrations.get(rt.integration)
        geocoder = self.settings.geocoder_for(integration) if integration else None
        needed = "send lat and long (WGS84) with it"
        if geocoder is None:
            raise UserError(
                f"address_string alone cannot be placed: no geocoder serves service "
                f"{rt.code}; {needed}"
            )
        try:
            check = places.ask(
                functools.partial(self.host.place_address, geocoder, address),
                address,
                self.settings.organization.service_area,
            )
        except RemoteError:
            raise UserError(f"the geocoder cannot be reached now; {needed}, or try later") from None
        if check is None or not check.accepted or check.lat is None or check.lng is None:
            reason = check.reason if check is not None else ""
            if not reason.startswith(places.UNPLACED):
                reason = places.UNPLACED + (f" ({reason})" if reason else "")
            raise UserError(f"address_string {address[:100]!r} {reason}; {needed}")
        return check.lat, check.lng

    # -- requests: GET -------------------------------------------------------------------------

    def requests(self, query: Form, now: datetime | None = None, base: str = "") -> Reply:
        """GET requests with the spec's filters; ``page``/``page_size`` as the common extension."""
        now = now or utcnow()
        ids = query.words("service_request_id")
        if ids:
            if len(ids) > MAX_IDS:
                return failure(400, f"service_request_id lists {len(ids)} ids; at most {MAX_IDS}")
            condition = records.with_ids(fields.issue_ids(ids))
            limit, offset = MAX_IDS, 0
        else:
            problems: list[str] = []
            window = fields.window(query, now, problems)
            statuses = query.words("status")
            bad = [s for s in statuses if s.lower() not in ("open", "closed")]
            if bad:
                problems.append(f"status {bad[0]!r} is not open or closed")
            paging = fields.paging(query, self.settings.server.max_page_size, problems)
            if problems or window is None or paging is None:
                return failure(400, *problems)
            codes = query.words("service_code")
            condition = records.filtered(*window, codes, {s.lower() for s in statuses})
            limit, offset = paging
        return Reply(200, "service_requests", self._requests(condition, limit, offset, base))

    def request(self, request_id: str, base: str = "") -> Reply:
        """GET requests/{id}: the list wrapper with one request, or 404."""
        if not fields.issue_ids([request_id]):
            return failure(404, f"service request {request_id[:40]!r} not found")
        found = self._requests(records.with_ids([int(request_id)]), 1, 0, base)
        if not found:
            return failure(404, f"service request {request_id} not found")
        return Reply(200, "service_requests", found)

    def _requests(
        self, condition: Any, limit: int, offset: int, base: str = ""
    ) -> list[dict[str, Any]]:
        """Service requests of the issues meeting ``condition``; photo links start with
        ``base``, where clients reach this server."""
        names = {code: rt.name for code, rt in self.request_types().items()}
        agency = self.settings.server.agency_responsible or self.settings.organization.name
        found = records.requests(self.store, condition, limit, offset)
        return [
            request_json(
                r,
                found.notes.get(r.id),
                found.photos.get(r.id),
                names.get(r.request_type, r.request_type),
                agency,
                base,
            )
            for r in found.rows
        ]

    def token(self, token: str) -> Reply:
        """GET tokens/{token}: every service is realtime, so no token ever exists."""
        return failure(404, f"token {token[:40]!r} not found: every service here is realtime")

    # -- mySociety's updates extension -------------------------------------------------------

    def add_update(self, form: Form, api_key: str) -> tuple[Reply, bool]:
        """POST servicerequestupdates (FixMyStreet sends one when a resident comments): the
        update becomes a local comment on the issue, pushed to its remote request like one
        made with ``scf comment``, with the key's name kept as its ``via``. Returns the reply
        and whether a comment was added.

        Who may post one, on which issues and how many is :mod:`.posted_updates`. The
        client's ``update_id`` is kept with the key's name: the same update posted again (a
        retry after a lost answer) gets the same comment back, never a second one. The
        client's ``status`` is read but not applied: a resident saying "fixed" does not close
        the crews' request. Email and phone are not kept.
        """
        target = form.get("service_request_id")
        if target is not None and (not target.isdigit() or len(target) > 18):
            return failure(404, f"service request {target[:40]!r} not found"), False
        problems: list[str] = []
        update = fields.update(form, problems)
        if update is None:
            return failure(400, *problems), False
        posted = posted_updates.post(self.store, self.settings.server, update, api_key)
        if isinstance(posted, posted_updates.Refused):
            return failure(posted.status, posted.reason), False
        reply = [{"update_id": str(posted.comment_id)}]
        return Reply(200, "service_request_updates", reply), posted.new

    def updates(self, query: Form, now: datetime | None = None) -> Reply:
        """GET servicerequestupdates: each public system message and pulled remote comment,
        oldest first, with a stable ``update_id`` (the message's own id)."""
        now = now or utcnow()
        problems: list[str] = []
        window = fields.window(query, now, problems)
        paging = fields.paging(query, self.settings.server.max_page_size, problems)
        if problems or window is None or paging is None:
            return failure(400, *problems)
        ids = query.words("service_request_id")
        wanted = fields.issue_ids(ids[:MAX_IDS]) if ids else None
        rows = records.updates(self.store, *window, wanted, *paging)
        return Reply(200, "service_request_updates", [update_json(r) for r in rows])
