"""``/unsubscribe/{token}``: where a resident stops the emails (the link in each one, and its
``List-Unsubscribe`` header).

A GET only shows a page with two buttons, "Stop emails about this report" and "Stop all emails
to this address": it changes nothing, since mail scanners and link previews fetch every link
in a message. A POST with ``List-Unsubscribe=One-Click`` (RFC 8058: what a mail client's
unsubscribe button sends, and what the page's buttons send) does what the token's scope says.
The signed token is the only capability needed, so there is no CSRF token; a forged or
garbled one is a 404 page. No page, header or log line names the address (the token does not
carry it), and the pages are never cached, framed, or given a Referer to leak the token by.
"""

from __future__ import annotations

import html
import logging
from email import policy as email_policy
from email.parser import BytesParser
from typing import TYPE_CHECKING, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..ops import consent
from . import bodies, page_headers
from .open311 import Reply

if TYPE_CHECKING:
    from ..config.settings import Settings
    from ..store.store import Store

log = logging.getLogger(__name__)

ONE_CLICK = ("List-Unsubscribe", "One-Click")  # RFC 8058's body
MAX_BODY = 1024  # the one-click body is 26 bytes; a form adds nothing else
STYLE = (
    "body{font-family:sans-serif;line-height:1.5;max-width:36em;margin:2em auto;padding:0 1em}"
    "form{margin:1em 0}button{font-size:1em;padding:.5em 1em}"
)
HEADERS = page_headers.strict(STYLE, forms=True)  # no Referer: the token is in the URL


class Serving(Protocol):
    """What the route needs of ``scf serve``'s context."""

    @property
    def settings(self) -> Settings:
        """The config in force (it may be reloaded)."""

    @property
    def store(self) -> Store:
        """The store."""


def routes(ctx: Serving) -> list[Route]:
    """The route ``scf serve`` mounts."""

    async def unsubscribe(request: Request) -> Response:
        value = request.path_params["token"]
        found = await run_in_threadpool(consent.verify, ctx.store, value)
        if found is None:
            return _page("Link not recognised", _NOT_FOUND, 404)
        issue_id, scope = found
        if request.method in ("GET", "HEAD"):  # safe methods: link checkers send both
            issue_link, address_link = await run_in_threadpool(_links, ctx, issue_id)
            return _page("Stop these emails", _choices(ctx, issue_id, issue_link, address_link))
        body = await bodies.body(request, MAX_BODY)
        if isinstance(body, Reply) or not _one_click(request.headers.get("content-type"), body):
            return _page("Nothing was changed", _NO_CLICK, 400)
        try:
            said = await run_in_threadpool(consent.unsubscribe, ctx.store, issue_id, scope)
        except LookupError:
            return _page("Link not recognised", _NOT_FOUND, 404)
        return _page("Done", f"<p>{html.escape(said)}</p>")

    return [Route("/unsubscribe/{token}", unsubscribe, methods=["GET", "POST"])]


def _one_click(content_type: str | None, body: bytes) -> bool:
    """Whether a POST's body is RFC 8058's ``List-Unsubscribe=One-Click``: urlencoded (our
    page's form, most mail clients) or ``multipart/form-data`` (what the RFC recommends)."""
    kind = (content_type or "").lower()
    if kind.startswith("multipart/form-data"):
        return _multipart_field(content_type or "", body, ONE_CLICK[0]) == ONE_CLICK[1]
    form = bodies.fields(body)
    return not isinstance(form, Reply) and form.get(ONE_CLICK[0]) == ONE_CLICK[1]


def _multipart_field(content_type: str, body: bytes, name: str) -> str | None:
    """One text field of a small multipart body (at most :data:`MAX_BODY` bytes), or None
    when the body is not readable multipart or lacks it."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    try:
        message = BytesParser(policy=email_policy.HTTP).parsebytes(head + body)
        if not message.is_multipart():
            return None
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == name:
                content = part.get_content()
                return content.strip() if isinstance(content, str) else None
    except (ValueError, LookupError, TypeError):
        return None
    return None


def _links(ctx: Serving, issue_id: int) -> tuple[str, str]:
    """The page's two buttons' targets: this issue's token, and this address's."""
    return (
        consent.token(ctx.store, issue_id, "issue"),
        consent.token(ctx.store, issue_id, "address"),
    )


def _choices(ctx: Serving, issue_id: int, issue_token: str, address_token: str) -> str:
    organization = html.escape(ctx.settings.organization.name)
    hidden = f'<input type="hidden" name="{ONE_CLICK[0]}" value="{ONE_CLICK[1]}">'
    return (
        f"<p>{organization} emails you about report {issue_id} as it goes along. "
        f"You can stop that:</p>"
        f'<form method="post" action="{issue_token}">{hidden}'
        f'<button type="submit">Stop emails about this report</button></form>'
        f'<form method="post" action="{address_token}">{hidden}'
        f'<button type="submit">Stop all emails to this address</button></form>'
    )


_NOT_FOUND = (
    "<p>This unsubscribe link is not one we sent, or it was cut short. Open the link from the "
    "email again, whole.</p>"
)
_NO_CLICK = "<p>Nothing was changed. Use the buttons on the page of the link in the email.</p>"


def _page(title: str, content: str, status: int = 200) -> Response:
    """A small page with the headers every one of these carries."""
    text = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{content}</body></html>\n"
    )
    return Response(text, status, media_type="text/html; charset=utf-8", headers=HEADERS)
