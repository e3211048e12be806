"""``/reports/{id}``: a report's public page, where the link in each email to the resident
leads.

It shows what the Open311 door publishes of the issue (:func:`scf_plugins.ops.views.
issue_json` with ``public=True``, and of its messages only the kinds the door's updates feed
shows, :data:`.records.PUBLIC_KINDS`): the summary, the type, the status in words, the address,
the description, the timeline of the organization's messages and city staff's replies, and the
photos still kept. Never the reporter, an answer (a private one is a contact detail, and a
public one may be too), where photos went or the sync state: anyone may read it, as anyone may
read the door. Text is shown as the door shows it (no invisible reordering characters) and
escaped by Jinja2; the page carries the strict headers of the residents' pages
(:mod:`.page_headers`); an unknown id is a 404 page. GETs are limited per address like every
other (:class:`.guards.GetLimit`).
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..intake.sanitize import shown
from ..models import Status
from ..ops import views
from ..timeutil import local_time
from . import page_headers
from .records import PUBLIC_KINDS

if TYPE_CHECKING:
    from .unsubscribe import Serving

# Escaping leaves it as it is (no quote, &, < or >), so the hash in the policy matches it.
STYLE = (
    "body{font-family:sans-serif;line-height:1.5;max-width:40em;margin:2em auto;padding:0 1em}"
    "dt{font-weight:bold}dd{margin:0 0 .5em}ol{padding-left:1.2em}li{margin:.6em 0}"
    ".when{color:#555}.text{white-space:pre-wrap;margin:0}img{max-width:100%;height:auto}"
)
HEADERS = page_headers.strict(STYLE, images=True)
_ID = re.compile(r"[1-9][0-9]{0,17}")
STATUS_WORDS = {
    Status.OPEN.value: "Received",
    Status.ACKNOWLEDGED.value: "In progress",
    Status.CLOSED.value: "Closed",
    Status.ARCHIVED.value: "Closed",
}
FROM = {"system": "Update", "remote": "From city staff"}  # the door's public kinds, in words


def routes(ctx: Serving) -> list[Route]:
    """The route ``scf serve`` mounts."""

    async def report(request: Request) -> Response:
        asked = request.path_params["issue_id"]
        found = await run_in_threadpool(_read, ctx, int(asked)) if _ID.fullmatch(asked) else None
        values = {"organization": ctx.settings.organization.name, "style": STYLE}
        text = _environment().get_template("report.html").render(report=found, **values)
        return Response(
            text,
            200 if found is not None else 404,
            media_type="text/html; charset=utf-8",
            headers=HEADERS,
        )

    return [Route("/reports/{issue_id}", report, methods=["GET"])]


def _read(ctx: Serving, issue_id: int) -> dict[str, Any] | None:
    """What the page shows of issue ``issue_id`` (None: no such issue). Runs in the thread
    pool."""
    found = ctx.store.get(issue_id)
    if found is None:
        return None
    data = views.issue_json(found, public=True)
    known = ctx.store.request_type(data["request_type"])
    zone = ctx.settings.organization.zone
    status = STATUS_WORDS.get(data["status"], data["status"])
    if data["status"] == Status.ACKNOWLEDGED.value and data["remote_id"]:
        status += f" (service request {data['remote_id']})"
    return {
        "id": data["id"],
        "summary": shown(data["summary"], one_line=True),
        "type": shown(known.name if known else data["request_type"], one_line=True),
        "status": status,
        "address": shown(data["address"] or "", one_line=True),
        "description": shown(data["description"] or "", one_line=False),
        "reported": local_time(data["created_at"], zone),
        "timeline": [
            {
                "when": local_time(c["created_at"], zone),
                "from": FROM[c["kind"]],
                "text": shown(c["text"], one_line=False),
            }
            for c in data["comments"]
            if c["kind"] in PUBLIC_KINDS
        ],
        "photos": [a["path"] for a in data["attachments"] if a["path"]],
        "purged": sum(1 for a in data["attachments"] if not a["path"]),
    }


@cache
def _environment() -> Environment:
    """The page's template: autoescaped, every name required."""
    return Environment(
        loader=PackageLoader("scf_plugins.server", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
